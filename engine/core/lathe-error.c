/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-core"

#include "lathe-error.h"

G_DEFINE_QUARK (lathe-onnx-error-quark, lathe_onnx_error)
G_DEFINE_QUARK (lathe-graph-error-quark, lathe_graph_error)
G_DEFINE_QUARK (lathe-data-error-quark, lathe_data_error)
G_DEFINE_QUARK (lathe-eval-error-quark, lathe_eval_error)
G_DEFINE_QUARK (lathe-compress-error-quark, lathe_compress_error)
G_DEFINE_QUARK (lathe-pipeline-error-quark, lathe_pipeline_error)
G_DEFINE_QUARK (lathe-train-error-quark, lathe_train_error)
