/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between amigo-migration-timing.c (the choice, its cost and its reason) and
 * amigo-migration-timing-forecast.c (history on one grid, the candidates'
 * backtest and the forecast). Not installed; tests may include it. */

#include "amigo-migration-timing.h"

G_BEGIN_DECLS

/* The grid every series is averaged onto: the smallest multiple of this
 * that divides a day and is at least every series' step. Five minutes is
 * the history store's summary step and the traces' step. */
#define AMIGO_TIMING_BASE_STEP_USEC (5 * G_GINT64_CONSTANT (60000000))
/* History read: a week holds seven samples of every time of day. */
#define AMIGO_TIMING_MAX_HISTORY_USEC (7 * AMIGO_MIGRATION_TIMING_MIN_HISTORY_USEC)

/**
 * AmigoTimingGrid:
 * @step_usec: bin width.
 * @start_usec: start of bin 0; bin @n_bins - 1 ends at now.
 * @n_bins: bins.
 * @period: bins per day.
 * @first_valid: first bin where any series has a value.
 * @values: per series the mean of its samples in each bin (NAN: none), or
 *   NULL when the series is not known.
 * @scale: per series the mean of its absolute values (1 when 0): errors and
 *   demand are measured relative to it.
 */
typedef struct {
  gint64 step_usec;
  gint64 start_usec;
  gsize n_bins;
  gsize period;
  gsize first_valid;
  double *values[AMIGO_MIGRATION_TIMING_N_SERIES];
  double scale[AMIGO_MIGRATION_TIMING_N_SERIES];
} AmigoTimingGrid;

/* Averages the input's series onto one grid ending at now. */
void amigo_timing_grid_build (const AmigoMigrationTimingInput *input, AmigoTimingGrid *ret);
void amigo_timing_grid_clear (AmigoTimingGrid *grid);
gboolean amigo_timing_grid_has (const AmigoTimingGrid *grid, AmigoMigrationTimingSeries series);

/* TRUE when @name is a candidate's name. */
gboolean amigo_timing_candidate_exists (const char *name);

/* Backtests the allowed candidates (@models, NULL = all) at past origins
 * over @horizon bins, keeps the lowest error and forecasts every known series
 * @horizon bins after the grid's end into @ret_forecast[series] (caller's
 * arrays of @horizon values; unknown series are left alone). Sets
 * @ret->model, @ret->n_origins and @ret->scores. FALSE with @error when no
 * allowed candidate could forecast. */
gboolean amigo_timing_forecast (const AmigoTimingGrid *grid,
                                const char *const *models,
                                gsize horizon,
                                guint64 seed,
                                double *ret_forecast[AMIGO_MIGRATION_TIMING_N_SERIES],
                                AmigoMigrationTiming *ret,
                                GError **error);

G_END_DECLS
