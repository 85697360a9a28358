/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* One time type everywhere: gint64 microseconds, names ending in _usec. */
#define AMIGO_USEC_PER_MSEC G_GINT64_CONSTANT (1000)
#define AMIGO_USEC_PER_SEC G_GINT64_CONSTANT (1000000)
#define AMIGO_USEC_PER_MIN (60 * AMIGO_USEC_PER_SEC)
#define AMIGO_USEC_PER_HOUR (60 * AMIGO_USEC_PER_MIN)
#define AMIGO_USEC_PER_DAY (24 * AMIGO_USEC_PER_HOUR)

#define AMIGO_BYTES_PER_GIB (1024.0 * 1024.0 * 1024.0)
#define AMIGO_BYTES_PER_MIB (1024.0 * 1024.0)
