/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history-private.h"

#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

/*
 * Reading the store back: raw samples or downsampled points of one metric
 * (amigo_history_query), and regular series resampled from the downsampled
 * points (amigo_history_series, and the summary's series).
 */

#define M AMIGO_METRIC_LAST

AmigoHistoryDomain *
amigo_history_lookup (AmigoHistory *self, const char *uuid, GError **error)
{
  char key[AMIGO_UUID_BUFLEN];
  AmigoHistoryDomain *d;

  if (!amigo_history_normalize_uuid (uuid, key, error))
    return NULL;
  d = g_hash_table_lookup (self->domains, key);
  if (d == NULL)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no history for domain '%s'", key);
  return d;
}

typedef struct {
  GArray *out;
  gint64 from, to;
} CollectState;

static void
collect_raw_record (const AmigoHistoryRawRecord *rr, const AmigoHistoryDsRecord *dr, gpointer user_data)
{
  CollectState *st = user_data;
  if (rr->time_usec >= st->from && rr->time_usec <= st->to)
    g_array_append_val (st->out, *rr);
}

static void
collect_ds_record (const AmigoHistoryRawRecord *rr, const AmigoHistoryDsRecord *dr, gpointer user_data)
{
  CollectState *st = user_data;
  gint64 end = dr->time_usec + (gint64) dr->span_sec * AMIGO_USEC_PER_SEC;
  if (end > st->from && dr->time_usec <= st->to)
    g_array_append_val (st->out, *dr);
}

/* Raw records of @d with a time in [@from, @to], sorted. */
GArray *
amigo_history_collect_raw (AmigoHistory *self, AmigoHistoryDomain *d, gint64 from, gint64 to)
{
  CollectState st = { g_array_new (FALSE, FALSE, sizeof (AmigoHistoryRawRecord)), from, to };
  gint64 first = MAX (amigo_history_align_down (from, AMIGO_HISTORY_RAW_SEGMENT_USEC), d->oldest_raw_seg);
  gint64 last = MIN (amigo_history_align_down (to, AMIGO_HISTORY_RAW_SEGMENT_USEC), d->newest_raw_seg);

  for (gint64 seg = first; seg <= last && d->oldest_raw_seg != AMIGO_HISTORY_NONE_MAX; seg += AMIGO_HISTORY_RAW_SEGMENT_USEC)
    amigo_history_scan_segment (self, d->uuid, TRUE, seg, seg == d->newest_raw_seg, FALSE, collect_raw_record, &st);
  for (guint i = 0; i < d->pending_raw->len; i++)
    collect_raw_record (&g_array_index (d->pending_raw, AmigoHistoryRawRecord, i), NULL, &st);
  g_array_sort (st.out, amigo_history_cmp_time);
  return st.out;
}

/* Downsampled records of @d overlapping [@from, @to] (stored, pending and the
 * incomplete bucket), sorted by time, one per start time. */
GArray *
amigo_history_collect_ds (AmigoHistory *self, AmigoHistoryDomain *d, gint64 from, gint64 to)
{
  CollectState st = { g_array_new (FALSE, FALSE, sizeof (AmigoHistoryDsRecord)), from, to };
  gint64 first = MAX (amigo_history_align_down (from, AMIGO_HISTORY_DS_SEGMENT_USEC) - AMIGO_HISTORY_DS_SEGMENT_USEC,
                      d->oldest_ds_seg);
  gint64 last = MIN (amigo_history_align_down (to, AMIGO_HISTORY_DS_SEGMENT_USEC), d->newest_ds_seg);
  guint j = 0;

  for (gint64 seg = first; seg <= last && d->oldest_ds_seg != AMIGO_HISTORY_NONE_MAX; seg += AMIGO_HISTORY_DS_SEGMENT_USEC)
    amigo_history_scan_segment (self, d->uuid, FALSE, seg, seg == d->newest_ds_seg, FALSE, collect_ds_record, &st);
  for (guint i = 0; i < d->pending_ds->len; i++)
    collect_ds_record (NULL, &g_array_index (d->pending_ds, AmigoHistoryDsRecord, i), &st);
  if (d->bucket_start_usec != AMIGO_HISTORY_NONE_MIN) {
    AmigoHistoryDsRecord r;
    amigo_history_domain_bucket_to_record (d, self->options.step_usec, &r);
    collect_ds_record (NULL, &r, &st);
  }
  g_array_sort (st.out, amigo_history_cmp_time);
  for (guint i = 0; i < st.out->len; i++) {
    if (j > 0 && g_array_index (st.out, AmigoHistoryDsRecord, i).time_usec == g_array_index (st.out, AmigoHistoryDsRecord, j - 1).time_usec)
      continue;
    if (i != j)
      g_array_index (st.out, AmigoHistoryDsRecord, j) = g_array_index (st.out, AmigoHistoryDsRecord, i);
    j++;
  }
  g_array_set_size (st.out, j);
  return st.out;
}

static gboolean
check_range (AmigoMetric metric, gint64 from_usec, gint64 to_usec, GError **error)
{
  if ((guint) metric >= AMIGO_METRIC_LAST) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "unknown metric %d", (int) metric);
    return FALSE;
  }
  if (from_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history range starts at %" G_GINT64_FORMAT " us, before the epoch", from_usec);
    return FALSE;
  }
  if (from_usec > to_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history range starts at %" G_GINT64_FORMAT " us, after its end %" G_GINT64_FORMAT " us",
                 from_usec, to_usec);
    return FALSE;
  }
  return TRUE;
}

GArray *
amigo_history_query (AmigoHistory *self,
                     const char *uuid,
                     AmigoMetric metric,
                     gint64 from_usec,
                     gint64 to_usec,
                     GError **error)
{
  GArray *points;
  AmigoHistoryDomain *d;
  gint64 ref;

  g_return_val_if_fail (self != NULL, NULL);
  if (!check_range (metric, from_usec, to_usec, error))
    return NULL;
  d = amigo_history_lookup (self, uuid, error);
  if (d == NULL)
    return NULL;

  points = g_array_new (FALSE, FALSE, sizeof (AmigoHistoryPoint));
  /* Raw samples cover raw_retention before the newest sample, or before
   * the wall clock if that is earlier (samples of a clock that stepped
   * back stay stored, and must not hide the recent ones). */
  ref = amigo_history_wall_now (self);
  if (self->newest_usec != AMIGO_HISTORY_NONE_MIN)
    ref = MIN (ref, self->newest_usec);
  if (from_usec >= ref - self->options.raw_retention_usec) {
    g_autoptr(GArray) recs = amigo_history_collect_raw (self, d, from_usec, to_usec);
    for (guint i = 0; i < recs->len; i++) {
      const AmigoHistoryRawRecord *r = &g_array_index (recs, AmigoHistoryRawRecord, i);
      AmigoHistoryPoint p = { r->time_usec, r->values[metric], r->values[metric] };
      if (i > 0 && r->time_usec == g_array_index (recs, AmigoHistoryRawRecord, i - 1).time_usec)
        continue;
      g_array_append_val (points, p);
    }
  } else {
    g_autoptr(GArray) recs = amigo_history_collect_ds (self, d, from_usec, to_usec);
    for (guint i = 0; i < recs->len; i++) {
      const AmigoHistoryDsRecord *r = &g_array_index (recs, AmigoHistoryDsRecord, i);
      AmigoHistoryPoint p = { r->time_usec, r->mean[metric], r->max[metric] };
      if (r->time_usec < from_usec)
        continue;
      g_array_append_val (points, p);
    }
  }
  return points;
}

/* Resamples downsampled records onto @n bins of @step from @start: per
 * metric, the overlap-weighted mean of means and the max of maxima. @mean
 * and @max hold n * M values (bin-major: [bin * M + metric]). */
void
amigo_history_resample (GArray *recs, gint64 start, gint64 step, guint n, double *mean, double *max)
{
  g_autofree double *weight = g_new0 (double, (gsize) n * M);

  for (gsize i = 0; i < (gsize) n * M; i++) {
    mean[i] = 0;
    max[i] = NAN;
  }
  for (guint k = 0; k < recs->len; k++) {
    const AmigoHistoryDsRecord *r = &g_array_index (recs, AmigoHistoryDsRecord, k);
    gint64 t0 = r->time_usec;
    gint64 t1 = t0 + (gint64) r->span_sec * AMIGO_USEC_PER_SEC;
    gint64 b0 = MAX (amigo_history_floor_div (t0 - start, step), 0);
    gint64 b1 = MIN (amigo_history_floor_div (t1 - 1 - start, step), (gint64) n - 1);

    for (gint64 b = b0; b <= b1; b++) {
      gint64 lo = MAX (t0, start + b * step);
      gint64 hi = MIN (t1, start + (b + 1) * step);
      double w = (double) (hi - lo);
      if (w <= 0)
        continue;
      for (guint m = 0; m < M; m++) {
        gsize idx = (gsize) b * M + m;
        if (!isnan (r->mean[m])) {
          mean[idx] += w * r->mean[m];
          weight[idx] += w;
        }
        if (!isnan (r->max[m]))
          max[idx] = isnan (max[idx]) ? r->max[m] : MAX (max[idx], r->max[m]);
      }
    }
  }
  for (gsize i = 0; i < (gsize) n * M; i++)
    mean[i] = weight[i] > 0 ? mean[i] / weight[i] : NAN;
}

gboolean
amigo_history_series_all (AmigoHistory *self,
                          const char *uuid,
                          gint64 step_usec,
                          gint64 from_usec,
                          gint64 to_usec,
                          gboolean use_max,
                          double **ret_values,
                          guint *ret_n,
                          gint64 *ret_start_usec,
                          GError **error)
{
  g_autoptr(GArray) recs = NULL;
  g_autofree double *mean = NULL;
  g_autofree double *max = NULL;
  AmigoHistoryDomain *d;
  gint64 start, nbins;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (ret_values != NULL && ret_n != NULL, FALSE);
  if (!check_range (AMIGO_METRIC_CPU, from_usec, to_usec, error))
    return FALSE;
  if (step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series step %" G_GINT64_FORMAT " us must be positive", step_usec);
    return FALSE;
  }
  start = amigo_history_align_down (from_usec, step_usec);
  nbins = (to_usec - start) / step_usec + 1;
  if (nbins <= 0 || nbins > AMIGO_HISTORY_MAX_SERIES_BINS) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series of %" G_GINT64_FORMAT " steps is longer than the limit of %d",
                 nbins, AMIGO_HISTORY_MAX_SERIES_BINS);
    return FALSE;
  }
  d = amigo_history_lookup (self, uuid, error);
  if (d == NULL)
    return FALSE;

  recs = amigo_history_collect_ds (self, d, start, start + nbins * step_usec - 1);
  mean = g_new (double, (gsize) nbins * M);
  max = g_new (double, (gsize) nbins * M);
  amigo_history_resample (recs, start, step_usec, (guint) nbins, mean, max);
  *ret_values = use_max ? g_steal_pointer (&max) : g_steal_pointer (&mean);
  *ret_n = (guint) nbins;
  if (ret_start_usec != NULL)
    *ret_start_usec = start;
  return TRUE;
}

gboolean
amigo_history_series (AmigoHistory *self,
                      const char *uuid,
                      AmigoMetric metric,
                      gint64 step_usec,
                      gint64 from_usec,
                      gint64 to_usec,
                      gboolean use_max,
                      GArray **ret_values,
                      gint64 *ret_start_usec,
                      GError **error)
{
  g_autofree double *all = NULL;
  GArray *values;
  guint nbins;

  g_return_val_if_fail (ret_values != NULL, FALSE);
  if (!check_range (metric, from_usec, to_usec, error) ||
      !amigo_history_series_all (self, uuid, step_usec, from_usec, to_usec, use_max, &all, &nbins,
                                 ret_start_usec, error))
    return FALSE;
  values = g_array_sized_new (FALSE, FALSE, sizeof (double), nbins);
  for (guint b = 0; b < nbins; b++)
    g_array_append_val (values, all[(gsize) b * M + metric]);
  *ret_values = values;
  return TRUE;
}
