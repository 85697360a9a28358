/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

#include "amigo-actuator.h"

#include <string.h>

#include "amigo-error.h"

const AmigoActuatorClass *const amigo_actuator_classes[] = {
  &amigo_actuator_cgroup_v2_class,
  &amigo_actuator_cgroup_v1_class,
  &amigo_actuator_libvirt_class,
  NULL,
};

void
amigo_actuator_settings_init (AmigoActuatorSettings *self)
{
  memset (self, 0, sizeof (*self));
  self->cpu_quota_usec = AMIGO_ACTUATOR_UNSET;
  self->cpu_period_usec = AMIGO_ACTUATOR_UNSET;
  self->cpu_shares = AMIGO_ACTUATOR_UNSET;
  self->memory_soft_limit_bytes = AMIGO_ACTUATOR_UNSET;
  self->memory_hard_limit_bytes = AMIGO_ACTUATOR_UNSET;
}

AmigoActuatorDisk *
amigo_actuator_settings_disk (AmigoActuatorSettings *self, const char *device)
{
  for (guint i = 0; i < self->n_disks; i++)
    if (g_str_equal (self->disks[i].device, device))
      return &self->disks[i];
  if (self->n_disks >= AMIGO_ACTUATOR_MAX_DEVICES || strlen (device) >= AMIGO_ACTUATOR_DEVICE_LEN)
    return NULL;
  AmigoActuatorDisk *d = &self->disks[self->n_disks++];
  g_strlcpy (d->device, device, sizeof (d->device));
  d->read_iops = AMIGO_ACTUATOR_UNSET;
  d->write_iops = AMIGO_ACTUATOR_UNSET;
  return d;
}

AmigoActuatorInterface *
amigo_actuator_settings_interface (AmigoActuatorSettings *self, const char *device)
{
  for (guint i = 0; i < self->n_interfaces; i++)
    if (g_str_equal (self->interfaces[i].device, device))
      return &self->interfaces[i];
  if (self->n_interfaces >= AMIGO_ACTUATOR_MAX_DEVICES || strlen (device) >= AMIGO_ACTUATOR_DEVICE_LEN)
    return NULL;
  AmigoActuatorInterface *n = &self->interfaces[self->n_interfaces++];
  g_strlcpy (n->device, device, sizeof (n->device));
  n->rx_kbit_s = AMIGO_ACTUATOR_UNSET;
  n->tx_kbit_s = AMIGO_ACTUATOR_UNSET;
  return n;
}

static gboolean
field_diff (guint64 want, guint64 have, guint64 *ret)
{
  if (want == AMIGO_ACTUATOR_UNSET || want == have)
    return FALSE;
  *ret = want;
  return TRUE;
}

gboolean
amigo_actuator_settings_diff (const AmigoActuatorSettings *want,
                              const AmigoActuatorSettings *have,
                              AmigoActuatorSettings *ret_changed)
{
  gboolean any = FALSE;

  amigo_actuator_settings_init (ret_changed);
  any |= field_diff (want->cpu_quota_usec, have->cpu_quota_usec, &ret_changed->cpu_quota_usec);
  any |= field_diff (want->cpu_period_usec, have->cpu_period_usec, &ret_changed->cpu_period_usec);
  any |= field_diff (want->cpu_shares, have->cpu_shares, &ret_changed->cpu_shares);
  any |= field_diff (want->memory_soft_limit_bytes, have->memory_soft_limit_bytes,
                     &ret_changed->memory_soft_limit_bytes);
  any |= field_diff (want->memory_hard_limit_bytes, have->memory_hard_limit_bytes,
                     &ret_changed->memory_hard_limit_bytes);

  for (guint i = 0; i < want->n_disks; i++) {
    const AmigoActuatorDisk *w = &want->disks[i];
    guint64 hr = AMIGO_ACTUATOR_UNSET, hw = AMIGO_ACTUATOR_UNSET, r, wr;
    for (guint j = 0; j < have->n_disks; j++)
      if (g_str_equal (have->disks[j].device, w->device)) {
        hr = have->disks[j].read_iops;
        hw = have->disks[j].write_iops;
      }
    gboolean dr = field_diff (w->read_iops, hr, &r);
    gboolean dw = field_diff (w->write_iops, hw, &wr);
    if (dr || dw) {
      /* want holds at most MAX_DEVICES distinct names: this cannot fail */
      AmigoActuatorDisk *c = amigo_actuator_settings_disk (ret_changed, w->device);
      if (dr)
        c->read_iops = r;
      if (dw)
        c->write_iops = wr;
      any = TRUE;
    }
  }
  for (guint i = 0; i < want->n_interfaces; i++) {
    const AmigoActuatorInterface *w = &want->interfaces[i];
    guint64 hr = AMIGO_ACTUATOR_UNSET, ht = AMIGO_ACTUATOR_UNSET, r, t;
    for (guint j = 0; j < have->n_interfaces; j++)
      if (g_str_equal (have->interfaces[j].device, w->device)) {
        hr = have->interfaces[j].rx_kbit_s;
        ht = have->interfaces[j].tx_kbit_s;
      }
    gboolean dr = field_diff (w->rx_kbit_s, hr, &r);
    gboolean dt = field_diff (w->tx_kbit_s, ht, &t);
    if (dr || dt) {
      AmigoActuatorInterface *c = amigo_actuator_settings_interface (ret_changed, w->device);
      if (dr)
        c->rx_kbit_s = r;
      if (dt)
        c->tx_kbit_s = t;
      any = TRUE;
    }
  }
  return any;
}

static void
field_merge (guint64 *dst, guint64 src)
{
  if (src != AMIGO_ACTUATOR_UNSET)
    *dst = src;
}

void
amigo_actuator_settings_merge (AmigoActuatorSettings *self, const AmigoActuatorSettings *changed)
{
  field_merge (&self->cpu_quota_usec, changed->cpu_quota_usec);
  field_merge (&self->cpu_period_usec, changed->cpu_period_usec);
  field_merge (&self->cpu_shares, changed->cpu_shares);
  field_merge (&self->memory_soft_limit_bytes, changed->memory_soft_limit_bytes);
  field_merge (&self->memory_hard_limit_bytes, changed->memory_hard_limit_bytes);
  for (guint i = 0; i < changed->n_disks; i++) {
    AmigoActuatorDisk *d = amigo_actuator_settings_disk (self, changed->disks[i].device);
    if (d == NULL)
      continue;
    field_merge (&d->read_iops, changed->disks[i].read_iops);
    field_merge (&d->write_iops, changed->disks[i].write_iops);
  }
  for (guint i = 0; i < changed->n_interfaces; i++) {
    AmigoActuatorInterface *n = amigo_actuator_settings_interface (self, changed->interfaces[i].device);
    if (n == NULL)
      continue;
    field_merge (&n->rx_kbit_s, changed->interfaces[i].rx_kbit_s);
    field_merge (&n->tx_kbit_s, changed->interfaces[i].tx_kbit_s);
  }
}

gboolean
amigo_actuator_settings_is_empty (const AmigoActuatorSettings *self)
{
  AmigoActuatorSettings empty, changed;

  amigo_actuator_settings_init (&empty);
  return !amigo_actuator_settings_diff (self, &empty, &changed);
}

static void
append_field (GString *s, const char *name, guint64 v)
{
  if (v == AMIGO_ACTUATOR_UNSET)
    return;
  if (s->len > 0)
    g_string_append_c (s, ' ');
  if (v == AMIGO_ACTUATOR_UNLIMITED)
    g_string_append_printf (s, "%s=max", name);
  else
    g_string_append_printf (s, "%s=%" G_GUINT64_FORMAT, name, v);
}

char *
amigo_actuator_settings_to_string (const AmigoActuatorSettings *self)
{
  GString *s = g_string_new (NULL);

  append_field (s, "cpu_quota_usec", self->cpu_quota_usec);
  append_field (s, "cpu_period_usec", self->cpu_period_usec);
  append_field (s, "cpu_shares", self->cpu_shares);
  append_field (s, "memory_soft_limit_bytes", self->memory_soft_limit_bytes);
  append_field (s, "memory_hard_limit_bytes", self->memory_hard_limit_bytes);
  for (guint i = 0; i < self->n_disks; i++) {
    g_autofree char *r = g_strdup_printf ("disk[%s].read_iops", self->disks[i].device);
    g_autofree char *w = g_strdup_printf ("disk[%s].write_iops", self->disks[i].device);
    append_field (s, r, self->disks[i].read_iops);
    append_field (s, w, self->disks[i].write_iops);
  }
  for (guint i = 0; i < self->n_interfaces; i++) {
    g_autofree char *r = g_strdup_printf ("interface[%s].rx_kbit_s", self->interfaces[i].device);
    g_autofree char *t = g_strdup_printf ("interface[%s].tx_kbit_s", self->interfaces[i].device);
    append_field (s, r, self->interfaces[i].rx_kbit_s);
    append_field (s, t, self->interfaces[i].tx_kbit_s);
  }
  return g_string_free (s, FALSE);
}

double
amigo_actuator_pressure_cpu (const AmigoActuatorReading *prev, const AmigoActuatorReading *cur)
{
  if (cur->cpu_nr_periods <= prev->cpu_nr_periods || cur->cpu_nr_throttled < prev->cpu_nr_throttled)
    return 0.0;
  double p = (double) (cur->cpu_nr_throttled - prev->cpu_nr_throttled) /
             (double) (cur->cpu_nr_periods - prev->cpu_nr_periods);
  return CLAMP (p, 0.0, 1.0);
}

double
amigo_actuator_pressure_memory (const AmigoActuatorReading *cur)
{
  if (cur->memory_limit_bytes == AMIGO_ACTUATOR_UNLIMITED ||
      cur->memory_limit_bytes == AMIGO_ACTUATOR_UNSET || cur->memory_limit_bytes == 0)
    return 0.0;
  double f = (double) cur->memory_usage_bytes / (double) cur->memory_limit_bytes;
  return CLAMP ((f - 0.9) / 0.1, 0.0, 1.0);
}

const char *
amigo_actuator_probe_result_to_string (AmigoActuatorProbeResult result)
{
  switch (result) {
  case AMIGO_ACTUATOR_PROBE_SUPPORTED:
    return "supported";
  case AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED:
    return "not supported";
  case AMIGO_ACTUATOR_PROBE_DEFER:
    return "defer";
  }
  return "?";
}

const AmigoActuatorClass *
amigo_actuator_class_by_name (const char *name)
{
  for (guint i = 0; amigo_actuator_classes[i] != NULL; i++)
    if (g_str_equal (amigo_actuator_classes[i]->name, name))
      return amigo_actuator_classes[i];
  return NULL;
}

AmigoActuator *
amigo_actuator_new (const AmigoActuatorClass *klass, const AmigoActuatorTarget *target, GError **error)
{
  g_autoptr (AmigoActuator) self = g_new0 (AmigoActuator, 1);

  self->klass = klass;
  amigo_actuator_settings_init (&self->known);
  if (!klass->init (self, target, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
amigo_actuator_free (AmigoActuator *self)
{
  if (self == NULL)
    return;
  if (self->klass->finalize != NULL && self->priv != NULL)
    self->klass->finalize (self);
  g_free (self);
}

const char *
amigo_actuator_get_name (const AmigoActuator *self)
{
  return self->klass->name;
}

AmigoActuatorProbeResult
amigo_actuator_probe (AmigoActuator *self, char **ret_reason)
{
  g_autofree char *reason = NULL;
  AmigoActuatorProbeResult r = self->klass->probe (self, &reason);

  g_debug ("actuator '%s': %s: %s", self->klass->name, amigo_actuator_probe_result_to_string (r),
           reason ? reason : "");
  if (ret_reason != NULL)
    *ret_reason = g_steal_pointer (&reason);
  return r;
}

AmigoActuator *
amigo_actuator_new_direct (const AmigoActuatorTarget *target, GError **error)
{
  g_autoptr (GString) why = g_string_new (NULL);

  for (guint i = 0; amigo_actuator_classes[i] != NULL; i++) {
    const AmigoActuatorClass *klass = amigo_actuator_classes[i];
    g_autoptr (GError) local = NULL;
    g_autofree char *reason = NULL;

    if (klass == &amigo_actuator_libvirt_class)
      continue;
    g_autoptr (AmigoActuator) a = amigo_actuator_new (klass, target, &local);
    if (a == NULL) {
      g_string_append_printf (why, "%s%s: %s", why->len ? "; " : "", klass->name, local->message);
      continue;
    }
    AmigoActuatorProbeResult r = amigo_actuator_probe (a, &reason);
    if (r == AMIGO_ACTUATOR_PROBE_SUPPORTED)
      return g_steal_pointer (&a);
    g_string_append_printf (why, "%s%s: %s (%s)", why->len ? "; " : "", klass->name,
                            amigo_actuator_probe_result_to_string (r), reason ? reason : "");
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
               "no cgroup actuator for domain '%s': %s", target->name, why->str);
  return NULL;
}

static void
prepare_have (const AmigoActuatorSettings *want, AmigoActuatorSettings *have)
{
  amigo_actuator_settings_init (have);
  for (guint i = 0; i < want->n_disks; i++)
    amigo_actuator_settings_disk (have, want->disks[i].device);
  for (guint i = 0; i < want->n_interfaces; i++)
    amigo_actuator_settings_interface (have, want->interfaces[i].device);
}

gboolean
amigo_actuator_read_back (AmigoActuator *self, AmigoActuatorSettings *ret_have, GError **error)
{
  AmigoActuatorSettings have;

  prepare_have (ret_have, &have);
  if (!self->klass->read_back (self, &have, error)) {
    self->known_valid = FALSE;
    return FALSE;
  }
  self->known = have;
  self->known_valid = TRUE;
  *ret_have = have;
  return TRUE;
}

gboolean
amigo_actuator_apply (AmigoActuator *self,
                      const AmigoActuatorSettings *want,
                      AmigoActuatorSettings *ret_written,
                      GError **error)
{
  AmigoActuatorSettings changed;

  /* A device first named now is not in what is known: read it back too, so
   * its unchanged fields are not written. */
  gboolean new_device = FALSE;
  for (guint i = 0; i < want->n_disks && self->known_valid; i++) {
    gboolean seen = FALSE;
    for (guint j = 0; j < self->known.n_disks; j++)
      seen |= g_str_equal (self->known.disks[j].device, want->disks[i].device);
    new_device |= !seen;
  }
  for (guint i = 0; i < want->n_interfaces && self->known_valid; i++) {
    gboolean seen = FALSE;
    for (guint j = 0; j < self->known.n_interfaces; j++)
      seen |= g_str_equal (self->known.interfaces[j].device, want->interfaces[i].device);
    new_device |= !seen;
  }
  if (!self->known_valid || new_device) {
    g_autoptr (GError) local = NULL;
    AmigoActuatorSettings have;

    prepare_have (want, &have);
    for (guint j = 0; j < self->known.n_disks; j++)
      amigo_actuator_settings_disk (&have, self->known.disks[j].device);
    for (guint j = 0; j < self->known.n_interfaces; j++)
      amigo_actuator_settings_interface (&have, self->known.interfaces[j].device);
    /* Unreadable = unknown: then everything asked for is written. */
    if (!amigo_actuator_read_back (self, &have, &local))
      g_debug ("actuator '%s': read-back before apply failed, writing all: %s",
               self->klass->name, local->message);
  }

  if (!amigo_actuator_settings_diff (want, &self->known, &changed)) {
    if (ret_written != NULL)
      *ret_written = changed;
    return TRUE;
  }
  if (!self->klass->apply (self, &changed, error)) {
    self->known_valid = FALSE;
    return FALSE;
  }
  amigo_actuator_settings_merge (&self->known, &changed);
  if (ret_written != NULL)
    *ret_written = changed;
  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE) {
    g_autofree char *s = amigo_actuator_settings_to_string (&changed);
    g_debug ("actuator '%s': wrote '%s'", self->klass->name, s);
  }
  return TRUE;
}

gboolean
amigo_actuator_read_pressure (AmigoActuator *self, AmigoActuatorReading *ret_reading, GError **error)
{
  if (self->klass->read_pressure == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "actuator '%s' reads no pressure counters", self->klass->name);
    return FALSE;
  }
  return self->klass->read_pressure (self, ret_reading, error);
}
