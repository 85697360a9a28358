/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-plan.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"

void
amigo_migration_plan_input_init (AmigoMigrationPlanInput *input)
{
  memset (input, 0, sizeof *input);
  input->dirty_rate_bytes_s = NAN;
}

void
amigo_migration_plan_clear (AmigoMigrationPlan *plan)
{
  g_free (plan->reason);
  g_free (plan->start_reason);
  memset (plan, 0, sizeof *plan);
}

void
amigo_migration_plan_copy (AmigoMigrationPlan *dest, const AmigoMigrationPlan *src)
{
  *dest = *src;
  dest->reason = g_strdup (src->reason);
  dest->start_reason = g_strdup (src->start_reason);
}

gboolean
amigo_migration_plan_make (const AmigoMigrationPlanInput *input, AmigoMigrationPlan *ret, GError **error)
{
  g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "migration plan: not implemented yet");
  return FALSE;
}

void
amigo_migration_plan_model_estimate (const AmigoMigrationPlan *plan, AmigoOverheadEstimate *ret)
{
  memset (ret, 0, sizeof *ret);
  ret->duration_usec = plan->model_total_usec;
  ret->downtime_usec = plan->model_downtime_usec;
  ret->bytes_sent = plan->model_data_bytes;
}

void
amigo_migration_plan_add_to_dict (const AmigoMigrationPlan *plan, GVariantDict *dict)
{
}

GVariant *
amigo_migration_plan_to_variant (const AmigoMigrationPlan *plan)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  amigo_migration_plan_add_to_dict (plan, &dict);
  return g_variant_dict_end (&dict);
}
