/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-history-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amigo-bytes.h"
#include "amigo-error.h"
#include "amigo-time.h"

/*
 * Segment files on disk: reading one whole, checking it against the recovery
 * rules, appending records (creating the file with its header in the same
 * write), rewriting a file of an older layout, the domain header file, and
 * setting a damaged file aside.
 */

#define MAX_READ_BYTES (64 * 1024 * 1024)

/* Sets a damaged file aside as '<file>.corrupt-<unix time>' so that the
 * store carries on without it and an administrator can look at it. */
void
amigo_history_quarantine (AmigoHistory *self, const char *relpath, const char *why)
{
  g_autofree char *aside = g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT,
                                            relpath, g_get_real_time () / AMIGO_USEC_PER_SEC);

  if (renameat (self->dir_fd, relpath, self->dir_fd, aside) < 0) {
    int errsv = errno;
    unlinkat (self->dir_fd, relpath, 0);
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_DAMAGED_FILE, "history file '%s/%s' is damaged (%s) and could not be set aside (%s), removed it",
                  self->dir, relpath, why, g_strerror (errsv));
    return;
  }
  amigo_history_warn (self, AMIGO_HISTORY_WARNING_DAMAGED_FILE, "history file '%s/%s' is damaged (%s), set aside as '%s/%s'",
                self->dir, relpath, why, self->dir, aside);
}

/* Reads a whole file below the store directory; FALSE with errno set. */
gboolean
amigo_history_read_file (AmigoHistory *self, const char *relpath, GByteArray *buf)
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

/* Closes @fd (if open) and fails with "cannot <verb> history file
 * '<dir>/<relpath>'" and the text of @errsv, the errno of the failed call. */
static gboolean
file_error (AmigoHistory *self, int fd, int errsv, const char *verb, const char *relpath, GError **error)
{
  if (fd >= 0)
    close (fd);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot %s history file '%s/%s': %s", verb, self->dir,
               relpath, g_strerror (errsv));
  return FALSE;
}

static gboolean history_rewrite_segment (AmigoHistory *self, const char *relpath, gboolean raw, gint64 seg_start,
                                         const AmigoHistoryLayout *old, GError **error);

/* Checks one segment and hands its valid records to @func. Recovery rules
 * (docs/history-format.md): a file too short to hold its header holds no
 * data and is removed; a bad header sets the file aside; an incomplete last
 * record, and bad records at the end of the newest segment of its kind (the
 * one being written when a crash happened), are a torn write and are cut
 * off; any other bad record costs that record only: the scan carries on at
 * the next record boundary (records are fixed-size) and, when @repair, the
 * file is rewritten without it and a warning says so. Returns FALSE if the
 * file is gone afterwards. */
gboolean
amigo_history_scan_segment (AmigoHistory *self,
                            const char *uuid,
                            gboolean raw,
                            gint64 seg_start,
                            gboolean newest,
                            gboolean repair,
                            AmigoHistoryRecordFunc func,
                            gpointer user_data)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  char name[32];
  char relpath[AMIGO_UUID_STRING_LEN + 40];
  AmigoHistoryLayout layout;
  gsize rs, nrec, end = 0, keep, n_damaged = 0, first_bad = 0;
  AmigoHistoryRawRecord rr;
  AmigoHistoryDsRecord dr;

  amigo_history_segment_name (raw, seg_start, name, sizeof name);
  g_snprintf (relpath, sizeof relpath, "%s/%s", uuid, name);
  if (!amigo_history_read_file (self, relpath, buf)) {
    if (errno != ENOENT)
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_READ_FAILED, "cannot read history file '%s/%s': %s",
                          self->dir, relpath, g_strerror (errno));
    return FALSE;
  }
  if (buf->len < AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    g_debug ("history file '%s/%s' holds no complete header (%u bytes), removing it", self->dir, relpath, buf->len);
    unlinkat (self->dir_fd, relpath, 0);
    return FALSE;
  }
  if (!amigo_history_segment_header_decode (raw, seg_start, buf->data, &layout)) {
    amigo_history_quarantine (self, relpath, "bad segment header");
    return FALSE;
  }
  rs = layout.record_bytes;

  /* @end: after the last good record; bad ones before it are damage. */
  nrec = (buf->len - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) / rs;
  for (gsize i = 0; i < nrec; i++) {
    const guint8 *p = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * rs;
    if (amigo_history_record_decode (raw, seg_start, &layout, p, &rr, &dr))
      end = i + 1;
  }
  /* Bad records after the last good one are a torn tail only where a
   * crash can leave one: in the newest segment. */
  if (!newest)
    end = nrec;
  for (gsize i = 0; i < end; i++) {
    const guint8 *p = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * rs;
    if (!amigo_history_record_decode (raw, seg_start, &layout, p, &rr, &dr) && n_damaged++ == 0)
      first_bad = i;
  }

  keep = AMIGO_HISTORY_SEGMENT_HEADER_SIZE + end * rs;
  if (repair && n_damaged > 0) {
    g_autoptr(GError) error = NULL;
    if (!history_rewrite_segment (self, relpath, raw, seg_start, &layout, &error))
      g_debug ("%s", error->message);
    amigo_history_warn (self, AMIGO_HISTORY_WARNING_DAMAGED_RECORD,
                        "history file '%s/%s' holds %" G_GSIZE_FORMAT " damaged record%s (the first is record %"
                        G_GSIZE_FORMAT "): dropped, the other %" G_GSIZE_FORMAT " kept",
                        self->dir, relpath, n_damaged, n_damaged == 1 ? "" : "s", first_bad, end - n_damaged);
  } else if (keep != buf->len && repair) {
    int fd = openat (self->dir_fd, relpath, O_WRONLY | O_CLOEXEC);
    g_debug ("history file '%s/%s': cutting a torn tail of %" G_GSIZE_FORMAT " bytes",
             self->dir, relpath, (gsize) buf->len - keep);
    if (fd < 0 || ftruncate (fd, (off_t) keep) < 0)
      amigo_history_warn (self, AMIGO_HISTORY_WARNING_DAMAGED_RECORD,
                          "cannot cut the torn tail of history file '%s/%s': %s",
                          self->dir, relpath, g_strerror (errno));
    if (fd >= 0)
      close (fd);
  }

  for (gsize i = 0; i < end && func != NULL; i++) {
    const guint8 *p = buf->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * rs;
    if (amigo_history_record_decode (raw, seg_start, &layout, p, &rr, &dr))
      func (&rr, &dr, user_data);
  }
  return TRUE;
}

gboolean
amigo_history_write_all (int fd, const guint8 *data, gsize len)
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

/* Rewrites a segment in the current layout with only the records that
 * check out, re-encoded, in a new file renamed over the old one: for a file
 * of another layout (an older format, fewer metrics; metrics it lacks
 * become NAN) before records are appended to it, and for a file with
 * damaged records. */
static gboolean
history_rewrite_segment (AmigoHistory *self, const char *relpath, gboolean raw, gint64 seg_start,
                         const AmigoHistoryLayout *old, GError **error)
{
  g_autoptr(GByteArray) in = g_byte_array_new ();
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", relpath);
  gsize nrec, rs = amigo_history_record_size (raw);
  AmigoHistoryRawRecord rr;
  AmigoHistoryDsRecord dr;
  int fd;

  if (!amigo_history_read_file (self, relpath, in))
    return file_error (self, -1, errno, "read", relpath, error);
  g_byte_array_set_size (out, AMIGO_HISTORY_SEGMENT_HEADER_SIZE);
  amigo_history_segment_header_encode (raw, seg_start, out->data);
  nrec = (in->len - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) / old->record_bytes;
  for (gsize i = 0; i < nrec; i++) {
    const guint8 *p = in->data + AMIGO_HISTORY_SEGMENT_HEADER_SIZE + i * old->record_bytes;
    guint off = out->len;
    if (!amigo_history_record_decode (raw, seg_start, old, p, &rr, &dr))
      continue;
    g_byte_array_set_size (out, off + (guint) rs);
    if (raw)
      amigo_history_raw_encode (&rr, out->data + off);
    else
      amigo_history_ds_encode (&dr, out->data + off);
  }
  fd = openat (self->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0 || !amigo_history_write_all (fd, out->data, out->len) || renameat (self->dir_fd, tmp, self->dir_fd, relpath) < 0) {
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
           self->dir, relpath, old->version, old->n_metrics, AMIGO_HISTORY_FORMAT_VERSION, (guint) AMIGO_METRIC_LAST);
  return TRUE;
}

/* The size of the segment just opened as @fd (closed on failure, with an
 * error naming the file). */
static gboolean
opened_size (AmigoHistory *self, const char *relpath, int fd, off_t *ret_size, GError **error)
{
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0)
    return file_error (self, fd, errno, "open", relpath, error);
  *ret_size = st.st_size;
  return TRUE;
}

/* Appends the records in self->write_buf (after a reserved header area) to
 * one segment, creating it with its header in the same write if needed. */
gboolean
amigo_history_append_segment (AmigoHistory *self, AmigoHistoryDomain *d, gboolean raw, gint64 seg_start, GError **error)
{
  char name[32];
  char relpath[AMIGO_UUID_STRING_LEN + 40];
  GByteArray *buf = self->write_buf;
  gsize rs = amigo_history_record_size (raw);
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
    if (amigo_history_write_header (self, d, NULL))
      fd = openat (self->dir_fd, relpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  }
  if (!opened_size (self, relpath, fd, &size, error))
    return FALSE;
  if (size >= AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    guint8 h[AMIGO_HISTORY_SEGMENT_HEADER_SIZE];
    AmigoHistoryLayout layout;

    if (pread (fd, h, sizeof h, 0) == (ssize_t) sizeof h &&
        amigo_history_segment_header_decode (raw, seg_start, h, &layout) && !amigo_history_layout_is_current (&layout)) {
      close (fd);
      if (!history_rewrite_segment (self, relpath, raw, seg_start, &layout, error))
        return FALSE;
      fd = openat (self->dir_fd, relpath, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (!opened_size (self, relpath, fd, &size, error))
        return FALSE;
    }
  }
  if (size < AMIGO_HISTORY_SEGMENT_HEADER_SIZE) {
    /* New (or torn while being created): header and records in one write. */
    if (size > 0 && ftruncate (fd, 0) == 0)
      size = 0;
    amigo_history_segment_header_encode (raw, seg_start, buf->data);
    data = buf->data;
    len = buf->len;
  } else if ((size - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) % rs != 0) {
    off_t keep = size - (size - AMIGO_HISTORY_SEGMENT_HEADER_SIZE) % rs;
    if (ftruncate (fd, keep) == 0)
      size = keep;
  }
  if (!amigo_history_write_all (fd, data, len)) {
    int errsv = errno;
    /* Never leave a partial record in front of later appends. */
    if (ftruncate (fd, size) < 0)
      g_debug ("cannot cut back '%s': %s", relpath, g_strerror (errno));
    return file_error (self, fd, errsv, "write", relpath, error);
  }
  close (fd);
  amigo_history_domain_note_segment (d, raw, seg_start);
  return TRUE;
}

gboolean
amigo_history_write_header (AmigoHistory *self, AmigoHistoryDomain *d, GError **error)
{
  guint8 h[AMIGO_HISTORY_DOMAIN_HEADER_SIZE] = { 0 };
  char tmp[AMIGO_UUID_STRING_LEN + 40];
  char relpath[AMIGO_UUID_STRING_LEN + 40];
  int fd;

  if (!d->dir_ok) {
    if (mkdirat (self->dir_fd, d->uuid, 0750) < 0 && errno != EEXIST) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot create history directory '%s/%s': %s",
                   self->dir, d->uuid, g_strerror (errno));
      return FALSE;
    }
    d->dir_ok = TRUE;
  }

  amigo_history_domain_header_encode (d->uuid, d->name, self->options.step_usec, h);

  g_snprintf (tmp, sizeof tmp, "%s/%s.tmp", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, AMIGO_HISTORY_DOMAIN_FILE);
  fd = openat (self->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0 || !amigo_history_write_all (fd, h, sizeof h))
    return file_error (self, fd, errno, "write", tmp, error);
  close (fd);
  if (renameat (self->dir_fd, tmp, self->dir_fd, relpath) < 0)
    return file_error (self, -1, errno, "rename", tmp, error);
  d->header_ok = TRUE;
  return TRUE;
}

void
amigo_history_remove_segment (AmigoHistory *self, AmigoHistoryDomain *d, gboolean raw, gint64 seg)
{
  char name[32];
  char relpath[AMIGO_UUID_STRING_LEN + 40];

  amigo_history_segment_name (raw, seg, name, sizeof name);
  g_snprintf (relpath, sizeof relpath, "%s/%s", d->uuid, name);
  if (unlinkat (self->dir_fd, relpath, 0) == 0)
    g_debug ("history: retention removed '%s/%s'", self->dir, relpath);
}
