/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-gnuplot.h"

#include <glib/gstdio.h>

#include "amigo-error.h"

struct _AmigoGnuplot {
  char *dir;
  GString *script;
};

gboolean
amigo_gnuplot_check (GError **error)
{
  g_autofree char *path = g_find_program_in_path ("gnuplot");

  if (path == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                         "gnuplot is not installed (not found in $PATH): install it, e.g. "
                         "'apt-get install gnuplot-nox'");
    return FALSE;
  }
  return TRUE;
}

AmigoGnuplot *
amigo_gnuplot_new (GError **error)
{
  g_autoptr (GError) local_error = NULL;
  AmigoGnuplot *self;
  char *dir;

  if (!amigo_gnuplot_check (error))
    return NULL;
  dir = g_dir_make_tmp ("amigo-plot-XXXXXX", &local_error);
  if (dir == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot make a temporary directory: %s",
                 local_error->message);
    return NULL;
  }
  self = g_new0 (AmigoGnuplot, 1);
  self->dir = dir;
  self->script = g_string_new (NULL);
  return self;
}

void
amigo_gnuplot_free (AmigoGnuplot *self)
{
  g_autoptr (GDir) d = NULL;
  const char *name;

  if (self == NULL)
    return;
  d = g_dir_open (self->dir, 0, NULL);
  if (d != NULL) {
    while ((name = g_dir_read_name (d)) != NULL) {
      g_autofree char *path = g_build_filename (self->dir, name, NULL);
      g_unlink (path);
    }
  }
  g_rmdir (self->dir);
  g_free (self->dir);
  g_string_free (self->script, TRUE);
  g_free (self);
}

GString *
amigo_gnuplot_get_script (AmigoGnuplot *self)
{
  return self->script;
}

void
amigo_gnuplot_append_quoted (GString *out, const char *text)
{
  g_string_append_c (out, '\'');
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '\'')
      g_string_append (out, "''");
    else if (*p == '\n' || *p == '\r')
      g_string_append_c (out, ' ');
    else
      g_string_append_c (out, *p);
  }
  g_string_append_c (out, '\'');
}

static gboolean
have_pngcairo (void)
{
  const char *argv[] = { "gnuplot", "-e", "set terminal pngcairo", NULL };
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                     NULL, NULL, &status, NULL))
    return FALSE;
  return g_spawn_check_wait_status (status, NULL);
}

void
amigo_gnuplot_set_png (AmigoGnuplot *self, const char *png_path, guint width, guint height)
{
  g_string_append_printf (self->script, "set terminal %s size %u,%u noenhanced\nset output ",
                          have_pngcairo () ? "pngcairo" : "png", width, height);
  amigo_gnuplot_append_quoted (self->script, png_path);
  g_string_append_c (self->script, '\n');
}

gboolean
amigo_gnuplot_append_data (AmigoGnuplot *self, const char *name, const GString *data, GError **error)
{
  g_autofree char *path = g_build_filename (self->dir, name, NULL);

  if (!g_file_set_contents (path, data->str, (gssize) data->len, error))
    return FALSE;
  amigo_gnuplot_append_quoted (self->script, path);
  return TRUE;
}

gboolean
amigo_gnuplot_run (AmigoGnuplot *self, GError **error)
{
  g_autofree char *script_path = g_build_filename (self->dir, "plot.gp", NULL);
  g_autofree char *stderr_text = NULL;
  const char *argv[] = { "gnuplot", script_path, NULL };
  int status = -1;

  if (!g_file_set_contents (script_path, self->script->str, (gssize) self->script->len, error))
    return FALSE;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &stderr_text, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "gnuplot failed: %s",
                 stderr_text != NULL ? g_strstrip (stderr_text) : "");
    return FALSE;
  }
  return TRUE;
}
