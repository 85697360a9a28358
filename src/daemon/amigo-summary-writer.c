/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-summary-writer.h"

#include <libvirt/virterror.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-log.h"
#include "amigo-metadata-io.h"

struct _AmigoSummaryWriter {
  AmigoHistory *history;
  AmigoDomainTable *domains;
  AmigoJobRunner *runner;
  AmigoSummaryWriterProblemFunc problem;
  gpointer user_data;
  GHashTable *written;      /* uuid -> SHA-256 of the summary last written into its metadata */
};

/* One summary on its way into a domain's live metadata. */
typedef struct {
  virConnectPtr conn;       /* a reference */
  char uuid[AMIGO_UUID_BUFLEN];
  char *summary;
  char *digest;             /* of @summary, remembered once written */
} SummaryWrite;

static void
summary_write_free (gpointer data)
{
  SummaryWrite *w = data;

  virConnectClose (w->conn);
  g_free (w->summary);
  g_free (w->digest);
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
  ok = amigo_metadata_io_write_history (dom, w->summary, error);
  virDomainFree (dom);
  return ok;
}

static void
on_summary_written (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  AmigoSummaryWriter *self = user_data;
  SummaryWrite *w = data;
  AmigoTrackedDomain *d = amigo_domain_table_lookup (self->domains, uuid);
  const char *name = d != NULL ? d->name : uuid;

  if (error == NULL) {
    /* a domain that left meanwhile is not remembered */
    if (d != NULL)
      g_hash_table_insert (self->written, g_strdup (uuid), g_steal_pointer (&w->digest));
    amigo_log_domain (G_LOG_LEVEL_DEBUG, uuid, name, "wrote the history summary into '%s' (%" G_GSIZE_FORMAT
                      " bytes)", name, strlen (w->summary));
  } else if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND)) {
    amigo_log_domain (G_LOG_LEVEL_DEBUG, uuid, name, "'%s' went away before its history summary was written",
                      name);
  } else if (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BUSY)) {
    g_autofree char *message = g_strdup_printf ("not writing the history summary into '%s' this time: %s", name,
                                                error->message);

    self->problem (AMIGO_SUMMARY_WRITER_BUSY, uuid, name, message, self->user_data);
  } else {
    g_autofree char *message = g_strdup_printf ("cannot write the history summary into '%s': %s", name,
                                                error->message);

    self->problem (AMIGO_SUMMARY_WRITER_WRITE_FAILED, uuid, name, message, self->user_data);
  }
}

AmigoSummaryWriter *
amigo_summary_writer_new (AmigoHistory *history,
                          AmigoDomainTable *domains,
                          AmigoJobRunner *runner,
                          AmigoSummaryWriterProblemFunc problem,
                          gpointer user_data)
{
  AmigoSummaryWriter *self = g_new0 (AmigoSummaryWriter, 1);

  self->history = history;
  self->domains = domains;
  self->runner = runner;
  self->problem = problem;
  self->user_data = user_data;
  self->written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
amigo_summary_writer_free (AmigoSummaryWriter *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->written);
  g_free (self);
}

void
amigo_summary_writer_forget (AmigoSummaryWriter *self, const char *uuid)
{
  g_hash_table_remove (self->written, uuid);
}

void
amigo_summary_writer_round (AmigoSummaryWriter *self, virConnectPtr conn)
{
  GPtrArray *list = amigo_domain_table_get_list (self->domains);
  guint started = 0, unchanged = 0, busy = 0;

  for (guint i = 0; i < list->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    g_autoptr (GError) error = NULL;
    g_autofree char *summary = amigo_history_export_summary (self->history, d->uuid,
                                                             AMIGO_METADATA_IO_SUMMARY_MAX_BYTES, &error);
    g_autofree char *digest = NULL;
    SummaryWrite *w;

    if (summary == NULL) {
      if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
        amigo_log_domain (G_LOG_LEVEL_DEBUG, d->uuid, d->name, "no history summary for '%s': %s",
                          d->name, error->message);
      continue;
    }
    digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, summary, -1);
    if (g_strcmp0 (g_hash_table_lookup (self->written, d->uuid), digest) == 0) {
      unchanged++;
      continue;
    }
    w = g_new0 (SummaryWrite, 1);
    w->conn = conn;
    virConnectRef (conn);
    g_strlcpy (w->uuid, d->uuid, sizeof w->uuid);
    w->summary = g_steal_pointer (&summary);
    w->digest = g_steal_pointer (&digest);
    if (amigo_job_runner_submit (self->runner, d->uuid, summary_write_run, on_summary_written, w,
                                 summary_write_free, self)) {
      started++;
    } else {
      g_autofree char *message = g_strdup_printf ("not writing the history summary into '%s' this time: libvirt "
                                                  "has not finished the previous write (a migration holds "
                                                  "the domain)", d->name);

      busy++;
      self->problem (AMIGO_SUMMARY_WRITER_BUSY, d->uuid, d->name, message, self->user_data);
    }
  }
  g_debug ("history summary: writing into %u domains, %u unchanged, %u still busy", started, unchanged, busy);
}
