/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-admission-request.h"

#include <math.h>

#include "amigo-error.h"
#include "amigo-request.h"
#include "amigo-time.h"

gboolean
amigo_admission_request_read (const char *json, gint64 now_usec, gint64 max_age_usec,
                              AmigoAllocation *ret, GError **error)
{
  AmigoRequest req;
  double amounts[AMIGO_RESOURCE_LAST];

  if (!amigo_request_from_json (json, &req, error))
    return FALSE;
  if (amigo_request_is_stale (&req, now_usec, max_age_usec)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "the request is stale: computed %" G_GINT64_FORMAT " s ago, trusted for %" G_GINT64_FORMAT " s",
                 (now_usec - req.computed_usec) / AMIGO_USEC_PER_SEC, max_age_usec / AMIGO_USEC_PER_SEC);
    return FALSE;
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceReservation *rr = &req.reservation.resources[r];
    amounts[r] = rr->present && isfinite (rr->amount) && rr->amount >= 0.0 ? rr->amount : NAN;
  }
  /* what QEMU held on the source is what it will take here, whatever the
   * guest's own usage forecast says */
  if (isfinite (req.host_memory_gib) &&
      (isnan (amounts[AMIGO_RESOURCE_MEMORY]) || amounts[AMIGO_RESOURCE_MEMORY] < req.host_memory_gib))
    amounts[AMIGO_RESOURCE_MEMORY] = req.host_memory_gib;
  ret->cpu_cores = amounts[AMIGO_RESOURCE_CPU];
  ret->memory_gib = amounts[AMIGO_RESOURCE_MEMORY];
  ret->network_mbit_s = amounts[AMIGO_RESOURCE_NETWORK];
  ret->disk_iops = amounts[AMIGO_RESOURCE_DISK];
  ret->gpu_memory_gib = amounts[AMIGO_RESOURCE_GPU_MEMORY];
  return TRUE;
}
