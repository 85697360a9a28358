/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-classifier.h"
#include "amigo-series.h"

G_BEGIN_DECLS

/**
 * AmigoSelectorOptions:
 * @quantile: level of the window bound, in (0.5, 1); default 0.95.
 * @season: steps per day; 0 derives it from the series step.
 * @resource: what the series measures.
 * @workload: class of the VM (sets the prior for short histories).
 * @seed: passed to models that draw random numbers.
 * @registry_origins: backtest origins for the registered (amigo-model.h)
 *   models; below 2 leaves them out (only the built-in window estimators
 *   compete). Default 0: on the shared Bitbrains traces, letting them in
 *   with 19 origins (the fewest for which the 0.95 conformal rank exists)
 *   lowered coverage (CPU 0.957 -> 0.953, memory 0.944 -> 0.937, measured
 *   when this default was set) and tripled the cost of a cold reservation
 *   (docs/forecast.md).
 * @reselect_usec: rerun the backtest once this much new data has arrived
 *   since the last one; default one day.
 * @model_budget_usec: a registered model whose first backtest fit and
 *   forecast takes more CPU time than this is left out by this selector (so a
 *   cold reservation stays within milliseconds); 0 = no limit. Default 200
 *   (the simple models take 5 to 40 us, ARIMA 0.5 to 20 ms, LSTM 50 ms and more).
 */
typedef struct {
  double quantile;
  gsize season;
  AmigoResource resource;
  AmigoWorkloadClass workload;
  guint64 seed;
  guint registry_origins;
  gint64 reselect_usec;
  gint64 model_budget_usec;
} AmigoSelectorOptions;

void amigo_selector_options_init (AmigoSelectorOptions *options);

/**
 * AmigoWindowForecast:
 * @model: what made the bound: "median:<best-ranked member>" (e.g.
 *   "median:conformal_same_hour"), a registered model's name, or the class
 *   prior's estimator while the history is too short to backtest.
 * @window_upper: bound on the PEAK of the series over the window at the
 *   quantile (reservation grade).
 * @window_mean: expected mean of the series over the window.
 * @score: in-sample backtest pinball loss of that bound (series units,
 *   lower is better); NAN when the class prior was used.
 * @coverage: share of the backtest's windows whose peak the calibrated
 *   bound covered, in [0, 1] (before the forecast's cap and floor; a
 *   registered model: on its backtest origins); NAN when the class prior
 *   was used. In-sample, since the correction was learnt on the same
 *   windows: about the quantile or above, lower only where ties or a
 *   short backtest leave the rank coarse.
 */
typedef struct {
  char model[32];
  double window_upper;
  double window_mean;
  double score;
  double coverage;
} AmigoWindowForecast;

typedef struct _AmigoSelector AmigoSelector;

AmigoSelector *amigo_selector_new (const AmigoSelectorOptions *options);
void amigo_selector_free (AmigoSelector *self);

/* Bound on the peak of the next @horizon steps after @history. Repeated calls
 * with a growing history reuse the members and their calibration until a
 * reselect period of new data has arrived. */
gboolean amigo_selector_forecast (AmigoSelector *self,
                                  const AmigoSeries *history,
                                  gsize horizon,
                                  AmigoWindowForecast *ret,
                                  GError **error);

/* TRUE if the last amigo_selector_forecast() reran the backtest. */
gboolean amigo_selector_last_reselected (const AmigoSelector *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoSelector, amigo_selector_free)

G_END_DECLS
