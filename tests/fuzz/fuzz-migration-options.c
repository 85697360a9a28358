/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what Migrate takes from a client (meson
 * -Dfuzzing=true, CC=clang):
 *   ./fuzz-migration-options -max_total_time=60 CORPUS_DIR
 * The input is read three ways: as a serialized GVariant of type a{sv} (what
 * D-Bus delivers), as GVariant text ("{'mode': <'postcopy'>}") and as a
 * destination URI. Every input must either give options within the ranges
 * Migrate documents (and survive a round trip) or an InvalidArgs error;
 * anything else (crash, leak, sanitizer report) is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-migration-options.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_options (GVariant *v)
{
  g_autoptr (GError) error = NULL;
  g_auto (AmigoMigrationOptions) o = { 0 };
  g_autoptr (GVariant) back = NULL;
  g_auto (AmigoMigrationOptions) again = { 0 };

  if (!amigo_migration_options_parse (v, &o, &error)) {
    g_assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    return;
  }
  g_assert_true (amigo_migration_options_check (&o, NULL));
  back = g_variant_ref_sink (amigo_migration_options_to_variant (&o));
  g_assert_true (amigo_migration_options_parse (back, &again, NULL));
  g_assert_cmpstr (again.migrate_uri, ==, o.migrate_uri);
  g_assert_true (again.bandwidth_mib_s == o.bandwidth_mib_s);
  g_assert_cmpint (again.downtime_limit_ms, ==, o.downtime_limit_ms);
  g_assert_cmpint (again.mode, ==, o.mode);
  g_assert_cmpint (again.deadline_usec, ==, o.deadline_usec);
  g_assert_cmpint (again.timeout_usec, ==, o.timeout_usec);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GVariant) serialized = NULL;
  g_autoptr (GVariant) parsed = NULL;
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) error = NULL;

  /* Not trusted: GVariant checks the serialization when read. */
  serialized = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  check_options (serialized);

  parsed = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, NULL);
  if (parsed != NULL) {
    g_variant_ref_sink (parsed);
    check_options (parsed);
  }

  if (!amigo_migration_check_dest_uri (text, &error))
    g_assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  return 0;
}
