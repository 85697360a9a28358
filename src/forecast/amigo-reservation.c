/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-reservation.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

#define RESERVATION_JSON_VERSION 1

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
  /* An unknown dirty rate is taken as 0: the estimate is then the shortest
   * possible migration; the reservation's window still holds the caller's
   * duration, and calibration corrects the rest. */
  in.dirty_rate_bytes_s = isfinite (history->dirty_rate_bytes_s) && history->dirty_rate_bytes_s > 0
                            ? history->dirty_rate_bytes_s : 0.0;
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

/* ---- JSON ---- */

static void
add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

char *
amigo_reservation_to_json (const AmigoReservation *reservation)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  const AmigoClassification *c;
  const AmigoOverheadEstimate *m;

  g_return_val_if_fail (reservation != NULL, NULL);
  c = &reservation->classification;
  m = &reservation->migration;
  json_builder_begin_object (b);
  add_int (b, "version", RESERVATION_JSON_VERSION);
  add_double (b, "quantile", reservation->quantile);
  add_int (b, "horizon_usec", reservation->horizon_usec);
  add_int (b, "start_usec", reservation->start_usec);
  add_int (b, "end_usec", reservation->end_usec);

  json_builder_set_member_name (b, "class");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, amigo_workload_class_to_string (c->klass));
  add_double (b, "confidence", c->confidence);
  json_builder_set_member_name (b, "features");
  json_builder_begin_object (b);
  add_double (b, "cpu_level", c->features.cpu_level);
  add_double (b, "cpu_cv", c->features.cpu_cv);
  add_double (b, "cpu_daily_acf", c->features.cpu_daily_acf);
  add_double (b, "cpu_bimodality", c->features.cpu_bimodality);
  add_double (b, "cpu_busy_fraction", c->features.cpu_busy_fraction);
  add_double (b, "cpu_mean_cores", c->features.cpu_mean_cores);
  add_double (b, "network_per_cpu", c->features.network_per_cpu);
  add_double (b, "memory_per_cpu", c->features.memory_per_cpu);
  add_double (b, "dirty_rate_mib_s", c->features.dirty_rate_mib_s);
  add_double (b, "gpu_memory_gib", c->features.gpu_memory_gib);
  json_builder_end_object (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "migration");
  json_builder_begin_object (b);
  add_int (b, "rounds", m->rounds);
  add_int (b, "bytes_sent", (gint64) m->bytes_sent);
  add_int (b, "duration_usec", m->duration_usec);
  add_int (b, "downtime_usec", m->downtime_usec);
  json_builder_set_member_name (b, "converges");
  json_builder_add_boolean_value (b, m->converges);
  add_int (b, "first_round_usec", m->first_round_usec);
  add_double (b, "cpu_cores", m->cpu_cores);
  add_double (b, "network_mbit_s", m->network_mbit_s);
  add_double (b, "memory_gib", m->memory_gib);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "resources");
  json_builder_begin_object (b);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceReservation *rr = &reservation->resources[r];
    if (!rr->present)
      continue;
    json_builder_set_member_name (b, amigo_resource_to_string (r));
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "unit");
    json_builder_add_string_value (b, amigo_resource_unit (r));
    add_double (b, "amount", rr->amount);
    add_double (b, "upper", rr->upper);
    add_double (b, "mean", rr->mean);
    add_double (b, "overhead", rr->overhead);
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, rr->model);
    add_double (b, "score", rr->score);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static JsonNode *
member (JsonObject *o, const char *path, const char *name, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: '%s%s' is missing", path, name);
  return n;
}

static gboolean
is_number (JsonNode *n)
{
  GType t;

  if (!JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  t = json_node_get_value_type (n);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

/* A number, or null for "not known" (NAN) when @nullable. */
static gboolean
get_double (JsonObject *o, const char *path, const char *name, gboolean nullable, double *ret, GError **error)
{
  JsonNode *n = member (o, path, name, error);

  if (n == NULL)
    return FALSE;
  if (nullable && JSON_NODE_HOLDS_NULL (n)) {
    *ret = NAN;
    return TRUE;
  }
  if (!is_number (n)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: '%s%s' must be a number", path, name);
    return FALSE;
  }
  *ret = json_node_get_double (n);
  return TRUE;
}

static gboolean
get_int (JsonObject *o, const char *path, const char *name, gint64 min, gint64 *ret, GError **error)
{
  JsonNode *n = member (o, path, name, error);

  if (n == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: '%s%s' must be an integer", path, name);
    return FALSE;
  }
  *ret = json_node_get_int (n);
  if (*ret < min) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON: '%s%s' = %" G_GINT64_FORMAT " is below %" G_GINT64_FORMAT, path, name, *ret, min);
    return FALSE;
  }
  return TRUE;
}

static JsonObject *
get_object (JsonObject *o, const char *path, const char *name, GError **error)
{
  JsonNode *n = member (o, path, name, error);

  if (n == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: '%s%s' must be an object", path, name);
    return NULL;
  }
  return json_node_get_object (n);
}

static const char *
get_string (JsonObject *o, const char *path, const char *name, GError **error)
{
  JsonNode *n = member (o, path, name, error);

  if (n == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: '%s%s' must be a string", path, name);
    return NULL;
  }
  return json_node_get_string (n);
}

static gboolean
non_negative (const char *path, const char *name, double v, GError **error)
{
  if (!(isfinite (v) && v >= 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON: '%s%s' = %g must be a finite number >= 0", path, name, v);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_class (JsonObject *root, AmigoClassification *c, GError **error)
{
  JsonObject *o = get_object (root, "", "class", error);
  JsonObject *f;
  const char *name;

  if (o == NULL)
    return FALSE;
  name = get_string (o, "class.", "name", error);
  if (name == NULL)
    return FALSE;
  if (!amigo_workload_class_from_string (name, &c->klass)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: unknown workload class '%s'", name);
    return FALSE;
  }
  if (!get_double (o, "class.", "confidence", FALSE, &c->confidence, error))
    return FALSE;
  if (!(c->confidence >= 0 && c->confidence <= 1)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON: 'class.confidence' = %g is outside [0, 1]", c->confidence);
    return FALSE;
  }
  f = get_object (o, "class.", "features", error);
  if (f == NULL)
    return FALSE;
  return get_double (f, "class.features.", "cpu_level", TRUE, &c->features.cpu_level, error) &&
         get_double (f, "class.features.", "cpu_cv", TRUE, &c->features.cpu_cv, error) &&
         get_double (f, "class.features.", "cpu_daily_acf", TRUE, &c->features.cpu_daily_acf, error) &&
         get_double (f, "class.features.", "cpu_bimodality", TRUE, &c->features.cpu_bimodality, error) &&
         get_double (f, "class.features.", "cpu_busy_fraction", TRUE, &c->features.cpu_busy_fraction, error) &&
         get_double (f, "class.features.", "cpu_mean_cores", TRUE, &c->features.cpu_mean_cores, error) &&
         get_double (f, "class.features.", "network_per_cpu", TRUE, &c->features.network_per_cpu, error) &&
         get_double (f, "class.features.", "memory_per_cpu", TRUE, &c->features.memory_per_cpu, error) &&
         get_double (f, "class.features.", "dirty_rate_mib_s", TRUE, &c->features.dirty_rate_mib_s, error) &&
         get_double (f, "class.features.", "gpu_memory_gib", TRUE, &c->features.gpu_memory_gib, error);
}

static gboolean
parse_migration (JsonObject *root, AmigoOverheadEstimate *m, GError **error)
{
  JsonObject *o = get_object (root, "", "migration", error);
  JsonNode *conv;
  gint64 rounds, bytes;

  if (o == NULL)
    return FALSE;
  if (!get_int (o, "migration.", "rounds", 0, &rounds, error) ||
      !get_int (o, "migration.", "bytes_sent", 0, &bytes, error) ||
      !get_int (o, "migration.", "duration_usec", 0, &m->duration_usec, error) ||
      !get_int (o, "migration.", "downtime_usec", 0, &m->downtime_usec, error) ||
      !get_int (o, "migration.", "first_round_usec", 0, &m->first_round_usec, error) ||
      !get_double (o, "migration.", "cpu_cores", FALSE, &m->cpu_cores, error) ||
      !get_double (o, "migration.", "network_mbit_s", FALSE, &m->network_mbit_s, error) ||
      !get_double (o, "migration.", "memory_gib", FALSE, &m->memory_gib, error))
    return FALSE;
  if (rounds > G_MAXUINT) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'migration.rounds' = %" G_GINT64_FORMAT " is too large", rounds);
    return FALSE;
  }
  m->rounds = (guint) rounds;
  m->bytes_sent = (guint64) bytes;
  conv = member (o, "migration.", "converges", error);
  if (conv == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_VALUE (conv) || json_node_get_value_type (conv) != G_TYPE_BOOLEAN) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'migration.converges' must be true or false");
    return FALSE;
  }
  m->converges = json_node_get_boolean (conv);
  return non_negative ("migration.", "cpu_cores", m->cpu_cores, error) &&
         non_negative ("migration.", "network_mbit_s", m->network_mbit_s, error) &&
         non_negative ("migration.", "memory_gib", m->memory_gib, error);
}

static gboolean
parse_resources (JsonObject *root, AmigoReservation *res, GError **error)
{
  JsonObject *o = get_object (root, "", "resources", error);
  g_autoptr(GList) names = NULL;

  if (o == NULL)
    return FALSE;
  names = json_object_get_members (o);
  for (GList *l = names; l != NULL; l = l->next) {
    const char *name = l->data;
    g_autofree char *path = g_strdup_printf ("resources.%s.", name);
    AmigoResource r;
    AmigoResourceReservation *rr;
    JsonObject *ro;
    const char *model, *unit;

    if (!amigo_resource_from_string (name, &r)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: unknown resource '%s'", name);
      return FALSE;
    }
    ro = get_object (o, "resources.", name, error);
    if (ro == NULL)
      return FALSE;
    rr = &res->resources[r];
    rr->present = TRUE;
    unit = get_string (ro, path, "unit", error);
    if (unit == NULL)
      return FALSE;
    if (g_strcmp0 (unit, amigo_resource_unit (r)) != 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "reservation JSON: '%sunit' is '%s', expected '%s'", path, unit, amigo_resource_unit (r));
      return FALSE;
    }
    if (!get_double (ro, path, "amount", FALSE, &rr->amount, error) ||
        !get_double (ro, path, "upper", FALSE, &rr->upper, error) ||
        !get_double (ro, path, "mean", TRUE, &rr->mean, error) ||
        !get_double (ro, path, "overhead", FALSE, &rr->overhead, error) ||
        !get_double (ro, path, "score", TRUE, &rr->score, error))
      return FALSE;
    if (!non_negative (path, "amount", rr->amount, error) ||
        !non_negative (path, "upper", rr->upper, error) ||
        !non_negative (path, "overhead", rr->overhead, error))
      return FALSE;
    model = get_string (ro, path, "model", error);
    if (model == NULL)
      return FALSE;
    if (strlen (model) >= sizeof (rr->model)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "reservation JSON: '%smodel' '%s' is longer than %u characters", path, model, (guint) sizeof (rr->model) - 1);
      return FALSE;
    }
    g_strlcpy (rr->model, model, sizeof (rr->model));
  }
  return TRUE;
}

gboolean
amigo_reservation_from_json (const char *json, AmigoReservation *ret, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  AmigoReservation res;
  JsonObject *root;
  gint64 version;

  if (json == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no reservation JSON given");
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, json, -1, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation is not valid JSON: %s", local_error->message);
    return FALSE;
  }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON must be an object");
    return FALSE;
  }
  root = json_node_get_object (json_parser_get_root (parser));
  memset (&res, 0, sizeof (res));
  if (!get_int (root, "", "version", 1, &version, error))
    return FALSE;
  if (version != RESERVATION_JSON_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON version %" G_GINT64_FORMAT " is not supported (expected %d)", version, RESERVATION_JSON_VERSION);
    return FALSE;
  }
  if (!get_double (root, "", "quantile", FALSE, &res.quantile, error))
    return FALSE;
  if (!(res.quantile > 0.5 && res.quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'quantile' = %g is outside (0.5, 1)", res.quantile);
    return FALSE;
  }
  if (!get_int (root, "", "horizon_usec", 0, &res.horizon_usec, error) ||
      !get_int (root, "", "start_usec", G_MININT64, &res.start_usec, error) ||
      !get_int (root, "", "end_usec", G_MININT64, &res.end_usec, error))
    return FALSE;
  if (res.end_usec < res.start_usec) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'end_usec' is before 'start_usec'");
    return FALSE;
  }
  if (!parse_class (root, &res.classification, error) ||
      !parse_migration (root, &res.migration, error) ||
      !parse_resources (root, &res, error))
    return FALSE;
  *ret = res;
  return TRUE;
}
