/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <gio/gio.h>

#include "amigo-config.h"
#include "amigo-dbus-generated.h"
#include "amigo-dbus-service.h"
#include "amigo-error.h"
#include "amigo-history.h"
#include "amigo-time.h"

#define NOW_USEC (G_GINT64_CONSTANT (1700000000) * AMIGO_USEC_PER_SEC)
#define RETENTION_USEC (14 * AMIGO_USEC_PER_DAY)
#define UUID_WEB "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define UUID_DB "0b7e3a5c-2d61-4c0e-9f62-2a8c1b0c7d11"
#define UUID_GONE "11111111-2222-3333-4444-555555555555"

/* The fake daemon behind the service. */
typedef struct {
  GPtrArray *domains;
  /* what the last query_history call received */
  char *queried_uuid;
  AmigoMetric queried_metric;
  gint64 queried_from_usec;
  gint64 queried_to_usec;
  guint history_points;   /* > 0: query_history returns this many points */
} FakeDaemon;

typedef struct {
  GTestDBus *bus;
  FakeDaemon fake;
  AmigoTrackedDomain web;
  AmigoTrackedDomain db;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GMutex lock;
  GCond cond;
  int name_state;   /* 0 waiting, 1 owned, -1 lost */
  AmigoDaemon1 *proxy;
  GDBusConnection *client;
} Fixture;

static void
fake_get_status (gpointer user_data, GVariantDict *dict)
{
  FakeDaemon *fake = user_data;

  g_variant_dict_insert (dict, "version", "s", "test");
  g_variant_dict_insert (dict, "domains", "u", fake->domains->len);
  g_variant_dict_insert (dict, "connected", "b", TRUE);
}

static GPtrArray *
fake_get_domains (gpointer user_data)
{
  return ((FakeDaemon *) user_data)->domains;
}

static gboolean
fake_has_history (gpointer user_data, const char *uuid)
{
  return strcmp (uuid, UUID_GONE) == 0;
}

/* Three points a minute apart, the middle one unknown; the db domain has
 * nothing stored yet. */
static GArray *
fake_query_history (gpointer user_data,
                    const char *uuid,
                    AmigoMetric metric,
                    gint64 from_usec,
                    gint64 to_usec,
                    GError **error)
{
  FakeDaemon *fake = user_data;
  GArray *points;
  AmigoHistoryPoint p[3] = {
    { from_usec, 0.5, 0.75 },
    { from_usec + AMIGO_USEC_PER_MIN, NAN, NAN },
    { from_usec + 2 * AMIGO_USEC_PER_MIN, 1.25, 2.0 },
  };

  g_free (fake->queried_uuid);
  fake->queried_uuid = g_strdup (uuid);
  fake->queried_metric = metric;
  fake->queried_from_usec = from_usec;
  fake->queried_to_usec = to_usec;
  if (strcmp (uuid, UUID_DB) == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no history for '%s'", uuid);
    return NULL;
  }
  if (fake->history_points > 0) {
    /* A long range: one point a second ending at @to_usec, every tenth
     * unknown. */
    points = g_array_sized_new (FALSE, FALSE, sizeof (AmigoHistoryPoint), fake->history_points);
    for (guint i = 0; i < fake->history_points; i++) {
      AmigoHistoryPoint q = { to_usec - (gint64) (fake->history_points - 1 - i) * AMIGO_USEC_PER_SEC,
                              i % 10 == 5 ? NAN : 1.0, 2.0 };
      g_array_append_val (points, q);
    }
    return points;
  }
  points = g_array_new (FALSE, FALSE, sizeof (AmigoHistoryPoint));
  g_array_append_vals (points, p, G_N_ELEMENTS (p));
  return points;
}

static gint64
fake_now_usec (gpointer user_data)
{
  return NOW_USEC;
}

static const AmigoDbusServiceBackend fake_backend = {
  .get_status = fake_get_status,
  .get_domains = fake_get_domains,
  .has_history = fake_has_history,
  .query_history = fake_query_history,
  .now_usec = fake_now_usec,
  .retention_usec = RETENTION_USEC,
};

static void
set_name_state (Fixture *f, int state)
{
  g_mutex_lock (&f->lock);
  f->name_state = state;
  g_cond_signal (&f->cond);
  g_mutex_unlock (&f->lock);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  set_name_state (user_data, 1);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  set_name_state (user_data, -1);
}

/* The service runs in its own thread and main context, as in amigod, so
 * that the test can make blocking calls. */
static gpointer
service_thread (gpointer data)
{
  Fixture *f = data;
  g_autoptr (GDBusConnection) conn = NULL;
  g_autoptr (AmigoDbusService) service = NULL;
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (f->context);
  conn = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, &error);
  assert_non_null (conn);
  service = amigo_dbus_service_new (&fake_backend, &f->fake);
  assert_true (amigo_dbus_service_start (service, conn, AMIGO_DBUS_NAME, on_name_acquired,
                                         on_name_lost, f, &error));
  g_main_loop_run (f->loop);
  g_clear_pointer (&service, amigo_dbus_service_free);
  g_dbus_connection_flush_sync (conn, NULL, NULL);
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autoptr (GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);

  f->fake.domains = g_ptr_array_new ();
  g_strlcpy (f->web.uuid, UUID_WEB, sizeof f->web.uuid);
  f->web.name = (char *) "web";
  amigo_sample_init (&f->web.last, NOW_USEC - 5 * AMIGO_USEC_PER_SEC);
  f->web.last.values[AMIGO_METRIC_CPU] = 0.98;
  f->web.last.values[AMIGO_METRIC_MEMORY] = 1.5;
  g_strlcpy (f->db.uuid, UUID_DB, sizeof f->db.uuid);
  f->db.name = (char *) "db";
  amigo_sample_init (&f->db.last, 0);
  g_ptr_array_add (f->fake.domains, &f->web);
  g_ptr_array_add (f->fake.domains, &f->db);

  g_mutex_init (&f->lock);
  g_cond_init (&f->cond);
  f->context = g_main_context_new ();
  f->loop = g_main_loop_new (f->context, FALSE);
  f->thread = g_thread_new ("service", service_thread, f);

  g_mutex_lock (&f->lock);
  while (f->name_state == 0)
    g_cond_wait (&f->cond, &f->lock);
  g_mutex_unlock (&f->lock);
  assert_int_equal (f->name_state, 1);

  f->client = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                                      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                      NULL, NULL, &error);
  assert_non_null (f->client);
  f->proxy = amigo_daemon1_proxy_new_sync (f->client, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                           AMIGO_DBUS_NAME, AMIGO_DBUS_PATH, NULL, &error);
  assert_non_null (f->proxy);
  *state = f;
  return 0;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  g_clear_object (&f->proxy);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_clear_object (&f->client);
  g_main_context_invoke (f->context, quit_loop, f->loop);
  g_thread_join (f->thread);
  g_main_loop_unref (f->loop);
  g_main_context_unref (f->context);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->cond);
  g_test_dbus_down (f->bus);
  g_object_unref (f->bus);
  g_ptr_array_unref (f->fake.domains);
  g_free (f->fake.queried_uuid);
  g_free (f);
  return 0;
}

static void
test_service_status_and_version (void **state)
{
  Fixture *f = *state;
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  guint32 n = 0;
  gboolean connected = FALSE;
  g_autoptr (GVariant) version = NULL;

  assert_true (amigo_daemon1_call_get_status_sync (f->proxy, &status, NULL, &error));
  assert_true (g_variant_lookup (status, "domains", "u", &n));
  assert_int_equal (n, 2);
  assert_true (g_variant_lookup (status, "connected", "b", &connected));
  assert_true (connected);

  version = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (f->proxy), "Version");
  assert_non_null (version);
  assert_string_equal (g_variant_get_string (version, NULL), AMIGO_VERSION);
}

static void
test_service_list_domains (void **state)
{
  Fixture *f = *state;
  g_autoptr (GVariant) domains = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) web_metrics = NULL;
  g_autoptr (GVariant) db_metrics = NULL;
  const char *uuid, *name;
  gint64 t;
  double cpu = 0;

  assert_true (amigo_daemon1_call_list_domains_sync (f->proxy, &domains, NULL, &error));
  assert_int_equal (g_variant_n_children (domains), 2);
  /* sorted by name: db first */
  g_variant_get_child (domains, 0, "(&s&sx@a{sd})", &uuid, &name, &t, &db_metrics);
  assert_string_equal (name, "db");
  assert_string_equal (uuid, UUID_DB);
  assert_int_equal (t, 0);
  assert_int_equal (g_variant_n_children (db_metrics), 0);

  g_variant_get_child (domains, 1, "(&s&sx@a{sd})", &uuid, &name, &t, &web_metrics);
  assert_string_equal (name, "web");
  assert_int_equal (t, NOW_USEC - 5 * AMIGO_USEC_PER_SEC);
  /* known metrics only: NaN never crosses the bus */
  assert_int_equal (g_variant_n_children (web_metrics), 2);
  assert_true (g_variant_lookup (web_metrics, "cpu", "d", &cpu));
  assert_true (fabs (cpu - 0.98) < 1e-12);
  assert_false (g_variant_lookup (web_metrics, "net_rx", "d", &cpu));
}

static void
test_service_history_by_name_and_uuid (void **state)
{
  Fixture *f = *state;
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GVariant) points2 = NULL;
  g_autoptr (GError) error = NULL;
  gint64 from = NOW_USEC - AMIGO_USEC_PER_HOUR;
  gint64 t;
  double mean, max;

  assert_true (amigo_daemon1_call_get_history_sync (f->proxy, "web", "memory", from, NOW_USEC,
                                                    &points, NULL, &error));
  assert_string_equal (f->fake.queried_uuid, UUID_WEB);
  assert_int_equal (f->fake.queried_metric, AMIGO_METRIC_MEMORY);
  assert_int_equal (f->fake.queried_from_usec, from);
  assert_int_equal (f->fake.queried_to_usec, NOW_USEC);
  /* the unknown middle point is left out */
  assert_int_equal (g_variant_n_children (points), 2);
  g_variant_get_child (points, 1, "(xdd)", &t, &mean, &max);
  assert_int_equal (t, from + 2 * AMIGO_USEC_PER_MIN);
  assert_true (mean == 1.25 && max == 2.0);

  /* a UUID in upper case names the same domain */
  g_autofree char *upper = g_ascii_strup (UUID_WEB, -1);
  assert_true (amigo_daemon1_call_get_history_sync (f->proxy, upper, "cpu", from, NOW_USEC,
                                                    &points2, NULL, &error));
  assert_string_equal (f->fake.queried_uuid, UUID_WEB);
  assert_int_equal (f->fake.queried_metric, AMIGO_METRIC_CPU);
}

/* A tracked domain with nothing stored yet has an empty history; a domain
 * that went away but has history can still be asked about. */
static void
test_service_history_empty_and_gone (void **state)
{
  Fixture *f = *state;
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GVariant) gone = NULL;
  g_autoptr (GError) error = NULL;

  assert_true (amigo_daemon1_call_get_history_sync (f->proxy, "db", "cpu", NOW_USEC - 60000000,
                                                    NOW_USEC, &points, NULL, &error));
  assert_int_equal (g_variant_n_children (points), 0);
  assert_true (amigo_daemon1_call_get_history_sync (f->proxy, UUID_GONE, "cpu", NOW_USEC - 60000000,
                                                    NOW_USEC, &gone, NULL, &error));
  assert_string_equal (f->fake.queried_uuid, UUID_GONE);
  assert_int_equal (g_variant_n_children (gone), 2);
}

static GError *
history_error (Fixture *f, const char *domain, const char *resource, gint64 from, gint64 to)
{
  g_autoptr (GVariant) points = NULL;
  GError *error = NULL;

  g_free (f->fake.queried_uuid);
  f->fake.queried_uuid = NULL;
  assert_false (amigo_daemon1_call_get_history_sync (f->proxy, domain, resource, from, to,
                                                     &points, NULL, &error));
  assert_non_null (error);
  /* the backend is never reached with bad arguments */
  assert_null (f->fake.queried_uuid);
  return error;
}

static void
test_service_history_bad_args (void **state)
{
  Fixture *f = *state;
  gint64 hour_ago = NOW_USEC - AMIGO_USEC_PER_HOUR;
  g_autoptr (GError) e1 = history_error (f, "nosuchvm", "cpu", hour_ago, NOW_USEC);
  g_autoptr (GError) e2 = history_error (f, "web", "cpux", hour_ago, NOW_USEC);
  g_autoptr (GError) e3 = history_error (f, "web", "cpu", NOW_USEC, hour_ago);
  g_autoptr (GError) e4 = history_error (f, "web", "cpu", hour_ago, NOW_USEC + 2 * AMIGO_USEC_PER_DAY);
  g_autoptr (GError) e5 = history_error (f, "web", "cpu", NOW_USEC - RETENTION_USEC - AMIGO_USEC_PER_HOUR,
                                         NOW_USEC);
  g_autoptr (GError) e6 = history_error (f, "", "cpu", hour_ago, NOW_USEC);
  g_autoptr (GError) e7 = history_error (f, "web", "cpu", -5, NOW_USEC);
  g_autoptr (GError) e8 = history_error (f, "22222222-2222-3333-4444-555555555555", "cpu", hour_ago, NOW_USEC);

  assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (e1->message, "'nosuchvm'"));
  assert_true (g_error_matches (e2, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e2->message, "'cpux'"));
  /* the message lists every valid name */
  for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
    assert_non_null (strstr (e2->message, amigo_metric_to_string (m)));
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e3->message, "starts after it ends"));
  assert_true (g_error_matches (e4, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e4->message, "future"));
  assert_true (g_error_matches (e5, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e5->message, "retention"));
  assert_true (g_error_matches (e6, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_true (g_error_matches (e7, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_true (g_error_matches (e8, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
}

/* No reply can grow past what one message may carry: a range holding more
 * points than the cap is refused with a message saying where the newest
 * points that fit begin; one at the cap is served whole. */
static void
test_service_history_capped (void **state)
{
  Fixture *f = *state;
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *want = NULL;
  gint64 from = NOW_USEC - 12 * AMIGO_USEC_PER_DAY;
  /* every tenth point is unknown: 9 known out of 10 */
  guint at_cap = AMIGO_DBUS_MAX_HISTORY_POINTS / 9 * 10;

  f->fake.history_points = at_cap;
  assert_true (amigo_daemon1_call_get_history_sync (f->proxy, "web", "cpu", from, NOW_USEC,
                                                    &points, NULL, &error));
  assert_int_equal (g_variant_n_children (points), at_cap / 10 * 9);
  assert_true (g_variant_n_children (points) <= AMIGO_DBUS_MAX_HISTORY_POINTS);

  f->fake.history_points = 200000;
  assert_false (amigo_daemon1_call_get_history_sync (f->proxy, "web", "cpu", from, NOW_USEC,
                                                     NULL, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "100000"));
  /* The newest 100000 known points span 111,111 s, the first of them known. */
  want = g_strdup_printf ("%" G_GINT64_FORMAT, NOW_USEC - (gint64) 111110 * AMIGO_USEC_PER_SEC);
  assert_non_null (strstr (error->message, want));
}

/* The daemon still answers after a burst of bad calls. */
static void
test_service_survives_bad_calls (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) status = NULL;

  /* wrong signature straight on the connection */
  reply = g_dbus_connection_call_sync (f->client, AMIGO_DBUS_NAME, AMIGO_DBUS_PATH, "org.amigo.Daemon1",
                                       "GetHistory", g_variant_new ("(ss)", "web", "cpu"), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  assert_null (reply);
  assert_true (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  reply = g_dbus_connection_call_sync (f->client, AMIGO_DBUS_NAME, AMIGO_DBUS_PATH, "org.amigo.Daemon1",
                                       "NoSuchMethod", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  assert_null (reply);
  g_clear_error (&error);
  assert_true (amigo_daemon1_call_get_status_sync (f->proxy, &status, NULL, &error));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_service_status_and_version, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_list_domains, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_history_by_name_and_uuid, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_history_capped, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_history_empty_and_gone, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_history_bad_args, setup, teardown),
    cmocka_unit_test_setup_teardown (test_service_survives_bad_calls, setup, teardown),
  };

  /* GTestDBus needs a clean environment of its own. */
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  return cmocka_run_group_tests_name ("dbus-service", tests, NULL, NULL);
}
