/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-compress-types.h"
#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* IR → ONNX. The writer keeps the graph's inputs and outputs (names,
 * declared types, shapes; a symbolic dim 0 is written as a dim_param,
 * "batch" unless the graph names it), every node with its attributes,
 * every initializer (raw_data, little-endian, shapes taken from the tensors
 * themselves, so a width change is written as it is), the metadata and the
 * model doc string; producer_name is "lathe". The same graph and options
 * always give the same bytes.
 *
 * A weight may be written in a compressed form:
 *
 * - quantized: the codes become an integer initializer "<name>.q" feeding a
 *   DequantizeLinear node "<name>.dequantize" whose output keeps the weight's
 *   name, with "<name>.scale" (float32) and, for affine codes only,
 *   "<name>.zero_point". Per-tensor scales need opset 10, per-channel
 *   (per-axis, axis = out_axis) opset 13, groups (blocked, block_size along
 *   the input axis) opset 21. Codes of ≤ 4 bits are stored as INT4
 *   (symmetric) or UINT4 (affine), two per byte, when the model can be at
 *   opset 21: a model at opset 13…20 is upgraded to opset 21 and IR
 *   version 10 (see below); otherwise INT8 / UINT8 containers are used at
 *   the model's own opset. A layout the written opset cannot express is
 *   written as the dequantized float32 values instead, with a note.
 *   For groups on a weight with out_axis 0 and more than two dimensions
 *   (Conv [Cout, Cin, kh, kw]) a group covers G input channels × kh × kw
 *   (group_len = G · kh · kw): the scales have the shape
 *   [Cout, ⌈Cin/G⌉, kh, kw], each group's scale repeated over the kernel.
 * - fp16: a FLOAT16 initializer "<name>.fp16" and a Cast (to = float)
 *   node "<name>.cast" producing the weight's name.
 *
 * Upgrading to opset 21 handles the ops whose form changed on the way:
 * ReduceMean is rewritten (opset 18: the axes attribute becomes an int64
 * initializer "<node>.axes" fed as input 1); BatchNormalization is kept
 * when it has only its Y output (opset 14 gave the other outputs to
 * training mode) and refused otherwise. Every other op the engine runs
 * (Add Sub Mul Div Pow Sqrt Erf Relu LeakyRelu Sigmoid Tanh Clip Gemm
 * MatMul Conv LayerNormalization Softmax LogSoftmax Pad MaxPool AveragePool
 * GlobalAveragePool Reshape Flatten Squeeze Unsqueeze Identity Dropout
 * Shape Transpose Concat Gather Slice Constant ConstantOfShape Cast
 * DequantizeLinear) keeps its form from opset 13 to 21: new versions only
 * added types, or attributes whose default keeps the old meaning. A node
 * of any other op type or domain is refused with a GError naming it.
 *
 * Errors are in LATHE_ONNX_ERROR and name the node or initializer. */

typedef struct {
  LatheQuantized *quantized;  /* uniform codes → integer initializer + DequantizeLinear; NULL: store floats */
  int             out_axis;   /* output-unit axis of the weight tensor: 0 (Conv, Gemm transB=1) or 1 (MatMul [K,N], Gemm transB=0) */
  gboolean        fp16;       /* store as FLOAT16 and Cast to float */
} LatheExportWeight;

typedef struct {
  GHashTable *weights;        /* initializer name → LatheExportWeight*; others are written as they are */
  GPtrArray  *notes;          /* out (nullable): one human-readable sentence per decision, for the report;
                               * the writer appends g_malloc'd strings (create it with g_free as free func) */
  int         out_opset;      /* out: the opset written */
} LatheExportOptions;

/* `options` (nullable) is not const: the writer fills its out fields
 * (notes, out_opset). */
GBytes *lathe_onnx_serialize (LatheGraph          *graph,
                              LatheExportOptions  *options,
                              GError             **error);

G_END_DECLS
