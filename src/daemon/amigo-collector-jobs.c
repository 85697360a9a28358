/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-collector-jobs.h"

#include "amigo-domain-job.h"
#include "amigo-error.h"

struct _AmigoCollectorJobs {
  AmigoCollector *collector;   /* borrowed */
  AmigoJobRunner *runner;      /* borrowed: the job-taking calls */
  AmigoJobRunner *poller;      /* borrowed: the polls */
  GPtrArray *deferred_jobs;    /* CollectorJobs that ended while a poll was out */
};

/* The collector's job-taking calls for one domain (a dirty-rate start, a
 * balloon statistics period), made one after the other in one runner job:
 * a domain takes one job at a time. */
typedef struct {
  virConnectPtr conn;       /* a reference */
  GArray *jobs;             /* AmigoDomainJob */
  GPtrArray *errors;        /* GError * or NULL, one per job */
} CollectorJobs;

static void
collector_jobs_free (gpointer data)
{
  CollectorJobs *cj = data;

  if (cj->conn != NULL)
    virConnectClose (cj->conn);
  g_array_unref (cj->jobs);
  g_ptr_array_unref (cj->errors);
  g_free (cj);
}

static void
error_free0 (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

/* Job runner thread. */
static gboolean
collector_jobs_run (gpointer data, GError **error)
{
  CollectorJobs *cj = data;

  for (guint i = 0; i < cj->jobs->len; i++) {
    GError *job_error = NULL;

    amigo_domain_job_run (cj->conn, &g_array_index (cj->jobs, AmigoDomainJob, i), &job_error);
    g_ptr_array_add (cj->errors, job_error);
  }
  return TRUE;
}

static void
report_collector_jobs (AmigoCollectorJobs *self, CollectorJobs *cj)
{
  for (guint i = 0; i < cj->jobs->len; i++)
    amigo_collector_job_done (self->collector, &g_array_index (cj->jobs, AmigoDomainJob, i),
                              i < cj->errors->len ? g_ptr_array_index (cj->errors, i) : NULL);
}

void
amigo_collector_jobs_report_deferred (AmigoCollectorJobs *self)
{
  g_autoptr (GPtrArray) deferred = g_steal_pointer (&self->deferred_jobs);

  self->deferred_jobs = g_ptr_array_new_with_free_func (collector_jobs_free);
  for (guint i = 0; i < deferred->len; i++)
    report_collector_jobs (self, g_ptr_array_index (deferred, i));
}

static void
on_collector_jobs_done (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  AmigoCollectorJobs *self = user_data;
  CollectorJobs *cj = data;

  /* a poll out in the poller thread has the collector: report when it is back */
  if (amigo_job_runner_get_in_flight (self->poller) > 0) {
    CollectorJobs *later = g_new0 (CollectorJobs, 1);

    later->jobs = g_array_ref (cj->jobs);
    later->errors = g_ptr_array_ref (cj->errors);
    g_ptr_array_add (self->deferred_jobs, later);
    return;
  }
  report_collector_jobs (self, cj);
}

/* A domain still busy (its metadata write or last calls wait behind a
 * migration) skips this round and the collector asks again. */
void
amigo_collector_jobs_dispatch (AmigoCollectorJobs *self, virConnectPtr conn)
{
  g_autoptr (GArray) jobs = amigo_collector_take_jobs (self->collector);
  g_autoptr (GHashTable) by_domain = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  CollectorJobs *cj;

  for (guint i = 0; i < jobs->len; i++) {
    AmigoDomainJob *job = &g_array_index (jobs, AmigoDomainJob, i);

    cj = g_hash_table_lookup (by_domain, job->uuid);
    if (cj == NULL) {
      cj = g_new0 (CollectorJobs, 1);
      cj->conn = conn;
      if (conn != NULL)
        virConnectRef (conn);
      cj->jobs = g_array_new (FALSE, FALSE, sizeof (AmigoDomainJob));
      cj->errors = g_ptr_array_new_with_free_func (error_free0);
      g_hash_table_insert (by_domain, job->uuid, cj);
    }
    g_array_append_val (cj->jobs, *job);
  }
  g_hash_table_iter_init (&iter, by_domain);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &cj)) {
    g_autoptr (GArray) mine = g_array_ref (cj->jobs);   /* to report a skip: the runner frees cj */
    g_autoptr (GError) skipped = NULL;
    char uuid[AMIGO_UUID_BUFLEN];

    g_strlcpy (uuid, g_array_index (mine, AmigoDomainJob, 0).uuid, sizeof uuid);
    if (conn == NULL) {
      collector_jobs_free (cj);
      skipped = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED, "libvirt is not connected");
    } else if (!amigo_job_runner_submit (self->runner, uuid, collector_jobs_run, on_collector_jobs_done, cj,
                                         collector_jobs_free, self)) {
      skipped = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_BUSY, "the domain's previous call has not ended");
    }
    for (guint i = 0; skipped != NULL && i < mine->len; i++)
      amigo_collector_job_done (self->collector, &g_array_index (mine, AmigoDomainJob, i), skipped);
  }
}

AmigoCollectorJobs *
amigo_collector_jobs_new (AmigoCollector *collector, AmigoJobRunner *runner, AmigoJobRunner *poller)
{
  AmigoCollectorJobs *self = g_new0 (AmigoCollectorJobs, 1);

  self->collector = collector;
  self->runner = runner;
  self->poller = poller;
  self->deferred_jobs = g_ptr_array_new_with_free_func (collector_jobs_free);
  return self;
}

void
amigo_collector_jobs_free (AmigoCollectorJobs *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->deferred_jobs);
  g_free (self);
}
