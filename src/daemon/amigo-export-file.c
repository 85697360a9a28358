/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the Prometheus textfile goes: the [export] prometheus_textfile value
 * and the atomic write node_exporter's textfile collector relies on. */
#include "amigo-export.h"

#include <string.h>
#include <sys/stat.h>

#include "amigo-error.h"
#include "amigo-file.h"

gboolean
amigo_export_parse_textfile_path (const char *value,
                                  char **ret_path,
                                  GError **error)
{
  g_autofree char *base = NULL;
  g_autofree char *dir = NULL;
  struct stat st;

  g_return_val_if_fail (ret_path != NULL, FALSE);

  if (value == NULL || value[0] == '\0') {
    *ret_path = NULL;
    return TRUE;
  }
  if (!g_path_is_absolute (value)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "expected an absolute path like '%s', got '%s'",
                 AMIGO_EXPORT_EXAMPLE_TEXTFILE, value);
    return FALSE;
  }
  base = g_path_get_basename (value);
  /* node_exporter's textfile collector reads only *.prom files. */
  if (!g_str_has_suffix (value, ".prom") || strlen (base) <= strlen (".prom")) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "expected a file name ending in '.prom' (node_exporter's textfile collector reads only those), got '%s'",
                 value);
    return FALSE;
  }
  dir = g_path_get_dirname (value);
  if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "expected the directory '%s' to exist (node_exporter's --collector.textfile.directory), got '%s'",
                 dir, value);
    return FALSE;
  }
  if (stat (value, &st) == 0 && S_ISDIR (st.st_mode)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG,
                 "expected a file, '%s' is a directory", value);
    return FALSE;
  }
  *ret_path = g_strdup (value);
  return TRUE;
}

gboolean
amigo_export_write_file (const char *path, const char *contents, GError **error)
{
  g_return_val_if_fail (contents != NULL, FALSE);

  /* amigod runs with UMask=0027, node_exporter as another user; the
   * temporary file is hidden and does not end in ".prom", so the textfile
   * collector never picks up a half-written one nor one left by a crash. */
  return amigo_file_write_atomic (path, contents, strlen (contents), 0644, error);
}
