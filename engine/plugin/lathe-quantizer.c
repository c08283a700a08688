/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "plugin/lathe-quantizer.h"

G_DEFINE_INTERFACE (LatheQuantizer, lathe_quantizer, G_TYPE_OBJECT)

static gboolean
lathe_quantizer_real_supports (LatheQuantizer            *self,
                               const LatheLayerSettings  *settings,
                               GError                   **error)
{
  return TRUE;
}

static void
lathe_quantizer_default_init (LatheQuantizerInterface *iface)
{
  iface->supports = lathe_quantizer_real_supports;
}

gboolean
lathe_quantizer_supports (LatheQuantizer            *self,
                          const LatheLayerSettings  *settings,
                          GError                   **error)
{
  g_return_val_if_fail (LATHE_IS_QUANTIZER (self), FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return LATHE_QUANTIZER_GET_IFACE (self)->supports (self, settings, error);
}

gboolean
lathe_quantizer_quantize (LatheQuantizer            *self,
                          LatheWeightView           *view,
                          const LatheLayerSettings  *settings,
                          const guint8              *keep,
                          LatheQuantized           **out_codes,
                          GError                   **error)
{
  LatheQuantizerInterface *iface;

  g_return_val_if_fail (LATHE_IS_QUANTIZER (self), FALSE);
  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (view->data != NULL || view->rows * view->cols == 0, FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_codes != NULL)
    *out_codes = NULL;
  iface = LATHE_QUANTIZER_GET_IFACE (self);
  g_return_val_if_fail (iface->quantize != NULL, FALSE);
  if (!iface->supports (self, settings, error))
    return FALSE;
  return iface->quantize (self, view, settings, keep, out_codes, error);
}
