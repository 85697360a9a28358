/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigod's daemon library on a simulated clock, for bench-amigod-500.sh.
 *
 * libvirt's test driver reports only the state of its domains; this program
 * feeds each one the statistics of a real guest (recorded `virsh domstats`
 * text) through the collector's augment seam, then runs TICKS poll ticks
 * back to back, advancing the clock by the interval after each: the
 * collector, the history store and the metadata writer run as in amigod.
 * Only a test driver URI is accepted, so recorded figures never reach a
 * real domain; amigod itself has no such option.
 *
 * usage: bench-amigod --config FILE --bus-address ADDR --ticks N STATS.txt... */
#define G_LOG_DOMAIN "amigo-bench"
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/resource.h>

#include "amigo-bench-feed.h"
#include "amigo-conf.h"
#include "amigo-daemon-private.h"
#include "amigo-log.h"
#include "amigo-time.h"

typedef struct {
  AmigoDaemon *daemon;
  GMainLoop *loop;
  gint64 interval_usec;
  guint ticks;
  guint max_ticks;
  gint64 first_tick_cpu_usec;   /* process CPU time after the first tick */
} Bench;

static gint64
process_cpu_usec (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) < 0)
    return 0;
  return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * AMIGO_USEC_PER_SEC +
         ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Each tick advances the clock by one interval. */
static gboolean
on_tick (gpointer user_data)
{
  Bench *b = user_data;
  gint64 cpu;

  if (!amigo_daemon_is_connected (b->daemon))
    return G_SOURCE_CONTINUE;
  amigo_daemon_tick (b->daemon);
  b->ticks++;
  if (b->ticks == 1)
    b->first_tick_cpu_usec = process_cpu_usec ();
  amigo_clock_advance (amigo_daemon_get_clock (b->daemon), b->interval_usec);
  if (b->ticks < b->max_ticks)
    return G_SOURCE_CONTINUE;

  cpu = process_cpu_usec ();
  g_message ("simulation done: %u ticks, %" G_GINT64_FORMAT " s of simulated time, %u domains", b->ticks,
             b->ticks * b->interval_usec / AMIGO_USEC_PER_SEC, amigo_daemon_get_domain_count (b->daemon));
  /* start-up and the first tick (which creates every domain's files) apart
   * from the steady state */
  g_message ("simulation cpu: first_tick_usec=%" G_GINT64_FORMAT " later_ticks=%u later_usec=%" G_GINT64_FORMAT,
             b->first_tick_cpu_usec, b->ticks - 1, cpu - b->first_tick_cpu_usec);
  g_main_loop_quit (b->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *bus_address = NULL;
  int ticks = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("STATS.txt... - amigod on a simulated clock");
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (AmigoBenchFeed) feed = NULL;
  g_autoptr (AmigoDaemon) daemon = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  AmigoDaemonOptions options = { 0 };
  AmigoClock *clock;
  Bench b = { 0 };
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "PATH" },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &bus_address, "Use the bus at ADDR", "ADDR" },
    { "ticks", 0, 0, G_OPTION_ARG_INT, &ticks, "Exit after N simulated ticks", "N" },
    { NULL }
  };

  /* as amigod does (src/daemon/amigod.c), so the figures are amigod's */
  mallopt (M_ARENA_MAX, 1);
  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "bench-amigod: %s\n", error->message);
    return 2;
  }
  if (config_path == NULL || bus_address == NULL || ticks <= 0 || argc < 2) {
    fprintf (stderr, "usage: bench-amigod --config FILE --bus-address ADDR --ticks N STATS.txt...\n");
    return 2;
  }
  amigo_log_setup (FALSE);
  if (!amigo_conf_load_file (conf, config_path, warnings, &error) || !amigo_conf_validate (conf, &error)) {
    fprintf (stderr, "bench-amigod: %s: %s\n", config_path, error->message);
    return 2;
  }
  /* recorded statistics go to the test driver's domains only */
  if (!g_str_has_prefix (conf->uri, "test:") && !g_str_has_prefix (conf->uri, "test+")) {
    fprintf (stderr, "bench-amigod: refusing '%s': recorded statistics are fed to test driver domains only\n",
             conf->uri);
    return 2;
  }
  feed = amigo_bench_feed_new ((const char * const *) argv + 1, &error);
  if (feed == NULL) {
    fprintf (stderr, "bench-amigod: %s\n", error->message);
    return 1;
  }

  b.interval_usec = conf->interval_usec;
  b.max_ticks = (guint) ticks;
  /* end the simulation at about the real time, so no sample is in the future */
  clock = amigo_clock_new_simulated (g_get_monotonic_time (),
                                     g_get_real_time () - (gint64) ticks * conf->interval_usec);
  options.bus_address = bus_address;
  daemon = amigo_daemon_new_with_clock (g_steal_pointer (&conf), &options, clock, &error);
  if (daemon == NULL) {
    fprintf (stderr, "bench-amigod: %s\n", error->message);
    return 1;
  }
  amigo_collector_set_augment_func (amigo_daemon_get_collector (daemon), amigo_bench_feed_augment, feed);
  if (!amigo_daemon_start (daemon, &error)) {
    fprintf (stderr, "bench-amigod: %s\n", error->message);
    return 1;
  }
  loop = g_main_loop_new (NULL, FALSE);
  b.daemon = daemon;
  b.loop = loop;
  /* below the daemon's own low-priority work (the reservation requests'
   * rounds), which therefore ends before the next tick as it would between
   * two real polls */
  g_idle_add_full (G_PRIORITY_LOW + 10, on_tick, &b, NULL);
  g_main_loop_run (loop);
  return 0;
}
