/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-history.h"
#include "amigo-request.h"
#include "amigo/amigo-reservation.h"

G_BEGIN_DECLS

/**
 * AmigoForecaster: the bridge from a host's history store to the forecast
 * library. For each domain it reads the recorded usage, turns the collected
 * metrics into the forecast's resources, and computes the reservation
 * request for a migration starting now. Per-domain selector state is kept
 * between calls so the backtest is rerun only once a day of new data has
 * arrived (amigo-selector.h).
 *
 * Not thread-safe; it reads the store, so call it where the store lives.
 */
typedef struct _AmigoForecaster AmigoForecaster;

/**
 * AmigoForecasterOptions:
 * @step_usec: step of the series fed to the forecast; default 5 min (the
 *   store's downsampling step).
 * @history_usec: how much history is fed; default 8 days (the selector
 *   backtests on a week and its estimators look back a day more).
 * @quantile: level of the bounds, in (0.5, 1); default 0.95.
 * @window: the migration the request is for (start is "now" at each call;
 *   duration 0 = the overhead model's estimate; settle default 10 min; link
 *   default 1 Gbit/s).
 */
typedef struct {
  gint64 step_usec;
  gint64 history_usec;
  double quantile;
  AmigoMigrationWindow window;
} AmigoForecasterOptions;

void amigo_forecaster_options_init (AmigoForecasterOptions *options);

/**
 * AmigoDomainFacts:
 * @host_memory_gib: what the VM's memory costs its host now (QEMU's
 *   resident size, balloon.rss); NAN if not known.
 * @memory_bytes: the guest's memory size; 0 if not known.
 * @dirty_rate_mib_s: the guest's page-dirty rate now; NAN if not known.
 * @label: an administrator's workload class; UNKNOWN = none.
 *
 * What the collector and the domain's metadata know now, beside the
 * history.
 */
typedef struct {
  double host_memory_gib;
  guint64 memory_bytes;
  double dirty_rate_mib_s;
  AmigoWorkloadClass label;
} AmigoDomainFacts;

void amigo_domain_facts_init (AmigoDomainFacts *facts);

AmigoForecaster *amigo_forecaster_new (AmigoHistory *history, const AmigoForecasterOptions *options);
void amigo_forecaster_free (AmigoForecaster *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoForecaster, amigo_forecaster_free)

/* The reservation request of domain @uuid for a migration starting at
 * @now_usec. @window NULL = the options' window. AMIGO_ERROR_NOT_FOUND
 * if the store has no history of @uuid, AMIGO_ERROR_INSUFFICIENT_HISTORY if
 * it has no usable sample in the history window, AMIGO_ERROR_INVALID_ARGS
 * for an absurd window. */
gboolean amigo_forecaster_compute (AmigoForecaster *self,
                                   const char *uuid,
                                   const AmigoDomainFacts *facts,
                                   gint64 now_usec,
                                   const AmigoMigrationWindow *window,
                                   AmigoRequest *ret,
                                   GError **error);

/* An administrator's workload class for @uuid (from the domain's metadata
 * or SetWorkloadClass); AMIGO_WORKLOAD_CLASS_UNKNOWN clears it. The next
 * request uses it. */
void amigo_forecaster_set_label (AmigoForecaster *self, const char *uuid, AmigoWorkloadClass label);
AmigoWorkloadClass amigo_forecaster_get_label (AmigoForecaster *self, const char *uuid);

/* Keeps @request as @uuid's current request (what the metadata carries and
 * GetReservationRequest answers without options). */
void amigo_forecaster_keep (AmigoForecaster *self, const char *uuid, const AmigoRequest *request);

/* @uuid's kept request, or NULL. Borrowed until the next keep or forget. */
const AmigoRequest *amigo_forecaster_get_kept (AmigoForecaster *self, const char *uuid);

/* The request text to put into @uuid's metadata now: the kept request's
 * JSON when it differs materially from the one last handed out (a resource
 * moved by more than AMIGO_FORECASTER_CHANGE, another class or method) or
 * that one is older than half of @max_age_usec; else the text handed out
 * last, so an unchanged request is not rewritten. NULL if none is kept. */
#define AMIGO_FORECASTER_CHANGE 0.05
char *amigo_forecaster_metadata_json (AmigoForecaster *self, const char *uuid, gint64 now_usec,
                                      gint64 max_age_usec);

/* Drops the state kept for @uuid (the domain went away). */
void amigo_forecaster_forget (AmigoForecaster *self, const char *uuid);

/* Number of domains with kept state. */
guint amigo_forecaster_get_n_domains (AmigoForecaster *self);

G_END_DECLS
