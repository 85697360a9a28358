/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Turns libvirt domain statistics into per-domain usage samples.
 *
 * Rates come from deltas between two readings of the same domain (keyed by
 * UUID). Whatever makes a delta untrustworthy (first reading, a counter that
 * went backwards, a field missing in either reading, a device that cannot be
 * matched, a non-positive time step) yields NAN for that metric only: the
 * history must never see a spike or a zero that did not happen. See
 * docs/collector.md for every derivation. */
#include "amigo-collector.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

#define AMIGO_COLLECTOR_MAX_DEVICE_INDEX 65535

#if LIBVIR_CHECK_VERSION(7, 2, 0)
#define AMIGO_DIRTYRATE_MEASURING VIR_DOMAIN_DIRTYRATE_MEASURING
#define AMIGO_DIRTYRATE_MEASURED VIR_DOMAIN_DIRTYRATE_MEASURED
#else
#define AMIGO_DIRTYRATE_MEASURING 1
#define AMIGO_DIRTYRATE_MEASURED 2
#endif

/* Counter pair of one device: [0] = rx bytes / read requests,
 * [1] = tx bytes / write requests. */
enum { COUNTER_A, COUNTER_B, N_COUNTERS };

typedef struct {
  guint64 value[N_COUNTERS];
  gboolean has[N_COUNTERS];
} DevCounters;

/* One record, decoded. */
typedef struct {
  gboolean has_cpu;
  guint64 cpu_ns;
  double memory_gib;
  double dirty_mib;
  gboolean net_known;        /* net.count present: interface stats were collected */
  gboolean net_unnamed;      /* an interface with counters but no name */
  GHashTable *nets;          /* name -> DevCounters */
  gboolean block_known;
  gboolean block_unnamed;
  GHashTable *disks;         /* name -> DevCounters (top of each chain only) */
} Reading;

typedef struct {
  char *name;
  gboolean primed;
  gint64 now_usec;
  int libvirt_id;            /* -1 = unknown (fed through ingest only) */
  Reading last;
} DomainState;

struct _AmigoCollector {
  GHashTable *domains;       /* uuid -> DomainState */
  AmigoCollectorAugmentFunc augment_func;
  gpointer augment_data;
  AmigoGpuSource *gpu_source;
  int dirty_rate_period_sec;
  virConnectPtr dirty_rate_unsupported;   /* a reference: the connection whose driver said no */
};

/* --- typed params --- */

static gboolean
param_get_u64 (const virTypedParameter *p, guint64 *ret)
{
  switch (p->type) {
  case VIR_TYPED_PARAM_INT:
    if (p->value.i < 0)
      return FALSE;
    *ret = (guint64) p->value.i;
    return TRUE;
  case VIR_TYPED_PARAM_UINT:
    *ret = p->value.ui;
    return TRUE;
  case VIR_TYPED_PARAM_LLONG:
    if (p->value.l < 0)
      return FALSE;
    *ret = (guint64) p->value.l;
    return TRUE;
  case VIR_TYPED_PARAM_ULLONG:
    *ret = p->value.ul;
    return TRUE;
  case VIR_TYPED_PARAM_DOUBLE:
    if (!isfinite (p->value.d) || p->value.d < 0.0 || p->value.d >= 1.8e19)
      return FALSE;
    *ret = (guint64) p->value.d;
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
param_get_double (const virTypedParameter *p, double *ret)
{
  guint64 u;

  if (p->type == VIR_TYPED_PARAM_DOUBLE) {
    if (!isfinite (p->value.d))
      return FALSE;
    *ret = p->value.d;
    return TRUE;
  }
  if (p->type == VIR_TYPED_PARAM_LLONG) {
    *ret = (double) p->value.l;
    return TRUE;
  }
  if (p->type == VIR_TYPED_PARAM_INT) {
    *ret = (double) p->value.i;
    return TRUE;
  }
  if (!param_get_u64 (p, &u))
    return FALSE;
  *ret = (double) u;
  return TRUE;
}

static gboolean
param_get_int (const virTypedParameter *p, gint64 *ret)
{
  double d;

  if (!param_get_double (p, &d) || d != floor (d) || fabs (d) > 1e15)
    return FALSE;
  *ret = (gint64) d;
  return TRUE;
}

/* --- decoding one record --- */

typedef struct {
  char *name;
  gboolean has_backing;
  guint backing;
  DevCounters c;
} TmpDev;

static void
tmp_dev_free (gpointer p)
{
  TmpDev *d = p;
  g_free (d->name);
  g_free (d);
}

static void
reading_clear (Reading *r)
{
  g_clear_pointer (&r->nets, g_hash_table_unref);
  g_clear_pointer (&r->disks, g_hash_table_unref);
  memset (r, 0, sizeof *r);
}

static void
reading_init (Reading *r)
{
  memset (r, 0, sizeof *r);
  r->memory_gib = NAN;
  r->dirty_mib = NAN;
  r->nets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r->disks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* "net.3.rx.bytes" with @prefix "net." -> *ret_index 3, *ret_field "rx.bytes" */
static gboolean
split_device_key (const char *key, const char *prefix, guint *ret_index, const char **ret_field)
{
  const char *p = key + strlen (prefix);
  const char *dot = strchr (p, '.');
  char digits[16];
  guint64 idx;

  if (dot == NULL || dot == p || (gsize) (dot - p) >= sizeof digits)
    return FALSE;
  memcpy (digits, p, dot - p);
  digits[dot - p] = '\0';
  if (!g_ascii_string_to_unsigned (digits, 10, 0, AMIGO_COLLECTOR_MAX_DEVICE_INDEX, &idx, NULL))
    return FALSE;
  *ret_index = (guint) idx;
  *ret_field = dot + 1;
  return TRUE;
}

static TmpDev *
tmp_dev_get (GHashTable *table, guint idx)
{
  TmpDev *d = g_hash_table_lookup (table, GUINT_TO_POINTER (idx));
  if (d == NULL) {
    d = g_new0 (TmpDev, 1);
    g_hash_table_insert (table, GUINT_TO_POINTER (idx), d);
  }
  return d;
}

static void
dev_add (DevCounters *into, const DevCounters *c)
{
  for (guint k = 0; k < N_COUNTERS; k++) {
    if (!c->has[k])
      continue;
    into->value[k] = into->has[k] ? into->value[k] + c->value[k] : c->value[k];
    into->has[k] = TRUE;
  }
}

/* Adds one device's counters to @into under its name; a device without a
 * name that has counters sets *@ret_unnamed (its traffic cannot be matched
 * from one reading to the next). */
static void
reading_add_dev (GHashTable *into, TmpDev *d, gboolean *ret_unnamed)
{
  DevCounters *c;

  if (d->name == NULL || d->name[0] == '\0') {
    if (d->c.has[COUNTER_A] || d->c.has[COUNTER_B])
      *ret_unnamed = TRUE;
    return;
  }
  c = g_hash_table_lookup (into, d->name);
  if (c == NULL) {
    c = g_new0 (DevCounters, 1);
    g_hash_table_insert (into, g_strdup (d->name), c);
  }
  dev_add (c, &d->c);
}

/* Interfaces: keyed by name; two entries with one name (should not happen)
 * add up, consistently from one reading to the next. */
static void
reading_take_nets (Reading *r, GHashTable *tmp)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, tmp);
  while (g_hash_table_iter_next (&it, NULL, &value))
    reading_add_dev (r->nets, value, &r->net_unnamed);
}

/* Disks: with VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING libvirt lists every
 * image of a backing chain under the disk's name; only the top of the chain
 * (lowest backingIndex, none = 0) carries the guest's requests. */
static void
reading_take_disks (Reading *r, GHashTable *tmp)
{
  g_autoptr(GHashTable) top = g_hash_table_new (g_str_hash, g_str_equal);  /* name -> min backing */
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, tmp);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    TmpDev *d = value;
    guint b = d->has_backing ? d->backing : 0;
    gpointer old;

    if (d->name == NULL || d->name[0] == '\0')
      continue;
    if (!g_hash_table_lookup_extended (top, d->name, NULL, &old) || b < GPOINTER_TO_UINT (old))
      g_hash_table_insert (top, d->name, GUINT_TO_POINTER (b));
  }

  g_hash_table_iter_init (&it, tmp);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    TmpDev *d = value;

    if (d->name != NULL && d->name[0] != '\0' &&
        (d->has_backing ? d->backing : 0) != GPOINTER_TO_UINT (g_hash_table_lookup (top, d->name)))
      continue;
    reading_add_dev (r->disks, d, &r->block_unnamed);
  }
}

static void
memory_from_balloon (Reading *r, gboolean has_rss, guint64 rss,
                     gboolean has_available, guint64 available,
                     gboolean has_usable, guint64 usable,
                     gboolean has_unused, guint64 unused)
{
  /* Guest-reported first (kB): available is MemTotal, usable is
   * MemAvailable, so available - usable is what the guest really needs
   * (page cache it can drop excluded). Without usable, available - unused
   * (MemTotal - MemFree, caches included). Without guest figures the host's
   * view, the RSS of the QEMU process. */
  double kib = NAN;

  if (has_available && has_usable && usable <= available)
    kib = (double) (available - usable);
  else if (has_available && has_unused && unused <= available)
    kib = (double) (available - unused);
  else if (has_rss)
    kib = (double) rss;
  r->memory_gib = kib * 1024.0 / AMIGO_BYTES_PER_GIB;
}

static void
reading_decode (Reading *r, virTypedParameterPtr params, int nparams)
{
  g_autoptr(GHashTable) nets = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, tmp_dev_free);
  g_autoptr(GHashTable) disks = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, tmp_dev_free);
  gboolean has_rss = FALSE, has_available = FALSE, has_usable = FALSE, has_unused = FALSE;
  guint64 rss = 0, available = 0, usable = 0, unused = 0;
  gboolean has_status = FALSE, has_rate = FALSE;
  gint64 status = -1;
  double rate = NAN;

  for (int i = 0; i < nparams; i++) {
    const virTypedParameter *p = &params[i];
    const char *key = p->field;
    const char *field;
    guint idx;

    if (strnlen (key, VIR_TYPED_PARAM_FIELD_LENGTH) == VIR_TYPED_PARAM_FIELD_LENGTH)
      continue;    /* not terminated: not a libvirt field */

    if (g_str_equal (key, "cpu.time")) {
      r->has_cpu = param_get_u64 (p, &r->cpu_ns);
    } else if (g_str_equal (key, "balloon.rss")) {
      has_rss = param_get_u64 (p, &rss);
    } else if (g_str_equal (key, "balloon.available")) {
      has_available = param_get_u64 (p, &available);
    } else if (g_str_equal (key, "balloon.usable")) {
      has_usable = param_get_u64 (p, &usable);
    } else if (g_str_equal (key, "balloon.unused")) {
      has_unused = param_get_u64 (p, &unused);
    } else if (g_str_equal (key, "dirtyrate.calc_status")) {
      has_status = param_get_int (p, &status);
    } else if (g_str_equal (key, "dirtyrate.megabytes_per_second")) {
      has_rate = param_get_double (p, &rate);
    } else if (g_str_equal (key, "net.count")) {
      guint64 n;
      r->net_known = param_get_u64 (p, &n);
    } else if (g_str_equal (key, "block.count")) {
      guint64 n;
      r->block_known = param_get_u64 (p, &n);
    } else if (g_str_has_prefix (key, "net.") && split_device_key (key, "net.", &idx, &field)) {
      TmpDev *d;
      if (g_str_equal (field, "name")) {
        if (p->type != VIR_TYPED_PARAM_STRING || p->value.s == NULL)
          continue;
        d = tmp_dev_get (nets, idx);
        g_free (d->name);
        d->name = g_strdup (p->value.s);
      } else if (g_str_equal (field, "rx.bytes")) {
        d = tmp_dev_get (nets, idx);
        d->c.has[COUNTER_A] = param_get_u64 (p, &d->c.value[COUNTER_A]);
      } else if (g_str_equal (field, "tx.bytes")) {
        d = tmp_dev_get (nets, idx);
        d->c.has[COUNTER_B] = param_get_u64 (p, &d->c.value[COUNTER_B]);
      }
    } else if (g_str_has_prefix (key, "block.") && split_device_key (key, "block.", &idx, &field)) {
      TmpDev *d;
      if (g_str_equal (field, "name")) {
        if (p->type != VIR_TYPED_PARAM_STRING || p->value.s == NULL)
          continue;
        d = tmp_dev_get (disks, idx);
        g_free (d->name);
        d->name = g_strdup (p->value.s);
      } else if (g_str_equal (field, "backingIndex")) {
        guint64 b;
        if (!param_get_u64 (p, &b) || b > G_MAXUINT)
          continue;
        d = tmp_dev_get (disks, idx);
        d->has_backing = TRUE;
        d->backing = (guint) b;
      } else if (g_str_equal (field, "rd.reqs")) {
        d = tmp_dev_get (disks, idx);
        d->c.has[COUNTER_A] = param_get_u64 (p, &d->c.value[COUNTER_A]);
      } else if (g_str_equal (field, "wr.reqs")) {
        d = tmp_dev_get (disks, idx);
        d->c.has[COUNTER_B] = param_get_u64 (p, &d->c.value[COUNTER_B]);
      }
    }
  }

  reading_take_nets (r, nets);
  reading_take_disks (r, disks);
  memory_from_balloon (r, has_rss, rss, has_available, available, has_usable, usable,
                       has_unused, unused);
  if (has_status && status == AMIGO_DIRTYRATE_MEASURED && has_rate && rate >= 0.0)
    r->dirty_mib = rate;
}

/* --- deltas --- */

/* Sum of the deltas of counter @k over the devices of @cur_devs matched by
 * name in @prev_devs, scaled and divided by @dt_sec. See docs/collector.md "Devices". */
static double
device_rate (gboolean known_prev, gboolean known_cur, gboolean unnamed,
             GHashTable *prev_devs, GHashTable *cur_devs, guint k, double scale, double dt_sec)
{
  GHashTableIter it;
  gpointer key, value;
  double sum = 0.0;
  guint matched = 0, eligible = 0;

  if (!known_prev || !known_cur || unnamed)
    return NAN;

  g_hash_table_iter_init (&it, cur_devs);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    const DevCounters *c = value;
    const DevCounters *p = g_hash_table_lookup (prev_devs, key);

    if (!c->has[k]) {
      if (p != NULL && p->has[k])
        return NAN;              /* a field that went missing */
      continue;                  /* never had it (empty CD-ROM drive) */
    }
    eligible++;
    if (p == NULL || !p->has[k])
      continue;                  /* hot-plugged since: primes now */
    if (c->value[k] < p->value[k])
      return NAN;                /* counter reset */
    sum += (double) (c->value[k] - p->value[k]);
    matched++;
  }
  if (matched == 0)
    return eligible == 0 ? 0.0 : NAN;
  return sum * scale / dt_sec;
}

static void
compute_rates (const Reading *prev, const Reading *cur, double dt_sec, AmigoSample *s)
{
  if (prev->has_cpu && cur->has_cpu && cur->cpu_ns >= prev->cpu_ns)
    s->values[AMIGO_METRIC_CPU] = (double) (cur->cpu_ns - prev->cpu_ns) / 1e9 / dt_sec;

  s->values[AMIGO_METRIC_NET_RX] =
    device_rate (prev->net_known, cur->net_known, prev->net_unnamed || cur->net_unnamed,
                 prev->nets, cur->nets, COUNTER_A, 8.0 / 1e6, dt_sec);
  s->values[AMIGO_METRIC_NET_TX] =
    device_rate (prev->net_known, cur->net_known, prev->net_unnamed || cur->net_unnamed,
                 prev->nets, cur->nets, COUNTER_B, 8.0 / 1e6, dt_sec);
  s->values[AMIGO_METRIC_DISK_READ] =
    device_rate (prev->block_known, cur->block_known,
                 prev->block_unnamed || cur->block_unnamed,
                 prev->disks, cur->disks, COUNTER_A, 1.0, dt_sec);
  s->values[AMIGO_METRIC_DISK_WRITE] =
    device_rate (prev->block_known, cur->block_known,
                 prev->block_unnamed || cur->block_unnamed,
                 prev->disks, cur->disks, COUNTER_B, 1.0, dt_sec);
}

/* --- the collector --- */

static void
domain_state_free (gpointer p)
{
  DomainState *st = p;
  g_free (st->name);
  reading_clear (&st->last);
  g_free (st);
}

AmigoCollector *
amigo_collector_new (void)
{
  AmigoCollector *self = g_new0 (AmigoCollector, 1);

  /* The typed-param helpers use libvirt's per-thread error even without a
   * connection; idempotent. */
  if (virInitialize () < 0)
    g_debug ("virInitialize failed");
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, domain_state_free);
  return self;
}

void
amigo_collector_free (AmigoCollector *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->domains);
  amigo_gpu_source_free (self->gpu_source);
  if (self->dirty_rate_unsupported != NULL)
    virConnectClose (self->dirty_rate_unsupported);
  g_free (self);
}

gboolean
amigo_collector_ingest (AmigoCollector *self,
                        const char *uuid,
                        const char *name,
                        virTypedParameterPtr params,
                        int nparams,
                        gint64 now_usec,
                        gint64 wall_usec,
                        AmigoSample *ret_sample,
                        GError **error)
{
  g_autofree char *key = NULL;
  DomainState *st;
  Reading cur;
  AmigoSample sample;

  g_return_val_if_fail (self != NULL, FALSE);

  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "'%s' is not a domain UUID", uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  if (nparams < 0 || (params == NULL && nparams > 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "statistics of domain '%s' are malformed (%d params)", uuid, nparams);
    return FALSE;
  }

  key = g_ascii_strdown (uuid, -1);
  reading_init (&cur);
  reading_decode (&cur, params, nparams);

  amigo_sample_init (&sample, wall_usec);
  sample.values[AMIGO_METRIC_MEMORY] = cur.memory_gib;
  sample.values[AMIGO_METRIC_DIRTY_RATE] = cur.dirty_mib;

  st = g_hash_table_lookup (self->domains, key);
  if (st == NULL) {
    st = g_new0 (DomainState, 1);
    st->libvirt_id = -1;
    g_hash_table_insert (self->domains, g_strdup (key), st);
  }
  if (name != NULL && g_strcmp0 (st->name, name) != 0) {
    if (st->name != NULL)
      g_debug ("domain '%s' renamed from '%s' to '%s'", uuid, st->name, name);
    g_free (st->name);
    st->name = g_strdup (name);
  }

  if (st->primed) {
    gint64 dt_usec = now_usec - st->now_usec;
    if (dt_usec > 0)
      compute_rates (&st->last, &cur, (double) dt_usec / AMIGO_USEC_PER_SEC, &sample);
    else
      g_debug ("domain '%s': time step of %" G_GINT64_FORMAT " us, rates unknown", uuid, dt_usec);
  }

  /* Whatever happened, this reading is the next baseline (re-priming after
   * a reset or a gap). */
  reading_clear (&st->last);
  st->last = cur;
  st->now_usec = now_usec;
  st->primed = TRUE;

  if (ret_sample != NULL)
    *ret_sample = sample;
  return TRUE;
}

void
amigo_collector_forget (AmigoCollector *self, const char *uuid)
{
  g_autofree char *key = NULL;

  g_return_if_fail (self != NULL);
  if (uuid == NULL)
    return;
  key = g_ascii_strdown (uuid, -1);
  g_hash_table_remove (self->domains, key);
  amigo_gpu_source_forget (self->gpu_source, key);
}

void
amigo_collector_prune (AmigoCollector *self, GHashTable *seen_uuids)
{
  GHashTableIter it;
  gpointer key;

  g_return_if_fail (self != NULL);
  g_hash_table_iter_init (&it, self->domains);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    if (seen_uuids != NULL && g_hash_table_contains (seen_uuids, key))
      continue;
    g_debug ("domain '%s' is gone, forgetting its counters", (const char *) key);
    amigo_gpu_source_forget (self->gpu_source, key);
    g_hash_table_iter_remove (&it);
  }
}

guint
amigo_collector_get_n_domains (AmigoCollector *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return g_hash_table_size (self->domains);
}

void
amigo_domain_sample_clear (AmigoDomainSample *s)
{
  if (s == NULL)
    return;
  g_clear_pointer (&s->name, g_free);
}

void
amigo_collector_set_augment_func (AmigoCollector *self,
                                  AmigoCollectorAugmentFunc func,
                                  gpointer user_data)
{
  g_return_if_fail (self != NULL);
  self->augment_func = func;
  self->augment_data = func != NULL ? user_data : NULL;
}

void
amigo_collector_set_gpu_source (AmigoCollector *self, AmigoGpuSource *source)
{
  g_return_if_fail (self != NULL);
  if (self->gpu_source == source)
    return;
  amigo_gpu_source_free (self->gpu_source);
  self->gpu_source = source;
}

void
amigo_collector_set_dirty_rate_period (AmigoCollector *self, int period_sec)
{
  g_return_if_fail (self != NULL);
  self->dirty_rate_period_sec = MAX (period_sec, 0);
}

static void
maybe_start_dirty_rate (AmigoCollector *self, virDomainPtr dom, const char *uuid,
                        virTypedParameterPtr params, int nparams)
{
#if LIBVIR_CHECK_VERSION(7, 2, 0)
  int status = -1;

  if (self->dirty_rate_period_sec <= 0)
    return;
  if (virTypedParamsGetInt (params, nparams, "dirtyrate.calc_status", &status) < 0)
    virResetLastError ();
  if (status == AMIGO_DIRTYRATE_MEASURING)
    return;
  if (self->dirty_rate_unsupported != NULL && self->dirty_rate_unsupported == virDomainGetConnect (dom))
    return;
  if (virDomainStartDirtyRateCalc (dom, self->dirty_rate_period_sec, 0) < 0) {
    /* A driver without it says so for every domain, every poll: ask this
     * connection no more (a new connection is asked again). */
    if (virGetLastErrorCode () == VIR_ERR_NO_SUPPORT) {
      /* held, so that a later connection cannot reuse its address */
      if (self->dirty_rate_unsupported != NULL)
        virConnectClose (self->dirty_rate_unsupported);
      self->dirty_rate_unsupported = virDomainGetConnect (dom);
      virConnectRef (self->dirty_rate_unsupported);
    }
    g_debug ("domain '%s': cannot start a dirty-rate calculation: %s", uuid,
             virGetLastErrorMessage ());
    virResetLastError ();
  }
#endif
}

static int
get_all_stats (virConnectPtr conn, virDomainStatsRecordPtr **records)
{
  unsigned int flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
  int n;

#if LIBVIR_CHECK_VERSION(4, 5, 0)
  /* Do not wait for a domain busy with a job (a migration): its job-bound
   * fields are left out and read as missing (NAN) instead. */
  n = virConnectGetAllDomainStats (conn, AMIGO_COLLECTOR_STATS, records,
                                   flags | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
  if (n >= 0)
    return n;
  {
    int code = virGetLastErrorCode ();
    if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
      return n;
  }
  virResetLastError ();
#endif
  /* Drivers that know no NOWAIT (the test driver). */
  return virConnectGetAllDomainStats (conn, AMIGO_COLLECTOR_STATS, records, flags);
}

gboolean
amigo_collector_poll (AmigoCollector *self,
                      virConnectPtr conn,
                      gint64 now_usec,
                      gint64 wall_usec,
                      GArray **ret_samples,
                      GError **error)
{
  virDomainStatsRecordPtr *records = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GArray) samples = NULL;
  int n;

  g_return_val_if_fail (self != NULL, FALSE);
  if (conn == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                         "no libvirt connection to poll");
    return FALSE;
  }

  n = get_all_stats (conn, &records);
  if (n < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                 "cannot read domain statistics: %s", virGetLastErrorMessage ());
    virResetLastError ();
    return FALSE;
  }

  samples = g_array_sized_new (FALSE, TRUE, sizeof (AmigoDomainSample), n);
  g_array_set_clear_func (samples, (GDestroyNotify) amigo_domain_sample_clear);

  for (int i = 0; i < n; i++) {
    virDomainStatsRecordPtr rec = records[i];
    AmigoDomainSample ds = { { 0 }, NULL, { 0 } };
    g_autoptr(GError) local_error = NULL;
    g_autofree char *key = NULL;
    const char *name;
    DomainState *st;
    unsigned int id;

    if (rec == NULL || rec->dom == NULL || virDomainGetUUIDString (rec->dom, ds.uuid) < 0) {
      virResetLastError ();
      continue;
    }
    key = g_ascii_strdown (ds.uuid, -1);
    name = virDomainGetName (rec->dom);
    id = virDomainGetID (rec->dom);

    /* Same UUID under a new id: restarted, or gone and back (migrated away
     * and in again between two polls). Its counters started over. */
    st = g_hash_table_lookup (self->domains, key);
    if (st != NULL && st->libvirt_id >= 0 && (unsigned int) st->libvirt_id != id) {
      g_debug ("domain '%s' has a new id (%d -> %u), priming again", key, st->libvirt_id, id);
      amigo_collector_forget (self, key);
    }

    if (self->augment_func != NULL) {
      int maxparams = rec->nparams;
      self->augment_func (ds.uuid, name, now_usec, &rec->params, &rec->nparams, &maxparams,
                          self->augment_data);
    }

    if (!amigo_collector_ingest (self, ds.uuid, name, rec->params, rec->nparams, now_usec,
                                 wall_usec, &ds.sample, &local_error)) {
      g_debug ("skipping a statistics record: %s", local_error->message);
      continue;
    }
    st = g_hash_table_lookup (self->domains, key);
    if (st != NULL)
      st->libvirt_id = id == (unsigned int) -1 ? -1 : (int) MIN (id, (unsigned int) G_MAXINT);

    if (self->gpu_source != NULL) {
      double gib = NAN;
      if (amigo_gpu_source_read (self->gpu_source, rec->dom, key, now_usec, &gib, &local_error))
        ds.sample.values[AMIGO_METRIC_GPU_MEMORY] = gib;
      else
        g_debug ("domain '%s': GPU source '%s' failed: %s", key,
                 amigo_gpu_source_get_name (self->gpu_source), local_error->message);
      virResetLastError ();
    }

    maybe_start_dirty_rate (self, rec->dom, key, rec->params, rec->nparams);

    ds.name = g_strdup (name);
    g_array_append_val (samples, ds);
    g_hash_table_add (seen, g_steal_pointer (&key));
  }
  virDomainStatsRecordListFree (records);

  amigo_collector_prune (self, seen);

  if (ret_samples != NULL)
    *ret_samples = g_steal_pointer (&samples);
  return TRUE;
}
