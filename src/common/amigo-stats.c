/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-stats.h"

double
amigo_pinball_loss (double quantile, double actual, double bound)
{
  if (actual >= bound)
    return quantile * (actual - bound);
  return (1.0 - quantile) * (bound - actual);
}

static void
swap_d (double *a, double *b)
{
  double t = *a;
  *a = *b;
  *b = t;
}

/* Quickselect with a three-way partition: values equal to the pivot are
 * gathered in the middle and never looked at again, so heavily tied data
 * (CPU series whose changes are mostly 0) stays O(n) instead of going
 * quadratic as a strict-< partition does. */
double
amigo_kth_smallest (double *v, gsize n, gsize k)
{
  gsize lo = 0, hi = n; /* the k-th lies in [lo, hi) */

  g_return_val_if_fail (k < n, 0.0);
  while (hi - lo > 1) {
    gsize a = lo, mid = lo + (hi - lo) / 2, b = hi - 1;
    gsize lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
    double pivot;

    /* median of three */
    if (v[mid] < v[a])
      swap_d (&v[mid], &v[a]);
    if (v[b] < v[a])
      swap_d (&v[b], &v[a]);
    if (v[b] < v[mid])
      swap_d (&v[b], &v[mid]);
    pivot = v[mid];
    while (i < gt) {
      double x = v[i];

      if (x < pivot)
        swap_d (&v[lt++], &v[i++]);
      else if (x > pivot)
        swap_d (&v[i], &v[--gt]);
      else
        i++;
    }
    if (k < lt)
      hi = lt;
    else if (k >= gt)
      lo = gt;
    else
      break;
  }
  return v[k];
}
