/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-format.h"

#include "amigo-duration.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

struct _AmigoTable {
  guint n_columns;
  GPtrArray *headers;     /* char * */
  gboolean *right;
  GPtrArray *rows;        /* GStrv */
};

AmigoTable *
amigo_table_new (const char * const *headers, const gboolean *right_aligned, guint n_columns)
{
  AmigoTable *self = g_new0 (AmigoTable, 1);

  self->n_columns = n_columns;
  self->headers = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n_columns; i++)
    g_ptr_array_add (self->headers, g_strdup (headers[i]));
  self->right = g_new0 (gboolean, n_columns);
  if (right_aligned != NULL)
    memcpy (self->right, right_aligned, n_columns * sizeof (gboolean));
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  return self;
}

void
amigo_table_free (AmigoTable *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->headers);
  g_ptr_array_unref (self->rows);
  g_free (self->right);
  g_free (self);
}

void
amigo_table_add_row (AmigoTable *self, const char * const *cells)
{
  char **row = g_new0 (char *, self->n_columns + 1);

  for (guint i = 0; i < self->n_columns; i++)
    row[i] = g_strdup (cells[i] != NULL ? cells[i] : "");
  g_ptr_array_add (self->rows, row);
}

guint
amigo_table_get_n_rows (AmigoTable *self)
{
  return self->rows->len;
}

static void
append_cell (GString *out, const char *cell, gsize width, gboolean right, gboolean last)
{
  gsize len = g_utf8_strlen (cell, -1);
  gsize pad = width > len ? width - len : 0;

  if (right) {
    for (gsize i = 0; i < pad; i++)
      g_string_append_c (out, ' ');
    g_string_append (out, cell);
  } else {
    g_string_append (out, cell);
    if (!last) {
      for (gsize i = 0; i < pad; i++)
        g_string_append_c (out, ' ');
    }
  }
  if (!last)
    g_string_append (out, "  ");
}

char *
amigo_table_render (AmigoTable *self)
{
  g_autofree gsize *width = g_new0 (gsize, self->n_columns);
  GString *out = g_string_new (NULL);

  for (guint c = 0; c < self->n_columns; c++)
    width[c] = g_utf8_strlen (g_ptr_array_index (self->headers, c), -1);
  for (guint r = 0; r < self->rows->len; r++) {
    char **row = g_ptr_array_index (self->rows, r);
    for (guint c = 0; c < self->n_columns; c++)
      width[c] = MAX (width[c], (gsize) g_utf8_strlen (row[c], -1));
  }
  for (guint c = 0; c < self->n_columns; c++)
    append_cell (out, g_ptr_array_index (self->headers, c), width[c], self->right[c],
                 c + 1 == self->n_columns);
  g_string_append_c (out, '\n');
  for (guint r = 0; r < self->rows->len; r++) {
    char **row = g_ptr_array_index (self->rows, r);
    for (guint c = 0; c < self->n_columns; c++)
      append_cell (out, row[c], width[c], self->right[c], c + 1 == self->n_columns);
    g_string_append_c (out, '\n');
  }
  return g_string_free (out, FALSE);
}

char *
amigo_format_duration (gint64 usec)
{
  /* two units read at a glance: "2d 3h", not "2d 3h 59m 12s" */
  return amigo_duration_format_rounded (usec, 2);
}

char *
amigo_format_bytes (guint64 bytes)
{
  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  if (bytes < 1024 * 1024)
    return g_strdup_printf ("%.1f KiB", bytes / 1024.0);
  if (bytes < G_GUINT64_CONSTANT (1024) * 1024 * 1024)
    return g_strdup_printf ("%.1f MiB", bytes / AMIGO_BYTES_PER_MIB);
  return g_strdup_printf ("%.1f GiB", bytes / AMIGO_BYTES_PER_GIB);
}

char *
amigo_format_time (gint64 wall_usec)
{
  g_autoptr (GDateTime) dt = NULL;

  if (wall_usec <= 0)
    return g_strdup ("-");
  dt = g_date_time_new_from_unix_local (wall_usec / AMIGO_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("-");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
}

char *
amigo_format_value (double value)
{
  double a = fabs (value);

  if (!isfinite (value))
    return g_strdup ("-");
  if (a >= 1000)
    return g_strdup_printf ("%.0f", value);
  if (a >= 100)
    return g_strdup_printf ("%.1f", value);
  return g_strdup_printf ("%.2f", value);
}

char *
amigo_format_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}

gboolean
amigo_format_parse_time (const char *text, gint64 now_usec, gint64 *ret_usec, GError **error)
{
  gint64 usec;

  if (text == NULL || *text == '\0') {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "expected a time, got ''");
    return FALSE;
  }
  if (strcmp (text, "now") == 0) {
    *ret_usec = now_usec;
    return TRUE;
  }
  if (text[0] == '@') {
    char *end = NULL;
    gint64 sec = g_ascii_strtoll (text + 1, &end, 10);
    if (end != text + 1 && *end == '\0' && sec >= 0 && sec < G_GINT64_CONSTANT (100000000000)) {
      *ret_usec = sec * AMIGO_USEC_PER_SEC;
      return TRUE;
    }
  } else if (amigo_duration_parse (text, &usec, NULL)) {
    *ret_usec = now_usec - usec;
    return TRUE;
  } else {
    g_autoptr (GTimeZone) local = g_time_zone_new_local ();
    g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, local);
    if (dt != NULL) {
      *ret_usec = g_date_time_to_unix (dt) * AMIGO_USEC_PER_SEC + g_date_time_get_microsecond (dt);
      return TRUE;
    }
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
               "expected a time like '2026-11-25T10:00:00Z', '@1764064800', 'now' or a duration ago "
               "like '2h', got '%s'", text);
  return FALSE;
}
