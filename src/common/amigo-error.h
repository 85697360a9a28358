/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AMIGO_ERROR (amigo_error_quark ())

/**
 * AmigoError:
 * @AMIGO_ERROR_FAILED: generic failure; the message says what.
 * @AMIGO_ERROR_INVALID_ARGS: an argument (D-Bus, command line, API) is malformed
 *   or out of range.
 * @AMIGO_ERROR_NOT_FOUND: the named domain, resource or file does not exist.
 * @AMIGO_ERROR_NOT_SUPPORTED: the host or driver cannot do this (missing
 *   controller, GPU source, libvirt feature).
 * @AMIGO_ERROR_BUSY: the object is in use (a migration already in flight).
 * @AMIGO_ERROR_INSUFFICIENT_HISTORY: too few samples for the requested model.
 * @AMIGO_ERROR_BAD_CONFIG: the configuration file is malformed.
 * @AMIGO_ERROR_CORRUPT: stored data failed its checksum or is truncated.
 * @AMIGO_ERROR_BAD_DATA: input data (trace file, domain XML, metadata) is malformed.
 * @AMIGO_ERROR_NOT_CONNECTED: the hypervisor connection is down.
 * @AMIGO_ERROR_REFUSED: admission refused a request (the message names the short resource).
 *
 * Error codes of the amigo error domain. They cross D-Bus as
 * `org.amigo.Error.<Name>` (see amigo_error_quark()).
 */
typedef enum {
  AMIGO_ERROR_FAILED,
  AMIGO_ERROR_INVALID_ARGS,
  AMIGO_ERROR_NOT_FOUND,
  AMIGO_ERROR_NOT_SUPPORTED,
  AMIGO_ERROR_BUSY,
  AMIGO_ERROR_INSUFFICIENT_HISTORY,
  AMIGO_ERROR_BAD_CONFIG,
  AMIGO_ERROR_CORRUPT,
  AMIGO_ERROR_BAD_DATA,
  AMIGO_ERROR_NOT_CONNECTED,
  AMIGO_ERROR_REFUSED,
  AMIGO_ERROR_LAST /*< skip >*/
} AmigoError;

GQuark amigo_error_quark (void);

/* Map a foreign error (GIO, GKeyFile, GFile...) onto the amigo domain before it
 * leaves over D-Bus. Errors already in the amigo domain are left alone. */
void amigo_error_convert (GError **error);

G_END_DECLS
