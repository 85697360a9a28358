/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "amigo-error.h"
#include "amigo-job-runner.h"
#include "amigo-time.h"
#include "amigo-watchdog.h"

/* Not under systemd: no timer, nothing sent. */
static void
test_watchdog_idle_without_systemd (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_real ();
  g_autoptr (AmigoWatchdog) w = NULL;

  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  w = amigo_watchdog_new (clock, 10 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_watchdog_get_period_usec (w), 0);
}

/* WATCHDOG_USEC for another process (a child that inherited it) is not ours. */
static void
test_watchdog_other_pid (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_real ();
  g_autoptr (AmigoWatchdog) w = NULL;

  g_setenv ("WATCHDOG_USEC", "2000000", TRUE);
  g_setenv ("WATCHDOG_PID", "1", TRUE);
  w = amigo_watchdog_new (clock, 10 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_watchdog_get_period_usec (w), 0);
}

/* Under systemd with WatchdogSec: "WATCHDOG=1" reaches the notify socket
 * every WATCHDOG_USEC / 2. */
static void
test_watchdog_pings_notify_socket (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-wd-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "notify", NULL);
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (AmigoClock) clock = amigo_clock_new_real ();
  g_autoptr (AmigoWatchdog) w = NULL;
  gint64 ping_usec[3] = { 0 };
  gint64 start;
  char buf[256];
  guint pings = 0;
  gssize n;

  assert_non_null (sock);
  assert_true (g_socket_bind (sock, addr, FALSE, NULL));
  g_socket_set_blocking (sock, FALSE);
  g_setenv ("NOTIFY_SOCKET", path, TRUE);
  g_setenv ("WATCHDOG_USEC", "200000", TRUE);
  g_setenv ("WATCHDOG_PID", pid, TRUE);

  w = amigo_watchdog_new (clock, 10 * AMIGO_USEC_PER_SEC);
  assert_int_equal (amigo_watchdog_get_period_usec (w), 100000);
  /* wait (up to 10 s on a loaded machine) for three pings */
  start = g_get_monotonic_time ();
  while (pings < 3 && g_get_monotonic_time () - start < 10 * G_USEC_PER_SEC) {
    g_main_context_iteration (NULL, FALSE);
    while ((n = g_socket_receive (sock, buf, sizeof buf - 1, NULL, NULL)) > 0) {
      buf[n] = '\0';
      if (strstr (buf, "WATCHDOG=1") != NULL)
        ping_usec[pings++ % 3] = g_get_monotonic_time ();
    }
    g_usleep (2000);
  }
  assert_int_equal (pings, 3);
  /* a ping per period, not a burst: two periods between the first and third */
  assert_true (ping_usec[2] - ping_usec[0] >= 150000);

  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  g_unlink (path);
  g_rmdir (dir);
}

/* A notify socket standing in for systemd's. */
typedef struct {
  char *dir;
  char *path;
  GSocket *sock;
} Notify;

static void
notify_open (Notify *n, const char *watchdog_usec)
{
  g_autoptr (GSocketAddress) addr = NULL;
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());

  n->dir = g_dir_make_tmp ("amigo-wd-XXXXXX", NULL);
  n->path = g_build_filename (n->dir, "notify", NULL);
  n->sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  addr = g_unix_socket_address_new (n->path);
  assert_true (g_socket_bind (n->sock, addr, FALSE, NULL));
  g_socket_set_blocking (n->sock, FALSE);
  g_setenv ("NOTIFY_SOCKET", n->path, TRUE);
  g_setenv ("WATCHDOG_USEC", watchdog_usec, TRUE);
  g_setenv ("WATCHDOG_PID", pid, TRUE);
}

/* WATCHDOG=1 messages received since the last call. */
static guint
notify_pings (Notify *n)
{
  char buf[256];
  gssize len;
  guint pings = 0;

  while ((len = g_socket_receive (n->sock, buf, sizeof buf - 1, NULL, NULL)) > 0) {
    buf[len] = '\0';
    if (strstr (buf, "WATCHDOG=1") != NULL)
      pings++;
  }
  return pings;
}

static void
notify_close (Notify *n)
{
  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  g_clear_object (&n->sock);
  g_unlink (n->path);
  g_rmdir (n->dir);
  g_free (n->path);
  g_free (n->dir);
}

/* Pings go out while poll ticks come at least every stall period, stop when
 * they do not (a loop that no longer polls gets restarted), and resume with
 * the next tick. */
static void
test_watchdog_pings_only_while_polls_progress (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_simulated (1000, 1700000000 * AMIGO_USEC_PER_SEC);
  g_autoptr (AmigoWatchdog) w = NULL;
  Notify n = { 0 };

  notify_open (&n, "30000000");
  w = amigo_watchdog_new (clock, 4 * AMIGO_USEC_PER_SEC);
  assert_true (amigo_watchdog_check (w));   /* starting counts as progress */
  amigo_clock_advance (clock, 3 * AMIGO_USEC_PER_SEC);
  assert_true (amigo_watchdog_check (w));
  amigo_watchdog_progress (w);
  amigo_clock_advance (clock, 4 * AMIGO_USEC_PER_SEC);
  assert_true (amigo_watchdog_check (w));
  assert_int_equal (notify_pings (&n), 3);

  amigo_clock_advance (clock, 1);
  assert_false (amigo_watchdog_check (w));
  amigo_clock_advance (clock, 60 * AMIGO_USEC_PER_SEC);
  assert_false (amigo_watchdog_check (w));
  assert_int_equal (notify_pings (&n), 0);

  amigo_watchdog_progress (w);
  assert_true (amigo_watchdog_check (w));
  assert_int_equal (notify_pings (&n), 1);
  notify_close (&n);
}

typedef struct {
  GMutex lock;
  GCond cond;
  gboolean open;
} Gate;

static gboolean
wait_gate (gpointer data, GError **error)
{
  Gate *gate = data;

  g_mutex_lock (&gate->lock);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  return TRUE;
}

static void
on_gate_done (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
on_poll_tick (gpointer user_data)
{
  amigo_watchdog_progress (user_data);
  return G_SOURCE_CONTINUE;
}

static guint
run_for (Notify *n, gint64 usec)
{
  gint64 end = g_get_monotonic_time () + usec;
  guint pings = 0;

  while (g_get_monotonic_time () < end) {
    g_main_context_iteration (NULL, FALSE);
    pings += notify_pings (n);
    g_usleep (2000);
  }
  return pings;
}

/* As in amigod: a libvirt call waiting in the job runner (a migration holds
 * the domain) while the main loop goes on polling keeps the watchdog fed;
 * polls that stop starve it even though the loop itself still runs. */
static void
test_watchdog_busy_libvirt_is_not_a_stuck_loop (void **state)
{
  g_autoptr (AmigoClock) clock = amigo_clock_new_real ();
  g_autoptr (AmigoWatchdog) w = NULL;
  g_autoptr (AmigoJobRunner) runner = amigo_job_runner_new (1);
  Gate gate = { .open = FALSE };
  gboolean job_done = FALSE;
  Notify n = { 0 };
  guint tick_id;
  guint pings;

  notify_open (&n, "100000");   /* a ping every 50 ms */
  w = amigo_watchdog_new (clock, 200 * 1000);
  tick_id = g_timeout_add (40, on_poll_tick, w);
  assert_true (amigo_job_runner_submit (runner, "6a000000-0000-4000-8000-000000000001", wait_gate,
                                        on_gate_done, &gate, NULL, &job_done));

  pings = run_for (&n, 600 * 1000);
  assert_false (job_done);
  assert_true (pings >= 5);

  /* polls stop: the pings stop within the stall period */
  g_source_remove (tick_id);
  run_for (&n, 400 * 1000);
  assert_int_equal (run_for (&n, 400 * 1000), 0);

  g_mutex_lock (&gate.lock);
  gate.open = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  for (gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC; !job_done && g_get_monotonic_time () < end;)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  assert_true (job_done);
  notify_close (&n);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_watchdog_idle_without_systemd),
    cmocka_unit_test (test_watchdog_other_pid),
    cmocka_unit_test (test_watchdog_pings_notify_socket),
    cmocka_unit_test (test_watchdog_pings_only_while_polls_progress),
    cmocka_unit_test (test_watchdog_busy_libvirt_is_not_a_stuck_loop),
  };
  return cmocka_run_group_tests_name ("watchdog", tests, NULL, NULL);
}
