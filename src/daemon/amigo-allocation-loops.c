/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-allocation-loops.h"

#include <math.h>
#include <string.h>

#include "amigo-actuator.h"
#include "amigo-allocation-calls.h"
#include "amigo-allocator.h"
#include "amigo-error.h"
#include "amigo-job-runner.h"
#include "amigo-log.h"
#include "amigo-metric.h"
#include "amigo-slo-policy.h"
#include "amigo-time.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define CPU_PERIOD_USEC 100000
/* The least CPU quota written: the kernel refuses below 1 ms. */
#define CPU_QUOTA_MIN_USEC 1000
/* A cap is logged again only when it moved by more than this fraction:
 * a contended host caps the same domain every tick. */
#define CAP_LOG_CHANGE 0.05
/* The share of the host's CPU kept for its own processes unless told the
 * ledger's reserve: a confined host's quota covers libvirtd, amigod, the
 * bridge and the services guests talk to as well as the domains, so all of
 * it given to domains leaves those nothing. (In the lab, allocation-contention
 * showed no difference it could tell from the machine's noise: 0.875 of the
 * web guest's work rate without a reserve, 0.712 with it, at the same 0.94
 * cores of use.) */
#define HOST_CPU_RESERVE_FRACTION 0.1
/* Domains followed at most (a bound on what the host can make us hold). */
#define MAX_ENTRIES 4096

/* The resources with a loop: the direct actuators write a CPU quota and a
 * memory soft limit. Disk IOPS need the host block device (the lab's disks
 * are served over NBD: none), bandwidth no cgroup shapes. */
static const AmigoResource looped[] = { AMIGO_RESOURCE_CPU, AMIGO_RESOURCE_MEMORY };

const char *
amigo_loops_action_to_string (AmigoLoopsAction action)
{
  static const char *const names[] = { "none", "start", "run", "handback" };

  return (guint) action < G_N_ELEMENTS (names) ? names[action] : "unknown";
}

AmigoPidPhase
amigo_loops_phase (gint64 running_since_usec, gint64 now_usec, gint64 switchover_usec, gint64 settle_usec,
                   double *ret_progress)
{
  gint64 ran = now_usec - running_since_usec;

  *ret_progress = 0;
  if (running_since_usec == 0)
    return AMIGO_PID_PHASE_PRECOPY;
  if (ran < switchover_usec)
    return AMIGO_PID_PHASE_SWITCHOVER;
  if (ran < switchover_usec + settle_usec) {
    *ret_progress = (double) (ran - switchover_usec) / (double) settle_usec;
    return AMIGO_PID_PHASE_SETTLE;
  }
  *ret_progress = 1;
  return AMIGO_PID_PHASE_STEADY;
}

AmigoLoopsAction
amigo_loops_decide (const AmigoLoopsObservation *obs, gboolean managed, gboolean stopped, AmigoPidPhase phase)
{
  if (stopped || !obs->known)
    return AMIGO_LOOPS_ACTION_NONE;
  if (!managed)
    return obs->incoming ? AMIGO_LOOPS_ACTION_START : AMIGO_LOOPS_ACTION_NONE;
  /* Settled: hand back once libvirt would take the call at once (a call
   * made while a job holds the domain waits for it, and then overwrites
   * whatever was written directly meanwhile). */
  if (phase == AMIGO_PID_PHASE_STEADY && obs->running && !obs->job_active)
    return AMIGO_LOOPS_ACTION_HANDBACK;
  return AMIGO_LOOPS_ACTION_RUN;
}

/* ---- state ---- */

typedef struct {
  gint64 time_usec;
  double setpoint;
  double measurement;
  double output;
  double pressure;
} LoopPoint;

typedef struct {
  AmigoPid *pid;          /* NULL: no loop for this resource */
  GArray *history;        /* LoopPoint, at most AMIGO_ALLOCATION_LOOPS_HISTORY */
  AmigoPidPhase phase;
  double last_logged_cap; /* 0: not capped */
} Loop;

typedef struct {
  char uuid[AMIGO_UUID_BUFLEN];
  char *name;
  AmigoLoopsObservation obs;
  gboolean arrived;             /* appeared after the first tick */
  gboolean managed;             /* its loops were started */
  gboolean stopped;             /* ... and stopped after the hand back */
  gboolean handback_pending;    /* a hand back job is out */
  gboolean touched;             /* something written directly since the last hand back */
  gboolean cpu_capped;          /* a neighbour's CPU quota written by a cap */
  gint64 running_since_usec;
  AmigoActuator *direct;
  AmigoActuatorSettings written; /* merged direct writes since the last hand back */
  AmigoActuatorReading prev_reading;
  gboolean have_reading;
  double floor[AMIGO_RESOURCE_LAST];
  AmigoSloDomainPolicy policy;
  Loop loops[AMIGO_RESOURCE_LAST];
  double last_cap_logged[AMIGO_RESOURCE_LAST];
} Entry;

struct _AmigoAllocationLoops {
  AmigoSloPolicy *policy;
  AmigoAllocationLoopsSources sources;
  gint64 interval_usec;
  gint64 settle_usec;
  GHashTable *entries;          /* uuid -> Entry */
  AmigoJobRunner *runner;       /* state, node information, hand back */
  double cpu_capacity;          /* cores; 0 unknown */
  double memory_capacity;       /* GiB; 0 unknown */
  gboolean capacity_asked;
  gboolean capacity_fixed;      /* set by a test */
  gboolean lift_caps;           /* a managed domain left before it settled */
  guint64 ticks;
  double cpu_reserve;           /* cores kept for the host; < 0: the default share */
};

static void
entry_free (gpointer p)
{
  Entry *e = p;

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    g_clear_pointer (&e->loops[r].pid, amigo_pid_free);
    g_clear_pointer (&e->loops[r].history, g_array_unref);
  }
  g_clear_pointer (&e->direct, amigo_actuator_free);
  g_free (e->name);
  g_free (e);
}

AmigoAllocationLoops *
amigo_allocation_loops_new (const char *slo_path, gint64 interval_usec, gint64 settle_usec,
                            const AmigoAllocationLoopsSources *sources)
{
  AmigoAllocationLoops *self = g_new0 (AmigoAllocationLoops, 1);
  g_autoptr (GError) error = NULL;

  self->policy = amigo_slo_policy_new ();
  if (slo_path != NULL && !amigo_slo_policy_load_file (self->policy, slo_path, &error)) {
    if (!g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
      g_warning ("ignoring the SLO policy file, running with the defaults: %s", error->message);
  }
  if (sources != NULL)
    self->sources = *sources;
  self->interval_usec = interval_usec;
  self->settle_usec = settle_usec;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->runner = amigo_job_runner_new (2);
  self->cpu_reserve = -1;
  return self;
}

void
amigo_allocation_loops_free (AmigoAllocationLoops *self)
{
  if (self == NULL)
    return;
  /* first: no job's end may reach the entries freed below */
  g_clear_pointer (&self->runner, amigo_job_runner_free);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->policy, amigo_slo_policy_free);
  g_free (self);
}

void
amigo_allocation_loops_set_cpu_capacity (AmigoAllocationLoops *self, double cores)
{
  self->cpu_capacity = cores;
  self->capacity_fixed = TRUE;
}

void
amigo_allocation_loops_set_cpu_reserve (AmigoAllocationLoops *self, double cores)
{
  self->cpu_reserve = cores;
}

static Entry *
entry_get (AmigoAllocationLoops *self, const char *uuid, const char *name)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);

  if (e != NULL || g_hash_table_size (self->entries) >= MAX_ENTRIES)
    return e;
  e = g_new0 (Entry, 1);
  g_strlcpy (e->uuid, uuid, sizeof e->uuid);
  e->name = g_strdup (name != NULL ? name : uuid);
  e->obs.id = -1;
  e->arrived = self->ticks > 1;
  g_hash_table_insert (self->entries, e->uuid, e);
  return e;
}

void
amigo_allocation_loops_observe (AmigoAllocationLoops *self, const char *uuid, const AmigoLoopsObservation *obs)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);

  if (e == NULL)
    return;
  /* A domain is incoming if it was paused for a migration when first seen,
   * or appeared while amigod ran (a short migration may have switched over
   * before the first answer came back). The source of an outgoing
   * migration pauses with the same reason at its end: one first seen
   * running is not incoming. */
  gboolean first = !e->obs.known;
  e->obs = *obs;
  e->obs.incoming = (obs->incoming && (first || e->managed)) || (first && e->arrived);
  e->obs.known = TRUE;
}

void
amigo_allocation_loops_forget (AmigoAllocationLoops *self, const char *uuid)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);

  /* a migration that failed or left again: the caps made for it go */
  if (e != NULL && e->managed && !e->stopped)
    self->lift_caps = TRUE;
  g_hash_table_remove (self->entries, uuid);
}

/* ---- the domain's policy and loops ---- */

static void
entry_policy (AmigoAllocationLoops *self, Entry *e)
{
  const char *label = self->sources.get_label != NULL ? self->sources.get_label (e->uuid, self->sources.user_data)
                                                      : NULL;
  AmigoWorkloadClass klass = AMIGO_WORKLOAD_CLASS_UNKNOWN;

  if (label != NULL)
    amigo_workload_class_from_string (label, &klass);
  amigo_slo_policy_lookup (self->policy, e->name, e->uuid, klass, &e->policy);
  memset (e->floor, 0, sizeof e->floor);
  if (self->sources.get_floor == NULL || !self->sources.get_floor (e->uuid, e->floor, self->sources.user_data)) {
    /* no admitted reservation: the declared size is what it may use */
    e->floor[AMIGO_RESOURCE_CPU] = MAX (e->obs.vcpus, 1);
    e->floor[AMIGO_RESOURCE_MEMORY] = e->obs.memory_gib;
  }
}

static void
entry_start (AmigoAllocationLoops *self, Entry *e, gint64 now_usec)
{
  entry_policy (self, e);
  e->managed = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (looped); i++) {
    AmigoResource r = looped[i];
    AmigoPidParams params;
    g_autoptr (GError) error = NULL;

    if (e->floor[r] <= 0)
      continue;
    amigo_slo_domain_policy_pid_params (&e->policy, r, e->floor[r], &params);
    /* it arrives with its reservation: the loop gives back what it does not use */
    e->loops[r].pid = amigo_pid_new (&params, e->floor[r], now_usec, &error);
    if (e->loops[r].pid == NULL) {
      amigo_log_domain (G_LOG_LEVEL_WARNING, e->uuid, e->name, "no %s loop for '%s': %s",
                        amigo_resource_to_string (r), e->name, error->message);
      continue;
    }
    e->loops[r].history = g_array_new (FALSE, FALSE, sizeof (LoopPoint));
  }
  amigo_log_domain (G_LOG_LEVEL_INFO, e->uuid, e->name,
                    "allocation loops of incoming domain '%s' started: class %s, priority %d, "
                    "floor %.2f cores, %.2f GiB", e->name, amigo_workload_class_to_string (e->policy.klass),
                    e->policy.params.priority, e->floor[AMIGO_RESOURCE_CPU], e->floor[AMIGO_RESOURCE_MEMORY]);
}

static double
measured (const AmigoTrackedDomain *d, AmigoResource r)
{
  if (d == NULL || d->last.time_usec == 0)
    return NAN;
  if (r == AMIGO_RESOURCE_CPU)
    return d->last.values[AMIGO_METRIC_CPU];
  /* the soft limit applies to what the cgroup is charged: QEMU's resident
   * memory, else the guest's own figure */
  return isfinite (d->last.values[AMIGO_METRIC_HOST_MEMORY]) ? d->last.values[AMIGO_METRIC_HOST_MEMORY]
                                                             : d->last.values[AMIGO_METRIC_MEMORY];
}

static gboolean
entry_direct (Entry *e)
{
  AmigoActuatorTarget target = { e->name, e->obs.id, 0, NULL };
  g_autoptr (GError) error = NULL;

  if (e->direct != NULL)
    return TRUE;
  e->direct = amigo_actuator_new_direct (&target, &error);
  if (e->direct == NULL)
    g_debug ("no direct actuator for '%s' yet: %s", e->name, error->message);
  return e->direct != NULL;
}

/* Pressure per looped resource from the domain's cgroup. */
static void
entry_pressure (Entry *e, double ret[AMIGO_RESOURCE_LAST])
{
  AmigoActuatorReading cur;
  g_autoptr (GError) error = NULL;

  memset (ret, 0, sizeof (double) * AMIGO_RESOURCE_LAST);
  if (!entry_direct (e) || !amigo_actuator_read_pressure (e->direct, &cur, &error))
    return;
  if (e->have_reading)
    ret[AMIGO_RESOURCE_CPU] = amigo_actuator_pressure_cpu (&e->prev_reading, &cur);
  ret[AMIGO_RESOURCE_MEMORY] = amigo_actuator_pressure_memory (&cur);
  e->prev_reading = cur;
  e->have_reading = TRUE;
}

static void
entry_step (AmigoAllocationLoops *self, Entry *e, const AmigoTrackedDomain *d, gint64 now_usec,
            double want[AMIGO_RESOURCE_LAST])
{
  double progress;
  AmigoPidPhase phase = amigo_loops_phase (e->running_since_usec, now_usec, self->interval_usec,
                                           self->settle_usec, &progress);
  double pressure[AMIGO_RESOURCE_LAST];

  entry_pressure (e, pressure);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    Loop *l = &e->loops[r];
    AmigoPidInput in = { measured (d, r), pressure[r], phase, progress };
    AmigoPidStep step;
    LoopPoint pt;

    if (l->pid == NULL)
      continue;
    l->phase = phase;
    if (phase == AMIGO_PID_PHASE_PRECOPY || !isfinite (in.usage)) {
      /* Paused for the pre-copy, what is measured here is QEMU receiving
       * memory, not the guest's demand: hold the reservation (or no sample
       * yet). */
      want[r] = amigo_pid_get_output (l->pid);
      continue;
    }
    want[r] = amigo_pid_update (l->pid, &in, now_usec, &step);
    pt = (LoopPoint) { now_usec, step.setpoint, in.usage, step.output, in.pressure };
    if (l->history->len >= AMIGO_ALLOCATION_LOOPS_HISTORY)
      g_array_remove_index (l->history, 0);
    g_array_append_val (l->history, pt);
  }
}

static void
entry_apply (Entry *e, const double alloc[AMIGO_RESOURCE_LAST], gboolean set_cpu, gboolean set_memory,
             gboolean cpu_unlimited)
{
  AmigoActuatorSettings want, written;
  g_autoptr (GError) error = NULL;

  if (!entry_direct (e))
    return;
  amigo_actuator_settings_init (&want);
  if (set_cpu) {
    want.cpu_period_usec = CPU_PERIOD_USEC;
    want.cpu_quota_usec = cpu_unlimited ? AMIGO_ACTUATOR_UNLIMITED
                                        : (guint64) MAX (CPU_QUOTA_MIN_USEC,
                                                         llround (alloc[AMIGO_RESOURCE_CPU] * CPU_PERIOD_USEC));
  }
  if (set_memory)
    want.memory_soft_limit_bytes = (guint64) llround (alloc[AMIGO_RESOURCE_MEMORY] * GIB);
  amigo_actuator_settings_init (&written);
  if (!amigo_actuator_apply (e->direct, &want, &written, &error)) {
    amigo_log_domain (G_LOG_LEVEL_WARNING, e->uuid, e->name, "cannot put the allocation of '%s' in force: %s",
                      e->name, error->message);
    return;
  }
  if (!amigo_actuator_settings_is_empty (&written)) {
    g_autofree char *text = amigo_actuator_settings_to_string (&written);
    amigo_actuator_settings_merge (&e->written, &written);
    e->touched = TRUE;
    g_debug ("wrote into the cgroup of '%s': %s", e->name, text);
  }
}

/* ---- libvirt, off the main loop (amigo-allocation-calls.c) ---- */

static AmigoAllocationCall *
call_new (AmigoAllocationLoops *self, virConnectPtr conn, const char *uuid, const char *name)
{
  AmigoAllocationCall *c = amigo_allocation_call_new (conn, uuid, name);

  c->owner = self;
  return c;
}

static void
observe_done (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  AmigoAllocationCall *c = data;

  if (error != NULL) {
    g_debug ("%s", error->message);
    return;
  }
  amigo_allocation_loops_observe (((AmigoAllocationLoops *) c->owner), uuid, &c->obs);
}

static void
node_done (const char *key, gpointer data, const GError *error, gpointer user_data)
{
  AmigoAllocationCall *c = data;
  AmigoAllocationLoops *self = ((AmigoAllocationLoops *) c->owner);
  double confined = amigo_actuator_confined_cpu_cores ();

  if (error != NULL) {
    g_warning ("cannot size the host for the allocation loops: %s", error->message);
    self->capacity_asked = FALSE;
    return;
  }
  if (!self->capacity_fixed)
    self->cpu_capacity = confined > 0 ? MIN (confined, c->node_cpus) : c->node_cpus;
  self->memory_capacity = c->node_memory_gib;
  g_message ("allocation loops: host capacity %.2f cores%s, %.2f GiB", self->cpu_capacity,
             confined > 0 ? " (the CFS quota of the cgroup above libvirt's)" : "", self->memory_capacity);
}

static void
handback_done (const char *uuid, gpointer data, const GError *error, gpointer user_data)
{
  AmigoAllocationCall *c = data;
  Entry *e = g_hash_table_lookup (((AmigoAllocationLoops *) c->owner)->entries, uuid);

  if (e == NULL)
    return;
  e->handback_pending = FALSE;
  if (error != NULL) {
    amigo_log_domain (G_LOG_LEVEL_WARNING, uuid, e->name, "cannot hand the allocation of '%s' back to libvirt: %s",
                      e->name, error->message);
    return;
  }
  if (c->decision == AMIGO_HANDBACK_WAIT)
    return;   /* a job holds it still: again at the next tick */
  amigo_log_domain (G_LOG_LEVEL_INFO, uuid, e->name, "allocation of '%s' handed back to libvirt (%s): %s", e->name,
                    amigo_handback_decision_to_string (c->decision), c->reason != NULL ? c->reason : "");
  amigo_actuator_settings_init (&e->written);
  e->touched = FALSE;
  e->cpu_capped = FALSE;
  if (e->managed) {
    e->stopped = TRUE;
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      g_clear_pointer (&e->loops[r].pid, amigo_pid_free);
    amigo_log_domain (G_LOG_LEVEL_INFO, uuid, e->name, "allocation loops of '%s' stopped", e->name);
  }
  g_clear_pointer (&e->direct, amigo_actuator_free);
}

static void
entry_handback (AmigoAllocationLoops *self, Entry *e, virConnectPtr conn)
{
  AmigoAllocationCall *c;

  if (conn == NULL || e->handback_pending)
    return;
  c = call_new (self, conn, e->uuid, e->name);
  c->direct = e->written;
  amigo_actuator_settings_init (&c->in_force);
  if (e->direct != NULL && !amigo_actuator_read_back (e->direct, &c->in_force, NULL))
    amigo_actuator_settings_init (&c->in_force);
  if (amigo_job_runner_submit (self->runner, e->uuid, amigo_allocation_call_handback, handback_done, c, amigo_allocation_call_free, self))
    e->handback_pending = TRUE;
}

/* ---- the tick ---- */

/* Logs each cap once, and again when it moved. */
static void
log_caps (GArray *records, const AmigoAllocatorDomain *domains, Entry **entries)
{
  for (guint i = 0; records != NULL && i < records->len; i++) {
    AmigoAllocatorRecord *rec = &g_array_index (records, AmigoAllocatorRecord, i);
    Entry *e = entries[rec->domain];
    double last = e->last_cap_logged[rec->resource];

    if (last > 0 && fabs (rec->to - last) <= CAP_LOG_CHANGE * last)
      continue;
    e->last_cap_logged[rec->resource] = rec->to;
    g_autofree char *line = amigo_allocator_record_format (rec, domains);
    amigo_log_domain (G_LOG_LEVEL_INFO, e->uuid, e->name, "%s", line);
  }
}

typedef double AllocRow[AMIGO_RESOURCE_LAST];

static void
decide_and_apply (AmigoAllocationLoops *self, GPtrArray *part, GArray *wants, AmigoDomainTable *domains)
{
  g_autofree AmigoAllocatorDomain *ad = g_new0 (AmigoAllocatorDomain, part->len);
  g_autofree AllocRow *alloc = g_new0 (AllocRow, part->len);
  double capacity[AMIGO_RESOURCE_LAST];
  g_autoptr (GArray) records = NULL;
  g_autoptr (GError) error = NULL;

  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    capacity[r] = G_MAXDOUBLE;
  if (self->cpu_capacity > 0)
    capacity[AMIGO_RESOURCE_CPU] =
      MAX (0, self->cpu_capacity - (self->cpu_reserve >= 0 ? self->cpu_reserve
                                                           : HOST_CPU_RESERVE_FRACTION * self->cpu_capacity));
  if (self->memory_capacity > 0)
    capacity[AMIGO_RESOURCE_MEMORY] = self->memory_capacity;
  for (guint i = 0; i < part->len; i++) {
    Entry *e = g_ptr_array_index (part, i);
    AmigoTrackedDomain *d = amigo_domain_table_lookup (domains, e->uuid);

    amigo_allocator_domain_init (&ad[i], e->name, &e->policy, e->floor);
    memcpy (ad[i].want, &g_array_index (wants, double, i * AMIGO_RESOURCE_LAST), sizeof ad[i].want);
    if (isfinite (measured (d, AMIGO_RESOURCE_MEMORY)))
      ad[i].used[AMIGO_RESOURCE_MEMORY] = measured (d, AMIGO_RESOURCE_MEMORY);
  }
  if (!amigo_allocator_decide (capacity, ad, part->len, alloc, &records, &error)) {
    g_debug ("allocator: %s", error->message);
    return;
  }
  log_caps (records, ad, (Entry **) part->pdata);
  for (guint i = 0; i < part->len; i++) {
    Entry *e = g_ptr_array_index (part, i);

    if (e->managed && !e->stopped) {
      for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
        if (e->loops[r].pid != NULL && alloc[i][r] < amigo_pid_get_output (e->loops[r].pid))
          amigo_pid_set_output (e->loops[r].pid, alloc[i][r]);   /* capped: go on from there */
      }
      entry_apply (e, alloc[i], e->loops[AMIGO_RESOURCE_CPU].pid != NULL,
                   e->loops[AMIGO_RESOURCE_MEMORY].pid != NULL, FALSE);
      continue;
    }
    /* a neighbour: only its CPU is capped (its memory is in use) */
    if (alloc[i][AMIGO_RESOURCE_CPU] < ad[i].want[AMIGO_RESOURCE_CPU] * (1 - 1e-6)) {
      entry_apply (e, alloc[i], TRUE, FALSE, FALSE);
      e->cpu_capped = TRUE;
    } else if (e->cpu_capped) {
      entry_apply (e, alloc[i], TRUE, FALSE, TRUE);
      e->cpu_capped = FALSE;
      e->last_cap_logged[AMIGO_RESOURCE_CPU] = 0;
    }
  }
}

void
amigo_allocation_loops_tick (AmigoAllocationLoops *self, AmigoDomainTable *domains, virConnectPtr conn,
                             gint64 now_usec)
{
  GPtrArray *list = amigo_domain_table_get_list (domains);
  g_autoptr (GPtrArray) part = g_ptr_array_new ();
  g_autoptr (GArray) wants = g_array_new (FALSE, TRUE, sizeof (double));
  gboolean any_managed = FALSE;

  self->ticks++;
  if (conn != NULL && !self->capacity_asked) {
    self->capacity_asked = TRUE;
    amigo_job_runner_submit (self->runner, "host", amigo_allocation_call_node, node_done, call_new (self, conn, "host", "host"),
                             amigo_allocation_call_free, self);
  }
  for (guint i = 0; list != NULL && i < list->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    Entry *e = entry_get (self, d->uuid, d->name);
    double progress;
    AmigoPidPhase phase;

    if (e == NULL)
      continue;
    if (e->managed && e->obs.running && e->running_since_usec == 0)
      e->running_since_usec = now_usec;
    phase = amigo_loops_phase (e->running_since_usec, now_usec, self->interval_usec, self->settle_usec, &progress);
    switch (amigo_loops_decide (&e->obs, e->managed, e->stopped, phase)) {
    case AMIGO_LOOPS_ACTION_START:
      entry_start (self, e, now_usec);
      G_GNUC_FALLTHROUGH;
    case AMIGO_LOOPS_ACTION_RUN:
      any_managed = TRUE;
      break;
    case AMIGO_LOOPS_ACTION_HANDBACK:
      entry_handback (self, e, conn);
      break;
    case AMIGO_LOOPS_ACTION_NONE:
    default:
      break;
    }
  }
  /* While a domain arrives, the others are its neighbours: in the
   * allocator with what they use plus their headroom, within their size. */
  for (guint i = 0; any_managed && list != NULL && i < list->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    Entry *e = g_hash_table_lookup (self->entries, d->uuid);
    double want[AMIGO_RESOURCE_LAST] = { 0 };

    if (e == NULL || !e->obs.known || e->handback_pending)
      continue;
    if (e->managed && !e->stopped) {
      entry_step (self, e, d, now_usec, want);
    } else {
      if (!e->obs.running)
        continue;
      entry_policy (self, e);
      for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
        double u = measured (d, r);
        if (r == AMIGO_RESOURCE_CPU || r == AMIGO_RESOURCE_MEMORY)
          want[r] = MIN (e->floor[r], (isfinite (u) ? u : e->floor[r]) * (1 + e->policy.params.headroom[r]));
      }
    }
    g_ptr_array_add (part, e);
    g_array_append_vals (wants, want, AMIGO_RESOURCE_LAST);
  }
  if (part->len > 0)
    decide_and_apply (self, part, wants, domains);
  /* The episode is over. A domain that settled keeps what protected it:
   * the neighbours' caps go to libvirt too (virsh schedinfo shows them).
   * One that left before it settled needs them no more: lifted. */
  if (!any_managed) {
    GHashTableIter it;
    Entry *e;
    const double none[AMIGO_RESOURCE_LAST] = { 0 };

    g_hash_table_iter_init (&it, self->entries);
    while (g_hash_table_iter_next (&it, NULL, (gpointer *) &e)) {
      if (self->lift_caps && e->cpu_capped) {
        entry_apply (e, none, TRUE, FALSE, TRUE);
        e->cpu_capped = FALSE;
        e->last_cap_logged[AMIGO_RESOURCE_CPU] = 0;
        amigo_log_domain (G_LOG_LEVEL_INFO, e->uuid, e->name, "cpu cap of '%s' lifted: the domain it served left",
                          e->name);
      }
      if (!e->managed && e->touched && e->obs.running && !e->obs.job_active)
        entry_handback (self, e, conn);
    }
    self->lift_caps = FALSE;
  }
  /* The next observation, off the main loop, of every domain seen for the
   * first time and of those with loops or caps: a domain first seen running
   * and never touched only lends its usage (from the poll) to the allocator,
   * and observing each of 500 such domains every tick cost 5 libvirt calls
   * apiece (bench amigod-500). */
  for (guint i = 0; conn != NULL && list != NULL && i < list->len; i++) {
    AmigoTrackedDomain *d = g_ptr_array_index (list, i);
    Entry *e = g_hash_table_lookup (self->entries, d->uuid);

    if (e == NULL || e->handback_pending)
      continue;
    if (e->obs.known && !e->managed && !e->touched)
      continue;
    amigo_job_runner_submit (self->runner, d->uuid, amigo_allocation_call_observe, observe_done,
                             call_new (self, conn, d->uuid, d->name), amigo_allocation_call_free, self);
  }
}

/* ---- GetControllers ---- */

GVariant *
amigo_allocation_loops_get_controllers (AmigoAllocationLoops *self, const char *uuid, GError **error)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);
  GVariantBuilder b;

  if (e == NULL || !e->managed) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                 "no allocation loops for domain '%s': they run for a domain that arrived by migration",
                 e != NULL ? e->name : uuid);
    return NULL;
  }
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    Loop *l = &e->loops[r];
    GVariantBuilder d, t, sp, m, o, p;

    if (l->history == NULL)
      continue;
    g_variant_builder_init (&t, G_VARIANT_TYPE ("ax"));
    g_variant_builder_init (&sp, G_VARIANT_TYPE ("ad"));
    g_variant_builder_init (&m, G_VARIANT_TYPE ("ad"));
    g_variant_builder_init (&o, G_VARIANT_TYPE ("ad"));
    g_variant_builder_init (&p, G_VARIANT_TYPE ("ad"));
    for (guint i = 0; i < l->history->len; i++) {
      LoopPoint *pt = &g_array_index (l->history, LoopPoint, i);
      g_variant_builder_add (&t, "x", pt->time_usec);
      g_variant_builder_add (&sp, "d", pt->setpoint);
      g_variant_builder_add (&m, "d", pt->measurement);
      g_variant_builder_add (&o, "d", pt->output);
      g_variant_builder_add (&p, "d", pt->pressure);
    }
    g_variant_builder_init (&d, G_VARIANT_TYPE ("a{sv}"));
    g_variant_builder_add (&d, "{sv}", "resource", g_variant_new_string (amigo_resource_to_string (r)));
    g_variant_builder_add (&d, "{sv}", "unit", g_variant_new_string (amigo_resource_unit (r)));
    g_variant_builder_add (&d, "{sv}", "phase", g_variant_new_string (amigo_pid_phase_to_string (l->phase)));
    g_variant_builder_add (&d, "{sv}", "running", g_variant_new_boolean (!e->stopped));
    g_variant_builder_add (&d, "{sv}", "time_usec", g_variant_builder_end (&t));
    g_variant_builder_add (&d, "{sv}", "setpoint", g_variant_builder_end (&sp));
    g_variant_builder_add (&d, "{sv}", "measurement", g_variant_builder_end (&m));
    g_variant_builder_add (&d, "{sv}", "output", g_variant_builder_end (&o));
    g_variant_builder_add (&d, "{sv}", "pressure", g_variant_builder_end (&p));
    g_variant_builder_add_value (&b, g_variant_builder_end (&d));
  }
  return g_variant_builder_end (&b);
}
