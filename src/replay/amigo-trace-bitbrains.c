/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reader of Bitbrains GWA-T-12 traces (docs/trace-format.md). */
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo-trace-private.h"

/* Bitbrains KB are 1024 bytes; a megabit is 10^6 bits. */
#define KB_PER_GIB (1024.0 * 1024.0)
#define KB_PER_S_TO_MBIT_PER_S (1024.0 * 8.0 / 1e6)

typedef enum {
  BB_TIME,
  BB_CORES,
  BB_CAPACITY_MHZ,
  BB_USAGE_MHZ,
  BB_MEMORY_KB,
  BB_DISK_READ,
  BB_DISK_WRITE,
  BB_NET_RX,
  BB_NET_TX,
  BB_LAST
} BitbrainsColumn;

static const char *const bitbrains_columns[BB_LAST] = {
  [BB_TIME] = "Timestamp [ms]",
  [BB_CORES] = "CPU cores",
  [BB_CAPACITY_MHZ] = "CPU capacity provisioned [MHZ]",
  [BB_USAGE_MHZ] = "CPU usage [MHZ]",
  [BB_MEMORY_KB] = "Memory usage [KB]",
  [BB_DISK_READ] = "Disk read throughput [KB/s]",
  [BB_DISK_WRITE] = "Disk write throughput [KB/s]",
  [BB_NET_RX] = "Network received throughput [KB/s]",
  [BB_NET_TX] = "Network transmitted throughput [KB/s]",
};

AmigoTrace *
amigo_trace_bitbrains_parse (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = amigo_trace_new (path, AMIGO_TRACE_FORMAT_BITBRAINS);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (AmigoTraceRow));
  AmigoTraceField fields[MAX_FIELDS];
  int col[BB_LAST];
  gboolean has[AMIGO_RESOURCE_LAST] = { FALSE };
  AmigoTraceLineReader reader;
  const char *line;
  gsize line_len;
  gsize n_header;
  double time_scale = 0;

  amigo_trace_text_reader_init (&reader, data, len);
  if (!amigo_trace_text_next_line (&reader, &line, &line_len)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': empty file", path);
    return NULL;
  }
  n_header = amigo_trace_text_split (line, line_len, ';', fields);
  if (n_header > MAX_FIELDS) {
    amigo_trace_text_line_error (error, path, reader.lineno, "more than %d columns in the header", MAX_FIELDS);
    return NULL;
  }
  for (guint c = 0; c < BB_LAST; c++) {
    col[c] = -1;
    for (gsize i = 0; i < n_header; i++) {
      if (fields[i].len == strlen (bitbrains_columns[c]) &&
          g_ascii_strncasecmp (fields[i].p, bitbrains_columns[c], fields[i].len) == 0) {
        col[c] = (int) i;
        break;
      }
    }
  }
  /* the first column is the time whatever its header says */
  col[BB_TIME] = 0;
  for (guint c = BB_CORES; c <= BB_USAGE_MHZ; c++) {
    if (col[c] < 0) {
      amigo_trace_text_line_error (error, path, reader.lineno, "header has no '%s' column", bitbrains_columns[c]);
      return NULL;
    }
  }
  has[AMIGO_RESOURCE_CPU] = TRUE;
  has[AMIGO_RESOURCE_MEMORY] = col[BB_MEMORY_KB] >= 0;
  has[AMIGO_RESOURCE_DISK] = col[BB_DISK_READ] >= 0 && col[BB_DISK_WRITE] >= 0;
  has[AMIGO_RESOURCE_NETWORK] = col[BB_NET_RX] >= 0 && col[BB_NET_TX] >= 0;

  while (amigo_trace_text_next_line (&reader, &line, &line_len)) {
    double v[BB_LAST];
    AmigoTraceRow row;
    gsize n;

    if (amigo_trace_text_is_blank (line, line_len))
      continue;
    n = amigo_trace_text_split (line, line_len, ';', fields);
    if (n != n_header) {
      amigo_trace_text_line_error (error, path, reader.lineno, "expected %" G_GSIZE_FORMAT " fields, found %s%" G_GSIZE_FORMAT,
                      n_header, n > MAX_FIELDS ? "more than " : "", MIN (n, (gsize) MAX_FIELDS));
      return NULL;
    }
    for (guint c = 0; c < BB_LAST; c++) {
      v[c] = NAN;
      if (col[c] >= 0 && !amigo_trace_text_field_number (&fields[col[c]], FALSE, bitbrains_columns[c], path, reader.lineno, &v[c], error))
        return NULL;
    }
    /* "Timestamp [ms]" holds epoch seconds in GWA-T-12; believe the
     * header only when the values really are that large. */
    if (time_scale == 0)
      time_scale = v[BB_TIME] > MSEC_THRESHOLD ? 1e-3 : 1.0;
    row.time_s = v[BB_TIME] * time_scale;
    /* A row with no cores or no capacity is the placeholder that comes
     * with a duplicated timestamp: it carries no CPU reading. */
    if (!(v[BB_CORES] > 0) || !(v[BB_CAPACITY_MHZ] > 0)) {
      trace->n_dropped++;
      continue;
    }
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      row.values[r] = NAN;
    row.values[AMIGO_RESOURCE_CPU] = v[BB_USAGE_MHZ] / (v[BB_CAPACITY_MHZ] / v[BB_CORES]);
    /* exactly 0 KB of memory in use is a missing reading */
    if (has[AMIGO_RESOURCE_MEMORY] && v[BB_MEMORY_KB] > 0)
      row.values[AMIGO_RESOURCE_MEMORY] = v[BB_MEMORY_KB] / KB_PER_GIB;
    if (has[AMIGO_RESOURCE_DISK])
      row.values[AMIGO_RESOURCE_DISK] = v[BB_DISK_READ] + v[BB_DISK_WRITE];
    if (has[AMIGO_RESOURCE_NETWORK])
      row.values[AMIGO_RESOURCE_NETWORK] = (v[BB_NET_RX] + v[BB_NET_TX]) * KB_PER_S_TO_MBIT_PER_S;
    if (!amigo_trace_rows_append (rows, &row, path, reader.lineno, error))
      return NULL;
  }
  if (rows->len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no data rows with CPU cores > 0", path);
    return NULL;
  }
  {
    gsize dropped = trace->n_dropped;
    if (!amigo_trace_regrid (trace, rows, AMIGO_TRACE_STEP_USEC / 1e6, has, error))
      return NULL;
    trace->n_rows += dropped;
  }
  trace->units[AMIGO_RESOURCE_CPU] = "cores";
  if (has[AMIGO_RESOURCE_MEMORY])
    trace->units[AMIGO_RESOURCE_MEMORY] = "GiB";
  if (has[AMIGO_RESOURCE_NETWORK])
    trace->units[AMIGO_RESOURCE_NETWORK] = "Mbit/s";
  /* Bitbrains only has throughput: evaluated as such, never called IOPS */
  if (has[AMIGO_RESOURCE_DISK])
    trace->units[AMIGO_RESOURCE_DISK] = "KB/s";
  return g_steal_pointer (&trace);
}

gboolean
amigo_trace_bitbrains_detect (const char *line, gsize len)
{
  return len >= strlen ("Timestamp") && g_ascii_strncasecmp (line, "Timestamp", strlen ("Timestamp")) == 0 &&
         memchr (line, ';', len) != NULL;
}
