/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "amigo-error.h"
#include "amigo-gnuplot.h"

/* A title or path with a quote or a line break cannot end the string
 * early or start a new gnuplot command. */
static void
test_gnuplot_quoting (void **state)
{
  g_autoptr (GString) out = g_string_new (NULL);

  amigo_gnuplot_append_quoted (out, "it's\nsystem 'rm -rf /'");
  assert_string_equal (out->str, "'it''s system ''rm -rf /'''");
}

/* Without gnuplot: an error saying what to install, and no temporary
 * directory left behind. */
static void
test_gnuplot_missing (void **state)
{
  g_autofree char *path = g_strdup (g_getenv ("PATH"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error2 = NULL;
  AmigoGnuplot *plot;

  g_setenv ("PATH", "/nonexistent", TRUE);
  assert_false (amigo_gnuplot_check (&error));
  plot = amigo_gnuplot_new (&error2);
  if (path != NULL)
    g_setenv ("PATH", path, TRUE);
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "gnuplot is not installed"));
  assert_non_null (strstr (error->message, "apt-get install gnuplot-nox"));
  assert_null (plot);
  assert_true (g_error_matches (error2, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
}

/* gnuplot's own complaint reaches the caller. */
static void
test_gnuplot_script_error (void **state)
{
  g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
  g_autoptr (AmigoGnuplot) plot = NULL;
  g_autoptr (GError) error = NULL;

  if (gnuplot == NULL) {
    skip ();
    return;
  }
  plot = amigo_gnuplot_new (&error);
  assert_non_null (plot);
  g_string_append (amigo_gnuplot_get_script (plot), "plot frobnicate(x)\n");
  assert_false (amigo_gnuplot_run (plot, &error));
  assert_non_null (strstr (error->message, "gnuplot failed:"));
  assert_non_null (strstr (error->message, "frobnicate"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_gnuplot_quoting),
    cmocka_unit_test (test_gnuplot_missing),
    cmocka_unit_test (test_gnuplot_script_error),
  };
  return cmocka_run_group_tests_name ("gnuplot", tests, NULL, NULL);
}
