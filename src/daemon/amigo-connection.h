/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

#define AMIGO_CONNECTION_BACKOFF_MIN_USEC (1 * G_USEC_PER_SEC)
#define AMIGO_CONNECTION_BACKOFF_MAX_USEC (60 * G_USEC_PER_SEC)

/**
 * AmigoConnection: one libvirt connection that survives libvirtd restarts.
 *
 * libvirt's default event implementation is GLib's default main context,
 * which amigod's main loop runs: keepalive and the close callback need no
 * thread of their own, and callers only ever see the connection change
 * state from the main loop (never from inside a libvirt callback). When the
 * connection drops
 * (close callback, keepalive timeout, or a caller reporting a failed call)
 * it reconnects with exponential backoff from 1 s to 60 s, logging each
 * attempt.
 */
typedef struct _AmigoConnection AmigoConnection;

/* Called in the main context when the connection comes up or goes down. */
typedef void (*AmigoConnectionStateFunc) (AmigoConnection *conn,
                                          gboolean connected,
                                          gpointer user_data);

/* Registers libvirt's default event implementation (once per process;
 * later calls do nothing). Call before any connection; the default main
 * context must then be run (g_main_loop_new (NULL, ...)). */
gboolean amigo_connection_init_event_loop (GError **error);

AmigoConnection *amigo_connection_new (const char *uri,
                                       AmigoConnectionStateFunc func,
                                       gpointer user_data);
void amigo_connection_free (AmigoConnection *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoConnection, amigo_connection_free)

/* First attempt now; on failure retries are scheduled. */
void amigo_connection_start (AmigoConnection *self);

/* The live connection (borrowed), or NULL while disconnected. */
virConnectPtr amigo_connection_get (AmigoConnection *self);
const char *amigo_connection_get_uri (AmigoConnection *self);

/* Tells the connection that a call failed in a way that means the
 * hypervisor is gone: it is closed and reconnection starts. */
void amigo_connection_lost (AmigoConnection *self, const char *reason);

/* The last libvirt error message, for callers building a GError. */
char *amigo_connection_last_error (void);

G_END_DECLS
