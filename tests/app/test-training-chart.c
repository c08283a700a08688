/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* The training chart: the pure-cairo curve rendered to image surfaces and
 * read back by pixels (the loss falls in its plot, the accuracy rises in
 * its own, from the untrained figure; the dark style; the empty frame),
 * and the widget fed by a real LatheSession training run: its accessible
 * description has the figures, it saves PNG and SVG.
 *
 * With LATHE_TEST_CHART_DIR set, every render is also written there as PNG
 * for a person to look at. */

#include <math.h>
#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "session/lathe-session.h"
#include "lathe-app-format.h"
#include "lathe-training-chart.h"
#include "lathe-training-draw.h"
#include "../lathe-test-util.h"
#include "chart-test-util.h"

#define W 640
#define H 360
/* antialiasing blurs a mark's colour by a few levels per channel */
#define COLOR_TOL 6

/* Pixels of `color` within a rectangle. */
static int
count_in (cairo_surface_t      *surface,
          const LatheChartRect *r,
          Pixel                 color)
{
  int n = 0;

  for (int y = (int) r->y; y < (int) (r->y + r->height); y++)
    for (int x = (int) r->x; x < (int) (r->x + r->width); x++)
      n += near (pixel (surface, x, y), color, COLOR_TOL);
  return n;
}

/* The mean row of `color` in the column at x, within the plot; -1 when
 * the column has none. */
static double
mean_row (cairo_surface_t      *surface,
          const LatheChartRect *plot,
          int                   x,
          Pixel                 color)
{
  double sum = 0;
  int n = 0;

  for (int y = (int) plot->y - 4; y < (int) (plot->y + plot->height) + 4; y++)
    if (near (pixel (surface, x, y), color, COLOR_TOL))
      sum += y, n++;
  return n ? sum / n : -1;
}

/* Three epochs of ten steps: the loss falls, the accuracy rises from an
 * untrained 68 %. */
static const double loss[] = { 0.90, 0.60, 0.50 };
static const double accuracy[] = { 0.80, 0.84, 0.86 };
#define UNTRAINED 0.68

static cairo_surface_t *
render (gboolean            dark,
        gboolean            empty,
        LatheChartRect     *loss_plot,
        LatheChartRect     *acc_plot,
        const char         *name)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create (surface);
  g_auto(LatheChartPalette) palette = { 0 };
  double step_x[30], step_loss[30];
  LatheTrainingCurve curve = { .epochs = 3, .untrained_accuracy = NAN };

  for (guint i = 0; i < 30; i++)
    {
      guint e = i / 10;
      step_x[i] = e + (i % 10 + 1) / 10.0;
      /* a running mean that starts above the epoch's mean and settles on it */
      step_loss[i] = loss[e] * (1 + 0.4 * (9 - i % 10) / 9.0);
    }
  if (!empty)
    {
      curve.epoch_loss = loss;
      curve.epoch_accuracy = accuracy;
      curve.n_done = 3;
      curve.untrained_accuracy = UNTRAINED;
      curve.step_x = step_x;
      curve.step_loss = step_loss;
      curve.n_steps = 30;
    }
  lathe_chart_palette_init (&palette, dark, FALSE);
  lathe_chart_draw_training (cr, W, H, &palette, &curve, loss_plot, acc_plot);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  maybe_write (surface, name);
  return surface;
}

static void
check_series (gboolean dark)
{
  g_auto(LatheChartPalette) palette = { 0 };
  LatheChartRect lp, ap;
  cairo_surface_t *surface = render (dark, FALSE, &lp, &ap, dark ? "training-dark.png" : "training-light.png");
  Pixel front, current, stream;
  double y1, y3, a0, a1, a3;

  lathe_chart_palette_init (&palette, dark, FALSE);
  front = over (&palette.front, &palette.background);
  current = over (&palette.current, &palette.background);
  stream = over (&palette.point, &palette.background);

  /* the plots are stacked, loss on top */
  g_assert_cmpfloat (lp.y + lp.height, <, ap.y);

  /* two series, each in its own plot */
  g_assert_cmpint (count_in (surface, &lp, front), >, 100);
  g_assert_cmpint (count_in (surface, &ap, current), >, 100);
  g_assert_cmpint (count_in (surface, &lp, current), ==, 0);
  g_assert_cmpint (count_in (surface, &ap, front), ==, 0);
  /* and the streaming loss */
  g_assert_cmpint (count_in (surface, &lp, stream), >, 30);

  /* the loss falls: epoch 1's dot sits higher than epoch 3's */
  y1 = mean_row (surface, &lp, (int) lathe_chart_training_x (&lp, 3, 1), front);
  y3 = mean_row (surface, &lp, (int) lathe_chart_training_x (&lp, 3, 3) - 1, front);
  g_assert_cmpfloat (y1, >=, 0);
  g_assert_cmpfloat (y3, >=, 0);
  g_assert_cmpfloat (y1, <, y3 - 10);

  /* the accuracy rises from the untrained figure at epoch 0 */
  a0 = mean_row (surface, &ap, (int) lathe_chart_training_x (&ap, 3, 0) + 1, current);
  a1 = mean_row (surface, &ap, (int) lathe_chart_training_x (&ap, 3, 1), current);
  a3 = mean_row (surface, &ap, (int) lathe_chart_training_x (&ap, 3, 3) - 1, current);
  g_assert_cmpfloat (a0, >=, 0);
  g_assert_cmpfloat (a0, >, a1 + 10);
  g_assert_cmpfloat (a1, >, a3);

  /* the background is the style's */
  if (dark)
    g_assert_cmpfloat (luminance (pixel (surface, 2, 2)), <, 0.2);
  else
    g_assert_cmpfloat (luminance (pixel (surface, 2, 2)), >, 0.9);
  cairo_surface_destroy (surface);
}

static void
test_draw_light (void)
{
  check_series (FALSE);
}

static void
test_draw_dark (void)
{
  check_series (TRUE);
}

static void
test_draw_empty (void)
{
  g_auto(LatheChartPalette) palette = { 0 };
  LatheChartRect lp, ap;
  cairo_surface_t *surface = render (FALSE, TRUE, &lp, &ap, "training-empty.png");

  lathe_chart_palette_init (&palette, FALSE, FALSE);
  g_assert_cmpint (count_in (surface, &lp, over (&palette.front, &palette.background)), ==, 0);
  g_assert_cmpint (count_in (surface, &ap, over (&palette.current, &palette.background)), ==, 0);
  cairo_surface_destroy (surface);
}

/* ---------------------------------------------------------------------- */
/* The widget, fed by a real training run                                  */

typedef struct {
  LatheTrainingChart *chart;
  guint               n_progress;
  guint               n_ends;
  LatheSessionResult *done;
  char               *failed;
} Run;

static void
on_progress (LatheSession *session, guint64 job, gpointer p, Run *run)
{
  const LatheTrainProgress *progress = p;

  lathe_training_chart_add_step (run->chart, progress);
  run->n_progress++;
  run->n_ends += progress->epoch_end;
}

static void
on_done (LatheSession *session, guint64 job, LatheSessionResult *r, Run *run)
{
  lathe_training_chart_set_result (run->chart, r->epoch_loss, r->epoch_accuracy, r->untrained_accuracy);
  run->done = lathe_session_result_ref (r);
}

static void
on_failed (LatheSession *session, guint64 job, const char *message, Run *run)
{
  run->failed = g_strdup (message);
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
test_widget (void)
{
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) data = NULL;
  g_autoptr(GArray) mean = NULL, std = NULL;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autofree char *dir = g_dir_make_tmp ("lathe-training-XXXXXX", NULL);
  g_autofree char *png_path = g_build_filename (dir, "training.png", NULL);
  g_autofree char *svg_path = g_build_filename (dir, "training.svg", NULL);
  g_autoptr(GFile) png = g_file_new_for_path (png_path);
  g_autoptr(GFile) svg = g_file_new_for_path (svg_path);
  g_autofree char *untrained = NULL, *acc2 = NULL, *loss2 = NULL;
  LatheSession *session;
  GtkWindow *window;
  LatheTrainOptions o;
  Run run = { 0 };
  const char *desc;
  cairo_surface_t *surface;

  window = g_object_ref (GTK_WINDOW (gtk_window_new ()));
  gtk_window_set_default_size (window, 640, 360);
  run.chart = lathe_training_chart_new ();
  gtk_window_set_child (window, GTK_WIDGET (run.chart));
  gtk_window_present (window);
  assert_description (GTK_WIDGET (run.chart), "No training yet");

  data = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);
  if (data == NULL)
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      gtk_window_destroy (window);
      g_object_unref (window);
      return;
    }
  model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));
  session = lathe_session_new (model, data, (float *) mean->data, (float *) std->data, mean->len, &error);
  g_assert_no_error (error);
  g_signal_connect (session, "train-progress", G_CALLBACK (on_progress), &run);
  g_signal_connect (session, "train-done", G_CALLBACK (on_done), &run);
  g_signal_connect (session, "train-failed", G_CALLBACK (on_failed), &run);

  plan->defaults.width = 0.34;
  lathe_train_options_init (&o);
  o.epochs = 2;
  o.train_limit = 3000;
  o.eval_samples = 500;
  lathe_training_chart_reset (run.chart, o.epochs);
  g_assert_true (g_str_has_prefix (lathe_training_chart_get_description (run.chart), "0 of 2 epochs"));
  lathe_session_train (session, plan, &o, NULL);
  lathe_test_iterate_until (run.done != NULL || run.failed != NULL);
  g_assert_null (run.failed);
  g_assert_cmpuint (run.n_ends, ==, 2);
  g_assert_cmpuint (run.n_progress, >, run.n_ends);
  g_assert_cmpuint (lathe_training_chart_get_n_epochs_done (run.chart), ==, 2);

  /* the description reads the run's figures */
  desc = lathe_training_chart_get_description (run.chart);
  untrained = lathe_format_accuracy (run.done->untrained_accuracy);
  acc2 = lathe_format_accuracy (g_array_index (run.done->epoch_accuracy, double, 1));
  loss2 = g_strdup_printf ("loss %.4f", g_array_index (run.done->epoch_loss, double, 1));
  g_test_message ("%s", desc);
  g_assert_true (g_str_has_prefix (desc, "2 of 2 epochs"));
  g_assert_nonnull (strstr (desc, untrained));
  g_assert_nonnull (strstr (desc, acc2));
  g_assert_nonnull (strstr (desc, loss2));
  g_assert_nonnull (strstr (desc, "epoch 1: loss"));
  g_assert_null (strstr (desc, "so far"));
  assert_description (GTK_WIDGET (run.chart), desc);

  /* it saves what it shows: two series in the saved image */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  g_assert_true (lathe_training_chart_save (run.chart, png, LATHE_CHART_FORMAT_PNG, &error));
  g_assert_no_error (error);
  assert_saved (png, LATHE_CHART_FORMAT_PNG);
  g_assert_true (lathe_training_chart_save (run.chart, svg, LATHE_CHART_FORMAT_SVG, &error));
  g_assert_no_error (error);
  assert_saved (svg, LATHE_CHART_FORMAT_SVG);
  surface = cairo_image_surface_create_from_png (png_path);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  {
    g_auto(LatheChartPalette) palette = { 0 };
    LatheChartRect all = { 0, 0, cairo_image_surface_get_width (surface), cairo_image_surface_get_height (surface) };
    lathe_chart_palette_init (&palette, adw_style_manager_get_dark (adw_style_manager_get_default ()), FALSE);
    g_assert_cmpint (count_in (surface, &all, over (&palette.front, &palette.background)), >, 50);
    g_assert_cmpint (count_in (surface, &all, over (&palette.current, &palette.background)), >, 50);
  }
  cairo_surface_destroy (surface);
  if (g_getenv ("LATHE_TEST_CHART_DIR"))
    {
      g_autofree char *keep = g_build_filename (g_getenv ("LATHE_TEST_CHART_DIR"), "training-widget.png", NULL);
      g_autoptr(GFile) keep_file = g_file_new_for_path (keep);
      g_mkdir_with_parents (g_getenv ("LATHE_TEST_CHART_DIR"), 0755);
      g_assert_true (lathe_training_chart_save (run.chart, keep_file, LATHE_CHART_FORMAT_PNG, &error));
    }

  /* reset forgets the run */
  lathe_training_chart_reset (run.chart, 3);
  g_assert_cmpuint (lathe_training_chart_get_n_epochs_done (run.chart), ==, 0);
  g_assert_true (g_str_has_prefix (lathe_training_chart_get_description (run.chart), "0 of 3 epochs"));

  lathe_session_wait_training (session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_signal_handlers_disconnect_by_data (session, &run);
  g_assert_finalize_object (session);
  lathe_session_result_unref (run.done);
  gtk_window_destroy (window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (window);
  lathe_test_remove_tree (dir);
}

/* A step streams into the description; an epoch's end records it. */
static void
test_widget_steps (void)
{
  g_autoptr(LatheTrainingChart) chart = g_object_ref_sink (lathe_training_chart_new ());
  LatheTrainProgress p = { .epoch = 1, .epochs = 2, .step = 5, .steps_per_epoch = 10, .global_step = 5,
                           .loss = 1.25, .accuracy = NAN };
  const char *desc;

  lathe_training_chart_reset (chart, 2);
  lathe_training_chart_add_step (chart, &p);
  desc = lathe_training_chart_get_description (chart);
  g_assert_nonnull (strstr (desc, "epoch 1 so far: loss 1.2500"));
  p.step = 10, p.global_step = 10, p.loss = 0.75, p.epoch_end = TRUE, p.accuracy = 0.8125;
  lathe_training_chart_add_step (chart, &p);
  desc = lathe_training_chart_get_description (chart);
  g_assert_cmpuint (lathe_training_chart_get_n_epochs_done (chart), ==, 1);
  g_assert_true (g_str_has_prefix (desc, "1 of 2 epochs"));
  g_assert_nonnull (strstr (desc, "epoch 1: loss 0.7500, accuracy 81.25"));
  g_assert_null (strstr (desc, "so far"));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/lathe/app/training-chart/draw-light", test_draw_light);
  g_test_add_func ("/lathe/app/training-chart/draw-dark", test_draw_dark);
  g_test_add_func ("/lathe/app/training-chart/draw-empty", test_draw_empty);
  g_test_add_func ("/lathe/app/training-chart/widget-steps", test_widget_steps);
  g_test_add_func ("/lathe/app/training-chart/widget-session", test_widget);
  return g_test_run ();
}
