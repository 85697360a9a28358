/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-watchdog.h"

#include <systemd/sd-daemon.h>

struct _AmigoWatchdog {
  guint timeout_id;
  gint64 period_usec;
};

static gboolean
on_watchdog_timeout (gpointer user_data)
{
  sd_notify (0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

AmigoWatchdog *
amigo_watchdog_new (void)
{
  AmigoWatchdog *self = g_new0 (AmigoWatchdog, 1);
  uint64_t usec = 0;
  int r = sd_watchdog_enabled (0, &usec);

  if (r < 0)
    g_warning ("ignoring the watchdog settings from systemd: %s", g_strerror (-r));
  if (r > 0 && usec > 0) {
    self->period_usec = (gint64) usec / 2;
    self->timeout_id = g_timeout_add_full (G_PRIORITY_HIGH,
                                           MAX (self->period_usec / 1000, 1),
                                           on_watchdog_timeout, NULL, NULL);
    g_debug ("pinging the systemd watchdog every %" G_GINT64_FORMAT " ms", self->period_usec / 1000);
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

gint64
amigo_watchdog_get_period_usec (AmigoWatchdog *self)
{
  return self->period_usec;
}
