/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-request.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-json.h"
#include "amigo-metadata.h"

#define WHAT "reservation request"

AMIGO_ENUM_IMPL (amigo_class_source, AmigoClassSource, AMIGO_CLASS_SOURCE_LAST, NULL,
                 [AMIGO_CLASS_SOURCE_CLASSIFIER] = "classifier",
                 [AMIGO_CLASS_SOURCE_LABEL] = "label",
                 [AMIGO_CLASS_SOURCE_PRIOR] = "prior")
AMIGO_ENUM_IMPL_FROM_STRING (amigo_class_source, AmigoClassSource, AMIGO_ENUM_NAMES (amigo_class_source_names))

char *
amigo_request_to_json (const AmigoRequest *request)
{
  g_autofree char *reservation = NULL;
  g_autoptr(JsonObject) head = json_object_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *head_text = NULL;
  gsize len;

  g_return_val_if_fail (request != NULL, NULL);
  json_object_set_int_member (head, "request_version", AMIGO_REQUEST_VERSION);
  json_object_set_int_member (head, "computed_usec", request->computed_usec);
  json_object_set_string_member (head, "class_source", amigo_class_source_to_string (request->class_source));
  if (isfinite (request->host_memory_gib))
    json_object_set_double_member (head, "host_memory_gib", request->host_memory_gib);
  else
    json_object_set_null_member (head, "host_memory_gib");
  json_node_set_object (node, head);
  head_text = amigo_json_to_string (node);
  /* The reservation is a JSON object already: appended as it is, not parsed
   * back into a tree (amigod writes one request per domain and interval). */
  reservation = amigo_reservation_to_json (&request->reservation);
  len = strlen (head_text);
  g_return_val_if_fail (len >= 2 && head_text[len - 1] == '}', NULL);
  head_text[len - 1] = '\0';
  return g_strdup_printf ("%s,\"reservation\":%s}", head_text, reservation);
}

gboolean
amigo_request_from_json (const char *json, AmigoRequest *ret, GError **error)
{
  g_autoptr(JsonNode) root_node = NULL;
  g_autofree char *reservation = NULL;
  JsonObject *root, *res;
  AmigoRequest req;
  gint64 version;
  const char *source;

  g_return_val_if_fail (ret != NULL, FALSE);
  if (json == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, WHAT ": empty");
    return FALSE;
  }
  if (strlen (json) > AMIGO_METADATA_MAX_RESERVATION_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, WHAT ": longer than %d bytes",
                 AMIGO_METADATA_MAX_RESERVATION_BYTES);
    return FALSE;
  }
  root_node = amigo_json_parse_object (json, -1, WHAT, error);
  if (root_node == NULL)
    return FALSE;
  root = json_node_get_object (root_node);
  memset (&req, 0, sizeof (req));
  if (!amigo_json_get_int (root, WHAT, "", "request_version", 1, &version, error))
    return FALSE;
  if (version != AMIGO_REQUEST_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 WHAT ": version %" G_GINT64_FORMAT " is not supported (this amigo reads version %d)",
                 version, AMIGO_REQUEST_VERSION);
    return FALSE;
  }
  if (!amigo_json_get_int (root, WHAT, "", "computed_usec", 0, &req.computed_usec, error))
    return FALSE;
  source = amigo_json_get_string (root, WHAT, "", "class_source", error);
  if (source == NULL)
    return FALSE;
  if (!amigo_class_source_from_string (source, &req.class_source)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, WHAT ": 'class_source' = '%s' is not one of "
                 "classifier, label, prior", source);
    return FALSE;
  }
  if (!amigo_json_get_double (root, WHAT, "", "host_memory_gib", TRUE, &req.host_memory_gib, error))
    return FALSE;
  if (!(isnan (req.host_memory_gib) || (isfinite (req.host_memory_gib) && req.host_memory_gib >= 0))) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, WHAT ": 'host_memory_gib' = %g must be >= 0",
                 req.host_memory_gib);
    return FALSE;
  }
  res = amigo_json_get_object (root, WHAT, "", "reservation", error);
  if (res == NULL)
    return FALSE;
  {
    g_autoptr(JsonNode) n = json_node_new (JSON_NODE_OBJECT);
    json_node_set_object (n, res);
    reservation = amigo_json_to_string (n);
  }
  if (!amigo_reservation_from_json (reservation, &req.reservation, error)) {
    g_prefix_error (error, WHAT ": ");
    return FALSE;
  }
  *ret = req;
  return TRUE;
}

gboolean
amigo_request_is_stale (const AmigoRequest *request, gint64 now_usec, gint64 max_age_usec)
{
  gint64 age = now_usec - request->computed_usec;

  return age > max_age_usec || age < -max_age_usec;
}
