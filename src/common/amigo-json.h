/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Typed member getters for JSON read from outside (metadata from another
 * host, saved models, D-Bus arguments, trace metadata). Each failure is
 * AMIGO_ERROR_BAD_DATA with a message that names the document and the
 * member's full path, e.g. "reservation JSON: 'resources.cpu.reserve' must
 * be a number".
 *
 * @what names the document ("reservation JSON"); @path is the path of @obj
 * inside it, ending in '.' ("" at the top, "resources.cpu." below); @name is
 * the member. */

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The member, or NULL with "'path.name' is missing". */
JsonNode *amigo_json_member (JsonObject *obj, const char *what, const char *path, const char *name,
                             GError **error);

/* A number (integer or floating point); with @nullable a JSON null reads as
 * NAN ("not known"). */
gboolean amigo_json_get_double (JsonObject *obj, const char *what, const char *path, const char *name,
                                gboolean nullable, double *ret, GError **error);

/* An integer not below @min. */
gboolean amigo_json_get_int (JsonObject *obj, const char *what, const char *path, const char *name,
                             gint64 min, gint64 *ret, GError **error);

gboolean amigo_json_get_boolean (JsonObject *obj, const char *what, const char *path, const char *name,
                                 gboolean *ret, GError **error);

/* Borrowed from @obj; NULL on error. */
const char *amigo_json_get_string (JsonObject *obj, const char *what, const char *path, const char *name,
                                   GError **error);
JsonObject *amigo_json_get_object (JsonObject *obj, const char *what, const char *path, const char *name,
                                   GError **error);
JsonArray *amigo_json_get_array (JsonObject *obj, const char *what, const char *path, const char *name,
                                 GError **error);

/* Lenient look-ups for members whose absence the caller reports itself:
 * the string, or NULL when absent or not a string; the integer, or
 * @fallback when absent or not an integer. */
const char *amigo_json_lookup_string (JsonObject *obj, const char *name);
gint64 amigo_json_lookup_int (JsonObject *obj, const char *name, gint64 fallback);

/* TRUE if @node is a JSON number (integer or floating point). */
gboolean amigo_json_node_is_number (JsonNode *node);

/* Parses @text (@len bytes, -1: NUL-terminated) and returns its root, which
 * must be an object; the error names @what. */
JsonNode *amigo_json_parse_object (const char *text, gssize len, const char *what, GError **error);

/* Adds member @name with number @value to the object @builder is in, or null
 * when @value is NAN or infinite (JSON has no such numbers). */
void amigo_json_builder_add_double (JsonBuilder *builder, const char *name, double value);

/* @node as compact JSON text. */
char *amigo_json_to_string (JsonNode *node);

/* The document @builder has built, as compact JSON text. */
char *amigo_json_builder_to_string (JsonBuilder *builder);

G_END_DECLS
