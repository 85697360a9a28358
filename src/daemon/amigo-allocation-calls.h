/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The libvirt calls of the allocation loops, each an AmigoJobRunFunc made
 * in a job runner thread (never on the main loop): what state a domain is
 * in, the node's size, and the hand back of what was written directly.
 * None takes a domain job except the hand back's setters, which run only
 * once no job holds the domain. */

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-actuator.h"
#include "amigo-handback.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/**
 * AmigoLoopsObservation:
 * @known: an observation has come back from libvirt.
 * @running: libvirt says running.
 * @incoming: paused with reason "migration": the destination of a
 *   migration that has not switched over yet.
 * @job_active: a job (the migration) holds the domain.
 * @id: libvirt's domain id (the cgroup's name), -1 unknown.
 * @vcpus: declared vCPUs.
 * @memory_gib: declared (maximum) memory.
 *
 * What libvirt said about a domain at the last tick.
 */
typedef struct {
  gboolean known;
  gboolean running;
  gboolean incoming;
  gboolean job_active;
  int id;
  guint vcpus;
  double memory_gib;
} AmigoLoopsObservation;

/**
 * AmigoAllocationCall:
 * @owner: the caller's, untouched here (the loops: borrowed, their runner
 *   goes first).
 * @conn: a reference.
 * @uuid, @name: the domain.
 * @obs: amigo_allocation_call_observe()'s answer.
 * @node_cpus, @node_memory_gib: amigo_allocation_call_node()'s answer.
 * @direct: for amigo_allocation_call_handback(): what was written directly...
 * @in_force: ...and what the cgroup holds now.
 * @decision, @reason: what the hand back decided, and why (or what it wrote).
 *
 * One call, made in a job runner thread, its answer read on the main loop.
 */
typedef struct {
  gpointer owner;
  virConnectPtr conn;           /* a reference */
  char uuid[AMIGO_UUID_BUFLEN];
  char *name;
  AmigoLoopsObservation obs;
  double node_cpus;
  double node_memory_gib;
  AmigoActuatorSettings direct;
  AmigoActuatorSettings in_force;
  AmigoHandbackDecision decision;
  char *reason;
} AmigoAllocationCall;

AmigoAllocationCall *amigo_allocation_call_new (virConnectPtr conn, const char *uuid, const char *name);
void amigo_allocation_call_free (gpointer call);

/* The domain's state, declared size, libvirt id and whether a job holds it
 * into @obs. */
gboolean amigo_allocation_call_observe (gpointer call, GError **error);

/* The node's CPUs and memory. */
gboolean amigo_allocation_call_node (gpointer call, GError **error);

/* Plans the hand back (amigo_handback_plan(); a job still holding the
 * domain is WAIT) and writes it through the libvirt actuator. */
gboolean amigo_allocation_call_handback (gpointer call, GError **error);

G_END_DECLS
