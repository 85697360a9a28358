/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the "lstm" model shared by its files (forecast/ and tests
 * only): the network maths (amigo-lstm-net.c), training
 * (amigo-lstm-train.c), the model-table member (amigo-model-lstm.c) and the
 * weight file (amigo-lstm-format.c). */

#include "amigo-model-lstm.h"

G_BEGIN_DECLS

#define LSTM_N_INPUT 3
#define LSTM_CLIP_NORM 1.0
/* Huber loss threshold, in standard deviations of the series: nearly an
 * absolute-error loss. Spiky VM traces made a squared loss chase their
 * spikes: on 22 Bitbrains CPU series its 1-hour-ahead MAE was 1.44x that of
 * "last" (geometric mean), with this loss 0.98x. */
#define LSTM_HUBER_DELTA 0.05f
#define LSTM_ADAM_BETA1 0.9
#define LSTM_ADAM_BETA2 0.999
#define LSTM_ADAM_EPS 1e-8
/* training windows needed besides the held-out ones */
#define LSTM_MIN_TRAIN_WINDOWS 16
#define LSTM_MIN_HOLDOUT 4
/* Fewest samples for window W and horizon K: n - W - K + 1 windows, of which
 * a fifth (at least LSTM_MIN_HOLDOUT) is held out and K are dropped as a gap,
 * must leave LSTM_MIN_TRAIN_WINDOWS to train on. */
#define LSTM_MIN_HISTORY(W, K) \
  ((gsize) (W) + (gsize) (K) - 1 + ((gsize) (K) + LSTM_MIN_TRAIN_WINDOWS - 1) * 5 / 4 + 2 + LSTM_MIN_HOLDOUT)

typedef struct {
  AmigoModel parent;
  guint hidden;
  guint window;
  guint horizon;
  gint64 step_usec;
  gint64 period_usec;  /* length of the cycle the sin/cos features follow */
  gint64 end_usec;     /* time of the last sample of the fitted history */
  double mean;
  double std;
  gboolean nonneg;     /* history never negative: clamp forecasts at 0 */
  gsize n_params;
  float *params;       /* Wx (3 x 4H), Wh (H x 4H), b (4H), Wo (H x K), bo (K) */
  double *context;     /* the last @window normalised (filled) values */
  guint n_resid;       /* held-out windows */
  double *resid;       /* horizon x n_resid signed errors, sorted, NAN last */
  guint *resid_count;  /* non-missing errors per step */
} AmigoModelLstm;

/* ---- network (amigo-lstm-net.c) ------------------------------------------ */

/* Buffers for a forward (and backward) pass over a batch of windows. */
typedef struct {
  guint capacity;
  guint hidden, window, horizon;
  float *x;       /* window x b x 3 */
  float *gates;   /* window x b x 4H, activated i f g o */
  float *c;       /* (window + 1) x b x H, slot 0 = 0 */
  float *h;       /* (window + 1) x b x H, slot 0 = 0 */
  float *tanh_c;  /* window x b x H */
  float *y;       /* b x K */
  float *target;  /* b x K */
  float *mask;    /* b x K */
  float *dpre;    /* window x b x 4H */
  float *dh;      /* b x H */
  float *dc;      /* b x H */
  float *grad;    /* n_params */
  float *adam_m;
  float *adam_v;
} AmigoLstmWork;

/* A series ready for training: normalised, with the time-of-day phase. */
typedef struct {
  gsize n;
  float *z;      /* normalised, NAN kept (targets) */
  float *zf;     /* normalised, missing carried forward (inputs) */
  float *sin_p;
  float *cos_p;
} AmigoLstmData;

gsize amigo_lstm_net_n_params (guint hidden, guint horizon);
/* splitmix64: small, fast and the same everywhere */
guint64 amigo_lstm_net_rng_next (guint64 *state);
void amigo_lstm_net_init_params (AmigoModelLstm *self, guint64 seed);
void amigo_lstm_net_work_init (AmigoLstmWork *w, const AmigoModelLstm *m, guint capacity, gboolean training);
void amigo_lstm_net_work_clear (AmigoLstmWork *w);
void amigo_lstm_net_forward (const AmigoModelLstm *m, AmigoLstmWork *w, guint b);
double amigo_lstm_net_backward (const AmigoModelLstm *m, AmigoLstmWork *w, guint b, guint bptt);
void amigo_lstm_net_adam_step (AmigoModelLstm *m, AmigoLstmWork *w, guint step, double lr);
void amigo_lstm_net_phase (gint64 t_usec, gint64 period_usec, float *ret_sin, float *ret_cos);
void amigo_lstm_net_data_init (AmigoLstmData *d, const AmigoModelLstm *m, const double *values, gsize n,
                               gint64 start_usec);
void amigo_lstm_net_data_clear (AmigoLstmData *d);
void amigo_lstm_net_load_window (const AmigoModelLstm *m, AmigoLstmWork *w, guint b, guint j, const AmigoLstmData *d,
                                 gsize end);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmigoLstmWork, amigo_lstm_net_work_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmigoLstmData, amigo_lstm_net_data_clear)

/* ---- training (amigo-lstm-train.c) --------------------------------------- */

/* Trains @self (whose shape, normalisation and parameters are set) on
 * values[0..n) for @epochs, then sets the held-out residuals and the
 * context. */
gboolean amigo_lstm_train (AmigoModelLstm *self, const double *values, gsize n, gint64 start_usec,
                           const AmigoModelLstmConfig *config, guint epochs, guint64 seed, GError **error);

/* ---- the member (amigo-model-lstm.c) ------------------------------------- */

/* A model of this shape with zeroed parameters and context. */
AmigoModelLstm *amigo_model_lstm_alloc (guint hidden, guint window, guint horizon);

G_END_DECLS
