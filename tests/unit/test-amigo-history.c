/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "amigo-error.h"
#include "amigo-history.h"
#include "amigo-history-private.h"
#include "amigo-time.h"

#define UUID_A "6f0d5b8e-3c1a-4c55-9a57-0d3a1c2b4e01"
#define UUID_B "6f0d5b8e-3c1a-4c55-9a57-0d3a1c2b4e02"
#define UUID_C "6f0d5b8e-3c1a-4c55-9a57-0d3a1c2b4e03"
#define UUID_UNKNOWN "00000000-0000-4000-8000-000000000000"

/* 2026-01-05 00:00:00 UTC */
#define T0 (G_GINT64_CONSTANT (1767571200) * AMIGO_USEC_PER_SEC)
#define INTERVAL (10 * AMIGO_USEC_PER_SEC)

/* ---- helpers ------------------------------------------------------------ */

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      rm_rf (child);
    }
    g_dir_close (dir);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

static guint64
du (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint64 total = 0;
  struct stat st;

  if (dir == NULL)
    return stat (path, &st) == 0 ? (guint64) st.st_size : 0;
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    total += du (child);
  }
  g_dir_close (dir);
  return total;
}

static guint
count_files (const char *dir, const char *prefix)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  if (d == NULL)
    return 0;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      n++;
  g_dir_close (d);
  return n;
}

static int
setup_dir (void **state)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("amigo-history-XXXXXX", &error);
  assert_non_null (dir);
  *state = dir;
  return 0;
}

static int
teardown_dir (void **state)
{
  rm_rf (*state);
  g_free (*state);
  return 0;
}

static AmigoHistory *
open_store (const char *dir, gint64 raw_retention_usec)
{
  g_autoptr(GError) error = NULL;
  AmigoHistoryOptions opts;
  AmigoHistory *h;

  amigo_history_options_init (&opts);
  opts.sync = FALSE;
  if (raw_retention_usec >= 0)
    opts.raw_retention_usec = raw_retention_usec;
  h = amigo_history_open (dir, &opts, &error);
  if (h == NULL)
    fail_msg ("open '%s': %s", dir, error->message);
  return h;
}

/* A deterministic, non-trivial value of metric @m of domain @dom at @t. */
static double
value_at (guint dom, guint m, gint64 t)
{
  gint64 k = t / INTERVAL;
  return (double) ((k * 7 + m * 13 + dom * 29) % 101) / 4.0;
}

static void
append_ok (AmigoHistory *h, const char *uuid, const char *name, const AmigoSample *s)
{
  g_autoptr(GError) error = NULL;
  if (!amigo_history_append (h, uuid, name, s, &error))
    fail_msg ("append: %s", error->message);
}

static void
flush_ok (AmigoHistory *h)
{
  g_autoptr(GError) error = NULL;
  if (!amigo_history_flush (h, &error))
    fail_msg ("flush: %s", error->message);
}

static void
fill (AmigoHistory *h, const char *uuid, guint dom, gint64 from, gint64 to, gint64 every, guint flush_every)
{
  guint n = 0;
  for (gint64 t = from; t < to; t += every) {
    AmigoSample s;
    amigo_sample_init (&s, t);
    for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
      s.values[m] = m == AMIGO_METRIC_GPU_MEMORY ? NAN : value_at (dom, m, t);
    /* The samples are stamped by the wall clock of their time. */
    amigo_history_set_now (h, t);
    append_ok (h, uuid, "vm", &s);
    if (++n % flush_every == 0)
      flush_ok (h);
  }
  flush_ok (h);
}

static GArray *
query_ok (AmigoHistory *h, const char *uuid, AmigoMetric m, gint64 from, gint64 to)
{
  g_autoptr(GError) error = NULL;
  GArray *pts = amigo_history_query (h, uuid, m, from, to, &error);
  if (pts == NULL)
    fail_msg ("query: %s", error->message);
  return pts;
}

static gboolean
close_float (double a, double b)
{
  if (isnan (a) || isnan (b))
    return isnan (a) && isnan (b);
  return fabs (a - b) <= 1e-4 * MAX (1.0, fabs (b));
}

/* ---- tests -------------------------------------------------------------- */

static void
test_crc32_matches_zlib (void **state)
{
  /* The check value of CRC-32/ISO-HDLC, as zlib's crc32() computes it. */
  assert_int_equal (amigo_history_crc32 (0, "123456789", 9), 0xCBF43926u);
  assert_int_equal (amigo_history_crc32 (amigo_history_crc32 (0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static void
test_segment_names (void **state)
{
  char name[32];
  gboolean raw;
  gint64 start;

  amigo_history_segment_name (TRUE, T0 + 13 * AMIGO_USEC_PER_HOUR, name, sizeof name);
  assert_string_equal (name, "raw-2026010513.amh");
  assert_true (amigo_history_parse_segment_name (name, &raw, &start));
  assert_true (raw);
  assert_int_equal (start, T0 + 13 * AMIGO_USEC_PER_HOUR);
  amigo_history_segment_name (FALSE, T0 + 40 * AMIGO_USEC_PER_DAY, name, sizeof name);
  assert_string_equal (name, "ds-20260214.amh");
  assert_false (amigo_history_parse_segment_name ("ds-20260231.amh", &raw, &start));
  assert_false (amigo_history_parse_segment_name ("raw-2026010524.amh", &raw, &start));
  assert_false (amigo_history_parse_segment_name ("raw-2026010513.amh.corrupt-1", &raw, &start));
}

static void
test_append_query_roundtrip (void **state)
{
  g_autoptr(AmigoHistory) h = open_store (*state, -1);
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) uuids = NULL;
  gint64 end = T0 + 90 * INTERVAL;

  fill (h, UUID_A, 0, T0, end, INTERVAL, 7);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, end);
  assert_int_equal (pts->len, 90);
  for (guint i = 0; i < pts->len; i++) {
    AmigoHistoryPoint *p = &g_array_index (pts, AmigoHistoryPoint, i);
    assert_int_equal (p->time_usec, T0 + i * INTERVAL);
    assert_true (close_float (p->mean, value_at (0, AMIGO_METRIC_CPU, p->time_usec)));
    assert_true (p->mean == p->max);
  }
  g_clear_pointer (&pts, g_array_unref);
  /* A missing metric stays missing, never 0. */
  pts = query_ok (h, UUID_A, AMIGO_METRIC_GPU_MEMORY, T0, end);
  assert_int_equal (pts->len, 90);
  assert_true (isnan (g_array_index (pts, AmigoHistoryPoint, 5).mean));

  /* A sample older than the last one of its domain is refused. */
  {
    AmigoSample s;
    amigo_sample_init (&s, T0);
    assert_false (amigo_history_append (h, UUID_A, "vm", &s, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    g_clear_error (&error);
    assert_false (amigo_history_append (h, "not-a-uuid", "vm", &s, &error));
    assert_non_null (strstr (error->message, "'not-a-uuid'"));
    g_clear_error (&error);
  }

  assert_null (amigo_history_query (h, UUID_A, AMIGO_METRIC_CPU, end, T0, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_null (amigo_history_query (h, UUID_UNKNOWN, AMIGO_METRIC_CPU, T0, end, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, UUID_UNKNOWN));
  g_clear_error (&error);

  uuids = amigo_history_list_domains (h);
  assert_int_equal (uuids->len, 1);
  assert_string_equal (g_ptr_array_index (uuids, 0), UUID_A);
}

/* Buckets hold the mean and max of the values present; a bucket where a
 * metric never had a value keeps NAN for it. */
static void
test_downsample_mean_max_nan (void **state)
{
  g_autoptr(AmigoHistory) h = open_store (*state, 10 * AMIGO_USEC_PER_MIN);
  const gint64 step = 5 * AMIGO_USEC_PER_MIN;
  const guint per_bucket = step / INTERVAL;
  double sum[4] = { 0 }, max[4] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY };
  guint n[4] = { 0 };
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GArray) series = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = 0;

  /* 4 buckets, then 2 hours more so that the query is outside the raw window. */
  for (guint i = 0; i < 4 * per_bucket; i++) {
    AmigoSample s;
    guint b = i / per_bucket;
    gint64 t = T0 + i * INTERVAL;
    double v = (i * 37 % 23) + 0.5;

    amigo_sample_init (&s, t);
    if (i % 3 != 0 && b != 2) {  /* bucket 2 has no CPU value at all */
      s.values[AMIGO_METRIC_CPU] = v;
      sum[b] += v;
      max[b] = MAX (max[b], v);
      n[b]++;
    }
    s.values[AMIGO_METRIC_MEMORY] = 4.0;
    append_ok (h, UUID_A, "vm", &s);
  }
  fill (h, UUID_A, 0, T0 + 4 * step, T0 + 4 * step + 2 * AMIGO_USEC_PER_HOUR, INTERVAL, 30);

  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, T0 + 4 * step - 1);
  assert_int_equal (pts->len, 4);
  for (guint b = 0; b < 4; b++) {
    AmigoHistoryPoint *p = &g_array_index (pts, AmigoHistoryPoint, b);
    assert_int_equal (p->time_usec, T0 + b * step);
    if (n[b] == 0) {
      assert_true (isnan (p->mean) && isnan (p->max));
    } else {
      assert_true (close_float (p->mean, sum[b] / n[b]));
      assert_true (close_float (p->max, max[b]));
      assert_true (p->max >= p->mean);
    }
  }

  /* The forecaster's view: 10-minute bins of the same buckets. */
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, 2 * step, T0, T0 + 4 * step - 1,
                                     FALSE, &series, &start, &error));
  assert_int_equal (start, T0);
  assert_int_equal (series->len, 2);
  assert_true (close_float (g_array_index (series, double, 0), (sum[0] / n[0] + sum[1] / n[1]) / 2));
  assert_true (close_float (g_array_index (series, double, 1), sum[3] / n[3]));
  g_clear_pointer (&series, g_array_unref);
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, 2 * step, T0, T0 + 4 * step - 1,
                                     TRUE, &series, &start, &error));
  assert_true (close_float (g_array_index (series, double, 0), MAX (max[0], max[1])));
  g_clear_pointer (&series, g_array_unref);

  /* Before any data: gaps are NAN. */
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, step, T0 - 2 * step, T0 + step - 1,
                                     FALSE, &series, &start, &error));
  assert_int_equal (series->len, 3);
  assert_true (isnan (g_array_index (series, double, 0)));
  assert_false (isnan (g_array_index (series, double, 2)));
  g_clear_pointer (&series, g_array_unref);

  assert_false (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, 0, T0, T0 + step, FALSE, &series, &start, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_false (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, AMIGO_USEC_PER_SEC, T0,
                                      T0 + 365 * AMIGO_USEC_PER_DAY, FALSE, &series, &start, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
}

/* 30 simulated days at 10 s: old data goes, the disk use stays within what
 * the retention allows, and the last 14 days are all there. */
static void
test_retention_bounded (void **state)
{
  g_autoptr(AmigoHistory) h = open_store (*state, -1);
  g_autofree char *ddir = g_build_filename (*state, UUID_A, NULL);
  const guint64 raw_file = AMIGO_HISTORY_SEGMENT_HEADER_SIZE + 360 * AMIGO_HISTORY_RAW_RECORD_SIZE;
  const guint64 ds_file = AMIGO_HISTORY_SEGMENT_HEADER_SIZE + 288 * AMIGO_HISTORY_DS_RECORD_SIZE;
  /* 6 h raw: at most 7 hourly files; 14 d downsampled: at most 15 daily. */
  const guint64 bound = AMIGO_HISTORY_DOMAIN_HEADER_SIZE + 7 * raw_file + 15 * ds_file;
  guint64 peak = 0;
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GArray) series = NULL;
  g_autoptr(GError) error = NULL;
  gint64 end = T0 + 30 * AMIGO_USEC_PER_DAY, start;

  for (guint day = 0; day < 30; day++) {
    fill (h, UUID_A, 0, T0 + day * AMIGO_USEC_PER_DAY, T0 + (day + 1) * AMIGO_USEC_PER_DAY, INTERVAL, 60);
    peak = MAX (peak, du (*state));
  }
  print_message ("history disk use: peak %" G_GUINT64_FORMAT " bytes, bound %" G_GUINT64_FORMAT "\n", peak, bound);
  assert_true (peak <= bound);
  assert_true (count_files (ddir, "raw-") <= 7);
  assert_true (count_files (ddir, "ds-") <= 15);

  /* Day 1 is gone; the last 13 full days are complete. */
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, T0 + AMIGO_USEC_PER_DAY);
  assert_int_equal (pts->len, 0);
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_CPU, 5 * AMIGO_USEC_PER_MIN,
                                     end - 13 * AMIGO_USEC_PER_DAY, end - 1, FALSE, &series, &start, &error));
  assert_int_equal (series->len, 13 * 288);
  for (guint i = 0; i < series->len; i++)
    assert_false (isnan (g_array_index (series, double, i)));
  /* And the data held is at least what the retention promises. */
  assert_true (du (*state) >= 13 * 288 * AMIGO_HISTORY_DS_RECORD_SIZE + 6 * 360 * AMIGO_HISTORY_RAW_RECORD_SIZE);
}

static void
test_reopen_keeps_data (void **state)
{
  g_autoptr(GArray) before = NULL;
  g_autoptr(GArray) after = NULL;
  g_autoptr(GArray) s_before = NULL;
  g_autoptr(GArray) s_after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  gint64 end = T0 + 3 * AMIGO_USEC_PER_HOUR + 7 * INTERVAL, start;
  AmigoHistory *h = open_store (*state, -1);

  fill (h, UUID_A, 0, T0, end, INTERVAL, 13);
  fill (h, UUID_B, 1, T0, end, INTERVAL, 13);
  before = query_ok (h, UUID_B, AMIGO_METRIC_NET_RX, T0, end);
  assert_true (amigo_history_series (h, UUID_B, AMIGO_METRIC_NET_RX, 5 * AMIGO_USEC_PER_MIN, T0, end,
                                     FALSE, &s_before, &start, &error));
  amigo_history_free (h);

  h = open_store (*state, -1);
  after = query_ok (h, UUID_B, AMIGO_METRIC_NET_RX, T0, end);
  assert_int_equal (after->len, before->len);
  assert_int_equal (after->len, (end - T0) / INTERVAL);
  assert_memory_equal (after->data, before->data, after->len * sizeof (AmigoHistoryPoint));
  /* The incomplete bucket is rebuilt from the raw samples. */
  assert_true (amigo_history_series (h, UUID_B, AMIGO_METRIC_NET_RX, 5 * AMIGO_USEC_PER_MIN, T0, end,
                                     FALSE, &s_after, &start, &error));
  assert_int_equal (s_after->len, s_before->len);
  for (guint i = 0; i < s_after->len; i++)
    assert_true (close_float (g_array_index (s_after, double, i), g_array_index (s_before, double, i)));
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);

  /* Only one process at a time. */
  assert_null (amigo_history_open (*state, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY));
  amigo_history_free (h);
}

/* A writer killed at random moments: everything up to its last completed
 * flush is there, nothing older is damaged, and the store carries on. */
static void
test_crash_sigkill (void **state)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  gint64 next = T0;
  const char *uuids[] = { UUID_A, UUID_B, UUID_C };
  /* [first, last] sample times each writer confirmed as flushed. A writer
   * killed inside a flush may have written some domains and not others:
   * those samples were never confirmed and may be missing. */
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (gint64) * 2);

  for (guint iter = 0; iter < 6; iter++) {
    int fds[2];
    pid_t pid;
    gint64 committed = 0, t;
    gint64 deadline;
    int status;

    assert_int_equal (pipe (fds), 0);
    pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
      AmigoHistoryOptions opts;
      AmigoHistory *h;

      close (fds[0]);
      amigo_history_options_init (&opts);
      opts.sync = FALSE;
      opts.raw_retention_usec = 31 * AMIGO_USEC_PER_DAY;
      h = amigo_history_open (*state, &opts, NULL);
      if (h == NULL)
        _exit (3);
      for (t = next;; t += INTERVAL) {
        for (guint d = 0; d < 3; d++) {
          AmigoSample s;
          amigo_sample_init (&s, t);
          for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
            s.values[m] = value_at (d, m, t);
          if (!amigo_history_append (h, uuids[d], "vm", &s, NULL))
            _exit (4);
        }
        /* Flush every 1 to 3 intervals: larger writes, more torn ones. */
        if ((t / INTERVAL) % (iter % 3 + 1) != 0)
          continue;
        if (!amigo_history_flush (h, NULL))
          _exit (5);
        if (write (fds[1], &t, sizeof t) != sizeof t)
          _exit (6);
      }
    }
    close (fds[1]);
    /* Read the confirmations for a random while, then kill. */
    deadline = g_get_monotonic_time () + g_rand_int_range (rand, 20, 250) * AMIGO_USEC_PER_MSEC;
    while (g_get_monotonic_time () < deadline) {
      struct pollfd p = { fds[0], POLLIN, 0 };
      if (poll (&p, 1, 5) > 0 && read (fds[0], &t, sizeof t) == sizeof t)
        committed = t;
    }
    kill (pid, SIGKILL);
    assert_int_equal (waitpid (pid, &status, 0), pid);
    assert_true (WIFSIGNALED (status));
    while (read (fds[0], &t, sizeof t) == sizeof t)
      committed = t;
    close (fds[0]);

    {
      AmigoHistory *h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
      g_autoptr(GPtrArray) warnings = amigo_history_take_warnings (h);
      gint64 last = 0;

      for (guint i = 0; i < warnings->len; i++)
        print_message ("unexpected warning: %s\n", ((AmigoHistoryWarning *) g_ptr_array_index (warnings, i))->message);
      assert_int_equal (warnings->len, 0);
      if (committed == 0) {
        print_message ("iteration %u: the child committed nothing\n", iter);
      }
      if (committed > 0) {
        gint64 r[2] = { next, committed };
        g_array_append_vals (ranges, r, 1);
      }
      for (guint d = 0; d < 3 && ranges->len > 0; d++) {
        g_autoptr(GArray) pts = query_ok (h, uuids[d], AMIGO_METRIC_MEMORY, T0, G_MAXINT64 / 2);
        guint i = 0;
        /* Every stored point is intact... */
        for (guint k = 0; k < pts->len; k++) {
          AmigoHistoryPoint *p = &g_array_index (pts, AmigoHistoryPoint, k);
          assert_true (close_float (p->mean, value_at (d, AMIGO_METRIC_MEMORY, p->time_usec)));
        }
        /* ...and every confirmed one is there. */
        for (guint k = 0; k < ranges->len; k++) {
          const gint64 *rg = &g_array_index (ranges, gint64, 2 * k);
          for (gint64 want = rg[0]; want <= rg[1]; want += INTERVAL) {
            while (i < pts->len && g_array_index (pts, AmigoHistoryPoint, i).time_usec < want)
              i++;
            if (i >= pts->len || g_array_index (pts, AmigoHistoryPoint, i).time_usec != want)
              fail_msg ("domain %u lost confirmed sample +%" G_GINT64_FORMAT " s", d, (want - T0) / AMIGO_USEC_PER_SEC);
          }
        }
      }
      /* The next writer continues after what is stored. */
      for (guint d = 0; d < 3; d++) {
        g_autoptr(GArray) pts = amigo_history_query (h, uuids[d], AMIGO_METRIC_CPU, T0, G_MAXINT64 / 2, NULL);
        if (pts != NULL && pts->len > 0)
          last = MAX (last, g_array_index (pts, AmigoHistoryPoint, pts->len - 1).time_usec);
      }
      print_message ("iteration %u: committed up to +%" G_GINT64_FORMAT " s, stored up to +%" G_GINT64_FORMAT " s\n",
                     iter, committed > 0 ? (committed - T0) / AMIGO_USEC_PER_SEC : -1,
                     last > 0 ? (last - T0) / AMIGO_USEC_PER_SEC : -1);
      assert_true (last >= committed);
      next = last > 0 ? last + INTERVAL : T0;
      /* Downsampled buckets before the committed one are complete. */
      if (committed >= T0 + 10 * AMIGO_USEC_PER_MIN) {
        g_autoptr(GArray) series = NULL;
        gint64 start;
        assert_true (amigo_history_series (h, UUID_C, AMIGO_METRIC_CPU, 5 * AMIGO_USEC_PER_MIN, T0,
                                           committed - 5 * AMIGO_USEC_PER_MIN, FALSE, &series, &start, NULL));
        for (guint i = 0; i < series->len; i++)
          assert_false (isnan (g_array_index (series, double, i)));
      }
      amigo_history_free (h);
    }
  }
}

/* Flip one byte in an old segment's header: that file is set aside with a
 * warning naming it, the rest is served and new data is accepted. */
static void
test_corruption_quarantined (void **state)
{
  g_autofree char *first = g_build_filename (*state, UUID_A, "raw-2026010500.amh", NULL);
  g_autofree char *header = g_build_filename (*state, UUID_B, "domain.amh", NULL);
  g_autofree char *first_dir = g_build_filename (*state, UUID_A, NULL);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  AmigoHistory *h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  gint64 end = T0 + 3 * AMIGO_USEC_PER_HOUR;
  gboolean named = FALSE;
  FILE *f;

  fill (h, UUID_A, 0, T0, end, INTERVAL, 10);
  fill (h, UUID_B, 1, T0, end, INTERVAL, 10);
  amigo_history_free (h);

  f = fopen (first, "r+b");
  assert_non_null (f);
  fseek (f, 9, SEEK_SET);
  fputc (fgetc (f) ^ 0x10, f);
  fclose (f);
  f = fopen (header, "r+b");
  assert_non_null (f);
  fseek (f, 20, SEEK_SET);
  fputc ('x', f);
  fclose (f);

  h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 2);
  for (guint i = 0; i < warnings->len; i++) {
    const char *w = ((AmigoHistoryWarning *) g_ptr_array_index (warnings, i))->message;
    if (strstr (w, first) != NULL && strstr (w, "set aside") != NULL)
      named = TRUE;
  }
  assert_true (named);
  assert_false (g_file_test (first, G_FILE_TEST_EXISTS));
  assert_int_equal (count_files (first_dir, "raw-2026010500.amh.corrupt-"), 1);

  /* The damaged hour is gone, the other two are served. */
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, end);
  assert_int_equal (pts->len, 2 * 360);
  g_clear_pointer (&pts, g_array_unref);
  pts = query_ok (h, UUID_B, AMIGO_METRIC_CPU, T0, end);
  assert_int_equal (pts->len, 3 * 360);
  g_clear_pointer (&pts, g_array_unref);

  fill (h, UUID_A, 0, end, end + AMIGO_USEC_PER_HOUR, INTERVAL, 10);
  fill (h, UUID_B, 1, end, end + AMIGO_USEC_PER_HOUR, INTERVAL, 10);
  amigo_history_free (h);
  h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  g_clear_pointer (&warnings, g_ptr_array_unref);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, end + AMIGO_USEC_PER_HOUR);
  assert_int_equal (pts->len, 3 * 360);
  amigo_history_free (h);
}

/* A torn last record (a crash mid-write) is cut off silently. */
static void
test_torn_tail_cut (void **state)
{
  g_autofree char *path = g_build_filename (*state, UUID_A, "raw-2026010500.amh", NULL);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  AmigoHistory *h = open_store (*state, -1);
  int fd;

  fill (h, UUID_A, 0, T0, T0 + 20 * INTERVAL, INTERVAL, 20);
  amigo_history_free (h);
  fd = open (path, O_WRONLY | O_APPEND);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "partial record", 14), 14);
  close (fd);

  h = open_store (*state, -1);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, T0 + AMIGO_USEC_PER_HOUR);
  assert_int_equal (pts->len, 20);
  amigo_history_free (h);
  {
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_size, AMIGO_HISTORY_SEGMENT_HEADER_SIZE + 20 * AMIGO_HISTORY_RAW_RECORD_SIZE);
  }
}

static void
test_summary_roundtrip (void **state)
{
  g_autofree char *dir_a = g_build_filename (*state, "a", NULL);
  g_autofree char *dir_b = g_build_filename (*state, "b", NULL);
  g_autoptr(AmigoHistory) a = open_store (dir_a, -1);
  g_autoptr(AmigoHistory) b = open_store (dir_b, -1);
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *small = NULL;
  gint64 end = T0 + 3 * AMIGO_USEC_PER_DAY;
  const gint64 step = 5 * AMIGO_USEC_PER_MIN;

  fill (a, UUID_A, 0, T0, end, 60 * AMIGO_USEC_PER_SEC, 30);
  summary = amigo_history_export_summary (a, UUID_A, 256 * 1024, &error);
  assert_non_null (summary);
  print_message ("summary of 3 days: %zu bytes\n", strlen (summary));
  assert_true (amigo_history_import_summary (b, UUID_A, summary, &error));
  flush_ok (b);

  for (guint m = 0; m < AMIGO_METRIC_LAST; m++) {
    g_autoptr(GArray) sa = NULL;
    g_autoptr(GArray) sb = NULL;
    g_autoptr(GArray) ha = NULL;
    g_autoptr(GArray) hb = NULL;
    gint64 sta, stb;

    /* The last day at full detail (the last, incomplete bucket stays). */
    assert_true (amigo_history_series (a, UUID_A, m, step, end - AMIGO_USEC_PER_DAY, end - step - 1,
                                       FALSE, &sa, &sta, &error));
    assert_true (amigo_history_series (b, UUID_A, m, step, end - AMIGO_USEC_PER_DAY, end - step - 1,
                                       FALSE, &sb, &stb, &error));
    assert_int_equal (sa->len, sb->len);
    for (guint i = 0; i < sa->len; i++)
      assert_true (close_float (g_array_index (sb, double, i), g_array_index (sa, double, i)));
    /* Before that, hourly mean and max. */
    assert_true (amigo_history_series (a, UUID_A, m, AMIGO_USEC_PER_HOUR, T0, end - AMIGO_USEC_PER_DAY - 1,
                                       TRUE, &ha, &sta, &error));
    assert_true (amigo_history_series (b, UUID_A, m, AMIGO_USEC_PER_HOUR, T0, end - AMIGO_USEC_PER_DAY - 1,
                                       TRUE, &hb, &stb, &error));
    assert_int_equal (ha->len, 48);
    for (guint i = 0; i < ha->len; i++)
      assert_true (close_float (g_array_index (hb, double, i), g_array_index (ha, double, i)));
  }

  /* Bounded: the oldest detail goes first; what is left still imports. */
  small = amigo_history_export_summary (a, UUID_A, 12000, &error);
  assert_non_null (small);
  assert_true (strlen (small) <= 12000);
  assert_true (strlen (small) < strlen (summary));
  {
    g_autofree char *dir_c = g_build_filename (*state, "c", NULL);
    g_autoptr(AmigoHistory) c = open_store (dir_c, -1);
    g_autoptr(GArray) sc = NULL;
    gint64 stc;
    assert_true (amigo_history_import_summary (c, UUID_A, small, &error));
    assert_true (amigo_history_series (c, UUID_A, AMIGO_METRIC_CPU, step, end - AMIGO_USEC_PER_HOUR,
                                       end - step - 1, FALSE, &sc, &stc, &error));
    for (guint i = 0; i < sc->len; i++)
      assert_false (isnan (g_array_index (sc, double, i)));
  }
  assert_null (amigo_history_export_summary (a, UUID_A, 100, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  assert_null (amigo_history_export_summary (a, UUID_UNKNOWN, 100000, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
}

/* The destination's own points win; importing twice adds nothing. */
static void
test_summary_never_overwrites (void **state)
{
  g_autofree char *dir_a = g_build_filename (*state, "a", NULL);
  g_autofree char *dir_b = g_build_filename (*state, "b", NULL);
  g_autoptr(AmigoHistory) a = open_store (dir_a, 0);
  g_autoptr(AmigoHistory) b = open_store (dir_b, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GArray) again = NULL;
  gint64 end = T0 + AMIGO_USEC_PER_DAY;
  gint64 mine_from = T0 + 6 * AMIGO_USEC_PER_HOUR, mine_to = T0 + 8 * AMIGO_USEC_PER_HOUR;
  guint own = 0;

  fill (a, UUID_A, 0, T0, end, 60 * AMIGO_USEC_PER_SEC, 30);
  /* B saw the domain for two hours of that day, with other values. */
  for (gint64 t = mine_from; t < mine_to; t += 60 * AMIGO_USEC_PER_SEC) {
    AmigoSample s;
    amigo_sample_init (&s, t);
    s.values[AMIGO_METRIC_CPU] = 1000.0;
    append_ok (b, UUID_A, "vm", &s);
  }
  flush_ok (b);
  /* and a later sample, after the day the summary covers */
  {
    AmigoSample s;
    amigo_sample_init (&s, end + AMIGO_USEC_PER_HOUR);
    s.values[AMIGO_METRIC_CPU] = 1000.0;
    append_ok (b, UUID_A, "vm", &s);
    flush_ok (b);
  }

  summary = amigo_history_export_summary (a, UUID_A, 256 * 1024, &error);
  assert_non_null (summary);
  assert_true (amigo_history_import_summary (b, UUID_A, summary, &error));
  flush_ok (b);
  pts = query_ok (b, UUID_A, AMIGO_METRIC_CPU, T0, end - 1);
  for (guint i = 0; i < pts->len; i++) {
    AmigoHistoryPoint *p = &g_array_index (pts, AmigoHistoryPoint, i);
    if (p->time_usec >= mine_from && p->time_usec < mine_to) {
      assert_true (p->mean == 1000.0);
      own++;
    } else {
      assert_true (p->mean < 1000.0);
    }
  }
  assert_int_equal (own, 24);
  assert_true (pts->len > 24 + 12 * 12);  /* imported the rest */

  assert_true (amigo_history_import_summary (b, UUID_A, summary, &error));
  flush_ok (b);
  again = query_ok (b, UUID_A, AMIGO_METRIC_CPU, T0, end - 1);
  assert_int_equal (again->len, pts->len);
}

static void
test_summary_bad_input (void **state)
{
  g_autoptr(AmigoHistory) h = open_store (*state, -1);
  g_autoptr(GError) error = NULL;
  static const struct {
    const char *text;
    const char *expect;
  } cases[] = {
    { "{not json", "not valid JSON" },
    { "[1,2]", "not a JSON object" },
    { "{\"format\":\"other\"}", "format 'other'" },
    { "{\"format\":\"amigo-history-summary\",\"version\":7,\"uuid\":\"" UUID_A "\",\"series\":[]}", "version 7" },
    { "{\"format\":\"amigo-history-summary\",\"version\":1,\"uuid\":\"" UUID_B "\",\"series\":[]}", UUID_B },
    { "{\"format\":\"amigo-history-summary\",\"version\":1,\"uuid\":\"" UUID_A "\",\"series\":[{\"step\":300,\"start\":1767571200,\"n\":1,\"metrics\":{\"cpu\":[\"AAA!\",\"AAAAAA==\"]}}]}", "bad base64" },
    { "{\"format\":\"amigo-history-summary\",\"version\":1,\"uuid\":\"" UUID_A "\",\"series\":[{\"step\":300,\"start\":1767571200,\"n\":2,\"metrics\":{\"cpu\":[\"AAAAAA==\",\"AAAAAA==\"]}}]}", "expected 8" },
    { "{\"format\":\"amigo-history-summary\",\"version\":1,\"uuid\":\"" UUID_A "\",\"series\":[{\"step\":-5,\"start\":1767571200,\"n\":1,\"metrics\":{}}]}", "'step'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    assert_false (amigo_history_import_summary (h, UUID_A, cases[i].text, &error));
    if (strstr (error->message, cases[i].expect) == NULL)
      fail_msg ("case %u: '%s' does not mention '%s'", i, error->message, cases[i].expect);
    g_clear_error (&error);
  }
  /* Nothing was created by the refused summaries. */
  {
    g_autoptr(GPtrArray) uuids = amigo_history_list_domains (h);
    assert_int_equal (uuids->len, 0);
  }
}

/* Mutated summaries are imported or refused with an error, never crash. */
static void
test_summary_fuzz (void **state)
{
  g_autofree char *dir_a = g_build_filename (*state, "a", NULL);
  g_autofree char *dir_b = g_build_filename (*state, "b", NULL);
  g_autoptr(AmigoHistory) a = open_store (dir_a, -1);
  g_autoptr(AmigoHistory) b = open_store (dir_b, -1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  g_autofree char *summary = NULL;
  static const char noise[] = "{}[]\",:0-9eE+/=A\\";
  guint accepted = 0;

  fill (a, UUID_A, 0, T0, T0 + 2 * AMIGO_USEC_PER_DAY, 5 * AMIGO_USEC_PER_MIN, 50);
  summary = amigo_history_export_summary (a, UUID_A, 64 * 1024, NULL);
  assert_non_null (summary);
  for (guint iter = 0; iter < 400; iter++) {
    g_autofree char *s = g_strdup (summary);
    gsize len = strlen (s);
    g_autoptr(GError) error = NULL;
    gboolean ok;

    for (guint k = g_rand_int_range (rand, 1, 4); k > 0; k--) {
      gsize pos = g_rand_int_range (rand, 0, len);
      if (g_rand_int_range (rand, 0, 4) == 0) {
        s[pos] = '\0';
        len = MAX (pos, 1);
      } else {
        s[pos] = noise[g_rand_int_range (rand, 0, sizeof noise - 1)];
      }
    }
    ok = amigo_history_import_summary (b, UUID_A, s, &error);
    assert_true (ok == (error == NULL));
    accepted += ok;
  }
  flush_ok (b);
  print_message ("summary fuzz: %u of 400 mutated summaries accepted\n", accepted);
}

/* Random byte flips and truncations of the files: opening, querying and
 * writing again never crash. */
static void
test_fuzz_files (void **state)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (77);
  const char *names[] = { "domain.amh", "raw-2026010500.amh", "raw-2026010501.amh", "ds-20260105.amh" };

  for (guint iter = 0; iter < 60; iter++) {
    g_autofree char *dir = g_strdup_printf ("%s/f%u", (char *) *state, iter);
    g_autofree char *path = NULL;
    AmigoHistory *h = open_store (dir, -1);
    g_autoptr(GPtrArray) warnings = NULL;
    g_autofree char *summary = NULL;
    gint64 end = T0 + 90 * AMIGO_USEC_PER_MIN;
    gchar *data = NULL;
    gsize len = 0;

    fill (h, UUID_A, 0, T0, end, INTERVAL, 20);
    amigo_history_free (h);

    path = g_build_filename (dir, UUID_A, names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))], NULL);
    assert_true (g_file_get_contents (path, &data, &len, NULL));
    if (g_rand_boolean (rand)) {
      guint flips = g_rand_int_range (rand, 1, 8);
      for (guint k = 0; k < flips; k++)
        data[g_rand_int_range (rand, 0, len)] ^= (char) g_rand_int_range (rand, 1, 256);
    } else {
      len = g_rand_int_range (rand, 0, len);
    }
    assert_true (g_file_set_contents (path, data, len, NULL));
    g_free (data);

    h = open_store (dir, -1);
    warnings = amigo_history_take_warnings (h);
    for (AmigoMetric m = 0; m < AMIGO_METRIC_LAST; m++) {
      g_autoptr(GArray) pts = amigo_history_query (h, UUID_A, m, T0, end, NULL);
      g_autoptr(GArray) old = amigo_history_query (h, UUID_A, m, T0 - AMIGO_USEC_PER_DAY, end, NULL);
      g_autoptr(GArray) series = NULL;
      gint64 start;
      amigo_history_series (h, UUID_A, m, AMIGO_USEC_PER_MIN, T0, end, FALSE, &series, &start, NULL);
    }
    summary = amigo_history_export_summary (h, UUID_A, 64 * 1024, NULL);
    fill (h, UUID_A, 0, end, end + 10 * INTERVAL, INTERVAL, 5);
    {
      g_autoptr(GArray) pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, end, end + 10 * INTERVAL);
      assert_int_equal (pts->len, 10);
    }
    amigo_history_free (h);
    rm_rf (dir);
  }
}

/* ---- clocks, damaged records, a full disk ------------------------------ */

static void
append_at (AmigoHistory *h, const char *uuid, gint64 t, GError **error, gboolean *ret_ok)
{
  AmigoSample s;

  amigo_sample_init (&s, t);
  for (guint m = 0; m < AMIGO_METRIC_LAST; m++)
    s.values[m] = value_at (0, m, t);
  *ret_ok = amigo_history_append (h, uuid, "vm", &s, error);
}

/* The warning of @kind; the test fails if there is none. */
static const AmigoHistoryWarning *find_warning (GPtrArray *warnings, AmigoHistoryWarningKind kind)
  __attribute__ ((returns_nonnull));

static const AmigoHistoryWarning *
find_warning (GPtrArray *warnings, AmigoHistoryWarningKind kind)
{
  static const AmigoHistoryWarning none = { 0 };

  for (guint i = 0; i < warnings->len; i++) {
    const AmigoHistoryWarning *w = g_ptr_array_index (warnings, i);
    if (w->kind == kind)
      return w;
  }
  fail_msg ("no warning of kind '%s'", amigo_history_warning_kind_to_string (kind));
  return &none;
}

/* Every sample in [from, to) every INTERVAL is stored with its value. */
static void
assert_samples (AmigoHistory *h, const char *uuid, gint64 from, gint64 to)
{
  g_autoptr(GArray) pts = query_ok (h, uuid, AMIGO_METRIC_CPU, from, to - 1);
  guint i = 0;

  for (gint64 want = from; want < to; want += INTERVAL) {
    while (i < pts->len && g_array_index (pts, AmigoHistoryPoint, i).time_usec < want)
      i++;
    if (i >= pts->len || g_array_index (pts, AmigoHistoryPoint, i).time_usec != want)
      fail_msg ("sample +%" G_GINT64_FORMAT " s is missing", (want - T0) / AMIGO_USEC_PER_SEC);
    assert_true (close_float (g_array_index (pts, AmigoHistoryPoint, i).mean, value_at (0, AMIGO_METRIC_CPU, want)));
  }
}

/* A sample stamped a year ahead (a clock wrong before NTP) is refused with
 * one folded warning, and recording carries on with the next ones. */
static void
test_future_sample_refused (void **state)
{
  AmigoHistory *h = open_store (*state, -1);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GError) error = NULL;
  const AmigoHistoryWarning *w;
  gint64 year = 365 * AMIGO_USEC_PER_DAY, mid = T0 + AMIGO_USEC_PER_HOUR;
  gboolean ok;

  fill (h, UUID_A, 0, T0, mid, INTERVAL, 30);
  amigo_history_set_now (h, mid);
  append_at (h, UUID_A, mid + year, &error, &ok);
  assert_false (ok);
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "ahead of the wall clock"));
  g_clear_error (&error);
  append_at (h, UUID_A, mid + year + INTERVAL, &error, &ok);
  assert_false (ok);
  g_clear_error (&error);
  fill (h, UUID_A, 0, mid, mid + AMIGO_USEC_PER_HOUR, INTERVAL, 30);

  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 1);
  w = find_warning (warnings, AMIGO_HISTORY_WARNING_FUTURE_SAMPLE);
  assert_non_null (w);
  assert_int_equal (w->count, 2);
  assert_string_equal (amigo_history_warning_kind_to_string (w->kind), "future-sample");
  assert_samples (h, UUID_A, T0, mid + AMIGO_USEC_PER_HOUR);
  amigo_history_free (h);
  h = open_store (*state, -1);
  assert_samples (h, UUID_A, T0, mid + AMIGO_USEC_PER_HOUR);
  amigo_history_free (h);
}

/* Retention follows the wall clock, not the newest sample: a sample a year
 * ahead that is let in (a generous bound) wipes nothing, and the samples
 * after it, stamped by the right clock again, are recorded. */
static void
test_retention_by_wall_clock (void **state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  AmigoHistoryOptions opts;
  AmigoHistory *h;
  gint64 year = 365 * AMIGO_USEC_PER_DAY, mid = T0 + 2 * AMIGO_USEC_PER_HOUR;
  gboolean ok;

  amigo_history_options_init (&opts);
  opts.sync = FALSE;
  opts.future_bound_usec = 400 * AMIGO_USEC_PER_DAY;
  h = amigo_history_open (*state, &opts, &error);
  assert_non_null (h);
  fill (h, UUID_A, 0, T0, mid, INTERVAL, 30);
  amigo_history_set_now (h, mid);
  append_at (h, UUID_A, mid + year, &error, &ok);
  assert_true (ok);
  flush_ok (h);
  assert_samples (h, UUID_A, T0, mid);
  /* The clock is right again: the domain's newest sample is ahead of it. */
  fill (h, UUID_A, 0, mid, mid + AMIGO_USEC_PER_HOUR, INTERVAL, 30);
  assert_samples (h, UUID_A, T0, mid + AMIGO_USEC_PER_HOUR);
  warnings = amigo_history_take_warnings (h);
  assert_non_null (find_warning (warnings, AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK));
  amigo_history_free (h);
}

/* The clock steps back an hour: recording continues from the new time,
 * nothing recorded before is lost, and the store reopens clean. */
static void
test_clock_stepped_back (void **state)
{
  AmigoHistory *h = open_store (*state, -1);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  const AmigoHistoryWarning *w;
  gint64 end = T0 + 2 * AMIGO_USEC_PER_HOUR;
  /* The stepped clock reads 5 s off the old sample grid. */
  gint64 back = end - AMIGO_USEC_PER_HOUR + 5 * AMIGO_USEC_PER_SEC;

  fill (h, UUID_A, 0, T0, end, INTERVAL, 30);
  fill (h, UUID_A, 0, back, back + 2 * AMIGO_USEC_PER_HOUR, INTERVAL, 30);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 1);
  w = find_warning (warnings, AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK);
  assert_non_null (w);
  assert_int_equal (w->count, 1);

  assert_samples (h, UUID_A, T0, end);
  assert_samples (h, UUID_A, back, back + 2 * AMIGO_USEC_PER_HOUR);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, back + 2 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (pts->len, 2 * 720);
  amigo_history_free (h);

  h = open_store (*state, -1);
  g_clear_pointer (&warnings, g_ptr_array_unref);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  assert_samples (h, UUID_A, T0, end);
  assert_samples (h, UUID_A, back, back + 2 * AMIGO_USEC_PER_HOUR);
  /* And it carries on after its newest sample. */
  fill (h, UUID_A, 0, back + 2 * AMIGO_USEC_PER_HOUR, back + 3 * AMIGO_USEC_PER_HOUR, INTERVAL, 30);
  assert_samples (h, UUID_A, back, back + 3 * AMIGO_USEC_PER_HOUR);
  amigo_history_free (h);
}

/* One damaged record in the middle of an old segment costs that record:
 * every other one is served, the file stays, one warning says so. */
static void
test_damaged_record_resync (void **state)
{
  g_autofree char *path = g_build_filename (*state, UUID_A, "raw-2026010500.amh", NULL);
  g_autofree char *ddir = g_build_filename (*state, UUID_A, NULL);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  const AmigoHistoryWarning *w;
  gint64 end = T0 + 3 * AMIGO_USEC_PER_HOUR, bad = T0 + 100 * INTERVAL;
  AmigoHistory *h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  FILE *f;

  fill (h, UUID_A, 0, T0, end, INTERVAL, 10);
  amigo_history_free (h);
  f = fopen (path, "r+b");
  assert_non_null (f);
  fseek (f, AMIGO_HISTORY_SEGMENT_HEADER_SIZE + 100 * AMIGO_HISTORY_RAW_RECORD_SIZE + 9, SEEK_SET);
  fputc (fgetc (f) ^ 0x10, f);
  fclose (f);

  h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 1);
  w = find_warning (warnings, AMIGO_HISTORY_WARNING_DAMAGED_RECORD);
  assert_non_null (w);
  assert_non_null (strstr (w->message, path));
  assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_int_equal (count_files (ddir, "raw-2026010500.amh.corrupt-"), 0);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, end);
  assert_int_equal (pts->len, 3 * 360 - 1);
  assert_samples (h, UUID_A, T0, bad);
  assert_samples (h, UUID_A, bad + INTERVAL, end);
  amigo_history_free (h);

  /* The damage was cut out once: no warning on the next open. */
  h = open_store (*state, 31 * AMIGO_USEC_PER_DAY);
  g_clear_pointer (&warnings, g_ptr_array_unref);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  assert_samples (h, UUID_A, bad + INTERVAL, end);
  amigo_history_free (h);
}

/* A full disk: the samples that cannot be written are counted, the store
 * says once that it fails and once that it recovers, and records again
 * once there is room. Needs root for a small tmpfs, mounted in a mount
 * namespace of this process only. */
static void
test_full_disk (void **state)
{
  g_autofree char *mnt = g_build_filename (*state, "fs", NULL);
  g_autofree char *dir = g_build_filename (mnt, "store", NULL);
  g_autofree char *filler = g_build_filename (mnt, "filler", NULL);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  static char block[4096];
  AmigoHistoryHealth health;
  const AmigoHistoryWarning *w;
  AmigoHistory *h;
  gint64 t = T0, outage_start = 0;
  guint appended = 0, failed = 0;
  int fd;

  if (geteuid () != 0 || unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    print_message ("not root or no mount namespace: skipping the full-disk test\n");
    skip ();
  }
  assert_int_equal (g_mkdir (mnt, 0700), 0);
  if (mount ("tmpfs", mnt, "tmpfs", 0, "size=512k") < 0) {
    print_message ("cannot mount a tmpfs: skipping the full-disk test\n");
    skip ();
  }
  h = open_store (dir, -1);
  for (; t < T0 + 10 * AMIGO_USEC_PER_MIN; t += INTERVAL, appended++)
    fill (h, UUID_A, 0, t, t + 1, INTERVAL, 1);
  amigo_history_get_health (h, &health);
  assert_true (health.ok);
  assert_int_equal (health.samples_lost, 0);

  fd = open (filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true (fd >= 0);
  while (write (fd, block, sizeof block) == sizeof block)
    ;
  assert_int_equal (errno, ENOSPC);

  /* Half an hour with a full disk, a flush per sample. */
  for (; t < T0 + 40 * AMIGO_USEC_PER_MIN; t += INTERVAL, appended++) {
    g_autoptr(GError) error = NULL;
    AmigoSample s;
    amigo_sample_init (&s, t);
    s.values[AMIGO_METRIC_CPU] = value_at (0, AMIGO_METRIC_CPU, t);
    amigo_history_set_now (h, t);
    append_ok (h, UUID_A, "vm", &s);
    if (!amigo_history_flush (h, &error)) {
      if (failed++ == 0)
        outage_start = t;
      assert_non_null (strstr (error->message, g_strerror (ENOSPC)));
    }
  }
  assert_true (failed > 0);
  amigo_history_get_health (h, &health);
  assert_false (health.ok);
  assert_int_equal (health.failing_since_usec, outage_start);
  assert_true (health.samples_lost > 0);
  assert_non_null (strstr (health.last_error, g_strerror (ENOSPC)));
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 1);
  w = find_warning (warnings, AMIGO_HISTORY_WARNING_WRITE_FAILED);
  assert_int_equal (w->count, 1);
  g_clear_pointer (&warnings, g_ptr_array_unref);

  /* Room again: recording resumes, one warning says so. */
  close (fd);
  assert_int_equal (unlink (filler), 0);
  for (; t < T0 + 50 * AMIGO_USEC_PER_MIN; t += INTERVAL, appended++)
    fill (h, UUID_A, 0, t, t + 1, INTERVAL, 1);
  amigo_history_get_health (h, &health);
  assert_true (health.ok);
  assert_int_equal (health.failing_since_usec, 0);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 1);
  find_warning (warnings, AMIGO_HISTORY_WARNING_WRITE_RECOVERED);
  print_message ("full disk: %u of %u flushes failed, %" G_GUINT64_FORMAT " samples lost\n",
                 failed, appended, health.samples_lost);

  /* What is stored is what was not counted as lost. */
  amigo_history_free (h);
  h = open_store (dir, -1);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, t);
  assert_int_equal (pts->len + health.samples_lost, appended);
  assert_samples (h, UUID_A, t - 10 * AMIGO_USEC_PER_MIN, t);
  amigo_history_free (h);
  assert_int_equal (umount2 (mnt, MNT_DETACH), 0);
}

/* ---- files written by format version 1 (8 metrics) -------------------- */

static void
put_le (guint8 *p, guint64 v, guint n)
{
  for (guint i = 0; i < n; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static void
put_f (guint8 *p, float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  put_le (p, u, 4);
}

static void
write_v1_segment (const char *path, gboolean raw, gint64 start, const guint8 *records, gsize len)
{
  guint8 h[32] = { 0 };
  g_autoptr(GByteArray) file = g_byte_array_new ();

  memcpy (h, raw ? "AMGR" : "AMGD", 4);
  put_le (h + 4, 1, 2);
  put_le (h + 6, raw ? 44 : 84, 2);
  put_le (h + 8, (guint64) start, 8);
  put_le (h + 16, (guint64) (start + (raw ? AMIGO_USEC_PER_HOUR : AMIGO_USEC_PER_DAY)), 8);
  put_le (h + 28, amigo_history_crc32 (0, h, 28), 4);
  g_byte_array_append (file, h, sizeof h);
  g_byte_array_append (file, records, len);
  assert_true (g_file_set_contents (path, (const char *) file->data, file->len, NULL));
}

/* A store written before host_memory existed is read as it is (the new
 * metric NAN), never set aside, and appended to afterwards. */
static void
test_format_v1_readable (void **state)
{
  g_autofree char *ddir = g_build_filename (*state, UUID_A, NULL);
  g_autofree char *raw_path = g_build_filename (ddir, "raw-2026010500.amh", NULL);
  g_autofree char *ds_path = g_build_filename (ddir, "ds-20260105.amh", NULL);
  g_autoptr(GPtrArray) warnings = NULL;
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GArray) series = NULL;
  g_autoptr(GError) error = NULL;
  guint8 raw[30 * 44], ds[84] = { 0 };
  gint64 start;
  AmigoHistory *h;

  g_assert_cmpint (AMIGO_METRIC_LAST, >, 8);
  g_mkdir (ddir, 0750);
  for (guint i = 0; i < 30; i++) {
    guint8 *p = raw + 44 * i;
    gint64 t = T0 + i * INTERVAL;
    put_le (p, (guint64) t, 8);
    for (guint m = 0; m < 8; m++)
      put_f (p + 8 + 4 * m, (float) value_at (0, m, t));
    put_le (p + 40, amigo_history_crc32 (0, p, 40), 4);
  }
  write_v1_segment (raw_path, TRUE, T0, raw, sizeof raw);
  /* One 5-minute bucket, as the raw samples above would make it. */
  put_le (ds, (guint64) T0, 8);
  put_le (ds + 8, 300, 4);
  put_le (ds + 12, 30, 2);
  for (guint m = 0; m < 8; m++) {
    put_f (ds + 16 + 8 * m, 1.5f + m);
    put_f (ds + 20 + 8 * m, 2.5f + m);
  }
  put_le (ds + 80, amigo_history_crc32 (0, ds, 80), 4);
  write_v1_segment (ds_path, FALSE, T0, ds, sizeof ds);

  h = open_store (*state, -1);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_DIRTY_RATE, T0, T0 + 30 * INTERVAL);
  assert_int_equal (pts->len, 30);
  for (guint i = 0; i < pts->len; i++)
    assert_true (close_float (g_array_index (pts, AmigoHistoryPoint, i).mean,
                              value_at (0, AMIGO_METRIC_DIRTY_RATE, T0 + i * INTERVAL)));
  g_clear_pointer (&pts, g_array_unref);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_HOST_MEMORY, T0, T0 + 30 * INTERVAL);
  assert_int_equal (pts->len, 30);
  assert_true (isnan (g_array_index (pts, AmigoHistoryPoint, 0).mean));
  g_clear_pointer (&pts, g_array_unref);

  /* Appending to both old files rewrites them in the current format. */
  fill (h, UUID_A, 0, T0 + 30 * INTERVAL, T0 + 2 * AMIGO_USEC_PER_HOUR, INTERVAL, 10);
  amigo_history_free (h);
  h = open_store (*state, -1);
  g_clear_pointer (&warnings, g_ptr_array_unref);
  warnings = amigo_history_take_warnings (h);
  assert_int_equal (warnings->len, 0);
  assert_int_equal (count_files (ddir, "raw-2026010500.amh.corrupt"), 0);
  assert_int_equal (count_files (ddir, "ds-20260105.amh.corrupt"), 0);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_HOST_MEMORY, T0, T0 + 2 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (pts->len, 720);
  assert_true (isnan (g_array_index (pts, AmigoHistoryPoint, 29).mean));
  assert_true (close_float (g_array_index (pts, AmigoHistoryPoint, 30).mean,
                            value_at (0, AMIGO_METRIC_HOST_MEMORY, T0 + 30 * INTERVAL)));
  g_clear_pointer (&pts, g_array_unref);
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, T0 + 30 * INTERVAL);
  assert_int_equal (pts->len, 31);
  assert_true (close_float (g_array_index (pts, AmigoHistoryPoint, 0).mean, value_at (0, AMIGO_METRIC_CPU, T0)));
  /* The old bucket keeps its figures; the new metric is unknown there. */
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_MEMORY, 5 * AMIGO_USEC_PER_MIN, T0, T0 + 1,
                                     TRUE, &series, &start, &error));
  assert_true (close_float (g_array_index (series, double, 0), 3.5));
  g_clear_pointer (&series, g_array_unref);
  assert_true (amigo_history_series (h, UUID_A, AMIGO_METRIC_HOST_MEMORY, 5 * AMIGO_USEC_PER_MIN, T0, T0 + 1,
                                     TRUE, &series, &start, &error));
  assert_true (isnan (g_array_index (series, double, 0)));
  amigo_history_free (h);
}

/* An administrator removed a domain's directory: the store recreates it. */
static void
test_domain_dir_removed (void **state)
{
  g_autoptr(AmigoHistory) h = open_store (*state, -1);
  g_autofree char *ddir = g_build_filename (*state, UUID_A, NULL);
  g_autoptr(GArray) pts = NULL;

  fill (h, UUID_A, 0, T0, T0 + 10 * INTERVAL, INTERVAL, 5);
  rm_rf (ddir);
  fill (h, UUID_A, 0, T0 + 10 * INTERVAL, T0 + 20 * INTERVAL, INTERVAL, 5);
  assert_true (g_file_test (ddir, G_FILE_TEST_IS_DIR));
  pts = query_ok (h, UUID_A, AMIGO_METRIC_CPU, T0, T0 + 20 * INTERVAL);
  assert_int_equal (pts->len, 10);
  assert_int_equal (g_array_index (pts, AmigoHistoryPoint, 0).time_usec, T0 + 10 * INTERVAL);
}

static void
test_bad_options (void **state)
{
  g_autoptr(GError) error = NULL;
  AmigoHistoryOptions opts;

  amigo_history_options_init (&opts);
  assert_int_equal (opts.raw_retention_usec, 6 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (opts.step_usec, 5 * AMIGO_USEC_PER_MIN);
  assert_int_equal (opts.retention_usec, 14 * AMIGO_USEC_PER_DAY);
  opts.step_usec = 1500;
  assert_null (amigo_history_open (*state, &opts, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  /* A bound no clock arithmetic survives is refused, naming the option. */
  amigo_history_options_init (&opts);
  assert_int_equal (opts.future_bound_usec, 10 * AMIGO_USEC_PER_MIN);
  opts.future_bound_usec = G_MAXINT64;
  assert_null (amigo_history_open (*state, &opts, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "future bound"));
  g_clear_error (&error);

  /* The number of domains is bounded. */
  {
    g_autoptr(AmigoHistory) h = NULL;
    const char *uuids[] = { UUID_A, UUID_B, UUID_C };
    AmigoSample s;

    amigo_history_options_init (&opts);
    opts.sync = FALSE;
    opts.max_domains = 2;
    h = amigo_history_open (*state, &opts, &error);
    assert_non_null (h);
    amigo_sample_init (&s, T0);
    for (guint i = 0; i < 2; i++)
      assert_true (amigo_history_append (h, uuids[i], "vm", &s, &error));
    assert_false (amigo_history_append (h, UUID_C, "vm", &s, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY));
    assert_non_null (strstr (error->message, UUID_C));
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_crc32_matches_zlib),
    cmocka_unit_test (test_segment_names),
    cmocka_unit_test_setup_teardown (test_append_query_roundtrip, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_downsample_mean_max_nan, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_retention_bounded, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_reopen_keeps_data, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_crash_sigkill, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_corruption_quarantined, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_torn_tail_cut, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_summary_roundtrip, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_summary_never_overwrites, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_summary_bad_input, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_summary_fuzz, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_fuzz_files, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_domain_dir_removed, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_bad_options, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_format_v1_readable, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_future_sample_refused, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_retention_by_wall_clock, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_clock_stepped_back, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_damaged_record_resync, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown (test_full_disk, setup_dir, teardown_dir),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
