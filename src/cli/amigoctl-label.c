/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl label DOMAIN CLASS | --clear: an administrator's workload class
 * (SetWorkloadClass, root only). */
#include <stdio.h>

#include "amigo/amigo-classifier.h"
#include "amigo-error.h"
#include "amigoctl.h"

int
check_label (Cli *cli, int argc, char **argv)
{
  int status;

  if (cli->clear) {
    if (argc != 1)
      return fail (EXIT_BAD_ARGS, "label --clear: expected DOMAIN only, got %d arguments", argc);
  } else if (argc != 2) {
    return fail (EXIT_BAD_ARGS, "label: expected DOMAIN CLASS (or DOMAIN --clear), got %d argument%s", argc,
                 argc == 1 ? "" : "s");
  }
  if ((status = check_domain_arg ("label", argv[0])) != EXIT_OK)
    return status;
  if (!cli->clear && !amigo_workload_class_from_string (argv[1], NULL)) {
    g_autofree char *valid = amigo_workload_class_join_names (NULL);
    return fail (EXIT_BAD_ARGS, "unknown workload class '%s': expected one of %s (or --clear)", argv[1], valid);
  }
  return EXIT_OK;
}

int
cmd_label (Cli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *klass = cli->clear ? "" : argv[1];

  if (!amigo_daemon1_call_set_workload_class_sync (cli->proxy, argv[0], klass, NULL, &error)) {
    if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
      return fail (EXIT_FAILURE_OTHER, "permission denied: only root may label a domain");
    return fail_call (error);
  }
  if (cli->clear)
    printf ("Removed the label of '%s': the classifier chooses its class again.\n", argv[0]);
  else
    printf ("Labelled '%s' as %s.\n", argv[0], klass);
  return EXIT_OK;
}
