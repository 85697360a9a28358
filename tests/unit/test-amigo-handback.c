/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When and what amigo hands back to libvirt after writing cgroups directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-handback.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)

/* Written directly during a migration: shares, quota, soft limit, one disk. */
static void
direct_writes (AmigoActuatorSettings *d)
{
  amigo_actuator_settings_init (d);
  d->cpu_shares = 3000;
  d->cpu_quota_usec = 70000;
  d->memory_soft_limit_bytes = 300 * MIB;
  amigo_actuator_settings_disk (d, "8:0")->read_iops = 100;
}

/* After the migration, with the cgroup still holding every value: all of it
 * goes to libvirt, the disk under the name libvirt knows it by. */
static void
test_after_migration_all (void **state)
{
  AmigoActuatorSettings direct, in_force, plan;
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *reason = NULL;

  direct_writes (&direct);
  in_force = direct;
  g_hash_table_insert (names, (char *) "8:0", (char *) "/dev/sdb");
  assert_int_equal (amigo_handback_plan (&direct, &in_force, NULL, names, FALSE, &plan, &reason),
                    AMIGO_HANDBACK_WRITE);
  g_autofree char *s = amigo_actuator_settings_to_string (&plan);
  assert_string_equal (s, "cpu_quota_usec=70000 cpu_shares=3000 memory_soft_limit_bytes=314572800 "
                          "disk[/dev/sdb].read_iops=100");
  assert_string_equal (reason, "hand back 'cpu_quota_usec=70000 cpu_shares=3000 "
                               "memory_soft_limit_bytes=314572800 disk[/dev/sdb].read_iops=100'");
}

/* While the job holds the domain: wait (a libvirt call would queue behind
 * the migration and, when it finally runs, overwrite newer direct writes). */
static void
test_job_active_waits (void **state)
{
  AmigoActuatorSettings direct, in_force, plan;
  g_autofree char *reason = NULL;

  direct_writes (&direct);
  in_force = direct;
  assert_int_equal (amigo_handback_plan (&direct, &in_force, NULL, NULL, TRUE, &plan, &reason),
                    AMIGO_HANDBACK_WAIT);
  assert_non_null (strstr (reason, "a job holds the domain: libvirt would queue"));
  assert_non_null (strstr (reason, "disks without a libvirt device name are not handed back"));
}

/* A field someone changed since (an administrator through virsh) is theirs;
 * a field libvirt's XML already holds is not written again. */
static void
test_overridden_and_already_known (void **state)
{
  AmigoActuatorSettings direct, in_force, xml, plan;
  g_autofree char *reason = NULL;

  direct_writes (&direct);
  in_force = direct;
  in_force.cpu_shares = 1024;
  amigo_actuator_settings_init (&xml);
  xml.memory_soft_limit_bytes = 300 * MIB;
  assert_int_equal (amigo_handback_plan (&direct, &in_force, &xml, NULL, FALSE, &plan, &reason),
                    AMIGO_HANDBACK_WRITE);
  g_autofree char *s = amigo_actuator_settings_to_string (&plan);
  assert_string_equal (s, "cpu_quota_usec=70000");
  assert_non_null (strstr (reason, "fields changed by someone else since are left to them"));

  /* everything known or overridden: nothing, even while a job runs */
  xml.cpu_quota_usec = 70000;
  g_clear_pointer (&reason, g_free);
  assert_int_equal (amigo_handback_plan (&direct, &in_force, &xml, NULL, TRUE, &plan, &reason),
                    AMIGO_HANDBACK_NOTHING);
  assert_true (amigo_actuator_settings_is_empty (&plan));

  /* nothing written directly: nothing */
  amigo_actuator_settings_init (&direct);
  assert_int_equal (amigo_handback_plan (&direct, &in_force, NULL, NULL, FALSE, &plan, NULL),
                    AMIGO_HANDBACK_NOTHING);
}

/* An unknown in-force value (unreadable cgroup) is handed back. */
static void
test_unknown_in_force (void **state)
{
  AmigoActuatorSettings direct, in_force, plan;

  direct_writes (&direct);
  amigo_actuator_settings_init (&in_force);
  assert_int_equal (amigo_handback_plan (&direct, &in_force, NULL, NULL, FALSE, &plan, NULL),
                    AMIGO_HANDBACK_WRITE);
  assert_true (plan.cpu_shares == 3000 && plan.cpu_quota_usec == 70000);
  assert_int_equal (plan.n_disks, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_after_migration_all),
    cmocka_unit_test (test_job_active_waits),
    cmocka_unit_test (test_overridden_and_already_known),
    cmocka_unit_test (test_unknown_in_force),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
