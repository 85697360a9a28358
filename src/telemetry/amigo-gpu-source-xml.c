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
#include "amigo-xml.h"

/* 64 TiB, as amigo-metadata allows: anything above is a typo, and the two
 * must agree or the summary of such a domain could not be written. */
#define AMIGO_GPU_XML_MAX_GIB 65536.0

typedef struct {
  const char *namespace_uri;  /* NULL = any URI containing "amigo" */
  gboolean declared;
  double declared_gib;
} Declared;

static gboolean
namespace_matches (const Declared *d, const char *uri)
{
  if (uri == NULL)
    return FALSE;
  if (d->namespace_uri != NULL)
    return g_str_equal (uri, d->namespace_uri);
  return strstr (uri, "amigo") != NULL;
}

/* Adds up the <gpu memory_gib=…> declarations anywhere below @el. */
static gboolean
add_declared (Declared *d, const AmigoXmlElement *el, GError **error)
{
  for (guint i = 0; i < el->children->len; i++) {
    const AmigoXmlElement *child = g_ptr_array_index (el->children, i);

    if (g_str_equal (child->name, "gpu") && namespace_matches (d, child->ns_uri)) {
      const char *value = amigo_xml_element_get_attr (child, "memory_gib");
      char *end = NULL;
      double gib;

      if (value == NULL)
        return amigo_xml_element_error (child, error, "domain XML", "element '%s' has no 'memory_gib' attribute",
                                        child->qname);
      gib = g_ascii_strtod (value, &end);
      if (end == value || *end != '\0' || !isfinite (gib) || gib < 0.0 || gib > AMIGO_GPU_XML_MAX_GIB)
        return amigo_xml_element_error (child, error, "domain XML",
                                        "memory_gib '%s' of element '%s' is not a size in GiB", value,
                                        child->qname);
      d->declared = TRUE;
      d->declared_gib += gib;
    }
    if (!add_declared (d, child, error))
      return FALSE;
  }
  return TRUE;
}

/* PCI and mediated host devices: each may be a GPU. */
static guint
count_hostdevs (const AmigoXmlElement *devices)
{
  guint n = 0;

  for (guint i = 0; i < devices->children->len; i++) {
    const AmigoXmlElement *dev = g_ptr_array_index (devices->children, i);
    const char *type = amigo_xml_element_get_attr (dev, "type");

    if (g_str_equal (dev->qname, "hostdev") && (g_strcmp0 (type, "pci") == 0 || g_strcmp0 (type, "mdev") == 0))
      n++;
  }
  return n;
}

gboolean
amigo_gpu_source_xml_parse (const char *xml,
                            const char *namespace_uri,
                            double *ret_gib,
                            GError **error)
{
  g_autoptr(AmigoXmlElement) root = NULL;
  Declared d = { namespace_uri, FALSE, 0.0 };
  guint hostdevs = 0;

  if (xml == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no domain XML given");
    return FALSE;
  }
  root = amigo_xml_parse (xml, AMIGO_XML_MAX_DOMAIN_XML_BYTES, "domain XML", error);
  if (root == NULL)
    return FALSE;
  if (!g_str_equal (root->qname, "domain"))
    return amigo_xml_element_error (root, error, "domain XML", "root element is '%s', not 'domain'", root->qname);

  for (guint i = 0; i < root->children->len; i++) {
    const AmigoXmlElement *child = g_ptr_array_index (root->children, i);

    if (g_str_equal (child->qname, "metadata") && !add_declared (&d, child, error))
      return FALSE;
    if (g_str_equal (child->qname, "devices"))
      hostdevs += count_hostdevs (child);
  }

  if (ret_gib != NULL) {
    if (d.declared)
      *ret_gib = d.declared_gib;
    else if (hostdevs > 0)
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
