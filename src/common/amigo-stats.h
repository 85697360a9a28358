/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small statistics every module scores or ranks with: the forecast's
 * selector and baselines, and the replay's metrics. */

#include <glib.h>

G_BEGIN_DECLS

/* Pinball (quantile) loss of a @bound for the @quantile level against what
 * happened (@actual): @quantile x the shortfall when @actual is at or above
 * the bound, (1 - @quantile) x the excess otherwise. */
double amigo_pinball_loss (double quantile, double actual, double bound);

/* The @k-th smallest (0-based) of values[0..n), n > 0 and k < n, no NAN.
 * Reorders @values: afterwards values[k] holds it, the values before it are
 * <= and the ones after it >=. Expected O(n), also on heavily tied data. */
double amigo_kth_smallest (double *values, gsize n, gsize k);

G_END_DECLS
