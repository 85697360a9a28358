/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigod-fake: a stand-in for amigod on a private bus, serving canned
 * replies to GetReservationRequest, SetWorkloadClass, GetHistory and
 * GetControllers, and scripted migrations (amigod-fake-migrate.c), so
 * amigoctl's whole D-Bus path can be tested without root or libvirt
 * (tests/unit/test-amigo-ctl.c) and the examples in docs/dbus-api.md
 * come from a real run:
 *
 *   dbus-run-session -- sh -c 'build/tests/unit/amigod-fake & sleep 1;
 *     build/src/cli/amigoctl --session forecast web'
 *
 * Domains: "web" (history, classified web_server), "fresh" (no usable
 * sample yet: InsufficientHistory); anything else is NotFound. Options
 * are checked as amigod checks them (amigo-request-options.h) and echoed
 * in the reply, so a test sees what amigoctl sent. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>

#include "amigo/amigo-classifier.h"
#include "amigo-config.h"
#include "amigo-dbus-generated.h"
#include "amigo-error.h"
#include "amigo-metric.h"
#include "amigo-request-options.h"
#include "amigo-time.h"
#include "amigod-fake.h"

#define WEB_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define FRESH_UUID "0b7e3a5c-2d61-4c0e-9f62-2a8c1b0c7d11"
#define STEP_USEC (5 * AMIGO_USEC_PER_MIN)

typedef struct {
  char *label;   /* NULL = none */
  GMainLoop *loop;
} Fake;

static const char *
lookup_domain (const char *domain)
{
  if (g_strcmp0 (domain, "web") == 0 || g_ascii_strcasecmp (domain, WEB_UUID) == 0)
    return "web";
  if (g_strcmp0 (domain, "fresh") == 0 || g_ascii_strcasecmp (domain, FRESH_UUID) == 0)
    return "fresh";
  return NULL;
}

gboolean
amigod_fake_check_domain (GDBusMethodInvocation *invocation, const char *domain, gboolean need_history)
{
  const char *name = lookup_domain (domain);

  if (name == NULL) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                                           "no domain '%s': expected the UUID or name of a tracked domain", domain);
    return FALSE;
  }
  if (need_history && strcmp (name, "fresh") == 0) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_INSUFFICIENT_HISTORY,
                                           "no usable sample of 'fresh' yet: its first sample is due in 10s; "
                                           "ask again in 10s");
    return FALSE;
  }
  return TRUE;
}

static GVariant *
resource (const char *unit, double bound, double mean, double overhead, const char *method, double coverage,
          double score)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "unit", "s", unit);
  g_variant_dict_insert (&d, "reserve", "d", bound + overhead);
  g_variant_dict_insert (&d, "bound", "d", bound);
  g_variant_dict_insert (&d, "mean", "d", mean);
  g_variant_dict_insert (&d, "overhead", "d", overhead);
  g_variant_dict_insert (&d, "method", "s", method);
  if (isfinite (coverage))
    g_variant_dict_insert (&d, "coverage", "d", coverage);
  if (isfinite (score))
    g_variant_dict_insert (&d, "score", "d", score);
  return g_variant_dict_end (&d);
}

static gboolean
handle_get_reservation_request (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                                GVariant *options, Fake *fake)
{
  AmigoRequestOptions o = { 0 };
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time ();
  gint64 computed = now - 2 * AMIGO_USEC_PER_MIN;
  gint64 estimate = 42 * AMIGO_USEC_PER_SEC;
  gint64 window, settle;
  double link;
  GVariantDict d, m;
  GVariantBuilder resources;
  const char *klass = fake->label != NULL ? fake->label : "web_server";
  const char *source = fake->label != NULL ? "label" : "classifier";
  g_autofree char *json = NULL;

  if (!amigo_request_options_parse (options, &o, &error)) {
    g_dbus_method_invocation_return_gerror (invocation, error);
    return TRUE;
  }
  if (!amigod_fake_check_domain (invocation, domain, TRUE))
    return TRUE;
  window = o.has_window && o.window_usec > 0 ? o.window_usec : estimate;
  settle = o.has_settle ? o.settle_usec : 10 * AMIGO_USEC_PER_MIN;
  link = o.has_link ? o.link_mbit_s : 1000.0;

  g_variant_builder_init (&resources, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_builder_add (&resources, "{s@a{sv}}", "cpu",
                         resource ("cores", 1.12, 0.61, 0.08, "conformal_day_peak", 0.961, 0.0214));
  g_variant_builder_add (&resources, "{s@a{sv}}", "memory",
                         resource ("GiB", 3.94, 3.71, 0.06, "peak_24h", 0.969, 0.0081));
  g_variant_builder_add (&resources, "{s@a{sv}}", "network",
                         resource ("Mbit/s", 48.2, 11.5, 0.0, "conformal_recent", NAN, NAN));
  g_variant_builder_add (&resources, "{s@a{sv}}", "disk",
                         resource ("IOPS", 310.0, 42.0, 0.0, "conformal_day_peak", 0.952, 3.1));

  json = g_strdup_printf ("{\"request_version\":1,\"computed_usec\":%" G_GINT64_FORMAT ",\"class_source\":\"%s\","
                          "\"host_memory_gib\":4.02,\"dirty_rate_known\":true,\"reservation\":{}}",
                          computed, source);

  g_variant_dict_init (&m, NULL);
  g_variant_dict_insert (&m, "duration_usec", "x", estimate);
  g_variant_dict_insert (&m, "downtime_usec", "x", (gint64) 180 * AMIGO_USEC_PER_MSEC);
  g_variant_dict_insert (&m, "bytes_sent", "t", G_GUINT64_CONSTANT (5046586573));
  g_variant_dict_insert (&m, "rounds", "u", 4);
  g_variant_dict_insert (&m, "converges", "b", TRUE);

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "domain", "s", "web");
  g_variant_dict_insert (&d, "uuid", "s", WEB_UUID);
  g_variant_dict_insert (&d, "computed_usec", "x", computed);
  g_variant_dict_insert (&d, "stale", "b", FALSE);
  g_variant_dict_insert (&d, "class", "s", klass);
  g_variant_dict_insert (&d, "class_source", "s", source);
  g_variant_dict_insert (&d, "quantile", "d", 0.95);
  g_variant_dict_insert (&d, "start_usec", "x", now);
  g_variant_dict_insert (&d, "end_usec", "x", now + window + settle);
  g_variant_dict_insert (&d, "window_usec", "x", window);
  g_variant_dict_insert (&d, "settle_usec", "x", settle);
  g_variant_dict_insert (&d, "link_mbit_s", "d", link);
  g_variant_dict_insert (&d, "host_memory_gib", "d", 4.02);
  g_variant_dict_insert (&d, "dirty_rate_known", "b", TRUE);
  g_variant_dict_insert_value (&d, "migration", g_variant_dict_end (&m));
  g_variant_dict_insert_value (&d, "resources", g_variant_builder_end (&resources));
  g_variant_dict_insert (&d, "json", "s", json);
  amigo_daemon1_complete_get_reservation_request (skeleton, invocation, g_variant_dict_end (&d));
  return TRUE;
}

static gboolean
handle_set_workload_class (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                           const char *klass, Fake *fake)
{
  if (*klass != '\0' && !amigo_workload_class_from_string (klass, NULL)) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                                           "unknown workload class '%s': expected one of unknown, idle, database, "
                                           "web_server, machine_learning, batch, or '' to clear the label", klass);
    return TRUE;
  }
  if (!amigod_fake_check_domain (invocation, domain, FALSE))
    return TRUE;
  g_clear_pointer (&fake->label, g_free);
  if (*klass != '\0')
    fake->label = g_strdup (klass);
  amigo_daemon1_complete_set_workload_class (skeleton, invocation);
  return TRUE;
}

/* A day of web-like usage at the store's 5-minute step: a daily cycle on
 * CPU and network, flat memory. */
static double
usage_at (AmigoMetric metric, gint64 t)
{
  double phase = 2 * G_PI * (double) (t % AMIGO_USEC_PER_DAY) / (double) AMIGO_USEC_PER_DAY;
  double cycle = 0.5 + 0.5 * sin (phase);
  static const struct {
    double base;
    double amplitude;
  } levels[] = {
    [AMIGO_METRIC_CPU] = { 0.2, 0.8 },
    [AMIGO_METRIC_MEMORY] = { 3.6, 0.1 },
    [AMIGO_METRIC_NET_RX] = { 4.0, 30.0 },
    [AMIGO_METRIC_NET_TX] = { 1.0, 10.0 },
    [AMIGO_METRIC_DISK_READ] = { 20.0, 200.0 },
    [AMIGO_METRIC_DISK_WRITE] = { 5.0, 50.0 },
  };

  if (metric >= G_N_ELEMENTS (levels) || levels[metric].amplitude == 0)
    return NAN;
  return levels[metric].base + levels[metric].amplitude * cycle;
}

/* "web" arrived by migration: a CPU loop of three steps (pre-copy held at
 * its 1-core floor, then its usage plus headroom); "fresh" has none. */
static gboolean
handle_get_controllers (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                        Fake *fake)
{
  static const gint64 t[] = { 1796400000000000, 1796400002000000, 1796400004000000 };
  static const double sp[] = { 1.0, 1.3, 1.25 }, m[] = { 0.02, 0.97, 0.96 }, o[] = { 1.0, 1.0, 1.0 },
                      p[] = { 0.0, 0.12, 0.0 };
  GVariantBuilder b, d;

  if (!amigod_fake_check_domain (invocation, domain, FALSE))
    return TRUE;
  if (strcmp (lookup_domain (domain), "web") != 0) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                                           "no allocation loops for domain '%s': they run for a domain that "
                                           "arrived by migration", domain);
    return TRUE;
  }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  g_variant_builder_init (&d, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&d, "{sv}", "resource", g_variant_new_string ("cpu"));
  g_variant_builder_add (&d, "{sv}", "unit", g_variant_new_string ("cores"));
  g_variant_builder_add (&d, "{sv}", "phase", g_variant_new_string ("settle"));
  g_variant_builder_add (&d, "{sv}", "running", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&d, "{sv}", "time_usec",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, t, G_N_ELEMENTS (t), sizeof (gint64)));
  g_variant_builder_add (&d, "{sv}", "setpoint",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, sp, G_N_ELEMENTS (sp), sizeof (double)));
  g_variant_builder_add (&d, "{sv}", "measurement",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, m, G_N_ELEMENTS (m), sizeof (double)));
  g_variant_builder_add (&d, "{sv}", "output",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, o, G_N_ELEMENTS (o), sizeof (double)));
  g_variant_builder_add (&d, "{sv}", "pressure",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, p, G_N_ELEMENTS (p), sizeof (double)));
  g_variant_builder_add_value (&b, g_variant_builder_end (&d));
  amigo_daemon1_complete_get_controllers (skeleton, invocation, g_variant_builder_end (&b));
  return TRUE;
}

static gboolean
handle_get_history (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                    const char *resource_name, gint64 from_usec, gint64 to_usec, Fake *fake)
{
  GVariantBuilder points;
  AmigoMetric metric;

  if (!amigod_fake_check_domain (invocation, domain, FALSE))
    return TRUE;
  if (!amigo_metric_from_string (resource_name, &metric) || from_usec > to_usec) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                                           "bad GetHistory arguments '%s' %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
                                           resource_name, from_usec, to_usec);
    return TRUE;
  }
  g_variant_builder_init (&points, G_VARIANT_TYPE ("a(xdd)"));
  for (gint64 t = from_usec - from_usec % STEP_USEC + STEP_USEC; t <= to_usec; t += STEP_USEC) {
    double v = usage_at (metric, t);
    if (isfinite (v) && strcmp (lookup_domain (domain), "web") == 0)
      g_variant_builder_add (&points, "(xdd)", t, v, v * 1.1);
  }
  amigo_daemon1_complete_get_history (skeleton, invocation, g_variant_builder_end (&points));
  return TRUE;
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Fake *fake = user_data;

  fprintf (stderr, "amigod-fake: lost or could not own '%s'\n", name);
  g_main_loop_quit (fake->loop);
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (AmigoDaemon1) skeleton = amigo_daemon1_skeleton_new ();
  Fake fake = { 0 };
  const GOptionEntry entries[] = {
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &address, "Serve on the bus at ADDR (default: session)", "ADDR" },
    { NULL }
  };

  (void) amigo_error_quark ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "amigod-fake: %s\n", error->message);
    return 2;
  }
  if (address != NULL)
    bus = g_dbus_connection_new_for_address_sync (address,
                                                  G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                  NULL, NULL, &error);
  else
    bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL) {
    fprintf (stderr, "amigod-fake: %s\n", error->message);
    return 1;
  }
  fake.loop = g_main_loop_new (NULL, FALSE);
  amigo_daemon1_set_version (skeleton, AMIGO_VERSION);
  g_signal_connect (skeleton, "handle-get-reservation-request", G_CALLBACK (handle_get_reservation_request), &fake);
  g_signal_connect (skeleton, "handle-set-workload-class", G_CALLBACK (handle_set_workload_class), &fake);
  g_signal_connect (skeleton, "handle-get-history", G_CALLBACK (handle_get_history), &fake);
  g_signal_connect (skeleton, "handle-get-controllers", G_CALLBACK (handle_get_controllers), &fake);
  amigod_fake_migrate_init (skeleton);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), bus, AMIGO_DBUS_PATH, &error)) {
    fprintf (stderr, "amigod-fake: %s\n", error->message);
    return 1;
  }
  g_bus_own_name_on_connection (bus, AMIGO_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, NULL, on_name_lost,
                                &fake, NULL);
  g_main_loop_run (fake.loop);
  g_main_loop_unref (fake.loop);
  g_free (fake.label);
  return 1;
}
