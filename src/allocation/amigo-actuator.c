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

/* Disks and interfaces are alike: a device name, then two amounts (read and
 * write IOPS, rx and tx kbit/s). One table describes where each sits, so
 * every walk over the devices of a settings is written once. */
typedef struct {
  const char *kind;
  const char *amount_name[2];
  gsize size;
  gsize n_offset;
  gsize list_offset;
  gsize amount_offset[2];
} DeviceKind;

enum { KIND_DISK, KIND_INTERFACE, N_KINDS };

static const DeviceKind device_kinds[N_KINDS] = {
  [KIND_DISK] = { "disk", { "read_iops", "write_iops" }, sizeof (AmigoActuatorDisk),
                  G_STRUCT_OFFSET (AmigoActuatorSettings, n_disks), G_STRUCT_OFFSET (AmigoActuatorSettings, disks),
                  { G_STRUCT_OFFSET (AmigoActuatorDisk, read_iops), G_STRUCT_OFFSET (AmigoActuatorDisk, write_iops) } },
  [KIND_INTERFACE] = { "interface", { "rx_kbit_s", "tx_kbit_s" }, sizeof (AmigoActuatorInterface),
                       G_STRUCT_OFFSET (AmigoActuatorSettings, n_interfaces),
                       G_STRUCT_OFFSET (AmigoActuatorSettings, interfaces),
                       { G_STRUCT_OFFSET (AmigoActuatorInterface, rx_kbit_s),
                         G_STRUCT_OFFSET (AmigoActuatorInterface, tx_kbit_s) } },
};

/* The name is what an entry starts with. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (AmigoActuatorDisk, device) == 0);
G_STATIC_ASSERT (G_STRUCT_OFFSET (AmigoActuatorInterface, device) == 0);

static guint
kind_count (const DeviceKind *k, const AmigoActuatorSettings *s)
{
  return *(const guint *) ((const char *) s + k->n_offset);
}

/* Entry @i of kind @k in @s: its device name. */
static char *
kind_device (const DeviceKind *k, const AmigoActuatorSettings *s, guint i)
{
  return (char *) s + k->list_offset + i * k->size;
}

static guint64 *
device_amount (const DeviceKind *k, const char *device, guint a)
{
  return (guint64 *) (device + k->amount_offset[a]);
}

static char *
kind_find (const DeviceKind *k, const AmigoActuatorSettings *s, const char *device)
{
  for (guint i = 0; i < kind_count (k, s); i++)
    if (g_str_equal (kind_device (k, s, i), device))
      return kind_device (k, s, i);
  return NULL;
}

/* The entry for @device, added with its amounts UNSET if absent; NULL when
 * all AMIGO_ACTUATOR_MAX_DEVICES are taken or @device is too long. */
static char *
kind_entry (const DeviceKind *k, AmigoActuatorSettings *s, const char *device)
{
  guint *n = (guint *) ((char *) s + k->n_offset);
  char *e = kind_find (k, s, device);

  if (e != NULL)
    return e;
  if (*n >= AMIGO_ACTUATOR_MAX_DEVICES || strlen (device) >= AMIGO_ACTUATOR_DEVICE_LEN)
    return NULL;
  e = kind_device (k, s, (*n)++);
  g_strlcpy (e, device, AMIGO_ACTUATOR_DEVICE_LEN);
  for (guint a = 0; a < 2; a++)
    *device_amount (k, e, a) = AMIGO_ACTUATOR_UNSET;
  return e;
}

AmigoActuatorDisk *
amigo_actuator_settings_disk (AmigoActuatorSettings *self, const char *device)
{
  return (AmigoActuatorDisk *) kind_entry (&device_kinds[KIND_DISK], self, device);
}

AmigoActuatorInterface *
amigo_actuator_settings_interface (AmigoActuatorSettings *self, const char *device)
{
  return (AmigoActuatorInterface *) kind_entry (&device_kinds[KIND_INTERFACE], self, device);
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

  for (const DeviceKind *k = device_kinds; k < device_kinds + N_KINDS; k++) {
    for (guint i = 0; i < kind_count (k, want); i++) {
      const char *w = kind_device (k, want, i);
      const char *h = kind_find (k, have, w);
      guint64 d[2];
      gboolean differs[2];

      for (guint a = 0; a < 2; a++)
        differs[a] = field_diff (*device_amount (k, w, a), h ? *device_amount (k, h, a) : AMIGO_ACTUATOR_UNSET,
                                 &d[a]);
      if (differs[0] || differs[1]) {
        /* want holds at most MAX_DEVICES distinct names: this cannot fail */
        char *c = kind_entry (k, ret_changed, w);
        for (guint a = 0; a < 2; a++)
          if (differs[a])
            *device_amount (k, c, a) = d[a];
        any = TRUE;
      }
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
  for (const DeviceKind *k = device_kinds; k < device_kinds + N_KINDS; k++) {
    for (guint i = 0; i < kind_count (k, changed); i++) {
      const char *c = kind_device (k, changed, i);
      char *d = kind_entry (k, self, c);

      for (guint a = 0; d != NULL && a < 2; a++)
        field_merge (device_amount (k, d, a), *device_amount (k, c, a));
    }
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
  for (const DeviceKind *k = device_kinds; k < device_kinds + N_KINDS; k++) {
    for (guint i = 0; i < kind_count (k, self); i++) {
      const char *d = kind_device (k, self, i);

      for (guint a = 0; a < 2; a++) {
        g_autofree char *name = g_strdup_printf ("%s[%s].%s", k->kind, d, k->amount_name[a]);
        append_field (s, name, *device_amount (k, d, a));
      }
    }
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

/* Adds every device of @from, amounts UNSET, to @self. */
static void
add_devices (AmigoActuatorSettings *self, const AmigoActuatorSettings *from)
{
  for (const DeviceKind *k = device_kinds; k < device_kinds + N_KINDS; k++)
    for (guint i = 0; i < kind_count (k, from); i++)
      kind_entry (k, self, kind_device (k, from, i));
}

/* TRUE if @want names a device @known does not. */
static gboolean
has_new_device (const AmigoActuatorSettings *want, const AmigoActuatorSettings *known)
{
  for (const DeviceKind *k = device_kinds; k < device_kinds + N_KINDS; k++)
    for (guint i = 0; i < kind_count (k, want); i++)
      if (kind_find (k, known, kind_device (k, want, i)) == NULL)
        return TRUE;
  return FALSE;
}

static void
prepare_have (const AmigoActuatorSettings *want, AmigoActuatorSettings *have)
{
  amigo_actuator_settings_init (have);
  add_devices (have, want);
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
  if (!self->known_valid || has_new_device (want, &self->known)) {
    g_autoptr (GError) local = NULL;
    AmigoActuatorSettings have;

    prepare_have (want, &have);
    add_devices (&have, &self->known);
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
