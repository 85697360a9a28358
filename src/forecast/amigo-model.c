/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-model.h"

#include <math.h>

#include "amigo-error.h"
#include "amigo-model-private.h"

/* The one table of forecasting methods: a new model is one file plus one line. */
static const AmigoModelClass *const model_classes[] = {
  &amigo_model_arima_class,
  &amigo_model_class_lstm,
  &amigo_model_class_last,
  &amigo_model_class_seasonal_naive,
  &amigo_model_class_peak,
  &amigo_model_class_vpa,
  NULL
};

const AmigoModelClass *const *
amigo_model_classes (void)
{
  return model_classes;
}

const AmigoModelClass *
amigo_model_class_lookup (const char *name)
{
  for (gsize i = 0; model_classes[i] != NULL; i++) {
    if (g_strcmp0 (model_classes[i]->name, name) == 0)
      return model_classes[i];
  }
  return NULL;
}

gboolean
amigo_model_check_step (const AmigoSeries *history, GError **error)
{
  if (history->step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series step must be positive, got %" G_GINT64_FORMAT " us", history->step_usec);
    return FALSE;
  }
  return TRUE;
}

AmigoModel *
amigo_model_fit (const AmigoModelClass *klass,
                 const AmigoSeries *history,
                 const AmigoModelOptions *options,
                 GError **error)
{
  AmigoModelOptions defaults = { 0 };

  g_return_val_if_fail (klass != NULL, NULL);
  if (history == NULL || (history->n_values > 0 && history->values == NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no history given to model '%s'", klass->name);
    return NULL;
  }
  if (!amigo_model_check_step (history, error))
    return NULL;
  return klass->fit (history, options != NULL ? options : &defaults, error);
}

gboolean
amigo_model_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean,
                      double *ret_lower, double *ret_upper, GError **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  if (horizon == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "forecast horizon must be at least one step");
    return FALSE;
  }
  if (!(quantile > 0.5 && quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "quantile must be in (0.5, 1), got %g", quantile);
    return FALSE;
  }
  return model->klass->forecast (model, horizon, quantile, ret_mean, ret_lower, ret_upper, error);
}

AmigoModel *
amigo_model_warm_start (const AmigoModel *prev,
                        const AmigoSeries *history,
                        const AmigoModelOptions *options,
                        GError **error)
{
  AmigoModelOptions defaults = { 0 };

  g_return_val_if_fail (prev != NULL, NULL);
  if (prev->klass->warm_start == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "model '%s' cannot warm start", prev->klass->name);
    return NULL;
  }
  return prev->klass->warm_start (prev, history, options != NULL ? options : &defaults, error);
}

AmigoModel *
amigo_model_update (const AmigoModel *prev, const AmigoSeries *history, GError **error)
{
  g_return_val_if_fail (prev != NULL, NULL);
  if (prev->klass->update == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "model '%s' cannot be updated without a fit",
                 prev->klass->name);
    return NULL;
  }
  return prev->klass->update (prev, history, error);
}

const char *
amigo_model_name (const AmigoModel *model)
{
  return model != NULL ? model->klass->name : NULL;
}

void
amigo_model_free (AmigoModel *model)
{
  if (model == NULL)
    return;
  model->klass->free (model);
}

void
amigo_model_free_struct (AmigoModel *model)
{
  g_free (model);
}

void
amigo_model_fill_flat (gsize horizon,
                       double mean,
                       double lower,
                       double upper,
                       double *ret_mean,
                       double *ret_lower,
                       double *ret_upper)
{
  for (gsize h = 0; h < horizon; h++) {
    ret_mean[h] = mean;
    ret_upper[h] = upper;
    if (ret_lower != NULL)
      ret_lower[h] = lower;
  }
}

gboolean
amigo_cholesky_solve (double *a, double *b, guint k, double tolerance)
{
  for (guint j = 0; j < k; j++) {
    double s = a[j * k + j];
    for (guint l = 0; l < j; l++)
      s -= a[j * k + l] * a[j * k + l];
    if (!(s > tolerance * (1.0 + fabs (a[j * k + j]))))
      return FALSE;
    a[j * k + j] = sqrt (s);
    for (guint i = j + 1; i < k; i++) {
      double t = a[i * k + j];
      for (guint l = 0; l < j; l++)
        t -= a[i * k + l] * a[j * k + l];
      a[i * k + j] = t / a[j * k + j];
    }
  }
  for (guint i = 0; i < k; i++) {
    double t = b[i];
    for (guint l = 0; l < i; l++)
      t -= a[i * k + l] * b[l];
    b[i] = t / a[i * k + i];
  }
  for (guint i = k; i-- > 0;) {
    double t = b[i];
    for (guint l = i + 1; l < k; l++)
      t -= a[l * k + i] * b[l];
    b[i] = t / a[i * k + i];
  }
  return TRUE;
}
