/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-test-assert.h"
#include "amigo-file.h"
#include "amigo-migration-log.h"
#include "amigo-test-file.h"
#include "amigo-test-mutate.h"
#include "amigo-time.h"

#define GIB ((guint64) 1 << 30)
#define LINK_1G 125e6

/* A plan for a 4 GiB guest dirtying 20 MiB/s over 1 Gbit/s. */
static void
make_plan (const AmigoOverheadCalibration *calibration, AmigoMigrationPlan *plan)
{
  AmigoMigrationPlanInput in;
  g_autoptr (GError) error = NULL;

  amigo_migration_plan_input_init (&in);
  in.memory_bytes = 4 * GIB;
  in.dirty_rate_bytes_s = 20 * AMIGO_BYTES_PER_MIB;
  in.link_bytes_s = LINK_1G;
  in.klass = AMIGO_WORKLOAD_CLASS_WEB_SERVER;
  in.calibration = calibration;
  if (!amigo_migration_plan_make (&in, plan, &error))
    fail_msg ("%s", error->message);
}

/* Migration number @i, planned with @calibration (NULL: none), completed
 * and measured at @slowdown x the model. */
static void
make_record_calibrated (guint i, const AmigoOverheadCalibration *calibration, double slowdown,
                        AmigoMigrationRecord *r)
{
  amigo_migration_record_init (r);
  r->id = g_strdup_printf ("00000000-0000-4000-8000-%012u", i);
  r->domain = g_strdup_printf ("web-%u", i);
  r->uuid = g_strdup ("6f1c8a52-3d2e-4f7a-9b1c-2e5d8f0a7c31");
  r->dest_uri = g_strdup ("qemu+tcp://dest.example/system");
  r->started_usec = 1764806400 * AMIGO_USEC_PER_SEC + i;
  make_plan (calibration, &r->plan);
  r->plan.start_at_usec = r->started_usec;
  r->state = AMIGO_MIGRATION_OUTCOME_COMPLETED;
  r->measured = TRUE;
  r->total_usec = (gint64) (r->plan.model_total_usec * slowdown);
  r->downtime_usec = (gint64) (r->plan.model_downtime_usec * slowdown);
  r->data_sent_bytes = (guint64) (r->plan.model_data_bytes * slowdown);
  r->dest_usage[AMIGO_RESOURCE_CPU] = 1.25;
  r->dest_usage[AMIGO_RESOURCE_NETWORK] = 940;
}

static void
make_record (guint i, double slowdown, AmigoMigrationRecord *r)
{
  make_record_calibrated (i, NULL, slowdown, r);
}

static char *
make_state_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("amigo-migration-log-XXXXXX", &error);

  assert_non_null (dir);
  return dir;
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
assert_same_record (const AmigoMigrationRecord *a, const AmigoMigrationRecord *b)
{
  assert_string_equal (a->id, b->id);
  assert_string_equal (a->domain, b->domain);
  assert_string_equal (a->uuid, b->uuid);
  assert_string_equal (a->dest_uri, b->dest_uri);
  assert_int_equal (a->started_usec, b->started_usec);
  assert_int_equal (a->state, b->state);
  assert_string_equal (a->error ?: "-", b->error ?: "-");
  assert_int_equal (a->plan.mode, b->plan.mode);
  assert_int_equal (a->plan.forced, b->plan.forced);
  assert_string_equal (a->plan.reason, b->plan.reason);
  assert_float_equal (a->plan.bandwidth_mib_s, b->plan.bandwidth_mib_s, 1e-9);
  assert_int_equal (a->plan.downtime_limit_ms, b->plan.downtime_limit_ms);
  assert_int_equal (a->plan.start_at_usec, b->plan.start_at_usec);
  assert_string_equal (a->plan.start_reason ?: "-", b->plan.start_reason ?: "-");
  assert_int_equal (a->plan.stall_timeout_usec, b->plan.stall_timeout_usec);
  assert_int_equal (a->plan.timeout_usec, b->plan.timeout_usec);
  assert_int_equal (a->plan.predicted_total_usec, b->plan.predicted_total_usec);
  assert_int_equal (a->plan.predicted_downtime_usec, b->plan.predicted_downtime_usec);
  assert_int_equal (a->plan.predicted_data_bytes, b->plan.predicted_data_bytes);
  assert_int_equal (a->plan.converges, b->plan.converges);
  assert_int_equal (a->plan.model_total_usec, b->plan.model_total_usec);
  assert_int_equal (a->plan.model_downtime_usec, b->plan.model_downtime_usec);
  assert_int_equal (a->plan.model_data_bytes, b->plan.model_data_bytes);
  assert_int_equal (a->measured, b->measured);
  assert_int_equal (a->total_usec, b->total_usec);
  assert_int_equal (a->downtime_usec, b->downtime_usec);
  assert_int_equal (a->data_sent_bytes, b->data_sent_bytes);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (isnan (a->dest_usage[r]))
      assert_true (isnan (b->dest_usage[r]));
    else
      assert_float_equal (a->dest_usage[r], b->dest_usage[r], 1e-9);
  }
}

static GArray *
records_new (void)
{
  GArray *records = g_array_new (FALSE, TRUE, sizeof (AmigoMigrationRecord));

  g_array_set_clear_func (records, (GDestroyNotify) amigo_migration_record_clear);
  return records;
}

/* @records written as the log file and read back. */
static GArray *
through_the_file (GArray *records)
{
  g_autofree char *text = amigo_migration_log_format (records);
  g_autoptr (GError) error = NULL;
  GArray *back = NULL;

  if (!amigo_migration_log_parse (text, strlen (text), &back, &error))
    fail_msg ("%s", error->message);
  return back;
}

/* Every member survives the file, a completed one and a failed one. */
static void
test_log_json_round_trip (void **state)
{
  g_autoptr (GArray) records = records_new ();
  g_autoptr (GArray) back = NULL;
  AmigoMigrationRecord r;

  make_record (1, 1.5, &r);
  r.plan.start_reason = g_strdup ("the forecast low point at 03:10");
  g_array_append_val (records, r);
  make_record (2, 1.0, &r);
  r.state = AMIGO_MIGRATION_OUTCOME_REFUSED;
  r.error = g_strdup ("memory: need 1.42 GiB, 0.90 GiB free after reservations");
  r.measured = FALSE;
  r.total_usec = r.downtime_usec = 0;
  r.data_sent_bytes = 0;
  r.dest_usage[AMIGO_RESOURCE_CPU] = r.dest_usage[AMIGO_RESOURCE_NETWORK] = NAN;
  g_array_append_val (records, r);

  back = through_the_file (records);
  assert_int_equal (back->len, 2);
  for (guint i = 0; i < 2; i++)
    assert_same_record (&g_array_index (records, AmigoMigrationRecord, i),
                        &g_array_index (back, AmigoMigrationRecord, i));
}

/* Whatever amigod holds in a record it can read back: a record of a
 * migration that ended before it had a plan (all zero, strings unset), and
 * figures no reader would accept (negative, infinite) written as "none". */
static void
test_log_writes_what_it_reads (void **state)
{
  g_autoptr (GArray) records = records_new ();
  g_autoptr (GArray) back = NULL;
  AmigoMigrationRecord r;

  amigo_migration_record_init (&r);
  r.state = AMIGO_MIGRATION_OUTCOME_FAILED;
  g_array_append_val (records, r);
  make_record (1, 1.0, &r);
  r.plan.bandwidth_mib_s = NAN;
  r.total_usec = -5;
  r.dest_usage[AMIGO_RESOURCE_CPU] = INFINITY;
  r.dest_usage[AMIGO_RESOURCE_NETWORK] = -1;
  g_array_append_val (records, r);

  back = through_the_file (records);
  assert_int_equal (back->len, 2);
  assert_null (g_array_index (back, AmigoMigrationRecord, 0).id);
  assert_int_equal (g_array_index (back, AmigoMigrationRecord, 0).plan.mode, AMIGO_MIGRATION_MODE_AUTO);
  assert_true (isnan (g_array_index (back, AmigoMigrationRecord, 1).plan.bandwidth_mib_s));
  assert_int_equal (g_array_index (back, AmigoMigrationRecord, 1).total_usec, 0);
  assert_true (isnan (g_array_index (back, AmigoMigrationRecord, 1).dest_usage[AMIGO_RESOURCE_CPU]));
  assert_true (isnan (g_array_index (back, AmigoMigrationRecord, 1).dest_usage[AMIGO_RESOURCE_NETWORK]));
}

/* A malformed document is refused naming the member path. */
static void
test_log_parse_refusals (void **state)
{
  g_autoptr (GArray) one = records_new ();
  g_autofree char *good = NULL;
  AmigoMigrationRecord r;
  static const struct {
    const char *from, *to;
    const char *expect;
  } edits[] = {
    { "\"state\":\"completed\"", "\"state\":\"done\"", "'migrations[0].state' is 'done': expected one of running" },
    { "\"mode\":\"precopy\"", "\"mode\":\"fast\"", "'migrations[0].plan.mode' is 'fast': expected one of auto, precopy" },
    { "\"reason\":\"", "\"reason\":7,\"x\":\"", "'migrations[0].plan.reason' must be a string" },
    { "\"forced\":false", "\"forced\":\"no\"", "'migrations[0].plan.forced' must be true or false" },
    { "\"mode\":\"precopy\"", "\"mode\":7", "'migrations[0].plan.mode' must be a string" },
    { "\"downtime_limit_ms\":300", "\"downtime_limit_ms\":-3", "'migrations[0].plan.downtime_limit_ms' = -3 is below 0" },
    { "\"downtime_limit_ms\":300", "\"downtime_limit_ms\":70000", "'migrations[0].plan.downtime_limit_ms' = 70000 is above 60000" },
    { "\"id\":", "\"idx\":", "'migrations[0].id' is missing" },
    { "\"total_usec\":", "\"total_usec\":\"x\",\"t\":", "'migrations[0].measured.total_usec' must be an integer" },
    { "\"cpu\":", "\"cpus\":", "'migrations[0].dest_usage.cpus' is not a resource" },
    { "\"cpu\":1.25", "\"cpu\":-1.25", "'migrations[0].dest_usage.cpu' = -1.25 must be 0 or more" },
    { "\"version\":1", "\"version\":2", "version 2 is not supported" },
    { "\"migrations\":[", "\"migrations\":[3,", "'migrations[0]' must be an object" },
    { "\"migrations\":[", "\"migration\":[", "'migrations' is missing" },
  };

  make_record (1, 1.0, &r);
  g_array_append_val (one, r);
  good = amigo_migration_log_format (one);

  for (guint i = 0; i < G_N_ELEMENTS (edits); i++) {
    g_autoptr (GString) bad = g_string_new (good);
    g_autoptr (GArray) back = NULL;
    g_autoptr (GError) error = NULL;

    if (g_string_replace (bad, edits[i].from, edits[i].to, 1) != 1)
      fail_msg ("'%s' not in the document", edits[i].from);
    assert_false (amigo_migration_log_parse (bad->str, bad->len, &back, &error));
    assert_null (back);
    amigo_test_assert_contains (error->message, "migrations log: ");
    amigo_test_assert_contains (error->message, edits[i].expect);
  }

  static const char *const garbage[] = { "", "[]", "{", "null", "{\"version\":\"1\"}", "\xff\xfe{}" };
  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++) {
    g_autoptr (GArray) back = NULL;
    g_autoptr (GError) error = NULL;
    assert_false (amigo_migration_log_parse (garbage[i], strlen (garbage[i]), &back, &error));
    assert_true (error->domain == AMIGO_ERROR);
    amigo_test_assert_contains (error->message, "migrations log");
  }
}

/* The log keeps the newest 200, newest first, across a save and a load. */
static void
test_log_cap_and_persistence (void **state)
{
  g_autofree char *dir = make_state_dir ();
  g_autoptr (AmigoMigrationLog) log = amigo_migration_log_new (dir);
  g_autoptr (AmigoMigrationLog) again = amigo_migration_log_new (dir);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) warnings = NULL;
  g_autoptr (GVariant) listed = NULL;
  g_autofree char *first_id = NULL;

  for (guint i = 0; i < AMIGO_MIGRATION_LOG_MAX + 5; i++) {
    g_auto (AmigoMigrationRecord) r = { 0 };
    make_record (i, 1.0, &r);
    amigo_migration_log_add (log, &r);
  }
  assert_int_equal (amigo_migration_log_get_n_records (log), AMIGO_MIGRATION_LOG_MAX);
  assert_string_equal (amigo_migration_log_get_record (log, 0)->domain, "web-204");
  assert_string_equal (amigo_migration_log_get_record (log, AMIGO_MIGRATION_LOG_MAX - 1)->domain, "web-5");

  if (!amigo_migration_log_save (log, &error))
    fail_msg ("%s", error->message);
  warnings = amigo_migration_log_load (again);
  assert_null (warnings[0]);
  assert_int_equal (amigo_migration_log_get_n_records (again), AMIGO_MIGRATION_LOG_MAX);
  for (guint i = 0; i < AMIGO_MIGRATION_LOG_MAX; i++)
    assert_same_record (amigo_migration_log_get_record (log, i), amigo_migration_log_get_record (again, i));

  listed = g_variant_ref_sink (amigo_migration_log_to_variant (again));
  assert_int_equal (g_variant_n_children (listed), AMIGO_MIGRATION_LOG_MAX);
  {
    g_autoptr (GVariant) newest = g_variant_get_child_value (listed, 0);
    assert_true (g_variant_lookup (newest, "domain", "s", &first_id));
    assert_string_equal (first_id, "web-204");
  }
  amigo_test_rm_rf (dir);
}

/* Random edits of a valid log: each either reads (and writes back the
 * same) or is refused naming the migrations log; never a crash. */
static void
test_log_parse_fuzz (void **state)
{
  g_autoptr (GArray) two = records_new ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261204);
  g_autofree char *valid = NULL;
  guint read = 0, refused = 0;

  for (guint i = 0; i < 2; i++) {
    AmigoMigrationRecord r;
    make_record (i, 1.2, &r);
    g_array_append_val (two, r);
  }
  valid = amigo_migration_log_format (two);
  for (guint iter = 0; iter < 5000; iter++) {
    g_autoptr (GString) text = g_string_new (valid);
    g_autoptr (GArray) back = NULL;
    g_autoptr (GError) error = NULL;
    guint n_mut = g_rand_int_range (rand, 1, 4);

    for (guint m = 0; m < n_mut; m++)
      amigo_test_mutate (rand, text, "{}[]:,\"-0123456789.eEnulltrue");
    if (amigo_migration_log_parse (text->str, text->len, &back, &error)) {
      g_autofree char *again = amigo_migration_log_format (back);
      g_autoptr (GArray) back_again = NULL;
      g_autofree char *again_again = NULL;

      read++;
      assert_true (amigo_migration_log_parse (again, strlen (again), &back_again, NULL));
      again_again = amigo_migration_log_format (back_again);
      assert_string_equal (again, again_again);
    } else {
      refused++;
      assert_true (error->domain == AMIGO_ERROR);
      amigo_test_assert_contains (error->message, "migrations log");
    }
  }
  print_message ("read %u, refused %u\n", read, refused);
  /* Both outcomes, or the edits test nothing. */
  assert_true (read > 100);
  assert_true (refused > 100);
}

/* A file with more than 200 records (written by hand, or by an older
 * amigod with another cap) gives the newest 200. */
static void
test_log_parse_keeps_newest (void **state)
{
  g_autoptr (GArray) many = records_new ();
  g_autoptr (GArray) back = NULL;

  for (guint i = 0; i < AMIGO_MIGRATION_LOG_MAX + 3; i++) {
    AmigoMigrationRecord r;
    make_record (i, 1.0, &r);
    g_array_append_val (many, r);
  }
  back = through_the_file (many);
  assert_int_equal (back->len, AMIGO_MIGRATION_LOG_MAX);
  assert_string_equal (g_array_index (back, AmigoMigrationRecord, 0).domain, "web-0");
  assert_string_equal (g_array_index (back, AmigoMigrationRecord, AMIGO_MIGRATION_LOG_MAX - 1).domain, "web-199");
}

/* ListMigrations' and MigrationFinished's keys, with their D-Bus types. */
static void
test_record_variants (void **state)
{
  static const char *const list_keys[][2] = {
    { "id", "s" }, { "domain", "s" }, { "uuid", "s" }, { "dest_uri", "s" }, { "state", "s" }, { "started_usec", "x" },
    { "mode", "s" }, { "reason", "s" }, { "bandwidth_mib_s", "d" }, { "downtime_limit_ms", "u" },
    { "start_at_usec", "x" }, { "stall_timeout_usec", "x" }, { "timeout_usec", "x" },
    { "predicted_total_usec", "x" }, { "predicted_downtime_usec", "x" }, { "predicted_data_bytes", "t" },
    { "total_usec", "x" }, { "downtime_usec", "x" }, { "data_sent_bytes", "t" }, { "dest_usage", "a{sd}" },
  };
  g_auto (AmigoMigrationRecord) r = { 0 };
  g_autoptr (GVariant) entry = NULL;
  g_autoptr (GVariant) result = NULL;
  g_autoptr (GVariant) failed = NULL;
  double cpu = 0;

  make_record (7, 1.0, &r);
  entry = g_variant_ref_sink (amigo_migration_record_to_variant (&r));
  for (guint i = 0; i < G_N_ELEMENTS (list_keys); i++) {
    g_autoptr (GVariant) v = g_variant_lookup_value (entry, list_keys[i][0], G_VARIANT_TYPE (list_keys[i][1]));
    if (v == NULL)
      fail_msg ("ListMigrations entry: key '%s' of type '%s' missing", list_keys[i][0], list_keys[i][1]);
  }
  assert_null (g_variant_lookup_value (entry, "error", NULL));

  result = g_variant_ref_sink (amigo_migration_record_result_to_variant (&r));
  assert_true (g_variant_lookup (result, "dest_usage", "a{sd}", NULL));
  {
    g_autoptr (GVariant) usage = g_variant_lookup_value (result, "dest_usage", G_VARIANT_TYPE ("a{sd}"));
    assert_true (g_variant_lookup (usage, "cpu", "d", &cpu));
    assert_float_equal (cpu, 1.25, 0);
    assert_int_equal (g_variant_n_children (usage), 2);
  }
  assert_null (g_variant_lookup_value (result, "id", NULL));

  /* A failure: its cause, no measured figures. */
  r.state = AMIGO_MIGRATION_OUTCOME_TIMEOUT;
  r.error = g_strdup ("no progress for 30s");
  r.measured = FALSE;
  failed = g_variant_ref_sink (amigo_migration_record_result_to_variant (&r));
  assert_true (g_variant_lookup (failed, "state", "&s", NULL));
  {
    const char *s = NULL, *e = NULL;
    assert_true (g_variant_lookup (failed, "state", "&s", &s));
    assert_string_equal (s, "timeout");
    assert_true (g_variant_lookup (failed, "error", "&s", &e));
    assert_string_equal (e, "no progress for 30s");
  }
  assert_null (g_variant_lookup_value (failed, "total_usec", NULL));
  assert_non_null (g_variant_lookup_value (failed, "predicted_total_usec", G_VARIANT_TYPE_INT64));
}

/* A damaged file: a warning naming the file and the problem, the file kept
 * as *.damaged, an empty log, and the next save works. */
static void
test_log_damaged_files (void **state)
{
  static const struct {
    const char *name;
    const char *contents;
    const char *expect[2];
  } damaged[] = {
    { AMIGO_MIGRATION_LOG_FILE, "{\"version\":1,\"migrations\":[{\"id\":", { "not JSON", "empty migration log" } },
    { AMIGO_MIGRATION_LOG_FILE, "{\"version\":1,\"migrations\":[{\"id\":\"x\"}]}",
      { "'migrations[0].domain' is missing", "empty migration log" } },
    { AMIGO_MIGRATION_LOG_FILE, "{\"version\":9,\"migrations\":[]}", { "version 9 is not supported", "empty" } },
    { AMIGO_MIGRATION_CALIBRATION_FILE, "{\"log_duration\":", { "calibration is not valid JSON", "uncalibrated" } },
    { AMIGO_MIGRATION_CALIBRATION_FILE,
      "{\"version\":1,\"log_duration\":9,\"log_bytes\":0,\"log_downtime\":0,\"n_observations\":1}",
      { "'log_duration' = 9 is outside", "uncalibrated overhead model" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (damaged); i++) {
    g_autofree char *dir = make_state_dir ();
    g_autofree char *path = g_build_filename (dir, damaged[i].name, NULL);
    g_autofree char *aside = g_strconcat (path, ".damaged", NULL);
    g_autofree char *kept = NULL;
    g_autoptr (AmigoMigrationLog) log = amigo_migration_log_new (dir);
    g_auto (GStrv) warnings = NULL;
    g_auto (AmigoMigrationRecord) r = { 0 };
    AmigoOverheadCalibration cal;

    write_file (dir, damaged[i].name, damaged[i].contents);
    warnings = amigo_migration_log_load (log);
    assert_non_null (warnings[0]);
    assert_null (warnings[1]);
    amigo_test_assert_contains (warnings[0], path);
    amigo_test_assert_contains (warnings[0], "is damaged");
    amigo_test_assert_contains (warnings[0], damaged[i].expect[0]);
    amigo_test_assert_contains (warnings[0], damaged[i].expect[1]);
    amigo_test_assert_contains (warnings[0], aside);
    assert_true (g_file_get_contents (aside, &kept, NULL, NULL));
    assert_string_equal (kept, damaged[i].contents);
    assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    assert_int_equal (amigo_migration_log_get_n_records (log), 0);
    amigo_migration_log_get_calibration (log, &cal);
    assert_int_equal (cal.n_observations, 0);

    make_record (1, 1.0, &r);
    amigo_migration_log_add (log, &r);
    assert_true (amigo_migration_log_save (log, NULL));
    assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
    amigo_test_rm_rf (dir);
  }
}

/* A file far larger than 200 records can be is not read whole. */
static void
test_log_oversized_file (void **state)
{
  g_autofree char *dir = make_state_dir ();
  g_autofree char *big = g_strnfill (AMIGO_MIGRATION_LOG_MAX_FILE_BYTES + 1, ' ');
  g_autoptr (AmigoMigrationLog) log = amigo_migration_log_new (dir);
  g_auto (GStrv) warnings = NULL;

  write_file (dir, AMIGO_MIGRATION_LOG_FILE, big);
  warnings = amigo_migration_log_load (log);
  assert_non_null (warnings[0]);
  amigo_test_assert_contains (warnings[0], "4194305 bytes, more than the 4194304");
  amigo_test_assert_contains (warnings[0], ".damaged");
  amigo_test_rm_rf (dir);
}

/* No files yet: a fresh start without a warning. */
static void
test_log_fresh_start (void **state)
{
  g_autofree char *dir = make_state_dir ();
  g_autoptr (AmigoMigrationLog) log = amigo_migration_log_new (dir);
  g_autoptr (AmigoMigrationLog) memory_only = amigo_migration_log_new (NULL);
  g_auto (GStrv) warnings = amigo_migration_log_load (log);
  g_auto (GStrv) none = amigo_migration_log_load (memory_only);

  assert_null (warnings[0]);
  assert_null (none[0]);
  assert_int_equal (amigo_migration_log_get_n_records (log), 0);
  assert_true (amigo_migration_log_save (memory_only, NULL));
  amigo_test_rm_rf (dir);
}

/* Migrations that take 1.5x what the model says teach the calibration: the
 * next plan's prediction is within 10 % of what they measure, and a
 * restart (save, load) gives the same plan. Failed or unmeasured ones teach
 * nothing. */
static void
test_log_learns (void **state)
{
  g_autofree char *dir = make_state_dir ();
  g_autoptr (AmigoMigrationLog) log = amigo_migration_log_new (dir);
  g_autoptr (AmigoMigrationLog) restarted = amigo_migration_log_new (dir);
  g_auto (AmigoMigrationPlan) before = { 0 };
  g_auto (AmigoMigrationPlan) after = { 0 };
  g_auto (AmigoMigrationPlan) after_restart = { 0 };
  g_auto (GStrv) warnings = NULL;
  AmigoOverheadCalibration cal, loaded;
  double measured_total;

  make_plan (NULL, &before);
  measured_total = 1.5 * before.model_total_usec;
  /* Off by 10 % before learning. */
  assert_true (fabs (before.predicted_total_usec / measured_total - 1) > 0.1);

  for (guint i = 0; i < 3; i++) {
    g_auto (AmigoMigrationRecord) failed = { 0 };
    make_record (100 + i, 3.0, &failed);
    failed.state = AMIGO_MIGRATION_OUTCOME_FAILED;
    assert_false (amigo_migration_log_add (log, &failed));
  }
  amigo_migration_log_get_calibration (log, &cal);
  assert_int_equal (cal.n_observations, 0);

  for (guint i = 0; i < 8; i++) {
    g_auto (AmigoMigrationRecord) r = { 0 };
    /* Planned as amigod would, with what was learned so far; measured 1.5x
     * the model, with +-5 % noise. */
    amigo_migration_log_get_calibration (log, &cal);
    make_record_calibrated (i, &cal, 1.5 * (i % 2 == 0 ? 1.05 : 0.95), &r);
    assert_true (amigo_migration_log_add (log, &r));
  }
  amigo_migration_log_get_calibration (log, &cal);
  assert_int_equal (cal.n_observations, 8);
  make_plan (&cal, &after);
  if (fabs (after.predicted_total_usec / measured_total - 1) > 0.1)
    fail_msg ("calibrated %" G_GINT64_FORMAT " us, measured %.0f us", after.predicted_total_usec, measured_total);
  assert_true (fabs ((double) after.predicted_data_bytes / (1.5 * before.model_data_bytes) - 1) < 0.1);
  /* The uncalibrated figures do not move: they are what the learning compares with. */
  assert_int_equal (after.model_total_usec, before.model_total_usec);

  assert_true (amigo_migration_log_save (log, NULL));
  warnings = amigo_migration_log_load (restarted);
  assert_null (warnings[0]);
  amigo_migration_log_get_calibration (restarted, &loaded);
  assert_int_equal (loaded.n_observations, cal.n_observations);
  make_plan (&loaded, &after_restart);
  assert_int_equal (after_restart.predicted_total_usec, after.predicted_total_usec);
  assert_int_equal (after_restart.predicted_data_bytes, after.predicted_data_bytes);
  assert_int_equal (after_restart.timeout_usec, after.timeout_usec);
  assert_string_equal (after_restart.reason, after.reason);
  amigo_test_rm_rf (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_log_json_round_trip),
    cmocka_unit_test (test_log_writes_what_it_reads),
    cmocka_unit_test (test_log_parse_refusals),
    cmocka_unit_test (test_log_parse_fuzz),
    cmocka_unit_test (test_log_cap_and_persistence),
    cmocka_unit_test (test_log_parse_keeps_newest),
    cmocka_unit_test (test_record_variants),
    cmocka_unit_test (test_log_damaged_files),
    cmocka_unit_test (test_log_oversized_file),
    cmocka_unit_test (test_log_fresh_start),
    cmocka_unit_test (test_log_learns),
  };
  /* A GLib critical in the parser is a bug, not a refusal. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return cmocka_run_group_tests_name ("migration-log", tests, NULL, NULL);
}
