/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-metric.h"
#include "amigo-uuid.h"

G_BEGIN_DECLS

/**
 * AmigoTrackedDomain:
 * @uuid: the libvirt UUID string.
 * @name: the domain's name.
 * @last: its latest sample; @last.time_usec is 0 before the first one.
 *
 * One domain of this host as the last poll saw it. The table owns these.
 */
typedef struct {
  char uuid[AMIGO_UUID_BUFLEN];
  char *name;
  AmigoSample last;
} AmigoTrackedDomain;

/**
 * AmigoDomainTable: the domains the collector reports, by UUID.
 *
 * A poll is amigo_domain_table_begin_poll(), one amigo_domain_table_update()
 * per domain reported, then amigo_domain_table_end_poll(), which drops the
 * domains the poll did not report (they went away or left by migration).
 */
typedef struct _AmigoDomainTable AmigoDomainTable;

/* Called for a domain being dropped, just before it is freed. */
typedef void (*AmigoDomainTableRemovedFunc) (const AmigoTrackedDomain *domain, gpointer user_data);

AmigoDomainTable *amigo_domain_table_new (void);
void amigo_domain_table_free (AmigoDomainTable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoDomainTable, amigo_domain_table_free)

void amigo_domain_table_begin_poll (AmigoDomainTable *self);

/* Records @sample of the domain @uuid (named @name now) and returns its
 * entry; @ret_added (optional) tells whether the table did not know it. */
AmigoTrackedDomain *amigo_domain_table_update (AmigoDomainTable *self,
                                               const char *uuid,
                                               const char *name,
                                               const AmigoSample *sample,
                                               gboolean *ret_added);

/* Drops the domains not updated since amigo_domain_table_begin_poll(),
 * calling @removed (nullable) for each. */
void amigo_domain_table_end_poll (AmigoDomainTable *self,
                                  AmigoDomainTableRemovedFunc removed,
                                  gpointer user_data);

/* (nullable) */
AmigoTrackedDomain *amigo_domain_table_lookup (AmigoDomainTable *self, const char *uuid);
guint amigo_domain_table_size (AmigoDomainTable *self);

/* The domains (borrowed GPtrArray of AmigoTrackedDomain *), valid until the
 * next poll. */
GPtrArray *amigo_domain_table_get_list (AmigoDomainTable *self);

G_END_DECLS
