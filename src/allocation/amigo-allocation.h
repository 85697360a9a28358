/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

/**
 * AmigoAllocation: what a domain is given (or asks for), per resource, in
 * the units of AmigoResource (amigo-series.h), fields in its order.
 * NAN = not asked / left alone.
 * @cpu_cores: host cores (1.0 = one host CPU fully busy).
 * @memory_gib: memory, GiB.
 * @network_mbit_s: network, Mbit/s, received + transmitted (as
 *   AMIGO_RESOURCE_NETWORK); as a tunable each direction gets all of it,
 *   since either one may carry the whole.
 * @disk_iops: disk operations per second, all disks together.
 * @gpu_memory_gib: GPU memory, GiB.
 */
typedef struct {
  double cpu_cores;
  double memory_gib;
  double network_mbit_s;
  double disk_iops;
  double gpu_memory_gib;
} AmigoAllocation;

static inline void
amigo_allocation_init (AmigoAllocation *self)
{
  self->cpu_cores = NAN;
  self->memory_gib = NAN;
  self->network_mbit_s = NAN;
  self->disk_iops = NAN;
  self->gpu_memory_gib = NAN;
}

G_END_DECLS
