/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-xml-span.h"

#include <string.h>

#include "amigo-error.h"

typedef struct {
  const char *xml;
  gsize len;
  gsize pos;
} Scanner;

static AmigoXmlSpan *
span_new (const char *name, gsize name_len, gsize start, AmigoXmlSpan *parent)
{
  AmigoXmlSpan *self = g_new0 (AmigoXmlSpan, 1);

  self->name = g_strndup (name, name_len);
  self->start = start;
  self->parent = parent;
  /* Children are freed by amigo_xml_span_free(), depth-first and bounded by
   * AMIGO_XML_SPAN_MAX_DEPTH. */
  self->children = g_ptr_array_new ();
  if (parent != NULL)
    g_ptr_array_add (parent->children, self);
  return self;
}

void
amigo_xml_span_free (AmigoXmlSpan *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->children->len; i++)
    amigo_xml_span_free (g_ptr_array_index (self->children, i));
  g_ptr_array_unref (self->children);
  g_free (self->name);
  g_free (self);
}

static gboolean
bad (GError **error, gsize at, const char *what)
{
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "XML: %s at byte %" G_GSIZE_FORMAT, what, at);
  return FALSE;
}

/* Moves past the first occurrence of @end from the current position. */
static gboolean
skip_past (Scanner *s, const char *end, const char *what, GError **error)
{
  gsize n = strlen (end), from = s->pos;

  for (gsize i = s->pos; i + n <= s->len; i++) {
    if (memcmp (s->xml + i, end, n) == 0) {
      s->pos = i + n;
      return TRUE;
    }
  }
  return bad (error, from, what);
}

/* <!DOCTYPE ...> may hold an internal subset in [...]. */
static gboolean
skip_doctype (Scanner *s, GError **error)
{
  gsize from = s->pos;
  int brackets = 0;
  char quote = 0;

  for (; s->pos < s->len; s->pos++) {
    char c = s->xml[s->pos];
    if (quote != 0) {
      if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[') {
      brackets++;
    } else if (c == ']') {
      brackets--;
    } else if (c == '>' && brackets <= 0) {
      s->pos++;
      return TRUE;
    }
  }
  return bad (error, from, "unterminated <!DOCTYPE");
}

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == ':' || c == '-' || c == '.' || (guchar) c >= 0x80;
}

/* Reads a start tag from '<' to '>'; returns its name range and whether it
 * is <x/>. */
static gboolean
scan_start_tag (Scanner *s, gsize *ret_name, gsize *ret_name_len, gboolean *ret_empty, GError **error)
{
  gsize from = s->pos, name;
  char quote = 0;

  s->pos++;
  name = s->pos;
  while (s->pos < s->len && is_name_char (s->xml[s->pos]))
    s->pos++;
  if (s->pos == name)
    return bad (error, from, "'<' not followed by an element name");
  *ret_name = name;
  *ret_name_len = s->pos - name;
  for (; s->pos < s->len; s->pos++) {
    char c = s->xml[s->pos];
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else if (c == '<')
        return bad (error, s->pos, "'<' inside an attribute value");
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '<') {
      return bad (error, s->pos, "'<' inside a start tag");
    } else if (c == '>') {
      *ret_empty = s->pos > name && s->xml[s->pos - 1] == '/';
      s->pos++;
      return TRUE;
    }
  }
  return bad (error, from, quote != 0 ? "unterminated attribute value" : "unterminated start tag");
}

static gboolean
scan_end_tag (Scanner *s, AmigoXmlSpan *open, GError **error)
{
  gsize from = s->pos, name, name_len;

  s->pos += 2;
  name = s->pos;
  while (s->pos < s->len && is_name_char (s->xml[s->pos]))
    s->pos++;
  name_len = s->pos - name;
  while (s->pos < s->len && g_ascii_isspace (s->xml[s->pos]))
    s->pos++;
  if (s->pos >= s->len || s->xml[s->pos] != '>')
    return bad (error, from, "unterminated end tag");
  s->pos++;
  if (open == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "XML: end tag </%.*s> without a start tag at byte %" G_GSIZE_FORMAT,
                 (int) MIN (name_len, 64), s->xml + name, from);
    return FALSE;
  }
  if (name_len != strlen (open->name) || memcmp (s->xml + name, open->name, name_len) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "XML: end tag </%.*s> at byte %" G_GSIZE_FORMAT " does not close <%s>",
                 (int) MIN (name_len, 64), s->xml + name, from, open->name);
    return FALSE;
  }
  open->end_tag_start = from;
  open->end = s->pos;
  return TRUE;
}

AmigoXmlSpan *
amigo_xml_span_parse (const char *xml, gsize len, GError **error)
{
  g_autoptr(AmigoXmlSpan) root = NULL;
  AmigoXmlSpan *open = NULL;
  Scanner s = { xml, len, 0 };
  guint depth = 0;

  while (s.pos < s.len) {
    const char *p = xml + s.pos;
    gsize rest = s.len - s.pos;

    if (*p != '<') {
      if (open == NULL && !g_ascii_isspace (*p))
        return bad (error, s.pos, "text outside the root element"), NULL;
      s.pos++;
      continue;
    }
    if (rest >= 4 && memcmp (p, "<!--", 4) == 0) {
      s.pos += 4;
      if (!skip_past (&s, "-->", "unterminated comment", error))
        return NULL;
    } else if (rest >= 9 && memcmp (p, "<![CDATA[", 9) == 0) {
      if (open == NULL)
        return bad (error, s.pos, "CDATA outside the root element"), NULL;
      if (!skip_past (&s, "]]>", "unterminated CDATA section", error))
        return NULL;
    } else if (rest >= 2 && p[1] == '?') {
      if (!skip_past (&s, "?>", "unterminated processing instruction", error))
        return NULL;
    } else if (rest >= 9 && memcmp (p, "<!DOCTYPE", 9) == 0 && root == NULL) {
      if (!skip_doctype (&s, error))
        return NULL;
    } else if (rest >= 2 && p[1] == '/') {
      if (!scan_end_tag (&s, open, error))
        return NULL;
      open = open->parent;
      depth--;
    } else {
      gsize start = s.pos, name, name_len;
      gboolean empty = FALSE;
      AmigoXmlSpan *span;

      if (open == NULL && root != NULL)
        return bad (error, start, "a second root element"), NULL;
      if (depth >= AMIGO_XML_SPAN_MAX_DEPTH)
        return bad (error, start, "elements nested deeper than " G_STRINGIFY (AMIGO_XML_SPAN_MAX_DEPTH)), NULL;
      if (!scan_start_tag (&s, &name, &name_len, &empty, error))
        return NULL;
      span = span_new (xml + name, name_len, start, open);
      span->start_tag_end = s.pos;
      if (root == NULL)
        root = span;
      if (empty) {
        span->empty = TRUE;
        span->end_tag_start = span->end = s.pos;
      } else {
        open = span;
        depth++;
      }
    }
  }
  if (root == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "XML: no element");
    return NULL;
  }
  if (open != NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "XML: <%s> at byte %" G_GSIZE_FORMAT " is not closed", open->name, open->start);
    return NULL;
  }
  return g_steal_pointer (&root);
}

AmigoXmlSpan *
amigo_xml_span_child (const AmigoXmlSpan *self, const char *name)
{
  for (guint i = 0; i < self->children->len; i++) {
    AmigoXmlSpan *c = g_ptr_array_index (self->children, i);
    if (strcmp (c->name, name) == 0)
      return c;
  }
  return NULL;
}

char *
amigo_xml_span_attr (const AmigoXmlSpan *self, const char *xml, const char *name)
{
  gsize pos = self->start + 1 + strlen (self->name);
  gsize end = self->start_tag_end;
  gsize n = strlen (name);

  while (pos < end) {
    gsize an, an_len;
    char quote;
    gsize v;

    while (pos < end && (g_ascii_isspace (xml[pos]) || xml[pos] == '/' || xml[pos] == '>'))
      pos++;
    an = pos;
    while (pos < end && is_name_char (xml[pos]))
      pos++;
    an_len = pos - an;
    if (an_len == 0)
      return NULL;
    while (pos < end && g_ascii_isspace (xml[pos]))
      pos++;
    if (pos >= end || xml[pos] != '=')
      return NULL;
    pos++;
    while (pos < end && g_ascii_isspace (xml[pos]))
      pos++;
    if (pos >= end || (xml[pos] != '"' && xml[pos] != '\''))
      return NULL;
    quote = xml[pos++];
    v = pos;
    while (pos < end && xml[pos] != quote)
      pos++;
    if (pos >= end)
      return NULL;
    if (an_len == n && memcmp (xml + an, name, n) == 0)
      return g_strndup (xml + v, pos - v);
    pos++;
  }
  return NULL;
}

char *
amigo_xml_span_indent (const AmigoXmlSpan *self, const char *xml)
{
  gsize i = self->start;

  while (i > 0 && (xml[i - 1] == ' ' || xml[i - 1] == '\t'))
    i--;
  if (i > 0 && xml[i - 1] != '\n')
    return g_strdup ("");
  return g_strndup (xml + i, self->start - i);
}
