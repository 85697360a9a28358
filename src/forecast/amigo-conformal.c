/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The selector's conformal correction: a base's bound is the base corrected
 * by the empirical quantile of what it missed at past origins on this
 * series (split conformal prediction), either additively (peak - base) or
 * multiplicatively (peak / base). See docs/forecast.md.
 */
#include <math.h>

#include "amigo-selector-private.h"
#include "amigo-stats.h"

double
amigo_conformal_apply (AmigoForm form, double base, double offset, double ratio_floor)
{
  double u = form == AMIGO_FORM_RATIO ? fmax (base, ratio_floor) * offset : base + offset;

  return fmax (u, 0.0);
}

static double
residual (AmigoForm form, double actual, double base, double ratio_floor)
{
  return form == AMIGO_FORM_RATIO ? actual / fmax (base, ratio_floor) : actual - base;
}

/* Smallest number of backtest origins for which the conformal rank
 * ceil((n + 1) q) exists: below it the class prior is used instead. */
gsize
amigo_conformal_min_origins (double q)
{
  return (gsize) ceil (q / (1.0 - q));
}

/* Split-conformal quantile: the ceil((n + 1) q)-th smallest residual, the
 * largest one when n is too small for that rank. Reorders @r. */
double
amigo_conformal_quantile (double *r, gsize n, double q)
{
  gsize k = (gsize) ceil ((n + 1) * q);

  if (n == 0)
    return NAN;
  if (k > n)
    k = n;
  return amigo_kth_smallest (r, n, k - 1);
}

/* Conformal correction from the origins [from, to); NAN if too few. */
static double
conformal_offset (const AmigoBacktest *bt, const double *base, AmigoForm form, gsize from, gsize to, double level)
{
  gsize m = 0;
  double n_eff, q_eff;
  gsize k;

  for (gsize i = from; i < to; i++) {
    if (!isfinite (bt->actual[i]) || !isfinite (base[i]))
      continue;
    bt->scratch[m++] = residual (form, bt->actual[i], base[i], bt->ratio_floor);
  }
  if (m < amigo_conformal_min_origins (bt->q))
    return NAN;
  /* Origins one step apart share most of their window: only about
   * m min (stride, h) / h of them are independent. The finite-sample rank is taken
   * for that effective count, then applied to all m residuals. */
  n_eff = MAX ((double) (m * MIN (bt->stride, bt->h)) / bt->h, 1.0);
  q_eff = MIN (ceil ((n_eff + 1) * level) / n_eff, 1.0);
  k = (gsize) ceil (q_eff * m);
  return amigo_kth_smallest (bt->scratch, m, CLAMP (k, 1, m) - 1);
}

static double
mean_loss (const AmigoBacktest *bt, const double *base, AmigoForm form, double offset, gsize from, gsize to)
{
  double loss = 0.0;
  gsize m = 0;

  for (gsize i = from; i < to; i++) {
    if (!isfinite (bt->actual[i]) || !isfinite (base[i]))
      continue;
    loss += amigo_pinball_loss (bt->q, bt->actual[i], amigo_conformal_apply (form, base[i], offset, bt->ratio_floor));
    m++;
  }
  return m > 0 ? loss / m : INFINITY;
}

/* Share of the backtest's windows (with a known peak and base) whose peak
 * the corrected bound covered; NAN if there is none. */
double
amigo_conformal_coverage (const AmigoBacktest *bt, const double *base, AmigoForm form, double offset)
{
  gsize covered = 0, m = 0;

  for (gsize i = 0; i < bt->n_origins; i++) {
    if (!isfinite (bt->actual[i]) || !isfinite (base[i]))
      continue;
    covered += bt->actual[i] <= amigo_conformal_apply (form, base[i], offset, bt->ratio_floor);
    m++;
  }
  return m > 0 ? (double) covered / m : NAN;
}

/* Correction learned from every origin of the backtest; score = in-sample
 * pinball loss with it. (Scoring on a held-out last day was tried: on the
 * Bitbrains traces it lowered coverage and raised the loss.) */
AmigoConformalFit
amigo_conformal_calibrate (const AmigoBacktest *bt, const double *base, AmigoForm form)
{
  AmigoConformalFit f = { form, NAN, INFINITY };

  f.offset = conformal_offset (bt, base, form, 0, bt->n_origins, bt->q);
  if (isnan (f.offset))
    return f;
  f.score = mean_loss (bt, base, form, f.offset, 0, bt->n_origins);
  return f;
}
