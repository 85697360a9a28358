/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "amigo-file.h"

/* The name of the one entry in @dir, "" if it is empty, NULL if it holds
 * more than one. */
static char *
only_entry (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *first = d != NULL ? g_dir_read_name (d) : NULL;

  if (first == NULL)
    return g_strdup ("");
  return g_dir_read_name (d) == NULL ? g_strdup (first) : NULL;
}

/* The file holds exactly @len bytes with the asked mode, replaces the old
 * one, and nothing else is left in the directory. */
static void
test_file_write_atomic (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-file-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "ledger.json", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *only = NULL;
  gsize len = 0;
  struct stat st;
  mode_t old_umask;

  old_umask = umask (0);
  assert_true (amigo_file_write_atomic (path, "old", 3, 0600, &error));
  assert_true (amigo_file_write_atomic (path, "new\0tail", 8, 0600, &error));
  umask (old_umask);
  assert_true (g_file_get_contents (path, &contents, &len, NULL));
  assert_int_equal (len, 8);
  assert_memory_equal (contents, "new\0tail", 8);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  only = only_entry (dir);
  assert_string_equal (only, "ledger.json");

  g_unlink (path);
  g_rmdir (dir);
}

/* A directory that does not exist: the error names the temporary file. */
static void
test_file_write_atomic_missing_dir (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-file-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "missing", "state", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *only = NULL;

  assert_false (amigo_file_write_atomic (path, "x", 1, 0644, &error));
  assert_true (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  assert_non_null (strstr (error->message, "/missing/.state."));
  only = only_entry (dir);
  assert_string_equal (only, "");
  g_rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_file_write_atomic),
    cmocka_unit_test (test_file_write_atomic_missing_dir),
  };
  return cmocka_run_group_tests_name ("file", tests, NULL, NULL);
}
