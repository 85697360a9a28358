/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's reservation requests: rounds in slices of the main loop,
 * requests on demand with and without options, administrators' labels,
 * staleness and what goes into the metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "amigo-error.h"
#include "amigo-requests.h"
#include "amigo-time.h"

#define UUID_A "aaaaaaaa-1111-4111-8111-111111111111"
#define UUID_B "bbbbbbbb-2222-4222-8222-222222222222"
#define N_DOMAINS 40

typedef struct {
  char *dir;
  AmigoHistory *history;
  AmigoDomainTable *domains;
  AmigoClock *clock;
  AmigoRequests *requests;
  guint rounds_done;
} Fixture;

static char *
uuid_of (guint i)
{
  return g_strdup_printf ("%08x-0000-4000-8000-%012x", i + 1, i + 1);
}

/* @hours of one sample a minute for @n domains, the first burning a core. */
static void
record (Fixture *f, guint n, double hours)
{
  gint64 now = amigo_clock_get_wall_usec (f->clock);
  gint64 from = now - (gint64) (hours * AMIGO_USEC_PER_HOUR);

  amigo_history_set_now (f->history, now);
  for (gint64 t = from; t < now; t += AMIGO_USEC_PER_MIN) {
    amigo_domain_table_begin_poll (f->domains);
    for (guint i = 0; i < n; i++) {
      g_autofree char *uuid = uuid_of (i);
      g_autofree char *name = g_strdup_printf ("vm%u", i);
      AmigoSample s;

      amigo_sample_init (&s, t);
      s.values[AMIGO_METRIC_CPU] = i == 0 ? 1.0 : 0.02;
      s.values[AMIGO_METRIC_MEMORY] = 0.2;
      s.values[AMIGO_METRIC_HOST_MEMORY] = 0.3;
      s.values[AMIGO_METRIC_DIRTY_RATE] = 2.0;
      assert_true (amigo_history_append (f->history, uuid, name, &s, NULL));
      amigo_domain_table_update (f->domains, uuid, name, &s, NULL);
    }
    amigo_domain_table_end_poll (f->domains, NULL, NULL);
  }
  assert_true (amigo_history_flush (f->history, NULL));
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  AmigoHistoryOptions hopt;
  AmigoRequestsOptions ropt;
  gint64 now = (g_get_real_time () / AMIGO_USEC_PER_HOUR) * AMIGO_USEC_PER_HOUR;

  f->dir = g_dir_make_tmp ("amigo-requests-XXXXXX", NULL);
  amigo_history_options_init (&hopt);
  hopt.sync = FALSE;
  f->history = amigo_history_open (f->dir, &hopt, NULL);
  assert_non_null (f->history);
  f->domains = amigo_domain_table_new ();
  f->clock = amigo_clock_new_simulated (0, now);
  amigo_requests_options_init (&ropt);
  /* a slice short enough that a round takes several */
  ropt.slice_usec = 1;
  f->requests = amigo_requests_new (f->history, f->domains, f->clock, &ropt);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);

  amigo_requests_free (f->requests);
  amigo_domain_table_free (f->domains);
  amigo_history_free (f->history);
  amigo_clock_free (f->clock);
  assert_int_equal (system (cmd), 0);
  g_free (f->dir);
  g_free (f);
  return 0;
}

static void
on_round_done (gpointer user_data)
{
  ((Fixture *) user_data)->rounds_done++;
}

/* A round computes every domain's request a slice at a time, never all in
 * one dispatch, and says when it is done. */
static void
test_round_in_slices (void **state)
{
  Fixture *f = *state;
  guint dispatches = 0;

  record (f, N_DOMAINS, 1);
  amigo_requests_start_round (f->requests, on_round_done, f);
  assert_true (amigo_requests_round_running (f->requests));
  /* a second start while one runs changes nothing */
  amigo_requests_start_round (f->requests, on_round_done, f);
  while (amigo_requests_round_running (f->requests) && dispatches < 10 * N_DOMAINS) {
    g_main_context_iteration (NULL, FALSE);
    dispatches++;
  }
  assert_false (amigo_requests_round_running (f->requests));
  assert_int_equal (f->rounds_done, 1);
  assert_int_equal (amigo_requests_get_n_rounds (f->requests), 1);
  /* one domain per slice at the shortest slice */
  assert_true (dispatches >= N_DOMAINS);
  for (guint i = 0; i < N_DOMAINS; i++) {
    g_autofree char *uuid = uuid_of (i);
    const AmigoRequest *req = amigo_requests_get_kept (f->requests, uuid);
    g_autofree char *json = NULL;

    assert_non_null (req);
    json = amigo_requests_metadata_json (f->requests, uuid);
    assert_non_null (json);
  }
  {
    g_autofree char *burning = uuid_of (0);
    g_autofree char *idle = uuid_of (1);
    assert_true (amigo_requests_get_kept (f->requests, burning)->reservation.resources[AMIGO_RESOURCE_CPU].upper >=
                 1.0);
    assert_true (amigo_requests_get_kept (f->requests, idle)->reservation.resources[AMIGO_RESOURCE_CPU].upper < 0.2);
  }
}

/* Without options the kept request is answered until it is stale; with
 * options a request is computed for the call and not kept. */
static void
test_get (void **state)
{
  Fixture *f = *state;
  g_autofree char *uuid = uuid_of (0);
  AmigoRequestOptions opts = { 0 };
  AmigoRequest a, b, c;
  AmigoMigrationWindow w;
  g_autoptr (GError) error = NULL;

  record (f, 1, 2);
  assert_true (amigo_requests_get (f->requests, uuid, &opts, &a, &w, &error));
  assert_non_null (amigo_requests_get_kept (f->requests, uuid));
  amigo_clock_advance (f->clock, AMIGO_USEC_PER_MIN);
  assert_true (amigo_requests_get (f->requests, uuid, &opts, &b, NULL, &error));
  assert_int_equal (b.computed_usec, a.computed_usec);   /* the kept one */
  assert_false (amigo_requests_is_stale (f->requests, &b));
  /* an hour later it is stale: recomputed */
  amigo_clock_advance (f->clock, AMIGO_USEC_PER_HOUR);
  assert_true (amigo_requests_is_stale (f->requests, &b));
  assert_true (amigo_requests_get (f->requests, uuid, &opts, &c, NULL, &error));
  assert_true (c.computed_usec > a.computed_usec);

  /* a window asked for: its own request, the window said back */
  opts.has_window = TRUE;
  opts.window_usec = 2 * AMIGO_USEC_PER_HOUR;
  opts.has_link = TRUE;
  opts.link_mbit_s = 100;
  assert_true (amigo_requests_get (f->requests, uuid, &opts, &a, &w, &error));
  assert_int_equal (w.duration_usec, 2 * AMIGO_USEC_PER_HOUR);
  assert_true (fabs (w.link_bytes_s - 100e6 / 8) < 1);
  assert_int_equal (amigo_requests_get_kept (f->requests, uuid)->computed_usec, c.computed_usec);

  /* absurd options and unknown domains: named */
  opts.window_usec = 30 * AMIGO_USEC_PER_DAY;
  assert_false (amigo_requests_get (f->requests, uuid, &opts, &a, &w, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "window"));
  g_clear_error (&error);
  assert_false (amigo_requests_get (f->requests, UUID_B, NULL, &a, &w, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
}

/* A domain tracked but with nothing stored yet: too little history, and the
 * message says when to expect a request. */
static void
test_no_history_yet (void **state)
{
  Fixture *f = *state;
  AmigoRequest req;
  AmigoSample s;
  g_autoptr (GError) error = NULL;

  amigo_sample_init (&s, amigo_clock_get_wall_usec (f->clock));
  amigo_domain_table_begin_poll (f->domains);
  amigo_domain_table_update (f->domains, UUID_A, "fresh", &s, NULL);
  amigo_domain_table_end_poll (f->domains, NULL, NULL);
  assert_false (amigo_requests_get (f->requests, UUID_A, NULL, &req, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (error->message, "'fresh' has no recorded usage yet"));
}

/* An administrator's label is used, said, goes into the metadata, and a
 * bad one is refused with the classes listed. */
static void
test_label (void **state)
{
  Fixture *f = *state;
  g_autofree char *uuid = uuid_of (0);
  AmigoRequest req;
  g_autoptr (GError) error = NULL;

  record (f, 1, 2);
  assert_null (amigo_requests_get_label (f->requests, uuid));
  assert_true (amigo_requests_set_label (f->requests, uuid, "database", &error));
  assert_string_equal (amigo_requests_get_label (f->requests, uuid), "database");
  assert_true (amigo_requests_get (f->requests, uuid, NULL, &req, NULL, &error));
  assert_int_equal (req.class_source, AMIGO_CLASS_SOURCE_LABEL);
  assert_int_equal (req.reservation.classification.klass, AMIGO_WORKLOAD_CLASS_DATABASE);

  assert_false (amigo_requests_set_label (f->requests, uuid, "oracle", &error));
  assert_non_null (strstr (error->message, "unknown workload class 'oracle'"));
  assert_non_null (strstr (error->message, "web_server"));
  /* unknown is no label: clearing is offered instead */
  assert_non_null (strstr (error->message, "expected one of idle, database, web_server, machine_learning, batch, or ''"));
  g_clear_error (&error);
  /* the label survives a refused change, and "" clears it */
  assert_string_equal (amigo_requests_get_label (f->requests, uuid), "database");
  assert_true (amigo_requests_set_label (f->requests, uuid, "", &error));
  assert_null (amigo_requests_get_label (f->requests, uuid));
}

static void
run_round (Fixture *f)
{
  amigo_requests_start_round (f->requests, NULL, NULL);
  while (amigo_requests_round_running (f->requests))
    g_main_context_iteration (NULL, FALSE);
}

/* What goes into the metadata is rewritten only when it says something
 * new, or before half its age. */
static void
test_metadata_json_only_when_changed (void **state)
{
  Fixture *f = *state;
  g_autofree char *uuid = uuid_of (0);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autofree char *labelled = NULL;

  record (f, 1, 2);
  run_round (f);
  first = amigo_requests_metadata_json (f->requests, uuid);
  /* recomputed a minute later with the same figures: the same text */
  amigo_clock_advance (f->clock, AMIGO_USEC_PER_MIN);
  run_round (f);
  assert_true (amigo_requests_get_kept (f->requests, uuid)->computed_usec > 0);
  second = amigo_requests_metadata_json (f->requests, uuid);
  assert_string_equal (first, second);
  /* a new class: new text */
  assert_true (amigo_requests_set_label (f->requests, uuid, "batch", NULL));
  labelled = amigo_requests_metadata_json (f->requests, uuid);
  assert_string_not_equal (first, labelled);
  /* recomputed 10 minutes on, past half the default 15 min age: refreshed */
  amigo_clock_advance (f->clock, 10 * AMIGO_USEC_PER_MIN);
  run_round (f);
  third = amigo_requests_metadata_json (f->requests, uuid);
  assert_string_not_equal (labelled, third);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_round_in_slices, setup, teardown),
    cmocka_unit_test_setup_teardown (test_get, setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_history_yet, setup, teardown),
    cmocka_unit_test_setup_teardown (test_label, setup, teardown),
    cmocka_unit_test_setup_teardown (test_metadata_json_only_when_changed, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
