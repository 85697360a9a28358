/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl controllers DOMAIN [--json] [--plot FILE.png]: the allocation
 * loops of a domain that arrived by migration (GetControllers): the latest
 * step per resource, or their history as JSON or a plot. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "amigo-error.h"
#include "amigo-format.h"
#include "amigo-gnuplot.h"
#include "amigoctl.h"

int
check_controllers (Cli *cli, int argc, char **argv)
{
  int status = check_one_domain ("controllers", argc, argv);

  return status != EXIT_OK ? status : check_plot_option (cli->plot);
}

static const char *
lookup_s (GVariant *dict, const char *key)
{
  const char *s = NULL;

  if (!g_variant_lookup (dict, key, "&s", &s))
    return "?";
  return s;
}

/* The @key array of doubles of @dict (may be empty). */
static GVariant *
lookup_array (GVariant *dict, const char *key, const char *type)
{
  GVariant *v = g_variant_lookup_value (dict, key, G_VARIANT_TYPE (type));

  return v != NULL ? v : g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE (type + 1), NULL, 0));
}

static gboolean
write_plot (const char *domain, GVariant *controllers, const char *png_path, GError **error)
{
  g_autoptr (AmigoGnuplot) plot = amigo_gnuplot_new (error);
  guint n = g_variant_n_children (controllers);
  GString *script;

  if (plot == NULL)
    return FALSE;
  script = amigo_gnuplot_get_script (plot);
  amigo_gnuplot_set_png (plot, png_path, 1200, 300 * MAX (n, 1) + 60);
  g_string_append_printf (script, "set multiplot layout %u,1 title ", MAX (n, 1));
  {
    g_autofree char *title = g_strdup_printf ("allocation loops of %s", domain);
    amigo_gnuplot_append_quoted (script, title);
  }
  g_string_append (script, "\nset xlabel 'seconds'\nset key outside right\nset grid\n");
  for (guint i = 0; i < n; i++) {
    g_autoptr (GVariant) c = g_variant_get_child_value (controllers, i);
    g_autoptr (GVariant) t = lookup_array (c, "time_usec", "ax");
    g_autoptr (GVariant) sp = lookup_array (c, "setpoint", "ad");
    g_autoptr (GVariant) m = lookup_array (c, "measurement", "ad");
    g_autoptr (GVariant) o = lookup_array (c, "output", "ad");
    g_autoptr (GString) data = g_string_new (NULL);
    gsize len = MIN (g_variant_n_children (t), MIN (g_variant_n_children (sp), MIN (g_variant_n_children (m),
                                                                                  g_variant_n_children (o))));
    const gint64 *tv = g_variant_get_fixed_array (t, &(gsize) { 0 }, sizeof (gint64));
    const double *spv = g_variant_get_fixed_array (sp, &(gsize) { 0 }, sizeof (double));
    const double *mv = g_variant_get_fixed_array (m, &(gsize) { 0 }, sizeof (double));
    const double *ov = g_variant_get_fixed_array (o, &(gsize) { 0 }, sizeof (double));
    g_autofree char *file = g_strdup_printf ("loop%u.dat", i);
    g_autofree char *ylabel = g_strdup_printf ("%s (%s)", lookup_s (c, "resource"), lookup_s (c, "unit"));
    char buf[3][G_ASCII_DTOSTR_BUF_SIZE];

    for (gsize k = 0; k < len; k++)
      g_string_append_printf (data, "%.3f %s %s %s\n", (tv[k] - tv[0]) / 1e6,
                              g_ascii_dtostr (buf[0], sizeof buf[0], spv[k]),
                              g_ascii_dtostr (buf[1], sizeof buf[1], mv[k]),
                              g_ascii_dtostr (buf[2], sizeof buf[2], ov[k]));
    if (len == 0)
      g_string_append (data, "0 0 0 0\n");   /* gnuplot refuses an empty file */
    g_string_append (script, "set ylabel ");
    amigo_gnuplot_append_quoted (script, ylabel);
    g_string_append (script, "\nplot ");
    if (!amigo_gnuplot_append_data (plot, file, data, error))
      return FALSE;
    g_string_append (script, " using 1:2 with steps title 'set point', '' using 1:3 with lines title 'measurement',"
                             " '' using 1:4 with steps lw 2 title 'output'\n");
  }
  g_string_append (script, "unset multiplot\n");
  return amigo_gnuplot_run (plot, error);
}

int
cmd_controllers (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) controllers = NULL;
  const char *headers[] = { "RESOURCE", "PHASE", "TIME", "SET POINT", "MEASURED", "OUTPUT", "PRESSURE", "STEPS" };
  const gboolean right[] = { FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE };
  g_autoptr (AmigoTable) table = NULL;

  if (!amigo_daemon1_call_get_controllers_sync (cli->proxy, argv[0], &controllers, NULL, &error))
    return fail_call (g_steal_pointer (&error));
  if (cli->plot != NULL) {
    if (!write_plot (argv[0], controllers, cli->plot, &error))
      return fail (EXIT_FAILURE_OTHER, "cannot write plot '%s': %s", cli->plot, error->message);
    if (!cli->json)
      printf ("Wrote '%s'.\n", cli->plot);
  }
  if (cli->json) {
    g_autoptr (JsonNode) root = json_gvariant_serialize (controllers);
    print_and_free (amigo_format_json (root));
    return EXIT_OK;
  }
  table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));
  for (guint i = 0; i < g_variant_n_children (controllers); i++) {
    g_autoptr (GVariant) c = g_variant_get_child_value (controllers, i);
    g_autoptr (GVariant) t = lookup_array (c, "time_usec", "ax");
    g_autoptr (GVariant) sp = lookup_array (c, "setpoint", "ad");
    g_autoptr (GVariant) m = lookup_array (c, "measurement", "ad");
    g_autoptr (GVariant) o = lookup_array (c, "output", "ad");
    g_autoptr (GVariant) p = lookup_array (c, "pressure", "ad");
    gsize n = g_variant_n_children (t);
    gboolean running = TRUE;
    g_autofree char *steps = g_strdup_printf ("%" G_GSIZE_FORMAT, n);
    g_autofree char *phase = NULL;
    char *cells[5] = { NULL };

    g_variant_lookup (c, "running", "b", &running);
    phase = g_strdup_printf ("%s%s", lookup_s (c, "phase"), running ? "" : " (handed back)");
    if (n > 0 && g_variant_n_children (sp) == n && g_variant_n_children (m) == n &&
        g_variant_n_children (o) == n && g_variant_n_children (p) == n) {
      gint64 tv;
      double v;
      g_variant_get_child (t, n - 1, "x", &tv);
      cells[0] = amigo_format_time (tv);
      g_variant_get_child (sp, n - 1, "d", &v);
      cells[1] = amigo_format_value (v);
      g_variant_get_child (m, n - 1, "d", &v);
      cells[2] = amigo_format_value (v);
      g_variant_get_child (o, n - 1, "d", &v);
      cells[3] = amigo_format_value (v);
      g_variant_get_child (p, n - 1, "d", &v);
      cells[4] = amigo_format_value (v);
    }
    {
      g_autofree char *res = g_strdup_printf ("%s (%s)", lookup_s (c, "resource"), lookup_s (c, "unit"));
      const char *row[] = { res, phase, cells[0] ? cells[0] : "-", cells[1] ? cells[1] : "-",
                            cells[2] ? cells[2] : "-", cells[3] ? cells[3] : "-", cells[4] ? cells[4] : "-", steps };
      amigo_table_add_row (table, row);
    }
    for (guint k = 0; k < G_N_ELEMENTS (cells); k++)
      g_free (cells[k]);
  }
  print_and_free (amigo_table_render (table));
  return EXIT_OK;
}
