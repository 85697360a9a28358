/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes @len bytes of @contents to @path atomically, so a reader sees the
 * old file or the new one, whole, even after a crash: a hidden temporary file
 * ".<name>.XXXXXX" in the same directory, given @mode whatever the umask,
 * fsync, rename over @path, fsync of the directory (a failure of that last
 * one is only logged at debug: the file is complete either way). On failure
 * @path is left as it was and the temporary file is removed; the error
 * (G_FILE_ERROR, from errno) names the file and the step that failed. */
gboolean amigo_file_write_atomic (const char *path,
                                  const char *contents,
                                  gsize len,
                                  int mode,
                                  GError **error);

G_END_DECLS
