/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "amigo-clock.h"
#include "amigo-time.h"

/* A real clock reads the system's clocks. */
static void
test_clock_real (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_real ();
  gint64 mono0 = g_get_monotonic_time ();
  gint64 wall0 = g_get_real_time ();
  gint64 mono = amigo_clock_get_monotonic_usec (clock);
  gint64 wall = amigo_clock_get_wall_usec (clock);

  assert_false (amigo_clock_is_simulated (clock));
  assert_true (mono >= mono0 && mono - mono0 < 5 * AMIGO_USEC_PER_SEC);
  assert_true (wall >= wall0 && wall - wall0 < 5 * AMIGO_USEC_PER_SEC);
  g_usleep (2000);
  assert_true (amigo_clock_get_monotonic_usec (clock) > mono);
  assert_true (amigo_clock_reached (clock, mono));
  assert_false (amigo_clock_reached (clock, mono + AMIGO_USEC_PER_HOUR));
}

/* A simulated clock stands still while real time passes, and moves both
 * readings together when advanced: a deadline an interval ahead is reached
 * after exactly one interval. */
static void
test_clock_simulated (void **state)
{
  const gint64 wall0 = 1700000000 * AMIGO_USEC_PER_SEC;
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (42, wall0);
  gint64 deadline = 42 + 10 * AMIGO_USEC_PER_SEC;

  assert_true (amigo_clock_is_simulated (clock));
  g_usleep (2000);
  assert_int_equal (amigo_clock_get_monotonic_usec (clock), 42);
  assert_int_equal (amigo_clock_get_wall_usec (clock), wall0);
  assert_false (amigo_clock_reached (clock, deadline));

  amigo_clock_advance (clock, 10 * AMIGO_USEC_PER_SEC - 1);
  assert_false (amigo_clock_reached (clock, deadline));
  amigo_clock_advance (clock, 1);
  assert_true (amigo_clock_reached (clock, deadline));
  assert_int_equal (amigo_clock_get_monotonic_usec (clock), deadline);
  assert_int_equal (amigo_clock_get_wall_usec (clock), wall0 + 10 * AMIGO_USEC_PER_SEC);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clock_real),
    cmocka_unit_test (test_clock_simulated),
  };
  return cmocka_run_group_tests_name ("clock", tests, NULL, NULL);
}
