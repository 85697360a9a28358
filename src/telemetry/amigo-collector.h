/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-metric.h"

G_BEGIN_DECLS

/**
 * AmigoCollector: turns libvirt domain statistics into #AmigoSample rates.
 *
 * It keeps the previous counters of every domain (keyed by UUID) so that rates
 * come from deltas; a counter that goes backwards, a domain seen for the first
 * time or a field that is missing yields NAN for that metric, never a spike or
 * a zero. The libvirt-facing poll and the pure ingest step are separate so
 * that tests and the benchmark feed recorded statistics through the same code.
 */
typedef struct _AmigoCollector AmigoCollector;

AmigoCollector *amigo_collector_new (void);
void amigo_collector_free (AmigoCollector *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoCollector, amigo_collector_free)

/* Ingests one domain's statistics record (the params of one
 * virDomainStatsRecord) taken at @now_usec (monotonic for deltas) and
 * @wall_usec (stamped on the sample). Fills @ret_sample; metrics that need a
 * previous reading are NAN on the first call. Returns FALSE with @error only on
 * malformed input. */
gboolean amigo_collector_ingest (AmigoCollector *self,
                                 const char *uuid,
                                 const char *name,
                                 virTypedParameterPtr params,
                                 int nparams,
                                 gint64 now_usec,
                                 gint64 wall_usec,
                                 AmigoSample *ret_sample,
                                 GError **error);

/* Drops the state of a domain that went away (so a domain that comes back
 * starts clean). */
void amigo_collector_forget (AmigoCollector *self, const char *uuid);

/* Forgets every domain not in @seen_uuids (a set of UUID strings). */
void amigo_collector_prune (AmigoCollector *self, GHashTable *seen_uuids);

G_END_DECLS
