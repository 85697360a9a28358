/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-domain-table.h"
#include "amigo-export.h"
#include "amigo-history.h"
#include "amigo-job-runner.h"
#include "amigo-requests.h"

G_BEGIN_DECLS

/**
 * AmigoExportWriter: writes the host's figures for Prometheus
 * (docs/prometheus.md) after every poll: rendered on the main loop from
 * what amigod holds in memory, written (fsync and rename) off it through
 * the job runner, so a slow disk never holds D-Bus callers. A write still
 * running when the next poll ends is skipped, not queued.
 */
typedef struct _AmigoExportWriter AmigoExportWriter;

/* @path: the .prom file; @runner borrowed, outlives the writer. */
AmigoExportWriter *amigo_export_writer_new (const char *path, AmigoJobRunner *runner);
void amigo_export_writer_free (AmigoExportWriter *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoExportWriter, amigo_export_writer_free)

/* One write of the domains tracked now with their kept requests, the
 * store's health and @polls. */
void amigo_export_writer_write (AmigoExportWriter *self,
                                AmigoDomainTable *domains,
                                AmigoRequests *requests,
                                AmigoHistory *history,
                                gint64 start_usec,
                                const AmigoExportPolls *polls);

G_END_DECLS
