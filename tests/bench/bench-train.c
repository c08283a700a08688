/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-bench"

/* Training throughput (meson test --benchmark -v): samples per second of
 * one epoch over the first 20000 Fashion-MNIST training samples, batch
 * 128, Adam with a cosine schedule, for the students of the sample MLP (a
 * third of the hidden units) and CNN (half the channels and units), with
 * hard labels only (the work PyTorch does in build-aux/bench-train-torch.py)
 * and with distillation (the teacher's forward pass on every batch too).
 * Figures only. Lines starting with "RESULT" and "SHAPE" are read by the
 * PyTorch script to build the same architecture. */

#include <string.h>

#include "compress/lathe-apply.h"
#include "onnx/lathe-model.h"
#include "train/lathe-train.h"
#include "../lathe-test-util.h"

#define SAMPLES 20000
#define BATCH   128

static const float norm_mean[1] = { 0.2860f };
static const float norm_std[1] = { 0.3530f };

static void
bench (const char   *name,
       double        width,
       LatheDataset *train)
{
  g_autofree char *file = g_strdup_printf ("fashion-%s.onnx", name);
  g_autofree char *path = lathe_test_sample (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  LatheTrainOptions o;

  g_assert_no_error (error);
  layers = lathe_find_layers (lathe_model_get_graph (model), &error);
  g_assert_no_error (error);
  plan->defaults.width = width;

  lathe_train_options_init (&o);
  o.train = train;
  o.train_limit = SAMPLES;
  o.batch = BATCH;
  o.epochs = 1;
  o.mean = norm_mean;
  o.std = norm_std;
  o.n_norm = 1;

  for (int distill = 0; distill < 2; distill++)
    {
      g_autoptr(LatheTrainResult) r = NULL;
      double best = 0;

      o.alpha = distill ? 0.5 : 0.0;
      /* best of two: the first run also warms caches and BLAS threads */
      for (int rep = 0; rep < 2; rep++)
        {
          g_clear_pointer (&r, lathe_train_result_free);
          r = lathe_distill (lathe_model_get_graph (model), layers, plan, NULL, &o, NULL, NULL, NULL, &error);
          g_assert_no_error (error);
          best = MAX (best, r->samples_per_second);
        }
      if (!distill)
        for (guint v = 0; v < r->applied->graph->values->len; v++)
          {
            LatheValue *value = lathe_graph_value (r->applied->graph, v);
            g_autofree char *dims = NULL;
            if (value->kind != LATHE_VALUE_INITIALIZER)
              continue;
            dims = lathe_shape_to_string (value->initializer->ndim, value->initializer->dims);
            g_print ("SHAPE %s %s %s\n", name, value->name, dims);
          }
      g_print ("RESULT lathe %s %s %.1f\n", name, distill ? "distill" : "hard-labels", best);
      g_print ("%s student (width %.2f), %s: %.0f samples/s (%u samples, batch %d)\n",
               name, width, distill ? "distillation" : "hard labels", best, SAMPLES / BATCH * BATCH, BATCH);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheDataset) train = lathe_dataset_new_from_spec ("fashion-mnist:train", NULL, &error);

  g_assert_no_error (error);
  g_print ("OPENBLAS_NUM_THREADS=%s\n", g_getenv ("OPENBLAS_NUM_THREADS") ? g_getenv ("OPENBLAS_NUM_THREADS") : "(unset)");
  bench ("mlp", 1.0 / 3, train);
  bench ("cnn", 0.5, train);
  return 0;
}
