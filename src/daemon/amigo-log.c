/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-log.h"

#include <stdio.h>
#include <unistd.h>

static gboolean log_verbose;
static gboolean log_journal;

static GLogWriterOutput
amigo_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  g_autofree char *line = NULL;

  if ((level & G_LOG_LEVEL_DEBUG) && !log_verbose) {
    const char *domain = NULL;

    for (gsize i = 0; i < n_fields; i++) {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
    }
    /* honour G_MESSAGES_DEBUG like the default writer does */
    if (g_log_writer_default_would_drop (level, domain))
      return G_LOG_WRITER_HANDLED;
  }
  if (log_journal && g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  line = g_log_writer_format_fields (level, fields, n_fields, FALSE);
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

gboolean
amigo_log_setup (gboolean verbose)
{
  log_verbose = verbose;
  log_journal = g_getenv ("JOURNAL_STREAM") != NULL && g_log_writer_is_journald (STDERR_FILENO);
  g_log_set_writer_func (amigo_log_writer, NULL, NULL);
  return log_journal;
}

void
amigo_log_domain_full (const char *log_domain,
                       GLogLevelFlags level,
                       const char *uuid,
                       const char *name,
                       const char *file,
                       const char *line,
                       const char *func,
                       const char *format,
                       ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_log_structured (log_domain, level,
                    "CODE_FILE", file,
                    "CODE_LINE", line,
                    "CODE_FUNC", func,
                    "AMIGO_DOMAIN_UUID", uuid != NULL ? uuid : "",
                    "AMIGO_DOMAIN_NAME", name != NULL ? name : "",
                    "MESSAGE", "%s", message);
}
