/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-edit"

/* Editing in the explorer window: one drag is one undo step, undo and redo
 * bring back the figures, presets and reset, pipeline files saved and
 * opened again. The figures are checked against the engine's own for the
 * same plan. */

#include <glib/gstdio.h>

#include "lathe-app-format.h"
#include "lathe-export-dialog-private.h"
#include "lathe-scoreboard-private.h"
#include "pipeline/lathe-pipeline.h"
#include "lathe-test-util.h"

#include "app-test-util.h"

static gboolean
step_recorded (LatheWindow *window)
{
  return lathe_history_get_n_undo (_lathe_window_get_history (window)) > 0;
}

static gboolean
open_and_measure_sample (LatheWindow *window)
{
  return gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL) &&
         wait_until (window, model_shown) && _lathe_window_get_error (window) == NULL &&
         wait_until (window, measured) && _lathe_window_get_error (window) == NULL;
}

/* The engine's figures for `plan` on the sample, from a session of our own. */
static LatheSessionResult *
engine_result (const LathePlan *plan)
{
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) data = NULL;
  g_autoptr(LatheSession) session = NULL;
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  g_autoptr(GError) error = NULL;
  LatheSessionResult *result;

  model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));
  data = lathe_dataset_new_from_spec ("fashion-mnist", NULL, &error);
  g_assert_no_error (error);
  session = lathe_session_new (model, data, (float *) (gpointer) mean->data, (float *) (gpointer) std->data,
                               mean->len, &error);
  g_assert_no_error (error);
  result = lathe_session_evaluate (session, plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  return result;
}

/* What the scoreboard must say for `r`. */
static void
assert_scoreboard_shows (LatheWindow        *window,
                         LatheSessionResult *r)
{
  LatheScoreboard *scoreboard = _lathe_window_get_scoreboard (window);
  g_autofree char *size = g_format_size (r->packed_bytes);
  g_autofree char *accuracy = lathe_format_accuracy (r->accuracy);
  const char *size_label = label_text (_lathe_scoreboard_get_size_label (scoreboard));
  const char *accuracy_label = label_text (_lathe_scoreboard_get_accuracy_label (scoreboard));

  g_test_message ("scoreboard: %s, %s; engine: %s, %s", size_label, accuracy_label, size, accuracy);
  g_assert_true (g_str_has_suffix (size_label, size));
  g_assert_true (g_str_has_suffix (accuracy_label, accuracy));
}

static void
test_undo (void)
{
  LatheWindow *window = window_new ();
  GtkWidget *table;
  GtkWidget *scale;
  LatheLayerItem *fc1;
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LathePlan) identity = lathe_plan_new ();
  g_autoptr(LatheSessionResult) expected = NULL;
  g_autoptr(LatheSessionResult) expected_identity = NULL;
  LatheLayerSettings *s;

  g_assert_true (open_and_measure_sample (window));
  g_assert_false (step_recorded (window));
  expected_identity = engine_result (identity);
  assert_scoreboard_shows (window, expected_identity);

  /* A drag from 32 down to 4 bits on fc1: many values, one step. */
  table = GTK_WIDGET (_lathe_layer_table_get_column_view (_lathe_window_get_layer_table (window)));
  scale = find_scale (table, "Bits for fc1.weight");
  g_assert_nonnull (scale);
  for (double p = lathe_position_for_bits (32); p >= lathe_position_for_bits (4); p -= 0.25)
    {
      gtk_range_set_value (GTK_RANGE (scale), p);
      drain ();
    }
  fc1 = find_item (window, "fc1.weight");
  g_assert_cmpint (lathe_layer_item_get_bits (fc1), ==, 4);
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc2.weight")), ==, 32);
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));

  s = lathe_plan_layer (plan, "fc1.weight");
  s->bits = 4;
  s->set |= LATHE_FIELD_BITS;
  expected = engine_result (plan);
  g_assert_cmpuint (_lathe_window_get_result (window)->packed_bytes, ==, expected->packed_bytes);
  g_assert_cmpfloat (_lathe_window_get_result (window)->accuracy, ==, expected->accuracy);
  assert_scoreboard_shows (window, expected);

  g_assert_true (wait_until (window, step_recorded));
  g_assert_cmpuint (lathe_history_get_n_undo (_lathe_window_get_history (window)), ==, 1);
  g_assert_true (lathe_plan_equal (lathe_history_get_current (_lathe_window_get_history (window)), plan));

  /* Undo: the slider and the figures of the uncompressed model. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpint (lathe_layer_item_get_bits (fc1), ==, 32);
  g_assert_cmpfloat (gtk_range_get_value (GTK_RANGE (scale)), ==, lathe_position_for_bits (32));
  g_assert_true (wait_until (window, measured));
  assert_scoreboard_shows (window, expected_identity);
  g_assert_cmpuint (_lathe_window_get_result (window)->packed_bytes, ==, expected_identity->packed_bytes);

  /* Redo: the 4-bit figures again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.redo", NULL));
  g_assert_cmpint (lathe_layer_item_get_bits (fc1), ==, 4);
  g_assert_true (wait_until (window, measured));
  assert_scoreboard_shows (window, expected);

  /* Both plans are points of the size–accuracy plane, on the full set,
   * with the engine's figures. A value the drag passed through may be a
   * point too when the worker finished it before the next one came. */
  {
    GPtrArray *points = _lathe_window_get_measured (window);
    gboolean have_identity = FALSE, have_plan = FALSE;

    for (guint i = 0; i < points->len; i++)
      {
        LatheMeasured *m = g_ptr_array_index (points, i);
        if (!m->full)
          continue;
        if (lathe_plan_equal (m->plan, identity))
          {
            g_assert_cmpuint (m->packed_bytes, ==, expected_identity->packed_bytes);
            g_assert_cmpfloat (m->accuracy, ==, expected_identity->accuracy);
            have_identity = TRUE;
          }
        else if (lathe_plan_equal (m->plan, plan))
          {
            g_assert_cmpuint (m->packed_bytes, ==, expected->packed_bytes);
            g_assert_cmpfloat (m->accuracy, ==, expected->accuracy);
            have_plan = TRUE;
          }
      }
    g_assert_true (have_identity);
    g_assert_true (have_plan);
  }

  window_free (window);
}

static void
test_presets (void)
{
  LatheWindow *window = window_new ();
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheSessionResult) expected = NULL;
  guint64 identity_bytes;

  g_assert_true (open_and_measure_sample (window));
  identity_bytes = _lathe_window_get_result (window)->packed_bytes;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.preset", "s", "int4-channel"));
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "conv1.weight")), ==, 4);
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc3.weight")), ==, 4);
  g_assert_cmpuint (lathe_history_get_n_undo (_lathe_window_get_history (window)), ==, 1);
  g_assert_true (wait_until (window, measured));
  plan->defaults.bits = 4;
  expected = engine_result (plan);
  assert_scoreboard_shows (window, expected);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.preset", "s", "sparse50"));
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc1.weight")), ==, 32);
  g_assert_cmpfloat (lathe_layer_item_get_sparsity (find_item (window, "fc1.weight")), ==, 0.5);
  g_assert_true (wait_until (window, measured));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reset", NULL));
  g_assert_cmpfloat (lathe_layer_item_get_sparsity (find_item (window, "fc1.weight")), ==, 0.0);
  g_assert_true (wait_until (window, measured));
  g_assert_cmpuint (_lathe_window_get_result (window)->packed_bytes, ==, identity_bytes);
  g_assert_cmpuint (lathe_history_get_n_undo (_lathe_window_get_history (window)), ==, 3);

  /* Undo walks back through them. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpfloat (lathe_layer_item_get_sparsity (find_item (window, "fc1.weight")), ==, 0.5);
  window_free (window);
}

static void
test_pipeline (void)
{
  LatheWindow *window = window_new ();
  g_autofree char *dir = g_dir_make_tmp ("lathe-test-edit-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "session.pipeline.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(LathePipeline) pipeline = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePlan) saved = NULL;
  g_autofree char *model_path = NULL;
  guint64 bytes;
  LatheWindow *second;

  g_assert_true (open_and_measure_sample (window));
  gtk_range_set_value (GTK_RANGE (find_scale (GTK_WIDGET (_lathe_layer_table_get_column_view (_lathe_window_get_layer_table (window))),
                                              "Sparsity for conv2.weight")), 60);
  gtk_adjustment_set_value (_lathe_window_get_bits_adjustment (window), lathe_position_for_bits (6));
  g_assert_true (wait_until (window, measured));
  bytes = _lathe_window_get_result (window)->packed_bytes;

  g_assert_true (_lathe_window_save_pipeline (window, file, &error));
  g_assert_no_error (error);
  pipeline = lathe_pipeline_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pipeline->plan->defaults.bits, ==, 6);
  g_assert_cmpstr (pipeline->data_spec, ==, "fashion-mnist");
  g_assert_nonnull (pipeline->model_sha256);
  model_path = lathe_pipeline_resolve_path (pipeline, path, pipeline->model_path);
  g_assert_true (g_file_test (model_path, G_FILE_TEST_IS_REGULAR));
  saved = _lathe_window_build_plan (window);
  g_assert_true (lathe_plan_equal (pipeline->plan, saved));

  /* Another window resumes it: the same sliders, the same figures. */
  second = window_new ();
  g_assert_true (_lathe_window_open_pipeline (second, file, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (second, model_shown));
  g_assert_null (_lathe_window_get_error (second));
  g_assert_true (wait_until (second, measured));
  g_assert_cmpfloat (lathe_layer_item_get_sparsity (find_item (second, "conv2.weight")), ==, 0.6);
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (second, "fc1.weight")), ==, 6);
  g_assert_cmpuint (_lathe_window_get_result (second)->packed_bytes, ==, bytes);
  g_assert_false (lathe_history_can_undo (_lathe_window_get_history (second)));
  window_free (second);

  /* A layer the model does not have: the error names the file and the layer. */
  {
    g_autofree char *text = NULL;
    g_autofree char *bad = g_build_filename (dir, "bad.pipeline.json", NULL);
    g_autoptr(GFile) bad_file = g_file_new_for_path (bad);
    g_autoptr(GString) edited = NULL;
    const char *message;

    g_assert_true (g_file_get_contents (path, &text, NULL, &error));
    edited = g_string_new (text);
    g_assert_cmpuint (g_string_replace (edited, "\"conv2.weight\"", "\"conv9.weight\"", 1), ==, 1);
    g_assert_true (g_file_set_contents (bad, edited->str, -1, &error));

    second = window_new ();
    g_assert_true (_lathe_window_open_pipeline (second, bad_file, &error));
    g_assert_true (wait_until (second, error_shown));
    message = _lathe_window_get_error (second);
    g_test_message ("error: %s", message);
    g_assert_nonnull (strstr (message, "bad.pipeline.json"));
    g_assert_nonnull (strstr (message, "conv9.weight"));
    window_free (second);
    g_unlink (bad);
  }

  /* A pipeline whose model is gone: refused before anything loads. */
  {
    g_autofree char *moved = g_build_filename (dir, "elsewhere.pipeline.json", NULL);
    g_autoptr(GFile) moved_file = g_file_new_for_path (moved);

    pipeline->model_path = (g_free (pipeline->model_path), g_strdup ("no-such-model.onnx"));
    g_assert_true (lathe_pipeline_save (pipeline, moved, &error));
    g_assert_false (_lathe_window_open_pipeline (window, moved_file, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "elsewhere.pipeline.json"));
    g_assert_nonnull (strstr (error->message, "no-such-model.onnx"));
    g_clear_error (&error);
    g_unlink (moved);
  }

  window_free (window);
  lathe_test_remove_tree (dir);
}

static gboolean
have_histogram_levels (LatheWindow *window)
{
  const LatheWeightSummary *summary = lathe_histogram_chart_get_summary (_lathe_window_get_histogram_chart (window));

  return summary != NULL && summary->bits == 3;
}

static gboolean
have_fc1_histogram (LatheWindow *window)
{
  const LatheWeightSummary *summary = lathe_histogram_chart_get_summary (_lathe_window_get_histogram_chart (window));

  return summary != NULL && g_str_equal (summary->layer, "fc1.weight");
}

static LatheExportDialog *
find_export_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
      if (LATHE_IS_EXPORT_DIALOG (w))
        return LATHE_EXPORT_DIALOG (w);
    }
  return NULL;
}

static void
exported_cb (LatheExportDialog *dialog,
             GFile             *dir,
             gboolean          *done)
{
  *done = TRUE;
}

/* The charts follow the plans; export from the window adds them to the
 * artifact, which lathe-cli check accepts. */
static void
test_charts_and_export (void)
{
  LatheWindow *window = window_new ();
  LathePlaneChart *plane = _lathe_window_get_plane_chart (window);
  LatheExportDialog *dialog;
  g_autofree char *tmp = g_dir_make_tmp ("lathe-test-export-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmp, "cnn-3bit", NULL);
  g_autoptr(GFile) dir = g_file_new_for_path (out);
  g_autofree char *pipeline = g_build_filename (out, "pipeline.json", NULL);
  const char *cli = g_getenv ("LATHE_CLI");
  gboolean done = FALSE;
  const char *description;

  g_assert_true (open_and_measure_sample (window));
  g_assert_cmpuint (lathe_plane_chart_get_n_points (plane), ==, 1);
  g_assert_cmpuint (lathe_size_chart_get_n_bars (_lathe_window_get_size_chart (window)), ==, 5);

  gtk_adjustment_set_value (_lathe_window_get_bits_adjustment (window), lathe_position_for_bits (3));
  g_assert_true (wait_until (window, measured));
  g_assert_true (wait_until (window, have_histogram_levels));
  g_assert_cmpuint (lathe_histogram_chart_get_summary (_lathe_window_get_histogram_chart (window))->n_levels, <=, 8);
  g_assert_cmpuint (lathe_plane_chart_get_n_points (plane), ==, 2);
  g_assert_cmpint (lathe_plane_chart_get_current (plane), >=, 0);
  description = lathe_plane_chart_get_description (plane);
  g_test_message ("plane: %s", description);
  g_assert_nonnull (strstr (description, "2 configurations"));

  /* A click on the first point brings the uncompressed plan back. */
  g_signal_emit_by_name (plane, "point-activated", (guint) lathe_plane_chart_find_plan (plane, 0));
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc1.weight")), ==, 32);
  g_assert_true (wait_until (window, measured));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc1.weight")), ==, 3);
  g_assert_true (wait_until (window, measured));

  /* The main state with charts, for the README and the metainfo
   * (data/screenshots/window.png is a copy of it). */
  gtk_window_set_default_size (GTK_WINDOW (window), 1240, 1200);
  /* fc1, the biggest layer, in the histogram */
  gtk_single_selection_set_selected (GTK_SINGLE_SELECTION (gtk_column_view_get_model (
    _lathe_layer_table_get_column_view (_lathe_window_get_layer_table (window)))), 2);
  g_assert_true (wait_until (window, have_fc1_histogram));
  drain ();
  /* a frame is due even if the window manager-less display kept the size */
  gtk_widget_queue_draw (GTK_WIDGET (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  save_png (GTK_WIDGET (window), "lathe-window-3bit.png");

  /* Pin the 3-bit plan, move on to 5 bits: the compare pane has both. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.pin", NULL));
  gtk_adjustment_set_value (_lathe_window_get_bits_adjustment (window), lathe_position_for_bits (5));
  g_assert_true (wait_until (window, measured));
  g_assert_true (lathe_compare_pane_get_has_pinned (_lathe_window_get_compare_pane (window)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_true (wait_until (window, measured));
  g_assert_cmpint (lathe_layer_item_get_bits (find_item (window, "fc1.weight")), ==, 3);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.export", NULL));
  dialog = find_export_dialog ();
  g_assert_nonnull (dialog);
  g_signal_connect (dialog, "exported", G_CALLBACK (exported_cb), &done);
  lathe_export_dialog_export_to (dialog, dir);
  lathe_test_iterate_until (done);
  for (guint i = 0; i < 3; i++)
    {
      const char *names[] = { "size-accuracy.svg", "weights.svg", "layer-sizes.svg" };
      g_autofree char *path = g_build_filename (out, names[i], NULL);
      g_autofree char *text = NULL;

      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_nonnull (strstr (text, "<svg"));
    }
  if (cli != NULL)
    {
      const char *argv[] = { cli, "check", pipeline, NULL };
      g_autofree char *stdout_text = NULL;
      g_autofree char *stderr_text = NULL;
      g_autoptr(GError) error = NULL;
      int status = 0;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &stdout_text, &stderr_text, &status, &error));
      g_test_message ("lathe-cli check: %s%s", stdout_text, stderr_text);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
    }
  gtk_window_destroy (GTK_WINDOW (dialog));
  window_free (window);
  lathe_test_remove_tree (tmp);
}

static gboolean
training_over (LatheWindow *window)
{
  return window->training_job == 0;
}

/* Width 34 % on the MLP's hidden layers, then Distil: the curve fills in,
 * the figures say "untrained" until it ends and "trained" after, and they
 * beat the untrained student; going back to the plan later shows the
 * trained figures again at once. */
static void
test_distil (void)
{
  LatheWindow *window = window_new ();
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  LatheScoreboard *scoreboard = _lathe_window_get_scoreboard (window);
  double untrained;
  guint64 bytes;

  _lathe_window_set_train_limit (window, 4000);
  lathe_window_open (window, file);
  g_assert_true (wait_until (window, model_shown));
  g_assert_true (wait_until (window, measured));
  g_assert_cmpstr (_lathe_scoreboard_get_student_text (scoreboard), ==, "");

  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 34);
  g_assert_true (wait_until (window, measured));
  untrained = _lathe_window_get_result (window)->accuracy;
  bytes = _lathe_window_get_result (window)->packed_bytes;
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (scoreboard), "Untrained"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train", "s", "distill"));
  g_assert_cmpuint (window->training_job, !=, 0);
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (scoreboard), "Untrained"));
  g_assert_true (wait_until (window, training_over));
  g_assert_null (_lathe_window_get_error (window));
  g_test_message ("training: %s; scoreboard %s", _lathe_window_get_training_status (window),
                  label_text (_lathe_scoreboard_get_accuracy_label (scoreboard)));
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (scoreboard), "Trained student, 3 epochs"));
  g_assert_cmpuint (lathe_training_chart_get_n_epochs_done (_lathe_window_get_training_chart (window)), ==, 3);
  g_assert_nonnull (strstr (lathe_plane_chart_get_description (_lathe_window_get_plane_chart (window)),
                            "trained student"));
  g_assert_nonnull (strstr (_lathe_window_get_training_status (window), "Trained"));
  gtk_widget_queue_draw (GTK_WIDGET (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  save_png (GTK_WIDGET (window), "lathe-window-distilled.png");

  /* Away and back: the cached student's figures, with no training. */
  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 100);
  g_assert_true (wait_until (window, measured));
  g_assert_cmpstr (_lathe_scoreboard_get_student_text (scoreboard), ==, "");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_true (wait_until (window, measured));
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (scoreboard), "Trained student"));
  g_assert_cmpuint (window->training_job, ==, 0);
  {
    g_autofree char *shown = NULL;
    const char *label = label_text (_lathe_scoreboard_get_accuracy_label (scoreboard));
    g_autofree char *before = lathe_format_accuracy (untrained);

    g_test_message ("untrained %s, now %s, %" G_GUINT64_FORMAT " bytes", before, label, bytes);
    g_assert_false (g_str_has_suffix (label, before));
  }

  /* Cancel leaves the untrained figures and says so. */
  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 50);
  g_assert_true (wait_until (window, measured));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train", "s", "distill"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel-training", NULL));
  g_assert_true (wait_until (window, training_over));
  g_assert_nonnull (strstr (_lathe_window_get_training_status (window), "cancelled"));
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (scoreboard), "Untrained"));
  g_assert_null (_lathe_window_get_error (window));

  /* Fine-tuning a plan without pruning is refused, in words. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train", "s", "finetune"));
  g_assert_cmpuint (window->training_job, ==, 0);
  g_assert_nonnull (_lathe_window_get_error (window));
  g_assert_nonnull (strstr (_lathe_window_get_error (window), "Sparsity"));
  g_test_message ("finetune error: %s", _lathe_window_get_error (window));

  window_free (window);
}

/* ---------------------------------------------------------------------- */
/* Exporting a trained student                                             */

#define TRAINED_LIMIT 2048

static gboolean
export_settled (gpointer data)
{
  LatheExportDialog *dialog = data;

  return !_lathe_export_dialog_get_busy (dialog) &&
         (g_str_equal (_lathe_export_dialog_get_page (dialog), "done") ||
          _lathe_export_dialog_get_error (dialog) != NULL);
}

/* win.export, then Export to `out`: the dialog on its done page (ref'd). */
static LatheExportDialog *
export_from_window (LatheWindow *window,
                    const char  *out)
{
  g_autoptr(GFile) dir = g_file_new_for_path (out);
  LatheExportDialog *dialog;

  g_assert_null (find_export_dialog ());
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.export", NULL));
  dialog = find_export_dialog ();
  g_assert_nonnull (dialog);
  g_object_ref (dialog);
  lathe_export_dialog_export_to (dialog, dir);
  g_assert_true (wait_for (export_settled, dialog));
  g_assert_cmpstr (_lathe_export_dialog_get_error (dialog), ==, NULL);
  g_assert_cmpstr (_lathe_export_dialog_get_page (dialog), ==, "done");
  return dialog;
}

static void
close_export_dialog (LatheExportDialog *dialog)
{
  gtk_window_destroy (GTK_WINDOW (dialog));
  drain ();
  g_object_unref (dialog);
}

/* pipeline.json's member `name` as JSON text, or NULL when it is absent
 * or null. */
static char *
pipeline_member (const char *dir,
                 const char *name)
{
  g_autofree char *path = g_build_filename (dir, "pipeline.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (root, name) || JSON_NODE_HOLDS_NULL (json_object_get_member (root, name)))
    return NULL;
  return json_to_string (json_object_get_member (root, name), FALSE);
}

static void
assert_cli_check (const char *cli,
                  const char *dir)
{
  g_autofree char *pipeline = g_build_filename (dir, "pipeline.json", NULL);
  const char *argv[] = { cli, "check", pipeline, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = lathe_test_spawn (argv, &out, &err);

  g_test_message ("lathe-cli check %s: %s%s", dir, out, err);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "sha256 matches"));
}

/* A width plan on the MLP, exported untrained, then distilled in the
 * window and exported again: the second artifact is the trained student,
 * as lathe-cli distill writes it — "training" in pipeline.json, the
 * training report, other weights than the untrained export, accepted by
 * the real lathe-cli check — and the command the dialog shows is a
 * lathe-cli distill that, run, writes the same model.onnx bit for bit. */
static void
test_export_trained (void)
{
  LatheWindow *window = window_new ();
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *tmp = g_dir_make_tmp ("lathe-test-trained-XXXXXX", NULL);
  g_autofree char *untrained_dir = g_build_filename (tmp, "untrained", NULL);
  g_autofree char *trained_dir = g_build_filename (tmp, "trained student", NULL);
  g_autofree char *untrained_onnx = g_build_filename (untrained_dir, "model.onnx", NULL);
  g_autofree char *trained_onnx = g_build_filename (trained_dir, "model.onnx", NULL);
  g_autofree char *moved = g_build_filename (tmp, "trained student.app", NULL);
  g_autofree char *untrained_sha = NULL, *trained_sha = NULL, *cli_sha = NULL;
  g_autofree char *training = NULL, *report = NULL, *report_path = NULL;
  g_autofree char *command = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("LATHE_CLI");
  LatheExportDialog *dialog;
  int status;

  g_assert_nonnull (cli);
  _lathe_window_set_train_limit (window, TRAINED_LIMIT);
  lathe_window_open (window, file);
  g_assert_true (wait_until (window, model_shown));
  g_assert_true (wait_until (window, measured));
  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 34);
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));

  /* Untrained: as before — no student row, lathe-cli apply, no training. */
  dialog = export_from_window (window, untrained_dir);
  g_assert_null (_lathe_export_dialog_get_student_text (dialog));
  g_assert_true (g_str_has_prefix (_lathe_export_dialog_get_command (dialog), "lathe-cli apply "));
  close_export_dialog (dialog);
  training = pipeline_member (untrained_dir, "training");
  g_assert_null (training);
  untrained_sha = lathe_test_file_sha256 (untrained_onnx);

  /* Distil in the window. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.train", "s", "distill"));
  g_assert_true (wait_until (window, training_over));
  g_assert_null (_lathe_window_get_error (window));
  g_assert_true (g_str_has_prefix (_lathe_scoreboard_get_student_text (_lathe_window_get_scoreboard (window)),
                                   "Trained student"));

  /* The dialog says it exports the trained student, and does. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.export", NULL));
  dialog = find_export_dialog ();
  g_assert_nonnull (dialog);
  g_test_message ("student row: %s", _lathe_export_dialog_get_student_text (dialog));
  g_assert_nonnull (_lathe_export_dialog_get_student_text (dialog));
  g_assert_nonnull (strstr (_lathe_export_dialog_get_student_text (dialog), "Distilled"));
  g_assert_nonnull (strstr (_lathe_export_dialog_get_student_text (dialog), "3 epochs"));
  g_assert_nonnull (strstr (_lathe_export_dialog_get_student_text (dialog), "not the untrained plan"));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (dialog));
  save_png (GTK_WIDGET (dialog), "export-dialog-trained.png");
  gtk_window_destroy (GTK_WINDOW (dialog));
  drain ();

  dialog = export_from_window (window, trained_dir);
  command = g_strdup (_lathe_export_dialog_get_command (dialog));
  g_test_message ("%s", command);
  gtk_widget_queue_draw (GTK_WIDGET (dialog));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (dialog));
  save_png (GTK_WIDGET (dialog), "export-dialog-trained-done.png");
  close_export_dialog (dialog);

  training = pipeline_member (trained_dir, "training");
  g_test_message ("training: %s", training);
  g_assert_nonnull (training);
  g_assert_nonnull (strstr (training, "\"method\":\"distill\""));
  g_assert_nonnull (strstr (training, "\"epochs\":3"));
  g_assert_nonnull (strstr (training, "\"limit\":" G_STRINGIFY (TRAINED_LIMIT)));
  g_assert_nonnull (strstr (training, "\"data\":\"fashion-mnist:train\""));
  g_assert_nonnull (strstr (training, "\"data_sha256\":\""));
  report_path = g_build_filename (trained_dir, "report.md", NULL);
  g_assert_true (g_file_get_contents (report_path, &report, NULL, NULL));
  g_assert_true (g_str_has_prefix (report, "# Lathe training report"));
  g_assert_nonnull (strstr (report, "trained (distill) on `fashion-mnist:train`"));
  /* the window's charts were added, as for any export */
  g_assert_nonnull (strstr (report, "## Added files"));
  trained_sha = lathe_test_file_sha256 (trained_onnx);
  g_assert_cmpstr (trained_sha, !=, untrained_sha);
  assert_cli_check (cli, untrained_dir);
  assert_cli_check (cli, trained_dir);

  /* The command: lathe-cli distill with the options used; run with the
   * artifact moved aside, it trains the same student bit for bit. */
  g_assert_true (g_str_has_prefix (command, "lathe-cli distill "));
  g_assert_nonnull (strstr (command, " --epochs 3 "));
  g_assert_nonnull (strstr (command, " --train-limit " G_STRINGIFY (TRAINED_LIMIT) " "));
  g_assert_nonnull (strstr (command, " --seed 0 "));
  g_assert_nonnull (strstr (command, " --train-data fashion-mnist:train "));
  g_assert_true (g_shell_parse_argv (command, NULL, &argv, &error));
  g_assert_no_error (error);
  g_free (argv[0]);
  argv[0] = g_strdup (cli);
  g_assert_cmpint (g_rename (trained_dir, moved), ==, 0);
  status = lathe_test_spawn ((const char * const *) argv, &out, &err);
  if (status != 0)
    g_error ("%s: exit %d\n%s", command, status, err);
  cli_sha = lathe_test_file_sha256 (trained_onnx);
  g_assert_cmpstr (cli_sha, ==, trained_sha);
  {
    g_autofree char *app_training = pipeline_member (moved, "training");
    g_autofree char *cli_training = pipeline_member (trained_dir, "training");
    g_autofree char *app_results = pipeline_member (moved, "results");
    g_autofree char *cli_results = pipeline_member (trained_dir, "results");

    g_assert_cmpstr (app_training, ==, cli_training);
    g_assert_cmpstr (app_results, ==, cli_results);
  }

  /* Another, untrained plan: the dialog exports the plan as before. */
  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 50);
  g_assert_true (wait_until (window, measured));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.export", NULL));
  dialog = find_export_dialog ();
  g_assert_nonnull (dialog);
  g_assert_null (_lathe_export_dialog_get_student_text (dialog));
  gtk_window_destroy (GTK_WINDOW (dialog));
  drain ();

  window_free (window);
  lathe_test_remove_tree (tmp);
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);

  g_test_add_func ("/lathe/app/edit/undo", test_undo);
  g_test_add_func ("/lathe/app/edit/presets", test_presets);
  g_test_add_func ("/lathe/app/edit/pipeline", test_pipeline);
  g_test_add_func ("/lathe/app/edit/charts-and-export", test_charts_and_export);
  g_test_add_func ("/lathe/app/edit/distil", test_distil);
  g_test_add_func ("/lathe/app/edit/export-trained", test_export_trained);
  return g_test_run ();
}
