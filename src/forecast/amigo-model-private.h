/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "amigo/amigo-model.h"

G_BEGIN_DECLS

/* Model classes, one per amigo-model-<name>.c; listed in amigo-model.c. */
/* ARIMA (amigo-model-arima.c) */
extern const AmigoModelClass amigo_model_arima_class;
/* LSTM and baselines (amigo-model-{lstm,last,seasonal-naive,peak,vpa}.c) */
extern const AmigoModelClass amigo_model_class_lstm;
extern const AmigoModelClass amigo_model_class_last;
extern const AmigoModelClass amigo_model_class_seasonal_naive;
extern const AmigoModelClass amigo_model_class_peak;
extern const AmigoModelClass amigo_model_class_vpa;
/* AMIGO_ERROR_INVALID_ARGS unless @history's step is positive: the check
 * amigo_model_fit(), the LSTM's fit and the selector share. In amigo-model.c. */
gboolean amigo_model_check_step (const AmigoSeries *history, GError **error);
/* Helpers shared by the baselines, in amigo-model-last.c. */
double amigo_model_last_quantile (double *values, gsize n_values, double quantile);
void amigo_model_last_quantile_pair (double *values, gsize n, double q_low, double q_high,
                                     double *ret_low, double *ret_high);
gboolean amigo_model_last_check_series (const AmigoSeries *history, const char *model_name,
                                        gsize *ret_n_present, GError **error);
double amigo_model_last_value (const double *values, gsize n_values);
/* @scratch holds 2 * @n_tail values; @ret_low may be NULL (only the upper
 * quantile is computed then). */
gboolean amigo_model_last_change_interval (const double *tail, gsize n_tail, gsize step, double quantile,
                                           double *scratch, double *ret_low, double *ret_high);
gboolean amigo_model_last_fill (const double *tail, gsize n_tail, double base, gsize horizon,
                                double quantile, double *ret_mean, double *ret_lower, double *ret_upper);
/* Steps per season: options->season, or one day of history->step_usec (at least 1). */
gsize amigo_model_seasonal_naive_period (const AmigoSeries *history, const AmigoModelOptions *options);

/* The free of a member whose model is one g_new'ed struct. */
void amigo_model_free_struct (AmigoModel *model);

/* Fills @horizon steps of a flat forecast (the same mean, lower and upper
 * bound at every step); @ret_lower may be NULL. */
void amigo_model_fill_flat (gsize horizon,
                            double mean,
                            double lower,
                            double upper,
                            double *ret_mean,
                            double *ret_lower,
                            double *ret_upper);

/* Solves A x = b in place for a small symmetric positive definite A
 * (row-major, dimension @k; only its lower triangle is read; on return it
 * holds the Cholesky factor and @b holds x). FALSE when a pivot is not
 * above @tolerance x (1 + |its diagonal entry|). */
gboolean amigo_cholesky_solve (double *a, double *b, guint k, double tolerance);

G_END_DECLS
