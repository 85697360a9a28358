/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-classifier.h"
#include "amigo-overhead.h"
#include "amigo-selector.h"
#include "amigo-series.h"

G_BEGIN_DECLS

/**
 * AmigoVmHistory:
 * @resources: one series per resource in its unit (amigo_resource_unit());
 *   n_values 0 = absent.
 * @dirty_rate_bytes_s: guest page-dirty rate; NAN (or negative) = unknown:
 *   the migration is then estimated as the expensive case, the whole
 *   memory sent twice (AmigoOverheadInput.dirty_rate_unknown), never as a
 *   quiet guest.
 * @memory_bytes: guest memory size (0 = unknown: the memory forecast is used).
 * @label: an administrator's class; UNKNOWN = none (classify from history).
 */
struct _AmigoVmHistory {
  AmigoSeries resources[AMIGO_RESOURCE_LAST];
  double dirty_rate_bytes_s;
  guint64 memory_bytes;
  AmigoWorkloadClass label;
};

/**
 * AmigoMigrationWindow:
 * @start_usec: when the migration starts (epoch usec); before the end of the
 *   history means "now".
 * @duration_usec: expected migration time; 0 = use the overhead model's.
 * @settle_usec: time after switch-over the reservation must still cover.
 * @link_bytes_s: migration bandwidth, bytes/s.
 * @downtime_limit_usec: 0 = QEMU-like default.
 */
typedef struct {
  gint64 start_usec;
  gint64 duration_usec;
  gint64 settle_usec;
  double link_bytes_s;
  gint64 downtime_limit_usec;
} AmigoMigrationWindow;

/**
 * AmigoReservationOptions:
 * @quantile: default 0.95, in (0.5, 1).
 * @selectors: NULL or an array of AMIGO_RESOURCE_LAST selectors (entries may
 *   be NULL) kept by the caller per VM; reused so the backtest is not rerun
 *   every time. Their options must match @quantile.
 * @calibration: NULL or the overhead calibration learned on this host.
 * @receive_cores_per_gbit: 0 = AMIGO_OVERHEAD_DEFAULT_RECEIVE_CORES_PER_GBIT.
 * @selector_options: NULL or the options for the selectors this call creates
 *   itself (quantile, resource and workload are set per resource). NULL =
 *   amigo_selector_options_init()'s defaults, without registered models: a
 *   one-shot reservation then takes a few ms.
 */
typedef struct {
  double quantile;
  AmigoSelector **selectors;
  const AmigoOverheadCalibration *calibration;
  double receive_cores_per_gbit;
  const AmigoSelectorOptions *selector_options;
} AmigoReservationOptions;

void amigo_reservation_options_init (AmigoReservationOptions *options);

/**
 * AmigoResourceReservation:
 * @present: FALSE if the VM has no history for this resource (all else 0).
 * @amount: what to reserve = @upper + @overhead.
 * @upper: bound on the demand peak over the window.
 * @mean: expected mean demand over the window.
 * @overhead: transient extra demand of the migration on the destination.
 * @model: method chosen by the selector.
 * @score: its backtest pinball loss (NAN for a class prior).
 * @coverage: share of its backtest windows the calibrated bound covered
 *   (AmigoWindowForecast.coverage); NAN for a class prior, and when read
 *   from a reservation JSON written before it was recorded.
 */
typedef struct {
  gboolean present;
  double amount;
  double upper;
  double mean;
  double overhead;
  char model[32];
  double score;
  double coverage;
} AmigoResourceReservation;

/**
 * AmigoReservation:
 * @resources: per resource, in its unit.
 * @quantile: level of the bounds.
 * @horizon_usec: forecast window from the end of the history.
 * @start_usec: migration start used.
 * @end_usec: end of the covered window (start + duration + settle).
 * @classification: class, confidence and features.
 * @migration: the overhead model's estimate; its @dirty_rate_known says
 *   whether it rests on a measured dirty rate or on the expensive case
 *   assumed for an unknown one.
 */
typedef struct {
  AmigoResourceReservation resources[AMIGO_RESOURCE_LAST];
  double quantile;
  gint64 horizon_usec;
  gint64 start_usec;
  gint64 end_usec;
  AmigoClassification classification;
  AmigoOverheadEstimate migration;
} AmigoReservation;

gboolean amigo_reservation_compute (const AmigoVmHistory *history,
                                    const AmigoMigrationWindow *window,
                                    const AmigoReservationOptions *options,
                                    AmigoReservation *ret,
                                    GError **error);

char *amigo_reservation_to_json (const AmigoReservation *reservation);
gboolean amigo_reservation_from_json (const char *json,
                                      AmigoReservation *ret,
                                      GError **error);

G_END_DECLS
