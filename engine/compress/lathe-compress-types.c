/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include "compress/lathe-compress-types.h"

/* Buffers come from lathe_aligned_alloc() (64-byte aligned, as large
 * buffers are everywhere in the engine), so they are freed with its twin. */

LatheQuantized *
lathe_quantized_new (int               bits,
                     gboolean          affine,
                     LatheGranularity  granularity,
                     gsize             group_len,
                     gsize             rows,
                     gsize             cols)
{
  LatheQuantized *q;

  g_return_val_if_fail (granularity != LATHE_GRANULARITY_GROUP || group_len > 0, NULL);

  q = g_new0 (LatheQuantized, 1);
  q->bits = bits;
  q->affine = affine;
  q->granularity = granularity;
  q->rows = rows;
  q->cols = cols;
  switch (granularity)
    {
    case LATHE_GRANULARITY_TENSOR:
      q->scales_per_row = 0;
      q->n_scales = 1;
      break;
    case LATHE_GRANULARITY_CHANNEL:
      q->scales_per_row = 1;
      q->n_scales = rows;
      break;
    case LATHE_GRANULARITY_GROUP:
      q->group_len = group_len;
      q->scales_per_row = (cols + group_len - 1) / group_len;
      q->n_scales = rows * q->scales_per_row;
      break;
    default:
      g_assert_not_reached ();
    }
  q->scales = lathe_aligned_alloc0 (q->n_scales * sizeof (float));
  if (affine)
    q->zero_points = lathe_aligned_alloc0 (q->n_scales * sizeof (gint32));
  q->codes = lathe_aligned_alloc0 (rows * cols * sizeof (gint32));
  return q;
}

void
lathe_quantized_free (LatheQuantized *q)
{
  if (q == NULL)
    return;
  lathe_aligned_free (q->scales);
  lathe_aligned_free (q->zero_points);
  lathe_aligned_free (q->codes);
  g_free (q);
}

LathePalette *
lathe_palette_new (int   bits,
                   gsize rows,
                   gsize cols,
                   gsize n_codebooks)
{
  LathePalette *p;

  g_return_val_if_fail (bits >= 1 && bits <= 16, NULL);

  p = g_new0 (LathePalette, 1);
  p->bits = bits;
  p->rows = rows;
  p->cols = cols;
  p->n_codebooks = n_codebooks;
  p->codebooks = lathe_aligned_alloc0 (n_codebooks * ((gsize) 1 << bits) * sizeof (float));
  p->indices = lathe_aligned_alloc0 (rows * cols * sizeof (guint16));
  return p;
}

void
lathe_palette_free (LathePalette *p)
{
  if (p == NULL)
    return;
  lathe_aligned_free (p->codebooks);
  lathe_aligned_free (p->indices);
  g_free (p);
}
