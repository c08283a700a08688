/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One GError domain per area of the engine. Messages always name the file,
 * node or field at fault and say what was expected. */

#define LATHE_ONNX_ERROR (lathe_onnx_error_quark ())
typedef enum {
  LATHE_ONNX_ERROR_IO,
  LATHE_ONNX_ERROR_PARSE,            /* not a protobuf ModelProto, truncated */
  LATHE_ONNX_ERROR_INVALID,          /* structurally wrong: dangling name, cycle, bad dims */
  LATHE_ONNX_ERROR_UNSUPPORTED_OP,
  LATHE_ONNX_ERROR_UNSUPPORTED_TYPE,
  LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE,
  LATHE_ONNX_ERROR_EXTERNAL_DATA,
} LatheOnnxError;

#define LATHE_GRAPH_ERROR (lathe_graph_error_quark ())
typedef enum {
  LATHE_GRAPH_ERROR_SHAPE,           /* shapes do not fit together */
  LATHE_GRAPH_ERROR_INPUT,           /* caller's input does not fit the model */
  LATHE_GRAPH_ERROR_VALUE,           /* a runtime value is out of range (Gather index…) */
  LATHE_GRAPH_ERROR_OVERFLOW,        /* sizes overflow */
} LatheGraphError;

#define LATHE_DATA_ERROR (lathe_data_error_quark ())
typedef enum {
  LATHE_DATA_ERROR_IO,
  LATHE_DATA_ERROR_FORMAT,           /* bad magic, bad header, truncated */
  LATHE_DATA_ERROR_UNSUPPORTED,      /* dtype or layout we do not read */
  LATHE_DATA_ERROR_MISMATCH,         /* labels vs images, data vs model */
  LATHE_DATA_ERROR_SPEC,             /* a data spec string we cannot parse */
} LatheDataError;

#define LATHE_EVAL_ERROR (lathe_eval_error_quark ())
typedef enum {
  LATHE_EVAL_ERROR_CANCELLED,
  LATHE_EVAL_ERROR_MODEL,            /* the model does not fit evaluation (no labels, output shape) */
} LatheEvalError;

#define LATHE_COMPRESS_ERROR (lathe_compress_error_quark ())
typedef enum {
  LATHE_COMPRESS_ERROR_INVALID,      /* a value out of range or not applicable to the layer */
  LATHE_COMPRESS_ERROR_UNSUPPORTED,  /* a valid request this engine does not implement */
} LatheCompressError;

#define LATHE_PIPELINE_ERROR (lathe_pipeline_error_quark ())
typedef enum {
  LATHE_PIPELINE_ERROR_PARSE,        /* not JSON, truncated, not an object */
  LATHE_PIPELINE_ERROR_INVALID,      /* unknown key, wrong type, out-of-range value, wrong format */
  LATHE_PIPELINE_ERROR_VERSION,      /* a version this engine does not read */
} LathePipelineError;

#define LATHE_TRAIN_ERROR (lathe_train_error_quark ())
typedef enum {
  LATHE_TRAIN_ERROR_UNSUPPORTED,     /* an op, shape or setting training does not handle */
  LATHE_TRAIN_ERROR_DATA,            /* no training split, no labels while alpha < 1, data vs model */
  LATHE_TRAIN_ERROR_INVALID,         /* an option out of range, a layer left without units */
  LATHE_TRAIN_ERROR_DIVERGED,        /* the loss became NaN or infinite */
  LATHE_TRAIN_ERROR_CANCELLED,
} LatheTrainError;

GQuark lathe_onnx_error_quark  (void);
GQuark lathe_graph_error_quark (void);
GQuark lathe_data_error_quark  (void);
GQuark lathe_eval_error_quark  (void);
GQuark lathe_compress_error_quark (void);
GQuark lathe_pipeline_error_quark (void);
GQuark lathe_train_error_quark (void);

G_END_DECLS
