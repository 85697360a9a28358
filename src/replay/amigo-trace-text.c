/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text scanning shared by the trace readers: lines, fields, numbers, and
 * messages that name the file and line. */
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo-trace-private.h"

void
amigo_trace_text_reader_init (AmigoTraceLineReader *reader, const char *data, gsize len)
{
  reader->p = data;
  reader->end = data + len;
  reader->lineno = 0;
  /* a UTF-8 byte order mark is not part of the first field */
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    reader->p += 3;
}

gboolean
amigo_trace_text_next_line (AmigoTraceLineReader *reader, const char **ret_line, gsize *ret_len)
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

void
amigo_trace_text_trim (const char **p, gsize *len)
{
  while (*len > 0 && g_ascii_isspace ((*p)[0])) {
    (*p)++;
    (*len)--;
  }
  while (*len > 0 && g_ascii_isspace ((*p)[*len - 1]))
    (*len)--;
}

gboolean
amigo_trace_text_is_blank (const char *p, gsize len)
{
  amigo_trace_text_trim (&p, &len);
  return len == 0;
}

/* Splits on @sep; returns the number of fields, or MAX_FIELDS + 1 if there
 * are more than MAX_FIELDS. Fields are trimmed. */
gsize
amigo_trace_text_split (const char *line, gsize len, char sep, AmigoTraceField *fields)
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
    amigo_trace_text_trim (&fields[n].p, &fields[n].len);
    n++;
    if (s == NULL)
      break;
    p = s + 1;
  }
  return n;
}

/* A short, printable copy of user text for an error message. */
char *
amigo_trace_text_quote (const char *p, gsize len)
{
  g_autofree char *raw = g_strndup (p, MIN (len, 40));
  g_autofree char *escaped = g_strescape (raw, NULL);

  if (len > 40)
    return g_strdup_printf ("%s...", escaped);
  return g_steal_pointer (&escaped);
}

/* Locale-free; accepts what strtod accepts (scientific notation), refuses
 * trailing garbage, NaN and infinities. */
AmigoTraceNumber
amigo_trace_text_number (const char *p, gsize len, double *ret_value)
{
  char buf[MAX_NUMBER_LEN];
  char *end = NULL;
  double v;

  amigo_trace_text_trim (&p, &len);
  if (len == 0)
    return AMIGO_TRACE_NUMBER_EMPTY;
  if (len >= sizeof buf)
    return AMIGO_TRACE_NUMBER_BAD;
  memcpy (buf, p, len);
  buf[len] = '\0';
  v = g_ascii_strtod (buf, &end);
  if (end != buf + len || !isfinite (v))
    return AMIGO_TRACE_NUMBER_BAD;
  *ret_value = v;
  return AMIGO_TRACE_NUMBER_OK;
}

void
amigo_trace_text_line_error (GError **error, const char *path, guint lineno, const char *format, ...)
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
gboolean
amigo_trace_text_field_number (const AmigoTraceField *f, gboolean allow_empty, const char *column, const char *path, guint lineno,
              double *ret_value, GError **error)
{
  double v = NAN;

  switch (amigo_trace_text_number (f->p, f->len, &v)) {
  case AMIGO_TRACE_NUMBER_EMPTY:
    if (allow_empty) {
      *ret_value = NAN;
      return TRUE;
    }
    amigo_trace_text_line_error (error, path, lineno, "column '%s' is empty", column);
    return FALSE;
  case AMIGO_TRACE_NUMBER_BAD: {
    g_autofree char *text = amigo_trace_text_quote (f->p, f->len);
    amigo_trace_text_line_error (error, path, lineno, "column '%s': '%s' is not a number", column, text);
    return FALSE;
  }
  case AMIGO_TRACE_NUMBER_OK:
  default:
    break;
  }
  if (v < 0) {
    amigo_trace_text_line_error (error, path, lineno, "column '%s': negative value %g", column, v);
    return FALSE;
  }
  *ret_value = v;
  return TRUE;
}
