/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of amigo-history.c exposed to the unit tests and the benchmark
 * only. The on-disk layout is described in docs/history-format.md. */

#include <glib.h>

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

G_END_DECLS
