/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-format-migration.h"

#include <math.h>
#include <string.h>

#include "amigo-format.h"
#include "amigo-time.h"

/* The bar: wide enough to read at a glance, never wider than this. */
#define BAR_MIN 10
#define BAR_MAX 40

char *
amigo_format_migration_duration (gint64 usec)
{
  if (usec < 0)
    usec = 0;
  if (usec < AMIGO_USEC_PER_SEC)
    return g_strdup_printf ("%" G_GINT64_FORMAT "ms", usec / AMIGO_USEC_PER_MSEC);
  if (usec < AMIGO_USEC_PER_MIN)
    return g_strdup_printf ("%.1fs", (double) usec / AMIGO_USEC_PER_SEC);
  return amigo_format_duration (usec);
}

static const char *
lookup_str (GVariant *dict, const char *key)
{
  const char *s = NULL;

  if (dict == NULL || !g_variant_lookup (dict, key, "&s", &s) || *s == '\0')
    return NULL;
  return s;
}

static gboolean
lookup_x (GVariant *dict, const char *key, gint64 *ret)
{
  return dict != NULL && g_variant_lookup (dict, key, "x", ret);
}

static gboolean
lookup_t (GVariant *dict, const char *key, guint64 *ret)
{
  return dict != NULL && g_variant_lookup (dict, key, "t", ret);
}

static gboolean
lookup_d (GVariant *dict, const char *key, double *ret)
{
  return dict != NULL && g_variant_lookup (dict, key, "d", ret) && isfinite (*ret);
}

/* ---- plan ---- */

static char *
start_text (GVariant *plan, gint64 now_usec)
{
  g_autofree char *when = NULL;
  const char *reason = lookup_str (plan, "start_reason");
  gint64 start = 0;

  /* a start within a second of now is "now" (the reply took that long);
   * amigod's reason then says so itself ("starting now: ...") */
  if (!lookup_x (plan, "start_at_usec", &start) || start <= now_usec + AMIGO_USEC_PER_SEC) {
    if (reason != NULL)
      return g_strdup (reason);
    when = g_strdup ("now");
  } else {
    g_autofree char *at = amigo_format_time (start);
    g_autofree char *in = amigo_format_duration (start - now_usec);
    when = g_strdup_printf ("%s (in %s)", at, in);
  }
  return reason != NULL ? g_strdup_printf ("%s: %s", when, reason) : g_steal_pointer (&when);
}

static char *
predicted_text (GVariant *dict)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  gint64 usec;
  guint64 bytes;

  if (lookup_x (dict, "predicted_total_usec", &usec)) {
    g_autofree char *d = amigo_format_migration_duration (usec);
    g_ptr_array_add (parts, g_strdup_printf ("total %s", d));
  }
  if (lookup_x (dict, "predicted_downtime_usec", &usec)) {
    g_autofree char *d = amigo_format_migration_duration (usec);
    g_ptr_array_add (parts, g_strdup_printf ("downtime %s", d));
  }
  if (lookup_t (dict, "predicted_data_bytes", &bytes)) {
    g_autofree char *b = amigo_format_bytes (bytes);
    g_ptr_array_add (parts, g_strdup_printf ("%s sent", b));
  }
  if (parts->len == 0)
    return NULL;
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (", ", (char **) parts->pdata);
}

char *
amigo_format_migration_plan (const char *id, const char *domain, const char *dest_uri, GVariant *plan,
                             gint64 now_usec)
{
  GString *s = g_string_new (NULL);
  const char *mode = lookup_str (plan, "mode");
  const char *reason = lookup_str (plan, "reason");
  g_autofree char *start = start_text (plan, now_usec);
  g_autofree char *predicted = predicted_text (plan);
  double bandwidth;
  guint32 downtime_ms;
  gint64 stall = 0, timeout = 0;
  gboolean has_stall, has_timeout;

  g_string_append_printf (s, "Migrating '%s' to %s (id %s)\n", domain, dest_uri, id);
  g_string_append_printf (s, "Mode:       %s%s%s\n", mode != NULL ? mode : "?", reason != NULL ? ": " : "",
                          reason != NULL ? reason : "");
  if (lookup_d (plan, "bandwidth_mib_s", &bandwidth))
    g_string_append_printf (s, "Bandwidth:  %.1f MiB/s\n", bandwidth);
  if (plan != NULL && g_variant_lookup (plan, "downtime_limit_ms", "u", &downtime_ms))
    g_string_append_printf (s, "Downtime:   at most %" G_GUINT32_FORMAT "ms\n", downtime_ms);
  g_string_append_printf (s, "Start:      %s\n", start);
  has_stall = lookup_x (plan, "stall_timeout_usec", &stall);
  has_timeout = lookup_x (plan, "timeout_usec", &timeout);
  if (has_stall || has_timeout) {
    g_autofree char *st = stall > 0 ? amigo_format_duration (stall) : g_strdup ("-");
    g_autofree char *to = timeout > 0 ? amigo_format_duration (timeout) : g_strdup ("-");
    g_string_append_printf (s, "Timeouts:   gives up after %s without progress or %s in all\n", st, to);
  }
  if (predicted != NULL)
    g_string_append_printf (s, "Predicted:  %s\n", predicted);
  return g_string_free (s, FALSE);
}

/* ---- progress ---- */

/* The figures of a progress line, most telling first: the ones at the end
 * are dropped first when the terminal is narrow. */
static GPtrArray *
progress_fields (GVariant *progress)
{
  GPtrArray *f = g_ptr_array_new_with_free_func (g_free);
  const char *phase = lookup_str (progress, "phase");
  guint64 sent = 0, left = 0, iteration = 0;
  gboolean has_sent, has_left;
  double pct, dirty, rate;
  gint64 usec;

  if (lookup_d (progress, "percent", &pct))
    g_ptr_array_add (f, g_strdup_printf ("%5.1f%%", CLAMP (pct, 0.0, 100.0)));
  else
    g_ptr_array_add (f, g_strdup ("    -%"));
  if (phase != NULL && strcmp (phase, "waiting") == 0 && lookup_x (progress, "start_at_usec", &usec)) {
    g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (usec / AMIGO_USEC_PER_SEC);
    g_autofree char *at = dt != NULL ? g_date_time_format (dt, "%H:%M:%S") : g_strdup ("?");
    g_ptr_array_add (f, g_strdup_printf ("waiting until %s", at));
  } else {
    g_ptr_array_add (f, g_strdup (phase != NULL ? phase : "?"));
  }
  /* data as it crossed the wire (after zero pages and compression); memory
   * when libvirt does not say */
  has_sent = lookup_t (progress, "data_sent_bytes", &sent) || lookup_t (progress, "memory_processed_bytes", &sent);
  has_left = lookup_t (progress, "data_remaining_bytes", &left) ||
             lookup_t (progress, "memory_remaining_bytes", &left);
  if (has_sent || has_left) {
    g_autofree char *a = has_sent ? amigo_format_bytes (sent) : g_strdup ("?");
    g_autofree char *b = has_left ? amigo_format_bytes (left) : g_strdup ("?");
    g_ptr_array_add (f, g_strdup_printf ("sent %s, %s left", a, b));
  }
  if (lookup_d (progress, "dirty_rate_mib_s", &dirty))
    g_ptr_array_add (f, g_strdup_printf ("dirty %.1f MiB/s", dirty));
  if (lookup_x (progress, "expected_downtime_usec", &usec)) {
    g_autofree char *d = amigo_format_migration_duration (usec);
    g_ptr_array_add (f, g_strdup_printf ("downtime ~%s", d));
  }
  if (lookup_x (progress, "elapsed_usec", &usec)) {
    g_autofree char *d = amigo_format_migration_duration (usec);
    g_ptr_array_add (f, g_strdup_printf ("elapsed %s", d));
  }
  if (lookup_d (progress, "bandwidth_mib_s", &rate))
    g_ptr_array_add (f, g_strdup_printf ("at %.1f MiB/s", rate));
  if (lookup_t (progress, "iteration", &iteration) && iteration > 0)
    g_ptr_array_add (f, g_strdup_printf ("round %" G_GUINT64_FORMAT, iteration));
  return f;
}

static gsize
joined_len (GPtrArray *fields, guint n)
{
  gsize len = 0;

  for (guint i = 0; i < n; i++)
    len += strlen (g_ptr_array_index (fields, i)) + (i > 0 ? 2 : 0);
  return len;
}

char *
amigo_format_migration_progress (GVariant *progress, guint width)
{
  g_autoptr (GPtrArray) fields = progress_fields (progress);
  GString *s = g_string_new (NULL);
  guint n = fields->len;
  gsize limit, bar = 0;
  double pct = 0.0;

  if (width > 0) {
    limit = width - 1;
    /* a bar of a quarter of the line, the same width whatever figures are
     * known, so that it does not jump as they come; keep the percent and
     * phase and drop figures from the end until it fits */
    bar = CLAMP (limit / 4, (gsize) BAR_MIN, (gsize) BAR_MAX);
    while (n > 2 && joined_len (fields, n) + bar + 4 > limit)
      n--;
    if (joined_len (fields, n) + bar + 4 > limit)
      bar = 0;
    if (bar > 0) {
      gsize done;
      lookup_d (progress, "percent", &pct);
      done = (gsize) floor (CLAMP (pct, 0.0, 100.0) / 100.0 * bar);
      g_string_append_c (s, '[');
      for (gsize i = 0; i < bar; i++)
        g_string_append_c (s, i < done ? '#' : '.');
      g_string_append (s, "]  ");
    }
  }
  for (guint i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, "  ");
    g_string_append (s, g_ptr_array_index (fields, i));
  }
  /* too narrow even for the percent and phase: cut (bytes are columns
   * here: every figure is ASCII) */
  if (width > 0 && s->len > width - 1)
    g_string_truncate (s, width - 1);
  return g_string_free (s, FALSE);
}

/* ---- the end ---- */

char *
amigo_format_migration_outcome (GVariant *result)
{
  const char *state = lookup_str (result, "state");
  const char *error = lookup_str (result, "error");
  gint64 total;

  if (state == NULL)
    return g_strdup ("ended in an unknown state");
  if (strcmp (state, "completed") == 0) {
    g_autofree char *d = lookup_x (result, "total_usec", &total) ? amigo_format_migration_duration (total) : NULL;
    return d != NULL ? g_strdup_printf ("completed in %s", d) : g_strdup ("completed");
  }
  if (strcmp (state, "refused") == 0)
    return g_strdup_printf ("refused by the destination: %s", error != NULL ? error : "no reason given");
  if (strcmp (state, "timeout") == 0)
    return g_strdup_printf ("timed out: %s", error != NULL ? error : "no reason given");
  return error != NULL ? g_strdup_printf ("%s: %s", state, error) : g_strdup (state);
}

/* "+23%", "-5%": how far the measure is from the prediction */
static char *
deviation (double measured, double predicted)
{
  if (!(predicted > 0))
    return g_strdup ("-");
  return g_strdup_printf ("%+.0f%%", (measured - predicted) / predicted * 100.0);
}

static void
add_figure_row (AmigoTable *table, const char *what, char *measured, char *predicted, double m, double p)
{
  g_autofree char *mv = measured;
  g_autofree char *pv = predicted;
  g_autofree char *dev = mv != NULL && pv != NULL ? deviation (m, p) : g_strdup ("-");
  const char *row[] = { what, mv != NULL ? mv : "-", pv != NULL ? pv : "-", dev };

  amigo_table_add_row (table, row);
}

char *
amigo_format_migration_summary (GVariant *result)
{
  static const char *const headers[] = { "", "MEASURED", "PREDICTED", "DIFF" };
  static const gboolean right[] = { FALSE, TRUE, TRUE, TRUE };
  g_autoptr (AmigoTable) table = NULL;
  gint64 total = 0, down = 0, p_total = 0, p_down = 0;
  guint64 data = 0, p_data = 0;
  gboolean has_total, has_down, has_data, has_pt, has_pd, has_pb;

  has_total = lookup_x (result, "total_usec", &total);
  has_down = lookup_x (result, "downtime_usec", &down);
  has_data = lookup_t (result, "data_sent_bytes", &data);
  if (!has_total && !has_down && !has_data)
    return NULL;
  has_pt = lookup_x (result, "predicted_total_usec", &p_total);
  has_pd = lookup_x (result, "predicted_downtime_usec", &p_down);
  has_pb = lookup_t (result, "predicted_data_bytes", &p_data);
  table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));
  add_figure_row (table, "total time", has_total ? amigo_format_migration_duration (total) : NULL,
                  has_pt ? amigo_format_migration_duration (p_total) : NULL, total, p_total);
  add_figure_row (table, "downtime", has_down ? amigo_format_migration_duration (down) : NULL,
                  has_pd ? amigo_format_migration_duration (p_down) : NULL, down, p_down);
  add_figure_row (table, "data sent", has_data ? amigo_format_bytes (data) : NULL,
                  has_pb ? amigo_format_bytes (p_data) : NULL, data, p_data);
  return amigo_table_render (table);
}

/* ---- ListMigrations ---- */

/* "12.3s / 10.0s": measured / predicted, "-" where unknown */
static char *
pair (char *measured, char *predicted)
{
  g_autofree char *m = measured;
  g_autofree char *p = predicted;

  return g_strdup_printf ("%s / %s", m != NULL ? m : "-", p != NULL ? p : "-");
}

static char *
duration_of (GVariant *dict, const char *key)
{
  gint64 usec;

  return lookup_x (dict, key, &usec) ? amigo_format_migration_duration (usec) : NULL;
}

static char *
bytes_of (GVariant *dict, const char *key)
{
  guint64 bytes;

  return lookup_t (dict, key, &bytes) ? amigo_format_bytes (bytes) : NULL;
}

char *
amigo_format_migrations (GVariant *migrations)
{
  static const char *const headers[] = { "STARTED", "DOMAIN", "DESTINATION", "MODE", "STATE",
                                         "TOTAL TIME", "DOWNTIME", "DATA SENT", "ERROR" };
  static const gboolean right[] = { FALSE, FALSE, FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, FALSE };
  g_autoptr (AmigoTable) table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));

  for (gsize i = 0; migrations != NULL && i < g_variant_n_children (migrations); i++) {
    g_autoptr (GVariant) m = g_variant_get_child_value (migrations, i);
    gint64 started = 0;
    g_autofree char *when = NULL;
    g_autofree char *total = pair (duration_of (m, "total_usec"), duration_of (m, "predicted_total_usec"));
    g_autofree char *down = pair (duration_of (m, "downtime_usec"), duration_of (m, "predicted_downtime_usec"));
    g_autofree char *data = pair (bytes_of (m, "data_sent_bytes"), bytes_of (m, "predicted_data_bytes"));
    const char *domain = lookup_str (m, "domain"), *dest = lookup_str (m, "dest_uri");
    const char *mode = lookup_str (m, "mode"), *state = lookup_str (m, "state");
    const char *error = lookup_str (m, "error");

    lookup_x (m, "started_usec", &started);
    when = amigo_format_time (started);
    {
      const char *row[] = { when, domain != NULL ? domain : "?", dest != NULL ? dest : "?",
                            mode != NULL ? mode : "-", state != NULL ? state : "?", total, down, data,
                            error != NULL ? error : "-" };
      amigo_table_add_row (table, row);
    }
  }
  if (amigo_table_get_n_rows (table) == 0)
    return g_strdup ("No migrations.\n");
  {
    g_autofree char *text = amigo_table_render (table);
    return g_strconcat (text, "(figures: measured / predicted)\n", NULL);
  }
}
