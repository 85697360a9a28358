/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-plot.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "amigo-error.h"
#include "amigo-time.h"

static const char *const line_colors[] = { "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02" };

/* A gnuplot single-quoted string: no escapes, '' is a quote. */
static void
append_quoted (GString *out, const char *text)
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

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d != NULL) {
    while ((name = g_dir_read_name (d)) != NULL) {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  }
  g_rmdir (dir);
}

/**
 * amigo_plot_write:
 * @actual: the series the reservations were made for.
 * @track: (element-type AmigoTrackPoint): the windows, from
 *   amigo_evaluation_run_series().
 * @lines: which methods of @track to draw.
 *
 * Writes a PNG (gnuplot) of @actual over time with each method's
 * reservation drawn over every window it was made for.
 */
gboolean
amigo_plot_write (const char *png_path, const char *title, const char *ylabel, const AmigoSeries *actual,
                  const GArray *track, const AmigoPlotLine *lines, gsize n_lines, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *script_path = NULL;
  g_autofree char *actual_path = NULL;
  g_autofree char *stderr_text = NULL;
  g_autoptr(GString) script = g_string_new (NULL);
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  const char *argv[] = { "gnuplot", NULL, NULL };
  int status = -1;
  gboolean ok = FALSE;

  dir = g_dir_make_tmp ("amigo-plot-XXXXXX", &local_error);
  if (dir == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot make a temporary directory: %s",
                 local_error->message);
    return FALSE;
  }

  actual_path = g_build_filename (dir, "actual.dat", NULL);
  for (gsize i = 0; i < actual->n_values; i++) {
    gint64 t = (actual->start_usec + (gint64) i * actual->step_usec) / AMIGO_USEC_PER_SEC;
    if (isnan (actual->values[i])) {
      /* a blank line breaks the line at a gap */
      g_string_append_c (data, '\n');
      continue;
    }
    g_string_append_printf (data, "%" G_GINT64_FORMAT " %s\n", t,
                            g_ascii_dtostr (num, sizeof num, actual->values[i]));
  }
  if (!g_file_set_contents (actual_path, data->str, (gssize) data->len, &local_error))
    goto out;

  g_string_append_printf (script, "set terminal %s size 1600,560 noenhanced\n",
                          have_pngcairo () ? "pngcairo" : "png");
  g_string_append (script, "set output ");
  append_quoted (script, png_path);
  g_string_append (script, "\nset title ");
  append_quoted (script, title);
  g_string_append (script, "\nset ylabel ");
  append_quoted (script, ylabel);
  g_string_append (script,
                   "\nset xlabel 'time (UTC)'\n"
                   "set xdata time\nset timefmt '%s'\nset format x \"%m-%d\\n%H:%M\"\n"
                   "set grid\nset key outside bottom center horizontal\nset yrange [0:*]\n");
  g_string_append_printf (script, "set xrange ['%" G_GINT64_FORMAT "':'%" G_GINT64_FORMAT "']\n",
                          actual->start_usec / AMIGO_USEC_PER_SEC,
                          (actual->start_usec + (gint64) actual->n_values * actual->step_usec) / AMIGO_USEC_PER_SEC);
  g_string_append (script, "plot ");
  append_quoted (script, actual_path);
  g_string_append (script, " using 1:2 with lines lc rgb '#9e9e9e' title 'actual use'");

  for (gsize l = 0; l < n_lines; l++) {
    g_autofree char *name = g_strdup_printf ("m%" G_GSIZE_FORMAT ".dat", l);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autofree char *key = g_strdup_printf ("%s reservation", lines[l].name);

    g_string_truncate (data, 0);
    for (guint i = 0; i < track->len; i++) {
      const AmigoTrackPoint *p = &g_array_index (track, AmigoTrackPoint, i);
      if (p->method != lines[l].method)
        continue;
      g_ascii_dtostr (num, sizeof num, p->reservation);
      g_string_append_printf (data, "%" G_GINT64_FORMAT " %s\n%" G_GINT64_FORMAT " %s\n\n",
                              p->start_usec / AMIGO_USEC_PER_SEC, num, p->end_usec / AMIGO_USEC_PER_SEC, num);
    }
    if (!g_file_set_contents (path, data->str, (gssize) data->len, &local_error))
      goto out;
    g_string_append (script, ", ");
    append_quoted (script, path);
    /* later lines are thinner, so one drawn over an equal one leaves it visible */
    g_string_append_printf (script, " using 1:2 with linespoints lw %u pt 7 ps 0.4 lc rgb '%s' title ",
                            (guint) MAX (1, 6 - 2 * (int) MIN (l, 2)), line_colors[l % G_N_ELEMENTS (line_colors)]);
    append_quoted (script, key);
  }
  if (n_lines > 0) {
    g_autofree char *path = g_build_filename (dir, "peaks.dat", NULL);

    g_string_truncate (data, 0);
    for (guint i = 0; i < track->len; i++) {
      const AmigoTrackPoint *p = &g_array_index (track, AmigoTrackPoint, i);
      if (p->method != lines[0].method)
        continue;
      g_string_append_printf (data, "%" G_GINT64_FORMAT " %s\n", (p->start_usec + p->end_usec) / 2 / AMIGO_USEC_PER_SEC,
                              g_ascii_dtostr (num, sizeof num, p->peak));
    }
    if (!g_file_set_contents (path, data->str, (gssize) data->len, &local_error))
      goto out;
    g_string_append (script, ", ");
    append_quoted (script, path);
    g_string_append (script, " using 1:2 with points pt 2 ps 0.8 lc rgb '#000000' title 'window peak (demand)'");
  }
  g_string_append_c (script, '\n');

  script_path = g_build_filename (dir, "plot.gp", NULL);
  if (!g_file_set_contents (script_path, script->str, (gssize) script->len, &local_error))
    goto out;
  argv[1] = script_path;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &stderr_text, &status, &local_error))
    goto out;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (&local_error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "gnuplot failed: %s",
                 stderr_text != NULL ? g_strstrip (stderr_text) : "");
    goto out;
  }
  ok = TRUE;

out:
  remove_dir (dir);
  if (!ok) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write plot '%s': %s", png_path,
                 local_error != NULL ? local_error->message : "unknown error");
  }
  return ok;
}
