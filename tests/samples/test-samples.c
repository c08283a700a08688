/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* The bundled sample models against what PyTorch computed when they were
 * made (build-aux/make-samples.py): logits of the first 100 test images
 * and the test accuracy, which must match exactly. */

#include <math.h>

#include "data/lathe-npy.h"
#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"
#include "onnx/lathe-model.h"

#include <json-glib/json-glib.h>

#include "../lathe-test-util.h"

/* float32 summation order differs from PyTorch's (im2col/GEMM blocking). */
#define LOGITS_ATOL 1e-4

static const char * const sample_names[] = { "fashion-mlp", "fashion-cnn" };

static char *
sample_path (const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s.onnx", name);
  return lathe_test_sample (file);
}

#define fixture_path(file) lathe_test_fixture (file)

static void
test_logits (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = sample_path (name);
  g_autofree char *in_path = fixture_path ("fashion-input100.npy");
  g_autofree char *logits_file = g_strdup_printf ("%s-logits100.npy", name);
  g_autofree char *want_path = fixture_path (logits_file);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheTensor) input = NULL;
  g_autoptr(LatheTensor) want = NULL;
  g_autoptr(LatheExecutor) exec = NULL;
  LatheTensor *got;
  double max_diff = 0;

  g_assert_no_error (error);
  input = lathe_npy_read (in_path, &error);
  g_assert_no_error (error);
  want = lathe_npy_read (want_path, &error);
  g_assert_no_error (error);

  exec = lathe_executor_new (lathe_model_get_graph (model));
  g_assert_true (lathe_executor_run (exec, 1, &input, &error));
  g_assert_no_error (error);
  got = lathe_executor_get_output (exec, 0);
  g_assert_true (lathe_tensor_same_shape (got, want));
  for (gsize i = 0; i < got->n; i++)
    max_diff = MAX (max_diff, fabs (lathe_tensor_f32 (got)[i] - lathe_tensor_f32 (want)[i]));
  g_test_message ("%s: max |logit - torch| = %.3g", name, max_diff);
  g_assert_cmpfloat (max_diff, <=, LOGITS_ATOL);
}

static void
test_accuracy (gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = sample_path (name);
  g_autofree char *ref_file = g_strdup_printf ("%s-reference.json", name);
  g_autofree char *ref_path = fixture_path (ref_file);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  LatheEvalOptions options = { 0 };
  LatheEvalResult result = { 0 };
  JsonObject *ref;

  g_assert_no_error (error);
  dataset = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  if (dataset == NULL)
    {
      g_test_skip (error->message);
      return;
    }
  g_assert_true (json_parser_load_from_file (parser, ref_path, &error));
  ref = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));

  options.batch = 1000;
  options.mean = (float *) mean->data;
  options.std = (float *) std->data;
  options.n_norm = mean->len;
  g_assert_true (lathe_evaluate (lathe_model_get_graph (model), dataset, &options, NULL,
                                 NULL, NULL, NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.metrics->total, ==, json_object_get_int_member (ref, "total"));
  g_assert_cmpuint (result.metrics->correct, ==, json_object_get_int_member (ref, "correct"));
  g_assert_cmpuint (result.metrics->top5_correct, ==, json_object_get_int_member (ref, "top5_correct"));
  lathe_eval_result_clear (&result);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sample_names); i++)
    {
      g_autofree char *p1 = g_strdup_printf ("/lathe/samples/%s/logits", sample_names[i]);
      g_autofree char *p2 = g_strdup_printf ("/lathe/samples/%s/accuracy", sample_names[i]);
      g_test_add_data_func (p1, sample_names[i], test_logits);
      g_test_add_data_func (p2, sample_names[i], test_accuracy);
    }
  return g_test_run ();
}
