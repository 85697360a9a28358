/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the SLO configuration (meson -Dfuzzing=true, CC=clang):
 *   ./fuzz-slo-policy -max_total_time=60 CORPUS_DIR
 * Every input must either load with values in range or give an amigo error
 * naming the file; anything else (crash, leak, sanitizer report) is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-slo-policy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoSloPolicy) policy = amigo_slo_policy_new ();

  if (!amigo_slo_policy_load_data (policy, "/fuzz/slo.conf", (const char *) data, size, &error)) {
    g_assert_nonnull (error);
    g_assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
    g_assert_true (g_str_has_prefix (error->message, "/fuzz/slo.conf"));
    return 0;
  }
  g_assert_null (error);
  for (guint k = 0; k < AMIGO_WORKLOAD_CLASS_LAST; k++) {
    const AmigoSloClass *c = amigo_slo_policy_get_class (policy, k);

    g_assert_true (c->priority >= 0 && c->priority <= AMIGO_SLO_POLICY_MAX_PRIORITY);
    g_assert_true (c->min_fraction <= c->max_fraction);
  }
  g_assert_true (amigo_slo_policy_get_n_domains (policy) <= AMIGO_SLO_POLICY_MAX_DOMAINS);
  return 0;
}
