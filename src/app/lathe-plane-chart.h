/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "lathe-chart-draw.h"

G_BEGIN_DECLS

#define LATHE_TYPE_PLANE_CHART (lathe_plane_chart_get_type ())
G_DECLARE_FINAL_TYPE (LathePlaneChart, lathe_plane_chart, LATHE, PLANE_CHART, GtkWidget)

/* Every configuration measured in the session as a point of packed size
 * against accuracy, the current one highlighted, the Pareto front drawn.
 * Clicking a point, or Enter on the one selected with the arrow keys,
 * emits "point-activated" (guint index) so the app can restore that plan.
 * The accessible description reads the figures out. */
LathePlaneChart       *lathe_plane_chart_new             (void);
/* Adds a point, or replaces the one with the same plan_id (the subset
 * figure gives way to the full set's); returns its index. */
guint                  lathe_plane_chart_add_point       (LathePlaneChart  *self,
                                                          guint             plan_id,
                                                          guint64           bytes,
                                                          double            accuracy,
                                                          double            lo,
                                                          double            hi,
                                                          gboolean          full_set);
/* A trained student's point: drawn as a diamond, said in the description. */
void                   lathe_plane_chart_set_trained     (LathePlaneChart  *self,
                                                          guint             index,
                                                          gboolean          trained);
void                   lathe_plane_chart_clear           (LathePlaneChart  *self);
guint                  lathe_plane_chart_get_n_points    (LathePlaneChart  *self);
const LathePlanePoint *lathe_plane_chart_get_point       (LathePlaneChart  *self,
                                                          guint             index);
/* The index of the point with this plan id, or -1. */
int                    lathe_plane_chart_find_plan       (LathePlaneChart  *self,
                                                          guint             plan_id);
/* The highlighted point (the plan in the editor), or -1. */
void                   lathe_plane_chart_set_current     (LathePlaneChart  *self,
                                                          int               index);
int                    lathe_plane_chart_get_current     (LathePlaneChart  *self);
/* The keyboard selection, or -1. */
void                   lathe_plane_chart_set_selected    (LathePlaneChart  *self,
                                                          int               index);
int                    lathe_plane_chart_get_selected    (LathePlaneChart  *self);
/* What the accessible description says. */
const char            *lathe_plane_chart_get_description (LathePlaneChart  *self);
gboolean               lathe_plane_chart_save            (LathePlaneChart  *self,
                                                          GFile            *file,
                                                          LatheChartFormat  format,
                                                          GError          **error);

G_END_DECLS
