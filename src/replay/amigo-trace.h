/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo/amigo-series.h"
#include "amigo-time.h"

G_BEGIN_DECLS

/* Limits on what a trace file can make amigo-replay allocate: a file larger
 * than this, with more rows, or spanning more grid steps is refused with
 * AMIGO_ERROR_BAD_DATA. Two million steps of 5 minutes are 19 years. */
#define AMIGO_TRACE_MAX_BYTES ((gsize) 512 * 1024 * 1024)
#define AMIGO_TRACE_MAX_ROWS ((gsize) 2000000)
#define AMIGO_TRACE_MAX_STEPS ((gsize) 2000000)

/* Every format is put on this grid unless the file says otherwise. */
#define AMIGO_TRACE_STEP_USEC (300 * AMIGO_USEC_PER_SEC)

/**
 * AmigoTraceFormat:
 * @AMIGO_TRACE_FORMAT_UNKNOWN: not a trace amigo-replay can read.
 * @AMIGO_TRACE_FORMAT_AMIGO: amigo's own CSV, first line `# amigo-trace v1`
 *   (docs/trace-format.md).
 * @AMIGO_TRACE_FORMAT_BITBRAINS: Bitbrains GWA-T-12 per-VM CSV (`;`+TAB
 *   separated, header `Timestamp [ms]; CPU cores; ...`).
 * @AMIGO_TRACE_FORMAT_PLANETLAB: PlanetLab / CoMon: one CPU percent per
 *   line, 5-minute steps, no header, no timestamps.
 *
 * Formats are told apart by content, never by file name.
 */
typedef enum {
  AMIGO_TRACE_FORMAT_UNKNOWN,
  AMIGO_TRACE_FORMAT_AMIGO,
  AMIGO_TRACE_FORMAT_BITBRAINS,
  AMIGO_TRACE_FORMAT_PLANETLAB,
  AMIGO_TRACE_FORMAT_LAST
} AmigoTraceFormat;

/**
 * AmigoTrace:
 * @name: the path the trace was read from.
 * @format: the detected format.
 * @start_usec: time of the first grid step, microseconds since the epoch.
 * @step_usec: grid spacing.
 * @n_values: grid steps.
 * @values: per resource, @n_values samples in amigo units (NAN = missing),
 *   or NULL if the format does not carry that resource.
 * @units: per resource, the unit label of @values ("cores", "GiB",
 *   "Mbit/s", "IOPS", "KB/s"...), NULL where @values is NULL.
 * @n_rows: data rows read from the file.
 * @n_dropped: rows dropped (zero-core rows, duplicate or out-of-order
 *   timestamps).
 */
typedef struct {
  char *name;
  AmigoTraceFormat format;
  gint64 start_usec;
  gint64 step_usec;
  gsize n_values;
  double *values[AMIGO_RESOURCE_LAST];
  const char *units[AMIGO_RESOURCE_LAST];
  gsize n_rows;
  gsize n_dropped;
} AmigoTrace;

const char *amigo_trace_format_to_string (AmigoTraceFormat format);
AmigoTraceFormat amigo_trace_detect_format (const char *data, gsize len);

AmigoTrace *amigo_trace_parse (const char *path, const char *data, gsize len, GError **error);
AmigoTrace *amigo_trace_load (const char *path, GError **error);
void amigo_trace_free (AmigoTrace *trace);

gboolean amigo_trace_has_resource (const AmigoTrace *trace, AmigoResource resource);
void amigo_trace_get_series (const AmigoTrace *trace, AmigoResource resource, AmigoSeries *ret_series);

gboolean amigo_trace_collect_files (const char *path, GPtrArray *files, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoTrace, amigo_trace_free)

G_END_DECLS
