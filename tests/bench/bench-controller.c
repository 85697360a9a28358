/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-controller: the PID allocation loop (src/allocation/amigo-pid.c)
 * against a static reservation and a proportional "usage x 1.2" rule, each
 * driven through a model of the cgroup: the domain uses
 * min(demand, allocation), and is throttled (pressure = 1 - allocation /
 * demand, the share of its demand it could not run) whenever its demand is
 * above its allocation. A policy sees only that censored usage and pressure.
 *
 * Series, one tick = 5 s:
 * - synthetic: steps, ramps and on/off bursts, 6 hours each, with 3 %
 *   multiplicative noise;
 * - Bitbrains 2013-8 CPU (cores), each 5-min sample interpolated linearly to
 *   60 ticks plus the same noise; and again with each sample held for its
 *   60 ticks (a step every 5 minutes, harsher than any real guest whose
 *   5-min average moves). The VMs are split by id: even ids tune the gains
 *   (interpolated only), odd ids only report. Without ../shared/data this part is skipped
 *   (exit 77 after the synthetic table).
 *
 * Figures per policy, over all ticks of a set:
 * - under: share of ticks with allocation < demand; worst VM: the same for
 *   the series of the set where it is highest;
 * - over: sum(allocation) / sum(demand) - 1, the mean over-allocation
 *   (a ratio of sums, because a per-tick ratio is undefined at zero demand);
 * - settle: mean time after a step of the synthetic step series until the
 *   allocation lies within [demand, 1.3 x demand] and stays there until the
 *   next step ("-" where not measured, ">" if it never did);
 * - changes: allocation writes per hour.
 * The static reservation is the peak of the series' first day (the whole
 * series for the 6-hour synthetic ones).
 *
 * Usage: bench-controller [DATA_DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-pid.h"
#include "amigo-time.h"
#include "amigo-trace.h"

#define TICK_USEC (5 * AMIGO_USEC_PER_SEC)
#define TICKS_PER_SAMPLE 60
#define TICKS_PER_DAY (AMIGO_USEC_PER_DAY / TICK_USEC)
#define NOISE 0.03
#define SETTLE_BAND 1.3
#define MIN_ALLOC 0.01

typedef enum { POLICY_PID, POLICY_STATIC, POLICY_PROP, POLICY_LAST } Policy;
static const char *const policy_names[] = { "pid", "static", "usage x 1.2" };

typedef struct {
  double under_ticks, ticks, sum_alloc, sum_demand, changes;
  double settle_sum_sec;
  guint settle_n, settle_never;
} Score;

typedef struct {
  char *name;
  GArray *demand;   /* double per tick */
  GArray *steps;    /* guint tick indices where a step starts, or empty */
} Series;

static void
series_free (Series *s)
{
  g_array_unref (s->demand);
  g_array_unref (s->steps);
  g_free (s->name);
  g_free (s);
}

static Series *
series_new (const char *name)
{
  Series *s = g_new0 (Series, 1);

  s->name = g_strdup (name);
  s->demand = g_array_new (FALSE, FALSE, sizeof (double));
  s->steps = g_array_new (FALSE, FALSE, sizeof (guint));
  return s;
}

static void
push (Series *s, GRand *rand, double level)
{
  double v = MAX (0.0, level * (1.0 + NOISE * g_rand_double_range (rand, -1.0, 1.0)));

  g_array_append_val (s->demand, v);
}

/* 6 hours: a level every 10 minutes */
static Series *
synthetic_steps (GRand *rand)
{
  static const double levels[] = { 1, 3, 2, 6, 0.5, 4, 1.5, 8, 2, 5, 0.8, 3 };
  Series *s = series_new ("steps");

  for (guint k = 0; k < 36; k++) {
    guint at = s->demand->len;
    g_array_append_val (s->steps, at);
    for (guint t = 0; t < 120; t++)
      push (s, rand, levels[k % G_N_ELEMENTS (levels)]);
  }
  return s;
}

/* 0.5 -> 8 cores in 30 min and back, six times */
static Series *
synthetic_ramps (GRand *rand)
{
  Series *s = series_new ("ramps");

  for (guint k = 0; k < 6; k++)
    for (guint t = 0; t < 720; t++)
      push (s, rand, 0.5 + 7.5 * (t < 360 ? t / 360.0 : (720 - t) / 360.0));
  return s;
}

/* idle 0.2 core, a 4-core burst of 2 min every 10 min */
static Series *
synthetic_bursts (GRand *rand)
{
  Series *s = series_new ("on/off");

  for (guint k = 0; k < 36; k++)
    for (guint t = 0; t < 120; t++)
      push (s, rand, t < 96 ? 0.2 : 4.0);
  return s;
}

/* 5-min samples interpolated linearly to ticks, or with @hold each held
 * for its 60 ticks (every sample boundary a step); a missing sample holds
 * the last known value. */
static Series *
trace_series (const char *path, GRand *rand, gboolean hold)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = amigo_trace_load (path, &error);
  g_autofree char *base = g_path_get_basename (path);
  Series *s;
  const double *v;
  double last = NAN;

  if (trace == NULL || !amigo_trace_has_resource (trace, AMIGO_RESOURCE_CPU)) {
    g_printerr ("skipping '%s': %s\n", path, error != NULL ? error->message : "no CPU column");
    return NULL;
  }
  s = series_new (base);
  v = trace->values[AMIGO_RESOURCE_CPU];
  for (gsize i = 0; i + 1 < trace->n_values; i++) {
    double a = isnan (v[i]) ? last : v[i];
    double b = isnan (v[i + 1]) ? a : v[i + 1];
    if (isnan (a))
      continue;
    last = a;
    for (guint t = 0; t < TICKS_PER_SAMPLE; t++)
      push (s, rand, hold ? a : a + (b - a) * t / TICKS_PER_SAMPLE);
  }
  return s;
}

static double
first_day_peak (const Series *s)
{
  double peak = 0;

  for (guint t = 0; t < s->demand->len && t < TICKS_PER_DAY; t++)
    peak = MAX (peak, g_array_index (s->demand, double, t));
  return peak;
}

/* The defaults, with a floor of 0.01 core and a ceiling of 64;
 * AMIGO_BENCH_PID="headroom,release_scale,kp,ki,deadband" overrides them
 * for tuning (on the synthetic and even-id series only). */
static void
pid_params (AmigoPidParams *p)
{
  const char *env = g_getenv ("AMIGO_BENCH_PID");

  amigo_pid_params_init (p, MIN_ALLOC, 64.0);
  if (env != NULL) {
    g_auto(GStrv) f = g_strsplit (env, ",", -1);
    if (g_strv_length (f) == 5) {
      p->phase[AMIGO_PID_PHASE_STEADY].headroom = g_ascii_strtod (f[0], NULL);
      p->release_scale = g_ascii_strtod (f[1], NULL);
      p->kp = g_ascii_strtod (f[2], NULL);
      p->ki = g_ascii_strtod (f[3], NULL);
      p->deadband = g_ascii_strtod (f[4], NULL);
    }
  }
}

static void
run (const Series *s, Policy policy, Score *score)
{
  AmigoPidParams params;
  g_autoptr(AmigoPid) pid = NULL;
  const double *d = (const double *) s->demand->data;
  guint n = s->demand->len;
  double alloc, peak = first_day_peak (s);
  g_autofree double *allocs = g_new (double, n);

  pid_params (&params);
  alloc = policy == POLICY_STATIC ? peak : d[0] * 1.2;
  pid = amigo_pid_new (&params, alloc, 0, NULL);
  g_assert (pid != NULL);

  for (guint t = 0; t < n; t++) {
    double seen = MIN (d[t], alloc);
    double pressure = d[t] > alloc ? 1.0 - alloc / d[t] : 0.0;
    double next = alloc;

    allocs[t] = alloc;
    score->ticks++;
    score->under_ticks += alloc < d[t];
    score->sum_alloc += alloc;
    score->sum_demand += d[t];

    switch (policy) {
    case POLICY_PID: {
      AmigoPidInput in = { .usage = seen, .pressure = pressure, .phase = AMIGO_PID_PHASE_STEADY };
      next = amigo_pid_update (pid, &in, (gint64) (t + 1) * TICK_USEC, NULL);
      break;
    }
    case POLICY_STATIC:
      break;
    case POLICY_PROP:
      next = MAX (MIN_ALLOC, 1.2 * seen);
      break;
    default:
      g_assert_not_reached ();
    }
    score->changes += next != alloc;
    alloc = next;
  }

  for (guint k = 0; k < s->steps->len; k++) {
    guint from = g_array_index (s->steps, guint, k);
    guint to = k + 1 < s->steps->len ? g_array_index (s->steps, guint, k + 1) : n;
    guint last_out = from; /* first tick after the last one out of band */
    gboolean ever_in = FALSE;

    for (guint t = from; t < to; t++) {
      gboolean in_band = allocs[t] >= d[t] && allocs[t] <= SETTLE_BAND * d[t];
      if (!in_band)
        last_out = t + 1;
      ever_in |= in_band;
    }
    if (!ever_in || last_out >= to) {
      score->settle_never++;
    } else {
      score->settle_sum_sec += (double) (last_out - from) * TICK_USEC / AMIGO_USEC_PER_SEC;
      score->settle_n++;
    }
  }
}

static void
print_row (const char *set, const char *policy, const Score *sc, double worst_under)
{
  double hours = sc->ticks * TICK_USEC / (double) AMIGO_USEC_PER_HOUR;
  char settle[32];

  if (sc->settle_n + sc->settle_never == 0)
    g_strlcpy (settle, "-", sizeof settle);
  else if (sc->settle_never > 0)
    g_snprintf (settle, sizeof settle, ">(%u never)", sc->settle_never);
  else
    g_snprintf (settle, sizeof settle, "%.0f s", sc->settle_sum_sec / sc->settle_n);
  printf ("| %-22s | %-12s | %7.2f %% | %8.2f %% | %7.1f %% | %-12s | %9.1f |\n", set, policy,
          100.0 * sc->under_ticks / sc->ticks, 100.0 * worst_under,
          100.0 * (sc->sum_alloc / sc->sum_demand - 1.0), settle, sc->changes / hours);
}

static void
report (const char *set, GPtrArray *series)
{
  for (guint p = 0; p < POLICY_LAST; p++) {
    Score sc = { 0 };
    double worst = 0;

    for (guint i = 0; i < series->len; i++) {
      Score one = { 0 };

      run (series->pdata[i], p, &one);
      worst = MAX (worst, one.under_ticks / one.ticks);
      sc.under_ticks += one.under_ticks;
      sc.ticks += one.ticks;
      sc.sum_alloc += one.sum_alloc;
      sc.sum_demand += one.sum_demand;
      sc.changes += one.changes;
      sc.settle_sum_sec += one.settle_sum_sec;
      sc.settle_n += one.settle_n;
      sc.settle_never += one.settle_never;
    }
    print_row (set, policy_names[p], &sc, worst);
  }
}

int
main (int argc, char **argv)
{
  const char *data = argc > 1 ? argv[1] : g_getenv ("AMIGO_SHARED_DATA");
  g_autofree char *dir = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261204);
  g_autoptr(GPtrArray) synth = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) tune_ids = g_string_new (NULL);
  g_autoptr(GString) check_ids = g_string_new (NULL);

  if (data == NULL)
    data = AMIGO_SHARED_DATA;
  dir = g_build_filename (data, "bitbrains-rnd", "2013-8", NULL);

  printf ("command: %s%s%s\n", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
  printf ("tick 5 s, noise %.0f %%, under = allocation < demand, over = sum(alloc)/sum(demand) - 1\n\n",
          100 * NOISE);
  printf ("| %-22s | %-12s | %9s | %10s | %9s | %-12s | %9s |\n", "set", "policy", "under", "worst VM", "over",
          "settle", "changes/h");
  printf ("|------------------------|--------------|-----------|------------|-----------|--------------|-----------|\n");

  g_ptr_array_add (synth, synthetic_steps (rand));
  g_ptr_array_add (synth, synthetic_ramps (rand));
  g_ptr_array_add (synth, synthetic_bursts (rand));
  for (guint i = 0; i < synth->len; i++) {
    g_autoptr(GPtrArray) one = g_ptr_array_new ();
    g_autofree char *set = g_strdup_printf ("synthetic %s", ((Series *) synth->pdata[i])->name);
    g_ptr_array_add (one, synth->pdata[i]);
    report (set, one);
  }

  if (!amigo_trace_collect_files (dir, files, NULL) || files->len == 0) {
    printf ("\nno traces in '%s': trace part skipped\n", dir);
    return 77;
  }
  for (int hold = 0; hold <= 1; hold++) {
    g_autoptr(GPtrArray) tune = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);
    g_autoptr(GPtrArray) check = g_ptr_array_new_with_free_func ((GDestroyNotify) series_free);

    g_string_truncate (tune_ids, 0);
    g_string_truncate (check_ids, 0);
    for (guint i = 0; i < files->len; i++) {
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      guint64 id = g_ascii_strtoull (base, NULL, 10);
      Series *s = trace_series (files->pdata[i], rand, hold);

      if (s == NULL)
        continue;
      g_string_append_printf (id % 2 == 0 ? tune_ids : check_ids, " %" G_GUINT64_FORMAT, id);
      g_ptr_array_add (id % 2 == 0 ? tune : check, s);
    }
    report (hold ? "bitbrains tune, held" : "bitbrains tune (even)", tune);
    report (hold ? "bitbrains check, held" : "bitbrains check (odd)", check);
  }
  printf ("\ntune ids:%s\ncheck ids:%s\n", tune_ids->str, check_ids->str);
  return 0;
}
