/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-allocation-calls.h"

#include <libvirt/virterror.h>

#include "amigo-error.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

void
amigo_allocation_call_free (gpointer p)
{
  AmigoAllocationCall *c = p;

  virConnectClose (c->conn);
  g_free (c->name);
  g_free (c->reason);
  g_free (c);
}

AmigoAllocationCall *
amigo_allocation_call_new (virConnectPtr conn, const char *uuid, const char *name)
{
  AmigoAllocationCall *c = g_new0 (AmigoAllocationCall, 1);

  c->conn = conn;
  virConnectRef (conn);
  g_strlcpy (c->uuid, uuid, sizeof c->uuid);
  c->name = g_strdup (name);
  return c;
}

static void
set_virt_error (GError **error, const char *what, const char *name)
{
  virErrorPtr e = virGetLastError ();

  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "%s of domain '%s': %s", what, name,
               e != NULL && e->message != NULL ? e->message : "unknown error");
}

/* Runner thread: no job taken, but the domain's object lock may be held
 * for a second at the end of a migration. */
gboolean
amigo_allocation_call_observe (gpointer data, GError **error)
{
  AmigoAllocationCall *c = data;
  virDomainPtr dom = virDomainLookupByUUIDString (c->conn, c->uuid);
  virDomainInfo info;
  virDomainJobInfo job;
  int state = 0, reason = 0;

  if (dom == NULL) {
    set_virt_error (error, "lookup", c->name);
    return FALSE;
  }
  if (virDomainGetState (dom, &state, &reason, 0) < 0 || virDomainGetInfo (dom, &info) < 0) {
    set_virt_error (error, "state", c->name);
    virDomainFree (dom);
    return FALSE;
  }
  c->obs.known = TRUE;
  c->obs.running = state == VIR_DOMAIN_RUNNING;
  c->obs.incoming = state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_MIGRATION;
  c->obs.id = virDomainGetID (dom) == (unsigned int) -1 ? -1 : (int) virDomainGetID (dom);
  c->obs.vcpus = info.nrVirtCpu;
  c->obs.memory_gib = info.maxMem * 1024.0 / GIB;
  /* the destination answers "available only on the source host" while its
   * incoming job runs (as the libvirt actuator's probe reads it) */
  if (virDomainGetJobInfo (dom, &job) < 0) {
    virErrorPtr e = virGetLastError ();
    c->obs.job_active = e == NULL || e->code != VIR_ERR_NO_SUPPORT;
    virResetLastError ();
  } else {
    c->obs.job_active = job.type != VIR_DOMAIN_JOB_NONE;
  }
  virDomainFree (dom);
  return TRUE;
}

gboolean
amigo_allocation_call_node (gpointer data, GError **error)
{
  AmigoAllocationCall *c = data;
  virNodeInfo info;

  if (virNodeGetInfo (c->conn, &info) < 0) {
    set_virt_error (error, "node information", "host");
    return FALSE;
  }
  c->node_cpus = info.cpus;
  c->node_memory_gib = info.memory * 1024.0 / GIB;
  return TRUE;
}

gboolean
amigo_allocation_call_handback (gpointer data, GError **error)
{
  AmigoAllocationCall *c = data;
  virDomainPtr dom = virDomainLookupByUUIDString (c->conn, c->uuid);
  AmigoActuatorTarget target = { c->name, -1, 0, dom };
  g_autoptr (AmigoActuator) lv = NULL;
  AmigoActuatorSettings plan;
  g_autofree char *why = NULL;
  AmigoActuatorProbeResult probe;

  if (dom == NULL) {
    set_virt_error (error, "lookup", c->name);
    return FALSE;
  }
  lv = amigo_actuator_new (&amigo_actuator_libvirt_class, &target, error);
  virDomainFree (dom);
  if (lv == NULL)
    return FALSE;
  probe = amigo_actuator_probe (lv, &why);
  c->decision = amigo_handback_plan (&c->direct, &c->in_force, NULL, NULL, probe != AMIGO_ACTUATOR_PROBE_SUPPORTED,
                                     &plan, &c->reason);
  if (c->decision != AMIGO_HANDBACK_WRITE)
    return TRUE;
  g_free (c->reason);
  c->reason = amigo_actuator_settings_to_string (&plan);
  return amigo_handback_write (lv, &plan, error);
}
