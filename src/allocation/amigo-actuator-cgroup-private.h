/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the cgroup-v1 and cgroup-v2 actuators share: paths below the sysfs
 * root, reading and writing one cgroup file, number parsing that names the
 * file. Test-only internals are here too (the write log). */

#include "amigo-actuator.h"

G_BEGIN_DECLS

/* Room for the domain's group in each v1 hierarchy amigo writes (cpu,
 * memory, blkio); v2 has one. */
#define AMIGO_ACTUATOR_CGROUP_MAX_DIRS 3

/* The private data of both cgroup members. */
typedef struct {
  /* The sysfs root every path is built below. */
  char *root;
  /* Paths written by the last apply, in order. */
  GPtrArray *write_log;
  /* The domain (#AmigoActuatorTarget without the libvirt handle). */
  char *name;
  int id;
  pid_t pid;
  /* The domain's group as last found, NULL until then: per controller for
   * v1, dir[0] for v2. */
  char *dir[AMIGO_ACTUATOR_CGROUP_MAX_DIRS];
} AmigoActuatorCgroupCommon;

/* The init and finalize of both members' class: an
 * #AmigoActuatorCgroupCommon for @target, below the sysfs root. */
gboolean amigo_actuator_cgroup_init (AmigoActuator *self, const AmigoActuatorTarget *target, GError **error);
void amigo_actuator_cgroup_finalize (AmigoActuator *self);

/* TRUE if @path is a directory. */
gboolean amigo_actuator_is_dir (const char *path);

/* AMIGO_SYSFS_ROOT or "/". */
const char *amigo_actuator_sysfs_root (void);

/* @root joined with @rel (absolute or not). */
char *amigo_actuator_root_path (const char *root, const char *rel);

/* The cgroup path of @pid for v1 controller @controller (a member of the
 * comma list of a /proc/PID/cgroup line), or for the unified hierarchy
 * (@controller NULL, the "0::" line), read from ROOT/proc/PID/cgroup. NULL
 * with an error naming the file if it is unreadable or has no such line. */
char *amigo_actuator_cgroup_of_pid (const char *root, pid_t pid, const char *controller, GError **error);

/* Cuts @path after its first component that ends in @suffix
 * (".libvirt-qemu", ".scope"), so the emulator/ or vcpuN/ child a thread
 * sits in leads to the domain's group; @then (optional) is appended.
 * NULL if no component ends so. */
char *amigo_actuator_cgroup_domain_dir (const char *path, const char *suffix, const char *then);

/* The domain's group below @hierarchy (absolute, under the root), or NULL
 * if it is not there (yet): first where QEMU's /proc/PID/cgroup line for
 * @controller (NULL: the v2 line) says, cut after the first component ending
 * in one of @cuts[i].suffix (then @cuts[i].then appended), because QEMU's
 * thread sits in the emulator/ or vcpuN/ child; else libvirt's default
 * place @default_rel (relative to @hierarchy; NULL when the id is unknown). */
typedef struct {
  const char *suffix;
  const char *then;
} AmigoActuatorCgroupCut;

char *amigo_actuator_cgroup_find_domain (const AmigoActuatorCgroupCommon *common,
                                         const char *hierarchy,
                                         const char *controller,
                                         const AmigoActuatorCgroupCut *cuts,
                                         guint n_cuts,
                                         const char *default_rel);

/* Contents of @path, trailing newline removed. The error names @path. */
char *amigo_actuator_cgroup_read (const char *path, GError **error);

/* Writes @value into @path (one write(), as the kernel wants a whole
 * value per write) and records @path in the write log of @log (may be
 * NULL). The error names @path, the value and errno's text. */
gboolean amigo_actuator_cgroup_write (const char *path, const char *value, GPtrArray *log, GError **error);

/* A decimal unsigned number, whole text; @max_word ("max", or NULL) means
 * AMIGO_ACTUATOR_UNLIMITED. The error names @path and quotes the text. */
gboolean amigo_actuator_cgroup_parse_u64 (const char *path, const char *text, const char *max_word,
                                          guint64 *ret, GError **error);

/* "KEY VALUE" lines (cpu.stat): the value of @key, or an error naming
 * @path and @key. */
gboolean amigo_actuator_cgroup_stat_get (const char *path, const char *text, const char *key,
                                         guint64 *ret, GError **error);

/* Fills the cpu_* fields of @ret from @dir's cpu.stat: nr_periods,
 * nr_throttled, and @throttled_key (v1 "throttled_time", v2
 * "throttled_usec") counted in units of 1/@per_usec µs. The error names the
 * file and the key. */
gboolean amigo_actuator_cgroup_read_cpu_stat (const char *dir, const char *throttled_key, guint64 per_usec,
                                              AmigoActuatorReading *ret, GError **error);

/* TRUE if @device is "MAJOR:MINOR"; else an AMIGO_ERROR_INVALID_ARGS that
 * says cgroups need a host block device. */
gboolean amigo_actuator_cgroup_check_device (const char *device, GError **error);

/* Network shaping is not a cgroup controller: an error naming the
 * interface if @changed has any. */
gboolean amigo_actuator_cgroup_refuse_network (const AmigoActuator *self,
                                               const AmigoActuatorSettings *changed,
                                               GError **error);

/* Paths (below the root) written by the last amigo_actuator_apply() of a
 * cgroup member, in order; for tests and debug logs. */
GPtrArray *amigo_actuator_cgroup_get_write_log (AmigoActuator *self);

G_END_DECLS
