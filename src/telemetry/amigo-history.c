/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history.h"
#include "amigo-history-private.h"
#include "amigo-history-summary.h"

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
#define NONE_MIN G_MININT64
#define NONE_MAX G_MAXINT64
#define UUID_LEN 36
#define MAX_PENDING 65536
#define MAX_READ_BYTES (64 * 1024 * 1024)

typedef struct {
  gint64 time_usec;
  float values[M];
} RawRecord;

typedef struct {
  gint64 time_usec;
  guint32 span_sec;
  guint16 count;
  guint16 flags;
  float mean[M];
  float max[M];
} DsRecord;

typedef struct {
  char uuid[UUID_LEN + 1];
  char *name;
  gboolean dir_ok;                /* <uuid>/ exists */
  gboolean header_ok;             /* domain.amh is on disk and current */
  gint64 last_time_usec;          /* newest sample appended, NONE_MIN */
  gint64 bucket_start_usec;       /* incomplete bucket, NONE_MIN if none */
  guint32 bucket_samples;
  double bucket_sum[M];
  double bucket_max[M];
  guint32 bucket_n[M];
  GArray *pending_raw;            /* RawRecord, not yet written */
  GArray *pending_ds;             /* DsRecord, not yet written */
  gint64 oldest_raw_seg;          /* NONE_MAX if none on disk */
  gint64 newest_raw_seg;          /* NONE_MIN if none on disk */
  gint64 oldest_ds_seg;
  gint64 newest_ds_seg;
} HistoryDomain;

struct _AmigoHistory {
  char *dir;
  int dir_fd;
  AmigoHistoryOptions options;
  GHashTable *domains;            /* uuid -> HistoryDomain */
  GPtrArray *warnings;
  guint warnings_dropped;
  gint64 now_usec;                /* newest sample time seen, NONE_MIN */
  GByteArray *write_buf;
};

/* ---- small helpers ------------------------------------------------------ */

static guint32 crc_table[256];

static void
crc_table_init (void)
{
  static gsize inited = 0;

  if (g_once_init_enter (&inited)) {
    for (guint32 i = 0; i < 256; i++) {
      guint32 c = i;
      for (int k = 0; k < 8; k++)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      crc_table[i] = c;
    }
    g_once_init_leave (&inited, 1);
  }
}

guint32
amigo_history_crc32 (guint32 crc, const void *data, gsize len)
{
  const guint8 *p = data;

  crc_table_init ();
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static inline void
put_u16 (guint8 *p, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_u32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_i64 (guint8 *p, gint64 v)
{
  guint64 u = GUINT64_TO_LE ((guint64) v);
  memcpy (p, &u, sizeof u);
}

static inline void
put_f32 (guint8 *p, float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  put_u32 (p, u);
}

static inline guint16
get_u16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
get_u32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline gint64
get_i64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return (gint64) GUINT64_FROM_LE (v);
}

static inline float
get_f32 (const guint8 *p)
{
  guint32 u = get_u32 (p);
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

static inline gint64
floor_div (gint64 a, gint64 b)
{
  gint64 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static inline gint64
align_down (gint64 t, gint64 step)
{
  return floor_div (t, step) * step;
}

static inline float
to_f32 (double v)
{
  return isfinite (v) ? (float) v : NAN;
}

/* Proleptic Gregorian calendar <-> days since 1970-01-01 (UTC). */
static void
civil_from_days (gint64 z, gint64 *ret_y, guint *ret_m, guint *ret_d)
{
  gint64 era, yoe, doe, doy, mp;

  z += 719468;
  era = floor_div (z, 146097);
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *ret_d = (guint) (doy - (153 * mp + 2) / 5 + 1);
  *ret_m = (guint) (mp < 10 ? mp + 3 : mp - 9);
  *ret_y = yoe + era * 400 + (*ret_m <= 2 ? 1 : 0);
}

static gint64
days_from_civil (gint64 y, guint m, guint d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2 ? 1 : 0;
  era = floor_div (y, 400);
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void
amigo_history_segment_name (gboolean raw, gint64 start_usec, char *buf, gsize size)
{
  gint64 days = floor_div (start_usec, AMIGO_USEC_PER_DAY);
  gint64 hour = floor_div (start_usec - days * AMIGO_USEC_PER_DAY, AMIGO_USEC_PER_HOUR);
  gint64 y;
  guint m, d;

  civil_from_days (days, &y, &m, &d);
  if (raw)
    g_snprintf (buf, size, "raw-%04" G_GINT64_FORMAT "%02u%02u%02u.amh", y, m, d, (guint) hour);
  else
    g_snprintf (buf, size, "ds-%04" G_GINT64_FORMAT "%02u%02u.amh", y, m, d);
}

static gboolean
parse_digits (const char *s, guint n, guint *ret)
{
  guint v = 0;
  for (guint i = 0; i < n; i++) {
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
    v = v * 10 + (guint) (s[i] - '0');
  }
  *ret = v;
  return TRUE;
}

gboolean
amigo_history_parse_segment_name (const char *name, gboolean *ret_raw, gint64 *ret_start_usec)
{
  gboolean raw;
  const char *p;
  guint y, m, d, h = 0;
  gint64 start;
  char check[32];

  if (g_str_has_prefix (name, "raw-") && strlen (name) == 18) {
    raw = TRUE;
    p = name + 4;
  } else if (g_str_has_prefix (name, "ds-") && strlen (name) == 15) {
    raw = FALSE;
    p = name + 3;
  } else {
    return FALSE;
  }
  if (!parse_digits (p, 4, &y) || !parse_digits (p + 4, 2, &m) || !parse_digits (p + 6, 2, &d))
    return FALSE;
  if (raw && !parse_digits (p + 8, 2, &h))
    return FALSE;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31 || h > 23)
    return FALSE;
  start = days_from_civil (y, m, d) * AMIGO_USEC_PER_DAY + (gint64) h * AMIGO_USEC_PER_HOUR;
  /* Reject 20230231 and friends: the name must be the canonical one. */
  amigo_history_segment_name (raw, start, check, sizeof check);
  if (strcmp (check, name) != 0)
    return FALSE;
  *ret_raw = raw;
  *ret_start_usec = start;
  return TRUE;
}

static inline gint64
segment_usec (gboolean raw)
{
  return raw ? AMIGO_HISTORY_RAW_SEGMENT_USEC : AMIGO_HISTORY_DS_SEGMENT_USEC;
}

/* How the records of one segment file are laid out: version 1 files hold
 * 8 metrics, version 2 files say how many in their header. */
typedef struct {
  guint16 version;
  guint n_metrics;
  gsize record_size;
} SegmentLayout;

static inline gsize
layout_record_size (gboolean raw, guint n_metrics)
{
  return raw ? AMIGO_HISTORY_RAW_RECORD_SIZE_FOR (n_metrics) : AMIGO_HISTORY_DS_RECORD_SIZE_FOR (n_metrics);
}

static inline gsize
record_size (gboolean raw)
{
  return layout_record_size (raw, M);
}

static inline gboolean
layout_is_current (const SegmentLayout *l)
{
  return l->version == AMIGO_HISTORY_FORMAT_VERSION && l->n_metrics == M;
}

/* ---- record encoding ---------------------------------------------------- */

static void
segment_header_encode (gboolean raw, gint64 start_usec, guint8 *p)
{
  memcpy (p, raw ? "AMGR" : "AMGD", 4);
  put_u16 (p + 4, AMIGO_HISTORY_FORMAT_VERSION);
  put_u16 (p + 6, (guint16) record_size (raw));
  put_i64 (p + 8, start_usec);
  put_i64 (p + 16, start_usec + segment_usec (raw));
  put_u16 (p + 24, M);
  put_u16 (p + 26, 0);
  put_u32 (p + 28, amigo_history_crc32 (0, p, 28));
}

/* Checks a segment header and tells how its records are laid out. */
static gboolean
segment_header_decode (gboolean raw, gint64 start_usec, const guint8 *p, SegmentLayout *ret)
{
  SegmentLayout l = { get_u16 (p + 4), 0, get_u16 (p + 6) };

  if (memcmp (p, raw ? "AMGR" : "AMGD", 4) != 0 ||
      get_i64 (p + 8) != start_usec ||
      get_i64 (p + 16) != start_usec + segment_usec (raw) ||
      get_u32 (p + 28) != amigo_history_crc32 (0, p, 28))
    return FALSE;
  if (l.version == 1)
    l.n_metrics = AMIGO_HISTORY_V1_METRICS;
  else if (l.version == AMIGO_HISTORY_FORMAT_VERSION)
    l.n_metrics = get_u16 (p + 24);
  else
    return FALSE;
  if (l.n_metrics < 1 || l.n_metrics > AMIGO_HISTORY_MAX_METRICS ||
      l.record_size != layout_record_size (raw, l.n_metrics))
    return FALSE;
  *ret = l;
  return TRUE;
}

static void
raw_encode (const RawRecord *r, guint8 *p)
{
  gsize crc_at = AMIGO_HISTORY_RAW_RECORD_SIZE - 4;

  put_i64 (p, r->time_usec);
  for (guint i = 0; i < M; i++)
    put_f32 (p + 8 + 4 * i, r->values[i]);
  put_u32 (p + crc_at, amigo_history_crc32 (0, p, crc_at));
}

/* Metrics the file does not have (written before they existed) read as
 * NAN; metrics the file has beyond ours are skipped. */
static gboolean
raw_decode (const guint8 *p, guint n_metrics, RawRecord *r)
{
  gsize crc_at = AMIGO_HISTORY_RAW_RECORD_SIZE_FOR (n_metrics) - 4;

  if (get_u32 (p + crc_at) != amigo_history_crc32 (0, p, crc_at))
    return FALSE;
  r->time_usec = get_i64 (p);
  for (guint i = 0; i < M; i++)
    r->values[i] = i < n_metrics ? get_f32 (p + 8 + 4 * i) : NAN;
  return TRUE;
}

static void
ds_encode (const DsRecord *r, guint8 *p)
{
  gsize crc_at = AMIGO_HISTORY_DS_RECORD_SIZE - 4;

  put_i64 (p, r->time_usec);
  put_u32 (p + 8, r->span_sec);
  put_u16 (p + 12, r->count);
  put_u16 (p + 14, r->flags);
  for (guint i = 0; i < M; i++) {
    put_f32 (p + 16 + 8 * i, r->mean[i]);
    put_f32 (p + 20 + 8 * i, r->max[i]);
  }
  put_u32 (p + crc_at, amigo_history_crc32 (0, p, crc_at));
}

static gboolean
ds_decode (const guint8 *p, guint n_metrics, DsRecord *r)
{
  gsize crc_at = AMIGO_HISTORY_DS_RECORD_SIZE_FOR (n_metrics) - 4;

  if (get_u32 (p + crc_at) != amigo_history_crc32 (0, p, crc_at))
    return FALSE;
  r->time_usec = get_i64 (p);
  r->span_sec = get_u32 (p + 8);
  r->count = get_u16 (p + 12);
  r->flags = get_u16 (p + 14);
  for (guint i = 0; i < M; i++) {
    r->mean[i] = i < n_metrics ? get_f32 (p + 16 + 8 * i) : NAN;
    r->max[i] = i < n_metrics ? get_f32 (p + 20 + 8 * i) : NAN;
  }
  /* A record must cover a sane, positive span (at most one segment). */
  return r->span_sec > 0 && (gint64) r->span_sec * AMIGO_USEC_PER_SEC <= AMIGO_HISTORY_DS_SEGMENT_USEC;
}

/* Decodes record @p of a segment starting at @seg_start laid out as @l;
 * FALSE if its checksum is wrong or it does not belong in this segment. */
static gboolean
record_decode (gboolean raw, gint64 seg_start, const SegmentLayout *l, const guint8 *p,
               RawRecord *rr, DsRecord *dr)
{
  gint64 t;

  if (raw) {
    if (!raw_decode (p, l->n_metrics, rr))
      return FALSE;
    t = rr->time_usec;
  } else {
    if (!ds_decode (p, l->n_metrics, dr))
      return FALSE;
    t = dr->time_usec;
  }
  return t >= seg_start && t < seg_start + segment_usec (raw);
}

/* ---- domains ------------------------------------------------------------ */

static void
history_domain_free (gpointer data)
{
  HistoryDomain *d = data;

  g_free (d->name);
  g_array_unref (d->pending_raw);
  g_array_unref (d->pending_ds);
  g_free (d);
}

static HistoryDomain *
history_domain_new (const char *uuid)
{
  HistoryDomain *d = g_new0 (HistoryDomain, 1);

  g_strlcpy (d->uuid, uuid, sizeof d->uuid);
  d->last_time_usec = NONE_MIN;
  d->bucket_start_usec = NONE_MIN;
  d->pending_raw = g_array_sized_new (FALSE, FALSE, sizeof (RawRecord), 2);
  d->pending_ds = g_array_sized_new (FALSE, FALSE, sizeof (DsRecord), 1);
  d->oldest_raw_seg = NONE_MAX;
  d->newest_raw_seg = NONE_MIN;
  d->oldest_ds_seg = NONE_MAX;
  d->newest_ds_seg = NONE_MIN;
  return d;
}

static void
domain_note_segment (HistoryDomain *d, gboolean raw, gint64 seg)
{
  if (raw) {
    d->oldest_raw_seg = MIN (d->oldest_raw_seg, seg);
    d->newest_raw_seg = MAX (d->newest_raw_seg, seg);
  } else {
    d->oldest_ds_seg = MIN (d->oldest_ds_seg, seg);
    d->newest_ds_seg = MAX (d->newest_ds_seg, seg);
  }
}

static void
domain_bucket_to_record (const HistoryDomain *d, gint64 step_usec, DsRecord *r)
{
  r->time_usec = d->bucket_start_usec;
  r->span_sec = (guint32) (step_usec / AMIGO_USEC_PER_SEC);
  r->count = (guint16) MIN (d->bucket_samples, G_MAXUINT16);
  r->flags = 0;
  for (guint i = 0; i < M; i++) {
    r->mean[i] = d->bucket_n[i] > 0 ? to_f32 (d->bucket_sum[i] / d->bucket_n[i]) : NAN;
    r->max[i] = d->bucket_n[i] > 0 ? to_f32 (d->bucket_max[i]) : NAN;
  }
}

/* Feeds one sample into the downsampling bucket; a finished bucket becomes a
 * pending downsampled record. */
static void
domain_aggregate (HistoryDomain *d, gint64 step_usec, gint64 time_usec, const float *values)
{
  gint64 b = align_down (time_usec, step_usec);

  if (d->bucket_start_usec != NONE_MIN && b != d->bucket_start_usec) {
    DsRecord r;
    if (b < d->bucket_start_usec)
      return;
    domain_bucket_to_record (d, step_usec, &r);
    g_array_append_val (d->pending_ds, r);
    d->bucket_start_usec = NONE_MIN;
  }
  if (d->bucket_start_usec == NONE_MIN) {
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

/* ---- warnings and quarantine ------------------------------------------- */

static void G_GNUC_PRINTF (2, 3)
history_warn (AmigoHistory *self, const char *format, ...)
{
  va_list args;
  char *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_debug ("%s", msg);
  if (self->warnings->len >= AMIGO_HISTORY_MAX_WARNINGS) {
    self->warnings_dropped++;
    g_free (msg);
    return;
  }
  g_ptr_array_add (self->warnings, msg);
}

/* Sets a damaged file aside as '<file>.corrupt-<unix time>' so that the
 * store carries on without it and an administrator can look at it. */
static void
history_quarantine (AmigoHistory *self, const char *relpath, const char *why)
{
  g_autofree char *aside = g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT,
                                            relpath, g_get_real_time () / AMIGO_USEC_PER_SEC);

  if (renameat (self->dir_fd, relpath, self->dir_fd, aside) < 0) {
    int errsv = errno;
    unlinkat (self->dir_fd, relpath, 0);
    history_warn (self, "history file '%s/%s' is damaged (%s) and could not be set aside (%s), removed it",
                  self->dir, relpath, why, g_strerror (errsv));
    return;
  }
  history_warn (self, "history file '%s/%s' is damaged (%s), set aside as '%s/%s'",
                self->dir, relpath, why, self->dir, aside);
}

/* ---- reading segments --------------------------------------------------- */

/* Reads a whole file below the store directory; FALSE with errno set. */
static gboolean
history_read_file (AmigoHistory *self, const char *relpath, GByteArray *buf)
{
  struct stat st = { 0 };
  int fd = openat (self->dir_fd, relpath, O_RDONLY | O_CLOEXEC);
  gsize done = 0;

  g_byte_array_set_size (buf, 0);
  if (fd < 0)
    return FALSE;
  if (fstat (fd, &st) < 0 || st.st_size > MAX_READ_BYTES) {
    int errsv = errno;
    close (fd);
    errno = st.st_size > MAX_READ_BYTES ? EFBIG : errsv;
    return FALSE;
  }
  g_byte_array_set_size (buf, (guint) st.st_size);
  while (done < (gsize) st.st_size) {
    ssize_t n = read (fd, buf->data + done, st.st_size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      /* Never hand on part of a file as if it were all of it: the caller
       * would take the unread records for a torn tail and cut them. */
      int errsv = errno;
      close (fd);
      g_byte_array_set_size (buf, 0);
      errno = errsv;
      return FALSE;
    }
    if (n == 0)
      break;
    done += n;
  }
  g_byte_array_set_size (buf, (guint) done);
  close (fd);
  return TRUE;
}

typedef void (*RecordFunc) (const RawRecord *rr, const DsRecord *dr, gpointer user_data);

/* Checks one segment and hands its valid records to @func. Recovery rules
 * (docs/history-format.md): a file too short to hold its header holds no
 * data and is removed; an incomplete last record is a torn write and is cut
 * off; trailing bad records are cut off in the newest segment of its kind
 * (the one being written when a crash happened); any other damage sets the
 * file aside. Returns FALSE if the file is gone afterwards. */
static gboolean
history_scan_segment (AmigoHistory *self,
                      const char *uuid,
                      gboolean raw,
                      gint64 seg_start,
                      gboolean newest,
                      gboolean repair,
                      RecordFunc func,
                      gpointer user_data)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  char name[32];
  char relpath[UUID_LEN + 40];
  SegmentLayout layout;
  gsize rs;
  gsize nrec, valid = 0, keep;
  gssize first_bad = -1;
  gboolean good_after_bad = FALSE;
  RawRecord rr;
  DsRecord dr;

  amigo_history_segment_name (raw, seg_start, name, sizeof name);
  g_snprintf (relpath, sizeof relpath, "%s/%s", uuid, name);
  if (!history_read_file (self, relpath, buf)) {
    if (errno != ENOENT)
      history_warn (self, "cannot read history file '%s/%s': %s", self->dir, relpath, g_strerror (errno));
    return FALSE;
  }
  if (buf->len < AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    g_debug ("history file '%s/%s' holds no complete header (%u bytes), removing it", self->dir, relpath, buf->len);
    unlinkat (self->dir_fd, relpath, 0);
    return FALSE;
  }
  if (!segment_header_decode (raw, seg_start, buf->data, &layout)) {
    history_quarantine (self, relpath, "bad segment header");
    return FALSE;
  }
  rs = layout.record_size;

  nrec = (buf->len - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) / rs;
  for (gsize i = 0; i < nrec; i++) {
    const guint8 *p = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * rs;
    if (record_decode (raw, seg_start, &layout, p, &rr, &dr)) {
      if (first_bad >= 0) {
        good_after_bad = TRUE;
        break;
      }
      valid = i + 1;
    } else if (first_bad < 0) {
      first_bad = (gssize) i;
    }
  }
  if (good_after_bad || (first_bad >= 0 && !newest)) {
    g_autofree char *why = g_strdup_printf ("bad checksum in record %" G_GSSIZE_FORMAT, first_bad);
    history_quarantine (self, relpath, why);
    return FALSE;
  }

  keep = AMIGO_HISTORY_SEGMENT_HEADER_SIZE + valid * rs;
  if (keep != buf->len && repair) {
    int fd = openat (self->dir_fd, relpath, O_WRONLY | O_CLOEXEC);
    g_debug ("history file '%s/%s': cutting a torn tail of %" G_GSIZE_FORMAT " bytes",
             self->dir, relpath, (gsize) buf->len - keep);
    if (fd < 0 || ftruncate (fd, (off_t) keep) < 0)
      history_warn (self, "cannot cut the torn tail of history file '%s/%s': %s",
                    self->dir, relpath, g_strerror (errno));
    if (fd >= 0)
      close (fd);
  }

  for (gsize i = 0; i < valid && func != NULL; i++) {
    const guint8 *p = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * rs;
    record_decode (raw, seg_start, &layout, p, &rr, &dr);
    func (&rr, &dr, user_data);
  }
  return TRUE;
}

/* ---- writing ------------------------------------------------------------ */

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      return FALSE;
    }
    data += n;
    len -= n;
  }
  return TRUE;
}

static gboolean history_write_header (AmigoHistory *self, HistoryDomain *d, GError **error);

/* Rewrites a segment written with another layout (an older format, fewer
 * metrics) in the current one, so that new records can be appended to it:
 * the records that check out, re-encoded, in a new file renamed over the
 * old one. Metrics the old file lacks become NAN. */
static gboolean
history_upgrade_segment (AmigoHistory *self, const char *relpath, gboolean raw, gint64 seg_start,
                         const SegmentLayout *old, GError **error)
{
  g_autoptr(GByteArray) in = g_byte_array_new ();
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", relpath);
  gsize nrec, rs = record_size (raw);
  RawRecord rr;
  DsRecord dr;
  int fd;

  if (!history_read_file (self, relpath, in)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read history file '%s/%s': %s",
                 self->dir, relpath, g_strerror (errno));
    return FALSE;
  }
  g_byte_array_set_size (out, AMIGO_HISTORY_SEGMENT_HEADER_SIZE);
  segment_header_encode (raw, seg_start, out->data);
  nrec = (in->len - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) / old->record_size;
  for (gsize i = 0; i < nrec; i++) {
    const guint8 *p = in->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * old->record_size;
    guint off = out->len;
    if (!record_decode (raw, seg_start, old, p, &rr, &dr))
      continue;
    g_byte_array_set_size (out, off + (guint) rs);
    if (raw)
      raw_encode (&rr, out->data + off);
    else
      ds_encode (&dr, out->data + off);
  }
  fd = openat (self->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0 || !write_all (fd, out->data, out->len) || renameat (self->dir_fd, tmp, self->dir_fd, relpath) < 0) {
    int errsv = errno;
    if (fd >= 0)
      close (fd);
    unlinkat (self->dir_fd, tmp, 0);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot rewrite history file '%s/%s' in format %d: %s",
                 self->dir, relpath, AMIGO_HISTORY_FORMAT_VERSION, g_strerror (errsv));
    return FALSE;
  }
  close (fd);
  g_debug ("history: rewrote '%s/%s' from format %u (%u metrics) to format %d (%u metrics)",
           self->dir, relpath, old->version, old->n_metrics, AMIGO_HISTORY_FORMAT_VERSION, (guint) M);
  return TRUE;
}

/* Appends the records in self->write_buf (after a reserved header area) to
 * one segment, creating it with its header in the same write if needed. */
static gboolean
history_append_segment (AmigoHistory *self, HistoryDomain *d, gboolean raw, gint64 seg_start, GError **error)
{
  char name[32];
  char relpath[UUID_LEN + 40];
  GByteArray *buf = self->write_buf;
  gsize rs = record_size (raw);
  struct stat st;
  off_t size;
  const guint8 *data = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE;
  gsize len = buf->len - AMIGO_HISTORY_SEGMENT_HEADER_SIZE;
  int fd;

  amigo_history_segment_name (raw, seg_start, name, sizeof name);
  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, name);
  fd = openat (self->dir_fd, relpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0 && errno == ENOENT) {
    /* The domain directory went away under us (removed by hand): recreate
     * it with its header and carry on. */
    d->dir_ok = FALSE;
    d->header_ok = FALSE;
    if (history_write_header (self, d, NULL))
      fd = openat (self->dir_fd, relpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  }
  if (fd < 0 || fstat (fd, &st) < 0) {
    int errsv = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot open history file '%s/%s': %s",
                 self->dir, relpath, g_strerror (errsv));
    return FALSE;
  }
  size = st.st_size;
  if (size >= AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    guint8 h[AMIGO_HISTORY_SEGMENT_HEADER_SIZE];
    SegmentLayout layout;

    if (pread (fd, h, sizeof h, 0) == (ssize_t) sizeof h &&
        segment_header_decode (raw, seg_start, h, &layout) && !layout_is_current (&layout)) {
      close (fd);
      if (!history_upgrade_segment (self, relpath, raw, seg_start, &layout, error))
        return FALSE;
      fd = openat (self->dir_fd, relpath, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &st) < 0) {
        int errsv = errno;
        if (fd >= 0)
          close (fd);
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot open history file '%s/%s': %s",
                     self->dir, relpath, g_strerror (errsv));
        return FALSE;
      }
      size = st.st_size;
    }
  }
  if (size < AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    /* New (or torn while being created): header and records in one write. */
    if (size > 0 && ftruncate (fd, 0) == 0)
      size = 0;
    segment_header_encode (raw, seg_start, buf->data);
    data = buf->data;
    len = buf->len;
  } else if ((size - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) % rs != 0) {
    off_t keep = size - (size - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) % rs;
    if (ftruncate (fd, keep) == 0)
      size = keep;
  }
  if (!write_all (fd, data, len)) {
    int errsv = errno;
    /* Never leave a partial record in front of later appends. */
    if (ftruncate (fd, size) < 0)
      g_debug ("cannot cut back '%s': %s", relpath, g_strerror (errno));
    close (fd);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write history file '%s/%s': %s",
                 self->dir, relpath, g_strerror (errsv));
    return FALSE;
  }
  close (fd);
  domain_note_segment (d, raw, seg_start);
  return TRUE;
}

static gboolean
history_write_header (AmigoHistory *self, HistoryDomain *d, GError **error)
{
  guint8 h[AMIGO_HISTORY_DOMAIN_HEADER_SIZE] = { 0 };
  char tmp[UUID_LEN + 40];
  char relpath[UUID_LEN + 40];
  gsize name_len = 0;
  int fd;

  if (!d->dir_ok) {
    if (mkdirat (self->dir_fd, d->uuid, 0750) < 0 && errno != EEXIST) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot create history directory '%s/%s': %s",
                   self->dir, d->uuid, g_strerror (errno));
      return FALSE;
    }
    d->dir_ok = TRUE;
  }

  memcpy (h, "AMGH", 4);
  put_u16 (h + 4, AMIGO_HISTORY_FORMAT_VERSION);
  put_u16 (h + 6, AMIGO_HISTORY_DOMAIN_HEADER_SIZE);
  put_i64 (h + 8, self->options.step_usec);
  memcpy (h + 16, d->uuid, UUID_LEN);
  if (d->name != NULL) {
    const char *end = d->name;
    /* Cut at a character boundary. */
    while (*end != '\0') {
      const char *next = g_utf8_next_char (end);
      if ((gsize) (next - d->name) > AMIGO_HISTORY_NAME_MAX)
        break;
      end = next;
    }
    name_len = end - d->name;
    memcpy (h + 58, d->name, name_len);
  }
  put_u16 (h + 56, (guint16) name_len);
  put_u32 (h + 252, amigo_history_crc32 (0, h, 252));

  g_snprintf (tmp, sizeof tmp, "%s/%s.tmp", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  fd = openat (self->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0 || !write_all (fd, h, sizeof h)) {
    int errsv = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write history file '%s/%s': %s",
                 self->dir, tmp, g_strerror (errsv));
    return FALSE;
  }
  close (fd);
  if (renameat (self->dir_fd, tmp, self->dir_fd, relpath) < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot rename history file '%s/%s': %s",
                 self->dir, tmp, g_strerror (errno));
    return FALSE;
  }
  d->header_ok = TRUE;
  return TRUE;
}

/* Writes the pending records of one domain; on failure they are dropped
 * (the error names the file). */
static gboolean
history_flush_domain (AmigoHistory *self, HistoryDomain *d, GError **error)
{
  gboolean ok = TRUE;

  if (!d->header_ok && !history_write_header (self, d, error))
    ok = FALSE;

  for (int pass = 0; pass < 2 && ok; pass++) {
    gboolean raw = pass == 0;
    GArray *pending = raw ? d->pending_raw : d->pending_ds;
    guint i = 0;

    while (i < pending->len && ok) {
      gint64 t0 = raw ? g_array_index (pending, RawRecord, i).time_usec
                      : g_array_index (pending, DsRecord, i).time_usec;
      gint64 seg = align_down (t0, segment_usec (raw));
      gsize rs = record_size (raw);

      g_byte_array_set_size (self->write_buf, AMIGO_HISTORY_SEGMENT_HEADER_SIZE);
      for (; i < pending->len; i++) {
        gint64 t = raw ? g_array_index (pending, RawRecord, i).time_usec
                       : g_array_index (pending, DsRecord, i).time_usec;
        guint off = self->write_buf->len;
        if (align_down (t, segment_usec (raw)) != seg)
          break;
        g_byte_array_set_size (self->write_buf, off + (guint) rs);
        if (raw)
          raw_encode (&g_array_index (pending, RawRecord, i), self->write_buf->data + off);
        else
          ds_encode (&g_array_index (pending, DsRecord, i), self->write_buf->data + off);
      }
      ok = history_append_segment (self, d, raw, seg, error);
    }
  }
  g_array_set_size (d->pending_raw, 0);
  g_array_set_size (d->pending_ds, 0);
  return ok;
}

/* ---- retention ---------------------------------------------------------- */

static void
history_remove_segment (AmigoHistory *self, HistoryDomain *d, gboolean raw, gint64 seg)
{
  char name[32];
  char relpath[UUID_LEN + 40];

  amigo_history_segment_name (raw, seg, name, sizeof name);
  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, name);
  if (unlinkat (self->dir_fd, relpath, 0) == 0)
    g_debug ("history: retention removed '%s/%s'", self->dir, relpath);
}

static void
history_expire (AmigoHistory *self, HistoryDomain *d, gboolean raw, gint64 limit)
{
  gint64 *oldest = raw ? &d->oldest_raw_seg : &d->oldest_ds_seg;
  gint64 *newest = raw ? &d->newest_raw_seg : &d->newest_ds_seg;
  gint64 span = segment_usec (raw);

  while (*oldest != NONE_MAX && *oldest + span <= limit) {
    history_remove_segment (self, d, raw, *oldest);
    if (*oldest >= *newest) {
      *oldest = NONE_MAX;
      *newest = NONE_MIN;
    } else {
      *oldest += span;
    }
  }
}

/* Deletes whole segments past their retention, relative to the newest
 * sample time seen (not the wall clock). A domain left with nothing is
 * forgotten. */
static void
history_sweep (AmigoHistory *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 raw_limit, ds_limit;

  if (self->now_usec == NONE_MIN)
    return;
  raw_limit = self->now_usec - self->options.raw_retention_usec;
  ds_limit = self->now_usec - self->options.retention_usec;

  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    HistoryDomain *d = value;
    char relpath[UUID_LEN + 40];

    history_expire (self, d, TRUE, raw_limit);
    history_expire (self, d, FALSE, ds_limit);
    if (d->oldest_raw_seg != NONE_MAX || d->oldest_ds_seg != NONE_MAX ||
        d->pending_raw->len > 0 || d->pending_ds->len > 0 ||
        (d->last_time_usec != NONE_MIN && d->last_time_usec >= ds_limit))
      continue;
    g_debug ("history: domain '%s' has no data left, forgetting it", d->uuid);
    g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
    unlinkat (self->dir_fd, relpath, 0);
    unlinkat (self->dir_fd, d->uuid, AT_REMOVEDIR);
    g_hash_table_iter_remove (&iter);
  }
}

/* ---- open --------------------------------------------------------------- */

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
}

static gboolean
normalize_uuid (const char *uuid, char out[UUID_LEN + 1], GError **error)
{
  if (uuid == NULL || !g_uuid_string_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "'%s' is not a domain UUID",
                 uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  for (guint i = 0; i < UUID_LEN; i++)
    out[i] = g_ascii_tolower (uuid[i]);
  out[UUID_LEN] = '\0';
  return TRUE;
}

static void
history_load_header (AmigoHistory *self, HistoryDomain *d)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  char relpath[UUID_LEN + 40];
  const guint8 *h;
  guint16 name_len;

  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  if (!history_read_file (self, relpath, buf)) {
    if (errno != ENOENT)
      history_warn (self, "cannot read history file '%s/%s': %s", self->dir, relpath, g_strerror (errno));
    return;
  }
  h = buf->data;
  if (buf->len != AMIGO_HISTORY_DOMAIN_HEADER_SIZE || memcmp (h, "AMGH", 4) != 0 ||
      get_u32 (h + 252) != amigo_history_crc32 (0, h, 252)) {
    history_quarantine (self, relpath, "bad domain header");
    return;
  }
  /* The domain header is the same in both versions. */
  if (get_u16 (h + 4) != 1 && get_u16 (h + 4) != AMIGO_HISTORY_FORMAT_VERSION) {
    history_quarantine (self, relpath, "unsupported format version");
    return;
  }
  if (memcmp (h + 16, d->uuid, UUID_LEN) != 0) {
    history_quarantine (self, relpath, "header names another domain");
    return;
  }
  name_len = get_u16 (h + 56);
  if (name_len > AMIGO_HISTORY_NAME_MAX || !g_utf8_validate ((const char *) h + 58, name_len, NULL)) {
    history_quarantine (self, relpath, "bad domain name");
    return;
  }
  if (name_len > 0)
    d->name = g_strndup ((const char *) h + 58, name_len);
  d->header_ok = TRUE;
}

typedef struct {
  AmigoHistory *self;
  HistoryDomain *d;
  gint64 covered_end;            /* end of the newest downsampled record */
} LoadState;

static void
load_ds_record (const RawRecord *rr, const DsRecord *dr, gpointer user_data)
{
  LoadState *st = user_data;
  st->covered_end = MAX (st->covered_end, dr->time_usec + (gint64) dr->span_sec * AMIGO_USEC_PER_SEC);
}

static void
load_raw_record (const RawRecord *rr, const DsRecord *dr, gpointer user_data)
{
  LoadState *st = user_data;
  HistoryDomain *d = st->d;

  if (d->last_time_usec != NONE_MIN && rr->time_usec <= d->last_time_usec)
    return;
  d->last_time_usec = rr->time_usec;
  /* Rebuild the buckets the downsampled files do not have yet: the
   * incomplete one, and any whose record was lost in a crash. */
  if (rr->time_usec >= st->covered_end)
    domain_aggregate (d, st->self->options.step_usec, rr->time_usec, rr->values);
}

static gint
cmp_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
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
  HistoryDomain *d = history_domain_new (uuid);
  LoadState st = { self, d, NONE_MIN };
  struct dirent *de;
  DIR *dir;
  int fd;

  d->dir_ok = TRUE;
  history_load_header (self, d);

  fd = openat (self->dir_fd, uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL) {
    history_warn (self, "cannot read history directory '%s/%s': %s", self->dir, uuid, g_strerror (errno));
    if (fd >= 0)
      close (fd);
    history_domain_free (d);
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
  g_array_sort (raw_segs, cmp_gint64);
  g_array_sort (ds_segs, cmp_gint64);

  for (guint i = 0; i < ds_segs->len; i++) {
    gint64 seg = g_array_index (ds_segs, gint64, i);
    if (history_scan_segment (self, uuid, FALSE, seg, i + 1 == ds_segs->len, TRUE, load_ds_record, &st))
      domain_note_segment (d, FALSE, seg);
  }
  for (guint i = 0; i < raw_segs->len; i++) {
    gint64 seg = g_array_index (raw_segs, gint64, i);
    if (history_scan_segment (self, uuid, TRUE, seg, i + 1 == raw_segs->len, TRUE, load_raw_record, &st))
      domain_note_segment (d, TRUE, seg);
  }

  if (d->oldest_raw_seg == NONE_MAX && d->oldest_ds_seg == NONE_MAX) {
    g_debug ("history: domain directory '%s/%s' holds no data", self->dir, uuid);
    if (!d->header_ok) {
      unlinkat (self->dir_fd, uuid, AT_REMOVEDIR);
      history_domain_free (d);
      return;
    }
  }
  if (d->last_time_usec != NONE_MIN)
    self->now_usec = MAX (self->now_usec, d->last_time_usec);
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

  self->dir = g_strdup (dir != NULL ? dir : AMIGO_STATE_DIR);
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, history_domain_free);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  self->write_buf = g_byte_array_sized_new (4096);
  self->now_usec = NONE_MIN;

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
    if (strlen (de->d_name) != UUID_LEN || !g_uuid_string_is_valid (de->d_name))
      continue;
    if (fstatat (self->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
      continue;
    if (g_hash_table_size (self->domains) >= self->options.max_domains) {
      history_warn (self, "history directory '%s' holds more than %u domains, ignoring '%s'",
                    self->dir, self->options.max_domains, de->d_name);
      continue;
    }
    history_load_domain (self, de->d_name);
  }
  closedir (d);
  history_sweep (self);
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

/* ---- append / flush ----------------------------------------------------- */

static HistoryDomain *
history_get_domain (AmigoHistory *self, const char *uuid, gboolean create, GError **error)
{
  HistoryDomain *d = g_hash_table_lookup (self->domains, uuid);

  if (d != NULL || !create)
    return d;
  if (g_hash_table_size (self->domains) >= self->options.max_domains) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                 "the history store already tracks %u domains, not adding '%s'",
                 self->options.max_domains, uuid);
    return NULL;
  }
  d = history_domain_new (uuid);
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
  char key[UUID_LEN + 1];
  HistoryDomain *d;
  RawRecord r;

  g_return_val_if_fail (self != NULL, FALSE);
  if (!normalize_uuid (uuid, key, error))
    return FALSE;
  if (sample == NULL || sample->time_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "sample of domain '%s' has no valid time", key);
    return FALSE;
  }
  if (name != NULL && !g_utf8_validate (name, -1, NULL)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "name of domain '%s' is not UTF-8", key);
    return FALSE;
  }
  d = history_get_domain (self, key, TRUE, error);
  if (d == NULL)
    return FALSE;
  if (d->last_time_usec != NONE_MIN && sample->time_usec <= d->last_time_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "sample time %" G_GINT64_FORMAT " of domain '%s' is not after its last sample (%" G_GINT64_FORMAT ")",
                 sample->time_usec, key, d->last_time_usec);
    return FALSE;
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
    r.values[i] = to_f32 (sample->values[i]);
  g_array_append_val (d->pending_raw, r);
  domain_aggregate (d, self->options.step_usec, r.time_usec, r.values);
  d->last_time_usec = r.time_usec;
  self->now_usec = MAX (self->now_usec, r.time_usec);
  return TRUE;
}

gboolean
amigo_history_flush (AmigoHistory *self, GError **error)
{
  GHashTableIter iter;
  gpointer value;
  gboolean wrote = FALSE;
  GError *first = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    HistoryDomain *d = value;
    g_autoptr(GError) local = NULL;

    if (d->header_ok && d->pending_raw->len == 0 && d->pending_ds->len == 0)
      continue;
    wrote = TRUE;
    if (!history_flush_domain (self, d, &local) && first == NULL)
      first = g_steal_pointer (&local);
  }
  if (wrote && self->options.sync && syncfs (self->dir_fd) < 0 && first == NULL)
    g_set_error (&first, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot sync history directory '%s': %s",
                 self->dir, g_strerror (errno));
  history_sweep (self);
  if (first != NULL) {
    g_propagate_error (error, first);
    return FALSE;
  }
  return TRUE;
}

/* ---- queries ------------------------------------------------------------ */

static HistoryDomain *
history_lookup (AmigoHistory *self, const char *uuid, GError **error)
{
  char key[UUID_LEN + 1];
  HistoryDomain *d;

  if (!normalize_uuid (uuid, key, error))
    return NULL;
  d = g_hash_table_lookup (self->domains, key);
  if (d == NULL)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no history for domain '%s'", key);
  return d;
}

typedef struct {
  GArray *out;
  gint64 from, to;
} CollectState;

static void
collect_raw_record (const RawRecord *rr, const DsRecord *dr, gpointer user_data)
{
  CollectState *st = user_data;
  if (rr->time_usec >= st->from && rr->time_usec <= st->to)
    g_array_append_val (st->out, *rr);
}

static void
collect_ds_record (const RawRecord *rr, const DsRecord *dr, gpointer user_data)
{
  CollectState *st = user_data;
  gint64 end = dr->time_usec + (gint64) dr->span_sec * AMIGO_USEC_PER_SEC;
  if (end > st->from && dr->time_usec <= st->to)
    g_array_append_val (st->out, *dr);
}

static gint
cmp_record_time (gconstpointer a, gconstpointer b)
{
  /* Both record types start with their time. */
  return cmp_gint64 (a, b);
}

/* Raw records of @d with a time in [@from, @to], sorted. */
static GArray *
history_collect_raw (AmigoHistory *self, HistoryDomain *d, gint64 from, gint64 to)
{
  CollectState st = { g_array_new (FALSE, FALSE, sizeof (RawRecord)), from, to };
  gint64 first = MAX (align_down (from, AMIGO_HISTORY_RAW_SEGMENT_USEC), d->oldest_raw_seg);
  gint64 last = MIN (align_down (to, AMIGO_HISTORY_RAW_SEGMENT_USEC), d->newest_raw_seg);

  for (gint64 seg = first; seg <= last && d->oldest_raw_seg != NONE_MAX; seg += AMIGO_HISTORY_RAW_SEGMENT_USEC)
    history_scan_segment (self, d->uuid, TRUE, seg, seg == d->newest_raw_seg, FALSE, collect_raw_record, &st);
  for (guint i = 0; i < d->pending_raw->len; i++)
    collect_raw_record (&g_array_index (d->pending_raw, RawRecord, i), NULL, &st);
  g_array_sort (st.out, cmp_record_time);
  return st.out;
}

/* Downsampled records of @d overlapping [@from, @to] (stored, pending and the
 * incomplete bucket), sorted by time, one per start time. */
static GArray *
history_collect_ds (AmigoHistory *self, HistoryDomain *d, gint64 from, gint64 to)
{
  CollectState st = { g_array_new (FALSE, FALSE, sizeof (DsRecord)), from, to };
  gint64 first = MAX (align_down (from, AMIGO_HISTORY_DS_SEGMENT_USEC) - AMIGO_HISTORY_DS_SEGMENT_USEC,
                      d->oldest_ds_seg);
  gint64 last = MIN (align_down (to, AMIGO_HISTORY_DS_SEGMENT_USEC), d->newest_ds_seg);
  guint j = 0;

  for (gint64 seg = first; seg <= last && d->oldest_ds_seg != NONE_MAX; seg += AMIGO_HISTORY_DS_SEGMENT_USEC)
    history_scan_segment (self, d->uuid, FALSE, seg, seg == d->newest_ds_seg, FALSE, collect_ds_record, &st);
  for (guint i = 0; i < d->pending_ds->len; i++)
    collect_ds_record (NULL, &g_array_index (d->pending_ds, DsRecord, i), &st);
  if (d->bucket_start_usec != NONE_MIN) {
    DsRecord r;
    domain_bucket_to_record (d, self->options.step_usec, &r);
    collect_ds_record (NULL, &r, &st);
  }
  g_array_sort (st.out, cmp_record_time);
  for (guint i = 0; i < st.out->len; i++) {
    if (j > 0 && g_array_index (st.out, DsRecord, i).time_usec == g_array_index (st.out, DsRecord, j - 1).time_usec)
      continue;
    if (i != j)
      g_array_index (st.out, DsRecord, j) = g_array_index (st.out, DsRecord, i);
    j++;
  }
  g_array_set_size (st.out, j);
  return st.out;
}

static gboolean
check_range (AmigoMetric metric, gint64 from_usec, gint64 to_usec, GError **error)
{
  if ((guint) metric >= AMIGO_METRIC_LAST) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "unknown metric %d", (int) metric);
    return FALSE;
  }
  if (from_usec < 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history range starts at %" G_GINT64_FORMAT " us, before the epoch", from_usec);
    return FALSE;
  }
  if (from_usec > to_usec) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "history range starts at %" G_GINT64_FORMAT " us, after its end %" G_GINT64_FORMAT " us",
                 from_usec, to_usec);
    return FALSE;
  }
  return TRUE;
}

GArray *
amigo_history_query (AmigoHistory *self,
                     const char *uuid,
                     AmigoMetric metric,
                     gint64 from_usec,
                     gint64 to_usec,
                     GError **error)
{
  GArray *points;
  HistoryDomain *d;

  g_return_val_if_fail (self != NULL, NULL);
  if (!check_range (metric, from_usec, to_usec, error))
    return NULL;
  d = history_lookup (self, uuid, error);
  if (d == NULL)
    return NULL;

  points = g_array_new (FALSE, FALSE, sizeof (AmigoHistoryPoint));
  if (self->now_usec != NONE_MIN && from_usec >= self->now_usec - self->options.raw_retention_usec) {
    g_autoptr(GArray) recs = history_collect_raw (self, d, from_usec, to_usec);
    for (guint i = 0; i < recs->len; i++) {
      const RawRecord *r = &g_array_index (recs, RawRecord, i);
      AmigoHistoryPoint p = { r->time_usec, r->values[metric], r->values[metric] };
      if (i > 0 && r->time_usec == g_array_index (recs, RawRecord, i - 1).time_usec)
        continue;
      g_array_append_val (points, p);
    }
  } else {
    g_autoptr(GArray) recs = history_collect_ds (self, d, from_usec, to_usec);
    for (guint i = 0; i < recs->len; i++) {
      const DsRecord *r = &g_array_index (recs, DsRecord, i);
      AmigoHistoryPoint p = { r->time_usec, r->mean[metric], r->max[metric] };
      if (r->time_usec < from_usec)
        continue;
      g_array_append_val (points, p);
    }
  }
  return points;
}

/* Resamples downsampled records onto @n bins of @step from @start: per
 * metric, the overlap-weighted mean of means and the max of maxima. @mean
 * and @max hold n * M values (bin-major: [bin * M + metric]). */
static void
history_resample (GArray *recs, gint64 start, gint64 step, guint n, double *mean, double *max)
{
  g_autofree double *weight = g_new0 (double, (gsize) n * M);

  for (gsize i = 0; i < (gsize) n * M; i++) {
    mean[i] = 0;
    max[i] = NAN;
  }
  for (guint k = 0; k < recs->len; k++) {
    const DsRecord *r = &g_array_index (recs, DsRecord, k);
    gint64 t0 = r->time_usec;
    gint64 t1 = t0 + (gint64) r->span_sec * AMIGO_USEC_PER_SEC;
    gint64 b0 = MAX (floor_div (t0 - start, step), 0);
    gint64 b1 = MIN (floor_div (t1 - 1 - start, step), (gint64) n - 1);

    for (gint64 b = b0; b <= b1; b++) {
      gint64 lo = MAX (t0, start + b * step);
      gint64 hi = MIN (t1, start + (b + 1) * step);
      double w = (double) (hi - lo);
      if (w <= 0)
        continue;
      for (guint m = 0; m < M; m++) {
        gsize idx = (gsize) b * M + m;
        if (!isnan (r->mean[m])) {
          mean[idx] += w * r->mean[m];
          weight[idx] += w;
        }
        if (!isnan (r->max[m]))
          max[idx] = isnan (max[idx]) ? r->max[m] : MAX (max[idx], r->max[m]);
      }
    }
  }
  for (gsize i = 0; i < (gsize) n * M; i++)
    mean[i] = weight[i] > 0 ? mean[i] / weight[i] : NAN;
}

gboolean
amigo_history_series (AmigoHistory *self,
                      const char *uuid,
                      AmigoMetric metric,
                      gint64 step_usec,
                      gint64 from_usec,
                      gint64 to_usec,
                      gboolean use_max,
                      GArray **ret_values,
                      gint64 *ret_start_usec,
                      GError **error)
{
  g_autoptr(GArray) recs = NULL;
  g_autofree double *mean = NULL;
  g_autofree double *max = NULL;
  GArray *values;
  HistoryDomain *d;
  gint64 start, nbins;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (ret_values != NULL, FALSE);
  if (!check_range (metric, from_usec, to_usec, error))
    return FALSE;
  if (step_usec <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series step %" G_GINT64_FORMAT " us must be positive", step_usec);
    return FALSE;
  }
  start = align_down (from_usec, step_usec);
  nbins = (to_usec - start) / step_usec + 1;
  if (nbins <= 0 || nbins > AMIGO_HISTORY_MAX_SERIES_BINS) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "series of %" G_GINT64_FORMAT " steps is longer than the limit of %d",
                 nbins, AMIGO_HISTORY_MAX_SERIES_BINS);
    return FALSE;
  }
  d = history_lookup (self, uuid, error);
  if (d == NULL)
    return FALSE;

  recs = history_collect_ds (self, d, start, start + nbins * step_usec - 1);
  mean = g_new (double, (gsize) nbins * M);
  max = g_new (double, (gsize) nbins * M);
  history_resample (recs, start, step_usec, (guint) nbins, mean, max);

  values = g_array_sized_new (FALSE, FALSE, sizeof (double), (guint) nbins);
  for (gint64 b = 0; b < nbins; b++) {
    double v = use_max ? max[b * M + metric] : mean[b * M + metric];
    g_array_append_val (values, v);
  }
  *ret_values = values;
  if (ret_start_usec != NULL)
    *ret_start_usec = start;
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
    g_ptr_array_add (out, g_strdup_printf ("%u more history warnings were dropped", self->warnings_dropped));
    self->warnings_dropped = 0;
  }
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  return out;
}

/* ---- summary ------------------------------------------------------------ */

/* Private accessors for amigo-history-summary.c. */

gboolean
amigo_history_summary_source (AmigoHistory *self,
                              const char *uuid,
                              AmigoHistorySummarySource *ret,
                              GError **error)
{
  HistoryDomain *d = history_lookup (self, uuid, error);

  if (d == NULL)
    return FALSE;
  ret->uuid = d->uuid;
  ret->name = d->name;
  ret->step_usec = self->options.step_usec;
  ret->retention_usec = self->options.retention_usec;
  ret->last_time_usec = d->last_time_usec != NONE_MIN ? d->last_time_usec : self->now_usec;
  if (ret->last_time_usec == NONE_MIN) {
    /* Only imported data: end at its newest record. */
    g_autoptr(GArray) recs = history_collect_ds (self, d, 0, G_MAXINT64 / 2);
    ret->last_time_usec = 0;
    if (recs->len > 0) {
      const DsRecord *r = &g_array_index (recs, DsRecord, recs->len - 1);
      ret->last_time_usec = r->time_usec + (gint64) r->span_sec * AMIGO_USEC_PER_SEC - 1;
    }
  }
  return TRUE;
}

void
amigo_history_summary_resample (AmigoHistory *self,
                                const char *uuid,
                                gint64 start,
                                gint64 step,
                                guint n,
                                double *mean,
                                double *max)
{
  HistoryDomain *d = g_hash_table_lookup (self->domains, uuid);
  g_autoptr(GArray) recs = NULL;

  if (d == NULL || n == 0) {
    for (gsize i = 0; i < (gsize) n * M; i++)
      mean[i] = max[i] = NAN;
    return;
  }
  recs = history_collect_ds (self, d, start, start + (gint64) n * step - 1);
  history_resample (recs, start, step, n, mean, max);
}

gboolean
amigo_history_summary_merge (AmigoHistory *self,
                             const char *uuid,
                             const char *name,
                             const AmigoHistorySummarySeries *series,
                             guint n_series,
                             guint *ret_imported,
                             GError **error)
{
  g_autoptr(GArray) have = NULL;
  HistoryDomain *d;
  gint64 lo = G_MAXINT64, hi = G_MININT64, oldest_ok;
  guint imported = 0;
  char key[UUID_LEN + 1];

  if (!normalize_uuid (uuid, key, error))
    return FALSE;
  if (ret_imported != NULL)
    *ret_imported = 0;
  if (n_series == 0)
    return TRUE;
  for (guint s = 0; s < n_series; s++) {
    lo = MIN (lo, series[s].start_usec);
    hi = MAX (hi, series[s].start_usec + (gint64) series[s].n * series[s].step_usec);
  }
  d = history_get_domain (self, key, TRUE, error);
  if (d == NULL)
    return FALSE;
  if (d->name == NULL && name != NULL && *name != '\0' && g_utf8_validate (name, -1, NULL)) {
    d->name = g_strdup (name);
    d->header_ok = FALSE;
  }
  /* Existing intervals, to never overwrite (or double) a point. */
  have = history_collect_ds (self, d, lo, hi);
  oldest_ok = (self->now_usec != NONE_MIN ? self->now_usec : hi) - self->options.retention_usec;

  for (guint s = 0; s < n_series; s++) {
    const AmigoHistorySummarySeries *se = &series[s];
    guint first_new = d->pending_ds->len;

    for (guint b = 0; b < se->n; b++) {
      DsRecord r = { 0 };
      gint64 t0 = se->start_usec + (gint64) b * se->step_usec;
      gint64 t1 = t0 + se->step_usec;
      gboolean any = FALSE, overlaps = FALSE;
      guint lo_i = 0, hi_i = have->len;

      r.time_usec = t0;
      r.span_sec = (guint32) (se->step_usec / AMIGO_USEC_PER_SEC);
      r.flags = AMIGO_HISTORY_DS_FLAG_IMPORTED;
      for (guint m = 0; m < M; m++) {
        r.mean[m] = to_f32 (se->mean[(gsize) b * M + m]);
        r.max[m] = to_f32 (se->max[(gsize) b * M + m]);
        any = any || !isnan (r.mean[m]) || !isnan (r.max[m]);
      }
      if (!any || t1 <= oldest_ok)
        continue;
      if (d->bucket_start_usec != NONE_MIN && t1 > d->bucket_start_usec)
        continue;
      if (d->last_time_usec != NONE_MIN && t1 > align_down (d->last_time_usec, self->options.step_usec))
        continue;
      /* First existing record ending after t0 (sorted by start, and
       * stored records of one domain do not overlap each other). */
      while (lo_i < hi_i) {
        guint mid = (lo_i + hi_i) / 2;
        const DsRecord *e = &g_array_index (have, DsRecord, mid);
        if (e->time_usec + (gint64) e->span_sec * AMIGO_USEC_PER_SEC <= t0)
          lo_i = mid + 1;
        else
          hi_i = mid;
      }
      for (guint k = lo_i; k < have->len && k < lo_i + 2; k++)
        if (g_array_index (have, DsRecord, k).time_usec < t1)
          overlaps = TRUE;
      /* Spans longer than the local step can start earlier and still
       * overlap: check the one just before too. */
      if (lo_i > 0) {
        const DsRecord *e = &g_array_index (have, DsRecord, lo_i - 1);
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
      g_array_append_vals (have, &g_array_index (d->pending_ds, DsRecord, first_new),
                           d->pending_ds->len - first_new);
      g_array_sort (have, cmp_record_time);
    }
  }
  if (ret_imported != NULL)
    *ret_imported = imported;
  return TRUE;
}
