/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Link bandwidth as people write it: a positive number and a decimal
 * (SI) suffix in bit/s, k, M, G or T, optionally followed by "bit/s" or
 * "bps": "10G", "1000M", "2.5Gbit/s", "100kbps". A bare number is refused
 * (10 would be 10 bit/s: almost surely a typo). The result is in Mbit/s,
 * the unit of every network figure in amigo. AMIGO_ERROR_INVALID_ARGS
 * quoting @text otherwise. */
gboolean amigo_bandwidth_parse (const char *text, double *ret_mbit_s, GError **error);

/* "10 Gbit/s", "1000 Mbit/s", "2.5 Gbit/s", "100 kbit/s". */
char *amigo_bandwidth_format (double mbit_s);

G_END_DECLS
