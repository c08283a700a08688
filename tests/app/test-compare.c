/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-compare"

/* LatheComparePane with two real results of the sample CNN (the source
 * model pinned, 4-bit weights with half of them pruned as the current
 * plan): the layers that differ, per-class changes equal to the results'
 * numbers, the confusion heatmap's colours in an image surface and in the
 * rendered widget, light and dark. Runs under Xvfb like test-window. */

#include <math.h>
#include <string.h>

#include <adwaita.h>

#include "data/lathe-class-names.h"
#include "lathe-app-format.h"
#include "lathe-compare-pane-private.h"
#include "lathe-heatmap.h"
#include "../lathe-test-util.h"
#include "app-test-display.h"

/* Colours read back from an 8-bit surface. */
#define COLOR_TOL (2.5 / 255.0)

typedef struct {
  LatheModel         *model;
  LatheDataset       *data;
  LatheSession       *session;
  LathePlan          *base_plan;
  LathePlan          *small_plan;
  LatheSessionResult *base;         /* full set */
  LatheSessionResult *small;        /* full set */
  LatheSessionResult *small_subset;
} Results;

static Results results;

static gboolean
results_load (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) mean = NULL, std = NULL;

  if (results.session != NULL)
    return TRUE;
  results.model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  results.data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, NULL);
  if (results.data == NULL)
    return FALSE;
  g_assert_true (lathe_model_get_normalization (results.model, &mean, &std, &error));
  results.session = lathe_session_new (results.model, results.data, (float *) mean->data,
                                       (float *) std->data, mean->len, &error);
  g_assert_no_error (error);

  results.base_plan = lathe_plan_new ();
  results.small_plan = lathe_plan_new ();
  results.small_plan->defaults.bits = 4;
  results.small_plan->defaults.sparsity = 0.5;
  results.base = lathe_session_evaluate (results.session, results.base_plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  results.small = lathe_session_evaluate (results.session, results.small_plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  results.small_subset = lathe_session_evaluate (results.session, results.small_plan, LATHE_STAGE_SUBSET, NULL, &error);
  g_assert_no_error (error);
  return TRUE;
}

static void
results_clear (void)
{
  g_clear_pointer (&results.base, lathe_session_result_unref);
  g_clear_pointer (&results.small, lathe_session_result_unref);
  g_clear_pointer (&results.small_subset, lathe_session_result_unref);
  g_clear_pointer (&results.base_plan, lathe_plan_free);
  g_clear_pointer (&results.small_plan, lathe_plan_free);
  g_clear_object (&results.session);
  g_clear_object (&results.data);
  g_clear_object (&results.model);
}

#define REQUIRE_DATA() \
  if (!results_load ()) { g_test_skip ("dataset-fashion-mnist is not installed"); return; }

static GtkWindow *
window_with (GtkWidget *child)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  g_object_ref_sink (window);
  gtk_window_set_default_size (window, 900, 780);
  gtk_window_set_child (window, child);
  gtk_window_present (window);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  return window;
}

static void
window_free (GtkWindow *window)
{
  gtk_window_destroy (window);
  drain ();
  finalize_when_released (window);
}

/* The widget rendered as the screen would show it, on the window's
 * background; saved under the build directory when `name` is given. */
static GdkTexture *
render (GtkWidget  *widget,
        const char *name)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GdkRGBA bg = dark ? (GdkRGBA) { 0x24 / 255., 0x24 / 255., 0x24 / 255., 1 }
                    : (GdkRGBA) { 0xfa / 255., 0xfa / 255., 0xfa / 255., 1 };
  g_autoptr(GskRenderNode) node = NULL;
  GdkTexture *texture;

  gtk_snapshot_append_color (snapshot, &bg, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (name != NULL)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_BUILT, name, NULL);
      g_assert_true (gdk_texture_save_to_png (texture, path));
      g_test_message ("rendered to %s", path);
    }
  g_object_unref (paintable);
  return texture;
}

/* The pane's scrolled content at its full height. */
static GtkWidget *
pane_content (LatheComparePane *pane)
{
  GtkWidget *clamp = gtk_widget_get_ancestor (_lathe_compare_pane_get_heatmap (pane), ADW_TYPE_CLAMP);

  g_assert_nonnull (clamp);
  return adw_clamp_get_child (ADW_CLAMP (clamp));
}

static const char *
grid_text (GtkGrid *grid,
           int      column,
           int      row)
{
  GtkWidget *child = gtk_grid_get_child_at (grid, column, row);

  g_assert_true (GTK_IS_LABEL (child));
  return gtk_label_get_text (GTK_LABEL (child));
}

static int
grid_rows (GtkGrid *grid)
{
  int rows = 0;

  while (gtk_grid_get_child_at (grid, 0, rows) != NULL)
    rows++;
  return rows;
}

/* The per-class change as the table writes it, from the results. */
static char *
expected_points (double delta)
{
  double p = 100.0 * delta;

  if (fabs (p) < 0.05)
    return g_strdup ("0.0");
  return p < 0 ? g_strdup_printf ("\u2212%.1f", -p) : g_strdup_printf ("+%.1f", p);
}

/* Which way a pixel leans: the better colour is blue, the worse red. */
typedef enum { LEAN_NEUTRAL, LEAN_BLUE, LEAN_RED } Lean;

static Lean
lean (double r, double g, double b)
{
  if (b - r > 0.08)
    return LEAN_BLUE;
  if (r - b > 0.08)
    return LEAN_RED;
  return LEAN_NEUTRAL;
}

static Lean
expected_lean (guint row, guint col, gint64 delta)
{
  switch (lathe_heatmap_tone (row, col, delta))
    {
    case LATHE_HEATMAP_BETTER: return LEAN_BLUE;
    case LATHE_HEATMAP_WORSE:  return LEAN_RED;
    default:                   return LEAN_NEUTRAL;
    }
}

/* ---------------------------------------------------------------------- */
/* The drawing alone, no display needed                                    */

static void
test_heatmap_pure (void)
{
  /* 3 classes; the pinned plan got every sample right */
  static const guint64 pinned[9] = { 10, 0, 0,   0, 10, 0,   0, 0, 10 };
  static const guint64 current[9] = { 6, 4, 0,   0, 10, 0,   1, 0, 9 };
  static const char * const names[] = { "Cat", "Dog", "Bird", NULL };
  g_autofree gint64 *delta = lathe_heatmap_delta (pinned, current, 3);
  g_autofree char *text = NULL;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 240, 160);
  cairo_t *cr = cairo_create (surface);
  LatheHeatmapStyle style;
  LatheHeatmapGeometry geo;
  const guint8 *px;
  int stride;

  g_assert_cmpint (delta[0], ==, -4);
  g_assert_cmpint (delta[1], ==, 4);
  g_assert_cmpint (delta[6], ==, 1);
  g_assert_cmpint (delta[8], ==, -1);
  g_assert_cmpint (lathe_heatmap_tone (0, 0, -4), ==, LATHE_HEATMAP_WORSE);
  g_assert_cmpint (lathe_heatmap_tone (0, 1, 4), ==, LATHE_HEATMAP_WORSE);
  g_assert_cmpint (lathe_heatmap_tone (1, 1, 3), ==, LATHE_HEATMAP_BETTER);
  g_assert_cmpint (lathe_heatmap_tone (2, 1, -2), ==, LATHE_HEATMAP_BETTER);
  g_assert_cmpint (lathe_heatmap_tone (1, 2, 0), ==, LATHE_HEATMAP_NEUTRAL);

  text = lathe_heatmap_describe (3, delta, names, 2);
  g_assert_cmpstr (text, ==, "Largest changes from the pinned plan: Cat correct, 4 fewer (worse); "
                             "Cat taken for Dog, 4 more (worse).");
  g_clear_pointer (&text, g_free);
  text = lathe_heatmap_describe (3, delta, NULL, 5);
  g_assert_nonnull (strstr (text, "Class 2 taken for Class 0, 1 more (worse)"));
  g_clear_pointer (&text, g_free);
  {
    static const gint64 none[4] = { 0 };
    text = lathe_heatmap_describe (2, none, NULL, 5);
    g_assert_cmpstr (text, ==, "Every class is answered as with the pinned plan.");
  }

  /* a cell at full strength is the tone's own colour; no change is neutral */
  lathe_heatmap_style_init (&style, FALSE);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  lathe_heatmap_draw (cr, 240, 160, 3, delta, names, &style, &geo);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  g_assert_cmpfloat (geo.cell, >=, 20);
  px = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (guint r = 0; r < 3; r++)
    for (guint c = 0; c < 3; c++)
      {
        int x = (int) (geo.x0 + c * geo.cell + 0.2 * geo.cell);
        int y = (int) (geo.y0 + r * geo.cell + 0.2 * geo.cell);
        guint32 v = *(const guint32 *) (px + y * stride + 4 * x);
        double got[3] = { ((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0 };
        double want[3];

        lathe_heatmap_cell_color (&style, r, c, delta[r * 3 + c], 4, want);
        for (guint k = 0; k < 3; k++)
          g_assert_cmpfloat_with_epsilon (got[k], want[k], COLOR_TOL);
        g_assert_cmpint (lean (got[0], got[1], got[2]), ==, expected_lean (r, c, delta[r * 3 + c]));
      }
  /* |−4| is the largest change: full strength */
  {
    double want[3];
    lathe_heatmap_cell_color (&style, 0, 0, -4, 4, want);
    for (guint k = 0; k < 3; k++)
      g_assert_cmpfloat_with_epsilon (want[k], style.worse[k], 1e-12);
  }
  cairo_surface_destroy (surface);
}

/* ---------------------------------------------------------------------- */
/* The pane                                                                */

static void
test_empty (void)
{
  LatheComparePane *pane = LATHE_COMPARE_PANE (lathe_compare_pane_new ());
  GtkWindow *window = window_with (GTK_WIDGET (pane));
  g_autoptr(GdkTexture) texture = NULL;

  g_assert_cmpstr (_lathe_compare_pane_get_page (pane), ==, "empty");
  g_assert_false (lathe_compare_pane_get_has_pinned (pane));
  gtk_window_set_default_size (window, 700, 420);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  texture = render (GTK_WIDGET (pane), "compare-pane-empty.png");
  window_free (window);
}

static void
test_compare (void)
{
  LatheComparePane *pane;
  GtkWindow *window;
  GtkGrid *layers, *classes;
  const gint64 *delta;
  g_auto(GStrv) names = NULL;
  g_autofree char *size_p = NULL, *size_c = NULL, *acc_p = NULL, *acc_c = NULL, *points = NULL;
  GPtrArray *session_layers;
  guint n;

  REQUIRE_DATA ();
  pane = LATHE_COMPARE_PANE (lathe_compare_pane_new ());
  window = window_with (GTK_WIDGET (pane));
  lathe_compare_pane_set_session (pane, results.session);
  lathe_compare_pane_set_pinned (pane, results.base_plan, results.base);
  g_assert_true (lathe_compare_pane_get_has_pinned (pane));
  g_assert_cmpstr (_lathe_compare_pane_get_page (pane), ==, "empty");   /* no current yet */
  lathe_compare_pane_set_current (pane, results.small_plan, results.small);
  g_assert_cmpstr (_lathe_compare_pane_get_page (pane), ==, "compare");
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  /* both on the full set: no notice */
  g_assert_null (_lathe_compare_pane_get_notice (pane));

  /* header */
  size_p = g_format_size (results.base->packed_bytes);
  size_c = g_format_size (results.small->packed_bytes);
  acc_p = lathe_format_accuracy (results.base->accuracy);
  acc_c = lathe_format_accuracy (results.small->accuracy);
  points = lathe_format_points (results.small->accuracy - results.base->accuracy);
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "size", 0)), ==, size_p);
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "size", 1)), ==, size_c);
  g_assert_true (g_str_has_prefix (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "size", 2)),
                                   "\u2212"));
  g_assert_nonnull (strstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "size", 2)), "smaller"));
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "accuracy", 0)), ==, acc_p);
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "accuracy", 1)), ==, acc_c);
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "accuracy", 2)), ==, points);
  /* pruning leaves the dense count: the same multiply-adds */
  g_assert_cmpuint (results.base->macs, ==, results.small->macs);
  g_assert_cmpstr (gtk_label_get_text (_lathe_compare_pane_get_header_label (pane, "macs", 2)), ==, "Same");

  /* every layer differs in bits and sparsity, none in width */
  layers = _lathe_compare_pane_get_layer_grid (pane);
  session_layers = lathe_session_get_layers (results.session);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (layers)));
  g_assert_cmpint (grid_rows (layers), ==, (int) session_layers->len + 1);
  for (guint i = 0; i < session_layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (session_layers, i);
      g_assert_cmpstr (grid_text (layers, 0, (int) i + 1), ==, layer->name);
      g_assert_cmpstr (grid_text (layers, 1, (int) i + 1), ==, "32 (float) → 4");
      g_assert_cmpstr (grid_text (layers, 2, (int) i + 1), ==, "0\u00a0% → 50\u00a0%");
      g_assert_cmpstr (grid_text (layers, 3, (int) i + 1), ==, "100\u00a0%");
    }

  /* per class: the results' own numbers, with Fashion-MNIST's names */
  classes = _lathe_compare_pane_get_class_grid (pane);
  names = lathe_class_names_for_dataset (results.data, 10);
  g_assert_cmpuint (results.base->n_classes, ==, 10);
  g_assert_cmpint (grid_rows (classes), ==, 11);
  for (guint k = 0; k < 10; k++)
    {
      g_autofree char *before = lathe_format_accuracy (results.base->class_accuracy[k]);
      g_autofree char *after = lathe_format_accuracy (results.small->class_accuracy[k]);
      g_autofree char *change = expected_points (results.small->class_accuracy[k] - results.base->class_accuracy[k]);

      g_assert_cmpstr (grid_text (classes, 0, (int) k + 1), ==, names[k]);
      g_assert_cmpstr (grid_text (classes, 1, (int) k + 1), ==, before);
      g_assert_cmpstr (grid_text (classes, 2, (int) k + 1), ==, after);
      g_assert_cmpstr (grid_text (classes, 3, (int) k + 1), ==, change);
    }
  g_assert_cmpstr (grid_text (classes, 0, 1), ==, "T-shirt/top");
  g_assert_cmpstr (grid_text (classes, 0, 10), ==, "Ankle boot");

  /* the heatmap's numbers are the confusion matrices' difference */
  delta = _lathe_compare_pane_get_delta (pane, &n);
  g_assert_cmpuint (n, ==, 10);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpint (delta[i], ==, (gint64) results.small->confusion[i] - (gint64) results.base->confusion[i]);
  {
    g_autofree char *description = lathe_heatmap_describe (n, delta, (const char * const *) names, 5);
    g_autofree char *mismatch = gtk_test_accessible_check_property (
      GTK_ACCESSIBLE (_lathe_compare_pane_get_heatmap (pane)), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description);
    g_assert_null (mismatch);
    g_assert_true (g_str_has_prefix (description, "Largest changes from the pinned plan: "));
  }

  /* without names: "Class k"; with a model's own names: those */
  lathe_compare_pane_set_class_names (pane, NULL);
  g_assert_cmpstr (grid_text (classes, 0, 1), ==, "Class 0");
  g_assert_cmpstr (grid_text (classes, 0, 10), ==, "Class 9");
  {
    static const char * const own[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", NULL };
    lathe_compare_pane_set_class_names (pane, own);
    g_assert_cmpstr (grid_text (classes, 0, 1), ==, "a");
    g_assert_cmpstr (grid_text (classes, 0, 10), ==, "j");
  }

  /* the change back to the pinned plan's own figures: nothing differs */
  lathe_compare_pane_set_current (pane, results.base_plan, results.base);
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (layers)));
  g_assert_cmpint (grid_rows (layers), ==, 1);
  delta = _lathe_compare_pane_get_delta (pane, &n);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpint (delta[i], ==, 0);

  /* unpinned: the empty state */
  lathe_compare_pane_set_pinned (pane, NULL, NULL);
  g_assert_false (lathe_compare_pane_get_has_pinned (pane));
  g_assert_cmpstr (_lathe_compare_pane_get_page (pane), ==, "empty");
  window_free (window);
}

static void
test_subset_notice (void)
{
  LatheComparePane *pane;
  GtkWindow *window;
  const char *notice;
  g_autofree char *lo = NULL, *hi = NULL;

  REQUIRE_DATA ();
  pane = LATHE_COMPARE_PANE (lathe_compare_pane_new ());
  window = window_with (GTK_WIDGET (pane));
  lathe_compare_pane_set_session (pane, results.session);
  lathe_compare_pane_set_pinned (pane, results.base_plan, results.base);
  lathe_compare_pane_set_current (pane, results.small_plan, results.small_subset);
  notice = _lathe_compare_pane_get_notice (pane);
  g_assert_nonnull (notice);
  lo = lathe_format_accuracy (results.small_subset->lo);
  hi = lathe_format_accuracy (results.small_subset->hi);
  g_assert_nonnull (strstr (notice, "Current: "));
  g_assert_nonnull (strstr (notice, lo));
  g_assert_nonnull (strstr (notice, hi));
  g_assert_nonnull (strstr (notice, "different samples"));
  g_assert_null (strstr (notice, "Pinned: "));
  /* counts over 1,000 and 10,000 samples do not compare */
  {
    guint n;
    g_assert_null (_lathe_compare_pane_get_delta (pane, &n));
    g_assert_false (gtk_widget_get_visible (_lathe_compare_pane_get_heatmap (pane)));
  }
  /* both on the subset: compared again, each with its interval */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheSessionResult) base_subset =
      lathe_session_evaluate (results.session, results.base_plan, LATHE_STAGE_SUBSET, NULL, &error);
    guint n;

    g_assert_no_error (error);
    lathe_compare_pane_set_pinned (pane, results.base_plan, base_subset);
    notice = _lathe_compare_pane_get_notice (pane);
    g_assert_nonnull (strstr (notice, "Pinned: "));
    g_assert_nonnull (strstr (notice, "Current: "));
    g_assert_null (strstr (notice, "different samples"));
    g_assert_nonnull (_lathe_compare_pane_get_delta (pane, &n));
    g_assert_true (gtk_widget_get_visible (_lathe_compare_pane_get_heatmap (pane)));
  }
  window_free (window);
}

/* The heatmap inside the rendered widget: cells with a known change have
 * their sign's colour, light and dark; the screenshots go to the build
 * directory. */
static void
check_rendered_heatmap (LatheComparePane *pane,
                        const char       *png,
                        gboolean          dark)
{
  GtkWidget *heatmap = _lathe_compare_pane_get_heatmap (pane);
  GtkWidget *content = pane_content (pane);
  g_autoptr(GdkTexture) texture = render (content, png);
  int width = gdk_texture_get_width (texture), height = gdk_texture_get_height (texture);
  g_autofree guchar *pixels = g_malloc ((gsize) width * height * 4);
  graphene_rect_t bounds;
  cairo_surface_t *scratch;
  cairo_t *cr;
  LatheHeatmapStyle style;
  LatheHeatmapGeometry geo;
  const gint64 *delta;
  guint n, checked[3] = { 0 };
  gint64 max_abs = 0;

  gdk_texture_download (texture, pixels, (gsize) width * 4);
  g_assert_true (gtk_widget_compute_bounds (heatmap, content, &bounds));
  delta = _lathe_compare_pane_get_delta (pane, &n);
  _lathe_compare_pane_get_style (pane, &style);
  g_assert_cmpint (style.neutral[0] < 0.5, ==, dark);

  /* where the widget put the cells: the same layout maths at its size */
  scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (scratch);
  lathe_heatmap_draw (cr, gtk_widget_get_width (heatmap), gtk_widget_get_height (heatmap), n, delta, NULL, &style, &geo);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  /* row labels with names are wider: take the geometry the pane drew with */
  {
    g_auto(GStrv) names = lathe_class_names_for_dataset (results.data, n);
    scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
    cr = cairo_create (scratch);
    lathe_heatmap_draw (cr, gtk_widget_get_width (heatmap), gtk_widget_get_height (heatmap), n, delta,
                        (const char * const *) names, &style, &geo);
    cairo_destroy (cr);
    cairo_surface_destroy (scratch);
  }
  g_assert_cmpfloat (geo.cell, >=, 20);

  for (guint i = 0; i < n * n; i++)
    max_abs = MAX (max_abs, ABS (delta[i]));
  for (guint r = 0; r < n; r++)
    for (guint c = 0; c < n; c++)
      {
        gint64 d = delta[r * n + c];
        int x = (int) (bounds.origin.x + geo.x0 + c * geo.cell + 0.2 * geo.cell);
        int y = (int) (bounds.origin.y + geo.y0 + r * geo.cell + 0.2 * geo.cell);
        /* GDK_MEMORY_DEFAULT: B, G, R, A premultiplied, opaque here */
        const guchar *p = pixels + ((gsize) y * width + x) * 4;
        Lean want = expected_lean (r, c, d);
        double want_rgb[3];

        /* faint changes are near neutral; judge the clear ones */
        if (d != 0 && (double) ABS (d) / max_abs < 0.1)
          continue;
        g_assert_cmpint (lean (p[2] / 255.0, p[1] / 255.0, p[0] / 255.0), ==, want);
        lathe_heatmap_cell_color (&style, r, c, d, max_abs, want_rgb);
        g_assert_cmpfloat_with_epsilon (p[2] / 255.0, want_rgb[0], COLOR_TOL);
        g_assert_cmpfloat_with_epsilon (p[1] / 255.0, want_rgb[1], COLOR_TOL);
        g_assert_cmpfloat_with_epsilon (p[0] / 255.0, want_rgb[2], COLOR_TOL);
        checked[want]++;
      }
  /* 4 bits and half the weights gone: some answers got worse; unchanged
   * cells exist too */
  g_assert_cmpuint (checked[LEAN_RED], >, 0);
  g_assert_cmpuint (checked[LEAN_NEUTRAL], >, 0);
}

static void
test_heatmap_rendered (void)
{
  LatheComparePane *pane;
  GtkWindow *window;
  AdwStyleManager *manager = adw_style_manager_get_default ();

  REQUIRE_DATA ();
  pane = LATHE_COMPARE_PANE (lathe_compare_pane_new ());
  window = window_with (GTK_WIDGET (pane));
  lathe_compare_pane_set_session (pane, results.session);
  lathe_compare_pane_set_pinned (pane, results.base_plan, results.base);
  lathe_compare_pane_set_current (pane, results.small_plan, results.small);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  check_rendered_heatmap (pane, "compare-pane-light.png", FALSE);

  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_FORCE_DARK);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  check_rendered_heatmap (pane, "compare-pane-dark.png", TRUE);
  adw_style_manager_set_color_scheme (manager, ADW_COLOR_SCHEME_DEFAULT);
  drain ();

  /* a narrow pane puts the heatmap under the table */
  gtk_window_set_default_size (window, 520, 780);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  {
    gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (gtk_widget_get_width (GTK_WIDGET (pane)) > 520 && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (pane)), <=, 520);
  }
  g_object_unref (render (pane_content (pane), "compare-pane-narrow.png"));
  {
    graphene_rect_t table, map;
    g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (_lathe_compare_pane_get_class_grid (pane)),
                                              pane_content (pane), &table));
    g_assert_true (gtk_widget_compute_bounds (_lathe_compare_pane_get_heatmap (pane), pane_content (pane), &map));
    g_assert_cmpfloat (map.origin.y, >, table.origin.y + table.size.height);
  }
  gtk_window_set_default_size (window, 900, 780);
  drain ();

  /* the early figure, as the window shows it first */
  lathe_compare_pane_set_current (pane, results.small_plan, results.small_subset);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  g_object_unref (render (pane_content (pane), "compare-pane-subset.png"));
  window_free (window);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  app_test_init (&argc, &argv);

  g_test_add_func ("/lathe/app/compare/heatmap-pure", test_heatmap_pure);
  g_test_add_func ("/lathe/app/compare/empty", test_empty);
  g_test_add_func ("/lathe/app/compare/sample-cnn", test_compare);
  g_test_add_func ("/lathe/app/compare/subset-notice", test_subset_notice);
  g_test_add_func ("/lathe/app/compare/heatmap-rendered", test_heatmap_rendered);
  status = g_test_run ();
  results_clear ();
  return status;
}
