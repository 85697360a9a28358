/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-allocator.h"
#include "amigo-error.h"
#include "amigo-slo-policy.h"

#define CPU AMIGO_RESOURCE_CPU
#define MEM AMIGO_RESOURCE_MEMORY
#define DISK AMIGO_RESOURCE_DISK
#define N_RES AMIGO_RESOURCE_LAST

/* A domain of @klass with the default SLO policy's priority and protected
 * resources; no least allocation, no request (the tests set floors). */
static AmigoAllocatorDomain
domain_of (const char *id, AmigoWorkloadClass klass)
{
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  const double none[N_RES] = { 0, };
  AmigoSloDomainPolicy dp;
  AmigoAllocatorDomain d;

  amigo_slo_policy_lookup (p, id, NULL, klass, &dp);
  amigo_allocator_domain_init (&d, id, &dp, none);
  return d;
}

/* The policy gives priority, protected resources and the least allocation
 * (its min fraction of the request); the request is the floor. */
static void
test_allocator_domain_from_policy (void **state)
{
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  const double request[N_RES] = { 4, 16, 1000, 2000, 0 };
  AmigoSloDomainPolicy dp;
  AmigoAllocatorDomain d;

  (void) state;
  amigo_slo_policy_lookup (p, "db", NULL, AMIGO_WORKLOAD_CLASS_DATABASE, &dp);
  amigo_allocator_domain_init (&d, "db", &dp, request);
  assert_string_equal (d.id, "db");
  assert_int_equal (d.priority, 5);
  assert_true (d.protects[DISK] && d.protects[MEM] && !d.protects[CPU]);
  assert_memory_equal (d.floor, request, sizeof request);
  assert_float_equal (d.least[DISK], 1000, 1e-9);
  assert_float_equal (d.want[CPU], 0, 0);
}

static void
set (AmigoAllocatorDomain *d, AmigoResource r, double want, double floor)
{
  d->want[r] = want;
  d->floor[r] = floor;
}

/* A database (protects disk, memory), a web server (protects CPU) and a
 * batch job, each wanting more CPU than admitted. Floors 4 + 6 + 2 = 12. */
static void
three_domains (AmigoAllocatorDomain d[3])
{
  d[0] = domain_of ("db", AMIGO_WORKLOAD_CLASS_DATABASE);
  d[1] = domain_of ("web", AMIGO_WORKLOAD_CLASS_WEB_SERVER);
  d[2] = domain_of ("batch", AMIGO_WORKLOAD_CLASS_BATCH);
  set (&d[0], CPU, 6, 4);
  set (&d[1], CPU, 8, 6);
  set (&d[2], CPU, 6, 2);
  set (&d[0], DISK, 5000, 4000);
  set (&d[2], DISK, 3000, 1000);
  set (&d[0], MEM, 16, 16);
  set (&d[1], MEM, 4, 4);
  set (&d[2], MEM, 8, 8);
  for (guint i = 0; i < 3; i++)
    d[i].used[MEM] = d[i].want[MEM] / 1.1;
}

static GArray *
decide (const double cap[N_RES], const AmigoAllocatorDomain *d, guint n, double (*alloc)[N_RES])
{
  g_autoptr (GError) error = NULL;
  GArray *records = NULL;

  assert_true (amigo_allocator_decide (cap, d, n, alloc, &records, &error));
  assert_null (error);
  assert_non_null (records);
  return records;
}

static char *
format (GArray *records, guint k, const AmigoAllocatorDomain *d)
{
  assert_true (k < records->len);
  return amigo_allocator_record_format (&g_array_index (records, AmigoAllocatorRecord, k), d);
}

/* Enough room: everyone gets what its loop wants, above its reservation
 * too, and nothing is recorded. */
static void
test_allocator_uncontended (void **state)
{
  const double cap[N_RES] = { 20, 64, 10000, 10000, 0 };
  AmigoAllocatorDomain d[3];
  double alloc[3][N_RES];
  g_autoptr (GArray) records = NULL;

  (void) state;
  three_domains (d);
  records = decide (cap, d, 3, alloc);
  for (guint i = 0; i < 3; i++)
    assert_memory_equal (alloc[i], d[i].want, sizeof alloc[i]);
  assert_int_equal (records->len, 0);
}

/* CPU short by 4 cores: only the batch job is capped, to its floor, so the
 * web server's protected CPU and the database's CPU are served. Short by 6:
 * the database is capped next (CPU is not its SLO), before the web server,
 * whose SLO is CPU, although the database's priority is higher. */
static void
test_allocator_contended_cpu (void **state)
{
  double cap[N_RES] = { 16, 64, 10000, 10000, 0 };
  AmigoAllocatorDomain d[3];
  double alloc[3][N_RES];
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) records2 = NULL;
  g_autofree char *s0 = NULL, *s1 = NULL, *s2 = NULL;

  (void) state;
  three_domains (d);
  records = decide (cap, d, 3, alloc);
  assert_float_equal (alloc[0][CPU], 6, 1e-9);
  assert_float_equal (alloc[1][CPU], 8, 1e-9);
  assert_float_equal (alloc[2][CPU], 2, 1e-9);
  assert_int_equal (records->len, 1);
  s0 = format (records, 0, d);
  assert_string_equal (s0, "cpu of 'batch' capped 6.00 -> 2.00 cores to serve the protected cpu of 'web'; "
                           "no SLO at risk");
  /* the other resources are not touched */
  assert_float_equal (alloc[2][DISK], 3000, 1e-9);

  cap[CPU] = 14;
  records2 = decide (cap, d, 3, alloc);
  assert_float_equal (alloc[0][CPU], 4, 1e-9);
  assert_float_equal (alloc[1][CPU], 8, 1e-9);
  assert_float_equal (alloc[2][CPU], 2, 1e-9);
  assert_int_equal (records2->len, 2);
  s1 = format (records2, 0, d);
  s2 = format (records2, 1, d);
  assert_string_equal (s1, "cpu of 'batch' capped 6.00 -> 2.00 cores to serve the protected cpu of 'web'; "
                           "no SLO at risk");
  assert_string_equal (s2, "cpu of 'db' capped 6.00 -> 4.00 cores to serve the protected cpu of 'web'; "
                           "no SLO at risk");
}

/* Disk short: the database's protected IOPS are served first; the batch job
 * keeps its reservation. */
static void
test_allocator_protected_disk (void **state)
{
  const double cap[N_RES] = { 100, 64, 10000, 5500, 0 };
  AmigoAllocatorDomain d[3];
  double alloc[3][N_RES];
  g_autoptr (GArray) records = NULL;
  const AmigoAllocatorRecord *rec;

  (void) state;
  three_domains (d);
  records = decide (cap, d, 3, alloc);
  assert_float_equal (alloc[0][DISK], 4500, 1e-9);
  assert_float_equal (alloc[2][DISK], 1000, 1e-9);
  /* the database is partly served: its SLO is at risk, nothing protected
   * ranks above it */
  assert_int_equal (records->len, 2);
  rec = &g_array_index (records, AmigoAllocatorRecord, 0);
  assert_int_equal (rec->domain, 2);
  assert_int_equal (rec->protected_domain, 0);
  assert_false (rec->at_risk);
  rec = &g_array_index (records, AmigoAllocatorRecord, 1);
  assert_int_equal (rec->domain, 0);
  assert_int_equal (rec->protected_domain, -1);
  assert_true (rec->at_risk);
  assert_false (rec->below_floor);
}

/* Two web servers of equal rank share what is left in proportion to what
 * each misses above its reservation. */
static void
test_allocator_equal_rank_shares (void **state)
{
  const double cap[N_RES] = { 9, 64, 10000, 10000, 0 };
  AmigoAllocatorDomain d[2] = {
    domain_of ("web-a", AMIGO_WORKLOAD_CLASS_WEB_SERVER),
    domain_of ("web-b", AMIGO_WORKLOAD_CLASS_WEB_SERVER),
  };
  double alloc[2][N_RES];
  g_autoptr (GArray) records = NULL;
  g_autofree char *s = NULL;

  (void) state;
  set (&d[0], CPU, 8, 4);
  set (&d[1], CPU, 4, 2);
  records = decide (cap, d, 2, alloc);
  /* 3 cores over the floors for 6 missing: each gets half of its part */
  assert_float_equal (alloc[0][CPU], 6, 1e-9);
  assert_float_equal (alloc[1][CPU], 3, 1e-9);
  assert_int_equal (records->len, 2);
  s = format (records, 0, d);
  assert_string_equal (s, "cpu of 'web-b' capped 4.00 -> 3.00 cores (no protected demand ranked above it); "
                          "SLO at risk: cpu of 'web-b'");
}

/* Floors never cut while they fit; when even the reservations do not fit
 * (capacity shrank), the lowest rank goes below its floor first, down to
 * its policy's least allocation, and the record says so. */
static void
test_allocator_floors (void **state)
{
  double cap[N_RES] = { 12, 64, 10000, 10000, 0 };
  AmigoAllocatorDomain d[3];
  double alloc[3][N_RES];
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) records2 = NULL;
  g_autofree char *s = NULL;

  (void) state;
  three_domains (d);
  records = decide (cap, d, 3, alloc);
  for (guint i = 0; i < 3; i++)
    assert_float_equal (alloc[i][CPU], d[i].floor[CPU], 1e-9);

  cap[CPU] = 9;
  d[2].least[CPU] = 0.5;
  records2 = decide (cap, d, 3, alloc);
  assert_float_equal (alloc[1][CPU], 6, 1e-9);
  assert_float_equal (alloc[0][CPU], 2.5, 1e-9);
  assert_float_equal (alloc[2][CPU], 0.5, 1e-9);
  s = format (records2, 0, d);
  assert_string_equal (s, "cpu of 'batch' capped 6.00 -> 0.50 cores, below its reservation 2.00 to serve the "
                          "protected cpu of 'web'; no SLO at risk");
  assert_true (g_array_index (records2, AmigoAllocatorRecord, 1).below_floor);
}

/* Memory in use is never taken: the batch job keeps the 7.27 GiB it uses
 * although the database's protected memory goes short, and the host is
 * over-committed when even the memory in use does not fit. */
static void
test_allocator_memory_in_use (void **state)
{
  double cap[N_RES] = { 100, 26, 10000, 10000, 0 };
  AmigoAllocatorDomain d[3];
  double alloc[3][N_RES];
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) records2 = NULL;
  double in_use = 8 / 1.1;

  (void) state;
  three_domains (d);
  records = decide (cap, d, 3, alloc);
  assert_float_equal (alloc[2][MEM], in_use, 1e-9);
  assert_float_equal (alloc[1][MEM], 4 / 1.1, 1e-9);
  assert_float_equal (alloc[0][MEM], 26 - in_use - 4 / 1.1, 1e-9);
  assert_true (g_array_index (records, AmigoAllocatorRecord, records->len - 1).below_floor);
  assert_true (g_array_index (records, AmigoAllocatorRecord, records->len - 1).at_risk);

  cap[MEM] = 10;
  records2 = decide (cap, d, 3, alloc);
  for (guint i = 0; i < 3; i++)
    assert_float_equal (alloc[i][MEM], d[i].used[MEM], 1e-9);
}

/* The same domains in another order get the same allocations and the
 * same records; ties in rank are broken by id, not by position. */
static void
test_allocator_deterministic (void **state)
{
  const double cap[N_RES] = { 13, 24, 10000, 4500, 0 };
  AmigoAllocatorDomain d[4], e[4];
  double alloc[4][N_RES], alloc2[4][N_RES];
  const guint perm[4] = { 3, 1, 0, 2 };
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) records2 = NULL;

  (void) state;
  three_domains (d);
  d[3] = domain_of ("batch-2", AMIGO_WORKLOAD_CLASS_BATCH);
  set (&d[3], CPU, 3, 1);
  for (guint i = 0; i < 4; i++)
    e[i] = d[perm[i]];
  records = decide (cap, d, 4, alloc);
  records2 = decide (cap, e, 4, alloc2);
  for (guint i = 0; i < 4; i++)
    assert_memory_equal (alloc2[i], alloc[perm[i]], sizeof alloc[0]);
  assert_int_equal (records->len, records2->len);
  assert_true (records->len >= 3);
  for (guint k = 0; k < records->len; k++) {
    g_autofree char *a = format (records, k, d);
    g_autofree char *b = format (records2, k, e);

    assert_string_equal (a, b);
  }
}

/* Random hosts: the decision rule's promises hold on every resource. */
static void
test_allocator_invariants (void **state)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (4242);

  (void) state;
  for (guint iter = 0; iter < 2000; iter++) {
    guint n = g_rand_int_range (rand, 1, 9);
    AmigoAllocatorDomain d[8];
    double alloc[8][N_RES];
    double cap[N_RES];
    g_autoptr (GArray) records = NULL;
    g_autofree char *ids = g_malloc0 (8 * 4);

    for (guint r = 0; r < N_RES; r++)
      cap[r] = g_rand_double_range (rand, 0, 40);
    for (guint i = 0; i < n; i++) {
      g_snprintf (ids + 4 * i, 4, "d%u", g_rand_int_range (rand, 0, 9));
      d[i] = (AmigoAllocatorDomain) { .id = ids + 4 * i, .priority = g_rand_int_range (rand, 0, 4) };
      for (guint r = 0; r < N_RES; r++) {
        d[i].protects[r] = g_rand_boolean (rand);
        d[i].want[r] = g_rand_double_range (rand, 0, 10);
        d[i].floor[r] = g_rand_double_range (rand, 0, 8);
        d[i].least[r] = g_rand_double_range (rand, 0, 1);
        d[i].used[r] = g_rand_double_range (rand, 0, d[i].want[r] * 1.2);
      }
    }
    records = decide (cap, d, n, alloc);
    for (guint r = 0; r < N_RES; r++) {
      double sum = 0, sum_hard = 0, sum_floor = 0;
      double hard[8], guar[8];

      for (guint i = 0; i < n; i++) {
        double least = r == MEM ? MAX (d[i].least[r], d[i].used[r]) : d[i].least[r];

        hard[i] = MIN (d[i].want[r], least);
        guar[i] = MAX (hard[i], MIN (d[i].want[r], d[i].floor[r]));
        sum += alloc[i][r];
        sum_hard += hard[i];
        sum_floor += guar[i];
        assert_true (alloc[i][r] <= d[i].want[r] + 1e-9);
        assert_true (alloc[i][r] >= hard[i] - 1e-9);
      }
      assert_true (sum <= MAX (cap[r], sum_hard) + 1e-9);
      for (guint i = 0; i < n; i++) {
        if (sum_floor <= cap[r])
          assert_true (alloc[i][r] >= guar[i] - 1e-9);
        /* a domain that got more than its floor: every domain ranked above
         * it got all it wanted */
        for (guint j = 0; j < n && alloc[i][r] > guar[i] + 1e-9; j++) {
          gboolean above = d[j].protects[r] > d[i].protects[r] ||
                           (d[j].protects[r] == d[i].protects[r] && d[j].priority > d[i].priority);

          if (above)
            assert_true (alloc[j][r] >= d[j].want[r] - 1e-6);
        }
      }
    }
  }
}

/* Garbage in: the error names the domain and the field. */
static void
test_allocator_bad_input (void **state)
{
  const double cap[N_RES] = { 10, 10, 10, 10, 0 };
  double bad_cap[N_RES] = { 10, -1, 10, 10, 0 };
  AmigoAllocatorDomain d[2] = { { .id = "a" }, { .id = "b" } };
  double alloc[2][N_RES];
  g_autoptr (GError) error = NULL;

  (void) state;
  d[1].want[DISK] = NAN;
  assert_false (amigo_allocator_decide (cap, d, 2, alloc, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_string_equal (error->message, "allocator: domain 1 'b': 'want.disk' must be a finite number >= 0, got nan");
  g_clear_error (&error);

  d[1].want[DISK] = 1;
  d[0].used[MEM] = INFINITY;
  assert_false (amigo_allocator_decide (cap, d, 2, alloc, NULL, &error));
  assert_string_equal (error->message, "allocator: domain 0 'a': 'used.memory' must be a finite number >= 0, got inf");
  g_clear_error (&error);

  d[0].used[MEM] = 0;
  assert_false (amigo_allocator_decide (bad_cap, d, 2, alloc, NULL, &error));
  assert_string_equal (error->message, "allocator: 'capacity.memory' must be a finite number >= 0, got -1");
  g_clear_error (&error);

  d[0].id = NULL;
  assert_false (amigo_allocator_decide (cap, d, 2, alloc, NULL, &error));
  assert_string_equal (error->message, "allocator: domain 0 has no id");
  g_clear_error (&error);

  assert_true (amigo_allocator_decide (cap, NULL, 0, NULL, NULL, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_allocator_domain_from_policy),
    cmocka_unit_test (test_allocator_uncontended),
    cmocka_unit_test (test_allocator_contended_cpu),
    cmocka_unit_test (test_allocator_protected_disk),
    cmocka_unit_test (test_allocator_equal_rank_shares),
    cmocka_unit_test (test_allocator_floors),
    cmocka_unit_test (test_allocator_memory_in_use),
    cmocka_unit_test (test_allocator_deterministic),
    cmocka_unit_test (test_allocator_invariants),
    cmocka_unit_test (test_allocator_bad_input),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
