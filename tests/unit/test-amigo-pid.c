/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-pid.h"
#include "amigo-time.h"

#define SEC AMIGO_USEC_PER_SEC

/* A loop without the limits under test: wide range, no rate limit, no
 * deadband, 10 % headroom everywhere, releasing at full speed. */
static void
plain_params (AmigoPidParams *p)
{
  amigo_pid_params_init (p, 0.0, 100.0);
  p->kp = 0.5;
  p->ki = 0.3;
  p->kd = 0.0;
  p->release_scale = 1.0;
  p->max_rise_per_sec = HUGE_VAL;
  p->max_fall_per_sec = HUGE_VAL;
  p->deadband = 0.0;
  for (guint i = 0; i < AMIGO_PID_PHASE_LAST; i++)
    p->phase[i] = (AmigoPidPhaseParams) { .headroom = 0.10, .release_scale = 1.0 };
}

static double
step (AmigoPid *pid, double usage, double pressure, AmigoPidPhase phase, gint64 t, AmigoPidStep *ret)
{
  AmigoPidInput in = { .usage = usage, .pressure = pressure, .phase = phase, .progress = 0 };

  return amigo_pid_update (pid, &in, t, ret);
}

/* A step of usage from 2 to 4 cores: the allocation reaches 4.4 +- 2 % within
 * 10 s, stays there, and never goes above the set point on the way. */
static void
test_pid_step_settles (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  gint64 t = 0;
  int settled_at = -1;

  plain_params (&p);
  pid = amigo_pid_new (&p, 2.2, t, NULL);
  assert_non_null (pid);
  for (int k = 1; k <= 60; k++) {
    double out = step (pid, 4.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);

    assert_true (out <= 4.4 + 1e-9);
    if (fabs (out - 4.4) <= 0.02 * 4.4) {
      if (settled_at < 0)
        settled_at = k;
    } else {
      settled_at = -1;
    }
  }
  assert_true (settled_at > 0 && settled_at <= 10);
}

/* Held at max_output for two minutes by a demand far above it, then the
 * usage falls: the allocation leaves the ceiling at once (no wound-up
 * integrator holding it there) and never dips below the new set point. */
static void
test_pid_no_windup (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  gint64 t = 0;
  double out;

  plain_params (&p);
  p.max_output = 3.0;
  pid = amigo_pid_new (&p, 1.0, t, NULL);
  for (int k = 0; k < 120; k++)
    out = step (pid, 3.0, 1.0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  assert_float_equal (out, 3.0, 1e-12);

  out = step (pid, 1.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  assert_true (out < 3.0 - 0.5);
  for (int k = 0; k < 30; k++) {
    out = step (pid, 1.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
    assert_true (out >= 1.1 - 1e-9);
  }
  assert_float_equal (out, 1.1, 0.02);
}

/* No step changes the allocation by more than the rate limit allows, up or
 * down, whatever dt is. */
static void
test_pid_rate_limit (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  gint64 t = 0;
  double prev = 1.0;
  static const gint64 dts[] = { 1 * SEC, 2 * SEC, SEC / 2, 5 * SEC };

  plain_params (&p);
  p.max_rise_per_sec = 0.5;
  p.max_fall_per_sec = 0.1;
  pid = amigo_pid_new (&p, prev, t, NULL);
  for (int k = 0; k < 80; k++) {
    gint64 dt = dts[k % G_N_ELEMENTS (dts)];
    double usage = k < 40 ? 20.0 : 0.5;
    double out = step (pid, usage, 0, AMIGO_PID_PHASE_STEADY, t += dt, NULL);

    assert_true (out - prev <= 0.5 * dt / (double) SEC + 1e-9);
    assert_true (prev - out <= 0.1 * dt / (double) SEC + 1e-9);
    prev = out;
  }
  /* and it did move at that rate: 40 steps of mixed dt rise 0.5/s */
  assert_true (prev > 1.0);
}

/* A phase change moves the set point (more headroom at switch-over) while the
 * usage stays: the derivative, taken on the usage, adds nothing, so the
 * allocation goes towards the new set point and not beyond it. */
static void
test_pid_no_derivative_kick (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  AmigoPidStep s;
  gint64 t = 0;
  double out;

  plain_params (&p);
  p.kd = 20.0;
  p.derivative_tau_usec = 0;
  p.phase[AMIGO_PID_PHASE_SWITCHOVER].headroom = 0.5;
  pid = amigo_pid_new (&p, 2.2, t, NULL);
  for (int k = 0; k < 10; k++)
    step (pid, 2.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  out = step (pid, 2.0, 0, AMIGO_PID_PHASE_SWITCHOVER, t += SEC, &s);
  assert_float_equal (s.setpoint, 3.0, 1e-9);
  assert_float_equal (s.d, 0.0, 1e-12);
  assert_true (out > 2.2 && out <= 3.0 + 1e-9);

  /* the derivative does act on a rising usage */
  step (pid, 2.5, 0, AMIGO_PID_PHASE_SWITCHOVER, t += SEC, &s);
  assert_true (s.d > 0);
}

/* With no headroom, a usage equal to the allocation is a fixed point
 * without pressure; with pressure (throttled) the usage is censored and the
 * allocation must rise, by more for a harder pressure. */
static void
test_pid_censored_usage_raises (void **state)
{
  AmigoPidParams p;
  double out_free, out_soft, out_hard;

  plain_params (&p);
  for (guint i = 0; i < AMIGO_PID_PHASE_LAST; i++)
    p.phase[i].headroom = 0.0;

  {
    g_autoptr(AmigoPid) pid = amigo_pid_new (&p, 2.0, 0, NULL);
    out_free = step (pid, 2.0, 0, AMIGO_PID_PHASE_STEADY, SEC, NULL);
  }
  {
    g_autoptr(AmigoPid) pid = amigo_pid_new (&p, 2.0, 0, NULL);
    out_soft = step (pid, 2.0, 0.1, AMIGO_PID_PHASE_STEADY, SEC, NULL);
  }
  {
    g_autoptr(AmigoPid) pid = amigo_pid_new (&p, 2.0, 0, NULL);
    out_hard = step (pid, 2.0, 0.8, AMIGO_PID_PHASE_STEADY, SEC, NULL);
  }
  assert_float_equal (out_free, 2.0, 1e-12);
  assert_true (out_soft > 2.0);
  assert_true (out_hard > out_soft);
}

/* Noise of +-1 % around a steady usage changes nothing once settled; a
 * 20 % rise is applied. */
static void
test_pid_deadband (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  AmigoPidStep s;
  gint64 t = 0;
  guint changes = 0;

  plain_params (&p);
  p.deadband = 0.03;
  pid = amigo_pid_new (&p, 2.2, t, NULL);
  for (int k = 0; k < 200; k++) {
    step (pid, 2.0 * (1.0 + 0.01 * ((k % 3) - 1)), 0, AMIGO_PID_PHASE_STEADY, t += SEC, &s);
    changes += s.changed;
  }
  assert_int_equal (changes, 0);
  step (pid, 2.4, 0, AMIGO_PID_PHASE_STEADY, t += SEC, &s);
  assert_true (s.changed);
  assert_true (s.output > 2.2 * 1.03);
}

/* Switch-over never takes back; the settle period hands the headroom back
 * down to the steady one as its progress reaches 1. */
static void
test_pid_phases (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  gint64 t = 0;
  double out = 0;

  amigo_pid_params_init (&p, 0.5, 16.0);
  /* a derivative that would pull down on the falling usage */
  p.kd = 5.0;
  p.derivative_tau_usec = 0;
  pid = amigo_pid_new (&p, 8.0, t, NULL);
  for (int k = 0; k < 100; k++)
    out = step (pid, k < 5 ? 4.0 : 1.0, 0, AMIGO_PID_PHASE_SWITCHOVER, t += SEC, NULL);
  assert_float_equal (out, 8.0, 1e-12);

  for (int k = 0; k <= 600; k++) {
    AmigoPidInput in = { .usage = 1.0, .phase = AMIGO_PID_PHASE_SETTLE, .progress = k / 600.0 };
    out = amigo_pid_update (pid, &in, t += SEC, NULL);
  }
  for (int k = 0; k < 600; k++)
    out = step (pid, 1.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  assert_true (out < 1.0 * (1.0 + p.phase[AMIGO_PID_PHASE_STEADY].headroom) * (1.0 + p.deadband) + 1e-9);
  assert_true (out >= 1.0);
}

/* A shrunk ceiling applies at the next update, whatever the rate limit;
 * bad new params are refused and the old ones kept. */
static void
test_pid_new_params (void **state)
{
  AmigoPidParams p;
  g_autoptr(AmigoPid) pid = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t = 0;
  double out;

  plain_params (&p);
  p.max_fall_per_sec = 0.01;
  pid = amigo_pid_new (&p, 6.6, t, NULL);
  step (pid, 6.0, 0, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  p.max_output = 4.0;
  assert_true (amigo_pid_set_params (pid, &p, NULL));
  out = step (pid, 6.0, 0.5, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  assert_float_equal (out, 4.0, 1e-12);

  p.max_output = NAN;
  assert_false (amigo_pid_set_params (pid, &p, &error));
  assert_non_null (strstr (error->message, "'max_output'"));
  out = step (pid, 6.0, 0.5, AMIGO_PID_PHASE_STEADY, t += SEC, NULL);
  assert_float_equal (out, 4.0, 1e-12);
}

/* Garbage parameters are refused naming the field. */
static void
test_pid_bad_params (void **state)
{
  AmigoPidParams p;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autoptr(GError) error3 = NULL;

  amigo_pid_params_init (&p, 0, 4);
  p.kp = NAN;
  assert_null (amigo_pid_new (&p, 1, 0, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "'kp'"));

  amigo_pid_params_init (&p, 5, 4);
  assert_false (amigo_pid_params_check (&p, &error2));
  assert_non_null (strstr (error2->message, "'max_output'"));

  amigo_pid_params_init (&p, 0, 4);
  p.phase[AMIGO_PID_PHASE_SETTLE].release_scale = -1;
  assert_false (amigo_pid_params_check (&p, &error3));
  assert_non_null (strstr (error3->message, "'phase.settle.release_scale'"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pid_step_settles),
    cmocka_unit_test (test_pid_no_windup),
    cmocka_unit_test (test_pid_rate_limit),
    cmocka_unit_test (test_pid_no_derivative_kick),
    cmocka_unit_test (test_pid_censored_usage_raises),
    cmocka_unit_test (test_pid_deadband),
    cmocka_unit_test (test_pid_phases),
    cmocka_unit_test (test_pid_new_params),
    cmocka_unit_test (test_pid_bad_params),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
