/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

/* N_() only: the nick and blurb are in the "lathe" catalog for a GUI that
 * shows them translated (g_dgettext); the CLI prints them as they are. */
#include <glib/gi18n.h>
#include "core/lathe-error.h"
#include "lbp-block-prune.h"
#include "lbp-magnitude-block-pruner.h"

#define BLOCK_SIZE_MIN     2
#define BLOCK_SIZE_MAX     64
#define BLOCK_SIZE_DEFAULT 4

struct _LbpMagnitudeBlockPruner
{
  GObject parent_instance;

  int     block_size;
};

enum {
  PROP_0,
  PROP_BLOCK_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void pruner_iface_init (LathePrunerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpMagnitudeBlockPruner, lbp_magnitude_block_pruner, G_TYPE_OBJECT,
                                G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_PRUNER, pruner_iface_init))

static gboolean
lbp_magnitude_block_pruner_supports (LathePruner               *pruner,
                                     const LatheLayerSettings  *s,
                                     GError                   **error)
{
  if (!(s->sparsity >= 0.0 && s->sparsity <= 1.0))
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "magnitude-block: sparsity %g: expected 0 to 1", s->sparsity);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lbp_magnitude_block_pruner_prune (LathePruner               *pruner,
                                  LatheWeightView           *view,
                                  float                     *flat,
                                  gsize                      n,
                                  const LatheLayerSettings  *s,
                                  guint8                    *keep,
                                  GError                   **error)
{
  LbpMagnitudeBlockPruner *self = LBP_MAGNITUDE_BLOCK_PRUNER (pruner);

  lbp_prune_blocks (view, (gsize) self->block_size, s->sparsity, keep);
  return TRUE;
}

static void
pruner_iface_init (LathePrunerInterface *iface)
{
  iface->supports = lbp_magnitude_block_pruner_supports;
  iface->prune = lbp_magnitude_block_pruner_prune;
}

static void
lbp_magnitude_block_pruner_get_property (GObject    *object,
                                         guint       prop_id,
                                         GValue     *value,
                                         GParamSpec *pspec)
{
  LbpMagnitudeBlockPruner *self = LBP_MAGNITUDE_BLOCK_PRUNER (object);

  switch (prop_id)
    {
    case PROP_BLOCK_SIZE:
      g_value_set_int (value, self->block_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_magnitude_block_pruner_set_property (GObject      *object,
                                         guint         prop_id,
                                         const GValue *value,
                                         GParamSpec   *pspec)
{
  LbpMagnitudeBlockPruner *self = LBP_MAGNITUDE_BLOCK_PRUNER (object);

  switch (prop_id)
    {
    case PROP_BLOCK_SIZE:
      if (self->block_size != g_value_get_int (value))
        {
          self->block_size = g_value_get_int (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_magnitude_block_pruner_class_init (LbpMagnitudeBlockPrunerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = lbp_magnitude_block_pruner_get_property;
  object_class->set_property = lbp_magnitude_block_pruner_set_property;

  properties[PROP_BLOCK_SIZE] =
    g_param_spec_int ("block-size", N_("Block size"),
                      N_("Consecutive input-axis weights pruned together"),
                      BLOCK_SIZE_MIN, BLOCK_SIZE_MAX, BLOCK_SIZE_DEFAULT,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lbp_magnitude_block_pruner_class_finalize (LbpMagnitudeBlockPrunerClass *klass)
{
}

static void
lbp_magnitude_block_pruner_init (LbpMagnitudeBlockPruner *self)
{
  self->block_size = BLOCK_SIZE_DEFAULT;
}

void
lbp_magnitude_block_pruner_register (GTypeModule *module)
{
  lbp_magnitude_block_pruner_register_type (module);
}
