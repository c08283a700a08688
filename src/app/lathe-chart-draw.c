/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-svg.h>
#include <pango/pangocairo.h>

#include "lathe-app-format.h"
#include "lathe-chart-draw-private.h"

#define MARGIN        12.0
#define POINT_RADIUS  4.5
#define CURRENT_RADIUS 7.0
#define BAR_ROW       30.0

/* ---------------------------------------------------------------------- */
/* Palette                                                                 */

static LatheChartColor
hex (guint32 rgb,
     double  alpha)
{
  return (LatheChartColor) { ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                             (rgb & 0xff) / 255.0, alpha };
}

void
lathe_chart_palette_init (LatheChartPalette *p,
                          gboolean           dark,
                          gboolean           high_contrast)
{
  g_return_if_fail (p != NULL);

  memset (p, 0, sizeof *p);
  /* GNOME HIG palette: blue 3 #3584e4 carries the data, orange the
   * current configuration, purple the levels, red what pruning removes. */
  if (!dark)
    {
      p->background = hex (0xffffff, 1);
      p->text = hex (0x000000, high_contrast ? 1 : 0.8);
      p->dim_text = hex (0x000000, high_contrast ? 0.9 : 0.55);
      p->grid = hex (0x000000, high_contrast ? 0.25 : 0.07);
      p->axis = hex (0x000000, high_contrast ? 0.9 : 0.3);
      p->point = hex (0x3584e4, high_contrast ? 0.9 : 0.45);
      p->front = hex (0x1c71d8, 1);
      p->current = hex (0xe66100, 1);
      p->focus = hex (0x3584e4, 1);
      p->bar = hex (0x62a0ea, high_contrast ? 1 : 0.85);
      p->level = hex (0x813d9c, 1);
      p->clip = hex (0xe66100, 1);
      p->pruned = hex (0xe01b24, high_contrast ? 0.25 : 0.14);
      p->original = hex (0xdeddda, 1);
      p->compressed = hex (0x3584e4, 1);
    }
  else
    {
      p->background = hex (0x242424, 1);
      p->text = hex (0xffffff, high_contrast ? 1 : 0.9);
      p->dim_text = hex (0xffffff, high_contrast ? 0.9 : 0.6);
      p->grid = hex (0xffffff, high_contrast ? 0.3 : 0.08);
      p->axis = hex (0xffffff, high_contrast ? 0.9 : 0.3);
      p->point = hex (0x78aeed, high_contrast ? 0.9 : 0.5);
      p->front = hex (0x99c1f1, 1);
      p->current = hex (0xffa348, 1);
      p->focus = hex (0x78aeed, 1);
      p->bar = hex (0x3584e4, high_contrast ? 1 : 0.85);
      p->level = hex (0xdc8add, 1);
      p->clip = hex (0xffa348, 1);
      p->pruned = hex (0xf66151, high_contrast ? 0.35 : 0.2);
      p->original = hex (0x4f4d55, 1);
      p->compressed = hex (0x3584e4, 1);
    }
}

void
lathe_chart_palette_clear (LatheChartPalette *palette)
{
  g_clear_pointer (&palette->font, g_free);
}

static void
set_color (cairo_t               *cr,
           const LatheChartColor *c)
{
  cairo_set_source_rgba (cr, c->red, c->green, c->blue, c->alpha);
}

static void
fill_background (cairo_t                 *cr,
                 int                      width,
                 int                      height,
                 const LatheChartPalette *p)
{
  cairo_save (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
  set_color (cr, &p->background);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
  cairo_restore (cr);
}

/* ---------------------------------------------------------------------- */
/* Text                                                                    */

typedef enum { ALIGN_START, ALIGN_CENTER, ALIGN_END } Align;

static PangoLayout *
make_layout (cairo_t                 *cr,
             const LatheChartPalette *p,
             double                   scale,
             gboolean                 bold,
             const char              *text)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string (p->font ? p->font : "Sans 9");
  int size = pango_font_description_get_size (font);

  if (size <= 0)
    size = 9 * PANGO_SCALE;
  pango_font_description_set_size (font, (int) (size * scale));
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  pango_font_description_free (font);
  return layout;
}

static void
text_size (PangoLayout *layout,
           double      *w,
           double      *h)
{
  int pw, ph;

  pango_layout_get_pixel_size (layout, &pw, &ph);
  if (w)
    *w = pw;
  if (h)
    *h = ph;
}

/* Draws text with its box aligned at (x, y): halign on x, valign on y. */
static void
draw_text (cairo_t                 *cr,
           const LatheChartPalette *p,
           const LatheChartColor   *color,
           double                   scale,
           gboolean                 bold,
           const char              *text,
           double                   x,
           double                   y,
           Align                    halign,
           Align                    valign)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, p, scale, bold, text);
  double w, h;

  text_size (layout, &w, &h);
  x -= halign == ALIGN_CENTER ? w / 2 : halign == ALIGN_END ? w : 0;
  y -= valign == ALIGN_CENTER ? h / 2 : valign == ALIGN_END ? h : 0;
  cairo_save (cr);
  set_color (cr, color);
  cairo_move_to (cr, round (x), round (y));
  pango_cairo_show_layout (cr, layout);
  cairo_restore (cr);
}

static double
text_height (cairo_t                 *cr,
             const LatheChartPalette *p,
             double                   scale)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, p, scale, FALSE, "0.9 %Ag");
  double h;

  text_size (layout, NULL, &h);
  return h;
}

static double
text_width (cairo_t                 *cr,
            const LatheChartPalette *p,
            double                   scale,
            gboolean                 bold,
            const char              *text)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, p, scale, bold, text);
  double w;

  text_size (layout, &w, NULL);
  return w;
}

/* ---------------------------------------------------------------------- */
/* Scales                                                                  */

/* 1, 2 or 5 × 10^k, about range / target. */
static double
nice_step (double range,
           int    target)
{
  double raw = range / MAX (target, 1);
  double mag = pow (10, floor (log10 (raw)));
  double f = raw / mag;

  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Ticks for bytes on a log axis over [lo, hi]: 1-2-5 decades, or every
 * integer multiple when that gives fewer than two, or plain linear steps. */
static GArray *
log_ticks (double lo,
           double hi)
{
  static const double sets[][9] = {
    { 1, 2, 5 },
    { 1, 2, 3, 4, 5, 6, 7, 8, 9 },
  };
  static const guint set_len[] = { 3, 9 };
  GArray *ticks = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
    {
      g_array_set_size (ticks, 0);
      for (int e = (int) floor (log10 (lo)); e <= (int) ceil (log10 (hi)); e++)
        for (guint k = 0; k < set_len[s]; k++)
          {
            double v = sets[s][k] * pow (10, e);
            if (v >= lo && v <= hi)
              g_array_append_val (ticks, v);
          }
      if (ticks->len >= 2)
        return ticks;
    }
  {
    double step = nice_step (hi - lo, 4);
    g_array_set_size (ticks, 0);
    for (double v = ceil (lo / step) * step; v <= hi; v += step)
      g_array_append_val (ticks, v);
  }
  return ticks;
}

/* Tick labels: "20 kB", "1.5 MB" — decimal units as g_format_size()
 * uses, without its fixed decimal. */
static char *
format_bytes (double bytes)
{
  if (bytes < 1e3)
    /* translators: bytes on a chart axis */
    return g_strdup_printf (_("%g B"), bytes);
  if (bytes < 1e6)
    /* translators: kilobytes (1000 bytes) on a chart axis */
    return g_strdup_printf (_("%g kB"), bytes / 1e3);
  if (bytes < 1e9)
    /* translators: megabytes (10⁶ bytes) on a chart axis */
    return g_strdup_printf (_("%g MB"), bytes / 1e6);
  /* translators: gigabytes (10⁹ bytes) on a chart axis */
  return g_strdup_printf (_("%g GB"), bytes / 1e9);
}

/* A number with as many decimals as the step between ticks needs. */
static char *
format_step (double value,
             double step)
{
  int decimals = step >= 1 ? 0 : (int) ceil (-log10 (step) - 1e-9);

  if (fabs (value) < step * 1e-6)
    value = 0;
  return g_strdup_printf ("%.*f", CLAMP (decimals, 0, 6), value);
}

static void
crisp_line (cairo_t *cr,
            double   x0,
            double   y0,
            double   x1,
            double   y1)
{
  /* Axis-aligned one-pixel lines on pixel centres stay sharp. */
  if (x0 == x1)
    x0 = x1 = floor (x0) + 0.5;
  if (y0 == y1)
    y0 = y1 = floor (y0) + 0.5;
  cairo_move_to (cr, x0, y0);
  cairo_line_to (cr, x1, y1);
}

/* A horizontal grid line at `y` across the plot, labelled on its left. */
static void
grid_row (cairo_t                 *cr,
          const LatheChartPalette *p,
          const LatheChartRect    *plot,
          double                   y,
          double                   value,
          double                   step)
{
  g_autofree char *label = format_step (value, step);

  set_color (cr, &p->grid);
  crisp_line (cr, plot->x, y, plot->x + plot->width, y);
  cairo_stroke (cr);
  draw_text (cr, p, &p->dim_text, 0.9, FALSE, label, plot->x - 6, y, ALIGN_END, ALIGN_CENTER);
}

static void
hits_reset (GArray *hits)
{
  if (hits != NULL)
    g_array_set_size (hits, 0);
}

/* ---------------------------------------------------------------------- */
/* Pareto front                                                            */

static int
compare_size_then_accuracy (gconstpointer a,
                            gconstpointer b,
                            gpointer      data)
{
  const LathePlanePoint *points = data;
  guint i = *(const guint *) a, j = *(const guint *) b;
  const LathePlanePoint *p = &points[i], *q = &points[j];

  if (p->bytes != q->bytes)
    return p->bytes < q->bytes ? -1 : 1;
  if (p->accuracy != q->accuracy)
    return p->accuracy < q->accuracy ? -1 : 1;
  return (i > j) - (i < j);
}

GArray *
lathe_chart_pareto_front (const LathePlanePoint *points,
                          guint                  n_points)
{
  GArray *front = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (points != NULL || n_points == 0, front);

  for (guint i = 0; i < n_points; i++)
    {
      gboolean dominated = FALSE;
      for (guint j = 0; j < n_points && !dominated; j++)
        dominated = j != i &&
                    points[j].bytes <= points[i].bytes && points[j].accuracy >= points[i].accuracy &&
                    (points[j].bytes < points[i].bytes || points[j].accuracy > points[i].accuracy);
      if (!dominated)
        g_array_append_val (front, i);
    }
  g_array_sort_with_data (front, compare_size_then_accuracy, (gpointer) points);
  return front;
}

/* ---------------------------------------------------------------------- */
/* Plane                                                                   */

static void
circle (cairo_t *cr,
        double   x,
        double   y,
        double   r)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x, y, r, 0, 2 * G_PI);
}

static void
rounded (cairo_t *cr,
         double   x,
         double   y,
         double   w,
         double   h,
         double   r)
{
  r = MIN (r, MIN (w, h) / 2);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc (cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc (cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

/* A swatch and its label at (*x, y), advancing *x; nothing when they would
 * pass max_x (a narrow chart drops the last items rather than overlap). */
/* A trained student's point. */
static void
diamond (cairo_t *cr,
         double   x,
         double   y,
         double   r)
{
  cairo_new_path (cr);
  cairo_move_to (cr, x, y - r * 1.3);
  cairo_line_to (cr, x + r * 1.3, y);
  cairo_line_to (cr, x, y + r * 1.3);
  cairo_line_to (cr, x - r * 1.3, y);
  cairo_close_path (cr);
}

static void
legend_item (cairo_t                 *cr,
             const LatheChartPalette *p,
             double                  *x,
             double                   y,
             double                   max_x,
             const LatheChartColor   *color,
             int                      kind,   /* 0 dot, 1 big dot, 2 line, 3 ring,
                                               * 4 square, 5 dashed rule, 6 tick,
                                               * 7 diamond */
             const char              *label)
{
  double h = text_height (cr, p, 0.9);
  double swatch = kind == 2 ? 18 : kind == 5 || kind == 6 ? 10 : 14;

  if (*x + swatch + text_width (cr, p, 0.9, FALSE, label) > max_x)
    {
      *x = max_x;
      return;
    }
  cairo_save (cr);
  set_color (cr, color);
  if (kind == 2)
    {
      cairo_set_line_width (cr, 2);
      crisp_line (cr, *x, y + h / 2, *x + 14, y + h / 2);
      cairo_stroke (cr);
      *x += 18;
    }
  else if (kind == 4)
    {
      rounded (cr, *x, y + h / 2 - 5, 10, 10, 2);
      cairo_fill (cr);
      *x += 14;
    }
  else if (kind == 5)
    {
      static const double dash[] = { 3, 2 };
      cairo_set_line_width (cr, 1.5);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      crisp_line (cr, *x + 4, y + 1, *x + 4, y + h - 1);
      cairo_stroke (cr);
      *x += 10;
    }
  else if (kind == 7)
    {
      diamond (cr, *x + 5, y + h / 2, 5);
      cairo_fill (cr);
      *x += 14;
    }
  else if (kind == 6)
    {
      cairo_set_line_width (cr, 2);
      cairo_move_to (cr, *x + 4, y + h / 2 - 4);
      cairo_line_to (cr, *x + 4, y + h / 2 + 4);
      cairo_stroke (cr);
      *x += 10;
    }
  else if (kind == 3)
    {
      cairo_set_line_width (cr, 1.5);
      circle (cr, *x + 5, y + h / 2, POINT_RADIUS - 0.75);
      cairo_stroke (cr);
      *x += 14;
    }
  else
    {
      circle (cr, *x + 5, y + h / 2, kind == 1 ? 5 : POINT_RADIUS);
      cairo_fill (cr);
      *x += 14;
    }
  cairo_restore (cr);
  draw_text (cr, p, &p->dim_text, 0.9, FALSE, label, *x, y, ALIGN_START, ALIGN_START);
  *x += text_width (cr, p, 0.9, FALSE, label) + 14;
}

void
lathe_chart_draw_plane (cairo_t                 *cr,
                        int                      width,
                        int                      height,
                        const LatheChartPalette *p,
                        const LathePlanePoint   *points,
                        guint                    n_points,
                        int                      current,
                        int                      selected,
                        gboolean                 focused,
                        int                      hover,
                        LatheChartRect          *plot_out,
                        GArray                  *hits)
{
  g_autoptr(GArray) xticks = NULL;
  g_autoptr(GArray) front = NULL;
  double th = text_height (cr, p, 1.0);
  double sh = text_height (cr, p, 0.9);
  double bmin = INFINITY, bmax = 0, amin = INFINITY, amax = -INFINITY;
  double ystep, left, top, right, bottom, ytick_w = 0;
  LatheChartRect plot;

  g_return_if_fail (cr != NULL && p != NULL);
  g_return_if_fail (points != NULL || n_points == 0);

  hits_reset (hits);
  cairo_save (cr);
  fill_background (cr, width, height, p);

  for (guint i = 0; i < n_points; i++)
    {
      bmin = MIN (bmin, MAX (points[i].bytes, 1));
      bmax = MAX (bmax, MAX (points[i].bytes, 1));
      amin = MIN (amin, 100 * MIN (points[i].lo, points[i].accuracy));
      amax = MAX (amax, 100 * MAX (points[i].hi, points[i].accuracy));
    }
  if (n_points == 0)
    bmin = 10e3, bmax = 1e6, amin = 0, amax = 100;
  /* A little room on both sides, in log space for sizes. */
  bmin /= 1.25;
  bmax *= 1.25;
  if (amax - amin < 2)
    {
      double mid = (amax + amin) / 2;
      amin = mid - 1, amax = mid + 1;
    }
  ystep = nice_step (amax - amin, 5);
  amin = MAX (0, floor ((amin - 0.05 * (amax - amin)) / ystep) * ystep);
  amax = MIN (100, ceil ((amax + 0.05 * (amax - amin)) / ystep) * ystep);
  if (amax <= amin)
    amax = amin + ystep;

  for (double v = amin; v <= amax + ystep * 1e-6; v += ystep)
    {
      g_autofree char *label = format_step (v, ystep);
      ytick_w = MAX (ytick_w, text_width (cr, p, 0.9, FALSE, label));
    }

  top = MARGIN + th + 10;                         /* legend row */
  left = MARGIN + th + 6 + ytick_w + 8;           /* axis title, tick labels */
  right = width - MARGIN - 8;
  bottom = height - MARGIN - th - 4 - sh - 6;     /* tick labels, axis title */
  plot = (LatheChartRect) { left, top, MAX (right - left, 10), MAX (bottom - top, 10) };
  if (plot_out)
    *plot_out = plot;

#define PX(b) (plot.x + (log (MAX ((double) (b), 1)) - log (bmin)) / (log (bmax) - log (bmin)) * plot.width)
#define PY(a) (plot.y + plot.height - ((a) - amin) / (amax - amin) * plot.height)

  /* Grid and tick labels. */
  cairo_set_line_width (cr, 1);
  for (double v = amin; v <= amax + ystep * 1e-6; v += ystep)
    grid_row (cr, p, &plot, PY (v), v, ystep);
  xticks = log_ticks (bmin, bmax);
  for (guint i = 0; i < xticks->len; i++)
    {
      double v = g_array_index (xticks, double, i);
      g_autofree char *label = format_bytes (v);
      set_color (cr, &p->grid);
      crisp_line (cr, PX (v), plot.y, PX (v), plot.y + plot.height);
      cairo_stroke (cr);
      draw_text (cr, p, &p->dim_text, 0.9, FALSE, label, PX (v), plot.y + plot.height + 4, ALIGN_CENTER, ALIGN_START);
    }
  set_color (cr, &p->axis);
  crisp_line (cr, plot.x, plot.y + plot.height, plot.x + plot.width, plot.y + plot.height);
  crisp_line (cr, plot.x, plot.y, plot.x, plot.y + plot.height);
  cairo_stroke (cr);

  /* Axis titles. */
  draw_text (cr, p, &p->text, 1.0, FALSE, _("Packed size (log scale)"),
             plot.x + plot.width / 2, height - MARGIN, ALIGN_CENTER, ALIGN_END);
  cairo_save (cr);
  cairo_translate (cr, MARGIN, plot.y + plot.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  draw_text (cr, p, &p->text, 1.0, FALSE, _("Accuracy (%)"), 0, 0, ALIGN_CENTER, ALIGN_START);
  cairo_restore (cr);

  /* Legend. */
  {
    double x = plot.x;
    legend_item (cr, p, &x, MARGIN, width - MARGIN, &p->point, 0, _("Measured"));
    legend_item (cr, p, &x, MARGIN, width - MARGIN, &p->point, 3, _("Subset only"));
    legend_item (cr, p, &x, MARGIN, width - MARGIN, &p->front, 2, _("Pareto front"));
    legend_item (cr, p, &x, MARGIN, width - MARGIN, &p->current, 1, _("Current"));
    for (guint i = 0; i < n_points; i++)
      if (points[i].trained)
        {
          legend_item (cr, p, &x, MARGIN, width - MARGIN, &p->point, 7, _("Trained student"));
          break;
        }
  }

  if (n_points == 0)
    {
      draw_text (cr, p, &p->dim_text, 1.0, FALSE, _("No configuration measured yet"),
                 plot.x + plot.width / 2, plot.y + plot.height / 2, ALIGN_CENTER, ALIGN_CENTER);
      cairo_restore (cr);
      return;
    }

  cairo_save (cr);
  cairo_rectangle (cr, plot.x - CURRENT_RADIUS - 4, plot.y - CURRENT_RADIUS - 4,
                   plot.width + 2 * CURRENT_RADIUS + 8, plot.height + 2 * CURRENT_RADIUS + 8);
  cairo_clip (cr);

  /* Intervals. */
  cairo_set_line_width (cr, 1);
  set_color (cr, &p->grid);
  for (guint i = 0; i < n_points; i++)
    {
      double x = round (PX (points[i].bytes)) + 0.5;
      cairo_move_to (cr, x, PY (100 * points[i].lo));
      cairo_line_to (cr, x, PY (100 * points[i].hi));
    }
  cairo_set_source_rgba (cr, p->point.red, p->point.green, p->point.blue, 0.5 * p->point.alpha);
  cairo_stroke (cr);

  /* The front: best accuracy at a size or smaller, as steps. */
  front = lathe_chart_pareto_front (points, n_points);
  cairo_save (cr);
  set_color (cr, &p->front);
  cairo_set_line_width (cr, 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint k = 0; k < front->len; k++)
    {
      const LathePlanePoint *pt = &points[g_array_index (front, guint, k)];
      double x = PX (pt->bytes), y = PY (100 * pt->accuracy);
      if (k == 0)
        cairo_move_to (cr, x, y);
      else
        {
          double py;
          cairo_get_current_point (cr, NULL, &py);
          cairo_line_to (cr, x, py);
          cairo_line_to (cr, x, y);
        }
    }
  if (front->len > 0)
    {
      double py;
      cairo_get_current_point (cr, NULL, &py);
      cairo_line_to (cr, plot.x + plot.width, py);
    }
  cairo_stroke (cr);
  cairo_restore (cr);

  /* Points: subset-only ones hollow, front ones solid. */
  for (guint i = 0; i < n_points; i++)
    {
      double x = PX (points[i].bytes), y = PY (100 * points[i].accuracy);
      gboolean on_front = FALSE;
      double r = POINT_RADIUS + ((int) i == hover ? 1.5 : 0);

      for (guint k = 0; k < front->len; k++)
        on_front |= g_array_index (front, guint, k) == i;
      if (hits)
        {
          LatheChartRect hit = { x - 8, y - 8, 16, 16 };
          g_array_append_val (hits, hit);
        }
      if ((int) i == current)
        continue;
      set_color (cr, on_front ? &p->front : &p->point);
      cairo_new_path (cr);
      if (points[i].trained)
        {
          diamond (cr, x, y, r);
          cairo_fill (cr);
        }
      else if (points[i].full_set)
        {
          circle (cr, x, y, r);
          cairo_fill (cr);
        }
      else
        {
          /* measured on the subset only: an early figure */
          cairo_set_line_width (cr, 1.5);
          circle (cr, x, y, r - 0.75);
          cairo_stroke (cr);
        }
    }

  /* The current configuration on top: a ring in the background colour so
   * it stands out from points under it. */
  if (current >= 0 && (guint) current < n_points)
    {
      double x = PX (points[current].bytes), y = PY (100 * points[current].accuracy);
      set_color (cr, &p->background);
      circle (cr, x, y, CURRENT_RADIUS + 2);
      cairo_fill (cr);
      set_color (cr, &p->current);
      if (points[current].trained)
        diamond (cr, x, y, CURRENT_RADIUS + (current == hover ? 1 : 0));
      else
        circle (cr, x, y, CURRENT_RADIUS + (current == hover ? 1 : 0));
      cairo_fill (cr);
    }

  if (focused && selected >= 0 && (guint) selected < n_points)
    {
      double x = PX (points[selected].bytes), y = PY (100 * points[selected].accuracy);
      set_color (cr, &p->focus);
      cairo_set_line_width (cr, 2);
      circle (cr, x, y, CURRENT_RADIUS + 4);
      cairo_stroke (cr);
    }
  cairo_restore (cr);

#undef PX
#undef PY
  cairo_restore (cr);
}

/* ---------------------------------------------------------------------- */
/* Histogram                                                               */

char *
lathe_chart_histogram_legend (const LatheWeightSummary *s)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (s != NULL, NULL);

  if (s->skipped)
    g_string_append (out, _("Skipped: stays float32"));
  else if (s->bits >= 16)
    g_string_append_printf (out, _("float%d · no levels"), s->bits);
  else
    {
      g_string_append_printf (out, ngettext ("%d bit", "%d bits", s->bits), s->bits);
      g_string_append (out, " · ");
      g_string_append_printf (out, s->palette ? ngettext ("%u codebook entry", "%u codebook entries", s->n_levels)
                                              : ngettext ("%u level", "%u levels", s->n_levels),
                              s->n_levels);
      if (s->scale_index >= 0 && s->granularity == LATHE_GRANULARITY_GROUP)
        g_string_append_printf (out, _(" of unit %zu, columns %zu–%zu"), s->scope_row,
                                s->scope_col, s->scope_col + s->scope_cols - 1);
      else if (s->scale_index >= 0)
        g_string_append_printf (out, _(" of unit %zu"), s->scope_row);
    }
  if (!isnan (s->threshold) && s->n_pruned > 0)
    {
      g_string_append (out, " · ");
      if (s->pattern == LATHE_PATTERN_UNSTRUCTURED)
        /* translators: the share of weights pruning removed, then the largest magnitude it removed */
        g_string_append_printf (out, _("%.0f\u00a0%% pruned below |w| = %.3g"), 100 * s->sparsity, s->threshold);
      else
        /* translators: structured pruning removes whole groups, so there is no single threshold */
        g_string_append_printf (out, _("%.0f\u00a0%% pruned (structured, largest |w| %.3g)"),
                                100 * s->sparsity, s->threshold);
    }
  return g_string_free (out, FALSE);
}

void
lathe_chart_draw_histogram (cairo_t                  *cr,
                            int                       width,
                            int                       height,
                            const LatheChartPalette  *p,
                            const LatheWeightSummary *s,
                            int                       hover,
                            LatheChartRect           *plot_out,
                            GArray                   *hits)
{
  double th = text_height (cr, p, 1.0);
  double sh = text_height (cr, p, 0.9);
  double xmin, xmax, xstep, ymax, ystep, ytick_w = 0;
  LatheChartRect plot;

  g_return_if_fail (cr != NULL && p != NULL);

  hits_reset (hits);
  cairo_save (cr);
  fill_background (cr, width, height, p);

  if (s != NULL)
    {
      xmin = s->lo, xmax = s->hi;
      if (s->n_levels > 0)
        xmin = MIN (xmin, s->clip_lo), xmax = MAX (xmax, s->clip_hi);
      ymax = MAX (s->max_count, 1);
    }
  else
    xmin = -1, xmax = 1, ymax = 1;
  {
    double pad = 0.03 * (xmax - xmin);
    xmin -= pad, xmax += pad;
  }
  ystep = nice_step (ymax, 4);
  ystep = MAX (ystep, 1);
  ymax = ceil (ymax * 1.05 / ystep) * ystep;
  xstep = nice_step (xmax - xmin, 6);

  for (double v = 0; v <= ymax + 1e-9; v += ystep)
    {
      g_autofree char *label = format_step (v, ystep);
      ytick_w = MAX (ytick_w, text_width (cr, p, 0.9, FALSE, label));
    }

  plot.x = MARGIN + ytick_w + 8;
  plot.y = MARGIN + th + 4 + sh + 10;
  plot.width = MAX (width - MARGIN - 8 - plot.x, 10);
  plot.height = MAX (height - MARGIN - th - 4 - sh - 4 - LATHE_CHART_TICK_LENGTH - plot.y, 10);
  if (plot_out)
    *plot_out = plot;

#define PX(w) (plot.x + ((w) - xmin) / (xmax - xmin) * plot.width)
#define PY(c) (plot.y + plot.height - (c) / ymax * plot.height)

  /* Legend. */
  {
    g_autofree char *legend = s ? lathe_chart_histogram_legend (s) : g_strdup (_("No layer selected"));
    double room = plot.width - text_width (cr, p, 1.0, TRUE, legend) - 16;

    draw_text (cr, p, &p->text, 1.0, TRUE, legend, plot.x, MARGIN, ALIGN_START, ALIGN_START);
    if (s != NULL && text_width (cr, p, 0.9, FALSE, s->layer) <= room)
      draw_text (cr, p, &p->dim_text, 0.9, FALSE, s->layer, plot.x + plot.width, MARGIN + (th - sh) / 2,
                 ALIGN_END, ALIGN_START);
  }
  if (s != NULL)
    {
      double x = plot.x, y = MARGIN + th + 4;
      legend_item (cr, p, &x, y, plot.x + plot.width, &p->bar, 4, _("Weights before compression"));
      if (s->n_levels > 0)
        {
          legend_item (cr, p, &x, y, plot.x + plot.width, &p->level, 6, s->palette ? _("Codebook entries") : _("Levels"));
          legend_item (cr, p, &x, y, plot.x + plot.width, &p->clip, 5, _("Clipping range"));
        }
      if (!isnan (s->threshold) && s->n_pruned > 0 && s->pattern == LATHE_PATTERN_UNSTRUCTURED)
        {
          LatheChartColor band = p->pruned;
          band.alpha = MIN (1, band.alpha * 2.5);   /* a small swatch needs more colour to read */
          legend_item (cr, p, &x, y, plot.x + plot.width, &band, 4, _("Pruned"));
        }
    }

  /* Grid. */
  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= ymax + 1e-9; v += ystep)
    grid_row (cr, p, &plot, PY (v), v, ystep);
  for (double v = ceil (xmin / xstep) * xstep; v <= xmax; v += xstep)
    {
      g_autofree char *label = format_step (v, xstep);
      draw_text (cr, p, &p->dim_text, 0.9, FALSE, label, PX (v),
                 plot.y + plot.height + LATHE_CHART_TICK_LENGTH + 4, ALIGN_CENTER, ALIGN_START);
    }
  draw_text (cr, p, &p->text, 1.0, FALSE, _("Weight value"), plot.x + plot.width / 2, height - MARGIN,
             ALIGN_CENTER, ALIGN_END);

  if (s == NULL)
    {
      set_color (cr, &p->axis);
      crisp_line (cr, plot.x, plot.y + plot.height, plot.x + plot.width, plot.y + plot.height);
      cairo_stroke (cr);
      cairo_restore (cr);
      return;
    }

  /* Bars. */
  for (guint b = 0; b < s->n_bins; b++)
    {
      double w0 = s->lo + (s->hi - s->lo) * b / s->n_bins;
      double w1 = s->lo + (s->hi - s->lo) * (b + 1) / s->n_bins;
      double x0 = PX (w0), x1 = PX (w1), y = PY ((double) s->counts[b]);
      double gap = x1 - x0 > 4 ? 1 : 0;

      if (hits)
        {
          LatheChartRect hit = { x0, plot.y, x1 - x0, plot.height };
          g_array_append_val (hits, hit);
        }
      if (s->counts[b] == 0)
        continue;
      set_color (cr, &p->bar);
      if ((int) b == hover)
        cairo_set_source_rgba (cr, p->front.red, p->front.green, p->front.blue, 1);
      cairo_rectangle (cr, x0 + gap / 2, y, MAX (x1 - x0 - gap, 0.5), plot.y + plot.height - y);
      cairo_fill (cr);
    }

  /* What pruning removed: |w| ≤ threshold. */
  if (!isnan (s->threshold) && s->n_pruned > 0 && s->pattern == LATHE_PATTERN_UNSTRUCTURED)
    {
      double x0 = PX (-s->threshold), x1 = PX (s->threshold);
      set_color (cr, &p->pruned);
      cairo_rectangle (cr, x0, plot.y, MAX (x1 - x0, 1), plot.height);
      cairo_fill (cr);
    }

  /* Levels: faint lines across, a tick each below the axis. */
  cairo_set_line_width (cr, 1);
  for (guint l = 0; l < s->n_levels; l++)
    {
      double x = PX (s->levels[l]);
      cairo_set_source_rgba (cr, p->level.red, p->level.green, p->level.blue, 0.3 * p->level.alpha);
      crisp_line (cr, x, plot.y, x, plot.y + plot.height);
      cairo_stroke (cr);
    }
  cairo_set_line_width (cr, 2);
  for (guint l = 0; l < s->n_levels; l++)
    {
      double x = round (PX (s->levels[l]));
      double a = s->level_counts[l] > 0 ? 1 : 0.4;
      cairo_set_source_rgba (cr, p->level.red, p->level.green, p->level.blue, a * p->level.alpha);
      cairo_move_to (cr, x, plot.y + plot.height + 1);
      cairo_line_to (cr, x, plot.y + plot.height + LATHE_CHART_TICK_LENGTH);
      cairo_stroke (cr);
    }

  /* The clipping range. */
  if (s->n_levels > 0)
    {
      static const double dash[] = { 4, 3 };
      cairo_save (cr);
      set_color (cr, &p->clip);
      cairo_set_line_width (cr, 1.5);
      cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
      crisp_line (cr, PX (s->clip_lo), plot.y, PX (s->clip_lo), plot.y + plot.height);
      crisp_line (cr, PX (s->clip_hi), plot.y, PX (s->clip_hi), plot.y + plot.height);
      cairo_stroke (cr);
      cairo_restore (cr);
    }

  set_color (cr, &p->axis);
  cairo_set_line_width (cr, 1);
  crisp_line (cr, plot.x, plot.y + plot.height, plot.x + plot.width, plot.y + plot.height);
  cairo_stroke (cr);

#undef PX
#undef PY
  cairo_restore (cr);
}

/* ---------------------------------------------------------------------- */
/* Size bars                                                               */

int
lathe_chart_size_bars_height (guint n_bars)
{
  return (int) (2 * MARGIN + 24 + MAX (n_bars, 1) * BAR_ROW + 22);
}

void
lathe_chart_draw_size_bars (cairo_t                 *cr,
                            int                      width,
                            int                      height,
                            const LatheChartPalette *p,
                            const LatheSizeBar      *bars,
                            guint                    n_bars,
                            int                      hover,
                            LatheChartRect          *plot_out,
                            GArray                  *hits)
{
  double th = text_height (cr, p, 1.0);
  double sh = text_height (cr, p, 0.9);
  double name_w = 0, value_w = 0, max_bytes = 1, row, xstep;
  guint64 total_before = 0, total_after = 0;
  LatheChartRect plot;

  g_return_if_fail (cr != NULL && p != NULL);
  g_return_if_fail (bars != NULL || n_bars == 0);

  hits_reset (hits);
  cairo_save (cr);
  fill_background (cr, width, height, p);

  for (guint i = 0; i < n_bars; i++)
    {
      g_autofree char *change = lathe_format_size_change (bars[i].original, bars[i].compressed);
      name_w = MAX (name_w, text_width (cr, p, 1.0, FALSE, bars[i].name));
      value_w = MAX (value_w, text_width (cr, p, 0.9, FALSE, change));
      max_bytes = MAX (max_bytes, MAX (bars[i].original, bars[i].compressed));
      total_before += bars[i].original;
      total_after += bars[i].compressed;
    }
  name_w = MIN (name_w, width / 3.0);

  plot.x = MARGIN + name_w + 10;
  plot.y = MARGIN + th + 10;
  plot.width = MAX (width - MARGIN - value_w - 10 - plot.x, 10);
  plot.height = MAX (height - MARGIN - sh - 6 - plot.y, 10);
  if (plot_out)
    *plot_out = plot;
  row = n_bars ? MIN (BAR_ROW, plot.height / n_bars) : BAR_ROW;

  /* Legend: the two colours, and the totals. */
  {
    double x = plot.x;
    g_autofree char *total = lathe_format_size_change (total_before, total_after);
    g_autofree char *label = g_strdup_printf (_("Total %s"), total);

    set_color (cr, &p->original);
    rounded (cr, x, MARGIN + th / 2 - 5, 10, 10, 2);
    cairo_fill (cr);
    draw_text (cr, p, &p->dim_text, 0.9, FALSE, _("Original"), x + 14, MARGIN + th / 2, ALIGN_START, ALIGN_CENTER);
    x += 14 + text_width (cr, p, 0.9, FALSE, _("Original")) + 14;
    set_color (cr, &p->compressed);
    rounded (cr, x, MARGIN + th / 2 - 5, 10, 10, 2);
    cairo_fill (cr);
    draw_text (cr, p, &p->dim_text, 0.9, FALSE, _("Compressed"), x + 14, MARGIN + th / 2, ALIGN_START, ALIGN_CENTER);
    if (n_bars > 0)
      draw_text (cr, p, &p->text, 1.0, TRUE, label, width - MARGIN, MARGIN, ALIGN_END, ALIGN_START);
  }

  /* Scale: grid lines and byte labels below. */
  xstep = MAX (nice_step (max_bytes, 4), 1);   /* whole bytes */
  max_bytes = MAX (max_bytes, xstep);
  cairo_set_line_width (cr, 1);
  for (double v = 0; v <= max_bytes * 1.0001; v += xstep)
    {
      double x = plot.x + v / max_bytes * plot.width;
      g_autofree char *label = format_bytes (v);
      set_color (cr, &p->grid);
      crisp_line (cr, x, plot.y, x, plot.y + n_bars * row);
      cairo_stroke (cr);
      draw_text (cr, p, &p->dim_text, 0.9, FALSE, label, x, plot.y + n_bars * row + 4, ALIGN_CENTER, ALIGN_START);
    }

  if (n_bars == 0)
    draw_text (cr, p, &p->dim_text, 1.0, FALSE, _("No layers"), plot.x + plot.width / 2, plot.y + plot.height / 2,
               ALIGN_CENTER, ALIGN_CENTER);

  for (guint i = 0; i < n_bars; i++)
    {
      double y = plot.y + i * row;
      double bar_h = MIN (row - 8, 16);
      double by = y + (row - bar_h) / 2;
      double w_orig = bars[i].original / max_bytes * plot.width;
      double w_comp = bars[i].compressed / max_bytes * plot.width;
      g_autofree char *change = lathe_format_size_change (bars[i].original, bars[i].compressed);

      if (hits)
        {
          LatheChartRect hit = { 0, y, width, row };
          g_array_append_val (hits, hit);
        }
      if ((int) i == hover)
        {
          set_color (cr, &p->grid);
          cairo_rectangle (cr, MARGIN / 2, y, width - MARGIN, row);
          cairo_fill (cr);
        }

      cairo_save (cr);
      cairo_rectangle (cr, MARGIN, y, name_w, row);
      cairo_clip (cr);
      draw_text (cr, p, &p->text, 1.0, FALSE, bars[i].name, plot.x - 10, y + row / 2, ALIGN_END, ALIGN_CENTER);
      cairo_restore (cr);

      set_color (cr, &p->original);
      rounded (cr, plot.x, by, MAX (w_orig, 2), bar_h, 3);
      cairo_fill (cr);
      set_color (cr, &p->compressed);
      rounded (cr, plot.x, by + 3, MAX (w_comp, 2), bar_h - 6, 2);
      cairo_fill (cr);

      draw_text (cr, p, &p->dim_text, 0.9, FALSE, change, width - MARGIN, y + row / 2, ALIGN_END, ALIGN_CENTER);
    }

  cairo_restore (cr);
}

/* ---------------------------------------------------------------------- */
/* Saving                                                                  */

static cairo_status_t
append_bytes (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
lathe_chart_save (GFile              *file,
                  LatheChartFormat    format,
                  int                 width,
                  int                 height,
                  LatheChartDrawFunc  draw,
                  gpointer            user_data,
                  GError            **error)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (width > 0 && height > 0 && draw != NULL, FALSE);

  if (format == LATHE_CHART_FORMAT_SVG)
    {
      surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
    }
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  draw (cr, width, height, user_data);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && format == LATHE_CHART_FORMAT_PNG)
    status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  cairo_surface_finish (surface);   /* an SVG surface writes its end here */
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_autofree char *name = g_file_get_parse_name (file);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not draw the chart for “%s”: %s"),
                   name, cairo_status_to_string (status));
      return FALSE;
    }
  return g_file_replace_contents (file, (const char *) bytes->data, bytes->len, NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL, NULL, error);
}

/* ---------------------------------------------------------------------- */
/* The helpers for other drawing files (lathe-chart-draw-private.h)        */

G_STATIC_ASSERT ((int) ALIGN_START == (int) LATHE_CHART_ALIGN_START &&
                 (int) ALIGN_CENTER == (int) LATHE_CHART_ALIGN_CENTER &&
                 (int) ALIGN_END == (int) LATHE_CHART_ALIGN_END);

void
_lathe_chart_set_color (cairo_t               *cr,
                        const LatheChartColor *color)
{
  set_color (cr, color);
}

void
_lathe_chart_fill_background (cairo_t                 *cr,
                              int                      width,
                              int                      height,
                              const LatheChartPalette *palette)
{
  fill_background (cr, width, height, palette);
}

void
_lathe_chart_draw_text (cairo_t                 *cr,
                        const LatheChartPalette *palette,
                        const LatheChartColor   *color,
                        double                   scale,
                        gboolean                 bold,
                        const char              *text,
                        double                   x,
                        double                   y,
                        LatheChartAlign          halign,
                        LatheChartAlign          valign)
{
  draw_text (cr, palette, color, scale, bold, text, x, y, (Align) halign, (Align) valign);
}

double
_lathe_chart_text_height (cairo_t                 *cr,
                          const LatheChartPalette *palette,
                          double                   scale)
{
  return text_height (cr, palette, scale);
}

double
_lathe_chart_text_width (cairo_t                 *cr,
                         const LatheChartPalette *palette,
                         double                   scale,
                         gboolean                 bold,
                         const char              *text)
{
  return text_width (cr, palette, scale, bold, text);
}

double
_lathe_chart_nice_step (double range,
                        int    target)
{
  return nice_step (range, target);
}

char *
_lathe_chart_format_step (double value,
                          double step)
{
  return format_step (value, step);
}

void
_lathe_chart_crisp_line (cairo_t *cr,
                         double   x0,
                         double   y0,
                         double   x1,
                         double   y1)
{
  crisp_line (cr, x0, y0, x1, y1);
}

void
_lathe_chart_legend_item (cairo_t                 *cr,
                          const LatheChartPalette *palette,
                          double                  *x,
                          double                   y,
                          double                   max_x,
                          const LatheChartColor   *color,
                          int                      kind,
                          const char              *label)
{
  legend_item (cr, palette, x, y, max_x, color, kind, label);
}
