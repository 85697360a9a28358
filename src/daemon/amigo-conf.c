/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-conf.h"

#include <math.h>
#include <string.h>

#include "amigo-bandwidth.h"
#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-file.h"
#include "amigo-export.h"
#include "amigo-request-options.h"
#include "amigo-time.h"


typedef enum {
  KEY_STRING,
  KEY_DURATION,
  KEY_URI,
  KEY_BANDWIDTH,
  KEY_TEXTFILE,
  KEY_BOOLEAN,
  KEY_NUMBER,     /* a finite decimal >= 0, locale-free */
} KeyType;

#define ALLOC_KEY(field, res) \
  (G_STRUCT_OFFSET (AmigoConf, allocation.field) + AMIGO_RESOURCE_##res * sizeof (double))

/* Every key amigod knows: adding one = one line here plus docs. */
static const struct {
  const char *group;
  const char *key;
  KeyType type;
  gsize offset;
} conf_keys[] = {
  { "daemon", "uri", KEY_URI, G_STRUCT_OFFSET (AmigoConf, uri) },
  { "daemon", "interval", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, interval_usec) },
  { "daemon", "state_dir", KEY_STRING, G_STRUCT_OFFSET (AmigoConf, state_dir) },
  { "daemon", "metadata_interval", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, metadata_interval_usec) },
  { "daemon", "dirty_rate_period", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, dirty_rate_period_usec) },
  { "history", "raw_retention", KEY_DURATION,
    G_STRUCT_OFFSET (AmigoConf, history) + G_STRUCT_OFFSET (AmigoHistoryOptions, raw_retention_usec) },
  { "history", "step", KEY_DURATION,
    G_STRUCT_OFFSET (AmigoConf, history) + G_STRUCT_OFFSET (AmigoHistoryOptions, step_usec) },
  { "history", "retention", KEY_DURATION,
    G_STRUCT_OFFSET (AmigoConf, history) + G_STRUCT_OFFSET (AmigoHistoryOptions, retention_usec) },
  { "forecast", "window", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, forecast.window_usec) },
  { "forecast", "settle", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, forecast.settle_usec) },
  { "forecast", "link", KEY_BANDWIDTH, G_STRUCT_OFFSET (AmigoConf, forecast.link_mbit_s) },
  { "forecast", "max_age", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, forecast.max_age_usec) },
  { "export", "prometheus_textfile", KEY_TEXTFILE, G_STRUCT_OFFSET (AmigoConf, export_textfile) },
  { "allocation", "enabled", KEY_BOOLEAN, G_STRUCT_OFFSET (AmigoConf, allocation.enabled) },
  { "allocation", "lease", KEY_DURATION, G_STRUCT_OFFSET (AmigoConf, allocation.lease_usec) },
  { "allocation", "reserve_cpu", KEY_NUMBER, ALLOC_KEY (reserve, CPU) },
  { "allocation", "reserve_memory", KEY_NUMBER, ALLOC_KEY (reserve, MEMORY) },
  { "allocation", "reserve_network", KEY_BANDWIDTH, ALLOC_KEY (reserve, NETWORK) },
  { "allocation", "reserve_disk", KEY_NUMBER, ALLOC_KEY (reserve, DISK) },
  { "allocation", "reserve_gpu_memory", KEY_NUMBER, ALLOC_KEY (reserve, GPU_MEMORY) },
  { "allocation", "overcommit_cpu", KEY_NUMBER, ALLOC_KEY (overcommit, CPU) },
  { "allocation", "overcommit_memory", KEY_NUMBER, ALLOC_KEY (overcommit, MEMORY) },
  { "allocation", "overcommit_network", KEY_NUMBER, ALLOC_KEY (overcommit, NETWORK) },
  { "allocation", "overcommit_disk", KEY_NUMBER, ALLOC_KEY (overcommit, DISK) },
  { "allocation", "overcommit_gpu_memory", KEY_NUMBER, ALLOC_KEY (overcommit, GPU_MEMORY) },
  { "allocation", "network", KEY_BANDWIDTH, ALLOC_KEY (capacity, NETWORK) },
  { "allocation", "disk", KEY_NUMBER, ALLOC_KEY (capacity, DISK) },
  { "allocation", "gpu_memory", KEY_NUMBER, ALLOC_KEY (capacity, GPU_MEMORY) },
};

AmigoConf *
amigo_conf_new (void)
{
  AmigoConf *self = g_new0 (AmigoConf, 1);

  self->uri = g_strdup (AMIGO_CONF_DEFAULT_URI);
  self->interval_usec = 10 * AMIGO_USEC_PER_SEC;
  self->state_dir = g_strdup (AMIGO_STATE_DIR);
  self->metadata_interval_usec = 5 * AMIGO_USEC_PER_MIN;
  self->dirty_rate_period_usec = AMIGO_USEC_PER_SEC;
  /* Same values as amigo_history_options_init(); spelled out so that the
   * configuration does not need the store linked in. */
  self->history.raw_retention_usec = 6 * AMIGO_USEC_PER_HOUR;
  self->history.step_usec = 5 * AMIGO_USEC_PER_MIN;
  self->history.retention_usec = 14 * AMIGO_USEC_PER_DAY;
  self->forecast.window_usec = 0;
  self->forecast.settle_usec = 10 * AMIGO_USEC_PER_MIN;
  self->forecast.link_mbit_s = 1000.0;
  self->forecast.max_age_usec = 0;   /* 3 x metadata_interval */
  self->allocation.enabled = TRUE;
  /* Long enough for a migration's setup (the reservation is made before any
   * memory is copied, and a held one is settled at the next poll after the
   * domain runs); short enough that a migration that never arrives gives its
   * room back within minutes. */
  self->allocation.lease_usec = 10 * AMIGO_USEC_PER_MIN;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    self->allocation.reserve[r] = 0.0;
    self->allocation.overcommit[r] = 1.0;
    self->allocation.capacity[r] = NAN;
  }
  return self;
}

void
amigo_conf_free (AmigoConf *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  g_free (self->uri);
  g_free (self->state_dir);
  g_free (self->export_textfile);
  g_free (self);
}

static char *
line_key (const char *group, const char *key)
{
  return g_strdup_printf ("%s\x1f%s", group, key);
}

/* GKeyFile's own errors carry no line number, so the file is scanned once
 * first: this catches malformed lines with their number and remembers where
 * each key is for the messages about values. */
static gboolean
scan_lines (const char *path,
            const char *contents,
            GHashTable *key_lines,
            GError **error)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autofree char *group = NULL;

  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];
    guint lineno = i + 1;
    const char *eq;

    while (g_ascii_isspace (*line))
      line++;
    if (*line == '\0' || *line == '#')
      continue;
    if (*line == '[') {
      const char *close = strchr (line, ']');
      g_autofree char *rest = NULL;

      if (close == NULL || close == line + 1) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                     "%s:%u: expected a group name like '[daemon]', got '%s'",
                     path, lineno, g_strchomp (lines[i]));
        return FALSE;
      }
      rest = g_strstrip (g_strdup (close + 1));
      if (*rest != '\0') {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                     "%s:%u: unexpected '%s' after the group name", path, lineno, rest);
        return FALSE;
      }
      g_free (group);
      group = g_strndup (line + 1, close - line - 1);
      continue;
    }
    eq = strchr (line, '=');
    if (eq == NULL) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "%s:%u: expected 'key = value', '[group]' or a '#' comment, got '%s'",
                   path, lineno, g_strchomp (lines[i]));
      return FALSE;
    }
    {
      g_autofree char *key = g_strstrip (g_strndup (line, eq - line));

      if (*key == '\0') {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                     "%s:%u: expected a key name before '='", path, lineno);
        return FALSE;
      }
      if (group == NULL) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                     "%s:%u: key '%s' comes before any group; expected '[daemon]' or '[history]' first",
                     path, lineno, key);
        return FALSE;
      }
      g_hash_table_insert (key_lines, line_key (group, key), GUINT_TO_POINTER (lineno));
    }
  }
  return TRUE;
}

static guint
lookup_line (GHashTable *key_lines, const char *group, const char *key)
{
  g_autofree char *k = line_key (group, key);

  return GPOINTER_TO_UINT (g_hash_table_lookup (key_lines, k));
}

static gboolean
is_known (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (conf_keys); i++) {
    if (strcmp (conf_keys[i].group, group) == 0 &&
        (key == NULL || strcmp (conf_keys[i].key, key) == 0))
      return TRUE;
  }
  return FALSE;
}

/* A libvirt URI is 'driver[+transport]://[host][/path][?params]'. libvirt's
 * own parser is not public, and a URI it cannot parse would only show up as a
 * connection retried forever, so the shape is checked here: a scheme, then
 * '://', then printable ASCII without spaces. A space or '#' is most likely a
 * comment after the value, which a key file does not allow. */
static gboolean
check_uri (const char *uri, GError **error)
{
  const char *p = uri;
  const char *sep;

  for (const char *c = uri; *c != '\0'; c++) {
    if (*c == '#' || g_ascii_isspace (*c)) {
      g_autofree char *head = g_strndup (uri, c - uri);
      g_autofree char *tail = g_strdup (c);

      g_strstrip (tail);
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "[daemon] uri: unexpected '%s' after '%s'; a comment goes on a line of its own",
                   tail, head);
      return FALSE;
    }
  }
  sep = strstr (uri, "://");
  if (sep != NULL && g_ascii_isalpha (*p)) {
    gboolean plus = FALSE;

    for (p++; p < sep; p++) {
      if (*p == '+' && !plus && p[1] != ':') {
        plus = TRUE;
        continue;
      }
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
        break;
    }
    if (p == sep) {
      for (p = sep + 3; *p != '\0' && *p > 0x20 && *p < 0x7f; p++)
        ;
      if (*p == '\0')
        return TRUE;
    }
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
               "[daemon] uri: expected a libvirt URI 'driver[+transport]://[host]/path' like "
               "'qemu:///system' or 'qemu+ssh://host/system', got '%s'", uri);
  return FALSE;
}

/* A key file boolean, as systemd and GKeyFile spell them. */
static gboolean
parse_boolean (const char *value, gboolean *ret, GError **error)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++) {
    if (g_ascii_strcasecmp (value, yes[i]) == 0) {
      *ret = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp (value, no[i]) == 0) {
      *ret = FALSE;
      return TRUE;
    }
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "expected true or false, got '%s'", value);
  return FALSE;
}

/* g_ascii_strtod: locale-free, so '1.5' means the same under any LC_NUMERIC. */
static gboolean
parse_number (const char *value, double *ret, GError **error)
{
  char *end = NULL;
  double v;

  v = g_ascii_strtod (value, &end);
  if (*value == '\0' || end == NULL || *end != '\0' || !isfinite (v) || v < 0.0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "expected a number >= 0 like '2' or '0.5', got '%s'",
                 value);
    return FALSE;
  }
  *ret = v;
  return TRUE;
}

static gboolean
set_string (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

gboolean
amigo_conf_load_file (AmigoConf *self,
                      const char *path,
                      GPtrArray *warnings,
                      GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GHashTable) key_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) groups = NULL;
  gsize len = 0;
  AmigoConf parsed;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!amigo_file_read_config (path, "configuration", &contents, &len, error))
    return FALSE;
  if (strlen (contents) != len || !g_utf8_validate (contents, len, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "%s: expected UTF-8 text, the file contains binary data", path);
    return FALSE;
  }
  if (!scan_lines (path, contents, key_lines, error))
    return FALSE;
  if (!g_key_file_load_from_data (kf, contents, len, G_KEY_FILE_NONE, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "%s: %s", path, local_error->message);
    return FALSE;
  }

  /* Parse into a copy so that a failure leaves @self untouched. */
  parsed = *self;
  parsed.uri = g_strdup (self->uri);
  parsed.state_dir = g_strdup (self->state_dir);
  parsed.export_textfile = g_strdup (self->export_textfile);
  parsed.path = g_strdup (path);

  groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g] != NULL; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);

    if (!is_known (groups[g], NULL)) {
      if (warnings != NULL)
        g_ptr_array_add (warnings,
                         g_strdup_printf ("%s: unknown group '[%s]', ignoring", path, groups[g]));
      continue;
    }
    for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
      guint lineno = lookup_line (key_lines, groups[g], keys[k]);
      g_autofree char *value = NULL;
      guint i;

      for (i = 0; i < G_N_ELEMENTS (conf_keys); i++) {
        if (strcmp (conf_keys[i].group, groups[g]) == 0 && strcmp (conf_keys[i].key, keys[k]) == 0)
          break;
      }
      if (i == G_N_ELEMENTS (conf_keys)) {
        if (warnings != NULL)
          g_ptr_array_add (warnings,
                           g_strdup_printf ("%s:%u: unknown key '%s' in [%s], ignoring",
                                            path, lineno, keys[k], groups[g]));
        continue;
      }
      value = g_key_file_get_string (kf, groups[g], keys[k], &local_error);
      if (value == NULL) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: [%s] %s: %s",
                     path, lineno, groups[g], keys[k], local_error->message);
        goto fail;
      }
      g_strstrip (value);
      if (conf_keys[i].type == KEY_BANDWIDTH) {
        if (!amigo_bandwidth_parse (value, G_STRUCT_MEMBER_P (&parsed, conf_keys[i].offset), &local_error)) {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: [%s] %s: %s",
                       path, lineno, groups[g], keys[k], local_error->message);
          goto fail;
        }
      } else if (conf_keys[i].type == KEY_BOOLEAN || conf_keys[i].type == KEY_NUMBER) {
        gboolean ok = conf_keys[i].type == KEY_BOOLEAN
          ? parse_boolean (value, G_STRUCT_MEMBER_P (&parsed, conf_keys[i].offset), &local_error)
          : parse_number (value, G_STRUCT_MEMBER_P (&parsed, conf_keys[i].offset), &local_error);
        if (!ok) {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: [%s] %s: %s",
                       path, lineno, groups[g], keys[k], local_error->message);
          goto fail;
        }
      } else if (conf_keys[i].type == KEY_TEXTFILE) {
        char **field = G_STRUCT_MEMBER_P (&parsed, conf_keys[i].offset);
        g_autofree char *checked = NULL;

        /* empty: no export */
        if (*value != '\0' && !amigo_export_parse_textfile_path (value, &checked, &local_error)) {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: [%s] %s: %s",
                       path, lineno, groups[g], keys[k], local_error->message);
          goto fail;
        }
        g_free (*field);
        *field = g_steal_pointer (&checked);
      } else if (conf_keys[i].type != KEY_DURATION) {
        if (*value == '\0') {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                       "%s:%u: [%s] %s: expected a value, got an empty string",
                       path, lineno, groups[g], keys[k]);
          goto fail;
        }
        if (conf_keys[i].type == KEY_URI && !check_uri (value, &local_error)) {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: %s",
                       path, lineno, local_error->message);
          goto fail;
        }
        set_string (G_STRUCT_MEMBER_P (&parsed, conf_keys[i].offset), value);
      } else {
        gint64 usec = 0;

        if (!amigo_duration_parse (value, &usec, &local_error)) {
          g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s:%u: [%s] %s: %s",
                       path, lineno, groups[g], keys[k], local_error->message);
          goto fail;
        }
        G_STRUCT_MEMBER (gint64, &parsed, conf_keys[i].offset) = usec;
      }
    }
  }

  if (!amigo_conf_validate (&parsed, &local_error)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: %s", path, local_error->message);
    goto fail;
  }

  g_free (self->uri);
  g_free (self->state_dir);
  g_free (self->export_textfile);
  g_free (self->path);
  *self = parsed;
  return TRUE;

fail:
  g_free (parsed.uri);
  g_free (parsed.state_dir);
  g_free (parsed.export_textfile);
  g_free (parsed.path);
  return FALSE;
}

void
amigo_conf_apply_env (AmigoConf *self)
{
  const char *uri = g_getenv ("AMIGOD_URI");
  const char *state_dir = g_getenv ("AMIGOD_STATE_DIR");

  if (uri != NULL && *uri != '\0')
    set_string (&self->uri, uri);
  if (state_dir != NULL && *state_dir != '\0')
    set_string (&self->state_dir, state_dir);
}

/* "[group] key: expected at least WHAT ('MIN'), got 'VALUE'" */
static gboolean
check_at_least (const char *key, gint64 value_usec, const char *what, gint64 min_usec, GError **error)
{
  g_autofree char *v = NULL;
  g_autofree char *m = NULL;

  if (value_usec >= min_usec)
    return TRUE;
  v = amigo_duration_format (value_usec);
  m = amigo_duration_format (min_usec);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: expected at least %s ('%s'), got '%s'",
               key, what, m, v);
  return FALSE;
}

/* The ledger refuses what these refuse; saying it here names the key. */
static gboolean
check_allocation (const AmigoConf *self, GError **error)
{
  g_autofree char *lease = amigo_duration_format (self->allocation.lease_usec);

  if (self->allocation.lease_usec < 10 * AMIGO_USEC_PER_SEC || self->allocation.lease_usec > AMIGO_USEC_PER_DAY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[allocation] lease: expected between '10s' and '1d', got '%s'", lease);
    return FALSE;
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    double oc = self->allocation.overcommit[r];
    double cap = self->allocation.capacity[r];

    /* below 1 is a second reserve; above 100 is a typo */
    if (!(oc >= 0.1 && oc <= 100.0)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "[allocation] overcommit_%s: expected a ratio between 0.1 and 100, got %g",
                   amigo_resource_to_string (r), oc);
      return FALSE;
    }
    if (!isnan (cap) && self->allocation.reserve[r] > cap) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "[allocation] reserve_%s: expected at most the capacity (%g %s), got %g",
                   amigo_resource_to_string (r), cap, amigo_resource_unit (r), self->allocation.reserve[r]);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
amigo_conf_validate (const AmigoConf *self, GError **error)
{
  const AmigoHistoryOptions *h = &self->history;

  /* again here for AMIGOD_URI, which has no line to name */
  if (!check_uri (self->uri, error))
    return FALSE;
  if (self->interval_usec < AMIGO_USEC_PER_SEC || self->interval_usec > AMIGO_USEC_PER_HOUR) {
    g_autofree char *d = amigo_duration_format (self->interval_usec);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[daemon] interval: expected between '1s' and '1h', got '%s'", d);
    return FALSE;
  }
  if (!check_at_least ("[daemon] metadata_interval", self->metadata_interval_usec,
                       "the interval", self->interval_usec, error))
    return FALSE;
  /* libvirt measures dirty rates in whole seconds */
  if (self->dirty_rate_period_usec % AMIGO_USEC_PER_SEC != 0 ||
      self->dirty_rate_period_usec > 60 * AMIGO_USEC_PER_SEC) {
    g_autofree char *d = amigo_duration_format (self->dirty_rate_period_usec);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[daemon] dirty_rate_period: expected whole seconds, at most '60s', got '%s'", d);
    return FALSE;
  }
  if (!g_path_is_absolute (self->state_dir)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[daemon] state_dir: expected an absolute path, got '%s'", self->state_dir);
    return FALSE;
  }
  if (self->forecast.window_usec < 0 || self->forecast.window_usec > AMIGO_REQUEST_WINDOW_MAX_USEC ||
      self->forecast.settle_usec < 0 || self->forecast.settle_usec > AMIGO_REQUEST_SETTLE_MAX_USEC) {
    g_autofree char *w = amigo_duration_format (self->forecast.window_usec);
    g_autofree char *st = amigo_duration_format (self->forecast.settle_usec);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[forecast] window and settle: expected at most '7d' and '1d', got '%s' and '%s'", w, st);
    return FALSE;
  }
  if (!(self->forecast.link_mbit_s >= AMIGO_REQUEST_LINK_MIN_MBIT_S &&
        self->forecast.link_mbit_s <= AMIGO_REQUEST_LINK_MAX_MBIT_S)) {
    g_autofree char *l = amigo_bandwidth_format (self->forecast.link_mbit_s);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[forecast] link: expected between '1M' and '1T', got '%s'", l);
    return FALSE;
  }
  /* A request is rewritten before half its age: a shorter age than two
   * metadata intervals would leave it stale between two writes. */
  if (self->forecast.max_age_usec != 0 &&
      !check_at_least ("[forecast] max_age", self->forecast.max_age_usec, "twice the metadata_interval",
                       2 * self->metadata_interval_usec, error))
    return FALSE;
  if (!check_at_least ("[history] step", h->step_usec, "the interval", self->interval_usec, error) ||
      !check_at_least ("[history] raw_retention", h->raw_retention_usec, "the step", h->step_usec, error) ||
      !check_at_least ("[history] retention", h->retention_usec, "raw_retention", h->raw_retention_usec, error))
    return FALSE;
  /* A limit on what the configuration can make amigod keep and summarise
   * per domain (the summary in the metadata spans the retention). */
  if (h->retention_usec > 366 * AMIGO_USEC_PER_DAY || h->raw_retention_usec > 31 * AMIGO_USEC_PER_DAY) {
    g_autofree char *r = amigo_duration_format (h->retention_usec);
    g_autofree char *rr = amigo_duration_format (h->raw_retention_usec);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "[history] retention: expected at most '366d' (raw_retention at most '31d'), got '%s' ('%s')",
                 r, rr);
    return FALSE;
  }
  return check_allocation (self, error);
}
