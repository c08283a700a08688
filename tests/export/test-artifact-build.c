/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-export"

/* The artifact contents lathe-cli apply, lathe-cli distill and the export
 * dialog share: relative paths, pipeline.json, both reports, the write. */

#include <math.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "compress/lathe-layers.h"
#include "export/lathe-artifact-build.h"
#include "export/lathe-export.h"
#include "onnx/lathe-model.h"
#include "../lathe-test-util.h"

static void
test_relative_path (void)
{
  static const struct { const char *from, *to, *expect; } cases[] = {
    { "/a/b", "/a/c/m.onnx", "../c/m.onnx" },
    { "/a/b", "/a/b/m.onnx", "m.onnx" },
    { "/a/b/", "/a/b/c/m.onnx", "c/m.onnx" },
    { "/a/b/c", "/m.onnx", "../../../m.onnx" },
    { "/", "/a/m.onnx", "a/m.onnx" },
    { "/a/./b/../b", "/a/x/../m.onnx", "../m.onnx" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *r = lathe_artifact_relative_path (cases[i].from, cases[i].to);
      g_assert_cmpstr (r, ==, cases[i].expect);
    }

  /* relative inputs are taken from the current folder */
  {
    g_autofree char *cwd = g_get_current_dir ();
    g_autofree char *abs = g_build_filename (cwd, "x", "m.onnx", NULL);
    g_autofree char *r1 = lathe_artifact_relative_path ("out", "x/m.onnx");
    g_autofree char *r2 = lathe_artifact_relative_path ("out", abs);
    g_assert_cmpstr (r1, ==, "../x/m.onnx");
    g_assert_cmpstr (r2, ==, "../x/m.onnx");
  }
}

/* A real model compressed by a real plan, its figures made up: the
 * builders record what they are given, they do not measure. */
typedef struct {
  char          *root;
  char          *model_path;
  LatheModel    *model;
  LatheDataset  *data;
  GPtrArray     *layers;
  LathePlan     *plan;
  LatheApplied  *applied;
  GBytes        *onnx;
  GPtrArray     *notes;
  GArray        *mean, *std;
  int            opset;
  LatheArtifactSource  source;
  LatheArtifactMeasure measure;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *inputs = lathe_test_fixture ("fashion-input100.npy");
  g_autofree char *labels = lathe_test_fixture ("fashion-labels100.npy");
  g_autofree char *spec = g_strdup_printf ("npy:%s,%s", inputs, labels);
  float mean = 0.25f, std = 0.5f;

  f->root = g_dir_make_tmp ("lathe-artifact-build-XXXXXX", &error);
  g_assert_no_error (error);
  f->model_path = lathe_test_sample ("fashion-mlp.onnx");
  f->model = lathe_model_new_from_file (f->model_path, NULL, &error);
  g_assert_no_error (error);
  f->data = lathe_dataset_new_from_spec (spec, NULL, &error);
  g_assert_no_error (error);
  f->layers = lathe_find_layers (lathe_model_get_graph (f->model), &error);
  g_assert_no_error (error);
  f->plan = lathe_plan_new ();
  f->plan->defaults.bits = 4;
  f->plan->seed = 7;
  f->applied = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, f->plan, &error);
  g_assert_no_error (error);
  f->notes = g_ptr_array_new_with_free_func (g_free);
  f->onnx = lathe_export_onnx (f->applied, f->layers, f->notes, &f->opset, &error);
  g_assert_no_error (error);
  g_ptr_array_add (f->notes, g_strdup ("a note from the writer"));
  f->mean = g_array_new (FALSE, FALSE, sizeof (float));
  f->std = g_array_new (FALSE, FALSE, sizeof (float));
  g_array_append_val (f->mean, mean);
  g_array_append_val (f->std, std);

  f->source = (LatheArtifactSource) {
    g_build_filename (f->root, "out", NULL), f->model_path, lathe_model_get_sha256 (f->model), f->data,
    f->mean, f->std, f->plan, NULL,
  };
  f->measure = (LatheArtifactMeasure) {
    f->applied, f->layers, f->onnx, "model.onnx", f->opset, f->notes,
    0.75, 0.875, 0.9375, lathe_graph_stored_bytes (lathe_model_get_graph (f->model)), 100,
  };
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  unused)
{
  lathe_test_remove_tree (f->root);
  g_free ((char *) f->source.outdir);
  g_free (f->root);
  g_free (f->model_path);
  g_clear_object (&f->model);
  g_clear_object (&f->data);
  g_clear_pointer (&f->layers, g_ptr_array_unref);
  g_clear_pointer (&f->plan, lathe_plan_free);
  g_clear_pointer (&f->applied, lathe_applied_free);
  g_clear_pointer (&f->onnx, g_bytes_unref);
  g_clear_pointer (&f->notes, g_ptr_array_unref);
  g_clear_pointer (&f->mean, g_array_unref);
  g_clear_pointer (&f->std, g_array_unref);
}

static void
test_pipeline (Fixture       *f,
               gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LathePipeline) p = lathe_artifact_pipeline_new (&f->source, &f->measure);
  g_autofree char *text = lathe_pipeline_to_json (p);
  g_autofree char *path = g_build_filename (f->root, "pipeline.json", NULL);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, f->onnx);
  g_autofree char *expect_model = lathe_artifact_relative_path (f->source.outdir, f->model_path);
  g_autoptr(LathePipeline) back = NULL;

  g_assert_true (g_str_has_prefix (expect_model, "../"));
  /* what it records survives a round trip through the file */
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  back = lathe_pipeline_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->model_path, ==, expect_model);
  g_assert_cmpstr (back->model_sha256, ==, lathe_model_get_sha256 (f->model));
  g_assert_cmpstr (back->data_spec, ==, lathe_dataset_get_spec (f->data));
  g_assert_cmpstr (back->data_sha256, ==, lathe_dataset_get_sha256 (f->data));
  g_assert_cmpuint (back->mean->len, ==, 1);
  g_assert_cmpfloat (g_array_index (back->mean, float, 0), ==, 0.25f);
  g_assert_cmpfloat (g_array_index (back->std, float, 0), ==, 0.5f);
  g_assert_cmpuint (back->subset_size, ==, 0);
  g_assert_cmpint (back->plan->defaults.bits, ==, 4);
  g_assert_cmpuint (back->seed, ==, 7);
  g_assert_null (back->training);
  g_assert_true (back->has_results);
  g_assert_cmpfloat (back->results.accuracy, ==, 0.75);
  g_assert_cmpfloat (back->results.baseline_accuracy, ==, 0.875);
  g_assert_cmpfloat (back->results.fidelity, ==, 0.9375);
  g_assert_cmpint (back->results.size_bytes, ==, (gint64) f->applied->packed_bytes);
  g_assert_cmpint (back->results.baseline_size_bytes, ==, (gint64) f->measure.baseline_bytes);
  g_assert_cmpint (back->results.file_size_bytes, ==, (gint64) g_bytes_get_size (f->onnx));
  g_assert_cmpstr (back->results.model_sha256, ==, sha);
}

static void
test_pipeline_training (Fixture       *f,
                        gconstpointer  unused)
{
  g_autoptr(JsonNode) training = json_from_string ("{\"mode\": \"distill\", \"epochs\": 2}", NULL);
  g_autoptr(LathePipeline) p = NULL;

  f->source.training = training;
  p = lathe_artifact_pipeline_new (&f->source, &f->measure);
  /* a copy: the caller's node stays its own */
  g_assert_nonnull (p->training);
  g_assert_true (p->training != training);
  g_assert_true (json_node_equal (p->training, training));
}

/* The "training" section records file specs relative to the artifact,
 * as the model; built-in specs stay as they are. */
static void
test_training_section (void)
{
  static const struct { const char *spec, *expect; } cases[] = {
    { "fashion-mnist:train", "fashion-mnist:train" },
    { "fashion-mnist:train[0:100]", "fashion-mnist:train[0:100]" },
    { "idx:/a/x/images.gz,/a/x/labels.gz", "idx:../x/images.gz,../x/labels.gz" },
    { "/a/b/train.npy", "train.npy" },
  };
  LatheTrainOptions o;

  lathe_train_options_init (&o);
  o.epochs = 2;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = lathe_artifact_training_section ("/a/b", &o, cases[i].spec, "abc");
      g_autoptr(JsonNode) expect = lathe_train_options_to_json (&o, cases[i].expect, "abc");
      JsonObject *obj = json_node_get_object (node);

      g_assert_cmpstr (json_object_get_string_member (obj, "data"), ==, cases[i].expect);
      g_assert_cmpstr (json_object_get_string_member (obj, "data_sha256"), ==, "abc");
      g_assert_cmpint (json_object_get_int_member (obj, "epochs"), ==, 2);
      g_assert_true (json_node_equal (node, expect));
    }
}

static void
test_report (Fixture       *f,
             gconstpointer  unused)
{
  g_autofree char *cli = lathe_artifact_report (&f->source, &f->measure, NULL);
  g_autofree char *opset = g_strdup_printf ("| model.onnx | | %" G_GSIZE_FORMAT " B (opset %d) |\n",
                                            g_bytes_get_size (f->onnx), f->opset);
  g_autofree char *app = NULL;
  guint rows = 0;

  g_assert_cmpint (f->opset, >, 0);
  g_assert_true (g_str_has_prefix (cli, "# Lathe compression report\n\n"));
  g_assert_nonnull (strstr (cli, "evaluated on `npy:"));
  g_assert_nonnull (strstr (cli, "(100 samples).\n\n"));
  g_assert_nonnull (strstr (cli, opset));
  g_assert_nonnull (strstr (cli, "| top-1 accuracy | 0.8750 | 0.7500 (-12.50 points) |\n"));
  g_assert_nonnull (strstr (cli, "| fidelity to the original | | 0.9375 |\n"));
  g_assert_nonnull (strstr (cli, "ONNX cannot hold every packing, so model.onnx may be larger.\n"));
  g_assert_nonnull (strstr (cli, "\n## Export notes\n\n- "));
  g_assert_true (g_str_has_suffix (cli, "\n- a note from the writer\n"));
  g_assert_null (strstr (cli, "exporter"));
  /* a row per layer, with its op */
  for (guint i = 0; i < f->layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (f->layers, i);
      g_autofree char *row = g_strdup_printf ("| `%s` | %s | ", layer->name, layer->op_type);
      if (strstr (cli, row))
        rows++;
    }
  g_assert_cmpuint (rows, ==, f->layers->len);

  /* a plugin exporter's file, which said no opset */
  f->measure.model_file = "model.tflite";
  f->measure.opset = 0;
  g_ptr_array_set_size (f->notes, 0);
  app = lathe_artifact_report (&f->source, &f->measure, "tflite");
  g_assert_nonnull (strstr (app, "(100 samples); exported by Lathe with the `tflite` exporter.\n\n"));
  g_assert_nonnull (strstr (app, "| model.tflite | | "));
  g_assert_null (strstr (app, "opset"));
  g_assert_nonnull (strstr (app, "The model file cannot hold every packing, so it may be larger.\n"));
  g_assert_null (strstr (app, "## Export notes"));
}

static void
test_training_report (Fixture       *f,
                      gconstpointer  unused)
{
  LatheTrainOptions o;
  LatheTrainResult r = { 0 };
  double loss[] = { 0.5, 0.25 }, acc[] = { NAN, 0.8 };
  g_autofree char *report = NULL;

  lathe_train_options_init (&o);
  o.epochs = 2;
  r.applied = f->applied;
  r.steps = 10;
  r.seconds = 1.5;
  r.samples_per_second = 800;
  r.untrained_accuracy = 0.125;
  r.epoch_loss = g_array_new (FALSE, FALSE, sizeof (double));
  r.epoch_accuracy = g_array_new (FALSE, FALSE, sizeof (double));
  g_array_append_vals (r.epoch_loss, loss, 2);
  g_array_append_vals (r.epoch_accuracy, acc, 2);

  report = lathe_artifact_training_report (&f->source, &f->measure, "fashion-mnist:train", &o, &r, NULL);
  g_assert_true (g_str_has_prefix (report, "# Lathe training report\n\n"));
  g_assert_nonnull (strstr (report, "on `fashion-mnist:train`, evaluated on `npy:"));
  g_assert_nonnull (strstr (report, "2 epochs, batch "));
  g_assert_nonnull (strstr (report, ": 10 steps in 1.5 s (800 samples/s).\n\n"));
  g_assert_nonnull (strstr (report, "| | original | trained student |\n"));
  g_assert_nonnull (strstr (report, "| 0 (untrained) | | 0.1250 |\n| 1 | 0.5000 | |\n| 2 | 0.2500 | 0.8000 |\n"));
  g_assert_nonnull (strstr (report, "\n## Layers\n\n| layer | units | applied | packed |\n"));
  g_assert_true (g_str_has_suffix (report, "- a note from the writer\n"));
  g_assert_null (strstr (report, "exporter"));
  g_free (report);
  /* the app names the plugin that wrote the model file */
  report = lathe_artifact_training_report (&f->source, &f->measure, "fashion-mnist:train", &o, &r, "tflite");
  g_assert_nonnull (strstr (report, "`; exported by Lathe with the `tflite` exporter.\n\n"));
  g_array_unref (r.epoch_loss);
  g_array_unref (r.epoch_accuracy);
}

static void
test_write (Fixture       *f,
            gconstpointer  unused)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *report = lathe_artifact_report (&f->source, &f->measure, NULL);
  g_autofree char *onnx_path = g_build_filename (f->source.outdir, "model.onnx", NULL);
  g_autofree char *report_path = g_build_filename (f->source.outdir, "report.md", NULL);
  g_autofree char *pipeline_path = g_build_filename (f->source.outdir, "pipeline.json", NULL);
  g_autofree char *onnx = NULL, *written = NULL, *pipeline = NULL;
  const char *protected_paths[] = { f->model_path, NULL };
  gsize len;

  g_assert_true (lathe_artifact_build_write (f->source.outdir, FALSE, protected_paths, "{}\n", &f->measure,
                                             report, &error));
  g_assert_no_error (error);
  g_file_get_contents (onnx_path, &onnx, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (onnx, len, g_bytes_get_data (f->onnx, NULL), g_bytes_get_size (f->onnx));
  g_file_get_contents (report_path, &written, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (written, ==, report);
  g_file_get_contents (pipeline_path, &pipeline, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pipeline, ==, "{}\n");

  /* an existing artifact is kept without force */
  g_assert_false (lathe_artifact_build_write (f->source.outdir, FALSE, protected_paths, "{\"x\": 1}\n",
                                              &f->measure, report, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_pointer (&pipeline, g_free);
  g_file_get_contents (pipeline_path, &pipeline, NULL, NULL);
  g_assert_cmpstr (pipeline, ==, "{}\n");
  g_clear_error (&error);

  /* and replaced with it */
  g_assert_true (lathe_artifact_build_write (f->source.outdir, TRUE, protected_paths, "{\"x\": 1}\n",
                                             &f->measure, report, &error));
  g_assert_no_error (error);
  g_clear_pointer (&pipeline, g_free);
  g_file_get_contents (pipeline_path, &pipeline, NULL, NULL);
  g_assert_cmpstr (pipeline, ==, "{\"x\": 1}\n");

  /* not when it holds a model file another exporter wrote */
  f->measure.model_file = "model.bin";
  g_assert_false (lathe_artifact_build_write (f->source.outdir, TRUE, protected_paths, "{}\n",
                                              &f->measure, report, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_EMPTY);
  g_assert_nonnull (strstr (error->message, f->source.outdir));
  g_assert_true (g_file_test (onnx_path, G_FILE_TEST_IS_REGULAR));
}

/* The per-layer rows need the layers `applied` was made from. */
static void
test_report_misaligned (Fixture       *f,
                        gconstpointer  unused)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GPtrArray) none = g_ptr_array_new ();
      g_autofree char *report = NULL;

      f->measure.layers = none;
      report = lathe_artifact_report (&f->source, &f->measure, NULL);
      g_assert_null (report);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*lathe_artifact_report*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/engine/export/artifact-build/relative-path", test_relative_path);
  g_test_add_func ("/lathe/engine/export/artifact-build/training-section", test_training_section);
#define ADD(path, func) \
  g_test_add ("/lathe/engine/export/artifact-build/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("pipeline", test_pipeline);
  ADD ("pipeline-training", test_pipeline_training);
  ADD ("report", test_report);
  ADD ("report-misaligned", test_report_misaligned);
  ADD ("training-report", test_training_report);
  ADD ("write", test_write);
#undef ADD
  return g_test_run ();
}
