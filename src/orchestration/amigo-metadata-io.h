/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-metadata.h"

G_BEGIN_DECLS

/*
 * amigo's metadata element read from and written to a libvirt domain
 * (docs/history-format.md, "Domain metadata element").
 *
 * Reading takes no domain job in the QEMU driver (qemuDomainGetMetadata
 * only locks the domain object), so it answers during a migration and may
 * run on the main loop. Writing (virDomainSetMetadata) takes a MODIFY job,
 * which a migration does not allow: it waits for the migration's end (or
 * libvirt's 30 s job timeout) and must never run on the main loop.
 */

/* Bound on the history summary written into a domain's metadata: it lives
 * in libvirtd's live definition of every domain, goes out with every
 * `virsh dumpxml` and with the migration. 24 KiB holds the last 24 h of
 * every metric at the store's default 5 min step (about 21 KB) and leaves
 * the rest to hourly points before that (docs/history-format.md). */
#define AMIGO_METADATA_IO_SUMMARY_MAX_BYTES (24 * 1024)

/* amigo's element of @dom's live definition; an empty AmigoMetadata if the
 * domain has none. AMIGO_ERROR_NOT_FOUND if the domain is gone,
 * AMIGO_ERROR_BAD_DATA if the element is malformed, AMIGO_ERROR_FAILED with
 * libvirt's message otherwise. Takes no job. */
AmigoMetadata *amigo_metadata_io_read (virDomainPtr dom, GError **error);

/**
 * AmigoMetadataUpdate:
 * @history: the history summary; NULL keeps what is there.
 * @reservation: the reservation request (amigo-request.h JSON); NULL keeps
 *   what is there.
 * @set_workload: whether to change the workload label.
 * @workload: with @set_workload, the administrator's class, NULL to clear.
 *
 * What amigod changes in a domain's element; the other fields (a declared
 * GPU memory, whatever others put there) stay.
 */
typedef struct {
  const char *history;
  const char *reservation;
  gboolean set_workload;
  const char *workload;
} AmigoMetadataUpdate;

/* Applies @update to @dom's element in the live definition only: live
 * metadata travels with a live migration, and the persistent definition is
 * the administrator's. Takes a job: blocks while a migration runs; call it
 * off the main loop. Errors as amigo_metadata_io_read(), and
 * AMIGO_ERROR_BUSY when libvirt gave up waiting for the domain's job (30 s
 * of a longer migration). */
gboolean amigo_metadata_io_update (virDomainPtr dom, const AmigoMetadataUpdate *update, GError **error);

G_END_DECLS
