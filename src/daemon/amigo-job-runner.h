/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoJobRunner: runs the libvirt calls that take a domain job off the
 * main loop.
 *
 * During a live migration the domain holds a libvirt job; a call that needs
 * one on it (virDomainSetMetadata, virDomainStartDirtyRateCalc,
 * virDomainSetMemoryStatsPeriod) waits until the migration ends, or
 * libvirt's 30 s job timeout. The runner makes such calls in a small thread
 * pool, at most one per domain at a time: a job for a domain whose previous
 * job has not finished is not queued but skipped and counted (its caller
 * tries again at its next tick, with fresh data). Each job's end is
 * reported on the main context the runner was created in, so callers keep
 * all their state on the main loop.
 */
typedef struct _AmigoJobRunner AmigoJobRunner;

/* Makes the call, in a pool thread; may block for a whole migration. Must
 * touch nothing but @data. Returns FALSE with @error set on failure. */
typedef gboolean (*AmigoJobRunFunc) (gpointer data, GError **error);

/* The job's end, on the runner's main context: @error is NULL on success.
 * Not called for a job still running when the runner is freed. */
typedef void (*AmigoJobDoneFunc) (const char *uuid,
                                  gpointer data,
                                  const GError *error,
                                  gpointer user_data);

/* @max_threads: how many domains' jobs may wait at once; the jobs of more
 * domains queue (each still counts as in flight for its domain). */
AmigoJobRunner *amigo_job_runner_new (guint max_threads);

/* Does not wait for running jobs (one may wait behind a migration): their
 * results are dropped; queued jobs are discarded. */
void amigo_job_runner_free (AmigoJobRunner *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoJobRunner, amigo_job_runner_free)

/* As amigo_job_runner_free(), but waits for the running jobs to return
 * (their results still dropped): for jobs that use something their owner
 * frees next. */
void amigo_job_runner_free_wait (AmigoJobRunner *self);

/* Starts @run (@data) for the domain @uuid, then @done (nullable) with
 * @user_data. Returns FALSE if @uuid has a job in flight: nothing is run,
 * @data is freed at once with @data_free, and the skip is counted. Main
 * context only. */
gboolean amigo_job_runner_submit (AmigoJobRunner *self,
                                  const char *uuid,
                                  AmigoJobRunFunc run,
                                  AmigoJobDoneFunc done,
                                  gpointer data,
                                  GDestroyNotify data_free,
                                  gpointer user_data);

/* Whether @uuid has a job queued or running. */
gboolean amigo_job_runner_is_busy (AmigoJobRunner *self, const char *uuid);

/* Jobs queued or running now. */
guint amigo_job_runner_get_in_flight (AmigoJobRunner *self);

/* Jobs skipped because their domain was busy, since the runner started. */
guint64 amigo_job_runner_get_skipped (AmigoJobRunner *self);

G_END_DECLS
