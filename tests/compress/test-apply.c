/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Plans applied to the sample models: BatchNormalization folding, width
 * surgery through BN and Flatten, pruning and quantization in order, the
 * packed size, the exported ONNX reproducing the effective model, and the
 * errors a plan can earn. */

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "data/lathe-npy.h"
#include "eval/lathe-executor.h"
#include "onnx/lathe-model.h"
#include "onnx/lathe-onnx.h"
#include "onnx/lathe-onnx-writer.h"
#include "../lathe-test-util.h"

/* Folding BN reorders float32 arithmetic. */
#define FOLD_ATOL 1e-4
/* The exported model computes exactly what the effective model does, up
 * to summation order. */
#define EXPORT_ATOL 1e-5

typedef struct {
  LatheModel *model;
  GPtrArray  *layers;
  LatheTensor *input;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = lathe_test_sample ((const char *) data);
  g_autofree char *in = lathe_test_fixture ("fashion-input100.npy");
  g_autoptr(GError) error = NULL;

  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->layers = lathe_find_layers (lathe_model_get_graph (f->model), &error);
  g_assert_no_error (error);
  f->input = lathe_npy_read (in, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->model);
  g_clear_pointer (&f->layers, g_ptr_array_unref);
  g_clear_pointer (&f->input, lathe_tensor_unref);
}

/* Runs a graph on the fixture input; returns a copy of the logits. */
static LatheTensor *
run (LatheGraph  *graph,
     LatheTensor *input)
{
  g_autoptr(LatheExecutor) exec = lathe_executor_new (graph);
  g_autoptr(GError) error = NULL;

  g_assert_true (lathe_executor_run (exec, 1, &input, &error));
  g_assert_no_error (error);
  return lathe_tensor_dup (lathe_executor_get_output (exec, 0));
}

static double
max_diff (const LatheTensor *a,
          const LatheTensor *b)
{
  double d = 0;

  g_assert_true (lathe_tensor_same_shape (a, b));
  for (gsize i = 0; i < a->n; i++)
    d = MAX (d, fabs (lathe_tensor_f32 (a)[i] - lathe_tensor_f32 (b)[i]));
  return d;
}

static LatheLayer *
layer (Fixture    *f,
       const char *name)
{
  int i = lathe_layers_index (f->layers, name);
  g_assert_cmpint (i, >=, 0);
  return g_ptr_array_index (f->layers, i);
}

static void
test_layers_cnn (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (f->layers->len, ==, 5);
  g_assert_cmpint (layer (f, "conv1.weight")->bn_node, >=, 0);
  g_assert_cmpuint (layer (f, "conv1.weight")->rows, ==, 6);
  g_assert_cmpuint (layer (f, "conv1.weight")->cols, ==, 25);
  g_assert_cmpuint (layer (f, "conv2.weight")->cols, ==, 150);
  g_assert_cmpuint (layer (f, "conv2.weight")->spatial, ==, 25);
  /* torch exports Linear as Gemm with transB=1: units on axis 0 */
  g_assert_cmpint (layer (f, "fc1.weight")->out_axis, ==, 0);
  g_assert_null (layer (f, "conv1.weight")->width_reason);
  g_assert_cmpint (layer (f, "conv2.weight")->follow_kind, ==, LATHE_FOLLOW_FLATTENED);
  g_assert_cmpuint (layer (f, "conv2.weight")->follow_spatial, ==, 25);
  g_assert_true (layer (f, "fc3.weight")->is_output);
  g_assert_nonnull (layer (f, "fc3.weight")->width_reason);
}

static void
test_fold_bn (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
  g_autoptr(LatheTensor) want = NULL;
  g_autoptr(LatheTensor) got = NULL;

  g_assert_no_error (error);
  for (guint k = 0; k < a->graph->nodes->len; k++)
    g_assert_cmpstr (lathe_graph_node (a->graph, k)->op_type, !=, "BatchNormalization");
  want = run (lathe_model_get_graph (f->model), f->input);
  got = run (a->graph, f->input);
  g_assert_cmpfloat (max_diff (want, got), <=, FOLD_ATOL);
  /* 2 BN layers of 4 float32 vectors (6 and 16 channels) are gone:
   * 247176 − 4·4·(6 + 16) = 246824 */
  g_assert_cmpuint (a->baseline_bytes, ==, 247176);
  g_assert_cmpuint (a->packed_bytes, ==, 246824);

  /* --keep-bn leaves the graph as it was */
  {
    g_autoptr(LatheApplied) kept = NULL;
    plan->fold_bn = FALSE;
    kept = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (kept->packed_bytes, ==, 247176);
  }
}

static void
test_width_cnn (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheTensor) got = NULL;
  LatheTensor *fc1;

  plan->defaults.width = 0.5;
  plan->fold_bn = FALSE;   /* BN shrinks with its conv */
  a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
  g_assert_no_error (error);
  /* conv1 6→3 units, conv2 16→8 units and 3 input channels, fc1 120→60
   * units and 8·25 inputs; fc3 keeps its 10 outputs */
  g_assert_cmpint (lathe_graph_lookup (a->graph, "conv1.weight")->initializer->dims[0], ==, 3);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "bn1.running_var")->initializer->dims[0], ==, 3);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "conv2.weight")->initializer->dims[1], ==, 3);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "conv2.weight")->initializer->dims[0], ==, 8);
  fc1 = lathe_graph_lookup (a->graph, "fc1.weight")->initializer;
  g_assert_cmpint (fc1->dims[0], ==, 60);
  g_assert_cmpint (fc1->dims[1], ==, 200);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "fc3.weight")->initializer->dims[0], ==, 10);
  got = run (a->graph, f->input);
  g_assert_cmpint (got->dims[1], ==, 10);
}

static void
test_width_mlp (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheTensor) got = NULL;
  LatheLayerResult *r;

  plan->defaults.width = 1.0 / 3.0;
  a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
  g_assert_no_error (error);
  /* ⌈300/3⌉ = 100 and ⌈100/3⌉ = 34 units */
  g_assert_cmpint (lathe_graph_lookup (a->graph, "fc1.weight")->initializer->dims[0], ==, 100);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "fc2.weight")->initializer->dims[1], ==, 100);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "fc2.weight")->initializer->dims[0], ==, 34);
  g_assert_cmpint (lathe_graph_lookup (a->graph, "fc3.weight")->initializer->dims[1], ==, 34);
  r = g_ptr_array_index (a->results, 2);
  g_assert_nonnull (strstr (r->status, "width not applied"));
  got = run (a->graph, f->input);
  g_assert_cmpint (got->dims[1], ==, 10);
  /* packed size: (100·784 + 100) + (34·100 + 34) + (10·34 + 10) floats */
  g_assert_cmpuint (a->packed_bytes, ==, 4u * (100 * 784 + 100 + 34 * 100 + 34 + 10 * 34 + 10));
}

/* Width keeps the units with the largest L2 norm, in their order. */
static void
test_width_keeps_strongest (Fixture *f, gconstpointer data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheApplied) a = NULL;
  LatheTensor *w0 = lathe_graph_lookup (lathe_model_get_graph (f->model), "fc2.weight")->initializer;
  LatheTensor *w1;
  double min_kept = G_MAXDOUBLE, max_dropped = 0;
  guint kept = 0;

  lathe_plan_layer (plan, "fc2.weight")->width = 0.5;
  lathe_plan_layer (plan, "fc2.weight")->set |= LATHE_FIELD_WIDTH;
  a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
  g_assert_no_error (error);
  w1 = lathe_graph_lookup (a->graph, "fc2.weight")->initializer;
  g_assert_cmpint (w1->dims[0], ==, 50);
  for (gint64 r = 0; r < w0->dims[0]; r++)
    {
      const float *row = lathe_tensor_f32 (w0) + r * w0->dims[1];
      double n = 0;
      gboolean found = kept < 50 &&
                       memcmp (row, lathe_tensor_f32 (w1) + kept * w1->dims[1], w1->dims[1] * sizeof (float)) == 0;
      for (gint64 c = 0; c < w0->dims[1]; c++)
        n += row[c] * row[c];
      if (found)
        min_kept = MIN (min_kept, n), kept++;
      else
        max_dropped = MAX (max_dropped, n);
    }
  g_assert_cmpuint (kept, ==, 50);
  g_assert_cmpfloat (min_kept, >=, max_dropped);
}

static void
test_quant_export (Fixture *f, gconstpointer data)
{
  const int bits[] = { 8, 4, 3 };

  for (guint i = 0; i < G_N_ELEMENTS (bits); i++)
    {
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheApplied) a = NULL;
      g_autoptr(GHashTable) weights = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
      LatheExportOptions options = { weights, notes, 0 };
      g_autoptr(GBytes) bytes = NULL, again = NULL;
      g_autoptr(LatheGraph) reloaded = NULL;
      g_autoptr(LatheTensor) want = NULL, got = NULL;

      plan->defaults.bits = bits[i];
      plan->defaults.sparsity = 0.5;
      a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
      g_assert_no_error (error);
      for (guint l = 0; l < a->results->len; l++)
        {
          LatheLayerResult *r = g_ptr_array_index (a->results, l);
          LatheExportWeight *w = g_new0 (LatheExportWeight, 1);
          g_assert_nonnull (r->quantized);
          g_assert_cmpfloat (fabs (r->sparsity - 0.5), <, 0.01);
          w->quantized = r->quantized;
          w->out_axis = ((LatheLayer *) g_ptr_array_index (f->layers, l))->out_axis;
          g_hash_table_insert (weights, r->name, w);
        }
      g_assert_cmpuint (a->packed_bytes, <, a->baseline_bytes / 4);
      bytes = lathe_onnx_serialize (a->graph, &options, &error);
      g_assert_no_error (error);
      again = lathe_onnx_serialize (a->graph, &options, &error);
      g_assert_true (g_bytes_equal (bytes, again));
      reloaded = lathe_onnx_parse_model (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                         "export.onnx", NULL, &error);
      g_assert_no_error (error);
      want = run (a->graph, f->input);
      got = run (reloaded, f->input);
      g_test_message ("%d bits: export opset %d, |export − effective| = %.3g, %" G_GSIZE_FORMAT " bytes",
                      bits[i], options.out_opset, max_diff (want, got), g_bytes_get_size (bytes));
      g_assert_cmpfloat (max_diff (want, got), <=, EXPORT_ATOL);
    }
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  struct { const char *layer; guint32 field; int bits; double sparsity; LathePattern pattern; double width; const char *needle; } cases[] = {
    { "nope.weight", LATHE_FIELD_BITS, 4, 0, 0, 1, "nope.weight" },
    { "conv1.weight", LATHE_FIELD_PATTERN | LATHE_FIELD_SPARSITY, 32, 0.3, LATHE_PATTERN_NM, 1, "contradicts" },
    { "conv1.weight", LATHE_FIELD_PATTERN, 32, 0, LATHE_PATTERN_NM, 1, "multiple of M" },
    { "fc3.weight", LATHE_FIELD_WIDTH, 32, 0, 0, 0.5, "output width is fixed" },
    { "fc1.weight", LATHE_FIELD_BITS, 12, 0, 0, 1, "12 bits" },
    { "fc1.weight", LATHE_FIELD_WIDTH, 32, 0, 0, 0.01, "width" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheApplied) a = NULL;
      LatheLayerSettings *s = lathe_plan_layer (plan, cases[i].layer);

      s->set = cases[i].field;
      s->bits = cases[i].bits;
      s->sparsity = cases[i].sparsity;
      s->pattern = cases[i].pattern;
      s->width = cases[i].width;
      a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);
      g_assert_null (a);
      g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("case %u: '%s' does not mention '%s'", i, error->message, cases[i].needle);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, model, fn) \
  g_test_add (path, Fixture, model, fixture_set_up, fn, fixture_tear_down)
  ADD ("/lathe/compress/apply/layers-cnn", "fashion-cnn.onnx", test_layers_cnn);
  ADD ("/lathe/compress/apply/fold-bn", "fashion-cnn.onnx", test_fold_bn);
  ADD ("/lathe/compress/apply/width-cnn", "fashion-cnn.onnx", test_width_cnn);
  ADD ("/lathe/compress/apply/width-mlp", "fashion-mlp.onnx", test_width_mlp);
  ADD ("/lathe/compress/apply/width-keeps-strongest", "fashion-mlp.onnx", test_width_keeps_strongest);
  ADD ("/lathe/compress/apply/quant-export-mlp", "fashion-mlp.onnx", test_quant_export);
  ADD ("/lathe/compress/apply/quant-export-cnn", "fashion-cnn.onnx", test_quant_export);
  ADD ("/lathe/compress/apply/errors", "fashion-cnn.onnx", test_errors);
#undef ADD
  return g_test_run ();
}
