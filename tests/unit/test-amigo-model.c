/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "amigo/amigo-model.h"
#include "amigo-error.h"
#include "amigo-time.h"

/* Every method the replay tool and the selector offer is in the one table. */
static void
test_model_registry (void **state)
{
  static const char *expected[] = { "arima", "lstm", "last", "seasonal_naive", "peak", "vpa" };
  const AmigoModelClass *const *classes = amigo_model_classes ();
  gsize n = 0;

  for (; classes[n] != NULL; n++) {
    assert_non_null (classes[n]->fit);
    assert_non_null (classes[n]->forecast);
    assert_non_null (classes[n]->free);
    assert_ptr_equal (amigo_model_class_lookup (classes[n]->name), classes[n]);
  }
  assert_int_equal (n, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    assert_non_null (amigo_model_class_lookup (expected[i]));
  assert_null (amigo_model_class_lookup ("ARIMA"));
  assert_null (amigo_model_class_lookup (""));
  assert_null (amigo_model_class_lookup (NULL));
}

static void
test_model_rejects_bad_calls (void **state)
{
  const AmigoModelClass *last = amigo_model_class_lookup ("last");
  double values[48];
  AmigoSeries series = { 0, 5 * AMIGO_USEC_PER_MIN, G_N_ELEMENTS (values), values };
  AmigoSeries no_step = series;
  double mean[4], upper[4];
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) model = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    values[i] = 1.0 + (i % 3);

  no_step.step_usec = 0;
  assert_null (amigo_model_fit (last, &no_step, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  assert_non_null (strstr (error->message, "step"));
  g_clear_error (&error);

  assert_null (amigo_model_fit (last, NULL, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);

  model = amigo_model_fit (last, &series, NULL, &error);
  assert_non_null (model);
  assert_string_equal (amigo_model_name (model), "last");

  assert_false (amigo_model_forecast (model, 0, 0.95, mean, NULL, upper, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
  g_clear_error (&error);
  for (guint i = 0; i < 4; i++) {
    const double bad[] = { 0.5, 1.0, NAN, -0.95 };
    assert_false (amigo_model_forecast (model, 4, bad[i], mean, NULL, upper, &error));
    assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS));
    assert_non_null (strstr (error->message, "quantile"));
    g_clear_error (&error);
  }

  /* a good call still works after the refused ones */
  assert_true (amigo_model_forecast (model, 4, 0.95, mean, NULL, upper, &error));
  for (guint h = 0; h < 4; h++)
    assert_true (upper[h] >= mean[h]);
  amigo_model_free (NULL);
}

/* The optional operations: a model without them says so instead of
 * crashing; the LSTM has both, and an update forecasts without training. */
static void
test_model_optional_operations (void **state)
{
  double values[400];
  AmigoSeries series = { 0, 5 * AMIGO_USEC_PER_MIN, G_N_ELEMENTS (values), values };
  AmigoModelOptions options = { .seed = 1, .epochs = 1, .thin = 4 };
  double mean[4], upper[4];
  g_autoptr(GError) error = NULL;
  g_autoptr(AmigoModel) last = NULL;
  g_autoptr(AmigoModel) lstm = NULL;
  g_autoptr(AmigoModel) warm = NULL;
  g_autoptr(AmigoModel) moved = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    values[i] = 2.0 + sin (i * 2.0 * G_PI / 48.0);

  last = amigo_model_fit (amigo_model_class_lookup ("last"), &series, NULL, &error);
  assert_non_null (last);
  assert_null (amigo_model_warm_start (last, &series, NULL, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  assert_non_null (strstr (error->message, "'last'"));
  g_clear_error (&error);
  assert_null (amigo_model_update (last, &series, &error));
  assert_true (g_error_matches (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED));
  g_clear_error (&error);

  lstm = amigo_model_fit (amigo_model_class_lookup ("lstm"), &series, &options, &error);
  assert_null (error);
  assert_non_null (lstm);
  warm = amigo_model_warm_start (lstm, &series, &options, &error);
  assert_null (error);
  assert_string_equal (amigo_model_name (warm), "lstm");
  moved = amigo_model_update (warm, &series, &error);
  assert_null (error);
  assert_true (amigo_model_forecast (moved, 4, 0.95, mean, NULL, upper, &error));
  for (guint h = 0; h < 4; h++)
    assert_true (isfinite (mean[h]) && upper[h] >= mean[h]);
}

static void
test_resource_names (void **state)
{
  for (AmigoResource r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    AmigoResource back = AMIGO_RESOURCE_LAST;
    assert_true (amigo_resource_from_string (amigo_resource_to_string (r), &back));
    assert_int_equal (back, r);
    assert_non_null (amigo_resource_unit (r));
  }
  assert_false (amigo_resource_from_string ("net_rx", NULL));
  assert_false (amigo_resource_from_string (NULL, NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_model_registry),
    cmocka_unit_test (test_model_rejects_bad_calls),
    cmocka_unit_test (test_model_optional_operations),
    cmocka_unit_test (test_resource_names),
  };
  return cmocka_run_group_tests_name ("model", tests, NULL, NULL);
}
