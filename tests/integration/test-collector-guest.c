/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helper of test-collector-guest.sh: polls the machine's libvirtd with
 * amigo_collector_poll() for a while, runs the job-taking calls it hands out
 * after each poll (as amigod does off its main loop), and checks what it reads
 * for a guest spinning one vCPU (about one core) and an idle one (about
 * nothing). The idle guest is defined without a balloon statistics period:
 * its memory figures come once the collector's job has set one.
 *
 * usage: test-collector-guest URI BURN_NAME IDLE_NAME SECONDS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "amigo-collector.h"
#include "amigo-domain-job.h"
#include "amigo-time.h"

#define POLL_USEC (2 * AMIGO_USEC_PER_SEC)

typedef struct {
  const char *name;
  double cpu_sum;
  guint cpu_n;
  guint seen;
  guint memory_n;
  guint host_memory_n;
  double host_memory_sum;
  guint gpu_zero_n;
  guint dirty_n;
  double configured_gib;
} Tally;

/* What the scheduler says about the burning guest over the whole window,
 * read through the collector's augment seam: CPU it got and time its vCPUs
 * waited for a host CPU (vcpu.N.delay). On a contended host the guest cannot
 * get a whole core, but got + waited still is one. */
typedef struct {
  const char *name;
  gboolean primed;
  gint64 first_usec, last_usec;
  guint64 first_cpu, last_cpu;
  guint64 first_delay, last_delay;
} Sched;

static void
watch_sched (const char *uuid, const char *name, gint64 now_usec, virTypedParameterPtr *params,
             int *nparams, int *maxparams, gpointer user_data)
{
  Sched *s = user_data;
  unsigned long long cpu = 0, delay = 0;

  if (g_strcmp0 (name, s->name) != 0)
    return;
  if (virTypedParamsGetULLong (*params, *nparams, "cpu.time", &cpu) != 1)
    return;
  for (int i = 0; i < *nparams; i++) {
    const char *f = (*params)[i].field;
    if (g_str_has_prefix (f, "vcpu.") && g_str_has_suffix (f, ".delay") &&
        (*params)[i].type == VIR_TYPED_PARAM_ULLONG)
      delay += (*params)[i].value.ul;
  }
  if (!s->primed) {
    s->primed = TRUE;
    s->first_usec = now_usec;
    s->first_cpu = cpu;
    s->first_delay = delay;
  }
  s->last_usec = now_usec;
  s->last_cpu = cpu;
  s->last_delay = delay;
}

static void
tally (Tally *t, const AmigoDomainSample *ds)
{
  const double *v = ds->sample.values;

  t->seen++;
  if (!isnan (v[AMIGO_METRIC_CPU])) {
    t->cpu_sum += v[AMIGO_METRIC_CPU];
    t->cpu_n++;
  }
  if (isfinite (v[AMIGO_METRIC_MEMORY]) && v[AMIGO_METRIC_MEMORY] > 0.0)
    t->memory_n++;
  if (isfinite (v[AMIGO_METRIC_HOST_MEMORY]) && v[AMIGO_METRIC_HOST_MEMORY] > 0.0) {
    t->host_memory_n++;
    t->host_memory_sum += v[AMIGO_METRIC_HOST_MEMORY];
  }
  if (v[AMIGO_METRIC_GPU_MEMORY] == 0.0)
    t->gpu_zero_n++;
  if (isfinite (v[AMIGO_METRIC_DIRTY_RATE]) && v[AMIGO_METRIC_DIRTY_RATE] >= 0.0)
    t->dirty_n++;
}

/* Runs the jobs the last poll handed out, one after the other. */
static void
run_jobs (AmigoCollector *collector, virConnectPtr conn, gint64 t_usec, guint *ret_n_ok, guint *ret_n_failed)
{
  g_autoptr(GArray) jobs = amigo_collector_take_jobs (collector);

  for (guint i = 0; i < jobs->len; i++) {
    const AmigoDomainJob *job = &g_array_index (jobs, AmigoDomainJob, i);
    g_autoptr(GError) error = NULL;

    if (amigo_domain_job_run (conn, job, &error)) {
      (*ret_n_ok)++;
      if (job->kind == AMIGO_DOMAIN_JOB_STATS_PERIOD)
        printf ("%6.1f  %s: statistics period set to %d s\n", (double) t_usec / AMIGO_USEC_PER_SEC, job->uuid,
                job->arg);
    } else {
      (*ret_n_failed)++;
      printf ("job %s failed: %s\n", amigo_domain_job_kind_to_string (job->kind), error->message);
    }
    amigo_collector_job_done (collector, job, error);
  }
}

/* The guest's configured memory, GiB. */
static double
configured_gib (virConnectPtr conn, const char *name)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);
  virDomainInfo info;
  double gib = NAN;

  if (dom != NULL && virDomainGetInfo (dom, &info) == 0)
    gib = (double) info.maxMem / (1024.0 * 1024.0);
  if (dom != NULL)
    virDomainFree (dom);
  return gib;
}

int
main (int argc, char **argv)
{
  g_autoptr(AmigoCollector) collector = NULL;
  Tally burn = { 0 }, idle = { 0 };
  Sched sched = { 0 };
  virConnectPtr conn;
  gint64 start, seconds;
  double burn_mean, idle_mean;
  guint jobs_ok = 0, jobs_failed = 0;
  gboolean ok = TRUE;

  if (argc != 5) {
    fprintf (stderr, "usage: %s URI BURN_NAME IDLE_NAME SECONDS\n", argv[0]);
    return 2;
  }
  burn.name = argv[2];
  idle.name = argv[3];
  seconds = g_ascii_strtoll (argv[4], NULL, 10);

  conn = virConnectOpen (argv[1]);
  if (conn == NULL) {
    fprintf (stderr, "cannot connect to '%s'\n", argv[1]);
    return 1;
  }
  collector = amigo_collector_new ();
  amigo_collector_set_gpu_source (collector, amigo_gpu_source_xml_new (NULL, 0));
  amigo_collector_set_dirty_rate_period (collector, 1);
  amigo_collector_set_interval (collector, POLL_USEC);
  sched.name = burn.name;
  amigo_collector_set_augment_func (collector, watch_sched, &sched);

  start = g_get_monotonic_time ();
  printf ("%6s  %-28s %6s %8s %8s %8s %8s %8s\n", "t/s", "domain", "cores", "mem/GiB", "host/GiB",
          "rd/s", "gpu/GiB", "dirty");
  for (gint64 next = start; next <= start + seconds * AMIGO_USEC_PER_SEC; next += POLL_USEC) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) samples = NULL;
    gint64 now;

    while ((now = g_get_monotonic_time ()) < next)
      g_usleep (next - now);
    if (!amigo_collector_poll (collector, conn, now, g_get_real_time (), &samples, &error)) {
      fprintf (stderr, "poll failed: %s\n", error->message);
      virConnectClose (conn);
      return 1;
    }
    for (guint i = 0; i < samples->len; i++) {
      const AmigoDomainSample *ds = &g_array_index (samples, AmigoDomainSample, i);
      Tally *t = g_strcmp0 (ds->name, burn.name) == 0 ? &burn :
                 g_strcmp0 (ds->name, idle.name) == 0 ? &idle : NULL;
      if (t == NULL)
        continue;
      tally (t, ds);
      printf ("%6.1f  %-28s %6.3f %8.3f %8.3f %8.1f %8.1f %8.1f\n", (double) (now - start) / AMIGO_USEC_PER_SEC,
              ds->name, ds->sample.values[AMIGO_METRIC_CPU], ds->sample.values[AMIGO_METRIC_MEMORY],
              ds->sample.values[AMIGO_METRIC_HOST_MEMORY], ds->sample.values[AMIGO_METRIC_DISK_READ],
              ds->sample.values[AMIGO_METRIC_GPU_MEMORY],
              ds->sample.values[AMIGO_METRIC_DIRTY_RATE]);
    }
    fflush (stdout);
    run_jobs (collector, conn, now - start, &jobs_ok, &jobs_failed);
  }
  burn.configured_gib = configured_gib (conn, burn.name);
  idle.configured_gib = configured_gib (conn, idle.name);
  virConnectClose (conn);

  burn_mean = burn.cpu_n > 0 ? burn.cpu_sum / burn.cpu_n : NAN;
  idle_mean = idle.cpu_n > 0 ? idle.cpu_sum / idle.cpu_n : NAN;
  printf ("burn: %.3f cores over %u rated polls; idle: %.3f cores over %u rated polls\n",
          burn_mean, burn.cpu_n, idle_mean, idle.cpu_n);
  printf ("jobs run: %u, failed: %u\n", jobs_ok, jobs_failed);

  for (Tally *t = &burn; t != NULL; t = t == &burn ? &idle : NULL) {
    if (t->seen < 5 || t->cpu_n + 1 < t->seen) {
      printf ("FAIL: '%s' seen in %u polls with %u CPU rates (want >= 5, all but the first)\n",
              t->name, t->seen, t->cpu_n);
      ok = FALSE;
    }
    double host_mean = t->host_memory_n > 0 ? t->host_memory_sum / t->host_memory_n : NAN;

    /* the idle guest has no statistics period until the collector's job sets
     * one: its boot-time figures are stale for a poll or two */
    if (t->memory_n + 2 < t->seen) {
      printf ("FAIL: '%s' has memory in %u of %u polls\n", t->name, t->memory_n, t->seen);
      ok = FALSE;
    }
    printf ("'%s': host_memory %.3f GiB (mean of %u polls), configured %.3f GiB\n", t->name, host_mean,
            t->host_memory_n, t->configured_gib);
    /* QEMU holds the guest's touched pages plus its own code and buffers:
     * more than nothing, less than the guest plus half a GiB */
    if (t->host_memory_n != t->seen || !(host_mean > 0.01 && host_mean < t->configured_gib + 0.5)) {
      printf ("FAIL: '%s' host memory %.3f GiB in %u of %u polls\n", t->name, host_mean, t->host_memory_n,
              t->seen);
      ok = FALSE;
    }
#if LIBVIR_CHECK_VERSION(7, 2, 0)
    /* the collector starts 1 s calculations itself: later polls see results */
    if (t->dirty_n == 0) {
      printf ("FAIL: '%s' never got a page-dirty rate\n", t->name);
      ok = FALSE;
    }
#endif
    if (t->gpu_zero_n != t->seen) {
      printf ("FAIL: '%s' (no GPU) reads 0 GPU GiB in only %u of %u polls\n", t->name, t->gpu_zero_n, t->seen);
      ok = FALSE;
    }
  }
  if (!(burn_mean >= 0.7 && burn_mean <= 1.3)) {
    double window = (double) (sched.last_usec - sched.first_usec) * 1000.0;
    double got = window > 0 ? (double) (sched.last_cpu - sched.first_cpu) / window : NAN;
    double waited = window > 0 ? (double) (sched.last_delay - sched.first_delay) / window : NAN;

    /* Only a contended host excuses a low reading: the guest must have been
     * runnable all along (got + waited ~ 1 core) and the collector must
     * agree with the scheduler on what it got. */
    printf ("burning guest reads %.3f cores; scheduler: got %.3f, waited %.3f (host load)\n",
            burn_mean, got, waited);
    if (!(got + waited >= 0.7 && got + waited <= 1.3 && fabs (got - burn_mean) < 0.1)) {
      printf ("FAIL: burning guest reads %.3f cores, want 0.7..1.3\n", burn_mean);
      ok = FALSE;
    } else {
      printf ("host CPU contended: accepting %.3f cores as the share the guest got\n", burn_mean);
    }
  }
  if (!(idle_mean >= 0.0 && idle_mean < 0.15)) {
    printf ("FAIL: idle guest reads %.3f cores, want < 0.15\n", idle_mean);
    ok = FALSE;
  }
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
