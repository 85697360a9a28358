/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an administrator may ask of a migration (Migrate's @options,
 * data/org.amigo.Daemon1.xml) and the check of its destination URI. Every
 * refusal is AMIGO_ERROR_INVALID_ARGS naming the option (or the URI), the
 * value given and what is accepted. */

#include <glib.h>

#include "amigo-time.h"

G_BEGIN_DECLS

/**
 * AmigoMigrationMode:
 * @AMIGO_MIGRATION_MODE_AUTO: amigo chooses one of the three below from the
 *   overhead model (only as an option; a plan never says "auto").
 * @AMIGO_MIGRATION_MODE_PRECOPY: live pre-copy: memory is sent in rounds
 *   while the guest runs, then a short stop-and-copy.
 * @AMIGO_MIGRATION_MODE_AUTO_CONVERGE: pre-copy in which QEMU throttles the
 *   guest's vCPUs when the dirty pages outpace the link
 *   (VIR_MIGRATE_AUTO_CONVERGE).
 * @AMIGO_MIGRATION_MODE_POSTCOPY: one pre-copy round, then the guest runs
 *   on the destination and pulls the pages still missing
 *   (VIR_MIGRATE_POSTCOPY): bounded time, but a network failure meanwhile
 *   loses the VM (its memory is split between the hosts).
 *
 * Names: "auto", "precopy", "auto-converge", "postcopy".
 */
typedef enum {
  AMIGO_MIGRATION_MODE_AUTO,
  AMIGO_MIGRATION_MODE_PRECOPY,
  AMIGO_MIGRATION_MODE_AUTO_CONVERGE,
  AMIGO_MIGRATION_MODE_POSTCOPY,
  AMIGO_MIGRATION_MODE_LAST
} AmigoMigrationMode;

/* NULL for a value out of range. */
const char *amigo_migration_mode_to_string (AmigoMigrationMode mode);
gboolean amigo_migration_mode_from_string (const char *name, AmigoMigrationMode *ret_mode);
/* "auto, precopy, auto-converge, postcopy", each behind @prefix. */
char *amigo_migration_mode_join_names (const char *prefix);

/* The ranges Migrate accepts (data/org.amigo.Daemon1.xml). */
#define AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S 100000.0
#define AMIGO_MIGRATION_DOWNTIME_LIMIT_MIN_MS 1
#define AMIGO_MIGRATION_DOWNTIME_LIMIT_MAX_MS 60000
#define AMIGO_MIGRATION_DEADLINE_MAX_USEC AMIGO_USEC_PER_DAY
#define AMIGO_MIGRATION_TIMEOUT_MIN_USEC AMIGO_USEC_PER_SEC
#define AMIGO_MIGRATION_TIMEOUT_MAX_USEC AMIGO_USEC_PER_DAY
/* Longest migrate_uri or destination URI accepted: a host name is at most
 * 253 bytes; the rest is scheme, port, path and query. */
#define AMIGO_MIGRATION_URI_MAX_LEN 1024

/**
 * AmigoMigrationOptions:
 * @migrate_uri: where the migration stream goes (libvirt's
 *   VIR_MIGRATE_PARAM_URI, "tcp://10.0.0.2"); NULL = not set (libvirt
 *   chooses from the destination URI). Owned.
 * @bandwidth_mib_s: the most the migration may use, MiB/s,
 *   0 < x <= %AMIGO_MIGRATION_BANDWIDTH_MAX_MIB_S; 0 = not set (the plan
 *   chooses).
 * @downtime_limit_ms: longest pause at switch-over, ms, 1 to 60000; 0 = not
 *   set (the plan chooses).
 * @mode: %AMIGO_MIGRATION_MODE_AUTO (default) or a forced mode.
 * @deadline_usec: start within this long from now, 0 to 24 h; 0 = start now
 *   (the default).
 * @timeout_usec: overall timeout, 1 s to 24 h; 0 = not set (the plan adapts
 *   it to the VM).
 *
 * Migrate's options. Every member's "not set" value is outside its accepted
 * range, so no separate flags are needed. Zero-initialise or
 * amigo_migration_options_init(), then amigo_migration_options_clear().
 */
typedef struct {
  char *migrate_uri;
  double bandwidth_mib_s;
  guint32 downtime_limit_ms;
  AmigoMigrationMode mode;
  gint64 deadline_usec;
  gint64 timeout_usec;
} AmigoMigrationOptions;

/* All options not set. */
void amigo_migration_options_init (AmigoMigrationOptions *options);
/* Frees what @options owns and sets it back to not set. */
void amigo_migration_options_clear (AmigoMigrationOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmigoMigrationOptions, amigo_migration_options_clear)

/* A deep copy of @src into @dest (which is overwritten, not cleared). */
void amigo_migration_options_copy (AmigoMigrationOptions *dest, const AmigoMigrationOptions *src);

/* Reads an a{sv} of options. Integer options take any integer type (y n q
 * i u x t), bandwidth_mib_s a double or any integer type, the others a
 * string. AMIGO_ERROR_INVALID_ARGS naming the option for an unknown key, a
 * wrong type (saying the type expected) or a value out of range (saying the
 * range); @ret is left alone then. On success @ret is overwritten (not
 * cleared first). */
gboolean amigo_migration_options_parse (GVariant *options,
                                        AmigoMigrationOptions *ret,
                                        GError **error);

/* Checks the members of @options that are set, with the messages of
 * amigo_migration_options_parse() (for a caller that fills the struct
 * itself, such as a command line). */
gboolean amigo_migration_options_check (const AmigoMigrationOptions *options, GError **error);

/* The a{sv} of the options that are set (floating), as Migrate takes it. */
GVariant *amigo_migration_options_to_variant (const AmigoMigrationOptions *options);

/* Checks a destination's libvirt URI: it must parse (g_uri_parse), have a
 * scheme among libvirt's QEMU transports (qemu, qemu+tcp, qemu+ssh,
 * qemu+tls, qemu+unix, qemu+libssh, qemu+libssh2), a host (except
 * qemu+unix, which names a local socket) and the path /system or /session.
 * AMIGO_ERROR_INVALID_ARGS quoting @uri and saying what is wrong. */
gboolean amigo_migration_check_dest_uri (const char *uri, GError **error);

G_END_DECLS
