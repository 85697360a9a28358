/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

#include "amigo-actuator-cgroup-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "amigo-error.h"
#include "amigo-file.h"

/* A cgroup file is a few lines; a bigger one is not a cgroup file. */
#define CGROUP_FILE_MAX (64 * 1024)

gboolean
amigo_actuator_cgroup_init (AmigoActuator *self, const AmigoActuatorTarget *target, GError **error)
{
  AmigoActuatorCgroupCommon *common = g_new0 (AmigoActuatorCgroupCommon, 1);

  common->root = g_strdup (amigo_actuator_sysfs_root ());
  common->write_log = g_ptr_array_new_with_free_func (g_free);
  common->name = g_strdup (target->name);
  common->id = target->id;
  common->pid = target->pid;
  self->priv = common;
  return TRUE;
}

void
amigo_actuator_cgroup_finalize (AmigoActuator *self)
{
  AmigoActuatorCgroupCommon *common = self->priv;

  g_free (common->root);
  g_ptr_array_unref (common->write_log);
  g_free (common->name);
  for (guint i = 0; i < AMIGO_ACTUATOR_CGROUP_MAX_DIRS; i++)
    g_free (common->dir[i]);
  g_free (common);
}

GPtrArray *
amigo_actuator_cgroup_get_write_log (AmigoActuator *self)
{
  AmigoActuatorCgroupCommon *common = self->priv;

  return common->write_log;
}

gboolean
amigo_actuator_is_dir (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

const char *
amigo_actuator_sysfs_root (void)
{
  const char *root = g_getenv ("AMIGO_SYSFS_ROOT");

  return root != NULL && *root != '\0' ? root : "/";
}

char *
amigo_actuator_root_path (const char *root, const char *rel)
{
  while (*rel == '/')
    rel++;
  return g_build_filename (root, rel, NULL);
}

char *
amigo_actuator_cgroup_of_pid (const char *root, pid_t pid, const char *controller, GError **error)
{
  g_autofree char *rel = g_strdup_printf ("proc/%d/cgroup", (int) pid);
  g_autofree char *path = amigo_actuator_root_path (root, rel);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);

  if (text == NULL)
    return NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    /* "ID:CONTROLLERS:PATH"; the path may itself hold ':' */
    g_auto (GStrv) f = g_strsplit (lines[i], ":", 3);
    if (g_strv_length (f) != 3)
      continue;
    if (controller == NULL) {
      if (g_str_equal (f[0], "0") && f[1][0] == '\0')
        return g_strdup (f[2]);
      continue;
    }
    g_auto (GStrv) ctrls = g_strsplit (f[1], ",", -1);
    if (g_strv_contains ((const char *const *) ctrls, controller))
      return g_strdup (f[2]);
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "'%s' has no line for the %s%s hierarchy",
               path, controller ? "cgroup v1 controller " : "cgroup v2", controller ? controller : "");
  return NULL;
}

char *
amigo_actuator_cgroup_domain_dir (const char *path, const char *suffix, const char *then)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0')
      continue;
    g_string_append_printf (out, "/%s", parts[i]);
    if (g_str_has_suffix (parts[i], suffix)) {
      if (then != NULL)
        g_string_append_printf (out, "/%s", then);
      return g_string_free (g_steal_pointer (&out), FALSE);
    }
  }
  return NULL;
}

char *
amigo_actuator_cgroup_find_domain (const AmigoActuatorCgroupCommon *common,
                                   const char *hierarchy,
                                   const char *controller,
                                   const AmigoActuatorCgroupCut *cuts,
                                   guint n_cuts,
                                   const char *default_rel)
{
  if (common->pid > 0) {
    g_autofree char *rel = amigo_actuator_cgroup_of_pid (common->root, common->pid, controller, NULL);
    for (guint i = 0; rel != NULL && i < n_cuts; i++) {
      g_autofree char *dom = amigo_actuator_cgroup_domain_dir (rel, cuts[i].suffix, cuts[i].then);
      g_autofree char *dir = dom ? amigo_actuator_root_path (hierarchy, dom) : NULL;
      if (dir != NULL && amigo_actuator_is_dir (dir))
        return g_steal_pointer (&dir);
    }
  }
  if (default_rel != NULL) {
    g_autofree char *dir = amigo_actuator_root_path (hierarchy, default_rel);
    if (amigo_actuator_is_dir (dir))
      return g_steal_pointer (&dir);
  }
  return NULL;
}

char *
amigo_actuator_cgroup_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!amigo_file_read (path, "cgroup file", &text, &len, error))
    return NULL;
  if (len > CGROUP_FILE_MAX || memchr (text, '\0', len) != NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "cgroup file '%s' is not a cgroup file (%" G_GSIZE_FORMAT " bytes, or binary)", path, len);
    return NULL;
  }
  g_strchomp (text);
  return g_steal_pointer (&text);
}

gboolean
amigo_actuator_cgroup_write (const char *path, const char *value, GPtrArray *log, GError **error)
{
  /* O_TRUNC so a fake tree's regular file holds the value alone, as a
   * cgroup file would read back; no O_CREAT: a missing file is a missing
   * controller, never something to make. */
  int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, AMIGO_ERROR, e == ENOENT ? AMIGO_ERROR_NOT_FOUND : AMIGO_ERROR_FAILED,
                 "cannot open cgroup file '%s' to write '%s': %s", path, value, g_strerror (e));
    return FALSE;
  }
  size_t len = strlen (value);
  ssize_t n = write (fd, value, len);
  int e = errno;
  close (fd);
  if (n < 0 || (size_t) n != len) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write '%s' into cgroup file '%s': %s",
                 value, path, n < 0 ? g_strerror (e) : "short write");
    return FALSE;
  }
  if (log != NULL)
    g_ptr_array_add (log, g_strdup (path));
  return TRUE;
}

gboolean
amigo_actuator_cgroup_parse_u64 (const char *path, const char *text, const char *max_word,
                                 guint64 *ret, GError **error)
{
  guint64 v = 0;
  g_autoptr (GError) local = NULL;

  if (max_word != NULL && g_str_equal (text, max_word)) {
    *ret = AMIGO_ACTUATOR_UNLIMITED;
    return TRUE;
  }
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64 - 2, &v, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "cgroup file '%s': '%s' is not a number%s%s", path, text, max_word ? " or " : "",
                 max_word ? max_word : "");
    return FALSE;
  }
  *ret = v;
  return TRUE;
}

gboolean
amigo_actuator_cgroup_stat_get (const char *path, const char *text, const char *key,
                                guint64 *ret, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (lines[i], " ", 2);
    if (g_strv_length (kv) == 2 && g_str_equal (kv[0], key)) {
      g_autofree char *field = g_strdup_printf ("%s' key '%s", path, key);
      return amigo_actuator_cgroup_parse_u64 (field, kv[1], NULL, ret, error);
    }
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "cgroup file '%s' has no '%s' line", path, key);
  return FALSE;
}

gboolean
amigo_actuator_cgroup_read_cpu_stat (const char *dir, const char *throttled_key, guint64 per_usec,
                                     AmigoActuatorReading *ret, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "cpu.stat", NULL);
  g_autofree char *text = amigo_actuator_cgroup_read (path, error);
  guint64 throttled;

  if (text == NULL ||
      !amigo_actuator_cgroup_stat_get (path, text, "nr_periods", &ret->cpu_nr_periods, error) ||
      !amigo_actuator_cgroup_stat_get (path, text, "nr_throttled", &ret->cpu_nr_throttled, error) ||
      !amigo_actuator_cgroup_stat_get (path, text, throttled_key, &throttled, error))
    return FALSE;
  ret->cpu_throttled_usec = throttled / per_usec;
  return TRUE;
}

gboolean
amigo_actuator_cgroup_check_device (const char *device, GError **error)
{
  guint64 major, minor;
  g_auto (GStrv) mm = g_strsplit (device, ":", -1);

  if (g_strv_length (mm) == 2 && g_ascii_string_to_unsigned (mm[0], 10, 0, G_MAXUINT32, &major, NULL) &&
      g_ascii_string_to_unsigned (mm[1], 10, 0, G_MAXUINT32, &minor, NULL))
    return TRUE;
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
               "disk '%s': a cgroup I/O limit needs the host block device as 'MAJOR:MINOR'", device);
  return FALSE;
}

gboolean
amigo_actuator_cgroup_refuse_network (const AmigoActuator *self, const AmigoActuatorSettings *changed,
                                      GError **error)
{
  if (changed->n_interfaces == 0)
    return TRUE;
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
               "interface '%s': actuator '%s' cannot shape bandwidth (no cgroup controller does); "
               "libvirt's interface parameters can",
               changed->interfaces[0].device, self->klass->name);
  return FALSE;
}

/* quota / period of the root's cpu.cfs_quota_us and cpu.cfs_period_us (v1)
 * or cpu.max (v2); 0 when unlimited, absent or not a number. */
double
amigo_actuator_confined_cpu_cores (void)
{
  const char *root = amigo_actuator_sysfs_root ();
  static const char *const v1_dirs[] = { "sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct" };
  g_autofree char *max_path = amigo_actuator_root_path (root, "sys/fs/cgroup/cpu.max");
  g_autofree char *max_text = NULL;
  g_auto (GStrv) f = NULL;
  guint64 quota = 0, period = 0;

  for (guint i = 0; i < G_N_ELEMENTS (v1_dirs); i++) {
    g_autofree char *dir = amigo_actuator_root_path (root, v1_dirs[i]);
    g_autofree char *qp = g_build_filename (dir, "cpu.cfs_quota_us", NULL);
    g_autofree char *pp = g_build_filename (dir, "cpu.cfs_period_us", NULL);
    g_autofree char *q = amigo_actuator_cgroup_read (qp, NULL);
    g_autofree char *p = amigo_actuator_cgroup_read (pp, NULL);

    if (q == NULL || p == NULL)
      continue;
    /* "-1" (no quota) does not parse as unsigned: unlimited */
    if (!g_ascii_string_to_unsigned (q, 10, 1, G_MAXINT64, &quota, NULL) ||
        !g_ascii_string_to_unsigned (p, 10, 1, G_MAXINT64, &period, NULL))
      return 0;
    return (double) quota / (double) period;
  }
  max_text = amigo_actuator_cgroup_read (max_path, NULL);
  if (max_text == NULL)
    return 0;
  f = g_strsplit (max_text, " ", 2);
  if (g_strv_length (f) != 2 || !g_ascii_string_to_unsigned (f[0], 10, 1, G_MAXINT64, &quota, NULL) ||
      !g_ascii_string_to_unsigned (f[1], 10, 1, G_MAXINT64, &period, NULL))
    return 0;
  return (double) quota / (double) period;
}
