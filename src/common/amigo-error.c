/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-error.h"

#include <gio/gio.h>

static const GDBusErrorEntry amigo_error_entries[] = {
  { AMIGO_ERROR_FAILED, "org.amigo.Error.Failed" },
  { AMIGO_ERROR_INVALID_ARGS, "org.amigo.Error.InvalidArgs" },
  { AMIGO_ERROR_NOT_FOUND, "org.amigo.Error.NotFound" },
  { AMIGO_ERROR_NOT_SUPPORTED, "org.amigo.Error.NotSupported" },
  { AMIGO_ERROR_BUSY, "org.amigo.Error.Busy" },
  { AMIGO_ERROR_INSUFFICIENT_HISTORY, "org.amigo.Error.InsufficientHistory" },
  { AMIGO_ERROR_BAD_CONFIG, "org.amigo.Error.BadConfig" },
  { AMIGO_ERROR_CORRUPT, "org.amigo.Error.Corrupt" },
  { AMIGO_ERROR_BAD_DATA, "org.amigo.Error.BadData" },
  { AMIGO_ERROR_NOT_CONNECTED, "org.amigo.Error.NotConnected" },
  { AMIGO_ERROR_REFUSED, "org.amigo.Error.Refused" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (amigo_error_entries) == AMIGO_ERROR_LAST);

GQuark
amigo_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("amigo-error-quark",
                                      &quark,
                                      amigo_error_entries,
                                      G_N_ELEMENTS (amigo_error_entries));
  return (GQuark) quark;
}

void
amigo_error_convert (GError **error)
{
  GError *e;
  gint code = AMIGO_ERROR_FAILED;

  if (error == NULL || *error == NULL)
    return;
  e = *error;
  if (e->domain == AMIGO_ERROR)
    return;

  if (e->domain == G_IO_ERROR) {
    switch (e->code) {
    case G_IO_ERROR_NOT_FOUND:
      code = AMIGO_ERROR_NOT_FOUND;
      break;
    case G_IO_ERROR_INVALID_ARGUMENT:
    case G_IO_ERROR_INVALID_DATA:
      code = AMIGO_ERROR_INVALID_ARGS;
      break;
    case G_IO_ERROR_NOT_SUPPORTED:
      code = AMIGO_ERROR_NOT_SUPPORTED;
      break;
    case G_IO_ERROR_BUSY:
      code = AMIGO_ERROR_BUSY;
      break;
    default:
      break;
    }
  } else if (e->domain == G_FILE_ERROR && e->code == G_FILE_ERROR_NOENT) {
    code = AMIGO_ERROR_NOT_FOUND;
  } else if (e->domain == G_KEY_FILE_ERROR) {
    code = AMIGO_ERROR_BAD_CONFIG;
  } else if (e->domain == G_DBUS_ERROR && e->code == G_DBUS_ERROR_INVALID_ARGS) {
    code = AMIGO_ERROR_INVALID_ARGS;
  }

  e->domain = AMIGO_ERROR;
  e->code = code;
}
