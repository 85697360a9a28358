/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-migrations.h"
#include "amigo-test-file.h"
#include "amigo-time.h"

/* the domain of libvirt's test:///default, which has no migration: Migrate
 * goes through every step up to libvirt's call, which then fails */
#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define DEST "qemu+tcp://10.77.9.2/system"

typedef struct {
  char *dir;
  AmigoClock *clock;
  AmigoHistory *history;
  AmigoDomainTable *domains;
  AmigoRequests *requests;
  AmigoJobRunner *runner;
  AmigoMetadataWriter *writer;
  AmigoConnection *connection;
  AmigoMigrations *migrations;
  GPtrArray *phases;       /* of each MigrationProgress */
  GVariant *result;        /* the last MigrationFinished */
  char *started_id;        /* Migrate's answer */
  GVariant *started_plan;
  char *finished_id;
} Fixture;

static void
on_progress (gpointer user_data, const char *id, const char *domain, GVariant *progress)
{
  Fixture *f = user_data;
  g_autoptr (GVariant) v = g_variant_ref_sink (progress);
  const char *phase;

  assert_string_equal (domain, "test");
  assert_true (g_variant_lookup (v, "phase", "&s", &phase));
  g_ptr_array_add (f->phases, g_strdup (phase));
}

static void
on_finished (gpointer user_data, const char *id, const char *domain, GVariant *result)
{
  Fixture *f = user_data;

  g_clear_pointer (&f->result, g_variant_unref);
  f->result = g_variant_ref_sink (result);
  g_free (f->finished_id);
  f->finished_id = g_strdup (id);
}

static void
on_started (gpointer user_data, const char *id, GVariant *plan)
{
  Fixture *f = user_data;

  g_free (f->started_id);
  f->started_id = g_strdup (id);
  g_clear_pointer (&f->started_plan, g_variant_unref);
  f->started_plan = g_variant_ref_sink (plan);
}

/* Migrate, answered at once (no deadline). */
static gboolean
start (Fixture *f, const char *uuid, const char *dest, GVariant *opts, char **ret_id, GVariant **ret_plan,
       GError **error)
{
  g_clear_pointer (&f->started_id, g_free);
  if (!amigo_migrations_start (f->migrations, uuid, dest, opts, on_started, f, error)) {
    assert_null (f->started_id);
    return FALSE;
  }
  assert_non_null (f->started_id);
  *ret_id = g_strdup (f->started_id);
  *ret_plan = g_variant_ref (f->started_plan);
  return TRUE;
}

static void
quiet_libvirt (void *data, virErrorPtr error)
{
}

static void
on_problem (AmigoMetadataWriterProblem problem, const char *uuid, const char *name, const char *message,
            gpointer user_data)
{
}

static void
on_connection (AmigoConnection *conn, gboolean connected, gpointer user_data)
{
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  AmigoHistoryOptions options;
  AmigoRequestsOptions ropt;
  AmigoSample s;
  AmigoMigrationsListener listener = { on_progress, on_finished };

  f->dir = g_dir_make_tmp ("amigo-migrations-XXXXXX", NULL);
  f->clock = amigo_clock_new_real ();
  amigo_history_options_init (&options);
  options.sync = FALSE;
  f->history = amigo_history_open (f->dir, &options, NULL);
  assert_non_null (f->history);
  f->domains = amigo_domain_table_new ();
  amigo_sample_init (&s, g_get_real_time ());
  s.values[AMIGO_METRIC_MEMORY] = 0.5;
  s.values[AMIGO_METRIC_DIRTY_RATE] = 2.0;
  amigo_domain_table_begin_poll (f->domains);
  amigo_domain_table_update (f->domains, TEST_UUID, "test", &s, NULL);
  amigo_domain_table_end_poll (f->domains, NULL, NULL);
  amigo_requests_options_init (&ropt);
  f->requests = amigo_requests_new (f->history, f->domains, f->clock, &ropt);
  f->runner = amigo_job_runner_new (2);
  f->writer = amigo_metadata_writer_new (f->history, f->domains, f->runner, NULL, on_problem, f);
  virSetErrorFunc (NULL, quiet_libvirt);
  assert_true (amigo_connection_init_event_loop (NULL));
  f->connection = amigo_connection_new ("test:///default", on_connection, f);
  f->migrations = amigo_migrations_new (&(AmigoMigrationsContext) {
    f->connection, f->domains, f->requests, f->writer, f->clock, f->history, f->dir, 125e6 });
  amigo_migrations_set_listener (f->migrations, &listener, f);
  f->phases = g_ptr_array_new_with_free_func (g_free);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  amigo_job_runner_free (f->runner);
  amigo_migrations_free (f->migrations);
  amigo_metadata_writer_free (f->writer);
  amigo_requests_free (f->requests);
  amigo_connection_free (f->connection);
  amigo_domain_table_free (f->domains);
  amigo_history_free (f->history);
  amigo_clock_free (f->clock);
  g_ptr_array_unref (f->phases);
  g_clear_pointer (&f->result, g_variant_unref);
  g_clear_pointer (&f->started_plan, g_variant_unref);
  g_free (f->started_id);
  g_free (f->finished_id);
  amigo_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f);
  return 0;
}

static void
wait_finished (Fixture *f, const char *id)
{
  for (gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
       g_strcmp0 (f->finished_id, id) != 0 && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  assert_string_equal (f->finished_id, id);
}

static GVariant *
options (const char *text)
{
  return g_variant_ref_sink (g_variant_new_parsed (text));
}

/* Bad input is refused with its cause and nothing starts; without libvirt,
 * NotConnected. */
static void
test_migrate_bad_input (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) none = options ("@a{sv} {}");
  g_autoptr (GVariant) unknown = options ("{'colour': <'red'>}");
  g_autoptr (GVariant) slow = options ("{'bandwidth_mib_s': <-1.0>}");
  char *id = NULL;
  GVariant *plan = NULL;

  assert_false (start (f, TEST_UUID, DEST, none, &id, &plan, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED));
  g_clear_error (&error);
  amigo_connection_start (f->connection);

  assert_false (start (f, "00000000-0000-0000-0000-000000000000", DEST, none, &id,
                                        &plan, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  g_clear_error (&error);
  assert_false (start (f, TEST_UUID, "http://x/system", none, &id, &plan, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "'http://x/system'"));
  g_clear_error (&error);
  assert_false (start (f, TEST_UUID, DEST, unknown, &id, &plan, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "colour"));
  g_clear_error (&error);
  assert_false (start (f, TEST_UUID, DEST, slow, &id, &plan, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "bandwidth_mib_s"));
  assert_null (id);
  assert_null (plan);
  assert_int_equal (amigo_migrations_get_n_running (f->migrations), 0);
  assert_int_equal (f->phases->len, 0);
}

/* Migrate answers at once with the id and the plan; a second Migrate of the
 * domain is Busy naming the first; the migration goes through refreshing,
 * waiting and starting, and libvirt's failure ends it as failed with
 * libvirt's reason, in the log ListMigrations shows. */
static void
test_migrate_runs_and_fails (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) none = options ("@a{sv} {}");
  g_autofree char *id = NULL;
  g_autofree char *id2 = NULL;
  g_autoptr (GVariant) plan = NULL;
  GVariant *plan2 = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GVariant) first = NULL;
  const char *s;

  amigo_connection_start (f->connection);
  assert_true (start (f, TEST_UUID, DEST, none, &id, &plan, &error));
  assert_true (g_uuid_string_is_valid (id));
  assert_true (g_variant_lookup (plan, "mode", "&s", &s));
  assert_true (g_variant_lookup (plan, "reason", "&s", &s));
  assert_int_equal (amigo_migrations_get_n_running (f->migrations), 1);

  assert_false (start (f, TEST_UUID, DEST, none, &id2, &plan2, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY));
  assert_non_null (strstr (error->message, id));

  wait_finished (f, id);
  assert_true (f->phases->len >= 3);
  assert_string_equal (g_ptr_array_index (f->phases, 0), "refreshing");
  assert_string_equal (g_ptr_array_index (f->phases, 1), "waiting");
  assert_string_equal (g_ptr_array_index (f->phases, 2), "starting");
  assert_true (g_variant_lookup (f->result, "state", "&s", &s));
  assert_string_equal (s, "failed");
  assert_true (g_variant_lookup (f->result, "error", "&s", &s));
  assert_non_null (strstr (s, "not supported"));
  assert_int_equal (amigo_migrations_get_n_running (f->migrations), 0);

  list = g_variant_ref_sink (amigo_migrations_list (f->migrations));
  assert_int_equal (g_variant_n_children (list), 1);
  first = g_variant_get_child_value (list, 0);
  assert_true (g_variant_lookup (first, "id", "&s", &s));
  assert_string_equal (s, id);
  assert_true (g_variant_lookup (first, "state", "&s", &s));
  assert_string_equal (s, "failed");
}

/* A cancel before libvirt was asked ends it at once as cancelled; an
 * unknown or ended id is NotFound. */
static void
test_cancel_before_start (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) none = options ("@a{sv} {}");
  g_autofree char *id = NULL;
  g_autoptr (GVariant) plan = NULL;
  const char *s;

  amigo_connection_start (f->connection);
  assert_false (amigo_migrations_cancel (f->migrations, "nope", &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  g_clear_error (&error);
  assert_true (start (f, TEST_UUID, DEST, none, &id, &plan, &error));
  assert_true (amigo_migrations_cancel (f->migrations, id, &error));
  assert_string_equal (f->finished_id, id);
  assert_true (g_variant_lookup (f->result, "state", "&s", &s));
  assert_string_equal (s, "cancelled");
  assert_false (amigo_migrations_cancel (f->migrations, id, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  /* the steps queued before the cancel do nothing */
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  assert_int_equal (f->phases->len, 0);
  assert_int_equal (amigo_migrations_get_n_running (f->migrations), 0);
}

/* With a deadline, Migrate answers once the start is chosen (off the main
 * loop): with no history that is now, and the plan says why; the migration
 * then goes on. */
static void
test_deadline_answers_later (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) opts = options ("{'deadline_usec': <int64 3600000000>}");
  const char *reason;
  gint64 start_at;

  amigo_connection_start (f->connection);
  assert_true (amigo_migrations_start (f->migrations, TEST_UUID, DEST, opts, on_started, f, &error));
  assert_null (f->started_id);
  assert_int_equal (amigo_migrations_get_n_running (f->migrations), 1);
  for (gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
       f->started_id == NULL && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, TRUE);
  assert_non_null (f->started_id);
  assert_true (g_variant_lookup (f->started_plan, "start_reason", "&s", &reason));
  assert_non_null (strstr (reason, "now"));
  assert_true (g_variant_lookup (f->started_plan, "start_at_usec", "x", &start_at));
  assert_true (start_at <= g_get_real_time ());
  wait_finished (f, f->started_id);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_migrate_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown (test_migrate_runs_and_fails, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cancel_before_start, setup, teardown),
    cmocka_unit_test_setup_teardown (test_deadline_answers_later, setup, teardown),
  };
  return cmocka_run_group_tests_name ("migrations", tests, NULL, NULL);
}
