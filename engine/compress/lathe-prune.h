/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"

G_BEGIN_DECLS

/* Pruners. Each zeroes the weights it removes and fills a keep mask
 * (1 = kept, 0 = pruned; nullable where marked). The number removed is
 * k = round(s · count), rounding half to even (0.5 · 5 = 2.5 → 2), clamped
 * to [0, count]. Ranking is by |w| (by a row's norm for channels), and ties
 * always prune the lower index first — or, for N:M, keep the lower index.
 * Magnitudes compare as floats; weights must not be NaN. Each function has
 * a `_ref` twin (obvious sorting or O(n²) versions) with the same results;
 * tests/compress/test-prune.c compares them. */

/* Unstructured, one layer, in the tensor's own flat order (not the view):
 * the k smallest |w| become 0. O(n) (a radix select on the magnitudes'
 * bits). keep: n bytes, nullable. sparsity ∈ [0, 1]. */
void     lathe_prune_magnitude            (float        *w,
                                           gsize         n,
                                           double        sparsity,
                                           guint8       *keep);
void     lathe_prune_magnitude_ref        (float        *w,
                                           gsize         n,
                                           double        sparsity,
                                           guint8       *keep);

/* Unstructured, one ranking over all layers: k = round(s · Σ n[l]) of the
 * smallest |w| anywhere, ties by (layer index, flat index). keep[l] may be
 * NULL for a layer, or keep itself NULL. Layers then have different
 * sparsities; lathe_prune_layer_sparsity() reads them back. */
void     lathe_prune_magnitude_global     (float       **w,
                                           const gsize  *n,
                                           guint         n_layers,
                                           double        sparsity,
                                           guint8      **keep);
void     lathe_prune_magnitude_global_ref (float       **w,
                                           const gsize  *n,
                                           guint         n_layers,
                                           double        sparsity,
                                           guint8      **keep);

/* Fraction of zeros in each keep mask: out[l] = zeros(keep[l]) / n[l]
 * (0 for an empty layer). */
void     lathe_prune_layer_sparsity       (guint8      **keep,
                                           const gsize  *n,
                                           guint         n_layers,
                                           double       *out);

/* N:M along the input axis: each row is cut into consecutive groups of M
 * elements and the N largest |w| of each group are kept (ties: the lower
 * index is kept). keep: rows × cols in view order, nullable.
 * Errors (LATHE_COMPRESS_ERROR_INVALID), left for the caller to prefix
 * with the layer's name: not 1 ≤ N < M ≤ 16; cols not a multiple of M
 * ("the input axis has 150 elements, not a multiple of M = 4"). The view
 * is untouched on error. */
gboolean lathe_prune_nm                   (LatheWeightView  *view,
                                           int               n,
                                           int               m,
                                           guint8           *keep,
                                           GError          **error);
gboolean lathe_prune_nm_ref               (LatheWeightView  *view,
                                           int               n,
                                           int               m,
                                           guint8           *keep,
                                           GError          **error);

/* Whole output units: the k = round(s · rows) rows with the smallest L1 or
 * L2 norm become 0 (ties: the lower row first). Norms are summed in double;
 * L2 ranks by the sum of squares, which orders rows as the norm does
 * without a square root's rounding. row_keep: rows bytes, nullable. */
void     lathe_prune_channel              (LatheWeightView  *view,
                                           double            sparsity,
                                           LatheNorm         norm,
                                           guint8           *row_keep);
void     lathe_prune_channel_ref          (LatheWeightView  *view,
                                           double            sparsity,
                                           LatheNorm         norm,
                                           guint8           *row_keep);

/* k = round(s · count), half to even, clamped to [0, count]. */
gsize    lathe_prune_count                (double            sparsity,
                                           gsize             count);

G_END_DECLS
