/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ARIMA order search: the usable window of the input, d by repeated KPSS
 * tests, the seasonal strength, and the Hannan-Rissanen ranking of every
 * (p, q, constant). See amigo-model-arima.c for the pipeline,
 * docs/forecast-arima.md for why.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-arima-private.h"
#include "amigo-error.h"
#include "amigo-model-private.h"

/* ---------- input preparation ---------- */

/* Copies the usable window of @values into a new array: the samples after
 * the last gap longer than AMIGO_ARIMA_MAX_GAP, shorter gaps interpolated,
 * trailing missing samples cut off (counted in @ret_skip). */
double *
amigo_arima_prepare_values (const double *values, gsize n, gsize *ret_n, gsize *ret_skip, GError **error)
{
  gsize first = 0, end = n, n_valid = 0;
  double *y;

  if (n == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                         "history is empty");
    return NULL;
  }
  for (gsize i = 0; i < n; i++) {
    if (isnan (values[i]))
      continue;
    if (isinf (values[i])) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "sample %" G_GSIZE_FORMAT " of the history is infinite", i);
      return NULL;
    }
    if (fabs (values[i]) > AMIGO_ARIMA_MAX_ABS) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "sample %" G_GSIZE_FORMAT " of the history is %g, beyond the plausible magnitude %g",
                   i, values[i], AMIGO_ARIMA_MAX_ABS);
      return NULL;
    }
    n_valid++;
  }
  if (n_valid == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "all %" G_GSIZE_FORMAT " samples of the history are missing", n);
    return NULL;
  }
  while (isnan (values[end - 1]))
    end--;
  if (n - end > AMIGO_ARIMA_MAX_GAP) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "the last %" G_GSIZE_FORMAT " samples of the history are missing (at most %d can be bridged)",
                 n - end, AMIGO_ARIMA_MAX_GAP);
    return NULL;
  }
  /* Start after the last long gap (or the leading missing samples). */
  {
    gsize run = 0;
    for (gsize i = 0; i < end; i++) {
      if (isnan (values[i])) {
        run++;
        continue;
      }
      if (run > AMIGO_ARIMA_MAX_GAP || run == i)
        first = i;
      run = 0;
    }
  }
  n_valid = 0;
  for (gsize i = first; i < end; i++)
    n_valid += !isnan (values[i]);
  if (n_valid < AMIGO_ARIMA_MIN_HISTORY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "ARIMA needs at least %d consecutive samples without a gap longer than %d, got %" G_GSIZE_FORMAT,
                 AMIGO_ARIMA_MIN_HISTORY, AMIGO_ARIMA_MAX_GAP, n_valid);
    return NULL;
  }

  y = g_new (double, end - first);
  for (gsize i = first; i < end; i++) {
    gsize j = i - first;
    if (!isnan (values[i])) {
      y[j] = values[i];
      continue;
    }
    /* values[first] and values[end - 1] are valid, so both ends exist. */
    gsize lo = i - 1, hi = i + 1;
    while (isnan (values[hi]))
      hi++;
    for (gsize k = i; k < hi; k++)
      y[k - first] = values[lo] + (values[hi] - values[lo]) * (double) (k - lo) / (double) (hi - lo);
    i = hi - 1;
  }
  *ret_n = end - first;
  *ret_skip = n - end;
  return y;
}

/* ---------- tests for d and seasonality ---------- */

static double
kpss_stat (const double *x, gsize n)
{
  double m = amigo_arima_mean (x, n), s = 0.0, num = 0.0, lrv;
  guint lags = (guint) (3.0 * sqrt ((double) n) / 13.0);   /* as forecast::ndiffs */

  for (gsize i = 0; i < n; i++) {
    s += x[i] - m;
    num += s * s;
  }
  lrv = 0.0;
  for (gsize i = 0; i < n; i++)
    lrv += (x[i] - m) * (x[i] - m);
  for (guint l = 1; l <= lags && l < n; l++) {
    double g = 0.0;
    for (gsize i = l; i < n; i++)
      g += (x[i] - m) * (x[i - l] - m);
    lrv += 2.0 * (1.0 - l / (lags + 1.0)) * g;
  }
  lrv /= n;
  if (!(lrv > 0.0))
    return 0.0;
  return num / ((double) n * n * lrv);
}

guint
amigo_arima_ndiffs (const double *x, gsize n, guint max_d)
{
  g_autofree double *w = g_memdup2 (x, n * sizeof (double));
  guint d = 0;

  while (d < max_d && n > AMIGO_ARIMA_MIN_HISTORY) {
    double v = amigo_arima_var (w, n), m = amigo_arima_mean (w, n);
    if (!(v > 1e-20 * (1.0 + m * m)))
      break;
    if (kpss_stat (w, n) <= ARIMA_KPSS_CRIT_5)
      break;
    for (gsize i = 0; i + 1 < n; i++)
      w[i] = w[i + 1] - w[i];
    n--;
    d++;
  }
  return d;
}

/* Classical decomposition; fills @profile (period values, mean 0) when not
 * NULL. */
double
amigo_arima_seasonal_decompose (const double *x, gsize n, gsize period, double *profile)
{
  g_autofree double *detr = NULL;
  g_autofree double *s = NULL;
  g_autofree guint *cnt = NULL;
  gsize half = period / 2, lo = half, hi = n - half;
  double win = 0.0, smean = 0.0, vr, vd;

  if (period < 2 || n < 2 * period)
    return 0.0;
  detr = g_new (double, n);
  s = g_new0 (double, period);
  cnt = g_new0 (guint, period);
  /* Centred moving average of length period (2 x period when even). */
  for (gsize i = 0; i < period; i++)
    win += x[i];
  for (gsize t = lo; t < hi; t++) {
    double trend;
    if (period % 2 == 1) {
      if (t > lo)
        win += x[t + half] - x[t - half - 1];
      trend = win / period;
    } else {
      /* win = sum x[t - half .. t + half - 1] */
      if (t > lo)
        win += x[t + half - 1] - x[t - half - 1];
      trend = (win - 0.5 * x[t - half] + 0.5 * (t + half < n ? x[t + half] : x[t - half])) / period;
    }
    detr[t] = x[t] - trend;
    s[t % period] += detr[t];
    cnt[t % period]++;
  }
  for (gsize j = 0; j < period; j++) {
    s[j] = cnt[j] > 0 ? s[j] / cnt[j] : 0.0;
    smean += s[j];
  }
  smean /= period;
  for (gsize j = 0; j < period; j++)
    s[j] -= smean;
  vd = amigo_arima_var (detr + lo, hi - lo);
  for (gsize t = lo; t < hi; t++)
    detr[t] -= s[t % period];
  vr = amigo_arima_var (detr + lo, hi - lo);
  if (profile != NULL)
    memcpy (profile, s, period * sizeof (double));
  if (!(vd > 0.0))
    return 0.0;
  return CLAMP (1.0 - vr / vd, 0.0, 1.0);
}

double
amigo_arima_seasonal_strength (const double *x, gsize n, gsize period)
{
  return amigo_arima_seasonal_decompose (x, n, period, NULL);
}

/* ---------- Hannan-Rissanen ranking ---------- */

/* Residuals of a long AR (Yule-Walker) of the centred @w into @ehat; returns
 * the first index where they are defined. */
static gsize
long_ar_residuals (const double *w, gsize n, guint m, double *ehat)
{
  double acf[64], a[64], prev[64], v;

  g_assert (m < 64);
  for (guint l = 0; l <= m; l++) {
    double g = 0.0;
    for (gsize t = l; t < n; t++)
      g += w[t] * w[t - l];
    acf[l] = g / n;
  }
  v = acf[0];
  for (guint k = 0; k < m; k++) {
    double num = acf[k + 1], refl;
    for (guint j = 0; j < k; j++)
      num -= a[j] * acf[k - j];
    refl = v > 0.0 ? num / v : 0.0;
    memcpy (prev, a, k * sizeof (double));
    for (guint j = 0; j < k; j++)
      a[j] = prev[j] - refl * prev[k - 1 - j];
    a[k] = refl;
    v *= 1.0 - refl * refl;
  }
  for (gsize t = 0; t < n; t++) {
    double e = 0.0;
    if (t >= m) {
      e = w[t];
      for (guint j = 0; j < m; j++)
        e -= a[j] * w[t - 1 - j];
    }
    ehat[t] = e;
  }
  return m;
}

static int
candidate_cmp (const void *a, const void *b)
{
  const AmigoArimaCandidate *ca = a, *cb = b;
  return (ca->score > cb->score) - (ca->score < cb->score);
}

/* Ranks all orders by Hannan-Rissanen AICc; fills @cands (sorted) and
 * returns how many. */
guint
amigo_arima_hr_rank (const double *w, gsize n, guint pmax, guint qmax, gboolean const_free,
         gboolean const_default, double *scratch, AmigoArimaCandidate *cands)
{
  double mean = amigo_arima_mean (w, n);
  double *wc = scratch, *ehat = scratch + n;
  double gram[ARIMA_HR_DIM * ARIMA_HR_DIM] = { 0 };
  double col[ARIMA_HR_DIM];
  guint dim = 2 + pmax + qmax;   /* y, 1, y lags, e lags */
  guint m_long = MIN ((guint) ceil (3.0 * log ((double) n)), (guint) (n / 4));
  gsize t_start, n_rows;
  guint n_cands = 0;

  m_long = MAX (m_long, MAX (pmax, qmax));
  m_long = MIN (m_long, 63);
  for (gsize t = 0; t < n; t++)
    wc[t] = w[t] - mean;
  long_ar_residuals (wc, n, m_long, ehat);
  t_start = m_long + qmax;
  if (t_start + 4 >= n)
    return 0;
  n_rows = n - t_start;
  for (gsize t = t_start; t < n; t++) {
    col[0] = w[t];
    col[1] = 1.0;
    for (guint i = 0; i < pmax; i++)
      col[2 + i] = w[t - 1 - i];
    for (guint j = 0; j < qmax; j++)
      col[2 + pmax + j] = ehat[t - 1 - j];
    for (guint a = 0; a < dim; a++) {
      double ca = col[a];
      for (guint b = a; b < dim; b++)
        gram[a * ARIMA_HR_DIM + b] += ca * col[b];
    }
  }

  for (guint p = 0; p <= pmax; p++) {
    for (guint q = 0; q <= qmax; q++) {
      if (p + q > ARIMA_MAX_PQ)
        continue;
      for (guint c = 0; c < 2; c++) {
        gboolean constant = c == 1;
        guint idx[ARIMA_HR_DIM], k = 0;
        double amat[ARIMA_HR_DIM * ARIMA_HR_DIM], beta[ARIMA_HR_DIM], sse;
        AmigoArimaCandidate *cand = &cands[n_cands];

        if (!const_free && constant != const_default)
          continue;
        if (constant)
          idx[k++] = 1;
        for (guint i = 0; i < p; i++)
          idx[k++] = 2 + i;
        for (guint j = 0; j < q; j++)
          idx[k++] = 2 + pmax + j;
        for (guint a = 0; a < k; a++) {
          beta[a] = gram[idx[a]];
          for (guint b = 0; b < k; b++)
            amat[a * k + b] = gram[MIN (idx[a], idx[b]) * ARIMA_HR_DIM + MAX (idx[a], idx[b])];
        }
        sse = gram[0];
        if (k > 0) {
          double rhs[ARIMA_HR_DIM];
          memcpy (rhs, beta, k * sizeof (double));
          if (!amigo_cholesky_solve (amat, beta, k, 1e-12))
            continue;
          for (guint a = 0; a < k; a++)
            sse -= beta[a] * rhs[a];
        }
        if (sse < 0.0)
          sse = 0.0;
        memset (cand, 0, sizeof (*cand));
        cand->p = p;
        cand->q = q;
        cand->constant = constant;
        for (guint i = 0; i < p; i++)
          cand->phi[i] = beta[(constant ? 1 : 0) + i];
        for (guint j = 0; j < q; j++)
          cand->theta[j] = beta[(constant ? 1 : 0) + p + j];
        cand->score = amigo_arima_aicc (sse, n_rows, k);
        n_cands++;
      }
    }
  }
  qsort (cands, n_cands, sizeof (AmigoArimaCandidate), candidate_cmp);
  return n_cands;
}

