/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "amigo-ratelimit.h"
#include "amigo-time.h"

#define TEN_MIN (10 * AMIGO_USEC_PER_MIN)

/* One message per kind per interval, whatever their text; the next one
 * that goes out learns how many were held back. */
static void
test_one_per_interval (void **state)
{
  g_autoptr(AmigoRatelimit) rl = amigo_ratelimit_new (TEN_MIN, 16);
  guint suppressed = 99;
  gint64 t = 1000;

  assert_true (amigo_ratelimit_check (rl, "future-sample", t, &suppressed));
  assert_int_equal (suppressed, 0);
  /* A poll every 10 s for just under ten minutes: all held back. */
  for (guint i = 1; i < 60; i++)
    assert_false (amigo_ratelimit_check (rl, "future-sample", t + i * 10 * AMIGO_USEC_PER_SEC, NULL));
  /* Another kind is not held back by the first. */
  assert_true (amigo_ratelimit_check (rl, "write-failed", t + 5 * AMIGO_USEC_PER_SEC, &suppressed));
  assert_int_equal (suppressed, 0);
  assert_true (amigo_ratelimit_check (rl, "future-sample", t + TEN_MIN, &suppressed));
  assert_int_equal (suppressed, 59);
  assert_false (amigo_ratelimit_check (rl, "future-sample", t + TEN_MIN + 1, NULL));
  assert_true (amigo_ratelimit_check (rl, "future-sample", t + 2 * TEN_MIN, &suppressed));
  assert_int_equal (suppressed, 1);
}

/* Keys a caller can make up are bounded; forgetting one only lets its
 * next message through early. */
static void
test_bounded_keys (void **state)
{
  g_autoptr(AmigoRatelimit) rl = amigo_ratelimit_new (TEN_MIN, 4);

  for (guint i = 0; i < 1000; i++) {
    g_autofree char *key = g_strdup_printf ("kind-%u", i);
    assert_true (amigo_ratelimit_check (rl, key, 1000 + i, NULL));
  }
  assert_true (amigo_ratelimit_check (rl, "kind-999", 2000, NULL) == FALSE);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_one_per_interval),
    cmocka_unit_test (test_bounded_keys),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
