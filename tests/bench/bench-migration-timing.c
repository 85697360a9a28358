/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-migration-timing: what waiting for amigo's chosen start buys.
 *
 * (1) CPU time of one choice on a week of 5-minute history of all four
 *     series (CPU, network, memory, dirty rate; synthetic), every candidate
 *     backtested, deadlines 1 h, 4 h, 12 h and 24 h.
 * (2) On the Bitbrains 2013-8 traces: for every VM, origins every 23 h
 *     (so they walk through the times of day) from day 7 on, and deadlines
 *     of 1 h, 4 h and 12 h, the realised demand in the migration's window
 *     (5 minutes) at the start chosen by
 *       now      starting now,
 *       amigo    amigo_migration_timing_choose () with every candidate,
 *       profile  the same restricted to the daily profile alone,
 *       oracle   the lowest realised demand within the deadline (hindsight).
 *     Demand = mean over CPU (cores) and network (Mbit/s) of the value
 *     relative to the VM's mean over the week before the origin: what a
 *     migration disturbs on the source (the traces have no dirty rate, so the
 *     overhead model plays no part here and the duration is the same at every
 *     start). Printed per deadline: mean realised demand relative to now's
 *     (ratio of the means), the share of cases worse than now, the models
 *     chosen, and the CPU time per choice.
 *
 * Usage: bench-migration-timing [DATA_DIR]
 *   DATA_DIR defaults to the build-time ../shared/data; without it the trace
 *   part is skipped (exit 77 after part 1).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "amigo-migration-timing.h"
#include "amigo-time.h"
#include "amigo-trace.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define DAY ((gsize) (AMIGO_USEC_PER_DAY / STEP))
#define WEEK (7 * DAY)
#define ORIGIN_EVERY (23 * AMIGO_USEC_PER_HOUR / STEP)
#define DURATION_USEC (5 * AMIGO_USEC_PER_MIN)

static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---------- (1) cost of one choice ---------- */

static void
bench_cost (void)
{
  static double values[AMIGO_MIGRATION_TIMING_N_SERIES][WEEK];
  static const double level[AMIGO_MIGRATION_TIMING_N_SERIES] = { 2.0, 100.0, 8.0, 50.0 };
  const gint64 deadlines[] = { AMIGO_USEC_PER_HOUR, 4 * AMIGO_USEC_PER_HOUR, 12 * AMIGO_USEC_PER_HOUR,
                               AMIGO_USEC_PER_DAY };
  const char *const candidates[] = { "seasonal_naive", "profile", "arima", "lstm" };
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  AmigoSeries series[AMIGO_MIGRATION_TIMING_N_SERIES];
  AmigoOverheadInput overhead;
  gint64 now = G_GINT64_CONSTANT (1796083200) * AMIGO_USEC_PER_SEC;

  amigo_overhead_input_init (&overhead);
  overhead.memory_bytes = 8 * (guint64) AMIGO_BYTES_PER_GIB;
  overhead.link_bytes_s = 125e6;
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    for (gsize i = 0; i < WEEK; i++)
      values[s][i] = level[s] * (1.0 + 0.5 * sin (2 * G_PI * (double) (i % DAY) / DAY) +
                                 g_rand_double_range (rand, -0.2, 0.2));
    series[s] = (AmigoSeries) { now - (gint64) WEEK * STEP, STEP, WEEK, values[s] };
  }
  printf ("one choice, a week of 5-minute history of cpu, network, memory and dirty rate, "
          "all candidates (CPU time, 5 runs):\n");
  for (gsize d = 0; d < G_N_ELEMENTS (deadlines); d++) {
    double total = 0.0, worst = 0.0;
    AmigoMigrationTimingInput in;
    AmigoMigrationTiming r = { 0 };

    amigo_migration_timing_input_init (&in);
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      in.series[s] = &series[s];
    in.now_usec = now;
    in.deadline_usec = deadlines[d];
    in.duration_usec = 2 * AMIGO_USEC_PER_MIN;
    in.overhead = &overhead;
    for (int run = 0; run < 5; run++) {
      double t0 = cpu_ms (), ms;

      amigo_migration_timing_clear (&r);
      if (!amigo_migration_timing_choose (&in, &r, NULL))
        g_error ("choice failed");
      ms = cpu_ms () - t0;
      total += ms;
      worst = MAX (worst, ms);
    }
    printf ("  deadline %2" G_GINT64_FORMAT " h: %.1f ms mean, %.1f ms worst; %s\n",
            deadlines[d] / AMIGO_USEC_PER_HOUR, total / 5, worst, r.reason);
    amigo_migration_timing_clear (&r);
  }
  printf ("each candidate alone (backtest included), deadline 4 h:");
  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++) {
    const char *const only[] = { candidates[c], NULL };
    AmigoMigrationTimingInput in;
    AmigoMigrationTiming r;
    double t0;

    amigo_migration_timing_input_init (&in);
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      in.series[s] = &series[s];
    in.now_usec = now;
    in.deadline_usec = 4 * AMIGO_USEC_PER_HOUR;
    in.duration_usec = 2 * AMIGO_USEC_PER_MIN;
    in.overhead = &overhead;
    in.models = only;
    t0 = cpu_ms ();
    if (!amigo_migration_timing_choose (&in, &r, NULL))
      g_error ("choice failed");
    printf ("%s %s %.1f ms", c > 0 ? "," : "", candidates[c], cpu_ms () - t0);
    amigo_migration_timing_clear (&r);
  }
  printf ("\n");
}

/* ---------- (2) the traces ---------- */

typedef struct {
  double sum_now, sum_amigo, sum_profile, sum_oracle;
  guint amigo_worse, profile_worse, amigo_waited, n;
  double ms_amigo, ms_profile, ms_amigo_worst;
  GHashTable *models;
  /* per candidate (by name): sum and count of backtest errors */
  const char *cand_name[AMIGO_MIGRATION_TIMING_MAX_CANDIDATES];
  double cand_error[AMIGO_MIGRATION_TIMING_MAX_CANDIDATES];
  guint cand_n[AMIGO_MIGRATION_TIMING_MAX_CANDIDATES];
} Tally;

static void
tally_scores (Tally *t, const AmigoMigrationTiming *r)
{
  for (guint i = 0; i < r->n_scores; i++) {
    guint c = 0;

    if (!isfinite (r->scores[i].error))
      continue;
    while (c < AMIGO_MIGRATION_TIMING_MAX_CANDIDATES && t->cand_name[c] != NULL &&
           !g_str_equal (t->cand_name[c], r->scores[i].name))
      c++;
    if (c == AMIGO_MIGRATION_TIMING_MAX_CANDIDATES)
      continue;
    t->cand_name[c] = r->scores[i].name;
    t->cand_error[c] += r->scores[i].error;
    t->cand_n[c]++;
  }
}

/* Realised demand of a migration starting at @b, relative to @scale. */
static double
realised (AmigoSeries *const *actual, const double *scale, gsize b)
{
  gsize bins = (gsize) ((DURATION_USEC + STEP - 1) / STEP);
  double total = 0.0;
  guint n_res = 0;

  for (guint r = 0; r < 2; r++) {
    double sum = 0.0;
    guint n = 0;

    for (gsize i = b; i < b + bins && i < actual[r]->n_values; i++) {
      if (isfinite (actual[r]->values[i])) {
        sum += actual[r]->values[i];
        n++;
      }
    }
    if (n == 0)
      return NAN;
    total += sum / n / scale[r];
    n_res++;
  }
  return total / n_res;
}

static double
week_scale (const AmigoSeries *s, gsize origin)
{
  double sum = 0.0;
  gsize n = 0;

  for (gsize i = origin - WEEK; i < origin; i++) {
    if (isfinite (s->values[i])) {
      sum += fabs (s->values[i]);
      n++;
    }
  }
  return n > 0 && sum > 0.0 ? sum / n : 1.0;
}

static gsize
choose (AmigoSeries *const *actual, gsize origin, gint64 deadline, const char *const *models, Tally *t,
        gboolean is_amigo)
{
  AmigoSeries hist[2];
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming r;
  double t0, ms;
  gsize k;

  amigo_migration_timing_input_init (&in);
  for (guint i = 0; i < 2; i++) {
    hist[i] = (AmigoSeries) { actual[i]->start_usec + (gint64) (origin - WEEK) * STEP, STEP, WEEK,
                              actual[i]->values + origin - WEEK };
  }
  in.series[AMIGO_MIGRATION_TIMING_CPU] = &hist[0];
  in.series[AMIGO_MIGRATION_TIMING_NETWORK] = &hist[1];
  in.now_usec = actual[0]->start_usec + (gint64) origin * STEP;
  in.deadline_usec = deadline;
  in.duration_usec = DURATION_USEC;
  in.models = models;
  t0 = cpu_ms ();
  if (!amigo_migration_timing_choose (&in, &r, NULL))
    g_error ("choice failed");
  ms = cpu_ms () - t0;
  k = (gsize) (r.start_offset_usec / STEP);
  if (is_amigo) {
    t->ms_amigo += ms;
    t->ms_amigo_worst = MAX (t->ms_amigo_worst, ms);
    if (r.model != NULL) {
      guint count = GPOINTER_TO_UINT (g_hash_table_lookup (t->models, r.model));
      g_hash_table_insert (t->models, (gpointer) r.model, GUINT_TO_POINTER (count + 1));
    }
    tally_scores (t, &r);
  } else {
    t->ms_profile += ms;
  }
  amigo_migration_timing_clear (&r);
  return k;
}

static void
bench_case (AmigoSeries *const *actual, gsize origin, gint64 deadline, Tally *t)
{
  static const char *const profile_only[] = { "profile", NULL };
  double scale[2] = { week_scale (actual[0], origin), week_scale (actual[1], origin) };
  gsize k_max = (gsize) (deadline / STEP);
  double now = realised (actual, scale, origin), oracle = INFINITY, a, p;
  gsize ka, kp;

  if (!isfinite (now))
    return;
  for (gsize k = 0; k <= k_max; k++) {
    double v = realised (actual, scale, origin + k);

    if (isfinite (v))
      oracle = MIN (oracle, v);
  }
  ka = choose (actual, origin, deadline, NULL, t, TRUE);
  kp = choose (actual, origin, deadline, profile_only, t, FALSE);
  a = realised (actual, scale, origin + ka);
  p = realised (actual, scale, origin + kp);
  /* A start whose window has no sample: count it as now's (no gain). */
  a = isfinite (a) ? a : now;
  p = isfinite (p) ? p : now;
  t->sum_now += now;
  t->sum_amigo += a;
  t->sum_profile += p;
  t->sum_oracle += oracle;
  t->amigo_worse += a > now;
  t->profile_worse += p > now;
  t->amigo_waited += ka > 0;
  t->n++;
}

static int
bench_traces (const char *dir)
{
  const gint64 deadlines[] = { AMIGO_USEC_PER_HOUR, 4 * AMIGO_USEC_PER_HOUR, 12 * AMIGO_USEC_PER_HOUR };
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) traces = g_ptr_array_new_with_free_func ((GDestroyNotify) amigo_trace_free);
  Tally tally[G_N_ELEMENTS (deadlines)] = { { 0 } };
  double t_start = cpu_ms ();

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR) || !amigo_trace_collect_files (dir, files, NULL) ||
      files->len == 0) {
    printf ("\nno traces in '%s': trace part skipped\n", dir);
    return 77;
  }
  for (guint f = 0; f < files->len; f++) {
    g_autoptr (GError) error = NULL;
    AmigoTrace *trace = amigo_trace_load (files->pdata[f], &error);

    if (trace == NULL || trace->values[AMIGO_RESOURCE_CPU] == NULL ||
        trace->values[AMIGO_RESOURCE_NETWORK] == NULL || trace->step_usec != STEP) {
      g_printerr ("skipping '%s': %s\n", (char *) files->pdata[f],
                  error != NULL ? error->message : "no CPU or network on a 5-minute grid");
      if (trace != NULL)
        amigo_trace_free (trace);
      continue;
    }
    g_ptr_array_add (traces, trace);
  }
  for (gsize d = 0; d < G_N_ELEMENTS (deadlines); d++)
    tally[d].models = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint v = 0; v < traces->len; v++) {
    AmigoTrace *trace = traces->pdata[v];
    AmigoSeries cpu, net;
    AmigoSeries *actual[2] = { &cpu, &net };

    amigo_trace_get_series (trace, AMIGO_RESOURCE_CPU, &cpu);
    amigo_trace_get_series (trace, AMIGO_RESOURCE_NETWORK, &net);
    for (gsize origin = WEEK; origin + (gsize) (12 * AMIGO_USEC_PER_HOUR / STEP) + 1 < trace->n_values;
         origin += ORIGIN_EVERY)
      for (gsize d = 0; d < G_N_ELEMENTS (deadlines); d++)
        bench_case (actual, origin, deadlines[d], &tally[d]);
  }

  printf ("\nBitbrains (%s): %u VMs, origins every 23 h from day 7, a 5-minute migration; "
          "demand = mean of CPU and network relative to the VM's week mean\n", dir, traces->len);
  printf ("| deadline | cases | amigo / now | profile / now | oracle / now | amigo worse than now | "
          "profile worse | amigo waited | CPU ms per choice (amigo, profile) | models chosen |\n");
  printf ("|---|---|---|---|---|---|---|---|---|---|\n");
  for (gsize d = 0; d < G_N_ELEMENTS (deadlines); d++) {
    Tally *t = &tally[d];
    g_autoptr (GString) models = g_string_new (NULL);
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, t->models);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_string_append_printf (models, "%s%s %u", models->len > 0 ? ", " : "", (char *) key,
                              GPOINTER_TO_UINT (value));
    printf ("| %" G_GINT64_FORMAT " h | %u | %.3f | %.3f | %.3f | %.1f %% | %.1f %% | %.1f %% | %.1f (worst %.0f), %.2f | %s |\n",
            deadlines[d] / AMIGO_USEC_PER_HOUR, t->n, t->sum_amigo / t->sum_now, t->sum_profile / t->sum_now,
            t->sum_oracle / t->sum_now, 100.0 * t->amigo_worse / t->n, 100.0 * t->profile_worse / t->n,
            100.0 * t->amigo_waited / t->n, t->ms_amigo / t->n, t->ms_amigo_worst, t->ms_profile / t->n,
            models->str);
    g_hash_table_unref (t->models);
  }
  printf ("mean backtest error (mean absolute error / series mean) over the cases:\n");
  for (gsize d = 0; d < G_N_ELEMENTS (deadlines); d++) {
    printf ("  %2" G_GINT64_FORMAT " h:", deadlines[d] / AMIGO_USEC_PER_HOUR);
    for (guint c = 0; c < AMIGO_MIGRATION_TIMING_MAX_CANDIDATES && tally[d].cand_name[c] != NULL; c++)
      printf ("%s %s %.3f (%u)", c > 0 ? "," : "", tally[d].cand_name[c],
              tally[d].cand_error[c] / tally[d].cand_n[c], tally[d].cand_n[c]);
    printf ("\n");
  }
  printf ("trace part: %.1f s CPU\n", (cpu_ms () - t_start) / 1e3);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = g_build_filename (argc > 1 ? argv[1] : AMIGO_SHARED_DATA, "bitbrains-rnd", "2013-8", NULL);

  printf ("command:");
  for (int i = 0; i < argc; i++)
    printf (" %s", argv[i]);
  printf ("\n");
  bench_cost ();
  return bench_traces (dir);
}
