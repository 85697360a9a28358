/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-daemon.h"

#include <errno.h>
#include <glib-unix.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "amigo-bench-feed.h"
#include "amigo-collector.h"
#include "amigo-config.h"
#include "amigo-connection.h"
#include "amigo-dbus-service.h"
#include "amigo-error.h"
#include "amigo-gpu-source.h"
#include "amigo-history.h"
#include "amigo-log.h"
#include "amigo-metadata.h"
#include "amigo-ratelimit.h"
#include "amigo-time.h"
#include "amigo-watchdog.h"

/* Bound on the summary written into each domain's metadata. */
#define SUMMARY_MAX_BYTES (32 * 1024)

struct _AmigoDaemon {
  AmigoConf *conf;
  AmigoDaemonOptions options;
  GMainLoop *loop;
  int exit_code;

  AmigoHistory *history;
  AmigoCollector *collector;
  AmigoConnection *connection;
  AmigoBenchFeed *bench_feed;
  GDBusConnection *bus;
  AmigoDbusService *service;
  AmigoWatchdog *watchdog;

  GHashTable *domains;         /* uuid -> AmigoTrackedDomain (owned) */
  GPtrArray *domain_list;      /* the same, borrowed, for the service */
  GHashTable *known_history;   /* uuids with local history (or already looked at) */
  GHashTable *warned;          /* messages logged once */
  AmigoRatelimit *ratelimit;   /* store warnings: one per kind per 10 min */

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

  /* simulated clock (benchmark) */
  gint64 sim_mono_usec;
  gint64 sim_wall_usec;
  guint ticks;
  gint64 first_tick_cpu_usec;  /* process CPU time after the first tick */
};

static gint64
process_cpu_usec (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) < 0)
    return 0;
  return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * AMIGO_USEC_PER_SEC +
         ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static gint64
now_mono (AmigoDaemon *self)
{
  return self->options.simulate ? self->sim_mono_usec : g_get_monotonic_time ();
}

static gint64
now_wall (AmigoDaemon *self)
{
  return self->options.simulate ? self->sim_wall_usec : g_get_real_time ();
}

static void
tracked_domain_free (gpointer data)
{
  AmigoTrackedDomain *d = data;

  g_free (d->name);
  g_free (d);
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

/* Logs @message unless one of @kind went out in the last 10 minutes; the
 * next one says how many were held back. */
static void
warn_by_kind (AmigoDaemon *self, const char *kind, const char *message)
{
  guint suppressed = 0;

  if (!amigo_ratelimit_check (self->ratelimit, kind, now_mono (self), &suppressed))
    return;
  if (suppressed > 0)
    amigo_log_domain (G_LOG_LEVEL_WARNING, NULL, NULL, "%s (%u more '%s' warnings in the last 10 min)",
                      message, suppressed, kind);
  else
    amigo_log_domain (G_LOG_LEVEL_WARNING, NULL, NULL, "%s", message);
}

/* ---- D-Bus backend ---- */

static guint64
dir_bytes (const char *path, guint depth)
{
  g_autoptr (GDir) dir = NULL;
  const char *entry;
  guint64 total = 0;

  if (depth > 8)
    return 0;
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return 0;
  while ((entry = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, entry, NULL);
    struct stat st;

    if (lstat (child, &st) < 0)
      continue;
    if (S_ISDIR (st.st_mode))
      total += dir_bytes (child, depth + 1);
    else if (S_ISREG (st.st_mode))
      total += (guint64) st.st_size;
  }
  return total;
}

static void
backend_get_status (gpointer user_data, GVariantDict *dict)
{
  AmigoDaemon *self = user_data;
  AmigoHistoryHealth health;

  g_variant_dict_insert (dict, "version", "s", AMIGO_VERSION);
  g_variant_dict_insert (dict, "uptime_usec", "x", g_get_monotonic_time () - self->start_mono_usec);
  g_variant_dict_insert (dict, "libvirt_uri", "s", self->conf->uri);
  g_variant_dict_insert (dict, "connected", "b", amigo_connection_get (self->connection) != NULL);
  g_variant_dict_insert (dict, "domains", "u", g_hash_table_size (self->domains));
  g_variant_dict_insert (dict, "interval_usec", "x", self->conf->interval_usec);
  g_variant_dict_insert (dict, "last_poll_usec", "x", self->last_poll_wall_usec);
  g_variant_dict_insert (dict, "state_dir", "s", self->conf->state_dir);
  /* Anyone in the read group may call this as often as they like: walk the
   * store at most once per interval. */
  if (self->store_bytes_mono_usec == 0 ||
      g_get_monotonic_time () - self->store_bytes_mono_usec >= self->conf->interval_usec) {
    self->store_bytes = dir_bytes (self->conf->state_dir, 0);
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
  return ((AmigoDaemon *) user_data)->domain_list;
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

static gint64
backend_now_usec (gpointer user_data)
{
  return now_wall (user_data);
}

/* ---- status ---- */

static void
notify_status (AmigoDaemon *self)
{
  guint n = g_hash_table_size (self->domains);

  if (amigo_connection_get (self->connection) != NULL)
    sd_notifyf (0, "STATUS=tracking %u domain%s, libvirt connected", n, n == 1 ? "" : "s");
  else
    sd_notifyf (0, "STATUS=libvirt '%s' disconnected, reconnecting; %u domain%s known",
                self->conf->uri, n, n == 1 ? "" : "s");
}

/* ---- history travels with the domain ---- */

static virDomainPtr
lookup_domain (AmigoDaemon *self, const char *uuid)
{
  virConnectPtr conn = amigo_connection_get (self->connection);

  return conn != NULL ? virDomainLookupByUUIDString (conn, uuid) : NULL;
}

/* A domain seen for the first time with no local history may have come
 * with a summary in its metadata (migrated from another amigo host). */
/* amigo's metadata element of @dom (live), or NULL if it has none. */
static AmigoMetadata *
read_metadata (virDomainPtr dom, GError **error)
{
  g_autofree char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, AMIGO_METADATA_NAMESPACE,
                                               VIR_DOMAIN_AFFECT_LIVE);

  if (xml == NULL) {
    virErrorPtr e = virGetLastError ();
    if (e != NULL && e->code == VIR_ERR_NO_DOMAIN_METADATA)
      return amigo_metadata_new ();
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read the metadata: %s",
                 e != NULL && e->message != NULL ? e->message : "unknown libvirt error");
    return NULL;
  }
  return amigo_metadata_parse (xml, error);
}

/* A domain seen for the first time with no local history may have come
 * with a summary in its metadata (migrated from another amigo host). */
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
  md = read_metadata (dom, &error);
  virDomainFree (dom);
  if (md == NULL) {
    amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, name,
                      "ignoring the amigo metadata of '%s': %s", name, error->message);
    return;
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

/* Writes @summary into amigo's metadata element of @dom, keeping the other
 * fields (workload, reservation, GPU memory) that others put there. */
static gboolean
write_summary (virDomainPtr dom, const char *summary, GError **error)
{
  g_autoptr (AmigoMetadata) md = read_metadata (dom, error);
  g_autofree char *xml = NULL;
  unsigned int flags = VIR_DOMAIN_AFFECT_LIVE;

  if (md == NULL)
    return FALSE;
  g_free (md->history);
  md->history = g_strdup (summary);
  xml = amigo_metadata_to_xml (md, FALSE, error);
  if (xml == NULL)
    return FALSE;
  if (virDomainIsPersistent (dom) == 1)
    flags |= VIR_DOMAIN_AFFECT_CONFIG;
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml, AMIGO_METADATA_KEY,
                            AMIGO_METADATA_NAMESPACE, flags) < 0) {
    g_autofree char *msg = amigo_connection_last_error ();
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "%s", msg);
    return FALSE;
  }
  return TRUE;
}

static void
write_metadata (AmigoDaemon *self)
{
  GHashTableIter iter;
  AmigoTrackedDomain *d;
  guint written = 0;

  if (amigo_connection_get (self->connection) == NULL)
    return;
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d)) {
    g_autoptr (GError) error = NULL;
    g_autofree char *summary = amigo_history_export_summary (self->history, d->uuid, SUMMARY_MAX_BYTES,
                                                             &error);
    virDomainPtr dom;

    if (summary == NULL) {
      if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
        amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "no history summary for '%s': %s",
                          d->name, error->message);
      continue;
    }
    dom = lookup_domain (self, d->uuid);
    if (dom == NULL)
      continue;   /* went away since the last poll */
    if (write_summary (dom, summary, &error)) {
      written++;
    } else {
      g_autofree char *line = g_strdup_printf ("cannot write the history summary into '%s': %s",
                                               d->name, error->message);
      warn_once (self, d->uuid, d->name, line);
    }
    virDomainFree (dom);
  }
  g_debug ("wrote the history summary into %u domains", written);
}

/* ---- polling ---- */

static void
poll_once (AmigoDaemon *self)
{
  virConnectPtr conn = amigo_connection_get (self->connection);
  g_autoptr (GArray) samples = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) seen = NULL;
  g_autoptr (GPtrArray) store_warnings = NULL;
  GHashTableIter iter;
  AmigoTrackedDomain *d;
  gint64 mono = now_mono (self);
  gint64 wall = now_wall (self);

  amigo_history_set_now (self->history, wall);
  if (conn == NULL)
    return;
  if (!amigo_collector_poll (self->collector, conn, mono, wall, &samples, &error)) {
    if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED) || virConnectIsAlive (conn) != 1)
      amigo_connection_lost (self->connection, error->message);
    else
      warn_once (self, NULL, NULL, error->message);
    notify_status (self);
    return;
  }

  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < samples->len; i++) {
    AmigoDomainSample *s = &g_array_index (samples, AmigoDomainSample, i);
    g_autoptr (GError) append_error = NULL;

    d = g_hash_table_lookup (self->domains, s->uuid);
    if (d == NULL) {
      d = g_new0 (AmigoTrackedDomain, 1);
      g_strlcpy (d->uuid, s->uuid, sizeof d->uuid);
      d->name = g_strdup (s->name);
      g_hash_table_insert (self->domains, d->uuid, d);
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "tracking domain '%s'", d->name);
      maybe_import_history (self, d->uuid, d->name);
    } else if (g_strcmp0 (d->name, s->name) != 0) {
      g_free (d->name);
      d->name = g_strdup (s->name);
    }
    d->last = s->sample;
    g_hash_table_add (seen, d->uuid);
    /* A refused sample is reported by the store's warnings, by kind. */
    if (!amigo_history_append (self->history, d->uuid, d->name, &s->sample, &append_error))
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "cannot store the sample of '%s': %s",
                        d->name, append_error->message);
  }

  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d)) {
    if (!g_hash_table_contains (seen, d->uuid)) {
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "domain '%s' is gone", d->name);
      g_hash_table_iter_remove (&iter);
    }
  }
  g_ptr_array_set_size (self->domain_list, 0);
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d))
    g_ptr_array_add (self->domain_list, d);

  g_clear_error (&error);
  /* The store says once when writing fails and once when it recovers. */
  if (!amigo_history_flush (self->history, &error))
    g_debug ("cannot flush the history store '%s': %s", self->conf->state_dir, error->message);
  store_warnings = amigo_history_take_warnings (self->history);
  for (guint i = 0; i < store_warnings->len; i++) {
    AmigoHistoryWarning *w = g_ptr_array_index (store_warnings, i);
    g_autofree char *line = w->count > 1 ? g_strdup_printf ("%s (and %u more like it)", w->message, w->count - 1)
                                         : g_strdup (w->message);
    warn_by_kind (self, amigo_history_warning_kind_to_string (w->kind), line);
  }

  self->last_poll_wall_usec = wall;
  notify_status (self);
}

static void
maybe_write_metadata (AmigoDaemon *self)
{
  gint64 mono = now_mono (self);

  if (mono - self->last_metadata_usec < self->conf->metadata_interval_usec)
    return;
  self->last_metadata_usec = mono;
  write_metadata (self);
}

static gboolean
on_poll_timeout (gpointer user_data)
{
  AmigoDaemon *self = user_data;

  poll_once (self);
  maybe_write_metadata (self);
  return G_SOURCE_CONTINUE;
}

/* Benchmark: each tick advances the clock by one interval. */
static gboolean
on_simulated_tick (gpointer user_data)
{
  AmigoDaemon *self = user_data;

  if (amigo_connection_get (self->connection) == NULL)
    return G_SOURCE_CONTINUE;
  poll_once (self);
  maybe_write_metadata (self);
  self->ticks++;
  if (self->ticks == 1)
    self->first_tick_cpu_usec = process_cpu_usec ();
  self->sim_mono_usec += self->conf->interval_usec;
  self->sim_wall_usec += self->conf->interval_usec;
  if (self->options.simulate_ticks > 0 && self->ticks >= self->options.simulate_ticks) {
    gint64 cpu = process_cpu_usec ();

    g_message ("simulation done: %u ticks, %" G_GINT64_FORMAT " s of simulated time, %u domains",
               self->ticks, self->ticks * self->conf->interval_usec / AMIGO_USEC_PER_SEC,
               g_hash_table_size (self->domains));
    /* start-up and the first tick (which creates every domain's files)
     * apart from the steady state */
    g_message ("simulation cpu: first_tick_usec=%" G_GINT64_FORMAT " later_ticks=%u later_usec=%"
               G_GINT64_FORMAT, self->first_tick_cpu_usec, self->ticks - 1,
               cpu - self->first_tick_cpu_usec);
    self->poll_id = 0;
    g_main_loop_quit (self->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
on_connection_state (AmigoConnection *conn, gboolean connected, gpointer user_data)
{
  AmigoDaemon *self = user_data;

  notify_status (self);
  if (connected && !self->options.simulate) {
    /* poll right away, then every interval */
    poll_once (self);
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
  g_autoptr (AmigoDaemon) self = g_new0 (AmigoDaemon, 1);
  AmigoHistoryOptions history_options;
  g_autoptr (GPtrArray) known = NULL;

  self->conf = conf;
  self->options = *options;
  self->start_mono_usec = g_get_monotonic_time ();
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, tracked_domain_free);
  self->domain_list = g_ptr_array_new ();
  self->known_history = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->ratelimit = amigo_ratelimit_new (10 * AMIGO_USEC_PER_MIN, 64);
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
  known = amigo_history_list_domains (self->history);
  for (guint i = 0; known != NULL && i < known->len; i++)
    g_hash_table_add (self->known_history, g_strdup (g_ptr_array_index (known, i)));

  self->collector = amigo_collector_new ();
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
  if (options->bench_stats != NULL) {
    self->bench_feed = amigo_bench_feed_new (options->bench_stats, error);
    if (self->bench_feed == NULL)
      return NULL;
    amigo_collector_set_augment_func (self->collector, amigo_bench_feed_augment, self->bench_feed);
  }
  if (options->simulate) {
    self->sim_mono_usec = g_get_monotonic_time ();
    /* end the simulation at about the real time, so no sample is in the future */
    self->sim_wall_usec = g_get_real_time () - (gint64) options->simulate_ticks * conf->interval_usec;
  }
  if (!amigo_connection_init_event_loop (error))
    return NULL;
  self->connection = amigo_connection_new (conf->uri, on_connection_state, self);
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
  g_clear_pointer (&self->connection, amigo_connection_free);
  g_clear_pointer (&self->collector, amigo_collector_free);
  g_clear_pointer (&self->bench_feed, amigo_bench_feed_free);
  g_clear_pointer (&self->history, amigo_history_free);
  g_clear_pointer (&self->domain_list, g_ptr_array_unref);
  g_clear_pointer (&self->domains, g_hash_table_unref);
  g_clear_pointer (&self->known_history, g_hash_table_unref);
  g_clear_pointer (&self->warned, g_hash_table_unref);
  g_clear_pointer (&self->ratelimit, amigo_ratelimit_free);
  g_clear_pointer (&self->loop, g_main_loop_unref);
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

int
amigo_daemon_run (AmigoDaemon *self)
{
  g_autoptr (GError) error = NULL;
  AmigoDbusServiceBackend backend = {
    .get_status = backend_get_status,
    .get_domains = backend_get_domains,
    .has_history = backend_has_history,
    .query_history = backend_query_history,
    .now_usec = backend_now_usec,
    .retention_usec = self->conf->history.retention_usec,
  };

  self->exit_code = AMIGO_EXIT_OK;
  self->bus = open_bus (self, &error);
  if (self->bus == NULL) {
    g_warning ("cannot connect to the %s bus: %s",
                self->options.bus_address != NULL ? "given" : self->options.session ? "session" : "system",
                error->message);
    return AMIGO_EXIT_FAILURE;
  }
  /* a bus that goes away ends the daemon (systemd restarts it) */
  g_dbus_connection_set_exit_on_close (self->bus, FALSE);
  self->service = amigo_dbus_service_new (&backend, self);
  if (!amigo_dbus_service_start (self->service, self->bus, AMIGO_DBUS_NAME, on_name_acquired,
                                 on_name_lost, self, &error)) {
    g_warning ("cannot export %s: %s", AMIGO_DBUS_PATH, error->message);
    return AMIGO_EXIT_FAILURE;
  }

  self->sigterm_id = g_unix_signal_add (SIGTERM, on_signal, self);
  self->sigint_id = g_unix_signal_add (SIGINT, on_signal, self);
  self->watchdog = amigo_watchdog_new ();

  self->last_metadata_usec = now_mono (self);
  amigo_connection_start (self->connection);
  if (self->options.simulate)
    self->poll_id = g_idle_add (on_simulated_tick, self);
  else
    self->poll_id = g_timeout_add (self->conf->interval_usec / 1000, on_poll_timeout, self);

  g_main_loop_run (self->loop);

  sd_notify (0, "STOPPING=1");
  g_clear_error (&error);
  if (!amigo_history_flush (self->history, &error))
    g_warning ("cannot flush the history store '%s': %s", self->conf->state_dir, error->message);
  return self->exit_code;
}
