/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* QEMU-like defaults (QEMU: downtime-limit 300 ms, 30 iterations is what
 * libvirt/QEMU users commonly set before forcing convergence). */
#define AMIGO_OVERHEAD_DEFAULT_DOWNTIME_LIMIT_USEC G_GINT64_CONSTANT (300000)
#define AMIGO_OVERHEAD_DEFAULT_MAX_ITERATIONS 30
/* CPU cores the destination spends to receive 1 Gbit/s of migration stream
 * (TCP receive + page copy); an assumption to be corrected by calibration. */
#define AMIGO_OVERHEAD_DEFAULT_RECEIVE_CORES_PER_GBIT 0.15

/**
 * AmigoOverheadInput:
 * @memory_bytes: guest memory to transfer (bytes in use), > 0.
 * @dirty_rate_bytes_s: rate at which the guest dirties pages, bytes/s (>= 0);
 *   ignored when @dirty_rate_unknown.
 * @dirty_rate_unknown: nothing measured the dirty rate: the estimate is the
 *   expensive case, never the quiet one. Round 1 sends all memory; since
 *   nothing says the guest is quiet, round 2 sends all of it again; then
 *   the switch-over is assumed to happen within the downtime limit (the
 *   pause the operator allows), so 3 rounds, 2 x memory + what the link
 *   carries in the limit, and @converges FALSE (the convergence is assumed,
 *   not shown). A guest whose whole memory fits in the limit still converges
 *   after round 1. (Taking the dirty rate as the link rate instead was
 *   rejected: pre-copy never converges then, so the estimate would be set by
 *   @max_iterations -- 31 x memory, 35 minutes for 8 GiB at 1 Gbit/s -- and
 *   claim a minute-long pause, for a guest that may well be idle.)
 * @link_bytes_s: migration bandwidth, bytes/s (> 0).
 * @downtime_limit_usec: largest stop-and-copy pause allowed (> 0).
 * @max_iterations: pre-copy rounds before giving up on convergence (>= 1).
 * @receive_cores_per_gbit: destination CPU cores per Gbit/s received.
 */
typedef struct {
  guint64 memory_bytes;
  double dirty_rate_bytes_s;
  gboolean dirty_rate_unknown;
  double link_bytes_s;
  gint64 downtime_limit_usec;
  guint max_iterations;
  double receive_cores_per_gbit;
} AmigoOverheadInput;

void amigo_overhead_input_init (AmigoOverheadInput *input);

/**
 * AmigoOverheadEstimate:
 * @rounds: transfer rounds including the final stop-and-copy.
 * @bytes_sent: total bytes over the link.
 * @duration_usec: start of migration to end of stop-and-copy.
 * @downtime_usec: expected pause of the guest.
 * @converges: TRUE when the model shows the dirty set shrinking under the
 *   downtime limit within @max_iterations. FALSE when it never does (then
 *   @downtime_usec is the pause a forced switch-over would cost) or when the
 *   dirty rate is unknown and the switch-over at the limit is assumed
 *   (AmigoOverheadInput.dirty_rate_unknown).
 * @dirty_rate_known: FALSE if the estimate rests on the assumed expensive
 *   case for an unknown dirty rate.
 * @first_round_usec: time to send all memory once: the destination's memory
 *   fill reaches the guest's memory in use at that point.
 * @cpu_cores: extra destination CPU while pages arrive.
 * @network_mbit_s: the migration stream on the destination's link.
 * @memory_gib: guest memory filled on the destination at the end (GiB).
 */
typedef struct {
  guint rounds;
  guint64 bytes_sent;
  gint64 duration_usec;
  gint64 downtime_usec;
  gboolean converges;
  gboolean dirty_rate_known;
  gint64 first_round_usec;
  double cpu_cores;
  double network_mbit_s;
  double memory_gib;
} AmigoOverheadEstimate;

/**
 * AmigoOverheadCalibration:
 * @log_duration: EWMA of log(measured / predicted) duration.
 * @log_bytes: same for bytes sent.
 * @log_downtime: same for downtime.
 * @n_observations: migrations seen.
 *
 * Correction learned from past migrations. Each log ratio is clamped to
 * +-log(4) before it enters the average (robust to one outlier) and the
 * corrections are bounded to a factor of 4 either way.
 */
typedef struct {
  double log_duration;
  double log_bytes;
  double log_downtime;
  guint n_observations;
} AmigoOverheadCalibration;

void amigo_overhead_calibration_init (AmigoOverheadCalibration *calibration);

/* @calibration may be NULL (no correction). */
gboolean amigo_overhead_estimate (const AmigoOverheadInput *input,
                                  const AmigoOverheadCalibration *calibration,
                                  AmigoOverheadEstimate *ret,
                                  GError **error);

/* Applies @calibration's correction (bounded to a factor of 4 either way)
 * to the duration, first round, bytes and downtime of @estimate, in place;
 * nothing when @calibration is NULL or has no observation. For estimates
 * made outside amigo_overhead_estimate() (post-copy, throttled pre-copy)
 * that learn from the same migrations. */
void amigo_overhead_calibration_apply (const AmigoOverheadCalibration *calibration,
                                       AmigoOverheadEstimate *estimate);

/* Destination memory filled @elapsed_usec after the start (GiB), for a
 * linear fill over the first round. */
double amigo_overhead_memory_at (const AmigoOverheadEstimate *estimate, gint64 elapsed_usec);

/* Feed one measured migration. @predicted is the UNcalibrated estimate for
 * that migration; measured values <= 0 are ignored (not measured). */
gboolean amigo_overhead_calibration_observe (AmigoOverheadCalibration *calibration,
                                             const AmigoOverheadEstimate *predicted,
                                             gint64 measured_duration_usec,
                                             guint64 measured_bytes,
                                             gint64 measured_downtime_usec,
                                             GError **error);

char *amigo_overhead_calibration_to_json (const AmigoOverheadCalibration *calibration);
gboolean amigo_overhead_calibration_from_json (const char *json,
                                               AmigoOverheadCalibration *ret,
                                               GError **error);

G_END_DECLS
