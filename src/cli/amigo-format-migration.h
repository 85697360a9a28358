/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* amigoctl migrate / migrations: the human forms of Migrate's plan,
 * MigrationProgress, MigrationFinished and ListMigrations (the a{sv}
 * dictionaries of data/org.amigo.Daemon1.xml). Pure: no bus, no clock but
 * the @now_usec given, so the tests pin every line. A key that is absent
 * (not known yet) is left out of the line, never shown as 0. */

/* A migration duration for a reader: "250ms", "12.3s", "5m 10s". */
char *amigo_format_migration_duration (gint64 usec);

/* The plan, several lines ending in a newline: what amigo chose and why
 * (mode, bandwidth, downtime limit, start time, timeouts, predicted figures). */
char *amigo_format_migration_plan (const char *id, const char *domain, const char *dest_uri, GVariant *plan,
                                   gint64 now_usec);

/* One line of progress, without a newline: percent of memory, data sent and
 * left, dirty rate, expected downtime, phase, elapsed. With @width > 0 (a
 * terminal's columns) a bar leads and the line is at most @width - 1 columns
 * (never wraps): the bar shrinks first, then the least telling figures are
 * dropped. @width 0: no bar, every figure (a log line). */
char *amigo_format_migration_progress (GVariant *progress, guint width);

/* The end in one line: "completed in 12.3s", "refused by the destination:
 * memory: need ...", "failed: <cause>", "cancelled", "timed out: <cause>". */
char *amigo_format_migration_outcome (GVariant *result);

/* The measured figures against the predicted ones (total time, downtime,
 * data sent), a table ending in a newline; NULL when nothing was measured
 * (the migration did not complete). */
char *amigo_format_migration_summary (GVariant *result);

/* ListMigrations as a table ending in a newline, or "No migrations.\n". */
char *amigo_format_migrations (GVariant *migrations);

G_END_DECLS
