/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/lathe-error.h"
#include "plugin/lathe-plugin.h"
#include "lathe-cli.h"

typedef struct {
  const char *name;
  const char *summary;
  int       (*main) (int argc, char **argv);
} Command;

static const Command commands[] = {
  { "info", "Show a model's inputs, outputs, ops and weights", lathe_cli_info },
  { "eval", "Measure a model's accuracy on a data set", lathe_cli_eval },
  { "run",  "Run a model on an NPY input and write its output", lathe_cli_run },
  { "apply", "Apply a plan and write a build artifact", lathe_cli_apply },
  { "check", "Verify an artifact's pipeline: same model, sizes and accuracy", lathe_cli_check },
  { "sweep", "Evaluate every combination of bits, sparsity and width", lathe_cli_sweep },
  { "plugins", "List compression plugins, their parameters and status", lathe_cli_plugins },
  { "distill", "Train a student: distillation, fine-tuning or QAT, written as an artifact", lathe_cli_distill },
};

static void
print_help (FILE *out)
{
  fprintf (out,
           "Usage: lathe-cli COMMAND [OPTION…]\n\n"
           "Measure and compress ONNX models.\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\nOptions:\n"
           "  -h, --help     Show this help\n"
           "  --version      Show the version\n\n"
           "Run 'lathe-cli COMMAND --help' for a command's options.\n");
}

void
lathe_cli_data_add_options (LatheCliData   *data,
                            GOptionContext *context)
{
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data->spec,
      "Evaluation data: fashion-mnist[:test|:train], idx:IMAGES[,LABELS], npy:INPUTS[,LABELS] (default fashion-mnist)", "SPEC" },
    { "mean", 0, 0, G_OPTION_ARG_STRING, &data->mean, "Per-channel mean for uint8 data (overrides the model's lathe.mean)", "M[,M…]" },
    { "std", 0, 0, G_OPTION_ARG_STRING, &data->std, "Per-channel std for uint8 data (overrides the model's lathe.std)", "S[,S…]" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &data->batch, "Samples per forward pass (default 256)", "N" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &data->limit, "Use only the first N samples", "N" },
    { NULL }
  };
  /* Shown with the command's own options: they matter for every run. */
  g_option_context_add_main_entries (context, entries, NULL);
}

void
lathe_cli_data_clear (LatheCliData *data)
{
  g_clear_pointer (&data->spec, g_free);
  g_clear_pointer (&data->mean, g_free);
  g_clear_pointer (&data->std, g_free);
  g_clear_pointer (&data->mean_values, g_array_unref);
  g_clear_pointer (&data->std_values, g_array_unref);
}

LatheDataset *
lathe_cli_data_load (LatheCliData  *data,
                     LatheModel    *model,
                     GError       **error)
{
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;

  if (data->batch < 0 || data->limit < 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                   "--batch and --limit must not be negative");
      return NULL;
    }
  if ((data->mean == NULL) != (data->std == NULL))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                   "--mean and --std go together");
      return NULL;
    }
  if (data->mean != NULL)
    {
      if (!(mean = lathe_parse_float_list (data->mean, "--mean", error)) ||
          !(std = lathe_parse_float_list (data->std, "--std", error)))
        return NULL;
      if (mean->len != std->len)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       "--mean has %u values, --std has %u", mean->len, std->len);
          return NULL;
        }
      for (guint i = 0; i < std->len; i++)
        if (g_array_index (std, float, i) == 0.f)
          {
            g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                         "--std: a standard deviation of 0 cannot normalise");
            return NULL;
          }
      data->norm_source = "flags";
    }
  else if (model != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      if (lathe_model_get_normalization (model, &mean, &std, &local_error))
        {
          if (mean->len != std->len)
            {
              g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                           "%s: lathe.mean has %u values, lathe.std has %u",
                           lathe_model_get_path (model), mean->len, std->len);
              return NULL;
            }
          data->norm_source = "model metadata";
        }
      else if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
  if (mean == NULL)
    {
      float zero = 0.f, one = 1.f;
      mean = g_array_new (FALSE, FALSE, sizeof (float));
      std = g_array_new (FALSE, FALSE, sizeof (float));
      g_array_append_val (mean, zero);
      g_array_append_val (std, one);
      data->norm_source = "default";
    }

  data->mean_values = g_steal_pointer (&mean);
  data->std_values = g_steal_pointer (&std);
  return lathe_dataset_new_from_spec (data->spec ? data->spec : "fashion-mnist", NULL, error);
}

LatheDataset *
lathe_cli_data_load_labelled (LatheCliData  *data,
                              LatheModel    *model,
                              GError       **error)
{
  g_autoptr(LatheDataset) dataset = lathe_cli_data_load (data, model, error);

  if (dataset == NULL)
    return NULL;
  if (!lathe_dataset_has_labels (dataset))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                   "data '%s' has no labels; measuring accuracy needs them",
                   lathe_dataset_get_spec (dataset));
      return NULL;
    }
  return g_steal_pointer (&dataset);
}

void
lathe_cli_eval_options (const LatheCliData *data,
                        LatheEvalOptions   *options)
{
  memset (options, 0, sizeof *options);
  options->batch = (guint) data->batch;
  options->limit = (guint) data->limit;
  options->mean = (const float *) data->mean_values->data;
  options->std = (const float *) data->std_values->data;
  options->n_norm = data->mean_values->len;
}

void
lathe_cli_json_results (JsonBuilder         *b,
                        const LathePipeline *p)
{
  json_builder_set_member_name (b, "fidelity");
  json_builder_add_double_value (b, p->results.fidelity);
  json_builder_set_member_name (b, "size_bytes");
  json_builder_add_int_value (b, p->results.size_bytes);
  json_builder_set_member_name (b, "baseline_size_bytes");
  json_builder_add_int_value (b, p->results.baseline_size_bytes);
  json_builder_set_member_name (b, "file_size_bytes");
  json_builder_add_int_value (b, p->results.file_size_bytes);
  json_builder_set_member_name (b, "model_sha256");
  json_builder_add_string_value (b, p->results.model_sha256);
}

void
lathe_cli_print_results (const LathePipeline *p)
{
  g_print ("Accuracy  %.4f → %.4f (%+.2f points)\n", p->results.baseline_accuracy,
           p->results.accuracy, 100 * (p->results.accuracy - p->results.baseline_accuracy));
  g_print ("Fidelity  %.4f\n", p->results.fidelity);
}

int
lathe_cli_fail (const GError *error)
{
  g_printerr ("lathe-cli: %s\n", error->message);
  /* Anything about the input is a usage problem; anything else means the
   * job itself failed. */
  if (error->domain == LATHE_ONNX_ERROR || error->domain == LATHE_DATA_ERROR ||
      error->domain == LATHE_COMPRESS_ERROR || error->domain == LATHE_PIPELINE_ERROR ||
      error->domain == LATHE_PLUGIN_ERROR ||
      (error->domain == LATHE_GRAPH_ERROR && error->code == LATHE_GRAPH_ERROR_INPUT) ||
      (error->domain == LATHE_EVAL_ERROR && error->code == LATHE_EVAL_ERROR_MODEL) ||
      error->domain == G_IO_ERROR || error->domain == G_FILE_ERROR ||
      (error->domain == LATHE_TRAIN_ERROR && error->code != LATHE_TRAIN_ERROR_DIVERGED &&
       error->code != LATHE_TRAIN_ERROR_CANCELLED))
    return LATHE_EXIT_USAGE;
  return LATHE_EXIT_FAILED;
}

int
lathe_cli_usage_error (GOptionContext *context,
                       const char     *format,
                       ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("lathe-cli: %s\nTry '%s --help'.\n", msg, g_get_prgname ());
  return LATHE_EXIT_USAGE;
}

gboolean
lathe_cli_parse (GOptionContext   *context,
                 int              *argc,
                 char           ***argv,
                 int              *status)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("lathe-cli: %s\n", error->message);
      *status = LATHE_EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}

gboolean
lathe_cli_parse_one (GOptionContext      *context,
                     const GOptionEntry  *entries,
                     LatheCliData        *data,
                     LatheCliPlan        *plan_flags,
                     const char          *expected,
                     int                 *argc,
                     char              ***argv,
                     int                 *status)
{
  g_option_context_add_main_entries (context, entries, NULL);
  lathe_cli_data_add_options (data, context);
  if (plan_flags != NULL)
    lathe_cli_plan_add_options (plan_flags, context);
  if (!lathe_cli_parse (context, argc, argv, status))
    return FALSE;
  if (*argc != 2)
    {
      *status = lathe_cli_usage_error (context, "%s", expected);
      return FALSE;
    }
  return TRUE;
}

void
lathe_cli_progress (guint    done,
                    guint    total,
                    gpointer label)
{
  static int tty = -1;
  const int width = 30;
  int filled;

  if (tty < 0)
    tty = isatty (STDERR_FILENO);
  if (!tty || total == 0)
    return;
  filled = (int) ((guint64) done * width / total);
  fprintf (stderr, "\r%s [", (const char *) label);
  for (int i = 0; i < width; i++)
    fputc (i < filled ? '#' : '.', stderr);
  fprintf (stderr, "] %3u%% %u/%u", (guint) ((guint64) done * 100 / total), done, total);
  if (done >= total)
    fprintf (stderr, "\r\033[K");
  fflush (stderr);
}

void
lathe_cli_print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

char *
lathe_cli_format_bytes (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_DEFAULT);
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_help (stderr);
      return LATHE_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0)
    {
      g_print ("lathe-cli %s\n", LATHE_VERSION);
      return LATHE_EXIT_OK;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return LATHE_EXIT_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        /* The command sees "lathe-cli eval …" as its argv[0]. */
        g_autofree char *prg = g_strdup_printf ("lathe-cli %s", commands[i].name);
        g_set_prgname (prg);
        argv[1] = argv[0];
        return commands[i].main (argc - 1, argv + 1);
      }

  g_printerr ("lathe-cli: unknown command '%s'\n\n", argv[1]);
  print_help (stderr);
  return LATHE_EXIT_USAGE;
}
