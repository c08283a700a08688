/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

/* DequantizeLinear (opsets 10, 13, 19, 21): y = (x − x_zero_point) · x_scale.
 *
 * The scale's shape picks the granularity: one element is per-tensor; a
 * 1-D scale as long as x's `axis` is per-axis (opset 13+); a scale of x's
 * rank, equal to x's shape except ⌈D_axis / block_size⌉ along `axis`, is
 * blocked (opset 21+, `block_size` > 0). x is int8, uint8 or int32 (int4
 * and uint4 initializers arrive as int8 / uint8: the loader unpacks them);
 * the zero point, when given, has x's type and the scale's shape; the
 * scale and y are float32 (float16 and bfloat16 scales of opset 19+ are
 * refused). */

#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-ops-private.h"

typedef struct {
  gint64 axis;
  gint64 block_size;
} DequantizeParams;

/* The element (o, d, i) of x viewed as [outer, len, inner] uses scale
 * index d when block == 0 (per-tensor is outer = len = 1), and
 * (o · ⌈len / block⌉ + d / block) · inner + i when blocked. */
typedef struct {
  gsize outer, len, inner, block;
} DequantizeLayout;

/* Exported (without a header) for tests/onnx/test-onnx-writer.c. */
void _lathe_quant_dequantize_f32     (float *y, gconstpointer x, LatheDType dtype,
                                      const float *scale, gconstpointer zero_point,
                                      gsize outer, gsize len, gsize inner, gsize block);
void _lathe_quant_dequantize_f32_ref (float *y, gconstpointer x, LatheDType dtype,
                                      const float *scale, gconstpointer zero_point,
                                      gsize outer, gsize len, gsize inner, gsize block);

/* ------------------------------------------------------------------------
 * Kernels: the fast form keeps scale and zero point out of the inner loop
 * (or walks them alongside it when blocked) so the compiler vectorises it;
 * the _ref form computes every element from its own index. An 8-bit
 * difference times a float32 scale is exact in double and rounds to the
 * same float32 as the float product, so both agree bit for bit; int32
 * inputs are computed in double in both. */

#define DQ_FAST(T, ACC)                                                        \
  G_STMT_START {                                                               \
    const T *xs = x;                                                           \
    const T *zs = zero_point;                                                  \
    gsize n_blocks = block ? (len + block - 1) / block : 0;                    \
    for (gsize o = 0; o < outer; o++)                                          \
      for (gsize d = 0; d < len; d++)                                          \
        {                                                                      \
          const T *xr = xs + (o * len + d) * inner;                            \
          float *yr = y + (o * len + d) * inner;                               \
          if (block == 0)                                                      \
            {                                                                  \
              ACC s = scale[d];                                                \
              ACC z = zs ? (ACC) zs[d] : 0;                                    \
              for (gsize i = 0; i < inner; i++)                                \
                yr[i] = (float) (((ACC) xr[i] - z) * s);                       \
            }                                                                  \
          else                                                                 \
            {                                                                  \
              gsize base = (o * n_blocks + d / block) * inner;                 \
              const float *sr = scale + base;                                  \
              if (zs != NULL)                                                  \
                {                                                              \
                  const T *zr = zs + base;                                     \
                  for (gsize i = 0; i < inner; i++)                            \
                    yr[i] = (float) (((ACC) xr[i] - (ACC) zr[i]) * (ACC) sr[i]); \
                }                                                              \
              else                                                             \
                for (gsize i = 0; i < inner; i++)                              \
                  yr[i] = (float) ((ACC) xr[i] * (ACC) sr[i]);                 \
            }                                                                  \
        }                                                                      \
  } G_STMT_END

void
_lathe_quant_dequantize_f32 (float         *y,
                             gconstpointer  x,
                             LatheDType     dtype,
                             const float   *scale,
                             gconstpointer  zero_point,
                             gsize          outer,
                             gsize          len,
                             gsize          inner,
                             gsize          block)
{
  switch (dtype)
    {
    case LATHE_DTYPE_INT8:  DQ_FAST (gint8, float); break;
    case LATHE_DTYPE_UINT8: DQ_FAST (guint8, float); break;
    case LATHE_DTYPE_INT32: DQ_FAST (gint32, double); break;
    default: g_assert_not_reached ();
    }
}

#undef DQ_FAST

static double
load_int (gconstpointer data,
          LatheDType    dtype,
          gsize         i)
{
  switch (dtype)
    {
    case LATHE_DTYPE_INT8:  return ((const gint8 *) data)[i];
    case LATHE_DTYPE_UINT8: return ((const guint8 *) data)[i];
    case LATHE_DTYPE_INT32: return ((const gint32 *) data)[i];
    default: g_assert_not_reached ();
    }
  return 0;
}

void
_lathe_quant_dequantize_f32_ref (float         *y,
                                 gconstpointer  x,
                                 LatheDType     dtype,
                                 const float   *scale,
                                 gconstpointer  zero_point,
                                 gsize          outer,
                                 gsize          len,
                                 gsize          inner,
                                 gsize          block)
{
  gsize n = outer * len * inner;

  for (gsize k = 0; k < n; k++)
    {
      gsize i = k % inner, d = (k / inner) % len, o = k / inner / len;
      gsize s = block == 0 ? d : (o * ((len + block - 1) / block) + d / block) * inner + i;
      double z = zero_point != NULL ? load_int (zero_point, dtype, s) : 0;

      y[k] = (float) ((load_int (x, dtype, k) - z) * (double) scale[s]);
    }
}

/* ------------------------------------------------------------------------
 * The op */

static gboolean
dequantize_setup (LatheNode  *node,
                  GError    **error)
{
  DequantizeParams *p = g_new0 (DequantizeParams, 1);
  gint64 output_dtype = lathe_node_get_int (node, "output_dtype", LATHE_DTYPE_UNDEFINED);

  node->params = p;
  node->params_free = g_free;
  p->axis = node->since >= 13 ? lathe_node_get_int (node, "axis", 1) : 1;
  p->block_size = node->since >= 21 ? lathe_node_get_int (node, "block_size", 0) : 0;
  if (p->block_size < 0)
    {
      lathe_node_unsupported_attr (error, node, "block_size=%" G_GINT64_FORMAT " (must not be negative)",
                                   p->block_size);
      return FALSE;
    }
  /* output_dtype (opset 23, read here for models at 23+ that resolve to
   * version 21) names the output type; only float32 is made here */
  if (output_dtype != LATHE_DTYPE_UNDEFINED && output_dtype != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_attr (error, node, "output_dtype=%" G_GINT64_FORMAT
                                   " (only float is supported)", output_dtype);
      return FALSE;
    }
  return TRUE;
}

static gboolean
dequantize_layout (LatheNode         *node,
                   LatheTensor      **inputs,
                   DequantizeLayout  *l,
                   GError           **error)
{
  const DequantizeParams *p = node->params;
  const LatheTensor *x = inputs[0];
  const LatheTensor *scale = inputs[1];
  const LatheTensor *zp = node->n_inputs > 2 ? inputs[2] : NULL;
  guint axis;

  if (x->dtype != LATHE_DTYPE_INT8 && x->dtype != LATHE_DTYPE_UINT8 && x->dtype != LATHE_DTYPE_INT32)
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  if (scale->dtype != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_type (error, node, scale->dtype);
      return FALSE;
    }
  if (zp != NULL)
    {
      if (zp->dtype != x->dtype)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "x_zero_point is %s but x is %s; they must have the same type",
                                lathe_dtype_name (zp->dtype), lathe_dtype_name (x->dtype));
          return FALSE;
        }
      if (zp->n != scale->n || (zp->ndim == scale->ndim && !lathe_tensor_same_shape (zp, scale)))
        {
          g_autofree char *zs = lathe_shape_to_string (zp->ndim, zp->dims);
          g_autofree char *ss = lathe_shape_to_string (scale->ndim, scale->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "x_zero_point %s does not match x_scale %s", zs, ss);
          return FALSE;
        }
    }

  /* one scale: per-tensor, whatever its rank (as ONNX's reference does) */
  if (scale->n == 1)
    {
      l->outer = 1;
      l->len = 1;
      l->inner = x->n;
      l->block = 0;
      return TRUE;
    }

  if (node->since < 13)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "x_scale must be a scalar before opset 13 (per-tensor only), it has %"
                            G_GSIZE_FORMAT " elements", scale->n);
      return FALSE;
    }
  if (x->ndim == 0)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "x is a scalar but x_scale has %" G_GSIZE_FORMAT " elements", scale->n);
      return FALSE;
    }
  if (!lathe_normalize_axis (node, p->axis, x->ndim, &axis, error))
    return FALSE;

  l->outer = 1;
  l->inner = 1;
  for (guint d = 0; d < axis; d++)
    l->outer *= (gsize) x->dims[d];
  for (guint d = axis + 1; d < x->ndim; d++)
    l->inner *= (gsize) x->dims[d];
  l->len = (gsize) x->dims[axis];

  if (p->block_size == 0)
    {
      if (scale->ndim != 1 || scale->dims[0] != x->dims[axis])
        {
          g_autofree char *ss = lathe_shape_to_string (scale->ndim, scale->dims);
          g_autofree char *xs = lathe_shape_to_string (x->ndim, x->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "per-axis x_scale %s must be 1-D with the length of axis %u of x %s%s",
                                ss, axis, xs, node->since >= 21 ? " (or set block_size for blocked scales)" : "");
          return FALSE;
        }
      l->block = 0;
      /* per-axis: a scale per index along `axis`, inner and outer free */
      return TRUE;
    }

  {
    gsize want = (l->len + (gsize) p->block_size - 1) / (gsize) p->block_size;
    gboolean ok = scale->ndim == x->ndim;

    for (guint d = 0; ok && d < x->ndim; d++)
      ok = d == axis ? (gsize) scale->dims[d] == want : scale->dims[d] == x->dims[d];
    if (!ok)
      {
        g_autofree char *ss = lathe_shape_to_string (scale->ndim, scale->dims);
        g_autofree char *xs = lathe_shape_to_string (x->ndim, x->dims);
        lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                              "blocked x_scale %s does not fit x %s with axis %u and block_size %"
                              G_GINT64_FORMAT " (axis %u must be %" G_GSIZE_FORMAT ")",
                              ss, xs, axis, p->block_size, axis, want);
        return FALSE;
      }
    l->block = (gsize) p->block_size;
  }
  return TRUE;
}

static gboolean
dequantize_infer (LatheNode    *node,
                  LatheTensor **inputs,
                  LatheTensor **outputs,
                  gsize        *workspace,
                  GError      **error)
{
  DequantizeLayout l;

  if (!dequantize_layout (node, inputs, &l, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, inputs[0]->ndim, inputs[0]->dims);
  return TRUE;
}

static gboolean
dequantize_run (LatheNode    *node,
                LatheTensor **inputs,
                LatheTensor **outputs,
                gpointer      workspace,
                GError      **error)
{
  DequantizeLayout l;
  const LatheTensor *zp = node->n_inputs > 2 ? inputs[2] : NULL;

  if (!dequantize_layout (node, inputs, &l, error))
    return FALSE;
  _lathe_quant_dequantize_f32 (outputs[0]->data, inputs[0]->data, inputs[0]->dtype,
                               inputs[1]->data, zp ? zp->data : NULL, l.outer, l.len, l.inner, l.block);
  return TRUE;
}

static const int dequantize_versions[] = { 10, 13, 19, 21, 0 };

static const LatheOpDef op_dequantize_linear = {
  .op_type = "DequantizeLinear",
  .versions = dequantize_versions,
  .min_inputs = 2,
  .max_inputs = 3,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = dequantize_setup,
  .infer = dequantize_infer,
  .run = dequantize_run,
};

const LatheOpDef * const _lathe_ops_quant[] = {
  &op_dequantize_linear,
  NULL
};
