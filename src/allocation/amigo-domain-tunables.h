/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-allocation.h"

G_BEGIN_DECLS

/*
 * An allocation written into an incoming domain's XML as its initial
 * tunables, so that the destination QEMU starts with its resources in place
 * (the qemu hook's "migrate begin" output replaces the incoming XML).
 */

/**
 * AmigoDomainTunablesOptions:
 * @shares_per_core: <cputune><shares> per reserved core (1024 = the
 *   default weight of one cgroup).
 * @shares_max: upper bound of <shares>; 10000 is the largest weight cgroup v2
 *   accepts (v1 accepts up to 262144), so the default is valid on both.
 * @cap_cpu: also cap CPU at the reservation (<global_quota> over
 *   <global_period>); FALSE leaves any cap the domain has.
 * @period_usec: <global_period> when capping.
 */
typedef struct {
  double shares_per_core;
  guint shares_max;
  gboolean cap_cpu;
  guint period_usec;
} AmigoDomainTunablesOptions;

void amigo_domain_tunables_options_init (AmigoDomainTunablesOptions *options);

/* @xml with @alloc written in as initial tunables; every resource that is
 * not NAN replaces what amigo owns in the XML:
 * - cpu_cores: <cputune><shares> (and <global_period>/<global_quota> with
 *   @cap_cpu);
 * - memory_gib: <memtune><soft_limit unit='KiB'> (never hard_limit: a hard
 *   limit in the XML makes QEMU's start fail without CAP_SYS_RESOURCE, and a
 *   reservation is a floor under contention, not a ceiling);
 * - disk_iops: <iotune><total_iops_sec> of each disk with device='disk',
 *   split evenly (read/write iops limits are removed: libvirt refuses them
 *   beside a total);
 * - network_mbit_s: <bandwidth><inbound average> and <outbound average> of
 *   each interface libvirt can shape (network, bridge, direct, ethernet),
 *   split evenly over them, each direction the whole share.
 *   libvirt shapes with tc and an sfq qdisc; where the kernel has no sfq
 *   (the lab machines) the incoming domain then fails to start and the
 *   migration fails after admission: the caller passes NAN on such hosts.
 * Everything else is kept byte for byte. @options NULL = defaults.
 * AMIGO_ERROR_BAD_DATA if @xml is not a domain XML (names what and where);
 * AMIGO_ERROR_INVALID_ARGS for a negative or infinite amount. */
char *amigo_domain_tunables_apply (const char *xml,
                                   const AmigoAllocation *alloc,
                                   const AmigoDomainTunablesOptions *options,
                                   GError **error);

G_END_DECLS
