/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-migration-worker.h"

#include <libvirt/virterror.h>
#include <math.h>

#include "amigo-time.h"

/* Reading the destination's completed statistics: tries, and the pause
 * between two. */
#define COMPLETED_TRIES 6
#define COMPLETED_RETRY_USEC (500 * AMIGO_USEC_PER_MSEC)


struct _AmigoMigrationWorker {
  gint ref;
  virConnectPtr conn;            /* a reference */
  char uuid[AMIGO_UUID_BUFLEN];
  char *dest_uri;
  char *migrate_uri;
  double bandwidth_mib_s;
  guint32 downtime_limit_ms;
  unsigned int flags;
  gint64 poll_usec;
  GAsyncQueue *stop;             /* one item once the migration call returned */
  GMainContext *context;
  AmigoMigrationWorkerEvents events;
  gpointer user_data;
  gboolean released;             /* main context only */
};

static AmigoMigrationWorker *
worker_ref (AmigoMigrationWorker *self)
{
  g_atomic_int_inc (&self->ref);
  return self;
}

static void
worker_unref (AmigoMigrationWorker *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref))
    return;
  virConnectClose (self->conn);
  g_free (self->dest_uri);
  g_free (self->migrate_uri);
  g_async_queue_unref (self->stop);
  g_main_context_unref (self->context);
  g_free (self);
}

/* ---- events to the main context ---- */

typedef enum { EVENT_SAMPLE, EVENT_COMMAND, EVENT_ENDED } EventKind;

typedef struct {
  AmigoMigrationWorker *worker;  /* a reference */
  EventKind kind;
  gboolean have_stats;
  AmigoMigrationStats stats;
  AmigoMigrationCommand command;
  gboolean ok;
  char *error;
} Event;

static void
event_free (gpointer data)
{
  Event *e = data;

  worker_unref (e->worker);
  g_free (e->error);
  g_free (e);
}

static gboolean
event_dispatch (gpointer data)
{
  Event *e = data;
  AmigoMigrationWorker *w = e->worker;

  if (w->released)
    return G_SOURCE_REMOVE;
  switch (e->kind) {
  case EVENT_SAMPLE:
    w->events.sample (w->user_data, e->have_stats ? &e->stats : NULL, e->error);
    break;
  case EVENT_COMMAND:
    w->events.command_done (w->user_data, e->command, e->error);
    break;
  case EVENT_ENDED:
    w->events.ended (w->user_data, e->ok, e->error, e->have_stats ? &e->stats : NULL);
    break;
  }
  return G_SOURCE_REMOVE;
}

/* Takes @e. */
static void
event_post (AmigoMigrationWorker *self, Event *e)
{
  e->worker = worker_ref (self);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, event_dispatch, e, event_free);
}

static char *
last_error (const char *what)
{
  const char *m = virGetLastErrorMessage ();

  return g_strdup (m != NULL && *m != '\0' ? m : what);
}

/* ---- the statistics thread ---- */

/* One reading: the job statistics and the domain's state (a paused
 * source is the switch-over, or post-copy). Neither takes a domain job
 * that waits behind the migration. */
static gboolean
read_stats (virDomainPtr dom, AmigoMigrationStats *ret, char **ret_error)
{
  virTypedParameterPtr params = NULL;
  int n = 0, type = VIR_DOMAIN_JOB_NONE, state = 0, reason = 0;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  if (virDomainGetJobStats (dom, &type, &params, &n, 0) < 0) {
    *ret_error = last_error ("cannot read the job statistics");
    return FALSE;
  }
  ok = amigo_migration_stats_parse (type, params, n, ret, &error);
  virTypedParamsFree (params, n);
  if (!ok) {
    *ret_error = g_strdup (error->message);
    return FALSE;
  }
  if (virDomainGetState (dom, &state, &reason, 0) == 0 && state == VIR_DOMAIN_PAUSED) {
    if (reason == VIR_DOMAIN_PAUSED_POSTCOPY || reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
      ret->postcopy = TRUE;
    else if (reason == VIR_DOMAIN_PAUSED_MIGRATION)
      ret->paused = TRUE;
  }
  return TRUE;
}

static void
run_command (AmigoMigrationWorker *self, virDomainPtr dom, AmigoMigrationCommand command)
{
  Event *e = g_new0 (Event, 1);
  int rc = -1;

  e->kind = EVENT_COMMAND;
  e->command = command;
  if (command == AMIGO_MIGRATION_COMMAND_ABORT)
    rc = virDomainAbortJob (dom);
  else if (command == AMIGO_MIGRATION_COMMAND_POSTCOPY)
    rc = virDomainMigrateStartPostCopy (dom, 0);
  else if (command == 0)
    rc = virDomainMigrateSetMaxDowntime (dom, self->downtime_limit_ms, 0);
  if (rc < 0)
    e->error = last_error ("libvirt failed");
  event_post (self, e);
}

static gpointer
stats_thread (gpointer data)
{
  AmigoMigrationWorker *self = data;
  virDomainPtr dom = virDomainLookupByUUIDString (self->conn, self->uuid);
  gboolean downtime_set = self->downtime_limit_ms == 0;
  /* the first reading soon: the destination's admission is over by then */
  gint64 wait_usec = MIN (self->poll_usec, 500 * AMIGO_USEC_PER_MSEC);

  for (;;) {
    gpointer stop = g_async_queue_timeout_pop (self->stop, (guint64) wait_usec);
    Event *e;

    wait_usec = self->poll_usec;
    if (stop != NULL)
      break;
    if (dom == NULL) {
      dom = virDomainLookupByUUIDString (self->conn, self->uuid);
      if (dom == NULL)
        continue;
    }
    e = g_new0 (Event, 1);
    e->kind = EVENT_SAMPLE;
    e->have_stats = read_stats (dom, &e->stats, &e->error);
    if (e->have_stats && !downtime_set &&
        (e->stats.job_type == VIR_DOMAIN_JOB_UNBOUNDED || e->stats.job_type == VIR_DOMAIN_JOB_BOUNDED)) {
      /* libvirt 9.0 takes the limit only for a running job's QEMU */
      downtime_set = TRUE;
      run_command (self, dom, 0);
    }
    event_post (self, e);
  }
  if (dom != NULL)
    virDomainFree (dom);
  worker_unref (self);
  return NULL;
}

/* ---- the migration thread ---- */

/* The completed job's statistics: on the source while it still has the
 * domain (a persistent one stays defined), else on the destination, which
 * keeps them for the incoming domain (as `virsh domjobinfo --completed`). */
static gboolean
completed_stats (AmigoMigrationWorker *self, virDomainPtr dom, AmigoMigrationStats *ret)
{
  virTypedParameterPtr params = NULL;
  int n = 0, type = VIR_DOMAIN_JOB_NONE;
  virConnectPtr dconn = NULL;
  virDomainPtr ddom = NULL;
  gboolean ok = FALSE;

  if (virDomainGetJobStats (dom, &type, &params, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0 &&
      type == VIR_DOMAIN_JOB_COMPLETED) {
    ok = amigo_migration_stats_parse (type, params, n, ret, NULL);
    virTypedParamsFree (params, n);
    if (ok) {
      g_debug ("completed job statistics of %s read on the source", self->uuid);
      return TRUE;
    }
  } else if (params != NULL) {
    virTypedParamsFree (params, n);
  }
  params = NULL;
  dconn = virConnectOpen (self->dest_uri);
  if (dconn == NULL) {
    g_debug ("cannot open '%s' for the completed job statistics: %s", self->dest_uri, virGetLastErrorMessage ());
    return FALSE;
  }
  ddom = virDomainLookupByUUIDString (dconn, self->uuid);
  /* after post-copy the destination completes its job once the last pages
   * arrive, a little after the source's call returned */
  for (int tries = 0; ddom != NULL && !ok && tries < COMPLETED_TRIES; tries++) {
    if (tries > 0)
      g_usleep (COMPLETED_RETRY_USEC);
    params = NULL;
    n = 0;
    if (virDomainGetJobStats (ddom, &type, &params, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0) {
      g_debug ("no completed job statistics on '%s': %s", self->dest_uri, virGetLastErrorMessage ());
      break;
    }
    ok = type == VIR_DOMAIN_JOB_COMPLETED && amigo_migration_stats_parse (type, params, n, ret, NULL);
    virTypedParamsFree (params, n);
  }
  g_debug ("completed job statistics of %s %sread on the destination", self->uuid, ok ? "" : "not ");
  if (ddom != NULL)
    virDomainFree (ddom);
  virConnectClose (dconn);
  return ok;
}

static gpointer
migrate_thread (gpointer data)
{
  AmigoMigrationWorker *self = data;
  virDomainPtr dom = virDomainLookupByUUIDString (self->conn, self->uuid);
  virTypedParameterPtr params = NULL;
  int n = 0, max = 0;
  Event *e = g_new0 (Event, 1);

  e->kind = EVENT_ENDED;
  if (dom == NULL) {
    e->error = last_error ("the domain is gone");
  } else {
    if (self->migrate_uri != NULL)
      virTypedParamsAddString (&params, &n, &max, VIR_MIGRATE_PARAM_URI, self->migrate_uri);
    if (self->bandwidth_mib_s > 0)
      virTypedParamsAddULLong (&params, &n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
                               (unsigned long long) ceil (self->bandwidth_mib_s));
    e->ok = virDomainMigrateToURI3 (dom, self->dest_uri, params, (unsigned int) n, self->flags) == 0;
    if (!e->ok)
      e->error = last_error ("libvirt gave no reason");
    virTypedParamsFree (params, n);
  }
  /* the statistics thread ends before the completed ones are read */
  g_async_queue_push (self->stop, GINT_TO_POINTER (1));
  if (e->ok)
    e->have_stats = completed_stats (self, dom, &e->stats);
  if (dom != NULL)
    virDomainFree (dom);
  event_post (self, e);
  worker_unref (self);
  return NULL;
}

AmigoMigrationWorker *
amigo_migration_worker_start (virConnectPtr conn,
                              const AmigoMigrationWorkerParams *params,
                              const AmigoMigrationWorkerEvents *events,
                              gpointer user_data)
{
  AmigoMigrationWorker *self = g_new0 (AmigoMigrationWorker, 1);

  self->ref = 1;
  self->conn = conn;
  virConnectRef (conn);
  g_strlcpy (self->uuid, params->uuid, sizeof self->uuid);
  self->dest_uri = g_strdup (params->dest_uri);
  self->migrate_uri = g_strdup (params->migrate_uri);
  self->bandwidth_mib_s = params->bandwidth_mib_s;
  self->downtime_limit_ms = params->downtime_limit_ms;
  self->flags = params->flags;
  self->poll_usec = params->poll_usec > 0 ? params->poll_usec : AMIGO_USEC_PER_SEC;
  self->stop = g_async_queue_new ();
  self->context = g_main_context_ref_thread_default ();
  self->events = *events;
  self->user_data = user_data;
  g_thread_unref (g_thread_new ("amigo-migrate", migrate_thread, worker_ref (self)));
  g_thread_unref (g_thread_new ("amigo-migstats", stats_thread, worker_ref (self)));
  return self;
}

typedef struct {
  AmigoMigrationWorker *worker;  /* a reference */
  AmigoMigrationCommand command;
} CommandCall;

static gpointer
command_thread (gpointer data)
{
  CommandCall *c = data;
  virDomainPtr dom = virDomainLookupByUUIDString (c->worker->conn, c->worker->uuid);

  if (dom != NULL) {
    run_command (c->worker, dom, c->command);
    virDomainFree (dom);
  } else {
    Event *e = g_new0 (Event, 1);

    e->kind = EVENT_COMMAND;
    e->command = c->command;
    e->error = last_error ("the domain is gone");
    event_post (c->worker, e);
  }
  worker_unref (c->worker);
  g_free (c);
  return NULL;
}

void
amigo_migration_worker_command (AmigoMigrationWorker *self, AmigoMigrationCommand command)
{
  CommandCall *c = g_new0 (CommandCall, 1);

  /* a thread of its own: a cancel must not wait behind a statistics call,
   * which libvirt holds for seconds at times */
  c->worker = worker_ref (self);
  c->command = command;
  g_thread_unref (g_thread_new ("amigo-migcmd", command_thread, c));
}

void
amigo_migration_worker_release (AmigoMigrationWorker *self)
{
  if (self == NULL)
    return;
  self->released = TRUE;
  worker_unref (self);
}
