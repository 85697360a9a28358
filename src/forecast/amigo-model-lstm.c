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
 * Matrix products go through CBLAS (sgemm), single precision.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-model-lstm.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

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

#define LSTM_FILE_MAGIC "AMIGOLST"
#define LSTM_FILE_VERSION 1u
#define LSTM_FILE_HEADER_SIZE (8 + 4 * 8 + 8 * 3 + 8 * 2)
#define LSTM_FILE_CHECKSUM_SIZE 32

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

/* ---- parameters ---------------------------------------------------------- */

static gsize
lstm_n_params (guint hidden, guint horizon)
{
  gsize g = 4 * (gsize) hidden;

  return LSTM_N_INPUT * g + hidden * g + g + (gsize) hidden * horizon + horizon;
}

typedef struct {
  float *wx, *wh, *b, *wo, *bo;
} LstmView;

static LstmView
lstm_view (float *p, guint hidden, guint horizon)
{
  gsize g = 4 * (gsize) hidden;
  LstmView v;

  v.wx = p;
  v.wh = v.wx + LSTM_N_INPUT * g;
  v.b = v.wh + hidden * g;
  v.wo = v.b + g;
  v.bo = v.wo + (gsize) hidden * horizon;
  return v;
}

/* splitmix64: small, fast and the same everywhere */
static guint64
rng_next (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double
rng_uniform (guint64 *state)
{
  return (double) (rng_next (state) >> 11) * (1.0 / 9007199254740992.0);
}

static void
lstm_init_params (AmigoModelLstm *self, guint64 seed)
{
  LstmView v = lstm_view (self->params, self->hidden, self->horizon);
  guint64 state = seed ^ G_GUINT64_CONSTANT (0x616D69676F6C7374);
  double a = 1.0 / sqrt ((double) self->hidden);
  gsize g = 4 * (gsize) self->hidden;

  for (gsize i = 0; i < self->n_params; i++)
    self->params[i] = (float) ((2.0 * rng_uniform (&state) - 1.0) * a);
  for (gsize i = 0; i < g; i++)
    v.b[i] = 0.0f;
  /* forget gate bias 1: remember by default */
  for (guint i = 0; i < self->hidden; i++)
    v.b[self->hidden + i] = 1.0f;
  /* a small head: the untrained model forecasts roughly "last" */
  for (gsize i = 0; i < (gsize) self->hidden * self->horizon; i++)
    v.wo[i] *= 0.1f;
  for (guint i = 0; i < self->horizon; i++)
    v.bo[i] = 0.0f;
}

/* ---- forward / backward on a batch --------------------------------------- */

/* OpenBLAS hands a product to its worker threads above roughly 2.6e5
 * multiply-adds; for matrices this small the hand-off costs more than it
 * saves and idle workers spin on a shared host. Products are cut into
 * pieces below this size, which keeps every call on the calling thread. */
#define LSTM_GEMM_CHUNK 200000

/* C (m x n) = alpha * A (m x k) B (k x n) + beta * C, row-major; split by rows. */
static void
gemm_nn (int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
  int rows = MAX (1, LSTM_GEMM_CHUNK / MAX (n * k, 1));

  for (int r = 0; r < m; r += rows) {
    int mm = MIN (rows, m - r);

    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, mm, n, k, 1.0f,
                 a + (gsize) r * lda, lda, b, ldb, beta, c + (gsize) r * ldc, ldc);
  }
}

/* C (m x n) = A^T B with A (k x m), B (k x n): a sum over the k rows, cut
 * into row blocks accumulated in order (deterministic). */
static void
gemm_tn (int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc)
{
  int rows = MAX (1, LSTM_GEMM_CHUNK / MAX (m * n, 1));

  for (int r = 0; r < k; r += rows) {
    int kk = MIN (rows, k - r);

    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, m, n, kk, 1.0f,
                 a + (gsize) r * lda, lda, b + (gsize) r * ldb, ldb, r == 0 ? 0.0f : 1.0f, c, ldc);
  }
}

/* C (m x n) = A (m x k) B^T with B (n x k); split by rows of A. */
static void
gemm_nt (int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc)
{
  int rows = MAX (1, LSTM_GEMM_CHUNK / MAX (n * k, 1));

  for (int r = 0; r < m; r += rows) {
    int mm = MIN (rows, m - r);

    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, mm, n, k, 1.0f,
                 a + (gsize) r * lda, lda, b, ldb, 0.0f, c + (gsize) r * ldc, ldc);
  }
}

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
} LstmWork;

static void
lstm_work_clear (LstmWork *w)
{
  g_free (w->x);
  g_free (w->gates);
  g_free (w->c);
  g_free (w->h);
  g_free (w->tanh_c);
  g_free (w->y);
  g_free (w->target);
  g_free (w->mask);
  g_free (w->dpre);
  g_free (w->dh);
  g_free (w->dc);
  g_free (w->grad);
  g_free (w->adam_m);
  g_free (w->adam_v);
  memset (w, 0, sizeof *w);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LstmWork, lstm_work_clear)

static void
lstm_work_init (LstmWork *w, const AmigoModelLstm *m, guint capacity, gboolean training)
{
  gsize b = capacity, H = m->hidden, W = m->window, K = m->horizon;

  memset (w, 0, sizeof *w);
  w->capacity = capacity;
  w->hidden = m->hidden;
  w->window = m->window;
  w->horizon = m->horizon;
  w->x = g_new0 (float, W * b * LSTM_N_INPUT);
  w->gates = g_new0 (float, W * b * 4 * H);
  w->c = g_new0 (float, (W + 1) * b * H);
  w->h = g_new0 (float, (W + 1) * b * H);
  w->tanh_c = g_new0 (float, W * b * H);
  w->y = g_new0 (float, b * K);
  if (!training)
    return;
  w->target = g_new0 (float, b * K);
  w->mask = g_new0 (float, b * K);
  w->dpre = g_new0 (float, W * b * 4 * H);
  w->dh = g_new0 (float, b * H);
  w->dc = g_new0 (float, b * H);
  w->grad = g_new0 (float, m->n_params);
  w->adam_m = g_new0 (float, m->n_params);
  w->adam_v = g_new0 (float, m->n_params);
}

static inline float
sigmoidf (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* tanh through expf: libm's tanhf (expm1f) was a third of the training time */
static inline float
fast_tanhf (float x)
{
  return 2.0f / (1.0f + expf (-2.0f * x)) - 1.0f;
}

/* Runs the batch of @b windows in w->x; fills w->y. */
static void
lstm_forward (const AmigoModelLstm *m, LstmWork *w, guint b)
{
  LstmView v = lstm_view (m->params, m->hidden, m->horizon);
  int H = (int) m->hidden, G = 4 * H, W = (int) m->window, K = (int) m->horizon;
  int B = (int) b;

  memset (w->c, 0, sizeof (float) * B * H);
  memset (w->h, 0, sizeof (float) * B * H);
  /* input contribution of every step at once */
  gemm_nn (W * B, G, LSTM_N_INPUT, w->x, LSTM_N_INPUT, v.wx, G, 0.0f, w->gates, G);
  for (int t = 0; t < W; t++) {
    float *gates = w->gates + (gsize) t * B * G;
    const float *h_prev = w->h + (gsize) t * B * H;
    const float *c_prev = w->c + (gsize) t * B * H;
    float *h_next = w->h + (gsize) (t + 1) * B * H;
    float *c_next = w->c + (gsize) (t + 1) * B * H;
    float *tc = w->tanh_c + (gsize) t * B * H;

    if (t > 0)
      gemm_nn (B, G, H, h_prev, H, v.wh, G, 1.0f, gates, G);
    for (int j = 0; j < B; j++) {
      float *gj = gates + (gsize) j * G;

      for (int k = 0; k < H; k++) {
        float gi = sigmoidf (gj[k] + v.b[k]);
        float gf = sigmoidf (gj[H + k] + v.b[H + k]);
        float gg = fast_tanhf (gj[2 * H + k] + v.b[2 * H + k]);
        float go = sigmoidf (gj[3 * H + k] + v.b[3 * H + k]);
        float c = gf * c_prev[j * H + k] + gi * gg;
        float th = fast_tanhf (c);

        gj[k] = gi;
        gj[H + k] = gf;
        gj[2 * H + k] = gg;
        gj[3 * H + k] = go;
        c_next[j * H + k] = c;
        tc[j * H + k] = th;
        h_next[j * H + k] = go * th;
      }
    }
  }
  gemm_nn (B, K, H, w->h + (gsize) W * B * H, H, v.wo, K, 0.0f, w->y, K);
  for (int j = 0; j < B; j++) {
    for (int k = 0; k < K; k++)
      w->y[j * K + k] += v.bo[k];
  }
}

/* Gradient of the masked Huber loss into w->grad; returns the loss. */
static double
lstm_backward (const AmigoModelLstm *m, LstmWork *w, guint b, guint bptt)
{
  LstmView v = lstm_view (m->params, m->hidden, m->horizon);
  LstmView g = lstm_view (w->grad, m->hidden, m->horizon);
  int H = (int) m->hidden, G = 4 * H, W = (int) m->window, K = (int) m->horizon;
  int B = (int) b;
  int t_stop = (bptt == 0 || bptt >= m->window) ? 0 : W - (int) bptt;
  int rows = (W - t_stop) * B;
  float *dy = w->target; /* reused in place: target -> dLoss/dy */
  double count = 0.0, loss = 0.0;

  for (int i = 0; i < B * K; i++)
    count += w->mask[i];
  if (count <= 0.0) {
    memset (w->grad, 0, sizeof (float) * m->n_params);
    return 0.0;
  }
  for (int i = 0; i < B * K; i++) {
    float e = (w->y[i] - w->target[i]) * w->mask[i];
    const float d = LSTM_HUBER_DELTA;

    if (fabsf (e) <= d) {
      loss += 0.5 * (double) e * e;
      dy[i] = (float) (e / count);
    } else {
      loss += d * (fabs (e) - 0.5 * d);
      dy[i] = (float) ((e > 0 ? d : -d) / count);
    }
  }
  loss /= count;

  gemm_tn (H, K, B, w->h + (gsize) W * B * H, H, dy, K, g.wo, K);
  for (int k = 0; k < K; k++) {
    float s = 0.0f;

    for (int j = 0; j < B; j++)
      s += dy[j * K + k];
    g.bo[k] = s;
  }
  gemm_nt (B, H, K, dy, K, v.wo, K, w->dh, H);
  memset (w->dc, 0, sizeof (float) * B * H);

  for (int t = W - 1; t >= t_stop; t--) {
    const float *gates = w->gates + (gsize) t * B * G;
    const float *c_prev = w->c + (gsize) t * B * H;
    const float *tc = w->tanh_c + (gsize) t * B * H;
    float *dpre = w->dpre + (gsize) t * B * G;

    for (int j = 0; j < B; j++) {
      const float *gj = gates + (gsize) j * G;
      float *dj = dpre + (gsize) j * G;

      for (int k = 0; k < H; k++) {
        float gi = gj[k], gf = gj[H + k], gg = gj[2 * H + k], go = gj[3 * H + k];
        float th = tc[j * H + k];
        float dh = w->dh[j * H + k];
        float dc = w->dc[j * H + k] + dh * go * (1.0f - th * th);

        dj[k] = dc * gg * gi * (1.0f - gi);
        dj[H + k] = dc * c_prev[j * H + k] * gf * (1.0f - gf);
        dj[2 * H + k] = dc * gi * (1.0f - gg * gg);
        dj[3 * H + k] = dh * th * go * (1.0f - go);
        w->dc[j * H + k] = dc * gf;
      }
    }
    if (t > t_stop)
      gemm_nt (B, H, G, dpre, G, v.wh, G, w->dh, H);
  }
  /* weight gradients of all kept steps in one product each */
  gemm_tn (LSTM_N_INPUT, G, rows, w->x + (gsize) t_stop * B * LSTM_N_INPUT, LSTM_N_INPUT,
           w->dpre + (gsize) t_stop * B * G, G, g.wx, G);
  gemm_tn (H, G, rows, w->h + (gsize) t_stop * B * H, H, w->dpre + (gsize) t_stop * B * G, G, g.wh, G);
  for (int k = 0; k < G; k++) {
    float s = 0.0f;

    for (int r = 0; r < rows; r++)
      s += w->dpre[(gsize) t_stop * B * G + (gsize) r * G + k];
    g.b[k] = s;
  }
  return loss;
}

static void
lstm_adam_step (AmigoModelLstm *m, LstmWork *w, guint step, double lr)
{
  double norm = 0.0, scale = 1.0;
  double c1 = 1.0 - pow (LSTM_ADAM_BETA1, step);
  double c2 = 1.0 - pow (LSTM_ADAM_BETA2, step);

  for (gsize i = 0; i < m->n_params; i++)
    norm += (double) w->grad[i] * w->grad[i];
  norm = sqrt (norm);
  if (norm > LSTM_CLIP_NORM)
    scale = LSTM_CLIP_NORM / norm;
  for (gsize i = 0; i < m->n_params; i++) {
    float gr = (float) (w->grad[i] * scale);

    w->adam_m[i] = (float) (LSTM_ADAM_BETA1 * w->adam_m[i] + (1.0 - LSTM_ADAM_BETA1) * gr);
    w->adam_v[i] = (float) (LSTM_ADAM_BETA2 * w->adam_v[i] + (1.0 - LSTM_ADAM_BETA2) * gr * gr);
    m->params[i] -= (float) (lr * (w->adam_m[i] / c1) / (sqrt (w->adam_v[i] / c2) + LSTM_ADAM_EPS));
  }
}

/* ---- data ---------------------------------------------------------------- */

typedef struct {
  gsize n;
  float *z;      /* normalised, NAN kept (targets) */
  float *zf;     /* normalised, missing carried forward (inputs) */
  float *sin_p;
  float *cos_p;
} LstmData;

static void
lstm_data_clear (LstmData *d)
{
  g_free (d->z);
  g_free (d->zf);
  g_free (d->sin_p);
  g_free (d->cos_p);
  memset (d, 0, sizeof *d);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LstmData, lstm_data_clear)

static void
lstm_phase (gint64 t_usec, gint64 period_usec, float *ret_sin, float *ret_cos)
{
  gint64 r = ((t_usec % period_usec) + period_usec) % period_usec;
  double a = 2.0 * G_PI * (double) r / (double) period_usec;

  *ret_sin = (float) sin (a);
  *ret_cos = (float) cos (a);
}

static void
lstm_data_init (LstmData *d, const AmigoModelLstm *m, const double *values, gsize n, gint64 start_usec)
{
  float carry = NAN;

  d->n = n;
  d->z = g_new (float, n);
  d->zf = g_new (float, n);
  d->sin_p = g_new (float, n);
  d->cos_p = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    d->z[i] = isnan (values[i]) ? NAN : (float) ((values[i] - m->mean) / m->std);
    lstm_phase (start_usec + (gint64) i * m->step_usec, m->period_usec, &d->sin_p[i], &d->cos_p[i]);
  }
  /* leading gap: the first known value; later gaps: the previous one */
  for (gsize i = 0; i < n && isnan (carry); i++)
    carry = d->z[i];
  for (gsize i = 0; i < n; i++) {
    if (!isnan (d->z[i]))
      carry = d->z[i];
    d->zf[i] = carry;
  }
}

/* Fills slot @j of the batch with the window ending at index @end (inclusive). */
static void
lstm_load_window (const AmigoModelLstm *m, LstmWork *w, guint b, guint j, const LstmData *d, gsize end)
{
  gsize first = end + 1 - m->window;

  for (guint t = 0; t < m->window; t++) {
    float *x = w->x + ((gsize) t * b + j) * LSTM_N_INPUT;

    x[0] = d->zf[first + t];
    x[1] = d->sin_p[first + t];
    x[2] = d->cos_p[first + t];
  }
  if (w->target == NULL)
    return;
  for (guint k = 0; k < m->horizon; k++) {
    gsize idx = end + 1 + k;
    float z = idx < d->n ? d->z[idx] : NAN;

    w->target[(gsize) j * m->horizon + k] = isnan (z) ? 0.0f : z - d->zf[end];
    w->mask[(gsize) j * m->horizon + k] = isnan (z) ? 0.0f : 1.0f;
  }
}

static int
compare_double_nan_last (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  if (isnan (x) || isnan (y))
    return isnan (x) - isnan (y);
  return (x > y) - (x < y);
}

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
  g_free (self->params);
  g_free (self->context);
  g_free (self->resid);
  g_free (self->resid_count);
  g_free (self);
}

static AmigoModelLstm *
lstm_new (guint hidden, guint window, guint horizon)
{
  AmigoModelLstm *self = g_new0 (AmigoModelLstm, 1);

  self->parent.klass = &amigo_model_class_lstm;
  self->hidden = hidden;
  self->window = window;
  self->horizon = horizon;
  self->n_params = lstm_n_params (hidden, horizon);
  self->params = g_new0 (float, self->n_params);
  self->context = g_new0 (double, window);
  return self;
}

/* Trains @self (whose shape, normalisation and parameters are set) on
 * @history for @epochs, then sets the held-out residuals and the context. */
static gboolean
lstm_train (AmigoModelLstm *self,
            const double *values,
            gsize n,
            gint64 start_usec,
            const AmigoModelLstmConfig *config,
            guint epochs,
            guint64 seed,
            GError **error)
{
  g_auto(LstmData) data = { 0 };
  g_auto(LstmWork) work = { 0 };
  g_autofree gsize *order = NULL;
  gsize n_windows, n_hold, n_train = 0, n_epoch, first_end, hold_first_end;
  guint64 rng = seed ^ G_GUINT64_CONSTANT (0x5EED5EED5EED5EED);
  guint step = 0;
  gsize min_n = lstm_min_history (self->window, self->horizon);

  if (n < min_n) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'lstm' needs at least %" G_GSIZE_FORMAT " samples (window %u, horizon %u), got %"
                 G_GSIZE_FORMAT, min_n, self->window, self->horizon, n);
    return FALSE;
  }
  lstm_data_init (&data, self, values, n, start_usec);
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
  lstm_work_init (&work, self, MAX (config->batch, 1), TRUE);
  for (guint epoch = 0; epoch < epochs; epoch++) {
    double loss = 0.0;

    /* Fisher-Yates with the seeded generator */
    for (gsize i = n_train; i > 1; i--) {
      gsize j = (gsize) (rng_next (&rng) % i);
      gsize tmp = order[i - 1];

      order[i - 1] = order[j];
      order[j] = tmp;
    }
    for (gsize start = 0; start < n_epoch; start += config->batch) {
      guint b = (guint) MIN ((gsize) config->batch, n_epoch - start);

      for (guint j = 0; j < b; j++)
        lstm_load_window (self, &work, b, j, &data, order[start + j]);
      lstm_forward (self, &work, b);
      loss += lstm_backward (self, &work, b, config->bptt) * b;
      lstm_adam_step (self, &work, ++step, config->learning_rate);
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
      lstm_load_window (self, &work, b, j, &data, hold_first_end + start + j);
    lstm_forward (self, &work, b);
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
  if (history->step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series step must be positive, got %" G_GINT64_FORMAT " us", history->step_usec);
    return NULL;
  }
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

  self = lstm_new (config->hidden, config->window, config->horizon);
  self->step_usec = history->step_usec;
  self->period_usec = (gint64) amigo_model_seasonal_naive_period (history, options) * history->step_usec;
  self->mean = sum / (double) count;
  self->std = sqrt (MAX (sq / (double) count - self->mean * self->mean, 0.0));
  /* a flat series: any scale will do */
  if (!(self->std > 1e-9 * MAX (fabs (self->mean), 1.0)))
    self->std = MAX (fabs (self->mean), 1.0);
  self->nonneg = min >= 0.0;
  lstm_init_params (self, options->seed);
  if (!lstm_train (self, v, n, start_usec, config, config->epochs, options->seed, error)) {
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

  self = lstm_new (old->hidden, old->window, old->horizon);
  self->step_usec = old->step_usec;
  self->period_usec = old->period_usec;
  self->mean = old->mean;
  self->std = old->std;
  self->nonneg = old->nonneg;
  memcpy (self->params, old->params, sizeof (float) * self->n_params);
  if (!lstm_train (self, v, n, start_usec, config, config->epochs, options->seed, error)) {
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

  self = lstm_new (old->hidden, old->window, old->horizon);
  self->step_usec = old->step_usec;
  self->period_usec = old->period_usec;
  self->mean = old->mean;
  self->std = old->std;
  self->nonneg = old->nonneg;
  memcpy (self->params, old->params, sizeof (float) * self->n_params);
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
    /* as lstm_data_init: normalised in float */
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
lstm_forecast (const AmigoModel *model,
               gsize horizon,
               double quantile,
               double *ret_mean,
               double *ret_lower,
               double *ret_upper,
               GError **error)
{
  const AmigoModelLstm *self = (const AmigoModelLstm *) model;
  g_auto(LstmWork) work = { 0 };
  g_autofree double *ctx = g_memdup2 (self->context, sizeof (double) * self->window);
  gint64 end_usec = self->end_usec;
  gsize done = 0;
  guint K = self->horizon, W = self->window;

  lstm_work_init (&work, self, 1, FALSE);
  while (done < horizon) {
    gsize chunk = MIN ((gsize) K, horizon - done);

    for (guint t = 0; t < W; t++) {
      float *x = work.x + (gsize) t * LSTM_N_INPUT;

      x[0] = (float) ctx[t];
      lstm_phase (end_usec - (gint64) (W - 1 - t) * self->step_usec, self->period_usec, &x[1], &x[2]);
    }
    lstm_forward (self, &work, 1);
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

/* ---- weight file ---------------------------------------------------------
 *
 * Little-endian throughout:
 *   0  8 bytes  magic "AMIGOLST"
 *   8  u32      format version (1)
 *  12  u32      inputs per step (3), hidden, window, horizon, held-out windows,
 *               flags (bit 0: history never negative), reserved (0)
 *  40  i64      step_usec, period_usec, end_usec
 *  64  f64      mean, std
 *  80  f32      parameters (Wx, Wh, b, Wo, bo; row-major)
 *      f64      context (window values, normalised)
 *      f64      held-out errors (horizon x held-out, sorted, NaN last)
 *      32 bytes SHA-256 of everything before it
 */

static void
put_u32 (GByteArray *a, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);

  g_byte_array_append (a, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *a, guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);

  g_byte_array_append (a, (const guint8 *) &le, 8);
}

static void
put_f64 (GByteArray *a, double d)
{
  guint64 u;

  memcpy (&u, &d, 8);
  put_u64 (a, u);
}

static guint32
get_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static guint64
get_u64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

static double
get_f64 (const guint8 *p)
{
  guint64 u = get_u64 (p);
  double d;

  memcpy (&d, &u, 8);
  return d;
}

static float
get_f32 (const guint8 *p)
{
  guint32 u = get_u32 (p);
  float f;

  memcpy (&f, &u, 4);
  return f;
}

gboolean
amigo_model_lstm_save (const AmigoModel *model, const char *path, GError **error)
{
  const AmigoModelLstm *self = (const AmigoModelLstm *) model;
  g_autoptr(GByteArray) a = NULL;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[LSTM_FILE_CHECKSUM_SIZE];
  gsize digest_len = sizeof digest;
  g_autoptr(GError) local = NULL;

  if (model == NULL || model->klass != &amigo_model_class_lstm) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "only an 'lstm' model can be saved as LSTM weights, got '%s'",
                 model != NULL ? model->klass->name : "(none)");
    return FALSE;
  }
  a = g_byte_array_new ();
  g_byte_array_append (a, (const guint8 *) LSTM_FILE_MAGIC, 8);
  put_u32 (a, LSTM_FILE_VERSION);
  put_u32 (a, LSTM_N_INPUT);
  put_u32 (a, self->hidden);
  put_u32 (a, self->window);
  put_u32 (a, self->horizon);
  put_u32 (a, self->n_resid);
  put_u32 (a, self->nonneg ? 1 : 0);
  put_u32 (a, 0);
  put_u64 (a, (guint64) self->step_usec);
  put_u64 (a, (guint64) self->period_usec);
  put_u64 (a, (guint64) self->end_usec);
  put_f64 (a, self->mean);
  put_f64 (a, self->std);
  g_assert (a->len == LSTM_FILE_HEADER_SIZE);
  for (gsize i = 0; i < self->n_params; i++) {
    guint32 u;

    memcpy (&u, &self->params[i], 4);
    put_u32 (a, u);
  }
  for (guint i = 0; i < self->window; i++)
    put_f64 (a, self->context[i]);
  for (gsize i = 0; i < (gsize) self->horizon * self->n_resid; i++)
    put_f64 (a, self->resid[i]);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, a->data, a->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  g_byte_array_append (a, digest, LSTM_FILE_CHECKSUM_SIZE);

  if (!g_file_set_contents (path, (const char *) a->data, a->len, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED,
                 "cannot write LSTM weights to '%s': %s", path, local->message);
    return FALSE;
  }
  return TRUE;
}

AmigoModel *
amigo_model_lstm_load (const char *path, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[LSTM_FILE_CHECKSUM_SIZE];
  gsize digest_len = sizeof digest;
  guint32 version, n_input, hidden, window, horizon, n_resid, flags;
  guint64 expected;
  AmigoModelLstm *self;
  const guint8 *p;

  if (!g_file_get_contents (path, (char **) &data, &len, &local)) {
    g_set_error (error, AMIGO_ERROR,
                 g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? AMIGO_ERROR_NOT_FOUND : AMIGO_ERROR_FAILED,
                 "cannot read LSTM weights '%s': %s", path, local->message);
    return NULL;
  }
  if (len < 8 || memcmp (data, LSTM_FILE_MAGIC, 8) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "'%s' is not an amigo LSTM weight file (no '%s' magic)", path, LSTM_FILE_MAGIC);
    return NULL;
  }
  if (len < LSTM_FILE_HEADER_SIZE + LSTM_FILE_CHECKSUM_SIZE) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is truncated: %" G_GSIZE_FORMAT " bytes, the header alone needs %d",
                 path, len, LSTM_FILE_HEADER_SIZE + LSTM_FILE_CHECKSUM_SIZE);
    return NULL;
  }
  version = get_u32 (data + 8);
  if (version != LSTM_FILE_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "LSTM weight file '%s' has format version %u, this build reads version %u",
                 path, version, LSTM_FILE_VERSION);
    return NULL;
  }
  n_input = get_u32 (data + 12);
  hidden = get_u32 (data + 16);
  window = get_u32 (data + 20);
  horizon = get_u32 (data + 24);
  n_resid = get_u32 (data + 28);
  flags = get_u32 (data + 32);
  if (n_input != LSTM_N_INPUT || hidden < 1 || hidden > 256 || window < 2 || window > 1024 ||
      horizon < 1 || horizon > 1024 || n_resid > 1000000 || (flags & ~1u) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' has an impossible shape: %u inputs, %u hidden, window %u, "
                 "horizon %u, %u held-out windows, flags 0x%x", path, n_input, hidden, window, horizon,
                 n_resid, flags);
    return NULL;
  }
  expected = LSTM_FILE_HEADER_SIZE + 4 * (guint64) lstm_n_params (hidden, horizon) + 8 * (guint64) window +
             8 * (guint64) horizon * n_resid + LSTM_FILE_CHECKSUM_SIZE;
  if (len != expected) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is %s: %" G_GSIZE_FORMAT " bytes, its shape needs %" G_GUINT64_FORMAT,
                 path, len < expected ? "truncated" : "too long", len, expected);
    return NULL;
  }
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, data, len - LSTM_FILE_CHECKSUM_SIZE);
  g_checksum_get_digest (sum, digest, &digest_len);
  if (memcmp (digest, data + len - LSTM_FILE_CHECKSUM_SIZE, LSTM_FILE_CHECKSUM_SIZE) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is corrupt: its SHA-256 checksum does not match", path);
    return NULL;
  }

  self = lstm_new (hidden, window, horizon);
  self->nonneg = (flags & 1u) != 0;
  self->step_usec = (gint64) get_u64 (data + 40);
  self->period_usec = (gint64) get_u64 (data + 48);
  self->end_usec = (gint64) get_u64 (data + 56);
  self->mean = get_f64 (data + 64);
  self->std = get_f64 (data + 72);
  p = data + LSTM_FILE_HEADER_SIZE;
  for (gsize i = 0; i < self->n_params; i++, p += 4)
    self->params[i] = get_f32 (p);
  for (guint i = 0; i < window; i++, p += 8)
    self->context[i] = get_f64 (p);
  self->n_resid = n_resid;
  self->resid = g_new (double, (gsize) horizon * n_resid);
  self->resid_count = g_new0 (guint, horizon);
  for (gsize i = 0; i < (gsize) horizon * n_resid; i++, p += 8)
    self->resid[i] = get_f64 (p);
  for (guint k = 0; k < horizon; k++) {
    while (self->resid_count[k] < n_resid && !isnan (self->resid[(gsize) k * n_resid + self->resid_count[k]]))
      self->resid_count[k]++;
  }
  if (self->step_usec <= 0 || self->period_usec <= 0 || !(self->std > 0.0) || !isfinite (self->mean)) {
    lstm_free ((AmigoModel *) self);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' has an invalid step, period or normalisation", path);
    return NULL;
  }
  return (AmigoModel *) self;
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
