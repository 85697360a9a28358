/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-resource-map.h"

#include <math.h>

/* The one mapping from collected metrics to forecast resources. Metrics
 * that are no resource of their own (dirty_rate feeds the migration
 * overhead model) are not listed. */
static const AmigoResourceSource resource_sources[] = {
  [AMIGO_RESOURCE_CPU] = { AMIGO_RESOURCE_CPU, 1, { AMIGO_METRIC_CPU }, "cores", 1.0 },
  [AMIGO_RESOURCE_MEMORY] = { AMIGO_RESOURCE_MEMORY, 1, { AMIGO_METRIC_MEMORY }, "GiB", 1.0 },
  [AMIGO_RESOURCE_NETWORK] = { AMIGO_RESOURCE_NETWORK, 2, { AMIGO_METRIC_NET_RX, AMIGO_METRIC_NET_TX }, "Mbit/s", 1.0 },
  [AMIGO_RESOURCE_DISK] = { AMIGO_RESOURCE_DISK, 2, { AMIGO_METRIC_DISK_READ, AMIGO_METRIC_DISK_WRITE }, "IOPS", 1.0 },
  [AMIGO_RESOURCE_GPU_MEMORY] = { AMIGO_RESOURCE_GPU_MEMORY, 1, { AMIGO_METRIC_GPU_MEMORY }, "GiB", 1.0 },
};

G_STATIC_ASSERT (G_N_ELEMENTS (resource_sources) == AMIGO_RESOURCE_LAST);

const AmigoResourceSource *
amigo_resource_source (AmigoResource resource)
{
  if ((guint) resource >= AMIGO_RESOURCE_LAST)
    return NULL;
  return &resource_sources[resource];
}

void
amigo_resource_values_from_sample (const AmigoSample *sample, double *ret_values)
{
  g_return_if_fail (sample != NULL && ret_values != NULL);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceSource *src = &resource_sources[r];
    double sum = 0.0;

    for (guint i = 0; i < src->n_parts; i++)
      sum += sample->values[src->parts[i]];
    /* NAN in any part leaves the sum NAN: see the header */
    ret_values[r] = isfinite (sum) ? sum * src->scale : NAN;
  }
}
