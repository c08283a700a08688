/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <string.h>

#include "compress/lathe-plan.h"

const char *
lathe_pattern_pruner (LathePattern pattern)
{
  switch (pattern)
    {
    case LATHE_PATTERN_NM: return "nm";
    case LATHE_PATTERN_CHANNEL: return "channel";
    case LATHE_PATTERN_UNSTRUCTURED:
    default: return "magnitude";
    }
}

void
lathe_layer_settings_init_defaults (LatheLayerSettings *s)
{
  memset (s, 0, sizeof *s);
  s->bits = 32;
  s->quantizer = g_strdup ("uniform");
  s->granularity = LATHE_GRANULARITY_CHANNEL;
  s->group_size = 0;
  s->affine = FALSE;
  s->scale = LATHE_SCALE_MAXABS;
  s->sparsity = 0.0;
  s->pattern = LATHE_PATTERN_UNSTRUCTURED;
  s->nm_n = 2;
  s->nm_m = 4;
  s->width = 1.0;
  s->skip = FALSE;
}

void
lathe_layer_settings_copy (LatheLayerSettings       *dst,
                           const LatheLayerSettings *src)
{
  *dst = *src;
  dst->quantizer = g_strdup (src->quantizer);
}

void
lathe_layer_settings_clear (LatheLayerSettings *s)
{
  g_clear_pointer (&s->quantizer, g_free);
}

void
lathe_layer_settings_overlay (LatheLayerSettings       *dst,
                              const LatheLayerSettings *base,
                              const LatheLayerSettings *over)
{
  LatheLayerSettings r;

  lathe_layer_settings_copy (&r, base);
  r.set = 0;
  if (over != NULL)
    {
      if (over->set & LATHE_FIELD_BITS)
        r.bits = over->bits;
      if (over->set & LATHE_FIELD_GRANULARITY)
        {
          r.granularity = over->granularity;
          r.group_size = over->group_size;
        }
      if (over->set & LATHE_FIELD_AFFINE)
        r.affine = over->affine;
      if (over->set & LATHE_FIELD_SCALE)
        r.scale = over->scale;
      if (over->set & LATHE_FIELD_QUANTIZER)
        {
          g_free (r.quantizer);
          r.quantizer = g_strdup (over->quantizer);
        }
      if (over->set & LATHE_FIELD_SPARSITY)
        r.sparsity = over->sparsity;
      if (over->set & LATHE_FIELD_PATTERN)
        {
          r.pattern = over->pattern;
          r.nm_n = over->nm_n;
          r.nm_m = over->nm_m;
        }
      if (over->set & LATHE_FIELD_WIDTH)
        r.width = over->width;
      if (over->set & LATHE_FIELD_SKIP)
        r.skip = over->skip;
    }
  lathe_layer_settings_clear (dst);
  *dst = r;
}

gboolean
lathe_layer_settings_equal (const LatheLayerSettings *a,
                            const LatheLayerSettings *b)
{
  if (a->skip != b->skip)
    return FALSE;
  if (a->skip)
    return TRUE;   /* a skipped layer ignores everything else */
  return a->bits == b->bits &&
         g_strcmp0 (a->quantizer, b->quantizer) == 0 &&
         a->granularity == b->granularity &&
         (a->granularity != LATHE_GRANULARITY_GROUP || a->group_size == b->group_size) &&
         a->affine == b->affine &&
         a->scale == b->scale &&
         a->sparsity == b->sparsity &&
         a->pattern == b->pattern &&
         (a->pattern != LATHE_PATTERN_NM || (a->nm_n == b->nm_n && a->nm_m == b->nm_m)) &&
         a->width == b->width;
}

static void
settings_free (gpointer data)
{
  LatheLayerSettings *s = data;

  lathe_layer_settings_clear (s);
  g_free (s);
}

LathePlan *
lathe_plan_new (void)
{
  LathePlan *plan = g_new0 (LathePlan, 1);

  lathe_layer_settings_init_defaults (&plan->defaults);
  plan->layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, settings_free);
  plan->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  plan->fold_bn = TRUE;
  plan->calibration_samples = 512;
  return plan;
}

LathePlan *
lathe_plan_copy (const LathePlan *plan)
{
  LathePlan *copy = lathe_plan_new ();
  GHashTableIter iter;
  gpointer key, value;

  lathe_layer_settings_clear (&copy->defaults);
  lathe_layer_settings_copy (&copy->defaults, &plan->defaults);
  copy->global_sparsity = plan->global_sparsity;
  copy->fold_bn = plan->fold_bn;
  copy->seed = plan->seed;
  copy->activation_importance = plan->activation_importance;
  copy->calibration = g_strdup (plan->calibration);
  copy->calibration_samples = plan->calibration_samples;
  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      LatheLayerSettings *s = g_new0 (LatheLayerSettings, 1);
      lathe_layer_settings_copy (s, value);
      g_hash_table_insert (copy->layers, g_strdup (key), s);
    }
  g_hash_table_iter_init (&iter, plan->params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->params, g_strdup (key), g_strdup (value));
  return copy;
}

void
lathe_plan_free (LathePlan *plan)
{
  if (plan == NULL)
    return;
  lathe_layer_settings_clear (&plan->defaults);
  g_hash_table_unref (plan->layers);
  g_hash_table_unref (plan->params);
  g_free (plan->calibration);
  g_free (plan);
}

LatheLayerSettings *
lathe_plan_layer (LathePlan  *plan,
                  const char *name)
{
  LatheLayerSettings *s = g_hash_table_lookup (plan->layers, name);

  if (s == NULL)
    {
      s = g_new0 (LatheLayerSettings, 1);
      lathe_layer_settings_init_defaults (s);
      s->set = 0;
      g_hash_table_insert (plan->layers, g_strdup (name), s);
    }
  return s;
}

void
lathe_plan_resolve (const LathePlan    *plan,
                    const char         *name,
                    LatheLayerSettings *out)
{
  lathe_layer_settings_overlay (out, &plan->defaults,
                                g_hash_table_lookup (plan->layers, name));
}

static gboolean
params_equal (GHashTable *a,
              GHashTable *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (value, g_hash_table_lookup (b, key)) != 0)
      return FALSE;
  return TRUE;
}

/* Every layer named in `a` resolves the same in `b`. */
static gboolean
layers_resolve_alike (const LathePlan *a,
                      const LathePlan *b)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, a->layers);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_auto(LatheLayerSettings) ra = { 0 };
      g_auto(LatheLayerSettings) rb = { 0 };

      lathe_plan_resolve (a, key, &ra);
      lathe_plan_resolve (b, key, &rb);
      if (!lathe_layer_settings_equal (&ra, &rb))
        return FALSE;
    }
  return TRUE;
}

gboolean
lathe_plan_equal (const LathePlan *a,
                  const LathePlan *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return lathe_layer_settings_equal (&a->defaults, &b->defaults) &&
         a->global_sparsity == b->global_sparsity &&
         a->fold_bn == b->fold_bn &&
         a->seed == b->seed &&
         a->activation_importance == b->activation_importance &&
         g_strcmp0 (a->calibration, b->calibration) == 0 &&
         a->calibration_samples == b->calibration_samples &&
         params_equal (a->params, b->params) &&
         layers_resolve_alike (a, b) &&
         layers_resolve_alike (b, a);
}
