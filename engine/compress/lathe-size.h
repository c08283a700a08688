/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"

G_BEGIN_DECLS

/* The exact packed size of Lathe's layout, per tensor, in bytes. Each part
 * is rounded up to a whole byte per tensor:
 *
 * | part                                        | bytes                                       |
 * |---------------------------------------------|---------------------------------------------|
 * | float32 / float16 tensor (bits 32 / 16, and | 4·n / 2·n                                   |
 * |   every tensor no plan touches: biases, BN) |                                             |
 * | `uniform` codes                             | ⌈n_stored·b/8⌉                              |
 * | scales                                      | 4 per scale (float32)                       |
 * | zero points (affine)                        | ⌈n_scales·b/8⌉                              |
 * | `palette`                                   | ⌈n_stored·b/8⌉ codes + 4·2^b per codebook   |
 * | unstructured sparse index                   | the smaller of a bitmask ⌈n/8⌉ and relative |
 * |                                             |   indices of k bits (k = 1…16, the best),   |
 * |                                             |   where a gap ≥ 2^k costs a filler entry    |
 * |                                             |   stored as a zero value (Deep Compression) |
 * | `nm` index                                  | N indices of ⌈log2 M⌉ bits per group of M   |
 * | `channel`                                   | a bitmask of ⌈C/8⌉; zeroed channels store   |
 * |                                             |   nothing                                   |
 *
 * n_stored counts the values kept: non-zeros plus fillers for sparse
 * tensors, N/M of them for N:M, kept rows × cols for channels, all n for
 * dense tensors.
 *
 * Relative indices: kept positions p_0 < p_1 < … in the order the values
 * are stored (the caller's choice — the keep mask is read in that order,
 * and the relative-index size depends on it); the gap before entry i is
 * g_i = p_i − p_{i−1} − 1 (p_{−1} = −1). An entry encodes g ∈ [0, 2^k − 1];
 * a larger gap first needs ⌊g / 2^k⌋ filler entries (each a stored zero
 * value plus its k-bit index). Zeros after the last kept position cost
 * nothing (the decoder knows n). entries = nnz + fillers; index bytes =
 * ⌈entries·k/8⌉; value bytes = ⌈entries·value_bits/8⌉. The k with the
 * smallest index + value bytes wins (ties: the smaller k); it is compared
 * with the bitmask, ⌈n/8⌉ + ⌈nnz·value_bits/8⌉, and the smaller total wins
 * (ties: the bitmask). A sparse float32 tensor stores its n_stored values
 * at 4 bytes plus the index the same way; a quantized one stores codes.
 *
 * No index is stored when nothing was pruned (sparsity 0, an all-ones
 * mask, every row kept). Quantizing a channel-pruned layer per channel
 * stores scales for the kept rows only: the caller passes
 * n_scales = kept_rows (and n_codebooks = kept_rows for a per-channel
 * palette). */

typedef enum {
  LATHE_SIZE_DENSE,      /* float values, value_bits 32 or 16 */
  LATHE_SIZE_UNIFORM,    /* value_bits-bit codes, float32 scales, zero points if affine */
  LATHE_SIZE_PALETTE,    /* value_bits-bit indices, 2^value_bits float32 entries per codebook */
} LatheSizeKind;

typedef struct {
  gsize          n;            /* elements */
  gsize          rows, cols;   /* the weight view; rows × cols = n for `nm` and `channel` */
  int            value_bits;   /* 32 / 16 (DENSE), 8…1 (UNIFORM, PALETTE) */
  LatheSizeKind  kind;
  gsize          n_scales;     /* UNIFORM */
  gboolean       affine;       /* UNIFORM */
  gsize          n_codebooks;  /* PALETTE */
  gboolean       pruned;       /* FALSE: no pattern, no index */
  LathePattern   pattern;      /* when pruned */
  const guint8  *keep;         /* UNSTRUCTURED: n bytes in stored order, non-zero = kept;
                                * NULL = all kept (no index) */
  int            nm_n, nm_m;   /* NM */
  gsize          kept_rows;    /* CHANNEL */
} LatheSizeSpec;

typedef struct {
  guint64  codes;              /* UNIFORM / PALETTE codes */
  guint64  scales;
  guint64  zero_points;
  guint64  codebooks;
  guint64  index;              /* sparse, N:M or channel index */
  guint64  values;             /* DENSE float values */
  guint64  total;              /* the sum of the above */
  guint64  n_stored;
  char     index_kind[24];     /* "none", "bitmask", "relative k=3", "nm", "channel" */
} LatheSizeBreakdown;

/* Packed bytes of one tensor; `out` (nullable) receives the parts. */
guint64 lathe_size_tensor           (const LatheSizeSpec *spec,
                                     LatheSizeBreakdown  *out);

/* The unstructured index for a keep mask of n entries whose values take
 * value_bits each: returns the index bytes of the better encoding,
 * *n_stored (nullable) the values it stores (nnz for the bitmask, entries
 * for relative indices), *best_k (nullable) its k, 0 for the bitmask and
 * −1 when every position is kept (no index, returns 0, n_stored = n).
 * O(n). The _ref twin encodes the stream position by position for each k. */
guint64 lathe_size_sparse_index     (const guint8        *keep,
                                     gsize                n,
                                     int                  value_bits,
                                     gsize               *n_stored,
                                     int                 *best_k);
guint64 lathe_size_sparse_index_ref (const guint8        *keep,
                                     gsize                n,
                                     int                  value_bits,
                                     gsize               *n_stored,
                                     int                 *best_k);

G_END_DECLS
