/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-test-assert.h"
#include "amigo-migration-plan.h"
#include "amigo-time.h"

#define GIB ((guint64) 1 << 30)
#define MIB_S(x) ((x) * AMIGO_BYTES_PER_MIB)
/* 1 Gbit/s and 10 Gbit/s links, in bytes/s. */
#define LINK_1G 125e6
#define LINK_10G 1250e6

/* A VM of @memory bytes dirtying @dirty_mib_s (NAN: not measured) over
 * @link bytes/s; @cpu_protected as its class's SLO says. */
static void
input_for (AmigoMigrationPlanInput *in, guint64 memory, double dirty_mib_s, double link, gboolean cpu_protected)
{
  amigo_migration_plan_input_init (in);
  in->memory_bytes = memory;
  in->dirty_rate_bytes_s = isnan (dirty_mib_s) ? NAN : MIB_S (dirty_mib_s);
  in->link_bytes_s = link;
  in->klass = cpu_protected ? AMIGO_WORKLOAD_CLASS_DATABASE : AMIGO_WORKLOAD_CLASS_BATCH;
  in->protects[AMIGO_RESOURCE_CPU] = cpu_protected;
}

static void
make (const AmigoMigrationPlanInput *in, AmigoMigrationPlan *plan)
{
  g_autoptr (GError) error = NULL;

  if (!amigo_migration_plan_make (in, plan, &error))
    fail_msg ("plan: %s", error->message);
}

/* An idle guest: pre-copy, one pass over the link, the floors for timeouts. */
static void
test_plan_idle_precopy (void **state)
{
  AmigoMigrationPlanInput in;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, GIB, 0.0, LINK_1G, FALSE);
  make (&in, &plan);
  assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_PRECOPY);
  assert_false (plan.forced);
  assert_true (plan.converges);
  amigo_test_assert_contains (plan.reason, "pre-copy: at 0.0 MiB/s dirty rate pre-copy over a 119 MiB/s link converges");
  /* 1 GiB at 125 MB/s is 8.59 s. */
  assert_true (llabs (plan.predicted_total_usec - 8589934) < 1000);
  assert_int_equal (plan.predicted_data_bytes, GIB);
  assert_float_equal (plan.bandwidth_mib_s, LINK_1G / AMIGO_BYTES_PER_MIB, 1e-9);
  assert_int_equal (plan.downtime_limit_ms, 300);
  assert_int_equal (plan.stall_timeout_usec, 30 * AMIGO_USEC_PER_SEC);
  assert_int_equal (plan.timeout_usec, 60 * AMIGO_USEC_PER_SEC);
  /* Uncalibrated = calibrated without a calibration. */
  assert_int_equal (plan.model_total_usec, plan.predicted_total_usec);
}

/* A moderate dirty rate still converges: pre-copy, more rounds, more bytes. */
static void
test_plan_busy_precopy (void **state)
{
  AmigoMigrationPlanInput in;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, 4 * GIB, 20, LINK_1G, TRUE);
  make (&in, &plan);
  assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_PRECOPY);
  amigo_test_assert_contains (plan.reason, "at 20 MiB/s dirty rate");
  amigo_test_assert_contains (plan.reason, "converges in 4 rounds");
  assert_true (plan.predicted_data_bytes > 4 * GIB);
  assert_true (plan.predicted_downtime_usec <= 300 * AMIGO_USEC_PER_MSEC);
}

/* The case: dirtying faster than the link, CPU protected ->
 * post-copy, saying why and the risk. */
static void
test_plan_postcopy_when_no_convergence (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, 16 * GIB, 118, LINK_1G, TRUE);
  amigo_migration_options_init (&o);
  o.bandwidth_mib_s = 110;
  in.options = &o;
  make (&in, &plan);
  assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_POSTCOPY);
  amigo_test_assert_contains (plan.reason,
                   "post-copy: at 118 MiB/s dirty rate pre-copy over a 110 MiB/s link would not converge within 30 rounds");
  amigo_test_assert_contains (plan.reason, "database class protects its CPU");
  amigo_test_assert_contains (plan.reason, "a network failure during post-copy loses the VM");
  assert_true (plan.converges);
  /* One pass and the pages dirtied meanwhile: all of it twice here. */
  assert_int_equal (plan.predicted_data_bytes, 32 * GIB);
  /* Nothing refills in post-copy: any halt is a stall, the floor applies. */
  assert_int_equal (plan.stall_timeout_usec, 30 * AMIGO_USEC_PER_SEC);
}

/* Same guest, CPU not protected -> auto-converge with QEMU's throttle. */
static void
test_plan_auto_converge_when_cpu_free (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, 16 * GIB, 118, LINK_1G, FALSE);
  amigo_migration_options_init (&o);
  o.bandwidth_mib_s = 110;
  in.options = &o;
  make (&in, &plan);
  assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_AUTO_CONVERGE);
  amigo_test_assert_contains (plan.reason, "auto-converge: at 118 MiB/s dirty rate");
  /* 118 x (1 - 0.6) = 47 MiB/s, below half of the link: QEMU stops there. */
  amigo_test_assert_contains (plan.reason, "throttling of the vCPUs by 60 %");
  amigo_test_assert_contains (plan.reason, "47 MiB/s");
  assert_true (plan.converges);
  assert_true (plan.predicted_downtime_usec <= 300 * AMIGO_USEC_PER_MSEC);
}

/* Not measured: the expensive case; auto-converge when it may throttle,
 * pre-copy when the CPU is protected, never post-copy's risk for an unknown. */
static void
test_plan_unknown_dirty_rate (void **state)
{
  AmigoMigrationPlanInput in;
  g_auto (AmigoMigrationPlan) free_cpu = { 0 };
  g_auto (AmigoMigrationPlan) protected_cpu = { 0 };

  input_for (&in, 8 * GIB, NAN, LINK_1G, FALSE);
  make (&in, &free_cpu);
  assert_int_equal (free_cpu.mode, AMIGO_MIGRATION_MODE_AUTO_CONVERGE);
  amigo_test_assert_contains (free_cpu.reason, "dirty rate was not measured");
  assert_false (free_cpu.converges);
  /* Twice the memory and what the link carries in the downtime limit. */
  assert_true (free_cpu.predicted_data_bytes >= 16 * GIB);
  assert_true (free_cpu.predicted_data_bytes < 16 * GIB + (guint64) (LINK_1G * 0.3) + 1);

  input_for (&in, 8 * GIB, NAN, LINK_1G, TRUE);
  make (&in, &protected_cpu);
  assert_int_equal (protected_cpu.mode, AMIGO_MIGRATION_MODE_PRECOPY);
  amigo_test_assert_contains (protected_cpu.reason, "protects its CPU, so no auto-converge");
  assert_int_equal (protected_cpu.predicted_total_usec, free_cpu.predicted_total_usec);
}

/* A forced mode is kept; the reason says so and what the model predicts. */
static void
test_plan_forced_modes (void **state)
{
  static const struct {
    AmigoMigrationMode mode;
    double dirty_mib_s;
    const char *expect[2];
  } cases[] = {
    { AMIGO_MIGRATION_MODE_POSTCOPY, 20, { "post-copy (asked for): about", "pre-copy over a 119 MiB/s link converges in 4 rounds" } },
    { AMIGO_MIGRATION_MODE_PRECOPY, 118, { "pre-copy (asked for): at 118 MiB/s", "would not converge within 30 rounds" } },
    { AMIGO_MIGRATION_MODE_AUTO_CONVERGE, 20, { "auto-converge (asked for)", "should not need to throttle" } },
    { AMIGO_MIGRATION_MODE_AUTO_CONVERGE, 150, { "auto-converge (asked for)", "throttling of the vCPUs by" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    AmigoMigrationPlanInput in;
    AmigoMigrationOptions o;
    g_auto (AmigoMigrationPlan) plan = { 0 };

    input_for (&in, 4 * GIB, cases[i].dirty_mib_s, LINK_1G, TRUE);
    amigo_migration_options_init (&o);
    o.mode = cases[i].mode;
    in.options = &o;
    make (&in, &plan);
    assert_int_equal (plan.mode, cases[i].mode);
    assert_true (plan.forced);
    amigo_test_assert_contains (plan.reason, cases[i].expect[0]);
    amigo_test_assert_contains (plan.reason, cases[i].expect[1]);
  }
}

/* A forced pre-copy that cannot converge predicts the forced switch-over's
 * long pause and says the stall timeout will end it. */
static void
test_plan_forced_precopy_warns (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, 16 * GIB, 118, LINK_1G, TRUE);
  amigo_migration_options_init (&o);
  o.mode = AMIGO_MIGRATION_MODE_PRECOPY;
  in.options = &o;
  make (&in, &plan);
  assert_false (plan.converges);
  assert_true (plan.predicted_downtime_usec > 10 * AMIGO_USEC_PER_SEC);
  amigo_test_assert_contains (plan.reason, "stall timeout aborts it");
}

/* The bandwidth asked for is what libvirt gets, and a lower one makes the
 * migration longer; one above the link does not make it shorter. */
static void
test_plan_bandwidth_cap (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) full = { 0 };
  g_auto (AmigoMigrationPlan) capped = { 0 };
  g_auto (AmigoMigrationPlan) above = { 0 };

  input_for (&in, 4 * GIB, 20, LINK_1G, TRUE);
  make (&in, &full);
  amigo_migration_options_init (&o);
  o.bandwidth_mib_s = 50;
  in.options = &o;
  make (&in, &capped);
  assert_float_equal (capped.bandwidth_mib_s, 50, 0);
  assert_true (capped.predicted_total_usec > 2 * full.predicted_total_usec);
  amigo_test_assert_contains (capped.reason, "over a 50 MiB/s link");
  assert_true (capped.timeout_usec > full.timeout_usec);

  o.bandwidth_mib_s = 1000;
  make (&in, &above);
  assert_float_equal (above.bandwidth_mib_s, 1000, 0);
  assert_int_equal (above.predicted_total_usec, full.predicted_total_usec);
}

/* The downtime limit asked for reaches libvirt and the model. */
static void
test_plan_downtime_limit (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  input_for (&in, 16 * GIB, 118, LINK_1G, TRUE);
  amigo_migration_options_init (&o);
  o.downtime_limit_ms = 2000;
  o.mode = AMIGO_MIGRATION_MODE_POSTCOPY;
  in.options = &o;
  make (&in, &plan);
  assert_int_equal (plan.downtime_limit_ms, 2000);
  assert_int_equal (plan.predicted_downtime_usec, 2 * AMIGO_USEC_PER_SEC);
}

/* A timeout asked for is kept, and pre-copy that would not fit it is not chosen. */
static void
test_plan_timeout_asked (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  g_auto (AmigoMigrationPlan) plan = { 0 };

  /* Converges, in about 4 minutes (test_plan_timeouts_scale). */
  input_for (&in, 16 * GIB, 50, LINK_1G, TRUE);
  amigo_migration_options_init (&o);
  o.timeout_usec = 200 * AMIGO_USEC_PER_SEC;
  in.options = &o;
  make (&in, &plan);
  assert_int_equal (plan.timeout_usec, 200 * AMIGO_USEC_PER_SEC);
  assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_POSTCOPY);
  amigo_test_assert_contains (plan.reason, "more than the 3m 20s timeout asked for");
  assert_true (plan.stall_timeout_usec <= plan.timeout_usec);

  /* Its pre-copy stall window (3 rounds of about 58 s) does not outlast a
   * shorter timeout asked for. */
  amigo_migration_plan_clear (&plan);
  o.mode = AMIGO_MIGRATION_MODE_PRECOPY;
  o.timeout_usec = 90 * AMIGO_USEC_PER_SEC;
  make (&in, &plan);
  assert_int_equal (plan.timeout_usec, 90 * AMIGO_USEC_PER_SEC);
  assert_int_equal (plan.stall_timeout_usec, 90 * AMIGO_USEC_PER_SEC);
}

/* Timeouts follow the VM: more memory or a higher dirty rate -> longer;
 * never below the floors; the overall one leaves room for a stall plus
 * the predicted transfer. */
static void
test_plan_timeouts_scale (void **state)
{
  static const struct {
    guint64 memory;
    double dirty_mib_s;
    double link;
  } vms[] = {
    { GIB, 0, LINK_1G }, { GIB, 20, LINK_1G }, { 16 * GIB, 0, LINK_1G }, { 16 * GIB, 50, LINK_1G },
    { 16 * GIB, 50, LINK_10G }, { 64 * GIB, 80, LINK_1G }, { 4096 * GIB, 0, LINK_1G },
  };
  AmigoMigrationPlan plans[G_N_ELEMENTS (vms)];

  for (guint i = 0; i < G_N_ELEMENTS (vms); i++) {
    AmigoMigrationPlanInput in;

    input_for (&in, vms[i].memory, vms[i].dirty_mib_s, vms[i].link, TRUE);
    make (&in, &plans[i]);
    assert_true (plans[i].stall_timeout_usec >= 30 * AMIGO_USEC_PER_SEC);
    assert_true (plans[i].timeout_usec >= 60 * AMIGO_USEC_PER_SEC);
    assert_true (plans[i].timeout_usec <= AMIGO_MIGRATION_TIMEOUT_MAX_USEC);
    assert_true (plans[i].stall_timeout_usec <= plans[i].timeout_usec);
    if (plans[i].timeout_usec < AMIGO_MIGRATION_TIMEOUT_MAX_USEC)
      assert_true (plans[i].timeout_usec >= plans[i].stall_timeout_usec + plans[i].predicted_total_usec);
  }
  /* More memory, same dirty rate: longer overall timeout. */
  assert_true (plans[2].timeout_usec > plans[0].timeout_usec);
  /* Higher dirty rate, same memory: longer stall timeout (its rounds are). */
  assert_true (plans[3].stall_timeout_usec > plans[2].stall_timeout_usec);
  assert_true (plans[3].timeout_usec > plans[2].timeout_usec);
  /* A faster link: shorter. */
  assert_true (plans[4].timeout_usec < plans[3].timeout_usec);
  /* The 16 GiB busy VM at 1 Gbit/s (docs/migration.md's example):
   * 9 rounds, 3m 57s; stall 3 x 68.7 s; overall 4 x the total. */
  assert_int_equal (plans[3].mode, AMIGO_MIGRATION_MODE_PRECOPY);
  assert_true (plans[3].predicted_total_usec > 230 * AMIGO_USEC_PER_SEC &&
               plans[3].predicted_total_usec < 240 * AMIGO_USEC_PER_SEC);
  assert_int_equal (plans[3].timeout_usec, 4 * plans[3].predicted_total_usec);
  assert_true (plans[3].stall_timeout_usec > 170 * AMIGO_USEC_PER_SEC &&
               plans[3].stall_timeout_usec < 175 * AMIGO_USEC_PER_SEC);
  /* Beyond what the model can be trusted with: the 24 h ceiling. */
  assert_int_equal (plans[6].timeout_usec, AMIGO_MIGRATION_TIMEOUT_MAX_USEC);
  for (guint i = 0; i < G_N_ELEMENTS (vms); i++)
    amigo_migration_plan_clear (&plans[i]);
}

/* A calibration that says migrations take 1.5x the model stretches the
 * prediction and the timeouts; the uncalibrated figures stay. */
static void
test_plan_calibrated (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoOverheadCalibration cal;
  g_auto (AmigoMigrationPlan) plain = { 0 };
  g_auto (AmigoMigrationPlan) slow = { 0 };

  input_for (&in, 16 * GIB, 50, LINK_1G, TRUE);
  make (&in, &plain);
  amigo_overhead_calibration_init (&cal);
  cal.log_duration = log (1.5);
  cal.n_observations = 3;
  in.calibration = &cal;
  make (&in, &slow);
  assert_int_equal (slow.model_total_usec, plain.model_total_usec);
  assert_true (fabs ((double) slow.predicted_total_usec / plain.predicted_total_usec - 1.5) < 0.001);
  assert_true (slow.stall_timeout_usec > plain.stall_timeout_usec);
  assert_true (slow.timeout_usec > plain.timeout_usec);
}

/* Inputs the model cannot take are refused with a message. */
static void
test_plan_bad_input (void **state)
{
  AmigoMigrationPlanInput in;
  AmigoMigrationOptions o;
  AmigoMigrationPlan plan = { .mode = AMIGO_MIGRATION_MODE_LAST };
  struct {
    guint64 memory;
    double dirty;
    double link;
    const char *expect;
  } bad[] = {
    { 0, 0, LINK_1G, "guest memory is 0 bytes" },
    { GIB, 0, 0, "link is 0 bytes/s" },
    { GIB, 0, NAN, "link is nan bytes/s" },
    { GIB, -5, LINK_1G, "dirty rate is -5 bytes/s" },
    { GIB, INFINITY, LINK_1G, "dirty rate is inf" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    amigo_migration_plan_input_init (&in);
    in.memory_bytes = bad[i].memory;
    in.dirty_rate_bytes_s = bad[i].dirty;
    in.link_bytes_s = bad[i].link;
    assert_false (amigo_migration_plan_make (&in, &plan, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    amigo_test_assert_contains (error->message, bad[i].expect);
    assert_int_equal (plan.mode, AMIGO_MIGRATION_MODE_LAST);
  }

  /* Absurdly slow: refused before any arithmetic can overflow. */
  {
    g_autoptr (GError) error = NULL;
    input_for (&in, 16 * GIB, 0, LINK_1G, FALSE);
    amigo_migration_options_init (&o);
    o.bandwidth_mib_s = 1e-9;
    in.options = &o;
    assert_false (amigo_migration_plan_make (&in, &plan, &error));
    amigo_test_assert_contains (error->message, "sending 16.00 GiB once at 0.0 MiB/s takes years");
    amigo_test_assert_contains (error->message, "raise option 'bandwidth_mib_s'");
    g_clear_error (&error);
    input_for (&in, G_MAXUINT64, 0, 1.0, FALSE);
    assert_false (amigo_migration_plan_make (&in, &plan, &error));
    amigo_test_assert_contains (error->message, "longer than the 24 h a migration may run");
    g_clear_error (&error);
    /* 1 TiB over 1 Gbit/s is 2h 26m: fine. */
    input_for (&in, 1024 * GIB, 0, LINK_1G, FALSE);
    assert_true (amigo_migration_plan_make (&in, &plan, NULL));
    amigo_migration_plan_clear (&plan);
    plan.mode = AMIGO_MIGRATION_MODE_LAST;
  }

  {
    g_autoptr (GError) error = NULL;
    input_for (&in, GIB, 0, LINK_1G, FALSE);
    amigo_migration_options_init (&o);
    o.downtime_limit_ms = 70000;
    in.options = &o;
    assert_false (amigo_migration_plan_make (&in, &plan, &error));
    amigo_test_assert_contains (error->message, "'downtime_limit_ms' is 70000");
  }
}

/* Migrate's @plan carries exactly the documented keys with their types. */
static void
test_plan_variant (void **state)
{
  static const char *const keys[][2] = {
    { "mode", "s" },
    { "reason", "s" },
    { "bandwidth_mib_s", "d" },
    { "downtime_limit_ms", "u" },
    { "start_at_usec", "x" },
    { "start_reason", "s" },
    { "stall_timeout_usec", "x" },
    { "timeout_usec", "x" },
    { "predicted_total_usec", "x" },
    { "predicted_downtime_usec", "x" },
    { "predicted_data_bytes", "t" },
  };
  AmigoMigrationPlanInput in;
  g_auto (AmigoMigrationPlan) plan = { 0 };
  g_auto (AmigoMigrationPlan) copy = { 0 };
  g_autoptr (GVariant) v = NULL;
  const char *mode = NULL;

  input_for (&in, 4 * GIB, 20, LINK_1G, TRUE);
  make (&in, &plan);
  plan.start_at_usec = 1764806400 * AMIGO_USEC_PER_SEC;
  plan.start_reason = g_strdup ("now: no deadline");
  amigo_migration_plan_copy (&copy, &plan);
  g_clear_pointer (&plan.start_reason, g_free);
  v = g_variant_ref_sink (amigo_migration_plan_to_variant (&copy));
  assert_int_equal (g_variant_n_children (v), G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autoptr (GVariant) value = g_variant_lookup_value (v, keys[i][0], G_VARIANT_TYPE (keys[i][1]));
    if (value == NULL)
      fail_msg ("key '%s' of type '%s' missing", keys[i][0], keys[i][1]);
  }
  assert_true (g_variant_lookup (v, "mode", "&s", &mode));
  assert_string_equal (mode, "precopy");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plan_idle_precopy),
    cmocka_unit_test (test_plan_busy_precopy),
    cmocka_unit_test (test_plan_postcopy_when_no_convergence),
    cmocka_unit_test (test_plan_auto_converge_when_cpu_free),
    cmocka_unit_test (test_plan_unknown_dirty_rate),
    cmocka_unit_test (test_plan_forced_modes),
    cmocka_unit_test (test_plan_forced_precopy_warns),
    cmocka_unit_test (test_plan_bandwidth_cap),
    cmocka_unit_test (test_plan_downtime_limit),
    cmocka_unit_test (test_plan_timeout_asked),
    cmocka_unit_test (test_plan_timeouts_scale),
    cmocka_unit_test (test_plan_calibrated),
    cmocka_unit_test (test_plan_bad_input),
    cmocka_unit_test (test_plan_variant),
  };
  return cmocka_run_group_tests_name ("migration-plan", tests, NULL, NULL);
}
