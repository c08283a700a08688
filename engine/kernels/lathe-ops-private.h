/* SPDX-License-Identifier: MIT */
#pragma once

#include "graph/lathe-op.h"

G_BEGIN_DECLS

/* Each group file exports a NULL-terminated table of its operators; the
 * registry in graph/lathe-op.c walks these tables. */
extern const LatheOpDef * const _lathe_ops_math[];
extern const LatheOpDef * const _lathe_ops_gemm[];
extern const LatheOpDef * const _lathe_ops_norm[];
extern const LatheOpDef * const _lathe_ops_shape[];
extern const LatheOpDef * const _lathe_ops_conv[];
extern const LatheOpDef * const _lathe_ops_quant[];

/* The `shape` group is split over two files: lathe-ops-shape.c holds the
 * table and these helpers, lathe-ops-tensor.c the definitions below. */
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_concat;
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_gather;
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_slice;
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_constant;
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_constant_of_shape;
G_GNUC_INTERNAL extern const LatheOpDef _lathe_op_cast;

G_GNUC_INTERNAL gboolean _lathe_shape_read_ints (const LatheNode    *node,
                                                 const LatheTensor  *t,
                                                 const char         *what,
                                                 gint64            **values,
                                                 gsize              *n,
                                                 GError            **error);
G_GNUC_INTERNAL gboolean _lathe_shape_check_storable (const LatheNode   *node,
                                                      const LatheTensor *t,
                                                      GError           **error);
G_GNUC_INTERNAL gboolean _lathe_shape_check_rank (const LatheNode  *node,
                                                  gsize             rank,
                                                  GError          **error);

G_END_DECLS
