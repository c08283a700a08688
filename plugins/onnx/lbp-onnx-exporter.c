/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include "lbp-onnx-exporter.h"
#include "onnx/lathe-onnx-writer.h"

struct _LbpOnnxExporter
{
  GObject parent_instance;
};

static void exporter_iface_init (LatheExporterInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpOnnxExporter, lbp_onnx_exporter, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_EXPORTER, exporter_iface_init))

static GBytes *
lbp_onnx_exporter_export (LatheExporter  *exporter,
                          LatheGraph     *graph,
                          GHashTable     *weights,
                          GPtrArray      *notes,
                          int            *out_opset,
                          GError        **error)
{
  LatheExportOptions options = { .weights = weights, .notes = notes };
  GBytes *bytes = lathe_onnx_serialize (graph, &options, error);

  *out_opset = options.out_opset;
  return bytes;
}

static const char *
lbp_onnx_exporter_get_extension (LatheExporter *exporter)
{
  return "onnx";
}

static void
exporter_iface_init (LatheExporterInterface *iface)
{
  iface->export = lbp_onnx_exporter_export;
  iface->get_extension = lbp_onnx_exporter_get_extension;
}

static void
lbp_onnx_exporter_class_init (LbpOnnxExporterClass *klass)
{
}

static void
lbp_onnx_exporter_class_finalize (LbpOnnxExporterClass *klass)
{
}

static void
lbp_onnx_exporter_init (LbpOnnxExporter *self)
{
}

gboolean
lbp_onnx_register (GTypeModule         *module,
                   LathePluginRegistry *registry)
{
  lbp_onnx_exporter_register_type (module);
  lathe_plugin_registry_add_method (registry, "onnx", LBP_TYPE_ONNX_EXPORTER);
  return TRUE;
}
