/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "kernels/lathe-conv.h"

G_BEGIN_DECLS

/* Numeric kernels of the training engine. Each fast kernel has a scalar
 * `_ref` twin (double accumulation, plain loops) that
 * tests/train/test-train-kernels.c compares it with. Every gradient kernel
 * *adds* into its outputs, so a value read by several nodes sums their
 * contributions. */

/* C[M,N] = alpha · op(A) · op(B) + beta · C, row-major; op transposes when
 * trans_* (A stored [K,M], B stored [N,K]). The fast form is cblas_sgemm. */
void   lathe_train_gemm       (gboolean     trans_a,
                               gboolean     trans_b,
                               gsize        m,
                               gsize        n,
                               gsize        k,
                               float        alpha,
                               const float *a,
                               const float *b,
                               float        beta,
                               float       *c);
void   lathe_train_gemm_ref   (gboolean     trans_a,
                               gboolean     trans_b,
                               gsize        m,
                               gsize        n,
                               gsize        k,
                               float        alpha,
                               const float *a,
                               const float *b,
                               float        beta,
                               float       *c);

/* Gradients of y = conv(x, w) + bias for a geometry s (any group, 1–3
 * spatial axes). dx, dw and db are each nullable and accumulated into.
 * The fast form uses im2col + sgemm per image and group (depthwise
 * directly); workspace holds lathe_train_conv_backward_workspace() bytes. */
gsize  lathe_train_conv_backward_workspace (const LatheConvShape *s);
void   lathe_train_conv_backward     (const LatheConvShape *s,
                                      const float          *x,
                                      const float          *w,
                                      const float          *dy,
                                      float                *dx,
                                      float                *dw,
                                      float                *db,
                                      gpointer              workspace);
void   lathe_train_conv_backward_ref (const LatheConvShape *s,
                                      const float          *x,
                                      const float          *w,
                                      const float          *dy,
                                      float                *dx,
                                      float                *dw,
                                      float                *db);

/* Gradient of average pooling (count_include_pad as in the forward). */
void   lathe_train_avgpool_backward  (const LatheConvShape *s,
                                      const float          *dy,
                                      float                *dx,
                                      gboolean              count_include_pad);

/* The training loss over a batch of logits [batch, classes], averaged over
 * the batch:
 *   alpha · T² · KL(softmax(t/T) ‖ softmax(z/T)) + (1 − alpha) · CE(z, label)
 * `teacher` may be NULL when alpha = 0 and `labels` NULL when alpha = 1.
 * Writes dL/dz to dz (not accumulated) and returns the loss; NaN or
 * infinity when the logits are. */
double lathe_train_loss       (gsize          batch,
                               gsize          classes,
                               const float   *z,
                               const float   *teacher,
                               const gint32  *labels,
                               double         temperature,
                               double         alpha,
                               float         *dz);
double lathe_train_loss_ref   (gsize          batch,
                               gsize          classes,
                               const float   *z,
                               const float   *teacher,
                               const gint32  *labels,
                               double         temperature,
                               double         alpha,
                               float         *dz);

/* A small seeded generator (xoshiro256** seeded through splitmix64), so the
 * same seed gives the same batches on every machine and run. */
typedef struct {
  guint64 s[4];
} LatheRng;

void    lathe_rng_init     (LatheRng *rng,
                            guint64   seed);
guint64 lathe_rng_next     (LatheRng *rng);
/* Uniform in [0, bound), without modulo bias. */
guint64 lathe_rng_below    (LatheRng *rng,
                            guint64   bound);
/* Fisher–Yates shuffle of n indices. */
void    lathe_rng_shuffle  (LatheRng *rng,
                            guint32  *items,
                            gsize     n);

G_END_DECLS
