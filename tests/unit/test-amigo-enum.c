/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "amigo-enum.h"
#include "amigo-metric.h"

static const char *const plain_names[] = { "alpha", "beta", "gamma" };

/* A struct table: the name is not the first member, so the stride and
 * the member's offset both matter. */
static const struct {
  int weight;
  const char *name;
  double extra;
} struct_table[] = {
  { 1, "one", 0.5 },
  { 2, "two", 1.5 },
  { 3, "three", 2.5 },
};

typedef enum {
  TEST_COLOUR_RED,
  TEST_COLOUR_GREEN,
  TEST_COLOUR_LAST,
} TestColour;

const char *test_colour_to_string (TestColour value);
gboolean test_colour_from_string (const char *name, TestColour *ret_value);
char *test_colour_join_names (const char *name_prefix);

AMIGO_ENUM_IMPL (test_colour, TestColour, TEST_COLOUR_LAST, "invalid",
                 [TEST_COLOUR_RED] = "red",
                 [TEST_COLOUR_GREEN] = "green")
AMIGO_ENUM_IMPL_FROM_STRING (test_colour, TestColour, AMIGO_ENUM_NAMES (test_colour_names))
AMIGO_ENUM_IMPL_JOIN_NAMES (test_colour, AMIGO_ENUM_NAMES (test_colour_names))

const char *test_struct_name (guint value);
AMIGO_ENUM_IMPL_FIELD (test_struct_name, guint, struct_table, name)

/* A member of a struct table, by value, whatever the member's offset. */
static void
test_enum_field (void **state)
{
  assert_string_equal (test_struct_name (0), "one");
  assert_string_equal (test_struct_name (2), "three");
}

/* The functions the macros define: print, parse (leaving the value alone
 * on a bad name), list, and a value out of range is named as such. */
static void
test_enum_impl (void **state)
{
  TestColour c = TEST_COLOUR_RED;
  g_autofree char *names = test_colour_join_names ("-");

  assert_string_equal (test_colour_to_string (TEST_COLOUR_GREEN), "green");
  assert_string_equal (test_colour_to_string (TEST_COLOUR_LAST), "invalid");
  assert_true (test_colour_from_string ("green", &c));
  assert_int_equal (c, TEST_COLOUR_GREEN);
  assert_false (test_colour_from_string ("blue", &c));
  assert_int_equal (c, TEST_COLOUR_GREEN);
  assert_true (test_colour_from_string ("red", NULL));
  assert_string_equal (names, "-red, -green");
}

static void
test_enum_from_name (void **state)
{
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_NAMES (plain_names), "alpha"), 0);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_NAMES (plain_names), "gamma"), 2);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_TABLE (struct_table, name), "two"), 1);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_TABLE (struct_table, name), "three"), 2);
}

static void
test_enum_unknown_name (void **state)
{
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_NAMES (plain_names), "Alpha"), -1);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_NAMES (plain_names), ""), -1);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_NAMES (plain_names), NULL), -1);
  assert_int_equal (amigo_enum_from_name (AMIGO_ENUM_TABLE (struct_table, name), "four"), -1);
}

static void
test_enum_join_names (void **state)
{
  g_autofree char *plain = amigo_enum_join_names (AMIGO_ENUM_NAMES (plain_names), NULL);
  g_autofree char *prefixed = amigo_enum_join_names (AMIGO_ENUM_TABLE (struct_table, name), "n_");
  g_autofree char *metrics = amigo_metric_join_names (NULL);

  assert_string_equal (plain, "alpha, beta, gamma");
  assert_string_equal (prefixed, "n_one, n_two, n_three");
  assert_string_equal (metrics,
                       "cpu, memory, net_rx, net_tx, disk_read, disk_write, gpu_memory, dirty_rate, host_memory");
}

/* The skipped entry leaves no stray separator, wherever it stands. */
static void
test_enum_join_names_skip (void **state)
{
  g_autofree char *first = amigo_enum_join_names_skip (AMIGO_ENUM_NAMES (plain_names), NULL, 0);
  g_autofree char *middle = amigo_enum_join_names_skip (AMIGO_ENUM_TABLE (struct_table, name), "n_", 1);
  g_autofree char *last = amigo_enum_join_names_skip (AMIGO_ENUM_NAMES (plain_names), NULL, 2);
  g_autofree char *none = amigo_enum_join_names_skip (AMIGO_ENUM_NAMES (plain_names), NULL, -1);

  assert_string_equal (first, "beta, gamma");
  assert_string_equal (middle, "n_one, n_three");
  assert_string_equal (last, "alpha, beta");
  assert_string_equal (none, "alpha, beta, gamma");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_enum_from_name),
    cmocka_unit_test (test_enum_unknown_name),
    cmocka_unit_test (test_enum_join_names),
    cmocka_unit_test (test_enum_join_names_skip),
    cmocka_unit_test (test_enum_impl),
    cmocka_unit_test (test_enum_field),
  };
  return cmocka_run_group_tests_name ("enum", tests, NULL, NULL);
}
