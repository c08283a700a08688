/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-compare-pane.h"
#include "lathe-heatmap.h"

G_BEGIN_DECLS

/* For tests: what a person reads. */
/* "empty" or "compare" */
const char     *_lathe_compare_pane_get_page          (LatheComparePane *self);
/* NULL while the notice is hidden. */
const char     *_lathe_compare_pane_get_notice        (LatheComparePane *self);
/* The header's cells: rows "size", "accuracy", "macs"; columns 0 pinned,
 * 1 current, 2 change. */
GtkLabel       *_lathe_compare_pane_get_header_label  (LatheComparePane *self,
                                                       const char       *row,
                                                       guint             column);
/* Rows after the heading: layer, bits, sparsity, width, granularity. */
GtkGrid        *_lathe_compare_pane_get_layer_grid    (LatheComparePane *self);
/* Rows after the heading: class, pinned, current, change. */
GtkGrid        *_lathe_compare_pane_get_class_grid    (LatheComparePane *self);
GtkWidget      *_lathe_compare_pane_get_heatmap       (LatheComparePane *self);
/* current − pinned confusion counts (n × n) as drawn, or NULL. */
const gint64   *_lathe_compare_pane_get_delta         (LatheComparePane *self,
                                                       guint            *n);
/* The style the heatmap draws with now (light or dark). */
void            _lathe_compare_pane_get_style         (LatheComparePane *self,
                                                       LatheHeatmapStyle *style);

G_END_DECLS
