/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test support: `virsh domstats` text as libvirt typed params, so unit tests,
 * integration helpers and benchmarks feed recorded statistics through the
 * collector's real ingest step. Never linked by amigod's production code. */
#include "amigo-domstats-text.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"

#define AMIGO_DOMSTATS_MAX_PARAMS 65536
#define AMIGO_DOMSTATS_MAX_LINE_SHOWN 80

static gboolean
is_key_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '_' || c == '-';
}

static char *
shown_line (const char *line)
{
  g_autofree char *cut = g_strndup (line, AMIGO_DOMSTATS_MAX_LINE_SHOWN);
  return g_strescape (cut, NULL);
}

static gboolean
add_typed_value (virTypedParameterPtr *params, int *nparams, int *maxparams,
                 const char *key, const char *value)
{
  guint64 u;
  gint64 l;
  gboolean want_string = g_str_has_suffix (key, ".name") || g_str_has_suffix (key, ".path") ||
                         value[0] == '\0';
  int rc;

  if (!want_string && g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &u, NULL)) {
    rc = virTypedParamsAddULLong (params, nparams, maxparams, key, u);
  } else if (!want_string && g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &l, NULL)) {
    rc = virTypedParamsAddLLong (params, nparams, maxparams, key, l);
  } else {
    char *end = NULL;
    double d = want_string ? NAN : g_ascii_strtod (value, &end);
    if (!want_string && end != value && *end == '\0' && isfinite (d) && strchr (value, '.') != NULL)
      rc = virTypedParamsAddDouble (params, nparams, maxparams, key, d);
    else
      rc = virTypedParamsAddString (params, nparams, maxparams, key, value);
  }
  return rc == 0;
}

gboolean
amigo_domstats_text_parse (const char *text,
                                           char **ret_name,
                                           virTypedParameterPtr *ret_params,
                                           int *ret_nparams,
                                           GError **error)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *name = NULL;
  virTypedParameterPtr params = NULL;
  int nparams = 0, maxparams = 0;
  gboolean ok = FALSE;

  if (text == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no domstats text given");
    return FALSE;
  }
  if (virInitialize () < 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED, "cannot initialize libvirt");
    return FALSE;
  }

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    char *line = g_strstrip (lines[i]);   /* also drops a '\r' */
    guint lineno = i + 1;
    const char *eq;
    g_autofree char *key = NULL;
    const char *value;

    if (line[0] == '\0' || line[0] == '#')
      continue;

    if (g_str_has_prefix (line, "Domain:")) {
      const char *q1 = strchr (line, '\'');
      const char *q2 = strrchr (line, '\'');
      if (name != NULL) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "domstats line %u: a second domain; give one domain's statistics", lineno);
        goto out;
      }
      if (q1 == NULL || q2 == q1 || q2[1] != '\0' || q1 != line + strlen ("Domain: ") ||
          q2 - q1 - 1 == 0) {
        g_autofree char *shown = shown_line (line);
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "domstats line %u: expected \"Domain: 'name'\", got '%s'", lineno, shown);
        goto out;
      }
      name = g_strndup (q1 + 1, q2 - q1 - 1);
      continue;
    }

    if (name == NULL) {
      g_autofree char *shown = shown_line (line);
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domstats line %u: expected \"Domain: 'name'\" first, got '%s'", lineno, shown);
      goto out;
    }

    eq = strchr (line, '=');
    if (eq == NULL || eq == line || (gsize) (eq - line) >= VIR_TYPED_PARAM_FIELD_LENGTH) {
      g_autofree char *shown = shown_line (line);
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domstats line %u: expected 'key=value', got '%s'", lineno, shown);
      goto out;
    }
    key = g_strndup (line, eq - line);
    for (const char *c = key; *c != '\0'; c++) {
      if (!is_key_char (*c)) {
        g_autofree char *shown = shown_line (line);
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "domstats line %u: expected 'key=value', got '%s'", lineno, shown);
        goto out;
      }
    }
    value = eq + 1;
    if (g_hash_table_contains (keys, key)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domstats line %u: key '%s' given twice", lineno, key);
      goto out;
    }
    if (nparams >= AMIGO_DOMSTATS_MAX_PARAMS) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domstats line %u: more than %d statistics", lineno, AMIGO_DOMSTATS_MAX_PARAMS);
      goto out;
    }
    if (!add_typed_value (&params, &nparams, &maxparams, key, value)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domstats line %u: cannot store '%s': %s", lineno, key, virGetLastErrorMessage ());
      virResetLastError ();
      goto out;
    }
    g_hash_table_add (keys, g_steal_pointer (&key));
  }

  if (name == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                         "domstats text has no \"Domain: 'name'\" line");
    goto out;
  }
  ok = TRUE;

out:
  if (!ok) {
    virTypedParamsFree (params, nparams);
    return FALSE;
  }
  if (ret_name != NULL)
    *ret_name = g_steal_pointer (&name);
  if (ret_params != NULL)
    *ret_params = params;
  else
    virTypedParamsFree (params, nparams);
  if (ret_nparams != NULL)
    *ret_nparams = nparams;
  return TRUE;
}
