/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-window"

/* The explorer window, in process: open the sample through its action,
 * wait for the worker, move sliders through their adjustments and read
 * what a person would read. Runs under Xvfb with GDK_DEBUG=gl-disable,
 * GSK_RENDERER=cairo and GTK_A11Y=test. */

#include <string.h>

#include <adwaita.h>

#include "lathe-app-format.h"
#include "lathe-layer-item.h"
#include "lathe-layer-table-private.h"
#include "lathe-scoreboard-private.h"
#include "lathe-window-private.h"

#include "app-test-util.h"

/* ---------------------------------------------------------------------- */

static void
test_format (void)
{
  static const int bits[] = { 1, 2, 3, 4, 5, 6, 7, 8, 16, 32 };
  g_autofree char *ratio = NULL;
  g_autofree char *near = NULL;
  g_autofree char *same = NULL;
  g_autofree char *down = NULL;
  g_autofree char *none = NULL;
  g_autofree char *shape = NULL;
  char *count;

  G_STATIC_ASSERT (G_N_ELEMENTS (bits) == LATHE_BITS_POSITIONS);
  for (int i = 0; i < LATHE_BITS_POSITIONS; i++)
    {
      g_assert_cmpint (lathe_bits_for_position (i), ==, bits[i]);
      g_assert_cmpfloat (lathe_position_for_bits (bits[i]), ==, i);
    }
  /* out of range positions clamp; a drag between marks rounds */
  g_assert_cmpint (lathe_bits_for_position (-3), ==, 1);
  g_assert_cmpint (lathe_bits_for_position (42), ==, 32);
  g_assert_cmpint (lathe_bits_for_position (7.6), ==, 16);

  ratio = lathe_format_size_ratio (247176, 32600);
  g_assert_cmpstr (ratio, ==, "7.58× smaller");
  near = lathe_format_size_ratio (247176, 246800);
  g_assert_cmpstr (near, ==, "0.2\u00a0% smaller");
  same = lathe_format_size_ratio (1000, 1000);
  g_assert_cmpstr (same, ==, "Same size");
  down = lathe_format_points (0.8836 - 0.8951);
  g_assert_cmpstr (down, ==, "−1.15 points");
  none = lathe_format_points (0.00001);
  g_assert_cmpstr (none, ==, "No change");
  count = lathe_format_count (1234567);
  g_assert_cmpstr (count, ==, "1\u202f234\u202f567");
  g_free (count);
  count = lathe_format_count (600);
  g_assert_cmpstr (count, ==, "600");
  shape = lathe_format_shape (60, 120, 400);
  g_assert_cmpstr (shape, ==, "60 of 120 × 400");
}

static void
test_empty (void)
{
  LatheWindow *window = window_new ();

  g_assert_cmpstr (_lathe_window_get_page (window), ==, "empty");
  g_assert_null (lathe_window_get_file (window));
  g_assert_false (lathe_window_get_evaluating (window));
  g_assert_null (_lathe_window_get_error (window));
  window_free (window);
}

static void
test_open_error (void)
{
  LatheWindow *window = window_new ();
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, "not-a-model.onnx", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  const char *message;

  g_assert_true (g_file_set_contents (path, "this is not protobuf", -1, &error));
  g_assert_no_error (error);

  lathe_window_open (window, file);
  g_assert_cmpstr (_lathe_window_get_page (window), ==, "loading");
  g_assert_true (wait_until (window, error_shown));

  /* The message names the file and what is wrong with it. */
  message = _lathe_window_get_error (window);
  g_test_message ("error: %s", message);
  g_assert_nonnull (strstr (message, "not-a-model.onnx"));
  g_assert_nonnull (strstr (message, "not a valid ONNX model"));
  g_assert_cmpstr (_lathe_window_get_page (window), ==, "empty");
  g_assert_null (lathe_window_get_file (window));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.dismiss-error", NULL);
  g_assert_null (_lathe_window_get_error (window));
  window_free (window);
}

static void
test_sample (void)
{
  LatheWindow *window = window_new ();
  LatheScoreboard *scoreboard = _lathe_window_get_scoreboard (window);
  GtkWidget *table = GTK_WIDGET (_lathe_layer_table_get_column_view (_lathe_window_get_layer_table (window)));
  LatheSessionResult *baseline;
  LatheSessionResult *result;   /* the window's; valid until the next result */
  LatheLayerItem *fc1;
  GtkWidget *scale;
  guint64 packed_4bit;
  g_autofree char *size_before = NULL;
  g_autofree char *accuracy_before = NULL;
  g_autofree char *fc1_stored_before = NULL;
  g_autofree char *path = NULL;
  g_autofree char *original_size = NULL;
  g_autofree char *original_accuracy = NULL;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL));
  g_assert_cmpstr (_lathe_window_get_page (window), ==, "loading");
  g_assert_true (wait_until (window, model_shown));
  g_assert_null (_lathe_window_get_error (window));
  g_assert_cmpstr (_lathe_window_get_page (window), ==, "model");
  path = g_file_get_basename (lathe_window_get_file (window));
  g_assert_cmpstr (path, ==, "fashion-cnn.onnx");

  /* The baseline: the source model on all of Fashion-MNIST's test set. */
  baseline = _lathe_window_get_baseline (window);
  g_assert_nonnull (baseline);
  g_assert_cmpuint (baseline->n_samples, ==, 10000);
  g_assert_cmpfloat (baseline->accuracy, >, 0.85);
  original_size = g_format_size (baseline->baseline_bytes);
  g_assert_cmpstr (original_size, ==, "247.2\u00a0kB");
  original_accuracy = lathe_format_accuracy (baseline->accuracy);

  /* The first plan (nothing compressed) is measured by itself. */
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));
  result = _lathe_window_get_result (window);
  g_assert_cmpfloat_with_epsilon (result->accuracy, baseline->accuracy, 1e-9);
  size_before = g_strdup (label_text (_lathe_scoreboard_get_size_label (scoreboard)));
  accuracy_before = g_strdup (label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)));
  g_test_message ("uncompressed: %s, %s", size_before, accuracy_before);
  g_assert_true (g_str_has_prefix (size_before, original_size));
  g_assert_true (g_str_has_prefix (accuracy_before, original_accuracy));
  g_assert_cmpstr (label_text (_lathe_scoreboard_get_accuracy_delta_label (scoreboard)), ==, "No change");

  /* Every slider says which layer it is for. */
  g_assert_nonnull (find_scale (table, "Bits for conv1.weight"));
  g_assert_nonnull (find_scale (table, "Sparsity for fc2.weight"));
  scale = find_scale (table, "Width for fc3.weight");
  g_assert_nonnull (scale);
  /* the classifier's output width is fixed */
  g_assert_false (gtk_widget_is_sensitive (scale));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (gtk_widget_get_parent (scale)), "fixed"));
  scale = find_scale (table, "Bits for fc1.weight");
  g_assert_nonnull (scale);
  gtk_test_accessible_assert_role (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_ROLE_SLIDER);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, "Bits for fc1.weight");

  /* The global bits slider at 4: every layer follows, the figures follow. */
  fc1 = find_item (window, "fc1.weight");
  g_assert_nonnull (fc1);
  fc1_stored_before = g_strdup (lathe_layer_item_get_stored (fc1));
  gtk_adjustment_set_value (_lathe_window_get_bits_adjustment (window), lathe_position_for_bits (4));
  g_assert_true (lathe_window_get_evaluating (window));
  g_assert_cmpint (lathe_layer_item_get_bits (fc1), ==, 4);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (scale)), ==, lathe_position_for_bits (4));
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));

  result = _lathe_window_get_result (window);
  g_assert_cmpint (result->stage, ==, LATHE_STAGE_FULL);
  g_assert_cmpuint (result->packed_bytes, <, baseline->baseline_bytes / 6);
  packed_4bit = result->packed_bytes;
  g_test_message ("4 bits: %s (%s), %s %s",
                  label_text (_lathe_scoreboard_get_size_label (scoreboard)),
                  label_text (_lathe_scoreboard_get_size_detail_label (scoreboard)),
                  label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)),
                  label_text (_lathe_scoreboard_get_accuracy_delta_label (scoreboard)));
  g_assert_cmpstr (label_text (_lathe_scoreboard_get_size_label (scoreboard)), !=, size_before);
  g_assert_true (g_str_has_prefix (label_text (_lathe_scoreboard_get_size_label (scoreboard)), original_size));
  g_assert_nonnull (strstr (label_text (_lathe_scoreboard_get_size_label (scoreboard)), " → "));
  /* "7.58× smaller · ONNX file 35.3 kB": the export's real size beside the ratio */
  g_assert_nonnull (strstr (label_text (_lathe_scoreboard_get_size_detail_label (scoreboard)), "× smaller"));
  g_assert_cmpuint (result->onnx_bytes, >, 0);
  {
    g_autofree char *file = g_format_size (result->onnx_bytes);
    g_assert_true (g_str_has_suffix (label_text (_lathe_scoreboard_get_size_detail_label (scoreboard)), file));
  }
  g_assert_cmpstr (label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)), !=, accuracy_before);
  g_assert_true (g_str_has_prefix (label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)), original_accuracy));
  g_assert_nonnull (strstr (label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)), " → "));
  g_assert_true (g_str_has_suffix (label_text (_lathe_scoreboard_get_accuracy_delta_label (scoreboard)), " points"));
  g_assert_cmpstr (label_text (_lathe_scoreboard_get_accuracy_note_label (scoreboard)), ==, "All 10000 samples");
  g_assert_cmpstr (lathe_layer_item_get_stored (fc1), !=, fc1_stored_before);
  g_assert_true (g_str_has_prefix (lathe_layer_item_get_status (fc1), "4-bit"));

  /* One layer's own slider: only that layer changes. */
  scale = find_scale (table, "Sparsity for fc1.weight");
  g_assert_nonnull (scale);
  gtk_range_set_value (GTK_RANGE (scale), 50);
  g_assert_cmpfloat_with_epsilon (lathe_layer_item_get_sparsity (fc1), 0.5, 1e-12);
  g_assert_cmpfloat (lathe_layer_item_get_sparsity (find_item (window, "fc2.weight")), ==, 0.0);
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));
  g_assert_nonnull (strstr (lathe_layer_item_get_status (fc1), "pruned"));
  g_assert_null (strstr (lathe_layer_item_get_status (find_item (window, "fc2.weight")), "pruned"));
  g_assert_cmpuint (_lathe_window_get_result (window)->packed_bytes, <, packed_4bit);

  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  save_png (GTK_WIDGET (window), "lathe-window.png");

  window_free (window);
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);

  g_test_add_func ("/lathe/app/format", test_format);
  g_test_add_func ("/lathe/app/window/empty", test_empty);
  g_test_add_func ("/lathe/app/window/open-error", test_open_error);
  g_test_add_func ("/lathe/app/window/sample", test_sample);
  return g_test_run ();
}
