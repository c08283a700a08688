/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Normalisation kernels (engine/kernels/lathe-ops-norm.c): each fast path
 * against its scalar _ref twin, then every op through its LatheOpDef the
 * way the executor drives it (setup, infer, run), including the attribute
 * forms of old opsets and what must be refused. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-op.h"

/* fast vs _ref */
#define EXP_RTOL          2e-7    /* Cephes expf vs libm: within about 1 ulp */
#define SOFTMAX_RTOL      2e-6
#define SOFTMAX_ATOL      1e-7
#define BN_RTOL           1e-5
#define BN_ATOL           1e-5    /* folding a·x + b loses a little near y = 0 */
/* op results vs values computed here in double */
#define OP_RTOL           1e-5
#define OP_ATOL           1e-6

/* Kernels from lathe-ops-norm.c (no shared header for kernel internals). */
void _lathe_norm_exp_f32             (float *y, const float *x, gsize n);
void _lathe_norm_exp_f32_ref         (float *y, const float *x, gsize n);
void _lathe_norm_softmax_f32         (float *y, const float *x, gsize outer, gsize len,
                                      gsize inner, gboolean log_softmax, float *work);
void _lathe_norm_softmax_f32_ref     (float *y, const float *x, gsize outer, gsize len,
                                      gsize inner, gboolean log_softmax);
void _lathe_norm_bn_fold_f32         (float *a, float *b, const float *scale,
                                      const float *bias, const float *mean,
                                      const float *var, float epsilon, gsize n);
void _lathe_norm_affine_f32          (float *y, const float *x, gsize outer, gsize channels,
                                      gsize inner, const float *a, const float *b);
void _lathe_norm_batchnorm_f32_ref   (float *y, const float *x, gsize outer, gsize channels,
                                      gsize inner, const float *scale, const float *bias,
                                      const float *mean, const float *var, float epsilon);

static void
assert_close (const float *got,
              const float *want,
              gsize        n,
              double       rtol,
              double       atol,
              const char  *what)
{
  for (gsize i = 0; i < n; i++)
    {
      double g = got[i], w = want[i];
      if (isnan (w) && isnan (g))
        continue;
      if (!(fabs (g - w) <= atol + rtol * fabs (w)))
        g_error ("%s: element %" G_GSIZE_FORMAT ": got %.9g, want %.9g (rtol %g, atol %g)",
                 what, i, g, w, rtol, atol);
    }
}

static void
fill_random (float  *x,
             gsize   n,
             double  lo,
             double  hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_test_rand_double_range (lo, hi);
}

/* ------------------------------------------------------------------------
 * fast vs _ref */

static void
test_exp_fast_vs_ref (void)
{
  gsize n = 20000;
  g_autofree float *x = g_new (float, n);
  g_autofree float *fast = g_new (float, n);
  g_autofree float *ref = g_new (float, n);
  float special[] = { -INFINITY, -200.0f, -87.5f, 0.0f, NAN };
  float out[G_N_ELEMENTS (special)];

  /* a grid over the whole normal range, then random points */
  for (gsize i = 0; i < n / 2; i++)
    x[i] = -87.0f + 175.0f * (float) i / (float) (n / 2);
  fill_random (x + n / 2, n - n / 2, -30.0, 5.0);
  _lathe_norm_exp_f32 (fast, x, n);
  _lathe_norm_exp_f32_ref (ref, x, n);
  assert_close (fast, ref, n, EXP_RTOL, 0.0, "exp");

  _lathe_norm_exp_f32 (out, special, G_N_ELEMENTS (special));
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[1], ==, 0.0f);
  g_assert_cmpfloat (out[2], ==, 0.0f);   /* below FLT_MIN: flushed */
  g_assert_cmpfloat (out[3], ==, 1.0f);
  g_assert_true (isnan (out[4]));
}

static void
test_softmax_fast_vs_ref (void)
{
  static const gsize shapes[][3] = {   /* outer, len, inner */
    { 1, 1, 1 }, { 3, 7, 1 }, { 4, 33, 1 }, { 2, 1000, 1 }, { 5, 4, 1 },
    { 2, 5, 3 }, { 3, 4, 9 }, { 2, 3, 17 }, { 1, 64, 8 }, { 2, 1, 6 },
  };
  static const double ranges[] = { 1.0, 10.0, 1000.0 };   /* large: test_softmax_large_number */

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (guint r = 0; r < G_N_ELEMENTS (ranges); r++)
      for (int log_softmax = 0; log_softmax <= 1; log_softmax++)
        {
          gsize outer = shapes[s][0], len = shapes[s][1], inner = shapes[s][2];
          gsize n = outer * len * inner;
          g_autofree float *x = g_new (float, n);
          g_autofree float *fast = g_new (float, n);
          g_autofree float *ref = g_new (float, n);
          g_autofree float *work = g_new (float, 2 * inner);
          g_autofree char *what = g_strdup_printf ("%s %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                                                   "x%" G_GSIZE_FORMAT " range %g",
                                                   log_softmax ? "logsoftmax" : "softmax",
                                                   outer, len, inner, ranges[r]);

          fill_random (x, n, -ranges[r], ranges[r]);
          _lathe_norm_softmax_f32 (fast, x, outer, len, inner, log_softmax, work);
          _lathe_norm_softmax_f32_ref (ref, x, outer, len, inner, log_softmax);
          /* log-softmax values carry the input's magnitude: scale atol */
          assert_close (fast, ref, n, SOFTMAX_RTOL,
                        log_softmax ? SOFTMAX_ATOL * ranges[r] * 10 : SOFTMAX_ATOL, what);
        }
}

static void
test_softmax_rows_sum_to_one (void)
{
  gsize outer = 3, len = 50, inner = 5;
  gsize n = outer * len * inner;
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, n);
  float work[10];

  fill_random (x, n, -20.0, 20.0);
  _lathe_norm_softmax_f32 (y, x, outer, len, inner, FALSE, work);
  for (gsize o = 0; o < outer; o++)
    for (gsize k = 0; k < inner; k++)
      {
        double s = 0.0;
        for (gsize a = 0; a < len; a++)
          s += y[(o * len + a) * inner + k];
        g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-5);
      }
}

static void
test_batchnorm_fast_vs_ref (void)
{
  static const gsize shapes[][3] = {   /* N, C, spatial size */
    { 1, 1, 1 }, { 2, 3, 1 }, { 2, 3, 25 }, { 1, 5, 7 }, { 3, 16, 64 }, { 2, 9, 3 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      gsize outer = shapes[s][0], c = shapes[s][1], inner = shapes[s][2];
      gsize n = outer * c * inner;
      g_autofree float *x = g_new (float, n);
      g_autofree float *fast = g_new (float, n);
      g_autofree float *ref = g_new (float, n);
      g_autofree float *p = g_new (float, 6 * c);
      float *scale = p, *bias = p + c, *mean = p + 2 * c, *var = p + 3 * c;
      float *a = p + 4 * c, *b = p + 5 * c;
      g_autofree char *what = g_strdup_printf ("batchnorm %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                                               "x%" G_GSIZE_FORMAT, outer, c, inner);

      fill_random (x, n, -3.0, 3.0);
      fill_random (scale, c, -2.0, 2.0);
      fill_random (bias, c, -1.0, 1.0);
      fill_random (mean, c, -1.0, 1.0);
      fill_random (var, c, 0.01, 3.0);
      _lathe_norm_bn_fold_f32 (a, b, scale, bias, mean, var, 1e-5f, c);
      _lathe_norm_affine_f32 (fast, x, outer, c, inner, a, b);
      _lathe_norm_batchnorm_f32_ref (ref, x, outer, c, inner, scale, bias, mean, var, 1e-5f);
      assert_close (fast, ref, n, BN_RTOL, BN_ATOL, what);
    }
}

/* ------------------------------------------------------------------------
 * Driving ops as the executor does */

typedef struct {
  const char    *name;
  LatheAttrType  type;
  gint64         i;
  float          f;
  const gint64  *ints;
  gsize          n_ints;
} AttrSpec;

#define ATTR_INT(n, v)      { (n), LATHE_ATTR_INT, (v), 0.0f, NULL, 0 }
#define ATTR_FLOAT(n, v)    { (n), LATHE_ATTR_FLOAT, 0, (v), NULL, 0 }
#define ATTR_INTS(n, v)     { (n), LATHE_ATTR_INTS, 0, 0.0f, (v), G_N_ELEMENTS (v) }

/* A node with inputs 0…n_inputs-1 and outputs after them; an output id of -1
 * marks an omitted optional output (bit o of omitted_outputs). */
static LatheNode *
node_new (const char      *op_type,
          gint64           opset,
          guint            n_inputs,
          guint            n_outputs,
          guint32          omitted_outputs,
          const AttrSpec  *attrs,
          guint            n_attrs)
{
  LatheNode *node = g_new0 (LatheNode, 1);

  node->name = g_strdup_printf ("%s#0", op_type);
  node->op_type = g_strdup (op_type);
  node->domain = g_strdup ("");
  node->op = lathe_op_lookup (op_type, opset, &node->since);
  g_assert_nonnull (node->op);
  node->n_inputs = n_inputs;
  node->inputs = g_new (int, n_inputs);
  for (guint i = 0; i < n_inputs; i++)
    node->inputs[i] = (int) i;
  node->n_outputs = n_outputs;
  node->outputs = g_new (int, n_outputs);
  for (guint o = 0; o < n_outputs; o++)
    node->outputs[o] = omitted_outputs & (1u << o) ? -1 : (int) (n_inputs + o);
  node->n_attrs = n_attrs;
  node->attrs = g_new0 (LatheAttr, n_attrs);
  for (guint a = 0; a < n_attrs; a++)
    {
      node->attrs[a].name = g_strdup (attrs[a].name);
      node->attrs[a].type = attrs[a].type;
      node->attrs[a].i = attrs[a].i;
      node->attrs[a].f = attrs[a].f;
      if (attrs[a].type == LATHE_ATTR_INTS)
        {
          node->attrs[a].ints = g_memdup2 (attrs[a].ints, attrs[a].n_ints * sizeof (gint64));
          node->attrs[a].n_ints = attrs[a].n_ints;
        }
    }
  return node;
}

/* a local name, so a cleanup func the engine may add for LatheNode cannot clash */
typedef LatheNode TestNode;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestNode, lathe_node_free)

static LatheTensor *
tensor_new (LatheDType     dtype,
            guint          ndim,
            const gint64  *dims,
            gconstpointer  values)
{
  LatheTensor *t = lathe_tensor_new (dtype, ndim, dims);

  if (values != NULL)
    memcpy (t->data, values, lathe_tensor_nbytes (t));
  return t;
}

/* setup + infer + run. Inputs whose bit is set in `runtime` are shown to
 * infer() without data, as graph inputs are; the others as constants.
 * outputs[] receives new tensors (NULL for omitted outputs). */
static gboolean
node_eval (LatheNode     *node,
           LatheTensor  **inputs,
           guint32        runtime,
           LatheTensor  **outputs,
           GError       **error)
{
  LatheTensor *metas_in[8] = { NULL };
  LatheTensor *metas_out[8] = { NULL };
  LatheTensor *ins[8] = { NULL };
  LatheTensor *outs[8] = { NULL };
  gsize workspace = 0;
  gpointer ws = NULL;
  gboolean ok;

  if (node->params == NULL && !node->op->setup (node, error))
    return FALSE;

  for (guint i = 0; i < node->n_inputs; i++)
    if (inputs[i] != NULL)
      {
        metas_in[i] = lathe_tensor_new_borrowed (inputs[i]->dtype, inputs[i]->ndim,
                                                 inputs[i]->dims,
                                                 runtime & (1u << i) ? NULL : inputs[i]->data);
      }
  for (guint o = 0; o < node->n_outputs; o++)
    metas_out[o] = lathe_tensor_new_borrowed (LATHE_DTYPE_UNDEFINED, 0, NULL, NULL);

  ok = node->op->infer (node, metas_in, metas_out, &workspace, error);
  if (ok)
    {
      for (guint o = 0; o < node->n_outputs; o++)
        {
          g_assert_true (lathe_dtype_traits (metas_out[o]->dtype)->storable);
          if (node->outputs[o] >= 0)
            outputs[o] = outs[o] = lathe_tensor_new (metas_out[o]->dtype, metas_out[o]->ndim,
                                                     metas_out[o]->dims);
          else
            outputs[o] = NULL;
        }
      for (guint i = 0; i < node->n_inputs; i++)
        ins[i] = inputs[i];
      ws = workspace > 0 ? lathe_aligned_alloc0 (workspace) : NULL;
      ok = node->op->run (node, ins, outs, ws, error);
      lathe_aligned_free (ws);
    }

  for (guint i = 0; i < node->n_inputs; i++)
    g_clear_pointer (&metas_in[i], lathe_tensor_unref);
  for (guint o = 0; o < node->n_outputs; o++)
    g_clear_pointer (&metas_out[o], lathe_tensor_unref);
  return ok;
}

static void
test_versions (void)
{
  static const struct { const char *op; gint64 opset; int since; } table[] = {
    { "BatchNormalization", 1, 1 }, { "BatchNormalization", 6, 6 },
    { "BatchNormalization", 8, 7 }, { "BatchNormalization", 13, 9 },
    { "BatchNormalization", 14, 14 }, { "BatchNormalization", 18, 15 },
    { "LayerNormalization", 17, 17 }, { "LayerNormalization", 18, 17 },
    { "Softmax", 10, 1 }, { "Softmax", 12, 11 }, { "Softmax", 13, 13 },
    { "LogSoftmax", 6, 1 }, { "LogSoftmax", 11, 11 }, { "LogSoftmax", 17, 13 },
    { "ReduceMean", 1, 1 }, { "ReduceMean", 12, 11 }, { "ReduceMean", 17, 13 },
    { "ReduceMean", 18, 18 },
  };
  int since = 0;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_assert_nonnull (lathe_op_lookup (table[i].op, table[i].opset, &since));
      g_assert_cmpint (since, ==, table[i].since);
    }
  g_assert_null (lathe_op_lookup ("LayerNormalization", 16, &since));
}

/* -- BatchNormalization -- */

typedef struct {
  gsize   n, c, s;
  float  *x, *scale, *bias, *mean, *var;
  LatheTensor *t[5];
} BnCase;

static void
bn_case_init (BnCase       *bc,
              guint         ndim,
              const gint64 *dims,
              gsize         n_params)
{
  gint64 pdims[1] = { (gint64) n_params };

  bc->n = (gsize) dims[0];
  bc->c = (gsize) dims[1];
  bc->s = 1;
  for (guint d = 2; d < ndim; d++)
    bc->s *= (gsize) dims[d];
  bc->t[0] = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);
  for (guint i = 1; i < 5; i++)
    bc->t[i] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, pdims);
  bc->x = bc->t[0]->data;
  bc->scale = bc->t[1]->data;
  bc->bias = bc->t[2]->data;
  bc->mean = bc->t[3]->data;
  bc->var = bc->t[4]->data;
  fill_random (bc->x, bc->t[0]->n, -3.0, 3.0);
  fill_random (bc->scale, n_params, -2.0, 2.0);
  fill_random (bc->bias, n_params, -1.0, 1.0);
  fill_random (bc->mean, n_params, -1.0, 1.0);
  fill_random (bc->var, n_params, 0.05, 2.0);
}

static void
bn_case_clear (BnCase *bc)
{
  for (guint i = 0; i < 5; i++)
    g_clear_pointer (&bc->t[i], lathe_tensor_unref);
}

static void
test_batchnorm_example (void)
{
  /* ONNX's BatchNormalization example */
  static const gint64 xd[] = { 1, 2, 1, 3 };
  static const gint64 pd[] = { 2 };
  static const float x[] = { -1, 0, 1, 2, 3, 4 };
  static const float s[] = { 1.0f, 1.5f }, b[] = { 0, 1 }, m[] = { 0, 3 }, v[] = { 1, 1.5f };
  float want[6];
  g_autoptr(TestNode) node = node_new ("BatchNormalization", 15, 5, 1, 0, NULL, 0);
  LatheTensor *in[5] = {
    tensor_new (LATHE_DTYPE_FLOAT, 4, xd, x), tensor_new (LATHE_DTYPE_FLOAT, 1, pd, s),
    tensor_new (LATHE_DTYPE_FLOAT, 1, pd, b), tensor_new (LATHE_DTYPE_FLOAT, 1, pd, m),
    tensor_new (LATHE_DTYPE_FLOAT, 1, pd, v),
  };
  LatheTensor *out[1] = { NULL };
  GError *error = NULL;

  for (int i = 0; i < 6; i++)
    {
      int c = i / 3;
      want[i] = (float) ((x[i] - m[c]) / sqrt (v[c] + 1e-5) * s[c] + b[c]);
    }

  /* parameters as graph inputs, then as initializers */
  g_assert_true (node_eval (node, in, 0x1f, out, &error));
  g_assert_no_error (error);
  assert_close (out[0]->data, want, 6, OP_RTOL, OP_ATOL, "batchnorm runtime params");
  g_clear_pointer (&out[0], lathe_tensor_unref);

  g_assert_true (node_eval (node, in, 0x1, out, &error));
  g_assert_no_error (error);
  assert_close (out[0]->data, want, 6, OP_RTOL, OP_ATOL, "batchnorm constant params");
  g_clear_pointer (&out[0], lathe_tensor_unref);

  for (guint i = 0; i < 5; i++)
    lathe_tensor_unref (in[i]);
}

/* A plan folded for one set of parameters must not be used for another:
 * infer() sees constants, run() gets different tensors. */
static void
test_batchnorm_fold_not_stale (void)
{
  static const gint64 dims[] = { 2, 4, 3, 5 };
  g_autoptr(TestNode) node = node_new ("BatchNormalization", 9, 5, 1, 0, NULL, 0);
  LatheTensor *metas_in[5], *metas_out[1], *outs[1];
  BnCase a = { 0 }, b = { 0 };
  g_autofree float *want = NULL;
  gpointer ws;
  gsize workspace = 0;
  GError *error = NULL;

  bn_case_init (&a, 4, dims, 4);
  bn_case_init (&b, 4, dims, 4);
  g_assert_true (node->op->setup (node, &error));
  for (guint i = 0; i < 5; i++)
    metas_in[i] = a.t[i];
  metas_out[0] = lathe_tensor_new_borrowed (LATHE_DTYPE_UNDEFINED, 0, NULL, NULL);
  g_assert_true (node->op->infer (node, metas_in, metas_out, &workspace, &error));
  g_assert_no_error (error);

  outs[0] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 4, dims);
  ws = lathe_aligned_alloc0 (workspace);
  g_assert_true (node->op->run (node, b.t, outs, ws, &error));
  want = g_new (float, b.t[0]->n);
  _lathe_norm_batchnorm_f32_ref (want, b.x, b.n, b.c, b.s, b.scale, b.bias, b.mean, b.var, 1e-5f);
  assert_close (outs[0]->data, want, b.t[0]->n, BN_RTOL, BN_ATOL, "batchnorm other params");

  /* and the folded path itself */
  g_assert_true (node->op->run (node, a.t, outs, ws, &error));
  _lathe_norm_batchnorm_f32_ref (want, a.x, a.n, a.c, a.s, a.scale, a.bias, a.mean, a.var, 1e-5f);
  assert_close (outs[0]->data, want, a.t[0]->n, BN_RTOL, BN_ATOL, "batchnorm folded params");

  lathe_aligned_free (ws);
  lathe_tensor_unref (outs[0]);
  lathe_tensor_unref (metas_out[0]);
  bn_case_clear (&a);
  bn_case_clear (&b);
}

static void
test_batchnorm_legacy_attrs (void)
{
  static const gint64 dims3[] = { 4, 5, 3 };
  static const gint64 consumed[] = { 0, 0, 0, 1, 1 };
  AttrSpec v1[] = { ATTR_INTS ("consumed_inputs", consumed), ATTR_INT ("is_test", 1),
                    ATTR_FLOAT ("epsilon", 1e-3f), ATTR_FLOAT ("momentum", 0.5f) };
  AttrSpec v6[] = { ATTR_INT ("is_test", 1), ATTR_INT ("spatial", 1),
                    ATTR_FLOAT ("epsilon", 1e-3f) };
  const struct { gint64 opset; AttrSpec *attrs; guint n; } cases[] = {
    { 1, v1, G_N_ELEMENTS (v1) }, { 6, v6, G_N_ELEMENTS (v6) },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(TestNode) node = node_new ("BatchNormalization", cases[k].opset, 5, 1, 0,
                                            cases[k].attrs, cases[k].n);
      LatheTensor *out[1] = { NULL };
      g_autofree float *want = NULL;
      GError *error = NULL;
      BnCase bc = { 0 };

      bn_case_init (&bc, 3, dims3, 5);
      g_assert_true (node_eval (node, bc.t, 0x1, out, &error));
      g_assert_no_error (error);
      want = g_new (float, bc.t[0]->n);
      _lathe_norm_batchnorm_f32_ref (want, bc.x, bc.n, bc.c, bc.s, bc.scale, bc.bias,
                                     bc.mean, bc.var, 1e-3f);
      assert_close (out[0]->data, want, bc.t[0]->n, BN_RTOL, BN_ATOL, "batchnorm legacy");
      lathe_tensor_unref (out[0]);
      bn_case_clear (&bc);
    }
}

static void
test_batchnorm_spatial0 (void)
{
  static const gint64 dims[] = { 3, 2, 2, 3 };
  AttrSpec attrs[] = { ATTR_INT ("spatial", 0) };
  g_autoptr(TestNode) node = node_new ("BatchNormalization", 7, 5, 1, 0, attrs, 1);
  g_autoptr(TestNode) bad = node_new ("BatchNormalization", 7, 5, 1, 0, attrs, 1);
  LatheTensor *out[1] = { NULL };
  g_autofree float *want = NULL;
  GError *error = NULL;
  BnCase bc = { 0 }, per_channel = { 0 };

  /* per-activation parameters: C·H·W = 12 pairs */
  bn_case_init (&bc, 4, dims, 12);
  g_assert_true (node_eval (node, bc.t, 0x1, out, &error));
  g_assert_no_error (error);
  want = g_new (float, bc.t[0]->n);
  _lathe_norm_batchnorm_f32_ref (want, bc.x, bc.n, 12, 1, bc.scale, bc.bias, bc.mean, bc.var, 1e-5f);
  assert_close (out[0]->data, want, bc.t[0]->n, BN_RTOL, BN_ATOL, "batchnorm spatial=0");
  lathe_tensor_unref (out[0]);

  /* per-channel parameters do not say what spatial=0 means here */
  bn_case_init (&per_channel, 4, dims, 2);
  g_assert_false (node_eval (bad, per_channel.t, 0x1, out, &error));
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
  g_clear_error (&error);

  bn_case_clear (&bc);
  bn_case_clear (&per_channel);
}

static void
test_batchnorm_refused (void)
{
  static const gint64 dims[] = { 2, 3, 4 };
  static const gint64 pd[] = { 3 };
  AttrSpec training[] = { ATTR_INT ("training_mode", 1) };
  LatheTensor *out[3] = { NULL };
  GError *error = NULL;

  {
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 15, 5, 3, 0, training, 1);
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_assert_nonnull (strstr (error->message, "BatchNormalization#0"));
    g_clear_error (&error);
  }
  {
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 15, 5, 1, 0, training, 1);
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_clear_error (&error);
  }
  {
    /* training statistics requested at opset 9 */
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 9, 5, 5, 0, NULL, 0);
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_clear_error (&error);
  }
  {
    /* omitted trailing outputs are fine and still get a valid header */
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 9, 5, 3, 0x6, NULL, 0);
    BnCase bc = { 0 };

    bn_case_init (&bc, 3, dims, 3);
    g_assert_true (node_eval (node, bc.t, 0, out, &error));
    g_assert_no_error (error);
    g_assert_null (out[1]);
    g_assert_null (out[2]);
    g_clear_pointer (&out[0], lathe_tensor_unref);
    bn_case_clear (&bc);
  }
  {
    /* double X: T may be double in the spec, not here */
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 15, 5, 1, 0, NULL, 0);
    LatheTensor *in[5] = { lathe_tensor_new (LATHE_DTYPE_DOUBLE, 3, dims) };

    for (guint i = 1; i < 5; i++)
      in[i] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, pd);
    g_assert_false (node_eval (node, in, 0, out, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    g_clear_error (&error);
    for (guint i = 0; i < 5; i++)
      lathe_tensor_unref (in[i]);
  }
  {
    /* wrong parameter length */
    g_autoptr(TestNode) node = node_new ("BatchNormalization", 15, 5, 1, 0, NULL, 0);
    BnCase bc = { 0 };

    bn_case_init (&bc, 3, dims, 4);
    g_assert_false (node_eval (node, bc.t, 0, out, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    bn_case_clear (&bc);
  }
}

/* -- LayerNormalization -- */

static void
layer_norm_want (const float *x,
                 const float *scale,
                 const float *bias,
                 gsize        rows,
                 gsize        d,
                 float        epsilon,
                 float       *y,
                 float       *mean,
                 float       *inv)
{
  for (gsize r = 0; r < rows; r++)
    {
      double m = 0, v = 0, is;
      for (gsize j = 0; j < d; j++)
        m += x[r * d + j];
      m /= (double) d;
      for (gsize j = 0; j < d; j++)
        v += (x[r * d + j] - m) * (x[r * d + j] - m);
      v /= (double) d;
      is = 1.0 / sqrt (v + epsilon);
      for (gsize j = 0; j < d; j++)
        y[r * d + j] = (float) ((x[r * d + j] - m) * is * scale[j] + (bias ? bias[j] : 0.0));
      mean[r] = (float) m;
      inv[r] = (float) is;
    }
}

static void
test_layer_norm_axes (void)
{
  static const gint64 dims[] = { 2, 3, 4, 5 };
  gsize n = 120;

  for (gint64 axis = -4; axis < 4; axis++)
    for (int with_bias = 0; with_bias <= 1; with_bias++)
      {
        guint a = (guint) (axis < 0 ? axis + 4 : axis);
        gsize rows = 1, d = 1;
        AttrSpec attrs[] = { ATTR_INT ("axis", axis), ATTR_FLOAT ("epsilon", 1e-2f) };
        g_autoptr(TestNode) node = node_new ("LayerNormalization", 17, with_bias ? 3 : 2,
                                              3, 0, attrs, 2);
        LatheTensor *in[3] = { NULL }, *out[3] = { NULL };
        g_autofree float *want = g_new (float, n);
        g_autofree float *mean = g_new (float, n);
        g_autofree float *inv = g_new (float, n);
        GError *error = NULL;

        for (guint k = 0; k < 4; k++)
          {
            if (k < a)
              rows *= (gsize) dims[k];
            else
              d *= (gsize) dims[k];
          }
        in[0] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 4, dims);
        in[1] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 4 - a, dims + a);
        fill_random (in[0]->data, n, -2.0, 5.0);
        fill_random (in[1]->data, d, -1.0, 1.0);
        if (with_bias)
          {
            in[2] = lathe_tensor_new (LATHE_DTYPE_FLOAT, 4 - a, dims + a);
            fill_random (in[2]->data, d, -1.0, 1.0);
          }

        g_assert_true (node_eval (node, in, 0x1, out, &error));
        g_assert_no_error (error);
        layer_norm_want (in[0]->data, in[1]->data, in[2] ? in[2]->data : NULL, rows, d,
                         1e-2f, want, mean, inv);
        assert_close (out[0]->data, want, n, OP_RTOL, OP_ATOL, "layernorm Y");
        g_assert_cmpuint (out[1]->ndim, ==, 4);
        g_assert_cmpuint (out[1]->n, ==, rows);
        for (guint k = 0; k < 4; k++)
          g_assert_cmpint (out[1]->dims[k], ==, k < a ? dims[k] : 1);
        assert_close (out[1]->data, mean, rows, OP_RTOL, OP_ATOL, "layernorm Mean");
        assert_close (out[2]->data, inv, rows, OP_RTOL, OP_ATOL, "layernorm InvStdDev");

        for (guint k = 0; k < 3; k++)
          {
            g_clear_pointer (&in[k], lathe_tensor_unref);
            g_clear_pointer (&out[k], lathe_tensor_unref);
          }
      }
}

static void
test_layer_norm_broadcast_scale (void)
{
  /* Scale (1, 4) and B (4) against normalised shape (3, 4) */
  static const gint64 xd[] = { 2, 3, 4 }, sd[] = { 1, 4 }, bd[] = { 4 };
  AttrSpec attrs[] = { ATTR_INT ("axis", 1) };
  g_autoptr(TestNode) node = node_new ("LayerNormalization", 17, 3, 1, 0, attrs, 1);
  LatheTensor *in[3] = {
    lathe_tensor_new (LATHE_DTYPE_FLOAT, 3, xd), lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, sd),
    lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, bd),
  };
  LatheTensor *out[1] = { NULL };
  float scale[12], bias[12], want[24], mean[2], inv[2];
  GError *error = NULL;

  fill_random (in[0]->data, 24, -1.0, 1.0);
  fill_random (in[1]->data, 4, -1.0, 1.0);
  fill_random (in[2]->data, 4, -1.0, 1.0);
  for (guint j = 0; j < 12; j++)
    {
      scale[j] = lathe_tensor_f32 (in[1])[j % 4];
      bias[j] = lathe_tensor_f32 (in[2])[j % 4];
    }
  /* parameters at run time this time */
  g_assert_true (node_eval (node, in, 0x7, out, &error));
  g_assert_no_error (error);
  layer_norm_want (in[0]->data, scale, bias, 2, 12, 1e-5f, want, mean, inv);
  assert_close (out[0]->data, want, 24, OP_RTOL, OP_ATOL, "layernorm broadcast");
  lathe_tensor_unref (out[0]);
  for (guint k = 0; k < 3; k++)
    lathe_tensor_unref (in[k]);
}

static void
test_layer_norm_refused (void)
{
  static const gint64 xd[] = { 2, 3 }, sd[] = { 2 };
  AttrSpec stash[] = { ATTR_INT ("stash_type", 11) };
  g_autoptr(TestNode) node = node_new ("LayerNormalization", 17, 2, 1, 0, stash, 1);
  g_autoptr(TestNode) node2 = node_new ("LayerNormalization", 17, 2, 1, 0, NULL, 0);
  LatheTensor *in[2] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, xd),
                         lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, sd) };
  LatheTensor *out[1] = { NULL };
  GError *error = NULL;

  g_assert_false (node->op->setup (node, &error));
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
  g_clear_error (&error);

  /* Scale (2) does not fit the normalised shape (3) */
  g_assert_false (node_eval (node2, in, 0, out, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
  g_clear_error (&error);
  lathe_tensor_unref (in[0]);
  lathe_tensor_unref (in[1]);
}

/* -- Softmax / LogSoftmax -- */

static void
test_softmax_versions (void)
{
  static const gint64 dims[] = { 2, 3, 4 };
  static const struct {
    gint64 opset; gboolean has_axis; gint64 axis; gsize outer, len, inner;
  } cases[] = {
    { 11, FALSE, 0, 2, 12, 1 },    /* default 1, flattened: 12 per row */
    { 1, TRUE, 2, 6, 4, 1 },
    { 11, TRUE, 0, 1, 24, 1 },
    { 11, TRUE, -1, 6, 4, 1 },
    { 11, TRUE, 3, 24, 1, 1 },     /* axis == rank: one element per "row" */
    { 13, FALSE, 0, 6, 4, 1 },     /* default -1 */
    { 13, TRUE, 1, 2, 3, 4 },      /* one axis only */
    { 13, TRUE, 0, 1, 2, 12 },
    { 13, TRUE, -2, 2, 3, 4 },
  };

  for (int log_softmax = 0; log_softmax <= 1; log_softmax++)
    for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
      {
        AttrSpec attrs[] = { ATTR_INT ("axis", cases[k].axis) };
        g_autoptr(TestNode) node = node_new (log_softmax ? "LogSoftmax" : "Softmax",
                                              cases[k].opset, 1, 1, 0,
                                              attrs, cases[k].has_axis ? 1 : 0);
        LatheTensor *in[1] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 3, dims) };
        LatheTensor *out[1] = { NULL };
        float want[24];
        GError *error = NULL;
        g_autofree char *what = g_strdup_printf ("%s case %u", node->op_type, k);

        fill_random (in[0]->data, 24, -4.0, 4.0);
        g_assert_true (node_eval (node, in, 0x1, out, &error));
        g_assert_no_error (error);
        _lathe_norm_softmax_f32_ref (want, in[0]->data, cases[k].outer, cases[k].len,
                                     cases[k].inner, log_softmax);
        assert_close (out[0]->data, want, 24, SOFTMAX_RTOL, 1e-6, what);
        lathe_tensor_unref (out[0]);
        lathe_tensor_unref (in[0]);
      }
}

static void
test_softmax_refused (void)
{
  static const gint64 dims[] = { 2, 3 };
  AttrSpec axis3[] = { ATTR_INT ("axis", 2) };
  g_autoptr(TestNode) node = node_new ("Softmax", 13, 1, 1, 0, axis3, 1);
  g_autoptr(TestNode) node2 = node_new ("LogSoftmax", 13, 1, 1, 0, NULL, 0);
  LatheTensor *in[1] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dims) };
  LatheTensor *ind[1] = { lathe_tensor_new (LATHE_DTYPE_INT64, 2, dims) };
  LatheTensor *out[1] = { NULL };
  GError *error = NULL;

  g_assert_false (node_eval (node, in, 0x1, out, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (node_eval (node2, ind, 0x1, out, &error));
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
  g_clear_error (&error);
  lathe_tensor_unref (in[0]);
  lathe_tensor_unref (ind[0]);
}

/* -- ReduceMean -- */

/* Mean over the axes in `mask` of a [2,3,4] tensor, the slow way. */
static void
reduce_mean_want (const float *x,
                  guint        mask,
                  float       *y)
{
  static const gsize dims[] = { 2, 3, 4 };
  gsize od[3], on = 1;
  double acc[24] = { 0 };
  gsize count = 1;

  for (guint d = 0; d < 3; d++)
    {
      od[d] = mask & (1u << d) ? 1 : dims[d];
      on *= od[d];
      if (mask & (1u << d))
        count *= dims[d];
    }
  for (gsize i = 0; i < 2; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize k = 0; k < 4; k++)
        {
          gsize oi = mask & 1 ? 0 : i, oj = mask & 2 ? 0 : j, ok = mask & 4 ? 0 : k;
          acc[(oi * od[1] + oj) * od[2] + ok] += x[(i * 3 + j) * 4 + k];
        }
  for (gsize o = 0; o < on; o++)
    y[o] = (float) (acc[o] / (double) count);
}

static void
test_reduce_mean_axes (void)
{
  static const gint64 dims[] = { 2, 3, 4 };
  static const gint64 ax1[] = { 1 }, ax02[] = { 0, 2 }, axneg[] = { -1, -3 }, ax2[] = { 2 };
  static const struct {
    gint64 opset; const gint64 *axes; gsize n_axes; gint64 keepdims; guint mask;
    guint out_ndim; gint64 out_dims[3];
  } cases[] = {
    { 13, ax1, 1, 1, 0x2, 3, { 2, 1, 4 } },
    { 13, ax02, 2, 0, 0x5, 1, { 3 } },
    { 11, axneg, 2, 1, 0x5, 3, { 1, 3, 1 } },
    { 1, ax2, 1, 0, 0x4, 2, { 2, 3 } },
    { 13, NULL, 0, 1, 0x7, 3, { 1, 1, 1 } },
    { 13, NULL, 0, 0, 0x7, 0, { 0 } },
    { 18, ax1, 1, 0, 0x2, 2, { 2, 4 } },
    { 18, axneg, 2, 1, 0x5, 3, { 1, 3, 1 } },
    { 18, NULL, 0, 1, 0x7, 3, { 1, 1, 1 } },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      gboolean axes_input = cases[k].opset >= 18 && cases[k].axes != NULL;
      AttrSpec attrs[2] = { ATTR_INT ("keepdims", cases[k].keepdims) };
      guint n_attrs = 1;
      g_autoptr(TestNode) node = NULL;
      LatheTensor *in[2] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 3, dims), NULL };
      LatheTensor *out[1] = { NULL };
      float want[24];
      GError *error = NULL;
      g_autofree char *what = g_strdup_printf ("ReduceMean case %u", k);

      if (cases[k].axes != NULL && !axes_input)
        {
          attrs[1] = (AttrSpec) { "axes", LATHE_ATTR_INTS, 0, 0.0f, cases[k].axes, cases[k].n_axes };
          n_attrs = 2;
        }
      if (axes_input)
        {
          gint64 ad[1] = { (gint64) cases[k].n_axes };
          in[1] = tensor_new (LATHE_DTYPE_INT64, 1, ad, cases[k].axes);
        }
      node = node_new ("ReduceMean", cases[k].opset, axes_input ? 2 : 1, 1, 0, attrs, n_attrs);
      fill_random (in[0]->data, 24, -3.0, 3.0);
      g_assert_true (node_eval (node, in, 0x1, out, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out[0]->ndim, ==, cases[k].out_ndim);
      for (guint d = 0; d < cases[k].out_ndim; d++)
        g_assert_cmpint (out[0]->dims[d], ==, cases[k].out_dims[d]);
      reduce_mean_want (in[0]->data, cases[k].mask, want);
      assert_close (out[0]->data, want, out[0]->n, OP_RTOL, OP_ATOL, what);

      lathe_tensor_unref (out[0]);
      lathe_tensor_unref (in[0]);
      g_clear_pointer (&in[1], lathe_tensor_unref);
    }
}

static void
test_reduce_mean_noop_and_ints (void)
{
  static const gint64 dims[] = { 2, 3 };
  static const gint64 xi[] = { 1, 2, 4, -1, -2, -4 };
  static const gint64 ax1[] = { 1 };
  AttrSpec noop[] = { ATTR_INT ("noop_with_empty_axes", 1) };
  AttrSpec axes[] = { ATTR_INTS ("axes", ax1) };
  LatheTensor *out[1] = { NULL };
  GError *error = NULL;

  {
    g_autoptr(TestNode) node = node_new ("ReduceMean", 18, 1, 1, 0, noop, 1);
    LatheTensor *in[1] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dims) };

    fill_random (in[0]->data, 6, -1.0, 1.0);
    g_assert_true (node_eval (node, in, 0x1, out, &error));
    g_assert_cmpuint (out[0]->ndim, ==, 2);
    g_assert_cmpmem (out[0]->data, 24, in[0]->data, 24);
    lathe_tensor_unref (out[0]);
    lathe_tensor_unref (in[0]);
  }
  {
    /* int64 truncates toward zero: 7/3 → 2, -7/3 → -2 */
    g_autoptr(TestNode) node = node_new ("ReduceMean", 13, 1, 1, 0, axes, 1);
    LatheTensor *in[1] = { tensor_new (LATHE_DTYPE_INT64, 2, dims, xi) };

    g_assert_true (node_eval (node, in, 0x1, out, &error));
    g_assert_no_error (error);
    g_assert_cmpint (out[0]->dtype, ==, LATHE_DTYPE_INT64);
    g_assert_cmpint (lathe_tensor_i64 (out[0])[0], ==, 2);
    g_assert_cmpint (lathe_tensor_i64 (out[0])[1], ==, -2);
    lathe_tensor_unref (out[0]);
    lathe_tensor_unref (in[0]);
  }
  {
    g_autoptr(TestNode) node = node_new ("ReduceMean", 13, 1, 1, 0, axes, 1);
    gint32 x32[6] = { 1, 2, 4, -1, -2, -4 };
    LatheTensor *in[1] = { tensor_new (LATHE_DTYPE_INT32, 2, dims, x32) };

    g_assert_true (node_eval (node, in, 0x1, out, &error));
    g_assert_cmpint (((gint32 *) out[0]->data)[0], ==, 2);
    g_assert_cmpint (((gint32 *) out[0]->data)[1], ==, -2);
    lathe_tensor_unref (out[0]);
    lathe_tensor_unref (in[0]);
  }
}

static void
test_reduce_mean_refused (void)
{
  static const gint64 dims[] = { 2, 3 };
  static const gint64 twice[] = { 1, -1 };
  AttrSpec rep[] = { ATTR_INTS ("axes", twice) };
  AttrSpec ax_attr[] = { ATTR_INTS ("axes", twice) };
  LatheTensor *out[1] = { NULL };
  GError *error = NULL;

  {
    g_autoptr(TestNode) node = node_new ("ReduceMean", 13, 1, 1, 0, NULL, 0);
    LatheTensor *in[1] = { lathe_tensor_new (LATHE_DTYPE_DOUBLE, 2, dims) };
    g_assert_false (node_eval (node, in, 0x1, out, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    g_clear_error (&error);
    lathe_tensor_unref (in[0]);
  }
  {
    g_autoptr(TestNode) node = node_new ("ReduceMean", 13, 1, 1, 0, rep, 1);
    LatheTensor *in[1] = { lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dims) };
    g_assert_false (node_eval (node, in, 0x1, out, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    lathe_tensor_unref (in[0]);
  }
  {
    g_autoptr(TestNode) node = node_new ("ReduceMean", 18, 1, 1, 0, ax_attr, 1);
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_clear_error (&error);
  }
  {
    const LatheOpDef *op = lathe_op_lookup ("ReduceMean", 18, NULL);
    g_assert_cmpuint (op->const_inputs, ==, 1u << 1);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/kernels/norm/exp-fast-vs-ref", test_exp_fast_vs_ref);
  g_test_add_func ("/lathe/engine/kernels/norm/softmax-fast-vs-ref", test_softmax_fast_vs_ref);
  g_test_add_func ("/lathe/engine/kernels/norm/softmax-sums-to-one", test_softmax_rows_sum_to_one);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm-fast-vs-ref", test_batchnorm_fast_vs_ref);
  g_test_add_func ("/lathe/engine/kernels/norm/versions", test_versions);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm/example", test_batchnorm_example);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm/fold-not-stale", test_batchnorm_fold_not_stale);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm/legacy-attrs", test_batchnorm_legacy_attrs);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm/spatial0", test_batchnorm_spatial0);
  g_test_add_func ("/lathe/engine/kernels/norm/batchnorm/refused", test_batchnorm_refused);
  g_test_add_func ("/lathe/engine/kernels/norm/layernorm/axes", test_layer_norm_axes);
  g_test_add_func ("/lathe/engine/kernels/norm/layernorm/broadcast-scale", test_layer_norm_broadcast_scale);
  g_test_add_func ("/lathe/engine/kernels/norm/layernorm/refused", test_layer_norm_refused);
  g_test_add_func ("/lathe/engine/kernels/norm/softmax/versions", test_softmax_versions);
  g_test_add_func ("/lathe/engine/kernels/norm/softmax/refused", test_softmax_refused);
  g_test_add_func ("/lathe/engine/kernels/norm/reducemean/axes", test_reduce_mean_axes);
  g_test_add_func ("/lathe/engine/kernels/norm/reducemean/noop-and-ints", test_reduce_mean_noop_and_ints);
  g_test_add_func ("/lathe/engine/kernels/norm/reducemean/refused", test_reduce_mean_refused);

  return g_test_run ();
}
