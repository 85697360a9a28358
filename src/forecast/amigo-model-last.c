/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "last": the naive forecaster. Every future step is the last non-missing
 * value; the interval of step h comes from the empirical distribution of the
 * h-step changes x[t + h] - x[t] seen in the (recent) history, so the upper
 * bound says how far the series has climbed in h steps before.
 *
 * Also home of the small helpers the other baselines share (quantile by
 * selection, the NaN-aware scan of a series), declared in
 * amigo-model-private.h.
 */
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-stats.h"

/* The interval looks at no more than this many recent samples: 3.5 days at
 * 5 min. It keeps forecast() O(horizon * 1008) whatever the history length. */
#define LAST_INTERVAL_WINDOW 1008

typedef struct {
  AmigoModel parent;
  double last;
  gsize n_tail;
  double *tail; /* the last n_tail samples (NAN kept), for the intervals */
} AmigoModelLast;

/* The @quantile quantile of values[0..n) by linear interpolation between
 * order statistics (Hyndman & Fan type 7), given that every value outside
 * [from, n) is <= the ones inside (as amigo_kth_smallest() leaves them). */
static double
quantile_in (double *values, gsize from, gsize n, double quantile)
{
  double pos = CLAMP (quantile, 0.0, 1.0) * (double) (n - 1);
  gsize k = (gsize) floor (pos);
  double frac = pos - (double) k, above;

  k = MAX (k, from);
  amigo_kth_smallest (values + from, n - from, k - from);
  if (frac <= 0.0 || k + 1 >= n)
    return values[k];
  above = values[k + 1];
  for (gsize i = k + 2; i < n; i++)
    above = MIN (above, values[i]);
  return values[k] + frac * (above - values[k]);
}

/* The @quantile quantile (type 7) of the n values, read-only; @band is
 * scratch for n values. From a sorted sample of 64 values it guesses a band
 * of ranks around the wanted one, counts the values below the band in one
 * pass and selects within the band only (about a sixth of the values); if
 * the wanted ranks fall outside the band it selects on a full copy. */
static double
band_quantile (const double *v, gsize n, double quantile, double *band)
{
  double pos = CLAMP (quantile, 0.0, 1.0) * (double) (n - 1);
  gsize k = (gsize) floor (pos);
  double frac = pos - (double) k;
  gsize top = frac > 0.0 && k + 1 < n ? k + 1 : k; /* highest rank needed */

  if (n >= 256) {
    double sample[64], lo, hi, above;
    gsize stride = n / 64, r, below = 0, nb = 0, kb;

    for (gsize i = 0; i < 64; i++) {
      double x = v[i * stride];
      gsize j = i;

      for (; j > 0 && sample[j - 1] > x; j--)
        sample[j] = sample[j - 1];
      sample[j] = x;
    }
    r = (gsize) floor (CLAMP (quantile, 0.0, 1.0) * 63.0 + 0.5);
    lo = r >= 6 ? sample[r - 6] : -INFINITY;
    hi = r + 6 <= 63 ? sample[r + 6] : INFINITY;
    for (gsize i = 0; i < n; i++) {
      double x = v[i];

      if (x < lo)
        below++;
      else if (x <= hi)
        band[nb++] = x;
    }
    if (below <= k && top < below + nb) {
      kb = k - below;
      amigo_kth_smallest (band, nb, kb);
      if (top == k)
        return band[kb];
      above = band[kb + 1];
      for (gsize i = kb + 2; i < nb; i++)
        above = MIN (above, band[i]);
      return band[kb] + frac * (above - band[kb]);
    }
  }
  memcpy (band, v, n * sizeof (double));
  return quantile_in (band, 0, n, quantile);
}

double
amigo_model_last_quantile (double *values, gsize n_values, double quantile)
{
  if (n_values == 0)
    return NAN;
  return quantile_in (values, 0, n_values, quantile);
}

/* Both tails at once: the low quantile first, then the high one among the
 * values from the low one's order statistic up (the selection left every
 * value before it smaller). Needs q_low <= q_high and n > 0. */
void
amigo_model_last_quantile_pair (double *values, gsize n, double q_low, double q_high,
                                double *ret_low, double *ret_high)
{
  gsize k_low = (gsize) floor (CLAMP (q_low, 0.0, 1.0) * (double) (n - 1));

  *ret_low = quantile_in (values, 0, n, q_low);
  *ret_high = quantile_in (values, k_low, n, q_high);
}

gboolean
amigo_model_last_check_series (const AmigoSeries *history,
                               const char *model_name,
                               gsize *ret_n_present,
                               GError **error)
{
  gsize present = 0;

  if (history->n_values == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model '%s' got an empty history", model_name);
    return FALSE;
  }
  for (gsize i = 0; i < history->n_values; i++) {
    double v = history->values[i];

    if (isnan (v))
      continue;
    if (!isfinite (v)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "model '%s': sample %" G_GSIZE_FORMAT " is infinite", model_name, i);
      return FALSE;
    }
    present++;
  }
  if (present == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model '%s': all %" G_GSIZE_FORMAT " samples of the history are missing (NaN)",
                 model_name, history->n_values);
    return FALSE;
  }
  if (ret_n_present != NULL)
    *ret_n_present = present;
  return TRUE;
}

double
amigo_model_last_value (const double *values, gsize n_values)
{
  for (gsize i = n_values; i > 0; i--) {
    if (!isnan (values[i - 1]))
      return values[i - 1];
  }
  return NAN;
}

gboolean
amigo_model_last_change_interval (const double *tail, gsize n_tail, gsize step, double quantile,
                                  double *scratch, double *ret_low, double *ret_high)
{
  gsize n = 0;

  for (gsize t = 0; t + step < n_tail; t++) {
    if (isnan (tail[t]) || isnan (tail[t + step]))
      continue;
    scratch[n++] = tail[t + step] - tail[t];
  }
  if (n == 0)
    return FALSE;
  *ret_high = band_quantile (scratch, n, quantile, scratch + n_tail);
  /* the caller may ask for no lower bound: half the work */
  if (ret_low != NULL)
    *ret_low = band_quantile (scratch, n, 1.0 - quantile, scratch + n_tail);
  return TRUE;
}

gboolean
amigo_model_last_fill (const double *tail, gsize n_tail, double base, gsize horizon, double quantile,
                       double *ret_mean, double *ret_lower, double *ret_upper)
{
  g_autofree double *scratch = g_new (double, 2 * MAX (n_tail, 1));
  double low = 0.0, high = 0.0, known_low = 0.0, known_high = 0.0;
  gsize known_step = 0;

  for (gsize h = 1; h <= horizon; h++) {
    double lo_h, hi_h;

    lo_h = 0.0;
    if (h < n_tail && amigo_model_last_change_interval (tail, n_tail, h, quantile, scratch,
                                                        ret_lower != NULL ? &lo_h : NULL, &hi_h)) {
      low = known_low = lo_h;
      high = known_high = hi_h;
      known_step = h;
    } else if (known_step > 0) {
      /* beyond what the history can show: widen the last known spread like
       * a random walk, by sqrt(h / known_step) */
      double f = sqrt ((double) h / (double) known_step);

      low = known_low * f;
      high = known_high * f;
    }
    ret_mean[h - 1] = base;
    ret_upper[h - 1] = base + MAX (high, 0.0);
    if (ret_lower != NULL)
      ret_lower[h - 1] = base + MIN (low, 0.0);
  }
  return TRUE;
}

static AmigoModel *
last_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  AmigoModelLast *self;
  gsize n = history->n_values;

  if (!amigo_model_last_check_series (history, "last", NULL, error))
    return NULL;
  if (options->max_train > 0 && n > options->max_train)
    n = options->max_train;
  self = g_new0 (AmigoModelLast, 1);
  self->parent.klass = &amigo_model_class_last;
  self->last = amigo_model_last_value (history->values, history->n_values);
  self->n_tail = MIN (n, (gsize) LAST_INTERVAL_WINDOW);
  self->tail = g_memdup2 (history->values + history->n_values - self->n_tail, self->n_tail * sizeof (double));
  return (AmigoModel *) self;
}

static gboolean
last_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
               double *ret_upper, GError **error)
{
  const AmigoModelLast *self = (const AmigoModelLast *) model;

  return amigo_model_last_fill (self->tail, self->n_tail, self->last, horizon, quantile,
                                ret_mean, ret_lower, ret_upper);
}

static void
last_free (AmigoModel *model)
{
  AmigoModelLast *self = (AmigoModelLast *) model;

  g_free (self->tail);
  g_free (self);
}

const AmigoModelClass amigo_model_class_last = {
  .name = "last",
  .min_history = 1,
  .fit = last_fit,
  .forecast = last_forecast,
  .free = last_free,
};
