/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "amigo-metric.h"

static void
test_metric_names_roundtrip (void **state)
{
  for (AmigoMetric m = 0; m < AMIGO_METRIC_LAST; m++) {
    AmigoMetric back = AMIGO_METRIC_LAST;
    assert_true (amigo_metric_from_string (amigo_metric_to_string (m), &back));
    assert_int_equal (back, m);
    assert_non_null (amigo_metric_unit (m));
  }
}

static void
test_metric_unknown_name (void **state)
{
  AmigoMetric m = AMIGO_METRIC_CPU;
  assert_false (amigo_metric_from_string ("cpu ", &m));
  assert_false (amigo_metric_from_string ("", &m));
  assert_false (amigo_metric_from_string (NULL, &m));
  assert_int_equal (m, AMIGO_METRIC_CPU);
}

/* A fresh sample knows nothing: every metric is missing, none is zero. */
static void
test_sample_init_missing (void **state)
{
  AmigoSample s;
  amigo_sample_init (&s, 42);
  assert_int_equal (s.time_usec, 42);
  for (guint i = 0; i < AMIGO_METRIC_LAST; i++)
    assert_true (isnan (s.values[i]));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_metric_names_roundtrip),
    cmocka_unit_test (test_metric_unknown_name),
    cmocka_unit_test (test_sample_init_missing),
  };
  return cmocka_run_group_tests_name ("metric", tests, NULL, NULL);
}
