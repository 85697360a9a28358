/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "amigo-conf.h"

G_BEGIN_DECLS

/*
 * The destination side's admission: the host's reservation ledger
 * (amigo-ledger) kept in the state directory, fed with the host's capacity
 * when amigod reaches libvirt, asked by AdmitMigration with nothing but the
 * incoming domain's XML, and settled against the domains libvirt runs after
 * every poll. Nothing here calls libvirt: AdmitMigration runs while libvirtd
 * waits in the qemu hook, and a call back into it can deadlock.
 * Every change is saved (ledger.json, written atomically) before it is
 * answered, so after a crash the ledger is exactly what it was.
 */

#define AMIGO_ADMISSION_LEDGER_FILE "ledger.json"

typedef struct _AmigoAdmission AmigoAdmission;

/* Loads @ledger_path if it exists (a damaged file is set aside and logged;
 * the ledger then starts empty). @conf is borrowed and must outlive it. */
AmigoAdmission *amigo_admission_new (const AmigoConf *conf, const char *ledger_path);
void amigo_admission_free (AmigoAdmission *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoAdmission, amigo_admission_free)

/* The host's CPUs and memory as libvirt reports them (virNodeGetInfo), read
 * when amigod connects and reconnects; the other capacities come from
 * [allocation]. Until the first call the capacity loaded from the ledger file
 * is used, and without one AdmitMigration is not answered. */
void amigo_admission_set_node (AmigoAdmission *self, guint cpus, guint64 memory_bytes);

/* AdmitMigration: reserves for the domain of @xml (its request if it carries
 * a fresh one, else its declared size and class prior; the log says which)
 * and returns the XML with the reservation as initial tunables, and what was
 * decided (@ret_info, a{sv} as documented in org.amigo.Daemon1.xml).
 * Errors: AMIGO_ERROR_REFUSED naming the short resources; AMIGO_ERROR_BAD_DATA
 * for an XML amigo cannot read; AMIGO_ERROR_NOT_SUPPORTED before the host's
 * capacity is known; AMIGO_ERROR_FAILED if the ledger cannot be saved (then
 * nothing is reserved). */
gboolean amigo_admission_admit (AmigoAdmission *self, const char *xml, gint64 now_usec,
                                char **ret_xml, GVariant **ret_info, GError **error);

/* ReleaseReservation: drops the domain's entry; none is not an error.
 * AMIGO_ERROR_INVALID_ARGS for a malformed UUID. */
gboolean amigo_admission_release (AmigoAdmission *self, const char *uuid, const char *reason, GError **error);

/* After a poll: @running the UUIDs of the domains libvirt runs (NULL
 * terminated). Pending entries whose domain runs become held, entries whose
 * domain is gone are released (a held one at once: the domain stopped or
 * left; a pending one when its lease ends). */
void amigo_admission_reconcile (AmigoAdmission *self, const char *const *running, gint64 now_usec);

/* GetLedger (a{sv}) and ListReservations (aa{sv}), floating references. */
GVariant *amigo_admission_get_ledger (AmigoAdmission *self);
GVariant *amigo_admission_list_reservations (AmigoAdmission *self);

G_END_DECLS
