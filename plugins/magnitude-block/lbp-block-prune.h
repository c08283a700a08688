/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"

G_BEGIN_DECLS

/* Block magnitude pruning. Each row of the view (one output unit) is cut
 * into blocks of `block` consecutive input-axis weights; when `block` does
 * not divide cols, the row's last block holds the cols mod block weights
 * left. Of all rows × ⌈cols / block⌉ blocks, the k = lathe_prune_count
 * (sparsity, blocks) with the smallest L2 norm become 0 — ranked by the sum
 * of squares, summed in double in index order, which orders blocks as the
 * norm does; ties prune the lower block index (row-major) first. A short
 * last block is ranked by its own norm.
 *
 * `keep` (nullable) is rows × cols in view order, 1 = kept. `block` ≥ 1,
 * sparsity ∈ [0, 1], weights not NaN. The fast version sorts the blocks
 * (O(b log b)); the `_ref` twin ranks each block against every other
 * (O(b²)); both give the same mask and weights, bit for bit. */
void lbp_prune_blocks     (LatheWeightView *view,
                           gsize            block,
                           double           sparsity,
                           guint8          *keep);
void lbp_prune_blocks_ref (LatheWeightView *view,
                           gsize            block,
                           double           sparsity,
                           guint8          *keep);

G_END_DECLS
