/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-plot.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-gnuplot.h"
#include "amigo-time.h"

static const char *const line_colors[] = { "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02" };

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
  g_autoptr (AmigoGnuplot) plot = NULL;
  g_autoptr (GString) data = g_string_new (NULL);
  g_autoptr (GError) local_error = NULL;
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  GString *script;

  plot = amigo_gnuplot_new (&local_error);
  if (plot == NULL)
    goto fail;
  script = amigo_gnuplot_get_script (plot);

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

  amigo_gnuplot_set_png (plot, png_path, 1600, 560);
  g_string_append (script, "set title ");
  amigo_gnuplot_append_quoted (script, title);
  g_string_append (script, "\nset ylabel ");
  amigo_gnuplot_append_quoted (script, ylabel);
  g_string_append (script,
                   "\nset xlabel 'time (UTC)'\n"
                   "set xdata time\nset timefmt '%s'\nset format x \"%m-%d\\n%H:%M\"\n"
                   "set grid\nset key outside bottom center horizontal\nset yrange [0:*]\n");
  g_string_append_printf (script, "set xrange ['%" G_GINT64_FORMAT "':'%" G_GINT64_FORMAT "']\n",
                          actual->start_usec / AMIGO_USEC_PER_SEC,
                          (actual->start_usec + (gint64) actual->n_values * actual->step_usec) / AMIGO_USEC_PER_SEC);
  g_string_append (script, "plot ");
  if (!amigo_gnuplot_append_data (plot, "actual.dat", data, &local_error))
    goto fail;
  g_string_append (script, " using 1:2 with lines lc rgb '#9e9e9e' title 'actual use'");

  for (gsize l = 0; l < n_lines; l++) {
    g_autofree char *name = g_strdup_printf ("m%" G_GSIZE_FORMAT ".dat", l);
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
    g_string_append (script, ", ");
    if (!amigo_gnuplot_append_data (plot, name, data, &local_error))
      goto fail;
    /* later lines are thinner, so one drawn over an equal one leaves it visible */
    g_string_append_printf (script, " using 1:2 with linespoints lw %u pt 7 ps 0.4 lc rgb '%s' title ",
                            (guint) MAX (1, 6 - 2 * (int) MIN (l, 2)), line_colors[l % G_N_ELEMENTS (line_colors)]);
    amigo_gnuplot_append_quoted (script, key);
  }
  if (n_lines > 0) {
    g_string_truncate (data, 0);
    for (guint i = 0; i < track->len; i++) {
      const AmigoTrackPoint *p = &g_array_index (track, AmigoTrackPoint, i);
      if (p->method != lines[0].method)
        continue;
      g_string_append_printf (data, "%" G_GINT64_FORMAT " %s\n", (p->start_usec + p->end_usec) / 2 / AMIGO_USEC_PER_SEC,
                              g_ascii_dtostr (num, sizeof num, p->peak));
    }
    g_string_append (script, ", ");
    if (!amigo_gnuplot_append_data (plot, "peaks.dat", data, &local_error))
      goto fail;
    g_string_append (script, " using 1:2 with points pt 2 ps 0.8 lc rgb '#000000' title 'window peak (demand)'");
  }
  g_string_append_c (script, '\n');
  if (amigo_gnuplot_run (plot, &local_error))
    return TRUE;

fail:
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write plot '%s': %s", png_path, local_error->message);
  return FALSE;
}
