/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-enum.h"

#include <string.h>

static const char *
entry_name (const char *const *names, gsize stride, guint i)
{
  return *(const char *const *) ((const char *) names + (gsize) i * stride);
}

int
amigo_enum_from_name (const char *const *names,
                      gsize stride,
                      guint n_names,
                      const char *name)
{
  g_return_val_if_fail (names != NULL, -1);

  if (name == NULL)
    return -1;
  for (guint i = 0; i < n_names; i++) {
    const char *entry = entry_name (names, stride, i);

    if (entry != NULL && strcmp (entry, name) == 0)
      return (int) i;
  }
  return -1;
}

char *
amigo_enum_join_names_skip (const char *const *names,
                            gsize stride,
                            guint n_names,
                            const char *prefix,
                            int skip)
{
  g_autoptr (GString) s = g_string_new (NULL);

  g_return_val_if_fail (names != NULL, NULL);

  for (guint i = 0; i < n_names; i++) {
    if ((int) i == skip)
      continue;
    g_string_append_printf (s, "%s%s%s", s->len > 0 ? ", " : "", prefix != NULL ? prefix : "",
                            entry_name (names, stride, i));
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
amigo_enum_join_names (const char *const *names,
                       gsize stride,
                       guint n_names,
                       const char *prefix)
{
  return amigo_enum_join_names_skip (names, stride, n_names, prefix, -1);
}
