/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-overhead.h"

#define GIB ((guint64) AMIGO_BYTES_PER_GIB)

/* 1 GiB over 1 GiB/s while dirtying 256 MiB/s, 100 ms limit, by hand:
 * round 1 sends 1 GiB in 1 s; round 2 the 256 MiB dirtied meanwhile in
 * 0.25 s; then 64 MiB are left, 62.5 ms < 100 ms: stop-and-copy.
 * 3 rounds, 1.3125 GiB, 1.3125 s, 62.5 ms downtime. */
static void
test_hand_computed (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate e;
  g_autoptr(GError) error = NULL;

  amigo_overhead_input_init (&in);
  in.memory_bytes = GIB;
  in.link_bytes_s = (double) GIB;
  in.dirty_rate_bytes_s = GIB / 4.0;
  in.downtime_limit_usec = 100 * AMIGO_USEC_PER_MSEC;
  assert_true (amigo_overhead_estimate (&in, NULL, &e, &error));
  assert_true (e.converges);
  assert_int_equal (e.rounds, 3);
  assert_int_equal (e.bytes_sent, GIB + GIB / 4 + GIB / 16);
  assert_true (llabs (e.duration_usec - 1312500) <= 1);
  assert_true (llabs (e.downtime_usec - 62500) <= 1);
  assert_true (llabs (e.first_round_usec - AMIGO_USEC_PER_SEC) <= 1);
  /* destination side: the stream's bandwidth, a receive cost, memory fill */
  assert_true (fabs (e.network_mbit_s - GIB * 8.0 / 1e6) < 1e-6);
  assert_true (fabs (e.cpu_cores - in.receive_cores_per_gbit * GIB * 8.0 / 1e9) < 1e-9);
  assert_true (fabs (amigo_overhead_memory_at (&e, AMIGO_USEC_PER_SEC / 2) - 0.5) < 1e-6);
  assert_true (fabs (amigo_overhead_memory_at (&e, 10 * AMIGO_USEC_PER_SEC) - 1.0) < 1e-9);
}

/* A guest dirtying faster than the link can carry never converges. */
static void
test_non_converging (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate e;

  amigo_overhead_input_init (&in);
  in.memory_bytes = 4 * GIB;
  in.link_bytes_s = 100e6;
  in.dirty_rate_bytes_s = 200e6;
  assert_true (amigo_overhead_estimate (&in, NULL, &e, NULL));
  assert_false (e.converges);
  assert_int_equal (e.rounds, in.max_iterations + 1);
  /* a forced switch-over would pause far longer than the limit */
  assert_true (e.downtime_usec > in.downtime_limit_usec);
}

/* An idle guest migrates in one round plus a trivial stop-and-copy. */
static void
test_idle_guest (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate e;

  amigo_overhead_input_init (&in);
  in.memory_bytes = 2 * GIB;
  in.link_bytes_s = (double) GIB;
  assert_true (amigo_overhead_estimate (&in, NULL, &e, NULL));
  assert_true (e.converges);
  assert_int_equal (e.downtime_usec, 0);
  assert_int_equal (e.bytes_sent, 2 * GIB);
}

/* Nothing measured the dirty rate: the whole memory is sent twice before a
 * switch-over assumed at the downtime limit, never the quiet guest's single
 * round. 1 GiB over 1 GiB/s, 100 ms limit, by hand: 1 s + 1 s + 0.1 s,
 * 2.1 GiB, 100 ms pause, 3 rounds, convergence assumed rather than shown. */
static void
test_unknown_dirty_rate_is_expensive (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate e, quiet;
  g_autoptr(GError) error = NULL;

  amigo_overhead_input_init (&in);
  in.memory_bytes = GIB;
  in.link_bytes_s = (double) GIB;
  in.downtime_limit_usec = 100 * AMIGO_USEC_PER_MSEC;
  assert_true (amigo_overhead_estimate (&in, NULL, &quiet, &error));
  assert_true (quiet.dirty_rate_known);
  assert_int_equal (quiet.bytes_sent, GIB);

  in.dirty_rate_unknown = TRUE;
  in.dirty_rate_bytes_s = NAN;   /* ignored: not known */
  assert_true (amigo_overhead_estimate (&in, NULL, &e, &error));
  assert_null (error);
  assert_false (e.dirty_rate_known);
  assert_false (e.converges);
  assert_int_equal (e.rounds, 3);
  assert_true (llabs ((gint64) e.bytes_sent - (gint64) (2.1 * GIB)) <= 1);
  assert_true (llabs (e.duration_usec - 2100000) <= 1);
  assert_true (llabs (e.downtime_usec - 100000) <= 1);

  /* an operator who forces the switch-over after one round pays for all
   * of memory in the pause */
  in.max_iterations = 1;
  assert_true (amigo_overhead_estimate (&in, NULL, &e, &error));
  assert_int_equal (e.rounds, 2);
  assert_int_equal (e.bytes_sent, 2 * GIB);
  assert_true (llabs (e.downtime_usec - AMIGO_USEC_PER_SEC) <= 1);
  assert_false (e.converges);

  /* memory that fits in the pause is sent there, whatever the guest does */
  in.max_iterations = AMIGO_OVERHEAD_DEFAULT_MAX_ITERATIONS;
  in.memory_bytes = GIB / 16;
  assert_true (amigo_overhead_estimate (&in, NULL, &e, &error));
  assert_true (e.converges);
  assert_int_equal (e.rounds, 2);
  assert_int_equal (e.bytes_sent, GIB / 8);
}

static void
test_bad_input (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate e;
  g_autoptr(GError) error = NULL;

  amigo_overhead_input_init (&in);
  in.memory_bytes = GIB;
  in.link_bytes_s = 0;
  assert_false (amigo_overhead_estimate (&in, NULL, &e, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  in.link_bytes_s = 1e9;
  in.dirty_rate_bytes_s = NAN;
  assert_false (amigo_overhead_estimate (&in, NULL, &e, &error));
  g_clear_error (&error);
  in.dirty_rate_bytes_s = 0;
  in.downtime_limit_usec = -1;
  assert_false (amigo_overhead_estimate (&in, NULL, &e, &error));
}

/* Measured migrations took twice as long as predicted: the calibrated
 * prediction moves towards them, and stays bounded. */
static void
test_calibration_moves_towards_measured (void **state)
{
  AmigoOverheadInput in;
  AmigoOverheadEstimate raw, cal;
  AmigoOverheadCalibration c;
  double err_before, err_after;

  amigo_overhead_input_init (&in);
  in.memory_bytes = 8 * GIB;
  in.link_bytes_s = 1e9;
  in.dirty_rate_bytes_s = 50e6;
  amigo_overhead_calibration_init (&c);
  assert_true (amigo_overhead_estimate (&in, NULL, &raw, NULL));
  for (int i = 0; i < 3; i++)
    assert_true (amigo_overhead_calibration_observe (&c, &raw, 2 * raw.duration_usec, raw.bytes_sent * 3 / 2,
                                                     2 * raw.downtime_usec, NULL));
  assert_true (amigo_overhead_estimate (&in, &c, &cal, NULL));
  err_before = fabs ((double) raw.duration_usec - 2.0 * raw.duration_usec);
  err_after = fabs ((double) cal.duration_usec - 2.0 * raw.duration_usec);
  assert_true (err_after < 0.1 * err_before);
  assert_true (cal.bytes_sent > raw.bytes_sent);

  /* an absurd outlier cannot push the correction past a factor of 4 */
  for (int i = 0; i < 20; i++)
    assert_true (amigo_overhead_calibration_observe (&c, &raw, 1000 * raw.duration_usec, 0, 0, NULL));
  assert_true (amigo_overhead_estimate (&in, &c, &cal, NULL));
  assert_true (cal.duration_usec <= 4 * raw.duration_usec + 1);
}

static void
test_calibration_json (void **state)
{
  AmigoOverheadCalibration c, back;
  AmigoOverheadEstimate raw = { .duration_usec = 1000000, .bytes_sent = 1000, .downtime_usec = 1000 };
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;

  amigo_overhead_calibration_init (&c);
  assert_true (amigo_overhead_calibration_observe (&c, &raw, 1500000, 800, 0, NULL));
  json = amigo_overhead_calibration_to_json (&c);
  assert_true (amigo_overhead_calibration_from_json (json, &back, &error));
  assert_true (fabs (back.log_duration - c.log_duration) < 1e-12);
  assert_true (fabs (back.log_bytes - c.log_bytes) < 1e-12);
  assert_int_equal (back.n_observations, 1);

  assert_false (amigo_overhead_calibration_from_json ("{\"log_duration\": 0.1", &back, &error) && FALSE);
  g_clear_error (&error);
  assert_false (amigo_overhead_calibration_from_json ("[1,2]", &back, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  g_clear_error (&error);
  assert_false (amigo_overhead_calibration_from_json (
    "{\"log_duration\": 9, \"log_bytes\": 0, \"log_downtime\": 0, \"n_observations\": 1}", &back, &error));
  assert_non_null (strstr (error->message, "'log_duration'"));
  g_clear_error (&error);
  assert_false (amigo_overhead_calibration_from_json (
    "{\"log_duration\": 0, \"log_bytes\": \"x\", \"log_downtime\": 0, \"n_observations\": 1}", &back, &error));
  assert_non_null (strstr (error->message, "'log_bytes'"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_hand_computed),
    cmocka_unit_test (test_non_converging),
    cmocka_unit_test (test_idle_guest),
    cmocka_unit_test (test_unknown_dirty_rate_is_expensive),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_calibration_moves_towards_measured),
    cmocka_unit_test (test_calibration_json),
  };
  return cmocka_run_group_tests_name ("overhead", tests, NULL, NULL);
}
