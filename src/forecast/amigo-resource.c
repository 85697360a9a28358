/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-series.h"

#include "amigo-enum.h"

static const struct {
  const char *name;
  const char *unit;
} resource_table[] = {
  [AMIGO_RESOURCE_CPU] = { "cpu", "cores" },
  [AMIGO_RESOURCE_MEMORY] = { "memory", "GiB" },
  [AMIGO_RESOURCE_NETWORK] = { "network", "Mbit/s" },
  [AMIGO_RESOURCE_DISK] = { "disk", "IOPS" },
  [AMIGO_RESOURCE_GPU_MEMORY] = { "gpu_memory", "GiB" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (resource_table) == AMIGO_RESOURCE_LAST);

AMIGO_ENUM_IMPL_FIELD (amigo_resource_to_string, AmigoResource, resource_table, name)
AMIGO_ENUM_IMPL_FIELD (amigo_resource_unit, AmigoResource, resource_table, unit)
AMIGO_ENUM_IMPL_FROM_STRING (amigo_resource, AmigoResource, AMIGO_ENUM_TABLE (resource_table, name))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_resource, AMIGO_ENUM_TABLE (resource_table, name))
