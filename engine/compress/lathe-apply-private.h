/* SPDX-License-Identifier: MIT */
#pragma once

#include "compress/lathe-layers.h"
#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* A layer's weight in view order (units × input axis), as apply sees it:
 * a new copy of `w`'s rows × cols floats, transposed when the layer's
 * units are on axis 1. */
float *_lathe_view_extract (const LatheTensor *w,
                            const LatheLayer  *layer,
                            gsize              rows,
                            gsize              cols);

G_END_DECLS
