/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's figures in Prometheus's text exposition format (0.0.4), for
 * node_exporter's textfile collector. Rendering only; amigo-export-file.c
 * writes the result. See docs/prometheus.md for the families. */
#include "amigo-export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-time.h"

/* Prometheus names carry base units (bytes, seconds), so the units of the
 * metric and resource tables are converted here. A unit missing from this
 * table leaves its families out; the unit test renders every metric and
 * resource, so a new unit fails there rather than vanishing in production. */
static const struct {
  const char *unit;
  const char *suffix;
  double scale;
} unit_table[] = {
  { "cores", "cores", 1.0 },
  { "GiB", "bytes", AMIGO_BYTES_PER_GIB },
  { "MiB", "bytes", AMIGO_BYTES_PER_MIB },
  { "Mbit/s", "bytes_per_second", 1e6 / 8.0 },
  { "MiB/s", "bytes_per_second", AMIGO_BYTES_PER_MIB },
  { "IOPS", "operations_per_second", 1.0 },
};

/* The parts of a reservation request, each its own family per resource:
 * they are different quantities, and a sum over a "part" label would mean
 * nothing. */
static const struct {
  const char *name;
  gsize offset;
  const char *help;
} request_fields[] = {
  { "reserve", G_STRUCT_OFFSET (AmigoResourceReservation, amount),
    "amount a migration destination should reserve (bound + overhead)" },
  { "bound", G_STRUCT_OFFSET (AmigoResourceReservation, upper),
    "bound on the demand peak over the migration window" },
  { "mean", G_STRUCT_OFFSET (AmigoResourceReservation, mean),
    "expected mean demand over the migration window" },
  { "overhead", G_STRUCT_OFFSET (AmigoResourceReservation, overhead),
    "transient extra demand of the migration on the destination" },
};

void
amigo_export_snapshot_init (AmigoExportSnapshot *snapshot)
{
  memset (snapshot, 0, sizeof *snapshot);
  snapshot->store.ok = TRUE;
  snapshot->polls.last_duration_usec = -1;
}

static gboolean
unit_lookup (const char *unit, const char **ret_suffix, double *ret_scale)
{
  for (guint i = 0; i < G_N_ELEMENTS (unit_table); i++) {
    if (g_strcmp0 (unit_table[i].unit, unit) == 0) {
      *ret_suffix = unit_table[i].suffix;
      *ret_scale = unit_table[i].scale;
      return TRUE;
    }
  }
  return FALSE;
}

/* [a-zA-Z_][a-zA-Z0-9_]*: the data model allows ':' too, but it is kept for
 * recording rules. */
static gboolean
is_metric_name (const char *name)
{
  if (name == NULL || !(g_ascii_isalpha (name[0]) || name[0] == '_'))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  }
  return TRUE;
}

/* The shortest decimal form that reads back as the same double, so the file
 * is readable and a scrape compares equal to what was written. */
static void
append_double (GString *out, double value)
{
  static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isinf (value)) {
    g_string_append (out, value > 0 ? "+Inf" : "-Inf");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    g_ascii_formatd (buf, sizeof buf, formats[i], value);
    if (g_ascii_strtod (buf, NULL) == value)
      break;
  }
  g_string_append (out, buf);
}

/* Label values are UTF-8 with backslash, double quote and line feed
 * escaped. A name that is not valid UTF-8 gets U+FFFD for its bad bytes
 * rather than making the whole file unreadable. */
static void
append_label_value (GString *out, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid (value != NULL ? value : "", -1);

  for (const char *p = valid; *p != '\0'; p++) {
    switch (*p) {
    case '\\':
      g_string_append (out, "\\\\");
      break;
    case '"':
      g_string_append (out, "\\\"");
      break;
    case '\n':
      g_string_append (out, "\\n");
      break;
    default:
      g_string_append_c (out, *p);
    }
  }
}

/* HELP text escapes backslash and line feed only. */
static void
append_help_text (GString *out, const char *text)
{
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '\\')
      g_string_append (out, "\\\\");
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  }
}

/* Moves the sample lines gathered in @samples into @out under one HELP and
 * one TYPE line; a family without samples is left out entirely. */
static void
flush_family (GString *out,
              const char *name,
              const char *type,
              const char *help,
              GString *samples)
{
  if (samples->len == 0)
    return;
  g_string_append_printf (out, "# HELP %s ", name);
  append_help_text (out, help);
  g_string_append_printf (out, "\n# TYPE %s %s\n", name, type);
  g_string_append_len (out, samples->str, samples->len);
  g_string_truncate (samples, 0);
}

static void
add_sample (GString *samples, const char *name, const char *labels, double value)
{
  g_string_append (samples, name);
  g_string_append (samples, labels);
  g_string_append_c (samples, ' ');
  append_double (samples, value);
  g_string_append_c (samples, '\n');
}

static void
add_counter_family (GString *out, GString *samples, const char *name, const char *help, guint64 value)
{
  g_string_append_printf (samples, "%s %" G_GUINT64_FORMAT "\n", name, value);
  flush_family (out, name, "counter", help, samples);
}

static void
add_gauge_family (GString *out, GString *samples, const char *name, const char *help, double value)
{
  add_sample (samples, name, "", value);
  flush_family (out, name, "gauge", help, samples);
}

static int
compare_domains_by_uuid (const void *a, const void *b)
{
  const AmigoExportDomain *da = *(const AmigoExportDomain *const *) a;
  const AmigoExportDomain *db = *(const AmigoExportDomain *const *) b;
  int c = strcmp (da->uuid, db->uuid);

  /* qsort is not stable: the name breaks ties so the choice of which
   * duplicate survives does not depend on the caller's order. */
  return c != 0 ? c : g_strcmp0 (da->name, db->name);
}

/* One domain as it is rendered: its label set, formatted once. */
typedef struct {
  const AmigoExportDomain *domain;
  char *labels;
} RenderDomain;

/* The domains with a UUID, sorted by it, each UUID once: two series with
 * the same labels would make node_exporter drop the whole file. */
static GArray *
render_domains_new (const AmigoExportSnapshot *snapshot)
{
  g_autofree const AmigoExportDomain **sorted = g_new0 (const AmigoExportDomain *,
                                                        snapshot->n_domains + 1);
  GArray *domains = g_array_new (FALSE, TRUE, sizeof (RenderDomain));
  gsize n = 0;

  for (gsize i = 0; i < snapshot->n_domains; i++) {
    if (snapshot->domains[i].uuid != NULL && snapshot->domains[i].uuid[0] != '\0')
      sorted[n++] = &snapshot->domains[i];
  }
  qsort (sorted, n, sizeof *sorted, compare_domains_by_uuid);

  for (gsize i = 0; i < n; i++) {
    g_autoptr(GString) labels = g_string_new ("{domain=\"");
    RenderDomain rd = { sorted[i], NULL };

    if (i > 0 && strcmp (sorted[i - 1]->uuid, sorted[i]->uuid) == 0)
      continue;
    append_label_value (labels, sorted[i]->name);
    g_string_append (labels, "\",uuid=\"");
    append_label_value (labels, sorted[i]->uuid);
    g_string_append (labels, "\"}");
    rd.labels = g_string_free (g_steal_pointer (&labels), FALSE);
    g_array_append_val (domains, rd);
  }
  return domains;
}

static void
render_domains_free (GArray *domains)
{
  for (guint i = 0; i < domains->len; i++)
    g_free (g_array_index (domains, RenderDomain, i).labels);
  g_array_unref (domains);
}

static void
render_host (GString *out, GString *samples, const AmigoExportSnapshot *snapshot)
{
  g_string_append (samples, "amigo_build_info{version=\"");
  append_label_value (samples, snapshot->version != NULL ? snapshot->version : "unknown");
  g_string_append (samples, "\"} 1\n");
  flush_family (out, "amigo_build_info", "gauge", "amigod's version; always 1.", samples);

  if (snapshot->start_usec > 0)
    add_gauge_family (out, samples, "amigo_start_time_seconds",
                      "When amigod started, seconds since the epoch.",
                      snapshot->start_usec / (double) AMIGO_USEC_PER_SEC);

  add_counter_family (out, samples, "amigo_polls_total",
                      "Polls of the domains' statistics completed.", snapshot->polls.polls);
  add_counter_family (out, samples, "amigo_polls_skipped_total",
                      "Polls not started because the previous one was still running.",
                      snapshot->polls.skipped);
  add_counter_family (out, samples, "amigo_job_calls_skipped_total",
                      "libvirt calls that take a domain job, skipped because the domain had a job running.",
                      snapshot->polls.job_calls_skipped);
  if (snapshot->polls.last_duration_usec >= 0)
    add_gauge_family (out, samples, "amigo_poll_duration_seconds",
                      "How long the last poll took.",
                      snapshot->polls.last_duration_usec / (double) AMIGO_USEC_PER_SEC);
  if (snapshot->polls.last_usec > 0)
    add_gauge_family (out, samples, "amigo_last_poll_timestamp_seconds",
                      "When the last poll ended, seconds since the epoch.",
                      snapshot->polls.last_usec / (double) AMIGO_USEC_PER_SEC);

  add_gauge_family (out, samples, "amigo_store_healthy",
                    "1 if the history store records samples, 0 while it fails.",
                    snapshot->store.ok ? 1 : 0);
  if (!snapshot->store.ok && snapshot->store.failing_since_usec > 0)
    add_gauge_family (out, samples, "amigo_store_failing_since_timestamp_seconds",
                      "When the history store started failing, seconds since the epoch; absent while it works.",
                      snapshot->store.failing_since_usec / (double) AMIGO_USEC_PER_SEC);
  add_counter_family (out, samples, "amigo_store_samples_lost_total",
                      "Samples the history store could not record.",
                      snapshot->store.samples_lost);
}

static void
render_usage (GString *out, GString *samples, GArray *domains)
{
  for (guint i = 0; i < domains->len; i++) {
    const RenderDomain *rd = &g_array_index (domains, RenderDomain, i);

    if (rd->domain->latest.time_usec > 0)
      add_sample (samples, "amigo_domain_last_sample_timestamp_seconds", rd->labels,
                  rd->domain->latest.time_usec / (double) AMIGO_USEC_PER_SEC);
  }
  flush_family (out, "amigo_domain_last_sample_timestamp_seconds", "gauge",
                "When the domain's latest sample was taken, seconds since the epoch.", samples);

  for (AmigoMetric m = 0; m < AMIGO_METRIC_LAST; m++) {
    const char *suffix;
    double scale;
    g_autofree char *name = NULL;
    g_autofree char *help = NULL;

    if (!unit_lookup (amigo_metric_unit (m), &suffix, &scale)) {
      g_debug ("metric '%s' has unit '%s' with no Prometheus base unit, not exported",
               amigo_metric_to_string (m), amigo_metric_unit (m));
      continue;
    }
    name = g_strdup_printf ("amigo_domain_%s_%s", amigo_metric_to_string (m), suffix);
    if (!is_metric_name (name))
      continue;
    for (guint i = 0; i < domains->len; i++) {
      const AmigoExportDomain *d = g_array_index (domains, RenderDomain, i).domain;

      if (d->latest.time_usec > 0 && !isnan (d->latest.values[m]))
        add_sample (samples, name, g_array_index (domains, RenderDomain, i).labels,
                    d->latest.values[m] * scale);
    }
    help = g_strdup_printf ("Latest '%s' reading of the domain (collected in %s).",
                            amigo_metric_to_string (m), amigo_metric_unit (m));
    flush_family (out, name, "gauge", help, samples);
  }
}

static void
render_requests (GString *out, GString *samples, GArray *domains)
{
  for (guint f = 0; f < G_N_ELEMENTS (request_fields); f++) {
    for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++) {
      const char *suffix;
      double scale;
      g_autofree char *name = NULL;
      g_autofree char *help = NULL;

      if (!unit_lookup (amigo_resource_unit (r), &suffix, &scale))
        continue;
      name = g_strdup_printf ("amigo_domain_request_%s_%s_%s", request_fields[f].name,
                              amigo_resource_to_string (r), suffix);
      if (!is_metric_name (name))
        continue;
      for (guint i = 0; i < domains->len; i++) {
        const RenderDomain *rd = &g_array_index (domains, RenderDomain, i);
        const AmigoResourceReservation *res;
        double value;

        if (rd->domain->request == NULL)
          continue;
        res = &rd->domain->request->resources[r];
        value = G_STRUCT_MEMBER (double, res, request_fields[f].offset);
        if (res->present && !isnan (value))
          add_sample (samples, name, rd->labels, value * scale);
      }
      help = g_strdup_printf ("Reservation request, %s: %s.", amigo_resource_to_string (r),
                              request_fields[f].help);
      flush_family (out, name, "gauge", help, samples);
    }
  }

  for (guint i = 0; i < domains->len; i++) {
    const RenderDomain *rd = &g_array_index (domains, RenderDomain, i);

    if (rd->domain->request != NULL && rd->domain->request_usec > 0)
      add_sample (samples, "amigo_domain_request_timestamp_seconds", rd->labels,
                  rd->domain->request_usec / (double) AMIGO_USEC_PER_SEC);
  }
  flush_family (out, "amigo_domain_request_timestamp_seconds", "gauge",
                "When the current reservation request was computed, seconds since the epoch.",
                samples);
}

char *
amigo_export_render (const AmigoExportSnapshot *snapshot)
{
  g_autoptr(GString) out = g_string_sized_new (4096);
  g_autoptr(GString) samples = g_string_new (NULL);
  GArray *domains;

  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (snapshot->n_domains == 0 || snapshot->domains != NULL, NULL);

  render_host (out, samples, snapshot);
  domains = render_domains_new (snapshot);
  render_usage (out, samples, domains);
  render_requests (out, samples, domains);
  render_domains_free (domains);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
