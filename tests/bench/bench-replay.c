/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replay benchmarks (suite 'bench'):
 *   bench-replay AMIGO_REPLAY quality   reservation quality of every method on
 *                                       the shared traces (Bitbrains, one
 *                                       PlanetLab day), from --json
 *   bench-replay AMIGO_REPLAY timing    50 month-long series: the 25 Bitbrains
 *                                       2013-8 files passed twice
 *   bench-replay AMIGO_REPLAY split     CPU and memory on the held-out half of
 *                                       the Bitbrains 2013-8 VMs (odd VM ids;
 *                                       the even ones are where the selector's
 *                                       rules are chosen), every method, with
 *                                       each slack relative to the 24-hour peak's
 * AMIGO_SHARED_DATA (env) overrides where the traces are;
 * AMIGO_REPLAY_METHODS overrides the method lists below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <glib.h>
#include <json-glib/json-glib.h>

/* LSTM is left out by default: one fit costs ~0.7 s of CPU here, and the
 * Bitbrains replay makes ~70,000 of them (see docs/evaluation.md). */
#define QUALITY_METHODS "amigo,arima,vpa,peak,last,seasonal_naive"
/* The timing requirement is for amigo-replay's default method set. */
#define TIMING_METHODS "amigo,arima,lstm,vpa,peak,last,seasonal_naive"

static const char *
data_dir (void)
{
  const char *env = g_getenv ("AMIGO_SHARED_DATA");
  return env != NULL ? env : AMIGO_SHARED_DATA;
}

/* Prints argv; a run of @n_files paths starting at @first_file is shown as
 * the equivalent glob. */
static void
print_command (const GPtrArray *argv, guint first_file, guint n_files, const char *glob)
{
  printf ("command:");
  for (guint i = 0; i < argv->len && g_ptr_array_index (argv, i) != NULL; i++) {
    g_autofree char *q = NULL;

    if (n_files > 0 && i >= first_file && i < first_file + n_files) {
      if ((i - first_file) % (n_files / 2) == 0)
        printf (" %s", glob);
      continue;
    }
    q = g_shell_quote (g_ptr_array_index (argv, i));
    printf (" %s", q);
  }
  printf ("\n");
  fflush (stdout);
}

static double
children_cpu_s (void)
{
  struct rusage ru;

  getrusage (RUSAGE_CHILDREN, &ru);
  return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
         (double) ru.ru_stime.tv_usec / 1e6;
}

/* Runs argv; returns its exit status, -1 if it could not run. */
static int
run (GPtrArray *argv, guint first_file, guint n_files, const char *glob, char **ret_stdout, double *ret_wall_s,
     double *ret_cpu_s)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double cpu0 = children_cpu_s ();
  int status = -1;

  print_command (argv, first_file, n_files, glob);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, ret_stdout, NULL, &status,
                     &error)) {
    fprintf (stderr, "bench-replay: %s\n", error->message);
    return -1;
  }
  *ret_wall_s = (double) (g_get_monotonic_time () - t0) / 1e6;
  *ret_cpu_s = children_cpu_s () - cpu0;
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
print_number (JsonObject *o, const char *name, int width, int precision)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || json_node_is_null (n))
    printf (" %*s", width, "-");
  else
    printf (" %*.*f", width, precision, json_node_get_double (n));
}

static gboolean
print_table (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *methods;

  if (!json_parser_load_from_data (parser, json, -1, &error)) {
    fprintf (stderr, "bench-replay: amigo-replay --json printed no valid JSON: %s\n", error->message);
    return FALSE;
  }
  methods = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "methods");
  printf ("%-8s %-7s %-15s %8s %8s %12s %8s %12s %8s\n", "resource", "unit", "method", "coverage", "slack",
          "slack_median", "pinball", "us/forecast", "windows");
  for (guint i = 0; i < json_array_get_length (methods); i++) {
    JsonObject *o = json_array_get_object_element (methods, i);
    printf ("%-8s %-7s %-15s", json_object_get_string_member (o, "resource"),
            json_object_get_string_member (o, "unit"), json_object_get_string_member (o, "method"));
    print_number (o, "coverage", 8, 3);
    print_number (o, "slack", 8, 3);
    print_number (o, "slack_median", 12, 3);
    print_number (o, "pinball", 8, 4);
    print_number (o, "us_per_forecast", 12, 1);
    printf (" %8" G_GINT64_FORMAT "\n", json_object_get_int_member (o, "windows"));
  }
  return TRUE;
}

static int
quality (const char *replay, const char *methods)
{
  g_autofree char *bitbrains = g_build_filename (data_dir (), "bitbrains-rnd", NULL);
  g_autofree char *planetlab = g_build_filename (data_dir (), "planetlab", "20110303", NULL);
  int rc = 0;

  if (!g_file_test (bitbrains, G_FILE_TEST_IS_DIR)) {
    printf ("no traces at '%s', skipping\n", bitbrains);
    return 77;
  }
  for (guint set = 0; set < 2; set++) {
    g_autoptr(GPtrArray) argv = g_ptr_array_new ();
    g_autofree char *out = NULL;
    double wall = 0, cpu = 0;
    int status;

    g_ptr_array_add (argv, (gpointer) replay);
    g_ptr_array_add (argv, (gpointer) "--json");
    g_ptr_array_add (argv, (gpointer) "--quiet");
    g_ptr_array_add (argv, (gpointer) "--methods");
    g_ptr_array_add (argv, (gpointer) methods);
    if (set == 1) {
      /* a PlanetLab file is one day: no day of history before a window */
      g_ptr_array_add (argv, (gpointer) "--min-history");
      g_ptr_array_add (argv, (gpointer) "12h");
    }
    g_ptr_array_add (argv, set == 0 ? bitbrains : planetlab);
    g_ptr_array_add (argv, NULL);
    status = run (argv, 0, 0, NULL, &out, &wall, &cpu);
    if (status != 0 || !print_table (out)) {
      printf ("amigo-replay exited with status %d\n", status);
      rc = 1;
    }
    printf ("elapsed: %.1f s wall, %.1f s CPU\n\n", wall, cpu);
    fflush (stdout);
  }
  return rc;
}

/* A figure of amigo-replay --json, NAN where it is null (no windows). */
static double
number_member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n == NULL || json_node_is_null (n) ? NAN : json_node_get_double (n);
}

/* Per resource: each method's slack as a multiple of the 24-hour peak's
 * and the method with the lowest pinball (the goals: coverage >= the
 * quantile, lowest pinball). */
static gboolean
print_against_peak (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *methods;

  if (!json_parser_load_from_data (parser, json, -1, NULL))
    return FALSE;
  methods = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "methods");
  printf ("%-8s %-15s %8s %14s %8s %s\n", "resource", "method", "coverage", "slack/peak's", "pinball", "");
  for (guint i = 0; i < json_array_get_length (methods); i++) {
    JsonObject *o = json_array_get_object_element (methods, i);
    const char *resource = json_object_get_string_member (o, "resource");
    double peak_slack = NAN, lowest = INFINITY, pinball = number_member (o, "pinball");

    for (guint j = 0; j < json_array_get_length (methods); j++) {
      JsonObject *p = json_array_get_object_element (methods, j);
      if (g_strcmp0 (json_object_get_string_member (p, "resource"), resource) != 0)
        continue;
      /* without `peak` among the methods the ratio is nan */
      if (g_strcmp0 (json_object_get_string_member (p, "method"), "peak") == 0)
        peak_slack = number_member (p, "slack");
      if (number_member (p, "pinball") < lowest)
        lowest = number_member (p, "pinball");
    }
    printf ("%-8s %-15s %8.3f %14.2f %8.4f %s\n", resource, json_object_get_string_member (o, "method"),
            number_member (o, "coverage"), number_member (o, "slack") / peak_slack, pinball,
            pinball <= lowest ? "lowest pinball" : "");
  }
  return TRUE;
}

/* The 1-minute load average, NAN if unknown. */
static double
load_average (void)
{
  double load[1];

  return getloadavg (load, 1) == 1 ? load[0] : NAN;
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The Bitbrains 2013-8 files, sorted by path; NULL (and a message) when
 * the traces are not there. */
static GPtrArray *
month_files (const char *month)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = g_dir_open (month, 0, NULL);
  const char *name;

  if (dir == NULL) {
    printf ("no traces at '%s', skipping\n", month);
    return NULL;
  }
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (g_str_has_suffix (name, ".csv"))
      g_ptr_array_add (files, g_build_filename (month, name, NULL));
  }
  g_ptr_array_sort (files, compare_paths);
  return g_steal_pointer (&files);
}

static int
timing (const char *replay, const char *methods)
{
  g_autofree char *month = g_build_filename (data_dir (), "bitbrains-rnd", "2013-8", NULL);
  g_autoptr(GPtrArray) files = month_files (month);
  g_autofree char *glob = NULL;
  g_autofree char *taskset = NULL;
  int rc = 0;

  if (files == NULL)
    return 77;
  glob = g_build_filename (month, "*.csv", NULL);
  taskset = g_find_program_in_path ("taskset");
  printf ("50 month-long series = the %u Bitbrains 2013-8 files, each passed twice\n", files->len);

  /* the harness alone (parsing, regridding, protocol; the cheapest method),
   * then the methods asked for */
  for (guint pass = 0; pass < 2; pass++) {
    g_autoptr(GPtrArray) argv = g_ptr_array_new ();
    g_autofree char *out = NULL;
    double wall = 0, cpu = 0;
    int status;

    guint first_file;

    /* one core, as the requirement says */
    if (taskset != NULL) {
      g_ptr_array_add (argv, taskset);
      g_ptr_array_add (argv, (gpointer) "-c");
      g_ptr_array_add (argv, (gpointer) "0");
    }
    g_ptr_array_add (argv, (gpointer) replay);
    g_ptr_array_add (argv, (gpointer) "--quiet");
    g_ptr_array_add (argv, (gpointer) "--methods");
    g_ptr_array_add (argv, (gpointer) (pass == 0 ? "peak" : methods));
    first_file = argv->len;
    for (guint twice = 0; twice < 2; twice++) {
      for (guint i = 0; i < files->len; i++)
        g_ptr_array_add (argv, g_ptr_array_index (files, i));
    }
    g_ptr_array_add (argv, NULL);
    status = run (argv, first_file, 2 * files->len, glob, &out, &wall, &cpu);
    if (out != NULL)
      printf ("%s", out);
    /* the verdict is on CPU time: on a shared machine the wall time also
     * counts the other jobs' turns on the core (the load is printed) */
    printf ("elapsed (%s): %.1f s wall, %.1f s CPU, %s, load average %.1f%s\n\n",
            pass == 0 ? "harness, peak only" : methods, wall, cpu,
            taskset != NULL ? "one core" : "taskset missing: not pinned", load_average (),
            cpu > 60 ? " -- MORE THAN A MINUTE OF CPU" : "");
    fflush (stdout);
    if (status != 0 || cpu > 60)
      rc = 1;
  }
  return rc;
}

/* The split by VM id (the file name): odd ids are held out, even ids are
 * where the selector's rules are chosen. A fixed rule on the id, not a
 * choice of VMs, so that what is reported here was never looked at while
 * a rule was decided. */
static gboolean
held_out (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *end = NULL;
  guint64 id = g_ascii_strtoull (base, &end, 10);

  return end != base && g_strcmp0 (end, ".csv") == 0 && id % 2 == 1;
}

static int
split (const char *replay, const char *methods)
{
  g_autofree char *month = g_build_filename (data_dir (), "bitbrains-rnd", "2013-8", NULL);
  g_autoptr(GPtrArray) files = month_files (month);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  double wall = 0, cpu = 0;
  guint first_file, n_files;
  int status;

  if (files == NULL)
    return 77;
  g_ptr_array_add (argv, (gpointer) replay);
  g_ptr_array_add (argv, (gpointer) "--json");
  g_ptr_array_add (argv, (gpointer) "--quiet");
  g_ptr_array_add (argv, (gpointer) "--methods");
  g_ptr_array_add (argv, (gpointer) methods);
  g_ptr_array_add (argv, (gpointer) "--resources");
  g_ptr_array_add (argv, (gpointer) "cpu,memory");
  first_file = argv->len;
  for (guint i = 0; i < files->len; i++) {
    if (held_out (g_ptr_array_index (files, i)))
      g_ptr_array_add (argv, g_ptr_array_index (files, i));
  }
  n_files = argv->len - first_file;
  g_ptr_array_add (argv, NULL);
  printf ("held-out half of %s: the %u VMs with an odd id\n", month, n_files);
  if (n_files == 0) {
    printf ("no held-out trace there, skipping\n");
    return 77;
  }
  status = run (argv, 0, 0, NULL, &out, &wall, &cpu);
  if (status != 0 || !print_table (out) || !print_against_peak (out)) {
    printf ("amigo-replay exited with status %d\n", status);
    return 1;
  }
  printf ("elapsed: %.1f s wall, %.1f s CPU\n", wall, cpu);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *methods = g_getenv ("AMIGO_REPLAY_METHODS");

  if (argc != 3) {
    fprintf (stderr, "usage: bench-replay AMIGO_REPLAY quality|timing|split\n");
    return 2;
  }
  if (g_strcmp0 (argv[2], "quality") == 0)
    return quality (argv[1], methods != NULL ? methods : QUALITY_METHODS);
  if (g_strcmp0 (argv[2], "timing") == 0)
    return timing (argv[1], methods != NULL ? methods : TIMING_METHODS);
  if (g_strcmp0 (argv[2], "split") == 0)
    return split (argv[1], methods != NULL ? methods : QUALITY_METHODS);
  fprintf (stderr, "bench-replay: unknown mode '%s'\n", argv[2]);
  return 2;
}
