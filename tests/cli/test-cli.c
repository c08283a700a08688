/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* lathe-cli as a user runs it: exit statuses, one-line errors naming the
 * file, JSON that parses, and outputs that match the fixtures. */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "data/lathe-npy.h"
#include "../lathe-test-util.h"
#include "cli-test-util.h"

static JsonObject *
parse_object (JsonParser *parser,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* One line on stderr, naming what is wrong. */
static void
assert_one_line_error (const Run  *r,
                       int         status,
                       const char *needle)
{
  g_assert_cmpint (r->status, ==, status);
  g_assert_true (g_str_has_prefix (r->err, "lathe-cli: "));
  if (needle != NULL && strstr (r->err, needle) == NULL)
    g_error ("stderr '%s' does not mention '%s'", r->err, needle);
}

static void
test_version_help (void)
{
  g_auto(Run) v = { 0 }, h = { 0 }, bad = { 0 }, none = { 0 };

  run_cli (&v, "--version", NULL);
  g_assert_cmpint (v.status, ==, 0);
  g_assert_true (g_str_has_prefix (v.out, "lathe-cli "));
  run_cli (&h, "--help", NULL);
  g_assert_cmpint (h.status, ==, 0);
  g_assert_nonnull (strstr (h.out, "eval"));
  run_cli (&bad, "frobnicate", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  run_cli (&none, NULL);
  g_assert_cmpint (none.status, ==, 2);
}

static void
test_command_help (void)
{
  const char *commands[] = { "info", "eval", "run" };

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto(Run) r = { 0 };
      run_cli (&r, commands[i], "--help", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, "Usage:"));
    }
}

static void
test_info (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  g_auto(Run) text = { 0 }, json = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  run_cli (&text, "info", model, NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "conv1.weight"));
  g_assert_nonnull (strstr (text.out, "opset 13"));

  run_cli (&json, "info", model, "--json", NULL);
  g_assert_cmpint (json.status, ==, 0);
  o = parse_object (parser, json.out);
  g_assert_cmpint (json_object_get_int_member (o, "opset"), ==, 13);
  g_assert_cmpint (json_object_get_int_member (o, "total_parameters"), ==, 61794);
  g_assert_cmpint (json_object_get_int_member (o, "total_bytes"), ==, 247176);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "ops"), "Conv"), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "weights")), ==, 18);
}

static void
test_eval_json (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_auto(Run) r = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;
  double acc;

  if (!g_file_test ("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  run_cli (&r, "eval", model, "--limit", "500", "--batch", "128", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* not a terminal: no progress bar, nothing on stderr */
  g_assert_cmpstr (r.err, ==, "");
  o = parse_object (parser, r.out);
  g_assert_cmpint (json_object_get_int_member (o, "total"), ==, 500);
  acc = json_object_get_double_member (o, "accuracy");
  g_assert_cmpfloat (acc, ==, json_object_get_int_member (o, "correct") / 500.0);
  g_assert_cmpfloat (acc, >, 0.8);
  g_assert_true (json_object_has_member (o, "seconds"));
  g_assert_true (json_object_has_member (o, "load_seconds"));
  g_assert_cmpfloat (json_object_get_double_member (o, "seconds"), >, 0);
}

static void
test_eval_text (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  g_auto(Run) r = { 0 };

  if (!g_file_test ("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  run_cli (&r, "eval", model, "--limit", "200", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Accuracy  0."));
  g_assert_nonnull (strstr (r.out, "/200)"));
  g_assert_nonnull (strstr (r.out, "samples/s"));
}

static void
test_run_npy (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  g_autofree char *input = lathe_test_fixture ("fashion-input100.npy");
  g_autofree char *want_path = lathe_test_fixture ("fashion-cnn-logits100.npy");
  g_autofree char *dir = g_dir_make_tmp ("lathe-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "y.npy", NULL);
  g_auto(Run) r = { 0 }, missing = { 0 };
  g_autoptr(LatheTensor) got = NULL;
  g_autoptr(LatheTensor) want = NULL;
  g_autoptr(GError) error = NULL;

  run_cli (&r, "run", model, "--input", input, "--output", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  got = lathe_npy_read (out, &error);
  g_assert_no_error (error);
  want = lathe_npy_read (want_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->n, ==, want->n);
  for (gsize i = 0; i < got->n; i++)
    g_assert_cmpfloat (fabs (lathe_tensor_f32 (got)[i] - lathe_tensor_f32 (want)[i]), <=, 1e-4);

  run_cli (&missing, "run", model, "--input", input, NULL);
  assert_one_line_error (&missing, 2, "--output");
  g_unlink (out);
  g_rmdir (dir);
}

static void
test_bad_input (void)
{
  g_autofree char *model = lathe_test_sample ("fashion-mlp.onnx");
  g_autofree char *labels = lathe_test_fixture ("fashion-labels100.npy");
  g_autofree char *input = lathe_test_fixture ("fashion-input100.npy");
  g_autofree char *dir = g_dir_make_tmp ("lathe-cli-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.onnx", NULL);
  g_autofree char *short_labels = g_build_filename (dir, "labels.npy", NULL);
  g_autofree char *wrong_shape = g_build_filename (dir, "x.npy", NULL);
  g_autofree char *spec_short = NULL;
  g_autofree char *spec_shape = NULL;
  const guint8 few[10] = { 0 };
  const gint64 few_dims[1] = { 10 };
  const gint64 shape_dims[2] = { 4, 100 };
  float zeros[400] = { 0 };
  g_auto(Run) r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 }, r5 = { 0 }, r6 = { 0 }, r7 = { 0 };

  g_assert_true (g_file_set_contents (junk, "\x08\x07garbage that is not protobuf", -1, NULL));
  g_assert_true (lathe_npy_write (short_labels, LATHE_DTYPE_UINT8, 1, few_dims, few, NULL));
  g_assert_true (lathe_npy_write (wrong_shape, LATHE_DTYPE_FLOAT, 2, shape_dims, zeros, NULL));
  spec_short = g_strdup_printf ("npy:%s,%s", input, short_labels);
  spec_shape = g_strdup_printf ("npy:%s,%s", wrong_shape, labels);

  run_cli (&r1, "eval", "/nonexistent/model.onnx", NULL);
  assert_one_line_error (&r1, 2, "/nonexistent/model.onnx");
  run_cli (&r2, "info", junk, NULL);
  assert_one_line_error (&r2, 2, "junk.onnx");
  run_cli (&r3, "eval", model, "--data", "mnist-but-not-fashion", NULL);
  assert_one_line_error (&r3, 2, "mnist-but-not-fashion");
  run_cli (&r4, "eval", model, "--mean", "0.5", NULL);
  assert_one_line_error (&r4, 2, "--std");
  run_cli (&r5, "eval", model, "--data", spec_short, NULL);
  assert_one_line_error (&r5, 2, "labels.npy");
  run_cli (&r6, "eval", model, "--data", spec_shape, NULL);
  assert_one_line_error (&r6, 2, "x.npy");
  run_cli (&r7, "eval", model, "--mean", "0.5", "--std", "zero", NULL);
  assert_one_line_error (&r7, 2, "--std");

  g_unlink (junk);
  g_unlink (short_labels);
  g_unlink (wrong_shape);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/cli/version-help", test_version_help);
  g_test_add_func ("/lathe/cli/command-help", test_command_help);
  g_test_add_func ("/lathe/cli/info", test_info);
  g_test_add_func ("/lathe/cli/eval/json", test_eval_json);
  g_test_add_func ("/lathe/cli/eval/text", test_eval_text);
  g_test_add_func ("/lathe/cli/run", test_run_npy);
  g_test_add_func ("/lathe/cli/bad-input", test_bad_input);
  return g_test_run ();
}
