/* SPDX-License-Identifier: MIT */
#pragma once

#include <cairo.h>
#include <gio/gio.h>

#include "compress/lathe-weight-summary.h"

G_BEGIN_DECLS

/* The charts' drawing maths: plain functions on a cairo_t, so a test can
 * render them to an image surface without a display. The widgets
 * (LathePlaneChart, LatheHistogramChart, LatheSizeChart) own hover,
 * selection and accessibility, and draw through these. Text goes through
 * pango-cairo in the palette's font. */

typedef struct {
  double red, green, blue, alpha;
} LatheChartColor;

/* Colours of one style, from the GNOME palette. */
typedef struct {
  LatheChartColor background;
  LatheChartColor text;         /* labels, legend */
  LatheChartColor dim_text;     /* tick labels */
  LatheChartColor grid;
  LatheChartColor axis;
  LatheChartColor point;        /* measured configurations */
  LatheChartColor front;        /* the Pareto front and its points */
  LatheChartColor current;      /* the configuration in the editor */
  LatheChartColor focus;        /* the keyboard selection */
  LatheChartColor bar;          /* histogram bars */
  LatheChartColor level;        /* quantization level ticks */
  LatheChartColor clip;         /* the clipping range */
  LatheChartColor pruned;       /* the pruned band */
  LatheChartColor original;     /* size before */
  LatheChartColor compressed;   /* size after */
  char           *font;         /* a Pango font description, or NULL for "Sans 9" */
} LatheChartPalette;

void lathe_chart_palette_init  (LatheChartPalette *palette,
                                gboolean           dark,
                                gboolean           high_contrast);
void lathe_chart_palette_clear (LatheChartPalette *palette);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (LatheChartPalette, lathe_chart_palette_clear)

typedef struct {
  double x, y, width, height;
} LatheChartRect;

/* Length of the level ticks below a histogram's plot area. */
#define LATHE_CHART_TICK_LENGTH 8.0

/* --- Size–accuracy plane ------------------------------------------------ */

typedef struct {
  guint    plan_id;
  guint64  bytes;        /* packed size */
  double   accuracy;     /* 0 … 1 */
  double   lo, hi;       /* its 95 % interval */
  gboolean full_set;     /* measured on the whole evaluation set */
  gboolean trained;      /* a trained student's figures (drawn as a diamond) */
} LathePlanePoint;

/* Indices (guint) of the points no other point dominates — none is at most
 * as large and at least as accurate, and better in one of the two — in
 * ascending size (then accuracy). */
GArray *lathe_chart_pareto_front (const LathePlanePoint *points,
                                  guint                  n_points);

/* x: packed size on a log scale; y: accuracy in %, with each point's
 * interval as a whisker; the front as a step line. `current`, `selected`
 * (drawn with a focus ring when `focused`) and `hover` are indices or -1.
 * `plot` (nullable) receives the plot area; `hits` (nullable, of
 * LatheChartRect) one square per point, in point order. */
void lathe_chart_draw_plane (cairo_t                 *cr,
                             int                      width,
                             int                      height,
                             const LatheChartPalette *palette,
                             const LathePlanePoint   *points,
                             guint                    n_points,
                             int                      current,
                             int                      selected,
                             gboolean                 focused,
                             int                      hover,
                             LatheChartRect          *plot,
                             GArray                  *hits);

/* --- Weight histogram --------------------------------------------------- */

/* "3 bits · 7 levels · 50 % pruned below |w| = 0.031", for the legend. */
char *lathe_chart_histogram_legend (const LatheWeightSummary *summary);

/* Bars of the summary's histogram; its levels as ticks below the axis (a
 * tick per level, LATHE_CHART_TICK_LENGTH long, dimmer when no weight sits
 * on it) and faint lines across; the clipping range as dashed lines; the
 * band |w| ≤ threshold shaded (unstructured pruning). A NULL summary draws
 * an empty frame with a note. `hits` (nullable) receives one rectangle per
 * bin. */
void lathe_chart_draw_histogram (cairo_t                  *cr,
                                 int                       width,
                                 int                       height,
                                 const LatheChartPalette  *palette,
                                 const LatheWeightSummary *summary,
                                 int                       hover,
                                 LatheChartRect           *plot,
                                 GArray                   *hits);

/* --- Per-layer sizes ---------------------------------------------------- */

typedef struct {
  char    *name;
  guint64  original;
  guint64  compressed;
} LatheSizeBar;

/* Rows of horizontal bars, one per layer: the original size as a light
 * bar, the compressed size as a solid bar over it, the name on the left
 * and "940.8 kB → 117.6 kB" on the right; one linear byte scale. `hits`
 * (nullable) receives each row's rectangle. */
void lathe_chart_draw_size_bars (cairo_t                 *cr,
                                 int                      width,
                                 int                      height,
                                 const LatheChartPalette *palette,
                                 const LatheSizeBar      *bars,
                                 guint                    n_bars,
                                 int                      hover,
                                 LatheChartRect          *plot,
                                 GArray                  *hits);
/* The height the bars want for n rows. */
int  lathe_chart_size_bars_height (guint n_bars);

/* --- Saving ------------------------------------------------------------- */

typedef enum {
  LATHE_CHART_FORMAT_PNG,
  LATHE_CHART_FORMAT_SVG,
} LatheChartFormat;

typedef void (*LatheChartDrawFunc) (cairo_t  *cr,
                                    int       width,
                                    int       height,
                                    gpointer  user_data);

/* Draws through `draw` into a PNG image or an SVG document of width ×
 * height and replaces `file` with it atomically (g_file_replace_contents).
 * Errors are GIO's, or G_IO_ERROR_FAILED naming the file when cairo
 * fails. */
gboolean lathe_chart_save (GFile              *file,
                           LatheChartFormat    format,
                           int                 width,
                           int                 height,
                           LatheChartDrawFunc  draw,
                           gpointer            user_data,
                           GError            **error);

G_END_DECLS
