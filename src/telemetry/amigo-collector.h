/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "amigo-domain-job.h"
#include "amigo-gpu-source.h"
#include "amigo-metric.h"

G_BEGIN_DECLS

/**
 * AmigoCollector: turns libvirt domain statistics into #AmigoSample rates.
 *
 * It keeps the previous counters of every domain (keyed by UUID) so that rates
 * come from deltas; a counter that goes backwards, a domain seen for the first
 * time or a field that is missing yields NAN for that metric, never a spike or
 * a zero. The libvirt-facing poll and the pure ingest step are separate so
 * that tests and the benchmark feed recorded statistics through the same code.
 */
typedef struct _AmigoCollector AmigoCollector;

AmigoCollector *amigo_collector_new (void);
void amigo_collector_free (AmigoCollector *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoCollector, amigo_collector_free)

/* Ingests one domain's statistics record (the params of one
 * virDomainStatsRecord) taken at @now_usec (monotonic for deltas) and
 * @wall_usec (stamped on the sample). Fills @ret_sample; metrics that need a
 * previous reading are NAN on the first call. Returns FALSE with @error only on
 * malformed input. */
gboolean amigo_collector_ingest (AmigoCollector *self,
                                 const char *uuid,
                                 const char *name,
                                 virTypedParameterPtr params,
                                 int nparams,
                                 gint64 now_usec,
                                 gint64 wall_usec,
                                 AmigoSample *ret_sample,
                                 GError **error);

/* Drops the state of a domain that went away (so a domain that comes back
 * starts clean). */
void amigo_collector_forget (AmigoCollector *self, const char *uuid);

/* Forgets every domain not in @seen_uuids (a set of UUID strings). */
void amigo_collector_prune (AmigoCollector *self, GHashTable *seen_uuids);

/* One domain's reading from amigo_collector_poll(). */
typedef struct {
  char uuid[VIR_UUID_STRING_BUFLEN];
  char *name;
  AmigoSample sample;
} AmigoDomainSample;

/* Frees @s->name; usable as a GArray clear func. */
void amigo_domain_sample_clear (AmigoDomainSample *s);

/* The statistics groups amigo_collector_poll() asks libvirt for. */
/* An enum value, not a macro: test the version it came with. */
#if LIBVIR_CHECK_VERSION(7, 2, 0)
#define AMIGO_COLLECTOR_STATS_DIRTYRATE VIR_DOMAIN_STATS_DIRTYRATE
#else
#define AMIGO_COLLECTOR_STATS_DIRTYRATE 0
#endif
#define AMIGO_COLLECTOR_STATS (VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | \
                               VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_VCPU | \
                               VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK | \
                               AMIGO_COLLECTOR_STATS_DIRTYRATE)

/* Polls every active (running or paused) domain of @conn with
 * virConnectGetAllDomainStats (NOWAIT: it never waits behind a domain's job;
 * the job-taking calls it wants made are left for
 * amigo_collector_take_jobs()), ingests each record, prunes vanished domains
 * (and forgets a domain whose libvirt id changed, i.e. that was restarted or
 * came back from a migration); *ret_samples = GArray of #AmigoDomainSample
 * (with clear func set). @now_usec is monotonic (deltas), @wall_usec is
 * stamped on the samples. FALSE + AMIGO_ERROR_NOT_CONNECTED when libvirt
 * fails. */
gboolean amigo_collector_poll (AmigoCollector *self,
                               virConnectPtr conn,
                               gint64 now_usec,
                               gint64 wall_usec,
                               GArray **ret_samples,
                               GError **error);

/* Test/benchmark seam: called for every stats record before ingest so
 * recorded statistics can be added to records from libvirt's test driver
 * (which reports only state); NULL to unset. @params, @nparams and @maxparams
 * may be grown with virTypedParamsAdd*(). */
typedef void (*AmigoCollectorAugmentFunc) (const char *uuid,
                                           const char *name,
                                           gint64 now_usec,
                                           virTypedParameterPtr *params,
                                           int *nparams,
                                           int *maxparams,
                                           gpointer user_data);
void amigo_collector_set_augment_func (AmigoCollector *self,
                                       AmigoCollectorAugmentFunc func,
                                       gpointer user_data);

/* GPU source: set on the collector (which takes ownership of @source, freeing
 * any previous one); NULL = none (GPU memory stays NAN). Only
 * amigo_collector_poll() reads it: amigo_collector_ingest() has no domain. */
void amigo_collector_set_gpu_source (AmigoCollector *self, AmigoGpuSource *source);

/* When @period_sec > 0, the collector asks for a libvirt dirty-rate
 * calculation of @period_sec seconds (an #AMIGO_DOMAIN_JOB_DIRTY_RATE job) on
 * every domain whose previous one is finished, so that the next polls can
 * report the page-dirty rate. 0 (the default) = only report measurements
 * someone else started. */
void amigo_collector_set_dirty_rate_period (AmigoCollector *self, int period_sec);

#define AMIGO_COLLECTOR_DEFAULT_INTERVAL_USEC (10 * G_USEC_PER_SEC)

/* The caller's poll interval (default AMIGO_COLLECTOR_DEFAULT_INTERVAL_USEC;
 * <= 0 restores it). It sets the balloon statistics period asked of a domain
 * that has none (#AMIGO_DOMAIN_JOB_STATS_PERIOD, the interval rounded up to
 * whole seconds) and the age past which a guest's memory figures are missing
 * rather than current (see docs/collector.md "Memory"). */
void amigo_collector_set_interval (AmigoCollector *self, gint64 interval_usec);

/* The job-taking calls the last poll wants made (GArray of AmigoDomainJob,
 * never NULL, possibly empty). The caller runs them off the main loop, at
 * most one at a time per domain, and reports each back. Every job handed
 * out must be reported, a skipped one too (with an error): until then no
 * other job of its kind is asked for that domain. */
GArray *amigo_collector_take_jobs (AmigoCollector *self);

/* Reports the end of a job handed out by amigo_collector_take_jobs() (main
 * thread). @error NULL on success. A failed dirty-rate start with
 * AMIGO_ERROR_NOT_SUPPORTED (libvirt's VIR_ERR_NO_SUPPORT) stops asking that
 * driver, as before; a statistics period that cannot be set is not asked
 * again for that domain, one that failed otherwise is. */
void amigo_collector_job_done (AmigoCollector *self, const AmigoDomainJob *job, const GError *error);

/* Number of domains whose state the collector keeps. */
guint amigo_collector_get_n_domains (AmigoCollector *self);

G_END_DECLS
