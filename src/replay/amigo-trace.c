/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-trace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-trace-private.h"

#define MAX_DIR_DEPTH 16

AMIGO_ENUM_IMPL (amigo_trace_format, AmigoTraceFormat, AMIGO_TRACE_FORMAT_LAST, "invalid",
                 [AMIGO_TRACE_FORMAT_UNKNOWN] = "unknown",
                 [AMIGO_TRACE_FORMAT_AMIGO] = "amigo-trace v1",
                 [AMIGO_TRACE_FORMAT_BITBRAINS] = "bitbrains",
                 [AMIGO_TRACE_FORMAT_PLANETLAB] = "planetlab")

gboolean
amigo_trace_rows_append (GArray *rows, const AmigoTraceRow *row, const char *path, guint lineno, GError **error)
{
  if (rows->len >= AMIGO_TRACE_MAX_ROWS) {
    amigo_trace_text_line_error (error, path, lineno, "more than %" G_GSIZE_FORMAT " rows, refusing to read further",
                    AMIGO_TRACE_MAX_ROWS);
    return FALSE;
  }
  g_array_append_vals (rows, row, 1);
  return TRUE;
}

AmigoTrace *
amigo_trace_new (const char *path, AmigoTraceFormat format)
{
  AmigoTrace *trace = g_new0 (AmigoTrace, 1);

  trace->name = g_strdup (path);
  trace->format = format;
  trace->step_usec = AMIGO_TRACE_STEP_USEC;
  return trace;
}

/* Puts @rows (in file order) on a grid of @step_s seconds starting at the
 * first row. Each row lands round(dt / step) steps after the previous kept
 * row, so 300/301 s jitter never opens a false gap and a longer gap leaves
 * NAN steps. A row less than half a step after the previous one is a
 * duplicate and dropped (the first one wins); a row going back in time is
 * dropped. */
gboolean
amigo_trace_regrid (AmigoTrace *trace, GArray *rows, double step_s, const gboolean *has, GError **error)
{
  g_autofree gsize *index = NULL;
  double prev_t;
  gsize idx = 0;

  if (rows->len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no data rows", trace->name);
    return FALSE;
  }
  prev_t = g_array_index (rows, AmigoTraceRow, 0).time_s;
  if (fabs (prev_t) > MAX_ABS_TIME_S) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': first timestamp %g is out of range",
                 trace->name, prev_t);
    return FALSE;
  }
  index = g_new (gsize, rows->len);
  index[0] = 0;
  for (guint i = 1; i < rows->len; i++) {
    double t = g_array_index (rows, AmigoTraceRow, i).time_s;
    double steps = floor ((t - prev_t) / step_s + 0.5);

    if (!(steps >= 1)) {
      index[i] = G_MAXSIZE;
      trace->n_dropped++;
      continue;
    }
    if (steps >= (double) (AMIGO_TRACE_MAX_STEPS - idx)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "'%s': timestamps span more than %" G_GSIZE_FORMAT " steps of %g s, refusing to allocate that",
                   trace->name, AMIGO_TRACE_MAX_STEPS, step_s);
      return FALSE;
    }
    idx += (gsize) steps;
    index[i] = idx;
    prev_t = t;
  }

  trace->start_usec = (gint64) llround (g_array_index (rows, AmigoTraceRow, 0).time_s * 1e6);
  trace->step_usec = (gint64) llround (step_s * 1e6);
  trace->n_values = idx + 1;
  trace->n_rows = rows->len;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (!has[r])
      continue;
    trace->values[r] = g_new (double, trace->n_values);
    for (gsize k = 0; k < trace->n_values; k++)
      trace->values[r][k] = NAN;
  }
  for (guint i = 0; i < rows->len; i++) {
    const AmigoTraceRow *row = &g_array_index (rows, AmigoTraceRow, i);

    if (index[i] == G_MAXSIZE)
      continue;
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
      if (has[r])
        trace->values[r][index[i]] = row->values[r];
    }
  }
  return TRUE;
}

/* The one table of trace formats, in the order they are tried. */
static const struct {
  AmigoTraceFormat format;
  gboolean (*detect) (const char *line, gsize len);
  AmigoTrace *(*parse) (const char *path, const char *data, gsize len, GError **error);
} readers[] = {
  { AMIGO_TRACE_FORMAT_AMIGO, amigo_trace_amigo_detect, amigo_trace_amigo_parse },
  { AMIGO_TRACE_FORMAT_BITBRAINS, amigo_trace_bitbrains_detect, amigo_trace_bitbrains_parse },
  { AMIGO_TRACE_FORMAT_PLANETLAB, amigo_trace_planetlab_detect, amigo_trace_planetlab_parse },
};

/* Index into readers[] of the file's format, -1 if unknown. */
static int
detect_reader (const char *data, gsize len)
{
  AmigoTraceLineReader reader;
  const char *line;
  gsize line_len;

  if (data == NULL || len == 0 || memchr (data, '\0', len) != NULL)
    return -1;
  amigo_trace_text_reader_init (&reader, data, len);
  if (!amigo_trace_text_next_line (&reader, &line, &line_len))
    return -1;
  for (guint i = 0; i < G_N_ELEMENTS (readers); i++) {
    if (readers[i].detect (line, line_len))
      return (int) i;
  }
  return -1;
}

AmigoTraceFormat
amigo_trace_detect_format (const char *data, gsize len)
{
  int i = detect_reader (data, len);

  return i >= 0 ? readers[i].format : AMIGO_TRACE_FORMAT_UNKNOWN;
}

AmigoTrace *
amigo_trace_parse (const char *path, const char *data, gsize len, GError **error)
{
  const char *nul;
  int format;

  g_return_val_if_fail (path != NULL, NULL);
  if (data == NULL || len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': empty file", path);
    return NULL;
  }
  nul = memchr (data, '\0', len);
  if (nul != NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': binary file (NUL byte at offset %" G_GSIZE_FORMAT ")",
                 path, (gsize) (nul - data));
    return NULL;
  }
  format = detect_reader (data, len);
  if (format >= 0)
    return readers[format].parse (path, data, len, error);
  {
    AmigoTraceLineReader reader;
    const char *line = "";
    gsize line_len = 0;
    g_autofree char *text = NULL;

    amigo_trace_text_reader_init (&reader, data, len);
    amigo_trace_text_next_line (&reader, &line, &line_len);
    text = amigo_trace_text_quote (line, line_len);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "'%s' line 1: not a known trace format (first line '%s'; expected '# amigo-trace v1', "
                 "a Bitbrains 'Timestamp [ms];...' header or PlanetLab CPU percents)",
                 path, text);
  }
  return NULL;
}

AmigoTrace *
amigo_trace_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gsize have = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, AMIGO_ERROR, saved == ENOENT ? AMIGO_ERROR_NOT_FOUND : AMIGO_ERROR_FAILED,
                 "'%s': cannot open: %s", path, g_strerror (saved));
    return NULL;
  }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': not a regular file", path);
    close (fd);
    return NULL;
  }
  if ((guint64) st.st_size > AMIGO_TRACE_MAX_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "'%s': %" G_GUINT64_FORMAT " bytes, more than the %" G_GSIZE_FORMAT " MiB a trace may have",
                 path, (guint64) st.st_size, AMIGO_TRACE_MAX_BYTES / 1024 / 1024);
    close (fd);
    return NULL;
  }
  data = g_malloc ((gsize) st.st_size + 1);
  while (have < (gsize) st.st_size) {
    ssize_t n = read (fd, data + have, (gsize) st.st_size - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "'%s': cannot read: %s", path, g_strerror (saved));
      close (fd);
      return NULL;
    }
    if (n == 0)
      break;
    have += (gsize) n;
  }
  close (fd);
  data[have] = '\0';
  return amigo_trace_parse (path, data, have, error);
}

void
amigo_trace_free (AmigoTrace *trace)
{
  if (trace == NULL)
    return;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    g_free (trace->values[r]);
  g_free (trace->name);
  g_free (trace);
}

gboolean
amigo_trace_has_resource (const AmigoTrace *trace, AmigoResource resource)
{
  g_return_val_if_fail (trace != NULL, FALSE);
  if (resource >= AMIGO_RESOURCE_LAST || trace->values[resource] == NULL)
    return FALSE;
  for (gsize i = 0; i < trace->n_values; i++) {
    if (!isnan (trace->values[resource][i]))
      return TRUE;
  }
  return FALSE;
}

void
amigo_trace_get_series (const AmigoTrace *trace, AmigoResource resource, AmigoSeries *ret_series)
{
  g_return_if_fail (trace != NULL && resource < AMIGO_RESOURCE_LAST);
  ret_series->start_usec = trace->start_usec;
  ret_series->step_usec = trace->step_usec;
  ret_series->values = trace->values[resource];
  ret_series->n_values = trace->values[resource] != NULL ? trace->n_values : 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
collect_dir (const char *path, guint depth, GPtrArray *files)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  /* a directory that cannot be listed is handed on as a file: loading it
   * then reports what is wrong, by name */
  if (depth >= MAX_DIR_DEPTH || (dir = g_dir_open (path, 0, NULL)) == NULL) {
    g_ptr_array_add (files, g_strdup (path));
    return;
  }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *child = g_build_filename (path, g_ptr_array_index (names, i), NULL);

    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      collect_dir (child, depth + 1, files);
    else
      g_ptr_array_add (files, g_steal_pointer (&child));
  }
}

/**
 * amigo_trace_collect_files:
 * @path: a file or a directory.
 * @files: (element-type filename): gets the files to load, directories
 *   recursed in name order.
 *
 * Fails with AMIGO_ERROR_NOT_FOUND if @path does not exist.
 */
gboolean
amigo_trace_collect_files (const char *path, GPtrArray *files, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "'%s': no such file or directory", path);
    return FALSE;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    collect_dir (path, 0, files);
  else
    g_ptr_array_add (files, g_strdup (path));
  return TRUE;
}
