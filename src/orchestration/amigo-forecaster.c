/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-orchestration"
#include "amigo-forecaster.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-request-options.h"
#include "amigo-resource-map.h"
#include "amigo-time.h"
#include "amigo-uuid.h"

/* What is kept per domain between calls: the selectors (their backtest and
 * calibration) and the class they were made for. */
typedef struct {
  AmigoSelector *selectors[AMIGO_RESOURCE_LAST];
  AmigoWorkloadClass klass;
  gboolean made;
  AmigoWorkloadClass label;       /* an administrator's; UNKNOWN = none */
  gboolean kept;
  AmigoRequest request;           /* the current request, if @kept */
  gboolean handed;
  AmigoRequest handed_request;    /* the one last handed to the metadata */
  char *handed_json;
} DomainState;

struct _AmigoForecaster {
  AmigoHistory *history;          /* borrowed */
  AmigoForecasterOptions options;
  GHashTable *domains;            /* uuid -> DomainState */
};

void
amigo_forecaster_options_init (AmigoForecasterOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof (*options));
  options->step_usec = 5 * AMIGO_USEC_PER_MIN;
  options->history_usec = 8 * AMIGO_USEC_PER_DAY;
  options->quantile = 0.95;
  options->window.settle_usec = 10 * AMIGO_USEC_PER_MIN;
  options->window.link_bytes_s = 1e9 / 8;
}

void
amigo_domain_facts_init (AmigoDomainFacts *facts)
{
  g_return_if_fail (facts != NULL);
  facts->host_memory_gib = NAN;
  facts->memory_bytes = 0;
  facts->dirty_rate_mib_s = NAN;
  facts->label = AMIGO_WORKLOAD_CLASS_UNKNOWN;
}

static void
domain_state_clear_selectors (DomainState *st)
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    g_clear_pointer (&st->selectors[r], amigo_selector_free);
  st->made = FALSE;
}

static void
domain_state_free (gpointer data)
{
  DomainState *st = data;

  domain_state_clear_selectors (st);
  g_free (st->handed_json);
  g_free (st);
}

AmigoForecaster *
amigo_forecaster_new (AmigoHistory *history, const AmigoForecasterOptions *options)
{
  AmigoForecaster *self = g_new0 (AmigoForecaster, 1);

  g_return_val_if_fail (history != NULL, NULL);
  self->history = history;
  if (options != NULL)
    self->options = *options;
  else
    amigo_forecaster_options_init (&self->options);
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, domain_state_free);
  return self;
}

void
amigo_forecaster_free (AmigoForecaster *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->domains);
  g_free (self);
}

static DomainState *
domain_state (AmigoForecaster *self, const char *uuid)
{
  DomainState *st = g_hash_table_lookup (self->domains, uuid);

  if (st == NULL) {
    st = g_new0 (DomainState, 1);
    st->label = AMIGO_WORKLOAD_CLASS_UNKNOWN;
    g_hash_table_insert (self->domains, g_strdup (uuid), st);
  }
  return st;
}

void
amigo_forecaster_set_label (AmigoForecaster *self, const char *uuid, AmigoWorkloadClass label)
{
  domain_state (self, uuid)->label = label;
}

AmigoWorkloadClass
amigo_forecaster_get_label (AmigoForecaster *self, const char *uuid)
{
  DomainState *st = g_hash_table_lookup (self->domains, uuid);

  return st != NULL ? st->label : AMIGO_WORKLOAD_CLASS_UNKNOWN;
}

void
amigo_forecaster_keep (AmigoForecaster *self, const char *uuid, const AmigoRequest *request)
{
  DomainState *st = domain_state (self, uuid);

  st->request = *request;
  st->kept = TRUE;
}

const AmigoRequest *
amigo_forecaster_get_kept (AmigoForecaster *self, const char *uuid)
{
  DomainState *st = g_hash_table_lookup (self->domains, uuid);

  return st != NULL && st->kept ? &st->request : NULL;
}

static gboolean
moved (double a, double b)
{
  if (isfinite (a) != isfinite (b))
    return TRUE;
  if (!isfinite (a))
    return FALSE;
  return fabs (a - b) > AMIGO_FORECASTER_CHANGE * MAX (fabs (a), fabs (b));
}

/* Whether @a says something @b does not, for whoever admits the domain. */
static gboolean
differs (const AmigoRequest *a, const AmigoRequest *b)
{
  if (a->class_source != b->class_source ||
      a->reservation.classification.klass != b->reservation.classification.klass ||
      moved (a->host_memory_gib, b->host_memory_gib))
    return TRUE;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceReservation *x = &a->reservation.resources[r];
    const AmigoResourceReservation *y = &b->reservation.resources[r];
    if (x->present != y->present || (x->present && (moved (x->amount, y->amount) ||
                                                     strcmp (x->model, y->model) != 0)))
      return TRUE;
  }
  return FALSE;
}

char *
amigo_forecaster_metadata_json (AmigoForecaster *self, const char *uuid, gint64 now_usec, gint64 max_age_usec)
{
  DomainState *st = g_hash_table_lookup (self->domains, uuid);

  if (st == NULL || !st->kept)
    return NULL;
  /* Refreshed before half its age so the destination never finds it stale. */
  if (!st->handed || differs (&st->request, &st->handed_request) ||
      now_usec - st->handed_request.computed_usec > max_age_usec / 2) {
    g_free (st->handed_json);
    st->handed_json = amigo_request_to_json (&st->request);
    st->handed_request = st->request;
    st->handed = TRUE;
  }
  return g_strdup (st->handed_json);
}

void
amigo_forecaster_forget (AmigoForecaster *self, const char *uuid)
{
  g_hash_table_remove (self->domains, uuid);
}

guint
amigo_forecaster_get_n_domains (AmigoForecaster *self)
{
  return g_hash_table_size (self->domains);
}

/* ---- the domain's history as the forecast's resources ---- */

/* The series of every metric over the history window, in one read of the
 * store: @values[bin * AMIGO_METRIC_LAST + metric]. */
typedef struct {
  double *values;
  gint64 start_usec;
  guint n;
} MetricSeries;

static void
metric_series_clear (MetricSeries *ms)
{
  g_clear_pointer (&ms->values, g_free);
}

static gboolean
read_metrics (AmigoForecaster *self, const char *uuid, gint64 now_usec, MetricSeries *ms, GError **error)
{
  /* The last bin holds "now" and is still filling: its mean so far stands
   * for it, so a domain minutes old already has a request. */
  gint64 from = now_usec - self->options.history_usec;

  memset (ms, 0, sizeof (*ms));
  return amigo_history_series_all (self->history, uuid, self->options.step_usec, MAX (from, 0), now_usec, FALSE,
                                   &ms->values, &ms->n, &ms->start_usec, error);
}

static double
metric_at (const MetricSeries *ms, AmigoMetric m, guint i)
{
  return ms->values[(gsize) i * AMIGO_METRIC_LAST + m];
}

static gboolean
all_zero (const double *v, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (isfinite (v[i]) && v[i] != 0.0)
      return FALSE;
  }
  return TRUE;
}

static gboolean
any_finite (const double *v, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (isfinite (v[i]))
      return TRUE;
  }
  return FALSE;
}

/* The resources' series (amigo-resource-map.h), from the first bin where
 * anything is known. Memory is the VM's cost to its host (QEMU's resident
 * size) where it was recorded, else the guest's own figure: a pre-copy
 * migration fills the destination up to the pages the guest touched, page
 * cache included. @ret_values holds AMIGO_RESOURCE_LAST rows of @ret_n
 * values, the last @ret_n bins of @ms. */
static gboolean
build_resources (const MetricSeries *ms, double **ret_values, guint *ret_n, GError **error)
{
  g_autofree double *all = g_new (double, (gsize) AMIGO_RESOURCE_LAST * MAX (ms->n, 1));
  guint first = ms->n;
  gboolean host_memory = FALSE;

  for (guint i = 0; i < ms->n; i++) {
    if (isfinite (metric_at (ms, AMIGO_METRIC_HOST_MEMORY, i)))
      host_memory = TRUE;
  }
  for (guint i = 0; i < ms->n; i++) {
    AmigoSample sample;
    double v[AMIGO_RESOURCE_LAST];

    amigo_sample_init (&sample, 0);
    for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
      sample.values[m] = metric_at (ms, m, i);
    amigo_resource_values_from_sample (&sample, v);
    if (host_memory)
      v[AMIGO_RESOURCE_MEMORY] = sample.values[AMIGO_METRIC_HOST_MEMORY];
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
      all[(gsize) r * ms->n + i] = v[r];
      if (isfinite (v[r]) && i < first)
        first = i;
    }
  }
  if (first == ms->n) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                         "no usable sample in the history window");
    return FALSE;
  }
  *ret_n = ms->n - first;
  *ret_values = g_new (double, (gsize) AMIGO_RESOURCE_LAST * *ret_n);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    memcpy (*ret_values + (gsize) r * *ret_n, all + (gsize) r * ms->n + first, *ret_n * sizeof (double));
  return TRUE;
}

static double
last_finite (const AmigoSeries *s)
{
  for (gsize i = s->n_values; i > 0; i--) {
    if (isfinite (s->values[i - 1]))
      return s->values[i - 1];
  }
  return NAN;
}

static gboolean
check_window (const AmigoMigrationWindow *w, GError **error)
{
  if (w->duration_usec < 0 || w->duration_usec > AMIGO_REQUEST_WINDOW_MAX_USEC) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "migration window %" G_GINT64_FORMAT " s is outside 0 s (the model's estimate) to 7 days",
                 w->duration_usec / AMIGO_USEC_PER_SEC);
    return FALSE;
  }
  if (w->settle_usec < 0 || w->settle_usec > AMIGO_REQUEST_SETTLE_MAX_USEC) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "settle time %" G_GINT64_FORMAT " s is outside 0 s to 1 day", w->settle_usec / AMIGO_USEC_PER_SEC);
    return FALSE;
  }
  if (!(isfinite (w->link_bytes_s) && w->link_bytes_s >= AMIGO_REQUEST_LINK_MIN_MBIT_S * 1e6 / 8 &&
        w->link_bytes_s <= AMIGO_REQUEST_LINK_MAX_MBIT_S * 1e6 / 8)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "link bandwidth %g Mbit/s is outside 1 Mbit/s to 1 Tbit/s", w->link_bytes_s * 8 / 1e6);
    return FALSE;
  }
  return TRUE;
}

gboolean
amigo_forecaster_compute (AmigoForecaster *self,
                          const char *uuid,
                          const AmigoDomainFacts *facts,
                          gint64 now_usec,
                          const AmigoMigrationWindow *window,
                          AmigoRequest *ret,
                          GError **error)
{
  MetricSeries ms;
  g_autofree double *values = NULL;
  guint n = 0;
  gint64 start = 0;
  AmigoVmHistory vm;
  AmigoMigrationWindow w = window != NULL ? *window : self->options.window;
  static const AmigoResource every_domain_has[] = { AMIGO_RESOURCE_CPU, AMIGO_RESOURCE_MEMORY };
  AmigoReservationOptions ropt;
  AmigoClassification cls;
  AmigoRequest req;
  DomainState *st;
  gboolean ok;

  g_return_val_if_fail (self != NULL && uuid != NULL && facts != NULL && ret != NULL, FALSE);
  if (!check_window (&w, error))
    return FALSE;
  w.start_usec = now_usec;
  if (!read_metrics (self, uuid, now_usec, &ms, error))
    return FALSE;
  ok = build_resources (&ms, &values, &n, error);
  start = ms.start_usec + (gint64) (ms.n - n) * self->options.step_usec;
  metric_series_clear (&ms);
  if (!ok)
    return FALSE;

  memset (&vm, 0, sizeof (vm));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const double *v = values + (gsize) r * n;
    if (!any_finite (v, n))
      continue;   /* never measured: no reservation for it */
    /* The collector reads GPU memory 0 for a domain without a GPU. */
    if (r == AMIGO_RESOURCE_GPU_MEMORY && all_zero (v, n))
      continue;
    vm.resources[r] = (AmigoSeries) { start, self->options.step_usec, n, v };
  }
  /* Every domain has a CPU and memory: a request without either would let a
   * destination admit it for nothing. The first poll has no CPU yet (a rate
   * needs two readings). */
  for (guint i = 0; i < G_N_ELEMENTS (every_domain_has); i++) {
    if (vm.resources[every_domain_has[i]].values == NULL) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY, "no %s reading recorded yet",
                   amigo_resource_to_string (every_domain_has[i]));
      return FALSE;
    }
  }
  vm.memory_bytes = facts->memory_bytes;
  /* NAN: not known, which the overhead model takes as the expensive case
   * (the whole memory sent twice), never as a quiet guest. */
  vm.dirty_rate_bytes_s = facts->dirty_rate_mib_s * AMIGO_BYTES_PER_MIB;
  st = domain_state (self, uuid);
  vm.label = facts->label != AMIGO_WORKLOAD_CLASS_UNKNOWN ? facts->label : st->label;

  if (!amigo_classifier_classify (&vm, &cls, error))
    return FALSE;
  if (st->made && st->klass != cls.klass)
    domain_state_clear_selectors (st);   /* the prior depends on the class */
  if (!st->made) {
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
      AmigoSelectorOptions so;
      amigo_selector_options_init (&so);
      so.quantile = self->options.quantile;
      so.resource = r;
      so.workload = cls.klass;
      st->selectors[r] = amigo_selector_new (&so);
    }
    st->klass = cls.klass;
    st->made = TRUE;
  }
  amigo_reservation_options_init (&ropt);
  ropt.quantile = self->options.quantile;
  /* A window asked for once gets selectors of its own: the kept ones are
   * calibrated for the configured window and would rerun their backtest. */
  ropt.selectors = window == NULL ? st->selectors : NULL;

  memset (&req, 0, sizeof (req));
  if (!amigo_reservation_compute (&vm, &w, &ropt, &req.reservation, error))
    return FALSE;

  /* Memory as the destination will hold it: at least what the VM costs its
   * host now plus its forecast growth over the window. */
  req.host_memory_gib = facts->host_memory_gib;
  if (isfinite (facts->host_memory_gib) && req.reservation.resources[AMIGO_RESOURCE_MEMORY].present) {
    AmigoResourceReservation *mem = &req.reservation.resources[AMIGO_RESOURCE_MEMORY];
    double last = last_finite (&vm.resources[AMIGO_RESOURCE_MEMORY]);
    double growth = isfinite (last) ? MAX (mem->upper - last, 0.0) : 0.0;
    double floor = facts->host_memory_gib + growth;

    if (mem->upper < floor) {
      mem->upper = floor;
      mem->amount = mem->upper + mem->overhead;
    }
  }
  req.computed_usec = now_usec;
  req.class_source = vm.label != AMIGO_WORKLOAD_CLASS_UNKNOWN ? AMIGO_CLASS_SOURCE_LABEL
                                                             : AMIGO_CLASS_SOURCE_CLASSIFIER;
  *ret = req;
  return TRUE;
}
