/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Training of the "lstm" model: minibatches in a seeded order, the
 * held-out windows' signed errors that make the interval, and the context
 * the forecast starts from. See amigo-model-lstm.c for the model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-lstm-private.h"

static int
compare_double_nan_last (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  if (isnan (x) || isnan (y))
    return isnan (x) - isnan (y);
  return (x > y) - (x < y);
}

gboolean
amigo_lstm_train (AmigoModelLstm *self, const double *values, gsize n, gint64 start_usec,
                  const AmigoModelLstmConfig *config, guint epochs, guint64 seed, GError **error)
{
  g_auto(AmigoLstmData) data = { 0 };
  g_auto(AmigoLstmWork) work = { 0 };
  g_autofree gsize *order = NULL;
  gsize n_windows, n_hold, n_train = 0, n_epoch, first_end, hold_first_end;
  guint64 rng = seed ^ G_GUINT64_CONSTANT (0x5EED5EED5EED5EED);
  guint step = 0;
  gsize min_n = LSTM_MIN_HISTORY (self->window, self->horizon);

  if (n < min_n) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'lstm' needs at least %" G_GSIZE_FORMAT " samples (window %u, horizon %u), got %"
                 G_GSIZE_FORMAT, min_n, self->window, self->horizon, n);
    return FALSE;
  }
  amigo_lstm_net_data_init (&data, self, values, n, start_usec);
  n_windows = n - self->window - self->horizon + 1;
  n_hold = MAX (n_windows / 5, (gsize) LSTM_MIN_HOLDOUT);
  first_end = self->window - 1;
  hold_first_end = first_end + n_windows - n_hold;

  /* training windows end before the held-out targets start */
  order = g_new (gsize, n_windows);
  for (gsize e = first_end; e + self->horizon < hold_first_end + 1 && e < hold_first_end; e++) {
    gboolean any = FALSE;

    for (guint k = 1; k <= self->horizon && !any; k++)
      any = !isnan (data.z[e + k]);
    if (any)
      order[n_train++] = e;
  }
  if (epochs > 0 && n_train < LSTM_MIN_TRAIN_WINDOWS) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'lstm': only %" G_GSIZE_FORMAT " training windows with a known target, need %d",
                 n_train, LSTM_MIN_TRAIN_WINDOWS);
    return FALSE;
  }

  /* with thin > 1 each epoch trains on the first n_train / thin windows of
   * its shuffle: a fresh random subset every epoch */
  n_epoch = MAX ((n_train + config->thin - 1) / config->thin, MIN (n_train, (gsize) LSTM_MIN_TRAIN_WINDOWS));
  amigo_lstm_net_work_init (&work, self, MAX (config->batch, 1), TRUE);
  for (guint epoch = 0; epoch < epochs; epoch++) {
    double loss = 0.0;

    /* Fisher-Yates with the seeded generator */
    for (gsize i = n_train; i > 1; i--) {
      gsize j = (gsize) (amigo_lstm_net_rng_next (&rng) % i);
      gsize tmp = order[i - 1];

      order[i - 1] = order[j];
      order[j] = tmp;
    }
    for (gsize start = 0; start < n_epoch; start += config->batch) {
      guint b = (guint) MIN ((gsize) config->batch, n_epoch - start);

      for (guint j = 0; j < b; j++)
        amigo_lstm_net_load_window (self, &work, b, j, &data, order[start + j]);
      amigo_lstm_net_forward (self, &work, b);
      loss += amigo_lstm_net_backward (self, &work, b, config->bptt) * b;
      amigo_lstm_net_adam_step (self, &work, ++step, config->learning_rate);
    }
    g_debug ("lstm: epoch %u loss %.5f", epoch, loss / (double) n_epoch);
  }

  /* held-out signed errors per horizon step, in the series unit */
  g_clear_pointer (&self->resid, g_free);
  g_clear_pointer (&self->resid_count, g_free);
  self->n_resid = (guint) n_hold;
  self->resid = g_new (double, (gsize) self->horizon * n_hold);
  self->resid_count = g_new0 (guint, self->horizon);
  for (gsize start = 0; start < n_hold; start += work.capacity) {
    guint b = (guint) MIN ((gsize) work.capacity, n_hold - start);

    for (guint j = 0; j < b; j++)
      amigo_lstm_net_load_window (self, &work, b, j, &data, hold_first_end + start + j);
    amigo_lstm_net_forward (self, &work, b);
    for (guint j = 0; j < b; j++) {
      for (guint k = 0; k < self->horizon; k++) {
        gsize idx = (gsize) k * n_hold + start + j;

        if (work.mask[(gsize) j * self->horizon + k] > 0.0f)
          self->resid[idx] = (double) (work.target[(gsize) j * self->horizon + k] -
                                       work.y[(gsize) j * self->horizon + k]) * self->std;
        else
          self->resid[idx] = NAN;
      }
    }
  }
  for (guint k = 0; k < self->horizon; k++) {
    double *r = self->resid + (gsize) k * n_hold;

    qsort (r, n_hold, sizeof (double), compare_double_nan_last);
    while (self->resid_count[k] < n_hold && !isnan (r[self->resid_count[k]]))
      self->resid_count[k]++;
  }

  for (guint t = 0; t < self->window; t++)
    self->context[t] = data.zf[n - self->window + t];
  self->end_usec = start_usec + (gint64) (n - 1) * self->step_usec;
  return TRUE;
}
