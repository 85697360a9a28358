/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-requests.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-log.h"
#include "amigo-time.h"

struct _AmigoRequests {
  AmigoHistory *history;        /* borrowed */
  AmigoDomainTable *domains;    /* borrowed */
  AmigoClock *clock;            /* borrowed */
  AmigoRequestsOptions options;
  AmigoForecaster *forecaster;

  GQueue pending;               /* uuids (owned) left in the round */
  guint idle_id;
  AmigoRequestsRoundDone done;
  gpointer done_data;
  guint n_rounds;
  guint round_computed, round_failed;
};

void
amigo_requests_options_init (AmigoRequestsOptions *options)
{
  g_return_if_fail (options != NULL);
  amigo_forecaster_options_init (&options->forecaster);
  options->max_age_usec = 15 * AMIGO_USEC_PER_MIN;
  options->slice_usec = 20 * AMIGO_USEC_PER_MSEC;
}

AmigoRequests *
amigo_requests_new (AmigoHistory *history,
                    AmigoDomainTable *domains,
                    AmigoClock *clock,
                    const AmigoRequestsOptions *options)
{
  AmigoRequests *self = g_new0 (AmigoRequests, 1);

  self->history = history;
  self->domains = domains;
  self->clock = clock;
  if (options != NULL)
    self->options = *options;
  else
    amigo_requests_options_init (&self->options);
  self->forecaster = amigo_forecaster_new (history, &self->options.forecaster);
  g_queue_init (&self->pending);
  return self;
}

void
amigo_requests_free (AmigoRequests *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->idle_id, g_source_remove);
  g_queue_clear_full (&self->pending, g_free);
  amigo_forecaster_free (self->forecaster);
  g_free (self);
}

/* What the last poll knows of @d beside its history. */
static void
facts_of (AmigoRequests *self, const AmigoTrackedDomain *d, AmigoDomainFacts *ret)
{
  amigo_domain_facts_init (ret);
  ret->host_memory_gib = d->last.values[AMIGO_METRIC_HOST_MEMORY];
  ret->dirty_rate_mib_s = d->last.values[AMIGO_METRIC_DIRTY_RATE];
  ret->label = amigo_forecaster_get_label (self->forecaster, d->uuid);
}

static gboolean
compute (AmigoRequests *self,
         const AmigoTrackedDomain *d,
         const AmigoMigrationWindow *window,
         AmigoRequest *ret,
         GError **error)
{
  AmigoDomainFacts facts;
  g_autoptr (GError) local = NULL;

  facts_of (self, d, &facts);
  if (amigo_forecaster_compute (self->forecaster, d->uuid, &facts, amigo_clock_get_wall_usec (self->clock), window,
                                ret, &local))
    return TRUE;
  /* A domain tracked since the last poll has nothing stored yet. */
  if (g_error_matches (local, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND) ||
      g_error_matches (local, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                 "'%s' has no recorded usage yet: its first request comes with the first samples stored, "
                 "after the next poll", d->name);
    return FALSE;
  }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* ---- rounds ---- */

static void
round_end (AmigoRequests *self)
{
  AmigoRequestsRoundDone done = self->done;
  gpointer data = self->done_data;

  self->idle_id = 0;
  self->done = NULL;
  self->done_data = NULL;
  self->n_rounds++;
  g_debug ("reservation requests: %u computed, %u not (yet)", self->round_computed, self->round_failed);
  if (done != NULL)
    done (data);
}

static gboolean
on_round_step (gpointer user_data)
{
  AmigoRequests *self = user_data;
  gint64 until = g_get_monotonic_time () + self->options.slice_usec;
  char *uuid;

  /* At least one domain per step, however slow. */
  do {
    g_autofree char *owned = uuid = g_queue_pop_head (&self->pending);
    AmigoTrackedDomain *d;
    g_autoptr (GError) error = NULL;
    AmigoRequest req;

    if (uuid == NULL) {
      round_end (self);
      return G_SOURCE_REMOVE;
    }
    d = amigo_domain_table_lookup (self->domains, uuid);
    if (d == NULL)
      continue;   /* left during the round */
    if (compute (self, d, NULL, &req, &error)) {
      amigo_forecaster_keep (self->forecaster, uuid, &req);
      self->round_computed++;
    } else {
      amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "no reservation request for '%s': %s", d->name,
                        error->message);
      self->round_failed++;
    }
  } while (g_get_monotonic_time () < until);
  return G_SOURCE_CONTINUE;
}

void
amigo_requests_start_round (AmigoRequests *self, AmigoRequestsRoundDone done, gpointer user_data)
{
  GPtrArray *list = amigo_domain_table_get_list (self->domains);

  if (self->idle_id != 0)
    return;   /* the running round ends first */
  for (guint i = 0; i < list->len; i++)
    g_queue_push_tail (&self->pending, g_strdup (((AmigoTrackedDomain *) g_ptr_array_index (list, i))->uuid));
  self->done = done;
  self->done_data = user_data;
  self->round_computed = self->round_failed = 0;
  /* below D-Bus calls and polls */
  self->idle_id = g_idle_add_full (G_PRIORITY_LOW, on_round_step, self, NULL);
}

gboolean
amigo_requests_round_running (AmigoRequests *self)
{
  return self->idle_id != 0;
}

guint
amigo_requests_get_n_rounds (AmigoRequests *self)
{
  return self->n_rounds;
}

/* ---- on demand ---- */

const AmigoRequest *
amigo_requests_get_kept (AmigoRequests *self, const char *uuid)
{
  return amigo_forecaster_get_kept (self->forecaster, uuid);
}

gboolean
amigo_requests_is_stale (AmigoRequests *self, const AmigoRequest *request)
{
  return amigo_request_is_stale (request, amigo_clock_get_wall_usec (self->clock), self->options.max_age_usec);
}

gboolean
amigo_requests_get (AmigoRequests *self,
                    const char *uuid,
                    const AmigoRequestOptions *options,
                    AmigoRequest *ret,
                    AmigoMigrationWindow *ret_window,
                    GError **error)
{
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);
  AmigoMigrationWindow window = self->options.forecaster.window;
  gboolean asked = options != NULL && (options->has_window || options->has_settle || options->has_link);
  const AmigoRequest *kept;

  if (d == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no running domain '%s' on this host", uuid);
    return FALSE;
  }
  if (options != NULL && !amigo_request_options_check (options, error))
    return FALSE;
  if (asked) {
    if (options->has_window)
      window.duration_usec = options->window_usec;
    if (options->has_settle)
      window.settle_usec = options->settle_usec;
    if (options->has_link)
      window.link_bytes_s = options->link_mbit_s * 1e6 / 8;
    if (!compute (self, d, &window, ret, error))
      return FALSE;
  } else {
    kept = amigo_forecaster_get_kept (self->forecaster, uuid);
    if (kept != NULL && !amigo_requests_is_stale (self, kept)) {
      *ret = *kept;
    } else {
      if (!compute (self, d, NULL, ret, error))
        return FALSE;
      amigo_forecaster_keep (self->forecaster, uuid, ret);
    }
  }
  if (ret_window != NULL) {
    *ret_window = window;
    ret_window->start_usec = ret->reservation.start_usec;
    if (window.duration_usec == 0)
      ret_window->duration_usec = ret->reservation.migration.duration_usec;
  }
  return TRUE;
}

/* ---- labels and metadata ---- */

gboolean
amigo_requests_set_label (AmigoRequests *self, const char *uuid, const char *klass, GError **error)
{
  AmigoWorkloadClass label = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  AmigoTrackedDomain *d;
  AmigoRequest req;
  g_autoptr (GError) local = NULL;

  if (klass != NULL && *klass != '\0' &&
      (!amigo_workload_class_from_string (klass, &label) || label == AMIGO_WORKLOAD_CLASS_UNKNOWN)) {
    g_autofree char *names = amigo_workload_class_join_labels ();

    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "unknown workload class '%s': expected one of %s, or '' to clear the label", klass, names);
    return FALSE;
  }
  amigo_forecaster_set_label (self->forecaster, uuid, label);
  d = amigo_domain_table_lookup (self->domains, uuid);
  if (d != NULL && compute (self, d, NULL, &req, &local))
    amigo_forecaster_keep (self->forecaster, uuid, &req);
  return TRUE;
}

const char *
amigo_requests_get_label (AmigoRequests *self, const char *uuid)
{
  AmigoWorkloadClass label = amigo_forecaster_get_label (self->forecaster, uuid);

  return label != AMIGO_WORKLOAD_CLASS_UNKNOWN ? amigo_workload_class_to_string (label) : NULL;
}

char *
amigo_requests_metadata_json (AmigoRequests *self, const char *uuid)
{
  return amigo_forecaster_metadata_json (self->forecaster, uuid, amigo_clock_get_wall_usec (self->clock),
                                         self->options.max_age_usec);
}

void
amigo_requests_forget (AmigoRequests *self, const char *uuid)
{
  amigo_forecaster_forget (self->forecaster, uuid);
}
