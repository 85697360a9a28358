/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-domain-table.h"
#include "amigo-history.h"
#include "amigo-job-runner.h"

G_BEGIN_DECLS

/**
 * AmigoMetadataWriter: keeps amigo's element in each tracked domain's live
 * libvirt metadata up to date: the history summary, the reservation request
 * and the administrator's workload label, so all three migrate with the
 * domain (docs/dbus-api.md, "Never waiting on libvirt").
 *
 * A round builds every domain's element and hands those that changed since
 * the last write to that domain to the job runner (virDomainSetMetadata
 * takes a domain job). It remembers a digest of what it wrote, not the text.
 */
typedef struct _AmigoMetadataWriter AmigoMetadataWriter;

/**
 * AmigoMetadataWriterProblem:
 * @AMIGO_METADATA_WRITER_WRITE_FAILED: libvirt refused or failed the write.
 * @AMIGO_METADATA_WRITER_BUSY: the domain's previous write has not ended,
 *   or libvirt gave up waiting for its job (a migration holds it): not
 *   written this round; the next round tries again.
 */
typedef enum {
  AMIGO_METADATA_WRITER_WRITE_FAILED,
  AMIGO_METADATA_WRITER_BUSY,
} AmigoMetadataWriterProblem;

/* Called on the main context for a problem worth a (rate-limited) warning. */
typedef void (*AmigoMetadataWriterProblemFunc) (AmigoMetadataWriterProblem problem,
                                               const char *uuid,
                                               const char *name,
                                               const char *message,
                                               gpointer user_data);

/**
 * AmigoMetadataWriterSource:
 * @request_json: (nullable): the reservation request to carry for @uuid
 *   (amigo-request.h JSON, newly allocated), or NULL for none yet.
 * @workload: (nullable): the administrator's workload label of @uuid, or
 *   NULL for none (a label removed is removed from the metadata too).
 *
 * What the element carries besides the history summary, asked per domain
 * and round; called with the writer's @user_data.
 */
typedef struct {
  char *(*request_json) (const char *uuid, gpointer user_data);
  const char *(*workload) (const char *uuid, gpointer user_data);
} AmigoMetadataWriterSource;

/* All borrowed; they outlive the writer. @source may be NULL (the history
 * summary only). */
AmigoMetadataWriter *amigo_metadata_writer_new (AmigoHistory *history,
                                                AmigoDomainTable *domains,
                                                AmigoJobRunner *runner,
                                                const AmigoMetadataWriterSource *source,
                                                AmigoMetadataWriterProblemFunc problem,
                                                gpointer user_data);
void amigo_metadata_writer_free (AmigoMetadataWriter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoMetadataWriter, amigo_metadata_writer_free)

/* One round over the domains the last poll saw, on @conn. */
void amigo_metadata_writer_round (AmigoMetadataWriter *self, virConnectPtr conn);

/* Tries again the domains a round found busy (a job-taking call of theirs
 * still out); those still busy are reported as problems. Call it after a
 * poll, before handing out the poll's own job-taking calls. */
void amigo_metadata_writer_retry (AmigoMetadataWriter *self, virConnectPtr conn);

/* The same for one domain (its label or request just changed). */
void amigo_metadata_writer_write_one (AmigoMetadataWriter *self, virConnectPtr conn, const char *uuid);

/* The end of a write someone waits for, on the main context: @error is
 * NULL when it was written. */
typedef void (*AmigoMetadataWriterDone) (const char *uuid, const GError *error, gpointer user_data);

/* Writes @uuid's element now, even if unchanged since the last write, and
 * calls @done when libvirt has it. FALSE (and @done_data freed, @done not
 * called): AMIGO_ERROR_BUSY when a job-taking call of that domain is still
 * out (try again shortly), AMIGO_ERROR_NOT_FOUND when the domain is not
 * tracked or there is nothing to write yet. Main context only. */
gboolean amigo_metadata_writer_write_now (AmigoMetadataWriter *self,
                                          virConnectPtr conn,
                                          const char *uuid,
                                          AmigoMetadataWriterDone done,
                                          gpointer done_data,
                                          GDestroyNotify done_data_free,
                                          GError **error);

/* The domain left: forget what was written into it (if it comes back, its
 * summary is written again). */
void amigo_metadata_writer_forget (AmigoMetadataWriter *self, const char *uuid);

G_END_DECLS
