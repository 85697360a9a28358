/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "amigo-error.h"
#include "amigo-trace.h"

#define BB_HEADER                                                                                                  \
  "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\t"             \
  "Memory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\t"                          \
  "Disk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n"

/* 4 cores of 2600 MHz. Every quirk of the real Bitbrains files:
 * row 2 is 301 s after row 1 (jitter, no gap), row 3 uses scientific
 * notation and runs above 100 %, memory 0 (missing) on row 3, then a
 * duplicated timestamp whose first copy is a zero-core row, then a 900 s
 * gap (two missing steps), memory above provisioned on the last row. */
static const char bitbrains_quirks[] =
  BB_HEADER
  "1375308176;\t4;\t10400.0;\t5200.0;\t50.0;\t4194304.0;\t2.097152E6;\t10.0;\t20.0;\t100.0;\t28.0\n"
  "1375308477;\t4;\t10400.0;\t2600.0;\t25.0;\t4194304.0;\t1048576.0;\t0.0;\t0.0;\t0.0;\t0.0\n"
  "1375308777;\t4;\t1.04E4;\t10816.0;\t104.0;\t4.194304E6;\t0.0;\t1.5E1;\t5;\t0;\t0\n"
  "1375309077;\t0;\t0.0;\t0.0;\t0.0;\t0.0;\t524288.0;\t0.0;\t0.0;\t0.0;\t0.0\n"
  "1375309077;\t4;\t10400.0;\t1300.0;\t12.5;\t4194304.0;\t524288.0;\t1.0;\t1.0;\t1.0;\t1.0\n"
  "1375309977;\t4;\t10400.0;\t5200.0;\t50.0;\t4194304.0;\t5242880.0;\t2.0;\t2.0;\t2.0;\t2.0\n";

static char *
make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("amigo-trace-test-XXXXXX", &error);

  assert_non_null (dir);
  return dir;
}

static char *
write_file (const char *dir, const char *name, const char *data, gssize len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  assert_int_equal (g_mkdir_with_parents (parent, 0755), 0);
  assert_true (g_file_set_contents (path, data, len, &error));
  return path;
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

static void
assert_close (double got, double want)
{
  if (!(fabs (got - want) <= 1e-9 * MAX (1.0, fabs (want))))
    fail_msg ("got %.12g, want %.12g", got, want);
}

/* Bitbrains: the units a reservation is made in, and every quirk survives. */
static void
test_trace_bitbrains_quirks (void **state)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = write_file (dir, "vm with space.csv", bitbrains_quirks, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = amigo_trace_load (path, &error);
  const double *cpu, *mem, *net, *disk;

  assert_null (error);
  assert_non_null (trace);
  assert_int_equal (trace->format, AMIGO_TRACE_FORMAT_BITBRAINS);
  /* "Timestamp [ms]" holds seconds: 2013-07-31, not 1970 */
  assert_true (trace->start_usec == G_GINT64_CONSTANT (1375308176) * 1000000);
  assert_true (trace->step_usec == 300 * G_GINT64_CONSTANT (1000000));
  /* 301 s jitter is one step; the 900 s gap is three steps: 0,1,2,3,(4),(5),6 */
  assert_int_equal (trace->n_values, 7);
  assert_int_equal (trace->n_rows, 6);
  assert_int_equal (trace->n_dropped, 1); /* the zero-core row */

  cpu = trace->values[AMIGO_RESOURCE_CPU];
  mem = trace->values[AMIGO_RESOURCE_MEMORY];
  net = trace->values[AMIGO_RESOURCE_NETWORK];
  disk = trace->values[AMIGO_RESOURCE_DISK];
  assert_non_null (cpu);
  assert_non_null (mem);
  assert_non_null (net);
  assert_non_null (disk);
  assert_null (trace->values[AMIGO_RESOURCE_GPU_MEMORY]);

  /* cores in use = MHz used / MHz per core */
  assert_close (cpu[0], 2.0);
  assert_close (cpu[1], 1.0);
  assert_close (cpu[2], 4.16); /* 104 %: above the provisioned cores, kept */
  assert_close (cpu[3], 0.5);  /* the real row of the duplicated timestamp */
  assert_true (isnan (cpu[4]) && isnan (cpu[5]));
  assert_close (cpu[6], 2.0);

  /* memory GiB from KB, scientific notation, 0 = missing, above provisioned kept */
  assert_close (mem[0], 2.0);
  assert_close (mem[1], 1.0);
  assert_true (isnan (mem[2]));
  assert_close (mem[3], 0.5);
  assert_close (mem[6], 5.0);

  /* network rx + tx KB/s -> Mbit/s; disk read + write KB/s, labelled as such */
  assert_close (net[0], 128.0 * 1024 * 8 / 1e6);
  assert_close (disk[0], 30.0);
  assert_close (disk[2], 20.0);
  assert_string_equal (trace->units[AMIGO_RESOURCE_DISK], "KB/s");
  assert_string_equal (trace->units[AMIGO_RESOURCE_CPU], "cores");
  assert_string_equal (trace->units[AMIGO_RESOURCE_MEMORY], "GiB");
  assert_string_equal (trace->units[AMIGO_RESOURCE_NETWORK], "Mbit/s");

  remove_tree (dir);
}

/* Timestamps that really are milliseconds are read as such. */
static void
test_trace_bitbrains_real_milliseconds (void **state)
{
  const char data[] = BB_HEADER
    "1375308176000;4;10400;2600;25;4194304;1048576;0;0;0;0\n"
    "1375308476000;4;10400;2600;25;4194304;1048576;0;0;0;0\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = amigo_trace_parse ("ms.csv", data, strlen (data), &error);

  assert_non_null (trace);
  assert_true (trace->start_usec == G_GINT64_CONSTANT (1375308176) * 1000000);
  assert_int_equal (trace->n_values, 2);
}

/* PlanetLab: percent of one VM -> cores, time from the directory date. */
static void
test_trace_planetlab (void **state)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr(GString) day = g_string_new (NULL);
  g_autofree char *dated = NULL;
  g_autofree char *undated = NULL;
  g_autoptr(AmigoTrace) trace = NULL;
  g_autoptr(AmigoTrace) trace2 = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 288; i++)
    g_string_append_printf (day, "%u\n", (i * 7) % 100);
  dated = write_file (dir, "20110303/planetlab4_rutgers_edu_ rnp_dcc_ufjf", day->str, -1);
  undated = write_file (dir, "misc/node_slice", day->str, -1);

  trace = amigo_trace_load (dated, &error);
  assert_null (error);
  assert_non_null (trace);
  assert_int_equal (trace->format, AMIGO_TRACE_FORMAT_PLANETLAB);
  assert_int_equal (trace->n_values, 288);
  /* 2011-03-03 00:00 UTC */
  assert_true (trace->start_usec == G_GINT64_CONSTANT (1299110400) * 1000000);
  assert_true (trace->step_usec == 300 * G_GINT64_CONSTANT (1000000));
  assert_close (trace->values[AMIGO_RESOURCE_CPU][1], 0.07);
  assert_close (trace->values[AMIGO_RESOURCE_CPU][14], 0.98);
  /* CPU only */
  assert_null (trace->values[AMIGO_RESOURCE_MEMORY]);
  assert_false (amigo_trace_has_resource (trace, AMIGO_RESOURCE_MEMORY));
  assert_true (amigo_trace_has_resource (trace, AMIGO_RESOURCE_CPU));

  trace2 = amigo_trace_load (undated, &error);
  assert_non_null (trace2);
  assert_true (trace2->start_usec == 0);

  remove_tree (dir);
}

/* amigo-trace v1: empty field = missing, own step, only the columns given. */
static void
test_trace_amigo_format (void **state)
{
  const char data[] = "# amigo-trace v1\n"
                      "# recorded on host a\n"
                      "# step_s=60\n"
                      "time_s,cpu_cores,memory_gib,disk_iops\n"
                      "1000,0.5,2.0,\n"
                      "1060,,2.5,300\n"
                      "1180,1.5,3.0,10\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = amigo_trace_parse ("own.trace", data, strlen (data), &error);

  assert_null (error);
  assert_non_null (trace);
  assert_int_equal (trace->format, AMIGO_TRACE_FORMAT_AMIGO);
  assert_true (trace->step_usec == 60 * G_GINT64_CONSTANT (1000000));
  assert_true (trace->start_usec == 1000 * G_GINT64_CONSTANT (1000000));
  assert_int_equal (trace->n_values, 4);
  assert_close (trace->values[AMIGO_RESOURCE_CPU][0], 0.5);
  assert_true (isnan (trace->values[AMIGO_RESOURCE_CPU][1]));
  assert_true (isnan (trace->values[AMIGO_RESOURCE_CPU][2])); /* gap */
  assert_close (trace->values[AMIGO_RESOURCE_CPU][3], 1.5);
  assert_true (isnan (trace->values[AMIGO_RESOURCE_DISK][0]));
  assert_close (trace->values[AMIGO_RESOURCE_DISK][1], 300);
  assert_string_equal (trace->units[AMIGO_RESOURCE_DISK], "IOPS");
  assert_null (trace->values[AMIGO_RESOURCE_NETWORK]);
}

/* The format comes from the content, never the file name. */
static void
test_trace_detect_by_content (void **state)
{
  const char planetlab[] = "12\n0\n7\n";
  const char amigo[] = "# amigo-trace v1\ntime_s,cpu_cores\n0,1\n";
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *p1 = write_file (dir, "looks-like-planetlab", bitbrains_quirks, -1);
  g_autofree char *p2 = write_file (dir, "trace.csv", planetlab, -1);
  g_autofree char *p3 = write_file (dir, "20110303", amigo, -1);
  g_autoptr(AmigoTrace) t1 = amigo_trace_load (p1, NULL);
  g_autoptr(AmigoTrace) t2 = amigo_trace_load (p2, NULL);
  g_autoptr(AmigoTrace) t3 = amigo_trace_load (p3, NULL);

  assert_int_equal (amigo_trace_detect_format (bitbrains_quirks, strlen (bitbrains_quirks)),
                    AMIGO_TRACE_FORMAT_BITBRAINS);
  assert_int_equal (amigo_trace_detect_format (planetlab, strlen (planetlab)), AMIGO_TRACE_FORMAT_PLANETLAB);
  assert_int_equal (amigo_trace_detect_format (amigo, strlen (amigo)), AMIGO_TRACE_FORMAT_AMIGO);
  assert_int_equal (amigo_trace_detect_format ("hello\n", 6), AMIGO_TRACE_FORMAT_UNKNOWN);
  assert_int_equal (amigo_trace_detect_format ("", 0), AMIGO_TRACE_FORMAT_UNKNOWN);
  assert_non_null (t1);
  assert_non_null (t2);
  assert_non_null (t3);
  assert_int_equal (t1->format, AMIGO_TRACE_FORMAT_BITBRAINS);
  assert_int_equal (t2->format, AMIGO_TRACE_FORMAT_PLANETLAB);
  assert_int_equal (t3->format, AMIGO_TRACE_FORMAT_AMIGO);
  remove_tree (dir);
}

typedef struct {
  const char *name;
  const char *data;
  gssize len;
  const char *says; /* the error names the file and says this */
} BadFile;

/* Every unreadable file is refused with its name, the line and what was
 * wrong; the good files beside it still load. */
static void
test_trace_bad_files (void **state)
{
  static const char binary[] = "\x7f" "ELF\x02\x01\x01\0\0\0";
  const BadFile bad[] = {
    { "empty", "", 0, "empty file" },
    { "binary.bin", binary, sizeof binary, "binary file" },
    { "notes.txt", "just some notes\n", -1, "not a known trace format" },
    { "bad-number.csv", BB_HEADER "1375308176;4;10400;abc;25;4194304;1048576;0;0;0;0\n", -1,
      "line 2: column 'CPU usage [MHZ]': 'abc' is not a number" },
    { "short-row.csv", BB_HEADER "1375308176;4;10400\n", -1, "line 2: expected 11 fields, found 3" },
    { "negative.csv", BB_HEADER "1375308176;4;10400;-5;25;4194304;1048576;0;0;0;0\n", -1, "negative value" },
    { "header-only.csv", BB_HEADER, -1, "no data rows" },
    { "no-cpu-header.csv", "Timestamp [ms];\tMemory usage [KB]\n1;2\n", -1, "no 'CPU cores' column" },
    { "pl-bad", "12\n13\nx14\n", -1, "line 3: column 'CPU %': 'x14' is not a number" },
    { "pl-nan", "12\nnan\n", -1, "line 2" },
    { "amigo-v2", "# amigo-trace v2\ntime_s,cpu_cores\n0,1\n", -1, "unsupported version" },
    { "amigo-col", "# amigo-trace v1\ntime_s,cpu_mhz\n0,1\n", -1, "line 2: unknown column 'cpu_mhz'" },
    { "amigo-nohdr", "# amigo-trace v1\n", -1, "no header line" },
    { "amigo-span", "# amigo-trace v1\ntime_s,cpu_cores\n0,1\n1e12,1\n", -1, "refusing to allocate" },
  };
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *good = write_file (dir, "good/8.csv", bitbrains_quirks, -1);
  g_autofree char *missing = g_build_filename (dir, "does-not-exist", NULL);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  guint n_good = 0;
  guint n_bad = 0;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *path = write_file (dir, bad[i].name, bad[i].data, bad[i].len);
    g_autoptr(AmigoTrace) trace = amigo_trace_load (path, &error);

    if (trace != NULL)
      fail_msg ("'%s' was accepted", bad[i].name);
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA));
    if (strstr (error->message, path) == NULL || strstr (error->message, bad[i].says) == NULL)
      fail_msg ("error for '%s' is '%s', expected the path and '%s'", bad[i].name, error->message, bad[i].says);
    g_clear_error (&error);
  }

  /* a directory given as a file, and a dangling link */
  {
    g_autofree char *link = g_build_filename (dir, "dangling", NULL);
    g_autoptr(AmigoTrace) t1 = amigo_trace_load (dir, &error);
    g_autoptr(AmigoTrace) t2 = NULL;

    assert_null (t1);
    assert_non_null (strstr (error->message, "not a regular file"));
    g_clear_error (&error);
    assert_int_equal (symlink ("/nonexistent/trace", link), 0);
    t2 = amigo_trace_load (link, &error);
    assert_null (t2);
    assert_non_null (strstr (error->message, "dangling"));
    g_clear_error (&error);
  }

  /* the whole directory, recursed: every file is seen, only the good one loads */
  assert_true (amigo_trace_collect_files (dir, files, &error));
  assert_int_equal (files->len, G_N_ELEMENTS (bad) + 2);
  for (guint i = 0; i < files->len; i++) {
    g_autoptr(AmigoTrace) trace = amigo_trace_load (g_ptr_array_index (files, i), NULL);
    if (trace != NULL)
      n_good++;
    else
      n_bad++;
  }
  assert_int_equal (n_good, 1);
  assert_int_equal (n_bad, G_N_ELEMENTS (bad) + 1);
  assert_false (amigo_trace_collect_files (missing, files, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND));
  assert_non_null (strstr (error->message, "does-not-exist"));
  remove_tree (dir);
}

/* Input never makes the reader allocate without bound. */
static void
test_trace_row_limit (void **state)
{
  gsize n = AMIGO_TRACE_MAX_ROWS + 1;
  g_autofree char *data = g_malloc (2 * n);
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoTrace) trace = NULL;

  for (gsize i = 0; i < n; i++) {
    data[2 * i] = '1';
    data[2 * i + 1] = '\n';
  }
  trace = amigo_trace_parse ("huge", data, 2 * n, &error);
  assert_null (trace);
  assert_non_null (strstr (error->message, "refusing to read further"));
  g_clear_error (&error);
  /* one row fewer is accepted */
  trace = amigo_trace_parse ("big", data, 2 * (n - 1), &error);
  assert_non_null (trace);
  assert_int_equal (trace->n_values, n - 1);
}

/* Whether ROOT/DIR/SUB/NAME exists; frees its path before returning, so a
 * caller can skip() right after. */
static gboolean
shared_file_exists (const char *root, const char *dir, const char *sub, const char *name)
{
  g_autofree char *path = g_build_filename (root, dir, sub, name, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* The real traces, if present: every file loads, with the documented sizes. */
static void
test_trace_real_data (void **state)
{
  const char *root = g_getenv ("AMIGO_SHARED_DATA") != NULL ? g_getenv ("AMIGO_SHARED_DATA") : AMIGO_SHARED_DATA;
  g_autofree char *bb = NULL;
  g_autofree char *short_vm = NULL;
  g_autoptr(AmigoTrace) t82 = NULL;
  g_autoptr(AmigoTrace) t165 = NULL;
  g_autoptr(GError) error = NULL;
  gsize n_missing = 0;

  /* skip() jumps out of this frame: nothing may be allocated before it,
   * or the sanitizer reports the leak in a clone without the traces. */
  if (!shared_file_exists (root, "bitbrains-rnd", "2013-8", "82.csv"))
    skip ();
  bb = g_build_filename (root, "bitbrains-rnd", "2013-8", "82.csv", NULL);
  short_vm = g_build_filename (root, "bitbrains-rnd", "2013-7", "165.csv", NULL);
  t82 = amigo_trace_load (bb, &error);
  assert_null (error);
  /* 82.csv: 16,982 rows; only 4,449 have cores > 0, the last of them at
   * 1376645475 (after that the VM has only zero-core rows), so the grid
   * ends there: (1376645475 - 1375308176) / 300 = 4,457.7 steps */
  assert_int_equal (t82->n_rows, 16982);
  assert_int_equal (t82->n_dropped, 16982 - 4449);
  assert_true (t82->n_values >= 4457 && t82->n_values <= 4459);
  for (gsize i = 0; i < t82->n_values; i++)
    n_missing += isnan (t82->values[AMIGO_RESOURCE_CPU][i]);
  assert_true (n_missing < t82->n_values / 20);
  t165 = amigo_trace_load (short_vm, &error);
  assert_null (error);
  assert_int_equal (t165->n_rows, 119);
}

/* Random mutations of valid traces: the readers never crash, and every
 * refusal is an amigo error that names the file. */
static void
test_trace_fuzz (void **state)
{
  const char *seeds[] = {
    bitbrains_quirks,
    "12\n0\n7\n99\n100\n3\n",
    "# amigo-trace v1\n# step_s=60\ntime_s,cpu_cores,memory_gib,network_mbit_s\n0,1,2,3\n60,,2.5,\n180,1e1,3,4\n",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20130801);
  guint accepted = 0;
  guint refused = 0;

  for (guint iter = 0; iter < 3000; iter++) {
    const char *seed = seeds[iter % G_N_ELEMENTS (seeds)];
    g_autoptr(GByteArray) buf = g_byte_array_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(AmigoTrace) trace = NULL;
    guint n_mutations = (guint) g_rand_int_range (rand, 1, 6);

    g_byte_array_append (buf, (const guint8 *) seed, (guint) strlen (seed));
    for (guint m = 0; m < n_mutations && buf->len > 0; m++) {
      guint pos = (guint) g_rand_int_range (rand, 0, (gint32) buf->len);
      static const char interesting[] = ";\t,\n\r#.-e0123456789 \0\xff";
      switch (g_rand_int_range (rand, 0, 5)) {
      case 0: /* flip a byte */
        buf->data[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
        break;
      case 1: /* put in an interesting byte */
        buf->data[pos] = (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
        break;
      case 2: /* truncate */
        g_byte_array_set_size (buf, pos);
        break;
      case 3: { /* delete a run */
        guint len = (guint) g_rand_int_range (rand, 1, 20);
        g_byte_array_remove_range (buf, pos, MIN (len, buf->len - pos));
        break;
      }
      default: { /* repeat a chunk */
        guint want = (guint) g_rand_int_range (rand, 1, 80);
        guint len = MIN (want, buf->len - pos);
        g_autofree guint8 *chunk = g_memdup2 (buf->data + pos, len);
        g_byte_array_append (buf, chunk, len);
        break;
      }
      }
    }
    trace = amigo_trace_parse ("fuzz-case", (const char *) buf->data, buf->len, &error);
    if (trace != NULL) {
      accepted++;
      assert_null (error);
      assert_true (trace->n_values >= 1 && trace->n_values <= AMIGO_TRACE_MAX_STEPS);
      assert_true (trace->step_usec > 0);
      assert_true (amigo_trace_has_resource (trace, AMIGO_RESOURCE_CPU) ||
                   trace->values[AMIGO_RESOURCE_CPU] == NULL || trace->n_values > 0);
      for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
        for (gsize i = 0; trace->values[r] != NULL && i < trace->n_values; i++)
          assert_true (isnan (trace->values[r][i]) || (isfinite (trace->values[r][i]) && trace->values[r][i] >= 0));
      }
    } else {
      refused++;
      assert_non_null (error);
      assert_true (error->domain == AMIGO_ERROR);
      assert_non_null (strstr (error->message, "'fuzz-case'"));
      assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  }
  /* the loop really exercised both paths */
  assert_true (accepted > 100);
  assert_true (refused > 100);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_trace_bitbrains_quirks),
    cmocka_unit_test (test_trace_bitbrains_real_milliseconds),
    cmocka_unit_test (test_trace_planetlab),
    cmocka_unit_test (test_trace_amigo_format),
    cmocka_unit_test (test_trace_detect_by_content),
    cmocka_unit_test (test_trace_bad_files),
    cmocka_unit_test (test_trace_row_limit),
    cmocka_unit_test (test_trace_real_data),
    cmocka_unit_test (test_trace_fuzz),
  };
  return cmocka_run_group_tests_name ("trace", tests, NULL, NULL);
}
