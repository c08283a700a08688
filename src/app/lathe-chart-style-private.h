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
/* Draws through `draw` into the snapshot, over the widget's allocation. */
void      _lathe_chart_snapshot      (GtkWidget          *widget,
                                      GtkSnapshot        *snapshot,
                                      LatheChartDrawFunc  draw);
/* Saves what `draw` draws at the widget's size (or width × height when it
 * has none yet). */
gboolean  _lathe_chart_save          (GtkWidget          *widget,
                                      GFile              *file,
                                      LatheChartFormat    format,
                                      int                 width,
                                      int                 height,
                                      LatheChartDrawFunc  draw,
                                      GError            **error);
/* The index of the first hit rectangle containing (x, y), or -1. */
int       _lathe_chart_hit           (GArray            *hits,
                                      double             x,
                                      double             y);

G_END_DECLS
