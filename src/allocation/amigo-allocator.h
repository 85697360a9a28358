/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The allocator: when the PID loops of the managed domains together want
 * more of a resource than the host has, it decides who gets what, by SLO
 * priority, and records every cap it makes. Pure: no I/O, no clock; the
 * same input gives the same output in the same order.
 *
 * Per resource, each domain's demand is cut into layers served in turn:
 *
 * 1. its hard minimum: the policy's least allocation and, for memory, what
 *    the domain uses (memory is never taken below use: a running VM's
 *    memory cannot be handed back on demand; a limit below its use makes
 *    the guest swap or the host's OOM killer end it, which is an outage,
 *    not a slowdown);
 * 2. its reservation floor (what admission gave it), up to its want;
 * 3. the rest of its want.
 *
 * Layers 2 and 3 are each handed out in rank order: protected demand (a
 * resource the domain's SLO is about) before unprotected demand, higher
 * priority first within each; domains of equal rank share what is left in
 * proportion to their unmet demand (each gets the same fraction of it).
 * Hence lower-priority domains are capped first, and a protected resource
 * of a domain is never capped below its reservation while a lower-ranked
 * domain holds more than its floor, memory in use aside (layer 1). Ties in
 * rank are ordered by id. */

#include <glib.h>

#include "amigo/amigo-series.h"
#include "amigo-slo-policy.h"

G_BEGIN_DECLS

/**
 * AmigoAllocatorDomain:
 * @id: the domain's name or UUID, for records and to order equal ranks.
 * @priority: SLO priority, higher served first (amigo-slo-policy.h).
 * @protects: per resource, TRUE if it is part of the domain's SLO.
 * @want: per resource, what its PID loop wants (demand plus headroom).
 * @floor: per resource, its admitted reservation.
 * @least: per resource, the least allocation its policy allows (0: none).
 * @used: per resource, measured usage; only memory's is a hard minimum.
 *
 * One managed domain, as the allocator sees it. Amounts are in the
 * resource's unit (cores, GiB, Mbit/s, IOPS, GiB).
 */
typedef struct {
  const char *id;
  int priority;
  gboolean protects[AMIGO_RESOURCE_LAST];
  double want[AMIGO_RESOURCE_LAST];
  double floor[AMIGO_RESOURCE_LAST];
  double least[AMIGO_RESOURCE_LAST];
  double used[AMIGO_RESOURCE_LAST];
} AmigoAllocatorDomain;

/**
 * AmigoAllocatorRecord:
 * @domain: index of the capped domain in the input.
 * @resource: the capped resource.
 * @from: what the domain wanted.
 * @to: what it was given.
 * @protected_domain: index of the highest-ranked domain whose protected
 *   @resource was served ahead of the capped one, or -1 if none (the cap
 *   only shared the resource between equal ranks or unprotected demand).
 * @at_risk: TRUE if @resource is protected by the capped domain itself: its
 *   SLO is at risk.
 * @below_floor: TRUE if @to is below the domain's reservation: even the
 *   admitted reservations do not fit (capacity shrank, or overcommit).
 *
 * One capping decision, for the log.
 */
typedef struct {
  guint domain;
  AmigoResource resource;
  double from;
  double to;
  int protected_domain;
  gboolean at_risk;
  gboolean below_floor;
} AmigoAllocatorRecord;

/* A domain @id whose SLO policy is @policy and whose admitted reservation
 * is @request: its priority and protected resources from @policy, its floor
 * @request, its least allocation the policy's min fraction of @request.
 * @want and @used are zero: the caller fills them from the PID loops and
 * the measurements. @id is borrowed. */
void amigo_allocator_domain_init (AmigoAllocatorDomain *domain, const char *id,
                                  const AmigoSloDomainPolicy *policy,
                                  const double request[AMIGO_RESOURCE_LAST]);

/* Decides the allocation of each of the @n_domains @domains within
 * @capacity (per resource, what the ledger has room for) into
 * @ret_allocations (@n_domains rows of AMIGO_RESOURCE_LAST, in the order of
 * @domains). An uncontended resource gives every domain its want. The total
 * exceeds the capacity only if the hard minima (memory in use) do.
 * @ret_records (may be NULL) receives a new array of #AmigoAllocatorRecord,
 * by resource, then the first capped (lowest rank) first. A NaN, infinite
 * or negative amount or a NULL id: AMIGO_ERROR_INVALID_ARGS naming the
 * domain and field; nothing is written. */
gboolean amigo_allocator_decide (const double capacity[AMIGO_RESOURCE_LAST],
                                 const AmigoAllocatorDomain *domains, guint n_domains,
                                 double (*ret_allocations)[AMIGO_RESOURCE_LAST], GArray **ret_records,
                                 GError **error);

/* The record as a log line, e.g. "cpu of 'batch-1' capped 4.00 -> 1.00 cores
 * to serve the protected cpu of 'web-1'; no SLO at risk". */
char *amigo_allocator_record_format (const AmigoAllocatorRecord *record, const AmigoAllocatorDomain *domains);

G_END_DECLS
