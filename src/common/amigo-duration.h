/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one duration syntax of amigo (configuration, amigoctl, amigo-replay):
 * a positive integer and a unit, ms, s, m (or min), h, d or w - "250ms",
 * "10s", "5m", "6h", "14d", "1w". A bare number is refused: no guessing the
 * unit. At most 100 years. AMIGO_ERROR_INVALID_ARGS quoting @text otherwise. */
gboolean amigo_duration_parse (const char *text, gint64 *ret_usec, GError **error);

/* The shortest exact form of @usec: "10s", "5m", "1500ms". */
char *amigo_duration_format (gint64 usec);

/* @usec for a reader, in at most @max_parts units from days down to seconds,
 * the rest dropped: "2d 3h", "5m 10s", "12s"; "250ms" below a second. Not
 * for parsing back. */
char *amigo_duration_format_rounded (gint64 usec, guint max_parts);

G_END_DECLS
