/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo/amigo-model.h"

G_BEGIN_DECLS

/* Lower-level API of the "arima" model class, for tests and benchmarks.
 * The daemon uses the AmigoModelClass (amigo_model_class_lookup ("arima")). */

#define AMIGO_ARIMA_MAX_P 5
#define AMIGO_ARIMA_MAX_Q 5
#define AMIGO_ARIMA_MAX_D 2
/* Fewest valid samples a fit accepts. */
#define AMIGO_ARIMA_MIN_HISTORY 10
/* Longest run of missing samples bridged by linear interpolation. */
#define AMIGO_ARIMA_MAX_GAP 12
/* Samples beyond this magnitude are rejected as absurd. */
#define AMIGO_ARIMA_MAX_ABS 1e100

/**
 * AmigoArimaOrder:
 * @p: AR order (0..AMIGO_ARIMA_MAX_P).
 * @d: differences (0..AMIGO_ARIMA_MAX_D).
 * @q: MA order (0..AMIGO_ARIMA_MAX_Q).
 * @constant: a mean (d = 0) or a drift (d = 1); ignored for d = 2.
 * @season: period of the seasonal profile removed before the ARMA fit,
 *   0 when none was removed.
 */
typedef struct {
  guint p;
  guint d;
  guint q;
  gboolean constant;
  gsize season;
} AmigoArimaOrder;

/* A model fitted by the "arima" class is an AmigoArima: cast it to use the
 * accessors below. */
typedef struct _AmigoArima AmigoArima;

/**
 * amigo_arima_fit:
 * @values: @n samples, NAN for missing ones.
 * @season: candidate period (steps); the profile is removed only when the
 *   series shows strong seasonality at that period. 0 = no seasonality.
 * @order: a fixed order to fit (its @season is ignored), or NULL to choose
 *   the order by AICc.
 *
 * Returns: (transfer full): the fitted model, or NULL with @error set.
 */
AmigoArima *amigo_arima_fit (const double *values,
                             gsize n,
                             gsize season,
                             const AmigoArimaOrder *order,
                             GError **error);

gboolean amigo_arima_forecast (const AmigoArima *self,
                               gsize horizon,
                               double quantile,
                               double *ret_mean,
                               double *ret_lower,
                               double *ret_upper,
                               GError **error);

void amigo_arima_get_order (const AmigoArima *self, AmigoArimaOrder *ret_order);
/* AR and MA coefficients: the model is (1 - sum ar_i B^i) (1 - B)^d y =
 * c + (1 + sum ma_j B^j) e. Returned arrays hold order.p / order.q values. */
const double *amigo_arima_get_ar (const AmigoArima *self);
const double *amigo_arima_get_ma (const AmigoArima *self);
/* Innovation variance in the units of the series (squared). */
double amigo_arima_get_sigma2 (const AmigoArima *self);
double amigo_arima_get_aicc (const AmigoArima *self);
/* Number of candidate models that were fitted by CSS. */
guint amigo_arima_get_n_fitted (const AmigoArima *self);

void amigo_arima_free (AmigoArima *self);

/* KPSS level-stationarity test: number of differences (0..max_d) after
 * which the test no longer rejects at 5 %. @x has no missing value. */
guint amigo_arima_ndiffs (const double *x, gsize n, guint max_d);
/* Seasonal strength in [0, 1] (1 - var(remainder) / var(detrended)) of a
 * classical decomposition at @period; 0 when @n < 2 @period. */
double amigo_arima_seasonal_strength (const double *x, gsize n, gsize period);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoArima, amigo_arima_free)

G_END_DECLS
