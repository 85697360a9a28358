/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigod-fake's migrations: Migrate, CancelMigration, ListMigrations and
 * the signals, scripted by the destination's host name so a test chooses
 * the story:
 *   fast.example         progress and the end sent before Migrate's reply
 *                        (a client that subscribes late misses them)
 *   slow.example         progress every 100 ms until CancelMigration
 *   deaf.example         as slow, but a cancel takes 3 s to finish
 *   refuse.example       refused by the destination's admission
 *   unreachable.example  failed: libvirt cannot reach the destination
 *   anything else        completed after 5 progress signals, 100 ms apart
 * Every migration's signals are preceded by a progress signal of another
 * migration, which a client must ignore. One migration at a time (a second
 * of the same domain is Busy). */
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigod-fake.h"

#define MIB G_GUINT64_CONSTANT (1048576)
#define STEP_MSEC 100
#define COMPLETE_STEPS 5

typedef struct {
  AmigoDaemon1 *skeleton;
  char *id;
  char *domain;
  char *dest_uri;
  char *host;
  char *mode;
  guint step;
  guint timer;
  gint64 started_usec;
} Run;

static Run *running;
static GPtrArray *past;   /* GVariant a{sv}, newest last */

static void
add_predicted (GVariantDict *d)
{
  g_variant_dict_insert (d, "predicted_total_usec", "x", (gint64) 12500000);
  g_variant_dict_insert (d, "predicted_downtime_usec", "x", (gint64) 180000);
  g_variant_dict_insert (d, "predicted_data_bytes", "t", 1536 * MIB);
}

static GVariant *
progress (guint step)
{
  GVariantDict d;
  double pct = MIN (step * 20.0, 100.0);

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "phase", "s", step == 0 ? "refreshing" : "precopy");
  if (step > 0) {
    g_variant_dict_insert (&d, "percent", "d", pct);
    g_variant_dict_insert (&d, "data_sent_bytes", "t", (guint64) (pct / 100.0 * 192 * MIB));
    g_variant_dict_insert (&d, "data_remaining_bytes", "t", (guint64) ((100.0 - pct) / 100.0 * 192 * MIB));
    g_variant_dict_insert (&d, "dirty_rate_mib_s", "d", 3.5);
    g_variant_dict_insert (&d, "expected_downtime_usec", "x", (gint64) 120000);
    g_variant_dict_insert (&d, "elapsed_usec", "x", (gint64) step * STEP_MSEC * 1000);
  }
  return g_variant_dict_end (&d);
}

static void
finish (const char *state, const char *error)
{
  Run *r = running;
  GVariantDict d;
  GVariant *result;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "state", "s", state);
  if (error != NULL)
    g_variant_dict_insert (&d, "error", "s", error);
  if (strcmp (state, "completed") == 0) {
    g_variant_dict_insert (&d, "total_usec", "x", (gint64) 15000000);
    g_variant_dict_insert (&d, "downtime_usec", "x", (gint64) 150000);
    g_variant_dict_insert (&d, "data_sent_bytes", "t", 1024 * MIB);
  }
  add_predicted (&d);
  result = g_variant_ref_sink (g_variant_dict_end (&d));
  amigo_daemon1_emit_migration_finished (r->skeleton, r->id, r->domain, result);

  g_variant_dict_init (&d, result);
  g_variant_dict_insert (&d, "id", "s", r->id);
  g_variant_dict_insert (&d, "domain", "s", r->domain);
  g_variant_dict_insert (&d, "dest_uri", "s", r->dest_uri);
  g_variant_dict_insert (&d, "mode", "s", r->mode);
  g_variant_dict_insert (&d, "started_usec", "x", r->started_usec);
  g_ptr_array_add (past, g_variant_ref_sink (g_variant_dict_end (&d)));
  g_variant_unref (result);

  if (r->timer != 0)
    g_source_remove (r->timer);
  g_free (r->id);
  g_free (r->domain);
  g_free (r->dest_uri);
  g_free (r->host);
  g_free (r->mode);
  g_free (r);
  running = NULL;
}

/* one step of the script; FALSE once it ended */
static gboolean
step (void)
{
  Run *r = running;

  r->step++;
  if (strcmp (r->host, "refuse.example") == 0) {
    finish ("refused", "memory: need 0.19 GiB, 0.10 GiB free after reservations");
    return FALSE;
  }
  if (strcmp (r->host, "unreachable.example") == 0) {
    finish ("failed", "unable to connect to server at 'unreachable.example:16509': No route to host");
    return FALSE;
  }
  amigo_daemon1_emit_migration_progress (r->skeleton, r->id, r->domain,
                                         progress (MIN (r->step, COMPLETE_STEPS - 1)));
  if (r->step >= COMPLETE_STEPS && strcmp (r->host, "slow.example") != 0 && strcmp (r->host, "deaf.example") != 0) {
    finish ("completed", NULL);
    return FALSE;
  }
  return TRUE;
}

static gboolean
on_step (gpointer user_data)
{
  if (running == NULL || step ())
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_deaf_cancelled (gpointer user_data)
{
  if (running != NULL)
    finish ("cancelled", "cancelled by CancelMigration");
  return G_SOURCE_REMOVE;
}

static gboolean
handle_migrate (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *domain,
                const char *dest_uri, GVariant *options, gpointer user_data)
{
  g_autoptr (GUri) uri = g_uri_parse (dest_uri, G_URI_FLAGS_NONE, NULL);
  g_autofree char *id = g_uuid_string_random ();
  const char *mode = "precopy";
  double bandwidth = 110.0;
  guint32 downtime = 300;
  GVariantDict d;
  Run *r;

  if (!amigod_fake_check_domain (invocation, domain, FALSE))
    return TRUE;
  if (uri == NULL || g_uri_get_host (uri) == NULL) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                                           "malformed destination URI '%s'", dest_uri);
    return TRUE;
  }
  if (running != NULL) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_BUSY,
                                           "domain '%s' is already migrating (id %s)", running->domain,
                                           running->id);
    return TRUE;
  }
  /* echo what was asked, so a test sees what amigoctl sent */
  g_variant_lookup (options, "mode", "&s", &mode);
  if (strcmp (mode, "auto") == 0)
    mode = "precopy";
  g_variant_lookup (options, "bandwidth_mib_s", "d", &bandwidth);
  g_variant_lookup (options, "downtime_limit_ms", "u", &downtime);

  r = g_new0 (Run, 1);
  r->skeleton = skeleton;
  r->id = g_strdup (id);
  r->domain = g_strdup (domain);
  r->dest_uri = g_strdup (dest_uri);
  r->host = g_strdup (g_uri_get_host (uri));
  r->mode = g_strdup (mode);
  r->started_usec = g_get_real_time ();
  running = r;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "mode", "s", mode);
  g_variant_dict_insert (&d, "reason", "s", "the dirty rate (3.5 MiB/s) is far below the link");
  g_variant_dict_insert (&d, "bandwidth_mib_s", "d", bandwidth);
  g_variant_dict_insert (&d, "downtime_limit_ms", "u", downtime);
  g_variant_dict_insert (&d, "start_at_usec", "x", r->started_usec);
  g_variant_dict_insert (&d, "start_reason", "s", "starting now: no deadline given");
  g_variant_dict_insert (&d, "stall_timeout_usec", "x", 30 * AMIGO_USEC_PER_SEC);
  g_variant_dict_insert (&d, "timeout_usec", "x", 5 * AMIGO_USEC_PER_MIN);
  add_predicted (&d);

  /* another migration's signal: not ours, to be ignored */
  amigo_daemon1_emit_migration_progress (skeleton, "00000000-0000-0000-0000-000000000000", "other", progress (3));
  amigo_daemon1_emit_migration_progress (skeleton, r->id, r->domain, progress (0));
  if (strcmp (r->host, "fast.example") == 0) {
    while (step ())
      ;
  } else {
    r->timer = g_timeout_add (STEP_MSEC, on_step, NULL);
  }
  amigo_daemon1_complete_migrate (skeleton, invocation, id, g_variant_dict_end (&d));
  return TRUE;
}

static gboolean
handle_cancel_migration (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, const char *id,
                         gpointer user_data)
{
  if (running == NULL || strcmp (running->id, id) != 0) {
    g_dbus_method_invocation_return_error (invocation, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND,
                                           "no migration '%s' is running", id);
    return TRUE;
  }
  if (strcmp (running->host, "deaf.example") == 0)
    g_timeout_add_seconds (3, on_deaf_cancelled, NULL);
  else
    finish ("cancelled", "cancelled by CancelMigration");
  amigo_daemon1_complete_cancel_migration (skeleton, invocation);
  return TRUE;
}

static gboolean
handle_list_migrations (AmigoDaemon1 *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = past->len; i > 0; i--)
    g_variant_builder_add_value (&b, g_ptr_array_index (past, i - 1));
  amigo_daemon1_complete_list_migrations (skeleton, invocation, g_variant_builder_end (&b));
  return TRUE;
}

void
amigod_fake_migrate_init (AmigoDaemon1 *skeleton)
{
  past = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_signal_connect (skeleton, "handle-migrate", G_CALLBACK (handle_migrate), NULL);
  g_signal_connect (skeleton, "handle-cancel-migration", G_CALLBACK (handle_cancel_migration), NULL);
  g_signal_connect (skeleton, "handle-list-migrations", G_CALLBACK (handle_list_migrations), NULL);
}
