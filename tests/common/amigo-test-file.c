/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-test-file.h"

#include <glib/gstdio.h>

AmigoTestFile *
amigo_test_file_new (const char *dir_template, const char *name)
{
  g_autoptr (GError) error = NULL;
  AmigoTestFile *self = g_new0 (AmigoTestFile, 1);

  self->dir = g_dir_make_tmp (dir_template, &error);
  g_assert_no_error (error);
  self->path = g_build_filename (self->dir, name, NULL);
  return self;
}

void
amigo_test_file_free (AmigoTestFile *self)
{
  if (self == NULL)
    return;
  g_unlink (self->path);
  g_rmdir (self->dir);
  g_free (self->path);
  g_free (self->dir);
  g_free (self);
}

void
amigo_test_tree_put (const char *root, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

char *
amigo_test_tree_get (const char *root, const char *rel)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

void
amigo_test_rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      amigo_test_rm_rf (child);
    }
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

char *
amigo_test_sysfs_root_new (const char *dir_template)
{
  g_autoptr (GError) error = NULL;
  char *root = g_dir_make_tmp (dir_template, &error);

  g_assert_no_error (error);
  g_setenv ("AMIGO_SYSFS_ROOT", root, TRUE);
  return root;
}

void
amigo_test_sysfs_root_free (char *root)
{
  if (root == NULL)
    return;
  amigo_test_rm_rf (root);
  g_unsetenv ("AMIGO_SYSFS_ROOT");
  g_free (root);
}
