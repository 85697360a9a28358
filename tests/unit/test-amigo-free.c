/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "amigo-free.h"

typedef struct {
  char *name;
  float *buffer;
  char *unset;
  char *kept;
} Owner;

/* Every field named is freed and left NULL (a second clear is harmless);
 * a field not named is not touched. */
static void
test_free_fields (void **state)
{
  Owner o = { g_strdup ("name"), g_new0 (float, 4), NULL, g_strdup ("kept") };

  amigo_free_fields (&o.name, &o.buffer, &o.unset, NULL);
  assert_null (o.name);
  assert_null (o.buffer);
  assert_null (o.unset);
  assert_string_equal (o.kept, "kept");
  amigo_free_fields (&o.name, &o.buffer, &o.kept, NULL);
  assert_null (o.kept);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_free_fields),
  };
  return cmocka_run_group_tests_name ("free", tests, NULL, NULL);
}
