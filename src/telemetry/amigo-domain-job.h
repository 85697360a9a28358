/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "amigo-uuid.h"

G_BEGIN_DECLS

/**
 * AmigoDomainJobKind:
 * @AMIGO_DOMAIN_JOB_DIRTY_RATE: start a dirty-rate measurement (virDomainStartDirtyRateCalc, @arg = seconds).
 * @AMIGO_DOMAIN_JOB_STATS_PERIOD: set the balloon statistics period (virDomainSetMemoryStatsPeriod,
 *   @arg = seconds, live).
 *
 * Calls that take a libvirt job on one domain and so may wait behind a migration for its whole length.
 * The collector never makes them; it asks its caller to, off the main loop.
 */
typedef enum {
  AMIGO_DOMAIN_JOB_DIRTY_RATE,
  AMIGO_DOMAIN_JOB_STATS_PERIOD,
  AMIGO_DOMAIN_JOB_LAST
} AmigoDomainJobKind;

typedef struct {
  char uuid[AMIGO_UUID_BUFLEN];
  AmigoDomainJobKind kind;
  int arg;
} AmigoDomainJob;

const char *amigo_domain_job_kind_to_string (AmigoDomainJobKind kind);

/* Makes the call; blocks (possibly for a whole migration). Safe from any thread: it touches no collector
 * state, only @conn (libvirt connections are thread-safe). */
gboolean amigo_domain_job_run (virConnectPtr conn, const AmigoDomainJob *job, GError **error);

G_END_DECLS
