/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The baselines "last", "seasonal_naive", "peak" and "vpa" on hand-built
 * series whose answer is computed by hand in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "amigo-error.h"
#include "amigo-model-vpa.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"

#define STEP_5MIN (5 * AMIGO_USEC_PER_MIN)
#define EPS 1e-9

static AmigoModel *
fit (const char *name, const double *v, gsize n, gint64 step_usec, const AmigoModelOptions *opts, GError **error)
{
  const AmigoModelClass *klass = amigo_model_class_lookup (name);
  AmigoSeries s = { 1700000000 * AMIGO_USEC_PER_SEC, step_usec, n, v };

  assert_non_null (klass);
  return amigo_model_fit (klass, &s, opts, error);
}

static void
forecast (const AmigoModel *m, gsize horizon, double q, double *mean, double *lower, double *upper)
{
  g_autoptr(GError) error = NULL;

  assert_true (amigo_model_forecast (m, horizon, q, mean, lower, upper, &error));
  assert_null (error);
}

/* ---- last ---------------------------------------------------------------- */

static void
test_last_skips_missing_tail (void **state)
{
  const double v[] = { 1.0, 2.0, 3.0, 7.0, NAN, NAN };
  g_autoptr(AmigoModel) m = fit ("last", v, G_N_ELEMENTS (v), STEP_5MIN, NULL, NULL);
  double mean[4], lower[4], upper[4];

  assert_non_null (m);
  forecast (m, 4, 0.9, mean, lower, upper);
  for (int h = 0; h < 4; h++) {
    assert_float_equal (mean[h], 7.0, EPS);
    assert_true (lower[h] <= mean[h] && mean[h] <= upper[h]);
  }
}

/* Alternating 0, 2, 0, 2, ...: every 1-step change is +2 or -2, so the 90%
 * upper bound one step ahead is last + 2; every 2-step change is 0, so two
 * steps ahead the bound is the last value itself. */
static void
test_last_interval_from_h_step_changes (void **state)
{
  double v[40];
  g_autoptr(AmigoModel) m = NULL;
  double mean[2], lower[2], upper[2];

  for (int i = 0; i < 40; i++)
    v[i] = (i % 2) * 2.0; /* ends on 2 */
  m = fit ("last", v, 40, STEP_5MIN, NULL, NULL);
  assert_non_null (m);
  forecast (m, 2, 0.9, mean, lower, upper);
  assert_float_equal (mean[0], 2.0, EPS);
  assert_float_equal (upper[0], 4.0, EPS);
  assert_float_equal (lower[0], 0.0, EPS);
  assert_float_equal (upper[1], 2.0, EPS);
  assert_float_equal (lower[1], 2.0, EPS);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Reference: sort, then interpolate between order statistics (type 7). */
static double
sorted_quantile (double *v, gsize n, double q)
{
  double pos = q * (double) (n - 1);
  gsize k = (gsize) floor (pos);

  qsort (v, n, sizeof (double), cmp_double);
  return k + 1 < n ? v[k] + (pos - (double) k) * (v[k + 1] - v[k]) : v[k];
}

/* On a long noisy series the bounds are exactly the empirical quantiles of
 * the h-step changes, as a sort would give them, for central and extreme
 * quantiles alike. */
static void
test_last_interval_matches_sorted_quantiles (void **state)
{
  const gsize n = 1000;
  g_autofree double *v = g_new (double, n);
  g_autofree double *d = g_new (double, n);
  const double qs[] = { 0.6, 0.9, 0.95, 0.999 };
  guint64 s = 99;

  for (gsize i = 0; i < n; i++) {
    s = s * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
    v[i] = 3.0 + sin ((double) i / 30.0) + pow ((double) (s >> 11) / 9007199254740992.0, 3.0) * 4.0;
  }
  for (gsize qi = 0; qi < G_N_ELEMENTS (qs); qi++) {
    g_autoptr(AmigoModel) m = fit ("last", v, n, STEP_5MIN, NULL, NULL);
    double mean[12], lower[12], upper[12];

    forecast (m, 12, qs[qi], mean, lower, upper);
    for (gsize h = 1; h <= 12; h++) {
      gsize nd = 0;
      double hi, lo;

      for (gsize t = 0; t + h < n; t++)
        d[nd++] = v[t + h] - v[t];
      hi = sorted_quantile (d, nd, qs[qi]);
      lo = sorted_quantile (d, nd, 1.0 - qs[qi]);
      assert_float_equal (upper[h - 1], v[n - 1] + MAX (hi, 0.0), 1e-12);
      assert_float_equal (lower[h - 1], v[n - 1] + MIN (lo, 0.0), 1e-12);
    }
  }
}

/* A mostly idle CPU series (a few levels, so most h-step changes are
 * exactly 0 and the rest a handful of tied values): the bounds are still
 * exactly the sorted quantiles (the selection partitions three ways, and
 * ties must land on the right side of every rank). */
static void
test_last_interval_on_tied_changes (void **state)
{
  const gsize n = 2016;
  g_autofree double *v = g_new (double, n);
  g_autofree double *d = g_new (double, n);
  const double qs[] = { 0.6, 0.9, 0.95, 0.99 };
  guint64 s = 7;

  for (gsize i = 0; i < n; i++) {
    s = s * G_GUINT64_CONSTANT (6364136223846793005) + G_GUINT64_CONSTANT (1442695040888963407);
    v[i] = (s >> 61) == 0 ? 0.5 * (double) ((s >> 57) & 3) : 1.0;
  }
  for (gsize qi = 0; qi < G_N_ELEMENTS (qs); qi++) {
    g_autoptr(AmigoModel) m = fit ("last", v, n, STEP_5MIN, NULL, NULL);
    double mean[12], lower[12], upper[12];

    forecast (m, 12, qs[qi], mean, lower, upper);
    for (gsize h = 1; h <= 12; h++) {
      gsize nd = 0;

      /* the model reads the last 1008 samples */
      for (gsize t = n - 1008; t + h < n; t++)
        d[nd++] = v[t + h] - v[t];
      assert_float_equal (upper[h - 1], v[n - 1] + MAX (sorted_quantile (d, nd, qs[qi]), 0.0), 1e-12);
      assert_float_equal (lower[h - 1], v[n - 1] + MIN (sorted_quantile (d, nd, 1.0 - qs[qi]), 0.0), 1e-12);
    }
  }
}

static void
test_bad_inputs_rejected (void **state)
{
  const char *names[] = { "last", "seasonal_naive", "peak", "vpa" };
  const double nans[] = { NAN, NAN, NAN };
  const double inf[] = { 1.0, INFINITY, 2.0 };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    g_autoptr(AmigoModel) m1 = fit (names[i], nans, 3, STEP_5MIN, NULL, &e1);
    g_autoptr(AmigoModel) m2 = fit (names[i], nans, 0, STEP_5MIN, NULL, &e2);
    g_autoptr(AmigoModel) m3 = fit (names[i], inf, 3, STEP_5MIN, NULL, &e3);

    assert_null (m1);
    assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
    assert_non_null (strstr (e1->message, "missing"));
    assert_null (m2);
    assert_true (g_error_matches (e2, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
    assert_non_null (strstr (e2->message, "empty"));
    assert_null (m3);
    assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    assert_non_null (strstr (e3->message, "infinite"));
  }
}

/* ---- seasonal naive -------------------------------------------------------- */

/* Season 4: 1 2 3 4 | 1 2 3 4 | 5 6 7 8. The forecast repeats the last
 * season: 5 6 7 8 5 6 7 8. Seasonal differences are 0 0 0 0 4 4 4 4; their
 * 90% quantile (position 0.9 * 7 = 6.3 in the sorted list) is 4, so the upper
 * bound is mean + 4 in the first season ahead and mean + 4 * sqrt(2) in the
 * second; their 10% quantile is 0, so lower = mean. */
static void
test_seasonal_naive_repeats_last_season (void **state)
{
  const double v[] = { 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8 };
  AmigoModelOptions opts = { .season = 4 };
  g_autoptr(AmigoModel) m = fit ("seasonal_naive", v, G_N_ELEMENTS (v), STEP_5MIN, &opts, NULL);
  double mean[8], lower[8], upper[8];

  assert_non_null (m);
  forecast (m, 8, 0.9, mean, lower, upper);
  for (int h = 0; h < 8; h++) {
    assert_float_equal (mean[h], 5.0 + h % 4, EPS);
    assert_float_equal (lower[h], mean[h], EPS);
    assert_float_equal (upper[h], mean[h] + (h < 4 ? 4.0 : 4.0 * sqrt (2.0)), 1e-9);
  }
}

/* A gap in the last season takes the same phase one season earlier. */
static void
test_seasonal_naive_gap_uses_earlier_season (void **state)
{
  const double v[] = { 1, 2, 3, 4, 10, 20, 30, 40, 11, NAN, 31, 41 };
  AmigoModelOptions opts = { .season = 4 };
  g_autoptr(AmigoModel) m = fit ("seasonal_naive", v, G_N_ELEMENTS (v), STEP_5MIN, &opts, NULL);
  double mean[4], upper[4];

  assert_non_null (m);
  forecast (m, 4, 0.9, mean, NULL, upper);
  assert_float_equal (mean[0], 11.0, EPS);
  assert_float_equal (mean[1], 20.0, EPS);
  assert_float_equal (mean[2], 31.0, EPS);
  assert_float_equal (mean[3], 41.0, EPS);
}

/* Default season = one day of the step (288 at 5 min); 100 samples are less
 * than a season, so the model falls back to the last value. */
static void
test_seasonal_naive_short_history_falls_back_to_last (void **state)
{
  double v[100];
  g_autoptr(AmigoModel) m = NULL;
  double mean[3], upper[3];

  for (int i = 0; i < 100; i++)
    v[i] = i;
  m = fit ("seasonal_naive", v, 100, STEP_5MIN, NULL, NULL);
  assert_non_null (m);
  forecast (m, 3, 0.9, mean, NULL, upper);
  for (int h = 0; h < 3; h++) {
    assert_float_equal (mean[h], 99.0, EPS);
    /* a ramp climbs h + 1 in h + 1 steps */
    assert_float_equal (upper[h], 99.0 + h + 1, 1e-9);
  }
}

/* ---- peak ---------------------------------------------------------------- */

/* Hourly samples over two days. A spike of 100 at hour 10 is 37 hours before
 * the last sample: outside the last 24 h, ignored. The last 24 samples are
 * 1..24 except 30 at hour 30: peak 30, mean (300 - 7 + 30) / 24. */
static void
test_peak_is_max_of_last_day (void **state)
{
  double v[48];
  g_autoptr(AmigoModel) m = NULL;
  double mean[6], lower[6], upper[6];

  for (int i = 0; i < 48; i++)
    v[i] = i < 24 ? 5.0 : (double) (i - 23);
  v[10] = 100.0;
  v[30] = 30.0; /* was 7 */
  v[40] = NAN;  /* was 17: missing values are skipped */
  m = fit ("peak", v, 48, AMIGO_USEC_PER_HOUR, NULL, NULL);
  assert_non_null (m);
  forecast (m, 6, 0.95, mean, lower, upper);
  for (int h = 0; h < 6; h++) {
    assert_float_equal (upper[h], 30.0, EPS);
    assert_float_equal (mean[h], (300.0 - 7.0 + 30.0 - 17.0) / 23.0, 1e-9);
    assert_float_equal (lower[h], 1.0, EPS);
  }
}

/* ---- VPA ----------------------------------------------------------------- */

static double
vpa_target (const double *v, gsize n, gint64 step, AmigoResource resource)
{
  AmigoModelOptions opts = { .resource = resource };
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) m = fit ("vpa", v, n, step, &opts, &error);
  double mean[3], lower[3], upper[3];

  assert_non_null (m);
  forecast (m, 3, 0.95, mean, lower, upper);
  /* flat: every step and bound is the recommendation */
  for (int h = 0; h < 3; h++) {
    assert_float_equal (mean[h], upper[h], 0.0);
    assert_float_equal (lower[h], upper[h], 0.0);
    assert_float_equal (upper[h], upper[0], 0.0);
  }
  assert_float_equal (amigo_model_vpa_recommendation (m), upper[0], 0.0);
  return upper[0];
}

/* CPU buckets: first 0.01 cores, each 5% wider, so bucket i starts at
 * 0.01 * (1.05^i - 1) / 0.05 = 0.2 * (1.05^i - 1). 1.0 core falls in bucket
 * floor(ln(1.0 * 0.05 / 0.01 + 1) / ln 1.05) = floor(36.72) = 36, which ends
 * at 0.2 * (1.05^37 - 1) = 1.01628; 4.0 cores: floor(ln 21 / ln 1.05) =
 * floor(62.40) = 62, ending at 0.2 * (1.05^63 - 1) = 4.12470. */
static void
test_vpa_bucket_layout (void **state)
{
  assert_float_equal (amigo_model_vpa_bucket_start (AMIGO_RESOURCE_CPU, 0), 0.0, 0.0);
  assert_float_equal (amigo_model_vpa_bucket_start (AMIGO_RESOURCE_CPU, 1), 0.01, 1e-12);
  assert_float_equal (amigo_model_vpa_bucket_start (AMIGO_RESOURCE_CPU, 2), 0.01 + 0.0105, 1e-12);
  assert_float_equal (amigo_model_vpa_bucket_start (AMIGO_RESOURCE_CPU, 37), 1.01628, 1e-5);
  assert_float_equal (amigo_model_vpa_bucket_start (AMIGO_RESOURCE_MEMORY, 1), 1e7 / AMIGO_BYTES_PER_GIB, 1e-15);
}

/* Hourly CPU samples. Three recent samples of 1.0 core (at the last hour and
 * the two before it: weights 1, 2^(-1/24) = 0.9715, 2^(-2/24) = 0.9439, sum
 * 2.9154) and one spike of 4.0 cores 48 h before the last sample: two
 * half-lives old, it weighs 2^-2 = 0.25. Total 3.1654, 90% of it 2.8489:
 * the running weight reaches it in the bucket of 1.0 (2.9154 >= 2.8489), so
 * the target is that bucket's end 1.01628 * 1.15 = 1.16872 cores. Without
 * decay the spike would be a quarter of the weight and P90 would be 4 cores.
 * The same spike only 3 h old (weight 2^(-3/24) = 0.917, 24% of the total)
 * drives the target to 4.12470 * 1.15 = 4.74340. */
static void
test_vpa_cpu_decay_half_life (void **state)
{
  double v[49];
  double target;

  for (int i = 0; i < 49; i++)
    v[i] = NAN;
  v[0] = 4.0;   /* 48 h before the last sample */
  v[46] = v[47] = v[48] = 1.0;
  target = vpa_target (v, 49, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_CPU);
  assert_float_equal (target, 0.2 * (pow (1.05, 37) - 1.0) * 1.15, 1e-9);
  assert_float_equal (target, 1.16872, 1e-5);

  v[0] = NAN;
  v[45] = 4.0;  /* 3 h before the last sample */
  target = vpa_target (v, 49, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_CPU);
  assert_float_equal (target, 0.2 * (pow (1.05, 63) - 1.0) * 1.15, 1e-9);
  assert_float_equal (target, 4.74340, 1e-5);
}

/* VPA's floor: 25 millicores. A VM idling at 0.001 core gets 0.025. */
static void
test_vpa_cpu_floor (void **state)
{
  double v[12];

  for (int i = 0; i < 12; i++)
    v[i] = 0.001;
  assert_float_equal (vpa_target (v, 12, STEP_5MIN, AMIGO_RESOURCE_CPU), 0.025, 1e-12);
}

/* Memory (GiB), hourly over 10 days (240 samples). VPA keeps 8 days: the
 * samples from index 48 on, in daily intervals [48 + 24k, 72 + 24k) whose
 * peak counts once, timestamped at the interval's end (k = 0..7). The base
 * level is 2 GiB; days 0-3 of the window peak at 4 GiB, days 4-7 at 3 GiB;
 * a 20 GiB spike on the first day of the trace is older than 8 days and
 * ignored. Peak weights 2^(k - 7): days 0-3 sum 1/128 + 1/64 + 1/32 + 1/16 =
 * 0.1172, days 4-7 sum 1/8 + 1/4 + 1/2 + 1 = 1.875; total 1.9922, 90% of it
 * 1.7930 is reached in the 3 GiB bucket (1.875). 3 GiB = 3221225472 bytes:
 * bucket floor(ln(3221225472 * 0.05 / 1e7 + 1) / ln 1.05) = floor(58.20) = 58,
 * ending at 1e7 * (1.05^59 - 1) / 0.05 bytes = 3.12733 GiB; target 1.15 times
 * that = 3.59642 GiB. Without the decay the 4 GiB days would be half the
 * weight; with the mean instead of daily peaks the target would be ~2 GiB. */
static void
test_vpa_memory_daily_peaks (void **state)
{
  double v[240];
  double target, bucket_end;

  for (int i = 0; i < 240; i++)
    v[i] = 2.0;
  v[5] = 20.0;
  for (int k = 0; k < 8; k++)
    v[48 + 24 * k + 12] = k < 4 ? 4.0 : 3.0;
  target = vpa_target (v, 240, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_MEMORY);
  bucket_end = 1e7 * (pow (1.05, 59) - 1.0) / 0.05 / AMIGO_BYTES_PER_GIB;
  assert_float_equal (target, bucket_end * 1.15, 1e-9);
  assert_float_equal (target, 3.59642, 1e-5);

  /* a 5 GiB peak on the most recent day outweighs everything older */
  v[48 + 24 * 7 + 20] = 5.0;
  target = vpa_target (v, 240, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_MEMORY);
  assert_true (target > 5.0 * 1.15 && target < 5.0 * 1.05 * 1.15);
}

/* Network (Mbit/s) is treated like CPU, with room above 1000: a link busy at
 * 5000 Mbit/s gets 5000's bucket end (within 5% above it) plus 15%, not a
 * value clipped at VPA's 1000-core CPU maximum. No floor applies. */
static void
test_vpa_network_like_cpu (void **state)
{
  double v[24], target;

  for (int i = 0; i < 24; i++)
    v[i] = 5000.0;
  target = vpa_target (v, 24, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_NETWORK);
  assert_true (target > 5000.0 * 1.15 && target <= 5000.0 * 1.05 * 1.15);
  for (int i = 0; i < 24; i++)
    v[i] = 0.001;
  target = vpa_target (v, 24, AMIGO_USEC_PER_HOUR, AMIGO_RESOURCE_NETWORK);
  assert_true (target < 0.025);
}

/* Every registered baseline is found by name. */
static void
test_registry_lists_baselines (void **state)
{
  const char *names[] = { "last", "seasonal_naive", "peak", "vpa", "lstm" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    const AmigoModelClass *klass = amigo_model_class_lookup (names[i]);

    assert_non_null (klass);
    assert_string_equal (klass->name, names[i]);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_last_skips_missing_tail),
    cmocka_unit_test (test_last_interval_from_h_step_changes),
    cmocka_unit_test (test_last_interval_matches_sorted_quantiles),
    cmocka_unit_test (test_last_interval_on_tied_changes),
    cmocka_unit_test (test_bad_inputs_rejected),
    cmocka_unit_test (test_seasonal_naive_repeats_last_season),
    cmocka_unit_test (test_seasonal_naive_gap_uses_earlier_season),
    cmocka_unit_test (test_seasonal_naive_short_history_falls_back_to_last),
    cmocka_unit_test (test_peak_is_max_of_last_day),
    cmocka_unit_test (test_vpa_bucket_layout),
    cmocka_unit_test (test_vpa_cpu_decay_half_life),
    cmocka_unit_test (test_vpa_cpu_floor),
    cmocka_unit_test (test_vpa_memory_daily_peaks),
    cmocka_unit_test (test_vpa_network_like_cpu),
    cmocka_unit_test (test_registry_lists_baselines),
  };
  return cmocka_run_group_tests_name ("model-baselines", tests, NULL, NULL);
}
