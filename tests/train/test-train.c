/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Training as a whole: optimiser steps against hand-computed values, the
 * schedule, distillation, fine-tuning and QAT on the sample MLP with a
 * small slice of the training split, bit-for-bit determinism, the async
 * form, and the errors a user can cause. */

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-model.h"
#include "train/lathe-train.h"
#include "../lathe-test-util.h"

/* Single-precision updates against the same formula in double. */
#define OPT_ATOL 1e-6

static const float norm_mean[1] = { 0.2860f };
static const float norm_std[1] = { 0.3530f };

typedef struct {
  LatheModel   *model;
  GPtrArray    *layers;
  LatheDataset *train;
  LatheDataset *test;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GError) error = NULL;

  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->layers = lathe_find_layers (lathe_model_get_graph (f->model), &error);
  g_assert_no_error (error);
  f->train = lathe_dataset_new_from_spec ("fashion-mnist:train", NULL, &error);
  g_assert_no_error (error);
  f->test = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->model);
  g_clear_pointer (&f->layers, g_ptr_array_unref);
  g_clear_object (&f->train);
  g_clear_object (&f->test);
}

static void
small_options (Fixture *f, LatheTrainOptions *o)
{
  lathe_train_options_init (o);
  o->train = f->train;
  o->train_limit = 1024;
  o->batch = 64;
  o->epochs = 1;
  o->mean = norm_mean;
  o->std = norm_std;
  o->n_norm = 1;
  o->evaluation = f->test;
  o->eval_samples = 500;
}

static LathePlan *
width_plan (double width)
{
  LathePlan *plan = lathe_plan_new ();
  plan->defaults.width = width;
  return plan;
}

static LatheTensor *
initializer (LatheGraph *g, const char *name)
{
  LatheValue *v = lathe_graph_lookup (g, name);
  g_assert_nonnull (v);
  g_assert_nonnull (v->initializer);
  return v->initializer;
}

/* ---------------------------------------------------------------------- */

static LatheTrainParam *
param_new (gsize n, const float *w, const float *g)
{
  LatheTrainParam *p = g_new0 (LatheTrainParam, 1);
  p->n = n;
  p->data = g_memdup2 (w, n * sizeof (float));
  p->grad = g_memdup2 (g, n * sizeof (float));
  p->forward = p->data;
  return p;
}

static void
param_free (LatheTrainParam *p)
{
  g_free (p->data);
  g_free (p->grad);
  g_free (p->mask);
  g_free (p);
}

static void
test_sgd (void)
{
  const float w0[3] = { 1.0f, -2.0f, 0.5f }, g0[3] = { 0.1f, 0.2f, -0.3f }, g1[3] = { -0.4f, 0.0f, 0.25f };
  LatheTrainParam *p = param_new (3, w0, g0);
  g_autoptr(LatheOptimizer) opt = lathe_optimizer_new (LATHE_OPTIMIZER_SGD, 0.9, 0.01);

  p->mask = g_new (guint8, 3);
  p->mask[0] = p->mask[1] = 1;
  p->mask[2] = 0;
  p->data[2] = 0.f;
  lathe_optimizer_step (opt, &p, 1, 0.1);
  memcpy (p->grad, g1, sizeof g1);
  lathe_optimizer_step (opt, &p, 1, 0.05);
  for (guint i = 0; i < 2; i++)
    {
      /* PyTorch: d = g + wd·w; buf = μ·buf + d; w -= lr·buf */
      double w = w0[i], buf, d;
      d = g0[i] + 0.01 * w;
      buf = d;
      w -= 0.1 * buf;
      d = g1[i] + 0.01 * w;
      buf = 0.9 * buf + d;
      w -= 0.05 * buf;
      g_assert_cmpfloat_with_epsilon (p->data[i], w, OPT_ATOL);
    }
  g_assert_cmpfloat (p->data[2], ==, 0.f);
  param_free (p);
}

static void
test_adam (void)
{
  const float w0[2] = { 1.0f, -0.5f }, g0[2] = { 0.3f, -0.01f }, g1[2] = { -0.2f, 0.05f };
  LatheTrainParam *p = param_new (2, w0, g0);
  g_autoptr(LatheOptimizer) opt = lathe_optimizer_new (LATHE_OPTIMIZER_ADAM, 0, 0);

  lathe_optimizer_step (opt, &p, 1, 0.01);
  /* first step: m̂ = g, v̂ = g², so w moves by lr · sign(g) (up to eps) */
  for (guint i = 0; i < 2; i++)
    g_assert_cmpfloat_with_epsilon (p->data[i], w0[i] - 0.01 * (g0[i] > 0 ? 1 : -1), 1e-5);
  memcpy (p->grad, g1, sizeof g1);
  lathe_optimizer_step (opt, &p, 1, 0.01);
  for (guint i = 0; i < 2; i++)
    {
      double m = 0.1 * g0[i], v = 0.001 * g0[i] * g0[i], w = w0[i];
      w -= 0.01 * (m / 0.1) / (sqrt (v / 0.001) + 1e-8);
      m = 0.9 * m + 0.1 * g1[i];
      v = 0.999 * v + 0.001 * g1[i] * g1[i];
      w -= 0.01 * (m / (1 - 0.81)) / (sqrt (v / (1 - 0.999 * 0.999)) + 1e-8);
      g_assert_cmpfloat_with_epsilon (p->data[i], w, OPT_ATOL);
    }
  param_free (p);
}

static void
test_schedule (void)
{
  g_assert_cmpfloat (lathe_schedule_lr (LATHE_SCHEDULE_CONSTANT, 0.1, 5, 10), ==, 0.1);
  g_assert_cmpfloat_with_epsilon (lathe_schedule_lr (LATHE_SCHEDULE_COSINE, 0.1, 0, 10), 0.1, 1e-12);
  g_assert_cmpfloat_with_epsilon (lathe_schedule_lr (LATHE_SCHEDULE_COSINE, 0.1, 5, 10), 0.05, 1e-12);
  g_assert_cmpfloat_with_epsilon (lathe_schedule_lr (LATHE_SCHEDULE_COSINE, 0.1, 10, 10), 0.0, 1e-12);
}

static void
test_names (void)
{
  LatheTrainMode m;
  LatheOptimizerKind k;
  LatheSchedule s;
  g_assert_true (lathe_train_mode_from_string ("qat", &m) && m == LATHE_TRAIN_QAT);
  g_assert_cmpstr (lathe_train_mode_to_string (LATHE_TRAIN_FINETUNE), ==, "finetune");
  g_assert_true (lathe_optimizer_from_string ("sgd", &k) && k == LATHE_OPTIMIZER_SGD);
  g_assert_true (lathe_schedule_from_string ("cosine", &s) && s == LATHE_SCHEDULE_COSINE);
  g_assert_false (lathe_schedule_from_string ("linear", &s));
}

/* ---------------------------------------------------------------------- */

typedef struct {
  guint  steps;
  guint  epoch_ends;
  double last_accuracy;
} Seen;

static void
on_progress (const LatheTrainProgress *p, gpointer data)
{
  Seen *seen = data;
  if (p->epoch_end)
    {
      seen->epoch_ends++;
      seen->last_accuracy = p->accuracy;
    }
  else
    seen->steps++;
}

static void
test_distill (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (1.0 / 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTrainResult) r1 = NULL, r2 = NULL;
  LatheTrainOptions o;
  Seen seen = { 0 };
  LatheGraph *g1, *g2;

  small_options (f, &o);
  o.epochs = 2;
  r1 = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, on_progress, &seen, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seen.steps, ==, 2 * 1024 / 64);
  g_assert_cmpuint (seen.epoch_ends, ==, 2);
  g_assert_cmpuint (r1->epoch_loss->len, ==, 2);
  /* the width kept a third of the units */
  g1 = r1->applied->graph;
  g_assert_cmpint (initializer (g1, "fc1.weight")->dims[0], ==, 100);
  g_assert_cmpint (initializer (g1, "fc2.weight")->dims[0], ==, 34);
  /* training made the student better than it started */
  g_assert_cmpfloat (seen.last_accuracy, >, r1->untrained_accuracy);
  g_assert_cmpfloat (g_array_index (r1->epoch_loss, double, 1), <, g_array_index (r1->epoch_loss, double, 0));

  /* same seed → the same weights bit for bit */
  r2 = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g2 = r2->applied->graph;
  for (guint v = 0; v < g1->values->len; v++)
    {
      LatheValue *a = lathe_graph_value (g1, v);
      LatheValue *b;
      if (a->kind != LATHE_VALUE_INITIALIZER)
        continue;
      b = lathe_graph_lookup (g2, a->name);
      g_assert_cmpuint (a->initializer->n, ==, b->initializer->n);
      g_assert_cmpmem (a->initializer->data, lathe_tensor_nbytes (a->initializer),
                       b->initializer->data, lathe_tensor_nbytes (b->initializer));
    }

  /* another seed → other weights */
  g_clear_pointer (&r2, lathe_train_result_free);
  o.seed = 1;
  r2 = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (initializer (r1->applied->graph, "fc2.weight")->data,
                         initializer (r2->applied->graph, "fc2.weight")->data,
                         lathe_tensor_nbytes (initializer (r2->applied->graph, "fc2.weight"))) != 0);
}

static void
test_finetune_keeps_masks (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTrainResult) r = NULL;
  g_autoptr(LatheApplied) pruned = NULL;
  LatheTrainOptions o;
  const char *names[] = { "fc1.weight", "fc2.weight", "fc3.weight" };

  plan->defaults.sparsity = 0.8;
  plan->global_sparsity = TRUE;
  small_options (f, &o);
  o.mode = LATHE_TRAIN_FINETUNE;
  o.alpha = 0;
  pruned = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
  g_assert_no_error (error);
  r = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      LatheTensor *a = initializer (pruned->graph, names[i]);
      LatheTensor *b = initializer (r->applied->graph, names[i]);
      gsize changed = 0;
      for (gsize k = 0; k < a->n; k++)
        {
          /* zero stays zero, and only there */
          g_assert_cmpint (lathe_tensor_f32 (a)[k] == 0.f, ==, lathe_tensor_f32 (b)[k] == 0.f);
          changed += lathe_tensor_f32 (a)[k] != lathe_tensor_f32 (b)[k];
        }
      g_assert_cmpuint (changed, >, 0);
    }
}

static void
test_qat (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTrainResult) r = NULL;
  LatheTrainOptions o;

  plan->defaults.bits = 3;
  plan->defaults.granularity = LATHE_GRANULARITY_CHANNEL;
  small_options (f, &o);
  o.mode = LATHE_TRAIN_QAT;
  r = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < r->applied->results->len; i++)
    {
      LatheLayerResult *lr = g_ptr_array_index (r->applied->results, i);
      LatheTensor *w = initializer (r->applied->graph, lr->name);
      g_autoptr(GHashTable) levels = g_hash_table_new (g_int_hash, g_int_equal);
      g_assert_nonnull (lr->quantized);
      /* 3 bits symmetric: at most 7 distinct values per row */
      for (gsize k = 0; k < (gsize) w->dims[1]; k++)
        g_hash_table_add (levels, &lathe_tensor_f32 (w)[k]);
      g_assert_cmpuint (g_hash_table_size (levels), <=, 7);
    }
  /* per-epoch accuracy was measured on the fake-quantized student */
  g_assert_false (isnan (g_array_index (r->epoch_accuracy, double, 0)));

  /* a plan without quantization has nothing for QAT */
  plan->defaults.bits = 32;
  g_clear_pointer (&r, lathe_train_result_free);
  r = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID);
}

/* ---------------------------------------------------------------------- */
/* Bad input                                                               */

static void
test_no_training_data (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  g_autoptr(GError) error = NULL;
  LatheTrainOptions o;

  small_options (f, &o);
  o.train = NULL;
  g_assert_null (lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error));
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "training split"));
}

static LatheDataset *
float_dataset (guint n, gboolean with_labels, gboolean with_nan)
{
  gint64 dims[3] = { 1, 28, 28 };
  float *x = lathe_aligned_alloc0 ((gsize) n * 784 * sizeof (float));
  gint32 *labels = with_labels ? g_new (gint32, n) : NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (3);

  for (gsize i = 0; i < (gsize) n * 784; i++)
    x[i] = (float) g_rand_double_range (r, -1, 2);
  if (with_nan)
    x[(gsize) (n / 2) * 784 + 100] = NAN;
  for (guint i = 0; labels && i < n; i++)
    labels[i] = (gint32) (i % 10);
  return lathe_dataset_new_take (LATHE_DTYPE_FLOAT, n, 3, dims, x, labels, "test data");
}

static void
test_labels_needed (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheDataset) unlabelled = float_dataset (128, FALSE, FALSE);
  g_autoptr(LatheTrainResult) r = NULL;
  LatheTrainOptions o;

  small_options (f, &o);
  o.train = unlabelled;
  o.alpha = 0.5;
  g_assert_null (lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error));
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "no labels"));
  g_clear_error (&error);

  /* alpha = 1 learns from the teacher alone */
  o.alpha = 1;
  r = lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
}

static void
test_bad_options (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  LatheTrainOptions o;
  struct { const char *field; double value; } cases[] = {
    { "alpha", 1.5 }, { "lr", 0 }, { "temperature", -1 }, { "epochs", 0 }, { "batch", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      small_options (f, &o);
      if (g_str_equal (cases[i].field, "alpha"))
        o.alpha = cases[i].value;
      else if (g_str_equal (cases[i].field, "lr"))
        o.lr = cases[i].value;
      else if (g_str_equal (cases[i].field, "temperature"))
        o.temperature = cases[i].value;
      else if (g_str_equal (cases[i].field, "epochs"))
        o.epochs = 0;
      else
        o.batch = 0;
      g_assert_null (lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, NULL, &error));
      g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID);
    }
  /* a width below the plan's range leaves no unit: refused by the plan */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LathePlan) tiny = width_plan (0.0);
    small_options (f, &o);
    g_assert_null (lathe_distill (lathe_model_get_graph (f->model), f->layers, tiny, NULL, &o, NULL, NULL, NULL, &error));
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "width"));
  }
}

static void
test_layer_without_weights (Fixture *f, gconstpointer data)
{
  /* a teacher whose fc2 is all zeros: pruning it leaves nothing to train */
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheGraph) g = lathe_graph_copy (lathe_model_get_graph (f->model), &error);
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheTensor) zero = NULL;
  LatheValue *v;
  LatheTrainOptions o;

  g_assert_no_error (error);
  v = lathe_graph_lookup (g, "fc2.weight");
  zero = lathe_tensor_new (LATHE_DTYPE_FLOAT, v->initializer->ndim, v->initializer->dims);
  memset (zero->data, 0, lathe_tensor_nbytes (zero));
  lathe_graph_set_initializer (g, v->id, zero);
  layers = lathe_find_layers (g, &error);
  g_assert_no_error (error);
  lathe_plan_layer (plan, "fc2.weight")->set |= LATHE_FIELD_SPARSITY;
  lathe_plan_layer (plan, "fc2.weight")->sparsity = 0.5;
  small_options (f, &o);
  o.mode = LATHE_TRAIN_FINETUNE;
  g_assert_null (lathe_distill (g, layers, plan, NULL, &o, NULL, NULL, NULL, &error));
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "fc2.weight"));
}

static void
test_nan_loss (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheDataset) poisoned = float_dataset (256, TRUE, TRUE);
  LatheTrainOptions o;
  Seen seen = { 0 };

  small_options (f, &o);
  o.train = poisoned;
  o.batch = 16;
  g_autoptr(LatheTrainResult) partial = NULL;

  g_assert_null (lathe_distill_full (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o,
                                     on_progress, &seen, NULL, &partial, &error));
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DIVERGED);
  /* the last good weights are kept: those of the last reported step, all finite */
  g_assert_nonnull (partial);
  g_assert_cmpuint (partial->steps, ==, seen.steps);
  {
    LatheGraph *g = partial->applied->graph;
    for (guint v = 0; v < g->values->len; v++)
      {
        LatheValue *value = lathe_graph_value (g, v);
        if (value->kind == LATHE_VALUE_INITIALIZER && value->initializer->dtype == LATHE_DTYPE_FLOAT)
          for (gsize k = 0; k < value->initializer->n; k++)
            g_assert_true (isfinite (lathe_tensor_f32 (value->initializer)[k]));
      }
  }
  /* the message names the step: the one after the last reported */
  {
    g_autofree char *want = g_strdup_printf ("step %u ", seen.steps + 1);
    g_assert_nonnull (strstr (error->message, want));
  }
  g_assert_nonnull (strstr (error->message, "NaN"));
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  LatheTrainOptions o;

  small_options (f, &o);
  g_cancellable_cancel (cancellable);
  g_assert_null (lathe_distill (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

typedef struct {
  GMainLoop        *loop;
  LatheTrainResult *result;
  GError           *error;
  Seen              seen;
  GThread          *main_thread;
} AsyncState;

static void
on_async_progress (const LatheTrainProgress *p, gpointer data)
{
  AsyncState *s = data;
  g_assert_true (g_thread_self () == s->main_thread);
  on_progress (p, &s->seen);
}

static void
on_done (GObject *source, GAsyncResult *res, gpointer data)
{
  AsyncState *s = data;
  s->result = lathe_distill_finish (res, &s->error);
  g_main_loop_quit (s->loop);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = width_plan (0.5);
  AsyncState s = { 0 };
  LatheTrainOptions o;

  small_options (f, &o);
  o.epochs = 2;
  s.loop = g_main_loop_new (NULL, FALSE);
  s.main_thread = g_thread_self ();
  lathe_distill_async (lathe_model_get_graph (f->model), f->layers, plan, NULL, &o,
                       on_async_progress, &s, NULL, NULL, on_done, &s);
  g_main_loop_run (s.loop);
  g_assert_no_error (s.error);
  g_assert_nonnull (s.result);
  /* epoch ends are never coalesced away */
  g_assert_cmpuint (s.seen.epoch_ends, ==, 2);
  g_assert_cmpfloat (s.seen.last_accuracy, ==, g_array_index (s.result->epoch_accuracy, double, 1));
  lathe_train_result_free (s.result);
  g_main_loop_unref (s.loop);
}

/* ---------------------------------------------------------------------- */
/* A MatMul MLP (weights [in, out]: units on axis 1), built by hand       */

static int
mm_value (LatheGraph *g, const char *name, guint ndim, const gint64 *dims, GRand *r)
{
  LatheValue *v = lathe_graph_add_value (g, name, LATHE_VALUE_INITIALIZER);
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);
  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = (float) g_rand_double_range (r, -0.1, 0.1);
  v->initializer = t;
  v->dtype = LATHE_DTYPE_FLOAT;
  v->ndim = (int) ndim;
  memcpy (v->dims, dims, ndim * sizeof (gint64));
  return (int) v->id;
}

static int
mm_node (LatheGraph *g, const char *op_type, int a, int b)
{
  g_autoptr(GError) error = NULL;
  LatheNode *n = g_new0 (LatheNode, 1);
  LatheValue *out;

  n->index = g->nodes->len;
  n->name = g_strdup_printf ("%s#%u", op_type, n->index);
  n->op_type = g_strdup (op_type);
  n->domain = g_strdup ("");
  n->op = lathe_op_lookup (op_type, g->opset, &n->since);
  n->n_inputs = b >= 0 ? 2 : 1;
  /* one spare entry, as the loader allocates them */
  n->inputs = g_new0 (int, 3);
  n->inputs[0] = a;
  n->inputs[1] = b;
  out = lathe_graph_add_value (g, n->name, LATHE_VALUE_NODE_OUTPUT);
  out->producer = (int) n->index;
  n->n_outputs = 1;
  n->outputs = g_new0 (int, 2);
  n->outputs[0] = (int) out->id;
  g_ptr_array_add (g->nodes, n);
  if (n->op->setup)
    g_assert_true (n->op->setup (n, &error));
  g_assert_no_error (error);
  return n->outputs[0];
}

static LatheGraph *
matmul_mlp (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (9);
  LatheGraph *g = lathe_graph_new ();
  LatheValue *in;
  gint64 w1[2] = { 784, 64 }, b1[1] = { 64 }, w2[2] = { 64, 10 }, b2[1] = { 10 };
  guint id;
  int y;

  g->opset = 13;
  in = lathe_graph_add_value (g, "input", LATHE_VALUE_INPUT);
  in->dtype = LATHE_DTYPE_FLOAT;
  in->ndim = 4;
  in->dims[0] = -1;
  in->dims[1] = 1;
  in->dims[2] = in->dims[3] = 28;
  id = in->id;
  g_array_append_val (g->inputs, id);
  y = mm_node (g, "Flatten", 0, -1);
  y = mm_node (g, "MatMul", y, mm_value (g, "w1", 2, w1, r));
  y = mm_node (g, "Add", y, mm_value (g, "b1", 1, b1, r));
  y = mm_node (g, "Relu", y, -1);
  y = mm_node (g, "MatMul", y, mm_value (g, "w2", 2, w2, r));
  y = mm_node (g, "Add", y, mm_value (g, "b2", 1, b2, r));
  id = (guint) y;
  g_array_append_val (g->outputs, id);
  return g;
}

static double
subset_accuracy (LatheGraph *g, LatheDataset *data, guint n)
{
  g_autoptr(GError) error = NULL;
  LatheEvalOptions eo = { 0 };
  LatheEvalResult r = { 0 };
  double acc;

  eo.limit = n;
  eo.mean = norm_mean;
  eo.std = norm_std;
  eo.n_norm = 1;
  g_assert_true (lathe_evaluate (g, data, &eo, NULL, NULL, NULL, NULL, &r, &error));
  acc = lathe_metrics_accuracy (r.metrics);
  lathe_eval_result_clear (&r);
  return acc;
}

/* QAT on weights whose units lie on axis 1: the fake quantization the
 * forward pass trained with is exactly the plan's quantization of the
 * final weights, per output unit (column). */
static void
test_qat_matmul (Fixture *f, gconstpointer data)
{
  g_autoptr(LatheGraph) g = matmul_mlp ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = lathe_find_layers (g, &error);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheTrainResult) r = NULL;
  LatheTensor *w;
  LatheTrainOptions o;

  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 2);
  plan->defaults.bits = 2;
  plan->defaults.granularity = LATHE_GRANULARITY_CHANNEL;
  plan->defaults.sparsity = 0.5;
  small_options (f, &o);
  o.mode = LATHE_TRAIN_QAT;
  o.alpha = 0;
  r = lathe_distill (g, layers, plan, NULL, &o, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  w = initializer (r->applied->graph, "w1");
  g_assert_cmpint (w->dims[1], ==, 64);
  for (gint64 col = 0; col < w->dims[1]; col++)
    {
      /* 2 bits symmetric per column: {−s, 0, s} */
      float levels[4];
      guint n_levels = 0;
      for (gint64 row = 0; row < w->dims[0]; row++)
        {
          float v = lathe_tensor_f32 (w)[row * w->dims[1] + col];
          guint k;
          for (k = 0; k < n_levels && levels[k] != v; k++)
            ;
          if (k == n_levels)
            {
              g_assert_cmpuint (n_levels, <, 3);
              levels[n_levels++] = v;
            }
        }
    }
  /* the separately added biases trained too */
  {
    LatheTensor *b0 = initializer (g, "b1"), *b1 = initializer (r->applied->graph, "b1");
    g_assert_true (memcmp (b0->data, b1->data, lathe_tensor_nbytes (b0)) != 0);
  }
  /* the last epoch's figure was measured on the fake-quantized weights */
  g_assert_cmpfloat (subset_accuracy (r->applied->graph, f->test, o.eval_samples), ==,
                     g_array_index (r->epoch_accuracy, double, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/engine/train/optimizer/sgd", test_sgd);
  g_test_add_func ("/lathe/engine/train/optimizer/adam", test_adam);
  g_test_add_func ("/lathe/engine/train/schedule", test_schedule);
  g_test_add_func ("/lathe/engine/train/names", test_names);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/lathe/engine/train/distill", test_distill);
  ADD ("/lathe/engine/train/finetune-keeps-masks", test_finetune_keeps_masks);
  ADD ("/lathe/engine/train/qat", test_qat);
  ADD ("/lathe/engine/train/qat-matmul", test_qat_matmul);
  ADD ("/lathe/engine/train/async", test_async);
  ADD ("/lathe/engine/train/error/no-training-data", test_no_training_data);
  ADD ("/lathe/engine/train/error/labels-needed", test_labels_needed);
  ADD ("/lathe/engine/train/error/bad-options", test_bad_options);
  ADD ("/lathe/engine/train/error/layer-without-weights", test_layer_without_weights);
  ADD ("/lathe/engine/train/error/nan-loss", test_nan_loss);
  ADD ("/lathe/engine/train/error/cancel", test_cancel);
  return g_test_run ();
}
