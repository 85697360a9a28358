/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When a migration that may wait should start: the cost of starting at each
 * step within the deadline, along the forecast chosen by backtest
 * (amigo-migration-timing-forecast.c), and the sentence that says why.
 *
 * Cost of a start s = T(s) x (1 + demand(s)), in seconds:
 * - T(s) is the plan's predicted duration, scaled by the overhead model's
 *   ratio of its duration with the dirty rate and memory forecast at s to
 *   its duration with those forecast at now (a lower dirty rate is a shorter
 *   migration that sends less);
 * - demand(s) is the mean, over the demand series (CPU and network; the
 *   dirty rate too when no overhead model is given), of the forecast over
 *   [s, s + T(s)) relative to that series' own mean over the history.
 * The 1 counts the migration itself (link, destination CPU) as much as
 * disturbing the guest at its usual load: an idle guest's migration still
 * costs its duration, a busy one's costs more.
 */
#include "amigo-migration-timing-private.h"

#include <math.h>

#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-time.h"

typedef struct {
  const char *name;   /* in error messages */
  const char *label;  /* in the reason */
  const char *unit;
  gboolean demand;    /* disturbed by a migration */
} TimingSeriesInfo;

/* In the order the reason lists them. */
static const TimingSeriesInfo timing_series_info[AMIGO_MIGRATION_TIMING_N_SERIES] = {
  [AMIGO_MIGRATION_TIMING_CPU] = { "cpu", "cpu", "cores", TRUE },
  [AMIGO_MIGRATION_TIMING_NETWORK] = { "network", "network", "Mbit/s", TRUE },
  [AMIGO_MIGRATION_TIMING_MEMORY] = { "memory", "memory", "GiB", FALSE },
  [AMIGO_MIGRATION_TIMING_DIRTY_RATE] = { "dirty_rate", "dirty rate", "MiB/s", FALSE },
};
static const AmigoMigrationTimingSeries timing_reason_order[] = {
  AMIGO_MIGRATION_TIMING_DIRTY_RATE, AMIGO_MIGRATION_TIMING_CPU,
  AMIGO_MIGRATION_TIMING_NETWORK, AMIGO_MIGRATION_TIMING_MEMORY,
};

void
amigo_migration_timing_input_init (AmigoMigrationTimingInput *input)
{
  *input = (AmigoMigrationTimingInput) { 0 };
}

void
amigo_migration_timing_clear (AmigoMigrationTiming *timing)
{
  if (timing == NULL)
    return;
  g_clear_pointer (&timing->reason, g_free);
}

static gboolean
timing_validate (const AmigoMigrationTimingInput *input, GError **error)
{
  if (input == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no migration timing input");
    return FALSE;
  }
  if (input->deadline_usec < 0 || input->deadline_usec > AMIGO_MIGRATION_TIMING_MAX_DEADLINE_USEC) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "deadline %" G_GINT64_FORMAT " us is out of range (0 to 24 h)", input->deadline_usec);
    return FALSE;
  }
  if (input->duration_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "predicted migration duration %" G_GINT64_FORMAT " us must be positive", input->duration_usec);
    return FALSE;
  }
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    const AmigoSeries *series = input->series[s];

    if (series == NULL || series->n_values == 0)
      continue;
    if (series->step_usec <= 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "the '%s' series has step %" G_GINT64_FORMAT " us, must be positive",
                   timing_series_info[s].name, series->step_usec);
      return FALSE;
    }
    if (series->values == NULL) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "the '%s' series has %" G_GSIZE_FORMAT " samples but no values",
                   timing_series_info[s].name, series->n_values);
      return FALSE;
    }
  }
  for (guint i = 0; input->models != NULL && input->models[i] != NULL; i++) {
    if (!amigo_timing_candidate_exists (input->models[i])) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "unknown timing model '%s' (known: seasonal_naive, profile, arima, lstm)",
                   input->models[i]);
      return FALSE;
    }
  }
  if (input->overhead != NULL) {
    AmigoOverheadEstimate est;

    if (!amigo_overhead_estimate (input->overhead, input->calibration, &est, error)) {
      g_prefix_error (error, "overhead input: ");
      return FALSE;
    }
  }
  return TRUE;
}

/* ---------- the cost along the forecast ---------- */

typedef struct {
  const AmigoMigrationTimingInput *input;
  const AmigoTimingGrid *grid;
  double *forecast[AMIGO_MIGRATION_TIMING_N_SERIES];
  gsize horizon;
  gsize plan_bins;           /* the plan's duration in bins */
  double base_duration_usec; /* overhead model's duration at now, or 0 */
} TimingCost;

static double
timing_mean (const double *f, gsize from, gsize to)
{
  double sum = 0.0;

  for (gsize h = from; h < to; h++)
    sum += f[h];
  return to > from ? sum / (to - from) : 0.0;
}

/* The overhead model's duration for a start at bin @k, or 0 without one. */
static double
timing_overhead_duration (const TimingCost *tc, gsize k)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate est;
  const double *dirty = tc->forecast[AMIGO_MIGRATION_TIMING_DIRTY_RATE];
  const double *memory = tc->forecast[AMIGO_MIGRATION_TIMING_MEMORY];

  if (tc->input->overhead == NULL || (dirty == NULL && memory == NULL))
    return 0.0;
  in = *tc->input->overhead;
  if (dirty != NULL) {
    in.dirty_rate_bytes_s = timing_mean (dirty, k, MIN (k + tc->plan_bins, tc->horizon)) * AMIGO_BYTES_PER_MIB;
    in.dirty_rate_unknown = FALSE;
  }
  if (memory != NULL)
    in.memory_bytes = MAX ((guint64) (memory[k] * AMIGO_BYTES_PER_GIB), 1);
  if (!amigo_overhead_estimate (&in, tc->input->calibration, &est, NULL))
    return 0.0;
  return (double) est.duration_usec;
}

static double
timing_cost (const TimingCost *tc, gsize k)
{
  double duration = (double) tc->input->duration_usec, demand = 0.0;
  double overhead = timing_overhead_duration (tc, k);
  gsize bins, end;
  guint n = 0;

  if (overhead > 0.0 && tc->base_duration_usec > 0.0)
    duration *= overhead / tc->base_duration_usec;
  bins = MAX ((gsize) ceil (duration / tc->grid->step_usec), 1);
  end = MIN (k + bins, tc->horizon);
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    gboolean is_demand = timing_series_info[s].demand ||
                         (s == AMIGO_MIGRATION_TIMING_DIRTY_RATE && tc->input->overhead == NULL);

    if (tc->forecast[s] == NULL || !is_demand)
      continue;
    demand += timing_mean (tc->forecast[s], k, end) / tc->grid->scale[s];
    n++;
  }
  return duration / AMIGO_USEC_PER_SEC * (1.0 + (n > 0 ? demand / n : 0.0));
}

/* ---------- the reason ---------- */

static void
timing_append_values (GString *out, const AmigoMigrationTiming *r, gboolean moved)
{
  gboolean first = TRUE;

  for (gsize i = 0; i < G_N_ELEMENTS (timing_reason_order); i++) {
    AmigoMigrationTimingSeries s = timing_reason_order[i];

    if (isnan (r->forecast_now[s]))
      continue;
    g_string_append (out, first ? " " : ", ");
    if (moved)
      g_string_append_printf (out, "%s %.3g %s vs %.3g now", timing_series_info[s].label,
                              r->forecast_start[s], timing_series_info[s].unit, r->forecast_now[s]);
    else
      g_string_append_printf (out, "%s %.3g %s now", timing_series_info[s].label,
                              r->forecast_now[s], timing_series_info[s].unit);
    first = FALSE;
  }
}

static void
timing_append_backtest (GString *out, const AmigoMigrationTiming *r, gsize horizon_usec)
{
  g_autofree char *ahead = amigo_duration_format_rounded ((gint64) horizon_usec, 2);

  if (r->n_origins == 0) {
    g_string_append_printf (out, "; no backtest (too little history to score %s ahead at 2 origins), "
                            "%s used", ahead, r->model);
    return;
  }
  g_string_append (out, "; backtest error");
  for (guint i = 0; i < r->n_scores; i++)
    g_string_append_printf (out, "%s %s %.3f", i == 0 ? "" : ",", r->scores[i].name, r->scores[i].error);
  g_string_append_printf (out, " (mean absolute error / series mean, %u origins, %s ahead)", r->n_origins, ahead);
}

static char *
timing_clock (gint64 usec)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (usec / AMIGO_USEC_PER_SEC);

  return dt != NULL ? g_date_time_format (dt, "%H:%M UTC") : g_strdup ("?");
}

/* ---------- the choice ---------- */

static void
timing_choose_along (const AmigoMigrationTimingInput *input, TimingCost *tc, gsize k_max, AmigoMigrationTiming *r)
{
  g_autoptr (GString) reason = g_string_new (NULL);
  g_autofree char *within = amigo_duration_format_rounded (input->deadline_usec, 2);
  gsize best = 0;
  double best_cost, gain;

  tc->base_duration_usec = timing_overhead_duration (tc, 0);
  r->cost_now = best_cost = timing_cost (tc, 0);
  for (gsize k = 1; k <= k_max; k++) {
    double c = timing_cost (tc, k);

    if (c < best_cost) {
      best_cost = c;
      best = k;
    }
  }
  gain = r->cost_now > 0.0 ? 1.0 - best_cost / r->cost_now : 0.0;
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    if (tc->forecast[s] == NULL)
      continue;
    r->forecast_now[s] = tc->forecast[s][0];
    r->forecast_start[s] = tc->forecast[s][best];
  }

  if (best > 0 && gain >= AMIGO_MIGRATION_TIMING_MIN_GAIN) {
    g_autofree char *clock = NULL;
    g_autofree char *in = NULL;

    r->start_offset_usec = (gint64) best * tc->grid->step_usec;
    r->cost_start = best_cost;
    clock = timing_clock (input->now_usec + r->start_offset_usec);
    in = amigo_duration_format_rounded (r->start_offset_usec, 2);
    g_string_printf (reason, "starts at %s (in %s): %s forecasts", clock, in, r->model);
    timing_append_values (reason, r, TRUE);
    g_string_append_printf (reason, ", a cost %.0f%% lower", 100.0 * gain);
  } else if (best > 0) {
    g_autofree char *clock = timing_clock (input->now_usec + (gint64) best * tc->grid->step_usec);
    g_autofree char *in = amigo_duration_format_rounded ((gint64) best * tc->grid->step_usec, 2);

    r->cost_start = r->cost_now;
    g_string_printf (reason, "starts now: the lowest cost %s forecasts within %s (at %s, in %s) is only "
                     "%.0f%% below now's, less than the %.0f%% worth waiting for;",
                     r->model, within, clock, in, 100.0 * gain, 100.0 * AMIGO_MIGRATION_TIMING_MIN_GAIN);
    timing_append_values (reason, r, FALSE);
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      r->forecast_start[s] = r->forecast_now[s];
  } else {
    r->cost_start = r->cost_now;
    g_string_printf (reason, "starts now: %s forecasts no lower cost within %s;", r->model, within);
    timing_append_values (reason, r, FALSE);
  }
  timing_append_backtest (reason, r, tc->horizon * tc->grid->step_usec);
  r->start_usec = input->now_usec + r->start_offset_usec;
  r->reason = g_string_free (g_steal_pointer (&reason), FALSE);
}

gboolean
amigo_migration_timing_choose (const AmigoMigrationTimingInput *input,
                               AmigoMigrationTiming *ret,
                               GError **error)
{
  AmigoMigrationTiming r = { 0 };
  AmigoTimingGrid grid;
  TimingCost tc = { 0 };
  gsize k_max;
  gint64 history_usec;
  g_autoptr (GError) local = NULL;

  if (!timing_validate (input, error))
    return FALSE;
  r.start_usec = input->now_usec;
  r.cost_now = r.cost_start = NAN;
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
    r.forecast_now[s] = r.forecast_start[s] = NAN;
  if (input->deadline_usec == 0) {
    r.reason = g_strdup ("starts now: no deadline to wait within");
    *ret = r;
    return TRUE;
  }

  amigo_timing_grid_build (input, &grid);
  history_usec = (gint64) (grid.n_bins - grid.first_valid) * grid.step_usec;
  if (grid.first_valid >= grid.n_bins) {
    r.reason = g_strdup ("starts now: no history of CPU, network, memory or dirty rate to forecast");
  } else if (history_usec < AMIGO_MIGRATION_TIMING_MIN_HISTORY_USEC) {
    g_autofree char *have = amigo_duration_format_rounded (history_usec, 2);

    r.reason = g_strdup_printf ("starts now: %s of history, less than the day needed to see "
                                "the daily pattern", have);
  } else {
    /* Starts at bins 0..k_max; the forecast covers the last start's
     * migration at the plan's duration (at most a day). */
    k_max = (gsize) (input->deadline_usec / grid.step_usec);
    tc.input = input;
    tc.grid = &grid;
    tc.plan_bins = MIN (MAX ((gsize) ((input->duration_usec + grid.step_usec - 1) / grid.step_usec), 1),
                        grid.period);
    tc.horizon = k_max + tc.plan_bins;
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      if (amigo_timing_grid_has (&grid, s))
        tc.forecast[s] = g_new (double, tc.horizon);
    if (amigo_timing_forecast (&grid, input->models, tc.horizon, input->seed, tc.forecast, &r, &local))
      timing_choose_along (input, &tc, k_max, &r);
    else
      r.reason = g_strdup_printf ("starts now: no forecast (%s)", local->message);
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      g_free (tc.forecast[s]);
  }
  amigo_timing_grid_clear (&grid);
  *ret = r;
  return TRUE;
}
