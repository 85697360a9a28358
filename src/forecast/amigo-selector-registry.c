/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registered models (amigo_model_classes()) in the selector: they forecast
 * the series of window peaks (blocks of @horizon steps) and are backtested
 * at the last registry_origins block boundaries with leave-one-out
 * calibration. See docs/forecast.md.
 *
 * What a fit costs is remembered per selector (AmigoModelCost), not per
 * process: which models compete must not depend on what else the process
 * ran before.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "amigo-selector-private.h"
#include "amigo-stats.h"
#include "amigo-time.h"

/* CPU time of this thread: on a busy host wall time would charge the
 * neighbours' work to the model. */
static gint64
thread_cpu_usec (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return g_get_monotonic_time ();
  return (gint64) ts.tv_sec * AMIGO_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gint64
model_cost_get (const AmigoModelCost *costs, const AmigoModelClass *klass)
{
  for (guint i = 0; i < AMIGO_SELECTOR_MAX_COSTS && costs[i].klass != NULL; i++) {
    if (costs[i].klass == klass)
      return costs[i].usec;
  }
  return -1;
}

static void
model_cost_set (AmigoModelCost *costs, const AmigoModelClass *klass, gint64 usec)
{
  for (guint i = 0; i < AMIGO_SELECTOR_MAX_COSTS; i++) {
    if (costs[i].klass == NULL || costs[i].klass == klass) {
      costs[i].klass = klass;
      costs[i].usec = usec;
      break;
    }
  }
}

/* Registered models forecast the series of window peaks. Returns the LOO
 * score over the last @r block origins and sets the offset; the common
 * origins are reported so the built-in median can be scored on them. */
gboolean
amigo_selector_registry_candidate (const AmigoModelClass *klass,
                                   const double *blocks, gsize nb, gint64 block_step_usec,
                                   gsize block_season, const AmigoSelectorOptions *opt,
                                   guint r, AmigoModelCost *costs, AmigoConformalFit *ret_fit,
                                   double *ret_uppers, double *ret_losses)
{
  g_autofree double *resid = g_new (double, r);
  g_autofree double *others = g_new (double, r);
  AmigoModelOptions mopt = { opt->resource, block_season, opt->seed, 0 };
  gsize train_max = AMIGO_REGISTRY_TRAIN_DAYS * MAX (block_season, 1);
  double loss = 0.0;

  if (nb < r + MAX (klass->min_history, 2))
    return FALSE;
  if (opt->model_budget_usec > 0 && model_cost_get (costs, klass) > opt->model_budget_usec) {
    g_debug ("selector: model '%s' costs %" G_GINT64_FORMAT " us per fit, over the budget, left out",
             klass->name, model_cost_get (costs, klass));
    return FALSE;
  }
  mopt.max_train = train_max;
  for (guint i = 0; i < r; i++) {
    gsize t = nb - r + i;
    AmigoSeries s = { 0, block_step_usec, t, blocks };
    g_autoptr(AmigoModel) model = NULL;
    double mean, upper;

    if (t > train_max) {
      s.values = blocks + (t - train_max);
      s.n_values = train_max;
    }
    gint64 t_start = thread_cpu_usec ();
    model = amigo_model_fit (klass, &s, &mopt, NULL);
    if (model == NULL || !amigo_model_forecast (model, 1, opt->quantile, &mean, NULL, &upper, NULL) ||
        !isfinite (upper) || !isfinite (blocks[t]))
      return FALSE;
    if (i == 0) {
      gint64 cost = thread_cpu_usec () - t_start;
      model_cost_set (costs, klass, cost);
      if (opt->model_budget_usec > 0 && cost > opt->model_budget_usec) {
        g_debug ("selector: model '%s' took %" G_GINT64_FORMAT " us for one fit, over the budget, left out",
                 klass->name, cost);
        return FALSE;
      }
    }
    ret_uppers[i] = upper;
    resid[i] = blocks[t] - upper;
  }
  for (guint i = 0; i < r; i++) {
    gsize m = 0;
    double off;
    for (guint j = 0; j < r; j++) {
      if (j != i)
        others[m++] = resid[j];
    }
    /* Nineteen origins are enough to widen a model's own bound, too few
     * to narrow it safely: the correction is never negative. */
    off = fmax (amigo_conformal_quantile (others, m, opt->quantile), 0.0);
    ret_losses[i] = amigo_pinball_loss (opt->quantile, blocks[nb - r + i], fmax (ret_uppers[i] + off, 0.0));
    loss += ret_losses[i];
  }
  memcpy (others, resid, r * sizeof (double));
  ret_fit->form = AMIGO_FORM_ADD;
  ret_fit->offset = fmax (amigo_conformal_quantile (others, r, opt->quantile), 0.0);
  ret_fit->score = loss / r;
  return TRUE;
}

/* Window peaks in blocks of @h steps, aligned on the end of the history. */
double *
amigo_selector_make_blocks (const double *v, gsize n, gsize h, gsize max_blocks, gsize *ret_nb)
{
  gsize nb = MIN (n / h, max_blocks);
  double *b = g_new (double, MAX (nb, 1));

  for (gsize j = 0; j < nb; j++) {
    gsize end = n - (nb - 1 - j) * h;
    b[j] = amigo_estimator_max_range (v, (gssize) (end - h), end);
  }
  *ret_nb = nb;
  return b;
}
