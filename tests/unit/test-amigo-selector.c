/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <time.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-selector.h"
#include "amigo-selector-private.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define DAY 288
#define H 12

static double
noise (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return ((*state >> 8) / (double) (1u << 24)) * 2.0 - 1.0;
}

static gboolean
forecast (AmigoSelector *sel, const double *v, gsize n, AmigoWindowForecast *fc)
{
  AmigoSeries s = { 0, STEP, n, v };
  g_autoptr(GError) error = NULL;
  gboolean ok = amigo_selector_forecast (sel, &s, H, fc, &error);
  if (!ok)
    fail_msg ("forecast failed: %s", error->message);
  return ok;
}

/* With registered models competing (off by default), whatever their fits
 * cost (under valgrind a fit of the test doubles exceeds the budget). */
static AmigoSelector *
registry_selector (void)
{
  AmigoSelectorOptions o;
  amigo_selector_options_init (&o);
  o.registry_origins = 19;
  o.model_budget_usec = 0;
  return amigo_selector_new (&o);
}

static AmigoSelector *
builtin_selector (void)
{
  AmigoSelectorOptions o;
  amigo_selector_options_init (&o);
  o.registry_origins = 0;
  return amigo_selector_new (&o);
}

/* A daily job: one hour at 6 cores every afternoon, 1 core otherwise. Only
 * a seasonal method sees the job coming. */
static void
test_seasonal_beats_last (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  g_autoptr(AmigoSelector) sel = builtin_selector ();
  AmigoWindowForecast fc;
  guint32 s = 7;
  gsize job = 14 * 12; /* 14:00 */

  for (gsize i = 0; i < n; i++)
    v[i] = ((i % DAY) >= job && (i % DAY) < job + H ? 6.0 : 1.0) + 0.05 * noise (&s);
  /* the history ends just before today's job */
  assert_true (forecast (sel, v, 7 * DAY + job, &fc));
  assert_true (strstr (fc.model, "seasonal") != NULL || strstr (fc.model, "mix") != NULL);
  assert_true (fc.window_upper >= 6.0);
  /* and it is not a blanket reservation: outside the job the bound drops */
  {
    g_autoptr(AmigoSelector) sel2 = builtin_selector ();
    assert_true (forecast (sel2, v, 7 * DAY + job + 3 * H, &fc));
    assert_true (fc.window_upper < 3.0);
  }
}

/* Flat noise: a fancy model that memorised the past (an "overfit" test
 * double) must not be chosen; the built-in bound stays near the true
 * window-peak quantile. */
typedef struct {
  AmigoModel parent;
  double value;
} OverfitModel;

static const AmigoModelClass overfit_class;
static const AmigoModelClass cycle_class;

static AmigoModel *
overfit_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  OverfitModel *m = g_new0 (OverfitModel, 1);
  m->parent.klass = &overfit_class;
  /* "remembers" a pattern of period 7 blocks from the training data */
  m->value = history->values[history->n_values >= 7 ? history->n_values - 7 : 0];
  return &m->parent;
}

static gboolean
overfit_forecast (const AmigoModel *model, gsize horizon, double q, double *mean, double *lower, double *upper,
                  GError **error)
{
  for (gsize i = 0; i < horizon; i++)
    mean[i] = upper[i] = ((const OverfitModel *) model)->value;
  return TRUE;
}

static void
overfit_free (AmigoModel *model)
{
  g_free (model);
}

static const AmigoModelClass overfit_class = { "overfit", 2, overfit_fit, overfit_forecast, overfit_free };

/* A model that knows the true 5-hour cycle of window peaks. */
static AmigoModel *
cycle_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  OverfitModel *m = g_new0 (OverfitModel, 1);
  m->parent.klass = &cycle_class;
  m->value = history->values[history->n_values - 5];
  return &m->parent;
}

static const AmigoModelClass cycle_class = { "cycle5h", 6, cycle_fit, overfit_forecast, overfit_free };

static void
test_flat_noise_not_overfit (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  const AmigoModelClass *classes[] = { &overfit_class, NULL };
  g_autoptr(AmigoSelector) sel = registry_selector ();
  AmigoWindowForecast fc;
  guint32 s = 11;

  for (gsize i = 0; i < n; i++)
    v[i] = 10.0 + noise (&s);
  amigo_selector_set_classes (sel, classes);
  assert_true (forecast (sel, v, n, &fc));
  assert_string_not_equal (fc.model, "overfit");
  /* peak of 12 uniform(-1, 1) draws is above 9.76 with p = 0.95^(1/12)...:
   * the 0.95 bound of the window peak is essentially 11 */
  assert_true (fc.window_upper > 10.7 && fc.window_upper < 11.3);
}

/* Where a registered model is clearly right, it wins over the built-ins. */
static void
test_registered_model_wins_when_right (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  const AmigoModelClass *classes[] = { &overfit_class, &cycle_class, NULL };
  g_autoptr(AmigoSelector) sel = registry_selector ();
  AmigoWindowForecast fc;
  guint32 s = 13;

  /* window peaks follow a 5-hour cycle (1, 2, 8, 3, 1 cores), which no
   * daily or recent estimator follows; aligned on the end of the history */
  for (gsize i = 0; i < n; i++) {
    static const double level[] = { 1, 2, 8, 3, 1 };
    gsize block = (n - 1 - i) / H;
    v[i] = level[(5 - block % 5) % 5] * (0.95 + 0.05 * noise (&s));
  }
  amigo_selector_set_classes (sel, classes);
  assert_true (forecast (sel, v, n, &fc));
  assert_string_equal (fc.model, "cycle5h");
}

/* Coverage of window peaks on a noisy daily series is close to the quantile. */
static void
test_coverage_close_to_quantile (void **state)
{
  const gsize n = 30 * DAY;
  g_autofree double *v = g_new (double, n);
  g_autoptr(AmigoSelector) sel = builtin_selector ();
  guint32 s = 17;
  double ar = 0.0;
  gsize covered = 0, total = 0;

  for (gsize i = 0; i < n; i++) {
    ar = 0.9 * ar + 0.3 * noise (&s);
    v[i] = 3.0 + 1.5 * sin (2 * G_PI * i / DAY) + ar + 0.2 * noise (&s);
  }
  for (gsize o = 8 * DAY; o + H <= n; o += 6) {
    AmigoWindowForecast fc;
    double peak = -INFINITY;
    assert_true (forecast (sel, v, o, &fc));
    for (gsize i = o; i < o + H; i++)
      peak = fmax (peak, v[i]);
    covered += peak <= fc.window_upper;
    total++;
  }
  assert_true ((double) covered / total > 0.91);
  assert_true ((double) covered / total < 0.99);
}

/* The coverage reported is the backtest's: the calibrated bound covers
 * about the quantile of the past week's windows (in-sample, so not
 * below it); the class prior has no backtest and says so. */
static void
test_reports_backtest_coverage (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  g_autoptr(AmigoSelector) sel = builtin_selector ();
  g_autoptr(AmigoSelector) young = builtin_selector ();
  AmigoWindowForecast fc;
  guint32 s = 31;
  double ar = 0.0;

  for (gsize i = 0; i < n; i++) {
    ar = 0.9 * ar + 0.3 * noise (&s);
    v[i] = 3.0 + 1.5 * sin (2 * G_PI * i / DAY) + ar;
  }
  assert_true (forecast (sel, v, n, &fc));
  assert_true (g_str_has_prefix (fc.model, "median:"));
  assert_true (fc.coverage >= 0.95 && fc.coverage < 0.995);
  assert_true (forecast (young, v, 3, &fc));
  assert_true (isnan (fc.score));
  assert_true (isnan (fc.coverage));
}

/* Memory-like series: a level that jumps every ~31 hours to a new value
 * between 2 and 14 GiB, with small noise. The bound must follow the current
 * level (cover the next hour's peak about as often as asked) and stay far
 * leaner than the 24-hour peak, which remembers yesterday's high level. */
static void
test_tracks_level_shifts (void **state)
{
  const gsize n = 24 * DAY;
  g_autofree double *v = g_new (double, n);
  g_autoptr(AmigoSelector) sel = builtin_selector ();
  guint32 s = 23;
  double level = 4.0, slack = 0.0, slack_peak = 0.0;
  gsize covered = 0, total = 0;

  for (gsize i = 0; i < n; i++) {
    if (i % 375 == 0)
      level = 8.0 + 6.0 * noise (&s);
    v[i] = level + 0.1 * noise (&s);
  }
  for (gsize o = 8 * DAY; o + H <= n; o += 7) {
    AmigoWindowForecast fc;
    double peak = -INFINITY, day_peak = -INFINITY;
    assert_true (forecast (sel, v, o, &fc));
    for (gsize i = o; i < o + H; i++)
      peak = fmax (peak, v[i]);
    for (gsize i = o - DAY; i < o; i++)
      day_peak = fmax (day_peak, v[i]);
    covered += peak <= fc.window_upper;
    slack += fc.window_upper - peak;
    slack_peak += day_peak - peak;
    total++;
  }
  /* level jumps within the hour are 1 window in 31: misses near 1 - q */
  assert_true ((double) covered / total > 0.9);
  assert_true ((double) covered / total < 0.995);
  assert_true (slack < 0.1 * slack_peak);
}

/* Repeated calls on a growing history reuse the choice until a day of new
 * data has arrived. */
static void
test_reuse_until_stale (void **state)
{
  const gsize n = 10 * DAY;
  g_autofree double *v = g_new (double, n);
  g_autoptr(AmigoSelector) sel = amigo_selector_new (NULL);
  AmigoWindowForecast fc;
  guint32 s = 19;

  for (gsize i = 0; i < n; i++)
    v[i] = 2.0 + sin (2 * G_PI * i / DAY) + 0.1 * noise (&s);
  assert_true (forecast (sel, v, 7 * DAY, &fc));
  assert_true (amigo_selector_last_reselected (sel));
  assert_true (forecast (sel, v, 7 * DAY + 48, &fc));
  assert_false (amigo_selector_last_reselected (sel));
  assert_true (forecast (sel, v, 8 * DAY + 1, &fc));
  assert_true (amigo_selector_last_reselected (sel));
}

/* Too short to backtest: the class prior, marked by a NAN score. */
static void
test_short_history_uses_prior (void **state)
{
  double v[10] = { 1, 2, 1, 3, 2, 1, 2, 2, 1, 2 };
  g_autoptr(AmigoSelector) sel = amigo_selector_new (NULL);
  AmigoWindowForecast fc;

  assert_true (forecast (sel, v, G_N_ELEMENTS (v), &fc));
  assert_true (isnan (fc.score));
  assert_true (fc.window_upper >= 3.0);
}

/* A young VM that has burnt about one core for ten minutes: the class
 * prior's headroom (its inflation times the spread so far) stays on top of
 * the peak; the bound is not cut back to those ten minutes' maximum. */
static void
test_prior_keeps_its_headroom (void **state)
{
  double v[2] = { 0.9, 1.0 };
  const AmigoWorkloadPrior *prior = amigo_workload_class_prior (AMIGO_WORKLOAD_CLASS_UNKNOWN);
  double spread = sqrt (0.005);   /* sample standard deviation of 0.9 and 1.0 */
  g_autoptr(AmigoSelector) sel = amigo_selector_new (NULL);
  AmigoWindowForecast fc;

  assert_true (forecast (sel, v, G_N_ELEMENTS (v), &fc));
  assert_true (isnan (fc.score));
  assert_string_equal (fc.model, "conformal_day_peak");
  assert_true (fabs (fc.window_upper - (1.0 + prior->inflation * spread)) < 1e-9);
  assert_true (fc.window_upper > 1.1);
}

/* Half a day behind: the backtest has about 10 independent windows, too
 * few for the 0.95 rank, so the bound does not go below the peak seen so
 * far, even a spike older than every backtest window; a week later, with
 * the spike recurring daily, the hours after it get a lean bound. */
static void
test_short_backtest_keeps_the_peak (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  AmigoWindowForecast fc;
  guint32 s = 23;

  for (gsize i = 0; i < n; i++)
    v[i] = 1.0 + 0.2 * noise (&s) + (i % DAY == 5 ? 4.0 : 0.0);
  {
    g_autoptr(AmigoSelector) sel = builtin_selector ();
    assert_true (forecast (sel, v, DAY / 2, &fc));
    assert_false (isnan (fc.score));
    assert_true (fc.window_upper >= 5.0 - 0.2);
  }
  {
    /* a week on, the window after the daily spike is far from it */
    g_autoptr(AmigoSelector) sel = builtin_selector ();
    assert_true (forecast (sel, v, 7 * DAY + DAY / 2, &fc));
    assert_true (fc.window_upper < 2.0);
  }
}

/* A daily job whose peak grows each day sets a new record every day, on a
 * ramp that touches it once: the bound follows it above the week's maximum.
 * A VM that keeps hitting the same ceiling (a saturated CPU) is never
 * reserved above it. */
static void
test_cap_only_at_a_ceiling (void **state)
{
  const gsize n = 8 * DAY, ramp = 36;
  g_autofree double *v = g_new (double, n);
  AmigoWindowForecast fc;
  gsize job = 14 * 12;  /* 14:00 */
  guint32 s = 29;

  for (gsize i = 0; i < n; i++) {
    gsize k = i % DAY - job;
    double top = 2.0 + (double) (i / DAY);   /* 2 on the first day, 9 on the eighth */
    v[i] = 1.0 + 0.05 * noise (&s);
    if (i % DAY >= job && k < ramp)
      v[i] = 1.0 + (top - 1.0) * (double) (k + 1) / ramp;
  }
  {
    g_autoptr(AmigoSelector) sel = builtin_selector ();
    /* the window holding the eighth day's peak (9): above the week's maximum, 8 */
    assert_true (forecast (sel, v, 7 * DAY + job + ramp - H, &fc));
    assert_true (fc.window_upper > 8.2);
  }
  /* on/off between idle and a ceiling of 4 cores, hours at a time */
  for (gsize i = 0; i < n; i++)
    v[i] = ((i / 30) % 3 == 0) ? 4.0 - 0.02 * fabs (noise (&s)) : 0.1 + 0.05 * fabs (noise (&s));
  for (gsize end = 7 * DAY; end < n; end += 37) {
    g_autoptr(AmigoSelector) sel = builtin_selector ();
    assert_true (forecast (sel, v, end, &fc));
    assert_true (fc.window_upper <= 4.0);
  }
}

static void
test_bad_input (void **state)
{
  double nans[300];
  AmigoSelectorOptions o;
  g_autoptr(AmigoSelector) sel = amigo_selector_new (NULL);
  g_autoptr(AmigoSelector) badq = NULL;
  AmigoWindowForecast fc;
  AmigoSeries s = { 0, STEP, G_N_ELEMENTS (nans), nans };
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (nans); i++)
    nans[i] = NAN;
  assert_false (amigo_selector_forecast (sel, &s, H, &fc, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  g_clear_error (&error);
  s.n_values = 0;
  assert_false (amigo_selector_forecast (sel, &s, H, &fc, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY));
  g_clear_error (&error);
  nans[0] = 1.0;
  s.n_values = 1;
  assert_false (amigo_selector_forecast (sel, &s, 0, &fc, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  s.step_usec = 0;
  assert_false (amigo_selector_forecast (sel, &s, H, &fc, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  s.step_usec = STEP;
  amigo_selector_options_init (&o);
  o.quantile = 1.5;
  badq = amigo_selector_new (&o);
  assert_false (amigo_selector_forecast (badq, &s, H, &fc, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "1.5"));
}

/* With the real registry, whatever models exist, the answer is finite. */
static void
test_registry_finite (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  AmigoSelectorOptions o;
  g_autoptr(AmigoSelector) sel = NULL;
  AmigoWindowForecast fc;
  guint32 s = 23;

  amigo_selector_options_init (&o);
  o.model_budget_usec = 0;
  o.registry_origins = 3;
  sel = amigo_selector_new (&o);
  for (gsize i = 0; i < n; i++)
    v[i] = 2.0 + sin (2 * G_PI * i / DAY) + 0.1 * noise (&s);
  assert_true (forecast (sel, v, n, &fc));
  /* the next hour rises from 2.0 to 2.0 + sin (2 pi 11 / 288) = 2.24 */
  assert_true (isfinite (fc.window_upper) && fc.window_upper >= 2.24 && fc.window_upper < 4.0);
  assert_true (isfinite (fc.window_mean));
}

/* A model whose first fit in the process is slow (a cold cache) and every
 * later one instant. */
static guint slow_once_fits;

static AmigoModel *
slow_once_fit (const AmigoSeries *history, const AmigoModelOptions *options, GError **error)
{
  if (slow_once_fits++ == 0) {
    /* 5 ms of this thread's CPU time (what the selector measures) */
    clock_t start = clock ();
    volatile double x = 0.0;
    while (clock () - start < CLOCKS_PER_SEC / 200)
      x += 1.0;
  }
  return overfit_fit (history, options, error);
}

static const AmigoModelClass slow_once_class = { "slow_once", 2, slow_once_fit, overfit_forecast, overfit_free };

/* What a model cost in one selector does not decide whether it competes
 * in another: a new selector measures it again (no process-wide state). */
static void
test_model_cost_per_selector (void **state)
{
  const gsize n = 8 * DAY;
  g_autofree double *v = g_new (double, n);
  const AmigoModelClass *classes[] = { &slow_once_class, NULL };
  AmigoSelectorOptions o;
  AmigoWindowForecast fc;
  guint32 s = 29;
  guint before;

  for (gsize i = 0; i < n; i++)
    v[i] = 2.0 + sin (2 * G_PI * i / DAY) + 0.1 * noise (&s);
  amigo_selector_options_init (&o);
  o.registry_origins = 19;
  o.model_budget_usec = 200;
  {
    g_autoptr(AmigoSelector) first = amigo_selector_new (&o);
    amigo_selector_set_classes (first, classes);
    assert_true (forecast (first, v, n, &fc));
    /* over the budget at its first fit: left out after one fit */
    assert_int_equal (slow_once_fits, 1);
  }
  before = slow_once_fits;
  {
    g_autoptr(AmigoSelector) second = amigo_selector_new (&o);
    amigo_selector_set_classes (second, classes);
    assert_true (forecast (second, v, n, &fc));
  }
  /* measured again, found cheap, backtested at every origin */
  assert_int_equal (slow_once_fits - before, 19);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_seasonal_beats_last),
    cmocka_unit_test (test_flat_noise_not_overfit),
    cmocka_unit_test (test_registered_model_wins_when_right),
    cmocka_unit_test (test_coverage_close_to_quantile),
    cmocka_unit_test (test_reports_backtest_coverage),
    cmocka_unit_test (test_tracks_level_shifts),
    cmocka_unit_test (test_reuse_until_stale),
    cmocka_unit_test (test_short_history_uses_prior),
    cmocka_unit_test (test_prior_keeps_its_headroom),
    cmocka_unit_test (test_short_backtest_keeps_the_peak),
    cmocka_unit_test (test_cap_only_at_a_ceiling),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_registry_finite),
    cmocka_unit_test (test_model_cost_per_selector),
  };
  return cmocka_run_group_tests_name ("selector", tests, NULL, NULL);
}
