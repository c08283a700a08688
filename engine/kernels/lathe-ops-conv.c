/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-kernels"

#include <cblas.h>
#include <string.h>

#include "core/lathe-error.h"
#include "kernels/lathe-conv.h"
#include "kernels/lathe-ops-private.h"

/* ---------------------------------------------------------------------- */
/* Geometry                                                                */

void
lathe_conv_shape_init (LatheConvShape *s)
{
  memset (s, 0, sizeof *s);
  s->batch = 1;
  s->channels_in = 1;
  s->channels_out = 1;
  s->group = 1;
  for (guint d = 0; d < LATHE_CONV_MAX_SPATIAL; d++)
    {
      s->in[d] = 1;
      s->out[d] = 1;
      s->kernel[d] = 1;
      s->stride[d] = 1;
      s->dilation[d] = 1;
    }
}

gboolean
lathe_conv_shape_compute_out (LatheConvShape *s,
                              gboolean        ceil_mode)
{
  for (guint d = 0; d < LATHE_CONV_MAX_SPATIAL; d++)
    {
      gint64 span = s->in[d] + s->pad_begin[d] + s->pad_end[d] -
                    ((s->kernel[d] - 1) * s->dilation[d] + 1);
      gint64 out;

      if (span < 0)
        return FALSE;
      if (ceil_mode)
        {
          out = (span + s->stride[d] - 1) / s->stride[d] + 1;
          /* A window starting in the end padding sees no input (PyTorch's
           * rule, which ONNX's reference follows). */
          if ((out - 1) * s->stride[d] >= s->in[d] + s->pad_begin[d])
            out--;
        }
      else
        out = span / s->stride[d] + 1;
      s->out[d] = out;
    }
  return TRUE;
}

gboolean
lathe_conv_is_depthwise (const LatheConvShape *s)
{
  return s->group > 1 && s->group == s->channels_in &&
         s->channels_out % s->channels_in == 0;
}

gboolean
lathe_conv_is_pointwise (const LatheConvShape *s)
{
  for (guint d = 0; d < LATHE_CONV_MAX_SPATIAL; d++)
    if (s->kernel[d] != 1 || s->stride[d] != 1 ||
        s->pad_begin[d] != 0 || s->pad_end[d] != 0)
      return FALSE;
  return TRUE;
}

gsize
lathe_conv_workspace_size (const LatheConvShape *s)
{
  LatheConvSimd simd = lathe_conv_simd_detect ();

  if (lathe_conv_is_depthwise (s) || lathe_conv_is_pointwise (s))
    return 0;
  if (lathe_conv_is_direct (s, simd))
    return lathe_conv_direct_workspace_size (s, simd);
  return (gsize) (s->channels_in / s->group) * (gsize) lathe_conv_shape_kernel_size (s) *
         (gsize) lathe_conv_shape_out_size (s) * sizeof (float);
}

/* Output positions o in [0, n_out) whose input position o * stride + off
 * lies in [0, n_in), as [*lo, *hi). Computing the range once per row keeps
 * the bounds checks out of the inner loops. */
static inline void
valid_range (gint64  off,
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

/* ---------------------------------------------------------------------- */
/* im2col / col2im                                                         */

/* Rows here are short (a LeNet row is 10 to 28 floats), so copies and
 * fills are inline vector loops rather than libc calls. GCC vector
 * extensions because the build's -O2 does not auto-vectorise loops with
 * unknown trip counts. */
typedef float v8f __attribute__ ((vector_size (32)));
typedef float v4f __attribute__ ((vector_size (16)));

/* Keep GCC from turning these loops back into memcpy / memset calls. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize ("no-tree-loop-distribute-patterns")
#endif

static inline void
copy_f32 (float       *restrict dst,
          const float *restrict src,
          gint64                n)
{
  v8f v8;
  v4f v4;

  /* Whole vectors, then one last vector overlapping the previous one, so
   * a short row costs two or three moves and no scalar tail. */
  if (n >= 8)
    {
      for (gint64 i = 0; i + 8 <= n; i += 8)
        {
          memcpy (&v8, src + i, sizeof v8);
          memcpy (dst + i, &v8, sizeof v8);
        }
      memcpy (&v8, src + n - 8, sizeof v8);
      memcpy (dst + n - 8, &v8, sizeof v8);
    }
  else if (n >= 4)
    {
      memcpy (&v4, src, sizeof v4);
      memcpy (dst, &v4, sizeof v4);
      memcpy (&v4, src + n - 4, sizeof v4);
      memcpy (dst + n - 4, &v4, sizeof v4);
    }
  else
    for (gint64 i = 0; i < n; i++)
      dst[i] = src[i];
}

static inline void
zero_f32 (float  *dst,
          gint64  n)
{
  const v8f z = { 0 };
  gint64 i = 0;

  for (; i + 8 <= n; i += 8)
    memcpy (dst + i, &z, sizeof z);
  for (; i < n; i++)
    dst[i] = 0.f;
}

/* One output row of im2col: zeros where the window is in the padding, a
 * strided copy of the input row in between (taps lo..hi read
 * src[o * stride + off]). */
static inline void
im2col_row (float       *dst,
            const float *src,
            gint64       off,
            gint64       n,
            gint64       lo,
            gint64       hi,
            gint64       stride)
{
  zero_f32 (dst, lo);
  if (hi > lo)
    {
      if (stride == 1)
        copy_f32 (dst + lo, src + lo + off, hi - lo);
      else
        for (gint64 i = lo; i < hi; i++)
          dst[i] = src[i * stride + off];
    }
  zero_f32 (dst + hi, n - hi);
}

void
lathe_im2col_f32 (const LatheConvShape *s,
                  gint64                channels,
                  const float          *x,
                  float                *col)
{
  const gint64 ID = s->in[0], IH = s->in[1], IW = s->in[2];
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 plane = OH * OW, out_size = OD * plane;
  float *row = col;

  for (gint64 c = 0; c < channels; c++)
    for (gint64 a = 0; a < s->kernel[0]; a++)
      {
        gint64 off_d = a * s->dilation[0] - s->pad_begin[0];
        gint64 d_lo, d_hi;

        valid_range (off_d, s->stride[0], ID, OD, &d_lo, &d_hi);
        for (gint64 b = 0; b < s->kernel[1]; b++)
          {
            gint64 off_h = b * s->dilation[1] - s->pad_begin[1];
            gint64 h_lo, h_hi;

            valid_range (off_h, s->stride[1], IH, OH, &h_lo, &h_hi);
            for (gint64 e = 0; e < s->kernel[2]; e++, row += out_size)
              {
                gint64 off_w = e * s->dilation[2] - s->pad_begin[2];
                gint64 w_lo, w_hi;

                valid_range (off_w, s->stride[2], IW, OW, &w_lo, &w_hi);
                zero_f32 (row, d_lo * plane);
                for (gint64 od = d_lo; od < d_hi; od++)
                  {
                    const float *xd = x + (c * ID + od * s->stride[0] + off_d) * IH * IW;
                    float *dd = row + od * plane;

                    zero_f32 (dd, h_lo * OW);
                    for (gint64 oh = h_lo; oh < h_hi; oh++)
                      im2col_row (dd + oh * OW, xd + (oh * s->stride[1] + off_h) * IW, off_w,
                                  OW, w_lo, w_hi, s->stride[2]);
                    zero_f32 (dd + h_hi * OW, (OH - h_hi) * OW);
                  }
                zero_f32 (row + d_hi * plane, (OD - d_hi) * plane);
              }
          }
      }
}

void
lathe_im2col_f32_ref (const LatheConvShape *s,
                      gint64                channels,
                      const float          *x,
                      float                *col)
{
  gsize r = 0;

  for (gint64 c = 0; c < channels; c++)
    for (gint64 a = 0; a < s->kernel[0]; a++)
      for (gint64 b = 0; b < s->kernel[1]; b++)
        for (gint64 e = 0; e < s->kernel[2]; e++)
          for (gint64 od = 0; od < s->out[0]; od++)
            for (gint64 oh = 0; oh < s->out[1]; oh++)
              for (gint64 ow = 0; ow < s->out[2]; ow++)
                {
                  gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                  gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                  gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                  gboolean inside = id >= 0 && id < s->in[0] && ih >= 0 && ih < s->in[1] &&
                                    iw >= 0 && iw < s->in[2];

                  col[r++] = inside ? x[((c * s->in[0] + id) * s->in[1] + ih) * s->in[2] + iw] : 0.f;
                }
}

void
lathe_col2im_f32 (const LatheConvShape *s,
                  gint64                channels,
                  const float          *col,
                  float                *x)
{
  const gint64 ID = s->in[0], IH = s->in[1], IW = s->in[2];
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 plane = OH * OW, out_size = OD * plane;
  const float *row = col;

  for (gint64 c = 0; c < channels; c++)
    for (gint64 a = 0; a < s->kernel[0]; a++)
      {
        gint64 off_d = a * s->dilation[0] - s->pad_begin[0];
        gint64 d_lo, d_hi;

        valid_range (off_d, s->stride[0], ID, OD, &d_lo, &d_hi);
        for (gint64 b = 0; b < s->kernel[1]; b++)
          {
            gint64 off_h = b * s->dilation[1] - s->pad_begin[1];
            gint64 h_lo, h_hi;

            valid_range (off_h, s->stride[1], IH, OH, &h_lo, &h_hi);
            for (gint64 e = 0; e < s->kernel[2]; e++, row += out_size)
              {
                gint64 off_w = e * s->dilation[2] - s->pad_begin[2];
                gint64 w_lo, w_hi;

                valid_range (off_w, s->stride[2], IW, OW, &w_lo, &w_hi);
                for (gint64 od = d_lo; od < d_hi; od++)
                  for (gint64 oh = h_lo; oh < h_hi; oh++)
                    {
                      float *dst = x + ((c * ID + od * s->stride[0] + off_d) * IH +
                                        oh * s->stride[1] + off_h) * IW;
                      const float *src = row + (od * OH + oh) * OW;

                      for (gint64 ow = w_lo; ow < w_hi; ow++)
                        dst[ow * s->stride[2] + off_w] += src[ow];
                    }
              }
          }
      }
}

void
lathe_col2im_f32_ref (const LatheConvShape *s,
                      gint64                channels,
                      const float          *col,
                      float                *x)
{
  gsize r = 0;

  for (gint64 c = 0; c < channels; c++)
    for (gint64 a = 0; a < s->kernel[0]; a++)
      for (gint64 b = 0; b < s->kernel[1]; b++)
        for (gint64 e = 0; e < s->kernel[2]; e++)
          for (gint64 od = 0; od < s->out[0]; od++)
            for (gint64 oh = 0; oh < s->out[1]; oh++)
              for (gint64 ow = 0; ow < s->out[2]; ow++, r++)
                {
                  gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                  gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                  gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];

                  if (id >= 0 && id < s->in[0] && ih >= 0 && ih < s->in[1] &&
                      iw >= 0 && iw < s->in[2])
                    x[((c * s->in[0] + id) * s->in[1] + ih) * s->in[2] + iw] += col[r];
                }
}

/* ---------------------------------------------------------------------- */
/* Convolution                                                             */

/* y += a * x over n floats (vector extensions, as copy_f32). */
static inline void
axpy_f32 (float       *restrict y,
          const float *restrict x,
          float                 a,
          gint64                n)
{
  gint64 i = 0;

  for (; i + 8 <= n; i += 8)
    {
      v8f vx, vy;

      memcpy (&vx, x + i, sizeof vx);
      memcpy (&vy, y + i, sizeof vy);
      vy += a * vx;
      memcpy (y + i, &vy, sizeof vy);
    }
  for (; i < n; i++)
    y[i] += a * x[i];
}

#define DW_MAX_KW 16

void
lathe_conv_depthwise_f32 (const LatheConvShape *s,
                          const float          *x,
                          const float          *w,
                          const float          *bias,
                          float                *y)
{
  const gint64 C = s->channels_in, M = s->channels_out, mult = M / C;
  const gint64 ID = s->in[0], IH = s->in[1], IW = s->in[2];
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 KD = s->kernel[0], KH = s->kernel[1], KW = s->kernel[2];
  const gint64 SW = s->stride[2];
  const gint64 in_size = ID * IH * IW, out_size = OD * OH * OW, ksize = KD * KH * KW;

  gint64 w_lo[DW_MAX_KW], w_hi[DW_MAX_KW];

  g_assert (lathe_conv_is_depthwise (s));

  /* The valid output range of each tap along w is the same on every row. */
  for (gint64 e = 0; e < MIN (KW, DW_MAX_KW); e++)
    valid_range (e * s->dilation[2] - s->pad_begin[2], SW, IW, OW, &w_lo[e], &w_hi[e]);

  for (gint64 n = 0; n < s->batch; n++)
    for (gint64 oc = 0; oc < M; oc++)
      {
        const float *xc = x + (n * C + oc / mult) * in_size;
        const float *wk = w + oc * ksize;
        float *yc = y + (n * M + oc) * out_size;
        float b0 = bias != NULL ? bias[oc] : 0.f;

        for (gint64 od = 0; od < OD; od++)
          for (gint64 oh = 0; oh < OH; oh++)
            {
              float *row = yc + (od * OH + oh) * OW;

              for (gint64 ow = 0; ow < OW; ow++)
                row[ow] = b0;
              /* One pass over the output row per tap: the row stays in L1
               * and the stride-1 case is a plain vector axpy. */
              for (gint64 a = 0; a < KD; a++)
                {
                  gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];

                  if (id < 0 || id >= ID)
                    continue;
                  for (gint64 b = 0; b < KH; b++)
                    {
                      gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                      const float *xr, *wr;

                      if (ih < 0 || ih >= IH)
                        continue;
                      xr = xc + (id * IH + ih) * IW;
                      wr = wk + (a * KH + b) * KW;
                      for (gint64 e = 0; e < KW; e++)
                        {
                          gint64 off = e * s->dilation[2] - s->pad_begin[2];
                          gint64 lo, hi;

                          if (e < DW_MAX_KW)
                            lo = w_lo[e], hi = w_hi[e];
                          else
                            valid_range (off, SW, IW, OW, &lo, &hi);
                          if (hi <= lo)
                            continue;
                          if (SW == 1)
                            axpy_f32 (row + lo, xr + lo + off, wr[e], hi - lo);
                          else
                            {
                              float wv = wr[e];

                              for (gint64 ow = lo; ow < hi; ow++)
                                row[ow] += wv * xr[ow * SW + off];
                            }
                        }
                    }
                }
            }
      }
}

void
lathe_conv_depthwise_f32_ref (const LatheConvShape *s,
                              const float          *x,
                              const float          *w,
                              const float          *bias,
                              float                *y)
{
  const gint64 C = s->channels_in, M = s->channels_out, mult = M / C;
  const gint64 ksize = lathe_conv_shape_kernel_size (s);
  const gint64 in_size = lathe_conv_shape_in_size (s), out_size = lathe_conv_shape_out_size (s);

  for (gint64 n = 0; n < s->batch; n++)
    for (gint64 oc = 0; oc < M; oc++)
      for (gint64 od = 0; od < s->out[0]; od++)
        for (gint64 oh = 0; oh < s->out[1]; oh++)
          for (gint64 ow = 0; ow < s->out[2]; ow++)
            {
              double acc = bias != NULL ? bias[oc] : 0.0;

              for (gint64 a = 0; a < s->kernel[0]; a++)
                for (gint64 b = 0; b < s->kernel[1]; b++)
                  for (gint64 e = 0; e < s->kernel[2]; e++)
                    {
                      gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                      gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                      gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];

                      if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] ||
                          iw < 0 || iw >= s->in[2])
                        continue;
                      acc += (double) w[oc * ksize + (a * s->kernel[1] + b) * s->kernel[2] + e] *
                             x[(n * C + oc / mult) * in_size + (id * s->in[1] + ih) * s->in[2] + iw];
                    }
              y[(n * M + oc) * out_size + (od * s->out[1] + oh) * s->out[2] + ow] = (float) acc;
            }
}

/* ---------------------------------------------------------------------- */
/* Direct convolution                                                      */

/* Stride-1 convolutions with a short reduction (LeNet's 25 and 150 taps)
 * spend an im2col + GEMM mostly on copying and on GEMM calls too small to
 * repay their packing. The direct kernel instead keeps a block of output
 * channels by a run of output positions in registers for the whole
 * reduction; each tap costs one vector load per run of positions and one
 * broadcast weight per channel. The input is first copied into a
 * zero-padded buffer, so that every tap (c, a, b, e) is one offset from
 * the output position (dilation included), whatever the padding.
 *
 * It has two layouts and plans with the cheaper one (direct_plan):
 *  - flat: one image at a time, its padded planes read as flat arrays with
 *    the padded row length. A vector then holds consecutive positions, so
 *    the KW - 1 positions past the end of each output row (which fall in
 *    the padding columns) are computed too, and dropped when the result
 *    is copied out. Cheap for wide rows.
 *  - lanes: a vector holds one position of as many images as it has
 *    lanes, interleaved on the way in and out. Tiles then run along an
 *    output row and compute no padding column, which pays on small
 *    planes (LeNet's second layer keeps 100 of 144 flat positions) when
 *    the batch fills the lanes. */

/* With the AVX2 tiles im2col + GEMM catches up near 500 taps (64 channels,
 * 3x3, on 56x56); stay well below. */
#define DIRECT_MAX_K 256
#define DIRECT_MAX_LANES 16

typedef struct DirectTile DirectTile;

typedef struct {
  const DirectTile *tile;
  gboolean lanes;      /* interleaved images rather than flat planes */
  gint64 padded[LATHE_CONV_MAX_SPATIAL];   /* input extents with the pads */
  gint64 plane;        /* padded input plane, positions */
  gint64 span;         /* flat: positions up to the last output, + 1 */
  gint64 n_tiles;      /* flat: tiles covering span; lanes: tiles per row */
  gint64 flat;         /* flat: n_tiles * tile width, the output plane */
  gint64 n_blocks;     /* tile channel blocks per group */
  gint64 K;            /* taps per output: input channels * kernel size */
  /* workspace sections, in floats */
  gsize  w_size, b_size, off_size, x_size, y_size;
} DirectPlan;

/* One call's arrays: the caller's, and its packed copies in the workspace. */
typedef struct {
  const LatheConvShape *s;
  const DirectPlan     *p;
  const float          *x;
  float                *y;
  const float          *w;         /* [group][block][K][block channels] */
  const float          *bias;      /* [group][block][block channels] */
  const gint64         *offsets;   /* [K], in floats */
  float                *xp;        /* padded input planes of one group */
  float                *yp;        /* output planes of one group */
} DirectJob;

struct DirectTile {
  LatheConvSimd simd;
  gint64        channels;   /* output channels per tile */
  gint64        vectors;    /* vectors of positions per tile */
  gint64        lanes;      /* floats per vector */
  void        (*run_flat)  (const DirectJob *job);
  void        (*run_lanes) (const DirectJob *job);
};

typedef void (*DirectTileFunc) (const float *x, const gint64 *offsets, gint64 K,
                                const float *w, const float *bias, float *y, gint64 y_stride);
/* src[i] (i < n_src): n floats each, readable up to `end`; dst gets n
 * vectors, lane i from src[i] (zero for i >= n_src). */
typedef void (*DirectInterleaveFunc) (const float *const *src, gint64 n_src, gint64 n,
                                      const float *end, float *dst);
/* The inverse for n vectors (read up to lanes - 1 vectors past n); only
 * dst[i] for i < n_dst are written. */
typedef void (*DirectDeinterleaveFunc) (const float *src, gint64 n, float *const *dst, gint64 n_dst);

/* Flat layout, the whole batch: for each image and group, copy the input
 * planes into the padded buffer, run the tiles, copy the kept positions
 * out. Inlined into one function per tile, so that the tile call is
 * direct and the copies use the tile's instruction set. */
static inline __attribute__ ((always_inline)) void
direct_run_flat (const DirectJob *job,
                 DirectTileFunc   tile)
{
  const LatheConvShape *s = job->s;
  const DirectPlan *p = job->p;
  const gint64 G = s->group, C = s->channels_in, M = s->channels_out;
  const gint64 Cg = C / G, Mg = M / G;
  const gint64 ID = s->in[0], IH = s->in[1], IW = s->in[2];
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 in_size = ID * IH * IW, out_size = OD * OH * OW;
  const gint64 MB = p->tile->channels, T = p->tile->vectors * p->tile->lanes, K = p->K;
  const gint64 IHp = p->padded[1], IWp = p->padded[2];
  /* Without pads along w the rows of a plane are contiguous on both
   * sides: one copy per plane rather than per row. */
  const gint64 rows = IWp == IW ? IH : 1;

  for (gint64 n = 0; n < s->batch; n++)
    for (gint64 g = 0; g < G; g++)
      {
        const float *xg = job->x + (n * C + g * Cg) * in_size;
        float *yg = job->y + (n * M + g * Mg) * out_size;

        for (gint64 c = 0; c < Cg; c++)
          for (gint64 id = 0; id < ID; id++)
            for (gint64 ih = 0; ih < IH; ih += rows)
              copy_f32 (job->xp + c * p->plane +
                        ((id + s->pad_begin[0]) * IHp + ih + s->pad_begin[1]) * IWp + s->pad_begin[2],
                        xg + ((c * ID + id) * IH + ih) * IW, rows * IW);

        /* Blocks inside tiles: the input window a tile reads stays in L1
         * for all the blocks. */
        for (gint64 t = 0; t < p->n_tiles; t++)
          for (gint64 blk = 0; blk < p->n_blocks; blk++)
            tile (job->xp + t * T, job->offsets, K,
                  job->w + (g * p->n_blocks + blk) * K * MB,
                  job->bias + (g * p->n_blocks + blk) * MB,
                  job->yp + blk * MB * p->flat + t * T, p->flat);

        for (gint64 m = 0; m < Mg; m++)
          for (gint64 od = 0; od < OD; od++)
            for (gint64 oh = 0; oh < OH; oh++)
              copy_f32 (yg + m * out_size + (od * OH + oh) * OW,
                        job->yp + m * p->flat + (od * IHp + oh) * IWp, OW);
      }
}

/* Lanes layout, the whole batch: for each group of L images and each
 * channel group, interleave the input rows into the padded buffer, run
 * the tiles along every output row (the last one of a row moved back to
 * end with it), deinterleave the output planes. */
static inline __attribute__ ((always_inline)) void
direct_run_lanes (const DirectJob        *job,
                  DirectTileFunc          tile,
                  DirectInterleaveFunc    interleave,
                  DirectDeinterleaveFunc  deinterleave)
{
  const LatheConvShape *s = job->s;
  const DirectPlan *p = job->p;
  const gint64 G = s->group, C = s->channels_in, M = s->channels_out;
  const gint64 Cg = C / G, Mg = M / G;
  const gint64 ID = s->in[0], IH = s->in[1], IW = s->in[2];
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 in_size = ID * IH * IW, out_size = OD * OH * OW;
  const gint64 MB = p->tile->channels, NV = p->tile->vectors, L = p->tile->lanes, K = p->K;
  const gint64 IHp = p->padded[1], IWp = p->padded[2];
  const gint64 rows = IWp == IW ? IH : 1;
  const float *x_end = job->x + s->batch * C * in_size;
  const float *src[DIRECT_MAX_LANES];
  float *dst[DIRECT_MAX_LANES];

  for (gint64 n0 = 0; n0 < s->batch; n0 += L)
    for (gint64 g = 0; g < G; g++)
      {
        const gint64 nn = MIN (L, s->batch - n0);

        for (gint64 c = 0; c < Cg; c++)
          for (gint64 id = 0; id < ID; id++)
            for (gint64 ih = 0; ih < IH; ih += rows)
              {
                for (gint64 i = 0; i < nn; i++)
                  src[i] = job->x + ((n0 + i) * C + g * Cg + c) * in_size + (id * IH + ih) * IW;
                interleave (src, nn, rows * IW, x_end,
                            job->xp + (c * p->plane + ((id + s->pad_begin[0]) * IHp + ih +
                                                       s->pad_begin[1]) * IWp + s->pad_begin[2]) * L);
              }

        for (gint64 od = 0; od < OD; od++)
          for (gint64 oh = 0; oh < OH; oh++)
            for (gint64 t = 0; t < p->n_tiles; t++)
              {
                gint64 ow = MIN (t * NV, OW - NV);

                for (gint64 blk = 0; blk < p->n_blocks; blk++)
                  tile (job->xp + ((od * IHp + oh) * IWp + ow) * L, job->offsets, K,
                        job->w + (g * p->n_blocks + blk) * K * MB,
                        job->bias + (g * p->n_blocks + blk) * MB,
                        job->yp + (blk * MB * out_size + (od * OH + oh) * OW + ow) * L,
                        out_size * L);
              }

        for (gint64 m = 0; m < Mg; m++)
          {
            for (gint64 i = 0; i < nn; i++)
              dst[i] = job->y + ((n0 + i) * M + g * Mg + m) * out_size;
            deinterleave (job->yp + m * out_size * L, out_size, dst, nn);
          }
      }
}

/* One tile: MB output channels by NV vectors of positions from x on. w
 * holds K rows of MB weights, bias MB values; y gets MB rows of NV
 * vectors, y_stride apart. Stamped out per instruction set and shape,
 * with both layouts' loops around it (ileave names the instruction set's
 * interleave functions); the unrolled MB x NV loops keep the accumulators
 * in registers. `f - (vec) { 0 }` broadcasts f: unlike f + 0 (wrong for
 * -0), GCC folds it into a plain broadcast. */
#define DEFINE_DIRECT_TILE(name, isa, vec, lanes, MB, NV, ileave)              \
  __attribute__ ((target (isa))) static void                                 \
  name##_tile (const float  *x,                                              \
               const gint64 *offsets,                                        \
               gint64        K,                                              \
               const float  *w,                                              \
               const float  *bias,                                           \
               float        *y,                                              \
               gint64        y_stride)                                       \
  {                                                                          \
    vec acc[MB][NV];                                                         \
                                                                             \
    _Pragma ("GCC unroll 16")                                                \
    for (int m = 0; m < MB; m++)                                             \
      _Pragma ("GCC unroll 16")                                              \
      for (int v = 0; v < NV; v++)                                           \
        acc[m][v] = bias[m] - (vec) { 0 };                                   \
    for (gint64 k = 0; k < K; k++, w += MB)                                  \
      {                                                                      \
        const float *src = x + offsets[k];                                   \
        vec xv[NV];                                                          \
                                                                             \
        _Pragma ("GCC unroll 16")                                            \
        for (int v = 0; v < NV; v++)                                         \
          memcpy (&xv[v], src + v * lanes, sizeof (vec));                    \
        _Pragma ("GCC unroll 16")                                            \
        for (int m = 0; m < MB; m++)                                         \
          {                                                                  \
            vec wv = w[m] - (vec) { 0 };                                     \
                                                                             \
            _Pragma ("GCC unroll 16")                                        \
            for (int v = 0; v < NV; v++)                                     \
              acc[m][v] += wv * xv[v];                                       \
          }                                                                  \
      }                                                                      \
    _Pragma ("GCC unroll 16")                                                \
    for (int m = 0; m < MB; m++)                                             \
      _Pragma ("GCC unroll 16")                                              \
      for (int v = 0; v < NV; v++)                                           \
        memcpy (y + m * y_stride + v * lanes, &acc[m][v], sizeof (vec));     \
  }                                                                          \
                                                                             \
  __attribute__ ((target (isa))) static void                                 \
  name##_flat (const DirectJob *job)                                         \
  {                                                                          \
    direct_run_flat (job, name##_tile);                                      \
  }                                                                          \
                                                                             \
  __attribute__ ((target (isa))) static void                                 \
  name##_lanes (const DirectJob *job)                                        \
  {                                                                          \
    direct_run_lanes (job, name##_tile, ileave##_in, ileave##_out);          \
  }

/* Transposes of lanes x lanes blocks for the lanes layout, stamped per
 * instruction set: log2 (lanes) butterfly stages, stage b swapping the
 * b x b sub-blocks off the diagonal with two-input shuffles (masks[b]:
 * the low and the high result). Unrolled, the block stays in registers.
 * Ragged ends go through a small array, keeping the block in registers. */
#define DEFINE_DIRECT_INTERLEAVE(name, isa, vec, lanes, masks)                 \
  __attribute__ ((target (isa), always_inline)) static inline void           \
  name##_transpose (vec *r)                                                  \
  {                                                                          \
    _Pragma ("GCC unroll 4")                                                 \
    for (int st = 0; (1 << st) < lanes; st++)                                \
      _Pragma ("GCC unroll 16")                                              \
      for (int i = 0; i < lanes; i++)                                        \
        if (!(i & (1 << st)))                                                \
          {                                                                  \
            vec lo = r[i], hi = r[i + (1 << st)];                            \
                                                                             \
            r[i] = __builtin_shuffle (lo, hi, masks[st][0]);                 \
            r[i + (1 << st)] = __builtin_shuffle (lo, hi, masks[st][1]);     \
          }                                                                  \
  }                                                                          \
                                                                             \
  __attribute__ ((target (isa))) static void                                 \
  name##_in (const float *const *src,                                        \
             gint64              n_src,                                      \
             gint64              n,                                          \
             const float        *end,                                        \
             float              *dst)                                        \
  {                                                                          \
    for (gint64 j0 = 0; j0 < n; j0 += lanes)                                 \
      {                                                                      \
        gint64 count = MIN (lanes, n - j0);                                  \
        vec r[lanes];                                                        \
                                                                             \
        _Pragma ("GCC unroll 16")                                            \
        for (int i = 0; i < lanes; i++)                                      \
          {                                                                  \
            if (i < n_src && src[i] + j0 + lanes <= end)                     \
              memcpy (&r[i], src[i] + j0, sizeof (vec));                     \
            else                                                             \
              {                                                              \
                float part[lanes];                                           \
                                                                             \
                for (gint64 k = 0; k < lanes; k++)                           \
                  part[k] = i < n_src && k < count ? src[i][j0 + k] : 0.f;   \
                memcpy (&r[i], part, sizeof (vec));                          \
              }                                                              \
          }                                                                  \
        name##_transpose (r);                                                \
        _Pragma ("GCC unroll 16")                                            \
        for (int j = 0; j < lanes; j++)                                      \
          if (j < count)                                                     \
            memcpy (dst + (j0 + j) * lanes, &r[j], sizeof (vec));            \
      }                                                                      \
  }                                                                          \
                                                                             \
  __attribute__ ((target (isa))) static void                                 \
  name##_out (const float *src,                                              \
              gint64       n,                                                \
              float *const *dst,                                             \
              gint64       n_dst)                                            \
  {                                                                          \
    for (gint64 j0 = 0; j0 < n; j0 += lanes)                                 \
      {                                                                      \
        gint64 count = MIN (lanes, n - j0);                                  \
        vec r[lanes];                                                        \
                                                                             \
        _Pragma ("GCC unroll 16")                                            \
        for (int j = 0; j < lanes; j++)                                      \
          memcpy (&r[j], src + (j0 + j) * lanes, sizeof (vec));              \
        name##_transpose (r);                                                \
        _Pragma ("GCC unroll 16")                                            \
        for (int i = 0; i < lanes; i++)                                      \
          if (i < n_dst && count == lanes)                                   \
            memcpy (dst[i] + j0, &r[i], sizeof (vec));                       \
          else if (i < n_dst)                                                \
            {                                                                \
              float part[lanes];                                             \
                                                                             \
              memcpy (part, &r[i], sizeof (vec));                            \
              for (gint64 k = 0; k < count; k++)                             \
                dst[i][j0 + k] = part[k];                                    \
            }                                                                \
      }                                                                      \
  }

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_DIRECT_TILES 1

typedef float v16f __attribute__ ((vector_size (64)));
typedef gint32 v16i __attribute__ ((vector_size (64)));
typedef gint32 v8i __attribute__ ((vector_size (32)));

static const v16i interleave_masks_16[4][2] = {
  { { 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30 },
    { 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31 } },
  { { 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29 },
    { 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31 } },
  { { 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27 },
    { 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31 } },
  { { 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23 },
    { 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31 } },
};
static const v8i interleave_masks_8[3][2] = {
  { { 0, 8, 2, 10, 4, 12, 6, 14 }, { 1, 9, 3, 11, 5, 13, 7, 15 } },
  { { 0, 1, 8, 9, 4, 5, 12, 13 }, { 2, 3, 10, 11, 6, 7, 14, 15 } },
  { { 0, 1, 2, 3, 8, 9, 10, 11 }, { 4, 5, 6, 7, 12, 13, 14, 15 } },
};

DEFINE_DIRECT_INTERLEAVE (interleave_avx512, "avx512f", v16f, 16, interleave_masks_16)
DEFINE_DIRECT_INTERLEAVE (interleave_avx2, "avx2,fma", v8f, 8, interleave_masks_8)

/* 20 to 24 accumulators of the 32 AVX-512 registers, 12 of the 16 AVX2
 * ones; shapes that fit LeNet's 6 and 16 channels and its 28- and
 * 10-wide rows with little rounding. */
DEFINE_DIRECT_TILE (direct_avx512_8x3, "avx512f", v16f, 16, 8, 3, interleave_avx512)
DEFINE_DIRECT_TILE (direct_avx512_6x4, "avx512f", v16f, 16, 6, 4, interleave_avx512)
DEFINE_DIRECT_TILE (direct_avx512_4x5, "avx512f", v16f, 16, 4, 5, interleave_avx512)
DEFINE_DIRECT_TILE (direct_avx512_4x6, "avx512f", v16f, 16, 4, 6, interleave_avx512)
DEFINE_DIRECT_TILE (direct_avx2_6x2, "avx2,fma", v8f, 8, 6, 2, interleave_avx2)
DEFINE_DIRECT_TILE (direct_avx2_4x3, "avx2,fma", v8f, 8, 4, 3, interleave_avx2)
#endif

#define DIRECT_TILE_ENTRY(simd, name, MB, NV, lanes) \
  { simd, MB, NV, lanes, name##_flat, name##_lanes }

static const DirectTile direct_tiles[] = {
#ifdef HAVE_DIRECT_TILES
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX512, direct_avx512_8x3, 8, 3, 16),
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX512, direct_avx512_6x4, 6, 4, 16),
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX512, direct_avx512_4x5, 4, 5, 16),
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX512, direct_avx512_4x6, 4, 6, 16),
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX2, direct_avx2_6x2, 6, 2, 8),
  DIRECT_TILE_ENTRY (LATHE_CONV_SIMD_AVX2, direct_avx2_4x3, 4, 3, 8),
#endif
  { LATHE_CONV_SIMD_NONE, 0, 0, 0, NULL, NULL }
};

LatheConvSimd
lathe_conv_simd_detect (void)
{
#ifdef HAVE_DIRECT_TILES
  if (__builtin_cpu_supports ("avx512f"))
    return LATHE_CONV_SIMD_AVX512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return LATHE_CONV_SIMD_AVX2;
#endif
  return LATHE_CONV_SIMD_NONE;
}

static inline gsize
round_up_64_bytes (gsize n_floats)
{
  return (n_floats + 15) & ~(gsize) 15;
}

static gboolean
direct_plan (const LatheConvShape *s,
             LatheConvSimd         simd,
             DirectPlan           *p)
{
  const gint64 G = s->group, Mg = s->channels_out / s->group;
  const gint64 OD = s->out[0], OH = s->out[1], OW = s->out[2];
  const gint64 out_size = OD * OH * OW;
  double best = G_MAXDOUBLE;

  memset (p, 0, sizeof *p);
  if (simd == LATHE_CONV_SIMD_NONE || lathe_conv_is_depthwise (s) ||
      lathe_conv_is_pointwise (s) || out_size == 0 || Mg == 0 || s->batch < 1)
    return FALSE;
  for (guint d = 0; d < LATHE_CONV_MAX_SPATIAL; d++)
    if (s->stride[d] != 1)
      return FALSE;
  p->K = s->channels_in / G * lathe_conv_shape_kernel_size (s);
  if (p->K < 1 || p->K > DIRECT_MAX_K)
    return FALSE;

  for (guint d = 0; d < LATHE_CONV_MAX_SPATIAL; d++)
    p->padded[d] = s->in[d] + s->pad_begin[d] + s->pad_end[d];
  p->plane = p->padded[0] * p->padded[1] * p->padded[2];
  p->span = ((OD - 1) * p->padded[1] + OH - 1) * p->padded[2] + OW;

  /* For each tile and layout, the outputs computed per image and group
   * (positions and channels rounded up to whole tiles; in the lanes
   * layout, images to whole vectors). Of those keeping at least half of
   * them, the cheapest, counting a vector FMA per tap and, for the lanes
   * layout, half of one per float interleaved (measured: LeNet's first
   * layer saves 12 % of its FMAs that way but loses time). None keeps
   * half: im2col + GEMM. */
  for (const DirectTile *t = direct_tiles; t->run_flat != NULL; t++)
    {
      const gint64 n_blocks = (Mg + t->channels - 1) / t->channels;
      const gint64 useful = Mg * out_size;
      const gint64 flat_tiles = (p->span + t->vectors * t->lanes - 1) / (t->vectors * t->lanes);
      const double flat = (double) flat_tiles * t->vectors * t->lanes * n_blocks * t->channels;
      const gint64 row_tiles = (OW + t->vectors - 1) / t->vectors;
      const gint64 groups = (s->batch + t->lanes - 1) / t->lanes;
      const double lanes = (double) OD * OH * row_tiles * t->vectors * n_blocks * t->channels *
                           groups * t->lanes / s->batch;
      const double interleaved = (double) s->channels_in / G * lathe_conv_shape_in_size (s) + useful;

      if (t->simd > simd)
        continue;
      if (flat <= 2.0 * useful && flat / t->lanes * p->K < best)
        {
          best = flat / t->lanes * p->K;
          p->tile = t;
          p->lanes = FALSE;
          p->n_tiles = flat_tiles;
        }
      if (OW >= t->vectors && lanes <= 2.0 * useful &&
          lanes / t->lanes * p->K + interleaved / 2 < best)
        {
          best = lanes / t->lanes * p->K + interleaved / 2;
          p->tile = t;
          p->lanes = TRUE;
          p->n_tiles = row_tiles;
        }
      if (p->tile == t)
        p->n_blocks = n_blocks;
    }
  if (p->tile == NULL)
    return FALSE;

  p->w_size = round_up_64_bytes (G * p->n_blocks * p->tile->channels * p->K);
  p->b_size = round_up_64_bytes (G * p->n_blocks * p->tile->channels);
  p->off_size = round_up_64_bytes (p->K * sizeof (gint64) / sizeof (float));
  if (p->lanes)
    {
      const gint64 L = p->tile->lanes;

      p->x_size = round_up_64_bytes (s->channels_in / G * p->plane * L);
      /* deinterleaving reads up to L - 1 vectors past the last plane */
      p->y_size = round_up_64_bytes ((p->n_blocks * p->tile->channels * out_size + L) * L);
    }
  else
    {
      p->flat = p->n_tiles * p->tile->vectors * p->tile->lanes;
      /* the last tile reads up to flat - span floats past the last plane */
      p->x_size = round_up_64_bytes (s->channels_in / G * p->plane + p->flat - p->span);
      p->y_size = round_up_64_bytes (p->n_blocks * p->tile->channels * p->flat);
    }
  return TRUE;
}

gboolean
lathe_conv_is_direct (const LatheConvShape *s,
                      LatheConvSimd         simd)
{
  DirectPlan p;

  return direct_plan (s, simd, &p);
}

gint64
lathe_conv_direct_lanes (const LatheConvShape *s,
                         LatheConvSimd         simd)
{
  DirectPlan p;

  if (!direct_plan (s, simd, &p))
    return 0;
  return p.lanes ? p.tile->lanes : 1;
}

gsize
lathe_conv_direct_workspace_size (const LatheConvShape *s,
                                  LatheConvSimd         simd)
{
  DirectPlan p;

  if (!direct_plan (s, simd, &p))
    return 0;
  return (p.w_size + p.b_size + p.off_size + p.x_size + p.y_size) * sizeof (float);
}

void
lathe_conv_direct_f32 (const LatheConvShape *s,
                       LatheConvSimd         simd,
                       const float          *x,
                       const float          *w,
                       const float          *bias,
                       float                *y,
                       gpointer              workspace)
{
  const gint64 G = s->group, Mg = s->channels_out / s->group;
  DirectPlan p;
  DirectJob job;
  float *wp, *bp, *xp;
  gint64 *offsets;
  gint64 MB, K, step, k = 0;
  gboolean planned = direct_plan (s, simd, &p);

  g_return_if_fail (planned);
  MB = p.tile->channels;
  K = p.K;
  /* floats per position in the padded buffer */
  step = p.lanes ? p.tile->lanes : 1;
  wp = workspace;
  bp = wp + p.w_size;
  offsets = (gint64 *) (bp + p.b_size);
  xp = bp + p.b_size + p.off_size;

  /* Weights as [group][block][K][MB] and bias as [group][block][MB], zero
   * for the channels that round a group up to whole blocks. */
  for (gint64 g = 0; g < G; g++)
    for (gint64 blk = 0; blk < p.n_blocks; blk++)
      for (gint64 m = 0; m < MB; m++)
        {
          gint64 oc = blk * MB + m;
          float *wr = wp + (g * p.n_blocks + blk) * K * MB + m;

          for (gint64 i = 0; i < K; i++)
            wr[i * MB] = oc < Mg ? w[(g * Mg + oc) * K + i] : 0.f;
          bp[(g * p.n_blocks + blk) * MB + m] = oc < Mg && bias != NULL ? bias[g * Mg + oc] : 0.f;
        }
  for (gint64 c = 0; c < s->channels_in / G; c++)
    for (gint64 a = 0; a < s->kernel[0]; a++)
      for (gint64 b = 0; b < s->kernel[1]; b++)
        for (gint64 e = 0; e < s->kernel[2]; e++)
          offsets[k++] = (c * p.plane +
                          (a * s->dilation[0] * p.padded[1] + b * s->dilation[1]) * p.padded[2] +
                          e * s->dilation[2]) * step;
  /* Zero once: every image rewrites only the interior, so the pads and
   * the tail stay zero. */
  zero_f32 (xp, (gint64) p.x_size);

  job = (DirectJob) {
    .s = s, .p = &p, .x = x, .y = y, .w = wp, .bias = bp, .offsets = offsets,
    .xp = xp, .yp = xp + p.x_size,
  };
  if (p.lanes)
    p.tile->run_lanes (&job);
  else
    p.tile->run_flat (&job);
}

void
lathe_conv_f32 (const LatheConvShape *s,
                const float          *x,
                const float          *w,
                const float          *bias,
                float                *y,
                gpointer              workspace)
{
  const gint64 G = s->group, C = s->channels_in, M = s->channels_out;
  const gint64 Cg = C / G, Mg = M / G;
  const gint64 K = Cg * lathe_conv_shape_kernel_size (s);
  const gint64 in_size = lathe_conv_shape_in_size (s), out_size = lathe_conv_shape_out_size (s);
  const gboolean pointwise = lathe_conv_is_pointwise (s);
  const LatheConvSimd simd = lathe_conv_simd_detect ();
  float *col = workspace;

  if (lathe_conv_is_depthwise (s))
    {
      lathe_conv_depthwise_f32 (s, x, w, bias, y);
      return;
    }
  if (lathe_conv_is_direct (s, simd))
    {
      lathe_conv_direct_f32 (s, simd, x, w, bias, y, workspace);
      return;
    }
  if (out_size == 0 || M == 0)
    return;

  for (gint64 n = 0; n < s->batch; n++)
    for (gint64 g = 0; g < G; g++)
      {
        const float *xg = x + (n * C + g * Cg) * in_size;
        float *yg = y + (n * M + g * Mg) * out_size;
        float beta = 0.f;

        if (bias != NULL || K == 0)
          {
            /* Seed the output with the bias and let GEMM accumulate. */
            for (gint64 m = 0; m < Mg; m++)
              {
                float b0 = bias != NULL ? bias[g * Mg + m] : 0.f;
                float *yr = yg + m * out_size;

                for (gint64 i = 0; i < out_size; i++)
                  yr[i] = b0;
              }
            beta = 1.f;
          }
        if (K == 0)
          continue;
        if (!pointwise)
          lathe_im2col_f32 (s, Cg, xg, col);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                     (blasint) Mg, (blasint) out_size, (blasint) K,
                     1.f, w + g * Mg * K, (blasint) K,
                     pointwise ? xg : col, (blasint) out_size,
                     beta, yg, (blasint) out_size);
      }
}

void
lathe_conv_f32_ref (const LatheConvShape *s,
                    const float          *x,
                    const float          *w,
                    const float          *bias,
                    float                *y)
{
  const gint64 C = s->channels_in, M = s->channels_out;
  const gint64 Cg = C / s->group, Mg = M / s->group;
  const gint64 ksize = lathe_conv_shape_kernel_size (s);
  const gint64 in_size = lathe_conv_shape_in_size (s), out_size = lathe_conv_shape_out_size (s);

  for (gint64 n = 0; n < s->batch; n++)
    for (gint64 m = 0; m < M; m++)
      for (gint64 od = 0; od < s->out[0]; od++)
        for (gint64 oh = 0; oh < s->out[1]; oh++)
          for (gint64 ow = 0; ow < s->out[2]; ow++)
            {
              double acc = bias != NULL ? bias[m] : 0.0;

              for (gint64 c = 0; c < Cg; c++)
                for (gint64 a = 0; a < s->kernel[0]; a++)
                  for (gint64 b = 0; b < s->kernel[1]; b++)
                    for (gint64 e = 0; e < s->kernel[2]; e++)
                      {
                        gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                        gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                        gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                        gint64 ci = (m / Mg) * Cg + c;

                        if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] ||
                            iw < 0 || iw >= s->in[2])
                          continue;
                        acc += (double) w[(m * Cg + c) * ksize + (a * s->kernel[1] + b) * s->kernel[2] + e] *
                               x[(n * C + ci) * in_size + (id * s->in[1] + ih) * s->in[2] + iw];
                      }
              y[(n * M + m) * out_size + (od * s->out[1] + oh) * s->out[2] + ow] = (float) acc;
            }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* ---------------------------------------------------------------------- */
/* Window attributes shared with the pooling operators                     */

static gboolean
copy_ints_attr (const LatheNode *node,
                const char      *name,
                gsize            max,
                gint64           min_value,
                gint64          *dst,
                gsize           *n_out,
                GError         **error)
{
  gsize n = 0;
  const gint64 *v = lathe_node_get_ints (node, name, &n);

  if (n > max)
    {
      lathe_node_unsupported_attr (error, node,
                                   "%s has %" G_GSIZE_FORMAT " values; at most %u spatial axes are supported",
                                   name, n, LATHE_CONV_MAX_SPATIAL);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    if (v[i] < min_value)
      {
        lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                              "%s[%" G_GSIZE_FORMAT "] = %" G_GINT64_FORMAT
                              " is out of range (expected >= %" G_GINT64_FORMAT ")",
                              name, i, v[i], min_value);
        return FALSE;
      }
  if (n > 0)
    memcpy (dst, v, n * sizeof (gint64));
  *n_out = n;
  return TRUE;
}

gboolean
_lathe_window_attrs_parse (const LatheNode  *node,
                           gboolean          with_dilations,
                           LatheWindowAttrs *w,
                           GError          **error)
{
  const char *auto_pad = lathe_node_get_string (node, "auto_pad", "NOTSET");

  memset (w, 0, sizeof *w);
  if (g_str_equal (auto_pad, "NOTSET"))
    w->auto_pad = LATHE_AUTO_PAD_NOTSET;
  else if (g_str_equal (auto_pad, "SAME_UPPER"))
    w->auto_pad = LATHE_AUTO_PAD_SAME_UPPER;
  else if (g_str_equal (auto_pad, "SAME_LOWER"))
    w->auto_pad = LATHE_AUTO_PAD_SAME_LOWER;
  else if (g_str_equal (auto_pad, "VALID"))
    w->auto_pad = LATHE_AUTO_PAD_VALID;
  else
    {
      lathe_node_unsupported_attr (error, node, "auto_pad=%s", auto_pad);
      return FALSE;
    }

  if (!copy_ints_attr (node, "kernel_shape", LATHE_CONV_MAX_SPATIAL, 1,
                       w->kernel, &w->n_kernel, error) ||
      !copy_ints_attr (node, "strides", LATHE_CONV_MAX_SPATIAL, 1,
                       w->strides, &w->n_strides, error) ||
      !copy_ints_attr (node, "pads", 2 * LATHE_CONV_MAX_SPATIAL, 0,
                       w->pads, &w->n_pads, error))
    return FALSE;
  if (with_dilations &&
      !copy_ints_attr (node, "dilations", LATHE_CONV_MAX_SPATIAL, 1,
                       w->dilations, &w->n_dilations, error))
    return FALSE;
  return TRUE;
}

static gboolean
check_count (const LatheNode *node,
             const char      *name,
             gsize            n,
             gsize            want,
             GError         **error)
{
  if (n == 0 || n == want)
    return TRUE;
  lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                        "%s has %" G_GSIZE_FORMAT " values, expected %" G_GSIZE_FORMAT
                        " for the input's spatial rank", name, n, want);
  return FALSE;
}

gboolean
_lathe_window_shape (const LatheNode        *node,
                     const LatheWindowAttrs *w,
                     guint                   n_spatial,
                     const gint64           *in,
                     const gint64           *kernel,
                     LatheConvShape         *s,
                     GError                **error)
{
  guint off;

  if (n_spatial == 0 || n_spatial > LATHE_CONV_MAX_SPATIAL)
    {
      lathe_node_unsupported_attr (error, node,
                                   "%u spatial axes (1 to %u are supported)",
                                   n_spatial, LATHE_CONV_MAX_SPATIAL);
      return FALSE;
    }
  if (!check_count (node, "kernel_shape", w->n_kernel, n_spatial, error) ||
      !check_count (node, "strides", w->n_strides, n_spatial, error) ||
      !check_count (node, "dilations", w->n_dilations, n_spatial, error) ||
      !check_count (node, "pads", w->n_pads, 2 * n_spatial, error))
    return FALSE;

  off = LATHE_CONV_MAX_SPATIAL - n_spatial;
  for (guint i = 0; i < n_spatial; i++)
    {
      guint d = off + i;
      gint64 eff, total = 0;

      s->in[d] = in[i];
      s->kernel[d] = kernel[i];
      s->stride[d] = w->n_strides > 0 ? w->strides[i] : 1;
      s->dilation[d] = w->n_dilations > 0 ? w->dilations[i] : 1;
      eff = (s->kernel[d] - 1) * s->dilation[d] + 1;
      switch (w->auto_pad)
        {
        case LATHE_AUTO_PAD_NOTSET:
          s->pad_begin[d] = w->n_pads > 0 ? w->pads[i] : 0;
          s->pad_end[d] = w->n_pads > 0 ? w->pads[i + n_spatial] : 0;
          break;
        case LATHE_AUTO_PAD_VALID:
          s->pad_begin[d] = s->pad_end[d] = 0;
          break;
        case LATHE_AUTO_PAD_SAME_UPPER:
        case LATHE_AUTO_PAD_SAME_LOWER:
          /* Output ceil(in / stride); the odd pad goes at the end for
           * SAME_UPPER and at the beginning for SAME_LOWER. */
          total = ((in[i] + s->stride[d] - 1) / s->stride[d] - 1) * s->stride[d] + eff - in[i];
          total = MAX (total, 0);
          s->pad_begin[d] = w->auto_pad == LATHE_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
          s->pad_end[d] = total - s->pad_begin[d];
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (!lathe_conv_shape_compute_out (s, w->ceil_mode && w->auto_pad == LATHE_AUTO_PAD_NOTSET))
    {
      g_autofree char *shape = lathe_shape_to_string (n_spatial, in);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "the window does not fit the padded input %s", shape);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Conv                                                                    */

typedef struct {
  LatheWindowAttrs win;
  gint64           group;
} ConvParams;

static gboolean
conv_setup (LatheNode  *node,
            GError    **error)
{
  ConvParams *p = g_new0 (ConvParams, 1);

  node->params = p;
  node->params_free = g_free;
  if (!_lathe_window_attrs_parse (node, TRUE, &p->win, error))
    return FALSE;
  p->group = lathe_node_get_int (node, "group", 1);
  if (p->group < 1)
    {
      lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                            "group = %" G_GINT64_FORMAT " must be positive", p->group);
      return FALSE;
    }
  return TRUE;
}

/* Builds the geometry from the input shapes; shared by infer and run. */
static gboolean
conv_geometry (LatheNode       *node,
               LatheTensor    **inputs,
               LatheConvShape  *s,
               GError         **error)
{
  const ConvParams *p = node->params;
  const LatheTensor *x = inputs[0], *w = inputs[1];
  const LatheTensor *b = node->n_inputs > 2 ? inputs[2] : NULL;
  guint n_spatial;

  for (guint i = 0; i < node->n_inputs; i++)
    if (inputs[i] != NULL && inputs[i]->dtype != LATHE_DTYPE_FLOAT)
      {
        lathe_node_unsupported_type (error, node, inputs[i]->dtype);
        return FALSE;
      }
  if (x->ndim < 3 || w->ndim != x->ndim)
    {
      g_autofree char *xs = lathe_shape_to_string (x->ndim, x->dims);
      g_autofree char *ws = lathe_shape_to_string (w->ndim, w->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "input %s and weights %s must both be [N, C, spatial...]", xs, ws);
      return FALSE;
    }
  n_spatial = x->ndim - 2;

  lathe_conv_shape_init (s);
  s->batch = x->dims[0];
  s->channels_in = x->dims[1];
  s->channels_out = w->dims[0];
  s->group = p->group;
  if (s->channels_in % p->group != 0 || s->channels_out % p->group != 0 ||
      w->dims[1] * p->group != s->channels_in)
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "%" G_GINT64_FORMAT " input channels, %" G_GINT64_FORMAT
                            " filters of %" G_GINT64_FORMAT " channels do not fit group = %"
                            G_GINT64_FORMAT, s->channels_in, s->channels_out, w->dims[1], p->group);
      return FALSE;
    }
  if (p->win.n_kernel > 0)
    {
      if (p->win.n_kernel != n_spatial ||
          memcmp (p->win.kernel, w->dims + 2, n_spatial * sizeof (gint64)) != 0)
        {
          g_autofree char *ws = lathe_shape_to_string (w->ndim, w->dims);
          lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                "kernel_shape does not match the weights %s", ws);
          return FALSE;
        }
    }
  if (b != NULL && (b->ndim != 1 || b->dims[0] != s->channels_out))
    {
      g_autofree char *bs = lathe_shape_to_string (b->ndim, b->dims);
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "bias %s must be [%" G_GINT64_FORMAT "]", bs, s->channels_out);
      return FALSE;
    }
  return _lathe_window_shape (node, &p->win, n_spatial, x->dims + 2, w->dims + 2, s, error);
}

static gboolean
conv_infer (LatheNode     *node,
            LatheTensor  **inputs,
            LatheTensor  **outputs,
            gsize         *workspace,
            GError       **error)
{
  LatheConvShape s;
  gint64 dims[2 + LATHE_CONV_MAX_SPATIAL];
  guint n_spatial;

  if (!conv_geometry (node, inputs, &s, error))
    return FALSE;
  n_spatial = inputs[0]->ndim - 2;
  dims[0] = s.batch;
  dims[1] = s.channels_out;
  memcpy (dims + 2, s.out + LATHE_CONV_MAX_SPATIAL - n_spatial, n_spatial * sizeof (gint64));
  lathe_tensor_set_meta (outputs[0], LATHE_DTYPE_FLOAT, inputs[0]->ndim, dims);
  *workspace = lathe_conv_workspace_size (&s);
  return TRUE;
}

static gboolean
conv_run (LatheNode     *node,
          LatheTensor  **inputs,
          LatheTensor  **outputs,
          gpointer       workspace,
          GError       **error)
{
  LatheConvShape s;

  if (!conv_geometry (node, inputs, &s, error))
    return FALSE;
  lathe_conv_f32 (&s, inputs[0]->data, inputs[1]->data,
                  node->n_inputs > 2 && inputs[2] != NULL ? inputs[2]->data : NULL,
                  outputs[0]->data, workspace);
  return TRUE;
}

/* Conv-22 only adds bfloat16. */
static const int conv_versions[] = { 1, 11, 22, 0 };

static const LatheOpDef op_conv = {
  .op_type = "Conv", .versions = conv_versions,
  .min_inputs = 2, .max_inputs = 3, .min_outputs = 1, .max_outputs = 1,
  .setup = conv_setup, .infer = conv_infer, .run = conv_run,
};

const LatheOpDef * const _lathe_ops_conv[] = {
  &op_conv,
  &_lathe_op_max_pool,
  &_lathe_op_average_pool,
  &_lathe_op_global_average_pool,
  &_lathe_op_pad,
  NULL
};
