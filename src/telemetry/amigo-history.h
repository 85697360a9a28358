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
  gint64 future_bound_usec;     /* samples stamped further ahead of the wall clock
                                 * are refused, default (and 0) 10 min */
} AmigoHistoryOptions;

void amigo_history_options_init (AmigoHistoryOptions *options);

typedef struct {
  gint64 time_usec;
  double mean;
  double max;
} AmigoHistoryPoint;

/* Opens (creating it if needed) the store under @dir (NULL: the configured
 * state directory, /var/lib/amigo by default) and locks it against a second
 * process (AMIGO_ERROR_BUSY). Damage found while opening is repaired and
 * reported by amigo_history_take_warnings(), not as an error: damaged
 * records are dropped (the others kept), a file whose header is damaged is
 * set aside. Files of format 1 are read as they are. */
AmigoHistory *amigo_history_open (const char *dir,
                                  const AmigoHistoryOptions *options,
                                  GError **error);
/* Flushes what is pending (best effort) and frees; NULL is fine. */
void amigo_history_free (AmigoHistory *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoHistory, amigo_history_free)

/* The wall clock (µs since the epoch) that retention, the future bound
 * and the raw window of queries are measured against, as the caller reads
 * it (the daemon sets it before each poll; a replay or a test sets its own
 * time). Never the newest sample's stamp: one sample with a wrong clock
 * cannot wipe the history. Until it is first set, retention does not run
 * (nothing is deleted on a guess) and the future bound is measured against
 * g_get_real_time(). */
void amigo_history_set_now (AmigoHistory *self, gint64 now_usec);

/* Appends one sample of domain @uuid (@name is kept for display). Durable at
 * the latest on the next amigo_history_flush(). NAN = not measured.
 * Refused with AMIGO_ERROR_INVALID_ARGS (and a warning of its kind, see
 * amigo_history_take_warnings()): a sample stamped more than
 * options.future_bound_usec ahead of the wall clock ("future-sample"); a
 * sample not after the domain's last one ("out-of-order-sample"), unless
 * the wall clock itself is now before that last sample: then the clock
 * stepped back, and the domain's recording continues from the new sample
 * ("clock-stepped-back"; the samples stamped later stay stored). */
gboolean amigo_history_append (AmigoHistory *self,
                               const char *uuid,
                               const char *name,
                               const AmigoSample *sample,
                               GError **error);

/* Makes everything appended so far durable (called once per interval): one
 * write per domain and segment, then one syncfs() (options.sync). The
 * syncfs() waits for the whole file system's dirty data, so its wall time
 * depends on other writers; the CPU cost does not. Also applies retention
 * (by the wall clock). When a write fails (a full disk...), the samples it
 * held are counted as lost (amigo_history_get_health()) and the error is
 * returned; a "write-failed" warning is queued when the store starts
 * failing and a "write-recovered" one when it writes again, not one per
 * flush. */
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

/**
 * AmigoHistoryWarningKind: what a warning is about, so that the caller can
 * rate-limit by kind rather than by text (each message names a file, a
 * domain or a time).
 * @AMIGO_HISTORY_WARNING_DAMAGED_FILE: a damaged file was set aside.
 * @AMIGO_HISTORY_WARNING_DAMAGED_RECORD: records that failed their check
 *   were dropped from a file; the others were kept.
 * @AMIGO_HISTORY_WARNING_READ_FAILED: a file or directory could not be read.
 * @AMIGO_HISTORY_WARNING_FUTURE_SAMPLE: samples stamped too far ahead of the
 *   wall clock were refused.
 * @AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK: the wall clock went back before
 *   a domain's newest sample; recording continues from the new time.
 * @AMIGO_HISTORY_WARNING_OUT_OF_ORDER_SAMPLE: samples not after their
 *   domain's last one were refused.
 * @AMIGO_HISTORY_WARNING_WRITE_FAILED: the store started failing to write.
 * @AMIGO_HISTORY_WARNING_WRITE_RECOVERED: it writes again.
 * @AMIGO_HISTORY_WARNING_TOO_MANY_DOMAINS: a domain directory was ignored.
 * @AMIGO_HISTORY_WARNING_DROPPED: more warnings than the store keeps.
 */
typedef enum {
  AMIGO_HISTORY_WARNING_DAMAGED_FILE,
  AMIGO_HISTORY_WARNING_DAMAGED_RECORD,
  AMIGO_HISTORY_WARNING_READ_FAILED,
  AMIGO_HISTORY_WARNING_FUTURE_SAMPLE,
  AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK,
  AMIGO_HISTORY_WARNING_OUT_OF_ORDER_SAMPLE,
  AMIGO_HISTORY_WARNING_WRITE_FAILED,
  AMIGO_HISTORY_WARNING_WRITE_RECOVERED,
  AMIGO_HISTORY_WARNING_TOO_MANY_DOMAINS,
  AMIGO_HISTORY_WARNING_DROPPED,
  AMIGO_HISTORY_WARNING_LAST
} AmigoHistoryWarningKind;

/* A stable name for logs and rate limits: "damaged-file", "future-sample"... */
const char *amigo_history_warning_kind_to_string (AmigoHistoryWarningKind kind);

typedef struct {
  AmigoHistoryWarningKind kind;
  guint count;                  /* occurrences since the last take: warnings about
                                 * single samples are folded into one entry */
  char *message;                /* the first occurrence, naming the file or domain */
} AmigoHistoryWarning;

/* Problems found since the last call, for the caller to log: a GPtrArray of
 * AmigoHistoryWarning (freed with the array). Never NULL; empty if none.
 * At most 64 entries are kept: beyond that a warning adds to the count of
 * an entry of its kind, or to a final "warnings-dropped" entry. */
GPtrArray *amigo_history_take_warnings (AmigoHistory *self);

/**
 * AmigoHistoryHealth: whether the store can write.
 * @ok: the last flush wrote everything it had.
 * @failing_since_usec: wall clock of the first failed write of the current
 *   outage, 0 when @ok.
 * @samples_lost: samples that could not be written since the store was
 *   opened (not reset when it recovers).
 * @last_error: the last write error ("" if none since opening).
 */
typedef struct {
  gboolean ok;
  gint64 failing_since_usec;
  guint64 samples_lost;
  char last_error[256];
} AmigoHistoryHealth;

void amigo_history_get_health (AmigoHistory *self, AmigoHistoryHealth *ret);

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

/* The same for every metric at once (one read of the store): *ret_values
 * holds *ret_n bins of AMIGO_METRIC_LAST values, bin-major
 * (values[bin * AMIGO_METRIC_LAST + metric]); free it with g_free(). */
gboolean amigo_history_series_all (AmigoHistory *self,
                                   const char *uuid,
                                   gint64 step_usec,
                                   gint64 from_usec,
                                   gint64 to_usec,
                                   gboolean use_max,
                                   double **ret_values,
                                   guint *ret_n,
                                   gint64 *ret_start_usec,
                                   GError **error);

G_END_DECLS
