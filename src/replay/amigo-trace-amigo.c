/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reader of amigo-trace v1 CSV (docs/trace-format.md). */
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo-trace-private.h"

static const struct {
  const char *column;
  AmigoResource resource;
  const char *unit;
} amigo_columns[] = {
  { "cpu_cores", AMIGO_RESOURCE_CPU, "cores" },
  { "memory_gib", AMIGO_RESOURCE_MEMORY, "GiB" },
  { "network_mbit_s", AMIGO_RESOURCE_NETWORK, "Mbit/s" },
  { "disk_iops", AMIGO_RESOURCE_DISK, "IOPS" },
  { "disk_kb_s", AMIGO_RESOURCE_DISK, "KB/s" },
  { "gpu_memory_gib", AMIGO_RESOURCE_GPU_MEMORY, "GiB" },
};

AmigoTrace *
amigo_trace_amigo_parse (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = amigo_trace_new (path, AMIGO_TRACE_FORMAT_AMIGO);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (AmigoTraceRow));
  AmigoTraceField fields[MAX_FIELDS];
  int resource_of[MAX_FIELDS];
  gboolean has[AMIGO_RESOURCE_LAST] = { FALSE };
  const char *units[AMIGO_RESOURCE_LAST] = { NULL };
  AmigoTraceLineReader reader;
  const char *line;
  gsize line_len;
  gsize n_header = 0;
  double step_s = AMIGO_TRACE_STEP_USEC / 1e6;

  amigo_trace_text_reader_init (&reader, data, len);
  if (!amigo_trace_text_next_line (&reader, &line, &line_len)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': empty file", path);
    return NULL;
  }
  amigo_trace_text_trim (&line, &line_len);
  if (line_len != strlen ("# amigo-trace v1") || memcmp (line, "# amigo-trace v1", line_len) != 0) {
    g_autofree char *text = amigo_trace_text_quote (line, line_len);
    amigo_trace_text_line_error (error, path, reader.lineno, "unsupported version line '%s', expected '# amigo-trace v1'", text);
    return NULL;
  }

  while (amigo_trace_text_next_line (&reader, &line, &line_len)) {
    AmigoTraceRow row;
    gsize n;

    amigo_trace_text_trim (&line, &line_len);
    if (line_len == 0)
      continue;
    if (line[0] == '#') {
      const char *key = "# step_s=";
      if (n_header == 0 && line_len > strlen (key) && memcmp (line, key, strlen (key)) == 0) {
        AmigoTraceField f = { line + strlen (key), line_len - strlen (key) };
        if (!amigo_trace_text_field_number (&f, FALSE, "step_s", path, reader.lineno, &step_s, error))
          return NULL;
        if (step_s < 1 || step_s > 86400 * 366) {
          amigo_trace_text_line_error (error, path, reader.lineno, "step_s %g is outside 1 s .. 1 year", step_s);
          return NULL;
        }
      }
      continue;
    }
    n = amigo_trace_text_split (line, line_len, ',', fields);
    if (n_header == 0) {
      if (n > MAX_FIELDS) {
        amigo_trace_text_line_error (error, path, reader.lineno, "more than %d columns in the header", MAX_FIELDS);
        return NULL;
      }
      if (fields[0].len != strlen ("time_s") || memcmp (fields[0].p, "time_s", fields[0].len) != 0) {
        g_autofree char *text = amigo_trace_text_quote (fields[0].p, fields[0].len);
        amigo_trace_text_line_error (error, path, reader.lineno, "first column must be 'time_s', found '%s'", text);
        return NULL;
      }
      for (gsize i = 1; i < n; i++) {
        resource_of[i] = -1;
        for (guint k = 0; k < G_N_ELEMENTS (amigo_columns); k++) {
          if (fields[i].len == strlen (amigo_columns[k].column) &&
              memcmp (fields[i].p, amigo_columns[k].column, fields[i].len) == 0) {
            resource_of[i] = (int) k;
            break;
          }
        }
        if (resource_of[i] < 0) {
          g_autofree char *text = amigo_trace_text_quote (fields[i].p, fields[i].len);
          amigo_trace_text_line_error (error, path, reader.lineno, "unknown column '%s'", text);
          return NULL;
        }
        if (has[amigo_columns[resource_of[i]].resource]) {
          g_autofree char *text = amigo_trace_text_quote (fields[i].p, fields[i].len);
          amigo_trace_text_line_error (error, path, reader.lineno, "column '%s' repeats a resource", text);
          return NULL;
        }
        has[amigo_columns[resource_of[i]].resource] = TRUE;
        units[amigo_columns[resource_of[i]].resource] = amigo_columns[resource_of[i]].unit;
      }
      n_header = n;
      continue;
    }
    if (n != n_header) {
      amigo_trace_text_line_error (error, path, reader.lineno, "expected %" G_GSIZE_FORMAT " fields, found %s%" G_GSIZE_FORMAT,
                      n_header, n > MAX_FIELDS ? "more than " : "", MIN (n, (gsize) MAX_FIELDS));
      return NULL;
    }
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      row.values[r] = NAN;
    switch (amigo_trace_text_number (fields[0].p, fields[0].len, &row.time_s)) {
    case AMIGO_TRACE_NUMBER_OK:
      break;
    case AMIGO_TRACE_NUMBER_EMPTY:
      amigo_trace_text_line_error (error, path, reader.lineno, "column 'time_s' is empty");
      return NULL;
    case AMIGO_TRACE_NUMBER_BAD:
    default: {
      g_autofree char *text = amigo_trace_text_quote (fields[0].p, fields[0].len);
      amigo_trace_text_line_error (error, path, reader.lineno, "column 'time_s': '%s' is not a number", text);
      return NULL;
    }
    }
    for (gsize i = 1; i < n; i++) {
      AmigoResource r = amigo_columns[resource_of[i]].resource;
      if (!amigo_trace_text_field_number (&fields[i], TRUE, amigo_columns[resource_of[i]].column, path, reader.lineno,
                         &row.values[r], error))
        return NULL;
    }
    if (!amigo_trace_rows_append (rows, &row, path, reader.lineno, error))
      return NULL;
  }
  if (n_header == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no header line 'time_s,...'", path);
    return NULL;
  }
  if (!amigo_trace_regrid (trace, rows, step_s, has, error))
    return NULL;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    trace->units[r] = units[r];
  return g_steal_pointer (&trace);
}

gboolean
amigo_trace_amigo_detect (const char *line, gsize len)
{
  return len >= strlen ("# amigo-trace") && memcmp (line, "# amigo-trace", strlen ("# amigo-trace")) == 0;
}
