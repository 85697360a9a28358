/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"

#include "amigo-admission.h"

#include <math.h>
#include <string.h>

#include "amigo-admission-request.h"
#include "amigo-domain-tunables.h"
#include "amigo-domain-xml.h"
#include "amigo-error.h"
#include "amigo-ledger.h"
#include "amigo-log.h"
#include "amigo-time.h"

struct _AmigoAdmission {
  const AmigoConf *conf;
  char *path;
  AmigoLedger *ledger;        /* NULL until a capacity is known */
  double capacity[AMIGO_RESOURCE_LAST]; /* as last set; 0 = unknown */
  GHashTable *names;          /* uuid -> domain name, for the listing (not saved) */
};

static gboolean
save (AmigoAdmission *self, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (amigo_ledger_save (self->ledger, self->path, &local))
    return TRUE;
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot save the ledger: %s", local->message);
  return FALSE;
}

static void
save_or_warn (AmigoAdmission *self, const char *after)
{
  g_autoptr (GError) error = NULL;

  if (!save (self, &error))
    g_warning ("%s, after %s", error->message, after);
}

AmigoAdmission *
amigo_admission_new (const AmigoConf *conf, const char *ledger_path)
{
  AmigoAdmission *self = g_new0 (AmigoAdmission, 1);
  g_autoptr (GError) error = NULL;

  self->conf = conf;
  self->path = g_strdup (ledger_path);
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->ledger = amigo_ledger_load (ledger_path, &error);
  if (self->ledger != NULL) {
    g_autoptr (GArray) entries = amigo_ledger_dup_entries (self->ledger);
    g_message ("ledger '%s' loaded: %u reservation%s", ledger_path, entries->len, entries->len == 1 ? "" : "s");
  } else if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
    /* the reservations it held are lost: their domains run (and are held
     * again at their next admission) or never arrive */
    g_warning ("%s; starting with an empty ledger", error->message);
  }
  return self;
}

void
amigo_admission_free (AmigoAdmission *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->ledger, amigo_ledger_free);
  g_clear_pointer (&self->names, g_hash_table_unref);
  g_free (self->path);
  g_free (self);
}

void
amigo_admission_set_node (AmigoAdmission *self, guint cpus, guint64 memory_bytes)
{
  g_autoptr (GError) error = NULL;
  double capacity[AMIGO_RESOURCE_LAST];

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    /* unknown: room 0, and amounts of it are left out of every reservation */
    capacity[r] = isnan (self->conf->allocation.capacity[r]) ? 0.0 : self->conf->allocation.capacity[r];
    /* a reserve above what libvirt reports leaves no room, rather than no ledger */
    capacity[r] = MAX (capacity[r], 0.0);
  }
  capacity[AMIGO_RESOURCE_CPU] = cpus;
  capacity[AMIGO_RESOURCE_MEMORY] = (double) memory_bytes / (double) (G_GUINT64_CONSTANT (1) << 30);
  memcpy (self->capacity, capacity, sizeof capacity);
  {
    double reserve[AMIGO_RESOURCE_LAST];
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      reserve[r] = MIN (self->conf->allocation.reserve[r], capacity[r]);
    if (self->ledger == NULL)
      self->ledger = amigo_ledger_new (capacity, reserve, self->conf->allocation.overcommit, &error);
    else
      amigo_ledger_set_capacity (self->ledger, capacity, reserve, self->conf->allocation.overcommit, &error);
  }
  if (error != NULL) {
    g_warning ("cannot set the ledger's capacity (%u CPUs, %.2f GiB): %s", cpus,
               capacity[AMIGO_RESOURCE_MEMORY], error->message);
    return;
  }
  g_message ("ledger capacity: %u CPUs, %.2f GiB memory (reserve %.2f cores, %.2f GiB)", cpus,
             capacity[AMIGO_RESOURCE_MEMORY], self->conf->allocation.reserve[AMIGO_RESOURCE_CPU],
             self->conf->allocation.reserve[AMIGO_RESOURCE_MEMORY]);
  save_or_warn (self, "setting the capacity");
}

/* Where the amounts come from, and the line that says so. */
static void
choose_amounts (AmigoAdmission *self, const AmigoDomainSize *size, gint64 now_usec,
                AmigoAllocation *ret, AmigoAllocationSource *ret_source, char **ret_note)
{
  g_autoptr (GError) error = NULL;
  gint64 max_age = self->conf->forecast.max_age_usec != 0 ? self->conf->forecast.max_age_usec
                                                           : 3 * self->conf->metadata_interval_usec;

  if (size->request == NULL) {
    amigo_domain_reservation (size, NULL, ret, ret_source, ret_note);
    return;
  }
  if (amigo_admission_request_read (size->request, now_usec, max_age, ret, &error)) {
    *ret_source = AMIGO_ALLOCATION_SOURCE_REQUEST;
    *ret_note = g_strdup_printf ("domain '%s': reservation from the source host's request", size->name);
    return;
  }
  amigo_domain_prior (size, ret);
  *ret_source = AMIGO_ALLOCATION_SOURCE_PRIOR;
  *ret_note = g_strdup_printf ("domain '%s': reservation from its declared size and the '%s' class prior "
                               "(%u vCPUs, %.2f GiB), because its request is not used: %s",
                               size->name, size->workload != NULL ? size->workload : "unknown",
                               size->vcpus, ret->memory_gib, error->message);
}

static void
insert_amount (GVariantDict *dict, const char *key, double v)
{
  if (!isnan (v))
    g_variant_dict_insert (dict, key, "d", v);
}

gboolean
amigo_admission_admit (AmigoAdmission *self, const char *xml, gint64 now_usec,
                       char **ret_xml, GVariant **ret_info, GError **error)
{
  g_autoptr (AmigoDomainSize) size = NULL;
  g_autofree char *note = NULL;
  g_autofree char *out = NULL;
  g_autoptr (GError) local = NULL;
  AmigoAllocation alloc, tunables;
  AmigoAllocationSource source;
  AmigoReservation old;
  gboolean had_old;
  double amounts[AMIGO_RESOURCE_LAST];
  const double *cap = self->conf->allocation.capacity;
  GVariantDict info;

  size = amigo_domain_size_parse (xml, error);
  if (size == NULL)
    return FALSE;
  g_variant_dict_init (&info, NULL);
  g_variant_dict_insert (&info, "uuid", "s", size->uuid);
  if (!self->conf->allocation.enabled) {
    amigo_log_domain (G_LOG_LEVEL_INFO, size->uuid, size->name,
                      "admitting '%s' unchanged: [allocation] enabled is false", size->name);
    g_variant_dict_insert (&info, "source", "s", "disabled");
    *ret_xml = g_strdup (xml);
    *ret_info = g_variant_dict_end (&info);
    return TRUE;
  }
  if (self->ledger == NULL) {
    g_variant_dict_clear (&info);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "the host's capacity is not known yet: amigod has not reached libvirt since it started");
    return FALSE;
  }

  choose_amounts (self, size, now_usec, &alloc, &source, &note);
  amigo_log_domain (G_LOG_LEVEL_INFO, size->uuid, size->name, "%s", note);
  /* Resources of unknown capacity are not admitted on (and a network
   * reservation is not written as <bandwidth>: libvirt's shaping needs an sfq
   * qdisc some kernels lack, and the domain would then fail to start). */
  if (isnan (cap[AMIGO_RESOURCE_NETWORK]))
    alloc.network_mbit_s = NAN;
  if (isnan (cap[AMIGO_RESOURCE_DISK]))
    alloc.disk_iops = NAN;
  if (isnan (cap[AMIGO_RESOURCE_GPU_MEMORY]))
    alloc.gpu_memory_gib = NAN;
  amounts[AMIGO_RESOURCE_CPU] = alloc.cpu_cores;
  amounts[AMIGO_RESOURCE_MEMORY] = alloc.memory_gib;
  amounts[AMIGO_RESOURCE_NETWORK] = alloc.network_mbit_s;
  amounts[AMIGO_RESOURCE_DISK] = alloc.disk_iops;
  amounts[AMIGO_RESOURCE_GPU_MEMORY] = alloc.gpu_memory_gib;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    if (isnan (amounts[r]))
      amounts[r] = 0.0;

  tunables = alloc;
  tunables.gpu_memory_gib = NAN;   /* no libvirt tunable */
  out = amigo_domain_tunables_apply (xml, &tunables, NULL, error);
  if (out == NULL) {
    g_variant_dict_clear (&info);
    return FALSE;
  }

  /* A domain asking again (a retried migration whose failure was never
   * reported) replaces its entry rather than counting twice. */
  had_old = amigo_ledger_lookup (self->ledger, size->uuid, &old);
  if (had_old) {
    amigo_log_domain (G_LOG_LEVEL_INFO, size->uuid, size->name,
                      "domain '%s' already has a %s reservation: replacing it", size->name,
                      amigo_ledger_state_to_string (old.state));
    amigo_ledger_release (self->ledger, size->uuid, NULL);
  }
  if (!amigo_ledger_reserve (self->ledger, size->uuid, amounts, self->conf->allocation.lease_usec, now_usec,
                             NULL, &local)) {
    /* put the old entry back as it was: it fitted, and nothing else moved */
    if (had_old && old.state == AMIGO_LEDGER_STATE_HELD)
      amigo_ledger_hold (self->ledger, size->uuid, old.amounts, old.lease_expiry_usec, NULL);
    else if (had_old && old.lease_expiry_usec > now_usec)
      amigo_ledger_reserve (self->ledger, size->uuid, old.amounts, old.lease_expiry_usec - now_usec, now_usec,
                            NULL, NULL);
    amigo_log_domain (G_LOG_LEVEL_MESSAGE, size->uuid, size->name, "refusing incoming domain '%s': %s",
                      size->name, local->message);
    g_variant_dict_clear (&info);
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (!save (self, error)) {
    /* an answer the file does not hold would be lost by a crash */
    amigo_ledger_release (self->ledger, size->uuid, NULL);
    g_variant_dict_clear (&info);
    return FALSE;
  }
  g_hash_table_replace (self->names, g_strdup (size->uuid), g_strdup (size->name));
  amigo_log_domain (G_LOG_LEVEL_MESSAGE, size->uuid, size->name,
                    "admitted incoming domain '%s': reserved %.2f cores, %.2f GiB (%s)", size->name,
                    amounts[AMIGO_RESOURCE_CPU], amounts[AMIGO_RESOURCE_MEMORY],
                    amigo_allocation_source_to_string (source));
  g_variant_dict_insert (&info, "source", "s", amigo_allocation_source_to_string (source));
  insert_amount (&info, "cpu_cores", alloc.cpu_cores);
  insert_amount (&info, "memory_gib", alloc.memory_gib);
  insert_amount (&info, "network_mbit_s", alloc.network_mbit_s);
  insert_amount (&info, "disk_iops", alloc.disk_iops);
  insert_amount (&info, "gpu_memory_gib", alloc.gpu_memory_gib);
  *ret_xml = g_steal_pointer (&out);
  *ret_info = g_variant_dict_end (&info);
  return TRUE;
}

gboolean
amigo_admission_release (AmigoAdmission *self, const char *uuid, const char *reason, GError **error)
{
  g_autofree char *lower = NULL;

  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "expected a domain UUID, got '%s'",
                 uuid != NULL ? uuid : "");
    return FALSE;
  }
  lower = g_ascii_strdown (uuid, -1);
  if (self->ledger == NULL || !amigo_ledger_release (self->ledger, lower, NULL)) {
    g_debug ("release of domain %s (%s): it holds no reservation", lower, reason);
    return TRUE;
  }
  amigo_log_domain (G_LOG_LEVEL_MESSAGE, lower, g_hash_table_lookup (self->names, lower),
                    "released the reservation of domain %s: %s", lower, reason);
  g_hash_table_remove (self->names, lower);
  save_or_warn (self, "a release");
  return TRUE;
}

void
amigo_admission_reconcile (AmigoAdmission *self, const char *const *running, gint64 now_usec)
{
  g_autoptr (GArray) entries = NULL;
  g_autoptr (GHashTable) runs = g_hash_table_new (g_str_hash, g_str_equal);
  guint activated = 0, released = 0;

  if (self->ledger == NULL)
    return;
  for (guint i = 0; running != NULL && running[i] != NULL; i++)
    g_hash_table_add (runs, (gpointer) running[i]);
  entries = amigo_ledger_dup_entries (self->ledger);
  for (guint i = 0; i < entries->len; i++) {
    const AmigoReservation *e = &g_array_index (entries, AmigoReservation, i);
    gboolean runs_here = g_hash_table_contains (runs, e->uuid);

    if (e->state == AMIGO_LEDGER_STATE_PENDING && runs_here) {
      amigo_ledger_activate (self->ledger, e->uuid, NULL);
      activated++;
    } else if (!runs_here && (e->state == AMIGO_LEDGER_STATE_HELD || e->lease_expiry_usec <= now_usec)) {
      /* held: the domain stopped or left; pending: it never arrived */
      amigo_log_domain (G_LOG_LEVEL_MESSAGE, e->uuid, g_hash_table_lookup (self->names, e->uuid),
                        "released the reservation of domain %s: %s", e->uuid,
                        e->state == AMIGO_LEDGER_STATE_HELD ? "it no longer runs here"
                                                            : "its lease ended before it arrived");
      amigo_ledger_release (self->ledger, e->uuid, NULL);
      g_hash_table_remove (self->names, e->uuid);
      released++;
    }
  }
  if (activated + released > 0) {
    g_debug ("ledger settled with libvirt: %u arrived, %u released", activated, released);
    save_or_warn (self, "settling with libvirt");
  }
}

static GVariant *
amounts_variant (const double v[AMIGO_RESOURCE_LAST])
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    g_variant_dict_insert (&d, amigo_resource_to_string (r), "d", v[r]);
  return g_variant_dict_end (&d);
}

GVariant *
amigo_admission_get_ledger (AmigoAdmission *self)
{
  GVariantDict d;
  double room[AMIGO_RESOURCE_LAST], free_[AMIGO_RESOURCE_LAST];
  double held[AMIGO_RESOURCE_LAST] = { 0 }, reserved[AMIGO_RESOURCE_LAST] = { 0 };
  g_autoptr (GArray) entries = NULL;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "enabled", "b", self->conf->allocation.enabled);
  g_variant_dict_insert (&d, "lease_usec", "x", self->conf->allocation.lease_usec);
  g_variant_dict_insert (&d, "capacity_known", "b", self->ledger != NULL);
  if (self->ledger == NULL)
    return g_variant_dict_end (&d);
  amigo_ledger_get_room (self->ledger, room);
  amigo_ledger_get_free (self->ledger, free_);
  entries = amigo_ledger_dup_entries (self->ledger);
  for (guint i = 0; i < entries->len; i++) {
    const AmigoReservation *e = &g_array_index (entries, AmigoReservation, i);
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      (e->state == AMIGO_LEDGER_STATE_HELD ? held : reserved)[r] += e->amounts[r];
  }
  g_variant_dict_insert_value (&d, "capacity", amounts_variant (self->capacity));
  g_variant_dict_insert_value (&d, "reserve", amounts_variant (self->conf->allocation.reserve));
  g_variant_dict_insert_value (&d, "overcommit", amounts_variant (self->conf->allocation.overcommit));
  g_variant_dict_insert_value (&d, "room", amounts_variant (room));
  g_variant_dict_insert_value (&d, "held", amounts_variant (held));
  g_variant_dict_insert_value (&d, "reserved", amounts_variant (reserved));
  g_variant_dict_insert_value (&d, "free", amounts_variant (free_));
  g_variant_dict_insert (&d, "entries", "u", entries->len);
  return g_variant_dict_end (&d);
}

GVariant *
amigo_admission_list_reservations (AmigoAdmission *self)
{
  GVariantBuilder b;
  g_autoptr (GArray) entries = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  if (self->ledger == NULL)
    return g_variant_builder_end (&b);
  entries = amigo_ledger_dup_entries (self->ledger);
  for (guint i = 0; i < entries->len; i++) {
    const AmigoReservation *e = &g_array_index (entries, AmigoReservation, i);
    const char *name = g_hash_table_lookup (self->names, e->uuid);
    GVariantDict d;

    g_variant_dict_init (&d, NULL);
    g_variant_dict_insert (&d, "uuid", "s", e->uuid);
    g_variant_dict_insert (&d, "name", "s", name != NULL ? name : "");
    g_variant_dict_insert (&d, "state", "s", amigo_ledger_state_to_string (e->state));
    g_variant_dict_insert (&d, "lease_expiry_usec", "x", e->lease_expiry_usec);
    g_variant_dict_insert_value (&d, "amounts", amounts_variant (e->amounts));
    g_variant_builder_add_value (&b, g_variant_dict_end (&d));
  }
  return g_variant_builder_end (&b);
}
