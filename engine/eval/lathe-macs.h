/* SPDX-License-Identifier: MIT */
#pragma once

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* Multiply-accumulates per sample of a model's Conv (any group count,
 * depthwise included), Gemm and MatMul nodes — the ops that hold nearly all
 * of a classifier's arithmetic. BatchNormalization, additions, activations
 * and pools are not counted, nor are nodes the executor folds into
 * constants (they run once, not per sample).
 *
 * `macs` is the dense count of the graph as it stands: for an effective
 * model after width (lathe_apply_plan) it shrinks with the removed units,
 * but pruned weights, which are stored zeros, still count.
 * `macs_nonzero` skips the products with a zero weight (a constant operand
 * that is zero) — what a sparse kernel would have to do; for an operation
 * with no constant operand it equals the dense count. */
typedef struct {
  guint64 macs;
  guint64 macs_nonzero;
} LatheMacs;

/* Counts for one sample. `inputs` are the shapes of the graph's inputs for
 * one sample (dim 0 = 1; only dtype, ndim and dims are read), or NULL for
 * the graph's declared input shapes with the batch dimension set to 1.
 * Shapes come from the executor's inference, so a Reshape or a Flatten in
 * between is followed exactly. Fails as preparing the executor would. */
gboolean lathe_graph_count_macs (LatheGraph   *graph,
                                 guint         n_inputs,
                                 LatheTensor **inputs,
                                 LatheMacs    *out,
                                 GError      **error);

G_END_DECLS
