/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-config.h"   /* the build-wide one: AMIGO_SYSCONFDIR */
#include "amigo-history.h"
#include "amigo/amigo-series.h"

G_BEGIN_DECLS

/* Where amigod looks for its configuration when --config is not given
 * (the environment variable AMIGOD_CONFIG overrides it). */
#define AMIGO_CONF_DEFAULT_PATH AMIGO_SYSCONFDIR "/amigo/amigod.conf"
#define AMIGO_CONF_DEFAULT_URI "qemu:///system"

/**
 * AmigoConf:
 * @path: the file it was loaded from, NULL when only defaults apply.
 * @uri: libvirt connection URI ([daemon] uri).
 * @interval_usec: sampling interval ([daemon] interval).
 * @state_dir: directory of the history store ([daemon] state_dir).
 * @metadata_interval_usec: how often the history summary is written into
 *   each running domain's metadata ([daemon] metadata_interval).
 * @dirty_rate_period_usec: length of the page-dirty-rate measurement amigod
 *   starts on every domain ([daemon] dirty_rate_period; whole seconds).
 * @history: the history store's retention ([history] raw_retention, step,
 *   retention).
 * @forecast: the migration every domain's reservation request is for
 *   ([forecast] window (0 = the overhead model's estimate), settle, link
 *   in Mbit/s) and how old a request may get before it is stale
 *   ([forecast] max_age; 0 = three metadata intervals).
 * @export_textfile: where the Prometheus textfile goes ([export]
 *   prometheus_textfile); NULL = no export.
 * @allocation: the host's reservation ledger ([allocation]): whether
 *   AdmitMigration reserves at all (enabled), how long a reservation waits
 *   for its domain (lease), and per #AmigoResource the host reserve, the
 *   overcommit ratio and the capacity of the resources libvirt does not
 *   report (network Mbit/s, disk IOPS, GPU memory GiB; NAN = unknown: not
 *   admitted on). CPU and memory capacity always come from libvirt.
 *
 * amigod's configuration: defaults, then the file, then the environment.
 * See docs/configuration.md.
 */
typedef struct {
  char *path;
  char *uri;
  gint64 interval_usec;
  char *state_dir;
  gint64 metadata_interval_usec;
  gint64 dirty_rate_period_usec;
  AmigoHistoryOptions history;
  struct {
    gint64 window_usec;
    gint64 settle_usec;
    double link_mbit_s;
    gint64 max_age_usec;
  } forecast;
  char *export_textfile;
  struct {
    gboolean enabled;
    gint64 lease_usec;
    double reserve[AMIGO_RESOURCE_LAST];
    double overcommit[AMIGO_RESOURCE_LAST];
    double capacity[AMIGO_RESOURCE_LAST];
  } allocation;
} AmigoConf;

AmigoConf *amigo_conf_new (void);
void amigo_conf_free (AmigoConf *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoConf, amigo_conf_free)

/* Loads @path over the current values. Malformed lines and bad values fail
 * with AMIGO_ERROR_BAD_CONFIG and a message naming the file, the line, the
 * key and what was expected. Unknown groups and keys are not errors: one
 * message per key is appended to @warnings (char *, may be NULL). */
gboolean amigo_conf_load_file (AmigoConf *self,
                                 const char *path,
                                 GPtrArray *warnings,
                                 GError **error);

/* Applies AMIGOD_URI and AMIGOD_STATE_DIR from the environment. */
void amigo_conf_apply_env (AmigoConf *self);

/* Checks the relations between values (e.g. step <= raw_retention). */
gboolean amigo_conf_validate (const AmigoConf *self, GError **error);

G_END_DECLS
