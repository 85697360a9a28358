/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include "amigo-connection.h"

#include <libvirt/virterror.h>

#include "amigo-error.h"

#define KEEPALIVE_INTERVAL_SEC 5
#define KEEPALIVE_COUNT 3

struct _AmigoConnection {
  gatomicrefcount ref;
  char *uri;
  virConnectPtr conn;
  AmigoConnectionStateFunc func;
  gpointer user_data;
  GMainContext *context;
  guint retry_id;
  gint64 backoff_usec;
  guint attempt;
  gboolean disposed;
};

/* libvirt would print every error on stderr: route them to debug instead;
 * whoever gets the failed call decides what to log. */
static void
quiet_error_func (void *user_data, virErrorPtr error)
{
  g_debug ("libvirt: %s", error != NULL && error->message != NULL ? error->message : "(no message)");
}

gboolean
amigo_connection_init_event_loop (GError **error)
{
  static gsize once = 0;
  static gboolean ok = FALSE;

  if (g_once_init_enter (&once)) {
    virSetErrorFunc (NULL, quiet_error_func);
    /* Since libvirt 6.1 the default implementation is GLib's: its watches
     * and timers are sources on the global default main context, which
     * amigod's main loop runs. So keepalive and the close callback are
     * dispatched on the main thread, with no thread of our own. */
    ok = virEventRegisterDefaultImpl () == 0;
    g_once_init_leave (&once, 1);
  }
  if (!ok) {
    g_autofree char *msg = amigo_connection_last_error ();
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED,
                 "cannot start libvirt's event loop: %s", msg);
  }
  return ok;
}

char *
amigo_connection_last_error (void)
{
  virErrorPtr e = virGetLastError ();

  return g_strdup (e != NULL && e->message != NULL ? e->message : "unknown libvirt error");
}

static AmigoConnection *
amigo_connection_ref (AmigoConnection *self)
{
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

static void
amigo_connection_unref (AmigoConnection *self)
{
  if (!g_atomic_ref_count_dec (&self->ref))
    return;
  g_main_context_unref (self->context);
  g_free (self->uri);
  g_free (self);
}

AmigoConnection *
amigo_connection_new (const char *uri, AmigoConnectionStateFunc func, gpointer user_data)
{
  AmigoConnection *self = g_new0 (AmigoConnection, 1);

  g_atomic_ref_count_init (&self->ref);
  self->uri = g_strdup (uri);
  self->func = func;
  self->user_data = user_data;
  self->context = g_main_context_ref_thread_default ();
  self->backoff_usec = AMIGO_CONNECTION_BACKOFF_MIN_USEC;
  return self;
}

static void on_close (virConnectPtr conn, int reason, void *opaque);

static void
drop_connection (AmigoConnection *self)
{
  virConnectPtr conn = g_steal_pointer (&self->conn);

  if (conn == NULL)
    return;
  virConnectUnregisterCloseCallback (conn, on_close);
  virConnectClose (conn);
}

void
amigo_connection_free (AmigoConnection *self)
{
  if (self == NULL)
    return;
  self->disposed = TRUE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  drop_connection (self);
  amigo_connection_unref (self);
}

static gboolean try_connect (gpointer user_data);

static void
schedule_retry (AmigoConnection *self)
{
  GSource *source;

  if (self->retry_id != 0 || self->disposed)
    return;
  source = g_timeout_source_new (self->backoff_usec / 1000);
  g_source_set_callback (source, try_connect, self, NULL);
  self->retry_id = g_source_attach (source, self->context);
  g_source_unref (source);
  self->backoff_usec = MIN (self->backoff_usec * 2, AMIGO_CONNECTION_BACKOFF_MAX_USEC);
}

typedef struct {
  AmigoConnection *self;
  virConnectPtr conn;   /* a reference: its address cannot be reused while the event waits */
  int reason;
} CloseEvent;

static gboolean
handle_close_in_main (gpointer data)
{
  CloseEvent *ev = data;
  AmigoConnection *self = ev->self;
  static const char *reasons[] = { "error", "end of file", "keepalive timeout", "client request" };

  /* Only the connection we still hold matters: a late event for an old one
   * after a reconnect is ignored. */
  if (!self->disposed && self->conn != NULL && self->conn == ev->conn) {
    g_autofree char *why = g_strdup_printf ("connection closed (%s)",
                                            ev->reason >= 0 && ev->reason < (int) G_N_ELEMENTS (reasons)
                                              ? reasons[ev->reason] : "unknown reason");
    amigo_connection_lost (self, why);
  }
  return G_SOURCE_REMOVE;
}

static void
free_close_event (gpointer data)
{
  CloseEvent *ev = data;

  virConnectClose (ev->conn);
  amigo_connection_unref (ev->self);
  g_free (ev);
}

/* Runs inside libvirt's dispatch, which holds the connection's
 * close-callback lock: nothing may call back into libvirt from here (closing
 * the connection would deadlock), so the work is deferred to an idle source
 * of the connection's context. */
static void
on_close (virConnectPtr conn, int reason, void *opaque)
{
  CloseEvent *ev = g_new0 (CloseEvent, 1);
  GSource *source = g_idle_source_new ();

  ev->self = amigo_connection_ref (opaque);
  /* only a reference count: safe under the close-callback lock */
  virConnectRef (conn);
  ev->conn = conn;
  ev->reason = reason;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, handle_close_in_main, ev, free_close_event);
  g_source_attach (source, ev->self->context);
  g_source_unref (source);
}

static gboolean
try_connect (gpointer user_data)
{
  AmigoConnection *self = user_data;
  virConnectPtr conn;

  self->retry_id = 0;
  self->attempt++;
  g_message ("connecting to libvirt '%s' (attempt %u)", self->uri, self->attempt);
  conn = virConnectOpen (self->uri);
  if (conn == NULL) {
    g_autofree char *msg = amigo_connection_last_error ();
    g_message ("cannot connect to libvirt '%s': %s; retrying in %" G_GINT64_FORMAT " s",
               self->uri, msg, self->backoff_usec / G_USEC_PER_SEC);
    schedule_retry (self);
    return G_SOURCE_REMOVE;
  }

  /* Drivers without a remote side (test://, some local ones) support neither;
   * that is fine, failed calls then report the loss. */
  if (virConnectSetKeepAlive (conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT) < 0)
    g_debug ("no keepalive on '%s'", self->uri);
  /* No reference for libvirt: some drivers never call a free function. The
   * callback is unregistered before @self goes (drop_connection()), and it
   * runs on this thread, so it never sees a freed @self. */
  if (virConnectRegisterCloseCallback (conn, on_close, self, NULL) < 0)
    g_debug ("no close callback on '%s'", self->uri);
  self->conn = conn;
  self->attempt = 0;
  self->backoff_usec = AMIGO_CONNECTION_BACKOFF_MIN_USEC;
  g_message ("connected to libvirt '%s'", self->uri);
  if (self->func != NULL)
    self->func (self, TRUE, self->user_data);
  return G_SOURCE_REMOVE;
}

void
amigo_connection_start (AmigoConnection *self)
{
  if (self->conn != NULL || self->retry_id != 0)
    return;
  try_connect (self);
}

virConnectPtr
amigo_connection_get (AmigoConnection *self)
{
  return self->conn;
}

const char *
amigo_connection_get_uri (AmigoConnection *self)
{
  return self->uri;
}

void
amigo_connection_lost (AmigoConnection *self, const char *reason)
{
  if (self->conn == NULL)
    return;
  g_warning ("lost the libvirt connection '%s': %s; reconnecting", self->uri, reason);
  drop_connection (self);
  if (self->func != NULL)
    self->func (self, FALSE, self->user_data);
  schedule_retry (self);
}
