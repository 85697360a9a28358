/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "amigo/amigo-model.h"

G_BEGIN_DECLS

/* The Kubernetes VPA recommender's constants (see docs/forecast-models.md). */
#define AMIGO_MODEL_VPA_HALF_LIFE_USEC (G_GINT64_CONSTANT (24) * 3600 * 1000000)
#define AMIGO_MODEL_VPA_BUCKET_GROWTH 0.05
#define AMIGO_MODEL_VPA_TARGET_PERCENTILE 0.9
#define AMIGO_MODEL_VPA_SAFETY_MARGIN 0.15
#define AMIGO_MODEL_VPA_CPU_FIRST_BUCKET 0.01      /* cores */
#define AMIGO_MODEL_VPA_MEMORY_FIRST_BUCKET 1e7    /* bytes */
#define AMIGO_MODEL_VPA_MEMORY_INTERVAL_USEC (G_GINT64_CONSTANT (24) * 3600 * 1000000)
#define AMIGO_MODEL_VPA_MEMORY_INTERVAL_COUNT 8
#define AMIGO_MODEL_VPA_MIN_CPU 0.025              /* cores (25 millicores) */
#define AMIGO_MODEL_VPA_MIN_MEMORY_GIB (250.0 / 1024.0) /* 250 MiB */

/* Start of bucket @index of the histogram VPA uses for @resource, in the
 * unit of the series (cores, GiB, ...). Exposed for tests and docs. */
double amigo_model_vpa_bucket_start (AmigoResource resource, gsize index);

/* The recommendation (target) of a fitted "vpa" model, in the series unit. */
double amigo_model_vpa_recommendation (const AmigoModel *model);

G_END_DECLS
