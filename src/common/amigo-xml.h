/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A domain XML is a few kB; 16 MiB is far above any real one and bounds what
 * a definition can make amigod allocate. */
#define AMIGO_XML_MAX_DOMAIN_XML_BYTES (16 * 1024 * 1024)
/* Deeper nesting than this is no libvirt document. */
#define AMIGO_XML_MAX_DEPTH 256

typedef struct _AmigoXmlElement AmigoXmlElement;

/**
 * AmigoXmlElement:
 * @qname: the name as written ("amigo:gpu").
 * @name: its local part ("gpu"), pointing into @qname.
 * @ns_uri: the namespace URI the element is in (its prefix, or the default
 *   namespace, resolved against the xmlns declarations in scope); NULL = none.
 * @attr_names: attribute names, NULL-terminated, xmlns declarations left out.
 * @attr_values: their values, same order.
 * @text: the element's own text (entities decoded), its children's left out.
 * @children: child elements (#AmigoXmlElement), in document order.
 * @parent: NULL for the root.
 * @line: line of the end of its start tag, for messages.
 * @column: column of the same.
 *
 * One element of a parsed document. GMarkup knows nothing of namespaces;
 * this is where amigo tells its own elements (any prefix) from libvirt's and
 * other applications'.
 */
struct _AmigoXmlElement {
  char *qname;
  const char *name;
  char *ns_uri;
  char **attr_names;
  char **attr_values;
  GString *text;
  GPtrArray *children;
  AmigoXmlElement *parent;
  int line;
  int column;
};

/* Parses @xml (at most @max_bytes) into its root element. @what names the
 * document in errors ("domain XML"): AMIGO_ERROR_BAD_DATA with "<what> is
 * empty", "<what> is larger than the limit of N bytes" or "<what> is not
 * well-formed XML (line L char C): ..." (also for nesting deeper than
 * AMIGO_XML_MAX_DEPTH). */
AmigoXmlElement *amigo_xml_parse (const char *xml, gsize max_bytes, const char *what, GError **error);

void amigo_xml_element_free (AmigoXmlElement *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoXmlElement, amigo_xml_element_free)

/* The value of attribute @name, or NULL. */
const char *amigo_xml_element_get_attr (const AmigoXmlElement *self, const char *name);

/* TRUE when @self is named @name (local part) in namespace @ns_uri (NULL =
 * in no namespace). */
gboolean amigo_xml_element_is (const AmigoXmlElement *self, const char *ns_uri, const char *name);

/* Sets AMIGO_ERROR_BAD_DATA "<what> (line L char C): <message>", the
 * position being @self's. Returns FALSE, for `return amigo_xml_element_error (...)`. */
gboolean amigo_xml_element_error (const AmigoXmlElement *self, GError **error, const char *what,
                                  const char *format, ...) G_GNUC_PRINTF (4, 5);

G_END_DECLS
