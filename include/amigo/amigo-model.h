/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-series.h"

G_BEGIN_DECLS

/**
 * AmigoModelOptions:
 * @season: steps per season (e.g. 288 for daily at 5 min); 0 lets the model
 *   decide (or use none).
 * @seed: seed for anything random (LSTM initialisation); runs are repeatable.
 * @max_train: the model may look at only the last @max_train samples (0 = all).
 * @resource: what the series measures (some methods treat CPU and memory
 *   differently, as the Kubernetes VPA does).
 * @epochs: training passes of a model that trains (LSTM); 0 = its default.
 *   Models that do not train ignore it.
 * @thin: each training pass uses a random 1/@thin of the training windows;
 *   0 = the model's default (all of them). Models that do not train ignore it.
 */
typedef struct {
  AmigoResource resource;
  gsize season;
  guint64 seed;
  gsize max_train;
  guint epochs;
  guint thin;
} AmigoModelOptions;

typedef struct _AmigoModel AmigoModel;
typedef struct _AmigoModelClass AmigoModelClass;

/**
 * AmigoModelClass:
 * @name: short name ("arima", "lstm", "last", "seasonal_naive", "peak", "vpa").
 * @min_history: fewest non-missing samples @fit accepts.
 * @fit: fits the model on @history (missing values are NAN); returns NULL and
 *   sets @error (AMIGO_ERROR_INSUFFICIENT_HISTORY, AMIGO_ERROR_BAD_DATA...) on
 *   failure.
 * @forecast: fills @horizon steps after the end of the fitted history:
 *   @ret_mean (point forecast), @ret_lower and @ret_upper (the (1 - @quantile)
 *   and @quantile quantiles of each step). @ret_lower may be NULL.
 * @free: releases the model; accepts NULL.
 * @costly_fit: fitting costs more than linear in the history (ARIMA's order
 *   search, LSTM training): a caller that replays long histories gives it
 *   @max_train.
 * @warm_start: (optional) a new model that starts from @prev's parameters
 *   (same class) and trains on @history with @options' epochs and thin;
 *   NULL for a model that does not train.
 * @update: (optional) a new model with @prev's parameters, moved to the end
 *   of @history without training (cheap); NULL when a model has none.
 *
 * One forecasting method. Every member lives in its own
 * src/forecast/amigo-model-<name>.c and is listed once in amigo-model.c.
 */
struct _AmigoModelClass {
  const char *name;
  gsize min_history;
  AmigoModel *(*fit) (const AmigoSeries *history,
                      const AmigoModelOptions *options,
                      GError **error);
  gboolean (*forecast) (const AmigoModel *model,
                        gsize horizon,
                        double quantile,
                        double *ret_mean,
                        double *ret_lower,
                        double *ret_upper,
                        GError **error);
  void (*free) (AmigoModel *model);
  gboolean costly_fit;
  AmigoModel *(*warm_start) (const AmigoModel *prev,
                             const AmigoSeries *history,
                             const AmigoModelOptions *options,
                             GError **error);
  AmigoModel *(*update) (const AmigoModel *prev,
                         const AmigoSeries *history,
                         GError **error);
};

/* Every model struct starts with this. */
struct _AmigoModel {
  const AmigoModelClass *klass;
};

/* All registered model classes, NULL-terminated. */
const AmigoModelClass *const *amigo_model_classes (void);
const AmigoModelClass *amigo_model_class_lookup (const char *name);

AmigoModel *amigo_model_fit (const AmigoModelClass *klass,
                             const AmigoSeries *history,
                             const AmigoModelOptions *options,
                             GError **error);
gboolean amigo_model_forecast (const AmigoModel *model,
                               gsize horizon,
                               double quantile,
                               double *ret_mean,
                               double *ret_lower,
                               double *ret_upper,
                               GError **error);
/* The class's optional operations; fail with AMIGO_ERROR_NOT_SUPPORTED when
 * @prev's class has none. */
AmigoModel *amigo_model_warm_start (const AmigoModel *prev,
                                    const AmigoSeries *history,
                                    const AmigoModelOptions *options,
                                    GError **error);
AmigoModel *amigo_model_update (const AmigoModel *prev,
                                const AmigoSeries *history,
                                GError **error);
const char *amigo_model_name (const AmigoModel *model);
void amigo_model_free (AmigoModel *model);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoModel, amigo_model_free)

G_END_DECLS
