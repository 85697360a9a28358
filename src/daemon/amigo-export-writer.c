/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-export-writer.h"

#include "amigo-config.h"
#include "amigo-error.h"
#include "amigo-free.h"

struct _AmigoExportWriter {
  char *path;
  AmigoJobRunner *runner;   /* borrowed */
  gboolean warned;          /* a failure is said once, until a write works again */
};

/* The runner's key: one write at a time. */
#define EXPORT_KEY "prometheus-textfile"

typedef struct {
  char *path;
  char *text;
} ExportWrite;

static void
export_write_free (gpointer data)
{
  ExportWrite *w = data;

  amigo_free_fields (&w->path, &w->text, NULL);
  g_free (w);
}

static gboolean
export_write_run (gpointer data, GError **error)
{
  ExportWrite *w = data;

  return amigo_export_write_file (w->path, w->text, error);
}

static void
on_export_written (const char *key, gpointer data, const GError *error, gpointer user_data)
{
  AmigoExportWriter *self = user_data;

  if (error == NULL) {
    if (self->warned)
      g_message ("writing the Prometheus textfile '%s' works again", self->path);
    self->warned = FALSE;
  } else if (!self->warned) {
    g_warning ("cannot write the Prometheus textfile '%s': %s (said once until it works again)", self->path,
               error->message);
    self->warned = TRUE;
  }
}

AmigoExportWriter *
amigo_export_writer_new (const char *path, AmigoJobRunner *runner)
{
  AmigoExportWriter *self = g_new0 (AmigoExportWriter, 1);

  self->path = g_strdup (path);
  self->runner = runner;
  return self;
}

void
amigo_export_writer_free (AmigoExportWriter *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  g_free (self);
}

void
amigo_export_writer_write (AmigoExportWriter *self,
                           AmigoDomainTable *domains,
                           AmigoRequests *requests,
                           AmigoHistory *history,
                           gint64 start_usec,
                           const AmigoExportPolls *polls)
{
  GPtrArray *list = amigo_domain_table_get_list (domains);
  g_autofree AmigoExportDomain *out = g_new0 (AmigoExportDomain, MAX (list->len, 1));
  AmigoExportSnapshot snapshot;
  AmigoHistoryHealth health;
  ExportWrite *w;

  amigo_export_snapshot_init (&snapshot);
  snapshot.version = AMIGO_VERSION;
  snapshot.start_usec = start_usec;
  for (guint i = 0; i < list->len; i++) {
    const AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    const AmigoRequest *req = amigo_requests_get_kept (requests, d->uuid);

    out[i].uuid = d->uuid;
    out[i].name = d->name;
    out[i].latest = d->last;
    out[i].request = req != NULL ? &req->reservation : NULL;
    out[i].request_usec = req != NULL ? req->computed_usec : 0;
  }
  snapshot.domains = out;
  snapshot.n_domains = list->len;
  amigo_history_get_health (history, &health);
  snapshot.store.ok = health.ok;
  snapshot.store.failing_since_usec = health.failing_since_usec;
  snapshot.store.samples_lost = health.samples_lost;
  snapshot.polls = *polls;

  w = g_new0 (ExportWrite, 1);
  w->path = g_strdup (self->path);
  w->text = amigo_export_render (&snapshot);
  if (!amigo_job_runner_submit (self->runner, EXPORT_KEY, export_write_run, on_export_written, w,
                                export_write_free, self))
    g_debug ("the last Prometheus textfile write has not ended: skipping this one");
}
