/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoWatchdog: pings systemd's watchdog (WATCHDOG=1) every
 * WATCHDOG_USEC / 2 from the main loop, so a hung main loop gets the
 * service restarted. Idle (no timer at all) when not started by systemd
 * with WatchdogSec=.
 */
typedef struct _AmigoWatchdog AmigoWatchdog;

AmigoWatchdog *amigo_watchdog_new (void);
void amigo_watchdog_free (AmigoWatchdog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoWatchdog, amigo_watchdog_free)

/* The ping period, 0 when idle. */
gint64 amigo_watchdog_get_period_usec (AmigoWatchdog *self);

G_END_DECLS
