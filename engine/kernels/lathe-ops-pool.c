/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-conv.h"

/* ---------------------------------------------------------------------- */
/* Kernels                                                                 */

/* Taps t in [0, k) of a window starting at `start` whose positions
 * start + t * dil fall inside [0, n), as [*lo, *hi). */
static inline void
tap_range (gint64  start,
           gint64  dil,
           gint64  k,
           gint64  n,
           gint64 *lo,
           gint64 *hi)
{
  gint64 l, h;

  if (dil == 1)
    {
      l = start < 0 ? -start : 0;
      h = n - start;
    }
  else
    {
      l = start < 0 ? (-start + dil - 1) / dil : 0;
      h = n - start > 0 ? (n - start - 1) / dil + 1 : 0;
    }
  l = CLAMP (l, 0, k);
  h = CLAMP (h, l, k);
  *lo = l;
  *hi = h;
}

/* How many taps of a window starting at `start` lie before `limit`: the
 * taps inside the explicit padding when limit = n + pad_end (a window never
 * starts before the begin padding). */
static inline gint64
taps_before (gint64 start,
             gint64 dil,
             gint64 k,
             gint64 limit)
{
  return limit - start <= 0 ? 0 : MIN (k, (limit - start - 1) / dil + 1);
}

/* The most common window by far (LeNet, VGG, U-Net): 2x2, stride 2, every
 * window inside the input, the depth axis (if any) untouched. */
static gboolean
is_2x2_stride_2 (const LatheConvShape *s)
{
  return s->kernel[0] == 1 && s->stride[0] == 1 && s->pad_begin[0] == 0 &&
         s->out[0] == s->in[0] &&
         s->kernel[1] == 2 && s->kernel[2] == 2 && s->stride[1] == 2 && s->stride[2] == 2 &&
         s->dilation[1] == 1 && s->dilation[2] == 1 &&
         s->pad_begin[1] == 0 && s->pad_begin[2] == 0 &&
         2 * s->out[1] <= s->in[1] && 2 * s->out[2] <= s->in[2];
}

/* Flat index of (id, ih, iw) within one plane, as MaxPool's Indices. */
static inline gint64
plane_index (const LatheConvShape *s,
             gint64                id,
             gint64                ih,
             gint64                iw,
             gboolean              column_major)
{
  if (column_major)
    return id + (ih + iw * s->in[1]) * s->in[0];
  return (id * s->in[1] + ih) * s->in[2] + iw;
}

/* Output positions o in [0, n_out) whose input position o * stride + off
 * lies in [0, n_in), as [*lo, *hi). */
static inline void
out_range (gint64  off,
           gint64  stride,
           gint64  n_in,
           gint64  n_out,
           gint64 *lo,
           gint64 *hi)
{
  gint64 l, h;

  if (stride == 1)
    {
      l = off < 0 ? -off : 0;
      h = n_in - off;
    }
  else
    {
      l = off < 0 ? (-off + stride - 1) / stride : 0;
      h = n_in - off > 0 ? (n_in - off - 1) / stride + 1 : 0;
    }
  l = CLAMP (l, 0, n_out);
  h = CLAMP (h, l, n_out);
  *lo = l;
  *hi = h;
}

/* Without Indices, pooling runs one output row at a time, folding in one
 * input row of the window after the other: the output row stays in L1, and
 * the valid taps along w are worked out once per call rather than per
 * output. ACC(acc, v) folds v into acc; FINISH() runs once per output row.
 * Kernels wider than POOL_MAX_KW taps take the plain per-tap loop. */
#define POOL_MAX_KW 16
/* The interior outputs of one input row, FOLD folding src[...] into acc. */
#define POOL_INTERIOR(T, FOLD)                                                  \
  for (gint64 ow = i_lo; ow < i_hi; ow++)                                       \
    {                                                                           \
      const T *src = xr + ow * SW - s->pad_begin[2];                            \
      T acc = row[ow];                                                          \
                                                                                \
      FOLD;                                                                     \
      row[ow] = acc;                                                            \
    }
#define POOL_ROWS(T, INIT, ACC, FINISH)                                         \
  /* The valid output range of each tap along w is the same on every row;    \
   * [i_lo, i_hi) is where all taps are valid (tap 0 starts last, the last    \
   * tap ends first). */                                                        \
  const gint64 KW = s->kernel[2], DW = s->dilation[2];                          \
  gint64 w_lo[POOL_MAX_KW], w_hi[POOL_MAX_KW], i_lo = 0, i_hi = 0;              \
                                                                                \
  for (gint64 e = 0; e < MIN (KW, POOL_MAX_KW); e++)                            \
    out_range (e * DW - s->pad_begin[2], SW, s->in[2], OW, &w_lo[e], &w_hi[e]); \
  if (KW <= POOL_MAX_KW && w_lo[0] < w_hi[KW - 1])                              \
    {                                                                           \
      i_lo = w_lo[0];                                                           \
      i_hi = w_hi[KW - 1];                                                      \
    }                                                                           \
  for (gint64 p = 0; p < planes; p++)                                           \
    {                                                                           \
      const T *xp = x + p * in_size;                                            \
                                                                                \
      for (gint64 od = 0; od < s->out[0]; od++)                                 \
        {                                                                       \
          gint64 sd = od * s->stride[0] - s->pad_begin[0], a_lo, a_hi;          \
                                                                                \
          tap_range (sd, s->dilation[0], s->kernel[0], s->in[0], &a_lo, &a_hi); \
          for (gint64 oh = 0; oh < s->out[1]; oh++)                             \
            {                                                                   \
              gint64 sh = oh * s->stride[1] - s->pad_begin[1], b_lo, b_hi;      \
              T *row = y + ((p * s->out[0] + od) * s->out[1] + oh) * OW;        \
                                                                                \
              tap_range (sh, s->dilation[1], s->kernel[1], s->in[1],            \
                         &b_lo, &b_hi);                                         \
              for (gint64 ow = 0; ow < OW; ow++)                                \
                row[ow] = INIT;                                                 \
              for (gint64 a = a_lo; a < a_hi; a++)                              \
                for (gint64 b = b_lo; b < b_hi; b++)                            \
                  {                                                             \
                    const T *xr = xp + ((sd + a * s->dilation[0]) * s->in[1] +  \
                                        sh + b * s->dilation[1]) * s->in[2];    \
                                                                                \
                    if (KW <= POOL_MAX_KW)                                      \
                      {                                                         \
                        /* Outputs whose whole tap row is inside fold it in    \
                         * registers; the few border outputs go tap by tap. */ \
                        for (gint64 e = 0; e < KW; e++)                         \
                          {                                                     \
                            gint64 off = e * DW - s->pad_begin[2];              \
                            for (gint64 ow = w_lo[e]; ow < MIN (w_hi[e], i_lo); ow++) \
                              ACC (row[ow], xr[ow * SW + off]);                 \
                            for (gint64 ow = MAX (w_lo[e], i_hi); ow < w_hi[e]; ow++) \
                              ACC (row[ow], xr[ow * SW + off]);                 \
                          }                                                     \
                        switch (KW)                                             \
                          {                                                     \
                          case 2:                                               \
                            POOL_INTERIOR (T, ACC (acc, src[0]);                \
                                              ACC (acc, src[DW]));              \
                            break;                                              \
                          case 3:                                               \
                            POOL_INTERIOR (T, ACC (acc, src[0]);                \
                                              ACC (acc, src[DW]);               \
                                              ACC (acc, src[2 * DW]));          \
                            break;                                              \
                          default:                                              \
                            POOL_INTERIOR (T, for (gint64 e = 0; e < KW; e++)   \
                                                ACC (acc, src[e * DW]));        \
                          }                                                     \
                      }                                                         \
                    else                                                        \
                      for (gint64 e = 0; e < KW; e++)                           \
                        {                                                       \
                          gint64 off = e * DW - s->pad_begin[2];                \
                          gint64 lo, hi;                                        \
                                                                                \
                          out_range (off, SW, s->in[2], OW, &lo, &hi);          \
                          for (gint64 ow = lo; ow < hi; ow++)                   \
                            ACC (row[ow], xr[ow * SW + off]);                   \
                        }                                                       \
                  }                                                             \
              FINISH ();                                                        \
            }                                                                   \
        }                                                                       \
    }

#define MAX_ACC(acc, v) do { if ((v) > (acc)) (acc) = (v); } while (0)
#define MAX_FINISH() do { } while (0)

#define DEFINE_MAXPOOL_ROWS(name, T, LOWEST)                                    \
static void                                                                     \
name (const LatheConvShape *s,                                                  \
      const T              *x,                                                  \
      T                    *y)                                                  \
{                                                                               \
  const gint64 planes = s->batch * s->channels_in;                              \
  const gint64 in_size = lathe_conv_shape_in_size (s);                          \
  const gint64 OW = s->out[2], SW = s->stride[2];                               \
                                                                                \
  POOL_ROWS (T, LOWEST, MAX_ACC, MAX_FINISH)                                    \
}

/* With Indices: per output, the window loops walk only the valid taps of
 * each axis, so no tap needs a bounds check. */
#define DEFINE_MAXPOOL(name, T, LOWEST)                                         \
DEFINE_MAXPOOL_ROWS (name##_rows, T, LOWEST)                                    \
                                                                                \
static void                                                                     \
name##_indexed (const LatheConvShape *s,                                        \
      const T              *x,                                                  \
      T                    *y,                                                  \
      gint64               *indices,                                            \
      gboolean              column_major)                                       \
{                                                                               \
  const gint64 planes = s->batch * s->channels_in;                              \
  const gint64 in_size = lathe_conv_shape_in_size (s);                          \
  const gint64 out_size = lathe_conv_shape_out_size (s);                        \
                                                                                \
  for (gint64 p = 0; p < planes; p++)                                           \
    {                                                                           \
      const T *xp = x + p * in_size;                                            \
      gint64 o = p * out_size;                                                  \
                                                                                \
      for (gint64 od = 0; od < s->out[0]; od++)                                 \
        {                                                                       \
          gint64 sd = od * s->stride[0] - s->pad_begin[0], a_lo, a_hi;          \
                                                                                \
          tap_range (sd, s->dilation[0], s->kernel[0], s->in[0], &a_lo, &a_hi); \
          for (gint64 oh = 0; oh < s->out[1]; oh++)                             \
            {                                                                   \
              gint64 sh = oh * s->stride[1] - s->pad_begin[1], b_lo, b_hi;      \
                                                                                \
              tap_range (sh, s->dilation[1], s->kernel[1], s->in[1],            \
                         &b_lo, &b_hi);                                         \
              for (gint64 ow = 0; ow < s->out[2]; ow++, o++)                    \
                {                                                               \
                  gint64 sw = ow * s->stride[2] - s->pad_begin[2], e_lo, e_hi;  \
                  T best = LOWEST;                                              \
                  gint64 bd = 0, bh = 0, bw = 0;                                \
                                                                                \
                  tap_range (sw, s->dilation[2], s->kernel[2], s->in[2],        \
                             &e_lo, &e_hi);                                     \
                  if (a_lo < a_hi && b_lo < b_hi && e_lo < e_hi)                \
                    {                                                           \
                      /* Seed with the first valid tap so ties and a window of  \
                       * LOWEST values still report a position in the window. */\
                      bd = sd + a_lo * s->dilation[0];                          \
                      bh = sh + b_lo * s->dilation[1];                          \
                      bw = sw + e_lo * s->dilation[2];                          \
                      best = xp[(bd * s->in[1] + bh) * s->in[2] + bw];          \
                    }                                                           \
                  for (gint64 a = a_lo; a < a_hi; a++)                          \
                    for (gint64 b = b_lo; b < b_hi; b++)                        \
                      {                                                         \
                        gint64 id = sd + a * s->dilation[0];                    \
                        gint64 ih = sh + b * s->dilation[1];                    \
                        const T *xr = xp + (id * s->in[1] + ih) * s->in[2] + sw;\
                                                                                \
                        for (gint64 e = e_lo; e < e_hi; e++)                    \
                          {                                                     \
                            T v = xr[e * s->dilation[2]];                       \
                            if (v > best)                                       \
                              {                                                 \
                                best = v;                                       \
                                bd = id;                                        \
                                bh = ih;                                        \
                                bw = sw + e * s->dilation[2];                   \
                              }                                                 \
                          }                                                     \
                      }                                                         \
                  y[o] = best;                                                  \
                  indices[o] = p * in_size +                                    \
                               plane_index (s, bd, bh, bw, column_major);       \
                }                                                               \
            }                                                                   \
        }                                                                       \
    }                                                                           \
}                                                                               \
                                                                                \
void                                                                            \
name (const LatheConvShape *s,                                                  \
      const T              *x,                                                  \
      T                    *y,                                                  \
      gint64               *indices,                                            \
      gboolean              column_major)                                       \
{                                                                               \
  if (indices != NULL)                                                          \
    name##_indexed (s, x, y, indices, column_major);                            \
  else if (is_2x2_stride_2 (s))                                                 \
    {                                                                           \
      const gint64 IW = s->in[2], OW = s->out[2];                               \
      const gint64 rows = s->batch * s->channels_in * s->out[0];                \
                                                                                \
      for (gint64 q = 0; q < rows; q++)                                         \
        for (gint64 oh = 0; oh < s->out[1]; oh++)                               \
          {                                                                     \
            const T *r0 = x + (q * s->in[1] + 2 * oh) * IW, *r1 = r0 + IW;      \
            T *yr = y + (q * s->out[1] + oh) * OW;                              \
                                                                                \
            for (gint64 ow = 0; ow < OW; ow++)                                  \
              {                                                                 \
                T m0 = MAX (r0[2 * ow], r0[2 * ow + 1]);                        \
                T m1 = MAX (r1[2 * ow], r1[2 * ow + 1]);                        \
                yr[ow] = MAX (m0, m1);                                          \
              }                                                                 \
          }                                                                     \
    }                                                                           \
  else                                                                          \
    name##_rows (s, x, y);                                                      \
}

DEFINE_MAXPOOL (lathe_maxpool_f32, float, -INFINITY)
DEFINE_MAXPOOL (lathe_maxpool_u8, guint8, 0)
DEFINE_MAXPOOL (lathe_maxpool_i8, gint8, G_MININT8)

void
lathe_maxpool_f32_ref (const LatheConvShape *s,
                       const float          *x,
                       float                *y,
                       gint64               *indices,
                       gboolean              column_major)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  gsize o = 0;

  for (gint64 p = 0; p < s->batch * s->channels_in; p++)
    for (gint64 od = 0; od < s->out[0]; od++)
      for (gint64 oh = 0; oh < s->out[1]; oh++)
        for (gint64 ow = 0; ow < s->out[2]; ow++, o++)
          {
            float best = -INFINITY;
            gint64 arg = -1;

            for (gint64 a = 0; a < s->kernel[0]; a++)
              for (gint64 b = 0; b < s->kernel[1]; b++)
                for (gint64 e = 0; e < s->kernel[2]; e++)
                  {
                    gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                    gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                    gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                    float v;

                    if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] ||
                        iw < 0 || iw >= s->in[2])
                      continue;
                    v = x[p * in_size + (id * s->in[1] + ih) * s->in[2] + iw];
                    if (arg < 0 || v > best)
                      {
                        best = v;
                        arg = p * in_size + plane_index (s, id, ih, iw, column_major);
                      }
                  }
            y[o] = best;
            if (indices != NULL)
              indices[o] = arg < 0 ? p * in_size : arg;
          }
}

#define SUM_ACC(acc, v) ((acc) += (v))
/* Divide each sum by its window's count: the d and h factors are per row,
 * and along w every tap of an interior output counts. */
#define AVG_BORDER(from, to)                                                    \
  for (gint64 ow = (from); ow < (to); ow++)                                     \
    {                                                                           \
      gint64 sw = ow * SW - s->pad_begin[2], e_lo, e_hi, cw, count;             \
                                                                                \
      tap_range (sw, DW, KW, s->in[2], &e_lo, &e_hi);                           \
      cw = count_include_pad ? taps_before (sw, DW, KW, s->in[2] + s->pad_end[2]) \
                             : e_hi - e_lo;                                     \
      count = cd * ch * cw;                                                     \
      row[ow] = count > 0 ? row[ow] / (float) count : 0.f;                      \
    }
#define AVG_FINISH()                                                            \
  do {                                                                          \
    gint64 cd = count_include_pad ?                                             \
      taps_before (sd, s->dilation[0], s->kernel[0], s->in[0] + s->pad_end[0])  \
      : a_hi - a_lo;                                                            \
    gint64 ch = count_include_pad ?                                             \
      taps_before (sh, s->dilation[1], s->kernel[1], s->in[1] + s->pad_end[1])  \
      : b_hi - b_lo;                                                            \
    float inv = cd * ch > 0 ? 1.f / (float) (cd * ch * KW) : 0.f;               \
                                                                                \
    AVG_BORDER (0, i_lo)                                                        \
    for (gint64 ow = i_lo; ow < i_hi; ow++)                                     \
      row[ow] *= inv;                                                           \
    AVG_BORDER (i_hi, OW)                                                       \
  } while (0)

void
lathe_avgpool_f32 (const LatheConvShape *s,
                   const float          *x,
                   float                *y,
                   gboolean              count_include_pad)
{
  const gint64 planes = s->batch * s->channels_in;
  const gint64 in_size = lathe_conv_shape_in_size (s);
  const gint64 OW = s->out[2], SW = s->stride[2];

  if (is_2x2_stride_2 (s))
    {
      const gint64 IW = s->in[2], rows = planes * s->out[0];

      for (gint64 q = 0; q < rows; q++)
        for (gint64 oh = 0; oh < s->out[1]; oh++)
          {
            const float *r0 = x + (q * s->in[1] + 2 * oh) * IW, *r1 = r0 + IW;
            float *yr = y + (q * s->out[1] + oh) * OW;

            for (gint64 ow = 0; ow < OW; ow++)
              yr[ow] = 0.25f * ((r0[2 * ow] + r0[2 * ow + 1]) + (r1[2 * ow] + r1[2 * ow + 1]));
          }
      return;
    }
  POOL_ROWS (float, 0.f, SUM_ACC, AVG_FINISH)
}

void
lathe_avgpool_f32_ref (const LatheConvShape *s,
                       const float          *x,
                       float                *y,
                       gboolean              count_include_pad)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  gsize o = 0;

  for (gint64 p = 0; p < s->batch * s->channels_in; p++)
    for (gint64 od = 0; od < s->out[0]; od++)
      for (gint64 oh = 0; oh < s->out[1]; oh++)
        for (gint64 ow = 0; ow < s->out[2]; ow++, o++)
          {
            double sum = 0.0;
            gint64 count = 0;

            for (gint64 a = 0; a < s->kernel[0]; a++)
              for (gint64 b = 0; b < s->kernel[1]; b++)
                for (gint64 e = 0; e < s->kernel[2]; e++)
                  {
                    gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                    gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                    gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                    gboolean inside = id >= 0 && id < s->in[0] && ih >= 0 && ih < s->in[1] &&
                                      iw >= 0 && iw < s->in[2];
                    gboolean in_pads = id < s->in[0] + s->pad_end[0] &&
                                       ih < s->in[1] + s->pad_end[1] &&
                                       iw < s->in[2] + s->pad_end[2];

                    if (inside)
                      sum += x[p * in_size + (id * s->in[1] + ih) * s->in[2] + iw];
                    if (inside || (count_include_pad && in_pads))
                      count++;
                  }
            y[o] = count > 0 ? (float) (sum / (double) count) : 0.f;
          }
}

void
lathe_global_avgpool_f32 (gint64       n_planes,
                          gint64       plane_size,
                          const float *x,
                          float       *y)
{
  for (gint64 p = 0; p < n_planes; p++)
    {
      const float *xp = x + p * plane_size;
      double sum = 0.0;

      for (gint64 i = 0; i < plane_size; i++)
        sum += xp[i];
      y[p] = plane_size > 0 ? (float) (sum / (double) plane_size) : 0.f;
    }
}

/* ---------------------------------------------------------------------- */
/* MaxPool, AveragePool                                                    */

typedef struct {
  LatheWindowAttrs win;
  gboolean         column_major;       /* MaxPool storage_order = 1 */
  gboolean         count_include_pad;  /* AveragePool */
} PoolParams;

static gboolean
pool_setup (LatheNode  *node,
            gboolean    is_max,
            GError    **error)
{
  PoolParams *p = g_new0 (PoolParams, 1);
  gboolean with_dilations;

  node->params = p;
  node->params_free = g_free;

  /* Dilations came to MaxPool at opset 10 and to AveragePool at 19. */
  with_dilations = is_max ? node->since >= 10 : node->since >= 19;
  if (!_lathe_window_attrs_parse (node, with_dilations, &p->win, error))
    return FALSE;
  if (p->win.n_kernel == 0)
    {
      lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                            "the kernel_shape attribute is required");
      return FALSE;
    }
  if (node->since >= 10)
    p->win.ceil_mode = lathe_node_get_int (node, "ceil_mode", 0) != 0;

  if (is_max && node->since >= 8)
    {
      gint64 order = lathe_node_get_int (node, "storage_order", 0);

      if (order != 0 && order != 1)
        {
          lathe_node_unsupported_attr (error, node, "storage_order=%" G_GINT64_FORMAT, order);
          return FALSE;
        }
      p->column_major = order == 1;
    }
  if (!is_max && node->since >= 7)
    p->count_include_pad = lathe_node_get_int (node, "count_include_pad", 0) != 0;
  return TRUE;
}

static gboolean
maxpool_setup (LatheNode  *node,
               GError    **error)
{
  return pool_setup (node, TRUE, error);
}

static gboolean
avgpool_setup (LatheNode  *node,
               GError    **error)
{
  return pool_setup (node, FALSE, error);
}

static gboolean
pool_geometry (LatheNode          *node,
               const LatheTensor  *x,
               LatheConvShape     *s,
               GError            **error)
{
  const PoolParams *p = node->params;

  if (x->ndim < 3)
    {
      g_autofree char *xs = lathe_shape_to_string (x->ndim, x->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "input %s must be [N, C, spatial...]", xs);
      return FALSE;
    }
  lathe_conv_shape_init (s);
  s->batch = x->dims[0];
  s->channels_in = s->channels_out = x->dims[1];
  return _lathe_window_shape (node, &p->win, x->ndim - 2, x->dims + 2, p->win.kernel, s, error);
}

static void
pool_set_output (LatheTensor          *out,
                 LatheDType            dtype,
                 const LatheTensor    *x,
                 const LatheConvShape *s)
{
  gint64 dims[2 + LATHE_CONV_MAX_SPATIAL];
  guint n_spatial = x->ndim - 2;

  dims[0] = x->dims[0];
  dims[1] = x->dims[1];
  memcpy (dims + 2, s->out + LATHE_CONV_MAX_SPATIAL - n_spatial, n_spatial * sizeof (gint64));
  lathe_tensor_set_meta (out, dtype, x->ndim, dims);
}

static gboolean
maxpool_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  const LatheTensor *x = inputs[0];
  LatheConvShape s;

  if (x->dtype != LATHE_DTYPE_FLOAT && x->dtype != LATHE_DTYPE_UINT8 &&
      x->dtype != LATHE_DTYPE_INT8)
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  if (!pool_geometry (node, x, &s, error))
    return FALSE;
  pool_set_output (outputs[0], x->dtype, x, &s);
  /* The executor sizes every declared output, used or not. */
  if (node->n_outputs > 1)
    pool_set_output (outputs[1], LATHE_DTYPE_INT64, x, &s);
  return TRUE;
}

static gboolean
maxpool_run (LatheNode     *node,
             LatheTensor  **inputs,
             LatheTensor  **outputs,
             gpointer       workspace,
             GError       **error)
{
  const PoolParams *p = node->params;
  const LatheTensor *x = inputs[0];
  gint64 *indices = node->n_outputs > 1 && outputs[1] != NULL ? outputs[1]->data : NULL;
  LatheConvShape s;

  if (!pool_geometry (node, x, &s, error))
    return FALSE;
  switch (x->dtype)
    {
    case LATHE_DTYPE_FLOAT:
      lathe_maxpool_f32 (&s, x->data, outputs[0]->data, indices, p->column_major);
      break;
    case LATHE_DTYPE_UINT8:
      lathe_maxpool_u8 (&s, x->data, outputs[0]->data, indices, p->column_major);
      break;
    case LATHE_DTYPE_INT8:
      lathe_maxpool_i8 (&s, x->data, outputs[0]->data, indices, p->column_major);
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
avgpool_infer (LatheNode     *node,
               LatheTensor  **inputs,
               LatheTensor  **outputs,
               gsize         *workspace,
               GError       **error)
{
  LatheConvShape s;

  if (inputs[0]->dtype != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_type (error, node, inputs[0]->dtype);
      return FALSE;
    }
  if (!pool_geometry (node, inputs[0], &s, error))
    return FALSE;
  pool_set_output (outputs[0], LATHE_DTYPE_FLOAT, inputs[0], &s);
  return TRUE;
}

static gboolean
avgpool_run (LatheNode     *node,
             LatheTensor  **inputs,
             LatheTensor  **outputs,
             gpointer       workspace,
             GError       **error)
{
  const PoolParams *p = node->params;
  LatheConvShape s;

  if (!pool_geometry (node, inputs[0], &s, error))
    return FALSE;
  lathe_avgpool_f32 (&s, inputs[0]->data, outputs[0]->data, p->count_include_pad);
  return TRUE;
}

/* MaxPool: 8 adds storage_order and Indices, 10 ceil_mode and dilations,
 * 12 int8/uint8, 22 bfloat16. */
static const int maxpool_versions[] = { 1, 8, 10, 11, 12, 22, 0 };

const LatheOpDef _lathe_op_max_pool = {
  .op_type = "MaxPool", .versions = maxpool_versions,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 2,
  .setup = maxpool_setup, .infer = maxpool_infer, .run = maxpool_run,
};

/* AveragePool: 7 adds count_include_pad, 10 ceil_mode, 19 dilations,
 * 22 bfloat16. */
static const int avgpool_versions[] = { 1, 7, 10, 11, 19, 22, 0 };

const LatheOpDef _lathe_op_average_pool = {
  .op_type = "AveragePool", .versions = avgpool_versions,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .setup = avgpool_setup, .infer = avgpool_infer, .run = avgpool_run,
};

/* ---------------------------------------------------------------------- */
/* GlobalAveragePool                                                       */

static gboolean
global_avgpool_infer (LatheNode     *node,
                      LatheTensor  **inputs,
                      LatheTensor  **outputs,
                      gsize         *workspace,
                      GError       **error)
{
  const LatheTensor *x = inputs[0];
  gint64 dims[LATHE_MAX_DIMS];

  if (x->dtype != LATHE_DTYPE_FLOAT)
    {
      lathe_node_unsupported_type (error, node, x->dtype);
      return FALSE;
    }
  if (x->ndim < 3)
    {
      g_autofree char *xs = lathe_shape_to_string (x->ndim, x->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "input %s must be [N, C, spatial...]", xs);
      return FALSE;
    }
  dims[0] = x->dims[0];
  dims[1] = x->dims[1];
  for (guint d = 2; d < x->ndim; d++)
    dims[d] = 1;
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, x->ndim, dims);
  return TRUE;
}

static gboolean
global_avgpool_run (LatheNode     *node,
                    LatheTensor  **inputs,
                    LatheTensor  **outputs,
                    gpointer       workspace,
                    GError       **error)
{
  const LatheTensor *x = inputs[0];
  gint64 planes = x->dims[0] * x->dims[1];

  lathe_global_avgpool_f32 (planes, planes > 0 ? (gint64) x->n / planes : 0,
                            x->data, outputs[0]->data);
  return TRUE;
}

static const int global_avgpool_versions[] = { 1, 22, 0 };

const LatheOpDef _lathe_op_global_average_pool = {
  .op_type = "GlobalAveragePool", .versions = global_avgpool_versions,
  .min_inputs = 1, .max_inputs = 1, .min_outputs = 1, .max_outputs = 1,
  .infer = global_avgpool_infer, .run = global_avgpool_run,
};
