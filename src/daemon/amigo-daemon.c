/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-daemon.h"

#include <errno.h>
#include <glib-unix.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "amigo-admission.h"
#include "amigo-allocation-loops.h"
#include "amigo-clock.h"
#include "amigo-collector.h"
#include "amigo-config.h"
#include "amigo-collector-jobs.h"
#include "amigo-connection.h"
#include "amigo-daemon-private.h"
#include "amigo-dbus-service.h"
#include "amigo-error.h"
#include "amigo-export-writer.h"
#include "amigo-file.h"
#include "amigo-gpu-source.h"
#include "amigo-history.h"
#include "amigo-log.h"
#include "amigo-ratelimit.h"
#include "amigo-requests.h"
#include "amigo-job-runner.h"
#include "amigo-metadata-io.h"
#include "amigo-metadata-writer.h"
#include "amigo-migrations.h"
#include "amigo-time.h"
#include "amigo-watchdog.h"

/* How many domains' job-taking calls may wait on libvirt at once (each
 * waiting thread costs a stack, nothing else). */
#define JOB_THREADS 4

/* A tick longer than this is logged (debug): D-Bus calls wait behind it. */
#define SLOW_TICK_USEC (100 * AMIGO_USEC_PER_MSEC)


struct _AmigoDaemon {
  AmigoConf *conf;
  AmigoDaemonOptions options;
  GMainLoop *loop;
  int exit_code;

  AmigoHistory *history;
  AmigoCollector *collector;
  AmigoConnection *connection;
  GDBusConnection *bus;
  AmigoDbusService *service;
  AmigoWatchdog *watchdog;

  AmigoDomainTable *domains;
  GHashTable *known_history;   /* uuids with local history (or already looked at) */
  GHashTable *warned;          /* messages logged once */
  AmigoRatelimit *ratelimit;   /* warnings that can repeat: one per kind per 10 min */
  AmigoJobRunner *jobs;        /* libvirt calls that take a domain job */
  AmigoJobRunner *poller;      /* the polls' statistics calls, one at a time */
  AmigoCollectorJobs *collector_jobs; /* the collector's job-taking calls */
  AmigoMetadataWriter *metadata_writer;
  AmigoRequests *requests;     /* every domain's reservation request */
  AmigoAllocationLoops *loops; /* PID re-allocation of incoming domains */
  AmigoExportWriter *export;   /* NULL without [export] prometheus_textfile */
  AmigoExportPolls polls;      /* counters for the export */
  AmigoAdmission *admission;   /* the host's reservation ledger */
  AmigoMigrations *migrations; /* outgoing migrations (Migrate) */

  gint64 start_mono_usec;
  gint64 last_poll_wall_usec;
  guint64 store_bytes;          /* cached: walking the store is not free */
  gint64 store_bytes_mono_usec;
  gint64 last_metadata_usec;   /* daemon monotonic clock */
  guint poll_id;
  guint metadata_id;
  guint sigterm_id;
  guint sigint_id;
  gboolean ready;
  gboolean timed_polls;        /* polls on its own timer (not driven by a test program) */

  AmigoClock *clock;           /* simulated in the benchmark */
};

static gint64
now_mono (AmigoDaemon *self)
{
  return amigo_clock_get_monotonic_usec (self->clock);
}

static gint64
now_wall (AmigoDaemon *self)
{
  return amigo_clock_get_wall_usec (self->clock);
}

/* Logs @message at warning level the first time only. */
static void
warn_once (AmigoDaemon *self, const char *uuid, const char *name, const char *message)
{
  if (g_hash_table_contains (self->warned, message))
    return;
  /* a bound on what a misbehaving store or hypervisor can make us keep */
  if (g_hash_table_size (self->warned) > 4096)
    g_hash_table_remove_all (self->warned);
  g_hash_table_add (self->warned, g_strdup (message));
  amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, name, "%s", message);
}

/* ---- D-Bus backend ---- */

static void
backend_get_status (gpointer user_data, GVariantDict *dict)
{
  AmigoDaemon *self = user_data;
  AmigoHistoryHealth health;

  g_variant_dict_insert (dict, "version", "s", AMIGO_VERSION);
  g_variant_dict_insert (dict, "uptime_usec", "x", g_get_monotonic_time () - self->start_mono_usec);
  g_variant_dict_insert (dict, "libvirt_uri", "s", self->conf->uri);
  g_variant_dict_insert (dict, "connected", "b", amigo_connection_get (self->connection) != NULL);
  g_variant_dict_insert (dict, "domains", "u", amigo_domain_table_size (self->domains));
  g_variant_dict_insert (dict, "interval_usec", "x", self->conf->interval_usec);
  g_variant_dict_insert (dict, "last_poll_usec", "x", self->last_poll_wall_usec);
  g_variant_dict_insert (dict, "libvirt_calls_waiting", "u", amigo_job_runner_get_in_flight (self->jobs));
  g_variant_dict_insert (dict, "libvirt_calls_skipped", "t", amigo_job_runner_get_skipped (self->jobs));
  g_variant_dict_insert (dict, "state_dir", "s", self->conf->state_dir);
  /* Anyone in the read group may call this as often as they like: walk the
   * store at most once per interval. */
  if (self->store_bytes_mono_usec == 0 ||
      g_get_monotonic_time () - self->store_bytes_mono_usec >= self->conf->interval_usec) {
    self->store_bytes = amigo_file_tree_bytes (self->conf->state_dir);
    self->store_bytes_mono_usec = g_get_monotonic_time ();
  }
  g_variant_dict_insert (dict, "store_bytes", "t", self->store_bytes);
  amigo_history_get_health (self->history, &health);
  g_variant_dict_insert (dict, "store_ok", "b", health.ok);
  g_variant_dict_insert (dict, "store_failing_since_usec", "x", health.failing_since_usec);
  g_variant_dict_insert (dict, "store_samples_lost", "t", health.samples_lost);
  g_variant_dict_insert (dict, "store_error", "s", health.last_error);
}

static GPtrArray *
backend_get_domains (gpointer user_data)
{
  return amigo_domain_table_get_list (((AmigoDaemon *) user_data)->domains);
}

static gboolean
backend_has_history (gpointer user_data, const char *uuid)
{
  AmigoDaemon *self = user_data;
  g_autoptr (GPtrArray) uuids = amigo_history_list_domains (self->history);

  for (guint i = 0; uuids != NULL && i < uuids->len; i++) {
    if (g_strcmp0 (g_ptr_array_index (uuids, i), uuid) == 0)
      return TRUE;
  }
  return FALSE;
}

static GArray *
backend_query_history (gpointer user_data,
                       const char *uuid,
                       AmigoMetric metric,
                       gint64 from_usec,
                       gint64 to_usec,
                       GError **error)
{
  AmigoDaemon *self = user_data;

  return amigo_history_query (self->history, uuid, metric, from_usec, to_usec, error);
}

static gboolean
backend_get_request (gpointer user_data,
                     const char *uuid,
                     const AmigoRequestOptions *options,
                     AmigoRequest *ret,
                     AmigoMigrationWindow *ret_window,
                     gboolean *ret_stale,
                     GError **error)
{
  AmigoDaemon *self = user_data;

  if (!amigo_requests_get (self->requests, uuid, options, ret, ret_window, error))
    return FALSE;
  *ret_stale = amigo_requests_is_stale (self->requests, ret);
  return TRUE;
}

/* The label is in force at once; it reaches the domain's metadata (and so
 * travels with it) through the job runner, once libvirt allows a write. */
static gboolean
backend_set_workload_class (gpointer user_data, const char *uuid, const char *klass, GError **error)
{
  AmigoDaemon *self = user_data;
  virConnectPtr conn = amigo_connection_get (self->connection);
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);

  if (d == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no running domain '%s' on this host", uuid);
    return FALSE;
  }
  if (!amigo_requests_set_label (self->requests, uuid, klass, error))
    return FALSE;
  amigo_log_domain (G_LOG_LEVEL_INFO, uuid, d->name, "workload class of '%s' %s%s%s", d->name,
                    klass != NULL && *klass != '\0' ? "labelled '" : "label cleared",
                    klass != NULL && *klass != '\0' ? klass : "", klass != NULL && *klass != '\0' ? "'" : "");
  if (conn != NULL)
    amigo_metadata_writer_write_one (self->metadata_writer, conn, uuid);
  return TRUE;
}

static GVariant *
backend_get_controllers (gpointer user_data, const char *uuid, GError **error)
{
  return amigo_allocation_loops_get_controllers (((AmigoDaemon *) user_data)->loops, uuid, error);
}

static gint64
backend_now_usec (gpointer user_data)
{
  return now_wall (user_data);
}

/* ---- status ---- */

static void
notify_status (AmigoDaemon *self)
{
  guint n = amigo_domain_table_size (self->domains);

  if (amigo_connection_get (self->connection) != NULL)
    sd_notifyf (0, "STATUS=tracking %u domain%s, libvirt connected", n, n == 1 ? "" : "s");
  else
    sd_notifyf (0, "STATUS=libvirt '%s' disconnected, reconnecting; %u domain%s known",
                self->conf->uri, n, n == 1 ? "" : "s");
}

/* ---- warnings that can repeat ---- */

/* A warning that can come every tick or for every domain is limited by its
 * @kind (a static string), not its text (which names a domain or quotes
 * libvirt): at most one per kind per 10 minutes; the next one says how many
 * were held back. */
static void
warn_by_kind (AmigoDaemon *self, const char *kind, const char *message)
{
  guint suppressed = 0;

  if (!amigo_ratelimit_check (self->ratelimit, kind, now_mono (self), &suppressed)) {
    g_debug ("%s", message);
    return;
  }
  if (suppressed > 0)
    amigo_log_domain (G_LOG_LEVEL_WARNING, NULL, NULL, "%s (%u more '%s' warnings in the last 10 min)",
                      message, suppressed, kind);
  else
    amigo_log_domain (G_LOG_LEVEL_WARNING, NULL, NULL, "%s", message);
}

/* ---- history travels with the domain ---- */

static virDomainPtr
lookup_domain (AmigoDaemon *self, const char *uuid)
{
  virConnectPtr conn = amigo_connection_get (self->connection);

  return conn != NULL ? virDomainLookupByUUIDString (conn, uuid) : NULL;
}

/* A domain seen for the first time with no local history may have come
 * with a summary in its metadata (migrated from another amigo host).
 * Reading the metadata takes no libvirt job: this answers during a
 * migration. */
static void
maybe_import_history (AmigoDaemon *self, const char *uuid, const char *name)
{
  virDomainPtr dom;
  g_autoptr (AmigoMetadata) md = NULL;
  g_autoptr (GError) error = NULL;

  if (g_hash_table_contains (self->known_history, uuid))
    return;
  g_hash_table_add (self->known_history, g_strdup (uuid));
  dom = lookup_domain (self, uuid);
  if (dom == NULL)
    return;
  md = amigo_metadata_io_read (dom, &error);
  virDomainFree (dom);
  if (md == NULL) {
    amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, name,
                      "ignoring the amigo metadata of '%s': %s", name, error->message);
    return;
  }
  if (md->workload != NULL) {
    g_autoptr (GError) label_error = NULL;
    if (!amigo_requests_set_label (self->requests, uuid, md->workload, &label_error))
      amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, name, "ignoring the workload label in the metadata of '%s': %s",
                        name, label_error->message);
  }
  if (md->history == NULL)
    return;   /* a new domain */
  if (!amigo_history_import_summary (self->history, uuid, md->history, &error)) {
    amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, name,
                      "ignoring the history summary in the metadata of '%s': %s", name, error->message);
    return;
  }
  amigo_log_domain (G_LOG_LEVEL_INFO, uuid, name,
                    "imported the history summary from the metadata of '%s'", name);
}

static void
on_summary_problem (AmigoMetadataWriterProblem problem,
                    const char *uuid,
                    const char *name,
                    const char *message,
                    gpointer user_data)
{
  warn_by_kind (user_data, problem == AMIGO_METADATA_WRITER_BUSY ? "domain-busy" : "metadata-write", message);
}

static void
write_metadata (gpointer user_data)
{
  AmigoDaemon *self = user_data;
  virConnectPtr conn = amigo_connection_get (self->connection);

  if (conn != NULL)
    amigo_metadata_writer_round (self->metadata_writer, conn);
}

static char *
metadata_request_json (const char *uuid, gpointer user_data)
{
  return amigo_requests_metadata_json (((AmigoDaemon *) user_data)->requests, uuid);
}

static const char *
metadata_workload (const char *uuid, gpointer user_data)
{
  return amigo_requests_get_label (((AmigoDaemon *) user_data)->requests, uuid);
}

/* ---- polling ---- */

static void
on_domain_gone (const AmigoTrackedDomain *d, gpointer user_data)
{
  AmigoDaemon *self = user_data;

  amigo_metadata_writer_forget (self->metadata_writer, d->uuid);
  amigo_requests_forget (self->requests, d->uuid);
  amigo_allocation_loops_forget (self->loops, d->uuid);
  amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "domain '%s' is gone", d->name);
}

/* A poll's statistics call made off the main loop: NOWAIT spares it the
 * domains' jobs, but not their object locks, which libvirt holds for a
 * second or more while it ends a migration (measured: 1.35 s on the
 * source). Nothing else touches the collector until the poll is back. */
typedef struct {
  AmigoCollector *collector;  /* borrowed */
  virConnectPtr conn;         /* a reference */
  gint64 mono_usec;
  gint64 wall_usec;
  GArray *samples;            /* the result */
} PollFetch;

static void
poll_fetch_free (gpointer data)
{
  PollFetch *f = data;

  virConnectClose (f->conn);
  g_clear_pointer (&f->samples, g_array_unref);
  g_free (f);
}

/* Poller thread. */
static gboolean
poll_fetch_run (gpointer data, GError **error)
{
  PollFetch *f = data;

  return amigo_collector_poll (f->collector, f->conn, f->mono_usec, f->wall_usec, &f->samples, error);
}

/* The samples of @fetched (made off the main loop), or of a poll made now. */
static gboolean
poll_take (AmigoDaemon *self,
           PollFetch *fetched,
           const GError *fetch_error,
           virConnectPtr conn,
           gint64 mono,
           gint64 wall,
           GArray **ret_samples,
           GError **error)
{
  if (fetched == NULL)
    return amigo_collector_poll (self->collector, conn, mono, wall, ret_samples, error);
  if (fetch_error != NULL) {
    g_propagate_error (error, g_error_copy (fetch_error));
    return FALSE;
  }
  *ret_samples = g_steal_pointer (&fetched->samples);
  return TRUE;
}

/* After a poll: reservations whose domain arrived are held, those whose
 * domain left or never came are released. */
static void
reconcile_ledger (AmigoDaemon *self, gint64 wall_usec)
{
  GPtrArray *list = amigo_domain_table_get_list (self->domains);
  g_autoptr (GPtrArray) uuids = g_ptr_array_new ();

  for (guint i = 0; list != NULL && i < list->len; i++)
    g_ptr_array_add (uuids, ((AmigoTrackedDomain *) g_ptr_array_index (list, i))->uuid);
  g_ptr_array_add (uuids, NULL);
  amigo_admission_reconcile (self->admission, (const char *const *) uuids->pdata, wall_usec);
}

/* Applies a poll: @fetched (nullable) is one made off the main loop, with
 * @fetch_error; without, the poll is made here. */
static void
poll_once (AmigoDaemon *self, PollFetch *fetched, const GError *fetch_error)
{
  virConnectPtr conn = amigo_connection_get (self->connection);
  g_autoptr (GArray) samples = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) store_warnings = NULL;
  AmigoTrackedDomain *d;
  gint64 mono = fetched != NULL ? fetched->mono_usec : now_mono (self);
  gint64 wall = fetched != NULL ? fetched->wall_usec : now_wall (self);
  gint64 flush_start;

  amigo_history_set_now (self->history, wall);
  if (conn == NULL)
    return;
  if (!poll_take (self, fetched, fetch_error, conn, mono, wall, &samples, &error)) {
    if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED) || virConnectIsAlive (conn) != 1)
      amigo_connection_lost (self->connection, error->message);
    else
      warn_once (self, NULL, NULL, error->message);
    notify_status (self);
    return;
  }

  amigo_domain_table_begin_poll (self->domains);
  for (guint i = 0; i < samples->len; i++) {
    AmigoDomainSample *s = &g_array_index (samples, AmigoDomainSample, i);
    g_autoptr (GError) append_error = NULL;
    gboolean added;

    d = amigo_domain_table_update (self->domains, s->uuid, s->name, &s->sample, &added);
    if (added) {
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "tracking domain '%s'", d->name);
      maybe_import_history (self, d->uuid, d->name);
    }
    /* A refused sample is reported by the store's warnings, by kind. */
    if (!amigo_history_append (self->history, d->uuid, d->name, &s->sample, &append_error))
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "cannot store the sample of '%s': %s",
                        d->name, append_error->message);
  }

  amigo_domain_table_end_poll (self->domains, on_domain_gone, self);
  reconcile_ledger (self, wall);

  g_clear_error (&error);
  flush_start = g_get_monotonic_time ();
  /* The store says once when writing fails and once when it recovers. */
  if (!amigo_history_flush (self->history, &error))
    g_debug ("cannot flush the history store '%s': %s", self->conf->state_dir, error->message);
  if (g_get_monotonic_time () - flush_start > SLOW_TICK_USEC)
    g_debug ("flushing the history store took %" G_GINT64_FORMAT " ms (syncfs waits for the whole file system)",
             (g_get_monotonic_time () - flush_start) / 1000);
  store_warnings = amigo_history_take_warnings (self->history);
  for (guint i = 0; i < store_warnings->len; i++) {
    AmigoHistoryWarning *w = g_ptr_array_index (store_warnings, i);
    g_autofree char *line = w->count > 1 ? g_strdup_printf ("%s (and %u more like it)", w->message, w->count - 1)
                                         : g_strdup (w->message);
    warn_by_kind (self, amigo_history_warning_kind_to_string (w->kind), line);
  }

  self->last_poll_wall_usec = wall;
  amigo_allocation_loops_tick (self->loops, self->domains, conn, wall);
  notify_status (self);
}

static void
maybe_write_metadata (AmigoDaemon *self)
{
  gint64 mono = now_mono (self);

  if (mono - self->last_metadata_usec < self->conf->metadata_interval_usec)
    return;
  self->last_metadata_usec = mono;
  /* the requests first, a slice of the main loop at a time; the metadata
   * write carries them */
  amigo_requests_start_round (self->requests, write_metadata, self);
}

/* What follows a poll: the metadata write when its interval has passed,
 * then the job-taking calls the poll asked for. */
static void
after_poll (AmigoDaemon *self, gint64 start_usec)
{
  /* A domain takes one job-taking call at a time, and the collector asks
   * for one nearly every poll (a dirty-rate start). The metadata round
   * (requests first, then the writes) runs below the main loop's other
   * work: while it runs, the collector's calls wait for the next poll, and a
   * write that still found its domain busy is tried again here, before this
   * poll's calls are handed out. A collector call skipped this tick is asked
   * for again at the next. */
  maybe_write_metadata (self);
  if (amigo_connection_get (self->connection) != NULL)
    amigo_metadata_writer_retry (self->metadata_writer, amigo_connection_get (self->connection));
  if (!amigo_requests_round_running (self->requests))
    amigo_collector_jobs_dispatch (self->collector_jobs, amigo_connection_get (self->connection));
  self->polls.polls++;
  self->polls.last_duration_usec = g_get_monotonic_time () - start_usec;
  self->polls.last_usec = self->last_poll_wall_usec;
  self->polls.job_calls_skipped = amigo_job_runner_get_skipped (self->jobs);
  if (self->export != NULL)
    amigo_export_writer_write (self->export, self->domains, self->requests, self->history,
                               g_get_real_time () - (g_get_monotonic_time () - self->start_mono_usec),
                               &self->polls);
  /* D-Bus calls wait while this runs */
  if (g_get_monotonic_time () - start_usec > SLOW_TICK_USEC)
    g_debug ("the poll tick held the main loop for %" G_GINT64_FORMAT " ms",
             (g_get_monotonic_time () - start_usec) / 1000);
}

void
amigo_daemon_tick (AmigoDaemon *self)
{
  gint64 start = g_get_monotonic_time ();

  poll_once (self, NULL, NULL);
  after_poll (self, start);
}

static void
on_poll_fetched (const char *key, gpointer data, const GError *error, gpointer user_data)
{
  AmigoDaemon *self = user_data;
  gint64 start = g_get_monotonic_time ();

  amigo_collector_jobs_report_deferred (self->collector_jobs);
  poll_once (self, data, error);
  after_poll (self, start);
}

/* Starts a poll off the main loop; its result is applied when it is back. */
static void
poll_start (AmigoDaemon *self)
{
  virConnectPtr conn = amigo_connection_get (self->connection);
  PollFetch *f;

  if (conn == NULL)
    return;
  f = g_new0 (PollFetch, 1);
  f->collector = self->collector;
  f->conn = conn;
  virConnectRef (conn);
  f->mono_usec = now_mono (self);
  f->wall_usec = now_wall (self);
  if (!amigo_job_runner_submit (self->poller, "poll", poll_fetch_run, on_poll_fetched, f, poll_fetch_free, self)) {
    self->polls.skipped++;
    g_debug ("the last poll has not come back from libvirt: skipping this one");
  }
}

static gboolean
on_poll_timeout (gpointer user_data)
{
  AmigoDaemon *self = user_data;

  poll_start (self);
  /* the main loop ran a poll tick, however long libvirt takes to answer */
  if (self->watchdog != NULL)
    amigo_watchdog_progress (self->watchdog);
  return G_SOURCE_CONTINUE;
}

static void
on_connection_state (AmigoConnection *conn, gboolean connected, gpointer user_data)
{
  AmigoDaemon *self = user_data;

  notify_status (self);
  if (connected) {
    virNodeInfo node;
    /* here, never in AdmitMigration: libvirtd waits in the hook then */
    if (virNodeGetInfo (amigo_connection_get (conn), &node) == 0)
      amigo_admission_set_node (self->admission, node.cpus, (guint64) node.memory * 1024);
    else
      g_warning ("cannot read the host's node information: %s", virGetLastErrorMessage ());
  }
  if (connected && self->timed_polls) {
    /* poll right away, then every interval */
    poll_start (self);
  }
}

/* ---- lifetime ---- */

static void
on_name_acquired (GDBusConnection *bus, const char *name, gpointer user_data)
{
  AmigoDaemon *self = user_data;

  if (self->ready)
    return;
  self->ready = TRUE;
  g_message ("owning '%s' on the bus", name);
  sd_notify (0, "READY=1");
  notify_status (self);
}

static void
on_name_lost (GDBusConnection *bus, const char *name, gpointer user_data)
{
  AmigoDaemon *self = user_data;

  if (bus == NULL)
    g_warning ("lost the connection to the bus");
  else
    g_warning ("cannot own '%s' on the bus: is another amigod running, or does the bus policy "
                "(org.amigo.Daemon1.conf) not allow it?", name);
  self->exit_code = AMIGO_EXIT_FAILURE;
  g_main_loop_quit (self->loop);
}

static gboolean
on_signal (gpointer user_data)
{
  AmigoDaemon *self = user_data;

  g_message ("stopping on signal");
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

AmigoDaemon *
amigo_daemon_new (AmigoConf *conf, const AmigoDaemonOptions *options, GError **error)
{
  return amigo_daemon_new_with_clock (conf, options, amigo_clock_new_real (), error);
}

AmigoDaemon *
amigo_daemon_new_with_clock (AmigoConf *conf, const AmigoDaemonOptions *options, AmigoClock *clock,
                             GError **error)
{
  g_autoptr (AmigoDaemon) self = g_new0 (AmigoDaemon, 1);
  AmigoHistoryOptions history_options;
  g_autoptr (GPtrArray) known = NULL;

  self->conf = conf;
  self->options = *options;
  self->clock = clock;
  self->start_mono_usec = g_get_monotonic_time ();
  self->domains = amigo_domain_table_new ();
  self->known_history = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->ratelimit = amigo_ratelimit_new (10 * AMIGO_USEC_PER_MIN, 64);
  self->jobs = amigo_job_runner_new (JOB_THREADS);
  self->poller = amigo_job_runner_new (1);
  self->loop = g_main_loop_new (NULL, FALSE);

  if (g_mkdir_with_parents (conf->state_dir, 0750) < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot create the state directory '%s': %s",
                 conf->state_dir, g_strerror (errno));
    return NULL;
  }
  amigo_history_options_init (&history_options);
  history_options.raw_retention_usec = conf->history.raw_retention_usec;
  history_options.step_usec = conf->history.step_usec;
  history_options.retention_usec = conf->history.retention_usec;
  self->history = amigo_history_open (conf->state_dir, &history_options, error);
  if (self->history == NULL) {
    g_prefix_error (error, "cannot open the history store '%s': ", conf->state_dir);
    return NULL;
  }
  {
    AmigoRequestsOptions ro;
    AmigoMetadataWriterSource source = { metadata_request_json, metadata_workload };

    amigo_requests_options_init (&ro);
    ro.forecaster.window.duration_usec = conf->forecast.window_usec;
    ro.forecaster.window.settle_usec = conf->forecast.settle_usec;
    ro.forecaster.window.link_bytes_s = conf->forecast.link_mbit_s * 1e6 / 8;
    /* The forecast works on 5-minute bins (what its estimators and priors
     * were measured on), or the store's step if coarser. */
    ro.forecaster.step_usec = MAX (conf->history.step_usec, 5 * AMIGO_USEC_PER_MIN);
    ro.max_age_usec = conf->forecast.max_age_usec != 0 ? conf->forecast.max_age_usec
                                                        : 3 * conf->metadata_interval_usec;
    self->requests = amigo_requests_new (self->history, self->domains, self->clock, &ro);
    self->metadata_writer = amigo_metadata_writer_new (self->history, self->domains, self->jobs, &source,
                                                       on_summary_problem, self);
  }
  {
    g_autofree char *ledger_path = g_build_filename (conf->state_dir, AMIGO_ADMISSION_LEDGER_FILE, NULL);
    self->admission = amigo_admission_new (conf, ledger_path);
    AmigoAllocationLoopsSources ls = { NULL, metadata_workload, self };
    const char *slo = g_getenv ("AMIGOD_SLO_CONFIG");

    self->loops = amigo_allocation_loops_new (slo != NULL ? slo : AMIGO_SYSCONFDIR "/amigo/slo.conf",
                                              conf->interval_usec, conf->forecast.settle_usec, &ls);
  }
  if (conf->export_textfile != NULL)
    self->export = amigo_export_writer_new (conf->export_textfile, self->jobs);
  known = amigo_history_list_domains (self->history);
  for (guint i = 0; known != NULL && i < known->len; i++)
    g_hash_table_add (self->known_history, g_strdup (g_ptr_array_index (known, i)));

  self->collector = amigo_collector_new ();
  amigo_collector_set_interval (self->collector, conf->interval_usec);
  self->collector_jobs = amigo_collector_jobs_new (self->collector, self->jobs, self->poller);
  /* A declared GPU size changes with the domain's definition, rarely: reading
   * every domain's XML once per metadata interval keeps the cost flat. */
  amigo_collector_set_gpu_source (self->collector,
                                  amigo_gpu_source_xml_new (AMIGO_METADATA_NAMESPACE,
                                                            MAX (conf->metadata_interval_usec,
                                                                 AMIGO_GPU_SOURCE_XML_DEFAULT_REFRESH_USEC)));
  /* A measurement must end before the next poll to be reported by it: at
   * most half the interval (none at all with a 1 s interval). */
  amigo_collector_set_dirty_rate_period (self->collector,
                                         (int) (MIN (conf->dirty_rate_period_usec, conf->interval_usec / 2) /
                                                AMIGO_USEC_PER_SEC));
  if (!amigo_connection_init_event_loop (error))
    return NULL;
  self->connection = amigo_connection_new (conf->uri, on_connection_state, self);
  self->migrations = amigo_migrations_new (&(AmigoMigrationsContext) {
    self->connection, self->domains, self->requests, self->metadata_writer, self->clock, self->history,
    conf->state_dir, conf->forecast.link_mbit_s * 1e6 / 8 });
  return g_steal_pointer (&self);
}

void
amigo_daemon_free (AmigoDaemon *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  g_clear_handle_id (&self->metadata_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_pointer (&self->service, amigo_dbus_service_free);
  g_clear_object (&self->bus);
  g_clear_pointer (&self->watchdog, amigo_watchdog_free);
  /* first: no job's end may reach a daemon being freed */
  g_clear_pointer (&self->jobs, amigo_job_runner_free);
  /* a poll still out uses the collector freed below */
  g_clear_pointer (&self->poller, amigo_job_runner_free_wait);
  g_clear_pointer (&self->collector_jobs, amigo_collector_jobs_free);
  g_clear_pointer (&self->migrations, amigo_migrations_free);
  g_clear_pointer (&self->metadata_writer, amigo_metadata_writer_free);
  g_clear_pointer (&self->export, amigo_export_writer_free);
  g_clear_pointer (&self->loops, amigo_allocation_loops_free);
  g_clear_pointer (&self->requests, amigo_requests_free);
  g_clear_pointer (&self->admission, amigo_admission_free);
  g_clear_pointer (&self->connection, amigo_connection_free);
  g_clear_pointer (&self->collector, amigo_collector_free);
  g_clear_pointer (&self->history, amigo_history_free);
  g_clear_pointer (&self->domains, amigo_domain_table_free);
  g_clear_pointer (&self->known_history, g_hash_table_unref);
  g_clear_pointer (&self->warned, g_hash_table_unref);
  g_clear_pointer (&self->ratelimit, amigo_ratelimit_free);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->clock, amigo_clock_free);
  g_clear_pointer (&self->conf, amigo_conf_free);
  g_free (self);
}

static GDBusConnection *
open_bus (AmigoDaemon *self, GError **error)
{
  if (self->options.bus_address != NULL)
    return g_dbus_connection_new_for_address_sync (self->options.bus_address,
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, error);
  return g_bus_get_sync (self->options.session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
}

gboolean
amigo_daemon_start (AmigoDaemon *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  AmigoDbusServiceBackend backend = {
    .get_status = backend_get_status,
    .get_domains = backend_get_domains,
    .has_history = backend_has_history,
    .query_history = backend_query_history,
    .now_usec = backend_now_usec,
    .get_request = backend_get_request,
    .set_workload_class = backend_set_workload_class,
    .admission = self->admission,
    .migrations = self->migrations,
    .get_controllers = backend_get_controllers,
    .retention_usec = self->conf->history.retention_usec,
  };

  self->bus = open_bus (self, &local_error);
  if (self->bus == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot connect to the %s bus: %s",
                 self->options.bus_address != NULL ? "given" : self->options.session ? "session" : "system",
                 local_error->message);
    return FALSE;
  }
  /* a bus that goes away ends the daemon (systemd restarts it) */
  g_dbus_connection_set_exit_on_close (self->bus, FALSE);
  self->service = amigo_dbus_service_new (&backend, self);
  if (!amigo_dbus_service_start (self->service, self->bus, AMIGO_DBUS_NAME, on_name_acquired,
                                 on_name_lost, self, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot export %s: %s", AMIGO_DBUS_PATH,
                 local_error->message);
    return FALSE;
  }
  self->last_metadata_usec = now_mono (self);
  amigo_connection_start (self->connection);
  return TRUE;
}

int
amigo_daemon_run (AmigoDaemon *self)
{
  g_autoptr (GError) error = NULL;

  self->exit_code = AMIGO_EXIT_OK;
  /* before the connection comes up: its first poll is right away */
  self->timed_polls = TRUE;
  if (!amigo_daemon_start (self, &error)) {
    g_warning ("%s", error->message);
    return AMIGO_EXIT_FAILURE;
  }
  self->sigterm_id = g_unix_signal_add (SIGTERM, on_signal, self);
  self->sigint_id = g_unix_signal_add (SIGINT, on_signal, self);
  /* two intervals without a poll tick is a daemon that no longer works */
  self->watchdog = amigo_watchdog_new (self->clock, 2 * self->conf->interval_usec);
  self->poll_id = g_timeout_add (self->conf->interval_usec / 1000, on_poll_timeout, self);

  g_main_loop_run (self->loop);

  sd_notify (0, "STOPPING=1");
  if (!amigo_history_flush (self->history, &error))
    g_warning ("cannot flush the history store '%s': %s", self->conf->state_dir, error->message);
  return self->exit_code;
}

gboolean
amigo_daemon_is_connected (AmigoDaemon *self)
{
  return amigo_connection_get (self->connection) != NULL;
}

AmigoCollector *
amigo_daemon_get_collector (AmigoDaemon *self)
{
  return self->collector;
}

AmigoClock *
amigo_daemon_get_clock (AmigoDaemon *self)
{
  return self->clock;
}

guint
amigo_daemon_get_domain_count (AmigoDaemon *self)
{
  return amigo_domain_table_size (self->domains);
}
