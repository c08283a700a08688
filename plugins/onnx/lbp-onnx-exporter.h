/* SPDX-License-Identifier: MIT */
#pragma once

#include "plugin/lathe-plugin-registry.h"

G_BEGIN_DECLS

/* The "onnx" exporter: lathe_onnx_serialize() (onnx/lathe-onnx-writer.h),
 * extension "onnx". `weights` maps initializer names to LatheExportWeight*;
 * out_opset is the opset written. No parameters. */

#define LBP_TYPE_ONNX_EXPORTER (lbp_onnx_exporter_get_type ())
G_DECLARE_FINAL_TYPE (LbpOnnxExporter, lbp_onnx_exporter, LBP, ONNX_EXPORTER, GObject)

gboolean lbp_onnx_register (GTypeModule         *module,
                            LathePluginRegistry *registry);

G_END_DECLS
