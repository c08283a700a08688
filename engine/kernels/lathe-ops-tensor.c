/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

/* Shape and data-movement operators, part two: Concat, Gather, Slice,
 * Constant, ConstantOfShape and Cast. Their definitions are listed in the
 * `shape` group's table in lathe-ops-shape.c. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-ops-private.h"

#define set_invalid(error, node, ...) \
  lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID, __VA_ARGS__)
#define set_shape_error(error, node, ...) \
  lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE, __VA_ARGS__)

static gsize
prod_dims (const gint64 *dims,
           guint         from,
           guint         to)
{
  gsize n = 1;

  for (guint d = from; d < to; d++)
    n *= (gsize) dims[d];
  return n;
}

typedef struct {
  gint64 axis;
} AxisParams;

/* ---------------------------------------------------------------------- */
/* Concat                                                                  */

/* Reads the 'axis' attribute (default_axis when absent) into node->params;
 * negative axes arrived at opset 11. */
static gboolean
axis_setup (LatheNode  *node,
            gint64      default_axis,
            GError    **error)
{
  AxisParams *p = g_new0 (AxisParams, 1);

  node->params = p;
  node->params_free = g_free;
  p->axis = lathe_node_get_int (node, "axis", default_axis);
  if (p->axis < 0 && node->since < 11)
    {
      set_invalid (error, node, "negative axis %" G_GINT64_FORMAT " needs opset 11", p->axis);
      return FALSE;
    }
  return TRUE;
}

static gboolean
concat_setup (LatheNode  *node,
              GError    **error)
{
  /* axis became required at opset 4; Concat-1 defaulted to 1 */
  if (node->since >= 4 && lathe_node_get_attr (node, "axis") == NULL)
    {
      set_invalid (error, node, "the 'axis' attribute is required at opset %d", node->since);
      return FALSE;
    }
  return axis_setup (node, 1, error);
}

static gboolean
concat_infer (LatheNode     *node,
              LatheTensor  **inputs,
              LatheTensor  **outputs,
              gsize         *workspace,
              GError       **error)
{
  AxisParams *p = node->params;
  LatheTensor *first = inputs[0];
  gint64 dims[LATHE_MAX_DIMS];
  guint axis;

  if (!_lathe_shape_check_storable (node, first, error))
    return FALSE;
  if (first->ndim == 0)
    {
      set_shape_error (error, node, "cannot concatenate scalars");
      return FALSE;
    }
  if (!lathe_normalize_axis (node, p->axis, first->ndim, &axis, error))
    return FALSE;

  memcpy (dims, first->dims, first->ndim * sizeof (gint64));
  dims[axis] = 0;
  for (guint i = 0; i < node->n_inputs; i++)
    {
      LatheTensor *t = inputs[i];
      gboolean fits;

      if (t == NULL)
        {
          set_invalid (error, node, "input %u is missing", i);
          return FALSE;
        }
      if (t->dtype != first->dtype)
        {
          set_shape_error (error, node, "input %u is %s, input 0 is %s", i,
                           lathe_dtype_name (t->dtype), lathe_dtype_name (first->dtype));
          return FALSE;
        }
      fits = t->ndim == first->ndim;
      for (guint d = 0; fits && d < t->ndim; d++)
        if (d != axis && t->dims[d] != first->dims[d])
          fits = FALSE;
      if (!fits)
        {
          g_autofree char *a = lathe_shape_to_string (first->ndim, first->dims);
          g_autofree char *b = lathe_shape_to_string (t->ndim, t->dims);
          set_shape_error (error, node, "input %u of shape %s does not fit input 0 of shape %s"
                           " along axis %u", i, b, a, axis);
          return FALSE;
        }
      dims[axis] += t->dims[axis];
    }

  lathe_tensor_set_meta (outputs[0], first->dtype, first->ndim, dims);
  return TRUE;
}

static gboolean
concat_run (LatheNode     *node,
            LatheTensor  **inputs,
            LatheTensor  **outputs,
            gpointer       workspace,
            GError       **error)
{
  LatheTensor *out = outputs[0];
  gsize esize = lathe_dtype_size (out->dtype);
  guint axis;
  gsize outer, inner;
  guint8 *dst = out->data;

  if (out->n == 0)
    return TRUE;
  lathe_normalize_axis (node, ((AxisParams *) node->params)->axis, out->ndim, &axis, NULL);
  outer = prod_dims (out->dims, 0, axis);
  inner = prod_dims (out->dims, axis + 1, out->ndim) * esize;

  /* each outer slice is the inputs' slabs one after the other */
  for (gsize o = 0; o < outer; o++)
    for (guint i = 0; i < node->n_inputs; i++)
      {
        gsize chunk = (gsize) inputs[i]->dims[axis] * inner;

        if (chunk == 0)
          continue;
        memcpy (dst, (const guint8 *) inputs[i]->data + o * chunk, chunk);
        dst += chunk;
      }
  return TRUE;
}

static const int concat_versions[] = { 1, 4, 11, 13, 0 };

const LatheOpDef _lathe_op_concat = {
  .op_type = "Concat",
  .versions = concat_versions,
  .min_inputs = 1,
  .max_inputs = G_MAXINT,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = concat_setup,
  .infer = concat_infer,
  .run = concat_run,
};

/* ---------------------------------------------------------------------- */
/* Gather                                                                  */

static gboolean
gather_setup (LatheNode  *node,
              GError    **error)
{
  return axis_setup (node, 0, error);
}

static inline gint64
index_at (const LatheTensor *indices,
          gsize              k)
{
  return indices->dtype == LATHE_DTYPE_INT64 ? ((const gint64 *) indices->data)[k]
                                             : ((const gint32 *) indices->data)[k];
}

/* Every index must lie in [-dim, dim - 1]; checked before anything is
 * written so a bad index leaves no half-filled output. */
static gboolean
gather_check_indices (LatheNode         *node,
                      const LatheTensor *indices,
                      gint64             dim,
                      GError           **error)
{
  for (gsize k = 0; k < indices->n; k++)
    {
      gint64 idx = index_at (indices, k);

      if (idx < -dim || idx >= dim)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_VALUE,
                                "index %" G_GINT64_FORMAT " (indices[%" G_GSIZE_FORMAT "]) is out"
                                " of range for an axis of size %" G_GINT64_FORMAT, idx, k, dim);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
gather_infer (LatheNode     *node,
              LatheTensor  **inputs,
              LatheTensor  **outputs,
              gsize         *workspace,
              GError       **error)
{
  AxisParams *p = node->params;
  LatheTensor *x = inputs[0];
  LatheTensor *indices = inputs[1];
  gint64 dims[LATHE_MAX_DIMS];
  guint axis, r = 0;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  if (indices->dtype != LATHE_DTYPE_INT64 && indices->dtype != LATHE_DTYPE_INT32)
    {
      lathe_node_unsupported_type (error, node, indices->dtype);
      return FALSE;
    }
  if (x->ndim == 0)
    {
      set_shape_error (error, node, "cannot gather from a scalar");
      return FALSE;
    }
  if (!lathe_normalize_axis (node, p->axis, x->ndim, &axis, error))
    return FALSE;
  if (x->ndim - 1 + indices->ndim > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "the result would have rank %u, at most %d is supported",
                       x->ndim - 1 + indices->ndim, LATHE_MAX_DIMS);
      return FALSE;
    }
  /* constant indices can be checked once, now */
  if (indices->data != NULL && !gather_check_indices (node, indices, x->dims[axis], error))
    return FALSE;

  for (guint d = 0; d < axis; d++)
    dims[r++] = x->dims[d];
  for (guint d = 0; d < indices->ndim; d++)
    dims[r++] = indices->dims[d];
  for (guint d = axis + 1; d < x->ndim; d++)
    dims[r++] = x->dims[d];
  lathe_tensor_set_meta (outputs[0], x->dtype, r, dims);
  return TRUE;
}

static gboolean
gather_run (LatheNode     *node,
            LatheTensor  **inputs,
            LatheTensor  **outputs,
            gpointer       workspace,
            GError       **error)
{
  LatheTensor *x = inputs[0];
  LatheTensor *indices = inputs[1];
  gsize esize = lathe_dtype_size (x->dtype);
  guint axis;
  gint64 dim;
  gsize outer, inner, n_idx = indices->n;
  const guint8 *src = x->data;
  guint8 *dst = outputs[0]->data;

  lathe_normalize_axis (node, ((AxisParams *) node->params)->axis, x->ndim, &axis, NULL);
  dim = x->dims[axis];
  if (!gather_check_indices (node, indices, dim, error))
    return FALSE;
  if (outputs[0]->n == 0)
    return TRUE;

  outer = prod_dims (x->dims, 0, axis);
  inner = prod_dims (x->dims, axis + 1, x->ndim) * esize;
  for (gsize o = 0; o < outer; o++)
    {
      const guint8 *slab = src + o * (gsize) dim * inner;

      for (gsize k = 0; k < n_idx; k++)
        {
          gint64 idx = index_at (indices, k);

          if (idx < 0)
            idx += dim;
          memcpy (dst, slab + (gsize) idx * inner, inner);
          dst += inner;
        }
    }
  return TRUE;
}

static const int gather_versions[] = { 1, 11, 13, 0 };

const LatheOpDef _lathe_op_gather = {
  .op_type = "Gather",
  .versions = gather_versions,
  .min_inputs = 2,
  .max_inputs = 2,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = gather_setup,
  .infer = gather_infer,
  .run = gather_run,
};

/* ---------------------------------------------------------------------- */
/* Slice                                                                   */

typedef struct {
  /* opset 1 attributes; from opset 10 these come from constant inputs */
  gsize  n;
  gint64 starts[LATHE_MAX_DIMS];
  gint64 ends[LATHE_MAX_DIMS];
  gint64 axes[LATHE_MAX_DIMS];
  gboolean has_axes;
} SliceParams;

/* Where the slice starts, how it steps and how many elements it takes
 * along every axis of the input. */
typedef struct {
  gint64 start[LATHE_MAX_DIMS];
  gint64 step[LATHE_MAX_DIMS];
  gint64 len[LATHE_MAX_DIMS];
} SlicePlan;

static gboolean
slice_setup (LatheNode  *node,
             GError    **error)
{
  SliceParams *p = g_new0 (SliceParams, 1);
  const gint64 *starts, *ends, *axes = NULL;
  gsize n_starts, n_ends, n_axes = 0;

  node->params = p;
  node->params_free = g_free;

  if (node->since >= 10)
    {
      if (node->n_inputs < 3)
        {
          set_invalid (error, node, "%u inputs given, version %d of the op takes 3 to 5",
                       node->n_inputs, node->since);
          return FALSE;
        }
      return TRUE;
    }

  if (node->n_inputs != 1)
    {
      set_invalid (error, node, "%u inputs given, version %d of the op takes 1",
                   node->n_inputs, node->since);
      return FALSE;
    }
  if (lathe_node_get_attr (node, "starts") == NULL || lathe_node_get_attr (node, "ends") == NULL)
    {
      set_invalid (error, node, "the 'starts' and 'ends' attributes are required at opset %d",
                   node->since);
      return FALSE;
    }
  starts = lathe_node_get_ints (node, "starts", &n_starts);
  ends = lathe_node_get_ints (node, "ends", &n_ends);
  if (lathe_node_get_attr (node, "axes") != NULL)
    {
      axes = lathe_node_get_ints (node, "axes", &n_axes);
      p->has_axes = TRUE;
    }
  if (n_starts != n_ends || (p->has_axes && n_axes != n_starts))
    {
      set_invalid (error, node, "starts, ends and axes have %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                   " and %" G_GSIZE_FORMAT " values", n_starts, n_ends, p->has_axes ? n_axes : n_starts);
      return FALSE;
    }
  if (n_starts > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "%" G_GSIZE_FORMAT " sliced axes, at most %d are supported",
                       n_starts, LATHE_MAX_DIMS);
      return FALSE;
    }
  p->n = n_starts;
  for (gsize i = 0; i < p->n; i++)
    {
      p->starts[i] = starts[i];
      p->ends[i] = ends[i];
      p->axes[i] = axes != NULL ? axes[i] : (gint64) i;
    }
  return TRUE;
}

/* Reads the constant ends, axes or steps input, which must hold as many
 * values as starts (n). */
static gboolean
slice_read_input (LatheNode          *node,
                  const LatheTensor  *t,
                  const char         *what,
                  gsize               n,
                  gint64            **values,
                  GError            **error)
{
  gsize got;

  if (!_lathe_shape_read_ints (node, t, what, values, &got, error))
    return FALSE;
  if (got != n)
    {
      set_shape_error (error, node, "starts has %" G_GSIZE_FORMAT " values, %s %" G_GSIZE_FORMAT,
                       n, what, got);
      return FALSE;
    }
  return TRUE;
}

/* Works out the plan from the attributes (opset 1) or the constant inputs.
 * Called from infer() and again from run(), since one node serves plans
 * for several input shapes. Clamping follows the spec: negative starts and
 * ends count from the back; with a positive step both are clamped to
 * [0, dim], with a negative one start to [0, dim-1] and end to [-1, dim-1]. */
static gboolean
slice_plan (LatheNode          *node,
            LatheTensor       **inputs,
            SlicePlan          *plan,
            GError            **error)
{
  SliceParams *p = node->params;
  LatheTensor *x = inputs[0];
  g_autofree gint64 *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL;
  gsize n;
  gboolean seen[LATHE_MAX_DIMS] = { FALSE };

  for (guint d = 0; d < x->ndim; d++)
    {
      plan->start[d] = 0;
      plan->step[d] = 1;
      plan->len[d] = x->dims[d];
    }

  if (node->since < 10)
    {
      n = p->n;
      starts = g_memdup2 (p->starts, sizeof p->starts);
      ends = g_memdup2 (p->ends, sizeof p->ends);
      axes = g_memdup2 (p->axes, sizeof p->axes);
    }
  else
    {
      if (!_lathe_shape_read_ints (node, inputs[1], "starts", &starts, &n, error) ||
          !slice_read_input (node, inputs[2], "ends", n, &ends, error))
        return FALSE;
      if (node->n_inputs > 3 && inputs[3] != NULL &&
          !slice_read_input (node, inputs[3], "axes", n, &axes, error))
        return FALSE;
      if (node->n_inputs > 4 && inputs[4] != NULL &&
          !slice_read_input (node, inputs[4], "steps", n, &steps, error))
        return FALSE;
    }

  if (n > x->ndim)
    {
      set_shape_error (error, node, "%" G_GSIZE_FORMAT " sliced axes for a rank-%u input", n, x->ndim);
      return FALSE;
    }

  for (gsize i = 0; i < n; i++)
    {
      gint64 a = axes != NULL ? axes[i] : (gint64) i;
      gint64 step = steps != NULL ? steps[i] : 1;
      guint axis;
      gint64 dim, s, e;
      guint64 ustep;

      if (!lathe_normalize_axis (node, a, x->ndim, &axis, error))
        return FALSE;
      if (seen[axis])
        {
          set_shape_error (error, node, "axis %u is sliced twice", axis);
          return FALSE;
        }
      seen[axis] = TRUE;
      if (step == 0)
        {
          set_shape_error (error, node, "steps[%" G_GSIZE_FORMAT "] is 0", i);
          return FALSE;
        }

      dim = x->dims[axis];
      s = starts[i] < 0 ? starts[i] + dim : starts[i];
      e = ends[i] < 0 ? ends[i] + dim : ends[i];
      /* unsigned step magnitude: -G_MININT64 does not fit a gint64 */
      ustep = step > 0 ? (guint64) step : (guint64) 0 - (guint64) step;
      if (step > 0)
        {
          s = CLAMP (s, 0, dim);
          e = CLAMP (e, 0, dim);
          plan->len[axis] = e > s ? (gint64) ((guint64) (e - s - 1) / ustep + 1) : 0;
        }
      else
        {
          s = CLAMP (s, 0, dim - 1);
          e = CLAMP (e, -1, dim - 1);
          plan->len[axis] = s > e ? (gint64) ((guint64) (s - e - 1) / ustep + 1) : 0;
        }
      plan->start[axis] = s;
      /* a step longer than the axis takes one element: keep it in range */
      plan->step[axis] = plan->len[axis] > 1 ? step : (step > 0 ? 1 : -1);
    }
  return TRUE;
}

static gboolean
slice_infer (LatheNode     *node,
             LatheTensor  **inputs,
             LatheTensor  **outputs,
             gsize         *workspace,
             GError       **error)
{
  LatheTensor *x = inputs[0];
  SlicePlan plan;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  if (!slice_plan (node, inputs, &plan, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], x->dtype, x->ndim, plan.len);
  return TRUE;
}

#define STRIDED_COPY(T)                                                         \
  G_STMT_START {                                                                \
    const T *s = (const T *) src;                                               \
    T *d = (T *) dst;                                                           \
    for (gint64 i = 0; i < n; i++)                                              \
      d[i] = s[i * step];                                                       \
  } G_STMT_END

/* dst[i] = src[i * step] for n elements (step may be negative). */
static void
strided_copy (const guint8 *src,
              guint8       *dst,
              gsize         esize,
              gint64        n,
              gint64        step)
{
  if (step == 1)
    {
      memcpy (dst, src, (gsize) n * esize);
      return;
    }
  switch (esize)
    {
    case 1: STRIDED_COPY (guint8); break;
    case 2: STRIDED_COPY (guint16); break;
    case 4: STRIDED_COPY (guint32); break;
    case 8: STRIDED_COPY (guint64); break;
    default:
      for (gint64 i = 0; i < n; i++)
        memcpy (dst + i * (gint64) esize, src + i * step * (gint64) esize, esize);
      break;
    }
}

static gboolean
slice_run (LatheNode     *node,
           LatheTensor  **inputs,
           LatheTensor  **outputs,
           gpointer       workspace,
           GError       **error)
{
  LatheTensor *x = inputs[0];
  LatheTensor *out = outputs[0];
  gsize esize = lathe_dtype_size (x->dtype);
  SlicePlan plan;
  gint64 istride[LATHE_MAX_DIMS], jump[LATHE_MAX_DIMS], idx[LATHE_MAX_DIMS] = { 0 };
  gint64 off = 0, s = 1, row;
  guint r = x->ndim, last;
  guint8 *dst = out->data;

  if (out->n == 0)
    return TRUE;
  if (r == 0)
    {
      memcpy (out->data, x->data, esize);
      return TRUE;
    }
  if (!slice_plan (node, inputs, &plan, error))
    return FALSE;

  for (guint d = r; d-- > 0;)
    {
      istride[d] = s;
      s *= x->dims[d];
      off += plan.start[d] * istride[d];
      jump[d] = plan.step[d] * istride[d];
    }

  /* odometer over the outer axes, one strided row at a time */
  last = r - 1;
  row = plan.len[last];
  for (;;)
    {
      guint k = last;

      strided_copy ((const guint8 *) x->data + off * (gint64) esize, dst, esize, row, plan.step[last]);
      dst += row * (gint64) esize;
      while (k > 0)
        {
          k--;
          off += jump[k];
          if (++idx[k] < plan.len[k])
            break;
          off -= jump[k] * plan.len[k];
          idx[k] = 0;
          if (k == 0)
            return TRUE;
        }
      if (last == 0)
        return TRUE;
    }
}

static const int slice_versions[] = { 1, 10, 11, 13, 0 };

const LatheOpDef _lathe_op_slice = {
  .op_type = "Slice",
  .versions = slice_versions,
  .min_inputs = 1,
  .max_inputs = 5,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4),
  .setup = slice_setup,
  .infer = slice_infer,
  .run = slice_run,
};

/* ---------------------------------------------------------------------- */
/* Constant                                                                */

/* The 'value' attribute of Constant and ConstantOfShape: a tensor of a
 * storable type. */
static gboolean
check_value_tensor (LatheNode        *node,
                    const LatheAttr  *attr,
                    GError          **error)
{
  if (attr->type != LATHE_ATTR_TENSOR || attr->t == NULL)
    {
      set_invalid (error, node, "attribute 'value' is not a tensor");
      return FALSE;
    }
  return _lathe_shape_check_storable (node, attr->t, error);
}

static gboolean
constant_setup (LatheNode  *node,
                GError    **error)
{
  static const char * const names[] = {
    "value", "sparse_value", "value_float", "value_floats",
    "value_int", "value_ints", "value_string", "value_strings",
  };
  const LatheAttr *attr = NULL;
  LatheTensor *t = NULL;
  guint found = 0;

  /* the value_* shorthands arrived at opset 12, sparse_value at 11 */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const LatheAttr *a = lathe_node_get_attr (node, names[i]);

      if (a == NULL)
        continue;
      if ((i == 1 && node->since < 11) || (i >= 2 && node->since < 12))
        {
          set_invalid (error, node, "attribute '%s' needs opset %d", names[i], i == 1 ? 11 : 12);
          return FALSE;
        }
      attr = a;
      found++;
    }
  if (found != 1)
    {
      set_invalid (error, node, "exactly one value attribute is required, %u given", found);
      return FALSE;
    }

  if (g_str_equal (attr->name, "value"))
    {
      if (!check_value_tensor (node, attr, error))
        return FALSE;
      t = lathe_tensor_ref (attr->t);
    }
  else if (g_str_equal (attr->name, "sparse_value"))
    {
      lathe_node_unsupported_attr (error, node, "sparse_value (sparse tensors are not supported)");
      return FALSE;
    }
  else if (g_str_equal (attr->name, "value_string") || g_str_equal (attr->name, "value_strings"))
    {
      lathe_node_unsupported_type (error, node, LATHE_DTYPE_STRING);
      return FALSE;
    }
  else if (g_str_equal (attr->name, "value_float") && attr->type == LATHE_ATTR_FLOAT)
    t = lathe_tensor_new_scalar_float (attr->f);
  else if (g_str_equal (attr->name, "value_int") && attr->type == LATHE_ATTR_INT)
    {
      t = lathe_tensor_new (LATHE_DTYPE_INT64, 0, NULL);
      lathe_tensor_i64 (t)[0] = attr->i;
    }
  else if (g_str_equal (attr->name, "value_floats") && attr->type == LATHE_ATTR_FLOATS)
    {
      gint64 n = (gint64) attr->n_floats;
      t = lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, &n);
      if (n > 0)
        memcpy (t->data, attr->floats, attr->n_floats * sizeof (float));
    }
  else if (g_str_equal (attr->name, "value_ints") && attr->type == LATHE_ATTR_INTS)
    {
      gint64 n = (gint64) attr->n_ints;
      t = lathe_tensor_new (LATHE_DTYPE_INT64, 1, &n);
      if (n > 0)
        memcpy (t->data, attr->ints, attr->n_ints * sizeof (gint64));
    }
  else
    {
      set_invalid (error, node, "attribute '%s' has the wrong type", attr->name);
      return FALSE;
    }

  node->params = t;
  node->params_free = (GDestroyNotify) lathe_tensor_unref;
  return TRUE;
}

static gboolean
constant_infer (LatheNode     *node,
                LatheTensor  **inputs,
                LatheTensor  **outputs,
                gsize         *workspace,
                GError       **error)
{
  LatheTensor *t = node->params;

  lathe_tensor_set_meta (outputs[0], t->dtype, t->ndim, t->dims);
  return TRUE;
}

static gboolean
constant_run (LatheNode     *node,
              LatheTensor  **inputs,
              LatheTensor  **outputs,
              gpointer       workspace,
              GError       **error)
{
  LatheTensor *t = node->params;
  gsize nbytes = lathe_tensor_nbytes (t);

  if (nbytes > 0)
    memcpy (outputs[0]->data, t->data, nbytes);
  return TRUE;
}

static const int constant_versions[] = { 1, 9, 11, 12, 13, 19, 21, 23, 24, 25, 0 };

const LatheOpDef _lathe_op_constant = {
  .op_type = "Constant",
  .versions = constant_versions,
  .min_inputs = 0,
  .max_inputs = 0,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = constant_setup,
  .infer = constant_infer,
  .run = constant_run,
};

/* ---------------------------------------------------------------------- */
/* ConstantOfShape                                                         */

static gboolean
constant_of_shape_setup (LatheNode  *node,
                         GError    **error)
{
  const LatheAttr *attr = lathe_node_get_attr (node, "value");
  LatheTensor *value;

  if (attr == NULL)
    {
      /* the default is a float 0 */
      value = lathe_tensor_new_scalar_float (0.f);
    }
  else
    {
      if (!check_value_tensor (node, attr, error))
        return FALSE;
      if (attr->t->n != 1)
        {
          set_invalid (error, node, "attribute 'value' must hold one element, it holds %" G_GSIZE_FORMAT,
                       attr->t->n);
          return FALSE;
        }
      value = lathe_tensor_ref (attr->t);
    }
  node->params = value;
  node->params_free = (GDestroyNotify) lathe_tensor_unref;
  return TRUE;
}

static gboolean
constant_of_shape_infer (LatheNode     *node,
                         LatheTensor  **inputs,
                         LatheTensor  **outputs,
                         gsize         *workspace,
                         GError       **error)
{
  LatheTensor *value = node->params;
  LatheTensor *shape = inputs[0];
  g_autofree gint64 *dims = NULL;
  gsize n;

  if (shape->dtype != LATHE_DTYPE_INT64)
    {
      lathe_node_unsupported_type (error, node, shape->dtype);
      return FALSE;
    }
  if (!_lathe_shape_read_ints (node, shape, "shape", &dims, &n, error))
    return FALSE;
  if (!_lathe_shape_check_rank (node, n, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (dims[i] < 0)
      {
        set_shape_error (error, node, "shape[%" G_GSIZE_FORMAT "] is negative (%" G_GINT64_FORMAT ")",
                         i, dims[i]);
        return FALSE;
      }
  lathe_tensor_set_meta (outputs[0], value->dtype, (guint) n, dims);
  return TRUE;
}

static gboolean
constant_of_shape_run (LatheNode     *node,
                       LatheTensor  **inputs,
                       LatheTensor  **outputs,
                       gpointer       workspace,
                       GError       **error)
{
  LatheTensor *value = node->params;
  LatheTensor *out = outputs[0];
  gsize esize = lathe_dtype_size (value->dtype);
  gsize total = lathe_tensor_nbytes (out);
  gboolean zero = TRUE;

  if (total == 0)
    return TRUE;
  for (gsize b = 0; b < esize; b++)
    zero = zero && ((const guint8 *) value->data)[b] == 0;
  if (zero)
    {
      memset (out->data, 0, total);
      return TRUE;
    }
  /* one element, then doubling copies */
  memcpy (out->data, value->data, esize);
  for (gsize filled = esize; filled < total;)
    {
      gsize chunk = MIN (filled, total - filled);
      memcpy ((guint8 *) out->data + filled, out->data, chunk);
      filled += chunk;
    }
  return TRUE;
}

static const int constant_of_shape_versions[] = { 9, 20, 21, 23, 24, 25, 0 };

const LatheOpDef _lathe_op_constant_of_shape = {
  .op_type = "ConstantOfShape",
  .versions = constant_of_shape_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = 1u << 0,
  .setup = constant_of_shape_setup,
  .infer = constant_of_shape_infer,
  .run = constant_of_shape_run,
};

/* ---------------------------------------------------------------------- */
/* Cast                                                                    */

/* Numeric semantics follow numpy's astype on x86-64, where the ONNX
 * reference outputs come from: float to integer truncates toward zero;
 * out of range (which ONNX leaves undefined) gives what the x86 convert
 * instructions give, without relying on C's undefined behaviour; anything
 * to bool is `!= 0` (so NaN is true); to float16 rounds to nearest even. */

static gboolean
cast_supported (LatheDType t)
{
  switch (t)
    {
    case LATHE_DTYPE_FLOAT:
    case LATHE_DTYPE_FLOAT16:
    case LATHE_DTYPE_DOUBLE:
    case LATHE_DTYPE_INT8:
    case LATHE_DTYPE_UINT8:
    case LATHE_DTYPE_INT16:
    case LATHE_DTYPE_UINT16:
    case LATHE_DTYPE_INT32:
    case LATHE_DTYPE_INT64:
    case LATHE_DTYPE_UINT32:
    case LATHE_DTYPE_UINT64:
    case LATHE_DTYPE_BOOL:
      return TRUE;
    default:
      return FALSE;
    }
}

/* cvttsd2si with a 32-bit destination: out of range and NaN give INT32_MIN. */
static inline gint32
trunc_i32 (double x)
{
  if (!(x > -2147483649.0 && x < 2147483648.0))
    return G_MININT32;
  return (gint32) x;
}

/* cvttsd2si with a 64-bit destination. */
static inline gint64
trunc_i64 (double x)
{
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    return G_MININT64;
  return (gint64) x;
}

static inline guint64
trunc_u64 (double x)
{
  /* above 2^63 compilers subtract 2^63 first, then set the top bit */
  if (x >= 9223372036854775808.0)
    return (guint64) trunc_i64 (x - 9223372036854775808.0) ^ G_GUINT64_CONSTANT (0x8000000000000000);
  return (guint64) trunc_i64 (x);
}

/* double → half without double rounding: round to odd into float first
 * (13 spare bits make the second rounding exact), then to nearest even. */
static guint16
double_to_half (double x)
{
  float f = (float) x;

  if ((double) f != x && isfinite (f) && !isnan (x))
    {
      guint32 bits;

      if (fabs ((double) f) > fabs (x))
        f = nextafterf (f, 0.f);
      memcpy (&bits, &f, sizeof bits);
      bits |= 1;
      memcpy (&f, &bits, sizeof bits);
    }
  return lathe_float_to_half (f);
}

/* Conversions into each destination from the three kinds of source value;
 * integer sources arrive widened exactly to gint64 / guint64. */
#define F_FLOAT(x)    ((float) (x))
#define F_DOUBLE(x)   ((double) (x))
#define F_HALF_F(x)   lathe_float_to_half ((float) (x))
#define F_HALF_D(x)   double_to_half (x)
/* below 2^24 an integer is exact in float; above it is beyond half's range */
#define F_HALF_I(x)   lathe_float_to_half ((float) (x))
#define F_BOOL(x)     ((guint8) ((x) != 0))
#define F_I8_F(x)     ((gint8) trunc_i32 (x))
#define F_U8_F(x)     ((guint8) trunc_i32 (x))
#define F_I16_F(x)    ((gint16) trunc_i32 (x))
#define F_U16_F(x)    ((guint16) trunc_i32 (x))
#define F_I32_F(x)    trunc_i32 (x)
#define F_U32_F(x)    ((guint32) trunc_i64 (x))
#define F_I64_F(x)    trunc_i64 (x)
#define F_U64_F(x)    trunc_u64 (x)

#define CAST_LOOP(ST, LOAD, STORE)                                              \
  G_STMT_START {                                                                \
    const ST *s = (const ST *) src;                                             \
    for (gsize i = 0; i < n; i++)                                               \
      d[i] = STORE (LOAD (s[i]));                                               \
  } G_STMT_END

#define ID(x)        (x)
#define HALF_LOAD(x) lathe_half_to_float (x)
#define BOOL_LOAD(x) ((gint64) ((x) != 0))

/* One destination type: a switch over every source type. FROM_F converts a
 * float/half source (as float), FROM_D a double, FROM_I an integer. */
#define DEFINE_CAST_TO(NAME, DT, FROM_F, FROM_D, FROM_I)                         \
static void                                                                     \
cast_to_##NAME (LatheDType    st,                                               \
                const void   *src,                                              \
                void         *dst,                                              \
                gsize         n)                                                \
{                                                                               \
  DT *d = dst;                                                                  \
  switch (st)                                                                   \
    {                                                                           \
    case LATHE_DTYPE_FLOAT:   CAST_LOOP (float, ID, FROM_F); break;             \
    case LATHE_DTYPE_FLOAT16: CAST_LOOP (guint16, HALF_LOAD, FROM_F); break;    \
    case LATHE_DTYPE_DOUBLE:  CAST_LOOP (double, ID, FROM_D); break;            \
    case LATHE_DTYPE_INT8:    CAST_LOOP (gint8, ID, FROM_I); break;             \
    case LATHE_DTYPE_UINT8:   CAST_LOOP (guint8, ID, FROM_I); break;            \
    case LATHE_DTYPE_INT16:   CAST_LOOP (gint16, ID, FROM_I); break;            \
    case LATHE_DTYPE_UINT16:  CAST_LOOP (guint16, ID, FROM_I); break;           \
    case LATHE_DTYPE_INT32:   CAST_LOOP (gint32, ID, FROM_I); break;            \
    case LATHE_DTYPE_INT64:   CAST_LOOP (gint64, ID, FROM_I); break;            \
    case LATHE_DTYPE_UINT32:  CAST_LOOP (guint32, ID, FROM_I); break;           \
    case LATHE_DTYPE_UINT64:  CAST_LOOP (guint64, ID, FROM_I); break;           \
    case LATHE_DTYPE_BOOL:    CAST_LOOP (guint8, BOOL_LOAD, FROM_I); break;     \
    default: g_assert_not_reached ();                                           \
    }                                                                           \
}

/* Integer to integer is C's conversion, which GCC defines as modular. */
DEFINE_CAST_TO (float,  float,   F_FLOAT,  F_FLOAT,  F_FLOAT)
DEFINE_CAST_TO (double, double,  F_DOUBLE, F_DOUBLE, F_DOUBLE)
DEFINE_CAST_TO (half,   guint16, F_HALF_F, F_HALF_D, F_HALF_I)
DEFINE_CAST_TO (bool,   guint8,  F_BOOL,   F_BOOL,   F_BOOL)
DEFINE_CAST_TO (i8,     gint8,   F_I8_F,   F_I8_F,   (gint8))
DEFINE_CAST_TO (u8,     guint8,  F_U8_F,   F_U8_F,   (guint8))
DEFINE_CAST_TO (i16,    gint16,  F_I16_F,  F_I16_F,  (gint16))
DEFINE_CAST_TO (u16,    guint16, F_U16_F,  F_U16_F,  (guint16))
DEFINE_CAST_TO (i32,    gint32,  F_I32_F,  F_I32_F,  (gint32))
DEFINE_CAST_TO (u32,    guint32, F_U32_F,  F_U32_F,  (guint32))
DEFINE_CAST_TO (i64,    gint64,  F_I64_F,  F_I64_F,  (gint64))
DEFINE_CAST_TO (u64,    guint64, F_U64_F,  F_U64_F,  (guint64))

static void
cast_array (LatheDType  st,
            const void *src,
            LatheDType  dt,
            void       *dst,
            gsize       n)
{
  if (st == dt)
    {
      memcpy (dst, src, n * lathe_dtype_size (st));
      return;
    }
  switch (dt)
    {
    case LATHE_DTYPE_FLOAT:   cast_to_float (st, src, dst, n); break;
    case LATHE_DTYPE_DOUBLE:  cast_to_double (st, src, dst, n); break;
    case LATHE_DTYPE_FLOAT16: cast_to_half (st, src, dst, n); break;
    case LATHE_DTYPE_BOOL:    cast_to_bool (st, src, dst, n); break;
    case LATHE_DTYPE_INT8:    cast_to_i8 (st, src, dst, n); break;
    case LATHE_DTYPE_UINT8:   cast_to_u8 (st, src, dst, n); break;
    case LATHE_DTYPE_INT16:   cast_to_i16 (st, src, dst, n); break;
    case LATHE_DTYPE_UINT16:  cast_to_u16 (st, src, dst, n); break;
    case LATHE_DTYPE_INT32:   cast_to_i32 (st, src, dst, n); break;
    case LATHE_DTYPE_UINT32:  cast_to_u32 (st, src, dst, n); break;
    case LATHE_DTYPE_INT64:   cast_to_i64 (st, src, dst, n); break;
    case LATHE_DTYPE_UINT64:  cast_to_u64 (st, src, dst, n); break;
    default: g_assert_not_reached ();
    }
}

typedef struct {
  LatheDType to;
} CastParams;

static gboolean
cast_setup (LatheNode  *node,
            GError    **error)
{
  const LatheAttr *to = lathe_node_get_attr (node, "to");
  CastParams *p;
  LatheDType dt = LATHE_DTYPE_UNDEFINED;

  if (to == NULL)
    {
      set_invalid (error, node, "the 'to' attribute is required");
      return FALSE;
    }
  if (to->type == LATHE_ATTR_STRING)
    {
      /* Cast-1 named the type as a string: "FLOAT", "INT64"… */
      for (int t = 1; t < LATHE_DTYPE_COUNT; t++)
        if (g_ascii_strcasecmp (to->s, lathe_dtype_name ((LatheDType) t)) == 0)
          dt = (LatheDType) t;
      if (dt == LATHE_DTYPE_UNDEFINED)
        {
          set_invalid (error, node, "'to' names no data type: '%s'", to->s);
          return FALSE;
        }
    }
  else if (to->type == LATHE_ATTR_INT)
    {
      if (to->i <= 0 || to->i >= LATHE_DTYPE_COUNT)
        {
          lathe_node_unsupported_attr (error, node, "to=%" G_GINT64_FORMAT, to->i);
          return FALSE;
        }
      dt = (LatheDType) to->i;
    }
  else
    {
      set_invalid (error, node, "attribute 'to' has the wrong type");
      return FALSE;
    }

  if (!cast_supported (dt))
    {
      lathe_node_unsupported_type (error, node, dt);
      return FALSE;
    }
  /* saturate (opset 19) and round_mode (opset 24) only concern float8
   * targets, which are refused above. */

  p = g_new0 (CastParams, 1);
  p->to = dt;
  node->params = p;
  node->params_free = g_free;
  return TRUE;
}

static gboolean
cast_infer (LatheNode     *node,
            LatheTensor  **inputs,
            LatheTensor  **outputs,
            gsize         *workspace,
            GError       **error)
{
  CastParams *p = node->params;
  LatheTensor *x = inputs[0];

  if (!cast_supported (x->dtype))
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  lathe_tensor_set_meta (outputs[0], p->to, x->ndim, x->dims);
  return TRUE;
}

static gboolean
cast_run (LatheNode     *node,
          LatheTensor  **inputs,
          LatheTensor  **outputs,
          gpointer       workspace,
          GError       **error)
{
  LatheTensor *x = inputs[0];

  if (x->n > 0)
    cast_array (x->dtype, x->data, outputs[0]->dtype, outputs[0]->data, x->n);
  return TRUE;
}

static const int cast_versions[] = { 1, 6, 9, 13, 19, 21, 23, 24, 25, 0 };

const LatheOpDef _lathe_op_cast = {
  .op_type = "Cast",
  .versions = cast_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = cast_setup,
  .infer = cast_infer,
  .run = cast_run,
};
