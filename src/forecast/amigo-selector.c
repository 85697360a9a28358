/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-selector.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-model.h"
#include "amigo-model-private.h"
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
 * Built-in bases are evaluated at every stride-th origin of the last week
 * (at most ORIGIN_BUDGET; O(n) with sliding maxima); one of them, quantile_regression, is a median
 * regression of the window peak on the other bases, cross-fitted so its
 * backtest values are out of sample; registered models (amigo_model_classes()) forecast
 * the series of window peaks (blocks of @horizon steps) and are backtested
 * at the last @registry_origins block boundaries with leave-one-out
 * calibration, then compared with the median on those same origins.
 */

typedef enum {
  BASE_LAST,
  BASE_RECENT,
  BASE_SEASONAL,
  BASE_DAY_PEAK,
  BASE_MIX,
  BASE_SAME_HOUR,
  BASE_QUANTREG,
  BASE_LAST_ONE
} BaseKind;

/* How a base is corrected by its past errors. */
typedef enum {
  FORM_ADD,      /* base + q-quantile of (peak - base) */
  FORM_RATIO,    /* base * q-quantile of (peak / base) */
  FORM_LAST
} Form;

static const char *const base_names[] = {
  [BASE_LAST] = "conformal_last",
  [BASE_RECENT] = "conformal_recent",
  [BASE_SEASONAL] = "conformal_seasonal",
  [BASE_DAY_PEAK] = "conformal_day_peak",
  [BASE_MIX] = "conformal_mix",
  [BASE_SAME_HOUR] = "conformal_same_hour",
  [BASE_QUANTREG] = "quantile_regression",
};

G_STATIC_ASSERT (G_N_ELEMENTS (base_names) == BASE_LAST_ONE);

/* How far back the backtest looks: a week holds each weekday once, and
 * older behaviour says less about the next hour than recent behaviour. */
#define BACKTEST_DAYS 7
/* Registered models are fitted on at most this many days of window peaks. */
#define REGISTRY_TRAIN_DAYS 7
/* Regressors of the quantile regression: intercept, last value, max and
 * mean of the last window, max of the last day, peak of the same window
 * yesterday, highest peak around this time of day over the week. */
#define QR_FEATURES 7
/* The regression locates the median of the window peak: every origin
 * informs it, whereas a 0.95-quantile fit rests on the few windows above
 * it (a handful of independent events a week, with overlapping windows),
 * too few for seven coefficients. The tail is the conformal correction's. */
#define QR_LEVEL 0.5
/* IRLS passes from the least-squares start: the coefficients settle to
 * well within their sampling noise after a few, and each pass costs a
 * sweep over at most 2 QR_ROWS origins (a cold reservation has under a
 * millisecond a resource). */
#define QR_ITERATIONS 8
/* Readings of a saturated resource jitter just below its limit (a busy
 * CPU reads 95 to 100 % of its cores): within this fraction of the week's
 * maximum a sample counts as pressing against it. */
#define CEILING_TOLERANCE 0.05
/* Most rows per cross-fitting half (see quantreg_backtest()). */
#define QR_ROWS 256

struct _AmigoSelector {
  AmigoSelectorOptions options;
  gboolean selected;
  gboolean last_reselected;
  gint64 selected_end_usec;
  gint64 step_usec;
  gsize horizon;
  /* the choice */
  gboolean prior;
  int base;                        /* BaseKind, or -1 for a registered model */
  const AmigoModelClass *klass;
  Form form;
  double offset;
  double ratio_floor;
  double score;
  double beta[QR_FEATURES];        /* BASE_QUANTREG coefficients */
  gboolean median;                 /* the bound is the members' median */
  /* too few independent windows behind the correction for its q-rank */
  gboolean short_backtest;
  /* the median's members: their corrections, NAN for a non-member */
  double member_offset[BASE_LAST_ONE][FORM_LAST];
  char model[32];
  const AmigoModelClass *const *classes;  /* NULL = the registry */
};

void
amigo_selector_options_init (AmigoSelectorOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof (*options));
  options->quantile = 0.95;
  options->season = 0;
  options->resource = AMIGO_RESOURCE_CPU;
  options->workload = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  options->seed = 0;
  options->registry_origins = 0;
  options->reselect_usec = AMIGO_USEC_PER_DAY;
  options->model_budget_usec = 200;
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

/* Sliding maximum ignoring NAN: out[i] = max (v[i - w + 1 .. i]) (NAN if no
 * finite value there). Monotonic deque, O(n). */
static void
sliding_max (const double *v, gsize n, gsize w, double *out, gsize *deque)
{
  gsize head = 0, tail = 0;

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

/* Split-conformal quantile: the ceil((n + 1) q)-th smallest residual, the
 * largest one when n is too small for that rank. Reorders @r. */
static double
conformal_quantile (double *r, gsize n, double q)
{
  gsize k = (gsize) ceil ((n + 1) * q);

  if (n == 0)
    return NAN;
  if (k > n)
    k = n;
  return amigo_kth_smallest (r, n, k - 1);
}

static double
max_range (const double *v, gssize from, gssize to)
{
  double m = NAN;

  for (gssize i = MAX (from, 0); i < to; i++) {
    if (isfinite (v[i]) && !(v[i] <= m))
      m = v[i];
  }
  return m;
}

static double
last_finite (const double *v, gsize t)
{
  while (t > 0) {
    if (isfinite (v[t - 1]))
      return v[t - 1];
    t--;
  }
  return NAN;
}

/* Base of a built-in at the origin t (values[0..t) known), computed
 * directly; windows that reach before the start are truncated. */
static double
base_at (BaseKind kind, const double *v, gsize t, gsize h, gsize season)
{
  double last = last_finite (v, t), b;
  gsize hs = MIN (h, season);

  switch (kind) {
  case BASE_LAST:
    return last;
  case BASE_RECENT:
    b = max_range (v, (gssize) t - (gssize) h, t);
    return isfinite (b) ? b : last;
  case BASE_SEASONAL:
    b = max_range (v, (gssize) t - (gssize) season, (gssize) t - (gssize) season + (gssize) hs);
    return isfinite (b) ? b : last;
  case BASE_DAY_PEAK:
    b = max_range (v, (gssize) t - (gssize) season, t);
    return isfinite (b) ? b : last;
  case BASE_MIX:
    return fmax (base_at (BASE_RECENT, v, t, h, season), base_at (BASE_SEASONAL, v, t, h, season));
  case BASE_SAME_HOUR:
    /* the highest peak around this time of day (one window either side)
     * over the past week: daily jobs recur, calm hours stay calm */
    b = NAN;
    for (gsize d = 1; d <= BACKTEST_DAYS && t >= d * season + h; d++) {
      gsize a = t - d * season - h;
      double m = max_range (v, (gssize) a, (gssize) MIN (a + 3 * h, t));
      if (isfinite (m) && !(m <= b))
        b = m;
    }
    return isfinite (b) ? b : last;
  case BASE_QUANTREG:
    /* needs the coefficients: see quantreg_predict() */
    return last;
  case BASE_LAST_ONE:
  default:
    g_assert_not_reached ();
  }
  return NAN;
}

static gsize
base_lookback (BaseKind kind, gsize h, gsize season)
{
  switch (kind) {
  case BASE_LAST:
    return 1;
  case BASE_RECENT:
    return h;
  case BASE_DAY_PEAK:
    /* with less than a day behind, the peak of all there is */
    return h;
  case BASE_SAME_HOUR:
  case BASE_QUANTREG:
    return 3 * h <= season ? season + h : G_MAXSIZE / 4;
  case BASE_SEASONAL:
  case BASE_MIX:
  case BASE_LAST_ONE:
  default:
    return season;
  }
}

static double
apply (Form form, double base, double offset, double ratio_floor)
{
  double u;

  switch (form) {
  case FORM_RATIO:
    u = fmax (base, ratio_floor) * offset;
    break;
  case FORM_ADD:
  case FORM_LAST:
  default:
    u = base + offset;
    break;
  }
  return fmax (u, 0.0);
}

static double
residual (Form form, double actual, double base, double ratio_floor)
{
  switch (form) {
  case FORM_RATIO:
    return actual / fmax (base, ratio_floor);
  case FORM_ADD:
  case FORM_LAST:
  default:
    return actual - base;
  }
}

static double
recent_mean (const double *v, gsize t, gsize h)
{
  double sum = 0.0;
  gsize n = 0;

  for (gsize i = t > h ? t - h : 0; i < t; i++) {
    if (isfinite (v[i])) {
      sum += v[i];
      n++;
    }
  }
  return n > 0 ? sum / n : last_finite (v, t);
}

/* Most origins a backtest evaluates: a week of 5-minute origins is 2016;
 * neighbours share all but one value of their window, so every few
 * carry nearly the same information for a fraction of the cost. */
#define ORIGIN_BUDGET 512

/* Smallest number of backtest origins for which the conformal rank
 * ceil((n + 1) q) exists: below it the class prior is used instead. */
static gsize
min_origins (double q)
{
  return (gsize) ceil (q / (1.0 - q));
}

typedef struct {
  const double *v;
  gsize n;
  gsize h;
  gsize season;
  double q;
  double ratio_floor;      /* bases are floored here before a ratio */
  /* per-origin arrays for origins t0, t0 + stride, .. n - h */
  gsize t0;
  gsize stride;
  gsize n_origins;
  double *actual;
  double *base[BASE_LAST_ONE];
  double *scratch;
} Backtest;

typedef struct {
  Form form;
  double offset;
  double score;
} Fit;

/* Conformal correction from the origins [from, to); NAN if too few. */
static double
conformal_offset (const Backtest *bt, const double *base, Form form, gsize from, gsize to, double level)
{
  gsize m = 0;
  double n_eff, q_eff;
  gsize k;

  for (gsize i = from; i < to; i++) {
    if (!isfinite (bt->actual[i]) || !isfinite (base[i]))
      continue;
    bt->scratch[m++] = residual (form, bt->actual[i], base[i], bt->ratio_floor);
  }
  if (m < min_origins (bt->q))
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
mean_loss (const Backtest *bt, const double *base, Form form, double offset, gsize from, gsize to)
{
  double loss = 0.0;
  gsize m = 0;

  for (gsize i = from; i < to; i++) {
    if (!isfinite (bt->actual[i]) || !isfinite (base[i]))
      continue;
    loss += amigo_pinball_loss (bt->q, bt->actual[i], apply (form, base[i], offset, bt->ratio_floor));
    m++;
  }
  return m > 0 ? loss / m : INFINITY;
}

/* Linear quantile regression of the window peak on QR_FEATURES regressors
 * known at the origin: minimise sum rho_q (y - x.beta) over the rows
 * [from, to) of @x (row-major) by iteratively reweighted least squares
 * (each residual weighted by q or 1 - q over its magnitude, floored at
 * @eps), with a tiny ridge so collinear regressors (flat series) stay
 * solvable. Only every @stride-th row is used. Rows with a non-finite
 * target are skipped. FALSE if the system
 * is singular or there are too few rows. */
static gboolean
quantreg_fit (const double *x, const double *y, gsize from, gsize to, gsize stride, double q, double eps,
              double *beta)
{
  enum { P = QR_FEATURES };
  double a[P * P], c[P];
  gsize rows = 0;

  for (gsize i = from; i < to; i += stride)
    rows += isfinite (y[i]);
  if (rows < 4 * P)
    return FALSE;
  for (guint it = 0; it < QR_ITERATIONS; it++) {
    double trace = 0.0, delta = 0.0;

    memset (a, 0, sizeof (a));
    memset (c, 0, sizeof (c));
    for (gsize i = from; i < to; i += stride) {
      const double *xi = x + i * P;
      double w, r;
      if (!isfinite (y[i]))
        continue;
      if (it == 0) {
        w = 1.0;
      } else {
        r = y[i];
        for (guint j = 0; j < P; j++)
          r -= xi[j] * beta[j];
        w = (r > 0.0 ? q : 1.0 - q) / fmax (fabs (r), eps);
      }
      for (guint j = 0; j < P; j++) {
        double wx = w * xi[j];
        c[j] += wx * y[i];
        for (guint k = 0; k <= j; k++)
          a[j * P + k] += wx * xi[k];
      }
    }
    for (guint j = 0; j < P; j++)
      trace += a[j * P + j];
    /* A + ridge I: collinear regressors (a flat series) stay solvable */
    for (guint j = 0; j < P; j++)
      a[j * P + j] += 1e-9 * trace / P + 1e-300;
    if (!amigo_cholesky_solve (a, c, P, 0.0))
      return it > 0;
    for (guint j = 0; j < P; j++) {
      if (!isfinite (c[j]))
        return it > 0;
    }
    for (guint j = 0; j < P; j++) {
      delta = fmax (delta, fabs (c[j] - beta[j]));
      beta[j] = c[j];
    }
    if (it > 0 && delta < 1e-6)
      break;
  }
  return TRUE;
}

static double
quantreg_predict (const double *beta, const double *x)
{
  double u = 0.0;

  for (guint j = 0; j < QR_FEATURES; j++)
    u += beta[j] * x[j];
  return u;
}

/* Regressors at origin t computed directly (the backtest uses sliding
 * arrays that give the same values). */
static void
quantreg_features_at (const double *v, gsize t, gsize h, gsize season, double *x)
{
  x[0] = 1.0;
  x[1] = base_at (BASE_LAST, v, t, h, season);
  x[2] = base_at (BASE_RECENT, v, t, h, season);
  x[3] = recent_mean (v, t, h);
  x[4] = base_at (BASE_DAY_PEAK, v, t, h, season);
  x[5] = base_at (BASE_SEASONAL, v, t, h, season);
  x[6] = base_at (BASE_SAME_HOUR, v, t, h, season);
}

/* Correction learned from every origin of the backtest; score = in-sample
 * pinball loss with it. (Scoring on a held-out last day was tried: on the
 * Bitbrains traces it lowered coverage and raised the loss.) */
static Fit
calibrate (const Backtest *bt, const double *base, Form form)
{
  Fit f = { form, NAN, INFINITY };

  f.offset = conformal_offset (bt, base, form, 0, bt->n_origins, bt->q);
  if (isnan (f.offset))
    return f;
  f.score = mean_loss (bt, base, form, f.offset, 0, bt->n_origins);
  return f;
}

/* What one fit + forecast of each registered model cost the last time it
 * ran in this process: knowledge about the model's code, not about any VM.
 * A model over the budget (ARIMA and LSTM take tens to hundreds of ms) is
 * not tried again by selectors with that budget. */
#define MAX_COST_ENTRIES 32
static struct {
  const AmigoModelClass *klass;
  gint64 usec;
} model_costs[MAX_COST_ENTRIES];
G_LOCK_DEFINE_STATIC (model_costs);

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
model_cost_get (const AmigoModelClass *klass)
{
  gint64 usec = -1;

  G_LOCK (model_costs);
  for (guint i = 0; i < MAX_COST_ENTRIES && model_costs[i].klass != NULL; i++) {
    if (model_costs[i].klass == klass)
      usec = model_costs[i].usec;
  }
  G_UNLOCK (model_costs);
  return usec;
}

static void
model_cost_set (const AmigoModelClass *klass, gint64 usec)
{
  G_LOCK (model_costs);
  for (guint i = 0; i < MAX_COST_ENTRIES; i++) {
    if (model_costs[i].klass == NULL || model_costs[i].klass == klass) {
      model_costs[i].klass = klass;
      model_costs[i].usec = usec;
      break;
    }
  }
  G_UNLOCK (model_costs);
}

/* Registered models forecast the series of window peaks. Returns the LOO
 * score over the last @r block origins and sets the offset; the common
 * origins are reported so the built-in median can be scored on them. */
static gboolean
registry_candidate (const AmigoModelClass *klass,
                    const double *blocks, gsize nb, gint64 block_step_usec,
                    gsize block_season, const AmigoSelectorOptions *opt,
                    guint r, double ratio_floor, Fit *ret_fit, double *ret_uppers,
                    double *ret_losses)
{
  g_autofree double *resid = g_new (double, r);
  g_autofree double *others = g_new (double, r);
  AmigoModelOptions mopt = { opt->resource, block_season, opt->seed, 0 };
  gsize train_max = REGISTRY_TRAIN_DAYS * MAX (block_season, 1);
  double loss = 0.0;

  if (nb < r + MAX (klass->min_history, 2))
    return FALSE;
  if (opt->model_budget_usec > 0 && model_cost_get (klass) > opt->model_budget_usec) {
    g_debug ("selector: model '%s' costs %" G_GINT64_FORMAT " us per fit, over the budget, left out",
             klass->name, model_cost_get (klass));
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
      model_cost_set (klass, cost);
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
    off = fmax (conformal_quantile (others, m, opt->quantile), 0.0);
    ret_losses[i] = amigo_pinball_loss (opt->quantile, blocks[nb - r + i], fmax (ret_uppers[i] + off, 0.0));
    loss += ret_losses[i];
  }
  memcpy (others, resid, r * sizeof (double));
  ret_fit->form = FORM_ADD;
  ret_fit->offset = fmax (conformal_quantile (others, r, opt->quantile), 0.0);
  ret_fit->score = loss / r;
  (void) ratio_floor;
  return TRUE;
}

/* Window peaks in blocks of @h steps, aligned on the end of the history. */
static double *
make_blocks (const double *v, gsize n, gsize h, gsize max_blocks, gsize *ret_nb)
{
  gsize nb = MIN (n / h, max_blocks);
  double *b = g_new (double, MAX (nb, 1));

  for (gsize j = 0; j < nb; j++) {
    gsize end = n - (nb - 1 - j) * h;
    b[j] = max_range (v, (gssize) (end - h), end);
  }
  *ret_nb = nb;
  return b;
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

/* The quantile regression as a backtest base. Its regressors are the other
 * bases (all eligible whenever it is) plus the mean of the last window.
 * The base at each origin is predicted out of sample by cross-fitting: the
 * older half of the origins is predicted by the fit on the newer half and
 * vice versa, so its conformal correction and score are as honest as the
 * parameter-free bases'. FALSE if a fit fails (then the base is left out). */
static gboolean
quantreg_backtest (Backtest *bt, const double *v, double *ret_beta)
{
  enum { P = QR_FEATURES };
  gsize m = bt->n_origins, half = m / 2;
  g_autofree double *x = g_new (double, m * P);
  g_autofree double *y = g_new (double, m);
  double sc = 100.0 * bt->ratio_floor, beta_a[P] = { 0 }, beta_b[P] = { 0 };

  for (gsize i = 0; i < m; i++) {
    gsize t = bt->t0 + i * bt->stride;
    double *xi = x + i * P;
    gboolean ok;

    xi[0] = 1.0;
    xi[1] = bt->base[BASE_LAST][i] / sc;
    xi[2] = bt->base[BASE_RECENT][i] / sc;
    xi[3] = recent_mean (v, t, bt->h) / sc;
    xi[4] = bt->base[BASE_DAY_PEAK][i] / sc;
    xi[5] = bt->base[BASE_SEASONAL][i] / sc;
    xi[6] = bt->base[BASE_SAME_HOUR][i] / sc;
    ok = isfinite (bt->actual[i]);
    for (guint j = 0; j < P; j++)
      ok = ok && isfinite (xi[j]);
    y[i] = ok ? bt->actual[i] / sc : NAN;
  }
  /* QR_ROWS rows per half (origins hours apart) pin down seven
   * coefficients well enough; more cost time and change little. */
  gsize stride = MAX ((half + QR_ROWS - 1) / QR_ROWS, 1);

  if (!quantreg_fit (x, y, 0, half, stride, QR_LEVEL, 1e-4, beta_a) ||
      !quantreg_fit (x, y, half, m, stride, QR_LEVEL, 1e-4, beta_b))
    return FALSE;
  for (gsize i = 0; i < m; i++) {
    double u = sc * quantreg_predict (i < half ? beta_b : beta_a, x + i * P);
    bt->base[BASE_QUANTREG][i] = isfinite (y[i]) ? u : NAN;
  }
  /* The coefficients for the next window: the mean of the two halves'
   * (a third fit on all origins cost as much again and changed little). */
  for (guint j = 0; j < P; j++)
    ret_beta[j] = 0.5 * (beta_a[j] + beta_b[j]);
  ret_beta[0] *= sc;
  return TRUE;
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
  self->base = BASE_DAY_PEAK;
  for (guint k = 0; k < BASE_LAST_ONE; k++) {
    if (g_strcmp0 (base_names[k], prior->model) == 0)
      self->base = k;
  }
  self->form = FORM_ADD;
  /* Too short to backtest: the class's estimator plus its inflation times
   * the spread seen so far. */
  self->offset = prior->inflation * series_spread (v, n);
  self->ratio_floor = 0.0;
  self->score = NAN;
  set_name (self, base_names[self->base]);
}

/* Median of the members' bounds at one origin, from their bases there
 * (@bases[k][i]; NULL or NAN where a base is missing). NAN if none. A
 * ratio correction on a base near zero can be many times the series'
 * range: ratio bounds are capped at @cap, the highest value of the week
 * before the origin. */
static double
members_median (const AmigoSelector *self, double *const *bases, gsize i, double cap)
{
  double b[BASE_LAST_ONE * FORM_LAST];
  guint c = 0;

  for (guint k = 0; k < BASE_LAST_ONE; k++) {
    for (Form form = 0; form < FORM_LAST; form++) {
      double u;
      if (!isfinite (self->member_offset[k][form]) || bases[k] == NULL || !isfinite (bases[k][i]))
        continue;
      u = apply (form, bases[k][i], self->member_offset[k][form], self->ratio_floor);
      b[c++] = form == FORM_RATIO && isfinite (cap) ? fmin (u, cap) : u;
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
  return max_range (v, (gssize) t - (gssize) (BACKTEST_DAYS * season), t);
}

/* The median of the members' bounds at origin @t (values[0..t) known),
 * before its own correction; @cap = week_max (v, t, season). */
static double
median_base_at (const AmigoSelector *self, const double *v, gsize t, gsize h, gsize season, double cap)
{
  double now[BASE_LAST_ONE], *bases[BASE_LAST_ONE], b;

  for (guint k = 0; k < BASE_LAST_ONE; k++) {
    bases[k] = NULL;
    if (!isfinite (self->member_offset[k][FORM_ADD]) && !isfinite (self->member_offset[k][FORM_RATIO]))
      continue;
    if (k == BASE_QUANTREG) {
      double x[QR_FEATURES];
      quantreg_features_at (v, t, h, season, x);
      now[k] = quantreg_predict (self->beta, x);
    } else {
      now[k] = base_at (k, v, t, h, season);
    }
    bases[k] = &now[k];
  }
  b = members_median (self, bases, 0, cap);
  return isfinite (b) ? b : last_finite (v, t);
}

static void
reselect (AmigoSelector *self, const double *v, gsize n, gsize h, gsize season)
{
  const AmigoModelClass *const *classes = self->classes != NULL ? self->classes : amigo_model_classes ();
  Backtest bt = { v, n, h, season, self->options.quantile };
  g_autofree gsize *deque = g_new (gsize, n);
  g_autofree double *max_h = g_new (double, n);
  g_autofree double *max_s = g_new (double, n);
  g_autofree double *max_w = g_new (double, n);
  gsize first, lookback = 0;
  gboolean eligible[BASE_LAST_ONE];
  Fit best = { FORM_ADD, NAN, INFINITY };
  int best_base = -1;
  g_autofree double *med = NULL;
  gsize hs = MIN (h, season);

  self->prior = FALSE;
  self->klass = NULL;
  /* Origins t (first value of the window) run over the last week, where the
   * window [t, t + h) is complete. */
  if (n < 2 * h) {
    select_prior (self, v, n, h, season);
    return;
  }
  first = n - h + 1 > BACKTEST_DAYS * season ? n - h + 1 - BACKTEST_DAYS * season : 0;
  for (guint k = 0; k < BASE_LAST_ONE; k++) {
    gsize lb = base_lookback (k, h, season);
    gsize t0 = MAX (first, lb);
    eligible[k] = n - h + 1 > t0 && n - h + 1 - t0 >= min_origins (bt.q);
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
  for (guint k = 0; k < BASE_LAST_ONE; k++)
    bt.base[k] = eligible[k] ? g_new (double, bt.n_origins) : NULL;

  sliding_max (v, n, h, max_h, deque);
  sliding_max (v, n, season, max_s, deque);
  sliding_max (v, n, BACKTEST_DAYS * season, max_w, deque);
  {
    double last = NAN;
    gsize seen = 0;
    for (gsize i = 0; i < bt.n_origins; i++) {
      gsize t = bt.t0 + i * bt.stride;
      double recent, seasonal;
      for (; seen < t; seen++) {
        if (isfinite (v[seen]))
          last = v[seen];
      }
      bt.actual[i] = max_h[t + h - 1];
      recent = isfinite (max_h[t - 1]) ? max_h[t - 1] : last;
      if (bt.base[BASE_LAST] != NULL)
        bt.base[BASE_LAST][i] = last;
      if (bt.base[BASE_RECENT] != NULL)
        bt.base[BASE_RECENT][i] = recent;
      if (bt.base[BASE_SEASONAL] != NULL || bt.base[BASE_MIX] != NULL) {
        double s = hs == h ? max_h[t - season + h - 1] : max_s[t - 1];
        seasonal = isfinite (s) ? s : last;
        if (bt.base[BASE_SEASONAL] != NULL)
          bt.base[BASE_SEASONAL][i] = seasonal;
        if (bt.base[BASE_MIX] != NULL)
          bt.base[BASE_MIX][i] = fmax (recent, seasonal);
      }
      if (bt.base[BASE_DAY_PEAK] != NULL)
        bt.base[BASE_DAY_PEAK][i] = isfinite (max_s[t - 1]) ? max_s[t - 1] : last;
      if (bt.base[BASE_SAME_HOUR] != NULL) {
        double b = NAN;
        for (gsize d = 1; d <= BACKTEST_DAYS && t >= d * season + h; d++) {
          gsize a = t - d * season - h;
          for (gsize j = 1; j <= 3; j++) {
            double m = max_h[a + j * h - 1];
            if (isfinite (m) && !(m <= b))
              b = m;
          }
        }
        bt.base[BASE_SAME_HOUR][i] = isfinite (b) ? b : last;
      }
    }
  }
  if (bt.base[BASE_QUANTREG] != NULL && !quantreg_backtest (&bt, v, self->beta)) {
    g_clear_pointer (&bt.base[BASE_QUANTREG], g_free);
  }

  /* Rank every (base, form) by its calibrated backtest loss; the better
   * half (the best one when there are fewer than three) are the members. */
  {
    double scores[BASE_LAST_ONE * FORM_LAST], ranked[BASE_LAST_ONE * FORM_LAST], cut;
    guint n_fits = 0, n_members;

    for (guint k = 0; k < BASE_LAST_ONE; k++) {
      for (Form form = 0; form < FORM_LAST; form++) {
        Fit f = { form, NAN, INFINITY };
        if (bt.base[k] != NULL)
          f = calibrate (&bt, bt.base[k], form);
        g_debug ("selector: '%s' form %d score %g offset %g", base_names[k], form, f.score, f.offset);
        self->member_offset[k][form] = f.offset;
        scores[k * FORM_LAST + form] = f.score;
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
    for (guint j = 0; j < BASE_LAST_ONE * FORM_LAST; j++) {
      if (!(scores[j] <= cut))
        self->member_offset[j / FORM_LAST][j % FORM_LAST] = NAN;
    }
  }
  self->ratio_floor = bt.ratio_floor;
  med = g_new (double, bt.n_origins);
  for (gsize i = 0; i < bt.n_origins; i++)
    med[i] = members_median (self, bt.base, i, max_w[bt.t0 + i * bt.stride - 1]);
  best = calibrate (&bt, med, FORM_ADD);
  if (!isfinite (best.score)) {
    select_prior (self, v, n, h, season);
    goto out;
  }
  {
    gsize m = 0;
    for (gsize i = 0; i < bt.n_origins; i++)
      m += isfinite (med[i]) && isfinite (bt.actual[i]);
    self->short_backtest = (double) (m * MIN (bt.stride, h)) / h < min_origins (bt.q);
  }
  self->median = TRUE;
  self->base = best_base;
  self->form = FORM_ADD;
  self->offset = best.offset;
  self->score = best.score;
  g_snprintf (self->model, sizeof (self->model), "median:%s", base_names[best_base]);
  g_debug ("selector: median of the better half led by '%s', offset %g, score %g%s", base_names[best_base],
           self->offset, self->score, self->short_backtest ? ", backtest too short: floored at the day's peak" : "");

  /* Registered models on the series of window peaks. */
  if (self->options.registry_origins >= 2 && classes[0] != NULL) {
    guint r = self->options.registry_origins;
    gsize block_season = season % h == 0 ? season / h : 0;
    gsize nb;
    g_autofree double *blocks = make_blocks (v, n, h, (REGISTRY_TRAIN_DAYS + 1) * MAX (season / h, 1) + r, &nb);
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
      builtin_losses[i] = amigo_pinball_loss (bt.q, max_range (v, t, t + h), apply (FORM_ADD, median, best.offset, 0.0));
      builtin_loss += builtin_losses[i] / r;
    }
    for (gsize c = 0; have_builtin && classes[c] != NULL; c++) {
      Fit f;
      double mean_d = 0.0, var_d = 0.0;
      if (!registry_candidate (classes[c], blocks, nb, (gint64) h * self->step_usec, block_season,
                               &self->options, r, bt.ratio_floor, &f, uppers, losses))
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
        self->form = FORM_ADD;
        self->offset = f.offset;
        self->score = f.score;
        set_name (self, classes[c]->name);
      }
    }
  }

out:
  g_free (bt.actual);
  g_free (bt.scratch);
  for (guint k = 0; k < BASE_LAST_ONE; k++)
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
  if (history->step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series step must be positive, got %" G_GINT64_FORMAT " us", history->step_usec);
    return FALSE;
  }
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
    gsize train_max = REGISTRY_TRAIN_DAYS * MAX (block_season, 1);
    g_autofree double *blocks = make_blocks (v, n, horizon, train_max, &nb);
    AmigoSeries s = { 0, (gint64) horizon * history->step_usec, nb, blocks };
    AmigoModelOptions mopt = { self->options.resource, block_season, self->options.seed, train_max };
    g_autoptr(AmigoModel) model = amigo_model_fit (self->klass, &s, &mopt, NULL);
    double mean;

    if (model == NULL || !amigo_model_forecast (model, 1, self->options.quantile, &mean, NULL, &base, NULL) ||
        !isfinite (base)) {
      /* The model cannot fit this history any more: fall back to the prior. */
      g_debug ("selector: model '%s' failed, using the class prior", self->klass->name);
      select_prior (self, v, n, horizon, season);
      base = base_at (self->base, v, n, horizon, season);
    }
  } else if (self->median) {
    base = median_base_at (self, v, n, horizon, season, cap);
  } else {
    /* the class prior: a parameter-free estimator */
    base = base_at (self->base, v, n, horizon, season);
  }
  upper = apply (self->form, base, self->offset, self->ratio_floor);
  /* A correction resting on fewer independent windows than its q-rank
   * needs is its largest residual, which covers only about n / (n + 1) of
   * the windows: until the history says more, never below the day's peak. */
  if (self->median && self->short_backtest)
    upper = fmax (upper, base_at (BASE_DAY_PEAK, v, n, horizon, season));
  {
    /* A ceiling the series has pressed against for a window's worth of
     * samples (a saturated CPU, a memory limit) is a limit: the bound never
     * goes above it. A maximum touched once is a spike, and the next window
     * may set a new record (memory grows): capping there would make that
     * window a certain miss, so the bound is left as calibrated. Without
     * the backtest to say more, the cap always holds. */
    gsize from = n > BACKTEST_DAYS * season ? n - BACKTEST_DAYS * season : 0;
    if (isfinite (cap) && (!self->median || self->short_backtest || pressed_against (v, from, n, cap, horizon)))
      upper = fmin (upper, cap);
  }

  memset (ret, 0, sizeof (*ret));
  g_strlcpy (ret->model, self->model, sizeof (ret->model));
  ret->window_upper = upper;
  ret->window_mean = recent_mean (v, n, horizon);
  ret->score = self->score;
  return TRUE;
}
