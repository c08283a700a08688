/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "plugin/lathe-exporter.h"

G_DEFINE_INTERFACE (LatheExporter, lathe_exporter, G_TYPE_OBJECT)

static void
lathe_exporter_default_init (LatheExporterInterface *iface)
{
}

GBytes *
lathe_exporter_export (LatheExporter  *self,
                       LatheGraph     *graph,
                       GHashTable     *weights,
                       GPtrArray      *notes,
                       int            *out_opset,
                       GError        **error)
{
  LatheExporterInterface *iface;
  int opset = 0;
  GBytes *bytes;

  g_return_val_if_fail (LATHE_IS_EXPORTER (self), NULL);
  g_return_val_if_fail (graph != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = LATHE_EXPORTER_GET_IFACE (self);
  g_return_val_if_fail (iface->export != NULL, NULL);
  bytes = iface->export (self, graph, weights, notes, &opset, error);
  if (out_opset != NULL)
    *out_opset = bytes != NULL ? opset : 0;
  return bytes;
}

const char *
lathe_exporter_get_extension (LatheExporter *self)
{
  LatheExporterInterface *iface;

  g_return_val_if_fail (LATHE_IS_EXPORTER (self), NULL);

  iface = LATHE_EXPORTER_GET_IFACE (self);
  g_return_val_if_fail (iface->get_extension != NULL, NULL);
  return iface->get_extension (self);
}
