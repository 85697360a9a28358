/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turns libvirt domain statistics into per-domain usage samples.
 *
 * Rates come from deltas between two readings of the same domain (keyed by
 * UUID). Whatever makes a delta untrustworthy (first reading, a counter that
 * went backwards, a field missing in either reading, a device that cannot be
 * matched, a non-positive time step) yields NAN for that metric only: the
 * history must never see a spike or a zero that did not happen. See
 * docs/collector.md for every derivation. This file keeps each domain's
 * state and talks to libvirt; amigo-collector-reading.c decodes records. */
#include "amigo-collector.h"

#include <math.h>
#include <string.h>

#include "amigo-collector-reading.h"
#include "amigo-domain-job.h"
#include "amigo-error.h"
#include "amigo-time.h"

/* Whether amigo set a domain's balloon statistics period. */
typedef enum {
  STATS_PERIOD_UNSET,        /* not asked, or asking failed and may be retried */
  STATS_PERIOD_SET,          /* set by amigo to DomainState.stats_period_sec */
  STATS_PERIOD_UNSUPPORTED,  /* the domain or driver cannot: never asked again */
} StatsPeriodState;

typedef struct {
  char *name;
  gboolean primed;
  gint64 now_usec;
  int libvirt_id;            /* -1 = unknown (fed through ingest only) */
  AmigoCollectorReading last;
  /* a job of each kind handed out (or waiting to be) and not reported back
   * by amigo_collector_job_done(): no second one is asked for */
  gboolean job_pending[AMIGO_DOMAIN_JOB_LAST];
  StatsPeriodState stats_period;
  int stats_period_sec;
} DomainState;

struct _AmigoCollector {
  GHashTable *domains;       /* uuid -> DomainState */
  AmigoCollectorAugmentFunc augment_func;
  gpointer augment_data;
  AmigoGpuSource *gpu_source;
  int dirty_rate_period_sec;
  gboolean dirty_rate_unsupported;        /* the driver of polled_conn said no */
  virConnectPtr polled_conn;              /* a reference: the connection of the last poll */
  gint64 interval_usec;
  GArray *jobs;                           /* AmigoDomainJob, for amigo_collector_take_jobs() */
};

/* --- the collector --- */

/* The statistics period asked of a domain that has none: one update per poll. */
static int
stats_period_for_interval (gint64 interval_usec)
{
  gint64 sec = (interval_usec + AMIGO_USEC_PER_SEC - 1) / AMIGO_USEC_PER_SEC;
  return (int) CLAMP (sec, 1, G_MAXINT);
}

/* AmigoCollectorBalloon figures older than this are missing, not current: three of the
 * guest's updates, and never less than two polls (the guest's last update
 * and a poll drift apart by up to one period). */
static gint64
stale_after_usec (const AmigoCollector *self, const DomainState *st)
{
  int period_sec = st->stats_period == STATS_PERIOD_SET ? st->stats_period_sec
                                                        : stats_period_for_interval (self->interval_usec);
  return MAX (3 * (gint64) period_sec * AMIGO_USEC_PER_SEC, 2 * self->interval_usec);
}

static void
queue_job (AmigoCollector *self, DomainState *st, const char *key, AmigoDomainJobKind kind, int arg)
{
  AmigoDomainJob job = { { 0 }, kind, arg };

  if (st->job_pending[kind])
    return;
  g_strlcpy (job.uuid, key, sizeof job.uuid);
  g_array_append_val (self->jobs, job);
  st->job_pending[kind] = TRUE;
}

/* The job-taking calls this reading asks for; made by the caller, off the
 * main loop (see amigo_collector_take_jobs()). */
static void
queue_jobs (AmigoCollector *self, DomainState *st, const char *key, const AmigoCollectorReading *r, gint64 age_sec)
{
  const AmigoCollectorBalloon *b = &r->balloon;

  /* A new measurement once the previous one is over, as long as the driver
   * has not said it cannot. */
  if (self->dirty_rate_period_sec > 0 && !self->dirty_rate_unsupported &&
      !(r->has_dirty_status && r->dirty_status == AMIGO_DIRTYRATE_MEASURING))
    queue_job (self, st, key, AMIGO_DOMAIN_JOB_DIRTY_RATE, self->dirty_rate_period_sec);

  /* Without a statistics period QEMU keeps the figures the guest sent when
   * its balloon driver started (libvirt 9.0: last-update frozen at boot),
   * so they would soon read as stale: ask for one update per poll, once, as
   * soon as the figures are older than that period (plus the second
   * last-update is rounded to), before they go stale. */
  if (b->has_rss && st->stats_period == STATS_PERIOD_UNSET &&
      (!b->has_last_update || age_sec > stats_period_for_interval (self->interval_usec) + 1))
    queue_job (self, st, key, AMIGO_DOMAIN_JOB_STATS_PERIOD, stats_period_for_interval (self->interval_usec));
}

/* Drops the jobs not yet taken for domain @key (which is going away). */
static void
drop_jobs (AmigoCollector *self, const char *key)
{
  for (guint i = self->jobs->len; i > 0; i--) {
    if (g_str_equal (g_array_index (self->jobs, AmigoDomainJob, i - 1).uuid, key))
      g_array_remove_index (self->jobs, i - 1);
  }
}

static void
domain_state_free (gpointer p)
{
  DomainState *st = p;
  g_free (st->name);
  amigo_collector_reading_clear (&st->last);
  g_free (st);
}

AmigoCollector *
amigo_collector_new (void)
{
  AmigoCollector *self = g_new0 (AmigoCollector, 1);

  /* The typed-param helpers use libvirt's per-thread error even without a
   * connection; idempotent. */
  if (virInitialize () < 0)
    g_debug ("virInitialize failed");
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, domain_state_free);
  self->interval_usec = AMIGO_COLLECTOR_DEFAULT_INTERVAL_USEC;
  self->jobs = g_array_new (FALSE, TRUE, sizeof (AmigoDomainJob));
  return self;
}

void
amigo_collector_free (AmigoCollector *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->domains);
  amigo_gpu_source_free (self->gpu_source);
  if (self->polled_conn != NULL)
    virConnectClose (self->polled_conn);
  g_array_unref (self->jobs);
  g_free (self);
}

gboolean
amigo_collector_ingest (AmigoCollector *self,
                        const char *uuid,
                        const char *name,
                        virTypedParameterPtr params,
                        int nparams,
                        gint64 now_usec,
                        gint64 wall_usec,
                        AmigoSample *ret_sample,
                        GError **error)
{
  g_autofree char *key = NULL;
  DomainState *st;
  AmigoCollectorReading cur;
  AmigoSample sample;
  gboolean fresh;
  gint64 age_sec;

  g_return_val_if_fail (self != NULL, FALSE);

  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "'%s' is not a domain UUID", uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  if (nparams < 0 || (params == NULL && nparams > 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "statistics of domain '%s' are malformed (%d params)", uuid, nparams);
    return FALSE;
  }

  key = g_ascii_strdown (uuid, -1);
  amigo_collector_reading_init (&cur);
  amigo_collector_reading_decode (&cur, params, nparams);

  st = g_hash_table_lookup (self->domains, key);
  if (st == NULL) {
    st = g_new0 (DomainState, 1);
    st->libvirt_id = -1;
    g_hash_table_insert (self->domains, g_strdup (key), st);
  }

  /* A figure stamped in the future (the clock stepped back) is not stale. */
  age_sec = cur.balloon.has_last_update ? wall_usec / AMIGO_USEC_PER_SEC - cur.balloon.last_update : 0;
  fresh = age_sec <= stale_after_usec (self, st) / AMIGO_USEC_PER_SEC;
  if (!fresh)
    g_debug ("domain '%s': balloon statistics from %" G_GINT64_FORMAT " s ago, treated as missing",
             uuid, age_sec);

  amigo_sample_init (&sample, wall_usec);
  sample.values[AMIGO_METRIC_MEMORY] = amigo_collector_reading_guest_memory_gib (&cur.balloon, fresh);
  if (cur.balloon.has_rss)
    sample.values[AMIGO_METRIC_HOST_MEMORY] = (double) cur.balloon.rss * 1024.0 / AMIGO_BYTES_PER_GIB;
  sample.values[AMIGO_METRIC_DIRTY_RATE] = cur.dirty_mib;
  queue_jobs (self, st, key, &cur, age_sec);
  if (name != NULL && g_strcmp0 (st->name, name) != 0) {
    if (st->name != NULL)
      g_debug ("domain '%s' renamed from '%s' to '%s'", uuid, st->name, name);
    g_free (st->name);
    st->name = g_strdup (name);
  }

  if (st->primed) {
    gint64 dt_usec = now_usec - st->now_usec;
    if (dt_usec > 0)
      amigo_collector_reading_rates (&st->last, &cur, (double) dt_usec / AMIGO_USEC_PER_SEC, &sample);
    else
      g_debug ("domain '%s': time step of %" G_GINT64_FORMAT " us, rates unknown", uuid, dt_usec);
  }

  /* Whatever happened, this reading is the next baseline (re-priming after
   * a reset or a gap). */
  amigo_collector_reading_clear (&st->last);
  st->last = cur;
  st->now_usec = now_usec;
  st->primed = TRUE;

  if (ret_sample != NULL)
    *ret_sample = sample;
  return TRUE;
}

void
amigo_collector_forget (AmigoCollector *self, const char *uuid)
{
  g_autofree char *key = NULL;

  g_return_if_fail (self != NULL);
  if (uuid == NULL)
    return;
  key = g_ascii_strdown (uuid, -1);
  g_hash_table_remove (self->domains, key);
  drop_jobs (self, key);
  amigo_gpu_source_forget (self->gpu_source, key);
}

void
amigo_collector_prune (AmigoCollector *self, GHashTable *seen_uuids)
{
  GHashTableIter it;
  gpointer key;

  g_return_if_fail (self != NULL);
  g_hash_table_iter_init (&it, self->domains);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    if (seen_uuids != NULL && g_hash_table_contains (seen_uuids, key))
      continue;
    g_debug ("domain '%s' is gone, forgetting its counters", (const char *) key);
    amigo_gpu_source_forget (self->gpu_source, key);
    drop_jobs (self, key);
    g_hash_table_iter_remove (&it);
  }
}

guint
amigo_collector_get_n_domains (AmigoCollector *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return g_hash_table_size (self->domains);
}

void
amigo_domain_sample_clear (AmigoDomainSample *s)
{
  if (s == NULL)
    return;
  g_clear_pointer (&s->name, g_free);
}

void
amigo_collector_set_augment_func (AmigoCollector *self,
                                  AmigoCollectorAugmentFunc func,
                                  gpointer user_data)
{
  g_return_if_fail (self != NULL);
  self->augment_func = func;
  self->augment_data = func != NULL ? user_data : NULL;
}

void
amigo_collector_set_gpu_source (AmigoCollector *self, AmigoGpuSource *source)
{
  g_return_if_fail (self != NULL);
  if (self->gpu_source == source)
    return;
  amigo_gpu_source_free (self->gpu_source);
  self->gpu_source = source;
}

void
amigo_collector_set_dirty_rate_period (AmigoCollector *self, int period_sec)
{
  g_return_if_fail (self != NULL);
  self->dirty_rate_period_sec = MAX (period_sec, 0);
}

void
amigo_collector_set_interval (AmigoCollector *self, gint64 interval_usec)
{
  g_return_if_fail (self != NULL);
  self->interval_usec = interval_usec > 0 ? interval_usec : AMIGO_COLLECTOR_DEFAULT_INTERVAL_USEC;
}

GArray *
amigo_collector_take_jobs (AmigoCollector *self)
{
  GArray *jobs;

  g_return_val_if_fail (self != NULL, NULL);
  jobs = g_steal_pointer (&self->jobs);
  self->jobs = g_array_new (FALSE, TRUE, sizeof (AmigoDomainJob));
  return jobs;
}

void
amigo_collector_job_done (AmigoCollector *self, const AmigoDomainJob *job, const GError *error)
{
  g_autofree char *key = NULL;
  gboolean unsupported;
  DomainState *st;

  g_return_if_fail (self != NULL);
  g_return_if_fail (job != NULL && (guint) job->kind < AMIGO_DOMAIN_JOB_LAST);

  key = g_ascii_strdown (job->uuid, -1);
  unsupported = g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED);
  if (error != NULL)
    g_debug ("domain '%s': %s job failed: %s", key, amigo_domain_job_kind_to_string (job->kind),
             error->message);

  /* A driver without it says so for every domain, every poll: ask this
   * connection no more (a new connection is asked again). */
  if (job->kind == AMIGO_DOMAIN_JOB_DIRTY_RATE && unsupported)
    self->dirty_rate_unsupported = TRUE;

  st = g_hash_table_lookup (self->domains, key);
  if (st == NULL)
    return;                  /* gone (or restarted) meanwhile */
  st->job_pending[job->kind] = FALSE;
  if (job->kind == AMIGO_DOMAIN_JOB_STATS_PERIOD) {
    if (error == NULL) {
      st->stats_period = STATS_PERIOD_SET;
      st->stats_period_sec = job->arg;
    } else {
      /* anything but "cannot" (a migration's job timed out the call) is
       * asked again after the next poll */
      st->stats_period = unsupported ? STATS_PERIOD_UNSUPPORTED : STATS_PERIOD_UNSET;
    }
  }
}

static int
get_all_stats (virConnectPtr conn, virDomainStatsRecordPtr **records)
{
  unsigned int flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
  int n;

#if LIBVIR_CHECK_VERSION(4, 5, 0)
  /* Do not wait for a domain busy with a job (a migration): its job-bound
   * fields are left out and read as missing (NAN) instead. */
  n = virConnectGetAllDomainStats (conn, AMIGO_COLLECTOR_STATS, records,
                                   flags | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
  if (n >= 0)
    return n;
  {
    int code = virGetLastErrorCode ();
    if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
      return n;
  }
  virResetLastError ();
#endif
  /* Drivers that know no NOWAIT (the test driver). */
  return virConnectGetAllDomainStats (conn, AMIGO_COLLECTOR_STATS, records, flags);
}

gboolean
amigo_collector_poll (AmigoCollector *self,
                      virConnectPtr conn,
                      gint64 now_usec,
                      gint64 wall_usec,
                      GArray **ret_samples,
                      GError **error)
{
  virDomainStatsRecordPtr *records = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) samples = NULL;
  int n;

  g_return_val_if_fail (self != NULL, FALSE);
  if (conn == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                         "no libvirt connection to poll");
    return FALSE;
  }
  if (conn != self->polled_conn) {
    /* held, so that a later connection cannot reuse its address */
    virConnectRef (conn);
    if (self->polled_conn != NULL)
      virConnectClose (self->polled_conn);
    self->polled_conn = conn;
    self->dirty_rate_unsupported = FALSE;
  }

  n = get_all_stats (conn, &records);
  if (n < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                 "cannot read domain statistics: %s", virGetLastErrorMessage ());
    virResetLastError ();
    return FALSE;
  }

  samples = g_array_sized_new (FALSE, TRUE, sizeof (AmigoDomainSample), n);
  g_array_set_clear_func (samples, (GDestroyNotify) amigo_domain_sample_clear);

  for (int i = 0; i < n; i++) {
    virDomainStatsRecordPtr rec = records[i];
    AmigoDomainSample ds = { { 0 }, NULL, { 0 } };
    g_autoptr(GError) local_error = NULL;
    g_autofree char *key = NULL;
    const char *name;
    DomainState *st;
    unsigned int id;

    if (rec == NULL || rec->dom == NULL || virDomainGetUUIDString (rec->dom, ds.uuid) < 0) {
      virResetLastError ();
      continue;
    }
    key = g_ascii_strdown (ds.uuid, -1);
    name = virDomainGetName (rec->dom);
    id = virDomainGetID (rec->dom);

    /* Same UUID under a new id: restarted, or gone and back (migrated away
     * and in again between two polls). Its counters started over. */
    st = g_hash_table_lookup (self->domains, key);
    if (st != NULL && st->libvirt_id >= 0 && (unsigned int) st->libvirt_id != id) {
      g_debug ("domain '%s' has a new id (%d -> %u), priming again", key, st->libvirt_id, id);
      amigo_collector_forget (self, key);
    }

    if (self->augment_func != NULL) {
      int maxparams = rec->nparams;
      self->augment_func (ds.uuid, name, now_usec, &rec->params, &rec->nparams, &maxparams,
                          self->augment_data);
    }

    if (!amigo_collector_ingest (self, ds.uuid, name, rec->params, rec->nparams, now_usec,
                                 wall_usec, &ds.sample, &local_error)) {
      g_debug ("skipping a statistics record: %s", local_error->message);
      continue;
    }
    st = g_hash_table_lookup (self->domains, key);
    if (st != NULL)
      st->libvirt_id = id == (unsigned int) -1 ? -1 : (int) MIN (id, (unsigned int) G_MAXINT);

    if (self->gpu_source != NULL) {
      double gib = NAN;
      if (amigo_gpu_source_read (self->gpu_source, rec->dom, key, now_usec, &gib, &local_error))
        ds.sample.values[AMIGO_METRIC_GPU_MEMORY] = gib;
      else
        g_debug ("domain '%s': GPU source '%s' failed: %s", key,
                 amigo_gpu_source_get_name (self->gpu_source), local_error->message);
      virResetLastError ();
    }

    ds.name = g_strdup (name);
    g_array_append_val (samples, ds);
    g_hash_table_add (seen, g_steal_pointer (&key));
  }
  virDomainStatsRecordListFree (records);

  amigo_collector_prune (self, seen);

  if (ret_samples != NULL)
    *ret_samples = g_steal_pointer (&samples);
  return TRUE;
}
