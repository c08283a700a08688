/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Shape and data-movement ops (engine/kernels/lathe-ops-shape.c and
 * lathe-ops-tensor.c): the blocked Transpose against its index-by-index
 * _ref twin, then every op through its LatheOpDef the way the executor
 * drives it (setup, infer, run), old attribute forms, what must be
 * refused, and a small graph through the executor for aliasing and
 * folding. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"

/* Transpose only moves bytes: fast and _ref must agree bit for bit. */
#define TRANSPOSE_MAX_ULP 0

/* Kernels from lathe-ops-shape.c (no shared header for kernel internals). */
void _lathe_transpose     (const void *src, void *dst, gsize esize, guint ndim,
                           const gint64 *in_dims, const guint *perm);
void _lathe_transpose_ref (const void *src, void *dst, gsize esize, guint ndim,
                           const gint64 *in_dims, const guint *perm);

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

#define MAX_ATTRS 8

static LatheNode *
node_new (const char *op_type,
          gint64      opset,
          guint       n_inputs,
          guint       n_outputs)
{
  LatheNode *node = g_new0 (LatheNode, 1);

  node->name = g_strdup_printf ("test_%s", op_type);
  node->op_type = g_strdup (op_type);
  node->domain = g_strdup ("");
  node->op = lathe_op_lookup (op_type, opset, &node->since);
  g_assert_nonnull (node->op);
  node->n_inputs = n_inputs;
  node->inputs = g_new (int, n_inputs + 1);
  for (guint i = 0; i < n_inputs; i++)
    node->inputs[i] = (int) i;
  node->n_outputs = n_outputs;
  node->outputs = g_new (int, n_outputs + 1);
  for (guint o = 0; o < n_outputs; o++)
    node->outputs[o] = (int) (n_inputs + o);
  node->attrs = g_new0 (LatheAttr, MAX_ATTRS);
  return node;
}

static LatheAttr *
attr_add (LatheNode     *node,
          const char    *name,
          LatheAttrType  type)
{
  LatheAttr *a;

  g_assert_cmpuint (node->n_attrs, <, MAX_ATTRS);
  a = &node->attrs[node->n_attrs++];
  a->name = g_strdup (name);
  a->type = type;
  return a;
}

static void
attr_int (LatheNode *node, const char *name, gint64 v)
{
  attr_add (node, name, LATHE_ATTR_INT)->i = v;
}

static void
attr_float (LatheNode *node, const char *name, float v)
{
  attr_add (node, name, LATHE_ATTR_FLOAT)->f = v;
}

static void
attr_string (LatheNode *node, const char *name, const char *v)
{
  attr_add (node, name, LATHE_ATTR_STRING)->s = g_strdup (v);
}

static void
attr_ints (LatheNode *node, const char *name, const gint64 *v, gsize n)
{
  LatheAttr *a = attr_add (node, name, LATHE_ATTR_INTS);

  a->ints = g_memdup2 (v, n * sizeof (gint64));
  a->n_ints = n;
}

static void
attr_floats (LatheNode *node, const char *name, const float *v, gsize n)
{
  LatheAttr *a = attr_add (node, name, LATHE_ATTR_FLOATS);

  a->floats = g_memdup2 (v, n * sizeof (float));
  a->n_floats = n;
}

static void
attr_tensor (LatheNode *node, const char *name, LatheTensor *t)
{
  attr_add (node, name, LATHE_ATTR_TENSOR)->t = t;   /* takes the reference */
}

static LatheTensor *
tensor_new (LatheDType    dtype,
            guint         ndim,
            const gint64 *dims,
            gconstpointer values)
{
  LatheTensor *t = lathe_tensor_new (dtype, ndim, dims);

  if (values != NULL && t->n > 0)
    memcpy (t->data, values, lathe_tensor_nbytes (t));
  return t;
}

static LatheTensor *
tensor_i64 (gsize n, const gint64 *values)
{
  gint64 dims[1] = { (gint64) n };
  return tensor_new (LATHE_DTYPE_INT64, 1, dims, values);
}

/* A float tensor holding 0, 1, 2, … */
static LatheTensor *
tensor_iota (guint ndim, const gint64 *dims)
{
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);

  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = (float) i;
  return t;
}

/* setup (once), infer, allocate, run: what the executor does for a node
 * whose inputs are all constant. */
static gboolean
node_eval (LatheNode    *node,
           LatheTensor **ins,
           LatheTensor **outs,
           GError      **error)
{
  gsize ws = 0;
  gpointer workspace;
  gboolean ok;

  if (node->params == NULL && node->op->setup != NULL && !node->op->setup (node, error))
    return FALSE;
  for (guint o = 0; o < node->n_outputs; o++)
    outs[o] = lathe_tensor_new_borrowed (LATHE_DTYPE_UNDEFINED, 0, NULL, NULL);
  if (!node->op->infer (node, ins, outs, &ws, error))
    {
      for (guint o = 0; o < node->n_outputs; o++)
        g_clear_pointer (&outs[o], lathe_tensor_unref);
      return FALSE;
    }
  for (guint o = 0; o < node->n_outputs; o++)
    {
      g_assert_true (lathe_shape_numel (outs[o]->ndim, outs[o]->dims, &outs[o]->n));
      outs[o]->data = lathe_aligned_alloc0 (lathe_tensor_nbytes (outs[o]));
      outs[o]->owns_data = TRUE;
    }
  workspace = ws > 0 ? lathe_aligned_alloc0 (ws) : NULL;
  ok = node->op->run (node, ins, outs, workspace, error);
  lathe_aligned_free (workspace);
  if (!ok)
    for (guint o = 0; o < node->n_outputs; o++)
      g_clear_pointer (&outs[o], lathe_tensor_unref);
  return ok;
}

/* Runs a one-output node and returns its output, asserting success. */
static LatheTensor *
eval1 (LatheNode    *node,
       LatheTensor **ins)
{
  g_autoptr(GError) error = NULL;
  LatheTensor *out = NULL;

  if (!node_eval (node, ins, &out, &error))
    g_error ("%s", error->message);
  return out;
}

/* Runs a node that must fail; returns the error. */
static GError *
eval_error (LatheNode    *node,
            LatheTensor **ins)
{
  GError *error = NULL;
  LatheTensor *outs[4] = { NULL };

  g_assert_false (node_eval (node, ins, outs, &error));
  g_assert_nonnull (error);
  return error;
}

static void
assert_shape (const LatheTensor *t,
              guint              ndim,
              const gint64      *dims)
{
  g_autofree char *got = lathe_shape_to_string (t->ndim, t->dims);
  g_autofree char *want = lathe_shape_to_string (ndim, dims);

  g_assert_cmpstr (got, ==, want);
}

static void
assert_f32 (const LatheTensor *t,
            const float       *want,
            gsize              n)
{
  g_assert_cmpint (t->dtype, ==, LATHE_DTYPE_FLOAT);
  g_assert_cmpuint (t->n, ==, n);
  for (gsize i = 0; i < n; i++)
    if (lathe_tensor_f32 (t)[i] != want[i])
      g_error ("element %" G_GSIZE_FORMAT ": got %g, want %g", i, lathe_tensor_f32 (t)[i], want[i]);
}

static void
assert_i64 (const LatheTensor *t,
            const gint64      *want,
            gsize              n)
{
  g_assert_cmpint (t->dtype, ==, LATHE_DTYPE_INT64);
  g_assert_cmpuint (t->n, ==, n);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (lathe_tensor_i64 (t)[i], ==, want[i]);
}

/* ---------------------------------------------------------------------- */
/* Transpose                                                               */

static void
check_transpose (GRand        *rng,
                 gsize         esize,
                 guint         ndim,
                 const gint64 *dims,
                 const guint  *perm)
{
  gsize n = 1, nbytes;
  g_autofree guint8 *src = NULL, *fast = NULL, *ref = NULL;

  for (guint d = 0; d < ndim; d++)
    n *= (gsize) dims[d];
  nbytes = n * esize;
  src = g_malloc (MAX (nbytes, 1));
  fast = g_malloc0 (MAX (nbytes, 1));
  ref = g_malloc0 (MAX (nbytes, 1));
  for (gsize i = 0; i < nbytes; i++)
    src[i] = (guint8) g_rand_int (rng);

  _lathe_transpose (src, fast, esize, ndim, dims, perm);
  _lathe_transpose_ref (src, ref, esize, ndim, dims, perm);
  if (memcmp (fast, ref, nbytes) != 0)
    {
      g_autofree char *s = lathe_shape_to_string (ndim, dims);
      GString *p = g_string_new (NULL);
      for (guint d = 0; d < ndim; d++)
        g_string_append_printf (p, "%u ", perm[d]);
      g_error ("transpose of %s by [%s] (esize %" G_GSIZE_FORMAT ") differs from the reference "
               "(max ulp %d)", s, p->str, esize, TRANSPOSE_MAX_ULP);
    }
}

static void
test_transpose_fast_vs_ref (void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (20240601);
  static const gsize esizes[] = { 1, 2, 4, 8 };
  static const struct {
    guint  ndim;
    gint64 dims[6];
    guint  perm[6];
  } fixed[] = {
    { 2, { 67, 45 }, { 1, 0 } },                               /* ragged tiles */
    { 2, { 1, 45 }, { 1, 0 } },                                /* a unit axis: a copy */
    { 3, { 2, 3, 4 }, { 0, 1, 2 } },                           /* identity */
    { 3, { 5, 1, 7 }, { 2, 1, 0 } },
    { 4, { 2, 3, 17, 19 }, { 0, 2, 3, 1 } },                   /* NCHW → NHWC */
    { 4, { 2, 17, 19, 3 }, { 0, 3, 1, 2 } },                   /* NHWC → NCHW */
    { 6, { 1, 1, 3, 3, 4, 4 }, { 0, 1, 4, 2, 5, 3 } },         /* PixelShuffle */
    { 3, { 4, 0, 5 }, { 2, 0, 1 } },                           /* empty */
    { 0, { 0 }, { 0 } },                                       /* scalar */
  };

  for (guint e = 0; e < G_N_ELEMENTS (esizes); e++)
    for (guint c = 0; c < G_N_ELEMENTS (fixed); c++)
      check_transpose (rng, esizes[e], fixed[c].ndim, fixed[c].dims, fixed[c].perm);

  for (guint iter = 0; iter < 400; iter++)
    {
      guint ndim = (guint) g_rand_int_range (rng, 1, 7);
      gint64 dims[6];
      guint perm[6];

      for (guint d = 0; d < ndim; d++)
        {
          dims[d] = g_rand_int_range (rng, 1, ndim <= 2 ? 70 : 9);
          perm[d] = d;
        }
      for (guint d = ndim; d-- > 1;)
        {
          guint j = (guint) g_rand_int_range (rng, 0, (gint32) d + 1);
          guint tmp = perm[d];
          perm[d] = perm[j];
          perm[j] = tmp;
        }
      check_transpose (rng, esizes[iter % G_N_ELEMENTS (esizes)], ndim, dims, perm);
    }
}

static void
test_transpose_op (void)
{
  static const gint64 dims[] = { 2, 3, 4 };
  g_autoptr(LatheTensor) x = tensor_iota (3, dims);
  LatheTensor *ins[] = { x };

  /* default: reverse the axes */
  {
    LatheNode *node = node_new ("Transpose", 13, 1, 1);
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const gint64 want_dims[] = { 4, 3, 2 };

    assert_shape (y, 3, want_dims);
    /* y[k][j][i] = x[i][j][k] */
    g_assert_cmpfloat (lathe_tensor_f32 (y)[(1 * 3 + 2) * 2 + 1], ==, (float) ((1 * 3 + 2) * 4 + 1));
    lathe_node_free (node);
  }

  /* explicit perm, opset 1 */
  {
    LatheNode *node = node_new ("Transpose", 1, 1, 1);
    static const gint64 perm[] = { 1, 0, 2 };
    static const gint64 want_dims[] = { 3, 2, 4 };
    g_autoptr(LatheTensor) y = NULL;

    attr_ints (node, "perm", perm, 3);
    y = eval1 (node, ins);
    assert_shape (y, 3, want_dims);
    /* y[2][1][3] = x[1][2][3] */
    g_assert_cmpfloat (lathe_tensor_f32 (y)[(2 * 2 + 1) * 4 + 3], ==, (float) ((1 * 3 + 2) * 4 + 3));
    lathe_node_free (node);
  }

  /* not a permutation, or the wrong length */
  {
    LatheNode *node = node_new ("Transpose", 13, 1, 1);
    static const gint64 perm[] = { 0, 0, 1 };
    g_autoptr(GError) error = NULL;

    attr_ints (node, "perm", perm, 3);
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Transpose", 13, 1, 1);
    static const gint64 perm[] = { 1, 0 };
    g_autoptr(GError) error = NULL;

    attr_ints (node, "perm", perm, 2);
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Reshape, Flatten, Squeeze, Unsqueeze, Identity                          */

static LatheTensor *
reshape (gint64        opset,
         LatheTensor  *x,
         const gint64 *shape,
         gsize         n,
         gint          allowzero,
         GError      **error)
{
  LatheNode *node = node_new ("Reshape", opset, opset >= 5 ? 2 : 1, 1);
  g_autoptr(LatheTensor) s = tensor_i64 (n, shape);
  LatheTensor *ins[] = { x, s };
  LatheTensor *out = NULL;

  if (opset < 5)
    attr_ints (node, "shape", shape, n);
  if (allowzero >= 0)
    attr_int (node, "allowzero", allowzero);
  if (!node_eval (node, ins, &out, error))
    out = NULL;
  lathe_node_free (node);
  return out;
}

static void
test_reshape (void)
{
  static const gint64 dims[] = { 2, 3, 4 };
  g_autoptr(LatheTensor) x = tensor_iota (3, dims);
  g_autoptr(GError) error = NULL;

  {
    static const gint64 shape[] = { 0, -1 };          /* copy 2, infer 12 */
    static const gint64 want[] = { 2, 12 };
    g_autoptr(LatheTensor) y = reshape (14, x, shape, 2, -1, NULL);

    assert_shape (y, 2, want);
    assert_f32 (y, lathe_tensor_f32 (x), x->n);
  }
  {
    static const gint64 shape[] = { 4, 0, 2 };        /* 0 copies dims[1] = 3 */
    static const gint64 want[] = { 4, 3, 2 };
    g_autoptr(LatheTensor) y = reshape (1, x, shape, 3, -1, NULL);

    assert_shape (y, 3, want);
  }
  {
    static const gint64 shape[] = { -1 };
    static const gint64 want[] = { 24 };
    g_autoptr(LatheTensor) y = reshape (5, x, shape, 1, -1, NULL);

    assert_shape (y, 1, want);
  }
  {
    /* allowzero=1 keeps a 0: only an empty input fits */
    static const gint64 edims[] = { 0, 3, 4 };
    g_autoptr(LatheTensor) e = lathe_tensor_new (LATHE_DTYPE_FLOAT, 3, edims);
    static const gint64 shape[] = { 3, 4, 0 };
    static const gint64 want[] = { 3, 4, 0 };
    g_autoptr(LatheTensor) y = reshape (14, e, shape, 3, 1, NULL);

    assert_shape (y, 3, want);
    g_clear_pointer (&y, lathe_tensor_unref);
    y = reshape (14, x, shape, 3, 1, &error);
    g_assert_null (y);
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
  }
  {
    static const gint64 two_infer[] = { -1, -1 };
    static const gint64 wrong[] = { 5, 5 };
    static const gint64 zero_past_rank[] = { 2, 3, 4, 0 };
    static const gint64 zero_and_infer[] = { 0, -1 };
    static const gint64 edims[] = { 0, 3 };
    g_autoptr(LatheTensor) e = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, edims);

    g_assert_null (reshape (14, x, two_infer, 2, -1, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_null (reshape (14, x, wrong, 2, -1, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "test_Reshape"));
    g_clear_error (&error);
    g_assert_null (reshape (14, x, zero_past_rank, 4, -1, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    /* -1 next to a zero dimension has no unique answer */
    g_assert_null (reshape (14, e, zero_and_infer, 2, -1, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_null (reshape (14, x, wrong, 2, 2, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_clear_error (&error);
  }
  {
    /* any storable type moves by size */
    static const gint64 bdims[] = { 2, 2 };
    static const guint8 bits[] = { 1, 0, 0, 1 };
    static const gint64 shape[] = { 4 };
    g_autoptr(LatheTensor) b = tensor_new (LATHE_DTYPE_BOOL, 2, bdims, bits);
    g_autoptr(LatheTensor) y = reshape (13, b, shape, 1, -1, NULL);

    g_assert_cmpint (y->dtype, ==, LATHE_DTYPE_BOOL);
    g_assert_cmpmem (y->data, 4, bits, 4);
  }
}

static void
test_flatten (void)
{
  static const gint64 dims[] = { 2, 3, 4, 5 };
  g_autoptr(LatheTensor) x = tensor_iota (4, dims);
  LatheTensor *ins[] = { x };
  static const struct { gint64 opset, axis; gint64 want[2]; } cases[] = {
    { 13, 0, { 1, 120 } },
    { 13, 1, { 2, 60 } },
    { 13, 3, { 24, 5 } },
    { 13, 4, { 120, 1 } },
    { 13, -1, { 24, 5 } },
    { 13, -4, { 1, 120 } },
    { 1, 2, { 6, 20 } },
    { 9, 4, { 120, 1 } },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      LatheNode *node = node_new ("Flatten", cases[c].opset, 1, 1);
      g_autoptr(LatheTensor) y = NULL;

      attr_int (node, "axis", cases[c].axis);
      y = eval1 (node, ins);
      assert_shape (y, 2, cases[c].want);
      assert_f32 (y, lathe_tensor_f32 (x), x->n);
      lathe_node_free (node);
    }

  /* default axis 1; out of range; negative before opset 11 */
  {
    LatheNode *node = node_new ("Flatten", 11, 1, 1);
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const gint64 want[] = { 2, 60 };

    assert_shape (y, 2, want);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Flatten", 13, 1, 1);
    g_autoptr(GError) error = NULL;

    attr_int (node, "axis", 5);
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Flatten", 9, 1, 1);
    g_autoptr(GError) error = NULL;

    attr_int (node, "axis", -1);
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

static void
test_squeeze (void)
{
  static const gint64 dims[] = { 1, 3, 1, 5 };
  g_autoptr(LatheTensor) x = tensor_iota (4, dims);

  {
    /* opset 1: axes attribute */
    LatheNode *node = node_new ("Squeeze", 1, 1, 1);
    static const gint64 axes[] = { 0 };
    static const gint64 want[] = { 3, 1, 5 };
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = NULL;

    attr_ints (node, "axes", axes, 1);
    y = eval1 (node, ins);
    assert_shape (y, 3, want);
    assert_f32 (y, lathe_tensor_f32 (x), x->n);
    lathe_node_free (node);
  }
  {
    /* opset 11: negative axes */
    LatheNode *node = node_new ("Squeeze", 11, 1, 1);
    static const gint64 axes[] = { -2, 0 };
    static const gint64 want[] = { 3, 5 };
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = NULL;

    attr_ints (node, "axes", axes, 2);
    y = eval1 (node, ins);
    assert_shape (y, 2, want);
    lathe_node_free (node);
  }
  {
    /* opset 13: axes input; without it every unit axis goes */
    LatheNode *node = node_new ("Squeeze", 13, 2, 1);
    static const gint64 axes[] = { 2 };
    static const gint64 want[] = { 1, 3, 5 };
    g_autoptr(LatheTensor) a = tensor_i64 (1, axes);
    LatheTensor *ins[] = { x, a };
    g_autoptr(LatheTensor) y = eval1 (node, ins);

    assert_shape (y, 3, want);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Squeeze", 13, 1, 1);
    static const gint64 want[] = { 3, 5 };
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = eval1 (node, ins);

    assert_shape (y, 2, want);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Squeeze", 13, 2, 1);
    static const gint64 axes[] = { 1 };
    g_autoptr(LatheTensor) a = tensor_i64 (1, axes);
    LatheTensor *ins[] = { x, a };
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

static void
test_unsqueeze (void)
{
  static const gint64 dims[] = { 3, 4 };
  g_autoptr(LatheTensor) x = tensor_iota (2, dims);

  {
    LatheNode *node = node_new ("Unsqueeze", 1, 1, 1);
    static const gint64 axes[] = { 0, 3 };
    static const gint64 want[] = { 1, 3, 4, 1 };
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = NULL;

    attr_ints (node, "axes", axes, 2);
    y = eval1 (node, ins);
    assert_shape (y, 4, want);
    assert_f32 (y, lathe_tensor_f32 (x), x->n);
    lathe_node_free (node);
  }
  {
    /* unsorted and negative axes index the output */
    LatheNode *node = node_new ("Unsqueeze", 13, 2, 1);
    static const gint64 axes[] = { 4, -5, 2 };
    static const gint64 want[] = { 1, 3, 1, 4, 1 };
    g_autoptr(LatheTensor) a = tensor_i64 (3, axes);
    LatheTensor *ins[] = { x, a };
    g_autoptr(LatheTensor) y = eval1 (node, ins);

    assert_shape (y, 5, want);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Unsqueeze", 13, 2, 1);
    static const gint64 axes[] = { 1, -3 };
    g_autoptr(LatheTensor) a = tensor_i64 (2, axes);
    LatheTensor *ins[] = { x, a };
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
  {
    /* axes are required before opset 13 as an attribute */
    LatheNode *node = node_new ("Unsqueeze", 11, 1, 1);
    LatheTensor *ins[] = { x };
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    lathe_node_free (node);
  }
}

static void
test_identity (void)
{
  static const gint64 dims[] = { 2, 2 };
  static const gint64 values[] = { -1, 7, G_MAXINT64, 0 };
  g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_INT64, 2, dims, values);
  LatheTensor *ins[] = { x };
  LatheNode *node = node_new ("Identity", 16, 1, 1);
  g_autoptr(LatheTensor) y = eval1 (node, ins);

  assert_shape (y, 2, dims);
  assert_i64 (y, values, 4);
  g_assert_true (node->op->flags & LATHE_OP_FLAG_ALIAS);
  /* run() copes with a shared buffer */
  g_assert_true (node->op->run (node, ins, ins, NULL, NULL));
  assert_i64 (x, values, 4);
  lathe_node_free (node);
}

/* ---------------------------------------------------------------------- */
/* Dropout                                                                 */

static void
test_dropout (void)
{
  static const gint64 dims[] = { 2, 3 };
  g_autoptr(LatheTensor) x = tensor_iota (2, dims);

  {
    /* opset 7: the mask has the input's type */
    LatheNode *node = node_new ("Dropout", 7, 1, 2);
    LatheTensor *ins[] = { x };
    LatheTensor *outs[2] = { NULL };
    static const float ones[] = { 1, 1, 1, 1, 1, 1 };

    attr_float (node, "ratio", 0.3f);
    g_assert_true (node_eval (node, ins, outs, NULL));
    assert_f32 (outs[0], lathe_tensor_f32 (x), x->n);
    assert_f32 (outs[1], ones, 6);
    lathe_tensor_unref (outs[0]);
    lathe_tensor_unref (outs[1]);
    lathe_node_free (node);
  }
  {
    /* opset 6 legacy attributes are accepted */
    LatheNode *node = node_new ("Dropout", 6, 1, 1);
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = NULL;

    attr_int (node, "is_test", 1);
    attr_float (node, "ratio", 0.5f);
    y = eval1 (node, ins);
    assert_f32 (y, lathe_tensor_f32 (x), x->n);
    lathe_node_free (node);
  }
  {
    /* opset 13: bool mask, ratio and training_mode=false inputs; run()
     * with output 0 sharing the input's buffer as the executor does */
    LatheNode *node = node_new ("Dropout", 13, 3, 2);
    g_autoptr(LatheTensor) ratio = lathe_tensor_new_scalar_float (0.5f);
    g_autoptr(LatheTensor) training = lathe_tensor_new (LATHE_DTYPE_BOOL, 0, NULL);
    g_autoptr(LatheTensor) copy = lathe_tensor_dup (x);
    LatheTensor *ins[] = { copy, ratio, training };
    LatheTensor *outs[2] = { NULL };
    static const guint8 mask[] = { 1, 1, 1, 1, 1, 1 };

    attr_int (node, "seed", 3);
    g_assert_true (node_eval (node, ins, outs, NULL));
    g_assert_cmpint (outs[1]->dtype, ==, LATHE_DTYPE_BOOL);
    g_assert_cmpmem (outs[1]->data, 6, mask, 6);
    memset (outs[1]->data, 0, 6);
    lathe_tensor_unref (outs[0]);
    outs[0] = lathe_tensor_ref (copy);
    g_assert_true (node->op->run (node, ins, outs, NULL, NULL));
    assert_f32 (copy, lathe_tensor_f32 (x), x->n);
    g_assert_cmpmem (outs[1]->data, 6, mask, 6);
    lathe_tensor_unref (outs[0]);
    lathe_tensor_unref (outs[1]);
    lathe_node_free (node);
  }
  {
    /* training mode is refused */
    LatheNode *node = node_new ("Dropout", 12, 3, 1);
    g_autoptr(LatheTensor) training = lathe_tensor_new (LATHE_DTYPE_BOOL, 0, NULL);
    LatheTensor *ins[] = { x, NULL, training };
    g_autoptr(GError) error = NULL;

    node->inputs[1] = -1;
    ((guint8 *) training->data)[0] = 1;
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    g_assert_nonnull (strstr (error->message, "training_mode"));
    lathe_node_free (node);
  }
  {
    const LatheOpDef *op = lathe_op_lookup ("Dropout", 22, NULL);
    g_assert_true (op->const_inputs & (1u << 2));
    g_assert_true (op->flags & LATHE_OP_FLAG_ALIAS);
  }
}

/* ---------------------------------------------------------------------- */
/* Shape                                                                   */

static void
test_shape (void)
{
  static const gint64 dims[] = { 3, 4, 5 };
  /* Shape must not read data: give it none */
  g_autoptr(LatheTensor) x = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 3, dims, NULL);
  LatheTensor *ins[] = { x };
  static const struct { gint64 opset, start, end; gboolean has_start, has_end; gsize n; gint64 want[3]; } cases[] = {
    { 1, 0, 0, FALSE, FALSE, 3, { 3, 4, 5 } },
    { 15, 0, 0, FALSE, FALSE, 3, { 3, 4, 5 } },
    { 15, 1, 0, TRUE, FALSE, 2, { 4, 5 } },
    { 15, 0, 1, FALSE, TRUE, 1, { 3 } },
    { 15, 0, -1, FALSE, TRUE, 2, { 3, 4 } },
    { 15, -1, 0, TRUE, FALSE, 1, { 5 } },
    { 15, 1, -1, TRUE, TRUE, 1, { 4 } },
    { 15, -10, 10, TRUE, TRUE, 3, { 3, 4, 5 } },
    { 15, 2, 1, TRUE, TRUE, 0, { 0 } },
  };

  g_assert_true (lathe_op_lookup ("Shape", 15, NULL)->flags & LATHE_OP_FLAG_SHAPE_ONLY);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      LatheNode *node = node_new ("Shape", cases[c].opset, 1, 1);
      g_autoptr(LatheTensor) y = NULL;

      if (cases[c].has_start)
        attr_int (node, "start", cases[c].start);
      if (cases[c].has_end)
        attr_int (node, "end", cases[c].end);
      y = eval1 (node, ins);
      g_assert_cmpuint (y->ndim, ==, 1);
      assert_i64 (y, cases[c].want, cases[c].n);
      lathe_node_free (node);
    }

  {
    /* a scalar has an empty shape */
    g_autoptr(LatheTensor) s = lathe_tensor_new_scalar_float (1.f);
    LatheTensor *sins[] = { s };
    LatheNode *node = node_new ("Shape", 13, 1, 1);
    g_autoptr(LatheTensor) y = eval1 (node, sins);
    static const gint64 want[] = { 0 };

    assert_shape (y, 1, want);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Concat                                                                  */

static void
test_concat (void)
{
  static const gint64 da[] = { 2, 2 }, db[] = { 2, 3 }, dc[] = { 2, 0 };
  static const float va[] = { 1, 2, 3, 4 };
  static const float vb[] = { 5, 6, 7, 8, 9, 10 };
  g_autoptr(LatheTensor) a = tensor_new (LATHE_DTYPE_FLOAT, 2, da, va);
  g_autoptr(LatheTensor) b = tensor_new (LATHE_DTYPE_FLOAT, 2, db, vb);
  g_autoptr(LatheTensor) c = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dc);

  {
    /* opset 1 defaults to axis 1; an empty input contributes nothing */
    LatheNode *node = node_new ("Concat", 1, 3, 1);
    LatheTensor *ins[] = { a, c, b };
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const gint64 want_dims[] = { 2, 5 };
    static const float want[] = { 1, 2, 5, 6, 7, 3, 4, 8, 9, 10 };

    assert_shape (y, 2, want_dims);
    assert_f32 (y, want, 10);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Concat", 13, 2, 1);
    LatheTensor *ins[] = { b, a };
    g_autoptr(LatheTensor) y = NULL;
    static const float want[] = { 5, 6, 7, 1, 2, 8, 9, 10, 3, 4 };

    attr_int (node, "axis", -1);
    y = eval1 (node, ins);
    assert_f32 (y, want, 10);
    lathe_node_free (node);
  }
  {
    /* axis 0 with int64 */
    static const gint64 d1[] = { 1, 2 }, d2[] = { 2, 2 };
    static const gint64 v1[] = { 1, 2 }, v2[] = { 3, 4, 5, 6 };
    g_autoptr(LatheTensor) p = tensor_new (LATHE_DTYPE_INT64, 2, d1, v1);
    g_autoptr(LatheTensor) q = tensor_new (LATHE_DTYPE_INT64, 2, d2, v2);
    LatheTensor *ins[] = { p, q };
    LatheNode *node = node_new ("Concat", 4, 2, 1);
    g_autoptr(LatheTensor) y = NULL;
    static const gint64 want[] = { 1, 2, 3, 4, 5, 6 };

    attr_int (node, "axis", 0);
    y = eval1 (node, ins);
    assert_i64 (y, want, 6);
    lathe_node_free (node);
  }
  {
    /* axis is required from opset 4; shapes must agree off the axis */
    LatheNode *node = node_new ("Concat", 4, 2, 1);
    LatheTensor *ins[] = { a, b };
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Concat", 13, 2, 1);
    LatheTensor *ins[] = { a, b };
    g_autoptr(GError) error = NULL;

    attr_int (node, "axis", 0);
    error = eval_error (node, ins);
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Gather                                                                  */

static void
test_gather (void)
{
  static const gint64 dims[] = { 3, 4 };
  g_autoptr(LatheTensor) x = tensor_iota (2, dims);

  {
    /* axis 0, negative and repeated int64 indices of rank 2 */
    static const gint64 idims[] = { 2, 2 };
    static const gint64 idx[] = { 0, -1, 2, 0 };
    g_autoptr(LatheTensor) i = tensor_new (LATHE_DTYPE_INT64, 2, idims, idx);
    LatheTensor *ins[] = { x, i };
    LatheNode *node = node_new ("Gather", 13, 2, 1);
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const gint64 want_dims[] = { 2, 2, 4 };
    static const float want[] = { 0, 1, 2, 3, 8, 9, 10, 11, 8, 9, 10, 11, 0, 1, 2, 3 };

    assert_shape (y, 3, want_dims);
    assert_f32 (y, want, 16);
    lathe_node_free (node);
  }
  {
    /* axis 1, int32 indices, scalar index drops the axis */
    g_autoptr(LatheTensor) i = lathe_tensor_new (LATHE_DTYPE_INT32, 0, NULL);
    LatheTensor *ins[] = { x, i };
    LatheNode *node = node_new ("Gather", 11, 2, 1);
    g_autoptr(LatheTensor) y = NULL;
    static const gint64 want_dims[] = { 3 };
    static const float want[] = { 2, 6, 10 };

    ((gint32 *) i->data)[0] = -2;
    attr_int (node, "axis", -1);
    y = eval1 (node, ins);
    assert_shape (y, 1, want_dims);
    assert_f32 (y, want, 3);
    lathe_node_free (node);
  }
  {
    /* opset 1 embedding lookup over uint8 rows */
    static const gint64 tdims[] = { 3, 2 };
    static const guint8 table[] = { 10, 11, 20, 21, 30, 31 };
    static const gint64 idx[] = { 2, 0 };
    g_autoptr(LatheTensor) t = tensor_new (LATHE_DTYPE_UINT8, 2, tdims, table);
    g_autoptr(LatheTensor) i = tensor_i64 (2, idx);
    LatheTensor *ins[] = { t, i };
    LatheNode *node = node_new ("Gather", 1, 2, 1);
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const guint8 want[] = { 30, 31, 10, 11 };

    g_assert_cmpmem (y->data, 4, want, 4);
    lathe_node_free (node);
  }
  {
    /* out of range: known at infer() for constant indices, and checked
     * again at run() for computed ones */
    static const gint64 idx[] = { 1, 3 };
    g_autoptr(LatheTensor) i = tensor_i64 (2, idx);
    LatheTensor *ins[] = { x, i };
    LatheNode *node = node_new ("Gather", 13, 2, 1);
    g_autoptr(GError) error = eval_error (node, ins);
    g_autoptr(LatheTensor) y = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, (gint64[]) { 2, 4 });
    LatheTensor *outs[] = { y };
    GError *run_error = NULL;

    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_VALUE);
    g_assert_nonnull (strstr (error->message, "test_Gather"));
    g_assert_nonnull (strstr (error->message, "index 3"));
    g_assert_false (node->op->run (node, ins, outs, NULL, &run_error));
    g_assert_error (run_error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_VALUE);
    g_clear_error (&run_error);
    lathe_node_free (node);
  }
  {
    g_autoptr(LatheTensor) i = lathe_tensor_new_scalar_float (0.f);
    LatheTensor *ins[] = { x, i };
    LatheNode *node = node_new ("Gather", 13, 2, 1);
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Slice                                                                   */

/* Slice-10+ with constant starts/ends/axes/steps; NULL arrays are omitted. */
static LatheTensor *
slice13 (LatheTensor  *x,
         gsize         n,
         const gint64 *starts,
         const gint64 *ends,
         const gint64 *axes,
         const gint64 *steps,
         GError      **error)
{
  guint n_in = steps != NULL ? 5 : axes != NULL ? 4 : 3;
  LatheNode *node = node_new ("Slice", 13, n_in, 1);
  g_autoptr(LatheTensor) s = tensor_i64 (n, starts);
  g_autoptr(LatheTensor) e = tensor_i64 (n, ends);
  g_autoptr(LatheTensor) a = axes != NULL ? tensor_i64 (n, axes) : NULL;
  g_autoptr(LatheTensor) st = steps != NULL ? tensor_i64 (n, steps) : NULL;
  LatheTensor *ins[] = { x, s, e, a, st };
  LatheTensor *out = NULL;

  if (n_in == 5 && axes == NULL)
    node->inputs[3] = -1;
  if (!node_eval (node, ins, &out, error))
    out = NULL;
  lathe_node_free (node);
  return out;
}

static void
test_slice (void)
{
  static const gint64 dims[] = { 3, 4, 5 };
  g_autoptr(LatheTensor) x = tensor_iota (3, dims);
  g_autoptr(GError) error = NULL;

  {
    /* x[0:2, 1:3, :] with axes given out of order */
    static const gint64 starts[] = { 1, 0 }, ends[] = { 3, 2 }, axes[] = { 1, 0 };
    g_autoptr(LatheTensor) y = slice13 (x, 2, starts, ends, axes, NULL, NULL);
    static const gint64 want_dims[] = { 2, 2, 5 };

    assert_shape (y, 3, want_dims);
    for (gint64 i = 0; i < 2; i++)
      for (gint64 j = 0; j < 2; j++)
        for (gint64 k = 0; k < 5; k++)
          g_assert_cmpfloat (lathe_tensor_f32 (y)[(i * 2 + j) * 5 + k], ==,
                             (float) ((i * 4 + j + 1) * 5 + k));
  }
  {
    /* negative steps with clamping: x[:, ::-2, -1:-10:-3] */
    static const gint64 starts[] = { G_MAXINT64, -1 }, ends[] = { G_MININT64, -10 };
    static const gint64 axes[] = { 1, -1 }, steps[] = { -2, -3 };
    g_autoptr(LatheTensor) y = slice13 (x, 2, starts, ends, axes, steps, NULL);
    static const gint64 want_dims[] = { 3, 2, 2 };
    static const gint64 jj[] = { 3, 1 }, kk[] = { 4, 1 };

    assert_shape (y, 3, want_dims);
    for (gint64 i = 0; i < 3; i++)
      for (gint64 j = 0; j < 2; j++)
        for (gint64 k = 0; k < 2; k++)
          g_assert_cmpfloat (lathe_tensor_f32 (y)[(i * 2 + j) * 2 + k], ==,
                             (float) ((i * 4 + jj[j]) * 5 + kk[k]));
  }
  {
    /* out of bounds: start past the end gives an empty axis, ends clamp */
    static const gint64 starts[] = { 1000 }, ends[] = { 2000 }, axes[] = { 2 }, steps[] = { 1 };
    static const gint64 starts2[] = { 1 }, ends2[] = { 1000 };
    g_autoptr(LatheTensor) y = slice13 (x, 1, starts, ends, axes, steps, NULL);
    g_autoptr(LatheTensor) z = slice13 (x, 1, starts2, ends2, NULL, NULL, NULL);
    static const gint64 want_y[] = { 3, 4, 0 }, want_z[] = { 2, 4, 5 };

    assert_shape (y, 3, want_y);
    assert_shape (z, 3, want_z);
    g_assert_cmpfloat (lathe_tensor_f32 (z)[0], ==, 20.f);
  }
  {
    /* a step longer than the axis takes the first element */
    static const gint64 starts[] = { 0 }, ends[] = { 5 }, axes[] = { 2 }, steps[] = { G_MAXINT64 };
    static const gint64 starts2[] = { 4 }, ends2[] = { G_MININT64 }, steps2[] = { G_MININT64 };
    g_autoptr(LatheTensor) y = slice13 (x, 1, starts, ends, axes, steps, NULL);
    g_autoptr(LatheTensor) z = slice13 (x, 1, starts2, ends2, axes, steps2, NULL);
    static const gint64 want[] = { 3, 4, 1 };

    assert_shape (y, 3, want);
    assert_shape (z, 3, want);
    g_assert_cmpfloat (lathe_tensor_f32 (y)[1], ==, 5.f);
    g_assert_cmpfloat (lathe_tensor_f32 (z)[1], ==, 9.f);
  }
  {
    /* opset 1 attributes */
    LatheNode *node = node_new ("Slice", 1, 1, 1);
    static const gint64 starts[] = { 0, -2 }, ends[] = { 1, G_MAXINT64 }, axes[] = { 0, 2 };
    LatheTensor *ins[] = { x };
    g_autoptr(LatheTensor) y = NULL;
    static const gint64 want_dims[] = { 1, 4, 2 };
    static const float want[] = { 3, 4, 8, 9, 13, 14, 18, 19 };

    attr_ints (node, "starts", starts, 2);
    attr_ints (node, "ends", ends, 2);
    attr_ints (node, "axes", axes, 2);
    y = eval1 (node, ins);
    assert_shape (y, 3, want_dims);
    assert_f32 (y, want, 8);
    lathe_node_free (node);
  }
  {
    static const gint64 starts[] = { 0 }, ends[] = { 1 }, axes[] = { 0 }, steps[] = { 0 };
    static const gint64 axes2[] = { 0, 0 }, starts2[] = { 0, 0 }, ends2[] = { 1, 1 };

    g_assert_null (slice13 (x, 1, starts, ends, axes, steps, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
    g_assert_null (slice13 (x, 2, starts2, ends2, axes2, NULL, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_clear_error (&error);
  }
  {
    /* int16 data, int32 indices */
    static const gint64 d[] = { 6 };
    static const gint16 v[] = { 0, 1, 2, 3, 4, 5 };
    g_autoptr(LatheTensor) t = tensor_new (LATHE_DTYPE_INT16, 1, d, v);
    g_autoptr(LatheTensor) s = lathe_tensor_new (LATHE_DTYPE_INT32, 1, (gint64[]) { 1 });
    g_autoptr(LatheTensor) e = lathe_tensor_new (LATHE_DTYPE_INT32, 1, (gint64[]) { 1 });
    g_autoptr(LatheTensor) st = lathe_tensor_new (LATHE_DTYPE_INT32, 1, (gint64[]) { 1 });
    LatheTensor *ins[] = { t, s, e, NULL, st };
    LatheNode *node = node_new ("Slice", 10, 5, 1);
    g_autoptr(LatheTensor) y = NULL;
    static const gint16 want[] = { 5, 3, 1 };

    node->inputs[3] = -1;
    ((gint32 *) s->data)[0] = -1;
    ((gint32 *) e->data)[0] = -100;
    ((gint32 *) st->data)[0] = -2;
    y = eval1 (node, ins);
    g_assert_cmpuint (y->n, ==, 3);
    g_assert_cmpmem (y->data, 6, want, 6);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Constant, ConstantOfShape                                               */

static void
test_constant (void)
{
  {
    static const gint64 dims[] = { 2 };
    static const double v[] = { 1.5, -2.25 };
    LatheNode *node = node_new ("Constant", 9, 0, 1);
    g_autoptr(LatheTensor) y = NULL;

    attr_tensor (node, "value", tensor_new (LATHE_DTYPE_DOUBLE, 1, dims, v));
    y = eval1 (node, NULL);
    g_assert_cmpint (y->dtype, ==, LATHE_DTYPE_DOUBLE);
    g_assert_cmpmem (y->data, 16, v, 16);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("Constant", 12, 0, 1);
    g_autoptr(LatheTensor) y = NULL;

    attr_float (node, "value_float", 2.5f);
    y = eval1 (node, NULL);
    g_assert_cmpuint (y->ndim, ==, 0);
    g_assert_cmpfloat (lathe_tensor_f32 (y)[0], ==, 2.5f);
    lathe_node_free (node);
  }
  {
    static const gint64 v[] = { 4, -1 };
    static const float f[] = { 0.5f, 1.5f, 2.5f };
    LatheNode *node = node_new ("Constant", 13, 0, 1);
    LatheNode *node2 = node_new ("Constant", 13, 0, 1);
    LatheNode *node3 = node_new ("Constant", 13, 0, 1);
    g_autoptr(LatheTensor) y = NULL, z = NULL, w = NULL;

    attr_ints (node, "value_ints", v, 2);
    y = eval1 (node, NULL);
    assert_i64 (y, v, 2);
    attr_int (node2, "value_int", -7);
    z = eval1 (node2, NULL);
    g_assert_cmpint (z->dtype, ==, LATHE_DTYPE_INT64);
    g_assert_cmpint (lathe_tensor_i64 (z)[0], ==, -7);
    attr_floats (node3, "value_floats", f, 3);
    w = eval1 (node3, NULL);
    assert_f32 (w, f, 3);
    lathe_node_free (node);
    lathe_node_free (node2);
    lathe_node_free (node3);
  }
  {
    /* refused or invalid */
    LatheNode *sparse = node_new ("Constant", 13, 0, 1);
    LatheNode *string = node_new ("Constant", 13, 0, 1);
    LatheNode *early = node_new ("Constant", 11, 0, 1);
    LatheNode *two = node_new ("Constant", 13, 0, 1);
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

    attr_add (sparse, "sparse_value", LATHE_ATTR_SPARSE_TENSOR);
    e1 = eval_error (sparse, NULL);
    g_assert_error (e1, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    attr_string (string, "value_string", "hello");
    e2 = eval_error (string, NULL);
    g_assert_error (e2, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    attr_float (early, "value_float", 1.f);
    e3 = eval_error (early, NULL);
    g_assert_error (e3, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    attr_float (two, "value_float", 1.f);
    attr_int (two, "value_int", 1);
    e4 = eval_error (two, NULL);
    g_assert_error (e4, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    lathe_node_free (sparse);
    lathe_node_free (string);
    lathe_node_free (early);
    lathe_node_free (two);
  }
}

static void
test_constant_of_shape (void)
{
  static const gint64 shape[] = { 2, 3 };
  g_autoptr(LatheTensor) s = tensor_i64 (2, shape);

  {
    LatheNode *node = node_new ("ConstantOfShape", 9, 1, 1);
    LatheTensor *ins[] = { s };
    g_autoptr(LatheTensor) y = eval1 (node, ins);
    static const float want[] = { 0, 0, 0, 0, 0, 0 };

    assert_shape (y, 2, shape);
    assert_f32 (y, want, 6);
    lathe_node_free (node);
  }
  {
    LatheNode *node = node_new ("ConstantOfShape", 20, 1, 1);
    LatheTensor *ins[] = { s };
    g_autoptr(LatheTensor) v = lathe_tensor_new (LATHE_DTYPE_INT32, 1, (gint64[]) { 1 });
    g_autoptr(LatheTensor) y = NULL;

    ((gint32 *) v->data)[0] = -77;
    attr_tensor (node, "value", g_steal_pointer (&v));
    y = eval1 (node, ins);
    g_assert_cmpint (y->dtype, ==, LATHE_DTYPE_INT32);
    for (gsize i = 0; i < 6; i++)
      g_assert_cmpint (((gint32 *) y->data)[i], ==, -77);
    lathe_node_free (node);
  }
  {
    /* an empty shape gives a scalar, a zero dimension an empty tensor */
    g_autoptr(LatheTensor) empty = tensor_i64 (0, NULL);
    static const gint64 zero[] = { 0, 4 };
    g_autoptr(LatheTensor) z = tensor_i64 (2, zero);
    LatheTensor *ins1[] = { empty }, *ins2[] = { z };
    LatheNode *node = node_new ("ConstantOfShape", 9, 1, 1);
    g_autoptr(LatheTensor) y1 = NULL, y2 = NULL;

    attr_tensor (node, "value", lathe_tensor_new_scalar_float (3.f));
    y1 = eval1 (node, ins1);
    y2 = eval1 (node, ins2);
    g_assert_cmpuint (y1->ndim, ==, 0);
    g_assert_cmpfloat (lathe_tensor_f32 (y1)[0], ==, 3.f);
    assert_shape (y2, 2, zero);
    g_assert_cmpuint (y2->n, ==, 0);
    lathe_node_free (node);
  }
  {
    static const gint64 neg[] = { 2, -1 };
    g_autoptr(LatheTensor) n = tensor_i64 (2, neg);
    LatheTensor *ins[] = { n };
    LatheNode *node = node_new ("ConstantOfShape", 9, 1, 1);
    g_autoptr(GError) error = eval_error (node, ins);

    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

/* ---------------------------------------------------------------------- */
/* Cast                                                                    */

static LatheTensor *
cast (gint64        opset,
      LatheTensor  *x,
      LatheDType    to)
{
  LatheNode *node = node_new ("Cast", opset, 1, 1);
  LatheTensor *ins[] = { x };
  LatheTensor *y;

  if (opset < 6)
    {
      g_autofree char *name = g_ascii_strup (lathe_dtype_name (to), -1);
      attr_string (node, "to", name);
    }
  else
    attr_int (node, "to", to);
  y = eval1 (node, ins);
  g_assert_cmpint (y->dtype, ==, to);
  lathe_node_free (node);
  return y;
}

static void
test_cast (void)
{
  static const gint64 d6[] = { 6 };
  static const float f[] = { -1.7f, 2.9f, 0.f, -0.f, 300.f, -1.f };

  {
    g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_FLOAT, 1, d6, f);
    g_autoptr(LatheTensor) i32 = cast (13, x, LATHE_DTYPE_INT32);
    g_autoptr(LatheTensor) u8 = cast (13, x, LATHE_DTYPE_UINT8);
    g_autoptr(LatheTensor) b = cast (13, x, LATHE_DTYPE_BOOL);
    g_autoptr(LatheTensor) i64 = cast (6, x, LATHE_DTYPE_INT64);
    g_autoptr(LatheTensor) u32 = cast (13, x, LATHE_DTYPE_UINT32);
    static const gint32 want_i32[] = { -1, 2, 0, 0, 300, -1 };
    static const guint8 want_u8[] = { 255, 2, 0, 0, 44, 255 };    /* numpy wraps */
    static const guint8 want_b[] = { 1, 1, 0, 0, 1, 1 };
    static const gint64 want_i64[] = { -1, 2, 0, 0, 300, -1 };
    static const guint32 want_u32[] = { 4294967295u, 2, 0, 0, 300, 4294967295u };

    g_assert_cmpmem (i32->data, 24, want_i32, 24);
    g_assert_cmpmem (u8->data, 6, want_u8, 6);
    g_assert_cmpmem (b->data, 6, want_b, 6);
    assert_i64 (i64, want_i64, 6);
    g_assert_cmpmem (u32->data, 24, want_u32, 24);
  }
  {
    /* NaN is true as a bool; bool back to float is 0/1 */
    static const gint64 d3[] = { 3 };
    const float v[] = { NAN, 0.5f, 0.f };
    g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_FLOAT, 1, d3, v);
    g_autoptr(LatheTensor) b = cast (9, x, LATHE_DTYPE_BOOL);
    g_autoptr(LatheTensor) back = cast (13, b, LATHE_DTYPE_FLOAT);
    static const float want[] = { 1, 1, 0 };

    assert_f32 (back, want, 3);
  }
  {
    /* double → half rounds once: 1 + 2^-11 + 2^-40 is just above the
     * midpoint and goes up; through float it would tie and go down */
    static const gint64 d2[] = { 3 };
    const double v[] = { 1.0 + ldexp (1.0, -11) + ldexp (1.0, -40), 65520.0, -0.0 };
    g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_DOUBLE, 1, d2, v);
    g_autoptr(LatheTensor) h = cast (13, x, LATHE_DTYPE_FLOAT16);
    g_autoptr(LatheTensor) back = cast (19, h, LATHE_DTYPE_DOUBLE);
    static const guint16 want[] = { 0x3c01, 0x7c00, 0x8000 };

    g_assert_cmpmem (h->data, 6, want, 6);
    g_assert_cmpfloat (((double *) back->data)[0], ==, 1.0 + ldexp (1.0, -10));
    g_assert_true (isinf (((double *) back->data)[1]));
  }
  {
    /* int64 → float rounds once, uint64 keeps its top bit, Cast-1 names
     * the type as a string */
    static const gint64 d2[] = { 2 };
    static const gint64 v[] = { (G_GINT64_CONSTANT (1) << 53) + 1, -3 };
    static const guint64 u[] = { G_MAXUINT64, 5 };
    g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_INT64, 1, d2, v);
    g_autoptr(LatheTensor) ux = tensor_new (LATHE_DTYPE_UINT64, 1, d2, u);
    g_autoptr(LatheTensor) fl = cast (13, x, LATHE_DTYPE_FLOAT);
    g_autoptr(LatheTensor) db = cast (1, ux, LATHE_DTYPE_DOUBLE);
    g_autoptr(LatheTensor) i8 = cast (1, x, LATHE_DTYPE_INT8);

    g_assert_cmpfloat (lathe_tensor_f32 (fl)[0], ==, (float) ((G_GINT64_CONSTANT (1) << 53) + 1));
    g_assert_cmpfloat (lathe_tensor_f32 (fl)[1], ==, -3.f);
    g_assert_cmpfloat (((double *) db->data)[0], ==, 18446744073709551615.0);
    g_assert_cmpint (((gint8 *) i8->data)[0], ==, 1);
    g_assert_cmpint (((gint8 *) i8->data)[1], ==, -3);
  }
  {
    /* every supported pair runs, and same-type is a copy */
    static const LatheDType types[] = {
      LATHE_DTYPE_FLOAT, LATHE_DTYPE_FLOAT16, LATHE_DTYPE_DOUBLE, LATHE_DTYPE_INT8,
      LATHE_DTYPE_UINT8, LATHE_DTYPE_INT16, LATHE_DTYPE_UINT16, LATHE_DTYPE_INT32,
      LATHE_DTYPE_INT64, LATHE_DTYPE_UINT32, LATHE_DTYPE_UINT64, LATHE_DTYPE_BOOL,
    };
    static const float small[] = { 0, 1, 2, 3, 4, 5 };
    g_autoptr(LatheTensor) x = tensor_new (LATHE_DTYPE_FLOAT, 1, d6, small);

    for (guint a = 0; a < G_N_ELEMENTS (types); a++)
      {
        g_autoptr(LatheTensor) xa = cast (13, x, types[a]);

        for (guint b = 0; b < G_N_ELEMENTS (types); b++)
          {
            g_autoptr(LatheTensor) xb = cast (13, xa, types[b]);
            g_autoptr(LatheTensor) back = cast (13, xb, LATHE_DTYPE_FLOAT);
            gboolean to_bool = types[a] == LATHE_DTYPE_BOOL || types[b] == LATHE_DTYPE_BOOL;

            /* small integers survive every type exactly */
            for (guint i = 0; i < 6; i++)
              g_assert_cmpfloat (lathe_tensor_f32 (back)[i], ==, to_bool ? (i != 0) : small[i]);
          }
      }
  }
  {
    /* string, bfloat16 and float8 are refused */
    static const LatheDType refused[] = {
      LATHE_DTYPE_STRING, LATHE_DTYPE_BFLOAT16, LATHE_DTYPE_FLOAT8E4M3FN, LATHE_DTYPE_COMPLEX64,
    };

    for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
      {
        LatheNode *node = node_new ("Cast", 19, 1, 1);
        g_autoptr(LatheTensor) x = lathe_tensor_new_scalar_float (1.f);
        LatheTensor *ins[] = { x };
        g_autoptr(GError) error = NULL;

        attr_int (node, "to", refused[i]);
        attr_int (node, "saturate", 0);
        error = eval_error (node, ins);
        g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
        lathe_node_free (node);
      }
  }
}

/* ---------------------------------------------------------------------- */
/* Through the executor                                                    */

static LatheNode *
graph_node (LatheGraph   *graph,
            const char   *op_type,
            const char  **inputs,
            const char  **outputs)
{
  LatheNode *node = g_new0 (LatheNode, 1);
  guint n_in = g_strv_length ((char **) inputs), n_out = g_strv_length ((char **) outputs);

  node->index = graph->nodes->len;
  node->name = g_strdup_printf ("%s#%u", op_type, node->index);
  node->op_type = g_strdup (op_type);
  node->domain = g_strdup ("");
  node->op = lathe_op_lookup (op_type, graph->opset, &node->since);
  g_assert_nonnull (node->op);
  node->n_inputs = n_in;
  node->inputs = g_new (int, n_in + 1);
  for (guint i = 0; i < n_in; i++)
    node->inputs[i] = (int) lathe_graph_lookup (graph, inputs[i])->id;
  node->n_outputs = n_out;
  node->outputs = g_new (int, n_out + 1);
  for (guint o = 0; o < n_out; o++)
    {
      LatheValue *v = lathe_graph_add_value (graph, outputs[o], LATHE_VALUE_NODE_OUTPUT);
      v->producer = (int) node->index;
      node->outputs[o] = (int) v->id;
    }
  node->attrs = g_new0 (LatheAttr, MAX_ATTRS);
  g_ptr_array_add (graph->nodes, node);
  return node;
}

static void
graph_output (LatheGraph *graph,
              const char *name)
{
  guint id = lathe_graph_lookup (graph, name)->id;
  g_array_append_val (graph->outputs, id);
}

/* X[2,3,4] → Reshape(const [4,6]) → Dropout(with mask) → Transpose → T,
 * Shape(X) → Gather(idx) → G with idx a graph input: aliasing with a run()
 * on a shared buffer, Shape folding, and a run-time Gather error. */
static void
test_executor (void)
{
  g_autoptr(LatheGraph) graph = lathe_graph_new ();
  LatheValue *x, *idx, *shape;
  LatheExecutor *exec;
  static const gint64 xdims[] = { 2, 3, 4 };
  static const gint64 shape_values[] = { 4, 6 };
  g_autoptr(LatheTensor) xt = tensor_iota (3, xdims);
  g_autoptr(LatheTensor) it = tensor_i64 (1, (gint64[]) { -1 });
  LatheTensor *ins[] = { xt, it };
  g_autoptr(GError) error = NULL;
  LatheTensor *t, *m, *g;

  graph->opset = 13;
  x = lathe_graph_add_value (graph, "X", LATHE_VALUE_INPUT);
  x->dtype = LATHE_DTYPE_FLOAT;
  x->ndim = 3;
  memcpy (x->dims, xdims, sizeof xdims);
  g_array_append_val (graph->inputs, x->id);
  idx = lathe_graph_add_value (graph, "idx", LATHE_VALUE_INPUT);
  idx->dtype = LATHE_DTYPE_INT64;
  g_array_append_val (graph->inputs, idx->id);
  shape = lathe_graph_add_value (graph, "shape", LATHE_VALUE_INITIALIZER);
  shape->initializer = tensor_i64 (2, shape_values);

  graph_node (graph, "Reshape", (const char *[]) { "X", "shape", NULL }, (const char *[]) { "R", NULL });
  graph_node (graph, "Dropout", (const char *[]) { "R", NULL }, (const char *[]) { "D", "M", NULL });
  graph_node (graph, "Transpose", (const char *[]) { "D", NULL }, (const char *[]) { "T", NULL });
  graph_node (graph, "Shape", (const char *[]) { "X", NULL }, (const char *[]) { "S", NULL });
  graph_node (graph, "Gather", (const char *[]) { "S", "idx", NULL }, (const char *[]) { "G", NULL });
  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      if (node->op->setup != NULL)
        g_assert_true (node->op->setup (node, NULL));
    }
  graph_output (graph, "T");
  graph_output (graph, "M");
  graph_output (graph, "G");

  exec = lathe_executor_new (graph);
  if (!lathe_executor_run (exec, 2, ins, &error))
    g_error ("%s", error->message);
  t = lathe_executor_get_output (exec, 0);
  m = lathe_executor_get_output (exec, 1);
  g = lathe_executor_get_output (exec, 2);
  assert_shape (t, 2, (gint64[]) { 6, 4 });
  for (gint64 i = 0; i < 6; i++)
    for (gint64 j = 0; j < 4; j++)
      g_assert_cmpfloat (lathe_tensor_f32 (t)[i * 4 + j], ==, (float) (j * 6 + i));
  g_assert_cmpint (m->dtype, ==, LATHE_DTYPE_BOOL);
  for (gsize i = 0; i < m->n; i++)
    g_assert_cmpint (((guint8 *) m->data)[i], ==, 1);
  assert_i64 (g, (gint64[]) { 4 }, 1);

  /* the same plan again with a bad index */
  lathe_tensor_i64 (it)[0] = 3;
  g_assert_false (lathe_executor_run (exec, 2, ins, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_VALUE);
  g_assert_nonnull (strstr (error->message, "Gather#4"));
  g_assert_nonnull (strstr (error->message, "index 3"));

  lathe_executor_free (exec);
}

static void
test_registry (void)
{
  static const struct { const char *op; gint64 opset; int since; } cases[] = {
    { "Reshape", 4, 1 }, { "Reshape", 13, 13 }, { "Reshape", 18, 14 }, { "Reshape", 20, 19 },
    { "Flatten", 10, 9 }, { "Squeeze", 12, 11 }, { "Unsqueeze", 21, 21 },
    { "Identity", 15, 14 }, { "Dropout", 11, 10 }, { "Dropout", 22, 22 },
    { "Shape", 17, 15 }, { "Transpose", 20, 13 }, { "Concat", 5, 4 }, { "Gather", 12, 11 },
    { "Slice", 9, 1 }, { "Slice", 10, 10 }, { "Constant", 12, 12 },
    { "ConstantOfShape", 9, 9 }, { "Cast", 8, 6 }, { "Cast", 19, 19 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      int since = 0;
      g_assert_nonnull (lathe_op_lookup (cases[c].op, cases[c].opset, &since));
      g_assert_cmpint (since, ==, cases[c].since);
    }
  g_assert_null (lathe_op_lookup ("ConstantOfShape", 8, NULL));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/shape/transpose/fast-vs-ref", test_transpose_fast_vs_ref);
  g_test_add_func ("/lathe/engine/shape/transpose/op", test_transpose_op);
  g_test_add_func ("/lathe/engine/shape/reshape", test_reshape);
  g_test_add_func ("/lathe/engine/shape/flatten", test_flatten);
  g_test_add_func ("/lathe/engine/shape/squeeze", test_squeeze);
  g_test_add_func ("/lathe/engine/shape/unsqueeze", test_unsqueeze);
  g_test_add_func ("/lathe/engine/shape/identity", test_identity);
  g_test_add_func ("/lathe/engine/shape/dropout", test_dropout);
  g_test_add_func ("/lathe/engine/shape/shape", test_shape);
  g_test_add_func ("/lathe/engine/shape/concat", test_concat);
  g_test_add_func ("/lathe/engine/shape/gather", test_gather);
  g_test_add_func ("/lathe/engine/shape/slice", test_slice);
  g_test_add_func ("/lathe/engine/shape/constant", test_constant);
  g_test_add_func ("/lathe/engine/shape/constant-of-shape", test_constant_of_shape);
  g_test_add_func ("/lathe/engine/shape/cast", test_cast);
  g_test_add_func ("/lathe/engine/shape/executor", test_executor);
  g_test_add_func ("/lathe/engine/shape/registry", test_registry);

  return g_test_run ();
}
