/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Little-endian encoding of fixed-size fields, for every on-disk format
 * amigo writes (history segments, LSTM weight files). Unaligned access is
 * fine: each goes through memcpy(). */

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

static inline void
amigo_put_le16 (guint8 *p, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
amigo_put_le32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
amigo_put_le64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
amigo_put_le_f32 (guint8 *p, float f)
{
  guint32 u;

  memcpy (&u, &f, sizeof u);
  amigo_put_le32 (p, u);
}

static inline void
amigo_put_le_f64 (guint8 *p, double d)
{
  guint64 u;

  memcpy (&u, &d, sizeof u);
  amigo_put_le64 (p, u);
}

static inline guint16
amigo_get_le16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
amigo_get_le32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
amigo_get_le64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

static inline float
amigo_get_le_f32 (const guint8 *p)
{
  guint32 u = amigo_get_le32 (p);
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

static inline double
amigo_get_le_f64 (const guint8 *p)
{
  guint64 u = amigo_get_le64 (p);
  double d;

  memcpy (&d, &u, sizeof d);
  return d;
}

/* Appends to a growing buffer. */
static inline void
amigo_append_le32 (GByteArray *a, guint32 v)
{
  guint8 b[4];

  amigo_put_le32 (b, v);
  g_byte_array_append (a, b, sizeof b);
}

static inline void
amigo_append_le64 (GByteArray *a, guint64 v)
{
  guint8 b[8];

  amigo_put_le64 (b, v);
  g_byte_array_append (a, b, sizeof b);
}

static inline void
amigo_append_le_f64 (GByteArray *a, double d)
{
  guint8 b[8];

  amigo_put_le_f64 (b, d);
  g_byte_array_append (a, b, sizeof b);
}

G_END_DECLS
