/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One PID loop per domain and resource: drives the allocation (CPU quota,
 * memory limit, I/O or bandwidth cap) to the measured usage plus headroom.
 *
 * The loop compares its set point r = usage x (1 + headroom) with the
 * allocation y it applied last (e = r - y) and outputs the next allocation:
 *
 *   y = I + Kp e + D,  I += Ki e dt,  D = Kd (1 + headroom) d(usage)/dt
 *
 * - The derivative is taken on the measured usage, never on the error, so a
 *   change of headroom (a new migration phase, a new policy) moves the set
 *   point without a derivative kick; it is low-pass filtered because usage
 *   is noisy.
 * - A usage measured while the domain presses against its allocation is
 *   censored (a capped VM cannot use more than it is given), so the demand
 *   is only known to be at least the allocation: pressure raises the set
 *   point above the allocation even when usage equals it.
 * - The output is clamped to [min_output, max_output] and to a rate limit;
 *   while it is held there the integrator is not wound further (conditional
 *   integration) but set back to what was applied (back-calculation), so
 *   leaving saturation starts from the applied allocation: no output stuck
 *   at a limit, no overshoot.
 * - The output never moves against the error: an allocation below its set
 *   point is never lowered, one above it never raised.
 * - A change smaller than the deadband is not applied: the integrator keeps
 *   the remaining error until it adds up to a change worth writing.
 * - Gains act at @release_scale when the allocation is above its set point:
 *   raising is urgent (the domain is throttled), handing back is not.
 *
 * Pure: no clock, no I/O; time is passed in as gint64 microseconds. */

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoPidPhase:
 * @AMIGO_PID_PHASE_STEADY: no migration; the domain runs here.
 * @AMIGO_PID_PHASE_PRECOPY: an incoming migration copies memory; the
 *   measured usage is the source's, relayed.
 * @AMIGO_PID_PHASE_SWITCHOVER: the domain stops on the source and starts
 *   here; its demand is least known.
 * @AMIGO_PID_PHASE_SETTLE: after switch-over; progress 0..1 runs through the
 *   settle period and the headroom goes back from the switch-over's to the
 *   steady one, so the reserved but unused part returns to the host.
 *
 * Migration phase, an input of the loop (see #AmigoPidPhaseParams).
 */
typedef enum {
  AMIGO_PID_PHASE_STEADY,
  AMIGO_PID_PHASE_PRECOPY,
  AMIGO_PID_PHASE_SWITCHOVER,
  AMIGO_PID_PHASE_SETTLE,
  AMIGO_PID_PHASE_LAST
} AmigoPidPhase;

const char *amigo_pid_phase_to_string (AmigoPidPhase phase);

/**
 * AmigoPidPhaseParams:
 * @headroom: fraction of the usage added on top (0.15: 15 %); for
 *   %AMIGO_PID_PHASE_SETTLE the headroom at the start of the settle period,
 *   going linearly to the steady one as its progress reaches 1.
 * @release_scale: multiplies @release_scale of #AmigoPidParams in this
 *   phase; 0 holds the allocation (never lower it during a switch-over).
 */
typedef struct {
  double headroom;
  double release_scale;
} AmigoPidPhaseParams;

/**
 * AmigoPidParams:
 * @kp: proportional gain (allocation units per unit of error).
 * @ki: integral gain, per second.
 * @kd: derivative gain on the usage, seconds.
 * @derivative_tau_usec: time constant of the derivative's low-pass filter.
 * @release_scale: 0..1, factor on @kp and @ki when the allocation is above
 *   its set point.
 * @pressure_gain: a pressure p (0..1) raises the set point by the factor
 *   (1 + @pressure_gain p).
 * @pressure_min_step: under any pressure the set point is at least the
 *   allocation times (1 + headroom + @pressure_min_step).
 * @min_output: the least allocation (policy floor).
 * @max_output: the largest allocation (policy ceiling, the reservation).
 * @max_rise_per_sec: largest increase per second (allocation units/s).
 * @max_fall_per_sec: largest decrease per second.
 * @deadband: a change smaller than @deadband times the current allocation
 *   is not applied...
 * @deadband_abs: ...nor one smaller than this (allocation units).
 * @phase: per-phase headroom and release.
 *
 * The policy of one loop. All rates are in the allocation's unit (cores,
 * GiB, Mbit/s, IOPS).
 */
typedef struct {
  double kp;
  double ki;
  double kd;
  gint64 derivative_tau_usec;
  double release_scale;
  double pressure_gain;
  double pressure_min_step;
  double min_output;
  double max_output;
  double max_rise_per_sec;
  double max_fall_per_sec;
  double deadband;
  double deadband_abs;
  AmigoPidPhaseParams phase[AMIGO_PID_PHASE_LAST];
} AmigoPidParams;

/* Defaults for an allocation between @min_output and @max_output: the gains
 * tuned by tests/bench/bench-controller.c (docs/allocation.md). */
void amigo_pid_params_init (AmigoPidParams *params, double min_output, double max_output);

/* Refuses NaN, negative gains, min > max, etc. with AMIGO_ERROR_INVALID_ARGS
 * naming the field. */
gboolean amigo_pid_params_check (const AmigoPidParams *params, GError **error);

/**
 * AmigoPidInput:
 * @usage: measured usage over the last interval, allocation units.
 * @pressure: 0..1, how hard the domain pressed against its allocation over
 *   the interval: CPU throttled time share (cpu.stat), memory near its
 *   limit, I/O or bandwidth at its cap. Any value above 0 marks @usage as
 *   censored: the demand was at least the allocation.
 * @phase: migration phase.
 * @progress: 0..1 progress through @phase.
 */
typedef struct {
  double usage;
  double pressure;
  AmigoPidPhase phase;
  double progress;
} AmigoPidInput;

/**
 * AmigoPidStep:
 * @setpoint: usage plus headroom (and pressure) the loop aimed at.
 * @output: the allocation to apply (the previous one if unchanged).
 * @p: proportional term. @i: integrator. @d: derivative term.
 * @changed: TRUE if @output differs from the previous allocation.
 * @limited: TRUE if the range or the rate limit cut the output.
 *
 * What one update did, for logs and `amigoctl controllers`.
 */
typedef struct {
  double setpoint;
  double output;
  double p;
  double i;
  double d;
  gboolean changed;
  gboolean limited;
} AmigoPidStep;

typedef struct _AmigoPid AmigoPid;

/* A loop starting from the allocation @initial_output (the reservation the
 * domain arrived with) at @now_usec; NULL with an error if @params fail
 * amigo_pid_params_check(). The params are copied. */
AmigoPid *amigo_pid_new (const AmigoPidParams *params, double initial_output, gint64 now_usec,
                         GError **error);
void amigo_pid_free (AmigoPid *self);

/* One step at @now_usec; returns the allocation to apply. An update at or
 * before the previous one's time only records the usage (dt = 0). */
double amigo_pid_update (AmigoPid *self, const AmigoPidInput *input, gint64 now_usec,
                         AmigoPidStep *ret_step);

double amigo_pid_get_output (const AmigoPid *self);

/* New policy for a running loop (a reservation shrank, the SLO policy
 * changed), keeping its state; the next update brings the output into the
 * new range at once, whatever the rate limit. FALSE with an error, and the
 * old params kept, if @params fail amigo_pid_params_check(). */
gboolean amigo_pid_set_params (AmigoPid *self, const AmigoPidParams *params, GError **error);

/* The allocation read back from the actuator, if it differs from what the
 * loop applied (the kernel rounded it, an administrator changed it): the
 * loop continues from there, bumplessly. */
void amigo_pid_set_output (AmigoPid *self, double output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoPid, amigo_pid_free)

G_END_DECLS
