/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "compress/lathe-prune.h"
#include "core/lathe-error.h"
#include "lbp-nm-pruner.h"

struct _LbpNmPruner
{
  GObject parent_instance;
};

static void pruner_iface_init (LathePrunerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpNmPruner, lbp_nm_pruner, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_PRUNER, pruner_iface_init))

static gboolean
lbp_nm_pruner_supports (LathePruner               *pruner,
                        const LatheLayerSettings  *s,
                        GError                   **error)
{
  if (s->nm_n < 1 || s->nm_n >= s->nm_m || s->nm_m > 16)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "nm: %d:%d is not an N:M pattern (1 ≤ N < M ≤ 16)", s->nm_n, s->nm_m);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lbp_nm_pruner_prune (LathePruner               *pruner,
                     LatheWeightView           *view,
                     float                     *flat,
                     gsize                      n,
                     const LatheLayerSettings  *s,
                     guint8                    *keep,
                     GError                   **error)
{
  if (!lathe_prune_nm (view, s->nm_n, s->nm_m, keep, error))
    {
      g_prefix_error (error, "nm: ");
      return FALSE;
    }
  return TRUE;
}

static void
pruner_iface_init (LathePrunerInterface *iface)
{
  iface->supports = lbp_nm_pruner_supports;
  iface->prune = lbp_nm_pruner_prune;
}

static void
lbp_nm_pruner_class_init (LbpNmPrunerClass *klass)
{
}

static void
lbp_nm_pruner_class_finalize (LbpNmPrunerClass *klass)
{
}

static void
lbp_nm_pruner_init (LbpNmPruner *self)
{
}

gboolean
lbp_nm_register (GTypeModule         *module,
                 LathePluginRegistry *registry)
{
  lbp_nm_pruner_register_type (module);
  lathe_plugin_registry_add_method (registry, "nm", LBP_TYPE_NM_PRUNER);
  return TRUE;
}
