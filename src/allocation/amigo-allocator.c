/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-allocator.h"

#include <math.h>
#include <string.h>

#include "amigo-error.h"

/* A cap smaller than this share of the want is floating-point noise from
 * the proportional split, not a decision. */
#define CAP_EPSILON 1e-9

void
amigo_allocator_domain_init (AmigoAllocatorDomain *domain, const char *id, const AmigoSloDomainPolicy *policy,
                             const double request[AMIGO_RESOURCE_LAST])
{
  g_return_if_fail (domain != NULL && policy != NULL && request != NULL);

  *domain = (AmigoAllocatorDomain) { .id = id, .priority = policy->params.priority };
  memcpy (domain->protects, policy->params.protects, sizeof domain->protects);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    domain->floor[r] = request[r];
    domain->least[r] = policy->params.min_fraction * request[r];
  }
}

static gboolean
check_amounts (const AmigoAllocatorDomain *d, guint index, const char *field,
               const double amounts[AMIGO_RESOURCE_LAST], GError **error)
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (!isfinite (amounts[r]) || amounts[r] < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "allocator: domain %u '%s': '%s.%s' must be a finite number >= 0, got %g", index,
                   d->id, field, amigo_resource_to_string (r), amounts[r]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_input (const double capacity[AMIGO_RESOURCE_LAST], const AmigoAllocatorDomain *domains,
             guint n_domains, GError **error)
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (!isfinite (capacity[r]) || capacity[r] < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "allocator: 'capacity.%s' must be a finite number >= 0, got %g",
                   amigo_resource_to_string (r), capacity[r]);
      return FALSE;
    }
  }
  for (guint i = 0; i < n_domains; i++) {
    const AmigoAllocatorDomain *d = &domains[i];

    if (d->id == NULL) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "allocator: domain %u has no id", i);
      return FALSE;
    }
    if (!check_amounts (d, i, "want", d->want, error) || !check_amounts (d, i, "floor", d->floor, error) ||
        !check_amounts (d, i, "least", d->least, error) || !check_amounts (d, i, "used", d->used, error))
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  const AmigoAllocatorDomain *domains;
  AmigoResource resource;
} RankCtx;

/* Negative if domain @a is served before domain @b for the resource. */
static int
compare_rank (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const RankCtx *ctx = user_data;
  guint ia = *(const guint *) a, ib = *(const guint *) b;
  const AmigoAllocatorDomain *da = &ctx->domains[ia], *db = &ctx->domains[ib];
  int c;

  if (da->protects[ctx->resource] != db->protects[ctx->resource])
    return da->protects[ctx->resource] ? -1 : 1;
  if (da->priority != db->priority)
    return da->priority > db->priority ? -1 : 1;
  c = strcmp (da->id, db->id);
  if (c != 0)
    return c;
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

static gboolean
same_rank (const AmigoAllocatorDomain *a, const AmigoAllocatorDomain *b, AmigoResource r)
{
  return a->protects[r] == b->protects[r] && a->priority == b->priority;
}

/* Hands @room out between @base and @top over @order, rank by rank, equal
 * ranks sharing in proportion to what they miss. Returns what is left. */
static double
serve (const AmigoAllocatorDomain *domains, const guint *order, guint n, AmigoResource r,
       const double *base, const double *top, double room, double *alloc)
{
  for (guint start = 0; start < n;) {
    guint end = start + 1;
    double missing = 0;

    while (end < n && same_rank (&domains[order[start]], &domains[order[end]], r))
      end++;
    for (guint k = start; k < end; k++)
      missing += top[order[k]] - base[order[k]];
    if (missing <= room) {
      for (guint k = start; k < end; k++)
        alloc[order[k]] = top[order[k]];
      room -= missing;
    } else {
      double share = missing > 0 ? room / missing : 0;

      for (guint k = start; k < end; k++)
        alloc[order[k]] = base[order[k]] + share * (top[order[k]] - base[order[k]]);
      room = 0;
    }
    start = end;
  }
  return room;
}

static void
decide_resource (double capacity, const AmigoAllocatorDomain *domains, guint n, AmigoResource r,
                 double (*ret_allocations)[AMIGO_RESOURCE_LAST], GArray *records)
{
  g_autofree guint *order = g_new (guint, n);
  g_autofree double *hard = g_new (double, n);
  g_autofree double *guaranteed = g_new (double, n);
  g_autofree double *want = g_new (double, n);
  g_autofree double *alloc = g_new (double, n);
  double sum_want = 0, sum_hard = 0, sum_guaranteed = 0;
  RankCtx ctx = { domains, r };
  int top_protected = -1;

  for (guint i = 0; i < n; i++) {
    const AmigoAllocatorDomain *d = &domains[i];
    double least = d->least[r];

    /* memory in use cannot be taken back without swapping or OOM */
    if (r == AMIGO_RESOURCE_MEMORY)
      least = MAX (least, d->used[r]);
    order[i] = i;
    want[i] = d->want[r];
    hard[i] = MIN (want[i], least);
    guaranteed[i] = MAX (hard[i], MIN (want[i], d->floor[r]));
    sum_want += want[i];
    sum_hard += hard[i];
    sum_guaranteed += guaranteed[i];
  }
  if (sum_want <= capacity) {
    for (guint i = 0; i < n; i++)
      ret_allocations[i][r] = want[i];
    return;
  }

  g_qsort_with_data (order, n, sizeof (guint), compare_rank, &ctx);
  if (sum_guaranteed <= capacity) {
    memcpy (alloc, guaranteed, n * sizeof (double));
    serve (domains, order, n, r, guaranteed, want, capacity - sum_guaranteed, alloc);
  } else {
    memcpy (alloc, hard, n * sizeof (double));
    serve (domains, order, n, r, hard, guaranteed, MAX (0, capacity - sum_hard), alloc);
  }

  for (guint i = 0; i < n; i++)
    ret_allocations[i][r] = alloc[i];
  if (records == NULL)
    return;
  /* lowest rank first: the order in which domains were capped */
  for (guint k = 0; k < n; k++) {
    if (domains[order[k]].protects[r] && want[order[k]] > 0) {
      top_protected = order[k];
      break;
    }
  }
  for (guint k = n; k-- > 0;) {
    guint i = order[k];
    const AmigoAllocatorDomain *d = &domains[i];
    AmigoAllocatorRecord rec;

    if (alloc[i] >= want[i] - CAP_EPSILON * MAX (1.0, want[i]))
      continue;
    rec = (AmigoAllocatorRecord) {
      .domain = i,
      .resource = r,
      .from = want[i],
      .to = alloc[i],
      .protected_domain = -1,
      .at_risk = d->protects[r],
      .below_floor = alloc[i] < MIN (want[i], d->floor[r]) - CAP_EPSILON * MAX (1.0, want[i]),
    };
    /* the SLO served ahead of it: only one ranked strictly above */
    if (top_protected >= 0 && !same_rank (&domains[top_protected], d, r))
      rec.protected_domain = top_protected;
    g_array_append_val (records, rec);
  }
}

gboolean
amigo_allocator_decide (const double capacity[AMIGO_RESOURCE_LAST], const AmigoAllocatorDomain *domains,
                        guint n_domains, double (*ret_allocations)[AMIGO_RESOURCE_LAST], GArray **ret_records,
                        GError **error)
{
  g_autoptr (GArray) records = NULL;

  g_return_val_if_fail (capacity != NULL, FALSE);
  g_return_val_if_fail (n_domains == 0 || (domains != NULL && ret_allocations != NULL), FALSE);

  if (!check_input (capacity, domains, n_domains, error))
    return FALSE;
  if (ret_records != NULL)
    records = g_array_new (FALSE, FALSE, sizeof (AmigoAllocatorRecord));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST && n_domains > 0; r++)
    decide_resource (capacity[r], domains, n_domains, r, ret_allocations, records);
  if (ret_records != NULL)
    *ret_records = g_steal_pointer (&records);
  return TRUE;
}

char *
amigo_allocator_record_format (const AmigoAllocatorRecord *record, const AmigoAllocatorDomain *domains)
{
  const char *res = amigo_resource_to_string (record->resource);
  const AmigoAllocatorDomain *d = &domains[record->domain];
  g_autoptr (GString) s = g_string_new (NULL);

  g_string_append_printf (s, "%s of '%s' capped %.2f -> %.2f %s", res, d->id, record->from, record->to,
                          amigo_resource_unit (record->resource));
  if (record->below_floor)
    g_string_append_printf (s, ", below its reservation %.2f", MIN (d->floor[record->resource], record->from));
  if (record->protected_domain >= 0)
    g_string_append_printf (s, " to serve the protected %s of '%s'", res, domains[record->protected_domain].id);
  else
    g_string_append (s, " (no protected demand ranked above it)");
  if (record->at_risk)
    g_string_append_printf (s, "; SLO at risk: %s of '%s'", res, d->id);
  else
    g_string_append (s, "; no SLO at risk");
  return g_string_free (g_steal_pointer (&s), FALSE);
}
