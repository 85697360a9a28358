/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One migration's state machine, as pure logic on the common clock: the
 * source's amigod feeds it the job statistics it reads off the main loop
 * and does what it answers (switch to post-copy, abort). It decides a
 * stall and the overall timeout from the plan, makes MigrationProgress's
 * fields and says how the migration ended (completed, failed, cancelled,
 * refused by the destination's admission, timeout). No libvirt calls, no
 * I/O: tests drive it with synthetic statistics on a simulated clock. */

#include <glib.h>

#include "amigo-clock.h"
#include "amigo-migration-plan.h"
#include "amigo-migration-record.h"
#include "amigo-migration-stats.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationPhase:
 * @AMIGO_MIGRATION_PHASE_REFRESHING: writing the domain's reservation
 *   request into its metadata (so the destination's hook reads the current
 *   one).
 * @AMIGO_MIGRATION_PHASE_WAITING: waiting for the start time.
 * @AMIGO_MIGRATION_PHASE_STARTING: libvirt's migration call made, no
 *   transfer seen yet (the destination's admission runs now).
 * @AMIGO_MIGRATION_PHASE_PRECOPY: memory is sent while the guest runs.
 * @AMIGO_MIGRATION_PHASE_POSTCOPY: the guest runs on the destination,
 *   which pulls the pages still missing.
 * @AMIGO_MIGRATION_PHASE_SWITCHOVER: the guest is paused for the last
 *   pages (stop-and-copy).
 * @AMIGO_MIGRATION_PHASE_ENDED: over; the outcome says how.
 *
 * Names (the progress's phase key): "refreshing", "waiting", "starting",
 * "precopy", "postcopy", "switchover", "ended".
 */
typedef enum {
  AMIGO_MIGRATION_PHASE_REFRESHING,
  AMIGO_MIGRATION_PHASE_WAITING,
  AMIGO_MIGRATION_PHASE_STARTING,
  AMIGO_MIGRATION_PHASE_PRECOPY,
  AMIGO_MIGRATION_PHASE_POSTCOPY,
  AMIGO_MIGRATION_PHASE_SWITCHOVER,
  AMIGO_MIGRATION_PHASE_ENDED,
  AMIGO_MIGRATION_PHASE_LAST
} AmigoMigrationPhase;

const char *amigo_migration_phase_to_string (AmigoMigrationPhase phase);

/**
 * AmigoMigrationAction:
 * @AMIGO_MIGRATION_ACTION_NONE: nothing to do.
 * @AMIGO_MIGRATION_ACTION_POSTCOPY: switch to post-copy
 *   (virDomainMigrateStartPostCopy); asked once.
 * @AMIGO_MIGRATION_ACTION_ABORT: abort the job (virDomainAbortJob); asked
 *   again after amigo_migration_abort_failed().
 *
 * What the caller must do after feeding a sample or asking to cancel.
 */
typedef enum {
  AMIGO_MIGRATION_ACTION_NONE,
  AMIGO_MIGRATION_ACTION_POSTCOPY,
  AMIGO_MIGRATION_ACTION_ABORT,
} AmigoMigrationAction;

typedef struct _AmigoMigration AmigoMigration;

/* A migration in phase refreshing. @clock is borrowed (it outlives the
 * migration); @plan is copied: its mode says whether a stall may switch to
 * post-copy (only a post-copy plan starts libvirt with post-copy allowed),
 * its timeouts when to give up. */
AmigoMigration *amigo_migration_new (AmigoClock *clock, const AmigoMigrationPlan *plan);
void amigo_migration_free (AmigoMigration *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoMigration, amigo_migration_free)

AmigoMigrationPhase amigo_migration_get_phase (const AmigoMigration *self);

/* The request is written: waiting until @start_at_usec (wall clock). */
void amigo_migration_wait (AmigoMigration *self, gint64 start_at_usec);

/* libvirt's migration call is being made: the timeouts count from now. */
void amigo_migration_start (AmigoMigration *self);

/* Feeds one reading of the job statistics (NULL: none this time, e.g. the
 * call failed; only the timeouts are checked). Moves the phase, keeps the
 * lowest remaining data, and decides: in pre-copy, a stall (the remaining
 * data not below its lowest for the plan's stall timeout) or the overall
 * timeout switches a post-copy plan to post-copy and aborts any other
 * (the end is then "timeout"); a post-copy plan switches once the first
 * pass over memory is done. Nothing is aborted once post-copy was asked
 * (unless libvirt refused it): the guest's memory may be split between
 * the hosts. */
AmigoMigrationAction amigo_migration_feed (AmigoMigration *self, const AmigoMigrationStats *stats);

/* CancelMigration: ABORT if libvirt's migration was started (repeat it
 * when amigo_migration_abort_failed() says the job was not there yet),
 * NONE before (the caller ends it as cancelled; nothing was started). */
AmigoMigrationAction amigo_migration_cancel (AmigoMigration *self);

/* libvirt switched to post-copy: the phase says so at once (the job
 * statistics may not come again before the end). */
void amigo_migration_postcopy_started (AmigoMigration *self);

/* libvirt refused the switch to post-copy: the migration is still plain
 * pre-copy, which a stall or the timeout may abort again. */
void amigo_migration_postcopy_failed (AmigoMigration *self);

/* The last abort was refused (no job yet, or already switching over): the
 * next sample of a running job asks for it again. */
void amigo_migration_abort_failed (AmigoMigration *self);

/* Whether a cancel was asked. */
gboolean amigo_migration_is_cancelled (const AmigoMigration *self);

/* Ends it: @succeeded is libvirt's answer to the migration call,
 * @libvirt_error its message when it failed (nullable). The outcome is
 * completed when it succeeded (even if a cancel came too late), cancelled
 * when a cancel was asked, timeout when amigo aborted it, refused when
 * the error carries the amigo hook's refusal (then @ret_error is just the
 * destination's reason), else failed with libvirt's message. @ret_error
 * is NULL for completed. */
void amigo_migration_finish (AmigoMigration *self,
                             gboolean succeeded,
                             const char *libvirt_error,
                             AmigoMigrationOutcome *ret_outcome,
                             char **ret_error);

/* The last statistics fed (nothing present before the first). */
const AmigoMigrationStats *amigo_migration_get_stats (const AmigoMigration *self);

/* MigrationProgress's @progress (floating a{sv}): phase, start_at_usec
 * while waiting, and the figures the last statistics gave. */
GVariant *amigo_migration_progress_to_variant (const AmigoMigration *self);

/* The destination's reason when @libvirt_error is libvirt's report of a
 * refusal by amigo-hook ("Hook script execution failed: ... unexpected
 * exit status 1: amigo: REASON"), else NULL. */
char *amigo_migration_refusal_reason (const char *libvirt_error);

G_END_DECLS
