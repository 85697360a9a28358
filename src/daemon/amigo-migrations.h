/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The source's side of orchestrated migrations (Migrate, CancelMigration,
 * ListMigrations and the signals MigrationProgress and MigrationFinished,
 * data/org.amigo.Daemon1.xml): checks a request, makes the plan, then in
 * the background refreshes the domain's reservation request in its
 * metadata, waits for the start time, has libvirt migrate (in threads of
 * its own, amigo-migration-worker.h), follows the job through the state
 * machine (amigo-migration.h) and records the end in this host's migration
 * log, whose calibration the next plans use. Everything here runs on the
 * main loop and never waits: libvirt's calls and the log's writes are made
 * in threads. */

#include <gio/gio.h>

#include "amigo-clock.h"
#include "amigo-connection.h"
#include "amigo-domain-table.h"
#include "amigo-history.h"
#include "amigo-metadata-writer.h"
#include "amigo-requests.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationsContext:
 * @connection: the libvirt connection of the source (this host).
 * @domains: the domains tracked now.
 * @requests: their reservation requests.
 * @metadata_writer: writes a refreshed request into a domain's metadata.
 * @clock: the daemon's clock (timeouts and start times).
 * @history: the history store: the series a start within a deadline is
 *   chosen from.
 * @state_dir: (nullable): where the migration log and the calibration are
 *   kept; NULL keeps them in memory only.
 * @link_bytes_s: the migration link ([forecast] link), bytes/s.
 *
 * All borrowed; they outlive the manager (the metadata writer's job runner
 * included: free the runner before the manager).
 */
typedef struct {
  AmigoConnection *connection;
  AmigoDomainTable *domains;
  AmigoRequests *requests;
  AmigoMetadataWriter *metadata_writer;
  AmigoClock *clock;
  AmigoHistory *history;
  const char *state_dir;
  double link_bytes_s;
} AmigoMigrationsContext;

/**
 * AmigoMigrationsListener:
 * @progress: MigrationProgress (@progress is floating).
 * @finished: MigrationFinished (@result is floating).
 */
typedef struct {
  void (*progress) (gpointer user_data, const char *id, const char *domain, GVariant *progress);
  void (*finished) (gpointer user_data, const char *id, const char *domain, GVariant *result);
} AmigoMigrationsListener;

typedef struct _AmigoMigrations AmigoMigrations;

/* Loads the migration log from @context->state_dir (a damaged file is set
 * aside and logged, never fatal). */
AmigoMigrations *amigo_migrations_new (const AmigoMigrationsContext *context);
/* Running migrations are left to libvirt (nothing is aborted); waits for
 * a log write still out. */
void amigo_migrations_free (AmigoMigrations *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoMigrations, amigo_migrations_free)

void amigo_migrations_set_listener (AmigoMigrations *self,
                                    const AmigoMigrationsListener *listener,
                                    gpointer user_data);

/* Migrate's answer: the new migration's @id and its @plan (floating a{sv}). */
typedef void (*AmigoMigrationsStarted) (gpointer user_data, const char *id, GVariant *plan);

/* Migrate for the tracked domain @uuid. Errors (nothing started then, and
 * @started not called): AMIGO_ERROR_NOT_CONNECTED, NOT_FOUND (not running
 * here), INVALID_ARGS (the URI or an option), BUSY (the domain is
 * migrating: the message names that migration). On success @started is
 * called with the id and the plan: before this returns when there is no
 * deadline; with one, once the start within it is chosen (a forecast made
 * in a worker thread, so the plan says when it will start), later on the
 * main loop. The migration goes on in the background. */
gboolean amigo_migrations_start (AmigoMigrations *self,
                                 const char *uuid,
                                 const char *dest_uri,
                                 GVariant *options,
                                 AmigoMigrationsStarted started,
                                 gpointer user_data,
                                 GError **error);

/* CancelMigration: AMIGO_ERROR_NOT_FOUND when no migration @id runs. */
gboolean amigo_migrations_cancel (AmigoMigrations *self, const char *id, GError **error);

/* ListMigrations: the running ones, then the log's, newest first
 * (floating aa{sv}). */
GVariant *amigo_migrations_list (AmigoMigrations *self);

/* Migrations running now. */
guint amigo_migrations_get_n_running (AmigoMigrations *self);

G_END_DECLS
