/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-apply.h"

G_BEGIN_DECLS

/* How each compressed weight of `applied` is stored in an export: weight
 * name → LatheExportWeight* (uniform codes as integers with
 * DequantizeLinear, float16 through Cast); weights that stay float32 are
 * not in the table. The entries point into `applied`, which must outlive
 * the table. `layers` are the layers `applied` was made with. */
GHashTable *lathe_export_weights_new (const LatheApplied *applied,
                                      GPtrArray          *layers);

/* The effective model as ONNX bytes, stored as lathe_export_weights_new()
 * says. `notes` (nullable) receives the writer's decisions; `out_opset`
 * (nullable) the opset written. */
GBytes     *lathe_export_onnx        (const LatheApplied *applied,
                                      GPtrArray          *layers,
                                      GPtrArray          *notes,
                                      int                *out_opset,
                                      GError            **error);

G_END_DECLS
