/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between amigo-history.c (storage) and amigo-history-summary.c (the
 * summary that travels with a migrated domain). Not installed. */

#include "amigo-history.h"

G_BEGIN_DECLS

typedef struct {
  const char *uuid;
  const char *name;              /* may be NULL */
  gint64 step_usec;
  gint64 retention_usec;
  gint64 last_time_usec;         /* newest known time of the domain */
} AmigoHistorySummarySource;

/* One regular series: @n bins of @step_usec from @start_usec; @mean and
 * @max hold n * AMIGO_METRIC_LAST values, [bin * AMIGO_METRIC_LAST + metric]. */
typedef struct {
  gint64 start_usec;
  gint64 step_usec;
  guint n;
  double *mean;
  double *max;
} AmigoHistorySummarySeries;

gboolean amigo_history_summary_source (AmigoHistory *self,
                                       const char *uuid,
                                       AmigoHistorySummarySource *ret,
                                       GError **error);
void amigo_history_summary_resample (AmigoHistory *self,
                                     const char *uuid,
                                     gint64 start,
                                     gint64 step,
                                     guint n,
                                     double *mean,
                                     double *max);
/* Adds the points of @series the domain does not have yet (creating the
 * domain if needed); never replaces or overlaps a stored point. */
gboolean amigo_history_summary_merge (AmigoHistory *self,
                                      const char *uuid,
                                      const char *name,
                                      const AmigoHistorySummarySeries *series,
                                      guint n_series,
                                      guint *ret_imported,
                                      GError **error);

G_END_DECLS
