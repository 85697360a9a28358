/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoMetric:
 * @AMIGO_METRIC_CPU: CPU in use, cores (1.0 = one host CPU fully busy).
 * @AMIGO_METRIC_MEMORY: memory in use, GiB.
 * @AMIGO_METRIC_NET_RX: network received, Mbit/s.
 * @AMIGO_METRIC_NET_TX: network transmitted, Mbit/s.
 * @AMIGO_METRIC_DISK_READ: disk read operations per second.
 * @AMIGO_METRIC_DISK_WRITE: disk write operations per second.
 * @AMIGO_METRIC_GPU_MEMORY: GPU memory, GiB.
 * @AMIGO_METRIC_DIRTY_RATE: guest page-dirty rate, MiB/s.
 * @AMIGO_METRIC_HOST_MEMORY: what the VM's memory costs its host, GiB: the
 *   QEMU process's resident size (libvirt's `balloon.rss`). A pre-copy
 *   migration fills the destination up to the pages the guest has touched,
 *   page cache included, which the guest's own "in use" figure leaves out.
 *
 * What the collector measures per domain and the history store keeps. A
 * missing reading is NAN, never 0.
 */
typedef enum {
  AMIGO_METRIC_CPU,
  AMIGO_METRIC_MEMORY,
  AMIGO_METRIC_NET_RX,
  AMIGO_METRIC_NET_TX,
  AMIGO_METRIC_DISK_READ,
  AMIGO_METRIC_DISK_WRITE,
  AMIGO_METRIC_GPU_MEMORY,
  AMIGO_METRIC_DIRTY_RATE,
  AMIGO_METRIC_HOST_MEMORY,
  AMIGO_METRIC_LAST
} AmigoMetric;

const char *amigo_metric_to_string (AmigoMetric metric);
const char *amigo_metric_unit (AmigoMetric metric);
gboolean amigo_metric_from_string (const char *name, AmigoMetric *ret_metric);
/* "cpu, memory, ...", each name behind @prefix (NULL = none), for messages. */
char *amigo_metric_join_names (const char *prefix);

/* One reading of every metric of one domain. */
typedef struct {
  gint64 time_usec;                    /* wall clock, microseconds since the epoch */
  double values[AMIGO_METRIC_LAST];    /* NAN where not known */
} AmigoSample;

void amigo_sample_init (AmigoSample *sample, gint64 time_usec);

G_END_DECLS
