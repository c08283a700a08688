/* SPDX-License-Identifier: MIT */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

/* The drawing of a confusion matrix's change between two plans: plain
 * cairo (and Pango for text), no GTK, so a test can render it into an
 * image surface without a display.
 *
 * A cell holds current − pinned samples of label `row` predicted as `col`.
 * Its colour says whether the change is for the better — more correct
 * answers on the diagonal, fewer confusions off it — or for the worse,
 * diverging from a neutral tone by the size of the change; its text is the
 * signed count. */

typedef enum {
  LATHE_HEATMAP_NEUTRAL,   /* no change */
  LATHE_HEATMAP_BETTER,
  LATHE_HEATMAP_WORSE,
} LatheHeatmapTone;

typedef struct {
  double      better[3];   /* full-strength colours, RGB 0 … 1 */
  double      worse[3];
  double      neutral[3];  /* an unchanged cell */
  double      grid[4];     /* RGBA */
  double      text[4];     /* labels and numbers on light cells */
  double      text_strong[4]; /* numbers on full-strength cells */
  const char *font;        /* a Pango font description, e.g. "Cantarell 9" */
} LatheHeatmapStyle;

/* Where the cells ended up: cell (r, c) spans
 * [x0 + c·cell, x0 + (c+1)·cell) × [y0 + r·cell, y0 + (r+1)·cell). */
typedef struct {
  double x0, y0;
  double cell;
} LatheHeatmapGeometry;

/* Adwaita's blue and red, for a light or a dark background. */
void              lathe_heatmap_style_init  (LatheHeatmapStyle *style,
                                             gboolean           dark);
/* current − pinned per cell, n × n, row = label. */
gint64           *lathe_heatmap_delta       (const guint64     *pinned,
                                             const guint64     *current,
                                             guint              n);
LatheHeatmapTone  lathe_heatmap_tone        (guint              row,
                                             guint              col,
                                             gint64             delta);
/* The fill of a cell: neutral mixed toward the tone's colour by
 * sqrt(|delta| / max_abs), so that small changes still show. */
void              lathe_heatmap_cell_color  (const LatheHeatmapStyle *style,
                                             guint              row,
                                             guint              col,
                                             gint64             delta,
                                             gint64             max_abs,
                                             double             rgb[3]);
/* Draws the n × n cells with the class numbers along the top and
 * "k  name" down the left, fitted into width × height. `names` may be NULL
 * (then "Class k"). Fills *geometry when not NULL. */
void              lathe_heatmap_draw        (cairo_t           *cr,
                                             double             width,
                                             double             height,
                                             guint              n,
                                             const gint64      *delta,
                                             const char * const *names,
                                             const LatheHeatmapStyle *style,
                                             LatheHeatmapGeometry *geometry);
/* A sentence listing the `max_items` largest changes, for the chart's
 * accessible description: "Largest changes from the pinned plan: Shirt
 * taken for T-shirt/top, 12 more (worse); …". Translated. */
char             *lathe_heatmap_describe    (guint              n,
                                             const gint64      *delta,
                                             const char * const *names,
                                             guint              max_items);
/* The name of class k: names[k] when given, else "Class k". */
char             *lathe_class_name          (const char * const *names,
                                             guint              k);

G_END_DECLS
