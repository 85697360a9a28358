/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-metadata-writer.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-log.h"
#include "amigo-metadata-io.h"

struct _AmigoMetadataWriter {
  AmigoHistory *history;
  AmigoDomainTable *domains;
  AmigoJobRunner *runner;
  AmigoMetadataWriterSource source;
  AmigoMetadataWriterProblemFunc problem;
  gpointer user_data;
  GHashTable *written;      /* uuid -> SHA-256 of the element last written into its metadata */
  GHashTable *retry;        /* uuids found busy by a round, tried again after the next poll */
};

/* One element on its way into a domain's live metadata. */
typedef struct {
  virConnectPtr conn;       /* a reference */
  char uuid[AMIGO_UUID_BUFLEN];
  char *summary;            /* NULL: none yet, keep what is there */
  char *request;            /* NULL: none yet, keep what is there */
  char *workload;           /* NULL: no label */
  char *digest;             /* of the three, remembered once written */
  AmigoMetadataWriterDone done;   /* nullable: someone waits for this write */
  gpointer done_data;
  GDestroyNotify done_data_free;
} SummaryWrite;

static void
summary_write_free (gpointer data)
{
  SummaryWrite *w = data;

  virConnectClose (w->conn);
  g_free (w->summary);
  g_free (w->request);
  g_free (w->workload);
  g_free (w->digest);
  if (w->done_data_free != NULL)
    g_clear_pointer (&w->done_data, w->done_data_free);
  g_free (w);
}

/* Job runner thread: waits for the domain's job while a migration runs. */
static gboolean
summary_write_run (gpointer data, GError **error)
{
  SummaryWrite *w = data;
  virDomainPtr dom = virDomainLookupByUUIDString (w->conn, w->uuid);
  gboolean ok;

  if (dom == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no domain '%s': %s", w->uuid,
                 virGetLastErrorMessage ());
    return FALSE;
  }
  {
    AmigoMetadataUpdate update = { w->summary, w->request, TRUE, w->workload };
    ok = amigo_metadata_io_update (dom, &update, error);
  }
  virDomainFree (dom);
  return ok;
}

static void
on_summary_written (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  AmigoMetadataWriter *self = user_data;
  SummaryWrite *w = data;
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);
  const char *name = d != NULL ? d->name : uuid;

  if (w->done != NULL)
    w->done (uuid, error, w->done_data);
  if (error == NULL) {
    /* a domain that left meanwhile is not remembered */
    if (d != NULL)
      g_hash_table_insert (self->written, g_strdup (uuid), g_steal_pointer (&w->digest));
    amigo_log_domain (G_LOG_LEVEL_DEBUG, uuid, name, "wrote the history summary into '%s' (%" G_GSIZE_FORMAT
                      " bytes; reservation request %" G_GSIZE_FORMAT " bytes)", name,
                      w->summary != NULL ? strlen (w->summary) : 0, w->request != NULL ? strlen (w->request) : 0);
  } else if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
    amigo_log_domain (G_LOG_LEVEL_DEBUG, uuid, name, "'%s' went away before its history summary was written",
                      name);
  } else if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY)) {
    g_autofree char *message = g_strdup_printf ("not writing the history summary into '%s' this time: %s", name,
                                                error->message);

    self->problem (AMIGO_METADATA_WRITER_BUSY, uuid, name, message, self->user_data);
  } else {
    g_autofree char *message = g_strdup_printf ("cannot write the history summary into '%s': %s", name,
                                                error->message);

    self->problem (AMIGO_METADATA_WRITER_WRITE_FAILED, uuid, name, message, self->user_data);
  }
}

AmigoMetadataWriter *
amigo_metadata_writer_new (AmigoHistory *history,
                           AmigoDomainTable *domains,
                           AmigoJobRunner *runner,
                           const AmigoMetadataWriterSource *source,
                           AmigoMetadataWriterProblemFunc problem,
                           gpointer user_data)
{
  AmigoMetadataWriter *self = g_new0 (AmigoMetadataWriter, 1);

  if (source != NULL)
    self->source = *source;
  self->history = history;
  self->domains = domains;
  self->runner = runner;
  self->problem = problem;
  self->user_data = user_data;
  self->written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->retry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
amigo_metadata_writer_free (AmigoMetadataWriter *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->written);
  g_hash_table_unref (self->retry);
  g_free (self);
}

void
amigo_metadata_writer_forget (AmigoMetadataWriter *self, const char *uuid)
{
  g_hash_table_remove (self->written, uuid);
  g_hash_table_remove (self->retry, uuid);
}

typedef enum {
  WRITE_STARTED,
  WRITE_UNCHANGED,
  WRITE_BUSY,
  WRITE_NOTHING,
} WriteOutcome;

static void
digest_add (GChecksum *sum, const char *text)
{
  /* a field absent and a field empty read differently */
  if (text != NULL)
    g_checksum_update (sum, (const guchar *) text, (gssize) strlen (text) + 1);
  else
    g_checksum_update (sum, (const guchar *) "\x01", 1);
}

/* @done (nullable) is called once the write ends, if it was started. */
static WriteOutcome
write_domain_full (AmigoMetadataWriter *self,
                   virConnectPtr conn,
                   AmigoTrackedDomain *d,
                   gboolean last_try,
                   AmigoMetadataWriterDone done,
                   gpointer done_data,
                   GDestroyNotify done_data_free)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *summary = amigo_history_export_summary (self->history, d->uuid,
                                                           AMIGO_METADATA_IO_SUMMARY_MAX_BYTES, &error);
  g_autofree char *request = self->source.request_json != NULL ? self->source.request_json (d->uuid, self->user_data)
                                                               : NULL;
  const char *workload = self->source.workload != NULL ? self->source.workload (d->uuid, self->user_data) : NULL;
  SummaryWrite *w;

  if (summary == NULL && !g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
    amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "no history summary for '%s': %s",
                      d->name, error->message);
  if (summary == NULL && request == NULL && workload == NULL && !g_hash_table_contains (self->written, d->uuid))
    return WRITE_NOTHING;
  digest_add (sum, summary);
  digest_add (sum, request);
  digest_add (sum, workload);
  /* a caller waiting for the write gets one: libvirt's copy may have been
   * changed by someone else since */
  if (done == NULL && g_strcmp0 (g_hash_table_lookup (self->written, d->uuid), g_checksum_get_string (sum)) == 0)
    return WRITE_UNCHANGED;

  w = g_new0 (SummaryWrite, 1);
  w->conn = conn;
  virConnectRef (conn);
  g_strlcpy (w->uuid, d->uuid, sizeof w->uuid);
  w->summary = g_steal_pointer (&summary);
  w->request = g_steal_pointer (&request);
  w->workload = g_strdup (workload);
  w->digest = g_strdup (g_checksum_get_string (sum));
  w->done = done;
  w->done_data = done_data;
  w->done_data_free = done_data_free;
  if (done != NULL) {
    /* the caller tries again itself: a failed submit frees @done_data */
    if (!amigo_job_runner_submit (self->runner, d->uuid, summary_write_run, on_summary_written, w,
                                  summary_write_free, self))
      return WRITE_BUSY;
    return WRITE_STARTED;
  }
  if (!amigo_job_runner_submit (self->runner, d->uuid, summary_write_run, on_summary_written, w,
                                summary_write_free, self)) {
    g_autofree char *message = NULL;

    /* Most often the domain's dirty-rate start of this poll is still out:
     * tried again right after the next poll, before those are handed out. */
    if (!last_try) {
      g_hash_table_add (self->retry, g_strdup (d->uuid));
      return WRITE_BUSY;
    }
    message = g_strdup_printf ("not writing amigo's metadata into '%s' this time: libvirt "
                                                "has not finished the previous write (a migration holds "
                                                "the domain)", d->name);

    self->problem (AMIGO_METADATA_WRITER_BUSY, d->uuid, d->name, message, self->user_data);
    return WRITE_BUSY;
  }
  return WRITE_STARTED;
}

static WriteOutcome
write_domain (AmigoMetadataWriter *self, virConnectPtr conn, AmigoTrackedDomain *d, gboolean last_try)
{
  return write_domain_full (self, conn, d, last_try, NULL, NULL, NULL);
}

gboolean
amigo_metadata_writer_write_now (AmigoMetadataWriter *self,
                                 virConnectPtr conn,
                                 const char *uuid,
                                 AmigoMetadataWriterDone done,
                                 gpointer done_data,
                                 GDestroyNotify done_data_free,
                                 GError **error)
{
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);

  if (d == NULL) {
    if (done_data_free != NULL)
      done_data_free (done_data);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "no running domain '%s' on this host", uuid);
    return FALSE;
  }
  switch (write_domain_full (self, conn, d, FALSE, done, done_data, done_data_free)) {
  case WRITE_STARTED:
    return TRUE;
  case WRITE_BUSY:
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                 "a libvirt call that takes a job on '%s' is still out", d->name);
    return FALSE;
  case WRITE_UNCHANGED:
  case WRITE_NOTHING:
  default:
    if (done_data_free != NULL)
      done_data_free (done_data);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "nothing to write into the metadata of '%s'",
                 d->name);
    return FALSE;
  }
}

void
amigo_metadata_writer_round (AmigoMetadataWriter *self, virConnectPtr conn)
{
  GPtrArray *list = amigo_domain_table_get_list (self->domains);
  guint n[WRITE_NOTHING + 1] = { 0 };

  for (guint i = 0; i < list->len; i++)
    n[write_domain (self, conn, g_ptr_array_index (list, i), FALSE)]++;
  g_debug ("amigo's metadata: writing into %u domains, %u unchanged, %u still busy", n[WRITE_STARTED],
           n[WRITE_UNCHANGED], n[WRITE_BUSY]);
}

void
amigo_metadata_writer_write_one (AmigoMetadataWriter *self, virConnectPtr conn, const char *uuid)
{
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);

  if (d != NULL)
    write_domain (self, conn, d, FALSE);
}

void
amigo_metadata_writer_retry (AmigoMetadataWriter *self, virConnectPtr conn)
{
  g_autoptr (GHashTable) retry = g_steal_pointer (&self->retry);
  GHashTableIter iter;
  const char *uuid;

  self->retry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&iter, retry);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uuid, NULL)) {
    AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);
    if (d != NULL)
      write_domain (self, conn, d, TRUE);
  }
}
