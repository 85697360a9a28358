/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "amigo-config.h"
#include "amigo-dbus-generated.h"
#include "amigo-error.h"
#include "amigo-format.h"
#include "amigo-format-forecast.h"
#include "amigo-metric.h"
#include "amigo-time.h"
#include "amigoctl.h"

#define CALL_TIMEOUT_MSEC 10000

static void
cli_clear (Cli *cli)
{
  g_clear_object (&cli->proxy);
  g_clear_pointer (&cli->bus_address, g_free);
  g_clear_pointer (&cli->since, g_free);
  g_clear_pointer (&cli->from, g_free);
  g_clear_pointer (&cli->to, g_free);
  g_clear_pointer (&cli->window, g_free);
  g_clear_pointer (&cli->settle, g_free);
  g_clear_pointer (&cli->link, g_free);
  g_clear_pointer (&cli->plot, g_free);
  migrate_args_clear (&cli->migrate);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Cli, cli_clear)

typedef int (*CommandFunc) (Cli *cli, int argc, char **argv);

typedef struct {
  const char *name;
  CommandFunc check;   /* validates the arguments before the bus is touched */
  CommandFunc fn;
  const char *args;
  const char *description;
} Command;

int
fail (int status, const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "amigoctl: %s\n", msg);
  return status;
}

int
fail_call (GError *error)
{
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return fail (EXIT_NO_DAEMON, "amigod is not running (nobody owns '%s' on the bus)", AMIGO_DBUS_NAME);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    return fail (EXIT_FAILURE_OTHER, "permission denied: the bus policy lets only root and the members of "
                 "amigod's read group call it");
  g_dbus_error_strip_remote_error (error);
  if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
    return fail (EXIT_NO_DOMAIN, "%s", error->message);
  if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS))
    return fail (EXIT_BAD_ARGS, "%s", error->message);
  return fail (EXIT_FAILURE_OTHER, "%s", error->message);
}

void
print_and_free (char *text)
{
  fputs (text, stdout);
  g_free (text);
}

/* ---- status ---- */

static int
cmd_status (Cli *cli, int argc, char **argv)
{
  g_autoptr (GVariant) status = NULL;
  g_autoptr (GError) error = NULL;
  const char *version = "?", *uri = "?", *state_dir = "?";
  gboolean connected = FALSE;
  guint32 domains = 0;
  gint64 uptime = 0, interval = 0, last_poll = 0;
  guint64 store_bytes = 0, samples_lost = 0;
  gboolean store_ok = TRUE;
  gint64 failing_since = 0;
  const char *store_error = "";
  g_autofree char *s_uptime = NULL, *s_interval = NULL, *s_poll = NULL, *s_store = NULL;
  g_autofree char *s_failing = NULL;
  g_autofree char *s_ago = NULL;

  if (!amigo_daemon1_call_get_status_sync (cli->proxy, &status, NULL, &error))
    return fail_call (error);

  if (cli->json) {
    g_autoptr (JsonNode) root = amigo_format_variant_to_json (status);
    print_and_free (amigo_format_json (root));
    return EXIT_OK;
  }

  g_variant_lookup (status, "version", "&s", &version);
  g_variant_lookup (status, "libvirt_uri", "&s", &uri);
  g_variant_lookup (status, "state_dir", "&s", &state_dir);
  g_variant_lookup (status, "connected", "b", &connected);
  g_variant_lookup (status, "domains", "u", &domains);
  g_variant_lookup (status, "uptime_usec", "x", &uptime);
  g_variant_lookup (status, "interval_usec", "x", &interval);
  g_variant_lookup (status, "last_poll_usec", "x", &last_poll);
  g_variant_lookup (status, "store_bytes", "t", &store_bytes);
  g_variant_lookup (status, "store_ok", "b", &store_ok);
  g_variant_lookup (status, "store_failing_since_usec", "x", &failing_since);
  g_variant_lookup (status, "store_samples_lost", "t", &samples_lost);
  g_variant_lookup (status, "store_error", "&s", &store_error);
  s_failing = amigo_format_time (failing_since);
  s_uptime = amigo_format_duration (uptime);
  s_interval = amigo_format_duration (interval);
  s_poll = amigo_format_time (last_poll);
  s_store = amigo_format_bytes (store_bytes);
  if (last_poll > 0)
    s_ago = amigo_format_duration (MAX (g_get_real_time () - last_poll, 0));

  printf ("Version:    %s\n", version);
  printf ("Uptime:     %s\n", s_uptime);
  printf ("libvirt:    %s (%s)\n", uri, connected ? "connected" : "disconnected");
  printf ("Domains:    %u\n", domains);
  printf ("Interval:   %s\n", s_interval);
  if (s_ago != NULL)
    printf ("Last poll:  %s (%s ago)\n", s_poll, s_ago);
  else
    printf ("Last poll:  none yet\n");
  printf ("State dir:  %s\n", state_dir);
  printf ("Store size: %s\n", s_store);
  if (store_ok)
    printf ("Store:      ok (%" G_GUINT64_FORMAT " samples lost since amigod started)\n", samples_lost);
  else
    printf ("Store:      FAILING since %s: %s (%" G_GUINT64_FORMAT " samples lost)\n",
            s_failing, store_error, samples_lost);
  return EXIT_OK;
}

/* ---- domains ---- */

static char *
column_header (AmigoMetric m)
{
  g_autofree char *upper = g_ascii_strup (amigo_metric_to_string (m), -1);

  return g_strdup_printf ("%s [%s]", upper, amigo_metric_unit (m));
}

static int
cmd_domains (Cli *cli, int argc, char **argv)
{
  g_autoptr (GVariant) domains = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoTable) table = NULL;
  g_autoptr (GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
  gboolean right[3 + AMIGO_METRIC_LAST] = { FALSE };
  gboolean shown[AMIGO_METRIC_LAST] = { FALSE };
  GVariantIter iter;
  const char *uuid, *name;
  gint64 t;
  GVariant *metrics;

  if (!amigo_daemon1_call_list_domains_sync (cli->proxy, &domains, NULL, &error))
    return fail_call (error);

  if (cli->json) {
    g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);
    JsonArray *arr = json_array_new ();

    g_variant_iter_init (&iter, domains);
    while (g_variant_iter_next (&iter, "(&s&sx@a{sd})", &uuid, &name, &t, &metrics)) {
      JsonObject *obj = json_object_new ();
      JsonObject *m = json_object_new ();
      GVariantIter mi;
      const char *key;
      double value;

      json_object_set_string_member (obj, "uuid", uuid);
      json_object_set_string_member (obj, "name", name);
      json_object_set_int_member (obj, "sample_time_usec", t);
      g_variant_iter_init (&mi, metrics);
      while (g_variant_iter_next (&mi, "{&sd}", &key, &value)) {
        if (isfinite (value))
          json_object_set_double_member (m, key, value);
      }
      json_object_set_object_member (obj, "metrics", m);
      json_array_add_object_element (arr, obj);
      g_variant_unref (metrics);
    }
    json_node_take_array (root, arr);
    print_and_free (amigo_format_json (root));
    return EXIT_OK;
  }

  /* The first six metrics always; GPU memory and dirty rate only when some
   * domain reports them, to keep the table narrow. */
  for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
    shown[m] = m < AMIGO_METRIC_GPU_MEMORY;
  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&s&sx@a{sd})", &uuid, &name, &t, &metrics)) {
    for (guint m = AMIGO_METRIC_GPU_MEMORY; m < AMIGO_METRIC_LAST; m++) {
      double v;
      if (g_variant_lookup (metrics, amigo_metric_to_string (m), "d", &v))
        shown[m] = TRUE;
    }
    g_variant_unref (metrics);
  }

  g_ptr_array_add (headers, g_strdup ("NAME"));
  g_ptr_array_add (headers, g_strdup ("UUID"));
  g_ptr_array_add (headers, g_strdup ("SAMPLED"));
  for (guint m = 0; m < AMIGO_METRIC_LAST; m++) {
    if (shown[m]) {
      right[headers->len] = TRUE;
      g_ptr_array_add (headers, column_header (m));
    }
  }
  table = amigo_table_new ((const char * const *) headers->pdata, right, headers->len);

  g_variant_iter_init (&iter, domains);
  while (g_variant_iter_next (&iter, "(&s&sx@a{sd})", &uuid, &name, &t, &metrics)) {
    g_autoptr (GPtrArray) row = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GDateTime) dt = t > 0 ? g_date_time_new_from_unix_local (t / AMIGO_USEC_PER_SEC) : NULL;

    g_ptr_array_add (row, g_strdup (name));
    g_ptr_array_add (row, g_strdup (uuid));
    g_ptr_array_add (row, dt != NULL ? g_date_time_format (dt, "%H:%M:%S") : g_strdup ("-"));
    for (guint m = 0; m < AMIGO_METRIC_LAST; m++) {
      double v = NAN;
      if (!shown[m])
        continue;
      g_variant_lookup (metrics, amigo_metric_to_string (m), "d", &v);
      g_ptr_array_add (row, amigo_format_value (v));
    }
    amigo_table_add_row (table, (const char * const *) row->pdata);
    g_variant_unref (metrics);
  }
  if (amigo_table_get_n_rows (table) == 0) {
    printf ("No domains tracked.\n");
    return EXIT_OK;
  }
  print_and_free (amigo_table_render (table));
  return EXIT_OK;
}

/* ---- history ---- */

int
check_no_args (Cli *cli, int argc, char **argv)
{
  if (argc != 0)
    return fail (EXIT_BAD_ARGS, "unexpected argument '%s'", argv[0]);
  return EXIT_OK;
}

static int
check_history (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time ();

  cli->from_usec = now - AMIGO_USEC_PER_HOUR;
  cli->to_usec = now;
  if (argc != 2)
    return fail (EXIT_BAD_ARGS, "history: expected DOMAIN RESOURCE, got %d argument%s", argc,
                 argc == 1 ? "" : "s");
  if (!amigo_metric_from_string (argv[1], NULL)) {
    g_autofree char *valid = amigo_metric_join_names (NULL);
    return fail (EXIT_BAD_ARGS, "unknown resource '%s': expected one of %s", argv[1], valid);
  }
  if (cli->since != NULL && (cli->from != NULL || cli->to != NULL))
    return fail (EXIT_BAD_ARGS, "history: give either --since or --from/--to, not both");
  if (cli->since != NULL) {
    if (!g_ascii_isdigit (cli->since[0]) || strchr (cli->since, '-') != NULL ||
        !amigo_format_parse_time (cli->since, now, &cli->from_usec, &error))
      return fail (EXIT_BAD_ARGS, "--since: expected a duration like '1h' or '30m', got '%s'", cli->since);
  }
  if (cli->from != NULL && !amigo_format_parse_time (cli->from, now, &cli->from_usec, &error))
    return fail (EXIT_BAD_ARGS, "--from: %s", error->message);
  if (cli->to != NULL && !amigo_format_parse_time (cli->to, now, &cli->to_usec, &error))
    return fail (EXIT_BAD_ARGS, "--to: %s", error->message);
  return EXIT_OK;
}

static int
cmd_history (Cli *cli, int argc, char **argv)
{
  g_autoptr (GVariant) points = NULL;
  g_autoptr (GError) error = NULL;
  gint64 from = cli->from_usec, to = cli->to_usec;
  AmigoMetric metric = AMIGO_METRIC_CPU;
  GVariantIter iter;
  gint64 t;
  double mean, max;

  amigo_metric_from_string (argv[1], &metric);
  if (!amigo_daemon1_call_get_history_sync (cli->proxy, argv[0], argv[1], from, to, &points, NULL, &error))
    return fail_call (error);

  if (cli->json) {
    g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
    JsonObject *obj = json_object_new ();
    JsonArray *arr = json_array_new ();

    json_object_set_string_member (obj, "domain", argv[0]);
    json_object_set_string_member (obj, "resource", argv[1]);
    json_object_set_string_member (obj, "unit", amigo_metric_unit (metric));
    json_object_set_int_member (obj, "from_usec", from);
    json_object_set_int_member (obj, "to_usec", to);
    g_variant_iter_init (&iter, points);
    while (g_variant_iter_next (&iter, "(xdd)", &t, &mean, &max)) {
      JsonObject *p = json_object_new ();
      json_object_set_int_member (p, "time_usec", t);
      json_object_set_double_member (p, "mean", mean);
      json_object_set_double_member (p, "max", max);
      json_array_add_object_element (arr, p);
    }
    json_object_set_array_member (obj, "points", arr);
    json_node_take_object (root, obj);
    print_and_free (amigo_format_json (root));
    return EXIT_OK;
  }

  if (g_variant_n_children (points) == 0) {
    g_autofree char *f = amigo_format_time (from);
    g_autofree char *e = amigo_format_time (to);
    printf ("No %s history for '%s' between %s and %s.\n", argv[1], argv[0], f, e);
    return EXIT_OK;
  }
  {
    g_autofree char *h_mean = g_strdup_printf ("MEAN [%s]", amigo_metric_unit (metric));
    g_autofree char *h_max = g_strdup_printf ("MAX [%s]", amigo_metric_unit (metric));
    const char *headers[] = { "TIME", h_mean, h_max };
    const gboolean right[] = { FALSE, TRUE, TRUE };
    g_autoptr (AmigoTable) table = amigo_table_new (headers, right, 3);

    g_variant_iter_init (&iter, points);
    while (g_variant_iter_next (&iter, "(xdd)", &t, &mean, &max)) {
      g_autofree char *c0 = amigo_format_time (t);
      g_autofree char *c1 = amigo_format_value (mean);
      g_autofree char *c2 = amigo_format_value (max);
      const char *row[] = { c0, c1, c2 };
      amigo_table_add_row (table, row);
    }
    print_and_free (amigo_table_render (table));
  }
  return EXIT_OK;
}

static const Command commands[] = {
  { "status", check_no_args, cmd_status, "", "Show the daemon's state" },
  { "domains", check_no_args, cmd_domains, "", "List the tracked domains with their latest usage" },
  { "history", check_history, cmd_history, "DOMAIN RESOURCE",
    "Show one resource's history of one domain" },
  { "forecast", check_forecast, cmd_forecast, "DOMAIN",
    "Show the domain's reservation request for a migration starting now" },
  { "label", check_label, cmd_label, "DOMAIN CLASS|--clear",
    "Label the domain with a workload class (root only)" },
  { "ledger", check_no_args, cmd_ledger, "", "Show the host's reservation ledger per resource" },
  { "reservations", check_no_args, cmd_reservations, "", "List the host's reservations for incoming domains" },
  { "controllers", check_controllers, cmd_controllers, "DOMAIN",
    "Show the allocation loops of a domain that arrived by migration" },
  { "migrate", check_migrate, cmd_migrate, "DOMAIN DEST-URI",
    "Migrate a domain live, following its progress (root only)" },
  { "migrations", check_no_args, cmd_migrations, "", "List the migrations this host started, predicted vs measured" },
};

static char *
command_names (void)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (s, "%s%s", i == 0 ? "" : i + 1 == G_N_ELEMENTS (commands) ? " or " : ", ",
                            commands[i].name);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
commands_help (void)
{
  GString *s = g_string_new ("Commands:\n");

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_autofree char *usage = g_strdup_printf ("%s %s", commands[i].name, commands[i].args);
    g_string_append_printf (s, "  %-26s %s\n", usage, commands[i].description);
  }
  g_string_append (s, "\nResources: ");
  {
    g_autofree char *valid = amigo_metric_join_names (NULL);
    g_string_append (s, valid);
  }
  g_string_append (s,
                   "\n\nTimes (--from, --to): ISO 8601 ('2026-11-25T10:00:00Z'), '@SECONDS', 'now', or a\n"
                   "duration ago ('2h'). Default range: the last hour.\n\n"
                   "forecast: --window DURATION (0 = the overhead model's estimate, at most 7d),\n"
                   "--settle DURATION (at most 1d), --link BANDWIDTH (10G, 1000M: bit/s, 1M to 1T);\n"
                   "by default amigod's configured values. --plot FILE.png draws the last day of each\n"
                   "resource with the bound and reservation (needs gnuplot).\n\n"
                   "migrate: --migrate-uri URI, --bandwidth MIB/S (0 < x <= 100000), --downtime MS\n"
                   "(1 to 60000), --mode auto|precopy|auto-converge|postcopy, --deadline DURATION\n"
                   "(start within it, at most 24h), --timeout DURATION (1s to 24h), --no-wait (print\n"
                   "the plan and return). Ctrl-C cancels the migration, a second one quits at once.\n\n"
                   "Exit status: 0 ok, 1 other failure (migrate: failed or timed out), 2 bad\n"
                   "arguments, 3 amigod not running, 4 no such domain, 5 migration refused by the\n"
                   "destination, 6 migration cancelled, 130 quit without waiting for a cancel.");
  return g_string_free (s, FALSE);
}

static GDBusConnection *
open_bus (Cli *cli, GError **error)
{
  if (cli->bus_address != NULL)
    return g_dbus_connection_new_for_address_sync (cli->bus_address,
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, error);
  return g_bus_get_sync (cli->session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
}

int
main (int argc, char **argv)
{
  g_auto (Cli) cli = { 0 };
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND [ARGS...]");
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autofree char *help = commands_help ();
  const Command *command = NULL;
  g_autofree char *owner = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &cli.json, "Print one JSON document (for scripts)", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &cli.session, "Talk to amigod on the session bus", NULL },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &cli.bus_address, "Talk to amigod on the bus at ADDR", "ADDR" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &cli.since, "history: from this long ago (e.g. 1h, 30m)", "DURATION" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &cli.from, "history: start of the range", "TIME" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &cli.to, "history: end of the range (default now)", "TIME" },
    { "window", 0, 0, G_OPTION_ARG_STRING, &cli.window, "forecast: the migration window (e.g. 1h)", "DURATION" },
    { "settle", 0, 0, G_OPTION_ARG_STRING, &cli.settle, "forecast: time to cover after switch-over", "DURATION" },
    { "link", 0, 0, G_OPTION_ARG_STRING, &cli.link, "forecast: migration link bandwidth (e.g. 10G)", "BANDWIDTH" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &cli.plot, "forecast: draw the history and the request", "FILE.png" },
    { "clear", 0, 0, G_OPTION_ARG_NONE, &cli.clear, "label: remove the domain's label", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  g_set_prgname ("amigoctl");
  (void) amigo_error_quark ();   /* so org.amigo.Error.* come back as AMIGO_ERROR */
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, migrate_option_entries (&cli), NULL);
  g_option_context_set_summary (context, "Query the amigo daemon (amigod).");
  g_option_context_set_description (context, help);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_BAD_ARGS, "%s (see --help)", error->message);
  if (argc < 2) {
    g_autofree char *names = command_names ();
    return fail (EXIT_BAD_ARGS, "expected a command: %s (see --help)", names);
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (strcmp (argv[1], commands[i].name) == 0)
      command = &commands[i];
  }
  if (command == NULL) {
    g_autofree char *names = command_names ();
    return fail (EXIT_BAD_ARGS, "unknown command '%s': expected %s", argv[1], names);
  }
  if (command->fn != cmd_history && (cli.since != NULL || cli.from != NULL || cli.to != NULL))
    return fail (EXIT_BAD_ARGS, "%s: --since, --from and --to only apply to 'history'", command->name);
  if (command->fn != cmd_forecast && (cli.window != NULL || cli.settle != NULL || cli.link != NULL))
    return fail (EXIT_BAD_ARGS, "%s: --window, --settle and --link only apply to 'forecast'", command->name);
  if (command->fn != cmd_forecast && command->fn != cmd_controllers && cli.plot != NULL)
    return fail (EXIT_BAD_ARGS, "%s: --plot only applies to 'forecast' and 'controllers'", command->name);
  if (command->fn != cmd_label && cli.clear)
    return fail (EXIT_BAD_ARGS, "%s: --clear only applies to 'label'", command->name);
  if (command->fn != cmd_migrate && migrate_args_given (&cli.migrate))
    return fail (EXIT_BAD_ARGS, "%s: --migrate-uri, --bandwidth, --downtime, --mode, --deadline, --timeout and "
                 "--no-wait only apply to 'migrate'", command->name);
  status = command->check (&cli, argc - 2, argv + 2);
  if (status != EXIT_OK)
    return status;

  bus = open_bus (&cli, &error);
  if (bus == NULL)
    return fail (EXIT_NO_DAEMON, "cannot reach the %s bus: %s",
                 cli.bus_address != NULL ? "given" : cli.session ? "session" : "system", error->message);
  cli.proxy = amigo_daemon1_proxy_new_sync (bus,
                                            G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START |
                                            G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                            AMIGO_DBUS_NAME, AMIGO_DBUS_PATH, NULL, &error);
  if (cli.proxy == NULL)
    return fail_call (error);
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (cli.proxy));
  if (owner == NULL)
    return fail (EXIT_NO_DAEMON, "amigod is not running (nobody owns '%s' on the bus)", AMIGO_DBUS_NAME);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (cli.proxy), CALL_TIMEOUT_MSEC);

  return command->fn (&cli, argc - 2, argv + 2);
}
