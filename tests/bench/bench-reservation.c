/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-reservation: (1) milliseconds per complete cold reservation (5
 * resources, a week of 5-min history, selection included); (2) a quick
 * coverage / slack / pinball table of the selector ("amigo") against the
 * 24-hour-peak baseline and the other methods on the Bitbrains 2013-8 traces:
 * origins every 4 h after one day of history, window = next hour (12 steps),
 * actual = window peak.
 *
 * Usage: bench-reservation [DATA_DIR] [--models] [--quantile Q] [--registry-origins N]
 *   DATA_DIR defaults to $AMIGO_SHARED_DATA or the build-time path.
 *   --registry-origins N lets the registered models compete in the
 *   selector with N backtest origins (default: not, as amigod).
 *   --models also scores every registered model on its own (max of its
 *   per-step upper bounds over the window), which is slow.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"
#include "amigo/amigo-reservation.h"

#define STEP_SEC 300
#define WINDOW 12
#define DAY 288
#define ORIGIN_EVERY 48

typedef struct {
  char *name;
  gsize n;
  double *res[AMIGO_RESOURCE_LAST];
} Trace;

static void
trace_free (Trace *t)
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    g_free (t->res[r]);
  g_free (t->name);
  g_free (t);
}

/* Bitbrains: ";\t" separated, timestamps in seconds, duplicates and 0-core
 * rows dropped, regularised on a 5-min grid (gaps are NAN). */
static Trace *
trace_load (const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  Trace *t;
  gint64 t0 = -1;
  gsize n = 0, cap;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  cap = g_strv_length (lines) * 2 + 16;
  t = g_new0 (Trace, 1);
  t->name = g_path_get_basename (path);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    t->res[r] = g_new (double, cap);
    for (gsize i = 0; i < cap; i++)
      t->res[r][i] = NAN;
  }
  for (guint l = 1; lines[l] != NULL; l++) {
    g_auto(GStrv) f = g_strsplit (lines[l], ";\t", -1);
    double v[11];
    gint64 ts, idx;
    if (g_strv_length (f) != 11)
      continue;
    for (guint i = 0; i < 11; i++)
      v[i] = g_ascii_strtod (f[i], NULL);
    if (v[1] <= 0 || v[2] <= 0)
      continue;
    ts = (gint64) v[0];
    if (t0 < 0)
      t0 = ts;
    idx = (ts - t0 + STEP_SEC / 2) / STEP_SEC;
    if (idx < 0 || (gsize) idx >= cap)
      continue;
    t->res[AMIGO_RESOURCE_CPU][idx] = v[3] / (v[2] / v[1]);
    t->res[AMIGO_RESOURCE_MEMORY][idx] = v[6] > 0 ? v[6] / (1024.0 * 1024.0) : NAN;
    t->res[AMIGO_RESOURCE_NETWORK][idx] = (v[9] + v[10]) * 8.0 / 1000.0;
    t->res[AMIGO_RESOURCE_DISK][idx] = v[7] + v[8];
    n = MAX (n, (gsize) idx + 1);
  }
  t->n = n;
  return t;
}

static GPtrArray *
load_all (const char *dir)
{
  GPtrArray *traces = g_ptr_array_new_with_free_func ((GDestroyNotify) trace_free);
  g_autofree char *month = g_build_filename (dir, "bitbrains-rnd", "2013-8", NULL);
  g_autoptr(GDir) d = g_dir_open (month, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return traces;
  while ((name = g_dir_read_name (d)) != NULL) {
    if (g_str_has_suffix (name, ".csv"))
      g_ptr_array_add (names, g_strdup (name));
  }
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *p = g_build_filename (month, names->pdata[i], NULL);
    Trace *t = trace_load (p);
    if (t != NULL && t->n > 2 * DAY)
      g_ptr_array_add (traces, t);
    else if (t != NULL)
      trace_free (t);
  }
  return traces;
}

static double
window_peak (const double *v, gsize from, gsize to)
{
  double m = NAN;
  for (gsize i = from; i < to; i++) {
    if (isfinite (v[i]) && !(v[i] <= m))
      m = v[i];
  }
  return m;
}

static double
window_mean_all (const double *v, gsize n)
{
  double sum = 0;
  gsize m = 0;
  for (gsize i = 0; i < n; i++) {
    if (isfinite (v[i])) {
      sum += v[i];
      m++;
    }
  }
  return m > 0 ? sum / m : NAN;
}

typedef struct {
  const char *name;
  double sum_res, sum_act, loss;
  gsize n, covered;
} Score;

static void
score_add (Score *s, double res, double act, double q)
{
  if (!isfinite (res))
    return;
  s->sum_res += res;
  s->sum_act += act;
  s->loss += act >= res ? q * (act - res) : (1 - q) * (res - act);
  s->covered += act <= res;
  s->n++;
}

/* CPU time of this thread: the machine is shared, wall time would measure
 * the neighbours. */
static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --registry-origins N: the selector's registry_origins in the quality
 * table (default: the library's, 0) and for the second speed line (19). */
static int registry_origins = -1;
static gboolean verbose = FALSE;

static void
bench_speed (GPtrArray *traces, guint origins)
{
  const gsize week = 7 * DAY;
  double total = 0.0, worst = 0.0, first = -1.0;
  guint runs = 0;
  g_autofree double *gpu = g_new (double, week);

  for (gsize i = 0; i < week; i++)
    gpu[i] = 2.0 + sin (2 * G_PI * i / DAY) + 0.1 * (i % 7);
  for (guint k = 0; k < traces->len; k++) {
    Trace *t = traces->pdata[k];
    for (gsize end = week; end + DAY <= t->n && end <= week + 3 * DAY; end += DAY) {
      AmigoVmHistory h = { 0 };
      AmigoMigrationWindow w = { 0, 0, 10 * AMIGO_USEC_PER_MIN, 125e6, 0 };
      AmigoReservation res;
      AmigoReservationOptions ro;
      AmigoSelectorOptions so;
      g_autoptr(GError) error = NULL;
      double t1, t2;

      amigo_reservation_options_init (&ro);
      amigo_selector_options_init (&so);
      so.registry_origins = origins;
      ro.selector_options = &so;

      for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
        h.resources[r].start_usec = 0;
        h.resources[r].step_usec = STEP_SEC * AMIGO_USEC_PER_SEC;
        h.resources[r].n_values = week;
        h.resources[r].values = r == AMIGO_RESOURCE_GPU_MEMORY ? gpu : t->res[r] + end - week;
      }
      h.dirty_rate_bytes_s = NAN;
      h.memory_bytes = 8 * (guint64) AMIGO_BYTES_PER_GIB;
      t1 = now_ms ();
      if (!amigo_reservation_compute (&h, &w, &ro, &res, &error)) {
        printf ("  %s: %s\n", t->name, error->message);
        continue;
      }
      t2 = now_ms ();
      if (runs == 0 && first < 0) {
        /* The very first call also measures what each registered model
         * costs (once per process); report it apart. */
        first = t2 - t1;
        continue;
      }
      total += t2 - t1;
      worst = MAX (worst, t2 - t1);
      runs++;
    }
  }
  printf ("cold reservation (5 resources, 7 days of 5-min history, selection included, registry origins %u), CPU time: "
          "%.3f ms mean, %.3f ms worst over %u runs (target < 5 ms); "
          "first call of the process (measures model costs once) %.1f ms\n",
          origins, runs > 0 ? total / runs : NAN, worst, runs, first);
}


static void
bench_quality (GPtrArray *traces, double q, gboolean with_models)
{
  g_autoptr(GHashTable) chosen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const AmigoModelClass *const *classes = amigo_model_classes ();
  AmigoResource resources[] = { AMIGO_RESOURCE_CPU, AMIGO_RESOURCE_MEMORY };

  for (guint ri = 0; ri < G_N_ELEMENTS (resources); ri++) {
    AmigoResource r = resources[ri];
    Score s[16] = { { "amigo" }, { "peak24h" }, { "last" } };
    guint n_methods = 3;
    double t_amigo = 0.0;

    if (with_models) {
      for (guint c = 0; classes[c] != NULL && n_methods < G_N_ELEMENTS (s); c++)
        s[n_methods++].name = classes[c]->name;
    }
    for (guint k = 0; k < traces->len; k++) {
      Trace *t = traces->pdata[k];
      const double *v = t->res[r];
      AmigoSelectorOptions so;
      g_autoptr(AmigoSelector) sel = NULL;

      amigo_selector_options_init (&so);
      so.quantile = q;
      so.resource = r;
      if (registry_origins >= 0)
        so.registry_origins = registry_origins;
      sel = amigo_selector_new (&so);
      Score before_a = s[0], before_p = s[1];
      for (gsize o = DAY; o + WINDOW <= t->n; o += ORIGIN_EVERY) {
        AmigoSeries hist = { 0, STEP_SEC * AMIGO_USEC_PER_SEC, o, v };
        AmigoWindowForecast fc;
        g_autoptr(GError) error = NULL;
        double act = window_peak (v, o, o + WINDOW), t1;

        if (!isfinite (act))
          continue;
        t1 = now_ms ();
        if (amigo_selector_forecast (sel, &hist, WINDOW, &fc, &error)) {
          score_add (&s[0], fc.window_upper, act, q);
          g_hash_table_replace (chosen, g_strdup (fc.model),
                                GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (chosen, fc.model)) + 1));
        }
        else
          g_printerr ("%s: %s\n", t->name, error->message);
        t_amigo += now_ms () - t1;
        score_add (&s[1], window_peak (v, o - DAY, o), act, q);
        for (gsize i = o; i > 0; i--) {
          if (isfinite (v[i - 1])) {
            score_add (&s[2], v[i - 1], act, q);
            break;
          }
        }
        for (guint c = 3; c < n_methods; c++) {
          AmigoModelOptions mo = { r, DAY, 1, 3 * DAY };
          AmigoSeries tail = { 0, hist.step_usec, MIN (o, 3 * DAY), v + o - MIN (o, 3 * DAY) };
          g_autoptr(AmigoModel) m = amigo_model_fit (classes[c - 3], &tail, &mo, NULL);
          double mean[WINDOW], upper[WINDOW], u = -INFINITY;
          if (m == NULL || !amigo_model_forecast (m, WINDOW, q, mean, NULL, upper, NULL))
            continue;
          for (guint i = 0; i < WINDOW; i++)
            u = fmax (u, upper[i]);
          score_add (&s[c], u, act, q);
        }
      }
      if (verbose)
        printf ("  vm %-8s mean-scaled pinball amigo %.4f peak24 %.4f | act %10.2f amigo %10.2f (cov %.3f) peak24 %10.2f (cov %.3f)\n", t->name,
                (s[0].loss - before_a.loss) / MAX (s[0].n - before_a.n, 1) / MAX (window_mean_all (v, t->n), 1e-9),
                (s[1].loss - before_p.loss) / MAX (s[1].n - before_p.n, 1) / MAX (window_mean_all (v, t->n), 1e-9),
                s[0].sum_act - before_a.sum_act, s[0].sum_res - before_a.sum_res,
                (double) (s[0].covered - before_a.covered) / MAX (s[0].n - before_a.n, 1),
                s[1].sum_res - before_p.sum_res,
                (double) (s[1].covered - before_p.covered) / MAX (s[1].n - before_p.n, 1));
    }
    printf ("\n%s (%s), %u VMs, q = %.2f, amigo selector time %.1f ms total\n",
            amigo_resource_to_string (r), amigo_resource_unit (r), traces->len, q, t_amigo);
    printf ("  %-16s %8s %9s %8s %8s %10s\n", "method", "windows", "coverage", "slack", "slack/pk", "pinball");
    for (guint m = 0; m < n_methods; m++) {
      double slack = s[m].sum_act > 0 ? s[m].sum_res / s[m].sum_act - 1 : NAN;
      double slack_pk = s[1].sum_act > 0 ? slack / (s[1].sum_res / s[1].sum_act - 1) : NAN;
      printf ("  %-16s %8zu %9.4f %8.3f %8.3f %10.5f\n", s[m].name, s[m].n,
              s[m].n > 0 ? (double) s[m].covered / s[m].n : NAN, slack, slack_pk,
              s[m].n > 0 ? s[m].loss / s[m].n : NAN);
    }
    {
      GHashTableIter it;
      gpointer key, value;
      printf ("  amigo chose:");
      g_hash_table_iter_init (&it, chosen);
      while (g_hash_table_iter_next (&it, &key, &value))
        printf (" %s=%u", (char *) key, GPOINTER_TO_UINT (value));
      printf ("\n");
      g_hash_table_remove_all (chosen);
    }
  }
}

int
main (int argc, char **argv)
{
  const char *dir = g_getenv ("AMIGO_SHARED_DATA");
  gboolean with_models = FALSE, quality = TRUE;
  double q = 0.95;
  g_autoptr(GPtrArray) traces = NULL;
  g_autoptr(GString) cmd = g_string_new (NULL);

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (dir == NULL)
    dir = AMIGO_SHARED_DATA;
  for (int i = 1; i < argc; i++) {
    if (g_strcmp0 (argv[i], "--models") == 0)
      with_models = TRUE;
    else if (g_strcmp0 (argv[i], "--registry-origins") == 0 && i + 1 < argc)
      registry_origins = atoi (argv[++i]);
    else if (g_strcmp0 (argv[i], "--verbose") == 0)
      verbose = TRUE;
    else if (g_strcmp0 (argv[i], "--speed-only") == 0)
      quality = FALSE;
    else if (g_strcmp0 (argv[i], "--quantile") == 0 && i + 1 < argc)
      q = g_ascii_strtod (argv[++i], NULL);
    else
      dir = argv[i];
  }
  for (int i = 0; i < argc; i++)
    g_string_append_printf (cmd, "%s%s", i ? " " : "", argv[i]);
  printf ("command: %s\ndata: %s/bitbrains-rnd/2013-8\n", cmd->str, dir);
  printf ("registered models:");
  for (guint c = 0; amigo_model_classes ()[c] != NULL; c++)
    printf (" %s", amigo_model_classes ()[c]->name);
  printf ("\n");

  traces = load_all (dir);
  if (traces->len == 0) {
    printf ("no traces found, nothing to measure\n");
    return 77;
  }
  /* the one-shot default (built-ins only) and with the registered models */
  bench_speed (traces, 0);
  if (registry_origins != 0)
    bench_speed (traces, registry_origins > 0 ? registry_origins : 19);
  if (quality)
    bench_quality (traces, q, with_models);
  return 0;
}
