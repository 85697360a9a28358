/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the migration log file (state_dir/migrations.json;
 * meson -Dfuzzing=true, CC=clang):
 *   ./fuzz-migration-log -max_total_time=60 CORPUS_DIR
 * Every input must either parse into at most 200 records that survive a
 * round trip, or give an amigo error naming the migrations log; anything
 * else (crash, leak, sanitizer report) is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-migration-log.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) records = NULL;
  g_autoptr (GArray) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;

  if (!amigo_migration_log_parse ((const char *) data, size, &records, &error)) {
    g_assert_true (error->domain == AMIGO_ERROR);
    g_assert_true (strstr (error->message, "migrations log") != NULL);
    g_assert_null (records);
    return 0;
  }
  g_assert_cmpuint (records->len, <=, AMIGO_MIGRATION_LOG_MAX);
  for (guint i = 0; i < records->len; i++) {
    g_autoptr (GVariant) v = g_variant_ref_sink (
      amigo_migration_record_to_variant (&g_array_index (records, AmigoMigrationRecord, i)));
    g_assert_true (g_variant_is_of_type (v, G_VARIANT_TYPE_VARDICT));
  }
  /* What was read is written back the same way. */
  text = amigo_migration_log_format (records);
  g_assert_true (amigo_migration_log_parse (text, strlen (text), &again, NULL));
  text_again = amigo_migration_log_format (again);
  g_assert_cmpstr (text, ==, text_again);
  return 0;
}
