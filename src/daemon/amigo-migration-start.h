/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When a migration with a deadline starts: the VM's last week of history
 * (CPU, network, memory, dirty rate at 5-minute steps, read on the main
 * loop in one pass over the store) handed to the start-time forecast
 * (amigo-migration-timing.h), which runs in a worker thread: it costs up
 * to ~150 ms of CPU, far more than the main loop may spend. */

#include <glib.h>

#include "amigo-history.h"

G_BEGIN_DECLS

/* The choice, on the main context: start at @start_usec (wall clock), for
 * @reason (one sentence). A failed forecast is "now" with the reason. */
typedef void (*AmigoMigrationStartChosen) (gpointer user_data, gint64 start_usec, const char *reason);

/* Chooses the start of a migration of @uuid within [@now_usec, @now_usec
 * + @deadline_usec], @duration_usec being its predicted length; calls
 * @done (then @user_data_free) on the calling thread's main context. */
void amigo_migration_start_choose (AmigoHistory *history,
                                   const char *uuid,
                                   gint64 now_usec,
                                   gint64 deadline_usec,
                                   gint64 duration_usec,
                                   AmigoMigrationStartChosen done,
                                   gpointer user_data,
                                   GDestroyNotify user_data_free);

G_END_DECLS
