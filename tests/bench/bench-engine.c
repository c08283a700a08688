/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-bench"

/* Engine benchmark, run by `meson test --benchmark -v`. Prints, for each
 * sample model, the evaluation throughput over the Fashion-MNIST test set
 * at batch 1000, what plain cblas_sgemm achieves on the same GEMM shapes
 * (so the executor's overhead shows as a ratio), a per-op time breakdown,
 * and the time to load a generated 100 MB ONNX file. Figures only: no
 * assertion on time. */

#include <cblas.h>
#include <glib/gstdio.h>
#include <string.h>

#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"
#include "onnx/lathe-model.h"
#include "onnx.pb-c.h"
#include "../lathe-test-util.h"

#define BATCH 1000
#define REPEATS 3

typedef struct {
  gboolean trans_a, trans_b;
  gsize M, N, K;
  guint calls;     /* per batch */
} GemmShape;

/* The GEMMs the executor issues for one batch: one per Gemm/MatMul, and one
 * per image and group for a convolution lowered to im2col. */
static GArray *
collect_gemms (LatheGraph    *graph,
               LatheExecutor *exec)
{
  GArray *shapes = g_array_new (FALSE, TRUE, sizeof (GemmShape));

  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      GemmShape s = { 0 };

      if (g_str_equal (node->op_type, "Gemm"))
        {
          LatheTensor *a = lathe_executor_get_value (exec, node->inputs[0]);
          LatheTensor *y = lathe_executor_get_value (exec, node->outputs[0]);
          s.trans_a = lathe_node_get_int (node, "transA", 0);
          s.trans_b = lathe_node_get_int (node, "transB", 0);
          s.M = y->dims[0];
          s.N = y->dims[1];
          s.K = s.trans_a ? a->dims[0] : a->dims[1];
          s.calls = 1;
        }
      else if (g_str_equal (node->op_type, "MatMul"))
        {
          LatheTensor *a = lathe_executor_get_value (exec, node->inputs[0]);
          LatheTensor *y = lathe_executor_get_value (exec, node->outputs[0]);
          s.K = a->dims[a->ndim - 1];
          s.N = y->dims[y->ndim - 1];
          s.M = y->n / s.N;
          s.calls = 1;
        }
      else if (g_str_equal (node->op_type, "Conv"))
        {
          LatheTensor *w = lathe_executor_get_value (exec, node->inputs[1]);
          LatheTensor *y = lathe_executor_get_value (exec, node->outputs[0]);
          gint64 group = lathe_node_get_int (node, "group", 1);
          gsize spatial = 1, ksize = 1;
          for (guint d = 2; d < y->ndim; d++)
            spatial *= y->dims[d];
          for (guint d = 1; d < w->ndim; d++)
            ksize *= w->dims[d];
          if (group == w->dims[0] && w->dims[1] == 1)
            continue;   /* depthwise: no GEMM */
          s.M = w->dims[0] / group;
          s.N = spatial;
          s.K = ksize;
          s.calls = (guint) (y->dims[0] * group);
        }
      else
        continue;
      g_array_append_val (shapes, s);
    }
  return shapes;
}

static double
time_gemms (GArray *shapes)
{
  double best = G_MAXDOUBLE;
  gsize max_a = 0, max_b = 0, max_c = 0;
  float *A, *B, *C;

  for (guint i = 0; i < shapes->len; i++)
    {
      GemmShape *s = &g_array_index (shapes, GemmShape, i);
      max_a = MAX (max_a, s->M * s->K);
      max_b = MAX (max_b, s->K * s->N);
      max_c = MAX (max_c, s->M * s->N);
    }
  A = lathe_aligned_alloc0 (max_a * sizeof (float));
  B = lathe_aligned_alloc0 (max_b * sizeof (float));
  C = lathe_aligned_alloc0 (max_c * sizeof (float));
  for (gsize i = 0; i < max_a; i++) A[i] = (float) (i % 7) * 0.1f;
  for (gsize i = 0; i < max_b; i++) B[i] = (float) (i % 5) * 0.1f;

  for (int r = 0; r < REPEATS + 1; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      for (guint i = 0; i < shapes->len; i++)
        {
          GemmShape *s = &g_array_index (shapes, GemmShape, i);
          for (guint c = 0; c < s->calls; c++)
            cblas_sgemm (CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans,
                         s->trans_b ? CblasTrans : CblasNoTrans,
                         (blasint) s->M, (blasint) s->N, (blasint) s->K, 1.f,
                         A, (blasint) (s->trans_a ? s->M : s->K),
                         B, (blasint) (s->trans_b ? s->K : s->N), 0.f, C, (blasint) s->N);
        }
      if (r > 0)   /* the first round warms caches and threads */
        best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  lathe_aligned_free (A);
  lathe_aligned_free (B);
  lathe_aligned_free (C);
  return best;   /* seconds per batch */
}

static void
bench_model (const char   *name,
             LatheDataset *dataset)
{
  g_autofree char *file = g_strdup_printf ("%s.onnx", name);
  g_autofree char *path = lathe_test_sample (file);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
  g_autoptr(GArray) shapes = NULL;
  g_autoptr(GHashTable) per_op = g_hash_table_new (g_str_hash, g_str_equal);
  LatheGraph *graph;
  LatheEvalOptions options = { 0 };
  double best = G_MAXDOUBLE, gemm_s, gflop = 0;
  guint n = lathe_dataset_get_n_samples (dataset);
  const gint64 *profile;
  guint n_nodes;
  gint64 prof_total = 0;
  guint accuracy_correct = 0;

  if (model == NULL)
    g_error ("%s", error->message);
  graph = lathe_model_get_graph (model);
  lathe_model_get_normalization (model, &mean, &std, NULL);
  options.batch = BATCH;
  options.mean = (float *) mean->data;
  options.std = (float *) std->data;
  options.n_norm = mean->len;

  for (int r = 0; r < REPEATS; r++)
    {
      LatheEvalResult result = { 0 };
      if (!lathe_evaluate (graph, dataset, &options, NULL, NULL, NULL, NULL, &result, &error))
        g_error ("%s", error->message);
      best = MIN (best, result.seconds);
      accuracy_correct = (guint) result.metrics->correct;
      lathe_eval_result_clear (&result);
    }

  /* Shapes and a per-op profile from one batch. */
  exec = lathe_executor_new (graph);
  lathe_graph_input_shape_for_batch (graph, 0, BATCH, meta, NULL);
  if (!lathe_executor_prepare (exec, 1, &meta, &error))
    g_error ("%s", error->message);
  shapes = collect_gemms (graph, exec);
  for (guint i = 0; i < shapes->len; i++)
    {
      GemmShape *s = &g_array_index (shapes, GemmShape, i);
      gflop += 2.0 * s->M * s->N * s->K * s->calls / 1e9;
    }
  gemm_s = time_gemms (shapes) * ((double) n / BATCH);

  lathe_executor_set_profiling (exec, TRUE);
  for (int r = 0; r < REPEATS; r++)
    lathe_executor_execute (exec, NULL);
  profile = lathe_executor_get_profile (exec, &n_nodes);
  for (guint k = 0; k < n_nodes; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      gint64 t = GPOINTER_TO_SIZE (g_hash_table_lookup (per_op, node->op_type));
      g_hash_table_insert (per_op, node->op_type, GSIZE_TO_POINTER (t + profile[k]));
      prof_total += profile[k];
    }

  g_print ("%s: %u images, batch %d, best of %d\n", name, n, BATCH, REPEATS);
  g_print ("  executor      %8.3f s  %9.0f samples/s  (accuracy %u/%u)\n", best, n / best, accuracy_correct, n);
  g_print ("  cblas_sgemm   %8.3f s  %9.0f samples/s  on the same GEMM shapes (%.2f GFLOP, %.1f GFLOP/s)\n",
           gemm_s, n / gemm_s, gflop * n / BATCH, gflop * n / BATCH / gemm_s);
  g_print ("  executor / sgemm throughput: %.0f %%\n", 100.0 * gemm_s / best);
  g_print ("  time per op type (one batch):");
  {
    g_autoptr(GList) keys = g_hash_table_get_keys (per_op);
    for (GList *l = keys; l; l = l->next)
      g_print (" %s %.0f%%", (char *) l->data,
               100.0 * GPOINTER_TO_SIZE (g_hash_table_lookup (per_op, l->data)) / MAX (prof_total, 1));
  }
  g_print ("\n");
}

/* A Gemm with a 5000×5000 float weight: 100 MB of raw_data. */
static void
bench_load_100mb (void)
{
  const gint64 dim = 5000;
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
  char *node_inputs[2] = { "x", "w" };
  char *node_outputs[1] = { "y" };
  int64_t wdims[2] = { dim, dim };
  g_autofree float *w = g_new (float, dim * dim);
  g_autofree guint8 *buf = NULL;
  g_autofree char *tmpdir = g_dir_make_tmp ("lathe-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (tmpdir, "big.onnx", NULL);
  g_autoptr(GError) error = NULL;
  gsize len;
  double best = G_MAXDOUBLE;

  for (gint64 i = 0; i < dim * dim; i++)
    w[i] = (float) (i % 1000) * 1e-3f;

  opset.has_version = TRUE;
  opset.version = 13;
  opset.domain = "";
  model.has_ir_version = TRUE;
  model.ir_version = 7;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.producer_name = "lathe-bench";
  model.graph = &graph;
  graph.name = "big";
  graph.n_node = 1;
  graph.node = nodes;
  node.op_type = "MatMul";
  node.name = "matmul";
  node.n_input = 2;
  node.input = node_inputs;
  node.n_output = 1;
  node.output = node_outputs;
  weight.name = "w";
  weight.has_data_type = TRUE;
  weight.data_type = 1;
  weight.n_dims = 2;
  weight.dims = wdims;
  weight.has_raw_data = TRUE;
  weight.raw_data.data = (guint8 *) w;
  weight.raw_data.len = dim * dim * sizeof (float);
  graph.n_initializer = 1;
  graph.initializer = inits;
  ttype.has_elem_type = TRUE;
  ttype.elem_type = 1;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type.tensor_type = &ttype;
  in.name = "x";
  in.type = &type;
  out.name = "y";
  out.type = &type;
  graph.n_input = 1;
  graph.input = ins;
  graph.n_output = 1;
  graph.output = outs;

  len = onnx__model_proto__get_packed_size (&model);
  buf = g_malloc (len);
  onnx__model_proto__pack (&model, buf);
  if (!g_file_set_contents (path, (char *) buf, len, &error))
    g_error ("%s", error->message);

  for (int r = 0; r < REPEATS; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(LatheModel) m = lathe_model_new_from_file (path, NULL, &error);
      if (m == NULL)
        g_error ("%s", error->message);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  g_print ("load: %.1f MB ONNX file in %.3f s (best of %d, file in page cache)\n", len / 1e6, best, REPEATS);
  g_unlink (path);
  g_rmdir (tmpdir);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheDataset) dataset = lathe_dataset_new_from_spec ("fashion-mnist:test", NULL, &error);

  if (dataset == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 77;
    }
  const char *only = g_getenv ("LATHE_BENCH_ONLY");   /* "mlp", "cnn" or "load" */

  g_print ("OpenBLAS %s, %d threads\n", openblas_get_config (), openblas_get_num_threads ());
  if (only == NULL || g_str_equal (only, "mlp"))
    bench_model ("fashion-mlp", dataset);
  if (only == NULL || g_str_equal (only, "cnn"))
    bench_model ("fashion-cnn", dataset);
  if (only == NULL || g_str_equal (only, "load"))
    bench_load_100mb ();
  return 0;
}
