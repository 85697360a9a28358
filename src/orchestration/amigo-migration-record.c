/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-record.h"

#include <math.h>
#include <string.h>

#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-json.h"

AMIGO_ENUM_IMPL (amigo_migration_outcome, AmigoMigrationOutcome, AMIGO_MIGRATION_OUTCOME_LAST, NULL,
                 [AMIGO_MIGRATION_OUTCOME_RUNNING] = "running",
                 [AMIGO_MIGRATION_OUTCOME_COMPLETED] = "completed",
                 [AMIGO_MIGRATION_OUTCOME_FAILED] = "failed",
                 [AMIGO_MIGRATION_OUTCOME_CANCELLED] = "cancelled",
                 [AMIGO_MIGRATION_OUTCOME_REFUSED] = "refused",
                 [AMIGO_MIGRATION_OUTCOME_TIMEOUT] = "timeout")
AMIGO_ENUM_IMPL_FROM_STRING (amigo_migration_outcome, AmigoMigrationOutcome,
                             AMIGO_ENUM_NAMES (amigo_migration_outcome_names))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_migration_outcome, AMIGO_ENUM_NAMES (amigo_migration_outcome_names))

void
amigo_migration_record_init (AmigoMigrationRecord *record)
{
  memset (record, 0, sizeof *record);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    record->dest_usage[r] = NAN;
}

void
amigo_migration_record_clear (AmigoMigrationRecord *record)
{
  g_free (record->id);
  g_free (record->domain);
  g_free (record->uuid);
  g_free (record->dest_uri);
  g_free (record->error);
  amigo_migration_plan_clear (&record->plan);
  amigo_migration_record_init (record);
}

void
amigo_migration_record_copy (AmigoMigrationRecord *dest, const AmigoMigrationRecord *src)
{
  *dest = *src;
  dest->id = g_strdup (src->id);
  dest->domain = g_strdup (src->domain);
  dest->uuid = g_strdup (src->uuid);
  dest->dest_uri = g_strdup (src->dest_uri);
  dest->error = g_strdup (src->error);
  amigo_migration_plan_copy (&dest->plan, &src->plan);
}

/* A usage figure given: what the writers keep (NAN = not given; nothing
 * negative or infinite is a usage). */
static gboolean
usage_given (double v)
{
  return isfinite (v) && v >= 0;
}

GVariant *
amigo_migration_record_result_to_variant (const AmigoMigrationRecord *record)
{
  GVariantDict dict;
  GVariantBuilder usage;
  gboolean any_usage = FALSE;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "state", "s", amigo_migration_outcome_to_string (record->state) ?: "");
  if (record->error != NULL)
    g_variant_dict_insert (&dict, "error", "s", record->error);
  if (record->measured) {
    g_variant_dict_insert (&dict, "total_usec", "x", record->total_usec);
    g_variant_dict_insert (&dict, "downtime_usec", "x", record->downtime_usec);
    g_variant_dict_insert (&dict, "data_sent_bytes", "t", record->data_sent_bytes);
  }
  g_variant_dict_insert (&dict, "predicted_total_usec", "x", record->plan.predicted_total_usec);
  g_variant_dict_insert (&dict, "predicted_downtime_usec", "x", record->plan.predicted_downtime_usec);
  g_variant_dict_insert (&dict, "predicted_data_bytes", "t", record->plan.predicted_data_bytes);
  g_variant_builder_init (&usage, G_VARIANT_TYPE ("a{sd}"));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (usage_given (record->dest_usage[r])) {
      g_variant_builder_add (&usage, "{sd}", amigo_resource_to_string (r), record->dest_usage[r]);
      any_usage = TRUE;
    }
  }
  if (any_usage)
    g_variant_dict_insert_value (&dict, "dest_usage", g_variant_builder_end (&usage));
  else
    g_variant_builder_clear (&usage);
  return g_variant_dict_end (&dict);
}

GVariant *
amigo_migration_record_to_variant (const AmigoMigrationRecord *record)
{
  g_autoptr (GVariant) result = g_variant_ref_sink (amigo_migration_record_result_to_variant (record));
  GVariantDict dict;

  g_variant_dict_init (&dict, result);
  g_variant_dict_insert (&dict, "id", "s", record->id ?: "");
  g_variant_dict_insert (&dict, "domain", "s", record->domain ?: "");
  g_variant_dict_insert (&dict, "uuid", "s", record->uuid ?: "");
  g_variant_dict_insert (&dict, "dest_uri", "s", record->dest_uri ?: "");
  g_variant_dict_insert (&dict, "started_usec", "x", record->started_usec);
  amigo_migration_plan_add_to_dict (&record->plan, &dict);
  return g_variant_dict_end (&dict);
}

/* JSON form (docs/migration.md, "The migration log"). */

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

/* Durations and sizes are never negative in the file (the reader checks). */
static void
add_usec (JsonBuilder *b, const char *name, gint64 value)
{
  add_int (b, name, MAX (value, 0));
}

static void
add_bytes (JsonBuilder *b, const char *name, guint64 value)
{
  add_int (b, name, (gint64) MIN (value, (guint64) G_MAXINT64));
}

static void
add_boolean (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
build_plan_json (const AmigoMigrationPlan *p, JsonBuilder *b)
{
  json_builder_begin_object (b);
  add_string (b, "mode", amigo_migration_mode_to_string (p->mode));
  add_boolean (b, "forced", p->forced);
  add_string (b, "reason", p->reason);
  amigo_json_builder_add_double (b, "bandwidth_mib_s", p->bandwidth_mib_s);
  add_int (b, "downtime_limit_ms", p->downtime_limit_ms);
  add_int (b, "start_at_usec", p->start_at_usec);
  add_string (b, "start_reason", p->start_reason);
  add_usec (b, "stall_timeout_usec", p->stall_timeout_usec);
  add_usec (b, "timeout_usec", p->timeout_usec);
  add_usec (b, "predicted_total_usec", p->predicted_total_usec);
  add_usec (b, "predicted_downtime_usec", p->predicted_downtime_usec);
  add_bytes (b, "predicted_data_bytes", p->predicted_data_bytes);
  add_boolean (b, "converges", p->converges);
  add_usec (b, "model_total_usec", p->model_total_usec);
  add_usec (b, "model_downtime_usec", p->model_downtime_usec);
  add_bytes (b, "model_data_bytes", p->model_data_bytes);
  json_builder_end_object (b);
}

void
amigo_migration_record_build_json (const AmigoMigrationRecord *record, JsonBuilder *b)
{
  json_builder_begin_object (b);
  add_string (b, "id", record->id);
  add_string (b, "domain", record->domain);
  add_string (b, "uuid", record->uuid);
  add_string (b, "dest_uri", record->dest_uri);
  add_int (b, "started_usec", record->started_usec);
  add_string (b, "state", amigo_migration_outcome_to_string (record->state));
  add_string (b, "error", record->error);
  json_builder_set_member_name (b, "plan");
  build_plan_json (&record->plan, b);
  json_builder_set_member_name (b, "measured");
  if (record->measured) {
    json_builder_begin_object (b);
    add_usec (b, "total_usec", record->total_usec);
    add_usec (b, "downtime_usec", record->downtime_usec);
    add_bytes (b, "data_sent_bytes", record->data_sent_bytes);
    json_builder_end_object (b);
  } else {
    json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "dest_usage");
  json_builder_begin_object (b);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (usage_given (record->dest_usage[r]))
      amigo_json_builder_add_double (b, amigo_resource_to_string (r), record->dest_usage[r]);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
}

/* Where a member is read from: the document and the path of its object. */
typedef struct {
  JsonObject *obj;
  const char *what;
  const char *path;
} JsonPlace;

/* A string member, present; null reads as NULL (what the writer writes
 * for a string not set). */
static gboolean
read_string (const JsonPlace *at, const char *name, char **ret, GError **error)
{
  JsonNode *n = amigo_json_member (at->obj, at->what, at->path, name, error);
  const char *s;

  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  s = amigo_json_get_string (at->obj, at->what, at->path, name, error);
  if (s == NULL)
    return FALSE;
  *ret = g_strdup (s);
  return TRUE;
}

/* An integer in [min, max]. */
static gboolean
read_int (const JsonPlace *at, const char *name, gint64 min, gint64 max, gint64 *ret, GError **error)
{
  if (!amigo_json_get_int (at->obj, at->what, at->path, name, min, ret, error))
    return FALSE;
  if (*ret > max) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' = %" G_GINT64_FORMAT " is above %" G_GINT64_FORMAT,
                 at->what, at->path, name, *ret, max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_usec (const JsonPlace *at, const char *name, gint64 *ret, GError **error)
{
  return read_int (at, name, 0, G_MAXINT64, ret, error);
}

static gboolean
read_bytes (const JsonPlace *at, const char *name, guint64 *ret, GError **error)
{
  gint64 v;

  if (!read_int (at, name, 0, G_MAXINT64, &v, error))
    return FALSE;
  *ret = (guint64) v;
  return TRUE;
}

/* "'plan.mode' is 'fast': expected one of precopy, ..." */
static gboolean
set_name_error (const JsonPlace *at, const char *name, const char *value, const char *names, GError **error)
{
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' is '%s': expected one of %s", at->what, at->path,
               name, value, names);
  return FALSE;
}

static gboolean
read_plan (const JsonPlace *at, AmigoMigrationPlan *p, GError **error)
{
  gint64 v;
  double bw;

  const char *mode_name = amigo_json_get_string (at->obj, at->what, at->path, "mode", error);
  AmigoMigrationMode mode;

  if (mode_name == NULL)
    return FALSE;
  /* "auto" only in a record whose migration ended before it had a plan. */
  if (!amigo_migration_mode_from_string (mode_name, &mode)) {
    g_autofree char *names = amigo_migration_mode_join_names (NULL);
    return set_name_error (at, "mode", mode_name, names, error);
  }
  p->mode = mode;
  if (!amigo_json_get_boolean (at->obj, at->what, at->path, "forced", &p->forced, error) ||
      !read_string (at, "reason", &p->reason, error) ||
      !amigo_json_get_double (at->obj, at->what, at->path, "bandwidth_mib_s", TRUE, &bw, error))
    return FALSE;
  if (!isnan (bw) && !(bw >= 0 && bw <= AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%sbandwidth_mib_s' = %g is outside 0 to %g", at->what,
                 at->path, bw, AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S);
    return FALSE;
  }
  p->bandwidth_mib_s = bw;
  if (!read_int (at, "downtime_limit_ms", 0, AMIGO_MIGRATION_DOWNTIME_LIMIT_MAX_MS, &v, error))
    return FALSE;
  p->downtime_limit_ms = (guint32) v;
  return read_int (at, "start_at_usec", G_MININT64, G_MAXINT64, &p->start_at_usec, error) &&
         read_string (at, "start_reason", &p->start_reason, error) &&
         read_usec (at, "stall_timeout_usec", &p->stall_timeout_usec, error) &&
         read_usec (at, "timeout_usec", &p->timeout_usec, error) &&
         read_usec (at, "predicted_total_usec", &p->predicted_total_usec, error) &&
         read_usec (at, "predicted_downtime_usec", &p->predicted_downtime_usec, error) &&
         read_bytes (at, "predicted_data_bytes", &p->predicted_data_bytes, error) &&
         amigo_json_get_boolean (at->obj, at->what, at->path, "converges", &p->converges, error) &&
         read_usec (at, "model_total_usec", &p->model_total_usec, error) &&
         read_usec (at, "model_downtime_usec", &p->model_downtime_usec, error) &&
         read_bytes (at, "model_data_bytes", &p->model_data_bytes, error);
}

static gboolean
read_dest_usage (const JsonPlace *at, double *usage, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (at->obj);

  for (GList *l = names; l != NULL; l = l->next) {
    const char *name = l->data;
    AmigoResource r;
    double v;

    if (!amigo_resource_from_string (name, &r)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' is not a resource (cpu, memory, network, "
                   "disk or gpu_memory)", at->what, at->path, name);
      return FALSE;
    }
    if (!amigo_json_get_double (at->obj, at->what, at->path, name, FALSE, &v, error))
      return FALSE;
    if (!(isfinite (v) && v >= 0)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' = %g must be 0 or more", at->what, at->path,
                   name, v);
      return FALSE;
    }
    usage[r] = v;
  }
  return TRUE;
}

static gboolean
read_record (const JsonPlace *at, AmigoMigrationRecord *r, GError **error)
{
  g_autofree char *plan_path = g_strconcat (at->path, "plan.", NULL);
  g_autofree char *measured_path = g_strconcat (at->path, "measured.", NULL);
  g_autofree char *usage_path = g_strconcat (at->path, "dest_usage.", NULL);
  JsonPlace sub = { .what = at->what };
  JsonNode *measured;
  const char *state;

  if (!read_string (at, "id", &r->id, error) || !read_string (at, "domain", &r->domain, error) ||
      !read_string (at, "uuid", &r->uuid, error) || !read_string (at, "dest_uri", &r->dest_uri, error) ||
      !read_int (at, "started_usec", G_MININT64, G_MAXINT64, &r->started_usec, error) ||
      (state = amigo_json_get_string (at->obj, at->what, at->path, "state", error)) == NULL ||
      !read_string (at, "error", &r->error, error))
    return FALSE;
  if (!amigo_migration_outcome_from_string (state, &r->state)) {
    g_autofree char *names = amigo_migration_outcome_join_names (NULL);
    return set_name_error (at, "state", state, names, error);
  }

  sub.path = plan_path;
  sub.obj = amigo_json_get_object (at->obj, at->what, at->path, "plan", error);
  if (sub.obj == NULL || !read_plan (&sub, &r->plan, error))
    return FALSE;

  measured = json_object_get_member (at->obj, "measured");
  if (measured != NULL && !JSON_NODE_HOLDS_NULL (measured)) {
    sub.path = measured_path;
    sub.obj = amigo_json_get_object (at->obj, at->what, at->path, "measured", error);
    if (sub.obj == NULL || !read_usec (&sub, "total_usec", &r->total_usec, error) ||
        !read_usec (&sub, "downtime_usec", &r->downtime_usec, error) ||
        !read_bytes (&sub, "data_sent_bytes", &r->data_sent_bytes, error))
      return FALSE;
    r->measured = TRUE;
  }

  if (json_object_has_member (at->obj, "dest_usage")) {
    sub.path = usage_path;
    sub.obj = amigo_json_get_object (at->obj, at->what, at->path, "dest_usage", error);
    if (sub.obj == NULL || !read_dest_usage (&sub, r->dest_usage, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
amigo_migration_record_from_json (JsonObject *obj,
                                  const char *what,
                                  const char *path,
                                  AmigoMigrationRecord *ret,
                                  GError **error)
{
  JsonPlace at = { obj, what, path };

  amigo_migration_record_init (ret);
  if (!read_record (&at, ret, error)) {
    amigo_migration_record_clear (ret);
    return FALSE;
  }
  return TRUE;
}
