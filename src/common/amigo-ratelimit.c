/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-ratelimit.h"

typedef struct {
  gint64 last_usec;               /* when one last went out */
  guint suppressed;               /* held back since */
} RatelimitEntry;

struct _AmigoRatelimit {
  gint64 interval_usec;
  guint max_keys;
  GHashTable *keys;               /* char * -> RatelimitEntry */
};

AmigoRatelimit *
amigo_ratelimit_new (gint64 interval_usec, guint max_keys)
{
  AmigoRatelimit *self = g_new0 (AmigoRatelimit, 1);

  self->interval_usec = interval_usec;
  self->max_keys = MAX (max_keys, 1);
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
amigo_ratelimit_free (AmigoRatelimit *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->keys);
  g_free (self);
}

static void
ratelimit_forget_old (AmigoRatelimit *self, gint64 now_usec)
{
  GHashTableIter iter;
  RatelimitEntry *e;

  g_hash_table_iter_init (&iter, self->keys);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e))
    if (now_usec - e->last_usec >= self->interval_usec)
      g_hash_table_iter_remove (&iter);
  if (g_hash_table_size (self->keys) >= self->max_keys)
    g_hash_table_remove_all (self->keys);
}

gboolean
amigo_ratelimit_check (AmigoRatelimit *self, const char *key, gint64 now_usec, guint *ret_suppressed)
{
  RatelimitEntry *e;

  g_return_val_if_fail (self != NULL && key != NULL, TRUE);
  e = g_hash_table_lookup (self->keys, key);
  if (e != NULL && now_usec - e->last_usec < self->interval_usec) {
    e->suppressed++;
    return FALSE;
  }
  if (e == NULL) {
    if (g_hash_table_size (self->keys) >= self->max_keys)
      ratelimit_forget_old (self, now_usec);
    e = g_new0 (RatelimitEntry, 1);
    g_hash_table_insert (self->keys, g_strdup (key), e);
  }
  if (ret_suppressed != NULL)
    *ret_suppressed = e->suppressed;
  e->suppressed = 0;
  e->last_usec = now_usec;
  return TRUE;
}
