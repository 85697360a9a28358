/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test programs only (tests/bench/bench-amigod.c): drive the daemon tick by
 * tick on a clock of their own. amigod itself never uses these. */

#include "amigo-clock.h"
#include "amigo-collector.h"
#include "amigo-daemon.h"

G_BEGIN_DECLS

/* As amigo_daemon_new(), on @clock (taken). */
AmigoDaemon *amigo_daemon_new_with_clock (AmigoConf *conf,
                                          const AmigoDaemonOptions *options,
                                          AmigoClock *clock,
                                          GError **error);

/* Owns the bus name and starts connecting to libvirt, but polls only when
 * told to (amigo_daemon_tick()). The default main context must run. */
gboolean amigo_daemon_start (AmigoDaemon *self, GError **error);

/* One poll tick: the poll, the metadata write when its interval has passed
 * on the daemon's clock, and the job-taking calls the poll asks for. */
void amigo_daemon_tick (AmigoDaemon *self);

gboolean amigo_daemon_is_connected (AmigoDaemon *self);
AmigoCollector *amigo_daemon_get_collector (AmigoDaemon *self);
AmigoClock *amigo_daemon_get_clock (AmigoDaemon *self);
guint amigo_daemon_get_domain_count (AmigoDaemon *self);

G_END_DECLS
