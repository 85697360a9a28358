/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-test-file.h"
#include "amigo-test-mutate.h"
#include "amigo-slo-policy.h"

#define UUID_A "11111111-2222-3333-4444-555555555555"

static const char *valid_conf =
  "# SLO policy of this host\n"
  "[class:database]\n"
  "priority = 7\n"
  "protect = disk;memory;cpu\n"
  "headroom_disk = 0.5\n"
  "headroom = 0.3\n"
  "min = 0.6\n"
  "max = 1.2\n"
  "max_rise = 1\n"
  "max_fall = 0.05\n"
  "\n"
  "[class:batch]\n"
  "protect = none\n"
  "\n"
  "[domain:shop-db]\n"
  "class = web_server\n"
  "priority = 9\n"
  "\n"
  "[domain:" UUID_A "]\n"
  "priority = 2\n";

typedef AmigoTestFile Fixture;

static int
setup (void **state)
{
  *state = amigo_test_file_new ("amigo-slo-XXXXXX", "slo.conf");
  return 0;
}

static int
teardown (void **state)
{
  amigo_test_file_free (*state);
  return 0;
}

static void
write_conf (Fixture *f, const char *text, gssize len)
{
  assert_true (g_file_set_contents (f->path, text, len, NULL));
}

/* The defaults: what each class protects, and the classifier's
 * priorities. */
static void
test_slo_policy_defaults (void **state)
{
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  const AmigoSloClass *db = amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_DATABASE);
  const AmigoSloClass *web = amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_WEB_SERVER);
  const AmigoSloClass *ml = amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING);
  const gboolean db_p[AMIGO_RESOURCE_LAST] = { FALSE, TRUE, FALSE, TRUE, FALSE };
  const gboolean web_p[AMIGO_RESOURCE_LAST] = { TRUE, FALSE, TRUE, FALSE, FALSE };
  const gboolean ml_p[AMIGO_RESOURCE_LAST] = { TRUE, FALSE, FALSE, FALSE, TRUE };
  const gboolean none[AMIGO_RESOURCE_LAST] = { FALSE, };

  (void) state;
  assert_memory_equal (db->protects, db_p, sizeof db_p);
  assert_memory_equal (web->protects, web_p, sizeof web_p);
  assert_memory_equal (ml->protects, ml_p, sizeof ml_p);
  assert_memory_equal (amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_BATCH)->protects, none, sizeof none);
  assert_memory_equal (amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_IDLE)->protects, none, sizeof none);
  for (guint k = 0; k < AMIGO_WORKLOAD_CLASS_LAST; k++)
    assert_int_equal (amigo_slo_policy_get_class (p, k)->priority, amigo_workload_class_priority (k));
  /* a protected resource keeps more headroom */
  assert_true (db->headroom[AMIGO_RESOURCE_DISK] > db->headroom[AMIGO_RESOURCE_CPU]);
  assert_int_equal (amigo_slo_policy_get_n_domains (p), 0);
}

/* A file sets a class's every key and overrides domains by name and UUID;
 * `headroom` does not undo an earlier `headroom_disk`. */
static void
test_slo_policy_load (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  g_autoptr (GError) error = NULL;
  const AmigoSloClass *db;
  AmigoSloDomainPolicy dp;

  write_conf (f, valid_conf, -1);
  assert_true (amigo_slo_policy_load_file (p, f->path, &error));
  assert_null (error);
  db = amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_DATABASE);
  assert_int_equal (db->priority, 7);
  assert_true (db->protects[AMIGO_RESOURCE_CPU] && db->protects[AMIGO_RESOURCE_DISK] &&
               db->protects[AMIGO_RESOURCE_MEMORY] && !db->protects[AMIGO_RESOURCE_NETWORK]);
  assert_float_equal (db->headroom[AMIGO_RESOURCE_DISK], 0.5, 1e-12);
  assert_float_equal (db->headroom[AMIGO_RESOURCE_CPU], 0.3, 1e-12);
  assert_float_equal (db->min_fraction, 0.6, 1e-12);
  assert_float_equal (db->max_fraction, 1.2, 1e-12);
  assert_float_equal (db->max_rise, 1.0, 1e-12);
  assert_float_equal (db->max_fall, 0.05, 1e-12);
  assert_false (amigo_slo_policy_get_class (p, AMIGO_WORKLOAD_CLASS_BATCH)->protects[AMIGO_RESOURCE_CPU]);
  assert_int_equal (amigo_slo_policy_get_n_domains (p), 2);

  /* by name: another class, its own priority */
  amigo_slo_policy_lookup (p, "shop-db", NULL, AMIGO_WORKLOAD_CLASS_DATABASE, &dp);
  assert_true (dp.overridden);
  assert_int_equal (dp.klass, AMIGO_WORKLOAD_CLASS_WEB_SERVER);
  assert_int_equal (dp.params.priority, 9);
  assert_true (dp.params.protects[AMIGO_RESOURCE_NETWORK]);
  /* the UUID's priority wins over the name's, the name's class stays */
  amigo_slo_policy_lookup (p, "shop-db", UUID_A, AMIGO_WORKLOAD_CLASS_DATABASE, &dp);
  assert_int_equal (dp.klass, AMIGO_WORKLOAD_CLASS_WEB_SERVER);
  assert_int_equal (dp.params.priority, 2);
  /* no override: the detected class as configured */
  amigo_slo_policy_lookup (p, "other", NULL, AMIGO_WORKLOAD_CLASS_DATABASE, &dp);
  assert_false (dp.overridden);
  assert_int_equal (dp.klass, AMIGO_WORKLOAD_CLASS_DATABASE);
  assert_int_equal (dp.params.priority, 7);
}

/* The PID loop runs within the class's fraction of the request. */
static void
test_slo_policy_pid_params (void **state)
{
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  AmigoSloDomainPolicy dp;
  AmigoPidParams params;

  (void) state;
  amigo_slo_policy_lookup (p, "db", NULL, AMIGO_WORKLOAD_CLASS_DATABASE, &dp);
  amigo_slo_domain_policy_pid_params (&dp, AMIGO_RESOURCE_DISK, 2000, &params);
  assert_true (amigo_pid_params_check (&params, NULL));
  assert_float_equal (params.min_output, 1000, 1e-9);
  assert_float_equal (params.max_output, 2000, 1e-9);
  assert_float_equal (params.max_rise_per_sec, 1000, 1e-9);
  assert_float_equal (params.max_fall_per_sec, 2000.0 / 60.0, 1e-9);
  assert_float_equal (params.phase[AMIGO_PID_PHASE_STEADY].headroom, 0.20, 1e-12);
  /* switch-over keeps the loop's larger headroom */
  assert_float_equal (params.phase[AMIGO_PID_PHASE_SWITCHOVER].headroom, 0.30, 1e-12);
}

/* Each mistake is named with file, line, group, key, what was expected and
 * what was found, and the policy is left as it was. */
static void
test_slo_policy_errors (void **state)
{
  Fixture *f = *state;
  static const struct {
    const char *text;
    const char *message; /* after "<path>" */
  } cases[] = {
    { "[class:database]\nprioirty = 3\n",
      ":2: [class:database] prioirty: unknown key 'prioirty'; expected one of priority, protect, headroom, "
      "headroom_cpu, headroom_memory, headroom_network, headroom_disk, headroom_gpu_memory, min, max, "
      "max_rise, max_fall" },
    { "[class:database]\n\npriority = high\n",
      ":3: [class:database] priority: expected an integer between 0 and 100, got 'high'" },
    { "[class:web_server]\nprotect = cpu;ram\n",
      ":2: [class:web_server] protect: expected resource names from cpu, memory, network, disk, gpu_memory "
      "separated by ';', or 'none', got 'cpu;ram'" },
    { "[class:batch]\nheadroom_cpu = nan\n",
      ":2: [class:batch] headroom_cpu: expected a fraction of the usage between 0 and 10, got 'nan'" },
    { "[class:batch]\nheadroom_ram = 0.1\n",
      ":2: [class:batch] headroom_ram: unknown key 'headroom_ram'; expected one of priority, protect, "
      "headroom, headroom_cpu, headroom_memory, headroom_network, headroom_disk, headroom_gpu_memory, min, "
      "max, max_rise, max_fall" },
    { "[class:idle]\nmin = 0.8\nmax = 0.5\n",
      ":2: [class:idle] min: expected min at most max, got min 0.8 above max 0.5" },
    { "[class:idle]\nmax_fall = 0,5\n",
      ":2: [class:idle] max_fall: expected a fraction of the request per second between 0.001 and 100, got '0,5'" },
    { "[class:databse]\npriority = 1\n",
      ":1: [class:databse]: expected a class name from unknown, idle, database, web_server, machine_learning, "
      "batch after 'class:', got 'databse'" },
    { "[daemon]\nuri = qemu:///system\n",
      ":1: [daemon]: unknown group; expected '[class:NAME]' or '[domain:NAME-OR-UUID]'" },
    { "[domain:]\npriority = 1\n",
      ":1: [domain:]: expected a domain name or UUID of 1 to 255 characters after 'domain:'" },
    { "[domain:web1]\nclass = nosql\n",
      ":2: [domain:web1] class: expected one of unknown, idle, database, web_server, machine_learning, batch, "
      "got 'nosql'" },
    { "[domain:web1]\nprotect = cpu\n",
      ":2: [domain:web1] protect: unknown key 'protect'; expected one of priority, class" },
    { "[domain:web1]\npriority = 101\n",
      ":2: [domain:web1] priority: expected an integer between 0 and 100, got '101'" },
    { "priority = 1\n", ": Key file does not start with a group" },
    { "[class:database]\n# fine\npriority\n",
      ":3: expected 'key = value', '[class:NAME]', '[domain:NAME-OR-UUID]' or a '#' comment, got 'priority'" },
    { "\n  [class:database\npriority = 1\n",
      ":2: expected 'key = value', '[class:NAME]', '[domain:NAME-OR-UUID]' or a '#' comment, got '[class:database'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
    g_autoptr (AmigoSloPolicy) defaults = amigo_slo_policy_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *expected = g_strconcat (f->path, cases[i].message, NULL);

    write_conf (f, cases[i].text, -1);
    assert_false (amigo_slo_policy_load_file (p, f->path, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
    if (strcmp (error->message, expected) != 0)
      fail_msg ("case %u: got '%s', expected '%s'", i, error->message, expected);
    for (guint k = 0; k < AMIGO_WORKLOAD_CLASS_LAST; k++)
      assert_memory_equal (amigo_slo_policy_get_class (p, k), amigo_slo_policy_get_class (defaults, k),
                           sizeof (AmigoSloClass));
    assert_int_equal (amigo_slo_policy_get_n_domains (p), 0);
  }
}

/* A missing file is NOT_FOUND (run with the defaults); binary data and an
 * oversized file are refused before parsing. */
static void
test_slo_policy_bad_files (void **state)
{
  Fixture *f = *state;
  g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *big = g_malloc (AMIGO_SLO_POLICY_MAX_FILE_BYTES + 2);
  g_autofree char *expected = NULL;

  assert_false (amigo_slo_policy_load_file (p, f->path, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  g_clear_error (&error);

  write_conf (f, "[class:batch]\npriority = \0\n", 26);
  assert_false (amigo_slo_policy_load_file (p, f->path, &error));
  expected = g_strdup_printf ("%s: expected UTF-8 text, the file contains binary data", f->path);
  assert_string_equal (error->message, expected);
  g_clear_error (&error);

  memset (big, '#', AMIGO_SLO_POLICY_MAX_FILE_BYTES + 1);
  big[AMIGO_SLO_POLICY_MAX_FILE_BYTES + 1] = '\0';
  write_conf (f, big, -1);
  assert_false (amigo_slo_policy_load_file (p, f->path, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
  assert_non_null (strstr (error->message, "expected at most 1048576 bytes"));
}

/* Random mutations of a valid file (bytes flipped, inserted from the
 * file's own alphabet and some hostile ones, deleted, chunks repeated):
 * never a crash, and either it loads with values in range or the error
 * names the file. tests/fuzz/fuzz-slo-policy.c does the same guided by
 * coverage. */
static void
test_slo_policy_fuzz (void **state)
{
  Fixture *f = *state;
  static const char extra[] = "[]=;,#:\n \t\\\xc3\xa9-.0123456789e";
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261204);
  guint loaded = 0, refused = 0;

  for (guint iter = 0; iter < 20000; iter++) {
    g_autoptr (AmigoSloPolicy) p = amigo_slo_policy_new ();
    g_autoptr (GError) error = NULL;
    g_autoptr (GString) text = g_string_new (valid_conf);
    guint n_mut = g_rand_int_range (rand, 1, 6);

    for (guint m = 0; m < n_mut; m++)
      amigo_test_mutate (rand, text, extra);
    if (amigo_slo_policy_load_data (p, f->path, text->str, text->len, &error)) {
      loaded++;
      for (guint k = 0; k < AMIGO_WORKLOAD_CLASS_LAST; k++) {
        const AmigoSloClass *c = amigo_slo_policy_get_class (p, k);

        assert_true (c->min_fraction <= c->max_fraction);
        assert_in_range (c->priority, 0, AMIGO_SLO_POLICY_MAX_PRIORITY);
      }
    } else {
      refused++;
      assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_CONFIG));
      assert_true (g_str_has_prefix (error->message, f->path));
      assert_true (strlen (error->message) > strlen (f->path) + 2);
    }
  }
  print_message ("loaded %u, refused %u\n", loaded, refused);
  /* both outcomes must occur, or the mutations test nothing */
  assert_true (loaded > 100);
  assert_true (refused > 100);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_slo_policy_defaults),
    cmocka_unit_test_setup_teardown (test_slo_policy_load, setup, teardown),
    cmocka_unit_test (test_slo_policy_pid_params),
    cmocka_unit_test_setup_teardown (test_slo_policy_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_slo_policy_bad_files, setup, teardown),
    cmocka_unit_test_setup_teardown (test_slo_policy_fuzz, setup, teardown),
  };

  /* a GLib critical in the parser is a bug, not a refusal */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
