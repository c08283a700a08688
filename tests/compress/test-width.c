/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Width on graphs that are not chains: a ResNet block whose residual Add
 * ties layers into a width group (with an identity skip from a previous
 * Add), a MobileNet depthwise-separable block, a Concat of two convs, a
 * transformer-ish MatMul that a Reshape splits into heads; importance from
 * calibration activations; the apply cache. Expected kept units come from
 * brute-force rankings written here, and each shrunk graph is checked
 * against the original graph with the dropped units' readers zeroed. */

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "data/lathe-npy.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-model.h"
#include "onnx/lathe-onnx.h"
#include "onnx/lathe-onnx-writer.h"
#include "../lathe-test-graph.h"
#include "../lathe-test-util.h"

/* The shrunk graph sums fewer (zero) terms than the masked original, in
 * another order. */
#define SHRINK_ATOL 1e-5
/* Folding BN reorders float32 arithmetic: relative to the largest output
 * (at least 1). */
#define FOLD_ATOL 1e-5

/* ------------------------------------------------------------------ */
/* Building graphs                                                     */

static GRand *rng;

/* A constant filled uniformly from [lo, hi). */
static LatheTensor *
constant (LatheGraph   *g,
          const char   *name,
          guint         ndim,
          const gint64 *dims,
          double        lo,
          double        hi)
{
  LatheValue *v = lathe_graph_add_value (g, name, LATHE_VALUE_INITIALIZER);
  g_autoptr(LatheTensor) t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);

  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = (float) g_rand_double_range (rng, lo, hi);
  lathe_graph_set_initializer (g, v->id, t);
  return t;
}

static void
constant_i64 (LatheGraph   *g,
              const char   *name,
              gsize         n,
              const gint64 *values)
{
  LatheValue *v = lathe_graph_add_value (g, name, LATHE_VALUE_INITIALIZER);
  gint64 dims[1] = { (gint64) n };
  g_autoptr(LatheTensor) t = lathe_tensor_new (LATHE_DTYPE_INT64, 1, dims);

  memcpy (t->data, values, n * sizeof (gint64));
  lathe_graph_set_initializer (g, v->id, t);
}

/* Conv `name` with weight "<name>.weight" [cout, cin/group, k, k] and bias. */
static void
conv (LatheGraph *g,
      const char *name,
      const char *in,
      const char *out,
      gint64      cin,
      gint64      cout,
      gint64      k,
      gint64      group)
{
  g_autofree char *w = g_strdup_printf ("%s.weight", name);
  g_autofree char *b = g_strdup_printf ("%s.bias", name);
  g_autofree char *ins = g_strdup_printf ("%s,%s,%s", in, w, b);
  gint64 wd[4] = { cout, cin / group, k, k }, bd[1] = { cout };
  gint64 pads[4] = { (k - 1) / 2, (k - 1) / 2, (k - 1) / 2, (k - 1) / 2 }, ks[2] = { k, k };
  LatheNode *nd;

  constant (g, w, 4, wd, -1, 1);
  constant (g, b, 1, bd, -0.5, 0.5);
  nd = node (g, "Conv", name, ins, out);
  attr_ints (nd, "kernel_shape", 2, ks);
  attr_ints (nd, "pads", 4, pads);
  if (group != 1)
    attr_int (nd, "group", group);
}

static void
bn (LatheGraph *g,
    const char *name,
    const char *in,
    const char *out,
    gint64      c)
{
  static const char * const parts[4] = { "gamma", "beta", "mean", "var" };
  static const double lo[4] = { 0.5, -0.5, -0.2, 0.5 }, hi[4] = { 1.5, 0.5, 0.2, 1.5 };
  GString *ins = g_string_new (in);
  gint64 d[1] = { c };

  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s.%s", name, parts[i]);
      constant (g, p, 1, d, lo[i], hi[i]);
      g_string_append_printf (ins, ",%s", p);
    }
  node (g, "BatchNormalization", name, ins->str, out);
  g_string_free (ins, TRUE);
}

/* Gemm with transB=1: weight [cout, cin]. */
static void
gemm (LatheGraph *g,
      const char *name,
      const char *in,
      const char *out,
      gint64      cin,
      gint64      cout)
{
  g_autofree char *w = g_strdup_printf ("%s.weight", name);
  g_autofree char *b = g_strdup_printf ("%s.bias", name);
  g_autofree char *ins = g_strdup_printf ("%s,%s,%s", in, w, b);
  gint64 wd[2] = { cout, cin }, bd[1] = { cout };

  constant (g, w, 2, wd, -1, 1);
  constant (g, b, 1, bd, -0.5, 0.5);
  attr_int (node (g, "Gemm", name, ins, out), "transB", 1);
}

/* GlobalAveragePool → Flatten → Gemm classifier → "y". */
static void
head (LatheGraph *g,
      const char *in,
      gint64      c,
      gint64      classes)
{
  node (g, "GlobalAveragePool", "gap", in, "pooled");
  node (g, "Flatten", "flatten", "pooled", "flat");
  gemm (g, "fc", "flat", "y", c, classes);
}

/* Scales unit u of a [units, …] weight by f(u). */
static void
scale_units (LatheGraph *g,
             const char *name,
             double      a,
             double      b)
{
  LatheTensor *t = lathe_graph_lookup (g, name)->initializer;
  gsize per = t->n / (gsize) t->dims[0];

  for (gint64 u = 0; u < t->dims[0]; u++)
    for (gsize i = 0; i < per; i++)
      lathe_tensor_f32 (t)[u * per + i] *= (float) (a + b * u);
}

/* x [N,3,6,6] → conv0 → bn0 → relu = h0;
 * block 1: h0 → convA → bnA → relu → convB → bnB, + h0, relu = r1;
 * block 2: r1 → convC → bnC → relu → convD → bnD, + r1, relu = r2;
 * r2 → GlobalAveragePool → Flatten → fc. The second skip is the first
 * block's output: conv0, convB and convD are one width group. */
static LatheGraph *
build_resnet (void)
{
  gint64 xd[4] = { 1, 3, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv0", "x", "c0", 3, 8, 3, 1);
  bn (g, "bn0", "c0", "b0", 8);
  node (g, "Relu", "relu0", "b0", "h0");
  conv (g, "convA", "h0", "cA", 8, 8, 3, 1);
  bn (g, "bnA", "cA", "bA", 8);
  node (g, "Relu", "reluA", "bA", "rA");
  conv (g, "convB", "rA", "cB", 8, 8, 3, 1);
  bn (g, "bnB", "cB", "bB", 8);
  node (g, "Add", "add1", "bB,h0", "s1");
  node (g, "Relu", "relu1", "s1", "r1");
  conv (g, "convC", "r1", "cC", 8, 8, 3, 1);
  bn (g, "bnC", "cC", "bC", 8);
  node (g, "Relu", "reluC", "bC", "rC");
  conv (g, "convD", "rC", "cD", 8, 8, 3, 1);
  bn (g, "bnD", "cD", "bD", 8);
  node (g, "Add", "add2", "bD,r1", "s2");
  node (g, "Relu", "relu2", "s2", "r2");
  head (g, "r2", 8, 5);
  /* The leader alone would rank high channels first, the group low ones. */
  scale_units (g, "conv0.weight", 0.2, 0.2);
  scale_units (g, "convB.weight", 3.2, -0.4);
  return graph_finish (g, "y");
}

/* x → pw0 → bn → relu → dw (depthwise 3×3) → bn → relu → pw1 → bn → relu → head */
static LatheGraph *
build_mobilenet (void)
{
  gint64 xd[4] = { 1, 3, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "pw0", "x", "c0", 3, 8, 1, 1);
  bn (g, "bn0", "c0", "b0", 8);
  node (g, "Relu", "relu0", "b0", "r0");
  conv (g, "dw", "r0", "cd", 8, 8, 3, 8);
  bn (g, "bnd", "cd", "bd", 8);
  node (g, "Relu", "relud", "bd", "rd");
  conv (g, "pw1", "rd", "c1", 8, 6, 1, 1);
  bn (g, "bn1", "c1", "b1", 6);
  node (g, "Relu", "relu1", "b1", "r1");
  head (g, "r1", 6, 4);
  return graph_finish (g, "y");
}

/* x → convA (4) and x → convB (6), Concat → convC → head */
static LatheGraph *
build_concat (void)
{
  gint64 xd[4] = { 1, 3, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "convA", "x", "cA", 3, 4, 3, 1);
  node (g, "Relu", "reluA", "cA", "a");
  conv (g, "convB", "x", "cB", 3, 6, 3, 1);
  node (g, "Relu", "reluB", "cB", "b");
  attr_int (node (g, "Concat", "cat", "a,b", "ab"), "axis", 1);
  conv (g, "convC", "ab", "cC", 10, 5, 3, 1);
  node (g, "Relu", "reluC", "cC", "c");
  head (g, "c", 5, 3);
  return graph_finish (g, "y");
}

/* x [N,4,8] → MatMul Wq + bq → Reshape [N,4,2,4] (heads) → Transpose →
 * Transpose → Reshape [N,4,8] → MatMul W1 + b1 → Relu → MatMul W2 → y */
static LatheGraph *
build_transformer (void)
{
  gint64 xd[3] = { 1, 4, 8 }, wq[2] = { 8, 8 }, bq[1] = { 8 }, w1[2] = { 8, 16 }, b1[1] = { 16 }, w2[2] = { 16, 8 };
  gint64 heads[4] = { 0, 4, 2, 4 }, back[3] = { 0, 4, 8 }, perm[4] = { 0, 2, 1, 3 };
  LatheGraph *g = graph_new ("x", 3, xd);

  constant (g, "Wq", 2, wq, -1, 1);
  constant (g, "bq", 1, bq, -0.5, 0.5);
  constant (g, "W1", 2, w1, -1, 1);
  constant (g, "b1", 1, b1, -0.5, 0.5);
  constant (g, "W2", 2, w2, -1, 1);
  constant_i64 (g, "heads_shape", 4, heads);
  constant_i64 (g, "back_shape", 3, back);
  node (g, "MatMul", "q", "x,Wq", "q");
  node (g, "Add", "q_bias", "q,bq", "qb");
  node (g, "Reshape", "split_heads", "qb,heads_shape", "h");
  attr_ints (node (g, "Transpose", "t1", "h", "ht"), "perm", 4, perm);
  attr_ints (node (g, "Transpose", "t2", "ht", "hb"), "perm", 4, perm);
  node (g, "Reshape", "merge_heads", "hb,back_shape", "m");
  node (g, "MatMul", "ffn1", "m,W1", "f1");
  node (g, "Add", "ffn1_bias", "f1,b1", "f1b");
  node (g, "Relu", "ffn_relu", "f1b", "f1r");
  node (g, "MatMul", "ffn2", "f1r,W2", "y");
  return graph_finish (g, "y");
}

/* x [N,4,6,6] → conv → Add with x itself → relu → head */
static LatheGraph *
build_input_skip (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  node (g, "Add", "skip", "c,x", "s");
  node (g, "Relu", "relu", "s", "r");
  head (g, "r", 4, 2);
  return graph_finish (g, "y");
}

/* Graphs where width stops, one reason each (see lathe-layers.h). */

/* x → conv0 → convg (group 2, not depthwise) → relu → head */
static LatheGraph *
build_grouped (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv0", "x", "c0", 4, 8, 3, 1);
  conv (g, "convg", "c0", "cg", 8, 8, 3, 2);
  node (g, "Relu", "relu", "cg", "r");
  head (g, "r", 8, 3);
  return graph_finish (g, "y");
}

/* x → conv → Transpose (H↔W) → head */
static LatheGraph *
build_transposed (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 }, perm[4] = { 0, 1, 3, 2 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  attr_ints (node (g, "Transpose", "swap", "c", "t"), "perm", 4, perm);
  head (g, "t", 4, 3);
  return graph_finish (g, "y");
}

/* Concat(convA, convB) + convC: the Add meets one tie class with two. */
static LatheGraph *
build_mismatch (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "convA", "x", "cA", 4, 4, 3, 1);
  conv (g, "convB", "x", "cB", 4, 4, 3, 1);
  attr_int (node (g, "Concat", "cat", "cA,cB", "ab"), "axis", 1);
  conv (g, "convC", "x", "cC", 4, 8, 3, 1);
  node (g, "Add", "add", "ab,cC", "s");
  head (g, "s", 8, 3);
  return graph_finish (g, "y");
}

/* x → conv → Add of a [1,4,6,6] constant (not per channel) → head */
static LatheGraph *
build_spatial_constant (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 }, cd[4] = { 1, 4, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  constant (g, "offset", 4, cd, -1, 1);
  node (g, "Add", "bias", "c,offset", "s");
  head (g, "s", 4, 3);
  return graph_finish (g, "y");
}

/* x → conv; Concat(conv, x) → head */
static LatheGraph *
build_concat_input (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  attr_int (node (g, "Concat", "cat", "c,x", "cx"), "axis", 1);
  head (g, "cx", 8, 3);
  return graph_finish (g, "y");
}

/* x → conv; Add(conv, Transpose (x)) → head */
static LatheGraph *
build_transposed_skip (void)
{
  gint64 xd[4] = { 1, 4, 6, 6 }, perm[4] = { 0, 1, 3, 2 };
  LatheGraph *g = graph_new ("x", 4, xd);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  attr_ints (node (g, "Transpose", "swap", "x", "xt"), "perm", 4, perm);
  node (g, "Add", "skip", "c,xt", "s");
  head (g, "s", 4, 3);
  return graph_finish (g, "y");
}

/* An input without a shape: x → conv → Flatten → fc */
static LatheGraph *
build_shapeless (void)
{
  LatheGraph *g = graph_new ("x", -1, NULL);

  conv (g, "conv", "x", "c", 4, 4, 3, 1);
  node (g, "Flatten", "flatten", "c", "flat");
  gemm (g, "fc", "flat", "y", 144, 3);
  return graph_finish (g, "y");
}

/* An input without a shape: x → MatMul W → Relu */
static LatheGraph *
build_shapeless_matmul (void)
{
  gint64 wd[2] = { 4, 4 };
  LatheGraph *g = graph_new ("x", -1, NULL);

  constant (g, "W", 2, wd, -1, 1);
  node (g, "MatMul", "mm", "x,W", "m");
  node (g, "Relu", "relu", "m", "y");
  return graph_finish (g, "y");
}

/* ------------------------------------------------------------------ */
/* References                                                          */

static LatheTensor *
random_input (LatheGraph *g,
              gint64      batch)
{
  LatheValue *in = lathe_graph_value (g, g_array_index (g->inputs, guint, 0));
  gint64 dims[LATHE_MAX_DIMS];
  LatheTensor *t;

  memcpy (dims, in->dims, sizeof dims);
  dims[0] = batch;
  t = lathe_tensor_new (LATHE_DTYPE_FLOAT, (guint) in->ndim, dims);
  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = (float) g_rand_double_range (rng, -1, 1);
  return t;
}

static LatheTensor *
run (LatheGraph  *graph,
     LatheTensor *input)
{
  g_autoptr(LatheExecutor) exec = lathe_executor_new (graph);
  g_autoptr(GError) error = NULL;

  g_assert_true (lathe_executor_run (exec, 1, &input, &error));
  g_assert_no_error (error);
  return lathe_tensor_dup (lathe_executor_get_output (exec, 0));
}

static double
max_diff (const LatheTensor *a,
          const LatheTensor *b)
{
  double d = 0;

  g_assert_true (lathe_tensor_same_shape (a, b));
  for (gsize i = 0; i < a->n; i++)
    d = MAX (d, fabs (lathe_tensor_f32 (a)[i] - lathe_tensor_f32 (b)[i]));
  return d;
}

static double
max_abs (const LatheTensor *t)
{
  double m = 1;

  for (gsize i = 0; i < t->n; i++)
    m = MAX (m, fabs (lathe_tensor_f32 (t)[i]));
  return m;
}

static LatheTensor *
weight (LatheGraph *g,
        const char *name)
{
  LatheValue *v = lathe_graph_lookup (g, name);
  g_assert_nonnull (v);
  return v->initializer;
}

/* Scalar reference for width's ranking: the L2 norm of each unit of a
 * [units, inputs, …] weight over the input channels in `in` (NULL: all),
 * plus `add` when given. */
static double *
unit_norms_ref (const LatheTensor *w,
                const gsize       *in,
                gsize              n_in,
                double            *add)
{
  gsize units = (gsize) w->dims[0], inputs = (gsize) w->dims[1], inner = w->n / units / inputs;
  double *norm = add != NULL ? add : g_new0 (double, units);

  for (gsize u = 0; u < units; u++)
    {
      double s = 0;
      for (gsize c = 0; c < (in ? n_in : inputs); c++)
        for (gsize k = 0; k < inner; k++)
          {
            double v = lathe_tensor_f32 (w)[(u * inputs + (in ? in[c] : c)) * inner + k];
            s += v * v;
          }
      norm[u] += sqrt (s);
    }
  return norm;
}

/* The units whose rank (how many score higher, or the same at a lower
 * index) is below keep, ascending. */
static gsize *
top_ref (const double *score,
         gsize         n,
         gsize         keep)
{
  gsize *kept = g_new (gsize, keep), m = 0;

  for (gsize u = 0; u < n; u++)
    {
      gsize rank = 0;
      for (gsize v = 0; v < n; v++)
        rank += score[v] > score[u] || (score[v] == score[u] && v < u);
      if (rank < keep)
        kept[m++] = u;
    }
  g_assert_cmpuint (m, ==, keep);
  return kept;
}

/* Rows `rows` (NULL: all) and input channels `in` (NULL: all) of a
 * [units, inputs, …] tensor, or of a vector when it has one axis. */
static LatheTensor *
gather_ref (const LatheTensor *w,
            const gsize       *rows,
            gsize              n_rows,
            const gsize       *in,
            gsize              n_in)
{
  gint64 dims[LATHE_MAX_DIMS];
  gsize units = (gsize) w->dims[0];
  gsize inputs = w->ndim > 1 ? (gsize) w->dims[1] : 1, inner = w->n / units / inputs;
  LatheTensor *out;
  float *dst;

  memcpy (dims, w->dims, sizeof dims);
  if (rows)
    dims[0] = (gint64) n_rows;
  if (in)
    dims[1] = (gint64) n_in;
  out = lathe_tensor_new (LATHE_DTYPE_FLOAT, w->ndim, dims);
  dst = out->data;
  for (gsize r = 0; r < (rows ? n_rows : units); r++)
    for (gsize c = 0; c < (in ? n_in : inputs); c++)
      {
        memcpy (dst, lathe_tensor_f32 (w) + ((rows ? rows[r] : r) * inputs + (in ? in[c] : c)) * inner,
                inner * sizeof (float));
        dst += inner;
      }
  return out;
}

static void
assert_tensor_equal (const LatheTensor *got,
                     const LatheTensor *want)
{
  g_assert_true (lathe_tensor_same_shape (got, want));
  g_assert_cmpmem (got->data, lathe_tensor_nbytes (got), want->data, lathe_tensor_nbytes (want));
}

/* Zeroes the input channels of a [units, inputs, …] weight that `kept`
 * (ascending) does not hold: the original graph then computes what the
 * shrunk one does. With `transposed` the weight is [inputs, units]. */
static void
mask_inputs (LatheGraph  *g,
             const char  *name,
             const gsize *kept,
             gsize        n_kept,
             gboolean     transposed)
{
  LatheValue *v = lathe_graph_lookup (g, name);
  g_autoptr(LatheTensor) t = lathe_tensor_dup (v->initializer);
  gsize d0 = (gsize) t->dims[0], d1 = (gsize) t->dims[1], inner = t->n / d0 / d1;

  for (gsize a = 0; a < d0; a++)
    for (gsize b = 0; b < d1; b++)
      {
        gsize c = transposed ? a : b;
        gboolean keep = FALSE;
        for (gsize j = 0; j < n_kept; j++)
          keep |= kept[j] == c;
        if (!keep)
          memset (lathe_tensor_f32 (t) + (a * d1 + b) * inner, 0, inner * sizeof (float));
      }
  lathe_graph_set_initializer (g, v->id, t);
}

static LatheGraph *
copy_graph (LatheGraph *g)
{
  g_autoptr(GError) error = NULL;
  LatheGraph *c = lathe_graph_copy (g, &error);
  g_assert_no_error (error);
  return c;
}

static LatheLayer *
find (GPtrArray  *layers,
      const char *name)
{
  int i = lathe_layers_index (layers, name);
  g_assert_cmpint (i, >=, 0);
  return g_ptr_array_index (layers, i);
}

static GPtrArray *
layers_of (LatheGraph *g)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = lathe_find_layers (g, &error);
  g_assert_no_error (error);
  return layers;
}

static LatheApplied *
apply_ok (LatheGraph *g,
          GPtrArray  *layers,
          LathePlan  *plan)
{
  g_autoptr(GError) error = NULL;
  LatheApplied *a = lathe_apply_plan (g, layers, plan, &error);
  g_assert_no_error (error);
  g_assert_nonnull (a);
  return a;
}

static void
set_width (LathePlan  *plan,
           const char *layer,
           double      width)
{
  LatheLayerSettings *s = lathe_plan_layer (plan, layer);
  s->width = width;
  s->set |= LATHE_FIELD_WIDTH;
}

static void
assert_apply_fails (LatheGraph *g,
                    GPtrArray  *layers,
                    LathePlan  *plan,
                    const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) a = lathe_apply_plan (g, layers, plan, &error);

  g_assert_null (a);
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, needle);
}

static LatheLayerResult *
result (LatheApplied *a,
        const char   *name)
{
  for (guint i = 0; i < a->results->len; i++)
    if (g_str_equal (((LatheLayerResult *) g_ptr_array_index (a->results, i))->name, name))
      return g_ptr_array_index (a->results, i);
  g_assert_not_reached ();
}

/* width = 1 leaves the graph and its outputs exactly as they were. */
static void
assert_width_one_is_identity (LatheGraph *g,
                              GPtrArray  *layers)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheTensor) x = random_input (g, 3);
  g_autoptr(LatheTensor) want = NULL, got = NULL, folded = NULL;

  plan->fold_bn = FALSE;
  a = apply_ok (g, layers, plan);
  want = run (g, x);
  got = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, got), ==, 0.0);
  g_clear_pointer (&a, lathe_applied_free);
  plan->fold_bn = TRUE;
  a = apply_ok (g, layers, plan);
  folded = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, folded), <=, FOLD_ATOL * max_abs (want));
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void
test_resnet_groups (void)
{
  g_autoptr(LatheGraph) g = build_resnet ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  LatheLayer *c0 = find (layers, "conv0.weight");
  LatheLayer *cb = find (layers, "convB.weight"), *cd = find (layers, "convD.weight");
  LatheLayer *ca = find (layers, "convA.weight"), *cc = find (layers, "convC.weight");
  LatheLayer *fc = find (layers, "fc.weight");

  g_assert_cmpuint (layers->len, ==, 6);
  /* conv0 leads the group of the residual stream, tied across both Adds */
  g_assert_null (c0->width_reason);
  g_assert_cmpint (c0->group_leader, ==, 0);
  g_assert_nonnull (c0->group_members);
  g_assert_cmpuint (c0->group_members->len, ==, 3);
  g_assert_cmpint (g_array_index (c0->group_members, int, 0), ==, 0);
  g_assert_cmpint (g_array_index (c0->group_members, int, 1), ==, lathe_layers_index (layers, "convB.weight"));
  g_assert_cmpint (g_array_index (c0->group_members, int, 2), ==, lathe_layers_index (layers, "convD.weight"));
  g_assert_cmpstr (cb->width_reason, ==, "in the width group of conv0.weight");
  g_assert_cmpstr (cd->width_reason, ==, "in the width group of conv0.weight");
  g_assert_cmpint (cb->group_leader, ==, 0);
  g_assert_cmpint (cb->tie, ==, 0);
  g_assert_cmpint (cd->tie, ==, 0);
  g_assert_null (cb->group_members);
  /* 3 BNs × 4 parameters shrink with the group */
  g_assert_cmpuint (c0->group_edits->len, ==, 12);
  /* convA and convC lead groups of their own; both read the stream */
  g_assert_null (ca->width_reason);
  g_assert_null (cc->width_reason);
  g_assert_cmpint (ca->input_group, ==, 0);
  g_assert_cmpint (cc->input_group, ==, 0);
  g_assert_cmpint (cb->input_group, ==, lathe_layers_index (layers, "convA.weight"));
  g_assert_cmpint (fc->input_group, ==, 0);
  g_assert_true (fc->is_output);
  g_assert_cmpint (fc->group_leader, ==, -1);
  g_assert_cmpint (c0->follower, ==, lathe_layers_index (layers, "convA.weight"));

  /* a width on a non-leader is an error that names the leader */
  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    set_width (plan, "convB.weight", 0.5);
    assert_apply_fails (g, layers, plan, "'conv0.weight'");
  }
  assert_width_one_is_identity (g, layers);
}

static void
test_resnet_width (void)
{
  g_autoptr(LatheGraph) g = build_resnet ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheGraph) masked = copy_graph (g);
  g_autoptr(LatheTensor) x = random_input (g, 4);
  g_autoptr(LatheTensor) want = NULL, got = NULL;
  g_autofree double *group = NULL, *alone = NULL, *na = NULL, *nc = NULL;
  g_autofree gsize *k0 = NULL, *k0_alone = NULL, *ka = NULL, *kc = NULL;

  plan->defaults.width = 0.5;
  plan->fold_bn = FALSE;
  a = apply_ok (g, layers, plan);

  /* Brute force: the group ranks conv0 + convB + convD; convA and convC
   * rank after their inputs shrank. */
  group = unit_norms_ref (weight (g, "conv0.weight"), NULL, 0, NULL);
  unit_norms_ref (weight (g, "convB.weight"), NULL, 0, group);
  unit_norms_ref (weight (g, "convD.weight"), NULL, 0, group);
  k0 = top_ref (group, 8, 4);
  alone = unit_norms_ref (weight (g, "conv0.weight"), NULL, 0, NULL);
  k0_alone = top_ref (alone, 8, 4);
  g_assert_true (memcmp (k0, k0_alone, 4 * sizeof (gsize)) != 0);   /* the sum matters */
  na = unit_norms_ref (weight (g, "convA.weight"), k0, 4, NULL);
  ka = top_ref (na, 8, 4);
  nc = unit_norms_ref (weight (g, "convC.weight"), k0, 4, NULL);
  kc = top_ref (nc, 8, 4);

#define CHECK(name, rows, nr, in, ni) G_STMT_START { \
    g_autoptr(LatheTensor) ref = gather_ref (weight (g, name), rows, nr, in, ni); \
    assert_tensor_equal (weight (a->graph, name), ref); \
  } G_STMT_END
  CHECK ("conv0.weight", k0, 4, NULL, 0);
  CHECK ("conv0.bias", k0, 4, NULL, 0);
  CHECK ("bn0.gamma", k0, 4, NULL, 0);
  CHECK ("bnB.var", k0, 4, NULL, 0);
  CHECK ("bnD.beta", k0, 4, NULL, 0);
  CHECK ("convA.weight", ka, 4, k0, 4);
  CHECK ("bnA.mean", ka, 4, NULL, 0);
  CHECK ("convB.weight", k0, 4, ka, 4);
  CHECK ("convC.weight", kc, 4, k0, 4);
  CHECK ("convD.weight", k0, 4, kc, 4);
  CHECK ("fc.weight", NULL, 0, k0, 4);
  CHECK ("fc.bias", NULL, 0, NULL, 0);
#undef CHECK
  g_assert_cmpuint (result (a, "convB.weight")->rows, ==, 4);
  g_assert_cmpfloat (result (a, "convB.weight")->settings.width, ==, 0.5);
  g_assert_nonnull (strstr (result (a, "convD.weight")->status, "width 4/8 units"));
  g_assert_null (strstr (result (a, "convD.weight")->status, "not applied"));

  /* The shrunk graph computes what the original does with the dropped
   * units' readers zeroed. */
  mask_inputs (masked, "convA.weight", k0, 4, FALSE);
  mask_inputs (masked, "convC.weight", k0, 4, FALSE);
  mask_inputs (masked, "fc.weight", k0, 4, FALSE);
  mask_inputs (masked, "convB.weight", ka, 4, FALSE);
  mask_inputs (masked, "convD.weight", kc, 4, FALSE);
  want = run (masked, x);
  got = run (a->graph, x);
  g_test_message ("resnet width 0.5: |shrunk − masked| = %.3g", max_diff (want, got));
  g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);

  /* with folding the BNs go and the graph still runs */
  {
    g_autoptr(LatheApplied) f = NULL;
    g_autoptr(LatheTensor) y = NULL;
    plan->fold_bn = TRUE;
    f = apply_ok (g, layers, plan);
    for (guint k = 0; k < f->graph->nodes->len; k++)
      g_assert_cmpstr (lathe_graph_node (f->graph, k)->op_type, !=, "BatchNormalization");
    g_assert_cmpint (weight (f->graph, "convD.weight")->dims[0], ==, 4);
    y = run (f->graph, x);
    g_assert_cmpint (y->dims[1], ==, 5);
  }

  /* the leader's own override sets the whole group */
  {
    g_autoptr(LathePlan) p2 = lathe_plan_new ();
    g_autoptr(LatheApplied) b = NULL;
    set_width (p2, "conv0.weight", 0.25);
    b = apply_ok (g, layers, p2);
    g_assert_cmpint (weight (b->graph, "convB.weight")->dims[0], ==, 2);
    g_assert_cmpint (weight (b->graph, "convB.weight")->dims[1], ==, 8);
    g_assert_cmpint (weight (b->graph, "convC.weight")->dims[1], ==, 2);
    g_assert_cmpint (weight (b->graph, "fc.weight")->dims[1], ==, 2);
  }
}

static void
test_input_skip (void)
{
  g_autoptr(LatheGraph) g = build_input_skip ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  LatheLayer *c = find (layers, "conv.weight");

  g_assert_nonnull (c->width_reason);
  g_assert_nonnull (strstr (c->width_reason, "the graph input 'x'"));
  g_assert_nonnull (strstr (c->width_reason, "Add node 'skip'"));
  g_assert_cmpint (c->group_leader, ==, -1);
  plan->defaults.width = 0.5;
  a = apply_ok (g, layers, plan);
  g_assert_cmpint (weight (a->graph, "conv.weight")->dims[0], ==, 4);
  g_assert_nonnull (strstr (result (a, "conv.weight")->status, "width not applied"));
  set_width (plan, "conv.weight", 0.5);
  assert_apply_fails (g, layers, plan, "graph input 'x'");
}

static void
test_mobilenet (void)
{
  g_autoptr(LatheGraph) g = build_mobilenet ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheGraph) masked = copy_graph (g);
  g_autoptr(LatheTensor) x = random_input (g, 4);
  g_autoptr(LatheTensor) want = NULL, got = NULL;
  g_autofree double *n0 = NULL, *n1 = NULL;
  g_autofree gsize *k0 = NULL, *k1 = NULL;
  LatheLayer *pw0 = find (layers, "pw0.weight"), *dw = find (layers, "dw.weight"), *pw1 = find (layers, "pw1.weight");

  g_assert_true (dw->depthwise);
  g_assert_cmpstr (dw->width_reason, ==, "tied to the layer that feeds it (depthwise)");
  g_assert_cmpint (dw->group_leader, ==, 0);
  g_assert_cmpint (dw->bn_node, >=, 0);
  g_assert_null (pw0->width_reason);
  g_assert_cmpuint (pw0->group_members->len, ==, 1);
  g_assert_cmpint (pw0->follower, ==, lathe_layers_index (layers, "pw1.weight"));
  g_assert_cmpint (pw0->follow_kind, ==, LATHE_FOLLOW_CONV);
  g_assert_cmpint (pw1->input_group, ==, 0);
  g_assert_null (pw1->width_reason);
  assert_width_one_is_identity (g, layers);

  plan->defaults.width = 0.5;
  plan->fold_bn = FALSE;
  a = apply_ok (g, layers, plan);
  n0 = unit_norms_ref (weight (g, "pw0.weight"), NULL, 0, NULL);
  k0 = top_ref (n0, 8, 4);
  n1 = unit_norms_ref (weight (g, "pw1.weight"), k0, 4, NULL);
  k1 = top_ref (n1, 6, 3);
  {
    g_autoptr(LatheTensor) r_dw = gather_ref (weight (g, "dw.weight"), k0, 4, NULL, 0);
    g_autoptr(LatheTensor) r_dwb = gather_ref (weight (g, "dw.bias"), k0, 4, NULL, 0);
    g_autoptr(LatheTensor) r_bnd = gather_ref (weight (g, "bnd.gamma"), k0, 4, NULL, 0);
    g_autoptr(LatheTensor) r_pw1 = gather_ref (weight (g, "pw1.weight"), k1, 3, k0, 4);
    LatheNode *dwn = NULL;

    assert_tensor_equal (weight (a->graph, "dw.weight"), r_dw);
    assert_tensor_equal (weight (a->graph, "dw.bias"), r_dwb);
    assert_tensor_equal (weight (a->graph, "bnd.gamma"), r_bnd);
    assert_tensor_equal (weight (a->graph, "pw1.weight"), r_pw1);
    for (guint k = 0; k < a->graph->nodes->len; k++)
      if (g_str_equal (lathe_graph_node (a->graph, k)->name, "dw"))
        dwn = lathe_graph_node (a->graph, k);
    g_assert_nonnull (dwn);
    g_assert_cmpint (lathe_node_get_int (dwn, "group", 1), ==, 4);
  }
  g_assert_cmpuint (result (a, "dw.weight")->rows, ==, 4);
  g_assert_cmpuint (result (a, "dw.weight")->cols, ==, 9);
  mask_inputs (masked, "pw1.weight", k0, 4, FALSE);
  mask_inputs (masked, "fc.weight", k1, 3, FALSE);
  want = run (masked, x);
  got = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);

  /* the exported model carries the depthwise conv's new group */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes = lathe_onnx_serialize (a->graph, NULL, &error);
    g_autoptr(LatheGraph) reloaded = NULL;
    g_autoptr(LatheTensor) again = NULL;

    g_assert_no_error (error);
    reloaded = lathe_onnx_parse_model (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                       "mobilenet.onnx", NULL, &error);
    g_assert_no_error (error);
    again = run (reloaded, x);
    g_assert_cmpfloat (max_diff (got, again), ==, 0.0);
  }

  /* folded: the depthwise BN goes into the depthwise conv */
  {
    g_autoptr(LatheApplied) f = NULL;
    g_autoptr(LatheTensor) y = NULL;
    plan->fold_bn = TRUE;
    f = apply_ok (g, layers, plan);
    g_assert_true (result (f, "dw.weight")->bn_folded);
    for (guint k = 0; k < f->graph->nodes->len; k++)
      g_assert_cmpstr (lathe_graph_node (f->graph, k)->op_type, !=, "BatchNormalization");
    g_assert_cmpint (weight (f->graph, "dw.weight")->dims[0], ==, 4);
    y = run (f->graph, x);
    g_assert_cmpint (y->dims[1], ==, 4);
  }

  {
    g_autoptr(LathePlan) p2 = lathe_plan_new ();
    set_width (p2, "dw.weight", 0.5);
    assert_apply_fails (g, layers, p2, "depthwise");
  }
}

static void
test_concat (void)
{
  g_autoptr(LatheGraph) g = build_concat ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheGraph) masked = copy_graph (g);
  g_autoptr(LatheTensor) x = random_input (g, 4);
  g_autoptr(LatheTensor) want = NULL, got = NULL;
  g_autofree double *na = NULL, *nb = NULL, *nc = NULL;
  g_autofree gsize *ka = NULL, *kb = NULL, *kc = NULL;
  gsize cols[5];
  LatheLayer *ca = find (layers, "convA.weight"), *cb = find (layers, "convB.weight"), *cc = find (layers, "convC.weight");

  g_assert_null (ca->width_reason);
  g_assert_cmpuint (ca->group_members->len, ==, 2);
  g_assert_cmpstr (cb->width_reason, ==, "in the width group of convA.weight");
  /* Concat operands are not tied: each keeps its own units */
  g_assert_cmpint (ca->tie, ==, 0);
  g_assert_cmpint (cb->tie, ==, 1);
  g_assert_cmpuint (cc->input_layout->len, ==, 2);
  g_assert_cmpuint (g_array_index (cc->input_layout, LatheWidthSlice, 1).offset, ==, 4);
  g_assert_cmpuint (g_array_index (cc->input_layout, LatheWidthSlice, 1).units, ==, 6);
  assert_width_one_is_identity (g, layers);

  set_width (plan, "convA.weight", 0.5);
  a = apply_ok (g, layers, plan);
  na = unit_norms_ref (weight (g, "convA.weight"), NULL, 0, NULL);
  ka = top_ref (na, 4, 2);
  nb = unit_norms_ref (weight (g, "convB.weight"), NULL, 0, NULL);
  kb = top_ref (nb, 6, 3);
  for (guint i = 0; i < 2; i++)
    cols[i] = ka[i];
  for (guint i = 0; i < 3; i++)
    cols[2 + i] = 4 + kb[i];
  /* convC keeps its width (1) but loses the dropped input columns */
  {
    g_autoptr(LatheTensor) r_c = gather_ref (weight (g, "convC.weight"), NULL, 0, cols, 5);
    g_autoptr(LatheTensor) r_b = gather_ref (weight (g, "convB.weight"), kb, 3, NULL, 0);
    assert_tensor_equal (weight (a->graph, "convC.weight"), r_c);
    assert_tensor_equal (weight (a->graph, "convB.weight"), r_b);
  }
  mask_inputs (masked, "convC.weight", cols, 5, FALSE);
  want = run (masked, x);
  got = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);
  g_clear_pointer (&a, lathe_applied_free);
  g_clear_pointer (&want, lathe_tensor_unref);
  g_clear_pointer (&got, lathe_tensor_unref);

  /* everything at 0.5: convC ranks after its input shrank */
  plan->defaults.width = 0.5;
  a = apply_ok (g, layers, plan);
  nc = unit_norms_ref (weight (g, "convC.weight"), cols, 5, NULL);
  kc = top_ref (nc, 5, 3);
  {
    g_autoptr(LatheTensor) r_c = gather_ref (weight (g, "convC.weight"), kc, 3, cols, 5);
    assert_tensor_equal (weight (a->graph, "convC.weight"), r_c);
  }
  mask_inputs (masked, "fc.weight", kc, 3, FALSE);
  want = run (masked, x);
  got = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);

  {
    g_autoptr(LathePlan) p2 = lathe_plan_new ();
    set_width (p2, "convB.weight", 0.5);
    assert_apply_fails (g, layers, p2, "'convA.weight'");
  }
}

static void
test_attention_heads (void)
{
  g_autoptr(LatheGraph) g = build_transformer ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheGraph) masked = copy_graph (g);
  g_autoptr(LatheTensor) x = random_input (g, 2);
  g_autoptr(LatheTensor) want = NULL, got = NULL;
  g_autoptr(LatheTensor) w1t = NULL;
  g_autofree double *n1 = NULL;
  g_autofree gsize *k1 = NULL;
  LatheLayer *wq = find (layers, "Wq"), *w1 = find (layers, "W1"), *w2 = find (layers, "W2");

  g_assert_cmpstr (wq->width_reason, ==, "a Reshape splits its units into attention heads");
  g_assert_null (w1->width_reason);
  g_assert_cmpint (w1->out_axis, ==, 1);
  g_assert_cmpint (w1->follower, ==, lathe_layers_index (layers, "W2"));
  g_assert_cmpint (w1->follow_kind, ==, LATHE_FOLLOW_GEMM);
  g_assert_nonnull (w1->group_edits);    /* its bias b1 is an Add constant */
  g_assert_true (w2->is_output);
  assert_width_one_is_identity (g, layers);

  plan->defaults.width = 0.5;
  a = apply_ok (g, layers, plan);
  g_assert_cmpint (weight (a->graph, "Wq")->dims[1], ==, 8);
  g_assert_nonnull (strstr (result (a, "Wq")->status,
                            "width not applied: a Reshape splits its units into attention heads"));
  /* W1 is [8,16]: units on axis 1 */
  {
    gint64 dims[2] = { 16, 8 };
    LatheTensor *w = weight (g, "W1");
    w1t = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dims);
    for (gsize k = 0; k < 8; k++)
      for (gsize u = 0; u < 16; u++)
        lathe_tensor_f32 (w1t)[u * 8 + k] = lathe_tensor_f32 (w)[k * 16 + u];
  }
  n1 = unit_norms_ref (w1t, NULL, 0, NULL);
  k1 = top_ref (n1, 16, 8);
  g_assert_cmpint (weight (a->graph, "W1")->dims[1], ==, 8);
  g_assert_cmpint (weight (a->graph, "W2")->dims[0], ==, 8);
  {
    g_autoptr(LatheTensor) r_b = gather_ref (weight (g, "b1"), k1, 8, NULL, 0);
    g_autoptr(LatheTensor) r_w2 = gather_ref (weight (g, "W2"), k1, 8, NULL, 0);
    assert_tensor_equal (weight (a->graph, "b1"), r_b);
    assert_tensor_equal (weight (a->graph, "W2"), r_w2);
  }
  mask_inputs (masked, "W2", k1, 8, TRUE);
  want = run (masked, x);
  got = run (a->graph, x);
  g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);

  {
    g_autoptr(LathePlan) p2 = lathe_plan_new ();
    set_width (p2, "Wq", 0.5);
    assert_apply_fails (g, layers, p2, "attention heads");
  }
}

/* fc1 unit 0 reads only feature 5, which the calibration data holds at 0
 * in its first 16 samples: large weights, no activation. */
static LatheGraph *
build_calibration_mlp (void)
{
  gint64 xd[2] = { 1, 6 };
  LatheGraph *g = graph_new ("x", 2, xd);
  LatheTensor *w;

  gemm (g, "fc1", "x", "h", 6, 4);
  node (g, "Relu", "relu", "h", "r");
  gemm (g, "fc2", "r", "y", 4, 3);
  w = weight (g, "fc1.weight");
  for (guint c = 0; c < 6; c++)
    lathe_tensor_f32 (w)[c] = c == 5 ? 10.f : 0.f;
  for (guint u = 1; u < 4; u++)
    lathe_tensor_f32 (w)[u * 6 + 5] = 0.f;
  lathe_tensor_f32 (weight (g, "fc1.bias"))[0] = 0.f;
  return graph_finish (g, "y");
}

static LatheDataset *
calibration_data (gboolean other)
{
  gint64 dims[1] = { 6 };
  float *data = lathe_aligned_alloc0 (32 * 6 * sizeof (float));
  GRand *r = g_rand_new_with_seed (other ? 99 : 7);

  for (guint s = 0; s < 32; s++)
    for (guint c = 0; c < 6; c++)
      data[s * 6 + c] = c < 5 ? (float) g_rand_double_range (r, -1, 1) : s < 16 ? 0.f : 100.f;
  g_rand_free (r);
  return lathe_dataset_new_take (LATHE_DTYPE_FLOAT, 32, 1, dims, data, NULL,
                                 other ? "npy:eval.npy" : "npy:calibration.npy");
}

static void
test_calibration_importance (void)
{
  g_autoptr(LatheGraph) g = build_calibration_mlp ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheDataset) calib = calibration_data (FALSE);
  g_autoptr(LatheDataset) same = calibration_data (FALSE);
  g_autoptr(LatheDataset) other = calibration_data (TRUE);
  g_autoptr(LatheApplied) l2 = NULL, act = NULL;
  g_autoptr(GError) error = NULL;
  LatheApplyOptions options = { 0 };
  double mean_abs[4] = { 0 };
  g_autofree gsize *kept = NULL;
  const float *x = lathe_dataset_get_data (calib);
  LatheTensor *w = weight (g, "fc1.weight"), *b = weight (g, "fc1.bias");

  set_width (plan, "fc1.weight", 0.5);
  l2 = apply_ok (g, layers, plan);
  /* L2 keeps the big unit 0 */
  g_assert_cmpfloat (lathe_tensor_f32 (weight (l2->graph, "fc1.weight"))[5], ==, 10.f);

  options.importance = LATHE_IMPORTANCE_ACTIVATION;
  options.calibration = calib;
  options.calibration_samples = 16;
  options.evaluation_sha256 = lathe_dataset_get_sha256 (other);
  act = lathe_apply_plan_full (g, layers, plan, &options, NULL, &error);
  g_assert_no_error (error);

  /* Brute force: mean |fc1 output| over the first 16 samples. */
  for (guint s = 0; s < 16; s++)
    for (guint u = 0; u < 4; u++)
      {
        double y = lathe_tensor_f32 (b)[u];
        for (guint c = 0; c < 6; c++)
          y += (double) lathe_tensor_f32 (w)[u * 6 + c] * x[s * 6 + c];
        mean_abs[u] += fabs (y) / 16;
      }
  kept = top_ref (mean_abs, 4, 2);
  g_assert_cmpuint (kept[0], !=, 0);
  {
    g_autoptr(LatheTensor) ref = gather_ref (w, kept, 2, NULL, 0);
    assert_tensor_equal (weight (act->graph, "fc1.weight"), ref);
  }

  /* never the evaluation set */
  {
    g_autoptr(LatheApplied) bad = NULL;
    options.evaluation_sha256 = lathe_dataset_get_sha256 (same);
    bad = lathe_apply_plan_full (g, layers, plan, &options, NULL, &error);
    g_assert_null (bad);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "evaluation set"));
    g_clear_error (&error);
  }
  /* and not without data */
  {
    g_autoptr(LatheApplied) bad = NULL;
    options.calibration = NULL;
    bad = lathe_apply_plan_full (g, layers, plan, &options, NULL, &error);
    g_assert_null (bad);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  }
}

/* ---- the apply cache ---- */

static void
assert_applied_equal (LatheApplied *a,
                      LatheApplied *b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ba = lathe_onnx_serialize (a->graph, NULL, &error);
  g_autoptr(GBytes) bb = NULL;

  g_assert_no_error (error);
  bb = lathe_onnx_serialize (b->graph, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (ba, bb));
  g_assert_cmpuint (a->packed_bytes, ==, b->packed_bytes);
  g_assert_cmpuint (a->results->len, ==, b->results->len);
  for (guint i = 0; i < a->results->len; i++)
    {
      LatheLayerResult *ra = g_ptr_array_index (a->results, i), *rb = g_ptr_array_index (b->results, i);
      g_assert_cmpstr (ra->name, ==, rb->name);
      g_assert_cmpstr (ra->status, ==, rb->status);
      g_assert_cmpuint (ra->packed_bytes, ==, rb->packed_bytes);
      g_assert_cmpuint (ra->rows, ==, rb->rows);
      g_assert_cmpuint (ra->cols, ==, rb->cols);
      g_assert_true (lathe_layer_settings_equal (&ra->settings, &rb->settings));
      g_assert_cmpmem (&ra->sqnr_db, sizeof (double), &rb->sqnr_db, sizeof (double));
      g_assert_cmpmem (&ra->sparsity, sizeof (double), &rb->sparsity, sizeof (double));
      g_assert_true ((ra->quantized == NULL) == (rb->quantized == NULL));
      if (ra->quantized != NULL)
        g_assert_cmpmem (ra->quantized->codes, ra->quantized->rows * ra->quantized->cols * sizeof (gint32),
                         rb->quantized->codes, rb->quantized->rows * rb->quantized->cols * sizeof (gint32));
    }
}

/* Applies with the cache, checks it against a fresh apply and returns how
 * many layers were recomputed. */
static guint
apply_cached (LatheGraph      *g,
              GPtrArray       *layers,
              LathePlan       *plan,
              LatheApplyCache *cache)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) cached = lathe_apply_plan_full (g, layers, plan, NULL, cache, &error);
  g_autoptr(LatheApplied) fresh = NULL;

  g_assert_no_error (error);
  fresh = apply_ok (g, layers, plan);
  assert_applied_equal (cached, fresh);
  return lathe_apply_cache_get_recomputed (cache);
}

static void
test_cache_sample (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  LatheGraph *g;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplyCache) cache = lathe_apply_cache_new ();
  LatheLayerSettings *s;

  g_assert_no_error (error);
  g = lathe_model_get_graph (model);
  layers = layers_of (g);
  plan->defaults.bits = 4;
  plan->defaults.sparsity = 0.3;
  set_width (plan, "fc1.weight", 0.5);

  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 0);
  /* one layer's bits: that layer alone */
  s = lathe_plan_layer (plan, "fc2.weight");
  s->bits = 3;
  s->set |= LATHE_FIELD_BITS;
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 1);
  /* one layer's width: that layer and the one reading its units */
  set_width (plan, "conv1.weight", 0.5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 2);
  /* method parameters reach every layer they might change */
  g_hash_table_insert (plan->params, g_strdup ("channel.norm"), g_strdup ("l1"));
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 0);
  /* a global ranking spans every layer */
  plan->global_sparsity = TRUE;
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 5);
  s->bits = 5;
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 0);
  /* back to per-layer sparsity, without folding: every signature changes */
  plan->global_sparsity = FALSE;
  plan->fold_bn = FALSE;
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 5);
}

static void
test_cache_groups (void)
{
  g_autoptr(LatheGraph) g = build_resnet ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplyCache) cache = lathe_apply_cache_new ();

  plan->defaults.bits = 6;
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 6);
  /* convA's width: convA's units and convB's inputs */
  set_width (plan, "convA.weight", 0.5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 2);
  /* the group's width: its three members and the three layers reading it */
  set_width (plan, "conv0.weight", 0.5);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 6);
  g_assert_cmpuint (apply_cached (g, layers, plan, cache), ==, 0);
}

static void
test_cache_activation (void)
{
  g_autoptr(LatheGraph) g = build_calibration_mlp ();
  g_autoptr(GPtrArray) layers = layers_of (g);
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplyCache) cache = lathe_apply_cache_new ();
  g_autoptr(LatheDataset) calib = calibration_data (FALSE);
  LatheApplyOptions options = { LATHE_IMPORTANCE_ACTIVATION, calib, 16, NULL, NULL, 0, NULL };
  g_autoptr(GError) error = NULL;

  set_width (plan, "fc1.weight", 0.5);
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(LatheApplied) cached = lathe_apply_plan_full (g, layers, plan, &options, cache, &error);
      g_autoptr(LatheApplied) fresh = lathe_apply_plan_full (g, layers, plan, &options, NULL, &error);
      g_assert_no_error (error);
      assert_applied_equal (cached, fresh);
      g_assert_cmpuint (lathe_apply_cache_get_recomputed (cache), ==, round == 0 ? 2 : round == 1 ? 0 : 2);
      /* more samples reach the 100s in feature 5: unit 0 comes back */
      options.calibration_samples = round == 0 ? 16 : 32;
    }
}

/* ---- the sample models: chains as before ---- */

static void
test_samples_chains (void)
{
  const char *models[] = { "fashion-cnn.onnx", "fashion-mlp.onnx" };

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    {
      g_autofree char *path = lathe_test_sample (models[m]);
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
      g_autoptr(GPtrArray) layers = NULL;

      g_assert_no_error (error);
      layers = layers_of (lathe_model_get_graph (model));
      for (guint i = 0; i < layers->len; i++)
        {
          LatheLayer *l = g_ptr_array_index (layers, i);
          if (l->is_output)
            {
              g_assert_cmpstr (l->width_reason, ==, "the final classifier's output width is fixed");
              g_assert_cmpint (l->group_leader, ==, -1);
              continue;
            }
          /* every layer leads a group of its own, read by the next */
          g_assert_null (l->width_reason);
          g_assert_cmpint (l->group_leader, ==, (int) i);
          g_assert_cmpuint (l->group_members->len, ==, 1);
          g_assert_cmpint (l->tie, ==, (int) i);
          g_assert_cmpint (l->follower, ==, (int) i + 1);
          g_assert_cmpint (((LatheLayer *) g_ptr_array_index (layers, i + 1))->input_group, ==, (int) i);
        }
    }

  /* The MLP at width 0.5 against its masked original, each layer ranked
   * after its input shrank. */
  {
    g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
    g_autofree char *in = lathe_test_fixture ("fashion-input100.npy");
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
    LatheGraph *g = lathe_model_get_graph (model);
    g_autoptr(GPtrArray) layers = layers_of (g);
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    g_autoptr(LatheApplied) a = NULL;
    g_autoptr(LatheGraph) masked = copy_graph (g);
    g_autoptr(LatheTensor) x = lathe_npy_read (in, &error);
    g_autoptr(LatheTensor) want = NULL, got = NULL;
    g_autofree double *n1 = NULL, *n2 = NULL;
    g_autofree gsize *k1 = NULL, *k2 = NULL;
    gsize r1 = (gsize) weight (g, "fc1.weight")->dims[0], r2 = (gsize) weight (g, "fc2.weight")->dims[0];

    g_assert_no_error (error);
    plan->defaults.width = 0.5;
    a = apply_ok (g, layers, plan);
    n1 = unit_norms_ref (weight (g, "fc1.weight"), NULL, 0, NULL);
    k1 = top_ref (n1, r1, (r1 + 1) / 2);
    n2 = unit_norms_ref (weight (g, "fc2.weight"), k1, (r1 + 1) / 2, NULL);
    k2 = top_ref (n2, r2, (r2 + 1) / 2);
    {
      g_autoptr(LatheTensor) ref = gather_ref (weight (g, "fc2.weight"), k2, (r2 + 1) / 2, k1, (r1 + 1) / 2);
      assert_tensor_equal (weight (a->graph, "fc2.weight"), ref);
    }
    mask_inputs (masked, "fc2.weight", k1, (r1 + 1) / 2, FALSE);
    mask_inputs (masked, "fc3.weight", k2, (r2 + 1) / 2, FALSE);
    want = run (masked, x);
    got = run (a->graph, x);
    g_test_message ("mlp width 0.5: |shrunk − masked| = %.3g", max_diff (want, got));
    g_assert_cmpfloat (max_diff (want, got), <=, SHRINK_ATOL);
  }
}

/* Every reason the layer analysis gives, in full: width_reason is the
 * English the CLI, report.md and artifacts print; width_reason_local is
 * the same built through the catalogue, which this process (C locale, no
 * domain bound) leaves English too. A width below 1 carries both into the
 * result, the English one into its status. */
typedef struct {
  LatheGraph *(*build) (void);
  const char *layer;
  const char *reason;   /* NULL: width applies */
} ReasonCase;

static const ReasonCase reason_cases[] = {
  { build_resnet, "conv0.weight", NULL },
  { build_resnet, "convA.weight", NULL },
  { build_resnet, "convB.weight", "in the width group of conv0.weight" },
  { build_resnet, "convC.weight", NULL },
  { build_resnet, "convD.weight", "in the width group of conv0.weight" },
  { build_resnet, "fc.weight", "the final classifier's output width is fixed" },
  { build_mobilenet, "pw0.weight", NULL },
  { build_mobilenet, "dw.weight", "tied to the layer that feeds it (depthwise)" },
  { build_mobilenet, "pw1.weight", NULL },
  { build_mobilenet, "fc.weight", "the final classifier's output width is fixed" },
  { build_concat, "convA.weight", NULL },
  { build_concat, "convB.weight", "in the width group of convA.weight" },
  { build_concat, "convC.weight", NULL },
  { build_concat, "fc.weight", "the final classifier's output width is fixed" },
  { build_transformer, "Wq", "a Reshape splits its units into attention heads" },
  { build_transformer, "W1", NULL },
  { build_transformer, "W2", "the final classifier's output width is fixed" },
  { build_input_skip, "conv.weight", "its channels are tied by Add node 'skip' to the graph input 'x'" },
  { build_input_skip, "fc.weight", "the final classifier's output width is fixed" },
  { build_grouped, "conv0.weight", "its units pass through grouped Conv node 'convg', which width does not follow" },
  { build_grouped, "convg.weight", "its convolution is grouped, so its channels are tied to its input" },
  { build_grouped, "fc.weight", "the final classifier's output width is fixed" },
  { build_transposed, "conv.weight", "its units pass through Transpose node 'swap', which width does not follow" },
  { build_transposed, "fc.weight", "the final classifier's output width is fixed" },
  { build_mismatch, "convA.weight", "its channels meet other channels at Add node 'add' in a way width does not follow" },
  { build_mismatch, "convB.weight", "its channels meet other channels at Add node 'add' in a way width does not follow" },
  { build_mismatch, "convC.weight", "its channels meet other channels at Add node 'add' in a way width does not follow" },
  { build_mismatch, "fc.weight", "the final classifier's output width is fixed" },
  { build_spatial_constant, "conv.weight",
    "its units pass through Add node 'bias' with a constant, which width does not follow" },
  { build_spatial_constant, "fc.weight", "the final classifier's output width is fixed" },
  { build_concat_input, "conv.weight", "its channels are concatenated by Concat node 'cat' with the graph input 'x'" },
  { build_concat_input, "fc.weight", "the final classifier's output width is fixed" },
  { build_transposed_skip, "conv.weight", "its channels are tied by Add node 'skip' to the output of Transpose node "
                                          "'swap', which width does not follow" },
  { build_transposed_skip, "fc.weight", "the final classifier's output width is fixed" },
  { build_shapeless, "conv.weight", "the shape before the Flatten is unknown" },
  { build_shapeless, "fc.weight", "the final classifier's output width is fixed" },
  { build_shapeless_matmul, "W", "the shape of its output is unknown" },
};

static void
test_reasons (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (reason_cases); )
    {
      LatheGraph *(*build) (void) = reason_cases[i].build;
      g_autoptr(LatheGraph) g = build ();
      g_autoptr(GPtrArray) layers = layers_of (g);
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(LatheApplied) a = NULL;
      guint first = i;

      plan->defaults.width = 0.5;
      a = apply_ok (g, layers, plan);
      for (; i < G_N_ELEMENTS (reason_cases) && reason_cases[i].build == build; i++)
        {
          const ReasonCase *c = &reason_cases[i];
          LatheLayer *l = find (layers, c->layer);
          LatheLayerResult *r = result (a, c->layer);
          g_autofree char *status = NULL;
          g_autofree char *translated = NULL;

          g_test_message ("%s: %s", c->layer, l->width_reason ? l->width_reason : "(none)");
          g_assert_cmpstr (l->width_reason, ==, c->reason);
          g_assert_cmpstr (l->width_reason_local, ==, c->reason);
          if (c->reason == NULL || l->group_leader >= 0)
            {
              /* width applies here, or through its group's leader */
              g_assert_null (r->width_note);
              g_assert_null (r->width_note_local);
              continue;
            }
          g_assert_cmpstr (r->width_note, ==, c->reason);
          g_assert_cmpstr (r->width_note_local, ==, c->reason);
          status = g_strdup_printf ("; width not applied: %s", c->reason);
          g_assert_true (g_str_has_suffix (r->status, status));
          translated = lathe_layer_result_describe (r, TRUE);
          g_assert_cmpstr (translated, ==, r->status);
        }
      /* the table names every layer of the graph */
      g_assert_cmpuint (layers->len, ==, i - first);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  rng = g_rand_new_with_seed (20240611);
  g_test_add_func ("/lathe/compress/width/resnet-groups", test_resnet_groups);
  g_test_add_func ("/lathe/compress/width/resnet-width", test_resnet_width);
  g_test_add_func ("/lathe/compress/width/input-skip", test_input_skip);
  g_test_add_func ("/lathe/compress/width/mobilenet-depthwise", test_mobilenet);
  g_test_add_func ("/lathe/compress/width/concat", test_concat);
  g_test_add_func ("/lathe/compress/width/attention-heads", test_attention_heads);
  g_test_add_func ("/lathe/compress/width/calibration-importance", test_calibration_importance);
  g_test_add_func ("/lathe/compress/width/cache-sample", test_cache_sample);
  g_test_add_func ("/lathe/compress/width/cache-groups", test_cache_groups);
  g_test_add_func ("/lathe/compress/width/cache-activation", test_cache_activation);
  g_test_add_func ("/lathe/compress/width/samples-chains", test_samples_chains);
  g_test_add_func ("/lathe/compress/width/reasons", test_reasons);
  status = g_test_run ();
  g_rand_free (rng);
  return status;
}
