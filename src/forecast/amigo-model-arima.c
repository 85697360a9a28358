/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ARIMA(p,d,q) forecaster with automatic order selection.
 *
 * Pipeline (see docs/forecast-arima.md for why):
 *   1. take the last max_train samples, bridge short gaps, standardise;
 *   2. if a daily (or given) period shows strong seasonal strength
 *      (> 0.64, the threshold of forecast::nsdiffs' "seas" test), remove a
 *      seasonal profile from a classical decomposition (like forecast::stlf);
 *   3. choose d by repeated KPSS tests (5 %);
 *   4. on the latest ARIMA_CSS_WINDOW differenced samples, rank every
 *      (p, q, constant) with p, q <= 5, p + q <= 5 by AICc of a
 *      Hannan-Rissanen regression (one Gram matrix, a tiny Cholesky each);
 *   5. fit the best 2 by conditional sum of squares with GSL's
 *      Levenberg-Marquardt (gsl_multifit_nlinear), AR and MA parametrised
 *      through partial autocorrelations (tanh) so they stay
 *      stationary/invertible; keep the lowest CSS AICc;
 *   6. forecast by the ARIMA recursion, variances from psi weights,
 *      intervals from the Gaussian quantile.
 */
#include "amigo-model-arima.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

#define ARIMA_MAX_PQ 5           /* p + q */
#define ARIMA_MAX_COEF (AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_Q)
#define ARIMA_KPSS_CRIT_5 0.463  /* KPSS level test, 5 % */
#define ARIMA_SEASONAL_STRENGTH 0.64
#define ARIMA_N_REFINE 2         /* candidates refitted by CSS */
#define ARIMA_CSS_MAX_ITER 6     /* Levenberg-Marquardt iterations */
#define ARIMA_CSS_WINDOW 512     /* latest differenced samples the ARMA part is fitted on */
#define ARIMA_HR_DIM (2 + AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_Q)

struct _AmigoArima {
  AmigoModel parent;
  AmigoArimaOrder order;
  double ar[AMIGO_ARIMA_MAX_P];
  double ma[AMIGO_ARIMA_MAX_Q];
  double constant;             /* mean or drift, standardised units */
  double sigma2;               /* standardised units */
  double aicc;
  guint n_fitted;
  double loc, scale;           /* x = loc + scale * z */
  double tail[AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_D]; /* last z, newest last */
  double resid[AMIGO_ARIMA_MAX_Q];                    /* last e, newest last */
  gsize n_used;                /* samples of the fitted window */
  gsize n_skip;                /* missing samples after the window */
  double *profile;             /* order.season values, or NULL */
};

/* ---------- small numerical helpers ---------- */

static double
mean_of (const double *x, gsize n)
{
  double s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += x[i];
  return n > 0 ? s / n : 0.0;
}

static double
var_of (const double *x, gsize n)
{
  double m = mean_of (x, n), s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += (x[i] - m) * (x[i] - m);
  return n > 1 ? s / n : 0.0;
}

/* Partial autocorrelations (via tanh of @r) to the coefficients of a
 * stationary 1 - sum coef_i B^i (Durbin-Levinson). */
static void
pacf_to_coef (const double *r, guint k, double *coef)
{
  double old[ARIMA_MAX_COEF];

  for (guint i = 0; i < k; i++) {
    double a = tanh (r[i]);
    memcpy (old, coef, i * sizeof (double));
    for (guint j = 0; j < i; j++)
      coef[j] = old[j] - a * old[i - 1 - j];
    coef[i] = a;
  }
}

/* Inverse of pacf_to_coef(); FALSE when the polynomial is not stationary. */
static gboolean
coef_to_pacf (const double *coef_in, guint k, double *r)
{
  double coef[ARIMA_MAX_COEF], old[ARIMA_MAX_COEF];

  memcpy (coef, coef_in, k * sizeof (double));
  for (guint i = k; i-- > 0;) {
    double a = coef[i];
    if (!(fabs (a) < 0.999))
      return FALSE;
    r[i] = atanh (a);
    for (guint j = 0; j < i; j++)
      old[j] = (coef[j] + a * coef[i - 1 - j]) / (1.0 - a * a);
    memcpy (coef, old, i * sizeof (double));
  }
  return TRUE;
}

/* Unconstrained start values for @coef, shrinking the polynomial's roots
 * outwards until it is stationary. */
static void
start_from_coef (const double *coef_in, guint k, double *r)
{
  double coef[ARIMA_MAX_COEF];

  memcpy (coef, coef_in, k * sizeof (double));
  for (guint iter = 0; iter < 60; iter++) {
    if (coef_to_pacf (coef, k, r))
      return;
    for (guint i = 0; i < k; i++)
      coef[i] *= pow (0.9, i + 1);
  }
  memset (r, 0, k * sizeof (double));
}

/* ---------- input preparation ---------- */

/* Copies the usable window of @values into a new array: the samples after
 * the last gap longer than AMIGO_ARIMA_MAX_GAP, shorter gaps interpolated,
 * trailing missing samples cut off (counted in @ret_skip). */
static double *
prepare_values (const double *values, gsize n, gsize *ret_n, gsize *ret_skip, GError **error)
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
  double m = mean_of (x, n), s = 0.0, num = 0.0, lrv;
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
    double v = var_of (w, n), m = mean_of (w, n);
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
static double
seasonal_decompose (const double *x, gsize n, gsize period, double *profile)
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
  vd = var_of (detr + lo, hi - lo);
  for (gsize t = lo; t < hi; t++)
    detr[t] -= s[t % period];
  vr = var_of (detr + lo, hi - lo);
  if (profile != NULL)
    memcpy (profile, s, period * sizeof (double));
  if (!(vd > 0.0))
    return 0.0;
  return CLAMP (1.0 - vr / vd, 0.0, 1.0);
}

double
amigo_arima_seasonal_strength (const double *x, gsize n, gsize period)
{
  return seasonal_decompose (x, n, period, NULL);
}

/* ---------- CSS fit ---------- */

typedef struct {
  const double *w;     /* centred series */
  gsize n;
  gsize t0;            /* first residual */
  guint p, q;
  double *e;           /* n residuals, e[t < t0] = 0 */
  double *dcoef;       /* 2 n scratch for the Jacobian */
  double e_at[ARIMA_MAX_COEF]; /* parameters @e was computed for */
  gboolean e_valid;
} CssProblem;

static void
css_coef (const CssProblem *cp, const gsl_vector *x, double *phi, double *theta)
{
  double r[ARIMA_MAX_COEF] = { 0 };

  for (guint i = 0; i < cp->p + cp->q; i++)
    r[i] = gsl_vector_get (x, i);
  pacf_to_coef (r, cp->p, phi);
  pacf_to_coef (r + cp->p, cp->q, theta);
  for (guint j = 0; j < cp->q; j++)
    theta[j] = -theta[j];
}

/* Hot loop: everything in locals (the project builds with
 * -fno-strict-aliasing, so stores through e[] would reload any field). */
static double
css_residuals (const CssProblem *cp, const double *phi_in, const double *theta_in)
{
  const double *restrict w = cp->w;
  double *restrict e = cp->e;
  const gsize n = cp->n, t0 = cp->t0, warm = MIN (cp->n, cp->t0 + cp->q);
  const guint p = cp->p, q = cp->q;
  double phi[AMIGO_ARIMA_MAX_P], theta[AMIGO_ARIMA_MAX_Q], sse = 0.0;

  memcpy (phi, phi_in, p * sizeof (double));
  memcpy (theta, theta_in, q * sizeof (double));
  memset (e, 0, t0 * sizeof (double));
  for (gsize t = t0; t < warm; t++) {
    double v = w[t];
    for (guint i = 0; i < p; i++)
      v -= phi[i] * w[t - 1 - i];
    for (guint j = 0; j < q && t >= t0 + 1 + j; j++)
      v -= theta[j] * e[t - 1 - j];
    e[t] = v;
    sse += v * v;
  }
  for (gsize t = warm; t < n; t++) {
    double v = w[t];
    for (guint i = 0; i < p; i++)
      v -= phi[i] * w[t - 1 - i];
    for (guint j = 0; j < q; j++)
      v -= theta[j] * e[t - 1 - j];
    e[t] = v;
    sse += v * v;
  }
  return sse;
}

/* Residuals at @x into cp->e, unless they are already there (GSL asks for
 * the Jacobian at the point it just evaluated). */
static void
css_update (CssProblem *cp, const gsl_vector *x, double *phi, double *theta)
{
  gboolean same = cp->e_valid;

  css_coef (cp, x, phi, theta);
  for (guint i = 0; i < cp->p + cp->q && same; i++)
    same = cp->e_at[i] == gsl_vector_get (x, i);
  if (same)
    return;
  css_residuals (cp, phi, theta);
  for (guint i = 0; i < cp->p + cp->q; i++)
    cp->e_at[i] = gsl_vector_get (x, i);
  cp->e_valid = TRUE;
}

static int
css_f (const gsl_vector *x, void *data, gsl_vector *f)
{
  CssProblem *cp = data;
  double phi[AMIGO_ARIMA_MAX_P], theta[AMIGO_ARIMA_MAX_Q];

  css_update (cp, x, phi, theta);
  for (gsize t = cp->t0; t < cp->n; t++)
    gsl_vector_set (f, t - cp->t0, cp->e[t]);
  return GSL_SUCCESS;
}

/* d e_t / d phi_i = -w_{t-i} - sum_j theta_j d e_{t-j} / d phi_i;
 * d e_t / d theta_j = -e_{t-j} - sum_k theta_k d e_{t-k} / d theta_j;
 * then chained with d coef / d x of the pacf parametrisation. */
static int
css_df (const gsl_vector *x, void *data, gsl_matrix *jac)
{
  CssProblem *cp = data;
  guint k = cp->p + cp->q;
  gsize m = cp->n - cp->t0;
  double phi[AMIGO_ARIMA_MAX_P], theta[AMIGO_ARIMA_MAX_Q];
  double tr[ARIMA_MAX_COEF * ARIMA_MAX_COEF] = { 0 };
  double *dc = cp->dcoef;

  css_update (cp, x, phi, theta);

  /* d coef / d x by forward differences of the (tiny) transform. */
  {
    double r[ARIMA_MAX_COEF] = { 0 }, base[ARIMA_MAX_COEF], pert[ARIMA_MAX_COEF];
    for (guint i = 0; i < k; i++)
      r[i] = gsl_vector_get (x, i);
    pacf_to_coef (r, cp->p, base);
    pacf_to_coef (r + cp->p, cp->q, base + cp->p);
    for (guint c = 0; c < k; c++) {
      double h = 1e-7 * (1.0 + fabs (r[c])), sign = c < cp->p ? 1.0 : -1.0;
      gboolean is_ar = c < cp->p;
      guint off = is_ar ? 0 : cp->p, len = is_ar ? cp->p : cp->q;
      double rr[ARIMA_MAX_COEF];
      memcpy (rr, r + off, len * sizeof (double));
      rr[c - off] += h;
      pacf_to_coef (rr, len, pert);
      for (guint i = 0; i < len; i++)
        tr[(off + i) * k + c] = sign * (pert[i] - base[off + i]) / h;
    }
  }

  /* d e_t / d phi_i = -u_{t-i} and d e_t / d theta_j = -v_{t-j}, where u
   * and v are w and e filtered by 1 / theta(B) (exact for the MA columns;
   * for the AR ones only the first few rows differ, which at most slows
   * convergence: the residuals themselves are exact). Then chained
   * through the transform into the Jacobian row. */
  {
    const double *restrict w = cp->w;
    const double *restrict e = cp->e;
    const gsize t0 = cp->t0, n = cp->n, tda = jac->tda;
    const guint p = cp->p, q = cp->q;
    double *restrict u = dc;          /* n values */
    double *restrict v = dc + n;      /* n values */
    double *restrict jd = jac->data;

    for (gsize t = 0; t < n; t++) {
      double uu = w[t], vv = t >= t0 ? e[t] : 0.0;
      for (guint j = 0; j < q && j < t; j++) {
        uu -= theta[j] * u[t - 1 - j];
        vv -= theta[j] * v[t - 1 - j];
      }
      u[t] = uu;
      v[t] = vv;
    }
    for (gsize s = 0; s < m; s++) {
      gsize t = s + t0;
      double *restrict out = jd + s * tda;
      for (guint c = 0; c < p; c++) {
        double acc = 0.0;
        for (guint i = 0; i < p; i++)
          acc -= u[t - 1 - i] * tr[i * k + c];
        out[c] = acc;
      }
      for (guint c = 0; c < q; c++) {
        double acc = 0.0;
        for (guint j = 0; j < q; j++)
          acc -= v[t - 1 - j] * tr[(p + j) * k + p + c];
        out[p + c] = acc;
      }
    }
  }
  return GSL_SUCCESS;
}

typedef struct {
  guint p, q;
  gboolean constant;
  double phi[AMIGO_ARIMA_MAX_P];
  double theta[AMIGO_ARIMA_MAX_Q];
  double score;        /* HR AICc, then CSS AICc */
  double sigma2;
} Candidate;

static double
aicc_of (double sse, gsize n_eff, guint n_par)
{
  double sigma2 = sse / n_eff;
  double k = n_par + 1.0;   /* + sigma */
  if (!(sigma2 > 0.0))
    sigma2 = 1e-300;
  if (n_eff <= k + 1.0)
    return INFINITY;
  return n_eff * (log (2.0 * G_PI * sigma2) + 1.0) + 2.0 * k + 2.0 * k * (k + 1.0) / (n_eff - k - 1.0);
}

/* Fits @cand in place by CSS from its start values, with residuals from @t0. */
static void
css_fit (Candidate *cand, const double *w_raw, gsize n, gsize t0, gboolean optimise,
         double *scratch_w, double *scratch_e)
{
  CssProblem cp = { 0 };
  guint k = cand->p + cand->q;
  double mean = cand->constant ? mean_of (w_raw, n) : 0.0;
  double phi[AMIGO_ARIMA_MAX_P], theta[AMIGO_ARIMA_MAX_Q];
  double sse;

  for (gsize t = 0; t < n; t++)
    scratch_w[t] = w_raw[t] - mean;
  cp.w = scratch_w;
  cp.n = n;
  cp.t0 = t0;
  cp.p = cand->p;
  cp.q = cand->q;
  cp.e = scratch_e;

  memcpy (phi, cand->phi, sizeof phi);
  memcpy (theta, cand->theta, sizeof theta);
  if (k > 0 && optimise) {
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters ();
    gsl_multifit_nlinear_fdf fdf = { 0 };
    gsl_multifit_nlinear_workspace *ws;
    double x0[ARIMA_MAX_COEF], neg[AMIGO_ARIMA_MAX_Q];
    gsl_vector_view xv;
    int info = 0;
    g_autofree double *dcoef = g_new (double, 2 * n);

    cp.dcoef = dcoef;
    start_from_coef (cand->phi, cand->p, x0);
    for (guint j = 0; j < cand->q; j++)
      neg[j] = -cand->theta[j];
    start_from_coef (neg, cand->q, x0 + cand->p);
    xv = gsl_vector_view_array (x0, k);

    params.solver = gsl_multifit_nlinear_solver_cholesky;
    params.scale = gsl_multifit_nlinear_scale_levenberg;
    fdf.f = css_f;
    fdf.df = css_df;
    fdf.n = n - t0;
    fdf.p = k;
    fdf.params = &cp;
    ws = gsl_multifit_nlinear_alloc (gsl_multifit_nlinear_trust, &params, n - t0, k);
    if (gsl_multifit_nlinear_init (&xv.vector, &fdf, ws) == GSL_SUCCESS)
      gsl_multifit_nlinear_driver (ARIMA_CSS_MAX_ITER, 1e-4, 1e-4, 1e-8, NULL, NULL, &info, ws);
    g_debug ("arima: CSS fit (%u,%u) %zu iterations, %zu f evaluations, %zu df", cand->p, cand->q,
             gsl_multifit_nlinear_niter (ws), fdf.nevalf, fdf.nevaldf);
    css_coef (&cp, gsl_multifit_nlinear_position (ws), phi, theta);
    gsl_multifit_nlinear_free (ws);
  }
  sse = css_residuals (&cp, phi, theta);
  memcpy (cand->phi, phi, cand->p * sizeof (double));
  memcpy (cand->theta, theta, cand->q * sizeof (double));
  cand->sigma2 = sse / (n - t0);
  cand->score = aicc_of (sse, n - t0, k + (cand->constant ? 1 : 0));
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
  const Candidate *ca = a, *cb = b;
  return (ca->score > cb->score) - (ca->score < cb->score);
}

/* Ranks all orders by Hannan-Rissanen AICc; fills @cands (sorted) and
 * returns how many. */
static guint
hr_rank (const double *w, gsize n, guint pmax, guint qmax, gboolean const_free,
         gboolean const_default, double *scratch, Candidate *cands)
{
  double mean = mean_of (w, n);
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
        Candidate *cand = &cands[n_cands];

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
        cand->score = aicc_of (sse, n_rows, k);
        n_cands++;
      }
    }
  }
  qsort (cands, n_cands, sizeof (Candidate), candidate_cmp);
  return n_cands;
}

/* ---------- the fit ---------- */

static AmigoArima *
arima_new (void)
{
  AmigoArima *self = g_new0 (AmigoArima, 1);
  self->parent.klass = &amigo_model_arima_class;
  return self;
}

static void
arima_set_state (AmigoArima *self, const double *z, gsize n, const double *e, gsize n_e)
{
  guint nt = self->order.p + self->order.d, nq = self->order.q;

  for (guint i = 0; i < nt; i++)
    self->tail[i] = i + n >= nt ? z[n - nt + i] : z[0];
  for (guint j = 0; j < nq; j++)
    self->resid[j] = (e != NULL && j + n_e >= nq) ? e[n_e - nq + j] : 0.0;
}

/* Fits the ARIMA part on the standardised (possibly seasonally adjusted)
 * levels @y into @self: d (KPSS unless @order), then the order search. */
static gboolean
arima_fit_levels (AmigoArima *self, const double *y, gsize ny, const AmigoArimaOrder *order, GError **error)
{
  g_autofree double *w = NULL;
  g_autofree double *scratch = NULL;
  g_autofree Candidate *cands = NULL;
  gsize nw, n_e = 0;
  guint d, pmax, qmax, n_cands, n_refine;
  gsl_error_handler_t *old_handler;
  Candidate best;

  d = order != NULL ? order->d : amigo_arima_ndiffs (y, ny, AMIGO_ARIMA_MAX_D);
  while (d > 0 && ny - d < AMIGO_ARIMA_MIN_HISTORY)
    d--;
  nw = ny - d;
  w = g_memdup2 (y, ny * sizeof (double));
  for (guint k = 0; k < d; k++)
    for (gsize i = 0; i + 1 + k < ny; i++)
      w[i] = w[i + 1] - w[i];
  self->order.d = d;

  {
    double vw = var_of (w, nw), mw = mean_of (w, nw);
    if (!(vw > 1e-20 * (1.0 + mw * mw))) {
      /* Deterministic after differencing (e.g. a straight line). */
      self->order.p = self->order.q = 0;
      self->order.constant = d < 2;
      self->constant = d < 2 ? mw : 0.0;
      self->sigma2 = 0.0;
      self->aicc = -INFINITY;
      arima_set_state (self, y, ny, NULL, 0);
      return TRUE;
    }
  }

  old_handler = gsl_set_error_handler_off ();
  scratch = g_new (double, 2 * nw);
  pmax = MIN (AMIGO_ARIMA_MAX_P, (guint) (nw / 10));
  qmax = MIN (AMIGO_ARIMA_MAX_Q, (guint) (nw / 10));
  cands = g_new0 (Candidate, 2 * (AMIGO_ARIMA_MAX_P + 1) * (AMIGO_ARIMA_MAX_Q + 1));
  if (order != NULL) {
    gboolean constant = order->constant && d < 2;
    n_cands = 0;
    if (order->p <= pmax && order->q <= qmax) {
      /* Use HR start values of exactly that order when possible. */
      guint nr = hr_rank (w, nw, order->p, order->q, FALSE, constant, scratch, cands);
      for (guint i = 0; i < nr; i++) {
        if (cands[i].p == order->p && cands[i].q == order->q) {
          cands[0] = cands[i];
          n_cands = 1;
          break;
        }
      }
    }
    if (n_cands == 0) {
      if (order->p + order->q + 2 >= nw) {
        gsl_set_error_handler (old_handler);
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                     "ARIMA(%u,%u,%u) needs more than %" G_GSIZE_FORMAT " samples",
                     order->p, order->d, order->q, ny);
        return FALSE;
      }
      memset (&cands[0], 0, sizeof (Candidate));
      cands[0].p = order->p;
      cands[0].q = order->q;
      cands[0].constant = constant;
      n_cands = 1;
    }
  } else {
    gsize nwin = MIN (nw, (gsize) ARIMA_CSS_WINDOW);
    n_cands = hr_rank (w + (nw - nwin), nwin, pmax, qmax, d == 1, d == 0, scratch, cands);
    if (n_cands == 0) {
      memset (&cands[0], 0, sizeof (Candidate));
      cands[0].constant = d < 2;
      n_cands = 1;
    }
  }

  /* The best candidates of distinct (p, q) (the constant is a linear term
   * that the Hannan-Rissanen ranking already decides well), refitted by CSS
   * on the recent window, all conditioned on the same first residual so
   * that their AICc compare. */
  n_refine = 0;
  for (guint i = 0; i < n_cands && n_refine < ARIMA_N_REFINE; i++) {
    gboolean dup = FALSE;
    for (guint j = 0; j < n_refine; j++)
      dup = dup || (cands[j].p == cands[i].p && cands[j].q == cands[i].q);
    if (!dup)
      cands[n_refine++] = cands[i];
  }
  {
    gsize t0 = 0, nwin = order != NULL ? nw : MIN (nw, (gsize) ARIMA_CSS_WINDOW);
    const double *wwin = w + (nw - nwin);
    for (guint i = 0; i < n_refine; i++)
      t0 = MAX (t0, cands[i].p);
    for (guint i = 0; i < n_refine; i++) {
      css_fit (&cands[i], wwin, nwin, t0, TRUE, scratch, scratch + nw);
      g_debug ("arima: ARIMA(%u,%u,%u)%s CSS AICc %.2f", cands[i].p, d, cands[i].q,
               cands[i].constant ? " with constant" : "", cands[i].score);
    }
    best = cands[0];
    for (guint i = 1; i < n_refine; i++)
      if (cands[i].score < best.score)
        best = cands[i];
    self->n_fitted += n_refine;
    /* Final residuals of the chosen model for the forecast state. */
    css_fit (&best, wwin, nwin, t0, FALSE, scratch, scratch + nw);
    n_e = nwin;
  }
  gsl_set_error_handler (old_handler);

  self->order.p = best.p;
  self->order.q = best.q;
  self->order.constant = best.constant && d < 2;
  memcpy (self->ar, best.phi, best.p * sizeof (double));
  memcpy (self->ma, best.theta, best.q * sizeof (double));
  self->constant = self->order.constant ? mean_of (w + (nw - n_e), n_e) : 0.0;
  self->sigma2 = best.sigma2;
  self->aicc = best.score;
  arima_set_state (self, y, ny, scratch + nw, n_e);
  return TRUE;
}

AmigoArima *
amigo_arima_fit (const double *values,
                 gsize n,
                 gsize season,
                 const AmigoArimaOrder *order,
                 GError **error)
{
  g_autoptr (AmigoArima) self = NULL;
  g_autofree double *y = NULL;
  g_autofree double *profile = NULL;
  gsize ny = 0, skip = 0;
  double loc, sd, strength = 0.0;

  if (values == NULL && n > 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no history given");
    return NULL;
  }
  if (order != NULL && (order->p > AMIGO_ARIMA_MAX_P || order->q > AMIGO_ARIMA_MAX_Q ||
                        order->d > AMIGO_ARIMA_MAX_D)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "ARIMA order (%u,%u,%u) is beyond the supported (%d,%d,%d)",
                 order->p, order->d, order->q, AMIGO_ARIMA_MAX_P, AMIGO_ARIMA_MAX_D, AMIGO_ARIMA_MAX_Q);
    return NULL;
  }
  y = prepare_values (values, n, &ny, &skip, error);
  if (y == NULL)
    return NULL;

  self = arima_new ();
  self->n_used = ny;
  self->n_skip = skip;
  loc = mean_of (y, ny);
  sd = sqrt (var_of (y, ny));
  self->loc = loc;
  self->scale = 1.0;
  if (!(sd > 1e-9 * MAX (fabs (loc), 1e-300))) {
    /* Constant series: forecast the constant with zero-width intervals. */
    g_debug ("arima: constant history (%g), no model fitted", loc);
    self->order.constant = TRUE;
    self->aicc = -INFINITY;
    return g_steal_pointer (&self);
  }
  self->scale = sd;
  for (gsize i = 0; i < ny; i++)
    y[i] = (y[i] - loc) / sd;

  if (order == NULL && season >= 2 && ny >= 2 * season) {
    profile = g_new (double, season);
    strength = seasonal_decompose (y, ny, season, profile);
    g_debug ("arima: seasonal strength %.3f at period %" G_GSIZE_FORMAT, strength, season);
  }

  if (profile != NULL && strength > ARIMA_SEASONAL_STRENGTH) {
    /* Strong seasonality: remove the profile (as nsdiffs' "seas" test
     * would difference seasonally). */
    for (gsize i = 0; i < ny; i++)
      y[i] -= profile[i % season];
    self->profile = g_steal_pointer (&profile);
    self->order.season = season;
  }
  if (!arima_fit_levels (self, y, ny, order, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* ---------- forecast ---------- */

gboolean
amigo_arima_forecast (const AmigoArima *self,
                      gsize horizon,
                      double quantile,
                      double *ret_mean,
                      double *ret_lower,
                      double *ret_upper,
                      GError **error)
{
  const AmigoArimaOrder *o;
  double astar[AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_D + 1] = { 0 };
  double zq, c, psum = 0.0, var = 0.0;
  gsize total, nt;
  g_autofree double *buf = NULL;
  g_autofree double *psi = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  if (horizon == 0 || ret_mean == NULL || ret_upper == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                         "forecast needs a horizon of at least one step and output arrays");
    return FALSE;
  }
  if (!(quantile > 0.5 && quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "quantile must be in (0.5, 1), got %g", quantile);
    return FALSE;
  }
  o = &self->order;
  zq = gsl_cdf_ugaussian_Pinv (quantile);
  total = horizon + self->n_skip;

  /* phi*(B) = phi(B) (1 - B)^d as y_t = sum astar_i y_{t-i} + ... */
  {
    double poly[AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_D + 1] = { 1.0 };
    guint deg = o->p;
    for (guint i = 0; i < o->p; i++)
      poly[i + 1] = -self->ar[i];
    for (guint k = 0; k < o->d; k++) {
      for (guint i = deg + 1; i > 0; i--)
        poly[i] -= poly[i - 1];
      deg++;
    }
    for (guint i = 1; i <= deg; i++)
      astar[i] = -poly[i];
  }
  nt = o->p + o->d;
  for (guint i = 0; i < o->p; i++)
    psum += self->ar[i];
  c = o->constant ? self->constant * (1.0 - psum) : 0.0;

  buf = g_new0 (double, nt + total);
  psi = g_new0 (double, total);
  memcpy (buf, self->tail, nt * sizeof (double));
  for (gsize h = 0; h < total; h++) {
    double v = c;
    for (guint i = 1; i <= nt; i++)
      v += astar[i] * buf[nt + h - i];
    for (guint j = (guint) h; j < o->q; j++)
      v += self->ma[j] * self->resid[o->q - 1 - (j - h)];
    buf[nt + h] = v;
    /* psi weights */
    psi[h] = h == 0 ? 1.0 : (h <= o->q ? self->ma[h - 1] : 0.0);
    for (guint i = 1; i <= nt && i <= h; i++)
      psi[h] += astar[i] * psi[h - i];
  }
  /* d = 0 with a mean: the recursion above runs on z - mean. */
  for (gsize h = 0; h < total; h++) {
    var += psi[h] * psi[h];
    if (h < self->n_skip)
      continue;
    gsize out = h - self->n_skip;
    double z = buf[nt + h];
    double x = self->loc + self->scale * z;
    double half = zq * self->scale * sqrt (self->sigma2 * var);
    if (self->profile != NULL)
      x += self->scale * self->profile[(self->n_used + h) % o->season];
    ret_mean[out] = x;
    ret_upper[out] = x + half;
    if (ret_lower != NULL)
      ret_lower[out] = x - half;
  }
  return TRUE;
}

/* ---------- accessors ---------- */

void
amigo_arima_get_order (const AmigoArima *self, AmigoArimaOrder *ret_order)
{
  g_return_if_fail (self != NULL && ret_order != NULL);
  *ret_order = self->order;
}

const double *
amigo_arima_get_ar (const AmigoArima *self)
{
  return self->ar;
}

const double *
amigo_arima_get_ma (const AmigoArima *self)
{
  return self->ma;
}

double
amigo_arima_get_sigma2 (const AmigoArima *self)
{
  return self->sigma2 * self->scale * self->scale;
}

double
amigo_arima_get_aicc (const AmigoArima *self)
{
  return self->aicc;
}

guint
amigo_arima_get_n_fitted (const AmigoArima *self)
{
  return self->n_fitted;
}

void
amigo_arima_free (AmigoArima *self)
{
  if (self == NULL)
    return;
  g_free (self->profile);
  g_free (self);
}

/* ---------- AmigoModelClass ---------- */

static AmigoModel *
arima_class_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  const double *values = history->values;
  gsize n = history->n_values, season = options->season;

  if (options->max_train > 0 && n > options->max_train) {
    values += n - options->max_train;
    n = options->max_train;
  }
  if (season == 0 && history->step_usec > 0 && AMIGO_USEC_PER_DAY % history->step_usec == 0) {
    gsize per_day = (gsize) (AMIGO_USEC_PER_DAY / history->step_usec);
    if (per_day >= 2 && n >= 2 * per_day)
      season = per_day;
  }
  return (AmigoModel *) amigo_arima_fit (values, n, season, NULL, error);
}

static gboolean
arima_class_forecast (const AmigoModel *model, gsize horizon, double quantile,
                      double *ret_mean, double *ret_lower, double *ret_upper, GError **error)
{
  return amigo_arima_forecast ((const AmigoArima *) model, horizon, quantile,
                               ret_mean, ret_lower, ret_upper, error);
}

static void
arima_class_free (AmigoModel *model)
{
  amigo_arima_free ((AmigoArima *) model);
}

const AmigoModelClass amigo_model_arima_class = {
  .name = "arima",
  .min_history = AMIGO_ARIMA_MIN_HISTORY,
  .fit = arima_class_fit,
  .forecast = arima_class_forecast,
  .free = arima_class_free,
  .costly_fit = TRUE,
};
