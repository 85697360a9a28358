/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small namespace-aware element tree over GMarkup, for the few elements
 * amigo reads out of libvirt's XML (its metadata, a GPU declaration, the
 * host devices). The whole document is kept: domain XMLs are a few kB, and a
 * tree lets each reader say what it wants in a few lines instead of keeping a
 * parser state machine of its own. */
#include "amigo-xml.h"

#include <string.h>

#include "amigo-error.h"
#include "amigo-free.h"

typedef struct {
  char *prefix;               /* NULL for the default namespace */
  char *uri;
  guint depth;
} NsDecl;

typedef struct {
  GMarkupParseContext *ctx;
  GArray *ns;                 /* NsDecl, innermost last */
  guint depth;
  AmigoXmlElement *root;
  AmigoXmlElement *current;
} ParseState;

static void
ns_decl_clear (gpointer p)
{
  NsDecl *d = p;
  amigo_free_fields (&d->prefix, &d->uri, NULL);
}

void
amigo_xml_element_free (AmigoXmlElement *self)
{
  if (self == NULL)
    return;
  amigo_free_fields (&self->qname, &self->ns_uri, NULL);
  g_strfreev (self->attr_names);
  g_strfreev (self->attr_values);
  g_string_free (self->text, TRUE);
  g_ptr_array_unref (self->children);
  g_free (self);
}

static const char *
resolve_ns (ParseState *st, const char *prefix)
{
  for (guint i = st->ns->len; i > 0; i--) {
    NsDecl *d = &g_array_index (st->ns, NsDecl, i - 1);
    if (g_strcmp0 (d->prefix, prefix) == 0)
      return d->uri;
  }
  return NULL;
}

static void
on_start (GMarkupParseContext *ctx,
          const char *qname,
          const char **attr_names,
          const char **attr_values,
          gpointer user_data,
          GError **error)
{
  ParseState *st = user_data;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new ();
  g_autofree char *prefix = NULL;
  const char *colon;
  AmigoXmlElement *el;

  /* GMarkup lets a second element follow the first at the top level */
  if (st->current == NULL && st->root != NULL) {
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                 "a second top-level element <%s> after <%s>", qname, st->root->qname);
    return;
  }
  st->depth++;
  if (st->depth > AMIGO_XML_MAX_DEPTH) {
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                 "elements nested deeper than %d", AMIGO_XML_MAX_DEPTH);
    return;
  }

  for (guint i = 0; attr_names[i] != NULL; i++) {
    NsDecl d = { NULL, NULL, st->depth };
    if (g_str_equal (attr_names[i], "xmlns")) {
      d.prefix = NULL;
    } else if (g_str_has_prefix (attr_names[i], "xmlns:")) {
      d.prefix = g_strdup (attr_names[i] + strlen ("xmlns:"));
    } else {
      g_ptr_array_add (names, g_strdup (attr_names[i]));
      g_ptr_array_add (values, g_strdup (attr_values[i]));
      continue;
    }
    d.uri = g_strdup (attr_values[i]);
    g_array_append_val (st->ns, d);
  }
  g_ptr_array_add (names, NULL);
  g_ptr_array_add (values, NULL);

  el = g_new0 (AmigoXmlElement, 1);
  el->qname = g_strdup (qname);
  colon = strchr (el->qname, ':');
  el->name = colon != NULL ? colon + 1 : el->qname;
  prefix = colon != NULL ? g_strndup (el->qname, colon - el->qname) : NULL;
  el->ns_uri = g_strdup (resolve_ns (st, prefix));
  el->attr_names = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  el->attr_values = (char **) g_ptr_array_free (g_steal_pointer (&values), FALSE);
  el->text = g_string_new (NULL);
  el->children = g_ptr_array_new_with_free_func ((GDestroyNotify) amigo_xml_element_free);
  g_markup_parse_context_get_position (ctx, &el->line, &el->column);

  el->parent = st->current;
  if (st->current != NULL)
    g_ptr_array_add (st->current->children, el);
  else
    st->root = el;
  st->current = el;
}

static void
on_end (GMarkupParseContext *ctx, const char *qname, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  while (st->ns->len > 0 && g_array_index (st->ns, NsDecl, st->ns->len - 1).depth == st->depth)
    g_array_set_size (st->ns, st->ns->len - 1);
  st->current = st->current->parent;
  st->depth--;
}

static void
on_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  if (st->current != NULL)
    g_string_append_len (st->current->text, text, (gssize) len);
}

AmigoXmlElement *
amigo_xml_parse (const char *xml, gsize max_bytes, const char *what, GError **error)
{
  static const GMarkupParser parser = { on_start, on_end, on_text, NULL, NULL };
  g_autoptr(GMarkupParseContext) ctx = NULL;
  g_autoptr(GArray) ns = g_array_new (FALSE, TRUE, sizeof (NsDecl));
  g_autoptr(GError) local = NULL;
  ParseState st = { 0 };
  gsize len;

  if (xml == NULL || *xml == '\0') {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s is empty", what);
    return NULL;
  }
  len = strnlen (xml, max_bytes + 1);
  if (len > max_bytes) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "%s is larger than the limit of %" G_GSIZE_FORMAT " bytes", what, max_bytes);
    return NULL;
  }

  g_array_set_clear_func (ns, ns_decl_clear);
  st.ns = ns;
  ctx = g_markup_parse_context_new (&parser, G_MARKUP_PREFIX_ERROR_POSITION, &st, NULL);
  if (!g_markup_parse_context_parse (ctx, xml, (gssize) len, &local) ||
      !g_markup_parse_context_end_parse (ctx, &local)) {
    /* GMarkup prefixes "Error on line L char C: "; say it our way. */
    const char *msg = local->message, *where = "";
    g_autofree char *loc = NULL;
    const char *colon = strstr (msg, ": ");

    if (g_str_has_prefix (msg, "Error on ") && colon != NULL) {
      loc = g_strdup_printf (" (%.*s)", (int) (colon - msg - 9), msg + 9);
      where = loc;
      msg = colon + 2;
    }
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s is not well-formed XML%s: %s", what, where, msg);
    amigo_xml_element_free (st.root);
    return NULL;
  }
  if (st.root == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s holds no element", what);
    return NULL;
  }
  return st.root;
}

const char *
amigo_xml_element_get_attr (const AmigoXmlElement *self, const char *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  for (guint i = 0; self->attr_names[i] != NULL; i++)
    if (g_str_equal (self->attr_names[i], name))
      return self->attr_values[i];
  return NULL;
}

gboolean
amigo_xml_element_is (const AmigoXmlElement *self, const char *ns_uri, const char *name)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return g_str_equal (self->name, name) && g_strcmp0 (self->ns_uri, ns_uri) == 0;
}

gboolean
amigo_xml_element_error (const AmigoXmlElement *self, GError **error, const char *what,
                         const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s (line %d char %d): %s", what, self->line,
               self->column, msg);
  return FALSE;
}
