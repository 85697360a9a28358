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

/* Fake trees (AMIGO_SYSFS_ROOT): writes @text into @root/@rel, making its
 * directories; aborts the test if it cannot. */
void amigo_test_tree_put (const char *root, const char *rel, const char *text);

/* The contents of @root/@rel; aborts the test if it cannot be read. */
char *amigo_test_tree_get (const char *root, const char *rel);

/* Removes @path and everything below it (symbolic links are not followed). */
void amigo_test_rm_rf (const char *path);

/* A new empty fake tree from @dir_template, set as AMIGO_SYSFS_ROOT. */
char *amigo_test_sysfs_root_new (const char *dir_template);

/* Removes the tree and unsets AMIGO_SYSFS_ROOT; NULL is fine. */
void amigo_test_sysfs_root_free (char *root);

G_END_DECLS
