/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>
#include <stdlib.h>

#include <glib/gi18n.h>
#include <pango/pangocairo.h>

#include "lathe-heatmap.h"

#define LABEL_GAP    6.0   /* between the labels and the cells */
#define CELL_GAP     1.0   /* between cells, where the background shows */
#define MIN_TEXT_CELL 18.0 /* smaller cells carry colour only */

static void
set_rgb (double dst[3], double r, double g, double b)
{
  dst[0] = r, dst[1] = g, dst[2] = b;
}

static void
set_rgba (double dst[4], double r, double g, double b, double a)
{
  dst[0] = r, dst[1] = g, dst[2] = b, dst[3] = a;
}

void
lathe_heatmap_style_init (LatheHeatmapStyle *style,
                          gboolean           dark)
{
  g_return_if_fail (style != NULL);

  style->font = "Sans 9";
  if (dark)
    {
      set_rgb (style->better, 0x62 / 255., 0xa0 / 255., 0xea / 255.);   /* blue 2 */
      set_rgb (style->worse, 0xf6 / 255., 0x61 / 255., 0x51 / 255.);    /* red 1 */
      set_rgb (style->neutral, 0.22, 0.22, 0.23);
      set_rgba (style->grid, 1, 1, 1, 0.10);
      set_rgba (style->text, 1, 1, 1, 0.80);
      set_rgba (style->text_strong, 0, 0, 0, 0.85);
    }
  else
    {
      set_rgb (style->better, 0x1c / 255., 0x71 / 255., 0xd8 / 255.);   /* blue 4 */
      set_rgb (style->worse, 0xc0 / 255., 0x1c / 255., 0x28 / 255.);    /* red 4 */
      set_rgb (style->neutral, 0.93, 0.93, 0.93);
      set_rgba (style->grid, 0, 0, 0, 0.08);
      set_rgba (style->text, 0, 0, 0, 0.80);
      set_rgba (style->text_strong, 1, 1, 1, 1.0);
    }
}

gint64 *
lathe_heatmap_delta (const guint64 *pinned,
                     const guint64 *current,
                     guint          n)
{
  gint64 *delta = g_new (gint64, MAX ((gsize) n * n, 1));

  for (gsize i = 0; i < (gsize) n * n; i++)
    delta[i] = (gint64) current[i] - (gint64) pinned[i];
  return delta;
}

LatheHeatmapTone
lathe_heatmap_tone (guint  row,
                    guint  col,
                    gint64 delta)
{
  if (delta == 0)
    return LATHE_HEATMAP_NEUTRAL;
  /* the diagonal counts correct answers, the rest confusions */
  if ((row == col) == (delta > 0))
    return LATHE_HEATMAP_BETTER;
  return LATHE_HEATMAP_WORSE;
}

/* How far a cell is from neutral toward its tone, 0 … 1. */
static double
strength (gint64 delta,
          gint64 max_abs)
{
  if (delta == 0 || max_abs <= 0)
    return 0.0;
  return sqrt (MIN ((double) llabs (delta) / (double) max_abs, 1.0));
}

void
lathe_heatmap_cell_color (const LatheHeatmapStyle *style,
                          guint                    row,
                          guint                    col,
                          gint64                   delta,
                          gint64                   max_abs,
                          double                   rgb[3])
{
  LatheHeatmapTone tone = lathe_heatmap_tone (row, col, delta);
  const double *target = tone == LATHE_HEATMAP_BETTER ? style->better : style->worse;
  double t = strength (delta, max_abs);

  for (guint i = 0; i < 3; i++)
    rgb[i] = tone == LATHE_HEATMAP_NEUTRAL ? style->neutral[i]
                                           : style->neutral[i] + t * (target[i] - style->neutral[i]);
}

char *
lathe_class_name (const char * const *names,
                  guint               k)
{
  if (names != NULL)
    {
      guint i = 0;
      while (names[i] != NULL && i < k)
        i++;
      if (i == k && names[k] != NULL)
        return g_strdup (names[k]);
    }
  /* translators: a class without a name; %u is its label number */
  return g_strdup_printf (_("Class %u"), k);
}

static void
text_size (PangoLayout *layout,
           const char  *text,
           double      *w,
           double      *h)
{
  int pw, ph;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &pw, &ph);
  *w = pw;
  *h = ph;
}

static void
show_text (cairo_t      *cr,
           PangoLayout  *layout,
           const char   *text,
           const double  rgba[4],
           double        x,
           double        y,
           double        xalign)     /* 0 left, 0.5 centre, 1 right of x */
{
  double w, h;

  text_size (layout, text, &w, &h);
  cairo_set_source_rgba (cr, rgba[0], rgba[1], rgba[2], rgba[3]);
  cairo_move_to (cr, x - xalign * w, y - h / 2);
  pango_cairo_show_layout (cr, layout);
}

/* A signed count with a real minus sign. */
static char *
signed_count (gint64 v)
{
  return v < 0 ? g_strdup_printf ("\u2212%" G_GINT64_FORMAT, -v)
               : g_strdup_printf ("+%" G_GINT64_FORMAT, v);
}

void
lathe_heatmap_draw (cairo_t                 *cr,
                    double                   width,
                    double                   height,
                    guint                    n,
                    const gint64            *delta,
                    const char * const      *names,
                    const LatheHeatmapStyle *style,
                    LatheHeatmapGeometry    *geometry)
{
  g_autoptr(GPtrArray) row_labels = g_ptr_array_new_with_free_func (g_free);
  PangoLayout *layout, *numbers;
  PangoFontDescription *font;
  double left = 0, top = 0, cell, x0, y0;
  gint64 max_abs = 0;

  g_return_if_fail (cr != NULL && style != NULL);
  g_return_if_fail (n == 0 || delta != NULL);

  if (geometry != NULL)
    *geometry = (LatheHeatmapGeometry) { 0, 0, 0 };
  if (n == 0 || width <= 0 || height <= 0)
    return;

  layout = pango_cairo_create_layout (cr);
  font = pango_font_description_from_string (style->font ? style->font : "Sans 9");
  pango_layout_set_font_description (layout, font);

  /* Row labels "k  name", or just "k" when names would crowd the cells. */
  for (guint r = 0; r < n; r++)
    {
      g_autofree char *name = lathe_class_name (names, r);
      double w, h;
      char *label = g_strdup_printf ("%u  %s", r, name);

      text_size (layout, label, &w, &h);
      left = MAX (left, w);
      top = MAX (top, h);
      g_ptr_array_add (row_labels, label);
    }
  if (left > width * 0.45)
    {
      left = 0;
      for (guint r = 0; r < n; r++)
        {
          double w, h;
          g_free (row_labels->pdata[r]);
          row_labels->pdata[r] = g_strdup_printf ("%u", r);
          text_size (layout, row_labels->pdata[r], &w, &h);
          left = MAX (left, w);
        }
    }

  cell = floor (MIN ((width - left - LABEL_GAP) / n, (height - top - LABEL_GAP) / n));
  if (cell < 2)
    cell = MAX (MIN ((width - left - LABEL_GAP) / n, (height - top - LABEL_GAP) / n), 0.5);
  /* centred horizontally, at the top */
  x0 = floor ((width - (left + LABEL_GAP + n * cell)) / 2 + left + LABEL_GAP);
  y0 = floor (top + LABEL_GAP);
  if (geometry != NULL)
    *geometry = (LatheHeatmapGeometry) { x0, y0, cell };

  for (gsize i = 0; i < (gsize) n * n; i++)
    max_abs = MAX (max_abs, llabs (delta[i]));

  /* labels: predicted class numbers on top, true classes down the left */
  for (guint c = 0; c < n; c++)
    {
      g_autofree char *num = g_strdup_printf ("%u", c);
      if (cell >= 10 || c % 5 == 0)
        show_text (cr, layout, num, style->text, x0 + (c + 0.5) * cell, top / 2, 0.5);
    }
  for (guint r = 0; r < n; r++)
    if (cell >= 10 || r % 5 == 0)
      show_text (cr, layout, row_labels->pdata[r], style->text, x0 - LABEL_GAP, y0 + (r + 0.5) * cell, 1.0);

  /* Numbers in the cells, in a font small enough for the widest one
   * (down to 70 %), or none. */
  numbers = NULL;
  if (cell >= MIN_TEXT_CELL && max_abs > 0)
    {
      static const double scales[] = { 1.0, 0.85, 0.7 };
      g_autofree char *widest = signed_count (-max_abs);
      int base = pango_font_description_get_size (font);

      for (guint i = 0; i < G_N_ELEMENTS (scales) && numbers == NULL; i++)
        {
          PangoFontDescription *f = pango_font_description_copy (font);
          double w, h;

          if (base > 0 && pango_font_description_get_size_is_absolute (font))
            pango_font_description_set_absolute_size (f, base * scales[i]);
          else if (base > 0)
            pango_font_description_set_size (f, (int) (base * scales[i]));
          numbers = pango_cairo_create_layout (cr);
          pango_layout_set_font_description (numbers, f);
          pango_font_description_free (f);
          text_size (numbers, widest, &w, &h);
          if (w > cell - 4 || h > cell - 2)
            g_clear_object (&numbers);
        }
    }

  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      {
        gint64 d = delta[(gsize) r * n + c];
        double rgb[3];
        double gap = cell >= 6 ? CELL_GAP : 0;
        double x = x0 + c * cell, y = y0 + r * cell;

        lathe_heatmap_cell_color (style, r, c, d, max_abs, rgb);
        cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle (cr, x + gap / 2, y + gap / 2, cell - gap, cell - gap);
        cairo_fill (cr);

        /* the diagonal (correct answers) is framed */
        if (r == c && cell >= 6)
          {
            cairo_set_source_rgba (cr, style->text[0], style->text[1], style->text[2], 0.45);
            cairo_set_line_width (cr, 1.0);
            cairo_rectangle (cr, x + gap / 2 + 0.5, y + gap / 2 + 0.5, cell - gap - 1, cell - gap - 1);
            cairo_stroke (cr);
          }

        if (d != 0 && numbers != NULL)
          {
            g_autofree char *text = signed_count (d);
            show_text (cr, numbers, text, strength (d, max_abs) > 0.6 ? style->text_strong : style->text,
                       x + cell / 2, y + cell / 2, 0.5);
          }
      }

  g_clear_object (&numbers);
  pango_font_description_free (font);
  g_object_unref (layout);
}

typedef struct {
  guint  row, col;
  gint64 delta;
} Change;

static int
compare_changes (gconstpointer a,
                 gconstpointer b)
{
  const Change *x = a, *y = b;
  gint64 ax = llabs (x->delta), ay = llabs (y->delta);

  if (ax != ay)
    return ax > ay ? -1 : 1;
  if (x->row != y->row)
    return x->row < y->row ? -1 : 1;
  return x->col < y->col ? -1 : (x->col > y->col);
}

char *
lathe_heatmap_describe (guint               n,
                        const gint64       *delta,
                        const char * const *names,
                        guint               max_items)
{
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  GString *s;

  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      if (delta[(gsize) r * n + c] != 0)
        {
          Change ch = { r, c, delta[(gsize) r * n + c] };
          g_array_append_val (changes, ch);
        }
  if (changes->len == 0)
    return g_strdup (_("Every class is answered as with the pinned plan."));

  g_array_sort (changes, compare_changes);
  s = g_string_new (_("Largest changes from the pinned plan:"));
  for (guint i = 0; i < MIN (changes->len, max_items); i++)
    {
      const Change *ch = &g_array_index (changes, Change, i);
      g_autofree char *label = lathe_class_name (names, ch->row);
      g_autofree char *predicted = lathe_class_name (names, ch->col);
      g_autofree char *what = NULL;
      g_autofree char *count = NULL;
      gboolean better = lathe_heatmap_tone (ch->row, ch->col, ch->delta) == LATHE_HEATMAP_BETTER;
      gint64 a = llabs (ch->delta);

      if (ch->row == ch->col)
        /* translators: %s is a class name; the samples of it answered right */
        what = g_strdup_printf (_("%s correct"), label);
      else
        /* translators: samples of the first class predicted as the second */
        what = g_strdup_printf (_("%s taken for %s"), label, predicted);
      /* translators: a number of samples in one cell of the confusion matrix */
      if (ch->delta > 0)
        count = g_strdup_printf (ngettext ("%lu more", "%lu more", (gulong) a), (gulong) a);
      else
        count = g_strdup_printf (ngettext ("%lu fewer", "%lu fewer", (gulong) a), (gulong) a);
      g_string_append_printf (s, i ? "; %s, %s (%s)" : " %s, %s (%s)", what, count,
                              better ? _("better") : _("worse"));
    }
  g_string_append_c (s, '.');
  return g_string_free (s, FALSE);
}
