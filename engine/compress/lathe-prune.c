/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/lathe-error.h"
#include "compress/lathe-prune.h"

gsize
lathe_prune_count (double sparsity,
                   gsize  count)
{
  double k = nearbyint (sparsity * (double) count);

  if (!(k > 0.0))
    return 0;
  return k >= (double) count ? count : (gsize) k;
}

/* ------------------------------------------------------------------------
 * Magnitude, fast path: radix select
 *
 * For |w| the float's bits without the sign order the same way as the
 * values, so the k-th smallest magnitude is found digit by digit (11, 11
 * and 9 bits) with one histogram pass each. Everything below that
 * threshold T is pruned, and of the weights equal to T, the first ones in
 * (layer, index) order until k is reached. Linear time and no copy of the
 * weights; one layer is the global case with a single layer. */

static inline guint32
abs_key (float x)
{
  guint32 u;

  memcpy (&u, &x, sizeof u);
  return u & 0x7fffffffu;
}

#define SELECT_PASSES 3
static const int select_shift[SELECT_PASSES] = { 20, 9, 0 };
static const int select_width[SELECT_PASSES] = { 11, 11, 9 };

static void
histogram (const float *restrict w,
           gsize                 n,
           guint32               prefix,
           guint32               prefix_mask,
           int                   shift,
           guint32               digit_mask,
           gsize       *restrict counts)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 key = abs_key (w[i]);

      if ((key & prefix_mask) == prefix)
        counts[(key >> shift) & digit_mask]++;
    }
}

/* The k-th smallest key (1 ≤ k ≤ total) and the number of keys below it. */
static guint32
select_kth (float *const *w,
            const gsize  *n,
            guint         n_layers,
            gsize         k,
            gsize        *less)
{
  gsize counts[1 << 11];
  guint32 prefix = 0, prefix_mask = 0;
  gsize below = 0;

  for (int p = 0; p < SELECT_PASSES; p++)
    {
      guint32 nb = 1u << select_width[p], d;

      memset (counts, 0, nb * sizeof (gsize));
      for (guint l = 0; l < n_layers; l++)
        histogram (w[l], n[l], prefix, prefix_mask, select_shift[p], nb - 1, counts);
      for (d = 0; d < nb - 1 && below + counts[d] < k; d++)
        below += counts[d];
      prefix |= d << select_shift[p];
      prefix_mask |= (nb - 1) << select_shift[p];
    }
  *less = below;
  return prefix;
}

static void
prune_below (float   *restrict w,
             gsize             n,
             guint8  *restrict keep,
             guint32           threshold,
             gsize            *ties_left)
{
  for (gsize i = 0; i < n; i++)
    {
      guint32 key = abs_key (w[i]);
      gboolean cut = key < threshold;

      if (key == threshold && *ties_left > 0)
        {
          cut = TRUE;
          (*ties_left)--;
        }
      if (cut)
        w[i] = 0.0f;
      if (keep != NULL)
        keep[i] = !cut;
    }
}

static void
magnitude_select (float       **w,
                  const gsize  *n,
                  guint         n_layers,
                  double        sparsity,
                  guint8      **keep)
{
  gsize total = 0, k, less, ties;
  guint32 threshold;

  for (guint l = 0; l < n_layers; l++)
    total += n[l];
  k = lathe_prune_count (sparsity, total);
  if (k == 0)
    {
      for (guint l = 0; l < n_layers; l++)
        if (keep != NULL && keep[l] != NULL)
          memset (keep[l], 1, n[l]);
      return;
    }

  threshold = select_kth (w, n, n_layers, k, &less);
  ties = k - less;
  for (guint l = 0; l < n_layers; l++)
    prune_below (w[l], n[l], keep ? keep[l] : NULL, threshold, &ties);
  g_assert (ties == 0);
}

void
lathe_prune_magnitude (float  *w,
                       gsize   n,
                       double  sparsity,
                       guint8 *keep)
{
  g_return_if_fail (w != NULL || n == 0);
  g_return_if_fail (sparsity >= 0.0 && sparsity <= 1.0);

  magnitude_select (&w, &n, 1, sparsity, &keep);
}

void
lathe_prune_magnitude_global (float       **w,
                              const gsize  *n,
                              guint         n_layers,
                              double        sparsity,
                              guint8      **keep)
{
  g_return_if_fail (n_layers == 0 || (w != NULL && n != NULL));
  g_return_if_fail (sparsity >= 0.0 && sparsity <= 1.0);

  magnitude_select (w, n, n_layers, sparsity, keep);
}

void
lathe_prune_layer_sparsity (guint8      **keep,
                            const gsize  *n,
                            guint         n_layers,
                            double       *out)
{
  g_return_if_fail (n_layers == 0 || (keep != NULL && n != NULL && out != NULL));

  for (guint l = 0; l < n_layers; l++)
    {
      gsize zeros = 0;

      for (gsize i = 0; i < n[l]; i++)
        zeros += keep[l][i] == 0;
      out[l] = n[l] > 0 ? (double) zeros / (double) n[l] : 0.0;
    }
}

/* ------------------------------------------------------------------------
 * Magnitude, reference: sort every (|w|, layer, index) and cut the first k. */

typedef struct {
  float  a;
  guint  layer;
  gsize  index;
} RefEntry;

static int
cmp_ref_entry (const void *pa,
               const void *pb)
{
  const RefEntry *a = pa, *b = pb;

  if (a->a != b->a)
    return a->a < b->a ? -1 : 1;
  if (a->layer != b->layer)
    return a->layer < b->layer ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

void
lathe_prune_magnitude_global_ref (float       **w,
                                  const gsize  *n,
                                  guint         n_layers,
                                  double        sparsity,
                                  guint8      **keep)
{
  g_autofree RefEntry *all = NULL;
  gsize total = 0, k, e = 0;

  for (guint l = 0; l < n_layers; l++)
    total += n[l];
  k = lathe_prune_count (sparsity, total);
  all = g_new (RefEntry, MAX (total, 1));
  for (guint l = 0; l < n_layers; l++)
    for (gsize i = 0; i < n[l]; i++)
      all[e++] = (RefEntry) { fabsf (w[l][i]), l, i };
  qsort (all, total, sizeof (RefEntry), cmp_ref_entry);

  for (guint l = 0; l < n_layers; l++)
    if (keep != NULL && keep[l] != NULL)
      memset (keep[l], 1, n[l]);
  for (gsize j = 0; j < k; j++)
    {
      w[all[j].layer][all[j].index] = 0.0f;
      if (keep != NULL && keep[all[j].layer] != NULL)
        keep[all[j].layer][all[j].index] = 0;
    }
}

void
lathe_prune_magnitude_ref (float  *w,
                           gsize   n,
                           double  sparsity,
                           guint8 *keep)
{
  lathe_prune_magnitude_global_ref (&w, &n, 1, sparsity, &keep);
}

/* ------------------------------------------------------------------------
 * N:M */

static gboolean
check_nm (const LatheWeightView  *view,
          int                     n,
          int                     m,
          GError                **error)
{
  if (n < 1 || m > 16 || n >= m)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "N:M sparsity needs 1 ≤ N < M ≤ 16, not %d:%d", n, m);
      return FALSE;
    }
  if (view->cols % (gsize) m != 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "the input axis has %" G_GSIZE_FORMAT " elements, not a multiple of M = %d",
                   view->cols, m);
      return FALSE;
    }
  return TRUE;
}

/* An element is kept when fewer than N of its group rank above it: a
 * larger |w|, or an equal one at a lower index. M ≤ 16 makes the
 * quadratic count cheaper than sorting, and it has no branches. */
gboolean
lathe_prune_nm (LatheWeightView  *view,
                int               n,
                int               m,
                guint8           *keep,
                GError          **error)
{
  gsize total;

  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_nm (view, n, m, error))
    return FALSE;

  total = view->rows * view->cols;   /* rows are contiguous: groups never straddle two */
  for (gsize g = 0; g < total; g += (gsize) m)
    {
      float *restrict w = view->data + g;
      float a[16];
      guint8 k[16];

      for (int i = 0; i < m; i++)
        a[i] = fabsf (w[i]);
      for (int i = 0; i < m; i++)
        {
          int above = 0;

          for (int j = 0; j < m; j++)
            above += (a[j] > a[i]) | ((a[j] == a[i]) & (j < i));
          k[i] = above < n;
        }
      for (int i = 0; i < m; i++)
        if (!k[i])
          w[i] = 0.0f;
      if (keep != NULL)
        memcpy (keep + g, k, (gsize) m);
    }
  return TRUE;
}

gboolean
lathe_prune_nm_ref (LatheWeightView  *view,
                    int               n,
                    int               m,
                    guint8           *keep,
                    GError          **error)
{
  g_return_val_if_fail (view != NULL, FALSE);

  if (!check_nm (view, n, m, error))
    return FALSE;

  for (gsize r = 0; r < view->rows; r++)
    for (gsize c = 0; c < view->cols; c += (gsize) m)
      {
        float *w = view->data + r * view->cols + c;
        int order[16];

        /* insertion sort of the group: larger |w| first, then lower index */
        for (int i = 0; i < m; i++)
          {
            int p = i;

            while (p > 0 && fabsf (w[order[p - 1]]) < fabsf (w[i]))
              {
                order[p] = order[p - 1];
                p--;
              }
            order[p] = i;
          }
        for (int i = 0; i < m; i++)
          {
            gboolean kept = FALSE;

            for (int j = 0; j < n; j++)
              kept |= order[j] == i;
            if (!kept)
              w[i] = 0.0f;
            if (keep != NULL)
              keep[r * view->cols + c + i] = kept;
          }
      }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Channels */

/* Sequential in double in both paths so they rank identical sums; it is
 * one pass over the weights, the sort is over rows only. */
static double
row_norm (const float *w,
          gsize        n,
          LatheNorm    norm)
{
  double s = 0.0;

  if (norm == LATHE_NORM_L1)
    for (gsize i = 0; i < n; i++)
      s += fabs ((double) w[i]);
  else
    for (gsize i = 0; i < n; i++)
      s += (double) w[i] * w[i];
  return s;
}

typedef struct {
  double norm;
  gsize  row;
} RowNorm;

static int
cmp_row_norm (const void *pa,
              const void *pb)
{
  const RowNorm *a = pa, *b = pb;

  if (a->norm != b->norm)
    return a->norm < b->norm ? -1 : 1;
  return (a->row > b->row) - (a->row < b->row);
}

void
lathe_prune_channel (LatheWeightView *view,
                     double           sparsity,
                     LatheNorm        norm,
                     guint8          *row_keep)
{
  g_autofree RowNorm *rows = NULL;
  gsize k;

  g_return_if_fail (view != NULL);
  g_return_if_fail (sparsity >= 0.0 && sparsity <= 1.0);

  k = lathe_prune_count (sparsity, view->rows);
  rows = g_new (RowNorm, MAX (view->rows, 1));
  for (gsize r = 0; r < view->rows; r++)
    rows[r] = (RowNorm) { row_norm (view->data + r * view->cols, view->cols, norm), r };
  qsort (rows, view->rows, sizeof (RowNorm), cmp_row_norm);

  if (row_keep != NULL)
    memset (row_keep, 1, view->rows);
  for (gsize j = 0; j < k; j++)
    {
      memset (view->data + rows[j].row * view->cols, 0, view->cols * sizeof (float));
      if (row_keep != NULL)
        row_keep[rows[j].row] = 0;
    }
}

void
lathe_prune_channel_ref (LatheWeightView *view,
                         double           sparsity,
                         LatheNorm        norm,
                         guint8          *row_keep)
{
  g_autofree double *norms = g_new (double, MAX (view->rows, 1));
  gsize k = lathe_prune_count (sparsity, view->rows);

  for (gsize r = 0; r < view->rows; r++)
    {
      const float *w = view->data + r * view->cols;
      double s = 0.0;

      for (gsize i = 0; i < view->cols; i++)
        s += norm == LATHE_NORM_L1 ? fabs ((double) w[i]) : (double) w[i] * w[i];
      norms[r] = s;
    }
  /* a row goes when fewer than k rows rank below it */
  for (gsize r = 0; r < view->rows; r++)
    {
      gsize below = 0;

      for (gsize q = 0; q < view->rows; q++)
        below += norms[q] < norms[r] || (norms[q] == norms[r] && q < r);
      if (below < k)
        for (gsize i = 0; i < view->cols; i++)
          view->data[r * view->cols + i] = 0.0f;
      if (row_keep != NULL)
        row_keep[r] = below >= k;
    }
}
