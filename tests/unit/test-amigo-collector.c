/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-collector.h"
#include "amigo-domain-job.h"
#include "amigo-domstats-text.h"
#include "amigo-error.h"
#include "amigo-time.h"

#define UUID_A "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define UUID_B "0f6b2f6c-3d8e-4b59-9d2a-0a1b2c3d4e5f"
#define SEC AMIGO_USEC_PER_SEC
#define T0 (1000 * SEC)
#define WALL0 G_GINT64_CONSTANT (1795650441000000)
#define FIXTURE_DIR AMIGO_TEST_SRCDIR "/../fixtures"
/* libvirt's virDomainDirtyRateStatus values */
#define AMIGO_TEST_DIRTYRATE_MEASURING 1
#define AMIGO_TEST_DIRTYRATE_MEASURED 2

/* --- building records by hand --- */

typedef struct {
  virTypedParameterPtr p;
  int n;
  int max;
} Rec;

static void
rec_clear (Rec *r)
{
  virTypedParamsFree (r->p, r->n);
  memset (r, 0, sizeof *r);
}

static void
rec_ull (Rec *r, const char *key, unsigned long long v)
{
  assert_int_equal (virTypedParamsAddULLong (&r->p, &r->n, &r->max, key, v), 0);
}

static void
rec_uint (Rec *r, const char *key, unsigned int v)
{
  assert_int_equal (virTypedParamsAddUInt (&r->p, &r->n, &r->max, key, v), 0);
}

static void
rec_str (Rec *r, const char *key, const char *v)
{
  assert_int_equal (virTypedParamsAddString (&r->p, &r->n, &r->max, key, v), 0);
}

/* A record as libvirt gives it for a guest with one NIC and one disk. */
static void
rec_basic (Rec *r, guint64 cpu_ns, guint64 rx, guint64 tx, guint64 rd, guint64 wr)
{
  rec_ull (r, "cpu.time", cpu_ns);
  rec_ull (r, "balloon.rss", 512 * 1024);
  rec_uint (r, "net.count", 1);
  rec_str (r, "net.0.name", "vnet0");
  rec_ull (r, "net.0.rx.bytes", rx);
  rec_ull (r, "net.0.tx.bytes", tx);
  rec_uint (r, "block.count", 1);
  rec_str (r, "block.0.name", "vda");
  rec_ull (r, "block.0.rd.reqs", rd);
  rec_ull (r, "block.0.wr.reqs", wr);
}

static AmigoSample
ingest (AmigoCollector *c, const char *uuid, const char *name, Rec *r, gint64 now)
{
  g_autoptr(GError) error = NULL;
  AmigoSample s;

  assert_true (amigo_collector_ingest (c, uuid, name, r->p, r->n, now, WALL0 + (now - T0), &s, &error));
  assert_null (error);
  return s;
}

static void
assert_close (double got, double want, double tol)
{
  if (isnan (got) || fabs (got - want) > tol)
    fail_msg ("got %g, want %g +- %g", got, want, tol);
}

/* --- rates --- */

/* A guest burning one vCPU for 10 s: 1e9 ns of CPU per second reads as one
 * core; the first reading has nothing to compare with. */
static void
test_one_core_burn (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();

  for (int i = 0; i <= 10; i++) {
    Rec r = { 0 };
    AmigoSample s;
    rec_basic (&r, 5 * G_GUINT64_CONSTANT (1000000000) + (guint64) i * 1000000000, 0, 0, 0, 0);
    s = ingest (c, UUID_A, "burn", &r, T0 + i * SEC);
    assert_int_equal (s.time_usec, WALL0 + i * SEC);
    if (i == 0) {
      assert_true (isnan (s.values[AMIGO_METRIC_CPU]));
      assert_true (isnan (s.values[AMIGO_METRIC_NET_RX]));
      /* gauges are there from the first reading */
      assert_close (s.values[AMIGO_METRIC_MEMORY], 0.5, 1e-9);
    } else {
      assert_close (s.values[AMIGO_METRIC_CPU], 1.0, 1e-9);
      assert_close (s.values[AMIGO_METRIC_NET_RX], 0.0, 1e-12);
    }
    rec_clear (&r);
  }
}

/* Network and disk rates, over an uneven interval. */
static void
test_net_disk_rates (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r1 = { 0 }, r2 = { 0 };
  AmigoSample s;

  rec_basic (&r1, 0, 1000, 2000, 10, 20);
  /* 2.5 s later: 12.5 MB received (40 Mbit/s), 2.5 MB sent (8 Mbit/s),
   * 250 reads (100/s), 1000 writes (400/s) */
  rec_basic (&r2, 500000000, 1000 + 12500000, 2000 + 2500000, 10 + 250, 20 + 1000);
  ingest (c, UUID_A, "io", &r1, T0);
  s = ingest (c, UUID_A, "io", &r2, T0 + 5 * SEC / 2);
  assert_close (s.values[AMIGO_METRIC_CPU], 0.2, 1e-9);
  assert_close (s.values[AMIGO_METRIC_NET_RX], 40.0, 1e-9);
  assert_close (s.values[AMIGO_METRIC_NET_TX], 8.0, 1e-9);
  assert_close (s.values[AMIGO_METRIC_DISK_READ], 100.0, 1e-9);
  assert_close (s.values[AMIGO_METRIC_DISK_WRITE], 400.0, 1e-9);
  /* nothing known about GPU or dirty rate: missing, never zero */
  assert_true (isnan (s.values[AMIGO_METRIC_GPU_MEMORY]));
  assert_true (isnan (s.values[AMIGO_METRIC_DIRTY_RATE]));
  rec_clear (&r1);
  rec_clear (&r2);
}

/* A counter going backwards (the guest was reset under us, a device was
 * re-created) is NAN for that interval and primes the next one. */
static void
test_counter_reset (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  guint64 cpu[] = { 9000000000, 10000000000, 300000000, 1300000000 };
  guint64 rx[] = { 5000000, 6250000, 100, 1250100 };
  AmigoSample s[4];

  for (int i = 0; i < 4; i++) {
    Rec r = { 0 };
    rec_basic (&r, cpu[i], rx[i], 0, 0, 0);
    s[i] = ingest (c, UUID_A, "reset", &r, T0 + i * SEC);
    rec_clear (&r);
  }
  assert_close (s[1].values[AMIGO_METRIC_CPU], 1.0, 1e-9);
  assert_close (s[1].values[AMIGO_METRIC_NET_RX], 10.0, 1e-9);
  assert_true (isnan (s[2].values[AMIGO_METRIC_CPU]));
  assert_true (isnan (s[2].values[AMIGO_METRIC_NET_RX]));
  /* the disk did not reset: still a figure */
  assert_close (s[2].values[AMIGO_METRIC_DISK_READ], 0.0, 1e-12);
  /* re-primed on the reset reading */
  assert_close (s[3].values[AMIGO_METRIC_CPU], 1.0, 1e-9);
  assert_close (s[3].values[AMIGO_METRIC_NET_RX], 10.0, 1e-9);
}

/* A missing field is NAN for its own metric only, and its return is a fresh
 * start, not a delta over the gap. */
static void
test_missing_field (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  AmigoSample s2, s3;

  rec_basic (&r1, 1000000000, 1000, 1000, 5, 5);

  rec_ull (&r2, "cpu.time", 2000000000);
  rec_ull (&r2, "balloon.rss", 512 * 1024);
  rec_uint (&r2, "net.count", 1);
  rec_str (&r2, "net.0.name", "vnet0");
  /* no net.0.rx.bytes */
  rec_ull (&r2, "net.0.tx.bytes", 1000 + 125000);
  rec_uint (&r2, "block.count", 1);
  rec_str (&r2, "block.0.name", "vda");
  rec_ull (&r2, "block.0.rd.reqs", 15);
  rec_ull (&r2, "block.0.wr.reqs", 5);

  rec_basic (&r3, 3000000000, 999999999, 1000 + 250000, 25, 5);

  ingest (c, UUID_A, "gap", &r1, T0);
  s2 = ingest (c, UUID_A, "gap", &r2, T0 + SEC);
  assert_true (isnan (s2.values[AMIGO_METRIC_NET_RX]));
  assert_close (s2.values[AMIGO_METRIC_NET_TX], 1.0, 1e-9);
  assert_close (s2.values[AMIGO_METRIC_CPU], 1.0, 1e-9);
  assert_close (s2.values[AMIGO_METRIC_DISK_READ], 10.0, 1e-9);
  assert_close (s2.values[AMIGO_METRIC_MEMORY], 0.5, 1e-9);

  /* rx is back with a big value: primes, no spike from the gap */
  s3 = ingest (c, UUID_A, "gap", &r3, T0 + 2 * SEC);
  assert_true (isnan (s3.values[AMIGO_METRIC_NET_RX]));
  assert_close (s3.values[AMIGO_METRIC_NET_TX], 1.0, 1e-9);

  /* a record without any statistics: every metric missing, none zero */
  {
    AmigoSample s4;
    g_autoptr(GError) error = NULL;
    assert_true (amigo_collector_ingest (c, UUID_A, "gap", NULL, 0, T0 + 3 * SEC, WALL0, &s4, &error));
    for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
      assert_true (isnan (s4.values[m]));
  }
  rec_clear (&r1);
  rec_clear (&r2);
  rec_clear (&r3);
}

/* NICs are matched by name: a NIC plugged in with a large counter, or the
 * indexes shuffling, must not make a spike. */
static void
test_nic_hotplug (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 };
  AmigoSample s2, s3, s4;

  rec_basic (&r1, 0, 1000000, 0, 0, 0);

  /* vnet7 hot-plugged in front of vnet0, already 50 GB into its life */
  rec_ull (&r2, "cpu.time", 0);
  rec_uint (&r2, "net.count", 2);
  rec_str (&r2, "net.0.name", "vnet7");
  rec_ull (&r2, "net.0.rx.bytes", G_GUINT64_CONSTANT (50000000000));
  rec_ull (&r2, "net.0.tx.bytes", 0);
  rec_str (&r2, "net.1.name", "vnet0");
  rec_ull (&r2, "net.1.rx.bytes", 1000000 + 125000);
  rec_ull (&r2, "net.1.tx.bytes", 0);

  rec_ull (&r3, "cpu.time", 0);
  rec_uint (&r3, "net.count", 2);
  rec_str (&r3, "net.0.name", "vnet0");
  rec_ull (&r3, "net.0.rx.bytes", 1000000 + 250000);
  rec_ull (&r3, "net.0.tx.bytes", 0);
  rec_str (&r3, "net.1.name", "vnet7");
  rec_ull (&r3, "net.1.rx.bytes", G_GUINT64_CONSTANT (50000000000) + 375000);
  rec_ull (&r3, "net.1.tx.bytes", 0);

  /* vnet0 unplugged */
  rec_ull (&r4, "cpu.time", 0);
  rec_uint (&r4, "net.count", 1);
  rec_str (&r4, "net.0.name", "vnet7");
  rec_ull (&r4, "net.0.rx.bytes", G_GUINT64_CONSTANT (50000000000) + 500000);
  rec_ull (&r4, "net.0.tx.bytes", 0);

  ingest (c, UUID_A, "nic", &r1, T0);
  s2 = ingest (c, UUID_A, "nic", &r2, T0 + SEC);
  assert_close (s2.values[AMIGO_METRIC_NET_RX], 1.0, 1e-9);    /* vnet0 only */
  s3 = ingest (c, UUID_A, "nic", &r3, T0 + 2 * SEC);
  assert_close (s3.values[AMIGO_METRIC_NET_RX], 4.0, 1e-9);    /* 1 + 3 Mbit/s, reordered */
  s4 = ingest (c, UUID_A, "nic", &r4, T0 + 3 * SEC);
  assert_close (s4.values[AMIGO_METRIC_NET_RX], 1.0, 1e-9);
  rec_clear (&r1);
  rec_clear (&r2);
  rec_clear (&r3);
  rec_clear (&r4);
}

/* Disks: a backing chain image is not a second disk; a hot-plugged disk
 * primes. */
static void
test_disk_backing_and_hotplug (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  AmigoSample s;

  for (int i = 0; i < 3; i++) {
    Rec r = { 0 };
    rec_uint (&r, "block.count", i < 2 ? 2 : 3);
    rec_str (&r, "block.0.name", "vda");
    rec_uint (&r, "block.0.backingIndex", 1);
    rec_ull (&r, "block.0.rd.reqs", 100 + i * 50);
    rec_ull (&r, "block.0.wr.reqs", 10 + i * 20);
    /* the chain image below it, with counters of its own */
    rec_str (&r, "block.1.name", "vda");
    rec_uint (&r, "block.1.backingIndex", 2);
    rec_ull (&r, "block.1.rd.reqs", 7000 + i * 7000);
    rec_ull (&r, "block.1.wr.reqs", 0);
    if (i == 2) {
      rec_str (&r, "block.2.name", "vdb");
      rec_ull (&r, "block.2.rd.reqs", 123456789);
      rec_ull (&r, "block.2.wr.reqs", 123456789);
    }
    s = ingest (c, UUID_A, "disk", &r, T0 + i * SEC);
    if (i > 0) {
      assert_close (s.values[AMIGO_METRIC_DISK_READ], 50.0, 1e-9);
      assert_close (s.values[AMIGO_METRIC_DISK_WRITE], 20.0, 1e-9);
    }
    rec_clear (&r);
  }
}

/* The same UUID under a new name is the same domain: state carries over. */
static void
test_rename_keeps_state (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  AmigoSample s;

  rec_basic (&r1, 1000000000, 0, 0, 0, 0);
  rec_basic (&r2, 1500000000, 0, 0, 0, 0);
  rec_basic (&r3, 1000000000, 0, 0, 0, 0);
  ingest (c, UUID_A, "web", &r1, T0);
  s = ingest (c, UUID_A, "web-renamed", &r2, T0 + SEC);
  assert_close (s.values[AMIGO_METRIC_CPU], 0.5, 1e-9);
  assert_int_equal (amigo_collector_get_n_domains (c), 1);
  /* another domain with the same name is not the same domain */
  s = ingest (c, UUID_B, "web-renamed", &r3, T0 + SEC);
  assert_true (isnan (s.values[AMIGO_METRIC_CPU]));
  assert_int_equal (amigo_collector_get_n_domains (c), 2);
  /* UUIDs compare case-insensitively */
  {
    g_autofree char *upper = g_ascii_strup (UUID_A, -1);
    s = ingest (c, upper, "web-renamed", &r2, T0 + 2 * SEC);
    assert_close (s.values[AMIGO_METRIC_CPU], 0.0, 1e-9);
    assert_int_equal (amigo_collector_get_n_domains (c), 2);
  }
  rec_clear (&r1);
  rec_clear (&r2);
  rec_clear (&r3);
}

/* Gone and back (migrated away, then in again) starts clean: the first
 * reading after prune primes, even with counters far ahead. */
static void
test_prune_and_return (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  Rec r1 = { 0 }, r2 = { 0 };
  AmigoSample s;

  rec_basic (&r1, 1000000000, 0, 0, 0, 0);
  rec_basic (&r2, 900000000000, 0, 0, 0, 0);
  ingest (c, UUID_A, "mig", &r1, T0);
  ingest (c, UUID_B, "stay", &r1, T0);
  g_hash_table_add (seen, (gpointer) UUID_B);
  amigo_collector_prune (c, seen);
  assert_int_equal (amigo_collector_get_n_domains (c), 1);
  s = ingest (c, UUID_A, "mig", &r2, T0 + SEC);
  assert_true (isnan (s.values[AMIGO_METRIC_CPU]));

  amigo_collector_forget (c, UUID_B);
  s = ingest (c, UUID_B, "stay", &r2, T0 + SEC);
  assert_true (isnan (s.values[AMIGO_METRIC_CPU]));
  rec_clear (&r1);
  rec_clear (&r2);
}

/* A zero or negative time step gives no rates (no division by zero, no
 * negative rates). */
static void
test_bad_time_step (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  AmigoSample s;

  rec_basic (&r1, 1000000000, 0, 0, 0, 0);
  rec_basic (&r2, 2000000000, 1000, 0, 0, 0);
  rec_basic (&r3, 3000000000, 2000, 0, 0, 0);
  ingest (c, UUID_A, "t", &r1, T0);
  s = ingest (c, UUID_A, "t", &r2, T0);
  assert_true (isnan (s.values[AMIGO_METRIC_CPU]));
  assert_true (isnan (s.values[AMIGO_METRIC_NET_RX]));
  assert_close (s.values[AMIGO_METRIC_MEMORY], 0.5, 1e-9);
  s = ingest (c, UUID_A, "t", &r3, T0 - SEC);
  assert_true (isnan (s.values[AMIGO_METRIC_CPU]));
  rec_clear (&r1);
  rec_clear (&r2);
  rec_clear (&r3);
}

/* Memory: the guest's own figures when the balloon driver reports them,
 * else the QEMU process RSS. */
static void
test_memory_sources (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r = { 0 };
  AmigoSample s;

  rec_ull (&r, "balloon.rss", 3 * 1024 * 1024);          /* 3 GiB resident */
  rec_ull (&r, "balloon.available", 4 * 1024 * 1024);    /* MemTotal 4 GiB */
  rec_ull (&r, "balloon.usable", 3 * 1024 * 1024);       /* MemAvailable 3 GiB */
  rec_ull (&r, "balloon.unused", 1 * 1024 * 1024);       /* MemFree 1 GiB */
  s = ingest (c, UUID_A, "m", &r, T0);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 1.0, 1e-9);
  rec_clear (&r);

  rec_ull (&r, "balloon.rss", 3 * 1024 * 1024);
  rec_ull (&r, "balloon.available", 4 * 1024 * 1024);
  rec_ull (&r, "balloon.unused", 1 * 1024 * 1024);
  s = ingest (c, UUID_A, "m", &r, T0 + SEC);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 3.0, 1e-9);
  rec_clear (&r);

  rec_ull (&r, "balloon.rss", 3 * 1024 * 1024);
  rec_ull (&r, "balloon.current", 4 * 1024 * 1024);
  s = ingest (c, UUID_A, "m", &r, T0 + 2 * SEC);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 3.0, 1e-9);
  rec_clear (&r);
}

/* The dirty rate counts only once libvirt says the calculation is done. */
static void
test_dirty_rate (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  Rec r = { 0 };
  AmigoSample s;

  assert_int_equal (virTypedParamsAddInt (&r.p, &r.n, &r.max, "dirtyrate.calc_status", 1), 0);
  assert_int_equal (virTypedParamsAddLLong (&r.p, &r.n, &r.max, "dirtyrate.megabytes_per_second", 0), 0);
  s = ingest (c, UUID_A, "d", &r, T0);
  assert_true (isnan (s.values[AMIGO_METRIC_DIRTY_RATE]));
  rec_clear (&r);

  assert_int_equal (virTypedParamsAddInt (&r.p, &r.n, &r.max, "dirtyrate.calc_status", 2), 0);
  assert_int_equal (virTypedParamsAddLLong (&r.p, &r.n, &r.max, "dirtyrate.megabytes_per_second", 37), 0);
  s = ingest (c, UUID_A, "d", &r, T0 + SEC);
  assert_close (s.values[AMIGO_METRIC_DIRTY_RATE], 37.0, 1e-9);
  rec_clear (&r);
}

static void
test_ingest_bad_args (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GError) error = NULL;
  AmigoSample s;

  assert_false (amigo_collector_ingest (c, "not-a-uuid", "x", NULL, 0, T0, WALL0, &s, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "'not-a-uuid'"));
  g_clear_error (&error);
  assert_false (amigo_collector_ingest (c, UUID_A, "x", NULL, 3, T0, WALL0, &s, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_int_equal (amigo_collector_get_n_domains (c), 0);
}

/* --- memory as the host holds it, and the age of the guest's figures --- */

/* A guest reading with balloon statistics last updated @age_sec before the
 * ingest's wall clock (WALL0 + now - T0). */
static void
rec_balloon (Rec *r, gint64 now, gint64 age_sec)
{
  rec_ull (r, "balloon.rss", 3 * 1024 * 1024);          /* QEMU holds 3 GiB */
  rec_ull (r, "balloon.available", 4 * 1024 * 1024);    /* MemTotal 4 GiB */
  rec_ull (r, "balloon.usable", 3 * 1024 * 1024);       /* MemAvailable 3 GiB: uses 1 GiB */
  rec_ull (r, "balloon.last-update", (WALL0 + (now - T0)) / SEC - age_sec);
}

static AmigoSample
ingest_balloon (AmigoCollector *c, const char *uuid, gint64 now, gint64 age_sec)
{
  Rec r = { 0 };
  AmigoSample s;

  rec_balloon (&r, now, age_sec);
  s = ingest (c, uuid, "m", &r, now);
  rec_clear (&r);
  return s;
}

/* The host's cost is QEMU's resident size whatever the guest says; the
 * guest's own figure counts only while it is recent: with a 2 s interval
 * (and so a 2 s period), older than 6 s it is missing, not current. */
static void
test_memory_age (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  AmigoSample s;

  amigo_collector_set_interval (c, 2 * SEC);
  s = ingest_balloon (c, UUID_A, T0, 1);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 1.0, 1e-9);
  assert_close (s.values[AMIGO_METRIC_HOST_MEMORY], 3.0, 1e-9);
  s = ingest_balloon (c, UUID_A, T0 + 2 * SEC, 6);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 1.0, 1e-9);
  s = ingest_balloon (c, UUID_A, T0 + 4 * SEC, 7);
  assert_true (isnan (s.values[AMIGO_METRIC_MEMORY]));
  assert_close (s.values[AMIGO_METRIC_HOST_MEMORY], 3.0, 1e-9);
  /* stamped in the future (the clock stepped back): not stale */
  s = ingest_balloon (c, UUID_A, T0 + 6 * SEC, -3600);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 1.0, 1e-9);

  /* a 10 s interval: two polls (20 s) is the bound */
  amigo_collector_set_interval (c, 10 * SEC);
  s = ingest_balloon (c, UUID_A, T0 + 8 * SEC, 19);
  assert_close (s.values[AMIGO_METRIC_MEMORY], 1.0, 1e-9);
  s = ingest_balloon (c, UUID_A, T0 + 10 * SEC, 31);
  assert_true (isnan (s.values[AMIGO_METRIC_MEMORY]));
}

/* --- job-taking calls, asked of the caller --- */

static GArray *
take_jobs_of_kind (AmigoCollector *c, AmigoDomainJobKind kind, guint want)
{
  GArray *jobs = amigo_collector_take_jobs (c);

  assert_non_null (jobs);
  for (guint i = 0; i < jobs->len; i++)
    assert_int_equal (g_array_index (jobs, AmigoDomainJob, i).kind, kind);
  assert_int_equal (jobs->len, want);
  return jobs;
}

static void
ingest_dirty (AmigoCollector *c, const char *uuid, gint64 now, int calc_status)
{
  Rec r = { 0 };

  rec_ull (&r, "cpu.time", 1000);
  if (calc_status >= 0)
    assert_int_equal (virTypedParamsAddInt (&r.p, &r.n, &r.max, "dirtyrate.calc_status", calc_status), 0);
  ingest (c, uuid, "d", &r, now);
  rec_clear (&r);
}

/* A dirty-rate measurement is asked for when none runs, once until the
 * caller reports it done; a driver that cannot is asked no more. */
static void
test_jobs_dirty_rate (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GArray) jobs = NULL;
  g_autoptr(GError) no_support = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "no");
  g_autoptr(GError) busy = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_BUSY, "job timed out");
  AmigoDomainJob job;

  /* period 0: nothing is asked */
  ingest_dirty (c, UUID_A, T0, -1);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 0);

  amigo_collector_set_dirty_rate_period (c, 3);
  ingest_dirty (c, "6695EB01-F6A4-8304-79AA-97F2502E193F", T0 + SEC, -1);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 1);
  job = g_array_index (jobs, AmigoDomainJob, 0);
  assert_string_equal (job.uuid, UUID_A);
  assert_int_equal (job.arg, 3);

  /* still in the caller's hands: not asked twice */
  ingest_dirty (c, UUID_A, T0 + 2 * SEC, -1);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 0);

  /* started; measuring: nothing; measured: the next one */
  amigo_collector_job_done (c, &job, NULL);
  ingest_dirty (c, UUID_A, T0 + 3 * SEC, AMIGO_TEST_DIRTYRATE_MEASURING);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 0);
  ingest_dirty (c, UUID_A, T0 + 4 * SEC, AMIGO_TEST_DIRTYRATE_MEASURED);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 1);

  /* a failure that passes (a migration held the domain): asked again */
  amigo_collector_job_done (c, &job, busy);
  ingest_dirty (c, UUID_A, T0 + 5 * SEC, AMIGO_TEST_DIRTYRATE_MEASURED);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 1);

  /* the driver cannot: no domain is asked again */
  amigo_collector_job_done (c, &job, no_support);
  ingest_dirty (c, UUID_A, T0 + 6 * SEC, AMIGO_TEST_DIRTYRATE_MEASURED);
  ingest_dirty (c, UUID_B, T0 + 6 * SEC, -1);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 0);
}

/* A domain whose balloon figures are older than one period of one poll
 * (rounded up to whole seconds) is asked for that period (none set: QEMU
 * keeps the boot-time figures), once; one that cannot is not asked again. */
static void
test_jobs_stats_period (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GArray) jobs = NULL;
  g_autoptr(GError) invalid = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "no balloon");
  g_autoptr(GError) timeout = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_BUSY, "job timed out");
  AmigoDomainJob job_a, job_b;
  Rec r = { 0 };

  amigo_collector_set_interval (c, 2500 * 1000);
  /* figures as recent as a 3 s period makes them: nothing to ask */
  ingest_balloon (c, UUID_A, T0, 4);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 0);
  /* older, though not yet stale (9 s): asked before they are */
  ingest_balloon (c, "a0000000-0000-4000-8000-000000000002", T0, 5);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 1);

  ingest_balloon (c, UUID_A, T0 + SEC, 600);
  ingest_balloon (c, UUID_B, T0 + SEC, 600);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 2);
  job_a = g_array_index (jobs, AmigoDomainJob, 0);
  job_b = g_array_index (jobs, AmigoDomainJob, 1);
  assert_string_equal (job_a.uuid, UUID_A);
  assert_int_equal (job_a.arg, 3);

  /* set: never asked again, even while the figures stay old */
  amigo_collector_job_done (c, &job_a, NULL);
  ingest_balloon (c, UUID_A, T0 + 2 * SEC, 600);
  /* a call that timed out behind a migration: asked again */
  amigo_collector_job_done (c, &job_b, timeout);
  ingest_balloon (c, UUID_B, T0 + 2 * SEC, 600);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 1);
  assert_string_equal (g_array_index (jobs, AmigoDomainJob, 0).uuid, UUID_B);
  /* a domain that cannot (no balloon device): never again */
  amigo_collector_job_done (c, &job_b, invalid);
  ingest_balloon (c, UUID_B, T0 + 3 * SEC, 600);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 0);

  /* no age at all next to the host's figure: asked too */
  rec_ull (&r, "balloon.rss", 1024);
  ingest (c, "a0000000-0000-4000-8000-000000000001", "n", &r, T0);
  rec_clear (&r);
  g_clear_pointer (&jobs, g_array_unref);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_STATS_PERIOD, 1);

  /* a job for a domain the collector forgot is ignored */
  amigo_collector_forget (c, UUID_A);
  amigo_collector_job_done (c, &job_a, NULL);
  assert_int_equal (amigo_collector_get_n_domains (c), 3);
}

/* A domain that goes away takes its jobs not yet handed out with it. */
static void
test_jobs_dropped_with_domain (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GArray) jobs = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  amigo_collector_set_dirty_rate_period (c, 1);
  ingest_dirty (c, UUID_A, T0, -1);
  ingest_dirty (c, UUID_B, T0, -1);
  g_hash_table_add (seen, (gpointer) UUID_B);
  amigo_collector_prune (c, seen);
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 1);
  assert_string_equal (g_array_index (jobs, AmigoDomainJob, 0).uuid, UUID_B);
}

/* The calls themselves, against libvirt's test driver: it can set a
 * statistics period but has no dirty-rate calculation, and says so in a way
 * the collector recognises. */
static void
test_domain_job_run (void **state)
{
  g_autoptr(GError) error = NULL;
  virConnectPtr conn = virConnectOpen ("test:///default");
  virDomainPtr dom;
  AmigoDomainJob job = { { 0 }, AMIGO_DOMAIN_JOB_STATS_PERIOD, 4 };
  g_autofree char *xml = NULL;

  assert_non_null (conn);
  dom = virDomainLookupByName (conn, "test");
  assert_non_null (dom);
  assert_int_equal (virDomainGetUUIDString (dom, job.uuid), 0);

  assert_true (amigo_domain_job_run (conn, &job, &error));
  assert_null (error);
  xml = virDomainGetXMLDesc (dom, 0);
  assert_non_null (strstr (xml, "<stats period='4'/>"));

  job.kind = AMIGO_DOMAIN_JOB_DIRTY_RATE;
  job.arg = 1;
  assert_false (amigo_domain_job_run (conn, &job, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "cannot start a dirty-rate calculation (1 s)"));
  assert_non_null (strstr (error->message, job.uuid));
  g_clear_error (&error);

  g_strlcpy (job.uuid, UUID_B, sizeof job.uuid);
  assert_false (amigo_domain_job_run (conn, &job, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, "domain '" UUID_B "': cannot find it"));
  g_clear_error (&error);

  job.arg = 0;
  assert_false (amigo_domain_job_run (conn, &job, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_false (amigo_domain_job_run (NULL, &job, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED));
  assert_string_equal (amigo_domain_job_kind_to_string (AMIGO_DOMAIN_JOB_STATS_PERIOD), "stats-period");
  assert_string_equal (amigo_domain_job_kind_to_string (AMIGO_DOMAIN_JOB_LAST), "unknown");

  virDomainFree (dom);
  virConnectClose (conn);
}

/* A poll itself makes no job-taking call: it hands them out. */
static void
test_poll_hands_out_jobs (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) samples = NULL;
  g_autoptr(GArray) jobs = NULL;
  virConnectPtr conn = virConnectOpen ("test:///default");

  assert_non_null (conn);
  amigo_collector_set_dirty_rate_period (c, 1);
  assert_true (amigo_collector_poll (c, conn, T0, WALL0, &samples, &error));
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 1);
  assert_false (amigo_domain_job_run (conn, &g_array_index (jobs, AmigoDomainJob, 0), &error));
  amigo_collector_job_done (c, &g_array_index (jobs, AmigoDomainJob, 0), error);
  g_clear_error (&error);
  g_clear_pointer (&samples, g_array_unref);
  g_clear_pointer (&jobs, g_array_unref);

  /* the test driver has no dirty rate: not asked again on this connection */
  assert_true (amigo_collector_poll (c, conn, T0 + 2 * SEC, WALL0 + 2 * SEC, &samples, &error));
  jobs = take_jobs_of_kind (c, AMIGO_DOMAIN_JOB_DIRTY_RATE, 0);
  virConnectClose (conn);
}

/* --- `virsh domstats` text --- */

static char *
read_fixture (int i, gint64 *ret_usec)
{
  g_autofree char *path = g_strdup_printf (FIXTURE_DIR "/domstats-guest-%d.txt", i);
  g_autoptr(GError) error = NULL;
  char *text = NULL;
  const char *stamp;

  if (!g_file_get_contents (path, &text, NULL, &error))
    fail_msg ("%s", error->message);
  stamp = strstr (text, "recorded_usec=");
  assert_non_null (stamp);
  *ret_usec = g_ascii_strtoll (stamp + strlen ("recorded_usec="), NULL, 10);
  assert_true (*ret_usec > 0);
  return text;
}

/* Six `virsh domstats --backing` outputs of a real TCG guest spinning one
 * vCPU with a little disk I/O, a few seconds apart. */
static void
test_fixture_plausible (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  guint rated = 0;

  for (int i = 0; i < 6; i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *name = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    const char *disk = NULL;
    gint64 when;
    AmigoSample s;

    text = read_fixture (i, &when);
    assert_true (amigo_domstats_text_parse (text, &name, &params, &nparams, &error));
    assert_null (error);
    assert_string_equal (name, "collector-fixture");
    assert_true (nparams > 40);
    assert_int_equal (virTypedParamsGetString (params, nparams, "block.0.name", &disk), 1);
    assert_string_equal (disk, "vda");

    assert_true (amigo_collector_ingest (c, UUID_A, name, params, nparams, when, when, &s, &error));
    /* a 256 MiB guest uses some, but less than all, of its memory */
    assert_true (s.values[AMIGO_METRIC_MEMORY] > 0.01 && s.values[AMIGO_METRIC_MEMORY] < 0.25);
    if (i > 0) {
      rated++;
      assert_true (s.values[AMIGO_METRIC_CPU] > 0.8 && s.values[AMIGO_METRIC_CPU] < 1.2);
      assert_true (s.values[AMIGO_METRIC_DISK_READ] > 10.0 && s.values[AMIGO_METRIC_DISK_READ] < 10000.0);
      assert_true (s.values[AMIGO_METRIC_DISK_WRITE] >= 0.0 && s.values[AMIGO_METRIC_DISK_WRITE] < 10000.0);
      assert_true (s.values[AMIGO_METRIC_NET_RX] >= 0.0 && s.values[AMIGO_METRIC_NET_RX] < 1.0);
      assert_true (s.values[AMIGO_METRIC_NET_TX] >= 0.0 && s.values[AMIGO_METRIC_NET_TX] < 1.0);
    }
    /* the recording ran domdirtyrate-calc: a measured rate below the guest size per second */
    assert_true (s.values[AMIGO_METRIC_DIRTY_RATE] >= 0.0 && s.values[AMIGO_METRIC_DIRTY_RATE] < 256.0);
    virTypedParamsFree (params, nparams);
  }
  assert_int_equal (rated, 5);
}

static void
assert_domstats_error (const char *text, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  virTypedParameterPtr params = NULL;
  int nparams = -1;

  assert_false (amigo_domstats_text_parse (text, &name, &params, &nparams, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
  if (strstr (error->message, needle) == NULL)
    fail_msg ("error '%s' does not say '%s'", error->message, needle);
  assert_null (name);
  assert_null (params);
}

static void
test_domstats_garbage (void **state)
{
  assert_domstats_error ("Domain: 'g'\n  cpu.time=5\n  this is not a stat\n",
                         "line 3: expected 'key=value', got 'this is not a stat'");
  assert_domstats_error ("  cpu.time=5\n", "line 1: expected \"Domain: 'name'\" first");
  assert_domstats_error ("", "no \"Domain: 'name'\" line");
  assert_domstats_error ("Domain: g\n", "line 1: expected \"Domain: 'name'\"");
  assert_domstats_error ("Domain: 'a'\n cpu.time=1\n\nDomain: 'b'\n", "line 4: a second domain");
  assert_domstats_error ("Domain: 'g'\n  cpu.time=5\n  cpu.time=6\n", "line 3: key 'cpu.time' given twice");
  assert_domstats_error ("Domain: 'g'\n  =5\n", "line 2: expected 'key=value'");
  assert_domstats_error ("Domain: 'g'\n  cpu time=5\n", "line 2");
}

static void
test_domstats_types (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  virTypedParameterPtr params = NULL;
  int nparams = 0;
  unsigned long long ul = 0;
  long long l = 0;
  double d = 0;
  const char *str = NULL;

  assert_true (amigo_domstats_text_parse (
    "# comment\r\nDomain: 'it''s'\r\n  cpu.time=18446744073709551615\r\n  x.neg=-3\n  x.d=2.5\n"
    "  net.0.name=1234\n  dirtyrate.calc_mode=page-sampling\n  x.empty=\n",
    &name, &params, &nparams, &error));
  assert_string_equal (name, "it''s");
  assert_int_equal (nparams, 6);
  assert_int_equal (virTypedParamsGetULLong (params, nparams, "cpu.time", &ul), 1);
  assert_true (ul == G_MAXUINT64);
  assert_int_equal (virTypedParamsGetLLong (params, nparams, "x.neg", &l), 1);
  assert_int_equal (l, -3);
  assert_int_equal (virTypedParamsGetDouble (params, nparams, "x.d", &d), 1);
  assert_close (d, 2.5, 0);
  assert_int_equal (virTypedParamsGetString (params, nparams, "net.0.name", &str), 1);
  assert_string_equal (str, "1234");
  assert_int_equal (virTypedParamsGetString (params, nparams, "dirtyrate.calc_mode", &str), 1);
  assert_string_equal (str, "page-sampling");
  virTypedParamsFree (params, nparams);
}

/* Mutated domstats text never crashes the parser or the collector, and
 * whatever comes out is missing or a non-negative finite figure. */
static void
test_domstats_fuzz (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261125);
  g_autofree char *base = NULL;
  gint64 when;
  gsize len;
  guint parsed = 0;
  static const char tokens[] = "=.'\n 0123456789-#:abcnet.block.cpu.time\xff\r";

  base = read_fixture (3, &when);
  len = strlen (base);
  for (int iter = 0; iter < 3000; iter++) {
    g_autoptr(GString) s = g_string_new_len (base, len);
    g_autoptr(GError) error = NULL;
    g_autofree char *name = NULL;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int edits = g_rand_int_range (rand, 1, 12);

    for (int e = 0; e < edits && s->len > 0; e++) {
      gsize pos = g_rand_int_range (rand, 0, s->len);
      switch (g_rand_int_range (rand, 0, 5)) {
      case 0:
        s->str[pos] = tokens[g_rand_int_range (rand, 0, sizeof tokens - 1)];
        break;
      case 1: {
        gsize n = (gsize) g_rand_int_range (rand, 1, 40);
        g_string_erase (s, pos, MIN (s->len - pos, n));
        break;
      }
      case 2:
        g_string_insert_c (s, pos, tokens[g_rand_int_range (rand, 0, sizeof tokens - 1)]);
        break;
      case 3:
        g_string_truncate (s, pos);
        break;
      default: {
        /* a digit run becomes huge or negative */
        g_string_insert (s, pos, g_rand_boolean (rand) ? "99999999999999999999" : "-");
        break;
      }
      }
    }
    if (!amigo_domstats_text_parse (s->str, &name, &params, &nparams, &error)) {
      assert_non_null (error);
      assert_non_null (strstr (error->message, "domstats"));
      continue;
    }
    parsed++;
    for (int k = 0; k < 2; k++) {
      AmigoSample out;
      assert_true (amigo_collector_ingest (c, k == 0 ? UUID_A : UUID_B, name, params, nparams,
                                           T0 + iter * SEC, WALL0, &out, NULL));
      for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
        assert_true (isnan (out.values[m]) || (isfinite (out.values[m]) && out.values[m] >= 0.0));
    }
    virTypedParamsFree (params, nparams);
  }
  /* the mutations left a fair share parseable, so ingest was exercised */
  assert_true (parsed > 100);
}

/* --- poll against libvirt's test driver --- */

typedef struct {
  guint calls;
  double cores;       /* CPU the augment pretends the domain burns */
} Augment;

static void
augment_cpu (const char *uuid, const char *name, gint64 now_usec,
             virTypedParameterPtr *params, int *nparams, int *maxparams, gpointer user_data)
{
  Augment *a = user_data;
  a->calls++;
  assert_true (g_uuid_string_is_valid (uuid));
  assert_int_equal (virTypedParamsAddULLong (params, nparams, maxparams, "cpu.time",
                                             (guint64) ((double) (now_usec - T0) * 1000.0 * a->cores)
                                             + 1000000000), 0);
}

static void
test_poll_test_driver (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) samples = NULL;
  Augment a = { 0, 0.75 };
  virConnectPtr conn = virConnectOpen ("test:///default");
  virDomainPtr dom;
  AmigoDomainSample *ds;
  char uuid[VIR_UUID_STRING_BUFLEN];

  assert_non_null (conn);
  dom = virDomainLookupByName (conn, "test");
  assert_non_null (dom);
  assert_int_equal (virDomainGetUUIDString (dom, uuid), 0);

  amigo_collector_set_augment_func (c, augment_cpu, &a);
  amigo_collector_set_gpu_source (c, amigo_gpu_source_xml_new (NULL, 0));

  assert_true (amigo_collector_poll (c, conn, T0, WALL0, &samples, &error));
  assert_null (error);
  assert_int_equal (samples->len, 1);
  ds = &g_array_index (samples, AmigoDomainSample, 0);
  assert_string_equal (ds->uuid, uuid);
  assert_string_equal (ds->name, "test");
  assert_true (isnan (ds->sample.values[AMIGO_METRIC_CPU]));
  /* the test domain has no GPU declared and no host device: none used */
  assert_close (ds->sample.values[AMIGO_METRIC_GPU_MEMORY], 0.0, 0.0);
  g_clear_pointer (&samples, g_array_unref);

  assert_true (amigo_collector_poll (c, conn, T0 + 2 * SEC, WALL0 + 2 * SEC, &samples, &error));
  assert_int_equal (samples->len, 1);
  ds = &g_array_index (samples, AmigoDomainSample, 0);
  assert_close (ds->sample.values[AMIGO_METRIC_CPU], 0.75, 1e-6);
  assert_int_equal (ds->sample.time_usec, WALL0 + 2 * SEC);
  assert_int_equal (a.calls, 2);
  g_clear_pointer (&samples, g_array_unref);

  /* the domain stops: it is pruned */
  assert_int_equal (virDomainDestroy (dom), 0);
  assert_true (amigo_collector_poll (c, conn, T0 + 4 * SEC, WALL0 + 4 * SEC, &samples, &error));
  assert_int_equal (samples->len, 0);
  assert_int_equal (amigo_collector_get_n_domains (c), 0);
  g_clear_pointer (&samples, g_array_unref);

  /* and comes back (new id): primes again, no rate across the gap */
  assert_int_equal (virDomainCreate (dom), 0);
  assert_true (amigo_collector_poll (c, conn, T0 + 6 * SEC, WALL0 + 6 * SEC, &samples, &error));
  assert_int_equal (samples->len, 1);
  assert_true (isnan (g_array_index (samples, AmigoDomainSample, 0).sample.values[AMIGO_METRIC_CPU]));

  virDomainFree (dom);
  virConnectClose (conn);
}

static void
test_poll_no_connection (void **state)
{
  g_autoptr(AmigoCollector) c = amigo_collector_new ();
  g_autoptr(GError) error = NULL;
  GArray *samples = NULL;

  assert_false (amigo_collector_poll (c, NULL, T0, WALL0, &samples, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED));
  assert_null (samples);
}

static void
silence_libvirt (void *data, virErrorPtr err)
{
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_one_core_burn),
    cmocka_unit_test (test_net_disk_rates),
    cmocka_unit_test (test_counter_reset),
    cmocka_unit_test (test_missing_field),
    cmocka_unit_test (test_nic_hotplug),
    cmocka_unit_test (test_disk_backing_and_hotplug),
    cmocka_unit_test (test_rename_keeps_state),
    cmocka_unit_test (test_prune_and_return),
    cmocka_unit_test (test_bad_time_step),
    cmocka_unit_test (test_memory_sources),
    cmocka_unit_test (test_dirty_rate),
    cmocka_unit_test (test_ingest_bad_args),
    cmocka_unit_test (test_memory_age),
    cmocka_unit_test (test_jobs_dirty_rate),
    cmocka_unit_test (test_jobs_stats_period),
    cmocka_unit_test (test_jobs_dropped_with_domain),
    cmocka_unit_test (test_domain_job_run),
    cmocka_unit_test (test_poll_hands_out_jobs),
    cmocka_unit_test (test_fixture_plausible),
    cmocka_unit_test (test_domstats_garbage),
    cmocka_unit_test (test_domstats_types),
    cmocka_unit_test (test_domstats_fuzz),
    cmocka_unit_test (test_poll_test_driver),
    cmocka_unit_test (test_poll_no_connection),
  };
  virSetErrorFunc (NULL, silence_libvirt);
  return cmocka_run_group_tests_name ("collector", tests, NULL, NULL);
}
