/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-slo-policy.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-file.h"

/* One `[domain:KEY]` group: what it sets. */
typedef struct {
  gboolean has_priority;
  int priority;
  gboolean has_class;
  AmigoWorkloadClass klass;
} SloDomain;

struct _AmigoSloPolicy {
  AmigoSloClass classes[AMIGO_WORKLOAD_CLASS_LAST];
  GHashTable *domains; /* name or UUID -> SloDomain */
};

/* The resources each class's SLO is about. A database is judged by its
 * query latency, which follows disk IOPS and its buffer cache (memory); a
 * web server by its response time, which follows CPU and network; an ML job
 * by its step time, which follows CPU and GPU memory (a job that does not
 * fit in GPU memory fails or falls back to the CPU). Batch and idle domains
 * promise nothing beyond their admitted reservation, and an unknown class is
 * not given an SLO it may not have. */
static const AmigoResource default_protects[AMIGO_WORKLOAD_CLASS_LAST][2] = {
  [AMIGO_WORKLOAD_CLASS_UNKNOWN] = { AMIGO_RESOURCE_LAST, AMIGO_RESOURCE_LAST },
  [AMIGO_WORKLOAD_CLASS_IDLE] = { AMIGO_RESOURCE_LAST, AMIGO_RESOURCE_LAST },
  [AMIGO_WORKLOAD_CLASS_DATABASE] = { AMIGO_RESOURCE_DISK, AMIGO_RESOURCE_MEMORY },
  [AMIGO_WORKLOAD_CLASS_WEB_SERVER] = { AMIGO_RESOURCE_NETWORK, AMIGO_RESOURCE_CPU },
  [AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING] = { AMIGO_RESOURCE_CPU, AMIGO_RESOURCE_GPU_MEMORY },
  [AMIGO_WORKLOAD_CLASS_BATCH] = { AMIGO_RESOURCE_LAST, AMIGO_RESOURCE_LAST },
};

/* Least allocation as a fraction of the request. A class with an SLO keeps
 * half of what it was admitted with whatever its loop sees (a quiet
 * database must still absorb a burst of queries); a batch or idle domain
 * can be taken down to a tenth, an unknown one to a quarter. */
static const double default_min_fraction[AMIGO_WORKLOAD_CLASS_LAST] = {
  [AMIGO_WORKLOAD_CLASS_UNKNOWN] = 0.25,
  [AMIGO_WORKLOAD_CLASS_IDLE] = 0.10,
  [AMIGO_WORKLOAD_CLASS_DATABASE] = 0.50,
  [AMIGO_WORKLOAD_CLASS_WEB_SERVER] = 0.50,
  [AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING] = 0.50,
  [AMIGO_WORKLOAD_CLASS_BATCH] = 0.10,
};

/* Steady headroom: the PID loop's own 10 % (tuned by bench-controller), 20 %
 * on a protected resource, whose shortfall is an SLO miss. */
#define HEADROOM_DEFAULT 0.10
#define HEADROOM_PROTECTED 0.20

static void
class_defaults (AmigoWorkloadClass klass, AmigoSloClass *ret)
{
  memset (ret, 0, sizeof *ret);
  ret->priority = amigo_workload_class_priority (klass);
  for (guint i = 0; i < G_N_ELEMENTS (default_protects[klass]); i++) {
    if (default_protects[klass][i] < AMIGO_RESOURCE_LAST)
      ret->protects[default_protects[klass][i]] = TRUE;
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    ret->headroom[r] = ret->protects[r] ? HEADROOM_PROTECTED : HEADROOM_DEFAULT;
  ret->min_fraction = default_min_fraction[klass];
  /* the request is the ceiling: more than was admitted is not the host's
   * to give without a new admission */
  ret->max_fraction = 1.0;
  /* amigo_pid_params_init()'s rates over the range [0, request]: raise
   * within two seconds, hand back over a minute */
  ret->max_rise = 0.5;
  ret->max_fall = 1.0 / 60.0;
}

static GHashTable *
domains_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

AmigoSloPolicy *
amigo_slo_policy_new (void)
{
  AmigoSloPolicy *self = g_new0 (AmigoSloPolicy, 1);

  for (guint k = 0; k < AMIGO_WORKLOAD_CLASS_LAST; k++)
    class_defaults (k, &self->classes[k]);
  self->domains = domains_new ();
  return self;
}

void
amigo_slo_policy_free (AmigoSloPolicy *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->domains);
  g_free (self);
}

const AmigoSloClass *
amigo_slo_policy_get_class (const AmigoSloPolicy *self, AmigoWorkloadClass klass)
{
  g_return_val_if_fail (self != NULL, NULL);
  if (klass >= AMIGO_WORKLOAD_CLASS_LAST)
    klass = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  return &self->classes[klass];
}

guint
amigo_slo_policy_get_n_domains (const AmigoSloPolicy *self)
{
  return g_hash_table_size (self->domains);
}

void
amigo_slo_policy_lookup (const AmigoSloPolicy *self, const char *name, const char *uuid,
                         AmigoWorkloadClass detected, AmigoSloDomainPolicy *ret_policy)
{
  /* by name first, so that the UUID's group, which cannot be ambiguous,
   * has the last word */
  const char *keys[] = { name, uuid };
  gboolean has_priority = FALSE;
  int priority = 0;

  g_return_if_fail (self != NULL && ret_policy != NULL);
  if (detected >= AMIGO_WORKLOAD_CLASS_LAST)
    detected = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  ret_policy->klass = detected;
  ret_policy->overridden = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const SloDomain *d = keys[i] != NULL ? g_hash_table_lookup (self->domains, keys[i]) : NULL;

    if (d == NULL)
      continue;
    ret_policy->overridden = TRUE;
    if (d->has_class)
      ret_policy->klass = d->klass;
    if (d->has_priority) {
      has_priority = TRUE;
      priority = d->priority;
    }
  }
  ret_policy->params = self->classes[ret_policy->klass];
  if (has_priority)
    ret_policy->params.priority = priority;
}

void
amigo_slo_domain_policy_pid_params (const AmigoSloDomainPolicy *policy, AmigoResource resource,
                                    double request, AmigoPidParams *ret_params)
{
  const AmigoSloClass *c = &policy->params;
  double headroom;

  g_return_if_fail (resource < AMIGO_RESOURCE_LAST);
  headroom = c->headroom[resource];
  amigo_pid_params_init (ret_params, c->min_fraction * request, c->max_fraction * request);
  ret_params->max_rise_per_sec = c->max_rise * request;
  ret_params->max_fall_per_sec = c->max_fall * request;
  ret_params->phase[AMIGO_PID_PHASE_STEADY].headroom = headroom;
  /* a migration's phases are less certain than steady state: never less
   * headroom there than in steady state */
  for (guint p = 0; p < AMIGO_PID_PHASE_LAST; p++)
    ret_params->phase[p].headroom = MAX (ret_params->phase[p].headroom, headroom);
}

/* ---- configuration file ---- */

typedef struct {
  const char *path;
  const char *contents;
} Ctx;

/* GKeyFile keeps no line numbers, so the line of a group (@key NULL) or of
 * a key in it is looked up in the text when a message needs it. The last
 * occurrence wins, as in GKeyFile. 0 if not found. */
static guint
find_line (const char *contents, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_autofree char *current = NULL;
  guint found = 0;

  for (guint i = 0; lines[i] != NULL; i++) {
    char *line = g_strstrip (lines[i]);
    char *eq;

    if (*line == '[') {
      char *close = strrchr (line, ']');

      g_free (current);
      current = close != NULL ? g_strndup (line + 1, close - line - 1) : NULL;
      if (key == NULL && g_strcmp0 (current, group) == 0)
        found = i + 1;
      continue;
    }
    if (key == NULL || *line == '#' || g_strcmp0 (current, group) != 0 || (eq = strchr (line, '=')) == NULL)
      continue;
    *eq = '\0';
    if (strcmp (g_strchomp (line), key) == 0)
      found = i + 1;
  }
  return found;
}

/* The first line GKeyFile cannot read (not blank, a comment, a '[group]' or
 * a 'key = value'), to name its number; 0 if none is found (GKeyFile then
 * refused something else, and its own message says what). */
static guint
find_bad_line (const char *contents, char **ret_line)
{
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    char *line = g_strstrip (lines[i]);
    gsize len = strlen (line);

    if (len == 0 || *line == '#' || (*line == '[' ? line[len - 1] == ']' : strchr (line, '=') != NULL))
      continue;
    *ret_line = g_strdup (line);
    return i + 1;
  }
  return 0;
}

/* "path:line: [group] key" (or "path: [group]" etc. when unknown) */
static char *
where (const Ctx *ctx, const char *group, const char *key)
{
  guint line = find_line (ctx->contents, group, key);
  g_autofree char *at = line > 0 ? g_strdup_printf ("%s:%u", ctx->path, line) : g_strdup (ctx->path);

  if (key == NULL)
    return g_strdup_printf ("%s: [%s]", at, group);
  return g_strdup_printf ("%s: [%s] %s", at, group, key);
}

static gboolean
bad_value (const Ctx *ctx, const char *group, const char *key, const char *expected, const char *got,
           GError **error)
{
  g_autofree char *w = where (ctx, group, key);

  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: expected %s, got '%s'", w, expected, got);
  return FALSE;
}

static gboolean
parse_double (const char *text, double min, double max, double *ret)
{
  char *end = NULL;
  double v;

  errno = 0;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || errno != 0 || !isfinite (v) || v < min || v > max)
    return FALSE;
  *ret = v;
  return TRUE;
}

static gboolean
get_value (const Ctx *ctx, GKeyFile *kf, const char *group, const char *key, char **ret_value, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *value = g_key_file_get_string (kf, group, key, &local_error);

  if (value == NULL) {
    g_autofree char *w = where (ctx, group, key);

    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: %s", w, local_error->message);
    return FALSE;
  }
  *ret_value = g_strstrip (value);
  return TRUE;
}

static gboolean
parse_priority (const char *value, int *ret)
{
  char *end = NULL;
  gint64 v;

  errno = 0;
  v = g_ascii_strtoll (value, &end, 10);
  if (end == value || *end != '\0' || errno != 0 || v < 0 || v > AMIGO_SLO_POLICY_MAX_PRIORITY)
    return FALSE;
  *ret = (int) v;
  return TRUE;
}

static gboolean
parse_protect (const char *value, gboolean protects[AMIGO_RESOURCE_LAST])
{
  g_auto (GStrv) names = g_strsplit_set (value, ";,", -1);
  gboolean set[AMIGO_RESOURCE_LAST] = { FALSE, };

  if (g_strcmp0 (value, "none") != 0) {
    for (guint i = 0; names[i] != NULL; i++) {
      const char *name = g_strstrip (names[i]);
      AmigoResource r;

      if (*name == '\0')
        continue;
      if (!amigo_resource_from_string (name, &r))
        return FALSE;
      set[r] = TRUE;
    }
  }
  memcpy (protects, set, sizeof set);
  return TRUE;
}

/* A number key of a class: where it goes and its range. */
static const struct {
  const char *key;
  gsize offset;
  double min;
  double max;
  const char *expected;
} class_numbers[] = {
  { "min", G_STRUCT_OFFSET (AmigoSloClass, min_fraction), 0.0, 1.0,
    "a fraction of the request between 0 and 1" },
  { "max", G_STRUCT_OFFSET (AmigoSloClass, max_fraction), 0.01, 10.0,
    "a fraction of the request between 0.01 and 10" },
  { "max_rise", G_STRUCT_OFFSET (AmigoSloClass, max_rise), 0.001, 100.0,
    "a fraction of the request per second between 0.001 and 100" },
  { "max_fall", G_STRUCT_OFFSET (AmigoSloClass, max_fall), 0.001, 100.0,
    "a fraction of the request per second between 0.001 and 100" },
};

#define HEADROOM_MAX 10.0
#define HEADROOM_EXPECTED "a fraction of the usage between 0 and 10"

static gboolean
unknown_key (const Ctx *ctx, const char *group, const char *key, const char *known, GError **error)
{
  g_autofree char *w = where (ctx, group, key);

  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: unknown key '%s'; expected one of %s",
               w, key, known);
  return FALSE;
}

/* `headroom` sets every resource and `headroom_<resource>` one, whatever
 * their order in the file, so `headroom` is read first. */
static gboolean
parse_class_key (const Ctx *ctx, GKeyFile *kf, const char *group, const char *key, AmigoSloClass *c,
                 GError **error)
{
  g_autofree char *value = NULL;
  g_autofree char *range = NULL;

  if (!get_value (ctx, kf, group, key, &value, error))
    return FALSE;
  if (strcmp (key, "priority") == 0) {
    range = g_strdup_printf ("an integer between 0 and %d", AMIGO_SLO_POLICY_MAX_PRIORITY);
    return parse_priority (value, &c->priority) ||
           bad_value (ctx, group, key, range, value, error);
  }
  if (strcmp (key, "protect") == 0) {
    g_autofree char *names = amigo_resource_join_names (NULL);

    range = g_strdup_printf ("resource names from %s separated by ';', or 'none'", names);
    return parse_protect (value, c->protects) || bad_value (ctx, group, key, range, value, error);
  }
  if (strcmp (key, "headroom") == 0) {
    double h = 0;

    if (!parse_double (value, 0.0, HEADROOM_MAX, &h))
      return bad_value (ctx, group, key, HEADROOM_EXPECTED, value, error);
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      c->headroom[r] = h;
    return TRUE;
  }
  if (g_str_has_prefix (key, "headroom_")) {
    AmigoResource r;

    if (amigo_resource_from_string (key + strlen ("headroom_"), &r))
      return parse_double (value, 0.0, HEADROOM_MAX, &c->headroom[r]) ||
             bad_value (ctx, group, key, HEADROOM_EXPECTED, value, error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (class_numbers); i++) {
    if (strcmp (key, class_numbers[i].key) == 0)
      return parse_double (value, class_numbers[i].min, class_numbers[i].max,
                           G_STRUCT_MEMBER_P (c, class_numbers[i].offset)) ||
             bad_value (ctx, group, key, class_numbers[i].expected, value, error);
  }
  {
    g_autofree char *headrooms = amigo_resource_join_names ("headroom_");
    g_autofree char *known = g_strdup_printf ("priority, protect, headroom, %s, min, max, max_rise, max_fall",
                                              headrooms);

    return unknown_key (ctx, group, key, known, error);
  }
}

static gboolean
parse_class_group (const Ctx *ctx, GKeyFile *kf, const char *group, AmigoSloClass *c, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

  if (g_key_file_has_key (kf, group, "headroom", NULL) &&
      !parse_class_key (ctx, kf, group, "headroom", c, error))
    return FALSE;
  for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
    if (strcmp (keys[k], "headroom") != 0 && !parse_class_key (ctx, kf, group, keys[k], c, error))
      return FALSE;
  }
  if (c->min_fraction > c->max_fraction) {
    g_autofree char *w = where (ctx, group, g_key_file_has_key (kf, group, "min", NULL) ? "min" : "max");

    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "%s: expected min at most max, got min %g above max %g", w, c->min_fraction,
                 c->max_fraction);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_domain_group (const Ctx *ctx, GKeyFile *kf, const char *group, SloDomain *d, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

  for (guint k = 0; keys != NULL && keys[k] != NULL; k++) {
    g_autofree char *value = NULL;

    if (!get_value (ctx, kf, group, keys[k], &value, error))
      return FALSE;
    if (strcmp (keys[k], "priority") == 0) {
      g_autofree char *range = g_strdup_printf ("an integer between 0 and %d", AMIGO_SLO_POLICY_MAX_PRIORITY);

      if (!parse_priority (value, &d->priority))
        return bad_value (ctx, group, keys[k], range, value, error);
      d->has_priority = TRUE;
    } else if (strcmp (keys[k], "class") == 0) {
      if (!amigo_workload_class_from_string (value, &d->klass)) {
        g_autofree char *names = amigo_workload_class_join_names (NULL);
        g_autofree char *expected = g_strdup_printf ("one of %s", names);

        return bad_value (ctx, group, keys[k], expected, value, error);
      }
      d->has_class = TRUE;
    } else {
      return unknown_key (ctx, group, keys[k], "priority, class", error);
    }
  }
  return TRUE;
}

static gboolean
parse_group (const Ctx *ctx, GKeyFile *kf, const char *group, AmigoSloClass *classes, GHashTable *domains,
             GError **error)
{
  AmigoWorkloadClass klass;

  if (g_str_has_prefix (group, "class:")) {
    if (!amigo_workload_class_from_string (group + strlen ("class:"), &klass)) {
      g_autofree char *names = amigo_workload_class_join_names (NULL);
      g_autofree char *expected = g_strdup_printf ("a class name from %s", names);
      g_autofree char *w = where (ctx, group, NULL);

      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: expected %s after 'class:', got '%s'",
                   w, expected, group + strlen ("class:"));
      return FALSE;
    }
    return parse_class_group (ctx, kf, group, &classes[klass], error);
  }
  if (g_str_has_prefix (group, "domain:")) {
    const char *name = group + strlen ("domain:");
    SloDomain *d;

    if (*name == '\0' || strlen (name) > 255) {
      g_autofree char *w = where (ctx, group, NULL);

      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "%s: expected a domain name or UUID of 1 to 255 characters after 'domain:'", w);
      return FALSE;
    }
    d = g_hash_table_lookup (domains, name);
    if (d == NULL) {
      if (g_hash_table_size (domains) >= AMIGO_SLO_POLICY_MAX_DOMAINS) {
        g_autofree char *w = where (ctx, group, NULL);

        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                     "%s: expected at most %d [domain:...] groups", w, AMIGO_SLO_POLICY_MAX_DOMAINS);
        return FALSE;
      }
      d = g_new0 (SloDomain, 1);
      g_hash_table_insert (domains, g_strdup (name), d);
    }
    return parse_domain_group (ctx, kf, group, d, error);
  }
  {
    g_autofree char *w = where (ctx, group, NULL);

    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "%s: unknown group; expected '[class:NAME]' or '[domain:NAME-OR-UUID]'", w);
    return FALSE;
  }
}

gboolean
amigo_slo_policy_load_data (AmigoSloPolicy *self, const char *path, const char *data, gsize len,
                            GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GHashTable) domains = domains_new ();
  g_autofree char *contents = NULL;
  g_auto (GStrv) groups = NULL;
  AmigoSloClass classes[AMIGO_WORKLOAD_CLASS_LAST];
  GHashTableIter iter;
  gpointer key, value;
  Ctx ctx = { path, NULL };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (data == NULL)
    data = "";
  if (len > AMIGO_SLO_POLICY_MAX_FILE_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: expected at most %" G_GSIZE_FORMAT
                 " bytes, the file has %" G_GSIZE_FORMAT, path, AMIGO_SLO_POLICY_MAX_FILE_BYTES, len);
    return FALSE;
  }
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, len, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "%s: expected UTF-8 text, the file contains binary data", path);
    return FALSE;
  }
  /* the line lookup wants a terminated string */
  contents = g_strndup (data, len);
  if (!g_key_file_load_from_data (kf, contents, len, G_KEY_FILE_NONE, &local_error)) {
    g_autofree char *bad = NULL;
    guint line = find_bad_line (contents, &bad);

    if (line > 0)
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                   "%s:%u: expected 'key = value', '[class:NAME]', '[domain:NAME-OR-UUID]' or a '#' comment, "
                   "got '%s'", path, line, bad);
    else
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "%s: %s", path, local_error->message);
    return FALSE;
  }
  ctx.contents = contents;

  /* Parse into copies so that a failure leaves @self untouched. */
  memcpy (classes, self->classes, sizeof classes);
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (domains, g_strdup (key), g_memdup2 (value, sizeof (SloDomain)));

  groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g] != NULL; g++) {
    if (!parse_group (&ctx, kf, groups[g], classes, domains, error))
      return FALSE;
  }

  memcpy (self->classes, classes, sizeof classes);
  g_hash_table_unref (self->domains);
  self->domains = g_steal_pointer (&domains);
  return TRUE;
}

gboolean
amigo_slo_policy_load_file (AmigoSloPolicy *self, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!amigo_file_read_config (path, "SLO configuration", &contents, &len, error))
    return FALSE;
  return amigo_slo_policy_load_data (self, path, contents, len, error);
}
