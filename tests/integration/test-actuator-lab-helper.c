/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Run inside a lab host while a domain migrates in (tests/integration/
 * test-actuator-lab.sh): waits for the incoming domain NAME, checks that the
 * libvirt actuator defers while the migration holds the job, writes
 * shares/quota/soft limit through the direct (cgroup) actuator, waits for
 * the job to end, checks that the cgroup still holds them, hands them back
 * to libvirt and checks libvirt's live XML. One "# ..." line per step;
 * exit 1 with "FAIL: ..." on the first wrong answer. */
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-actuator.h"
#include "amigo-handback.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)

static gint64 t0;

static void
quiet (void *data, virErrorPtr e)
{
}

static double
since (void)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

static G_GNUC_NORETURN void
fail (const char *what, const GError *error)
{
  printf ("FAIL: %s%s%s\n", what, error ? ": " : "", error ? error->message : "");
  exit (1);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  virConnectPtr conn;
  virDomainPtr dom = NULL;
  AmigoActuatorSettings want, wrote, have, plan;

  if (argc != 2) {
    fprintf (stderr, "usage: %s DOMAIN\n", argv[0]);
    return 2;
  }
  virSetErrorFunc (NULL, quiet);
  if ((conn = virConnectOpen ("qemu:///system")) == NULL)
    fail ("cannot connect to qemu:///system", NULL);
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < 1200 && (dom = virDomainLookupByName (conn, argv[1])) == NULL; i++)
    g_usleep (50000);
  if (dom == NULL)
    fail ("the incoming domain never appeared", NULL);
  t0 = g_get_monotonic_time ();

  AmigoActuatorTarget target = { .name = argv[1], .id = virDomainGetID (dom), .dom = dom };
  g_autoptr (AmigoActuator) lv = amigo_actuator_new (&amigo_actuator_libvirt_class, &target, &error);
  if (lv == NULL)
    fail ("libvirt actuator", error);
  AmigoActuatorProbeResult r = amigo_actuator_probe (lv, &reason);
  printf ("# %.2f s libvirt: %s (%s)\n", since (), amigo_actuator_probe_result_to_string (r), reason);
  if (r != AMIGO_ACTUATOR_PROBE_DEFER)
    fail ("the libvirt actuator does not defer during the incoming migration", NULL);

  g_autoptr (AmigoActuator) direct = NULL;
  for (int i = 0; i < 100 && direct == NULL; i++) {
    g_clear_error (&error);
    if ((direct = amigo_actuator_new_direct (&target, &error)) == NULL)
      g_usleep (50000);
  }
  if (direct == NULL)
    fail ("no direct actuator", error);
  amigo_actuator_settings_init (&want);
  want.cpu_shares = 3000;
  want.cpu_quota_usec = 70000;
  want.memory_soft_limit_bytes = 300 * MIB;
  if (!amigo_actuator_apply (direct, &want, &wrote, &error))
    fail ("direct apply", error);
  g_autofree char *ws = amigo_actuator_settings_to_string (&wrote);
  printf ("# %.2f s wrote through %s: %s\n", since (), amigo_actuator_get_name (direct), ws);

  AmigoActuatorReading reading;
  if (!amigo_actuator_read_pressure (direct, &reading, &error))
    fail ("pressure counters", error);

  /* the job ends when the migration does */
  for (;;) {
    g_clear_pointer (&reason, g_free);
    if (amigo_actuator_probe (lv, &reason) == AMIGO_ACTUATOR_PROBE_SUPPORTED)
      break;
    if (since () > 300)
      fail ("the migration's job never ended", NULL);
    g_usleep (200000);
  }
  printf ("# %.2f s libvirt: supported (%s)\n", since (), reason);

  amigo_actuator_settings_init (&have);
  if (!amigo_actuator_read_back (direct, &have, &error))
    fail ("read back", error);
  if (have.cpu_shares != 3000 || have.cpu_quota_usec != 70000 || have.memory_soft_limit_bytes != 300 * MIB) {
    g_autofree char *hs = amigo_actuator_settings_to_string (&have);
    printf ("# cgroup after the migration: %s\n", hs);
    fail ("the direct writes did not survive the end of the migration", NULL);
  }
  printf ("# the direct writes survived the end of the migration\n");

  g_clear_pointer (&reason, g_free);
  if (amigo_handback_plan (&wrote, &have, NULL, NULL, FALSE, &plan, &reason) != AMIGO_HANDBACK_WRITE)
    fail ("hand back decided not to write", NULL);
  if (!amigo_handback_write (lv, &plan, &error))
    fail ("hand back", error);
  printf ("# %.2f s %s\n", since (), reason);

  g_autofree char *xml = virDomainGetXMLDesc (dom, 0);
  const char *expect[] = { "<shares>3000</shares>", "<global_quota>70000</global_quota>",
                           "<soft_limit unit='KiB'>307200</soft_limit>" };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    if (xml == NULL || strstr (xml, expect[i]) == NULL)
      fail (expect[i], NULL);
  printf ("# libvirt's live XML holds what was written directly\n");
  virDomainFree (dom);
  virConnectClose (conn);
  return 0;
}
