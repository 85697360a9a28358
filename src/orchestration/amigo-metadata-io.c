/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-metadata-io.h"

#include <libvirt/virterror.h>

#include "amigo-error.h"

/* Turns libvirt's last error (of this thread) into @error, with @what as
 * the prefix. A domain that went away is NOT_FOUND: it migrated or was
 * destroyed between the poll and the call, which is no failure. A job that
 * could not be had within libvirt's 30 s ("cannot acquire state change
 * lock": a migration holds the domain) is BUSY. */
static void
set_libvirt_error (GError **error, const char *what)
{
  virErrorPtr e = virGetLastError ();
  const char *message = e != NULL && e->message != NULL ? e->message : "unknown libvirt error";
  int code = AMIGO_ERROR_FAILED;

  if (e != NULL && e->code == VIR_ERR_NO_DOMAIN)
    code = AMIGO_ERROR_NOT_FOUND;
  else if (e != NULL && e->code == VIR_ERR_OPERATION_TIMEOUT)
    code = AMIGO_ERROR_BUSY;

  g_set_error (error, AMIGO_ERROR, code, "%s: %s", what, message);
}

AmigoMetadata *
amigo_metadata_io_read (virDomainPtr dom, GError **error)
{
  g_autofree char *xml = virDomainGetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, AMIGO_METADATA_NAMESPACE,
                                               VIR_DOMAIN_AFFECT_LIVE);

  if (xml == NULL) {
    virErrorPtr e = virGetLastError ();

    if (e != NULL && e->code == VIR_ERR_NO_DOMAIN_METADATA)
      return amigo_metadata_new ();
    set_libvirt_error (error, "cannot read the metadata");
    return NULL;
  }
  return amigo_metadata_parse (xml, error);
}

gboolean
amigo_metadata_io_update (virDomainPtr dom, const AmigoMetadataUpdate *update, GError **error)
{
  g_autoptr (AmigoMetadata) md = amigo_metadata_io_read (dom, error);
  g_autofree char *xml = NULL;

  if (md == NULL)
    return FALSE;
  if (update->history != NULL) {
    g_free (md->history);
    md->history = g_strdup (update->history);
  }
  if (update->reservation != NULL) {
    g_free (md->reservation);
    md->reservation = g_strdup (update->reservation);
  }
  if (update->set_workload) {
    g_free (md->workload);
    md->workload = g_strdup (update->workload);
  }
  xml = amigo_metadata_to_xml (md, FALSE, error);
  if (xml == NULL)
    return FALSE;
  if (virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml, AMIGO_METADATA_KEY, AMIGO_METADATA_NAMESPACE,
                            VIR_DOMAIN_AFFECT_LIVE) < 0) {
    set_libvirt_error (error, "cannot write the metadata");
    return FALSE;
  }
  return TRUE;
}
