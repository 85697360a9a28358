/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigo-allocation"

/* Actuator `libvirt`: libvirt's live tunable API, so the domain's live XML,
 * `virsh schedinfo` and `virsh memtune` say what is in force.
 * - cpu: virDomainSetSchedulerParameters: cpu_shares, global_period,
 *   global_quota (the whole domain, as the cgroup members' cpu quota);
 * - memory: virDomainSetMemoryParameters: soft_limit, hard_limit (KiB);
 * - disks: virDomainSetBlockIoTune read_iops_sec/write_iops_sec for a disk
 *   target ("vda"), virDomainSetBlkioParameters
 *   device_read_iops_sec/device_write_iops_sec for a host device path;
 * - interfaces: virDomainSetInterfaceParameters inbound.average and
 *   outbound.average (KiB/s).
 * All with VIR_DOMAIN_AFFECT_LIVE. Each of these takes a modify job on the
 * domain: while a migration holds the domain's job (on either side) libvirt
 * queues the call until the migration ends (docs/allocation.md, "Actuators:
 * what libvirt allows during a migration"), so probe defers then. */

#include "amigo-actuator.h"

#include <libvirt/virterror.h>

#include "amigo-error.h"

typedef struct {
  virDomainPtr dom;
  char *name;
} Lv;

static gboolean
lv_init (AmigoActuator *self, const AmigoActuatorTarget *target, GError **error)
{
  if (target->dom == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "actuator 'libvirt' needs the libvirt domain of '%s'", target->name);
    return FALSE;
  }
  Lv *lv = g_new0 (Lv, 1);
  virDomainRef (target->dom);
  lv->dom = target->dom;
  lv->name = g_strdup (target->name ? target->name : virDomainGetName (target->dom));
  self->priv = lv;
  return TRUE;
}

static void
lv_finalize (AmigoActuator *self)
{
  Lv *lv = self->priv;

  virDomainFree (lv->dom);
  g_free (lv->name);
  g_free (lv);
}

/* libvirt's last error as an amigo error: "WHAT of domain 'NAME': libvirt's text". */
static void
set_libvirt_error (GError **error, const char *what, const Lv *lv)
{
  virErrorPtr e = virGetLastError ();
  int code = AMIGO_ERROR_FAILED;

  if (e != NULL && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_ARGUMENT_UNSUPPORTED ||
                    e->code == VIR_ERR_OPERATION_UNSUPPORTED))
    code = AMIGO_ERROR_NOT_SUPPORTED;
  else if (e != NULL && e->code == VIR_ERR_OPERATION_TIMEOUT)
    code = AMIGO_ERROR_BUSY;
  else if (e != NULL && e->code == VIR_ERR_INVALID_ARG)
    code = AMIGO_ERROR_INVALID_ARGS;
  g_set_error (error, AMIGO_ERROR, code, "%s of domain '%s': %s", what, lv->name,
               e && e->message ? e->message : "unknown libvirt error");
}

static AmigoActuatorProbeResult
lv_probe (AmigoActuator *self, char **ret_reason)
{
  Lv *lv = self->priv;
  virDomainJobInfo job = { 0 };

  int active = virDomainIsActive (lv->dom);
  if (active < 0) {
    virErrorPtr e = virGetLastError ();
    *ret_reason = g_strdup_printf ("cannot ask libvirt about domain '%s': %s", lv->name,
                                   e && e->message ? e->message : "unknown error");
    return AMIGO_ACTUATOR_PROBE_NOT_SUPPORTED;
  }
  if (active == 0) {
    *ret_reason = g_strdup_printf ("domain '%s' is not running", lv->name);
    return AMIGO_ACTUATOR_PROBE_DEFER;
  }
  /* The destination of a migration answers "migration statistics are
   * available only on the source host" (VIR_ERR_OPERATION_UNSUPPORTED) and
   * the source reports its job: either way a job holds the domain and a set
   * call would wait for it. A driver without job info at all
   * (VIR_ERR_NO_SUPPORT, the test driver) runs no migrations. */
  gboolean busy = FALSE;
  if (virDomainGetJobInfo (lv->dom, &job) < 0) {
    virErrorPtr e = virGetLastError ();
    busy = e == NULL || e->code != VIR_ERR_NO_SUPPORT;
    virResetLastError ();
  } else {
    busy = job.type != VIR_DOMAIN_JOB_NONE;
  }
  if (busy) {
    *ret_reason = g_strdup_printf ("a job (migration) holds domain '%s': libvirt would queue the change "
                                   "until it ends",
                                   lv->name);
    return AMIGO_ACTUATOR_PROBE_DEFER;
  }
  *ret_reason = g_strdup_printf ("domain '%s' runs and no job holds it", lv->name);
  return AMIGO_ACTUATOR_PROBE_SUPPORTED;
}

typedef struct {
  virTypedParameterPtr params;
  int n;
  int max;
} Params;

static void
params_clear (Params *p)
{
  virTypedParamsFree (p->params, p->n);
}

static guint64
kib_of_bytes (guint64 bytes)
{
  return bytes == AMIGO_ACTUATOR_UNLIMITED ? VIR_DOMAIN_MEMORY_PARAM_UNLIMITED : (bytes + 1023) / 1024;
}

/* libvirt takes bandwidth in KiB/s (kilobytes): round kbit/s up. */
static guint
kib_s_of_kbit_s (guint64 kbit)
{
  return kbit == AMIGO_ACTUATOR_UNLIMITED ? 0 : (guint) MIN ((kbit + 7) / 8, G_MAXUINT);
}

static gboolean
apply_cpu (Lv *lv, const AmigoActuatorSettings *c, GError **error)
{
  Params p = { 0 };
  gboolean ok = TRUE;

  if (c->cpu_shares != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddULLong (&p.params, &p.n, &p.max, VIR_DOMAIN_SCHEDULER_CPU_SHARES, c->cpu_shares) == 0;
  if (c->cpu_period_usec != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddULLong (&p.params, &p.n, &p.max, VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD,
                                   c->cpu_period_usec) == 0;
  if (c->cpu_quota_usec != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddLLong (&p.params, &p.n, &p.max, VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA,
                                  c->cpu_quota_usec == AMIGO_ACTUATOR_UNLIMITED ? -1
                                                                                : (long long) c->cpu_quota_usec) == 0;
  if (ok && p.n > 0 && virDomainSetSchedulerParametersFlags (lv->dom, p.params, p.n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
    set_libvirt_error (error, "setting cpu_shares/global_period/global_quota", lv);
    ok = FALSE;
  }
  params_clear (&p);
  return ok;
}

static gboolean
apply_memory (Lv *lv, const AmigoActuatorSettings *c, GError **error)
{
  Params p = { 0 };
  gboolean ok = TRUE;

  if (c->memory_hard_limit_bytes != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddULLong (&p.params, &p.n, &p.max, VIR_DOMAIN_MEMORY_HARD_LIMIT,
                                   kib_of_bytes (c->memory_hard_limit_bytes)) == 0;
  if (c->memory_soft_limit_bytes != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddULLong (&p.params, &p.n, &p.max, VIR_DOMAIN_MEMORY_SOFT_LIMIT,
                                   kib_of_bytes (c->memory_soft_limit_bytes)) == 0;
  if (ok && p.n > 0 && virDomainSetMemoryParameters (lv->dom, p.params, p.n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
    set_libvirt_error (error, "setting soft_limit/hard_limit", lv);
    ok = FALSE;
  }
  params_clear (&p);
  return ok;
}

static gboolean
apply_disk (Lv *lv, const AmigoActuatorDisk *d, GError **error)
{
  Params p = { 0 };
  gboolean ok = TRUE;
  g_autofree char *what = NULL;

  /* blkiotune for a host device path, as "PATH,IOPS" strings; the I/O tune
   * of a guest disk otherwise. 0 removes the limit in both. */
  const gboolean blkio = d->device[0] == '/';
  const struct {
    guint64 iops;
    const char *blkio_field;
    const char *iotune_field;
  } rules[] = {
    { d->read_iops, VIR_DOMAIN_BLKIO_DEVICE_READ_IOPS, VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC },
    { d->write_iops, VIR_DOMAIN_BLKIO_DEVICE_WRITE_IOPS, VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC },
  };

  for (guint r = 0; r < G_N_ELEMENTS (rules); r++) {
    guint64 n = rules[r].iops == AMIGO_ACTUATOR_UNLIMITED ? 0 : rules[r].iops;

    if (rules[r].iops == AMIGO_ACTUATOR_UNSET)
      continue;
    if (blkio) {
      g_autofree char *v = g_strdup_printf ("%s,%" G_GUINT64_FORMAT, d->device, n);
      ok &= virTypedParamsAddString (&p.params, &p.n, &p.max, rules[r].blkio_field, v) == 0;
    } else {
      ok &= virTypedParamsAddULLong (&p.params, &p.n, &p.max, rules[r].iotune_field, n) == 0;
    }
  }
  if (ok && (blkio ? virDomainSetBlkioParameters (lv->dom, p.params, p.n, VIR_DOMAIN_AFFECT_LIVE)
                   : virDomainSetBlockIoTune (lv->dom, d->device, p.params, p.n, VIR_DOMAIN_AFFECT_LIVE)) < 0) {
    what = blkio ? g_strdup_printf ("setting blkiotune of device '%s'", d->device)
                 : g_strdup_printf ("setting the I/O tune of disk '%s'", d->device);
    set_libvirt_error (error, what, lv);
    ok = FALSE;
  }
  params_clear (&p);
  return ok;
}

static gboolean
apply_interface (Lv *lv, const AmigoActuatorInterface *n, GError **error)
{
  Params p = { 0 };
  gboolean ok = TRUE;

  if (n->rx_kbit_s != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddUInt (&p.params, &p.n, &p.max, VIR_DOMAIN_BANDWIDTH_IN_AVERAGE,
                                 kib_s_of_kbit_s (n->rx_kbit_s)) == 0;
  if (n->tx_kbit_s != AMIGO_ACTUATOR_UNSET)
    ok &= virTypedParamsAddUInt (&p.params, &p.n, &p.max, VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE,
                                 kib_s_of_kbit_s (n->tx_kbit_s)) == 0;
  if (ok && virDomainSetInterfaceParameters (lv->dom, n->device, p.params, p.n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
    g_autofree char *what = g_strdup_printf ("setting the bandwidth of interface '%s'", n->device);
    set_libvirt_error (error, what, lv);
    ok = FALSE;
  }
  params_clear (&p);
  return ok;
}

static gboolean
lv_apply (AmigoActuator *self, const AmigoActuatorSettings *changed, GError **error)
{
  Lv *lv = self->priv;

  if (!apply_cpu (lv, changed, error) || !apply_memory (lv, changed, error))
    return FALSE;
  for (guint i = 0; i < changed->n_disks; i++)
    if (!apply_disk (lv, &changed->disks[i], error))
      return FALSE;
  for (guint i = 0; i < changed->n_interfaces; i++)
    if (!apply_interface (lv, &changed->interfaces[i], error))
      return FALSE;
  return TRUE;
}

static void
get_ullong (virTypedParameterPtr params, int n, const char *name, guint64 *ret)
{
  unsigned long long v;

  if (virTypedParamsGetULLong (params, n, name, &v) == 1)
    *ret = v;
}

static gboolean
lv_read_back (AmigoActuator *self, AmigoActuatorSettings *have, GError **error)
{
  Lv *lv = self->priv;
  virTypedParameterPtr params = NULL;
  int n = 0;

  /* The scheduler parameters are optional: a driver without cpu_shares
   * (the test driver knows only "weight") leaves them unknown. */
  int nsched = 0;
  g_autofree char *sched = virDomainGetSchedulerType (lv->dom, &nsched);
  if (sched != NULL && nsched > 0) {
    params = g_new0 (virTypedParameter, nsched);
    n = nsched;
    if (virDomainGetSchedulerParametersFlags (lv->dom, params, &n, VIR_DOMAIN_AFFECT_LIVE) == 0) {
      long long quota;
      get_ullong (params, n, VIR_DOMAIN_SCHEDULER_CPU_SHARES, &have->cpu_shares);
      get_ullong (params, n, VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD, &have->cpu_period_usec);
      if (virTypedParamsGetLLong (params, n, VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA, &quota) == 1)
        have->cpu_quota_usec = quota < 0 ? AMIGO_ACTUATOR_UNLIMITED : (guint64) quota;
      virTypedParamsClear (params, n);
    }
    g_clear_pointer (&params, g_free);
  }
  virResetLastError ();

  n = 0;
  if (virDomainGetMemoryParameters (lv->dom, NULL, &n, VIR_DOMAIN_AFFECT_LIVE) < 0 ||
      (params = g_new0 (virTypedParameter, MAX (n, 1)),
       virDomainGetMemoryParameters (lv->dom, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0)) {
    g_free (params);
    set_libvirt_error (error, "reading the memory parameters", lv);
    return FALSE;
  }
  guint64 soft = AMIGO_ACTUATOR_UNSET, hard = AMIGO_ACTUATOR_UNSET;
  get_ullong (params, n, VIR_DOMAIN_MEMORY_SOFT_LIMIT, &soft);
  get_ullong (params, n, VIR_DOMAIN_MEMORY_HARD_LIMIT, &hard);
  virTypedParamsClear (params, n);
  g_free (params);
  if (soft != AMIGO_ACTUATOR_UNSET)
    have->memory_soft_limit_bytes = soft >= VIR_DOMAIN_MEMORY_PARAM_UNLIMITED ? AMIGO_ACTUATOR_UNLIMITED : soft * 1024;
  if (hard != AMIGO_ACTUATOR_UNSET)
    have->memory_hard_limit_bytes = hard >= VIR_DOMAIN_MEMORY_PARAM_UNLIMITED ? AMIGO_ACTUATOR_UNLIMITED : hard * 1024;

  for (guint i = 0; i < have->n_disks; i++) {
    AmigoActuatorDisk *d = &have->disks[i];
    if (d->device[0] == '/')
      continue; /* blkiotune's per-device lists are not read back */
    n = 0;
    if (virDomainGetBlockIoTune (lv->dom, d->device, NULL, &n, VIR_DOMAIN_AFFECT_LIVE) < 0 ||
        (params = g_new0 (virTypedParameter, MAX (n, 1)),
         virDomainGetBlockIoTune (lv->dom, d->device, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0)) {
      g_autofree char *what = g_strdup_printf ("reading the I/O tune of disk '%s'", d->device);
      g_free (params);
      set_libvirt_error (error, what, lv);
      return FALSE;
    }
    get_ullong (params, n, VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC, &d->read_iops);
    get_ullong (params, n, VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC, &d->write_iops);
    d->read_iops = d->read_iops == 0 ? AMIGO_ACTUATOR_UNLIMITED : d->read_iops;
    d->write_iops = d->write_iops == 0 ? AMIGO_ACTUATOR_UNLIMITED : d->write_iops;
    virTypedParamsClear (params, n);
    g_clear_pointer (&params, g_free);
  }
  for (guint i = 0; i < have->n_interfaces; i++) {
    AmigoActuatorInterface *it = &have->interfaces[i];
    unsigned int in = 0, out = 0;
    n = 0;
    if (virDomainGetInterfaceParameters (lv->dom, it->device, NULL, &n, VIR_DOMAIN_AFFECT_LIVE) < 0 ||
        (params = g_new0 (virTypedParameter, MAX (n, 1)),
         virDomainGetInterfaceParameters (lv->dom, it->device, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0)) {
      g_autofree char *what = g_strdup_printf ("reading the bandwidth of interface '%s'", it->device);
      g_free (params);
      set_libvirt_error (error, what, lv);
      return FALSE;
    }
    virTypedParamsGetUInt (params, n, VIR_DOMAIN_BANDWIDTH_IN_AVERAGE, &in);
    virTypedParamsGetUInt (params, n, VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE, &out);
    it->rx_kbit_s = in == 0 ? AMIGO_ACTUATOR_UNLIMITED : (guint64) in * 8;
    it->tx_kbit_s = out == 0 ? AMIGO_ACTUATOR_UNLIMITED : (guint64) out * 8;
    virTypedParamsClear (params, n);
    g_clear_pointer (&params, g_free);
  }
  return TRUE;
}

const AmigoActuatorClass amigo_actuator_libvirt_class = {
  .name = "libvirt",
  .init = lv_init,
  .probe = lv_probe,
  .apply = lv_apply,
  .read_back = lv_read_back,
  .read_pressure = NULL,
  .finalize = lv_finalize,
};
