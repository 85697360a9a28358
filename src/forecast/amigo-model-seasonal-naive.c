/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "seasonal_naive": step h repeats the value one season (by default one day)
 * before it, so a forecast longer than a season repeats the last season.
 * The interval is the empirical distribution of the seasonal differences
 * x[t] - x[t - S] of the recent history, widened by sqrt(k) for steps that
 * lie k seasons ahead.
 *
 * With less than one season of history (or no seasonal difference at all)
 * the model falls back to the "last" method, says so with g_debug, and
 * amigo_model_seasonal_naive_period() tells callers which season it used.
 */
#include <math.h>

#include "amigo-error.h"
#include "amigo-free.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

/* Seasonal differences looked at for the interval: one week at 5 min. */
#define SNAIVE_INTERVAL_WINDOW 2016

typedef struct {
  AmigoModel parent;
  gsize period;
  gboolean fallback;     /* less than a season: behaves as "last" */
  double last;
  gsize n_tail;
  double *tail;          /* the last season (or, in fallback, the whole tail) */
  gsize n_diffs;
  double *diffs;         /* seasonal differences */
} AmigoModelSeasonalNaive;

gsize
amigo_model_seasonal_naive_period (const AmigoSeries *history, const AmigoModelOptions *options)
{
  gint64 steps;

  if (options != NULL && options->season > 0)
    return options->season;
  if (history == NULL || history->step_usec <= 0)
    return 1;
  steps = AMIGO_USEC_PER_DAY / history->step_usec;
  return (gsize) MAX (steps, 1);
}

static AmigoModel *
snaive_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  g_autofree AmigoModelSeasonalNaive *self = NULL;
  const double *v = history->values;
  gsize n = history->n_values;
  gsize start;

  if (!amigo_model_last_check_series (history, "seasonal_naive", NULL, error))
    return NULL;
  if (options->max_train > 0 && n > options->max_train) {
    v += n - options->max_train;
    n = options->max_train;
  }
  self = g_new0 (AmigoModelSeasonalNaive, 1);
  self->parent.klass = &amigo_model_class_seasonal_naive;
  self->period = amigo_model_seasonal_naive_period (history, options);
  self->last = amigo_model_last_value (history->values, history->n_values);

  if (n > self->period) {
    /* seasonal differences over the recent part of the history */
    start = n > SNAIVE_INTERVAL_WINDOW + self->period ? n - SNAIVE_INTERVAL_WINDOW : self->period;
    self->diffs = g_new (double, n - start);
    for (gsize t = start; t < n; t++) {
      if (!isnan (v[t]) && !isnan (v[t - self->period]))
        self->diffs[self->n_diffs++] = v[t] - v[t - self->period];
    }
  }
  if (self->n_diffs == 0) {
    g_debug ("seasonal_naive: %" G_GSIZE_FORMAT " samples, less than one season of %" G_GSIZE_FORMAT
             " plus one; falling back to the last value", n, self->period);
    self->fallback = TRUE;
    g_clear_pointer (&self->diffs, g_free);
    self->n_tail = MIN (n, (gsize) SNAIVE_INTERVAL_WINDOW);
    self->tail = g_memdup2 (v + n - self->n_tail, self->n_tail * sizeof (double));
    return (AmigoModel *) g_steal_pointer (&self);
  }

  /* Keep the last season; a missing value takes the same phase of an
   * earlier season, or the last value if no season has it. */
  self->n_tail = self->period;
  self->tail = g_new (double, self->period);
  for (gsize i = 0; i < self->period; i++) {
    gsize idx = n - self->period + i;
    double value = v[idx];

    while (isnan (value) && idx >= self->period) {
      idx -= self->period;
      value = v[idx];
    }
    self->tail[i] = isnan (value) ? self->last : value;
  }
  return (AmigoModel *) g_steal_pointer (&self);
}

static gboolean
snaive_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
                 double *ret_upper, GError **error)
{
  const AmigoModelSeasonalNaive *self = (const AmigoModelSeasonalNaive *) model;
  g_autofree double *scratch = NULL;
  double high, low;

  if (self->fallback)
    return amigo_model_last_fill (self->tail, self->n_tail, self->last, horizon, quantile,
                                  ret_mean, ret_lower, ret_upper);

  /* O(n) selection on a copy: forecast() leaves the model untouched */
  scratch = g_memdup2 (self->diffs, self->n_diffs * sizeof (double));
  amigo_model_last_quantile_pair (scratch, self->n_diffs, 1.0 - quantile, quantile, &low, &high);
  high = MAX (high, 0.0);
  low = MIN (low, 0.0);
  for (gsize h = 1; h <= horizon; h++) {
    gsize seasons_ahead = (h + self->period - 1) / self->period;
    double mean = self->tail[(h - 1) % self->period];
    double f = sqrt ((double) seasons_ahead);

    ret_mean[h - 1] = mean;
    ret_upper[h - 1] = mean + high * f;
    if (ret_lower != NULL)
      ret_lower[h - 1] = mean + low * f;
  }
  return TRUE;
}

static void
snaive_free (AmigoModel *model)
{
  AmigoModelSeasonalNaive *self = (AmigoModelSeasonalNaive *) model;

  amigo_free_fields (&self->tail, &self->diffs, NULL);
  g_free (self);
}

const AmigoModelClass amigo_model_class_seasonal_naive = {
  .name = "seasonal_naive",
  .min_history = 1,
  .fit = snaive_fit,
  .forecast = snaive_forecast,
  .free = snaive_free,
};
