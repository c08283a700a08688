/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "lathe-chart-draw.h"

G_BEGIN_DECLS

#define LATHE_TYPE_HISTOGRAM_CHART (lathe_histogram_chart_get_type ())
G_DECLARE_FINAL_TYPE (LatheHistogramChart, lathe_histogram_chart, LATHE, HISTOGRAM_CHART, GtkWidget)

/* The weight histogram of one layer with its quantization levels as
 * ticks, the clipping range and the pruned band (see
 * lathe_chart_draw_histogram()); hovering a bar tells its range and
 * count. The accessible description reads the figures out. */
LatheHistogramChart      *lathe_histogram_chart_new             (void);
/* Takes ownership of `summary` (nullable: nothing to show). */
void                      lathe_histogram_chart_set_summary     (LatheHistogramChart *self,
                                                                 LatheWeightSummary  *summary);
const LatheWeightSummary *lathe_histogram_chart_get_summary     (LatheHistogramChart *self);
const char               *lathe_histogram_chart_get_description (LatheHistogramChart *self);
gboolean                  lathe_histogram_chart_save            (LatheHistogramChart *self,
                                                                 GFile               *file,
                                                                 LatheChartFormat     format,
                                                                 GError             **error);

G_END_DECLS
