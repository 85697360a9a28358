/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Name tables of enums: each enum keeps its names in one array indexed by
 * its values (libvirt's VIR_ENUM_IMPL idea), and these helpers parse a name
 * back and list the names for error messages, so every enum does it alike. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The arguments @names, @stride, @n_names for a table of structs whose
 * member @field holds the name. */
#define AMIGO_ENUM_TABLE(table, field) \
  &(table)[0].field, sizeof ((table)[0]), G_N_ELEMENTS (table)

/* The same for a plain array of names. */
#define AMIGO_ENUM_NAMES(names) \
  &(names)[0], sizeof ((names)[0]), G_N_ELEMENTS (names)

/* The value whose name is @name: the index of the entry in the table
 * starting at @names (entries @stride bytes apart, @n_names of them), or -1
 * when no entry has that name or @name is NULL. */
int amigo_enum_from_name (const char *const *names,
                          gsize stride,
                          guint n_names,
                          const char *name);

/* The names of the table, each behind @prefix (NULL = none), joined with
 * ", ", for messages that list what is accepted. */
char *amigo_enum_join_names (const char *const *names,
                             gsize stride,
                             guint n_names,
                             const char *prefix);

G_END_DECLS
