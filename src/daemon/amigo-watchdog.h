/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-clock.h"

G_BEGIN_DECLS

/**
 * AmigoWatchdog: pings systemd's watchdog (WATCHDOG=1) every
 * WATCHDOG_USEC / 2 from the main loop, but only while the daemon's work
 * progresses: the caller reports each poll tick with
 * amigo_watchdog_progress(), and without one for @stall_usec the pings
 * stop, so systemd restarts a daemon whose loop is stuck or whose polls no
 * longer run. A libvirt call waiting in the job runner (behind a migration)
 * does not stop the polls, so it is not mistaken for a stuck daemon. Idle
 * (no timer at all) when not started by systemd with WatchdogSec=.
 */
typedef struct _AmigoWatchdog AmigoWatchdog;

/* @clock (borrowed, outlives the watchdog): what "now" is. @stall_usec:
 * the longest time between two poll ticks that still counts as progress.
 * Starting counts as progress. */
AmigoWatchdog *amigo_watchdog_new (AmigoClock *clock, gint64 stall_usec);
void amigo_watchdog_free (AmigoWatchdog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoWatchdog, amigo_watchdog_free)

/* A poll tick ran. */
void amigo_watchdog_progress (AmigoWatchdog *self);

/* What the timer does: pings if the last progress is at most @stall_usec
 * old (and a watchdog is enabled). Returns whether it pinged. */
gboolean amigo_watchdog_check (AmigoWatchdog *self);

/* The ping period, 0 when idle. */
gint64 amigo_watchdog_get_period_usec (AmigoWatchdog *self);

G_END_DECLS
