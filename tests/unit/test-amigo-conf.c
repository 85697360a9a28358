/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "amigo-conf.h"
#include "amigo-duration.h"
#include "amigo-error.h"
#include "amigo-test-file.h"
#include "amigo-time.h"

typedef AmigoTestFile Fixture;

static int
setup (void **state)
{
  *state = amigo_test_file_new ("amigo-conf-XXXXXX", "amigod.conf");
  return 0;
}

static int
teardown (void **state)
{
  amigo_test_file_free (*state);
  return 0;
}

static void
write_conf (Fixture *f, const char *text)
{
  assert_true (g_file_set_contents (f->path, text, -1, NULL));
}

/* Loads @text; returns the error message (or NULL on success). */
static char *
load_error (Fixture *f, const char *text, AmigoConf *conf, GPtrArray *warnings)
{
  g_autoptr (GError) error = NULL;

  write_conf (f, text);
  if (amigo_conf_load_file (conf, f->path, warnings, &error))
    return NULL;
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  return g_strdup (error->message);
}

static void
test_conf_durations (void **state)
{
  static const struct {
    const char *text;
    gint64 usec;
  } good[] = {
    { "10s", 10 * AMIGO_USEC_PER_SEC },
    { "5m", 5 * AMIGO_USEC_PER_MIN },
    { "5min", 5 * AMIGO_USEC_PER_MIN },
    { " 6h ", 6 * AMIGO_USEC_PER_HOUR },
    { "14d", 14 * AMIGO_USEC_PER_DAY },
    { "250ms", 250 * AMIGO_USEC_PER_MSEC },
  };
  static const char *bad[] = { "ten", "10", "10x", "-5s", "0s", "s", "", "1.5h", "10 s",
                               "99999999999999999999s", "40000d" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    gint64 usec = 0;
    g_autoptr (GError) error = NULL;

    assert_true (amigo_duration_parse (good[i].text, &usec, &error));
    assert_int_equal (usec, good[i].usec);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    gint64 usec = -1;
    g_autoptr (GError) error = NULL;

    assert_false (amigo_duration_parse (bad[i], &usec, &error));
    assert_int_equal (usec, -1);
    /* the message quotes what it got so the user finds it */
    assert_non_null (strstr (error->message, "'"));
  }
}

static void
test_conf_format_duration_roundtrip (void **state)
{
  gint64 values[] = { 10 * AMIGO_USEC_PER_SEC, 90 * AMIGO_USEC_PER_SEC, 6 * AMIGO_USEC_PER_HOUR,
                      14 * AMIGO_USEC_PER_DAY, 1500 * AMIGO_USEC_PER_MSEC };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++) {
    g_autofree char *text = amigo_duration_format (values[i]);
    gint64 back = 0;

    assert_true (amigo_duration_parse (text, &back, NULL));
    assert_int_equal (back, values[i]);
  }
}

static void
test_conf_defaults (void **state)
{
  g_autoptr (AmigoConf) conf = amigo_conf_new ();

  assert_string_equal (conf->uri, "qemu:///system");
  assert_int_equal (conf->interval_usec, 10 * AMIGO_USEC_PER_SEC);
  assert_int_equal (conf->metadata_interval_usec, 5 * AMIGO_USEC_PER_MIN);
  assert_int_equal (conf->history.raw_retention_usec, 6 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (conf->history.step_usec, 5 * AMIGO_USEC_PER_MIN);
  assert_int_equal (conf->history.retention_usec, 14 * AMIGO_USEC_PER_DAY);
  assert_true (amigo_conf_validate (conf, NULL));
}

static void
test_conf_full_file (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *msg = NULL;

  msg = load_error (f,
                    "# comment\n"
                    "[daemon]\n"
                    "uri = test:///default\n"
                    "interval = 30s\n"
                    "  state_dir=/tmp/amigo-state  \n"
                    "metadata_interval = 10m\n"
                    "\n"
                    "[history]\n"
                    "raw_retention = 2h\n"
                    "step = 1m\n"
                    "retention = 7d\n",
                    conf, warnings);
  assert_null (msg);
  assert_int_equal (warnings->len, 0);
  assert_string_equal (conf->uri, "test:///default");
  assert_string_equal (conf->state_dir, "/tmp/amigo-state");
  assert_string_equal (conf->path, f->path);
  assert_int_equal (conf->interval_usec, 30 * AMIGO_USEC_PER_SEC);
  assert_int_equal (conf->metadata_interval_usec, 10 * AMIGO_USEC_PER_MIN);
  assert_int_equal (conf->history.raw_retention_usec, 2 * AMIGO_USEC_PER_HOUR);
  assert_int_equal (conf->history.step_usec, AMIGO_USEC_PER_MIN);
  assert_int_equal (conf->history.retention_usec, 7 * AMIGO_USEC_PER_DAY);
}

/* A partial file keeps the defaults for what it does not set. */
static void
test_conf_partial_file (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autofree char *msg = load_error (f, "[daemon]\ninterval=20s\n", conf, NULL);

  assert_null (msg);
  assert_int_equal (conf->interval_usec, 20 * AMIGO_USEC_PER_SEC);
  assert_string_equal (conf->uri, "qemu:///system");
  assert_int_equal (conf->history.step_usec, 5 * AMIGO_USEC_PER_MIN);
}

static void
test_conf_bad_value_names_file_line_key (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autofree char *expected = NULL;
  g_autofree char *msg = load_error (f, "[daemon]\nuri = test:///default\n\ninterval = ten\n", conf, NULL);

  assert_non_null (msg);
  expected = g_strdup_printf ("%s:4: [daemon] interval: expected a duration like '10s', got 'ten'", f->path);
  assert_string_equal (msg, expected);
  /* a failed load leaves the previous values alone */
  assert_string_equal (conf->uri, "qemu:///system");
  assert_int_equal (conf->interval_usec, 10 * AMIGO_USEC_PER_SEC);
}

static void
test_conf_malformed_lines (void **state)
{
  Fixture *f = *state;
  static const struct {
    const char *text;
    guint line;
    const char *what;
  } cases[] = {
    { "[daemon]\ninterval 10s\n", 2, "expected 'key = value'" },
    { "# c\n[daemon\nuri=x\n", 2, "expected a group name" },
    { "uri = qemu:///system\n", 1, "before any group" },
    { "[daemon]\n= 5\n", 2, "expected a key name" },
    { "[history]\n\n\nstep = 5\n", 4, "with a unit" },
    { "[daemon] x\n", 1, "after the group name" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    g_autofree char *msg = load_error (f, cases[i].text, conf, NULL);
    g_autofree char *prefix = g_strdup_printf ("%s:%u: ", f->path, cases[i].line);

    assert_non_null (msg);
    assert_true (g_str_has_prefix (msg, prefix));
    assert_non_null (strstr (msg, cases[i].what));
  }
}

static void
test_conf_inconsistent_values (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autofree char *m1 = load_error (f, "[history]\nstep = 2h\nraw_retention = 1h\n", conf, NULL);
  g_autofree char *m2 = load_error (f, "[daemon]\ninterval = 2h\n", conf, NULL);
  g_autofree char *m3 = load_error (f, "[daemon]\nstate_dir = relative/dir\n", conf, NULL);
  g_autofree char *m4 = load_error (f, "[daemon]\ndirty_rate_period = 1500ms\n", conf, NULL);
  g_autofree char *m5 = load_error (f, "[daemon]\ndirty_rate_period = 2m\n", conf, NULL);
  g_autofree char *m6 = load_error (f, "[history]\nretention = 36500d\n", conf, NULL);

  assert_non_null (m1);
  assert_non_null (strstr (m1, "[history] raw_retention"));
  assert_non_null (m2);
  assert_non_null (strstr (m2, "[daemon] interval"));
  assert_non_null (m3);
  assert_non_null (strstr (m3, "'relative/dir'"));
  /* libvirt measures dirty rates in whole seconds, up to a minute */
  assert_non_null (m4);
  assert_non_null (strstr (m4, "[daemon] dirty_rate_period: expected whole seconds"));
  assert_non_null (strstr (m4, "'1500ms'"));
  assert_non_null (m5);
  assert_non_null (strstr (m5, "'2m'"));
  /* a bound on what the configuration can make amigod keep */
  assert_non_null (m6);
  assert_non_null (strstr (m6, "[history] retention: expected at most '366d'"));
}

static void
test_conf_unknown_keys_warn (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *msg = load_error (f, "[daemon]\ninterval = 15s\nintervall = 5s\n[gpu]\nx = 1\n",
                                     conf, warnings);
  g_autoptr (GString) all = g_string_new (NULL);

  assert_null (msg);
  assert_int_equal (conf->interval_usec, 15 * AMIGO_USEC_PER_SEC);
  assert_int_equal (warnings->len, 2);
  for (guint i = 0; i < warnings->len; i++)
    g_string_append_printf (all, "%s|", (char *) g_ptr_array_index (warnings, i));
  assert_non_null (strstr (all->str, ":3: unknown key 'intervall' in [daemon], ignoring"));
  assert_non_null (strstr (all->str, "unknown group '[gpu]'"));
}

static void
test_conf_missing_and_binary_file (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GError) error = NULL;

  assert_false (amigo_conf_load_file (conf, "/nonexistent/amigod.conf", NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, "/nonexistent/amigod.conf"));

  assert_true (g_file_set_contents (f->path, "[daemon]\n\0\xff", 11, NULL));
  g_clear_error (&error);
  assert_false (amigo_conf_load_file (conf, f->path, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
}

/* A comment after the URI is part of the value in a key file: it used to be
 * accepted and the connection then retried forever. It is refused at start
 * with the file and line, as is anything that is not a libvirt URI. */
static void
test_conf_bad_uri (void **state)
{
  Fixture *f = *state;
  static const struct {
    const char *uri;
    const char *what;
  } bad[] = {
    { "qemu:///system  # local", "unexpected '# local' after 'qemu:///system'; a comment goes on a line of its own" },
    { "qemu:///system#local", "unexpected '#local' after 'qemu:///system'" },
    { "qemu+ssh://host/system extra", "unexpected 'extra' after 'qemu+ssh://host/system'" },
    { "qemu", "expected a libvirt URI 'driver[+transport]://[host]/path' like 'qemu:///system'" },
    { "/var/run/libvirt/libvirt-sock", "got '/var/run/libvirt/libvirt-sock'" },
    { "qemu:/system", "got 'qemu:/system'" },
    { "://host/system", "got '://host/system'" },
    { "qemu+://host/system", "got 'qemu+://host/system'" },
    { "qemu+ssh+tcp://host/system", "got 'qemu+ssh+tcp://host/system'" },
    { "1qemu:///system", "got '1qemu:///system'" },
    { "qem\xc3\xbc:///system", "expected a libvirt URI" },
    { "qemu:///syst\xc3\xa9m", "expected a libvirt URI" },
  };
  static const char *good[] = {
    "qemu:///system", "qemu:///session", "test:///default", "qemu+ssh://root@host.example/system",
    "qemu+tcp://10.77.0.2/system", "qemu+unix:///system?socket=/run/libvirt/virtqemud-sock",
    "qemu+tls://[fe80::1]:16514/system", "ch:///system", "esx://host/?no_verify=1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    g_autofree char *text = g_strdup_printf ("[daemon]\n# where libvirt is\nuri = %s\n", bad[i].uri);
    g_autofree char *msg = load_error (f, text, conf, NULL);
    g_autofree char *prefix = g_strdup_printf ("%s:3: [daemon] uri: ", f->path);

    assert_non_null (msg);
    assert_true (g_str_has_prefix (msg, prefix));
    assert_non_null (strstr (msg, bad[i].what));
    assert_string_equal (conf->uri, "qemu:///system");
  }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    g_autofree char *text = g_strdup_printf ("[daemon]\nuri = %s\n", good[i]);
    g_autofree char *msg = load_error (f, text, conf, NULL);

    assert_null (msg);
    assert_string_equal (conf->uri, good[i]);
  }
}

/* AMIGOD_URI has no line to name, but is checked the same way. */
static void
test_conf_bad_env_uri (void **state)
{
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GError) error = NULL;

  g_setenv ("AMIGOD_URI", "qemu:///system # local", TRUE);
  amigo_conf_apply_env (conf);
  g_unsetenv ("AMIGOD_URI");
  assert_false (amigo_conf_validate (conf, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  assert_non_null (strstr (error->message, "[daemon] uri: unexpected '# local'"));
}

/* The README's example is what users paste: it must load as it is, with no
 * warning, and so must the installed example data/amigod.conf. */
static void
test_conf_shipped_examples (void **state)
{
  Fixture *f = *state;
  g_autofree char *readme_path = g_build_filename (AMIGO_TEST_SRCDIR, "..", "..", "README.md", NULL);
  g_autofree char *example_path = g_build_filename (AMIGO_TEST_SRCDIR, "..", "..", "data", "amigod.conf", NULL);
  g_autofree char *readme = NULL;
  g_autofree char *example = NULL;
  g_autofree char *msg = NULL;
  g_autofree char *block = NULL;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  const char *start;
  const char *end;

  assert_true (g_file_get_contents (readme_path, &readme, NULL, NULL));
  start = strstr (readme, "```ini\n");
  assert_non_null (start);
  start += strlen ("```ini\n");
  end = strstr (start, "```");
  assert_non_null (end);
  block = g_strndup (start, end - start);
  msg = load_error (f, block, conf, warnings);
  if (msg != NULL)
    print_error ("README.md example: %s\n", msg);
  assert_null (msg);
  assert_int_equal (warnings->len, 0);
  assert_string_equal (conf->uri, "qemu:///system");
  assert_int_equal (conf->history.retention_usec, 14 * AMIGO_USEC_PER_DAY);

  assert_true (g_file_get_contents (example_path, &example, NULL, NULL));
  g_clear_pointer (&msg, g_free);
  msg = load_error (f, example, conf, warnings);
  assert_null (msg);
  assert_int_equal (warnings->len, 0);
}

static void
test_conf_env_overrides (void **state)
{
  g_autoptr (AmigoConf) conf = amigo_conf_new ();

  g_setenv ("AMIGOD_URI", "test:///default", TRUE);
  g_setenv ("AMIGOD_STATE_DIR", "/tmp/x", TRUE);
  amigo_conf_apply_env (conf);
  g_unsetenv ("AMIGOD_URI");
  g_unsetenv ("AMIGOD_STATE_DIR");
  assert_string_equal (conf->uri, "test:///default");
  assert_string_equal (conf->state_dir, "/tmp/x");
}

/* The forecast and export keys: read with their units, and bad values
 * named with file, line and key. */
static void
test_conf_forecast_export (void **state)
{
  Fixture *f = *state;
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autofree char *prom = g_build_filename (dir, "amigo.prom", NULL);
  g_autofree char *good = g_strdup_printf ("[forecast]\nwindow = 1h\nsettle = 5m\nlink = 10G\nmax_age = 20m\n"
                                           "[export]\nprometheus_textfile = %s\n", prom);
  static const struct {
    const char *text;
    const char *says;
  } bad[] = {
    { "[forecast]\nlink = fast\n", ":2: [forecast] link: " },
    { "[forecast]\nlink = 10\n", ":2: [forecast] link: " },
    { "[forecast]\nlink = 5T\n", "[forecast] link: expected between '1M' and '1T'" },
    { "[forecast]\nwindow = 30d\n", "[forecast] window and settle: expected at most '7d' and '1d'" },
    { "[forecast]\nmax_age = 1m\n", "[forecast] max_age: expected at least twice the metadata_interval" },
    { "[export]\nprometheus_textfile = amigo.prom\n", ":2: [export] prometheus_textfile: " },
    { "[export]\nprometheus_textfile = /nonexistent-dir/amigo.prom\n", ":2: [export] prometheus_textfile: " },
    { "[export]\nprometheus_textfile = /tmp/amigo.txt\n", ":2: [export] prometheus_textfile: " },
  };

  {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    g_autofree char *msg = load_error (f, good, conf, NULL);

    assert_null (msg);
    assert_int_equal (conf->forecast.window_usec, AMIGO_USEC_PER_HOUR);
    assert_int_equal (conf->forecast.settle_usec, 5 * AMIGO_USEC_PER_MIN);
    assert_true (conf->forecast.link_mbit_s == 10000.0);
    assert_int_equal (conf->forecast.max_age_usec, 20 * AMIGO_USEC_PER_MIN);
    assert_string_equal (conf->export_textfile, prom);
  }
  {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    /* defaults: the model's window, no export */
    assert_int_equal (conf->forecast.window_usec, 0);
    assert_null (conf->export_textfile);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (AmigoConf) conf = amigo_conf_new ();
    g_autofree char *msg = load_error (f, bad[i].text, conf, NULL);

    assert_non_null (msg);
    if (strstr (msg, bad[i].says) == NULL)
      fail_msg ("'%s': '%s' does not say '%s'", bad[i].text, msg, bad[i].says);
    /* a refused file changes nothing */
    assert_true (conf->forecast.link_mbit_s == 1000.0);
    assert_null (conf->export_textfile);
  }
}

static void
test_conf_allocation (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoConf) conf = amigo_conf_new ();
  static const struct {
    const char *text;
    const char *what;
  } bad[] = {
    { "[allocation]\nenabled = maybe\n", ":2: [allocation] enabled: expected true or false, got 'maybe'" },
    { "[allocation]\nreserve_memory = -1\n", ":2: [allocation] reserve_memory: expected a number >= 0" },
    { "[allocation]\nreserve_cpu = 2 cores\n", "got '2 cores'" },
    { "[allocation]\nreserve_cpu = nan\n", "got 'nan'" },
    { "[allocation]\ndisk = \n", "[allocation] disk: expected a number >= 0" },
    { "[allocation]\novercommit_cpu = 0\n", "[allocation] overcommit_cpu: expected a ratio between 0.1 and 100" },
    { "[allocation]\nlease = 1s\n", "[allocation] lease: expected between '10s' and '1d', got '1s'" },
    { "[allocation]\ndisk = 100\nreserve_disk = 200\n", "[allocation] reserve_disk: expected at most the capacity" },
  };

  /* defaults: admission on, 10 minutes, nothing reserved, no overcommit,
   * network and disk capacity unknown */
  assert_true (conf->allocation.enabled);
  assert_int_equal (conf->allocation.lease_usec, 10 * AMIGO_USEC_PER_MIN);
  assert_true (conf->allocation.overcommit[AMIGO_RESOURCE_CPU] == 1.0);
  assert_true (isnan (conf->allocation.capacity[AMIGO_RESOURCE_NETWORK]));
  assert_true (isnan (conf->allocation.capacity[AMIGO_RESOURCE_DISK]));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *msg = load_error (f, bad[i].text, conf, NULL);
    assert_non_null (msg);
    if (strstr (msg, bad[i].what) == NULL)
      fail_msg ("'%s': expected '%s' in '%s'", bad[i].text, bad[i].what, msg);
  }
  /* a failed load changed nothing */
  assert_true (conf->allocation.enabled);

  assert_null (load_error (f,
                           "[allocation]\nenabled = false\nlease = 2m\nreserve_cpu = 0.5\n"
                           "reserve_memory = 1.5\novercommit_cpu = 4\nnetwork = 10G\ndisk = 20000\n",
                           conf, NULL));
  assert_false (conf->allocation.enabled);
  assert_int_equal (conf->allocation.lease_usec, 2 * AMIGO_USEC_PER_MIN);
  assert_true (conf->allocation.reserve[AMIGO_RESOURCE_CPU] == 0.5);
  assert_true (conf->allocation.reserve[AMIGO_RESOURCE_MEMORY] == 1.5);
  assert_true (conf->allocation.overcommit[AMIGO_RESOURCE_CPU] == 4.0);
  assert_true (conf->allocation.overcommit[AMIGO_RESOURCE_MEMORY] == 1.0);
  assert_true (conf->allocation.capacity[AMIGO_RESOURCE_NETWORK] == 10000.0);
  assert_true (conf->allocation.capacity[AMIGO_RESOURCE_DISK] == 20000.0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_conf_durations),
    cmocka_unit_test (test_conf_format_duration_roundtrip),
    cmocka_unit_test (test_conf_defaults),
    cmocka_unit_test_setup_teardown (test_conf_full_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_partial_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_bad_value_names_file_line_key, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_malformed_lines, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_inconsistent_values, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_unknown_keys_warn, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_missing_and_binary_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_bad_uri, setup, teardown),
    cmocka_unit_test (test_conf_bad_env_uri),
    cmocka_unit_test_setup_teardown (test_conf_shipped_examples, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_forecast_export, setup, teardown),
    cmocka_unit_test (test_conf_env_overrides),
    cmocka_unit_test_setup_teardown (test_conf_allocation, setup, teardown),
  };
  return cmocka_run_group_tests_name ("conf", tests, NULL, NULL);
}
