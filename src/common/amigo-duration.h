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

G_END_DECLS
