/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "compress/lathe-apply.h"
#include "lathe-chart-draw.h"

G_BEGIN_DECLS

#define LATHE_TYPE_SIZE_CHART (lathe_size_chart_get_type ())
G_DECLARE_FINAL_TYPE (LatheSizeChart, lathe_size_chart, LATHE, SIZE_CHART, GtkWidget)

/* Per-layer sizes, original against compressed, as horizontal bars (see
 * lathe_chart_draw_size_bars()); hovering a row tells its figures. The
 * accessible description reads them out. */
LatheSizeChart *lathe_size_chart_new             (void);
/* Copies `bars`. */
void            lathe_size_chart_set_bars        (LatheSizeChart     *self,
                                                  const LatheSizeBar *bars,
                                                  guint               n_bars);
/* One bar per layer result of `applied` (original_bytes, packed_bytes);
 * NULL clears. */
void            lathe_size_chart_set_applied     (LatheSizeChart     *self,
                                                  const LatheApplied *applied);
guint           lathe_size_chart_get_n_bars      (LatheSizeChart     *self);
const char     *lathe_size_chart_get_description (LatheSizeChart     *self);
gboolean        lathe_size_chart_save            (LatheSizeChart     *self,
                                                  GFile              *file,
                                                  LatheChartFormat    format,
                                                  GError            **error);

G_END_DECLS
