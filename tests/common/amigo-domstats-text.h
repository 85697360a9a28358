/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

G_BEGIN_DECLS

/* Parses `virsh domstats` text output (one domain: "Domain: 'name'" then
 * "  key=value" lines; blank lines and lines starting with '#' are skipped)
 * into typed params (caller frees with virTypedParamsFree). Values that are
 * integers become ULLONG (LLONG when negative), decimals DOUBLE, the rest and
 * every `*.name` / `*.path` STRING. AMIGO_ERROR_BAD_DATA naming the line on
 * garbage. */
gboolean amigo_domstats_text_parse (const char *text,
                                    char **ret_name,
                                    virTypedParameterPtr *ret_params,
                                    int *ret_nparams,
                                    GError **error);

G_END_DECLS
