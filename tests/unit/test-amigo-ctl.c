/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl forecast, label, controllers and migrate end to end: the real amigoctl against
 * amigod-fake (canned replies) on a private bus; no root, no libvirt.
 * Also the argument errors, which never reach the bus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "amigo-config.h"

typedef struct {
  GTestDBus *bus;
  const char *address;
  GSubprocess *fake;
  char *tmpdir;
} Fixture;

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* Runs amigoctl with @args (NULL-terminated) on the test bus; @path, if
 * not NULL, replaces $PATH. */
static void
run_ctl_env (Fixture *f, const char *path, Run *run, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("AMIGOCTL"));
  g_ptr_array_add (argv, (gpointer) "--bus-address");
  g_ptr_array_add (argv, (gpointer) f->address);
  va_start (ap, run);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_setenv (launcher, "TZ", "UTC", TRUE);
  if (path != NULL)
    g_subprocess_launcher_setenv (launcher, "PATH", path, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  assert_non_null (proc);
  assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &run->out, &run->err, &error));
  run->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

#define run_ctl(f, run, ...) run_ctl_env (f, NULL, run, __VA_ARGS__, NULL)

/* Runs amigoctl migrate DOMAIN DEST-URI on the test bus and sends it
 * @n_interrupts SIGINTs, the first after @delay_msec, the next 300 ms
 * later, as a user pressing Ctrl-C. */
static void
run_migrate_interrupted (Fixture *f, Run *run, const char *domain, const char *dest_uri, guint delay_msec,
                         guint n_interrupts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("AMIGOCTL"), "--bus-address", f->address,
                                      "migrate", domain, dest_uri, NULL);
  assert_non_null (proc);
  for (guint i = 0; i < n_interrupts; i++) {
    g_usleep ((i == 0 ? delay_msec : 300) * 1000);
    g_subprocess_send_signal (proc, SIGINT);
  }
  assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &run->out, &run->err, &error));
  run->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

static void
expect (const Run *run, int status, const char *out_has, const char *err_has)
{
  if (run->status != status || (out_has != NULL && strstr (run->out, out_has) == NULL) ||
      (err_has != NULL && strstr (run->err, err_has) == NULL))
    fail_msg ("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwanted stdout '%s', stderr '%s'", run->status, status,
              run->out, run->err, out_has != NULL ? out_has : "", err_has != NULL ? err_has : "");
}

/* One amigoctl run and what it must print: @out_has on stdout, @err_has
 * on stderr (NULL = anything). */
typedef struct {
  const char *args[6];
  int status;
  const char *out_has;
  const char *err_has;
} Step;

static void
run_steps (Fixture *f, const Step *steps, gsize n_steps)
{
  for (gsize i = 0; i < n_steps; i++) {
    g_auto (Run) run = { 0 };
    const char *const *a = steps[i].args;
    run_ctl (f, &run, a[0], a[1], a[2], a[3], a[4], a[5]);
    expect (&run, steps[i].status, steps[i].out_has, steps[i].err_has);
  }
}

static gboolean
name_has_owner (GDBusConnection *conn)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus", "NameHasOwner",
                                                            g_variant_new ("(s)", AMIGO_DBUS_NAME),
                                                            G_VARIANT_TYPE ("(b)"), 0, -1, NULL, NULL);
  gboolean owned = FALSE;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

static int
setup (void **state)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) conn = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->address = g_test_dbus_get_bus_address (f->bus);
  f->tmpdir = g_dir_make_tmp ("test-amigo-ctl-XXXXXX", &error);
  assert_non_null (f->tmpdir);
  *state = f;
  conn = g_dbus_connection_new_for_address_sync (f->address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, &error);
  assert_non_null (conn);

  /* before the daemon is up: "not running", exit 3 */
  {
    g_auto (Run) run = { 0 };
    run_ctl (f, &run, "forecast", "web");
    expect (&run, 3, NULL, "amigod is not running");
  }

  f->fake = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, g_getenv ("AMIGOD_FAKE"), "--bus-address",
                              f->address, NULL);
  assert_non_null (f->fake);
  for (guint i = 0; i < 100 && !name_has_owner (conn); i++)
    g_usleep (50 * 1000);
  assert_true (name_has_owner (conn));
  g_dbus_connection_close_sync (conn, NULL, NULL);
  return 0;
}

static int
teardown (void **state)
{
  Fixture *f = *state;

  if (f->fake != NULL) {
    g_subprocess_force_exit (f->fake);
    g_subprocess_wait (f->fake, NULL, NULL);
    g_object_unref (f->fake);
  }
  g_test_dbus_down (f->bus);
  g_object_unref (f->bus);
  if (f->tmpdir != NULL) {
    g_autofree char *png = g_build_filename (f->tmpdir, "web.png", NULL);
    g_remove (png);
    g_rmdir (f->tmpdir);
    g_free (f->tmpdir);
  }
  g_free (f);
  return 0;
}

/* The table: one row per resource, the class and its source, the window
 * and the migration estimate. */
static void
test_ctl_forecast_table (void **state)
{
  Fixture *f = *state;
  g_auto (Run) run = { 0 };

  run_ctl (f, &run, "forecast", "web");
  expect (&run, 0, "Class:       web_server (from the classifier)", NULL);
  expect (&run, 0, "RESOURCE  UNIT", NULL);
  expect (&run, 0, "conformal_day_peak     96.1%", NULL);
  expect (&run, 0, "Migration:   estimate 42s, downtime 180ms, 4.7 GiB sent in 4 rounds\n", NULL);
  /* the defaults of the daemon: no option was sent */
  expect (&run, 0, "(migration window 42s + settle 10m, link 1 Gbit/s)", NULL);
}

/* The options reach the daemon as the a{sv} it documents. */
static void
test_ctl_forecast_options (void **state)
{

  static const Step steps[] = {
    { { "forecast", "web", "--window", "1h", "--settle", "5m" }, 0, "(migration window 1h + settle 5m,", NULL },
    { { "forecast", "web", "--link", "10G" }, 0, "link 10 Gbit/s)", NULL },
    { { "forecast", "web", "--link", "2.5Gbit/s" }, 0, "link 2.5 Gbit/s)", NULL },
    /* 0: the overhead model's estimate, which amigod-fake puts at 42 s */
    { { "forecast", "web", "--window", "0", "--settle", "0" }, 0, "(migration window 42s + settle 0ms,", NULL },
  };

  run_steps (*state, steps, G_N_ELEMENTS (steps));
}

static void
test_ctl_forecast_json (void **state)
{
  Fixture *f = *state;
  g_auto (Run) run = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj, *cpu;

  run_ctl (f, &run, "--json", "forecast", "web", "--window", "30m");
  expect (&run, 0, NULL, NULL);
  assert_true (json_parser_load_from_data (parser, run.out, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  assert_int_equal (json_object_get_int_member (obj, "window_usec"), G_GINT64_CONSTANT (1800000000));
  assert_string_equal (json_object_get_string_member (obj, "class_source"), "classifier");
  cpu = json_object_get_object_member (json_object_get_object_member (obj, "resources"), "cpu");
  assert_float_equal (json_object_get_double_member (cpu, "reserve"), 1.2, 1e-9);
  assert_int_equal (json_object_get_int_member (json_object_get_object_member (obj, "json"), "request_version"), 1);
}

static void
test_ctl_forecast_errors (void **state)
{
  static const Step steps[] = {
    { { "forecast", "nosuchvm" }, 4, NULL, "amigoctl: no domain 'nosuchvm'" },
    { { "forecast", "fresh" }, 1, NULL, "ask again in 10s" },
  };

  run_steps (*state, steps, G_N_ELEMENTS (steps));
}

/* A label shows as the class with its source, and --clear gives the
 * class back to the classifier. */
static void
test_ctl_label (void **state)
{
  static const Step steps[] = {
    { { "label", "web", "database" }, 0, "Labelled 'web' as database.", NULL },
    { { "forecast", "web" }, 0, "Class:       database (from an administrator's label)", NULL },
    { { "label", "web", "--clear" }, 0, "Removed the label of 'web'", NULL },
    { { "forecast", "web" }, 0, "Class:       web_server (from the classifier)", NULL },
    { { "label", "nosuchvm", "batch" }, 4, NULL, "no domain 'nosuchvm'" },
  };

  run_steps (*state, steps, G_N_ELEMENTS (steps));
}

static void
test_ctl_forecast_plot (void **state)
{
  Fixture *f = *state;
  g_autofree char *png = g_build_filename (f->tmpdir, "web.png", NULL);
  g_autofree char *gnuplot = g_find_program_in_path ("gnuplot");
  g_autofree char *data = NULL;
  gsize len = 0;

  {
    /* without gnuplot: a clear error before the daemon is asked */
    g_auto (Run) run = { 0 };
    run_ctl_env (f, "/nonexistent", &run, "forecast", "web", "--plot", png, NULL);
    expect (&run, 1, NULL, "--plot: gnuplot is not installed");
    assert_string_equal (run.out, "");
    assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
  }
  if (gnuplot == NULL) {
    skip ();
    return;
  }
  {
    g_auto (Run) run = { 0 };
    run_ctl (f, &run, "forecast", "web", "--plot", png);
    expect (&run, 0, "Plot written to", NULL);
  }
  assert_true (g_file_get_contents (png, &data, &len, NULL));
  assert_true (len > 1000);
  assert_memory_equal (data, "\x89PNG", 4);
}

/* Bad arguments: exit 2 and a message naming the argument, before the bus
 * is touched. */
/* The latest step per resource, the whole history as JSON, and a domain
 * without loops. */
static void
test_ctl_controllers (void **state)
{
  static const Step steps[] = {
    { { "controllers", "web" }, 0, "RESOURCE     PHASE   TIME", NULL },
    { { "controllers", "web" }, 0, "cpu (cores)  settle", NULL },
    { { "controllers", "web" }, 0, "1.25      0.96    1.00      0.00      3\n", NULL },
    { { "--json", "controllers", "web" }, 0, "\"measurement\" : [\n      0.02,", NULL },
    { { "controllers", "fresh" }, 4, NULL, "no allocation loops for domain 'fresh'" },
    { { "controllers", "nope" }, 4, NULL, "no domain 'nope'" },
  };

  run_steps (*state, steps, G_N_ELEMENTS (steps));
}

/* The plan, progress lines (stdout is a pipe here: plain lines, not the
 * bar), the end with measured vs predicted; the exit status says how it
 * ended. amigod-fake scripts the story by the destination's host name. */
static void
test_ctl_migrate (void **state)
{
  static const Step steps[] = {
    { { "migrate", "web", "qemu+tcp://b.example/system" }, 0,
      "Mode:       precopy: the dirty rate (3.5 MiB/s) is far below the link\n", NULL },
    { { "migrate", "web", "qemu+tcp://b.example/system" }, 0,
      "Predicted:  total 12.5s, downtime 180ms, 1.5 GiB sent\nprogress     -%  refreshing\n"
      "progress  20.0%  precopy  sent 38.4 MiB, 153.6 MiB left  dirty 3.5 MiB/s  downtime ~120ms", NULL },
    { { "migrate", "web", "qemu+tcp://b.example/system" }, 0,
      "Migration of 'web' completed in 15.0s.\n"
      "            MEASURED  PREDICTED  DIFF\n"
      "total time     15.0s      12.5s  +20%\n", NULL },
    /* the options reach amigod (the fake echoes them in the plan) */
    { { "migrate", "web", "qemu+tcp://b.example/system", "--bandwidth", "50" }, 0, "Bandwidth:  50.0 MiB/s\n", NULL },
    { { "migrate", "web", "qemu+tcp://b.example/system", "--downtime", "90" }, 0, "Downtime:   at most 90ms\n", NULL },
    { { "migrate", "web", "qemu+tcp://b.example/system", "--mode", "postcopy" }, 0, "Mode:       postcopy", NULL },
    /* everything, the end included, sent before Migrate's reply: only a
     * client subscribed before the call sees it */
    { { "migrate", "web", "qemu+tcp://fast.example/system" }, 0, "Migration of 'web' completed in 15.0s.", NULL },
    { { "migrate", "web", "qemu+tcp://refuse.example/system" }, 5, "Predicted:",
      "amigoctl: migration of 'web' refused by the destination: memory: need 0.19 GiB, 0.10 GiB free after "
      "reservations\n" },
    { { "migrate", "web", "qemu+tcp://unreachable.example/system" }, 1, NULL,
      "amigoctl: migration of 'web' failed: unable to connect to server at 'unreachable.example:16509'" },
    { { "migrate", "nosuchvm", "qemu+tcp://b.example/system" }, 4, NULL, "amigoctl: no domain 'nosuchvm'" },
    { { "migrate", "web", "qemu+tcp://b.example/system", "--no-wait" }, 0,
      "Not waiting: follow it with 'amigoctl migrations'", NULL },
  };
  Fixture *f = *state;

  run_steps (f, steps, G_N_ELEMENTS (steps));
  /* the one left running by --no-wait ends within a second */
  g_usleep (1000 * 1000);
  {
    g_auto (Run) run = { 0 };
    run_ctl (f, &run, "migrations");
    expect (&run, 0, "  refused  ", NULL);
    expect (&run, 0, "15.0s / 12.5s  150ms / 180ms  1.0 GiB / 1.5 GiB  -\n", NULL);
    expect (&run, 0, "memory: need 0.19 GiB, 0.10 GiB free after reservations\n", NULL);
    assert_null (strstr (run.out, "other"));   /* another migration's signals */
  }
}

static void
test_ctl_migrate_json (void **state)
{
  Fixture *f = *state;
  g_auto (Run) run = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  run_ctl (f, &run, "--json", "migrate", "web", "qemu+tcp://b.example/system");
  expect (&run, 0, NULL, NULL);
  assert_null (strstr (run.out, "progress"));
  assert_true (json_parser_load_from_data (parser, run.out, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  assert_string_equal (json_object_get_string_member (obj, "domain"), "web");
  assert_string_equal (json_object_get_string_member (json_object_get_object_member (obj, "plan"), "mode"),
                       "precopy");
  assert_string_equal (json_object_get_string_member (json_object_get_object_member (obj, "result"), "state"),
                       "completed");
  assert_int_equal (json_object_get_int_member (json_object_get_object_member (obj, "result"), "total_usec"),
                    15000000);
}

/* Ctrl-C cancels (exit 6); meanwhile a second migrate of the same domain
 * is Busy; a second Ctrl-C quits without waiting (exit 130). */
static void
test_ctl_migrate_interrupt (void **state)
{
  Fixture *f = *state;

  {
    g_autoptr (GError) error = NULL;
    g_auto (Run) run = { 0 };
    g_auto (Run) busy = { 0 };
    g_autoptr (GSubprocess) proc =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                        g_getenv ("AMIGOCTL"), "--bus-address", f->address, "migrate", "web",
                        "qemu+tcp://slow.example/system", NULL);
    assert_non_null (proc);
    g_usleep (500 * 1000);
    run_ctl (f, &busy, "migrate", "web", "qemu+tcp://b.example/system");
    expect (&busy, 1, NULL, "amigoctl: migrate: 'web' is busy: domain 'web' is already migrating (id ");
    g_subprocess_send_signal (proc, SIGINT);
    assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &run.out, &run.err, &error));
    run.status = g_subprocess_get_exit_status (proc);
    expect (&run, 6, "progress  20.0%  precopy", "amigoctl: cancelling migration ");
    expect (&run, 6, NULL, "amigoctl: migration of 'web' cancelled: cancelled by CancelMigration\n");
  }
  {
    g_auto (Run) run = { 0 };
    run_migrate_interrupted (f, &run, "web", "qemu+tcp://slow.example/system", 100, 1);
    expect (&run, 6, NULL, "cancelled by CancelMigration");
  }
  {
    /* amigod-fake takes 3 s to finish this cancel */
    g_auto (Run) run = { 0 };
    gint64 t0 = g_get_monotonic_time ();
    run_migrate_interrupted (f, &run, "web", "qemu+tcp://deaf.example/system", 400, 2);
    expect (&run, 130, NULL, "(Ctrl-C again to quit without waiting)");
    expect (&run, 130, NULL, "amigoctl: not waiting: migration ");
    assert_true (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);
    g_usleep (3500 * 1000);
  }
}

static void
test_ctl_argument_errors (void **state)
{
  static const Step bad[] = {
    { { "forecast" }, 2, NULL, "forecast: expected DOMAIN, got 0 arguments" },
    { { "forecast", "a", "b" }, 2, NULL, "forecast: expected DOMAIN, got 2 arguments" },
    { { "forecast", "" }, 2, NULL, "forecast: the domain is empty" },
    { { "forecast", "web", "--window", "8d" }, 2, NULL, "--window: '8d' is too long: expected at most 7d" },
    { { "forecast", "web", "--window", "soon" }, 2, NULL, "--window: expected a duration like '10s', got 'soon'" },
    { { "forecast", "web", "--settle", "2d" }, 2, NULL, "--settle: '2d' is too long: expected at most 1d" },
    { { "forecast", "web", "--settle", "-1m" }, 2, NULL, "--settle: expected a duration" },
    { { "forecast", "web", "--link", "10" }, 2, NULL, "--link: expected a bandwidth with a unit like '10G'" },
    { { "forecast", "web", "--link", "500k" }, 2, NULL, "--link: '500k' is out of range: expected 1M to 1T" },
    { { "forecast", "web", "--link", "2T" }, 2, NULL, "--link: '2T' is out of range" },
    { { "forecast", "web", "--plot", "" }, 2, NULL, "--plot: expected a file name" },
    { { "status", "--window", "1h" }, 2, NULL, "status: --window, --settle and --link only apply to 'forecast'" },
    { { "forecast", "web", "--clear" }, 2, NULL, "forecast: --clear only applies to 'label'" },
    { { "label", "web" }, 2, NULL, "label: expected DOMAIN CLASS (or DOMAIN --clear), got 1 argument" },
    { { "label", "web", "dbase" }, 2, NULL, "unknown workload class 'dbase': expected one of unknown, idle, database" },
    { { "label", "web", "" }, 2, NULL, "unknown workload class ''" },
    { { "label", "web", "batch", "--clear" }, 2, NULL, "label --clear: expected DOMAIN only, got 2 arguments" },
    { { "controllers" }, 2, NULL, "controllers: expected DOMAIN, got 0 arguments" },
    { { "controllers", "" }, 2, NULL, "controllers: the domain is empty" },
    { { "controllers", "web", "--plot", "" }, 2, NULL, "--plot: expected a file name like 'web.png'" },
    { { "status", "--plot", "x.png" }, 2, NULL, "status: --plot only applies to 'forecast' and 'controllers'" },
    { { "migrate", "web" }, 2, NULL, "migrate: expected DOMAIN DEST-URI, got 1 argument" },
    { { "migrate", "", "qemu+tcp://b/system" }, 2, NULL, "migrate: the domain is empty" },
    { { "migrate", "web", "b.example" }, 2, NULL, "migrate: destination URI 'b.example' is not a URI" },
    { { "migrate", "web", "http://b.example/" }, 2, NULL, "has scheme 'http': expected one of qemu, qemu+tcp, qemu+ssh," },
    { { "migrate", "web", "qemu+tcp:///system" }, 2, NULL, "destination URI 'qemu+tcp:///system' has no host" },
    { { "migrate", "web", "qemu+tcp://b/" }, 2, NULL, "has path '/': expected /system or /session" },
    { { "migrate", "web", "qemu+tcp://b/system", "--bandwidth", "0" }, 2, NULL,
      "--bandwidth: '0' is out of range: expected MiB/s, more than 0 and at most 100000" },
    { { "migrate", "web", "qemu+tcp://b/system", "--bandwidth", "fast" }, 2, NULL, "--bandwidth: 'fast' is out of range" },
    { { "migrate", "web", "qemu+tcp://b/system", "--bandwidth", "100001" }, 2, NULL, "--bandwidth: '100001'" },
    { { "migrate", "web", "qemu+tcp://b/system", "--downtime", "999999" }, 2, NULL,
      "--downtime: '999999' is out of range: expected milliseconds, 1 to 60000" },
    { { "migrate", "web", "qemu+tcp://b/system", "--downtime", "0" }, 2, NULL, "--downtime: '0' is out of range" },
    { { "migrate", "web", "qemu+tcp://b/system", "--downtime", "-5" }, 2, NULL, "--downtime: '-5' is out of range" },
    { { "migrate", "web", "qemu+tcp://b/system", "--mode", "fast" }, 2, NULL,
      "--mode: unknown mode 'fast': expected one of auto, precopy, auto-converge, postcopy" },
    { { "migrate", "web", "qemu+tcp://b/system", "--deadline", "2d" }, 2, NULL,
      "--deadline: '2d' is out of range: expected 0 or 1s to 1d" },
    { { "migrate", "web", "qemu+tcp://b/system", "--deadline", "soon" }, 2, NULL, "--deadline: expected a duration" },
    { { "migrate", "web", "qemu+tcp://b/system", "--timeout", "0" }, 2, NULL, "--timeout: expected a positive duration" },
    { { "migrate", "web", "qemu+tcp://b/system", "--timeout", "500ms" }, 2, NULL,
      "--timeout: '500ms' is out of range: expected 1s to 1d" },
    { { "migrate", "web", "qemu+tcp://b/system", "--migrate-uri", "::" }, 2, NULL, "--migrate-uri: option 'migrate_uri' '::' is not a URI" },
    { { "migrate", "web", "qemu+tcp://b/system", "--migrate-uri", "http://x" }, 2, NULL,
      "--migrate-uri: option 'migrate_uri' 'http://x' has scheme 'http'" },
    { { "status", "--bandwidth", "5" }, 2, NULL, "status: --migrate-uri, --bandwidth, --downtime, --mode, --deadline, "
      "--timeout and --no-wait only apply to 'migrate'" },
    { { "migrations", "x" }, 2, NULL, "unexpected argument 'x'" },
    { { "frobnicate" }, 2, NULL, "unknown command 'frobnicate': expected status, domains, history, forecast, label, ledger, reservations, controllers, migrate or migrations" },
  };

  run_steps (*state, bad, G_N_ELEMENTS (bad));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ctl_forecast_table),
    cmocka_unit_test (test_ctl_forecast_options),
    cmocka_unit_test (test_ctl_forecast_json),
    cmocka_unit_test (test_ctl_forecast_errors),
    cmocka_unit_test (test_ctl_label),
    cmocka_unit_test (test_ctl_forecast_plot),
    cmocka_unit_test (test_ctl_controllers),
    cmocka_unit_test (test_ctl_argument_errors),
    cmocka_unit_test (test_ctl_migrate),
    cmocka_unit_test (test_ctl_migrate_json),
    cmocka_unit_test (test_ctl_migrate_interrupt),
  };

  if (g_getenv ("AMIGOCTL") == NULL || g_getenv ("AMIGOD_FAKE") == NULL) {
    fprintf (stderr, "AMIGOCTL and AMIGOD_FAKE must name the programs under test\n");
    return 1;
  }
  return cmocka_run_group_tests_name ("ctl", tests, setup, teardown);
}
