/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "lathe-chart-draw.h"

G_BEGIN_DECLS

/* What the chart widgets share: the palette of the style in force (light
 * or dark, high contrast) with the widget's font, a redraw whenever that
 * style changes, and the snapshot/save plumbing. */

void      _lathe_chart_style_init    (GtkWidget         *widget,
                                      LatheChartPalette *palette);
/* Queues a redraw of `widget` when AdwStyleManager's dark or high-contrast
 * changes, for as long as the widget lives. */
void      _lathe_chart_style_watch   (GtkWidget         *widget);
/* Paints the chart in `palette`; `live` is the on-screen picture (with
 * hover, focus and the hit rectangles it records), otherwise the saved
 * image, which has none of these. */
typedef void (*LatheChartPaintFunc) (GtkWidget               *widget,
                                     cairo_t                 *cr,
                                     int                      width,
                                     int                      height,
                                     const LatheChartPalette *palette,
                                     gboolean                 live);
/* Paints `widget` live into the snapshot, over its allocation. */
void      _lathe_chart_snapshot      (GtkWidget           *widget,
                                      GtkSnapshot         *snapshot,
                                      LatheChartPaintFunc  paint);
/* Saves what `paint` paints (not live) at the widget's size (or width ×
 * height when it has none yet). */
gboolean  _lathe_chart_save          (GtkWidget           *widget,
                                      GFile               *file,
                                      LatheChartFormat     format,
                                      int                  width,
                                      int                  height,
                                      LatheChartPaintFunc  paint,
                                      GError             **error);

/* Which part of a chart the pointer is over (an index into `hits`), or -1. */
typedef int (*LatheChartHitFunc) (GArray *hits,
                                  double  x,
                                  double  y);

/* What a chart keeps to highlight the part under the pointer. */
typedef struct {
  GArray            *hits;    /* LatheChartRect per part, from the last live paint */
  int                hover;   /* index into hits, or -1 */
  LatheChartHitFunc  hit;
} LatheChartHover;

/* Sets up what every chart widget does: `hover` kept up to date by a motion
 * controller (with `hit`, or _lathe_chart_hit when NULL), tooltips from
 * `query_tooltip`, and a redraw when the style changes. */
void      _lathe_chart_init          (GtkWidget           *widget,
                                      LatheChartHover     *hover,
                                      LatheChartHitFunc    hit,
                                      GCallback            query_tooltip);
/* Forgets the hover and the hit rectangles, when what is drawn changes. */
void      _lathe_chart_hover_reset   (LatheChartHover     *hover);
void      _lathe_chart_hover_clear   (LatheChartHover     *hover);
/* Takes `out` as the widget's description, stored in `*description` and
 * told to assistive technologies. */
void      _lathe_chart_set_description (GtkWidget        *widget,
                                        char            **description,
                                        GString          *out);
/* The index of the first hit rectangle containing (x, y), or -1. */
int       _lathe_chart_hit           (GArray            *hits,
                                      double             x,
                                      double             y);

G_END_DECLS
