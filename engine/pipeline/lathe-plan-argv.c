/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-pipeline"

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "pipeline/lathe-pipeline-private.h"
#include "pipeline/lathe-plan-argv.h"

#define CLI_CALIBRATION_DEFAULT         "fashion-mnist:train"
#define CLI_CALIBRATION_SAMPLES_DEFAULT 512

/* The shortest %g form that g_ascii_strtod() reads back to `v`: the CLI
 * parses these, and the plan it builds must hold the very same double. */
static char *
format_double (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (int precision = 1; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if (g_ascii_strtod (buf, NULL) == v)
        return g_strdup (buf);
    }
  return g_strdup (g_ascii_dtostr (buf, sizeof buf, v));
}

static char *
format_pattern (const LatheLayerSettings *s,
                const char               *what,
                GError                  **error)
{
  if (s->pattern == LATHE_PATTERN_NM &&
      !((s->nm_n == 2 && s->nm_m == 4) || (s->nm_n == 4 && s->nm_m == 8)))
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "%s: the pattern %d:%d has no lathe-cli flag (2:4 and 4:8 have)",
                   what, s->nm_n, s->nm_m);
      return NULL;
    }
  return _lathe_pattern_string (s);
}

static void
add (GPtrArray  *argv,
     const char *flag,
     char       *value)  /* (transfer full) (nullable) */
{
  g_ptr_array_add (argv, g_strdup (flag));
  if (value != NULL)
    g_ptr_array_add (argv, value);
}

/* One --layer value: the fields the entry sets, as key=value. */
static char *
layer_spec (const char               *name,
            const LatheLayerSettings *s,
            GError                  **error)
{
  g_autoptr(GString) spec = g_string_new (name);
  g_autofree char *what = g_strdup_printf ("layer %s", name);
  char sep = ':';

#define KEY(fmt, ...) \
  (g_string_append_c (spec, sep), g_string_append_printf (spec, fmt, __VA_ARGS__), sep = ',')
  if (s->set & LATHE_FIELD_BITS)
    KEY ("bits=%d", s->bits);
  if (s->set & LATHE_FIELD_GRANULARITY)
    {
      g_autofree char *g = _lathe_granularity_string (s);
      KEY ("granularity=%s", g);
    }
  if (s->set & LATHE_FIELD_AFFINE)
    KEY ("affine=%s", s->affine ? "true" : "false");
  if (s->set & LATHE_FIELD_SCALE)
    KEY ("scale=%s", s->scale == LATHE_SCALE_MSE ? "mse" : "maxabs");
  if (s->set & LATHE_FIELD_QUANTIZER)
    KEY ("quantizer=%s", s->quantizer ? s->quantizer : "uniform");
  if (s->set & LATHE_FIELD_SPARSITY)
    {
      g_autofree char *v = format_double (s->sparsity);
      KEY ("sparsity=%s", v);
    }
  if (s->set & LATHE_FIELD_PATTERN)
    {
      g_autofree char *p = format_pattern (s, what, error);
      if (p == NULL)
        return NULL;
      KEY ("pattern=%s", p);
    }
  if (s->set & LATHE_FIELD_WIDTH)
    {
      g_autofree char *v = format_double (s->width);
      KEY ("width=%s", v);
    }
  if (s->set & LATHE_FIELD_SKIP)
    KEY ("skip=%s", s->skip ? "true" : "false");
#undef KEY
  return g_string_free (g_steal_pointer (&spec), FALSE);
}

char **
lathe_plan_to_cli_args (const LathePlan  *plan,
                        const char       *program,
                        const char       *model_path,
                        const char       *data_spec,
                        const char       *output_dir,
                        GError          **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const LatheLayerSettings *d;
  g_autoptr(GList) names = NULL;

  g_return_val_if_fail (plan != NULL, NULL);
  g_return_val_if_fail (model_path != NULL, NULL);
  g_return_val_if_fail (output_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  d = &plan->defaults;
  if (plan->seed != 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "seed %" G_GUINT64_FORMAT ": lathe-cli apply has no seed flag (it uses 0)", plan->seed);
      return NULL;
    }
  if (d->skip)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "defaults: skip has no lathe-cli flag; skip layers one by one with --layer NAME:skip=true");
      return NULL;
    }
  if (g_str_has_suffix (model_path, ".json"))
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "%s: lathe-cli apply reads a .json argument as a pipeline, not a model", model_path);
      return NULL;
    }
  if (plan->activation_importance && plan->calibration_samples == 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "calibration samples: 0 has no lathe-cli flag (--calibration-samples takes 1 or more)");
      return NULL;
    }

  g_ptr_array_add (argv, g_strdup (program ? program : "lathe-cli"));
  g_ptr_array_add (argv, g_strdup ("apply"));
  /* A relative path that starts with '-' would read as an option. */
  if (model_path[0] == '-')
    g_ptr_array_add (argv, g_build_filename (".", model_path, NULL));
  else
    g_ptr_array_add (argv, g_strdup (model_path));
  if (data_spec != NULL)
    add (argv, "--data", g_strdup (data_spec));

  if (d->bits != 32)
    add (argv, "--bits", g_strdup_printf ("%d", d->bits));
  if (d->granularity != LATHE_GRANULARITY_CHANNEL)
    add (argv, "--granularity", _lathe_granularity_string (d));
  if (d->affine)
    add (argv, "--affine", NULL);
  if (d->scale != LATHE_SCALE_MAXABS)
    add (argv, "--scale", g_strdup ("mse"));
  if (g_strcmp0 (d->quantizer, "uniform") != 0 && d->quantizer != NULL)
    add (argv, "--quantizer", g_strdup (d->quantizer));
  if (d->sparsity != 0.0)
    add (argv, "--sparsity", format_double (d->sparsity));
  if (d->pattern != LATHE_PATTERN_UNSTRUCTURED)
    {
      char *p = format_pattern (d, "defaults", error);
      if (p == NULL)
        return NULL;
      add (argv, "--pattern", p);
    }
  if (plan->global_sparsity)
    add (argv, "--global-sparsity", NULL);
  if (d->width != 1.0)
    add (argv, "--width", format_double (d->width));
  if (!plan->fold_bn)
    add (argv, "--keep-bn", NULL);

  names = g_list_sort (g_hash_table_get_keys (plan->layers), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const LatheLayerSettings *s = g_hash_table_lookup (plan->layers, l->data);
      char *spec;

      /* An entry that overrides nothing is no override. */
      if (s->set == 0)
        continue;
      if (!(spec = layer_spec (l->data, s, error)))
        return NULL;
      add (argv, "--layer", spec);
    }
  g_clear_pointer (&names, g_list_free);

  names = g_list_sort (g_hash_table_get_keys (plan->params), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    add (argv, "--set", g_strdup_printf ("%s=%s", (char *) l->data,
                                         (char *) g_hash_table_lookup (plan->params, l->data)));

  if (plan->activation_importance)
    {
      add (argv, "--importance", g_strdup ("activation"));
      if (plan->calibration != NULL && !g_str_equal (plan->calibration, CLI_CALIBRATION_DEFAULT))
        add (argv, "--calibration", g_strdup (plan->calibration));
      if (plan->calibration_samples != CLI_CALIBRATION_SAMPLES_DEFAULT)
        add (argv, "--calibration-samples", g_strdup_printf ("%u", plan->calibration_samples));
    }

  add (argv, "-o", g_strdup (output_dir));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

/* Words made only of these need no quotes in a POSIX shell. */
static gboolean
needs_quoting (const char *word)
{
  if (*word == '\0')
    return TRUE;
  for (const char *p = word; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_./:=,+@%", *p) == NULL)
      return TRUE;
  return FALSE;
}

char *
lathe_cli_args_to_shell (const char * const *argv)
{
  g_autoptr(GString) line = g_string_new (NULL);

  g_return_val_if_fail (argv != NULL, NULL);

  for (guint i = 0; argv[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (line, ' ');
      if (needs_quoting (argv[i]))
        {
          g_autofree char *quoted = g_shell_quote (argv[i]);
          g_string_append (line, quoted);
        }
      else
        g_string_append (line, argv[i]);
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

/* ---------------------------------------------------------------------- */
/* lathe-cli distill                                                        */

#define CLI_TRAIN_DATA_DEFAULT "fashion-mnist:train"

static gboolean
check_count (const char  *flag,
             guint        value,
             GError     **error)
{
  if (value <= G_MAXINT)
    return TRUE;
  g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
               "%s %u: lathe-cli distill reads at most %d", flag, value, G_MAXINT);
  return FALSE;
}

static gboolean
check_finite (const char  *flag,
              double       value,
              GError     **error)
{
  if (isfinite (value))
    return TRUE;
  g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
               "%s: %g has no lathe-cli form", flag, value);
  return FALSE;
}

char **
lathe_train_to_cli_args (const LathePlan         *plan,
                         const LatheTrainOptions *options,
                         const char              *train_spec,
                         const char              *program,
                         const char              *model_path,
                         const char              *data_spec,
                         const char              *output_dir,
                         GError                 **error)
{
  g_auto(GStrv) apply = NULL;
  g_autoptr(GPtrArray) argv = NULL;
  LatheTrainOptions defaults;
  const LatheTrainOptions *o = options;
  guint n;

  g_return_val_if_fail (plan != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (model_path != NULL, NULL);
  g_return_val_if_fail (output_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (o->seed > (guint64) G_MAXINT64)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                   "training seed %" G_GUINT64_FORMAT ": lathe-cli distill reads at most %" G_GINT64_FORMAT,
                   o->seed, G_MAXINT64);
      return NULL;
    }
  if (!check_count ("--epochs", o->epochs, error) || !check_count ("--batch-train", o->batch, error) ||
      !check_count ("--train-limit", o->train_limit, error) ||
      !check_count ("--eval-samples", o->eval_samples, error) ||
      !check_finite ("--lr", o->lr, error) || !check_finite ("--temperature", o->temperature, error) ||
      !check_finite ("--alpha", o->alpha, error) || !check_finite ("--momentum", o->momentum, error) ||
      !check_finite ("--weight-decay", o->weight_decay, error))
    return NULL;
  if (!(apply = lathe_plan_to_cli_args (plan, program, model_path, data_spec, output_dir, error)))
    return NULL;

  lathe_train_options_init (&defaults);
  /* apply's words with "distill" for "apply", the training flags before
   * the closing "-o DIR" */
  n = g_strv_length (apply);
  g_assert (n >= 4 && g_str_equal (apply[1], "apply") && g_str_equal (apply[n - 2], "-o"));
  argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (apply[0]));
  g_ptr_array_add (argv, g_strdup ("distill"));
  for (guint i = 2; i < n - 2; i++)
    g_ptr_array_add (argv, g_strdup (apply[i]));

  if (o->mode == LATHE_TRAIN_FINETUNE)
    add (argv, "--finetune", NULL);
  else if (o->mode == LATHE_TRAIN_QAT)
    add (argv, "--qat", NULL);
  add (argv, "--epochs", g_strdup_printf ("%u", o->epochs));
  add (argv, "--batch-train", g_strdup_printf ("%u", o->batch));
  add (argv, "--lr", format_double (o->lr));
  add (argv, "--temperature", format_double (o->temperature));
  add (argv, "--alpha", format_double (o->alpha));
  add (argv, "--seed", g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed));
  add (argv, "--train-data", g_strdup (train_spec ? train_spec : CLI_TRAIN_DATA_DEFAULT));
  if (o->optimizer != defaults.optimizer)
    add (argv, "--optimizer", g_strdup (lathe_optimizer_to_string (o->optimizer)));
  if (o->optimizer == LATHE_OPTIMIZER_SGD && o->momentum != LATHE_TRAIN_MOMENTUM_DEFAULT)
    add (argv, "--momentum", format_double (o->momentum));
  if (o->weight_decay != 0)
    add (argv, "--weight-decay", format_double (o->weight_decay));
  if (o->schedule != defaults.schedule)
    add (argv, "--schedule", g_strdup (lathe_schedule_to_string (o->schedule)));
  if (o->train_limit != 0)
    add (argv, "--train-limit", g_strdup_printf ("%u", o->train_limit));
  if (o->eval_samples != LATHE_TRAIN_EVAL_SAMPLES_DEFAULT)
    add (argv, "--eval-samples", g_strdup_printf ("%u", o->eval_samples));

  g_ptr_array_add (argv, g_strdup (apply[n - 2]));
  g_ptr_array_add (argv, g_strdup (apply[n - 1]));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
