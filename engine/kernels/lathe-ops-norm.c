/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-op.h"
#include "kernels/lathe-ops-private.h"

/* Normalisation ops: BatchNormalization (inference), LayerNormalization,
 * Softmax, LogSoftmax, ReduceMean. float32 compute; ReduceMean also takes
 * int32/int64. */

/* Kernels with a scalar _ref twin; tests/kernels/test-norm.c declares and
 * compares them (there is no header for kernel internals). */
void _lathe_norm_exp_f32             (float        *y,
                                      const float  *x,
                                      gsize         n);
void _lathe_norm_exp_f32_ref         (float        *y,
                                      const float  *x,
                                      gsize         n);
void _lathe_norm_softmax_f32         (float        *y,
                                      const float  *x,
                                      gsize         outer,
                                      gsize         len,
                                      gsize         inner,
                                      gboolean      log_softmax,
                                      float        *work);
void _lathe_norm_softmax_f32_ref     (float        *y,
                                      const float  *x,
                                      gsize         outer,
                                      gsize         len,
                                      gsize         inner,
                                      gboolean      log_softmax);
void _lathe_norm_bn_fold_f32         (float        *a,
                                      float        *b,
                                      const float  *scale,
                                      const float  *bias,
                                      const float  *mean,
                                      const float  *var,
                                      float         epsilon,
                                      gsize         n);
void _lathe_norm_affine_f32          (float        *y,
                                      const float  *x,
                                      gsize         outer,
                                      gsize         channels,
                                      gsize         inner,
                                      const float  *a,
                                      const float  *b);
void _lathe_norm_batchnorm_f32_ref   (float        *y,
                                      const float  *x,
                                      gsize         outer,
                                      gsize         channels,
                                      gsize         inner,
                                      const float  *scale,
                                      const float  *bias,
                                      const float  *mean,
                                      const float  *var,
                                      float         epsilon);

/* ------------------------------------------------------------------------
 * Four float lanes through GCC/Clang vector extensions: SSE2 on x86-64 and
 * NEON on arm64 without intrinsics to maintain per target, and plain scalar
 * code where neither exists. */

typedef float  v4f __attribute__ ((vector_size (16)));
typedef gint32 v4i __attribute__ ((vector_size (16)));
#define V4 4

static inline v4f
v4f_load (const float *p)
{
  v4f v;
  memcpy (&v, p, sizeof v);   /* unaligned load */
  return v;
}

static inline void
v4f_store (float *p,
           v4f    v)
{
  memcpy (p, &v, sizeof v);
}

static inline v4f
v4f_splat (float f)
{
  return (v4f) { f, f, f, f };
}

/* m ? a : b, lane by lane (GCC's C front end has no vector ?:). */
static inline v4f
v4f_select (v4i m,
            v4f a,
            v4f b)
{
  return (v4f) (((v4i) a & m) | ((v4i) b & ~m));
}

static inline v4f
v4f_max (v4f a,
         v4f b)
{
  return v4f_select (a > b, a, b);
}

static inline float
v4f_hmax (v4f v)
{
  return MAX (MAX (v[0], v[1]), MAX (v[2], v[3]));
}

static inline float
v4f_hsum (v4f v)
{
  return (v[0] + v[1]) + (v[2] + v[3]);
}

/* exp(x) for x <= 88 (softmax feeds x - max <= 0): Cephes' expf, i.e.
 * x = n·ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r and 2^n
 * built in the exponent bits. Relative error under 1e-7 (about 1 ulp);
 * results below FLT_MIN flush to 0; NaN stays NaN (the clamps keep NaN
 * lanes as they are). */
static inline v4f
v4f_exp (v4f x)
{
  const v4f hi = v4f_splat (88.0f);
  const v4f lo = v4f_splat (-87.33654f);
  const v4f magic = v4f_splat (12582912.0f);   /* 1.5·2^23: rounds to an integer */
  v4i under = x < lo;
  v4f t, n, r, p;
  v4i bits;

  x = v4f_select (x > hi, hi, x);
  x = v4f_select (under, lo, x);
  t = x * v4f_splat (1.44269504088896341f) + magic;
  n = t - magic;
  r = x - n * v4f_splat (0.693359375f) - n * v4f_splat (-2.12194440e-4f);
  p = v4f_splat (1.9875691500e-4f);
  p = p * r + v4f_splat (1.3981999507e-3f);
  p = p * r + v4f_splat (8.3334519073e-3f);
  p = p * r + v4f_splat (4.1665795894e-2f);
  p = p * r + v4f_splat (1.6666665459e-1f);
  p = p * r + v4f_splat (5.0000001201e-1f);
  p = p * r * r + r + v4f_splat (1.0f);
  /* the low mantissa bits of t hold n; move n + 127 into the exponent */
  bits = ((v4i) t - 0x4B400000 + 127) << 23;
  p = p * (v4f) bits;
  return (v4f) ((v4i) p & ~under);
}

static inline float
exp1 (float x)
{
  return v4f_exp (v4f_splat (x))[0];
}

void
_lathe_norm_exp_f32 (float       *y,
                     const float *x,
                     gsize        n)
{
  gsize i = 0;

  for (; i + V4 <= n; i += V4)
    v4f_store (y + i, v4f_exp (v4f_load (x + i)));
  for (; i < n; i++)
    y[i] = exp1 (x[i]);
}

void
_lathe_norm_exp_f32_ref (float       *y,
                         const float *x,
                         gsize        n)
{
  for (gsize i = 0; i < n; i++)
    y[i] = expf (x[i]);
}

/* ------------------------------------------------------------------------
 * Softmax over `len` elements `inner` apart, for `outer` blocks. */

static void
softmax_row (float       *y,
             const float *x,
             gsize        len,
             gboolean     log_softmax)
{
  v4f vm = v4f_splat (-INFINITY);
  v4f vs = v4f_splat (0.0f);
  float m, s;
  gsize i;

  if (len == 0)
    return;

  for (i = 0; i + V4 <= len; i += V4)
    vm = v4f_max (vm, v4f_load (x + i));
  m = v4f_hmax (vm);
  for (; i < len; i++)
    m = MAX (m, x[i]);

  for (i = 0; i + V4 <= len; i += V4)
    {
      v4f e = v4f_exp (v4f_load (x + i) - v4f_splat (m));
      if (!log_softmax)
        v4f_store (y + i, e);
      vs += e;
    }
  s = v4f_hsum (vs);
  for (; i < len; i++)
    {
      float e = exp1 (x[i] - m);
      if (!log_softmax)
        y[i] = e;
      s += e;
    }

  if (log_softmax)
    {
      v4f shift = v4f_splat (m + logf (s));
      for (i = 0; i + V4 <= len; i += V4)
        v4f_store (y + i, v4f_load (x + i) - shift);
      for (; i < len; i++)
        y[i] = x[i] - shift[0];
    }
  else
    {
      v4f inv = v4f_splat (1.0f / s);
      for (i = 0; i + V4 <= len; i += V4)
        v4f_store (y + i, v4f_load (y + i) * inv);
      for (; i < len; i++)
        y[i] *= inv[0];
    }
}

/* Axis not innermost: walk the axis with whole contiguous `inner` rows so
 * the lanes run along memory; m and s are `inner` floats each of work. */
static void
softmax_strided (float       *y,
                 const float *x,
                 gsize        len,
                 gsize        inner,
                 gboolean     log_softmax,
                 float       *m,
                 float       *s)
{
  gsize i;

  if (len == 0)
    return;

  memcpy (m, x, inner * sizeof (float));
  for (gsize a = 1; a < len; a++)
    {
      const float *xa = x + a * inner;
      for (i = 0; i + V4 <= inner; i += V4)
        v4f_store (m + i, v4f_max (v4f_load (m + i), v4f_load (xa + i)));
      for (; i < inner; i++)
        m[i] = xa[i] > m[i] ? xa[i] : m[i];
    }

  memset (s, 0, inner * sizeof (float));
  for (gsize a = 0; a < len; a++)
    {
      const float *xa = x + a * inner;
      float *ya = y + a * inner;
      for (i = 0; i + V4 <= inner; i += V4)
        {
          v4f e = v4f_exp (v4f_load (xa + i) - v4f_load (m + i));
          if (!log_softmax)
            v4f_store (ya + i, e);
          v4f_store (s + i, v4f_load (s + i) + e);
        }
      for (; i < inner; i++)
        {
          float e = exp1 (xa[i] - m[i]);
          if (!log_softmax)
            ya[i] = e;
          s[i] += e;
        }
    }

  /* turn s into what each element needs: 1/s, or m + log s */
  for (i = 0; i < inner; i++)
    s[i] = log_softmax ? m[i] + logf (s[i]) : 1.0f / s[i];

  for (gsize a = 0; a < len; a++)
    {
      const float *xa = x + a * inner;
      float *ya = y + a * inner;
      if (log_softmax)
        {
          for (i = 0; i + V4 <= inner; i += V4)
            v4f_store (ya + i, v4f_load (xa + i) - v4f_load (s + i));
          for (; i < inner; i++)
            ya[i] = xa[i] - s[i];
        }
      else
        {
          for (i = 0; i + V4 <= inner; i += V4)
            v4f_store (ya + i, v4f_load (ya + i) * v4f_load (s + i));
          for (; i < inner; i++)
            ya[i] *= s[i];
        }
    }
}

/* work: 2·inner floats when inner > 1, unused otherwise. */
void
_lathe_norm_softmax_f32 (float       *y,
                         const float *x,
                         gsize        outer,
                         gsize        len,
                         gsize        inner,
                         gboolean     log_softmax,
                         float       *work)
{
  gsize block = len * inner;

  for (gsize o = 0; o < outer; o++)
    if (inner == 1)
      softmax_row (y + o * block, x + o * block, len, log_softmax);
    else if (inner > 1)
      softmax_strided (y + o * block, x + o * block, len, inner, log_softmax,
                       work, work + inner);
}

void
_lathe_norm_softmax_f32_ref (float       *y,
                             const float *x,
                             gsize        outer,
                             gsize        len,
                             gsize        inner,
                             gboolean     log_softmax)
{
  for (gsize o = 0; o < outer; o++)
    for (gsize k = 0; k < inner; k++)
      {
        const float *xr = x + o * len * inner + k;
        float *yr = y + o * len * inner + k;
        float m = -INFINITY;
        float s = 0.0f;

        for (gsize a = 0; a < len; a++)
          m = xr[a * inner] > m ? xr[a * inner] : m;
        for (gsize a = 0; a < len; a++)
          s += expf (xr[a * inner] - m);
        for (gsize a = 0; a < len; a++)
          yr[a * inner] = log_softmax ? xr[a * inner] - m - logf (s)
                                      : expf (xr[a * inner] - m) / s;
      }
}

/* ------------------------------------------------------------------------
 * Batch-norm as one affine map per channel: y = a·x + b with
 * a = scale / sqrt(var + eps) and b = B − mean·a (folded in double so the
 * fold adds no error of its own). */

void
_lathe_norm_bn_fold_f32 (float       *a,
                         float       *b,
                         const float *scale,
                         const float *bias,
                         const float *mean,
                         const float *var,
                         float        epsilon,
                         gsize        n)
{
  for (gsize c = 0; c < n; c++)
    {
      double ac = (double) scale[c] / sqrt ((double) var[c] + (double) epsilon);
      a[c] = (float) ac;
      b[c] = (float) ((double) bias[c] - (double) mean[c] * ac);
    }
}

void
_lathe_norm_affine_f32 (float       *y,
                        const float *x,
                        gsize        outer,
                        gsize        channels,
                        gsize        inner,
                        const float *a,
                        const float *b)
{
  for (gsize o = 0; o < outer; o++)
    {
      const float *xo = x + o * channels * inner;
      float *yo = y + o * channels * inner;
      gsize i;

      if (inner == 1)
        {
          /* one coefficient pair per element (spatial=0, or 2-D input) */
          for (i = 0; i + V4 <= channels; i += V4)
            v4f_store (yo + i, v4f_load (xo + i) * v4f_load (a + i) + v4f_load (b + i));
          for (; i < channels; i++)
            yo[i] = xo[i] * a[i] + b[i];
          continue;
        }

      for (gsize c = 0; c < channels; c++)
        {
          const float *xc = xo + c * inner;
          float *yc = yo + c * inner;
          v4f va = v4f_splat (a[c]);
          v4f vb = v4f_splat (b[c]);

          for (i = 0; i + V4 <= inner; i += V4)
            v4f_store (yc + i, v4f_load (xc + i) * va + vb);
          for (; i < inner; i++)
            yc[i] = xc[i] * a[c] + b[c];
        }
    }
}

void
_lathe_norm_batchnorm_f32_ref (float       *y,
                               const float *x,
                               gsize        outer,
                               gsize        channels,
                               gsize        inner,
                               const float *scale,
                               const float *bias,
                               const float *mean,
                               const float *var,
                               float        epsilon)
{
  for (gsize o = 0; o < outer; o++)
    for (gsize c = 0; c < channels; c++)
      for (gsize i = 0; i < inner; i++)
        {
          gsize k = (o * channels + c) * inner + i;
          y[k] = (x[k] - mean[c]) / sqrtf (var[c] + epsilon) * scale[c] + bias[c];
        }
}

/* ------------------------------------------------------------------------
 * Shared helpers */

static gsize
dims_product (const gint64 *dims,
              guint         from,
              guint         to)
{
  gsize p = 1;

  for (guint d = from; d < to; d++)
    p *= (gsize) dims[d];
  return p;
}

static gboolean
require_float (const LatheNode    *node,
               const LatheTensor  *t,
               GError            **error)
{
  if (t->dtype != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_type (error, node, t->dtype);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * BatchNormalization (inference) */

typedef struct {
  gconstpointer src[4];   /* data of scale, B, mean, var it was folded from */
  gsize         n;
  float         ab[];     /* a[0..n), then b[0..n) */
} BnFolded;

typedef struct {
  float      epsilon;
  gboolean   spatial;
  /* Folded coefficients for constant parameters, made in infer(). A
   * concurrent run() may be reading the current one, so a refold swaps in a
   * new block and keeps the old one until the node is freed. */
  GMutex     lock;
  BnFolded  *folded;
  GPtrArray *retired;
} BnParams;

static void
bn_params_free (gpointer data)
{
  BnParams *p = data;

  g_mutex_clear (&p->lock);
  g_free (p->folded);
  g_ptr_array_unref (p->retired);
  g_free (p);
}

static gboolean
bn_setup (LatheNode  *node,
          GError    **error)
{
  BnParams *p;
  gboolean spatial = TRUE;

  /* Extra outputs are the training outputs at every version: running mean
   * and variance (14+), or mean, var, saved_mean, saved_var (before 14). */
  for (guint o = 1; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0)
      {
        lathe_node_unsupported_attr (error, node,
                                     "output %u (training statistics) is requested; "
                                     "only inference with Y alone is supported", o);
        return FALSE;
      }

  if (node->since >= 14 && lathe_node_get_int (node, "training_mode", 0) != 0)
    {
      lathe_node_unsupported_attr (error, node, "training_mode=%" G_GINT64_FORMAT,
                                   lathe_node_get_int (node, "training_mode", 0));
      return FALSE;
    }

  /* Before 9, spatial=0 means per-activation parameters of shape
   * (C, D1, …, Dn); infer() checks the parameters have that shape. is_test
   * (1, 6) and consumed_inputs (1) need nothing: with Y alone the node is in
   * test mode ("output case #2"), and consumed_inputs was an in-place hint. */
  if (node->since < 9)
    spatial = lathe_node_get_int (node, "spatial", 1) != 0;

  p = g_new0 (BnParams, 1);
  p->epsilon = lathe_node_get_float (node, "epsilon", 1e-5f);
  p->spatial = spatial;
  g_mutex_init (&p->lock);
  p->retired = g_ptr_array_new_with_free_func (g_free);
  node->params = p;
  node->params_free = bn_params_free;
  return TRUE;
}

/* Number of coefficient pairs: C per channel, or C·D1·…·Dn per activation. */
static gsize
bn_n_params (const BnParams    *p,
             const LatheTensor *x)
{
  return p->spatial ? (gsize) x->dims[1] : dims_product (x->dims, 1, x->ndim);
}

static gboolean
bn_folded_matches (const BnFolded  *f,
                   LatheTensor    **inputs,
                   gsize            n)
{
  if (f == NULL || f->n != n)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    if (f->src[i] != inputs[1 + i]->data)
      return FALSE;
  return TRUE;
}

static void
bn_refold (BnParams     *p,
           LatheTensor **inputs,
           gsize         n)
{
  BnFolded *f = g_malloc (sizeof (BnFolded) + 2 * n * sizeof (float));

  f->n = n;
  for (guint i = 0; i < 4; i++)
    f->src[i] = inputs[1 + i]->data;
  _lathe_norm_bn_fold_f32 (f->ab, f->ab + n,
                           lathe_tensor_f32 (inputs[1]), lathe_tensor_f32 (inputs[2]),
                           lathe_tensor_f32 (inputs[3]), lathe_tensor_f32 (inputs[4]),
                           p->epsilon, n);

  g_mutex_lock (&p->lock);
  /* Refold on every plan: the executor invalidates its plans when a
   * parameter changes in place, and this is where we hear of it. */
  if (p->folded != NULL && p->folded->n == n &&
      memcmp (p->folded, f, sizeof (BnFolded) + 2 * n * sizeof (float)) == 0)
    g_free (f);
  else
    {
      if (p->folded != NULL)
        g_ptr_array_add (p->retired, p->folded);
      g_atomic_pointer_set (&p->folded, f);
    }
  g_mutex_unlock (&p->lock);
}

/* Parameters computed at run time: drop any folding so that a later buffer
 * at a folded parameter's old address cannot match it. */
static void
bn_forget (BnParams *p)
{
  g_mutex_lock (&p->lock);
  if (p->folded != NULL)
    {
      g_ptr_array_add (p->retired, p->folded);
      g_atomic_pointer_set (&p->folded, NULL);
    }
  g_mutex_unlock (&p->lock);
}

static gboolean
bn_infer (LatheNode    *node,
          LatheTensor **inputs,
          LatheTensor **outputs,
          gsize        *workspace,
          GError      **error)
{
  static const char * const names[] = { "X", "scale", "B", "mean", "var" };
  BnParams *p = node->params;
  LatheTensor *x = inputs[0];
  gboolean all_const = TRUE;
  gsize n;

  for (guint i = 0; i < 5; i++)
    if (!require_float (node, inputs[i], error))
      return FALSE;
  if (x->ndim < 2)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "X has rank %u; expected (N, C, D1, …) of rank 2 or more",
                            x->ndim);
      return FALSE;
    }

  n = bn_n_params (p, x);
  for (guint i = 1; i < 5; i++)
    {
      if (!p->spatial && inputs[i]->n == (gsize) x->dims[1] && inputs[i]->n != n)
        {
          lathe_node_unsupported_attr (error, node,
                                       "spatial=0 with per-channel %s; expected the "
                                       "per-activation shape (C, D1, …)", names[i]);
          return FALSE;
        }
      if (inputs[i]->n != n)
        {
          g_autofree char *s = lathe_shape_to_string (inputs[i]->ndim, inputs[i]->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "%s has shape %s; expected %" G_GSIZE_FORMAT " values (%s)",
                                names[i], s, n, p->spatial ? "C" : "C·D1·…·Dn");
          return FALSE;
        }
      if (inputs[i]->data == NULL)
        all_const = FALSE;
    }

  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, x->ndim, x->dims);
  /* omitted training outputs still get a valid header */
  for (guint o = 1; o < node->n_outputs; o++)
    lathe_tensor_set_meta (outputs[o], LATHE_DTYPE_FLOAT, 1, &x->dims[1]);

  if (all_const)
    bn_refold (p, inputs, n);
  else
    bn_forget (p);
  /* the fallback in run() folds into the workspace */
  *workspace = 2 * n * sizeof (float);
  return TRUE;
}

static gboolean
bn_run (LatheNode    *node,
        LatheTensor **inputs,
        LatheTensor **outputs,
        gpointer      workspace,
        GError      **error)
{
  BnParams *p = node->params;
  LatheTensor *x = inputs[0];
  gsize n = bn_n_params (p, x);
  BnFolded *f = g_atomic_pointer_get (&p->folded);
  const float *a, *b;

  if (bn_folded_matches (f, inputs, n))
    {
      a = f->ab;
      b = f->ab + n;
    }
  else
    {
      float *ws = workspace;
      _lathe_norm_bn_fold_f32 (ws, ws + n,
                               lathe_tensor_f32 (inputs[1]), lathe_tensor_f32 (inputs[2]),
                               lathe_tensor_f32 (inputs[3]), lathe_tensor_f32 (inputs[4]),
                               p->epsilon, n);
      a = ws;
      b = ws + n;
    }

  if (p->spatial)
    _lathe_norm_affine_f32 (lathe_tensor_f32 (outputs[0]), lathe_tensor_f32 (x),
                            (gsize) x->dims[0], n, dims_product (x->dims, 2, x->ndim), a, b);
  else
    _lathe_norm_affine_f32 (lathe_tensor_f32 (outputs[0]), lathe_tensor_f32 (x),
                            (gsize) x->dims[0], n, 1, a, b);
  return TRUE;
}

static const int bn_versions[] = { 1, 6, 7, 9, 14, 15, 0 };

static const LatheOpDef op_batch_normalization = {
  .op_type = "BatchNormalization",
  .versions = bn_versions,
  .min_inputs = 5,
  .max_inputs = 5,
  .min_outputs = 1,
  .max_outputs = 5,
  .setup = bn_setup,
  .infer = bn_infer,
  .run = bn_run,
};

/* ------------------------------------------------------------------------
 * LayerNormalization */

typedef struct {
  gint64 axis;
  float  epsilon;
} LnParams;

static gboolean
ln_setup (LatheNode  *node,
          GError    **error)
{
  LnParams *p;
  gint64 stash = lathe_node_get_int (node, "stash_type", 1);

  if (stash != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_attr (error, node, "stash_type=%" G_GINT64_FORMAT
                                   " (only 1, float, is supported)", stash);
      return FALSE;
    }
  p = g_new0 (LnParams, 1);
  p->axis = lathe_node_get_int (node, "axis", -1);
  p->epsilon = lathe_node_get_float (node, "epsilon", 1e-5f);
  node->params = p;
  node->params_free = g_free;
  return TRUE;
}

/* Scale and B broadcast one way to the normalised shape X[axis:]. Sets
 * *whole when t already has that many values (no expansion needed). */
static gboolean
ln_check_param (const LatheNode    *node,
                const LatheTensor  *t,
                const char         *name,
                const LatheTensor  *x,
                guint               axis,
                gboolean           *whole,
                GError            **error)
{
  guint nr = x->ndim - axis;
  gboolean ok = TRUE;

  if (!require_float (node, t, error))
    return FALSE;
  for (guint d = 0; d < t->ndim && ok; d++)
    {
      gint64 td = t->dims[t->ndim - 1 - d];
      if (d >= nr)
        ok = td == 1;
      else
        ok = td == 1 || td == x->dims[x->ndim - 1 - d];
    }
  if (!ok)
    {
      g_autofree char *ts = lathe_shape_to_string (t->ndim, t->dims);
      g_autofree char *ns = lathe_shape_to_string (nr, x->dims + axis);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "%s of shape %s does not broadcast to the normalized shape %s",
                            name, ts, ns);
      return FALSE;
    }
  *whole = t->n == dims_product (x->dims, axis, x->ndim);
  return TRUE;
}

/* Expands t (right-aligned, dims 1 or equal) to the nr dims in `dims`. */
static void
broadcast_expand (float             *dst,
                  const LatheTensor *t,
                  guint              nr,
                  const gint64      *dims)
{
  gsize strides[LATHE_MAX_DIMS];
  gsize idx[LATHE_MAX_DIMS] = { 0 };
  gsize total = dims_product (dims, 0, nr);
  gsize stride = 1;
  const float *src = lathe_tensor_f32 (t);

  for (guint d = nr; d-- > 0;)
    {
      gsize td = 1;
      guint from_right = nr - 1 - d;
      if (from_right < t->ndim)
        td = (gsize) t->dims[t->ndim - 1 - from_right];
      strides[d] = td == 1 ? 0 : stride;
      stride *= td;
    }
  for (gsize k = 0; k < total; k++)
    {
      gsize off = 0;
      for (guint d = 0; d < nr; d++)
        off += idx[d] * strides[d];
      dst[k] = src[off];
      for (guint d = nr; d-- > 0;)
        {
          if (++idx[d] < (gsize) dims[d])
            break;
          idx[d] = 0;
        }
    }
}

static gboolean
ln_infer (LatheNode    *node,
          LatheTensor **inputs,
          LatheTensor **outputs,
          gsize        *workspace,
          GError      **error)
{
  LnParams *p = node->params;
  LatheTensor *x = inputs[0];
  LatheTensor *bias = node->n_inputs > 2 ? inputs[2] : NULL;
  gint64 stat_dims[LATHE_MAX_DIMS];
  gboolean whole;
  guint axis;
  gsize d_norm;

  if (!require_float (node, x, error) ||
      !lathe_normalize_axis (node, p->axis, x->ndim, &axis, error))
    return FALSE;
  d_norm = dims_product (x->dims, axis, x->ndim);

  *workspace = 0;
  if (!ln_check_param (node, inputs[1], "Scale", x, axis, &whole, error))
    return FALSE;
  if (!whole)
    *workspace += d_norm * sizeof (float);
  if (bias != NULL)
    {
      if (!ln_check_param (node, bias, "B", x, axis, &whole, error))
        return FALSE;
      if (!whole)
        *workspace += d_norm * sizeof (float);
    }

  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, x->ndim, x->dims);
  /* Mean and InvStdDev keep X's rank with the normalised dims set to 1 */
  for (guint d = 0; d < x->ndim; d++)
    stat_dims[d] = d < axis ? x->dims[d] : 1;
  for (guint o = 1; o < node->n_outputs; o++)
    lathe_tensor_set_meta (outputs[o], LATHE_DTYPE_FLOAT, x->ndim, stat_dims);
  return TRUE;
}

static gboolean
ln_run (LatheNode    *node,
        LatheTensor **inputs,
        LatheTensor **outputs,
        gpointer      workspace,
        GError      **error)
{
  LnParams *p = node->params;
  LatheTensor *x = inputs[0];
  LatheTensor *bias = node->n_inputs > 2 ? inputs[2] : NULL;
  float *mean_out = node->n_outputs > 1 && outputs[1] != NULL ? lathe_tensor_f32 (outputs[1]) : NULL;
  float *inv_out = node->n_outputs > 2 && outputs[2] != NULL ? lathe_tensor_f32 (outputs[2]) : NULL;
  float *ws = workspace;
  const float *scale, *shift = NULL;
  guint axis;
  gsize d_norm, rows;

  if (!lathe_normalize_axis (node, p->axis, x->ndim, &axis, error))
    return FALSE;
  d_norm = dims_product (x->dims, axis, x->ndim);
  rows = dims_product (x->dims, 0, axis);

  scale = lathe_tensor_f32 (inputs[1]);
  if (inputs[1]->n != d_norm)
    {
      broadcast_expand (ws, inputs[1], x->ndim - axis, x->dims + axis);
      scale = ws;
      ws += d_norm;
    }
  if (bias != NULL)
    {
      shift = lathe_tensor_f32 (bias);
      if (bias->n != d_norm)
        {
          broadcast_expand (ws, bias, x->ndim - axis, x->dims + axis);
          shift = ws;
        }
    }

  for (gsize r = 0; r < rows; r++)
    {
      const float *xr = lathe_tensor_f32 (x) + r * d_norm;
      float *yr = lathe_tensor_f32 (outputs[0]) + r * d_norm;
      double sum = 0.0, sq = 0.0;
      float mean, inv;

      /* two passes in double: stable for rows with a large common offset */
      for (gsize j = 0; j < d_norm; j++)
        sum += xr[j];
      mean = (float) (sum / (double) d_norm);
      for (gsize j = 0; j < d_norm; j++)
        {
          double dev = (double) xr[j] - mean;
          sq += dev * dev;
        }
      inv = (float) (1.0 / sqrt (sq / (double) d_norm + (double) p->epsilon));

      if (shift != NULL)
        for (gsize j = 0; j < d_norm; j++)
          yr[j] = (xr[j] - mean) * inv * scale[j] + shift[j];
      else
        for (gsize j = 0; j < d_norm; j++)
          yr[j] = (xr[j] - mean) * inv * scale[j];
      if (mean_out != NULL)
        mean_out[r] = mean;
      if (inv_out != NULL)
        inv_out[r] = inv;
    }
  return TRUE;
}

static const int ln_versions[] = { 17, 0 };

static const LatheOpDef op_layer_normalization = {
  .op_type = "LayerNormalization",
  .versions = ln_versions,
  .min_inputs = 2,
  .max_inputs = 3,
  .min_outputs = 1,
  .max_outputs = 3,
  .setup = ln_setup,
  .infer = ln_infer,
  .run = ln_run,
};

/* ------------------------------------------------------------------------
 * Softmax and LogSoftmax */

typedef struct {
  gint64   axis;
  gboolean coerce_2d;     /* before 13: over the flattened dims from axis on */
  gboolean log_softmax;
} SoftmaxParams;

static gboolean
softmax_setup (LatheNode  *node,
               GError    **error)
{
  SoftmaxParams *p = g_new0 (SoftmaxParams, 1);

  p->coerce_2d = node->since < 13;
  p->axis = lathe_node_get_int (node, "axis", p->coerce_2d ? 1 : -1);
  p->log_softmax = g_strcmp0 (node->op_type, "LogSoftmax") == 0;
  node->params = p;
  node->params_free = g_free;
  return TRUE;
}

static gboolean
softmax_split (const LatheNode    *node,
               const LatheTensor  *x,
               gsize              *outer,
               gsize              *len,
               gsize              *inner,
               GError            **error)
{
  const SoftmaxParams *p = node->params;
  guint axis;

  if (p->coerce_2d)
    {
      /* like Flatten: axis may also be rank (a softmax over one element) */
      gint64 a = p->axis < 0 ? p->axis + (gint64) x->ndim : p->axis;
      if (a < 0 || a > (gint64) x->ndim)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "axis %" G_GINT64_FORMAT " is out of range for rank %u",
                                p->axis, x->ndim);
          return FALSE;
        }
      *outer = dims_product (x->dims, 0, (guint) a);
      *len = dims_product (x->dims, (guint) a, x->ndim);
      *inner = 1;
      return TRUE;
    }

  if (!lathe_normalize_axis (node, p->axis, x->ndim, &axis, error))
    return FALSE;
  if (x->ndim == 0)
    {
      *outer = *len = *inner = 1;
      return TRUE;
    }
  *outer = dims_product (x->dims, 0, axis);
  *len = (gsize) x->dims[axis];
  *inner = dims_product (x->dims, axis + 1, x->ndim);
  return TRUE;
}

static gboolean
softmax_infer (LatheNode    *node,
               LatheTensor **inputs,
               LatheTensor **outputs,
               gsize        *workspace,
               GError      **error)
{
  gsize outer, len, inner;

  if (!require_float (node, inputs[0], error) ||
      !softmax_split (node, inputs[0], &outer, &len, &inner, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, inputs[0]->ndim, inputs[0]->dims);
  *workspace = inner > 1 ? 2 * inner * sizeof (float) : 0;
  return TRUE;
}

static gboolean
softmax_run (LatheNode    *node,
             LatheTensor **inputs,
             LatheTensor **outputs,
             gpointer      workspace,
             GError      **error)
{
  const SoftmaxParams *p = node->params;
  gsize outer, len, inner;

  if (!softmax_split (node, inputs[0], &outer, &len, &inner, error))
    return FALSE;
  _lathe_norm_softmax_f32 (lathe_tensor_f32 (outputs[0]), lathe_tensor_f32 (inputs[0]),
                           outer, len, inner, p->log_softmax, workspace);
  return TRUE;
}

static const int softmax_versions[] = { 1, 11, 13, 0 };

static const LatheOpDef op_softmax = {
  .op_type = "Softmax",
  .versions = softmax_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = softmax_setup,
  .infer = softmax_infer,
  .run = softmax_run,
};

static const LatheOpDef op_log_softmax = {
  .op_type = "LogSoftmax",
  .versions = softmax_versions,
  .min_inputs = 1,
  .max_inputs = 1,
  .min_outputs = 1,
  .max_outputs = 1,
  .setup = softmax_setup,
  .infer = softmax_infer,
  .run = softmax_run,
};

/* ------------------------------------------------------------------------
 * ReduceMean */

typedef struct {
  gboolean  keepdims;
  gboolean  noop_with_empty_axes;   /* 18+ */
  gint64   *axes;                   /* attribute, before 18 */
  gsize     n_axes;
} ReduceParams;

/* The reduction with runs of reduced or kept dims merged and size-1 dims
 * dropped, so the innermost loop is as long as it can be. */
typedef struct {
  gboolean identity;                /* noop_with_empty_axes and no axes */
  guint    n;
  gsize    dims[LATHE_MAX_DIMS];
  gboolean reduced[LATHE_MAX_DIMS];
  gsize    count;                   /* input elements per output element */
  guint    out_ndim;
  gint64   out_dims[LATHE_MAX_DIMS];
} ReducePlan;

static void
reduce_params_free (gpointer data)
{
  ReduceParams *p = data;

  g_free (p->axes);
  g_free (p);
}

static gboolean
reduce_setup (LatheNode  *node,
              GError    **error)
{
  ReduceParams *p;
  const gint64 *axes = NULL;
  gsize n_axes = 0;

  if (node->since < 18)
    {
      if (node->n_inputs > 1)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                "takes one input before opset 18 (axes is an attribute)");
          return FALSE;
        }
      axes = lathe_node_get_ints (node, "axes", &n_axes);
    }
  else if (lathe_node_get_attr (node, "axes") != NULL)
    {
      lathe_node_unsupported_attr (error, node,
                                   "axes given as an attribute; from opset 18 it is input 1");
      return FALSE;
    }

  p = g_new0 (ReduceParams, 1);
  p->keepdims = lathe_node_get_int (node, "keepdims", 1) != 0;
  if (node->since >= 18)
    p->noop_with_empty_axes = lathe_node_get_int (node, "noop_with_empty_axes", 0) != 0;
  p->axes = n_axes > 0 ? g_memdup2 (axes, n_axes * sizeof (gint64)) : NULL;
  p->n_axes = n_axes;
  node->params = p;
  node->params_free = reduce_params_free;
  return TRUE;
}

static gboolean
reduce_make_plan (const LatheNode    *node,
                  LatheTensor       **inputs,
                  ReducePlan         *plan,
                  GError            **error)
{
  const ReduceParams *p = node->params;
  const LatheTensor *x = inputs[0];
  const LatheTensor *axes_t = node->n_inputs > 1 ? inputs[1] : NULL;
  g_autofree gint64 *input_axes = NULL;
  const gint64 *axes = p->axes;
  gsize n_axes = p->n_axes;
  gboolean mark[LATHE_MAX_DIMS] = { FALSE };

  memset (plan, 0, sizeof *plan);

  if (axes_t != NULL)
    {
      if (axes_t->dtype != LATHE_DTYPE_INT64 && axes_t->dtype != LATHE_DTYPE_INT32)
        {
          lathe_node_unsupported_type (error, node, axes_t->dtype);
          return FALSE;
        }
      if (axes_t->data == NULL)
        {
          lathe_node_unsupported_attr (error, node, "axes must be a constant");
          return FALSE;
        }
      input_axes = lathe_tensor_to_int64_array (axes_t, &n_axes);
      axes = input_axes;
    }

  if (n_axes == 0)
    {
      if (p->noop_with_empty_axes)
        {
          plan->identity = TRUE;
          plan->out_ndim = x->ndim;
          memcpy (plan->out_dims, x->dims, x->ndim * sizeof (gint64));
          return TRUE;
        }
      for (guint d = 0; d < x->ndim; d++)
        mark[d] = TRUE;
    }

  for (gsize i = 0; i < n_axes; i++)
    {
      guint a;
      if (x->ndim == 0)
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "axes given for a scalar input");
          return FALSE;
        }
      if (!lathe_normalize_axis (node, axes[i], x->ndim, &a, error))
        return FALSE;
      if (mark[a])
        {
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "axis %" G_GINT64_FORMAT " is repeated in axes", axes[i]);
          return FALSE;
        }
      mark[a] = TRUE;
    }

  plan->count = 1;
  for (guint d = 0; d < x->ndim; d++)
    {
      gsize size = (gsize) x->dims[d];

      if (mark[d])
        {
          plan->count *= size;
          if (p->keepdims)
            plan->out_dims[plan->out_ndim++] = 1;
        }
      else
        plan->out_dims[plan->out_ndim++] = x->dims[d];

      if (size == 1)
        continue;
      if (plan->n > 0 && plan->reduced[plan->n - 1] == mark[d])
        plan->dims[plan->n - 1] *= size;
      else
        {
          plan->dims[plan->n] = size;
          plan->reduced[plan->n] = mark[d];
          plan->n++;
        }
    }
  if (plan->n == 0)
    {
      /* every dim is 1: one element in, one element out */
      plan->dims[0] = 1;
      plan->reduced[0] = FALSE;
      plan->n = 1;
    }
  return TRUE;
}

static gboolean
reduce_infer (LatheNode    *node,
              LatheTensor **inputs,
              LatheTensor **outputs,
              gsize        *workspace,
              GError      **error)
{
  LatheTensor *x = inputs[0];
  ReducePlan plan;
  gsize n_out;

  if (x->dtype != LATHE_DTYPE_FLOAT && x->dtype != LATHE_DTYPE_INT32 &&
      x->dtype != LATHE_DTYPE_INT64)
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  if (!reduce_make_plan (node, inputs, &plan, error))
    return FALSE;
  lathe_tensor_set_meta (outputs[0], x->dtype, plan.out_ndim, plan.out_dims);
  if (!lathe_shape_numel (plan.out_ndim, plan.out_dims, &n_out))
    n_out = 0;
  /* one double (float) or gint64 (integers) accumulator per output */
  *workspace = plan.identity ? 0 : n_out * sizeof (gint64);
  return TRUE;
}

/* Walks the input in memory order over the merged dims; acc[] gets the sum
 * for each output element. */
#define REDUCE_WALK(ACC_T, IN_T)                                               \
  G_STMT_START {                                                               \
    const IN_T *src = x->data;                                                 \
    ACC_T *acc = workspace;                                                    \
    gsize inner = plan.dims[plan.n - 1];                                       \
    gsize rows = inner > 0 ? x->n / inner : 0;                                 \
    gsize idx[LATHE_MAX_DIMS] = { 0 };                                         \
    memset (acc, 0, n_out * sizeof (ACC_T));                                   \
    for (gsize r = 0; r < rows; r++)                                           \
      {                                                                        \
        const IN_T *row = src + r * inner;                                     \
        gsize o = 0;                                                           \
        for (guint d = 0; d + 1 < plan.n; d++)                                 \
          o += idx[d] * ostride[d];                                            \
        if (plan.reduced[plan.n - 1])                                          \
          {                                                                    \
            ACC_T s = 0;                                                       \
            for (gsize j = 0; j < inner; j++)                                  \
              s += (ACC_T) row[j];                                             \
            acc[o] += s;                                                       \
          }                                                                    \
        else                                                                   \
          for (gsize j = 0; j < inner; j++)                                    \
            acc[o + j] += (ACC_T) row[j];                                      \
        for (guint d = plan.n - 1; d-- > 0;)                                   \
          {                                                                    \
            if (++idx[d] < plan.dims[d])                                       \
              break;                                                           \
            idx[d] = 0;                                                        \
          }                                                                    \
      }                                                                        \
  } G_STMT_END

static gboolean
reduce_run (LatheNode    *node,
            LatheTensor **inputs,
            LatheTensor **outputs,
            gpointer      workspace,
            GError      **error)
{
  LatheTensor *x = inputs[0];
  LatheTensor *y = outputs[0];
  gsize ostride[LATHE_MAX_DIMS];
  gsize n_out = y->n;
  gsize stride = 1;
  ReducePlan plan;

  if (!reduce_make_plan (node, inputs, &plan, error))
    return FALSE;
  if (plan.identity)
    {
      memcpy (y->data, x->data, lathe_tensor_nbytes (x));
      return TRUE;
    }

  for (guint d = plan.n; d-- > 0;)
    {
      ostride[d] = plan.reduced[d] ? 0 : stride;
      if (!plan.reduced[d])
        stride *= plan.dims[d];
    }

  if (x->dtype == LATHE_DTYPE_FLOAT)
    {
      const double *sum = workspace;
      REDUCE_WALK (double, float);
      /* an empty reduction is 0/0: NaN, as numpy's mean */
      for (gsize i = 0; i < n_out; i++)
        lathe_tensor_f32 (y)[i] = (float) (sum[i] / (double) plan.count);
    }
  else
    {
      const gint64 *sum = workspace;
      gint64 count = (gint64) plan.count;

      if (x->dtype == LATHE_DTYPE_INT64)
        REDUCE_WALK (gint64, gint64);
      else
        REDUCE_WALK (gint64, gint32);
      /* integer mean truncates toward zero, like casting numpy's mean */
      for (gsize i = 0; i < n_out; i++)
        {
          gint64 m = count > 0 ? sum[i] / count : 0;
          if (y->dtype == LATHE_DTYPE_INT64)
            lathe_tensor_i64 (y)[i] = m;
          else
            ((gint32 *) y->data)[i] = (gint32) m;
        }
    }
  return TRUE;
}

#undef REDUCE_WALK

static const int reduce_mean_versions[] = { 1, 11, 13, 18, 0 };

static const LatheOpDef op_reduce_mean = {
  .op_type = "ReduceMean",
  .versions = reduce_mean_versions,
  .min_inputs = 1,
  .max_inputs = 2,
  .min_outputs = 1,
  .max_outputs = 1,
  .const_inputs = 1u << 1,
  .setup = reduce_setup,
  .infer = reduce_infer,
  .run = reduce_run,
};

const LatheOpDef * const _lathe_ops_norm[] = {
  &op_batch_normalization,
  &op_layer_normalization,
  &op_softmax,
  &op_log_softmax,
  &op_reduce_mean,
  NULL,
};
