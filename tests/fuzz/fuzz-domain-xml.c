/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what the libvirt hook hands amigod: an incoming
 * domain XML (meson -Dfuzzing=true, CC=clang):
 *   ./fuzz-domain-xml -max_total_time=60 -dict=... CORPUS_DIR (seed it with
 *   tests/fixtures/domain-lab-guest*.xml)
 * Every input must either parse, give a reservation and take the tunables,
 * or fail with an amigo error; anything else (crash, leak, sanitizer report)
 * is a bug. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-domain-tunables.h"
#include "amigo-domain-xml.h"
#include "amigo-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *xml = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoDomainSize) domain = amigo_domain_size_parse (xml, &error);
  g_autofree char *out = NULL;
  g_autofree char *note = NULL;
  AmigoAllocation alloc;

  if (domain == NULL) {
    g_assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    return 0;
  }
  g_assert_true (domain->vcpus >= 1 && domain->vcpus <= domain->vcpus_max);
  g_assert_true (g_uuid_string_is_valid (domain->uuid));
  amigo_domain_reservation (domain, NULL, &alloc, NULL, &note);
  g_assert_true (isfinite (alloc.cpu_cores) && alloc.cpu_cores > 0);
  alloc.disk_iops = 100;
  alloc.network_mbit_s = 10;
  out = amigo_domain_tunables_apply (xml, &alloc, NULL, &error);
  if (out == NULL) {
    /* GMarkup took it, the span scanner did not (it is stricter about
     * where a DOCTYPE or text may stand): an error, not a crash. */
    g_assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    return 0;
  }
  /* What amigo wrote reads back as the same domain. */
  {
    g_autoptr(AmigoDomainSize) back = amigo_domain_size_parse (out, &error);
    g_assert_nonnull (back);
    g_assert_cmpstr (back->uuid, ==, domain->uuid);
  }
  return 0;
}
