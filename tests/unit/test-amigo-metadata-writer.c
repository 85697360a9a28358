/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <stdlib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "amigo-metadata.h"
#include "amigo-metadata-writer.h"
#include "amigo-time.h"

/* the domain of libvirt's test:///default */
#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

typedef struct {
  char *dir;
  AmigoHistory *history;
  AmigoDomainTable *domains;
  AmigoJobRunner *runner;
  AmigoMetadataWriter *writer;
  virConnectPtr conn;
  guint problems;
} Fixture;

static void
on_problem (AmigoMetadataWriterProblem problem, const char *uuid, const char *name, const char *message,
            gpointer user_data)
{
  ((Fixture *) user_data)->problems++;
}

static void
add_sample (Fixture *f, gint64 time_usec, double cpu)
{
  AmigoSample s;

  amigo_sample_init (&s, time_usec);
  s.values[AMIGO_METRIC_CPU] = cpu;
  assert_true (amigo_history_append (f->history, TEST_UUID, "test", &s, NULL));
  assert_true (amigo_history_flush (f->history, NULL));
  amigo_domain_table_begin_poll (f->domains);
  amigo_domain_table_update (f->domains, TEST_UUID, "test", &s, NULL);
  amigo_domain_table_end_poll (f->domains, NULL, NULL);
}

static void
wait_jobs (Fixture *f)
{
  for (gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       amigo_job_runner_get_in_flight (f->runner) > 0 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  assert_int_equal (amigo_job_runner_get_in_flight (f->runner), 0);
}

static char *
history_in_metadata (Fixture *f, unsigned int flags)
{
  virDomainPtr dom = virDomainLookupByUUIDString (f->conn, TEST_UUID);
  g_autofree char *xml = NULL;
  g_autoptr (AmigoMetadata) md = NULL;

  assert_non_null (dom);
  xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, AMIGO_METADATA_NAMESPACE, flags);
  virDomainFree (dom);
  if (xml == NULL) {
    virResetLastError ();
    return NULL;
  }
  md = amigo_metadata_parse (xml, NULL);
  assert_non_null (md);
  return g_steal_pointer (&md->history);
}

static void
quiet_libvirt (void *data, virErrorPtr error)
{
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  AmigoHistoryOptions options;

  f->dir = g_dir_make_tmp ("amigo-writer-XXXXXX", NULL);
  amigo_history_options_init (&options);
  options.sync = FALSE;
  options.step_usec = AMIGO_USEC_PER_MIN;
  f->history = amigo_history_open (f->dir, &options, NULL);
  assert_non_null (f->history);
  f->domains = amigo_domain_table_new ();
  f->runner = amigo_job_runner_new (2);
  f->writer = amigo_metadata_writer_new (f->history, f->domains, f->runner, NULL, on_problem, f);
  virSetErrorFunc (NULL, quiet_libvirt);
  f->conn = virConnectOpen ("test:///default");
  assert_non_null (f->conn);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", f->dir);

  amigo_metadata_writer_free (f->writer);
  amigo_job_runner_free (f->runner);
  amigo_domain_table_free (f->domains);
  amigo_history_free (f->history);
  virConnectClose (f->conn);
  g_assert (system (rm) == 0);
  g_free (f->dir);
  g_free (f);
  return 0;
}

/* The summary goes into the live metadata, never the persistent
 * definition, and is written again only when it changed. */
static void
test_metadata_writer_live_and_only_when_changed (void **state)
{
  Fixture *f = *state;
  gint64 now = (g_get_real_time () / AMIGO_USEC_PER_MIN) * AMIGO_USEC_PER_MIN;
  g_autofree char *live = NULL;
  g_autofree char *config = NULL;
  g_autofree char *again = NULL;

  add_sample (f, now - 3 * AMIGO_USEC_PER_MIN, 0.5);
  add_sample (f, now - 2 * AMIGO_USEC_PER_MIN, 0.5);
  amigo_metadata_writer_round (f->writer, f->conn);
  assert_int_equal (amigo_job_runner_get_in_flight (f->runner), 1);
  wait_jobs (f);
  live = history_in_metadata (f, VIR_DOMAIN_AFFECT_LIVE);
  assert_non_null (live);
  assert_non_null (g_strstr_len (live, -1, "amigo-history-summary"));
  config = history_in_metadata (f, VIR_DOMAIN_AFFECT_CONFIG);
  assert_null (config);

  /* nothing new: no write at all */
  amigo_metadata_writer_round (f->writer, f->conn);
  assert_int_equal (amigo_job_runner_get_in_flight (f->runner), 0);

  /* a new bucket: written again */
  add_sample (f, now - AMIGO_USEC_PER_MIN, 1.5);
  amigo_metadata_writer_round (f->writer, f->conn);
  assert_int_equal (amigo_job_runner_get_in_flight (f->runner), 1);
  wait_jobs (f);
  again = history_in_metadata (f, VIR_DOMAIN_AFFECT_LIVE);
  assert_non_null (again);
  assert_string_not_equal (again, live);

  /* a domain that left and came back is written again */
  amigo_metadata_writer_forget (f->writer, TEST_UUID);
  amigo_metadata_writer_round (f->writer, f->conn);
  assert_int_equal (amigo_job_runner_get_in_flight (f->runner), 1);
  wait_jobs (f);
  assert_int_equal (f->problems, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_metadata_writer_live_and_only_when_changed, setup, teardown),
  };
  return cmocka_run_group_tests_name ("summary-writer", tests, NULL, NULL);
}
