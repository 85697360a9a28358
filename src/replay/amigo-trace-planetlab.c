/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reader of PlanetLab / CoMon CPU traces (docs/trace-format.md). */
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo-trace-private.h"

/* "yyyymmdd" directory name -> midnight UTC, else the epoch. */
static gint64
planetlab_start_usec (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (dir);
  g_autoptr(GDateTime) dt = NULL;
  guint y, m, d;

  if (strlen (base) != 8)
    return 0;
  for (guint i = 0; i < 8; i++) {
    if (!g_ascii_isdigit (base[i]))
      return 0;
  }
  y = (guint) g_ascii_strtoull (base, NULL, 10) / 10000;
  m = ((guint) g_ascii_strtoull (base, NULL, 10) / 100) % 100;
  d = (guint) g_ascii_strtoull (base, NULL, 10) % 100;
  if (y < 1970 || !g_date_valid_dmy ((GDateDay) d, (GDateMonth) m, (GDateYear) y))
    return 0;
  dt = g_date_time_new_utc ((int) y, (int) m, (int) d, 0, 0, 0);
  return dt != NULL ? g_date_time_to_unix (dt) * AMIGO_USEC_PER_SEC : 0;
}

AmigoTrace *
amigo_trace_planetlab_parse (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = amigo_trace_new (path, AMIGO_TRACE_FORMAT_PLANETLAB);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  AmigoTraceLineReader reader;
  const char *line;
  gsize line_len;

  amigo_trace_text_reader_init (&reader, data, len);
  while (amigo_trace_text_next_line (&reader, &line, &line_len)) {
    AmigoTraceField f = { line, line_len };
    double v;

    if (values->len >= AMIGO_TRACE_MAX_ROWS) {
      amigo_trace_text_line_error (error, path, reader.lineno, "more than %" G_GSIZE_FORMAT " rows, refusing to read further",
                      AMIGO_TRACE_MAX_ROWS);
      return NULL;
    }
    /* a blank line is a missing sample: the line number is the time */
    if (!amigo_trace_text_field_number (&f, TRUE, "CPU %", path, reader.lineno, &v, error))
      return NULL;
    /* percent of one VM's capacity; 100 % = one core */
    v /= 100.0;
    g_array_append_val (values, v);
  }
  if (values->len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no samples", path);
    return NULL;
  }
  trace->start_usec = planetlab_start_usec (path);
  trace->n_values = values->len;
  trace->n_rows = values->len;
  trace->values[AMIGO_RESOURCE_CPU] = (double *) (void *) g_array_free (g_steal_pointer (&values), FALSE);
  trace->units[AMIGO_RESOURCE_CPU] = "cores";
  return g_steal_pointer (&trace);
}

gboolean
amigo_trace_planetlab_detect (const char *line, gsize len)
{
  double v;

  return amigo_trace_text_number (line, len, &v) == AMIGO_TRACE_NUMBER_OK;
}
