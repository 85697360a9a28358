/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Frees the g_malloc()ed memory each field points to and sets the field to
 * NULL: the arguments are the addresses of the fields (char **, float **,
 * ...), ended by NULL. For the structs that own a list of strings or
 * buffers, so their free or clear function names each field once:
 *
 *   amigo_free_fields (&self->name, &self->workload, NULL);
 *   g_free (self);
 */
void amigo_free_fields (gpointer first_field, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
