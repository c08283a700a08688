/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include <string.h>

#include "compress/lathe-prune.h"
#include "lbp-block-prune.h"

/* Sum of squares of one block, in double, in index order. Both versions
 * use this, so their rankings see the same numbers. */
static double
block_energy (const float *w,
              gsize        len)
{
  double sum = 0.0;

  for (gsize i = 0; i < len; i++)
    sum += (double) w[i] * (double) w[i];
  return sum;
}

static void
zero_block (LatheWeightView *view,
            guint8          *keep,
            gsize            blocks_per_row,
            gsize            block,
            gsize            index)
{
  gsize row = index / blocks_per_row;
  gsize start = (index % blocks_per_row) * block;
  gsize len = MIN (block, view->cols - start);
  gsize at = row * view->cols + start;

  memset (view->data + at, 0, len * sizeof (float));
  if (keep != NULL)
    memset (keep + at, 0, len);
}

static void
compute_energies (const LatheWeightView *view,
                  gsize                  block,
                  gsize                  blocks_per_row,
                  double                *energy)
{
  for (gsize r = 0; r < view->rows; r++)
    for (gsize b = 0; b < blocks_per_row; b++)
      {
        gsize start = b * block;
        energy[r * blocks_per_row + b] =
          block_energy (view->data + r * view->cols + start, MIN (block, view->cols - start));
      }
}

typedef struct {
  double energy;
  gsize  index;
} Ranked;

static int
compare_ranked (const void *pa,
                const void *pb)
{
  const Ranked *a = pa, *b = pb;

  if (a->energy != b->energy)
    return a->energy < b->energy ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

void
lbp_prune_blocks (LatheWeightView *view,
                  gsize            block,
                  double           sparsity,
                  guint8          *keep)
{
  gsize blocks_per_row, n_blocks, k;
  g_autofree double *energy = NULL;
  g_autofree Ranked *ranked = NULL;

  g_return_if_fail (view != NULL && block >= 1);

  if (keep != NULL)
    memset (keep, 1, view->rows * view->cols);
  blocks_per_row = (view->cols + block - 1) / block;
  n_blocks = view->rows * blocks_per_row;
  k = lathe_prune_count (sparsity, n_blocks);
  if (k == 0)
    return;

  energy = g_new (double, n_blocks);
  ranked = g_new (Ranked, n_blocks);
  compute_energies (view, block, blocks_per_row, energy);
  for (gsize i = 0; i < n_blocks; i++)
    ranked[i] = (Ranked) { energy[i], i };
  /* (energy, index) is a total order, so qsort's instability cannot show. */
  qsort (ranked, n_blocks, sizeof (Ranked), compare_ranked);
  for (gsize i = 0; i < k; i++)
    zero_block (view, keep, blocks_per_row, block, ranked[i].index);
}

void
lbp_prune_blocks_ref (LatheWeightView *view,
                      gsize            block,
                      double           sparsity,
                      guint8          *keep)
{
  gsize blocks_per_row, n_blocks, k;
  g_autofree double *energy = NULL;

  g_return_if_fail (view != NULL && block >= 1);

  if (keep != NULL)
    memset (keep, 1, view->rows * view->cols);
  blocks_per_row = (view->cols + block - 1) / block;
  n_blocks = view->rows * blocks_per_row;
  k = lathe_prune_count (sparsity, n_blocks);
  energy = g_new (double, MAX (n_blocks, 1));
  compute_energies (view, block, blocks_per_row, energy);

  /* A block's rank is how many blocks come before it; the first k go. */
  for (gsize i = 0; i < n_blocks; i++)
    {
      gsize rank = 0;
      for (gsize j = 0; j < n_blocks; j++)
        rank += energy[j] < energy[i] || (energy[j] == energy[i] && j < i);
      if (rank < k)
        zero_block (view, keep, blocks_per_row, block, i);
    }
}
