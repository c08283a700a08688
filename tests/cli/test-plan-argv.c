/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* lathe_plan_to_cli_args() as a real round trip: each plan becomes a
 * `lathe-cli apply` command, the built lathe-cli runs it on the sample
 * CNN, and the plan in the pipeline.json it writes must equal the plan we
 * started from. Plus the plans the flags cannot express, and the shell
 * line reading back to the same words. */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "pipeline/lathe-pipeline.h"
#include "pipeline/lathe-plan-argv.h"
#include "../lathe-test-util.h"

#define DATASET_FILE "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* Same meaning, field by field: the defaults, which fields each layer
 * overrides and their values, the switches and the parameters. */
static void
assert_overrides_equal (const char               *name,
                        const LatheLayerSettings *a,
                        const LatheLayerSettings *b)
{
  g_test_message ("layer %s", name);
  g_assert_cmphex (a->set, ==, b->set);
  if (a->set & LATHE_FIELD_BITS)
    g_assert_cmpint (a->bits, ==, b->bits);
  if (a->set & LATHE_FIELD_GRANULARITY)
    {
      g_assert_cmpint (a->granularity, ==, b->granularity);
      if (a->granularity == LATHE_GRANULARITY_GROUP)
        g_assert_cmpint (a->group_size, ==, b->group_size);
    }
  if (a->set & LATHE_FIELD_AFFINE)
    g_assert_cmpint (a->affine, ==, b->affine);
  if (a->set & LATHE_FIELD_SCALE)
    g_assert_cmpint (a->scale, ==, b->scale);
  if (a->set & LATHE_FIELD_QUANTIZER)
    g_assert_cmpstr (a->quantizer, ==, b->quantizer);
  if (a->set & LATHE_FIELD_SPARSITY)
    g_assert_cmpfloat (a->sparsity, ==, b->sparsity);
  if (a->set & LATHE_FIELD_PATTERN)
    {
      g_assert_cmpint (a->pattern, ==, b->pattern);
      if (a->pattern == LATHE_PATTERN_NM)
        {
          g_assert_cmpint (a->nm_n, ==, b->nm_n);
          g_assert_cmpint (a->nm_m, ==, b->nm_m);
        }
    }
  if (a->set & LATHE_FIELD_WIDTH)
    g_assert_cmpfloat (a->width, ==, b->width);
  if (a->set & LATHE_FIELD_SKIP)
    g_assert_cmpint (a->skip, ==, b->skip);
}

static guint
count_overrides (const LathePlan *plan)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += ((LatheLayerSettings *) value)->set != 0;
  return n;
}

static void
assert_plans_equal (const LathePlan *want,
                    const LathePlan *got)
{
  GHashTableIter iter;
  gpointer key, value;

  g_assert_true (lathe_layer_settings_equal (&want->defaults, &got->defaults));
  g_assert_cmpstr (want->defaults.quantizer, ==, got->defaults.quantizer);
  g_assert_cmpint (want->global_sparsity, ==, got->global_sparsity);
  g_assert_cmpint (want->fold_bn, ==, got->fold_bn);
  g_assert_cmpuint (want->seed, ==, got->seed);
  g_assert_cmpint (want->activation_importance, ==, got->activation_importance);
  if (want->activation_importance)
    {
      g_assert_cmpstr (want->calibration ? want->calibration : "fashion-mnist:train", ==, got->calibration);
      g_assert_cmpuint (want->calibration_samples, ==, got->calibration_samples);
    }

  g_assert_cmpuint (count_overrides (want), ==, count_overrides (got));
  g_hash_table_iter_init (&iter, want->layers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const LatheLayerSettings *a = value, *b = g_hash_table_lookup (got->layers, key);
      if (a->set == 0)
        continue;
      g_assert_nonnull (b);
      assert_overrides_equal (key, a, b);
    }

  g_assert_cmpuint (g_hash_table_size (want->params), ==, g_hash_table_size (got->params));
  g_hash_table_iter_init (&iter, want->params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (value, ==, g_hash_table_lookup (got->params, key));
}

/* Runs the generated command and reads back the plan it recorded. */
static void
round_trip (const LathePlan *plan)
{
  const char *cli = g_getenv ("LATHE_CLI");
  g_autofree char *model = lathe_test_sample ("fashion-cnn.onnx");
  g_autofree char *tmp = g_dir_make_tmp ("lathe-argv-XXXXXX", NULL);
  g_autofree char *outdir = g_build_filename (tmp, "artifact with space", NULL);
  g_autofree char *pipeline_path = g_build_filename (outdir, "pipeline.json", NULL);
  g_autofree char *line = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) parsed = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(LathePipeline) written = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (DATASET_FILE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  g_assert_nonnull (cli);
  argv = lathe_plan_to_cli_args (plan, cli, model, "fashion-mnist", outdir, &error);
  g_assert_no_error (error);

  /* What a person would copy: the shell line reads back to these words. */
  line = lathe_cli_args_to_shell ((const char * const *) argv);
  g_test_message ("%s", line);
  g_assert_true (g_shell_parse_argv (line, NULL, &parsed, &error));
  g_assert_no_error (error);
  g_assert_true (g_strv_equal ((const char * const *) argv, (const char * const *) parsed));

  proc = g_subprocess_newv ((const char * const *) parsed,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (proc) != 0)
    g_error ("%s: exit %d: %s", line, g_subprocess_get_exit_status (proc), err);

  written = lathe_pipeline_load (pipeline_path, &error);
  g_assert_no_error (error);
  assert_plans_equal (plan, written->plan);

  /* and the original plan's own comparison is not vacuous */
  {
    g_autoptr(LathePlan) other = lathe_plan_copy (plan);
    other->defaults.bits = plan->defaults.bits == 4 ? 5 : 4;
    g_assert_false (lathe_layer_settings_equal (&other->defaults, &written->plan->defaults));
  }

  {
    g_autofree char *a = g_build_filename (outdir, "model.onnx", NULL);
    g_autofree char *b = g_build_filename (outdir, "report.md", NULL);
    g_unlink (pipeline_path);
    g_unlink (a);
    g_unlink (b);
    g_rmdir (outdir);
    g_rmdir (tmp);
  }
}

static void
test_defaults_only (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();

  plan->defaults.bits = 4;
  round_trip (plan);
}

static void
test_identity (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;

  /* no flag at all but the model, the data and the output */
  argv = lathe_plan_to_cli_args (plan, NULL, "m.onnx", NULL, "out", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (argv), ==, 5);
  g_assert_cmpstr (argv[0], ==, "lathe-cli");
  g_assert_cmpstr (argv[1], ==, "apply");
  g_assert_cmpstr (argv[2], ==, "m.onnx");
  g_assert_cmpstr (argv[3], ==, "-o");
  g_assert_cmpstr (argv[4], ==, "out");
  round_trip (plan);
}

static void
test_everything (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  LatheLayerSettings *s;

  plan->defaults.bits = 6;
  plan->defaults.granularity = LATHE_GRANULARITY_GROUP;
  plan->defaults.group_size = 32;
  plan->defaults.affine = TRUE;
  plan->defaults.scale = LATHE_SCALE_MSE;
  plan->defaults.sparsity = 0.3;          /* not exact in binary: the shortest form must read back */
  plan->defaults.width = 0.75;
  plan->global_sparsity = TRUE;
  plan->fold_bn = FALSE;

  s = lathe_plan_layer (plan, "conv1.weight");
  s->skip = TRUE;
  s->set |= LATHE_FIELD_SKIP;

  s = lathe_plan_layer (plan, "fc1.weight");
  s->bits = 3;
  s->pattern = LATHE_PATTERN_NM;
  s->nm_n = 2;
  s->nm_m = 4;
  s->sparsity = 0.5;                      /* what 2:4 means */
  s->granularity = LATHE_GRANULARITY_TENSOR;
  s->affine = FALSE;
  s->set |= LATHE_FIELD_BITS | LATHE_FIELD_PATTERN | LATHE_FIELD_SPARSITY | LATHE_FIELD_GRANULARITY |
            LATHE_FIELD_AFFINE;

  s = lathe_plan_layer (plan, "fc2.weight");
  g_free (s->quantizer);
  s->quantizer = g_strdup ("palette");
  s->bits = 4;
  s->granularity = LATHE_GRANULARITY_CHANNEL;
  s->width = 0.7;
  s->sparsity = 0.123456789;
  s->scale = LATHE_SCALE_MAXABS;
  s->affine = FALSE;                      /* a codebook has no zero point */
  s->set |= LATHE_FIELD_QUANTIZER | LATHE_FIELD_BITS | LATHE_FIELD_GRANULARITY | LATHE_FIELD_WIDTH |
            LATHE_FIELD_SPARSITY | LATHE_FIELD_SCALE | LATHE_FIELD_AFFINE;

  /* an entry that overrides nothing is no override */
  lathe_plan_layer (plan, "fc3.weight");

  g_hash_table_insert (plan->params, g_strdup ("palette.iterations"), g_strdup ("7"));
  g_hash_table_insert (plan->params, g_strdup ("channel.norm"), g_strdup ("l1"));
  round_trip (plan);
}

static void
test_channel_pattern (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  LatheLayerSettings *s;

  plan->defaults.bits = 8;
  plan->defaults.granularity = LATHE_GRANULARITY_TENSOR;
  plan->defaults.pattern = LATHE_PATTERN_NM;
  plan->defaults.nm_n = 2;
  plan->defaults.nm_m = 4;
  s = lathe_plan_layer (plan, "conv1.weight");   /* 25 inputs: no N:M here */
  s->pattern = LATHE_PATTERN_UNSTRUCTURED;
  s->sparsity = 0.1;
  s->set |= LATHE_FIELD_PATTERN | LATHE_FIELD_SPARSITY;
  s = lathe_plan_layer (plan, "conv2.weight");
  s->pattern = LATHE_PATTERN_CHANNEL;
  s->sparsity = 0.25;
  s->bits = 16;
  s->set |= LATHE_FIELD_PATTERN | LATHE_FIELD_SPARSITY | LATHE_FIELD_BITS;
  s = lathe_plan_layer (plan, "fc1.weight");
  s->pattern = LATHE_PATTERN_NM;
  s->nm_n = 4;
  s->nm_m = 8;
  s->set |= LATHE_FIELD_PATTERN;
  round_trip (plan);
}

static void
test_activation_importance (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();

  plan->defaults.width = 0.5;
  plan->activation_importance = TRUE;
  plan->calibration = g_strdup ("fashion-mnist:train");
  plan->calibration_samples = 64;
  round_trip (plan);
}

static void
test_unsupported (void)
{
  g_autoptr(GError) error = NULL;
  char **argv;

  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    plan->seed = 7;
    argv = lathe_plan_to_cli_args (plan, NULL, "m.onnx", NULL, "out", &error);
    g_assert_null (argv);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "seed"));
    g_clear_error (&error);
  }
  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    LatheLayerSettings *s = lathe_plan_layer (plan, "fc1.weight");
    s->pattern = LATHE_PATTERN_NM;
    s->nm_n = 1;
    s->nm_m = 4;
    s->set |= LATHE_FIELD_PATTERN;
    argv = lathe_plan_to_cli_args (plan, NULL, "m.onnx", NULL, "out", &error);
    g_assert_null (argv);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "fc1.weight"));
    g_assert_nonnull (strstr (error->message, "1:4"));
    g_clear_error (&error);
  }
  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    plan->defaults.skip = TRUE;
    argv = lathe_plan_to_cli_args (plan, NULL, "m.onnx", NULL, "out", &error);
    g_assert_null (argv);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  {
    g_autoptr(LathePlan) plan = lathe_plan_new ();
    argv = lathe_plan_to_cli_args (plan, NULL, "pipeline.json", NULL, "out", &error);
    g_assert_null (argv);
    g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "pipeline.json"));
    g_clear_error (&error);
  }
}

/* lathe_train_to_cli_args(): apply's plan flags under "distill", the
 * training options before -o; the ones that have no flag are errors. */
static gboolean
has_words (char       **argv,
           const char  *flag,
           const char  *value)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], flag))
      return value == NULL || g_strcmp0 (argv[i + 1], value) == 0;
  return FALSE;
}

static void
test_train (void)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(GError) error = NULL;
  LatheTrainOptions o;
  char **argv;
  guint n;

  plan->defaults.width = 0.34;
  lathe_train_options_init (&o);
  {
    g_auto(GStrv) words = lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", "fashion-mnist", "out", &error);
    const char *expect[] = { "lathe-cli", "distill", "m.onnx", "--data", "fashion-mnist", "--width", "0.34",
                             "--epochs", "3", "--batch-train", "128", "--lr", "0.001", "--temperature", "4",
                             "--alpha", "0.5", "--seed", "0", "--train-data", "fashion-mnist:train",
                             "-o", "out", NULL };
    g_assert_no_error (error);
    g_assert_true (g_strv_equal ((const char * const *) words, expect));
  }

  /* every option away from its default */
  o.mode = LATHE_TRAIN_FINETUNE;
  o.epochs = 7;
  o.batch = 32;
  o.lr = 0.1;
  o.temperature = 2.5;
  o.alpha = 0.25;
  o.seed = 42;
  o.optimizer = LATHE_OPTIMIZER_SGD;
  o.momentum = 0.8;
  o.weight_decay = 1e-4;
  o.schedule = LATHE_SCHEDULE_CONSTANT;
  o.train_limit = 1000;
  o.eval_samples = 0;
  argv = lathe_train_to_cli_args (plan, &o, "idx:/d/a.gz,/d/b.gz", "cli", "m.onnx", NULL, "out", &error);
  g_assert_no_error (error);
  n = g_strv_length (argv);
  g_assert_cmpstr (argv[0], ==, "cli");
  g_assert_cmpstr (argv[1], ==, "distill");
  g_assert_cmpstr (argv[n - 2], ==, "-o");
  g_assert_cmpstr (argv[n - 1], ==, "out");
  g_assert_false (has_words (argv, "--data", NULL));
  g_assert_true (has_words (argv, "--finetune", NULL));
  g_assert_false (has_words (argv, "--qat", NULL));
  g_assert_true (has_words (argv, "--epochs", "7"));
  g_assert_true (has_words (argv, "--batch-train", "32"));
  g_assert_true (has_words (argv, "--lr", "0.1"));
  g_assert_true (has_words (argv, "--temperature", "2.5"));
  g_assert_true (has_words (argv, "--alpha", "0.25"));
  g_assert_true (has_words (argv, "--seed", "42"));
  g_assert_true (has_words (argv, "--optimizer", "sgd"));
  g_assert_true (has_words (argv, "--momentum", "0.8"));
  g_assert_true (has_words (argv, "--weight-decay", "0.0001"));
  g_assert_true (has_words (argv, "--schedule", "constant"));
  g_assert_true (has_words (argv, "--train-data", "idx:/d/a.gz,/d/b.gz"));
  g_assert_true (has_words (argv, "--train-limit", "1000"));
  g_assert_true (has_words (argv, "--eval-samples", "0"));
  g_strfreev (argv);

  o.mode = LATHE_TRAIN_QAT;
  argv = lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", NULL, "out", &error);
  g_assert_no_error (error);
  g_assert_true (has_words (argv, "--qat", NULL));
  g_assert_false (has_words (argv, "--finetune", NULL));
  g_strfreev (argv);

  /* what the flags cannot carry */
  o.seed = (guint64) G_MAXINT64 + 1;
  g_assert_null (lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", NULL, "out", &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "seed"));
  g_clear_error (&error);
  o.seed = 0;
  o.epochs = (guint) G_MAXINT + 1;
  g_assert_null (lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", NULL, "out", &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "--epochs"));
  g_clear_error (&error);
  o.epochs = 3;
  o.lr = NAN;
  g_assert_null (lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", NULL, "out", &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "--lr"));
  g_clear_error (&error);
  /* and the plan's own errors */
  o.lr = 0.001;
  plan->seed = 7;
  g_assert_null (lathe_train_to_cli_args (plan, &o, NULL, NULL, "m.onnx", NULL, "out", &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "seed"));
}

static void
test_shell_quoting (void)
{
  const char *words[] = { "lathe-cli", "apply", "/home/a b/model.onnx", "--layer", "x's:bits=4",
                          "", "$HOME", "a\"b", "tab\there", "new\nline", "ünï", "-o", "plain/dir_1", NULL };
  g_autofree char *line = lathe_cli_args_to_shell (words);
  g_auto(GStrv) parsed = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_shell_parse_argv (line, NULL, &parsed, &error));
  g_assert_no_error (error);
  g_assert_true (g_strv_equal (words, (const char * const *) parsed));
  /* plain words stay readable */
  g_assert_true (g_str_has_prefix (line, "lathe-cli apply '/home/a b/model.onnx' --layer "));
  g_assert_true (g_str_has_suffix (line, " -o plain/dir_1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/cli/plan-argv/identity", test_identity);
  g_test_add_func ("/lathe/cli/plan-argv/defaults", test_defaults_only);
  g_test_add_func ("/lathe/cli/plan-argv/everything", test_everything);
  g_test_add_func ("/lathe/cli/plan-argv/patterns", test_channel_pattern);
  g_test_add_func ("/lathe/cli/plan-argv/activation-importance", test_activation_importance);
  g_test_add_func ("/lathe/cli/plan-argv/unsupported", test_unsupported);
  g_test_add_func ("/lathe/cli/plan-argv/train", test_train);
  g_test_add_func ("/lathe/cli/plan-argv/shell-quoting", test_shell_quoting);
  return g_test_run ();
}
