/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A domain UUID in its canonical text form, "xxxxxxxx-xxxx-...": 36
 * characters; a buffer for it holds one more (libvirt's
 * VIR_UUID_STRING_BUFLEN, for code that does not link libvirt). */
#define AMIGO_UUID_STRING_LEN 36
#define AMIGO_UUID_BUFLEN (AMIGO_UUID_STRING_LEN + 1)
