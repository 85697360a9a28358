/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "amigo-bytes.h"
#include "amigo-error.h"
#include "amigo-json.h"
#include "amigo-time.h"

/*
 * The summary that travels with a migrated domain (docs/history-format.md):
 *
 *   {"format":"amigo-history-summary","version":1,"uuid":"...","name":"...",
 *    "series":[{"step":300,"start":<unix s>,"n":288,
 *               "metrics":{"cpu":["<mean>","<max>"],...}}, ...]}
 *
 * where <mean> and <max> are base64 of n little-endian float32 (NaN = gap).
 * Series 0 is the last 24 h at the store's step, series 1 the per-hour
 * points before that up to the retention. Metrics with no value are left
 * out; when the text exceeds the caller's bound the oldest hourly days go
 * first, then the oldest recent hours.
 */

#define M AMIGO_METRIC_LAST
#define SUMMARY_FORMAT "amigo-history-summary"
#define SUMMARY_VERSION 1
#define SUMMARY_MAX_SERIES 8
#define SUMMARY_MAX_POINTS 100000
#define RECENT_USEC (24 * AMIGO_USEC_PER_HOUR)

typedef struct {
  const char *uuid;
  const char *name;              /* may be NULL */
  gint64 step_usec;
  gint64 retention_usec;
  gint64 last_time_usec;         /* newest known time of the domain */
} SummarySource;

/* One regular series: @n bins of @step_usec from @start_usec; @mean and
 * @max hold n * AMIGO_METRIC_LAST values, [bin * AMIGO_METRIC_LAST + metric]. */
typedef struct {
  gint64 start_usec;
  gint64 step_usec;
  guint n;
  double *mean;
  double *max;
} SummarySeries;

/* ---- reading the store ---- */

static gboolean
summary_source (AmigoHistory *self,
                const char *uuid,
                SummarySource *ret,
                GError **error)
{
  AmigoHistoryDomain *d = amigo_history_lookup (self, uuid, error);

  if (d == NULL)
    return FALSE;
  ret->uuid = d->uuid;
  ret->name = d->name;
  ret->step_usec = self->options.step_usec;
  ret->retention_usec = self->options.retention_usec;
  ret->last_time_usec = d->last_time_usec != AMIGO_HISTORY_NONE_MIN ? d->last_time_usec : self->newest_usec;
  if (ret->last_time_usec == AMIGO_HISTORY_NONE_MIN) {
    /* Only imported data: end at its newest record. */
    g_autoptr(GArray) recs = amigo_history_collect_ds (self, d, 0, G_MAXINT64 / 2);
    ret->last_time_usec = 0;
    if (recs->len > 0) {
      const AmigoHistoryDsRecord *r = &g_array_index (recs, AmigoHistoryDsRecord, recs->len - 1);
      ret->last_time_usec = r->time_usec + (gint64) r->span_sec * AMIGO_USEC_PER_SEC - 1;
    }
  }
  return TRUE;
}

static void
summary_resample (AmigoHistory *self,
                  const char *uuid,
                  gint64 start,
                  gint64 step,
                  guint n,
                  double *mean,
                  double *max)
{
  AmigoHistoryDomain *d = g_hash_table_lookup (self->domains, uuid);
  g_autoptr(GArray) recs = NULL;

  if (d == NULL || n == 0) {
    for (gsize i = 0; i < (gsize) n * M; i++)
      mean[i] = max[i] = NAN;
    return;
  }
  recs = amigo_history_collect_ds (self, d, start, start + (gint64) n * step - 1);
  amigo_history_resample (recs, start, step, n, mean, max);
}

static gboolean
summary_merge (AmigoHistory *self,
               const char *uuid,
               const char *name,
               const SummarySeries *series,
               guint n_series,
               guint *ret_imported,
               GError **error)
{
  g_autoptr(GArray) have = NULL;
  AmigoHistoryDomain *d;
  gint64 lo = G_MAXINT64, hi = G_MININT64, oldest_ok, newest_ok;
  guint imported = 0;
  char key[AMIGO_UUID_BUFLEN];

  if (!amigo_history_normalize_uuid (uuid, key, error))
    return FALSE;
  if (ret_imported != NULL)
    *ret_imported = 0;
  if (n_series == 0)
    return TRUE;
  for (guint s = 0; s < n_series; s++) {
    lo = MIN (lo, series[s].start_usec);
    hi = MAX (hi, series[s].start_usec + (gint64) series[s].n * series[s].step_usec);
  }
  d = amigo_history_get_domain (self, key, TRUE, error);
  if (d == NULL)
    return FALSE;
  if (d->name == NULL && name != NULL && *name != '\0' && g_utf8_validate (name, -1, NULL)) {
    d->name = g_strdup (name);
    d->header_ok = FALSE;
  }
  /* Existing intervals, to never overwrite (or double) a point. */
  have = amigo_history_collect_ds (self, d, lo, hi);
  oldest_ok = (self->newest_usec != AMIGO_HISTORY_NONE_MIN ? self->newest_usec : hi) - self->options.retention_usec;
  /* A source whose clock was ahead cannot plant points in our future. */
  newest_ok = amigo_history_wall_now (self) + self->options.future_bound_usec;

  for (guint s = 0; s < n_series; s++) {
    const SummarySeries *se = &series[s];
    guint first_new = d->pending_ds->len;

    for (guint b = 0; b < se->n; b++) {
      AmigoHistoryDsRecord r = { 0 };
      gint64 t0 = se->start_usec + (gint64) b * se->step_usec;
      gint64 t1 = t0 + se->step_usec;
      gboolean any = FALSE, overlaps = FALSE;
      guint lo_i = 0, hi_i = have->len;

      r.time_usec = t0;
      r.span_sec = (guint32) (se->step_usec / AMIGO_USEC_PER_SEC);
      r.flags = AMIGO_HISTORY_DS_FLAG_IMPORTED;
      for (guint m = 0; m < M; m++) {
        r.mean[m] = amigo_history_to_f32 (se->mean[(gsize) b * M + m]);
        r.max[m] = amigo_history_to_f32 (se->max[(gsize) b * M + m]);
        any = any || !isnan (r.mean[m]) || !isnan (r.max[m]);
      }
      if (!any || t1 <= oldest_ok || t0 > newest_ok)
        continue;
      if (d->bucket_start_usec != AMIGO_HISTORY_NONE_MIN && t1 > d->bucket_start_usec)
        continue;
      if (d->last_time_usec != AMIGO_HISTORY_NONE_MIN && t1 > amigo_history_align_down (d->last_time_usec, self->options.step_usec))
        continue;
      /* First existing record ending after t0 (sorted by start, and
       * stored records of one domain do not overlap each other). */
      while (lo_i < hi_i) {
        guint mid = (lo_i + hi_i) / 2;
        const AmigoHistoryDsRecord *e = &g_array_index (have, AmigoHistoryDsRecord, mid);
        if (e->time_usec + (gint64) e->span_sec * AMIGO_USEC_PER_SEC <= t0)
          lo_i = mid + 1;
        else
          hi_i = mid;
      }
      for (guint k = lo_i; k < have->len && k < lo_i + 2; k++)
        if (g_array_index (have, AmigoHistoryDsRecord, k).time_usec < t1)
          overlaps = TRUE;
      /* Spans longer than the local step can start earlier and still
       * overlap: check the one just before too. */
      if (lo_i > 0) {
        const AmigoHistoryDsRecord *e = &g_array_index (have, AmigoHistoryDsRecord, lo_i - 1);
        if (e->time_usec + (gint64) e->span_sec * AMIGO_USEC_PER_SEC > t0)
          overlaps = TRUE;
      }
      if (overlaps)
        continue;
      g_array_append_val (d->pending_ds, r);
      imported++;
    }
    /* Later series must not overlap this one either. */
    if (d->pending_ds->len > first_new) {
      g_array_append_vals (have, &g_array_index (d->pending_ds, AmigoHistoryDsRecord, first_new),
                           d->pending_ds->len - first_new);
      g_array_sort (have, amigo_history_cmp_time);
    }
  }
  if (ret_imported != NULL)
    *ret_imported = imported;
  return TRUE;
}


/* ---- export ---- */

typedef struct {
  gint64 start_usec;
  gint64 step_usec;
  guint n;
  guint first;                   /* leading bins dropped */
  double *mean;
  double *max;
} ExportSeries;

static gboolean
metric_has_values (const ExportSeries *se, guint m)
{
  for (guint b = se->first; b < se->n; b++)
    if (!isnan (se->mean[(gsize) b * M + m]) || !isnan (se->max[(gsize) b * M + m]))
      return TRUE;
  return FALSE;
}

/* base64 of the bins of one metric, little-endian float32 each. */
static char *
encode_floats (const ExportSeries *se, const double *values, guint m)
{
  guint n = se->n - se->first;
  g_autofree guint8 *buf = g_new (guint8, (gsize) n * 4 + 1);

  for (guint b = 0; b < n; b++)
    amigo_put_le_f32 (buf + 4 * b, amigo_history_to_f32 (values[(gsize) (b + se->first) * M + m]));
  return g_base64_encode (buf, (gsize) n * 4);
}

static char *
summary_build (const SummarySource *src, ExportSeries *series, guint n_series)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, SUMMARY_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, SUMMARY_VERSION);
  json_builder_set_member_name (b, "uuid");
  json_builder_add_string_value (b, src->uuid);
  if (src->name != NULL) {
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, src->name);
  }
  json_builder_set_member_name (b, "series");
  json_builder_begin_array (b);
  for (guint s = 0; s < n_series; s++) {
    ExportSeries *se = &series[s];

    if (se->first >= se->n)
      continue;
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "step");
    json_builder_add_int_value (b, se->step_usec / AMIGO_USEC_PER_SEC);
    json_builder_set_member_name (b, "start");
    json_builder_add_int_value (b, (se->start_usec + (gint64) se->first * se->step_usec) / AMIGO_USEC_PER_SEC);
    json_builder_set_member_name (b, "n");
    json_builder_add_int_value (b, se->n - se->first);
    json_builder_set_member_name (b, "metrics");
    json_builder_begin_object (b);
    for (guint m = 0; m < M; m++) {
      g_autofree char *mean = NULL;
      g_autofree char *max = NULL;

      if (!metric_has_values (se, m))
        continue;
      mean = encode_floats (se, se->mean, m);
      max = encode_floats (se, se->max, m);
      json_builder_set_member_name (b, amigo_metric_to_string (m));
      json_builder_begin_array (b);
      json_builder_add_string_value (b, mean);
      json_builder_add_string_value (b, max);
      json_builder_end_array (b);
    }
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return amigo_json_builder_to_string (b);
}

static guint
first_known_bin (const ExportSeries *se)
{
  for (guint b = 0; b < se->n; b++)
    for (guint m = 0; m < M; m++)
      if (!isnan (se->mean[(gsize) b * M + m]) || !isnan (se->max[(gsize) b * M + m]))
        return b;
  return se->n;
}

char *
amigo_history_export_summary (AmigoHistory *self, const char *uuid, gsize max_bytes, GError **error)
{
  SummarySource src;
  ExportSeries series[2] = { { 0 } };
  gint64 end, step;
  char *text = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  if (!summary_source (self, uuid, &src, error))
    return NULL;

  step = src.step_usec;
  end = (src.last_time_usec / step) * step + step;
  /* Recent detail: the last 24 h (at least one bin) at the store's step. */
  series[0].step_usec = step;
  series[0].n = (guint) MAX ((RECENT_USEC + step - 1) / step, 1);
  series[0].start_usec = end - (gint64) series[0].n * step;
  /* Hourly points before that, up to the retention. */
  series[1].step_usec = AMIGO_USEC_PER_HOUR;
  series[1].n = src.retention_usec > RECENT_USEC
                  ? (guint) ((src.retention_usec - RECENT_USEC) / AMIGO_USEC_PER_HOUR) : 0;
  series[1].start_usec = (series[0].start_usec / AMIGO_USEC_PER_HOUR) * AMIGO_USEC_PER_HOUR
                         - (gint64) series[1].n * AMIGO_USEC_PER_HOUR;

  for (guint s = 0; s < 2; s++) {
    series[s].mean = g_new (double, (gsize) MAX (series[s].n, 1) * M);
    series[s].max = g_new (double, (gsize) MAX (series[s].n, 1) * M);
    summary_resample (self, src.uuid, series[s].start_usec, series[s].step_usec,
                                    series[s].n, series[s].mean, series[s].max);
    series[s].first = first_known_bin (&series[s]);
  }

  for (;;) {
    g_free (text);
    text = summary_build (&src, series, 2);
    if (strlen (text) <= max_bytes)
      break;
    /* Too large: drop the oldest detail first. */
    if (series[1].first < series[1].n) {
      series[1].first = MIN (series[1].first + 24, series[1].n);
    } else if (series[0].first + 1 < series[0].n) {
      gint64 hour_bins = MAX (AMIGO_USEC_PER_HOUR / step, 1);
      series[0].first = (guint) MIN (series[0].first + hour_bins, (gint64) series[0].n - 1);
    } else {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "the history summary of domain '%s' does not fit in %" G_GSIZE_FORMAT " bytes",
                   src.uuid, max_bytes);
      g_clear_pointer (&text, g_free);
      break;
    }
  }
  for (guint s = 0; s < 2; s++) {
    g_free (series[s].mean);
    g_free (series[s].max);
  }
  return text;
}

/* ---- import ------------------------------------------------------------- */

static gboolean
base64_valid (const char *s)
{
  gsize len = strlen (s), pad = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = s[i];
    if (c == '=') {
      if (i < len - 2)
        return FALSE;
      pad++;
    } else if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/')) {
      return FALSE;
    }
  }
  return TRUE;
}

/* An integer member of series @index within [@min, @max]. */
static gboolean
get_int_member (JsonObject *obj, const char *member, gint64 min, gint64 max, gint64 *ret,
                guint index, GError **error)
{
  g_autofree char *what = g_strdup_printf ("history summary series %u", index);

  if (!amigo_json_get_int (obj, what, "", member, min, ret, error))
    return FALSE;
  if (*ret > max) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "%s: '%s' = %" G_GINT64_FORMAT " is above %" G_GINT64_FORMAT, what, member, *ret, max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
decode_floats (JsonNode *node, guint n, double *out, guint m, guint index, const char *metric, GError **error)
{
  g_autofree guchar *bytes = NULL;
  const char *text;
  gsize len = 0;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary series %u: metric '%s' is not a pair of base64 strings", index, metric);
    return FALSE;
  }
  text = json_node_get_string (node);
  if (!base64_valid (text)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary series %u: metric '%s' holds bad base64", index, metric);
    return FALSE;
  }
  bytes = g_base64_decode (text, &len);
  if (len != (gsize) n * 4) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary series %u: metric '%s' holds %" G_GSIZE_FORMAT " bytes, expected %u",
                 index, metric, len, n * 4);
    return FALSE;
  }
  for (guint b = 0; b < n; b++) {
    float f = amigo_get_le_f32 (bytes + 4 * b);
    out[(gsize) b * M + m] = isfinite (f) ? f : NAN;
  }
  return TRUE;
}

static void
series_clear (SummarySeries *series, guint n)
{
  for (guint s = 0; s < n; s++) {
    g_free (series[s].mean);
    g_free (series[s].max);
  }
}

static gboolean
parse_series (JsonNode *node, guint index, guint *budget, SummarySeries *se, GError **error)
{
  JsonObject *obj, *metrics;
  JsonNode *mnode;
  g_autoptr(GList) members = NULL;
  gint64 step, start, n;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary series %u is not an object", index);
    return FALSE;
  }
  obj = json_node_get_object (node);
  if (!get_int_member (obj, "step", 1, 86400, &step, index, error) ||
      !get_int_member (obj, "start", 0, G_GINT64_CONSTANT (100000000000), &start, index, error) ||
      !get_int_member (obj, "n", 0, SUMMARY_MAX_POINTS, &n, index, error))
    return FALSE;
  if ((guint) n > *budget) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary holds more than %d points in all", SUMMARY_MAX_POINTS);
    return FALSE;
  }
  *budget -= (guint) n;
  se->step_usec = step * AMIGO_USEC_PER_SEC;
  se->start_usec = start * AMIGO_USEC_PER_SEC;
  se->n = (guint) n;
  se->mean = g_new (double, (gsize) MAX (n, 1) * M);
  se->max = g_new (double, (gsize) MAX (n, 1) * M);
  for (gsize i = 0; i < (gsize) MAX (n, 1) * M; i++)
    se->mean[i] = se->max[i] = NAN;

  mnode = json_object_get_member (obj, "metrics");
  if (mnode == NULL || !JSON_NODE_HOLDS_OBJECT (mnode)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary series %u has no 'metrics' object", index);
    return FALSE;
  }
  metrics = json_node_get_object (mnode);
  members = json_object_get_members (metrics);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *pair = json_object_get_member (metrics, name);
    AmigoMetric m;
    JsonArray *arr;

    if (!amigo_metric_from_string (name, &m)) {
      g_debug ("history summary series %u: unknown metric '%s', ignoring", index, name);
      continue;
    }
    if (!JSON_NODE_HOLDS_ARRAY (pair) || json_array_get_length (json_node_get_array (pair)) != 2) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "history summary series %u: metric '%s' is not a [mean, max] pair", index, name);
      return FALSE;
    }
    arr = json_node_get_array (pair);
    if (!decode_floats (json_array_get_element (arr, 0), se->n, se->mean, m, index, name, error) ||
        !decode_floats (json_array_get_element (arr, 1), se->n, se->max, m, index, name, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
amigo_history_import_summary (AmigoHistory *self, const char *uuid, const char *summary, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  SummarySeries series[SUMMARY_MAX_SERIES] = { { 0 } };
  JsonObject *root;
  JsonNode *node;
  JsonArray *arr;
  const char *format, *sum_uuid, *name;
  guint n_series, budget = SUMMARY_MAX_POINTS;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "'%s' is not a domain UUID",
                 uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  if (summary == NULL || strnlen (summary, AMIGO_HISTORY_MAX_SUMMARY_BYTES + 1) > AMIGO_HISTORY_MAX_SUMMARY_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary of domain '%s' is missing or larger than %d bytes",
                 uuid, AMIGO_HISTORY_MAX_SUMMARY_BYTES);
    return FALSE;
  }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, summary, -1, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary is not valid JSON: %s", local->message);
    return FALSE;
  }
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary is not a JSON object");
    return FALSE;
  }
  root = json_node_get_object (node);
  format = amigo_json_lookup_string (root, "format");
  if (g_strcmp0 (format, SUMMARY_FORMAT) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary has format '%s', expected '%s'",
                 format != NULL ? format : "(none)", SUMMARY_FORMAT);
    return FALSE;
  }
  if (amigo_json_lookup_int (root, "version", -1) != SUMMARY_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "history summary version %" G_GINT64_FORMAT " is not supported (expected %d)",
                 amigo_json_lookup_int (root, "version", -1), SUMMARY_VERSION);
    return FALSE;
  }
  sum_uuid = amigo_json_lookup_string (root, "uuid");
  if (sum_uuid == NULL || g_ascii_strcasecmp (sum_uuid, uuid) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "history summary is for domain '%s', not '%s'",
                 sum_uuid != NULL ? sum_uuid : "(none)", uuid);
    return FALSE;
  }
  name = amigo_json_lookup_string (root, "name");
  node = json_object_get_member (root, "series");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary has no 'series' array");
    return FALSE;
  }
  arr = json_node_get_array (node);
  n_series = json_array_get_length (arr);
  if (n_series > SUMMARY_MAX_SERIES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "history summary has %u series, at most %d allowed",
                 n_series, SUMMARY_MAX_SERIES);
    return FALSE;
  }
  /* Parse everything first: a bad summary changes nothing. */
  ok = TRUE;
  for (guint s = 0; s < n_series && ok; s++)
    ok = parse_series (json_array_get_element (arr, s), s, &budget, &series[s], error);
  if (ok)
    ok = summary_merge (self, uuid, name, series, n_series, NULL, error);
  series_clear (series, n_series);
  return ok;
}
