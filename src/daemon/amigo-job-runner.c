/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-job-runner.h"

#include "amigo-error.h"
#include "amigo-uuid.h"

struct _AmigoJobRunner {
  gatomicrefcount ref;      /* the runner's owner, plus one per job not yet finished */
  GThreadPool *pool;
  GMainContext *context;    /* where jobs' ends are reported */
  GHashTable *in_flight;    /* uuid -> Job (borrowed); main context only */
  guint64 skipped;
  gboolean closed;          /* freed by its owner; main context only */
};

typedef struct {
  AmigoJobRunner *runner;   /* a reference */
  char uuid[AMIGO_UUID_BUFLEN];
  AmigoJobRunFunc run;
  AmigoJobDoneFunc done;
  gpointer data;
  GDestroyNotify data_free;
  gpointer user_data;
  GError *error;            /* set by the pool thread, read on the main context */
} Job;

static void
runner_unref (AmigoJobRunner *self)
{
  if (!g_atomic_ref_count_dec (&self->ref))
    return;
  g_hash_table_unref (self->in_flight);
  g_main_context_unref (self->context);
  g_free (self);
}

static void
job_free (gpointer data)
{
  Job *job = data;

  /* GLib 2.74 wakes its pool threads with GUINT_TO_POINTER (1) queued as
   * an item, and a pool closed while such a marker is still queued hands it
   * to the item free function too (seen: a crash at exit after a busy run). */
  if (data == GUINT_TO_POINTER (1))
    return;
  if (job->data_free != NULL)
    job->data_free (job->data);
  g_clear_error (&job->error);
  runner_unref (job->runner);
  g_free (job);
}

/* Main context. */
static gboolean
job_finish (gpointer data)
{
  Job *job = data;
  AmigoJobRunner *self = job->runner;

  if (!self->closed) {
    g_hash_table_remove (self->in_flight, job->uuid);
    if (job->done != NULL)
      job->done (job->uuid, job->data, job->error, job->user_data);
  }
  return G_SOURCE_REMOVE;
}

/* Pool thread. */
static void
job_thread (gpointer data, gpointer pool_data)
{
  Job *job = data;
  g_autoptr (GSource) source = NULL;

  if (!job->run (job->data, &job->error) && job->error == NULL)
    g_set_error_literal (&job->error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "the call failed");
  /* An idle source rather than g_main_context_invoke(): that would run the
   * callback right here in the pool thread whenever the main context happens
   * to be free. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, job_finish, job, job_free);
  g_source_set_static_name (source, "amigo-job-finish");
  g_source_attach (source, job->runner->context);
}

AmigoJobRunner *
amigo_job_runner_new (guint max_threads)
{
  AmigoJobRunner *self = g_new0 (AmigoJobRunner, 1);

  g_atomic_ref_count_init (&self->ref);
  self->context = g_main_context_ref_thread_default ();
  self->in_flight = g_hash_table_new (g_str_hash, g_str_equal);
  /* Not exclusive: threads are made when jobs come and end when idle, so an
   * idle daemon keeps none. A pool that cannot make a thread fails only the
   * job (reported by g_thread_pool_push). */
  self->pool = g_thread_pool_new_full (job_thread, NULL, job_free, (int) MAX (max_threads, 1), FALSE, NULL);
  return self;
}

static void
runner_close (AmigoJobRunner *self, gboolean wait)
{
  if (self == NULL)
    return;
  self->closed = TRUE;
  g_hash_table_remove_all (self->in_flight);
  /* Running jobs finish (waited for or on their own: their sources hold the
   * runner); queued ones are freed now. */
  g_thread_pool_free (self->pool, TRUE, wait);
  self->pool = NULL;
  runner_unref (self);
}

void
amigo_job_runner_free (AmigoJobRunner *self)
{
  runner_close (self, FALSE);
}

void
amigo_job_runner_free_wait (AmigoJobRunner *self)
{
  runner_close (self, TRUE);
}

gboolean
amigo_job_runner_submit (AmigoJobRunner *self,
                         const char *uuid,
                         AmigoJobRunFunc run,
                         AmigoJobDoneFunc done,
                         gpointer data,
                         GDestroyNotify data_free,
                         gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  Job *job;

  g_return_val_if_fail (!self->closed, FALSE);
  if (g_hash_table_contains (self->in_flight, uuid)) {
    self->skipped++;
    if (data_free != NULL)
      data_free (data);
    return FALSE;
  }
  job = g_new0 (Job, 1);
  job->runner = self;
  g_atomic_ref_count_inc (&self->ref);
  g_strlcpy (job->uuid, uuid, sizeof job->uuid);
  job->run = run;
  job->done = done;
  job->data = data;
  job->data_free = data_free;
  job->user_data = user_data;
  g_hash_table_insert (self->in_flight, job->uuid, job);
  if (!g_thread_pool_push (self->pool, job, &error)) {
    /* reported as the job's end, so the caller has one path for failures */
    g_hash_table_remove (self->in_flight, job->uuid);
    g_set_error (&job->error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot start a thread for the call: %s",
                 error->message);
    job_finish (job);
    job_free (job);
  }
  return TRUE;
}

gboolean
amigo_job_runner_is_busy (AmigoJobRunner *self, const char *uuid)
{
  return g_hash_table_contains (self->in_flight, uuid);
}

guint
amigo_job_runner_get_in_flight (AmigoJobRunner *self)
{
  return g_hash_table_size (self->in_flight);
}

guint64
amigo_job_runner_get_skipped (AmigoJobRunner *self)
{
  return self->skipped;
}
