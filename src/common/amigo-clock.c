/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo"
#include "amigo-clock.h"

struct _AmigoClock {
  gboolean simulated;
  gint64 mono_usec;   /* simulated readings; unused by a real clock */
  gint64 wall_usec;
};

AmigoClock *
amigo_clock_new_real (void)
{
  return g_new0 (AmigoClock, 1);
}

AmigoClock *
amigo_clock_new_simulated (gint64 mono_usec, gint64 wall_usec)
{
  AmigoClock *self = g_new0 (AmigoClock, 1);

  self->simulated = TRUE;
  self->mono_usec = mono_usec;
  self->wall_usec = wall_usec;
  return self;
}

void
amigo_clock_free (AmigoClock *self)
{
  g_free (self);
}

gboolean
amigo_clock_is_simulated (const AmigoClock *self)
{
  return self->simulated;
}

gint64
amigo_clock_get_monotonic_usec (const AmigoClock *self)
{
  return self->simulated ? self->mono_usec : g_get_monotonic_time ();
}

gint64
amigo_clock_get_wall_usec (const AmigoClock *self)
{
  return self->simulated ? self->wall_usec : g_get_real_time ();
}

void
amigo_clock_advance (AmigoClock *self, gint64 usec)
{
  g_return_if_fail (self->simulated);
  g_return_if_fail (usec >= 0);
  self->mono_usec += usec;
  self->wall_usec += usec;
}

gboolean
amigo_clock_reached (const AmigoClock *self, gint64 deadline_usec)
{
  return amigo_clock_get_monotonic_usec (self) >= deadline_usec;
}
