/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoClock: the one clock of the daemon, the PID loops and migration
 * timeouts, in microseconds (docs/architecture.md).
 *
 * A real clock reads g_get_monotonic_time() and g_get_real_time(). A
 * simulated clock stands still until its owner advances it: benchmarks run
 * hours of polls in seconds with it, and tests step through timeouts
 * without sleeping. Code that takes an AmigoClock never asks which kind it
 * has. Not thread-safe: read and advance it from one thread.
 */
typedef struct _AmigoClock AmigoClock;

AmigoClock *amigo_clock_new_real (void);

/* A simulated clock reading @mono_usec and @wall_usec until advanced. */
AmigoClock *amigo_clock_new_simulated (gint64 mono_usec, gint64 wall_usec);

void amigo_clock_free (AmigoClock *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoClock, amigo_clock_free)

gboolean amigo_clock_is_simulated (const AmigoClock *self);

/* Monotonic time: only differences mean something. */
gint64 amigo_clock_get_monotonic_usec (const AmigoClock *self);

/* Wall time since the Unix epoch, what samples are stamped with. */
gint64 amigo_clock_get_wall_usec (const AmigoClock *self);

/* Moves a simulated clock (both readings) forward by @usec >= 0. A real
 * clock cannot be moved: does nothing but log a critical. */
void amigo_clock_advance (AmigoClock *self, gint64 usec);

/* Whether @deadline_usec (on the monotonic reading) has come. */
gboolean amigo_clock_reached (const AmigoClock *self, gint64 deadline_usec);

G_END_DECLS
