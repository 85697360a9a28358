/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <glib.h>

#include "amigo-stats.h"

static void
assert_close (double got, double want)
{
  if (!(fabs (got - want) <= 1e-9 * MAX (1.0, fabs (want))))
    fail_msg ("got %.12g, want %.12g", got, want);
}

static void
test_stats_pinball (void **state)
{
  assert_close (amigo_pinball_loss (0.95, 10.0, 8.0), 0.95 * 2.0);
  assert_close (amigo_pinball_loss (0.95, 8.0, 10.0), 0.05 * 2.0);
  /* a bound met exactly costs nothing */
  assert_close (amigo_pinball_loss (0.95, 8.0, 8.0), 0.0);
}

/* Every rank of a tied, unsorted sample against its sorted copy; the
 * partition around the answer holds as documented. */
static void
test_stats_kth_smallest (void **state)
{
  const double sample[] = { 3, 0, 0, 7, 3, -1, 0, 3, 9, 0, 2, 3, 3, -5, 0 };
  const double sorted[] = { -5, -1, 0, 0, 0, 0, 0, 2, 3, 3, 3, 3, 3, 7, 9 };
  gsize n = G_N_ELEMENTS (sample);

  for (gsize k = 0; k < n; k++) {
    double v[G_N_ELEMENTS (sample)];

    memcpy (v, sample, sizeof v);
    assert_close (amigo_kth_smallest (v, n, k), sorted[k]);
    for (gsize i = 0; i < n; i++)
      assert_true (i < k ? v[i] <= v[k] : v[i] >= v[k]);
  }
  {
    double one = 4.0;
    assert_close (amigo_kth_smallest (&one, 1, 0), 4.0);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stats_pinball),
    cmocka_unit_test (test_stats_kth_smallest),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
