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

#include "amigo-watchdog.h"

/* Not under systemd: no timer, nothing sent. */
static void
test_watchdog_idle_without_systemd (void **state)
{
  g_autoptr (AmigoWatchdog) w = NULL;

  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  w = amigo_watchdog_new ();
  assert_int_equal (amigo_watchdog_get_period_usec (w), 0);
}

/* WATCHDOG_USEC for another process (a child that inherited it) is not ours. */
static void
test_watchdog_other_pid (void **state)
{
  g_autoptr (AmigoWatchdog) w = NULL;

  g_setenv ("WATCHDOG_USEC", "2000000", TRUE);
  g_setenv ("WATCHDOG_PID", "1", TRUE);
  w = amigo_watchdog_new ();
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

  w = amigo_watchdog_new ();
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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_watchdog_idle_without_systemd),
    cmocka_unit_test (test_watchdog_other_pid),
    cmocka_unit_test (test_watchdog_pings_notify_socket),
  };
  return cmocka_run_group_tests_name ("watchdog", tests, NULL, NULL);
}
