/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The actuator family on fake cgroup v1 and v2 trees (AMIGO_SYSFS_ROOT):
 * file names and formats, only changed fields written, read-back, pressure
 * counters, missing controllers, garbage in the files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>

#include "amigo-actuator-cgroup-private.h"
#include "amigo-actuator.h"
#include "amigo-error.h"
#include "amigo-test-file.h"

#define V1_DOM "machine/qemu-3-web1.libvirt-qemu"
#define V2_DOM "sys/fs/cgroup/machine.slice/machine-qemu\\x2d3\\x2dweb1.scope/libvirt"
#define V1_NO_LIMIT "9223372036854771712"
#define MIB (G_GUINT64_CONSTANT (1) << 20)

typedef struct {
  char *root;
} Fixture;

static void
v1_file (const char *root, const char *ctrl, const char *file, const char *text)
{
  g_autofree char *rel = g_strdup_printf ("sys/fs/cgroup/%s/" V1_DOM "/%s", ctrl, file);
  amigo_test_tree_put (root, rel, text);
}

/* libvirt's layout on these machines: a domain with no limits. */
static void
make_v1 (const char *root)
{
  v1_file (root, "cpu", "cpu.cfs_quota_us", "-1\n");
  v1_file (root, "cpu", "cpu.cfs_period_us", "100000\n");
  v1_file (root, "cpu", "cpu.shares", "1024\n");
  v1_file (root, "cpu", "cpu.stat", "nr_periods 100\nnr_throttled 25\nthrottled_time 5000000\n");
  v1_file (root, "cpu", "vcpu0/cpu.shares", "1024\n");
  v1_file (root, "memory", "memory.soft_limit_in_bytes", V1_NO_LIMIT "\n");
  v1_file (root, "memory", "memory.limit_in_bytes", V1_NO_LIMIT "\n");
  v1_file (root, "memory", "memory.usage_in_bytes", "104857600\n");
  v1_file (root, "blkio", "blkio.throttle.read_iops_device", "");
  v1_file (root, "blkio", "blkio.throttle.write_iops_device", "");
}

static void
make_v2 (const char *root)
{
  amigo_test_tree_put (root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
  amigo_test_tree_put (root, V2_DOM "/cgroup.controllers", "cpu io memory pids\n");
  amigo_test_tree_put (root, V2_DOM "/cpu.max", "max 100000\n");
  amigo_test_tree_put (root, V2_DOM "/cpu.weight", "100\n");
  amigo_test_tree_put (root, V2_DOM "/cpu.stat",
       "usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\nnr_periods 200\nnr_throttled 50\nthrottled_usec 7000\n");
  amigo_test_tree_put (root, V2_DOM "/memory.high", "max\n");
  amigo_test_tree_put (root, V2_DOM "/memory.max", "max\n");
  amigo_test_tree_put (root, V2_DOM "/memory.current", "209715200\n");
  amigo_test_tree_put (root, V2_DOM "/io.max", "");
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);

  f->root = amigo_test_sysfs_root_new ("amigo-actuator-XXXXXX");
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

static AmigoActuator *
new_member (const AmigoActuatorClass *klass, int id, pid_t pid)
{
  AmigoActuatorTarget t = { .name = "web1", .id = id, .pid = pid };
  g_autoptr (GError) error = NULL;
  AmigoActuator *a = amigo_actuator_new (klass, &t, &error);

  assert_null (error);
  assert_non_null (a);
  return a;
}

/* The files the last apply wrote, relative to the root, ' '-joined. */
static char *
written (AmigoActuator *a, const char *root)
{
  GPtrArray *log = amigo_actuator_cgroup_get_write_log (a);
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < log->len; i++) {
    const char *p = g_ptr_array_index (log, i);
    assert_true (g_str_has_prefix (p, root));
    g_string_append_printf (s, "%s%s", s->len ? " " : "", p + strlen (root) + 1);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
want_basic (AmigoActuatorSettings *want)
{
  amigo_actuator_settings_init (want);
  want->cpu_quota_usec = 50000;
  want->cpu_shares = 2048;
  want->memory_soft_limit_bytes = 256 * MIB;
  amigo_actuator_settings_disk (want, "8:0")->read_iops = 100;
}

/* v1: each value lands in libvirt's file in the kernel's format; applying
 * the same settings again writes nothing; one changed field, one write. */
static void
test_v1_apply_only_changed (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  AmigoActuatorSettings want, wrote, have;

  make_v1 (f->root);
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v1_class, 3, 0);
  assert_int_equal (amigo_actuator_probe (a, NULL), AMIGO_ACTUATOR_PROBE_SUPPORTED);

  want_basic (&want);
  assert_true (amigo_actuator_apply (a, &want, &wrote, &error));
  assert_null (error);
  g_autofree char *w1 = written (a, f->root);
  assert_string_equal (w1, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.cfs_quota_us "
                           "sys/fs/cgroup/cpu/" V1_DOM "/cpu.shares "
                           "sys/fs/cgroup/memory/" V1_DOM "/memory.soft_limit_in_bytes "
                           "sys/fs/cgroup/blkio/" V1_DOM "/blkio.throttle.read_iops_device");
  g_autofree char *quota = amigo_test_tree_get (f->root, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.cfs_quota_us");
  g_autofree char *soft = amigo_test_tree_get (f->root, "sys/fs/cgroup/memory/" V1_DOM "/memory.soft_limit_in_bytes");
  g_autofree char *iops = amigo_test_tree_get (f->root, "sys/fs/cgroup/blkio/" V1_DOM "/blkio.throttle.read_iops_device");
  assert_string_equal (quota, "50000");
  assert_string_equal (soft, "268435456");
  assert_string_equal (iops, "8:0 100");
  g_autofree char *period = amigo_test_tree_get (f->root, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.cfs_period_us");
  assert_string_equal (period, "100000\n"); /* untouched */

  /* again: nothing written */
  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  assert_true (amigo_actuator_settings_is_empty (&wrote));

  /* one field moves: one file */
  want.cpu_shares = 512;
  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  g_autofree char *w2 = written (a, f->root);
  assert_string_equal (w2, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.shares");

  /* a removed limit is -1, read back as unlimited */
  want.cpu_quota_usec = AMIGO_ACTUATOR_UNLIMITED;
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  g_autofree char *quota2 = amigo_test_tree_get (f->root, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.cfs_quota_us");
  assert_string_equal (quota2, "-1");

  amigo_actuator_settings_init (&have);
  amigo_actuator_settings_disk (&have, "8:0");
  assert_true (amigo_actuator_read_back (a, &have, &error));
  assert_true (have.cpu_quota_usec == AMIGO_ACTUATOR_UNLIMITED);
  assert_true (have.cpu_period_usec == 100000);
  assert_true (have.cpu_shares == 512);
  assert_true (have.memory_soft_limit_bytes == 256 * MIB);
  assert_true (have.memory_hard_limit_bytes == AMIGO_ACTUATOR_UNLIMITED);
  assert_int_equal (have.n_disks, 1);
  assert_true (have.disks[0].read_iops == 100);
  assert_true (have.disks[0].write_iops == AMIGO_ACTUATOR_UNLIMITED);
}

/* A value changed behind amigo's back is seen by a read-back, and the next
 * apply then writes it again. */
static void
test_v1_read_back_sees_outside_change (void **state)
{
  Fixture *f = *state;
  AmigoActuatorSettings want, have, wrote;

  make_v1 (f->root);
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v1_class, 3, 0);
  want_basic (&want);
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  v1_file (f->root, "cpu", "cpu.shares", "1024\n");
  amigo_actuator_settings_init (&have);
  assert_true (amigo_actuator_read_back (a, &have, NULL));
  assert_true (have.cpu_shares == 1024);
  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  g_autofree char *w = written (a, f->root);
  assert_string_equal (w, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.shares");
}

/* Located through /proc/PID/cgroup (QEMU's thread sits in emulator/), with
 * no domain id known. */
static void
test_v1_found_through_proc (void **state)
{
  Fixture *f = *state;
  AmigoActuatorSettings want;

  make_v1 (f->root);
  amigo_test_tree_put (f->root, "proc/4242/cgroup",
       "12:memory:/" V1_DOM "/emulator\n11:cpu,cpuacct:/" V1_DOM "/emulator\n"
       "10:blkio:/" V1_DOM "/emulator\n1:name=systemd:/\n0::/\n");
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v1_class, -1, 4242);
  assert_int_equal (amigo_actuator_probe (a, NULL), AMIGO_ACTUATOR_PROBE_SUPPORTED);
  amigo_actuator_settings_init (&want);
  want.cpu_shares = 300;
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  g_autofree char *shares = amigo_test_tree_get (f->root, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.shares");
  assert_string_equal (shares, "300");

  /* Inside a lab host the hierarchy is a bind mount of a sub-group, so
   * /proc names a path that is not there: libvirt's place by id is used. */
  amigo_test_tree_put (f->root, "proc/4343/cgroup", "11:cpu,cpuacct:/amigo-lab-hostb/" V1_DOM "/vcpu0\n");
  g_autoptr (AmigoActuator) b = new_member (&amigo_actuator_cgroup_v1_class, 3, 4343);
  want.cpu_shares = 400;
  assert_true (amigo_actuator_apply (b, &want, NULL, NULL));
  g_autofree char *shares2 = amigo_test_tree_get (f->root, "sys/fs/cgroup/cpu/" V1_DOM "/cpu.shares");
  assert_string_equal (shares2, "400");
}

/* cpu.stat's counters and the memory usage; the pressure the PID loop gets. */
static void
test_v1_pressure (void **state)
{
  Fixture *f = *state;
  AmigoActuatorReading r0, r1;
  g_autoptr (GError) error = NULL;

  make_v1 (f->root);
  v1_file (f->root, "memory", "memory.limit_in_bytes", "110100480\n"); /* 105 MiB, 100 used */
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v1_class, 3, 0);
  assert_true (amigo_actuator_read_pressure (a, &r0, &error));
  assert_null (error);
  assert_true (r0.cpu_nr_periods == 100 && r0.cpu_nr_throttled == 25);
  assert_true (r0.cpu_throttled_usec == 5000);
  assert_true (r0.memory_usage_bytes == 100 * MIB);
  assert_true (r0.memory_limit_bytes == 105 * MIB);
  v1_file (f->root, "cpu", "cpu.stat", "nr_periods 200\nnr_throttled 75\nthrottled_time 9000000\n");
  assert_true (amigo_actuator_read_pressure (a, &r1, NULL));
  assert_float_equal (amigo_actuator_pressure_cpu (&r0, &r1), 0.5, 1e-12);
  /* counters going back (a new cgroup) are no pressure, never negative */
  assert_float_equal (amigo_actuator_pressure_cpu (&r1, &r0), 0.0, 0.0);
  /* 100 of 105 MiB: 95.2 % of the limit */
  assert_float_equal (amigo_actuator_pressure_memory (&r0), (100.0 / 105.0 - 0.9) / 0.1, 1e-9);
  r0.memory_limit_bytes = AMIGO_ACTUATOR_UNLIMITED;
  assert_float_equal (amigo_actuator_pressure_memory (&r0), 0.0, 0.0);
}

/* v2: cpu.max keeps the half not changed, cpu.weight takes shares as libvirt
 * writes them, memory.high is the soft limit, io.max the IOPS. */
static void
test_v2_apply_only_changed (void **state)
{
  Fixture *f = *state;
  g_autoptr (GError) error = NULL;
  AmigoActuatorSettings want, wrote, have;

  make_v2 (f->root);
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v2_class, 3, 0);
  assert_int_equal (amigo_actuator_probe (a, NULL), AMIGO_ACTUATOR_PROBE_SUPPORTED);

  want_basic (&want);
  want.memory_hard_limit_bytes = 512 * MIB;
  assert_true (amigo_actuator_apply (a, &want, &wrote, &error));
  assert_null (error);
  g_autofree char *w1 = written (a, f->root);
  assert_string_equal (w1, V2_DOM "/cpu.max " V2_DOM "/cpu.weight " V2_DOM "/memory.max " V2_DOM "/memory.high "
                           V2_DOM "/io.max");
  g_autofree char *cpumax = amigo_test_tree_get (f->root, V2_DOM "/cpu.max");
  g_autofree char *weight = amigo_test_tree_get (f->root, V2_DOM "/cpu.weight");
  g_autofree char *high = amigo_test_tree_get (f->root, V2_DOM "/memory.high");
  g_autofree char *max = amigo_test_tree_get (f->root, V2_DOM "/memory.max");
  g_autofree char *io = amigo_test_tree_get (f->root, V2_DOM "/io.max");
  assert_string_equal (cpumax, "50000 100000");
  assert_string_equal (weight, "2048");
  assert_string_equal (high, "268435456");
  assert_string_equal (max, "536870912");
  assert_string_equal (io, "8:0 riops=100");

  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  assert_true (amigo_actuator_settings_is_empty (&wrote));

  /* period alone: the quota stays */
  want.cpu_period_usec = 200000;
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  g_autofree char *w2 = written (a, f->root);
  assert_string_equal (w2, V2_DOM "/cpu.max");
  g_autofree char *cpumax2 = amigo_test_tree_get (f->root, V2_DOM "/cpu.max");
  assert_string_equal (cpumax2, "50000 200000");

  /* the kernel lists a limited device with all four keys */
  amigo_test_tree_put (f->root, V2_DOM "/io.max", "8:0 rbps=max wbps=max riops=100 wiops=max\n");
  want.memory_soft_limit_bytes = AMIGO_ACTUATOR_UNLIMITED;
  assert_true (amigo_actuator_apply (a, &want, NULL, NULL));
  g_autofree char *high2 = amigo_test_tree_get (f->root, V2_DOM "/memory.high");
  assert_string_equal (high2, "max");

  amigo_actuator_settings_init (&have);
  amigo_actuator_settings_disk (&have, "8:0");
  amigo_actuator_settings_disk (&have, "8:16");
  assert_true (amigo_actuator_read_back (a, &have, &error));
  assert_true (have.cpu_quota_usec == 50000 && have.cpu_period_usec == 200000);
  assert_true (have.cpu_shares == 2048);
  assert_true (have.memory_soft_limit_bytes == AMIGO_ACTUATOR_UNLIMITED);
  assert_true (have.memory_hard_limit_bytes == 512 * MIB);
  assert_true (have.disks[0].read_iops == 100 && have.disks[0].write_iops == AMIGO_ACTUATOR_UNLIMITED);
  assert_true (have.disks[1].read_iops == AMIGO_ACTUATOR_UNLIMITED);

  /* libvirt's range check, before any write */
  want.cpu_shares = 20000;
  assert_false (amigo_actuator_apply (a, &want, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_string_equal (error->message, "cpu_shares 20000 is outside cgroup v2 cpu.weight's range [1, 10000]");
  assert_int_equal (amigo_actuator_cgroup_get_write_log (a)->len, 0);
}

static void
test_v2_found_through_proc_and_pressure (void **state)
{
  Fixture *f = *state;
  AmigoActuatorReading r;
  g_autoptr (GError) error = NULL;

  make_v2 (f->root);
  amigo_test_tree_put (f->root, "proc/77/cgroup", "0::/machine.slice/machine-qemu\\x2d3\\x2dweb1.scope/libvirt/emulator\n");
  amigo_test_tree_put (f->root, V2_DOM "/memory.max", "262144000\n");
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v2_class, -1, 77);
  assert_true (amigo_actuator_read_pressure (a, &r, &error));
  assert_null (error);
  assert_true (r.cpu_nr_periods == 200 && r.cpu_nr_throttled == 50 && r.cpu_throttled_usec == 7000);
  assert_true (r.memory_usage_bytes == 200 * MIB && r.memory_limit_bytes == 250 * MIB);
}

/* Missing hierarchies and controllers: not supported or defer, with a
 * reason; a field whose controller is missing is refused by name. */
static void
test_missing_controllers (void **state)
{
  Fixture *f = *state;
  g_autofree char *reason = NULL;
  g_autoptr (GError) error = NULL;
  AmigoActuatorTarget t = { .name = "web1", .id = 3 };
  AmigoActuatorSettings want;

  /* an empty tree: nothing */
  g_autoptr (AmigoActuator) a1 = new_member (&amigo_actuator_cgroup_v1_class, 3, 0);
  assert_int_equal (amigo_actuator_probe (a1, &reason), AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED);
  assert_non_null (strstr (reason, "no cgroup v1 hierarchy for cpu, memory or blkio under"));
  g_clear_pointer (&reason, g_free);
  g_autoptr (AmigoActuator) a2 = new_member (&amigo_actuator_cgroup_v2_class, 3, 0);
  assert_int_equal (amigo_actuator_probe (a2, &reason), AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED);
  assert_non_null (strstr (reason, "no cgroup v2 (unified) hierarchy at"));
  g_clear_pointer (&reason, g_free);
  assert_null (amigo_actuator_new_direct (&t, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "no cgroup actuator for domain 'web1': cgroup-v2: not supported"));
  assert_non_null (strstr (error->message, "; cgroup-v1: not supported"));
  g_clear_error (&error);

  /* the cpu hierarchy, no domain yet: defer */
  amigo_test_tree_put (f->root, "sys/fs/cgroup/cpu/cpu.shares", "1024\n");
  assert_int_equal (amigo_actuator_probe (a1, &reason), AMIGO_ACTUATOR_PROBE_DEFER);
  assert_non_null (strstr (reason, "domain 'web1' (id 3, pid 0) has no cgroup under"));
  g_clear_pointer (&reason, g_free);

  /* the domain in cpu only: supported, memory refused by name */
  v1_file (f->root, "cpu", "cpu.shares", "1024\n");
  assert_int_equal (amigo_actuator_probe (a1, &reason), AMIGO_ACTUATOR_PROBE_SUPPORTED);
  assert_string_equal (reason, "no hierarchy for memory, blkio");
  amigo_actuator_settings_init (&want);
  want.memory_soft_limit_bytes = MIB;
  assert_false (amigo_actuator_apply (a1, &want, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "memory: no cgroup of domain 'web1' in the cgroup v1 'memory' hierarchy"));
  g_clear_error (&error);
  g_autoptr (AmigoActuator) direct = amigo_actuator_new_direct (&t, &error);
  assert_non_null (direct);
  assert_string_equal (amigo_actuator_get_name (direct), "cgroup-v1");

  /* v2 with the io controller not enabled for the domain */
  make_v2 (f->root);
  amigo_test_tree_put (f->root, V2_DOM "/cgroup.controllers", "cpu memory pids\n");
  g_clear_pointer (&reason, g_free);
  assert_int_equal (amigo_actuator_probe (a2, &reason), AMIGO_ACTUATOR_PROBE_SUPPORTED);
  assert_non_null (strstr (reason, ": io not enabled"));
  amigo_actuator_settings_init (&want);
  amigo_actuator_settings_disk (&want, "8:0")->write_iops = 10;
  assert_false (amigo_actuator_apply (a2, &want, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "disk I/O: the 'io' controller is not enabled for"));
  g_clear_error (&error);

  /* a cgroup v1 member on a v2 host says so */
  g_clear_pointer (&reason, g_free);
  assert_int_equal (amigo_actuator_probe (a1, &reason), AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED);
  assert_non_null (strstr (reason, "the host runs cgroup v2"));

  /* bandwidth and a disk without MAJ:MIN are refused by name */
  amigo_actuator_settings_init (&want);
  amigo_actuator_settings_interface (&want, "vnet0")->rx_kbit_s = 1000;
  assert_false (amigo_actuator_apply (a2, &want, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "interface 'vnet0': actuator 'cgroup-v2' cannot shape bandwidth"));
  g_clear_error (&error);
  amigo_actuator_settings_init (&want);
  amigo_actuator_settings_disk (&want, "vda")->read_iops = 10;
  assert_false (amigo_actuator_apply (a2, &want, NULL, &error));
  assert_string_equal (error->message,
                       "disk 'vda': a cgroup I/O limit needs the host block device as 'MAJOR:MINOR'");
}

/* Garbage in each parsed file: an error naming the file, never a crash. */
static void
test_garbage (void **state)
{
  Fixture *f = *state;
  const struct {
    gboolean v2;
    const char *file; /* below the domain's dir; for v1 "CTRL/FILE" */
    const char *text;
    const char *expect;
  } cases[] = {
    { FALSE, "cpu/cpu.shares", "banana\n", "cpu.shares': 'banana' is not a number" },
    { FALSE, "cpu/cpu.cfs_quota_us", "-2\n", "cpu.cfs_quota_us': '-2' is not a number" },
    { FALSE, "memory/memory.limit_in_bytes", "\n", "memory.limit_in_bytes': '' is not a number" },
    { FALSE, "blkio/blkio.throttle.read_iops_device", "8:0\n", "line '8:0' is not 'MAJOR:MINOR IOPS'" },
    { FALSE, "blkio/blkio.throttle.write_iops_device", "sda 5\n", "line 'sda 5' is not 'MAJOR:MINOR IOPS'" },
    { TRUE, "cpu.max", "50000\n", "cpu.max': '50000' is not 'QUOTA PERIOD'" },
    { TRUE, "cpu.max", "max max\n", "cpu.max': 'max' is not a number" },
    { TRUE, "cpu.weight", "99999999999999999999999\n", "cpu.weight': '99999999999999999999999' is not a number" },
    { TRUE, "memory.high", "lots\n", "memory.high': 'lots' is not a number or max" },
    { TRUE, "io.max", "8:0 riops\n", "'riops' in line '8:0 riops' is not KEY=VALUE" },
    { TRUE, "io.max", "x riops=1\n", "line 'x riops=1' does not start with 'MAJOR:MINOR'" },
    { TRUE, "io.max", "8:0 riops=-1\n", "io.max': '-1' is not a number or max" },
    { TRUE, "cpu.weight", "1\0002", "cpu.weight' is not a cgroup file" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    AmigoActuatorSettings have;

    amigo_test_rm_rf (f->root);
    g_mkdir (f->root, 0700);
    make_v1 (f->root);
    if (cases[i].v2)
      make_v2 (f->root);
    g_autofree char *rel = cases[i].v2 ? g_strdup_printf (V2_DOM "/%s", cases[i].file) : NULL;
    if (!cases[i].v2) {
      g_auto (GStrv) cf = g_strsplit (cases[i].file, "/", 2);
      rel = g_strdup_printf ("sys/fs/cgroup/%s/" V1_DOM "/%s", cf[0], cf[1]);
    }
    g_autofree char *path = g_build_filename (f->root, rel, NULL);
    /* the NUL case needs its length */
    assert_true (g_file_set_contents (path, cases[i].text,
                                      g_str_equal (cases[i].text, "1") ? 3 : (gssize) strlen (cases[i].text), NULL));
    g_autoptr (AmigoActuator) a = new_member (cases[i].v2 ? &amigo_actuator_cgroup_v2_class
                                                          : &amigo_actuator_cgroup_v1_class, 3, 0);
    amigo_actuator_settings_init (&have);
    amigo_actuator_settings_disk (&have, "8:0");
    assert_false (amigo_actuator_read_back (a, &have, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    if (strstr (error->message, cases[i].expect) == NULL || strstr (error->message, path) == NULL)
      fail_msg ("case %u: '%s' lacks '%s' or '%s'", i, error->message, cases[i].expect, path);
  }

  /* cpu.stat without its key */
  amigo_test_rm_rf (f->root);
  g_mkdir (f->root, 0700);
  make_v2 (f->root);
  amigo_test_tree_put (f->root, V2_DOM "/cpu.stat", "usage_usec 1\nnr_periods 5\nnr_throttled x\n");
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v2_class, 3, 0);
  AmigoActuatorReading r;
  g_autoptr (GError) error = NULL;
  assert_false (amigo_actuator_read_pressure (a, &r, &error));
  assert_non_null (strstr (error->message, "cpu.stat' key 'nr_throttled': 'x' is not a number"));
  g_clear_error (&error);
  amigo_test_tree_put (f->root, V2_DOM "/cpu.stat", "usage_usec 1\nnr_periods 5\nnr_throttled 1\n");
  assert_false (amigo_actuator_read_pressure (a, &r, &error));
  assert_non_null (strstr (error->message, "cpu.stat' has no 'throttled_usec' line"));
}

/* An unreadable tree before the first apply: everything asked is written. */
static void
test_apply_after_failed_read_back (void **state)
{
  Fixture *f = *state;
  AmigoActuatorSettings want, wrote;

  make_v1 (f->root);
  v1_file (f->root, "cpu", "cpu.shares", "garbage\n");
  g_autoptr (AmigoActuator) a = new_member (&amigo_actuator_cgroup_v1_class, 3, 0);
  want_basic (&want);
  assert_true (amigo_actuator_apply (a, &want, &wrote, NULL));
  assert_int_equal (amigo_actuator_cgroup_get_write_log (a)->len, 4);
  assert_true (wrote.cpu_shares == 2048);
}

/* diff/merge: devices by name, unknown counts as different. */
static void
test_settings_diff (void **state)
{
  AmigoActuatorSettings want, have, changed;

  amigo_actuator_settings_init (&want);
  amigo_actuator_settings_init (&have);
  assert_false (amigo_actuator_settings_diff (&want, &have, &changed));
  want.cpu_shares = 10;
  amigo_actuator_settings_disk (&want, "8:0")->read_iops = 5;
  amigo_actuator_settings_disk (&want, "8:16")->write_iops = 6;
  amigo_actuator_settings_interface (&want, "vnet0")->tx_kbit_s = AMIGO_ACTUATOR_UNLIMITED;
  have.cpu_shares = 10;
  amigo_actuator_settings_disk (&have, "8:16")->write_iops = 6;
  amigo_actuator_settings_disk (&have, "8:0")->read_iops = 4;
  assert_true (amigo_actuator_settings_diff (&want, &have, &changed));
  g_autofree char *s = amigo_actuator_settings_to_string (&changed);
  assert_string_equal (s, "disk[8:0].read_iops=5 interface[vnet0].tx_kbit_s=max");
  amigo_actuator_settings_merge (&have, &changed);
  assert_false (amigo_actuator_settings_diff (&want, &have, &changed));

  /* a bound on devices, and on names */
  amigo_actuator_settings_init (&want);
  for (int i = 0; i < AMIGO_ACTUATOR_MAX_DEVICES; i++) {
    g_autofree char *dev = g_strdup_printf ("8:%d", i);
    assert_non_null (amigo_actuator_settings_disk (&want, dev));
  }
  assert_null (amigo_actuator_settings_disk (&want, "9:0"));
  g_autofree char *longname = g_strnfill (AMIGO_ACTUATOR_DEVICE_LEN, 'x');
  assert_null (amigo_actuator_settings_interface (&want, longname));
  assert_true (amigo_actuator_class_by_name ("libvirt") == &amigo_actuator_libvirt_class);
  assert_null (amigo_actuator_class_by_name ("cgroup-v3"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_v1_apply_only_changed, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_read_back_sees_outside_change, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_found_through_proc, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v1_pressure, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_apply_only_changed, setup, teardown),
    cmocka_unit_test_setup_teardown (test_v2_found_through_proc_and_pressure, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_controllers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_garbage, setup, teardown),
    cmocka_unit_test_setup_teardown (test_apply_after_failed_read_back, setup, teardown),
    cmocka_unit_test (test_settings_diff),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
