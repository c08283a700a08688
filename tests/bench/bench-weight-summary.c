/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-bench"

/* LatheWeightSummary benchmark (meson test --benchmark -v): on each sample,
 * the time of one apply and of one summary of its first and largest layer
 * for a dense, a pruned, and a folded-and-pruned plan (the latter two
 * apply reference plans). Figures only. */

#include "compress/lathe-weight-summary.h"
#include "onnx/lathe-model.h"
#include "../lathe-test-util.h"

#define REPEATS 5

static int
compare (const void *a,
         const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
bench (const char *sample,
       const char *layer,
       int         bits,
       double      sparsity,
       gboolean    fold)
{
  g_autofree char *path = lathe_test_sample (sample);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  double apply_ms[REPEATS], summary_ms[REPEATS];

  g_assert_no_error (error);
  layers = lathe_find_layers (lathe_model_get_graph (model), &error);
  g_assert_no_error (error);
  plan->defaults.bits = bits;
  plan->defaults.sparsity = sparsity;
  plan->fold_bn = fold;
  for (int k = 0; k < REPEATS; k++)
    {
      g_autoptr(LatheApplied) applied = NULL;
      g_autoptr(LatheWeightSummary) s = NULL;
      gint64 t0 = g_get_monotonic_time ();

      applied = lathe_apply_plan (lathe_model_get_graph (model), layers, plan, &error);
      g_assert_no_error (error);
      apply_ms[k] = (g_get_monotonic_time () - t0) / 1e3;
      t0 = g_get_monotonic_time ();
      s = lathe_weight_summary_new (lathe_model_get_graph (model), layers, plan, NULL, applied, layer,
                                    LATHE_WEIGHT_SUMMARY_BINS_DEFAULT, -1, &error);
      g_assert_no_error (error);
      summary_ms[k] = (g_get_monotonic_time () - t0) / 1e3;
    }
  qsort (apply_ms, REPEATS, sizeof (double), compare);
  qsort (summary_ms, REPEATS, sizeof (double), compare);
  g_print ("%-17s %-13s %2d bits, %3.0f %% pruned%s: apply %7.2f ms, summary %7.2f ms (median of %d)\n",
           sample, layer, bits, 100 * sparsity, fold ? ", BN folded" : "", apply_ms[REPEATS / 2],
           summary_ms[REPEATS / 2], REPEATS);
}

int
main (void)
{
  bench ("fashion-mlp.onnx", "fc1.weight", 4, 0, FALSE);
  bench ("fashion-mlp.onnx", "fc1.weight", 4, 0.5, FALSE);
  bench ("fashion-cnn.onnx", "fc1.weight", 4, 0, FALSE);
  bench ("fashion-cnn.onnx", "conv2.weight", 4, 0, TRUE);
  bench ("fashion-cnn.onnx", "conv2.weight", 4, 0.5, TRUE);
  return 0;
}
