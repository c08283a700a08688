/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

/* The plan flags shared by eval, run, apply and sweep. */

#include <string.h>

#include "compress/lathe-apply.h"
#include "core/lathe-error.h"
#include "lathe-cli.h"

void
lathe_cli_plan_add_options (LatheCliPlan   *flags,
                            GOptionContext *context)
{
  GOptionEntry entries[] = {
    { "bits", 0, 0, G_OPTION_ARG_STRING, &flags->bits, "Weight bits for every layer: 1–8, 16 (float16) or 32 (off)", "B" },
    { "granularity", 0, 0, G_OPTION_ARG_STRING, &flags->granularity, "One scale per tensor, channel or group of G input channels", "tensor|channel|group:G" },
    { "affine", 0, 0, G_OPTION_ARG_NONE, &flags->affine, "Affine codes with a zero point instead of symmetric ones", NULL },
    { "scale", 0, 0, G_OPTION_ARG_STRING, &flags->scale, "How scales are chosen", "maxabs|mse" },
    { "quantizer", 0, 0, G_OPTION_ARG_STRING, &flags->quantizer, "Quantization method", "uniform|palette" },
    { "sparsity", 0, 0, G_OPTION_ARG_STRING, &flags->sparsity, "Share of weights pruned to zero, 0–0.99", "S" },
    { "pattern", 0, 0, G_OPTION_ARG_STRING, &flags->pattern, "Pruning pattern", "unstructured|2:4|4:8|channel" },
    { "global-sparsity", 0, 0, G_OPTION_ARG_NONE, &flags->global_sparsity, "Rank weights across all layers instead of per layer", NULL },
    { "width", 0, 0, G_OPTION_ARG_STRING, &flags->width, "Fraction of output units kept, 0.05–1", "W" },
    { "keep-bn", 0, 0, G_OPTION_ARG_NONE, &flags->keep_bn, "Keep BatchNormalization instead of folding it into the layer before", NULL },
    { "layer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &flags->layer, "Override one layer (repeatable); keys bits, granularity, affine, scale, quantizer, sparsity, pattern, width, skip", "NAME:key=value[,…]" },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &flags->set, "A method parameter (repeatable), e.g. palette.iterations=30; see lathe-cli plugins", "METHOD.PARAM=VALUE" },
    { "importance", 0, 0, G_OPTION_ARG_STRING, &flags->importance, "How width ranks units: weight L2 norm, or mean |activation| on calibration data", "l2|activation" },
    { "calibration", 0, 0, G_OPTION_ARG_STRING, &flags->calibration, "Calibration data for activation importance (default fashion-mnist:train; never the evaluation set)", "SPEC" },
    { "calibration-samples", 0, 0, G_OPTION_ARG_INT, &flags->calibration_samples, "Calibration samples to use (default 512)", "N" },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, NULL);
}

void
lathe_cli_plan_clear (LatheCliPlan *flags)
{
  g_clear_pointer (&flags->bits, g_free);
  g_clear_pointer (&flags->granularity, g_free);
  g_clear_pointer (&flags->scale, g_free);
  g_clear_pointer (&flags->quantizer, g_free);
  g_clear_pointer (&flags->sparsity, g_free);
  g_clear_pointer (&flags->pattern, g_free);
  g_clear_pointer (&flags->width, g_free);
  g_clear_pointer (&flags->layer, g_strfreev);
  g_clear_pointer (&flags->set, g_strfreev);
  g_clear_pointer (&flags->importance, g_free);
  g_clear_pointer (&flags->calibration, g_free);
}

gboolean
lathe_cli_plan_given (const LatheCliPlan *flags)
{
  return flags->bits || flags->granularity || flags->affine || flags->scale || flags->quantizer ||
         flags->sparsity || flags->pattern || flags->global_sparsity || flags->width ||
         flags->keep_bn || flags->layer || flags->set || flags->importance || flags->calibration ||
         flags->calibration_samples;
}

static gboolean
bad_value (GError    **error,
           const char *what,
           const char *value,
           const char *expected)
{
  g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
               "%s: '%s' is not valid (expected %s)", what, value, expected);
  return FALSE;
}

static gboolean
parse_double (const char *text,
              double      lo,
              double      hi,
              double     *out)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (*text == '\0' || end == NULL || *end != '\0' || !(v >= lo && v <= hi))
    return FALSE;
  *out = v;
  return TRUE;
}

/* Applies one key=value to settings, marking the field as set. */
gboolean
lathe_cli_plan_set_key (LatheLayerSettings *s,
                        const char         *what,
                        const char         *key,
                        const char         *value,
                        GError            **error)
{
  g_autofree char *label = g_strdup_printf ("%s%s", what, key);

  if (g_str_equal (key, "bits"))
    {
      guint64 b;
      if (!g_ascii_string_to_unsigned (value, 10, 1, 32, &b, NULL) || !(b <= 8 || b == 16 || b == 32))
        return bad_value (error, label, value, "1 to 8, 16 or 32");
      s->bits = (int) b;
      s->set |= LATHE_FIELD_BITS;
    }
  else if (g_str_equal (key, "granularity"))
    {
      if (g_str_equal (value, "tensor"))
        s->granularity = LATHE_GRANULARITY_TENSOR;
      else if (g_str_equal (value, "channel"))
        s->granularity = LATHE_GRANULARITY_CHANNEL;
      else if (g_str_has_prefix (value, "group:"))
        {
          guint64 g;
          if (!g_ascii_string_to_unsigned (value + 6, 10, 16, 256, &g, NULL) ||
              (g != 16 && g != 32 && g != 64 && g != 128 && g != 256))
            return bad_value (error, label, value, "group:16, group:32, group:64, group:128 or group:256");
          s->granularity = LATHE_GRANULARITY_GROUP;
          s->group_size = (int) g;
        }
      else
        return bad_value (error, label, value, "tensor, channel or group:G");
      s->set |= LATHE_FIELD_GRANULARITY;
    }
  else if (g_str_equal (key, "affine") || g_str_equal (key, "skip"))
    {
      gboolean b;
      if (g_str_equal (value, "true") || g_str_equal (value, "1") || g_str_equal (value, "yes"))
        b = TRUE;
      else if (g_str_equal (value, "false") || g_str_equal (value, "0") || g_str_equal (value, "no"))
        b = FALSE;
      else
        return bad_value (error, label, value, "true or false");
      if (g_str_equal (key, "affine"))
        s->affine = b, s->set |= LATHE_FIELD_AFFINE;
      else
        s->skip = b, s->set |= LATHE_FIELD_SKIP;
    }
  else if (g_str_equal (key, "scale"))
    {
      if (g_str_equal (value, "maxabs"))
        s->scale = LATHE_SCALE_MAXABS;
      else if (g_str_equal (value, "mse"))
        s->scale = LATHE_SCALE_MSE;
      else
        return bad_value (error, label, value, "maxabs or mse");
      s->set |= LATHE_FIELD_SCALE;
    }
  else if (g_str_equal (key, "quantizer"))
    {
      if (!g_str_equal (value, "uniform") && !g_str_equal (value, "palette"))
        return bad_value (error, label, value, "uniform or palette");
      g_free (s->quantizer);
      s->quantizer = g_strdup (value);
      s->set |= LATHE_FIELD_QUANTIZER;
    }
  else if (g_str_equal (key, "sparsity"))
    {
      if (!parse_double (value, 0.0, 0.99, &s->sparsity))
        return bad_value (error, label, value, "a number from 0 to 0.99");
      s->set |= LATHE_FIELD_SPARSITY;
    }
  else if (g_str_equal (key, "pattern"))
    {
      if (g_str_equal (value, "unstructured"))
        s->pattern = LATHE_PATTERN_UNSTRUCTURED;
      else if (g_str_equal (value, "channel"))
        s->pattern = LATHE_PATTERN_CHANNEL;
      else if (g_str_equal (value, "2:4") || g_str_equal (value, "4:8"))
        {
          s->pattern = LATHE_PATTERN_NM;
          s->nm_n = value[0] - '0';
          s->nm_m = value[2] - '0';
        }
      else
        return bad_value (error, label, value, "unstructured, 2:4, 4:8 or channel");
      s->set |= LATHE_FIELD_PATTERN;
    }
  else if (g_str_equal (key, "width"))
    {
      if (!parse_double (value, 0.05, 1.0, &s->width))
        return bad_value (error, label, value, "a number from 0.05 to 1");
      s->set |= LATHE_FIELD_WIDTH;
    }
  else
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "%s: unknown key (expected bits, granularity, affine, scale, quantizer, sparsity, pattern, width or skip)",
                   label);
      return FALSE;
    }
  return TRUE;
}

static gboolean
starts_with_key (const char *text)
{
  static const char * const keys[] = {
    "bits=", "granularity=", "affine=", "scale=", "quantizer=", "sparsity=", "pattern=", "width=", "skip=",
  };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_has_prefix (text, keys[i]))
      return TRUE;
  return FALSE;
}

LathePlan *
lathe_cli_plan_build (const LatheCliPlan *flags,
                      GError            **error)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  LatheLayerSettings *d = &plan->defaults;

#define KEY(field, key) \
  if (flags->field && !lathe_cli_plan_set_key (d, "--", key, flags->field, error)) \
    return NULL;
  KEY (bits, "bits")
  KEY (granularity, "granularity")
  KEY (scale, "scale")
  KEY (quantizer, "quantizer")
  KEY (sparsity, "sparsity")
  KEY (pattern, "pattern")
  KEY (width, "width")
#undef KEY
  if (flags->affine)
    d->affine = TRUE;
  d->set = 0;
  plan->global_sparsity = flags->global_sparsity;
  plan->fold_bn = !flags->keep_bn;
  if (flags->importance != NULL)
    {
      if (!g_str_equal (flags->importance, "l2") && !g_str_equal (flags->importance, "activation"))
        {
          bad_value (error, "--importance", flags->importance, "l2 or activation");
          return NULL;
        }
      plan->activation_importance = g_str_equal (flags->importance, "activation");
    }
  if ((flags->calibration != NULL || flags->calibration_samples != 0) && !plan->activation_importance)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "--calibration and --calibration-samples go with --importance activation");
      return NULL;
    }
  if (flags->calibration_samples < 0)
    {
      bad_value (error, "--calibration-samples", "negative", "a positive number");
      return NULL;
    }
  if (plan->activation_importance)
    {
      plan->calibration = g_strdup (flags->calibration ? flags->calibration : "fashion-mnist:train");
      if (flags->calibration_samples > 0)
        plan->calibration_samples = (guint) flags->calibration_samples;
    }

  for (guint i = 0; flags->layer && flags->layer[i]; i++)
    {
      /* NAME:key=value,… split at the last ':' (names may contain ':') */
      const char *spec = flags->layer[i];
      const char *colon = strrchr (spec, ':');
      g_autofree char *name = NULL;
      g_auto(GStrv) pairs = NULL;
      LatheLayerSettings *s;

      /* Split at the last ':' that a key=value follows: names may hold
       * ':' and so may a value ("fc1.weight:pattern=2:4,bits=4"). */
      while (colon != NULL && !starts_with_key (colon + 1))
        {
          const char *prev = colon - 1;
          while (prev >= spec && *prev != ':')
            prev--;
          colon = prev >= spec ? prev : NULL;
        }
      if (colon == NULL || colon == spec || colon[1] == '\0')
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "--layer '%s': expected NAME:key=value[,key=value…]", spec);
          return NULL;
        }
      name = g_strndup (spec, colon - spec);
      s = lathe_plan_layer (plan, name);
      pairs = g_strsplit (colon + 1, ",", -1);
      for (guint p = 0; pairs[p]; p++)
        {
          g_autofree char *what = g_strdup_printf ("--layer %s: ", name);
          char *eq = strchr (pairs[p], '=');
          if (eq == NULL)
            {
              g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                           "--layer %s: '%s' is not key=value", name, pairs[p]);
              return NULL;
            }
          *eq = '\0';
          if (!lathe_cli_plan_set_key (s, what, pairs[p], eq + 1, error))
            return NULL;
        }
    }

  for (guint i = 0; flags->set && flags->set[i]; i++)
    {
      const char *eq = strchr (flags->set[i], '=');
      if (eq == NULL || eq == flags->set[i] || strchr (flags->set[i], '.') == NULL ||
          strchr (flags->set[i], '.') > eq)
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "--set '%s': expected METHOD.PARAM=VALUE", flags->set[i]);
          return NULL;
        }
      g_hash_table_insert (plan->params, g_strndup (flags->set[i], eq - flags->set[i]), g_strdup (eq + 1));
    }
  return g_steal_pointer (&plan);
}

gboolean
lathe_cli_apply_options (const LathePlan    *plan,
                         const LatheCliData *data,
                         LatheDataset       *evaluation,
                         LatheApplyOptions  *options,
                         GError            **error)
{
  memset (options, 0, sizeof *options);
  if (!plan->activation_importance)
    return TRUE;
  options->importance = LATHE_IMPORTANCE_ACTIVATION;
  options->calibration = lathe_dataset_new_from_spec (plan->calibration ? plan->calibration
                                                                        : "fashion-mnist:train",
                                                      NULL, error);
  if (options->calibration == NULL)
    return FALSE;
  options->calibration_samples = plan->calibration_samples;
  options->mean = (const float *) data->mean_values->data;
  options->std = (const float *) data->std_values->data;
  options->n_norm = data->mean_values->len;
  options->evaluation_sha256 = evaluation ? lathe_dataset_get_sha256 (evaluation) : NULL;
  return TRUE;
}

void
lathe_cli_apply_options_clear (LatheApplyOptions *options)
{
  g_clear_object (&options->calibration);
}
