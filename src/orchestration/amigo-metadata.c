/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-metadata.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"

/*
 * GMarkup knows nothing of XML namespaces, so this file keeps its own stack
 * of xmlns declarations to tell amigo's <domain> (namespace
 * AMIGO_METADATA_NAMESPACE, any prefix) from libvirt's <domain> and from
 * other applications' metadata.
 */

typedef enum {
  CHILD_NONE,
  CHILD_RESERVATION,
  CHILD_HISTORY,
  CHILD_OTHER,
} ChildKind;

typedef enum {
  MODE_ELEMENT,                  /* the metadata element alone */
  MODE_DOMAIN_XML,               /* a full domain XML */
} ParseMode;

typedef struct {
  ParseMode mode;
  gboolean gpu_only;
  guint depth;                   /* of the element being handled, root = 1 */
  GPtrArray *ns_stack;           /* per depth: GPtrArray of prefix, uri pairs or NULL */
  GPtrArray *names;              /* local name per depth */
  guint amigo_depth;             /* depth of amigo's <domain>, 0 = outside */
  gboolean found;
  ChildKind child;
  guint child_depth;
  GString *text;
  AmigoMetadata *md;
  gboolean seen_workload, seen_gpu, seen_reservation, seen_history;
} ParseState;

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
  g_free (self->workload);
  g_free (self->reservation);
  g_free (self->history);
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

static const char *
local_name (const char *qname, char **ret_prefix)
{
  const char *colon = strchr (qname, ':');

  if (colon == NULL) {
    *ret_prefix = NULL;
    return qname;
  }
  *ret_prefix = g_strndup (qname, colon - qname);
  return colon + 1;
}

/* The namespace URI bound to @prefix (NULL = default namespace) at the
 * current depth, or NULL if none. */
static const char *
resolve_ns (ParseState *st, const char *prefix)
{
  for (guint d = st->ns_stack->len; d > 0; d--) {
    GPtrArray *decls = g_ptr_array_index (st->ns_stack, d - 1);
    if (decls == NULL)
      continue;
    for (guint i = 0; i + 1 < decls->len; i += 2)
      if (g_strcmp0 (g_ptr_array_index (decls, i), prefix) == 0)
        return g_ptr_array_index (decls, i + 1);
  }
  return NULL;
}

static const char *
find_attr (const char **names, const char **values, const char *name)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], name) == 0)
      return values[i];
  return NULL;
}

static gboolean
parse_gpu_attr (const char *text, double *ret, GError **error)
{
  char *end = NULL;
  double v;

  if (text == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<gpu> has no 'memory_gib' attribute");
    return FALSE;
  }
  v = g_ascii_strtod (text, &end);
  if (*text == '\0' || end == text || *end != '\0' || g_ascii_isspace (*text)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "gpu memory_gib '%s' is not a number", text);
    return FALSE;
  }
  if (!check_gpu (v, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, error))
    return FALSE;
  *ret = v;
  return TRUE;
}

static gboolean
duplicate (gboolean *seen, const char *name, GError **error)
{
  if (*seen) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<%s> appears twice in amigo metadata", name);
    return TRUE;
  }
  *seen = TRUE;
  return FALSE;
}

static void
start_amigo_child (ParseState *st, const char *name, const char **attr_names, const char **attr_values,
                   GError **error)
{
  if (strcmp (name, "gpu") == 0) {
    if (duplicate (&st->seen_gpu, name, error))
      return;
    parse_gpu_attr (find_attr (attr_names, attr_values, "memory_gib"), &st->md->gpu_memory_gib, error);
    return;
  }
  if (st->gpu_only) {
    st->child = CHILD_OTHER;
    return;
  }
  if (strcmp (name, "workload") == 0) {
    const char *cls = find_attr (attr_names, attr_values, "class");
    if (duplicate (&st->seen_workload, name, error))
      return;
    if (cls == NULL) {
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<workload> has no 'class' attribute");
      return;
    }
    if (!check_workload (cls, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, error))
      return;
    st->md->workload = g_strdup (cls);
  } else if (strcmp (name, "reservation") == 0) {
    if (duplicate (&st->seen_reservation, name, error))
      return;
    st->child = CHILD_RESERVATION;
    g_string_truncate (st->text, 0);
  } else if (strcmp (name, "history") == 0) {
    if (duplicate (&st->seen_history, name, error))
      return;
    st->child = CHILD_HISTORY;
    g_string_truncate (st->text, 0);
  } else {
    g_debug ("amigo metadata: ignoring unknown element <%s>", name);
    st->child = CHILD_OTHER;
  }
}

static void
on_start (GMarkupParseContext *ctx,
          const char *element_name,
          const char **attr_names,
          const char **attr_values,
          gpointer user_data,
          GError **error)
{
  ParseState *st = user_data;
  GPtrArray *decls = NULL;
  g_autofree char *prefix = NULL;
  const char *name, *uri;

  st->depth++;
  for (guint i = 0; attr_names[i] != NULL; i++) {
    const char *p = NULL;
    if (strcmp (attr_names[i], "xmlns") == 0)
      p = "";
    else if (g_str_has_prefix (attr_names[i], "xmlns:"))
      p = attr_names[i] + 6;
    else
      continue;
    if (decls == NULL)
      decls = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (decls, *p == '\0' ? NULL : g_strdup (p));
    g_ptr_array_add (decls, g_strdup (attr_values[i]));
  }
  g_ptr_array_add (st->ns_stack, decls);
  name = local_name (element_name, &prefix);
  g_ptr_array_add (st->names, g_strdup (name));
  uri = resolve_ns (st, prefix);

  if (st->amigo_depth == 0) {
    gboolean candidate;
    if (st->mode == MODE_ELEMENT) {
      if (st->depth != 1)
        return;
      if (strcmp (name, "domain") != 0) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "amigo metadata starts with <%s>, expected <domain>", element_name);
        return;
      }
      if (uri != NULL && strcmp (uri, AMIGO_METADATA_NAMESPACE) != 0) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "amigo metadata is in namespace '%s', expected '%s'", uri, AMIGO_METADATA_NAMESPACE);
        return;
      }
      candidate = TRUE;
    } else {
      candidate = st->depth == 3 && strcmp (name, "domain") == 0 &&
                  g_strcmp0 (uri, AMIGO_METADATA_NAMESPACE) == 0 &&
                  strcmp (g_ptr_array_index (st->names, 1), "metadata") == 0;
      if (st->depth == 1 && strcmp (name, "domain") != 0) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "domain XML starts with <%s>, expected <domain>", element_name);
        return;
      }
    }
    if (!candidate)
      return;
    if (st->found) {
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "the domain holds two amigo metadata elements");
      return;
    }
    {
      const char *version = find_attr (attr_names, attr_values, "version");
      if (version != NULL && strcmp (version, G_STRINGIFY (AMIGO_METADATA_VERSION)) != 0) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "version '%s' is not supported (expected %d)", version, AMIGO_METADATA_VERSION);
        return;
      }
    }
    st->found = TRUE;
    st->amigo_depth = st->depth;
    return;
  }

  if (st->depth == st->amigo_depth + 1) {
    /* Children in another application's namespace are not ours. */
    if (uri != NULL && strcmp (uri, AMIGO_METADATA_NAMESPACE) != 0) {
      st->child = CHILD_OTHER;
      return;
    }
    start_amigo_child (st, name, attr_names, attr_values, error);
    st->child_depth = st->depth;
    return;
  }
  if (st->child == CHILD_RESERVATION || st->child == CHILD_HISTORY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "unexpected element <%s> inside <%s>",
                 element_name, st->child == CHILD_RESERVATION ? "reservation" : "history");
  }
}

static void
finish_child (ParseState *st, GError **error)
{
  g_autofree char *text = g_strstrip (g_strdup (st->text->str));

  if (st->child == CHILD_RESERVATION) {
    if (check_json ("reservation", text, AMIGO_METADATA_MAX_RESERVATION_BYTES, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, error))
      st->md->reservation = g_steal_pointer (&text);
  } else if (st->child == CHILD_HISTORY) {
    if (check_json ("history summary", text, AMIGO_METADATA_MAX_BYTES, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, error))
      st->md->history = g_steal_pointer (&text);
  }
}

static void
on_end (GMarkupParseContext *ctx, const char *element_name, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  if (st->amigo_depth != 0 && st->depth == st->amigo_depth + 1) {
    finish_child (st, error);
    st->child = CHILD_NONE;
  } else if (st->depth == st->amigo_depth) {
    st->amigo_depth = 0;
  }
  g_ptr_array_remove_index (st->ns_stack, st->ns_stack->len - 1);
  g_ptr_array_remove_index (st->names, st->names->len - 1);
  st->depth--;
}

static void
on_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  if (st->amigo_depth != 0 && st->depth == st->amigo_depth + 1 &&
      (st->child == CHILD_RESERVATION || st->child == CHILD_HISTORY))
    g_string_append_len (st->text, text, (gssize) len);
}

static void
free_decls (gpointer p)
{
  if (p != NULL)
    g_ptr_array_unref (p);
}

static AmigoMetadata *
metadata_parse (const char *xml, ParseMode mode, gboolean gpu_only, gboolean *ret_found, GError **error)
{
  static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
  g_autoptr(GMarkupParseContext) ctx = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(AmigoMetadata) md = amigo_metadata_new ();
  g_autoptr(GPtrArray) ns_stack = g_ptr_array_new_with_free_func (free_decls);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) text = g_string_new (NULL);
  const char *what = mode == MODE_ELEMENT ? "amigo metadata" : "domain XML";
  gsize max = mode == MODE_ELEMENT ? AMIGO_METADATA_MAX_BYTES : AMIGO_METADATA_MAX_DOMAIN_XML_BYTES;
  ParseState st = { 0 };
  gsize len;

  if (xml == NULL || *xml == '\0') {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s is empty", what);
    return NULL;
  }
  len = strnlen (xml, max + 1);
  if (len > max) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s is larger than the limit of %" G_GSIZE_FORMAT " bytes",
                 what, max);
    return NULL;
  }

  st.mode = mode;
  st.gpu_only = gpu_only;
  st.ns_stack = ns_stack;
  st.names = names;
  st.text = text;
  st.md = md;
  ctx = g_markup_parse_context_new (&parser, G_MARKUP_PREFIX_ERROR_POSITION, &st, NULL);
  if (!g_markup_parse_context_parse (ctx, xml, (gssize) len, &local) ||
      !g_markup_parse_context_end_parse (ctx, &local)) {
    /* GMarkup prefixes "Error on line L char C: "; say it our way. */
    const char *msg = local->message, *where = "";
    g_autofree char *loc = NULL;
    if (g_str_has_prefix (msg, "Error on ") && strstr (msg, ": ") != NULL) {
      const char *colon = strstr (msg, ": ");
      loc = g_strdup_printf (" (%.*s)", (int) (colon - msg - 9), msg + 9);
      where = loc;
      msg = colon + 2;
    }
    if (local->domain == AMIGO_ERROR)
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s%s: %s", what, where, msg);
    else
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s is not well-formed XML%s: %s", what, where, msg);
    return NULL;
  }
  if (mode == MODE_ELEMENT && !st.found) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s holds no element", what);
    return NULL;
  }
  *ret_found = st.found;
  return g_steal_pointer (&md);
}

AmigoMetadata *
amigo_metadata_parse (const char *xml, GError **error)
{
  gboolean found;
  return metadata_parse (xml, MODE_ELEMENT, FALSE, &found, error);
}

AmigoMetadata *
amigo_metadata_parse_domain_xml (const char *domain_xml, GError **error)
{
  g_autoptr(AmigoMetadata) md = NULL;
  gboolean found = FALSE;

  md = metadata_parse (domain_xml, MODE_DOMAIN_XML, FALSE, &found, error);
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

  md = metadata_parse (domain_xml, MODE_DOMAIN_XML, TRUE, &found, error);
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
