/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-eval"

#include <math.h>
#include <string.h>

#include "eval/lathe-metrics.h"

LatheMetrics *
lathe_metrics_new (guint n_classes)
{
  LatheMetrics *m;

  g_return_val_if_fail (n_classes > 0, NULL);
  g_return_val_if_fail ((guint64) n_classes * n_classes <= G_MAXSIZE / sizeof (guint64), NULL);

  m = g_new0 (LatheMetrics, 1);
  m->n_classes = n_classes;
  m->class_correct = g_new0 (guint64, n_classes);
  m->class_total = g_new0 (guint64, n_classes);
  m->confusion = g_new0 (guint64, (gsize) n_classes * n_classes);
  return m;
}

void
lathe_metrics_free (LatheMetrics *m)
{
  if (m == NULL)
    return;
  g_free (m->class_correct);
  g_free (m->class_total);
  g_free (m->confusion);
  g_free (m);
}

void
lathe_metrics_reset (LatheMetrics *m)
{
  gsize n;

  g_return_if_fail (m != NULL);
  n = m->n_classes;
  m->total = m->correct = m->top5_correct = 0;
  m->fidelity_agree = m->fidelity_total = 0;
  memset (m->class_correct, 0, n * sizeof (guint64));
  memset (m->class_total, 0, n * sizeof (guint64));
  memset (m->confusion, 0, n * n * sizeof (guint64));
}

/* The first maximum; a NaN is beaten by any number so that one bad logit
 * does not decide the prediction. */
static guint
row_argmax (const float *row,
            guint        n)
{
  guint best = 0;

  for (guint j = 1; j < n; j++)
    if (row[j] > row[best] || (isnan (row[best]) && !isnan (row[j])))
      best = j;
  return best;
}

static gboolean
row_in_top5 (const float *row,
             guint        n,
             guint        label)
{
  float v = row[label];
  guint ahead = 0;

  if (isnan (v))
    return FALSE;
  /* Only logits strictly greater count as ahead, so ties favour the label. */
  for (guint j = 0; j < n; j++)
    if (row[j] > v && ++ahead >= 5)
      return FALSE;
  return TRUE;
}

void
lathe_metrics_add_batch (LatheMetrics  *m,
                         const float   *logits,
                         guint          batch,
                         guint          n_outputs,
                         const gint32  *labels,
                         const gint32  *reference_pred,
                         gint32        *pred_out)
{
  guint n;

  g_return_if_fail (m != NULL);
  g_return_if_fail (logits != NULL || batch == 0);
  g_return_if_fail (n_outputs > 0 && n_outputs <= m->n_classes);

  n = m->n_classes;
  /* Validate before counting anything, so a bad batch leaves m untouched. */
  if (labels != NULL)
    for (guint i = 0; i < batch; i++)
      g_return_if_fail (labels[i] >= 0 && (guint) labels[i] < n);

  for (guint i = 0; i < batch; i++)
    {
      const float *row = logits + (gsize) i * n_outputs;
      guint pred = row_argmax (row, n_outputs);

      if (pred_out != NULL)
        pred_out[i] = (gint32) pred;

      if (labels != NULL)
        {
          guint label = (guint) labels[i];
          gboolean hit = pred == label;

          m->total++;
          m->correct += hit;
          m->class_total[label]++;
          m->class_correct[label] += hit;
          m->confusion[(gsize) label * n + pred]++;
          /* A label the model has no output for is never in its top 5. */
          if (label < n_outputs && row_in_top5 (row, n_outputs, label))
            m->top5_correct++;
        }

      if (reference_pred != NULL)
        {
          m->fidelity_total++;
          m->fidelity_agree += reference_pred[i] == (gint32) pred;
        }
    }
}

void
lathe_metrics_merge (LatheMetrics       *dst,
                     const LatheMetrics *src)
{
  gsize n;

  g_return_if_fail (dst != NULL && src != NULL);
  g_return_if_fail (dst->n_classes == src->n_classes);

  n = dst->n_classes;
  dst->total += src->total;
  dst->correct += src->correct;
  dst->top5_correct += src->top5_correct;
  dst->fidelity_agree += src->fidelity_agree;
  dst->fidelity_total += src->fidelity_total;
  for (gsize c = 0; c < n; c++)
    {
      dst->class_correct[c] += src->class_correct[c];
      dst->class_total[c] += src->class_total[c];
    }
  for (gsize k = 0; k < n * n; k++)
    dst->confusion[k] += src->confusion[k];
}

static double
share (guint64 part,
       guint64 whole)
{
  return whole > 0 ? (double) part / (double) whole : 0.0;
}

double
lathe_metrics_accuracy (const LatheMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0.0);
  return share (m->correct, m->total);
}

double
lathe_metrics_top5 (const LatheMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0.0);
  return share (m->top5_correct, m->total);
}

double
lathe_metrics_fidelity (const LatheMetrics *m)
{
  g_return_val_if_fail (m != NULL, 0.0);
  return share (m->fidelity_agree, m->fidelity_total);
}

double
lathe_metrics_class_accuracy (const LatheMetrics *m,
                              guint               c)
{
  g_return_val_if_fail (m != NULL, 0.0);
  g_return_val_if_fail (c < m->n_classes, 0.0);
  return share (m->class_correct[c], m->class_total[c]);
}

guint64
lathe_metrics_get_confusion (const LatheMetrics *m,
                             guint               label,
                             guint               pred)
{
  g_return_val_if_fail (m != NULL, 0);
  g_return_val_if_fail (label < m->n_classes && pred < m->n_classes, 0);
  return m->confusion[(gsize) label * m->n_classes + pred];
}

void
lathe_wilson_interval (guint64  successes,
                       guint64  n,
                       double   z,
                       double  *lo,
                       double  *hi)
{
  double p, z2n, denom, centre, half;

  g_return_if_fail (successes <= n);
  g_return_if_fail (lo != NULL && hi != NULL);

  if (n == 0)
    {
      *lo = 0.0;
      *hi = 1.0;
      return;
    }

  /* Unlike p ± z·sqrt(p(1-p)/n), stays inside [0, 1] and is honest at
   * p = 0 or 1, which matters for the small early subsets. */
  p = (double) successes / (double) n;
  z2n = z * z / (double) n;
  denom = 1.0 + z2n;
  centre = (p + z2n / 2.0) / denom;
  half = z * sqrt (p * (1.0 - p) / (double) n + z2n / (4.0 * (double) n)) / denom;
  *lo = MAX (0.0, centre - half);
  *hi = MIN (1.0, centre + half);
}
