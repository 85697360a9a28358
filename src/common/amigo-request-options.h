/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-time.h"

G_BEGIN_DECLS

/* The ranges GetReservationRequest accepts (data/org.amigo.Daemon1.xml):
 * a migration window of at most a week, a settle time of at most a day,
 * a link between 1 Mbit/s and 1 Tbit/s. Beyond them a forecast means
 * nothing and the overhead model's arithmetic is not meant for it. */
#define AMIGO_REQUEST_WINDOW_MAX_USEC (7 * AMIGO_USEC_PER_DAY)
#define AMIGO_REQUEST_SETTLE_MAX_USEC (AMIGO_USEC_PER_DAY)
#define AMIGO_REQUEST_LINK_MIN_MBIT_S 1.0
#define AMIGO_REQUEST_LINK_MAX_MBIT_S 1e6

/**
 * AmigoRequestOptions:
 * @has_window: @window_usec was given.
 * @window_usec: migration window; 0 = the overhead model's estimate.
 * @has_settle: @settle_usec was given.
 * @settle_usec: time after switch-over the reservation must still cover.
 * @has_link: @link_mbit_s was given.
 * @link_mbit_s: migration link bandwidth, Mbit/s.
 *
 * The per-call overrides of GetReservationRequest's options dictionary;
 * what is not given comes from amigod's configuration.
 */
typedef struct {
  gboolean has_window;
  gint64 window_usec;
  gboolean has_settle;
  gint64 settle_usec;
  gboolean has_link;
  double link_mbit_s;
} AmigoRequestOptions;

/* Reads and checks an a{sv} of options (window_usec x, settle_usec x,
 * link_mbit_s d). AMIGO_ERROR_INVALID_ARGS naming the option and the
 * accepted range or type for an unknown key, a wrong type or an absurd
 * value; @ret is left alone then. */
gboolean amigo_request_options_parse (GVariant *options, AmigoRequestOptions *ret, GError **error);

/* Checks the values of @options that are set, as amigo_request_options_parse(). */
gboolean amigo_request_options_check (const AmigoRequestOptions *options, GError **error);

/* The a{sv} of the options that are set (floating). */
GVariant *amigo_request_options_to_variant (const AmigoRequestOptions *options);

G_END_DECLS
