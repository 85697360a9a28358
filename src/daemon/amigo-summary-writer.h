/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-domain-table.h"
#include "amigo-history.h"
#include "amigo-job-runner.h"

G_BEGIN_DECLS

/**
 * AmigoSummaryWriter: keeps each tracked domain's history summary in its
 * live libvirt metadata, so the history migrates with the domain
 * (docs/dbus-api.md, "Never waiting on libvirt").
 *
 * A round exports every domain's summary and hands those that changed since
 * the last write to that domain to the job runner (virDomainSetMetadata
 * takes a domain job). It remembers a digest of what it wrote, not the text.
 */
typedef struct _AmigoSummaryWriter AmigoSummaryWriter;

/**
 * AmigoSummaryWriterProblem:
 * @AMIGO_SUMMARY_WRITER_WRITE_FAILED: libvirt refused or failed the write.
 * @AMIGO_SUMMARY_WRITER_BUSY: the domain's previous write has not ended,
 *   or libvirt gave up waiting for its job (a migration holds it): not
 *   written this round; the next round tries again.
 */
typedef enum {
  AMIGO_SUMMARY_WRITER_WRITE_FAILED,
  AMIGO_SUMMARY_WRITER_BUSY,
} AmigoSummaryWriterProblem;

/* Called on the main context for a problem worth a (rate-limited) warning. */
typedef void (*AmigoSummaryWriterProblemFunc) (AmigoSummaryWriterProblem problem,
                                               const char *uuid,
                                               const char *name,
                                               const char *message,
                                               gpointer user_data);

/* All borrowed; they outlive the writer. */
AmigoSummaryWriter *amigo_summary_writer_new (AmigoHistory *history,
                                              AmigoDomainTable *domains,
                                              AmigoJobRunner *runner,
                                              AmigoSummaryWriterProblemFunc problem,
                                              gpointer user_data);
void amigo_summary_writer_free (AmigoSummaryWriter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoSummaryWriter, amigo_summary_writer_free)

/* One round over the domains the last poll saw, on @conn. */
void amigo_summary_writer_round (AmigoSummaryWriter *self, virConnectPtr conn);

/* The domain left: forget what was written into it (if it comes back, its
 * summary is written again). */
void amigo_summary_writer_forget (AmigoSummaryWriter *self, const char *uuid);

G_END_DECLS
