/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the selector (forecast/ and tests only): the table of window
 * estimators (amigo-estimator.c, amigo-estimator-quantreg.c), the
 * conformal correction (amigo-conformal.c) and the registered models'
 * backtest (amigo-selector-registry.c). See docs/forecast.md. */

#include "amigo/amigo-model.h"
#include "amigo/amigo-selector.h"

G_BEGIN_DECLS

/* Tests only: compete among @classes (NULL-terminated, borrowed) instead of
 * the registry (amigo_model_classes()). NULL restores the registry. */
void amigo_selector_set_classes (AmigoSelector *self, const AmigoModelClass *const *classes);

/* How far back the backtest looks: a week holds each weekday once, and
 * older behaviour says less about the next hour than recent behaviour. */
#define AMIGO_BACKTEST_DAYS 7

/* ---- the window estimators (amigo-estimator.c) ---------------------------- */

/* Indices into the estimator table; the selector keeps one correction per
 * member and form, so the count is fixed at build time. */
typedef enum {
  AMIGO_ESTIMATOR_LAST_VALUE,
  AMIGO_ESTIMATOR_RECENT,
  AMIGO_ESTIMATOR_SEASONAL,
  AMIGO_ESTIMATOR_DAY_PEAK,
  AMIGO_ESTIMATOR_MIX,
  AMIGO_ESTIMATOR_SAME_HOUR,
  AMIGO_ESTIMATOR_QUANTREG,
  AMIGO_ESTIMATOR_LAST
} AmigoEstimatorId;

/* Most coefficients a fitted estimator keeps (the quantile regression's). */
#define AMIGO_ESTIMATOR_MAX_COEF 7

/* How a base is corrected by its past errors. */
typedef enum {
  AMIGO_FORM_ADD,   /* base + q-quantile of (peak - base) */
  AMIGO_FORM_RATIO, /* base * q-quantile of (peak / base) */
  AMIGO_FORM_LAST
} AmigoForm;

/* A backtest: per-origin arrays for origins t0, t0 + stride, .. n - h of
 * the series @v (n values), window @h, @season steps a day. */
typedef struct {
  const double *v;
  gsize n;
  gsize h;
  gsize season;
  double q;
  double ratio_floor;      /* bases are floored here before a ratio */
  gsize t0;
  gsize stride;
  gsize n_origins;
  double *actual;                       /* the window peak after each origin */
  double *base[AMIGO_ESTIMATOR_LAST];   /* NULL for a member left out */
  double *scratch;
} AmigoBacktest;

/* What a parameter-free estimator reads at a backtest origin t: sliding
 * maxima over the whole series, max_h[i] = max (v[i - h + 1 .. i]) and
 * max_s[i] the same over a season (NAN where nothing is known). */
typedef struct {
  const double *max_h;
  const double *max_s;
  gsize h;
  gsize season;
} AmigoEstimatorSlides;

/**
 * AmigoWindowEstimator:
 * @name: what the selector reports ("conformal_same_hour"...).
 * @lookback: steps of history before an origin the estimator needs.
 * @at: its base at origin @t (values[0..t) known) computed directly;
 *   windows that reach before the start are truncated. @coef: what @fit
 *   learnt, NULL when nothing was fitted.
 * @slide: the same from the sliding maxima (the backtest, O(1) an origin);
 *   @last is the last finite value before @t. NULL for a fitted member.
 * @fit: (optional) a member learnt from the other members' backtest bases:
 *   fills bt->base[its id] out of sample and @ret_coef; FALSE leaves it out.
 *
 * One window estimator (a "base" for the peak of the next window); the
 * members are listed once in amigo-estimator.c.
 */
typedef struct {
  const char *name;
  gsize (*lookback) (gsize h, gsize season);
  double (*at) (const double *v, gsize t, gsize h, gsize season, const double *coef);
  double (*slide) (const AmigoEstimatorSlides *s, gsize t, double last);
  gboolean (*fit) (AmigoBacktest *bt, const double *v, double *ret_coef);
} AmigoWindowEstimator;

/* The table, indexed by AmigoEstimatorId. */
extern const AmigoWindowEstimator *const amigo_estimators[AMIGO_ESTIMATOR_LAST];
extern const AmigoWindowEstimator amigo_estimator_quantreg;

/* The lookback of conformal_same_hour, which the quantile regression shares. */
gsize amigo_estimator_same_hour_lookback (gsize h, gsize season);

/* Series helpers the estimators and the selector share (NAN = missing). */
double amigo_estimator_max_range (const double *v, gssize from, gssize to);
double amigo_estimator_last_finite (const double *v, gsize t);
/* mean of the last @h values before @t, the last finite value if none */
double amigo_estimator_recent_mean (const double *v, gsize t, gsize h);
/* out[i] = max (v[i - w + 1 .. i]) ignoring NAN; @deque is scratch for n */
void amigo_estimator_sliding_max (const double *v, gsize n, gsize w, double *out, gsize *deque);

/* ---- the conformal correction (amigo-conformal.c) ------------------------- */

typedef struct {
  AmigoForm form;
  double offset;
  double score;
} AmigoConformalFit;

double amigo_conformal_apply (AmigoForm form, double base, double offset, double ratio_floor);
gsize amigo_conformal_min_origins (double q);
double amigo_conformal_quantile (double *r, gsize n, double q);
AmigoConformalFit amigo_conformal_calibrate (const AmigoBacktest *bt, const double *base, AmigoForm form);
double amigo_conformal_coverage (const AmigoBacktest *bt, const double *base, AmigoForm form, double offset);

/* ---- registered models (amigo-selector-registry.c) ------------------------ */

/* What one fit + forecast of a registered model cost when this selector
 * last tried it. */
typedef struct {
  const AmigoModelClass *klass;
  gint64 usec;
} AmigoModelCost;

#define AMIGO_SELECTOR_MAX_COSTS 32

/* Registered models are fitted on at most this many days of window peaks. */
#define AMIGO_REGISTRY_TRAIN_DAYS 7

double *amigo_selector_make_blocks (const double *v, gsize n, gsize h, gsize max_blocks, gsize *ret_nb);
gboolean amigo_selector_registry_candidate (const AmigoModelClass *klass,
                                            const double *blocks, gsize nb, gint64 block_step_usec,
                                            gsize block_season, const AmigoSelectorOptions *opt,
                                            guint r, AmigoModelCost *costs,
                                            AmigoConformalFit *ret_fit, double *ret_uppers,
                                            double *ret_losses);

G_END_DECLS
