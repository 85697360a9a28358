/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-format.h"
#include "amigo-time.h"

/* Columns line up: every header and cell of a column starts (left) or ends
 * (right) at the same offset. */
static void
test_format_table_alignment (void **state)
{
  const char *headers[] = { "NAME", "CPU [cores]" };
  const gboolean right[] = { FALSE, TRUE };
  g_autoptr (AmigoTable) t = amigo_table_new (headers, right, 2);
  const char *r1[] = { "a-very-long-name", "0.98" };
  const char *r2[] = { "db", "12.3" };
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  gsize width;

  amigo_table_add_row (t, r1);
  amigo_table_add_row (t, r2);
  assert_int_equal (amigo_table_get_n_rows (t), 2);
  text = amigo_table_render (t);
  lines = g_strsplit (text, "\n", -1);
  assert_int_equal (g_strv_length (lines), 4);   /* header, 2 rows, "" */
  width = strlen (lines[0]);
  assert_int_equal (strlen (lines[1]), width);
  assert_int_equal (strlen (lines[2]), width);
  /* second column starts after the longest name plus two spaces */
  assert_int_equal (strstr (lines[0], "CPU") - lines[0], strlen ("a-very-long-name") + 2);
  assert_true (g_str_has_suffix (lines[1], " 0.98"));
  assert_true (g_str_has_prefix (lines[2], "db "));
}

static void
test_format_durations_and_bytes (void **state)
{
  static const struct {
    gint64 usec;
    const char *text;
  } d[] = {
    { 250 * AMIGO_USEC_PER_MSEC, "250ms" },
    { 12 * AMIGO_USEC_PER_SEC, "12s" },
    { 5 * AMIGO_USEC_PER_MIN + 10 * AMIGO_USEC_PER_SEC, "5m 10s" },
    { 2 * AMIGO_USEC_PER_DAY + 3 * AMIGO_USEC_PER_HOUR + 59 * AMIGO_USEC_PER_MIN, "2d 3h" },
    { AMIGO_USEC_PER_HOUR, "1h" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (d); i++) {
    g_autofree char *s = amigo_format_duration (d[i].usec);
    assert_string_equal (s, d[i].text);
  }
  {
    g_autofree char *b0 = amigo_format_bytes (620);
    g_autofree char *b1 = amigo_format_bytes (1536);
    g_autofree char *b2 = amigo_format_bytes (3 * 1024 * 1024 + 512 * 1024);
    assert_string_equal (b0, "620 B");
    assert_string_equal (b1, "1.5 KiB");
    assert_string_equal (b2, "3.5 MiB");
  }
}

static void
test_format_values (void **state)
{
  g_autofree char *a = amigo_format_value (0.984);
  g_autofree char *b = amigo_format_value (123.45);
  g_autofree char *c = amigo_format_value (4321.4);
  g_autofree char *n = amigo_format_value (NAN);

  assert_string_equal (a, "0.98");
  assert_string_equal (b, "123.5");
  assert_string_equal (c, "4321");
  assert_string_equal (n, "-");
}

static void
test_format_parse_time (void **state)
{
  gint64 now = G_GINT64_CONSTANT (1764064800) * AMIGO_USEC_PER_SEC;
  gint64 t = 0;
  static const char *bad[] = { "", "yesterday", "@", "@12x", "-5", "2026-13-45T00:00:00Z", "0h" };

  assert_true (amigo_format_parse_time ("now", now, &t, NULL));
  assert_int_equal (t, now);
  assert_true (amigo_format_parse_time ("2h", now, &t, NULL));
  assert_int_equal (t, now - 2 * AMIGO_USEC_PER_HOUR);
  assert_true (amigo_format_parse_time ("@1764064800", now, &t, NULL));
  assert_int_equal (t, now);
  assert_true (amigo_format_parse_time ("2025-11-25T10:00:00Z", now, &t, NULL));
  assert_int_equal (t, now);
  assert_true (amigo_format_parse_time ("2025-11-25T11:00:00+01:00", now, &t, NULL));
  assert_int_equal (t, now);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    t = -1;
    assert_false (amigo_format_parse_time (bad[i], now, &t, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    assert_int_equal (t, -1);
  }
}

static void
test_format_json_one_document (void **state)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cpu");
  json_builder_add_double_value (b, 0.5);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = amigo_format_json (root);
  assert_true (g_str_has_suffix (text, "}\n"));
  assert_true (json_parser_load_from_data (p, text, -1, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_format_table_alignment),
    cmocka_unit_test (test_format_durations_and_bytes),
    cmocka_unit_test (test_format_values),
    cmocka_unit_test (test_format_parse_time),
    cmocka_unit_test (test_format_json_one_document),
  };
  return cmocka_run_group_tests_name ("format", tests, NULL, NULL);
}
