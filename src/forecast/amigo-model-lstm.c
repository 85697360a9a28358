/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "lstm": a small LSTM trained in-process on the series it forecasts.
 *
 * Input at each of the last W steps: the normalised value ((x - mean) / std
 * of the history; missing values carried forward) and sin/cos of the time of
 * day (or of the season when options->season is set). One LSTM layer of H
 * cells reads the window; a linear head maps the last hidden state to the K
 * direct forecasts, each expressed as the change from the last input value
 * (so an untrained head already forecasts "last"). Loss: Huber (nearly
 * absolute error) on the normalised values, missing targets masked out. Adam, global gradient
 * norm clipped at 1, truncated BPTT, minibatches drawn in an order fixed by
 * options->seed: the same history and seed give the same model.
 *
 * The interval: the last fifth of the windows is held out of training; the
 * signed errors the trained net makes on it, per horizon step, are kept
 * sorted, and upper/lower are the mean plus their quantile / (1 - quantile)
 * quantile. Steps beyond K are forecast by feeding the forecast back in.
 *
 * This file is the model-table member (fit, warm start, update, forecast);
 * the network maths is in amigo-lstm-net.c, training in amigo-lstm-train.c,
 * the weight file in amigo-lstm-format.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-free.h"
#include "amigo-lstm-private.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

/* ---- fit ----------------------------------------------------------------- */

void
amigo_model_lstm_config_init (AmigoModelLstmConfig *config)
{
  config->hidden = 16;
  config->window = 24;
  config->horizon = 24;
  config->epochs = 8;
  config->batch = 32;
  config->bptt = 12;
  config->learning_rate = 0.01;
  config->thin = 1;
}

static gboolean
lstm_check_config (const AmigoModelLstmConfig *c, GError **error)
{
  if (c->hidden < 1 || c->hidden > 256 || c->window < 2 || c->window > 1024 ||
      c->horizon < 1 || c->horizon > 1024 || c->batch < 1 || c->batch > 1024 ||
      !(c->learning_rate > 0.0 && c->learning_rate < 1.0) || c->thin < 1 || c->thin > 1024) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "LSTM configuration out of range: hidden %u (1-256), window %u (2-1024), "
                 "horizon %u (1-1024), batch %u (1-1024), learning rate %g (0-1), thin %u (1-1024)",
                 c->hidden, c->window, c->horizon, c->batch, c->learning_rate, c->thin);
    return FALSE;
  }
  return TRUE;
}

static gsize
lstm_min_history (guint window, guint horizon)
{
  return LSTM_MIN_HISTORY (window, horizon);
}

static void
lstm_free (AmigoModel *model)
{
  AmigoModelLstm *self = (AmigoModelLstm *) model;

  if (self == NULL)
    return;
  amigo_free_fields (&self->params, &self->context, &self->resid, &self->resid_count, NULL);
  g_free (self);
}

AmigoModelLstm *
amigo_model_lstm_alloc (guint hidden, guint window, guint horizon)
{
  AmigoModelLstm *self = g_new0 (AmigoModelLstm, 1);

  self->parent.klass = &amigo_model_class_lstm;
  self->hidden = hidden;
  self->window = window;
  self->horizon = horizon;
  self->n_params = amigo_lstm_net_n_params (hidden, horizon);
  self->params = g_new0 (float, self->n_params);
  self->context = g_new0 (double, window);
  return self;
}

/* Trains @self (whose shape, normalisation and parameters are set) on
 * @history for @epochs, then sets the held-out residuals and the context. */
static gboolean
lstm_prepare_series (const AmigoSeries *history,
                     const AmigoModelOptions *options,
                     const double **ret_values,
                     gsize *ret_n,
                     gint64 *ret_start_usec,
                     GError **error)
{
  gsize n = history->n_values;
  const double *v = history->values;

  if (!amigo_model_last_check_series (history, "lstm", NULL, error))
    return FALSE;
  if (options->max_train > 0 && n > options->max_train) {
    v += n - options->max_train;
    n = options->max_train;
  }
  *ret_values = v;
  *ret_n = n;
  *ret_start_usec = history->start_usec + (gint64) (history->n_values - n) * history->step_usec;
  return TRUE;
}

AmigoModel *
amigo_model_lstm_fit_with (const AmigoSeries *history,
                           const AmigoModelOptions *options,
                           const AmigoModelLstmConfig *config,
                           GError **error)
{
  AmigoModelOptions defaults = { 0 };
  AmigoModelLstm *self;
  const double *v;
  gsize n, count = 0;
  gint64 start_usec;
  double sum = 0.0, sq = 0.0, min = INFINITY;

  g_return_val_if_fail (history != NULL && config != NULL, NULL);
  if (options == NULL)
    options = &defaults;
  if (!lstm_check_config (config, error))
    return NULL;
  if (!amigo_model_check_step (history, error))
    return NULL;
  if (!lstm_prepare_series (history, options, &v, &n, &start_usec, error))
    return NULL;
  for (gsize i = 0; i < n; i++) {
    if (isnan (v[i]))
      continue;
    sum += v[i];
    sq += v[i] * v[i];
    min = MIN (min, v[i]);
    count++;
  }
  if (count < lstm_min_history (config->window, config->horizon)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'lstm' needs at least %" G_GSIZE_FORMAT " non-missing samples (window %u, horizon %u), got %"
                 G_GSIZE_FORMAT, lstm_min_history (config->window, config->horizon), config->window,
                 config->horizon, count);
    return NULL;
  }

  self = amigo_model_lstm_alloc (config->hidden, config->window, config->horizon);
  self->step_usec = history->step_usec;
  self->period_usec = (gint64) amigo_model_seasonal_naive_period (history, options) * history->step_usec;
  self->mean = sum / (double) count;
  self->std = sqrt (MAX (sq / (double) count - self->mean * self->mean, 0.0));
  /* a flat series: any scale will do */
  if (!(self->std > 1e-9 * MAX (fabs (self->mean), 1.0)))
    self->std = MAX (fabs (self->mean), 1.0);
  self->nonneg = min >= 0.0;
  amigo_lstm_net_init_params (self, options->seed);
  if (!amigo_lstm_train (self, v, n, start_usec, config, config->epochs, options->seed, error)) {
    lstm_free ((AmigoModel *) self);
    return NULL;
  }
  return (AmigoModel *) self;
}

/* The defaults, with the training effort @options asks for. */
static void
lstm_config_for (const AmigoModelOptions *options, AmigoModelLstmConfig *config)
{
  amigo_model_lstm_config_init (config);
  if (options != NULL && options->epochs > 0)
    config->epochs = options->epochs;
  if (options != NULL && options->thin > 0)
    config->thin = options->thin;
}

static AmigoModel *
lstm_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  AmigoModelLstmConfig config;

  lstm_config_for (options, &config);
  return amigo_model_lstm_fit_with (history, options, &config, error);
}

static AmigoModel *
lstm_warm_start (const AmigoModel *prev, const AmigoSeries *history, const AmigoModelOptions *options,
                 GError **error)
{
  AmigoModelLstmConfig config;

  lstm_config_for (options, &config);
  return amigo_model_lstm_fit_from_with (prev, history, options, &config, error);
}

AmigoModel *
amigo_model_lstm_fit_from (const AmigoModel *prev,
                           const AmigoSeries *history,
                           const AmigoModelOptions *options,
                           guint epochs,
                           GError **error)
{
  AmigoModelLstmConfig config;

  amigo_model_lstm_config_init (&config);
  config.epochs = epochs;
  return amigo_model_lstm_fit_from_with (prev, history, options, &config, error);
}

/* A new model with @old's shape, normalisation and weights (no context or
 * held-out errors yet). */
static AmigoModelLstm *
lstm_clone_weights (const AmigoModelLstm *old)
{
  AmigoModelLstm *self = amigo_model_lstm_alloc (old->hidden, old->window, old->horizon);

  self->step_usec = old->step_usec;
  self->period_usec = old->period_usec;
  self->mean = old->mean;
  self->std = old->std;
  self->nonneg = old->nonneg;
  memcpy (self->params, old->params, sizeof (float) * self->n_params);
  return self;
}

/* Checks that @prev is an LSTM model that can go on with @history (same
 * step); @what names the operation in the message. */
static gboolean
lstm_check_prev (const AmigoModel *prev, const AmigoSeries *history, const char *what, GError **error)
{
  const AmigoModelLstm *old = (const AmigoModelLstm *) prev;

  if (prev == NULL || prev->klass != &amigo_model_class_lstm) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "%s needs an 'lstm' model, got '%s'", what, prev != NULL ? prev->klass->name : "(none)");
    return FALSE;
  }
  if (history == NULL || (history->n_values > 0 && history->values == NULL)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no history given to model 'lstm'");
    return FALSE;
  }
  if (history->step_usec != old->step_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "%s: the model was trained with a %" G_GINT64_FORMAT " us step, the history has %"
                 G_GINT64_FORMAT " us", what, old->step_usec, history->step_usec);
    return FALSE;
  }
  return TRUE;
}

AmigoModel *
amigo_model_lstm_fit_from_with (const AmigoModel *prev,
                                const AmigoSeries *history,
                                const AmigoModelOptions *options,
                                const AmigoModelLstmConfig *config,
                                GError **error)
{
  AmigoModelOptions defaults = { 0 };
  const AmigoModelLstm *old = (const AmigoModelLstm *) prev;
  AmigoModelLstm *self;
  const double *v;
  gsize n;
  gint64 start_usec;

  if (!lstm_check_prev (prev, history, "warm start", error))
    return NULL;
  if (options == NULL)
    options = &defaults;
  if (config == NULL || !lstm_check_config (config, error)) {
    if (config == NULL)
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no LSTM configuration given");
    return NULL;
  }
  if (!lstm_prepare_series (history, options, &v, &n, &start_usec, error))
    return NULL;

  self = lstm_clone_weights (old);
  if (!amigo_lstm_train (self, v, n, start_usec, config, config->epochs, options->seed, error)) {
    lstm_free ((AmigoModel *) self);
    return NULL;
  }
  return (AmigoModel *) self;
}

/**
 * amigo_model_lstm_update:
 *
 * Moves @prev to the end of @history without training: same weights,
 * normalisation and held-out residuals, the context re-read from the last
 * window of @history (gaps carried forward as in training). O(window).
 */
AmigoModel *
amigo_model_lstm_update (const AmigoModel *prev, const AmigoSeries *history, GError **error)
{
  const AmigoModelLstm *old = (const AmigoModelLstm *) prev;
  AmigoModelLstm *self;
  gsize n, first;
  double carry = NAN;

  if (!lstm_check_prev (prev, history, "update", error))
    return NULL;
  n = history->n_values;
  if (n < old->window) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'lstm' update needs the last %u samples, got %" G_GSIZE_FORMAT, old->window, n);
    return NULL;
  }
  /* the value carried into the window: the last known one before it */
  first = n - old->window;
  for (gsize i = first; i > 0 && isnan (carry); i--)
    carry = history->values[i - 1];
  for (gsize i = first; i < n && isnan (carry); i++)
    carry = history->values[i];
  if (isnan (carry) || !isfinite (carry)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                         "model 'lstm' update: the history has no finite sample");
    return NULL;
  }

  self = lstm_clone_weights (old);
  self->n_resid = old->n_resid;
  self->resid = g_memdup2 (old->resid, sizeof (double) * (gsize) old->horizon * old->n_resid);
  self->resid_count = g_memdup2 (old->resid_count, sizeof (guint) * old->horizon);
  for (guint t = 0; t < self->window; t++) {
    double x = history->values[first + t];

    if (!isnan (x))
      carry = x;
    if (!isfinite (carry)) {
      lstm_free ((AmigoModel *) self);
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "model 'lstm' update: sample %" G_GSIZE_FORMAT
                   " is infinite", first + t);
      return NULL;
    }
    /* as amigo_lstm_net_data_init: normalised in float */
    self->context[t] = (double) (float) ((carry - self->mean) / self->std);
  }
  self->end_usec = history->start_usec + (gint64) (n - 1) * history->step_usec;
  return (AmigoModel *) self;
}

/* ---- forecast ------------------------------------------------------------ */

static double
lstm_resid_quantile (const AmigoModelLstm *self, guint k, double q)
{
  const double *r = self->resid + (gsize) k * self->n_resid;
  guint n = self->resid_count[k];
  double pos;
  guint i;

  if (n == 0)
    return 0.0;
  pos = CLAMP (q, 0.0, 1.0) * (double) (n - 1);
  i = (guint) floor (pos);
  if (i + 1 >= n)
    return r[n - 1];
  return r[i] + (pos - (double) i) * (r[i + 1] - r[i]);
}

static gboolean
lstm_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
               double *ret_upper, GError **error)
{
  const AmigoModelLstm *self = (const AmigoModelLstm *) model;
  g_auto(AmigoLstmWork) work = { 0 };
  g_autofree double *ctx = g_memdup2 (self->context, sizeof (double) * self->window);
  gint64 end_usec = self->end_usec;
  gsize done = 0;
  guint K = self->horizon, W = self->window;

  amigo_lstm_net_work_init (&work, self, 1, FALSE);
  while (done < horizon) {
    gsize chunk = MIN ((gsize) K, horizon - done);

    for (guint t = 0; t < W; t++) {
      float *x = work.x + (gsize) t * LSTM_N_INPUT;

      x[0] = (float) ctx[t];
      amigo_lstm_net_phase (end_usec - (gint64) (W - 1 - t) * self->step_usec, self->period_usec, &x[1], &x[2]);
    }
    amigo_lstm_net_forward (self, &work, 1);
    for (gsize k = 0; k < chunk; k++)
      ret_mean[done + k] = ((double) work.y[k] + ctx[W - 1]) * self->std + self->mean;
    /* slide the context over the forecast for the next chunk */
    if (done + chunk < horizon) {
      double last = ctx[W - 1];

      for (guint t = 0; t < W; t++) {
        gsize src = (gsize) t + K; /* position in ctx ++ forecast */

        ctx[t] = src < W ? ctx[src] : (double) work.y[src - W] + last;
      }
      end_usec += (gint64) K * self->step_usec;
    }
    done += chunk;
  }

  for (gsize h = 0; h < horizon; h++) {
    guint k = (guint) MIN (h, (gsize) K - 1);
    double f = h < K ? 1.0 : sqrt ((double) (h + 1) / (double) K);
    double hi = lstm_resid_quantile (self, k, quantile) * f;
    double lo = lstm_resid_quantile (self, k, 1.0 - quantile) * f;
    double mean = ret_mean[h];

    if (self->nonneg)
      mean = MAX (mean, 0.0);
    ret_mean[h] = mean;
    ret_upper[h] = mean + MAX (hi, 0.0);
    if (ret_lower != NULL)
      ret_lower[h] = self->nonneg ? MAX (mean + MIN (lo, 0.0), 0.0) : mean + MIN (lo, 0.0);
  }
  return TRUE;
}

const AmigoModelClass amigo_model_class_lstm = {
  .name = "lstm",
  .min_history = LSTM_MIN_HISTORY (24, 24),
  .fit = lstm_fit,
  .forecast = lstm_forecast,
  .free = lstm_free,
  .costly_fit = TRUE,
  .warm_start = lstm_warm_start,
  .update = amigo_model_lstm_update,
};

