/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* Extension point: a model exporter ("onnx" …).
 *
 * export() writes the effective model. `weights` (nullable) maps an
 * initializer name to a LatheExportWeight* (onnx/lathe-onnx-writer.h):
 * how a compressed weight should be stored; others are written as they
 * are. `notes` (nullable) receives one g_malloc'd sentence per decision
 * for the report (create it with g_free as free func). `out_opset`
 * (nullable) receives the format version written, where the format has
 * one (the ONNX opset), else 0. The same input always gives the same bytes.
 *
 * get_extension() is the file extension without the dot ("onnx"). */

#define LATHE_TYPE_EXPORTER (lathe_exporter_get_type ())
G_DECLARE_INTERFACE (LatheExporter, lathe_exporter, LATHE, EXPORTER, GObject)

struct _LatheExporterInterface
{
  GTypeInterface parent_iface;

  GBytes     *(*export)        (LatheExporter  *self,
                                LatheGraph     *graph,
                                GHashTable     *weights,
                                GPtrArray      *notes,
                                int            *out_opset,
                                GError        **error);
  const char *(*get_extension) (LatheExporter  *self);
};

GBytes     *lathe_exporter_export        (LatheExporter  *self,
                                          LatheGraph     *graph,
                                          GHashTable     *weights,
                                          GPtrArray      *notes,
                                          int            *out_opset,
                                          GError        **error);
const char *lathe_exporter_get_extension (LatheExporter  *self);

G_END_DECLS
