/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The forecast behind the migration's start: the VM's series averaged onto
 * one grid, the daily profile, and the candidates (a table) chosen per VM by
 * a rolling-origin backtest over the horizon the choice needs.
 */
#include "amigo-migration-timing-private.h"

#include <math.h>

#include "amigo/amigo-model.h"
#include "amigo-error.h"
#include "amigo-time.h"

/* Backtest origins: enough to average out one odd day, few enough that
 * refitting ARIMA at each stays cheap. */
#define TIMING_ORIGINS 4
/* Origins lie at least this far apart, so that short horizons are scored at
 * several times of day, not only over the last hours. */
#define TIMING_ORIGIN_SPACING_USEC (6 * AMIGO_USEC_PER_HOUR)
/* The daily profile is smoothed over this much either side of each time of
 * day: a job that starts at 02:00 one day and 02:05 the next is one low. */
#define TIMING_PROFILE_HALF_WIDTH_USEC (10 * AMIGO_USEC_PER_MIN)

/**
 * TimingCandidate:
 * @name: what the result and the reason call it.
 * @model_class: the registered model class (amigo-model.h) that forecasts
 *   the series, or NULL for none (the daily profile alone).
 * @deseasonalise: the model sees the series minus its daily profile and the
 *   profile is added back to its forecast. ARIMA's own seasonal handling
 *   removes a profile only when the seasonality is strong and two days
 *   exist, and the LSTM's phase inputs need more training than this use
 *   affords; removing the profile first gives both the daily pattern from
 *   the first day and leaves them the deviation from it.
 * @epochs: training passes of a model that trains (0: its default).
 * @thin: each pass uses 1/@thin of the training windows (0: all).
 * @max_train_usec: the model reads at most this much history (0: all).
 *
 * A model class with an update operation and a costly fit (the LSTM) is
 * trained once, before the first backtest origin, and moved to each later
 * origin and to now without training: its backtest stays out of sample and
 * its cost is one bounded training per series. The others are refitted at
 * each origin.
 */
typedef struct {
  const char *name;
  const char *model_class;
  gboolean deseasonalise;
  guint epochs;
  guint thin;
  gint64 max_train_usec;
} TimingCandidate;

/* The baseline first: it is what is used when the history is too short to
 * backtest, and it wins ties. LSTM: 4 passes over a random half of a week's
 * windows, a quarter of the registry default's training (8 passes over all
 * of them, ~250 ms of CPU on a week), so that four series together cost
 * about one default training and the whole choice stays well under a
 * second. Less is not worth having: with 1/37 of the default (2 passes over
 * a quarter of three days) the LSTM's backtest error on the Bitbrains bench
 * was 1.17x the seasonal naive's, with a quarter 0.99x, with all of it
 * 0.95x (docs/migration-timing.md). ARIMA: two days, refitted per origin. */
static const TimingCandidate timing_candidates[] = {
  { "seasonal_naive", "seasonal_naive", FALSE, 0, 0, 0 },
  { "profile", NULL, TRUE, 0, 0, 0 },
  { "arima", "arima", TRUE, 0, 0, 2 * AMIGO_USEC_PER_DAY },
  { "lstm", "lstm", TRUE, 4, 2, 7 * AMIGO_USEC_PER_DAY },
};
G_STATIC_ASSERT (G_N_ELEMENTS (timing_candidates) <= AMIGO_MIGRATION_TIMING_MAX_CANDIDATES);

/* Resource each series is forecast as (only VPA-like models care). */
static const AmigoResource timing_series_resource[AMIGO_MIGRATION_TIMING_N_SERIES] = {
  [AMIGO_MIGRATION_TIMING_CPU] = AMIGO_RESOURCE_CPU,
  [AMIGO_MIGRATION_TIMING_NETWORK] = AMIGO_RESOURCE_NETWORK,
  [AMIGO_MIGRATION_TIMING_MEMORY] = AMIGO_RESOURCE_MEMORY,
  [AMIGO_MIGRATION_TIMING_DIRTY_RATE] = AMIGO_RESOURCE_CPU,
};

/* ---------- the grid ---------- */

static gint64
timing_grid_step (const AmigoMigrationTimingInput *input)
{
  gint64 widest = 0, step;

  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
    if (input->series[s] != NULL && input->series[s]->n_values > 0)
      widest = MAX (widest, input->series[s]->step_usec);
  for (step = AMIGO_TIMING_BASE_STEP_USEC; step < AMIGO_USEC_PER_DAY; step += AMIGO_TIMING_BASE_STEP_USEC)
    if (step >= widest && AMIGO_USEC_PER_DAY % step == 0)
      return step;
  return AMIGO_USEC_PER_DAY;
}

/* Bins [g0, now) of @series averaged into @ret (NAN where no sample). */
static gboolean
timing_grid_fill (const AmigoSeries *series, gint64 g0, gint64 step, gsize n_bins, double *ret)
{
  g_autofree guint *count = g_new0 (guint, n_bins);
  gint64 end = g0 + (gint64) n_bins * step;
  gsize first = 0;
  gboolean any = FALSE;

  for (gsize b = 0; b < n_bins; b++)
    ret[b] = 0.0;
  if (series->start_usec < g0)
    first = (gsize) ((g0 - series->start_usec + series->step_usec - 1) / series->step_usec);
  for (gsize i = first; i < series->n_values; i++) {
    gint64 t = series->start_usec + (gint64) i * series->step_usec;
    gsize b;

    if (t >= end)
      break;
    if (t < g0 || !isfinite (series->values[i]))
      continue;
    b = (gsize) ((t - g0) / step);
    ret[b] += series->values[i];
    count[b]++;
  }
  for (gsize b = 0; b < n_bins; b++) {
    ret[b] = count[b] > 0 ? ret[b] / count[b] : NAN;
    any = any || count[b] > 0;
  }
  return any;
}

void
amigo_timing_grid_build (const AmigoMigrationTimingInput *input, AmigoTimingGrid *ret)
{
  gint64 earliest = input->now_usec, span;

  *ret = (AmigoTimingGrid) { 0 };
  ret->step_usec = timing_grid_step (input);
  ret->period = (gsize) (AMIGO_USEC_PER_DAY / ret->step_usec);
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
    if (input->series[s] != NULL && input->series[s]->n_values > 0)
      earliest = MIN (earliest, input->series[s]->start_usec);
  span = MIN (input->now_usec - earliest, AMIGO_TIMING_MAX_HISTORY_USEC);
  ret->n_bins = (gsize) ((span + ret->step_usec - 1) / ret->step_usec);
  ret->start_usec = input->now_usec - (gint64) ret->n_bins * ret->step_usec;
  ret->first_valid = ret->n_bins;
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    g_autofree double *values = NULL;
    double sum = 0.0;
    gsize n = 0;

    ret->scale[s] = 1.0;
    if (ret->n_bins == 0 || input->series[s] == NULL || input->series[s]->n_values == 0)
      continue;
    values = g_new (double, ret->n_bins);
    if (!timing_grid_fill (input->series[s], ret->start_usec, ret->step_usec, ret->n_bins, values))
      continue;
    for (gsize b = 0; b < ret->n_bins; b++) {
      if (!isfinite (values[b]))
        continue;
      ret->first_valid = MIN (ret->first_valid, b);
      sum += fabs (values[b]);
      n++;
    }
    if (sum > 0.0)
      ret->scale[s] = sum / n;
    ret->values[s] = g_steal_pointer (&values);
  }
}

void
amigo_timing_grid_clear (AmigoTimingGrid *grid)
{
  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
    g_clear_pointer (&grid->values[s], g_free);
}

gboolean
amigo_timing_grid_has (const AmigoTimingGrid *grid, AmigoMigrationTimingSeries series)
{
  return grid->values[series] != NULL;
}

/* ---------- the daily profile ---------- */

/* Mean of x[0..o) at each time of day, pooled over the neighbouring times
 * of day within the half width; a time of day never seen takes the mean. */
static void
timing_profile (const AmigoTimingGrid *grid, const double *x, gsize o, double *ret_profile)
{
  gsize period = grid->period;
  gsize half = MIN ((gsize) (TIMING_PROFILE_HALF_WIDTH_USEC / grid->step_usec), (period - 1) / 2);
  g_autofree double *sum = g_new0 (double, period);
  g_autofree guint *count = g_new0 (guint, period);
  double total = 0.0;
  guint n = 0;

  for (gsize i = 0; i < o; i++) {
    if (!isfinite (x[i]))
      continue;
    sum[i % period] += x[i];
    count[i % period]++;
    total += x[i];
    n++;
  }
  for (gsize slot = 0; slot < period; slot++) {
    double s = 0.0;
    guint c = 0;

    for (gsize j = 0; j <= 2 * half; j++) {
      gsize k = (slot + period - half + j) % period;
      s += sum[k];
      c += count[k];
    }
    ret_profile[slot] = c > 0 ? s / c : (n > 0 ? total / n : 0.0);
  }
}

/* ---------- one candidate's forecast ---------- */

gboolean
amigo_timing_candidate_exists (const char *name)
{
  for (gsize c = 0; c < G_N_ELEMENTS (timing_candidates); c++)
    if (g_strcmp0 (timing_candidates[c].name, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
timing_candidate_allowed (const TimingCandidate *cand, const char *const *models)
{
  return models == NULL || g_strv_contains (models, cand->name);
}

/* Forecast of x[o..o + horizon) from x[0..o) by @cand into @ret.
 * @trained holds the candidate's model for this series across origins. */
static gboolean
timing_candidate_forecast (const TimingCandidate *cand,
                           const AmigoTimingGrid *grid,
                           AmigoMigrationTimingSeries series,
                           gsize o,
                           gsize horizon,
                           guint64 seed,
                           AmigoModel **trained,
                           double *ret,
                           GError **error)
{
  const double *x = grid->values[series];
  g_autofree double *profile = NULL;
  g_autofree double *residual = NULL;
  const double *input = x;

  for (gsize h = 0; h < horizon; h++)
    ret[h] = 0.0;
  if (cand->deseasonalise) {
    profile = g_new (double, grid->period);
    residual = g_new (double, o);
    timing_profile (grid, x, o, profile);
    for (gsize i = 0; i < o; i++)
      residual[i] = x[i] - profile[i % grid->period];
    input = residual;
  }
  if (cand->model_class != NULL) {
    const AmigoModelClass *klass = amigo_model_class_lookup (cand->model_class);
    AmigoSeries history = { grid->start_usec, grid->step_usec, o, input };
    AmigoModelOptions options = {
      .resource = timing_series_resource[series],
      .seed = seed,
      .max_train = (gsize) (cand->max_train_usec / grid->step_usec),
      .epochs = cand->epochs,
      .thin = cand->thin,
    };
    gboolean train_once;
    g_autoptr (AmigoModel) model = NULL;
    g_autofree double *upper = g_new (double, horizon);

    if (klass == NULL) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                   "model '%s' is not built in", cand->model_class);
      return FALSE;
    }
    train_once = klass->update != NULL && klass->costly_fit;
    if (train_once && *trained != NULL)
      model = amigo_model_update (*trained, &history, error);
    else
      model = amigo_model_fit (klass, &history, &options, error);
    if (model == NULL ||
        !amigo_model_forecast (model, horizon, 0.9, ret, NULL, upper, error))
      return FALSE;
    if (train_once && *trained == NULL)
      *trained = g_steal_pointer (&model);
  }
  for (gsize h = 0; h < horizon; h++) {
    if (profile != NULL)
      ret[h] += profile[(o + h) % grid->period];
    /* Every series here is a rate or an amount: never below 0. */
    ret[h] = MAX (ret[h], 0.0);
  }
  return TRUE;
}

/* ---------- backtest and choice ---------- */

/* Origins (ascending) with a day of history before them and the horizon
 * known after them; returns their count. */
static guint
timing_origins (const AmigoTimingGrid *grid, gsize horizon, gsize *ret_origins)
{
  gsize spacing = MAX (horizon, (gsize) (TIMING_ORIGIN_SPACING_USEC / grid->step_usec));
  guint n = 0;

  for (guint j = 0; j < TIMING_ORIGINS; j++) {
    gsize back = horizon + j * spacing;

    if (back > grid->n_bins || grid->n_bins - back < grid->first_valid + grid->period)
      break;
    n++;
  }
  for (guint j = 0; j < n; j++)
    ret_origins[j] = grid->n_bins - horizon - (n - 1 - j) * spacing;
  return n;
}

/* Scaled MAE of @cand over the origins, NAN when a forecast failed. */
static double
timing_backtest (const TimingCandidate *cand,
                 const AmigoTimingGrid *grid,
                 const gsize *origins,
                 guint n_origins,
                 gsize horizon,
                 guint64 seed,
                 AmigoModel **trained)
{
  g_autofree double *f = g_new (double, horizon);
  double total = 0.0;
  guint n_series = 0;

  for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++) {
    const double *x = grid->values[s];
    double err = 0.0;
    gsize n = 0;

    if (x == NULL)
      continue;
    for (guint j = 0; j < n_origins; j++) {
      g_autoptr (GError) local = NULL;

      if (!timing_candidate_forecast (cand, grid, s, origins[j], horizon, seed, &trained[s], f, &local)) {
        g_debug ("migration timing: '%s' left out of the backtest: %s", cand->name, local->message);
        return NAN;
      }
      for (gsize h = 0; h < horizon; h++) {
        if (!isfinite (x[origins[j] + h]))
          continue;
        err += fabs (f[h] - x[origins[j] + h]);
        n++;
      }
    }
    if (n == 0)
      continue;
    total += err / n / grid->scale[s];
    n_series++;
  }
  return n_series > 0 ? total / n_series : NAN;
}

gboolean
amigo_timing_forecast (const AmigoTimingGrid *grid,
                       const char *const *models,
                       gsize horizon,
                       guint64 seed,
                       double *ret_forecast[AMIGO_MIGRATION_TIMING_N_SERIES],
                       AmigoMigrationTiming *ret,
                       GError **error)
{
  enum { N_CAND = G_N_ELEMENTS (timing_candidates) };
  AmigoModel *trained[N_CAND][AMIGO_MIGRATION_TIMING_N_SERIES] = { { NULL } };
  gsize origins[TIMING_ORIGINS];
  guint n_origins = timing_origins (grid, horizon, origins);
  guint order[N_CAND], n_order = 0;
  gboolean ok = FALSE;
  g_autoptr (GError) last_error = NULL;

  ret->n_origins = n_origins >= 2 ? n_origins : 0;
  ret->n_scores = 0;
  for (guint c = 0; c < N_CAND; c++) {
    double score = NAN;

    if (!timing_candidate_allowed (&timing_candidates[c], models))
      continue;
    if (ret->n_origins > 0)
      score = timing_backtest (&timing_candidates[c], grid, origins, n_origins, horizon, seed, trained[c]);
    ret->scores[ret->n_scores++] = (AmigoMigrationTimingScore) { timing_candidates[c].name, score };
    order[n_order++] = c;
  }
  /* Rank by backtest error (stable: table order breaks ties and, with no
   * backtest, keeps the baseline first); failed candidates go last. */
  for (guint i = 1; i < n_order; i++) {
    for (guint j = i; j > 0; j--) {
      double a = ret->scores[j - 1].error, b = ret->scores[j].error;
      AmigoMigrationTimingScore tmp;
      guint t;

      if (!(isnan (a) && !isnan (b)) && !(b < a))
        break;
      tmp = ret->scores[j - 1], ret->scores[j - 1] = ret->scores[j], ret->scores[j] = tmp;
      t = order[j - 1], order[j - 1] = order[j], order[j] = t;
    }
  }
  for (guint i = 0; i < n_order && !ok; i++) {
    const TimingCandidate *cand = &timing_candidates[order[i]];

    if (ret->n_origins > 0 && isnan (ret->scores[i].error))
      continue;
    ok = TRUE;
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES && ok; s++) {
      if (grid->values[s] == NULL)
        continue;
      g_clear_error (&last_error);
      ok = timing_candidate_forecast (cand, grid, s, grid->n_bins, horizon, seed,
                                      &trained[order[i]][s], ret_forecast[s], &last_error);
    }
    if (ok)
      ret->model = cand->name;
  }
  for (guint c = 0; c < N_CAND; c++)
    for (guint s = 0; s < AMIGO_MIGRATION_TIMING_N_SERIES; s++)
      amigo_model_free (trained[c][s]);
  if (!ok) {
    if (last_error != NULL)
      g_propagate_prefixed_error (error, g_steal_pointer (&last_error), "no candidate could forecast: ");
    else
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no candidate model allowed");
  }
  return ok;
}
