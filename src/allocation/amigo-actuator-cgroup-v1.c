/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

/* Actuator `cgroup-v1`: one hierarchy per controller
 * (/sys/fs/cgroup/{cpu,memory,blkio}); libvirt puts a domain at
 * machine/qemu-ID-NAME.libvirt-qemu with vcpuN/ and emulator/ below.
 * Files (as libvirt's vircgroupv1.c): cpu.cfs_quota_us (-1 = none),
 * cpu.cfs_period_us, cpu.shares; memory.soft_limit_in_bytes,
 * memory.limit_in_bytes (-1 = none; reads back as the page counter's
 * maximum); blkio.throttle.{read,write}_iops_device ("MAJ:MIN N", 0 removes
 * the rule); cpu.stat (nr_periods, nr_throttled, throttled_time in ns). */

#include "amigo-actuator-cgroup-private.h"

#include "amigo-error.h"

typedef enum { CTRL_CPU, CTRL_MEMORY, CTRL_BLKIO, CTRL_LAST } Ctrl;
G_STATIC_ASSERT (CTRL_LAST <= AMIGO_ACTUATOR_CGROUP_MAX_DIRS);
static const char *const ctrl_names[CTRL_LAST] = { "cpu", "memory", "blkio" };

/* The kernel reports "no limit" as PAGE_COUNTER_MAX pages in bytes
 * (9223372036854771712 with 4 KiB pages); anything from 2^62 up is that. */
#define V1_UNLIMITED_FROM (G_GUINT64_CONSTANT (1) << 62)

static char *
hierarchy (AmigoActuatorCgroupCommon *v, Ctrl c)
{
  g_autofree char *rel = g_strdup_printf ("sys/fs/cgroup/%s", ctrl_names[c]);

  return amigo_actuator_root_path (v->root, rel);
}

/* The domain's directory in controller @c's hierarchy: where QEMU's
 * /proc/PID/cgroup says, else libvirt's default place. NULL if neither is
 * there (yet). */
static const char *
v1_dir (AmigoActuatorCgroupCommon *v, Ctrl c)
{
  if (v->dir[c] != NULL && amigo_actuator_is_dir (v->dir[c]))
    return v->dir[c];
  g_clear_pointer (&v->dir[c], g_free);

  static const AmigoActuatorCgroupCut cut = { ".libvirt-qemu", NULL };
  g_autofree char *hier = hierarchy (v, c);
  g_autofree char *libvirt_place =
    v->id >= 0 ? g_strdup_printf ("machine/qemu-%d-%s.libvirt-qemu", v->id, v->name) : NULL;
  v->dir[c] = amigo_actuator_cgroup_find_domain (v, hier, ctrl_names[c], &cut, 1, libvirt_place);
  return v->dir[c];
}

static AmigoActuatorProbeResult
v1_probe (AmigoActuator *self, char **ret_reason)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  g_autofree char *unified = amigo_actuator_root_path (v->root, "sys/fs/cgroup/cgroup.controllers");
  g_autoptr (GString) missing = g_string_new (NULL);
  guint hierarchies = 0, found = 0;

  if (g_file_test (unified, G_FILE_TEST_EXISTS)) {
    *ret_reason = g_strdup_printf ("'%s' exists: the host runs cgroup v2", unified);
    return AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED;
  }
  for (int c = 0; c < CTRL_LAST; c++) {
    g_autofree char *hier = hierarchy (v, c);
    if (!amigo_actuator_is_dir (hier)) {
      g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", ctrl_names[c]);
      continue;
    }
    hierarchies++;
    if (v1_dir (v, c) != NULL)
      found++;
  }
  g_autofree char *top = amigo_actuator_root_path (v->root, "sys/fs/cgroup");
  if (hierarchies == 0) {
    *ret_reason = g_strdup_printf ("no cgroup v1 hierarchy for cpu, memory or blkio under '%s'", top);
    return AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED;
  }
  if (found == 0) {
    *ret_reason = g_strdup_printf ("domain '%s' (id %d, pid %d) has no cgroup under '%s' yet", v->name,
                                   v->id, (int) v->pid, top);
    return AMIGO_ACTUATOR_PROBE_DEFER;
  }
  *ret_reason = missing->len ? g_strdup_printf ("no hierarchy for %s", missing->str)
                             : g_strdup ("cpu, memory and blkio hierarchies found");
  return AMIGO_ACTUATOR_PROBE_SUPPORTED;
}

static const char *
need_dir (AmigoActuatorCgroupCommon *v, Ctrl c, const char *what, GError **error)
{
  const char *dir = v1_dir (v, c);

  if (dir == NULL) {
    g_autofree char *hier = hierarchy (v, c);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "%s: no cgroup of domain '%s' in the cgroup v1 '%s' hierarchy '%s'", what, v->name,
                 ctrl_names[c], hier);
  }
  return dir;
}

static gboolean
write_value (AmigoActuatorCgroupCommon *v, const char *dir, const char *file, guint64 value, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = value == AMIGO_ACTUATOR_UNLIMITED ? g_strdup ("-1")
                                                            : g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  return amigo_actuator_cgroup_write (path, text, v->write_log, error);
}

/* The one-number files of the cpu and memory controllers, in the order
 * they are written (the period before the quota that is checked against
 * it). @limit: -1 (or the page counter's maximum) reads as UNLIMITED. */
static const struct {
  Ctrl ctrl;
  const char *file;
  gboolean limit;
  gsize offset;
} v1_files[] = {
  { CTRL_CPU, "cpu.cfs_period_us", FALSE, G_STRUCT_OFFSET (AmigoActuatorSettings, cpu_period_usec) },
  { CTRL_CPU, "cpu.cfs_quota_us", TRUE, G_STRUCT_OFFSET (AmigoActuatorSettings, cpu_quota_usec) },
  { CTRL_CPU, "cpu.shares", FALSE, G_STRUCT_OFFSET (AmigoActuatorSettings, cpu_shares) },
  { CTRL_MEMORY, "memory.limit_in_bytes", TRUE, G_STRUCT_OFFSET (AmigoActuatorSettings, memory_hard_limit_bytes) },
  { CTRL_MEMORY, "memory.soft_limit_in_bytes", TRUE,
    G_STRUCT_OFFSET (AmigoActuatorSettings, memory_soft_limit_bytes) },
};

/* The guint64 at @offset of settings @s. */
#define SETTING(s, offset) G_STRUCT_MEMBER (guint64, (s), (offset))

static gboolean
v1_apply (AmigoActuator *self, const AmigoActuatorSettings *changed, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir;

  g_ptr_array_set_size (v->write_log, 0);
  if (!amigo_actuator_cgroup_refuse_network (self, changed, error))
    return FALSE;
  for (guint f = 0; f < G_N_ELEMENTS (v1_files); f++) {
    guint64 value = SETTING (changed, v1_files[f].offset);

    if (value == AMIGO_ACTUATOR_UNSET)
      continue;
    if ((dir = need_dir (v, v1_files[f].ctrl, ctrl_names[v1_files[f].ctrl], error)) == NULL ||
        !write_value (v, dir, v1_files[f].file, value, error))
      return FALSE;
  }
  for (guint i = 0; i < changed->n_disks; i++) {
    const AmigoActuatorDisk *d = &changed->disks[i];
    const struct { const char *file; guint64 value; } rules[] = {
      { "blkio.throttle.read_iops_device", d->read_iops },
      { "blkio.throttle.write_iops_device", d->write_iops },
    };
    if (!amigo_actuator_cgroup_check_device (d->device, error))
      return FALSE;
    if ((dir = need_dir (v, CTRL_BLKIO, "disk I/O", error)) == NULL)
      return FALSE;
    for (guint r = 0; r < G_N_ELEMENTS (rules); r++) {
      if (rules[r].value == AMIGO_ACTUATOR_UNSET)
        continue;
      g_autofree char *path = g_build_filename (dir, rules[r].file, NULL);
      /* 0 removes the device's rule: no limit */
      g_autofree char *text = g_strdup_printf (
        "%s %" G_GUINT64_FORMAT, d->device, rules[r].value == AMIGO_ACTUATOR_UNLIMITED ? 0 : rules[r].value);
      if (!amigo_actuator_cgroup_write (path, text, v->write_log, error))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean
read_u64 (const char *dir, const char *file, gboolean limit, guint64 *ret, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  if (text == NULL)
    return FALSE;
  if (limit && g_str_equal (text, "-1")) {
    *ret = AMIGO_ACTUATOR_UNLIMITED;
    return TRUE;
  }
  if (!amigo_actuator_cgroup_parse_u64 (path, text, NULL, ret, error))
    return FALSE;
  if (limit && *ret >= V1_UNLIMITED_FROM)
    *ret = AMIGO_ACTUATOR_UNLIMITED;
  return TRUE;
}

/* "MAJ:MIN N" lines; devices of @have without a line have no limit. */
static gboolean
read_iops (const char *dir, const char *file, AmigoActuatorSettings *have, gboolean is_read, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < have->n_disks; i++)
    *(is_read ? &have->disks[i].read_iops : &have->disks[i].write_iops) = AMIGO_ACTUATOR_UNLIMITED;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '\0')
      continue;
    g_auto (GStrv) f = g_strsplit (lines[i], " ", -1);
    guint64 n;
    if (g_strv_length (f) != 2 || !amigo_actuator_cgroup_check_device (f[0], NULL)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "cgroup file '%s': line '%s' is not 'MAJOR:MINOR IOPS'", path, lines[i]);
      return FALSE;
    }
    if (!amigo_actuator_cgroup_parse_u64 (path, f[1], NULL, &n, error))
      return FALSE;
    AmigoActuatorDisk *d = amigo_actuator_settings_disk (have, f[0]);
    if (d != NULL)
      *(is_read ? &d->read_iops : &d->write_iops) = n == 0 ? AMIGO_ACTUATOR_UNLIMITED : n;
  }
  return TRUE;
}

static gboolean
v1_read_back (AmigoActuator *self, AmigoActuatorSettings *have, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir;

  for (guint f = 0; f < G_N_ELEMENTS (v1_files); f++) {
    if ((dir = v1_dir (v, v1_files[f].ctrl)) != NULL &&
        !read_u64 (dir, v1_files[f].file, v1_files[f].limit, &SETTING (have, v1_files[f].offset), error))
      return FALSE;
  }
  if ((dir = v1_dir (v, CTRL_BLKIO)) != NULL) {
    if (!read_iops (dir, "blkio.throttle.read_iops_device", have, TRUE, error) ||
        !read_iops (dir, "blkio.throttle.write_iops_device", have, FALSE, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
v1_read_pressure (AmigoActuator *self, AmigoActuatorReading *ret, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir;

  if ((dir = need_dir (v, CTRL_CPU, "cpu pressure", error)) == NULL ||
      !amigo_actuator_cgroup_read_cpu_stat (dir, "throttled_time", 1000, ret, error))
    return FALSE;
  if ((dir = need_dir (v, CTRL_MEMORY, "memory pressure", error)) == NULL)
    return FALSE;
  return read_u64 (dir, "memory.usage_in_bytes", FALSE, &ret->memory_usage_bytes, error) &&
         read_u64 (dir, "memory.limit_in_bytes", TRUE, &ret->memory_limit_bytes, error);
}

const AmigoActuatorClass amigo_actuator_cgroup_v1_class = {
  .name = "cgroup-v1",
  .init = amigo_actuator_cgroup_init,
  .probe = v1_probe,
  .apply = v1_apply,
  .read_back = v1_read_back,
  .read_pressure = v1_read_pressure,
  .finalize = amigo_actuator_cgroup_finalize,
};
