/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-layers.h"
#include "compress/lathe-plan.h"
#include "data/lathe-dataset.h"
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
  char               *status;          /* what was applied, or skipped and why: English,
                                        * lathe_layer_result_describe (r, FALSE) */
  char               *width_note;      /* why a width below 1 was not applied, or NULL:
                                        * the layer's width_reason (English) */
  char               *width_note_local; /* the same in the user's language (the
                                         * layer's width_reason_local), or NULL */
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

/* What the plan did to the layer, in words: "4-bit uniform per channel;
 * 50.0 % magnitude-pruned". `translated` FALSE gives the English of
 * result->status (files, the CLI); TRUE translates each phrase through the
 * "lathe" gettext domain, for the app, with the width note's reason from
 * width_note_local (width_note when that is NULL). */
char         *lathe_layer_result_describe (const LatheLayerResult *result,
                                           gboolean                translated);

/* Checks the plan against the layers: unknown names, values out of range,
 * a method parameter that does not apply. Messages name the layer. */
gboolean      lathe_plan_validate (const LathePlan *plan,
                                   GPtrArray       *layers,
                                   GError         **error);

/* How width ranks a unit (a tie class sums over its members). */
typedef enum {
  LATHE_IMPORTANCE_L2,          /* L2 norm of the unit's weights, as they stand
                                 * when its group's turn comes (after upstream
                                 * groups removed its inputs) */
  LATHE_IMPORTANCE_ACTIVATION,  /* mean |activation| of the unit at the layer's
                                 * output (after its BatchNormalization), over
                                 * calibration data run through the source model */
} LatheImportance;

#define LATHE_CALIBRATION_SAMPLES_DEFAULT 512

/* Options beside the plan. Zero-filled means L2 importance. */
typedef struct _LatheApplyOptions {
  LatheImportance  importance;
  LatheDataset    *calibration;          /* ACTIVATION: from the training split */
  guint            calibration_samples;  /* its first N samples; 0 → 512 */
  const float     *mean, *std;           /* input normalisation, as for evaluation */
  guint            n_norm;
  /* The evaluation set's lathe_dataset_get_sha256(): calibration data with
   * the same digest is refused. NULL skips the check. */
  const char      *evaluation_sha256;
} LatheApplyOptions;

/* Keeps, per layer, the effective weight and bias and the layer's result,
 * under a signature of everything that decides them: the resolved settings,
 * the BN fold, the source tensors, the kept units on its output and input
 * axes, the plan's method parameters and, with global sparsity, every
 * layer's signature. Also keeps activation statistics for ACTIVATION
 * importance. Not thread-safe: one cache per worker. */
typedef struct _LatheApplyCache LatheApplyCache;

LatheApplyCache *lathe_apply_cache_new            (void);
void             lathe_apply_cache_free           (LatheApplyCache *cache);
/* Layers pruned and quantized again (not taken from the cache) by the last
 * lathe_apply_plan_full() with this cache. */
guint            lathe_apply_cache_get_recomputed (LatheApplyCache *cache);

/* Width → prune → quantize, after folding BatchNormalization where the plan
 * says so, on a copy of `base`.
 *
 * Width goes group by group, in the order of the groups' leaders: the
 * group's width is its leader's resolved width (none when the leader is
 * skipped); each tie class keeps its ⌈w·C⌉ most important units in their
 * order (ties go to the lower index), and every member's units, tied
 * depthwise layers, BatchNormalization parameters, per-channel constants
 * and readers' input columns shrink with them.
 *
 * With a cache, a layer whose signature is unchanged takes its weight,
 * bias and result from the cache by reference instead of being pruned and
 * quantized again; results are byte-identical either way. Folding and
 * width surgery, which are copies, always run. */
LatheApplied *lathe_apply_plan_full (LatheGraph              *base,
                                     GPtrArray               *layers,
                                     const LathePlan         *plan,
                                     const LatheApplyOptions *options,
                                     LatheApplyCache         *cache,
                                     GError                 **error);

/* lathe_apply_plan_full() with L2 importance and no cache. */
LatheApplied *lathe_apply_plan    (LatheGraph      *base,
                                   GPtrArray       *layers,
                                   const LathePlan *plan,
                                   GError         **error);

/* Stored bytes of a graph's initializers as they are (4·n for float32). */
guint64       lathe_graph_stored_bytes (LatheGraph *graph);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheApplied, lathe_applied_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheApplyCache, lathe_apply_cache_free)

G_END_DECLS
