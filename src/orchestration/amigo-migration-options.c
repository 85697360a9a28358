/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-options.h"

#include <string.h>

#include "amigo-enum.h"
#include "amigo-error.h"

AMIGO_ENUM_IMPL (amigo_migration_mode, AmigoMigrationMode, AMIGO_MIGRATION_MODE_LAST, NULL,
                 [AMIGO_MIGRATION_MODE_AUTO] = "auto",
                 [AMIGO_MIGRATION_MODE_PRECOPY] = "precopy",
                 [AMIGO_MIGRATION_MODE_AUTO_CONVERGE] = "auto-converge",
                 [AMIGO_MIGRATION_MODE_POSTCOPY] = "postcopy")
AMIGO_ENUM_IMPL_FROM_STRING (amigo_migration_mode, AmigoMigrationMode, AMIGO_ENUM_NAMES (amigo_migration_mode_names))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_migration_mode, AMIGO_ENUM_NAMES (amigo_migration_mode_names))

void
amigo_migration_options_init (AmigoMigrationOptions *options)
{
  memset (options, 0, sizeof *options);
}

void
amigo_migration_options_clear (AmigoMigrationOptions *options)
{
  g_free (options->migrate_uri);
  amigo_migration_options_init (options);
}

void
amigo_migration_options_copy (AmigoMigrationOptions *dest, const AmigoMigrationOptions *src)
{
  *dest = *src;
  dest->migrate_uri = g_strdup (src->migrate_uri);
}

gboolean
amigo_migration_options_check (const AmigoMigrationOptions *options, GError **error)
{
  return TRUE;
}

gboolean
amigo_migration_options_parse (GVariant *options, AmigoMigrationOptions *ret, GError **error)
{
  g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "migration options: not implemented yet");
  return FALSE;
}

GVariant *
amigo_migration_options_to_variant (const AmigoMigrationOptions *options)
{
  return g_variant_new ("a{sv}", NULL);
}

gboolean
amigo_migration_check_dest_uri (const char *uri, GError **error)
{
  return TRUE;
}
