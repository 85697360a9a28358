/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-request-options.h"

#include <math.h>

#include "amigo-error.h"

static gboolean
check_usec (const char *name, gint64 usec, gint64 max_usec, const char *range, GError **error)
{
  if (usec < 0 || usec > max_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "option '%s' is %" G_GINT64_FORMAT " us: expected %s", name, usec, range);
    return FALSE;
  }
  return TRUE;
}

gboolean
amigo_request_options_check (const AmigoRequestOptions *options, GError **error)
{
  if (options->has_window &&
      !check_usec ("window_usec", options->window_usec, AMIGO_REQUEST_WINDOW_MAX_USEC,
                   "0 (the overhead model's estimate) to 7 days (604800000000 us)", error))
    return FALSE;
  if (options->has_settle &&
      !check_usec ("settle_usec", options->settle_usec, AMIGO_REQUEST_SETTLE_MAX_USEC,
                   "0 to 1 day (86400000000 us)", error))
    return FALSE;
  if (options->has_link &&
      !(isfinite (options->link_mbit_s) && options->link_mbit_s >= AMIGO_REQUEST_LINK_MIN_MBIT_S &&
        options->link_mbit_s <= AMIGO_REQUEST_LINK_MAX_MBIT_S)) {
    char num[G_ASCII_DTOSTR_BUF_SIZE];
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "option 'link_mbit_s' is %s Mbit/s: expected 1 Mbit/s to 1 Tbit/s (1 to 1000000)",
                 g_ascii_formatd (num, sizeof num, "%g", options->link_mbit_s));
    return FALSE;
  }
  return TRUE;
}

gboolean
amigo_request_options_parse (GVariant *options, AmigoRequestOptions *ret, GError **error)
{
  static const struct {
    const char *name;
    const char *type;
  } known[] = {
    { "window_usec", "x" },
    { "settle_usec", "x" },
    { "link_mbit_s", "d" },
  };
  AmigoRequestOptions o = { 0 };
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_return_val_if_fail (g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT), FALSE);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value)) {
    g_autoptr (GVariant) v = value;
    guint i;

    for (i = 0; i < G_N_ELEMENTS (known); i++) {
      if (g_strcmp0 (key, known[i].name) == 0)
        break;
    }
    if (i == G_N_ELEMENTS (known)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "unknown option '%s': expected window_usec, settle_usec or link_mbit_s", key);
      return FALSE;
    }
    if (!g_variant_is_of_type (v, G_VARIANT_TYPE (known[i].type))) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "option '%s' has type '%s': expected '%s'", key,
                   g_variant_get_type_string (v), known[i].type);
      return FALSE;
    }
    if (i == 0) {
      o.has_window = TRUE;
      o.window_usec = g_variant_get_int64 (v);
    } else if (i == 1) {
      o.has_settle = TRUE;
      o.settle_usec = g_variant_get_int64 (v);
    } else {
      o.has_link = TRUE;
      o.link_mbit_s = g_variant_get_double (v);
    }
  }
  if (!amigo_request_options_check (&o, error))
    return FALSE;
  *ret = o;
  return TRUE;
}

GVariant *
amigo_request_options_to_variant (const AmigoRequestOptions *options)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  if (options->has_window)
    g_variant_dict_insert (&dict, "window_usec", "x", options->window_usec);
  if (options->has_settle)
    g_variant_dict_insert (&dict, "settle_usec", "x", options->settle_usec);
  if (options->has_link)
    g_variant_dict_insert (&dict, "link_mbit_s", "d", options->link_mbit_s);
  return g_variant_dict_end (&dict);
}
