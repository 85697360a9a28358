/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-request-options.h"

static void
test_request_options_empty_and_full (void **state)
{
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_autoptr (GVariant) full = g_variant_ref_sink (g_variant_new_parsed (
    "{'window_usec': <int64 3600000000>, 'settle_usec': <int64 0>, 'link_mbit_s': <10000.0>}"));
  g_autoptr (GVariant) back = NULL;
  AmigoRequestOptions o;

  memset (&o, 0xff, sizeof o);
  assert_true (amigo_request_options_parse (empty, &o, NULL));
  assert_false (o.has_window || o.has_settle || o.has_link);

  assert_true (amigo_request_options_parse (full, &o, NULL));
  assert_true (o.has_window && o.has_settle && o.has_link);
  assert_int_equal (o.window_usec, 3600 * AMIGO_USEC_PER_SEC);
  assert_int_equal (o.settle_usec, 0);
  assert_float_equal (o.link_mbit_s, 10000.0, 0);

  back = g_variant_ref_sink (amigo_request_options_to_variant (&o));
  assert_true (g_variant_equal (back, full) || g_variant_n_children (back) == 3);
}

/* Every refusal names the option and says what is accepted. */
static void
test_request_options_refusals (void **state)
{
  static const struct {
    const char *options;
    const char *expect[2];
  } bad[] = {
    { "{'window_usec': <int64 -1>}", { "'window_usec'", "7 days" } },
    { "{'window_usec': <int64 604800000001>}", { "'window_usec'", "7 days" } },
    { "{'settle_usec': <int64 86400000001>}", { "'settle_usec'", "1 day" } },
    { "{'settle_usec': <int64 -5>}", { "'settle_usec'", "1 day" } },
    { "{'link_mbit_s': <0.5>}", { "'link_mbit_s'", "1 Tbit/s" } },
    { "{'link_mbit_s': <2e6>}", { "'link_mbit_s'", "1 Mbit/s" } },
    { "{'link_mbit_s': <nan>}", { "'link_mbit_s'", "1 Tbit/s" } },
    { "{'link_mbit_s': <inf>}", { "'link_mbit_s'", "1 Tbit/s" } },
    { "{'window_usec': <3600.0>}", { "'window_usec'", "'x'" } },
    { "{'link_mbit_s': <int64 1000>}", { "'link_mbit_s'", "'d'" } },
    { "{'window': <int64 1>}", { "'window'", "window_usec, settle_usec or link_mbit_s" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (bad[i].options));
    g_autoptr (GError) error = NULL;
    AmigoRequestOptions o = { .window_usec = 42 };

    assert_false (amigo_request_options_parse (v, &o, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    for (guint k = 0; k < 2; k++) {
      if (strstr (error->message, bad[i].expect[k]) == NULL)
        fail_msg ("%s: '%s' not in '%s'", bad[i].options, bad[i].expect[k], error->message);
    }
    assert_int_equal (o.window_usec, 42);
  }
}

/* The limits themselves are accepted. */
static void
test_request_options_limits (void **state)
{
  AmigoRequestOptions o = {
    .has_window = TRUE, .window_usec = AMIGO_REQUEST_WINDOW_MAX_USEC,
    .has_settle = TRUE, .settle_usec = AMIGO_REQUEST_SETTLE_MAX_USEC,
    .has_link = TRUE, .link_mbit_s = AMIGO_REQUEST_LINK_MAX_MBIT_S,
  };

  assert_true (amigo_request_options_check (&o, NULL));
  o.window_usec = 0;
  o.link_mbit_s = AMIGO_REQUEST_LINK_MIN_MBIT_S;
  assert_true (amigo_request_options_check (&o, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_request_options_empty_and_full),
    cmocka_unit_test (test_request_options_refusals),
    cmocka_unit_test (test_request_options_limits),
  };
  return cmocka_run_group_tests_name ("request-options", tests, NULL, NULL);
}
