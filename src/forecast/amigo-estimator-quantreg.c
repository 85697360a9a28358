/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * quantile_regression: the window estimator that is learnt rather than
 * fixed. A median regression of the window peak on the other estimators'
 * bases (and the mean of the last window), fitted on the backtest and
 * cross-fitted so its backtest values are out of sample. See
 * docs/forecast.md.
 */
#include <math.h>
#include <string.h>

#include "amigo-model-private.h"
#include "amigo-selector-private.h"

/* Regressors of the quantile regression: intercept, last value, max and
 * mean of the last window, max of the last day, peak of the same window
 * yesterday, highest peak around this time of day over the week. */
#define QR_FEATURES 7
/* The regression locates the median of the window peak: every origin
 * informs it, whereas a 0.95-quantile fit rests on the few windows above
 * it (a handful of independent events a week, with overlapping windows),
 * too few for seven coefficients. The tail is the conformal correction's. */
#define QR_LEVEL 0.5
/* IRLS passes from the least-squares start: the coefficients settle to
 * well within their sampling noise after a few, and each pass costs a
 * sweep over at most 2 QR_ROWS origins (a cold reservation has under a
 * millisecond a resource). */
#define QR_ITERATIONS 8
/* Most rows per cross-fitting half (see quantreg_backtest()). */
#define QR_ROWS 256

G_STATIC_ASSERT (QR_FEATURES <= AMIGO_ESTIMATOR_MAX_COEF);

/* Linear quantile regression of the window peak on QR_FEATURES regressors
 * known at the origin: minimise sum rho_q (y - x.beta) over the rows
 * [from, to) of @x (row-major) by iteratively reweighted least squares
 * (each residual weighted by q or 1 - q over its magnitude, floored at
 * @eps), with a tiny ridge so collinear regressors (flat series) stay
 * solvable. Only every @stride-th row is used. Rows with a non-finite
 * target are skipped. FALSE if the system
 * is singular or there are too few rows. */
static gboolean
quantreg_fit (const double *x, const double *y, gsize from, gsize to, gsize stride, double q, double eps,
              double *beta)
{
  enum { P = QR_FEATURES };
  double a[P * P], c[P];
  gsize rows = 0;

  for (gsize i = from; i < to; i += stride)
    rows += isfinite (y[i]);
  if (rows < 4 * P)
    return FALSE;
  for (guint it = 0; it < QR_ITERATIONS; it++) {
    double trace = 0.0, delta = 0.0;

    memset (a, 0, sizeof (a));
    memset (c, 0, sizeof (c));
    for (gsize i = from; i < to; i += stride) {
      const double *xi = x + i * P;
      double w, r;
      if (!isfinite (y[i]))
        continue;
      if (it == 0) {
        w = 1.0;
      } else {
        r = y[i];
        for (guint j = 0; j < P; j++)
          r -= xi[j] * beta[j];
        w = (r > 0.0 ? q : 1.0 - q) / fmax (fabs (r), eps);
      }
      for (guint j = 0; j < P; j++) {
        double wx = w * xi[j];
        c[j] += wx * y[i];
        for (guint k = 0; k <= j; k++)
          a[j * P + k] += wx * xi[k];
      }
    }
    for (guint j = 0; j < P; j++)
      trace += a[j * P + j];
    /* A + ridge I: collinear regressors (a flat series) stay solvable */
    for (guint j = 0; j < P; j++)
      a[j * P + j] += 1e-9 * trace / P + 1e-300;
    if (!amigo_cholesky_solve (a, c, P, 0.0))
      return it > 0;
    for (guint j = 0; j < P; j++) {
      if (!isfinite (c[j]))
        return it > 0;
    }
    for (guint j = 0; j < P; j++) {
      delta = fmax (delta, fabs (c[j] - beta[j]));
      beta[j] = c[j];
    }
    if (it > 0 && delta < 1e-6)
      break;
  }
  return TRUE;
}

static double
quantreg_predict (const double *beta, const double *x)
{
  double u = 0.0;

  for (guint j = 0; j < QR_FEATURES; j++)
    u += beta[j] * x[j];
  return u;
}

/* Regressors at origin t computed directly (the backtest uses sliding
 * arrays that give the same values). */
static void
quantreg_features_at (const double *v, gsize t, gsize h, gsize season, double *x)
{
  x[0] = 1.0;
  x[1] = amigo_estimators[AMIGO_ESTIMATOR_LAST_VALUE]->at (v, t, h, season, NULL);
  x[2] = amigo_estimators[AMIGO_ESTIMATOR_RECENT]->at (v, t, h, season, NULL);
  x[3] = amigo_estimator_recent_mean (v, t, h);
  x[4] = amigo_estimators[AMIGO_ESTIMATOR_DAY_PEAK]->at (v, t, h, season, NULL);
  x[5] = amigo_estimators[AMIGO_ESTIMATOR_SEASONAL]->at (v, t, h, season, NULL);
  x[6] = amigo_estimators[AMIGO_ESTIMATOR_SAME_HOUR]->at (v, t, h, season, NULL);
}

/* The quantile regression as a backtest base. Its regressors are the other
 * bases (all eligible whenever it is) plus the mean of the last window.
 * The base at each origin is predicted out of sample by cross-fitting: the
 * older half of the origins is predicted by the fit on the newer half and
 * vice versa, so its conformal correction and score are as honest as the
 * parameter-free bases'. FALSE if a fit fails (then the base is left out). */
static gboolean
quantreg_backtest (AmigoBacktest *bt, const double *v, double *ret_beta)
{
  enum { P = QR_FEATURES };
  gsize m = bt->n_origins, half = m / 2;
  g_autofree double *x = g_new (double, m * P);
  g_autofree double *y = g_new (double, m);
  double sc = 100.0 * bt->ratio_floor, beta_a[P] = { 0 }, beta_b[P] = { 0 };

  for (gsize i = 0; i < m; i++) {
    gsize t = bt->t0 + i * bt->stride;
    double *xi = x + i * P;
    gboolean ok;

    xi[0] = 1.0;
    xi[1] = bt->base[AMIGO_ESTIMATOR_LAST_VALUE][i] / sc;
    xi[2] = bt->base[AMIGO_ESTIMATOR_RECENT][i] / sc;
    xi[3] = amigo_estimator_recent_mean (v, t, bt->h) / sc;
    xi[4] = bt->base[AMIGO_ESTIMATOR_DAY_PEAK][i] / sc;
    xi[5] = bt->base[AMIGO_ESTIMATOR_SEASONAL][i] / sc;
    xi[6] = bt->base[AMIGO_ESTIMATOR_SAME_HOUR][i] / sc;
    ok = isfinite (bt->actual[i]);
    for (guint j = 0; j < P; j++)
      ok = ok && isfinite (xi[j]);
    y[i] = ok ? bt->actual[i] / sc : NAN;
  }
  /* QR_ROWS rows per half (origins hours apart) pin down seven
   * coefficients well enough; more cost time and change little. */
  gsize stride = MAX ((half + QR_ROWS - 1) / QR_ROWS, 1);

  if (!quantreg_fit (x, y, 0, half, stride, QR_LEVEL, 1e-4, beta_a) ||
      !quantreg_fit (x, y, half, m, stride, QR_LEVEL, 1e-4, beta_b))
    return FALSE;
  for (gsize i = 0; i < m; i++) {
    double u = sc * quantreg_predict (i < half ? beta_b : beta_a, x + i * P);
    bt->base[AMIGO_ESTIMATOR_QUANTREG][i] = isfinite (y[i]) ? u : NAN;
  }
  /* The coefficients for the next window: the mean of the two halves'
   * (a third fit on all origins cost as much again and changed little). */
  for (guint j = 0; j < P; j++)
    ret_beta[j] = 0.5 * (beta_a[j] + beta_b[j]);
  ret_beta[0] *= sc;
  return TRUE;
}

/* With no coefficients (nothing fitted yet) the last value, as a
 * parameter-free member would fall back to. */
static double
quantreg_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  double x[QR_FEATURES];

  if (coef == NULL)
    return amigo_estimator_last_finite (v, t);
  quantreg_features_at (v, t, h, season, x);
  return quantreg_predict (coef, x);
}

const AmigoWindowEstimator amigo_estimator_quantreg = {
  "quantile_regression", amigo_estimator_same_hour_lookback, quantreg_at, NULL, quantreg_backtest
};
