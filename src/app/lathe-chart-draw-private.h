/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-chart-draw.h"

G_BEGIN_DECLS

/* The drawing helpers of lathe-chart-draw.c, for the charts drawn in
 * files of their own (lathe-training-draw.c): one look for all. */

typedef enum {
  LATHE_CHART_ALIGN_START,
  LATHE_CHART_ALIGN_CENTER,
  LATHE_CHART_ALIGN_END,
} LatheChartAlign;

void    _lathe_chart_set_color       (cairo_t                 *cr,
                                      const LatheChartColor   *color);
void    _lathe_chart_fill_background (cairo_t                 *cr,
                                      int                      width,
                                      int                      height,
                                      const LatheChartPalette *palette);
/* Text with its box aligned at (x, y); scale is relative to the palette's
 * font. */
void    _lathe_chart_draw_text       (cairo_t                 *cr,
                                      const LatheChartPalette *palette,
                                      const LatheChartColor   *color,
                                      double                   scale,
                                      gboolean                 bold,
                                      const char              *text,
                                      double                   x,
                                      double                   y,
                                      LatheChartAlign          halign,
                                      LatheChartAlign          valign);
double  _lathe_chart_text_height     (cairo_t                 *cr,
                                      const LatheChartPalette *palette,
                                      double                   scale);
double  _lathe_chart_text_width      (cairo_t                 *cr,
                                      const LatheChartPalette *palette,
                                      double                   scale,
                                      gboolean                 bold,
                                      const char              *text);
/* 1, 2 or 5 × 10^k, about range / target. */
double  _lathe_chart_nice_step       (double                   range,
                                      int                      target);
/* A number with as many decimals as the step between ticks needs. */
char   *_lathe_chart_format_step     (double                   value,
                                      double                   step);
/* A path segment; axis-aligned ones land on pixel centres. */
void    _lathe_chart_crisp_line      (cairo_t                 *cr,
                                      double                   x0,
                                      double                   y0,
                                      double                   x1,
                                      double                   y1);
/* A legend swatch (0 dot, 1 big dot, 2 line, 3 ring, 4 square, 5 dashed
 * rule, 6 tick) and its label at (*x, y), advancing *x; nothing past
 * max_x. */
void    _lathe_chart_legend_item     (cairo_t                 *cr,
                                      const LatheChartPalette *palette,
                                      double                  *x,
                                      double                   y,
                                      double                   max_x,
                                      const LatheChartColor   *color,
                                      int                      kind,
                                      const char              *label);

G_END_DECLS
