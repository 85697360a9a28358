/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LSTM network's maths: parameters and their initialisation, forward
 * and backward passes over a batch of windows, the Adam step, and the
 * windows a series is cut into. Matrix products go through CBLAS (sgemm),
 * single precision. See amigo-model-lstm.c for the model.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-free.h"
#include "amigo-lstm-private.h"

/* ---- parameters ---------------------------------------------------------- */

gsize
amigo_lstm_net_n_params (guint hidden, guint horizon)
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
guint64
amigo_lstm_net_rng_next (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double
rng_uniform (guint64 *state)
{
  return (double) (amigo_lstm_net_rng_next (state) >> 11) * (1.0 / 9007199254740992.0);
}

void
amigo_lstm_net_init_params (AmigoModelLstm *self, guint64 seed)
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

/* C (m x n) = A (m x k) op(B) + beta * C, row-major, with op(B) = B (k x n)
 * for CblasNoTrans or B^T with B (n x k) for CblasTrans; split by rows of A
 * (each row of C depends on its row of A only). */
static void
gemm_rows (enum CBLAS_TRANSPOSE trans_b, int m, int n, int k, const float *a, int lda,
           const float *b, int ldb, float beta, float *c, int ldc)
{
  int rows = MAX (1, LSTM_GEMM_CHUNK / MAX (n * k, 1));

  for (int r = 0; r < m; r += rows) {
    int mm = MIN (rows, m - r);

    cblas_sgemm (CblasRowMajor, CblasNoTrans, trans_b, mm, n, k, 1.0f,
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

void
amigo_lstm_net_work_clear (AmigoLstmWork *w)
{
  amigo_free_fields (&w->x, &w->gates, &w->c, &w->h, &w->tanh_c, &w->y, &w->target, &w->mask,
                     &w->dpre, &w->dh, &w->dc, &w->grad, &w->adam_m, &w->adam_v, NULL);
  memset (w, 0, sizeof *w);
}

void
amigo_lstm_net_work_init (AmigoLstmWork *w, const AmigoModelLstm *m, guint capacity, gboolean training)
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
void
amigo_lstm_net_forward (const AmigoModelLstm *m, AmigoLstmWork *w, guint b)
{
  LstmView v = lstm_view (m->params, m->hidden, m->horizon);
  int H = (int) m->hidden, G = 4 * H, W = (int) m->window, K = (int) m->horizon;
  int B = (int) b;

  memset (w->c, 0, sizeof (float) * B * H);
  memset (w->h, 0, sizeof (float) * B * H);
  /* input contribution of every step at once */
  gemm_rows (CblasNoTrans, W * B, G, LSTM_N_INPUT, w->x, LSTM_N_INPUT, v.wx, G, 0.0f, w->gates, G);
  for (int t = 0; t < W; t++) {
    float *gates = w->gates + (gsize) t * B * G;
    const float *h_prev = w->h + (gsize) t * B * H;
    const float *c_prev = w->c + (gsize) t * B * H;
    float *h_next = w->h + (gsize) (t + 1) * B * H;
    float *c_next = w->c + (gsize) (t + 1) * B * H;
    float *tc = w->tanh_c + (gsize) t * B * H;

    if (t > 0)
      gemm_rows (CblasNoTrans, B, G, H, h_prev, H, v.wh, G, 1.0f, gates, G);
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
  gemm_rows (CblasNoTrans, B, K, H, w->h + (gsize) W * B * H, H, v.wo, K, 0.0f, w->y, K);
  for (int j = 0; j < B; j++) {
    for (int k = 0; k < K; k++)
      w->y[j * K + k] += v.bo[k];
  }
}

/* Gradient of the masked Huber loss into w->grad; returns the loss. */
double
amigo_lstm_net_backward (const AmigoModelLstm *m, AmigoLstmWork *w, guint b, guint bptt)
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
  gemm_rows (CblasTrans, B, H, K, dy, K, v.wo, K, 0.0f, w->dh, H);
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
      gemm_rows (CblasTrans, B, H, G, dpre, G, v.wh, G, 0.0f, w->dh, H);
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

void
amigo_lstm_net_adam_step (AmigoModelLstm *m, AmigoLstmWork *w, guint step, double lr)
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

void
amigo_lstm_net_data_clear (AmigoLstmData *d)
{
  amigo_free_fields (&d->z, &d->zf, &d->sin_p, &d->cos_p, NULL);
  memset (d, 0, sizeof *d);
}

void
amigo_lstm_net_phase (gint64 t_usec, gint64 period_usec, float *ret_sin, float *ret_cos)
{
  gint64 r = ((t_usec % period_usec) + period_usec) % period_usec;
  double a = 2.0 * G_PI * (double) r / (double) period_usec;

  *ret_sin = (float) sin (a);
  *ret_cos = (float) cos (a);
}

void
amigo_lstm_net_data_init (AmigoLstmData *d, const AmigoModelLstm *m, const double *values, gsize n, gint64 start_usec)
{
  float carry = NAN;

  d->n = n;
  d->z = g_new (float, n);
  d->zf = g_new (float, n);
  d->sin_p = g_new (float, n);
  d->cos_p = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    d->z[i] = isnan (values[i]) ? NAN : (float) ((values[i] - m->mean) / m->std);
    amigo_lstm_net_phase (start_usec + (gint64) i * m->step_usec, m->period_usec, &d->sin_p[i], &d->cos_p[i]);
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
void
amigo_lstm_net_load_window (const AmigoModelLstm *m, AmigoLstmWork *w, guint b, guint j, const AmigoLstmData *d, gsize end)
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
