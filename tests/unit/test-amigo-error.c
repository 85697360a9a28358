/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gio/gio.h>

#include "amigo-error.h"

/* An amigo error crosses D-Bus with a stable name and comes back as itself. */
static void
test_error_dbus_roundtrip (void **state)
{
  g_autoptr(GError) error = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no domain 'x'");
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_autoptr(GError) back = NULL;

  assert_string_equal (name, "org.amigo.Error.NotFound");
  back = g_dbus_error_new_for_dbus_error (name, "no domain 'x'");
  assert_true (g_error_matches (back, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
}

static void
test_error_convert_foreign (void **state)
{
  g_autoptr(GError) kf = g_error_new_literal (G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "bad line");
  g_autoptr(GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "gone");
  g_autoptr(GError) own = g_error_new_literal (AMIGO_ERROR, AMIGO_ERROR_BUSY, "busy");

  amigo_error_convert (&kf);
  amigo_error_convert (&io);
  amigo_error_convert (&own);
  assert_true (g_error_matches (kf, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  assert_string_equal (kf->message, "bad line");
  assert_true (g_error_matches (io, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_true (g_error_matches (own, AMIGO_ERROR, AMIGO_ERROR_BUSY));
  amigo_error_convert (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_error_dbus_roundtrip),
    cmocka_unit_test (test_error_convert_foreign),
  };
  return cmocka_run_group_tests_name ("error", tests, NULL, NULL);
}
