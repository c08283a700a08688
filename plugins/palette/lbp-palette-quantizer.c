/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

/* N_() only: the nick and blurb are in the "lathe" catalog for a GUI that
 * shows them translated (g_dgettext); the CLI prints them as they are. */
#include <glib/gi18n.h>
#include "compress/lathe-quant.h"
#include "core/lathe-error.h"
#include "lbp-palette-quantizer.h"

#define ITERATIONS_MAX 1000

struct _LbpPaletteQuantizer
{
  GObject parent_instance;

  int     iterations;
};

enum {
  PROP_0,
  PROP_ITERATIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void quantizer_iface_init (LatheQuantizerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpPaletteQuantizer, lbp_palette_quantizer, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_QUANTIZER, quantizer_iface_init))

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
refuse (GError    **error,
        const char *what)
{
  g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID, "palette: %s", what);
  return FALSE;
}

static gboolean
lbp_palette_quantizer_supports (LatheQuantizer            *quantizer,
                                const LatheLayerSettings  *s,
                                GError                   **error)
{
  if (s->bits == 32 || s->bits == 16)
    return TRUE;
  if (s->bits < 1 || s->bits > 8)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "palette: %d bits: expected 1 to 8, 16 or 32", s->bits);
      return FALSE;
    }
  if (s->granularity == LATHE_GRANULARITY_GROUP)
    return refuse (error, "one codebook per tensor or per channel, not per group");
  if (s->affine)
    return refuse (error, "affine does not apply to a codebook");
  if (s->scale == LATHE_SCALE_MSE)
    return refuse (error, "scale=mse does not apply to a codebook");
  return TRUE;
}

static gboolean
lbp_palette_quantizer_quantize (LatheQuantizer            *quantizer,
                                LatheWeightView           *view,
                                const LatheLayerSettings  *s,
                                const guint8              *keep,
                                LatheQuantized           **out_codes,
                                GError                   **error)
{
  LbpPaletteQuantizer *self = LBP_PALETTE_QUANTIZER (quantizer);

  /* Codebooks and indices are not LatheQuantized codes: *out_codes stays
   * NULL (lathe_quantizer_quantize set it). */
  if (s->bits >= 16)
    {
      zero_pruned (view, keep);
      if (s->bits == 16)
        lathe_quant_fp16 (view);
      return TRUE;
    }
  if (!lathe_quant_palette (view, s->bits, s->granularity == LATHE_GRANULARITY_CHANNEL,
                            self->iterations, keep, NULL, error))
    {
      g_prefix_error (error, "palette: ");
      return FALSE;
    }
  return TRUE;
}

static void
quantizer_iface_init (LatheQuantizerInterface *iface)
{
  iface->supports = lbp_palette_quantizer_supports;
  iface->quantize = lbp_palette_quantizer_quantize;
}

static void
lbp_palette_quantizer_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  LbpPaletteQuantizer *self = LBP_PALETTE_QUANTIZER (object);

  switch (prop_id)
    {
    case PROP_ITERATIONS:
      g_value_set_int (value, self->iterations);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_palette_quantizer_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  LbpPaletteQuantizer *self = LBP_PALETTE_QUANTIZER (object);

  switch (prop_id)
    {
    case PROP_ITERATIONS:
      if (self->iterations != g_value_get_int (value))
        {
          self->iterations = g_value_get_int (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_palette_quantizer_class_init (LbpPaletteQuantizerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = lbp_palette_quantizer_get_property;
  object_class->set_property = lbp_palette_quantizer_set_property;

  properties[PROP_ITERATIONS] =
    g_param_spec_int ("iterations", N_("Iterations"),
                      N_("Lloyd (k-means) iterations after the evenly spaced initial codebook; 0 keeps it"),
                      0, ITERATIONS_MAX, LATHE_PALETTE_ITERATIONS,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lbp_palette_quantizer_class_finalize (LbpPaletteQuantizerClass *klass)
{
}

static void
lbp_palette_quantizer_init (LbpPaletteQuantizer *self)
{
  self->iterations = LATHE_PALETTE_ITERATIONS;
}

gboolean
lbp_palette_register (GTypeModule         *module,
                      LathePluginRegistry *registry)
{
  lbp_palette_quantizer_register_type (module);
  lathe_plugin_registry_add_method (registry, "palette", LBP_TYPE_PALETTE_QUANTIZER);
  return TRUE;
}
