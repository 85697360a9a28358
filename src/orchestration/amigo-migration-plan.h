/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How a domain migrates: the mode (pre-copy, auto-converge or post-copy)
 * and why, the bandwidth and downtime limit given to libvirt, what the
 * overhead model (include/amigo/amigo-overhead.h) predicts, corrected by
 * this host's past migrations, and when amigo gives up (a stall timeout and
 * an overall timeout adapted to the VM). Pure: no libvirt, no I/O.
 * docs/migration.md explains the choices and compares the timeouts with
 * KubeVirt's fixed ones. */

#include <glib.h>

#include "amigo/amigo-classifier.h"
#include "amigo/amigo-overhead.h"
#include "amigo/amigo-series.h"
#include "amigo-migration-options.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationPlanInput:
 * @memory_bytes: guest memory to transfer (in use), bytes, > 0.
 * @dirty_rate_bytes_s: the guest's page-dirty rate, bytes/s (>= 0); NAN =
 *   not measured (the overhead model's expensive case then, see
 *   AmigoOverheadInput.dirty_rate_unknown).
 * @klass: the domain's workload class (named in the reason).
 * @protects: per #AmigoResource, TRUE if the resource is part of the
 *   domain's SLO (its class's protected resources): a protected CPU rules
 *   out auto-converge, which throttles the guest's vCPUs.
 * @link_bytes_s: the migration link, bytes/s (> 0; [forecast] link).
 * @options: what the administrator asked; NULL = nothing (all chosen).
 * @calibration: the correction learned from this host's past migrations;
 *   NULL = none.
 */
typedef struct {
  guint64 memory_bytes;
  double dirty_rate_bytes_s;
  AmigoWorkloadClass klass;
  gboolean protects[AMIGO_RESOURCE_LAST];
  double link_bytes_s;
  const AmigoMigrationOptions *options;
  const AmigoOverheadCalibration *calibration;
} AmigoMigrationPlanInput;

/* @dirty_rate_bytes_s NAN, nothing protected, class unknown, no options,
 * no calibration; memory and link 0 (the caller must set them). */
void amigo_migration_plan_input_init (AmigoMigrationPlanInput *input);

/**
 * AmigoMigrationPlan:
 * @mode: precopy, auto-converge or postcopy (never auto).
 * @forced: TRUE if the options forced @mode.
 * @reason: one sentence saying why @mode, with the model's figures (and,
 *   for post-copy, its risk); owned.
 * @bandwidth_mib_s: the bandwidth cap given to libvirt, MiB/s.
 * @downtime_limit_ms: the downtime limit given to libvirt, ms.
 * @start_at_usec: when it starts (wall clock, epoch usec). Left 0 by
 *   amigo_migration_plan_make(): the caller sets it (now, or the start the
 *   deadline lets it wait for) before the plan is sent.
 * @start_reason: why then; NULL = not chosen (now). Owned.
 * @stall_timeout_usec: abort when the remaining data has not reached a new
 *   low for this long.
 * @timeout_usec: abort when the migration has run this long.
 * @predicted_total_usec: start of the transfer to the end of switch-over,
 *   calibrated.
 * @predicted_downtime_usec: the guest's pause, calibrated.
 * @predicted_data_bytes: bytes over the link, calibrated.
 * @converges: TRUE if the model shows @mode finishing on its own (pre-copy
 *   converging within %AMIGO_OVERHEAD_DEFAULT_MAX_ITERATIONS rounds, with
 *   throttling for auto-converge; always for post-copy); FALSE when it rests
 *   on a forced switch-over or on the unknown dirty rate's assumption.
 * @model_total_usec: @predicted_total_usec before calibration.
 * @model_downtime_usec: @predicted_downtime_usec before calibration.
 * @model_data_bytes: @predicted_data_bytes before calibration.
 *
 * The model_ figures are what the learning compares the measured ones
 * with (amigo_overhead_calibration_observe() takes the UNcalibrated
 * prediction); amigo_migration_plan_model_estimate() gives them back in
 * the overhead model's struct.
 */
typedef struct {
  AmigoMigrationMode mode;
  gboolean forced;
  char *reason;
  double bandwidth_mib_s;
  guint32 downtime_limit_ms;
  gint64 start_at_usec;
  char *start_reason;
  gint64 stall_timeout_usec;
  gint64 timeout_usec;
  gint64 predicted_total_usec;
  gint64 predicted_downtime_usec;
  guint64 predicted_data_bytes;
  gboolean converges;
  gint64 model_total_usec;
  gint64 model_downtime_usec;
  guint64 model_data_bytes;
} AmigoMigrationPlan;

/* Frees what @plan owns and zeroes it. */
void amigo_migration_plan_clear (AmigoMigrationPlan *plan);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmigoMigrationPlan, amigo_migration_plan_clear)

/* A deep copy of @src into @dest (overwritten, not cleared). */
void amigo_migration_plan_copy (AmigoMigrationPlan *dest, const AmigoMigrationPlan *src);

/* Chooses the plan for @input (docs/migration.md): pre-copy when the
 * model shows it converging; otherwise auto-converge if the CPU is not
 * protected, post-copy if it is; a forced mode is kept and the reason still
 * says what the model predicts. AMIGO_ERROR_INVALID_ARGS for an input the
 * model cannot take (no memory, no link, a negative dirty rate) or options
 * out of range; @ret is untouched then. */
gboolean amigo_migration_plan_make (const AmigoMigrationPlanInput *input,
                                    AmigoMigrationPlan *ret,
                                    GError **error);

/* The plan's uncalibrated figures as the overhead model's estimate
 * (duration, bytes and downtime set; the rest zero), for
 * amigo_overhead_calibration_observe(). */
void amigo_migration_plan_model_estimate (const AmigoMigrationPlan *plan, AmigoOverheadEstimate *ret);

/* Adds the plan's keys of Migrate's reply to @dict: mode, reason,
 * bandwidth_mib_s, downtime_limit_ms, start_at_usec, start_reason (when
 * set), stall_timeout_usec, timeout_usec, predicted_total_usec,
 * predicted_downtime_usec, predicted_data_bytes. */
void amigo_migration_plan_add_to_dict (const AmigoMigrationPlan *plan, GVariantDict *dict);

/* Migrate's @plan: the keys above as an a{sv} (floating). */
GVariant *amigo_migration_plan_to_variant (const AmigoMigrationPlan *plan);

G_END_DECLS
