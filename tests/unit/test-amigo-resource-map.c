/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "amigo-resource-map.h"

static void
assert_close (double got, double want)
{
  if (!(fabs (got - want) <= 1e-12 * MAX (1.0, fabs (want))))
    fail_msg ("got %.15g, want %.15g", got, want);
}

/* Every resource has an entry whose parts are collected in the unit the
 * entry says, and with scale 1 that is the resource's own unit. */
static void
test_resource_map_units (void **state)
{
  for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceSource *src = amigo_resource_source (r);

    assert_non_null (src);
    assert_int_equal (src->resource, r);
    assert_true (src->n_parts >= 1 && src->n_parts <= AMIGO_RESOURCE_MAX_PARTS);
    for (guint i = 0; i < src->n_parts; i++) {
      assert_true (src->parts[i] < AMIGO_METRIC_LAST);
      assert_string_equal (amigo_metric_unit (src->parts[i]), src->metric_unit);
    }
    if (src->scale == 1.0)
      assert_string_equal (src->metric_unit, amigo_resource_unit (r));
  }
  assert_null (amigo_resource_source (AMIGO_RESOURCE_LAST));
  assert_null (amigo_resource_source ((AmigoResource) -1));
}

/* One sample: single metrics pass through, network and disk are sums. */
static void
test_resource_map_sample (void **state)
{
  AmigoSample s;
  double v[AMIGO_RESOURCE_LAST];

  amigo_sample_init (&s, 1000);
  s.values[AMIGO_METRIC_CPU] = 1.5;
  s.values[AMIGO_METRIC_MEMORY] = 3.25;
  s.values[AMIGO_METRIC_NET_RX] = 10.0;
  s.values[AMIGO_METRIC_NET_TX] = 2.5;
  s.values[AMIGO_METRIC_DISK_READ] = 100.0;
  s.values[AMIGO_METRIC_DISK_WRITE] = 40.0;
  s.values[AMIGO_METRIC_GPU_MEMORY] = 0.0;
  s.values[AMIGO_METRIC_DIRTY_RATE] = 77.0;
  amigo_resource_values_from_sample (&s, v);
  assert_close (v[AMIGO_RESOURCE_CPU], 1.5);
  assert_close (v[AMIGO_RESOURCE_MEMORY], 3.25);
  assert_close (v[AMIGO_RESOURCE_NETWORK], 12.5);
  assert_close (v[AMIGO_RESOURCE_DISK], 140.0);
  /* a known zero stays zero, not missing */
  assert_close (v[AMIGO_RESOURCE_GPU_MEMORY], 0.0);
}

/* A resource is missing when any of its parts is: never a partial sum. */
static void
test_resource_map_missing (void **state)
{
  AmigoSample s;
  double v[AMIGO_RESOURCE_LAST];

  amigo_sample_init (&s, 1000);
  amigo_resource_values_from_sample (&s, v);
  for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++)
    assert_true (isnan (v[r]));

  s.values[AMIGO_METRIC_CPU] = 2.0;
  s.values[AMIGO_METRIC_NET_RX] = 10.0;           /* tx missing */
  s.values[AMIGO_METRIC_DISK_READ] = INFINITY;    /* bad reading */
  s.values[AMIGO_METRIC_DISK_WRITE] = 5.0;
  amigo_resource_values_from_sample (&s, v);
  assert_close (v[AMIGO_RESOURCE_CPU], 2.0);
  assert_true (isnan (v[AMIGO_RESOURCE_NETWORK]));
  assert_true (isnan (v[AMIGO_RESOURCE_DISK]));
  assert_true (isnan (v[AMIGO_RESOURCE_MEMORY]));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_resource_map_units),
    cmocka_unit_test (test_resource_map_sample),
    cmocka_unit_test (test_resource_map_missing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
