/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo/amigo-model.h"
#include "amigo/amigo-series.h"

G_BEGIN_DECLS

/**
 * AmigoEvaluateOptions:
 * @quantile: the quantile every method reserves at (and pinball loss is
 *   taken at).
 * @window_usec: length of the window after each origin (migration plus
 *   settling); its actual demand is its peak.
 * @origin_every_usec: spacing of the migration origins.
 * @min_history_usec: the first origin comes this long after the start.
 * @max_history_usec: methods see at most this much history before an
 *   origin.
 * @seed: passed to every method.
 * @refit_usec: methods that are expensive to fit (lstm) are trained again
 *   only when their fit is this old; in between they forecast from the
 *   newest history with the weights they have (docs/evaluation.md,
 *   "Refit policy"). Default one day.
 * @train_usec: expensive methods (arima, lstm) are fitted on at most this
 *   much of the history (AmigoModelOptions.max_train). Default three days.
 *
 * The replay protocol (docs/evaluation.md).
 */
typedef struct {
  double quantile;
  gint64 window_usec;
  gint64 origin_every_usec;
  gint64 min_history_usec;
  gint64 max_history_usec;
  guint64 seed;
  gint64 refit_usec;
  gint64 train_usec;
} AmigoEvaluateOptions;

void amigo_evaluate_options_init (AmigoEvaluateOptions *options);
gboolean amigo_evaluate_options_check (const AmigoEvaluateOptions *options, GError **error);
/* One evaluated window of one method on one series. @scale is the mean of
 * that series (pinball loss is divided by it). */
typedef struct {
  double reservation;
  double peak;
  double scale;
} AmigoWindowOutcome;

/**
 * AmigoMetrics:
 * @coverage: share of windows whose peak stayed within the reservation.
 * @slack: sum of reservations / sum of peaks - 1.
 * @slack_median: median over windows with peak > 0 of reservation/peak - 1.
 * @pinball: mean pinball loss at the quantile of the reservation against
 *   the peak, each window divided by its series' mean.
 * @us_per_forecast: mean CPU time of the process per scored window (fit or
 *   refresh + forecast; refits counted where they happen, so amortised), µs.
 * @windows: windows evaluated.
 * @failures: windows where the method returned an error (not evaluated).
 *
 * NAN where undefined (no windows; no positive peak).
 */
typedef struct {
  double coverage;
  double slack;
  double slack_median;
  double pinball;
  double us_per_forecast;
  gsize windows;
  gsize failures;
} AmigoMetrics;

void amigo_evaluate_metrics (const AmigoWindowOutcome *outcomes, gsize n_outcomes, double quantile,
                             AmigoMetrics *ret_metrics);

/* One window of the series passed with a track (amigo-replay --plot and
 * --windows). @scale is the series' mean its pinball loss is divided by. */
typedef struct {
  guint method;
  gint64 start_usec;
  gint64 end_usec;
  double reservation;
  double peak;
  double scale;
} AmigoTrackPoint;

typedef struct _AmigoEvaluation AmigoEvaluation;

AmigoEvaluation *amigo_evaluation_new (const AmigoEvaluateOptions *options);
void amigo_evaluation_free (AmigoEvaluation *self);

gboolean amigo_evaluation_add_method (AmigoEvaluation *self, const char *name, GError **error);
void amigo_evaluation_add_model_class (AmigoEvaluation *self, const AmigoModelClass *klass);
guint amigo_evaluation_n_methods (const AmigoEvaluation *self);
const char *amigo_evaluation_method_name (const AmigoEvaluation *self, guint method);

gboolean amigo_evaluation_run_series (AmigoEvaluation *self, AmigoResource resource, const AmigoSeries *series,
                                      GArray *track, GError **error);

void amigo_evaluation_get_metrics (const AmigoEvaluation *self, guint method, AmigoResource resource,
                                   AmigoMetrics *ret_metrics);
const char *amigo_evaluation_first_failure (const AmigoEvaluation *self, guint method, AmigoResource resource);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoEvaluation, amigo_evaluation_free)

G_END_DECLS
