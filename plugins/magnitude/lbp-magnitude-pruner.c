/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "compress/lathe-prune.h"
#include "core/lathe-error.h"
#include "lbp-magnitude-pruner.h"

struct _LbpMagnitudePruner
{
  GObject parent_instance;
};

static void pruner_iface_init (LathePrunerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpMagnitudePruner, lbp_magnitude_pruner, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_PRUNER, pruner_iface_init))

static LathePruneLayout
lbp_magnitude_pruner_get_layout (LathePruner *pruner)
{
  /* Ties go to the lower index of the tensor's own order. */
  return LATHE_PRUNE_LAYOUT_FLAT;
}

static gboolean
lbp_magnitude_pruner_supports (LathePruner               *pruner,
                               const LatheLayerSettings  *s,
                               GError                   **error)
{
  if (!(s->sparsity >= 0.0 && s->sparsity <= 1.0))
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "magnitude: sparsity %g: expected 0 to 1", s->sparsity);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lbp_magnitude_pruner_prune (LathePruner               *pruner,
                            LatheWeightView           *view,
                            float                     *flat,
                            gsize                      n,
                            const LatheLayerSettings  *s,
                            guint8                    *keep,
                            GError                   **error)
{
  lathe_prune_magnitude (flat, n, s->sparsity, keep);
  return TRUE;
}

static void
pruner_iface_init (LathePrunerInterface *iface)
{
  iface->get_layout = lbp_magnitude_pruner_get_layout;
  iface->supports = lbp_magnitude_pruner_supports;
  iface->prune = lbp_magnitude_pruner_prune;
}

static void
lbp_magnitude_pruner_class_init (LbpMagnitudePrunerClass *klass)
{
}

static void
lbp_magnitude_pruner_class_finalize (LbpMagnitudePrunerClass *klass)
{
}

static void
lbp_magnitude_pruner_init (LbpMagnitudePruner *self)
{
}

gboolean
lbp_magnitude_register (GTypeModule         *module,
                        LathePluginRegistry *registry)
{
  lbp_magnitude_pruner_register_type (module);
  lathe_plugin_registry_add_method (registry, "magnitude", LBP_TYPE_MAGNITUDE_PRUNER);
  return TRUE;
}
