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
 * docs/history-format.md.
 */
typedef struct _AmigoHistory AmigoHistory;

typedef struct {
  gint64 raw_retention_usec;    /* default 6 h */
  gint64 step_usec;             /* downsampling step, default 5 min */
  gint64 retention_usec;        /* downsampled retention, default 14 days */
} AmigoHistoryOptions;

void amigo_history_options_init (AmigoHistoryOptions *options);

typedef struct {
  gint64 time_usec;
  double mean;
  double max;
} AmigoHistoryPoint;

AmigoHistory *amigo_history_open (const char *dir,
                                  const AmigoHistoryOptions *options,
                                  GError **error);
void amigo_history_free (AmigoHistory *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoHistory, amigo_history_free)

/* Appends one sample of domain @uuid (@name is kept for display). Durable at
 * the latest on the next amigo_history_flush(). */
gboolean amigo_history_append (AmigoHistory *self,
                               const char *uuid,
                               const char *name,
                               const AmigoSample *sample,
                               GError **error);

/* Makes everything appended so far durable (called once per interval). */
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
 * the store already has. */
gboolean amigo_history_import_summary (AmigoHistory *self,
                                       const char *uuid,
                                       const char *summary,
                                       GError **error);

G_END_DECLS
