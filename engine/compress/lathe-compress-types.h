/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "core/lathe-tensor.h"

G_BEGIN_DECLS

/* The vocabulary shared by plans, compression methods, sizes, pipeline
 * files and exporters. */

typedef enum {
  LATHE_GRANULARITY_TENSOR,
  LATHE_GRANULARITY_CHANNEL,     /* one scale per output unit */
  LATHE_GRANULARITY_GROUP,       /* one scale per group of G along the input axis */
} LatheGranularity;

typedef enum {
  LATHE_SCALE_MAXABS,
  LATHE_SCALE_MSE,               /* clipping range that minimises weight MSE */
} LatheScaleMethod;

typedef enum {
  LATHE_PATTERN_UNSTRUCTURED,    /* pruner "magnitude" */
  LATHE_PATTERN_NM,              /* pruner "nm": N of every M along the input axis */
  LATHE_PATTERN_CHANNEL,         /* pruner "channel": whole output units */
} LathePattern;

typedef enum {
  LATHE_NORM_L1,
  LATHE_NORM_L2,
} LatheNorm;

/* Group sizes the uniform quantizer accepts. */
#define LATHE_GROUP_SIZES { 16, 32, 64, 128, 256 }

/* A weight seen as a matrix: one row per output unit, the input axis
 * (for Conv: input channels × kernel) along the row. Rows are contiguous
 * in `data`; compression methods work on this view and the plan code maps
 * it to and from the tensor's own layout. */
typedef struct {
  float *data;        /* rows × cols, row-major */
  gsize  rows;        /* output units */
  gsize  cols;        /* input-axis elements per unit */
  gsize  spatial;     /* elements per input channel (kh·kw for Conv, 1 otherwise) */
} LatheWeightView;

/* What a uniform quantizer stored, for sizes and export. Scales and zero
 * points are laid out row by row, `scales_per_row` per row (1 for
 * per-channel, ⌈cols/group_len⌉ for groups); per-tensor has one scale and
 * scales_per_row 0. Codes are one int per weight in view order: symmetric
 * codes in [−qmax, qmax], affine codes in [0, 2^b − 1]. */
typedef struct {
  int               bits;
  gboolean          affine;
  LatheGranularity  granularity;
  gsize             group_len;       /* elements per group along a row (groups only) */
  gsize             rows, cols;
  gsize             scales_per_row;
  gsize             n_scales;
  float            *scales;
  gint32           *zero_points;     /* affine only, else NULL */
  gint32           *codes;           /* rows × cols */
} LatheQuantized;

/* What a palette quantizer stored: 2^bits float32 entries per codebook,
 * one codebook per tensor or per output unit, and one index per weight. */
typedef struct {
  int               bits;
  gsize             rows, cols;
  gsize             n_codebooks;
  float            *codebooks;       /* n_codebooks × 2^bits */
  guint16          *indices;         /* rows × cols */
} LathePalette;

/* Zero-filled results laid out as described above; buffers are 64-byte
 * aligned (lathe_aligned_alloc). zero_points is allocated only when
 * `affine`; group_len is used only for LATHE_GRANULARITY_GROUP. */
LatheQuantized *lathe_quantized_new (int               bits,
                                     gboolean          affine,
                                     LatheGranularity  granularity,
                                     gsize             group_len,
                                     gsize             rows,
                                     gsize             cols);
void            lathe_quantized_free (LatheQuantized  *q);
LathePalette   *lathe_palette_new    (int              bits,
                                      gsize            rows,
                                      gsize            cols,
                                      gsize            n_codebooks);
void            lathe_palette_free   (LathePalette    *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheQuantized, lathe_quantized_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LathePalette, lathe_palette_free)

G_END_DECLS
