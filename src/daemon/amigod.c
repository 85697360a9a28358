/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "amigod"
#include <locale.h>
#include <malloc.h>
#include <stdio.h>

#include "amigo-conf.h"
#include "amigo-config.h"
#include "amigo-daemon.h"
#include "amigo-log.h"

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *bus_address = NULL;
  gboolean session = FALSE;
  gboolean verbose = FALSE;
  gboolean version = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("- amigo daemon");
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (AmigoDaemon) daemon = NULL;
  AmigoDaemonOptions options = { 0 };
  const char *env_config = g_getenv ("AMIGOD_CONFIG");
  gboolean explicit_config;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " AMIGO_CONF_DEFAULT_PATH ")", "PATH" },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, "Use the session bus (tests)", NULL },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &bus_address, "Use the bus at ADDR (tests)", "ADDR" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  /* One malloc arena: amigod does its work on the main loop (the other
   * threads shuttle libvirt and D-Bus messages or wait in a job-taking
   * libvirt call), and every extra arena keeps megabytes of freed memory
   * resident. */
  mallopt (M_ARENA_MAX, 1);
  setlocale (LC_ALL, "");
  g_set_prgname ("amigod");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Tracks the resource usage of the libvirt domains of this host and "
                                "serves it on D-Bus as org.amigo.Daemon1. Always runs in the foreground.");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "amigod: %s (see --help)\n", error->message);
    return AMIGO_EXIT_USAGE;
  }
  if (version) {
    printf ("amigod %s\n", AMIGO_VERSION);
    return AMIGO_EXIT_OK;
  }
  if (argc > 1) {
    fprintf (stderr, "amigod: unexpected argument '%s' (see --help)\n", argv[1]);
    return AMIGO_EXIT_USAGE;
  }
  amigo_log_setup (verbose);

  /* The default file may be absent (defaults apply); a file that was asked
   * for must be there. */
  explicit_config = config_path != NULL || (env_config != NULL && *env_config != '\0');
  if (config_path == NULL)
    config_path = g_strdup (explicit_config ? env_config : AMIGO_CONF_DEFAULT_PATH);
  if (explicit_config || g_file_test (config_path, G_FILE_TEST_EXISTS)) {
    if (!amigo_conf_load_file (conf, config_path, warnings, &error)) {
      g_printerr ("amigod: %s\n", error->message);
      return AMIGO_EXIT_CONFIG;
    }
  }
  for (guint i = 0; i < warnings->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (warnings, i));
  amigo_conf_apply_env (conf);
  if (!amigo_conf_validate (conf, &error)) {
    g_printerr ("amigod: %s: %s\n", config_path, error->message);
    return AMIGO_EXIT_CONFIG;
  }

  options.session = session;
  options.bus_address = bus_address;
  g_message ("amigod %s starting: libvirt '%s', interval %" G_GINT64_FORMAT " ms, state '%s'",
             AMIGO_VERSION, conf->uri, conf->interval_usec / 1000, conf->state_dir);
  daemon = amigo_daemon_new (g_steal_pointer (&conf), &options, &error);
  if (daemon == NULL) {
    g_printerr ("amigod: %s\n", error->message);
    return AMIGO_EXIT_FAILURE;
  }
  return amigo_daemon_run (daemon);
}
