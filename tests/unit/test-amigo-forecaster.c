/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bridge from the history store to the reservation request: what the
 * daemon will put into a domain's metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <math.h>

#include "amigo-error.h"
#include "amigo-forecaster.h"
#include "amigo-history.h"
#include "amigo-request.h"
#include "amigo-time.h"

#define UUID_BURN "11111111-1111-4111-8111-111111111111"
#define UUID_IDLE "22222222-2222-4222-8222-222222222222"
#define UUID_NEW "33333333-3333-4333-8333-333333333333"

typedef struct {
  char *dir;
  AmigoHistory *history;
  gint64 now;
} Fixture;

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  AmigoHistoryOptions opt;
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("amigo-forecaster-XXXXXX", NULL);
  amigo_history_options_init (&opt);
  opt.sync = FALSE;
  f->history = amigo_history_open (f->dir, &opt, &error);
  assert_non_null (f->history);
  /* a round time, a little in the past */
  f->now = (g_get_real_time () / AMIGO_USEC_PER_HOUR) * AMIGO_USEC_PER_HOUR;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);

  amigo_history_free (f->history);
  assert_int_equal (system (cmd), 0);
  g_free (f->dir);
  g_free (f);
  return 0;
}

/* @hours of samples every minute up to @f->now: CPU @cpu cores (+-5 %),
 * guest memory @mem GiB, host memory @host GiB (NAN: not recorded). */
static void
record (Fixture *f, const char *uuid, double hours, double cpu, double mem, double host)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gint64 from = f->now - (gint64) (hours * AMIGO_USEC_PER_HOUR);

  for (gint64 t = from; t < f->now; t += AMIGO_USEC_PER_MIN) {
    g_autoptr(GError) error = NULL;
    AmigoSample s;

    amigo_sample_init (&s, t);
    s.values[AMIGO_METRIC_CPU] = cpu * g_rand_double_range (rand, 0.95, 1.05);
    s.values[AMIGO_METRIC_MEMORY] = mem;
    s.values[AMIGO_METRIC_NET_RX] = 1.0;
    s.values[AMIGO_METRIC_NET_TX] = 2.0;
    s.values[AMIGO_METRIC_DISK_READ] = 10.0;
    s.values[AMIGO_METRIC_DISK_WRITE] = 5.0;
    s.values[AMIGO_METRIC_HOST_MEMORY] = host;
    /* the collector's reading for a domain without a GPU */
    s.values[AMIGO_METRIC_GPU_MEMORY] = 0.0;
    assert_true (amigo_history_append (f->history, uuid, "vm", &s, &error));
  }
  assert_true (amigo_history_flush (f->history, NULL));
}

static void
compute_ok (AmigoForecaster *fc, const char *uuid, const AmigoDomainFacts *facts, gint64 now, AmigoRequest *req)
{
  g_autoptr(GError) error = NULL;

  if (!amigo_forecaster_compute (fc, uuid, facts, now, NULL, req, &error))
    fail_msg ("compute %s: %s", uuid, error->message);
}

/* A busy guest gets its core, an idle one far less; the network and disk
 * requests are the sums of their two directions. */
static void
test_burning_and_idle (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest burn, idle;

  record (f, UUID_BURN, 30, 1.0, 0.2, 0.3);
  record (f, UUID_IDLE, 30, 0.02, 0.2, 0.3);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = 512 * 1024 * 1024;
  facts.host_memory_gib = 0.3;
  facts.dirty_rate_mib_s = 1.0;
  compute_ok (fc, UUID_BURN, &facts, f->now, &burn);
  compute_ok (fc, UUID_IDLE, &facts, f->now, &idle);
  print_message ("cpu reserve: burning %.3f, idle %.3f cores\n",
                 burn.reservation.resources[AMIGO_RESOURCE_CPU].upper,
                 idle.reservation.resources[AMIGO_RESOURCE_CPU].upper);
  assert_true (burn.reservation.resources[AMIGO_RESOURCE_CPU].upper >= 1.0);
  assert_true (idle.reservation.resources[AMIGO_RESOURCE_CPU].upper < 0.2);
  assert_true (burn.reservation.resources[AMIGO_RESOURCE_NETWORK].upper >= 3.0 - 1e-9);
  assert_true (burn.reservation.resources[AMIGO_RESOURCE_DISK].upper >= 15.0 - 1e-9);
  /* no GPU (read as 0): no request for it */
  assert_false (burn.reservation.resources[AMIGO_RESOURCE_GPU_MEMORY].present);
  assert_int_equal (burn.class_source, AMIGO_CLASS_SOURCE_CLASSIFIER);
  assert_true (burn.reservation.migration.dirty_rate_known);
  assert_int_equal (amigo_forecaster_get_n_domains (fc), 2);
  amigo_forecaster_forget (fc, UUID_IDLE);
  assert_int_equal (amigo_forecaster_get_n_domains (fc), 1);
}

/* Memory is reserved as the destination will hold it: never below QEMU's
 * resident size now, even when the guest says it uses less. */
static void
test_memory_floor_is_host_memory (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest req;

  /* host memory not recorded in the history, only known now */
  record (f, UUID_BURN, 30, 0.5, 0.2, NAN);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = 1024 * 1024 * 1024;
  facts.host_memory_gib = 0.75;
  compute_ok (fc, UUID_BURN, &facts, f->now, &req);
  assert_true (req.reservation.resources[AMIGO_RESOURCE_MEMORY].upper >= 0.75);
  assert_true (req.reservation.resources[AMIGO_RESOURCE_MEMORY].amount >= 0.75);
  assert_true (req.host_memory_gib == 0.75);
}

/* An unknown dirty rate is the expensive case, never zero. */
static void
test_unknown_dirty_rate_is_expensive (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest known, unknown;
  guint64 mem = 1024 * 1024 * 1024;

  record (f, UUID_BURN, 30, 0.5, 0.2, 0.3);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = mem;
  facts.dirty_rate_mib_s = 0.0;
  compute_ok (fc, UUID_BURN, &facts, f->now, &known);
  facts.dirty_rate_mib_s = NAN;
  compute_ok (fc, UUID_BURN, &facts, f->now, &unknown);
  assert_false (unknown.reservation.migration.dirty_rate_known);
  assert_true (unknown.reservation.migration.bytes_sent >= 2 * mem);
  assert_true (unknown.reservation.migration.duration_usec > known.reservation.migration.duration_usec);
}

/* A domain minutes old already has a request, from its class prior, and
 * the prior's headroom is not cut back to the few minutes' maximum. */
static void
test_young_domain (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest req;

  record (f, UUID_BURN, 12.0 / 60, 1.0, 0.2, 0.3);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = 512 * 1024 * 1024;
  compute_ok (fc, UUID_BURN, &facts, f->now, &req);
  print_message ("young domain: cpu bound %.3f cores from '%s'\n",
                 req.reservation.resources[AMIGO_RESOURCE_CPU].upper,
                 req.reservation.resources[AMIGO_RESOURCE_CPU].model);
  /* the class prior (no backtest behind it), above the largest 5-minute
   * mean seen so far */
  assert_true (isnan (req.reservation.resources[AMIGO_RESOURCE_CPU].score));
  {
    g_autoptr(GArray) bins = NULL;
    gint64 start;
    double max = 0;
    assert_true (amigo_history_series (f->history, UUID_BURN, AMIGO_METRIC_CPU, 5 * AMIGO_USEC_PER_MIN,
                                       f->now - AMIGO_USEC_PER_HOUR, f->now, FALSE, &bins, &start, NULL));
    for (guint i = 0; i < bins->len; i++) {
      if (isfinite (g_array_index (bins, double, i)))
        max = MAX (max, g_array_index (bins, double, i));
    }
    assert_true (max > 0.9);
    assert_true (req.reservation.resources[AMIGO_RESOURCE_CPU].upper > max);
  }
}

/* An administrator's label is used and said so. */
static void
test_label (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest req;

  record (f, UUID_BURN, 30, 0.5, 0.2, 0.3);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = 1024 * 1024 * 1024;
  facts.label = AMIGO_WORKLOAD_CLASS_DATABASE;
  compute_ok (fc, UUID_BURN, &facts, f->now, &req);
  assert_int_equal (req.class_source, AMIGO_CLASS_SOURCE_LABEL);
  assert_int_equal (req.reservation.classification.klass, AMIGO_WORKLOAD_CLASS_DATABASE);
}

static void
test_bad_input (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest req;
  AmigoForecasterOptions opt;
  AmigoMigrationWindow w;
  g_autoptr(GError) error = NULL;

  amigo_domain_facts_init (&facts);
  assert_false (amigo_forecaster_compute (fc, UUID_NEW, &facts, f->now, NULL, &req, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  g_clear_error (&error);

  record (f, UUID_BURN, 2, 0.5, 0.2, 0.3);
  amigo_forecaster_options_init (&opt);
  w = opt.window;
  w.duration_usec = 30 * AMIGO_USEC_PER_DAY;
  assert_false (amigo_forecaster_compute (fc, UUID_BURN, &facts, f->now, &w, &req, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "migration window"));
  g_clear_error (&error);
  w = opt.window;
  w.link_bytes_s = 1.0;
  assert_false (amigo_forecaster_compute (fc, UUID_BURN, &facts, f->now, &w, &req, &error));
  assert_non_null (strstr (error->message, "link bandwidth"));
  g_clear_error (&error);
  /* a history window with nothing in it */
  assert_false (amigo_forecaster_compute (fc, UUID_BURN, &facts, f->now + 30 * AMIGO_USEC_PER_DAY, NULL, &req,
                                          &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
}

/* A domain's first poll has its memory but no CPU yet (a rate needs two
 * readings): no request then, since it would reserve no CPU at all. */
static void
test_first_sample_has_no_cpu (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  g_autoptr(GError) error = NULL;
  AmigoDomainFacts facts;
  AmigoRequest req;
  AmigoSample s;

  amigo_sample_init (&s, f->now - 2 * AMIGO_USEC_PER_SEC);
  s.values[AMIGO_METRIC_MEMORY] = 0.1;
  s.values[AMIGO_METRIC_HOST_MEMORY] = 0.08;
  assert_true (amigo_history_append (f->history, UUID_NEW, "vm", &s, NULL));
  amigo_domain_facts_init (&facts);
  facts.host_memory_gib = 0.08;
  assert_false (amigo_forecaster_compute (fc, UUID_NEW, &facts, f->now, NULL, &req, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (error->message, "cpu"));
  g_clear_error (&error);

  /* the second poll brings the CPU */
  amigo_sample_init (&s, f->now);
  s.values[AMIGO_METRIC_CPU] = 0.5;
  s.values[AMIGO_METRIC_MEMORY] = 0.1;
  s.values[AMIGO_METRIC_HOST_MEMORY] = 0.08;
  assert_true (amigo_history_append (f->history, UUID_NEW, "vm", &s, NULL));
  compute_ok (fc, UUID_NEW, &facts, f->now, &req);
  assert_true (req.reservation.resources[AMIGO_RESOURCE_CPU].present);
  assert_true (req.reservation.resources[AMIGO_RESOURCE_CPU].upper >= 0.5);
}

/* The request survives its JSON form, and what another host or version
 * wrote is refused with the member at fault named. */
static void
test_request_json (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoForecaster) fc = amigo_forecaster_new (f->history, NULL);
  AmigoDomainFacts facts;
  AmigoRequest req, back;
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  static const struct {
    const char *json;
    const char *says;
  } bad[] = {
    { "", "not a JSON object" },
    { "{\"request_version\":", "not JSON" },
    { "[]", "not a JSON object" },
    { "{}", "'request_version' is missing" },
    { "{\"request_version\":2}", "version 2 is not supported" },
    { "{\"request_version\":1,\"computed_usec\":\"x\"}", "'computed_usec' must be an integer" },
    { "{\"request_version\":1,\"computed_usec\":1,\"class_source\":\"oracle\"}", "'class_source' = 'oracle'" },
    { "{\"request_version\":1,\"computed_usec\":1,\"class_source\":\"label\",\"host_memory_gib\":-1}", "'host_memory_gib' = -1" },
    { "{\"request_version\":1,\"computed_usec\":1,\"class_source\":\"label\",\"host_memory_gib\":null}", "'reservation' is missing" },
    { "{\"request_version\":1,\"computed_usec\":1,\"class_source\":\"label\",\"host_memory_gib\":null,\"reservation\":{}}", "reservation JSON" },
  };

  record (f, UUID_BURN, 30, 0.5, 0.2, 0.3);
  amigo_domain_facts_init (&facts);
  facts.memory_bytes = 1024 * 1024 * 1024;
  compute_ok (fc, UUID_BURN, &facts, f->now, &req);
  json = amigo_request_to_json (&req);
  assert_true (amigo_request_from_json (json, &back, &error));
  assert_int_equal (back.computed_usec, req.computed_usec);
  assert_true (fabs (back.reservation.resources[AMIGO_RESOURCE_CPU].amount -
                     req.reservation.resources[AMIGO_RESOURCE_CPU].amount) < 1e-9);
  assert_false (amigo_request_is_stale (&back, f->now + AMIGO_USEC_PER_MIN, 15 * AMIGO_USEC_PER_MIN));
  assert_true (amigo_request_is_stale (&back, f->now + AMIGO_USEC_PER_HOUR, 15 * AMIGO_USEC_PER_MIN));
  assert_true (amigo_request_is_stale (&back, f->now - AMIGO_USEC_PER_HOUR, 15 * AMIGO_USEC_PER_MIN));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_clear_error (&error);
    assert_false (amigo_request_from_json (bad[i].json, &back, &error));
    if (strstr (error->message, bad[i].says) == NULL)
      fail_msg ("'%s': '%s' does not say '%s'", bad[i].json, error->message, bad[i].says);
  }

  /* Mutations of a valid request never crash and never pass half-read. */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (11);
    gsize len = strlen (json);
    for (guint k = 0; k < 3000; k++) {
      g_autofree char *m = g_strdup (json);
      guint edits = g_rand_int_range (rand, 1, 4);
      for (guint e = 0; e < edits; e++)
        m[g_rand_int_range (rand, 0, (gint32) len)] = (char) g_rand_int_range (rand, 1, 128);
      g_clear_error (&error);
      if (!amigo_request_from_json (m, &back, &error))
        assert_non_null (error);
    }
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_burning_and_idle, setup, teardown),
    cmocka_unit_test_setup_teardown (test_memory_floor_is_host_memory, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_dirty_rate_is_expensive, setup, teardown),
    cmocka_unit_test_setup_teardown (test_young_domain, setup, teardown),
    cmocka_unit_test_setup_teardown (test_label, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown (test_first_sample_has_no_cpu, setup, teardown),
    cmocka_unit_test_setup_teardown (test_request_json, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
