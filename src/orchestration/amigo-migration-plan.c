/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-migration-plan.h"

#include <math.h>
#include <string.h>

#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-time.h"

/* QEMU's auto-converge (migration parameters cpu-throttle-initial,
 * cpu-throttle-increment, max-cpu-throttle, throttle-trigger-threshold, at
 * their defaults): once the guest dirties more than 50 % of what a round
 * sends, QEMU takes 20 % of the vCPUs' time, and 10 % more at each round
 * where that is still so, up to 99 %. */
#define THROTTLE_INITIAL 0.20
#define THROTTLE_INCREMENT 0.10
#define THROTTLE_MAX 0.99
#define THROTTLE_TRIGGER 0.50

/* The stall timeout. Progress is a new low of the remaining data; in
 * pre-copy a new low comes once a round (the dirty set refills at the start
 * of each), so one round without one is the normal gap, two may be a burst
 * of writes, three mean the dirty set stopped shrinking. */
#define STALL_ROUNDS 3
/* Never shorter than the time libvirt itself takes to call a silent peer
 * dead: its keepalive (libvirtd.conf keepalive_interval 5 s,
 * keepalive_count 5) closes a connection after 5 s x (5 + 1) = 30 s. Before
 * the first byte (the destination starts QEMU, its hook asks amigod) and
 * during the switch-over nothing moves either; both take seconds. */
#define STALL_FLOOR_USEC (30 * AMIGO_USEC_PER_SEC)
/* The overall timeout: the calibration trusts the overhead model to within
 * a factor of 4 either way (its corrections are bounded there,
 * amigo-overhead.c); a migration taking 4 times its prediction is beyond
 * what the model can be wrong by. */
#define TIMEOUT_MULTIPLE 4
/* ... and never below two stall floors, so a migration that never moves is
 * reported as a stall (the clearer cause) and a small VM still has one
 * floor to transfer in. */
#define TIMEOUT_FLOOR_USEC (2 * STALL_FLOOR_USEC)

void
amigo_migration_plan_input_init (AmigoMigrationPlanInput *input)
{
  memset (input, 0, sizeof *input);
  input->dirty_rate_bytes_s = NAN;
  input->klass = AMIGO_WORKLOAD_CLASS_UNKNOWN;
}

void
amigo_migration_plan_clear (AmigoMigrationPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->reason);
  g_free (plan->start_reason);
  memset (plan, 0, sizeof *plan);
}

void
amigo_migration_plan_copy (AmigoMigrationPlan *dest, const AmigoMigrationPlan *src)
{
  *dest = *src;
  dest->reason = g_strdup (src->reason);
  dest->start_reason = g_strdup (src->start_reason);
}

/* What the plan is made from, checked and with the defaults filled in. */
typedef struct {
  const AmigoMigrationPlanInput *input;
  gboolean dirty_known;
  double link_bytes_s;      /* the rate the model uses: the link, or the cap if lower */
  double cap_mib_s;         /* the cap given to libvirt */
  guint32 downtime_limit_ms;
  gint64 timeout_usec;      /* asked for, 0 = adapt */
  AmigoMigrationMode forced; /* AUTO = not forced */
} PlanContext;

/* One mode's prediction: the uncalibrated estimate and what it rests on. */
typedef struct {
  AmigoMigrationMode mode;
  AmigoOverheadEstimate model;
  AmigoOverheadEstimate predicted; /* @model, calibrated */
  double dirty_bytes_s;            /* the dirty rate the rounds see (throttled for auto-converge) */
  double throttle;                 /* auto-converge: share of vCPU time taken, 0..1 */
  gboolean within_timeout;         /* @predicted fits the timeout asked for (TRUE when none) */
} ModeEstimate;

static void
mode_estimate_finish (const PlanContext *ctx, ModeEstimate *m)
{
  m->predicted = m->model;
  amigo_overhead_calibration_apply (ctx->input->calibration, &m->predicted);
  m->within_timeout = ctx->timeout_usec == 0 || m->predicted.duration_usec <= ctx->timeout_usec;
}

static gboolean
estimate_precopy (const PlanContext *ctx, double dirty_bytes_s, ModeEstimate *ret, GError **error)
{
  AmigoOverheadInput in;

  amigo_overhead_input_init (&in);
  in.memory_bytes = ctx->input->memory_bytes;
  in.dirty_rate_unknown = !ctx->dirty_known;
  in.dirty_rate_bytes_s = ctx->dirty_known ? dirty_bytes_s : 0.0;
  in.link_bytes_s = ctx->link_bytes_s;
  in.downtime_limit_usec = ctx->downtime_limit_ms * AMIGO_USEC_PER_MSEC;
  memset (ret, 0, sizeof *ret);
  ret->mode = AMIGO_MIGRATION_MODE_PRECOPY;
  ret->dirty_bytes_s = dirty_bytes_s;
  if (!amigo_overhead_estimate (&in, NULL, &ret->model, error))
    return FALSE;
  mode_estimate_finish (ctx, ret);
  return TRUE;
}

/* Pre-copy with QEMU's throttle at the step where it stops raising it:
 * the first that brings the dirty rate to THROTTLE_TRIGGER of the link.
 * The estimate is the throttled guest's from the start, so it leans short:
 * QEMU reaches that step one round at a time. Without throttling when
 * pre-copy converges below the trigger already, and with the dirty rate
 * unknown (nothing to throttle in the model: the expensive case stands). */
static gboolean
estimate_auto_converge (const PlanContext *ctx, const ModeEstimate *precopy, ModeEstimate *ret, GError **error)
{
  double dirty = ctx->input->dirty_rate_bytes_s;
  double throttle = THROTTLE_INITIAL;

  if (!ctx->dirty_known || (precopy->model.converges && dirty <= THROTTLE_TRIGGER * ctx->link_bytes_s)) {
    *ret = *precopy;
    ret->mode = AMIGO_MIGRATION_MODE_AUTO_CONVERGE;
    return TRUE;
  }
  while (throttle < THROTTLE_MAX && dirty * (1.0 - throttle) > THROTTLE_TRIGGER * ctx->link_bytes_s)
    throttle = MIN (throttle + THROTTLE_INCREMENT, THROTTLE_MAX);
  if (!estimate_precopy (ctx, dirty * (1.0 - throttle), ret, error))
    return FALSE;
  ret->mode = AMIGO_MIGRATION_MODE_AUTO_CONVERGE;
  ret->throttle = throttle;
  return TRUE;
}

/* Post-copy as libvirt runs it: one pre-copy round sends all memory, then
 * the guest moves and the pages it dirtied during that round follow (pulled
 * on fault, pushed in the background) at the link rate. The pause moves
 * device state and the dirty bitmap, not memory; the model has no figure
 * for it and counts the downtime limit, the pause the administrator
 * accepts. With the dirty rate unknown, all memory is assumed dirtied
 * again (the expensive case, as for pre-copy). */
static void
estimate_postcopy (const PlanContext *ctx, const ModeEstimate *precopy, ModeEstimate *ret)
{
  double memory = (double) ctx->input->memory_bytes;
  double first_s = memory / ctx->link_bytes_s;
  double dirtied = ctx->dirty_known ? MIN (memory, ctx->input->dirty_rate_bytes_s * first_s) : memory;
  gint64 pause_usec = ctx->downtime_limit_ms * AMIGO_USEC_PER_MSEC;

  *ret = *precopy;
  ret->mode = AMIGO_MIGRATION_MODE_POSTCOPY;
  ret->model.rounds = 2;
  ret->model.bytes_sent = (guint64) (memory + dirtied);
  ret->model.duration_usec = (gint64) ((first_s + dirtied / ctx->link_bytes_s) * AMIGO_USEC_PER_SEC) + pause_usec;
  ret->model.downtime_usec = pause_usec;
  ret->model.converges = TRUE;
  mode_estimate_finish (ctx, ret);
}

/* "118 MiB/s", "0.5 MiB/s". */
static char *
format_rate (double bytes_s)
{
  double mib_s = bytes_s / AMIGO_BYTES_PER_MIB;
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup_printf ("%s MiB/s", g_ascii_formatd (num, sizeof num, mib_s >= 10 ? "%.0f" : "%.1f", mib_s));
}

static char *
format_usec (gint64 usec)
{
  return amigo_duration_format_rounded (MAX (usec, 0), 2);
}

/* "at 12 MiB/s dirty rate pre-copy over a 110 MiB/s link converges in 4
 * rounds, about 10s with a 25ms pause" and its other endings. */
static char *
describe_precopy (const PlanContext *ctx, const ModeEstimate *m)
{
  g_autofree char *link = format_rate (ctx->link_bytes_s);
  g_autofree char *total = format_usec (m->predicted.duration_usec);
  g_autofree char *pause = format_usec (m->predicted.downtime_usec);
  g_autofree char *dirty = NULL;
  g_autofree char *timeout = NULL;

  if (!ctx->dirty_known)
    return g_strdup_printf ("the dirty rate was not measured, so the model takes the expensive case for pre-copy "
                            "over a %s link: all memory sent twice, about %s with a %s pause",
                            link, total, pause);
  dirty = format_rate (m->dirty_bytes_s);
  if (!m->model.converges)
    return g_strdup_printf ("at %s dirty rate pre-copy over a %s link would not converge within %u rounds "
                            "(forcing the switch-over then would pause the guest for about %s)",
                            dirty, link, (guint) AMIGO_OVERHEAD_DEFAULT_MAX_ITERATIONS, pause);
  if (!m->within_timeout) {
    timeout = format_usec (ctx->timeout_usec);
    return g_strdup_printf ("at %s dirty rate pre-copy over a %s link would take about %s, more than the %s "
                            "timeout asked for",
                            dirty, link, total, timeout);
  }
  return g_strdup_printf ("at %s dirty rate pre-copy over a %s link converges in %u rounds, about %s with a %s "
                          "pause",
                          dirty, link, m->model.rounds, total, pause);
}

static char *
describe_throttle (const ModeEstimate *ac)
{
  g_autofree char *dirty = format_rate (ac->dirty_bytes_s);
  g_autofree char *total = format_usec (ac->predicted.duration_usec);
  g_autofree char *pause = format_usec (ac->predicted.downtime_usec);

  if (!ac->model.converges)
    return g_strdup_printf ("even QEMU's largest throttle (%.0f %% of the vCPUs' time) leaves %s dirty rate, "
                            "which does not converge",
                            ac->throttle * 100, dirty);
  if (!ac->within_timeout)
    return g_strdup_printf ("QEMU's throttling of the vCPUs by %.0f %% brings the dirty rate to %s, still about %s, "
                            "more than the timeout asked for",
                            ac->throttle * 100, dirty, total);
  return g_strdup_printf ("QEMU's throttling of the vCPUs by %.0f %% brings the dirty rate to %s: about %s with a "
                          "%s pause",
                          ac->throttle * 100, dirty, total, pause);
}

/* "about 40s (one pass, ...); risk: ..." */
static char *
describe_postcopy (const ModeEstimate *pc)
{
  g_autofree char *total = format_usec (pc->predicted.duration_usec);

  return g_strdup_printf ("about %s (one pass, then the pages dirtied meanwhile); "
                          "risk: a network failure during post-copy loses the VM",
                          total);
}

static const char *
mode_label (AmigoMigrationMode mode)
{
  static const char *const labels[] = {
    [AMIGO_MIGRATION_MODE_AUTO] = "auto",
    [AMIGO_MIGRATION_MODE_PRECOPY] = "pre-copy",
    [AMIGO_MIGRATION_MODE_AUTO_CONVERGE] = "auto-converge",
    [AMIGO_MIGRATION_MODE_POSTCOPY] = "post-copy",
  };
  return labels[mode];
}

static gboolean
cpu_protected (const PlanContext *ctx)
{
  return ctx->input->protects[AMIGO_RESOURCE_CPU];
}

/* The mode amigo picks and its reason (docs/migration.md, "Choosing the
 * mode"). */
static const ModeEstimate *
choose (const PlanContext *ctx,
        const ModeEstimate *pre,
        const ModeEstimate *ac,
        const ModeEstimate *pc,
        char **ret_reason)
{
  g_autofree char *pre_text = describe_precopy (ctx, pre);
  const char *klass = amigo_workload_class_to_string (ctx->input->klass);

  if (!ctx->dirty_known && !pre->model.converges) {
    /* Unknown: auto-converge only throttles a guest that outpaces the link,
     * so it costs a quiet guest nothing; post-copy's risk is not worth an
     * unknown. */
    if (cpu_protected (ctx)) {
      *ret_reason = g_strdup_printf ("pre-copy: %s; the %s class protects its CPU, so no auto-converge; "
                                     "a stall is caught by the stall timeout",
                                     pre_text, klass);
      return pre;
    }
    *ret_reason = g_strdup_printf ("auto-converge: %s; auto-converge throttles the guest only if it outpaces the "
                                   "link",
                                   pre_text);
    return ac;
  }
  if (pre->model.converges && pre->within_timeout) {
    *ret_reason = g_strdup_printf ("pre-copy: %s", pre_text);
    return pre;
  }
  if (!cpu_protected (ctx) && ac->model.converges && ac->within_timeout) {
    g_autofree char *throttle = describe_throttle (ac);
    *ret_reason = g_strdup_printf ("auto-converge: %s; %s", pre_text, throttle);
    return ac;
  }
  if (cpu_protected (ctx)) {
    g_autofree char *post = describe_postcopy (pc);
    *ret_reason = g_strdup_printf ("post-copy: %s, and the %s class protects its CPU (no auto-converge); "
                                   "post-copy takes %s",
                                   pre_text, klass, post);
  } else {
    g_autofree char *throttle = describe_throttle (ac);
    g_autofree char *post = describe_postcopy (pc);
    *ret_reason = g_strdup_printf ("post-copy: %s; %s; post-copy takes %s", pre_text, throttle, post);
  }
  return pc;
}

/* The reason for a forced mode: what was asked, and what the model says. */
static char *
explain_forced (const PlanContext *ctx, const ModeEstimate *pre, const ModeEstimate *ac, const ModeEstimate *pc)
{
  g_autofree char *pre_text = describe_precopy (ctx, pre);
  const char *label = mode_label (ctx->forced);

  switch (ctx->forced) {
  case AMIGO_MIGRATION_MODE_PRECOPY:
    if (!pre->model.converges && ctx->dirty_known)
      return g_strdup_printf ("%s (asked for): %s; the stall timeout aborts it when the dirty set stops shrinking",
                              label, pre_text);
    return g_strdup_printf ("%s (asked for): %s", label, pre_text);
  case AMIGO_MIGRATION_MODE_AUTO_CONVERGE: {
    g_autofree char *throttle = NULL;
    const char *cpu = cpu_protected (ctx) ? "; throttling slows the CPU its class protects" : "";
    if (!ctx->dirty_known)
      return g_strdup_printf ("%s (asked for): %s; it throttles the guest only if it outpaces the link%s", label,
                              pre_text, cpu);
    if (ac->throttle == 0)
      return g_strdup_printf ("%s (asked for): %s, so QEMU should not need to throttle%s", label, pre_text, cpu);
    throttle = describe_throttle (ac);
    return g_strdup_printf ("%s (asked for): %s; %s%s", label, pre_text, throttle, cpu);
  }
  default: {
    g_autofree char *post = describe_postcopy (pc);
    return g_strdup_printf ("%s (asked for): %s; for comparison, %s", label, post, pre_text);
  }
  }
}

/* How long the remaining data may legitimately go without a new low. In
 * pre-copy the first round shows progress all along, the later ones only at
 * their end: the longest of them (what is dirtied while all memory is sent
 * once, sent again) times STALL_ROUNDS. Post-copy sends each page at most
 * twice and never refills: any halt is a stall, the floor applies. */
static gint64
stall_window_usec (const PlanContext *ctx, const ModeEstimate *m)
{
  double memory = (double) ctx->input->memory_bytes;
  double first_s = memory / ctx->link_bytes_s;
  double again = ctx->dirty_known ? MIN (memory, m->dirty_bytes_s * first_s) : memory;
  double scale = m->model.duration_usec > 0 ? (double) m->predicted.duration_usec / m->model.duration_usec : 1.0;

  if (m->mode == AMIGO_MIGRATION_MODE_POSTCOPY)
    return 0;
  return (gint64) (STALL_ROUNDS * again / ctx->link_bytes_s * scale * AMIGO_USEC_PER_SEC);
}

static void
set_timeouts (const PlanContext *ctx, const ModeEstimate *m, AmigoMigrationPlan *plan)
{
  gint64 total = m->predicted.duration_usec;

  plan->stall_timeout_usec = MAX (STALL_FLOOR_USEC, stall_window_usec (ctx, m));
  if (ctx->timeout_usec != 0)
    plan->timeout_usec = ctx->timeout_usec;
  else if (total > AMIGO_MIGRATION_TIMEOUT_MAX_USEC / TIMEOUT_MULTIPLE)
    plan->timeout_usec = AMIGO_MIGRATION_TIMEOUT_MAX_USEC;
  else
    plan->timeout_usec = MAX (TIMEOUT_FLOOR_USEC, TIMEOUT_MULTIPLE * total);
  plan->stall_timeout_usec = MIN (plan->stall_timeout_usec, plan->timeout_usec);
}

static gboolean
check_input (const AmigoMigrationPlanInput *input, GError **error)
{
  if (input->memory_bytes == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "migration plan: the guest memory is 0 bytes");
    return FALSE;
  }
  if (!(isfinite (input->link_bytes_s) && input->link_bytes_s > 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "migration plan: the link is %g bytes/s: expected a positive rate ([forecast] link)",
                 input->link_bytes_s);
    return FALSE;
  }
  if (!isnan (input->dirty_rate_bytes_s) && !(isfinite (input->dirty_rate_bytes_s) && input->dirty_rate_bytes_s >= 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "migration plan: the dirty rate is %g bytes/s: expected 0 or more, or NAN for not measured",
                 input->dirty_rate_bytes_s);
    return FALSE;
  }
  return input->options == NULL || amigo_migration_options_check (input->options, error);
}

/* A migration that cannot send the memory once within the longest
 * timeout Migrate allows (24 h) is refused up front; this also keeps every
 * figure of the model far inside gint64. */
static gboolean
check_one_pass (const PlanContext *ctx, GError **error)
{
  double pass_s = (double) ctx->input->memory_bytes / ctx->link_bytes_s;
  g_autofree char *pass = NULL;
  g_autofree char *rate = NULL;

  if (pass_s * AMIGO_USEC_PER_SEC <= (double) AMIGO_MIGRATION_TIMEOUT_MAX_USEC)
    return TRUE;
  pass = pass_s < 1e9 ? format_usec ((gint64) (pass_s * AMIGO_USEC_PER_SEC)) : g_strdup ("years");
  rate = format_rate (ctx->link_bytes_s);
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
               "migration plan: sending %.2f GiB once at %s takes %s, longer than the 24 h a migration may run%s",
               ctx->input->memory_bytes / AMIGO_BYTES_PER_GIB, rate, pass,
               ctx->input->options != NULL && ctx->input->options->bandwidth_mib_s > 0
                 ? ": raise option 'bandwidth_mib_s'"
                 : "");
  return FALSE;
}

gboolean
amigo_migration_plan_make (const AmigoMigrationPlanInput *input, AmigoMigrationPlan *ret, GError **error)
{
  const AmigoMigrationOptions *o = input->options;
  PlanContext ctx = { .input = input };
  ModeEstimate pre, ac, pc;
  const ModeEstimate *chosen;
  AmigoMigrationPlan plan = { 0 };
  double link_mib_s;

  g_return_val_if_fail (input != NULL && ret != NULL, FALSE);
  if (!check_input (input, error))
    return FALSE;

  /* The defaults: the whole link (a faster migration holds the
   * destination's reservation and the guest's throttling for less time)
   * and QEMU's own downtime limit. */
  link_mib_s = input->link_bytes_s / AMIGO_BYTES_PER_MIB;
  ctx.dirty_known = !isnan (input->dirty_rate_bytes_s);
  ctx.cap_mib_s = o != NULL && o->bandwidth_mib_s > 0 ? o->bandwidth_mib_s : link_mib_s;
  ctx.link_bytes_s = MIN (ctx.cap_mib_s * AMIGO_BYTES_PER_MIB, input->link_bytes_s);
  ctx.downtime_limit_ms = o != NULL && o->downtime_limit_ms > 0
                            ? o->downtime_limit_ms
                            : (guint32) (AMIGO_OVERHEAD_DEFAULT_DOWNTIME_LIMIT_USEC / AMIGO_USEC_PER_MSEC);
  ctx.timeout_usec = o != NULL ? o->timeout_usec : 0;
  ctx.forced = o != NULL ? o->mode : AMIGO_MIGRATION_MODE_AUTO;
  if (!check_one_pass (&ctx, error))
    return FALSE;

  if (!estimate_precopy (&ctx, ctx.dirty_known ? input->dirty_rate_bytes_s : 0.0, &pre, error) ||
      !estimate_auto_converge (&ctx, &pre, &ac, error))
    return FALSE;
  estimate_postcopy (&ctx, &pre, &pc);

  if (ctx.forced != AMIGO_MIGRATION_MODE_AUTO) {
    chosen = ctx.forced == AMIGO_MIGRATION_MODE_PRECOPY         ? &pre
             : ctx.forced == AMIGO_MIGRATION_MODE_AUTO_CONVERGE ? &ac
                                                                : &pc;
    plan.forced = TRUE;
    plan.reason = explain_forced (&ctx, &pre, &ac, &pc);
  } else {
    chosen = choose (&ctx, &pre, &ac, &pc, &plan.reason);
  }

  plan.mode = chosen->mode;
  plan.bandwidth_mib_s = ctx.cap_mib_s;
  plan.downtime_limit_ms = ctx.downtime_limit_ms;
  plan.predicted_total_usec = chosen->predicted.duration_usec;
  plan.predicted_downtime_usec = chosen->predicted.downtime_usec;
  plan.predicted_data_bytes = chosen->predicted.bytes_sent;
  plan.converges = chosen->model.converges;
  plan.model_total_usec = chosen->model.duration_usec;
  plan.model_downtime_usec = chosen->model.downtime_usec;
  plan.model_data_bytes = chosen->model.bytes_sent;
  set_timeouts (&ctx, chosen, &plan);
  *ret = plan;
  return TRUE;
}

void
amigo_migration_plan_model_estimate (const AmigoMigrationPlan *plan, AmigoOverheadEstimate *ret)
{
  memset (ret, 0, sizeof *ret);
  ret->duration_usec = plan->model_total_usec;
  ret->downtime_usec = plan->model_downtime_usec;
  ret->bytes_sent = plan->model_data_bytes;
}

void
amigo_migration_plan_add_to_dict (const AmigoMigrationPlan *plan, GVariantDict *dict)
{
  const char *mode = amigo_migration_mode_to_string (plan->mode);

  g_variant_dict_insert (dict, "mode", "s", mode != NULL ? mode : "");
  g_variant_dict_insert (dict, "reason", "s", plan->reason != NULL ? plan->reason : "");
  g_variant_dict_insert (dict, "bandwidth_mib_s", "d", plan->bandwidth_mib_s);
  g_variant_dict_insert (dict, "downtime_limit_ms", "u", plan->downtime_limit_ms);
  g_variant_dict_insert (dict, "start_at_usec", "x", plan->start_at_usec);
  if (plan->start_reason != NULL)
    g_variant_dict_insert (dict, "start_reason", "s", plan->start_reason);
  g_variant_dict_insert (dict, "stall_timeout_usec", "x", plan->stall_timeout_usec);
  g_variant_dict_insert (dict, "timeout_usec", "x", plan->timeout_usec);
  g_variant_dict_insert (dict, "predicted_total_usec", "x", plan->predicted_total_usec);
  g_variant_dict_insert (dict, "predicted_downtime_usec", "x", plan->predicted_downtime_usec);
  g_variant_dict_insert (dict, "predicted_data_bytes", "t", plan->predicted_data_bytes);
}

GVariant *
amigo_migration_plan_to_variant (const AmigoMigrationPlan *plan)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  amigo_migration_plan_add_to_dict (plan, &dict);
  return g_variant_dict_end (&dict);
}
