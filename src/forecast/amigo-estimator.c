/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The selector's window estimators: each gives a "base" for the peak of the
 * next window at an origin, computed directly (the forecast) or from
 * sliding maxima (the backtest, which gives the same values). The one
 * table of them is at the end; see docs/forecast.md.
 */
#include <math.h>

#include "amigo-selector-private.h"

void
amigo_estimator_sliding_max (const double *v, gsize n, gsize w, double *out, gsize *deque)
{
  gsize head = 0, tail = 0;

  /* monotonic deque, O(n) */
  for (gsize i = 0; i < n; i++) {
    if (isfinite (v[i])) {
      while (tail > head && v[deque[tail - 1]] <= v[i])
        tail--;
      deque[tail++] = i;
    }
    while (tail > head && deque[head] + w <= i)
      head++;
    out[i] = tail > head ? v[deque[head]] : NAN;
  }
}

double
amigo_estimator_max_range (const double *v, gssize from, gssize to)
{
  double m = NAN;

  for (gssize i = MAX (from, 0); i < to; i++) {
    if (isfinite (v[i]) && !(v[i] <= m))
      m = v[i];
  }
  return m;
}

double
amigo_estimator_last_finite (const double *v, gsize t)
{
  while (t > 0) {
    if (isfinite (v[t - 1]))
      return v[t - 1];
    t--;
  }
  return NAN;
}

double
amigo_estimator_recent_mean (const double *v, gsize t, gsize h)
{
  double sum = 0.0;
  gsize n = 0;

  for (gsize i = t > h ? t - h : 0; i < t; i++) {
    if (isfinite (v[i])) {
      sum += v[i];
      n++;
    }
  }
  return n > 0 ? sum / n : amigo_estimator_last_finite (v, t);
}

static double
or_last (double b, double last)
{
  return isfinite (b) ? b : last;
}

/* ---- conformal_last: the last value ---------------------------------------- */

static gsize
last_value_lookback (gsize h, gsize season)
{
  return 1;
}

static double
last_value_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  return amigo_estimator_last_finite (v, t);
}

static double
last_value_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  return last;
}

static const AmigoWindowEstimator estimator_last_value = {
  "conformal_last", last_value_lookback, last_value_at, last_value_slide, NULL
};

/* ---- conformal_recent: the peak of the last window -------------------------- */

/* The peak of the @span values before @t, the last value if none is known. */
static double
peak_before (const double *v, gsize t, gsize span)
{
  return or_last (amigo_estimator_max_range (v, (gssize) t - (gssize) span, t), amigo_estimator_last_finite (v, t));
}

/* the window; for the day's peak with less than a day behind, all there is */
static gsize
window_lookback (gsize h, gsize season)
{
  return h;
}

static double
recent_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  return peak_before (v, t, h);
}

static double
recent_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  return or_last (s->max_h[t - 1], last);
}

static const AmigoWindowEstimator estimator_recent = {
  "conformal_recent", window_lookback, recent_at, recent_slide, NULL
};

/* ---- conformal_seasonal: the same window yesterday -------------------------- */

static gsize
season_lookback (gsize h, gsize season)
{
  return season;
}

static double
seasonal_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  gsize hs = MIN (h, season);
  double b = amigo_estimator_max_range (v, (gssize) t - (gssize) season, (gssize) t - (gssize) season + (gssize) hs);

  return or_last (b, amigo_estimator_last_finite (v, t));
}

static double
seasonal_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  gsize hs = MIN (s->h, s->season);

  return or_last (hs == s->h ? s->max_h[t - s->season + s->h - 1] : s->max_s[t - 1], last);
}

static const AmigoWindowEstimator estimator_seasonal = {
  "conformal_seasonal", season_lookback, seasonal_at, seasonal_slide, NULL
};

/* ---- conformal_day_peak: the peak of the last day --------------------------- */

static double
day_peak_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  return peak_before (v, t, season);
}

static double
day_peak_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  return or_last (s->max_s[t - 1], last);
}

static const AmigoWindowEstimator estimator_day_peak = {
  "conformal_day_peak", window_lookback, day_peak_at, day_peak_slide, NULL
};

/* ---- conformal_mix: the higher of recent and seasonal ----------------------- */

static double
mix_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  return fmax (recent_at (v, t, h, season, NULL), seasonal_at (v, t, h, season, NULL));
}

static double
mix_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  return fmax (recent_slide (s, t, last), seasonal_slide (s, t, last));
}

static const AmigoWindowEstimator estimator_mix = {
  "conformal_mix", season_lookback, mix_at, mix_slide, NULL
};

/* ---- conformal_same_hour ------------------------------------------------------
 * The highest peak around this time of day (one window either side) over
 * the past week: daily jobs recur, calm hours stay calm. */

gsize
amigo_estimator_same_hour_lookback (gsize h, gsize season)
{
  return 3 * h <= season ? season + h : G_MAXSIZE / 4;
}

static double
same_hour_at (const double *v, gsize t, gsize h, gsize season, const double *coef)
{
  double b = NAN;

  for (gsize d = 1; d <= AMIGO_BACKTEST_DAYS && t >= d * season + h; d++) {
    gsize a = t - d * season - h;
    double m = amigo_estimator_max_range (v, (gssize) a, (gssize) MIN (a + 3 * h, t));
    if (isfinite (m) && !(m <= b))
      b = m;
  }
  return or_last (b, amigo_estimator_last_finite (v, t));
}

static double
same_hour_slide (const AmigoEstimatorSlides *s, gsize t, double last)
{
  double b = NAN;

  for (gsize d = 1; d <= AMIGO_BACKTEST_DAYS && t >= d * s->season + s->h; d++) {
    gsize a = t - d * s->season - s->h;
    for (gsize j = 1; j <= 3; j++) {
      double m = s->max_h[a + j * s->h - 1];
      if (isfinite (m) && !(m <= b))
        b = m;
    }
  }
  return or_last (b, last);
}

static const AmigoWindowEstimator estimator_same_hour = {
  "conformal_same_hour", amigo_estimator_same_hour_lookback, same_hour_at, same_hour_slide, NULL
};

/* The one table of window estimators: a new one is a member plus a line
 * (and an AmigoEstimatorId). */
const AmigoWindowEstimator *const amigo_estimators[AMIGO_ESTIMATOR_LAST] = {
  [AMIGO_ESTIMATOR_LAST_VALUE] = &estimator_last_value,
  [AMIGO_ESTIMATOR_RECENT] = &estimator_recent,
  [AMIGO_ESTIMATOR_SEASONAL] = &estimator_seasonal,
  [AMIGO_ESTIMATOR_DAY_PEAK] = &estimator_day_peak,
  [AMIGO_ESTIMATOR_MIX] = &estimator_mix,
  [AMIGO_ESTIMATOR_SAME_HOUR] = &estimator_same_hour,
  [AMIGO_ESTIMATOR_QUANTREG] = &amigo_estimator_quantreg,
};
