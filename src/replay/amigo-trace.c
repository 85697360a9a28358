/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-trace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "amigo-error.h"

#define MAX_FIELDS 64
#define MAX_NUMBER_LEN 64
#define MAX_DIR_DEPTH 16
/* Timestamps above this many seconds (year 5138) are taken as milliseconds. */
#define MSEC_THRESHOLD 1e11
/* Refuse times further than this from the epoch (about 317,000 years). */
#define MAX_ABS_TIME_S 1e13
/* Bitbrains KB are 1024 bytes; a megabit is 10^6 bits. */
#define KB_PER_GIB (1024.0 * 1024.0)
#define KB_PER_S_TO_MBIT_PER_S (1024.0 * 8.0 / 1e6)

static const char *const format_names[] = {
  [AMIGO_TRACE_FORMAT_UNKNOWN] = "unknown",
  [AMIGO_TRACE_FORMAT_AMIGO] = "amigo-trace v1",
  [AMIGO_TRACE_FORMAT_BITBRAINS] = "bitbrains",
  [AMIGO_TRACE_FORMAT_PLANETLAB] = "planetlab",
};

G_STATIC_ASSERT (G_N_ELEMENTS (format_names) == AMIGO_TRACE_FORMAT_LAST);

const char *
amigo_trace_format_to_string (AmigoTraceFormat format)
{
  if (format >= AMIGO_TRACE_FORMAT_LAST)
    return "invalid";
  return format_names[format];
}

/* One parsed row before it is put on the grid; time in seconds. */
typedef struct {
  double time_s;
  double values[AMIGO_RESOURCE_LAST];
} TraceRow;

typedef struct {
  const char *p;
  const char *end;
  guint lineno;
} LineReader;

typedef struct {
  const char *p;
  gsize len;
} Field;

static void
line_reader_init (LineReader *reader, const char *data, gsize len)
{
  reader->p = data;
  reader->end = data + len;
  reader->lineno = 0;
  /* a UTF-8 byte order mark is not part of the first field */
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    reader->p += 3;
}

static gboolean
line_reader_next (LineReader *reader, const char **ret_line, gsize *ret_len)
{
  const char *nl;
  const char *e;

  if (reader->p >= reader->end)
    return FALSE;
  nl = memchr (reader->p, '\n', (gsize) (reader->end - reader->p));
  e = nl != NULL ? nl : reader->end;
  *ret_line = reader->p;
  *ret_len = (gsize) (e - reader->p);
  if (*ret_len > 0 && (*ret_line)[*ret_len - 1] == '\r')
    (*ret_len)--;
  reader->p = nl != NULL ? nl + 1 : reader->end;
  reader->lineno++;
  return TRUE;
}

static void
trim (const char **p, gsize *len)
{
  while (*len > 0 && g_ascii_isspace ((*p)[0])) {
    (*p)++;
    (*len)--;
  }
  while (*len > 0 && g_ascii_isspace ((*p)[*len - 1]))
    (*len)--;
}

static gboolean
is_blank (const char *p, gsize len)
{
  trim (&p, &len);
  return len == 0;
}

/* Splits on @sep; returns the number of fields, or MAX_FIELDS + 1 if there
 * are more than MAX_FIELDS. Fields are trimmed. */
static gsize
split_fields (const char *line, gsize len, char sep, Field *fields)
{
  gsize n = 0;
  const char *p = line;
  const char *end = line + len;

  for (;;) {
    const char *s = memchr (p, sep, (gsize) (end - p));
    const char *e = s != NULL ? s : end;

    if (n == MAX_FIELDS)
      return MAX_FIELDS + 1;
    fields[n].p = p;
    fields[n].len = (gsize) (e - p);
    trim (&fields[n].p, &fields[n].len);
    n++;
    if (s == NULL)
      break;
    p = s + 1;
  }
  return n;
}

/* A short, printable copy of user text for an error message. */
static char *
quote_text (const char *p, gsize len)
{
  g_autofree char *raw = g_strndup (p, MIN (len, 40));
  g_autofree char *escaped = g_strescape (raw, NULL);

  if (len > 40)
    return g_strdup_printf ("%s...", escaped);
  return g_steal_pointer (&escaped);
}

typedef enum {
  NUMBER_OK,
  NUMBER_EMPTY,
  NUMBER_BAD,
} NumberResult;

/* Locale-free; accepts what strtod accepts (scientific notation), refuses
 * trailing garbage, NaN and infinities. */
static NumberResult
parse_number (const char *p, gsize len, double *ret_value)
{
  char buf[MAX_NUMBER_LEN];
  char *end = NULL;
  double v;

  trim (&p, &len);
  if (len == 0)
    return NUMBER_EMPTY;
  if (len >= sizeof buf)
    return NUMBER_BAD;
  memcpy (buf, p, len);
  buf[len] = '\0';
  v = g_ascii_strtod (buf, &end);
  if (end != buf + len || !isfinite (v))
    return NUMBER_BAD;
  *ret_value = v;
  return NUMBER_OK;
}

static void set_line_error (GError **error, const char *path, guint lineno, const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
set_line_error (GError **error, const char *path, guint lineno, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s' line %u: %s", path, lineno, what);
}

/* Parses field @f as a non-negative number; an empty field is NAN when
 * @allow_empty, an error otherwise. */
static gboolean
field_number (const Field *f, gboolean allow_empty, const char *column, const char *path, guint lineno,
              double *ret_value, GError **error)
{
  double v = NAN;

  switch (parse_number (f->p, f->len, &v)) {
  case NUMBER_EMPTY:
    if (allow_empty) {
      *ret_value = NAN;
      return TRUE;
    }
    set_line_error (error, path, lineno, "column '%s' is empty", column);
    return FALSE;
  case NUMBER_BAD: {
    g_autofree char *text = quote_text (f->p, f->len);
    set_line_error (error, path, lineno, "column '%s': '%s' is not a number", column, text);
    return FALSE;
  }
  case NUMBER_OK:
  default:
    break;
  }
  if (v < 0) {
    set_line_error (error, path, lineno, "column '%s': negative value %g", column, v);
    return FALSE;
  }
  *ret_value = v;
  return TRUE;
}

static gboolean
rows_append (GArray *rows, const TraceRow *row, const char *path, guint lineno, GError **error)
{
  if (rows->len >= AMIGO_TRACE_MAX_ROWS) {
    set_line_error (error, path, lineno, "more than %" G_GSIZE_FORMAT " rows, refusing to read further",
                    AMIGO_TRACE_MAX_ROWS);
    return FALSE;
  }
  g_array_append_vals (rows, row, 1);
  return TRUE;
}

static AmigoTrace *
trace_new (const char *path, AmigoTraceFormat format)
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
static gboolean
trace_regrid (AmigoTrace *trace, GArray *rows, double step_s, const gboolean *has, GError **error)
{
  g_autofree gsize *index = NULL;
  double prev_t;
  gsize idx = 0;

  if (rows->len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no data rows", trace->name);
    return FALSE;
  }
  prev_t = g_array_index (rows, TraceRow, 0).time_s;
  if (fabs (prev_t) > MAX_ABS_TIME_S) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': first timestamp %g is out of range",
                 trace->name, prev_t);
    return FALSE;
  }
  index = g_new (gsize, rows->len);
  index[0] = 0;
  for (guint i = 1; i < rows->len; i++) {
    double t = g_array_index (rows, TraceRow, i).time_s;
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

  trace->start_usec = (gint64) llround (g_array_index (rows, TraceRow, 0).time_s * 1e6);
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
    const TraceRow *row = &g_array_index (rows, TraceRow, i);

    if (index[i] == G_MAXSIZE)
      continue;
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
      if (has[r])
        trace->values[r][index[i]] = row->values[r];
    }
  }
  return TRUE;
}

/* Bitbrains GWA-T-12 */

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

static AmigoTrace *
parse_bitbrains (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = trace_new (path, AMIGO_TRACE_FORMAT_BITBRAINS);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (TraceRow));
  Field fields[MAX_FIELDS];
  int col[BB_LAST];
  gboolean has[AMIGO_RESOURCE_LAST] = { FALSE };
  LineReader reader;
  const char *line;
  gsize line_len;
  gsize n_header;
  double time_scale = 0;

  line_reader_init (&reader, data, len);
  if (!line_reader_next (&reader, &line, &line_len)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': empty file", path);
    return NULL;
  }
  n_header = split_fields (line, line_len, ';', fields);
  if (n_header > MAX_FIELDS) {
    set_line_error (error, path, reader.lineno, "more than %d columns in the header", MAX_FIELDS);
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
      set_line_error (error, path, reader.lineno, "header has no '%s' column", bitbrains_columns[c]);
      return NULL;
    }
  }
  has[AMIGO_RESOURCE_CPU] = TRUE;
  has[AMIGO_RESOURCE_MEMORY] = col[BB_MEMORY_KB] >= 0;
  has[AMIGO_RESOURCE_DISK] = col[BB_DISK_READ] >= 0 && col[BB_DISK_WRITE] >= 0;
  has[AMIGO_RESOURCE_NETWORK] = col[BB_NET_RX] >= 0 && col[BB_NET_TX] >= 0;

  while (line_reader_next (&reader, &line, &line_len)) {
    double v[BB_LAST];
    TraceRow row;
    gsize n;

    if (is_blank (line, line_len))
      continue;
    n = split_fields (line, line_len, ';', fields);
    if (n != n_header) {
      set_line_error (error, path, reader.lineno, "expected %" G_GSIZE_FORMAT " fields, found %s%" G_GSIZE_FORMAT,
                      n_header, n > MAX_FIELDS ? "more than " : "", MIN (n, (gsize) MAX_FIELDS));
      return NULL;
    }
    for (guint c = 0; c < BB_LAST; c++) {
      v[c] = NAN;
      if (col[c] >= 0 && !field_number (&fields[col[c]], FALSE, bitbrains_columns[c], path, reader.lineno, &v[c], error))
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
    if (!rows_append (rows, &row, path, reader.lineno, error))
      return NULL;
  }
  if (rows->len == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no data rows with CPU cores > 0", path);
    return NULL;
  }
  {
    gsize dropped = trace->n_dropped;
    if (!trace_regrid (trace, rows, AMIGO_TRACE_STEP_USEC / 1e6, has, error))
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

/* PlanetLab / CoMon */

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

static AmigoTrace *
parse_planetlab (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = trace_new (path, AMIGO_TRACE_FORMAT_PLANETLAB);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  LineReader reader;
  const char *line;
  gsize line_len;

  line_reader_init (&reader, data, len);
  while (line_reader_next (&reader, &line, &line_len)) {
    Field f = { line, line_len };
    double v;

    if (values->len >= AMIGO_TRACE_MAX_ROWS) {
      set_line_error (error, path, reader.lineno, "more than %" G_GSIZE_FORMAT " rows, refusing to read further",
                      AMIGO_TRACE_MAX_ROWS);
      return NULL;
    }
    /* a blank line is a missing sample: the line number is the time */
    if (!field_number (&f, TRUE, "CPU %", path, reader.lineno, &v, error))
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

/* amigo-trace v1 */

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

static AmigoTrace *
parse_amigo (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr(AmigoTrace) trace = trace_new (path, AMIGO_TRACE_FORMAT_AMIGO);
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (TraceRow));
  Field fields[MAX_FIELDS];
  int resource_of[MAX_FIELDS];
  gboolean has[AMIGO_RESOURCE_LAST] = { FALSE };
  const char *units[AMIGO_RESOURCE_LAST] = { NULL };
  LineReader reader;
  const char *line;
  gsize line_len;
  gsize n_header = 0;
  double step_s = AMIGO_TRACE_STEP_USEC / 1e6;

  line_reader_init (&reader, data, len);
  if (!line_reader_next (&reader, &line, &line_len)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': empty file", path);
    return NULL;
  }
  trim (&line, &line_len);
  if (line_len != strlen ("# amigo-trace v1") || memcmp (line, "# amigo-trace v1", line_len) != 0) {
    g_autofree char *text = quote_text (line, line_len);
    set_line_error (error, path, reader.lineno, "unsupported version line '%s', expected '# amigo-trace v1'", text);
    return NULL;
  }

  while (line_reader_next (&reader, &line, &line_len)) {
    TraceRow row;
    gsize n;

    trim (&line, &line_len);
    if (line_len == 0)
      continue;
    if (line[0] == '#') {
      const char *key = "# step_s=";
      if (n_header == 0 && line_len > strlen (key) && memcmp (line, key, strlen (key)) == 0) {
        Field f = { line + strlen (key), line_len - strlen (key) };
        if (!field_number (&f, FALSE, "step_s", path, reader.lineno, &step_s, error))
          return NULL;
        if (step_s < 1 || step_s > 86400 * 366) {
          set_line_error (error, path, reader.lineno, "step_s %g is outside 1 s .. 1 year", step_s);
          return NULL;
        }
      }
      continue;
    }
    n = split_fields (line, line_len, ',', fields);
    if (n_header == 0) {
      if (n > MAX_FIELDS) {
        set_line_error (error, path, reader.lineno, "more than %d columns in the header", MAX_FIELDS);
        return NULL;
      }
      if (fields[0].len != strlen ("time_s") || memcmp (fields[0].p, "time_s", fields[0].len) != 0) {
        g_autofree char *text = quote_text (fields[0].p, fields[0].len);
        set_line_error (error, path, reader.lineno, "first column must be 'time_s', found '%s'", text);
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
          g_autofree char *text = quote_text (fields[i].p, fields[i].len);
          set_line_error (error, path, reader.lineno, "unknown column '%s'", text);
          return NULL;
        }
        if (has[amigo_columns[resource_of[i]].resource]) {
          g_autofree char *text = quote_text (fields[i].p, fields[i].len);
          set_line_error (error, path, reader.lineno, "column '%s' repeats a resource", text);
          return NULL;
        }
        has[amigo_columns[resource_of[i]].resource] = TRUE;
        units[amigo_columns[resource_of[i]].resource] = amigo_columns[resource_of[i]].unit;
      }
      n_header = n;
      continue;
    }
    if (n != n_header) {
      set_line_error (error, path, reader.lineno, "expected %" G_GSIZE_FORMAT " fields, found %s%" G_GSIZE_FORMAT,
                      n_header, n > MAX_FIELDS ? "more than " : "", MIN (n, (gsize) MAX_FIELDS));
      return NULL;
    }
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      row.values[r] = NAN;
    switch (parse_number (fields[0].p, fields[0].len, &row.time_s)) {
    case NUMBER_OK:
      break;
    case NUMBER_EMPTY:
      set_line_error (error, path, reader.lineno, "column 'time_s' is empty");
      return NULL;
    case NUMBER_BAD:
    default: {
      g_autofree char *text = quote_text (fields[0].p, fields[0].len);
      set_line_error (error, path, reader.lineno, "column 'time_s': '%s' is not a number", text);
      return NULL;
    }
    }
    for (gsize i = 1; i < n; i++) {
      AmigoResource r = amigo_columns[resource_of[i]].resource;
      if (!field_number (&fields[i], TRUE, amigo_columns[resource_of[i]].column, path, reader.lineno,
                         &row.values[r], error))
        return NULL;
    }
    if (!rows_append (rows, &row, path, reader.lineno, error))
      return NULL;
  }
  if (n_header == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "'%s': no header line 'time_s,...'", path);
    return NULL;
  }
  if (!trace_regrid (trace, rows, step_s, has, error))
    return NULL;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    trace->units[r] = units[r];
  return g_steal_pointer (&trace);
}

AmigoTraceFormat
amigo_trace_detect_format (const char *data, gsize len)
{
  LineReader reader;
  const char *line;
  gsize line_len;
  double v;

  if (data == NULL || len == 0 || memchr (data, '\0', len) != NULL)
    return AMIGO_TRACE_FORMAT_UNKNOWN;
  line_reader_init (&reader, data, len);
  if (!line_reader_next (&reader, &line, &line_len))
    return AMIGO_TRACE_FORMAT_UNKNOWN;
  if (line_len >= strlen ("# amigo-trace") && memcmp (line, "# amigo-trace", strlen ("# amigo-trace")) == 0)
    return AMIGO_TRACE_FORMAT_AMIGO;
  if (line_len >= strlen ("Timestamp") && g_ascii_strncasecmp (line, "Timestamp", strlen ("Timestamp")) == 0 &&
      memchr (line, ';', line_len) != NULL)
    return AMIGO_TRACE_FORMAT_BITBRAINS;
  if (parse_number (line, line_len, &v) == NUMBER_OK)
    return AMIGO_TRACE_FORMAT_PLANETLAB;
  return AMIGO_TRACE_FORMAT_UNKNOWN;
}

AmigoTrace *
amigo_trace_parse (const char *path, const char *data, gsize len, GError **error)
{
  const char *nul;

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
  switch (amigo_trace_detect_format (data, len)) {
  case AMIGO_TRACE_FORMAT_AMIGO:
    return parse_amigo (path, data, len, error);
  case AMIGO_TRACE_FORMAT_BITBRAINS:
    return parse_bitbrains (path, data, len, error);
  case AMIGO_TRACE_FORMAT_PLANETLAB:
    return parse_planetlab (path, data, len, error);
  case AMIGO_TRACE_FORMAT_UNKNOWN:
  case AMIGO_TRACE_FORMAT_LAST:
  default:
    break;
  }
  {
    LineReader reader;
    const char *line = "";
    gsize line_len = 0;
    g_autofree char *text = NULL;

    line_reader_init (&reader, data, len);
    line_reader_next (&reader, &line, &line_len);
    text = quote_text (line, line_len);
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
