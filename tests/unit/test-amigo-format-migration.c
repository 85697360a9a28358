/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl migrate's lines: the plan, the progress bar at given widths,
 * the end and the measured-vs-predicted figures, the migrations table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "amigo-format-migration.h"
#include "amigo-time.h"

#define NOW_USEC G_GINT64_CONSTANT (1796400000000000)
#define MIB G_GUINT64_CONSTANT (1048576)

static GVariant *
progress_mid (void)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "phase", "s", "precopy");
  g_variant_dict_insert (&d, "percent", "d", 45.25);
  g_variant_dict_insert (&d, "data_sent_bytes", "t", 80 * MIB + MIB / 2);
  g_variant_dict_insert (&d, "data_remaining_bytes", "t", 98 * MIB);
  g_variant_dict_insert (&d, "memory_processed_bytes", "t", 1 * MIB);
  g_variant_dict_insert (&d, "dirty_rate_mib_s", "d", 12.34);
  g_variant_dict_insert (&d, "expected_downtime_usec", "x", (gint64) 300000);
  g_variant_dict_insert (&d, "elapsed_usec", "x", (gint64) 12300000);
  g_variant_dict_insert (&d, "bandwidth_mib_s", "d", 80.0);
  g_variant_dict_insert (&d, "iteration", "t", (guint64) 3);
  return g_variant_ref_sink (g_variant_dict_end (&d));
}

static void
test_duration (void **state)
{
  static const struct {
    gint64 usec;
    const char *text;
  } cases[] = {
    { 0, "0ms" }, { 250000, "250ms" }, { 999999, "999ms" }, { 1000000, "1.0s" }, { 12340000, "12.3s" },
    { 59900000, "59.9s" }, { 310 * AMIGO_USEC_PER_SEC, "5m 10s" }, { -5, "0ms" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *s = amigo_format_migration_duration (cases[i].usec);
    assert_string_equal (s, cases[i].text);
  }
}

/* A log line has every figure, in order, data as sent (not memory). */
static void
test_progress_plain (void **state)
{
  g_autoptr (GVariant) p = progress_mid ();
  g_autofree char *line = amigo_format_migration_progress (p, 0);

  assert_string_equal (line, " 45.2%  precopy  sent 80.5 MiB, 98.0 MiB left  dirty 12.3 MiB/s  downtime ~300ms"
                             "  elapsed 12.3s  at 80.0 MiB/s  round 3");
}

/* On a terminal: a bar first, never wider than the terminal less one
 * column (no wrap), the least telling figures dropped first. */
static void
test_progress_widths (void **state)
{
  g_autoptr (GVariant) p = progress_mid ();
  static const guint widths[] = { 200, 120, 80, 60, 40, 30, 24, 10, 2, 1 };

  for (guint i = 0; i < G_N_ELEMENTS (widths); i++) {
    g_autofree char *line = amigo_format_migration_progress (p, widths[i]);
    assert_true (strlen (line) <= widths[i] - 1);
    assert_null (strchr (line, '\n'));
    if (widths[i] >= 30) {
      assert_true (g_str_has_prefix (line, "["));
      assert_non_null (strstr (line, "45.2%  precopy"));
    }
  }
  {
    /* wide: every figure and a 40-column bar, 45 % of it filled */
    g_autofree char *line = amigo_format_migration_progress (p, 200);
    g_autofree char *bar = g_strdup_printf ("[%.*s%.*s]  ", 18, "##################", 22,
                                            "......................");
    assert_true (g_str_has_prefix (line, bar));
    assert_true (g_str_has_suffix (line, "round 3"));
  }
  {
    /* 80 columns: percent, phase, data, dirty rate, downtime; no elapsed */
    g_autofree char *line = amigo_format_migration_progress (p, 80);
    assert_non_null (strstr (line, "sent 80.5 MiB, 98.0 MiB left"));
    assert_null (strstr (line, "round"));
    assert_true (strlen (line) >= 60);
  }
  {
    /* 40: the bar and the percent and phase only */
    g_autofree char *line = amigo_format_migration_progress (p, 40);
    assert_null (strstr (line, "sent"));
    assert_true (g_str_has_suffix (line, "45.2%  precopy"));
  }
}

/* Early on libvirt knows little: no figure is made up, no bar overflows. */
static void
test_progress_sparse (void **state)
{
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  g_autoptr (GVariant) over = NULL;
  g_autoptr (GVariant) waiting = NULL;
  GVariantDict d;
  g_autofree char *a = amigo_format_migration_progress (empty, 0);
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *e = NULL;

  assert_string_equal (a, "    -%  ?");
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "phase", "s", "switchover");
  g_variant_dict_insert (&d, "percent", "d", 130.0);
  g_variant_dict_insert (&d, "memory_processed_bytes", "t", 200 * MIB);
  over = g_variant_ref_sink (g_variant_dict_end (&d));
  b = amigo_format_migration_progress (over, 72);
  assert_non_null (strstr (b, "100.0%  switchover  sent 200.0 MiB, ? left"));
  assert_null (strchr (b, '.') < strchr (b, ']') ? strchr (b, '.') : NULL);   /* bar all '#' */
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "phase", "s", "waiting");
  g_variant_dict_insert (&d, "start_at_usec", "x", NOW_USEC);
  waiting = g_variant_ref_sink (g_variant_dict_end (&d));
  c = amigo_format_migration_progress (waiting, 0);
  assert_non_null (strstr (c, "waiting until 16:00:00"));
  e = amigo_format_migration_progress (waiting, 20);
  assert_true (strlen (e) <= 19);
}

static GVariant *
plan (gint64 start_at, const char *start_reason)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "mode", "s", "auto-converge");
  g_variant_dict_insert (&d, "reason", "s", "the dirty rate (95 MiB/s) is close to the link's 110 MiB/s");
  g_variant_dict_insert (&d, "bandwidth_mib_s", "d", 110.0);
  g_variant_dict_insert (&d, "downtime_limit_ms", "u", 300);
  g_variant_dict_insert (&d, "start_at_usec", "x", start_at);
  if (start_reason != NULL)
    g_variant_dict_insert (&d, "start_reason", "s", start_reason);
  g_variant_dict_insert (&d, "stall_timeout_usec", "x", 30 * AMIGO_USEC_PER_SEC);
  g_variant_dict_insert (&d, "timeout_usec", "x", 5 * AMIGO_USEC_PER_MIN);
  g_variant_dict_insert (&d, "predicted_total_usec", "x", (gint64) 12500000);
  g_variant_dict_insert (&d, "predicted_downtime_usec", "x", (gint64) 180000);
  g_variant_dict_insert (&d, "predicted_data_bytes", "t", 1536 * MIB);
  return g_variant_ref_sink (g_variant_dict_end (&d));
}

static void
test_plan (void **state)
{
  g_autoptr (GVariant) now = plan (NOW_USEC, "starting now: no deadline given");
  g_autoptr (GVariant) later = plan (NOW_USEC + 2 * AMIGO_USEC_PER_HOUR, "the forecast low point of its demand");
  g_autoptr (GVariant) bare = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  g_autofree char *a = amigo_format_migration_plan ("1234", "web", "qemu+tcp://b/system", now, NOW_USEC);
  g_autofree char *b = amigo_format_migration_plan ("1234", "web", "qemu+tcp://b/system", later, NOW_USEC);
  g_autofree char *c = amigo_format_migration_plan ("1234", "web", "qemu+tcp://b/system", bare, NOW_USEC);

  assert_string_equal (a,
                       "Migrating 'web' to qemu+tcp://b/system (id 1234)\n"
                       "Mode:       auto-converge: the dirty rate (95 MiB/s) is close to the link's 110 MiB/s\n"
                       "Bandwidth:  110.0 MiB/s\n"
                       "Downtime:   at most 300ms\n"
                       "Start:      starting now: no deadline given\n"
                       "Timeouts:   gives up after 30s without progress or 5m in all\n"
                       "Predicted:  total 12.5s, downtime 180ms, 1.5 GiB sent\n");
  assert_non_null (strstr (b, "Start:      2026-12-04 18:00:00 (in 2h): the forecast low point of its demand\n"));
  /* a plan without figures says only what it knows */
  assert_string_equal (c, "Migrating 'web' to qemu+tcp://b/system (id 1234)\nMode:       ?\nStart:      now\n");
}

static GVariant *
result (const char *state, const char *error, gboolean measured)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "state", "s", state);
  if (error != NULL)
    g_variant_dict_insert (&d, "error", "s", error);
  if (measured) {
    g_variant_dict_insert (&d, "total_usec", "x", (gint64) 15000000);
    g_variant_dict_insert (&d, "downtime_usec", "x", (gint64) 150000);
    g_variant_dict_insert (&d, "data_sent_bytes", "t", 1024 * MIB);
  }
  g_variant_dict_insert (&d, "predicted_total_usec", "x", (gint64) 12500000);
  g_variant_dict_insert (&d, "predicted_downtime_usec", "x", (gint64) 180000);
  g_variant_dict_insert (&d, "predicted_data_bytes", "t", 1536 * MIB);
  return g_variant_ref_sink (g_variant_dict_end (&d));
}

static void
test_outcome_and_summary (void **state)
{
  static const struct {
    const char *state, *error;
    const char *text;
  } cases[] = {
    { "refused", "memory: need 0.19 GiB, 0.10 GiB free after reservations",
      "refused by the destination: memory: need 0.19 GiB, 0.10 GiB free after reservations" },
    { "refused", NULL, "refused by the destination: no reason given" },
    { "failed", "unable to connect to server at '10.77.9.200:16509': No route to host",
      "failed: unable to connect to server at '10.77.9.200:16509': No route to host" },
    { "cancelled", "cancelled by CancelMigration", "cancelled: cancelled by CancelMigration" },
    { "cancelled", NULL, "cancelled" },
    { "timeout", "no progress for 30s", "timed out: no progress for 30s" },
  };
  g_autoptr (GVariant) done = result ("completed", NULL, TRUE);
  g_autoptr (GVariant) nostate = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  g_autofree char *o = amigo_format_migration_outcome (done);
  g_autofree char *s = amigo_format_migration_summary (done);
  g_autofree char *u = amigo_format_migration_outcome (nostate);

  assert_string_equal (o, "completed in 15.0s");
  assert_string_equal (s,
                       "            MEASURED  PREDICTED  DIFF\n"
                       "total time     15.0s      12.5s  +20%\n"
                       "downtime       150ms      180ms  -17%\n"
                       "data sent    1.0 GiB    1.5 GiB  -33%\n");
  assert_string_equal (u, "ended in an unknown state");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GVariant) r = result (cases[i].state, cases[i].error, FALSE);
    g_autofree char *text = amigo_format_migration_outcome (r);
    assert_string_equal (text, cases[i].text);
    /* nothing measured, no table */
    assert_null (amigo_format_migration_summary (r));
  }
}

static void
test_migrations_table (void **state)
{
  g_autoptr (GVariant) empty = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("a{sv}"), NULL, 0));
  g_autofree char *none = amigo_format_migrations (empty);
  GVariantBuilder b;
  g_autoptr (GVariant) list = NULL;
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  assert_string_equal (none, "No migrations.\n");
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  {
    GVariantDict d;
    g_variant_dict_init (&d, result ("completed", NULL, TRUE));
    g_variant_dict_insert (&d, "domain", "s", "web");
    g_variant_dict_insert (&d, "dest_uri", "s", "qemu+tcp://b/system");
    g_variant_dict_insert (&d, "mode", "s", "precopy");
    g_variant_dict_insert (&d, "started_usec", "x", NOW_USEC);
    g_variant_builder_add_value (&b, g_variant_dict_end (&d));
    g_variant_dict_init (&d, result ("refused", "memory: need 0.19 GiB, 0.10 GiB free", FALSE));
    g_variant_dict_insert (&d, "domain", "s", "db");
    g_variant_dict_insert (&d, "dest_uri", "s", "qemu+tcp://c/system");
    g_variant_builder_add_value (&b, g_variant_dict_end (&d));
  }
  list = g_variant_ref_sink (g_variant_builder_end (&b));
  text = amigo_format_migrations (list);
  lines = g_strsplit (text, "\n", -1);
  assert_int_equal (g_strv_length (lines), 5);
  assert_string_equal (lines[3], "(figures: measured / predicted)");
  assert_true (g_str_has_prefix (lines[0], "STARTED              DOMAIN  DESTINATION          MODE     STATE"));
  assert_non_null (strstr (lines[1], "2026-12-04 16:00:00  web     qemu+tcp://b/system  precopy  completed"));
  assert_non_null (strstr (lines[1], "15.0s / 12.5s  150ms / 180ms  1.0 GiB / 1.5 GiB  -"));
  assert_non_null (strstr (lines[2], "-                    db      qemu+tcp://c/system  -        refused"));
  assert_non_null (strstr (lines[2], "- / 12.5s      - / 180ms        - / 1.5 GiB  memory: need 0.19 GiB, 0.10 GiB free"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration),
    cmocka_unit_test (test_progress_plain),
    cmocka_unit_test (test_progress_widths),
    cmocka_unit_test (test_progress_sparse),
    cmocka_unit_test (test_plan),
    cmocka_unit_test (test_outcome_and_summary),
    cmocka_unit_test (test_migrations_table),
  };

  /* the times above are read in UTC */
  setenv ("TZ", "UTC", TRUE);
  return cmocka_run_group_tests_name ("format-migration", tests, NULL, NULL);
}
