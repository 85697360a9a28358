/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amigo/amigo-selector.h"
#include "amigo-error.h"
#include "amigo-free.h"
#include "amigo-stats.h"
#include "amigo-time.h"

/* Refit policy (docs/evaluation.md, "Refit policy") of a method that can
 * warm start (the LSTM): its first fit of a series trains the model's
 * default epochs, each over a random 1/TRAIN_FIT_THIN of the training
 * windows; a warm refit trains TRAIN_REFIT_EPOCHS passes, each over a
 * random 1/TRAIN_REFIT_THIN of the windows of the history since the
 * previous fit. */
#define TRAIN_FIT_THIN 2
#define TRAIN_REFIT_EPOCHS 1
#define TRAIN_REFIT_THIN 8


typedef struct {
  char *name;
  const AmigoModelClass *klass; /* NULL: the amigo selector */
  GArray *outcomes[AMIGO_RESOURCE_LAST];
  double forecast_us[AMIGO_RESOURCE_LAST];
  gsize n_forecasts[AMIGO_RESOURCE_LAST];
  gsize failures[AMIGO_RESOURCE_LAST];
  char *first_failure[AMIGO_RESOURCE_LAST];
} Method;

struct _AmigoEvaluation {
  AmigoEvaluateOptions options;
  GPtrArray *methods;
  double *mean;
  double *upper;
  gsize buffer_len;
};

void
amigo_evaluate_options_init (AmigoEvaluateOptions *options)
{
  g_return_if_fail (options != NULL);
  options->quantile = 0.95;
  options->window_usec = AMIGO_USEC_PER_HOUR;
  options->origin_every_usec = 4 * AMIGO_USEC_PER_HOUR;
  options->min_history_usec = AMIGO_USEC_PER_DAY;
  options->max_history_usec = 7 * AMIGO_USEC_PER_DAY;
  options->seed = 42;
  options->refit_usec = AMIGO_USEC_PER_DAY;
  options->train_usec = 3 * AMIGO_USEC_PER_DAY;
}

gboolean
amigo_evaluate_options_check (const AmigoEvaluateOptions *options, GError **error)
{
  if (!(options->quantile > 0.5 && options->quantile < 1.0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "quantile must be in (0.5, 1), got %g",
                 options->quantile);
    return FALSE;
  }
  if (options->window_usec <= 0 || options->origin_every_usec <= 0 || options->min_history_usec <= 0 ||
      options->max_history_usec <= 0 || options->refit_usec <= 0 || options->train_usec <= 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "durations must be positive");
    return FALSE;
  }
  if (options->max_history_usec < options->min_history_usec) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                         "max-history must not be shorter than min-history");
    return FALSE;
  }
  return TRUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;
  return (x > y) - (x < y);
}

void
amigo_evaluate_metrics (const AmigoWindowOutcome *outcomes, gsize n_outcomes, double quantile,
                        AmigoMetrics *ret_metrics)
{
  g_autofree double *ratios = NULL;
  gsize n_ratios = 0;
  gsize covered = 0;
  double sum_reservation = 0;
  double sum_peak = 0;
  double sum_pinball = 0;

  ret_metrics->coverage = NAN;
  ret_metrics->slack = NAN;
  ret_metrics->slack_median = NAN;
  ret_metrics->pinball = NAN;
  ret_metrics->windows = n_outcomes;
  if (n_outcomes == 0)
    return;

  ratios = g_new (double, n_outcomes);
  for (gsize i = 0; i < n_outcomes; i++) {
    const AmigoWindowOutcome *o = &outcomes[i];

    if (o->peak <= o->reservation)
      covered++;
    sum_reservation += o->reservation;
    sum_peak += o->peak;
    sum_pinball += amigo_pinball_loss (quantile, o->peak, o->reservation) / o->scale;
    if (o->peak > 0)
      ratios[n_ratios++] = o->reservation / o->peak - 1.0;
  }
  ret_metrics->coverage = (double) covered / (double) n_outcomes;
  if (sum_peak > 0)
    ret_metrics->slack = sum_reservation / sum_peak - 1.0;
  ret_metrics->pinball = sum_pinball / (double) n_outcomes;
  if (n_ratios > 0) {
    qsort (ratios, n_ratios, sizeof (double), compare_doubles);
    if (n_ratios % 2 == 1)
      ret_metrics->slack_median = ratios[n_ratios / 2];
    else
      ret_metrics->slack_median = (ratios[n_ratios / 2 - 1] + ratios[n_ratios / 2]) / 2.0;
  }
}

static void
method_free (gpointer data)
{
  Method *m = data;

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    g_array_unref (m->outcomes[r]);
    g_free (m->first_failure[r]);
  }
  g_free (m->name);
  g_free (m);
}

AmigoEvaluation *
amigo_evaluation_new (const AmigoEvaluateOptions *options)
{
  AmigoEvaluation *self = g_new0 (AmigoEvaluation, 1);

  if (options != NULL)
    self->options = *options;
  else
    amigo_evaluate_options_init (&self->options);
  self->methods = g_ptr_array_new_with_free_func (method_free);
  return self;
}

void
amigo_evaluation_free (AmigoEvaluation *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->methods);
  amigo_free_fields (&self->mean, &self->upper, NULL);
  g_free (self);
}

static void
add_method (AmigoEvaluation *self, const char *name, const AmigoModelClass *klass)
{
  Method *m = g_new0 (Method, 1);

  m->name = g_strdup (name);
  m->klass = klass;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    m->outcomes[r] = g_array_new (FALSE, FALSE, sizeof (AmigoWindowOutcome));
  g_ptr_array_add (self->methods, m);
}

/**
 * amigo_evaluation_add_method:
 * @name: "amigo" (the selector) or a name in the model registry.
 *
 * Fails with AMIGO_ERROR_NOT_FOUND when the method is not built in.
 */
gboolean
amigo_evaluation_add_method (AmigoEvaluation *self, const char *name, GError **error)
{
  const AmigoModelClass *klass;

  for (guint i = 0; i < self->methods->len; i++) {
    if (g_strcmp0 (((Method *) g_ptr_array_index (self->methods, i))->name, name) == 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "method '%s' is listed twice", name);
      return FALSE;
    }
  }
  if (g_strcmp0 (name, "amigo") == 0) {
    add_method (self, name, NULL);
    return TRUE;
  }
  klass = amigo_model_class_lookup (name);
  if (klass == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "method '%s' is not in the model registry", name);
    return FALSE;
  }
  add_method (self, name, klass);
  return TRUE;
}

/* For tests: evaluate a model class that is not in the registry. */
void
amigo_evaluation_add_model_class (AmigoEvaluation *self, const AmigoModelClass *klass)
{
  g_return_if_fail (klass != NULL);
  add_method (self, klass->name, klass);
}

guint
amigo_evaluation_n_methods (const AmigoEvaluation *self)
{
  return self->methods->len;
}

const char *
amigo_evaluation_method_name (const AmigoEvaluation *self, guint method)
{
  g_return_val_if_fail (method < self->methods->len, NULL);
  return ((Method *) g_ptr_array_index (self->methods, method))->name;
}

/* CPU time of the whole process (BLAS threads included), not wall time: the
 * figure should not depend on what else the machine runs. */
static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* How a registry method is refitted along one series. */
typedef enum {
  REFIT_EVERY_ORIGIN, /* fitted afresh at every origin */
  REFIT_PERIODIC,     /* trained when the fit is refit_usec old; updated in between */
} RefitKind;

static RefitKind
refit_kind (const AmigoModelClass *klass)
{
  return klass->warm_start != NULL && klass->update != NULL ? REFIT_PERIODIC : REFIT_EVERY_ORIGIN;
}

/* Methods whose fit grows faster than the history they see get at most
 * train_usec of it; the cheap baselines see the whole history. */
static gboolean
bounded_training (const AmigoModelClass *klass)
{
  return klass->costly_fit;
}

/* One method's model along the series being replayed. */
typedef struct {
  AmigoModel *model; /* the newest model (periodic methods only) */
  gsize fitted_at;   /* origin (sample index) of its last training */
} SeriesState;

/* The model to forecast with at origin @origin, following the refit policy;
 * for a periodic method @state keeps it for the next origin. */
static AmigoModel *
model_at_origin (AmigoEvaluation *self, const AmigoModelClass *klass, AmigoResource resource, gsize season,
                 const AmigoSeries *history, gsize origin, SeriesState *state, GError **error)
{
  const AmigoEvaluateOptions *opt = &self->options;
  gsize train = (gsize) MAX (1, opt->train_usec / history->step_usec);
  gsize refit = (gsize) MAX (1, opt->refit_usec / history->step_usec);
  gsize day = (gsize) MAX (1, AMIGO_USEC_PER_DAY / history->step_usec);
  AmigoModelOptions options = {
    .resource = resource,
    .season = season,
    .seed = opt->seed,
    .max_train = bounded_training (klass) ? train : 0,
  };
  AmigoModel *model = NULL;

  if (refit_kind (klass) == REFIT_EVERY_ORIGIN)
    return amigo_model_fit (klass, history, &options, error);

  if (state->model == NULL) {
    options.thin = TRAIN_FIT_THIN;
    model = amigo_model_fit (klass, history, &options, error);
    if (model == NULL)
      return NULL;
    state->fitted_at = origin;
  } else if (origin - state->fitted_at >= refit) {
    g_autoptr(GError) local_error = NULL;
    AmigoModelOptions warm = options;

    /* warm start from the current weights, on what came since the last fit
     * (at least the last day: a few hours hold too few training windows) */
    warm.max_train = MIN (train, MAX (day, origin - state->fitted_at));
    warm.epochs = TRAIN_REFIT_EPOCHS;
    warm.thin = TRAIN_REFIT_THIN;
    model = amigo_model_warm_start (state->model, history, &warm, &local_error);
    if (model != NULL)
      state->fitted_at = origin;
    else
      g_debug ("%s: refit at sample %" G_GSIZE_FORMAT " failed (%s), keeping the weights", klass->name, origin,
               local_error->message);
  }
  if (model == NULL) {
    model = amigo_model_update (state->model, history, error);
    if (model == NULL)
      return NULL;
  }
  amigo_model_free (state->model);
  state->model = model;
  return model;
}

static gboolean
model_reserve (AmigoEvaluation *self, const AmigoModelClass *klass, AmigoResource resource, gsize season,
               const AmigoSeries *history, gsize origin, SeriesState *state, gsize horizon, double *ret_reservation,
               GError **error)
{
  AmigoModel *model;
  gboolean owned = refit_kind (klass) == REFIT_EVERY_ORIGIN;
  gboolean ok;
  double reservation = -INFINITY;

  model = model_at_origin (self, klass, resource, season, history, origin, state, error);
  if (model == NULL)
    return FALSE;
  ok = amigo_model_forecast (model, horizon, self->options.quantile, self->mean, NULL, self->upper, error);
  if (owned)
    amigo_model_free (model);
  if (!ok)
    return FALSE;
  for (gsize i = 0; i < horizon; i++)
    reservation = MAX (reservation, self->upper[i]);
  *ret_reservation = reservation;
  return TRUE;
}

static gboolean
selector_reserve (AmigoSelector *selector, const AmigoSeries *history, gsize horizon, double *ret_reservation,
                  GError **error)
{
  AmigoWindowForecast forecast;

  memset (&forecast, 0, sizeof forecast);
  if (!amigo_selector_forecast (selector, history, horizon, &forecast, error))
    return FALSE;
  *ret_reservation = forecast.window_upper;
  return TRUE;
}

static void
record_failure (Method *m, AmigoResource resource, const GError *error)
{
  m->failures[resource]++;
  if (m->first_failure[resource] == NULL)
    m->first_failure[resource] = g_strdup (error != NULL ? error->message : "failed without an error");
}

/**
 * amigo_evaluation_run_series:
 * @series: one resource of one VM, regular, NAN = missing.
 * @track: (element-type AmigoTrackPoint) (nullable): gets every window of
 *   every method, for plotting.
 *
 * Replays @series: at each origin every method sees only the history
 * before it (at most max_history) and reserves for the window after it.
 * Windows with a missing sample are skipped.
 */
gboolean
amigo_evaluation_run_series (AmigoEvaluation *self, AmigoResource resource, const AmigoSeries *series,
                             GArray *track, GError **error)
{
  const AmigoEvaluateOptions *opt = &self->options;
  gint64 step;
  gsize window, every, min_history, max_history, season;
  double sum = 0;
  gsize n_known = 0;
  double scale;
  gpointer *selectors = NULL;
  g_autofree SeriesState *states = NULL;

  g_return_val_if_fail (resource < AMIGO_RESOURCE_LAST, FALSE);
  if (series == NULL || series->step_usec <= 0 || (series->n_values > 0 && series->values == NULL)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "series must have a positive step");
    return FALSE;
  }
  step = series->step_usec;
  window = (gsize) MAX (1, (opt->window_usec + step - 1) / step);
  every = (gsize) MAX (1, (opt->origin_every_usec + step / 2) / step);
  min_history = (gsize) MAX (1, (opt->min_history_usec + step - 1) / step);
  max_history = (gsize) MAX (1, opt->max_history_usec / step);
  season = AMIGO_USEC_PER_DAY % step == 0 ? (gsize) (AMIGO_USEC_PER_DAY / step) : 0;

  for (gsize i = 0; i < series->n_values; i++) {
    if (!isnan (series->values[i])) {
      sum += series->values[i];
      n_known++;
    }
  }
  /* each series is scaled by its own mean so big VMs do not dominate */
  scale = n_known > 0 && sum > 0 ? sum / (double) n_known : 1.0;

  if (self->buffer_len < window) {
    self->mean = g_renew (double, self->mean, window);
    self->upper = g_renew (double, self->upper, window);
    self->buffer_len = window;
  }

  states = g_new0 (SeriesState, self->methods->len);
  selectors = g_new0 (gpointer, self->methods->len);
  for (guint k = 0; k < self->methods->len; k++) {
    Method *m = g_ptr_array_index (self->methods, k);
    AmigoSelectorOptions so;

    if (m->klass != NULL)
      continue;
    amigo_selector_options_init (&so);
    so.quantile = opt->quantile;
    so.season = season;
    so.resource = resource;
    so.seed = opt->seed;
    selectors[k] = amigo_selector_new (&so);
  }

  for (gsize o = min_history; o + window <= series->n_values; o += every) {
    double peak = -INFINITY;
    gboolean complete = TRUE;
    gsize start = o > max_history ? o - max_history : 0;
    AmigoSeries history = {
      .start_usec = series->start_usec + (gint64) start * step,
      .step_usec = step,
      .n_values = o - start,
      .values = series->values + start,
    };

    for (gsize i = o; i < o + window; i++) {
      if (isnan (series->values[i])) {
        complete = FALSE;
        break;
      }
      peak = MAX (peak, series->values[i]);
    }
    if (!complete)
      continue;

    for (guint k = 0; k < self->methods->len; k++) {
      Method *m = g_ptr_array_index (self->methods, k);
      g_autoptr(GError) local_error = NULL;
      double reservation = NAN;
      gboolean ok = FALSE;
      double t0 = now_us ();

      if (m->klass != NULL) {
        ok = model_reserve (self, m->klass, resource, season, &history, o, &states[k], window, &reservation,
                            &local_error);
      } else {
        if (selectors[k] != NULL)
          ok = selector_reserve (selectors[k], &history, window, &reservation, &local_error);
        else
          g_set_error_literal (&local_error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "amigo_selector_new() failed");
      }
      /* a failed fit costs time too: count it wherever it happens */
      m->forecast_us[resource] += now_us () - t0;
      if (ok && !isfinite (reservation)) {
        g_set_error (&local_error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "reservation is not a number (%g)", reservation);
        ok = FALSE;
      }
      if (!ok) {
        record_failure (m, resource, local_error);
        continue;
      }
      m->n_forecasts[resource]++;
      {
        AmigoWindowOutcome outcome = { reservation, peak, scale };
        g_array_append_val (m->outcomes[resource], outcome);
      }
      if (track != NULL) {
        AmigoTrackPoint point = {
          .method = k,
          .start_usec = series->start_usec + (gint64) o * step,
          .end_usec = series->start_usec + (gint64) (o + window) * step,
          .reservation = reservation,
          .peak = peak,
          .scale = scale,
        };
        g_array_append_val (track, point);
      }
    }
  }

  for (guint k = 0; k < self->methods->len; k++) {
    if (selectors[k] != NULL)
      amigo_selector_free (selectors[k]);
  }
  g_free (selectors);
  for (guint k = 0; k < self->methods->len; k++)
    amigo_model_free (states[k].model);
  return TRUE;
}

void
amigo_evaluation_get_metrics (const AmigoEvaluation *self, guint method, AmigoResource resource,
                              AmigoMetrics *ret_metrics)
{
  const Method *m;

  g_return_if_fail (method < self->methods->len && resource < AMIGO_RESOURCE_LAST);
  m = g_ptr_array_index (self->methods, method);
  amigo_evaluate_metrics ((const AmigoWindowOutcome *) (void *) m->outcomes[resource]->data,
                          m->outcomes[resource]->len, self->options.quantile, ret_metrics);
  ret_metrics->failures = m->failures[resource];
  ret_metrics->us_per_forecast =
    m->n_forecasts[resource] > 0 ? m->forecast_us[resource] / (double) m->n_forecasts[resource] : NAN;
}

const char *
amigo_evaluation_first_failure (const AmigoEvaluation *self, guint method, AmigoResource resource)
{
  g_return_val_if_fail (method < self->methods->len && resource < AMIGO_RESOURCE_LAST, NULL);
  return ((const Method *) g_ptr_array_index (self->methods, method))->first_failure[resource];
}
