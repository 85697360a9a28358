/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A GVariant as JSON: dictionaries (a{sv}, a{s*}) become objects with
 * their members sorted by key, other
 * arrays and tuples arrays, numbers and strings themselves; a non-finite
 * double becomes null (JSON has no NaN). */
JsonNode *amigo_format_variant_to_json (GVariant *value);

/* GetReservationRequest's reply (a{sv}, data/org.amigo.Daemon1.xml) as
 * amigoctl prints it: the class and its source, when it was computed
 * (relative to @now_usec) and whether it is stale, the migration window and
 * estimate, then a table with one row per resource. Keys that are missing
 * or of another type print as "-", never crash. */
char *amigo_format_forecast_text (GVariant *request, gint64 now_usec);

/* The same reply as one JSON object: the keys of the reply, with "json"
 * (the metadata's JSON form, a string on the bus) embedded as an object. */
JsonNode *amigo_format_forecast_json (GVariant *request);

G_END_DECLS
