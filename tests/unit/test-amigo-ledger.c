/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib/gstdio.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-ledger.h"
#include "amigo-time.h"

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define UUID_C "01234567-89ab-cdef-0123-456789abcdef"
#define BYTE (1.0 / AMIGO_BYTES_PER_GIB)
#define LEASE (10 * AMIGO_USEC_PER_MIN)

/* 16 cores, 32 GiB, 10 Gbit/s, 20000 IOPS, no GPU; 2 cores and 4 GiB kept
 * for the host; CPU overcommitted 2x. Room: 28 cores, 28 GiB. */
static AmigoLedger *
host_ledger (void)
{
  const double cap[AMIGO_RESOURCE_LAST] = { 16, 32, 10000, 20000, 0 };
  const double res[AMIGO_RESOURCE_LAST] = { 2, 4, 0, 0, 0 };
  const double over[AMIGO_RESOURCE_LAST] = { 2, 1, 1, 1, 1 };
  AmigoLedger *l = amigo_ledger_new (cap, res, over, NULL);

  assert_non_null (l);
  return l;
}

/* What is free after reservations is admitted to the byte; one byte more is
 * refused with the message naming the resource and both amounts. */
static void
test_ledger_admission_to_the_byte (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autoptr(GError) error = NULL;
  double held[AMIGO_RESOURCE_LAST] = { 4, 26.1, 0, 0, 0 };
  double want[AMIGO_RESOURCE_LAST] = { 1, 1.9 + BYTE, 0, 0, 0 };
  double fits[AMIGO_RESOURCE_LAST] = { 1, 0, 0, 0, 0 };
  double avail[AMIGO_RESOURCE_LAST];

  assert_true (amigo_ledger_hold (l, UUID_A, held, 0, NULL));
  amigo_ledger_get_free (l, avail);
  fits[AMIGO_RESOURCE_MEMORY] = avail[AMIGO_RESOURCE_MEMORY];
  want[AMIGO_RESOURCE_MEMORY] = avail[AMIGO_RESOURCE_MEMORY] + BYTE;

  assert_false (amigo_ledger_reserve (l, UUID_B, want, LEASE, 0, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED));
  assert_string_equal (error->message, "memory: need 1.900000001 GiB, 1.900000000 GiB free after reservations");
  assert_false (amigo_ledger_lookup (l, UUID_B, NULL));

  assert_true (amigo_ledger_reserve (l, UUID_B, fits, LEASE, 0, NULL, NULL));
}

/* The message of the task, and several short resources named together. */
static void
test_ledger_refusal_message (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  double held[AMIGO_RESOURCE_LAST] = { 0, 27.1, 0, 0, 0 };
  double want[AMIGO_RESOURCE_LAST] = { 1, 1.42, 0, 0, 0 };
  double big[AMIGO_RESOURCE_LAST] = { 30, 1.42, 0, 25000, 0.5 };

  assert_true (amigo_ledger_hold (l, UUID_A, held, 0, NULL));
  assert_false (amigo_ledger_reserve (l, UUID_B, want, LEASE, 0, NULL, &error));
  assert_string_equal (error->message, "memory: need 1.42 GiB, 0.90 GiB free after reservations");

  assert_false (amigo_ledger_reserve (l, UUID_B, big, LEASE, 0, NULL, &error2));
  assert_string_equal (error2->message,
                       "cpu: need 30.00 cores, 28.00 cores free after reservations; "
                       "memory: need 1.42 GiB, 0.90 GiB free after reservations; "
                       "disk: need 25000.00 IOPS, 20000.00 IOPS free after reservations; "
                       "gpu_memory: need 0.50 GiB, 0.00 GiB free after reservations");
}

typedef struct {
  AmigoLedger *ledger;
  char uuid[AMIGO_UUID_BUFLEN];
  GMutex *start;
  gboolean admitted;
} Racer;

static gpointer
race (gpointer data)
{
  Racer *r = data;
  const double want[AMIGO_RESOURCE_LAST] = { 1, 20, 0, 0, 0 };

  g_mutex_lock (r->start);
  g_mutex_unlock (r->start);
  r->admitted = amigo_ledger_reserve (r->ledger, r->uuid, want, LEASE, 0, NULL, NULL);
  return NULL;
}

#define RACERS 8

/* Migrations arriving together where there is room for one (28 GiB, 20
 * each): exactly one is admitted, whatever the interleaving. Thousands of
 * small held entries make the check long enough for the threads to meet
 * inside it. */
static void
test_ledger_two_for_one_room (void **state)
{
  const double tiny[AMIGO_RESOURCE_LAST] = { 0, 0, 0, 0, 0 };

  for (int round = 0; round < 10; round++) {
    g_autoptr(AmigoLedger) l = host_ledger ();
    GMutex start;
    Racer r[RACERS];
    GThread *t[RACERS];
    double avail[AMIGO_RESOURCE_LAST];
    guint admitted = 0;

    for (guint i = 0; i < 2000; i++) {
      g_autofree char *u = g_strdup_printf ("00000000-0000-0000-0000-%012u", i);
      assert_true (amigo_ledger_hold (l, u, tiny, 0, NULL));
    }
    g_mutex_init (&start);
    g_mutex_lock (&start);
    for (guint i = 0; i < RACERS; i++) {
      r[i] = (Racer) { .ledger = l, .start = &start };
      g_snprintf (r[i].uuid, sizeof r[i].uuid, "ffffffff-0000-0000-0000-%012u", i);
      t[i] = g_thread_new ("racer", race, &r[i]);
    }
    g_mutex_unlock (&start);
    for (guint i = 0; i < RACERS; i++) {
      g_thread_join (t[i]);
      admitted += r[i].admitted;
    }
    g_mutex_clear (&start);
    assert_int_equal (admitted, 1);
    amigo_ledger_get_free (l, avail);
    assert_float_equal (avail[AMIGO_RESOURCE_MEMORY], 8.0, 0);
  }
}

/* Release gives back exactly what was taken, bit for bit, whatever order
 * the entries came and went in. */
static void
test_ledger_release_restores (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autoptr(GError) error = NULL;
  double before[AMIGO_RESOURCE_LAST], after[AMIGO_RESOURCE_LAST];
  const double a[AMIGO_RESOURCE_LAST] = { 0.1, 0.7, 3.3, 17, 0 };
  const double b[AMIGO_RESOURCE_LAST] = { 0.2, 1.1, 0.01, 1e-3, 0 };
  const double c[AMIGO_RESOURCE_LAST] = { 0.3, 2.9, 7.7, 0.3, 0 };

  assert_true (amigo_ledger_hold (l, UUID_C, c, 0, NULL));
  amigo_ledger_get_free (l, before);
  assert_true (amigo_ledger_reserve (l, UUID_A, a, LEASE, 0, NULL, NULL));
  assert_true (amigo_ledger_reserve (l, UUID_B, b, LEASE, 0, NULL, NULL));
  assert_true (amigo_ledger_release (l, UUID_A, NULL));
  assert_true (amigo_ledger_release (l, UUID_B, NULL));
  amigo_ledger_get_free (l, after);
  assert_memory_equal (before, after, sizeof before);

  assert_false (amigo_ledger_release (l, UUID_A, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
}

static void
test_ledger_lease_expiry (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  const double want[AMIGO_RESOURCE_LAST] = { 1, 1, 0, 0, 0 };
  AmigoReservation r;

  assert_true (amigo_ledger_reserve (l, UUID_A, want, LEASE, 1000, &r, NULL));
  assert_int_equal (r.lease_expiry_usec, 1000 + LEASE);
  assert_int_equal (r.state, AMIGO_LEDGER_STATE_PENDING);
  assert_true (amigo_ledger_reserve (l, UUID_B, want, 2 * LEASE, 1000, NULL, NULL));
  assert_true (amigo_ledger_reserve (l, UUID_C, want, LEASE, 1000, NULL, NULL));
  assert_true (amigo_ledger_activate (l, UUID_C, NULL));

  assert_int_equal (amigo_ledger_expire (l, 1000 + LEASE - 1), 0);
  assert_int_equal (amigo_ledger_expire (l, 1000 + LEASE), 1);
  assert_false (amigo_ledger_lookup (l, UUID_A, NULL));
  assert_true (amigo_ledger_lookup (l, UUID_B, NULL));
  /* a held entry does not expire: its domain arrived */
  assert_true (amigo_ledger_lookup (l, UUID_C, NULL));
  assert_int_equal (amigo_ledger_expire (l, 1000 + 2 * LEASE), 1);
  assert_true (amigo_ledger_lookup (l, UUID_C, NULL));
}

/* After a restart: the migration that arrived is held, the one that failed
 * while amigod was down is released once its lease has ended, a held domain
 * that went away likewise; one still in its lease stays. */
static void
test_ledger_reconcile (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  const double want[AMIGO_RESOURCE_LAST] = { 1, 1, 0, 0, 0 };
  const char *running[] = { UUID_A, NULL };
  guint activated = 99, released = 99;
  AmigoReservation r;

  assert_true (amigo_ledger_reserve (l, UUID_A, want, LEASE, 0, NULL, NULL));
  assert_true (amigo_ledger_reserve (l, UUID_B, want, LEASE, 0, NULL, NULL));
  assert_true (amigo_ledger_hold (l, UUID_C, want, 0, NULL));

  amigo_ledger_reconcile (l, running, LEASE / 2, &activated, &released);
  assert_int_equal (activated, 1);
  assert_int_equal (released, 1); /* C: held, gone, lease 0 */
  assert_true (amigo_ledger_lookup (l, UUID_A, &r));
  assert_int_equal (r.state, AMIGO_LEDGER_STATE_HELD);
  assert_true (amigo_ledger_lookup (l, UUID_B, NULL));
  assert_false (amigo_ledger_lookup (l, UUID_C, NULL));

  amigo_ledger_reconcile (l, running, LEASE, &activated, &released);
  assert_int_equal (activated, 0);
  assert_int_equal (released, 1);
  assert_false (amigo_ledger_lookup (l, UUID_B, NULL));
  assert_true (amigo_ledger_lookup (l, UUID_A, NULL));
}

static void
test_ledger_bad_args (void **state)
{
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autoptr(GError) e3 = NULL;
  g_autoptr(GError) e4 = NULL;
  double want[AMIGO_RESOURCE_LAST] = { 1, -1, 0, 0, 0 };
  const double ok[AMIGO_RESOURCE_LAST] = { 1, 1, 0, 0, 0 };
  const double cap[AMIGO_RESOURCE_LAST] = { 1, 1, 1, 1, 1 };
  const double res[AMIGO_RESOURCE_LAST] = { 0, 2, 0, 0, 0 };

  assert_false (amigo_ledger_reserve (l, "not-a-uuid", ok, LEASE, 0, NULL, &e1));
  assert_true (g_error_matches (e1, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (e1->message, "'not-a-uuid'"));
  assert_false (amigo_ledger_reserve (l, UUID_A, want, LEASE, 0, NULL, &e2));
  assert_non_null (strstr (e2->message, "memory"));
  assert_true (amigo_ledger_reserve (l, UUID_A, ok, LEASE, 0, NULL, NULL));
  assert_false (amigo_ledger_reserve (l, UUID_A, ok, LEASE, 0, NULL, &e3));
  assert_true (g_error_matches (e3, AMIGO_ERROR, AMIGO_ERROR_BUSY));
  assert_null (amigo_ledger_new (cap, res, NULL, &e4));
  assert_non_null (strstr (e4->message, "host reserve of memory"));
}

static char *
temp_dir (void)
{
  char *dir = g_dir_make_tmp ("amigo-ledger-XXXXXX", NULL);

  assert_non_null (dir);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (dir, name, NULL);
    g_unlink (p);
  }
  g_rmdir (dir);
}

/* @dir holds @name and nothing else (no temporary file left behind). */
static void
assert_only_file (const char *dir, const char *name)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);

  assert_non_null (d);
  assert_string_equal (g_dir_read_name (d), name);
  assert_null (g_dir_read_name (d));
}

static void
assert_same_ledger (AmigoLedger *a, AmigoLedger *b)
{
  g_autoptr(GArray) ea = amigo_ledger_dup_entries (a);
  g_autoptr(GArray) eb = amigo_ledger_dup_entries (b);
  double fa[AMIGO_RESOURCE_LAST], fb[AMIGO_RESOURCE_LAST];

  amigo_ledger_get_free (a, fa);
  amigo_ledger_get_free (b, fb);
  assert_memory_equal (fa, fb, sizeof fa);
  amigo_ledger_get_room (a, fa);
  amigo_ledger_get_room (b, fb);
  assert_memory_equal (fa, fb, sizeof fa);
  assert_int_equal (ea->len, eb->len);
  assert_memory_equal (ea->data, eb->data, ea->len * sizeof (AmigoReservation));
}

/* What is saved is read back bit for bit; no temporary file is left. */
static void
test_ledger_save_load (void **state)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "ledger.json", NULL);
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autoptr(AmigoLedger) back = NULL;
  g_autoptr(AmigoLedger) empty = NULL;
  g_autoptr(GError) error = NULL;
  const double a[AMIGO_RESOURCE_LAST] = { 0.1, 1.42, 1.0 / 3.0, 17, 0 };
  const double c[AMIGO_RESOURCE_LAST] = { 3, 2.9 + BYTE, 7.7, 0.3, 1e-9 };

  assert_true (amigo_ledger_reserve (l, UUID_A, a, LEASE, 123456789, NULL, NULL));
  assert_true (amigo_ledger_hold (l, UUID_C, c, -5, NULL));
  assert_true (amigo_ledger_save (l, path, &error));
  assert_only_file (dir, "ledger.json");
  back = amigo_ledger_load (path, &error);
  assert_non_null (back);
  assert_same_ledger (l, back);

  /* saved again over the old file */
  assert_true (amigo_ledger_release (l, UUID_A, NULL));
  assert_true (amigo_ledger_save (l, path, NULL));
  empty = amigo_ledger_load (path, NULL);
  assert_same_ledger (l, empty);
  remove_dir (dir);
}

/* Damage named by member path, the file set aside; a missing file and a
 * newer version are told apart and the latter is left in place. */
static void
test_ledger_load_errors (void **state)
{
  static const struct {
    const char *text;
    const char *expect;
  } cases[] = {
    { "", "ledger file" },
    { "[1,2]", "ledger file" },
    { "{\"version\": 1}", "'capacity' is missing" },
    { "{\"version\": 1, \"capacity\": {\"cpu\": 1, \"memory\": \"x\"}}", "'capacity.memory' must be" },
    { "{\"version\": 1, \"capacity\": {\"cpu\":1,\"memory\":1,\"network\":1,\"disk\":1,\"gpu_memory\":1},"
      "\"reserve\": {\"cpu\":0,\"memory\":0,\"network\":0,\"disk\":0,\"gpu_memory\":0},"
      "\"overcommit\": {\"cpu\":1,\"memory\":1,\"network\":1,\"disk\":1,\"gpu_memory\":1},"
      "\"entries\": [{\"uuid\": \"" UUID_A "\", \"state\": \"gone\"}]}", "'entries[0].state' must be" },
    { "{\"version\": 1, \"capacity\": {\"cpu\":1,\"memory\":1,\"network\":1,\"disk\":1,\"gpu_memory\":1},"
      "\"reserve\": {\"cpu\":0,\"memory\":0,\"network\":0,\"disk\":0,\"gpu_memory\":0},"
      "\"overcommit\": {\"cpu\":1,\"memory\":1,\"network\":1,\"disk\":1,\"gpu_memory\":1},"
      "\"entries\": [{\"uuid\": \"" UUID_A "\", \"state\": \"held\", \"lease_expiry_usec\": 0,"
      "\"amounts\": {\"cpu\":1,\"memory\":-1,\"network\":0,\"disk\":0,\"gpu_memory\":0}}]}",
      "'entries[0].amounts.memory' must be a finite number >= 0" },
  };
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "ledger.json", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = NULL;
    const char *name;
    guint aside = 0;

    assert_true (g_file_set_contents (path, cases[i].text, -1, NULL));
    assert_null (amigo_ledger_load (path, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT));
    assert_non_null (strstr (error->message, cases[i].expect));
    assert_non_null (strstr (error->message, "set aside as"));
    assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    d = g_dir_open (dir, 0, NULL);
    while ((name = g_dir_read_name (d)) != NULL) {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      aside += strstr (name, ".corrupt-") != NULL;
      g_unlink (p);
    }
    assert_int_equal (aside, 1);
  }

  {
    g_autoptr(GError) error = NULL;
    assert_null (amigo_ledger_load (path, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  }
  {
    g_autoptr(GError) error = NULL;
    assert_true (g_file_set_contents (path, "{\"version\": 7}", -1, NULL));
    assert_null (amigo_ledger_load (path, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
    assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  }
  remove_dir (dir);
}

/* Random damage to a saved ledger (flipped, deleted, inserted bytes,
 * truncation): never a crash; either it loads, or the error names the file
 * and it is set aside. */
static void
test_ledger_fuzz_file (void **state)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "ledger.json", NULL);
  g_autoptr(AmigoLedger) l = host_ledger ();
  g_autofree char *good = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  const double a[AMIGO_RESOURCE_LAST] = { 0.1, 1.42, 1.0 / 3.0, 17, 0 };
  static const char noise[] = "{}[]\",:0123456789.-eE\x01\xff nul";
  gsize len;
  guint loaded = 0, refused = 0;

  assert_true (amigo_ledger_reserve (l, UUID_A, a, LEASE, 0, NULL, NULL));
  assert_true (amigo_ledger_hold (l, UUID_B, a, 0, NULL));
  assert_true (amigo_ledger_save (l, path, NULL));
  assert_true (g_file_get_contents (path, &good, &len, NULL));

  for (int it = 0; it < 3000; it++) {
    g_autoptr(GByteArray) buf = g_byte_array_new ();
    g_autoptr(AmigoLedger) back = NULL;
    g_autoptr(GError) error = NULL;
    int n = g_rand_int_range (rand, 1, 6);

    g_byte_array_append (buf, (const guint8 *) good, len);
    for (int m = 0; m < n && buf->len > 0; m++) {
      guint pos = g_rand_int_range (rand, 0, buf->len);
      guint8 c = noise[g_rand_int_range (rand, 0, sizeof noise - 1)];

      switch (g_rand_int_range (rand, 0, 4)) {
      case 0: buf->data[pos] = c; break;
      case 1: g_byte_array_remove_index (buf, pos); break;
      case 2: g_array_insert_vals ((GArray *) buf, pos, &c, 1); break;
      default: g_byte_array_set_size (buf, pos); break;
      }
    }
    assert_true (g_file_set_contents (path, (const char *) buf->data, buf->len, NULL));
    back = amigo_ledger_load (path, &error);
    if (back != NULL) {
      loaded++;
    } else {
      refused++;
      assert_non_null (strstr (error->message, path));
    }
    remove_dir (dir);
    assert_true (g_mkdir (dir, 0700) == 0);
  }
  assert_true (refused > 0);
  remove_dir (dir);
  (void) loaded;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ledger_admission_to_the_byte),
    cmocka_unit_test (test_ledger_refusal_message),
    cmocka_unit_test (test_ledger_two_for_one_room),
    cmocka_unit_test (test_ledger_release_restores),
    cmocka_unit_test (test_ledger_lease_expiry),
    cmocka_unit_test (test_ledger_reconcile),
    cmocka_unit_test (test_ledger_bad_args),
    cmocka_unit_test (test_ledger_save_load),
    cmocka_unit_test (test_ledger_load_errors),
    cmocka_unit_test (test_ledger_fuzz_file),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
