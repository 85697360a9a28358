/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * History store benchmark: the cost of one collection interval for 500
 * domains (append + flush with syncfs), disk bytes per domain-day, RSS,
 * restart (open) time and query time. Prints the command and its figures.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "amigo-history.h"
#include "amigo-time.h"

#define T0 (G_GINT64_CONSTANT (1767571200) * AMIGO_USEC_PER_SEC)
#define INTERVAL (10 * AMIGO_USEC_PER_SEC)

static gint64
cpu_usec (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static long
status_kib (const char *field)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  p = strstr (text, field);
  return p != NULL ? strtol (p + strlen (field) + 1, NULL, 10) : -1;
}

static guint64
du (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;
  GStatBuf st;

  if (dir == NULL)
    return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    total += du (child);
  }
  g_dir_close (dir);
  return total;
}

static void
rm_rf (const char *path)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", path);
  if (system (cmd) != 0)
    g_printerr ("could not remove '%s'\n", path);
}

static void
make_uuid (guint i, char *buf, gsize size)
{
  g_snprintf (buf, size, "5e1f0000-0000-4000-8000-%012x", i);
}

static void
sample_for (guint dom, gint64 t, AmigoSample *s)
{
  amigo_sample_init (s, t);
  for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
    s->values[m] = m == AMIGO_METRIC_GPU_MEMORY ? NAN : (double) ((t / INTERVAL + dom * 7 + m) % 97) / 3.0;
}

static gboolean
run_intervals (AmigoHistory *h, guint domains, gint64 from, guint intervals, gint64 every, GError **error)
{
  char uuid[40];

  for (guint k = 0; k < intervals; k++) {
    gint64 t = from + (gint64) k * every;
    /* The simulated wall clock: retention runs against it. */
    amigo_history_set_now (h, t);
    for (guint d = 0; d < domains; d++) {
      AmigoSample s;
      make_uuid (d, uuid, sizeof uuid);
      sample_for (d, t, &s);
      if (!amigo_history_append (h, uuid, "bench-vm", &s, error))
        return FALSE;
    }
    if (!amigo_history_flush (h, error))
      return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("amigo-bench-history-XXXXXX", &error);
  g_autofree char *dir500 = NULL, *dirday = NULL, *dirsteady = NULL;
  AmigoHistoryOptions opts;
  AmigoHistory *h;
  const guint domains = 500, intervals = 60;
  gint64 cpu0, wall0, cpu_first, cpu, wall, worst = 0;
  long rss0;
  char uuid[40];

  if (tmp == NULL) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  g_print ("command: %s (store under %s)\n", argv[0], tmp);
  dir500 = g_build_filename (tmp, "500", NULL);
  dirday = g_build_filename (tmp, "day", NULL);
  dirsteady = g_build_filename (tmp, "steady", NULL);
  rss0 = status_kib ("VmRSS:");

  /* 1. 500 domains x 60 intervals of 10 s, syncfs() once per flush. */
  amigo_history_options_init (&opts);
  h = amigo_history_open (dir500, &opts, &error);
  if (h == NULL) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  cpu0 = cpu_usec ();
  if (!run_intervals (h, domains, T0, 1, INTERVAL, &error))
    goto fail;
  cpu_first = cpu_usec () - cpu0;
  cpu0 = cpu_usec ();
  wall0 = g_get_monotonic_time ();
  for (guint k = 1; k < intervals; k++) {
    gint64 w = g_get_monotonic_time ();
    if (!run_intervals (h, domains, T0 + (gint64) k * INTERVAL, 1, INTERVAL, &error))
      goto fail;
    worst = MAX (worst, g_get_monotonic_time () - w);
  }
  cpu = cpu_usec () - cpu0;
  wall = g_get_monotonic_time () - wall0;
  g_print ("append+flush, %u domains, 10 s interval, syncfs on:\n", domains);
  g_print ("  first interval (creates %u directories): %" G_GINT64_FORMAT " us CPU\n", domains, cpu_first);
  g_print ("  steady: %.0f us CPU per interval (%.3f %% of one core at 10 s), %.0f us wall, worst %" G_GINT64_FORMAT " us wall\n",
           (double) cpu / (intervals - 1), 100.0 * cpu / (intervals - 1) / INTERVAL,
           (double) wall / (intervals - 1), worst);
  g_print ("  RSS: %ld KiB before open, %ld KiB now, peak %ld KiB\n", rss0, status_kib ("VmRSS:"), status_kib ("VmHWM:"));

  /* Queries on the populated store. */
  {
    g_autoptr(GArray) pts = NULL;
    g_autoptr(GArray) series = NULL;
    gint64 start, w = g_get_monotonic_time ();
    make_uuid (7, uuid, sizeof uuid);
    pts = amigo_history_query (h, uuid, AMIGO_METRIC_CPU, T0, T0 + intervals * INTERVAL, &error);
    amigo_history_series (h, uuid, AMIGO_METRIC_CPU, 5 * AMIGO_USEC_PER_MIN, T0 - 14 * AMIGO_USEC_PER_DAY,
                          T0 + intervals * INTERVAL, TRUE, &series, &start, NULL);
    g_print ("  query raw 10 min + series 14 d of one domain: %" G_GINT64_FORMAT " us wall (%u points)\n",
             g_get_monotonic_time () - w, pts != NULL ? pts->len : 0);
  }
  amigo_history_free (h);

  /* Restart: open and validate 500 domains. */
  {
    gint64 w = g_get_monotonic_time (), c = cpu_usec ();
    h = amigo_history_open (dir500, &opts, &error);
    if (h == NULL)
      goto fail;
    g_print ("  reopen of %u domains: %" G_GINT64_FORMAT " us wall, %" G_GINT64_FORMAT " us CPU\n",
             domains, g_get_monotonic_time () - w, cpu_usec () - c);
    amigo_history_free (h);
  }

  /* 2. Bytes written per domain-day (nothing expires within the day). */
  amigo_history_options_init (&opts);
  opts.sync = FALSE;
  opts.raw_retention_usec = 2 * AMIGO_USEC_PER_DAY;
  h = amigo_history_open (dirday, &opts, &error);
  if (h == NULL || !run_intervals (h, 10, T0, 8640, INTERVAL, &error))
    goto fail;
  amigo_history_free (h);
  g_print ("disk written per domain-day (10 s samples): %" G_GUINT64_FORMAT " bytes\n", du (dirday) / 10);

  /* 3. Steady-state disk use per domain with the default retention
   * (16 days at 10 s, 5 domains). */
  amigo_history_options_init (&opts);
  opts.sync = FALSE;
  h = amigo_history_open (dirsteady, &opts, &error);
  if (h == NULL)
    goto fail;
  {
    gint64 c = cpu_usec ();
    if (!run_intervals (h, 5, T0, 16 * 8640, INTERVAL, &error))
      goto fail;
    g_print ("steady-state disk per domain (6 h raw + 14 d at 5 min): %" G_GUINT64_FORMAT " bytes"
             " (%.2f us CPU per sample incl. flush)\n",
             du (dirsteady) / 5, (double) (cpu_usec () - c) / (5.0 * 16 * 8640));
  }
  amigo_history_free (h);
  {
    gint64 w = g_get_monotonic_time (), c = cpu_usec ();
    h = amigo_history_open (dirsteady, &opts, &error);
    if (h == NULL)
      goto fail;
    g_print ("reopen of a full store (5 domains, all files checked): %.0f us wall, %.0f us CPU per domain\n",
             (g_get_monotonic_time () - w) / 5.0, (cpu_usec () - c) / 5.0);
    amigo_history_free (h);
  }
  rm_rf (tmp);
  return 0;

fail:
  g_printerr ("bench-history: %s\n", error != NULL ? error->message : "failed");
  rm_rf (tmp);
  return 1;
}
