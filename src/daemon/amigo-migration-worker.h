/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libvirt side of one outgoing migration, in threads of its own (never
 * the job runner's: the collector and the metadata writer take one call per
 * domain there, and these calls must never be skipped behind the
 * migration's): one thread makes the migration call, which blocks until
 * the end; a second reads the job statistics about once a second (and sets
 * the downtime limit once the job runs); each call that acts on the running
 * job (abort, switch to post-copy) gets a short thread of its own, so a
 * cancel never waits behind a statistics call (libvirt held single ones for
 * 2.4 s). Every result comes back as an event on the main context the
 * worker was started in. docs/orchestration.md says what libvirt 9.0 does
 * with these calls. */

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-migration-stats.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationCommand:
 * @AMIGO_MIGRATION_COMMAND_ABORT: virDomainAbortJob.
 * @AMIGO_MIGRATION_COMMAND_POSTCOPY: virDomainMigrateStartPostCopy.
 *
 * What the main loop asks of the running job.
 */
typedef enum {
  AMIGO_MIGRATION_COMMAND_ABORT = 1,
  AMIGO_MIGRATION_COMMAND_POSTCOPY,
} AmigoMigrationCommand;

/**
 * AmigoMigrationWorkerEvents:
 * @sample: one reading of the job statistics, or NULL with @error when it
 *   could not be read.
 * @command_done: a command's result (@error NULL on success); also for
 *   setting the downtime limit (@command 0) once the job runs.
 * @ended: the migration call returned: @ok, libvirt's @error when it
 *   failed, and the completed job statistics when they could be read
 *   (nullable; from the source, or from the destination when the source no
 *   longer has the domain).
 *
 * Called on the main context with the worker's @user_data; never after
 * amigo_migration_worker_release().
 */
typedef struct {
  void (*sample) (gpointer user_data, const AmigoMigrationStats *stats, const char *error);
  void (*command_done) (gpointer user_data, AmigoMigrationCommand command, const char *error);
  void (*ended) (gpointer user_data, gboolean ok, const char *error, const AmigoMigrationStats *completed);
} AmigoMigrationWorkerEvents;

/**
 * AmigoMigrationWorkerParams:
 * @uuid: the domain.
 * @dest_uri: the destination's libvirt URI (peer to peer: the source's
 *   libvirtd connects to it).
 * @migrate_uri: (nullable): VIR_MIGRATE_PARAM_URI.
 * @bandwidth_mib_s: VIR_MIGRATE_PARAM_BANDWIDTH (rounded up to a whole MiB/s).
 * @downtime_limit_ms: set with virDomainMigrateSetMaxDowntime once the job
 *   runs (libvirt 9.0 has no migration parameter for it); 0 = leave it.
 * @flags: virDomainMigrateFlags (live, peer to peer, and the mode's).
 * @poll_usec: between two readings of the job statistics.
 */
typedef struct {
  const char *uuid;
  const char *dest_uri;
  const char *migrate_uri;
  double bandwidth_mib_s;
  guint32 downtime_limit_ms;
  unsigned int flags;
  gint64 poll_usec;
} AmigoMigrationWorkerParams;

typedef struct _AmigoMigrationWorker AmigoMigrationWorker;

/* Starts both threads on @conn (referenced). Main context only. */
AmigoMigrationWorker *amigo_migration_worker_start (virConnectPtr conn,
                                                    const AmigoMigrationWorkerParams *params,
                                                    const AmigoMigrationWorkerEvents *events,
                                                    gpointer user_data);

/* Makes @command in a thread of its own (at once, whatever the statistics
 * thread waits for); its result comes as @command_done. */
void amigo_migration_worker_command (AmigoMigrationWorker *self, AmigoMigrationCommand command);

/* The owner lets go: no event is delivered any more; the threads end on
 * their own (the migration call only when libvirt returns). */
void amigo_migration_worker_release (AmigoMigrationWorker *self);

G_END_DECLS
