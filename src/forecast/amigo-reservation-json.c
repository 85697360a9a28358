/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A reservation's JSON form (docs/forecast.md, "Reservation"): what the
 * daemon stores and sends; reading it checks every member and names the
 * bad one's path. */
#include "amigo/amigo-reservation.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-json.h"

#define RESERVATION_JSON_VERSION 1

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
  const AmigoClassification *c;
  const AmigoOverheadEstimate *m;

  g_return_val_if_fail (reservation != NULL, NULL);
  c = &reservation->classification;
  m = &reservation->migration;
  json_builder_begin_object (b);
  add_int (b, "version", RESERVATION_JSON_VERSION);
  amigo_json_builder_add_double (b, "quantile", reservation->quantile);
  add_int (b, "horizon_usec", reservation->horizon_usec);
  add_int (b, "start_usec", reservation->start_usec);
  add_int (b, "end_usec", reservation->end_usec);

  json_builder_set_member_name (b, "class");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, amigo_workload_class_to_string (c->klass));
  amigo_json_builder_add_double (b, "confidence", c->confidence);
  json_builder_set_member_name (b, "features");
  json_builder_begin_object (b);
  amigo_json_builder_add_double (b, "cpu_level", c->features.cpu_level);
  amigo_json_builder_add_double (b, "cpu_cv", c->features.cpu_cv);
  amigo_json_builder_add_double (b, "cpu_daily_acf", c->features.cpu_daily_acf);
  amigo_json_builder_add_double (b, "cpu_bimodality", c->features.cpu_bimodality);
  amigo_json_builder_add_double (b, "cpu_busy_fraction", c->features.cpu_busy_fraction);
  amigo_json_builder_add_double (b, "cpu_mean_cores", c->features.cpu_mean_cores);
  amigo_json_builder_add_double (b, "network_per_cpu", c->features.network_per_cpu);
  amigo_json_builder_add_double (b, "memory_per_cpu", c->features.memory_per_cpu);
  amigo_json_builder_add_double (b, "dirty_rate_mib_s", c->features.dirty_rate_mib_s);
  amigo_json_builder_add_double (b, "gpu_memory_gib", c->features.gpu_memory_gib);
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
  json_builder_set_member_name (b, "dirty_rate_known");
  json_builder_add_boolean_value (b, m->dirty_rate_known);
  add_int (b, "first_round_usec", m->first_round_usec);
  amigo_json_builder_add_double (b, "cpu_cores", m->cpu_cores);
  amigo_json_builder_add_double (b, "network_mbit_s", m->network_mbit_s);
  amigo_json_builder_add_double (b, "memory_gib", m->memory_gib);
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
    amigo_json_builder_add_double (b, "amount", rr->amount);
    amigo_json_builder_add_double (b, "upper", rr->upper);
    amigo_json_builder_add_double (b, "mean", rr->mean);
    amigo_json_builder_add_double (b, "overhead", rr->overhead);
    json_builder_set_member_name (b, "model");
    json_builder_add_string_value (b, rr->model);
    amigo_json_builder_add_double (b, "score", rr->score);
    amigo_json_builder_add_double (b, "coverage", rr->coverage);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
  return amigo_json_builder_to_string (b);
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

/* A number added after version 1 was first written: absent (an older
 * writer) or null reads as NAN, "not known". */
static gboolean
get_later_double (JsonObject *o, const char *path, const char *name, double *ret, GError **error)
{
  if (!json_object_has_member (o, name)) {
    *ret = NAN;
    return TRUE;
  }
  return amigo_json_get_double (o, "reservation JSON", path, name, TRUE, ret, error);
}

static gboolean
parse_class (JsonObject *root, AmigoClassification *c, GError **error)
{
  JsonObject *o = amigo_json_get_object (root, "reservation JSON", "", "class", error);
  JsonObject *f;
  const char *name;

  if (o == NULL)
    return FALSE;
  name = amigo_json_get_string (o, "reservation JSON", "class.", "name", error);
  if (name == NULL)
    return FALSE;
  if (!amigo_workload_class_from_string (name, &c->klass)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: unknown workload class '%s'", name);
    return FALSE;
  }
  if (!amigo_json_get_double (o, "reservation JSON", "class.", "confidence", FALSE, &c->confidence, error))
    return FALSE;
  if (!(c->confidence >= 0 && c->confidence <= 1)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON: 'class.confidence' = %g is outside [0, 1]", c->confidence);
    return FALSE;
  }
  f = amigo_json_get_object (o, "reservation JSON", "class.", "features", error);
  if (f == NULL)
    return FALSE;
  return amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_level", TRUE, &c->features.cpu_level, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_cv", TRUE, &c->features.cpu_cv, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_daily_acf", TRUE, &c->features.cpu_daily_acf, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_bimodality", TRUE, &c->features.cpu_bimodality, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_busy_fraction", TRUE, &c->features.cpu_busy_fraction, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "cpu_mean_cores", TRUE, &c->features.cpu_mean_cores, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "network_per_cpu", TRUE, &c->features.network_per_cpu, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "memory_per_cpu", TRUE, &c->features.memory_per_cpu, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "dirty_rate_mib_s", TRUE, &c->features.dirty_rate_mib_s, error) &&
         amigo_json_get_double (f, "reservation JSON", "class.features.", "gpu_memory_gib", TRUE, &c->features.gpu_memory_gib, error);
}

static gboolean
parse_migration (JsonObject *root, AmigoOverheadEstimate *m, GError **error)
{
  JsonObject *o = amigo_json_get_object (root, "reservation JSON", "", "migration", error);
  gint64 rounds, bytes;

  if (o == NULL)
    return FALSE;
  if (!amigo_json_get_int (o, "reservation JSON", "migration.", "rounds", 0, &rounds, error) ||
      !amigo_json_get_int (o, "reservation JSON", "migration.", "bytes_sent", 0, &bytes, error) ||
      !amigo_json_get_int (o, "reservation JSON", "migration.", "duration_usec", 0, &m->duration_usec, error) ||
      !amigo_json_get_int (o, "reservation JSON", "migration.", "downtime_usec", 0, &m->downtime_usec, error) ||
      !amigo_json_get_int (o, "reservation JSON", "migration.", "first_round_usec", 0, &m->first_round_usec, error) ||
      !amigo_json_get_double (o, "reservation JSON", "migration.", "cpu_cores", FALSE, &m->cpu_cores, error) ||
      !amigo_json_get_double (o, "reservation JSON", "migration.", "network_mbit_s", FALSE, &m->network_mbit_s, error) ||
      !amigo_json_get_double (o, "reservation JSON", "migration.", "memory_gib", FALSE, &m->memory_gib, error))
    return FALSE;
  if (rounds > G_MAXUINT) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'migration.rounds' = %" G_GINT64_FORMAT " is too large", rounds);
    return FALSE;
  }
  m->rounds = (guint) rounds;
  m->bytes_sent = (guint64) bytes;
  if (!amigo_json_get_boolean (o, "reservation JSON", "migration.", "converges", &m->converges, error))
    return FALSE;
  /* Added after version 1 was first written: absent (an older writer, which
   * took an unknown rate as 0) or null reads as FALSE, since nothing then
   * vouches that the estimate rests on a measured rate. */
  m->dirty_rate_known = FALSE;
  if (json_object_has_member (o, "dirty_rate_known") && !json_object_get_null_member (o, "dirty_rate_known") &&
      !amigo_json_get_boolean (o, "reservation JSON", "migration.", "dirty_rate_known", &m->dirty_rate_known, error))
    return FALSE;
  return non_negative ("migration.", "cpu_cores", m->cpu_cores, error) &&
         non_negative ("migration.", "network_mbit_s", m->network_mbit_s, error) &&
         non_negative ("migration.", "memory_gib", m->memory_gib, error);
}

static gboolean
parse_resources (JsonObject *root, AmigoReservation *res, GError **error)
{
  JsonObject *o = amigo_json_get_object (root, "reservation JSON", "", "resources", error);
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
    ro = amigo_json_get_object (o, "reservation JSON", "resources.", name, error);
    if (ro == NULL)
      return FALSE;
    rr = &res->resources[r];
    rr->present = TRUE;
    unit = amigo_json_get_string (ro, "reservation JSON", path, "unit", error);
    if (unit == NULL)
      return FALSE;
    if (g_strcmp0 (unit, amigo_resource_unit (r)) != 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "reservation JSON: '%sunit' is '%s', expected '%s'", path, unit, amigo_resource_unit (r));
      return FALSE;
    }
    if (!amigo_json_get_double (ro, "reservation JSON", path, "amount", FALSE, &rr->amount, error) ||
        !amigo_json_get_double (ro, "reservation JSON", path, "upper", FALSE, &rr->upper, error) ||
        !amigo_json_get_double (ro, "reservation JSON", path, "mean", TRUE, &rr->mean, error) ||
        !amigo_json_get_double (ro, "reservation JSON", path, "overhead", FALSE, &rr->overhead, error) ||
        !amigo_json_get_double (ro, "reservation JSON", path, "score", TRUE, &rr->score, error))
      return FALSE;
    if (!get_later_double (ro, path, "coverage", &rr->coverage, error))
      return FALSE;
    if (!(isnan (rr->coverage) || (rr->coverage >= 0 && rr->coverage <= 1))) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "reservation JSON: '%scoverage' = %g is outside [0, 1]", path, rr->coverage);
      return FALSE;
    }
    if (!non_negative (path, "amount", rr->amount, error) ||
        !non_negative (path, "upper", rr->upper, error) ||
        !non_negative (path, "overhead", rr->overhead, error))
      return FALSE;
    model = amigo_json_get_string (ro, "reservation JSON", path, "model", error);
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
  if (!amigo_json_get_int (root, "reservation JSON", "", "version", 1, &version, error))
    return FALSE;
  if (version != RESERVATION_JSON_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "reservation JSON version %" G_GINT64_FORMAT " is not supported (expected %d)", version, RESERVATION_JSON_VERSION);
    return FALSE;
  }
  if (!amigo_json_get_double (root, "reservation JSON", "", "quantile", FALSE, &res.quantile, error))
    return FALSE;
  if (!(res.quantile > 0.5 && res.quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation JSON: 'quantile' = %g is outside (0.5, 1)", res.quantile);
    return FALSE;
  }
  if (!amigo_json_get_int (root, "reservation JSON", "", "horizon_usec", 0, &res.horizon_usec, error) ||
      !amigo_json_get_int (root, "reservation JSON", "", "start_usec", G_MININT64, &res.start_usec, error) ||
      !amigo_json_get_int (root, "reservation JSON", "", "end_usec", G_MININT64, &res.end_usec, error))
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
