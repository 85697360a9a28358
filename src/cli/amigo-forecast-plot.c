/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-forecast-plot.h"

#include <math.h>
#include <string.h>

#include "amigo/amigo-series.h"
#include "amigo-error.h"
#include "amigo-gnuplot.h"
#include "amigo-metric.h"
#include "amigo-time.h"

/* The collected metrics each forecast resource is the sum of; the same
 * mapping as the daemon's forecaster. */
static const struct {
  AmigoMetric metrics[2];
  guint n_metrics;
} resource_metrics[] = {
  [AMIGO_RESOURCE_CPU] = { { AMIGO_METRIC_CPU }, 1 },
  [AMIGO_RESOURCE_MEMORY] = { { AMIGO_METRIC_MEMORY }, 1 },
  [AMIGO_RESOURCE_NETWORK] = { { AMIGO_METRIC_NET_RX, AMIGO_METRIC_NET_TX }, 2 },
  [AMIGO_RESOURCE_DISK] = { { AMIGO_METRIC_DISK_READ, AMIGO_METRIC_DISK_WRITE }, 2 },
  [AMIGO_RESOURCE_GPU_MEMORY] = { { AMIGO_METRIC_GPU_MEMORY }, 1 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (resource_metrics) == AMIGO_RESOURCE_LAST);

static int
compare_time (gconstpointer a, gconstpointer b)
{
  gint64 ta = *(const gint64 *) a, tb = *(const gint64 *) b;

  return ta < tb ? -1 : ta > tb;
}

/* "time value" lines of @resource's usage: the sum of its metrics' means
 * at the times all of them have a point (a sum with a part missing would
 * draw a false dip). */
static gboolean
usage_data (AmigoDaemon1 *proxy, const char *domain, AmigoResource resource, gint64 from_usec, gint64 to_usec,
            GString *out, GError **error)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint n_metrics = resource_metrics[resource].n_metrics;
  GHashTableIter it;
  gpointer key, value;
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint m = 0; m < n_metrics; m++) {
    const char *metric = amigo_metric_to_string (resource_metrics[resource].metrics[m]);
    g_autoptr (GVariant) points = NULL;
    GVariantIter iter;
    gint64 t;
    double mean, max;

    if (!amigo_daemon1_call_get_history_sync (proxy, domain, metric, from_usec, to_usec, &points, NULL, error))
      return FALSE;
    g_variant_iter_init (&iter, points);
    while (g_variant_iter_next (&iter, "(xdd)", &t, &mean, &max)) {
      double *sum = g_hash_table_lookup (sums, &t);
      if (sum == NULL) {
        if (m > 0)
          continue;
        sum = g_new0 (double, 2);
        g_hash_table_insert (sums, g_memdup2 (&t, sizeof t), sum);
      } else if (sum[1] < m) {
        continue;
      }
      sum[0] += mean;
      sum[1] = m + 1;
    }
  }
  g_hash_table_iter_init (&it, sums);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    if (((double *) value)[1] == n_metrics)
      g_array_append_val (times, *(gint64 *) key);
  }
  g_array_sort (times, compare_time);
  for (guint i = 0; i < times->len; i++) {
    gint64 t = g_array_index (times, gint64, i);
    double *sum = g_hash_table_lookup (sums, &t);
    g_string_append_printf (out, "%" G_GINT64_FORMAT " %s\n", t / AMIGO_USEC_PER_SEC,
                            g_ascii_dtostr (num, sizeof num, sum[0]));
  }
  return TRUE;
}

/* A horizontal line from @from_usec to @to_usec at @value. */
static void
segment_data (GString *out, gint64 from_usec, gint64 to_usec, double value)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_dtostr (num, sizeof num, value);
  g_string_append_printf (out, "%" G_GINT64_FORMAT " %s\n%" G_GINT64_FORMAT " %s\n", from_usec / AMIGO_USEC_PER_SEC,
                          num, to_usec / AMIGO_USEC_PER_SEC, num);
}

/* The levels drawn over the usage, from the request's resource entry. */
static const struct {
  const char *key;
  const char *style;
  const char *title;
} levels[] = {
  { "bound", "lw 3 lc rgb '#1b9e77'", "bound on the peak now" },
  { "reserve", "lw 3 dt 2 lc rgb '#d95f02'", "reserve now (bound + migration overhead)" },
};

gboolean
amigo_forecast_plot_write (AmigoDaemon1 *proxy, const char *domain, GVariant *request, const char *png_path,
                           GError **error)
{
  g_autoptr (AmigoGnuplot) plot = NULL;
  g_autoptr (GVariant) resources = g_variant_lookup_value (request, "resources", G_VARIANT_TYPE ("a{sa{sv}}"));
  g_autoptr (GString) data = g_string_new (NULL);
  g_autoptr (GError) local_error = NULL;
  const char *name = domain;
  gint64 now = g_get_real_time (), start = now, end = now, history_from;
  guint n_panels = 0;
  GString *script;

  g_variant_lookup (request, "domain", "&s", &name);
  g_variant_lookup (request, "start_usec", "x", &start);
  g_variant_lookup (request, "end_usec", "x", &end);
  /* the bound is drawn over the whole day too: it shows at a glance
   * whether it would have covered the recent peaks */
  history_from = MIN (start, now - AMIGO_FORECAST_PLOT_HISTORY_USEC);
  for (guint r = 0; resources != NULL && r < AMIGO_RESOURCE_LAST; r++) {
    g_autoptr (GVariant) v = g_variant_lookup_value (resources, amigo_resource_to_string (r), G_VARIANT_TYPE_VARDICT);
    n_panels += v != NULL;
  }
  if (n_panels == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "nothing to plot: the request of '%s' has no resource", name);
    return FALSE;
  }

  plot = amigo_gnuplot_new (error);
  if (plot == NULL)
    return FALSE;
  script = amigo_gnuplot_get_script (plot);
  amigo_gnuplot_set_png (plot, png_path, 1200, 260 * n_panels + 60);
  g_string_append (script,
                   "set xdata time\nset timefmt '%s'\nset format x \"%m-%d\\n%H:%M\"\n"
                   "set grid\nset key below horizontal\nset yrange [0:*]\n");
  g_string_append_printf (script, "set xrange ['%" G_GINT64_FORMAT "':'%" G_GINT64_FORMAT "']\n",
                          history_from / AMIGO_USEC_PER_SEC,
                          MAX (end, now) / AMIGO_USEC_PER_SEC);
  /* "now": the history is left of it, the migration window right */
  g_string_append_printf (script, "set arrow from '%" G_GINT64_FORMAT "', graph 0 to '%" G_GINT64_FORMAT
                          "', graph 1 nohead dt 3 lc rgb '#000000'\n", now / AMIGO_USEC_PER_SEC, now / AMIGO_USEC_PER_SEC);
  g_string_append_printf (script, "set multiplot layout %u,1 title ", n_panels);
  {
    g_autofree char *title = g_strdup_printf ("%s: usage and the reservation for a migration starting now", name);
    amigo_gnuplot_append_quoted (script, title);
  }
  g_string_append_c (script, '\n');

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const char *rname = amigo_resource_to_string (r);
    g_autoptr (GVariant) v = g_variant_lookup_value (resources, rname, G_VARIANT_TYPE_VARDICT);
    g_autofree char *usage_file = g_strdup_printf ("%s-usage.dat", rname);
    g_autofree char *ylabel = g_strdup_printf ("%s [%s]", rname, amigo_resource_unit (r));

    if (v == NULL)
      continue;

    g_string_truncate (data, 0);
    if (!usage_data (proxy, domain, r, history_from, now, data, error))
      return FALSE;
    g_string_append (script, "set ylabel ");
    amigo_gnuplot_append_quoted (script, ylabel);
    /* gnuplot refuses a plot whose first file is empty: a point off
     * the y range keeps a resource without history drawable */
    if (data->len == 0)
      g_string_append_printf (data, "%" G_GINT64_FORMAT " -1\n", now / AMIGO_USEC_PER_SEC);
    g_string_append (script, "\nplot ");
    if (!amigo_gnuplot_append_data (plot, usage_file, data, &local_error))
      goto fail;
    g_string_append (script, " using 1:2 with lines lc rgb '#9e9e9e' title 'usage (mean per step)'");
    for (guint l = 0; l < G_N_ELEMENTS (levels); l++) {
      g_autofree char *file = g_strdup_printf ("%s-%s.dat", rname, levels[l].key);
      double value = NAN;

      if (!g_variant_lookup (v, levels[l].key, "d", &value) || !isfinite (value))
        continue;
      g_string_truncate (data, 0);
      segment_data (data, history_from, end, value);
      g_string_append (script, ", ");
      if (!amigo_gnuplot_append_data (plot, file, data, &local_error))
        goto fail;
      g_string_append_printf (script, " using 1:2 with lines %s title ", levels[l].style);
      amigo_gnuplot_append_quoted (script, levels[l].title);
    }
    g_string_append_c (script, '\n');
  }
  g_string_append (script, "unset multiplot\n");
  if (amigo_gnuplot_run (plot, &local_error))
    return TRUE;

fail:
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write plot '%s': %s", png_path, local_error->message);
  return FALSE;
}
