/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "plugin/lathe-pruner.h"

G_DEFINE_INTERFACE (LathePruner, lathe_pruner, G_TYPE_OBJECT)

static LathePruneLayout
lathe_pruner_real_get_layout (LathePruner *self)
{
  return LATHE_PRUNE_LAYOUT_VIEW;
}

static gboolean
lathe_pruner_real_supports (LathePruner               *self,
                            const LatheLayerSettings  *settings,
                            GError                   **error)
{
  return TRUE;
}

static void
lathe_pruner_default_init (LathePrunerInterface *iface)
{
  iface->get_layout = lathe_pruner_real_get_layout;
  iface->supports = lathe_pruner_real_supports;
}

LathePruneLayout
lathe_pruner_get_layout (LathePruner *self)
{
  g_return_val_if_fail (LATHE_IS_PRUNER (self), LATHE_PRUNE_LAYOUT_VIEW);

  return LATHE_PRUNER_GET_IFACE (self)->get_layout (self);
}

gboolean
lathe_pruner_supports (LathePruner               *self,
                       const LatheLayerSettings  *settings,
                       GError                   **error)
{
  g_return_val_if_fail (LATHE_IS_PRUNER (self), FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return LATHE_PRUNER_GET_IFACE (self)->supports (self, settings, error);
}

gboolean
lathe_pruner_prune (LathePruner               *self,
                    LatheWeightView           *view,
                    float                     *flat,
                    gsize                      n,
                    const LatheLayerSettings  *settings,
                    guint8                    *keep,
                    GError                   **error)
{
  LathePrunerInterface *iface;

  g_return_val_if_fail (LATHE_IS_PRUNER (self), FALSE);
  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (view->data != NULL || view->rows * view->cols == 0, FALSE);
  g_return_val_if_fail (flat == NULL || n == view->rows * view->cols, FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = LATHE_PRUNER_GET_IFACE (self);
  g_return_val_if_fail (iface->prune != NULL, FALSE);
  if (!iface->supports (self, settings, error))
    return FALSE;
  if (flat == NULL)
    {
      /* Without a separate flat copy, view order is the order. */
      flat = view->data;
      n = view->rows * view->cols;
    }
  return iface->prune (self, view, flat, n, settings, keep, error);
}
