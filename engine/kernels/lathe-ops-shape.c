/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

/* Shape and data-movement operators, part one: the ops that only relabel
 * a buffer (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout in
 * inference), Shape and Transpose. Part two (Concat, Gather, Slice,
 * Constant, ConstantOfShape, Cast) lives in lathe-ops-tensor.c; this file
 * holds the group's op table.
 *
 * Data movement works on any storable element type by element size. */

#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-ops-private.h"

/* Kernels exported (with a leading underscore) for tests/kernels/test-shape.c. */
void _lathe_transpose     (const void    *src,
                           void          *dst,
                           gsize          esize,
                           guint          ndim,
                           const gint64  *in_dims,
                           const guint   *perm);
void _lathe_transpose_ref (const void    *src,
                           void          *dst,
                           gsize          esize,
                           guint          ndim,
                           const gint64  *in_dims,
                           const guint   *perm);

#define set_invalid(error, node, ...) \
  lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID, __VA_ARGS__)
#define set_shape_error(error, node, ...) \
  lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE, __VA_ARGS__)

/* ---------------------------------------------------------------------- */
/* Shared helpers                                                          */

/* Reads a constant int32/int64 tensor of rank 0 or 1 (shape, axes, starts…). */
gboolean
_lathe_shape_read_ints (const LatheNode    *node,
                        const LatheTensor  *t,
                        const char         *what,
                        gint64            **values,
                        gsize              *n,
                        GError            **error)
{
  if (t->dtype != LATHE_DTYPE_INT64 && t->dtype != LATHE_DTYPE_INT32)
    {
      lathe_node_unsupported_type (error, node, t->dtype);
      return FALSE;
    }
  if (t->ndim > 1)
    {
      set_shape_error (error, node, "'%s' must be a 1-D tensor, it has rank %u", what, t->ndim);
      return FALSE;
    }
  if (t->data == NULL)
    {
      lathe_node_unsupported_attr (error, node, "'%s' must be a constant", what);
      return FALSE;
    }
  *values = lathe_tensor_to_int64_array (t, n);
  return TRUE;
}

gboolean
_lathe_shape_check_storable (const LatheNode   *node,
                             const LatheTensor *t,
                             GError           **error)
{
  if (!lathe_dtype_traits (t->dtype)->storable || lathe_dtype_size (t->dtype) == 0)
    {
      lathe_node_unsupported_type (error, node, t->dtype);
      return FALSE;
    }
  return TRUE;
}

/* Refuses a shape (attribute or constant input) of more than
 * LATHE_MAX_DIMS dimensions. */
gboolean
_lathe_shape_check_rank (const LatheNode  *node,
                         gsize             rank,
                         GError          **error)
{
  if (rank > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "a shape of rank %" G_GSIZE_FORMAT ", at most %d is supported",
                       rank, LATHE_MAX_DIMS);
      return FALSE;
    }
  return TRUE;
}

/* Copies input 0 to output 0 unless the executor already made them share
 * a buffer (alias ops whose run() is called for their second output). */
static void
copy_through (const LatheTensor *in,
              LatheTensor       *out)
{
  gsize nbytes = lathe_tensor_nbytes (out);

  g_assert (lathe_tensor_nbytes (in) == nbytes);
  if (out->data != in->data && nbytes > 0)
    memcpy (out->data, in->data, nbytes);
}

static gboolean
alias_run (LatheNode     *node,
           LatheTensor  **inputs,
           LatheTensor  **outputs,
           gpointer       workspace,
           GError       **error)
{
  copy_through (inputs[0], outputs[0]);
  return TRUE;
}

static gboolean
check_inputs_for_version (LatheNode *node,
                          guint      min_inputs,
                          guint      max_inputs,
                          GError   **error)
{
  if (node->n_inputs < min_inputs || node->n_inputs > max_inputs)
    {
      set_invalid (error, node, "%u inputs given, version %d of the op takes %u to %u",
                   node->n_inputs, node->since, min_inputs, max_inputs);
      return FALSE;
    }
  return TRUE;
}

/* Quadratic, but there are at most LATHE_MAX_DIMS axes. */
static gboolean
has_duplicate (const guint *axes,
               gsize        n)
{
  for (gsize i = 0; i < n; i++)
    for (gsize j = i + 1; j < n; j++)
      if (axes[i] == axes[j])
        return TRUE;
  return FALSE;
}

/* ---------------------------------------------------------------------- */
/* Reshape                                                                 */

typedef struct {
  gboolean allowzero;
  gboolean from_attr;                  /* opset 1: `shape` attribute */
  gsize    n_shape;
  gint64   shape[LATHE_MAX_DIMS];
} ReshapeParams;

static gboolean
reshape_setup (LatheNode  *node,
               GError    **error)
{
  ReshapeParams *p;

  if (!check_inputs_for_version (node, node->since >= 5 ? 2 : 1, node->since >= 5 ? 2 : 1, error))
    return FALSE;

  p = g_new0 (ReshapeParams, 1);
  node->params = p;
  node->params_free = g_free;

  if (node->since < 5)
    {
      /* consumed_inputs is a legacy optimisation hint: nothing to do. */
      const gint64 *shape;

      if (lathe_node_get_attr (node, "shape") == NULL)
        {
          set_invalid (error, node, "the 'shape' attribute is required at opset %d", node->since);
          return FALSE;
        }
      shape = lathe_node_get_ints (node, "shape", &p->n_shape);
      if (!_lathe_shape_check_rank (node, p->n_shape, error))
        return FALSE;
      if (p->n_shape > 0)
        memcpy (p->shape, shape, p->n_shape * sizeof (gint64));
      p->from_attr = TRUE;
    }

  if (node->since >= 14)
    {
      gint64 allowzero = lathe_node_get_int (node, "allowzero", 0);
      if (allowzero != 0 && allowzero != 1)
        {
          lathe_node_unsupported_attr (error, node, "allowzero=%" G_GINT64_FORMAT, allowzero);
          return FALSE;
        }
      p->allowzero = allowzero == 1;
    }
  return TRUE;
}

static gboolean
reshape_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  ReshapeParams *p = node->params;
  LatheTensor *x = inputs[0];
  g_autofree gint64 *owned = NULL;
  const gint64 *shape;
  gsize n_shape;
  gint64 dims[LATHE_MAX_DIMS];
  int infer_at = -1;
  guint64 known = 1;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;

  if (p->from_attr)
    {
      shape = p->shape;
      n_shape = p->n_shape;
    }
  else
    {
      if (!_lathe_shape_read_ints (node, inputs[1], "shape", &owned, &n_shape, error))
        return FALSE;
      shape = owned;
    }

  if (!_lathe_shape_check_rank (node, n_shape, error))
    return FALSE;

  for (gsize i = 0; i < n_shape; i++)
    {
      gint64 v = shape[i];

      if (v == -1)
        {
          if (infer_at >= 0)
            {
              set_shape_error (error, node, "the shape has more than one -1");
              return FALSE;
            }
          infer_at = (int) i;
          dims[i] = 1;
          continue;
        }
      if (v < -1)
        {
          set_shape_error (error, node, "shape[%" G_GSIZE_FORMAT "] is %" G_GINT64_FORMAT
                           ", dimensions must be -1 or more", i, v);
          return FALSE;
        }
      if (v == 0 && !p->allowzero)
        {
          /* 0 copies the input's dimension at the same position */
          if (i >= x->ndim)
            {
              set_shape_error (error, node, "shape[%" G_GSIZE_FORMAT "] is 0 but the input has rank %u",
                               i, x->ndim);
              return FALSE;
            }
          v = x->dims[i];
        }
      dims[i] = v;
      if (v != 0 && known > (guint64) G_MAXINT64 / (guint64) v)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_OVERFLOW,
                                "the shape's element count overflows");
          return FALSE;
        }
      known *= (guint64) v;
    }

  if (infer_at >= 0)
    {
      if (known == 0 || (guint64) x->n % known != 0)
        {
          g_autofree char *in = lathe_shape_to_string (x->ndim, x->dims);
          g_autofree char *want = lathe_shape_to_string ((guint) n_shape, shape);
          set_shape_error (error, node, "cannot reshape %s (%" G_GSIZE_FORMAT " elements) to %s",
                           in, x->n, want);
          return FALSE;
        }
      dims[infer_at] = (gint64) ((guint64) x->n / known);
    }
  else if (known != (guint64) x->n)
    {
      g_autofree char *in = lathe_shape_to_string (x->ndim, x->dims);
      g_autofree char *want = lathe_shape_to_string ((guint) n_shape, dims);
      set_shape_error (error, node, "cannot reshape %s (%" G_GSIZE_FORMAT " elements) to %s",
                       in, x->n, want);
      return FALSE;
    }

  lathe_tensor_set_meta (outputs[0], x->dtype, (guint) n_shape, dims);
  return TRUE;
}

static const int reshape_versions[] = { 1, 5, 13, 14, 19, 21, 23, 24, 25, 0 };

static const LatheOpDef op_reshape = {
  .op_type = "Reshape",
  .versions = reshape_versions,
  .min_inputs = 1,
  .max_inputs = 2,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = 1u << 1,
  .flags = LATHE_OP_FLAG_ALIAS,
  .setup = reshape_setup,
  .infer = reshape_infer,
  .run = alias_run,
};

/* ---------------------------------------------------------------------- */
/* Flatten                                                                 */

typedef struct {
  gint64 axis;
} AxisParams;

static gboolean
flatten_setup (LatheNode  *node,
               GError    **error)
{
  AxisParams *p = g_new0 (AxisParams, 1);

  node->params = p;
  node->params_free = g_free;
  p->axis = lathe_node_get_int (node, "axis", 1);
  return TRUE;
}

static gboolean
flatten_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  AxisParams *p = node->params;
  LatheTensor *x = inputs[0];
  gint64 r = x->ndim;
  gint64 axis = p->axis < 0 ? p->axis + r : p->axis;
  gint64 dims[2] = { 1, 1 };

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  /* the axis may equal the rank: everything goes to the outer dimension */
  if (axis < 0 || axis > r || (p->axis < 0 && node->since < 11))
    {
      set_shape_error (error, node, "axis %" G_GINT64_FORMAT " is out of range for rank %u%s",
                       p->axis, x->ndim,
                       p->axis < 0 && node->since < 11 ? " (negative axes need opset 11)" : "");
      return FALSE;
    }
  for (gint64 d = 0; d < r; d++)
    dims[d < axis ? 0 : 1] *= x->dims[d];

  lathe_tensor_set_meta (outputs[0], x->dtype, 2, dims);
  return TRUE;
}

static const int flatten_versions[] = { 1, 9, 11, 13, 21, 23, 24, 25, 0 };

static const LatheOpDef op_flatten = {
  .op_type = "Flatten",
  .versions = flatten_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .flags = LATHE_OP_FLAG_ALIAS,
  .setup = flatten_setup,
  .infer = flatten_infer,
  .run = alias_run,
};

/* ---------------------------------------------------------------------- */
/* Squeeze / Unsqueeze                                                     */

typedef struct {
  gboolean from_attr;      /* before opset 13 */
  gboolean has_axes;
  gsize    n_axes;
  gint64   axes[LATHE_MAX_DIMS];
} AxesParams;

static gboolean
check_n_axes (LatheNode  *node,
              gsize       n_axes,
              GError    **error)
{
  if (n_axes > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "%" G_GSIZE_FORMAT " axes, at most %d are supported",
                       n_axes, LATHE_MAX_DIMS);
      return FALSE;
    }
  return TRUE;
}

static gboolean
axes_setup (LatheNode  *node,
            gboolean    required,
            GError    **error)
{
  AxesParams *p;

  if (!check_inputs_for_version (node, node->since >= 13 && required ? 2 : 1,
                                 node->since >= 13 ? 2 : 1, error))
    return FALSE;

  p = g_new0 (AxesParams, 1);
  node->params = p;
  node->params_free = g_free;

  if (node->since >= 13)
    return TRUE;

  p->from_attr = TRUE;
  if (lathe_node_get_attr (node, "axes") != NULL)
    {
      const gint64 *axes = lathe_node_get_ints (node, "axes", &p->n_axes);

      if (!check_n_axes (node, p->n_axes, error))
        return FALSE;
      for (gsize i = 0; i < p->n_axes; i++)
        if (axes[i] < 0 && node->since < 11)
          {
            set_invalid (error, node, "negative axes need opset 11 (axes[%" G_GSIZE_FORMAT "] = %"
                         G_GINT64_FORMAT ")", i, axes[i]);
            return FALSE;
          }
      if (p->n_axes > 0)
        memcpy (p->axes, axes, p->n_axes * sizeof (gint64));
      p->has_axes = TRUE;
    }
  else if (required)
    {
      set_invalid (error, node, "the 'axes' attribute is required at opset %d", node->since);
      return FALSE;
    }
  return TRUE;
}

/* Fetches the axes (attribute or constant input 1); *has is FALSE when none
 * were given. */
static gboolean
axes_get (LatheNode    *node,
          LatheTensor **inputs,
          gint64       *axes,
          gsize        *n_axes,
          gboolean     *has,
          GError      **error)
{
  AxesParams *p = node->params;

  if (p->from_attr)
    {
      *has = p->has_axes;
      *n_axes = p->n_axes;
      if (p->n_axes > 0)
        memcpy (axes, p->axes, p->n_axes * sizeof (gint64));
      return TRUE;
    }

  *has = FALSE;
  *n_axes = 0;
  if (node->n_inputs > 1 && inputs[1] != NULL)
    {
      g_autofree gint64 *values = NULL;
      gsize n;

      if (!_lathe_shape_read_ints (node, inputs[1], "axes", &values, &n, error))
        return FALSE;
      if (!check_n_axes (node, n, error))
        return FALSE;
      if (n > 0)
        memcpy (axes, values, n * sizeof (gint64));
      *n_axes = n;
      *has = TRUE;
    }
  return TRUE;
}

/* Normalises the axes against rank and sets marked[] at each; with
 * squeezed set (Squeeze), every marked axis of it must have size 1. */
static gboolean
mark_axes (LatheNode         *node,
           const gint64      *axes,
           gsize              n_axes,
           guint              rank,
           const LatheTensor *squeezed,
           gboolean          *marked,
           GError           **error)
{
  guint norm[LATHE_MAX_DIMS];

  for (gsize i = 0; i < n_axes; i++)
    {
      if (!lathe_normalize_axis (node, axes[i], rank, &norm[i], error))
        return FALSE;
      if (squeezed != NULL && squeezed->dims[norm[i]] != 1)
        {
          set_shape_error (error, node, "cannot squeeze axis %" G_GINT64_FORMAT
                           " of size %" G_GINT64_FORMAT, axes[i], squeezed->dims[norm[i]]);
          return FALSE;
        }
      marked[norm[i]] = TRUE;
    }
  if (has_duplicate (norm, n_axes))
    {
      set_shape_error (error, node, "an axis is listed twice");
      return FALSE;
    }
  return TRUE;
}

static gboolean
squeeze_setup (LatheNode  *node,
               GError    **error)
{
  return axes_setup (node, FALSE, error);
}

static gboolean
squeeze_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  LatheTensor *x = inputs[0];
  gint64 axes[LATHE_MAX_DIMS];
  gboolean drop[LATHE_MAX_DIMS] = { FALSE };
  gint64 dims[LATHE_MAX_DIMS];
  gsize n_axes;
  gboolean has;
  guint r = 0;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  if (!axes_get (node, inputs, axes, &n_axes, &has, error))
    return FALSE;

  if (has && n_axes > 0)
    {
      if (x->ndim == 0)
        {
          set_shape_error (error, node, "cannot squeeze a scalar");
          return FALSE;
        }
      if (!mark_axes (node, axes, n_axes, x->ndim, x, drop, error))
        return FALSE;
    }
  else
    for (guint d = 0; d < x->ndim; d++)
      drop[d] = x->dims[d] == 1;

  for (guint d = 0; d < x->ndim; d++)
    if (!drop[d])
      dims[r++] = x->dims[d];

  lathe_tensor_set_meta (outputs[0], x->dtype, r, dims);
  return TRUE;
}

static const int squeeze_versions[] = { 1, 11, 13, 21, 23, 24, 25, 0 };

static const LatheOpDef op_squeeze = {
  .op_type = "Squeeze",
  .versions = squeeze_versions,
  .min_inputs = 1,
  .max_inputs = 2,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = 1u << 1,
  .flags = LATHE_OP_FLAG_ALIAS,
  .setup = squeeze_setup,
  .infer = squeeze_infer,
  .run = alias_run,
};

static gboolean
unsqueeze_setup (LatheNode  *node,
                 GError    **error)
{
  return axes_setup (node, TRUE, error);
}

static gboolean
unsqueeze_infer (LatheNode     *node,
                 LatheTensor  **inputs,
                 LatheTensor  **outputs,
                 gsize         *workspace,
                 GError       **error)
{
  LatheTensor *x = inputs[0];
  gint64 axes[LATHE_MAX_DIMS];
  gboolean inserted[LATHE_MAX_DIMS] = { FALSE };
  gint64 dims[LATHE_MAX_DIMS];
  gsize n_axes;
  gboolean has;
  guint rank, k = 0;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  if (!axes_get (node, inputs, axes, &n_axes, &has, error))
    return FALSE;
  if (!has)
    {
      set_invalid (error, node, "the axes input is required");
      return FALSE;
    }
  if (x->ndim + n_axes > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "the result would have rank %" G_GSIZE_FORMAT ", at most %d is supported",
                       x->ndim + n_axes, LATHE_MAX_DIMS);
      return FALSE;
    }
  rank = x->ndim + (guint) n_axes;

  /* axes index the output, so they are normalised against its rank */
  if (!mark_axes (node, axes, n_axes, rank, NULL, inserted, error))
    return FALSE;

  for (guint d = 0; d < rank; d++)
    dims[d] = inserted[d] ? 1 : x->dims[k++];

  lathe_tensor_set_meta (outputs[0], x->dtype, rank, dims);
  return TRUE;
}

static const int unsqueeze_versions[] = { 1, 11, 13, 21, 23, 24, 25, 0 };

static const LatheOpDef op_unsqueeze = {
  .op_type = "Unsqueeze",
  .versions = unsqueeze_versions,
  .min_inputs = 1,
  .max_inputs = 2,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = 1u << 1,
  .flags = LATHE_OP_FLAG_ALIAS,
  .setup = unsqueeze_setup,
  .infer = unsqueeze_infer,
  .run = alias_run,
};

/* ---------------------------------------------------------------------- */
/* Identity                                                                */

static gboolean
identity_infer (LatheNode     *node,
                LatheTensor  **inputs,
                LatheTensor  **outputs,
                gsize         *workspace,
                GError       **error)
{
  LatheTensor *x = inputs[0];

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], x->dtype, x->ndim, x->dims);
  return TRUE;
}

/* Versions 14, 16 and later added sequence and optional types, which the
 * loader refuses; for tensors every version is the same copy. */
static const int identity_versions[] = { 1, 13, 14, 16, 19, 21, 23, 24, 25, 0 };

static const LatheOpDef op_identity = {
  .op_type = "Identity",
  .versions = identity_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .flags = LATHE_OP_FLAG_ALIAS,
  .infer = identity_infer,
  .run = alias_run,
};

/* ---------------------------------------------------------------------- */
/* Dropout (inference only)                                                */

static gboolean
dropout_setup (LatheNode  *node,
               GError    **error)
{
  /* In inference Dropout passes its input through: ratio, seed, is_test and
   * consumed_inputs change nothing. Training mode is refused in infer(),
   * where the training_mode input's value is known. */
  if (!check_inputs_for_version (node, 1, node->since >= 12 ? 3 : 1, error))
    return FALSE;
  return TRUE;
}

static gboolean
dropout_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  LatheTensor *x = inputs[0];
  LatheTensor *training = node->n_inputs > 2 ? inputs[2] : NULL;

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;

  if (training != NULL)
    {
      if (training->dtype != LATHE_DTYPE_BOOL)
        {
          lathe_node_unsupported_type (error, node, training->dtype);
          return FALSE;
        }
      if (training->n != 1 || training->data == NULL)
        {
          set_shape_error (error, node, "training_mode must be a constant scalar");
          return FALSE;
        }
      if (((const guint8 *) training->data)[0] != 0)
        {
          lathe_node_unsupported_attr (error, node, "training_mode=true (only inference is supported)");
          return FALSE;
        }
    }

  lathe_tensor_set_meta (outputs[0], x->dtype, x->ndim, x->dims);
  if (node->n_outputs > 1)
    {
      /* the mask was of the input's type before opset 10, bool since */
      LatheDType mask_type = node->since >= 10 ? LATHE_DTYPE_BOOL : x->dtype;

      if (mask_type != LATHE_DTYPE_BOOL && mask_type != LATHE_DTYPE_FLOAT &&
          mask_type != LATHE_DTYPE_FLOAT16 && mask_type != LATHE_DTYPE_DOUBLE)
        {
          lathe_node_unsupported_type (error, node, mask_type);
          return FALSE;
        }
      lathe_tensor_set_meta (outputs[1], mask_type, x->ndim, x->dims);
    }
  return TRUE;
}

static gboolean
dropout_run (LatheNode     *node,
             LatheTensor  **inputs,
             LatheTensor  **outputs,
             gpointer       workspace,
             GError       **error)
{
  LatheTensor *mask = node->n_outputs > 1 ? outputs[1] : NULL;

  copy_through (inputs[0], outputs[0]);
  if (mask == NULL)
    return TRUE;

  /* nothing is dropped in inference: the mask keeps every element */
  switch (mask->dtype)
    {
    case LATHE_DTYPE_BOOL:
      memset (mask->data, 1, mask->n);
      break;
    case LATHE_DTYPE_FLOAT:
      for (gsize i = 0; i < mask->n; i++)
        ((float *) mask->data)[i] = 1.f;
      break;
    case LATHE_DTYPE_DOUBLE:
      for (gsize i = 0; i < mask->n; i++)
        ((double *) mask->data)[i] = 1.0;
      break;
    case LATHE_DTYPE_FLOAT16:
      for (gsize i = 0; i < mask->n; i++)
        ((guint16 *) mask->data)[i] = 0x3c00;   /* 1.0 */
      break;
    default:
      g_assert_not_reached ();   /* refused in infer() */
    }
  return TRUE;
}

static const int dropout_versions[] = { 1, 6, 7, 10, 12, 13, 22, 0 };

static const LatheOpDef op_dropout = {
  .op_type = "Dropout",
  .versions = dropout_versions,
  .min_inputs = 1,
  .max_inputs = 3,
  .min_outputs = 1,
  .max_outputs = 2,
  /* a training_mode computed at run time could switch training on */
  .const_inputs = 1u << 2,
  .flags = LATHE_OP_FLAG_ALIAS,
  .setup = dropout_setup,
  .infer = dropout_infer,
  .run = dropout_run,
};

/* ---------------------------------------------------------------------- */
/* Shape                                                                   */

typedef struct {
  gint64 start;
  gint64 end;
} ShapeParams;

static gboolean
shape_setup (LatheNode  *node,
             GError    **error)
{
  ShapeParams *p = g_new0 (ShapeParams, 1);

  node->params = p;
  node->params_free = g_free;
  if (node->since >= 15)
    {
      p->start = lathe_node_get_int (node, "start", 0);
      p->end = lathe_node_get_int (node, "end", G_MAXINT64);
    }
  else
    p->end = G_MAXINT64;
  return TRUE;
}

/* Start and end as in Shape-15: negative counts from the back, then both
 * are clamped to [0, rank]. */
static void
shape_range (const ShapeParams *p,
             guint              rank,
             gint64            *start,
             gint64            *len)
{
  gint64 r = rank;
  gint64 s = p->start < 0 ? p->start + r : p->start;
  gint64 e = p->end < 0 ? p->end + r : p->end;

  s = CLAMP (s, 0, r);
  e = CLAMP (e, 0, r);
  *start = s;
  *len = MAX (e - s, 0);
}

static gboolean
shape_infer (LatheNode     *node,
             LatheTensor  **inputs,
             LatheTensor  **outputs,
             gsize         *workspace,
             GError       **error)
{
  gint64 start, len;

  shape_range (node->params, inputs[0]->ndim, &start, &len);
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_INT64, 1, &len);
  return TRUE;
}

static gboolean
shape_run (LatheNode     *node,
           LatheTensor  **inputs,
           LatheTensor  **outputs,
           gpointer       workspace,
           GError       **error)
{
  gint64 start, len;

  /* Shape-only: inputs[0] carries dims but maybe no data */
  shape_range (node->params, inputs[0]->ndim, &start, &len);
  for (gint64 i = 0; i < len; i++)
    lathe_tensor_i64 (outputs[0])[i] = inputs[0]->dims[start + i];
  return TRUE;
}

static const int shape_versions[] = { 1, 13, 15, 19, 21, 23, 24, 25, 0 };

static const LatheOpDef op_shape = {
  .op_type = "Shape",
  .versions = shape_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .flags = LATHE_OP_FLAG_SHAPE_ONLY,
  .setup = shape_setup,
  .infer = shape_infer,
  .run = shape_run,
};

/* ---------------------------------------------------------------------- */
/* Transpose                                                               */

/* Tile edge for the blocked 2-D transpose: 16 rows of 16 elements keep both
 * the read and the write side within a few cache lines for 8-byte types. */
#define TRANSPOSE_TILE 16

typedef struct {
  guint  n;                          /* number of axes */
  gint64 dims[LATHE_MAX_DIMS];
  gint64 sstride[LATHE_MAX_DIMS];    /* source element strides */
  gint64 dstride[LATHE_MAX_DIMS];    /* destination element strides */
} Walk;

/* Element-size specialised tile copy: dst[i * dsi + j] = src[i + j * ssj]. */
#define TRANSPOSE_TILE_LOOP(T)                                                  \
  G_STMT_START {                                                                \
    const T *s = (const T *) src;                                               \
    T *d = (T *) dst;                                                           \
    for (gint64 i0 = 0; i0 < ni; i0 += TRANSPOSE_TILE)                          \
      for (gint64 j0 = 0; j0 < nj; j0 += TRANSPOSE_TILE)                        \
        {                                                                       \
          gint64 i1 = MIN (i0 + TRANSPOSE_TILE, ni);                            \
          gint64 j1 = MIN (j0 + TRANSPOSE_TILE, nj);                            \
          for (gint64 i = i0; i < i1; i++)                                      \
            for (gint64 j = j0; j < j1; j++)                                    \
              d[i * dsi + j] = s[i + j * ssj];                                  \
        }                                                                       \
  } G_STMT_END

/* One 2-D plane: i walks the source's contiguous axis, j the
 * destination's. */
static void
transpose_plane (const guint8 *src,
                 guint8       *dst,
                 gsize         esize,
                 gint64        ni,
                 gint64        nj,
                 gint64        ssj,
                 gint64        dsi)
{
  switch (esize)
    {
    case 1: TRANSPOSE_TILE_LOOP (guint8); break;
    case 2: TRANSPOSE_TILE_LOOP (guint16); break;
    case 4: TRANSPOSE_TILE_LOOP (guint32); break;
    case 8: TRANSPOSE_TILE_LOOP (guint64); break;
    default:
      for (gint64 i = 0; i < ni; i++)
        for (gint64 j = 0; j < nj; j++)
          memcpy (dst + (i * dsi + j) * esize, src + (i + j * ssj) * esize, esize);
      break;
    }
}

/* Odometer over the walk's axes, carrying the source and destination
 * offsets along so the inner kernel needs no index arithmetic. FALSE once
 * every index was visited; a walk without axes visits one. */
static inline gboolean
walk_next (const Walk *w,
           gint64     *idx,
           gint64     *soff,
           gint64     *doff)
{
  for (guint k = w->n; k-- > 0;)
    {
      *soff += w->sstride[k];
      *doff += w->dstride[k];
      if (++idx[k] < w->dims[k])
        return TRUE;
      *soff -= w->sstride[k] * w->dims[k];
      *doff -= w->dstride[k] * w->dims[k];
      idx[k] = 0;
    }
  return FALSE;
}

/* Fast transpose: drops unit axes, merges output axes that stay contiguous
 * in the input, then either copies whole rows (the innermost axis did not
 * move) or transposes 2-D planes in tiles between the input's contiguous
 * axis and the output's. */
void
_lathe_transpose (const void   *src,
                  void         *dst,
                  gsize         esize,
                  guint         ndim,
                  const gint64 *in_dims,
                  const guint  *perm)
{
  gint64 istride[LATHE_MAX_DIMS];
  gint64 D[LATHE_MAX_DIMS], S[LATHE_MAX_DIMS], O[LATHE_MAX_DIMS];
  guint m = 0;
  gint64 n = 1;
  const guint8 *s8 = src;
  guint8 *d8 = dst;

  for (guint d = ndim; d-- > 0;)
    {
      istride[d] = n;
      n *= in_dims[d];
    }
  if (n == 0)
    return;

  for (guint k = 0; k < ndim; k++)
    {
      gint64 dim = in_dims[perm[k]];
      gint64 st = istride[perm[k]];

      if (dim == 1)
        continue;
      if (m > 0 && S[m - 1] == st * dim)
        {
          /* contiguous in the input as well: one longer axis */
          D[m - 1] *= dim;
          S[m - 1] = st;
          continue;
        }
      D[m] = dim;
      S[m] = st;
      m++;
    }

  if (m == 0 || (m == 1 && S[0] == 1))
    {
      memcpy (dst, src, (gsize) n * esize);
      return;
    }

  for (gint64 k = m - 1, acc = 1; k >= 0; k--)
    {
      O[k] = acc;
      acc *= D[k];
    }

  if (S[m - 1] == 1)
    {
      /* the innermost axis stayed innermost: copy rows */
      gsize row = (gsize) D[m - 1] * esize;
      Walk w = { .n = m - 1 };
      gint64 idx[LATHE_MAX_DIMS] = { 0 };
      gint64 so = 0, dof = 0;

      for (guint k = 0; k < m - 1; k++)
        {
          w.dims[k] = D[k];
          w.sstride[k] = S[k];
          w.dstride[k] = O[k];
        }
      do
        memcpy (d8 + dof * (gint64) esize, s8 + so * (gint64) esize, row);
      while (walk_next (&w, idx, &so, &dof));
    }
  else
    {
      /* The input's contiguous axis b (stride 1) lands somewhere in the
       * output; the output's innermost axis a reads with a large stride.
       * Transpose the (b, a) planes in tiles, walk the rest. */
      guint a = m - 1, b = 0;
      Walk w = { .n = 0 };
      gint64 idx[LATHE_MAX_DIMS] = { 0 };
      gint64 so = 0, dof = 0;

      while (S[b] != 1)
        b++;
      g_assert (b < a);
      for (guint k = 0; k < m; k++)
        if (k != a && k != b)
          {
            w.dims[w.n] = D[k];
            w.sstride[w.n] = S[k];
            w.dstride[w.n] = O[k];
            w.n++;
          }
      do
        transpose_plane (s8 + so * (gint64) esize, d8 + dof * (gint64) esize, esize,
                         D[b], D[a], S[a], O[b]);
      while (walk_next (&w, idx, &so, &dof));
    }
}

/* Naive twin: one element at a time, decoding each output index. */
void
_lathe_transpose_ref (const void   *src,
                      void         *dst,
                      gsize         esize,
                      guint         ndim,
                      const gint64 *in_dims,
                      const guint  *perm)
{
  gint64 istride[LATHE_MAX_DIMS];
  gint64 n = 1;

  for (guint d = ndim; d-- > 0;)
    {
      istride[d] = n;
      n *= in_dims[d];
    }
  for (gint64 i = 0; i < n; i++)
    {
      gint64 rem = i, off = 0;

      for (guint k = ndim; k-- > 0;)
        {
          gint64 dim = in_dims[perm[k]];
          off += (rem % dim) * istride[perm[k]];
          rem /= dim;
        }
      memcpy ((guint8 *) dst + i * (gint64) esize, (const guint8 *) src + off * (gint64) esize, esize);
    }
}

typedef struct {
  gsize n_perm;                 /* 0: reverse the axes */
  guint perm[LATHE_MAX_DIMS];
} TransposeParams;

static gboolean
transpose_setup (LatheNode  *node,
                 GError    **error)
{
  TransposeParams *p = g_new0 (TransposeParams, 1);
  const gint64 *perm;
  gsize n;

  node->params = p;
  node->params_free = g_free;

  perm = lathe_node_get_ints (node, "perm", &n);
  if (n > LATHE_MAX_DIMS)
    {
      set_shape_error (error, node, "perm has %" G_GSIZE_FORMAT " axes, at most %d are supported",
                       n, LATHE_MAX_DIMS);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (perm[i] < 0 || perm[i] >= (gint64) n)
        {
          set_invalid (error, node, "perm[%" G_GSIZE_FORMAT "] = %" G_GINT64_FORMAT
                       " is not an axis of a rank-%" G_GSIZE_FORMAT " tensor", i, perm[i], n);
          return FALSE;
        }
      p->perm[i] = (guint) perm[i];
    }
  if (has_duplicate (p->perm, n))
    {
      set_invalid (error, node, "perm is not a permutation: an axis is listed twice");
      return FALSE;
    }
  p->n_perm = n;
  return TRUE;
}

static void
transpose_perm (const TransposeParams *p,
                guint                  rank,
                guint                 *perm)
{
  for (guint k = 0; k < rank; k++)
    perm[k] = p->n_perm > 0 ? p->perm[k] : rank - 1 - k;
}

static gboolean
transpose_infer (LatheNode     *node,
                 LatheTensor  **inputs,
                 LatheTensor  **outputs,
                 gsize         *workspace,
                 GError       **error)
{
  TransposeParams *p = node->params;
  LatheTensor *x = inputs[0];
  guint perm[LATHE_MAX_DIMS];
  gint64 dims[LATHE_MAX_DIMS];

  if (!_lathe_shape_check_storable (node, x, error))
    return FALSE;
  if (p->n_perm > 0 && p->n_perm != x->ndim)
    {
      set_shape_error (error, node, "perm has %" G_GSIZE_FORMAT " axes for a rank-%u input",
                       p->n_perm, x->ndim);
      return FALSE;
    }
  transpose_perm (p, x->ndim, perm);
  for (guint k = 0; k < x->ndim; k++)
    dims[k] = x->dims[perm[k]];
  lathe_tensor_set_meta (outputs[0], x->dtype, x->ndim, dims);
  return TRUE;
}

static gboolean
transpose_run (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gpointer       workspace,
               GError       **error)
{
  LatheTensor *x = inputs[0];
  guint perm[LATHE_MAX_DIMS];

  transpose_perm (node->params, x->ndim, perm);
  _lathe_transpose (x->data, outputs[0]->data, lathe_dtype_size (x->dtype), x->ndim, x->dims, perm);
  return TRUE;
}

static const int transpose_versions[] = { 1, 13, 21, 23, 24, 25, 0 };

static const LatheOpDef op_transpose = {
  .op_type = "Transpose",
  .versions = transpose_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = transpose_setup,
  .infer = transpose_infer,
  .run = transpose_run,
};

/* ---------------------------------------------------------------------- */

const LatheOpDef * const _lathe_ops_shape[] = {
  &op_reshape,
  &op_flatten,
  &op_squeeze,
  &op_unsqueeze,
  &op_identity,
  &op_dropout,
  &op_shape,
  &op_transpose,
  &_lathe_op_concat,
  &_lathe_op_gather,
  &_lathe_op_slice,
  &_lathe_op_constant,
  &_lathe_op_constant_of_shape,
  &_lathe_op_cast,
  NULL
};
