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
