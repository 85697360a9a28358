/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-domain-tunables.h"
#include "amigo-domain-xml.h"
#include "amigo-error.h"
#include "amigo-xml-span.h"

#define FIXTURE_DIR AMIGO_TEST_SRCDIR "/../fixtures"
#define UUID "6f1c2b9e-3d4a-4b5c-8e7f-0a1b2c3d4e5f"

/* A libvirt domain XML as `virsh dumpxml` writes it, trimmed. */
static const char *small_xml =
  "<domain type='qemu' id='3'>\n"
  "  <name>web1</name>\n"
  "  <uuid>" UUID "</uuid>\n"
  "  <metadata>\n"
  "    <amigo:domain xmlns:amigo=\"http://amigo.dev/xmlns/domain/1\" version=\"1\">\n"
  "      <amigo:workload class=\"web_server\"/>\n"
  "      <amigo:reservation>{&quot;request_version&quot;:1}</amigo:reservation>\n"
  "    </amigo:domain>\n"
  "  </metadata>\n"
  "  <memory unit='KiB'>262144</memory>\n"
  "  <currentMemory unit='KiB'>196608</currentMemory>\n"
  "  <vcpu placement='static' current='2'>4</vcpu>\n"
  "  <cputune>\n"
  "    <shares>512</shares>\n"
  "    <vcpupin vcpu='0' cpuset='0'/>\n"
  "  </cputune>\n"
  "  <!-- kept as it is -->\n"
  "  <os>\n"
  "    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n"
  "  </os>\n"
  "  <devices>\n"
  "    <disk type='file' device='disk'>\n"
  "      <driver name='qemu' type='raw'/>\n"
  "      <source file='/var/lib/libvirt/images/web1.img'/>\n"
  "      <target dev='vda' bus='virtio'/>\n"
  "      <iotune>\n"
  "        <read_iops_sec>50</read_iops_sec>\n"
  "        <total_bytes_sec>1000000</total_bytes_sec>\n"
  "      </iotune>\n"
  "    </disk>\n"
  "    <disk type='file' device='cdrom'>\n"
  "      <target dev='hdc' bus='ide'/>\n"
  "    </disk>\n"
  "    <disk type=\"file\" device=\"disk\"><target dev='vdb' bus='virtio'/></disk>\n"
  "    <interface type='network'>\n"
  "      <source network='default'/>\n"
  "      <bandwidth>\n"
  "        <inbound average='1' peak='2'/>\n"
  "      </bandwidth>\n"
  "    </interface>\n"
  "    <interface type='user'>\n"
  "      <model type='virtio'/>\n"
  "    </interface>\n"
  "  </devices>\n"
  "</domain>\n";

static AmigoAllocation
allocation (double cpu, double mem, double net, double iops)
{
  AmigoAllocation a;
  amigo_allocation_init (&a);
  a.cpu_cores = cpu;
  a.memory_gib = mem;
  a.network_mbit_s = net;
  a.disk_iops = iops;
  return a;
}

static void
test_size (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoDomainSize) size = amigo_domain_size_parse (small_xml, &error);

  if (size == NULL)
    fail_msg ("%s", error->message);
  assert_string_equal (size->name, "web1");
  assert_string_equal (size->uuid, UUID);
  assert_int_equal (size->vcpus, 2);
  assert_int_equal (size->vcpus_max, 4);
  assert_int_equal (size->memory_bytes, 262144ull * 1024);
  assert_int_equal (size->current_memory_bytes, 196608ull * 1024);
  assert_int_equal (size->n_disks, 2);          /* the cdrom is not a disk */
  assert_int_equal (size->n_interfaces, 2);
  assert_string_equal (size->workload, "web_server");
  assert_string_equal (size->request, "{\"request_version\":1}");
  assert_null (size->metadata_problem);
  assert_true (isnan (size->gpu_memory_gib));
}

static void
test_memory_units (void **state)
{
  static const struct {
    const char *value, *unit;
    guint64 bytes;
  } ok[] = {
    { "1024", NULL, 1024 * 1024 },
    { "1", "b", 1 }, { "7", "bytes", 7 },
    { "2", "KB", 2000 }, { "2", "k", 2048 }, { "2", "KiB", 2048 },
    { "3", "MB", 3000000 }, { "3", "M", 3 << 20 }, { "3", "mib", 3 << 20 },
    { "1", "GB", 1000000000 }, { "1", "GiB", 1 << 30 }, { " 4 ", "G", 4ull << 30 },
    { "1", "TiB", 1ull << 40 }, { "1", "PB", 1000000000000000ull }, { "8", "EiB", 8ull << 60 },
  };
  static const struct {
    const char *value, *unit, *message;
  } bad[] = {
    { "1", "XB", "unknown memory unit 'XB'" },
    { "-1", "KiB", "is not a whole number" },
    { "1.5", "GiB", "is not a whole number" },
    { "", NULL, "is not a whole number" },
    { "16", "EiB", "does not fit in 64 bits" },
    { "99999999999999999999999", "b", "is not a whole number" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++) {
    g_autoptr(GError) error = NULL;
    guint64 bytes = 0;
    if (!amigo_domain_xml_parse_memory (ok[i].value, ok[i].unit, &bytes, &error))
      fail_msg ("%s %s: %s", ok[i].value, ok[i].unit, error->message);
    assert_int_equal (bytes, ok[i].bytes);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    guint64 bytes = 0;
    assert_false (amigo_domain_xml_parse_memory (bad[i].value, bad[i].unit, &bytes, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    if (strstr (error->message, bad[i].message) == NULL)
      fail_msg ("'%s %s': got '%s'", bad[i].value, bad[i].unit, error->message);
  }
}

static void
test_bad_documents (void **state)
{
  static const struct {
    const char *xml, *message;
  } cases[] = {
    { "", "domain XML is empty" },
    { "<network><name>x</name></network>", "starts with <network>, expected <domain>" },
    { "<domain><name>x</name>", "not well-formed" },
    { "<domain><name>a</name><uuid>" UUID "</uuid><vcpu>1</vcpu></domain>", "has no <memory>" },
    { "<domain><uuid>" UUID "</uuid><vcpu>1</vcpu><memory>1</memory></domain>", "has no <name>" },
    { "<domain><name>a</name><vcpu>1</vcpu><memory>1</memory></domain>", "has no <uuid>" },
    { "<domain><name>a</name><uuid>not-a-uuid</uuid><vcpu>1</vcpu><memory>1</memory></domain>",
      "<uuid> 'not-a-uuid' is not a UUID" },
    { "<domain><name>a</name><uuid>" UUID "</uuid><vcpu>0</vcpu><memory>1</memory></domain>",
      "<vcpu> '0' is not a count" },
    { "<domain><name>a</name><uuid>" UUID "</uuid><vcpu current='9'>2</vcpu><memory>1</memory></domain>",
      "<vcpu current='9'> is not a count from 1 to 2" },
    { "<domain><name>a</name><uuid>" UUID "</uuid><vcpu>1</vcpu><memory unit='parsec'>1</memory></domain>",
      "<memory>: unknown memory unit 'parsec'" },
    { "<domain><name>a</name><name>b</name></domain>", "<name> appears twice" },
    { "<domain><name>a<b/></name></domain>", "unexpected element <b> inside <name>" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(AmigoDomainSize) size = amigo_domain_size_parse (cases[i].xml, &error);
    assert_null (size);
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    if (strstr (error->message, cases[i].message) == NULL)
      fail_msg ("case %zu: expected '%s', got '%s'", i, cases[i].message, error->message);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *huge = g_malloc (AMIGO_DOMAIN_XML_MAX_BYTES + 2);
    memset (huge, ' ', AMIGO_DOMAIN_XML_MAX_BYTES + 1);
    huge[AMIGO_DOMAIN_XML_MAX_BYTES + 1] = '\0';
    assert_null (amigo_domain_size_parse (huge, &error));
    assert_non_null (strstr (error->message, "larger than the limit of 16777216 bytes"));
  }
}

static gboolean
parse_fixed (const char *json, AmigoAllocation *ret, GError **error)
{
  if (strcmp (json, "{\"request_version\":1}") != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "member 'reservation' is missing");
    return FALSE;
  }
  ret->cpu_cores = 1.5;
  ret->memory_gib = 0.2;
  return TRUE;
}

static void
test_reservation_request_or_prior (void **state)
{
  g_autoptr(AmigoDomainSize) size = amigo_domain_size_parse (small_xml, NULL);
  g_autofree char *note = NULL;
  AmigoAllocationSource source;
  AmigoAllocation a;

  assert_non_null (size);
  amigo_domain_reservation (size, parse_fixed, &a, &source, &note);
  assert_int_equal (source, AMIGO_ALLOCATION_SOURCE_REQUEST);
  assert_true (a.cpu_cores == 1.5 && a.memory_gib == 0.2 && isnan (a.disk_iops));
  g_clear_pointer (&note, g_free);

  /* A request the parser refuses: the prior, and the note says why. */
  g_free (size->request);
  size->request = g_strdup ("{}");
  amigo_domain_reservation (size, parse_fixed, &a, &source, &note);
  assert_int_equal (source, AMIGO_ALLOCATION_SOURCE_PRIOR);
  assert_non_null (strstr (note, "member 'reservation' is missing"));
  assert_non_null (strstr (note, "'web_server' class prior"));
  /* 2 vCPUs online x 0.75 for a web server; memory = <memory>. */
  assert_true (fabs (a.cpu_cores - 1.5) < 1e-9);
  assert_true (fabs (a.memory_gib - 0.25) < 1e-9);
  assert_true (isnan (a.network_mbit_s) && isnan (a.disk_iops) && isnan (a.gpu_memory_gib));
  g_clear_pointer (&note, g_free);

  /* No request at all, no class: every vCPU. */
  g_clear_pointer (&size->request, g_free);
  g_clear_pointer (&size->workload, g_free);
  amigo_domain_reservation (size, parse_fixed, &a, &source, &note);
  assert_int_equal (source, AMIGO_ALLOCATION_SOURCE_PRIOR);
  assert_true (fabs (a.cpu_cores - 2.0) < 1e-9);
  assert_non_null (strstr (note, "carries no request"));
  assert_string_equal (amigo_allocation_source_to_string (source), "prior");
}

static void
test_bad_metadata_is_not_fatal (void **state)
{
  g_autofree char *xml = g_strdup (small_xml);
  g_autoptr(AmigoDomainSize) size = NULL;
  g_autofree char *note = NULL;
  AmigoAllocation a;
  char *p = strstr (xml, "{&quot;request_version&quot;:1}");

  memcpy (p, "not json at all{{{{{{{{{{{{{{", 29);
  size = amigo_domain_size_parse (xml, NULL);
  assert_non_null (size);
  assert_non_null (size->metadata_problem);
  amigo_domain_reservation (size, parse_fixed, &a, NULL, &note);
  assert_non_null (strstr (note, "amigo metadata could not be read"));
}

static void
test_apply (void **state)
{
  g_autoptr(GError) error = NULL;
  AmigoAllocation a = allocation (1.5, 0.5, 80, 300);
  g_autofree char *out = amigo_domain_tunables_apply (small_xml, &a, NULL, &error);

  if (out == NULL)
    fail_msg ("%s", error->message);
  /* CPU: shares replaced, the pin kept. */
  assert_non_null (strstr (out, "  <cputune>\n    <shares>1536</shares>\n    <vcpupin vcpu='0' cpuset='0'/>\n  </cputune>\n"));
  assert_null (strstr (out, "<shares>512</shares>"));
  /* Memory: a soft limit in a new <memtune> before </domain>, no hard limit. */
  assert_non_null (strstr (out, "  <memtune>\n    <soft_limit unit='KiB'>524288</soft_limit>\n  </memtune>\n</domain>\n"));
  assert_null (strstr (out, "hard_limit"));
  /* Disk: 300 IOPS over two disks; read_iops_sec removed, bytes kept; the
   * one-line disk stays on one line; the cdrom gets nothing. */
  assert_non_null (strstr (out, "      <iotune>\n        <total_iops_sec>150</total_iops_sec>\n"
                                "        <total_bytes_sec>1000000</total_bytes_sec>\n      </iotune>\n"));
  assert_null (strstr (out, "read_iops_sec"));
  assert_non_null (strstr (out, "<target dev='vdb' bus='virtio'/><iotune><total_iops_sec>150</total_iops_sec></iotune></disk>"));
  assert_non_null (strstr (out, "<disk type='file' device='cdrom'>\n      <target dev='hdc' bus='ide'/>\n    </disk>"));
  /* Network: 80 Mbit/s = 10000 kB/s on the one shapeable interface. */
  assert_non_null (strstr (out, "<bandwidth>\n        <inbound average='10000'/>\n        <outbound average='10000'/>\n      </bandwidth>"));
  assert_null (strstr (out, "peak='2'"));
  assert_non_null (strstr (out, "<interface type='user'>\n      <model type='virtio'/>\n    </interface>"));
  /* Everything else byte for byte. */
  assert_non_null (strstr (out, "  <!-- kept as it is -->\n  <os>\n    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n  </os>\n"));
  assert_non_null (strstr (out, "<amigo:reservation>{&quot;request_version&quot;:1}</amigo:reservation>"));

  /* Applying again replaces amigo's values instead of adding more. */
  {
    AmigoAllocation b = allocation (0.5, 1, NAN, NAN);
    g_autofree char *again = amigo_domain_tunables_apply (out, &b, NULL, &error);
    assert_non_null (again);
    assert_non_null (strstr (again, "<shares>512</shares>"));
    assert_null (strstr (again, "<shares>1536</shares>"));
    assert_non_null (strstr (again, "<soft_limit unit='KiB'>1048576</soft_limit>"));
    assert_null (strstr (again, "524288"));
    assert_non_null (strstr (again, "<total_iops_sec>150</total_iops_sec>"));   /* NAN: untouched */
  }

  /* Nothing asked: the XML comes back unchanged. */
  {
    AmigoAllocation none = allocation (NAN, NAN, NAN, NAN);
    g_autofree char *same = amigo_domain_tunables_apply (small_xml, &none, NULL, &error);
    assert_string_equal (same, small_xml);
  }
}

static void
test_apply_options_and_limits (void **state)
{
  g_autoptr(GError) error = NULL;
  AmigoDomainTunablesOptions o;
  AmigoAllocation a = allocation (40, NAN, NAN, NAN);
  g_autofree char *out = NULL;
  g_autofree char *capped = NULL;

  amigo_domain_tunables_options_init (&o);
  out = amigo_domain_tunables_apply (small_xml, &a, &o, &error);
  assert_non_null (strstr (out, "<shares>10000</shares>"));   /* cgroup v2's largest weight */
  assert_null (strstr (out, "global_quota"));

  o.cap_cpu = TRUE;
  a.cpu_cores = 1.25;
  capped = amigo_domain_tunables_apply (small_xml, &a, &o, &error);
  assert_non_null (strstr (capped, "<global_period>100000</global_period>"));
  assert_non_null (strstr (capped, "<global_quota>125000</global_quota>"));

  a.cpu_cores = -1;
  assert_null (amigo_domain_tunables_apply (small_xml, &a, &o, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "cpu_cores -1"));
  g_clear_error (&error);
  a.cpu_cores = INFINITY;
  assert_null (amigo_domain_tunables_apply (small_xml, &a, &o, &error));
  g_clear_error (&error);

  a.cpu_cores = 1;
  assert_null (amigo_domain_tunables_apply ("<domain>", &a, &o, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
}

static void
test_apply_empty_containers (void **state)
{
  static const char *xml =
    "<domain><name>a</name><uuid>" UUID "</uuid><vcpu>1</vcpu><memory>1024</memory>"
    "<cputune/><memtune   /><devices><disk device='disk'/><interface type='bridge'/></devices></domain>";
  g_autoptr(GError) error = NULL;
  AmigoAllocation a = allocation (1, 1, 8, 10);
  g_autofree char *out = amigo_domain_tunables_apply (xml, &a, NULL, &error);

  if (out == NULL)
    fail_msg ("%s", error->message);
  assert_string_equal (out,
    "<domain><name>a</name><uuid>" UUID "</uuid><vcpu>1</vcpu><memory>1024</memory>"
    "<cputune><shares>1024</shares></cputune><memtune><soft_limit unit='KiB'>1048576</soft_limit></memtune>"
    "<devices><disk device='disk'><iotune><total_iops_sec>10</total_iops_sec></iotune></disk>"
    "<interface type='bridge'><bandwidth><inbound average='1000'/><outbound average='1000'/></bandwidth></interface>"
    "</devices></domain>");
}

static void
test_span_errors (void **state)
{
  static const struct {
    const char *xml, *message;
  } cases[] = {
    { "", "no element" },
    { "<a><b></a>", "end tag </a> at byte 6 does not close <b>" },
    { "<a>", "<a> at byte 0 is not closed" },
    { "</a>", "end tag </a> without a start tag" },
    { "<a/><b/>", "a second root element" },
    { "<a x='1>", "unterminated attribute value" },
    { "<a><!-- x </a>", "unterminated comment" },
    { "x<a/>", "text outside the root element" },
    { "<a>< b/></a>", "'<' not followed by an element name" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(AmigoXmlSpan) span = amigo_xml_span_parse (cases[i].xml, strlen (cases[i].xml), &error);
    assert_null (span);
    if (strstr (error->message, cases[i].message) == NULL)
      fail_msg ("case %zu: expected '%s', got '%s'", i, cases[i].message, error->message);
  }
  {
    GString *deep = g_string_new (NULL);
    g_autoptr(GError) error = NULL;
    for (int i = 0; i < AMIGO_XML_SPAN_MAX_DEPTH + 1; i++)
      g_string_append (deep, "<a>");
    assert_null (amigo_xml_span_parse (deep->str, deep->len, &error));
    assert_non_null (strstr (error->message, "nested deeper"));
    g_string_free (deep, TRUE);
  }
}

/* The hook's input is fuzzed: random mutations of real domain XMLs must
 * either parse (and apply) or fail with a message, never crash. */
static void
test_fuzz_fixtures (void **state)
{
  static const char *fixtures[] = { "domain-lab-guest.xml", "domain-lab-guest-disk.xml", "domain-migrate-begin.xml" };
  static const char *inserts[] = { "<", ">", "</", "/>", "'", "\"", "&", "<!--", "]]>", "<domain>", "</devices>",
                                   "<cputune/>", "\xff", "&amp;", "unit='XB'", "<?x", "<![CDATA[" };
  GRand *rand = g_rand_new_with_seed (20261204);
  guint parsed = 0, refused = 0;

  for (gsize f = 0; f < G_N_ELEMENTS (fixtures); f++) {
    g_autofree char *path = g_build_filename (FIXTURE_DIR, fixtures[f], NULL);
    g_autofree char *orig = NULL;
    gsize len;

    if (!g_file_get_contents (path, &orig, &len, NULL))
      fail_msg ("missing fixture %s", path);
    for (int round = 0; round < 1500; round++) {
      g_autoptr(GString) s = g_string_new (orig);
      g_autoptr(GError) error = NULL;
      g_autoptr(AmigoDomainSize) size = NULL;
      g_autofree char *out = NULL;
      AmigoAllocation a = allocation (1, 0.5, 10, 100);
      int edits = g_rand_int_range (rand, 1, 4);

      for (int e = 0; e < edits && s->len > 0; e++) {
        gsize at = (gsize) g_rand_int_range (rand, 0, (gint32) s->len);
        gsize cut = (gsize) g_rand_int_range (rand, 1, 40);
        switch (g_rand_int_range (rand, 0, 4)) {
        case 0:
          g_string_erase (s, (gssize) at, (gssize) MIN (cut, s->len - at));
          break;
        case 1:
          g_string_insert (s, (gssize) at, inserts[g_rand_int_range (rand, 0, G_N_ELEMENTS (inserts))]);
          break;
        case 2:
          s->str[at] = (char) g_rand_int_range (rand, 1, 256);
          break;
        default:
          g_string_truncate (s, at);
          break;
        }
      }
      size = amigo_domain_size_parse (s->str, &error);
      out = amigo_domain_tunables_apply (s->str, &a, NULL, error == NULL ? &error : NULL);
      if (size == NULL) {
        assert_non_null (error);
        assert_true (strlen (error->message) > 10);
        refused++;
      } else {
        parsed++;
      }
    }
  }
  g_rand_free (rand);
  /* Both outcomes occur, or the mutations test nothing. */
  assert_true (parsed > 100 && refused > 100);
}

static void
test_fixtures_apply (void **state)
{
  static const char *fixtures[] = { "domain-lab-guest.xml", "domain-lab-guest-disk.xml", "domain-migrate-begin.xml" };

  for (gsize f = 0; f < G_N_ELEMENTS (fixtures); f++) {
    g_autofree char *path = g_build_filename (FIXTURE_DIR, fixtures[f], NULL);
    g_autofree char *xml = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(AmigoDomainSize) size = NULL;
    AmigoAllocation a = allocation (0.75, 0.125, 40, 200);

    assert_true (g_file_get_contents (path, &xml, NULL, NULL));
    size = amigo_domain_size_parse (xml, &error);
    if (size == NULL)
      fail_msg ("%s: %s", fixtures[f], error->message);
    assert_true (size->vcpus >= 1 && size->memory_bytes > 0);
    out = amigo_domain_tunables_apply (xml, &a, NULL, &error);
    if (out == NULL)
      fail_msg ("%s: %s", fixtures[f], error->message);
    assert_non_null (strstr (out, "<shares>768</shares>"));
    assert_non_null (strstr (out, "<soft_limit unit='KiB'>131072</soft_limit>"));
    /* The result still reads as the same domain. */
    {
      g_autoptr(AmigoDomainSize) back = amigo_domain_size_parse (out, &error);
      assert_non_null (back);
      assert_string_equal (back->uuid, size->uuid);
      assert_int_equal (back->n_disks, size->n_disks);
    }
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_size),
    cmocka_unit_test (test_memory_units),
    cmocka_unit_test (test_bad_documents),
    cmocka_unit_test (test_reservation_request_or_prior),
    cmocka_unit_test (test_bad_metadata_is_not_fatal),
    cmocka_unit_test (test_apply),
    cmocka_unit_test (test_apply_options_and_limits),
    cmocka_unit_test (test_apply_empty_containers),
    cmocka_unit_test (test_span_errors),
    cmocka_unit_test (test_fixtures_apply),
    cmocka_unit_test (test_fuzz_fixtures),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
