/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* lathe-cli distill as a user runs it, with small epochs and limits so
 * it takes seconds: the artifact and its "training" section, apply
 * replaying the training into the same model.onnx, check with and without
 * --retrain, --finetune and --qat, and the bad input that must be refused
 * with exit 2 and one line naming what is wrong. */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "../lathe-test-util.h"
#include "cli-test-util.h"

/* ---- helpers ---- */

static JsonObject *
parse_object (JsonParser *parser, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_distill_replay_check (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *dir = g_dir_make_tmp ("lathe-distill-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "a", NULL);
  g_autofree char *out2 = g_build_filename (dir, "b", NULL);
  g_autofree char *pipeline = g_build_filename (out, "pipeline.json", NULL);
  g_autofree char *onnx = g_build_filename (out, "model.onnx", NULL);
  g_autofree char *onnx2 = g_build_filename (out2, "model.onnx", NULL);
  g_autofree char *sha1 = NULL, *sha2 = NULL, *text = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) pparser = json_parser_new ();
  g_auto(Run) r = { 0 };
  JsonObject *o, *training;

  run_cli (&r, "distill", model, "--width", "0.33", "--epochs", "1", "--train-limit", "2048",
           "--batch-train", "64", "--eval-samples", "500", "--seed", "5", "--json", "-o", out, NULL);
  g_assert_true (expect_status (&r, 0, "distill"));
  o = parse_object (parser, r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "mode"), ==, "distill");
  g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 32);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "epochs")), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), >, 0.7);
  g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), >,
                     json_object_get_double_member (o, "untrained_accuracy"));
  sha1 = lathe_test_file_sha256 (onnx);
  g_assert_cmpstr (sha1, ==, json_object_get_string_member (o, "model_sha256"));

  g_assert_true (g_file_get_contents (pipeline, &text, NULL, NULL));
  training = json_object_get_object_member (parse_object (pparser, text), "training");
  g_assert_nonnull (training);
  g_assert_cmpstr (json_object_get_string_member (training, "method"), ==, "distill");
  g_assert_cmpint (json_object_get_int_member (training, "seed"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (training, "limit"), ==, 2048);
  g_assert_cmpstr (json_object_get_string_member (training, "data"), ==, "fashion-mnist:train");
  g_assert_cmpuint (strlen (json_object_get_string_member (training, "data_sha256")), ==, 64);

  /* apply replays the training: the same model.onnx */
  run_cli (&r, "apply", pipeline, "-o", out2, NULL);
  g_assert_true (expect_status (&r, 0, "apply pipeline with training"));
  sha2 = lathe_test_file_sha256 (onnx2);
  g_assert_cmpstr (sha1, ==, sha2);

  run_cli (&r, "check", pipeline, NULL);
  g_assert_true (expect_status (&r, 0, "check"));
  g_assert_nonnull (strstr (r.out, "not re-trained"));
  run_cli (&r, "check", pipeline, "--retrain", NULL);
  g_assert_true (expect_status (&r, 0, "check --retrain"));

  /* a changed model.onnx fails the check */
  {
    g_autofree char *contents = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (onnx, &contents, &len, NULL));
    contents[len - 1] ^= 1;
    g_assert_true (g_file_set_contents (onnx, contents, len, NULL));
  }
  run_cli (&r, "check", pipeline, NULL);
  g_assert_true (expect_status (&r, 1, "check of a changed model.onnx"));
  g_assert_nonnull (strstr (r.err, "sha256"));

  /* a missing model.onnx: check says how to proceed */
  g_assert_cmpint (g_unlink (onnx), ==, 0);
  run_cli (&r, "check", pipeline, NULL);
  g_assert_true (expect_status (&r, 2, "check without model.onnx"));
  g_assert_nonnull (strstr (r.err, "--retrain"));

  run_cli (&r, "distill", model, "--width", "0.5", "--epochs", "1", "--train-limit", "256", "-o", out, NULL);
  g_assert_true (expect_status (&r, 2, "distill into an existing folder"));
  lathe_test_remove_tree (dir);
}

static void
test_finetune_qat_cnn (void)
{
  g_autofree char *mlp = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *cnn = lathe_test_sample ("fashion-cnn.onnx");
  g_autofree char *dir = g_dir_make_tmp ("lathe-distill-XXXXXX", NULL);
  g_autofree char *o1 = g_build_filename (dir, "ft", NULL);
  g_autofree char *o2 = g_build_filename (dir, "qat", NULL);
  g_autofree char *o3 = g_build_filename (dir, "cnn", NULL);
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  g_auto(Run) r = { 0 };
  JsonObject *o;

  run_cli (&r, "distill", mlp, "--finetune", "--sparsity", "0.9", "--global-sparsity", "--epochs", "1",
           "--train-limit", "2048", "--eval-samples", "500", "--json", "-o", o1, NULL);
  g_assert_true (expect_status (&r, 0, "distill --finetune"));
  o = parse_object (p1, r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "mode"), ==, "finetune");
  /* 90 % pruning alone measures 0.684 */
  g_assert_cmpfloat (json_object_get_double_member (o, "accuracy"), >, 0.70);

  run_cli (&r, "distill", mlp, "--qat", "--bits", "3", "--epochs", "1", "--train-limit", "2048",
           "--eval-samples", "500", "--json", "-o", o2, NULL);
  g_assert_true (expect_status (&r, 0, "distill --qat"));
  o = parse_object (p2, r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "mode"), ==, "qat");

  /* progress lines on stdout without --json */
  run_cli (&r, "distill", cnn, "--width", "0.5", "--epochs", "1", "--train-limit", "1024",
           "--eval-samples", "500", "-o", o3, NULL);
  g_assert_true (expect_status (&r, 0, "distill the CNN"));
  g_assert_nonnull (strstr (r.out, "Epoch 1/1  loss "));
  g_assert_nonnull (strstr (r.out, "Accuracy  "));
  lathe_test_remove_tree (dir);
}

static void
test_bad_input (void)
{
  g_autofree char *mlp = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *inputs = lathe_test_fixture ("fashion-input100.npy");
  g_autofree char *npy = g_strconcat ("npy:", inputs, NULL);
  g_autofree char *dir = g_dir_make_tmp ("lathe-distill-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "x", NULL);
  const struct { const char *args[12]; const char *message; } cases[] = {
    { { "distill", mlp, "-o", out, NULL }, "--width" },
    { { "distill", mlp, "--width", "0.5", NULL }, "-o OUTDIR" },
    { { "distill", mlp, "--finetune", "-o", out, NULL }, "prunes" },
    { { "distill", mlp, "--qat", "-o", out, NULL }, "quantizes" },
    { { "distill", mlp, "--finetune", "--qat", "--sparsity", "0.5", "-o", out, NULL }, "exclude" },
    { { "distill", mlp, "--width", "0.5", "--train-data", "fashion-mnist:test", "-o", out, NULL }, "evaluation set" },
    { { "distill", mlp, "--width", "0.5", "--train-data", npy, "--alpha", "0.5", "-o", out, NULL }, "no labels" },
    { { "distill", mlp, "--width", "0.5", "--alpha", "2", "-o", out, NULL }, "alpha" },
    { { "distill", mlp, "--width", "0.5", "--optimizer", "rmsprop", "-o", out, NULL }, "--optimizer" },
    { { "distill", mlp, "--width", "0", "-o", out, NULL }, "width" },
    { { "distill", mlp, "--width", "0.5", "--train-data", "idx:/nonexistent", "-o", out, NULL }, "training data" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) r = { 0 };
      g_autofree char *what = g_strjoinv (" ", (char **) cases[i].args);
      run_cli_argv (&r, cases[i].args);
      if (expect_status (&r, 2, what) && strstr (r.err, cases[i].message) == NULL)
        fail_printf ("%s: stderr lacks '%s': %s", what, cases[i].message, r.err);
      if (g_file_test (out, G_FILE_TEST_EXISTS))
        fail_printf ("%s: wrote %s", what, out);
    }

  /* alpha 1 learns from the teacher alone, without labels */
  {
    g_auto(Run) r = { 0 };
    run_cli (&r, "distill", mlp, "--width", "0.5", "--train-data", npy, "--alpha", "1", "--batch-train", "25",
             "--epochs", "1", "--eval-samples", "200", "-o", out, NULL);
    expect_status (&r, 0, "distill on unlabelled data with alpha 1");
  }
  lathe_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/cli/distill/replay-check", test_distill_replay_check);
  g_test_add_func ("/lathe/cli/distill/finetune-qat-cnn", test_finetune_qat_cnn);
  g_test_add_func ("/lathe/cli/distill/bad-input", test_bad_input);
  return g_test_run ();
}
