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

G_END_DECLS
