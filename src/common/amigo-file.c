/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amigo-error.h"

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
amigo_file_write_atomic (const char *path,
                         const char *contents,
                         gsize len,
                         int mode,
                         GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp_path = NULL;
  gboolean ok;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL || len == 0, FALSE);

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  /* Hidden and with a random suffix: a reader that scans the directory for
   * a file pattern never picks up the half-written file, nor one left behind
   * by a crash, and two writers never share a temporary file. */
  tmp_path = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    return set_errno_error (error, errno, "Could not create", tmp_path);

  /* @mode whatever the umask (amigod runs with UMask=0027). */
  ok = fchmod (fd, mode) == 0 || set_errno_error (error, errno, "Could not chmod", tmp_path);
  ok = ok && write_all (fd, contents, len, tmp_path, error);
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

/* g_file_get_contents() into AMIGO_ERROR: NOT_FOUND for a file that is not
 * there, @other for any other failure, the message "<@format...>: <reason>". */
static gboolean G_GNUC_PRINTF (6, 7)
read_whole (const char *path,
            int other,
            char **ret_contents,
            gsize *ret_len,
            GError **error,
            const char *format,
            ...)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *what = NULL;
  va_list args;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (ret_contents != NULL, FALSE);

  if (g_file_get_contents (path, ret_contents, ret_len, &local_error))
    return TRUE;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, AMIGO_ERROR,
               g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? AMIGO_ERROR_NOT_FOUND : other,
               "%s: %s", what, local_error->message);
  return FALSE;
}

gboolean
amigo_file_read (const char *path,
                 const char *what,
                 char **ret_contents,
                 gsize *ret_len,
                 GError **error)
{
  return read_whole (path, AMIGO_ERROR_FAILED, ret_contents, ret_len, error, "cannot read %s '%s'", what, path);
}

gboolean
amigo_file_read_config (const char *path,
                        const char *what,
                        char **ret_contents,
                        gsize *ret_len,
                        GError **error)
{
  return read_whole (path, AMIGO_ERROR_BAD_CONFIG, ret_contents, ret_len, error, "%s: cannot read the %s", path,
                     what);
}

static guint64
tree_bytes (const char *path, guint depth)
{
  g_autoptr (GDir) dir = NULL;
  const char *entry;
  guint64 total = 0;

  /* a bound on what a link farm can cost */
  if (depth > 8)
    return 0;
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return 0;
  while ((entry = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, entry, NULL);
    struct stat st;

    if (lstat (child, &st) < 0)
      continue;
    if (S_ISDIR (st.st_mode))
      total += tree_bytes (child, depth + 1);
    else if (S_ISREG (st.st_mode))
      total += (guint64) st.st_size;
  }
  return total;
}

guint64
amigo_file_tree_bytes (const char *path)
{
  return tree_bytes (path, 0);
}
