/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-reservation.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define DAY 288
#define N (4 * DAY)

typedef struct {
  double v[AMIGO_RESOURCE_LAST][N];
  AmigoVmHistory h;
  AmigoMigrationWindow w;
} Fixture;

static double
noise (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return ((*state >> 8) / (double) (1u << 24)) * 2.0 - 1.0;
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  guint32 s = 3;
  AmigoResource used[] = { AMIGO_RESOURCE_CPU, AMIGO_RESOURCE_MEMORY, AMIGO_RESOURCE_NETWORK };

  for (gsize i = 0; i < N; i++) {
    double day = sin (2 * G_PI * (double) i / DAY);
    f->v[AMIGO_RESOURCE_CPU][i] = 2.0 + day + 0.1 * noise (&s);
    f->v[AMIGO_RESOURCE_MEMORY][i] = 6.0 + 0.1 * noise (&s);
    f->v[AMIGO_RESOURCE_NETWORK][i] = 50.0 + 20 * day;
  }
  for (guint k = 0; k < G_N_ELEMENTS (used); k++) {
    f->h.resources[used[k]].start_usec = 1000 * AMIGO_USEC_PER_DAY;
    f->h.resources[used[k]].step_usec = STEP;
    f->h.resources[used[k]].n_values = N;
    f->h.resources[used[k]].values = f->v[used[k]];
  }
  f->h.dirty_rate_bytes_s = 20e6;
  f->h.memory_bytes = 8 * (guint64) AMIGO_BYTES_PER_GIB;
  f->w.start_usec = 0;
  f->w.settle_usec = 30 * AMIGO_USEC_PER_MIN;
  f->w.link_bytes_s = 125e6; /* 1 Gbit/s */
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  g_free (*state);
  return 0;
}

/* Each present resource gets forecast + overhead with its reasons; absent
 * ones are marked absent. */
static void
test_compute (void **state)
{
  Fixture *f = *state;
  AmigoReservation r;
  g_autoptr(GError) error = NULL;
  double cpu_peak = 0;

  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_null (error);
  for (gsize i = N - DAY; i < N; i++)
    cpu_peak = fmax (cpu_peak, f->v[AMIGO_RESOURCE_CPU][i]);
  assert_true (r.resources[AMIGO_RESOURCE_CPU].present);
  assert_false (r.resources[AMIGO_RESOURCE_DISK].present);
  assert_false (r.resources[AMIGO_RESOURCE_GPU_MEMORY].present);
  for (guint k = 0; k < AMIGO_RESOURCE_LAST; k++) {
    const AmigoResourceReservation *rr = &r.resources[k];
    if (!rr->present)
      continue;
    assert_true (fabs (rr->amount - (rr->upper + rr->overhead)) < 1e-9);
    assert_true (rr->upper >= rr->mean);
    assert_true (strlen (rr->model) > 0);
  }
  /* the migration stream arrives at the link's 1000 Mbit/s, and receiving it costs CPU */
  assert_true (fabs (r.resources[AMIGO_RESOURCE_NETWORK].overhead - 1000.0) < 1e-6);
  assert_true (r.resources[AMIGO_RESOURCE_CPU].overhead > 0);
  /* nothing above a day's peak plus a margin is needed for a smooth series */
  assert_true (r.resources[AMIGO_RESOURCE_CPU].upper < cpu_peak * 1.5);
  assert_true (r.migration.converges);
  assert_true (r.end_usec - r.start_usec >= f->w.settle_usec + r.migration.duration_usec);
  assert_true (r.quantile == 0.95);
}

static void
test_json_roundtrip (void **state)
{
  Fixture *f = *state;
  AmigoReservation r, back;
  g_autofree char *json = NULL;
  g_autofree char *again = NULL;
  g_autoptr(GError) error = NULL;

  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  json = amigo_reservation_to_json (&r);
  assert_non_null (json);
  assert_true (amigo_reservation_from_json (json, &back, &error));
  assert_null (error);
  for (guint k = 0; k < AMIGO_RESOURCE_LAST; k++) {
    assert_int_equal (back.resources[k].present, r.resources[k].present);
    assert_true (fabs (back.resources[k].amount - r.resources[k].amount) < 1e-9);
    assert_string_equal (back.resources[k].model, r.resources[k].model);
  }
  /* the backtest coverage of the chosen method travels with it */
  assert_true (r.resources[AMIGO_RESOURCE_CPU].coverage >= 0.95 && r.resources[AMIGO_RESOURCE_CPU].coverage <= 1.0);
  assert_true (fabs (back.resources[AMIGO_RESOURCE_CPU].coverage - r.resources[AMIGO_RESOURCE_CPU].coverage) < 1e-9);
  assert_int_equal (back.classification.klass, r.classification.klass);
  assert_int_equal (back.migration.bytes_sent, r.migration.bytes_sent);
  assert_int_equal (back.end_usec, r.end_usec);
  again = amigo_reservation_to_json (&back);
  assert_string_equal (again, json);
}

static void
expect_bad_json (const char *json, const char *fragment)
{
  AmigoReservation r;
  g_autoptr(GError) error = NULL;

  assert_false (amigo_reservation_from_json (json, &r, &error));
  assert_non_null (error);
  if (strstr (error->message, fragment) == NULL)
    fail_msg ("error '%s' does not mention '%s'", error->message, fragment);
}

static void
test_json_malformed (void **state)
{
  Fixture *f = *state;
  AmigoReservation r;
  g_autofree char *json = NULL;
  g_autofree char *bad = NULL;

  expect_bad_json ("{\"version\": 1, ", "not valid JSON");
  expect_bad_json ("[]", "must be an object");
  expect_bad_json ("{\"version\": 2}", "version 2");
  expect_bad_json ("{\"version\": 1, \"quantile\": 1.5}", "'quantile'");
  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, NULL));
  json = amigo_reservation_to_json (&r);
  bad = g_strdup (json);
  /* an unknown resource name */
  {
    char *p = strstr (bad, "\"network\"");
    assert_non_null (p);
    memcpy (p, "\"netwurk\"", 9);
    expect_bad_json (bad, "'netwurk'");
  }
  /* a number that is a string */
  {
    g_autoptr(GRegex) re = g_regex_new ("\"amount\":[-0-9.eE+]+", 0, 0, NULL);
    g_autofree char *b2 = g_regex_replace_literal (re, json, -1, 0, "\"amount\":\"lots\"",
                                                   G_REGEX_MATCH_DEFAULT, NULL);
    assert_string_not_equal (b2, json);
    expect_bad_json (b2, "amount' must be a number");
  }
  /* a coverage that is no share */
  {
    g_autoptr(GRegex) re = g_regex_new ("\"coverage\":[-0-9.eE+]+", 0, 0, NULL);
    g_autofree char *b2 = g_regex_replace_literal (re, json, -1, 0, "\"coverage\":1.5",
                                                   G_REGEX_MATCH_DEFAULT, NULL);
    assert_string_not_equal (b2, json);
    expect_bad_json (b2, "coverage' = 1.5 is outside [0, 1]");
  }
}

/* A reservation written before the backtest coverage was recorded still
 * reads; its coverage is not known. A null one is not known either. */
static void
test_json_without_coverage (void **state)
{
  Fixture *f = *state;
  AmigoReservation r, back;
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;

  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  json = amigo_reservation_to_json (&r);
  {
    g_autoptr(GRegex) re = g_regex_new (",\"coverage\":[-0-9.eE+]+", 0, 0, NULL);
    g_autofree char *old = g_regex_replace_literal (re, json, -1, 0, "", G_REGEX_MATCH_DEFAULT, NULL);
    assert_null (strstr (old, "coverage"));
    assert_true (amigo_reservation_from_json (old, &back, &error));
    assert_null (error);
    assert_true (back.resources[AMIGO_RESOURCE_CPU].present);
    assert_true (isnan (back.resources[AMIGO_RESOURCE_CPU].coverage));
    assert_true (fabs (back.resources[AMIGO_RESOURCE_CPU].amount - r.resources[AMIGO_RESOURCE_CPU].amount) < 1e-9);
  }
  {
    g_autoptr(GRegex) re = g_regex_new ("\"coverage\":[-0-9.eE+]+", 0, 0, NULL);
    g_autofree char *null = g_regex_replace_literal (re, json, -1, 0, "\"coverage\":null", G_REGEX_MATCH_DEFAULT, NULL);
    assert_true (amigo_reservation_from_json (null, &back, &error));
    assert_true (isnan (back.resources[AMIGO_RESOURCE_MEMORY].coverage));
  }
}

/* An unknown dirty rate makes the migration the expensive case (the whole
 * memory sent again), not the quiet one, and the reservation says the
 * rate was not known, in its JSON too; a reservation written before that
 * was recorded reads as "not known". */
static void
test_unknown_dirty_rate (void **state)
{
  Fixture *f = *state;
  AmigoReservation known, unknown, back;
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;

  f->h.dirty_rate_bytes_s = 0.0;
  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &known, &error));
  assert_true (known.migration.dirty_rate_known);
  f->h.dirty_rate_bytes_s = NAN;
  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &unknown, &error));
  assert_false (unknown.migration.dirty_rate_known);
  assert_false (unknown.migration.converges);
  assert_true (unknown.migration.bytes_sent >= 2 * f->h.memory_bytes);
  assert_true (unknown.migration.duration_usec >= 2 * known.migration.duration_usec);
  /* the covered window holds the longer migration */
  assert_true (unknown.end_usec - unknown.start_usec >= unknown.migration.duration_usec + f->w.settle_usec);

  json = amigo_reservation_to_json (&unknown);
  assert_non_null (strstr (json, "\"dirty_rate_known\":false"));
  assert_true (amigo_reservation_from_json (json, &back, &error));
  assert_false (back.migration.dirty_rate_known);
  g_free (json);
  json = amigo_reservation_to_json (&known);
  assert_true (amigo_reservation_from_json (json, &back, &error));
  assert_true (back.migration.dirty_rate_known);
  {
    g_autoptr(GRegex) re = g_regex_new (",\"dirty_rate_known\":true", 0, 0, NULL);
    g_autofree char *old = g_regex_replace_literal (re, json, -1, 0, "", G_REGEX_MATCH_DEFAULT, NULL);
    assert_null (strstr (old, "dirty_rate_known"));
    assert_true (amigo_reservation_from_json (old, &back, &error));
    assert_null (error);
    assert_false (back.migration.dirty_rate_known);
  }
  {
    g_autoptr(GRegex) re = g_regex_new ("\"dirty_rate_known\":true", 0, 0, NULL);
    g_autofree char *bad = g_regex_replace_literal (re, json, -1, 0, "\"dirty_rate_known\":\"yes\"",
                                                    G_REGEX_MATCH_DEFAULT, NULL);
    expect_bad_json (bad, "migration.dirty_rate_known");
  }
}

static void
test_bad_inputs (void **state)
{
  Fixture *f = *state;
  AmigoReservation r;
  AmigoReservationOptions o;
  g_autoptr(GError) error = NULL;
  g_autofree double *nans = g_new (double, N);

  f->w.settle_usec = -1;
  assert_false (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "negative"));
  g_clear_error (&error);
  f->w.settle_usec = 0;

  amigo_reservation_options_init (&o);
  o.quantile = 1.2;
  assert_false (amigo_reservation_compute (&f->h, &f->w, &o, &r, &error));
  assert_non_null (strstr (error->message, "quantile"));
  g_clear_error (&error);

  f->w.link_bytes_s = 0;
  assert_false (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_non_null (strstr (error->message, "bandwidth"));
  g_clear_error (&error);
  f->w.link_bytes_s = 1e9;

  for (gsize i = 0; i < N; i++)
    nans[i] = NAN;
  f->h.resources[AMIGO_RESOURCE_CPU].values = nans;
  assert_false (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (error->message, "'cpu'"));
  g_clear_error (&error);

  for (guint k = 0; k < AMIGO_RESOURCE_LAST; k++)
    f->h.resources[k].n_values = 0;
  assert_false (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
}

/* Selectors kept by the caller are reused: the second reservation an hour
 * later does not rerun the backtest. */
static void
test_selectors_reused (void **state)
{
  Fixture *f = *state;
  AmigoSelector *sels[AMIGO_RESOURCE_LAST] = { NULL };
  AmigoReservationOptions o;
  AmigoReservation r;

  amigo_reservation_options_init (&o);
  o.selectors = sels;
  sels[AMIGO_RESOURCE_CPU] = amigo_selector_new (NULL);
  for (guint k = 0; k < AMIGO_RESOURCE_LAST; k++) {
    if (f->h.resources[k].n_values > 0)
      f->h.resources[k].n_values = N - 12;
  }
  assert_true (amigo_reservation_compute (&f->h, &f->w, &o, &r, NULL));
  assert_true (amigo_selector_last_reselected (sels[AMIGO_RESOURCE_CPU]));
  for (guint k = 0; k < AMIGO_RESOURCE_LAST; k++) {
    if (f->h.resources[k].n_values > 0)
      f->h.resources[k].n_values = N;
  }
  assert_true (amigo_reservation_compute (&f->h, &f->w, &o, &r, NULL));
  assert_false (amigo_selector_last_reselected (sels[AMIGO_RESOURCE_CPU]));
  amigo_selector_free (sels[AMIGO_RESOURCE_CPU]);
}

/* A quiet VM is reserved near its level, not at a safety multiple of it;
 * a VM whose memory dropped two days ago is reserved near the new level,
 * not at the old one. */
static void
test_quiet_is_lean (void **state)
{
  Fixture *f = *state;
  AmigoReservation r;
  g_autoptr(GError) error = NULL;
  guint32 s = 11;

  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  /* memory is 6 GiB +- 0.1 */
  assert_true (r.resources[AMIGO_RESOURCE_MEMORY].upper >= 6.0);
  assert_true (r.resources[AMIGO_RESOURCE_MEMORY].upper < 6.4);

  for (gsize i = 0; i < N; i++)
    f->v[AMIGO_RESOURCE_MEMORY][i] = (i < N / 2 ? 12.0 : 3.0) + 0.1 * noise (&s);
  assert_true (amigo_reservation_compute (&f->h, &f->w, NULL, &r, &error));
  assert_true (r.resources[AMIGO_RESOURCE_MEMORY].upper >= 3.0);
  assert_true (r.resources[AMIGO_RESOURCE_MEMORY].upper < 4.0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_compute, setup, teardown),
    cmocka_unit_test_setup_teardown (test_json_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_json_malformed, setup, teardown),
    cmocka_unit_test_setup_teardown (test_json_without_coverage, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_dirty_rate, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_inputs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_selectors_reused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_quiet_is_lean, setup, teardown),
  };
  return cmocka_run_group_tests_name ("reservation", tests, NULL, NULL);
}
