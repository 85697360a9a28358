/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what a domain's metadata brings from another host
 * (meson -Dfuzzing=true, CC=clang):
 *   ./fuzz-metadata -max_total_time=60 CORPUS_DIR
 * The input is amigo's metadata element; when it holds a reservation
 * request, that is read too. Every input must either parse or give an amigo
 * error; anything else (crash, leak, sanitizer report) is a bug. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-metadata.h"
#include "amigo-request.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(AmigoMetadata) md = amigo_metadata_parse (text, &error);
  AmigoRequest req;

  if (md == NULL) {
    g_assert_nonnull (error);
    g_assert_true (error->domain == AMIGO_ERROR);
    return 0;
  }
  if (md->reservation == NULL)
    return 0;
  if (!amigo_request_from_json (md->reservation, &req, &error)) {
    g_assert_true (error->domain == AMIGO_ERROR);
    return 0;
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const AmigoResourceReservation *rr = &req.reservation.resources[r];
    if (rr->present)
      g_assert_true (isfinite (rr->amount) && rr->amount >= 0);
  }
  return 0;
}
