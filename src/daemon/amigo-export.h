/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-metric.h"
#include "amigo/amigo-reservation.h"

G_BEGIN_DECLS

/* The file node_exporter's textfile collector finds is written here when
 * [export] prometheus_textfile is set (it is off by default). */
#define AMIGO_EXPORT_EXAMPLE_TEXTFILE "/var/lib/prometheus/node-exporter/amigo.prom"

/**
 * AmigoExportDomain:
 * @uuid: the domain's UUID, canonical text form; the series' identity.
 * @name: the domain's name (any UTF-8; escaped on output). NULL = "".
 * @latest: the latest sample, in the metric table's units
 *   (amigo_metric_unit()); NAN values are omitted. @latest.time_usec 0 =
 *   no sample yet (then nothing of it is exported).
 * @request: the current reservation request, in each resource's unit
 *   (amigo_resource_unit()); NULL = none. A resource that is not present,
 *   and any NAN field, is omitted.
 * @request_usec: when @request was computed (wall clock); 0 = unknown.
 *
 * One domain's figures, borrowed from the caller for one render.
 */
typedef struct {
  const char *uuid;
  const char *name;
  AmigoSample latest;
  const AmigoReservation *request;
  gint64 request_usec;
} AmigoExportDomain;

/**
 * AmigoExportStore:
 * @ok: the history store records samples.
 * @failing_since_usec: when it started failing (wall clock); ignored when @ok.
 * @samples_lost: samples that could not be recorded since amigod started.
 */
typedef struct {
  gboolean ok;
  gint64 failing_since_usec;
  guint64 samples_lost;
} AmigoExportStore;

/**
 * AmigoExportPolls:
 * @polls: polls completed since amigod started.
 * @skipped: polls not started because the previous one was still running.
 * @job_calls_skipped: libvirt calls that take a domain job, skipped because
 *   the domain had a job (a migration) running.
 * @last_duration_usec: how long the last poll took; negative = none yet.
 * @last_usec: when the last poll ended (wall clock); 0 = none yet.
 */
typedef struct {
  guint64 polls;
  guint64 skipped;
  guint64 job_calls_skipped;
  gint64 last_duration_usec;
  gint64 last_usec;
} AmigoExportPolls;

/**
 * AmigoExportSnapshot:
 * @version: amigod's version (AMIGO_VERSION).
 * @start_usec: when amigod started (wall clock); 0 = omitted.
 * @domains: (array length=n_domains): the tracked domains, in any order.
 * @n_domains: number of @domains.
 * @store: the history store's health.
 * @polls: poll counters and timings.
 *
 * Everything the export shows, as plain values the daemon fills in. Nothing
 * here is owned by the snapshot.
 */
typedef struct {
  const char *version;
  gint64 start_usec;
  const AmigoExportDomain *domains;
  gsize n_domains;
  AmigoExportStore store;
  AmigoExportPolls polls;
} AmigoExportSnapshot;

/* Initialises @snapshot to "nothing known": no domains, store ok, no polls. */
void amigo_export_snapshot_init (AmigoExportSnapshot *snapshot);

/* Renders @snapshot in Prometheus's text exposition format (version 0.0.4):
 * one "# HELP" and "# TYPE" per family, families in a fixed order, domains
 * sorted by UUID (a repeated UUID is dropped), unknown figures omitted, no
 * sample timestamps (the textfile collector refuses them). Never fails. */
char *amigo_export_render (const AmigoExportSnapshot *snapshot);

/* Writes @contents to @path atomically: a hidden temporary file in the same
 * directory (so node_exporter never reads a half-written one), mode 0644
 * whatever the umask (node_exporter runs as another user), fsync, rename,
 * fsync of the directory. On failure @path is left as it was and the
 * temporary file is removed; the error (G_FILE_ERROR) names the file. */
gboolean amigo_export_write_file (const char *path,
                                  const char *contents,
                                  GError **error);

/* Checks an [export] prometheus_textfile value: empty = off (*ret_path =
 * NULL); otherwise an absolute path ending in ".prom" whose directory
 * exists. Bad values fail with AMIGO_ERROR_BAD_CONFIG and a message saying
 * what was expected and what was given (the caller adds file, line, key). */
gboolean amigo_export_parse_textfile_path (const char *value,
                                           char **ret_path,
                                           GError **error);

G_END_DECLS
