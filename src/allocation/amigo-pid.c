/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-pid.h"

#include <math.h>

#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-time.h"

struct _AmigoPid {
  AmigoPidParams params;
  double output;       /* the allocation applied last */
  double integrator;   /* I, in allocation units */
  double last_usage;   /* NAN before the first update */
  double d_filtered;   /* low-passed d(usage)/dt, units per second */
  gint64 last_usec;
};

AMIGO_ENUM_IMPL (amigo_pid_phase, AmigoPidPhase, AMIGO_PID_PHASE_LAST, NULL,
                 [AMIGO_PID_PHASE_STEADY] = "steady",
                 [AMIGO_PID_PHASE_PRECOPY] = "pre-copy",
                 [AMIGO_PID_PHASE_SWITCHOVER] = "switch-over",
                 [AMIGO_PID_PHASE_SETTLE] = "settle")

void
amigo_pid_params_init (AmigoPidParams *params, double min_output, double max_output)
{
  /* Tuned by tests/bench/bench-controller.c on the synthetic series and the
   * tuning half of the Bitbrains VMs (docs/allocation.md has the figures).
   * Raising is deadbeat (kp + ki dt reaches the set point within a step of
   * a few seconds) because an under-allocated domain is throttled;
   * releasing runs at a tenth of that, so a burst that comes back soon
   * finds its allocation still there. A pressure gain of 3 (against 1)
   * halves the ticks under-allocated on the synthetic steps (1.06 % ->
   * 0.58 %) and on/off bursts (3.5 % -> 2.5 %) for 1-8 points more
   * over-allocation there, none on the tuning VMs; 6 over-allocates the
   * bursts by 70 %. */
  *params = (AmigoPidParams) {
    .kp = 0.6,
    .ki = 0.2,
    .kd = 0.0,
    .derivative_tau_usec = 30 * AMIGO_USEC_PER_SEC,
    .release_scale = 0.1,
    .pressure_gain = 3.0,
    .pressure_min_step = 0.10,
    .min_output = min_output,
    .max_output = max_output,
    .max_rise_per_sec = (max_output - min_output) / 2.0,
    .max_fall_per_sec = (max_output - min_output) / 60.0,
    .deadband = 0.03,
    .deadband_abs = 0.0,
    .phase = {
      [AMIGO_PID_PHASE_STEADY] = { .headroom = 0.10, .release_scale = 1.0 },
      [AMIGO_PID_PHASE_PRECOPY] = { .headroom = 0.15, .release_scale = 1.0 },
      /* the destination has just started the domain: never take back */
      [AMIGO_PID_PHASE_SWITCHOVER] = { .headroom = 0.30, .release_scale = 0.0 },
      [AMIGO_PID_PHASE_SETTLE] = { .headroom = 0.30, .release_scale = 1.0 },
    },
  };
}

static gboolean
check_field (double value, double min, double max, const char *name, GError **error)
{
  if (isnan (value) || value < min || value > max) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "PID parameter '%s' is %g, must be between %g and %g", name, value, min, max);
    return FALSE;
  }
  return TRUE;
}

gboolean
amigo_pid_params_check (const AmigoPidParams *p, GError **error)
{
  g_return_val_if_fail (p != NULL, FALSE);

  if (!check_field (p->kp, 0, 1e6, "kp", error) ||
      !check_field (p->ki, 0, 1e6, "ki", error) ||
      !check_field (p->kd, 0, 1e6, "kd", error) ||
      !check_field (p->release_scale, 0, 1, "release_scale", error) ||
      !check_field (p->pressure_gain, 0, 100, "pressure_gain", error) ||
      !check_field (p->pressure_min_step, 0, 100, "pressure_min_step", error) ||
      !check_field (p->min_output, 0, HUGE_VAL, "min_output", error) ||
      !check_field (p->max_output, p->min_output, HUGE_VAL, "max_output", error) ||
      !check_field (p->max_rise_per_sec, 0, HUGE_VAL, "max_rise_per_sec", error) ||
      !check_field (p->max_fall_per_sec, 0, HUGE_VAL, "max_fall_per_sec", error) ||
      !check_field (p->deadband, 0, 1, "deadband", error) ||
      !check_field (p->deadband_abs, 0, HUGE_VAL, "deadband_abs", error))
    return FALSE;
  if (p->derivative_tau_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "PID parameter 'derivative_tau_usec' is %" G_GINT64_FORMAT ", must not be negative",
                 p->derivative_tau_usec);
    return FALSE;
  }
  for (guint i = 0; i < AMIGO_PID_PHASE_LAST; i++) {
    g_autofree char *h = g_strdup_printf ("phase.%s.headroom", amigo_pid_phase_names[i]);
    g_autofree char *r = g_strdup_printf ("phase.%s.release_scale", amigo_pid_phase_names[i]);

    if (!check_field (p->phase[i].headroom, 0, 100, h, error) ||
        !check_field (p->phase[i].release_scale, 0, 1, r, error))
      return FALSE;
  }
  return TRUE;
}

AmigoPid *
amigo_pid_new (const AmigoPidParams *params, double initial_output, gint64 now_usec, GError **error)
{
  AmigoPid *self;

  if (!amigo_pid_params_check (params, error))
    return NULL;
  if (isnan (initial_output)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "PID initial output is not a number");
    return NULL;
  }
  self = g_new0 (AmigoPid, 1);
  self->params = *params;
  self->output = CLAMP (initial_output, params->min_output, params->max_output);
  self->integrator = self->output;
  self->last_usage = NAN;
  self->last_usec = now_usec;
  return self;
}

void
amigo_pid_free (AmigoPid *self)
{
  g_free (self);
}

double
amigo_pid_get_output (const AmigoPid *self)
{
  return self->output;
}

gboolean
amigo_pid_set_params (AmigoPid *self, const AmigoPidParams *params, GError **error)
{
  if (!amigo_pid_params_check (params, error))
    return FALSE;
  self->params = *params;
  return TRUE;
}

void
amigo_pid_set_output (AmigoPid *self, double output)
{
  if (isnan (output))
    return;
  self->integrator += output - self->output;
  self->output = output;
}

static double
phase_headroom (const AmigoPidParams *p, AmigoPidPhase phase, double progress)
{
  double start, end;

  if (phase != AMIGO_PID_PHASE_SETTLE)
    return p->phase[phase].headroom;
  start = p->phase[AMIGO_PID_PHASE_SETTLE].headroom;
  end = p->phase[AMIGO_PID_PHASE_STEADY].headroom;
  return start + (end - start) * progress;
}

/* Usage plus headroom; under pressure the usage is only a lower bound of
 * the demand (it cannot exceed the allocation it was capped at), so the
 * set point is put above the allocation by the pressure. */
static double
setpoint (const AmigoPid *self, double usage, double pressure, double headroom)
{
  const AmigoPidParams *p = &self->params;
  double r = usage * (1.0 + headroom);

  if (pressure > 0) {
    double floor = MAX (usage, self->output);
    r = MAX (floor * (1.0 + headroom) * (1.0 + p->pressure_gain * pressure),
             self->output * (1.0 + headroom + p->pressure_min_step));
  }
  return r;
}

double
amigo_pid_update (AmigoPid *self, const AmigoPidInput *in, gint64 now_usec, AmigoPidStep *ret_step)
{
  const AmigoPidParams *p = &self->params;
  AmigoPidPhase phase = in->phase < AMIGO_PID_PHASE_LAST ? in->phase : AMIGO_PID_PHASE_STEADY;
  double usage = isnan (in->usage) ? self->last_usage : MAX (in->usage, 0.0);
  double pressure = isnan (in->pressure) ? 0.0 : CLAMP (in->pressure, 0.0, 1.0);
  double progress = isnan (in->progress) ? 0.0 : CLAMP (in->progress, 0.0, 1.0);
  double headroom = phase_headroom (p, phase, progress);
  double y = self->output;
  double dt, r, e, scale, prop, deriv = 0, integ, raw, lo, hi, out, band;
  gboolean limited;

  if (isnan (usage) || now_usec <= self->last_usec) {
    /* nothing measured yet, or no time passed: remember, do not act */
    if (!isnan (usage))
      self->last_usage = usage;
    if (ret_step != NULL)
      *ret_step = (AmigoPidStep) { .setpoint = NAN, .output = y, .i = self->integrator };
    return y;
  }
  dt = (double) (now_usec - self->last_usec) / AMIGO_USEC_PER_SEC;

  if (!isnan (self->last_usage)) {
    double alpha = dt / (dt + (double) p->derivative_tau_usec / AMIGO_USEC_PER_SEC);
    self->d_filtered += alpha * ((usage - self->last_usage) / dt - self->d_filtered);
  }
  deriv = p->kd * (1.0 + headroom) * self->d_filtered;

  r = setpoint (self, usage, pressure, headroom);
  e = r - y;
  scale = e < 0 ? p->release_scale * p->phase[phase].release_scale : 1.0;
  prop = p->kp * scale * e;
  integ = self->integrator + p->ki * scale * e * dt;
  raw = integ + prop + deriv;

  /* never against the error; the policy range beats the rate limit */
  lo = y - p->max_fall_per_sec * dt;
  hi = y + p->max_rise_per_sec * dt;
  if (e >= 0)
    lo = y;
  if (e <= 0)
    hi = y;
  if (scale == 0)
    lo = y;
  out = CLAMP (raw, lo, hi);
  out = CLAMP (out, p->min_output, p->max_output);
  limited = out != raw;

  if (limited) {
    /* back-calculation: the integrator holds what was applied, so the
     * next step starts from the allocation, not from a wound-up sum */
    integ = out - deriv;
  }

  band = MAX (p->deadband * y, p->deadband_abs);
  if (fabs (out - y) < band && y >= p->min_output && y <= p->max_output &&
      !(pressure > 0 && out > y)) {
    /* too small to write: keep the allocation; the integrator keeps the
     * error so that a lasting one adds up to a change */
    out = y;
  }

  self->integrator = integ;
  self->output = out;
  self->last_usage = usage;
  self->last_usec = now_usec;

  if (ret_step != NULL)
    *ret_step = (AmigoPidStep) {
      .setpoint = r, .output = out, .p = prop, .i = integ, .d = deriv,
      .changed = out != y, .limited = limited,
    };
  return out;
}
