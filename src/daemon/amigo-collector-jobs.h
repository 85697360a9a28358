/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-collector.h"
#include "amigo-job-runner.h"

G_BEGIN_DECLS

/**
 * AmigoCollectorJobs: runs the collector's job-taking libvirt calls (a
 * dirty-rate start, a balloon statistics period; amigo-domain-job.h) off
 * the main loop, through the job runner, one runner job per domain and
 * poll (a domain takes one job at a time). A call skipped because the
 * domain is busy or libvirt is disconnected is reported back to the
 * collector, which asks again at a later poll; results that end while a
 * poll has the collector (in the poller thread) are held until it is back.
 */
typedef struct _AmigoCollectorJobs AmigoCollectorJobs;

/* All borrowed; they outlive the object. @poller is the runner the polls
 * run in (its in-flight count says a poll has the collector). */
AmigoCollectorJobs *amigo_collector_jobs_new (AmigoCollector *collector,
                                              AmigoJobRunner *runner,
                                              AmigoJobRunner *poller);
void amigo_collector_jobs_free (AmigoCollectorJobs *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoCollectorJobs, amigo_collector_jobs_free)

/* Hands the calls the last poll asked for to the runner (@conn NULL: libvirt
 * is not connected, all are reported skipped). Main thread, no poll out. */
void amigo_collector_jobs_dispatch (AmigoCollectorJobs *self, virConnectPtr conn);

/* Reports the calls that ended while a poll had the collector. Main thread,
 * once the poll is back. */
void amigo_collector_jobs_report_deferred (AmigoCollectorJobs *self);

G_END_DECLS
