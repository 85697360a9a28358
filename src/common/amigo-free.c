/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-free.h"

#include <stdarg.h>

void
amigo_free_fields (gpointer first_field, ...)
{
  va_list ap;

  va_start (ap, first_field);
  for (gpointer field = first_field; field != NULL; field = va_arg (ap, gpointer))
    g_clear_pointer ((gpointer *) field, g_free);
  va_end (ap);
}
