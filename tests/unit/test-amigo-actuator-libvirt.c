/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt actuator against libvirt's test driver (test:///default), as
 * far as that driver implements the calls: memory parameters and interface
 * bandwidth round-trip; the scheduler parameters it lacks (it knows only
 * "weight") come back as a clear error naming the domain. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libvirt/virterror.h>
#include <string.h>

#include "amigo-actuator.h"
#include "amigo-error.h"
#include "amigo-handback.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)

typedef struct {
  virConnectPtr conn;
  virDomainPtr dom;
} Fixture;

static void
quiet (void *data, virErrorPtr e)
{
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  virSetErrorFunc (NULL, quiet);
  f->conn = virConnectOpen ("test:///default");
  assert_non_null (f->conn);
  f->dom = virDomainLookupByName (f->conn, "test");
  assert_non_null (f->dom);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  virDomainFree (f->dom);
  virConnectClose (f->conn);
  g_free (f);
  return 0;
}

static AmigoActuator *
new_libvirt (Fixture *f)
{
  AmigoActuatorTarget t = { .name = "test", .id = 1, .dom = f->dom };
  g_autoptr (GError) error = NULL;
  AmigoActuator *a = amigo_actuator_new (&amigo_actuator_libvirt_class, &t, &error);

  assert_null (error);
  return a;
}

static void
test_probe (void **state)
{
  Fixture *f = *state;
  g_autofree char *reason = NULL;
  g_autoptr (AmigoActuator) a = new_libvirt (f);

  assert_int_equal (amigo_actuator_probe (a, &reason), AMIGO_ACTUATOR_PROBE_SUPPORTED);
  assert_string_equal (reason, "domain 'test' runs and no job holds it");

  /* a domain that does not run: defer */
  assert_int_equal (virDomainDestroy (f->dom), 0);
  g_clear_pointer (&reason, g_free);
  assert_int_equal (amigo_actuator_probe (a, &reason), AMIGO_ACTUATOR_PROBE_DEFER);
  assert_string_equal (reason, "domain 'test' is not running");

  /* no domain at all: refused at creation */
  AmigoActuatorTarget t = { .name = "nodom" };
  g_autoptr (GError) error = NULL;
  assert_null (amigo_actuator_new (&amigo_actuator_libvirt_class, &t, &error));
  assert_string_equal (error->message, "actuator 'libvirt' needs the libvirt domain of 'nodom'");
}

/* Memory limits go to libvirt in KiB and come back in bytes; the second
 * apply of the same settings makes no call (nothing changed). */
static void
test_memory_round_trip (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoActuator) a = new_libvirt (f);
  AmigoActuatorSettings want, wrote, have;

  amigo_actuator_settings_init (&want);
  want.memory_soft_limit_bytes = 300 * MIB;
  want.memory_hard_limit_bytes = 1024 * MIB;
  assert_true (amigo_actuator_apply (a, &want, &wrote, &error));
  assert_null (error);
  assert_true (wrote.memory_soft_limit_bytes == 300 * MIB);

  amigo_actuator_settings_init (&have);
  assert_true (amigo_actuator_read_back (a, &have, &error));
  assert_true (have.memory_soft_limit_bytes == 300 * MIB);
  assert_true (have.memory_hard_limit_bytes == 1024 * MIB);

  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  assert_true (amigo_actuator_settings_is_empty (&wrote));

  want.memory_hard_limit_bytes = AMIGO_ACTUATOR_UNLIMITED;
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  assert_true (amigo_actuator_read_back (a, &have, NULL));
  assert_true (have.memory_hard_limit_bytes == AMIGO_ACTUATOR_UNLIMITED);
}

/* Interface bandwidth by MAC: kbit/s in, libvirt's KiB/s, kbit/s back. */
static void
test_interface_round_trip (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoActuator) a = new_libvirt (f);
  AmigoActuatorSettings want, have;

  amigo_actuator_settings_init (&want);
  AmigoActuatorInterface *n = amigo_actuator_settings_interface (&want, "aa:bb:cc:dd:ee:ff");
  n->rx_kbit_s = 8000;
  n->tx_kbit_s = 4000;
  assert_true (amigo_actuator_apply (a, &want, NULL, &error));
  assert_null (error);
  amigo_actuator_settings_init (&have);
  amigo_actuator_settings_interface (&have, "aa:bb:cc:dd:ee:ff");
  assert_true (amigo_actuator_read_back (a, &have, &error));
  assert_true (have.interfaces[0].rx_kbit_s == 8000);
  assert_true (have.interfaces[0].tx_kbit_s == 4000);

  /* an unknown interface is named */
  amigo_actuator_settings_init (&want);
  amigo_actuator_settings_interface (&want, "vnet9")->rx_kbit_s = 8;
  assert_false (amigo_actuator_apply (a, &want, NULL, &error));
  assert_non_null (strstr (error->message, "setting the bandwidth of interface 'vnet9' of domain 'test': "));
}

/* The test driver has no cpu_shares: the error names what was set, the
 * domain, and libvirt's reason. */
static void
test_cpu_refused_by_driver (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoActuator) a = new_libvirt (f);
  AmigoActuatorSettings want;

  amigo_actuator_settings_init (&want);
  want.cpu_shares = 2048;
  assert_false (amigo_actuator_apply (a, &want, NULL, &error));
  assert_non_null (strstr (error->message, "setting cpu_shares/global_period/global_quota of domain 'test': "));
}

/* Hand back writes through libvirt even though libvirt's live read-back
 * already shows the value (it reads the cgroup); only the libvirt member
 * may hand back. */
static void
test_handback_write (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoActuator) a = new_libvirt (f);
  AmigoActuatorSettings plan, have;
  virTypedParameterPtr params = NULL;
  int n = 0;
  unsigned long long soft = 0;

  amigo_actuator_settings_init (&plan);
  plan.memory_soft_limit_bytes = 200 * MIB;
  amigo_actuator_settings_init (&have);
  assert_true (amigo_actuator_read_back (a, &have, NULL));
  a->known.memory_soft_limit_bytes = 200 * MIB; /* "already in force" */
  assert_true (amigo_handback_write (a, &plan, &error));
  assert_null (error);
  assert_int_equal (virDomainGetMemoryParameters (f->dom, NULL, &n, 0), 0);
  params = g_new0 (virTypedParameter, n);
  assert_int_equal (virDomainGetMemoryParameters (f->dom, params, &n, 0), 0);
  assert_int_equal (virTypedParamsGetULLong (params, n, VIR_DOMAIN_MEMORY_SOFT_LIMIT, &soft), 1);
  assert_true (soft == 200 * 1024);
  virTypedParamsClear (params, n);
  g_free (params);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_probe, setup, teardown),
    cmocka_unit_test_setup_teardown (test_memory_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_interface_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cpu_refused_by_driver, setup, teardown),
    cmocka_unit_test_setup_teardown (test_handback_write, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
