/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-gpu-source.h"

#include <math.h>

#include "amigo-error.h"

AmigoGpuSource *
amigo_gpu_source_new_internal (const AmigoGpuSourceClass *klass, gpointer priv)
{
  AmigoGpuSource *self;

  g_return_val_if_fail (klass != NULL && klass->read != NULL, NULL);
  self = g_new0 (AmigoGpuSource, 1);
  self->klass = klass;
  self->priv = priv;
  return self;
}

const char *
amigo_gpu_source_get_name (AmigoGpuSource *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->klass->name;
}

AmigoGpuProbeResult
amigo_gpu_source_probe (AmigoGpuSource *self, GError **error)
{
  g_return_val_if_fail (self != NULL, AMIGO_GPU_PROBE_FAIL);
  if (self->klass->probe == NULL)
    return AMIGO_GPU_PROBE_SUCCESS;
  return self->klass->probe (self, error);
}

gboolean
amigo_gpu_source_read (AmigoGpuSource *self,
                       virDomainPtr dom,
                       const char *uuid,
                       gint64 now_usec,
                       double *ret_gib,
                       GError **error)
{
  double gib = NAN;

  g_return_val_if_fail (self != NULL, FALSE);
  if (uuid == NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                         "GPU source read needs a domain UUID");
    return FALSE;
  }
  if (!self->klass->read (self, dom, uuid, now_usec, &gib, error))
    return FALSE;
  /* A member's bad figure must not reach the history as a spike. */
  if (!isnan (gib) && (!isfinite (gib) || gib < 0.0))
    gib = NAN;
  if (ret_gib != NULL)
    *ret_gib = gib;
  return TRUE;
}

void
amigo_gpu_source_forget (AmigoGpuSource *self, const char *uuid)
{
  if (self == NULL || uuid == NULL || self->klass->forget == NULL)
    return;
  self->klass->forget (self, uuid);
}

void
amigo_gpu_source_free (AmigoGpuSource *self)
{
  if (self == NULL)
    return;
  if (self->klass->finalize != NULL)
    self->klass->finalize (self);
  g_free (self);
}
