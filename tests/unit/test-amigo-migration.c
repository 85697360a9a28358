/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-migration.h"
#include "amigo-time.h"

#define MIB ((guint64) 1024 * 1024)
#define WALL0 (1700000000 * AMIGO_USEC_PER_SEC)

/* ---- the job statistics parse ---- */

static void
set_ull (virTypedParameterPtr p, const char *field, unsigned long long v)
{
  memset (p, 0, sizeof *p);
  g_strlcpy (p->field, field, sizeof p->field);
  p->type = VIR_TYPED_PARAM_ULLONG;
  p->value.ul = v;
}

/* libvirt's figures in amigo's units: milliseconds to microseconds, dirty
 * pages to bytes with the page size, unknown parameters skipped. */
static void
test_stats_parse (void **state)
{
  virTypedParameter p[12];
  AmigoMigrationStats s;
  g_autoptr (GError) error = NULL;

  set_ull (&p[0], VIR_DOMAIN_JOB_MEMORY_TOTAL, 256 * MIB);
  set_ull (&p[1], VIR_DOMAIN_JOB_MEMORY_PROCESSED, 64 * MIB);
  set_ull (&p[2], VIR_DOMAIN_JOB_MEMORY_REMAINING, 192 * MIB);
  set_ull (&p[3], VIR_DOMAIN_JOB_DATA_TOTAL, 256 * MIB);
  set_ull (&p[4], VIR_DOMAIN_JOB_DATA_PROCESSED, 64 * MIB);
  set_ull (&p[5], VIR_DOMAIN_JOB_DATA_REMAINING, 192 * MIB);
  set_ull (&p[6], VIR_DOMAIN_JOB_TIME_ELAPSED, 1500);
  set_ull (&p[7], VIR_DOMAIN_JOB_DOWNTIME, 300);
  set_ull (&p[8], VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, 2560);
  set_ull (&p[9], VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 4096);
  set_ull (&p[10], VIR_DOMAIN_JOB_MEMORY_ITERATION, 2);
  set_ull (&p[11], "some_future_figure", 7);
  assert_true (amigo_migration_stats_parse (VIR_DOMAIN_JOB_UNBOUNDED, p, 12, &s, &error));
  assert_int_equal (s.job_type, VIR_DOMAIN_JOB_UNBOUNDED);
  assert_int_equal (s.memory_total_bytes, 256 * MIB);
  assert_int_equal (s.data_remaining_bytes, 192 * MIB);
  assert_int_equal (s.elapsed_usec, 1500 * AMIGO_USEC_PER_MSEC);
  assert_int_equal (s.downtime_usec, 300 * AMIGO_USEC_PER_MSEC);
  assert_float_equal (s.dirty_rate_bytes_s, 10.0 * MIB, 1);
  assert_int_equal (s.iteration, 2);
  assert_true (s.present & AMIGO_MIGRATION_STATS_DIRTY_RATE);
  assert_false (s.present & AMIGO_MIGRATION_STATS_BANDWIDTH);
  assert_false (s.postcopy);
  assert_float_equal (amigo_migration_stats_percent (&s), 25.0, 1e-9);
}

/* Garbage from libvirt is refused naming the parameter, and the result
 * is left alone. */
static void
test_stats_parse_garbage (void **state)
{
  virTypedParameter p[2];
  AmigoMigrationStats s;
  g_autoptr (GError) error = NULL;

  amigo_migration_stats_init (&s);
  set_ull (&p[0], VIR_DOMAIN_JOB_MEMORY_TOTAL, 1);
  set_ull (&p[1], VIR_DOMAIN_JOB_MEMORY_REMAINING, 2);
  assert_false (amigo_migration_stats_parse (VIR_DOMAIN_JOB_UNBOUNDED, p, 2, &s, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  assert_non_null (strstr (error->message, "'memory_remaining' 2 is above 'memory_total' 1"));
  assert_int_equal (s.job_type, VIR_DOMAIN_JOB_NONE);
  g_clear_error (&error);

  p[1].type = VIR_TYPED_PARAM_STRING;
  p[1].value.s = (char *) "lots";
  assert_false (amigo_migration_stats_parse (VIR_DOMAIN_JOB_UNBOUNDED, p, 2, &s, &error));
  assert_non_null (strstr (error->message, "parameter 'memory_remaining' has type"));
  assert_int_equal (amigo_migration_stats_percent (&s), -1);
}

/* ---- the state machine ---- */

static void
plan_init (AmigoMigrationPlan *plan, AmigoMigrationMode mode)
{
  memset (plan, 0, sizeof *plan);
  plan->mode = mode;
  plan->reason = g_strdup ("test");
  plan->bandwidth_mib_s = 100;
  plan->downtime_limit_ms = 300;
  plan->stall_timeout_usec = 10 * AMIGO_USEC_PER_SEC;
  plan->timeout_usec = 60 * AMIGO_USEC_PER_SEC;
}

static AmigoMigrationStats
sample (guint64 remaining_mib, guint64 iteration)
{
  AmigoMigrationStats s;

  amigo_migration_stats_init (&s);
  s.job_type = VIR_DOMAIN_JOB_UNBOUNDED;
  s.present = AMIGO_MIGRATION_STATS_MEMORY | AMIGO_MIGRATION_STATS_DATA | AMIGO_MIGRATION_STATS_ITERATION;
  s.memory_total_bytes = s.data_total_bytes = 256 * MIB;
  s.memory_remaining_bytes = s.data_remaining_bytes = remaining_mib * MIB;
  s.memory_processed_bytes = s.data_processed_bytes = (256 - MIN (remaining_mib, 256)) * MIB;
  s.iteration = iteration;
  return s;
}

/* Phases refreshing -> waiting -> starting -> precopy -> switchover, the
 * progress saying each with its figures, and a success ends completed. */
static void
test_progress (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s;
  g_autoptr (GVariant) v = NULL;
  const char *phase;
  double percent;
  guint64 remaining;
  AmigoMigrationOutcome outcome;
  g_autofree char *error = NULL;

  plan_init (&plan, AMIGO_MIGRATION_MODE_PRECOPY);
  m = amigo_migration_new (clock, &plan);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_REFRESHING);
  amigo_migration_wait (m, WALL0 + 5 * AMIGO_USEC_PER_SEC);
  v = g_variant_ref_sink (amigo_migration_progress_to_variant (m));
  assert_true (g_variant_lookup (v, "phase", "&s", &phase));
  assert_string_equal (phase, "waiting");
  assert_true (g_variant_lookup (v, "start_at_usec", "x", &remaining));
  g_clear_pointer (&v, g_variant_unref);

  amigo_migration_start (m);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_STARTING);
  /* QEMU's setup: the figures are not known yet, not zero */
  s = sample (0, 0);
  s.memory_total_bytes = s.data_total_bytes = 0;
  s.present |= AMIGO_MIGRATION_STATS_ELAPSED;
  s.elapsed_usec = 500 * AMIGO_USEC_PER_MSEC;
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  v = g_variant_ref_sink (amigo_migration_progress_to_variant (m));
  assert_true (g_variant_lookup (v, "elapsed_usec", "x", &remaining));
  assert_false (g_variant_lookup (v, "data_remaining_bytes", "t", &remaining));
  g_clear_pointer (&v, g_variant_unref);
  s = sample (192, 1);
  s.present |= AMIGO_MIGRATION_STATS_DIRTY_RATE;
  s.dirty_rate_bytes_s = 3.0 * MIB;
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  v = g_variant_ref_sink (amigo_migration_progress_to_variant (m));
  assert_true (g_variant_lookup (v, "phase", "&s", &phase));
  assert_string_equal (phase, "precopy");
  assert_true (g_variant_lookup (v, "percent", "d", &percent));
  assert_float_equal (percent, 25.0, 1e-9);
  assert_true (g_variant_lookup (v, "data_remaining_bytes", "t", &remaining));
  assert_int_equal (remaining, 192 * MIB);
  assert_true (g_variant_lookup (v, "dirty_rate_mib_s", "d", &percent));
  assert_float_equal (percent, 3.0, 1e-9);
  assert_false (g_variant_lookup (v, "bandwidth_mib_s", "d", &percent));
  g_clear_pointer (&v, g_variant_unref);

  s = sample (1, 3);
  s.paused = TRUE;
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_SWITCHOVER);
  amigo_migration_finish (m, TRUE, NULL, &outcome, &error);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_COMPLETED);
  assert_null (error);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_ENDED);
}

/* Remaining data that stops going down for the stall timeout aborts a
 * pre-copy migration once, and the end is "timeout" saying why; progress
 * that keeps making new lows does not. */
static void
test_stall_aborts (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s;
  AmigoMigrationOutcome outcome;
  g_autofree char *error = NULL;

  plan_init (&plan, AMIGO_MIGRATION_MODE_AUTO_CONVERGE);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  /* QEMU's setup: every figure 0, which is no low to stall on */
  s = sample (0, 0);
  s.memory_total_bytes = s.data_total_bytes = 0;
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  /* 9 s of steady progress, then the remaining data bounces around 100 MiB */
  for (int i = 0; i < 9; i++) {
    amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
    s = sample (200 - 10 * i, 1);
    assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  }
  for (int i = 0; i < 9; i++) {
    amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
    s = sample (i % 2 == 0 ? 130 : 125, 2 + i);
    assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  }
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_ABORT);
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  amigo_migration_finish (m, FALSE, "operation aborted: migration out job: canceled by client", &outcome, &error);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_TIMEOUT);
  assert_non_null (strstr (error, "stalled"));
  assert_non_null (strstr (error, "lowest 120.0 MiB"));
}

/* A post-copy plan switches after the first pass over memory; a stall
 * never aborts it once in post-copy. */
static void
test_postcopy_plan (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s;

  plan_init (&plan, AMIGO_MIGRATION_MODE_POSTCOPY);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  s = sample (100, 1);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  s = sample (90, 2);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_POSTCOPY);
  amigo_migration_postcopy_started (m);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_POSTCOPY);
  s.postcopy = FALSE;   /* a reading taken before the switch: the phase stays */
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_POSTCOPY);
  s.postcopy = TRUE;
  for (int i = 0; i < 120; i++) {
    amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
    assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  }
  assert_int_equal (amigo_migration_get_phase (m), AMIGO_MIGRATION_PHASE_POSTCOPY);
  /* nor does a cancel: the guest's memory is split between the hosts */
  assert_int_equal (amigo_migration_cancel (m), AMIGO_MIGRATION_ACTION_NONE);
}

/* A post-copy plan whose first pass stalls switches to post-copy instead
 * of aborting. */
static void
test_stall_postcopy (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s = sample (100, 1);

  plan_init (&plan, AMIGO_MIGRATION_MODE_POSTCOPY);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  for (int i = 0; i < 9; i++) {
    amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
    assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  }
  amigo_clock_advance (clock, 2 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_POSTCOPY);
  /* libvirt switches before a reading shows it, and the domain may be gone
   * from the source when the next one fails: never an abort then, nor on
   * a cancel */
  amigo_clock_advance (clock, 60 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, NULL), AMIGO_MIGRATION_ACTION_NONE);
  assert_int_equal (amigo_migration_cancel (m), AMIGO_MIGRATION_ACTION_NONE);
}

/* A switch to post-copy that libvirt refused leaves pre-copy, which the
 * timeout then aborts. */
static void
test_postcopy_refused (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s = sample (100, 1);

  plan_init (&plan, AMIGO_MIGRATION_MODE_POSTCOPY);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  amigo_clock_advance (clock, 10 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_POSTCOPY);
  amigo_migration_postcopy_failed (m);
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_ABORT);
}

/* The overall timeout aborts a migration that still progresses, checked
 * even when no statistics come. */
static void
test_overall_timeout (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  AmigoMigrationStats s;
  AmigoMigrationOutcome outcome;
  g_autofree char *error = NULL;
  int i;

  plan_init (&plan, AMIGO_MIGRATION_MODE_PRECOPY);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  for (i = 0; i < 59; i++) {
    amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
    s = sample (250 - i, 1);
    assert_int_equal (amigo_migration_feed (m, &s), AMIGO_MIGRATION_ACTION_NONE);
  }
  amigo_clock_advance (clock, AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_migration_feed (m, NULL), AMIGO_MIGRATION_ACTION_ABORT);
  amigo_migration_finish (m, FALSE, "operation aborted", &outcome, &error);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_TIMEOUT);
  assert_string_equal (error, "aborted: not finished within its timeout of 1m");
}

/* The amigo hook's refusal as libvirt reports it gives the state refused
 * with just the destination's reason; any other hook failure or error is
 * failed with libvirt's first line. */
static void
test_refusal (void **state)
{
  static const char refused[] =
    "Hook script execution failed: internal error: Child process (LC_ALL=C PATH=/usr/bin HOME=/root "
    "/etc/libvirt/hooks/qemu hk1 migrate begin -) unexpected exit status 1: amigo: memory: need 1.42 GiB, "
    "0.90 GiB free after reservations\n";
  static const char other_hook[] =
    "Hook script execution failed: internal error: Child process (/etc/libvirt/hooks/qemu hk1 migrate begin -) "
    "unexpected exit status 1: no space left";
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) m = NULL;
  g_autoptr (AmigoMigration) m2 = NULL;
  AmigoMigrationOutcome outcome;
  g_autofree char *error = NULL;
  g_autofree char *error2 = NULL;
  g_autofree char *reason = amigo_migration_refusal_reason (refused);

  assert_string_equal (reason, "memory: need 1.42 GiB, 0.90 GiB free after reservations");
  assert_null (amigo_migration_refusal_reason (other_hook));
  assert_null (amigo_migration_refusal_reason ("unable to connect to server at '10.0.0.9:16509': "
                                               "amigo: No route to host"));
  assert_null (amigo_migration_refusal_reason (NULL));
  assert_null (amigo_migration_refusal_reason ("Hook script execution failed: unexpected exit status 1: amigo: "));

  plan_init (&plan, AMIGO_MIGRATION_MODE_PRECOPY);
  m = amigo_migration_new (clock, &plan);
  amigo_migration_start (m);
  amigo_migration_finish (m, FALSE, refused, &outcome, &error);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_REFUSED);
  assert_string_equal (error, "memory: need 1.42 GiB, 0.90 GiB free after reservations");

  m2 = amigo_migration_new (clock, &plan);
  amigo_migration_start (m2);
  amigo_migration_finish (m2, FALSE, "unable to connect to server at '10.77.9.9:16509': No route to host\nmore",
                          &outcome, &error2);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_FAILED);
  assert_string_equal (error2, "unable to connect to server at '10.77.9.9:16509': No route to host");
}

/* A cancel before the start needs no abort; one while libvirt migrates
 * asks for the abort (again once a refused abort's job is seen running),
 * and the end is cancelled, unless the migration completed first. */
static void
test_cancel (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (0, WALL0);
  g_auto (AmigoMigrationPlan) plan;
  g_autoptr (AmigoMigration) before = NULL;
  g_autoptr (AmigoMigration) during = NULL;
  g_autoptr (AmigoMigration) late = NULL;
  AmigoMigrationStats s = sample (100, 1);
  AmigoMigrationOutcome outcome;
  g_autofree char *e1 = NULL;
  g_autofree char *e2 = NULL;
  g_autofree char *e3 = NULL;

  plan_init (&plan, AMIGO_MIGRATION_MODE_PRECOPY);
  before = amigo_migration_new (clock, &plan);
  amigo_migration_wait (before, WALL0 + AMIGO_USEC_PER_HOUR);
  assert_int_equal (amigo_migration_cancel (before), AMIGO_MIGRATION_ACTION_NONE);
  assert_true (amigo_migration_is_cancelled (before));
  amigo_migration_finish (before, FALSE, NULL, &outcome, &e1);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_CANCELLED);
  assert_string_equal (e1, "cancelled on request before it started");

  during = amigo_migration_new (clock, &plan);
  amigo_migration_start (during);
  assert_int_equal (amigo_migration_cancel (during), AMIGO_MIGRATION_ACTION_ABORT);
  assert_int_equal (amigo_migration_cancel (during), AMIGO_MIGRATION_ACTION_NONE);
  amigo_migration_abort_failed (during);
  assert_int_equal (amigo_migration_feed (during, NULL), AMIGO_MIGRATION_ACTION_NONE);
  assert_int_equal (amigo_migration_feed (during, &s), AMIGO_MIGRATION_ACTION_ABORT);
  assert_int_equal (amigo_migration_feed (during, &s), AMIGO_MIGRATION_ACTION_NONE);
  amigo_migration_finish (during, FALSE, "operation aborted: migration out job: canceled by client",
                          &outcome, &e2);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_CANCELLED);
  assert_string_equal (e2, "cancelled on request; the domain stays on this host");

  late = amigo_migration_new (clock, &plan);
  amigo_migration_start (late);
  assert_int_equal (amigo_migration_cancel (late), AMIGO_MIGRATION_ACTION_ABORT);
  amigo_migration_finish (late, TRUE, NULL, &outcome, &e3);
  assert_int_equal (outcome, AMIGO_MIGRATION_OUTCOME_COMPLETED);
  assert_null (e3);
  assert_int_equal (amigo_migration_cancel (late), AMIGO_MIGRATION_ACTION_NONE);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stats_parse),
    cmocka_unit_test (test_stats_parse_garbage),
    cmocka_unit_test (test_progress),
    cmocka_unit_test (test_stall_aborts),
    cmocka_unit_test (test_postcopy_plan),
    cmocka_unit_test (test_stall_postcopy),
    cmocka_unit_test (test_postcopy_refused),
    cmocka_unit_test (test_overall_timeout),
    cmocka_unit_test (test_refusal),
    cmocka_unit_test (test_cancel),
  };
  return cmocka_run_group_tests_name ("migration", tests, NULL, NULL);
}
