/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt calls that take a job on one domain. During a live migration
 * the domain holds a job for the whole migration, and any of these calls waits
 * behind it (the dirty-rate start froze amigod's main loop for 12.4 s of a 13 s
 * migration in the lab), so they run here, on whatever thread the caller
 * chooses, and never on the main loop. */
#include "amigo-domain-job.h"

#include <libvirt/virterror.h>

#include "amigo-enum.h"
#include "amigo-error.h"

AMIGO_ENUM_IMPL (amigo_domain_job_kind, AmigoDomainJobKind, AMIGO_DOMAIN_JOB_LAST, "unknown",
                 [AMIGO_DOMAIN_JOB_DIRTY_RATE] = "dirty-rate",
                 [AMIGO_DOMAIN_JOB_STATS_PERIOD] = "stats-period")

/* What the collector must tell apart: a driver or domain that cannot do it
 * (ask no more), a domain that is gone, and anything else (ask again later). */
static int
error_code_from_libvirt (AmigoDomainJobKind kind, int code)
{
  switch (code) {
  case VIR_ERR_NO_SUPPORT:
  case VIR_ERR_OPERATION_UNSUPPORTED:
    return AMIGO_ERROR_NOT_SUPPORTED;
  case VIR_ERR_OPERATION_INVALID:
    /* a domain without a virtio balloon device has no statistics period; for
     * the dirty rate it means "not running", which passes */
    return kind == AMIGO_DOMAIN_JOB_STATS_PERIOD ? AMIGO_ERROR_NOT_SUPPORTED : AMIGO_ERROR_FAILED;
  case VIR_ERR_NO_DOMAIN:
    return AMIGO_ERROR_NOT_FOUND;
  case VIR_ERR_OPERATION_TIMEOUT:
    return AMIGO_ERROR_BUSY;
  default:
    return AMIGO_ERROR_FAILED;
  }
}

static gboolean
set_error_from_libvirt (const AmigoDomainJob *job, const char *what, GError **error)
{
  g_set_error (error, AMIGO_ERROR, error_code_from_libvirt (job->kind, virGetLastErrorCode ()),
               "domain '%s': cannot %s: %s", job->uuid, what, virGetLastErrorMessage ());
  virResetLastError ();
  return FALSE;
}

gboolean
amigo_domain_job_run (virConnectPtr conn, const AmigoDomainJob *job, GError **error)
{
  virDomainPtr dom;
  int rc = -1;
  const char *what;

  g_return_val_if_fail (job != NULL, FALSE);

  if (conn == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                 "domain '%s': no libvirt connection for the %s job", job->uuid,
                 amigo_domain_job_kind_to_string (job->kind));
    return FALSE;
  }
  if ((guint) job->kind >= AMIGO_DOMAIN_JOB_LAST || job->arg <= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "domain '%s': invalid job (kind %d, argument %d)", job->uuid, (int) job->kind, job->arg);
    return FALSE;
  }

  dom = virDomainLookupByUUIDString (conn, job->uuid);
  if (dom == NULL)
    return set_error_from_libvirt (job, "find it", error);

  switch (job->kind) {
  case AMIGO_DOMAIN_JOB_DIRTY_RATE:
    what = "start a dirty-rate calculation";
#if LIBVIR_CHECK_VERSION(7, 2, 0)
    rc = virDomainStartDirtyRateCalc (dom, job->arg, 0);
#else
    virDomainFree (dom);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "domain '%s': cannot %s: libvirt is older than 7.2", job->uuid, what);
    return FALSE;
#endif
    break;
  case AMIGO_DOMAIN_JOB_STATS_PERIOD:
    what = "set the balloon statistics period";
    rc = virDomainSetMemoryStatsPeriod (dom, job->arg, VIR_DOMAIN_AFFECT_LIVE);
    break;
  case AMIGO_DOMAIN_JOB_LAST:
  default:
    g_assert_not_reached ();
  }

  if (rc < 0) {
    g_autofree char *shown = g_strdup_printf ("%s (%d s)", what, job->arg);
    set_error_from_libvirt (job, shown, error);
    virDomainFree (dom);
    return FALSE;
  }
  virDomainFree (dom);
  return TRUE;
}
