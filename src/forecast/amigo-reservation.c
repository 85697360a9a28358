/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-reservation.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

void
amigo_reservation_options_init (AmigoReservationOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof (*options));
  options->quantile = 0.95;
}

static gboolean
series_end (const AmigoSeries *s, gint64 *ret_end)
{
  if (s->n_values == 0)
    return FALSE;
  *ret_end = s->start_usec + (gint64) s->n_values * s->step_usec;
  return TRUE;
}

static double
series_peak (const AmigoSeries *s)
{
  double m = NAN;

  for (gsize i = 0; i < s->n_values; i++) {
    if (isfinite (s->values[i]) && !(s->values[i] <= m))
      m = s->values[i];
  }
  return m;
}

gboolean
amigo_reservation_compute (const AmigoVmHistory *history,
                           const AmigoMigrationWindow *window,
                           const AmigoReservationOptions *options,
                           AmigoReservation *ret,
                           GError **error)
{
  AmigoReservationOptions defaults;
  AmigoReservation res;
  AmigoOverheadInput in;
  gint64 history_end = G_MININT64, duration;
  gboolean any = FALSE;

  amigo_reservation_options_init (&defaults);
  if (options == NULL)
    options = &defaults;
  if (history == NULL || window == NULL || ret == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "history, window and result are required");
    return FALSE;
  }
  if (!(options->quantile > 0.5 && options->quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "quantile must be in (0.5, 1), got %g", options->quantile);
    return FALSE;
  }
  if (window->duration_usec < 0 || window->settle_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "migration window must not be negative (duration %" G_GINT64_FORMAT " us, settle %" G_GINT64_FORMAT " us)",
                 window->duration_usec, window->settle_usec);
    return FALSE;
  }
  if (!(isfinite (window->link_bytes_s) && window->link_bytes_s > 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "migration link bandwidth must be positive, got %g bytes/s", window->link_bytes_s);
    return FALSE;
  }
  if (window->downtime_limit_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "downtime limit must not be negative, got %" G_GINT64_FORMAT " us", window->downtime_limit_usec);
    return FALSE;
  }

  memset (&res, 0, sizeof (res));
  res.quantile = options->quantile;
  if (!amigo_classifier_classify (history, &res.classification, error))
    return FALSE;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    gint64 end;
    if (series_end (&history->resources[r], &end)) {
      history_end = MAX (history_end, end);
      any = TRUE;
    }
  }
  if (!any) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY, "the VM has no history for any resource");
    return FALSE;
  }

  /* Migration: everything the guest may use is sent (its memory size); the
   * peak of the memory history stands in when the size is not known. */
  amigo_overhead_input_init (&in);
  if (history->memory_bytes > 0) {
    in.memory_bytes = history->memory_bytes;
  } else {
    double peak = series_peak (&history->resources[AMIGO_RESOURCE_MEMORY]);
    if (!(peak > 0)) {
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                           "guest memory size unknown: neither 'memory_bytes' nor a memory history was given");
      return FALSE;
    }
    in.memory_bytes = (guint64) (peak * AMIGO_BYTES_PER_GIB);
  }
  /* An unknown dirty rate is the expensive case, never a quiet guest: the
   * whole memory may be sent again (amigo-overhead.h). Taking it as 0 made
   * the window the shortest migration possible. */
  in.dirty_rate_unknown = !(isfinite (history->dirty_rate_bytes_s) && history->dirty_rate_bytes_s >= 0);
  in.dirty_rate_bytes_s = in.dirty_rate_unknown ? 0.0 : history->dirty_rate_bytes_s;
  in.link_bytes_s = window->link_bytes_s;
  if (window->downtime_limit_usec > 0)
    in.downtime_limit_usec = window->downtime_limit_usec;
  if (options->receive_cores_per_gbit > 0)
    in.receive_cores_per_gbit = options->receive_cores_per_gbit;
  if (!amigo_overhead_estimate (&in, options->calibration, &res.migration, error))
    return FALSE;

  duration = window->duration_usec > 0 ? window->duration_usec : res.migration.duration_usec;
  res.start_usec = MAX (window->start_usec, history_end);
  res.end_usec = res.start_usec + duration + window->settle_usec;
  res.horizon_usec = res.end_usec - history_end;

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoSeries *s = &history->resources[r];
    AmigoResourceReservation *rr = &res.resources[r];
    g_autoptr(AmigoSelector) own = NULL;
    AmigoSelector *sel = options->selectors != NULL ? options->selectors[r] : NULL;
    AmigoWindowForecast fc;
    gsize horizon;

    if (s->n_values == 0)
      continue;
    if (s->step_usec <= 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "series '%s' step must be positive, got %" G_GINT64_FORMAT " us",
                   amigo_resource_to_string (r), s->step_usec);
      return FALSE;
    }
    /* The window runs from the end of this series to the end of the
     * settle period, at least one step. */
    horizon = (gsize) MAX ((res.end_usec - s->start_usec - (gint64) s->n_values * s->step_usec + s->step_usec - 1) / s->step_usec, 1);
    if (sel == NULL) {
      AmigoSelectorOptions so;
      if (options->selector_options != NULL) {
        so = *options->selector_options;
      } else {
        amigo_selector_options_init (&so);
      }
      so.quantile = options->quantile;
      so.resource = r;
      so.workload = res.classification.klass;
      own = amigo_selector_new (&so);
      sel = own;
    }
    if (!amigo_selector_forecast (sel, s, horizon, &fc, error)) {
      g_prefix_error (error, "resource '%s': ", amigo_resource_to_string (r));
      return FALSE;
    }
    rr->present = TRUE;
    rr->upper = fc.window_upper;
    rr->mean = fc.window_mean;
    rr->score = fc.score;
    rr->coverage = fc.coverage;
    g_strlcpy (rr->model, fc.model, sizeof (rr->model));
    switch (r) {
    case AMIGO_RESOURCE_CPU:
      rr->overhead = res.migration.cpu_cores;
      break;
    case AMIGO_RESOURCE_NETWORK:
      rr->overhead = res.migration.network_mbit_s;
      break;
    case AMIGO_RESOURCE_MEMORY:
      /* Pages fill the destination up to the guest's memory in use, which
       * the forecast already covers: no extra. */
    default:
      rr->overhead = 0.0;
      break;
    }
    rr->amount = rr->upper + rr->overhead;
  }
  *ret = res;
  return TRUE;
}
