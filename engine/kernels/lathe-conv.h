/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Convolution, pooling and padding kernels on plain float arrays in NCHW
 * (NCDHW) layout. They know nothing of nodes or tensors, so the
 * compression and training code can call them directly. Every fast kernel
 * has a scalar `_ref` twin that the tests compare it with. */

#define LATHE_CONV_MAX_SPATIAL 3

/* Geometry of a convolution or pooling window. The spatial part is always
 * 3-d (depth, height, width): 1-d and 2-d cases fill the leading entries
 * with in = out = kernel = stride = dilation = 1 and zero pads, so one
 * kernel serves every rank. Pooling uses channels_in == channels_out and
 * group 1. */
typedef struct {
  gint64 batch;
  gint64 channels_in;
  gint64 channels_out;
  gint64 group;
  gint64 in[LATHE_CONV_MAX_SPATIAL];
  gint64 out[LATHE_CONV_MAX_SPATIAL];
  gint64 kernel[LATHE_CONV_MAX_SPATIAL];
  gint64 stride[LATHE_CONV_MAX_SPATIAL];
  gint64 dilation[LATHE_CONV_MAX_SPATIAL];
  gint64 pad_begin[LATHE_CONV_MAX_SPATIAL];
  gint64 pad_end[LATHE_CONV_MAX_SPATIAL];
} LatheConvShape;

/* Sets every field to the neutral 1-d-in-3-d form (sizes, strides and
 * dilations 1, pads 0) so callers fill only the axes they have. */
void     lathe_conv_shape_init          (LatheConvShape       *s);
/* Computes s->out from in, kernel, stride, dilation and pads
 * (floor or ceil rounding); FALSE when the window does not fit. In ceil
 * mode a last window that would start inside the end padding is dropped. */
gboolean lathe_conv_shape_compute_out   (LatheConvShape       *s,
                                         gboolean              ceil_mode);

static inline gint64
lathe_conv_shape_in_size (const LatheConvShape *s)
{
  return s->in[0] * s->in[1] * s->in[2];
}

static inline gint64
lathe_conv_shape_out_size (const LatheConvShape *s)
{
  return s->out[0] * s->out[1] * s->out[2];
}

static inline gint64
lathe_conv_shape_kernel_size (const LatheConvShape *s)
{
  return s->kernel[0] * s->kernel[1] * s->kernel[2];
}

/* group == channels_in > 1: one filter (or `multiplier` filters) per input
 * channel, computed directly rather than through im2col. */
gboolean lathe_conv_is_depthwise        (const LatheConvShape *s);
/* 1x1 kernel, stride 1, no padding: the input already is the im2col matrix. */
gboolean lathe_conv_is_pointwise        (const LatheConvShape *s);
/* Bytes of scratch lathe_conv_f32 needs on this CPU: the direct kernel's
 * buffers, else one im2col matrix for one image and one group; 0 for
 * depthwise and pointwise convolutions. */
gsize    lathe_conv_workspace_size      (const LatheConvShape *s);

/* Instruction sets the direct kernel has tiles for. */
typedef enum {
  LATHE_CONV_SIMD_NONE,
  LATHE_CONV_SIMD_AVX2,      /* AVX2 + FMA, 8 lanes */
  LATHE_CONV_SIMD_AVX512,    /* AVX-512F, 16 lanes */
} LatheConvSimd;

/* The best of them this CPU runs (NONE off x86-64); every lower one but
 * NONE runs too. */
LatheConvSimd lathe_conv_simd_detect    (void);
/* Whether the direct kernel takes s with that instruction set (using its
 * tiles or those of a lower one): stride 1, neither depthwise nor
 * pointwise, at most 256 taps per output (channels_in / group * kernel
 * size), and at least half of the outputs it computes kept (it computes
 * whole tiles of positions and channels, and either the padding columns
 * of every row or whole vectors of images). lathe_conv_f32 then uses it. */
gboolean lathe_conv_is_direct           (const LatheConvShape *s,
                                         LatheConvSimd         simd);
/* Images the direct kernel puts on the lanes of a vector: the vector
 * width when it interleaves the batch (small planes, batches that fill
 * the lanes), 1 when it works image by image; 0 if !is_direct. */
gint64   lathe_conv_direct_lanes        (const LatheConvShape *s,
                                         LatheConvSimd         simd);
/* Bytes of scratch lathe_conv_direct_f32 needs, 0 if !is_direct. */
gsize    lathe_conv_direct_workspace_size (const LatheConvShape *s,
                                           LatheConvSimd         simd);

/* im2col for one image: x holds `channels` planes of in[] size; col gets
 * (channels * kernel size) rows of out[] size, zero where the window lies
 * in the padding. */
void     lathe_im2col_f32               (const LatheConvShape *s,
                                         gint64                channels,
                                         const float          *x,
                                         float                *col);
void     lathe_im2col_f32_ref           (const LatheConvShape *s,
                                         gint64                channels,
                                         const float          *x,
                                         float                *col);
/* The adjoint of im2col (for gradients): adds every col entry into the
 * image position it was read from. x is accumulated into, not cleared. */
void     lathe_col2im_f32               (const LatheConvShape *s,
                                         gint64                channels,
                                         const float          *col,
                                         float                *x);
void     lathe_col2im_f32_ref           (const LatheConvShape *s,
                                         gint64                channels,
                                         const float          *col,
                                         float                *x);

/* Whole-batch convolution. w is [channels_out, channels_in / group,
 * kernel...]; bias is [channels_out] or NULL; workspace has
 * lathe_conv_workspace_size() bytes (may be NULL when that is 0).
 * Dispatches to the depthwise kernel, to the direct kernel, to a plain
 * GEMM for pointwise convolutions, else to im2col + cblas_sgemm per image
 * and group. */
void     lathe_conv_f32                 (const LatheConvShape *s,
                                         const float          *x,
                                         const float          *w,
                                         const float          *bias,
                                         float                *y,
                                         gpointer              workspace);
void     lathe_conv_f32_ref             (const LatheConvShape *s,
                                         const float          *x,
                                         const float          *w,
                                         const float          *bias,
                                         float                *y);
/* Direct convolution (lathe_conv_is_direct (s, simd)) with the tiles that
 * instruction set runs; workspace has lathe_conv_direct_workspace_size()
 * bytes. Its scalar twin is lathe_conv_f32_ref. */
void     lathe_conv_direct_f32          (const LatheConvShape *s,
                                         LatheConvSimd         simd,
                                         const float          *x,
                                         const float          *w,
                                         const float          *bias,
                                         float                *y,
                                         gpointer              workspace);
/* Depthwise convolution (lathe_conv_is_depthwise), no scratch memory. */
void     lathe_conv_depthwise_f32       (const LatheConvShape *s,
                                         const float          *x,
                                         const float          *w,
                                         const float          *bias,
                                         float                *y);
void     lathe_conv_depthwise_f32_ref   (const LatheConvShape *s,
                                         const float          *x,
                                         const float          *w,
                                         const float          *bias,
                                         float                *y);

/* Pooling over batch * channels_in planes. Positions in the padding never
 * win a max. `indices` (nullable) receives for each output the flat index
 * of its maximum in x (row-major, or column-major over the spatial axes
 * when column_major), as ONNX MaxPool's Indices output. */
void     lathe_maxpool_f32              (const LatheConvShape *s,
                                         const float          *x,
                                         float                *y,
                                         gint64               *indices,
                                         gboolean              column_major);
void     lathe_maxpool_f32_ref          (const LatheConvShape *s,
                                         const float          *x,
                                         float                *y,
                                         gint64               *indices,
                                         gboolean              column_major);
void     lathe_maxpool_u8               (const LatheConvShape *s,
                                         const guint8         *x,
                                         guint8               *y,
                                         gint64               *indices,
                                         gboolean              column_major);
void     lathe_maxpool_i8               (const LatheConvShape *s,
                                         const gint8          *x,
                                         gint8                *y,
                                         gint64               *indices,
                                         gboolean              column_major);
/* Average pooling. count_include_pad counts the window positions inside
 * the explicit pads in the divisor; positions past the end padding (from
 * ceil mode) never count. */
void     lathe_avgpool_f32              (const LatheConvShape *s,
                                         const float          *x,
                                         float                *y,
                                         gboolean              count_include_pad);
void     lathe_avgpool_f32_ref          (const LatheConvShape *s,
                                         const float          *x,
                                         float                *y,
                                         gboolean              count_include_pad);
/* Mean of each of n_planes planes of plane_size elements. */
void     lathe_global_avgpool_f32       (gint64                n_planes,
                                         gint64                plane_size,
                                         const float          *x,
                                         float                *y);

typedef enum {
  LATHE_PAD_CONSTANT,
  LATHE_PAD_REFLECT,
  LATHE_PAD_EDGE,
  LATHE_PAD_WRAP,
} LathePadMode;

/* N-d padding of elements of `esize` bytes. pads holds 2 * ndim entries,
 * all begins then all ends (ONNX order); a negative pad crops, and the
 * non-constant modes then reflect, repeat or wrap the cropped extent.
 * value points to one element (constant mode). Callers check that
 * non-constant modes never pad an empty extent. workspace holds
 * lathe_pad_workspace_size() bytes. */
gsize    lathe_pad_workspace_size       (guint                 ndim,
                                         const gint64         *out_dims);
void     lathe_pad                      (guint                 ndim,
                                         const gint64         *in_dims,
                                         const gint64         *pads,
                                         LathePadMode          mode,
                                         gsize                 esize,
                                         gconstpointer         value,
                                         gconstpointer         x,
                                         gpointer              y,
                                         gpointer              workspace);
void     lathe_pad_ref                  (guint                 ndim,
                                         const gint64         *in_dims,
                                         const gint64         *pads,
                                         LathePadMode          mode,
                                         gsize                 esize,
                                         gconstpointer         value,
                                         gconstpointer         x,
                                         gpointer              y);
/* The input index an output index along one axis reads, or -1 for the
 * constant: axis of size n padded by begin / end. */
gint64   lathe_pad_source_index         (gint64                o,
                                         gint64                n,
                                         gint64                begin,
                                         gint64                end,
                                         LathePadMode          mode);

#ifdef LATHE_ENGINE_COMPILATION
/* Engine-internal: the window attributes Conv, MaxPool and AveragePool
 * share, and the operator definitions of the "conv" group, whose table
 * lives in lathe-ops-conv.c. */
#include "graph/lathe-op.h"

typedef enum {
  LATHE_AUTO_PAD_NOTSET,
  LATHE_AUTO_PAD_SAME_UPPER,
  LATHE_AUTO_PAD_SAME_LOWER,
  LATHE_AUTO_PAD_VALID,
} LatheAutoPad;

typedef struct {
  LatheAutoPad auto_pad;
  gboolean     ceil_mode;
  gsize        n_kernel;        /* 0 when kernel_shape is absent */
  gint64       kernel[LATHE_CONV_MAX_SPATIAL];
  gsize        n_strides;
  gint64       strides[LATHE_CONV_MAX_SPATIAL];
  gsize        n_dilations;
  gint64       dilations[LATHE_CONV_MAX_SPATIAL];
  gsize        n_pads;
  gint64       pads[2 * LATHE_CONV_MAX_SPATIAL];
} LatheWindowAttrs;

/* Reads auto_pad, kernel_shape, strides, pads and (when with_dilations)
 * dilations; ceil_mode is left to the caller. */
gboolean _lathe_window_attrs_parse (const LatheNode        *node,
                                    gboolean                with_dilations,
                                    LatheWindowAttrs       *w,
                                    GError                **error);
/* Fills the spatial part of s (in, kernel, stride, dilation, pads, out)
 * for n_spatial axes, resolving auto_pad. */
gboolean _lathe_window_shape       (const LatheNode        *node,
                                    const LatheWindowAttrs *w,
                                    guint                   n_spatial,
                                    const gint64           *in,
                                    const gint64           *kernel,
                                    LatheConvShape         *s,
                                    GError                **error);

extern const LatheOpDef _lathe_op_max_pool;
extern const LatheOpDef _lathe_op_average_pool;
extern const LatheOpDef _lathe_op_global_average_pool;
extern const LatheOpDef _lathe_op_pad;
#endif

G_END_DECLS
