/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl migrate DOMAIN DEST-URI [options]: starts a migration through
 * amigod (Migrate), prints its plan and follows it (MigrationProgress,
 * MigrationFinished) with a progress bar; Ctrl-C cancels it
 * (CancelMigration). amigoctl migrations: the host's migrations
 * (ListMigrations). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib-unix.h>

#include "amigo-config.h"
#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-format.h"
#include "amigo-format-forecast.h"
#include "amigo-format-migration.h"
#include "amigo-migration-options.h"
#include "amigo-time.h"
#include "amigoctl.h"

/* Plain lines (stdout not a terminal): one a second; a signal a little
 * early still counts as the next second's. */
#define PLAIN_INTERVAL_USEC (900 * AMIGO_USEC_PER_MSEC)
/* Without a signal for this long, ask ListMigrations whether the migration
 * ended (a MigrationFinished lost with a bus hiccup must not hang us). */
#define QUIET_CHECK_SEC 15

const GOptionEntry *
migrate_option_entries (Cli *cli)
{
  MigrateArgs *a = &cli->migrate;
  const GOptionEntry entries[] = {
    { "migrate-uri", 0, 0, G_OPTION_ARG_STRING, &a->migrate_uri, "migrate: where the migration stream goes", "URI" },
    { "bandwidth", 0, 0, G_OPTION_ARG_STRING, &a->bandwidth, "migrate: the most it may use", "MIB/S" },
    { "downtime", 0, 0, G_OPTION_ARG_STRING, &a->downtime, "migrate: the longest pause at switch-over", "MS" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &a->mode, "migrate: auto, precopy, auto-converge or postcopy", "MODE" },
    { "deadline", 0, 0, G_OPTION_ARG_STRING, &a->deadline, "migrate: start within this long", "DURATION" },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &a->timeout, "migrate: give up after this long", "DURATION" },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &a->no_wait, "migrate: print the plan and return", NULL },
    { NULL }
  };
  static GOptionEntry copy[G_N_ELEMENTS (entries)];

  /* GOption keeps the pointer: a static copy with @cli's addresses */
  memcpy (copy, entries, sizeof entries);
  return copy;
}

gboolean
migrate_args_given (const MigrateArgs *a)
{
  return a->migrate_uri != NULL || a->bandwidth != NULL || a->downtime != NULL || a->mode != NULL ||
         a->deadline != NULL || a->timeout != NULL || a->no_wait;
}

void
migrate_args_clear (MigrateArgs *a)
{
  g_clear_pointer (&a->migrate_uri, g_free);
  g_clear_pointer (&a->bandwidth, g_free);
  g_clear_pointer (&a->downtime, g_free);
  g_clear_pointer (&a->mode, g_free);
  g_clear_pointer (&a->deadline, g_free);
  g_clear_pointer (&a->timeout, g_free);
  g_clear_pointer (&a->options, g_variant_unref);
}

/* ---- checking the command line ---- */

/* a duration option; "0" where 0 means something (--deadline: start now) */
static int
parse_duration (const char *option, const char *text, gboolean zero_ok, gint64 min_usec, gint64 max_usec,
                gint64 *ret_usec)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *min = amigo_duration_format (min_usec);
  g_autofree char *max = amigo_duration_format (max_usec);

  if (zero_ok && strcmp (text, "0") == 0) {
    *ret_usec = 0;
    return EXIT_OK;
  }
  if (!amigo_duration_parse (text, ret_usec, &error))
    return fail (EXIT_BAD_ARGS, "%s: %s", option, error->message);
  if (*ret_usec < min_usec || *ret_usec > max_usec)
    return fail (EXIT_BAD_ARGS, "%s: '%s' is out of range: expected %s%s to %s", option, text,
                 zero_ok ? "0 or " : "", min, max);
  return EXIT_OK;
}

/* The options as typed are parsed here, with the names of the command
 * line; what they must be is amigo_migration_options_check()'s, the same
 * check amigod makes, so that a typo never reaches the bus. */
int
check_migrate (Cli *cli, int argc, char **argv)
{
  MigrateArgs *a = &cli->migrate;
  g_auto (AmigoMigrationOptions) o = { 0 };
  g_autoptr (GError) error = NULL;
  int status;

  amigo_migration_options_init (&o);
  if (argc != 2)
    return fail (EXIT_BAD_ARGS, "migrate: expected DOMAIN DEST-URI, got %d argument%s", argc, argc == 1 ? "" : "s");
  if (*argv[0] == '\0')
    return fail (EXIT_BAD_ARGS, "migrate: the domain is empty: expected its name or UUID");
  if (!amigo_migration_check_dest_uri (argv[1], &error))
    return fail (EXIT_BAD_ARGS, "migrate: %s", error->message);
  if (a->migrate_uri != NULL) {
    o.migrate_uri = g_strdup (a->migrate_uri);
    if (!amigo_migration_options_check (&o, &error))
      return fail (EXIT_BAD_ARGS, "--migrate-uri: %s", error->message);
  }
  if (a->bandwidth != NULL) {
    char *end = NULL;
    o.bandwidth_mib_s = g_ascii_strtod (a->bandwidth, &end);
    /* 0 is "not set" in the struct: refused here, not dropped */
    if (end == a->bandwidth || *end != '\0' || !isfinite (o.bandwidth_mib_s) || o.bandwidth_mib_s <= 0 ||
        o.bandwidth_mib_s > AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S)
      return fail (EXIT_BAD_ARGS, "--bandwidth: '%s' is out of range: expected MiB/s, more than 0 and at most %.0f",
                   a->bandwidth, AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S);
  }
  if (a->downtime != NULL) {
    char *end = NULL;
    guint64 v = g_ascii_isdigit (a->downtime[0]) ? g_ascii_strtoull (a->downtime, &end, 10) : 0;
    if (end == NULL || *end != '\0' || v < AMIGO_MIGRATION_DOWNTIME_LIMIT_MIN_MS ||
        v > AMIGO_MIGRATION_DOWNTIME_LIMIT_MAX_MS)
      return fail (EXIT_BAD_ARGS, "--downtime: '%s' is out of range: expected milliseconds, %d to %d", a->downtime,
                   AMIGO_MIGRATION_DOWNTIME_LIMIT_MIN_MS, AMIGO_MIGRATION_DOWNTIME_LIMIT_MAX_MS);
    o.downtime_limit_ms = (guint32) v;
  }
  if (a->mode != NULL && !amigo_migration_mode_from_string (a->mode, &o.mode)) {
    g_autofree char *names = amigo_migration_mode_join_names (NULL);
    return fail (EXIT_BAD_ARGS, "--mode: unknown mode '%s': expected one of %s", a->mode, names);
  }
  if (a->deadline != NULL) {
    status = parse_duration ("--deadline", a->deadline, TRUE, AMIGO_USEC_PER_SEC, AMIGO_MIGRATION_DEADLINE_MAX_USEC,
                             &o.deadline_usec);
    if (status != EXIT_OK)
      return status;
  }
  if (a->timeout != NULL) {
    status = parse_duration ("--timeout", a->timeout, FALSE, AMIGO_MIGRATION_TIMEOUT_MIN_USEC,
                             AMIGO_MIGRATION_TIMEOUT_MAX_USEC, &o.timeout_usec);
    if (status != EXIT_OK)
      return status;
  }
  if (!amigo_migration_options_check (&o, &error))
    return fail (EXIT_BAD_ARGS, "migrate: %s", error->message);
  a->options = g_variant_ref_sink (amigo_migration_options_to_variant (&o));
  return EXIT_OK;
}

/* ---- following a migration ---- */

typedef struct {
  Cli *cli;
  GMainLoop *loop;
  const char *domain;
  const char *dest_uri;
  char *id;
  GVariant *plan;
  GVariant *result;         /* MigrationFinished's, once it came */
  gboolean tty;
  gboolean line_open;       /* a progress line is on the terminal without its newline */
  gint64 last_line_usec;    /* monotonic time of the last plain line */
  char *last_phase;
  gint64 last_signal_usec;  /* monotonic */
  guint interrupts;
  gboolean cancel_sent;
  int status;               /* set when it ends without a result */
} Follow;

static void
follow_clear (Follow *f)
{
  g_clear_pointer (&f->loop, g_main_loop_unref);
  g_clear_pointer (&f->id, g_free);
  g_clear_pointer (&f->plan, g_variant_unref);
  g_clear_pointer (&f->result, g_variant_unref);
  g_clear_pointer (&f->last_phase, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Follow, follow_clear)

static guint
terminal_width (void)
{
  struct winsize ws;
  const char *columns = g_getenv ("COLUMNS");

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  if (columns != NULL && g_ascii_strtoull (columns, NULL, 10) > 0)
    return (guint) g_ascii_strtoull (columns, NULL, 10);
  return 80;
}

/* ends a progress line left open on the terminal, before other output */
static void
close_line (Follow *f)
{
  if (f->line_open) {
    fputc ('\n', stdout);
    fflush (stdout);
    f->line_open = FALSE;
  }
}

static void
on_progress (Follow *f, GVariant *progress)
{
  const char *phase = NULL;
  gint64 now = g_get_monotonic_time ();
  gboolean new_phase;

  if (f->cli->json)
    return;
  g_variant_lookup (progress, "phase", "&s", &phase);
  new_phase = g_strcmp0 (phase, f->last_phase) != 0;
  g_free (f->last_phase);
  f->last_phase = g_strdup (phase);
  if (f->tty) {
    g_autofree char *line = amigo_format_migration_progress (progress, terminal_width ());
    /* \r and clear to the end: the bar is redrawn in place */
    printf ("\r%s\033[K", line);
    f->line_open = TRUE;
  } else {
    g_autofree char *line = NULL;
    if (!new_phase && now - f->last_line_usec < PLAIN_INTERVAL_USEC)
      return;
    line = amigo_format_migration_progress (progress, 0);
    printf ("progress %s\n", line);
    f->last_line_usec = now;
  }
  fflush (stdout);
}

static void
on_signal (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
           const char *member, GVariant *parameters, gpointer user_data)
{
  Follow *f = user_data;
  const char *id = NULL, *domain = NULL;
  g_autoptr (GVariant) dict = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ssa{sv})")))
    return;
  g_variant_get (parameters, "(&s&s@a{sv})", &id, &domain, &dict);
  /* signals of other migrations, and any that came before Migrate's reply
   * told us our id (the sync call does not run this loop: they wait) */
  if (f->id == NULL || strcmp (id, f->id) != 0 || f->result != NULL)
    return;
  f->last_signal_usec = g_get_monotonic_time ();
  if (strcmp (member, "MigrationProgress") == 0) {
    on_progress (f, dict);
  } else if (strcmp (member, "MigrationFinished") == 0) {
    f->result = g_steal_pointer (&dict);
    g_main_loop_quit (f->loop);
  }
}

static void
on_cancelled (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Follow *f = user_data;
  g_autoptr (GError) error = NULL;

  if (amigo_daemon1_call_cancel_migration_finish (AMIGO_DAEMON1 (source), res, &error))
    return;
  g_dbus_error_strip_remote_error (error);
  /* NotFound: it ended meanwhile; its MigrationFinished says how */
  if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
    close_line (f);
    fprintf (stderr, "amigoctl: could not cancel migration %s: %s\n", f->id, error->message);
  }
}

static gboolean
on_sigint (gpointer user_data)
{
  Follow *f = user_data;

  close_line (f);
  if (++f->interrupts > 1) {
    fprintf (stderr, "amigoctl: not waiting: migration %s may still be running (amigoctl migrations)\n", f->id);
    f->status = EXIT_INTERRUPTED;
    g_main_loop_quit (f->loop);
    return G_SOURCE_REMOVE;
  }
  fprintf (stderr, "amigoctl: cancelling migration %s (Ctrl-C again to quit without waiting)\n", f->id);
  f->cancel_sent = TRUE;
  amigo_daemon1_call_cancel_migration (f->cli->proxy, f->id, NULL, on_cancelled, f);
  return G_SOURCE_CONTINUE;
}

static void
on_name_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  Follow *f = user_data;

  close_line (f);
  f->status = fail (EXIT_NO_DAEMON, "amigod stopped while migration %s of '%s' ran: how it ended is unknown",
                    f->id, f->domain);
  g_main_loop_quit (f->loop);
}

static const char *const end_states[] = { "completed", "failed", "cancelled", "refused", "timeout", NULL };

static void
on_listed (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Follow *f = user_data;
  g_autoptr (GVariant) list = NULL;

  if (!amigo_daemon1_call_list_migrations_finish (AMIGO_DAEMON1 (source), &list, res, NULL) || f->result != NULL)
    return;
  for (gsize i = 0; i < g_variant_n_children (list); i++) {
    g_autoptr (GVariant) m = g_variant_get_child_value (list, i);
    const char *id = NULL, *state = NULL;
    if (g_variant_lookup (m, "id", "&s", &id) && g_strcmp0 (id, f->id) == 0 &&
        g_variant_lookup (m, "state", "&s", &state) && g_strv_contains (end_states, state)) {
      f->result = g_steal_pointer (&m);
      g_main_loop_quit (f->loop);
      return;
    }
  }
}

static gboolean
on_quiet_check (gpointer user_data)
{
  Follow *f = user_data;

  if (g_get_monotonic_time () - f->last_signal_usec >= QUIET_CHECK_SEC * AMIGO_USEC_PER_SEC)
    amigo_daemon1_call_list_migrations (f->cli->proxy, NULL, on_listed, f);
  return G_SOURCE_CONTINUE;
}

static int
state_status (const char *state)
{
  if (g_strcmp0 (state, "completed") == 0)
    return EXIT_OK;
  if (g_strcmp0 (state, "refused") == 0)
    return EXIT_REFUSED;
  if (g_strcmp0 (state, "cancelled") == 0)
    return EXIT_CANCELLED;
  return EXIT_FAILURE_OTHER;
}

static void
print_json (Follow *f)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  json_object_set_string_member (obj, "id", f->id);
  json_object_set_string_member (obj, "domain", f->domain);
  json_object_set_string_member (obj, "dest_uri", f->dest_uri);
  json_object_set_member (obj, "plan", amigo_format_variant_to_json (f->plan));
  if (f->result != NULL)
    json_object_set_member (obj, "result", amigo_format_variant_to_json (f->result));
  json_node_take_object (root, obj);
  print_and_free (amigo_format_json (root));
}

static int
report_end (Follow *f)
{
  const char *state = NULL;
  g_autofree char *outcome = NULL;
  g_autofree char *summary = NULL;

  close_line (f);
  if (f->result == NULL)
    return f->status;
  if (f->cli->json) {
    print_json (f);
  } else {
    g_variant_lookup (f->result, "state", "&s", &state);
    outcome = amigo_format_migration_outcome (f->result);
    summary = amigo_format_migration_summary (f->result);
    if (g_strcmp0 (state, "completed") == 0)
      printf ("Migration of '%s' %s.\n", f->domain, outcome);
    else
      fprintf (stderr, "amigoctl: migration of '%s' %s\n", f->domain, outcome);
    if (summary != NULL)
      fputs (summary, stdout);
  }
  g_variant_lookup (f->result, "state", "&s", &state);
  return state_status (state);
}

int
cmd_migrate (Cli *cli, int argc, char **argv)
{
  g_auto (Follow) f = { 0 };
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_dbus_proxy_get_connection (G_DBUS_PROXY (cli->proxy));
  guint subscription, watch, sigint, quiet;

  f.cli = cli;
  f.domain = argv[0];
  f.dest_uri = argv[1];
  f.loop = g_main_loop_new (NULL, FALSE);
  f.tty = isatty (STDOUT_FILENO);
  /* before Migrate: a short migration may end before its reply arrives */
  subscription = g_dbus_connection_signal_subscribe (bus, AMIGO_DBUS_NAME, AMIGO_DBUS_NAME, NULL, AMIGO_DBUS_PATH,
                                                     NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &f, NULL);
  /* and a Ctrl-C while Migrate is on its way cancels what it started
   * (handled once the loop runs, when the id is known) */
  sigint = g_unix_signal_add (SIGINT, on_sigint, &f);
  if (!amigo_daemon1_call_migrate_sync (cli->proxy, f.domain, f.dest_uri, cli->migrate.options, &f.id, &f.plan,
                                        NULL, &error)) {
    g_source_remove (sigint);
    g_dbus_connection_signal_unsubscribe (bus, subscription);
    g_dbus_error_strip_remote_error (error);
    if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY))
      return fail (EXIT_FAILURE_OTHER, "migrate: '%s' is busy: %s", f.domain, error->message);
    if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS))
      return fail (EXIT_BAD_ARGS, "migrate: %s", error->message);
    return fail_call (error);
  }
  if (!cli->json) {
    print_and_free (amigo_format_migration_plan (f.id, f.domain, f.dest_uri, f.plan, g_get_real_time ()));
    fflush (stdout);
  }
  if (cli->migrate.no_wait) {
    g_source_remove (sigint);
    g_dbus_connection_signal_unsubscribe (bus, subscription);
    if (cli->json)
      print_json (&f);
    else
      printf ("Not waiting: follow it with 'amigoctl migrations', cancel it with CancelMigration('%s').\n", f.id);
    return EXIT_OK;
  }

  f.last_signal_usec = g_get_monotonic_time ();
  watch = g_bus_watch_name_on_connection (bus, AMIGO_DBUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                          on_name_vanished, &f, NULL);
  quiet = g_timeout_add_seconds (QUIET_CHECK_SEC, on_quiet_check, &f);
  g_main_loop_run (f.loop);
  g_source_remove (quiet);
  if (f.status != EXIT_INTERRUPTED)
    g_source_remove (sigint);
  g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (bus, subscription);
  return report_end (&f);
}

/* ---- migrations ---- */

int
cmd_migrations (Cli *cli, int argc, char **argv)
{
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;

  if (!amigo_daemon1_call_list_migrations_sync (cli->proxy, &list, NULL, &error))
    return fail_call (error);
  if (cli->json) {
    g_autoptr (JsonNode) root = amigo_format_variant_to_json (list);
    print_and_free (amigo_format_json (root));
    return EXIT_OK;
  }
  print_and_free (amigo_format_migrations (list));
  return EXIT_OK;
}
