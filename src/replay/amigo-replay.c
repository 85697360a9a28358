/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigo-replay: replays recorded VM traces through amigo's forecasting
 * methods and reports how well each one's reservations would have held
 * (docs/evaluation.md). */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "amigo-error.h"
#include "amigo-json.h"
#include "amigo-duration.h"
#include "amigo-evaluate.h"
#include "amigo-plot.h"
#include "amigo-trace.h"

#define DEFAULT_METHODS "amigo,arima,lstm,vpa,peak,last,seasonal_naive"

/* amigo last, so it is drawn on top where it equals another */
static const char *const plot_methods[] = { "peak", "vpa", "amigo" };

typedef struct {
  AmigoEvaluation *evaluation;
  gboolean resources[AMIGO_RESOURCE_LAST];
  const char *units[AMIGO_RESOURCE_LAST];
  gboolean quiet;
  const char *plot_vm;
  AmigoTrace *plot_trace;
  AmigoResource plot_resource;
  GArray *plot_track;
  FILE *windows;
  guint n_read;
  guint n_skipped;
} Replay;

static void
note (const Replay *replay, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
note (const Replay *replay, const char *format, ...)
{
  va_list args;

  if (replay->quiet)
    return;
  va_start (args, format);
  fputs ("amigo-replay: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

static gboolean
vm_matches (const char *path, const char *wanted)
{
  g_autofree char *base = NULL;
  const char *dot;

  if (g_strcmp0 (path, wanted) == 0)
    return TRUE;
  base = g_path_get_basename (path);
  if (g_strcmp0 (base, wanted) == 0)
    return TRUE;
  dot = strrchr (base, '.');
  if (dot != NULL && strlen (wanted) == (gsize) (dot - base) && strncmp (base, wanted, strlen (wanted)) == 0)
    return TRUE;
  /* "2013-8/82.csv" matches ".../bitbrains-rnd/2013-8/82.csv" */
  return g_str_has_suffix (path, wanted) && strlen (path) > strlen (wanted) &&
         path[strlen (path) - strlen (wanted) - 1] == G_DIR_SEPARATOR;
}

/* --windows: one line per scored window of every method, for audits and
 * for analyses the pooled table cannot give (per VM, per time of day). */
static void
write_windows (const Replay *replay, const char *path, AmigoResource r, const GArray *track)
{
  for (guint i = 0; i < track->len; i++) {
    const AmigoTrackPoint *p = &g_array_index (track, AmigoTrackPoint, i);
    char res[G_ASCII_DTOSTR_BUF_SIZE], peak[G_ASCII_DTOSTR_BUF_SIZE], scale[G_ASCII_DTOSTR_BUF_SIZE];

    /* the C locale's decimal point whatever LC_NUMERIC says */
    fprintf (replay->windows, "%s\t%s\t%s\t%" G_GINT64_FORMAT "\t%s\t%s\t%s\n", path, amigo_resource_to_string (r),
             amigo_evaluation_method_name (replay->evaluation, p->method), p->start_usec / AMIGO_USEC_PER_SEC,
             g_ascii_formatd (res, sizeof res, "%.9g", p->reservation),
             g_ascii_formatd (peak, sizeof peak, "%.9g", p->peak),
             g_ascii_formatd (scale, sizeof scale, "%.9g", p->scale));
  }
}

static void
replay_file (Replay *replay, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = amigo_trace_load (path, &error);
  gboolean is_plot_vm;
  gboolean plot_taken = FALSE;

  if (trace == NULL) {
    g_printerr ("amigo-replay: skipping %s\n", error->message);
    replay->n_skipped++;
    return;
  }
  replay->n_read++;
  note (replay, "read '%s': %s, %" G_GSIZE_FORMAT " steps of %" G_GINT64_FORMAT " s, %" G_GSIZE_FORMAT
        " rows, %" G_GSIZE_FORMAT " dropped", path, amigo_trace_format_to_string (trace->format), trace->n_values,
        trace->step_usec / AMIGO_USEC_PER_SEC, trace->n_rows, trace->n_dropped);
  is_plot_vm = replay->plot_track != NULL && replay->plot_trace == NULL &&
               (replay->plot_vm == NULL || vm_matches (path, replay->plot_vm));

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    AmigoSeries series;
    GArray *track = NULL;

    if (!replay->resources[r] || !amigo_trace_has_resource (trace, r))
      continue;
    if (replay->units[r] == NULL) {
      replay->units[r] = trace->units[r];
    } else if (g_strcmp0 (replay->units[r], trace->units[r]) != 0) {
      g_printerr ("amigo-replay: '%s': %s is in %s, earlier traces in %s; not mixing them, ignoring\n", path,
                  amigo_resource_to_string (r), trace->units[r], replay->units[r]);
      continue;
    }
    if (is_plot_vm && !plot_taken) {
      track = replay->plot_track;
      replay->plot_resource = r;
      plot_taken = TRUE;
    }
    amigo_trace_get_series (trace, r, &series);
    if (replay->windows != NULL && track == NULL)
      track = g_array_new (FALSE, FALSE, sizeof (AmigoTrackPoint));
    if (!amigo_evaluation_run_series (replay->evaluation, r, &series, track, &error)) {
      g_printerr ("amigo-replay: '%s': %s\n", path, error->message);
      g_clear_error (&error);
    }
    if (replay->windows != NULL)
      write_windows (replay, path, r, track);
    if (track != NULL && track != replay->plot_track)
      g_array_unref (track);
  }
  if (plot_taken)
    replay->plot_trace = g_steal_pointer (&trace);
}

static char *
resource_label (const Replay *replay, AmigoResource r)
{
  return g_strdup_printf ("%s (%s)", amigo_resource_to_string (r),
                          replay->units[r] != NULL ? replay->units[r] : amigo_resource_unit (r));
}

static void
print_json (const Replay *replay)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  guint n_methods = amigo_evaluation_n_methods (replay->evaluation);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "methods");
  json_builder_begin_array (builder);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (replay->units[r] == NULL)
      continue;
    for (guint k = 0; k < n_methods; k++) {
      AmigoMetrics m;

      amigo_evaluation_get_metrics (replay->evaluation, k, r, &m);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, amigo_evaluation_method_name (replay->evaluation, k));
      json_builder_set_member_name (builder, "resource");
      json_builder_add_string_value (builder, amigo_resource_to_string (r));
      json_builder_set_member_name (builder, "unit");
      json_builder_add_string_value (builder, replay->units[r]);
      amigo_json_builder_add_double (builder, "coverage", m.coverage);
      amigo_json_builder_add_double (builder, "slack", m.slack);
      amigo_json_builder_add_double (builder, "slack_median", m.slack_median);
      amigo_json_builder_add_double (builder, "pinball", m.pinball);
      amigo_json_builder_add_double (builder, "us_per_forecast", m.us_per_forecast);
      json_builder_set_member_name (builder, "windows");
      json_builder_add_int_value (builder, (gint64) m.windows);
      json_builder_end_object (builder);
    }
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  printf ("%s\n", text);
}

static void
print_cell (double value, int width, int precision)
{
  if (isfinite (value))
    printf (" %*.*f", width, precision, value);
  else
    printf (" %*s", width, "-");
}

static void
print_table (const Replay *replay)
{
  guint n_methods = amigo_evaluation_n_methods (replay->evaluation);

  printf ("%-18s %-15s %8s %8s %12s %8s %12s %8s\n", "resource", "method", "coverage", "slack", "slack_median",
          "pinball", "us/forecast", "windows");
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    g_autofree char *label = NULL;

    if (replay->units[r] == NULL)
      continue;
    label = resource_label (replay, r);
    for (guint k = 0; k < n_methods; k++) {
      AmigoMetrics m;

      amigo_evaluation_get_metrics (replay->evaluation, k, r, &m);
      printf ("%-18s %-15s", label, amigo_evaluation_method_name (replay->evaluation, k));
      print_cell (m.coverage, 8, 3);
      print_cell (m.slack, 8, 3);
      print_cell (m.slack_median, 12, 3);
      print_cell (m.pinball, 8, 4);
      print_cell (m.us_per_forecast, 12, 1);
      printf (" %8" G_GSIZE_FORMAT "\n", m.windows);
    }
  }
}

static void
report_failures (const Replay *replay)
{
  guint n_methods = amigo_evaluation_n_methods (replay->evaluation);

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    for (guint k = 0; k < n_methods; k++) {
      AmigoMetrics m;

      amigo_evaluation_get_metrics (replay->evaluation, k, r, &m);
      if (m.failures == 0)
        continue;
      g_printerr ("amigo-replay: method '%s' failed on %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                  " %s windows (not counted), first error: %s\n",
                  amigo_evaluation_method_name (replay->evaluation, k), m.failures, m.failures + m.windows,
                  amigo_resource_to_string (r), amigo_evaluation_first_failure (replay->evaluation, k, r));
    }
  }
}

static gboolean
write_plot (Replay *replay, const char *png_path, GError **error)
{
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (AmigoPlotLine));
  g_autofree char *ylabel = NULL;
  g_autofree char *title = NULL;
  AmigoSeries series;

  if (replay->plot_trace == NULL) {
    if (replay->plot_vm != NULL)
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no trace named '%s' was read", replay->plot_vm);
    else
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no trace was read");
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (plot_methods); i++) {
    for (guint k = 0; k < amigo_evaluation_n_methods (replay->evaluation); k++) {
      if (g_strcmp0 (amigo_evaluation_method_name (replay->evaluation, k), plot_methods[i]) == 0) {
        AmigoPlotLine line = { plot_methods[i], k };
        g_array_append_val (lines, line);
      }
    }
  }
  amigo_trace_get_series (replay->plot_trace, replay->plot_resource, &series);
  ylabel = resource_label (replay, replay->plot_resource);
  title = g_strdup_printf ("%s: %s reservation per %s window vs actual use", replay->plot_trace->name, ylabel,
                           "migration");
  return amigo_plot_write (png_path, title, ylabel, &series, replay->plot_track,
                           (const AmigoPlotLine *) (void *) lines->data, lines->len, error);
}

static gboolean
parse_resources (const char *text, gboolean *resources, GError **error)
{
  g_auto(GStrv) names = g_strsplit (text, ",", -1);

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    resources[r] = FALSE;
  for (guint i = 0; names[i] != NULL; i++) {
    AmigoResource r;
    if (!amigo_resource_from_string (g_strstrip (names[i]), &r)) {
      g_autofree char *valid = amigo_resource_join_names (NULL);

      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "unknown resource '%s' (%s)", names[i], valid);
      return FALSE;
    }
    resources[r] = TRUE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *quantile_text = NULL;
  g_autofree char *window_text = NULL;
  g_autofree char *every_text = NULL;
  g_autofree char *min_history_text = NULL;
  g_autofree char *max_history_text = NULL;
  g_autofree char *refit_text = NULL;
  g_autofree char *train_text = NULL;
  g_autofree char *methods_text = NULL;
  g_autofree char *resources_text = NULL;
  g_autofree char *plot_path = NULL;
  g_autofree char *windows_path = NULL;
  g_autofree char *windows_error = NULL;
  g_autofree char *plot_vm = NULL;
  g_auto(GStrv) paths = NULL;
  gboolean json = FALSE;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "quantile", 0, 0, G_OPTION_ARG_STRING, &quantile_text, "Quantile every method reserves at (0.95)", "Q" },
    { "window", 0, 0, G_OPTION_ARG_STRING, &window_text, "Window after each origin whose peak is the demand (1h)",
      "DURATION" },
    { "origin-every", 0, 0, G_OPTION_ARG_STRING, &every_text, "Spacing of migration origins (4h)", "DURATION" },
    { "min-history", 0, 0, G_OPTION_ARG_STRING, &min_history_text, "History before the first origin (1d)",
      "DURATION" },
    { "max-history", 0, 0, G_OPTION_ARG_STRING, &max_history_text, "Most history a method sees (7d)", "DURATION" },
    { "refit", 0, 0, G_OPTION_ARG_STRING, &refit_text, "Train lstm again when its fit is this old (1d)", "DURATION" },
    { "train", 0, 0, G_OPTION_ARG_STRING, &train_text, "Most history arima and lstm train on (3d)", "DURATION" },
    { "methods", 0, 0, G_OPTION_ARG_STRING, &methods_text, "Methods to evaluate (" DEFAULT_METHODS ")", "A,B,..." },
    { "resources", 0, 0, G_OPTION_ARG_STRING, &resources_text, "Resources to evaluate (all a trace has)",
      "cpu,memory,..." },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document instead of a table", NULL },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path, "Write a PNG of one VM's reservations vs its use", "FILE.png" },
    { "plot-vm", 0, 0, G_OPTION_ARG_STRING, &plot_vm, "VM to plot: path, file name or id (default: the first)",
      "NAME" },
    { "windows", 0, 0, G_OPTION_ARG_FILENAME, &windows_path,
      "Write every scored window (trace, resource, method, start, reservation, peak, scale) to FILE as TSV",
      "FILE.tsv" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only print errors and the result", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, "FILE|DIR..." },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- replay VM traces through amigo's forecasts");
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoEvaluation) evaluation = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) plot_track = NULL;
  g_auto(GStrv) method_names = NULL;
  AmigoEvaluateOptions options;
  Replay replay = { 0 };

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
                                    "Traces: Bitbrains GWA-T-12 CSV, PlanetLab CPU files, amigo-trace v1 CSV\n"
                                    "(docs/trace-format.md); directories are searched recursively.\n"
                                    "Durations: 30m, 1h, 4h, 1d, 7d, 2w. Protocol: docs/evaluation.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("amigo-replay: %s\n", error->message);
    return 2;
  }

  amigo_evaluate_options_init (&options);
  if (quantile_text != NULL) {
    char *end = NULL;
    options.quantile = g_ascii_strtod (quantile_text, &end);
    if (end == quantile_text || *end != '\0') {
      g_printerr ("amigo-replay: --quantile '%s' is not a number\n", quantile_text);
      return 2;
    }
  }
  {
    const struct {
      const char *option;
      const char *text;
      gint64 *target;
    } durations[] = {
      { "--window", window_text, &options.window_usec },
      { "--origin-every", every_text, &options.origin_every_usec },
      { "--min-history", min_history_text, &options.min_history_usec },
      { "--max-history", max_history_text, &options.max_history_usec },
      { "--refit", refit_text, &options.refit_usec },
      { "--train", train_text, &options.train_usec },
    };
    for (guint i = 0; i < G_N_ELEMENTS (durations); i++) {
      if (durations[i].text != NULL && !amigo_duration_parse (durations[i].text, durations[i].target, &error)) {
        g_printerr ("amigo-replay: %s: %s\n", durations[i].option, error->message);
        return 2;
      }
    }
  }
  if (!amigo_evaluate_options_check (&options, &error)) {
    g_printerr ("amigo-replay: %s\n", error->message);
    return 2;
  }
  if (resources_text != NULL) {
    if (!parse_resources (resources_text, replay.resources, &error)) {
      g_printerr ("amigo-replay: --resources: %s\n", error->message);
      return 2;
    }
  } else {
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      replay.resources[r] = TRUE;
  }
  if (plot_vm != NULL && plot_path == NULL) {
    g_printerr ("amigo-replay: --plot-vm needs --plot FILE.png\n");
    return 2;
  }
  if (paths == NULL || paths[0] == NULL) {
    g_printerr ("amigo-replay: no trace files or directories given (see --help)\n");
    return 2;
  }

  evaluation = amigo_evaluation_new (&options);
  method_names = g_strsplit (methods_text != NULL ? methods_text : DEFAULT_METHODS, ",", -1);
  for (guint i = 0; method_names[i] != NULL; i++) {
    const char *name = g_strstrip (method_names[i]);

    if (*name == '\0') {
      g_printerr ("amigo-replay: --methods: empty method name in '%s'\n", methods_text);
      return 2;
    }
    if (!amigo_evaluation_add_method (evaluation, name, &error)) {
      if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
        g_printerr ("amigo-replay: %s; reported as missing\n", error->message);
        g_clear_error (&error);
        continue;
      }
      g_printerr ("amigo-replay: --methods: %s\n", error->message);
      return 2;
    }
  }
  if (amigo_evaluation_n_methods (evaluation) == 0)
    g_printerr ("amigo-replay: none of the requested methods is available\n");

  replay.evaluation = evaluation;
  replay.quiet = quiet;
  replay.plot_vm = plot_vm;
  if (windows_path != NULL) {
    replay.windows = fopen (windows_path, "w");
    if (replay.windows == NULL) {
      g_printerr ("amigo-replay: --windows: cannot write '%s': %s\n", windows_path, g_strerror (errno));
      return 1;
    }
    fputs ("trace\tresource\tmethod\tstart\treservation\tpeak\tscale\n", replay.windows);
  }
  if (plot_path != NULL) {
    plot_track = g_array_new (FALSE, FALSE, sizeof (AmigoTrackPoint));
    replay.plot_track = plot_track;
  }

  for (guint i = 0; paths[i] != NULL; i++) {
    if (!amigo_trace_collect_files (paths[i], files, &error)) {
      g_printerr ("amigo-replay: skipping %s\n", error->message);
      g_clear_error (&error);
      replay.n_skipped++;
    }
  }
  for (guint i = 0; i < files->len; i++)
    replay_file (&replay, g_ptr_array_index (files, i));

  if (replay.windows != NULL) {
    gboolean failed = ferror (replay.windows);
    int saved = errno;
    if (fclose (replay.windows) != 0 && !failed) {
      failed = TRUE;
      saved = errno;
    }
    if (failed)
      windows_error = g_strdup_printf ("amigo-replay: --windows: writing '%s' failed: %s", windows_path,
                                       g_strerror (saved));
  }
  note (&replay, "%u trace files read, %u skipped", replay.n_read, replay.n_skipped);
  if (!quiet)
    report_failures (&replay);

  if (json)
    print_json (&replay);
  else
    print_table (&replay);

  if (plot_path != NULL) {
    if (!write_plot (&replay, plot_path, &error)) {
      g_printerr ("amigo-replay: --plot: %s\n", error->message);
      amigo_trace_free (replay.plot_trace);
      return 1;
    }
    note (&replay, "wrote '%s' (%s, %s)", plot_path, replay.plot_trace->name,
          amigo_resource_to_string (replay.plot_resource));
  }
  amigo_trace_free (replay.plot_trace);
  if (windows_error != NULL) {
    /* after the table: a full disk does not cost the results */
    g_printerr ("%s\n", windows_error);
    return 1;
  }
  return replay.n_read > 0 ? 0 : 1;
}
