/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "data/lathe-dataset.h"
#include "eval/lathe-metrics.h"
#include "graph/lathe-graph.h"

G_BEGIN_DECLS

typedef struct {
  guint        batch;         /* samples per forward pass; 0 → 256 */
  guint        limit;         /* first N samples only; 0 → all */
  const float *mean;          /* per channel (or one for all); NULL → 0 */
  const float *std;           /* NULL → 1 */
  guint        n_norm;        /* entries in mean and std */
} LatheEvalOptions;

typedef void (*LatheProgressFunc) (guint    done,
                                   guint    total,
                                   gpointer user_data);

typedef struct {
  LatheMetrics *metrics;
  guint         n_samples;
  guint         n_outputs;     /* classes the model scores */
  double        seconds;       /* wall time of the forward passes only */
  gint32       *predictions;   /* top-1 per sample, n_samples long */
} LatheEvalResult;

void      lathe_eval_result_clear (LatheEvalResult *result);

/* Checks that the data fits the model's first input: the element count of
 * one sample must equal the model's per-sample size. Fills the per-sample
 * input shape and the channel count used for normalisation. */
gboolean  lathe_eval_check_data   (LatheGraph       *graph,
                                   LatheDataset     *data,
                                   guint             n_norm,
                                   guint            *n_channels,
                                   GError          **error);

/* Runs the model over the data (in order, batch by batch) and scores the
 * first output as logits against the labels, and against
 * `reference_pred` (top-1 of a reference model) for fidelity when given.
 * Cancellation is checked between batches. */
gboolean  lathe_evaluate          (LatheGraph             *graph,
                                   LatheDataset           *data,
                                   const LatheEvalOptions *options,
                                   const gint32           *reference_pred,
                                   LatheProgressFunc       progress,
                                   gpointer                progress_data,
                                   GCancellable           *cancellable,
                                   LatheEvalResult        *result,
                                   GError                **error);

G_END_DECLS
