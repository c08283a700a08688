/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

/* distill: train the student a plan makes (distillation after width,
 * fine-tuning after pruning, quantization-aware fine-tuning) and write an
 * artifact like apply does; and the replay of a pipeline's "training"
 * section for apply and check. */

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "export/lathe-artifact-build.h"
#include "pipeline/lathe-pipeline.h"
#include "train/lathe-train.h"
#include "export/lathe-export.h"
#include "lathe-cli.h"

#define TRAIN_DATA_DEFAULT "fashion-mnist:train"

typedef struct {
  gboolean  quiet;        /* --json: no epoch lines on stdout */
  char      label[96];
} Progress;

static void
on_progress (const LatheTrainProgress *p,
             gpointer                  data)
{
  Progress *pr = data;

  if (p->epoch_end)
    {
      lathe_cli_progress (1, 1, pr->label);    /* clears the bar */
      if (!pr->quiet)
        {
          if (isnan (p->accuracy))
            g_print ("Epoch %u/%u  loss %.4f\n", p->epoch, p->epochs, p->loss);
          else
            g_print ("Epoch %u/%u  loss %.4f  accuracy %.4f (evaluation subset)\n",
                     p->epoch, p->epochs, p->loss, p->accuracy);
        }
      return;
    }
  g_snprintf (pr->label, sizeof pr->label, "Epoch %u/%u loss %.4f", p->epoch, p->epochs, p->loss);
  /* the bar's own clearing would hide the label between epochs */
  if (p->step < p->steps_per_epoch)
    lathe_cli_progress (p->step, p->steps_per_epoch, pr->label);
}

/* The training data, checked against the evaluation set and the recorded
 * digest. */
static LatheDataset *
load_train_data (const char   *spec,
                 const char   *expected_sha256,
                 LatheDataset *evaluation,
                 GError      **error)
{
  g_autoptr(LatheDataset) train = lathe_dataset_new_from_spec (spec, NULL, error);

  if (train == NULL)
    {
      g_prefix_error (error, "training data: ");
      return NULL;
    }
  if (evaluation != NULL &&
      g_strcmp0 (lathe_dataset_get_sha256 (train), lathe_dataset_get_sha256 (evaluation)) == 0)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_DATA,
                   "training data '%s' is the evaluation set; train on the training split (for example %s)",
                   spec, TRAIN_DATA_DEFAULT);
      return NULL;
    }
  if (expected_sha256 != NULL && g_strcmp0 (expected_sha256, lathe_dataset_get_sha256 (train)) != 0)
    {
      g_set_error (error, LATHE_PIPELINE_ERROR, LATHE_PIPELINE_ERROR_INVALID,
                   "$.training.data_sha256 says %.12s…, but '%s' has sha256 %.12s…: different training data",
                   expected_sha256, spec, lathe_dataset_get_sha256 (train));
      return NULL;
    }
  return g_steal_pointer (&train);
}

gboolean
lathe_cli_train_replay (LathePipeline            *pipeline,
                        const char               *pipeline_path,
                        LatheGraph               *teacher,
                        GPtrArray                *layers,
                        const LathePlan          *plan,
                        const LatheApplyOptions  *apply_options,
                        const LatheCliData       *data,
                        LatheDataset             *evaluation,
                        LatheApplied            **applied_out,
                        GPtrArray               **layers_out,
                        GError                  **error)
{
  g_autofree char *spec = NULL, *sha = NULL, *resolved = NULL;
  g_autoptr(LatheDataset) train = NULL;
  g_autoptr(LatheTrainResult) result = NULL;
  LatheTrainOptions o;
  Progress pr = { TRUE, "" };

  lathe_train_options_from_json (pipeline->training, &o, &spec, &sha);
  if (spec == NULL)
    spec = g_strdup (TRAIN_DATA_DEFAULT);
  resolved = g_str_has_prefix (spec, "fashion-mnist") ? g_strdup (spec)
                                                      : lathe_pipeline_resolve_path (pipeline, pipeline_path, spec);
  if (!(train = load_train_data (resolved, sha, evaluation, error)))
    return FALSE;
  o.train = train;
  o.mean = (const float *) data->mean_values->data;
  o.std = (const float *) data->std_values->data;
  o.n_norm = data->mean_values->len;
  o.evaluation = NULL;
  if (!(result = lathe_distill (teacher, layers, plan, apply_options, &o, on_progress, &pr, NULL, error)))
    return FALSE;
  *applied_out = g_steal_pointer (&result->applied);
  *layers_out = g_steal_pointer (&result->layers);
  return TRUE;
}

int
lathe_cli_check_trained (LathePipeline          *pipeline,
                         const char             *pipeline_path,
                         LatheDataset           *dataset,
                         const LatheEvalOptions *options,
                         double                  tolerance,
                         GError                **error)
{
  g_autofree char *dir = g_path_get_dirname (pipeline_path);
  g_autofree char *path = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *contents = NULL, *sha = NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  g_autoptr(LatheModel) trained = NULL;
  LatheEvalResult r = { 0 };
  double accuracy, recorded = pipeline->results.accuracy;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, error))
    {
      g_prefix_error (error, "a pipeline with training is checked against its artifact's model.onnx "
                             "(or use --retrain): ");
      return -1;
    }
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) contents, len);
  if (g_strcmp0 (sha, pipeline->results.model_sha256) != 0)
    g_string_append_printf (problems, "%s has sha256 %.12s…, not the recorded %.12s…\n", path, sha,
                            pipeline->results.model_sha256 ? pipeline->results.model_sha256 : "(none)");
  if ((gint64) len != pipeline->results.file_size_bytes)
    g_string_append_printf (problems, "model.onnx size %" G_GSIZE_FORMAT " B differs from the recorded %" G_GINT64_FORMAT " B\n",
                            len, pipeline->results.file_size_bytes);
  if (!(trained = lathe_model_new_from_file (path, NULL, error)) ||
      !lathe_evaluate (lathe_model_get_graph (trained), dataset, options, NULL, lathe_cli_progress,
                       "Evaluating", NULL, &r, error))
    return -1;
  accuracy = lathe_metrics_accuracy (r.metrics);
  lathe_eval_result_clear (&r);
  if (fabs (accuracy - recorded) > tolerance + 1e-12)
    g_string_append_printf (problems, "accuracy %.4f differs from the recorded %.4f by more than %g\n",
                            accuracy, recorded, tolerance);

  g_print ("Pipeline  %s\n", pipeline_path);
  g_print ("Model     %s (trained; not re-trained without --retrain)\n", path);
  g_print ("Export    model.onnx sha256 %s the recorded one\n",
           g_strcmp0 (sha, pipeline->results.model_sha256) == 0 ? "matches" : "differs from");
  g_print ("Accuracy  %.4f, recorded %.4f (tolerance %g)\n", accuracy, recorded, tolerance);
  if (problems->len > 0)
    {
      g_printerr ("lathe-cli: check failed:\n%s", problems->str);
      return LATHE_EXIT_FAILED;
    }
  g_print ("Check     passed\n");
  return LATHE_EXIT_OK;
}

static gboolean
plan_has (const LathePlan *plan,
          gboolean (*test) (const LatheLayerSettings *s))
{
  GHashTableIter iter;
  gpointer value;

  if (test (&plan->defaults))
    return TRUE;
  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (test (value))
      return TRUE;
  return FALSE;
}

static gboolean
narrows (const LatheLayerSettings *s)
{
  return s->width < 1.0;
}

static gboolean
prunes (const LatheLayerSettings *s)
{
  return s->sparsity > 0 || s->pattern == LATHE_PATTERN_NM;
}

int
lathe_cli_distill (int    argc,
                   char **argv)
{
  gboolean json = FALSE, force = FALSE, finetune = FALSE, qat = FALSE;
  g_autofree char *outdir = NULL, *train_spec = NULL, *optimizer = NULL, *schedule = NULL;
  int epochs = LATHE_TRAIN_EPOCHS_DEFAULT, batch_train = LATHE_TRAIN_BATCH_DEFAULT;
  int train_limit = 0, eval_samples = LATHE_TRAIN_EVAL_SAMPLES_DEFAULT;
  double temperature = LATHE_TRAIN_TEMPERATURE_DEFAULT, alpha = LATHE_TRAIN_ALPHA_DEFAULT;
  double lr = LATHE_TRAIN_LR_DEFAULT, momentum = LATHE_TRAIN_MOMENTUM_DEFAULT, weight_decay = 0;
  gint64 seed = 0;
  LatheCliData data = { 0 };
  LatheCliPlan plan_flags = { 0 };
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &outdir, "The artifact folder to write", "OUTDIR" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Replace an existing artifact folder", NULL },
    { "finetune", 0, 0, G_OPTION_ARG_NONE, &finetune, "Fine-tune after pruning (masks stay fixed)", NULL },
    { "qat", 0, 0, G_OPTION_ARG_NONE, &qat, "Quantization-aware fine-tuning (fake quantization, straight-through gradients)", NULL },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Passes over the training data (default 3)", "E" },
    { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, "Softening temperature T of the distillation loss (default 4)", "T" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &alpha, "Share of the distillation loss, 0…1; the rest is cross-entropy on the labels (default 0.5)", "A" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default 0.001)", "LR" },
    { "batch-train", 0, 0, G_OPTION_ARG_INT, &batch_train, "Samples per training step (default 128)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the batch order (default 0)", "S" },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "adam or sgd (with momentum) (default adam)", "NAME" },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &momentum, "SGD momentum (default 0.9)", "M" },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "L2 weight decay (default 0)", "W" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "cosine or constant learning rate (default cosine)", "NAME" },
    { "train-data", 0, 0, G_OPTION_ARG_STRING, &train_spec, "Training data (default fashion-mnist:train)", "SPEC" },
    { "train-limit", 0, 0, G_OPTION_ARG_INT, &train_limit, "Train on the first N samples only", "N" },
    { "eval-samples", 0, 0, G_OPTION_ARG_INT, &eval_samples, "Evaluation samples for the accuracy after each epoch (default 2000, 0 for all)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) evaluation = NULL;
  g_autoptr(LatheDataset) train = NULL;
  g_autoptr(LathePlan) plan = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(LatheTrainResult) result = NULL;
  g_autoptr(LathePipeline) out = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GBytes) onnx = NULL;
  g_autofree char *pipeline_text = NULL, *report = NULL;
  LatheApplyOptions apply_options = { 0 };
  LatheEvalOptions eo = { 0 };
  LatheEvalResult baseline = { 0 }, measured = { 0 };
  LatheTrainOptions o;
  Progress pr = { FALSE, "" };
  LatheGraph *graph;
  guint64 baseline_bytes;
  int opset = 0, status;

  g_option_context_set_summary (context,
    "Train the student a plan makes from MODEL — distillation from the original model after --width,\n"
    "fine-tuning after pruning (--finetune), quantization-aware fine-tuning (--qat) — measure it and\n"
    "write the artifact folder: pipeline.json (with a \"training\" section), model.onnx and report.md.");
  if (!lathe_cli_parse_one (context, entries, &data, &plan_flags, "expected one MODEL.onnx",
                            &argc, &argv, &status))
    goto out_status;
  if (outdir == NULL)
    {
      status = lathe_cli_usage_error (context, "-o OUTDIR is required");
      goto out_status;
    }
  if (finetune && qat)
    {
      status = lathe_cli_usage_error (context, "--finetune and --qat exclude each other");
      goto out_status;
    }
  if (data.limit != 0)
    {
      status = lathe_cli_usage_error (context, "an artifact records results on the whole evaluation set; --limit does not apply");
      goto out_status;
    }
  if (epochs < 1 || batch_train < 1 || train_limit < 0 || eval_samples < 0 || seed < 0)
    {
      status = lathe_cli_usage_error (context, "--epochs and --batch-train must be positive; --train-limit, --eval-samples and --seed not negative");
      goto out_status;
    }

  lathe_train_options_init (&o);
  o.mode = qat ? LATHE_TRAIN_QAT : finetune ? LATHE_TRAIN_FINETUNE : LATHE_TRAIN_DISTILL;
  o.epochs = (guint) epochs;
  o.batch = (guint) batch_train;
  o.temperature = temperature;
  o.alpha = alpha;
  o.lr = lr;
  o.momentum = momentum;
  o.weight_decay = weight_decay;
  o.seed = (guint64) seed;
  o.train_limit = (guint) train_limit;
  o.eval_samples = (guint) eval_samples;
  if (optimizer != NULL && !lathe_optimizer_from_string (optimizer, &o.optimizer))
    {
      status = lathe_cli_usage_error (context, "--optimizer '%s': expected adam or sgd", optimizer);
      goto out_status;
    }
  if (schedule != NULL && !lathe_schedule_from_string (schedule, &o.schedule))
    {
      status = lathe_cli_usage_error (context, "--schedule '%s': expected cosine or constant", schedule);
      goto out_status;
    }

  if (!(model = lathe_model_new_from_file (argv[1], NULL, &error)) ||
      !(plan = lathe_cli_plan_build (&plan_flags, &error)))
    goto out_error;
  if (o.mode == LATHE_TRAIN_DISTILL && !plan_has (plan, narrows))
    {
      status = lathe_cli_usage_error (context, "distill needs a student: --width below 1 (or --finetune after pruning, --qat after quantization)");
      goto out_status;
    }
  if (o.mode == LATHE_TRAIN_FINETUNE && !plan_has (plan, prunes))
    {
      status = lathe_cli_usage_error (context, "--finetune needs a plan that prunes (--sparsity or --pattern)");
      goto out_status;
    }
  graph = lathe_model_get_graph (model);
  if (!(layers = lathe_find_layers (graph, &error)) ||
      !(evaluation = lathe_cli_data_load_labelled (&data, model, &error)))
    goto out_error;
  if (!(train = load_train_data (train_spec ? train_spec : TRAIN_DATA_DEFAULT, NULL, evaluation, &error)) ||
      !lathe_cli_apply_options (plan, &data, evaluation, &apply_options, &error))
    goto out_error;

  lathe_cli_eval_options (&data, &eo);
  baseline_bytes = lathe_graph_stored_bytes (graph);
  if (!lathe_evaluate (graph, evaluation, &eo, NULL, lathe_cli_progress, "Baseline  ", NULL, &baseline, &error))
    goto out_error;

  o.train = train;
  o.mean = eo.mean;
  o.std = eo.std;
  o.n_norm = eo.n_norm;
  o.evaluation = evaluation;
  pr.quiet = json;
  if (!(result = lathe_distill (graph, layers, plan, &apply_options, &o, on_progress, &pr, NULL, &error)))
    goto out_error;

  if (!(onnx = lathe_export_onnx (result->applied, result->layers, notes, &opset, &error)) ||
      !lathe_evaluate (result->applied->graph, evaluation, &eo, baseline.predictions, lathe_cli_progress,
                       "Evaluating", NULL, &measured, &error))
    goto out_error;
  {
    LatheArtifactSource as = {
      outdir, argv[1], lathe_model_get_sha256 (model), evaluation,
      data.mean_values, data.std_values, plan, NULL,
    };
    LatheArtifactMeasure am = {
      result->applied, result->layers, onnx, "model.onnx", opset, notes,
      lathe_metrics_accuracy (measured.metrics), lathe_metrics_accuracy (baseline.metrics),
      lathe_metrics_fidelity (measured.metrics), baseline_bytes, measured.n_samples,
    };
    const char *protected_paths[] = { argv[1], NULL };
    const char *ts = lathe_dataset_get_spec (train);
    out = lathe_artifact_pipeline_new (&as, &am);
    /* a file spec is recorded relative to the artifact, like the model */
    out->training = lathe_artifact_training_section (outdir, &o, ts, lathe_dataset_get_sha256 (train));
    pipeline_text = lathe_pipeline_to_json (out);
    report = lathe_artifact_training_report (&as, &am, ts, &o, result, NULL);
    if (!lathe_artifact_build_write (outdir, force, protected_paths, pipeline_text, &am, report, &error))
      goto out_error;
  }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "artifact");
      json_builder_add_string_value (b, outdir);
      json_builder_set_member_name (b, "mode");
      json_builder_add_string_value (b, lathe_train_mode_to_string (o.mode));
      json_builder_set_member_name (b, "accuracy");
      json_builder_add_double_value (b, out->results.accuracy);
      json_builder_set_member_name (b, "baseline_accuracy");
      json_builder_add_double_value (b, out->results.baseline_accuracy);
      json_builder_set_member_name (b, "untrained_accuracy");
      if (isnan (result->untrained_accuracy))
        json_builder_add_null_value (b);
      else
        json_builder_add_double_value (b, result->untrained_accuracy);
      lathe_cli_json_results (b, out);
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, (gint64) result->steps);
      json_builder_set_member_name (b, "samples_per_second");
      json_builder_add_double_value (b, result->samples_per_second);
      json_builder_set_member_name (b, "epochs");
      json_builder_begin_array (b);
      for (guint i = 0; i < result->epoch_loss->len; i++)
        {
          double acc = g_array_index (result->epoch_accuracy, double, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "epoch");
          json_builder_add_int_value (b, i + 1);
          json_builder_set_member_name (b, "loss");
          json_builder_add_double_value (b, g_array_index (result->epoch_loss, double, i));
          json_builder_set_member_name (b, "accuracy");
          if (isnan (acc))
            json_builder_add_null_value (b);
          else
            json_builder_add_double_value (b, acc);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      lathe_cli_print_json (b);
    }
  else
    {
      g_autofree char *sb = lathe_cli_format_bytes (baseline_bytes);
      g_autofree char *sp = lathe_cli_format_bytes (result->applied->packed_bytes);
      g_print ("Artifact  %s (pipeline.json, model.onnx, report.md)\n", outdir);
      g_print ("Training  %s, %" G_GUINT64_FORMAT " steps, %.0f samples/s\n",
               lathe_train_mode_to_string (o.mode), result->steps, result->samples_per_second);
      g_print ("Size      %s → %s packed (%.2f× smaller)\n", sb, sp,
               (double) baseline_bytes / MAX (result->applied->packed_bytes, 1));
      if (!isnan (result->untrained_accuracy))
        g_print ("Untrained %.4f (evaluation subset)\n", result->untrained_accuracy);
      lathe_cli_print_results (out);
    }
  status = LATHE_EXIT_OK;
  goto out_status;

out_error:
  status = lathe_cli_fail (error);
out_status:
  lathe_eval_result_clear (&baseline);
  lathe_eval_result_clear (&measured);
  lathe_cli_apply_options_clear (&apply_options);
  lathe_cli_data_clear (&data);
  lathe_cli_plan_clear (&plan_flags);
  return status;
}
