/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-watchdog.h"

#include <systemd/sd-daemon.h>

struct _AmigoWatchdog {
  AmigoClock *clock;          /* borrowed */
  guint timeout_id;
  gint64 period_usec;
  gint64 stall_usec;
  gint64 last_progress_usec;  /* monotonic */
  gboolean stalled;           /* said so in the log */
};

gboolean
amigo_watchdog_check (AmigoWatchdog *self)
{
  gint64 since = amigo_clock_get_monotonic_usec (self->clock) - self->last_progress_usec;

  if (self->period_usec == 0)
    return FALSE;
  if (since > self->stall_usec) {
    if (!self->stalled)
      g_warning ("no poll for %" G_GINT64_FORMAT " s: no longer pinging the watchdog, so that systemd "
                 "restarts amigod", since / G_USEC_PER_SEC);
    self->stalled = TRUE;
    return FALSE;
  }
  sd_notify (0, "WATCHDOG=1");
  return TRUE;
}

static gboolean
on_watchdog_timeout (gpointer user_data)
{
  amigo_watchdog_check (user_data);
  return G_SOURCE_CONTINUE;
}

AmigoWatchdog *
amigo_watchdog_new (AmigoClock *clock, gint64 stall_usec)
{
  AmigoWatchdog *self = g_new0 (AmigoWatchdog, 1);
  uint64_t usec = 0;
  int r = sd_watchdog_enabled (0, &usec);

  self->clock = clock;
  self->stall_usec = stall_usec;
  self->last_progress_usec = amigo_clock_get_monotonic_usec (clock);
  if (r < 0)
    g_warning ("ignoring the watchdog settings from systemd: %s", g_strerror (-r));
  if (r > 0 && usec > 0) {
    self->period_usec = (gint64) usec / 2;
    self->timeout_id = g_timeout_add_full (G_PRIORITY_HIGH,
                                           MAX (self->period_usec / 1000, 1),
                                           on_watchdog_timeout, self, NULL);
    g_debug ("pinging the systemd watchdog every %" G_GINT64_FORMAT " ms while polls run at least every %"
             G_GINT64_FORMAT " ms", self->period_usec / 1000, stall_usec / 1000);
  }
  return self;
}

void
amigo_watchdog_free (AmigoWatchdog *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_free (self);
}

void
amigo_watchdog_progress (AmigoWatchdog *self)
{
  self->last_progress_usec = amigo_clock_get_monotonic_usec (self->clock);
  self->stalled = FALSE;
}

gint64
amigo_watchdog_get_period_usec (AmigoWatchdog *self)
{
  return self->period_usec;
}
