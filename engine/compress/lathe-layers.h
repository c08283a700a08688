/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* A compressible layer: a constant weight consumed by Conv, Gemm or MatMul,
 * named by the weight initializer. The *output axis* holds the layer's
 * units: 0 for Conv and Gemm with transB=1, 1 for MatMul [K,N] and Gemm
 * with transB=0; the input axis is the other one (for Conv, input
 * channels × kernel).
 *
 * Width. Width removes output units physically, and with them whatever
 * reads those units downstream. lathe_find_layers() follows every layer's
 * units forward through the graph (one pass in graph order):
 *
 *   - BatchNormalization, activations, Dropout/Identity and pools keep each
 *     unit where it is; a BatchNormalization's parameters shrink with it.
 *   - Add, Sub, Mul or Div of two tensors whose channel axes hold the same
 *     units *tie* them: the layers that produced both sides must keep the
 *     same unit indices (a *tie class*). With a constant, the constant
 *     shrinks along the channel axis (or stays, when it is a scalar).
 *   - Concat along the channel axis places each operand's units on a
 *     contiguous slice of the result.
 *   - A depthwise Conv (group = input channels = output channels) keeps each
 *     channel where it is: its weight [C,1,kh,kw], bias and BN shrink with
 *     the units it reads, and the trace continues past it. It gets no width
 *     of its own (width_reason "tied to the layer that feeds it (depthwise)").
 *   - Flatten maps each channel to its H×W columns (input_block).
 *   - A Conv (group 1), Gemm or MatMul reading the units on its input axis
 *     ends the trace there: its input columns shrink (input_layout).
 *
 * Layers tied by Add, or meeting at a Concat, form one *width group* with a
 * single width setting, held by its *leader*, the first member in graph
 * order. The other members carry width_reason "in the width group of
 * <leader>" and a per-layer width on them is an error. Each tie class keeps
 * ⌈w·C⌉ units chosen by importance summed over its members; a Concat
 * operand that is not tied to another keeps ⌈w·C_i⌉ of its own.
 *
 * Anything else on the way (an op width does not follow, the graph input at
 * an identity skip, a graph output, a Reshape into attention heads) fixes
 * the width of the whole group, and every member's width_reason says why. */

typedef enum {
  LATHE_FOLLOW_CONV,        /* a Conv's input channels (weight axis 1) */
  LATHE_FOLLOW_GEMM,        /* a Gemm/MatMul's input axis, one column per unit */
  LATHE_FOLLOW_FLATTENED,   /* a Gemm/MatMul after Flatten: `spatial` columns per unit */
} LatheFollowKind;

/* A run of positions along a channel axis, filled by the units of one tie
 * class in their order: after width, by its kept units. */
typedef struct {
  int    tie;       /* the tie class: index of its first layer */
  gsize  offset;    /* first position on the axis (before width) */
  gsize  units;     /* the tie class's units before width */
} LatheWidthSlice;

/* A constant that shrinks with a width group, other than a layer's own
 * weight and bias: a BatchNormalization parameter (skipped when that BN is
 * folded into its layer) or a per-channel constant of Add/Sub/Mul/Div. */
typedef struct {
  int      node;      /* the BatchNormalization node, or -1 */
  guint    value;     /* the initializer to gather */
  guint    axis;      /* along this axis */
  GArray  *layout;    /* LatheWidthSlice: what fills that axis */
} LatheWidthEdit;

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
  char       *width_reason;  /* why this layer has no width setting of its own, or
                              * NULL: English, for files, the CLI and logs */
  char       *width_reason_local; /* the same reason in the user's language (the
                                   * "lathe" gettext domain), for the app; node
                                   * and op names as in the model; NULL when
                                   * width_reason is */

  /* Width groups (see above). */
  int         group_leader;  /* the leader of the width group that sets this
                              * layer's units (itself when it leads or stands
                              * alone), or -1 when width cannot change them */
  GArray     *group_members; /* on a leader: int indices, in graph order, of
                              * the layers whose units make up the group
                              * (tied depthwise layers are not members);
                              * NULL on every other layer */
  GArray     *group_edits;   /* on a leader: LatheWidthEdit, or NULL */
  int         tie;           /* the first layer of its tie class (itself when
                              * untied); -1 for a depthwise or fixed layer */
  gboolean    depthwise;     /* a depthwise Conv tied to its input */
  GArray     *unit_layout;   /* LatheWidthSlice along its output axis, NULL
                              * when width cannot change its units */
  GArray     *input_layout;  /* LatheWidthSlice along its input axis (for a
                              * Conv: weight axis 1), NULL when width cannot
                              * change its inputs */
  gsize       input_block;   /* input-axis columns per channel: H×W after
                              * Flatten, else 1 */
  int         input_group;   /* leader of the group filling its input axis, or -1 */

  /* The first layer that reads this layer's units, for reports: */
  int         follower;      /* its index, or -1 */
  LatheFollowKind follow_kind;
  gsize       follow_spatial; /* columns per unit for LATHE_FOLLOW_FLATTENED */
} LatheLayer;

void       lathe_layer_free   (LatheLayer *layer);

/* Finds every compressible layer, in graph order, and works out BN folding
 * and width groups (shapes inferred at batch 1). */
GPtrArray *lathe_find_layers  (LatheGraph  *graph,
                               GError     **error);

/* The position of a layer called `name`, or -1. */
int        lathe_layers_index (GPtrArray   *layers,
                               const char  *name);

/* Positions kept along an axis laid out as `layout`, given each tie class's
 * kept units (`kept[tie]`, ascending, `n_kept[tie]` of them; NULL kept[tie]
 * keeps the whole class). Returns a new array of *n_out positions. */
gsize     *lathe_width_layout_positions (GArray        *layout,
                                         gsize * const *kept,
                                         const gsize   *n_kept,
                                         gsize         *n_out);

G_END_DECLS
