/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-classifier.h"

#include <math.h>

#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-reservation.h"

static const struct {
  const char *name;
  int priority;
  AmigoWorkloadPrior prior;
} class_table[] = {
  /* Priority: a database stalls everything built on it, a web server loses
   * users it cannot get back; unknown sits in the middle (we do not know
   * what breaks); machine learning and batch work can wait or checkpoint;
   * an idle VM notices nothing. */
  /* Prior: the estimator and interval inflation used before a series can be
   * backtested. Steady classes (database) take the day's peak with a small
   * inflation; on/off classes (batch, unknown) take the day's peak with a
   * wide one, because a job can start any time; classes whose level moves
   * slowly (web, ML) follow the recent peak. */
  [AMIGO_WORKLOAD_CLASS_UNKNOWN] = { "unknown", 3, { "conformal_day_peak", 3.0 } },
  [AMIGO_WORKLOAD_CLASS_IDLE] = { "idle", 0, { "conformal_day_peak", 2.0 } },
  [AMIGO_WORKLOAD_CLASS_DATABASE] = { "database", 5, { "conformal_day_peak", 1.0 } },
  [AMIGO_WORKLOAD_CLASS_WEB_SERVER] = { "web_server", 4, { "conformal_recent", 2.0 } },
  [AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING] = { "machine_learning", 2, { "conformal_recent", 1.5 } },
  [AMIGO_WORKLOAD_CLASS_BATCH] = { "batch", 1, { "conformal_day_peak", 3.0 } },
};

G_STATIC_ASSERT (G_N_ELEMENTS (class_table) == AMIGO_WORKLOAD_CLASS_LAST);

const char *
amigo_workload_class_to_string (AmigoWorkloadClass klass)
{
  if (klass >= AMIGO_WORKLOAD_CLASS_LAST)
    return NULL;
  return class_table[klass].name;
}

AMIGO_ENUM_IMPL_FROM_STRING (amigo_workload_class, AmigoWorkloadClass, AMIGO_ENUM_TABLE (class_table, name))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_workload_class, AMIGO_ENUM_TABLE (class_table, name))

char *
amigo_workload_class_join_labels (void)
{
  return amigo_enum_join_names_skip (AMIGO_ENUM_TABLE (class_table, name), NULL, AMIGO_WORKLOAD_CLASS_UNKNOWN);
}

int
amigo_workload_class_priority (AmigoWorkloadClass klass)
{
  if (klass >= AMIGO_WORKLOAD_CLASS_LAST)
    klass = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  return class_table[klass].priority;
}

const AmigoWorkloadPrior *
amigo_workload_class_prior (AmigoWorkloadClass klass)
{
  if (klass >= AMIGO_WORKLOAD_CLASS_LAST)
    klass = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  return &class_table[klass].prior;
}

/* Linear ramp from 0 at @lo to 1 at @hi: soft thresholds, so that a value
 * just beside a limit does not flip the class with full confidence. */
static double
ramp (double x, double lo, double hi)
{
  if (isnan (x))
    return 0.0;
  return CLAMP ((x - lo) / (hi - lo), 0.0, 1.0);
}

static double
series_mean (const AmigoSeries *s, gsize *ret_n)
{
  double sum = 0.0;
  gsize n = 0;

  for (gsize i = 0; i < s->n_values; i++) {
    if (isfinite (s->values[i])) {
      sum += s->values[i];
      n++;
    }
  }
  if (ret_n != NULL)
    *ret_n = n;
  return n > 0 ? sum / n : NAN;
}

static gboolean
check_series (const AmigoSeries *s, AmigoResource r, GError **error)
{
  if (s->n_values == 0)
    return TRUE;
  if (s->values == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series '%s' has %" G_GSIZE_FORMAT " values but no data",
                 amigo_resource_to_string (r), s->n_values);
    return FALSE;
  }
  if (s->step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series '%s' step must be positive, got %" G_GINT64_FORMAT " us",
                 amigo_resource_to_string (r), s->step_usec);
    return FALSE;
  }
  return TRUE;
}

static void
cpu_features (const AmigoSeries *s, AmigoWorkloadFeatures *f)
{
  gsize n = 0;
  double mean = series_mean (s, &n);
  double peak = 0.0, var = 0.0;
  gsize low = 0, high = 0;
  gsize lag;

  if (n < 2)
    return;
  for (gsize i = 0; i < s->n_values; i++) {
    double v = s->values[i];
    if (!isfinite (v))
      continue;
    peak = MAX (peak, v);
    var += (v - mean) * (v - mean);
  }
  var /= n - 1;
  f->cpu_mean_cores = mean;
  f->cpu_cv = mean > 0 ? sqrt (var) / mean : 0.0;
  f->cpu_level = peak > 0 ? mean / peak : 0.0;
  for (gsize i = 0; i < s->n_values; i++) {
    double v = s->values[i];
    if (!isfinite (v) || peak <= 0)
      continue;
    if (v < 0.1 * peak)
      low++;
    else if (v > 0.7 * peak)
      high++;
  }
  f->cpu_busy_fraction = peak > 0 ? (double) high / n : 0.0;
  /* On/off: nearly all samples sit at an extreme AND both extremes are
   * populated (a series that is always high is sustained, not on/off). */
  f->cpu_bimodality = (double) (low + high) / n *
                      ramp (MIN ((double) low, (double) high) / n, 0.0, 0.2);

  lag = (gsize) (AMIGO_USEC_PER_DAY / s->step_usec);
  if (lag > 0 && s->n_values >= 2 * lag && var > 0) {
    double num = 0.0;
    gsize m = 0;
    for (gsize i = lag; i < s->n_values; i++) {
      double a = s->values[i], b = s->values[i - lag];
      if (!isfinite (a) || !isfinite (b))
        continue;
      num += (a - mean) * (b - mean);
      m++;
    }
    if (m > 0)
      f->cpu_daily_acf = num / m / (var * (n - 1) / n);
  }
}

gboolean
amigo_classifier_classify (const AmigoVmHistory *history,
                           AmigoClassification *ret,
                           GError **error)
{
  AmigoWorkloadFeatures f = {
    .cpu_level = NAN, .cpu_cv = NAN, .cpu_daily_acf = NAN, .cpu_bimodality = NAN,
    .cpu_busy_fraction = NAN, .cpu_mean_cores = NAN, .network_per_cpu = NAN,
    .memory_per_cpu = NAN, .dirty_rate_mib_s = NAN, .gpu_memory_gib = NAN,
  };
  double score[AMIGO_WORKLOAD_CLASS_LAST] = { 0 };
  double net, mem, gpu, steady, best_score = 0.0, second = 0.0;
  AmigoWorkloadClass best = AMIGO_WORKLOAD_CLASS_UNKNOWN;

  if (history == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no history to classify");
    return FALSE;
  }
  if (history->label >= AMIGO_WORKLOAD_CLASS_LAST) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "workload label %d is not a known class", (int) history->label);
    return FALSE;
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (!check_series (&history->resources[r], r, error))
      return FALSE;
  }

  cpu_features (&history->resources[AMIGO_RESOURCE_CPU], &f);
  net = series_mean (&history->resources[AMIGO_RESOURCE_NETWORK], NULL);
  mem = series_mean (&history->resources[AMIGO_RESOURCE_MEMORY], NULL);
  gpu = series_mean (&history->resources[AMIGO_RESOURCE_GPU_MEMORY], NULL);
  /* Ratios per core in use; a floor of 1/100 core keeps them finite for an
   * idle VM (which the idle rule catches first anyway). */
  if (isfinite (f.cpu_mean_cores)) {
    double cores = MAX (f.cpu_mean_cores, 0.01);
    if (isfinite (net))
      f.network_per_cpu = net / cores;
    if (isfinite (mem))
      f.memory_per_cpu = mem / cores;
  }
  if (isfinite (history->dirty_rate_bytes_s) && history->dirty_rate_bytes_s >= 0)
    f.dirty_rate_mib_s = history->dirty_rate_bytes_s / AMIGO_BYTES_PER_MIB;
  f.gpu_memory_gib = gpu;

  if (history->label != AMIGO_WORKLOAD_CLASS_UNKNOWN) {
    ret->klass = history->label;
    ret->confidence = 1.0;
    ret->features = f;
    return TRUE;
  }

  if (isfinite (f.cpu_mean_cores)) {
    /* Idle: under 2 % of one core on average is noise from the guest kernel;
     * above 10 % something is running. */
    score[AMIGO_WORKLOAD_CLASS_IDLE] = 1.0 - ramp (f.cpu_mean_cores, 0.02, 0.10);
    /* Batch: jobs run at full speed then stop, so the samples pile up at
     * the two extremes of the range. */
    score[AMIGO_WORKLOAD_CLASS_BATCH] = ramp (f.cpu_bimodality, 0.6, 0.85);
    /* Machine learning: training keeps whole cores near their peak for
     * hours: most samples in the busy band, a mean close to the peak, at
     * least one core's worth of work; it is compute-bound, so network and
     * memory per core stay moderate (a cache-heavy steady VM is a
     * database, not a trainer). */
    score[AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING] =
      ramp (f.cpu_busy_fraction, 0.5, 0.8) * ramp (f.cpu_level, 0.5, 0.8) *
      ramp (f.cpu_mean_cores, 0.5, 1.0) *
      (1.0 - ramp (f.network_per_cpu, 20.0, 100.0)) *
      (1.0 - ramp (f.memory_per_cpu, 2.0, 8.0));
    /* Web server: demand follows people (a daily cycle) and each unit of
     * CPU serves requests that cross the network. */
    score[AMIGO_WORKLOAD_CLASS_WEB_SERVER] =
      MAX (ramp (f.cpu_daily_acf, 0.3, 0.6), ramp (f.network_per_cpu, 20.0, 100.0)) *
      (1.0 - score[AMIGO_WORKLOAD_CLASS_BATCH]);
    /* Database: caches make memory per core large, writes make the dirty
     * rate high, and load is steady (low CV). */
    steady = 1.0 - ramp (f.cpu_cv, 0.5, 1.0);
    score[AMIGO_WORKLOAD_CLASS_DATABASE] =
      MAX (ramp (f.memory_per_cpu, 2.0, 8.0), ramp (f.dirty_rate_mib_s, 20.0, 100.0)) * steady;
  }
  /* GPU memory in use is the strongest sign of learning workloads. */
  if (isfinite (gpu))
    score[AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING] =
      MAX (score[AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING], 0.9 * ramp (gpu, 0.1, 1.0));

  /* An idle VM's ratios mean nothing: idle wins once it is likely. */
  if (score[AMIGO_WORKLOAD_CLASS_IDLE] >= 0.5) {
    best = AMIGO_WORKLOAD_CLASS_IDLE;
    best_score = score[AMIGO_WORKLOAD_CLASS_IDLE];
  } else {
    for (guint c = 1; c < AMIGO_WORKLOAD_CLASS_LAST; c++) {
      if (score[c] > best_score) {
        second = best_score;
        best_score = score[c];
        best = c;
      } else if (score[c] > second) {
        second = score[c];
      }
    }
    /* Weak evidence is no evidence. */
    if (best_score < 0.5)
      best = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  }

  ret->klass = best;
  /* Confident when the winner is strong and clearly ahead of the runner-up. */
  ret->confidence = best == AMIGO_WORKLOAD_CLASS_UNKNOWN ? 1.0 - best_score
                                                         : best_score * (0.5 + 0.5 * (best_score - second));
  ret->features = f;
  g_debug ("classified as '%s' (confidence %.2f)", class_table[best].name, ret->confidence);
  return TRUE;
}
