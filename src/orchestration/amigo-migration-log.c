/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-file.h"
#include "amigo-json.h"

#define LOG_WHAT "migrations log"

struct _AmigoMigrationLog {
  /* @lock guards @records and @calibration: the main thread adds while a
   * worker saves. @save_lock keeps saves in order, so an older snapshot
   * never overwrites a newer one; the main thread never takes it. */
  GMutex lock;
  GMutex save_lock;
  char *state_dir;
  GArray *records; /* AmigoMigrationRecord, newest first */
  AmigoOverheadCalibration calibration;
};

static void
record_clear (gpointer p)
{
  amigo_migration_record_clear (p);
}

static GArray *
record_array_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (AmigoMigrationRecord));

  g_array_set_clear_func (a, record_clear);
  return a;
}

AmigoMigrationLog *
amigo_migration_log_new (const char *state_dir)
{
  AmigoMigrationLog *self = g_new0 (AmigoMigrationLog, 1);

  g_mutex_init (&self->lock);
  g_mutex_init (&self->save_lock);
  self->state_dir = g_strdup (state_dir);
  self->records = record_array_new ();
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
  g_mutex_clear (&self->save_lock);
  g_free (self);
}

char *
amigo_migration_log_format (GArray *records)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, AMIGO_MIGRATION_LOG_VERSION);
  json_builder_set_member_name (b, "migrations");
  json_builder_begin_array (b);
  for (guint i = 0; i < records->len; i++)
    amigo_migration_record_build_json (&g_array_index (records, AmigoMigrationRecord, i), b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return amigo_json_builder_to_string (b);
}

gboolean
amigo_migration_log_parse (const char *text, gsize len, GArray **ret_records, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GArray) records = record_array_new ();
  JsonObject *obj;
  JsonArray *list;
  gint64 version;
  guint n;

  if (len > G_MAXSSIZE) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, LOG_WHAT ": too large");
    return FALSE;
  }
  root = amigo_json_parse_object (text, (gssize) len, LOG_WHAT, error);
  if (root == NULL)
    return FALSE;
  obj = json_node_get_object (root);
  if (!amigo_json_get_int (obj, LOG_WHAT, "", "version", 0, &version, error))
    return FALSE;
  if (version != AMIGO_MIGRATION_LOG_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 LOG_WHAT ": version %" G_GINT64_FORMAT " is not supported (this amigod reads version %d)", version,
                 AMIGO_MIGRATION_LOG_VERSION);
    return FALSE;
  }
  list = amigo_json_get_array (obj, LOG_WHAT, "", "migrations", error);
  if (list == NULL)
    return FALSE;
  /* Newest first: what is beyond the cap is the oldest. */
  n = MIN (json_array_get_length (list), AMIGO_MIGRATION_LOG_MAX);
  for (guint i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element (list, i);
    g_autofree char *path = g_strdup_printf ("migrations[%u].", i);
    AmigoMigrationRecord r;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, LOG_WHAT ": 'migrations[%u]' must be an object", i);
      return FALSE;
    }
    if (!amigo_migration_record_from_json (json_node_get_object (node), LOG_WHAT, path, &r, error))
      return FALSE;
    g_array_append_val (records, r);
  }
  *ret_records = g_steal_pointer (&records);
  return TRUE;
}

/* The contents of @path, at most @max_bytes: TRUE with *@ret_text NULL
 * when the file is absent. */
static gboolean
read_state_file (const char *path, gsize max_bytes, char **ret_text, gsize *ret_len, GError **error)
{
  g_autoptr (GError) local = NULL;
  GStatBuf st;

  *ret_text = NULL;
  *ret_len = 0;
  if (g_stat (path, &st) < 0) {
    if (errno == ENOENT)
      return TRUE;
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read it: %s", g_strerror (errno));
    return FALSE;
  }
  if ((guint64) st.st_size > max_bytes) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "it is %" G_GUINT64_FORMAT " bytes, more than the %"
                 G_GSIZE_FORMAT " it can reach", (guint64) st.st_size, max_bytes);
    return FALSE;
  }
  if (!g_file_get_contents (path, ret_text, ret_len, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read it: %s", local->message);
    return FALSE;
  }
  return TRUE;
}

/* The warning for a state file that could not be used: a damaged one is
 * renamed to <path>.damaged (kept for an administrator, and out of the way
 * of the next save); one that could not be read is left alone. */
static char *
set_aside (const char *path, const GError *problem, const char *fresh_start)
{
  g_autofree char *aside = g_strconcat (path, ".damaged", NULL);

  if (problem->domain == AMIGO_ERROR && problem->code == AMIGO_ERROR_FAILED)
    return g_strdup_printf ("'%s': %s; %s", path, problem->message, fresh_start);
  if (g_rename (path, aside) < 0)
    return g_strdup_printf ("'%s' is damaged (%s) and could not be set aside (%s); %s", path, problem->message,
                            g_strerror (errno), fresh_start);
  return g_strdup_printf ("'%s' is damaged (%s); kept as '%s', %s", path, problem->message, aside, fresh_start);
}

static char *
load_records (AmigoMigrationLog *self)
{
  g_autofree char *path = g_build_filename (self->state_dir, AMIGO_MIGRATION_LOG_FILE, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) records = NULL;
  gsize len;

  if (!read_state_file (path, AMIGO_MIGRATION_LOG_MAX_FILE_BYTES, &text, &len, &error) ||
      (text != NULL && !amigo_migration_log_parse (text, len, &records, &error)))
    return set_aside (path, error, "starting with an empty migration log");
  if (records != NULL) {
    g_mutex_lock (&self->lock);
    g_array_unref (self->records);
    self->records = g_steal_pointer (&records);
    g_mutex_unlock (&self->lock);
  }
  return NULL;
}

static char *
load_calibration (AmigoMigrationLog *self)
{
  g_autofree char *path = g_build_filename (self->state_dir, AMIGO_MIGRATION_CALIBRATION_FILE, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  AmigoOverheadCalibration cal;
  gsize len;

  /* The calibration is a handful of numbers: 64 KiB is ample. */
  if (!read_state_file (path, 64 * 1024, &text, &len, &error) ||
      (text != NULL && !amigo_overhead_calibration_from_json (text, &cal, &error)))
    return set_aside (path, error, "starting with an uncalibrated overhead model");
  if (text != NULL) {
    g_mutex_lock (&self->lock);
    self->calibration = cal;
    g_mutex_unlock (&self->lock);
  }
  return NULL;
}

char **
amigo_migration_log_load (AmigoMigrationLog *self)
{
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  char *w;

  if (self->state_dir != NULL) {
    if ((w = load_records (self)) != NULL)
      g_ptr_array_add (warnings, w);
    if ((w = load_calibration (self)) != NULL)
      g_ptr_array_add (warnings, w);
  }
  g_ptr_array_add (warnings, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
}

gboolean
amigo_migration_log_add (AmigoMigrationLog *self, const AmigoMigrationRecord *record)
{
  AmigoMigrationRecord copy;
  gboolean learned = FALSE;

  amigo_migration_record_copy (&copy, record);
  g_mutex_lock (&self->lock);
  g_array_prepend_val (self->records, copy);
  if (self->records->len > AMIGO_MIGRATION_LOG_MAX)
    g_array_set_size (self->records, AMIGO_MIGRATION_LOG_MAX);
  /* The calibration corrects the model, so it learns against the model's
   * own (uncalibrated) figures, not the corrected ones. */
  if (record->state == AMIGO_MIGRATION_OUTCOME_COMPLETED && record->measured) {
    AmigoOverheadEstimate predicted;

    amigo_migration_plan_model_estimate (&record->plan, &predicted);
    learned = amigo_overhead_calibration_observe (&self->calibration, &predicted, record->total_usec,
                                                  record->data_sent_bytes, record->downtime_usec, NULL);
  }
  g_mutex_unlock (&self->lock);
  return learned;
}

gboolean
amigo_migration_log_save (AmigoMigrationLog *self, GError **error)
{
  g_autofree char *log_path = NULL;
  g_autofree char *cal_path = NULL;
  g_autofree char *log_text = NULL;
  g_autofree char *cal_text = NULL;
  gboolean ok;

  if (self->state_dir == NULL)
    return TRUE;
  log_path = g_build_filename (self->state_dir, AMIGO_MIGRATION_LOG_FILE, NULL);
  cal_path = g_build_filename (self->state_dir, AMIGO_MIGRATION_CALIBRATION_FILE, NULL);
  g_mutex_lock (&self->save_lock);
  g_mutex_lock (&self->lock);
  log_text = amigo_migration_log_format (self->records);
  cal_text = amigo_overhead_calibration_to_json (&self->calibration);
  g_mutex_unlock (&self->lock);
  ok = amigo_file_write_atomic (log_path, log_text, strlen (log_text), 0644, error) &&
       amigo_file_write_atomic (cal_path, cal_text, strlen (cal_text), 0644, error);
  g_mutex_unlock (&self->save_lock);
  return ok;
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
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->records->len; i++)
    g_variant_builder_add_value (&b, amigo_migration_record_to_variant (
                                       &g_array_index (self->records, AmigoMigrationRecord, i)));
  g_mutex_unlock (&self->lock);
  return g_variant_builder_end (&b);
}
