/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amigo-config.h"
#include "amigo-enum.h"
#include "amigo-error.h"
#include "amigo-time.h"

/*
 * Layout (docs/history-format.md): one directory per domain UUID holding a
 * small header file and append-only segment files of fixed-size, checksummed
 * records. Appends are buffered per domain until amigo_history_flush(), which
 * writes each domain's records with one write() per segment and then calls
 * syncfs() once. The in-memory state per domain is the current, incomplete
 * downsampling bucket and the records not yet flushed; everything else is
 * read from disk when queried.
 */

#define M AMIGO_METRIC_LAST
#define MAX_PENDING 65536

void
amigo_history_domain_free (gpointer data)
{
  AmigoHistoryDomain *d = data;

  g_free (d->name);
  g_array_unref (d->pending_raw);
  g_array_unref (d->pending_ds);
  g_free (d);
}

AmigoHistoryDomain *
amigo_history_domain_new (const char *uuid)
{
  AmigoHistoryDomain *d = g_new0 (AmigoHistoryDomain, 1);

  g_strlcpy (d->uuid, uuid, sizeof d->uuid);
  d->last_time_usec = AMIGO_HISTORY_NONE_MIN;
  d->bucket_start_usec = AMIGO_HISTORY_NONE_MIN;
  d->pending_raw = g_array_sized_new (FALSE, FALSE, sizeof (AmigoHistoryRawRecord), 2);
  d->pending_ds = g_array_sized_new (FALSE, FALSE, sizeof (AmigoHistoryDsRecord), 1);
  d->oldest_raw_seg = AMIGO_HISTORY_NONE_MAX;
  d->newest_raw_seg = AMIGO_HISTORY_NONE_MIN;
  d->oldest_ds_seg = AMIGO_HISTORY_NONE_MAX;
  d->newest_ds_seg = AMIGO_HISTORY_NONE_MIN;
  return d;
}

void
amigo_history_domain_note_segment (AmigoHistoryDomain *d, gboolean raw, gint64 seg)
{
  if (raw) {
    d->oldest_raw_seg = MIN (d->oldest_raw_seg, seg);
    d->newest_raw_seg = MAX (d->newest_raw_seg, seg);
  } else {
    d->oldest_ds_seg = MIN (d->oldest_ds_seg, seg);
    d->newest_ds_seg = MAX (d->newest_ds_seg, seg);
  }
}

void
amigo_history_domain_bucket_to_record (const AmigoHistoryDomain *d, gint64 step_usec, AmigoHistoryDsRecord *r)
{
  r->time_usec = d->bucket_start_usec;
  r->span_sec = (guint32) (step_usec / AMIGO_USEC_PER_SEC);
  r->count = (guint16) MIN (d->bucket_samples, G_MAXUINT16);
  r->flags = 0;
  for (guint i = 0; i < M; i++) {
    r->mean[i] = d->bucket_n[i] > 0 ? amigo_history_to_f32 (d->bucket_sum[i] / d->bucket_n[i]) : NAN;
    r->max[i] = d->bucket_n[i] > 0 ? amigo_history_to_f32 (d->bucket_max[i]) : NAN;
  }
}

/* Feeds one sample into the downsampling bucket; a finished bucket becomes a
 * pending downsampled record. */
void
amigo_history_domain_aggregate (AmigoHistoryDomain *d, gint64 step_usec, gint64 time_usec, const float *values)
{
  gint64 b = amigo_history_align_down (time_usec, step_usec);

  if (d->bucket_start_usec != AMIGO_HISTORY_NONE_MIN && b != d->bucket_start_usec) {
    AmigoHistoryDsRecord r;
    if (b < d->bucket_start_usec)
      return;
    amigo_history_domain_bucket_to_record (d, step_usec, &r);
    g_array_append_val (d->pending_ds, r);
    d->bucket_start_usec = AMIGO_HISTORY_NONE_MIN;
  }
  if (d->bucket_start_usec == AMIGO_HISTORY_NONE_MIN) {
    d->bucket_start_usec = b;
    d->bucket_samples = 0;
    for (guint i = 0; i < M; i++) {
      d->bucket_sum[i] = 0;
      d->bucket_max[i] = -INFINITY;
      d->bucket_n[i] = 0;
    }
  }
  d->bucket_samples++;
  for (guint i = 0; i < M; i++) {
    double v = values[i];
    if (isnan (v))
      continue;
    d->bucket_sum[i] += v;
    d->bucket_max[i] = MAX (d->bucket_max[i], v);
    d->bucket_n[i]++;
  }
}

/* The domain's clock went back: the open bucket is finished as it is and
 * the next sample starts a new one, wherever it lies. */
void
amigo_history_domain_restart (AmigoHistoryDomain *d, gint64 step_usec)
{
  if (d->bucket_start_usec != AMIGO_HISTORY_NONE_MIN) {
    AmigoHistoryDsRecord r;
    amigo_history_domain_bucket_to_record (d, step_usec, &r);
    g_array_append_val (d->pending_ds, r);
    d->bucket_start_usec = AMIGO_HISTORY_NONE_MIN;
  }
  d->last_time_usec = AMIGO_HISTORY_NONE_MIN;
}

AMIGO_ENUM_IMPL (amigo_history_warning_kind, AmigoHistoryWarningKind, AMIGO_HISTORY_WARNING_LAST, "unknown",
                 [AMIGO_HISTORY_WARNING_DAMAGED_FILE] = "damaged-file",
                 [AMIGO_HISTORY_WARNING_DAMAGED_RECORD] = "damaged-record",
                 [AMIGO_HISTORY_WARNING_READ_FAILED] = "read-failed",
                 [AMIGO_HISTORY_WARNING_FUTURE_SAMPLE] = "future-sample",
                 [AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK] = "clock-stepped-back",
                 [AMIGO_HISTORY_WARNING_OUT_OF_ORDER_SAMPLE] = "out-of-order-sample",
                 [AMIGO_HISTORY_WARNING_WRITE_FAILED] = "write-failed",
                 [AMIGO_HISTORY_WARNING_WRITE_RECOVERED] = "write-recovered",
                 [AMIGO_HISTORY_WARNING_TOO_MANY_DOMAINS] = "too-many-domains",
                 [AMIGO_HISTORY_WARNING_DROPPED] = "warnings-dropped")

static void
warning_free (gpointer data)
{
  AmigoHistoryWarning *w = data;

  g_free (w->message);
  g_free (w);
}

/* Warnings about single samples come once per poll and domain: one entry
 * per kind with a count, so a bad clock cannot flood the caller. */
static gboolean
warning_kind_folds (AmigoHistoryWarningKind kind)
{
  return kind == AMIGO_HISTORY_WARNING_FUTURE_SAMPLE || kind == AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK ||
         kind == AMIGO_HISTORY_WARNING_OUT_OF_ORDER_SAMPLE;
}

void
amigo_history_warn (AmigoHistory *self, AmigoHistoryWarningKind kind, const char *format, ...)
{
  AmigoHistoryWarning *w;
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_debug ("%s", msg);
  for (guint i = 0; i < self->warnings->len; i++) {
    AmigoHistoryWarning *e = g_ptr_array_index (self->warnings, i);
    if (e->kind == kind && (warning_kind_folds (kind) || self->warnings->len >= AMIGO_HISTORY_MAX_WARNINGS)) {
      e->count++;
      g_free (msg);
      return;
    }
  }
  if (self->warnings->len >= AMIGO_HISTORY_MAX_WARNINGS) {
    self->warnings_dropped++;
    g_free (msg);
    return;
  }
  w = g_new0 (AmigoHistoryWarning, 1);
  w->kind = kind;
  w->count = 1;
  w->message = msg;
  g_ptr_array_add (self->warnings, w);
}

void
amigo_history_set_now (AmigoHistory *self, gint64 now_usec)
{
  g_return_if_fail (self != NULL);
  /* Before 1970 or past year 100,000: not a clock (and no arithmetic on it
   * could be trusted). */
  g_return_if_fail (now_usec > 0 && now_usec < G_GINT64_CONSTANT (3155695200000000000));
  self->wall_usec = now_usec;
}

gint64
amigo_history_wall_now (AmigoHistory *self)
{
  return self->wall_usec != 0 ? self->wall_usec : g_get_real_time ();
}

void
amigo_history_get_health (AmigoHistory *self, AmigoHistoryHealth *ret)
{
  g_return_if_fail (self != NULL && ret != NULL);
  *ret = self->health;
}

/* Called after each flush that tried to write: says once when the store
 * starts failing and once when it writes again. */
static void
history_note_health (AmigoHistory *self, gboolean ok, const GError *error, guint64 lost)
{
  AmigoHistoryHealth *h = &self->health;

  h->samples_lost += lost;
  if (!ok) {
    g_strlcpy (h->last_error, error != NULL ? error->message : "unknown error", sizeof h->last_error);
    if (h->ok) {
      h->ok = FALSE;
      h->failing_since_usec = amigo_history_wall_now (self);
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_WRITE_FAILED,
                          "the history store '%s' cannot write (%s): samples are lost until it can",
                          self->dir, h->last_error);
    }
    return;
  }
  if (!h->ok) {
    g_autoptr(GDateTime) since = g_date_time_new_from_unix_utc (h->failing_since_usec / AMIGO_USEC_PER_SEC);
    g_autofree char *when = since != NULL ? g_date_time_format_iso8601 (since) : g_strdup ("?");
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_WRITE_RECOVERED,
                        "the history store '%s' writes again after failing since %s; %" G_GUINT64_FORMAT
                        " samples lost since it was opened", self->dir, when, h->samples_lost);
    h->ok = TRUE;
    h->failing_since_usec = 0;
  }
}

/* Writes the pending records of one domain; on failure they are dropped
 * (the error names the file) and @ret_lost counts the samples not written. */
static gboolean
history_flush_domain (AmigoHistory *self, AmigoHistoryDomain *d, guint *ret_lost, GError **error)
{
  gboolean ok = TRUE;
  guint raw_written = 0;

  if (!d->header_ok && !amigo_history_write_header (self, d, error))
    ok = FALSE;

  for (int pass = 0; pass < 2 && ok; pass++) {
    gboolean raw = pass == 0;
    GArray *pending = raw ? d->pending_raw : d->pending_ds;
    guint i = 0;

    while (i < pending->len && ok) {
      gint64 t0 = raw ? g_array_index (pending, AmigoHistoryRawRecord, i).time_usec
                      : g_array_index (pending, AmigoHistoryDsRecord, i).time_usec;
      gint64 seg = amigo_history_align_down (t0, amigo_history_segment_usec (raw));
      gsize rs = amigo_history_record_size (raw);
      guint first = i;

      g_byte_array_set_size (self->write_buf, AMIGO_HISTORY_SEGMENT_HEADER_SIZE);
      for (; i < pending->len; i++) {
        gint64 t = raw ? g_array_index (pending, AmigoHistoryRawRecord, i).time_usec
                       : g_array_index (pending, AmigoHistoryDsRecord, i).time_usec;
        guint off = self->write_buf->len;
        if (amigo_history_align_down (t, amigo_history_segment_usec (raw)) != seg)
          break;
        g_byte_array_set_size (self->write_buf, off + (guint) rs);
        if (raw)
          amigo_history_raw_encode (&g_array_index (pending, AmigoHistoryRawRecord, i), self->write_buf->data + off);
        else
          amigo_history_ds_encode (&g_array_index (pending, AmigoHistoryDsRecord, i), self->write_buf->data + off);
      }
      ok = amigo_history_append_segment (self, d, raw, seg, error);
      if (ok && raw)
        raw_written += i - first;
    }
  }
  *ret_lost = d->pending_raw->len - raw_written;
  g_array_set_size (d->pending_raw, 0);
  g_array_set_size (d->pending_ds, 0);
  return ok;
}

static void
history_expire (AmigoHistory *self, AmigoHistoryDomain *d, gboolean raw, gint64 limit)
{
  gint64 *oldest = raw ? &d->oldest_raw_seg : &d->oldest_ds_seg;
  gint64 *newest = raw ? &d->newest_raw_seg : &d->newest_ds_seg;
  gint64 span = amigo_history_segment_usec (raw);

  while (*oldest != AMIGO_HISTORY_NONE_MAX && *oldest + span <= limit) {
    amigo_history_remove_segment (self, d, raw, *oldest);
    if (*oldest >= *newest) {
      *oldest = AMIGO_HISTORY_NONE_MAX;
      *newest = AMIGO_HISTORY_NONE_MIN;
    } else {
      *oldest += span;
    }
  }
}

/* Deletes whole segments past their retention, relative to the wall clock
 * (never to the newest sample: one sample stamped a year ahead must not
 * wipe the history). A domain left with nothing is forgotten. */
static void
history_sweep (AmigoHistory *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 raw_limit, ds_limit;

  /* Never told the time: keep everything rather than sweep on a guess. */
  if (self->wall_usec == 0)
    return;
  raw_limit = self->wall_usec - self->options.raw_retention_usec;
  ds_limit = self->wall_usec - self->options.retention_usec;

  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    AmigoHistoryDomain *d = value;
    char relpath[AMIGO_UUID_STRING_LEN + 40];

    history_expire (self, d, TRUE, raw_limit);
    history_expire (self, d, FALSE, ds_limit);
    if (d->oldest_raw_seg != AMIGO_HISTORY_NONE_MAX || d->oldest_ds_seg != AMIGO_HISTORY_NONE_MAX ||
        d->pending_raw->len > 0 || d->pending_ds->len > 0 ||
        (d->last_time_usec != AMIGO_HISTORY_NONE_MIN && d->last_time_usec >= ds_limit))
      continue;
    g_debug ("history: domain '%s' has no data left, forgetting it", d->uuid);
    g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
    unlinkat (self->dir_fd, relpath, 0);
    unlinkat (self->dir_fd, d->uuid, AT_REMOVEDIR);
    g_hash_table_iter_remove (&iter);
  }
}

void
amigo_history_options_init (AmigoHistoryOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->raw_retention_usec = 6 * AMIGO_USEC_PER_HOUR;
  options->step_usec = 5 * AMIGO_USEC_PER_MIN;
  options->retention_usec = 14 * AMIGO_USEC_PER_DAY;
  options->sync = TRUE;
  options->max_domains = 4096;
  options->future_bound_usec = 10 * AMIGO_USEC_PER_MIN;
}

gboolean
amigo_history_normalize_uuid (const char *uuid, char out[AMIGO_UUID_BUFLEN], GError **error)
{
  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "'%s' is not a domain UUID",
                 uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  for (guint i = 0; i < AMIGO_UUID_STRING_LEN; i++)
    out[i] = g_ascii_tolower (uuid[i]);
  out[AMIGO_UUID_STRING_LEN] = '\0';
  return TRUE;
}

static void
history_load_header (AmigoHistory *self, AmigoHistoryDomain *d)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  char relpath[AMIGO_UUID_STRING_LEN + 40];
  const char *why;

  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  if (!amigo_history_read_file (self, relpath, buf)) {
    if (errno != ENOENT)
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_READ_FAILED, "cannot read history file '%s/%s': %s", self->dir, relpath, g_strerror (errno));
    return;
  }
  if (!amigo_history_domain_header_decode (buf->data, buf->len, d->uuid, &d->name, &why)) {
    amigo_history_quarantine (self, relpath, why);
    return;
  }
  d->header_ok = TRUE;
}

typedef struct {
  AmigoHistory *self;
  AmigoHistoryDomain *d;
  gint64 covered_end;            /* end of the newest downsampled record */
} LoadState;

static void
load_ds_record (const AmigoHistoryRawRecord *rr, const AmigoHistoryDsRecord *dr, gpointer user_data)
{
  LoadState *st = user_data;
  st->covered_end = MAX (st->covered_end, dr->time_usec + (gint64) dr->span_sec * AMIGO_USEC_PER_SEC);
}

static void
load_raw_record (const AmigoHistoryRawRecord *rr, const AmigoHistoryDsRecord *dr, gpointer user_data)
{
  LoadState *st = user_data;
  AmigoHistoryDomain *d = st->d;

  if (d->last_time_usec != AMIGO_HISTORY_NONE_MIN && rr->time_usec <= d->last_time_usec)
    return;
  d->last_time_usec = rr->time_usec;
  /* Rebuild the buckets the downsampled files do not have yet: the
   * incomplete one, and any whose record was lost in a crash. */
  if (rr->time_usec >= st->covered_end)
    amigo_history_domain_aggregate (d, st->self->options.step_usec, rr->time_usec, rr->values);
}

/* Files set aside are kept for an administrator for one retention period
 * (from the time in their name), then removed, so they cannot pile up. */
static void
history_expire_quarantined (AmigoHistory *self, int dir_fd, const char *name)
{
  const char *stamp = strstr (name, ".corrupt-") + strlen (".corrupt-");
  char *end = NULL;
  gint64 when = g_ascii_strtoll (stamp, &end, 10);

  if (end == stamp || *end != '\0')
    return;
  if (g_get_real_time () / AMIGO_USEC_PER_SEC - when > self->options.retention_usec / AMIGO_USEC_PER_SEC) {
    g_debug ("history: removing '%s', set aside more than one retention period ago", name);
    unlinkat (dir_fd, name, 0);
  }
}

static void
history_load_domain (AmigoHistory *self, const char *uuid)
{
  g_autoptr(GArray) raw_segs = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) ds_segs = g_array_new (FALSE, FALSE, sizeof (gint64));
  AmigoHistoryDomain *d = amigo_history_domain_new (uuid);
  LoadState st = { self, d, AMIGO_HISTORY_NONE_MIN };
  struct dirent *de;
  DIR *dir;
  int fd;

  d->dir_ok = TRUE;
  history_load_header (self, d);

  fd = openat (self->dir_fd, uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL) {
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_READ_FAILED, "cannot read history directory '%s/%s': %s", self->dir, uuid, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    amigo_history_domain_free (d);
    return;
  }
  while ((de = readdir (dir)) != NULL) {
    gboolean raw;
    gint64 start;
    if (amigo_history_parse_segment_name (de->d_name, &raw, &start))
      g_array_append_val (raw ? raw_segs : ds_segs, start);
    else if (g_str_has_suffix (de->d_name, ".tmp"))
      unlinkat (fd, de->d_name, 0);
    else if (strstr (de->d_name, ".corrupt-") != NULL)
      history_expire_quarantined (self, fd, de->d_name);
  }
  closedir (dir);
  g_array_sort (raw_segs, amigo_history_cmp_time);
  g_array_sort (ds_segs, amigo_history_cmp_time);

  for (guint i = 0; i < ds_segs->len; i++) {
    gint64 seg = g_array_index (ds_segs, gint64, i);
    if (amigo_history_scan_segment (self, uuid, FALSE, seg, i + 1 == ds_segs->len, TRUE, load_ds_record, &st))
      amigo_history_domain_note_segment (d, FALSE, seg);
  }
  for (guint i = 0; i < raw_segs->len; i++) {
    gint64 seg = g_array_index (raw_segs, gint64, i);
    if (amigo_history_scan_segment (self, uuid, TRUE, seg, i + 1 == raw_segs->len, TRUE, load_raw_record, &st))
      amigo_history_domain_note_segment (d, TRUE, seg);
  }

  if (d->oldest_raw_seg == AMIGO_HISTORY_NONE_MAX && d->oldest_ds_seg == AMIGO_HISTORY_NONE_MAX) {
    g_debug ("history: domain directory '%s/%s' holds no data", self->dir, uuid);
    if (!d->header_ok) {
      unlinkat (self->dir_fd, uuid, AT_REMOVEDIR);
      amigo_history_domain_free (d);
      return;
    }
  }
  if (d->last_time_usec != AMIGO_HISTORY_NONE_MIN)
    self->newest_usec = MAX (self->newest_usec, d->last_time_usec);
  g_hash_table_insert (self->domains, d->uuid, d);
}

static gboolean
history_check_options (const AmigoHistoryOptions *o, GError **error)
{
  if (o->step_usec < AMIGO_USEC_PER_SEC || o->step_usec > AMIGO_USEC_PER_DAY ||
      o->step_usec % AMIGO_USEC_PER_SEC != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history step %" G_GINT64_FORMAT " us must be whole seconds between 1 s and 1 day",
                 o->step_usec);
    return FALSE;
  }
  if (o->raw_retention_usec < 0 || o->raw_retention_usec > 31 * AMIGO_USEC_PER_DAY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "raw history retention %" G_GINT64_FORMAT " us must be between 0 and 31 days",
                 o->raw_retention_usec);
    return FALSE;
  }
  if (o->retention_usec < o->step_usec || o->retention_usec > 400 * AMIGO_USEC_PER_DAY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history retention %" G_GINT64_FORMAT " us must be between one step and 400 days",
                 o->retention_usec);
    return FALSE;
  }
  /* 0 (and, for older callers, below it) means the default. */
  if (o->future_bound_usec > 400 * AMIGO_USEC_PER_DAY) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history future bound %" G_GINT64_FORMAT " us must be at most 400 days", o->future_bound_usec);
    return FALSE;
  }
  return TRUE;
}

AmigoHistory *
amigo_history_open (const char *dir, const AmigoHistoryOptions *options, GError **error)
{
  g_autoptr(AmigoHistory) self = g_new0 (AmigoHistory, 1);
  DIR *d;
  struct dirent *de;
  int fd;

  self->dir_fd = -1;
  if (options != NULL)
    self->options = *options;
  else
    amigo_history_options_init (&self->options);
  if (!history_check_options (&self->options, error))
    return NULL;
  if (self->options.max_domains == 0)
    self->options.max_domains = 4096;
  if (self->options.future_bound_usec <= 0)
    self->options.future_bound_usec = 10 * AMIGO_USEC_PER_MIN;

  self->dir = g_strdup (dir != NULL ? dir : AMIGO_STATE_DIR);
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, amigo_history_domain_free);
  self->warnings = g_ptr_array_new_with_free_func (warning_free);
  self->health.ok = TRUE;
  self->write_buf = g_byte_array_sized_new (4096);
  self->newest_usec = AMIGO_HISTORY_NONE_MIN;

  if (g_mkdir_with_parents (self->dir, 0750) < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot create history directory '%s': %s",
                 self->dir, g_strerror (errno));
    return NULL;
  }
  self->dir_fd = open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (self->dir_fd < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot open history directory '%s': %s",
                 self->dir, g_strerror (errno));
    return NULL;
  }
  if (flock (self->dir_fd, LOCK_EX | LOCK_NB) < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                 "history directory '%s' is in use by another process", self->dir);
    return NULL;
  }

  fd = dup (self->dir_fd);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read history directory '%s': %s",
                 self->dir, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    return NULL;
  }
  while ((de = readdir (d)) != NULL) {
    struct stat st;
    if (strlen (de->d_name) != AMIGO_UUID_STRING_LEN || !g_uuid_string_is_valid (de->d_name))
      continue;
    if (fstatat (self->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
      continue;
    if (g_hash_table_size (self->domains) >= self->options.max_domains) {
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_TOO_MANY_DOMAINS, "history directory '%s' holds more than %u domains, ignoring '%s'",
                    self->dir, self->options.max_domains, de->d_name);
      continue;
    }
    history_load_domain (self, de->d_name);
  }
  closedir (d);
  /* No retention here: the caller has not told the wall clock yet (a replay
   * or a test may live in another year); the first flush after
   * amigo_history_set_now() applies it. */
  return g_steal_pointer (&self);
}

void
amigo_history_free (AmigoHistory *self)
{
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return;
  if (self->dir_fd >= 0 && !amigo_history_flush (self, &error))
    g_debug ("history: final flush failed: %s", error->message);
  if (self->dir_fd >= 0)
    close (self->dir_fd);
  g_clear_pointer (&self->domains, g_hash_table_unref);
  g_clear_pointer (&self->warnings, g_ptr_array_unref);
  g_clear_pointer (&self->write_buf, g_byte_array_unref);
  g_free (self->dir);
  g_free (self);
}

AmigoHistoryDomain *
amigo_history_get_domain (AmigoHistory *self, const char *uuid, gboolean create, GError **error)
{
  AmigoHistoryDomain *d = g_hash_table_lookup (self->domains, uuid);

  if (d != NULL || !create)
    return d;
  if (g_hash_table_size (self->domains) >= self->options.max_domains) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                 "the history store already tracks %u domains, not adding '%s'",
                 self->options.max_domains, uuid);
    return NULL;
  }
  d = amigo_history_domain_new (uuid);
  g_hash_table_insert (self->domains, d->uuid, d);
  return d;
}

gboolean
amigo_history_append (AmigoHistory *self,
                      const char *uuid,
                      const char *name,
                      const AmigoSample *sample,
                      GError **error)
{
  char key[AMIGO_UUID_BUFLEN];
  AmigoHistoryDomain *d;
  AmigoHistoryRawRecord r;
  gint64 wall;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!amigo_history_normalize_uuid (uuid, key, error))
    return FALSE;
  if (sample == NULL || sample->time_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "sample of domain '%s' has no valid time", key);
    return FALSE;
  }
  if (name != NULL && !g_utf8_validate (name, -1, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "name of domain '%s' is not UTF-8", key);
    return FALSE;
  }
  d = amigo_history_get_domain (self, key, TRUE, error);
  if (d == NULL)
    return FALSE;
  wall = amigo_history_wall_now (self);
  if (sample->time_usec > wall + self->options.future_bound_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "sample time %" G_GINT64_FORMAT " of domain '%s' is %" G_GINT64_FORMAT
                 " s ahead of the wall clock (at most %" G_GINT64_FORMAT " s allowed)",
                 sample->time_usec, key, (sample->time_usec - wall) / AMIGO_USEC_PER_SEC,
                 self->options.future_bound_usec / AMIGO_USEC_PER_SEC);
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_FUTURE_SAMPLE, "refused a %s", (*error)->message);
    return FALSE;
  }
  if (d->last_time_usec != AMIGO_HISTORY_NONE_MIN && sample->time_usec <= d->last_time_usec) {
    if (d->last_time_usec <= wall) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "sample time %" G_GINT64_FORMAT " of domain '%s' is not after its last sample (%" G_GINT64_FORMAT ")",
                   sample->time_usec, key, d->last_time_usec);
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_OUT_OF_ORDER_SAMPLE, "refused a %s", (*error)->message);
      return FALSE;
    }
    /* The wall clock itself went back before the domain's last sample: a
     * stepped clock, not a confused caller. Refusing would stop recording
     * until the clock caught up (an hour for an hour's step), so the
     * domain's recording continues from here; the samples stamped later
     * stay stored and queries return both, sorted by time. */
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_CLOCK_STEPPED_BACK,
                        "the clock went back %" G_GINT64_FORMAT " s before the last sample of domain '%s'; "
                        "recording continues from the new time",
                        (d->last_time_usec - sample->time_usec) / AMIGO_USEC_PER_SEC, key);
    amigo_history_domain_restart (d, self->options.step_usec);
  }
  if (d->pending_raw->len >= MAX_PENDING) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                 "%u samples of domain '%s' are waiting for amigo_history_flush()", MAX_PENDING, key);
    return FALSE;
  }
  if (name != NULL && g_strcmp0 (name, d->name) != 0) {
    g_free (d->name);
    d->name = g_strdup (name);
    d->header_ok = FALSE;
  }

  r.time_usec = sample->time_usec;
  for (guint i = 0; i < M; i++)
    r.values[i] = amigo_history_to_f32 (sample->values[i]);
  g_array_append_val (d->pending_raw, r);
  amigo_history_domain_aggregate (d, self->options.step_usec, r.time_usec, r.values);
  d->last_time_usec = r.time_usec;
  self->newest_usec = MAX (self->newest_usec, r.time_usec);
  return TRUE;
}

gboolean
amigo_history_flush (AmigoHistory *self, GError **error)
{
  GHashTableIter iter;
  gpointer value;
  gboolean wrote = FALSE;
  GError *first = NULL;
  guint64 lost = 0;

  g_return_val_if_fail (self != NULL, FALSE);

  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    AmigoHistoryDomain *d = value;
    g_autoptr(GError) local = NULL;
    guint domain_lost = 0;

    if (d->header_ok && d->pending_raw->len == 0 && d->pending_ds->len == 0)
      continue;
    wrote = TRUE;
    if (!history_flush_domain (self, d, &domain_lost, &local) && first == NULL)
      first = g_steal_pointer (&local);
    lost += domain_lost;
  }
  if (wrote && self->options.sync && syncfs (self->dir_fd) < 0 && first == NULL)
    g_set_error (&first, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot sync history directory '%s': %s",
                 self->dir, g_strerror (errno));
  if (wrote)
    history_note_health (self, first == NULL, first, lost);
  history_sweep (self);
  if (first != NULL) {
    g_propagate_error (error, first);
    return FALSE;
  }
  return TRUE;
}

GPtrArray *
amigo_history_list_domains (AmigoHistory *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (self != NULL, out);
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (out, g_strdup (key));
  g_ptr_array_sort (out, (GCompareFunc) g_strcmp0);
  return out;
}

GPtrArray *
amigo_history_take_warnings (AmigoHistory *self)
{
  GPtrArray *out;

  g_return_val_if_fail (self != NULL, NULL);
  out = g_steal_pointer (&self->warnings);
  if (self->warnings_dropped > 0) {
    AmigoHistoryWarning *w = g_new0 (AmigoHistoryWarning, 1);
    w->kind = AMIGO_HISTORY_WARNING_DROPPED;
    w->count = self->warnings_dropped;
    w->message = g_strdup_printf ("%u more history warnings were dropped", self->warnings_dropped);
    g_ptr_array_add (out, w);
    self->warnings_dropped = 0;
  }
  self->warnings = g_ptr_array_new_with_free_func (warning_free);
  return out;
}
