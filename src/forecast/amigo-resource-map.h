/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where telemetry meets the forecast: which collected metrics
 * (amigo-metric.h) make each forecast resource (amigo-series.h), and in
 * which unit. The daemon turns its samples into resource series with it. */

#include <glib.h>

#include "amigo-metric.h"
#include "amigo/amigo-series.h"

G_BEGIN_DECLS

#define AMIGO_RESOURCE_MAX_PARTS 2

/**
 * AmigoResourceSource:
 * @resource: the resource this entry makes.
 * @n_parts: how many metrics are summed (1 or 2).
 * @parts: the metrics summed.
 * @metric_unit: the unit every part is collected in (amigo_metric_unit()).
 * @scale: resource units per metric unit (the sum is multiplied by it).
 *
 * One resource and the metrics it is made of.
 */
typedef struct {
  AmigoResource resource;
  guint n_parts;
  AmigoMetric parts[AMIGO_RESOURCE_MAX_PARTS];
  const char *metric_unit;
  double scale;
} AmigoResourceSource;

/* The entry for @resource; NULL for a value out of range. */
const AmigoResourceSource *amigo_resource_source (AmigoResource resource);

/* Fills @ret_values[AMIGO_RESOURCE_LAST] from one sample. A resource is
 * known only when every part is (finite): a partial sum (rx known, tx missing) would
 * read as a dip and pull the reservation down, whereas NAN is a gap every
 * forecaster skips. Pure: no state, no allocation. */
void amigo_resource_values_from_sample (const AmigoSample *sample, double *ret_values);

G_END_DECLS
