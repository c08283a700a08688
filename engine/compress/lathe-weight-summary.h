/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "compress/lathe-apply.h"

G_BEGIN_DECLS

/* What a plan did to one layer's weights, for a teaching view: the
 * distribution of the weights it started from, the values the quantizer
 * left them on, and where pruning cut. Everything is measured from what
 * lathe_apply_plan_full() produced (the stored codes, the effective
 * weights); nothing re-implements a quantizer or a pruner.
 *
 * "The weights it started from" are the layer's weights after BN folding
 * and width, before pruning and quantization: the source initializer when
 * the layer was neither folded nor narrowed, otherwise the same plan
 * applied again at 32 bits with no pruning. The pruned positions are the
 * ones that were nonzero there and are zero in the plan applied at 32 bits
 * with its pruning (quantization alone can also round small weights to
 * zero; those are not pruned). */
typedef struct {
  char              *layer;          /* the weight initializer's name */
  gsize              rows, cols;     /* the weight as stored (view order) */

  /* Histogram of the weights before pruning and quantization, n_bins
   * equal bins over [lo, hi] (the weights' min and max; widened a little
   * when they are equal). */
  guint              n_bins;
  double             lo, hi;
  guint64           *counts;
  guint64            max_count;

  /* Quantization. bits is the resolved setting: 32 (off, or a skipped
   * layer), 16 (float16) or 1 … 8. */
  int                bits;
  gboolean           skipped;
  gboolean           palette;        /* levels are codebook entries */
  LatheGranularity   granularity;
  gboolean           affine;
  /* The levels of one scale (or codebook): the whole tensor's, or one
   * output unit's (per channel), or one group of one unit. Ascending;
   * none for float16/32. */
  guint              n_levels;
  double            *levels;
  guint64           *level_counts;   /* weights of that scope on each level */
  gssize             scale_index;    /* which scale or codebook; -1 per tensor */
  gsize              scope_row;      /* its output unit (per channel, group) */
  gsize              scope_col;      /* its first column in that unit (group) */
  gsize              scope_cols;     /* its columns (cols for a whole unit) */
  gsize              n_scopes;       /* how many there are to choose from */
  double             clip_lo, clip_hi; /* lowest and highest level, NAN without levels */

  /* Pruning. */
  LathePattern       pattern;
  double             sparsity;       /* the result's share of pruned weights */
  guint64            n_pruned;       /* weights pruning took from nonzero to zero */
  double             threshold;      /* the largest |w| it pruned; NAN when none */
} LatheWeightSummary;

#define LATHE_WEIGHT_SUMMARY_BINS_DEFAULT 64

/* Summarises layer `layer` of `applied`, which lathe_apply_plan_full()
 * made from `source` (with `layers`, `plan` and `options`, which are used
 * again when a reference is needed; options may be NULL for L2 importance).
 *
 * scale_index picks the scale (per channel: the unit; groups: unit ×
 * groups-per-unit + group; palette per channel: the unit's codebook);
 * -1 picks the one with the widest range. Ignored per tensor.
 *
 * Errors (LATHE_COMPRESS_ERROR_INVALID): no such layer, a layer `applied`
 * has no result for, scale_index beyond the scales, n_bins 0, a layer
 * narrowed by activation importance without options for it; and whatever
 * applying the reference plans reports.
 *
 * Cost: nothing is applied for a layer neither folded, narrowed nor pruned;
 * otherwise one or two applies of the whole plan (tests/bench). */
LatheWeightSummary *lathe_weight_summary_new  (LatheGraph              *source,
                                               GPtrArray               *layers,
                                               const LathePlan         *plan,
                                               const LatheApplyOptions *options,
                                               const LatheApplied      *applied,
                                               const char              *layer,
                                               guint                    n_bins,
                                               gssize                   scale_index,
                                               GError                 **error);
void                lathe_weight_summary_free (LatheWeightSummary      *summary);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheWeightSummary, lathe_weight_summary_free)

G_END_DECLS
