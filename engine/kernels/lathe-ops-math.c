/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-elementwise.h"
#include "kernels/lathe-ops-private.h"

/* ---------------------------------------------------------------------- */
/* Broadcasting                                                            */

typedef struct {
  guint  rank;
  gint64 dims[LATHE_MAX_DIMS];
  gint64 sa[LATHE_MAX_DIMS];    /* element strides of a (0 = broadcast) */
  gint64 sb[LATHE_MAX_DIMS];
} BroadcastLoop;

static void
input_strides (const LatheTensor *t,
               const LatheTensor *out,
               gint64            *strides)
{
  gint64 s = 1;

  for (int d = (int) out->ndim - 1; d >= 0; d--)
    {
      int td = d - (int) out->ndim + (int) t->ndim;
      if (td < 0 || t->dims[td] == 1)
        strides[d] = 0;
      else
        strides[d] = s;
      if (td >= 0)
        s *= t->dims[td];
    }
}

/* Merges neighbouring dimensions that both inputs walk the same way, so
 * [N,C,H,W] + [C,1,1] becomes two loops with a long contiguous inner one. */
static void
broadcast_loop_init (BroadcastLoop     *loop,
                     const LatheTensor *a,
                     const LatheTensor *b,
                     const LatheTensor *out)
{
  gint64 sa[LATHE_MAX_DIMS], sb[LATHE_MAX_DIMS];
  guint r = 0;

  input_strides (a, out, sa);
  input_strides (b, out, sb);

  for (guint d = 0; d < out->ndim; d++)
    {
      if (out->dims[d] == 1)
        continue;
      if (r > 0 &&
          ((sa[d] == 0 && loop->sa[r - 1] == 0) || (sa[d] != 0 && loop->sa[r - 1] == sa[d] * out->dims[d])) &&
          ((sb[d] == 0 && loop->sb[r - 1] == 0) || (sb[d] != 0 && loop->sb[r - 1] == sb[d] * out->dims[d])))
        {
          loop->dims[r - 1] *= out->dims[d];
          loop->sa[r - 1] = sa[d];
          loop->sb[r - 1] = sb[d];
          continue;
        }
      loop->dims[r] = out->dims[d];
      loop->sa[r] = sa[d];
      loop->sb[r] = sb[d];
      r++;
    }
  if (r == 0)
    {
      loop->dims[0] = 1;
      loop->sa[0] = 0;
      loop->sb[0] = 0;
      r = 1;
    }
  loop->rank = r;
}

static inline float
binary_scalar (LatheBinaryOp op, float x, float y)
{
  switch (op)
    {
    case LATHE_BINARY_ADD: return x + y;
    case LATHE_BINARY_SUB: return x - y;
    case LATHE_BINARY_MUL: return x * y;
    case LATHE_BINARY_DIV: return x / y;
    case LATHE_BINARY_POW: return powf (x, y);
    default: return 0.f;
    }
}

#define INNER_LOOPS(OPEXPR)                                                    \
  if (sa == 1 && sb == 1)                                                      \
    for (gint64 i = 0; i < n; i++) { float x = pa[i], y = pb[i]; po[i] = OPEXPR; } \
  else if (sa == 1 && sb == 0)                                                 \
    { float y = pb[0]; for (gint64 i = 0; i < n; i++) { float x = pa[i]; po[i] = OPEXPR; } } \
  else if (sa == 0 && sb == 1)                                                 \
    { float x = pa[0]; for (gint64 i = 0; i < n; i++) { float y = pb[i]; po[i] = OPEXPR; } } \
  else                                                                         \
    for (gint64 i = 0; i < n; i++) { float x = pa[i * sa], y = pb[i * sb]; po[i] = OPEXPR; }

static void
binary_inner (LatheBinaryOp op,
              const float *restrict pa, gint64 sa,
              const float *restrict pb, gint64 sb,
              float *restrict po, gint64 n)
{
  switch (op)
    {
    case LATHE_BINARY_ADD: INNER_LOOPS (x + y); break;
    case LATHE_BINARY_SUB: INNER_LOOPS (x - y); break;
    case LATHE_BINARY_MUL: INNER_LOOPS (x * y); break;
    case LATHE_BINARY_DIV: INNER_LOOPS (x / y); break;
    case LATHE_BINARY_POW: INNER_LOOPS (powf (x, y)); break;
    default: break;
    }
}

void
lathe_binary_f32 (LatheBinaryOp      op,
                  const LatheTensor *a,
                  const LatheTensor *b,
                  LatheTensor       *out)
{
  BroadcastLoop loop;
  gint64 idx[LATHE_MAX_DIMS] = { 0 };
  const float *A = a->data, *B = b->data;
  float *O = out->data;
  gint64 inner, outer = 1, oa = 0, ob = 0;
  guint r;

  if (out->n == 0)
    return;
  broadcast_loop_init (&loop, a, b, out);
  r = loop.rank;
  inner = loop.dims[r - 1];
  for (guint d = 0; d + 1 < r; d++)
    outer *= loop.dims[d];

  for (gint64 o = 0; o < outer; o++)
    {
      binary_inner (op, A + oa, loop.sa[r - 1], B + ob, loop.sb[r - 1], O + o * inner, inner);
      /* odometer over the outer dimensions */
      for (int d = (int) r - 2; d >= 0; d--)
        {
          idx[d]++;
          oa += loop.sa[d];
          ob += loop.sb[d];
          if (idx[d] < loop.dims[d])
            break;
          oa -= loop.sa[d] * loop.dims[d];
          ob -= loop.sb[d] * loop.dims[d];
          idx[d] = 0;
        }
    }
}

static gsize
broadcast_offset (const LatheTensor *t,
                  const LatheTensor *out,
                  gsize              flat)
{
  gsize off = 0, stride = 1;

  for (int d = (int) out->ndim - 1; d >= 0; d--)
    {
      gsize i = flat % (gsize) out->dims[d];
      int td = d - (int) out->ndim + (int) t->ndim;
      flat /= (gsize) out->dims[d];
      if (td >= 0)
        {
          if (t->dims[td] != 1)
            off += i * stride;
          stride *= (gsize) t->dims[td];
        }
    }
  return off;
}

void
lathe_binary_f32_ref (LatheBinaryOp      op,
                      const LatheTensor *a,
                      const LatheTensor *b,
                      LatheTensor       *out)
{
  for (gsize i = 0; i < out->n; i++)
    lathe_tensor_f32 (out)[i] = binary_scalar (op,
                                               lathe_tensor_f32 (a)[broadcast_offset (a, out, i)],
                                               lathe_tensor_f32 (b)[broadcast_offset (b, out, i)]);
}

/* Every other numeric type goes through one scalar path: integers in 64-bit
 * integer arithmetic (wrapping like C, division truncating like ONNX's
 * reference), floating types in double. These serve shape arithmetic and
 * the odd integer model, not hot loops. */
static gboolean
dtype_is_int (LatheDType t)
{
  switch (t)
    {
    case LATHE_DTYPE_INT8: case LATHE_DTYPE_UINT8: case LATHE_DTYPE_INT16: case LATHE_DTYPE_UINT16:
    case LATHE_DTYPE_INT32: case LATHE_DTYPE_UINT32: case LATHE_DTYPE_INT64: case LATHE_DTYPE_UINT64:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
dtype_is_unsigned (LatheDType t)
{
  return t == LATHE_DTYPE_UINT8 || t == LATHE_DTYPE_UINT16 || t == LATHE_DTYPE_UINT32 ||
         t == LATHE_DTYPE_UINT64;
}

static gboolean
dtype_is_numeric (LatheDType t)
{
  return dtype_is_int (t) || t == LATHE_DTYPE_FLOAT || t == LATHE_DTYPE_DOUBLE;
}

static gint64
load_i64 (const LatheTensor *t, gsize i)
{
  switch (t->dtype)
    {
    case LATHE_DTYPE_INT8:   return ((const gint8 *) t->data)[i];
    case LATHE_DTYPE_UINT8:  return ((const guint8 *) t->data)[i];
    case LATHE_DTYPE_INT16:  return ((const gint16 *) t->data)[i];
    case LATHE_DTYPE_UINT16: return ((const guint16 *) t->data)[i];
    case LATHE_DTYPE_INT32:  return ((const gint32 *) t->data)[i];
    case LATHE_DTYPE_UINT32: return ((const guint32 *) t->data)[i];
    case LATHE_DTYPE_INT64:  return ((const gint64 *) t->data)[i];
    case LATHE_DTYPE_UINT64: return (gint64) ((const guint64 *) t->data)[i];
    case LATHE_DTYPE_FLOAT:  return (gint64) ((const float *) t->data)[i];
    case LATHE_DTYPE_DOUBLE: return (gint64) ((const double *) t->data)[i];
    default: return 0;
    }
}

static double
load_f64 (const LatheTensor *t, gsize i)
{
  switch (t->dtype)
    {
    case LATHE_DTYPE_FLOAT:  return ((const float *) t->data)[i];
    case LATHE_DTYPE_DOUBLE: return ((const double *) t->data)[i];
    case LATHE_DTYPE_UINT64: return (double) ((const guint64 *) t->data)[i];
    default: return (double) load_i64 (t, i);
    }
}

static void
store_i64 (LatheTensor *t, gsize i, gint64 v)
{
  switch (t->dtype)
    {
    case LATHE_DTYPE_INT8:   ((gint8 *) t->data)[i] = (gint8) v; break;
    case LATHE_DTYPE_UINT8:  ((guint8 *) t->data)[i] = (guint8) v; break;
    case LATHE_DTYPE_INT16:  ((gint16 *) t->data)[i] = (gint16) v; break;
    case LATHE_DTYPE_UINT16: ((guint16 *) t->data)[i] = (guint16) v; break;
    case LATHE_DTYPE_INT32:  ((gint32 *) t->data)[i] = (gint32) v; break;
    case LATHE_DTYPE_UINT32: ((guint32 *) t->data)[i] = (guint32) v; break;
    case LATHE_DTYPE_INT64:  ((gint64 *) t->data)[i] = v; break;
    case LATHE_DTYPE_UINT64: ((guint64 *) t->data)[i] = (guint64) v; break;
    default: break;
    }
}

static void
store_f64 (LatheTensor *t, gsize i, double v)
{
  if (t->dtype == LATHE_DTYPE_FLOAT)
    ((float *) t->data)[i] = (float) v;
  else if (t->dtype == LATHE_DTYPE_DOUBLE)
    ((double *) t->data)[i] = v;
  else if (t->dtype == LATHE_DTYPE_UINT64)
    ((guint64 *) t->data)[i] = (guint64) v;
  else
    store_i64 (t, i, (gint64) v);
}

static gboolean
binary_generic (LatheNode          *node,
                LatheBinaryOp       op,
                const LatheTensor  *a,
                const LatheTensor  *b,
                LatheTensor        *out,
                GError            **error)
{
  gboolean as_int = dtype_is_int (out->dtype) && op != LATHE_BINARY_POW;
  gboolean uns = dtype_is_unsigned (out->dtype);

  for (gsize i = 0; i < out->n; i++)
    {
      gsize ia = broadcast_offset (a, out, i);
      gsize ib = broadcast_offset (b, out, i);

      if (as_int)
        {
          gint64 x = load_i64 (a, ia), y = load_i64 (b, ib), r = 0;
          switch (op)
            {
            case LATHE_BINARY_ADD: r = (gint64) ((guint64) x + (guint64) y); break;
            case LATHE_BINARY_SUB: r = (gint64) ((guint64) x - (guint64) y); break;
            case LATHE_BINARY_MUL: r = (gint64) ((guint64) x * (guint64) y); break;
            case LATHE_BINARY_DIV:
              if (y == 0)
                {
                  lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_VALUE,
                                        "integer division by zero");
                  return FALSE;
                }
              r = uns ? (gint64) ((guint64) x / (guint64) y)
                      : (x == G_MININT64 && y == -1) ? x : x / y;
              break;
            default: break;
            }
          store_i64 (out, i, r);
        }
      else
        {
          double x = load_f64 (a, ia), y = load_f64 (b, ib);
          double r = op == LATHE_BINARY_POW ? pow (x, y) : 0;
          switch (op)
            {
            case LATHE_BINARY_ADD: r = x + y; break;
            case LATHE_BINARY_SUB: r = x - y; break;
            case LATHE_BINARY_MUL: r = x * y; break;
            case LATHE_BINARY_DIV: r = x / y; break;
            default: break;
            }
          store_f64 (out, i, r);
        }
    }
  return TRUE;
}

typedef struct {
  LatheBinaryOp op;
  gboolean      legacy_broadcast;   /* opset < 7: `broadcast` attribute */
  gint64        legacy_axis;
  gboolean      has_legacy_axis;
} BinaryParams;

static gboolean
binary_setup (LatheNode     *node,
              LatheBinaryOp  op,
              GError       **error)
{
  BinaryParams *p = g_new0 (BinaryParams, 1);

  p->op = op;
  node->params = p;
  node->params_free = g_free;
  if (node->since < 7)
    {
      const LatheAttr *axis = lathe_node_get_attr (node, "axis");
      p->legacy_broadcast = lathe_node_get_int (node, "broadcast", 0) != 0;
      p->has_legacy_axis = axis != NULL;
      p->legacy_axis = axis ? axis->i : 0;
    }
  return TRUE;
}

#define BINARY_SETUP(name, OP) \
  static gboolean name##_setup (LatheNode *node, GError **error) { return binary_setup (node, OP, error); }
BINARY_SETUP (add, LATHE_BINARY_ADD)
BINARY_SETUP (sub, LATHE_BINARY_SUB)
BINARY_SETUP (mul, LATHE_BINARY_MUL)
BINARY_SETUP (div, LATHE_BINARY_DIV)
BINARY_SETUP (pow, LATHE_BINARY_POW)

/* Before opset 7, B broadcasts onto A from `axis` (default: aligned to the
 * right) only when broadcast=1; otherwise the shapes must match. We express
 * that as B's shape padded with ones to A's rank. */
static gboolean
legacy_b_shape (LatheNode          *node,
                const BinaryParams *p,
                const LatheTensor  *a,
                const LatheTensor  *b,
                LatheTensor        *bview,
                GError            **error)
{
  gint64 dims[LATHE_MAX_DIMS];
  gint64 axis;

  *bview = *b;
  if (!p->legacy_broadcast)
    {
      if (!lathe_tensor_same_shape (a, b))
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "shapes differ and broadcast=0");
          return FALSE;
        }
      return TRUE;
    }
  axis = p->has_legacy_axis ? p->legacy_axis : (gint64) a->ndim - (gint64) b->ndim;
  if (axis < 0)
    axis += a->ndim;
  if (axis < 0 || axis + b->ndim > a->ndim)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "legacy broadcast axis %" G_GINT64_FORMAT " does not fit", axis);
      return FALSE;
    }
  for (guint d = 0; d < a->ndim; d++)
    dims[d] = (d >= axis && d < axis + b->ndim) ? b->dims[d - axis] : 1;
  bview->ndim = a->ndim;
  memcpy (bview->dims, dims, sizeof dims);
  return TRUE;
}

static gboolean
binary_dtype_ok (const BinaryParams *p,
                 LatheDType          a,
                 LatheDType          b)
{
  /* Pow may raise to an exponent of another numeric type (opset 12+). */
  if (p->op == LATHE_BINARY_POW)
    return dtype_is_numeric (a) && dtype_is_numeric (b);
  return a == b && dtype_is_numeric (a);
}

static gboolean
binary_infer (LatheNode    *node,
              LatheTensor **inputs,
              LatheTensor **outputs,
              gsize        *workspace,
              GError      **error)
{
  BinaryParams *p = node->params;
  LatheTensor bview;
  LatheTensor *pair[2];

  if (!binary_dtype_ok (p, inputs[0]->dtype, inputs[1]->dtype))
    {
      if (!dtype_is_numeric (inputs[0]->dtype) || !dtype_is_numeric (inputs[1]->dtype))
        lathe_node_unsupported_type (error, node,
                                     dtype_is_numeric (inputs[0]->dtype) ? inputs[1]->dtype : inputs[0]->dtype);
      else
        lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                              "operands are %s and %s", lathe_dtype_name (inputs[0]->dtype),
                              lathe_dtype_name (inputs[1]->dtype));
      return FALSE;
    }

  if (node->since < 7)
    {
      if (!legacy_b_shape (node, p, inputs[0], inputs[1], &bview, error))
        return FALSE;
      pair[0] = inputs[0];
      pair[1] = &bview;
    }
  else
    {
      pair[0] = inputs[0];
      pair[1] = inputs[1];
    }

  outputs[0]->dtype = inputs[0]->dtype;
  return lathe_broadcast_shape (node, 2, pair, outputs[0], error);
}

static gboolean
binary_run (LatheNode    *node,
            LatheTensor **inputs,
            LatheTensor **outputs,
            gpointer      workspace,
            GError      **error)
{
  BinaryParams *p = node->params;
  LatheTensor bview;
  const LatheTensor *a = inputs[0], *b = inputs[1];
  LatheTensor *out = outputs[0];
  LatheBinaryOp op = p->op;

  if (node->since < 7)
    {
      if (!legacy_b_shape (node, p, inputs[0], inputs[1], &bview, error))
        return FALSE;
      b = &bview;
    }

  if (a->dtype == LATHE_DTYPE_FLOAT && b->dtype == LATHE_DTYPE_FLOAT)
    lathe_binary_f32 (op, a, b, out);
  else
    return binary_generic (node, op, a, b, out, error);
  return TRUE;
}

static const int arith_versions[] = { 1, 6, 7, 13, 14, 0 };
static const int pow_versions[] = { 1, 7, 12, 13, 15, 0 };

#define BINARY_OP(var, NAME, versions_)                                        \
  static const LatheOpDef var = {                                              \
    .op_type = NAME, .versions = versions_,                                    \
    .min_inputs = 2, .max_inputs = 2, .min_outputs = 1, .max_outputs = 1,      \
    .setup = var##_setup_fn, .infer = binary_infer, .run = binary_run,         \
  };

#define add_op_setup_fn add_setup
#define sub_op_setup_fn sub_setup
#define mul_op_setup_fn mul_setup
#define div_op_setup_fn div_setup
#define pow_op_setup_fn pow_setup
BINARY_OP (add_op, "Add", arith_versions)
BINARY_OP (sub_op, "Sub", arith_versions)
BINARY_OP (mul_op, "Mul", arith_versions)
BINARY_OP (div_op, "Div", arith_versions)
BINARY_OP (pow_op, "Pow", pow_versions)

/* ---------------------------------------------------------------------- */
/* Unary                                                                   */

typedef enum {
  UNARY_SQRT,
  UNARY_ERF,
  UNARY_RELU,
  UNARY_LEAKY_RELU,
  UNARY_SIGMOID,
  UNARY_TANH,
  UNARY_CLIP,
} UnaryKind;

typedef struct {
  UnaryKind kind;
  float     alpha;       /* LeakyRelu */
  float     lo, hi;      /* Clip before opset 11 */
} UnaryParams;

static gboolean
unary_setup_kind (LatheNode *node,
                  UnaryKind  kind)
{
  UnaryParams *p = g_new0 (UnaryParams, 1);

  p->kind = kind;
  p->alpha = lathe_node_get_float (node, "alpha", 0.01f);
  p->lo = lathe_node_get_float (node, "min", -INFINITY);
  p->hi = lathe_node_get_float (node, "max", INFINITY);
  node->params = p;
  node->params_free = g_free;
  return TRUE;
}

#define UNARY_SETUP(name, KIND) \
  static gboolean name##_setup (LatheNode *node, GError **error) { return unary_setup_kind (node, KIND); }
UNARY_SETUP (sqrt, UNARY_SQRT)
UNARY_SETUP (erf, UNARY_ERF)
UNARY_SETUP (relu, UNARY_RELU)
UNARY_SETUP (leaky_relu, UNARY_LEAKY_RELU)
UNARY_SETUP (sigmoid, UNARY_SIGMOID)
UNARY_SETUP (tanh, UNARY_TANH)
UNARY_SETUP (clip, UNARY_CLIP)

static gboolean
unary_infer (LatheNode    *node,
             LatheTensor **inputs,
             LatheTensor **outputs,
             gsize        *workspace,
             GError      **error)
{
  const UnaryParams *p = node->params;
  LatheDType t = inputs[0]->dtype;

  /* Clip (opset 12+) and Relu (14+) are defined for integers too. */
  if (t != LATHE_DTYPE_FLOAT &&
      !((p->kind == UNARY_CLIP || p->kind == UNARY_RELU) && dtype_is_numeric (t)))
    {
      lathe_node_unsupported_type (error, node, t);
      return FALSE;
    }
  for (guint i = 1; i < node->n_inputs; i++)
    if (inputs[i] != NULL && (inputs[i]->dtype != t || inputs[i]->n != 1))
      {
        if (inputs[i]->dtype != t)
          lathe_node_unsupported_type (error, node, inputs[i]->dtype);
        else
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "input %u must be a scalar", i);
        return FALSE;
      }
  lathe_tensor_set_meta (outputs[0], t, inputs[0]->ndim, inputs[0]->dims);
  return TRUE;
}

static gboolean
unary_run (LatheNode    *node,
           LatheTensor **inputs,
           LatheTensor **outputs,
           gpointer      workspace,
           GError      **error)
{
  const UnaryParams *p = node->params;
  const float *restrict x = inputs[0]->data;
  float *restrict y = outputs[0]->data;
  gsize n = inputs[0]->n;

  if (inputs[0]->dtype != LATHE_DTYPE_FLOAT)
    {
      /* integer Clip / Relu, and double */
      gboolean has_lo = p->kind == UNARY_CLIP && node->n_inputs > 1 && inputs[1] != NULL;
      gboolean has_hi = p->kind == UNARY_CLIP && node->n_inputs > 2 && inputs[2] != NULL;
      for (gsize i = 0; i < n; i++)
        {
          double v = load_f64 (inputs[0], i);
          if (p->kind == UNARY_RELU && v < 0)
            v = 0;
          if (has_lo && v < load_f64 (inputs[1], 0))
            v = load_f64 (inputs[1], 0);
          if (has_hi && v > load_f64 (inputs[2], 0))
            v = load_f64 (inputs[2], 0);
          if (dtype_is_int (inputs[0]->dtype) && inputs[0]->dtype != LATHE_DTYPE_UINT64)
            store_i64 (outputs[0], i, p->kind == UNARY_CLIP && v == load_f64 (inputs[0], i)
                                      ? load_i64 (inputs[0], i) : (gint64) v);
          else
            store_f64 (outputs[0], i, v);
        }
      return TRUE;
    }

  switch (p->kind)
    {
    case UNARY_SQRT:
      for (gsize i = 0; i < n; i++)
        y[i] = sqrtf (x[i]);
      break;
    case UNARY_ERF:
      for (gsize i = 0; i < n; i++)
        y[i] = erff (x[i]);
      break;
    case UNARY_RELU:
      for (gsize i = 0; i < n; i++)
        y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case UNARY_LEAKY_RELU:
      {
        float alpha = p->alpha;
        for (gsize i = 0; i < n; i++)
          y[i] = x[i] >= 0.f ? x[i] : alpha * x[i];
      }
      break;
    case UNARY_SIGMOID:
      for (gsize i = 0; i < n; i++)
        y[i] = 1.f / (1.f + expf (-x[i]));
      break;
    case UNARY_TANH:
      for (gsize i = 0; i < n; i++)
        y[i] = tanhf (x[i]);
      break;
    case UNARY_CLIP:
      {
        float lo = p->lo, hi = p->hi;
        if (node->since >= 11)
          {
            lo = node->n_inputs > 1 && inputs[1] ? lathe_tensor_f32 (inputs[1])[0] : -INFINITY;
            hi = node->n_inputs > 2 && inputs[2] ? lathe_tensor_f32 (inputs[2])[0] : INFINITY;
          }
        /* ONNX: min applied first, then max, so min > max gives max. */
        for (gsize i = 0; i < n; i++)
          {
            float v = x[i] < lo ? lo : x[i];
            y[i] = v > hi ? hi : v;
          }
      }
      break;
    default:
      break;
    }
  return TRUE;
}

#define UNARY_OP(var, NAME, setup_fn, versions_, max_in)                       \
  static const LatheOpDef var = {                                              \
    .op_type = NAME, .versions = versions_,                                    \
    .min_inputs = 1, .max_inputs = max_in, .min_outputs = 1, .max_outputs = 1, \
    .setup = setup_fn, .infer = unary_infer, .run = unary_run,                 \
  };

static const int v_1_6_13[] = { 1, 6, 13, 0 };
static const int v_erf[] = { 9, 13, 0 };
static const int v_relu[] = { 1, 6, 13, 14, 0 };
static const int v_leaky[] = { 1, 6, 16, 0 };
static const int v_clip[] = { 1, 6, 11, 12, 13, 0 };

UNARY_OP (sqrt_op, "Sqrt", sqrt_setup, v_1_6_13, 1)
UNARY_OP (erf_op, "Erf", erf_setup, v_erf, 1)
UNARY_OP (relu_op, "Relu", relu_setup, v_relu, 1)
UNARY_OP (leaky_relu_op, "LeakyRelu", leaky_relu_setup, v_leaky, 1)
UNARY_OP (sigmoid_op, "Sigmoid", sigmoid_setup, v_1_6_13, 1)
UNARY_OP (tanh_op, "Tanh", tanh_setup, v_1_6_13, 1)
UNARY_OP (clip_op, "Clip", clip_setup, v_clip, 3)

const LatheOpDef * const _lathe_ops_math[] = {
  &add_op, &sub_op, &mul_op, &div_op, &pow_op,
  &sqrt_op, &erf_op, &relu_op, &leaky_relu_op, &sigmoid_op, &tanh_op, &clip_op,
  NULL
};
