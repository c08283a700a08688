/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "compress/lathe-quant.h"
#include "core/lathe-error.h"
#include "lbp-uniform-quantizer.h"

struct _LbpUniformQuantizer
{
  GObject parent_instance;
};

static void quantizer_iface_init (LatheQuantizerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpUniformQuantizer, lbp_uniform_quantizer, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_QUANTIZER, quantizer_iface_init))

static const int group_sizes[] = LATHE_GROUP_SIZES;

/* Pruned positions are 0 whatever else happens to the weights. */
static void
zero_pruned (LatheWeightView *view,
             const guint8    *keep)
{
  gsize n = view->rows * view->cols;

  if (keep == NULL)
    return;
  for (gsize i = 0; i < n; i++)
    if (keep[i] == 0)
      view->data[i] = 0.0f;
}

static gboolean
lbp_uniform_quantizer_supports (LatheQuantizer            *quantizer,
                                const LatheLayerSettings  *s,
                                GError                   **error)
{
  gboolean group_ok = FALSE;

  if (s->bits == 32 || s->bits == 16)
    return TRUE;
  if (s->bits < 1 || s->bits > 8)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "uniform: %d bits: expected 1 to 8, 16 or 32", s->bits);
      return FALSE;
    }
  if (s->bits == 1 && s->affine)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "uniform: 1-bit weights are sign × scale; affine does not apply");
      return FALSE;
    }
  if (s->granularity != LATHE_GRANULARITY_GROUP)
    return TRUE;
  for (guint g = 0; g < G_N_ELEMENTS (group_sizes); g++)
    group_ok |= s->group_size == group_sizes[g];
  if (!group_ok)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "uniform: group size %d: expected 16, 32, 64, 128 or 256", s->group_size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lbp_uniform_quantizer_quantize (LatheQuantizer            *quantizer,
                                LatheWeightView           *view,
                                const LatheLayerSettings  *s,
                                const guint8              *keep,
                                LatheQuantized           **out_codes,
                                GError                   **error)
{
  if (s->bits == 32)
    {
      zero_pruned (view, keep);
      return TRUE;
    }
  if (s->bits == 16)
    {
      zero_pruned (view, keep);
      lathe_quant_fp16 (view);
      return TRUE;
    }
  if (!lathe_quant_uniform (view, s->bits, s->granularity, s->group_size, s->affine, s->scale,
                            keep, out_codes, error))
    {
      g_prefix_error (error, "uniform: ");
      return FALSE;
    }
  return TRUE;
}

static void
quantizer_iface_init (LatheQuantizerInterface *iface)
{
  iface->supports = lbp_uniform_quantizer_supports;
  iface->quantize = lbp_uniform_quantizer_quantize;
}

static void
lbp_uniform_quantizer_class_init (LbpUniformQuantizerClass *klass)
{
}

static void
lbp_uniform_quantizer_class_finalize (LbpUniformQuantizerClass *klass)
{
}

static void
lbp_uniform_quantizer_init (LbpUniformQuantizer *self)
{
}

gboolean
lbp_uniform_register (GTypeModule         *module,
                      LathePluginRegistry *registry)
{
  lbp_uniform_quantizer_register_type (module);
  lathe_plugin_registry_add_method (registry, "uniform", LBP_TYPE_UNIFORM_QUANTIZER);
  return TRUE;
}
