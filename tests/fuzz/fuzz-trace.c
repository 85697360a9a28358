/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the trace readers (meson -Dfuzzing=true, CC=clang):
 *   ./fuzz-trace -max_total_time=60 CORPUS_DIR
 * Every input must either give a sane trace or an amigo error naming the
 * file; anything else (crash, leak, sanitizer report) is a bug. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-trace.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  /* a dated directory, so the PlanetLab start-time path runs too */
  g_autoptr(AmigoTrace) trace = amigo_trace_parse ("fuzz/20110303/input", (const char *) data, size, &error);

  if (trace == NULL) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AMIGO_ERROR);
    g_assert_nonnull (strstr (error->message, "'fuzz/20110303/input'"));
    return 0;
  }
  g_assert_null (error);
  g_assert_true (trace->n_values >= 1 && trace->n_values <= AMIGO_TRACE_MAX_STEPS);
  g_assert_true (trace->step_usec > 0);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    for (gsize i = 0; trace->values[r] != NULL && i < trace->n_values; i++)
      g_assert_true (isnan (trace->values[r][i]) || trace->values[r][i] >= 0);
  }
  return 0;
}
