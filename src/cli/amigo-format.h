/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* All of amigoctl's human formatting lives here; --json bypasses it. */

typedef struct _AmigoTable AmigoTable;

/* Columns are separated by two spaces and aligned; numeric columns
 * (@right_aligned) line up on the right. */
AmigoTable *amigo_table_new (const char * const *headers, const gboolean *right_aligned, guint n_columns);
void amigo_table_free (AmigoTable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoTable, amigo_table_free)

/* Adds a row of n_columns strings (copied). */
void amigo_table_add_row (AmigoTable *self, const char * const *cells);
guint amigo_table_get_n_rows (AmigoTable *self);
char *amigo_table_render (AmigoTable *self);

/* "2d 3h", "5m 10s", "12s", "250ms" */
char *amigo_format_duration (gint64 usec);
/* "620 B", "1.5 KiB", "12.3 MiB" */
char *amigo_format_bytes (guint64 bytes);
/* wall time as local "YYYY-MM-DD HH:MM:SS", "-" for 0 */
char *amigo_format_time (gint64 wall_usec);
/* a metric value with sensible precision: "0.98", "12.3", "1234" */
char *amigo_format_value (double value);

/* One JSON document, pretty-printed, ending in a newline. */
char *amigo_format_json (JsonNode *node);

/* Parses a point in time for --from/--to: ISO 8601 ("2026-11-25T10:00:00Z",
 * local time without a zone), "@SECONDS" since the epoch, "now", or a
 * duration ago ("90m" = 90 minutes before @now_usec). */
gboolean amigo_format_parse_time (const char *text, gint64 now_usec, gint64 *ret_usec, GError **error);

G_END_DECLS
