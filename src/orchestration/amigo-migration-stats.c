/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-stats.h"

#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"

void
amigo_migration_stats_init (AmigoMigrationStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->job_type = VIR_DOMAIN_JOB_NONE;
}

/* Where one libvirt figure goes: a guint64 member (bytes, a count) or a
 * gint64 one read from milliseconds. */
typedef enum {
  KIND_U64,
  KIND_MSEC,
  KIND_DIRTY_PAGES,     /* pages/s: times the page size, once both are read */
  KIND_PAGE_SIZE,
  KIND_POSTCOPY_REQS,
  KIND_BPS,
} Kind;

typedef struct {
  const char *name;
  guint field;
  Kind kind;
  gsize offset;
} Param;

static const Param params_table[] = {
  { VIR_DOMAIN_JOB_MEMORY_TOTAL, AMIGO_MIGRATION_STATS_MEMORY, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, memory_total_bytes) },
  { VIR_DOMAIN_JOB_MEMORY_PROCESSED, AMIGO_MIGRATION_STATS_MEMORY, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, memory_processed_bytes) },
  { VIR_DOMAIN_JOB_MEMORY_REMAINING, AMIGO_MIGRATION_STATS_MEMORY, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, memory_remaining_bytes) },
  { VIR_DOMAIN_JOB_DATA_TOTAL, AMIGO_MIGRATION_STATS_DATA, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, data_total_bytes) },
  { VIR_DOMAIN_JOB_DATA_PROCESSED, AMIGO_MIGRATION_STATS_DATA, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, data_processed_bytes) },
  { VIR_DOMAIN_JOB_DATA_REMAINING, AMIGO_MIGRATION_STATS_DATA, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, data_remaining_bytes) },
  { VIR_DOMAIN_JOB_MEMORY_ITERATION, AMIGO_MIGRATION_STATS_ITERATION, KIND_U64,
    G_STRUCT_OFFSET (AmigoMigrationStats, iteration) },
  { VIR_DOMAIN_JOB_DOWNTIME, AMIGO_MIGRATION_STATS_DOWNTIME, KIND_MSEC,
    G_STRUCT_OFFSET (AmigoMigrationStats, downtime_usec) },
  { VIR_DOMAIN_JOB_TIME_ELAPSED, AMIGO_MIGRATION_STATS_ELAPSED, KIND_MSEC,
    G_STRUCT_OFFSET (AmigoMigrationStats, elapsed_usec) },
  { VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, AMIGO_MIGRATION_STATS_DIRTY_RATE, KIND_DIRTY_PAGES, 0 },
  { VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, 0, KIND_PAGE_SIZE, 0 },
  { VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, 0, KIND_POSTCOPY_REQS, 0 },
  { VIR_DOMAIN_JOB_MEMORY_BPS, AMIGO_MIGRATION_STATS_BANDWIDTH, KIND_BPS, 0 },
};

static const Param *
find_param (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (params_table); i++) {
    if (strcmp (params_table[i].name, name) == 0)
      return &params_table[i];
  }
  return NULL;
}

gboolean
amigo_migration_stats_parse (int type,
                             virTypedParameterPtr params,
                             int n,
                             AmigoMigrationStats *ret,
                             GError **error)
{
  AmigoMigrationStats s;
  guint64 dirty_pages = 0;
  guint64 page_size = 4096;   /* QEMU's on x86 when libvirt does not say */

  amigo_migration_stats_init (&s);
  s.job_type = type;
  for (int i = 0; i < n; i++) {
    const Param *p = find_param (params[i].field);
    guint64 v;

    if (p == NULL)
      continue;
    if (params[i].type != VIR_TYPED_PARAM_ULLONG) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "job statistics: parameter '%s' has type %d, expected an unsigned long long",
                   params[i].field, params[i].type);
      return FALSE;
    }
    v = params[i].value.ul;
    s.present |= p->field;
    switch (p->kind) {
    case KIND_U64:
      G_STRUCT_MEMBER (guint64, &s, p->offset) = v;
      break;
    case KIND_MSEC:
      G_STRUCT_MEMBER (gint64, &s, p->offset) = (gint64) MIN (v, (guint64) G_MAXINT64 / 1000) *
                                                AMIGO_USEC_PER_MSEC;
      break;
    case KIND_DIRTY_PAGES:
      dirty_pages = v;
      break;
    case KIND_PAGE_SIZE:
      if (v > 0)
        page_size = v;
      break;
    case KIND_POSTCOPY_REQS:
      /* counted only once the destination runs the guest */
      s.postcopy = v > 0;
      break;
    case KIND_BPS:
      s.bandwidth_bytes_s = (double) v;
      break;
    }
  }
  s.dirty_rate_bytes_s = (double) dirty_pages * (double) page_size;
  if ((s.present & AMIGO_MIGRATION_STATS_MEMORY) && s.memory_remaining_bytes > s.memory_total_bytes) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "job statistics: '%s' %" G_GUINT64_FORMAT " is above '%s' %" G_GUINT64_FORMAT,
                 VIR_DOMAIN_JOB_MEMORY_REMAINING, s.memory_remaining_bytes, VIR_DOMAIN_JOB_MEMORY_TOTAL,
                 s.memory_total_bytes);
    return FALSE;
  }
  if ((s.present & AMIGO_MIGRATION_STATS_DATA) && s.data_remaining_bytes > s.data_total_bytes) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "job statistics: '%s' %" G_GUINT64_FORMAT " is above '%s' %" G_GUINT64_FORMAT,
                 VIR_DOMAIN_JOB_DATA_REMAINING, s.data_remaining_bytes, VIR_DOMAIN_JOB_DATA_TOTAL,
                 s.data_total_bytes);
    return FALSE;
  }
  *ret = s;
  return TRUE;
}

double
amigo_migration_stats_percent (const AmigoMigrationStats *stats)
{
  if (!(stats->present & AMIGO_MIGRATION_STATS_MEMORY) || stats->memory_total_bytes == 0)
    return -1;
  /* Migrate's contract: processed / total. Pages sent again in later rounds
   * count again, so it is capped rather than passing 100 before the end. */
  return MIN (100.0, 100.0 * (double) stats->memory_processed_bytes / (double) stats->memory_total_bytes);
}
