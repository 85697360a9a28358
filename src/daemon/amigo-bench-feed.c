/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-bench-feed.h"

#include <string.h>

#include "amigo-collector.h"
#include "amigo-domstats-text.h"
#include "amigo-error.h"
#include "amigo-time.h"

typedef struct {
  char *field;
  int type;
  gboolean counter;
  gboolean scaled;          /* gauges that differ per domain (memory) */
  double base;              /* value in the first recording */
  double rate_per_sec;      /* counters: growth per second */
  char *str;                /* STRING params */
} FeedParam;

struct _AmigoBenchFeed {
  GArray *params;           /* FeedParam */
  gint64 start_usec;        /* clock of the first augment call */
};

/* Cumulative counters advance; everything else (balloon sizes, capacities,
 * counts, states) keeps its recorded value. */
static gboolean
is_counter (const char *field)
{
  static const char *suffixes[] = { ".time", ".user", ".system", ".wait", ".delay", ".bytes", ".pkts",
                                    ".errs", ".drop", ".reqs", ".times", "_fault", ".swap_in",
                                    ".swap_out" };

  if (g_str_has_prefix (field, "state.") || g_str_has_prefix (field, "cpu.haltpoll"))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++) {
    if (g_str_has_suffix (field, suffixes[i]))
      return TRUE;
  }
  return FALSE;
}

static double
param_as_double (const virTypedParameter *p)
{
  switch (p->type) {
  case VIR_TYPED_PARAM_INT: return p->value.i;
  case VIR_TYPED_PARAM_UINT: return p->value.ui;
  case VIR_TYPED_PARAM_LLONG: return (double) p->value.l;
  case VIR_TYPED_PARAM_ULLONG: return (double) p->value.ul;
  case VIR_TYPED_PARAM_DOUBLE: return p->value.d;
  case VIR_TYPED_PARAM_BOOLEAN: return p->value.b;
  default: return 0;
  }
}

/* "# recorded_usec=N ..." on the first line, or -1. */
static gint64
recorded_usec (const char *text)
{
  const char *p = strstr (text, "recorded_usec=");

  if (p == NULL)
    return -1;
  return g_ascii_strtoll (p + strlen ("recorded_usec="), NULL, 10);
}

static void
feed_param_clear (gpointer data)
{
  FeedParam *fp = data;

  g_free (fp->field);
  g_free (fp->str);
}

AmigoBenchFeed *
amigo_bench_feed_new (const char * const *files, GError **error)
{
  g_autoptr (AmigoBenchFeed) self = g_new0 (AmigoBenchFeed, 1);
  virTypedParameterPtr first = NULL, last = NULL;
  int n_first = 0, n_last = 0;
  gint64 t_first = -1, t_last = -1;
  guint n_files = files != NULL ? g_strv_length ((char **) files) : 0;
  gboolean ok = FALSE;

  self->params = g_array_new (FALSE, TRUE, sizeof (FeedParam));
  g_array_set_clear_func (self->params, feed_param_clear);
  self->start_usec = -1;
  if (n_files == 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "no statistics file given");
    return NULL;
  }
  for (guint i = 0; i < n_files; i += MAX (n_files - 1, 1)) {
    g_autofree char *text = NULL;
    g_autofree char *name = NULL;
    virTypedParameterPtr params = NULL;
    int n = 0;

    if (!g_file_get_contents (files[i], &text, NULL, error))
      goto out;
    if (!amigo_domstats_text_parse (text, &name, &params, &n, error)) {
      g_prefix_error (error, "%s: ", files[i]);
      goto out;
    }
    if (i == 0) {
      first = params;
      n_first = n;
      t_first = recorded_usec (text);
    } else {
      last = params;
      n_last = n;
      t_last = recorded_usec (text);
    }
  }

  for (int i = 0; i < n_first; i++) {
    FeedParam fp = { 0 };
    virTypedParameterPtr later = last != NULL ? virTypedParamsGet (last, n_last, first[i].field) : NULL;

    fp.field = g_strdup (first[i].field);
    fp.type = first[i].type;
    if (fp.type == VIR_TYPED_PARAM_STRING) {
      fp.str = g_strdup (first[i].value.s);
    } else {
      fp.base = param_as_double (&first[i]);
      fp.counter = is_counter (fp.field);
      fp.scaled = g_str_has_prefix (fp.field, "balloon.") && !fp.counter &&
                  strcmp (fp.field, "balloon.last-update") != 0;
      if (fp.counter && later != NULL && t_last > t_first && t_first > 0)
        fp.rate_per_sec = MAX (param_as_double (later) - fp.base, 0) /
                          ((double) (t_last - t_first) / AMIGO_USEC_PER_SEC);
    }
    g_array_append_val (self->params, fp);
  }
  ok = TRUE;

out:
  if (first != NULL)
    virTypedParamsFree (first, n_first);
  if (last != NULL)
    virTypedParamsFree (last, n_last);
  return ok ? g_steal_pointer (&self) : NULL;
}

void
amigo_bench_feed_free (AmigoBenchFeed *self)
{
  if (self == NULL)
    return;
  if (self->params != NULL)
    g_array_unref (self->params);
  g_free (self);
}

void
amigo_bench_feed_augment (const char *uuid,
                          const char *name,
                          gint64 now_usec,
                          virTypedParameterPtr *params,
                          int *nparams,
                          int *maxparams,
                          gpointer user_data)
{
  AmigoBenchFeed *self = user_data;
  /* 0.25 .. 2.125: domains differ in size and load */
  double scale = 0.25 + (g_str_hash (uuid) % 16) / 8.0;
  double elapsed_sec;
  int n0;

  if (self->start_usec < 0)
    self->start_usec = now_usec;
  elapsed_sec = (double) (now_usec - self->start_usec) / AMIGO_USEC_PER_SEC;

  n0 = *nparams;
  /* Filled in place rather than with virTypedParamsAdd*(), which look for
   * duplicates on every call: this harness must cost amigod next to nothing.
   * The array stays one that virTypedParamsFree() releases. */
  *params = g_renew (virTypedParameter, *params, n0 + self->params->len);
  for (guint i = 0; i < self->params->len; i++) {
    const FeedParam *fp = &g_array_index (self->params, FeedParam, i);
    virTypedParameterPtr p;
    gboolean dup = FALSE;
    double v;

    for (int j = 0; j < n0 && !dup; j++)
      dup = strcmp ((*params)[j].field, fp->field) == 0;
    if (dup)
      continue;   /* what libvirt reported wins (state.*) */
    p = &(*params)[(*nparams)++];
    memset (p, 0, sizeof *p);
    g_strlcpy (p->field, fp->field, sizeof p->field);
    p->type = fp->type;
    switch (fp->type) {
    case VIR_TYPED_PARAM_STRING:
      p->value.s = g_strdup (fp->str);
      break;
    case VIR_TYPED_PARAM_DOUBLE:
      p->value.d = fp->base;
      break;
    case VIR_TYPED_PARAM_LLONG:
      p->value.l = (long long) fp->base;
      break;
    default:
      p->type = VIR_TYPED_PARAM_ULLONG;
      if (fp->counter)
        v = fp->base * scale + fp->rate_per_sec * scale * elapsed_sec;
      else
        v = fp->scaled ? fp->base * scale : fp->base;
      p->value.ul = (unsigned long long) v;
      break;
    }
  }
  *maxparams = *nparams;
}
