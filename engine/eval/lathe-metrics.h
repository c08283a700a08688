/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Classification metrics accumulated batch by batch: top-1 and top-5
 * accuracy, per-class accuracy, a confusion matrix and fidelity (agreement
 * of top-1 predictions with a reference model's). A plain struct, owned
 * by one thread at a time; merge partial results with
 * lathe_metrics_merge(). */
typedef struct {
  guint    n_classes;        /* rows and columns of the confusion matrix */

  guint64  total;            /* labelled samples seen */
  guint64  correct;          /* top-1 == label */
  guint64  top5_correct;     /* label among the five largest logits */
  guint64  fidelity_agree;   /* top-1 == reference top-1 */
  guint64  fidelity_total;   /* samples that had a reference */

  guint64 *class_correct;    /* [n_classes], by label */
  guint64 *class_total;      /* [n_classes], by label */
  guint64 *confusion;        /* [n_classes × n_classes]: row label, column prediction */
} LatheMetrics;

/* n_classes must cover both the labels and the model's outputs:
 * MAX (dataset classes, n_outputs). */
LatheMetrics *lathe_metrics_new            (guint               n_classes);
void          lathe_metrics_free           (LatheMetrics       *m);
void          lathe_metrics_reset          (LatheMetrics       *m);

/* logits is [batch, n_outputs] row-major. Top-1 is the first maximum
 * (ties go to the lower index; NaN never wins over a number). The label
 * counts as top-5 when fewer than five logits are strictly greater than
 * its own. A label ≥ n_outputs is always wrong. labels, reference_pred
 * (a reference model's top-1 per row) and pred_out (receives this
 * model's top-1 per row) may each be NULL. */
void          lathe_metrics_add_batch      (LatheMetrics       *m,
                                            const float        *logits,
                                            guint               batch,
                                            guint               n_outputs,
                                            const gint32       *labels,
                                            const gint32       *reference_pred,
                                            gint32             *pred_out);
/* dst and src must have the same n_classes. */
void          lathe_metrics_merge          (LatheMetrics       *dst,
                                            const LatheMetrics *src);

/* Shares in [0, 1]; 0 when nothing has been counted. */
double        lathe_metrics_accuracy       (const LatheMetrics *m);
double        lathe_metrics_top5           (const LatheMetrics *m);
double        lathe_metrics_fidelity       (const LatheMetrics *m);
double        lathe_metrics_class_accuracy (const LatheMetrics *m,
                                            guint               c);
guint64       lathe_metrics_get_confusion  (const LatheMetrics *m,
                                            guint               label,
                                            guint               pred);

/* Wilson score interval for a binomial proportion; z = 1.959964 for 95 %.
 * n = 0 gives [0, 1]. */
void          lathe_wilson_interval        (guint64             successes,
                                            guint64             n,
                                            double              z,
                                            double             *lo,
                                            double             *hi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheMetrics, lathe_metrics_free)

G_END_DECLS
