/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-domain-table.h"

typedef struct {
  AmigoTrackedDomain pub;   /* first: the table hands out &entry->pub */
  gboolean seen;            /* updated since amigo_domain_table_begin_poll() */
} Entry;

struct _AmigoDomainTable {
  GHashTable *entries;      /* uuid -> Entry (owned) */
  GPtrArray *list;          /* the same, borrowed, rebuilt at the end of a poll */
};

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_free (e->pub.name);
  g_free (e);
}

AmigoDomainTable *
amigo_domain_table_new (void)
{
  AmigoDomainTable *self = g_new0 (AmigoDomainTable, 1);

  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  self->list = g_ptr_array_new ();
  return self;
}

void
amigo_domain_table_free (AmigoDomainTable *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->list);
  g_hash_table_unref (self->entries);
  g_free (self);
}

void
amigo_domain_table_begin_poll (AmigoDomainTable *self)
{
  GHashTableIter iter;
  Entry *e;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e))
    e->seen = FALSE;
}

AmigoTrackedDomain *
amigo_domain_table_update (AmigoDomainTable *self,
                           const char *uuid,
                           const char *name,
                           const AmigoSample *sample,
                           gboolean *ret_added)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);
  gboolean added = e == NULL;

  if (added) {
    e = g_new0 (Entry, 1);
    g_strlcpy (e->pub.uuid, uuid, sizeof e->pub.uuid);
    e->pub.name = g_strdup (name);
    g_hash_table_insert (self->entries, e->pub.uuid, e);
  } else if (g_strcmp0 (e->pub.name, name) != 0) {
    g_free (e->pub.name);
    e->pub.name = g_strdup (name);
  }
  e->pub.last = *sample;
  e->seen = TRUE;
  if (ret_added != NULL)
    *ret_added = added;
  return &e->pub;
}

void
amigo_domain_table_end_poll (AmigoDomainTable *self,
                             AmigoDomainTableRemovedFunc removed,
                             gpointer user_data)
{
  GHashTableIter iter;
  Entry *e;

  g_ptr_array_set_size (self->list, 0);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &e)) {
    if (e->seen) {
      g_ptr_array_add (self->list, &e->pub);
      continue;
    }
    if (removed != NULL)
      removed (&e->pub, user_data);
    g_hash_table_iter_remove (&iter);
  }
}

AmigoTrackedDomain *
amigo_domain_table_lookup (AmigoDomainTable *self, const char *uuid)
{
  Entry *e = g_hash_table_lookup (self->entries, uuid);

  return e != NULL ? &e->pub : NULL;
}

guint
amigo_domain_table_size (AmigoDomainTable *self)
{
  return g_hash_table_size (self->entries);
}

GPtrArray *
amigo_domain_table_get_list (AmigoDomainTable *self)
{
  return self->list;
}
