/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One random edit of @text for the bounded fuzz loops of the unit suite:
 * flip a byte, insert one of @extra (the bytes that matter to the format),
 * delete a run of up to 11 bytes, repeat a chunk of up to 40 bytes
 * elsewhere, or copy one byte over another. */
void amigo_test_mutate (GRand *rand, GString *text, const char *extra);

G_END_DECLS
