/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

#include "amigo-handback.h"

#include "amigo-error.h"

const char *
amigo_handback_decision_to_string (AmigoHandbackDecision decision)
{
  switch (decision) {
  case AMIGO_HANDBACK_NOTHING:
    return "nothing";
  case AMIGO_HANDBACK_WAIT:
    return "wait";
  case AMIGO_HANDBACK_WRITE:
    return "write";
  }
  return "?";
}

/* @direct's value if it is still in force and libvirt does not say it yet;
 * else UNSET. Counts what was dropped because someone else changed it. */
static guint64
pick (guint64 direct, guint64 in_force, guint64 xml, guint *ret_overridden)
{
  if (direct == AMIGO_ACTUATOR_UNSET)
    return AMIGO_ACTUATOR_UNSET;
  if (in_force != AMIGO_ACTUATOR_UNSET && in_force != direct) {
    (*ret_overridden)++;
    return AMIGO_ACTUATOR_UNSET;
  }
  return xml == direct ? AMIGO_ACTUATOR_UNSET : direct;
}

static const AmigoActuatorDisk *
find_disk (const AmigoActuatorSettings *s, const char *device)
{
  for (guint i = 0; s != NULL && i < s->n_disks; i++)
    if (g_str_equal (s->disks[i].device, device))
      return &s->disks[i];
  return NULL;
}

AmigoHandbackDecision
amigo_handback_plan (const AmigoActuatorSettings *direct,
                     const AmigoActuatorSettings *in_force,
                     const AmigoActuatorSettings *libvirt_xml,
                     GHashTable *disk_names,
                     gboolean job_active,
                     AmigoActuatorSettings *ret_plan,
                     char **ret_reason)
{
  AmigoActuatorSettings unknown;
  guint overridden = 0, unnamed = 0;
  g_autofree char *reason = NULL;
  AmigoHandbackDecision decision;

  amigo_actuator_settings_init (&unknown);
  if (libvirt_xml == NULL)
    libvirt_xml = &unknown;
  amigo_actuator_settings_init (ret_plan);

  ret_plan->cpu_quota_usec = pick (direct->cpu_quota_usec, in_force->cpu_quota_usec,
                                   libvirt_xml->cpu_quota_usec, &overridden);
  ret_plan->cpu_period_usec = pick (direct->cpu_period_usec, in_force->cpu_period_usec,
                                    libvirt_xml->cpu_period_usec, &overridden);
  ret_plan->cpu_shares = pick (direct->cpu_shares, in_force->cpu_shares, libvirt_xml->cpu_shares, &overridden);
  ret_plan->memory_soft_limit_bytes = pick (direct->memory_soft_limit_bytes, in_force->memory_soft_limit_bytes,
                                            libvirt_xml->memory_soft_limit_bytes, &overridden);
  ret_plan->memory_hard_limit_bytes = pick (direct->memory_hard_limit_bytes, in_force->memory_hard_limit_bytes,
                                            libvirt_xml->memory_hard_limit_bytes, &overridden);

  for (guint i = 0; i < direct->n_disks; i++) {
    const AmigoActuatorDisk *d = &direct->disks[i];
    const char *name = disk_names ? g_hash_table_lookup (disk_names, d->device) : NULL;
    const AmigoActuatorDisk *f = find_disk (in_force, d->device);
    const AmigoActuatorDisk *x = name ? find_disk (libvirt_xml, name) : NULL;
    if (name == NULL) {
      unnamed++;
      continue;
    }
    guint64 r = pick (d->read_iops, f ? f->read_iops : AMIGO_ACTUATOR_UNSET,
                      x ? x->read_iops : AMIGO_ACTUATOR_UNSET, &overridden);
    guint64 w = pick (d->write_iops, f ? f->write_iops : AMIGO_ACTUATOR_UNSET,
                      x ? x->write_iops : AMIGO_ACTUATOR_UNSET, &overridden);
    if (r == AMIGO_ACTUATOR_UNSET && w == AMIGO_ACTUATOR_UNSET)
      continue;
    AmigoActuatorDisk *p = amigo_actuator_settings_disk (ret_plan, name);
    if (p != NULL) {
      p->read_iops = r;
      p->write_iops = w;
    }
  }

  g_autofree char *plan = amigo_actuator_settings_to_string (ret_plan);
  g_autofree char *extra = g_strdup_printf ("%s%s", overridden ? "; fields changed by someone else since are left to them" : "",
                                            unnamed ? "; disks without a libvirt device name are not handed back" : "");
  if (amigo_actuator_settings_is_empty (ret_plan)) {
    decision = AMIGO_HANDBACK_NOTHING;
    reason = g_strdup_printf ("libvirt already says what was written directly%s", extra);
  } else if (job_active) {
    decision = AMIGO_HANDBACK_WAIT;
    reason = g_strdup_printf ("a job holds the domain: libvirt would queue '%s' behind the migration%s", plan,
                              extra);
  } else {
    decision = AMIGO_HANDBACK_WRITE;
    reason = g_strdup_printf ("hand back '%s'%s", plan, extra);
  }
  if (ret_reason != NULL)
    *ret_reason = g_steal_pointer (&reason);
  return decision;
}

gboolean
amigo_handback_write (AmigoActuator *libvirt, const AmigoActuatorSettings *plan, GError **error)
{
  if (libvirt->klass != &amigo_actuator_libvirt_class) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "hand back goes through the 'libvirt' actuator, not '%s'", libvirt->klass->name);
    return FALSE;
  }
  if (amigo_actuator_settings_is_empty (plan))
    return TRUE;
  if (!libvirt->klass->apply (libvirt, plan, error)) {
    libvirt->known_valid = FALSE;
    return FALSE;
  }
  amigo_actuator_settings_merge (&libvirt->known, plan);
  return TRUE;
}
