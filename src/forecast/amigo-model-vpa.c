/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "vpa": the target recommendation of the Kubernetes Vertical Pod Autoscaler
 * recommender, computed from a series the way VPA computes it from its usage
 * samples (written from a reading of kubernetes/autoscaler
 * vertical-pod-autoscaler/pkg/recommender; differences are listed in
 * docs/forecast-models.md):
 *
 * - a histogram with exponentially growing buckets: bucket 0 covers
 *   [0, first), bucket i has width first * 1.05^i, so it starts at
 *   first * (1.05^i - 1) / 0.05; the last bucket starts at or above the
 *   maximum value and collects everything above it;
 * - decaying weights: a sample at time t adds 2^((t - ref) / 24 h) to its
 *   bucket, so a sample one day older counts half;
 * - CPU (and any resource other than memory): every sample is added, with
 *   weight 1 (VPA uses the container's CPU request, at least 0.1);
 * - memory: one sample per 24 h interval, the interval's peak, timestamped
 *   with the interval's end; intervals start at the first sample of the last
 *   8 days, so at most 8 peaks count;
 * - the P90 of the histogram as VPA computes it: walk the buckets up from the
 *   first non-empty one until the running weight reaches 0.9 of the total
 *   and return the END of that bucket (the start of the last bucket if it is
 *   the last one); then add the 15% safety margin and apply VPA's minimum
 *   (25 millicores, 250 MiB).
 *
 * The forecast is flat: mean, lower and upper all equal the recommendation.
 */
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-model-vpa.h"
#include "amigo-time.h"

/* VPA keeps 8 days of history (its Prometheus history length and the memory
 * aggregation window). */
#define VPA_HISTORY_USEC (AMIGO_MODEL_VPA_MEMORY_INTERVAL_COUNT * AMIGO_MODEL_VPA_MEMORY_INTERVAL_USEC)
/* minSampleWeight 0.1 * 0.001 in VPA: a bucket below it counts as empty. */
#define VPA_EPSILON 1e-4
#define VPA_MAX_BUCKETS 512

typedef struct {
  double first;     /* size of bucket 0, in histogram units */
  double ratio;
  gsize n_buckets;
  double to_unit;   /* histogram unit -> series unit */
} VpaBuckets;

typedef struct {
  AmigoModel parent;
  double recommendation;
} AmigoModelVpa;

static void
vpa_buckets_init (VpaBuckets *b, AmigoResource resource)
{
  double max_value;

  b->ratio = 1.0 + AMIGO_MODEL_VPA_BUCKET_GROWTH;
  switch (resource) {
  case AMIGO_RESOURCE_MEMORY:
    /* VPA's memory histogram works in bytes, 10 MB first bucket, max 1 TB */
    b->first = AMIGO_MODEL_VPA_MEMORY_FIRST_BUCKET;
    max_value = 1e12;
    b->to_unit = 1.0 / AMIGO_BYTES_PER_GIB;
    break;
  case AMIGO_RESOURCE_CPU:
    b->first = AMIGO_MODEL_VPA_CPU_FIRST_BUCKET;
    max_value = 1000.0;
    b->to_unit = 1.0;
    break;
  case AMIGO_RESOURCE_NETWORK:
  case AMIGO_RESOURCE_DISK:
  case AMIGO_RESOURCE_GPU_MEMORY:
  case AMIGO_RESOURCE_LAST:
  default:
    /* like CPU, but Mbit/s and IOPS reach far beyond 1000 */
    b->first = AMIGO_MODEL_VPA_CPU_FIRST_BUCKET;
    max_value = 1e6;
    b->to_unit = 1.0;
    break;
  }
  b->n_buckets = (gsize) ceil (log (max_value * (b->ratio - 1.0) / b->first + 1.0) / log (b->ratio)) + 1;
  g_assert (b->n_buckets <= VPA_MAX_BUCKETS);
}

static gsize
vpa_find_bucket (const VpaBuckets *b, double value)
{
  double idx;

  if (value < b->first)
    return 0;
  idx = floor (log (value * (b->ratio - 1.0) / b->first + 1.0) / log (b->ratio));
  if (idx >= (double) (b->n_buckets - 1))
    return b->n_buckets - 1;
  return (gsize) idx;
}

static double
vpa_bucket_start (const VpaBuckets *b, gsize index)
{
  if (index == 0)
    return 0.0;
  return b->first * (pow (b->ratio, (double) index) - 1.0) / (b->ratio - 1.0);
}

double
amigo_model_vpa_bucket_start (AmigoResource resource, gsize index)
{
  VpaBuckets b;

  vpa_buckets_init (&b, resource);
  if (index >= b.n_buckets)
    return NAN;
  return vpa_bucket_start (&b, index) * b.to_unit;
}

typedef struct {
  const VpaBuckets *b;
  double weight[VPA_MAX_BUCKETS];
  double total;
  gsize min_bucket;
  gsize max_bucket;
  gint64 ref_usec;
} VpaHistogram;

static void
vpa_histogram_init (VpaHistogram *h, const VpaBuckets *b, gint64 first_sample_usec)
{
  memset (h->weight, 0, sizeof h->weight);
  h->b = b;
  h->total = 0.0;
  h->min_bucket = b->n_buckets - 1;
  h->max_bucket = 0;
  /* VPA moves its reference time to the first sample rounded to a multiple
   * of the half-life; only relative weights matter for the percentile. */
  h->ref_usec = (gint64) floor ((double) first_sample_usec / (double) AMIGO_MODEL_VPA_HALF_LIFE_USEC + 0.5) *
                AMIGO_MODEL_VPA_HALF_LIFE_USEC;
}

static void
vpa_histogram_add (VpaHistogram *h, double value, gint64 time_usec)
{
  double w = exp2 ((double) (time_usec - h->ref_usec) / (double) AMIGO_MODEL_VPA_HALF_LIFE_USEC);
  gsize bucket = vpa_find_bucket (h->b, value);

  h->weight[bucket] += w;
  h->total += w;
  if (h->weight[bucket] >= VPA_EPSILON) {
    h->min_bucket = MIN (h->min_bucket, bucket);
    h->max_bucket = MAX (h->max_bucket, bucket);
  }
}

static double
vpa_histogram_percentile (const VpaHistogram *h, double percentile)
{
  double partial = 0.0, threshold = percentile * h->total;
  gsize bucket;

  if (h->weight[h->min_bucket] < VPA_EPSILON)
    return 0.0;
  for (bucket = h->min_bucket; bucket < h->max_bucket; bucket++) {
    partial += h->weight[bucket];
    if (partial >= threshold)
      break;
  }
  if (bucket < h->b->n_buckets - 1)
    return vpa_bucket_start (h->b, bucket + 1);
  return vpa_bucket_start (h->b, bucket);
}

static AmigoModel *
vpa_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  AmigoModelVpa *self;
  VpaBuckets buckets;
  VpaHistogram histogram, *hist = &histogram;
  const double *v = history->values;
  gsize n = history->n_values;
  gsize first, n_added = 0;
  gint64 keep_steps, t0 = 0;
  double target, unit_scale;
  gboolean memory = options->resource == AMIGO_RESOURCE_MEMORY;

  if (!amigo_model_last_check_series (history, "vpa", NULL, error))
    return NULL;
  vpa_buckets_init (&buckets, options->resource);
  unit_scale = 1.0 / buckets.to_unit;

  /* the last 8 days: ceil(8 d / step) samples */
  keep_steps = (VPA_HISTORY_USEC + history->step_usec - 1) / history->step_usec;
  first = n > (gsize) keep_steps ? n - (gsize) keep_steps : 0;
  while (first < n && (isnan (v[first]) || v[first] < 0.0))
    first++;
  if (first == n) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "model 'vpa': no valid (non-missing, non-negative) sample in the last 8 days");
    return NULL;
  }
  t0 = history->start_usec + (gint64) first * history->step_usec;
  vpa_histogram_init (hist, &buckets, t0);

  if (!memory) {
    for (gsize i = first; i < n; i++) {
      if (isnan (v[i]) || v[i] < 0.0)
        continue; /* VPA drops invalid samples */
      vpa_histogram_add (hist, v[i] * unit_scale, history->start_usec + (gint64) i * history->step_usec);
      n_added++;
    }
  } else {
    /* one peak per 24 h interval [t0 + k d, t0 + (k + 1) d), added at the
     * interval's end */
    gint64 window = -1;
    double peak = 0.0;

    for (gsize i = first; i < n; i++) {
      gint64 t = history->start_usec + (gint64) i * history->step_usec;
      gint64 k = (t - t0) / AMIGO_MODEL_VPA_MEMORY_INTERVAL_USEC;

      if (isnan (v[i]) || v[i] < 0.0)
        continue;
      if (k != window) {
        if (window >= 0) {
          vpa_histogram_add (hist, peak * unit_scale, t0 + (window + 1) * AMIGO_MODEL_VPA_MEMORY_INTERVAL_USEC);
          n_added++;
        }
        window = k;
        peak = v[i];
      } else {
        peak = MAX (peak, v[i]);
      }
    }
    vpa_histogram_add (hist, peak * unit_scale, t0 + (window + 1) * AMIGO_MODEL_VPA_MEMORY_INTERVAL_USEC);
    n_added++;
  }

  target = vpa_histogram_percentile (hist, AMIGO_MODEL_VPA_TARGET_PERCENTILE) * buckets.to_unit;
  target *= 1.0 + AMIGO_MODEL_VPA_SAFETY_MARGIN;
  if (options->resource == AMIGO_RESOURCE_CPU)
    target = MAX (target, AMIGO_MODEL_VPA_MIN_CPU);
  else if (memory)
    target = MAX (target, AMIGO_MODEL_VPA_MIN_MEMORY_GIB);
  g_debug ("vpa: %s target %g from %" G_GSIZE_FORMAT " histogram samples",
           amigo_resource_to_string (MIN (options->resource, AMIGO_RESOURCE_LAST - 1)), target, n_added);

  self = g_new0 (AmigoModelVpa, 1);
  self->parent.klass = &amigo_model_class_vpa;
  self->recommendation = target;
  return (AmigoModel *) self;
}

double
amigo_model_vpa_recommendation (const AmigoModel *model)
{
  g_return_val_if_fail (model != NULL && model->klass == &amigo_model_class_vpa, NAN);
  return ((const AmigoModelVpa *) model)->recommendation;
}

static gboolean
vpa_forecast (const AmigoModel *model, gsize horizon, double quantile, double *ret_mean, double *ret_lower,
              double *ret_upper, GError **error)
{
  const AmigoModelVpa *self = (const AmigoModelVpa *) model;

  amigo_model_fill_flat (horizon, self->recommendation, self->recommendation, self->recommendation,
                         ret_mean, ret_lower, ret_upper);
  return TRUE;
}

const AmigoModelClass amigo_model_class_vpa = {
  .name = "vpa",
  .min_history = 1,
  .fit = vpa_fit,
  .forecast = vpa_forecast,
  .free = amigo_model_free_struct,
};
