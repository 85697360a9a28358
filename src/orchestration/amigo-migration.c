/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration.h"

#include <string.h>

#include "amigo-duration.h"
#include "amigo-enum.h"
#include "amigo-time.h"

AMIGO_ENUM_IMPL (amigo_migration_phase, AmigoMigrationPhase, AMIGO_MIGRATION_PHASE_LAST, "unknown",
                 [AMIGO_MIGRATION_PHASE_REFRESHING] = "refreshing",
                 [AMIGO_MIGRATION_PHASE_WAITING] = "waiting",
                 [AMIGO_MIGRATION_PHASE_STARTING] = "starting",
                 [AMIGO_MIGRATION_PHASE_PRECOPY] = "precopy",
                 [AMIGO_MIGRATION_PHASE_POSTCOPY] = "postcopy",
                 [AMIGO_MIGRATION_PHASE_SWITCHOVER] = "switchover",
                 [AMIGO_MIGRATION_PHASE_ENDED] = "ended")

struct _AmigoMigration {
  AmigoClock *clock;
  AmigoMigrationPlan plan;
  AmigoMigrationPhase phase;
  gint64 start_at_usec;          /* wall clock, while waiting */
  gboolean was_started;          /* libvirt's call made */
  gint64 started_mono_usec;
  AmigoMigrationStats stats;     /* the last fed */

  gboolean have_low;
  guint64 lowest_remaining;      /* bytes */
  gint64 lowest_mono_usec;       /* when it was last lowered */

  gboolean postcopy_asked;
  gboolean postcopy_refused;     /* libvirt refused the switch */
  gboolean abort_sent;           /* an abort is out (not refused) */
  gboolean cancelled;
  char *timeout_reason;          /* amigo aborted it: why */
};

AmigoMigration *
amigo_migration_new (AmigoClock *clock, const AmigoMigrationPlan *plan)
{
  AmigoMigration *self = g_new0 (AmigoMigration, 1);

  self->clock = clock;
  amigo_migration_plan_copy (&self->plan, plan);
  self->phase = AMIGO_MIGRATION_PHASE_REFRESHING;
  amigo_migration_stats_init (&self->stats);
  return self;
}

void
amigo_migration_free (AmigoMigration *self)
{
  if (self == NULL)
    return;
  amigo_migration_plan_clear (&self->plan);
  g_free (self->timeout_reason);
  g_free (self);
}

AmigoMigrationPhase
amigo_migration_get_phase (const AmigoMigration *self)
{
  return self->phase;
}

void
amigo_migration_wait (AmigoMigration *self, gint64 start_at_usec)
{
  g_return_if_fail (self->phase == AMIGO_MIGRATION_PHASE_REFRESHING);
  self->phase = AMIGO_MIGRATION_PHASE_WAITING;
  self->start_at_usec = start_at_usec;
}

void
amigo_migration_start (AmigoMigration *self)
{
  g_return_if_fail (self->phase < AMIGO_MIGRATION_PHASE_STARTING);
  self->phase = AMIGO_MIGRATION_PHASE_STARTING;
  self->was_started = TRUE;
  self->started_mono_usec = amigo_clock_get_monotonic_usec (self->clock);
  /* a stall is counted from the start, before the first figure comes */
  self->lowest_mono_usec = self->started_mono_usec;
}

static gboolean
started (const AmigoMigration *self)
{
  return self->phase >= AMIGO_MIGRATION_PHASE_STARTING && self->phase < AMIGO_MIGRATION_PHASE_ENDED;
}

static gboolean
job_running (const AmigoMigrationStats *stats)
{
  return stats->job_type == VIR_DOMAIN_JOB_UNBOUNDED || stats->job_type == VIR_DOMAIN_JOB_BOUNDED;
}

static void
move_phase (AmigoMigration *self, const AmigoMigrationStats *stats)
{
  if (!job_running (stats))
    return;
  /* post-copy is never left until the end; a paused source outside
   * post-copy is the stop-and-copy */
  if (stats->postcopy || self->phase == AMIGO_MIGRATION_PHASE_POSTCOPY)
    self->phase = AMIGO_MIGRATION_PHASE_POSTCOPY;
  else if (stats->paused)
    self->phase = AMIGO_MIGRATION_PHASE_SWITCHOVER;
  else
    self->phase = AMIGO_MIGRATION_PHASE_PRECOPY;
}

static void
track_remaining (AmigoMigration *self, const AmigoMigrationStats *stats, gint64 now)
{
  guint64 remaining;

  /* QEMU's setup reports all zeros: nothing to send yet is no low */
  if ((stats->present & AMIGO_MIGRATION_STATS_DATA) && stats->data_total_bytes > 0)
    remaining = stats->data_remaining_bytes;
  else if ((stats->present & AMIGO_MIGRATION_STATS_MEMORY) && stats->memory_total_bytes > 0)
    remaining = stats->memory_remaining_bytes;
  else
    return;
  if (!self->have_low || remaining < self->lowest_remaining) {
    self->have_low = TRUE;
    self->lowest_remaining = remaining;
    self->lowest_mono_usec = now;
  }
}

/* Why amigo should give up now, or NULL. */
static char *
give_up_reason (AmigoMigration *self, gint64 now)
{
  if (self->plan.timeout_usec > 0 && now - self->started_mono_usec >= self->plan.timeout_usec) {
    g_autofree char *t = amigo_duration_format_rounded (self->plan.timeout_usec, 2);
    return g_strdup_printf ("not finished within its timeout of %s", t);
  }
  if (self->plan.stall_timeout_usec > 0 && now - self->lowest_mono_usec >= self->plan.stall_timeout_usec) {
    g_autofree char *t = amigo_duration_format_rounded (self->plan.stall_timeout_usec, 2);
    if (!self->have_low)
      return g_strdup_printf ("stalled: no transfer figures from libvirt for %s (stall timeout)", t);
    return g_strdup_printf ("stalled: the remaining data (lowest %.1f MiB) did not go down for %s "
                            "(stall timeout)", (double) self->lowest_remaining / AMIGO_BYTES_PER_MIB, t);
  }
  return NULL;
}

AmigoMigrationAction
amigo_migration_feed (AmigoMigration *self, const AmigoMigrationStats *stats)
{
  gint64 now = amigo_clock_get_monotonic_usec (self->clock);
  gboolean postcopy_plan = self->plan.mode == AMIGO_MIGRATION_MODE_POSTCOPY;
  g_autofree char *reason = NULL;

  if (!started (self))
    return AMIGO_MIGRATION_ACTION_NONE;
  if (stats != NULL) {
    self->stats = *stats;
    move_phase (self, stats);
    track_remaining (self, stats, now);
  }
  if (self->cancelled || self->timeout_reason != NULL) {
    /* an abort refused earlier (no job yet) is asked again once the job runs */
    if (!self->abort_sent && stats != NULL && job_running (stats) &&
        self->phase != AMIGO_MIGRATION_PHASE_POSTCOPY && !(self->postcopy_asked && !self->postcopy_refused)) {
      self->abort_sent = TRUE;
      return AMIGO_MIGRATION_ACTION_ABORT;
    }
    return AMIGO_MIGRATION_ACTION_NONE;
  }
  /* once post-copy was asked, libvirt may be in it before a reading says so:
   * an abort then would lose the guest (only a refused switch is undone) */
  if (self->phase == AMIGO_MIGRATION_PHASE_POSTCOPY || self->phase == AMIGO_MIGRATION_PHASE_SWITCHOVER ||
      (self->postcopy_asked && !self->postcopy_refused))
    return AMIGO_MIGRATION_ACTION_NONE;
  /* a post-copy plan is one pass over memory, then post-copy */
  if (postcopy_plan && !self->postcopy_asked && stats != NULL && job_running (stats) &&
      (stats->present & AMIGO_MIGRATION_STATS_ITERATION) && stats->iteration >= 2) {
    self->postcopy_asked = TRUE;
    return AMIGO_MIGRATION_ACTION_POSTCOPY;
  }
  reason = give_up_reason (self, now);
  if (reason == NULL)
    return AMIGO_MIGRATION_ACTION_NONE;
  if (postcopy_plan && !self->postcopy_asked) {
    self->postcopy_asked = TRUE;
    return AMIGO_MIGRATION_ACTION_POSTCOPY;
  }
  self->timeout_reason = g_steal_pointer (&reason);
  self->abort_sent = TRUE;
  return AMIGO_MIGRATION_ACTION_ABORT;
}

AmigoMigrationAction
amigo_migration_cancel (AmigoMigration *self)
{
  if (self->phase == AMIGO_MIGRATION_PHASE_ENDED)
    return AMIGO_MIGRATION_ACTION_NONE;
  self->cancelled = TRUE;
  if (!started (self))
    return AMIGO_MIGRATION_ACTION_NONE;
  if (self->abort_sent || self->phase == AMIGO_MIGRATION_PHASE_POSTCOPY ||
      (self->postcopy_asked && !self->postcopy_refused))
    return AMIGO_MIGRATION_ACTION_NONE;
  self->abort_sent = TRUE;
  return AMIGO_MIGRATION_ACTION_ABORT;
}

void
amigo_migration_postcopy_started (AmigoMigration *self)
{
  if (started (self))
    self->phase = AMIGO_MIGRATION_PHASE_POSTCOPY;
}

void
amigo_migration_postcopy_failed (AmigoMigration *self)
{
  self->postcopy_refused = TRUE;
}

void
amigo_migration_abort_failed (AmigoMigration *self)
{
  self->abort_sent = FALSE;
}

gboolean
amigo_migration_is_cancelled (const AmigoMigration *self)
{
  return self->cancelled;
}

/* The marker libvirt puts before a hook's stderr, and the one amigo-hook
 * puts before its reason (src/hook/amigo-hook.c, docs/hook.md). */
#define HOOK_FAILED "Hook script execution failed"
#define EXIT_STATUS "unexpected exit status "
#define AMIGO_PREFIX "amigo: "

char *
amigo_migration_refusal_reason (const char *libvirt_error)
{
  const char *p;
  g_autofree char *reason = NULL;

  if (libvirt_error == NULL || strstr (libvirt_error, HOOK_FAILED) == NULL)
    return NULL;
  p = strstr (libvirt_error, EXIT_STATUS);
  if (p == NULL)
    return NULL;
  p = strstr (p, ": ");
  if (p == NULL || !g_str_has_prefix (p + 2, AMIGO_PREFIX))
    return NULL;
  reason = g_strstrip (g_strdup (p + 2 + strlen (AMIGO_PREFIX)));
  /* one line: a hook may print more, the first says it */
  reason[strcspn (reason, "\n")] = '\0';
  if (*reason == '\0')
    return NULL;
  return g_steal_pointer (&reason);
}

void
amigo_migration_finish (AmigoMigration *self,
                        gboolean succeeded,
                        const char *libvirt_error,
                        AmigoMigrationOutcome *ret_outcome,
                        char **ret_error)
{
  g_autofree char *refusal = NULL;
  const char *why = libvirt_error != NULL && *libvirt_error != '\0' ? libvirt_error : "libvirt gave no reason";

  self->phase = AMIGO_MIGRATION_PHASE_ENDED;
  if (succeeded) {
    *ret_outcome = AMIGO_MIGRATION_OUTCOME_COMPLETED;
    *ret_error = NULL;
  } else if (self->cancelled) {
    *ret_outcome = AMIGO_MIGRATION_OUTCOME_CANCELLED;
    *ret_error = g_strdup (self->was_started ? "cancelled on request; the domain stays on this host"
                                                        : "cancelled on request before it started");
  } else if (self->timeout_reason != NULL) {
    *ret_outcome = AMIGO_MIGRATION_OUTCOME_TIMEOUT;
    *ret_error = g_strdup_printf ("aborted: %s", self->timeout_reason);
  } else if ((refusal = amigo_migration_refusal_reason (libvirt_error)) != NULL) {
    *ret_outcome = AMIGO_MIGRATION_OUTCOME_REFUSED;
    *ret_error = g_steal_pointer (&refusal);
  } else {
    g_autofree char *line = g_strdup (why);

    line[strcspn (line, "\n")] = '\0';
    *ret_outcome = AMIGO_MIGRATION_OUTCOME_FAILED;
    *ret_error = g_steal_pointer (&line);
  }
}

const AmigoMigrationStats *
amigo_migration_get_stats (const AmigoMigration *self)
{
  return &self->stats;
}

GVariant *
amigo_migration_progress_to_variant (const AmigoMigration *self)
{
  g_auto (GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const AmigoMigrationStats *s = &self->stats;
  double percent = amigo_migration_stats_percent (s);

  g_variant_dict_insert (&dict, "phase", "s", amigo_migration_phase_to_string (self->phase));
  if (self->phase == AMIGO_MIGRATION_PHASE_WAITING)
    g_variant_dict_insert (&dict, "start_at_usec", "x", self->start_at_usec);
  if (!started (self) || !job_running (s))
    return g_variant_dict_end (&dict);
  if (s->present & AMIGO_MIGRATION_STATS_ELAPSED)
    g_variant_dict_insert (&dict, "elapsed_usec", "x", s->elapsed_usec);
  /* QEMU's setup reads all zeros: not known yet, rather than nothing to send */
  if (s->memory_total_bytes == 0 && s->data_total_bytes == 0)
    return g_variant_dict_end (&dict);
  if (percent >= 0)
    g_variant_dict_insert (&dict, "percent", "d", percent);
  if (s->present & AMIGO_MIGRATION_STATS_MEMORY) {
    g_variant_dict_insert (&dict, "memory_total_bytes", "t", s->memory_total_bytes);
    g_variant_dict_insert (&dict, "memory_processed_bytes", "t", s->memory_processed_bytes);
    g_variant_dict_insert (&dict, "memory_remaining_bytes", "t", s->memory_remaining_bytes);
  }
  if (s->present & AMIGO_MIGRATION_STATS_DATA) {
    g_variant_dict_insert (&dict, "data_sent_bytes", "t", s->data_processed_bytes);
    g_variant_dict_insert (&dict, "data_remaining_bytes", "t", s->data_remaining_bytes);
  }
  if (s->present & AMIGO_MIGRATION_STATS_DIRTY_RATE)
    g_variant_dict_insert (&dict, "dirty_rate_mib_s", "d", s->dirty_rate_bytes_s / AMIGO_BYTES_PER_MIB);
  if (s->present & AMIGO_MIGRATION_STATS_DOWNTIME)
    g_variant_dict_insert (&dict, "expected_downtime_usec", "x", s->downtime_usec);
  if (s->present & AMIGO_MIGRATION_STATS_ITERATION)
    g_variant_dict_insert (&dict, "iteration", "t", s->iteration);
  if (s->present & AMIGO_MIGRATION_STATS_BANDWIDTH)
    g_variant_dict_insert (&dict, "bandwidth_mib_s", "d", s->bandwidth_bytes_s / AMIGO_BYTES_PER_MIB);
  return g_variant_dict_end (&dict);
}
