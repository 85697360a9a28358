/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-overhead.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-json.h"
#include "amigo-time.h"

/* A correction never exceeds a factor of 4 either way: past migrations may
 * teach us the link is slower than configured, not that physics changed. */
#define LOG_RATIO_BOUND 1.3862943611198906 /* log (4) */
/* EWMA weight floor: after 5 migrations each new one still moves the
 * correction by a fifth of its surprise, so the model follows a host whose
 * network changed. */
#define EWMA_MIN_WEIGHT 0.2

void
amigo_overhead_input_init (AmigoOverheadInput *input)
{
  g_return_if_fail (input != NULL);
  memset (input, 0, sizeof (*input));
  input->dirty_rate_bytes_s = 0.0;
  input->link_bytes_s = 0.0;
  input->downtime_limit_usec = AMIGO_OVERHEAD_DEFAULT_DOWNTIME_LIMIT_USEC;
  input->max_iterations = AMIGO_OVERHEAD_DEFAULT_MAX_ITERATIONS;
  input->receive_cores_per_gbit = AMIGO_OVERHEAD_DEFAULT_RECEIVE_CORES_PER_GBIT;
}

void
amigo_overhead_calibration_init (AmigoOverheadCalibration *calibration)
{
  g_return_if_fail (calibration != NULL);
  memset (calibration, 0, sizeof (*calibration));
}

static double
bound_log (double x)
{
  return CLAMP (x, -LOG_RATIO_BOUND, LOG_RATIO_BOUND);
}

gboolean
amigo_overhead_estimate (const AmigoOverheadInput *input,
                         const AmigoOverheadCalibration *calibration,
                         AmigoOverheadEstimate *ret,
                         GError **error)
{
  AmigoOverheadEstimate e = { 0 };
  double bw, limit_s, remaining, t = 0.0, bytes = 0.0;

  if (input == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no overhead input given");
    return FALSE;
  }
  if (input->memory_bytes == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "guest memory size must be positive");
    return FALSE;
  }
  if (!(isfinite (input->link_bytes_s) && input->link_bytes_s > 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "link bandwidth must be positive, got %g bytes/s", input->link_bytes_s);
    return FALSE;
  }
  if (!input->dirty_rate_unknown && !(isfinite (input->dirty_rate_bytes_s) && input->dirty_rate_bytes_s >= 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "page-dirty rate must be zero or positive, got %g bytes/s", input->dirty_rate_bytes_s);
    return FALSE;
  }
  if (input->downtime_limit_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "downtime limit must be positive, got %" G_GINT64_FORMAT " us", input->downtime_limit_usec);
    return FALSE;
  }
  if (input->max_iterations == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "at least one pre-copy iteration is needed");
    return FALSE;
  }
  if (!(isfinite (input->receive_cores_per_gbit) && input->receive_cores_per_gbit >= 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "receive cost must be zero or positive, got %g cores per Gbit/s", input->receive_cores_per_gbit);
    return FALSE;
  }

  bw = input->link_bytes_s;
  limit_s = (double) input->downtime_limit_usec / AMIGO_USEC_PER_SEC;
  remaining = (double) input->memory_bytes;
  e.first_round_usec = (gint64) (remaining / bw * AMIGO_USEC_PER_SEC);

  /* Pre-copy as QEMU does it: the first round sends all memory; each next
   * round sends what the guest dirtied during the previous one (at most all
   * of memory); once what is left fits in the downtime limit the guest is
   * paused and the rest is sent (stop-and-copy). With the dirty rate
   * unknown, all memory is dirty again after round 1, and after round 2 the
   * switch-over is assumed to fit the limit (see amigo-overhead.h). */
  e.dirty_rate_known = !input->dirty_rate_unknown;
  for (;;) {
    double round_s = remaining / bw;
    gboolean assumed = input->dirty_rate_unknown && e.rounds >= 2;

    if (e.rounds >= 1 && (assumed || round_s <= limit_s || e.rounds >= input->max_iterations)) {
      e.converges = !assumed && round_s <= limit_s;
      if (assumed) {
        remaining = MIN (remaining, bw * limit_s);
        round_s = remaining / bw;
      }
      e.rounds++;
      bytes += remaining;
      t += round_s;
      e.downtime_usec = (gint64) (round_s * AMIGO_USEC_PER_SEC);
      break;
    }
    e.rounds++;
    bytes += remaining;
    t += round_s;
    if (input->dirty_rate_unknown)
      remaining = (double) input->memory_bytes;
    else
      remaining = MIN ((double) input->memory_bytes, input->dirty_rate_bytes_s * round_s);
  }
  e.bytes_sent = (guint64) bytes;
  e.duration_usec = (gint64) (t * AMIGO_USEC_PER_SEC);

  amigo_overhead_calibration_apply (calibration, &e);

  /* The destination receives the stream at the rate it is sent. */
  e.network_mbit_s = bw * 8.0 / 1e6;
  e.cpu_cores = input->receive_cores_per_gbit * bw * 8.0 / 1e9;
  e.memory_gib = (double) input->memory_bytes / AMIGO_BYTES_PER_GIB;
  *ret = e;
  return TRUE;
}

void
amigo_overhead_calibration_apply (const AmigoOverheadCalibration *calibration, AmigoOverheadEstimate *estimate)
{
  double fd;

  g_return_if_fail (estimate != NULL);
  if (calibration == NULL || calibration->n_observations == 0)
    return;
  fd = exp (bound_log (calibration->log_duration));
  estimate->duration_usec = (gint64) (estimate->duration_usec * fd);
  estimate->first_round_usec = (gint64) (estimate->first_round_usec * fd);
  estimate->bytes_sent = (guint64) (estimate->bytes_sent * exp (bound_log (calibration->log_bytes)));
  estimate->downtime_usec = (gint64) (estimate->downtime_usec * exp (bound_log (calibration->log_downtime)));
}

double
amigo_overhead_memory_at (const AmigoOverheadEstimate *estimate, gint64 elapsed_usec)
{
  g_return_val_if_fail (estimate != NULL, NAN);
  if (elapsed_usec <= 0)
    return 0.0;
  if (estimate->first_round_usec <= 0 || elapsed_usec >= estimate->first_round_usec)
    return estimate->memory_gib;
  return estimate->memory_gib * (double) elapsed_usec / (double) estimate->first_round_usec;
}

static void
ewma_update (double *avg, guint n, double measured, double predicted)
{
  double w = MAX (1.0 / (n + 1), EWMA_MIN_WEIGHT);
  double x;

  if (!(measured > 0) || !(predicted > 0))
    return;
  x = bound_log (log (measured / predicted));
  *avg = bound_log ((1.0 - w) * *avg + w * x);
}

gboolean
amigo_overhead_calibration_observe (AmigoOverheadCalibration *calibration,
                                    const AmigoOverheadEstimate *predicted,
                                    gint64 measured_duration_usec,
                                    guint64 measured_bytes,
                                    gint64 measured_downtime_usec,
                                    GError **error)
{
  if (calibration == NULL || predicted == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "calibration and prediction are required");
    return FALSE;
  }
  if (measured_duration_usec <= 0 && measured_bytes == 0 && measured_downtime_usec <= 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "the migration measured nothing (duration, bytes and downtime all missing)");
    return FALSE;
  }
  ewma_update (&calibration->log_duration, calibration->n_observations,
               (double) measured_duration_usec, (double) predicted->duration_usec);
  ewma_update (&calibration->log_bytes, calibration->n_observations,
               (double) measured_bytes, (double) predicted->bytes_sent);
  ewma_update (&calibration->log_downtime, calibration->n_observations,
               (double) measured_downtime_usec, (double) predicted->downtime_usec);
  calibration->n_observations++;
  return TRUE;
}

char *
amigo_overhead_calibration_to_json (const AmigoOverheadCalibration *calibration)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (calibration != NULL, NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "log_duration");
  json_builder_add_double_value (b, calibration->log_duration);
  json_builder_set_member_name (b, "log_bytes");
  json_builder_add_double_value (b, calibration->log_bytes);
  json_builder_set_member_name (b, "log_downtime");
  json_builder_add_double_value (b, calibration->log_downtime);
  json_builder_set_member_name (b, "n_observations");
  json_builder_add_int_value (b, calibration->n_observations);
  json_builder_end_object (b);
  return amigo_json_builder_to_string (b);
}

gboolean
amigo_overhead_calibration_from_json (const char *json,
                                      AmigoOverheadCalibration *ret,
                                      GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  AmigoOverheadCalibration c = { 0 };
  JsonObject *o;
  double v[4];
  const char *names[] = { "log_duration", "log_bytes", "log_downtime", "n_observations" };

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "calibration is not valid JSON: %s",
                 local_error != NULL ? local_error->message : "no text");
    return FALSE;
  }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "calibration JSON must be an object");
    return FALSE;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (!amigo_json_get_double (o, "calibration JSON", "", names[i], FALSE, &v[i], error))
      return FALSE;
    if (i < 3 && !(fabs (v[i]) <= LOG_RATIO_BOUND + 1e-9)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "calibration member '%s' = %g is outside +-log(4)", names[i], v[i]);
      return FALSE;
    }
  }
  if (!(v[3] >= 0 && v[3] <= G_MAXUINT)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "calibration member 'n_observations' = %g is not a count", v[3]);
    return FALSE;
  }
  c.log_duration = v[0];
  c.log_bytes = v[1];
  c.log_downtime = v[2];
  c.n_observations = (guint) v[3];
  *ret = c;
  return TRUE;
}
