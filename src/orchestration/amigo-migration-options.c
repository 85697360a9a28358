/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-options.h"

#include <math.h>
#include <string.h>

#include "amigo-enum.h"
#include "amigo-error.h"

AMIGO_ENUM_IMPL (amigo_migration_mode, AmigoMigrationMode, AMIGO_MIGRATION_MODE_LAST, NULL,
                 [AMIGO_MIGRATION_MODE_AUTO] = "auto",
                 [AMIGO_MIGRATION_MODE_PRECOPY] = "precopy",
                 [AMIGO_MIGRATION_MODE_AUTO_CONVERGE] = "auto-converge",
                 [AMIGO_MIGRATION_MODE_POSTCOPY] = "postcopy")
AMIGO_ENUM_IMPL_FROM_STRING (amigo_migration_mode, AmigoMigrationMode, AMIGO_ENUM_NAMES (amigo_migration_mode_names))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_migration_mode, AMIGO_ENUM_NAMES (amigo_migration_mode_names))

/* libvirt's transports to a remote QEMU driver (docs/uri.rst, "Remote
 * URIs"); the plain "qemu" scheme with a host means TLS. */
static const char *const dest_schemes[] = {
  "qemu", "qemu+tcp", "qemu+ssh", "qemu+tls", "qemu+unix", "qemu+libssh", "qemu+libssh2",
};
/* The URIs QEMU's migration stream takes through VIR_MIGRATE_PARAM_URI. */
static const char *const stream_schemes[] = { "tcp", "rdma", "unix" };

#define DEST_URI_EXAMPLE "'qemu+tcp://dest.example/system'"
#define RANGE_BANDWIDTH "expected more than 0 and at most 100000 MiB/s"
#define RANGE_DOWNTIME "expected 1 to 60000 ms"
#define RANGE_DEADLINE "expected 0 (start now) to 24 h (86400000000 us)"
#define RANGE_TIMEOUT "expected 1 s (1000000 us) to 24 h (86400000000 us)"

void
amigo_migration_options_init (AmigoMigrationOptions *options)
{
  memset (options, 0, sizeof *options);
  options->mode = AMIGO_MIGRATION_MODE_AUTO;
}

void
amigo_migration_options_clear (AmigoMigrationOptions *options)
{
  if (options == NULL)
    return;
  g_free (options->migrate_uri);
  amigo_migration_options_init (options);
}

void
amigo_migration_options_copy (AmigoMigrationOptions *dest, const AmigoMigrationOptions *src)
{
  *dest = *src;
  dest->migrate_uri = g_strdup (src->migrate_uri);
}

static gboolean
out_of_range (const char *name, const char *value, const char *range, GError **error)
{
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "option '%s' is %s: %s", name, value, range);
  return FALSE;
}

static gboolean
check_bandwidth (double mib_s, GError **error)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  if (isfinite (mib_s) && mib_s > 0 && mib_s <= AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S)
    return TRUE;
  return out_of_range ("bandwidth_mib_s", g_ascii_formatd (text, sizeof text, "%.15g", mib_s), RANGE_BANDWIDTH, error);
}

static gboolean
scheme_in (const char *scheme, const char *const *schemes, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (g_ascii_strcasecmp (scheme, schemes[i]) == 0)
      return TRUE;
  }
  return FALSE;
}

/* The URI parsed, or NULL with an error "<what> '<uri>' <problem>"; the
 * shared first steps of both URI checks. */
static GUri *
parse_uri (const char *what, const char *uri, const char *expected, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GUri *parsed;

  if (uri == NULL || *uri == '\0') {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "%s is empty: expected %s", what, expected);
    return NULL;
  }
  if (strlen (uri) > AMIGO_MIGRATION_URI_MAX_LEN) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "%s is %zu bytes long: at most %d accepted", what,
                 strlen (uri), AMIGO_MIGRATION_URI_MAX_LEN);
    return NULL;
  }
  if (!g_utf8_validate (uri, -1, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "%s is not valid UTF-8: expected %s", what, expected);
    return NULL;
  }
  /* g_uri_parse() takes a space in a host name; libvirt's parser does not. */
  for (const char *c = uri; *c != '\0'; c++) {
    if (g_ascii_isspace (*c) || g_ascii_iscntrl (*c)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "%s '%s' has a space or control character at byte %d: expected %s", what, uri, (int) (c - uri),
                   expected);
      return NULL;
    }
  }
  parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, &local_error);
  if (parsed == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "%s '%s' is not a URI (%s): expected %s", what, uri,
                 local_error->message, expected);
    return NULL;
  }
  return parsed;
}

static gboolean
check_migrate_uri (const char *uri, GError **error)
{
  static const char expected[] = "a URI of the migration stream such as 'tcp://10.0.0.2' (scheme tcp, rdma or unix)";
  g_autoptr (GUri) parsed = parse_uri ("option 'migrate_uri'", uri, expected, error);

  if (parsed == NULL)
    return FALSE;
  if (!scheme_in (g_uri_get_scheme (parsed), stream_schemes, G_N_ELEMENTS (stream_schemes))) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "option 'migrate_uri' '%s' has scheme '%s': expected %s",
                 uri, g_uri_get_scheme (parsed), expected);
    return FALSE;
  }
  return TRUE;
}

gboolean
amigo_migration_check_dest_uri (const char *uri, GError **error)
{
  g_autofree char *schemes = amigo_enum_join_names (AMIGO_ENUM_NAMES (dest_schemes), NULL);
  g_autofree char *expected = g_strdup_printf ("a libvirt URI such as " DEST_URI_EXAMPLE " (scheme %s)", schemes);
  g_autoptr (GUri) parsed = parse_uri ("destination URI", uri, expected, error);
  const char *scheme, *host, *path;
  gboolean is_unix;

  if (parsed == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (parsed);
  if (!scheme_in (scheme, dest_schemes, G_N_ELEMENTS (dest_schemes))) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "destination URI '%s' has scheme '%s': expected one of %s", uri, scheme, schemes);
    return FALSE;
  }
  is_unix = g_ascii_strcasecmp (scheme, "qemu+unix") == 0;
  host = g_uri_get_host (parsed);
  if (!is_unix && (host == NULL || *host == '\0')) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "destination URI '%s' has no host: a migration needs the destination host, "
                 "e.g. " DEST_URI_EXAMPLE " (only qemu+unix goes without, to a local socket)",
                 uri);
    return FALSE;
  }
  if (is_unix && host != NULL && *host != '\0') {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "destination URI '%s' names host '%s' with qemu+unix, which reaches a local socket: "
                 "expected no host, e.g. 'qemu+unix:///system?socket=/path/to/sock'",
                 uri, host);
    return FALSE;
  }
  path = g_uri_get_path (parsed);
  if (g_strcmp0 (path, "/system") != 0 && g_strcmp0 (path, "/session") != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "destination URI '%s' has path '%s': expected /system or /session", uri, path);
    return FALSE;
  }
  return TRUE;
}

typedef enum {
  KIND_STRING,
  KIND_INTEGER,
  KIND_NUMBER,
} OptionKind;

typedef enum {
  OPT_MIGRATE_URI,
  OPT_BANDWIDTH,
  OPT_DOWNTIME_LIMIT,
  OPT_MODE,
  OPT_DEADLINE,
  OPT_TIMEOUT,
} OptionId;

/* Migrate's options, indexed by OptionId; integers are checked against
 * [@min, @max] and every range refusal says @range. */
static const struct {
  const char *name;
  OptionKind kind;
  gint64 min;
  gint64 max;
  const char *range;
} known_options[] = {
  [OPT_MIGRATE_URI] = { "migrate_uri", KIND_STRING },
  [OPT_BANDWIDTH] = { "bandwidth_mib_s", KIND_NUMBER, 0, 0, RANGE_BANDWIDTH },
  [OPT_DOWNTIME_LIMIT] = { "downtime_limit_ms", KIND_INTEGER, AMIGO_MIGRATION_DOWNTIME_LIMIT_MIN_MS,
                           AMIGO_MIGRATION_DOWNTIME_LIMIT_MAX_MS, RANGE_DOWNTIME },
  [OPT_MODE] = { "mode", KIND_STRING },
  [OPT_DEADLINE] = { "deadline_usec", KIND_INTEGER, 0, AMIGO_MIGRATION_DEADLINE_MAX_USEC, RANGE_DEADLINE },
  [OPT_TIMEOUT] = { "timeout_usec", KIND_INTEGER, AMIGO_MIGRATION_TIMEOUT_MIN_USEC, AMIGO_MIGRATION_TIMEOUT_MAX_USEC,
                    RANGE_TIMEOUT },
};

static const char *const kind_expected[] = {
  [KIND_STRING] = "a string ('s')",
  [KIND_INTEGER] = "an integer ('u', 'x' or another integer type)",
  [KIND_NUMBER] = "a number ('d' or an integer type)",
};

static gboolean
check_integer_option (OptionId id, gint64 value, GError **error)
{
  char text[32];

  if (value >= known_options[id].min && value <= known_options[id].max)
    return TRUE;
  g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, value);
  return out_of_range (known_options[id].name, text, known_options[id].range, error);
}

static gboolean
check_mode (const char *name, AmigoMigrationMode *ret_mode, GError **error)
{
  g_autofree char *names = NULL;

  if (amigo_migration_mode_from_string (name, ret_mode))
    return TRUE;
  names = amigo_migration_mode_join_names (NULL);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "option 'mode' is '%s': expected one of %s", name,
               names);
  return FALSE;
}

gboolean
amigo_migration_options_check (const AmigoMigrationOptions *options, GError **error)
{
  if (options->migrate_uri != NULL && !check_migrate_uri (options->migrate_uri, error))
    return FALSE;
  if (options->bandwidth_mib_s != 0 && !check_bandwidth (options->bandwidth_mib_s, error))
    return FALSE;
  if (options->downtime_limit_ms != 0 && !check_integer_option (OPT_DOWNTIME_LIMIT, options->downtime_limit_ms, error))
    return FALSE;
  if (!check_mode (amigo_migration_mode_to_string (options->mode) ?: "(out of range)", NULL, error))
    return FALSE;
  if (!check_integer_option (OPT_DEADLINE, options->deadline_usec, error))
    return FALSE;
  if (options->timeout_usec != 0 && !check_integer_option (OPT_TIMEOUT, options->timeout_usec, error))
    return FALSE;
  return TRUE;
}

static gboolean
variant_is_integer (GVariant *v)
{
  switch (g_variant_classify (v)) {
  case G_VARIANT_CLASS_BYTE:
  case G_VARIANT_CLASS_INT16:
  case G_VARIANT_CLASS_UINT16:
  case G_VARIANT_CLASS_INT32:
  case G_VARIANT_CLASS_UINT32:
  case G_VARIANT_CLASS_INT64:
  case G_VARIANT_CLASS_UINT64:
    return TRUE;
  default:
    return FALSE;
  }
}

/* An integer GVariant (variant_is_integer()) as a gint64; FALSE for a 't'
 * above G_MAXINT64. */
static gboolean
variant_get_int64 (GVariant *v, gint64 *ret)
{
  switch (g_variant_classify (v)) {
  case G_VARIANT_CLASS_BYTE:
    *ret = g_variant_get_byte (v);
    return TRUE;
  case G_VARIANT_CLASS_INT16:
    *ret = g_variant_get_int16 (v);
    return TRUE;
  case G_VARIANT_CLASS_UINT16:
    *ret = g_variant_get_uint16 (v);
    return TRUE;
  case G_VARIANT_CLASS_INT32:
    *ret = g_variant_get_int32 (v);
    return TRUE;
  case G_VARIANT_CLASS_UINT32:
    *ret = g_variant_get_uint32 (v);
    return TRUE;
  case G_VARIANT_CLASS_INT64:
    *ret = g_variant_get_int64 (v);
    return TRUE;
  default:
    if (g_variant_get_uint64 (v) > (guint64) G_MAXINT64)
      return FALSE;
    *ret = (gint64) g_variant_get_uint64 (v);
    return TRUE;
  }
}

/* Option @id's value @v into @o, checked before anything is narrowed. */
static gboolean
parse_one (OptionId id, GVariant *v, AmigoMigrationOptions *o, GError **error)
{
  const char *name = known_options[id].name;
  OptionKind kind = known_options[id].kind;
  gboolean type_ok;
  gint64 n = 0;
  double d = 0;

  if (kind == KIND_STRING)
    type_ok = g_variant_is_of_type (v, G_VARIANT_TYPE_STRING);
  else
    type_ok = variant_is_integer (v) || (kind == KIND_NUMBER && g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE));
  if (!type_ok) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "option '%s' has type '%s': expected %s", name,
                 g_variant_get_type_string (v), kind_expected[kind]);
    return FALSE;
  }
  if (variant_is_integer (v) && !variant_get_int64 (v, &n)) {
    g_autofree char *text = g_variant_print (v, FALSE);
    return out_of_range (name, text, known_options[id].range, error);
  }
  d = g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE) ? g_variant_get_double (v) : (double) n;

  switch (id) {
  case OPT_MIGRATE_URI:
    if (!check_migrate_uri (g_variant_get_string (v, NULL), error))
      return FALSE;
    g_free (o->migrate_uri);
    o->migrate_uri = g_variant_dup_string (v, NULL);
    return TRUE;
  case OPT_MODE:
    return check_mode (g_variant_get_string (v, NULL), &o->mode, error);
  case OPT_BANDWIDTH:
    if (!check_bandwidth (d, error))
      return FALSE;
    o->bandwidth_mib_s = d;
    return TRUE;
  case OPT_DOWNTIME_LIMIT:
    if (!check_integer_option (id, n, error))
      return FALSE;
    o->downtime_limit_ms = (guint32) n;
    return TRUE;
  case OPT_DEADLINE:
    if (!check_integer_option (id, n, error))
      return FALSE;
    o->deadline_usec = n;
    return TRUE;
  case OPT_TIMEOUT:
    if (!check_integer_option (id, n, error))
      return FALSE;
    o->timeout_usec = n;
    return TRUE;
  default:
    g_assert_not_reached ();
  }
}

gboolean
amigo_migration_options_parse (GVariant *options, AmigoMigrationOptions *ret, GError **error)
{
  g_auto (AmigoMigrationOptions) o = { 0 };
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_return_val_if_fail (ret != NULL, FALSE);
  if (options == NULL || !g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "migration options have type '%s': expected 'a{sv}'",
                 options != NULL ? g_variant_get_type_string (options) : "(none)");
    return FALSE;
  }
  amigo_migration_options_init (&o);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value)) {
    g_autoptr (GVariant) v = value;
    int id = amigo_enum_from_name (AMIGO_ENUM_TABLE (known_options, name), key);

    if (id < 0) {
      g_autofree char *names = amigo_enum_join_names (AMIGO_ENUM_TABLE (known_options, name), NULL);
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "unknown option '%s': expected one of %s", key,
                   names);
      return FALSE;
    }
    if (!parse_one ((OptionId) id, v, &o, error))
      return FALSE;
  }
  *ret = o;
  memset (&o, 0, sizeof o); /* @ret owns the strings now */
  return TRUE;
}

GVariant *
amigo_migration_options_to_variant (const AmigoMigrationOptions *options)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  if (options->migrate_uri != NULL)
    g_variant_dict_insert (&dict, "migrate_uri", "s", options->migrate_uri);
  if (options->bandwidth_mib_s != 0)
    g_variant_dict_insert (&dict, "bandwidth_mib_s", "d", options->bandwidth_mib_s);
  if (options->downtime_limit_ms != 0)
    g_variant_dict_insert (&dict, "downtime_limit_ms", "u", options->downtime_limit_ms);
  if (options->mode != AMIGO_MIGRATION_MODE_AUTO && amigo_migration_mode_to_string (options->mode) != NULL)
    g_variant_dict_insert (&dict, "mode", "s", amigo_migration_mode_to_string (options->mode));
  if (options->deadline_usec != 0)
    g_variant_dict_insert (&dict, "deadline_usec", "x", options->deadline_usec);
  if (options->timeout_usec != 0)
    g_variant_dict_insert (&dict, "timeout_usec", "x", options->timeout_usec);
  return g_variant_dict_end (&dict);
}
