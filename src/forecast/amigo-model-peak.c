/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "peak": reserve what the VM used at its busiest in the last 24 hours.
 * Flat over the horizon: upper = the maximum of the last 24 h, mean = the
 * mean of the last 24 h, lower = the minimum of the last 24 h. The quantile
 * is ignored. With less than 24 h of history the whole history is the window.
 */
#include <math.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

typedef struct {
  AmigoModel parent;
  double mean;
  double max;
  double min;
} AmigoModelPeak;

static AmigoModel *
peak_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  AmigoModelPeak *self;
  gsize n = history->n_values;
  gsize window, count = 0;
  double sum = 0.0, max = -INFINITY, min = INFINITY;

  if (!amigo_model_last_check_series (history, "peak", NULL, error))
    return NULL;
  /* samples whose time lies within 24 h of the last sample's time, the last
   * one included: ceil(24 h / step) of them */
  window = (gsize) ((AMIGO_USEC_PER_DAY + history->step_usec - 1) / history->step_usec);
  window = MIN (MAX (window, 1), n);
  for (gsize i = n - window; i < n; i++) {
    double v = history->values[i];

    if (isnan (v))
      continue;
    sum += v;
    count++;
    max = MAX (max, v);
    min = MIN (min, v);
  }
  if (count == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'peak': every sample of the last 24 hours (%" G_GSIZE_FORMAT ") is missing",
                 window);
    return NULL;
  }
  self = g_new0 (AmigoModelPeak, 1);
  self->parent.klass = &amigo_model_class_peak;
  self->mean = sum / (double) count;
  self->max = max;
  self->min = min;
  return (AmigoModel *) self;
}

static gboolean
peak_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
               double *ret_upper, GError **error)
{
  const AmigoModelPeak *self = (const AmigoModelPeak *) model;

  amigo_model_fill_flat (horizon, self->mean, self->min, self->max, ret_mean, ret_lower, ret_upper);
  return TRUE;
}

const AmigoModelClass amigo_model_class_peak = {
  .name = "peak",
  .min_history = 1,
  .fit = peak_fit,
  .forecast = peak_forecast,
  .free = amigo_model_free_struct,
};
