/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoRatelimit: at most one message per key (a warning's kind, not its
 * text, which names a file, a domain or a time) per interval, counting the
 * ones held back so that the next message can say how many there were.
 *
 * Time is passed in (monotonic µs), so a test or a simulated clock drives
 * it. The number of keys is bounded: past @max_keys, the keys not seen for
 * an interval are forgotten, and if none is, every key is.
 */
typedef struct _AmigoRatelimit AmigoRatelimit;

AmigoRatelimit *amigo_ratelimit_new (gint64 interval_usec, guint max_keys);
void amigo_ratelimit_free (AmigoRatelimit *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoRatelimit, amigo_ratelimit_free)

/* TRUE if a message of @key may go out at @now_usec; then @ret_suppressed
 * (may be NULL) is the number held back since the last one that went out,
 * and the count starts again. FALSE: hold it back (counted). */
gboolean amigo_ratelimit_check (AmigoRatelimit *self, const char *key, gint64 now_usec, guint *ret_suppressed);

G_END_DECLS
