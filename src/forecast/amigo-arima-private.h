/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the "arima" model shared by its files (forecast/ and tests
 * only): the order search (amigo-arima-order.c: input preparation, KPSS,
 * seasonal strength, Hannan-Rissanen ranking), the CSS estimation
 * (amigo-arima-css.c) and the model-table member (amigo-model-arima.c). */

#include "amigo-model-arima.h"

G_BEGIN_DECLS

#define ARIMA_MAX_PQ 5           /* p + q */
#define ARIMA_MAX_COEF (AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_Q)
#define ARIMA_KPSS_CRIT_5 0.463  /* KPSS level test, 5 % */
#define ARIMA_SEASONAL_STRENGTH 0.64
#define ARIMA_N_REFINE 2         /* candidates refitted by CSS */
#define ARIMA_CSS_MAX_ITER 6     /* Levenberg-Marquardt iterations */
#define ARIMA_CSS_WINDOW 512     /* latest differenced samples the ARMA part is fitted on */
#define ARIMA_HR_DIM (2 + AMIGO_ARIMA_MAX_P + AMIGO_ARIMA_MAX_Q)

/* One (p, q, constant) order with its coefficients and scores. */
typedef struct {
  guint p, q;
  gboolean constant;
  double phi[AMIGO_ARIMA_MAX_P];
  double theta[AMIGO_ARIMA_MAX_Q];
  double score;        /* HR AICc, then CSS AICc */
  double sigma2;
} AmigoArimaCandidate;

/* Mean and (biased) variance of x[0..n) (amigo-arima-css.c). */
double amigo_arima_mean (const double *x, gsize n);
double amigo_arima_var (const double *x, gsize n);

/* AICc of a fit with @n_par parameters and sum of squares @sse over @n_eff
 * samples (amigo-arima-css.c). */
double amigo_arima_aicc (double sse, gsize n_eff, guint n_par);

/* Fits @cand in place by CSS from its start values, with residuals from @t0
 * (amigo-arima-css.c). */
void amigo_arima_css_fit (AmigoArimaCandidate *cand, const double *w_raw, gsize n, gsize t0, gboolean optimise,
                          double *scratch_w, double *scratch_e);

/* The usable window of @values as a new array (amigo-arima-order.c). */
double *amigo_arima_prepare_values (const double *values, gsize n, gsize *ret_n, gsize *ret_skip, GError **error);
/* Classical decomposition: fills @profile (period values), returns the
 * seasonal strength. */
double amigo_arima_seasonal_decompose (const double *x, gsize n, gsize period, double *profile);
/* Ranks all orders by Hannan-Rissanen AICc; fills @cands (sorted) and
 * returns how many. */
guint amigo_arima_hr_rank (const double *w, gsize n, guint pmax, guint qmax, gboolean const_free,
                           gboolean const_default, double *scratch, AmigoArimaCandidate *cands);

G_END_DECLS
