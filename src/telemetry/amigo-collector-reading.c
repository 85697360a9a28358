/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decodes one domain's statistics record and computes rates between two.
 * Whatever makes a delta untrustworthy yields NAN for that metric only; see
 * docs/collector.md for every derivation. */
#include "amigo-collector-reading.h"

#include <math.h>
#include <string.h>

#include "amigo-time.h"

#define AMIGO_COLLECTOR_MAX_DEVICE_INDEX 65535

/* Counter pair of one device: [0] = rx bytes / read requests,
 * [1] = tx bytes / write requests. */
enum { COUNTER_A, COUNTER_B, N_COUNTERS };

typedef struct {
  guint64 value[N_COUNTERS];
  gboolean has[N_COUNTERS];
} DevCounters;

/* --- typed params --- */

/* A signed field as a counter: a negative one is not a count. */
static gboolean
signed_count (gint64 v, guint64 *ret)
{
  if (v < 0)
    return FALSE;
  *ret = (guint64) v;
  return TRUE;
}

static gboolean
param_get_u64 (const virTypedParameter *p, guint64 *ret)
{
  switch (p->type) {
  case VIR_TYPED_PARAM_INT:
    return signed_count (p->value.i, ret);
  case VIR_TYPED_PARAM_UINT:
    *ret = p->value.ui;
    return TRUE;
  case VIR_TYPED_PARAM_LLONG:
    return signed_count (p->value.l, ret);
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

void
amigo_collector_reading_clear (AmigoCollectorReading *r)
{
  g_clear_pointer (&r->nets, g_hash_table_unref);
  g_clear_pointer (&r->disks, g_hash_table_unref);
  memset (r, 0, sizeof *r);
}

void
amigo_collector_reading_init (AmigoCollectorReading *r)
{
  memset (r, 0, sizeof *r);
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
reading_take_nets (AmigoCollectorReading *r, GHashTable *tmp)
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
reading_take_disks (AmigoCollectorReading *r, GHashTable *tmp)
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

/* The guest's own figure of what it uses, GiB, or NAN. Guest-reported
 * (kB): available is MemTotal, usable is MemAvailable, so available - usable
 * is what the guest really needs (page cache it can drop excluded). Without
 * usable, available - unused (MemTotal - MemFree, caches included). Figures
 * the guest sent too long ago (@fresh FALSE) are missing, not current. Without
 * guest figures at all, the host's view, the RSS of the QEMU process. */
double
amigo_collector_reading_guest_memory_gib (const AmigoCollectorBalloon *b, gboolean fresh)
{
  double kib = NAN;

  if (b->has_available && b->has_usable && b->usable <= b->available)
    kib = fresh ? (double) (b->available - b->usable) : NAN;
  else if (b->has_available && b->has_unused && b->unused <= b->available)
    kib = fresh ? (double) (b->available - b->unused) : NAN;
  else if (b->has_rss)
    kib = (double) b->rss;
  return kib * 1024.0 / AMIGO_BYTES_PER_GIB;
}

#define READING_FIELD(member) G_STRUCT_OFFSET (AmigoCollectorReading, member)

/* The domain-wide counters: which key fills which value and its has_ flag. */
static const struct {
  const char *key;
  gsize has;
  gsize value;
} counter_fields[] = {
  { "cpu.time", READING_FIELD (has_cpu), READING_FIELD (cpu_ns) },
  { "balloon.rss", READING_FIELD (balloon.has_rss), READING_FIELD (balloon.rss) },
  { "balloon.available", READING_FIELD (balloon.has_available), READING_FIELD (balloon.available) },
  { "balloon.usable", READING_FIELD (balloon.has_usable), READING_FIELD (balloon.usable) },
  { "balloon.unused", READING_FIELD (balloon.has_unused), READING_FIELD (balloon.unused) },
};

/* FALSE if @key is none of counter_fields. */
static gboolean
decode_counter (AmigoCollectorReading *r, const char *key, const virTypedParameter *p)
{
  for (guint f = 0; f < G_N_ELEMENTS (counter_fields); f++) {
    if (g_str_equal (key, counter_fields[f].key)) {
      G_STRUCT_MEMBER (gboolean, r, counter_fields[f].has) =
        param_get_u64 (p, &G_STRUCT_MEMBER (guint64, r, counter_fields[f].value));
      return TRUE;
    }
  }
  return FALSE;
}

/* The counters of an interface and of a disk, by field name below
 * "net.N." and "block.N.". */
static const char *const net_counters[N_COUNTERS] = { [COUNTER_A] = "rx.bytes", [COUNTER_B] = "tx.bytes" };
static const char *const block_counters[N_COUNTERS] = { [COUNTER_A] = "rd.reqs", [COUNTER_B] = "wr.reqs" };

/* Field @field of device @idx: its name or one of its @counters; any other
 * field, and a name that is not a string, is passed over. */
static void
decode_dev_field (GHashTable *devs, guint idx, const char *field, const virTypedParameter *p,
                  const char *const counters[N_COUNTERS])
{
  TmpDev *d;

  if (g_str_equal (field, "name")) {
    if (p->type != VIR_TYPED_PARAM_STRING || p->value.s == NULL)
      return;
    d = tmp_dev_get (devs, idx);
    g_free (d->name);
    d->name = g_strdup (p->value.s);
    return;
  }
  for (guint c = 0; c < N_COUNTERS; c++) {
    if (g_str_equal (field, counters[c])) {
      d = tmp_dev_get (devs, idx);
      d->c.has[c] = param_get_u64 (p, &d->c.value[c]);
      return;
    }
  }
}

void
amigo_collector_reading_decode (AmigoCollectorReading *r, virTypedParameterPtr params, int nparams)
{
  g_autoptr(GHashTable) nets = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, tmp_dev_free);
  g_autoptr(GHashTable) disks = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, tmp_dev_free);
  AmigoCollectorBalloon *b = &r->balloon;
  gboolean has_rate = FALSE;
  double rate = NAN;

  for (int i = 0; i < nparams; i++) {
    const virTypedParameter *p = &params[i];
    const char *key = p->field;
    const char *field;
    guint idx;

    if (strnlen (key, VIR_TYPED_PARAM_FIELD_LENGTH) == VIR_TYPED_PARAM_FIELD_LENGTH)
      continue;    /* not terminated: not a libvirt field */

    if (decode_counter (r, key, p))
      continue;
    if (g_str_equal (key, "balloon.last-update")) {
      b->has_last_update = param_get_int (p, &b->last_update);
    } else if (g_str_equal (key, "dirtyrate.calc_status")) {
      r->has_dirty_status = param_get_int (p, &r->dirty_status);
    } else if (g_str_equal (key, "dirtyrate.megabytes_per_second")) {
      has_rate = param_get_double (p, &rate);
    } else if (g_str_equal (key, "net.count")) {
      guint64 n;
      r->net_known = param_get_u64 (p, &n);
    } else if (g_str_equal (key, "block.count")) {
      guint64 n;
      r->block_known = param_get_u64 (p, &n);
    } else if (g_str_has_prefix (key, "net.") && split_device_key (key, "net.", &idx, &field)) {
      decode_dev_field (nets, idx, field, p, net_counters);
    } else if (g_str_has_prefix (key, "block.") && split_device_key (key, "block.", &idx, &field)) {
      if (g_str_equal (field, "backingIndex")) {
        guint64 backing;
        if (!param_get_u64 (p, &backing) || backing > G_MAXUINT)
          continue;
        TmpDev *d = tmp_dev_get (disks, idx);
        d->has_backing = TRUE;
        d->backing = (guint) backing;
      } else {
        decode_dev_field (disks, idx, field, p, block_counters);
      }
    }
  }

  reading_take_nets (r, nets);
  reading_take_disks (r, disks);
  if (r->has_dirty_status && r->dirty_status == AMIGO_DIRTYRATE_MEASURED && has_rate && rate >= 0.0)
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

void
amigo_collector_reading_rates (const AmigoCollectorReading *prev, const AmigoCollectorReading *cur,
                               double dt_sec, AmigoSample *s)
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
