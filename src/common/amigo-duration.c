/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-duration.h"

#include <errno.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

#define DURATION_EXAMPLE "'10s'"

gboolean
amigo_duration_parse (const char *text, gint64 *ret_usec, GError **error)
{
  static const struct {
    const char *suffix;
    gint64 usec;
  } units[] = {
    { "ms", AMIGO_USEC_PER_MSEC },
    { "s", AMIGO_USEC_PER_SEC },
    { "min", AMIGO_USEC_PER_MIN },
    { "m", AMIGO_USEC_PER_MIN },
    { "h", AMIGO_USEC_PER_HOUR },
    { "d", AMIGO_USEC_PER_DAY },
    { "w", 7 * AMIGO_USEC_PER_DAY },
  };
  g_autofree char *copy = NULL;
  const char *p;
  char *end = NULL;
  guint64 n;

  if (text == NULL)
    text = "";
  copy = g_strstrip (g_strdup (text));
  p = copy;
  if (!g_ascii_isdigit (*p)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a duration like " DURATION_EXAMPLE ", got '%s'", text);
    return FALSE;
  }
  errno = 0;
  n = g_ascii_strtoull (p, &end, 10);
  if (errno != 0 || n == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a positive duration like " DURATION_EXAMPLE ", got '%s'", text);
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
    if (strcmp (end, units[i].suffix) != 0)
      continue;
    /* Keep far below G_MAXINT64 so sums of durations cannot overflow. */
    if (n > (guint64) (100 * 365 * AMIGO_USEC_PER_DAY) / (guint64) units[i].usec) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "duration '%s' is longer than 100 years", text);
      return FALSE;
    }
    *ret_usec = (gint64) n * units[i].usec;
    return TRUE;
  }
  if (*end == '\0')
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a duration with a unit (ms, s, m, h, d, w) like " DURATION_EXAMPLE ", got '%s'",
                 text);
  else
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a duration like " DURATION_EXAMPLE " (units ms, s, m, h, d, w), got '%s'",
                 text);
  return FALSE;
}

char *
amigo_duration_format (gint64 usec)
{
  static const struct {
    const char *suffix;
    gint64 usec;
  } units[] = {
    { "d", AMIGO_USEC_PER_DAY },
    { "h", AMIGO_USEC_PER_HOUR },
    { "m", AMIGO_USEC_PER_MIN },
    { "s", AMIGO_USEC_PER_SEC },
    { "ms", AMIGO_USEC_PER_MSEC },
  };

  for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
    if (usec != 0 && usec % units[i].usec == 0)
      return g_strdup_printf ("%" G_GINT64_FORMAT "%s", usec / units[i].usec, units[i].suffix);
  }
  return g_strdup_printf ("%" G_GINT64_FORMAT "us", usec);
}
