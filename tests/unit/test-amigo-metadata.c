/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "amigo-error.h"
#include "amigo-history.h"
#include "amigo-metadata.h"
#include "amigo-time.h"

#define RESERVATION "{\"cpu_cores\":3.5,\"memory_gib\":8,\"note\":\"<&> 'quoted' \\\"x\\\"\"}"
#define UUID "2b7e1c5a-9f3d-4e21-8c6b-5a4d3e2f1a00"

static const char *domain_xml_head =
  "<?xml version='1.0'?>\n"
  "<!-- a libvirt domain -->\n"
  "<domain type='qemu' id='4'>\n"
  "  <name>db1</name>\n"
  "  <uuid>" UUID "</uuid>\n"
  "  <metadata>\n"
  "    <libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n"
  "      <libosinfo:os id=\"http://debian.org/debian/12\"/>\n"
  "    </libosinfo:libosinfo>\n"
  "    <other:domain xmlns:other=\"http://example.com/other\"><other:gpu memory_gib=\"99\"/></other:domain>\n";
static const char *domain_xml_tail =
  "  </metadata>\n"
  "  <memory unit='KiB'>1048576</memory>\n"
  "  <devices><disk type='file'/></devices>\n"
  "</domain>\n";

static AmigoMetadata *
sample_metadata (void)
{
  AmigoMetadata *md = amigo_metadata_new ();
  md->workload = g_strdup ("database");
  md->gpu_memory_gib = 16;
  md->reservation = g_strdup (RESERVATION);
  md->history = g_strdup ("{\"format\":\"amigo-history-summary\",\"version\":1,\"series\":[]}");
  return md;
}

static void
assert_same (const AmigoMetadata *a, const AmigoMetadata *b)
{
  assert_string_equal (a->workload, b->workload);
  assert_true (a->gpu_memory_gib == b->gpu_memory_gib);
  assert_string_equal (a->reservation, b->reservation);
  assert_string_equal (a->history, b->history);
}

static char *
domain_xml_with (const char *element)
{
  return g_strconcat (domain_xml_head, element, domain_xml_tail, NULL);
}

static void
test_roundtrip (void **state)
{
  g_autoptr(AmigoMetadata) md = sample_metadata ();
  g_autoptr(GError) error = NULL;

  for (int ns = 0; ns < 2; ns++) {
    g_autofree char *xml = amigo_metadata_to_xml (md, ns, &error);
    g_autoptr(AmigoMetadata) back = NULL;
    assert_non_null (xml);
    assert_true ((strstr (xml, AMIGO_METADATA_NAMESPACE) != NULL) == ns);
    back = amigo_metadata_parse (xml, &error);
    if (back == NULL)
      fail_msg ("%s", error->message);
    assert_same (md, back);
  }

  /* Fields are optional: an empty element parses to "nothing set". */
  {
    g_autoptr(AmigoMetadata) empty = amigo_metadata_new ();
    g_autofree char *xml = amigo_metadata_to_xml (empty, FALSE, &error);
    g_autoptr(AmigoMetadata) back = amigo_metadata_parse (xml, &error);
    assert_non_null (back);
    assert_null (back->workload);
    assert_null (back->reservation);
    assert_null (back->history);
    assert_true (isnan (back->gpu_memory_gib));
  }
}

/* What virDomainGetMetadata() hands back after libvirt injected its
 * namespace: root and direct children prefixed with the key. Hand-written
 * variants (default namespace, unprefixed children) parse too. */
static void
test_libvirt_forms (void **state)
{
  static const char *forms[] = {
    "<amigo:domain xmlns:amigo=\"" AMIGO_METADATA_NAMESPACE "\" version=\"1\">"
    "<amigo:workload class=\"web\"/><amigo:gpu memory_gib=\"7.5\"/></amigo:domain>",
    "<domain xmlns=\"" AMIGO_METADATA_NAMESPACE "\"><workload class=\"web\"/><gpu memory_gib=\"7.5\"/></domain>",
    "<x:domain xmlns:x=\"" AMIGO_METADATA_NAMESPACE "\"><workload class='web'/>\n  <gpu memory_gib='7.5'/>"
    "<other:note xmlns:other=\"http://example.com/o\">ignored</other:note></x:domain>",
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++) {
    g_autoptr(AmigoMetadata) md = amigo_metadata_parse (forms[i], &error);
    if (md == NULL)
      fail_msg ("form %u: %s", i, error->message);
    assert_string_equal (md->workload, "web");
    assert_true (md->gpu_memory_gib == 7.5);
  }
}

static void
test_domain_xml (void **state)
{
  g_autoptr(AmigoMetadata) md = sample_metadata ();
  g_autoptr(GError) error = NULL;
  g_autofree char *element = amigo_metadata_to_xml (md, TRUE, &error);
  g_autofree char *xml = domain_xml_with (element);
  g_autofree char *none = domain_xml_with ("");
  g_autoptr(AmigoMetadata) back = NULL;
  double gib = 0;

  back = amigo_metadata_parse_domain_xml (xml, &error);
  if (back == NULL)
    fail_msg ("%s", error->message);
  assert_same (md, back);
  assert_true (amigo_metadata_parse_gpu_memory (xml, &gib, &error));
  assert_true (gib == 16);

  /* The other application's <domain><gpu> is not ours. */
  gib = -1;
  assert_false (amigo_metadata_parse_gpu_memory (none, &gib, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_true (gib == -1);
  g_clear_error (&error);
  assert_null (amigo_metadata_parse_domain_xml (none, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  g_clear_error (&error);

  /* A bad reservation does not hide the GPU size from the collector... */
  {
    g_autofree char *bad = domain_xml_with ("<amigo:domain xmlns:amigo=\"" AMIGO_METADATA_NAMESPACE "\">"
                                            "<amigo:reservation>{oops</amigo:reservation>"
                                            "<amigo:gpu memory_gib='24'/></amigo:domain>");
    assert_true (amigo_metadata_parse_gpu_memory (bad, &gib, &error));
    assert_true (gib == 24);
    /* ...but the full parse says what is wrong. */
    assert_null (amigo_metadata_parse_domain_xml (bad, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    assert_non_null (strstr (error->message, "reservation is not valid JSON"));
    g_clear_error (&error);
  }
  {
    g_autofree char *bad = domain_xml_with ("<amigo:domain xmlns:amigo=\"" AMIGO_METADATA_NAMESPACE "\">"
                                            "<amigo:gpu memory_gib='lots'/></amigo:domain>");
    assert_false (amigo_metadata_parse_gpu_memory (bad, &gib, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    assert_non_null (strstr (error->message, "'lots'"));
  }
}

static void
test_bad_input (void **state)
{
  static const struct {
    const char *xml;
    const char *expect;
  } cases[] = {
    { "hello", "not well-formed" },
    { "<domain><workload class='db'/>", "not well-formed" },
    { "<domain>\n<gpu memory_gib='1'>\n</domain>", "line 3" },
    { "<domain version='2'/>", "version '2'" },
    { "<domain version='one'/>", "version 'one'" },
    { "<reservation/>", "expected <domain>" },
    { "<domain xmlns='http://example.com/x'/>", "'http://example.com/x'" },
    { "<domain><gpu memory_gib='abc'/></domain>", "'abc'" },
    { "<domain><gpu memory_gib='1e400'/></domain>", "out of range" },
    { "<domain><gpu memory_gib='-4'/></domain>", "out of range" },
    { "<domain><gpu memory_gib=''/></domain>", "not a number" },
    { "<domain><gpu/></domain>", "'memory_gib'" },
    { "<domain><gpu memory_gib='1'/><gpu memory_gib='2'/></domain>", "twice" },
    { "<domain><workload class='data base'/></domain>", "'data base'" },
    { "<domain><workload/></domain>", "'class'" },
    { "<domain><reservation>[1,2]</reservation></domain>", "not a JSON object" },
    { "<domain><reservation>{\"a\":</reservation></domain>", "reservation is not valid JSON" },
    { "<domain><history><x/></history></domain>", "<x> inside <history>" },
    { "", "empty" },
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(AmigoMetadata) md = amigo_metadata_parse (cases[i].xml, &error);
    assert_null (md);
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    if (strstr (error->message, cases[i].expect) == NULL)
      fail_msg ("case %u: '%s' does not mention '%s'", i, error->message, cases[i].expect);
    g_clear_error (&error);
  }

  /* Oversized input is refused before parsing. */
  {
    gsize n = AMIGO_METADATA_MAX_BYTES + 16;
    g_autofree char *big = g_malloc (n + 1);
    memset (big, ' ', n);
    memcpy (big, "<domain>", 8);
    big[n] = '\0';
    assert_null (amigo_metadata_parse (big, &error));
    assert_non_null (strstr (error->message, "larger than the limit"));
    g_clear_error (&error);
  }

  /* Building refuses what would not parse back. */
  {
    g_autoptr(AmigoMetadata) md = amigo_metadata_new ();
    g_autofree char *xml = NULL;
    md->workload = g_strdup ("no spaces please");
    xml = amigo_metadata_to_xml (md, FALSE, &error);
    assert_null (xml);
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    assert_non_null (strstr (error->message, "'no spaces please'"));
    g_clear_error (&error);
    g_clear_pointer (&md->workload, g_free);
    md->gpu_memory_gib = INFINITY;
    assert_null (amigo_metadata_to_xml (md, FALSE, &error));
    g_clear_error (&error);
    md->gpu_memory_gib = NAN;
    md->reservation = g_strdup ("not json");
    assert_null (amigo_metadata_to_xml (md, FALSE, &error));
    assert_non_null (strstr (error->message, "reservation"));
  }
}

/* The history summary goes out with the domain and comes back in on the
 * destination, through the metadata. */
static void
test_history_travels (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("amigo-metadata-XXXXXX", &error);
  g_autofree char *src_dir = g_build_filename (tmp, "src", NULL);
  g_autofree char *dst_dir = g_build_filename (tmp, "dst", NULL);
  g_autoptr(AmigoMetadata) md = amigo_metadata_new ();
  g_autoptr(AmigoMetadata) back = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(GArray) pts = NULL;
  AmigoHistoryOptions opts;
  AmigoHistory *src, *dst;
  gint64 t0 = G_GINT64_CONSTANT (1767571200) * AMIGO_USEC_PER_SEC;

  amigo_history_options_init (&opts);
  opts.sync = FALSE;
  src = amigo_history_open (src_dir, &opts, &error);
  assert_non_null (src);
  for (gint64 t = t0; t < t0 + 6 * AMIGO_USEC_PER_HOUR; t += 30 * AMIGO_USEC_PER_SEC) {
    AmigoSample s;
    amigo_sample_init (&s, t);
    s.values[AMIGO_METRIC_CPU] = (double) ((t / AMIGO_USEC_PER_SEC) % 17);
    assert_true (amigo_history_append (src, UUID, "db1", &s, &error));
  }
  md->history = amigo_history_export_summary (src, UUID, 64 * 1024, &error);
  assert_non_null (md->history);
  xml = amigo_metadata_to_xml (md, TRUE, &error);
  assert_non_null (xml);
  back = amigo_metadata_parse (xml, &error);
  assert_non_null (back);

  dst = amigo_history_open (dst_dir, &opts, &error);
  assert_non_null (dst);
  assert_true (amigo_history_import_summary (dst, UUID, back->history, &error));
  pts = amigo_history_query (dst, UUID, AMIGO_METRIC_CPU, t0, t0 + 6 * AMIGO_USEC_PER_HOUR, &error);
  assert_non_null (pts);
  assert_int_equal (pts->len, 6 * 12);
  amigo_history_free (src);
  amigo_history_free (dst);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
    assert_int_equal (system (cmd), 0);
  }
}

/* Random mutations of valid inputs: the parsers return metadata or an
 * error, never crash, never both or neither. */
static void
test_fuzz (void **state)
{
  g_autoptr(AmigoMetadata) md = sample_metadata ();
  g_autofree char *element = amigo_metadata_to_xml (md, TRUE, NULL);
  g_autofree char *full = domain_xml_with (element);
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  static const char noise[] = "<>/='\"&;:x \n\001\377";
  guint ok = 0;

  for (guint iter = 0; iter < 3000; iter++) {
    const char *base = iter % 2 ? element : full;
    g_autofree char *s = g_strdup (base);
    gsize len = strlen (s);
    guint edits = g_rand_int_range (rand, 1, 6);
    g_autoptr(GError) error = NULL;
    double gib;

    for (guint k = 0; k < edits && len > 0; k++) {
      gsize pos = g_rand_int_range (rand, 0, len);
      switch (g_rand_int_range (rand, 0, 3)) {
      case 0:
        s[pos] = noise[g_rand_int_range (rand, 0, sizeof noise - 1)];
        break;
      case 1:
        s[pos] = '\0';
        len = pos;
        break;
      default:
        s[pos] ^= (char) g_rand_int_range (rand, 1, 256);
        if (s[pos] == '\0')
          len = pos;
        break;
      }
    }
    {
      g_autoptr(AmigoMetadata) a = amigo_metadata_parse (s, &error);
      assert_true ((a == NULL) == (error != NULL));
      ok += a != NULL;
      g_clear_error (&error);
    }
    {
      g_autoptr(AmigoMetadata) b = amigo_metadata_parse_domain_xml (s, &error);
      assert_true ((b == NULL) == (error != NULL));
      g_clear_error (&error);
    }
    assert_true (amigo_metadata_parse_gpu_memory (s, &gib, &error) == (error == NULL));
  }
  print_message ("fuzz: %u of 3000 mutated elements still parsed\n", ok);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_roundtrip),
    cmocka_unit_test (test_libvirt_forms),
    cmocka_unit_test (test_domain_xml),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_history_travels),
    cmocka_unit_test (test_fuzz),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
