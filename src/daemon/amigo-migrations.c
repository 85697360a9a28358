/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-migrations.h"

#include <libvirt/virterror.h>
#include <math.h>

#include "amigo-error.h"
#include "amigo-log.h"
#include "amigo-migration-log.h"
#include "amigo-migration-options.h"
#include "amigo-migration-plan.h"
#include "amigo-migration-start.h"
#include "amigo-migration-worker.h"
#include "amigo-migration.h"
#include "amigo-slo-policy.h"
#include "amigo-time.h"

/* Between two readings of a running job's statistics (and so between two
 * MigrationProgress signals). */
#define STATS_POLL_USEC AMIGO_USEC_PER_SEC
/* A metadata write found its domain busy (a collector call still out): the
 * next try comes this much later, up to REFRESH_TRIES times; then the
 * migration goes on with the request the metadata already has. */
#define REFRESH_RETRY_MSEC 250
#define REFRESH_TRIES 40

struct _AmigoMigrations {
  AmigoMigrationsContext ctx;
  AmigoMigrationsListener listener;
  gpointer listener_data;
  AmigoMigrationLog *log;
  AmigoSloPolicy *slo;          /* the classes' protected resources (defaults) */
  GHashTable *runs;             /* id -> Run (owned) */
  GHashTable *busy;             /* uuid -> id (borrowed from the run) */
  GThreadPool *saver;           /* the log's writes, one at a time */
};

/* One migration while it runs, on the main loop. */
typedef struct {
  AmigoMigrations *owner;
  AmigoMigrationRecord record;  /* id, domain, uuid, dest_uri, started, plan */
  char *migrate_uri;
  AmigoMigration *machine;
  AmigoMigrationWorker *worker; /* NULL before libvirt's call */
  guint timer_id;
  guint refresh_tries;
  AmigoMigrationsStarted started;   /* Migrate's answer, until given */
  gpointer started_data;
} Run;

static void
run_free (gpointer data)
{
  Run *r = data;

  g_clear_handle_id (&r->timer_id, g_source_remove);
  g_clear_pointer (&r->worker, amigo_migration_worker_release);
  g_clear_pointer (&r->machine, amigo_migration_free);
  amigo_migration_record_clear (&r->record);
  g_free (r->migrate_uri);
  g_free (r);
}

static void
save_log (gpointer data, gpointer user_data)
{
  AmigoMigrations *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!amigo_migration_log_save (self->log, &error))
    g_warning ("cannot save the migration log in '%s': %s", self->ctx.state_dir, error->message);
}

AmigoMigrations *
amigo_migrations_new (const AmigoMigrationsContext *context)
{
  AmigoMigrations *self = g_new0 (AmigoMigrations, 1);
  g_auto (GStrv) warnings = NULL;

  self->ctx = *context;
  self->log = amigo_migration_log_new (context->state_dir);
  warnings = amigo_migration_log_load (self->log);
  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    g_warning ("%s", warnings[i]);
  self->slo = amigo_slo_policy_new ();
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, run_free);
  self->busy = g_hash_table_new (g_str_hash, g_str_equal);
  self->saver = g_thread_pool_new (save_log, self, 1, FALSE, NULL);
  return self;
}

void
amigo_migrations_free (AmigoMigrations *self)
{
  if (self == NULL)
    return;
  g_thread_pool_free (self->saver, FALSE, TRUE);
  g_hash_table_unref (self->busy);
  g_hash_table_unref (self->runs);
  amigo_slo_policy_free (self->slo);
  amigo_migration_log_free (self->log);
  g_free (self);
}

void
amigo_migrations_set_listener (AmigoMigrations *self, const AmigoMigrationsListener *listener, gpointer user_data)
{
  self->listener = *listener;
  self->listener_data = user_data;
}

guint
amigo_migrations_get_n_running (AmigoMigrations *self)
{
  return g_hash_table_size (self->runs);
}

static void
emit_progress (Run *r)
{
  AmigoMigrations *self = r->owner;
  GVariant *v = amigo_migration_progress_to_variant (r->machine);

  if (self->listener.progress != NULL)
    self->listener.progress (self->listener_data, r->record.id, r->record.domain, v);
  else
    g_variant_unref (g_variant_ref_sink (v));
}

/* ---- the end ---- */

/* Takes @r out of the running ones: reports, logs and records it. */
static void
run_end (Run *r, gboolean ok, const char *libvirt_error, const AmigoMigrationStats *completed)
{
  AmigoMigrations *self = r->owner;
  AmigoMigrationOutcome outcome;
  g_autofree char *error = NULL;
  GVariant *result;

  amigo_migration_finish (r->machine, ok, libvirt_error, &outcome, &error);
  r->record.state = outcome;
  g_free (r->record.error);
  r->record.error = g_steal_pointer (&error);
  if (ok && completed != NULL) {
    r->record.measured = TRUE;
    r->record.total_usec = completed->elapsed_usec;
    r->record.downtime_usec = completed->downtime_usec;
    r->record.data_sent_bytes = completed->data_processed_bytes;
  }
  if (outcome == AMIGO_MIGRATION_OUTCOME_COMPLETED)
    amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain,
                      "migration %s of '%s' to '%s' completed%s", r->record.id, r->record.domain,
                      r->record.dest_uri, r->record.measured ? "" : " (no completed job statistics)");
  else
    amigo_log_domain (G_LOG_LEVEL_WARNING, r->record.uuid, r->record.domain, "migration %s of '%s' to '%s' %s: %s",
                      r->record.id, r->record.domain, r->record.dest_uri,
                      amigo_migration_outcome_to_string (outcome), r->record.error);
  if (r->record.measured)
    amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain,
                      "migration %s measured: total %" G_GINT64_FORMAT " ms (predicted %" G_GINT64_FORMAT
                      "), downtime %" G_GINT64_FORMAT " ms (predicted %" G_GINT64_FORMAT "), %.1f MiB sent "
                      "(predicted %.1f)", r->record.id, r->record.total_usec / 1000,
                      r->record.plan.predicted_total_usec / 1000, r->record.downtime_usec / 1000,
                      r->record.plan.predicted_downtime_usec / 1000,
                      (double) r->record.data_sent_bytes / AMIGO_BYTES_PER_MIB,
                      (double) r->record.plan.predicted_data_bytes / AMIGO_BYTES_PER_MIB);
  result = amigo_migration_record_result_to_variant (&r->record);
  if (self->listener.finished != NULL)
    self->listener.finished (self->listener_data, r->record.id, r->record.domain, result);
  else
    g_variant_unref (g_variant_ref_sink (result));
  if (amigo_migration_log_add (self->log, &r->record))
    g_debug ("the overhead calibration learned from migration %s", r->record.id);
  g_thread_pool_push (self->saver, GINT_TO_POINTER (1), NULL);
  g_hash_table_remove (self->busy, r->record.uuid);
  g_hash_table_remove (self->runs, r->record.id);
}

/* ---- libvirt's side (amigo-migration-worker), on the main loop ---- */

static void
do_action (Run *r, AmigoMigrationAction action)
{
  if (action == AMIGO_MIGRATION_ACTION_NONE || r->worker == NULL)
    return;
  amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain, "migration %s of '%s': %s", r->record.id,
                    r->record.domain, action == AMIGO_MIGRATION_ACTION_ABORT ? "aborting the job"
                                                                           : "switching to post-copy");
  amigo_migration_worker_command (r->worker, action == AMIGO_MIGRATION_ACTION_ABORT ? AMIGO_MIGRATION_COMMAND_ABORT
                                                                                  : AMIGO_MIGRATION_COMMAND_POSTCOPY);
}

static void
on_sample (gpointer user_data, const AmigoMigrationStats *stats, const char *error)
{
  Run *r = user_data;

  if (stats == NULL)
    g_debug ("migration %s: no job statistics this time: %s", r->record.id, error);
  do_action (r, amigo_migration_feed (r->machine, stats));
  if (stats != NULL)
    emit_progress (r);
}

static void
on_command_done (gpointer user_data, AmigoMigrationCommand command, const char *error)
{
  Run *r = user_data;
  const char *what = command == AMIGO_MIGRATION_COMMAND_ABORT ? "abort the job"
                     : command == AMIGO_MIGRATION_COMMAND_POSTCOPY ? "switch to post-copy"
                     : "set the downtime limit";

  if (error == NULL) {
    g_debug ("migration %s: did %s", r->record.id, what);
    if (command == AMIGO_MIGRATION_COMMAND_POSTCOPY) {
      amigo_migration_postcopy_started (r->machine);
      emit_progress (r);
    }
    return;
  }
  amigo_log_domain (G_LOG_LEVEL_WARNING, r->record.uuid, r->record.domain, "migration %s of '%s': cannot %s: %s",
                    r->record.id, r->record.domain, what, error);
  if (command == AMIGO_MIGRATION_COMMAND_ABORT)
    amigo_migration_abort_failed (r->machine);
  else if (command == AMIGO_MIGRATION_COMMAND_POSTCOPY)
    amigo_migration_postcopy_failed (r->machine);
}

static void
on_ended (gpointer user_data, gboolean ok, const char *error, const AmigoMigrationStats *completed)
{
  run_end (user_data, ok, error, completed);
}

/* ---- the steps before libvirt's call ---- */

static gboolean
run_begin (gpointer data)
{
  Run *r = data;
  AmigoMigrations *self = r->owner;
  virConnectPtr conn = amigo_connection_get (self->ctx.connection);
  AmigoMigrationMode mode = r->record.plan.mode;
  AmigoMigrationWorkerEvents events = { on_sample, on_command_done, on_ended };
  AmigoMigrationWorkerParams params = {
    .uuid = r->record.uuid,
    .dest_uri = r->record.dest_uri,
    .migrate_uri = r->migrate_uri,
    .bandwidth_mib_s = r->record.plan.bandwidth_mib_s,
    .downtime_limit_ms = r->record.plan.downtime_limit_ms,
    /* peer to peer: the source's libvirtd connects to the destination
     * itself; the only way virDomainMigrateToURI3 migrates a QEMU domain */
    .flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
             (mode == AMIGO_MIGRATION_MODE_AUTO_CONVERGE ? VIR_MIGRATE_AUTO_CONVERGE : 0) |
             (mode == AMIGO_MIGRATION_MODE_POSTCOPY ? VIR_MIGRATE_POSTCOPY : 0),
    .poll_usec = STATS_POLL_USEC,
  };

  r->timer_id = 0;
  if (conn == NULL) {
    amigo_migration_start (r->machine);
    run_end (r, FALSE, "amigod is not connected to libvirt", NULL);
    return G_SOURCE_REMOVE;
  }
  amigo_migration_start (r->machine);
  emit_progress (r);
  amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain,
                    "migration %s: migrating '%s' to '%s' (%s, %.0f MiB/s, downtime limit %u ms)", r->record.id,
                    r->record.domain, r->record.dest_uri, amigo_migration_mode_to_string (mode),
                    r->record.plan.bandwidth_mib_s, r->record.plan.downtime_limit_ms);
  r->worker = amigo_migration_worker_start (conn, &params, &events, r);
  return G_SOURCE_REMOVE;
}

static void
run_wait (Run *r)
{
  gint64 now = amigo_clock_get_wall_usec (r->owner->ctx.clock);
  gint64 delay_usec = MAX (0, r->record.plan.start_at_usec - now);

  amigo_migration_wait (r->machine, r->record.plan.start_at_usec);
  emit_progress (r);
  r->timer_id = delay_usec > 0 ? g_timeout_add ((guint) MIN (delay_usec / 1000, G_MAXUINT), run_begin, r)
                               : g_idle_add (run_begin, r);
}

typedef struct {
  AmigoMigrations *owner;
  char *id;
} RunRef;

static void
run_ref_free (gpointer data)
{
  RunRef *ref = data;

  g_free (ref->id);
  g_free (ref);
}

static void
on_request_written (const char *uuid, const GError *error, gpointer user_data)
{
  RunRef *ref = user_data;
  Run *r = g_hash_table_lookup (ref->owner->runs, ref->id);

  if (r == NULL || amigo_migration_get_phase (r->machine) != AMIGO_MIGRATION_PHASE_REFRESHING)
    return;   /* cancelled meanwhile */
  if (error != NULL)
    amigo_log_domain (G_LOG_LEVEL_WARNING, r->record.uuid, r->record.domain,
                      "migration %s: cannot refresh the reservation request in the metadata of '%s', the "
                      "destination reads the one written before: %s", r->record.id, r->record.domain,
                      error->message);
  run_wait (r);
}

static gboolean
run_refresh (gpointer data)
{
  Run *r = data;
  AmigoMigrations *self = r->owner;
  virConnectPtr conn = amigo_connection_get (self->ctx.connection);
  g_autoptr (GError) error = NULL;
  RunRef *ref;

  r->timer_id = 0;
  if (r->refresh_tries++ == 0) {
    AmigoRequest request;
    AmigoMigrationWindow window;

    emit_progress (r);
    /* computed now unless the kept one is fresh: the write below carries it */
    if (!amigo_requests_get (self->ctx.requests, r->record.uuid, NULL, &request, &window, &error)) {
      amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain,
                        "migration %s: no reservation request for '%s' (the destination uses its class "
                        "prior): %s", r->record.id, r->record.domain, error->message);
      g_clear_error (&error);
    }
  }
  if (conn == NULL) {
    run_wait (r);
    return G_SOURCE_REMOVE;
  }
  ref = g_new0 (RunRef, 1);
  ref->owner = self;
  ref->id = g_strdup (r->record.id);
  if (amigo_metadata_writer_write_now (self->ctx.metadata_writer, conn, r->record.uuid, on_request_written, ref,
                                       run_ref_free, &error))
    return G_SOURCE_REMOVE;
  if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY) && r->refresh_tries < REFRESH_TRIES) {
    r->timer_id = g_timeout_add (REFRESH_RETRY_MSEC, run_refresh, r);
    return G_SOURCE_REMOVE;
  }
  amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain,
                    "migration %s: the metadata of '%s' not refreshed: %s", r->record.id, r->record.domain,
                    error->message);
  run_wait (r);
  return G_SOURCE_REMOVE;
}

/* ---- Migrate ---- */

/* The plan's input from what the last poll saw of @d. */
static gboolean
plan_input (AmigoMigrations *self,
            const AmigoTrackedDomain *d,
            const AmigoMigrationOptions *options,
            const AmigoOverheadCalibration *calibration,
            AmigoMigrationPlanInput *ret,
            GError **error)
{
  const AmigoRequest *kept = amigo_requests_get_kept (self->ctx.requests, d->uuid);
  double memory_gib = d->last.values[AMIGO_METRIC_HOST_MEMORY];
  double dirty_mib_s = d->last.values[AMIGO_METRIC_DIRTY_RATE];
  const char *label = amigo_requests_get_label (self->ctx.requests, d->uuid);

  amigo_migration_plan_input_init (ret);
  /* QEMU sends every page the guest has touched, its page cache and freed
   * pages included, which the balloon's "in use" leaves out (lab: 25 MiB in
   * use, 95 MiB sent); QEMU's resident size holds all of them (and QEMU's
   * own, so it errs on the long side, the safe one for timeouts). The
   * guest's own figure when the resident size is unknown. */
  if (isnan (memory_gib) || memory_gib <= 0)
    memory_gib = d->last.values[AMIGO_METRIC_MEMORY];
  if (isnan (memory_gib) || memory_gib <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "no memory figure for '%s' yet: try again after the next poll", d->name);
    return FALSE;
  }
  ret->memory_bytes = (guint64) (memory_gib * AMIGO_BYTES_PER_GIB);
  ret->dirty_rate_bytes_s = isnan (dirty_mib_s) ? NAN : MAX (0.0, dirty_mib_s) * AMIGO_BYTES_PER_MIB;
  if (label != NULL)
    amigo_workload_class_from_string (label, &ret->klass);
  else if (kept != NULL)
    ret->klass = kept->reservation.classification.klass;
  memcpy (ret->protects, amigo_slo_policy_get_class (self->slo, ret->klass)->protects, sizeof ret->protects);
  ret->link_bytes_s = self->ctx.link_bytes_s;
  ret->options = options;
  ret->calibration = calibration;
  return TRUE;
}

/* Migrate's answer with the plan as it stands, then the first step. */
static void
run_reply (Run *r)
{
  AmigoMigrationsStarted started = r->started;

  r->started = NULL;
  if (started != NULL)
    started (r->started_data, r->record.id, amigo_migration_plan_to_variant (&r->record.plan));
  if (r->timer_id == 0)
    r->timer_id = g_idle_add (run_refresh, r);
}

static void
on_start_chosen (gpointer user_data, gint64 start_usec, const char *reason)
{
  RunRef *ref = user_data;
  Run *r = g_hash_table_lookup (ref->owner->runs, ref->id);

  if (r == NULL)
    return;
  r->record.plan.start_at_usec = start_usec;
  g_free (r->record.plan.start_reason);
  r->record.plan.start_reason = g_strdup (reason);
  amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain, "migration %s of '%s': %s", r->record.id,
                    r->record.domain, reason);
  run_reply (r);
}

gboolean
amigo_migrations_start (AmigoMigrations *self,
                        const char *uuid,
                        const char *dest_uri,
                        GVariant *options,
                        AmigoMigrationsStarted started,
                        gpointer user_data,
                        GError **error)
{
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->ctx.domains, uuid);
  g_auto (AmigoMigrationOptions) opts = { 0 };
  g_auto (AmigoMigrationPlan) plan = { 0 };
  AmigoOverheadCalibration calibration;
  AmigoMigrationPlanInput input;
  const char *running;
  Run *r;

  if (amigo_connection_get (self->ctx.connection) == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED, "amigod is not connected to libvirt");
    return FALSE;
  }
  if (d == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no running domain '%s' on this host", uuid);
    return FALSE;
  }
  if (!amigo_migration_check_dest_uri (dest_uri, error))
    return FALSE;
  amigo_migration_options_init (&opts);
  if (options != NULL && !amigo_migration_options_parse (options, &opts, error))
    return FALSE;
  running = g_hash_table_lookup (self->busy, uuid);
  if (running != NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY, "'%s' is already migrating (migration %s)", d->name,
                 running);
    return FALSE;
  }
  amigo_migration_log_get_calibration (self->log, &calibration);
  if (!plan_input (self, d, &opts, &calibration, &input, error))
    return FALSE;
  if (!amigo_migration_plan_make (&input, &plan, error))
    return FALSE;
  /* the start within a deadline is chosen before Migrate answers */
  plan.start_at_usec = amigo_clock_get_wall_usec (self->ctx.clock);
  g_clear_pointer (&plan.start_reason, g_free);
  plan.start_reason = g_strdup ("starting now: no deadline given");

  r = g_new0 (Run, 1);
  r->owner = self;
  amigo_migration_record_init (&r->record);
  r->record.id = g_uuid_string_random ();
  r->record.domain = g_strdup (d->name);
  r->record.uuid = g_strdup (uuid);
  r->record.dest_uri = g_strdup (dest_uri);
  r->record.started_usec = amigo_clock_get_wall_usec (self->ctx.clock);
  amigo_migration_plan_copy (&r->record.plan, &plan);
  r->migrate_uri = g_strdup (opts.migrate_uri);
  r->machine = amigo_migration_new (self->ctx.clock, &plan);
  g_hash_table_insert (self->runs, r->record.id, r);
  g_hash_table_insert (self->busy, r->record.uuid, r->record.id);
  amigo_log_domain (G_LOG_LEVEL_INFO, uuid, d->name, "migration %s of '%s' to '%s': %s: %s", r->record.id, d->name,
                    dest_uri, amigo_migration_mode_to_string (plan.mode), plan.reason);
  r->started = started;
  r->started_data = user_data;
  if (opts.deadline_usec > 0 && self->ctx.history != NULL) {
    RunRef *ref = g_new0 (RunRef, 1);

    ref->owner = self;
    ref->id = g_strdup (r->record.id);
    amigo_migration_start_choose (self->ctx.history, uuid, plan.start_at_usec, opts.deadline_usec,
                                  plan.predicted_total_usec, on_start_chosen, ref, run_ref_free);
    return TRUE;
  }
  run_reply (r);
  return TRUE;
}

gboolean
amigo_migrations_cancel (AmigoMigrations *self, const char *id, GError **error)
{
  Run *r = id != NULL ? g_hash_table_lookup (self->runs, id) : NULL;
  AmigoMigrationAction action;

  if (r == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no running migration '%s'", id != NULL ? id : "");
    return FALSE;
  }
  amigo_log_domain (G_LOG_LEVEL_INFO, r->record.uuid, r->record.domain, "migration %s of '%s': cancel asked in phase %s",
                    r->record.id, r->record.domain, amigo_migration_phase_to_string (amigo_migration_get_phase (r->machine)));
  /* a Migrate still choosing its start gets its answer first */
  if (r->started != NULL) {
    r->record.plan.start_at_usec = amigo_clock_get_wall_usec (self->ctx.clock);
    run_reply (r);
  }
  action = amigo_migration_cancel (r->machine);
  if (r->worker == NULL) {
    /* libvirt was not asked yet: nothing to abort */
    run_end (r, FALSE, NULL, NULL);
    return TRUE;
  }
  do_action (r, action);
  return TRUE;
}

GVariant *
amigo_migrations_list (AmigoMigrations *self)
{
  GVariantBuilder builder;
  g_autoptr (GVariant) past = g_variant_ref_sink (amigo_migration_log_to_variant (self->log));
  GHashTableIter iter;
  Run *r;
  GVariantIter it;
  GVariant *child;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &r))
    g_variant_builder_add_value (&builder, amigo_migration_record_to_variant (&r->record));
  g_variant_iter_init (&it, past);
  while ((child = g_variant_iter_next_value (&it)) != NULL) {
    g_variant_builder_add_value (&builder, child);
    g_variant_unref (child);
  }
  return g_variant_builder_end (&builder);
}
