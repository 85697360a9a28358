/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "lstm" model: learns a seasonal signal, is repeatable, its weight files
 * round-trip exactly and bad files are refused with a clear error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <math.h>

#include "amigo-error.h"
#include "amigo-model-lstm.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define PERIOD 48
#define N_TRAIN 1000
#define N_TOTAL (N_TRAIN + 200)
#define START_USEC (1700000000 * AMIGO_USEC_PER_SEC)

typedef struct {
  double values[N_TOTAL];
  char *dir;
} Fixture;

/* 2 + sin(2 pi t / 48) plus uniform noise of +-0.15, from a fixed LCG */
static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  guint64 s = 12345;

  for (gsize i = 0; i < N_TOTAL; i++) {
    double u;

    s = s * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
    u = (double) (s >> 11) / 9007199254740992.0 - 0.5;
    f->values[i] = 2.0 + sin (2.0 * G_PI * (double) i / PERIOD) + 0.3 * u;
  }
  f->dir = g_dir_make_tmp ("amigo-lstm-XXXXXX", NULL);
  assert_non_null (f->dir);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;
  g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (f->dir, name, NULL);
    g_unlink (p);
  }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f);
  return 0;
}

static AmigoSeries
series (const Fixture *f, gsize n)
{
  AmigoSeries s = { START_USEC, STEP, n, f->values };

  return s;
}

static AmigoModel *
fit_sine (const Fixture *f, guint64 seed)
{
  AmigoSeries s = series (f, N_TRAIN);
  AmigoModelOptions opts = { .resource = AMIGO_RESOURCE_CPU, .season = PERIOD, .seed = seed };
  g_autoptr(GError) error = NULL;
  AmigoModel *m = amigo_model_fit (amigo_model_class_lookup ("lstm"), &s, &opts, &error);

  assert_null (error);
  assert_non_null (m);
  return m;
}

/* At 20 forecast origins after the training data (the model re-reads the
 * newer history without training: fit_from with 0 epochs), the mean absolute
 * error 12 steps ahead (a quarter period) is less than half of "last"'s. */
static void
test_lstm_beats_last_on_noisy_sine (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) m = fit_sine (f, 7);
  AmigoModelOptions opts = { .resource = AMIGO_RESOURCE_CPU, .season = PERIOD };
  double mae_lstm = 0.0, mae_last = 0.0;
  int inside = 0;

  for (int j = 0; j < 20; j++) {
    gsize origin = N_TRAIN + 7 * (gsize) j;
    AmigoSeries s = series (f, origin);
    g_autoptr(GError) error = NULL;
    g_autoptr(AmigoModel) now = amigo_model_lstm_fit_from (m, &s, &opts, 0, &error);
    g_autoptr(AmigoModel) last = amigo_model_fit (amigo_model_class_lookup ("last"), &s, &opts, NULL);
    double mean[12], lower[12], upper[12], lmean[12], lupper[12];
    double truth = f->values[origin + 11];

    assert_non_null (now);
    assert_true (amigo_model_forecast (now, 12, 0.95, mean, lower, upper, NULL));
    assert_true (amigo_model_forecast (last, 12, 0.95, lmean, NULL, lupper, NULL));
    mae_lstm += fabs (mean[11] - truth);
    mae_last += fabs (lmean[11] - truth);
    assert_true (lower[11] <= mean[11] && mean[11] <= upper[11]);
    inside += truth >= lower[11] && truth <= upper[11];
  }
  mae_lstm /= 20;
  mae_last /= 20;
  print_message ("MAE at h=12: lstm %.4f, last %.4f; %d/20 inside the 90%% interval\n", mae_lstm, mae_last, inside);
  assert_true (mae_lstm < 0.5 * mae_last);
  /* a 90% interval that holds the truth most of the time */
  assert_true (inside >= 14);
}

/* Same history, same seed: the same forecast to the last bit. */
static void
test_lstm_is_deterministic (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) a = fit_sine (f, 3);
  g_autoptr(AmigoModel) b = fit_sine (f, 3);
  double ma[30], ua[30], mb[30], ub[30];

  assert_true (amigo_model_forecast (a, 30, 0.9, ma, NULL, ua, NULL));
  assert_true (amigo_model_forecast (b, 30, 0.9, mb, NULL, ub, NULL));
  assert_memory_equal (ma, mb, sizeof ma);
  assert_memory_equal (ua, ub, sizeof ua);
}

static void
test_lstm_save_load_roundtrip (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) m = fit_sine (f, 5);
  g_autofree char *path = g_build_filename (f->dir, "w.lstm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) back = NULL;
  /* 30 steps: beyond the 24 direct outputs, so the recursive part is covered */
  double m1[30], l1[30], u1[30], m2[30], l2[30], u2[30];

  assert_true (amigo_model_lstm_save (m, path, &error));
  assert_null (error);
  back = amigo_model_lstm_load (path, &error);
  assert_null (error);
  assert_non_null (back);
  assert_string_equal (amigo_model_name (back), "lstm");
  assert_true (amigo_model_forecast (m, 30, 0.9, m1, l1, u1, NULL));
  assert_true (amigo_model_forecast (back, 30, 0.9, m2, l2, u2, NULL));
  assert_memory_equal (m1, m2, sizeof m1);
  assert_memory_equal (l1, l2, sizeof l1);
  assert_memory_equal (u1, u2, sizeof u1);
}

static void
expect_load_error (const char *path, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) m = amigo_model_lstm_load (path, &error);

  assert_null (m);
  assert_non_null (error);
  print_message ("refused: %s\n", error->message);
  assert_true (g_error_matches (error, AMIGO_ERROR, code));
  assert_non_null (strstr (error->message, needle));
  assert_non_null (strstr (error->message, path));
}

static void
test_lstm_bad_weight_files_rejected (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) m = fit_sine (f, 5);
  g_autofree char *good = g_build_filename (f->dir, "good.lstm", NULL);
  g_autofree char *bad = g_build_filename (f->dir, "bad.lstm", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "missing.lstm", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;

  assert_true (amigo_model_lstm_save (m, good, NULL));
  assert_true (g_file_get_contents (good, &data, &len, NULL));

  /* cut in the middle of the weights */
  assert_true (g_file_set_contents (bad, data, (gssize) (len / 2), NULL));
  expect_load_error (bad, AMIGO_ERROR_CORRUPT, "truncated");
  /* cut inside the header */
  assert_true (g_file_set_contents (bad, data, 20, NULL));
  expect_load_error (bad, AMIGO_ERROR_CORRUPT, "truncated");
  /* one weight flipped */
  data[len / 2] ^= 0x40;
  assert_true (g_file_set_contents (bad, data, (gssize) len, NULL));
  expect_load_error (bad, AMIGO_ERROR_CORRUPT, "checksum");
  data[len / 2] ^= 0x40;
  /* a newer format version */
  data[8] = 2;
  assert_true (g_file_set_contents (bad, data, (gssize) len, NULL));
  expect_load_error (bad, AMIGO_ERROR_NOT_SUPPORTED, "version 2");
  data[8] = 1;
  /* not a weight file at all */
  assert_true (g_file_set_contents (bad, "hello, this is not a model\n", -1, NULL));
  expect_load_error (bad, AMIGO_ERROR_BAD_DATA, "not an amigo LSTM weight file");
  /* no file */
  expect_load_error (missing, AMIGO_ERROR_NOT_FOUND, "cannot read");
  /* the untouched copy still loads */
  {
    g_autoptr(AmigoModel) ok = amigo_model_lstm_load (good, NULL);
    assert_non_null (ok);
  }
}

static void
test_lstm_bad_inputs (void **state)
{
  const AmigoModelClass *klass = amigo_model_class_lookup ("lstm");
  double nans[200], few[50];
  AmigoSeries s_nan = { START_USEC, STEP, 200, nans };
  AmigoSeries s_empty = { START_USEC, STEP, 0, nans };
  AmigoSeries s_short = { START_USEC, STEP, 50, few };
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
  g_autoptr(AmigoModel) m1 = NULL, m2 = NULL, m3 = NULL;

  for (int i = 0; i < 200; i++)
    nans[i] = NAN;
  for (int i = 0; i < 50; i++)
    few[i] = i;
  m1 = amigo_model_fit (klass, &s_nan, NULL, &e1);
  m2 = amigo_model_fit (klass, &s_empty, NULL, &e2);
  m3 = amigo_model_fit (klass, &s_short, NULL, &e3);
  assert_null (m1);
  assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (e1->message, "missing"));
  assert_null (m2);
  assert_true (g_error_matches (e2, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (e2->message, "empty"));
  assert_null (m3);
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  assert_non_null (strstr (e3->message, "got 50"));
  /* the class advertises what it needs */
  assert_true (klass->min_history > 50);
}

/* Gaps in the history are tolerated; forecasts stay finite and, as the series
 * never goes below zero, non-negative. */
static void
test_lstm_missing_values (void **state)
{
  Fixture *f = *state;
  double v[600];
  AmigoSeries s = { START_USEC, STEP, 600, v };
  AmigoModelOptions opts = { .season = PERIOD, .seed = 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) m = NULL;
  double mean[40], lower[40], upper[40];

  memcpy (v, f->values, sizeof v);
  for (int i = 100; i < 160; i++)
    v[i] = NAN;
  v[599] = NAN;
  m = amigo_model_fit (amigo_model_class_lookup ("lstm"), &s, &opts, &error);
  assert_null (error);
  assert_true (amigo_model_forecast (m, 40, 0.95, mean, lower, upper, NULL));
  for (int h = 0; h < 40; h++) {
    assert_true (isfinite (mean[h]) && isfinite (lower[h]) && isfinite (upper[h]));
    assert_true (lower[h] >= 0.0 && lower[h] <= mean[h] && mean[h] <= upper[h]);
  }
}

/* Warm start keeps training a loaded model on newer data; it refuses a model
 * of another kind and a history with another step. */
static void
test_lstm_warm_start (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) m = fit_sine (f, 9);
  AmigoSeries longer = series (f, N_TOTAL);
  AmigoSeries other_step = { START_USEC, STEP * 2, N_TOTAL, f->values };
  AmigoModelOptions opts = { .season = PERIOD, .seed = 9 };
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
  g_autoptr(AmigoModel) warm = amigo_model_lstm_fit_from (m, &longer, &opts, 2, &e1);
  g_autoptr(AmigoModel) last = amigo_model_fit (amigo_model_class_lookup ("last"), &longer, &opts, NULL);
  g_autoptr(AmigoModel) r1 = amigo_model_lstm_fit_from (last, &longer, &opts, 1, &e2);
  g_autoptr(AmigoModel) r2 = amigo_model_lstm_fit_from (m, &other_step, &opts, 1, &e3);
  double mean[12], upper[12];

  assert_null (e1);
  assert_non_null (warm);
  assert_true (amigo_model_forecast (warm, 12, 0.9, mean, NULL, upper, NULL));
  /* the warm model forecasts from the end of the longer history: the
   * sine's value 12 steps later, +-0.5 */
  assert_float_equal (mean[11], 2.0 + sin (2.0 * G_PI * (N_TOTAL + 11) / PERIOD), 0.5);
  assert_null (r1);
  assert_true (g_error_matches (e2, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_null (r2);
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e3->message, "step"));
}

/* update() moves a model to newer data without training: its forecast is
 * the one of a 0-epoch warm start on the same history (same weights, same
 * context), it follows the sine past the training data, and it refuses
 * another kind of model, another step and a history shorter than a window. */
static void
test_lstm_update (void **state)
{
  Fixture *f = *state;
  g_autoptr(AmigoModel) m = fit_sine (f, 5);
  AmigoSeries longer = series (f, N_TRAIN + 100);
  AmigoSeries other_step = { START_USEC, STEP * 2, N_TOTAL, f->values };
  AmigoSeries short_history = series (f, 10);
  AmigoModelOptions opts = { .season = PERIOD, .seed = 5 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
  g_autoptr(AmigoModel) updated = amigo_model_lstm_update (m, &longer, &error);
  g_autoptr(AmigoModel) warm0 = amigo_model_lstm_fit_from (m, &longer, &opts, 0, NULL);
  g_autoptr(AmigoModel) last = amigo_model_fit (amigo_model_class_lookup ("last"), &longer, &opts, NULL);
  double mean[12], upper[12], mean0[12], upper0[12];

  assert_null (error);
  assert_non_null (updated);
  assert_non_null (warm0);
  assert_true (amigo_model_forecast (updated, 12, 0.9, mean, NULL, upper, NULL));
  assert_true (amigo_model_forecast (warm0, 12, 0.9, mean0, NULL, upper0, NULL));
  for (int h = 0; h < 12; h++) {
    assert_float_equal (mean[h], mean0[h], 1e-9);
    assert_true (upper[h] >= mean[h]);
  }
  assert_float_equal (mean[11], 2.0 + sin (2.0 * G_PI * (N_TRAIN + 100 + 11) / PERIOD), 0.5);

  assert_null (amigo_model_lstm_update (last, &longer, &e1));
  assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_null (amigo_model_lstm_update (m, &other_step, &e2));
  assert_non_null (strstr (e2->message, "step"));
  assert_null (amigo_model_lstm_update (m, &short_history, &e3));
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
}

/* The replay's refit policy (docs/evaluation.md): a first fit on 288
 * samples with each epoch over half the windows (thin 2), a warm refit of
 * one epoch over an eighth of the windows of the newer samples every 288
 * samples, update() in between. At 20 origins its error 12 steps ahead is
 * still less than half of "last"'s. */
static void
test_lstm_cheap_policy_beats_last (void **state)
{
  Fixture *f = *state;
  AmigoModelOptions opts = { .resource = AMIGO_RESOURCE_CPU, .season = PERIOD, .seed = 3, .max_train = 288 };
  AmigoModelLstmConfig fit_config, refit_config;
  AmigoSeries first = series (f, 288);
  g_autoptr(GError) error = NULL;
  AmigoModel *current;
  gsize fitted_at = 288;
  double mae_lstm = 0.0, mae_last = 0.0;

  amigo_model_lstm_config_init (&fit_config);
  fit_config.thin = 2;
  amigo_model_lstm_config_init (&refit_config);
  refit_config.epochs = 1;
  refit_config.thin = 8;
  current = amigo_model_lstm_fit_with (&first, &opts, &fit_config, &error);
  assert_null (error);
  assert_non_null (current);
  for (int j = 0; j < 20; j++) {
    gsize origin = 336 + 43 * (gsize) j;
    AmigoSeries s = series (f, origin);
    AmigoModel *next;
    g_autoptr(AmigoModel) last = amigo_model_fit (amigo_model_class_lookup ("last"), &s, &opts, NULL);
    double mean[12], upper[12], lmean[12], lupper[12];
    double truth = f->values[origin + 11];

    if (origin - fitted_at >= 288) {
      next = amigo_model_lstm_fit_from_with (current, &s, &opts, &refit_config, &error);
      fitted_at = origin;
    } else {
      next = amigo_model_lstm_update (current, &s, &error);
    }
    assert_null (error);
    assert_non_null (next);
    amigo_model_free (current);
    current = next;
    assert_true (amigo_model_forecast (current, 12, 0.95, mean, NULL, upper, NULL));
    assert_true (amigo_model_forecast (last, 12, 0.95, lmean, NULL, lupper, NULL));
    mae_lstm += fabs (mean[11] - truth);
    mae_last += fabs (lmean[11] - truth);
  }
  amigo_model_free (current);
  print_message ("MAE at h=12 with the replay's refit policy: lstm %.4f, last %.4f\n", mae_lstm / 20,
                 mae_last / 20);
  assert_true (mae_lstm < 0.5 * mae_last);
}

/* thin out of range is refused like the other settings. */
static void
test_lstm_thin_checked (void **state)
{
  Fixture *f = *state;
  AmigoSeries s = series (f, N_TRAIN);
  AmigoModelLstmConfig config;
  g_autoptr(GError) error = NULL;

  amigo_model_lstm_config_init (&config);
  assert_int_equal (config.thin, 1);
  config.thin = 0;
  assert_null (amigo_model_lstm_fit_with (&s, NULL, &config, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "thin"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_lstm_beats_last_on_noisy_sine, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_is_deterministic, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_save_load_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_bad_weight_files_rejected, setup, teardown),
    cmocka_unit_test (test_lstm_bad_inputs),
    cmocka_unit_test_setup_teardown (test_lstm_missing_values, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_warm_start, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_update, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_cheap_policy_beats_last, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lstm_thin_checked, setup, teardown),
  };
  return cmocka_run_group_tests_name ("model-lstm", tests, NULL, NULL);
}
