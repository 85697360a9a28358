/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LSTM weight file (docs/forecast-models.md, "LSTM weight file"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-file.h"
#include "amigo-lstm-private.h"
#include "amigo-model-private.h"
#include "amigo-bytes.h"

#define LSTM_FILE_MAGIC "AMIGOLST"
#define LSTM_FILE_VERSION 1u
#define LSTM_FILE_HEADER_SIZE (8 + 4 * 8 + 8 * 3 + 8 * 2)
#define LSTM_FILE_CHECKSUM_SIZE 32

/* ---- weight file ---------------------------------------------------------
 *
 * Little-endian throughout:
 *   0  8 bytes  magic "AMIGOLST"
 *   8  u32      format version (1)
 *  12  u32      inputs per step (3), hidden, window, horizon, held-out windows,
 *               flags (bit 0: history never negative), reserved (0)
 *  40  i64      step_usec, period_usec, end_usec
 *  64  f64      mean, std
 *  80  f32      parameters (Wx, Wh, b, Wo, bo; row-major)
 *      f64      context (window values, normalised)
 *      f64      held-out errors (horizon x held-out, sorted, NaN last)
 *      32 bytes SHA-256 of everything before it
 */

gboolean
amigo_model_lstm_save (const AmigoModel *model, const char *path, GError **error)
{
  const AmigoModelLstm *self = (const AmigoModelLstm *) model;
  g_autoptr(GByteArray) a = NULL;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[LSTM_FILE_CHECKSUM_SIZE];
  gsize digest_len = sizeof digest;
  g_autoptr(GError) local = NULL;

  if (model == NULL || model->klass != &amigo_model_class_lstm) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "only an 'lstm' model can be saved as LSTM weights, got '%s'",
                 model != NULL ? model->klass->name : "(none)");
    return FALSE;
  }
  a = g_byte_array_new ();
  g_byte_array_append (a, (const guint8 *) LSTM_FILE_MAGIC, 8);
  amigo_append_le32 (a, LSTM_FILE_VERSION);
  amigo_append_le32 (a, LSTM_N_INPUT);
  amigo_append_le32 (a, self->hidden);
  amigo_append_le32 (a, self->window);
  amigo_append_le32 (a, self->horizon);
  amigo_append_le32 (a, self->n_resid);
  amigo_append_le32 (a, self->nonneg ? 1 : 0);
  amigo_append_le32 (a, 0);
  amigo_append_le64 (a, (guint64) self->step_usec);
  amigo_append_le64 (a, (guint64) self->period_usec);
  amigo_append_le64 (a, (guint64) self->end_usec);
  amigo_append_le_f64 (a, self->mean);
  amigo_append_le_f64 (a, self->std);
  g_assert (a->len == LSTM_FILE_HEADER_SIZE);
  for (gsize i = 0; i < self->n_params; i++) {
    guint32 u;

    memcpy (&u, &self->params[i], 4);
    amigo_append_le32 (a, u);
  }
  for (guint i = 0; i < self->window; i++)
    amigo_append_le_f64 (a, self->context[i]);
  for (gsize i = 0; i < (gsize) self->horizon * self->n_resid; i++)
    amigo_append_le_f64 (a, self->resid[i]);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, a->data, a->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  g_byte_array_append (a, digest, LSTM_FILE_CHECKSUM_SIZE);

  if (!g_file_set_contents (path, (const char *) a->data, a->len, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED,
                 "cannot write LSTM weights to '%s': %s", path, local->message);
    return FALSE;
  }
  return TRUE;
}

AmigoModel *
amigo_model_lstm_load (const char *path, GError **error)
{
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[LSTM_FILE_CHECKSUM_SIZE];
  gsize digest_len = sizeof digest;
  guint32 version, n_input, hidden, window, horizon, n_resid, flags;
  guint64 expected;
  AmigoModelLstm *self;
  const guint8 *p;

  if (!amigo_file_read (path, "LSTM weights", (char **) &data, &len, error))
    return NULL;
  if (len < 8 || memcmp (data, LSTM_FILE_MAGIC, 8) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "'%s' is not an amigo LSTM weight file (no '%s' magic)", path, LSTM_FILE_MAGIC);
    return NULL;
  }
  if (len < LSTM_FILE_HEADER_SIZE + LSTM_FILE_CHECKSUM_SIZE) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is truncated: %" G_GSIZE_FORMAT " bytes, the header alone needs %d",
                 path, len, LSTM_FILE_HEADER_SIZE + LSTM_FILE_CHECKSUM_SIZE);
    return NULL;
  }
  version = amigo_get_le32 (data + 8);
  if (version != LSTM_FILE_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "LSTM weight file '%s' has format version %u, this build reads version %u",
                 path, version, LSTM_FILE_VERSION);
    return NULL;
  }
  n_input = amigo_get_le32 (data + 12);
  hidden = amigo_get_le32 (data + 16);
  window = amigo_get_le32 (data + 20);
  horizon = amigo_get_le32 (data + 24);
  n_resid = amigo_get_le32 (data + 28);
  flags = amigo_get_le32 (data + 32);
  if (n_input != LSTM_N_INPUT || hidden < 1 || hidden > 256 || window < 2 || window > 1024 ||
      horizon < 1 || horizon > 1024 || n_resid > 1000000 || (flags & ~1u) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' has an impossible shape: %u inputs, %u hidden, window %u, "
                 "horizon %u, %u held-out windows, flags 0x%x", path, n_input, hidden, window, horizon,
                 n_resid, flags);
    return NULL;
  }
  expected = LSTM_FILE_HEADER_SIZE + 4 * (guint64) amigo_lstm_net_n_params (hidden, horizon) + 8 * (guint64) window +
             8 * (guint64) horizon * n_resid + LSTM_FILE_CHECKSUM_SIZE;
  if (len != expected) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is %s: %" G_GSIZE_FORMAT " bytes, its shape needs %" G_GUINT64_FORMAT,
                 path, len < expected ? "truncated" : "too long", len, expected);
    return NULL;
  }
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, data, len - LSTM_FILE_CHECKSUM_SIZE);
  g_checksum_get_digest (sum, digest, &digest_len);
  if (memcmp (digest, data + len - LSTM_FILE_CHECKSUM_SIZE, LSTM_FILE_CHECKSUM_SIZE) != 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' is corrupt: its SHA-256 checksum does not match", path);
    return NULL;
  }

  self = amigo_model_lstm_alloc (hidden, window, horizon);
  self->nonneg = (flags & 1u) != 0;
  self->step_usec = (gint64) amigo_get_le64 (data + 40);
  self->period_usec = (gint64) amigo_get_le64 (data + 48);
  self->end_usec = (gint64) amigo_get_le64 (data + 56);
  self->mean = amigo_get_le_f64 (data + 64);
  self->std = amigo_get_le_f64 (data + 72);
  p = data + LSTM_FILE_HEADER_SIZE;
  for (gsize i = 0; i < self->n_params; i++, p += 4)
    self->params[i] = amigo_get_le_f32 (p);
  for (guint i = 0; i < window; i++, p += 8)
    self->context[i] = amigo_get_le_f64 (p);
  self->n_resid = n_resid;
  self->resid = g_new (double, (gsize) horizon * n_resid);
  self->resid_count = g_new0 (guint, horizon);
  for (gsize i = 0; i < (gsize) horizon * n_resid; i++, p += 8)
    self->resid[i] = amigo_get_le_f64 (p);
  for (guint k = 0; k < horizon; k++) {
    while (self->resid_count[k] < n_resid && !isnan (self->resid[(gsize) k * n_resid + self->resid_count[k]]))
      self->resid_count[k]++;
  }
  if (self->step_usec <= 0 || self->period_usec <= 0 || !(self->std > 0.0) || !isfinite (self->mean)) {
    amigo_model_free ((AmigoModel *) self);
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT,
                 "LSTM weight file '%s' has an invalid step, period or normalisation", path);
    return NULL;
  }
  return (AmigoModel *) self;
}
