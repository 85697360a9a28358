/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-record.h"

#include <math.h>
#include <string.h>

#include "amigo-enum.h"
#include "amigo-error.h"

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

GVariant *
amigo_migration_record_result_to_variant (const AmigoMigrationRecord *record)
{
  return g_variant_new ("a{sv}", NULL);
}

GVariant *
amigo_migration_record_to_variant (const AmigoMigrationRecord *record)
{
  return g_variant_new ("a{sv}", NULL);
}

void
amigo_migration_record_build_json (const AmigoMigrationRecord *record, JsonBuilder *builder)
{
  json_builder_begin_object (builder);
  json_builder_end_object (builder);
}

gboolean
amigo_migration_record_from_json (JsonObject *obj,
                                  const char *what,
                                  const char *path,
                                  AmigoMigrationRecord *ret,
                                  GError **error)
{
  amigo_migration_record_init (ret);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "%s: not implemented yet", what);
  return FALSE;
}
