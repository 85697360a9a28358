/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-time.h"

static void
test_duration_units (void **state)
{
  static const struct {
    const char *text;
    gint64 usec;
  } good[] = {
    { "250ms", 250 * AMIGO_USEC_PER_MSEC },
    { "10s", 10 * AMIGO_USEC_PER_SEC },
    { "5m", 5 * AMIGO_USEC_PER_MIN },
    { "5min", 5 * AMIGO_USEC_PER_MIN },
    { "6h", 6 * AMIGO_USEC_PER_HOUR },
    { "14d", 14 * AMIGO_USEC_PER_DAY },
    { "1w", 7 * AMIGO_USEC_PER_DAY },
    { " 3h ", 3 * AMIGO_USEC_PER_HOUR },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    gint64 usec = 0;
    assert_true (amigo_duration_parse (good[i].text, &usec, NULL));
    assert_int_equal (usec, good[i].usec);
  }
}

/* Every refusal quotes what was given, so the user sees the typo. */
static void
test_duration_refusals (void **state)
{
  static const char *bad[] = { "", "10", "ten", "0s", "-5s", "5 s", "5x", "1.5h", "s", "99999999999999d" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    gint64 usec = 42;
    g_autofree char *quoted = g_strdup_printf ("'%s'", bad[i]);

    assert_false (amigo_duration_parse (bad[i], &usec, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    assert_non_null (strstr (error->message, quoted));
    assert_int_equal (usec, 42);
  }
  assert_false (amigo_duration_parse (NULL, NULL, NULL));
}

static void
test_duration_format_roundtrip (void **state)
{
  static const gint64 values[] = { 1500 * AMIGO_USEC_PER_MSEC, 10 * AMIGO_USEC_PER_SEC,
                                   90 * AMIGO_USEC_PER_MIN, 14 * AMIGO_USEC_PER_DAY };
  g_autofree char *ten = amigo_duration_format (10 * AMIGO_USEC_PER_SEC);

  assert_string_equal (ten, "10s");
  for (guint i = 0; i < G_N_ELEMENTS (values); i++) {
    g_autofree char *text = amigo_duration_format (values[i]);
    gint64 back = 0;
    assert_true (amigo_duration_parse (text, &back, NULL));
    assert_int_equal (back, values[i]);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration_units),
    cmocka_unit_test (test_duration_refusals),
    cmocka_unit_test (test_duration_format_roundtrip),
  };
  return cmocka_run_group_tests_name ("duration", tests, NULL, NULL);
}
