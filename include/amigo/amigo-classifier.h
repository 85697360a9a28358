/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo-series.h"

G_BEGIN_DECLS

/**
 * AmigoWorkloadClass:
 * @AMIGO_WORKLOAD_CLASS_UNKNOWN: not enough evidence for any class.
 * @AMIGO_WORKLOAD_CLASS_IDLE: almost no CPU use most of the time.
 * @AMIGO_WORKLOAD_CLASS_DATABASE: steady, memory-heavy (large memory per
 *   core), high page-dirty rate, little on/off behaviour.
 * @AMIGO_WORKLOAD_CLASS_WEB_SERVER: demand follows users: a daily cycle and
 *   much network per unit of CPU.
 * @AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING: long stretches near full CPU (or
 *   GPU memory in use), little network per CPU.
 * @AMIGO_WORKLOAD_CLASS_BATCH: on/off: jobs run at full speed then stop.
 *
 * What a VM runs, as far as its usage history tells. The class sets the
 * priors used when a series is too short to backtest
 * (amigo_workload_class_prior()) and the SLO priority used by the allocation
 * manager (amigo_workload_class_priority()).
 */
typedef enum {
  AMIGO_WORKLOAD_CLASS_UNKNOWN,
  AMIGO_WORKLOAD_CLASS_IDLE,
  AMIGO_WORKLOAD_CLASS_DATABASE,
  AMIGO_WORKLOAD_CLASS_WEB_SERVER,
  AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING,
  AMIGO_WORKLOAD_CLASS_BATCH,
  AMIGO_WORKLOAD_CLASS_LAST
} AmigoWorkloadClass;

const char *amigo_workload_class_to_string (AmigoWorkloadClass klass);
gboolean amigo_workload_class_from_string (const char *name, AmigoWorkloadClass *ret_klass);
/* "database, web, ...", each name behind @prefix (NULL = none), for messages. */
char *amigo_workload_class_join_names (const char *prefix);
/* The classes a domain can be labelled with (all but unknown, which is what
 * clearing the label gives), joined with ", ", for messages. */
char *amigo_workload_class_join_labels (void);

/* SLO priority, higher = served first when capacity is short:
 * database 5 > web_server 4 > unknown 3 > machine_learning 2 > batch 1 > idle 0.
 * See docs/forecast.md for the reasons. */
int amigo_workload_class_priority (AmigoWorkloadClass klass);

/**
 * AmigoWorkloadPrior:
 * @model: name of the window estimator used when the history is too short
 *   to backtest (a selector built-in, see amigo-selector.h).
 * @inflation: the bound is the estimator plus @inflation times the spread
 *   of the short history (see docs/forecast.md).
 */
typedef struct {
  const char *model;
  double inflation;
} AmigoWorkloadPrior;

const AmigoWorkloadPrior *amigo_workload_class_prior (AmigoWorkloadClass klass);

/**
 * AmigoWorkloadFeatures:
 * @cpu_level: mean CPU use divided by the CPU peak (0..1); NAN if no CPU series.
 * @cpu_cv: coefficient of variation of CPU use.
 * @cpu_daily_acf: autocorrelation of CPU use at a lag of one day (NAN if
 *   the history is shorter than two days).
 * @cpu_bimodality: share of samples near the extremes (below 10 % or above
 *   70 % of the peak) times the share of time in the busier mode, 0..1.
 * @cpu_busy_fraction: share of samples above 70 % of the peak.
 * @cpu_mean_cores: mean CPU use, cores.
 * @network_per_cpu: mean network Mbit/s per mean core in use (NAN if absent).
 * @memory_per_cpu: mean memory GiB per mean core in use (NAN if absent).
 * @dirty_rate_mib_s: page-dirty rate, MiB/s (NAN if unknown).
 * @gpu_memory_gib: mean GPU memory in use (NAN if absent).
 */
typedef struct {
  double cpu_level;
  double cpu_cv;
  double cpu_daily_acf;
  double cpu_bimodality;
  double cpu_busy_fraction;
  double cpu_mean_cores;
  double network_per_cpu;
  double memory_per_cpu;
  double dirty_rate_mib_s;
  double gpu_memory_gib;
} AmigoWorkloadFeatures;

/**
 * AmigoClassification:
 * @klass: the class.
 * @confidence: 0..1; 1 for an administrator's label.
 * @features: what the decision was made from.
 */
typedef struct {
  AmigoWorkloadClass klass;
  double confidence;
  AmigoWorkloadFeatures features;
} AmigoClassification;

/* Defined in amigo-reservation.h. */
typedef struct _AmigoVmHistory AmigoVmHistory;

gboolean amigo_classifier_classify (const AmigoVmHistory *history,
                                    AmigoClassification *ret,
                                    GError **error);

G_END_DECLS
