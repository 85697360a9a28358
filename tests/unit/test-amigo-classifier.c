/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-time.h"
#include "amigo/amigo-reservation.h"

#define STEP (5 * AMIGO_USEC_PER_MIN)
#define DAY 288
#define N (7 * DAY)

/* Deterministic noise in [-1, 1]. */
static double
noise (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return ((*state >> 8) / (double) (1u << 24)) * 2.0 - 1.0;
}

typedef struct {
  double v[AMIGO_RESOURCE_LAST][N];
  AmigoVmHistory h;
} Vm;

static Vm *
vm_new (void)
{
  Vm *vm = g_new0 (Vm, 1);
  vm->h.dirty_rate_bytes_s = NAN;
  vm->h.label = AMIGO_WORKLOAD_CLASS_UNKNOWN;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    vm->h.resources[r].step_usec = STEP;
    vm->h.resources[r].values = vm->v[r];
  }
  return vm;
}

static void
vm_use (Vm *vm, AmigoResource r)
{
  vm->h.resources[r].n_values = N;
}

static AmigoWorkloadClass
classify (Vm *vm, double *ret_confidence)
{
  AmigoClassification c;
  g_autoptr(GError) error = NULL;

  assert_true (amigo_classifier_classify (&vm->h, &c, &error));
  assert_null (error);
  assert_true (c.confidence >= 0 && c.confidence <= 1);
  if (ret_confidence != NULL)
    *ret_confidence = c.confidence;
  return c.klass;
}

/* Idle: a few hundredths of a core, tiny memory and network. */
static void
test_idle (void **state)
{
  g_autofree Vm *vm = vm_new ();
  guint32 s = 1;
  for (gsize i = 0; i < N; i++) {
    vm->v[AMIGO_RESOURCE_CPU][i] = 0.01 + 0.005 * noise (&s);
    vm->v[AMIGO_RESOURCE_MEMORY][i] = 0.5;
    vm->v[AMIGO_RESOURCE_NETWORK][i] = 0.05;
  }
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm_use (vm, AMIGO_RESOURCE_MEMORY);
  vm_use (vm, AMIGO_RESOURCE_NETWORK);
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_IDLE);
}

/* Database: steady load, lots of memory per core, high dirty rate. */
static void
test_database (void **state)
{
  g_autofree Vm *vm = vm_new ();
  guint32 s = 2;
  double conf;
  for (gsize i = 0; i < N; i++) {
    vm->v[AMIGO_RESOURCE_CPU][i] = 2.0 + 0.3 * noise (&s);
    vm->v[AMIGO_RESOURCE_MEMORY][i] = 48.0 + 0.5 * noise (&s);
    vm->v[AMIGO_RESOURCE_NETWORK][i] = 20.0 + 5 * noise (&s);
  }
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm_use (vm, AMIGO_RESOURCE_MEMORY);
  vm_use (vm, AMIGO_RESOURCE_NETWORK);
  vm->h.dirty_rate_bytes_s = 150 * AMIGO_BYTES_PER_MIB;
  assert_int_equal (classify (vm, &conf), AMIGO_WORKLOAD_CLASS_DATABASE);
  assert_true (conf > 0.5);
}

/* Web server: a daily cycle of users and much network per core. */
static void
test_web_server (void **state)
{
  g_autofree Vm *vm = vm_new ();
  guint32 s = 3;
  for (gsize i = 0; i < N; i++) {
    double day = sin (2 * G_PI * (double) i / DAY);
    vm->v[AMIGO_RESOURCE_CPU][i] = 1.0 + 0.8 * day + 0.05 * noise (&s);
    vm->v[AMIGO_RESOURCE_MEMORY][i] = 2.0;
    vm->v[AMIGO_RESOURCE_NETWORK][i] = 200.0 * (1.0 + 0.8 * day);
  }
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm_use (vm, AMIGO_RESOURCE_MEMORY);
  vm_use (vm, AMIGO_RESOURCE_NETWORK);
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_WEB_SERVER);
}

/* Machine learning: eight cores near full for the whole week. */
static void
test_machine_learning (void **state)
{
  g_autofree Vm *vm = vm_new ();
  guint32 s = 4;
  for (gsize i = 0; i < N; i++) {
    vm->v[AMIGO_RESOURCE_CPU][i] = 7.6 + 0.3 * noise (&s);
    vm->v[AMIGO_RESOURCE_MEMORY][i] = 12.0;
    vm->v[AMIGO_RESOURCE_NETWORK][i] = 2.0;
  }
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm_use (vm, AMIGO_RESOURCE_MEMORY);
  vm_use (vm, AMIGO_RESOURCE_NETWORK);
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING);
}

/* Batch: jobs at full speed for 2 hours, then nothing for 4. */
static void
test_batch (void **state)
{
  g_autofree Vm *vm = vm_new ();
  guint32 s = 5;
  for (gsize i = 0; i < N; i++) {
    gboolean on = (i / 24) % 3 == 0;
    vm->v[AMIGO_RESOURCE_CPU][i] = on ? 4.0 + 0.1 * noise (&s) : 0.02;
    vm->v[AMIGO_RESOURCE_MEMORY][i] = 4.0;
    vm->v[AMIGO_RESOURCE_NETWORK][i] = on ? 5.0 : 0.1;
  }
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm_use (vm, AMIGO_RESOURCE_MEMORY);
  vm_use (vm, AMIGO_RESOURCE_NETWORK);
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_BATCH);
}

/* The administrator knows best: the label wins with full confidence. */
static void
test_label_overrides (void **state)
{
  g_autofree Vm *vm = vm_new ();
  double conf = 0;
  for (gsize i = 0; i < N; i++)
    vm->v[AMIGO_RESOURCE_CPU][i] = 0.01;
  vm_use (vm, AMIGO_RESOURCE_CPU);
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_IDLE);
  vm->h.label = AMIGO_WORKLOAD_CLASS_DATABASE;
  assert_int_equal (classify (vm, &conf), AMIGO_WORKLOAD_CLASS_DATABASE);
  assert_true (conf == 1.0);
}

/* Without any history there is no evidence: unknown, not an error. */
static void
test_no_history_is_unknown (void **state)
{
  g_autofree Vm *vm = vm_new ();
  assert_int_equal (classify (vm, NULL), AMIGO_WORKLOAD_CLASS_UNKNOWN);
}

static void
test_bad_input (void **state)
{
  g_autofree Vm *vm = vm_new ();
  AmigoClassification c;
  g_autoptr(GError) error = NULL;

  assert_false (amigo_classifier_classify (NULL, &c, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  vm_use (vm, AMIGO_RESOURCE_CPU);
  vm->h.resources[AMIGO_RESOURCE_CPU].step_usec = 0;
  assert_false (amigo_classifier_classify (&vm->h, &c, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "'cpu'"));
}

static void
test_names_and_priority (void **state)
{
  for (AmigoWorkloadClass c = 0; c < AMIGO_WORKLOAD_CLASS_LAST; c++) {
    AmigoWorkloadClass back = AMIGO_WORKLOAD_CLASS_LAST;
    assert_true (amigo_workload_class_from_string (amigo_workload_class_to_string (c), &back));
    assert_int_equal (back, c);
    assert_non_null (amigo_workload_class_prior (c)->model);
  }
  assert_false (amigo_workload_class_from_string ("Database", NULL));
  assert_false (amigo_workload_class_from_string (NULL, NULL));
  /* database > web_server > machine_learning > batch > idle, unknown in the middle */
  assert_true (amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_DATABASE) >
               amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_WEB_SERVER));
  assert_true (amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_WEB_SERVER) >
               amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_UNKNOWN));
  assert_true (amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_UNKNOWN) >
               amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING));
  assert_true (amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_MACHINE_LEARNING) >
               amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_BATCH));
  assert_true (amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_BATCH) >
               amigo_workload_class_priority (AMIGO_WORKLOAD_CLASS_IDLE));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_idle),
    cmocka_unit_test (test_database),
    cmocka_unit_test (test_web_server),
    cmocka_unit_test (test_machine_learning),
    cmocka_unit_test (test_batch),
    cmocka_unit_test (test_label_overrides),
    cmocka_unit_test (test_no_history_is_unknown),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_names_and_priority),
  };
  return cmocka_run_group_tests_name ("classifier", tests, NULL, NULL);
}
