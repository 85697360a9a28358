/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs amigod's log writer: the journal (with structured fields) when
 * stderr is connected to it (JOURNAL_STREAM, as under systemd), plain lines
 * on stderr otherwise. Debug messages only with @verbose (or
 * G_MESSAGES_DEBUG). Returns whether the journal is used. */
gboolean amigo_log_setup (gboolean verbose);

/* Logs about one domain: the journal gets AMIGO_DOMAIN_UUID= and
 * AMIGO_DOMAIN_NAME= so that one domain's story can be filtered with
 * `journalctl AMIGO_DOMAIN_UUID=...`. */
#define amigo_log_domain(level, uuid, name, ...) \
  amigo_log_domain_full (G_LOG_DOMAIN, (level), (uuid), (name), __FILE__, G_STRINGIFY (__LINE__), \
                         G_STRFUNC, __VA_ARGS__)

void amigo_log_domain_full (const char *log_domain,
                            GLogLevelFlags level,
                            const char *uuid,
                            const char *name,
                            const char *file,
                            const char *line,
                            const char *func,
                            const char *format,
                            ...) G_GNUC_PRINTF (8, 9);

G_END_DECLS
