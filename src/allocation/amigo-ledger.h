/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host's reservation ledger: what the host can give per resource, what
 * running domains hold and what incoming migrations have reserved. Admission
 * checks and records a reservation in one step under the ledger's lock, so
 * simultaneous migrations can never over-commit the host. The ledger is
 * saved as versioned JSON (docs/allocation.md) and written atomically, so
 * after a crash it is exactly what it was. */

#include <glib.h>

#include "amigo/amigo-series.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/* Limits on what a ledger file can make amigod allocate. */
#define AMIGO_LEDGER_MAX_ENTRIES 65536
#define AMIGO_LEDGER_MAX_FILE_BYTES ((gsize) 16 * 1024 * 1024)
#define AMIGO_LEDGER_FORMAT_VERSION 1

/**
 * AmigoLedgerState:
 * @AMIGO_LEDGER_STATE_PENDING: reserved for an incoming migration that has
 *   not arrived; expires at its lease.
 * @AMIGO_LEDGER_STATE_HELD: the domain runs here and holds the amounts.
 */
typedef enum {
  AMIGO_LEDGER_STATE_PENDING,
  AMIGO_LEDGER_STATE_HELD,
  AMIGO_LEDGER_STATE_LAST
} AmigoLedgerState;

const char *amigo_ledger_state_to_string (AmigoLedgerState state);

/**
 * AmigoReservation:
 * @uuid: the domain's UUID.
 * @amounts: per #AmigoResource, in its unit (cores, GiB, Mbit/s, IOPS, GiB).
 * @lease_expiry_usec: a pending entry is released at this time if its
 *   domain has not arrived; a held one whose domain no longer runs is
 *   released by amigo_ledger_reconcile() once this time has passed.
 * @state: pending or held.
 */
typedef struct {
  char uuid[AMIGO_UUID_BUFLEN];
  double amounts[AMIGO_RESOURCE_LAST];
  gint64 lease_expiry_usec;
  AmigoLedgerState state;
} AmigoReservation;

typedef struct _AmigoLedger AmigoLedger;

/* A ledger whose room per resource is (@capacity - @reserve) x @overcommit.
 * @reserve and @overcommit may be NULL (none, 1.0). Refuses NaN, negative
 * values and a reserve above the capacity with AMIGO_ERROR_INVALID_ARGS. */
AmigoLedger *amigo_ledger_new (const double capacity[AMIGO_RESOURCE_LAST],
                               const double reserve[AMIGO_RESOURCE_LAST],
                               const double overcommit[AMIGO_RESOURCE_LAST], GError **error);
void amigo_ledger_free (AmigoLedger *self);

/* Replaces the capacity figures (node information or configuration
 * changed), keeping the entries. Same checks as amigo_ledger_new(). */
gboolean amigo_ledger_set_capacity (AmigoLedger *self, const double capacity[AMIGO_RESOURCE_LAST],
                                    const double reserve[AMIGO_RESOURCE_LAST],
                                    const double overcommit[AMIGO_RESOURCE_LAST], GError **error);

/* Admission. Checks that @amounts fit in what is free after every entry and
 * records a pending reservation expiring @lease_usec after @now_usec, both
 * under one lock. Refused: AMIGO_ERROR_REFUSED, the message naming each
 * short resource, '; '-separated, as in "memory: need 1.42 GiB, 0.90 GiB
 * free after reservations". A domain that already has an entry:
 * AMIGO_ERROR_BUSY. Bad UUID or amounts: AMIGO_ERROR_INVALID_ARGS. */
gboolean amigo_ledger_reserve (AmigoLedger *self, const char *uuid, const double amounts[AMIGO_RESOURCE_LAST],
                               gint64 lease_usec, gint64 now_usec, AmigoReservation *ret_reservation,
                               GError **error);

/* Records what a running domain holds, without admission (it runs already).
 * Replaces an existing entry of that domain. */
gboolean amigo_ledger_hold (AmigoLedger *self, const char *uuid, const double amounts[AMIGO_RESOURCE_LAST],
                            gint64 lease_expiry_usec, GError **error);

/* Drops the domain's entry; AMIGO_ERROR_NOT_FOUND if it has none. */
gboolean amigo_ledger_release (AmigoLedger *self, const char *uuid, GError **error);

/* Pending -> held: the domain has arrived. AMIGO_ERROR_NOT_FOUND if it has
 * no entry; an entry already held is left alone. */
gboolean amigo_ledger_activate (AmigoLedger *self, const char *uuid, GError **error);

/* Releases the pending entries whose lease ended at or before @now_usec;
 * returns how many. */
guint amigo_ledger_expire (AmigoLedger *self, gint64 now_usec);

/* Settles the ledger against the domains libvirt runs (@running, a
 * NULL-terminated list of UUIDs): a pending entry whose domain runs becomes
 * held; an entry whose domain does not run and whose lease has ended is
 * released. Either count may be NULL. */
void amigo_ledger_reconcile (AmigoLedger *self, const char *const *running, gint64 now_usec,
                             guint *ret_activated, guint *ret_released);

/* Per resource: the room (after reserve and overcommit) and what is free
 * after every entry (negative if capacity shrank below the entries). */
void amigo_ledger_get_room (AmigoLedger *self, double ret_room[AMIGO_RESOURCE_LAST]);
void amigo_ledger_get_free (AmigoLedger *self, double ret_free[AMIGO_RESOURCE_LAST]);

/* A copy of the domain's entry; FALSE if it has none. */
gboolean amigo_ledger_lookup (AmigoLedger *self, const char *uuid, AmigoReservation *ret_reservation);

/* A copy of every entry, in the order they were made. */
GArray *amigo_ledger_dup_entries (AmigoLedger *self);

/* Writes the ledger to @path atomically and durably, mode 0600
 * (amigo_file_write_atomic()); AMIGO_ERROR_FAILED names the step and file
 * that failed. */
gboolean amigo_ledger_save (AmigoLedger *self, const char *path, GError **error);

/* Reads a ledger saved by amigo_ledger_save(). A missing file:
 * AMIGO_ERROR_NOT_FOUND. A damaged one is set aside as
 * '<path>.corrupt-<unix time>' and AMIGO_ERROR_CORRUPT names what was wrong
 * and where the file went. A newer format version: AMIGO_ERROR_NOT_SUPPORTED,
 * file left in place. */
AmigoLedger *amigo_ledger_load (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoLedger, amigo_ledger_free)

G_END_DECLS
