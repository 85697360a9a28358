/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-format-forecast.h"

#include <math.h>
#include <string.h>

#include "amigo/amigo-series.h"
#include "amigo-bandwidth.h"
#include "amigo-format.h"
#include "amigo-time.h"

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  g_autoptr (GVariant) ka = g_variant_get_child_value (*(GVariant * const *) a, 0);
  g_autoptr (GVariant) kb = g_variant_get_child_value (*(GVariant * const *) b, 0);

  return strcmp (g_variant_get_string (ka, NULL), g_variant_get_string (kb, NULL));
}

JsonNode *
amigo_format_variant_to_json (GVariant *v)
{
  JsonNode *node;

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_VARIANT)) {
    g_autoptr (GVariant) inner = g_variant_get_variant (v);
    return amigo_format_variant_to_json (inner);
  }
  if (g_variant_is_of_type (v, G_VARIANT_TYPE ("a{s*}"))) {
    JsonObject *obj = json_object_new ();
    g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
    GVariantIter iter;
    GVariant *entry;

    /* by key: a daemon's dictionary comes in hash order, a document for
     * people and diffs should not */
    g_variant_iter_init (&iter, v);
    while ((entry = g_variant_iter_next_value (&iter)) != NULL)
      g_ptr_array_add (entries, entry);
    g_ptr_array_sort (entries, compare_entries);
    for (guint i = 0; i < entries->len; i++) {
      g_autoptr (GVariant) key = g_variant_get_child_value (g_ptr_array_index (entries, i), 0);
      g_autoptr (GVariant) value = g_variant_get_child_value (g_ptr_array_index (entries, i), 1);
      json_object_set_member (obj, g_variant_get_string (key, NULL), amigo_format_variant_to_json (value));
    }
    node = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (node, obj);
    return node;
  }
  if (g_variant_is_container (v) && !g_variant_is_of_type (v, G_VARIANT_TYPE_MAYBE)) {
    JsonArray *arr = json_array_new ();
    GVariantIter iter;
    GVariant *child;

    g_variant_iter_init (&iter, v);
    while ((child = g_variant_iter_next_value (&iter)) != NULL) {
      json_array_add_element (arr, amigo_format_variant_to_json (child));
      g_variant_unref (child);
    }
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, arr);
    return node;
  }

  node = json_node_new (JSON_NODE_VALUE);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING) || g_variant_is_of_type (v, G_VARIANT_TYPE_OBJECT_PATH))
    json_node_set_string (node, g_variant_get_string (v, NULL));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
    json_node_set_boolean (node, g_variant_get_boolean (v));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    json_node_set_int (node, g_variant_get_int64 (v));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    json_node_set_int (node, (gint64) MIN (g_variant_get_uint64 (v), (guint64) G_MAXINT64));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    json_node_set_int (node, g_variant_get_uint32 (v));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    json_node_set_int (node, g_variant_get_int32 (v));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_DOUBLE)) {
    if (isfinite (g_variant_get_double (v)))
      json_node_set_double (node, g_variant_get_double (v));
    else
      json_node_init_null (node);
  } else {
    g_autofree char *text = g_variant_print (v, FALSE);
    json_node_set_string (node, text);
  }
  return node;
}

/* Typed look-ups that leave the default when a key is missing or of
 * another type: a reply from another version never crashes amigoctl. */
static const char *
lookup_str (GVariant *dict, const char *key)
{
  const char *s = NULL;

  if (dict == NULL || !g_variant_lookup (dict, key, "&s", &s))
    return NULL;
  return s;
}

static double
lookup_double (GVariant *dict, const char *key)
{
  double d = NAN;

  if (dict != NULL)
    g_variant_lookup (dict, key, "d", &d);
  return d;
}

static gint64
lookup_int64 (GVariant *dict, const char *key, gint64 fallback)
{
  gint64 x = fallback;

  if (dict != NULL)
    g_variant_lookup (dict, key, "x", &x);
  return x;
}

static char *
format_coverage (double coverage)
{
  if (!isfinite (coverage))
    return g_strdup ("-");
  return g_strdup_printf ("%.1f%%", 100.0 * coverage);
}

static const char *
class_source_text (const char *source)
{
  if (g_strcmp0 (source, "label") == 0)
    return "an administrator's label";
  if (g_strcmp0 (source, "classifier") == 0)
    return "the classifier";
  if (g_strcmp0 (source, "prior") == 0)
    return "the class prior";
  return source != NULL ? source : "unknown source";
}

static void
append_header (GString *out, GVariant *request, gint64 now_usec)
{
  const char *name = lookup_str (request, "domain"), *uuid = lookup_str (request, "uuid");
  const char *klass = lookup_str (request, "class");
  gint64 computed = lookup_int64 (request, "computed_usec", 0);
  gboolean stale = FALSE, known = TRUE;
  double quantile = lookup_double (request, "quantile"), host = lookup_double (request, "host_memory_gib");
  g_autofree char *s_computed = amigo_format_time (computed);

  g_variant_lookup (request, "stale", "b", &stale);
  g_string_append_printf (out, "Domain:      %s (%s)\n", name != NULL ? name : "-", uuid != NULL ? uuid : "-");
  g_string_append_printf (out, "Class:       %s (from %s)\n", klass != NULL ? klass : "-",
                          class_source_text (lookup_str (request, "class_source")));
  g_string_append_printf (out, "Computed:    %s", s_computed);
  if (computed > 0) {
    g_autofree char *ago = amigo_format_duration (MAX (now_usec - computed, 0));
    g_string_append_printf (out, " (%s ago)", ago);
  }
  if (stale)
    g_string_append (out, ", STALE: older than the maximum age, not to be trusted");
  g_string_append_c (out, '\n');

  {
    g_autofree char *start = amigo_format_time (lookup_int64 (request, "start_usec", 0));
    g_autofree char *end = amigo_format_time (lookup_int64 (request, "end_usec", 0));
    g_autofree char *window = amigo_format_duration (lookup_int64 (request, "window_usec", 0));
    g_autofree char *settle = amigo_format_duration (lookup_int64 (request, "settle_usec", 0));
    g_autofree char *link = amigo_bandwidth_format (lookup_double (request, "link_mbit_s"));
    g_string_append_printf (out, "Window:      %s to %s (migration window %s + settle %s, link %s)\n", start, end, window,
                            settle, link);
  }
  {
    g_autoptr (GVariant) m = g_variant_lookup_value (request, "migration", G_VARIANT_TYPE_VARDICT);
    guint64 bytes = 0;
    guint32 rounds = 0;
    gboolean converges = TRUE;
    g_autofree char *duration = NULL, *downtime = NULL, *sent = NULL;

    if (m != NULL) {
      g_variant_lookup (m, "bytes_sent", "t", &bytes);
      g_variant_lookup (m, "rounds", "u", &rounds);
      g_variant_lookup (m, "converges", "b", &converges);
      duration = amigo_format_duration (lookup_int64 (m, "duration_usec", 0));
      downtime = amigo_format_duration (lookup_int64 (m, "downtime_usec", 0));
      sent = amigo_format_bytes (bytes);
      g_string_append_printf (out, "Migration:   estimate %s, downtime %s, %s sent in %u round%s%s\n", duration, downtime, sent,
                              rounds, rounds == 1 ? "" : "s",
                              converges ? "" : " (does not converge: a forced switch-over)");
    } else {
      g_string_append (out, "Migration:   -\n");
    }
  }
  g_variant_lookup (request, "dirty_rate_known", "b", &known);
  if (!known)
    g_string_append (out, "Dirty rate:  unknown: the estimate assumes the whole memory is sent again\n");
  if (isfinite (host))
    g_string_append_printf (out, "Host memory: %.2f GiB (QEMU's resident size, the memory reservation's floor)\n",
                            host);
  if (isfinite (quantile))
    g_string_append_printf (out, "Bounds:      the demand peak's %g%% quantile over the window\n", 100.0 * quantile);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Resources in the forecast's order, then any this version does not know,
 * by name. */
static GPtrArray *
resource_names (GVariant *resources)
{
  GPtrArray *names = g_ptr_array_new ();
  g_autoptr (GPtrArray) others = g_ptr_array_new ();
  GVariantIter iter;
  const char *name;

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    g_autoptr (GVariant) v = g_variant_lookup_value (resources, amigo_resource_to_string (r), NULL);
    if (v != NULL)
      g_ptr_array_add (names, (gpointer) amigo_resource_to_string (r));
  }
  g_variant_iter_init (&iter, resources);
  while (g_variant_iter_next (&iter, "{&s@a{sv}}", &name, NULL)) {
    if (!amigo_resource_from_string (name, NULL))
      g_ptr_array_add (others, (gpointer) name);
  }
  g_ptr_array_sort (others, compare_names);
  g_ptr_array_extend_and_steal (names, g_steal_pointer (&others));
  return names;
}

char *
amigo_format_forecast_text (GVariant *request, gint64 now_usec)
{
  static const char *headers[] = { "RESOURCE", "UNIT", "RESERVE", "BOUND", "MEAN", "OVERHEAD", "METHOD", "COVERAGE" };
  static const gboolean right[] = { FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, FALSE, TRUE };
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GVariant) resources = NULL;
  g_autoptr (AmigoTable) table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));
  g_autoptr (GPtrArray) names = NULL;

  append_header (out, request, now_usec);
  g_string_append_c (out, '\n');
  resources = g_variant_lookup_value (request, "resources", G_VARIANT_TYPE ("a{sa{sv}}"));
  if (resources == NULL || g_variant_n_children (resources) == 0) {
    g_string_append (out, "No resource has history yet.\n");
    return g_string_free (g_steal_pointer (&out), FALSE);
  }
  names = resource_names (resources);
  for (guint i = 0; i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autoptr (GVariant) r = g_variant_lookup_value (resources, name, G_VARIANT_TYPE_VARDICT);
    const char *unit = lookup_str (r, "unit"), *method = lookup_str (r, "method");
    g_autofree char *reserve = amigo_format_value (lookup_double (r, "reserve"));
    g_autofree char *bound = amigo_format_value (lookup_double (r, "bound"));
    g_autofree char *mean = amigo_format_value (lookup_double (r, "mean"));
    g_autofree char *overhead = amigo_format_value (lookup_double (r, "overhead"));
    g_autofree char *coverage = format_coverage (lookup_double (r, "coverage"));
    const char *row[] = { name, unit != NULL ? unit : "-", reserve, bound, mean, overhead,
                          method != NULL ? method : "-", coverage };

    amigo_table_add_row (table, row);
  }
  {
    g_autofree char *text = amigo_table_render (table);
    g_string_append (out, text);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

JsonNode *
amigo_format_forecast_json (GVariant *request)
{
  JsonNode *root = amigo_format_variant_to_json (request);
  JsonObject *obj = json_node_get_object (root);
  const char *text = lookup_str (request, "json");

  if (text != NULL) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    /* left as the string it came as if it does not parse: it is the
     * daemon's to get right, and the user still sees it */
    if (json_parser_load_from_data (parser, text, -1, NULL) && json_parser_get_root (parser) != NULL)
      json_object_set_member (obj, "json", json_node_copy (json_parser_get_root (parser)));
  }
  return root;
}
