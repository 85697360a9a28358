/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "amigo-error.h"
#include "amigo-model-arima.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"

#define N_SIM 2000

/* ARMA(1,1) y_t = mu + phi (y_{t-1} - mu) + e_t + theta e_{t-1}, seeded. */
static double *
simulate_arma (double mu, double phi, double theta, gsize n, unsigned long seed)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  double *y = g_new (double, n);
  double prev = 0.0, prev_e = 0.0;

  gsl_rng_set (rng, seed);
  for (gsize i = 0; i < n + 200; i++) {
    double e = gsl_ran_gaussian (rng, 1.0);
    double v = phi * prev + e + theta * prev_e;
    prev = v;
    prev_e = e;
    if (i >= 200)
      y[i - 200] = mu + v;
  }
  gsl_rng_free (rng);
  return y;
}

static AmigoModel *
fit_class (const double *values, gsize n, gint64 step_usec, gsize max_train, GError **error)
{
  const AmigoModelClass *klass = amigo_model_class_lookup ("arima");
  AmigoSeries s = { .start_usec = 0, .step_usec = step_usec, .n_values = n, .values = values };
  AmigoModelOptions opts = { .resource = AMIGO_RESOURCE_CPU, .max_train = max_train };

  assert_non_null (klass);
  return amigo_model_fit (klass, &s, &opts, error);
}

static void
test_arima_recovers_ar1 (void **state)
{
  g_autofree double *y = simulate_arma (3.0, 0.7, 0.0, N_SIM, 1);
  AmigoArimaOrder order = { .p = 1, .d = 0, .q = 0, .constant = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoArima) m = amigo_arima_fit (y, N_SIM, 0, &order, &error);

  assert_null (error);
  assert_non_null (m);
  assert_true (fabs (amigo_arima_get_ar (m)[0] - 0.7) < 0.05);
  assert_true (fabs (amigo_arima_get_sigma2 (m) - 1.0) < 0.1);
}

static void
test_arima_recovers_arma11 (void **state)
{
  g_autofree double *y = simulate_arma (-2.0, 0.6, 0.4, N_SIM, 2);
  AmigoArimaOrder order = { .p = 1, .d = 0, .q = 1, .constant = TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoArima) m = amigo_arima_fit (y, N_SIM, 0, &order, &error);

  assert_null (error);
  assert_non_null (m);
  assert_true (fabs (amigo_arima_get_ar (m)[0] - 0.6) < 0.05);
  assert_true (fabs (amigo_arima_get_ma (m)[0] - 0.4) < 0.05);
}

/* The automatic search on a stationary AR(1) keeps d = 0 and finds the
 * dynamics: its one-step forecast beats the mean. */
static void
test_arima_auto_on_ar1 (void **state)
{
  g_autofree double *y = simulate_arma (10.0, 0.8, 0.0, N_SIM + 1, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoArima) m = amigo_arima_fit (y, N_SIM, 0, NULL, &error);
  AmigoArimaOrder order;
  double mean, upper;

  assert_non_null (m);
  amigo_arima_get_order (m, &order);
  assert_int_equal (order.d, 0);
  assert_true (order.p + order.q >= 1);
  assert_true (amigo_arima_get_sigma2 (m) < 1.1);
  assert_true (amigo_arima_forecast (m, 1, 0.9, &mean, NULL, &upper, &error));
  /* expected value of the next step is 10 + 0.8 (y_last - 10) */
  assert_true (fabs (mean - (10.0 + 0.8 * (y[N_SIM - 1] - 10.0))) < 0.15);
}

static void
test_arima_random_walk_gets_d1 (void **state)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  g_autofree double *y = g_new (double, N_SIM);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoArima) m = NULL;
  AmigoArimaOrder order;

  gsl_rng_set (rng, 4);
  y[0] = 50.0;
  for (gsize i = 1; i < N_SIM; i++)
    y[i] = y[i - 1] + gsl_ran_gaussian (rng, 1.0);
  gsl_rng_free (rng);
  m = amigo_arima_fit (y, N_SIM, 0, NULL, &error);
  assert_non_null (m);
  amigo_arima_get_order (m, &order);
  assert_int_equal (order.d, 1);
}

static void
test_arima_constant_series (void **state)
{
  double y[300], mean[24], lower[24], upper[24];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (y); i++)
    y[i] = 4.25;
  m = fit_class (y, G_N_ELEMENTS (y), 5 * AMIGO_USEC_PER_MIN, 0, &error);
  assert_null (error);
  assert_non_null (m);
  assert_string_equal (amigo_model_name (m), "arima");
  assert_true (amigo_model_forecast (m, 24, 0.95, mean, lower, upper, &error));
  for (gsize h = 0; h < 24; h++) {
    assert_false (isnan (mean[h]) || isnan (lower[h]) || isnan (upper[h]));
    assert_true (fabs (mean[h] - 4.25) < 1e-9);
    assert_true (upper[h] - lower[h] < 1e-9);
  }
}

static void
test_arima_intervals_widen (void **state)
{
  g_autofree double *y = simulate_arma (5.0, 0.5, 0.3, 1000, 5);
  double mean[12], lower[12], upper[12];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = fit_class (y, 1000, AMIGO_USEC_PER_MIN, 0, &error);

  assert_non_null (m);
  assert_true (amigo_model_forecast (m, 12, 0.975, mean, lower, upper, &error));
  for (gsize h = 0; h < 12; h++) {
    assert_true (lower[h] < mean[h] && mean[h] < upper[h]);
    if (h > 0)
      assert_true (upper[h] - lower[h] >= upper[h - 1] - lower[h - 1] - 1e-12);
  }
  assert_true (upper[11] - lower[11] > upper[0] - lower[0]);
  /* the 0.025..0.975 interval of a unit-variance innovation is about +-1.96 */
  assert_true (fabs ((upper[0] - lower[0]) / 2.0 - 1.96) < 0.2);
}

/* Missing samples at the end shift the forecast: the result equals the
 * forecast of the truncated history further ahead. */
static void
test_arima_trailing_gap (void **state)
{
  g_autofree double *y = simulate_arma (1.0, 0.9, 0.0, 500, 6);
  double m1[8], u1[8], m2[5], u2[5];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoArima) full = NULL;
  g_autoptr (AmigoArima) cut = amigo_arima_fit (y, 497, 0, NULL, &error);

  y[497] = y[498] = y[499] = NAN;
  full = amigo_arima_fit (y, 500, 0, NULL, &error);
  assert_non_null (full);
  assert_non_null (cut);
  assert_true (amigo_arima_forecast (cut, 8, 0.9, m1, NULL, u1, &error));
  assert_true (amigo_arima_forecast (full, 5, 0.9, m2, NULL, u2, &error));
  for (gsize h = 0; h < 5; h++) {
    assert_true (fabs (m2[h] - m1[h + 3]) < 1e-9);
    assert_true (fabs (u2[h] - u1[h + 3]) < 1e-9);
  }
}

static void
test_arima_short_gaps_bridged (void **state)
{
  g_autofree double *y = simulate_arma (20.0, 0.6, 0.0, 600, 7);
  double mean[6], upper[6];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = NULL;

  for (gsize i = 100; i < 110; i++)
    y[i] = NAN;
  y[300] = NAN;
  m = fit_class (y, 600, AMIGO_USEC_PER_MIN, 0, &error);
  assert_null (error);
  assert_non_null (m);
  assert_true (amigo_model_forecast (m, 6, 0.9, mean, NULL, upper, &error));
  for (gsize h = 0; h < 6; h++)
    assert_true (isfinite (mean[h]) && isfinite (upper[h]) && fabs (mean[h] - 20.0) < 3.0);
}

/* A daily pattern at 5 min steps: the season is derived from the step and
 * the forecast follows the pattern. */
static void
test_arima_daily_seasonality (void **state)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  gsize n = 2016, h = 48;
  g_autofree double *y = g_new (double, n + h);
  double mean[48], upper[48], err = 0.0;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = NULL;

  gsl_rng_set (rng, 8);
  for (gsize i = 0; i < n + h; i++)
    y[i] = 2.0 + sin (2.0 * G_PI * i / 288.0) + gsl_ran_gaussian (rng, 0.1);
  gsl_rng_free (rng);
  m = fit_class (y, n, 5 * AMIGO_USEC_PER_MIN, 0, &error);
  assert_non_null (m);
  {
    AmigoArimaOrder order;
    amigo_arima_get_order ((const AmigoArima *) m, &order);
    assert_int_equal (order.season, 288);
  }
  assert_true (amigo_model_forecast (m, h, 0.9, mean, NULL, upper, &error));
  for (gsize i = 0; i < h; i++)
    err += fabs (mean[i] - (2.0 + sin (2.0 * G_PI * (n + i) / 288.0)));
  assert_true (err / h < 0.15);
}

/* max_train: only the recent regime counts. */
static void
test_arima_max_train (void **state)
{
  g_autofree double *y = simulate_arma (5.0, 0.3, 0.0, 800, 9);
  double mean[4], upper[4];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = NULL;

  for (gsize i = 0; i < 600; i++)
    y[i] += 1000.0;
  m = fit_class (y, 800, AMIGO_USEC_PER_MIN, 150, &error);
  assert_non_null (m);
  assert_true (amigo_model_forecast (m, 4, 0.9, mean, NULL, upper, &error));
  for (gsize i = 0; i < 4; i++)
    assert_true (fabs (mean[i] - 5.0) < 2.0);
}

static void
assert_fit_error (const double *y, gsize n, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = fit_class (y, n, AMIGO_USEC_PER_MIN, 0, &error);

  assert_null (m);
  assert_non_null (error);
  assert_true (g_error_matches (error, AMIGO_ERROR, code));
  assert_true (strlen (error->message) > 10);
}

static void
test_arima_hopeless_inputs (void **state)
{
  double y[100];

  for (gsize i = 0; i < 100; i++)
    y[i] = NAN;
  assert_fit_error (y, 100, AMIGO_ERROR_INSUFFICIENT_HISTORY);   /* all missing */
  assert_fit_error (y, 0, AMIGO_ERROR_INSUFFICIENT_HISTORY);     /* empty */
  for (gsize i = 0; i < 100; i++)
    y[i] = 1.0 + (i % 7);
  assert_fit_error (y, 5, AMIGO_ERROR_INSUFFICIENT_HISTORY);     /* too short */
  y[50] = INFINITY;
  assert_fit_error (y, 100, AMIGO_ERROR_BAD_DATA);
  y[50] = -INFINITY;
  assert_fit_error (y, 100, AMIGO_ERROR_BAD_DATA);
  y[50] = 1e300;
  assert_fit_error (y, 100, AMIGO_ERROR_BAD_DATA);
  y[50] = 3.0;
  /* a gap too long at the end: the forecast would start from stale data */
  for (gsize i = 70; i < 100; i++)
    y[i] = NAN;
  assert_fit_error (y, 100, AMIGO_ERROR_INSUFFICIENT_HISTORY);
}

static void
test_arima_bad_forecast_args (void **state)
{
  g_autofree double *y = simulate_arma (0.0, 0.5, 0.0, 200, 10);
  double mean[3], upper[3];
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoModel) m = fit_class (y, 200, AMIGO_USEC_PER_MIN, 0, &error);

  assert_non_null (m);
  assert_false (amigo_model_forecast (m, 3, 1.5, mean, NULL, upper, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_arima_recovers_ar1),
    cmocka_unit_test (test_arima_recovers_arma11),
    cmocka_unit_test (test_arima_auto_on_ar1),
    cmocka_unit_test (test_arima_random_walk_gets_d1),
    cmocka_unit_test (test_arima_constant_series),
    cmocka_unit_test (test_arima_intervals_widen),
    cmocka_unit_test (test_arima_trailing_gap),
    cmocka_unit_test (test_arima_short_gaps_bridged),
    cmocka_unit_test (test_arima_daily_seasonality),
    cmocka_unit_test (test_arima_max_train),
    cmocka_unit_test (test_arima_hopeless_inputs),
    cmocka_unit_test (test_arima_bad_forecast_args),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
