/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-eval"

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "eval/lathe-macs.h"

/* Non-zero elements of a constant tensor; -1 when its type is not one a
 * weight comes in. */
static gint64
count_nonzero (const LatheTensor *t)
{
  gint64 n = 0;

  if (t->data == NULL)
    return -1;
  switch (t->dtype)
    {
    case LATHE_DTYPE_FLOAT:
      for (gsize i = 0; i < t->n; i++)
        n += ((const float *) t->data)[i] != 0.f;
      return n;
    case LATHE_DTYPE_DOUBLE:
      for (gsize i = 0; i < t->n; i++)
        n += ((const double *) t->data)[i] != 0.0;
      return n;
    case LATHE_DTYPE_FLOAT16:
      /* ±0 only: the sign bit aside, every bit clear */
      for (gsize i = 0; i < t->n; i++)
        n += (((const guint16 *) t->data)[i] & 0x7fff) != 0;
      return n;
    case LATHE_DTYPE_INT8:
    case LATHE_DTYPE_UINT8:
      for (gsize i = 0; i < t->n; i++)
        n += ((const guint8 *) t->data)[i] != 0;
      return n;
    default:
      return -1;
    }
}

/* Rows × columns of the product a MatMul operand takes part in, with
 * NumPy's promotion of 1-D operands. */
static void
matmul_dims (const LatheTensor *a,
             const LatheTensor *b,
             guint64           *m,
             guint64           *k,
             guint64           *n)
{
  *m = a->ndim >= 2 ? (guint64) a->dims[a->ndim - 2] : 1;
  *k = a->ndim >= 1 ? (guint64) a->dims[a->ndim - 1] : 1;
  *n = b->ndim >= 2 ? (guint64) b->dims[b->ndim - 1] : 1;
}

/* Adds the node's figures to *out. A node whose output is a constant was
 * folded and costs nothing per sample. */
static void
count_node (LatheExecutor *exec,
            LatheNode     *node,
            LatheMacs     *out)
{
  LatheTensor *a, *b, *y;
  gboolean a_const, b_const;
  guint64 dense = 0, nonzero;

  if (node->n_inputs < 2 || node->inputs[0] < 0 || node->inputs[1] < 0 ||
      node->n_outputs < 1 || node->outputs[0] < 0 ||
      lathe_executor_is_constant (exec, (guint) node->outputs[0]))
    return;
  a = lathe_executor_get_value (exec, (guint) node->inputs[0]);
  b = lathe_executor_get_value (exec, (guint) node->inputs[1]);
  y = lathe_executor_get_value (exec, (guint) node->outputs[0]);
  a_const = lathe_executor_is_constant (exec, (guint) node->inputs[0]);
  b_const = lathe_executor_is_constant (exec, (guint) node->inputs[1]);
  if (y->n == 0)
    return;

  if (g_str_equal (node->op_type, "Conv"))
    {
      /* W is [M, C/group, k…]: every output element takes C/group · k…
       * products, one per element of its output channel's filter. */
      guint64 per_output, per_weight;

      if (b->ndim < 1 || b->dims[0] <= 0)
        return;
      per_output = b->n / (guint64) b->dims[0];
      per_weight = y->n / (guint64) b->dims[0];   /* batch × output positions */
      dense = (guint64) y->n * per_output;
      nonzero = dense;
      if (b_const)
        {
          gint64 nz = count_nonzero (b);
          if (nz >= 0)
            nonzero = (guint64) nz * per_weight;
        }
    }
  else if (g_str_equal (node->op_type, "Gemm"))
    {
      /* Y [M, N] = A [M, K] · B [K, N] (either transposed) */
      guint64 m = y->ndim == 2 ? (guint64) y->dims[0] : 0;
      guint64 n = y->ndim == 2 ? (guint64) y->dims[1] : 0;
      guint64 k = m > 0 ? a->n / m : 0;

      dense = m * n * k;
      nonzero = dense;
      if (b_const || a_const)
        {
          gint64 nz = count_nonzero (b_const ? b : a);
          if (nz >= 0)
            nonzero = (guint64) nz * (b_const ? m : n);
        }
    }
  else if (g_str_equal (node->op_type, "MatMul"))
    {
      /* Y [batch…, M, N]: each of the batch's M×N outputs takes K products;
       * a constant operand's matrix is shared by batch/its-own-batch
       * products. */
      guint64 m, k, n, y_batches, own_batches;

      matmul_dims (a, b, &m, &k, &n);
      if (m == 0 || k == 0 || n == 0)
        return;
      dense = (guint64) y->n * k;
      nonzero = dense;
      y_batches = y->n / (m * n);
      if (b_const || a_const)
        {
          const LatheTensor *w = b_const ? b : a;
          gint64 nz = count_nonzero (w);

          own_batches = w->n / (b_const ? k * n : m * k);
          if (nz >= 0 && own_batches > 0)
            nonzero = (guint64) nz * (b_const ? m : n) * (y_batches / own_batches);
        }
    }
  else
    return;

  out->macs += dense;
  out->macs_nonzero += nonzero;
}

gboolean
lathe_graph_count_macs (LatheGraph   *graph,
                        guint         n_inputs,
                        LatheTensor **inputs,
                        LatheMacs    *out,
                        GError      **error)
{
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(GPtrArray) metas = NULL;

  g_return_val_if_fail (graph != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (inputs == NULL || n_inputs == graph->inputs->len, FALSE);

  out->macs = out->macs_nonzero = 0;
  if (inputs == NULL)
    {
      metas = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_tensor_unref);
      for (guint i = 0; i < graph->inputs->len; i++)
        {
          LatheTensor *meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
          g_ptr_array_add (metas, meta);
          if (!lathe_graph_input_shape_for_batch (graph, i, 1, meta, error))
            return FALSE;
        }
      n_inputs = metas->len;
      inputs = (LatheTensor **) metas->pdata;
    }

  exec = lathe_executor_new (graph);
  if (!lathe_executor_prepare (exec, n_inputs, inputs, error))
    return FALSE;
  for (guint k = 0; k < graph->nodes->len; k++)
    count_node (exec, lathe_graph_node (graph, k), out);
  return TRUE;
}
