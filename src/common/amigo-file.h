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

/* Reads the file at @path whole. A file that is not there fails with
 * AMIGO_ERROR_NOT_FOUND, any other read error with AMIGO_ERROR_FAILED; the
 * message is "cannot read <what> '<path>': <reason>". */
gboolean amigo_file_read (const char *path,
                          const char *what,
                          char **ret_contents,
                          gsize *ret_len,
                          GError **error);

/* Reads a configuration file whole. A file that is not there fails with
 * AMIGO_ERROR_NOT_FOUND (the caller may treat it as "use the defaults"),
 * any other read error with AMIGO_ERROR_BAD_CONFIG; the message is
 * "<path>: cannot read the <what>: <reason>". */
gboolean amigo_file_read_config (const char *path,
                                 const char *what,
                                 char **ret_contents,
                                 gsize *ret_len,
                                 GError **error);

/* The bytes of the regular files below @path (8 levels deep at most, links
 * not followed); what cannot be read counts 0. Walks the tree: not for a
 * hot path. */
guint64 amigo_file_tree_bytes (const char *path);

G_END_DECLS
