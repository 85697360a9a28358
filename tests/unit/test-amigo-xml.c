/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-error.h"
#include "amigo-xml.h"

#define NS "http://amigo.dev/xmlns/domain/1"

static const AmigoXmlElement *
child (const AmigoXmlElement *el, guint i)
{
  assert_true (i < el->children->len);
  return g_ptr_array_index (el->children, i);
}

/* Prefixes resolve against the declarations in scope, the innermost first;
 * a declaration ends with its element; unprefixed names take the default
 * namespace; xmlns attributes are not attributes. */
static void
test_namespaces (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoXmlElement) root = amigo_xml_parse (
    "<domain type='kvm'><metadata>"
    "<a:domain xmlns:a='" NS "' version='1'><a:gpu memory_gib='2'/>"
    "<b:gpu xmlns:b='http://other.example/'/></a:domain>"
    "<a:gpu/>"
    "<x xmlns='" NS "'><y xmlns:a='http://shadow.example/'><a:z/></y></x>"
    "</metadata></domain>", 4096, "test XML", &error);
  const AmigoXmlElement *meta, *amigo, *x;

  assert_non_null (root);
  assert_null (error);
  assert_true (amigo_xml_element_is (root, NULL, "domain"));
  assert_string_equal (amigo_xml_element_get_attr (root, "type"), "kvm");
  meta = child (root, 0);
  amigo = child (meta, 0);
  assert_true (amigo_xml_element_is (amigo, NS, "domain"));
  assert_string_equal (amigo->qname, "a:domain");
  assert_null (amigo_xml_element_get_attr (amigo, "xmlns:a"));
  assert_string_equal (amigo_xml_element_get_attr (amigo, "version"), "1");
  assert_true (amigo_xml_element_is (child (amigo, 0), NS, "gpu"));
  assert_true (amigo_xml_element_is (child (amigo, 1), "http://other.example/", "gpu"));
  /* out of the declaration's scope: no namespace */
  assert_null (child (meta, 1)->ns_uri);
  x = child (meta, 2);
  assert_true (amigo_xml_element_is (x, NS, "x"));
  assert_true (amigo_xml_element_is (child (x, 0), NS, "y"));
  assert_true (amigo_xml_element_is (child (child (x, 0), 0), "http://shadow.example/", "z"));
}

static void
test_text (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoXmlElement) root = amigo_xml_parse ("<h> {&quot;a&quot;:<i>no</i> 1} </h>", 100, "t", &error);

  assert_non_null (root);
  assert_string_equal (root->text->str, " {\"a\": 1} ");
  assert_string_equal (child (root, 0)->text->str, "no");
}

static void
assert_parse_fails (const char *xml, gsize max, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoXmlElement) root = amigo_xml_parse (xml, max, "test XML", &error);

  assert_null (root);
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  if (strstr (error->message, needle) == NULL)
    fail_msg ("error '%s' does not say '%s'", error->message, needle);
}

static void
test_garbage (void **state)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoXmlElement) root = NULL;

  assert_parse_fails ("", 100, "test XML is empty");
  assert_parse_fails (NULL, 100, "test XML is empty");
  assert_parse_fails ("<a>0123456789</a>", 10, "test XML is larger than the limit of 10 bytes");
  assert_parse_fails ("<a>\n<b>\n</a>", 100, "test XML is not well-formed XML (line 3");
  assert_parse_fails ("not xml", 100, "test XML is not well-formed XML");
  assert_parse_fails ("<a>", 100, "test XML is not well-formed XML");
  assert_parse_fails ("  ", 100, "test XML");
  /* found by fuzz-metadata: the first element was leaked */
  assert_parse_fails ("<a/><b/>", 100, "a second top-level element <b> after <a>");
  for (int i = 0; i <= AMIGO_XML_MAX_DEPTH; i++)
    g_string_append (deep, "<d>");
  assert_parse_fails (deep->str, 1 << 20, "nested deeper than 256");

  root = amigo_xml_parse ("<a>\n  <b/></a>", 100, "test XML", &error);
  assert_non_null (root);
  assert_false (amigo_xml_element_error (child (root, 0), &error, "test XML", "bad <%s>", "b"));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  assert_string_equal (error->message, "test XML (line 2 char 7): bad <b>");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_namespaces),
    cmocka_unit_test (test_text),
    cmocka_unit_test (test_garbage),
  };
  return cmocka_run_group_tests_name ("xml", tests, NULL, NULL);
}
