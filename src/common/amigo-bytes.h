/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Little-endian encoding of fixed-size fields, for every on-disk format
 * amigo writes (history segments, LSTM weight files). Unaligned access is
 * fine: each goes through memcpy(). */

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* amigo_put_le<BITS>() and amigo_get_le<BITS>() for an unsigned integer of
 * BITS bits: one body for every width. */
#define AMIGO_BYTES_DEFINE_UINT(bits) \
  static inline void \
  amigo_put_le##bits (guint8 *p, guint##bits v) \
  { \
    v = GUINT##bits##_TO_LE (v); \
    memcpy (p, &v, sizeof v); \
  } \
  static inline guint##bits \
  amigo_get_le##bits (const guint8 *p) \
  { \
    guint##bits v; \
    memcpy (&v, p, sizeof v); \
    return GUINT##bits##_FROM_LE (v); \
  }

AMIGO_BYTES_DEFINE_UINT (16)
AMIGO_BYTES_DEFINE_UINT (32)
AMIGO_BYTES_DEFINE_UINT (64)

/* amigo_put_le_<name>() and amigo_get_le_<name>() for an IEEE 754 @Float,
 * stored as the integer of the same @bits with the same bytes. */
#define AMIGO_BYTES_DEFINE_FLOAT(name, Float, bits) \
  G_STATIC_ASSERT (sizeof (Float) == sizeof (guint##bits)); \
  static inline void \
  amigo_put_le_##name (guint8 *p, Float f) \
  { \
    guint##bits u; \
    memcpy (&u, &f, sizeof u); \
    amigo_put_le##bits (p, u); \
  } \
  static inline Float \
  amigo_get_le_##name (const guint8 *p) \
  { \
    guint##bits u = amigo_get_le##bits (p); \
    Float f; \
    memcpy (&f, &u, sizeof f); \
    return f; \
  }

AMIGO_BYTES_DEFINE_FLOAT (f32, float, 32)
AMIGO_BYTES_DEFINE_FLOAT (f64, double, 64)

/* amigo_append_le<suffix>(): appends @Type to a growing buffer, encoded by
 * amigo_put_le<suffix>(). */
#define AMIGO_BYTES_DEFINE_APPEND(suffix, Type) \
  static inline void \
  amigo_append_le##suffix (GByteArray *a, Type v) \
  { \
    guint8 b[sizeof (Type)]; \
    amigo_put_le##suffix (b, v); \
    g_byte_array_append (a, b, sizeof b); \
  }

AMIGO_BYTES_DEFINE_APPEND (32, guint32)
AMIGO_BYTES_DEFINE_APPEND (64, guint64)
AMIGO_BYTES_DEFINE_APPEND (_f64, double)

G_END_DECLS
