/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-migration-start.h"

#include <gio/gio.h>
#include <math.h>

#include "amigo-migration-timing.h"
#include "amigo-time.h"

/* The history the forecast reads: a week at 5-minute steps (what the
 * timing module reads at most, at the step its models were measured on). */
#define HISTORY_USEC (7 * AMIGO_USEC_PER_DAY)
#define STEP_USEC (5 * AMIGO_USEC_PER_MIN)

typedef struct {
  char *uuid;
  gint64 now_usec;
  gint64 deadline_usec;
  gint64 duration_usec;
  gint64 start_usec;                       /* of the series */
  guint n;                                 /* bins */
  double *values[AMIGO_MIGRATION_TIMING_N_SERIES];
  gint64 chosen_usec;                      /* the result */
  char *reason;
  AmigoMigrationStartChosen done;
  gpointer user_data;
  GDestroyNotify user_data_free;
} StartChoice;

static void
start_choice_free (gpointer data)
{
  StartChoice *c = data;

  for (guint i = 0; i < AMIGO_MIGRATION_TIMING_N_SERIES; i++)
    g_free (c->values[i]);
  if (c->user_data_free != NULL)
    c->user_data_free (c->user_data);
  g_free (c->uuid);
  g_free (c->reason);
  g_free (c);
}

/* Worker thread: touches nothing but @c. */
static void
choose_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  StartChoice *c = data;
  AmigoMigrationTimingInput in;
  AmigoMigrationTiming out;
  AmigoSeries series[AMIGO_MIGRATION_TIMING_N_SERIES];
  g_autoptr (GError) error = NULL;

  amigo_migration_timing_input_init (&in);
  for (guint i = 0; i < AMIGO_MIGRATION_TIMING_N_SERIES; i++) {
    series[i] = (AmigoSeries) { c->start_usec, STEP_USEC, c->n, c->values[i] };
    in.series[i] = c->n > 0 ? &series[i] : NULL;
  }
  in.now_usec = c->now_usec;
  in.deadline_usec = c->deadline_usec;
  in.duration_usec = MAX (c->duration_usec, AMIGO_USEC_PER_SEC);
  /* the same VM and moment give the same answer */
  in.seed = g_str_hash (c->uuid) ^ (guint64) c->now_usec;
  if (!amigo_migration_timing_choose (&in, &out, &error)) {
    c->chosen_usec = c->now_usec;
    c->reason = g_strdup_printf ("starting now: the start-time forecast failed: %s", error->message);
  } else {
    c->chosen_usec = out.start_usec;
    c->reason = g_steal_pointer (&out.reason);
    amigo_migration_timing_clear (&out);
  }
  g_task_return_boolean (task, TRUE);
}

static void
on_chosen (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StartChoice *c = g_task_get_task_data (G_TASK (result));

  c->done (c->user_data, c->chosen_usec, c->reason);
}

void
amigo_migration_start_choose (AmigoHistory *history,
                              const char *uuid,
                              gint64 now_usec,
                              gint64 deadline_usec,
                              gint64 duration_usec,
                              AmigoMigrationStartChosen done,
                              gpointer user_data,
                              GDestroyNotify user_data_free)
{
  StartChoice *c = g_new0 (StartChoice, 1);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree double *all = NULL;
  static const AmigoMetric metric[AMIGO_MIGRATION_TIMING_N_SERIES] = {
    [AMIGO_MIGRATION_TIMING_CPU] = AMIGO_METRIC_CPU,
    [AMIGO_MIGRATION_TIMING_NETWORK] = AMIGO_METRIC_NET_TX,   /* plus NET_RX below */
    [AMIGO_MIGRATION_TIMING_MEMORY] = AMIGO_METRIC_MEMORY,
    [AMIGO_MIGRATION_TIMING_DIRTY_RATE] = AMIGO_METRIC_DIRTY_RATE,
  };

  c->uuid = g_strdup (uuid);
  c->now_usec = now_usec;
  c->deadline_usec = deadline_usec;
  c->duration_usec = duration_usec;
  c->done = done;
  c->user_data = user_data;
  c->user_data_free = user_data_free;
  /* one read of the store, the main loop's only part */
  if (!amigo_history_series_all (history, uuid, STEP_USEC, now_usec - HISTORY_USEC, now_usec - 1, FALSE, &all,
                                 &c->n, &c->start_usec, &error)) {
    g_debug ("no history for the start-time forecast of %s: %s", uuid, error->message);
    c->n = 0;
  }
  for (guint i = 0; i < AMIGO_MIGRATION_TIMING_N_SERIES && c->n > 0; i++) {
    c->values[i] = g_new (double, c->n);
    for (guint b = 0; b < c->n; b++) {
      const double *bin = all + (gsize) b * AMIGO_METRIC_LAST;
      double v = bin[metric[i]];

      /* the link carries both directions */
      if (i == AMIGO_MIGRATION_TIMING_NETWORK)
        v = isnan (v) ? bin[AMIGO_METRIC_NET_RX] : isnan (bin[AMIGO_METRIC_NET_RX]) ? v : v + bin[AMIGO_METRIC_NET_RX];
      c->values[i][b] = v;
    }
  }
  task = g_task_new (NULL, NULL, on_chosen, NULL);
  g_task_set_task_data (task, c, start_choice_free);
  g_task_run_in_thread (task, choose_thread);
}
