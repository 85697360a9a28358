/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ARIMA estimation: the conditional sum of squares of an ARMA on the
 * differenced series, minimised with GSL's Levenberg-Marquardt
 * (gsl_multifit_nlinear), AR and MA parametrised through partial
 * autocorrelations (tanh) so they stay stationary/invertible. See
 * amigo-model-arima.c for the pipeline, docs/forecast-arima.md for why.
 */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>

#include "amigo-arima-private.h"

/* ---------- small numerical helpers ---------- */

double
amigo_arima_mean (const double *x, gsize n)
{
  double s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += x[i];
  return n > 0 ? s / n : 0.0;
}

double
amigo_arima_var (const double *x, gsize n)
{
  double m = amigo_arima_mean (x, n), s = 0.0;
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

double
amigo_arima_aicc (double sse, gsize n_eff, guint n_par)
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
void
amigo_arima_css_fit (AmigoArimaCandidate *cand, const double *w_raw, gsize n, gsize t0, gboolean optimise,
         double *scratch_w, double *scratch_e)
{
  CssProblem cp = { 0 };
  guint k = cand->p + cand->q;
  double mean = cand->constant ? amigo_arima_mean (w_raw, n) : 0.0;
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
  cand->score = amigo_arima_aicc (sse, n - t0, k + (cand->constant ? 1 : 0));
}

