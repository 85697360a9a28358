/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo/amigo-series.h"

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

const char *
amigo_resource_to_string (AmigoResource resource)
{
  g_return_val_if_fail (resource < AMIGO_RESOURCE_LAST, NULL);
  return resource_table[resource].name;
}

const char *
amigo_resource_unit (AmigoResource resource)
{
  g_return_val_if_fail (resource < AMIGO_RESOURCE_LAST, NULL);
  return resource_table[resource].unit;
}

gboolean
amigo_resource_from_string (const char *name, AmigoResource *ret_resource)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < AMIGO_RESOURCE_LAST; i++) {
    if (g_strcmp0 (resource_table[i].name, name) == 0) {
      if (ret_resource != NULL)
        *ret_resource = i;
      return TRUE;
    }
  }
  return FALSE;
}
