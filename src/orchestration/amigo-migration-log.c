/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-log.h"

#include "amigo-error.h"

struct _AmigoMigrationLog {
  GMutex lock;
  char *state_dir;
  GArray *records; /* AmigoMigrationRecord, newest first */
  AmigoOverheadCalibration calibration;
};

static void
record_clear (gpointer p)
{
  amigo_migration_record_clear (p);
}

AmigoMigrationLog *
amigo_migration_log_new (const char *state_dir)
{
  AmigoMigrationLog *self = g_new0 (AmigoMigrationLog, 1);

  g_mutex_init (&self->lock);
  self->state_dir = g_strdup (state_dir);
  self->records = g_array_new (FALSE, TRUE, sizeof (AmigoMigrationRecord));
  g_array_set_clear_func (self->records, record_clear);
  amigo_overhead_calibration_init (&self->calibration);
  return self;
}

void
amigo_migration_log_free (AmigoMigrationLog *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->records);
  g_free (self->state_dir);
  g_mutex_clear (&self->lock);
  g_free (self);
}

char **
amigo_migration_log_load (AmigoMigrationLog *self)
{
  return g_new0 (char *, 1);
}

gboolean
amigo_migration_log_add (AmigoMigrationLog *self, const AmigoMigrationRecord *record)
{
  return FALSE;
}

gboolean
amigo_migration_log_save (AmigoMigrationLog *self, GError **error)
{
  return TRUE;
}

guint
amigo_migration_log_get_n_records (AmigoMigrationLog *self)
{
  return self->records->len;
}

const AmigoMigrationRecord *
amigo_migration_log_get_record (AmigoMigrationLog *self, guint i)
{
  g_return_val_if_fail (i < self->records->len, NULL);
  return &g_array_index (self->records, AmigoMigrationRecord, i);
}

void
amigo_migration_log_get_calibration (AmigoMigrationLog *self, AmigoOverheadCalibration *ret)
{
  g_mutex_lock (&self->lock);
  *ret = self->calibration;
  g_mutex_unlock (&self->lock);
}

GVariant *
amigo_migration_log_to_variant (AmigoMigrationLog *self)
{
  return g_variant_new ("aa{sv}", NULL);
}

char *
amigo_migration_log_format (GArray *records)
{
  return g_strdup ("{}");
}

gboolean
amigo_migration_log_parse (const char *text, gsize len, GArray **ret_records, GError **error)
{
  g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "migrations log: not implemented yet");
  return FALSE;
}
