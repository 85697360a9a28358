/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-metric.h"

G_BEGIN_DECLS

/**
 * AmigoHistory: the embedded, bounded, crash-safe history store.
 *
 * Raw samples for a recent window and downsampled points (mean and max per
 * step) for the long retention, per domain UUID, under one directory. See
 * docs/history-format.md. Not thread-safe: use it from one thread.
 */
typedef struct _AmigoHistory AmigoHistory;

typedef struct {
  gint64 raw_retention_usec;    /* default 6 h */
  gint64 step_usec;             /* downsampling step, default 5 min */
  gint64 retention_usec;        /* downsampled retention, default 14 days */
  /* Later additions; amigo_history_options_init() sets them too. */
  gboolean sync;                /* syncfs() once per flush, default TRUE */
  guint max_domains;            /* bound on tracked domains, default (and 0) 4096 */
} AmigoHistoryOptions;

void amigo_history_options_init (AmigoHistoryOptions *options);

typedef struct {
  gint64 time_usec;
  double mean;
  double max;
} AmigoHistoryPoint;

/* Opens (creating it if needed) the store under @dir (NULL: the configured
 * state directory, /var/lib/amigo by default) and locks it against a second
 * process (AMIGO_ERROR_BUSY). Damaged files found while opening are set aside
 * and reported by amigo_history_take_warnings(), not as an error. */
AmigoHistory *amigo_history_open (const char *dir,
                                  const AmigoHistoryOptions *options,
                                  GError **error);
/* Flushes what is pending (best effort) and frees; NULL is fine. */
void amigo_history_free (AmigoHistory *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoHistory, amigo_history_free)

/* Appends one sample of domain @uuid (@name is kept for display). Durable at
 * the latest on the next amigo_history_flush(). Sample times of one domain
 * must increase (AMIGO_ERROR_INVALID_ARGS otherwise); NAN = not measured. */
gboolean amigo_history_append (AmigoHistory *self,
                               const char *uuid,
                               const char *name,
                               const AmigoSample *sample,
                               GError **error);

/* Makes everything appended so far durable (called once per interval): one
 * write per domain and segment, then one syncfs() (options.sync). The
 * syncfs() waits for the whole file system's dirty data, so its wall time
 * depends on other writers; the CPU cost does not. Also applies retention. */
gboolean amigo_history_flush (AmigoHistory *self, GError **error);

/* Points of one metric of one domain in [@from_usec, @to_usec]: raw samples
 * where the raw window covers the range (mean == max), downsampled points
 * otherwise. Returns a GArray of AmigoHistoryPoint, or NULL with
 * AMIGO_ERROR_NOT_FOUND / AMIGO_ERROR_INVALID_ARGS. */
GArray *amigo_history_query (AmigoHistory *self,
                             const char *uuid,
                             AmigoMetric metric,
                             gint64 from_usec,
                             gint64 to_usec,
                             GError **error);

/* UUIDs known to the store (GPtrArray of char *). */
GPtrArray *amigo_history_list_domains (AmigoHistory *self);

/* The compact summary that travels in the domain's metadata: a JSON string
 * (docs/history-format.md) with the recent downsampled points of every
 * metric, bounded to @max_bytes. */
char *amigo_history_export_summary (AmigoHistory *self,
                                    const char *uuid,
                                    gsize max_bytes,
                                    GError **error);

/* Merges a summary that came with a migrated domain; never overwrites points
 * the store already has (nor any at or after the domain's current bucket).
 * A malformed summary changes nothing (AMIGO_ERROR_BAD_DATA); imported
 * points are durable after the next amigo_history_flush(). */
gboolean amigo_history_import_summary (AmigoHistory *self,
                                       const char *uuid,
                                       const char *summary,
                                       GError **error);

/* Problems found with stored files since the last call (a damaged file set
 * aside, a file that could not be read): a GPtrArray of char * messages, each
 * naming the file, for the caller to log once. Never NULL; empty if none. */
GPtrArray *amigo_history_take_warnings (AmigoHistory *self);

/* A regular series for the forecaster from the downsampled data (and the
 * current, incomplete bucket): bins of @step_usec starting at
 * @ret_start_usec = @from_usec rounded down to a multiple of @step_usec, up to
 * and including the bin holding @to_usec. Each bin is the time-weighted mean
 * of the stored means (or the max of the stored maxima if @use_max) of the
 * points overlapping it; NAN where nothing is known. */
gboolean amigo_history_series (AmigoHistory *self,
                               const char *uuid,
                               AmigoMetric metric,
                               gint64 step_usec,
                               gint64 from_usec,
                               gint64 to_usec,
                               gboolean use_max,
                               GArray **ret_values,
                               gint64 *ret_start_usec,
                               GError **error);

G_END_DECLS
