/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

/* Actuator `cgroup-v2`: the unified hierarchy. Under systemd libvirt puts a
 * domain at machine.slice/machine-qemu\x2dID\x2dNAME.scope and writes its
 * tunables into the nested libvirt/ group below (vcpuN/, emulator/ inside).
 * Files (as libvirt's vircgroupv2.c): cpu.max ("QUOTA PERIOD", QUOTA "max"
 * = none), cpu.weight (libvirt writes cpu_shares there unchanged, range
 * 1..10000); memory.high (libvirt's soft_limit), memory.max (hard_limit),
 * "max" = none; io.max ("MAJ:MIN riops=N wiops=M", "max" = none; only
 * devices with a limit are listed); cpu.stat (nr_periods, nr_throttled,
 * throttled_usec); memory.current. */

#include "amigo-actuator-cgroup-private.h"

#include <string.h>

#include "amigo-error.h"

#define V2_WEIGHT_MIN 1
#define V2_WEIGHT_MAX 10000

static char *
unified_top (AmigoActuatorCgroupCommon *v)
{
  return amigo_actuator_root_path (v->root, "sys/fs/cgroup");
}

static const char *
v2_dir (AmigoActuatorCgroupCommon *v)
{
  if (v->dir[0] != NULL && amigo_actuator_is_dir (v->dir[0]))
    return v->dir[0];
  g_clear_pointer (&v->dir[0], g_free);

  /* systemd's scope with libvirt's nested group, or libvirt's own
   * machine/qemu-ID-NAME.libvirt-qemu without systemd */
  static const AmigoActuatorCgroupCut cuts[] = { { ".scope", "libvirt" }, { ".libvirt-qemu", NULL } };
  g_autofree char *top = unified_top (v);
  g_autofree char *libvirt_place =
    v->id >= 0 ? g_strdup_printf ("machine.slice/machine-qemu\\x2d%d\\x2d%s.scope/libvirt", v->id,
                                         v->name)
                      : NULL;
  v->dir[0] = amigo_actuator_cgroup_find_domain (v, top, NULL, cuts, G_N_ELEMENTS (cuts), libvirt_place);
  return v->dir[0];
}

/* TRUE if @controller is in the domain group's cgroup.controllers. */
static gboolean
has_controller (const char *dir, const char *controller)
{
  g_autofree char *path = g_build_filename (dir, "cgroup.controllers", NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, NULL);

  if (text == NULL)
    return FALSE;
  g_auto (GStrv) names = g_strsplit (text, " ", -1);
  return g_strv_contains ((const char *const *) names, controller);
}

static AmigoActuatorProbeResult
v2_probe (AmigoActuator *self, char **ret_reason)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  g_autofree char *top = unified_top (v);
  g_autofree char *controllers = g_build_filename (top, "cgroup.controllers", NULL);
  const char *dir;

  if (!g_file_test (controllers, G_FILE_TEST_EXISTS)) {
    *ret_reason = g_strdup_printf ("no cgroup v2 (unified) hierarchy at '%s': '%s' is missing", top,
                                   controllers);
    return AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED;
  }
  if ((dir = v2_dir (v)) == NULL) {
    *ret_reason = g_strdup_printf ("domain '%s' (id %d, pid %d) has no cgroup under '%s' yet", v->name,
                                   v->id, (int) v->pid, top);
    return AMIGO_ACTUATOR_PROBE_DEFER;
  }
  g_autoptr (GString) missing = g_string_new (NULL);
  const char *const wanted[] = { "cpu", "memory", "io" };
  for (guint i = 0; i < G_N_ELEMENTS (wanted); i++)
    if (!has_controller (dir, wanted[i]))
      g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", wanted[i]);
  if (missing->len == strlen ("cpu, memory, io")) {
    *ret_reason = g_strdup_printf ("none of cpu, memory, io is enabled for '%s'", dir);
    return AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED;
  }
  *ret_reason = missing->len ? g_strdup_printf ("'%s': %s not enabled", dir, missing->str)
                             : g_strdup_printf ("'%s': cpu, memory and io enabled", dir);
  return AMIGO_ACTUATOR_PROBE_SUPPORTED;
}

static const char *
need_controller (AmigoActuatorCgroupCommon *v, const char *controller, const char *what, GError **error)
{
  const char *dir = v2_dir (v);

  if (dir == NULL) {
    g_autofree char *top = unified_top (v);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "%s: domain '%s' has no cgroup under '%s'",
                 what, v->name, top);
    return NULL;
  }
  if (!has_controller (dir, controller)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "%s: the '%s' controller is not enabled for '%s' (cgroup.controllers)", what, controller, dir);
    return NULL;
  }
  return dir;
}

static char *
limit_text (guint64 value)
{
  return value == AMIGO_ACTUATOR_UNLIMITED ? g_strdup ("max") : g_strdup_printf ("%" G_GUINT64_FORMAT, value);
}

static gboolean
write_file (AmigoActuatorCgroupCommon *v, const char *dir, const char *file, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);

  return amigo_actuator_cgroup_write (path, text, v->write_log, error);
}

/* cpu.max as (quota, period). */
static gboolean
read_cpu_max (const char *dir, guint64 *ret_quota, guint64 *ret_period, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "cpu.max", NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  if (text == NULL)
    return FALSE;
  g_auto (GStrv) f = g_strsplit (text, " ", -1);
  if (g_strv_length (f) != 2) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "cgroup file '%s': '%s' is not 'QUOTA PERIOD'", path, text);
    return FALSE;
  }
  return amigo_actuator_cgroup_parse_u64 (path, f[0], "max", ret_quota, error) &&
         amigo_actuator_cgroup_parse_u64 (path, f[1], NULL, ret_period, error);
}

static gboolean
v2_apply (AmigoActuator *self, const AmigoActuatorSettings *changed, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir;

  g_ptr_array_set_size (v->write_log, 0);
  if (!amigo_actuator_cgroup_refuse_network (self, changed, error))
    return FALSE;
  if (changed->cpu_shares != AMIGO_ACTUATOR_UNSET &&
      (changed->cpu_shares < V2_WEIGHT_MIN || changed->cpu_shares > V2_WEIGHT_MAX)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "cpu_shares %" G_GUINT64_FORMAT " is outside cgroup v2 cpu.weight's range [%d, %d]",
                 changed->cpu_shares, V2_WEIGHT_MIN, V2_WEIGHT_MAX);
    return FALSE;
  }
  if (changed->cpu_quota_usec != AMIGO_ACTUATOR_UNSET || changed->cpu_period_usec != AMIGO_ACTUATOR_UNSET) {
    guint64 quota = changed->cpu_quota_usec, period = changed->cpu_period_usec;
    if ((dir = need_controller (v, "cpu", "cpu quota", error)) == NULL)
      return FALSE;
    /* quota and period share one file: keep the half that is not changed */
    if (quota == AMIGO_ACTUATOR_UNSET || period == AMIGO_ACTUATOR_UNSET) {
      guint64 q, p;
      if (!read_cpu_max (dir, &q, &p, error))
        return FALSE;
      quota = quota == AMIGO_ACTUATOR_UNSET ? q : quota;
      period = period == AMIGO_ACTUATOR_UNSET ? p : period;
    }
    g_autofree char *q = limit_text (quota);
    g_autofree char *text = g_strdup_printf ("%s %" G_GUINT64_FORMAT, q, period);
    if (!write_file (v, dir, "cpu.max", text, error))
      return FALSE;
  }
  if (changed->cpu_shares != AMIGO_ACTUATOR_UNSET) {
    g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, changed->cpu_shares);
    if ((dir = need_controller (v, "cpu", "cpu shares", error)) == NULL ||
        !write_file (v, dir, "cpu.weight", text, error))
      return FALSE;
  }
  if (changed->memory_hard_limit_bytes != AMIGO_ACTUATOR_UNSET) {
    g_autofree char *text = limit_text (changed->memory_hard_limit_bytes);
    if ((dir = need_controller (v, "memory", "memory hard limit", error)) == NULL ||
        !write_file (v, dir, "memory.max", text, error))
      return FALSE;
  }
  if (changed->memory_soft_limit_bytes != AMIGO_ACTUATOR_UNSET) {
    g_autofree char *text = limit_text (changed->memory_soft_limit_bytes);
    if ((dir = need_controller (v, "memory", "memory soft limit", error)) == NULL ||
        !write_file (v, dir, "memory.high", text, error))
      return FALSE;
  }
  for (guint i = 0; i < changed->n_disks; i++) {
    const AmigoActuatorDisk *d = &changed->disks[i];
    g_autoptr (GString) text = g_string_new (d->device);
    if (!amigo_actuator_cgroup_check_device (d->device, error) ||
        (dir = need_controller (v, "io", "disk I/O", error)) == NULL)
      return FALSE;
    /* io.max takes only the keys given; the others keep their value */
    if (d->read_iops != AMIGO_ACTUATOR_UNSET) {
      g_autofree char *n = limit_text (d->read_iops);
      g_string_append_printf (text, " riops=%s", n);
    }
    if (d->write_iops != AMIGO_ACTUATOR_UNSET) {
      g_autofree char *n = limit_text (d->write_iops);
      g_string_append_printf (text, " wiops=%s", n);
    }
    if (!write_file (v, dir, "io.max", text->str, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
read_limit (const char *dir, const char *file, guint64 *ret, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  return text != NULL && amigo_actuator_cgroup_parse_u64 (path, text, "max", ret, error);
}

/* io.max: "MAJ:MIN rbps=max wbps=max riops=100 wiops=max" per limited device. */
static gboolean
read_io_max (const char *dir, AmigoActuatorSettings *have, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "io.max", NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < have->n_disks; i++) {
    have->disks[i].read_iops = AMIGO_ACTUATOR_UNLIMITED;
    have->disks[i].write_iops = AMIGO_ACTUATOR_UNLIMITED;
  }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '\0')
      continue;
    g_auto (GStrv) f = g_strsplit (lines[i], " ", -1);
    guint64 riops = AMIGO_ACTUATOR_UNLIMITED, wiops = AMIGO_ACTUATOR_UNLIMITED;
    if (!amigo_actuator_cgroup_check_device (f[0], NULL)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "cgroup file '%s': line '%s' does not start with 'MAJOR:MINOR'", path, lines[i]);
      return FALSE;
    }
    for (guint k = 1; f[k] != NULL; k++) {
      g_auto (GStrv) kv = g_strsplit (f[k], "=", 2);
      if (g_strv_length (kv) != 2) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "cgroup file '%s': '%s' in line '%s' is not KEY=VALUE", path, f[k], lines[i]);
        return FALSE;
      }
      guint64 *slot = g_str_equal (kv[0], "riops") ? &riops : g_str_equal (kv[0], "wiops") ? &wiops : NULL;
      guint64 ignored;
      if (!amigo_actuator_cgroup_parse_u64 (path, kv[1], "max", slot ? slot : &ignored, error))
        return FALSE;
    }
    AmigoActuatorDisk *d = amigo_actuator_settings_disk (have, f[0]);
    if (d != NULL) {
      d->read_iops = riops;
      d->write_iops = wiops;
    }
  }
  return TRUE;
}

static gboolean
v2_read_back (AmigoActuator *self, AmigoActuatorSettings *have, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir = v2_dir (v);

  if (dir == NULL) {
    g_autofree char *top = unified_top (v);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "domain '%s' has no cgroup under '%s'", v->name,
                 top);
    return FALSE;
  }
  if (has_controller (dir, "cpu")) {
    g_autofree char *weight = g_build_filename (dir, "cpu.weight", NULL);
    g_autofree char *text = NULL;
    if (!read_cpu_max (dir, &have->cpu_quota_usec, &have->cpu_period_usec, error) ||
        (text = amigo_actuator_cgroup_read (weight, error)) == NULL ||
        !amigo_actuator_cgroup_parse_u64 (weight, text, NULL, &have->cpu_shares, error))
      return FALSE;
  }
  if (has_controller (dir, "memory") &&
      (!read_limit (dir, "memory.high", &have->memory_soft_limit_bytes, error) ||
       !read_limit (dir, "memory.max", &have->memory_hard_limit_bytes, error)))
    return FALSE;
  if (has_controller (dir, "io") && !read_io_max (dir, have, error))
    return FALSE;
  return TRUE;
}

static gboolean
v2_read_pressure (AmigoActuator *self, AmigoActuatorReading *ret, GError **error)
{
  AmigoActuatorCgroupCommon *v = self->priv;
  const char *dir;

  if ((dir = need_controller (v, "cpu", "cpu pressure", error)) == NULL ||
      !amigo_actuator_cgroup_read_cpu_stat (dir, "throttled_usec", 1, ret, error))
    return FALSE;
  if ((dir = need_controller (v, "memory", "memory pressure", error)) == NULL)
    return FALSE;
  return read_limit (dir, "memory.current", &ret->memory_usage_bytes, error) &&
         read_limit (dir, "memory.max", &ret->memory_limit_bytes, error);
}

const AmigoActuatorClass amigo_actuator_cgroup_v2_class = {
  .name = "cgroup-v2",
  .init = amigo_actuator_cgroup_init,
  .probe = v2_probe,
  .apply = v2_apply,
  .read_back = v2_read_back,
  .read_pressure = v2_read_pressure,
  .finalize = amigo_actuator_cgroup_finalize,
};
