/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When to start a migration that may wait: within a deadline, at the point
 * where the VM's forecast demand and dirty rate make the migration cheapest.
 * Pure computation on series handed in (no libvirt, no global state, safe to
 * call from any thread); docs/migration-timing.md says how and what it buys. */

#include <glib.h>

#include "amigo/amigo-overhead.h"
#include "amigo/amigo-series.h"

G_BEGIN_DECLS

/* Less history than a day shows no daily pattern: start now. */
#define AMIGO_MIGRATION_TIMING_MIN_HISTORY_USEC (24 * G_GINT64_CONSTANT (3600000000))
/* Longest deadline (the D-Bus Migrate option's bound, 24 h). */
#define AMIGO_MIGRATION_TIMING_MAX_DEADLINE_USEC (24 * G_GINT64_CONSTANT (3600000000))
/* Waiting must promise at least this relative saving of the forecast cost,
 * else the migration starts now. The cost is built from point forecasts
 * whose error is of the same order as the signal's hour-to-hour changes
 * (docs/forecast-models.md: the best model beats "last" by a few per cent
 * on Bitbrains), and waiting has costs the model does not price (the
 * operator waits, the host moves on); a saving under one tenth is not
 * worth that. A definition, not fitted to any trace. */
#define AMIGO_MIGRATION_TIMING_MIN_GAIN 0.10
/* Most candidates a result can list. */
#define AMIGO_MIGRATION_TIMING_MAX_CANDIDATES 8

/**
 * AmigoMigrationTimingSeries:
 * @AMIGO_MIGRATION_TIMING_CPU: CPU use, cores (demand a migration disturbs).
 * @AMIGO_MIGRATION_TIMING_NETWORK: network, Mbit/s (demand; the migration
 *   stream shares the link).
 * @AMIGO_MIGRATION_TIMING_MEMORY: memory in use, GiB (what must be sent).
 * @AMIGO_MIGRATION_TIMING_DIRTY_RATE: page-dirty rate, MiB/s (what must be
 *   sent again: a lower rate is a shorter migration).
 */
typedef enum {
  AMIGO_MIGRATION_TIMING_CPU,
  AMIGO_MIGRATION_TIMING_NETWORK,
  AMIGO_MIGRATION_TIMING_MEMORY,
  AMIGO_MIGRATION_TIMING_DIRTY_RATE,
  AMIGO_MIGRATION_TIMING_N_SERIES
} AmigoMigrationTimingSeries;

/**
 * AmigoMigrationTimingInput:
 * @series: the VM's recent history per kind, each with its own step (raw or
 *   5-minute); NULL or empty when not known. Samples at or after @now_usec
 *   and older than 7 days are not read. Missing samples are NAN.
 * @now_usec: the time now (wall clock, microseconds since the epoch).
 * @deadline_usec: the migration must start within [now, now + deadline];
 *   0 = start now. At most AMIGO_MIGRATION_TIMING_MAX_DEADLINE_USEC.
 * @duration_usec: the plan's predicted migration duration under the
 *   conditions of now (> 0).
 * @overhead: (nullable) the plan's overhead-model input (link, downtime
 *   limit...). When set, the forecast dirty rate and memory at each start
 *   scale the duration by the overhead model's ratio to now's, so a lower
 *   dirty rate is a shorter migration. NULL: the duration is the same at
 *   every start and the dirty rate counts as demand.
 * @calibration: (nullable) the host's overhead calibration.
 * @models: (nullable) NULL-terminated names of the candidates allowed
 *   ("seasonal_naive", "profile", "arima", "lstm"); NULL = all of them.
 * @seed: seed of anything random (LSTM training); same input, same answer.
 */
typedef struct {
  const AmigoSeries *series[AMIGO_MIGRATION_TIMING_N_SERIES];
  gint64 now_usec;
  gint64 deadline_usec;
  gint64 duration_usec;
  const AmigoOverheadInput *overhead;
  const AmigoOverheadCalibration *calibration;
  const char *const *models;
  guint64 seed;
} AmigoMigrationTimingInput;

void amigo_migration_timing_input_init (AmigoMigrationTimingInput *input);

/**
 * AmigoMigrationTimingScore:
 * @name: candidate name (static string).
 * @error: its backtest error: mean absolute error over the horizon and the
 *   origins, divided by each series' mean, averaged over the series; NAN
 *   when it was not backtested or failed.
 */
typedef struct {
  const char *name;
  double error;
} AmigoMigrationTimingScore;

/**
 * AmigoMigrationTiming:
 * @start_offset_usec: start this long after now (0 .. deadline).
 * @start_usec: now + @start_offset_usec.
 * @cost_now: forecast cost of starting now (migration seconds x (1 + mean
 *   demand relative to the VM's own mean)); NAN when nothing was forecast.
 * @cost_start: the same at the chosen start.
 * @model: (nullable) the candidate whose forecast was used (static string).
 * @n_origins: backtest origins used (0: no backtest, @model is the
 *   baseline).
 * @scores: each candidate's backtest error, @n_scores of them.
 * @forecast_now: per series, the forecast value at now (NAN if not known).
 * @forecast_start: per series, the forecast value at the chosen start.
 * @reason: one sentence saying why this start.
 */
typedef struct {
  gint64 start_offset_usec;
  gint64 start_usec;
  double cost_now;
  double cost_start;
  const char *model;
  guint n_origins;
  guint n_scores;
  AmigoMigrationTimingScore scores[AMIGO_MIGRATION_TIMING_MAX_CANDIDATES];
  double forecast_now[AMIGO_MIGRATION_TIMING_N_SERIES];
  double forecast_start[AMIGO_MIGRATION_TIMING_N_SERIES];
  char *reason;
} AmigoMigrationTiming;

/* Chooses the start. Too little history, no deadline or nothing known is no
 * error: the answer is "now" and @reason says why. Fails with
 * AMIGO_ERROR_INVALID_ARGS (naming the field) on input out of range.
 * @ret is filled on success only; free it with amigo_migration_timing_clear().
 * Cost: up to ~150 ms of CPU on a week of 5-minute history of four series
 * (the bounded LSTM training is nearly all of it): call it off the main
 * loop. */
gboolean amigo_migration_timing_choose (const AmigoMigrationTimingInput *input,
                                        AmigoMigrationTiming *ret,
                                        GError **error);
void amigo_migration_timing_clear (AmigoMigrationTiming *timing);

G_END_DECLS
