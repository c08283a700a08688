/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* lathe_graph_count_macs(): hand-counted multiply-accumulates for small
 * Conv (grouped, depthwise, strided), Gemm and MatMul graphs, and for the
 * sample models from their architecture (build-aux/make-samples.py), as
 * they are and after width and pruning. */

#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "eval/lathe-macs.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-model.h"
#include "../lathe-test-graph.h"
#include "../lathe-test-util.h"

/* ------------------------------------------------------------------ */
/* Building graphs                                                     */

/* A constant of ones, so every weight counts until a test zeroes some. */
static LatheTensor *
ones (LatheGraph   *g,
      const char   *name,
      guint         ndim,
      const gint64 *dims)
{
  LatheValue *v = lathe_graph_add_value (g, name, LATHE_VALUE_INITIALIZER);
  g_autoptr(LatheTensor) t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);

  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = 1.f;
  lathe_graph_set_initializer (g, v->id, t);
  return v->initializer;
}

/* Conv with weight "<name>.w" [cout, cin/group, k, k] of ones. */
static LatheTensor *
conv (LatheGraph *g,
      const char *name,
      const char *in,
      const char *out,
      gint64      cin,
      gint64      cout,
      gint64      k,
      gint64      group,
      gint64      pad,
      gint64      stride)
{
  g_autofree char *w = g_strdup_printf ("%s.w", name);
  g_autofree char *ins = g_strdup_printf ("%s,%s", in, w);
  gint64 wd[4] = { cout, cin / group, k, k };
  gint64 pads[4] = { pad, pad, pad, pad }, ks[2] = { k, k }, strides[2] = { stride, stride };
  LatheTensor *t = ones (g, w, 4, wd);
  LatheNode *nd = node (g, "Conv", name, ins, out);

  attr_ints (nd, "kernel_shape", 2, ks);
  attr_ints (nd, "pads", 4, pads);
  attr_ints (nd, "strides", 2, strides);
  attr_int (nd, "group", group);
  return t;
}

static LatheMacs
count (LatheGraph *g)
{
  g_autoptr(GError) error = NULL;
  LatheMacs macs = { 0 };

  g_assert_true (lathe_graph_count_macs (g, 0, NULL, &macs, &error));
  g_assert_no_error (error);
  return macs;
}

/* ------------------------------------------------------------------ */
/* Small graphs                                                        */

/* x [N,4,8,8] → Conv 4→8 3×3 pad 1, group 2 → [N,8,8,8]:
 * 8 channels × 64 positions × (4/2 · 9) taps = 9216. */
static void
test_conv_groups (void)
{
  gint64 xd[4] = { 1, 4, 8, 8 };
  g_autoptr(LatheGraph) g = graph_new ("x", 4, xd);
  LatheTensor *w = conv (g, "c", "x", "y", 4, 8, 3, 2, 1, 1);
  LatheMacs m;

  graph_finish (g, "y");
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 8 * 64 * 2 * 9);
  g_assert_cmpuint (m.macs_nonzero, ==, m.macs);

  /* five zero weights: each was used at all 64 output positions */
  for (guint i = 0; i < 5; i++)
    lathe_tensor_f32 (w)[i * 17] = 0.f;
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 9216);
  g_assert_cmpuint (m.macs_nonzero, ==, 9216 - 5 * 64);
}

/* Depthwise 8→8 group 8 3×3 pad 1 on 8×8: 8 × 64 × 9 = 4608; then a
 * strided dense 8→6 3×3 without padding, stride 2: 3×3 outputs,
 * 6 × 9 × 72 = 3888. */
static void
test_conv_depthwise_strided (void)
{
  gint64 xd[4] = { 1, 8, 8, 8 };
  g_autoptr(LatheGraph) g = graph_new ("x", 4, xd);
  LatheMacs m;

  conv (g, "dw", "x", "h", 8, 8, 3, 8, 1, 1);
  conv (g, "s", "h", "y", 8, 6, 3, 1, 0, 2);
  graph_finish (g, "y");
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 4608 + 3888);
  g_assert_cmpuint (m.macs_nonzero, ==, 4608 + 3888);
}

/* x [N,1,2,3] → Flatten → Gemm with B [4,6] (transB) → [N,4]: 24; then a
 * Gemm with A the constant and B the activations' transpose is not how
 * models are made, so only B-constant and activation-only cases count. */
static void
test_gemm (void)
{
  gint64 xd[4] = { 1, 1, 2, 3 };
  gint64 bd[2] = { 4, 6 }, b2d[2] = { 4, 5 };
  g_autoptr(LatheGraph) g = graph_new ("x", 4, xd);
  LatheTensor *b;
  LatheMacs m;

  node (g, "Flatten", "flat", "x", "f");
  b = ones (g, "B", 2, bd);
  attr_int (node (g, "Gemm", "fc", "f,B", "h"), "transB", 1);
  /* transB = 0: [N,4] · [4,5] → 20 more */
  ones (g, "B2", 2, b2d);
  node (g, "Gemm", "fc2", "h,B2", "y");
  graph_finish (g, "y");
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 24 + 20);
  g_assert_cmpuint (m.macs_nonzero, ==, 44);

  /* a zero weight of a Gemm saves one product per row of A (1 per sample) */
  lathe_tensor_f32 (b)[0] = 0.f;
  lathe_tensor_f32 (b)[7] = -0.f;
  lathe_tensor_f32 (b)[23] = 0.f;
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 44);
  g_assert_cmpuint (m.macs_nonzero, ==, 41);
}

/* x [N,3,5] · B [5,7] → [N,3,7]: 3 × 7 × 5 = 105; a zero in B saves one
 * product per row of x (3). Then y · yᵀ-like product of two activations:
 * [N,3,7] · [N,7,3] → [N,3,3], 3 × 3 × 7 = 63, always dense. */
static void
test_matmul (void)
{
  gint64 xd[3] = { 1, 3, 5 }, bd[2] = { 5, 7 };
  gint64 perm[3] = { 0, 2, 1 };
  g_autoptr(LatheGraph) g = graph_new ("x", 3, xd);
  LatheTensor *b;
  LatheMacs m;

  b = ones (g, "B", 2, bd);
  node (g, "MatMul", "mm", "x,B", "h");
  attr_ints (node (g, "Transpose", "t", "h", "ht"), "perm", 3, perm);
  node (g, "MatMul", "gram", "h,ht", "y");
  graph_finish (g, "y");
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 105 + 63);
  g_assert_cmpuint (m.macs_nonzero, ==, 105 + 63);

  lathe_tensor_f32 (b)[3] = 0.f;
  lathe_tensor_f32 (b)[34] = 0.f;
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 168);
  g_assert_cmpuint (m.macs_nonzero, ==, 168 - 2 * 3);
}

/* A batched constant: x [N,2,3,4] · B [2,4,5] broadcasts B over N, and
 * each of B's two matrices serves one of the two batches per sample:
 * 2 × 3 × 5 × 4 = 120; a zero saves 3. A MatMul of two constants is
 * folded and costs nothing per sample. */
static void
test_matmul_batched_and_folded (void)
{
  gint64 xd[4] = { 1, 2, 3, 4 }, bd[3] = { 2, 4, 5 }, cd[2] = { 5, 5 };
  g_autoptr(LatheGraph) g = graph_new ("x", 4, xd);
  LatheTensor *b;
  LatheMacs m;

  b = ones (g, "B", 3, bd);
  ones (g, "C", 2, cd);
  node (g, "MatMul", "cc", "C,C", "cc_out");         /* folded */
  node (g, "MatMul", "mm", "x,B", "h");
  node (g, "MatMul", "mm2", "h,cc_out", "y");        /* [N,2,3,5]·[5,5]: 150 */
  graph_finish (g, "y");
  lathe_tensor_f32 (b)[0] = 0.f;
  m = count (g);
  g_assert_cmpuint (m.macs, ==, 120 + 150);
  g_assert_cmpuint (m.macs_nonzero, ==, 120 - 3 + 150);
}

/* A model with free spatial dimensions: counted for the shapes given. */
static void
test_explicit_shape (void)
{
  gint64 xd[4] = { 1, 1, -1, -1 }, small[4] = { 1, 1, 8, 8 }, big[4] = { 1, 1, 16, 16 };
  g_autoptr(LatheGraph) g = graph_new ("x", 4, xd);
  g_autoptr(LatheTensor) meta_small = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 4, small, NULL);
  g_autoptr(LatheTensor) meta_big = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 4, big, NULL);
  g_autoptr(GError) error = NULL;
  LatheMacs m;

  conv (g, "c", "x", "y", 1, 2, 3, 1, 1, 1);
  graph_finish (g, "y");
  g_assert_true (lathe_graph_count_macs (g, 1, &meta_small, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.macs, ==, 2 * 64 * 9);
  g_assert_true (lathe_graph_count_macs (g, 1, &meta_big, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.macs, ==, 2 * 256 * 9);

  /* the declared shape alone does not say how big a sample is */
  g_assert_false (lathe_graph_count_macs (g, 0, NULL, &m, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT);
}

/* Without a declared input shape there is nothing to count from. */
static void
test_no_shape (void)
{
  g_autoptr(LatheGraph) g = graph_new ("x", -1, NULL);
  g_autoptr(GError) error = NULL;
  gint64 bd[2] = { 4, 6 };
  LatheMacs m;

  ones (g, "B", 2, bd);
  attr_int (node (g, "Gemm", "fc", "x,B", "y"), "transB", 1);
  graph_finish (g, "y");
  g_assert_false (lathe_graph_count_macs (g, 0, NULL, &m, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "'x'"));
}

/* ------------------------------------------------------------------ */
/* The sample models                                                   */

/* LeNet-300-100: 784·300 + 300·100 + 100·10. */
#define MLP_MACS (784 * 300 + 300 * 100 + 100 * 10)
/* At width 0.5 (fc3 gives the logits and keeps its 10 units):
 * 784·150 + 150·50 + 50·10. */
#define MLP_MACS_HALF (784 * 150 + 150 * 50 + 50 * 10)
/* LeNet-5: conv1 1→6 5×5 pad 2 on 28×28 (784 positions), pool → 14×14,
 * conv2 6→16 5×5 → 10×10, pool → 5×5, fc 400→120→84→10. */
#define CNN_MACS (6 * 784 * 25 + 16 * 100 * 150 + 400 * 120 + 120 * 84 + 84 * 10)
/* At width 0.5: conv1 3 units, conv2 8 units of 3·25 taps, fc1 8·25 → 60,
 * fc2 60 → 42, fc3 42 → 10. */
#define CNN_MACS_HALF (3 * 784 * 25 + 8 * 100 * 75 + 200 * 60 + 60 * 42 + 42 * 10)

static LatheModel *
load_sample (const char *name)
{
  g_autofree char *path = lathe_test_sample (name);
  g_autoptr(GError) error = NULL;
  LatheModel *model = lathe_model_new_from_file (path, NULL, &error);

  g_assert_no_error (error);
  return model;
}

/* Products with a non-zero weight, counted from the weights themselves:
 * each weight element of a layer is used at `positions[i]` places per
 * sample (a Conv's output positions, 1 for a Gemm). */
static guint64
nonzero_from_weights (LatheGraph   *graph,
                      GPtrArray    *layers,
                      const guint64 *positions)
{
  guint64 total = 0;

  for (guint i = 0; i < layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      LatheTensor *w = lathe_graph_lookup (graph, layer->name)->initializer;
      guint64 nz = 0;

      g_assert_cmpint (w->dtype, ==, LATHE_DTYPE_FLOAT);
      for (gsize k = 0; k < w->n; k++)
        nz += lathe_tensor_f32 (w)[k] != 0.f;
      total += nz * positions[i];
    }
  return total;
}

static void
check_sample (const char    *name,
              guint64        dense,
              guint64        dense_half,
              const guint64 *positions)
{
  g_autoptr(LatheModel) model = load_sample (name);
  LatheGraph *graph = lathe_model_get_graph (model);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) layers = lathe_find_layers (graph, &error);
  g_autoptr(LathePlan) half = lathe_plan_new ();
  g_autoptr(LathePlan) sparse = lathe_plan_new ();
  g_autoptr(LatheApplied) applied = NULL;
  LatheMacs m;

  g_assert_no_error (error);
  g_assert_true (lathe_graph_count_macs (graph, 0, NULL, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.macs, ==, dense);
  g_assert_cmpuint (m.macs_nonzero, ==, nonzero_from_weights (graph, layers, positions));

  half->defaults.width = 0.5;
  applied = lathe_apply_plan (graph, layers, half, &error);
  g_assert_no_error (error);
  g_assert_true (lathe_graph_count_macs (applied->graph, 0, NULL, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.macs, ==, dense_half);
  g_clear_pointer (&applied, lathe_applied_free);

  /* Pruning half the weights keeps the dense count and halves (about)
   * the non-zero one, exactly as the stored zeros say. */
  sparse->defaults.sparsity = 0.5;
  applied = lathe_apply_plan (graph, layers, sparse, &error);
  g_assert_no_error (error);
  g_assert_true (lathe_graph_count_macs (applied->graph, 0, NULL, &m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (m.macs, ==, dense);
  g_assert_cmpuint (m.macs_nonzero, ==, nonzero_from_weights (applied->graph, layers, positions));
  g_assert_cmpuint (m.macs_nonzero, <, dense * 6 / 10);
  g_assert_cmpuint (m.macs_nonzero, >, dense * 4 / 10);
}

static void
test_sample_mlp (void)
{
  static const guint64 positions[3] = { 1, 1, 1 };

  check_sample ("fashion-mlp.onnx", MLP_MACS, MLP_MACS_HALF, positions);
}

static void
test_sample_cnn (void)
{
  static const guint64 positions[5] = { 784, 100, 1, 1, 1 };

  check_sample ("fashion-cnn.onnx", CNN_MACS, CNN_MACS_HALF, positions);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/eval/macs/conv-groups", test_conv_groups);
  g_test_add_func ("/lathe/eval/macs/conv-depthwise-strided", test_conv_depthwise_strided);
  g_test_add_func ("/lathe/eval/macs/gemm", test_gemm);
  g_test_add_func ("/lathe/eval/macs/matmul", test_matmul);
  g_test_add_func ("/lathe/eval/macs/matmul-batched-folded", test_matmul_batched_and_folded);
  g_test_add_func ("/lathe/eval/macs/explicit-shape", test_explicit_shape);
  g_test_add_func ("/lathe/eval/macs/no-shape", test_no_shape);
  g_test_add_func ("/lathe/eval/macs/sample-mlp", test_sample_mlp);
  g_test_add_func ("/lathe/eval/macs/sample-cnn", test_sample_cnn);
  return g_test_run ();
}
