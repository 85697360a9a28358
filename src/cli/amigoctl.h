/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "amigo-dbus-generated.h"
#include "amigo-request-options.h"

G_BEGIN_DECLS

/* Exit statuses, documented in --help and docs/dbus-api.md. */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_OTHER = 1,
  EXIT_BAD_ARGS = 2,
  EXIT_NO_DAEMON = 3,
  EXIT_NO_DOMAIN = 4,
};

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
  AmigoDaemon1 *proxy;
} Cli;

/* Prints "amigoctl: <message>" on stderr and returns @status. */
int fail (int status, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Maps a failed call onto the exit status and says what went wrong. */
int fail_call (GError *error);
void print_and_free (char *text);

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

G_END_DECLS
