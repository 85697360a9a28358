/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* This host's memory of its past migrations and what they taught: the
 * newest %AMIGO_MIGRATION_LOG_MAX records (state_dir/migrations.json) and
 * the overhead model's calibration (state_dir/overhead-calibration.json),
 * which every completed migration corrects. A damaged file never stops
 * amigod: it is set aside as <file>.damaged and the log starts afresh.
 * Formats in docs/migration.md. */

#include <glib.h>

#include "amigo/amigo-overhead.h"
#include "amigo-migration-record.h"

G_BEGIN_DECLS

/* The records kept, newest first (ListMigrations' promise). */
#define AMIGO_MIGRATION_LOG_MAX 200
#define AMIGO_MIGRATION_LOG_FILE "migrations.json"
#define AMIGO_MIGRATION_CALIBRATION_FILE "overhead-calibration.json"
/* Version of the migrations.json document. */
#define AMIGO_MIGRATION_LOG_VERSION 1
/* Largest migrations.json read: 200 records of about 1.5 KiB, with room. */
#define AMIGO_MIGRATION_LOG_MAX_FILE_BYTES ((gsize) 4 * 1024 * 1024)

typedef struct _AmigoMigrationLog AmigoMigrationLog;

/* An empty log whose files live in @state_dir (NULL: in memory only, save
 * does nothing). No I/O. */
AmigoMigrationLog *amigo_migration_log_new (const char *state_dir);
void amigo_migration_log_free (AmigoMigrationLog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoMigrationLog, amigo_migration_log_free)

/* Reads both files. A file that is absent is a fresh start; a damaged one
 * (unreadable, not JSON, a malformed record, another version) is renamed
 * to <file>.damaged and that part starts afresh. Never fails: returns the
 * warnings for the caller to log (NULL-terminated, empty when all was
 * well), each naming the file and the problem, e.g. "'/var/lib/amigo/
 * migrations.json' is damaged (migrations log: 'migrations[3].state' ...);
 * kept as '/var/lib/amigo/migrations.json.damaged', starting with an empty
 * migration log". Blocks on disk: not on the main loop. */
char **amigo_migration_log_load (AmigoMigrationLog *self);

/* Adds a copy of @record as the newest and drops the oldest beyond
 * %AMIGO_MIGRATION_LOG_MAX. When @record completed with measured figures,
 * the calibration learns from them against the plan's UNcalibrated
 * prediction (amigo_overhead_calibration_observe()); returns TRUE then. */
gboolean amigo_migration_log_add (AmigoMigrationLog *self, const AmigoMigrationRecord *record);

/* Writes both files atomically (amigo_file_write_atomic, mode 0644).
 * Blocks on disk: call it from a worker thread; it may run while the main
 * thread adds (the log holds a lock). */
gboolean amigo_migration_log_save (AmigoMigrationLog *self, GError **error);

/* Records held; the @i-th newest (0 = newest), borrowed until the next
 * amigo_migration_log_add() (main thread only). */
guint amigo_migration_log_get_n_records (AmigoMigrationLog *self);
const AmigoMigrationRecord *amigo_migration_log_get_record (AmigoMigrationLog *self, guint i);

/* The calibration learned so far, for amigo_migration_plan_make(). */
void amigo_migration_log_get_calibration (AmigoMigrationLog *self, AmigoOverheadCalibration *ret);

/* The records as ListMigrations lists them, newest first: an aa{sv}
 * (floating); the daemon puts the running ones before. */
GVariant *amigo_migration_log_to_variant (AmigoMigrationLog *self);

/* The migrations.json document of @records (newest first), and back.
 * amigo_migration_log_parse() fails with AMIGO_ERROR_BAD_DATA naming
 * "migrations log" and the member path, AMIGO_ERROR_NOT_SUPPORTED for
 * another version; on success *@ret_records is a new array of
 * AmigoMigrationRecord (at most %AMIGO_MIGRATION_LOG_MAX, the newest). */
char *amigo_migration_log_format (GArray *records);
gboolean amigo_migration_log_parse (const char *text,
                                    gsize len,
                                    GArray **ret_records,
                                    GError **error);

G_END_DECLS
