/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-allocation.h"

G_BEGIN_DECLS

/* Reads the source host's reservation request (the JSON of an incoming
 * domain's <amigo:reservation>) into per resource amounts: each present
 * resource's amount (bound + migration overhead), memory at least QEMU's
 * resident size when the request was computed; absent resources are NAN.
 * A request older than @max_age_usec at @now_usec (or from the future by
 * more) is not trusted: AMIGO_ERROR_BAD_DATA saying how old it is. A
 * malformed one: the request parser's error.
 * Its own file: the request's header and the ledger's both name a type
 * AmigoReservation. */
gboolean amigo_admission_request_read (const char *json, gint64 now_usec, gint64 max_age_usec,
                                       AmigoAllocation *ret, GError **error);

G_END_DECLS
