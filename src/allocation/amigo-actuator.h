/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Actuators: what puts a domain's allocation in force on this host.
 *
 * One family behind one table (amigo_actuator_classes[]), as libvirt's
 * cgroup backends: `cgroup-v1` and `cgroup-v2` write the domain's cgroup
 * files directly, `libvirt` goes through libvirt's live tunable API. A
 * member answers a probe (supported / not supported / defer, with a reason),
 * applies settings and reads back what is in force. amigo_actuator_apply()
 * passes a member only the fields that changed since the last apply or
 * read-back, so an unchanged allocation costs no write.
 *
 * Every cgroup and /proc path is built below one root, AMIGO_SYSFS_ROOT
 * (default "/"), so tests run the real code on a fake tree. */

#include <glib.h>
#include <libvirt/libvirt.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* A field set to AMIGO_ACTUATOR_UNSET is left alone (not asked, not known). */
#define AMIGO_ACTUATOR_UNSET G_MAXUINT64
/* A limit set to AMIGO_ACTUATOR_UNLIMITED is removed ("max", -1, 0 IOPS). */
#define AMIGO_ACTUATOR_UNLIMITED (G_MAXUINT64 - 1)
/* Devices per settings: a bound on what a caller makes us hold. */
#define AMIGO_ACTUATOR_MAX_DEVICES 16
#define AMIGO_ACTUATOR_DEVICE_LEN 64

/**
 * AmigoActuatorDisk:
 * @device: for cgroups the host block device as "MAJOR:MINOR"; for libvirt
 *   the disk's target ("vda", QEMU's own throttle, virDomainSetBlockIoTune)
 *   or a host device path starting with '/' (blkiotune).
 * @read_iops: read operations per second.
 * @write_iops: write operations per second.
 */
typedef struct {
  char device[AMIGO_ACTUATOR_DEVICE_LEN];
  guint64 read_iops;
  guint64 write_iops;
} AmigoActuatorDisk;

/**
 * AmigoActuatorInterface:
 * @device: the interface's target device ("vnet0") or its MAC address.
 * @rx_kbit_s: average into the domain (libvirt's inbound), kbit/s.
 * @tx_kbit_s: average out of the domain (outbound), kbit/s.
 */
typedef struct {
  char device[AMIGO_ACTUATOR_DEVICE_LEN];
  guint64 rx_kbit_s;
  guint64 tx_kbit_s;
} AmigoActuatorInterface;

/**
 * AmigoActuatorSettings:
 * @cpu_quota_usec: CFS quota of the whole domain per period
 *   (libvirt's global_quota), or UNLIMITED.
 * @cpu_period_usec: CFS period (global_period).
 * @cpu_shares: libvirt's cpu_shares: cpu.shares on v1, written unchanged as
 *   cpu.weight (1..10000) on v2, as libvirt does.
 * @memory_soft_limit_bytes: libvirt's soft_limit: memory.soft_limit_in_bytes
 *   (v1), memory.high (v2, as libvirt maps it).
 * @memory_hard_limit_bytes: hard_limit: memory.limit_in_bytes / memory.max.
 * @n_disks, @disks: per disk IOPS limits.
 * @n_interfaces, @interfaces: per interface bandwidth.
 *
 * What an actuator writes, in the units the kernel and libvirt take. Every
 * number is UNSET (leave alone) unless given.
 */
typedef struct {
  guint64 cpu_quota_usec;
  guint64 cpu_period_usec;
  guint64 cpu_shares;
  guint64 memory_soft_limit_bytes;
  guint64 memory_hard_limit_bytes;
  guint n_disks;
  AmigoActuatorDisk disks[AMIGO_ACTUATOR_MAX_DEVICES];
  guint n_interfaces;
  AmigoActuatorInterface interfaces[AMIGO_ACTUATOR_MAX_DEVICES];
} AmigoActuatorSettings;

/* Every field UNSET, no devices. */
void amigo_actuator_settings_init (AmigoActuatorSettings *self);

/* The disk/interface entry for @device, added with its fields UNSET if
 * absent; NULL when all AMIGO_ACTUATOR_MAX_DEVICES are taken or @device is
 * too long. */
AmigoActuatorDisk *amigo_actuator_settings_disk (AmigoActuatorSettings *self, const char *device);
AmigoActuatorInterface *amigo_actuator_settings_interface (AmigoActuatorSettings *self,
                                                           const char *device);

/* The fields of @want that are set and differ from @have (an UNSET field of
 * @have is unknown, so it counts as different) into @ret_changed; TRUE if
 * there is at least one. */
gboolean amigo_actuator_settings_diff (const AmigoActuatorSettings *want,
                                       const AmigoActuatorSettings *have,
                                       AmigoActuatorSettings *ret_changed);

/* Copies every set field of @changed into @self. */
void amigo_actuator_settings_merge (AmigoActuatorSettings *self, const AmigoActuatorSettings *changed);

/* TRUE if no field is set. */
gboolean amigo_actuator_settings_is_empty (const AmigoActuatorSettings *self);

/* "cpu_quota_usec=50000 cpu_shares=2048 disk[8:0].read_iops=100" for logs:
 * the set fields only; "max" for UNLIMITED. */
char *amigo_actuator_settings_to_string (const AmigoActuatorSettings *self);

/**
 * AmigoActuatorReading:
 * @cpu_nr_periods: CFS periods so far (cpu.stat nr_periods).
 * @cpu_nr_throttled: periods in which the domain was throttled.
 * @cpu_throttled_usec: time throttled (v1 throttled_time ns / 1000, v2
 *   throttled_usec).
 * @memory_usage_bytes: memory charged (memory.usage_in_bytes, memory.current).
 * @memory_limit_bytes: the hard limit in force, or UNLIMITED.
 *
 * Counters for the PID loops' pressure input (amigo_actuator_pressure_*()).
 */
typedef struct {
  guint64 cpu_nr_periods;
  guint64 cpu_nr_throttled;
  guint64 cpu_throttled_usec;
  guint64 memory_usage_bytes;
  guint64 memory_limit_bytes;
} AmigoActuatorReading;

/* Share 0..1 of the CFS periods between @prev and @cur in which the domain
 * was throttled; 0 when no period passed or a counter went back (a new
 * cgroup after a restart). */
double amigo_actuator_pressure_cpu (const AmigoActuatorReading *prev, const AmigoActuatorReading *cur);

/* 0 below 90 % of the limit, rising linearly to 1 at the limit; 0 without a
 * limit. Near its limit the kernel reclaims from the domain: demand is
 * censored there as CPU demand is by throttling. */
double amigo_actuator_pressure_memory (const AmigoActuatorReading *cur);

/**
 * AmigoActuatorProbeResult:
 * @AMIGO_ACTUATOR_PROBE_SUPPORTED: the member can act on the domain now.
 * @AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED: it never will on this host (no such
 *   cgroup hierarchy, no libvirt connection); the reason says what is missing.
 * @AMIGO_ACTUATOR_PROBE_DEFER: not now, ask again later (the domain's cgroup
 *   is not made yet; a libvirt job holds the domain).
 */
typedef enum {
  AMIGO_ACTUATOR_PROBE_SUPPORTED,
  AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED,
  AMIGO_ACTUATOR_PROBE_DEFER,
} AmigoActuatorProbeResult;

const char *amigo_actuator_probe_result_to_string (AmigoActuatorProbeResult result);

/**
 * AmigoActuatorTarget:
 * @name: the domain's name.
 * @id: libvirt's domain id (the ID in machine/qemu-ID-NAME), -1 unknown.
 * @pid: QEMU's process id (its /proc/PID/cgroup locates the cgroup), 0 unknown.
 * @dom: the libvirt domain (members that need it take a reference).
 *
 * The domain an actuator acts on.
 */
typedef struct {
  const char *name;
  int id;
  pid_t pid;
  virDomainPtr dom;
} AmigoActuatorTarget;

typedef struct _AmigoActuator AmigoActuator;

typedef struct {
  /* The member's name in logs and configuration ("cgroup-v1"). */
  const char *name;
  /* Sets up @self->priv for @target. FALSE + @error if @target lacks what the
   * member needs (libvirt: a domain). */
  gboolean (*init) (AmigoActuator *self, const AmigoActuatorTarget *target, GError **error);
  AmigoActuatorProbeResult (*probe) (AmigoActuator *self, char **ret_reason);
  /* Writes every set field of @changed. A field the member cannot write is
   * AMIGO_ERROR_NOT_SUPPORTED naming it; a file or call that fails names the
   * file or parameter. */
  gboolean (*apply) (AmigoActuator *self, const AmigoActuatorSettings *changed, GError **error);
  /* What is in force now, for the fields the member handles (and for the
   * disks and interfaces named in @ret_have on entry). */
  gboolean (*read_back) (AmigoActuator *self, AmigoActuatorSettings *ret_have, GError **error);
  /* Optional: NULL = AMIGO_ERROR_NOT_SUPPORTED. */
  gboolean (*read_pressure) (AmigoActuator *self, AmigoActuatorReading *ret_reading, GError **error);
  void (*finalize) (AmigoActuator *self);
} AmigoActuatorClass;

struct _AmigoActuator {
  const AmigoActuatorClass *klass;
  gpointer priv;
  /* What is known to be in force (last read-back plus what was applied). */
  AmigoActuatorSettings known;
  gboolean known_valid;
};

/* The members, in order of preference for direct writes; NULL-terminated. */
extern const AmigoActuatorClass amigo_actuator_cgroup_v2_class;
extern const AmigoActuatorClass amigo_actuator_cgroup_v1_class;
extern const AmigoActuatorClass amigo_actuator_libvirt_class;
extern const AmigoActuatorClass *const amigo_actuator_classes[];

const AmigoActuatorClass *amigo_actuator_class_by_name (const char *name);

AmigoActuator *amigo_actuator_new (const AmigoActuatorClass *klass,
                                   const AmigoActuatorTarget *target,
                                   GError **error);
void amigo_actuator_free (AmigoActuator *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoActuator, amigo_actuator_free)

const char *amigo_actuator_get_name (const AmigoActuator *self);

/* @ret_reason (optional) says why, for every result. */
AmigoActuatorProbeResult amigo_actuator_probe (AmigoActuator *self, char **ret_reason);

/* The first cgroup member (v2, then v1) that supports @target: the direct
 * path. NULL with AMIGO_ERROR_NOT_SUPPORTED listing each member's reason. */
AmigoActuator *amigo_actuator_new_direct (const AmigoActuatorTarget *target, GError **error);

/* Puts @want in force, writing only the fields that differ from what is
 * known to be in force (read back first if nothing is known yet).
 * @ret_written (optional) gets what was written. After a failure nothing is
 * assumed known: the next apply reads back first. */
gboolean amigo_actuator_apply (AmigoActuator *self,
                               const AmigoActuatorSettings *want,
                               AmigoActuatorSettings *ret_written,
                               GError **error);

/* What is in force now; also what the next apply compares against. Disks and
 * interfaces named in @ret_have on entry are read (others the member may
 * list itself). */
gboolean amigo_actuator_read_back (AmigoActuator *self, AmigoActuatorSettings *ret_have, GError **error);

gboolean amigo_actuator_read_pressure (AmigoActuator *self,
                                       AmigoActuatorReading *ret_reading,
                                       GError **error);

/* The CPU the host's domains may use when the host itself is confined by
 * its cgroup (a host below a parent with a CFS quota, as the lab's are):
 * quota / period of cpu.cfs_quota_us (v1) or cpu.max (v2) at the top of the
 * hierarchy below AMIGO_SYSFS_ROOT, in cores; 0 when there is no such
 * limit (the node's CPUs are the capacity then). */
double amigo_actuator_confined_cpu_cores (void);

G_END_DECLS
