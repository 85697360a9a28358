/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "amigo/amigo-model.h"

G_BEGIN_DECLS

/**
 * AmigoModelLstmConfig:
 * @hidden: LSTM cells (default 16).
 * @window: input steps the network reads before forecasting (default 24).
 * @horizon: steps forecast directly (default 24); longer forecasts feed the
 *   forecast back in.
 * @epochs: passes over the training windows (default 8).
 * @batch: windows per Adam step (default 32).
 * @bptt: backpropagation through the last @bptt input steps only
 *   (truncated BPTT; default 12, 0 = the whole window).
 * @learning_rate: Adam step size (default 0.01).
 * @thin: each epoch trains on a fresh random 1/@thin of the training
 *   windows (default 1 = all of them); neighbouring windows overlap in all
 *   but one step, so a cheap refit can skip most of them.
 *
 * Shape and training of the "lstm" model; the registry's "lstm" class uses
 * the defaults of amigo_model_lstm_config_init().
 */
typedef struct {
  guint hidden;
  guint window;
  guint horizon;
  guint epochs;
  guint batch;
  guint bptt;
  double learning_rate;
  guint thin;
} AmigoModelLstmConfig;

void amigo_model_lstm_config_init (AmigoModelLstmConfig *config);

/* Fit with an explicit configuration (the class's fit uses the defaults). */
AmigoModel *amigo_model_lstm_fit_with (const AmigoSeries *history,
                                       const AmigoModelOptions *options,
                                       const AmigoModelLstmConfig *config,
                                       GError **error);

/* Warm start: a new model that starts from @prev's weights and normalisation
 * (so @prev may come from amigo_model_lstm_load()) and trains @epochs more
 * passes over @history; @epochs = 0 only re-reads the recent history (context
 * and interval residuals), which is cheap. @history must have @prev's step. */
AmigoModel *amigo_model_lstm_fit_from (const AmigoModel *prev,
                                       const AmigoSeries *history,
                                       const AmigoModelOptions *options,
                                       guint epochs,
                                       GError **error);

/* Between refits: a new model with @prev's weights, normalisation and
 * interval residuals whose context is the last window of @history, so it
 * forecasts from the newest data without training. O(window); @history
 * must have @prev's step and at least a window of samples. */
AmigoModel *amigo_model_lstm_update (const AmigoModel *prev, const AmigoSeries *history, GError **error);

/* The same with @config's training settings (epochs, batch, bptt, learning
 * rate, thin); its shape fields are ignored (the shape is @prev's). */
AmigoModel *amigo_model_lstm_fit_from_with (const AmigoModel *prev,
                                            const AmigoSeries *history,
                                            const AmigoModelOptions *options,
                                            const AmigoModelLstmConfig *config,
                                            GError **error);

/* Weight files: see docs/forecast-models.md ("LSTM weight file"). A loaded
 * model forecasts exactly as the saved one did (same context and interval
 * residuals); loading a truncated, corrupt, foreign or newer-version file
 * fails with AMIGO_ERROR_CORRUPT, AMIGO_ERROR_BAD_DATA or
 * AMIGO_ERROR_NOT_SUPPORTED and says what is wrong. */
gboolean amigo_model_lstm_save (const AmigoModel *model, const char *path, GError **error);
AmigoModel *amigo_model_lstm_load (const char *path, GError **error);

G_END_DECLS
