/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <math.h>
#include <string.h>

#include "amigo-admission-request.h"
#include "amigo-admission.h"
#include "amigo-error.h"
#include "amigo-request.h"
#include "amigo-test-file.h"
#include "amigo-time.h"

#define NOW_USEC (G_GINT64_CONSTANT (1796400000) * AMIGO_USEC_PER_SEC)
#define GIB (G_GUINT64_CONSTANT (1) << 30)

typedef struct {
  AmigoTestFile *file;
  AmigoConf *conf;
} Fixture;

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->file = amigo_test_file_new ("amigo-admission-XXXXXX", "ledger.json");
  f->conf = amigo_conf_new ();
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  amigo_test_file_free (f->file);
  amigo_conf_free (f->conf);
  g_free (f);
  return 0;
}

/* A domain as libvirt hands it to the hook, without amigo metadata. */
static char *
domain_xml (const char *name, const char *uuid, guint memory_mib)
{
  return g_strdup_printf ("<domain type='qemu'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n"
                          "  <memory unit='KiB'>%u</memory>\n  <vcpu placement='static'>1</vcpu>\n"
                          "  <os><type arch='x86_64'>hvm</type></os>\n  <devices/>\n</domain>\n",
                          name, uuid, memory_mib * 1024);
}

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "66666666-7777-8888-9999-000000000000"

static double
ledger_amount (AmigoAdmission *a, const char *what, const char *resource)
{
  g_autoptr (GVariant) ledger = g_variant_ref_sink (amigo_admission_get_ledger (a));
  g_autoptr (GVariant) amounts = g_variant_lookup_value (ledger, what, G_VARIANT_TYPE ("a{sv}"));
  double v = NAN;

  assert_non_null (amounts);
  assert_true (g_variant_lookup (amounts, resource, "d", &v));
  return v;
}

static gboolean
admit (AmigoAdmission *a, const char *name, const char *uuid, guint memory_mib, gint64 now,
       char **ret_xml, GError **error)
{
  g_autofree char *xml = domain_xml (name, uuid, memory_mib);
  g_autoptr (GVariant) info = NULL;
  g_autofree char *out = NULL;

  if (!amigo_admission_admit (a, xml, now, &out, &info, error))
    return FALSE;
  g_variant_ref_sink (info);
  if (ret_xml != NULL)
    *ret_xml = g_steal_pointer (&out);
  return TRUE;
}

/* Two guests of 768 MiB towards a host with 1 GiB: the first is admitted
 * with its tunables written in, the second refused naming memory. */
static void
test_admission_admit_and_refuse (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;

  /* no capacity yet: not answered (the hook then fails open) */
  assert_false (admit (a, "web1", UUID_A, 768, NOW_USEC, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  g_clear_error (&error);

  amigo_admission_set_node (a, 2, GIB);
  assert_true (admit (a, "web1", UUID_A, 768, NOW_USEC, &out, &error));
  assert_null (error);
  /* the prior: 1 vCPU x 1.0, 0.75 GiB as shares and soft limit */
  assert_non_null (strstr (out, "<shares>1024</shares>"));
  assert_non_null (strstr (out, "<soft_limit unit='KiB'>786432</soft_limit>"));
  assert_true (ledger_amount (a, "reserved", "memory") == 0.75);

  assert_false (admit (a, "web2", UUID_B, 768, NOW_USEC, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED));
  assert_string_equal (error->message, "memory: need 0.75 GiB, 0.25 GiB free after reservations");
  g_clear_error (&error);
  /* the refusal took nothing */
  assert_true (ledger_amount (a, "free", "memory") == 0.25);

  /* the same domain asking again replaces its entry, not counted twice */
  assert_true (admit (a, "web1", UUID_A, 768, NOW_USEC, NULL, &error));
  assert_true (ledger_amount (a, "reserved", "memory") == 0.75);
}

static void
test_admission_bad_input (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
  g_autoptr (GVariant) info = NULL;
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;

  amigo_admission_set_node (a, 2, GIB);
  assert_false (amigo_admission_admit (a, "<domain><name>x</name", NOW_USEC, &out, &info, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  g_clear_error (&error);
  assert_false (amigo_admission_admit (a, "not xml at all", NOW_USEC, &out, &info, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  g_clear_error (&error);
  assert_false (amigo_admission_release (a, "not-a-uuid", "test", &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "'not-a-uuid'"));
  g_clear_error (&error);
  /* releasing what holds nothing is not an error (every stop is reported) */
  assert_true (amigo_admission_release (a, UUID_B, "stopped end", &error));
}

/* After a crash the ledger is what it was: a new admission on the same file,
 * before libvirt is reached, answers from it. */
static void
test_admission_persisted (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;

  {
    g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
    amigo_admission_set_node (a, 2, GIB);
    assert_true (admit (a, "web1", UUID_A, 512, NOW_USEC, NULL, &error));
  }
  {
    g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
    assert_true (ledger_amount (a, "reserved", "memory") == 0.5);
    assert_false (admit (a, "web2", UUID_B, 768, NOW_USEC, NULL, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED));
    g_clear_error (&error);
    assert_true (amigo_admission_release (a, UUID_A, "release end", &error));
  }
  {
    g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
    assert_true (ledger_amount (a, "reserved", "memory") == 0.0);
  }
}

static void
test_admission_reconcile (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoAdmission) a = amigo_admission_new (f->conf, f->file->path);
  g_autoptr (GError) error = NULL;
  const char *const only_a[] = { UUID_A, NULL };
  const char *const none[] = { NULL };

  amigo_admission_set_node (a, 4, 4 * GIB);
  assert_true (admit (a, "a", UUID_A, 1024, NOW_USEC, NULL, &error));
  assert_true (admit (a, "b", UUID_B, 1024, NOW_USEC, NULL, &error));
  /* a arrived; b is still on its way */
  amigo_admission_reconcile (a, only_a, NOW_USEC + AMIGO_USEC_PER_SEC);
  assert_true (ledger_amount (a, "held", "memory") == 1.0);
  assert_true (ledger_amount (a, "reserved", "memory") == 1.0);
  /* a left (stopped or migrated away): released at once; b waits for its lease */
  amigo_admission_reconcile (a, none, NOW_USEC + 2 * AMIGO_USEC_PER_SEC);
  assert_true (ledger_amount (a, "held", "memory") == 0.0);
  assert_true (ledger_amount (a, "reserved", "memory") == 1.0);
  amigo_admission_reconcile (a, none, NOW_USEC + f->conf->allocation.lease_usec);
  assert_true (ledger_amount (a, "reserved", "memory") == 0.0);
}

static void
test_admission_disabled (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoAdmission) a = NULL;
  g_autofree char *xml = domain_xml ("big", UUID_A, 64 * 1024);
  g_autofree char *out = NULL;
  g_autoptr (GVariant) info = NULL;
  g_autoptr (GError) error = NULL;

  f->conf->allocation.enabled = FALSE;
  a = amigo_admission_new (f->conf, f->file->path);
  amigo_admission_set_node (a, 1, GIB);
  assert_true (amigo_admission_admit (a, xml, NOW_USEC, &out, &info, &error));
  assert_string_equal (out, xml);
}

/* The request is trusted while fresh; its memory is at least what QEMU held. */
static void
test_admission_request (void **state)
{
  AmigoRequest req;
  AmigoAllocation alloc;
  g_autofree char *json = NULL;
  g_autoptr (GError) error = NULL;

  memset (&req, 0, sizeof req);
  req.computed_usec = NOW_USEC;
  req.class_source = AMIGO_CLASS_SOURCE_CLASSIFIER;
  req.host_memory_gib = 0.4;
  req.reservation.quantile = 0.95;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    req.reservation.resources[r].score = NAN;
    req.reservation.resources[r].coverage = NAN;
  }
  req.reservation.resources[AMIGO_RESOURCE_CPU].present = TRUE;
  req.reservation.resources[AMIGO_RESOURCE_CPU].amount = 0.5;
  req.reservation.resources[AMIGO_RESOURCE_MEMORY].present = TRUE;
  req.reservation.resources[AMIGO_RESOURCE_MEMORY].amount = 0.3;
  json = amigo_request_to_json (&req);

  if (!amigo_admission_request_read (json, NOW_USEC + AMIGO_USEC_PER_MIN, AMIGO_USEC_PER_HOUR, &alloc, &error))
    fail_msg ("%s: %s", json, error->message);
  assert_true (alloc.cpu_cores == 0.5);
  assert_true (alloc.memory_gib == 0.4);
  assert_true (isnan (alloc.network_mbit_s));

  assert_false (amigo_admission_request_read (json, NOW_USEC + 2 * AMIGO_USEC_PER_HOUR, AMIGO_USEC_PER_HOUR,
                                              &alloc, &error));
  assert_non_null (strstr (error->message, "stale: computed 7200 s ago, trusted for 3600 s"));
  g_clear_error (&error);
  assert_false (amigo_admission_request_read ("{\"request_version\": \"x\"", NOW_USEC, AMIGO_USEC_PER_HOUR,
                                              &alloc, &error));
  assert_non_null (error);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_admission_admit_and_refuse, setup, teardown),
    cmocka_unit_test_setup_teardown (test_admission_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown (test_admission_persisted, setup, teardown),
    cmocka_unit_test_setup_teardown (test_admission_reconcile, setup, teardown),
    cmocka_unit_test_setup_teardown (test_admission_disabled, setup, teardown),
    cmocka_unit_test (test_admission_request),
  };

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
