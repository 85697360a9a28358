/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the Prometheus textfile goes: the [export] prometheus_textfile value
 * and the atomic write node_exporter's textfile collector relies on. */
#include "amigo-export.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amigo-error.h"

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

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "%s '%s': %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_all (int fd, const char *contents, gsize len, const char *tmp_path, GError **error)
{
  while (len > 0) {
    gssize n = write (fd, contents, len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      return set_errno_error (error, errno, "Could not write", tmp_path);
    }
    contents += n;
    len -= n;
  }
  return TRUE;
}

/* The rename is durable only once the directory is on disk too; a failure
 * here leaves a complete file in place, so it is not an error. */
static void
sync_directory (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return;
  if (fsync (fd) != 0)
    g_debug ("fsync of directory '%s' failed: %s", dir, g_strerror (errno));
  close (fd);
}

gboolean
amigo_export_write_file (const char *path, const char *contents, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp_path = NULL;
  gboolean ok;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL, FALSE);

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  /* Hidden and not ending in ".prom": the textfile collector never picks up
   * the half-written file, nor one left behind by a crash. */
  tmp_path = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return set_errno_error (error, errno, "Could not create", tmp_path);

  /* amigod runs with UMask=0027, node_exporter as another user. */
  ok = fchmod (fd, 0644) == 0 || set_errno_error (error, errno, "Could not chmod", tmp_path);
  ok = ok && write_all (fd, contents, strlen (contents), tmp_path, error);
  ok = ok && (fsync (fd) == 0 || set_errno_error (error, errno, "Could not fsync", tmp_path));
  if (close (fd) != 0 && ok)
    ok = set_errno_error (error, errno, "Could not close", tmp_path);
  ok = ok && (rename (tmp_path, path) == 0 || set_errno_error (error, errno, "Could not rename to", path));
  if (!ok) {
    g_unlink (tmp_path);
    return FALSE;
  }
  sync_directory (dir);
  return TRUE;
}
