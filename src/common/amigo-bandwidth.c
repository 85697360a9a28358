/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-bandwidth.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"

#define BANDWIDTH_EXAMPLE "'10G' or '1000M' (bit/s, suffix k, M, G or T)"

static const struct {
  char suffix;
  double mbit_s;
} units[] = {
  { 'k', 1e-3 },
  { 'K', 1e-3 },
  { 'M', 1.0 },
  { 'G', 1e3 },
  { 'T', 1e6 },
};

gboolean
amigo_bandwidth_parse (const char *text, double *ret_mbit_s, GError **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text != NULL ? text : ""));
  char *end = NULL;
  double n;

  /* g_ascii_strtod also takes "inf", "nan", hex and a sign: only plain
   * decimals are bandwidths. */
  if (!g_ascii_isdigit (copy[0])) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a bandwidth like " BANDWIDTH_EXAMPLE ", got '%s'", text != NULL ? text : "");
    return FALSE;
  }
  errno = 0;
  n = g_ascii_strtod (copy, &end);
  if (end != copy + strspn (copy, "0123456789.")) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a bandwidth like " BANDWIDTH_EXAMPLE ", got '%s'", text);
    return FALSE;
  }
  if (errno != 0 || !isfinite (n) || n <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a positive bandwidth like " BANDWIDTH_EXAMPLE ", got '%s'", text);
    return FALSE;
  }
  if (*end == '\0') {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "expected a bandwidth with a unit like " BANDWIDTH_EXAMPLE ", got '%s'", text);
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
    const char *rest = end + 1;
    if (*end != units[i].suffix)
      continue;
    if (*rest == '\0' || strcmp (rest, "bit/s") == 0 || strcmp (rest, "bps") == 0) {
      *ret_mbit_s = n * units[i].mbit_s;
      return TRUE;
    }
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
               "expected a bandwidth like " BANDWIDTH_EXAMPLE ", got '%s'", text);
  return FALSE;
}

char *
amigo_bandwidth_format (double mbit_s)
{
  static const struct {
    const char *unit;
    double mbit_s;
  } steps[] = {
    { "Tbit/s", 1e6 },
    { "Gbit/s", 1e3 },
    { "Mbit/s", 1.0 },
    { "kbit/s", 1e-3 },
  };
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (mbit_s) || mbit_s <= 0)
    return g_strdup ("-");
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    double v = mbit_s / steps[i].mbit_s;
    if (v >= 1.0 || i + 1 == G_N_ELEMENTS (steps)) {
      g_ascii_formatd (num, sizeof num, "%.3g", v);
      return g_strdup_printf ("%s %s", num, steps[i].unit);
    }
  }
  g_assert_not_reached ();
}
