/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/**
 * AmigoBenchFeed: recorded statistics for the 500-domain benchmark.
 *
 * libvirt's test driver reports only the state of its domains. The feed
 * adds the statistics of a real guest (`virsh domstats` text, see
 * tests/fixtures/domstats-*.txt) to each record through the collector's
 * augment seam, so the whole collector and history path runs. Each domain
 * gets its own scale (from its UUID) and its counters advance with the
 * clock at the rates seen between the first and the last recording.
 */
typedef struct _AmigoBenchFeed AmigoBenchFeed;

/* @files: one or more recordings of the same guest, oldest first. */
AmigoBenchFeed *amigo_bench_feed_new (const char * const *files, GError **error);
void amigo_bench_feed_free (AmigoBenchFeed *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoBenchFeed, amigo_bench_feed_free)

/* An AmigoCollectorAugmentFunc; @user_data is the feed. */
void amigo_bench_feed_augment (const char *uuid,
                               const char *name,
                               gint64 now_usec,
                               virTypedParameterPtr *params,
                               int *nparams,
                               int *maxparams,
                               gpointer user_data);

G_END_DECLS
