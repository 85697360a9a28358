/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-gpu-source.h"
#include "amigo-time.h"

#define NS "http://amigo.example.org/xmlns/domain/1"

static double
parse_ok (const char *xml, const char *ns)
{
  g_autoptr(GError) error = NULL;
  double gib = -1.0;

  if (!amigo_gpu_source_xml_parse (xml, ns, &gib, &error))
    fail_msg ("%s", error->message);
  return gib;
}

static void
test_xml_declared (void **state)
{
  assert_true (parse_ok ("<domain type='qemu'><name>a</name><metadata>"
                         "<amigo:gpu xmlns:amigo='" NS "' memory_gib='16'/>"
                         "</metadata><devices/></domain>", NULL) == 16.0);
  /* nested in a request element, two GPUs add up, other metadata ignored */
  assert_true (parse_ok ("<domain><metadata>"
                         "<other:gpu xmlns:other='http://example.org/x' memory_gib='99'/>"
                         "<a:request xmlns:a='" NS "'><a:gpu memory_gib='8'/><a:gpu memory_gib='4.5'/></a:request>"
                         "</metadata></domain>", NULL) == 12.5);
  /* default namespace declaration */
  assert_true (parse_ok ("<domain><metadata><gpu xmlns='" NS "' memory_gib='2'/></metadata></domain>",
                         NULL) == 2.0);
  /* with an explicit namespace only that one counts */
  assert_true (parse_ok ("<domain><metadata><a:gpu xmlns:a='" NS "' memory_gib='2'/></metadata></domain>",
                         "http://elsewhere.example.org/amigo") == 0.0);
  /* the layout amigo-metadata writes: <gpu> inside amigo's own <domain>
   * element, which carries the namespace declaration */
  assert_true (parse_ok ("<domain type='qemu'><name>vm</name><metadata>"
                         "<amigo:domain xmlns:amigo=\"http://amigo.dev/xmlns/domain/1\" version=\"1\">\n"
                         "  <amigo:workload>web</amigo:workload>\n  <amigo:gpu memory_gib=\"16\"/>\n"
                         "</amigo:domain></metadata></domain>", "http://amigo.dev/xmlns/domain/1") == 16.0);
  /* an amigo-looking element outside <metadata> is not a declaration */
  assert_true (parse_ok ("<domain><description/><devices><a:gpu xmlns:a='" NS "' memory_gib='2'/></devices></domain>",
                         NULL) == 0.0);
}

/* Without a declaration: no passed-through PCI/mdev device means no GPU
 * (0), one means a GPU of unknown size (NAN, never 0). */
static void
test_xml_hostdev (void **state)
{
  assert_true (parse_ok ("<domain><devices><disk/></devices></domain>", NULL) == 0.0);
  assert_true (isnan (parse_ok ("<domain><devices><hostdev mode='subsystem' type='pci' managed='yes'>"
                                "<source><address domain='0x0000' bus='0x65' slot='0x00' function='0x0'/></source>"
                                "</hostdev></devices></domain>", NULL)));
  assert_true (isnan (parse_ok ("<domain><devices><hostdev mode='subsystem' type='mdev' model='vfio-pci'/></devices></domain>",
                                NULL)));
  assert_true (parse_ok ("<domain><devices><hostdev mode='subsystem' type='usb'/></devices></domain>", NULL) == 0.0);
  /* a declaration wins over the unknown */
  assert_true (parse_ok ("<domain><metadata><a:gpu xmlns:a='" NS "' memory_gib='24'/></metadata>"
                         "<devices><hostdev mode='subsystem' type='pci'/></devices></domain>", NULL) == 24.0);
}

static void
assert_parse_fails (const char *xml, const char *needle)
{
  g_autoptr(GError) error = NULL;
  double gib = 123.0;

  assert_false (amigo_gpu_source_xml_parse (xml, NULL, &gib, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  if (strstr (error->message, needle) == NULL)
    fail_msg ("error '%s' does not say '%s'", error->message, needle);
  assert_true (gib == 123.0);
}

static void
test_xml_bad (void **state)
{
  assert_parse_fails ("<domain><metadata><a:gpu xmlns:a='" NS "' memory_gib='lots'/></metadata></domain>",
                      "memory_gib 'lots'");
  assert_parse_fails ("<domain><metadata><a:gpu xmlns:a='" NS "' memory_gib='-1'/></metadata></domain>",
                      "memory_gib '-1'");
  assert_parse_fails ("<domain><metadata><a:gpu xmlns:a='" NS "'/></metadata></domain>", "memory_gib");
  assert_parse_fails ("<domain><metadata>", "domain XML");
  assert_parse_fails ("<network/>", "'network'");
  assert_parse_fails ("not xml at all", "domain XML");
}

/* The source reads a live domain's XML through libvirt (test driver) and
 * keeps it for the refresh period. */
static void
test_source_reads_domain (void **state)
{
  virConnectPtr conn = virConnectOpen ("test:///default");
  g_autoptr(AmigoGpuSource) src = amigo_gpu_source_xml_new (NULL, 60 * AMIGO_USEC_PER_SEC);
  g_autoptr(GError) error = NULL;
  virDomainPtr dom;
  char uuid[VIR_UUID_STRING_BUFLEN];
  double gib = -1.0;
  gint64 t0 = 5000 * AMIGO_USEC_PER_SEC;

  assert_non_null (conn);
  assert_string_equal (amigo_gpu_source_get_name (src), "xml");
  assert_int_equal (amigo_gpu_source_probe (src, NULL), AMIGO_GPU_PROBE_SUCCESS);
  dom = virDomainLookupByName (conn, "test");
  assert_non_null (dom);
  assert_int_equal (virDomainGetUUIDString (dom, uuid), 0);

  assert_true (amigo_gpu_source_read (src, dom, uuid, t0, &gib, &error));
  assert_true (gib == 0.0);

  assert_int_equal (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, "<gpu memory_gib='8'/>",
                                          "amigo", NS, VIR_DOMAIN_AFFECT_LIVE), 0);
  /* cached for a minute */
  assert_true (amigo_gpu_source_read (src, dom, uuid, t0 + AMIGO_USEC_PER_SEC, &gib, &error));
  assert_true (gib == 0.0);
  assert_true (amigo_gpu_source_read (src, dom, uuid, t0 + 61 * AMIGO_USEC_PER_SEC, &gib, &error));
  assert_true (gib == 8.0);
  /* forgetting drops the cache */
  assert_int_equal (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, "<gpu memory_gib='4'/>",
                                          "amigo", NS, VIR_DOMAIN_AFFECT_LIVE), 0);
  amigo_gpu_source_forget (src, uuid);
  assert_true (amigo_gpu_source_read (src, dom, uuid, t0 + 62 * AMIGO_USEC_PER_SEC, &gib, &error));
  assert_true (gib == 4.0);
  /* no domain to read from is an error, not a zero */
  amigo_gpu_source_forget (src, uuid);
  assert_false (amigo_gpu_source_read (src, NULL, uuid, t0, &gib, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));

  virDomainFree (dom);
  virConnectClose (conn);
}

/* A member is one vtable: a fake one shows the contract the collector
 * relies on (bad figures never pass through). */
static gboolean
fake_read (AmigoGpuSource *self, virDomainPtr dom, const char *uuid, gint64 now_usec,
           double *ret_gib, GError **error)
{
  *ret_gib = *(double *) self->priv;
  return TRUE;
}

static void
test_source_vtable_guards (void **state)
{
  static const AmigoGpuSourceClass fake_class = { .name = "fake", .read = fake_read };
  double value = -3.0;
  g_autoptr(AmigoGpuSource) src = amigo_gpu_source_new_internal (&fake_class, &value);
  double gib = 0.0;

  assert_true (amigo_gpu_source_read (src, NULL, "u", 0, &gib, NULL));
  assert_true (isnan (gib));
  value = INFINITY;
  assert_true (amigo_gpu_source_read (src, NULL, "u", 0, &gib, NULL));
  assert_true (isnan (gib));
  value = 40.0;
  assert_true (amigo_gpu_source_read (src, NULL, "u", 0, &gib, NULL));
  assert_true (gib == 40.0);
  amigo_gpu_source_forget (src, "u");   /* optional vfunc missing: fine */
}

static void
silence_libvirt (void *data, virErrorPtr err)
{
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_xml_declared),
    cmocka_unit_test (test_xml_hostdev),
    cmocka_unit_test (test_xml_bad),
    cmocka_unit_test (test_source_reads_domain),
    cmocka_unit_test (test_source_vtable_guards),
  };
  virSetErrorFunc (NULL, silence_libvirt);
  return cmocka_run_group_tests_name ("gpu-source", tests, NULL, NULL);
}
