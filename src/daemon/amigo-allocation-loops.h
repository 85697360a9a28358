/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Re-allocation while an incoming migration runs and after its switch-over.
 *
 * Every poll tick, for each domain that arrived on this host by migration
 * (first seen paused with reason "migration"), one PID loop per resource
 * (CPU quota, memory soft limit) is fed the collector's usage and the
 * pressure read from the domain's cgroup, with the migration phase as an
 * input: pre-copy while the domain is paused for the incoming migration,
 * switch-over when it starts running, settle for the settle period (progress
 * 0..1), steady after. While any domain is managed so, the other domains of
 * the host are neighbours: when the wants add up to more than the host has,
 * the allocator caps by SLO priority and every cap is logged. Allocations
 * are written into the cgroups directly (libvirt accepts no tunable change
 * while the migration holds the domain's job); once settled and no job
 * holds a domain, what was written is handed back to libvirt and the loops
 * stop. Their history stays for `amigoctl controllers` while the domain is
 * here.
 *
 * Cgroup files are read and written on the main loop (local sysfs, fast);
 * every libvirt call (state, node information, the hand back) runs in the
 * loops' own job runner. */

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "amigo/amigo-series.h"
#include "amigo-allocation-calls.h"
#include "amigo-domain-table.h"
#include "amigo-pid.h"

G_BEGIN_DECLS

/* Steps of history kept per loop (at a 2 s poll: 12 minutes). */
#define AMIGO_ALLOCATION_LOOPS_HISTORY 360

/**
 * AmigoLoopsAction:
 * @AMIGO_LOOPS_ACTION_NONE: nothing to do (not an incoming domain, or its
 *   loops have stopped).
 * @AMIGO_LOOPS_ACTION_START: start the domain's loops (it is arriving).
 * @AMIGO_LOOPS_ACTION_RUN: run one step of its loops.
 * @AMIGO_LOOPS_ACTION_HANDBACK: settled and no job holds it: hand what was
 *   written directly back to libvirt, then stop the loops.
 */
typedef enum {
  AMIGO_LOOPS_ACTION_NONE,
  AMIGO_LOOPS_ACTION_START,
  AMIGO_LOOPS_ACTION_RUN,
  AMIGO_LOOPS_ACTION_HANDBACK,
} AmigoLoopsAction;

const char *amigo_loops_action_to_string (AmigoLoopsAction action);

/* The migration phase of a managed domain at @now_usec, with its progress
 * (@ret_progress, 0..1): pre-copy while it has not run here
 * (@running_since_usec 0), switch-over for @switchover_usec after it first
 * ran, then settle for @settle_usec, then steady. Pure. */
AmigoPidPhase amigo_loops_phase (gint64 running_since_usec, gint64 now_usec, gint64 switchover_usec,
                                 gint64 settle_usec, double *ret_progress);

/* What to do with a domain observed as @obs: @managed says its loops run,
 * @stopped that they already stopped, @phase is amigo_loops_phase()'s.
 * Pure. */
AmigoLoopsAction amigo_loops_decide (const AmigoLoopsObservation *obs, gboolean managed, gboolean stopped,
                                     AmigoPidPhase phase);

/**
 * AmigoAllocationLoopsSources:
 * @get_floor: (nullable) the domain's admitted reservation (the ledger's
 *   held or reserved amounts) into @ret (per resource); FALSE if it has none.
 *   Without, the declared size (vCPUs, memory) is the floor.
 * @get_label: (nullable) the administrator's workload class label of a
 *   domain, NULL if none.
 *
 * What the loops read from the rest of the daemon.
 */
typedef struct {
  gboolean (*get_floor) (const char *uuid, double ret[AMIGO_RESOURCE_LAST], gpointer user_data);
  const char *(*get_label) (const char *uuid, gpointer user_data);
  gpointer user_data;
} AmigoAllocationLoopsSources;

typedef struct _AmigoAllocationLoops AmigoAllocationLoops;

/* @slo_path: (nullable) SLO policy file read over the defaults (a missing
 * one is the defaults; a bad one is logged and ignored). @settle_usec: the
 * settle period. @interval_usec: the poll interval (the switch-over lasts
 * one). */
AmigoAllocationLoops *amigo_allocation_loops_new (const char *slo_path, gint64 interval_usec,
                                                  gint64 settle_usec,
                                                  const AmigoAllocationLoopsSources *sources);
void amigo_allocation_loops_free (AmigoAllocationLoops *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoAllocationLoops, amigo_allocation_loops_free)

/* One tick after the poll: steps every managed domain's loops with the
 * latest samples in @domains, decides, writes, logs caps, and asks libvirt
 * (off the main loop) for the next observation. @conn may be NULL
 * (disconnected: nothing is asked). */
void amigo_allocation_loops_tick (AmigoAllocationLoops *self, AmigoDomainTable *domains, virConnectPtr conn,
                                  gint64 now_usec);

/* A domain that left the host: its loops and history go. */
void amigo_allocation_loops_forget (AmigoAllocationLoops *self, const char *uuid);

/* For GetControllers: aa{sv}, one dict per resource with a loop (see
 * data/org.amigo.Daemon1.xml). AMIGO_ERROR_NOT_FOUND if @uuid has none. */
GVariant *amigo_allocation_loops_get_controllers (AmigoAllocationLoops *self, const char *uuid, GError **error);

/* Test seam: sets the observation of @uuid as a job would have. */
void amigo_allocation_loops_observe (AmigoAllocationLoops *self, const char *uuid,
                                     const AmigoLoopsObservation *obs);

/* Cores of the host's CPU kept for its own processes, outside every
 * domain's allocation (the ledger's host reserve when the daemon has one);
 * until set, 10 % of the capacity. */
void amigo_allocation_loops_set_cpu_reserve (AmigoAllocationLoops *self, double cores);

/* Test seam: the CPU capacity (cores), instead of libvirt's and the cgroup's. */
void amigo_allocation_loops_set_cpu_capacity (AmigoAllocationLoops *self, double cores);

G_END_DECLS
