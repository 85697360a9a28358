/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SLO priorities: per workload class, which resources are a domain's SLO
 * (its protected resources), how much it is served before others when the
 * host is short (priority), and the limits its PID loops run within
 * (headroom, output range, rate limit). Per domain, by name or UUID, the
 * priority and the class can be overridden. Defaults and the configuration
 * file are described in docs/allocation.md. */

#include <glib.h>

#include "amigo/amigo-classifier.h"
#include "amigo/amigo-series.h"
#include "amigo-pid.h"

G_BEGIN_DECLS

/* Limits on what an SLO file can make amigod allocate. */
#define AMIGO_SLO_POLICY_MAX_FILE_BYTES ((gsize) 1024 * 1024)
#define AMIGO_SLO_POLICY_MAX_DOMAINS 4096
#define AMIGO_SLO_POLICY_MAX_PRIORITY 100

/**
 * AmigoSloClass:
 * @priority: 0..%AMIGO_SLO_POLICY_MAX_PRIORITY, higher is served first when
 *   the host is short; defaults from amigo_workload_class_priority().
 * @protects: per #AmigoResource, TRUE if the resource is part of the SLO:
 *   the allocator serves it before unprotected demand and records when it is
 *   put at risk.
 * @headroom: per #AmigoResource, fraction of the usage the PID loop keeps on
 *   top in steady state (its set point is usage x (1 + headroom)).
 * @min_fraction: least allocation, as a fraction of the request (the PID
 *   loop's lower output limit).
 * @max_fraction: largest allocation, as a fraction of the request (the PID
 *   loop's upper output limit); at least @min_fraction.
 * @max_rise: rate limit on raising, fraction of the request per second.
 * @max_fall: rate limit on lowering, fraction of the request per second.
 *
 * The policy of one workload class.
 */
typedef struct {
  int priority;
  gboolean protects[AMIGO_RESOURCE_LAST];
  double headroom[AMIGO_RESOURCE_LAST];
  double min_fraction;
  double max_fraction;
  double max_rise;
  double max_fall;
} AmigoSloClass;

/**
 * AmigoSloDomainPolicy:
 * @klass: the class the domain is treated as (the detected one unless a
 *   `[domain:...]` group sets `class`).
 * @params: the class's policy, with the domain's `priority` if set.
 * @overridden: TRUE if a `[domain:...]` group matched the domain.
 *
 * What applies to one domain.
 */
typedef struct {
  AmigoWorkloadClass klass;
  AmigoSloClass params;
  gboolean overridden;
} AmigoSloDomainPolicy;

typedef struct _AmigoSloPolicy AmigoSloPolicy;

/* The defaults (docs/allocation.md has the table). */
AmigoSloPolicy *amigo_slo_policy_new (void);
void amigo_slo_policy_free (AmigoSloPolicy *self);

/* Reads a GKeyFile with `[class:NAME]` and `[domain:NAME-OR-UUID]` groups
 * over the current policy. Every error is AMIGO_ERROR_BAD_CONFIG (a missing
 * file AMIGO_ERROR_NOT_FOUND) and names the file, the line, the group and
 * the key, what was expected and what was found; unknown groups and keys
 * are refused. On failure @self is left as it was. */
gboolean amigo_slo_policy_load_file (AmigoSloPolicy *self, const char *path, GError **error);

/* The same for @len bytes of @data read from @path (named in messages). */
gboolean amigo_slo_policy_load_data (AmigoSloPolicy *self, const char *path, const char *data, gsize len,
                                     GError **error);

const AmigoSloClass *amigo_slo_policy_get_class (const AmigoSloPolicy *self, AmigoWorkloadClass klass);

/* Number of `[domain:...]` overrides. */
guint amigo_slo_policy_get_n_domains (const AmigoSloPolicy *self);

/* The policy of a domain named @name (may be NULL) with UUID @uuid (may be
 * NULL) whose detected class is @detected. An override by UUID wins over
 * one by name, key by key. */
void amigo_slo_policy_lookup (const AmigoSloPolicy *self, const char *name, const char *uuid,
                              AmigoWorkloadClass detected, AmigoSloDomainPolicy *ret_policy);

/* The PID loop's params for @resource of a domain whose request (the
 * reservation it was admitted with) is @request: output limits
 * @min_fraction and @max_fraction of @request, rise and fall limits from
 * @max_rise and @max_fall, the steady headroom from @headroom; the migration
 * phases keep the loop's own headroom where it is larger. */
void amigo_slo_domain_policy_pid_params (const AmigoSloDomainPolicy *policy, AmigoResource resource,
                                         double request, AmigoPidParams *ret_params);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoSloPolicy, amigo_slo_policy_free)

G_END_DECLS
