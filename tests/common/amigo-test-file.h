/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoTestFile:
 * @dir: a new temporary directory.
 * @path: @dir/name; the test writes it.
 *
 * The fixture of tests that write one configuration or state file.
 */
typedef struct {
  char *dir;
  char *path;
} AmigoTestFile;

/* Makes the directory from @dir_template ("amigo-conf-XXXXXX"); aborts the
 * test if it cannot. */
AmigoTestFile *amigo_test_file_new (const char *dir_template, const char *name);

/* Removes the file (if written) and the directory. */
void amigo_test_file_free (AmigoTestFile *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoTestFile, amigo_test_file_free)

G_END_DECLS
