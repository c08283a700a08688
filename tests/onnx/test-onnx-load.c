/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Loading ONNX: what real files keep (names, metadata, opsets) and what bad
 * files get (a GError naming the problem, never a crash). */

#include <glib/gstdio.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-model.h"
#include "onnx/lathe-onnx.h"
#include "onnx.pb-c.h"
#include "../lathe-test-util.h"

#define sample_path(name) lathe_test_sample (name)

/* A one-node model y = op(x, w) with w an initializer of the given dims. */
typedef struct {
  const char *op_type;
  const int64_t *wdims;
  size_t n_wdims;
  const char *external_location;   /* non-NULL: w's data lives in this file */
  const float *wdata;
  size_t n_wdata;
} ModelSpec;

static guint8 *
pack_model (const ModelSpec *spec,
            gsize           *len)
{
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *opsets[1] = { &opset };
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
  Onnx__NodeProto *nodes[1] = { &node };
  Onnx__TensorProto weight = ONNX__TENSOR_PROTO__INIT;
  Onnx__TensorProto *inits[1] = { &weight };
  Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__ValueInfoProto *ins[1] = { &in }, *outs[1] = { &out };
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor ttype = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  Onnx__TensorShapeProto__Dimension d1 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  Onnx__TensorShapeProto__Dimension *dims[2] = { &d0, &d1 };
  Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  Onnx__StringStringEntryProto *ext[1] = { &loc };
  char *node_inputs[2] = { "x", "w" };
  char *node_outputs[1] = { "y" };
  guint8 *buf;

  opset.has_version = TRUE;
  opset.version = 13;
  opset.domain = "";
  model.has_ir_version = TRUE;
  model.ir_version = 7;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.graph = &graph;
  graph.n_node = 1;
  graph.node = nodes;
  node.op_type = (char *) spec->op_type;
  node.name = "the_node";
  node.n_input = 2;
  node.input = node_inputs;
  node.n_output = 1;
  node.output = node_outputs;
  weight.name = "w";
  weight.has_data_type = TRUE;
  weight.data_type = 1;
  weight.n_dims = spec->n_wdims;
  weight.dims = (int64_t *) spec->wdims;
  if (spec->external_location != NULL)
    {
      loc.key = "location";
      loc.value = (char *) spec->external_location;
      weight.has_data_location = TRUE;
      weight.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
      weight.n_external_data = 1;
      weight.external_data = ext;
    }
  else
    {
      weight.n_float_data = spec->n_wdata;
      weight.float_data = (float *) spec->wdata;
    }
  graph.n_initializer = 1;
  graph.initializer = inits;
  d0.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  d0.dim_param = "batch";
  d1.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d1.dim_value = spec->n_wdims > 0 ? spec->wdims[0] : 1;
  shape.n_dim = 2;
  shape.dim = dims;
  ttype.has_elem_type = TRUE;
  ttype.elem_type = 1;
  ttype.shape = &shape;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type.tensor_type = &ttype;
  in.name = "x";
  in.type = &type;
  out.name = "y";
  graph.n_input = 1;
  graph.input = ins;
  graph.n_output = 1;
  graph.output = outs;

  *len = onnx__model_proto__get_packed_size (&model);
  buf = g_malloc (*len);
  onnx__model_proto__pack (&model, buf);
  return buf;
}

static void
test_sample_keeps_names (void)
{
  g_autofree char *path = sample_path ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  g_auto(GStrv) labels = NULL;
  LatheGraph *graph;
  LatheValue *in;

  g_assert_no_error (error);
  graph = lathe_model_get_graph (model);
  g_assert_cmpint (graph->opset, ==, 13);
  g_assert_cmpuint (graph->inputs->len, ==, 1);
  in = lathe_graph_value (graph, g_array_index (graph->inputs, guint, 0));
  g_assert_cmpstr (in->name, ==, "input");
  g_assert_cmpstr (in->dim_param0, ==, "batch");
  g_assert_cmpint (in->dims[0], ==, -1);
  g_assert_cmpint (in->dims[1], ==, 1);
  g_assert_cmpstr (lathe_graph_value (graph, g_array_index (graph->outputs, guint, 0))->name, ==, "logits");
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));
  g_assert_cmpfloat_with_epsilon (g_array_index (mean, float, 0), 0.286f, 1e-6);
  g_assert_cmpfloat_with_epsilon (g_array_index (std, float, 0), 0.353f, 1e-6);
  labels = lathe_model_dup_labels (model);
  g_assert_cmpuint (g_strv_length (labels), ==, 10);
  g_assert_cmpstr (labels[9], ==, "Ankle boot");
  g_assert_nonnull (lathe_graph_lookup (graph, "conv1.weight"));
  g_assert_cmpuint (strlen (lathe_model_get_sha256 (model)), ==, 64);
}

static void
test_opset_resolution (void)
{
  int since = 0;

  g_assert_nonnull (lathe_op_lookup ("Gemm", 6, &since));
  g_assert_cmpint (since, ==, 6);
  g_assert_nonnull (lathe_op_lookup ("Gemm", 21, &since));
  g_assert_cmpint (since, ==, 13);
  g_assert_nonnull (lathe_op_lookup ("Add", 6, &since));
  g_assert_cmpint (since, ==, 6);
  g_assert_nonnull (lathe_op_lookup ("Add", 12, &since));
  g_assert_cmpint (since, ==, 7);
  /* Erf appeared in opset 9 */
  g_assert_null (lathe_op_lookup ("Erf", 8, &since));
  g_assert_null (lathe_op_lookup ("NoSuchOp", 13, &since));
}

static void
test_truncated (void)
{
  g_autofree char *path = sample_path ("fashion-mlp.onnx");
  g_autofree char *contents = NULL;
  gsize len;
  const gsize cuts[] = { 0, 1, 10, 100, 1000, 40000 };

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheGraph) graph = lathe_onnx_parse_model ((guint8 *) contents, cuts[i], "cut.onnx", NULL, &error);
      g_assert_null (graph);
      g_assert_true (error->domain == LATHE_ONNX_ERROR);
      g_assert_nonnull (strstr (error->message, "cut.onnx"));
    }
}

/* Flipped bytes anywhere in a real model: each either loads or fails with a
 * GError; none may crash (the sanitizer run checks the memory side). */
static void
test_corrupt (void)
{
  g_autofree char *path = sample_path ("fashion-cnn.onnx");
  g_autofree char *contents = NULL;
  gsize len;
  GRand *rand = g_rand_new_with_seed (7);
  guint failed = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  for (guint round = 0; round < 300; round++)
    {
      g_autofree guint8 *copy = g_memdup2 (contents, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheGraph) graph = NULL;

      /* mutate the header region, where structure lives */
      for (guint k = 0; k < 4; k++)
        copy[g_rand_int_range (rand, 0, (gint32) MIN (len, 4096))] = (guint8) g_rand_int (rand);
      graph = lathe_onnx_parse_model (copy, len, "mutated.onnx", NULL, &error);
      if (graph == NULL)
        {
          g_assert_nonnull (error);
          failed++;
        }
      else
        g_assert_no_error (error);
    }
  g_test_message ("%u of 300 mutated models were refused", failed);
  g_rand_free (rand);
}

static void
test_not_onnx (void)
{
  g_autoptr(GError) error = NULL;
  const char text[] = "this is not a protobuf at all, just text\n";
  g_autoptr(LatheGraph) graph = lathe_onnx_parse_model ((const guint8 *) text, sizeof text - 1,
                                                        "text.onnx", NULL, &error);
  g_assert_null (graph);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_PARSE);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file ("/nonexistent/model.onnx", NULL, &error);

  g_assert_null (model);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.onnx"));
}

static void
test_unsupported_op (void)
{
  const int64_t wdims[] = { 2, 2 };
  const float w[] = { 1, 2, 3, 4 };
  ModelSpec spec = { "FancyNewOp", wdims, 2, NULL, w, 4 };
  gsize len;
  g_autofree guint8 *buf = pack_model (&spec, &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheGraph) graph = lathe_onnx_parse_model (buf, len, "m.onnx", NULL, &error);

  g_assert_null (graph);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP);
  g_assert_nonnull (strstr (error->message, "the_node"));
  g_assert_nonnull (strstr (error->message, "FancyNewOp"));
}

static void
test_matmul_runs (void)
{
  const int64_t wdims[] = { 2, 3 };
  const float w[] = { 1, 2, 3, 4, 5, 6 };
  ModelSpec spec = { "MatMul", wdims, 2, NULL, w, 6 };
  gsize len;
  g_autofree guint8 *buf = pack_model (&spec, &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheGraph) graph = lathe_onnx_parse_model (buf, len, "m.onnx", NULL, &error);
  g_autoptr(LatheExecutor) exec = NULL;
  const gint64 xdims[] = { 1, 2 };
  g_autoptr(LatheTensor) x = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, xdims);
  const gint64 bad_dims[] = { 1, 3 };
  g_autoptr(LatheTensor) bad = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, bad_dims);
  LatheTensor *y;

  g_assert_no_error (error);
  exec = lathe_executor_new (graph);
  lathe_tensor_f32 (x)[0] = 1;
  lathe_tensor_f32 (x)[1] = 10;
  g_assert_true (lathe_executor_run (exec, 1, &x, &error));
  y = lathe_executor_get_output (exec, 0);
  g_assert_cmpint (y->dims[1], ==, 3);
  g_assert_cmpfloat (lathe_tensor_f32 (y)[0], ==, 41);
  g_assert_cmpfloat (lathe_tensor_f32 (y)[2], ==, 63);

  /* the data does not fit the model's declared input */
  g_assert_false (lathe_executor_run (exec, 1, &bad, &error));
  g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT);
  g_assert_nonnull (strstr (error->message, "'x'"));
}

static void
test_bad_dims (void)
{
  const int64_t negative[] = { 2, -3 };
  const int64_t huge[] = { (int64_t) 1 << 40, (int64_t) 1 << 40 };
  const int64_t mismatch[] = { 3, 3 };
  const float w[] = { 1, 2, 3, 4 };
  const ModelSpec specs[] = {
    { "MatMul", negative, 2, NULL, w, 4 },
    { "MatMul", huge, 2, NULL, w, 4 },
    { "MatMul", mismatch, 2, NULL, w, 4 },   /* 4 values for 9 elements */
  };

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      gsize len;
      g_autofree guint8 *buf = pack_model (&specs[i], &len);
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheGraph) graph = lathe_onnx_parse_model (buf, len, "dims.onnx", NULL, &error);

      g_assert_null (graph);
      g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "'w'"));
    }
}

static void
test_external_data (void)
{
  const int64_t wdims[] = { 2, 2 };
  const float values[] = { 1.5f, -2, 3, 4 };
  g_autofree char *dir = g_dir_make_tmp ("lathe-ext-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (dir, "model", NULL);
  g_autofree char *data_path = g_build_filename (sub, "weights.bin", NULL);
  g_autofree char *outside = g_build_filename (dir, "secret.bin", NULL);
  const char *locations[] = { "weights.bin", "../secret.bin", "/etc/passwd", "sub/../../secret.bin", "missing.bin" };

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (data_path, (const char *) values, sizeof values, NULL));
  g_assert_true (g_file_set_contents (outside, (const char *) values, sizeof values, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (locations); i++)
    {
      ModelSpec spec = { "MatMul", wdims, 2, locations[i], NULL, 0 };
      gsize len;
      g_autofree guint8 *buf = pack_model (&spec, &len);
      g_autofree char *model_path = g_build_filename (sub, "m.onnx", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheGraph) graph = NULL;

      g_assert_true (g_file_set_contents (model_path, (const char *) buf, len, NULL));
      graph = lathe_onnx_load_file (model_path, &error);
      if (i == 0)
        {
          LatheValue *w;
          g_assert_no_error (error);
          w = lathe_graph_lookup (graph, "w");
          g_assert_cmpfloat (lathe_tensor_f32 (w->initializer)[0], ==, 1.5f);
          g_assert_cmpfloat (lathe_tensor_f32 (w->initializer)[3], ==, 4.f);
        }
      else
        {
          g_assert_null (graph);
          g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_EXTERNAL_DATA);
          g_test_message ("%s: %s", locations[i], error->message);
        }
      g_unlink (model_path);
    }
  g_unlink (data_path);
  g_unlink (outside);
  g_rmdir (sub);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/onnx/load/sample-keeps-names", test_sample_keeps_names);
  g_test_add_func ("/lathe/onnx/load/opset-resolution", test_opset_resolution);
  g_test_add_func ("/lathe/onnx/load/matmul-runs", test_matmul_runs);
  g_test_add_func ("/lathe/onnx/bad/truncated", test_truncated);
  g_test_add_func ("/lathe/onnx/bad/corrupt", test_corrupt);
  g_test_add_func ("/lathe/onnx/bad/not-onnx", test_not_onnx);
  g_test_add_func ("/lathe/onnx/bad/missing-file", test_missing_file);
  g_test_add_func ("/lathe/onnx/bad/unsupported-op", test_unsupported_op);
  g_test_add_func ("/lathe/onnx/bad/dims", test_bad_dims);
  g_test_add_func ("/lathe/onnx/bad/external-data", test_external_data);
  return g_test_run ();
}
