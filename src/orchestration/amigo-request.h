/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo/amigo-reservation.h"

G_BEGIN_DECLS

/**
 * AmigoRequest: a domain's reservation request, as the source host computes
 * it and writes it into the domain's live metadata (<amigo:reservation>,
 * docs/reservation-request.md) and as the destination reads it back.
 *
 * JSON form, version AMIGO_REQUEST_VERSION:
 *   {"request_version":1, "computed_usec":..., "class_source":"classifier"|"label",
 *    "host_memory_gib":<number|null>,
 *    "reservation":{ amigo_reservation_to_json()'s object }}
 */
#define AMIGO_REQUEST_VERSION 1

/**
 * AmigoClassSource:
 * @AMIGO_CLASS_SOURCE_CLASSIFIER: the class was derived from the history.
 * @AMIGO_CLASS_SOURCE_LABEL: an administrator labelled the domain.
 * @AMIGO_CLASS_SOURCE_PRIOR: the destination had no request and used the
 *   declared size and class prior.
 */
typedef enum {
  AMIGO_CLASS_SOURCE_CLASSIFIER,
  AMIGO_CLASS_SOURCE_LABEL,
  AMIGO_CLASS_SOURCE_PRIOR,
  AMIGO_CLASS_SOURCE_LAST
} AmigoClassSource;

const char *amigo_class_source_to_string (AmigoClassSource source);
gboolean amigo_class_source_from_string (const char *name, AmigoClassSource *ret_source);

/**
 * AmigoRequest:
 * @reservation: per resource what to reserve, the bound, the mean, the
 *   migration's overhead and the method.
 * @computed_usec: wall clock when it was computed (epoch usec).
 * @class_source: where the workload class came from.
 * @host_memory_gib: QEMU's resident size when computed, the floor of the
 *   memory reservation; NAN if not known.
 */
typedef struct {
  AmigoReservation reservation;
  gint64 computed_usec;
  AmigoClassSource class_source;
  double host_memory_gib;
} AmigoRequest;

char *amigo_request_to_json (const AmigoRequest *request);

/* AMIGO_ERROR_BAD_DATA naming the member at fault for anything malformed,
 * AMIGO_ERROR_NOT_SUPPORTED for another request_version. */
gboolean amigo_request_from_json (const char *json, AmigoRequest *ret, GError **error);

/* TRUE if @request is older than @max_age_usec at @now_usec (or from the
 * future by more than that: a wrong clock is not trusted either). */
gboolean amigo_request_is_stale (const AmigoRequest *request, gint64 now_usec, gint64 max_age_usec);

G_END_DECLS
