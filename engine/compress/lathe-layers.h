/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* A compressible layer: a constant weight consumed by Conv, Gemm or MatMul,
 * named by the weight initializer. The *output axis* holds the layer's
 * units: 0 for Conv and Gemm with transB=1, 1 for MatMul [K,N] and Gemm
 * with transB=0; the input axis is the other one (for Conv, input
 * channels × kernel). */

typedef enum {
  LATHE_FOLLOW_CONV,        /* a Conv's input channels (weight axis 1) */
  LATHE_FOLLOW_GEMM,        /* a Gemm/MatMul's input axis, one column per unit */
  LATHE_FOLLOW_FLATTENED,   /* a Gemm/MatMul after Flatten: `spatial` columns per unit */
} LatheFollowKind;

typedef struct {
  char       *name;          /* the weight initializer's name */
  guint       weight_id;
  guint       node;          /* index of the Conv/Gemm/MatMul node in the graph */
  const char *op_type;
  int         out_axis;
  gsize       rows;          /* output units */
  gsize       cols;          /* input-axis elements per unit */
  gsize       spatial;       /* elements per input channel (kh·kw), 1 for Gemm/MatMul */
  gint64      group;         /* Conv groups */
  int         bias_id;       /* value id of the bias, or -1 */
  int         bn_node;       /* a BatchNormalization that can be folded in, or -1 */
  gboolean    is_output;     /* its units are the model's outputs: width fixed */
  char       *width_reason;  /* why width cannot apply, or NULL */
  /* Width: where this layer's units continue (valid when width_reason is NULL). */
  GArray     *bn_between;    /* guint node indices of BatchNormalization on the way */
  int         follower;      /* index into the layer list of the consumer layer */
  LatheFollowKind follow_kind;
  gsize       follow_spatial; /* columns per unit for LATHE_FOLLOW_FLATTENED */
} LatheLayer;

void       lathe_layer_free   (LatheLayer *layer);

/* Finds every compressible layer, in graph order, and works out BN folding
 * and where width can apply (shapes inferred at batch 1). */
GPtrArray *lathe_find_layers  (LatheGraph  *graph,
                               GError     **error);

/* The position of a layer called `name`, or -1. */
int        lathe_layers_index (GPtrArray   *layers,
                               const char  *name);

G_END_DECLS
