/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-layers.h"
#include "compress/lathe-plan.h"
#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* What a plan did to one layer. */
typedef struct {
  char               *name;
  LatheLayerSettings  settings;        /* resolved: defaults with the layer's overrides */
  gboolean            bn_folded;
  gsize               rows_before;     /* output units before width */
  gsize               rows, cols;      /* the weight as stored: units × input axis */
  double              sparsity;        /* share of stored zeros from pruning */
  guint64             params;          /* weights after width */
  guint64             original_bytes;  /* float32 bytes in the source model */
  guint64             packed_bytes;    /* bytes in Lathe's packed layout */
  double              sqnr_db;         /* weight signal-to-error of prune+quantize; INFINITY if exact */
  char               *status;          /* what was applied, or skipped and why */
  LatheQuantized     *quantized;       /* uniform codes (bits ≤ 8), for export */
  gboolean            fp16;
} LatheLayerResult;

typedef struct _LatheApplied {
  LatheGraph  *graph;                  /* the effective model */
  GPtrArray   *results;                /* LatheLayerResult*, in layer order */
  guint64      packed_bytes;           /* every stored tensor in the packed layout */
  guint64      baseline_bytes;         /* every stored tensor of the source model */
} LatheApplied;

void          lathe_applied_free  (LatheApplied *applied);

/* Checks the plan against the layers: unknown names, values out of range,
 * a method parameter that does not apply. Messages name the layer. */
gboolean      lathe_plan_validate (const LathePlan *plan,
                                   GPtrArray       *layers,
                                   GError         **error);

/* Width → prune → quantize, after folding BatchNormalization where the plan
 * says so, on a copy of `base`. */
LatheApplied *lathe_apply_plan    (LatheGraph      *base,
                                   GPtrArray       *layers,
                                   const LathePlan *plan,
                                   GError         **error);

/* Stored bytes of a graph's initializers as they are (4·n for float32). */
guint64       lathe_graph_stored_bytes (LatheGraph *graph);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheApplied, lathe_applied_free)

G_END_DECLS
