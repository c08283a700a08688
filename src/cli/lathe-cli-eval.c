/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

#include <math.h>

#include "compress/lathe-apply.h"
#include "onnx/lathe-onnx-writer.h"
#include "core/lathe-error.h"
#include "data/lathe-npy.h"
#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"
#include "export/lathe-export.h"
#include "lathe-cli.h"

static void
print_norm (const LatheCliData *data,
            LatheDataset       *dataset)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (lathe_dataset_get_dtype (dataset) != LATHE_DTYPE_UINT8)
    {
      g_print ("Normalise none (%s data is used as it is)\n",
               lathe_dtype_name (lathe_dataset_get_dtype (dataset)));
      return;
    }

  for (guint i = 0; i < data->mean_values->len; i++)
    g_string_append_printf (s, "%s%g", i ? "," : "", g_array_index (data->mean_values, float, i));
  g_string_append (s, " std ");
  for (guint i = 0; i < data->std_values->len; i++)
    g_string_append_printf (s, "%s%g", i ? "," : "", g_array_index (data->std_values, float, i));
  g_print ("Normalise mean %s (%s)\n", s->str, data->norm_source);
}

/* Loads model and data, applies the plan flags when any were given, and
 * evaluates: the source model first when a plan changes it (for the
 * baseline and fidelity), then the effective model. Shared by eval and
 * sweep. */
int
lathe_cli_eval (int    argc,
                char **argv)
{
  gboolean json = FALSE;
  LatheCliData data = { 0 };
  LatheCliPlan plan_flags = { 0 };
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(LathePlan) plan = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LatheApplied) applied = NULL;
  g_autoptr(GBytes) onnx = NULL;
  LatheApplyOptions apply_options = { 0 };
  LatheEvalOptions options = { 0 };
  LatheEvalResult baseline = { 0 };
  LatheEvalResult result = { 0 };
  LatheGraph *graph;
  guint64 baseline_bytes, packed_bytes;
  gint64 t0;
  double load_seconds;
  int status;

  g_option_context_set_summary (context,
    "Measure a model's top-1 and top-5 accuracy on a labelled data set — as it is, or\n"
    "compressed by the plan flags, beside the original's accuracy and size.");
  if (!lathe_cli_parse_one (context, entries, &data, &plan_flags, "expected one MODEL.onnx",
                            &argc, &argv, &status))
    goto out_status;

  t0 = g_get_monotonic_time ();
  if (!(model = lathe_model_new_from_file (argv[1], NULL, &error)) ||
      !(dataset = lathe_cli_data_load (&data, model, &error)))
    goto out_error;
  load_seconds = (g_get_monotonic_time () - t0) / 1e6;
  graph = lathe_model_get_graph (model);

  if (g_str_equal (data.norm_source, "default") && lathe_dataset_get_dtype (dataset) == LATHE_DTYPE_UINT8)
    g_printerr ("lathe-cli: warning: %s has no lathe.mean/lathe.std and no --mean/--std was given; "
                "using mean 0 and std 1\n", argv[1]);
  if (!lathe_dataset_has_labels (dataset))
    {
      g_set_error (&error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "data '%s' has no labels; eval needs them", lathe_dataset_get_spec (dataset));
      goto out_error;
    }

  baseline_bytes = packed_bytes = lathe_graph_stored_bytes (graph);
  if (lathe_cli_plan_given (&plan_flags))
    {
      if (!(plan = lathe_cli_plan_build (&plan_flags, &error)) ||
          !(layers = lathe_find_layers (graph, &error)) ||
          !lathe_cli_apply_options (plan, &data, dataset, &apply_options, &error) ||
          !(applied = lathe_apply_plan_full (graph, layers, plan, &apply_options, NULL, &error)) ||
          !(onnx = lathe_export_onnx (applied, layers, NULL, NULL, &error)))
        goto out_error;
      packed_bytes = applied->packed_bytes;
    }
  else if (!(onnx = lathe_onnx_serialize (graph, NULL, &error)))
    goto out_error;

  lathe_cli_eval_options (&data, &options);

  if (applied != NULL &&
      !lathe_evaluate (graph, dataset, &options, NULL, lathe_cli_progress, "Baseline  ", NULL,
                       &baseline, &error))
    goto out_error;
  if (!lathe_evaluate (applied ? applied->graph : graph, dataset, &options,
                       applied ? baseline.predictions : NULL,
                       lathe_cli_progress, "Evaluating", NULL, &result, &error))
    goto out_error;

  {
    LatheMetrics *m = result.metrics;
    double accuracy = lathe_metrics_accuracy (m);
    double base_accuracy = applied ? lathe_metrics_accuracy (baseline.metrics) : accuracy;
    double fidelity = applied ? lathe_metrics_fidelity (m) : 1.0;

    if (json)
      {
        g_autoptr(JsonBuilder) b = json_builder_new ();

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "model");
        json_builder_add_string_value (b, argv[1]);
        json_builder_set_member_name (b, "data");
        json_builder_add_string_value (b, lathe_dataset_get_spec (dataset));
        json_builder_set_member_name (b, "accuracy");
        json_builder_add_double_value (b, accuracy);
        json_builder_set_member_name (b, "correct");
        json_builder_add_int_value (b, (gint64) m->correct);
        json_builder_set_member_name (b, "total");
        json_builder_add_int_value (b, (gint64) m->total);
        json_builder_set_member_name (b, "top5");
        json_builder_add_double_value (b, lathe_metrics_top5 (m));
        json_builder_set_member_name (b, "top5_correct");
        json_builder_add_int_value (b, (gint64) m->top5_correct);
        json_builder_set_member_name (b, "baseline_accuracy");
        json_builder_add_double_value (b, base_accuracy);
        json_builder_set_member_name (b, "fidelity");
        json_builder_add_double_value (b, fidelity);
        json_builder_set_member_name (b, "size_bytes");
        json_builder_add_int_value (b, (gint64) packed_bytes);
        json_builder_set_member_name (b, "baseline_size_bytes");
        json_builder_add_int_value (b, (gint64) baseline_bytes);
        /* the ONNX export, serialized in memory */
        json_builder_set_member_name (b, "file_size_bytes");
        json_builder_add_int_value (b, (gint64) g_bytes_get_size (onnx));
        json_builder_set_member_name (b, "per_class_accuracy");
        json_builder_begin_array (b);
        for (guint c = 0; c < result.n_outputs; c++)
          json_builder_add_double_value (b, lathe_metrics_class_accuracy (m, c));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "seconds");
        json_builder_add_double_value (b, result.seconds);
        json_builder_set_member_name (b, "load_seconds");
        json_builder_add_double_value (b, load_seconds);
        json_builder_set_member_name (b, "samples_per_second");
        json_builder_add_double_value (b, result.seconds > 0 ? m->total / result.seconds : 0);
        json_builder_set_member_name (b, "batch");
        json_builder_add_int_value (b, data.batch > 0 ? data.batch : 256);
        json_builder_set_member_name (b, "mean");
        json_builder_begin_array (b);
        for (guint i = 0; i < data.mean_values->len; i++)
          json_builder_add_double_value (b, g_array_index (data.mean_values, float, i));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "std");
        json_builder_begin_array (b);
        for (guint i = 0; i < data.std_values->len; i++)
          json_builder_add_double_value (b, g_array_index (data.std_values, float, i));
        json_builder_end_array (b);
        if (applied != NULL)
          {
            json_builder_set_member_name (b, "layers");
            json_builder_begin_array (b);
            for (guint i = 0; i < applied->results->len; i++)
              {
                LatheLayerResult *r = g_ptr_array_index (applied->results, i);
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "name");
                json_builder_add_string_value (b, r->name);
                json_builder_set_member_name (b, "status");
                json_builder_add_string_value (b, r->status);
                json_builder_set_member_name (b, "units");
                json_builder_add_int_value (b, (gint64) r->rows);
                json_builder_set_member_name (b, "sparsity");
                json_builder_add_double_value (b, r->sparsity);
                json_builder_set_member_name (b, "size_bytes");
                json_builder_add_int_value (b, (gint64) r->packed_bytes);
                json_builder_set_member_name (b, "original_bytes");
                json_builder_add_int_value (b, (gint64) r->original_bytes);
                json_builder_set_member_name (b, "sqnr_db");
                if (isfinite (r->sqnr_db))
                  json_builder_add_double_value (b, r->sqnr_db);
                else
                  json_builder_add_null_value (b);
                json_builder_end_object (b);
              }
            json_builder_end_array (b);
          }
        json_builder_end_object (b);
        lathe_cli_print_json (b);
      }
    else
      {
        g_autofree char *sb = lathe_cli_format_bytes (baseline_bytes);
        g_autofree char *sp = lathe_cli_format_bytes (packed_bytes);

        g_print ("Model     %s\n", argv[1]);
        g_print ("Data      %s, %u samples\n", lathe_dataset_get_spec (dataset), result.n_samples);
        print_norm (&data, dataset);
        if (applied != NULL)
          {
            for (guint i = 0; i < applied->results->len; i++)
              {
                LatheLayerResult *r = g_ptr_array_index (applied->results, i);
                g_autofree char *lb = lathe_cli_format_bytes (r->packed_bytes);
                g_print ("%s %s: %s, %s", i == 0 ? "Layers   " : "         ", r->name, r->status, lb);
                if (isfinite (r->sqnr_db))
                  g_print (", SQNR %.1f dB", r->sqnr_db);
                g_print ("\n");
              }
            g_autofree char *sf = lathe_cli_format_bytes (g_bytes_get_size (onnx));
            g_print ("Size      %s → %s packed (%.2f× smaller); as ONNX %s\n", sb, sp,
                     packed_bytes ? (double) baseline_bytes / packed_bytes : 0.0, sf);
            g_print ("Accuracy  %.4f → %.4f (%+.2f points; %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT ")\n",
                     base_accuracy, accuracy, 100 * (accuracy - base_accuracy), m->correct, m->total);
            g_print ("Fidelity  %.4f (top-1 agrees with the original)\n", fidelity);
          }
        else
          {
            g_print ("Size      %s\n", sb);
            g_print ("Accuracy  %.4f (%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT ")\n", accuracy, m->correct, m->total);
          }
        g_print ("Top-5     %.4f\n", lathe_metrics_top5 (m));
        g_print ("Time      %.3f s forward passes, %.0f samples/s (batch %d); %.3f s loading\n",
                 result.seconds, result.seconds > 0 ? m->total / result.seconds : 0.0,
                 data.batch > 0 ? data.batch : 256, load_seconds);
      }
  }
  status = LATHE_EXIT_OK;
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  lathe_eval_result_clear (&baseline);
  lathe_eval_result_clear (&result);
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_data_clear (&data);
  lathe_cli_plan_clear (&plan_flags);
  return status;
}

int
lathe_cli_run (int    argc,
               char **argv)
{
  g_autofree char *input_path = NULL;
  g_autofree char *output_path = NULL;
  GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input_path, "Input NPY file (float32, used as is)", "X.npy" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output_path, "Where to write the first output as float32 NPY", "Y.npy" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheTensor) input = NULL;
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(LathePlan) plan = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LatheApplied) applied = NULL;
  g_autoptr(LatheDataset) dataset = NULL;
  LatheApplyOptions apply_options = { 0 };
  LatheCliPlan plan_flags = { 0 };
  LatheCliData data = { 0 };
  LatheGraph *graph;
  LatheTensor *out;
  int status;

  g_option_context_set_summary (context,
    "Run a model — as it is, or compressed by the plan flags — on an NPY input and write its\n"
    "first output as float32 NPY.");
  if (!lathe_cli_parse_one (context, entries, &data, &plan_flags, "expected one MODEL.onnx",
                            &argc, &argv, &status))
    goto out_status;
  if (input_path == NULL || output_path == NULL)
    {
      status = lathe_cli_usage_error (context, "--input and --output are required");
      goto out_status;
    }

  if (!(model = lathe_model_new_from_file (argv[1], NULL, &error)) ||
      !(input = lathe_npy_read (input_path, &error)))
    goto out_error;
  graph = lathe_model_get_graph (model);
  if (lathe_cli_plan_given (&plan_flags))
    {
      if (!(plan = lathe_cli_plan_build (&plan_flags, &error)) ||
          !(layers = lathe_find_layers (graph, &error)))
        goto out_error;
      /* Only activation importance needs data: calibration is normalised
       * as the evaluation data would be. */
      if (plan->activation_importance &&
          (!(dataset = lathe_cli_data_load (&data, model, &error)) ||
           !lathe_cli_apply_options (plan, &data, dataset, &apply_options, &error)))
        goto out_error;
      if (!(applied = lathe_apply_plan_full (graph, layers, plan, &apply_options, NULL, &error)))
        goto out_error;
      graph = applied->graph;
    }
  if (input->dtype != LATHE_DTYPE_FLOAT)
    {
      g_set_error (&error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s: %s data; run takes float32 (use eval for uint8 images)",
                   input_path, lathe_dtype_name (input->dtype));
      goto out_error;
    }

  exec = lathe_executor_new (graph);
  if (!lathe_executor_run (exec, 1, &input, &error))
    {
      g_prefix_error (&error, "%s: ", input_path);
      goto out_error;
    }
  out = lathe_executor_get_output (exec, 0);
  if (out->dtype != LATHE_DTYPE_FLOAT)
    {
      g_set_error (&error, LATHE_EVAL_ERROR, LATHE_EVAL_ERROR_MODEL,
                   "the model's first output is %s; run writes float32", lathe_dtype_name (out->dtype));
      goto out_error;
    }
  if (!lathe_npy_write (output_path, LATHE_DTYPE_FLOAT, out->ndim, out->dims, out->data, &error))
    goto out_error;
  status = LATHE_EXIT_OK;
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_plan_clear (&plan_flags);
  lathe_cli_data_clear (&data);
  return status;
}
