/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "amigo-dbus-generated.h"
#include "amigo-gnuplot.h"
#include "amigo-request-options.h"

G_BEGIN_DECLS

/* Exit statuses, documented in --help and docs/dbus-api.md. */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_OTHER = 1,
  EXIT_BAD_ARGS = 2,
  EXIT_NO_DAEMON = 3,
  EXIT_NO_DOMAIN = 4,
  EXIT_REFUSED = 5,       /* migrate: the destination's admission said no */
  EXIT_CANCELLED = 6,     /* migrate: cancelled (Ctrl-C or CancelMigration) */
  EXIT_INTERRUPTED = 130, /* migrate: a second Ctrl-C, not waiting for the cancel */
};

/* amigoctl migrate's options as typed, and the Migrate options they make
 * (built by check_migrate before the bus is touched). */
typedef struct {
  char *migrate_uri;
  char *bandwidth;
  char *downtime;
  char *mode;
  char *deadline;
  char *timeout;
  gboolean no_wait;
  GVariant *options;     /* a{sv}, owned */
} MigrateArgs;

/* What the command line gave; each command reads its own options. */
typedef struct {
  gboolean json;
  gboolean session;
  char *bus_address;
  char *since;
  char *from;
  char *to;
  gint64 from_usec;
  gint64 to_usec;
  char *window;          /* forecast */
  char *settle;
  char *link;
  char *plot;
  AmigoRequestOptions request_options;
  gboolean clear;        /* label */
  MigrateArgs migrate;
  AmigoDaemon1 *proxy;
} Cli;

/* Prints "amigoctl: <message>" on stderr and returns @status. */
int fail (int status, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Maps a failed call onto the exit status and says what went wrong. */
int fail_call (GError *error);
void print_and_free (char *text);

/* Checks several commands share, before the bus is touched; @command names
 * the command in the message. */

/* @domain names a domain (its name or UUID). */
static inline int
check_domain_arg (const char *command, const char *domain)
{
  if (*domain == '\0')
    return fail (EXIT_BAD_ARGS, "%s: the domain is empty: expected its name or UUID", command);
  return EXIT_OK;
}

/* The arguments are one domain. */
static inline int
check_one_domain (const char *command, int argc, char **argv)
{
  if (argc != 1)
    return fail (EXIT_BAD_ARGS, "%s: expected DOMAIN, got %d arguments", command, argc);
  return check_domain_arg (command, argv[0]);
}

/* --plot FILE.png, if given: a file name, and gnuplot there to draw it. */
static inline int
check_plot_option (const char *plot)
{
  g_autoptr (GError) error = NULL;

  if (plot == NULL)
    return EXIT_OK;
  if (*plot == '\0')
    return fail (EXIT_BAD_ARGS, "--plot: expected a file name like 'web.png'");
  if (!amigo_gnuplot_check (&error))
    return fail (EXIT_FAILURE_OTHER, "--plot: %s", error->message);
  return EXIT_OK;
}

/* One file per command: amigoctl-<command>.c. check_* validates the
 * arguments before the bus is touched; cmd_* runs the command. */
int check_forecast (Cli *cli, int argc, char **argv);
int cmd_forecast (Cli *cli, int argc, char **argv);
int check_label (Cli *cli, int argc, char **argv);
int cmd_label (Cli *cli, int argc, char **argv);
int check_no_args (Cli *cli, int argc, char **argv);
int cmd_ledger (Cli *cli, int argc, char **argv);
int cmd_reservations (Cli *cli, int argc, char **argv);
int check_controllers (Cli *cli, int argc, char **argv);
int cmd_controllers (Cli *cli, int argc, char **argv);
int check_migrate (Cli *cli, int argc, char **argv);
int cmd_migrate (Cli *cli, int argc, char **argv);
int cmd_migrations (Cli *cli, int argc, char **argv);
/* migrate's command line options (pointing into @cli), whether any was
 * given, and their release */
const GOptionEntry *migrate_option_entries (Cli *cli);
gboolean migrate_args_given (const MigrateArgs *args);
void migrate_args_clear (MigrateArgs *args);

G_END_DECLS
