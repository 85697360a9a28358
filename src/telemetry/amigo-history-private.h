/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the history store, shared by its files and exposed to the
 * unit tests and the benchmark only; not installed, not for other folders.
 * The store is cut by job:
 *   amigo-history-codec.c    records, segment and domain headers, names, CRC
 *   amigo-history-segment.c  reading, checking, appending segment files
 *   amigo-history.c          open, append, flush, retention, warnings
 *   amigo-history-query.c    queries and resampling
 *   amigo-history-summary.c  the summary that travels with a migrated domain
 * The on-disk layout is described in docs/history-format.md. */

#include <glib.h>
#include <math.h>

#include "amigo-history.h"
#include "amigo-uuid.h"

#include "amigo-metric.h"
#include "amigo-time.h"

G_BEGIN_DECLS

/* Version 2 added the metric count to the segment header (records grow
 * with AMIGO_METRIC_LAST); version 1 files (8 metrics) are still read. */
#define AMIGO_HISTORY_FORMAT_VERSION 2
#define AMIGO_HISTORY_V1_METRICS 8
#define AMIGO_HISTORY_MAX_METRICS 64

#define AMIGO_HISTORY_DOMAIN_FILE "domain.amh"
#define AMIGO_HISTORY_DOMAIN_HEADER_SIZE 256
#define AMIGO_HISTORY_NAME_MAX 194

#define AMIGO_HISTORY_SEGMENT_HEADER_SIZE 32
/* Record sizes for @n metrics: time, n values, CRC (raw); time, span,
 * count, flags, n (mean, max) pairs, CRC (downsampled). */
#define AMIGO_HISTORY_RAW_RECORD_SIZE_FOR(n) (8 + 4 * (n) + 4)
#define AMIGO_HISTORY_DS_RECORD_SIZE_FOR(n) (16 + 8 * (n) + 4)
#define AMIGO_HISTORY_RAW_RECORD_SIZE AMIGO_HISTORY_RAW_RECORD_SIZE_FOR (AMIGO_METRIC_LAST)
#define AMIGO_HISTORY_DS_RECORD_SIZE AMIGO_HISTORY_DS_RECORD_SIZE_FOR (AMIGO_METRIC_LAST)

/* One raw segment per UTC hour, one downsampled segment per UTC day. */
#define AMIGO_HISTORY_RAW_SEGMENT_USEC AMIGO_USEC_PER_HOUR
#define AMIGO_HISTORY_DS_SEGMENT_USEC AMIGO_USEC_PER_DAY

/* Flag of a downsampled record that came from an imported summary. */
#define AMIGO_HISTORY_DS_FLAG_IMPORTED 0x0001

/* Bounds on what a caller can make the store allocate. */
#define AMIGO_HISTORY_MAX_SERIES_BINS (1 << 18)
#define AMIGO_HISTORY_MAX_SUMMARY_BYTES (4 * 1024 * 1024)
#define AMIGO_HISTORY_MAX_WARNINGS 64

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32()): start
 * with @crc = 0. */
guint32 amigo_history_crc32 (guint32 crc, const void *data, gsize len);

/* "raw-YYYYMMDDHH.amh" / "ds-YYYYMMDD.amh" for the segment starting at
 * @start_usec (UTC). @size must be at least 32. */
void amigo_history_segment_name (gboolean raw,
                                 gint64 start_usec,
                                 char *buf,
                                 gsize size);
gboolean amigo_history_parse_segment_name (const char *name,
                                           gboolean *ret_raw,
                                           gint64 *ret_start_usec);


#define AMIGO_HISTORY_NONE_MIN G_MININT64   /* no time / no newest segment */
#define AMIGO_HISTORY_NONE_MAX G_MAXINT64   /* no oldest segment */

typedef struct {
  gint64 time_usec;
  float values[AMIGO_METRIC_LAST];
} AmigoHistoryRawRecord;

typedef struct {
  gint64 time_usec;
  guint32 span_sec;
  guint16 count;
  guint16 flags;
  float mean[AMIGO_METRIC_LAST];
  float max[AMIGO_METRIC_LAST];
} AmigoHistoryDsRecord;

typedef struct {
  char uuid[AMIGO_UUID_BUFLEN];
  char *name;
  gboolean dir_ok;                /* <uuid>/ exists */
  gboolean header_ok;             /* domain.amh is on disk and current */
  gint64 last_time_usec;          /* newest sample appended, AMIGO_HISTORY_NONE_MIN */
  gint64 bucket_start_usec;       /* incomplete bucket, AMIGO_HISTORY_NONE_MIN if none */
  guint32 bucket_samples;
  double bucket_sum[AMIGO_METRIC_LAST];
  double bucket_max[AMIGO_METRIC_LAST];
  guint32 bucket_n[AMIGO_METRIC_LAST];
  GArray *pending_raw;            /* AmigoHistoryRawRecord, not yet written */
  GArray *pending_ds;             /* AmigoHistoryDsRecord, not yet written */
  gint64 oldest_raw_seg;          /* AMIGO_HISTORY_NONE_MAX if none on disk */
  gint64 newest_raw_seg;          /* AMIGO_HISTORY_NONE_MIN if none on disk */
  gint64 oldest_ds_seg;
  gint64 newest_ds_seg;
} AmigoHistoryDomain;

struct _AmigoHistory {
  char *dir;
  int dir_fd;
  AmigoHistoryOptions options;
  GHashTable *domains;            /* uuid -> AmigoHistoryDomain */
  GPtrArray *warnings;            /* AmigoHistoryWarning */
  guint warnings_dropped;
  gint64 newest_usec;             /* newest sample time seen, AMIGO_HISTORY_NONE_MIN */
  gint64 wall_usec;               /* amigo_history_set_now(), 0: not set */
  GByteArray *write_buf;
  AmigoHistoryHealth health;
};


typedef void (*AmigoHistoryRecordFunc) (const AmigoHistoryRawRecord *rr, const AmigoHistoryDsRecord *dr,
                                        gpointer user_data);

static inline gint64
amigo_history_floor_div (gint64 a, gint64 b)
{
  gint64 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static inline gint64
amigo_history_align_down (gint64 t, gint64 step)
{
  return amigo_history_floor_div (t, step) * step;
}

static inline float
amigo_history_to_f32 (double v)
{
  return isfinite (v) ? (float) v : NAN;
}

static inline gint64
amigo_history_segment_usec (gboolean raw)
{
  return raw ? AMIGO_HISTORY_RAW_SEGMENT_USEC : AMIGO_HISTORY_DS_SEGMENT_USEC;
}

/* How the records of one segment file are laid out: version 1 files hold
 * 8 metrics, version 2 files say how many in their header. */
typedef struct {
  guint16 version;
  guint n_metrics;
  gsize record_bytes;
} AmigoHistoryLayout;

static inline gsize
amigo_history_layout_record_size (gboolean raw, guint n_metrics)
{
  return raw ? AMIGO_HISTORY_RAW_RECORD_SIZE_FOR (n_metrics) : AMIGO_HISTORY_DS_RECORD_SIZE_FOR (n_metrics);
}

static inline gsize
amigo_history_record_size (gboolean raw)
{
  return amigo_history_layout_record_size (raw, AMIGO_METRIC_LAST);
}

static inline gboolean
amigo_history_layout_is_current (const AmigoHistoryLayout *l)
{
  return l->version == AMIGO_HISTORY_FORMAT_VERSION && l->n_metrics == AMIGO_METRIC_LAST;
}


/* ---- amigo-history-codec.c ---- */
void amigo_history_segment_header_encode (gboolean raw, gint64 start_usec, guint8 *p);
gboolean amigo_history_segment_header_decode (gboolean raw, gint64 start_usec, const guint8 *p, AmigoHistoryLayout *ret);
void amigo_history_raw_encode (const AmigoHistoryRawRecord *r, guint8 *p);
void amigo_history_ds_encode (const AmigoHistoryDsRecord *r, guint8 *p);
gboolean amigo_history_record_decode (gboolean raw, gint64 seg_start, const AmigoHistoryLayout *l, const guint8 *p,
                                      AmigoHistoryRawRecord *rr, AmigoHistoryDsRecord *dr);
gint amigo_history_cmp_time (gconstpointer a, gconstpointer b);
/* domain.amh: @h holds AMIGO_HISTORY_DOMAIN_HEADER_SIZE bytes. Decoding checks
 * it belongs to @uuid; on failure @ret_why says what was wrong. */
void amigo_history_domain_header_encode (const char *uuid, const char *name, gint64 step_usec, guint8 *h);
gboolean amigo_history_domain_header_decode (const guint8 *h, gsize len, const char *uuid, char **ret_name,
                                             const char **ret_why);

/* ---- amigo-history-segment.c ---- */
void amigo_history_quarantine (AmigoHistory *self, const char *relpath, const char *why);
gboolean amigo_history_read_file (AmigoHistory *self, const char *relpath, GByteArray *buf);
gboolean amigo_history_scan_segment (AmigoHistory *self,
                                     const char *uuid,
                                     gboolean raw,
                                     gint64 seg_start,
                                     gboolean newest,
                                     gboolean repair,
                                     AmigoHistoryRecordFunc func,
                                     gpointer user_data);
gboolean amigo_history_write_all (int fd, const guint8 *data, gsize len);
gboolean amigo_history_append_segment (AmigoHistory *self, AmigoHistoryDomain *d, gboolean raw, gint64 seg_start, GError **error);
gboolean amigo_history_write_header (AmigoHistory *self, AmigoHistoryDomain *d, GError **error);
void amigo_history_remove_segment (AmigoHistory *self, AmigoHistoryDomain *d, gboolean raw, gint64 seg);

/* ---- amigo-history.c ---- */
void amigo_history_warn (AmigoHistory *self, AmigoHistoryWarningKind kind, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
gint64 amigo_history_wall_now (AmigoHistory *self);
void amigo_history_domain_free (gpointer data);
AmigoHistoryDomain *amigo_history_domain_new (const char *uuid);
void amigo_history_domain_note_segment (AmigoHistoryDomain *d, gboolean raw, gint64 seg);
void amigo_history_domain_bucket_to_record (const AmigoHistoryDomain *d, gint64 step_usec, AmigoHistoryDsRecord *r);
void amigo_history_domain_restart (AmigoHistoryDomain *d, gint64 step_usec);
void amigo_history_domain_aggregate (AmigoHistoryDomain *d, gint64 step_usec, gint64 time_usec, const float *values);
gboolean amigo_history_normalize_uuid (const char *uuid, char out[AMIGO_UUID_BUFLEN], GError **error);
AmigoHistoryDomain *amigo_history_get_domain (AmigoHistory *self, const char *uuid, gboolean create, GError **error);

/* ---- amigo-history-query.c ---- */
AmigoHistoryDomain *amigo_history_lookup (AmigoHistory *self, const char *uuid, GError **error);
GArray *amigo_history_collect_raw (AmigoHistory *self, AmigoHistoryDomain *d, gint64 from, gint64 to);
GArray *amigo_history_collect_ds (AmigoHistory *self, AmigoHistoryDomain *d, gint64 from, gint64 to);
void amigo_history_resample (GArray *recs, gint64 start, gint64 step, guint n, double *mean, double *max);

G_END_DECLS
