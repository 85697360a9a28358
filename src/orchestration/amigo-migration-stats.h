/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One reading of a migration job's statistics (virDomainGetJobStats), in
 * amigo's units, read from libvirt's typed parameters. Kept apart from the
 * state machine (amigo-migration.h) so that the parse is tested with
 * hand-built parameters and the state machine never sees libvirt. */

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/**
 * AmigoMigrationStatsField:
 * Bits of #AmigoMigrationStats.present: which figures libvirt gave (QEMU
 * reports some only after the first round, e.g. the dirty rate).
 */
typedef enum {
  AMIGO_MIGRATION_STATS_MEMORY = 1 << 0,        /* memory_total/processed/remaining */
  AMIGO_MIGRATION_STATS_DATA = 1 << 1,          /* data_total/processed/remaining */
  AMIGO_MIGRATION_STATS_DIRTY_RATE = 1 << 2,
  AMIGO_MIGRATION_STATS_ITERATION = 1 << 3,
  AMIGO_MIGRATION_STATS_DOWNTIME = 1 << 4,      /* expected (running) or measured (completed) */
  AMIGO_MIGRATION_STATS_ELAPSED = 1 << 5,
  AMIGO_MIGRATION_STATS_BANDWIDTH = 1 << 6,
} AmigoMigrationStatsField;

/**
 * AmigoMigrationStats:
 * @job_type: libvirt's virDomainJobType: VIR_DOMAIN_JOB_NONE (no job: not
 *   started yet, or ended), _UNBOUNDED (running), _COMPLETED, _FAILED,
 *   _CANCELLED.
 * @present: which figures below were given (#AmigoMigrationStatsField).
 * @memory_total_bytes: guest memory to transfer.
 * @memory_processed_bytes: memory sent so far (pages sent again count again).
 * @memory_remaining_bytes: memory still to send.
 * @data_total_bytes: everything to transfer (memory and disks).
 * @data_processed_bytes: sent so far: the data sent.
 * @data_remaining_bytes: still to send: what a stall is judged on.
 * @dirty_rate_bytes_s: pages dirtied per second x the page size.
 * @iteration: the pre-copy round (1 = the first pass over memory).
 * @downtime_usec: while running, QEMU's expected pause if it switched over
 *   now; in completed statistics, the measured pause.
 * @elapsed_usec: since the migration started.
 * @bandwidth_bytes_s: the memory transfer rate now (memory_bps).
 * @postcopy: the domain is in post-copy (post-copy page requests counted,
 *   or the source paused with reason post-copy).
 * @paused: the source domain is paused (with reason migration: the
 *   switch-over's stop-and-copy).
 *
 * Sizes in bytes, times in microseconds (libvirt gives milliseconds).
 */
typedef struct {
  int job_type;
  guint present;
  guint64 memory_total_bytes;
  guint64 memory_processed_bytes;
  guint64 memory_remaining_bytes;
  guint64 data_total_bytes;
  guint64 data_processed_bytes;
  guint64 data_remaining_bytes;
  double dirty_rate_bytes_s;
  guint64 iteration;
  gint64 downtime_usec;
  gint64 elapsed_usec;
  double bandwidth_bytes_s;
  gboolean postcopy;
  gboolean paused;
} AmigoMigrationStats;

/* Nothing present, no job. */
void amigo_migration_stats_init (AmigoMigrationStats *stats);

/* Reads the @n @params of virDomainGetJobStats() (job @type) into @ret.
 * Unknown parameters are ignored (newer libvirt adds some); a known one of
 * another type than unsigned long long, or a remaining figure larger than
 * its total, fails with AMIGO_ERROR_BAD_DATA naming the parameter, and
 * @ret is left alone. */
gboolean amigo_migration_stats_parse (int type,
                                      virTypedParameterPtr params,
                                      int n,
                                      AmigoMigrationStats *ret,
                                      GError **error);

/* Memory processed / total x 100 (at most 100), or -1 when not known. */
double amigo_migration_stats_percent (const AmigoMigrationStats *stats);

G_END_DECLS
