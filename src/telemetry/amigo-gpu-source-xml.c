/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GPU source member `xml`: the GPU memory a domain declares in its XML.
 *
 * <metadata><amigo:gpu xmlns:amigo='…amigo…' memory_gib='16'/></metadata>
 * (anywhere below <metadata>, several elements add up). Without a
 * declaration, a domain with no PCI or mdev <hostdev> has 0 GiB, one with such
 * a device has an unknown amount (NAN): a passed-through device may be a GPU
 * and we will not pretend it uses nothing. */
#include "amigo-gpu-source.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"

/* 64 TiB, as amigo-metadata allows: anything above is a typo, and the two
 * must agree or the summary of such a domain could not be written. */
#define AMIGO_GPU_XML_MAX_GIB 65536.0
#define AMIGO_GPU_XML_MAX_DEPTH 256

typedef struct {
  char *prefix;   /* "" for the default namespace */
  char *uri;
  guint depth;
} NsDecl;

typedef struct {
  const char *namespace_uri;  /* NULL = any URI containing "amigo" */
  guint depth;
  guint metadata_depth;       /* depth of <metadata>, 0 when outside */
  gboolean in_devices;
  guint devices_depth;
  GArray *ns;                 /* NsDecl */
  gboolean declared;
  double declared_gib;
  guint hostdevs;
} ParseState;

static void
ns_decl_clear (gpointer p)
{
  NsDecl *d = p;
  g_free (d->prefix);
  g_free (d->uri);
}

static const char *
lookup_ns (ParseState *st, const char *prefix)
{
  for (guint i = st->ns->len; i > 0; i--) {
    NsDecl *d = &g_array_index (st->ns, NsDecl, i - 1);
    if (g_str_equal (d->prefix, prefix))
      return d->uri;
  }
  return NULL;
}

static gboolean
namespace_matches (ParseState *st, const char *uri)
{
  if (uri == NULL)
    return FALSE;
  if (st->namespace_uri != NULL)
    return g_str_equal (uri, st->namespace_uri);
  return strstr (uri, "amigo") != NULL;
}

static void
on_start (GMarkupParseContext *ctx,
          const char *element,
          const char **attr_names,
          const char **attr_values,
          gpointer user_data,
          GError **error)
{
  ParseState *st = user_data;
  const char *colon;
  g_autofree char *prefix = NULL;
  const char *local;

  st->depth++;
  if (st->depth > AMIGO_GPU_XML_MAX_DEPTH) {
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                 "elements nested deeper than %d", AMIGO_GPU_XML_MAX_DEPTH);
    return;
  }

  for (guint i = 0; attr_names[i] != NULL; i++) {
    NsDecl d = { NULL, NULL, st->depth };
    if (g_str_equal (attr_names[i], "xmlns"))
      d.prefix = g_strdup ("");
    else if (g_str_has_prefix (attr_names[i], "xmlns:"))
      d.prefix = g_strdup (attr_names[i] + strlen ("xmlns:"));
    else
      continue;
    d.uri = g_strdup (attr_values[i]);
    g_array_append_val (st->ns, d);
  }

  colon = strchr (element, ':');
  prefix = colon != NULL ? g_strndup (element, colon - element) : g_strdup ("");
  local = colon != NULL ? colon + 1 : element;

  if (st->depth == 1) {
    if (!g_str_equal (element, "domain"))
      g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                   "root element is '%s', not 'domain'", element);
    return;
  }
  if (st->depth == 2 && g_str_equal (element, "metadata")) {
    st->metadata_depth = st->depth;
    return;
  }
  if (st->depth == 2 && g_str_equal (element, "devices")) {
    st->in_devices = TRUE;
    st->devices_depth = st->depth;
    return;
  }
  if (st->in_devices && st->depth == st->devices_depth + 1 && g_str_equal (element, "hostdev")) {
    const char *type = NULL;
    for (guint i = 0; attr_names[i] != NULL; i++)
      if (g_str_equal (attr_names[i], "type"))
        type = attr_values[i];
    if (g_strcmp0 (type, "pci") == 0 || g_strcmp0 (type, "mdev") == 0)
      st->hostdevs++;
    return;
  }
  if (st->metadata_depth > 0 && st->depth > st->metadata_depth && g_str_equal (local, "gpu") &&
      namespace_matches (st, lookup_ns (st, prefix))) {
    const char *value = NULL;
    char *end = NULL;
    double gib;

    for (guint i = 0; attr_names[i] != NULL; i++)
      if (g_str_equal (attr_names[i], "memory_gib"))
        value = attr_values[i];
    if (value == NULL) {
      g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_MISSING_ATTRIBUTE,
                   "element '%s' has no 'memory_gib' attribute", element);
      return;
    }
    gib = g_ascii_strtod (value, &end);
    if (end == value || *end != '\0' || !isfinite (gib) || gib < 0.0 || gib > AMIGO_GPU_XML_MAX_GIB) {
      g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                   "memory_gib '%s' of element '%s' is not a size in GiB", value, element);
      return;
    }
    st->declared = TRUE;
    st->declared_gib += gib;
  }
}

static void
on_end (GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
  ParseState *st = user_data;

  while (st->ns->len > 0 && g_array_index (st->ns, NsDecl, st->ns->len - 1).depth == st->depth)
    g_array_set_size (st->ns, st->ns->len - 1);
  if (st->depth == st->metadata_depth)
    st->metadata_depth = 0;
  if (st->in_devices && st->depth == st->devices_depth)
    st->in_devices = FALSE;
  st->depth--;
}

gboolean
amigo_gpu_source_xml_parse (const char *xml,
                            const char *namespace_uri,
                            double *ret_gib,
                            GError **error)
{
  static const GMarkupParser parser = { on_start, on_end, NULL, NULL, NULL };
  g_autoptr(GMarkupParseContext) ctx = NULL;
  g_autoptr(GArray) ns = g_array_new (FALSE, TRUE, sizeof (NsDecl));
  g_autoptr(GError) local_error = NULL;
  ParseState st = { 0 };

  if (xml == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no domain XML given");
    return FALSE;
  }
  g_array_set_clear_func (ns, ns_decl_clear);
  st.ns = ns;
  st.namespace_uri = namespace_uri;
  ctx = g_markup_parse_context_new (&parser, 0, &st, NULL);
  if (!g_markup_parse_context_parse (ctx, xml, -1, &local_error) ||
      !g_markup_parse_context_end_parse (ctx, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "domain XML: %s", local_error->message);
    return FALSE;
  }
  if (st.depth != 0 || st.ns->len != 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML is truncated");
    return FALSE;
  }

  if (ret_gib != NULL) {
    if (st.declared)
      *ret_gib = st.declared_gib;
    else if (st.hostdevs > 0)
      *ret_gib = NAN;
    else
      *ret_gib = 0.0;
  }
  return TRUE;
}

/* --- the source --- */

typedef struct {
  gint64 read_usec;
  double gib;
} CacheEntry;

typedef struct {
  char *namespace_uri;
  gint64 refresh_usec;
  GHashTable *cache;    /* uuid -> CacheEntry */
} XmlPriv;

static gboolean
xml_read (AmigoGpuSource *self,
          virDomainPtr dom,
          const char *uuid,
          gint64 now_usec,
          double *ret_gib,
          GError **error)
{
  XmlPriv *priv = self->priv;
  CacheEntry *entry = g_hash_table_lookup (priv->cache, uuid);
  g_autofree char *xml = NULL;
  double gib = NAN;

  if (entry != NULL && priv->refresh_usec > 0 && now_usec >= entry->read_usec &&
      now_usec - entry->read_usec < priv->refresh_usec) {
    *ret_gib = entry->gib;
    return TRUE;
  }
  if (dom == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "GPU source 'xml' needs the libvirt domain of '%s'", uuid);
    return FALSE;
  }
  xml = virDomainGetXMLDesc (dom, 0);
  if (xml == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                 "cannot read the XML of domain '%s': %s", uuid, virGetLastErrorMessage ());
    return FALSE;
  }
  if (!amigo_gpu_source_xml_parse (xml, priv->namespace_uri, &gib, error)) {
    g_prefix_error (error, "domain '%s': ", uuid);
    return FALSE;
  }
  if (entry == NULL) {
    entry = g_new0 (CacheEntry, 1);
    g_hash_table_insert (priv->cache, g_strdup (uuid), entry);
  }
  entry->read_usec = now_usec;
  entry->gib = gib;
  *ret_gib = gib;
  return TRUE;
}

static void
xml_forget (AmigoGpuSource *self, const char *uuid)
{
  XmlPriv *priv = self->priv;
  g_hash_table_remove (priv->cache, uuid);
}

static void
xml_finalize (AmigoGpuSource *self)
{
  XmlPriv *priv = self->priv;
  g_hash_table_unref (priv->cache);
  g_free (priv->namespace_uri);
  g_free (priv);
}

static const AmigoGpuSourceClass xml_class = {
  .name = "xml",
  .probe = NULL,    /* reading the domain XML works wherever libvirt does */
  .read = xml_read,
  .forget = xml_forget,
  .finalize = xml_finalize,
};

AmigoGpuSource *
amigo_gpu_source_xml_new (const char *namespace_uri, gint64 refresh_usec)
{
  XmlPriv *priv = g_new0 (XmlPriv, 1);

  priv->namespace_uri = g_strdup (namespace_uri);
  priv->refresh_usec = MAX (refresh_usec, 0);
  priv->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return amigo_gpu_source_new_internal (&xml_class, priv);
}
