/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

/* apply, check and sweep: the commands that turn a plan into measured
 * results and build artifacts. */

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "export/lathe-artifact-build.h"
#include "onnx/lathe-onnx-writer.h"
#include "export/lathe-export.h"
#include "pipeline/lathe-pipeline.h"
#include "lathe-cli.h"

#define CHECK_TOLERANCE_DEFAULT 0.001

/* Everything one measured plan gives. */
typedef struct {
  LatheApplied    *applied;
  GPtrArray       *layers;        /* a trained student's layers, or NULL */
  LatheEvalResult  result;
  GBytes          *onnx;
  char            *onnx_sha256;
  GPtrArray       *notes;
  int              opset;
} Measure;

static void
measure_clear (Measure *m)
{
  g_clear_pointer (&m->applied, lathe_applied_free);
  g_clear_pointer (&m->layers, g_ptr_array_unref);
  lathe_eval_result_clear (&m->result);
  g_clear_pointer (&m->onnx, g_bytes_unref);
  g_clear_pointer (&m->onnx_sha256, g_free);
  g_clear_pointer (&m->notes, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Measure, measure_clear)

static gboolean
measure (LatheGraph             *graph,
         GPtrArray              *layers,
         const LathePlan        *plan,
         const LatheApplyOptions *apply_options,
         LatheDataset           *dataset,
         const LatheEvalOptions *options,
         const gint32           *baseline_pred,
         const char             *label,
         Measure                *m,
         GError                **error)
{
  m->notes = g_ptr_array_new_with_free_func (g_free);
  /* a trained student comes in already applied */
  if ((m->applied == NULL &&
       !(m->applied = lathe_apply_plan_full (graph, layers, plan, apply_options, NULL, error))) ||
      !(m->onnx = lathe_export_onnx (m->applied, m->layers ? m->layers : layers, m->notes, &m->opset, error)))
    return FALSE;
  m->onnx_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, m->onnx);
  return dataset == NULL ||
         lathe_evaluate (m->applied->graph, dataset, options, baseline_pred,
                         lathe_cli_progress, (gpointer) label, NULL, &m->result, error);
}

/* Reads PIPELINE.json (model, data and plan from it, flags on top) or
 * MODEL.onnx with plan flags. */
typedef struct {
  LathePipeline *pipeline;     /* NULL for MODEL.onnx */
  char          *pipeline_path;
  char          *model_path;
  LatheModel    *model;
  LatheDataset  *dataset;
  LathePlan     *plan;
  GPtrArray     *layers;
} Source;

static void
source_clear (Source *src)
{
  g_clear_pointer (&src->pipeline, lathe_pipeline_free);
  g_clear_pointer (&src->pipeline_path, g_free);
  g_clear_pointer (&src->model_path, g_free);
  g_clear_object (&src->model);
  g_clear_object (&src->dataset);
  g_clear_pointer (&src->plan, lathe_plan_free);
  g_clear_pointer (&src->layers, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Source, source_clear)

static gboolean
open_source (const char   *arg,
             const char   *model_override,
             LatheCliData *data,
             LatheCliPlan *plan_flags,
             gboolean      need_data,
             Source       *src,
             GError      **error)
{
  if (g_str_has_suffix (arg, ".json"))
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      if (lathe_cli_plan_given (plan_flags))
        {
          g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID,
                       "%s: plan flags apply to MODEL.onnx; edit the pipeline file to change its plan", arg);
          return FALSE;
        }
      if (!(src->pipeline = lathe_pipeline_load (arg, error)))
        return FALSE;
      src->pipeline_path = g_strdup (arg);
      src->model_path = model_override ? g_strdup (model_override)
                                       : lathe_pipeline_resolve_path (src->pipeline, arg, src->pipeline->model_path);
      if (!(src->model = lathe_model_new_from_file (src->model_path, NULL, error)))
        return FALSE;
      if (model_override == NULL && src->pipeline->model_sha256 != NULL &&
          g_strcmp0 (src->pipeline->model_sha256, lathe_model_get_sha256 (src->model)) != 0)
        {
          g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID,
                       "%s: $.model.sha256 says %.12s…, but %s has sha256 %.12s…: the pipeline is for a different model",
                       arg, src->pipeline->model_sha256, src->model_path, lathe_model_get_sha256 (src->model));
          return FALSE;
        }
      /* data flags override what the pipeline recorded */
      if (data->spec == NULL && src->pipeline->data_spec != NULL)
        data->spec = g_str_has_prefix (src->pipeline->data_spec, "fashion-mnist")
                     ? g_strdup (src->pipeline->data_spec)
                     : lathe_pipeline_resolve_path (src->pipeline, arg, src->pipeline->data_spec);
      if (data->mean == NULL && src->pipeline->mean != NULL && src->pipeline->mean->len > 0)
        {
          GString *m = g_string_new (NULL), *s = g_string_new (NULL);
          for (guint i = 0; i < src->pipeline->mean->len; i++)
            {
              g_string_append_printf (m, "%s%.9g", i ? "," : "", g_array_index (src->pipeline->mean, float, i));
              g_string_append_printf (s, "%s%.9g", i ? "," : "", g_array_index (src->pipeline->std, float, i));
            }
          data->mean = g_string_free (m, FALSE);
          data->std = g_string_free (s, FALSE);
        }
      src->plan = lathe_plan_copy (src->pipeline->plan);
      if (!(src->layers = lathe_find_layers (lathe_model_get_graph (src->model), error)))
        return FALSE;
      for (guint i = 0; i < src->layers->len; i++)
        g_ptr_array_add (names, ((LatheLayer *) g_ptr_array_index (src->layers, i))->name);
      g_ptr_array_add (names, NULL);
      if (!lathe_pipeline_check_layers (src->pipeline, (const char * const *) names->pdata, error))
        {
          g_prefix_error (error, "%s: ", arg);
          return FALSE;
        }
    }
  else
    {
      src->model_path = g_strdup (arg);
      if (!(src->model = lathe_model_new_from_file (arg, NULL, error)) ||
          !(src->plan = lathe_cli_plan_build (plan_flags, error)) ||
          !(src->layers = lathe_find_layers (lathe_model_get_graph (src->model), error)))
        return FALSE;
    }

  return !need_data || (src->dataset = lathe_cli_data_load_labelled (data, src->model, error)) != NULL;
}

int
lathe_cli_apply (int    argc,
                 char **argv)
{
  gboolean json = FALSE, force = FALSE;
  g_autofree char *outdir = NULL;
  g_autofree char *model_override = NULL;
  LatheCliData data = { 0 };
  LatheCliPlan plan_flags = { 0 };
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, "The artifact folder to write", "OUTDIR" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Replace an existing artifact folder", NULL },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_override, "Use this model instead of the pipeline's", "MODEL.onnx" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("PIPELINE.json | MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_auto(Source) src = { 0 };
  g_auto(Measure) m = { 0 };
  g_autoptr(LathePipeline) out = NULL;
  LatheEvalOptions options;
  LatheApplyOptions apply_options = { 0 };
  LatheEvalResult baseline = { 0 };
  g_autofree char *pipeline_text = NULL;
  g_autofree char *report = NULL;
  guint64 baseline_bytes;
  int status;

  g_option_context_set_summary (context,
    "Apply a plan — a pipeline file, or a model with plan flags — measure it, and write the\n"
    "artifact folder: pipeline.json, model.onnx and report.md.");
  if (!lathe_cli_parse_one (context, entries, &data, &plan_flags, "expected one PIPELINE.json or MODEL.onnx",
                            &argc, &argv, &status))
    goto out_status;
  if (outdir == NULL)
    {
      status = lathe_cli_usage_error (context, "-o OUTDIR is required");
      goto out_status;
    }
  if (model_override != NULL && !g_str_has_suffix (argv[1], ".json"))
    {
      status = lathe_cli_usage_error (context, "--model goes with a PIPELINE.json");
      goto out_status;
    }

  if (data.limit != 0)
    {
      status = lathe_cli_usage_error (context, "an artifact records results on the whole evaluation set; --limit does not apply");
      goto out_status;
    }
  if (!open_source (argv[1], model_override, &data, &plan_flags, TRUE, &src, &error))
    goto out_error;

  lathe_cli_eval_options (&data, &options);
  baseline_bytes = lathe_graph_stored_bytes (lathe_model_get_graph (src.model));
  if (!lathe_evaluate (lathe_model_get_graph (src.model), src.dataset, &options, NULL,
                       lathe_cli_progress, "Baseline  ", NULL, &baseline, &error) ||
      !lathe_cli_apply_options (src.plan, &data, src.dataset, &apply_options, &error) ||
      (src.pipeline != NULL && src.pipeline->training != NULL &&
       !lathe_cli_train_replay (src.pipeline, src.pipeline_path, lathe_model_get_graph (src.model), src.layers,
                                src.plan, &apply_options, &data, src.dataset, &m.applied, &m.layers, &error)) ||
      !measure (lathe_model_get_graph (src.model), src.layers, src.plan, &apply_options, src.dataset, &options,
                baseline.predictions, "Evaluating", &m, &error))
    goto out_error;

  {
    /* The artifact records paths relative to itself, so it can move
     * together with the model. */
    LatheArtifactSource as = {
      outdir, src.model_path, lathe_model_get_sha256 (src.model), src.dataset,
      data.mean_values, data.std_values, src.plan,
      src.pipeline != NULL ? src.pipeline->training : NULL,
    };
    LatheArtifactMeasure am = {
      m.applied, src.layers, m.onnx, "model.onnx", m.opset, m.notes,
      lathe_metrics_accuracy (m.result.metrics), lathe_metrics_accuracy (baseline.metrics),
      lathe_metrics_fidelity (m.result.metrics), baseline_bytes, m.result.n_samples,
    };
    const char *protected_paths[] = { src.model_path, src.pipeline_path, NULL };

    out = lathe_artifact_pipeline_new (&as, &am);
    pipeline_text = lathe_pipeline_to_json (out);
    report = lathe_artifact_report (&as, &am, NULL);
    if (!lathe_artifact_build_write (outdir, force, protected_paths, pipeline_text, &am, report, &error))
      goto out_error;
  }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "artifact");
      json_builder_add_string_value (b, outdir);
      json_builder_set_member_name (b, "accuracy");
      json_builder_add_double_value (b, out->results.accuracy);
      json_builder_set_member_name (b, "baseline_accuracy");
      json_builder_add_double_value (b, out->results.baseline_accuracy);
      lathe_cli_json_results (b, out);
      json_builder_set_member_name (b, "opset");
      json_builder_add_int_value (b, m.opset);
      json_builder_end_object (b);
      lathe_cli_print_json (b);
    }
  else
    {
      g_autofree char *sb = lathe_cli_format_bytes (baseline_bytes);
      g_autofree char *sp = lathe_cli_format_bytes (m.applied->packed_bytes);
      g_autofree char *sf = lathe_cli_format_bytes (g_bytes_get_size (m.onnx));
      g_print ("Artifact  %s (pipeline.json, model.onnx, report.md)\n", outdir);
      g_print ("Size      %s → %s packed (%.2f× smaller); model.onnx %s, opset %d\n", sb, sp,
               (double) baseline_bytes / MAX (m.applied->packed_bytes, 1), sf, m.opset);
      lathe_cli_print_results (out);
    }
  status = LATHE_EXIT_OK;
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  lathe_eval_result_clear (&baseline);
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_data_clear (&data);
  lathe_cli_plan_clear (&plan_flags);
  return status;
}

int
lathe_cli_check (int    argc,
                 char **argv)
{
  double tolerance = CHECK_TOLERANCE_DEFAULT;
  gboolean retrain = FALSE;
  g_autofree char *model_override = NULL;
  LatheCliData data = { 0 };
  LatheCliPlan no_flags = { 0 };
  GOptionEntry entries[] = {
    { "tolerance", 0, 0, G_OPTION_ARG_DOUBLE, &tolerance, "Largest accepted accuracy difference, as a fraction (default 0.001)", "T" },
    { "retrain", 0, 0, G_OPTION_ARG_NONE, &retrain, "With a \"training\" section: train again and compare the accuracy (weights may differ across CPUs)", NULL },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_override, "Use this model instead of the pipeline's", "MODEL.onnx" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("PIPELINE.json");
  g_autoptr(GError) error = NULL;
  g_auto(Source) src = { 0 };
  g_auto(Measure) m = { 0 };
  LatheEvalOptions options;
  LatheApplyOptions apply_options = { 0 };
  LatheEvalResult baseline = { 0 };
  g_autoptr(GString) problems = g_string_new (NULL);
  gboolean export_matches;
  double accuracy, recorded;
  int status;

  g_option_context_set_summary (context,
    "Re-apply a pipeline file's plan and verify it: the same model.onnx (sha256), the same sizes,\n"
    "and an accuracy within the tolerance of the recorded one. Exit 1 when it differs.");
  g_option_context_add_main_entries (context, entries, NULL);
  lathe_cli_data_add_options (&data, context);
  if (!lathe_cli_parse (context, &argc, &argv, &status))
    goto out_status;
  if (argc != 2 || !g_str_has_suffix (argv[1], ".json"))
    {
      status = lathe_cli_usage_error (context, "expected one PIPELINE.json");
      goto out_status;
    }
  if (data.limit != 0)
    {
      status = lathe_cli_usage_error (context, "results are recorded on the whole evaluation set; --limit does not apply");
      goto out_status;
    }
  if (!(tolerance >= 0 && tolerance <= 1))
    {
      status = lathe_cli_usage_error (context, "--tolerance is a fraction from 0 to 1");
      goto out_status;
    }

  if (!open_source (argv[1], model_override, &data, &no_flags, TRUE, &src, &error))
    goto out_error;
  if (!src.pipeline->has_results)
    {
      g_set_error (&error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID,
                   "%s: $.results is null: nothing recorded to check against", argv[1]);
      goto out_error;
    }

  lathe_cli_eval_options (&data, &options);
  if (src.pipeline->training != NULL && !retrain)
    {
      /* Training is not repeated: the artifact's model.onnx is verified
       * and evaluated as it is. */
      status = lathe_cli_check_trained (src.pipeline, argv[1], src.dataset, &options, tolerance, &error);
      if (status < 0)
        goto out_error;
      goto out_status;
    }
  if (!lathe_evaluate (lathe_model_get_graph (src.model), src.dataset, &options, NULL,
                       lathe_cli_progress, "Baseline  ", NULL, &baseline, &error) ||
      !lathe_cli_apply_options (src.plan, &data, src.dataset, &apply_options, &error) ||
      (src.pipeline->training != NULL &&
       !lathe_cli_train_replay (src.pipeline, argv[1], lathe_model_get_graph (src.model), src.layers,
                                src.plan, &apply_options, &data, src.dataset, &m.applied, &m.layers, &error)) ||
      !measure (lathe_model_get_graph (src.model), src.layers, src.plan, &apply_options, src.dataset, &options,
                baseline.predictions, "Evaluating", &m, &error))
    goto out_error;

  export_matches = g_strcmp0 (m.onnx_sha256, src.pipeline->results.model_sha256) == 0;
  /* re-trained weights may differ in the last bits on another CPU */
  if (!export_matches && src.pipeline->training == NULL)
    g_string_append_printf (problems, "model.onnx sha256 %.12s… differs from the recorded %.12s…\n",
                            m.onnx_sha256, src.pipeline->results.model_sha256 ? src.pipeline->results.model_sha256 : "(none)");
  if ((gint64) m.applied->packed_bytes != src.pipeline->results.size_bytes)
    g_string_append_printf (problems, "packed size %" G_GUINT64_FORMAT " B differs from the recorded %" G_GINT64_FORMAT " B\n",
                            m.applied->packed_bytes, src.pipeline->results.size_bytes);
  if ((gint64) g_bytes_get_size (m.onnx) != src.pipeline->results.file_size_bytes)
    g_string_append_printf (problems, "model.onnx size %" G_GSIZE_FORMAT " B differs from the recorded %" G_GINT64_FORMAT " B\n",
                            g_bytes_get_size (m.onnx), src.pipeline->results.file_size_bytes);

  /* The artifact's own model.onnx, when it sits beside the pipeline. */
  {
    g_autofree char *dir = g_path_get_dirname (argv[1]);
    g_autofree char *artifact_model = g_build_filename (dir, "model.onnx", NULL);
    g_autofree char *contents = NULL;
    gsize len;
    if (g_file_get_contents (artifact_model, &contents, &len, NULL))
      {
        g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) contents, len);
        if (g_strcmp0 (sha, src.pipeline->results.model_sha256) != 0)
          g_string_append_printf (problems, "%s has sha256 %.12s…, not the recorded one\n", artifact_model, sha);
      }
  }

  accuracy = lathe_metrics_accuracy (m.result.metrics);
  recorded = src.pipeline->results.accuracy;
  if (fabs (accuracy - recorded) > tolerance + 1e-12)
    g_string_append_printf (problems, "accuracy %.4f differs from the recorded %.4f by more than %g\n",
                            accuracy, recorded, tolerance);

  g_print ("Pipeline  %s\n", argv[1]);
  g_print ("Model     %s\n", src.model_path);
  g_print ("Export    model.onnx sha256 %s the recorded one\n", export_matches ? "matches" : "differs from");
  g_print ("Accuracy  %.4f, recorded %.4f (tolerance %g)\n", accuracy, recorded, tolerance);
  if (problems->len > 0)
    {
      g_printerr ("lathe-cli: check failed:\n%s", problems->str);
      status = LATHE_EXIT_FAILED;
    }
  else
    {
      g_print ("Check     passed\n");
      status = LATHE_EXIT_OK;
    }
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  lathe_eval_result_clear (&baseline);
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_data_clear (&data);
  return status;
}

static GArray *
parse_list (const char  *text,
            const char  *flag,
            GError     **error)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (char *));
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i]; i++)
    {
      char *p = g_strstrip (parts[i]);
      if (*p == '\0')
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "%s '%s': an empty item", flag, text);
          return NULL;
        }
      p = g_strdup (p);
      g_array_append_val (values, p);
    }
  return g_steal_pointer (&values);
}

int
lathe_cli_sweep (int    argc,
                 char **argv)
{
  gboolean json = FALSE;
  LatheCliData data = { 0 };
  LatheCliPlan plan_flags = { 0 };
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON Lines: one object per combination", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GArray) bits = NULL, sparsity = NULL, width = NULL;
  LatheEvalOptions options;
  LatheApplyOptions apply_options = { 0 };
  LatheEvalResult baseline = { 0 };
  LatheGraph *graph;
  guint64 baseline_bytes;
  int status;

  g_option_context_set_summary (context,
    "Evaluate every combination of comma-separated --bits, --sparsity and --width values and\n"
    "print a row each (JSON Lines with --json); the other plan flags apply to every row.");
  if (!lathe_cli_parse_one (context, entries, &data, &plan_flags, "expected one MODEL.onnx",
                            &argc, &argv, &status))
    goto out_status;

  if (!(bits = parse_list (plan_flags.bits ? plan_flags.bits : "32", "--bits", &error)) ||
      !(sparsity = parse_list (plan_flags.sparsity ? plan_flags.sparsity : "0", "--sparsity", &error)) ||
      !(width = parse_list (plan_flags.width ? plan_flags.width : "1", "--width", &error)))
    goto out_error;

  if (!(model = lathe_model_new_from_file (argv[1], NULL, &error)) ||
      !(dataset = lathe_cli_data_load (&data, model, &error)))
    goto out_error;
  graph = lathe_model_get_graph (model);
  if (!(layers = lathe_find_layers (graph, &error)))
    goto out_error;
  lathe_cli_eval_options (&data, &options);
  baseline_bytes = lathe_graph_stored_bytes (graph);
  if (!lathe_evaluate (graph, dataset, &options, NULL, lathe_cli_progress, "Baseline  ", NULL, &baseline, &error))
    goto out_error;

  /* The importance flags are the same for every row: calibration data is
   * loaded once. */
  {
    LatheCliPlan row = plan_flags;
    g_autoptr(LathePlan) first = NULL;
    row.bits = g_array_index (bits, char *, 0);
    row.sparsity = g_array_index (sparsity, char *, 0);
    row.width = g_array_index (width, char *, 0);
    first = lathe_cli_plan_build (&row, &error);
    if (first == NULL || !lathe_cli_apply_options (first, &data, dataset, &apply_options, &error))
      goto out_error;
  }

  /* Every combination must be a valid plan before anything is printed. */
  for (guint b = 0; b < bits->len; b++)
    for (guint s = 0; s < sparsity->len; s++)
      for (guint w = 0; w < width->len; w++)
        {
          LatheCliPlan row = plan_flags;
          g_autoptr(LathePlan) plan = NULL;
          row.bits = g_array_index (bits, char *, b);
          row.sparsity = g_array_index (sparsity, char *, s);
          row.width = g_array_index (width, char *, w);
          if (!(plan = lathe_cli_plan_build (&row, &error)) ||
              !lathe_plan_validate (plan, layers, &error))
            goto out_error;
        }

  if (!json)
    g_print ("%5s %8s %6s  %8s %8s %9s %10s %10s %8s\n", "bits", "sparsity", "width",
             "accuracy", "change", "fidelity", "packed B", "onnx B", "ratio");

  for (guint b = 0; b < bits->len; b++)
    for (guint s = 0; s < sparsity->len; s++)
      for (guint w = 0; w < width->len; w++)
        {
          LatheCliPlan row = plan_flags;
          g_autoptr(LathePlan) plan = NULL;
          g_auto(Measure) m = { 0 };
          double acc, base, row_sparsity;

          row.bits = g_array_index (bits, char *, b);
          row.sparsity = g_array_index (sparsity, char *, s);
          row.width = g_array_index (width, char *, w);
          if (!(plan = lathe_cli_plan_build (&row, &error)) ||
              !measure (graph, layers, plan, &apply_options, dataset, &options, baseline.predictions, "Evaluating", &m, &error))
            goto out_error;
          acc = lathe_metrics_accuracy (m.result.metrics);
          base = lathe_metrics_accuracy (baseline.metrics);
          /* an N:M pattern sets its own sparsity */
          row_sparsity = plan->defaults.pattern == LATHE_PATTERN_NM
                         ? 1.0 - (double) plan->defaults.nm_n / plan->defaults.nm_m
                         : plan->defaults.sparsity;
          if (json)
            {
              g_autoptr(JsonBuilder) jb = json_builder_new ();
              g_autoptr(JsonGenerator) gen = json_generator_new ();
              g_autoptr(JsonNode) root = NULL;
              g_autofree char *line = NULL;

              json_builder_begin_object (jb);
              json_builder_set_member_name (jb, "bits");
              json_builder_add_int_value (jb, plan->defaults.bits);
              json_builder_set_member_name (jb, "sparsity");
              json_builder_add_double_value (jb, row_sparsity);
              json_builder_set_member_name (jb, "width");
              json_builder_add_double_value (jb, plan->defaults.width);
              json_builder_set_member_name (jb, "accuracy");
              json_builder_add_double_value (jb, acc);
              json_builder_set_member_name (jb, "correct");
              json_builder_add_int_value (jb, (gint64) m.result.metrics->correct);
              json_builder_set_member_name (jb, "total");
              json_builder_add_int_value (jb, (gint64) m.result.metrics->total);
              json_builder_set_member_name (jb, "baseline_accuracy");
              json_builder_add_double_value (jb, base);
              json_builder_set_member_name (jb, "fidelity");
              json_builder_add_double_value (jb, lathe_metrics_fidelity (m.result.metrics));
              json_builder_set_member_name (jb, "size_bytes");
              json_builder_add_int_value (jb, (gint64) m.applied->packed_bytes);
              json_builder_set_member_name (jb, "baseline_size_bytes");
              json_builder_add_int_value (jb, (gint64) baseline_bytes);
              json_builder_set_member_name (jb, "file_size_bytes");
              json_builder_add_int_value (jb, (gint64) g_bytes_get_size (m.onnx));
              json_builder_set_member_name (jb, "seconds");
              json_builder_add_double_value (jb, m.result.seconds);
              json_builder_end_object (jb);
              root = json_builder_get_root (jb);
              json_generator_set_root (gen, root);
              line = json_generator_to_data (gen, NULL);
              g_print ("%s\n", line);
            }
          else
            {
              g_print ("%5d %8.2f %6.2f  %8.4f %+8.2f %9.4f %10" G_GUINT64_FORMAT " %10" G_GSIZE_FORMAT " %7.2fx\n",
                       plan->defaults.bits, row_sparsity, plan->defaults.width, acc,
                       100 * (acc - base), lathe_metrics_fidelity (m.result.metrics),
                       m.applied->packed_bytes, g_bytes_get_size (m.onnx),
                       (double) baseline_bytes / MAX (m.applied->packed_bytes, 1));
            }
        }
  status = LATHE_EXIT_OK;
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  if (bits)
    for (guint i = 0; i < bits->len; i++)
      g_free (g_array_index (bits, char *, i));
  if (sparsity)
    for (guint i = 0; i < sparsity->len; i++)
      g_free (g_array_index (sparsity, char *, i));
  if (width)
    for (guint i = 0; i < width->len; i++)
      g_free (g_array_index (width, char *, i));
  lathe_eval_result_clear (&baseline);
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_data_clear (&data);
  lathe_cli_plan_clear (&plan_flags);
  return status;
}
