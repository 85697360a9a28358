/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-duration.h"

#include <errno.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

#define DURATION_EXAMPLE "'10s'"

/* The units, largest first. The formatters write only those marked
 * @formatted: 14 days stays "14d", not "2w". */
static const struct {
  const char *suffix;
  gint64 usec;
  gboolean formatted;
} units[] = {
  { "w", 7 * AMIGO_USEC_PER_DAY, FALSE },
  { "d", AMIGO_USEC_PER_DAY, TRUE },
  { "h", AMIGO_USEC_PER_HOUR, TRUE },
  { "min", AMIGO_USEC_PER_MIN, FALSE },
  { "m", AMIGO_USEC_PER_MIN, TRUE },
  { "s", AMIGO_USEC_PER_SEC, TRUE },
  { "ms", AMIGO_USEC_PER_MSEC, TRUE },
};

gboolean
amigo_duration_parse (const char *text, gint64 *ret_usec, GError **error)
{
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
  for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
    if (units[i].formatted && usec != 0 && usec % units[i].usec == 0)
      return g_strdup_printf ("%" G_GINT64_FORMAT "%s", usec / units[i].usec, units[i].suffix);
  }
  return g_strdup_printf ("%" G_GINT64_FORMAT "us", usec);
}

char *
amigo_duration_format_rounded (gint64 usec, guint max_parts)
{
  GString *out = g_string_new (NULL);
  guint parts = 0;

  if (usec < 0) {
    g_string_append_c (out, '-');
    usec = -usec;
  }
  if (usec < AMIGO_USEC_PER_SEC) {
    g_string_append_printf (out, "%" G_GINT64_FORMAT "ms", usec / AMIGO_USEC_PER_MSEC);
    return g_string_free (out, FALSE);
  }
  for (guint i = 0; i < G_N_ELEMENTS (units) && parts < max_parts; i++) {
    gint64 n = usec / units[i].usec;

    /* whole seconds and up: below a second was handled above */
    if (!units[i].formatted || units[i].usec < AMIGO_USEC_PER_SEC || (n == 0 && parts == 0))
      continue;
    if (n > 0)
      g_string_append_printf (out, "%s%" G_GINT64_FORMAT "%s", parts > 0 ? " " : "", n, units[i].suffix);
    usec -= n * units[i].usec;
    parts++;
  }
  return g_string_free (out, FALSE);
}
