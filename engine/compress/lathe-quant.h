/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"

G_BEGIN_DECLS

/* Weight quantizers. They work on a LatheWeightView in place: every weight
 * is replaced by its dequantized value (fake quantization — exactly what a
 * weight-only quantized runtime computes from the stored codes), and the
 * codes, scales and codebooks are returned on request for sizes and export.
 *
 * `keep` (nullable) is a rows × cols mask in view order, non-zero = kept,
 * 0 = pruned. Pruned positions come out exactly 0.0f (even if the data held
 * something else there) and take no part in scales, zero points or
 * codebooks. Rounding is round-half-to-even throughout. Weights must be
 * finite. Each function has a scalar `_ref` twin with the same contract,
 * written for clarity; tests/compress/test-quant.c compares the two. */

/* Uniform quantization to `bits` ∈ {1…8} (16 and 32 are the caller's:
 * lathe_quant_fp16() and nothing).
 *
 * A scale covers the whole tensor, one row (LATHE_GRANULARITY_CHANNEL), or
 * a group of `group_channels` (G ∈ LATHE_GROUP_SIZES) consecutive input
 * channels along a row, i.e. G · view->spatial consecutive elements; the
 * last group of a row may be shorter. `group_channels` is ignored for the
 * other granularities.
 *
 * Symmetric: qmax = 2^(b−1) − 1, s = max|w| / qmax, q = clamp(rne(w / s),
 * −qmax, qmax), w′ = q · s.
 * Affine: the range [min(w, 0), max(w, 0)], s = (max − min) / (2^b − 1),
 * zp = clamp(rne(−min / s), 0, 2^b − 1), q = clamp(rne(w / s) + zp, 0,
 * 2^b − 1), w′ = (q − zp) · s. Pruned positions get code zp (symmetric: 0)
 * so that they dequantize to 0.
 * LATHE_SCALE_MSE tries the clipping factors α = 1.00, 0.99, …, 0.50 (the
 * range scaled by α: s = α · max|w| / qmax, affine [α·min, α·max]) and keeps
 * the one with the smallest squared error over the group's kept weights;
 * ties go to the larger α. α = 1 is exactly the max-abs scale.
 * A group whose kept weights are all 0 (or has none kept) — or whose scale
 * underflows float32 — stores scale 0, zero point 0 and codes 0, and its
 * weights become 0; nothing is divided by 0.
 * 1 bit: w′ = sign(w) · mean|w| over the group's kept weights, codes −1, 0
 * (for w = 0) or +1, stored scale mean|w|. mean|w| is already the MSE-optimal
 * scale for sign codes, so `scale` does not change the result. Affine 1-bit
 * is refused.
 *
 * Errors (LATHE_COMPRESS_ERROR_INVALID): bits outside 1…8, affine with
 * 1 bit, a group size not in LATHE_GROUP_SIZES. *out (when out is not NULL)
 * receives a LatheQuantized on success, NULL on failure. */
gboolean lathe_quant_uniform     (LatheWeightView   *view,
                                  int                bits,
                                  LatheGranularity   granularity,
                                  int                group_channels,
                                  gboolean           affine,
                                  LatheScaleMethod   scale,
                                  const guint8      *keep,
                                  LatheQuantized   **out,
                                  GError           **error);
gboolean lathe_quant_uniform_ref (LatheWeightView   *view,
                                  int                bits,
                                  LatheGranularity   granularity,
                                  int                group_channels,
                                  gboolean           affine,
                                  LatheScaleMethod   scale,
                                  const guint8      *keep,
                                  LatheQuantized   **out,
                                  GError           **error);

/* Rounds every weight to float16 (round half to even) and back. Zeros,
 * pruned or not, stay 0; values beyond ±65504 become ±inf. */
void     lathe_quant_fp16        (LatheWeightView   *view);

#define LATHE_PALETTE_ITERATIONS 20

/* k-means weight sharing (Deep Compression): 2^bits float32 centroids
 * (bits 1…8) per tensor, or per row when `per_channel`. Centroids start
 * evenly spaced over [min, max] of the codebook's kept weights
 * (c_j = min + j · (max − min) / (2^bits − 1), computed in double), then
 * `iterations` Lloyd iterations (LATHE_PALETTE_ITERATIONS is the usual
 * value; 0 keeps the linear codebook): each kept weight goes to the
 * centroid nearest by |w − c| in float32, ties to the lower index; each
 * centroid becomes the mean of its weights (summed in double); an empty
 * cluster keeps its previous centroid. Weights are then replaced by their
 * centroid. Pruned positions become 0 with index 0 (a sparse layout does
 * not store them; the codebook need not contain 0). A codebook with no kept
 * weight is all zeros. Deterministic.
 *
 * Errors (LATHE_COMPRESS_ERROR_INVALID): bits outside 1…8, iterations < 0.
 * *out (when out is not NULL) receives the codebooks and guint16 indices. */
gboolean lathe_quant_palette     (LatheWeightView   *view,
                                  int                bits,
                                  gboolean           per_channel,
                                  int                iterations,
                                  const guint8      *keep,
                                  LathePalette     **out,
                                  GError           **error);
gboolean lathe_quant_palette_ref (LatheWeightView   *view,
                                  int                bits,
                                  gboolean           per_channel,
                                  int                iterations,
                                  const guint8      *keep,
                                  LathePalette     **out,
                                  GError           **error);

G_END_DECLS
