/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-metric.h"

#include <math.h>

#include "amigo-enum.h"

static const struct {
  const char *name;
  const char *unit;
} metric_table[] = {
  [AMIGO_METRIC_CPU] = { "cpu", "cores" },
  [AMIGO_METRIC_MEMORY] = { "memory", "GiB" },
  [AMIGO_METRIC_NET_RX] = { "net_rx", "Mbit/s" },
  [AMIGO_METRIC_NET_TX] = { "net_tx", "Mbit/s" },
  [AMIGO_METRIC_DISK_READ] = { "disk_read", "IOPS" },
  [AMIGO_METRIC_DISK_WRITE] = { "disk_write", "IOPS" },
  [AMIGO_METRIC_GPU_MEMORY] = { "gpu_memory", "GiB" },
  [AMIGO_METRIC_DIRTY_RATE] = { "dirty_rate", "MiB/s" },
  [AMIGO_METRIC_HOST_MEMORY] = { "host_memory", "GiB" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (metric_table) == AMIGO_METRIC_LAST);

AMIGO_ENUM_IMPL_FIELD (amigo_metric_to_string, AmigoMetric, metric_table, name)
AMIGO_ENUM_IMPL_FIELD (amigo_metric_unit, AmigoMetric, metric_table, unit)
AMIGO_ENUM_IMPL_FROM_STRING (amigo_metric, AmigoMetric, AMIGO_ENUM_TABLE (metric_table, name))
AMIGO_ENUM_IMPL_JOIN_NAMES (amigo_metric, AMIGO_ENUM_TABLE (metric_table, name))

void
amigo_sample_init (AmigoSample *sample, gint64 time_usec)
{
  sample->time_usec = time_usec;
  for (guint i = 0; i < AMIGO_METRIC_LAST; i++)
    sample->values[i] = NAN;
}
