/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "amigo-admission.h"
#include "amigo-domain-table.h"
#include "amigo-metric.h"
#include "amigo-migrations.h"
#include "amigo-request-options.h"
#include "amigo-request.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/**
 * AmigoDbusServiceBackend:
 * @get_status: adds the GetStatus fields to @dict.
 * @get_domains: the domains tracked now (borrowed GPtrArray of
 *   AmigoTrackedDomain *).
 * @has_history: (nullable): whether the store has history for @uuid, for
 *   domains that are not tracked any more.
 * @query_history: the points of one metric of one domain (a GArray of
 *   AmigoHistoryPoint), or NULL with an error.
 * @now_usec: the daemon's wall clock (simulated in the benchmark).
 * @get_request: (nullable): a tracked domain's reservation request for
 *   GetReservationRequest (options already checked), whether it is stale,
 *   and the migration window it is for.
 * @set_workload_class: (nullable): an administrator's label ("" clears).
 * @get_controllers: (nullable): the allocation loops' history of a domain
 *   for GetControllers (aa{sv}), or NULL with an error.
 * @retention_usec: how far back history is kept.
 * @admission: (nullable): the host's reservation ledger, for AdmitMigration,
 *   ReleaseReservation, GetLedger and ListReservations (borrowed).
 * @migrations: (nullable): the outgoing migrations, for Migrate,
 *   CancelMigration, ListMigrations and their signals (borrowed).
 *
 * What the D-Bus service needs from the daemon. Arguments are validated
 * before the backend is called: @query_history sees a known metric, a
 * resolved UUID and a sane time range.
 */
typedef struct {
  void (*get_status) (gpointer user_data, GVariantDict *dict);
  GPtrArray *(*get_domains) (gpointer user_data);
  gboolean (*has_history) (gpointer user_data, const char *uuid);
  GArray *(*query_history) (gpointer user_data,
                            const char *uuid,
                            AmigoMetric metric,
                            gint64 from_usec,
                            gint64 to_usec,
                            GError **error);
  gint64 (*now_usec) (gpointer user_data);
  gboolean (*get_request) (gpointer user_data,
                           const char *uuid,
                           const AmigoRequestOptions *options,
                           AmigoRequest *ret,
                           AmigoMigrationWindow *ret_window,
                           gboolean *ret_stale,
                           GError **error);
  gboolean (*set_workload_class) (gpointer user_data, const char *uuid, const char *klass, GError **error);
  GVariant *(*get_controllers) (gpointer user_data, const char *uuid, GError **error);
  gint64 retention_usec;
  AmigoAdmission *admission;
  AmigoMigrations *migrations;
} AmigoDbusServiceBackend;

/* The most points one GetHistory reply carries (24 bytes each: 2.4 MB,
 * far below the bus's message limit). */
#define AMIGO_DBUS_MAX_HISTORY_POINTS 100000u

typedef struct _AmigoDbusService AmigoDbusService;

/* @backend is copied; @user_data is passed to its functions. */
AmigoDbusService *amigo_dbus_service_new (const AmigoDbusServiceBackend *backend,
                                          gpointer user_data);
void amigo_dbus_service_free (AmigoDbusService *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoDbusService, amigo_dbus_service_free)

/* Exports org.amigo.Daemon1 at /org/amigo/Daemon1 on @connection and asks
 * for the well-known name @bus_name; @name_acquired / @name_lost are called
 * once it is owned, or could not be owned or was lost. */
gboolean amigo_dbus_service_start (AmigoDbusService *self,
                                   GDBusConnection *connection,
                                   const char *bus_name,
                                   GBusNameAcquiredCallback name_acquired,
                                   GBusNameLostCallback name_lost,
                                   gpointer callback_data,
                                   GError **error);

/* Resolves a domain argument (UUID in any case, or name) to a UUID. Fails
 * with AMIGO_ERROR_NOT_FOUND naming it. Exposed for tests. */
gboolean amigo_dbus_service_resolve_domain (AmigoDbusService *self,
                                            const char *domain,
                                            char **ret_uuid,
                                            GError **error);

/* Checks a GetHistory time range against the clock and the retention. */
gboolean amigo_dbus_service_check_range (AmigoDbusService *self,
                                         gint64 from_usec,
                                         gint64 to_usec,
                                         GError **error);

/* The message listing the valid resource names, e.g. for amigoctl. */
char *amigo_dbus_service_valid_resources (void);

G_END_DECLS
