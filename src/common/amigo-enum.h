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

/* amigo_enum_join_names() without the entry of value @skip (-1 = none), for
 * a table with one value that is not a choice to offer (an "unknown" that
 * only stands for "not set"). */
char *amigo_enum_join_names_skip (const char *const *names,
                                  gsize stride,
                                  guint n_names,
                                  const char *prefix,
                                  int skip);

/* Defines the name table of enum @Type, @prefix##_names (entry i names value
 * i, one entry per value below @last, given as designated initializers) and
 * @prefix##_to_string(), which returns @invalid for a value out of range.
 * libvirt's VIR_ENUM_IMPL: the one table drives printing (and parsing, with
 * AMIGO_ENUM_IMPL_FROM_STRING). The prototype stays in the header. */
#define AMIGO_ENUM_IMPL(prefix, Type, last, invalid, ...) \
  static const char *const prefix##_names[] = { __VA_ARGS__ }; \
  G_STATIC_ASSERT (G_N_ELEMENTS (prefix##_names) == (last)); \
  const char * \
  prefix##_to_string (Type value) \
  { \
    return (guint) value < (last) ? prefix##_names[value] : (invalid); \
  }

/* Defines const char *@func (Type value), member @field of entry @value of
 * the struct table @table (one entry per value, in value order): the
 * accessors of a table whose entries carry more than a name (a unit, a
 * label). A value out of range is a programming error: NULL and a critical. */
#define AMIGO_ENUM_IMPL_FIELD(func, Type, table, field) \
  const char * \
  func (Type value) \
  { \
    g_return_val_if_fail ((guint) value < G_N_ELEMENTS (table), NULL); \
    return (table)[value].field; \
  }

/* Defines gboolean @prefix##_from_string (name, Type *ret_value) over the
 * table given as AMIGO_ENUM_TABLE() or AMIGO_ENUM_NAMES() in @table_args:
 * FALSE for NULL or a name not in the table (then *ret_value is untouched);
 * @ret_value may be NULL to only check a name. */
#define AMIGO_ENUM_IMPL_FROM_STRING(prefix, Type, table_args) \
  gboolean \
  prefix##_from_string (const char *name, Type *ret_value) \
  { \
    int i = amigo_enum_from_name (table_args, name); \
    if (i >= 0 && ret_value != NULL) \
      *ret_value = (Type) i; \
    return i >= 0; \
  }

/* Defines char *@prefix##_join_names (const char *name_prefix), the
 * amigo_enum_join_names() of the table in @table_args. */
#define AMIGO_ENUM_IMPL_JOIN_NAMES(prefix, table_args) \
  char * \
  prefix##_join_names (const char *name_prefix) \
  { \
    return amigo_enum_join_names (table_args, name_prefix); \
  }

G_END_DECLS
