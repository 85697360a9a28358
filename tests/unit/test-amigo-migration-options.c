/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-error.h"
#include "amigo-migration-options.h"
#include "amigo-test-mutate.h"

/* Fails the test unless @error is INVALID_ARGS and its message holds each
 * of the NULL-terminated strings after @error. */
static void
assert_message (const char *input, const GError *error, ...)
{
  va_list ap;
  const char *want;

  if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS))
    fail_msg ("%s: expected an InvalidArgs error, got '%s'", input, error != NULL ? error->message : "success");
  va_start (ap, error);
  while ((want = va_arg (ap, const char *)) != NULL) {
    if (strstr (error->message, want) == NULL) {
      va_end (ap);
      fail_msg ("%s: '%s' not in '%s'", input, want, error->message);
    }
  }
  va_end (ap);
}

static void
test_options_none_and_all (void **state)
{
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_autoptr (GVariant) full = g_variant_ref_sink (g_variant_new_parsed (
    "{'migrate_uri': <'tcp://10.0.0.2'>, 'bandwidth_mib_s': <512.5>, 'downtime_limit_ms': <uint32 500>, "
    "'mode': <'postcopy'>, 'deadline_usec': <int64 3600000000>, 'timeout_usec': <int64 600000000>}"));
  g_autoptr (GVariant) back = NULL;
  g_auto (AmigoMigrationOptions) o = { 0 };
  g_auto (AmigoMigrationOptions) again = { 0 };

  assert_true (amigo_migration_options_parse (empty, &o, NULL));
  assert_null (o.migrate_uri);
  assert_true (o.bandwidth_mib_s == 0 && o.downtime_limit_ms == 0 && o.deadline_usec == 0 && o.timeout_usec == 0);
  assert_int_equal (o.mode, AMIGO_MIGRATION_MODE_AUTO);

  assert_true (amigo_migration_options_parse (full, &o, NULL));
  assert_string_equal (o.migrate_uri, "tcp://10.0.0.2");
  assert_float_equal (o.bandwidth_mib_s, 512.5, 0);
  assert_int_equal (o.downtime_limit_ms, 500);
  assert_int_equal (o.mode, AMIGO_MIGRATION_MODE_POSTCOPY);
  assert_int_equal (o.deadline_usec, 3600 * AMIGO_USEC_PER_SEC);
  assert_int_equal (o.timeout_usec, 600 * AMIGO_USEC_PER_SEC);

  /* What amigoctl sends is what amigod reads. */
  back = g_variant_ref_sink (amigo_migration_options_to_variant (&o));
  assert_true (amigo_migration_options_parse (back, &again, NULL));
  assert_string_equal (again.migrate_uri, o.migrate_uri);
  assert_true (again.bandwidth_mib_s == o.bandwidth_mib_s && again.downtime_limit_ms == o.downtime_limit_ms &&
               again.mode == o.mode && again.deadline_usec == o.deadline_usec &&
               again.timeout_usec == o.timeout_usec);
  assert_true (amigo_migration_options_check (&o, NULL));
}

/* Integers come in whatever integer type a client's binding picks. */
static void
test_options_any_integer_type (void **state)
{
  static const char *const good[] = {
    "{'downtime_limit_ms': <byte 200>, 'bandwidth_mib_s': <byte 100>}",
    "{'downtime_limit_ms': <int16 200>, 'bandwidth_mib_s': <int16 100>}",
    "{'downtime_limit_ms': <uint16 200>, 'bandwidth_mib_s': <uint16 100>}",
    "{'downtime_limit_ms': <200>, 'bandwidth_mib_s': <100>}",
    "{'downtime_limit_ms': <uint32 200>, 'bandwidth_mib_s': <uint32 100>}",
    "{'downtime_limit_ms': <int64 200>, 'bandwidth_mib_s': <int64 100>}",
    "{'downtime_limit_ms': <uint64 200>, 'bandwidth_mib_s': <uint64 100>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (good[i]));
    g_autoptr (GError) error = NULL;
    g_auto (AmigoMigrationOptions) o = { 0 };

    if (!amigo_migration_options_parse (v, &o, &error))
      fail_msg ("%s: %s", good[i], error->message);
    assert_int_equal (o.downtime_limit_ms, 200);
    assert_float_equal (o.bandwidth_mib_s, 100.0, 0);
  }
}

/* Every refusal names the option, the value and what is accepted, and
 * leaves the caller's struct alone. */
static void
test_options_refusals (void **state)
{
  static const struct {
    const char *options;
    const char *expect[3];
  } bad[] = {
    { "{'bandwidth': <100.0>}",
      { "unknown option 'bandwidth'", "migrate_uri, bandwidth_mib_s, downtime_limit_ms, mode", "timeout_usec" } },
    { "{'bandwidth_mib_s': <0.0>}", { "'bandwidth_mib_s' is 0", "100000 MiB/s", NULL } },
    { "{'bandwidth_mib_s': <-3.0>}", { "'bandwidth_mib_s' is -3", "more than 0", NULL } },
    { "{'bandwidth_mib_s': <100000.5>}", { "'bandwidth_mib_s' is 100000.5", "at most 100000", NULL } },
    { "{'bandwidth_mib_s': <nan>}", { "'bandwidth_mib_s' is nan", "100000", NULL } },
    { "{'bandwidth_mib_s': <inf>}", { "'bandwidth_mib_s' is inf", "100000", NULL } },
    { "{'bandwidth_mib_s': <'fast'>}", { "'bandwidth_mib_s' has type 's'", "a number ('d'", NULL } },
    { "{'downtime_limit_ms': <uint32 0>}", { "'downtime_limit_ms' is 0", "1 to 60000 ms", NULL } },
    { "{'downtime_limit_ms': <60001>}", { "'downtime_limit_ms' is 60001", "1 to 60000 ms", NULL } },
    { "{'downtime_limit_ms': <int64 4294967496>}", { "'downtime_limit_ms' is 4294967496", "1 to 60000", NULL } },
    { "{'downtime_limit_ms': <uint64 18446744073709551615>}",
      { "'downtime_limit_ms' is 18446744073709551615", "1 to 60000", NULL } },
    { "{'downtime_limit_ms': <300.0>}", { "'downtime_limit_ms' has type 'd'", "an integer", NULL } },
    { "{'downtime_limit_ms': <true>}", { "'downtime_limit_ms' has type 'b'", "an integer", NULL } },
    { "{'mode': <'fast'>}", { "'mode' is 'fast'", "auto, precopy, auto-converge, postcopy", NULL } },
    { "{'mode': <'PRECOPY'>}", { "'mode' is 'PRECOPY'", "precopy", NULL } },
    { "{'mode': <2>}", { "'mode' has type 'i'", "a string", NULL } },
    { "{'deadline_usec': <int64 -1>}", { "'deadline_usec' is -1", "0 (start now) to 24 h", NULL } },
    { "{'deadline_usec': <int64 86400000001>}", { "'deadline_usec' is 86400000001", "24 h", NULL } },
    { "{'timeout_usec': <int64 0>}", { "'timeout_usec' is 0", "1 s", NULL } },
    { "{'timeout_usec': <int64 999999>}", { "'timeout_usec' is 999999", "1 s (1000000 us) to 24 h", NULL } },
    { "{'timeout_usec': <int64 86400000001>}", { "'timeout_usec' is 86400000001", "24 h", NULL } },
    { "{'timeout_usec': <'10m'>}", { "'timeout_usec' has type 's'", "an integer", NULL } },
    { "{'migrate_uri': <''>}", { "'migrate_uri' is empty", "tcp, rdma or unix", NULL } },
    { "{'migrate_uri': <'10.0.0.2'>}", { "'migrate_uri' '10.0.0.2' is not a URI", "tcp://10.0.0.2", NULL } },
    { "{'migrate_uri': <'http://10.0.0.2'>}", { "'migrate_uri' 'http://10.0.0.2' has scheme 'http'", "tcp", NULL } },
    { "{'migrate_uri': <'tcp://10.0.0.2:99999999999'>}", { "'migrate_uri'", "is not a URI", NULL } },
    { "{'migrate_uri': <int64 5>}", { "'migrate_uri' has type 'x'", "a string", NULL } },
    { "{'migrate_uri': <['tcp://a']>}", { "'migrate_uri' has type 'as'", "a string", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (bad[i].options));
    g_autoptr (GError) error = NULL;
    AmigoMigrationOptions o = { .downtime_limit_ms = 42 };

    assert_false (amigo_migration_options_parse (v, &o, &error));
    assert_message (bad[i].options, error, bad[i].expect[0], bad[i].expect[1], bad[i].expect[2], NULL);
    assert_int_equal (o.downtime_limit_ms, 42);
    assert_null (o.migrate_uri);
  }
}

/* A dictionary that is not a{sv} is refused, not a crash. */
static void
test_options_not_a_dict (void **state)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed ("{'mode': 'precopy'}"));
  g_autoptr (GError) error = NULL;
  g_auto (AmigoMigrationOptions) o = { 0 };

  assert_false (amigo_migration_options_parse (v, &o, &error));
  assert_message ("a{ss}", error, "type 'a{ss}'", "expected 'a{sv}'", NULL);
}

/* The edges of each range are accepted, and check() says what parse() says. */
static void
test_options_limits (void **state)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (
    "{'bandwidth_mib_s': <100000.0>, 'downtime_limit_ms': <uint32 60000>, 'deadline_usec': <int64 86400000000>, "
    "'timeout_usec': <int64 1000000>, 'migrate_uri': <'unix:///run/migrate.sock'>}"));
  g_autoptr (GError) error = NULL;
  g_auto (AmigoMigrationOptions) o = { 0 };

  if (!amigo_migration_options_parse (v, &o, &error))
    fail_msg ("%s", error->message);
  assert_true (amigo_migration_options_check (&o, NULL));
  o.downtime_limit_ms = 1;
  o.timeout_usec = AMIGO_MIGRATION_TIMEOUT_MAX_USEC;
  assert_true (amigo_migration_options_check (&o, NULL));

  o.timeout_usec = 500;
  assert_false (amigo_migration_options_check (&o, &error));
  assert_message ("check timeout", error, "'timeout_usec' is 500", "1 s", NULL);
  g_clear_error (&error);
  o.timeout_usec = 0;
  o.mode = AMIGO_MIGRATION_MODE_LAST;
  assert_false (amigo_migration_options_check (&o, &error));
  assert_message ("check mode", error, "'mode'", "auto, precopy", NULL);
}

static void
test_dest_uri_good (void **state)
{
  static const char *const good[] = {
    "qemu+tcp://dest.example/system",
    "qemu+ssh://root@dest.example:2222/system?keyfile=/root/.ssh/id",
    "qemu+tls://10.0.0.2/system",
    "qemu://dest.example/system",
    "qemu+libssh://dest/session",
    "qemu+libssh2://[fd00::2]/system",
    "qemu+unix:///system?socket=/run/dest.sock",
    "QEMU+TCP://dest/system",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GError) error = NULL;
    if (!amigo_migration_check_dest_uri (good[i], &error))
      fail_msg ("%s: %s", good[i], error->message);
  }
}

static void
test_dest_uri_bad (void **state)
{
  static const struct {
    const char *uri;
    const char *expect[2];
  } bad[] = {
    { "", { "destination URI is empty", "qemu+tcp://dest.example/system" } },
    { "dest.example", { "'dest.example' is not a URI", "qemu+tcp://dest.example/system" } },
    { "qemu+tcp://dest example/system", { "'qemu+tcp://dest example/system' has a space", "at byte 15" } },
    { "qemu+tcp://dest/system\n", { "control character at byte 22", "qemu+tcp" } },
    { "xen+ssh://dest/system", { "has scheme 'xen+ssh'", "qemu, qemu+tcp, qemu+ssh, qemu+tls, qemu+unix" } },
    { "http://dest/system", { "has scheme 'http'", "qemu+libssh2" } },
    { "qemu+tcp:///system", { "'qemu+tcp:///system' has no host", "qemu+unix" } },
    { "qemu:///system", { "'qemu:///system' has no host", "destination host" } },
    { "qemu+unix://dest/system", { "names host 'dest' with qemu+unix", "local socket" } },
    { "qemu+tcp://dest/", { "has path '/'", "/system or /session" } },
    { "qemu+tcp://dest", { "has path ''", "/system or /session" } },
    { "qemu+tcp://dest/system/extra", { "has path '/system/extra'", "/system" } },
    { "qemu+tcp://dest:port/system", { "is not a URI", "qemu+tcp" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    assert_false (amigo_migration_check_dest_uri (bad[i].uri, &error));
    assert_message (bad[i].uri, error, bad[i].expect[0], bad[i].expect[1], NULL);
  }
}

/* Bytes that are not text and absurd lengths are refused with a message. */
static void
test_dest_uri_garbage (void **state)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *huge = g_strnfill (AMIGO_MIGRATION_URI_MAX_LEN + 1, 'a');

  assert_false (amigo_migration_check_dest_uri ("qemu+tcp://d\xff\xfe/system", &error));
  assert_message ("binary", error, "not valid UTF-8", NULL);
  g_clear_error (&error);
  assert_false (amigo_migration_check_dest_uri (NULL, &error));
  assert_message ("NULL", error, "empty", NULL);
  g_clear_error (&error);
  assert_false (amigo_migration_check_dest_uri (huge, &error));
  assert_message ("huge", error, "1025 bytes long", "at most 1024", NULL);
}

/* Random edits of valid options (in GVariant text) and of a valid URI:
 * each is accepted within the documented ranges or refused with
 * InvalidArgs naming what was wrong; never a crash. */
static void
test_options_fuzz (void **state)
{
  static const char valid_options[] =
    "{'migrate_uri': <'tcp://10.0.0.2:49152'>, 'bandwidth_mib_s': <512.5>, 'downtime_limit_ms': <uint32 500>, "
    "'mode': <'postcopy'>, 'deadline_usec': <int64 3600000000>, 'timeout_usec': <int64 600000000>}";
  static const char valid_uri[] = "qemu+ssh://root@dest.example:22/system?keyfile=/root/.ssh/id";
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261204);
  guint accepted = 0, refused = 0, uri_ok = 0, uri_refused = 0;

  for (guint iter = 0; iter < 5000; iter++) {
    g_autoptr (GString) text = g_string_new (valid_options);
    g_autoptr (GString) uri = g_string_new (valid_uri);
    g_autoptr (GVariant) v = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (GError) uri_error = NULL;
    g_auto (AmigoMigrationOptions) o = { 0 };

    amigo_test_mutate (rand, text, "{}<>:,'-0123456789.eint64uint32");
    amigo_test_mutate (rand, uri, ":/@?=+[]%. qemutcpsh");
    /* GLib's text parser itself complains of bytes that are not UTF-8 (and
     * D-Bus never delivers such strings). */
    if (g_utf8_validate (text->str, text->len, NULL))
      v = g_variant_parse (G_VARIANT_TYPE_VARDICT, text->str, NULL, NULL, NULL);
    if (v != NULL) {
      g_variant_ref_sink (v);
      if (amigo_migration_options_parse (v, &o, &error)) {
        accepted++;
        assert_true (amigo_migration_options_check (&o, NULL));
      } else {
        refused++;
        assert_message (text->str, error, "option", NULL);
      }
    }
    if (amigo_migration_check_dest_uri (uri->str, &uri_error)) {
      uri_ok++;
    } else {
      uri_refused++;
      assert_message (uri->str, uri_error, "destination URI", NULL);
    }
  }
  print_message ("options: accepted %u, refused %u; URIs: accepted %u, refused %u\n", accepted, refused, uri_ok,
                 uri_refused);
  assert_true (accepted > 100 && refused > 100);
  assert_true (uri_ok > 100 && uri_refused > 100);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_options_none_and_all),
    cmocka_unit_test (test_options_any_integer_type),
    cmocka_unit_test (test_options_refusals),
    cmocka_unit_test (test_options_not_a_dict),
    cmocka_unit_test (test_options_limits),
    cmocka_unit_test (test_dest_uri_good),
    cmocka_unit_test (test_dest_uri_bad),
    cmocka_unit_test (test_dest_uri_garbage),
    cmocka_unit_test (test_options_fuzz),
  };
  /* A GLib critical in the parser is a bug, not a refusal. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return cmocka_run_group_tests_name ("migration-options", tests, NULL, NULL);
}
