/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocation loops' decisions: the migration phase from what libvirt
 * says, when loops start, run and hand back, which domain counts as
 * incoming, the host's confined CPU, and a tick on a fake cgroup v1 tree
 * (AMIGO_SYSFS_ROOT): the incoming domain keeps its reservation while the
 * lower-priority neighbour's CPU quota is capped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "amigo-actuator.h"
#include "amigo-allocation-loops.h"
#include "amigo-error.h"
#include "amigo-test-file.h"
#include "amigo-time.h"

#define S AMIGO_USEC_PER_SEC
#define WEB_UUID "11111111-1111-1111-1111-111111111111"
#define BATCH_UUID "22222222-2222-2222-2222-222222222222"

/* ---- phase ---- */

static void
test_phase (void **state)
{
  double progress = -1;

  /* not running here yet: the incoming migration copies memory */
  assert_int_equal (amigo_loops_phase (0, 100 * S, 2 * S, 60 * S, &progress), AMIGO_PID_PHASE_PRECOPY);
  assert_true (progress == 0);
  /* just started running: switch-over for one interval */
  assert_int_equal (amigo_loops_phase (100 * S, 101 * S, 2 * S, 60 * S, &progress), AMIGO_PID_PHASE_SWITCHOVER);
  /* then settle, its progress running from 0 to 1 */
  assert_int_equal (amigo_loops_phase (100 * S, 102 * S, 2 * S, 60 * S, &progress), AMIGO_PID_PHASE_SETTLE);
  assert_true (fabs (progress) < 1e-9);
  assert_int_equal (amigo_loops_phase (100 * S, 132 * S, 2 * S, 60 * S, &progress), AMIGO_PID_PHASE_SETTLE);
  assert_true (fabs (progress - 0.5) < 1e-9);
  /* after the settle period: steady */
  assert_int_equal (amigo_loops_phase (100 * S, 162 * S, 2 * S, 60 * S, &progress), AMIGO_PID_PHASE_STEADY);
  assert_true (progress == 1);
}

/* ---- decide ---- */

static void
test_decide (void **state)
{
  AmigoLoopsObservation unknown = { 0 };
  AmigoLoopsObservation incoming = { .known = TRUE, .incoming = TRUE, .job_active = TRUE };
  AmigoLoopsObservation running = { .known = TRUE, .running = TRUE };
  AmigoLoopsObservation running_job = { .known = TRUE, .running = TRUE, .job_active = TRUE };

  /* nothing known yet: wait for libvirt's answer */
  assert_int_equal (amigo_loops_decide (&unknown, FALSE, FALSE, AMIGO_PID_PHASE_PRECOPY), AMIGO_LOOPS_ACTION_NONE);
  /* an arriving domain gets loops; one that runs here already does not */
  assert_int_equal (amigo_loops_decide (&incoming, FALSE, FALSE, AMIGO_PID_PHASE_PRECOPY), AMIGO_LOOPS_ACTION_START);
  assert_int_equal (amigo_loops_decide (&running, FALSE, FALSE, AMIGO_PID_PHASE_STEADY), AMIGO_LOOPS_ACTION_NONE);
  /* loops run through pre-copy, switch-over and settle */
  assert_int_equal (amigo_loops_decide (&incoming, TRUE, FALSE, AMIGO_PID_PHASE_PRECOPY), AMIGO_LOOPS_ACTION_RUN);
  assert_int_equal (amigo_loops_decide (&running_job, TRUE, FALSE, AMIGO_PID_PHASE_SWITCHOVER),
                    AMIGO_LOOPS_ACTION_RUN);
  assert_int_equal (amigo_loops_decide (&running, TRUE, FALSE, AMIGO_PID_PHASE_SETTLE), AMIGO_LOOPS_ACTION_RUN);
  /* settled, but a job still holds it: a libvirt call would wait, keep running */
  assert_int_equal (amigo_loops_decide (&running_job, TRUE, FALSE, AMIGO_PID_PHASE_STEADY), AMIGO_LOOPS_ACTION_RUN);
  /* settled and free: hand back (then the loops stop) */
  assert_int_equal (amigo_loops_decide (&running, TRUE, FALSE, AMIGO_PID_PHASE_STEADY), AMIGO_LOOPS_ACTION_HANDBACK);
  /* stopped loops stay stopped */
  assert_int_equal (amigo_loops_decide (&running, TRUE, TRUE, AMIGO_PID_PHASE_STEADY), AMIGO_LOOPS_ACTION_NONE);
  assert_string_equal (amigo_loops_action_to_string (AMIGO_LOOPS_ACTION_HANDBACK), "handback");
}

/* ---- fake tree ---- */

typedef struct {
  char *root;
} Fixture;

static char *
get (const char *root, const char *rel)
{
  return g_strchomp (amigo_test_tree_get (root, rel));
}

/* libvirt's v1 layout of domain @id-@name, no limits. */
static void
make_domain (const char *root, int id, const char *name)
{
  g_autofree char *cpu = g_strdup_printf ("sys/fs/cgroup/cpu/machine/qemu-%d-%s.libvirt-qemu", id, name);
  g_autofree char *mem = g_strdup_printf ("sys/fs/cgroup/memory/machine/qemu-%d-%s.libvirt-qemu", id, name);
  g_autofree char *blk = g_strdup_printf ("sys/fs/cgroup/blkio/machine/qemu-%d-%s.libvirt-qemu", id, name);
  g_autofree char *p = NULL;

#define PUT(dir, file, text) do { g_free (p); p = g_build_filename (dir, file, NULL); amigo_test_tree_put (root, p, text); } while (0)
  PUT (cpu, "cpu.cfs_quota_us", "-1\n");
  PUT (cpu, "cpu.cfs_period_us", "100000\n");
  PUT (cpu, "cpu.shares", "1024\n");
  PUT (cpu, "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
  PUT (mem, "memory.soft_limit_in_bytes", "9223372036854771712\n");
  PUT (mem, "memory.limit_in_bytes", "9223372036854771712\n");
  PUT (mem, "memory.usage_in_bytes", "104857600\n");
  PUT (blk, "blkio.throttle.read_iops_device", "");
  PUT (blk, "blkio.throttle.write_iops_device", "");
#undef PUT
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->root = amigo_test_sysfs_root_new ("amigo-loops-XXXXXX");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  amigo_test_sysfs_root_free (f->root);
  g_free (f);
  return 0;
}

static void
test_confined_cpu (void **state)
{
  Fixture *f = *state;

  /* no cgroup files at all: the node's CPUs count */
  assert_true (amigo_actuator_confined_cpu_cores () == 0);
  /* a host confined by its parent (the lab's --cpus 1.5) */
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "150000\n");
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  assert_true (fabs (amigo_actuator_confined_cpu_cores () - 1.5) < 1e-9);
  /* no quota */
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  assert_true (amigo_actuator_confined_cpu_cores () == 0);
  /* garbage is no limit, never a crash */
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "banana\n");
  assert_true (amigo_actuator_confined_cpu_cores () == 0);
}

static void
test_confined_cpu_v2 (void **state)
{
  Fixture *f = *state;

  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu.max", "max 100000\n");
  assert_true (amigo_actuator_confined_cpu_cores () == 0);
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu.max", "50000 100000\n");
  assert_true (fabs (amigo_actuator_confined_cpu_cores () - 0.5) < 1e-9);
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu.max", "50000\n");
  assert_true (amigo_actuator_confined_cpu_cores () == 0);
}

/* ---- a tick ---- */

static const char *
label_of (const char *uuid, gpointer user_data)
{
  return strcmp (uuid, WEB_UUID) == 0 ? "web_server" : "batch";
}

static void
sample (AmigoDomainTable *table, const char *uuid, const char *name, gint64 now, double cpu)
{
  AmigoSample s;

  amigo_sample_init (&s, now);
  s.values[AMIGO_METRIC_CPU] = cpu;
  s.values[AMIGO_METRIC_HOST_MEMORY] = 0.1;
  amigo_domain_table_update (table, uuid, name, &s, NULL);
}

static void
poll (AmigoAllocationLoops *loops, AmigoDomainTable *table, gint64 now, double web_cpu, double batch_cpu)
{
  amigo_domain_table_begin_poll (table);
  sample (table, WEB_UUID, "web", now, web_cpu);
  sample (table, BATCH_UUID, "batch", now, batch_cpu);
  amigo_domain_table_end_poll (table, NULL, NULL);
  amigo_allocation_loops_tick (loops, table, NULL, now);
}

static void
test_tick_caps_neighbour (void **state)
{
  Fixture *f = *state;
  AmigoAllocationLoopsSources sources = { NULL, label_of, NULL };
  g_autoptr (AmigoAllocationLoops) loops = amigo_allocation_loops_new (NULL, 2 * S, 60 * S, &sources);
  g_autoptr (AmigoDomainTable) table = amigo_domain_table_new ();
  AmigoLoopsObservation web = { .known = TRUE, .incoming = TRUE, .job_active = TRUE, .id = 7, .vcpus = 1,
                                .memory_gib = 0.25 };
  AmigoLoopsObservation batch = { .known = TRUE, .running = TRUE, .id = 3, .vcpus = 1, .memory_gib = 0.25 };
  AmigoLoopsObservation outgoing = batch;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) controllers = NULL;
  g_autofree char *web_quota = NULL, *batch_quota = NULL, *batch_after = NULL;
  gint64 t = 1000 * S;

  make_domain (f->root, 7, "web");
  make_domain (f->root, 3, "batch");
  amigo_allocation_loops_set_cpu_capacity (loops, 1.5);

  /* the first tick only learns the domains; libvirt's answers come back */
  poll (loops, table, t, NAN, 1.0);
  amigo_allocation_loops_observe (loops, BATCH_UUID, &batch);
  amigo_allocation_loops_observe (loops, WEB_UUID, &web);

  /* pre-copy: the web server holds its reservation (1 core), the batch
   * neighbour (priority 1, wants 1 core) gets what is left of 1.5 but
   * 10 % kept for the host */
  t += 2 * S;
  poll (loops, table, t, 0.05, 1.0);
  web_quota = get (f->root, "sys/fs/cgroup/cpu/machine/qemu-7-web.libvirt-qemu/cpu.cfs_quota_us");
  batch_quota = get (f->root, "sys/fs/cgroup/cpu/machine/qemu-3-batch.libvirt-qemu/cpu.cfs_quota_us");
  assert_string_equal (web_quota, "100000");
  assert_string_equal (batch_quota, "35000");

  /* the loops' history: one dictionary per resource */
  controllers = amigo_allocation_loops_get_controllers (loops, WEB_UUID, &error);
  assert_null (error);
  assert_int_equal (g_variant_n_children (controllers), 2);
  /* a neighbour has no loops */
  assert_null (amigo_allocation_loops_get_controllers (loops, BATCH_UUID, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, "'batch'"));

  /* the source of an outgoing migration pauses with reason migration at its
   * end: a domain first seen running is never taken for an incoming one */
  outgoing.running = FALSE;
  outgoing.incoming = TRUE;
  amigo_allocation_loops_observe (loops, BATCH_UUID, &outgoing);
  t += 2 * S;
  poll (loops, table, t, 0.9, 1.0);
  g_clear_error (&error);
  assert_null (amigo_allocation_loops_get_controllers (loops, BATCH_UUID, &error));
  amigo_allocation_loops_observe (loops, BATCH_UUID, &batch);

  /* the web server leaves (a failed migration): the neighbour's cap is
   * lifted at once */
  amigo_allocation_loops_forget (loops, WEB_UUID);
  amigo_domain_table_begin_poll (table);
  sample (table, BATCH_UUID, "batch", t + 2 * S, 0.5);
  amigo_domain_table_end_poll (table, NULL, NULL);
  amigo_allocation_loops_tick (loops, table, NULL, t + 2 * S);
  batch_after = get (f->root, "sys/fs/cgroup/cpu/machine/qemu-3-batch.libvirt-qemu/cpu.cfs_quota_us");
  assert_string_equal (batch_after, "-1");
}

/* A short migration may switch over before libvirt's first answer comes
 * back: a domain that appears while amigod runs is incoming even when first
 * seen running; one there from the start is not. */
static void
test_arrived_running (void **state)
{
  Fixture *f = *state;
  AmigoAllocationLoopsSources sources = { NULL, label_of, NULL };
  g_autoptr (AmigoAllocationLoops) loops = amigo_allocation_loops_new (NULL, 2 * S, 60 * S, &sources);
  g_autoptr (AmigoDomainTable) table = amigo_domain_table_new ();
  AmigoLoopsObservation running = { .known = TRUE, .running = TRUE, .id = 3, .vcpus = 1, .memory_gib = 0.25 };
  g_autoptr (GVariant) controllers = NULL;
  g_autoptr (GError) error = NULL;
  gint64 t = 1000 * S;

  make_domain (f->root, 3, "batch");
  make_domain (f->root, 7, "web");
  amigo_allocation_loops_set_cpu_capacity (loops, 1.5);
  amigo_domain_table_begin_poll (table);
  sample (table, BATCH_UUID, "batch", t, 1.0);
  amigo_domain_table_end_poll (table, NULL, NULL);
  amigo_allocation_loops_tick (loops, table, NULL, t);
  amigo_allocation_loops_observe (loops, BATCH_UUID, &running);
  /* the web server appears at the next poll, already running */
  t += 2 * S;
  poll (loops, table, t, 1.0, 1.0);
  running.id = 7;
  amigo_allocation_loops_observe (loops, WEB_UUID, &running);
  t += 2 * S;
  poll (loops, table, t, 1.0, 1.0);
  controllers = amigo_allocation_loops_get_controllers (loops, WEB_UUID, &error);
  assert_null (error);
  assert_non_null (controllers);
  g_clear_pointer (&controllers, g_variant_unref);
  controllers = amigo_allocation_loops_get_controllers (loops, BATCH_UUID, &error);
  assert_null (controllers);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_phase),
    cmocka_unit_test (test_decide),
    cmocka_unit_test_setup_teardown (test_confined_cpu, setup, teardown),
    cmocka_unit_test_setup_teardown (test_confined_cpu_v2, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tick_caps_neighbour, setup, teardown),
    cmocka_unit_test_setup_teardown (test_arrived_running, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
