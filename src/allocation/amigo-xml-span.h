/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoXmlSpan: where one element of an XML text lies, in bytes.
 *
 * GMarkup reports elements but not where they are in the text, and a
 * document rebuilt from a parse tree loses comments, quoting and layout. To
 * edit a libvirt domain XML and keep everything amigo does not own byte for
 * byte, this scanner records the byte range of every element (start tag,
 * content, end tag) so that an edit can cut and insert text at exact
 * offsets. It checks nesting and quoting, not the whole of XML: run GMarkup
 * (or libvirt) for well-formedness of character data and entities.
 *
 * @name: the qualified name as written ("cputune", "amigo:domain").
 * @start: offset of the '<' of the start tag.
 * @start_tag_end: offset just after the '>' of the start tag.
 * @end_tag_start: offset of the '<' of the end tag; equal to @start_tag_end
 *   for an empty element written <x/>.
 * @end: offset just after the element.
 * @empty: TRUE if written <x/>.
 * @parent: the enclosing element, NULL for the root.
 * @children: child elements in document order (AmigoXmlSpan *), never NULL.
 */
typedef struct _AmigoXmlSpan AmigoXmlSpan;
struct _AmigoXmlSpan {
  char *name;
  gsize start;
  gsize start_tag_end;
  gsize end_tag_start;
  gsize end;
  gboolean empty;
  AmigoXmlSpan *parent;
  GPtrArray *children;
};

/* Deeper documents are refused: libvirt's domain XML nests about 6 deep. */
#define AMIGO_XML_SPAN_MAX_DEPTH 256

/* The root element's span. AMIGO_ERROR_BAD_DATA with the byte offset for an
 * unterminated tag, comment or quote, a mismatched end tag, text after the
 * root or nesting deeper than AMIGO_XML_SPAN_MAX_DEPTH. */
AmigoXmlSpan *amigo_xml_span_parse (const char *xml, gsize len, GError **error);
void amigo_xml_span_free (AmigoXmlSpan *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoXmlSpan, amigo_xml_span_free)

/* The first child named @name, or NULL. */
AmigoXmlSpan *amigo_xml_span_child (const AmigoXmlSpan *self, const char *name);

/* The raw value of attribute @name in the start tag of @self inside @xml
 * (entities are not decoded), or NULL. */
char *amigo_xml_span_attr (const AmigoXmlSpan *self, const char *xml, const char *name);

/* The whitespace that indents the line @self starts on ("" if the element
 * does not start a line). */
char *amigo_xml_span_indent (const AmigoXmlSpan *self, const char *xml);

G_END_DECLS
