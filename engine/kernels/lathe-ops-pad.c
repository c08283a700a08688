/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-conv.h"

/* ---------------------------------------------------------------------- */
/* Kernels                                                                 */

gint64
lathe_pad_source_index (gint64       o,
                        gint64       n,
                        gint64       begin,
                        gint64       end,
                        LathePadMode mode)
{
  /* Negative pads crop first; the modes then work on the cropped extent
   * [lo, lo + m), as onnxruntime does. */
  gint64 lo = MAX (0, -begin);
  gint64 m = n - lo - MAX (0, -end);
  gint64 j = o - MAX (0, begin);
  gint64 p;

  if (j >= 0 && j < m)
    return lo + j;
  if (mode == LATHE_PAD_CONSTANT || m <= 0)
    return -1;
  switch (mode)
    {
    case LATHE_PAD_EDGE:
      j = j < 0 ? 0 : m - 1;
      break;
    case LATHE_PAD_REFLECT:
      /* Mirror without repeating the edge, periodic like numpy's
       * reflect for pads wider than the axis. */
      if (m == 1)
        j = 0;
      else
        {
          p = 2 * (m - 1);
          j %= p;
          if (j < 0)
            j += p;
          if (j >= m)
            j = p - j;
        }
      break;
    case LATHE_PAD_WRAP:
      j %= m;
      if (j < 0)
        j += m;
      break;
    case LATHE_PAD_CONSTANT:
    default:
      g_assert_not_reached ();
    }
  return lo + j;
}

gsize
lathe_pad_workspace_size (guint         ndim,
                          const gint64 *out_dims)
{
  gsize n = 0;

  for (guint d = 0; d < ndim; d++)
    n += (gsize) out_dims[d];
  return n * sizeof (gint64);
}

static inline void
copy_elem (char       *dst,
           const char *src,
           gsize       esize)
{
  switch (esize)
    {
    case 1: *dst = *src; break;
    case 2: memcpy (dst, src, 2); break;
    case 4: memcpy (dst, src, 4); break;
    case 8: memcpy (dst, src, 8); break;
    default: memcpy (dst, src, esize); break;
    }
}

/* n copies of one element, by doubling memcpys. */
static void
fill_elems (char          *dst,
            gconstpointer  value,
            gsize          n,
            gsize          esize)
{
  gsize done, total = n * esize;

  if (n == 0)
    return;
  memcpy (dst, value, esize);
  for (done = esize; done < total; done *= 2)
    memcpy (dst + done, dst, MIN (done, total - done));
}

void
lathe_pad (guint          ndim,
           const gint64  *in_dims,
           const gint64  *pads,
           LathePadMode   mode,
           gsize          esize,
           gconstpointer  value,
           gconstpointer  x,
           gpointer       y,
           gpointer       workspace)
{
  gint64 out_dims[LATHE_MAX_DIMS], in_strides[LATHE_MAX_DIMS], idx[LATHE_MAX_DIMS];
  gint64 *map[LATHE_MAX_DIMS];
  gint64 *ws = workspace;
  gint64 rows = 1, W, mid_lo, mid_hi, src_lo;
  guint last;
  const char *xb = x;
  char *yb = y;

  g_assert (ndim <= LATHE_MAX_DIMS);
  if (ndim == 0)
    {
      memcpy (y, x, esize);
      return;
    }

  /* Per axis, the input index each output index reads (-1: constant). */
  for (guint d = 0; d < ndim; d++)
    {
      out_dims[d] = in_dims[d] + pads[d] + pads[d + ndim];
      map[d] = ws;
      for (gint64 o = 0; o < out_dims[d]; o++)
        map[d][o] = lathe_pad_source_index (o, in_dims[d], pads[d], pads[d + ndim], mode);
      ws += out_dims[d];
      if (out_dims[d] == 0)
        return;
    }
  in_strides[ndim - 1] = 1;
  for (int d = (int) ndim - 2; d >= 0; d--)
    in_strides[d] = in_strides[d + 1] * in_dims[d + 1];

  /* Rows along the last axis: the unpadded middle is one memcpy, only the
   * padded ends go element by element. */
  last = ndim - 1;
  W = out_dims[last];
  src_lo = MAX (0, -pads[last]);
  mid_lo = MIN (MAX (0, pads[last]), W);
  mid_hi = MIN (mid_lo + MAX (0, in_dims[last] - src_lo - MAX (0, -pads[last + ndim])), W);
  for (guint d = 0; d < last; d++)
    rows *= out_dims[d];
  memset (idx, 0, sizeof idx);

  for (gint64 r = 0; r < rows; r++, yb += W * (gint64) esize)
    {
      gint64 src_off = 0;
      gboolean constant_row = FALSE;

      for (guint d = 0; d < last; d++)
        {
          gint64 si = map[d][idx[d]];
          if (si < 0)
            constant_row = TRUE;
          src_off += si * in_strides[d];
        }

      if (constant_row)
        fill_elems (yb, value, (gsize) W, esize);
      else
        {
          const char *src = xb + src_off * (gint64) esize;
          const gint64 *m = map[last];

          for (gint64 o = 0; o < mid_lo; o++)
            copy_elem (yb + o * (gint64) esize,
                       m[o] < 0 ? (const char *) value : src + m[o] * (gint64) esize, esize);
          memcpy (yb + mid_lo * (gint64) esize, src + src_lo * (gint64) esize,
                  (gsize) (mid_hi - mid_lo) * esize);
          for (gint64 o = mid_hi; o < W; o++)
            copy_elem (yb + o * (gint64) esize,
                       m[o] < 0 ? (const char *) value : src + m[o] * (gint64) esize, esize);
        }

      for (int d = (int) last - 1; d >= 0; d--)
        {
          if (++idx[d] < out_dims[d])
            break;
          idx[d] = 0;
        }
    }
}

void
lathe_pad_ref (guint          ndim,
               const gint64  *in_dims,
               const gint64  *pads,
               LathePadMode   mode,
               gsize          esize,
               gconstpointer  value,
               gconstpointer  x,
               gpointer       y)
{
  gint64 out_dims[LATHE_MAX_DIMS];
  gsize n = 1;

  for (guint d = 0; d < ndim; d++)
    {
      out_dims[d] = in_dims[d] + pads[d] + pads[d + ndim];
      n *= (gsize) out_dims[d];
    }
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i;
      gint64 src = 0, stride = 1;
      gboolean constant = FALSE;

      for (int d = (int) ndim - 1; d >= 0; d--)
        {
          gint64 o = (gint64) (rest % (gsize) out_dims[d]);
          gint64 si = lathe_pad_source_index (o, in_dims[d], pads[d], pads[d + ndim], mode);

          rest /= (gsize) out_dims[d];
          if (si < 0)
            constant = TRUE;
          src += si * stride;
          stride *= in_dims[d];
        }
      memcpy ((char *) y + i * esize,
              constant ? value : (const char *) x + src * (gint64) esize, esize);
    }
}

/* ---------------------------------------------------------------------- */
/* Pad                                                                     */

typedef struct {
  LathePadMode mode;
  gint64      *pads;      /* opset < 11: the paddings / pads attribute */
  gsize        n_pads;
  float        value;     /* opset < 11: the value attribute */
} PadParams;

static void
pad_params_free (gpointer data)
{
  PadParams *p = data;

  g_free (p->pads);
  g_free (p);
}

static gboolean
pad_setup (LatheNode  *node,
           GError    **error)
{
  PadParams *p = g_new0 (PadParams, 1);
  const char *mode = lathe_node_get_string (node, "mode", "constant");

  node->params = p;
  node->params_free = pad_params_free;

  if (g_str_equal (mode, "constant"))
    p->mode = LATHE_PAD_CONSTANT;
  else if (g_str_equal (mode, "reflect"))
    p->mode = LATHE_PAD_REFLECT;
  else if (g_str_equal (mode, "edge"))
    p->mode = LATHE_PAD_EDGE;
  else if (g_str_equal (mode, "wrap") && node->since >= 19)
    p->mode = LATHE_PAD_WRAP;
  else
    {
      lathe_node_unsupported_attr (error, node, "mode=%s", mode);
      return FALSE;
    }

  if (node->since < 11)
    {
      /* Pad-1 named the attribute `paddings`, Pad-2 `pads`. */
      const char *name = node->since < 2 ? "paddings" : "pads";
      const gint64 *v = lathe_node_get_ints (node, name, &p->n_pads);

      if (v == NULL)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                "the %s attribute is required", name);
          return FALSE;
        }
      p->pads = g_memdup2 (v, p->n_pads * sizeof (gint64));
      p->value = lathe_node_get_float (node, "value", 0.f);
    }
  return TRUE;
}

/* The full begin/end pads for every axis of the data, from the attribute
 * or from the pads (and axes) inputs. */
static gboolean
pad_geometry (LatheNode      *node,
              LatheTensor   **inputs,
              gint64         *pads,
              gint64         *out_dims,
              GError        **error)
{
  const PadParams *p = node->params;
  const LatheTensor *x = inputs[0];
  guint rank = x->ndim;
  g_autofree gint64 *given = NULL;
  g_autofree gint64 *axes = NULL;
  gsize n_given, n_axes = rank;

  if (node->since < 11)
    {
      n_given = p->n_pads;
      given = g_memdup2 (p->pads, MAX (n_given, 1) * sizeof (gint64));
    }
  else
    {
      const LatheTensor *t = node->n_inputs > 1 ? inputs[1] : NULL;

      if (t == NULL || (t->dtype != LATHE_DTYPE_INT64 && t->dtype != LATHE_DTYPE_INT32) ||
          t->data == NULL)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "the pads input must be a constant int64 tensor");
          return FALSE;
        }
      given = lathe_tensor_to_int64_array (t, &n_given);
      if (node->since >= 18 && node->n_inputs > 3 && inputs[3] != NULL)
        {
          const LatheTensor *a = inputs[3];

          if ((a->dtype != LATHE_DTYPE_INT64 && a->dtype != LATHE_DTYPE_INT32) || a->data == NULL)
            {
              lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                    "the axes input must be a constant integer tensor");
              return FALSE;
            }
          axes = lathe_tensor_to_int64_array (a, &n_axes);
        }
    }

  if (n_given != 2 * n_axes)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "%" G_GSIZE_FORMAT " pads given for %" G_GSIZE_FORMAT
                            " axes (expected %" G_GSIZE_FORMAT ")",
                            n_given, n_axes, 2 * n_axes);
      return FALSE;
    }

  memset (pads, 0, 2 * rank * sizeof (gint64));
  for (gsize i = 0; i < n_axes; i++)
    {
      guint axis = (guint) i;

      if (axes != NULL)
        {
          if (!lathe_normalize_axis (node, axes[i], rank, &axis, error))
            return FALSE;
          for (gsize j = 0; j < i; j++)
            if (axes[j] == axes[i] || axes[j] + (gint64) rank == axes[i] ||
                axes[j] == axes[i] + (gint64) rank)
              {
                lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                      "axis %" G_GINT64_FORMAT " is listed twice", axes[i]);
                return FALSE;
              }
        }
      pads[axis] = given[i];
      pads[axis + rank] = given[i + n_axes];
    }

  for (guint d = 0; d < rank; d++)
    {
      gint64 kept = x->dims[d] - MAX (0, -pads[d]) - MAX (0, -pads[d + rank]);

      out_dims[d] = x->dims[d] + pads[d] + pads[d + rank];
      if (out_dims[d] < 0)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "pads %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                                " crop more than axis %u of size %" G_GINT64_FORMAT,
                                pads[d], pads[d + rank], d, x->dims[d]);
          return FALSE;
        }
      if (p->mode != LATHE_PAD_CONSTANT && kept <= 0 && out_dims[d] > 0)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "axis %u has no elements to extend in this mode", d);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
pad_infer (LatheNode     *node,
           LatheTensor  **inputs,
           LatheTensor  **outputs,
           gsize         *workspace,
           GError       **error)
{
  const PadParams *p = node->params;
  const LatheTensor *x = inputs[0];
  gint64 pads[2 * LATHE_MAX_DIMS], out_dims[LATHE_MAX_DIMS];

  if (!lathe_dtype_traits (x->dtype)->storable || lathe_dtype_size (x->dtype) == 0)
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  if (node->since < 11)
    {
      /* The float `value` attribute must be representable. */
      switch (x->dtype)
        {
        case LATHE_DTYPE_FLOAT:
        case LATHE_DTYPE_DOUBLE:
        case LATHE_DTYPE_FLOAT16:
          break;
        default:
          if (p->mode == LATHE_PAD_CONSTANT)
            {
              lathe_node_unsupported_type (error, node, x->dtype);
              return FALSE;
            }
        }
    }
  else if (node->n_inputs > 2 && inputs[2] != NULL)
    {
      const LatheTensor *v = inputs[2];

      if (v->dtype != x->dtype || v->n > 1)
        {
          g_autofree char *vs = lathe_shape_to_string (v->ndim, v->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "constant_value must be a %s scalar, got %s %s",
                                lathe_dtype_name (x->dtype), lathe_dtype_name (v->dtype), vs);
          return FALSE;
        }
    }

  if (!pad_geometry (node, inputs, pads, out_dims, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], x->dtype, x->ndim, out_dims);
  *workspace = lathe_pad_workspace_size (x->ndim, out_dims);
  return TRUE;
}

static gboolean
pad_run (LatheNode     *node,
         LatheTensor  **inputs,
         LatheTensor  **outputs,
         gpointer       workspace,
         GError       **error)
{
  const PadParams *p = node->params;
  const LatheTensor *x = inputs[0];
  gint64 pads[2 * LATHE_MAX_DIMS], out_dims[LATHE_MAX_DIMS];
  guint64 value[2] = { 0, 0 };   /* one element of any storable type */
  gsize esize = lathe_dtype_size (x->dtype);

  if (!pad_geometry (node, inputs, pads, out_dims, error))
    return FALSE;

  if (node->since < 11)
    switch (x->dtype)
      {
      case LATHE_DTYPE_FLOAT:
        memcpy (value, &p->value, sizeof (float));
        break;
      case LATHE_DTYPE_DOUBLE:
        {
          double d = p->value;
          memcpy (value, &d, sizeof d);
        }
        break;
      case LATHE_DTYPE_FLOAT16:
        {
          guint16 h = lathe_float_to_half (p->value);
          memcpy (value, &h, sizeof h);
        }
        break;
      default:
        break;   /* only reached in the non-constant modes */
      }
  else if (node->n_inputs > 2 && inputs[2] != NULL && inputs[2]->n == 1)
    memcpy (value, inputs[2]->data, esize);

  lathe_pad (x->ndim, x->dims, pads, p->mode, esize, value,
             x->data, outputs[0]->data, workspace);
  return TRUE;
}

/* Pad: 2 renames paddings to pads, 11 moves pads and the value to inputs,
 * 13 adds bfloat16 and strings, 18 the axes input, 19 wrap mode; 21, 23,
 * 24 and 25 only add element types. */
static const int pad_versions[] = { 1, 2, 11, 13, 18, 19, 21, 23, 24, 25, 0 };

const LatheOpDef _lathe_op_pad = {
  .op_type = "Pad", .versions = pad_versions,
  .min_inputs = 1, .max_inputs = 4, .min_outputs = 1, .max_outputs = 1,
  /* pads and axes decide the output shape */
  .const_inputs = (1u << 1) | (1u << 3),
  .setup = pad_setup, .infer = pad_infer, .run = pad_run,
};
