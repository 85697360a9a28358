/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prints amigo's metadata element (with its namespace, for a domain XML)
 * carrying the history summary of a domain that used 0.5 cores for the last
 * MINUTES minutes on "another host": the input of test-amigod.sh's check
 * that the history follows a migrated domain.
 *
 * usage: test-amigod-import-helper UUID NAME MINUTES */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "amigo-error.h"
#include "amigo-history.h"
#include "amigo-metadata.h"
#include "amigo-time.h"

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (AmigoHistory) history = NULL;
  g_autoptr (AmigoMetadata) md = amigo_metadata_new ();
  g_autofree char *xml = NULL;
  AmigoHistoryOptions options;
  gint64 now = g_get_real_time ();
  int minutes;

  if (argc != 4 || (minutes = atoi (argv[3])) <= 0) {
    fprintf (stderr, "usage: %s UUID NAME MINUTES\n", argv[0]);
    return 2;
  }
  dir = g_dir_make_tmp ("amigo-import-XXXXXX", &error);
  if (dir == NULL)
    goto fail;
  amigo_history_options_init (&options);
  options.step_usec = AMIGO_USEC_PER_MIN;
  options.raw_retention_usec = 10 * AMIGO_USEC_PER_MIN;
  options.sync = FALSE;
  history = amigo_history_open (dir, &options, &error);
  if (history == NULL)
    goto fail;
  for (gint64 t = now - minutes * AMIGO_USEC_PER_MIN; t <= now; t += 10 * AMIGO_USEC_PER_SEC) {
    AmigoSample s;

    amigo_sample_init (&s, t);
    s.values[AMIGO_METRIC_CPU] = 0.5;
    s.values[AMIGO_METRIC_MEMORY] = 1.0;
    if (!amigo_history_append (history, argv[1], argv[2], &s, &error))
      goto fail;
  }
  if (!amigo_history_flush (history, &error))
    goto fail;
  md->history = amigo_history_export_summary (history, argv[1], 32 * 1024, &error);
  if (md->history == NULL)
    goto fail;
  xml = amigo_metadata_to_xml (md, TRUE, &error);
  if (xml == NULL)
    goto fail;
  printf ("%s\n", xml);
  g_clear_pointer (&history, amigo_history_free);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
      fprintf (stderr, "cannot remove '%s'\n", dir);
  }
  return 0;

fail:
  fprintf (stderr, "test-amigod-import-helper: %s\n", error->message);
  return 1;
}
