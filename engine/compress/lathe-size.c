/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <stdio.h>

#include "compress/lathe-size.h"

/* The layout's arithmetic is in lathe-size.h; this file only counts. */

#define MAX_K 16

static inline guint64
bytes_for_bits (guint64 count,
                guint64 bits)
{
  return (count * bits + 7) / 8;
}

static int
ceil_log2 (int m)
{
  int b = 0;

  while ((1 << b) < m)
    b++;
  return b;
}

/* ------------------------------------------------------------------------
 * Unstructured index */

/* One pass over the mask collects, for every k at once, the fillers the
 * gaps need: Σ ⌊g / 2^k⌋. Gaps below 2 need none for any k ≥ 1. */
guint64
lathe_size_sparse_index (const guint8 *keep,
                         gsize         n,
                         int           value_bits,
                         gsize        *n_stored,
                         int          *best_k)
{
  guint64 fillers[MAX_K + 1] = { 0 };
  guint64 nnz = 0, next = 0;
  guint64 best_total, best_index, best_stored, bm_total;
  int k_best;

  g_return_val_if_fail (keep != NULL || n == 0, 0);
  g_return_val_if_fail (value_bits >= 1 && value_bits <= 32, 0);

  for (gsize p = 0; p < n; p++)
    if (keep[p])
      {
        guint64 g = p - next;

        next = p + 1;
        nnz++;
        if (g >= 2)
          for (int k = 1; k <= MAX_K; k++)
            fillers[k] += g >> k;
      }

  if (nnz == n)
    {
      if (n_stored != NULL)
        *n_stored = n;
      if (best_k != NULL)
        *best_k = -1;
      return 0;
    }

  k_best = 1;
  best_total = G_MAXUINT64;
  best_index = best_stored = 0;
  for (int k = 1; k <= MAX_K; k++)
    {
      guint64 entries = nnz + fillers[k];
      guint64 index = bytes_for_bits (entries, k);
      guint64 total = index + bytes_for_bits (entries, value_bits);

      if (total < best_total)     /* strict: ties keep the smaller k */
        {
          best_total = total;
          best_index = index;
          best_stored = entries;
          k_best = k;
        }
    }

  bm_total = (n + 7) / 8 + bytes_for_bits (nnz, value_bits);
  if (bm_total <= best_total)     /* ties go to the bitmask */
    {
      k_best = 0;
      best_index = (n + 7) / 8;
      best_stored = nnz;
    }

  if (n_stored != NULL)
    *n_stored = best_stored;
  if (best_k != NULL)
    *best_k = k_best;
  return best_index;
}

/* Reference: write the relative stream for each k, position by position —
 * a zero run reaching 2^k emits a filler, but only if a kept value follows. */
guint64
lathe_size_sparse_index_ref (const guint8 *keep,
                             gsize         n,
                             int           value_bits,
                             gsize        *n_stored,
                             int          *best_k)
{
  guint64 nnz = 0, best = 0, best_index = 0, best_entries = 0, bitmask;
  int kb = 0;

  for (gsize p = 0; p < n; p++)
    nnz += keep[p] != 0;
  if (nnz == n)
    {
      if (n_stored)
        *n_stored = n;
      if (best_k)
        *best_k = -1;
      return 0;
    }

  for (int k = 1; k <= MAX_K; k++)
    {
      guint64 entries = 0, pending = 0, run = 0, index, total;

      for (gsize p = 0; p < n; p++)
        {
          if (keep[p])
            {
              entries += pending + 1;
              pending = 0;
              run = 0;
            }
          else if (++run == ((guint64) 1 << k))
            {
              pending++;
              run = 0;
            }
        }
      index = (entries * k + 7) / 8;
      total = index + (entries * value_bits + 7) / 8;
      if (k == 1 || total < best)
        {
          best = total;
          best_index = index;
          best_entries = entries;
          kb = k;
        }
    }

  bitmask = (n + 7) / 8;
  if (bitmask + (nnz * value_bits + 7) / 8 <= best)
    {
      best_index = bitmask;
      best_entries = nnz;
      kb = 0;
    }
  if (n_stored)
    *n_stored = best_entries;
  if (best_k)
    *best_k = kb;
  return best_index;
}

/* ------------------------------------------------------------------------
 * Tensors */

guint64
lathe_size_tensor (const LatheSizeSpec *spec,
                   LatheSizeBreakdown  *out)
{
  LatheSizeBreakdown b = { 0 };
  const char *kind = "none";
  int vb;

  g_return_val_if_fail (spec != NULL, 0);
  vb = spec->value_bits;
  g_return_val_if_fail (spec->kind == LATHE_SIZE_DENSE ? vb == 32 || vb == 16
                                                       : vb >= 1 && vb <= 8, 0);

  b.n_stored = spec->n;
  if (spec->pruned)
    switch (spec->pattern)
      {
      case LATHE_PATTERN_UNSTRUCTURED:
        if (spec->keep != NULL)
          {
            gsize stored;
            int k;

            b.index = lathe_size_sparse_index (spec->keep, spec->n, vb, &stored, &k);
            b.n_stored = stored;
            if (k > 0)
              {
                snprintf (b.index_kind, sizeof b.index_kind, "relative k=%d", k);
                kind = NULL;
              }
            else if (k == 0)
              kind = "bitmask";
          }
        break;

      case LATHE_PATTERN_NM:
        {
          guint64 groups;

          g_return_val_if_fail (spec->nm_n >= 1 && spec->nm_n < spec->nm_m && spec->nm_m <= 16, 0);
          g_return_val_if_fail (spec->rows * spec->cols == spec->n, 0);
          g_return_val_if_fail (spec->cols % (gsize) spec->nm_m == 0, 0);
          groups = spec->n / (gsize) spec->nm_m;
          b.n_stored = groups * (guint64) spec->nm_n;
          b.index = bytes_for_bits (b.n_stored, ceil_log2 (spec->nm_m));
          kind = "nm";
        }
        break;

      case LATHE_PATTERN_CHANNEL:
        g_return_val_if_fail (spec->rows * spec->cols == spec->n, 0);
        g_return_val_if_fail (spec->kept_rows <= spec->rows, 0);
        b.n_stored = (guint64) spec->kept_rows * spec->cols;
        if (spec->kept_rows < spec->rows)
          {
            b.index = (spec->rows + 7) / 8;
            kind = "channel";
          }
        break;

      default:
        g_return_val_if_reached (0);
      }

  switch (spec->kind)
    {
    case LATHE_SIZE_DENSE:
      b.values = bytes_for_bits (b.n_stored, vb);
      break;
    case LATHE_SIZE_UNIFORM:
      b.codes = bytes_for_bits (b.n_stored, vb);
      b.scales = 4 * (guint64) spec->n_scales;
      b.zero_points = spec->affine ? bytes_for_bits (spec->n_scales, vb) : 0;
      break;
    case LATHE_SIZE_PALETTE:
      b.codes = bytes_for_bits (b.n_stored, vb);
      b.codebooks = 4 * ((guint64) 1 << vb) * spec->n_codebooks;
      break;
    default:
      g_return_val_if_reached (0);
    }

  b.total = b.codes + b.scales + b.zero_points + b.codebooks + b.index + b.values;
  if (kind != NULL)
    g_strlcpy (b.index_kind, kind, sizeof b.index_kind);
  if (out != NULL)
    *out = b;
  return b.total;
}
