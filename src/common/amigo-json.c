/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-json.h"

#include <math.h>

#include "amigo-error.h"

JsonNode *
amigo_json_member (JsonObject *obj, const char *what, const char *path, const char *name, GError **error)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' is missing", what, path, name);
  return n;
}

const char *
amigo_json_lookup_string (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

gint64
amigo_json_lookup_int (JsonObject *obj, const char *name, gint64 fallback)
{
  JsonNode *n = json_object_get_member (obj, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (n);
}

gboolean
amigo_json_node_is_number (JsonNode *node)
{
  GType t;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  t = json_node_get_value_type (node);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

static void
set_type_error (GError **error, const char *what, const char *path, const char *name, const char *type)
{
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' must be %s", what, path, name, type);
}

/* Member @name if it is of the JSON kind @node_type (and, for a value, of
 * @value_type); else NULL with the error saying it is missing or must be
 * @expected. */
static JsonNode *
typed_member (JsonObject *obj, const char *what, const char *path, const char *name,
              JsonNodeType node_type, GType value_type, const char *expected, GError **error)
{
  JsonNode *n = amigo_json_member (obj, what, path, name, error);

  if (n == NULL)
    return NULL;
  if (JSON_NODE_TYPE (n) != node_type ||
      (node_type == JSON_NODE_VALUE && json_node_get_value_type (n) != value_type)) {
    set_type_error (error, what, path, name, expected);
    return NULL;
  }
  return n;
}

gboolean
amigo_json_get_double (JsonObject *obj, const char *what, const char *path, const char *name,
                       gboolean nullable, double *ret, GError **error)
{
  JsonNode *n = amigo_json_member (obj, what, path, name, error);

  if (n == NULL)
    return FALSE;
  if (nullable && JSON_NODE_HOLDS_NULL (n)) {
    *ret = NAN;
    return TRUE;
  }
  if (!amigo_json_node_is_number (n)) {
    set_type_error (error, what, path, name, "a number");
    return FALSE;
  }
  *ret = json_node_get_double (n);
  return TRUE;
}

gboolean
amigo_json_get_int (JsonObject *obj, const char *what, const char *path, const char *name,
                    gint64 min, gint64 *ret, GError **error)
{
  JsonNode *n = typed_member (obj, what, path, name, JSON_NODE_VALUE, G_TYPE_INT64, "an integer", error);
  gint64 v;

  if (n == NULL)
    return FALSE;
  v = json_node_get_int (n);
  if (v < min) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "%s: '%s%s' = %" G_GINT64_FORMAT " is below %" G_GINT64_FORMAT, what, path, name, v, min);
    return FALSE;
  }
  *ret = v;
  return TRUE;
}

gboolean
amigo_json_get_boolean (JsonObject *obj, const char *what, const char *path, const char *name,
                        gboolean *ret, GError **error)
{
  JsonNode *n = typed_member (obj, what, path, name, JSON_NODE_VALUE, G_TYPE_BOOLEAN, "true or false", error);

  if (n == NULL)
    return FALSE;
  *ret = json_node_get_boolean (n);
  return TRUE;
}

const char *
amigo_json_get_string (JsonObject *obj, const char *what, const char *path, const char *name, GError **error)
{
  JsonNode *n = typed_member (obj, what, path, name, JSON_NODE_VALUE, G_TYPE_STRING, "a string", error);

  return n != NULL ? json_node_get_string (n) : NULL;
}

JsonObject *
amigo_json_get_object (JsonObject *obj, const char *what, const char *path, const char *name, GError **error)
{
  JsonNode *n = typed_member (obj, what, path, name, JSON_NODE_OBJECT, G_TYPE_INVALID, "an object", error);

  return n != NULL ? json_node_get_object (n) : NULL;
}

JsonArray *
amigo_json_get_array (JsonObject *obj, const char *what, const char *path, const char *name, GError **error)
{
  JsonNode *n = typed_member (obj, what, path, name, JSON_NODE_ARRAY, G_TYPE_INVALID, "an array", error);

  return n != NULL ? json_node_get_array (n) : NULL;
}

JsonNode *
amigo_json_parse_object (const char *text, gssize len, const char *what, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: not JSON: %s", what, local->message);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: not a JSON object", what);
    return NULL;
  }
  return json_node_copy (root);
}

char *
amigo_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

void
amigo_json_builder_add_double (JsonBuilder *builder, const char *name, double value)
{
  json_builder_set_member_name (builder, name);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

char *
amigo_json_builder_to_string (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return amigo_json_to_string (root);
}
