/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Assertions cmocka lacks; include after <cmocka.h>. */

#include <glib.h>
#include <string.h>

/* Fails the test, showing both, unless @text holds @want. */
static inline void
amigo_test_assert_contains (const char *text, const char *want)
{
  if (text == NULL || strstr (text, want) == NULL)
    fail_msg ("'%s' not in '%s'", want, text != NULL ? text : "(null)");
}
