/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "amigo-dbus-generated.h"

G_BEGIN_DECLS

/* FALSE (and the error replied) when @domain is not one of the fake's
 * domains, or, with @need_history, has no usable sample yet. */
gboolean amigod_fake_check_domain (GDBusMethodInvocation *invocation, const char *domain, gboolean need_history);

/* Migrate, CancelMigration, ListMigrations (amigod-fake-migrate.c). */
void amigod_fake_migrate_init (AmigoDaemon1 *skeleton);

G_END_DECLS
