/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Handing back to libvirt what amigo wrote into a domain's cgroup directly.
 *
 * While a migration holds a domain's job, libvirt queues every live tunable
 * change until the migration ends (docs/allocation.md, "Actuators: what
 * libvirt allows during a migration"), so amigo writes the cgroup files
 * then. libvirt neither sees nor resets such a write: `virsh schedinfo` and
 * `virsh memtune` read the cgroup and show it, but the domain's live XML
 * does not, and the XML is what the next migration, a save or a restart
 * carries. Once no job holds the domain, the same values are written again
 * through libvirt so its definition tells the truth. */

#include "amigo-actuator.h"

G_BEGIN_DECLS

/**
 * AmigoHandbackDecision:
 * @AMIGO_HANDBACK_NOTHING: nothing to hand back (nothing written directly is
 *   still in force, or libvirt's definition already says it).
 * @AMIGO_HANDBACK_WAIT: a job still holds the domain: a libvirt call now
 *   would wait for the migration (and overwrite any direct write made
 *   meanwhile when it finally runs); try again when it has ended.
 * @AMIGO_HANDBACK_WRITE: write the plan through the libvirt actuator.
 */
typedef enum {
  AMIGO_HANDBACK_NOTHING,
  AMIGO_HANDBACK_WAIT,
  AMIGO_HANDBACK_WRITE,
} AmigoHandbackDecision;

const char *amigo_handback_decision_to_string (AmigoHandbackDecision decision);

/* Decides what to hand back.
 * @direct: every field amigo wrote directly since the domain arrived (the
 *   merged @ret_written of the cgroup actuator's applies).
 * @in_force: the cgroup read back now; a field that no longer holds what
 *   amigo wrote was changed by someone else since (an administrator through
 *   libvirt, which then knows it) and is not handed back. UNSET = unknown,
 *   handed back.
 * @libvirt_xml: what the domain's live XML says (NULL = unknown): a field
 *   it already holds is not written again.
 * @disk_names: "MAJ:MIN" -> the host device path libvirt's blkiotune takes
 *   (NULL: disks are not handed back; the reason says so).
 * @job_active: a libvirt job (the migration) still holds the domain.
 * @ret_plan gets the fields to write; @ret_reason (optional) says why. */
AmigoHandbackDecision amigo_handback_plan (const AmigoActuatorSettings *direct,
                                           const AmigoActuatorSettings *in_force,
                                           const AmigoActuatorSettings *libvirt_xml,
                                           GHashTable *disk_names,
                                           gboolean job_active,
                                           AmigoActuatorSettings *ret_plan,
                                           char **ret_reason);

/* Writes @plan through the `libvirt` actuator @libvirt, every field even if
 * libvirt's live read-back (which reads the cgroup) already shows it: the
 * point is libvirt's definition, not the cgroup. */
gboolean amigo_handback_write (AmigoActuator *libvirt, const AmigoActuatorSettings *plan, GError **error);

G_END_DECLS
