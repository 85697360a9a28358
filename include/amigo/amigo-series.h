/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoResource:
 * @AMIGO_RESOURCE_CPU: CPU, cores.
 * @AMIGO_RESOURCE_MEMORY: memory, GiB.
 * @AMIGO_RESOURCE_NETWORK: network, Mbit/s (received + transmitted).
 * @AMIGO_RESOURCE_DISK: disk, IOPS (read + write); traces that only give
 *   throughput are evaluated in their own unit.
 * @AMIGO_RESOURCE_GPU_MEMORY: GPU memory, GiB.
 *
 * The resources a reservation is made for.
 */
typedef enum {
  AMIGO_RESOURCE_CPU,
  AMIGO_RESOURCE_MEMORY,
  AMIGO_RESOURCE_NETWORK,
  AMIGO_RESOURCE_DISK,
  AMIGO_RESOURCE_GPU_MEMORY,
  AMIGO_RESOURCE_LAST
} AmigoResource;

const char *amigo_resource_to_string (AmigoResource resource);
const char *amigo_resource_unit (AmigoResource resource);
gboolean amigo_resource_from_string (const char *name, AmigoResource *ret_resource);
/* "cpu, memory, ...", each name behind @prefix (NULL = none), for messages. */
char *amigo_resource_join_names (const char *prefix);

/**
 * AmigoSeries:
 * @start_usec: time of values[0], microseconds since the epoch.
 * @step_usec: spacing of the samples (> 0).
 * @n_values: number of samples.
 * @values: the samples; NAN marks a missing one (never use 0 for "unknown").
 *
 * A regularly spaced series, borrowed: the forecast library never frees or
 * keeps @values beyond the call it was given to.
 */
typedef struct {
  gint64 start_usec;
  gint64 step_usec;
  gsize n_values;
  const double *values;
} AmigoSeries;

G_END_DECLS
