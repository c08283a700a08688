/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-plane-chart.h"

G_BEGIN_DECLS

/* For tests: where the last draw put point `index` (widget coordinates),
 * and what a primary click at (x, y) does. */
gboolean _lathe_plane_chart_get_point_position (LathePlaneChart *self,
                                                guint            index,
                                                double          *x,
                                                double          *y);
void     _lathe_plane_chart_press              (LathePlaneChart *self,
                                                double           x,
                                                double           y);

G_END_DECLS
