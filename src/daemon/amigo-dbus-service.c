/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-dbus-service.h"

#include <math.h>
#include <string.h>

#include "amigo-config.h"
#include "amigo-dbus-generated.h"
#include "amigo-error.h"
#include "amigo-history.h"
#include "amigo-time.h"

/* A client may ask up to this far ahead (clock skew between hosts). */
#define FUTURE_SLACK_USEC AMIGO_USEC_PER_DAY

struct _AmigoDbusService {
  AmigoDbusServiceBackend backend;
  gpointer user_data;
  AmigoDaemon1 *skeleton;
  GDBusConnection *connection;
  guint owner_id;
};

AmigoDbusService *
amigo_dbus_service_new (const AmigoDbusServiceBackend *backend, gpointer user_data)
{
  AmigoDbusService *self = g_new0 (AmigoDbusService, 1);

  self->backend = *backend;
  self->user_data = user_data;
  return self;
}

void
amigo_dbus_service_free (AmigoDbusService *self)
{
  if (self == NULL)
    return;
  if (self->owner_id != 0)
    g_bus_unown_name (self->owner_id);
  if (self->backend.migrations != NULL) {
    AmigoMigrationsListener none = { NULL, NULL };

    amigo_migrations_set_listener (self->backend.migrations, &none, NULL);
  }
  if (self->skeleton != NULL) {
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
    g_object_unref (self->skeleton);
  }
  g_clear_object (&self->connection);
  g_free (self);
}

char *
amigo_dbus_service_valid_resources (void)
{
  return amigo_metric_join_names (NULL);
}

gboolean
amigo_dbus_service_resolve_domain (AmigoDbusService *self,
                                   const char *domain,
                                   char **ret_uuid,
                                   GError **error)
{
  GPtrArray *domains = self->backend.get_domains (self->user_data);
  g_autofree char *lower = NULL;

  if (domain == NULL || *domain == '\0') {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                         "expected a domain UUID or name, got an empty string");
    return FALSE;
  }
  lower = g_ascii_strdown (domain, -1);
  for (guint i = 0; domains != NULL && i < domains->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (domains, i);
    if (strcmp (d->uuid, lower) == 0) {
      *ret_uuid = g_strdup (d->uuid);
      return TRUE;
    }
  }
  for (guint i = 0; domains != NULL && i < domains->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (domains, i);
    if (g_strcmp0 (d->name, domain) == 0) {
      *ret_uuid = g_strdup (d->uuid);
      return TRUE;
    }
  }
  /* A domain that went away (or migrated off) keeps its history. */
  if (g_uuid_string_is_valid (lower) && self->backend.has_history != NULL &&
      self->backend.has_history (self->user_data, lower)) {
    *ret_uuid = g_steal_pointer (&lower);
    return TRUE;
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
               "no domain '%s': expected the UUID or name of a tracked domain", domain);
  return FALSE;
}

gboolean
amigo_dbus_service_check_range (AmigoDbusService *self,
                                gint64 from_usec,
                                gint64 to_usec,
                                GError **error)
{
  gint64 now_usec = self->backend.now_usec (self->user_data);
  gint64 oldest_usec = now_usec - self->backend.retention_usec;

  if (from_usec < 0 || to_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected times in microseconds since the epoch, got from %" G_GINT64_FORMAT
                 " to %" G_GINT64_FORMAT, from_usec, to_usec);
    return FALSE;
  }
  if (from_usec > to_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "the range starts after it ends: from %" G_GINT64_FORMAT " > to %" G_GINT64_FORMAT,
                 from_usec, to_usec);
    return FALSE;
  }
  if (to_usec > now_usec + FUTURE_SLACK_USEC) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "the range ends more than a day in the future: to %" G_GINT64_FORMAT
                 ", now %" G_GINT64_FORMAT, to_usec, now_usec);
    return FALSE;
  }
  if (from_usec < oldest_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "the range starts before the retention period: history is kept for %"
                 G_GINT64_FORMAT " s, so from must be at least %" G_GINT64_FORMAT,
                 self->backend.retention_usec / AMIGO_USEC_PER_SEC, oldest_usec);
    return FALSE;
  }
  return TRUE;
}

static gboolean
return_error (GDBusMethodInvocation *invocation, GError *error)
{
  amigo_error_convert (&error);
  g_dbus_method_invocation_return_gerror (invocation, error);
  g_error_free (error);
  return TRUE;
}

static gboolean
handle_get_status (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, AmigoDbusService *self)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

  self->backend.get_status (self->user_data, &dict);
  amigo_daemon1_complete_get_status (skeleton, invocation, g_variant_dict_end (&dict));
  return TRUE;
}

static gint
compare_by_name (gconstpointer a, gconstpointer b)
{
  const AmigoTrackedDomain *da = *(AmigoTrackedDomain * const *) a;
  const AmigoTrackedDomain *db = *(AmigoTrackedDomain * const *) b;
  gint r = g_strcmp0 (da->name, db->name);

  return r != 0 ? r : strcmp (da->uuid, db->uuid);
}

static gboolean
handle_list_domains (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, AmigoDbusService *self)
{
  GPtrArray *domains = self->backend.get_domains (self->user_data);
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  GVariantBuilder builder;

  for (guint i = 0; domains != NULL && i < domains->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (domains, i));
  g_ptr_array_sort (sorted, compare_by_name);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssxa{sd})"));
  for (guint i = 0; i < sorted->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (sorted, i);
    GVariantBuilder metrics;

    g_variant_builder_init (&metrics, G_VARIANT_TYPE ("a{sd}"));
    for (guint m = 0; m < AMIGO_METRIC_LAST; m++) {
      /* NaN is "not known": left out, since it has no JSON form. */
      if (isfinite (d->last.values[m]))
        g_variant_builder_add (&metrics, "{sd}", amigo_metric_to_string (m), d->last.values[m]);
    }
    g_variant_builder_add (&builder, "(ssxa{sd})", d->uuid, d->name ? d->name : "",
                           d->last.time_usec, &metrics);
  }
  amigo_daemon1_complete_list_domains (skeleton, invocation, g_variant_builder_end (&builder));
  return TRUE;
}

static gboolean
handle_get_history (AmigoDaemon1 *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char *domain,
                    const char *resource,
                    gint64 from_usec,
                    gint64 to_usec,
                    AmigoDbusService *self)
{
  g_autofree char *uuid = NULL;
  g_autoptr (GArray) points = NULL;
  GError *error = NULL;
  AmigoMetric metric;
  GVariantBuilder builder;
  guint n_known = 0;
  gint64 newest_start_usec = 0;

  if (!amigo_metric_from_string (resource, &metric)) {
    g_autofree char *valid = amigo_dbus_service_valid_resources ();
    return return_error (invocation,
                         g_error_new (AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                                      "unknown resource '%s': expected one of %s", resource, valid));
  }
  if (!amigo_dbus_service_check_range (self, from_usec, to_usec, &error))
    return return_error (invocation, error);
  if (!amigo_dbus_service_resolve_domain (self, domain, &uuid, &error))
    return return_error (invocation, error);

  points = self->backend.query_history (self->user_data, uuid, metric, from_usec, to_usec, &error);
  if (points == NULL) {
    /* A tracked domain whose first samples are not stored yet has an empty
     * history, not a missing one. */
    if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
      g_clear_error (&error);
      points = g_array_new (FALSE, FALSE, sizeof (AmigoHistoryPoint));
    } else {
      return return_error (invocation, error);
    }
  }

  /* No reply may come near the bus's message limit (128 MiB by default,
   * less on some buses): rather than cut the range silently, say how much
   * it holds and where the newest points that fit begin. */
  for (guint i = points->len; i-- > 0;) {
    const AmigoHistoryPoint *p = &g_array_index (points, AmigoHistoryPoint, i);
    if (!isfinite (p->mean))
      continue;
    if (++n_known > AMIGO_DBUS_MAX_HISTORY_POINTS)
      return return_error (invocation,
                           g_error_new (AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                                        "the range holds more than %u points, the most one reply carries: "
                                        "ask for a shorter range (the newest %u begin at %" G_GINT64_FORMAT " us)",
                                        AMIGO_DBUS_MAX_HISTORY_POINTS, AMIGO_DBUS_MAX_HISTORY_POINTS,
                                        newest_start_usec));
    newest_start_usec = p->time_usec;
  }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xdd)"));
  for (guint i = 0; i < points->len; i++) {
    const AmigoHistoryPoint *p = &g_array_index (points, AmigoHistoryPoint, i);
    if (!isfinite (p->mean))
      continue;
    g_variant_builder_add (&builder, "(xdd)", p->time_usec, p->mean,
                           isfinite (p->max) ? p->max : p->mean);
  }
  amigo_daemon1_complete_get_history (skeleton, invocation, g_variant_builder_end (&builder));
  return TRUE;
}

/* The reply of GetReservationRequest (data/org.amigo.Daemon1.xml). */
static void
add_double (GVariantDict *d, const char *key, double v)
{
  if (isfinite (v))
    g_variant_dict_insert (d, key, "d", v);
}

static GVariant *
request_to_variant (const char *name, const char *uuid, const AmigoRequest *req,
                    const AmigoMigrationWindow *window, gboolean stale)
{
  const AmigoReservation *res = &req->reservation;
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_auto (GVariantDict) migration = G_VARIANT_DICT_INIT (NULL);
  g_autofree char *json = amigo_request_to_json (req);
  GVariantBuilder resources;

  g_variant_dict_insert (&dict, "domain", "s", name);
  g_variant_dict_insert (&dict, "uuid", "s", uuid);
  g_variant_dict_insert (&dict, "computed_usec", "x", req->computed_usec);
  g_variant_dict_insert (&dict, "stale", "b", stale);
  g_variant_dict_insert (&dict, "class", "s", amigo_workload_class_to_string (res->classification.klass));
  g_variant_dict_insert (&dict, "class_source", "s", amigo_class_source_to_string (req->class_source));
  g_variant_dict_insert (&dict, "quantile", "d", res->quantile);
  g_variant_dict_insert (&dict, "start_usec", "x", res->start_usec);
  g_variant_dict_insert (&dict, "end_usec", "x", res->end_usec);
  g_variant_dict_insert (&dict, "window_usec", "x", window->duration_usec);
  g_variant_dict_insert (&dict, "settle_usec", "x", window->settle_usec);
  g_variant_dict_insert (&dict, "link_mbit_s", "d", window->link_bytes_s * 8 / 1e6);
  add_double (&dict, "host_memory_gib", req->host_memory_gib);
  g_variant_dict_insert (&dict, "dirty_rate_known", "b", res->migration.dirty_rate_known);

  g_variant_dict_insert (&migration, "duration_usec", "x", res->migration.duration_usec);
  g_variant_dict_insert (&migration, "downtime_usec", "x", res->migration.downtime_usec);
  g_variant_dict_insert (&migration, "bytes_sent", "t", res->migration.bytes_sent);
  g_variant_dict_insert (&migration, "rounds", "u", res->migration.rounds);
  g_variant_dict_insert (&migration, "converges", "b", res->migration.converges);
  g_variant_dict_insert_value (&dict, "migration", g_variant_dict_end (&migration));

  g_variant_builder_init (&resources, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceReservation *rr = &res->resources[r];
    g_auto (GVariantDict) e = G_VARIANT_DICT_INIT (NULL);

    if (!rr->present)
      continue;
    g_variant_dict_insert (&e, "unit", "s", amigo_resource_unit (r));
    add_double (&e, "reserve", rr->amount);
    add_double (&e, "bound", rr->upper);
    add_double (&e, "mean", rr->mean);
    add_double (&e, "overhead", rr->overhead);
    g_variant_dict_insert (&e, "method", "s", rr->model);
    add_double (&e, "coverage", rr->coverage);
    add_double (&e, "score", rr->score);
    g_variant_builder_add (&resources, "{s@a{sv}}", amigo_resource_to_string (r), g_variant_dict_end (&e));
  }
  g_variant_dict_insert_value (&dict, "resources", g_variant_builder_end (&resources));
  g_variant_dict_insert (&dict, "json", "s", json);
  return g_variant_dict_end (&dict);
}

static const char *
domain_name (AmigoDbusService *self, const char *uuid)
{
  GPtrArray *list = self->backend.get_domains (self->user_data);

  for (guint i = 0; list != NULL && i < list->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    if (strcmp (d->uuid, uuid) == 0)
      return d->name;
  }
  return uuid;
}

static gboolean
handle_get_reservation_request (AmigoDaemon1 *skeleton,
                                GDBusMethodInvocation *invocation,
                                const char *domain,
                                GVariant *options,
                                AmigoDbusService *self)
{
  g_autofree char *uuid = NULL;
  GError *error = NULL;
  AmigoRequestOptions opts = { 0 };
  AmigoRequest req;
  AmigoMigrationWindow window;
  gboolean stale = FALSE;

  if (!amigo_request_options_parse (options, &opts, &error))
    return return_error (invocation, error);
  if (!amigo_dbus_service_resolve_domain (self, domain, &uuid, &error))
    return return_error (invocation, error);
  if (self->backend.get_request == NULL)
    return return_error (invocation, g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                                                          "this amigod computes no reservation requests"));
  if (!self->backend.get_request (self->user_data, uuid, &opts, &req, &window, &stale, &error))
    return return_error (invocation, error);
  amigo_daemon1_complete_get_reservation_request (skeleton, invocation,
                                                  request_to_variant (domain_name (self, uuid), uuid, &req,
                                                                      &window, stale));
  return TRUE;
}

static gboolean
handle_set_workload_class (AmigoDaemon1 *skeleton,
                           GDBusMethodInvocation *invocation,
                           const char *domain,
                           const char *klass,
                           AmigoDbusService *self)
{
  g_autofree char *uuid = NULL;
  GError *error = NULL;

  if (!amigo_dbus_service_resolve_domain (self, domain, &uuid, &error))
    return return_error (invocation, error);
  if (self->backend.set_workload_class == NULL)
    return return_error (invocation, g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                                                          "this amigod keeps no workload labels"));
  if (!self->backend.set_workload_class (self->user_data, uuid, klass, &error))
    return return_error (invocation, error);
  amigo_daemon1_complete_set_workload_class (skeleton, invocation);
  return TRUE;
}

/* ---- the reservation ledger (amigo-admission) ---- */

static gboolean
no_ledger (GDBusMethodInvocation *invocation)
{
  return return_error (invocation, g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                                                        "this amigod keeps no reservation ledger"));
}

static gboolean
handle_admit_migration (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *xml,
                        GVariant *options, AmigoDbusService *self)
{
  g_autofree char *out = NULL;
  GVariant *info = NULL;
  GError *error = NULL;

  if (self->backend.admission == NULL)
    return no_ledger (invocation);
  if (!amigo_admission_admit (self->backend.admission, xml, self->backend.now_usec (self->user_data), &out, &info,
                              &error))
    return return_error (invocation, error);
  amigo_daemon1_complete_admit_migration (skeleton, invocation, out, info);
  return TRUE;
}

static gboolean
handle_release_reservation (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *uuid,
                            const char *reason, AmigoDbusService *self)
{
  GError *error = NULL;

  if (self->backend.admission == NULL)
    return no_ledger (invocation);
  if (!amigo_admission_release (self->backend.admission, uuid, reason, &error))
    return return_error (invocation, error);
  amigo_daemon1_complete_release_reservation (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_get_ledger (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, AmigoDbusService *self)
{
  if (self->backend.admission == NULL)
    return no_ledger (invocation);
  amigo_daemon1_complete_get_ledger (skeleton, invocation, amigo_admission_get_ledger (self->backend.admission));
  return TRUE;
}

static gboolean
handle_list_reservations (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, AmigoDbusService *self)
{
  if (self->backend.admission == NULL)
    return no_ledger (invocation);
  amigo_daemon1_complete_list_reservations (skeleton, invocation,
                                            amigo_admission_list_reservations (self->backend.admission));
  return TRUE;
}

static gboolean
handle_get_controllers (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                        AmigoDbusService *self)
{
  g_autofree char *uuid = NULL;
  GError *error = NULL;
  GVariant *controllers;

  if (!amigo_dbus_service_resolve_domain (self, domain, &uuid, &error))
    return return_error (invocation, error);
  if (self->backend.get_controllers == NULL)
    return return_error (invocation, g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                                                          "this amigod runs no allocation loops"));
  controllers = self->backend.get_controllers (self->user_data, uuid, &error);
  if (controllers == NULL)
    return return_error (invocation, error);
  amigo_daemon1_complete_get_controllers (skeleton, invocation, controllers);
  return TRUE;
}

/* ---- outgoing migrations (amigo-migrations) ---- */

static gboolean
no_migrations (GDBusMethodInvocation *invocation)
{
  return return_error (invocation, g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                                                        "this amigod does not migrate domains"));
}

/* Migrate's reply, now or once the start within a deadline is chosen. */
static void
on_migration_started (gpointer user_data, const char *id, GVariant *plan)
{
  GDBusMethodInvocation *invocation = user_data;

  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s@a{sv})", id, plan));
}

static gboolean
handle_migrate (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                const char *dest_uri, GVariant *options, AmigoDbusService *self)
{
  g_autofree char *uuid = NULL;
  GError *error = NULL;

  if (self->backend.migrations == NULL)
    return no_migrations (invocation);
  if (!amigo_dbus_service_resolve_domain (self, domain, &uuid, &error))
    return return_error (invocation, error);
  if (!amigo_migrations_start (self->backend.migrations, uuid, dest_uri, options, on_migration_started, invocation,
                               &error))
    return return_error (invocation, error);
  return TRUE;
}

static gboolean
handle_cancel_migration (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *id,
                         AmigoDbusService *self)
{
  GError *error = NULL;

  if (self->backend.migrations == NULL)
    return no_migrations (invocation);
  if (!amigo_migrations_cancel (self->backend.migrations, id, &error))
    return return_error (invocation, error);
  amigo_daemon1_complete_cancel_migration (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_list_migrations (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, AmigoDbusService *self)
{
  if (self->backend.migrations == NULL)
    return no_migrations (invocation);
  amigo_daemon1_complete_list_migrations (skeleton, invocation, amigo_migrations_list (self->backend.migrations));
  return TRUE;
}

static void
on_migration_progress (gpointer user_data, const char *id, const char *domain, GVariant *progress)
{
  AmigoDbusService *self = user_data;

  amigo_daemon1_emit_migration_progress (self->skeleton, id, domain, progress);
}

static void
on_migration_finished (gpointer user_data, const char *id, const char *domain, GVariant *result)
{
  AmigoDbusService *self = user_data;

  amigo_daemon1_emit_migration_finished (self->skeleton, id, domain, result);
}

gboolean
amigo_dbus_service_start (AmigoDbusService *self,
                          GDBusConnection *connection,
                          const char *bus_name,
                          GBusNameAcquiredCallback name_acquired,
                          GBusNameLostCallback name_lost,
                          gpointer callback_data,
                          GError **error)
{
  g_return_val_if_fail (self->skeleton == NULL, FALSE);

  self->connection = g_object_ref (connection);
  self->skeleton = amigo_daemon1_skeleton_new ();
  amigo_daemon1_set_version (self->skeleton, AMIGO_VERSION);
  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  g_signal_connect (self->skeleton, "handle-list-domains", G_CALLBACK (handle_list_domains), self);
  g_signal_connect (self->skeleton, "handle-get-history", G_CALLBACK (handle_get_history), self);
  g_signal_connect (self->skeleton, "handle-get-reservation-request", G_CALLBACK (handle_get_reservation_request),
                    self);
  g_signal_connect (self->skeleton, "handle-set-workload-class", G_CALLBACK (handle_set_workload_class), self);
  g_signal_connect (self->skeleton, "handle-admit-migration", G_CALLBACK (handle_admit_migration), self);
  g_signal_connect (self->skeleton, "handle-release-reservation", G_CALLBACK (handle_release_reservation), self);
  g_signal_connect (self->skeleton, "handle-get-ledger", G_CALLBACK (handle_get_ledger), self);
  g_signal_connect (self->skeleton, "handle-list-reservations", G_CALLBACK (handle_list_reservations), self);
  g_signal_connect (self->skeleton, "handle-get-controllers", G_CALLBACK (handle_get_controllers), self);
  g_signal_connect (self->skeleton, "handle-migrate", G_CALLBACK (handle_migrate), self);
  g_signal_connect (self->skeleton, "handle-cancel-migration", G_CALLBACK (handle_cancel_migration), self);
  g_signal_connect (self->skeleton, "handle-list-migrations", G_CALLBACK (handle_list_migrations), self);
  if (self->backend.migrations != NULL) {
    AmigoMigrationsListener listener = { on_migration_progress, on_migration_finished };

    amigo_migrations_set_listener (self->backend.migrations, &listener, self);
  }
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         AMIGO_DBUS_PATH, error))
    return FALSE;
  self->owner_id = g_bus_own_name_on_connection (connection, bus_name, G_BUS_NAME_OWNER_FLAGS_NONE,
                                                 name_acquired, name_lost, callback_data, NULL);
  return TRUE;
}
