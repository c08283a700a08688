/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* LatheSessionResult's cost figures: multiply-accumulates per sample of the
 * effective model (dense and non-zero) and the evaluation time per sample,
 * on the sample CNN. */

#include "core/lathe-error.h"
#include "eval/lathe-macs.h"
#include "session/lathe-session.h"
#include "../lathe-test-util.h"

/* LeNet-5 as build-aux/make-samples.py makes it (see tests/eval/test-macs.c). */
#define CNN_MACS      (6 * 784 * 25 + 16 * 100 * 150 + 400 * 120 + 120 * 84 + 84 * 10)
#define CNN_MACS_HALF (3 * 784 * 25 + 8 * 100 * 75 + 200 * 60 + 60 * 42 + 42 * 10)

static void
test_figures (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheDataset) data = NULL;
  g_autoptr(LatheSession) session = NULL;
  g_autoptr(GArray) mean = NULL, std = NULL;
  g_autoptr(LathePlan) half = lathe_plan_new ();
  g_autoptr(LathePlan) sparse = lathe_plan_new ();
  g_autoptr(LatheSessionResult) base = NULL;
  g_autoptr(LatheSessionResult) r_half = NULL;
  g_autoptr(LatheSessionResult) r_sparse = NULL;
  LatheMacs m;

  g_assert_no_error (error);
  data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  if (data == NULL)
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));
  session = lathe_session_new (model, data, (float *) mean->data, (float *) std->data, mean->len, &error);
  g_assert_no_error (error);

  base = lathe_session_get_baseline (session, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (base->macs, ==, CNN_MACS);
  g_assert_true (lathe_graph_count_macs (lathe_model_get_graph (model), 0, NULL, &m, &error));
  g_assert_cmpuint (base->macs_nonzero, ==, m.macs_nonzero);
  g_assert_cmpfloat (base->seconds_per_sample, >, 0.0);
  g_assert_cmpfloat (base->seconds_per_sample * base->n_samples, <=, base->seconds + 1e-9);

  half->defaults.width = 0.5;
  r_half = lathe_session_evaluate (session, half, LATHE_STAGE_SUBSET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r_half->macs, ==, CNN_MACS_HALF);
  g_assert_cmpuint (r_half->macs_nonzero, <=, r_half->macs);
  g_assert_true (lathe_graph_count_macs (r_half->applied->graph, 0, NULL, &m, &error));
  g_assert_cmpuint (r_half->macs_nonzero, ==, m.macs_nonzero);
  g_assert_cmpfloat (r_half->seconds_per_sample, >, 0.0);
  /* apply is not in it */
  g_assert_cmpfloat (r_half->seconds_per_sample * r_half->n_samples, <=, r_half->seconds + 1e-9);

  sparse->defaults.sparsity = 0.5;
  r_sparse = lathe_session_evaluate (session, sparse, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r_sparse->macs, ==, CNN_MACS);
  g_assert_cmpuint (r_sparse->macs_nonzero, <, CNN_MACS * 6 / 10);
  g_assert_cmpuint (r_sparse->macs_nonzero, >, CNN_MACS * 4 / 10);
  g_assert_cmpfloat (r_sparse->seconds_per_sample, >, 0.0);
  g_assert_cmpfloat (r_sparse->seconds_per_sample * r_sparse->n_samples, <=, r_sparse->seconds + 1e-9);

  g_test_message ("source: %" G_GUINT64_FORMAT " MACs (%" G_GUINT64_FORMAT " non-zero), %.2f µs/sample",
                  base->macs, base->macs_nonzero, 1e6 * base->seconds_per_sample);
  g_test_message ("width 0.5: %" G_GUINT64_FORMAT " MACs (%" G_GUINT64_FORMAT " non-zero), %.2f µs/sample",
                  r_half->macs, r_half->macs_nonzero, 1e6 * r_half->seconds_per_sample);
  g_test_message ("sparsity 0.5: %" G_GUINT64_FORMAT " MACs (%" G_GUINT64_FORMAT " non-zero), %.2f µs/sample",
                  r_sparse->macs, r_sparse->macs_nonzero, 1e6 * r_sparse->seconds_per_sample);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/session/figures/macs-and-time", test_figures);
  return g_test_run ();
}
