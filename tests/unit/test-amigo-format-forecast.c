/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-format-forecast.h"
#include "amigo-format.h"
#include "amigo-time.h"

#define T0 G_GINT64_CONSTANT (1795650000000000)

/* A reply as GetReservationRequest sends it (data/org.amigo.Daemon1.xml). */
static GVariant *
sample_request (gboolean stale, gboolean dirty_known)
{
  g_autofree char *text = g_strdup_printf (
    "{'domain': <'web'>, 'uuid': <'6695eb01-f6a4-8304-79aa-97f2502e193f'>,"
    " 'computed_usec': <int64 %" G_GINT64_FORMAT ">, 'stale': <%s>,"
    " 'class': <'web_server'>, 'class_source': <'label'>, 'quantile': <0.95>,"
    " 'start_usec': <int64 %" G_GINT64_FORMAT ">, 'end_usec': <int64 %" G_GINT64_FORMAT ">,"
    " 'window_usec': <int64 3600000000>, 'settle_usec': <int64 600000000>, 'link_mbit_s': <10000.0>,"
    " 'dirty_rate_known': <%s>,"
    " 'migration': <{'duration_usec': <int64 42000000>, 'downtime_usec': <int64 120000>,"
    "                'bytes_sent': <uint64 13000000000>, 'rounds': <uint32 3>, 'converges': <false>}>,"
    " 'resources': <{'memory': {'unit': <'GiB'>, 'reserve': <4.5>, 'bound': <4.25>, 'mean': <4.0>,"
    "                           'overhead': <0.25>, 'method': <'conformal_day_peak'>},"
    "               'fpga': {'unit': <'slots'>, 'reserve': <1.0>},"
    "               'cpu': {'unit': <'cores'>, 'reserve': <1.375>, 'bound': <1.125>, 'mean': <0.5>,"
    "                       'overhead': <0.25>, 'method': <'arima'>, 'coverage': <0.96>, 'score': <0.0123>}}>,"
    " 'json': <'{\"request_version\":1,\"class_source\":\"label\"}'>}",
    T0, stale ? "true" : "false", T0, T0 + 70 * AMIGO_USEC_PER_MIN, dirty_known ? "true" : "false");

  return g_variant_ref_sink (g_variant_new_parsed (text));
}

static char *
line_starting (const char *text, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i]);
  }
  fail_msg ("no line starting with '%s' in:\n%s", prefix, text);
  return NULL;
}

/* A table row equals @want once its column padding is one space. */
static void
assert_row (const char *row, const char *want)
{
  g_autoptr (GRegex) spaces = g_regex_new (" +", 0, 0, NULL);
  g_autofree char *squeezed = g_regex_replace_literal (spaces, row, -1, 0, " ", 0, NULL);

  assert_string_equal (squeezed, want);
}

/* One row per resource, in the forecast's order, unknown ones last; the
 * columns say what the brief promises: reserve, bound, mean, overhead,
 * method and backtest coverage. */
static void
test_format_forecast_table (void **state)
{
  g_autoptr (GVariant) request = sample_request (FALSE, TRUE);
  g_autofree char *text = amigo_format_forecast_text (request, T0 + 2 * AMIGO_USEC_PER_MIN);
  g_autofree char *header = line_starting (text, "RESOURCE");
  g_autofree char *cpu = line_starting (text, "cpu ");
  g_autofree char *memory = line_starting (text, "memory ");
  g_autofree char *fpga = line_starting (text, "fpga ");
  g_autofree char *klass = line_starting (text, "Class:");
  g_autofree char *computed = line_starting (text, "Computed:");
  g_autofree char *migration = line_starting (text, "Migration:");
  g_autofree char *window = line_starting (text, "Window:");

  assert_non_null (strstr (header, "RESERVE"));
  assert_non_null (strstr (header, "COVERAGE"));
  assert_row (cpu, "cpu cores 1.38 1.12 0.50 0.25 arima 96.0%");
  assert_row (memory, "memory GiB 4.50 4.25 4.00 0.25 conformal_day_peak -");
  assert_row (fpga, "fpga slots 1.00 - - - - -");
  assert_true (strstr (text, "cpu ") < strstr (text, "memory ") && strstr (text, "memory ") < strstr (text, "fpga "));

  assert_string_equal (klass, "Class:       web_server (from an administrator's label)");
  assert_non_null (strstr (computed, "(2m ago)"));
  assert_null (strstr (computed, "STALE"));
  assert_non_null (strstr (migration, "estimate 42s, downtime 120ms, 12.1 GiB sent in 3 rounds"));
  assert_non_null (strstr (migration, "does not converge"));
  assert_non_null (strstr (window, "migration window 1h + settle 10m, link 10 Gbit/s"));
  /* known dirty rate, unknown host memory: neither line */
  assert_null (strstr (text, "Dirty rate:"));
  assert_null (strstr (text, "Host memory:"));
}

static void
test_format_forecast_stale_and_unknowns (void **state)
{
  g_autoptr (GVariant) request = sample_request (TRUE, FALSE);
  g_autofree char *text = amigo_format_forecast_text (request, T0 + 3 * AMIGO_USEC_PER_HOUR);
  g_autofree char *computed = line_starting (text, "Computed:");
  g_autofree char *dirty = line_starting (text, "Dirty rate:");

  assert_non_null (strstr (computed, "(3h ago), STALE"));
  assert_non_null (strstr (dirty, "unknown"));
}

/* A reply from another version (keys missing, of another type, no
 * resources) prints "-" where it lacks something and never crashes. */
static void
test_format_forecast_garbage (void **state)
{
  static const char *replies[] = {
    "@a{sv} {}",
    "{'domain': <42>, 'stale': <'yes'>, 'migration': <'fast'>, 'resources': <[1, 2]>}",
    "{'resources': <@a{sa{sv}} {}>}",
    "{'resources': <{'cpu': {'reserve': <'lots'>, 'coverage': <nan>}}>}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (replies); i++) {
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed (replies[i]));
    g_autofree char *text = amigo_format_forecast_text (v, T0);
    g_autoptr (JsonNode) json = amigo_format_forecast_json (v);
    g_autofree char *doc = amigo_format_json (json);

    assert_non_null (strstr (text, "Domain:      - (-)"));
    assert_non_null (doc);
  }
}

/* --json: one document, the bus keys as members, the metadata's JSON form
 * embedded as an object, numbers as numbers. */
static void
test_format_forecast_json (void **state)
{
  g_autoptr (GVariant) request = sample_request (FALSE, TRUE);
  g_autoptr (JsonNode) root = amigo_format_forecast_json (request);
  g_autofree char *doc = amigo_format_json (root);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj, *cpu, *migration;

  assert_true (json_parser_load_from_data (parser, doc, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  assert_string_equal (json_object_get_string_member (obj, "class_source"), "label");
  assert_false (json_object_get_boolean_member (obj, "stale"));
  assert_int_equal (json_object_get_int_member (obj, "computed_usec"), T0);
  assert_int_equal (json_object_get_int_member (json_object_get_object_member (obj, "json"), "request_version"), 1);
  cpu = json_object_get_object_member (json_object_get_object_member (obj, "resources"), "cpu");
  assert_float_equal (json_object_get_double_member (cpu, "reserve"), 1.375, 0);
  assert_float_equal (json_object_get_double_member (cpu, "coverage"), 0.96, 0);
  assert_string_equal (json_object_get_string_member (cpu, "method"), "arima");
  migration = json_object_get_object_member (obj, "migration");
  assert_int_equal (json_object_get_int_member (migration, "bytes_sent"), G_GINT64_CONSTANT (13000000000));
  assert_int_equal (json_object_get_int_member (migration, "rounds"), 3);
}

/* NaN has no JSON form: it becomes null, never the text "nan". Members
 * come sorted, whatever order the dictionary had. */
static void
test_format_variant_to_json_nan (void **state)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new_parsed ("{'b': <[int64 1, 2]>, 'c': <'x'>, 'a': <nan>}"));
  g_autoptr (JsonNode) root = amigo_format_variant_to_json (v);
  JsonObject *obj = json_node_get_object (root);
  g_autoptr (GList) members = json_object_get_members (obj);

  assert_string_equal (members->data, "a");
  assert_string_equal (members->next->data, "b");
  assert_string_equal (members->next->next->data, "c");

  assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (obj, "a")));
  assert_int_equal (json_array_get_length (json_object_get_array_member (obj, "b")), 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_format_forecast_table),
    cmocka_unit_test (test_format_forecast_stale_and_unknowns),
    cmocka_unit_test (test_format_forecast_garbage),
    cmocka_unit_test (test_format_forecast_json),
    cmocka_unit_test (test_format_variant_to_json_nan),
  };
  return cmocka_run_group_tests_name ("format-forecast", tests, NULL, NULL);
}
