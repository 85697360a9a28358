/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-migration-timing.h"
#include "amigo-time.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define PER_DAY ((gsize) (AMIGO_USEC_PER_DAY / STEP))
/* A midnight (UTC): 2026-11-30 00:00. */
#define MIDNIGHT (G_GINT64_CONSTANT (1796083200) * AMIGO_USEC_PER_SEC)
#define GIB ((guint64) AMIGO_BYTES_PER_GIB)

/* A VM busy all day (2 cores, dirtying 80 MiB/s) except a nightly trough
 * from 02:00 to 04:00 (0.2 cores, 8 MiB/s), with +-10 % noise; @days days
 * ending at @now. */
typedef struct {
  double cpu[8 * 288];
  double dirty[8 * 288];
  AmigoSeries cpu_series;
  AmigoSeries dirty_series;
  AmigoOverheadInput overhead;
  AmigoMigrationTimingInput in;
} Trough;

static void
trough_init (Trough *t, gsize days, gint64 now)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gsize n = days * PER_DAY;
  gint64 start = now - (gint64) n * STEP;

  g_assert (n <= G_N_ELEMENTS (t->cpu));
  for (gsize i = 0; i < n; i++) {
    gint64 tod = ((start + (gint64) i * STEP) % AMIGO_USEC_PER_DAY + AMIGO_USEC_PER_DAY) % AMIGO_USEC_PER_DAY;
    gboolean low = tod >= 2 * AMIGO_USEC_PER_HOUR && tod < 4 * AMIGO_USEC_PER_HOUR;

    t->cpu[i] = (low ? 0.2 : 2.0) * g_rand_double_range (rand, 0.9, 1.1);
    t->dirty[i] = (low ? 8.0 : 80.0) * g_rand_double_range (rand, 0.9, 1.1);
  }
  t->cpu_series = (AmigoSeries) { start, STEP, n, t->cpu };
  t->dirty_series = (AmigoSeries) { start, STEP, n, t->dirty };
}

static void
overhead_init (AmigoOverheadInput *overhead)
{
  amigo_overhead_input_init (overhead);
  overhead->memory_bytes = 4 * GIB;
  overhead->link_bytes_s = 125e6;   /* 1 Gbit/s */
}

static void
input_init (AmigoMigrationTimingInput *in, Trough *t, AmigoOverheadInput *overhead, gint64 now, gint64 deadline)
{
  amigo_migration_timing_input_init (in);
  in->series[AMIGO_MIGRATION_TIMING_CPU] = &t->cpu_series;
  in->series[AMIGO_MIGRATION_TIMING_DIRTY_RATE] = &t->dirty_series;
  in->overhead = overhead;
  in->now_usec = now;
  in->deadline_usec = deadline;
  in->duration_usec = 10 * AMIGO_USEC_PER_MIN;
  in->seed = 1;
}

/* A week of the trough ending at midnight, with the overhead model, and
 * the input to choose within @deadline. */
static AmigoMigrationTimingInput *
trough_week (Trough *t, gint64 deadline)
{
  trough_init (t, 7, MIDNIGHT);
  overhead_init (&t->overhead);
  input_init (&t->in, t, &t->overhead, MIDNIGHT, deadline);
  return &t->in;
}

/* Now is 00:00 and the trough is 02:00-04:00: a 4-hour deadline covers it
 * and the migration starts inside it, for a much lower cost. */
static void
test_trough_within_deadline (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput *in;
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;

  in = trough_week (&t, 4 * AMIGO_USEC_PER_HOUR);
  assert_true (amigo_migration_timing_choose (in, &r, &error));
  g_test_message ("%s", r.reason);
  assert_true (r.start_offset_usec >= 2 * AMIGO_USEC_PER_HOUR);
  assert_true (r.start_offset_usec + in->duration_usec <= 4 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (r.start_usec, MIDNIGHT + r.start_offset_usec);
  assert_true (r.cost_start < 0.5 * r.cost_now);
  assert_true (r.forecast_start[AMIGO_MIGRATION_TIMING_DIRTY_RATE] < 20.0);
  assert_true (r.forecast_now[AMIGO_MIGRATION_TIMING_DIRTY_RATE] > 60.0);
  assert_non_null (r.model);
  assert_int_equal (r.n_origins, 4);
  assert_true (g_str_has_prefix (r.reason, "starts at 02:") || g_str_has_prefix (r.reason, "starts at 03:"));
  assert_non_null (strstr (r.reason, "backtest error"));
  amigo_migration_timing_clear (&r);

  /* The dirty rate alone (no CPU history) finds the trough too: through the
   * overhead model, a lower rate is a shorter migration. */
  in->series[AMIGO_MIGRATION_TIMING_CPU] = NULL;
  assert_true (amigo_migration_timing_choose (in, &r, &error));
  assert_true (r.start_offset_usec >= 2 * AMIGO_USEC_PER_HOUR);
  assert_true (r.start_offset_usec < 4 * AMIGO_USEC_PER_HOUR);
  assert_true (isnan (r.forecast_now[AMIGO_MIGRATION_TIMING_CPU]));
  amigo_migration_timing_clear (&r);
}

/* A 1-hour deadline at 00:00 does not reach the trough: start now. */
static void
test_trough_beyond_deadline (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput *in;
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;

  in = trough_week (&t, AMIGO_USEC_PER_HOUR);
  assert_true (amigo_migration_timing_choose (in, &r, &error));
  g_test_message ("%s", r.reason);
  assert_int_equal (r.start_offset_usec, 0);
  assert_int_equal (r.start_usec, MIDNIGHT);
  assert_true (r.cost_start == r.cost_now);
  assert_non_null (strstr (r.reason, "starts now"));
  amigo_migration_timing_clear (&r);
}

static void
test_deadline_zero (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming r;

  trough_init (&t, 7, MIDNIGHT);
  input_init (&in, &t, NULL, MIDNIGHT + AMIGO_USEC_PER_HOUR, 0);
  assert_true (amigo_migration_timing_choose (&in, &r, NULL));
  assert_int_equal (r.start_offset_usec, 0);
  assert_string_equal (r.reason, "starts now: no deadline to wait within");
  assert_null (r.model);
  amigo_migration_timing_clear (&r);
}

/* 20 hours of history: no daily pattern to go by. */
static void
test_short_history (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming r;

  trough_init (&t, 1, MIDNIGHT);
  t.cpu_series.values += 4 * 12;
  t.cpu_series.n_values -= 4 * 12;
  t.cpu_series.start_usec += 4 * AMIGO_USEC_PER_HOUR;
  input_init (&in, &t, NULL, MIDNIGHT, 4 * AMIGO_USEC_PER_HOUR);
  in.series[AMIGO_MIGRATION_TIMING_DIRTY_RATE] = NULL;
  assert_true (amigo_migration_timing_choose (&in, &r, NULL));
  g_test_message ("%s", r.reason);
  assert_int_equal (r.start_offset_usec, 0);
  assert_string_equal (r.reason, "starts now: 20h of history, less than the day needed to see the daily pattern");
  amigo_migration_timing_clear (&r);
}

/* Holes everywhere (every third sample, and a 6-hour gap just before now)
 * and an all-NaN series: no crash, a start within the deadline. */
static void
test_nan_holes (void **state)
{
  static Trough t;
  static double nothing[288];
  AmigoSeries empty = { MIDNIGHT - 288 * STEP, STEP, 288, nothing };
  AmigoOverheadInput overhead;
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;

  trough_init (&t, 7, MIDNIGHT);
  for (gsize i = 0; i < t.cpu_series.n_values; i += 3)
    t.cpu[i] = t.dirty[i + 1] = NAN;
  for (gsize i = t.cpu_series.n_values - 72; i < t.cpu_series.n_values; i++)
    t.cpu[i] = t.dirty[i] = NAN;
  for (gsize i = 0; i < G_N_ELEMENTS (nothing); i++)
    nothing[i] = NAN;
  overhead_init (&overhead);
  input_init (&in, &t, &overhead, MIDNIGHT, 4 * AMIGO_USEC_PER_HOUR);
  in.series[AMIGO_MIGRATION_TIMING_NETWORK] = &empty;
  assert_true (amigo_migration_timing_choose (&in, &r, &error));
  g_test_message ("%s", r.reason);
  assert_true (r.start_offset_usec >= 0 && r.start_offset_usec <= in.deadline_usec);
  assert_true (isnan (r.forecast_now[AMIGO_MIGRATION_TIMING_NETWORK]));
  amigo_migration_timing_clear (&r);

  /* Nothing but holes: start now, and say why. */
  amigo_migration_timing_input_init (&in);
  in.series[AMIGO_MIGRATION_TIMING_CPU] = &empty;
  in.now_usec = MIDNIGHT;
  in.deadline_usec = AMIGO_USEC_PER_HOUR;
  in.duration_usec = AMIGO_USEC_PER_MIN;
  assert_true (amigo_migration_timing_choose (&in, &r, NULL));
  assert_int_equal (r.start_offset_usec, 0);
  assert_non_null (strstr (r.reason, "no history"));
  amigo_migration_timing_clear (&r);
}

/* A smooth daily wave plus heavy noise that is new every day: yesterday's
 * value (seasonal naive) carries yesterday's noise, the week's profile
 * averages it out. The backtest sees that and picks the profile; with the
 * same candidates and a day and 6 hours of history (no
 * backtest) the baseline is used. */
static void
test_choice_follows_backtest (void **state)
{
  static double cpu[7 * 288];
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  AmigoSeries series = { MIDNIGHT - 7 * AMIGO_USEC_PER_DAY, STEP, G_N_ELEMENTS (cpu), cpu };
  const char *const models[] = { "seasonal_naive", "profile", NULL };
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cpu); i++)
    cpu[i] = 2.0 + sin (2 * G_PI * (double) (i % PER_DAY) / PER_DAY) + g_rand_double_range (rand, -1.0, 1.0);
  amigo_migration_timing_input_init (&in);
  in.series[AMIGO_MIGRATION_TIMING_CPU] = &series;
  in.now_usec = MIDNIGHT;
  in.deadline_usec = 4 * AMIGO_USEC_PER_HOUR;
  in.duration_usec = 10 * AMIGO_USEC_PER_MIN;
  in.models = models;
  assert_true (amigo_migration_timing_choose (&in, &r, &error));
  g_test_message ("%s", r.reason);
  assert_int_equal (r.n_scores, 2);
  assert_string_equal (r.model, "profile");
  assert_string_equal (r.scores[0].name, "profile");
  assert_string_equal (r.scores[1].name, "seasonal_naive");
  /* Uniform noise e: E|e1 - e2| / E|e| = 4/3 before the profile's own
   * error; measured 1.24. */
  assert_true (r.scores[1].error > 1.1 * r.scores[0].error);
  amigo_migration_timing_clear (&r);

  series.values += 5 * PER_DAY + 3 * PER_DAY / 4;
  series.n_values -= 5 * PER_DAY + 3 * PER_DAY / 4;
  series.start_usec += (gint64) (5 * PER_DAY + 3 * PER_DAY / 4) * STEP;
  assert_true (amigo_migration_timing_choose (&in, &r, &error));
  assert_int_equal (r.n_origins, 0);
  assert_string_equal (r.model, "seasonal_naive");
  assert_true (isnan (r.scores[0].error));
  assert_non_null (strstr (r.reason, "no backtest"));
  amigo_migration_timing_clear (&r);
}

/* Every candidate (ARIMA and the LSTM included) runs on the trough. */
static void
test_all_candidates_scored (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput *in;
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;
  gboolean seen_lstm = FALSE, seen_arima = FALSE;

  in = trough_week (&t, 4 * AMIGO_USEC_PER_HOUR);
  assert_true (amigo_migration_timing_choose (in, &r, &error));
  assert_int_equal (r.n_scores, 4);
  for (guint i = 0; i < r.n_scores; i++) {
    assert_true (isfinite (r.scores[i].error));
    if (i > 0)
      assert_true (r.scores[i - 1].error <= r.scores[i].error);
    seen_lstm = seen_lstm || g_str_equal (r.scores[i].name, "lstm");
    seen_arima = seen_arima || g_str_equal (r.scores[i].name, "arima");
  }
  assert_true (seen_lstm && seen_arima);
  assert_string_equal (r.model, r.scores[0].name);
  amigo_migration_timing_clear (&r);
}

static gpointer
choose_in_thread (gpointer data)
{
  AmigoMigrationTiming *r = g_new0 (AmigoMigrationTiming, 1);

  g_assert (amigo_migration_timing_choose (data, r, NULL));
  return r;
}

/* Two choices at once on two threads answer exactly what one alone does:
 * no state is shared (ARIMA and the LSTM included). */
static void
test_threads_same_answer (void **state)
{
  static Trough t;
  AmigoMigrationTimingInput *in;
  AmigoMigrationTiming alone;
  GThread *threads[2];

  in = trough_week (&t, 4 * AMIGO_USEC_PER_HOUR);
  assert_true (amigo_migration_timing_choose (in, &alone, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("timing", choose_in_thread, in);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++) {
    AmigoMigrationTiming *r = g_thread_join (threads[i]);

    assert_int_equal (r->start_offset_usec, alone.start_offset_usec);
    assert_string_equal (r->reason, alone.reason);
    for (guint k = 0; k < r->n_scores; k++)
      assert_true (r->scores[k].error == alone.scores[k].error);
    amigo_migration_timing_clear (r);
    g_free (r);
  }
  amigo_migration_timing_clear (&alone);
}

static void
expect_invalid (const AmigoMigrationTimingInput *in, const char *message)
{
  AmigoMigrationTiming r;
  g_autoptr (GError) error = NULL;

  assert_false (amigo_migration_timing_choose (in, &r, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_test_message ("%s", error->message);
  assert_non_null (strstr (error->message, message));
}

static void
test_bad_input (void **state)
{
  static Trough t;
  AmigoOverheadInput overhead;
  AmigoMigrationTimingInput in;
  AmigoSeries broken;
  const char *const models[] = { "profile", "prophet", NULL };

  trough_init (&t, 2, MIDNIGHT);
  overhead_init (&overhead);
  expect_invalid (NULL, "no migration timing input");
  input_init (&in, &t, &overhead, MIDNIGHT, -1);
  expect_invalid (&in, "deadline -1 us is out of range");
  in.deadline_usec = AMIGO_USEC_PER_DAY + 1;
  expect_invalid (&in, "is out of range (0 to 24 h)");
  in.deadline_usec = AMIGO_USEC_PER_HOUR;
  in.duration_usec = 0;
  expect_invalid (&in, "predicted migration duration 0 us must be positive");
  in.duration_usec = AMIGO_USEC_PER_MIN;
  broken = t.dirty_series;
  broken.step_usec = 0;
  in.series[AMIGO_MIGRATION_TIMING_DIRTY_RATE] = &broken;
  expect_invalid (&in, "the 'dirty_rate' series has step 0 us");
  broken.step_usec = STEP;
  broken.values = NULL;
  expect_invalid (&in, "the 'dirty_rate' series has 576 samples but no values");
  in.series[AMIGO_MIGRATION_TIMING_DIRTY_RATE] = &t.dirty_series;
  in.models = models;
  expect_invalid (&in, "unknown timing model 'prophet'");
  in.models = NULL;
  overhead.link_bytes_s = 0;
  expect_invalid (&in, "overhead input: ");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_trough_within_deadline),
    cmocka_unit_test (test_trough_beyond_deadline),
    cmocka_unit_test (test_deadline_zero),
    cmocka_unit_test (test_short_history),
    cmocka_unit_test (test_nan_holes),
    cmocka_unit_test (test_choice_follows_backtest),
    cmocka_unit_test (test_all_candidates_scored),
    cmocka_unit_test (test_threads_same_answer),
    cmocka_unit_test (test_bad_input),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
