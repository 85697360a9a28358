/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "amigo-error.h"
#include "amigo-export.h"
#include "amigo-time.h"

#define UUID_A "0a1b2c3d-0000-4000-8000-00000000000a"
#define UUID_B "0a1b2c3d-0000-4000-8000-00000000000b"
#define UUID_C "0a1b2c3d-0000-4000-8000-00000000000c"
#define T0_USEC G_GINT64_CONSTANT (1764860400000000) /* 2025-12-04 15:00 UTC */

static void
domain_init (AmigoExportDomain *d, const char *uuid, const char *name)
{
  memset (d, 0, sizeof *d);
  d->uuid = uuid;
  d->name = name;
  amigo_sample_init (&d->latest, T0_USEC);
}

/* The value of the sample line "@series VALUE", or NAN when there is none;
 * fails the test if the series appears twice. */
static double
sample_value (const char *text, const char *series)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  double value = NAN;
  guint found = 0;

  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], series) && lines[i][strlen (series)] == ' ') {
      value = g_ascii_strtod (lines[i] + strlen (series) + 1, NULL);
      found++;
    }
  }
  assert_true (found <= 1);
  return value;
}

static void
test_export_label_escaping (void **state)
{
  AmigoExportDomain d;
  AmigoExportSnapshot snap;
  g_autofree char *text = NULL;

  /* quote, backslash, line feed, UTF-8 kept as is, one byte that is not UTF-8 */
  domain_init (&d, UUID_A, "we\"ird\\na\nme-\xc3\xbc\xe2\x82\xac-\xff");
  d.latest.values[AMIGO_METRIC_CPU] = 1.5;
  amigo_export_snapshot_init (&snap);
  snap.version = "1.0 \"beta\"";
  snap.domains = &d;
  snap.n_domains = 1;
  text = amigo_export_render (&snap);

  assert_non_null (strstr (text, "amigo_domain_cpu_cores{domain=\"we\\\"ird\\\\na\\nme-\xc3\xbc\xe2\x82\xac-\xef\xbf\xbd\","
                                 "uuid=\"" UUID_A "\"} 1.5\n"));
  assert_non_null (strstr (text, "amigo_build_info{version=\"1.0 \\\"beta\\\"\"} 1\n"));
  assert_true (g_utf8_validate (text, -1, NULL));
}

static void
test_export_units_are_base_units (void **state)
{
  AmigoExportDomain d;
  AmigoReservation request = { 0 };
  AmigoExportSnapshot snap;
  g_autofree char *text = NULL;
  const char *labels = "{domain=\"web\",uuid=\"" UUID_A "\"}";
  g_autofree char *series = NULL;

  domain_init (&d, UUID_A, "web");
  d.latest.values[AMIGO_METRIC_CPU] = 0.25;
  d.latest.values[AMIGO_METRIC_MEMORY] = 2.0;
  d.latest.values[AMIGO_METRIC_NET_RX] = 8.0;
  d.latest.values[AMIGO_METRIC_DISK_WRITE] = 120.0;
  d.latest.values[AMIGO_METRIC_DIRTY_RATE] = 1.5;
  request.resources[AMIGO_RESOURCE_MEMORY] = (AmigoResourceReservation) {
    .present = TRUE, .amount = 3.0, .upper = 2.5, .mean = 2.0, .overhead = 0.5,
  };
  request.resources[AMIGO_RESOURCE_NETWORK] = (AmigoResourceReservation) {
    .present = TRUE, .amount = 100.0, .upper = 80.0, .mean = 10.0, .overhead = 20.0,
  };
  d.request = &request;
  d.request_usec = T0_USEC - 30 * AMIGO_USEC_PER_SEC;
  amigo_export_snapshot_init (&snap);
  snap.domains = &d;
  snap.n_domains = 1;
  snap.start_usec = T0_USEC - AMIGO_USEC_PER_HOUR;
  snap.polls = (AmigoExportPolls) { .polls = 360, .skipped = 2, .job_calls_skipped = 7,
                                    .last_duration_usec = 12500, .last_usec = T0_USEC };
  snap.store = (AmigoExportStore) { .ok = FALSE, .failing_since_usec = T0_USEC - 90 * AMIGO_USEC_PER_SEC,
                                    .samples_lost = 45 };
  text = amigo_export_render (&snap);

#define ASSERT_SERIES(name, expected) \
  do { \
    g_free (series); \
    series = g_strconcat (name, labels, NULL); \
    assert_true (sample_value (text, series) == (expected)); \
  } while (0)
  ASSERT_SERIES ("amigo_domain_cpu_cores", 0.25);
  ASSERT_SERIES ("amigo_domain_memory_bytes", 2.0 * 1024 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_net_rx_bytes_per_second", 1e6);
  ASSERT_SERIES ("amigo_domain_disk_write_operations_per_second", 120.0);
  ASSERT_SERIES ("amigo_domain_dirty_rate_bytes_per_second", 1.5 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_last_sample_timestamp_seconds", 1764860400.0);
  ASSERT_SERIES ("amigo_domain_request_reserve_memory_bytes", 3.0 * 1024 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_request_bound_memory_bytes", 2.5 * 1024 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_request_mean_memory_bytes", 2.0 * 1024 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_request_overhead_memory_bytes", 0.5 * 1024 * 1024 * 1024);
  ASSERT_SERIES ("amigo_domain_request_reserve_network_bytes_per_second", 100.0 * 125000);
  ASSERT_SERIES ("amigo_domain_request_timestamp_seconds", 1764860370.0);
#undef ASSERT_SERIES

  assert_true (sample_value (text, "amigo_start_time_seconds") == 1764856800.0);
  assert_true (sample_value (text, "amigo_polls_total") == 360);
  assert_true (sample_value (text, "amigo_polls_skipped_total") == 2);
  assert_true (sample_value (text, "amigo_job_calls_skipped_total") == 7);
  assert_true (sample_value (text, "amigo_poll_duration_seconds") == 0.0125);
  assert_true (sample_value (text, "amigo_last_poll_timestamp_seconds") == 1764860400.0);
  assert_true (sample_value (text, "amigo_store_healthy") == 0);
  assert_true (sample_value (text, "amigo_store_failing_since_timestamp_seconds") == 1764860310.0);
  assert_true (sample_value (text, "amigo_store_samples_lost_total") == 45);
  /* the shortest form that reads back the same, not 0.012500000000000001 */
  assert_non_null (strstr (text, "\namigo_poll_duration_seconds 0.0125\n"));
  assert_non_null (strstr (text, "# TYPE amigo_polls_total counter\n"));
  assert_non_null (strstr (text, "# TYPE amigo_domain_memory_bytes gauge\n"));
}

static void
test_export_unknown_is_omitted (void **state)
{
  AmigoExportDomain d[2];
  AmigoReservation request = { 0 };
  AmigoExportSnapshot snap;
  g_autofree char *text = NULL;

  domain_init (&d[0], UUID_A, "a");
  d[0].latest.values[AMIGO_METRIC_CPU] = 1.0;
  /* a sample time of 0: nothing of this sample is known */
  domain_init (&d[1], UUID_B, "b");
  d[1].latest.time_usec = 0;
  d[1].latest.values[AMIGO_METRIC_MEMORY] = 1.0;
  request.resources[AMIGO_RESOURCE_CPU] = (AmigoResourceReservation) {
    .present = TRUE, .amount = 2.0, .upper = 1.5, .mean = NAN, .overhead = 0.5,
  };
  /* not present: its zeros are not figures */
  request.resources[AMIGO_RESOURCE_DISK] = (AmigoResourceReservation) { .present = FALSE };
  d[0].request = &request;
  amigo_export_snapshot_init (&snap);
  snap.domains = d;
  snap.n_domains = G_N_ELEMENTS (d);
  text = amigo_export_render (&snap);

  assert_null (strstr (text, "NaN"));
  assert_null (strstr (text, "nan"));
  assert_non_null (strstr (text, "amigo_domain_cpu_cores{"));
  assert_non_null (strstr (text, "amigo_domain_request_bound_cpu_cores{"));
  /* families without samples are absent, HELP and TYPE included */
  assert_null (strstr (text, "amigo_domain_memory_bytes"));
  assert_null (strstr (text, "amigo_domain_request_mean_cpu_cores"));
  assert_null (strstr (text, "_disk_"));
  assert_null (strstr (text, "uuid=\"" UUID_B "\""));
  /* no request time known, no poll yet, store ok: left out */
  assert_null (strstr (text, "amigo_domain_request_timestamp_seconds"));
  assert_null (strstr (text, "amigo_poll_duration_seconds"));
  assert_null (strstr (text, "amigo_last_poll_timestamp_seconds"));
  assert_null (strstr (text, "amigo_store_failing_since"));
  assert_null (strstr (text, "amigo_start_time_seconds"));
  /* counters and health are always there: 0 is a real value for them */
  assert_true (sample_value (text, "amigo_polls_total") == 0);
  assert_true (sample_value (text, "amigo_store_healthy") == 1);
  assert_non_null (strstr (text, "amigo_build_info{version=\"unknown\"} 1\n"));
}

static void
test_export_order_is_stable (void **state)
{
  AmigoExportDomain d[4];
  AmigoExportDomain reversed[4];
  AmigoExportSnapshot snap;
  g_autofree char *text = NULL;
  g_autofree char *text_reversed = NULL;
  const char *a, *b, *c;

  domain_init (&d[0], UUID_C, "c");
  domain_init (&d[1], UUID_A, "a");
  domain_init (&d[2], UUID_B, "b");
  /* the same UUID twice would be a duplicate series: one is kept */
  domain_init (&d[3], UUID_A, "a-again");
  for (guint i = 0; i < G_N_ELEMENTS (d); i++) {
    d[i].latest.values[AMIGO_METRIC_CPU] = i;
    reversed[G_N_ELEMENTS (d) - 1 - i] = d[i];
  }
  amigo_export_snapshot_init (&snap);
  snap.domains = d;
  snap.n_domains = G_N_ELEMENTS (d);
  text = amigo_export_render (&snap);
  snap.domains = reversed;
  text_reversed = amigo_export_render (&snap);

  assert_string_equal (text, text_reversed);
  a = strstr (text, "amigo_domain_cpu_cores{domain=\"a\",uuid=\"" UUID_A "\"} 1\n");
  b = strstr (text, "amigo_domain_cpu_cores{domain=\"b\",uuid=\"" UUID_B "\"} 2\n");
  c = strstr (text, "amigo_domain_cpu_cores{domain=\"c\",uuid=\"" UUID_C "\"} 0\n");
  assert_non_null (a);
  assert_non_null (b);
  assert_non_null (c);
  assert_true (a < b && b < c);
  assert_null (strstr (text, "a-again"));
}

/* Parses @text as the exposition format: every sample belongs to the family
 * whose HELP and TYPE came just before it, and no family is announced
 * twice. Returns the number of families. */
static guint
check_families (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *family = NULL;
  guint n_lines = g_strv_length (lines);

  assert_true (g_str_has_suffix (text, "\n"));
  for (guint i = 0; i + 1 < n_lines; i++) {
    const char *line = lines[i];

    if (g_str_has_prefix (line, "# HELP ")) {
      g_auto (GStrv) help = g_strsplit (line + strlen ("# HELP "), " ", 2);
      g_auto (GStrv) type = NULL;

      assert_non_null (help[1]);
      assert_false (g_hash_table_contains (seen, help[0]));
      g_hash_table_add (seen, g_strdup (help[0]));
      g_free (family);
      family = g_strdup (help[0]);
      assert_true (g_str_has_prefix (lines[i + 1], "# TYPE "));
      type = g_strsplit (lines[i + 1] + strlen ("# TYPE "), " ", -1);
      assert_string_equal (type[0], family);
      assert_true (g_strv_contains ((const char *const[]) { "gauge", "counter", NULL }, type[1]));
      assert_true (g_str_has_suffix (family, "_total") == (strcmp (type[1], "counter") == 0));
      i++;
      continue;
    }
    assert_false (line[0] == '#' || line[0] == '\0');
    assert_non_null (family);
    assert_true (g_str_has_prefix (line, family));
    assert_true (line[strlen (family)] == '{' || line[strlen (family)] == ' ');
  }
  return g_hash_table_size (seen);
}

/* Every metric of the metric table and every resource is exported, so a
 * metric added with a unit this module does not know fails here. */
static void
test_export_every_metric_and_resource (void **state)
{
  AmigoExportDomain d;
  AmigoReservation request = { 0 };
  AmigoExportSnapshot snap;
  g_autofree char *text = NULL;

  domain_init (&d, UUID_A, "all");
  for (AmigoMetric m = 0; m < AMIGO_METRIC_LAST; m++)
    d.latest.values[m] = 1.0;
  for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++)
    request.resources[r] = (AmigoResourceReservation) {
      .present = TRUE, .amount = 4.0, .upper = 3.0, .mean = 2.0, .overhead = 1.0,
    };
  d.request = &request;
  d.request_usec = T0_USEC;
  amigo_export_snapshot_init (&snap);
  snap.version = "0.1.0";
  snap.domains = &d;
  snap.n_domains = 1;
  snap.polls.last_duration_usec = 1000;
  text = amigo_export_render (&snap);

  for (AmigoMetric m = 0; m < AMIGO_METRIC_LAST; m++) {
    g_autofree char *prefix = g_strdup_printf ("\n# TYPE amigo_domain_%s_", amigo_metric_to_string (m));

    if (strstr (text, prefix) == NULL)
      fail_msg ("metric '%s' (unit '%s') is not exported", amigo_metric_to_string (m),
                amigo_metric_unit (m));
  }
  for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const char *parts[] = { "reserve", "bound", "mean", "overhead" };

    for (guint p = 0; p < G_N_ELEMENTS (parts); p++) {
      g_autofree char *prefix = g_strdup_printf ("\n# TYPE amigo_domain_request_%s_%s_", parts[p],
                                                 amigo_resource_to_string (r));

      if (strstr (text, prefix) == NULL)
        fail_msg ("request %s of resource '%s' is not exported", parts[p],
                  amigo_resource_to_string (r));
    }
  }
  /* host families (build info, 3 poll counters, poll duration, store health,
   * samples lost) + usage (timestamp + metrics) + requests (4 per resource +
   * timestamp) */
  assert_int_equal (check_families (text),
                    7 + 1 + AMIGO_METRIC_LAST + 4 * AMIGO_RESOURCE_LAST + 1);
}

static char *
parse_error (const char *value)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  if (amigo_export_parse_textfile_path (value, &path, &error))
    return NULL;
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  assert_null (path);
  return g_strdup (error->message);
}

static void
test_export_parse_textfile_path (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-export-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "amigo.prom", NULL);
  g_autofree char *subdir = g_build_filename (dir, "sub.prom", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "amigo.prom", NULL);
  g_autofree char *bare = g_build_filename (dir, ".prom", NULL);
  g_autofree char *path = NULL;
  g_autofree char *msg = NULL;

  /* empty = off */
  assert_true (amigo_export_parse_textfile_path ("", &path, NULL));
  assert_null (path);
  assert_true (amigo_export_parse_textfile_path (good, &path, NULL));
  assert_string_equal (path, good);

  msg = parse_error ("amigo.prom");
  assert_string_equal (msg, "expected an absolute path like '/var/lib/prometheus/node-exporter/amigo.prom', "
                            "got 'amigo.prom'");
  g_free (msg);
  msg = parse_error ("/tmp/amigo.txt");
  assert_non_null (strstr (msg, "ending in '.prom'"));
  assert_non_null (strstr (msg, "got '/tmp/amigo.txt'"));
  g_free (msg);
  msg = parse_error (bare);
  assert_non_null (strstr (msg, "ending in '.prom'"));
  g_free (msg);
  msg = parse_error ("/tmp/amigo.prom # the file");
  assert_non_null (strstr (msg, "ending in '.prom'"));
  g_free (msg);
  msg = parse_error (missing);
  assert_non_null (strstr (msg, "to exist"));
  assert_non_null (strstr (msg, missing));
  g_free (msg);
  assert_int_equal (g_mkdir (subdir, 0755), 0);
  msg = parse_error (subdir);
  assert_non_null (strstr (msg, "is a directory"));

  g_rmdir (subdir);
  g_rmdir (dir);
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  assert_non_null (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_export_write_file (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-export-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "amigo.prom", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", "amigo.prom", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;
  mode_t old_umask;

  /* amigod's UMask=0027 must not hide the file from node_exporter */
  old_umask = umask (0077);
  assert_true (amigo_export_write_file (path, "first 1\n", &error));
  assert_true (amigo_export_write_file (path, "amigo_polls_total 2\n", &error));
  umask (old_umask);
  assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  assert_string_equal (contents, "amigo_polls_total 2\n");
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0644);
  /* no temporary file left behind */
  assert_int_equal (count_entries (dir), 1);

  assert_false (amigo_export_write_file (missing, "x 1\n", &error));
  assert_true (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  assert_non_null (strstr (error->message, "/missing/.amigo.prom."));
  assert_int_equal (count_entries (dir), 1);
  g_clear_error (&error);

  /* a rename that fails (the target is a directory) keeps neither the
   * temporary file nor a partial target */
  g_unlink (path);
  assert_int_equal (g_mkdir (path, 0755), 0);
  assert_false (amigo_export_write_file (path, "x 1\n", &error));
  assert_non_null (strstr (error->message, path));
  assert_int_equal (count_entries (dir), 1);

  g_rmdir (path);
  g_rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_export_label_escaping),
    cmocka_unit_test (test_export_units_are_base_units),
    cmocka_unit_test (test_export_unknown_is_omitted),
    cmocka_unit_test (test_export_order_is_stable),
    cmocka_unit_test (test_export_every_metric_and_resource),
    cmocka_unit_test (test_export_parse_textfile_path),
    cmocka_unit_test (test_export_write_file),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
