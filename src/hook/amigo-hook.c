/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * amigo-hook: libvirt's qemu hook (installed as /etc/libvirt/hooks/qemu.d/amigo).
 *
 * libvirtd runs it as "amigo-hook NAME OP SUBOP EXTRA" with the domain XML on
 * stdin and waits for it; it must never call back into libvirt (deadlock).
 * It makes one D-Bus call to the local amigod and returns (docs/hook.md):
 *
 *   migrate begin    AdmitMigration(xml): admitted -> the returned XML on
 *                    stdout (libvirt starts the incoming domain from it),
 *                    exit 0; refused -> the reason on stderr, exit 1 (libvirt
 *                    refuses the migration before any memory is copied).
 *   migrate <other>  ReleaseReservation(uuid, "migrate <other>"), exit 0.
 *   stopped end      ReleaseReservation(uuid, "stopped end"), exit 0.
 *   release end      ReleaseReservation(uuid, "release end"), exit 0.
 *   anything else    nothing, exit 0.
 *
 * When amigod cannot answer (not running, no bus, timeout, an error other
 * than Refused), the hook fails open by default: exit 0 with no output, which
 * libvirt reads as "keep the XML unchanged", and one line on stderr. With
 * on-unavailable=refuse it exits 1 instead. libvirt passes hooks almost no
 * environment, so the settings live in a key file; environment variables
 * override it for tests and manual runs.
 */
#define G_LOG_DOMAIN "amigo-hook"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "amigo-config.h"
#include "amigo-dbus-generated.h"
#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo-uuid.h"

/* libvirt's domain XML is some kB; a bound keeps a runaway writer from
 * making the hook allocate without limit. */
#define HOOK_MAX_INPUT_BYTES (16 * 1024 * 1024)
#define HOOK_DEFAULT_TIMEOUT_USEC (10 * AMIGO_USEC_PER_SEC)
#define HOOK_CONF_DEFAULT_PATH AMIGO_SYSCONFDIR "/amigo/hook.conf"

enum {
  EXIT_ADMIT = 0,
  EXIT_REFUSE = 1,
  EXIT_USAGE = 2,
};

typedef struct {
  gint64 timeout_usec;
  gboolean refuse_when_unavailable;
} HookConf;

static gboolean hook_refuse_when_unavailable;

/* ---- settings ----------------------------------------------------------- */

static gboolean
parse_on_unavailable (const char *text, gboolean *ret_refuse, GError **error)
{
  if (g_strcmp0 (text, "admit") == 0 || g_strcmp0 (text, "refuse") == 0) {
    *ret_refuse = g_strcmp0 (text, "refuse") == 0;
    return TRUE;
  }
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
               "on-unavailable '%s' is not 'admit' or 'refuse'", text);
  return FALSE;
}

static gboolean
parse_timeout (const char *text, gint64 *ret_usec, GError **error)
{
  gint64 usec;

  if (!amigo_duration_parse (text, &usec, error))
    return FALSE;
  /* libvirtd waits for the hook with the domain's job held: minutes would
   * stall every other call on the domain. */
  if (usec < 100 * AMIGO_USEC_PER_MSEC || usec > 5 * AMIGO_USEC_PER_MIN) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG, "'%s' is not between 100ms and 5m", text);
    return FALSE;
  }
  *ret_usec = usec;
  return TRUE;
}

/* Key file [hook] timeout=10s, on-unavailable=admit|refuse, then the
 * environment (AMIGO_HOOK_TIMEOUT, AMIGO_HOOK_ON_UNAVAILABLE). A bad setting
 * is reported and the default kept: a typo must not block migrations. */
static void
load_conf (HookConf *conf)
{
  const char *path = g_getenv ("AMIGO_HOOK_CONF");
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *timeout = NULL;
  g_autofree char *on_unavailable = NULL;

  conf->timeout_usec = HOOK_DEFAULT_TIMEOUT_USEC;
  conf->refuse_when_unavailable = FALSE;
  if (path == NULL)
    path = HOOK_CONF_DEFAULT_PATH;
  if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error)) {
    timeout = g_key_file_get_string (kf, "hook", "timeout", NULL);
    on_unavailable = g_key_file_get_string (kf, "hook", "on-unavailable", NULL);
  } else if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_printerr ("amigo: cannot read '%s': %s, using the defaults\n", path, error->message);
  }
  g_clear_error (&error);
  if (g_getenv ("AMIGO_HOOK_TIMEOUT") != NULL) {
    g_free (timeout);
    timeout = g_strdup (g_getenv ("AMIGO_HOOK_TIMEOUT"));
  }
  if (g_getenv ("AMIGO_HOOK_ON_UNAVAILABLE") != NULL) {
    g_free (on_unavailable);
    on_unavailable = g_strdup (g_getenv ("AMIGO_HOOK_ON_UNAVAILABLE"));
  }
  if (timeout != NULL && !parse_timeout (timeout, &conf->timeout_usec, &error)) {
    g_printerr ("amigo: timeout: %s, using 10s\n", error->message);
    g_clear_error (&error);
  }
  if (on_unavailable != NULL && !parse_on_unavailable (on_unavailable, &conf->refuse_when_unavailable, &error))
    g_printerr ("amigo: %s, using 'admit'\n", error->message);
}

/* ---- stdin and stdout --------------------------------------------------- */

static char *
read_stdin (GError **error)
{
  g_autoptr(GString) buf = g_string_new (NULL);
  char chunk[65536];

  for (;;) {
    ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read the domain XML from stdin: %s",
                   g_strerror (errno));
      return NULL;
    }
    if (n == 0)
      break;
    if (buf->len + (gsize) n > HOOK_MAX_INPUT_BYTES) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "the domain XML on stdin is larger than the limit of %d bytes", HOOK_MAX_INPUT_BYTES);
      return NULL;
    }
    g_string_append_len (buf, chunk, n);
  }
  if (memchr (buf->str, '\0', buf->len) != NULL) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "the domain XML on stdin holds a NUL byte");
    return NULL;
  }
  return g_string_free (g_steal_pointer (&buf), FALSE);
}

static gboolean
write_all (int fd, const char *text, GError **error)
{
  gsize len = strlen (text), done = 0;

  while (done < len) {
    ssize_t n = write (fd, text + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot write the domain XML: %s", g_strerror (errno));
      return FALSE;
    }
    done += (gsize) n;
  }
  return TRUE;
}

/* The <uuid> of a domain XML, for the release operations. */
typedef struct {
  guint depth;
  gboolean in_uuid;
  GString *text;
} UuidState;

static void
uuid_start (GMarkupParseContext *ctx, const char *element, const char **n, const char **v, gpointer data,
            GError **error)
{
  UuidState *st = data;
  st->depth++;
  st->in_uuid = st->depth == 2 && strcmp (element, "uuid") == 0 && st->text->len == 0;
}

static void
uuid_end (GMarkupParseContext *ctx, const char *element, gpointer data, GError **error)
{
  UuidState *st = data;
  st->depth--;
  st->in_uuid = FALSE;
}

static void
uuid_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer data, GError **error)
{
  UuidState *st = data;
  if (st->in_uuid && st->text->len + len <= 64)
    g_string_append_len (st->text, text, (gssize) len);
}

static char *
domain_uuid (const char *xml, GError **error)
{
  static const GMarkupParser parser = { uuid_start, uuid_end, uuid_text, NULL, NULL };
  g_autoptr(GString) text = g_string_new (NULL);
  UuidState st = { 0, FALSE, text };
  g_autoptr(GMarkupParseContext) ctx = g_markup_parse_context_new (&parser, 0, &st, NULL);
  g_autoptr(GError) local = NULL;
  g_autofree char *uuid = NULL;

  if (!g_markup_parse_context_parse (ctx, xml, -1, &local) || !g_markup_parse_context_end_parse (ctx, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "the domain XML on stdin is malformed: %s",
                 local->message);
    return NULL;
  }
  uuid = g_strstrip (g_string_free (g_steal_pointer (&text), FALSE));
  if (!g_uuid_string_is_valid (uuid)) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "the domain XML on stdin has no valid <uuid>");
    return NULL;
  }
  return g_ascii_strdown (uuid, -1);
}

/* ---- amigod ------------------------------------------------------------- */

static AmigoDaemon1 *
connect_amigod (const HookConf *conf, GError **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(AmigoDaemon1) proxy = NULL;
  g_autofree char *owner = NULL;

  /* Registers org.amigo.Error.* so that Refused comes back as
   * AMIGO_ERROR_REFUSED. */
  (void) AMIGO_ERROR;
  bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  if (bus == NULL) {
    g_prefix_error (error, "cannot reach the system bus: ");
    return NULL;
  }
  proxy = amigo_daemon1_proxy_new_sync (bus,
                                        G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START |
                                        G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                        G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                        AMIGO_DBUS_NAME, AMIGO_DBUS_PATH, NULL, error);
  if (proxy == NULL)
    return NULL;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  if (owner == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_CONNECTED,
                 "amigod is not running (nobody owns '%s' on the system bus)", AMIGO_DBUS_NAME);
    return NULL;
  }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), (gint) (conf->timeout_usec / AMIGO_USEC_PER_MSEC));
  return g_steal_pointer (&proxy);
}

/* amigod could not decide: admit unchanged (print nothing: libvirt then
 * keeps its XML) or refuse, as configured. */
static int
unavailable (const HookConf *conf, const char *name, const char *why)
{
  if (conf->refuse_when_unavailable) {
    g_printerr ("amigo: cannot admit '%s': %s (on-unavailable=refuse)\n", name, why);
    return EXIT_REFUSE;
  }
  g_printerr ("amigo: admitting '%s' without a reservation: %s\n", name, why);
  return EXIT_ADMIT;
}

static int
migrate_begin (const HookConf *conf, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoDaemon1) proxy = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *xml_out = NULL;
  g_autoptr(GVariant) info = NULL;
  g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  xml = read_stdin (&error);
  if (xml == NULL)
    return unavailable (conf, name, error->message);
  proxy = connect_amigod (conf, &error);
  if (proxy == NULL)
    return unavailable (conf, name, error->message);

  g_variant_builder_add (&options, "{sv}", "hook_op", g_variant_new_string ("migrate begin"));
  if (!amigo_daemon1_call_admit_migration_sync (proxy, xml, g_variant_builder_end (&options),
                                                &xml_out, &info, NULL, &error)) {
    gboolean refused = g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED);
    g_dbus_error_strip_remote_error (error);
    if (refused) {
      /* libvirt appends this to "Hook script execution failed: ...": it is
       * what the administrator running virsh migrate reads. */
      g_printerr ("amigo: %s\n", error->message);
      return EXIT_REFUSE;
    }
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
      g_autofree char *t = amigo_duration_format (conf->timeout_usec);
      g_autofree char *why = g_strdup_printf ("amigod did not answer within %s", t);
      return unavailable (conf, name, why);
    }
    return unavailable (conf, name, error->message);
  }
  if (xml_out == NULL || *xml_out == '\0')
    return EXIT_ADMIT;
  if (!write_all (STDOUT_FILENO, xml_out, &error)) {
    /* A partial XML on stdout would be parsed by libvirt: refuse instead. */
    g_printerr ("amigo: %s\n", error->message);
    return EXIT_REFUSE;
  }
  return EXIT_ADMIT;
}

/* A stop or failure: give the reservation back. Never fails the operation:
 * libvirt has already stopped the domain, and a reservation amigod misses
 * here still expires with its lease. */
static int
release (const HookConf *conf, const char *name, const char *reason)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoDaemon1) proxy = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *uuid = NULL;

  xml = read_stdin (&error);
  if (xml != NULL)
    uuid = domain_uuid (xml, &error);
  if (uuid == NULL) {
    g_printerr ("amigo: cannot release the reservation of '%s': %s\n", name, error->message);
    return EXIT_ADMIT;
  }
  proxy = connect_amigod (conf, &error);
  if (proxy == NULL || !amigo_daemon1_call_release_reservation_sync (proxy, uuid, reason, NULL, &error)) {
    g_dbus_error_strip_remote_error (error);
    g_printerr ("amigo: cannot release the reservation of '%s' (%s): %s\n", name, reason, error->message);
  }
  return EXIT_ADMIT;
}

/* libvirtd blocks on the hook, so the hook bounds its own life: should
 * anything below hang past the D-Bus timeout (bus connection, name lookup),
 * this ends it with the configured answer. */
static void
on_alarm (int sig)
{
  static const char admit[] = "amigo: the hook ran out of time, admitting without a reservation\n";
  static const char refuse[] = "amigo: the hook ran out of time (on-unavailable=refuse)\n";

  if (hook_refuse_when_unavailable) {
    (void) !write (STDERR_FILENO, refuse, sizeof refuse - 1);
    _exit (EXIT_REFUSE);
  }
  (void) !write (STDERR_FILENO, admit, sizeof admit - 1);
  _exit (EXIT_ADMIT);
}

static void
drain_stdin (void)
{
  char chunk[65536];

  if (isatty (STDIN_FILENO))
    return;
  /* libvirt writes the XML for every operation; reading it spares libvirtd
   * a broken pipe. */
  while (read (STDIN_FILENO, chunk, sizeof chunk) > 0)
    ;
}

int
main (int argc, char **argv)
{
  HookConf conf;
  const char *name, *op, *subop;

  if (argc < 4) {
    g_printerr ("usage: %s DOMAIN OPERATION SUB-OPERATION [EXTRA]\n"
                "libvirt's qemu hook: install as /etc/libvirt/hooks/qemu.d/amigo\n", argv[0]);
    return EXIT_USAGE;
  }
  name = argv[1];
  op = argv[2];
  subop = argv[3];

  load_conf (&conf);
  hook_refuse_when_unavailable = conf.refuse_when_unavailable;
  signal (SIGALRM, on_alarm);
  signal (SIGPIPE, SIG_IGN);
  alarm ((unsigned) (conf.timeout_usec / AMIGO_USEC_PER_SEC) + 5);

  if (strcmp (op, "migrate") == 0 && strcmp (subop, "begin") == 0)
    return migrate_begin (&conf, name);
  if (strcmp (op, "migrate") == 0) {
    g_autofree char *reason = g_strdup_printf ("migrate %s", subop);
    return release (&conf, name, reason);
  }
  if ((strcmp (op, "stopped") == 0 || strcmp (op, "release") == 0) && strcmp (subop, "end") == 0) {
    g_autofree char *reason = g_strdup_printf ("%s end", op);
    return release (&conf, name, reason);
  }
  drain_stdin ();
  return EXIT_ADMIT;
}
