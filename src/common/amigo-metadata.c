/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-metadata.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-free.h"
#include "amigo-xml.h"

/* How much of amigo's element a caller wants. */
typedef enum {
  WANT_ALL,
  WANT_GPU,                      /* only <gpu>: the rest is not even checked */
} Want;

AmigoMetadata *
amigo_metadata_new (void)
{
  AmigoMetadata *self = g_new0 (AmigoMetadata, 1);
  self->gpu_memory_gib = NAN;
  return self;
}

void
amigo_metadata_free (AmigoMetadata *self)
{
  if (self == NULL)
    return;
  amigo_free_fields (&self->workload, &self->reservation, &self->history, NULL);
  g_free (self);
}

/* ---- field checks, shared by build and parse ---------------------------- */

static gboolean
check_workload (const char *label, GQuark domain, gint code, GError **error)
{
  gsize len = strlen (label);

  for (gsize i = 0; i < len; i++) {
    char c = label[i];
    if (!(g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.')) {
      len = 0;
      break;
    }
  }
  if (len == 0 || len > AMIGO_METADATA_MAX_WORKLOAD_LEN) {
    g_set_error (error, domain, code,
                 "workload class '%s' is not a label (1 to %d letters, digits, '-', '_' or '.')",
                 label, AMIGO_METADATA_MAX_WORKLOAD_LEN);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_gpu (double gib, GQuark domain, gint code, GError **error)
{
  if (!isfinite (gib) || gib < 0 || gib > AMIGO_METADATA_MAX_GPU_MEMORY_GIB) {
    g_set_error (error, domain, code, "gpu memory_gib %g is out of range (0 to %g)",
                 gib, AMIGO_METADATA_MAX_GPU_MEMORY_GIB);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_json (const char *what, const char *text, gsize max, GQuark domain, gint code, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  JsonNode *root;
  gsize len = strlen (text);

  if (len > max) {
    g_set_error (error, domain, code, "%s is %" G_GSIZE_FORMAT " bytes, larger than the limit of %" G_GSIZE_FORMAT,
                 what, len, max);
    return FALSE;
  }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local)) {
    g_set_error (error, domain, code, "%s is not valid JSON: %s", what, local->message);
    return FALSE;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, domain, code, "%s is not a JSON object", what);
    return FALSE;
  }
  return TRUE;
}

/* ---- build -------------------------------------------------------------- */

char *
amigo_metadata_to_xml (const AmigoMetadata *self, gboolean with_namespace, GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = with_namespace ? AMIGO_METADATA_KEY ":" : "";

  g_return_val_if_fail (self != NULL, NULL);
  if (self->workload != NULL && !check_workload (self->workload, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, error))
    return NULL;
  if (!isnan (self->gpu_memory_gib) && !check_gpu (self->gpu_memory_gib, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, error))
    return NULL;
  if (self->reservation != NULL &&
      !check_json ("reservation", self->reservation, AMIGO_METADATA_MAX_RESERVATION_BYTES,
                   AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, error))
    return NULL;
  if (self->history != NULL &&
      !check_json ("history summary", self->history, AMIGO_METADATA_MAX_BYTES,
                   AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, error))
    return NULL;

  if (with_namespace)
    g_string_append_printf (out, "<%sdomain xmlns:%s=\"%s\" version=\"%d\">\n",
                            p, AMIGO_METADATA_KEY, AMIGO_METADATA_NAMESPACE, AMIGO_METADATA_VERSION);
  else
    g_string_append_printf (out, "<domain version=\"%d\">\n", AMIGO_METADATA_VERSION);
  if (self->workload != NULL)
    g_string_append_printf (out, "  <%sworkload class=\"%s\"/>\n", p, self->workload);
  if (!isnan (self->gpu_memory_gib)) {
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (num, sizeof num, "%.10g", self->gpu_memory_gib);
    g_string_append_printf (out, "  <%sgpu memory_gib=\"%s\"/>\n", p, num);
  }
  if (self->reservation != NULL) {
    g_autofree char *esc = g_markup_escape_text (self->reservation, -1);
    g_string_append_printf (out, "  <%sreservation>%s</%sreservation>\n", p, esc, p);
  }
  if (self->history != NULL) {
    g_autofree char *esc = g_markup_escape_text (self->history, -1);
    g_string_append_printf (out, "  <%shistory>%s</%shistory>\n", p, esc, p);
  }
  g_string_append_printf (out, "</%sdomain>\n", p);
  if (out->len > AMIGO_METADATA_MAX_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "amigo metadata would be %" G_GSIZE_FORMAT " bytes, larger than the limit of %d",
                 out->len, AMIGO_METADATA_MAX_BYTES);
    return NULL;
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- parse -------------------------------------------------------------- */

static gboolean
parse_gpu_attr (const AmigoXmlElement *el, const char *what, double *ret, GError **error)
{
  const char *text = amigo_xml_element_get_attr (el, "memory_gib");
  g_autoptr(GError) local = NULL;
  char *end = NULL;
  double v;

  if (text == NULL)
    return amigo_xml_element_error (el, error, what, "<gpu> has no 'memory_gib' attribute");
  v = g_ascii_strtod (text, &end);
  if (*text == '\0' || end == text || *end != '\0' || g_ascii_isspace (*text))
    return amigo_xml_element_error (el, error, what, "gpu memory_gib '%s' is not a number", text);
  if (!check_gpu (v, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, &local))
    return amigo_xml_element_error (el, error, what, "%s", local->message);
  *ret = v;
  return TRUE;
}

/* The text of <reservation> or <history>: JSON, and nothing nested. */
static gboolean
parse_json_child (const AmigoXmlElement *el, const char *what, const char *field, gsize max, char **ret,
                  GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (el->children->len > 0) {
    const AmigoXmlElement *inner = g_ptr_array_index (el->children, 0);
    return amigo_xml_element_error (inner, error, what, "unexpected element <%s> inside <%s>", inner->qname,
                                    el->name);
  }
  text = g_strstrip (g_strdup (el->text->str));
  if (!check_json (field, text, max, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, &local))
    return amigo_xml_element_error (el, error, what, "%s", local->message);
  *ret = g_steal_pointer (&text);
  return TRUE;
}

/* Reads the children of amigo's <domain> element @el into @md. */
static gboolean
parse_amigo_element (const AmigoXmlElement *el, Want want, const char *what, AmigoMetadata *md, GError **error)
{
  const char *version = amigo_xml_element_get_attr (el, "version");
  gboolean seen_workload = FALSE, seen_gpu = FALSE, seen_reservation = FALSE, seen_history = FALSE;

  if (version != NULL && strcmp (version, G_STRINGIFY (AMIGO_METADATA_VERSION)) != 0)
    return amigo_xml_element_error (el, error, what, "version '%s' is not supported (expected %d)", version,
                                    AMIGO_METADATA_VERSION);

  for (guint i = 0; i < el->children->len; i++) {
    const AmigoXmlElement *child = g_ptr_array_index (el->children, i);
    const char *name = child->name;
    gboolean *seen = NULL;

    /* Children in another application's namespace are not ours. */
    if (child->ns_uri != NULL && strcmp (child->ns_uri, AMIGO_METADATA_NAMESPACE) != 0)
      continue;
    if (strcmp (name, "gpu") == 0)
      seen = &seen_gpu;
    else if (want == WANT_GPU)
      continue;
    else if (strcmp (name, "workload") == 0)
      seen = &seen_workload;
    else if (strcmp (name, "reservation") == 0)
      seen = &seen_reservation;
    else if (strcmp (name, "history") == 0)
      seen = &seen_history;
    if (seen == NULL) {
      g_debug ("amigo metadata: ignoring unknown element <%s>", name);
      continue;
    }
    if (*seen)
      return amigo_xml_element_error (child, error, what, "<%s> appears twice in amigo metadata", name);
    *seen = TRUE;

    if (seen == &seen_gpu) {
      if (!parse_gpu_attr (child, what, &md->gpu_memory_gib, error))
        return FALSE;
    } else if (seen == &seen_workload) {
      const char *cls = amigo_xml_element_get_attr (child, "class");
      g_autoptr(GError) local = NULL;
      if (cls == NULL)
        return amigo_xml_element_error (child, error, what, "<workload> has no 'class' attribute");
      if (!check_workload (cls, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, &local))
        return amigo_xml_element_error (child, error, what, "%s", local->message);
      md->workload = g_strdup (cls);
    } else if (seen == &seen_reservation) {
      if (!parse_json_child (child, what, "reservation", AMIGO_METADATA_MAX_RESERVATION_BYTES,
                             &md->reservation, error))
        return FALSE;
    } else if (!parse_json_child (child, what, "history summary", AMIGO_METADATA_MAX_BYTES, &md->history,
                                  error)) {
      return FALSE;
    }
  }
  return TRUE;
}

/* amigo's element alone: <domain> in amigo's namespace or in none. */
static AmigoMetadata *
metadata_parse_element (const char *xml, GError **error)
{
  const char *what = "amigo metadata";
  g_autoptr(AmigoXmlElement) root = amigo_xml_parse (xml, AMIGO_METADATA_MAX_BYTES, what, error);
  g_autoptr(AmigoMetadata) md = NULL;

  if (root == NULL)
    return NULL;
  if (strcmp (root->name, "domain") != 0) {
    amigo_xml_element_error (root, error, what, "amigo metadata starts with <%s>, expected <domain>", root->qname);
    return NULL;
  }
  if (root->ns_uri != NULL && strcmp (root->ns_uri, AMIGO_METADATA_NAMESPACE) != 0) {
    amigo_xml_element_error (root, error, what, "amigo metadata is in namespace '%s', expected '%s'",
                             root->ns_uri, AMIGO_METADATA_NAMESPACE);
    return NULL;
  }
  md = amigo_metadata_new ();
  if (!parse_amigo_element (root, WANT_ALL, what, md, error))
    return NULL;
  return g_steal_pointer (&md);
}

/* amigo's element inside a full domain XML: <domain><metadata><amigo:domain>.
 * *ret_found FALSE (and an empty result) when there is none. */
static AmigoMetadata *
metadata_parse_domain_xml (const char *domain_xml, Want want, gboolean *ret_found, GError **error)
{
  const char *what = "domain XML";
  g_autoptr(AmigoXmlElement) root = amigo_xml_parse (domain_xml, AMIGO_METADATA_MAX_DOMAIN_XML_BYTES, what, error);
  g_autoptr(AmigoMetadata) md = NULL;
  const AmigoXmlElement *found = NULL;

  if (root == NULL)
    return NULL;
  if (strcmp (root->name, "domain") != 0) {
    amigo_xml_element_error (root, error, what, "domain XML starts with <%s>, expected <domain>", root->qname);
    return NULL;
  }
  for (guint i = 0; i < root->children->len; i++) {
    const AmigoXmlElement *meta = g_ptr_array_index (root->children, i);

    if (strcmp (meta->name, "metadata") != 0)
      continue;
    for (guint j = 0; j < meta->children->len; j++) {
      const AmigoXmlElement *el = g_ptr_array_index (meta->children, j);

      if (!amigo_xml_element_is (el, AMIGO_METADATA_NAMESPACE, "domain"))
        continue;
      if (found != NULL) {
        amigo_xml_element_error (el, error, what, "the domain holds two amigo metadata elements");
        return NULL;
      }
      found = el;
    }
  }
  md = amigo_metadata_new ();
  if (found != NULL && !parse_amigo_element (found, want, what, md, error))
    return NULL;
  *ret_found = found != NULL;
  return g_steal_pointer (&md);
}

AmigoMetadata *
amigo_metadata_parse (const char *xml, GError **error)
{
  return metadata_parse_element (xml, error);
}

AmigoMetadata *
amigo_metadata_parse_domain_xml (const char *domain_xml, GError **error)
{
  g_autoptr(AmigoMetadata) md = NULL;
  gboolean found = FALSE;

  md = metadata_parse_domain_xml (domain_xml, WANT_ALL, &found, error);
  if (md == NULL)
    return NULL;
  if (!found) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                 "the domain XML has no amigo metadata (namespace '%s')", AMIGO_METADATA_NAMESPACE);
    return NULL;
  }
  return g_steal_pointer (&md);
}

gboolean
amigo_metadata_parse_gpu_memory (const char *domain_xml, double *ret_gib, GError **error)
{
  g_autoptr(AmigoMetadata) md = NULL;
  gboolean found = FALSE;

  md = metadata_parse_domain_xml (domain_xml, WANT_GPU, &found, error);
  if (md == NULL)
    return FALSE;
  if (isnan (md->gpu_memory_gib)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                 "the domain XML declares no GPU memory (<gpu memory_gib='...'/> in namespace '%s')",
                 AMIGO_METADATA_NAMESPACE);
    return FALSE;
  }
  if (ret_gib != NULL)
    *ret_gib = md->gpu_memory_gib;
  return TRUE;
}
