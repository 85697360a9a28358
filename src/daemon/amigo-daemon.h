/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-conf.h"

G_BEGIN_DECLS

/* amigod's exit statuses */
#define AMIGO_EXIT_OK 0
#define AMIGO_EXIT_FAILURE 1
#define AMIGO_EXIT_USAGE 2
#define AMIGO_EXIT_CONFIG 78   /* EX_CONFIG */

/**
 * AmigoDaemonOptions:
 * @session: use the session bus instead of the system bus.
 * @bus_address: (nullable): connect to this bus instead (tests).
 */
typedef struct {
  gboolean session;
  const char *bus_address;
} AmigoDaemonOptions;

typedef struct _AmigoDaemon AmigoDaemon;

/* Takes @conf. Opens the history store; fails if it cannot. */
AmigoDaemon *amigo_daemon_new (AmigoConf *conf,
                               const AmigoDaemonOptions *options,
                               GError **error);
void amigo_daemon_free (AmigoDaemon *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoDaemon, amigo_daemon_free)

/* Connects to the bus and libvirt and polls until SIGTERM / SIGINT.
 * Returns the process exit status. */
int amigo_daemon_run (AmigoDaemon *self);

G_END_DECLS
