/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "amigo-error.h"
#include "amigo-job-runner.h"

#define UUID_A "6a000000-0000-4000-8000-000000000001"
#define UUID_B "6a000000-0000-4000-8000-000000000002"

/* A call that waits for the test to open its gate, as a libvirt call waits
 * for a migration's job. */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean open;
  gboolean fail;
} Gate;

typedef struct {
  guint done;
  gboolean on_main_thread;
  char *last_uuid;
  char *last_error;
} Results;

static gboolean
gated_run (gpointer data, GError **error)
{
  Gate *gate = data;

  g_mutex_lock (&gate->lock);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  if (gate->fail) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "Timed out during operation");
    return FALSE;
  }
  return TRUE;
}

static void
gate_open (Gate *gate)
{
  g_mutex_lock (&gate->lock);
  gate->open = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
}

static GThread *main_thread;

static void
on_done (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  Results *r = user_data;

  r->done++;
  r->on_main_thread = g_thread_self () == main_thread;
  g_free (r->last_uuid);
  r->last_uuid = g_strdup (uuid);
  g_free (r->last_error);
  r->last_error = error != NULL ? g_strdup (error->message) : NULL;
}

static void
iterate_until (Results *r, guint done)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (r->done < done && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static void
data_free_count (gpointer data)
{
  (*(guint *) data)++;
}

/* While one domain's call waits, the main context runs, another domain's
 * call completes, and a second job for the waiting domain is skipped and
 * counted, not queued. Each end is reported on the main thread. */
static void
test_job_runner_one_per_domain (void **state)
{
  g_autoptr (AmigoJobRunner) runner = amigo_job_runner_new (2);
  Gate a = { .open = FALSE }, b = { .open = TRUE };
  Results r = { 0 };
  guint freed = 0;

  main_thread = g_thread_self ();
  assert_true (amigo_job_runner_submit (runner, UUID_A, gated_run, on_done, &a, NULL, &r));
  assert_true (amigo_job_runner_is_busy (runner, UUID_A));
  assert_false (amigo_job_runner_submit (runner, UUID_A, gated_run, on_done, &freed, data_free_count, &r));
  assert_int_equal (freed, 1);   /* a skipped job's data is freed at once */
  assert_int_equal (amigo_job_runner_get_skipped (runner), 1);

  assert_true (amigo_job_runner_submit (runner, UUID_B, gated_run, on_done, &b, NULL, &r));
  iterate_until (&r, 1);
  assert_int_equal (r.done, 1);
  assert_string_equal (r.last_uuid, UUID_B);
  assert_true (r.on_main_thread);
  assert_null (r.last_error);
  assert_true (amigo_job_runner_is_busy (runner, UUID_A));
  assert_int_equal (amigo_job_runner_get_in_flight (runner), 1);

  a.fail = TRUE;
  gate_open (&a);
  iterate_until (&r, 2);
  assert_int_equal (r.done, 2);
  assert_string_equal (r.last_uuid, UUID_A);
  assert_string_equal (r.last_error, "Timed out during operation");
  assert_false (amigo_job_runner_is_busy (runner, UUID_A));
  assert_int_equal (amigo_job_runner_get_in_flight (runner), 0);
  /* the domain takes jobs again */
  assert_true (amigo_job_runner_submit (runner, UUID_A, gated_run, on_done, &b, NULL, &r));
  iterate_until (&r, 3);
  assert_int_equal (r.done, 3);
  g_free (r.last_uuid);
  g_free (r.last_error);
}

/* Freeing the runner does not wait for a call that is still waiting on
 * libvirt, and that call's end is then never reported. */
static void
test_job_runner_free_does_not_wait (void **state)
{
  AmigoJobRunner *runner = amigo_job_runner_new (1);
  static Gate gate = { .open = FALSE };
  Results r = { 0 };
  gint64 start = g_get_monotonic_time ();

  main_thread = g_thread_self ();
  assert_true (amigo_job_runner_submit (runner, UUID_A, gated_run, on_done, &gate, NULL, &r));
  amigo_job_runner_free (runner);
  assert_true (g_get_monotonic_time () - start < G_USEC_PER_SEC);
  gate_open (&gate);
  g_usleep (50000);
  for (guint i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  assert_int_equal (r.done, 0);
}

static gint slow_started;

static gboolean
slow_run (gpointer data, GError **error)
{
  g_atomic_int_set (&slow_started, 1);
  g_usleep (100000);
  g_atomic_int_set ((gint *) data, 1);
  return TRUE;
}

/* The waiting free returns only once the running job has: its owner may
 * then free what the job used. */
static void
test_job_runner_free_wait (void **state)
{
  AmigoJobRunner *runner = amigo_job_runner_new (1);
  static gint finished = 0;
  Results r = { 0 };

  assert_true (amigo_job_runner_submit (runner, "poll", slow_run, on_done, &finished, NULL, &r));
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
       !g_atomic_int_get (&slow_started) && g_get_monotonic_time () < end;)
    g_usleep (1000);
  amigo_job_runner_free_wait (runner);
  assert_int_equal (g_atomic_int_get (&finished), 1);
  for (guint i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  assert_int_equal (r.done, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_job_runner_one_per_domain),
    cmocka_unit_test (test_job_runner_free_does_not_wait),
    cmocka_unit_test (test_job_runner_free_wait),
  };
  return cmocka_run_group_tests_name ("job-runner", tests, NULL, NULL);
}
