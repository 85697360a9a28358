/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-allocation.h"
#include "amigo-metadata.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/*
 * An incoming domain's XML, as libvirt hands it to the qemu hook on
 * "migrate begin": what it declares, the reservation it asks for, and the
 * same XML with a reservation written in as the domain's initial tunables.
 * Pure string functions: nothing here calls libvirt (libvirtd is waiting
 * inside the hook; a call back into it can deadlock).
 */

/* Larger domain XMLs are refused (the same bound as the metadata reader's
 * and the hook's stdin). */
#define AMIGO_DOMAIN_XML_MAX_BYTES AMIGO_METADATA_MAX_DOMAIN_XML_BYTES

/**
 * AmigoDomainSize: what a domain XML declares.
 * @name: <name>.
 * @uuid: <uuid>, canonical lower-case text.
 * @vcpus: vCPUs online at start (<vcpu current='N'>, else the <vcpu> count).
 * @vcpus_max: the <vcpu> count.
 * @memory_bytes: <memory> (the most the guest can have), bytes.
 * @current_memory_bytes: <currentMemory>, bytes; @memory_bytes if absent.
 * @n_interfaces: <devices><interface> elements.
 * @n_disks: <devices><disk> elements with device='disk' (not cdrom, floppy, lun).
 * @workload: amigo metadata's workload label (e.g. "database"), NULL if none.
 * @request: amigo metadata's reservation request text (JSON), NULL if none.
 * @gpu_memory_gib: amigo metadata's declared GPU memory, NAN if none.
 * @metadata_problem: why amigo's metadata could not be read (the domain is
 *   then treated as having none), NULL if it was read or absent.
 */
typedef struct {
  char *name;
  char uuid[AMIGO_UUID_BUFLEN];
  guint vcpus;
  guint vcpus_max;
  guint64 memory_bytes;
  guint64 current_memory_bytes;
  guint n_interfaces;
  guint n_disks;
  char *workload;
  char *request;
  double gpu_memory_gib;
  char *metadata_problem;
} AmigoDomainSize;

void amigo_domain_size_free (AmigoDomainSize *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoDomainSize, amigo_domain_size_free)

/* Reads what @xml declares. AMIGO_ERROR_BAD_DATA names what is wrong: not
 * well-formed (with line and column), not a <domain>, a missing or malformed
 * <name>, <uuid>, <vcpu> or <memory>, an unknown memory unit, a size that
 * overflows. A malformed amigo metadata element is not an error (see
 * @metadata_problem). */
AmigoDomainSize *amigo_domain_size_parse (const char *xml, GError **error);

/* Parses a memory amount as libvirt writes it: @value a decimal integer,
 * @unit one of b, bytes, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB, PB,
 * P, PiB, EB, E, EiB (KB = 1000, k = KiB = 1024, ...); NULL means KiB. */
gboolean amigo_domain_xml_parse_memory (const char *value, const char *unit,
                                        guint64 *ret_bytes, GError **error);

/**
 * AmigoAllocationSource:
 * @AMIGO_ALLOCATION_SOURCE_REQUEST: the source host's request in the
 *   domain's amigo metadata.
 * @AMIGO_ALLOCATION_SOURCE_PRIOR: the declared size and the workload class
 *   prior (no request, or one that could not be read).
 */
typedef enum {
  AMIGO_ALLOCATION_SOURCE_REQUEST,
  AMIGO_ALLOCATION_SOURCE_PRIOR,
} AmigoAllocationSource;

const char *amigo_allocation_source_to_string (AmigoAllocationSource source);

/* Reads a request's JSON text (the <amigo:reservation> element) into per
 * resource amounts. The daemon wires it to the request module's parser
 * (amigo_request_from_json() and the reservation's per-resource amounts);
 * amigo_domain_reservation() needs no more than this. */
typedef gboolean (*AmigoRequestParseFunc) (const char *json,
                                           AmigoAllocation *ret,
                                           GError **error);

/* The CPU a domain without history is expected to use at most, as a share of
 * its vCPUs, by workload class ("database", "web_server", ...; NULL or an
 * unknown name = "unknown"). */
double amigo_domain_xml_prior_cpu_ceiling (const char *workload);

/* The prior: CPU = vCPUs x the class's ceiling, memory = <memory>, GPU memory
 * = the declared one; network and disk are not asked (a domain XML declares
 * no rate). */
void amigo_domain_prior (const AmigoDomainSize *size, AmigoAllocation *ret);

/* What to reserve for the incoming domain: its request if it carries one
 * that @parse reads (@parse NULL: requests are ignored), else the prior.
 * @ret_note (optional) says in one line where the amounts came from and,
 * for the prior, why no request was used; the caller logs it. */
void amigo_domain_reservation (const AmigoDomainSize *size,
                               AmigoRequestParseFunc parse,
                               AmigoAllocation *ret,
                               AmigoAllocationSource *ret_source,
                               char **ret_note);

G_END_DECLS
