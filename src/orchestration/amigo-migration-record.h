/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One migration as this host remembers it: who, where, the plan, how it
 * ended and what was measured. The keys of ListMigrations and
 * MigrationFinished (data/org.amigo.Daemon1.xml) and the entries of the
 * migration log's file (docs/migration.md). */

#include <glib.h>
#include <json-glib/json-glib.h>

#include "amigo/amigo-series.h"
#include "amigo-migration-plan.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationOutcome:
 * @AMIGO_MIGRATION_OUTCOME_RUNNING: not ended yet ("running").
 * @AMIGO_MIGRATION_OUTCOME_COMPLETED: the domain runs on the destination.
 * @AMIGO_MIGRATION_OUTCOME_FAILED: libvirt or amigo failed; the error says why.
 * @AMIGO_MIGRATION_OUTCOME_CANCELLED: CancelMigration or amigoctl's Ctrl-C.
 * @AMIGO_MIGRATION_OUTCOME_REFUSED: the destination's admission said no
 *   before any memory was copied.
 * @AMIGO_MIGRATION_OUTCOME_TIMEOUT: a stall or the overall timeout aborted it.
 *
 * The state key of MigrationFinished and ListMigrations.
 */
typedef enum {
  AMIGO_MIGRATION_OUTCOME_RUNNING,
  AMIGO_MIGRATION_OUTCOME_COMPLETED,
  AMIGO_MIGRATION_OUTCOME_FAILED,
  AMIGO_MIGRATION_OUTCOME_CANCELLED,
  AMIGO_MIGRATION_OUTCOME_REFUSED,
  AMIGO_MIGRATION_OUTCOME_TIMEOUT,
  AMIGO_MIGRATION_OUTCOME_LAST
} AmigoMigrationOutcome;

const char *amigo_migration_outcome_to_string (AmigoMigrationOutcome outcome);
gboolean amigo_migration_outcome_from_string (const char *name, AmigoMigrationOutcome *ret_outcome);
char *amigo_migration_outcome_join_names (const char *prefix);

/**
 * AmigoMigrationRecord:
 * @id: the migration's id (a UUID string). Owned, as are all strings.
 * @domain: the domain's name.
 * @uuid: the domain's UUID.
 * @dest_uri: the destination's libvirt URI.
 * @started_usec: when Migrate was called (wall clock, epoch usec).
 * @state: how it ended (or running).
 * @error: for every state but completed and running, the cause in one
 *   line; NULL otherwise.
 * @plan: what amigo chose (mode, reason, bandwidth, downtime limit,
 *   timeouts, predicted and uncalibrated figures); all zero (mode auto) if
 *   the migration ended before it had a plan.
 * @measured: TRUE when @total_usec, @downtime_usec and @data_sent_bytes
 *   were measured (libvirt's completed job statistics).
 * @total_usec: measured total time.
 * @downtime_usec: measured downtime.
 * @data_sent_bytes: measured bytes sent.
 * @dest_usage: per #AmigoResource, the destination's usage for the domain
 *   during the migration (cpu cores, memory GiB, network Mbit/s, disk IOPS,
 *   gpu_memory GiB), NAN = not given.
 */
typedef struct {
  char *id;
  char *domain;
  char *uuid;
  char *dest_uri;
  gint64 started_usec;
  AmigoMigrationOutcome state;
  char *error;
  AmigoMigrationPlan plan;
  gboolean measured;
  gint64 total_usec;
  gint64 downtime_usec;
  guint64 data_sent_bytes;
  double dest_usage[AMIGO_RESOURCE_LAST];
} AmigoMigrationRecord;

/* Empty strings NULL, state running, nothing measured, usage NAN. */
void amigo_migration_record_init (AmigoMigrationRecord *record);
/* Frees what @record owns and initialises it again. */
void amigo_migration_record_clear (AmigoMigrationRecord *record);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmigoMigrationRecord, amigo_migration_record_clear)
void amigo_migration_record_copy (AmigoMigrationRecord *dest, const AmigoMigrationRecord *src);

/* MigrationFinished's @result: state, error (when set), total_usec,
 * downtime_usec, data_sent_bytes (when measured), predicted_total_usec,
 * predicted_downtime_usec, predicted_data_bytes, dest_usage (a{sd}, the
 * resources given) (floating). */
GVariant *amigo_migration_record_result_to_variant (const AmigoMigrationRecord *record);

/* One entry of ListMigrations: id, domain, uuid, dest_uri, state,
 * started_usec, the plan's keys and the result's keys (floating). */
GVariant *amigo_migration_record_to_variant (const AmigoMigrationRecord *record);

/* Adds @record as a JSON object to @builder (inside an array or after a
 * member name). */
void amigo_migration_record_build_json (const AmigoMigrationRecord *record, JsonBuilder *builder);

/* Reads a record from @obj; AMIGO_ERROR_BAD_DATA naming @what and the
 * member's path (@path ends in '.', e.g. "migrations[3].") for anything
 * missing, mistyped or out of range. @ret is initialised first and left
 * initialised on failure. */
gboolean amigo_migration_record_from_json (JsonObject *obj,
                                           const char *what,
                                           const char *path,
                                           AmigoMigrationRecord *ret,
                                           GError **error);

G_END_DECLS
