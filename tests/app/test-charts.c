/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* The three charts: the pure-cairo drawing rendered to image surfaces and
 * read back by pixels (level ticks, the pruned band, the highlighted point,
 * the bars, the dark style), the Pareto front, and the widgets' accessible
 * descriptions, keyboard selection and saving. The histogram draws real
 * weights of the sample MLP.
 *
 * With LATHE_TEST_CHART_DIR set, every render is also written there as PNG
 * for a person to look at. */

#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "compress/lathe-weight-summary.h"
#include "onnx/lathe-model.h"
#include "lathe-app-format.h"
#include "lathe-chart-draw.h"
#include "lathe-histogram-chart.h"
#include "lathe-plane-chart-private.h"
#include "lathe-size-chart.h"
#include "../lathe-test-util.h"
#include "chart-test-util.h"

#define W 640
#define H 360
/* Antialiasing and pango's subpixel placement blur colours by a few
 * levels; a mark's colour must be within this many (of 255) per channel. */
#define COLOR_TOL 6

/* ---------------------------------------------------------------------- */

static LatheModel *mlp;
static GPtrArray  *mlp_layers;

static void
load_mlp (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GError) error = NULL;

  if (mlp != NULL)
    return;
  mlp = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  mlp_layers = lathe_find_layers (lathe_model_get_graph (mlp), &error);
  g_assert_no_error (error);
}

static LatheWeightSummary *summary_with (const char       *layer,
                                         int               bits,
                                         double            sparsity,
                                         LatheGranularity  granularity,
                                         const char       *quantizer);

/* The summary of `layer` under a uniform per-tensor plan. */
static LatheWeightSummary *
summary_for (const char *layer,
             int         bits,
             double      sparsity)
{
  return summary_with (layer, bits, sparsity, LATHE_GRANULARITY_TENSOR, "uniform");
}

static LatheWeightSummary *
summary_with (const char       *layer,
              int               bits,
              double            sparsity,
              LatheGranularity  granularity,
              const char       *quantizer)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) applied = NULL;
  g_autoptr(GError) error = NULL;
  LatheWeightSummary *s;

  load_mlp ();
  plan->defaults.bits = bits;
  plan->defaults.sparsity = sparsity;
  plan->defaults.granularity = granularity;
  g_free (plan->defaults.quantizer);
  plan->defaults.quantizer = g_strdup (quantizer);
  applied = lathe_apply_plan (lathe_model_get_graph (mlp), mlp_layers, plan, &error);
  g_assert_no_error (error);
  s = lathe_weight_summary_new (lathe_model_get_graph (mlp), mlp_layers, plan, NULL, applied, layer,
                                LATHE_WEIGHT_SUMMARY_BINS_DEFAULT, -1, &error);
  g_assert_no_error (error);
  return s;
}

static cairo_surface_t *
new_surface (int width,
             int height)
{
  return cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
}

/* Under LATHE_TEST_CHART_DIR, what a widget saves (its own font and style). */
static void
maybe_save (GtkWidget  *widget,
            const char *name)
{
  const char *dir = g_getenv ("LATHE_TEST_CHART_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  if (dir == NULL)
    return;
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, name, NULL);
  file = g_file_new_for_path (path);
  if (LATHE_IS_PLANE_CHART (widget))
    lathe_plane_chart_save (LATHE_PLANE_CHART (widget), file, LATHE_CHART_FORMAT_PNG, &error);
  else if (LATHE_IS_HISTOGRAM_CHART (widget))
    lathe_histogram_chart_save (LATHE_HISTOGRAM_CHART (widget), file, LATHE_CHART_FORMAT_PNG, &error);
  else
    lathe_size_chart_save (LATHE_SIZE_CHART (widget), file, LATHE_CHART_FORMAT_PNG, &error);
  g_assert_no_error (error);
}

/* ---------------------------------------------------------------------- */
/* Pareto front                                                            */

static void
test_pareto_front (void)
{
  const LathePlanePoint points[] = {
    { 0, 100, 0.80, 0.78, 0.82, TRUE },   /* front */
    { 1, 200, 0.85, 0.83, 0.87, TRUE },   /* front */
    { 2, 150, 0.79, 0.77, 0.81, TRUE },   /* beaten by 0: larger and less accurate */
    { 3, 300, 0.85, 0.83, 0.87, TRUE },   /* beaten by 1: larger, as accurate */
    { 4, 50, 0.70, 0.68, 0.72, FALSE },   /* front: the smallest */
    { 5, 200, 0.85, 0.83, 0.87, TRUE },   /* a twin of 1: neither beats the other */
    { 6, 100, 0.75, 0.73, 0.77, TRUE },   /* beaten by 0: as small, less accurate */
  };
  g_autoptr(GArray) front = lathe_chart_pareto_front (points, G_N_ELEMENTS (points));
  const guint expected[] = { 4, 0, 1, 5 };
  g_autoptr(GArray) none = lathe_chart_pareto_front (NULL, 0);

  g_assert_cmpuint (front->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < front->len; i++)
    g_assert_cmpuint (g_array_index (front, guint, i), ==, expected[i]);
  g_assert_cmpuint (none->len, ==, 0);
}

/* ---------------------------------------------------------------------- */
/* Histogram                                                               */

static cairo_surface_t *
render_histogram (const LatheWeightSummary *s,
                  gboolean                  dark,
                  LatheChartRect           *plot,
                  const char               *name)
{
  cairo_surface_t *surface = new_surface (W, H);
  cairo_t *cr = cairo_create (surface);
  g_auto(LatheChartPalette) palette = { 0 };
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));

  lathe_chart_palette_init (&palette, dark, FALSE);
  lathe_chart_draw_histogram (cr, W, H, &palette, s, -1, plot, hits);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  if (s != NULL)
    g_assert_cmpuint (hits->len, ==, s->n_bins);
  maybe_write (surface, name);
  return surface;
}

/* Runs of level-coloured pixels along the tick row below the axis. */
static guint
count_ticks (cairo_surface_t      *surface,
             const LatheChartRect *plot)
{
  g_auto(LatheChartPalette) palette = { 0 };
  int y = (int) (plot->y + plot->height + LATHE_CHART_TICK_LENGTH / 2);
  Pixel tick;
  gboolean in = FALSE;
  guint runs = 0;

  lathe_chart_palette_init (&palette, FALSE, FALSE);
  tick = over (&palette.level, &palette.background);
  for (int x = 0; x < W; x++)
    {
      gboolean hit = near (pixel (surface, x, y), tick, 40);
      runs += hit && !in;
      in = hit;
    }
  return runs;
}

static void
test_histogram_ticks (void)
{
  g_autoptr(LatheWeightSummary) two = summary_for ("fc2.weight", 2, 0);
  g_autoptr(LatheWeightSummary) three = summary_for ("fc2.weight", 3, 0);
  g_autoptr(LatheWeightSummary) fp32 = summary_for ("fc2.weight", 32, 0);
  const struct {
    LatheWeightSummary *summary;
    const char         *png;
    guint               ticks;
  } cases[] = {
    { two, "histogram-2bit.png", 3 },
    { three, "histogram-3bit.png", 7 },
    { fp32, "histogram-fp32.png", 0 },
  };

  g_assert_cmpuint (two->n_levels, ==, 3);
  g_assert_cmpuint (three->n_levels, ==, 7);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      LatheChartRect plot;
      cairo_surface_t *surface = render_histogram (cases[i].summary, FALSE, &plot, cases[i].png);

      g_assert_cmpuint (count_ticks (surface, &plot), ==, cases[i].ticks);
      cairo_surface_destroy (surface);
    }
}

/* The widest run of pruned-band pixels just under the plot's top edge,
 * above the bars: [*x0, *x1]. Faint level lines cross it; gaps of a few
 * pixels do not end a run. */
static int
band_extent (cairo_surface_t      *surface,
             const LatheChartRect *plot,
             int                  *x0,
             int                  *x1)
{
  int y = (int) plot->y + 3;
  int best = 0, start = -1, last = -1;

  *x0 = *x1 = -1;
  for (int x = (int) plot->x + 2; x < (int) (plot->x + plot->width) - 2; x++)
    {
      Pixel p = pixel (surface, x, y);
      /* pink: red over the background, unlike the orange clip lines */
      gboolean red = p.r > p.g + 12 && abs (p.g - p.b) < 20;
      if (!red)
        continue;
      if (start < 0 || x - last > 3)
        start = x;
      last = x;
      if (last - start + 1 > best)
        best = last - start + 1, *x0 = start, *x1 = last;
    }
  return best;
}

static void
test_histogram_band (void)
{
  g_autoptr(LatheWeightSummary) none = summary_for ("fc1.weight", 4, 0);
  g_autoptr(LatheWeightSummary) quarter = summary_for ("fc1.weight", 4, 0.25);
  g_autoptr(LatheWeightSummary) half = summary_for ("fc1.weight", 4, 0.5);
  LatheChartRect plot_q, plot_h, plot_n;
  cairo_surface_t *sq, *sh, *sn;
  int q0, q1, h0, h1, n0, n1;
  double expected;

  sn = render_histogram (none, FALSE, &plot_n, "histogram-4bit-dense.png");
  sq = render_histogram (quarter, FALSE, &plot_q, "histogram-4bit-25.png");
  sh = render_histogram (half, FALSE, &plot_h, "histogram-4bit-50.png");
  /* same weights, same clipping range: same axes */
  g_assert_cmpfloat (half->threshold, >, quarter->threshold);

  g_assert_cmpint (band_extent (sn, &plot_n, &n0, &n1), ==, 0);
  g_assert_cmpint (band_extent (sq, &plot_q, &q0, &q1), >, 2);
  g_assert_cmpint (band_extent (sh, &plot_h, &h0, &h1), >, 2);
  /* more sparsity: the band reaches further out on both sides */
  g_assert_cmpint (h1, >, q1);
  g_assert_cmpint (h0, <, q0);
  /* and its width grows with the threshold */
  expected = (double) (q1 - q0) * half->threshold / quarter->threshold;
  g_assert_cmpfloat (fabs ((h1 - h0) - expected), <=, 3);

  cairo_surface_destroy (sn);
  cairo_surface_destroy (sq);
  cairo_surface_destroy (sh);
}

static void
test_histogram_legend (void)
{
  g_autoptr(LatheWeightSummary) s = summary_for ("fc1.weight", 3, 0.5);
  g_autoptr(LatheWeightSummary) f = summary_for ("fc1.weight", 32, 0);
  g_autofree char *legend = lathe_chart_histogram_legend (s);
  g_autofree char *fp = lathe_chart_histogram_legend (f);
  g_autofree char *cut = g_strdup_printf ("%.3g", s->threshold);

  g_assert_nonnull (strstr (legend, "3 bits"));
  g_assert_nonnull (strstr (legend, "7 levels"));
  g_assert_nonnull (strstr (legend, "50\u00a0% pruned below |w| = "));
  g_assert_nonnull (strstr (legend, cut));
  g_assert_nonnull (strstr (fp, "float32"));
  g_assert_null (strstr (fp, "pruned"));

  /* per channel: which unit's levels; a palette: codebook entries */
  {
    g_autoptr(LatheWeightSummary) ch = summary_with ("fc2.weight", 4, 0.3, LATHE_GRANULARITY_CHANNEL, "uniform");
    g_autoptr(LatheWeightSummary) pal = summary_with ("fc2.weight", 3, 0, LATHE_GRANULARITY_TENSOR, "palette");
    g_autofree char *ch_legend = lathe_chart_histogram_legend (ch);
    g_autofree char *pal_legend = lathe_chart_histogram_legend (pal);
    g_autofree char *unit = g_strdup_printf ("15 levels of unit %zu", ch->scope_row);
    LatheChartRect plot;

    g_assert_nonnull (strstr (ch_legend, unit));
    g_assert_nonnull (strstr (pal_legend, "8 codebook entries"));
    cairo_surface_destroy (render_histogram (ch, FALSE, &plot, "histogram-channel.png"));
    cairo_surface_destroy (render_histogram (pal, FALSE, &plot, "histogram-palette.png"));
  }
}

/* ---------------------------------------------------------------------- */
/* Plane                                                                   */

static const LathePlanePoint plane_points[] = {
  { 1, 247176, 0.8951, 0.8890, 0.9010, TRUE },
  { 2, 64000, 0.8930, 0.8868, 0.8989, TRUE },
  { 3, 33000, 0.8702, 0.8635, 0.8766, TRUE },
  { 4, 24900, 0.7960, 0.7880, 0.8038, TRUE },
  { 5, 40000, 0.8500, 0.8290, 0.8690, FALSE },
  { 6, 18000, 0.5200, 0.4890, 0.5508, TRUE },
};

static cairo_surface_t *
render_plane_full (int         current,
                   int         selected,
                   gboolean    focused,
                   int         hover,
                   gboolean    dark,
                   GArray     *hits,
                   const char *name)
{
  cairo_surface_t *surface = new_surface (W, H);
  cairo_t *cr = cairo_create (surface);
  g_auto(LatheChartPalette) palette = { 0 };

  lathe_chart_palette_init (&palette, dark, FALSE);
  lathe_chart_draw_plane (cr, W, H, &palette, plane_points, G_N_ELEMENTS (plane_points), current,
                          selected, focused, hover, NULL, hits);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  maybe_write (surface, name);
  return surface;
}

static cairo_surface_t *
render_plane (int             current,
              gboolean        dark,
              GArray         *hits,
              const char     *name)
{
  return render_plane_full (current, -1, FALSE, -1, dark, hits, name);
}

static Pixel
centre_pixel (cairo_surface_t *surface,
              GArray          *hits,
              guint            i)
{
  const LatheChartRect *r = &g_array_index (hits, LatheChartRect, i);
  return pixel (surface, (int) floor (r->x + r->width / 2), (int) floor (r->y + r->height / 2));
}

static void
test_plane_highlight (void)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  g_auto(LatheChartPalette) light = { 0 };
  g_auto(LatheChartPalette) dark = { 0 };
  cairo_surface_t *surface;
  Pixel current, front;

  lathe_chart_palette_init (&light, FALSE, FALSE);
  lathe_chart_palette_init (&dark, TRUE, FALSE);

  surface = render_plane (3, FALSE, hits, "plane-light.png");
  g_assert_cmpuint (hits->len, ==, G_N_ELEMENTS (plane_points));
  current = over (&light.current, &light.background);
  front = over (&light.front, &light.background);
  g_assert_true (near (centre_pixel (surface, hits, 3), current, COLOR_TOL));
  /* a front point, not current, is in the front's colour */
  g_assert_true (near (centre_pixel (surface, hits, 2), front, COLOR_TOL));
  /* bigger is to the right, more accurate higher up */
  g_assert_cmpfloat (g_array_index (hits, LatheChartRect, 0).x, >, g_array_index (hits, LatheChartRect, 1).x);
  g_assert_cmpfloat (g_array_index (hits, LatheChartRect, 0).y, <, g_array_index (hits, LatheChartRect, 3).y);
  cairo_surface_destroy (surface);

  /* the highlight follows the current point */
  surface = render_plane (2, FALSE, hits, "plane-light-2.png");
  g_assert_true (near (centre_pixel (surface, hits, 2), current, COLOR_TOL));
  g_assert_false (near (centre_pixel (surface, hits, 3), current, COLOR_TOL));
  cairo_surface_destroy (surface);

  surface = render_plane (3, TRUE, hits, "plane-dark.png");
  g_assert_true (near (centre_pixel (surface, hits, 3), over (&dark.current, &dark.background), COLOR_TOL));
  cairo_surface_destroy (surface);
}

/* The keyboard selection gets a ring in the focus colour, only while the
 * chart has the focus. */
static void
test_plane_focus (void)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  g_auto(LatheChartPalette) light = { 0 };
  const LatheChartRect *r;
  cairo_surface_t *surface;
  Pixel focus;
  int x, y, found = 0;

  lathe_chart_palette_init (&light, FALSE, FALSE);
  focus = over (&light.focus, &light.background);

  surface = render_plane_full (3, 0, TRUE, 2, FALSE, hits, "plane-focus.png");
  r = &g_array_index (hits, LatheChartRect, 0);
  x = (int) floor (r->x + r->width / 2);
  y = (int) floor (r->y + r->height / 2);
  /* the ring's radius is 11: look along the row to the left of the point */
  for (int dx = 9; dx <= 13; dx++)
    found += near (pixel (surface, x - dx, y), focus, 40);
  g_assert_cmpint (found, >, 0);
  cairo_surface_destroy (surface);

  surface = render_plane_full (3, 0, FALSE, -1, FALSE, hits, NULL);
  found = 0;
  for (int dx = 9; dx <= 13; dx++)
    found += near (pixel (surface, x - dx, y), focus, 40);
  g_assert_cmpint (found, ==, 0);
  cairo_surface_destroy (surface);
}

/* ---------------------------------------------------------------------- */
/* Size bars                                                               */

static const LatheSizeBar size_bars[] = {
  { (char *) "fc1.weight", 940800, 117600 },
  { (char *) "fc2.weight", 120000, 60000 },
  { (char *) "fc3.weight", 4000, 4000 },
};

static LatheChartRect sizes_plot;

static cairo_surface_t *
render_sizes (gboolean   dark,
              GArray    *hits,
              const char *name)
{
  int height = lathe_chart_size_bars_height (G_N_ELEMENTS (size_bars));
  cairo_surface_t *surface = new_surface (W, height);
  cairo_t *cr = cairo_create (surface);
  g_auto(LatheChartPalette) palette = { 0 };

  lathe_chart_palette_init (&palette, dark, FALSE);
  lathe_chart_draw_size_bars (cr, W, height, &palette, size_bars, G_N_ELEMENTS (size_bars), -1, &sizes_plot, hits);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  maybe_write (surface, name);
  return surface;
}

/* Pixels of `color` in the plot area along the row through the middle of
 * hit i (the figures on the right have grey antialiasing of their own). */
static int
run_of (cairo_surface_t *surface,
        GArray          *hits,
        guint            i,
        Pixel            color)
{
  const LatheChartRect *r = &g_array_index (hits, LatheChartRect, i);
  int y = (int) (r->y + r->height / 2), n = 0;

  for (int x = (int) sizes_plot.x; x < (int) (sizes_plot.x + sizes_plot.width); x++)
    n += near (pixel (surface, x, y), color, COLOR_TOL);
  return n;
}

static void
test_size_bars (void)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  g_auto(LatheChartPalette) palette = { 0 };
  cairo_surface_t *surface = render_sizes (FALSE, hits, "sizes-light.png");
  Pixel blue, grey;
  int c0, c1, o0, o1, full;

  lathe_chart_palette_init (&palette, FALSE, FALSE);
  blue = over (&palette.compressed, &palette.background);
  grey = over (&palette.original, &palette.background);
  g_assert_cmpuint (hits->len, ==, G_N_ELEMENTS (size_bars));

  /* one linear scale: the compressed bar lies over the original one, so
   * the first row's two colours make up 940 800 bytes */
  c0 = run_of (surface, hits, 0, blue);
  o0 = run_of (surface, hits, 0, grey);
  c1 = run_of (surface, hits, 1, blue);
  o1 = run_of (surface, hits, 1, grey);
  full = c0 + o0;
  g_assert_cmpint (full, >, 300);
  g_assert_cmpfloat (fabs (c0 - full * 117600.0 / 940800.0), <=, 2);
  g_assert_cmpfloat (fabs (c1 - full * 60000.0 / 940800.0), <=, 2);
  g_assert_cmpfloat (fabs (c1 + o1 - full * 120000.0 / 940800.0), <=, 2);
  cairo_surface_destroy (surface);
}

/* ---------------------------------------------------------------------- */
/* Styles                                                                  */

static void
test_dark (void)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  g_autoptr(LatheWeightSummary) s = summary_for ("fc1.weight", 3, 0.5);
  LatheChartRect plot;
  cairo_surface_t *surfaces[6];

  surfaces[0] = render_plane (3, TRUE, hits, "plane-dark.png");
  surfaces[1] = render_histogram (s, TRUE, &plot, "histogram-dark.png");
  surfaces[2] = render_sizes (TRUE, hits, "sizes-dark.png");
  surfaces[3] = render_plane (3, FALSE, hits, "plane-light.png");
  surfaces[4] = render_histogram (s, FALSE, &plot, "histogram-light.png");
  surfaces[5] = render_sizes (FALSE, hits, "sizes-light.png");
  for (guint i = 0; i < G_N_ELEMENTS (surfaces); i++)
    {
      double l = luminance (pixel (surfaces[i], 2, 2));
      if (i < 3)
        g_assert_cmpfloat (l, <, 0.2);
      else
        g_assert_cmpfloat (l, >, 0.9);
      cairo_surface_destroy (surfaces[i]);
    }
}

/* Nothing to show, one point, all points alike, a tiny surface: every
 * chart still draws (a note, sensible axes) without a cairo error. */
static void
test_degenerate (void)
{
  static const LathePlanePoint one[] = { { 1, 5000, 0.5, 0.5, 0.5, TRUE } };
  static const LathePlanePoint same[] = {
    { 1, 5000, 0.5, 0.49, 0.51, TRUE }, { 2, 5000, 0.5, 0.49, 0.51, TRUE },
  };
  static const LatheSizeBar empty[] = { { (char *) "w", 0, 0 } };
  static const int sizes[][2] = { { W, H }, { 50, 40 }, { 1, 1 } };
  g_autoptr(LatheWeightSummary) s = summary_for ("fc3.weight", 1, 0.9);
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  g_auto(LatheChartPalette) palette = { 0 };

  lathe_chart_palette_init (&palette, FALSE, TRUE);
  /* 1 bit: −s and +s, and 0 for the pruned weights */
  g_assert_cmpuint (s->n_levels, ==, 3);

  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      int w = sizes[k][0], h = sizes[k][1];
      cairo_surface_t *surface = new_surface (w, h);
      cairo_t *cr = cairo_create (surface);

      lathe_chart_draw_plane (cr, w, h, &palette, NULL, 0, -1, -1, TRUE, -1, NULL, hits);
      g_assert_cmpuint (hits->len, ==, 0);
      lathe_chart_draw_plane (cr, w, h, &palette, one, 1, 0, 0, TRUE, 0, NULL, hits);
      g_assert_cmpuint (hits->len, ==, 1);
      lathe_chart_draw_plane (cr, w, h, &palette, same, 2, 1, -1, FALSE, -1, NULL, hits);
      g_assert_cmpuint (hits->len, ==, 2);
      lathe_chart_draw_histogram (cr, w, h, &palette, NULL, -1, NULL, hits);
      g_assert_cmpuint (hits->len, ==, 0);
      lathe_chart_draw_histogram (cr, w, h, &palette, s, 3, NULL, hits);
      lathe_chart_draw_size_bars (cr, w, h, &palette, NULL, 0, -1, NULL, hits);
      g_assert_cmpuint (hits->len, ==, 0);
      lathe_chart_draw_size_bars (cr, w, h, &palette, empty, 1, 0, NULL, hits);
      g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
      if (k == 0)
        maybe_write (surface, "degenerate.png");
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
    }
}

/* ---------------------------------------------------------------------- */
/* Saving                                                                  */

static void
draw_sizes (cairo_t  *cr,
            int       width,
            int       height,
            gpointer  user_data)
{
  g_auto(LatheChartPalette) palette = { 0 };

  lathe_chart_palette_init (&palette, FALSE, FALSE);
  lathe_chart_draw_size_bars (cr, width, height, &palette, size_bars, G_N_ELEMENTS (size_bars), -1, NULL, NULL);
}

static void
test_save (void)
{
  g_autofree char *dir = g_dir_make_tmp ("lathe-charts-XXXXXX", NULL);
  g_autofree char *png_path = g_build_filename (dir, "sizes.png", NULL);
  g_autofree char *svg_path = g_build_filename (dir, "sizes.svg", NULL);
  g_autofree char *bad_path = g_build_filename (dir, "missing", "sizes.png", NULL);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) svg = g_file_new_for_path (svg_path);
  g_autoptr(GFile) bad = g_file_new_for_path (bad_path);
  g_autoptr(GError) error = NULL;

  g_assert_true (lathe_chart_save (png, LATHE_CHART_FORMAT_PNG, 400, 200, draw_sizes, NULL, &error));
  g_assert_no_error (error);
  assert_saved (png, LATHE_CHART_FORMAT_PNG);
  /* saving again replaces the file */
  g_assert_true (lathe_chart_save (png, LATHE_CHART_FORMAT_PNG, 300, 150, draw_sizes, NULL, &error));
  assert_saved (png, LATHE_CHART_FORMAT_PNG);
  g_assert_true (lathe_chart_save (svg, LATHE_CHART_FORMAT_SVG, 400, 200, draw_sizes, NULL, &error));
  g_assert_no_error (error);
  assert_saved (svg, LATHE_CHART_FORMAT_SVG);

  g_assert_false (lathe_chart_save (bad, LATHE_CHART_FORMAT_PNG, 400, 200, draw_sizes, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  lathe_test_remove_tree (dir);
}

/* ---------------------------------------------------------------------- */
/* Widgets                                                                 */

typedef struct {
  GtkWindow           *window;
  LathePlaneChart     *plane;
  LatheHistogramChart *histogram;
  LatheSizeChart      *sizes;
} WidgetFixture;

static void
widgets_set_up (WidgetFixture *f,
                gconstpointer  data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);

  f->window = g_object_ref (GTK_WINDOW (gtk_window_new ()));
  gtk_window_set_default_size (f->window, 640, 900);
  f->plane = lathe_plane_chart_new ();
  f->histogram = lathe_histogram_chart_new ();
  f->sizes = lathe_size_chart_new ();
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (f->plane));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (f->histogram));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (f->sizes));
  gtk_window_set_child (f->window, box);
  gtk_window_present (f->window);
}

static void
widgets_tear_down (WidgetFixture *f,
                   gconstpointer  data)
{
  gtk_window_destroy (f->window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (f->window);
}

static void
assert_description (GtkWidget  *widget,
                    const char *description)
{
  g_autofree char *mismatch = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                                   GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                                                   description);
  g_assert_null (mismatch);
}

static void
on_activated (LathePlaneChart *plane,
              guint            index,
              int             *out)
{
  *out = (int) index;
}

static void
test_plane_widget (WidgetFixture *f,
                   gconstpointer  data)
{
  g_autofree char *cur_size = g_format_size (24900);
  g_autofree char *cur_acc = lathe_format_accuracy (0.7960);
  g_autofree char *big = g_format_size (247176);
  const char *desc;
  int activated = -1;

  for (guint i = 0; i < G_N_ELEMENTS (plane_points); i++)
    {
      const LathePlanePoint *p = &plane_points[i];
      g_assert_cmpuint (lathe_plane_chart_add_point (f->plane, p->plan_id, p->bytes, p->accuracy, p->lo, p->hi,
                                                     p->full_set), ==, i);
    }
  /* the full set's figure replaces the subset's for the same plan */
  g_assert_cmpuint (lathe_plane_chart_add_point (f->plane, 5, 40000, 0.86, 0.85, 0.87, TRUE), ==, 4);
  g_assert_cmpuint (lathe_plane_chart_get_n_points (f->plane), ==, G_N_ELEMENTS (plane_points));
  g_assert_true (lathe_plane_chart_get_point (f->plane, 4)->full_set);
  lathe_plane_chart_set_current (f->plane, 3);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));

  maybe_save (GTK_WIDGET (f->plane), "widget-plane.png");
  desc = lathe_plane_chart_get_description (f->plane);
  g_assert_true (g_str_has_prefix (desc, "6 configurations measured"));
  g_assert_nonnull (strstr (desc, cur_size));
  g_assert_nonnull (strstr (desc, cur_acc));
  g_assert_nonnull (strstr (desc, "Pareto front:"));
  g_assert_nonnull (strstr (desc, big));
  assert_description (GTK_WIDGET (f->plane), desc);
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (f->plane), GTK_ACCESSIBLE_ROLE_IMG);

  /* keyboard: the selection starts at the current point, Right goes to
   * the next larger one (33 kB, plan 3), Up to the next more accurate */
  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (f->plane)));
  g_signal_connect (f->plane, "point-activated", G_CALLBACK (on_activated), &activated);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->plane), "chart.select-right", NULL));
  g_assert_cmpint (lathe_plane_chart_get_selected (f->plane), ==, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->plane), "chart.select-up", NULL));
  g_assert_cmpint (lathe_plane_chart_get_selected (f->plane), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->plane), "chart.select-left", NULL));
  g_assert_cmpint (lathe_plane_chart_get_selected (f->plane), ==, 4);
  /* plan 5 now reads 86 %: the next less accurate is plan 4 at 79.6 % */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->plane), "chart.select-down", NULL));
  g_assert_cmpint (lathe_plane_chart_get_selected (f->plane), ==, 3);
  g_assert_cmpint (activated, ==, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->plane), "chart.activate-selected", NULL));
  g_assert_cmpint (activated, ==, 3);
  g_assert_cmpint (lathe_plane_chart_find_plan (f->plane, 3), ==, 2);

  /* a click on a point restores it; a click beside the points does nothing */
  {
    double x, y;
    activated = -1;
    g_assert_true (_lathe_plane_chart_get_point_position (f->plane, 0, &x, &y));
    _lathe_plane_chart_press (f->plane, x + 2, y - 2);
    g_assert_cmpint (activated, ==, 0);
    g_assert_cmpint (lathe_plane_chart_get_selected (f->plane), ==, 0);
    g_assert_true (gtk_widget_has_focus (GTK_WIDGET (f->plane)));
    activated = -1;
    _lathe_plane_chart_press (f->plane, 1, 1);
    g_assert_cmpint (activated, ==, -1);
    g_assert_false (_lathe_plane_chart_get_point_position (f->plane, 99, &x, &y));
  }

  lathe_plane_chart_clear (f->plane);
  g_assert_cmpint (lathe_plane_chart_get_current (f->plane), ==, -1);
  g_assert_true (g_str_has_prefix (lathe_plane_chart_get_description (f->plane), "0 configurations measured"));
}

static void
test_histogram_widget (WidgetFixture *f,
                       gconstpointer  data)
{
  LatheWeightSummary *s = summary_for ("fc1.weight", 3, 0.5);
  g_autofree char *cut = g_strdup_printf ("%.3g", s->threshold);
  const char *desc;

  lathe_histogram_chart_set_summary (f->histogram, s);
  g_assert_true (lathe_histogram_chart_get_summary (f->histogram) == s);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  maybe_save (GTK_WIDGET (f->histogram), "widget-histogram.png");
  desc = lathe_histogram_chart_get_description (f->histogram);
  g_assert_nonnull (strstr (desc, "fc1.weight"));
  g_assert_nonnull (strstr (desc, "235200 weights"));
  g_assert_nonnull (strstr (desc, "3 bits"));
  g_assert_nonnull (strstr (desc, "7 levels"));
  g_assert_nonnull (strstr (desc, cut));
  g_assert_nonnull (strstr (desc, "117600 weights pruned"));
  assert_description (GTK_WIDGET (f->histogram), desc);

  lathe_histogram_chart_set_summary (f->histogram, NULL);
  assert_description (GTK_WIDGET (f->histogram), "No layer selected");
}

static void
test_size_widget (WidgetFixture *f,
                  gconstpointer  data)
{
  g_autofree char *change = lathe_format_size_change (940800, 117600);
  g_autofree char *total = lathe_format_size_change (940800 + 120000 + 4000, 117600 + 60000 + 4000);
  g_autofree char *dir = g_dir_make_tmp ("lathe-charts-XXXXXX", NULL);
  g_autofree char *png_path = g_build_filename (dir, "sizes.png", NULL);
  g_autofree char *svg_path = g_build_filename (dir, "plane.svg", NULL);
  g_autofree char *hist_path = g_build_filename (dir, "histogram.png", NULL);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) svg = g_file_new_for_path (svg_path);
  g_autoptr(GFile) hist = g_file_new_for_path (hist_path);
  g_autoptr(GError) error = NULL;
  const char *desc;

  lathe_size_chart_set_bars (f->sizes, size_bars, G_N_ELEMENTS (size_bars));
  g_assert_cmpuint (lathe_size_chart_get_n_bars (f->sizes), ==, 3);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  maybe_save (GTK_WIDGET (f->sizes), "widget-sizes.png");
  desc = lathe_size_chart_get_description (f->sizes);
  g_assert_true (g_str_has_prefix (desc, "3 layers"));
  g_assert_nonnull (strstr (desc, "fc1.weight"));
  g_assert_nonnull (strstr (desc, change));
  g_assert_nonnull (strstr (desc, total));
  assert_description (GTK_WIDGET (f->sizes), desc);

  /* the widgets save what they show */
  g_assert_true (lathe_size_chart_save (f->sizes, png, LATHE_CHART_FORMAT_PNG, &error));
  g_assert_no_error (error);
  assert_saved (png, LATHE_CHART_FORMAT_PNG);
  lathe_plane_chart_add_point (f->plane, 1, 247176, 0.8951, 0.889, 0.901, TRUE);
  g_assert_true (lathe_plane_chart_save (f->plane, svg, LATHE_CHART_FORMAT_SVG, &error));
  g_assert_no_error (error);
  assert_saved (svg, LATHE_CHART_FORMAT_SVG);
  g_assert_true (lathe_histogram_chart_save (f->histogram, hist, LATHE_CHART_FORMAT_PNG, &error));
  g_assert_no_error (error);
  assert_saved (hist, LATHE_CHART_FORMAT_PNG);

  /* from an applied plan: one bar per layer */
  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    g_autoptr(LatheApplied) applied = NULL;
    load_mlp ();
    plan->defaults.bits = 4;
    applied = lathe_apply_plan (lathe_model_get_graph (mlp), mlp_layers, plan, &error);
    g_assert_no_error (error);
    lathe_size_chart_set_applied (f->sizes, applied);
    g_assert_cmpuint (lathe_size_chart_get_n_bars (f->sizes), ==, 3);
    g_assert_nonnull (strstr (lathe_size_chart_get_description (f->sizes), "fc3.weight"));
    lathe_size_chart_set_applied (f->sizes, NULL);
    g_assert_true (g_str_has_prefix (lathe_size_chart_get_description (f->sizes), "0 layers"));
  }

  lathe_test_remove_tree (dir);
}

/* Switching the style redraws in the new colours. */
static void
test_widget_dark (WidgetFixture *f,
                  gconstpointer  data)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *dir = g_dir_make_tmp ("lathe-charts-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sizes.png", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *surface;

  lathe_size_chart_set_bars (f->sizes, size_bars, G_N_ELEMENTS (size_bars));
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->window));
  g_assert_true (lathe_size_chart_save (f->sizes, file, LATHE_CHART_FORMAT_PNG, &error));
  g_assert_no_error (error);
  surface = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpfloat (luminance (pixel (surface, 2, 2)), <, 0.2);
  cairo_surface_destroy (surface);

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  g_assert_true (lathe_size_chart_save (f->sizes, file, LATHE_CHART_FORMAT_PNG, &error));
  surface = cairo_image_surface_create_from_png (path);
  g_assert_cmpfloat (luminance (pixel (surface, 2, 2)), >, 0.9);
  cairo_surface_destroy (surface);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  lathe_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/lathe/app/charts/pareto-front", test_pareto_front);
  g_test_add_func ("/lathe/app/charts/histogram-ticks", test_histogram_ticks);
  g_test_add_func ("/lathe/app/charts/histogram-band", test_histogram_band);
  g_test_add_func ("/lathe/app/charts/histogram-legend", test_histogram_legend);
  g_test_add_func ("/lathe/app/charts/plane-highlight", test_plane_highlight);
  g_test_add_func ("/lathe/app/charts/plane-focus", test_plane_focus);
  g_test_add_func ("/lathe/app/charts/size-bars", test_size_bars);
  g_test_add_func ("/lathe/app/charts/dark", test_dark);
  g_test_add_func ("/lathe/app/charts/degenerate", test_degenerate);
  g_test_add_func ("/lathe/app/charts/save", test_save);
  g_test_add ("/lathe/app/charts/plane-widget", WidgetFixture, NULL, widgets_set_up, test_plane_widget,
              widgets_tear_down);
  g_test_add ("/lathe/app/charts/histogram-widget", WidgetFixture, NULL, widgets_set_up, test_histogram_widget,
              widgets_tear_down);
  g_test_add ("/lathe/app/charts/size-widget", WidgetFixture, NULL, widgets_set_up, test_size_widget,
              widgets_tear_down);
  g_test_add ("/lathe/app/charts/widget-dark", WidgetFixture, NULL, widgets_set_up, test_widget_dark,
              widgets_tear_down);

  ret = g_test_run ();
  g_clear_object (&mlp);
  g_clear_pointer (&mlp_layers, g_ptr_array_unref);
  return ret;
}
