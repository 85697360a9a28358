/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-selector.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-model-private.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"
#include "amigo-selector-private.h"
#include "amigo-stats.h"

/*
 * Model selection and calibration for window peaks. See docs/forecast.md.
 *
 * Every candidate yields a "base" for the peak of the next @horizon steps;
 * its bound is the base corrected by the empirical quantile of what the
 * base missed at past origins on this series (split conformal prediction):
 * either additively (peak - base) or multiplicatively (peak / base). The
 * backtest ranks the candidates by pinball loss; the bound is the median of
 * the better half's bounds, calibrated once more the same way. (Picking the
 * single best candidate chased noise: the lowest in-sample loss of fourteen
 * is optimistic, and on near-idle series a different one wins every day.)
 *
 * The built-in bases are the table of window estimators (amigo-estimator.c),
 * evaluated at every stride-th origin of the last week (at most
 * ORIGIN_BUDGET; O(n) with sliding maxima); one of them,
 * quantile_regression (amigo-estimator-quantreg.c), is learnt from the
 * others. The correction is amigo-conformal.c's. Registered models
 * (amigo_model_classes(), amigo-selector-registry.c) are compared with the
 * median on their own origins. This file runs the selection.
 */

/* Readings of a saturated resource jitter just below its limit (a busy
 * CPU reads 95 to 100 % of its cores): within this fraction of the week's
 * maximum a sample counts as pressing against it. */
#define CEILING_TOLERANCE 0.05
/* Most origins a backtest evaluates: a week of 5-minute origins is 2016;
 * neighbours share all but one value of their window, so every few
 * carry nearly the same information for a fraction of the cost. */
#define ORIGIN_BUDGET 512

struct _AmigoSelector {
  AmigoSelectorOptions options;
  gboolean selected;
  gboolean last_reselected;
  gint64 selected_end_usec;
  gint64 step_usec;
  gsize horizon;
  /* the choice */
  gboolean prior;
  int base;                        /* AmigoEstimatorId, or -1 for a registered model */
  const AmigoModelClass *klass;
  AmigoForm form;
  double offset;
  double ratio_floor;
  double score;
  double coverage;                 /* share of backtest windows covered */
  /* what the fitted estimators learnt (zero for the parameter-free ones) */
  double coef[AMIGO_ESTIMATOR_LAST][AMIGO_ESTIMATOR_MAX_COEF];
  gboolean median;                 /* the bound is the members' median */
  /* too few independent windows behind the correction for its q-rank */
  gboolean short_backtest;
  /* the median's members: their corrections, NAN for a non-member */
  double member_offset[AMIGO_ESTIMATOR_LAST][AMIGO_FORM_LAST];
  char model[32];
  const AmigoModelClass *const *classes;  /* NULL = the registry */
  /* what a registered model's fit cost in this selector's backtests: a
   * model over the budget is not tried again by this selector */
  AmigoModelCost costs[AMIGO_SELECTOR_MAX_COSTS];
};


/* Most origins a backtest evaluates: a week of 5-minute origins is 2016;
 * neighbours share all but one value of their window, so every few
 * carry nearly the same information for a fraction of the cost. */
#define ORIGIN_BUDGET 512

void
amigo_selector_options_init (AmigoSelectorOptions *options)
{
  g_return_if_fail (options != NULL);
  /* the rest is 0: season from the step, seed 0, registered models out */
  *options = (AmigoSelectorOptions) {
    .quantile = 0.95,
    .resource = AMIGO_RESOURCE_CPU,
    .workload = AMIGO_WORKLOAD_CLASS_UNKNOWN,
    .reselect_usec = AMIGO_USEC_PER_DAY,
    .model_budget_usec = 200,
  };
}

AmigoSelector *
amigo_selector_new (const AmigoSelectorOptions *options)
{
  AmigoSelector *self = g_new0 (AmigoSelector, 1);

  if (options != NULL)
    self->options = *options;
  else
    amigo_selector_options_init (&self->options);
  if (self->options.reselect_usec <= 0)
    self->options.reselect_usec = AMIGO_USEC_PER_DAY;
  self->base = -1;
  return self;
}

void
amigo_selector_free (AmigoSelector *self)
{
  g_free (self);
}

void
amigo_selector_set_classes (AmigoSelector *self, const AmigoModelClass *const *classes)
{
  g_return_if_fail (self != NULL);
  self->classes = classes;
  self->selected = FALSE;
}

gboolean
amigo_selector_last_reselected (const AmigoSelector *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->last_reselected;
}

static double
series_spread (const double *v, gsize n)
{
  double mean = 0.0, var = 0.0;
  gsize m = 0;

  for (gsize i = 0; i < n; i++) {
    if (isfinite (v[i])) {
      mean += v[i];
      m++;
    }
  }
  if (m < 2)
    return 0.0;
  mean /= m;
  for (gsize i = 0; i < n; i++) {
    if (isfinite (v[i]))
      var += (v[i] - mean) * (v[i] - mean);
  }
  return sqrt (var / (m - 1));
}

static double
scale_floor (const double *v, gsize from, gsize n)
{
  double sum = 0.0;
  gsize m = 0;

  for (gsize i = from; i < n; i++) {
    if (isfinite (v[i])) {
      sum += fabs (v[i]);
      m++;
    }
  }
  /* Ratios to a base near zero explode: bases are floored at 1 % of the
   * series' mean magnitude (and a tiny absolute value for all-zero ones). */
  return fmax (m > 0 ? 0.01 * sum / m : 0.0, 1e-9);
}

static void
set_name (AmigoSelector *self, const char *name)
{
  g_strlcpy (self->model, name, sizeof (self->model));
}

static void
select_prior (AmigoSelector *self, const double *v, gsize n, gsize h, gsize season)
{
  const AmigoWorkloadPrior *prior = amigo_workload_class_prior (self->options.workload);

  self->prior = TRUE;
  self->median = FALSE;
  self->klass = NULL;
  self->base = AMIGO_ESTIMATOR_DAY_PEAK;
  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
    if (g_strcmp0 (amigo_estimators[k]->name, prior->model) == 0)
      self->base = k;
  }
  self->form = AMIGO_FORM_ADD;
  /* Too short to backtest: the class's estimator plus its inflation times
   * the spread seen so far. */
  self->offset = prior->inflation * series_spread (v, n);
  self->ratio_floor = 0.0;
  self->score = NAN;
  self->coverage = NAN;
  set_name (self, amigo_estimators[self->base]->name);
}

/* Median of the members' bounds at one origin, from their bases there
 * (@bases[k][i]; NULL or NAN where a base is missing). NAN if none. A
 * ratio correction on a base near zero can be many times the series'
 * range: ratio bounds are capped at @cap, the highest value of the week
 * before the origin. */
static double
members_median (const AmigoSelector *self, double *const *bases, gsize i, double cap)
{
  double b[AMIGO_ESTIMATOR_LAST * AMIGO_FORM_LAST];
  guint c = 0;

  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
    for (AmigoForm form = 0; form < AMIGO_FORM_LAST; form++) {
      double u;
      if (!isfinite (self->member_offset[k][form]) || bases[k] == NULL || !isfinite (bases[k][i]))
        continue;
      u = amigo_conformal_apply (form, bases[k][i], self->member_offset[k][form], self->ratio_floor);
      b[c++] = form == AMIGO_FORM_RATIO && isfinite (cap) ? fmin (u, cap) : u;
    }
  }
  /* the upper median for an even count */
  return c > 0 ? amigo_kth_smallest (b, c, c / 2) : NAN;
}

/* Has the series spent at least @count samples of [from, n) within
 * CEILING_TOLERANCE of @ceiling? */
static gboolean
pressed_against (const double *v, gsize from, gsize n, double ceiling, gsize count)
{
  gsize at = 0;

  for (gsize i = from; i < n && at < count; i++)
    at += isfinite (v[i]) && v[i] >= (1.0 - CEILING_TOLERANCE) * ceiling;
  return at >= count;
}

/* The highest value of the week before origin @t. */
static double
week_max (const double *v, gsize t, gsize season)
{
  return amigo_estimator_max_range (v, (gssize) t - (gssize) (AMIGO_BACKTEST_DAYS * season), t);
}

/* The median of the members' bounds at origin @t (values[0..t) known),
 * before its own correction; @cap = week_max (v, t, season). */
static double
median_base_at (const AmigoSelector *self, const double *v, gsize t, gsize h, gsize season, double cap)
{
  double now[AMIGO_ESTIMATOR_LAST], *bases[AMIGO_ESTIMATOR_LAST], b;

  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
    bases[k] = NULL;
    if (!isfinite (self->member_offset[k][AMIGO_FORM_ADD]) && !isfinite (self->member_offset[k][AMIGO_FORM_RATIO]))
      continue;
    now[k] = amigo_estimators[k]->at (v, t, h, season, amigo_estimators[k]->fit != NULL ? self->coef[k] : NULL);
    bases[k] = &now[k];
  }
  b = members_median (self, bases, 0, cap);
  return isfinite (b) ? b : amigo_estimator_last_finite (v, t);
}

static void
reselect (AmigoSelector *self, const double *v, gsize n, gsize h, gsize season)
{
  const AmigoModelClass *const *classes = self->classes != NULL ? self->classes : amigo_model_classes ();
  AmigoBacktest bt = { v, n, h, season, self->options.quantile };
  g_autofree gsize *deque = g_new (gsize, n);
  g_autofree double *max_h = g_new (double, n);
  g_autofree double *max_s = g_new (double, n);
  g_autofree double *max_w = g_new (double, n);
  gsize first, lookback = 0;
  gboolean eligible[AMIGO_ESTIMATOR_LAST];
  AmigoConformalFit best = { AMIGO_FORM_ADD, NAN, INFINITY };
  int best_base = -1;
  g_autofree double *med = NULL;

  self->prior = FALSE;
  self->klass = NULL;
  /* Origins t (first value of the window) run over the last week, where the
   * window [t, t + h) is complete. */
  if (n < 2 * h) {
    select_prior (self, v, n, h, season);
    return;
  }
  first = n - h + 1 > AMIGO_BACKTEST_DAYS * season ? n - h + 1 - AMIGO_BACKTEST_DAYS * season : 0;
  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
    gsize lb = amigo_estimators[k]->lookback (h, season);
    gsize t0 = MAX (first, lb);
    eligible[k] = n - h + 1 > t0 && n - h + 1 - t0 >= amigo_conformal_min_origins (bt.q);
    if (eligible[k])
      lookback = MAX (lookback, lb);
  }
  if (lookback == 0) {
    select_prior (self, v, n, h, season);
    return;
  }
  /* every stride-th origin, aligned on the last one */
  bt.t0 = MAX (first, lookback);
  bt.stride = (n - h - bt.t0) / ORIGIN_BUDGET + 1;
  bt.t0 = (n - h) - ((n - h - bt.t0) / bt.stride) * bt.stride;
  bt.n_origins = (n - h - bt.t0) / bt.stride + 1;
  bt.ratio_floor = scale_floor (v, first, n);
  bt.actual = g_new (double, bt.n_origins);
  bt.scratch = g_new (double, bt.n_origins);
  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++)
    bt.base[k] = eligible[k] ? g_new (double, bt.n_origins) : NULL;

  amigo_estimator_sliding_max (v, n, h, max_h, deque);
  amigo_estimator_sliding_max (v, n, season, max_s, deque);
  amigo_estimator_sliding_max (v, n, AMIGO_BACKTEST_DAYS * season, max_w, deque);
  {
    AmigoEstimatorSlides slides = { max_h, max_s, h, season };
    double last = NAN;
    gsize seen = 0;
    for (gsize i = 0; i < bt.n_origins; i++) {
      gsize t = bt.t0 + i * bt.stride;
      for (; seen < t; seen++) {
        if (isfinite (v[seen]))
          last = v[seen];
      }
      bt.actual[i] = max_h[t + h - 1];
      for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
        if (bt.base[k] != NULL && amigo_estimators[k]->slide != NULL)
          bt.base[k][i] = amigo_estimators[k]->slide (&slides, t, last);
      }
    }
  }
  /* the fitted members learn from the parameter-free ones' backtest */
  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
    if (bt.base[k] != NULL && amigo_estimators[k]->fit != NULL && !amigo_estimators[k]->fit (&bt, v, self->coef[k]))
      g_clear_pointer (&bt.base[k], g_free);
  }

  /* Rank every (base, form) by its calibrated backtest loss; the better
   * half (the best one when there are fewer than three) are the members. */
  {
    double scores[AMIGO_ESTIMATOR_LAST * AMIGO_FORM_LAST], ranked[AMIGO_ESTIMATOR_LAST * AMIGO_FORM_LAST], cut;
    guint n_fits = 0, n_members;

    for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++) {
      for (AmigoForm form = 0; form < AMIGO_FORM_LAST; form++) {
        AmigoConformalFit f = { form, NAN, INFINITY };
        if (bt.base[k] != NULL)
          f = amigo_conformal_calibrate (&bt, bt.base[k], form);
        g_debug ("selector: '%s' form %d score %g offset %g", amigo_estimators[k]->name, form, f.score, f.offset);
        self->member_offset[k][form] = f.offset;
        scores[k * AMIGO_FORM_LAST + form] = f.score;
        if (isfinite (f.score)) {
          ranked[n_fits++] = f.score;
          if (f.score < best.score) {
            best = f;
            best_base = k;
          }
        }
      }
    }
    if (best_base < 0) {
      select_prior (self, v, n, h, season);
      goto out;
    }
    n_members = n_fits < 3 ? 1 : (n_fits + 1) / 2;
    cut = amigo_kth_smallest (ranked, n_fits, n_members - 1);
    for (guint j = 0; j < AMIGO_ESTIMATOR_LAST * AMIGO_FORM_LAST; j++) {
      if (!(scores[j] <= cut))
        self->member_offset[j / AMIGO_FORM_LAST][j % AMIGO_FORM_LAST] = NAN;
    }
  }
  self->ratio_floor = bt.ratio_floor;
  med = g_new (double, bt.n_origins);
  for (gsize i = 0; i < bt.n_origins; i++)
    med[i] = members_median (self, bt.base, i, max_w[bt.t0 + i * bt.stride - 1]);
  best = amigo_conformal_calibrate (&bt, med, AMIGO_FORM_ADD);
  if (!isfinite (best.score)) {
    select_prior (self, v, n, h, season);
    goto out;
  }
  {
    gsize m = 0;
    for (gsize i = 0; i < bt.n_origins; i++)
      m += isfinite (med[i]) && isfinite (bt.actual[i]);
    self->short_backtest = (double) (m * MIN (bt.stride, h)) / h < amigo_conformal_min_origins (bt.q);
  }
  self->median = TRUE;
  self->base = best_base;
  self->form = AMIGO_FORM_ADD;
  self->offset = best.offset;
  self->score = best.score;
  self->coverage = amigo_conformal_coverage (&bt, med, AMIGO_FORM_ADD, best.offset);
  g_snprintf (self->model, sizeof (self->model), "median:%s", amigo_estimators[best_base]->name);
  g_debug ("selector: median of the better half led by '%s', offset %g, score %g%s", amigo_estimators[best_base]->name,
           self->offset, self->score, self->short_backtest ? ", backtest too short: floored at the day's peak" : "");

  /* Registered models on the series of window peaks. */
  if (self->options.registry_origins >= 2 && classes[0] != NULL) {
    guint r = self->options.registry_origins;
    gsize block_season = season % h == 0 ? season / h : 0;
    gsize nb;
    g_autofree double *blocks = amigo_selector_make_blocks (v, n, h, (AMIGO_REGISTRY_TRAIN_DAYS + 1) * MAX (season / h, 1) + r, &nb);
    g_autofree double *uppers = g_new (double, r);
    g_autofree double *builtin_losses = g_new (double, r);
    g_autofree double *losses = g_new (double, r);
    double builtin_loss = 0.0, best_gain = 0.0;
    gboolean have_builtin = nb >= r;

    /* The median on the same origins, with its own calibration. */
    for (guint i = 0; i < r && have_builtin; i++) {
      gsize t = n - (r - i) * h;
      if (t < bt.t0) {
        have_builtin = FALSE;
        break;
      }
      double median = median_base_at (self, v, t, h, season, week_max (v, t, season));
      builtin_losses[i] = amigo_pinball_loss (bt.q, amigo_estimator_max_range (v, t, t + h), amigo_conformal_apply (AMIGO_FORM_ADD, median, best.offset, 0.0));
      builtin_loss += builtin_losses[i] / r;
    }
    for (gsize c = 0; have_builtin && classes[c] != NULL; c++) {
      AmigoConformalFit f;
      double mean_d = 0.0, var_d = 0.0;
      if (!amigo_selector_registry_candidate (classes[c], blocks, nb, (gint64) h * self->step_usec, block_season,
                                              &self->options, r, self->costs, &f, uppers, losses))
        continue;
      /* A registered model replaces the built-in only if it is better by
       * more than chance on these few origins: one-sided paired test at 5 %
       * (mean loss difference above 1.645 standard errors). */
      for (guint i = 0; i < r; i++)
        mean_d += (builtin_losses[i] - losses[i]) / r;
      for (guint i = 0; i < r; i++)
        var_d += (builtin_losses[i] - losses[i] - mean_d) * (builtin_losses[i] - losses[i] - mean_d) / (r - 1);
      g_debug ("selector: model '%s' score %g (built-in median %g, gain %g +- %g)", classes[c]->name, f.score,
               builtin_loss, mean_d, sqrt (var_d / r));
      if (mean_d > 1.645 * sqrt (var_d / r) && mean_d > best_gain) {
        best_gain = mean_d;
        self->klass = classes[c];
        self->median = FALSE;
        self->base = -1;
        self->form = AMIGO_FORM_ADD;
        self->offset = f.offset;
        self->score = f.score;
        self->coverage = 0.0;
        for (guint i = 0; i < r; i++)
          self->coverage += (blocks[nb - r + i] <= fmax (uppers[i] + f.offset, 0.0)) / (double) r;
        set_name (self, classes[c]->name);
      }
    }
  }

out:
  g_free (bt.actual);
  g_free (bt.scratch);
  for (guint k = 0; k < AMIGO_ESTIMATOR_LAST; k++)
    g_free (bt.base[k]);
}

gboolean
amigo_selector_forecast (AmigoSelector *self,
                         const AmigoSeries *history,
                         gsize horizon,
                         AmigoWindowForecast *ret,
                         GError **error)
{
  const double *v;
  gsize n, season, finite = 0;
  gint64 end_usec;
  double base, upper, cap;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (ret != NULL, FALSE);
  if (!(self->options.quantile > 0.5 && self->options.quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "quantile must be in (0.5, 1), got %g", self->options.quantile);
    return FALSE;
  }
  if (history == NULL || (history->n_values > 0 && history->values == NULL)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no history given to the selector");
    return FALSE;
  }
  if (!amigo_model_check_step (history, error))
    return FALSE;
  if (horizon == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "forecast horizon must be at least one step");
    return FALSE;
  }
  v = history->values;
  n = history->n_values;
  for (gsize i = 0; i < n; i++) {
    if (isfinite (v[i]))
      finite++;
  }
  if (finite == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "series '%s' has no usable sample (%" G_GSIZE_FORMAT " values, all missing)",
                 amigo_resource_to_string (self->options.resource), n);
    return FALSE;
  }
  season = self->options.season > 0 ? self->options.season
                                     : (gsize) MAX (AMIGO_USEC_PER_DAY / history->step_usec, 1);
  end_usec = history->start_usec + (gint64) n * history->step_usec;

  self->last_reselected = FALSE;
  if (!self->selected || self->horizon != horizon || self->step_usec != history->step_usec ||
      end_usec < self->selected_end_usec ||
      end_usec - self->selected_end_usec >= self->options.reselect_usec ||
      (self->prior && end_usec != self->selected_end_usec)) {
    self->step_usec = history->step_usec;
    self->horizon = horizon;
    reselect (self, v, n, horizon, season);
    self->selected = TRUE;
    self->selected_end_usec = end_usec;
    self->last_reselected = TRUE;
  }

  cap = week_max (v, n, season);
  if (self->klass != NULL) {
    gsize nb;
    gsize block_season = season % horizon == 0 ? season / horizon : 0;
    gsize train_max = AMIGO_REGISTRY_TRAIN_DAYS * MAX (block_season, 1);
    g_autofree double *blocks = amigo_selector_make_blocks (v, n, horizon, train_max, &nb);
    AmigoSeries s = { 0, (gint64) horizon * history->step_usec, nb, blocks };
    AmigoModelOptions mopt = { self->options.resource, block_season, self->options.seed, train_max };
    g_autoptr(AmigoModel) model = amigo_model_fit (self->klass, &s, &mopt, NULL);
    double mean;

    if (model == NULL || !amigo_model_forecast (model, 1, self->options.quantile, &mean, NULL, &base, NULL) ||
        !isfinite (base)) {
      /* The model cannot fit this history any more: fall back to the prior. */
      g_debug ("selector: model '%s' failed, using the class prior", self->klass->name);
      select_prior (self, v, n, horizon, season);
      base = amigo_estimators[self->base]->at (v, n, horizon, season, NULL);
    }
  } else if (self->median) {
    base = median_base_at (self, v, n, horizon, season, cap);
  } else {
    /* the class prior: a parameter-free estimator */
    base = amigo_estimators[self->base]->at (v, n, horizon, season, NULL);
  }
  upper = amigo_conformal_apply (self->form, base, self->offset, self->ratio_floor);
  /* A correction resting on fewer independent windows than its q-rank
   * needs is its largest residual, which covers only about n / (n + 1) of
   * the windows: until the history says more, never below the day's peak. */
  if (self->median && self->short_backtest)
    upper = fmax (upper, amigo_estimators[AMIGO_ESTIMATOR_DAY_PEAK]->at (v, n, horizon, season, NULL));
  {
    /* A ceiling the series has pressed against for a window's worth of
     * samples (a saturated CPU, a memory limit) is a limit: the bound never
     * goes above it. A maximum touched once is a spike, and the next window
     * may set a new record (memory grows): capping there would make that
     * window a certain miss, so the bound is left as calibrated. With a
     * backtest too short to say more (or a registered model's), the cap
     * always holds. The class prior is never capped: its headroom is what
     * a young VM has instead of a backtest, and the maximum of a few
     * minutes of history says nothing about the next hour (a guest that
     * burnt one core for ten minutes would get exactly that core). */
    gsize from = n > AMIGO_BACKTEST_DAYS * season ? n - AMIGO_BACKTEST_DAYS * season : 0;
    if (isfinite (cap) && !self->prior &&
        (!self->median || self->short_backtest || pressed_against (v, from, n, cap, horizon)))
      upper = fmin (upper, cap);
  }

  memset (ret, 0, sizeof (*ret));
  g_strlcpy (ret->model, self->model, sizeof (ret->model));
  ret->window_upper = upper;
  ret->window_mean = amigo_estimator_recent_mean (v, n, horizon);
  ret->score = self->score;
  ret->coverage = self->coverage;
  return TRUE;
}

