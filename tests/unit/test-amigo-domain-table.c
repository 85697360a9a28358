/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-domain-table.h"

#define UUID_A "6a000000-0000-4000-8000-000000000001"
#define UUID_B "6a000000-0000-4000-8000-000000000002"

static void
on_removed (const AmigoTrackedDomain *d, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup (d->name));
}

/* A poll adds new domains, follows a rename, keeps the latest sample, and
 * drops what it did not report (a domain that migrated away). */
static void
test_domain_table_poll (void **state)
{
  g_autoptr (AmigoDomainTable) t = amigo_domain_table_new ();
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  AmigoSample s1 = { .time_usec = 1 }, s2 = { .time_usec = 2 };
  AmigoTrackedDomain *d;
  gboolean added = FALSE;

  amigo_domain_table_begin_poll (t);
  d = amigo_domain_table_update (t, UUID_A, "web", &s1, &added);
  assert_true (added);
  assert_string_equal (d->uuid, UUID_A);
  amigo_domain_table_update (t, UUID_B, "db", &s1, NULL);
  amigo_domain_table_end_poll (t, on_removed, removed);
  assert_int_equal (amigo_domain_table_size (t), 2);
  assert_int_equal (amigo_domain_table_get_list (t)->len, 2);
  assert_int_equal (removed->len, 0);

  amigo_domain_table_begin_poll (t);
  d = amigo_domain_table_update (t, UUID_A, "web-renamed", &s2, &added);
  assert_false (added);
  amigo_domain_table_end_poll (t, on_removed, removed);
  assert_int_equal (removed->len, 1);
  assert_string_equal (g_ptr_array_index (removed, 0), "db");
  assert_null (amigo_domain_table_lookup (t, UUID_B));
  d = amigo_domain_table_lookup (t, UUID_A);
  assert_non_null (d);
  assert_string_equal (d->name, "web-renamed");
  assert_int_equal (d->last.time_usec, 2);
  assert_int_equal (amigo_domain_table_get_list (t)->len, 1);
  assert_ptr_equal (g_ptr_array_index (amigo_domain_table_get_list (t), 0), d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_domain_table_poll),
  };
  return cmocka_run_group_tests_name ("domain-table", tests, NULL, NULL);
}
