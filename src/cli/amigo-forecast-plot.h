/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-dbus-generated.h"
#include "amigo-time.h"

G_BEGIN_DECLS

/* How long a history amigoctl forecast --plot draws before "now". */
#define AMIGO_FORECAST_PLOT_HISTORY_USEC AMIGO_USEC_PER_DAY

/* Draws one panel per resource of @request (GetReservationRequest's reply):
 * the domain's last day of usage, read with GetHistory and summed over the
 * metrics the forecast sums (net_rx + net_tx, disk_read + disk_write), with
 * the bound and the reservation (bound + overhead) over the window the
 * request covers. */
gboolean amigo_forecast_plot_write (AmigoDaemon1 *proxy,
                                    const char *domain,
                                    GVariant *request,
                                    const char *png_path,
                                    GError **error);

G_END_DECLS
