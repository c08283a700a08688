/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* What training is for (issue 5 §6), on the sample MLP and the whole of
 * Fashion-MNIST (suite "slow"):
 *   - a third of the hidden units, 3 epochs of distillation: at least the
 *     accuracy of the same student architecture trained from scratch on
 *     hard labels for 3 epochs (same optimiser, schedule, batch and seed),
 *     and within 2 points of the teacher;
 *   - 90 % global magnitude pruning, 1 epoch of fine-tuning: within 2
 *     points of the unpruned model.
 * The figures are printed (TAP comments) for the closing note. */

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "eval/lathe-evaluator.h"
#include "onnx/lathe-model.h"
#include "train/lathe-train.h"
#include "train/lathe-train-kernels.h"
#include "../lathe-test-util.h"

/* The bounds, in accuracy (fractions). */
#define WITHIN_TEACHER 0.02
#define WITHIN_UNPRUNED 0.02

static const float norm_mean[1] = { 0.2860f };
static const float norm_std[1] = { 0.3530f };

static double
accuracy (LatheGraph *g, LatheDataset *test)
{
  g_autoptr(GError) error = NULL;
  LatheEvalOptions eo = { 0 };
  LatheEvalResult r = { 0 };
  double acc;

  eo.mean = norm_mean;
  eo.std = norm_std;
  eo.n_norm = 1;
  g_assert_true (lathe_evaluate (g, test, &eo, NULL, NULL, NULL, NULL, &r, &error));
  g_assert_no_error (error);
  acc = lathe_metrics_accuracy (r.metrics);
  lathe_eval_result_clear (&r);
  return acc;
}

/* PyTorch's default Linear initialisation: U(±1/√fan_in) for weight and
 * bias, from our own generator. */
static void
random_init (LatheGraph *g, guint64 seed)
{
  LatheRng rng;

  lathe_rng_init (&rng, seed);
  for (guint v = 0; v < g->values->len; v++)
    {
      LatheValue *value = lathe_graph_value (g, v);
      g_autoptr(LatheTensor) t = NULL;
      double bound;
      if (value->kind != LATHE_VALUE_INITIALIZER || value->initializer->dtype != LATHE_DTYPE_FLOAT)
        continue;
      t = lathe_tensor_dup (value->initializer);
      /* fcN.weight is [out, in]; its bias takes the same fan-in */
      if (t->ndim == 2)
        bound = 1.0 / sqrt ((double) t->dims[1]);
      else
        {
          g_autofree char *wname = g_strndup (value->name, strlen (value->name) - strlen ("bias"));
          g_autofree char *full = g_strconcat (wname, "weight", NULL);
          LatheValue *w = lathe_graph_lookup (g, full);
          bound = 1.0 / sqrt ((double) w->initializer->dims[1]);
        }
      for (gsize i = 0; i < t->n; i++)
        lathe_tensor_f32 (t)[i] = (float) ((((double) (lathe_rng_next (&rng) >> 11) / 9007199254740992.0) * 2 - 1) * bound);
      lathe_graph_set_initializer (g, v, t);
    }
}

static void
test_quality (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheDataset) train = lathe_dataset_new_from_spec ("fashion-mnist:train", NULL, &error);
  g_autoptr(LatheDataset) test = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LathePlan) width = lathe_plan_new ();
  g_autoptr(LathePlan) none = lathe_plan_new ();
  g_autoptr(LathePlan) prune = lathe_plan_new ();
  g_autoptr(LatheApplied) untrained = NULL;
  g_autoptr(LatheApplied) pruned = NULL;
  g_autoptr(LatheTrainResult) distilled = NULL, scratch = NULL, finetuned = NULL;
  g_autoptr(LatheGraph) fresh = NULL;
  g_autoptr(GPtrArray) fresh_layers = NULL;
  LatheTrainOptions o;
  LatheGraph *teacher;
  double acc_teacher, acc_untrained, acc_distilled, acc_scratch, acc_pruned, acc_finetuned;

  g_assert_no_error (error);
  teacher = lathe_model_get_graph (model);
  layers = lathe_find_layers (teacher, &error);
  g_assert_no_error (error);

  lathe_train_options_init (&o);
  o.train = train;
  o.mean = norm_mean;
  o.std = norm_std;
  o.n_norm = 1;
  o.epochs = 3;

  acc_teacher = accuracy (teacher, test);

  /* distillation from the teacher's kept units */
  width->defaults.width = 1.0 / 3;
  untrained = lathe_apply_plan (teacher, layers, width, &error);
  g_assert_no_error (error);
  acc_untrained = accuracy (untrained->graph, test);
  distilled = lathe_distill (teacher, layers, width, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  acc_distilled = accuracy (distilled->applied->graph, test);

  /* the same architecture from random weights, hard labels only */
  fresh = lathe_graph_copy (untrained->graph, &error);
  g_assert_no_error (error);
  random_init (fresh, 1);
  fresh_layers = lathe_find_layers (fresh, &error);
  g_assert_no_error (error);
  o.alpha = 0;
  scratch = lathe_distill (fresh, fresh_layers, none, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  acc_scratch = accuracy (scratch->applied->graph, test);

  /* 90 % global magnitude pruning, one epoch of fine-tuning */
  prune->defaults.sparsity = 0.9;
  prune->global_sparsity = TRUE;
  pruned = lathe_apply_plan (teacher, layers, prune, &error);
  g_assert_no_error (error);
  acc_pruned = accuracy (pruned->graph, test);
  o.mode = LATHE_TRAIN_FINETUNE;
  o.alpha = LATHE_TRAIN_ALPHA_DEFAULT;
  o.epochs = 1;
  finetuned = lathe_distill (teacher, layers, prune, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  acc_finetuned = accuracy (finetuned->applied->graph, test);

  g_test_message ("teacher %.4f", acc_teacher);
  g_test_message ("width 1/3: untrained %.4f, distilled 3 epochs %.4f (%.1f samples/s), from scratch 3 epochs %.4f",
                  acc_untrained, acc_distilled, distilled->samples_per_second, acc_scratch);
  g_test_message ("90%% global magnitude pruning: %.4f, fine-tuned 1 epoch %.4f", acc_pruned, acc_finetuned);

  g_assert_cmpfloat (acc_distilled, >=, acc_scratch);
  g_assert_cmpfloat (acc_distilled, >=, acc_teacher - WITHIN_TEACHER);
  g_assert_cmpfloat (acc_finetuned, >=, acc_teacher - WITHIN_UNPRUNED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/slow/train/quality", test_quality);
  return g_test_run ();
}
