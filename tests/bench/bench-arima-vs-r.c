/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Our ARIMA against R's forecast::auto.arima on real traces.
 *
 * Series (fixed selection, see docs/forecast-arima.md):
 *   - every file of bitbrains-rnd/2013-8 (25 VMs): CPU cores in use
 *     (CPU usage [MHZ] / (capacity [MHZ] / cores)) and memory used (GiB),
 *     hourly means of the 5-minute samples (rows with 0 cores and repeated
 *     timestamps dropped, memory 0 read as missing), frequency 24;
 *   - 50 PlanetLab files of planetlab/20110303 (every 21st name in byte
 *     order), 288 five-minute CPU % samples, frequency 1.
 * The last 12 steps of each series are held out; both methods see the same
 * preceding points (empty hours filled by linear interpolation here, so R
 * and we get identical input). Scored by MASE (scale: in-sample mean
 * absolute one-step difference).
 *
 * Speed: forecasts per second of each on those series (R timed inside R by
 * proc.time around the loop), plus the daemon's case: one week of 5-minute
 * samples (2016) per resource.
 *
 * Usage: bench-arima-vs-r [DATA_DIR [R_SCRIPT]]
 * Exit 77 (skip) when Rscript or the R package forecast is missing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "amigo-model-arima.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"

#define HOLDOUT 12
#define PLANETLAB_DAY "20110303"
#define PLANETLAB_FILES 50
#define PLANETLAB_STRIDE 21

typedef struct {
  char *name;
  int freq;
  gint64 step_usec;
  GArray *values;      /* double, train + HOLDOUT */
  double r_fc[HOLDOUT];
  char *r_order;
  gboolean r_ok;
  double r_cpu_s;      /* R's CPU seconds for this series' fit + forecast */
} Series;

/* 0 Bitbrains CPU, 1 Bitbrains memory, 2 PlanetLab */
static int
series_group (const Series *s)
{
  return g_str_has_prefix (s->name, "planetlab") ? 2 : g_str_has_suffix (s->name, "mem") ? 1 : 0;
}

static void
series_free (gpointer p)
{
  Series *s = p;
  g_free (s->name);
  g_free (s->r_order);
  g_array_unref (s->values);
  g_free (s);
}

/* Splits @text in place into lines (strsplit on a whole trace file is
 * quadratic under AddressSanitizer's interceptors). */
static GPtrArray *
split_lines (char *text)
{
  GPtrArray *lines = g_ptr_array_new ();
  char *p = text;
  while (*p != '\0') {
    char *nl = strchr (p, '\n');
    g_ptr_array_add (lines, p);
    if (nl == NULL)
      break;
    *nl = '\0';
    p = nl + 1;
  }
  return lines;
}

static void
fill_gaps (double *x, gsize n)
{
  gsize i = 0;
  while (i < n && isnan (x[i]))
    i++;
  for (gsize j = 0; j < i; j++)
    x[j] = i < n ? x[i] : 0.0;
  for (; i < n; i++) {
    if (!isnan (x[i]))
      continue;
    gsize hi = i;
    while (hi < n && isnan (x[hi]))
      hi++;
    for (gsize k = i; k < hi; k++)
      x[k] = hi < n ? x[i - 1] + (x[hi] - x[i - 1]) * (double) (k - i + 1) / (double) (hi - i + 1) : x[i - 1];
    i = hi;
  }
}

/* Bitbrains: returns 5-minute grids (NAN where missing) of CPU cores and
 * memory GiB. Columns are separated by ";\t". */
static gboolean
read_bitbrains (const char *path, GArray **ret_cpu, GArray **ret_mem, gint64 *ret_t0)
{
  g_autofree char *text = NULL;
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GArray) cpu = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) mem = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) cnt_c = g_array_new (FALSE, TRUE, sizeof (int));
  g_autoptr (GArray) cnt_m = g_array_new (FALSE, TRUE, sizeof (int));
  gint64 t0 = -1, last_ts = -1;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  lines = split_lines (text);
  for (guint i = 1; i < lines->len; i++) {
    double f[7];
    char *p = lines->pdata[i], *end;
    int k;
    for (k = 0; k < 7; k++) {
      f[k] = g_ascii_strtod (p, &end);
      if (end == p)
        break;
      p = end;
      while (*p == ';' || *p == '\t' || *p == ' ')
        p++;
    }
    if (k < 7)
      continue;
    gint64 ts = (gint64) f[0];
    if (f[1] <= 0.0 || f[2] <= 0.0 || ts == last_ts)
      continue;   /* zero-core rows and repeated timestamps */
    last_ts = ts;
    if (t0 < 0)
      t0 = ts;
    gsize bin = (gsize) ((ts - t0 + 150) / 300);
    double zero = 0.0;
    int izero = 0;
    while (cpu->len <= bin) {
      g_array_append_val (cpu, zero);
      g_array_append_val (mem, zero);
      g_array_append_val (cnt_c, izero);
      g_array_append_val (cnt_m, izero);
    }
    g_array_index (cpu, double, bin) += f[3] / (f[2] / f[1]);
    g_array_index (cnt_c, int, bin)++;
    if (f[6] > 0.0) {
      g_array_index (mem, double, bin) += f[6] / (1024.0 * 1024.0);
      g_array_index (cnt_m, int, bin)++;
    }
  }
  for (guint i = 0; i < cpu->len; i++) {
    int nc = g_array_index (cnt_c, int, i), nm = g_array_index (cnt_m, int, i);
    g_array_index (cpu, double, i) = nc > 0 ? g_array_index (cpu, double, i) / nc : NAN;
    g_array_index (mem, double, i) = nm > 0 ? g_array_index (mem, double, i) / nm : NAN;
  }
  *ret_cpu = g_steal_pointer (&cpu);
  *ret_mem = g_steal_pointer (&mem);
  *ret_t0 = t0;
  return TRUE;
}

/* Hourly means of a 5-minute grid, gaps filled. */
static GArray *
hourly (GArray *five)
{
  GArray *h = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i + 12 <= five->len; i += 12) {
    double s = 0.0;
    int c = 0;
    for (guint j = i; j < i + 12; j++) {
      double v = g_array_index (five, double, j);
      if (!isnan (v)) {
        s += v;
        c++;
      }
    }
    double m = c > 0 ? s / c : NAN;
    g_array_append_val (h, m);
  }
  fill_gaps ((double *) (void *) h->data, h->len);
  return h;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in @dir ending in @suffix, in byte order; NULL if it cannot be read. */
static GPtrArray *
sorted_names (const char *dir, const char *suffix, GError **error)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  GPtrArray *names;
  const char *name;

  if (d == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, suffix))
      g_ptr_array_add (names, g_strdup (name));
  qsort (names->pdata, names->len, sizeof (char *), cmp_str);
  return names;
}

static double
now_sec (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
cpu_sec (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
mase (const double *x, gsize n_train, const double *fc)
{
  double scale = 0.0, err = 0.0;
  for (gsize i = 1; i < n_train; i++)
    scale += fabs (x[i] - x[i - 1]);
  scale /= n_train - 1;
  if (!(scale > 0.0))
    return NAN;
  for (gsize h = 0; h < HOLDOUT; h++)
    err += fabs (fc[h] - x[n_train + h]);
  return err / HOLDOUT / scale;
}

static AmigoModel *
fit_ours (const AmigoModelClass *klass, const Series *s, gsize n_train, GError **error)
{
  AmigoSeries hist = { .start_usec = 0, .step_usec = s->step_usec, .n_values = n_train,
                       .values = (const double *) (const void *) s->values->data };
  AmigoModelOptions opts = { 0 };
  return amigo_model_fit (klass, &hist, &opts, error);
}

/* Our fit + forecast over the series R finished (of @group, or all for -1),
 * repeated for at least @min_cpu_s of CPU: CPU seconds per round (and wall
 * seconds and rounds when asked). */
static double
time_ours (const AmigoModelClass *klass, GPtrArray *series, int group, double min_cpu_s, double *ret_wall,
           int *ret_rounds)
{
  double t0 = now_sec (), c0 = cpu_sec ();
  int rounds = 0;

  do {
    for (guint i = 0; i < series->len; i++) {
      Series *s = series->pdata[i];
      double mean[HOLDOUT], upper[HOLDOUT];
      if (!s->r_ok || (group >= 0 && series_group (s) != group))
        continue;
      g_autoptr (AmigoModel) m = fit_ours (klass, s, s->values->len - HOLDOUT, NULL);
      if (m == NULL || !amigo_model_forecast (m, HOLDOUT, 0.95, mean, NULL, upper, NULL))
        g_error ("our fit or forecast of '%s' failed while timing", s->name);
    }
    rounds++;
  } while (cpu_sec () - c0 < min_cpu_s);
  if (ret_wall != NULL)
    *ret_wall = (now_sec () - t0) / rounds;
  if (ret_rounds != NULL)
    *ret_rounds = rounds;
  return (cpu_sec () - c0) / rounds;
}

int
main (int argc, char **argv)
{
  const char *data_dir = argc > 1 ? argv[1] : g_getenv ("AMIGO_SHARED_DATA");
  const char *r_script = argc > 2 ? argv[2] : AMIGO_BENCH_SRCDIR "/auto-arima.R";
  const AmigoModelClass *klass = amigo_model_class_lookup ("arima");
  g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func (series_free);
  g_autoptr (GPtrArray) weeks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autofree char *tmpdir = NULL;
  g_autofree char *in_path = NULL;
  g_autofree char *out_path = NULL;
  g_autoptr (GString) input = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *r_out = NULL;
  g_autofree char *r_err = NULL;
  double r_elapsed = 0.0, r_cpu = 0.0;
  int status = 0;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (data_dir == NULL)
    data_dir = AMIGO_SHARED_DATA;
  printf ("command: %s %s %s\n", argv[0], data_dir, r_script);

  {
    const char *check[] = { "Rscript", "-e",
                            "quit(status = if (requireNamespace('forecast', quietly = TRUE)) 0 else 3)", NULL };
    if (!g_spawn_sync (NULL, (char **) check, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                       G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL) ||
        !g_spawn_check_wait_status (status, NULL)) {
      printf ("SKIP: Rscript or the R package 'forecast' is missing (apt-get install r-cran-forecast)\n");
      return 77;
    }
  }

  /* Bitbrains 2013-8: every file, CPU and memory, hourly. */
  {
    g_autofree char *dir = g_build_filename (data_dir, "bitbrains-rnd", "2013-8", NULL);
    g_autoptr (GPtrArray) names = sorted_names (dir, ".csv", &error);
    if (names == NULL) {
      printf ("SKIP: no trace data: %s\n", error->message);
      return 77;
    }
    for (guint i = 0; i < names->len; i++) {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      GArray *cpu5, *mem5;
      gint64 t0;
      if (!read_bitbrains (path, &cpu5, &mem5, &t0)) {
        printf ("cannot read '%s'\n", path);
        return 1;
      }
      for (int r = 0; r < 2; r++) {
        Series *s = g_new0 (Series, 1);
        s->name = g_strdup_printf ("bitbrains/%s/%s", (char *) names->pdata[i], r == 0 ? "cpu" : "mem");
        s->freq = 24;
        s->step_usec = AMIGO_USEC_PER_HOUR;
        s->values = hourly (r == 0 ? cpu5 : mem5);
        g_ptr_array_add (series, s);
        /* the daemon's case: last week at 5 minutes (gaps left in) */
        GArray *src = r == 0 ? cpu5 : mem5;
        if (src->len >= 2016) {
          GArray *wk = g_array_sized_new (FALSE, FALSE, sizeof (double), 2016);
          g_array_append_vals (wk, &g_array_index (src, double, src->len - 2016), 2016);
          g_ptr_array_add (weeks, wk);
        }
      }
      g_array_unref (cpu5);
      g_array_unref (mem5);
    }
  }
  /* PlanetLab: every PLANETLAB_STRIDE-th file of one day. */
  {
    g_autofree char *dir = g_build_filename (data_dir, "planetlab", PLANETLAB_DAY, NULL);
    g_autoptr (GPtrArray) names = sorted_names (dir, "", &error);
    if (names == NULL) {
      printf ("SKIP: no trace data: %s\n", error->message);
      return 77;
    }
    for (guint i = 0; i < PLANETLAB_FILES && i * PLANETLAB_STRIDE < names->len; i++) {
      g_autofree char *path = g_build_filename (dir, names->pdata[i * PLANETLAB_STRIDE], NULL);
      g_autofree char *text = NULL;
      g_autoptr (GPtrArray) lines = NULL;
      Series *s;
      if (!g_file_get_contents (path, &text, NULL, NULL))
        return 1;
      s = g_new0 (Series, 1);
      s->name = g_strdup_printf ("planetlab/%s", (char *) names->pdata[i * PLANETLAB_STRIDE]);
      s->freq = 1;
      s->step_usec = 5 * AMIGO_USEC_PER_MIN;
      s->values = g_array_new (FALSE, FALSE, sizeof (double));
      lines = split_lines (text);
      for (guint k = 0; k < lines->len; k++) {
        const char *line = lines->pdata[k];
        if (line[0] == '\0')
          continue;
        double v = g_ascii_strtod (line, NULL);
        g_array_append_val (s->values, v);
      }
      g_ptr_array_add (series, s);
    }
  }

  /* R: write the training parts, run auto.arima, read forecasts. */
  tmpdir = g_dir_make_tmp ("bench-arima-XXXXXX", &error);
  g_assert_no_error (error);
  in_path = g_build_filename (tmpdir, "in.tsv", NULL);
  /* AMIGO_BENCH_R_OUTPUT: keep R's results in that file and reuse them
   * when it exists (to iterate on our side without rerunning R). */
  if (g_getenv ("AMIGO_BENCH_R_OUTPUT") != NULL)
    out_path = g_strdup (g_getenv ("AMIGO_BENCH_R_OUTPUT"));
  else
    out_path = g_build_filename (tmpdir, "out.tsv", NULL);
  for (guint i = 0; i < series->len; i++) {
    Series *s = series->pdata[i];
    gsize n_train = s->values->len - HOLDOUT;
    g_string_append_printf (input, "%s\t%d\t%d\t", s->name, s->freq, HOLDOUT);
    for (gsize k = 0; k < n_train; k++) {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (input, "%s%s", k > 0 ? "," : "",
                              g_ascii_dtostr (buf, sizeof buf, g_array_index (s->values, double, k)));
    }
    g_string_append_c (input, '\n');
  }
  g_file_set_contents (in_path, input->str, input->len, &error);
  g_assert_no_error (error);
  {
    /* auto-arima.R resumes: series already in out_path are not fitted again. */
    const char *rargv[] = { "Rscript", r_script, in_path, out_path, NULL };
    printf ("command: Rscript %s %s %s   (%u series)\n", r_script, in_path, out_path, series->len);
    if (g_getenv ("AMIGO_BENCH_R_OUTPUT") != NULL)
      printf ("R's results are kept in '%s' (AMIGO_BENCH_R_OUTPUT); series found there are reused\n", out_path);
    fflush (stdout);
    if (!g_spawn_sync (NULL, (char **) rargv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &r_out, &r_err,
                       &status, &error) || !g_spawn_check_wait_status (status, &error)) {
      printf ("Rscript failed: %s\n%s\n", error->message, r_err != NULL ? r_err : "");
      return 1;
    }
  }
  {
    g_autofree char *text = NULL;
    g_autoptr (GPtrArray) lines = NULL;
    g_file_get_contents (out_path, &text, NULL, &error);
    g_assert_no_error (error);
    lines = split_lines (text);
    for (guint k = 0; k < lines->len; k++) {
      g_auto (GStrv) f = g_strsplit (lines->pdata[k], "\t", -1);
      Series *s = NULL;
      if (g_strv_length (f) < 5)
        continue;
      for (guint i = 0; i < series->len && s == NULL; i++)
        if (strcmp (((Series *) series->pdata[i])->name, f[0]) == 0)
          s = series->pdata[i];
      g_auto (GStrv) v = g_strsplit (f[1], ",", -1);
      if (s == NULL || g_strv_length (v) != HOLDOUT)
        continue;
      for (int h = 0; h < HOLDOUT; h++)
        s->r_fc[h] = g_ascii_strtod (v[h], NULL);
      s->r_order = g_strdup (f[2]);
      s->r_ok = TRUE;
      s->r_cpu_s = g_ascii_strtod (f[4], NULL);
      r_elapsed += g_ascii_strtod (f[3], NULL);
      r_cpu += s->r_cpu_s;
    }
  }
  g_unlink (in_path);
  if (g_getenv ("AMIGO_BENCH_R_OUTPUT") == NULL)
    g_unlink (out_path);
  g_rmdir (tmpdir);

  /* Ours: accuracy, then speed on the same series. */
  {
    double sum_ours = 0.0, sum_r = 0.0, t_ours, c_ours;
    double grp_ours[3] = { 0 }, grp_r[3] = { 0 };
    int grp_n[3] = { 0 }, n_scored = 0, n_skipped = 0, rounds = 0, wins = 0;
    guint n_r = 0;
    const char *grp_name[3] = { "bitbrains cpu (hourly)", "bitbrains mem (hourly)", "planetlab cpu (5 min)" };

    printf ("\n%-60s %9s %9s  %s\n", "series", "MASE ours", "MASE R", "orders (ours | R p d q P D Q m)");
    for (guint i = 0; i < series->len; i++) {
      Series *s = series->pdata[i];
      const double *x = (const double *) (const void *) s->values->data;
      gsize n_train = s->values->len - HOLDOUT;
      double mean[HOLDOUT], upper[HOLDOUT], m_ours, m_r;
      g_autoptr (AmigoModel) m = fit_ours (klass, s, n_train, &error);
      AmigoArimaOrder o = { 0 };
      int g = series_group (s);

      if (m == NULL || !amigo_model_forecast (m, HOLDOUT, 0.95, mean, NULL, upper, &error)) {
        printf ("%-60s our fit failed: %s\n", s->name, error->message);
        return 1;
      }
      amigo_arima_get_order ((const AmigoArima *) m, &o);
      m_ours = mase (x, n_train, mean);
      m_r = s->r_ok ? mase (x, n_train, s->r_fc) : NAN;
      if (isnan (m_ours) || isnan (m_r)) {
        n_skipped++;
        printf ("%-60s %9s %9s  (%s, skipped)\n", s->name, "-", "-",
                s->r_ok ? "constant training data: MASE undefined" : "no auto.arima result");
        continue;
      }
      printf ("%-60s %9.3f %9.3f  (%u,%u,%u)%s%s | %s\n", s->name, m_ours, m_r, o.p, o.d, o.q,
              o.constant ? "+c" : "", o.season > 0 ? " seas" : "", s->r_order);
      sum_ours += m_ours;
      sum_r += m_r;
      wins += m_ours <= m_r;
      grp_ours[g] += m_ours;
      grp_r[g] += m_r;
      grp_n[g]++;
      n_scored++;
    }
    printf ("\nAccuracy (MASE, %d-step holdout, lower is better) on %d series (%d skipped):\n",
            HOLDOUT, n_scored, n_skipped);
    for (int g = 0; g < 3; g++)
      if (grp_n[g] > 0)
        printf ("  %-24s n=%-3d ours %.4f   auto.arima %.4f\n", grp_name[g], grp_n[g],
                grp_ours[g] / grp_n[g], grp_r[g] / grp_n[g]);
    printf ("  mean MASE: ours %.4f   auto.arima %.4f   ratio ours/R %.4f   (goal <= 1.05: %s)\n",
            sum_ours / n_scored, sum_r / n_scored, sum_ours / sum_r,
            sum_ours / sum_r <= 1.05 ? "met" : "NOT met");
    printf ("  ours at least as good on %d of %d series\n", wins, n_scored);

    for (guint i = 0; i < series->len; i++)
      n_r += ((Series *) series->pdata[i])->r_ok;
    if (n_r == 0) {
      printf ("no auto.arima result: no speed comparison\n");
      return 1;
    }
    c_ours = time_ours (klass, series, -1, 3.0, &t_ours, &rounds);
    printf ("\nSpeed (auto order fit + %d-step forecast, the same %u series R finished, one thread;\n"
            "       R timed inside R with proc.time around each fit, R start-up excluded):\n", HOLDOUT, n_r);
    printf ("  ours:       %9.1f forecasts/s wall, %9.1f per CPU-second (%.3f ms CPU each, %d rounds)\n",
            n_r / t_ours, n_r / c_ours, 1e3 * c_ours / n_r, rounds);
    printf ("  auto.arima: %9.3f forecasts/s wall, %9.3f per CPU-second (%.1f ms CPU each, %u series)\n",
            n_r / r_elapsed, n_r / r_cpu, 1e3 * r_cpu / n_r, n_r);
    {
      double up_wall = r_elapsed / t_ours, up_cpu = r_cpu / c_ours;
      printf ("  speed-up ours/R per forecast: %.0fx wall, %.0fx CPU (goal >= 10x: %s)\n", up_wall, up_cpu,
              (isnan (up_cpu) ? up_wall : up_cpu) >= 10.0 ? "met" : "NOT met");
    }
    /* per group: the seasonal hourly fits are where auto.arima spends its time */
    for (int g = 0; g < 3; g++) {
      double r_g = 0.0, c_g;
      guint n_g = 0;
      for (guint i = 0; i < series->len; i++) {
        Series *s = series->pdata[i];
        if (s->r_ok && series_group (s) == g) {
          r_g += s->r_cpu_s;
          n_g++;
        }
      }
      if (n_g == 0)
        continue;
      c_g = time_ours (klass, series, g, 1.0, NULL, NULL);
      printf ("  %-24s n=%-3u ours %.3f ms CPU, auto.arima %.1f ms CPU per forecast: %.0fx\n", grp_name[g], n_g,
              1e3 * c_g / n_g, 1e3 * r_g / n_g, r_g / c_g);
    }
  }

  /* The daemon's case: a week of 5-minute samples. */
  if (weeks->len > 0) {
    double t_start = now_sec (), c_start = cpu_sec (), t, c;
    int rounds = 0;
    do {
      for (guint i = 0; i < weeks->len; i++) {
        GArray *wk = weeks->pdata[i];
        AmigoSeries hist = { .step_usec = 5 * AMIGO_USEC_PER_MIN, .n_values = wk->len,
                             .values = (const double *) (const void *) wk->data };
        AmigoModelOptions opts = { 0 };
        double mean[HOLDOUT], upper[HOLDOUT];
        g_autoptr (AmigoModel) m = amigo_model_fit (klass, &hist, &opts, NULL);
        if (m != NULL)
          amigo_model_forecast (m, HOLDOUT, 0.95, mean, NULL, upper, NULL);
      }
      rounds++;
    } while (now_sec () - t_start < 3.0);
    t = (now_sec () - t_start) / rounds / weeks->len;
    c = (cpu_sec () - c_start) / rounds / weeks->len;
    printf ("\nDaemon case: one week at 5 min (2016 samples, season 288 derived), %u series:\n", weeks->len);
    printf ("  %.3f ms CPU (%.3f ms wall) per fit + 12-step forecast; 5 resources of one VM: %.2f ms CPU\n",
            1e3 * c, 1e3 * t, 5e3 * c);
  }
  return 0;
}
