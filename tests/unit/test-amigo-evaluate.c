/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "amigo-error.h"
#include "amigo-evaluate.h"
#include "amigo-plot.h"
#include "amigo-time.h"

static void
assert_close (double got, double want)
{
  if (!(fabs (got - want) <= 1e-9 * MAX (1.0, fabs (want))))
    fail_msg ("got %.12g, want %.12g", got, want);
}

/* The four metrics on windows worked out by hand. */
static void
test_evaluate_metrics_by_hand (void **state)
{
  /* reservation, peak, series mean */
  const AmigoWindowOutcome w[] = {
    { 2.0, 1.0, 1.0 }, /* covered, ratio 2/1 - 1 = 1,  pinball 0.1 * 1 = 0.1 */
    { 1.0, 2.0, 1.0 }, /* short,   ratio 1/2 - 1 = -.5, pinball 0.9 * 1 = 0.9 */
    { 3.0, 3.0, 2.0 }, /* covered (equal), ratio 0,     pinball 0 */
    { 1.0, 0.0, 1.0 }, /* covered, zero peak: no ratio, pinball 0.1 * 1 = 0.1 */
  };
  const AmigoWindowOutcome even[] = {
    { 2.0, 1.0, 4.0 }, /* ratio 1, pinball 0.1 * 1 / 4 = 0.025 */
    { 4.0, 1.0, 4.0 }, /* ratio 3, pinball 0.1 * 3 / 4 = 0.075 */
  };
  AmigoMetrics m;

  amigo_evaluate_metrics (w, G_N_ELEMENTS (w), 0.9, &m);
  assert_int_equal (m.windows, 4);
  assert_close (m.coverage, 3.0 / 4.0);
  assert_close (m.slack, 7.0 / 6.0 - 1.0); /* (2+1+3+1) / (1+2+3+0) - 1 */
  assert_close (m.slack_median, 0.0);      /* median of -0.5, 0, 1 */
  assert_close (m.pinball, (0.1 + 0.9 + 0.0 + 0.1) / 4.0);

  amigo_evaluate_metrics (even, G_N_ELEMENTS (even), 0.9, &m);
  assert_close (m.coverage, 1.0);
  assert_close (m.slack, 6.0 / 2.0 - 1.0);
  assert_close (m.slack_median, (1.0 + 3.0) / 2.0);
  assert_close (m.pinball, (0.025 + 0.075) / 2.0);

  /* no windows: nothing is claimed */
  amigo_evaluate_metrics (NULL, 0, 0.9, &m);
  assert_int_equal (m.windows, 0);
  assert_true (isnan (m.coverage) && isnan (m.slack) && isnan (m.slack_median) && isnan (m.pinball));
}

static void
test_evaluate_options_check (void **state)
{
  AmigoEvaluateOptions o;
  g_autoptr(GError) error = NULL;

  amigo_evaluate_options_init (&o);
  assert_true (amigo_evaluate_options_check (&o, NULL));
  assert_true (o.window_usec == AMIGO_USEC_PER_HOUR && o.origin_every_usec == 4 * AMIGO_USEC_PER_HOUR);
  assert_true (o.min_history_usec == AMIGO_USEC_PER_DAY && o.max_history_usec == 7 * AMIGO_USEC_PER_DAY);
  assert_true (o.refit_usec == AMIGO_USEC_PER_DAY && o.train_usec == 3 * AMIGO_USEC_PER_DAY);
  o.refit_usec = 0;
  assert_false (amigo_evaluate_options_check (&o, &error));
  assert_non_null (strstr (error->message, "positive"));
  g_clear_error (&error);
  amigo_evaluate_options_init (&o);
  o.quantile = 1.0;
  assert_false (amigo_evaluate_options_check (&o, &error));
  assert_non_null (strstr (error->message, "quantile"));
  g_clear_error (&error);
  amigo_evaluate_options_init (&o);
  o.max_history_usec = AMIGO_USEC_PER_HOUR;
  assert_false (amigo_evaluate_options_check (&o, &error));
  assert_non_null (strstr (error->message, "max-history"));
}

/* A model that reserves the last value seen plus a margin, and records
 * what it was shown so the test can check for look-ahead. */
typedef struct {
  AmigoModel parent;
  double last;
} FakeModel;

static const AmigoModelClass fake_class;

static GArray *seen_ends;    /* gint64: time just after the last history sample */
static GArray *seen_lengths; /* gsize */
static double seen_max_value;

static AmigoModel *
fake_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  FakeModel *m;
  gint64 end = history->start_usec + (gint64) history->n_values * history->step_usec;

  g_array_append_val (seen_ends, end);
  g_array_append_val (seen_lengths, history->n_values);
  for (gsize i = 0; i < history->n_values; i++) {
    if (!isnan (history->values[i]))
      seen_max_value = MAX (seen_max_value, history->values[i]);
  }
  if (options->season != 288 || options->resource != AMIGO_RESOURCE_MEMORY) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "wrong options");
    return NULL;
  }
  m = g_new0 (FakeModel, 1);
  m->parent.klass = &fake_class;
  m->last = history->values[history->n_values - 1];
  return &m->parent;
}

static gboolean
fake_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
               double *ret_upper, GError **error)
{
  const FakeModel *m = (const FakeModel *) model;

  for (gsize i = 0; i < horizon; i++) {
    ret_mean[i] = m->last;
    /* only the last step carries the margin: the reservation is the max */
    ret_upper[i] = i + 1 == horizon ? m->last + 20.0 : m->last;
  }
  return TRUE;
}

static void
fake_free (AmigoModel *model)
{
  g_free (model);
}

static const AmigoModelClass fake_class = {
  .name = "fake",
  .min_history = 1,
  .fit = fake_fit,
  .forecast = fake_forecast,
  .free = fake_free,
};

static AmigoModel *
failing_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY, "needs more than %" G_GSIZE_FORMAT " samples",
               history->n_values);
  return NULL;
}

static const AmigoModelClass failing_class = {
  .name = "failing",
  .min_history = 100000,
  .fit = failing_fit,
  .forecast = fake_forecast,
  .free = fake_free,
};

/* The protocol: origins every 4 h from one day on, each method sees only
 * the (at most max-history) past, the window's peak is the demand, windows
 * with a missing sample are skipped, failures are not counted as windows. */
static void
test_evaluate_protocol (void **state)
{
  const gsize n = 3 * 288; /* three days of 5-minute samples */
  const gint64 step = 300 * AMIGO_USEC_PER_SEC;
  const gint64 start = G_GINT64_CONSTANT (1375308000) * AMIGO_USEC_PER_SEC;
  g_autofree double *values = g_new (double, n);
  g_autoptr(AmigoEvaluation) evaluation = NULL;
  g_autoptr(GArray) track = g_array_new (FALSE, FALSE, sizeof (AmigoTrackPoint));
  g_autoptr(GError) error = NULL;
  AmigoEvaluateOptions options;
  AmigoSeries series = { start, step, n, NULL };
  AmigoMetrics m;
  double sum_reservation = 0, sum_peak = 0;
  guint n_windows = 0;

  /* a ramp: the value is its index, so the peak of a window is its last
   * value, and a model that looked ahead would see a value >= the origin */
  for (gsize i = 0; i < n; i++)
    values[i] = (double) i;
  values[390] = NAN; /* inside the window of the origin at 384 */
  series.values = values;

  seen_ends = g_array_new (FALSE, FALSE, sizeof (gint64));
  seen_lengths = g_array_new (FALSE, FALSE, sizeof (gsize));
  seen_max_value = -1;

  amigo_evaluate_options_init (&options);
  options.max_history_usec = 2 * AMIGO_USEC_PER_DAY;
  evaluation = amigo_evaluation_new (&options);
  amigo_evaluation_add_model_class (evaluation, &fake_class);
  amigo_evaluation_add_model_class (evaluation, &failing_class);
  assert_int_equal (amigo_evaluation_n_methods (evaluation), 2);
  assert_true (amigo_evaluation_run_series (evaluation, AMIGO_RESOURCE_MEMORY, &series, track, &error));

  /* origins 288, 336, ... 816 (the last whose 12-step window fits), 384 skipped */
  for (gsize o = 288; o + 12 <= n; o += 48) {
    if (o == 384)
      continue;
    sum_reservation += (double) (o - 1) + 20.0;
    sum_peak += (double) (o + 11);
    n_windows++;
  }
  assert_int_equal (n_windows, 11);
  amigo_evaluation_get_metrics (evaluation, 0, AMIGO_RESOURCE_MEMORY, &m);
  assert_int_equal (m.windows, n_windows);
  assert_int_equal (m.failures, 0);
  assert_close (m.coverage, 1.0); /* last + 20 >= last + 12 */
  assert_close (m.slack, sum_reservation / sum_peak - 1.0);
  assert_true (m.us_per_forecast >= 0);

  /* what the model saw: history ends at the origin, never longer than 2 days */
  assert_int_equal (seen_ends->len, 11);
  for (guint i = 0; i < seen_ends->len; i++) {
    gint64 end = g_array_index (seen_ends, gint64, i);
    gsize len = g_array_index (seen_lengths, gsize, i);
    gsize origin = (gsize) ((end - start) / step);

    assert_true ((end - start) % step == 0);
    assert_true (origin >= 288);
    assert_true (len == MIN (origin, (gsize) 576));
  }
  assert_true (seen_max_value < (double) (816)); /* no sample at or after the last origin */

  /* the failing method: every window is a failure, none is scored */
  amigo_evaluation_get_metrics (evaluation, 1, AMIGO_RESOURCE_MEMORY, &m);
  assert_int_equal (m.windows, 0);
  assert_int_equal (m.failures, 11);
  assert_true (isnan (m.coverage));
  assert_non_null (strstr (amigo_evaluation_first_failure (evaluation, 1, AMIGO_RESOURCE_MEMORY), "needs more"));

  /* the track has one point per scored window, on the window's times */
  assert_int_equal (track->len, 11);
  assert_true (g_array_index (track, AmigoTrackPoint, 0).start_usec == start + 288 * step);
  assert_true (g_array_index (track, AmigoTrackPoint, 0).end_usec == start + 300 * step);
  assert_close (g_array_index (track, AmigoTrackPoint, 0).peak, 299.0);
  assert_close (g_array_index (track, AmigoTrackPoint, 0).reservation, 287.0 + 20.0);

  /* other resources are untouched */
  amigo_evaluation_get_metrics (evaluation, 0, AMIGO_RESOURCE_CPU, &m);
  assert_int_equal (m.windows, 0);

  g_clear_pointer (&seen_ends, g_array_unref);
  g_clear_pointer (&seen_lengths, g_array_unref);
}

/* The refit policy with the registry's lstm: fitted at the first origin,
 * trained again each day, between refits it forecasts from the newest data
 * with its weights. On a noisy daily cycle every window is scored and its
 * reservations beat "last"'s (lower pinball loss): the weights a day old
 * still follow the cycle. */
static void
test_evaluate_lstm_refit_policy (void **state)
{
  const gsize n = 5 * 288;
  const gint64 step = 300 * AMIGO_USEC_PER_SEC;
  g_autofree double *values = NULL;
  g_autoptr(AmigoEvaluation) evaluation = NULL;
  g_autoptr(GError) error = NULL;
  AmigoSeries series = { G_GINT64_CONSTANT (1375308000) * AMIGO_USEC_PER_SEC, step, n, NULL };
  AmigoMetrics lstm, last;
  guint64 rng = 99;
  gsize expected = 0;

  /* skip() leaves the frame without cleanup: allocate after it */
  if (amigo_model_class_lookup ("lstm") == NULL)
    skip ();
  values = g_new (double, n);
  for (gsize i = 0; i < n; i++) {
    rng = rng * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
    values[i] = 4.0 + 2.0 * sin (2.0 * G_PI * (double) i / 288.0) + 0.4 * ((double) (rng >> 11) / 9007199254740992.0);
  }
  series.values = values;
  for (gsize o = 288; o + 12 <= n; o += 48)
    expected++;

  evaluation = amigo_evaluation_new (NULL);
  assert_true (amigo_evaluation_add_method (evaluation, "lstm", NULL));
  assert_true (amigo_evaluation_add_method (evaluation, "last", NULL));
  assert_true (amigo_evaluation_run_series (evaluation, AMIGO_RESOURCE_CPU, &series, NULL, &error));
  assert_null (error);
  amigo_evaluation_get_metrics (evaluation, 0, AMIGO_RESOURCE_CPU, &lstm);
  amigo_evaluation_get_metrics (evaluation, 1, AMIGO_RESOURCE_CPU, &last);
  print_message ("lstm: coverage %.3f pinball %.4f %.0f us/forecast; last: coverage %.3f pinball %.4f\n",
                 lstm.coverage, lstm.pinball, lstm.us_per_forecast, last.coverage, last.pinball);
  assert_int_equal (lstm.failures, 0);
  assert_int_equal (lstm.windows, expected);
  assert_true (lstm.us_per_forecast > 0);
  assert_true (lstm.pinball < last.pinball);
}

static void
test_evaluate_unknown_method (void **state)
{
  g_autoptr(AmigoEvaluation) evaluation = amigo_evaluation_new (NULL);
  g_autoptr(GError) error = NULL;

  assert_false (amigo_evaluation_add_method (evaluation, "no-such-model", &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, "'no-such-model'"));
  assert_int_equal (amigo_evaluation_n_methods (evaluation), 0);
}

/* amigo-replay itself, when built beside this test. */
static char *
replay_binary (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;
  char *path = dir != NULL ? g_build_filename (dir, "..", "..", "src", "replay", "amigo-replay", NULL) : NULL;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE)) {
    g_free (path);
    return NULL;
  }
  return path;
}

static int
run_replay (const char *const *args, char **ret_stdout, char **ret_stderr)
{
  g_autofree char *binary = replay_binary ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  int status = -1;

  g_ptr_array_add (argv, binary);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, ret_stdout, ret_stderr,
                             &status, NULL));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Good and bad files side by side: the bad ones are named, the good ones
 * evaluated, --json prints one document; bad options exit 2. */
static void
test_evaluate_cli (void **state)
{
  g_autofree char *binary = replay_binary ();
  g_autofree char *dir = NULL;
  g_autofree char *good = NULL;
  g_autofree char *garbage = NULL;
  g_autoptr(GString) trace = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  JsonArray *methods;

  if (binary == NULL)
    skip ();
  trace = g_string_new ("# amigo-trace v1\ntime_s,cpu_cores\n");
  parser = json_parser_new ();
  dir = g_dir_make_tmp ("amigo-replay-cli-XXXXXX", NULL);
  for (guint i = 0; i < 3 * 288; i++)
    g_string_append_printf (trace, "%u,%g\n", 1000000 + 300 * i, 1.0 + (i % 288) / 288.0);
  good = g_build_filename (dir, "vm one", NULL);
  garbage = g_build_filename (dir, "garbage.bin", NULL);
  assert_true (g_file_set_contents (good, trace->str, -1, NULL));
  assert_true (g_file_set_contents (garbage, "\x01\x02\x03\0\x04", 5, NULL));

  {
    const char *args[] = { "--json", "--methods", "last,no-such-model", dir, NULL };
    assert_int_equal (run_replay (args, &out, &err), 0);
  }
  assert_non_null (strstr (err, garbage));
  assert_non_null (strstr (err, "binary file"));
  assert_non_null (strstr (err, "'no-such-model'"));
  assert_true (json_parser_load_from_data (parser, out, -1, &error));
  methods = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "methods");
  assert_non_null (methods);
  if (json_array_get_length (methods) > 0) {
    JsonObject *o = json_array_get_object_element (methods, 0);
    assert_string_equal (json_object_get_string_member (o, "resource"), "cpu");
    /* 2 days after the first: origins every 4 h = 12 windows */
    assert_int_equal (json_object_get_int_member (o, "windows"), 12);
    assert_true (json_object_has_member (o, "coverage") && json_object_has_member (o, "slack_median") &&
                 json_object_has_member (o, "pinball") && json_object_has_member (o, "us_per_forecast"));
  }

  /* --windows: every scored window of every method, agreeing with the table */
  {
    g_autofree char *tsv = g_build_filename (dir, "windows.tsv", NULL);
    g_autofree char *bad_tsv = g_build_filename (dir, "no-such-dir", "w.tsv", NULL);
    g_autofree char *text = NULL;
    g_autofree char *o2 = NULL;
    g_autofree char *e2 = NULL;
    g_autofree char *o3 = NULL;
    g_autofree char *e3 = NULL;
    g_auto(GStrv) lines = NULL;
    const char *args[] = { "--quiet", "--methods", "last,peak", "--windows", tsv, good, NULL };
    const char *bad[] = { "--quiet", "--windows", bad_tsv, good, NULL };
    guint n_peak = 0, covered_peak = 0;

    assert_int_equal (run_replay (args, &o2, &e2), 0);
    assert_true (g_file_get_contents (tsv, &text, NULL, NULL));
    lines = g_strsplit (text, "\n", -1);
    assert_string_equal (lines[0], "trace\tresource\tmethod\tstart\treservation\tpeak\tscale");
    /* 12 windows x 2 methods, then the empty string after the last newline */
    assert_int_equal (g_strv_length (lines), 1 + 24 + 1);
    for (guint i = 1; i <= 24; i++) {
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
      assert_int_equal (g_strv_length (f), 7);
      assert_string_equal (f[0], good);
      assert_string_equal (f[1], "cpu");
      if (strcmp (f[2], "peak") == 0) {
        n_peak++;
        covered_peak += g_ascii_strtod (f[5], NULL) <= g_ascii_strtod (f[4], NULL);
      }
    }
    assert_int_equal (n_peak, 12);
    /* the series repeats daily and rises through the day: yesterday's
     * peak (2 - 1/288) covers every window */
    assert_int_equal (covered_peak, 12);
    assert_int_equal (run_replay (bad, &o3, &e3), 1);
    assert_non_null (strstr (e3, bad_tsv));
    g_unlink (tsv);
  }

  {
    const char *bad_args[][4] = {
      { "--window", "5x", dir, NULL },
      { "--quantile", "1.5", dir, NULL },
      { "--resources", "cpu,bogus", dir, NULL },
      { "--min-history", "8d", dir, NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad_args); i++) {
      g_autofree char *o2 = NULL;
      g_autofree char *e2 = NULL;
      assert_int_equal (run_replay (bad_args[i], &o2, &e2), 2);
      assert_true (strlen (e2) > 0);
    }
  }
  g_unlink (good);
  g_unlink (garbage);
  g_rmdir (dir);
}

/* The plot is a real PNG, and a bad output path is an error naming it. */
static void
test_evaluate_plot (void **state)
{
  g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
  g_autofree char *dir = NULL;
  g_autofree char *png = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *data = NULL;
  g_autoptr(GArray) track = NULL;
  g_autoptr(GError) error = NULL;
  double values[48];
  const gint64 step = 300 * AMIGO_USEC_PER_SEC;
  AmigoSeries series = { G_GINT64_CONSTANT (1375308000) * AMIGO_USEC_PER_SEC, step, G_N_ELEMENTS (values), values };
  AmigoPlotLine lines[] = { { "peak", 0 }, { "vpa", 1 } };
  gsize len = 0;

  if (gnuplot == NULL)
    skip ();
  track = g_array_new (FALSE, FALSE, sizeof (AmigoTrackPoint));
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    values[i] = i == 20 ? NAN : 1.0 + (i % 12) / 12.0;
  for (guint m = 0; m < 2; m++) {
    AmigoTrackPoint p = { m, series.start_usec + 24 * step, series.start_usec + 36 * step, 2.0 + m, 1.9 };
    g_array_append_val (track, p);
  }
  dir = g_dir_make_tmp ("amigo-plot-test-XXXXXX", NULL);
  png = g_build_filename (dir, "it's a plot.png", NULL);
  assert_true (amigo_plot_write (png, "VM 'x'", "cpu (cores)", &series, track, lines, G_N_ELEMENTS (lines), &error));
  assert_true (g_file_get_contents (png, &data, &len, NULL));
  assert_true (len > 1000);
  assert_memory_equal (data, "\x89PNG", 4);

  bad = g_build_filename (dir, "no-such-dir", "x.png", NULL);
  assert_false (amigo_plot_write (bad, "t", "y", &series, track, lines, 1, &error));
  assert_non_null (strstr (error->message, bad));
  g_unlink (png);
  g_rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_evaluate_metrics_by_hand),
    cmocka_unit_test (test_evaluate_options_check),
    cmocka_unit_test (test_evaluate_protocol),
    cmocka_unit_test (test_evaluate_lstm_refit_policy),
    cmocka_unit_test (test_evaluate_unknown_method),
    cmocka_unit_test (test_evaluate_cli),
    cmocka_unit_test (test_evaluate_plot),
  };
  return cmocka_run_group_tests_name ("evaluate", tests, NULL, NULL);
}
