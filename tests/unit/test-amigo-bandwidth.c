/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-bandwidth.h"
#include "amigo-error.h"

static void
test_bandwidth_suffixes (void **state)
{
  static const struct {
    const char *text;
    double mbit_s;
  } good[] = {
    { "10G", 10000.0 },
    { "1000M", 1000.0 },
    { "2.5G", 2500.0 },
    { "2.5Gbit/s", 2500.0 },
    { "100kbps", 0.1 },
    { "100K", 0.1 },
    { "1T", 1e6 },
    { " 40G ", 40000.0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    double v = 0;
    assert_true (amigo_bandwidth_parse (good[i].text, &v, NULL));
    assert_float_equal (v, good[i].mbit_s, 1e-9);
  }
}

/* A refusal quotes the text and shows the syntax, so the typo is visible. */
static void
test_bandwidth_refusals (void **state)
{
  static const char *bad[] = { "", "10", "G", "ten", "-1G", "0M", "0.0G", "1e3M", "inf", "nanG", "10 G",
                               "10g", "10Gb", "10GiB", "10Gbit/sx", "0x10M", "1.2.3G", "+5M" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *quoted = g_strdup_printf ("'%s'", bad[i]);
    double v = 42;

    assert_false (amigo_bandwidth_parse (bad[i], &v, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    assert_non_null (strstr (error->message, quoted));
    assert_non_null (strstr (error->message, "'10G'"));
    assert_float_equal (v, 42, 0);
  }
  {
    g_autoptr (GError) error = NULL;
    double v;
    assert_false (amigo_bandwidth_parse (NULL, &v, &error));
    assert_non_null (strstr (error->message, "''"));
  }
}

static void
test_bandwidth_format (void **state)
{
  static const struct {
    double mbit_s;
    const char *text;
  } cases[] = {
    { 10000.0, "10 Gbit/s" },
    { 1000.0, "1 Gbit/s" },
    { 2500.0, "2.5 Gbit/s" },
    { 100.0, "100 Mbit/s" },
    { 0.1, "100 kbit/s" },
    { 1e6, "1 Tbit/s" },
    { 0.0, "-" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *s = amigo_bandwidth_format (cases[i].mbit_s);
    assert_string_equal (s, cases[i].text);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bandwidth_suffixes),
    cmocka_unit_test (test_bandwidth_refusals),
    cmocka_unit_test (test_bandwidth_format),
  };
  return cmocka_run_group_tests_name ("bandwidth", tests, NULL, NULL);
}
