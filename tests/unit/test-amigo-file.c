/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "amigo-error.h"
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

/* A missing file and an unreadable one are told apart, and the message
 * names what was read and where; the config reader says the same in its
 * own words and codes. */
static void
test_file_read (void **state)
{
  g_autofree char *dir = g_dir_make_tmp ("amigo-file-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "weights", NULL);
  g_autofree char *missing = g_build_filename (dir, "nothing", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GError) e3 = NULL;
  g_autoptr (GError) e4 = NULL;
  g_autofree char *expect = g_strdup_printf ("cannot read LSTM weights '%s': ", missing);
  char *none = NULL;
  gsize len = 0;

  assert_true (g_file_set_contents (path, "abc", 3, NULL));
  assert_true (amigo_file_read (path, "LSTM weights", &contents, &len, NULL));
  assert_int_equal (len, 3);
  assert_string_equal (contents, "abc");

  assert_false (amigo_file_read (missing, "LSTM weights", &none, NULL, &e1));
  assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_true (g_str_has_prefix (e1->message, expect));
  assert_false (amigo_file_read (dir, "cgroup file", &none, NULL, &e2));
  assert_true (g_error_matches (e2, AMIGO_ERROR, AMIGO_ERROR_FAILED));
  assert_non_null (strstr (e2->message, "cannot read cgroup file '"));

  assert_false (amigo_file_read_config (missing, "configuration", &none, NULL, &e3));
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_false (amigo_file_read_config (dir, "configuration", &none, NULL, &e4));
  assert_true (g_error_matches (e4, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  assert_true (g_str_has_prefix (e4->message, dir));
  assert_non_null (strstr (e4->message, ": cannot read the configuration: "));
  assert_null (none);

  g_unlink (path);
  g_rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_file_write_atomic),
    cmocka_unit_test (test_file_write_atomic_missing_dir),
    cmocka_unit_test (test_file_read),
  };
  return cmocka_run_group_tests_name ("file", tests, NULL, NULL);
}
