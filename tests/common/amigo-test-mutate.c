/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-test-mutate.h"

#include <string.h>

void
amigo_test_mutate (GRand *rand, GString *text, const char *extra)
{
  guint pos = g_rand_int_range (rand, 0, text->len + 1);

  switch (g_rand_int_range (rand, 0, 5)) {
  case 0: /* flip a byte */
    if (pos < text->len)
      text->str[pos] = (char) g_rand_int_range (rand, 1, 256);
    break;
  case 1: /* insert a byte of interest */
    g_string_insert_c (text, pos, extra[g_rand_int_range (rand, 0, strlen (extra))]);
    break;
  case 2: /* delete a run */
    if (pos < text->len) {
      gsize run = g_rand_int_range (rand, 1, 12);

      g_string_erase (text, pos, MIN (text->len - pos, run));
    }
    break;
  case 3: /* repeat a chunk */
    if (pos < text->len) {
      g_autofree char *chunk = g_strndup (text->str + pos, MIN (text->len - pos, 40));
      g_string_insert (text, g_rand_int_range (rand, 0, text->len + 1), chunk);
    }
    break;
  default: /* a copy of another byte */
    if (pos < text->len && text->len > 0)
      text->str[pos] = text->str[g_rand_int_range (rand, 0, text->len)];
    break;
  }
}
