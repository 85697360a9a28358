/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asks one or more amigods what a user would (GetStatus, then ListDomains,
 * alternately) every PERIOD ms until SIGTERM/SIGINT, then prints for each
 * bus address one line:
 *
 *   probe addr=ADDR calls=N worst_ms=W polls=P longest_poll_gap_ms=G
 *
 * worst_ms is the longest call (a call still unanswered at the end counts
 * with the time it has waited so far); longest_poll_gap_ms is the longest
 * time between two polls as GetStatus's last_poll_usec shows them, the last
 * one counted up to the end. The caller judges the figures.
 *
 * usage: test-amigod-probe PERIOD_MS ADDR...   (test-amigod-migrating.sh) */
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  char *address;
  GDBusConnection *bus;
  gboolean busy;            /* a call is out */
  gint64 sent_usec;
  guint calls;
  gint64 worst_usec;
  gint64 worst_wall_usec;   /* when the worst call was sent */
  gint64 sent_wall_usec;
  gint64 last_poll_usec;    /* wall, as amigod reports it */
  gint64 first_poll_usec;
  gint64 longest_gap_usec;
  guint polls;
  guint errors;
} Target;

static void send_call (Target *t);

static void
on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Target *t = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_finish (t->bus, result, &error);
  gint64 took = g_get_monotonic_time () - t->sent_usec;
  gint64 last_poll = 0;

  t->busy = FALSE;
  t->calls++;
  if (took > t->worst_usec) {
    t->worst_usec = took;
    t->worst_wall_usec = t->sent_wall_usec;
  }
  if (reply == NULL) {
    if (t->errors++ < 3)
      g_printerr ("probe %s: %s\n", t->address, error->message);
    return;
  }
  if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(a{sv})"))) {
    g_autoptr (GVariant) dict = g_variant_get_child_value (reply, 0);

    if (g_variant_lookup (dict, "last_poll_usec", "x", &last_poll) && last_poll > 0 &&
        last_poll != t->last_poll_usec) {
      if (t->last_poll_usec > 0)
        t->longest_gap_usec = MAX (t->longest_gap_usec, last_poll - t->last_poll_usec);
      else
        t->first_poll_usec = last_poll;
      t->last_poll_usec = last_poll;
      t->polls++;
    }
  }
}

static void
send_call (Target *t)
{
  gboolean status = t->calls % 2 == 0;

  t->busy = TRUE;
  t->sent_usec = g_get_monotonic_time ();
  t->sent_wall_usec = g_get_real_time ();
  g_dbus_connection_call (t->bus, "org.amigo.Daemon1", "/org/amigo/Daemon1", "org.amigo.Daemon1",
                          status ? "GetStatus" : "ListDomains", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
                          120 * 1000, NULL, on_reply, t);
}

static gboolean
on_tick (gpointer user_data)
{
  GPtrArray *targets = user_data;

  for (guint i = 0; i < targets->len; i++) {
    Target *t = g_ptr_array_index (targets, i);

    if (!t->busy)
      send_call (t);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) targets = g_ptr_array_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  int period_ms;

  if (argc < 3 || (period_ms = atoi (argv[1])) <= 0) {
    fprintf (stderr, "usage: %s PERIOD_MS ADDR...\n", argv[0]);
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    g_autoptr (GError) error = NULL;
    Target *t = g_new0 (Target, 1);

    t->address = argv[i];
    t->bus = g_dbus_connection_new_for_address_sync (argv[i],
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, &error);
    if (t->bus == NULL) {
      fprintf (stderr, "probe: cannot connect to '%s': %s\n", argv[i], error->message);
      return 1;
    }
    g_ptr_array_add (targets, t);
  }
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_timeout_add (period_ms, on_tick, targets);
  on_tick (targets);
  g_main_loop_run (loop);

  for (guint i = 0; i < targets->len; i++) {
    Target *t = g_ptr_array_index (targets, i);
    gint64 worst = t->worst_usec;
    gint64 worst_wall = t->worst_wall_usec;
    gint64 gap = t->longest_gap_usec;
    g_autoptr (GDateTime) when = NULL;
    g_autofree char *hms = NULL;
    g_autofree char *when_text = NULL;

    if (t->busy && g_get_monotonic_time () - t->sent_usec > worst) {
      worst = g_get_monotonic_time () - t->sent_usec;
      worst_wall = t->sent_wall_usec;
    }
    if (t->last_poll_usec > 0)
      gap = MAX (gap, g_get_real_time () - t->last_poll_usec);
    when = g_date_time_new_from_unix_local (worst_wall / G_USEC_PER_SEC);
    hms = when != NULL ? g_date_time_format (when, "%H:%M:%S") : g_strdup ("-");
    when_text = g_strdup_printf ("%s.%03d", hms, (int) (worst_wall % G_USEC_PER_SEC / 1000));
    printf ("probe addr=%s calls=%u errors=%u worst_ms=%.1f worst_at=%s polls=%u longest_poll_gap_ms=%.1f\n",
            t->address, t->calls, t->errors, worst / 1000.0, when_text, t->polls, gap / 1000.0);
  }
  return 0;
}
