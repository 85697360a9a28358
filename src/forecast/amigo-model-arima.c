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
 *
 * This file is the fit pipeline, the forecast and the model-table member;
 * steps 1 and 3-4 (order search) are amigo-arima-order.c, step 5 (CSS)
 * amigo-arima-css.c.
 */
#include "amigo-arima-private.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-time.h"

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

/* GSL's error handler is one process-wide pointer. Saving it, turning it
 * off for a fit and restoring it afterwards raced between fits on two
 * threads (one could restore the aborting default while the other still
 * ran), so it is turned off once and stays off. The fits behave as before
 * (they always ran with it off); elsewhere a GSL error is now a returned
 * status or NaN, never an abort of the daemon. */
static void
arima_gsl_errors_off (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    gsl_set_error_handler_off ();
    g_once_init_leave (&done, 1);
  }
}

/* Fits the ARIMA part on the standardised (possibly seasonally adjusted)
 * levels @y into @self: d (KPSS unless @order), then the order search. */
static gboolean
arima_fit_levels (AmigoArima *self, const double *y, gsize ny, const AmigoArimaOrder *order, GError **error)
{
  g_autofree double *w = NULL;
  g_autofree double *scratch = NULL;
  g_autofree AmigoArimaCandidate *cands = NULL;
  gsize nw, n_e = 0;
  guint d, pmax, qmax, n_cands, n_refine;
  AmigoArimaCandidate best;

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
    double vw = amigo_arima_var (w, nw), mw = amigo_arima_mean (w, nw);
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

  arima_gsl_errors_off ();
  scratch = g_new (double, 2 * nw);
  pmax = MIN (AMIGO_ARIMA_MAX_P, (guint) (nw / 10));
  qmax = MIN (AMIGO_ARIMA_MAX_Q, (guint) (nw / 10));
  cands = g_new0 (AmigoArimaCandidate, 2 * (AMIGO_ARIMA_MAX_P + 1) * (AMIGO_ARIMA_MAX_Q + 1));
  if (order != NULL) {
    gboolean constant = order->constant && d < 2;
    n_cands = 0;
    if (order->p <= pmax && order->q <= qmax) {
      /* Use HR start values of exactly that order when possible. */
      guint nr = amigo_arima_hr_rank (w, nw, order->p, order->q, FALSE, constant, scratch, cands);
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
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                     "ARIMA(%u,%u,%u) needs more than %" G_GSIZE_FORMAT " samples",
                     order->p, order->d, order->q, ny);
        return FALSE;
      }
      memset (&cands[0], 0, sizeof (AmigoArimaCandidate));
      cands[0].p = order->p;
      cands[0].q = order->q;
      cands[0].constant = constant;
      n_cands = 1;
    }
  } else {
    gsize nwin = MIN (nw, (gsize) ARIMA_CSS_WINDOW);
    n_cands = amigo_arima_hr_rank (w + (nw - nwin), nwin, pmax, qmax, d == 1, d == 0, scratch, cands);
    if (n_cands == 0) {
      memset (&cands[0], 0, sizeof (AmigoArimaCandidate));
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
      amigo_arima_css_fit (&cands[i], wwin, nwin, t0, TRUE, scratch, scratch + nw);
      g_debug ("arima: ARIMA(%u,%u,%u)%s CSS AICc %.2f", cands[i].p, d, cands[i].q,
               cands[i].constant ? " with constant" : "", cands[i].score);
    }
    best = cands[0];
    for (guint i = 1; i < n_refine; i++)
      if (cands[i].score < best.score)
        best = cands[i];
    self->n_fitted += n_refine;
    /* Final residuals of the chosen model for the forecast state. */
    amigo_arima_css_fit (&best, wwin, nwin, t0, FALSE, scratch, scratch + nw);
    n_e = nwin;
  }

  self->order.p = best.p;
  self->order.q = best.q;
  self->order.constant = best.constant && d < 2;
  memcpy (self->ar, best.phi, best.p * sizeof (double));
  memcpy (self->ma, best.theta, best.q * sizeof (double));
  self->constant = self->order.constant ? amigo_arima_mean (w + (nw - n_e), n_e) : 0.0;
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
  y = amigo_arima_prepare_values (values, n, &ny, &skip, error);
  if (y == NULL)
    return NULL;

  self = arima_new ();
  self->n_used = ny;
  self->n_skip = skip;
  loc = amigo_arima_mean (y, ny);
  sd = sqrt (amigo_arima_var (y, ny));
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
    strength = amigo_arima_seasonal_decompose (y, ny, season, profile);
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
amigo_arima_forecast (const AmigoArima *self, gsize horizon, double quantile, double *ret_mean,
                      double *ret_lower, double *ret_upper, GError **error)
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
arima_class_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean,
                      double *ret_lower, double *ret_upper, GError **error)
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

