/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LSTM training and forecast time on one week of 5-minute data (2016
 * points), and fit + forecast time of the baselines on the same series.
 * Prints the command it ran and wall-clock and CPU figures (the machine may
 * be shared: CPU time is the figure to compare).
 *
 *   meson test -C build --suite bench lstm -v
 *   or: build/tests/bench/bench-lstm [repetitions]
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>
#include <glib/gstdio.h>

#include "amigo-model-lstm.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"

#define N_POINTS 2016
#define HORIZON 12

static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static double
wall_ms (void)
{
  return (double) g_get_monotonic_time () / 1e3;
}

/* a week of a daily pattern (busy by day), a slow trend and noise */
static void
make_series (double *v, gsize n)
{
  guint64 s = 2016;

  for (gsize i = 0; i < n; i++) {
    double day = (double) (i % 288) / 288.0;
    double u;

    s = s * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
    u = (double) (s >> 11) / 9007199254740992.0 - 0.5;
    v[i] = 1.5 + 1.0 * exp (-pow ((day - 0.55) / 0.15, 2.0)) + 0.0002 * (double) i + 0.4 * u;
  }
}

/* CPU cores (usage MHz / 1000, as the trace gives no per-core clock) of a
 * Bitbrains "Rnd" file; NULL if unreadable. */
static double *
read_bitbrains_cpu (const char *path, gsize *ret_n)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *a;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  a = g_array_new (FALSE, FALSE, sizeof (double));
  for (gsize i = 1; lines[i] != NULL; i++) {
    g_auto(GStrv) f = g_strsplit (lines[i], ";", -1);
    double mhz;

    if (g_strv_length (f) < 4)
      continue;
    mhz = g_ascii_strtod (g_strstrip (f[3]), NULL) / 1000.0;
    g_array_append_val (a, mhz);
  }
  *ret_n = a->len;
  return (double *) g_array_free (a, FALSE);
}

/* Train on the first week (2016 points) of each Bitbrains 2013-8 VM, then
 * forecast 12 steps ahead from origins every hour over the next two days
 * (fit_from with 0 epochs: no retraining). Prints the MAE at h = 12 of lstm
 * and of last, and their geometric-mean ratio over the VMs where both are
 * non-zero. */
static void
bench_real_traces (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("AMIGO_SHARED_DATA") != NULL ? g_getenv ("AMIGO_SHARED_DATA")
                                                                                     : AMIGO_SHARED_DATA,
                                           "bitbrains-rnd", "2013-8", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  double log_ratio = 0.0, c0 = cpu_ms ();
  int n_ratio = 0, n_vm = 0;

  if (d == NULL) {
    printf ("real traces: '%s' not found, skipped\n", dir);
    return;
  }
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autofree double *v = NULL;
    gsize n = 0;
    AmigoModelOptions o = { .resource = AMIGO_RESOURCE_CPU, .seed = 1 };
    AmigoSeries s = { 1375308000 * AMIGO_USEC_PER_SEC, 5 * AMIGO_USEC_PER_MIN, N_POINTS, NULL };
    g_autoptr(AmigoModel) m = NULL;
    double mae_lstm = 0.0, mae_last = 0.0;
    int cnt = 0;

    v = read_bitbrains_cpu (path, &n);
    if (v == NULL || n < N_POINTS + 576)
      continue;
    s.values = v;
    m = amigo_model_fit (amigo_model_class_lookup ("lstm"), &s, &o, NULL);
    if (m == NULL)
      continue;
    for (gsize org = N_POINTS; org + HORIZON <= N_POINTS + 576; org += 12, cnt++) {
      AmigoSeries h = s;
      g_autoptr(AmigoModel) w = NULL;
      g_autoptr(AmigoModel) l = NULL;
      double mm[HORIZON], uu[HORIZON];

      h.n_values = org;
      w = amigo_model_lstm_fit_from (m, &h, &o, 0, NULL);
      l = amigo_model_fit (amigo_model_class_lookup ("last"), &h, &o, NULL);
      amigo_model_forecast (w, HORIZON, 0.95, mm, NULL, uu, NULL);
      mae_lstm += fabs (mm[HORIZON - 1] - v[org + HORIZON - 1]);
      amigo_model_forecast (l, HORIZON, 0.95, mm, NULL, uu, NULL);
      mae_last += fabs (mm[HORIZON - 1] - v[org + HORIZON - 1]);
    }
    n_vm++;
    printf ("  %-8s MAE h=%d: lstm %.4f, last %.4f cores\n", name, HORIZON, mae_lstm / cnt, mae_last / cnt);
    if (mae_lstm > 0.0 && mae_last > 0.0) {
      log_ratio += log (mae_lstm / mae_last);
      n_ratio++;
    }
  }
  if (n_ratio > 0)
    printf ("real traces (Bitbrains 2013-8 CPU, %d VMs): MAE lstm / last, geometric mean over %d VMs: %.3f "
            "(%.1f s CPU)\n", n_vm, n_ratio, exp (log_ratio / n_ratio), (cpu_ms () - c0) / 1e3);
}

int
main (int argc, char **argv)
{
  static double v[N_POINTS];
  AmigoSeries s = { 1700000000 * AMIGO_USEC_PER_SEC, 5 * AMIGO_USEC_PER_MIN, N_POINTS, v };
  AmigoModelOptions opts = { .resource = AMIGO_RESOURCE_CPU, .seed = 1 };
  int reps = argc > 1 ? atoi (argv[1]) : 5;
  double mean[HORIZON], lower[HORIZON], upper[HORIZON];
  double c0, w0, train_cpu = 0, train_wall = 0, best_cpu = INFINITY;
  const char *baselines[] = { "last", "seasonal_naive", "peak", "vpa" };
  g_autofree char *cmd = g_strjoinv (" ", argv);
  g_autofree char *weights = g_build_filename (g_get_tmp_dir (), "amigo-bench-lstm.weights", NULL);
  AmigoModelLstmConfig config;
  Dl_info info = { 0 };
  int n_fc = 2000;

  reps = MAX (reps, 1);
  make_series (v, N_POINTS);
  amigo_model_lstm_config_init (&config);
  dladdr ((void *) cblas_sgemm, &info);
  printf ("command: %s\n", cmd);
  printf ("cblas_sgemm from: %s\n", info.dli_fname != NULL ? info.dli_fname : "?");
  printf ("series: %d points, 5 min step, daily pattern + noise; horizon %d\n", N_POINTS, HORIZON);
  printf ("lstm: hidden %u, window %u, direct horizon %u, epochs %u, batch %u, bptt %u\n",
          config.hidden, config.window, config.horizon, config.epochs, config.batch, config.bptt);

  for (int r = 0; r < reps; r++) {
    g_autoptr(AmigoModel) m = NULL;
    double dc;

    c0 = cpu_ms ();
    w0 = wall_ms ();
    m = amigo_model_fit (amigo_model_class_lookup ("lstm"), &s, &opts, NULL);
    dc = cpu_ms () - c0;
    train_cpu += dc;
    train_wall += wall_ms () - w0;
    best_cpu = MIN (best_cpu, dc);
    g_assert (m != NULL);
  }
  printf ("lstm train (2016 points): %.1f ms CPU mean, %.1f ms CPU best, %.1f ms wall mean over %d runs\n",
          train_cpu / reps, best_cpu, train_wall / reps, reps);

  {
    g_autoptr(AmigoModel) m = amigo_model_fit (amigo_model_class_lookup ("lstm"), &s, &opts, NULL);
    g_autoptr(AmigoModel) loaded = NULL;
    double mae = 0.0;

    c0 = cpu_ms ();
    w0 = wall_ms ();
    for (int i = 0; i < n_fc; i++)
      amigo_model_forecast (m, HORIZON, 0.95, mean, lower, upper, NULL);
    printf ("lstm forecast (%d steps): %.1f us CPU, %.1f us wall per call (%d calls)\n", HORIZON,
            (cpu_ms () - c0) * 1e3 / n_fc, (wall_ms () - w0) * 1e3 / n_fc, n_fc);

    for (guint e = 0; e <= 2; e++) {
      g_autoptr(AmigoModel) w = NULL;

      c0 = cpu_ms ();
      w = amigo_model_lstm_fit_from (m, &s, &opts, e, NULL);
      printf ("lstm warm start, %u epoch(s): %.1f ms CPU\n", e, cpu_ms () - c0);
    }
    c0 = cpu_ms ();
    g_assert (amigo_model_lstm_save (m, weights, NULL));
    loaded = amigo_model_lstm_load (weights, NULL);
    g_assert (loaded != NULL);
    printf ("lstm save + load: %.2f ms CPU\n", cpu_ms () - c0);
    g_remove (weights);

    /* the last day lies in the windows the fit held out of training */
    {
      AmigoSeries head = s;
      g_autoptr(AmigoModel) h = NULL;
      g_autoptr(AmigoModel) l = NULL;
      double lm[HORIZON], lmae = 0.0;
      int n_orig = 0;

      for (gsize o = N_POINTS - 288; o + HORIZON <= N_POINTS; o += 24, n_orig++) {
        head.n_values = o;
        h = amigo_model_lstm_fit_from (m, &head, &opts, 0, NULL);
        l = amigo_model_fit (amigo_model_class_lookup ("last"), &head, &opts, NULL);
        amigo_model_forecast (h, HORIZON, 0.95, mean, NULL, upper, NULL);
        amigo_model_forecast (l, HORIZON, 0.95, lm, NULL, upper, NULL);
        mae += fabs (mean[HORIZON - 1] - v[o + HORIZON - 1]);
        lmae += fabs (lm[HORIZON - 1] - v[o + HORIZON - 1]);
        g_clear_pointer (&h, amigo_model_free);
        g_clear_pointer (&l, amigo_model_free);
      }
      printf ("MAE at h=%d over the last day (%d origins, held out of training): lstm %.3f, last %.3f\n",
              HORIZON, n_orig, mae / n_orig, lmae / n_orig);
    }
  }

  for (gsize b = 0; b < G_N_ELEMENTS (baselines); b++) {
    for (int res = 0; res < 2; res++) {
      AmigoModelOptions o = { .resource = res == 0 ? AMIGO_RESOURCE_CPU : AMIGO_RESOURCE_MEMORY };
      int n_rep = 2000;

      if (res == 1 && g_strcmp0 (baselines[b], "vpa") != 0)
        continue;
      c0 = cpu_ms ();
      w0 = wall_ms ();
      for (int i = 0; i < n_rep; i++) {
        g_autoptr(AmigoModel) m = amigo_model_fit (amigo_model_class_lookup (baselines[b]), &s, &o, NULL);
        amigo_model_forecast (m, HORIZON, 0.95, mean, lower, upper, NULL);
      }
      printf ("%s%s fit + forecast (%d points, %d steps): %.1f us CPU, %.1f us wall\n", baselines[b],
              res == 1 ? " (memory)" : (g_strcmp0 (baselines[b], "vpa") == 0 ? " (cpu)" : ""),
              N_POINTS, HORIZON, (cpu_ms () - c0) * 1e3 / n_rep, (wall_ms () - w0) * 1e3 / n_rep);
    }
  }
  bench_real_traces ();
  return 0;
}
