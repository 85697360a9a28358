/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a Prometheus textfile with the figures of a small host (three
 * domains, one named with a quote and a backslash) through amigo-export, and
 * prints on stdout, as JSON, every sample a scrape must show: metric name,
 * labels and value in Prometheus's base units, worked out here by hand
 * rather than by the module under test.
 *
 *   test-export-helper FILE.prom > expected.json */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>

#include "amigo-export.h"
#include "amigo-json.h"
#include "amigo-time.h"

#define MBIT_S_TO_BYTES_S (1e6 / 8.0)

static void
expect (JsonBuilder *b, const char *name, const AmigoExportDomain *d, double value)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "labels");
  json_builder_begin_object (b);
  if (d != NULL) {
    json_builder_set_member_name (b, "domain");
    json_builder_add_string_value (b, d->name);
    json_builder_set_member_name (b, "uuid");
    json_builder_add_string_value (b, d->uuid);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "value");
  json_builder_add_double_value (b, value);
  json_builder_end_object (b);
}

static void
set_resource (AmigoReservation *r, AmigoResource resource,
              double amount, double upper, double mean, double overhead)
{
  r->resources[resource] = (AmigoResourceReservation) {
    .present = TRUE, .amount = amount, .upper = upper, .mean = mean, .overhead = overhead,
  };
}

/* Expects the four parts of @resource's request, converted by @scale. */
static void
expect_request (JsonBuilder *b, const AmigoExportDomain *d, const char *resource,
                const char *unit, double scale)
{
  const AmigoResourceReservation *res = NULL;
  const double *parts[4];
  const char *names[] = { "reserve", "bound", "mean", "overhead" };
  AmigoResource r;

  g_assert_true (amigo_resource_from_string (resource, &r));
  res = &d->request->resources[r];
  parts[0] = &res->amount;
  parts[1] = &res->upper;
  parts[2] = &res->mean;
  parts[3] = &res->overhead;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *name = g_strdup_printf ("amigo_domain_request_%s_%s_%s", names[i], resource, unit);

    if (!isnan (*parts[i]))
      expect (b, name, d, *parts[i] * scale);
  }
}

int
main (int argc, char **argv)
{
  gint64 now = g_get_real_time ();
  AmigoReservation web_request = { 0 }, db_request = { 0 };
  AmigoExportDomain d[3];
  AmigoExportSnapshot snap;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;

  if (argc != 2) {
    fprintf (stderr, "usage: %s FILE.prom > expected.json\n", argv[0]);
    return 2;
  }

  /* a busy web server with a fresh request */
  d[0] = (AmigoExportDomain) { .uuid = "6f0c1e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", .name = "web-01" };
  amigo_sample_init (&d[0].latest, now - 2 * AMIGO_USEC_PER_SEC);
  d[0].latest.values[AMIGO_METRIC_CPU] = 1.73;
  d[0].latest.values[AMIGO_METRIC_MEMORY] = 3.25;
  d[0].latest.values[AMIGO_METRIC_NET_RX] = 84.2;
  d[0].latest.values[AMIGO_METRIC_NET_TX] = 12.6;
  d[0].latest.values[AMIGO_METRIC_DISK_READ] = 310;
  d[0].latest.values[AMIGO_METRIC_DISK_WRITE] = 95.5;
  d[0].latest.values[AMIGO_METRIC_DIRTY_RATE] = 42.5;
  set_resource (&web_request, AMIGO_RESOURCE_CPU, 2.4, 2.1, 1.6, 0.3);
  set_resource (&web_request, AMIGO_RESOURCE_MEMORY, 4.5, 4.1, 3.3, 0.4);
  set_resource (&web_request, AMIGO_RESOURCE_NETWORK, 150, 120, 90.5, 30);
  set_resource (&web_request, AMIGO_RESOURCE_DISK, 800, 700, 400, 100);
  d[0].request = &web_request;
  d[0].request_usec = now - 40 * AMIGO_USEC_PER_SEC;

  /* a database with a GPU, a name that needs escaping, a request whose
   * mean memory is not known */
  d[1] = (AmigoExportDomain) { .uuid = "1d2c3b4a-5e6f-4a7b-9c8d-7e6f5a4b3c2d",
                               .name = "db \"primary\" \\ backup" };
  amigo_sample_init (&d[1].latest, now - 1 * AMIGO_USEC_PER_SEC);
  d[1].latest.values[AMIGO_METRIC_CPU] = 0.42;
  d[1].latest.values[AMIGO_METRIC_MEMORY] = 15.75;
  d[1].latest.values[AMIGO_METRIC_NET_RX] = 3.1;
  d[1].latest.values[AMIGO_METRIC_NET_TX] = 7.9;
  d[1].latest.values[AMIGO_METRIC_DISK_READ] = 1250;
  d[1].latest.values[AMIGO_METRIC_DISK_WRITE] = 2210;
  d[1].latest.values[AMIGO_METRIC_GPU_MEMORY] = 7.5;
  d[1].latest.values[AMIGO_METRIC_DIRTY_RATE] = 118.25;
  set_resource (&db_request, AMIGO_RESOURCE_CPU, 0.9, 0.75, 0.45, 0.15);
  set_resource (&db_request, AMIGO_RESOURCE_MEMORY, 17.5, 16.0, NAN, 1.5);
  set_resource (&db_request, AMIGO_RESOURCE_GPU_MEMORY, 8, 8, 7.5, 0);
  d[1].request = &db_request;
  d[1].request_usec = now - 3 * AMIGO_USEC_PER_MIN;

  /* an idle guest with a UTF-8 name, no request yet, no dirty rate */
  d[2] = (AmigoExportDomain) { .uuid = "9a8b7c6d-5e4f-4321-8fed-cba987654321", .name = "idle-\xc3\xbc-\xe2\x82\xac" };
  amigo_sample_init (&d[2].latest, now - 2 * AMIGO_USEC_PER_SEC);
  d[2].latest.values[AMIGO_METRIC_CPU] = 0.01;
  d[2].latest.values[AMIGO_METRIC_MEMORY] = 0.2;
  d[2].latest.values[AMIGO_METRIC_NET_RX] = 0;
  d[2].latest.values[AMIGO_METRIC_NET_TX] = 0;

  amigo_export_snapshot_init (&snap);
  snap.version = "0.1.0";
  snap.start_usec = now - 4 * AMIGO_USEC_PER_HOUR;
  snap.domains = d;
  snap.n_domains = G_N_ELEMENTS (d);
  snap.store = (AmigoExportStore) { .ok = FALSE, .failing_since_usec = now - 90 * AMIGO_USEC_PER_SEC,
                                    .samples_lost = 135 };
  snap.polls = (AmigoExportPolls) { .polls = 7200, .skipped = 3, .job_calls_skipped = 17,
                                    .last_duration_usec = 18400, .last_usec = now - AMIGO_USEC_PER_SEC };

  text = amigo_export_render (&snap);
  if (!amigo_export_write_file (argv[1], text, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }

  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "amigo_build_info");
  json_builder_set_member_name (b, "labels");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, "0.1.0");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "value");
  json_builder_add_double_value (b, 1);
  json_builder_end_object (b);
  expect (b, "amigo_start_time_seconds", NULL, snap.start_usec / 1e6);
  expect (b, "amigo_polls_total", NULL, 7200);
  expect (b, "amigo_polls_skipped_total", NULL, 3);
  expect (b, "amigo_job_calls_skipped_total", NULL, 17);
  expect (b, "amigo_poll_duration_seconds", NULL, 0.0184);
  expect (b, "amigo_last_poll_timestamp_seconds", NULL, snap.polls.last_usec / 1e6);
  expect (b, "amigo_store_healthy", NULL, 0);
  expect (b, "amigo_store_failing_since_timestamp_seconds", NULL, snap.store.failing_since_usec / 1e6);
  expect (b, "amigo_store_samples_lost_total", NULL, 135);

  for (guint i = 0; i < G_N_ELEMENTS (d); i++) {
    const double *v = d[i].latest.values;
    struct { const char *name; AmigoMetric metric; double scale; } usage[] = {
      { "amigo_domain_cpu_cores", AMIGO_METRIC_CPU, 1 },
      { "amigo_domain_memory_bytes", AMIGO_METRIC_MEMORY, AMIGO_BYTES_PER_GIB },
      { "amigo_domain_net_rx_bytes_per_second", AMIGO_METRIC_NET_RX, MBIT_S_TO_BYTES_S },
      { "amigo_domain_net_tx_bytes_per_second", AMIGO_METRIC_NET_TX, MBIT_S_TO_BYTES_S },
      { "amigo_domain_disk_read_operations_per_second", AMIGO_METRIC_DISK_READ, 1 },
      { "amigo_domain_disk_write_operations_per_second", AMIGO_METRIC_DISK_WRITE, 1 },
      { "amigo_domain_gpu_memory_bytes", AMIGO_METRIC_GPU_MEMORY, AMIGO_BYTES_PER_GIB },
      { "amigo_domain_dirty_rate_bytes_per_second", AMIGO_METRIC_DIRTY_RATE, AMIGO_BYTES_PER_MIB },
    };

    expect (b, "amigo_domain_last_sample_timestamp_seconds", &d[i], d[i].latest.time_usec / 1e6);
    for (guint u = 0; u < G_N_ELEMENTS (usage); u++) {
      if (!isnan (v[usage[u].metric]))
        expect (b, usage[u].name, &d[i], v[usage[u].metric] * usage[u].scale);
    }
  }
  expect_request (b, &d[0], "cpu", "cores", 1);
  expect_request (b, &d[0], "memory", "bytes", AMIGO_BYTES_PER_GIB);
  expect_request (b, &d[0], "network", "bytes_per_second", MBIT_S_TO_BYTES_S);
  expect_request (b, &d[0], "disk", "operations_per_second", 1);
  expect (b, "amigo_domain_request_timestamp_seconds", &d[0], d[0].request_usec / 1e6);
  expect_request (b, &d[1], "cpu", "cores", 1);
  expect_request (b, &d[1], "memory", "bytes", AMIGO_BYTES_PER_GIB);
  expect_request (b, &d[1], "gpu_memory", "bytes", AMIGO_BYTES_PER_GIB);
  expect (b, "amigo_domain_request_timestamp_seconds", &d[1], d[1].request_usec / 1e6);
  json_builder_end_array (b);

  root = json_builder_get_root (b);
  json = amigo_json_to_string (root);
  printf ("%s\n", json);
  return 0;
}
