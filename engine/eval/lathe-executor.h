/* SPDX-License-Identifier: MIT */
#pragma once

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* Runs a LatheGraph. For every distinct set of input shapes (in practice,
 * each batch size) the executor infers shapes once, folds everything that
 * is constant (initializers, Shape, the arithmetic on shapes) and lays out
 * one arena for the rest by liveness, so a batch allocates nothing.
 *
 * Not thread-safe: one executor per worker. The graph is borrowed and must
 * outlive the executor; after changing initializers call
 * lathe_executor_invalidate(). */
typedef struct _LatheExecutor LatheExecutor;

LatheExecutor *lathe_executor_new          (LatheGraph      *graph);
void           lathe_executor_free         (LatheExecutor   *self);
void           lathe_executor_invalidate   (LatheExecutor   *self);

/* Selects (building if needed) the plan for these input shapes; only the
 * dtype, ndim and dims of the given tensors are read. */
gboolean       lathe_executor_prepare      (LatheExecutor   *self,
                                            guint            n_inputs,
                                            LatheTensor    **inputs,
                                            GError         **error);
/* The prepared plan's input tensor i, to be filled in place. */
LatheTensor   *lathe_executor_get_input    (LatheExecutor   *self,
                                            guint            i);
gboolean       lathe_executor_execute      (LatheExecutor   *self,
                                            GError         **error);
/* Values to keep intact until the end of execute(), so they can be read
 * afterwards (activation caches). Drops the cached plans. */
void           lathe_executor_set_keep     (LatheExecutor   *self,
                                            const guint     *value_ids,
                                            guint            n);
/* Runs only the steps after `value_id`'s producer, after the caller wrote
 * that value (lathe_executor_get_value) — valid when it is the only value
 * live across that point and it is kept (lathe_executor_set_keep). */
gboolean       lathe_executor_execute_from (LatheExecutor   *self,
                                            guint            value_id,
                                            GError         **error);
/* prepare + copy the inputs + execute. */
gboolean       lathe_executor_run          (LatheExecutor   *self,
                                            guint            n_inputs,
                                            LatheTensor    **inputs,
                                            GError         **error);
guint          lathe_executor_get_n_outputs (LatheExecutor  *self);
/* Borrowed; valid until the next prepare or run. */
LatheTensor   *lathe_executor_get_output   (LatheExecutor   *self,
                                            guint            i);
/* The current plan's tensor for a graph value (shape always; data for
 * constants and after execute()). Borrowed. */
LatheTensor   *lathe_executor_get_value    (LatheExecutor   *self,
                                            guint            value_id);
/* Whether the current plan folded a value into a constant (an initializer,
 * or computed from constants and shapes only): it is the same for every
 * batch and nothing computes it per batch. */
gboolean       lathe_executor_is_constant  (LatheExecutor   *self,
                                            guint            value_id);
/* Per-node wall time, accumulated over execute() calls while enabled;
 * indexed by node index, in microseconds. */
void           lathe_executor_set_profiling (LatheExecutor  *self,
                                             gboolean        enabled);
const gint64  *lathe_executor_get_profile  (LatheExecutor   *self,
                                            guint           *n_nodes);
/* Bytes of the current plan's arena (activations), for reports. */
gsize          lathe_executor_get_arena_size (LatheExecutor *self);

/* Convenience: a shape for input i with dim 0 replaced by `batch`, from the
 * graph's declared input type. Fails when the input's shape is unknown. */
gboolean       lathe_graph_input_shape_for_batch (LatheGraph *graph,
                                                  guint       i,
                                                  gint64      batch,
                                                  LatheTensor *meta,
                                                  GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheExecutor, lathe_executor_free)

G_END_DECLS
