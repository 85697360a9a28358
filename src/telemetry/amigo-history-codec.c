/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history-private.h"

#include <string.h>

#include "amigo-bytes.h"
#include "amigo-time.h"

/*
 * The record codec and segment format (docs/history-format.md): fixed-size,
 * checksummed, little-endian records; segment and domain headers; segment
 * file names from UTC calendar hours and days. No I/O here.
 */

#define M AMIGO_METRIC_LAST

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

/* Proleptic Gregorian calendar <-> days since 1970-01-01 (UTC). */
static void
civil_from_days (gint64 z, gint64 *ret_y, guint *ret_m, guint *ret_d)
{
  gint64 era, yoe, doe, doy, mp;

  z += 719468;
  era = amigo_history_floor_div (z, 146097);
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
  era = amigo_history_floor_div (y, 400);
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void
amigo_history_segment_name (gboolean raw, gint64 start_usec, char *buf, gsize size)
{
  gint64 days = amigo_history_floor_div (start_usec, AMIGO_USEC_PER_DAY);
  gint64 hour = amigo_history_floor_div (start_usec - days * AMIGO_USEC_PER_DAY, AMIGO_USEC_PER_HOUR);
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

void
amigo_history_segment_header_encode (gboolean raw, gint64 start_usec, guint8 *p)
{
  memcpy (p, raw ? "AMGR" : "AMGD", 4);
  amigo_put_le16 (p + 4, AMIGO_HISTORY_FORMAT_VERSION);
  amigo_put_le16 (p + 6, (guint16) amigo_history_record_size (raw));
  amigo_put_le64 (p + 8, (guint64) (start_usec));
  amigo_put_le64 (p + 16, (guint64) (start_usec + amigo_history_segment_usec (raw)));
  amigo_put_le16 (p + 24, M);
  amigo_put_le16 (p + 26, 0);
  amigo_put_le32 (p + 28, amigo_history_crc32 (0, p, 28));
}

/* Checks a segment header and tells how its records are laid out. */
gboolean
amigo_history_segment_header_decode (gboolean raw, gint64 start_usec, const guint8 *p, AmigoHistoryLayout *ret)
{
  AmigoHistoryLayout l = { amigo_get_le16 (p + 4), 0, amigo_get_le16 (p + 6) };

  if (memcmp (p, raw ? "AMGR" : "AMGD", 4) != 0 ||
      (gint64) amigo_get_le64 (p + 8) != start_usec ||
      (gint64) amigo_get_le64 (p + 16) != start_usec + amigo_history_segment_usec (raw) ||
      amigo_get_le32 (p + 28) != amigo_history_crc32 (0, p, 28))
    return FALSE;
  if (l.version == 1)
    l.n_metrics = AMIGO_HISTORY_V1_METRICS;
  else if (l.version == AMIGO_HISTORY_FORMAT_VERSION)
    l.n_metrics = amigo_get_le16 (p + 24);
  else
    return FALSE;
  if (l.n_metrics < 1 || l.n_metrics > AMIGO_HISTORY_MAX_METRICS ||
      l.record_bytes != amigo_history_layout_record_size (raw, l.n_metrics))
    return FALSE;
  *ret = l;
  return TRUE;
}

/* The last 4 bytes of every record are the CRC-32 of the bytes before them. */
static void
record_seal (guint8 *p, gsize size)
{
  amigo_put_le32 (p + size - 4, amigo_history_crc32 (0, p, size - 4));
}

static gboolean
record_seal_ok (const guint8 *p, gsize size)
{
  return amigo_get_le32 (p + size - 4) == amigo_history_crc32 (0, p, size - 4);
}

void
amigo_history_raw_encode (const AmigoHistoryRawRecord *r, guint8 *p)
{
  amigo_put_le64 (p, (guint64) (r->time_usec));
  for (guint i = 0; i < M; i++)
    amigo_put_le_f32 (p + 8 + 4 * i, r->values[i]);
  record_seal (p, AMIGO_HISTORY_RAW_RECORD_SIZE);
}

/* Metrics the file does not have (written before they existed) read as
 * NAN; metrics the file has beyond ours are skipped. */
static gboolean
raw_decode (const guint8 *p, guint n_metrics, AmigoHistoryRawRecord *r)
{
  if (!record_seal_ok (p, AMIGO_HISTORY_RAW_RECORD_SIZE_FOR (n_metrics)))
    return FALSE;
  r->time_usec = (gint64) amigo_get_le64 (p);
  for (guint i = 0; i < M; i++)
    r->values[i] = i < n_metrics ? amigo_get_le_f32 (p + 8 + 4 * i) : NAN;
  return TRUE;
}

void
amigo_history_ds_encode (const AmigoHistoryDsRecord *r, guint8 *p)
{
  amigo_put_le64 (p, (guint64) (r->time_usec));
  amigo_put_le32 (p + 8, r->span_sec);
  amigo_put_le16 (p + 12, r->count);
  amigo_put_le16 (p + 14, r->flags);
  for (guint i = 0; i < M; i++) {
    amigo_put_le_f32 (p + 16 + 8 * i, r->mean[i]);
    amigo_put_le_f32 (p + 20 + 8 * i, r->max[i]);
  }
  record_seal (p, AMIGO_HISTORY_DS_RECORD_SIZE);
}

static gboolean
ds_decode (const guint8 *p, guint n_metrics, AmigoHistoryDsRecord *r)
{
  if (!record_seal_ok (p, AMIGO_HISTORY_DS_RECORD_SIZE_FOR (n_metrics)))
    return FALSE;
  r->time_usec = (gint64) amigo_get_le64 (p);
  r->span_sec = amigo_get_le32 (p + 8);
  r->count = amigo_get_le16 (p + 12);
  r->flags = amigo_get_le16 (p + 14);
  for (guint i = 0; i < M; i++) {
    r->mean[i] = i < n_metrics ? amigo_get_le_f32 (p + 16 + 8 * i) : NAN;
    r->max[i] = i < n_metrics ? amigo_get_le_f32 (p + 20 + 8 * i) : NAN;
  }
  /* A record must cover a sane, positive span (at most one segment). */
  return r->span_sec > 0 && (gint64) r->span_sec * AMIGO_USEC_PER_SEC <= AMIGO_HISTORY_DS_SEGMENT_USEC;
}

/* Decodes record @p of a segment starting at @seg_start laid out as @l;
 * FALSE if its checksum is wrong or it does not belong in this segment. */
gboolean
amigo_history_record_decode (gboolean raw, gint64 seg_start, const AmigoHistoryLayout *l, const guint8 *p,
                             AmigoHistoryRawRecord *rr, AmigoHistoryDsRecord *dr)
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
  return t >= seg_start && t < seg_start + amigo_history_segment_usec (raw);
}

gint
amigo_history_cmp_time (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

void
amigo_history_domain_header_encode (const char *uuid, const char *name, gint64 step_usec, guint8 *h)
{
  gsize name_len = 0;

  memset (h, 0, AMIGO_HISTORY_DOMAIN_HEADER_SIZE);
  memcpy (h, "AMGH", 4);
  amigo_put_le16 (h + 4, AMIGO_HISTORY_FORMAT_VERSION);
  amigo_put_le16 (h + 6, AMIGO_HISTORY_DOMAIN_HEADER_SIZE);
  amigo_put_le64 (h + 8, (guint64) step_usec);
  memcpy (h + 16, uuid, AMIGO_UUID_STRING_LEN);
  if (name != NULL) {
    const char *end = name;
    /* Cut at a character boundary. */
    while (*end != '\0') {
      const char *next = g_utf8_next_char (end);
      if ((gsize) (next - name) > AMIGO_HISTORY_NAME_MAX)
        break;
      end = next;
    }
    name_len = end - name;
    memcpy (h + 58, name, name_len);
  }
  amigo_put_le16 (h + 56, (guint16) name_len);
  amigo_put_le32 (h + 252, amigo_history_crc32 (0, h, 252));
}

gboolean
amigo_history_domain_header_decode (const guint8 *h, gsize len, const char *uuid, char **ret_name,
                                    const char **ret_why)
{
  guint16 version, name_len;

  if (len != AMIGO_HISTORY_DOMAIN_HEADER_SIZE || memcmp (h, "AMGH", 4) != 0 ||
      amigo_get_le32 (h + 252) != amigo_history_crc32 (0, h, 252)) {
    *ret_why = "bad domain header";
    return FALSE;
  }
  /* The domain header is the same in both versions. */
  version = amigo_get_le16 (h + 4);
  if (version != 1 && version != AMIGO_HISTORY_FORMAT_VERSION) {
    *ret_why = "unsupported format version";
    return FALSE;
  }
  if (memcmp (h + 16, uuid, AMIGO_UUID_STRING_LEN) != 0) {
    *ret_why = "header names another domain";
    return FALSE;
  }
  name_len = amigo_get_le16 (h + 56);
  if (name_len > AMIGO_HISTORY_NAME_MAX || !g_utf8_validate ((const char *) h + 58, name_len, NULL)) {
    *ret_why = "bad domain name";
    return FALSE;
  }
  *ret_name = name_len > 0 ? g_strndup ((const char *) h + 58, name_len) : NULL;
  return TRUE;
}
