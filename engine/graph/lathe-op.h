/* SPDX-License-Identifier: MIT */
#pragma once

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* An operator definition. One LatheOpDef serves every opset of an op:
 * `versions` lists the since-versions at which its semantics changed, and a
 * node resolves to the newest one not newer than the model's opset (stored
 * in node->since) so setup() can read the attributes of that version.
 *
 * Life of a node:
 *   setup()  once at load: parse and validate attributes into node->params.
 *   infer()  once per input shape (batch size): fill each output's dtype,
 *            ndim and dims; input tensors always carry dtype and shape, and
 *            carry data only when the input is constant (initializer or
 *            folded). Ask for scratch memory through *workspace.
 *   run()    per batch: compute outputs (already allocated) from inputs.
 * Everything a user can get wrong is caught in setup() or infer(); run()
 * fails only on data-dependent errors (a Gather index out of range). */

typedef enum {
  LATHE_OP_FLAG_NONE       = 0,
  /* Outputs depend on input shapes only (Shape): folded at plan time even
   * when the input is not constant; run() sees inputs without data. */
  LATHE_OP_FLAG_SHAPE_ONLY = 1 << 0,
  /* Output 0 is input 0's bytes reinterpreted (Reshape, Flatten, Squeeze…):
   * the executor lets it share input 0's buffer and run() is not called
   * when it does. */
  LATHE_OP_FLAG_ALIAS      = 1 << 1,
} LatheOpFlags;

struct _LatheOpDef {
  const char   *op_type;
  const int    *versions;        /* ascending, 0-terminated */
  guint         min_inputs;
  guint         max_inputs;
  guint         min_outputs;
  guint         max_outputs;
  guint32       const_inputs;    /* bitmask: inputs that must be constant at infer() */
  LatheOpFlags  flags;
  gboolean    (*setup) (LatheNode     *node,
                        GError       **error);
  gboolean    (*infer) (LatheNode     *node,
                        LatheTensor  **inputs,
                        LatheTensor  **outputs,
                        gsize         *workspace,
                        GError       **error);
  gboolean    (*run)   (LatheNode     *node,
                        LatheTensor  **inputs,
                        LatheTensor  **outputs,
                        gpointer       workspace,
                        GError       **error);
};

/* Looks up op_type in the default domain for `opset`; sets *since. */
const LatheOpDef *lathe_op_lookup       (const char  *op_type,
                                         gint64       opset,
                                         int         *since);
/* NULL-terminated list of every op type the engine runs. */
const char      **lathe_op_list_supported (void);

/* Shared helpers for op implementations. */
gboolean     lathe_broadcast_shape      (const LatheNode *node,
                                         guint        n,
                                         LatheTensor **inputs,
                                         LatheTensor  *out,
                                         GError     **error);
/* Normalises a possibly negative axis against rank; FALSE when out of range. */
gboolean     lathe_normalize_axis       (const LatheNode *node,
                                         gint64       axis,
                                         guint        rank,
                                         guint       *out,
                                         GError     **error);
/* Set dtype and shape of an output from an input. */
void         lathe_tensor_set_meta      (LatheTensor *t,
                                         LatheDType   dtype,
                                         guint        ndim,
                                         const gint64 *dims);
/* Reads a constant integer tensor (int32 or int64) into a gint64 array. */
gint64      *lathe_tensor_to_int64_array (const LatheTensor *t,
                                          gsize            *n_out);

G_END_DECLS
