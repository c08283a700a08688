/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* ONNX → IR. `base_dir` resolves external data; NULL forbids it. The
 * `what` string names the source in error messages (usually the path). */
LatheGraph  *lathe_onnx_parse_model   (const guint8  *data,
                                       gsize          len,
                                       const char    *what,
                                       const char    *base_dir,
                                       GError       **error);
LatheGraph  *lathe_onnx_load_file     (const char    *path,
                                       GError       **error);
/* A serialized TensorProto (the conformance suite's .pb files). */
LatheTensor *lathe_onnx_load_tensor_file (const char *path,
                                          char      **name_out,
                                          GError    **error);

G_END_DECLS
