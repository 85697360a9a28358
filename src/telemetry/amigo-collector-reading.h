/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One libvirt statistics record of one domain, decoded, and the rates
 * between two of them: the pure part of the collector (telemetry-internal). */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-metric.h"

G_BEGIN_DECLS

/* virDomainDirtyRateStatus, also where libvirt is older than 7.2 */
#if LIBVIR_CHECK_VERSION(7, 2, 0)
#define AMIGO_DIRTYRATE_MEASURING VIR_DOMAIN_DIRTYRATE_MEASURING
#define AMIGO_DIRTYRATE_MEASURED VIR_DOMAIN_DIRTYRATE_MEASURED
#else
#define AMIGO_DIRTYRATE_MEASURING 1
#define AMIGO_DIRTYRATE_MEASURED 2
#endif

/* The balloon group of one record, in libvirt's units (KiB; seconds since
 * the epoch for last_update). */
typedef struct {
  gboolean has_rss, has_available, has_usable, has_unused, has_last_update;
  guint64 rss, available, usable, unused;
  gint64 last_update;
} AmigoCollectorBalloon;

/* One record, decoded. */
typedef struct {
  gboolean has_cpu;
  guint64 cpu_ns;
  AmigoCollectorBalloon balloon;
  gboolean has_dirty_status;
  gint64 dirty_status;       /* dirtyrate.calc_status */
  double dirty_mib;
  gboolean net_known;        /* net.count present: interface stats were collected */
  gboolean net_unnamed;      /* an interface with counters but no name */
  GHashTable *nets;          /* name -> DevCounters */
  gboolean block_known;
  gboolean block_unnamed;
  GHashTable *disks;         /* name -> DevCounters (top of each chain only) */
} AmigoCollectorReading;

void amigo_collector_reading_init (AmigoCollectorReading *r);
void amigo_collector_reading_clear (AmigoCollectorReading *r);

/* Fills @r (initialised) from one record; fields that are missing or of a
 * type that makes no sense stay unknown. */
void amigo_collector_reading_decode (AmigoCollectorReading *r, virTypedParameterPtr params, int nparams);

/* The guest's own figure of what it uses, GiB, or NAN; @fresh FALSE when
 * its balloon figures are too old to be current. */
double amigo_collector_reading_guest_memory_gib (const AmigoCollectorBalloon *b, gboolean fresh);

/* Sets the rate metrics of @s from two readings @dt_sec apart. */
void amigo_collector_reading_rates (const AmigoCollectorReading *prev, const AmigoCollectorReading *cur,
                                    double dt_sec, AmigoSample *s);

G_END_DECLS
