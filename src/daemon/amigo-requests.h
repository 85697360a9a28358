/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-clock.h"
#include "amigo-domain-table.h"
#include "amigo-forecaster.h"
#include "amigo-request-options.h"

G_BEGIN_DECLS

/**
 * AmigoRequests: the daemon's reservation requests. Every metadata interval
 * a round computes the request of every tracked domain, a few milliseconds
 * of the main loop at a time (a cold forecast takes 2-3 ms; 500 of them in
 * one go would hold D-Bus callers for over a second), then hands over to
 * whoever writes them into the domains' metadata. It also answers
 * GetReservationRequest and keeps the administrators' workload labels.
 */
typedef struct _AmigoRequests AmigoRequests;

/* Called on the main context once a round has gone over every domain. */
typedef void (*AmigoRequestsRoundDone) (gpointer user_data);

/**
 * AmigoRequestsOptions:
 * @forecaster: the forecast options (history fed, quantile, the configured
 *   migration window).
 * @max_age_usec: a request older than this is stale: the destination does
 *   not trust it, GetReservationRequest recomputes it.
 * @slice_usec: how long one step of a round may hold the main loop.
 */
typedef struct {
  AmigoForecasterOptions forecaster;
  gint64 max_age_usec;
  gint64 slice_usec;
} AmigoRequestsOptions;

void amigo_requests_options_init (AmigoRequestsOptions *options);

/* @history, @domains and @clock are borrowed and outlive the object. */
AmigoRequests *amigo_requests_new (AmigoHistory *history,
                                   AmigoDomainTable *domains,
                                   AmigoClock *clock,
                                   const AmigoRequestsOptions *options);
void amigo_requests_free (AmigoRequests *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoRequests, amigo_requests_free)

/* Starts a round over the domains tracked now (a round still running goes
 * on and @done is called once, at its end). */
void amigo_requests_start_round (AmigoRequests *self, AmigoRequestsRoundDone done, gpointer user_data);

/* Whether a round is running. */
gboolean amigo_requests_round_running (AmigoRequests *self);

/* The request of tracked domain @uuid: with no option set, the one the last
 * round kept (computed now if there is none or it is stale); with options,
 * computed for this call only and not kept. @ret_window gets the window it
 * is for (the overhead model's duration when 0 was asked). Errors: NOT_FOUND,
 * INSUFFICIENT_HISTORY (saying how long to wait), INVALID_ARGS. */
gboolean amigo_requests_get (AmigoRequests *self,
                             const char *uuid,
                             const AmigoRequestOptions *options,
                             AmigoRequest *ret,
                             AmigoMigrationWindow *ret_window,
                             GError **error);

/* @uuid's kept request (the last round's), or NULL; borrowed until the
 * next round or call. */
const AmigoRequest *amigo_requests_get_kept (AmigoRequests *self, const char *uuid);

/* Whether @request is stale now. */
gboolean amigo_requests_is_stale (AmigoRequests *self, const AmigoRequest *request);

/* The administrator's label (NULL or "" clears it); AMIGO_ERROR_INVALID_ARGS
 * naming the classes for an unknown one. The kept request is recomputed. */
gboolean amigo_requests_set_label (AmigoRequests *self, const char *uuid, const char *klass, GError **error);

/* The label as stored in the metadata: NULL for none. */
const char *amigo_requests_get_label (AmigoRequests *self, const char *uuid);

/* The request text for @uuid's metadata (amigo_forecaster_metadata_json()). */
char *amigo_requests_metadata_json (AmigoRequests *self, const char *uuid);

/* The domain left. */
void amigo_requests_forget (AmigoRequests *self, const char *uuid);

/* Rounds run so far, and requests computed in them. */
guint amigo_requests_get_n_rounds (AmigoRequests *self);

G_END_DECLS
