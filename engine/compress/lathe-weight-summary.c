/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/lathe-weight-summary.h"
#include "compress/lathe-apply-private.h"
#include "core/lathe-error.h"

void
lathe_weight_summary_free (LatheWeightSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->layer);
  g_free (summary->counts);
  g_free (summary->levels);
  g_free (summary->level_counts);
  g_free (summary);
}

/* A layer's weight in view order (units × input axis), as apply sees it. */
static float *
extract (LatheGraph       *graph,
         const LatheLayer *layer,
         gsize             rows,
         gsize             cols,
         GError          **error)
{
  LatheValue *value = lathe_graph_value (graph, layer->weight_id);
  const LatheTensor *w = value->initializer;

  if (w == NULL || w->dtype != LATHE_DTYPE_FLOAT || w->n != rows * cols)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "layer '%s': the weight is not a float tensor of %" G_GSIZE_FORMAT " × %" G_GSIZE_FORMAT
                   " elements in this model", layer->name, rows, cols);
      return NULL;
    }
  return _lathe_view_extract (w, layer, rows, cols);
}

static void
settings_unquantized (LatheLayerSettings *s,
                      gboolean            unpruned)
{
  s->bits = 32;
  if (unpruned)
    {
      s->sparsity = 0.0;
      s->pattern = LATHE_PATTERN_UNSTRUCTURED;
    }
}

/* `plan` at 32 bits, and without pruning when `unpruned`: its width and
 * folding stay, so its layer weights are the ones compression started from
 * (or those after pruning only). Width is decided before pruning, so both
 * keep the same units. */
static float *
reference_weights (LatheGraph              *source,
                   GPtrArray               *layers,
                   const LathePlan         *plan,
                   const LatheApplyOptions *options,
                   const LatheLayer        *layer,
                   gsize                    rows,
                   gsize                    cols,
                   gboolean                 unpruned,
                   GError                 **error)
{
  g_autoptr(LathePlan) ref = lathe_plan_copy (plan);
  g_autoptr(LatheApplied) applied = NULL;
  GHashTableIter iter;
  gpointer value;

  settings_unquantized (&ref->defaults, unpruned);
  g_hash_table_iter_init (&iter, ref->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    settings_unquantized (value, unpruned);
  if (unpruned)
    ref->global_sparsity = FALSE;
  applied = lathe_apply_plan_full (source, layers, ref, options, NULL, error);
  if (applied == NULL)
    return NULL;
  return extract (applied->graph, layer, rows, cols, error);
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Uniform codes: every level of the chosen scale, with how many of its
 * weights sit on each. */
static gboolean
uniform_levels (LatheWeightSummary   *s,
                const LatheQuantized *q,
                gssize                scale_index,
                GError              **error)
{
  gint32 qmin, qmax;
  g_autofree guint64 *hist = NULL;
  gsize first = 0, count = q->rows * q->cols;
  gint32 zp = 0;
  float scale;
  guint n = 0;

  if (q->bits == 1)
    qmin = -1, qmax = 1;
  else if (q->affine)
    qmin = 0, qmax = (1 << q->bits) - 1;
  else
    qmax = (1 << (q->bits - 1)) - 1, qmin = -qmax;

  s->n_scopes = q->granularity == LATHE_GRANULARITY_TENSOR ? 1 : q->n_scales;
  if (q->granularity == LATHE_GRANULARITY_TENSOR)
    scale_index = 0;
  else if (scale_index < 0)
    {
      /* The widest range: every scale spans the same codes. */
      scale_index = 0;
      for (gsize i = 1; i < q->n_scales; i++)
        if (q->scales[i] > q->scales[scale_index])
          scale_index = (gssize) i;
    }
  else if ((gsize) scale_index >= q->n_scales)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "layer '%s': scale %" G_GSSIZE_FORMAT " does not exist (it has %" G_GSIZE_FORMAT ")",
                   s->layer, scale_index, q->n_scales);
      return FALSE;
    }

  scale = q->scales[scale_index];
  zp = q->zero_points ? q->zero_points[scale_index] : 0;
  if (q->granularity != LATHE_GRANULARITY_TENSOR)
    {
      gsize row = (gsize) scale_index / q->scales_per_row;
      gsize group = (gsize) scale_index % q->scales_per_row;
      gsize len = q->granularity == LATHE_GRANULARITY_GROUP ? q->group_len : q->cols;

      s->scale_index = scale_index;
      s->scope_row = row;
      s->scope_col = group * len;
      s->scope_cols = MIN (len, q->cols - s->scope_col);
    }

  hist = g_new0 (guint64, qmax - qmin + 1);
  if (q->granularity == LATHE_GRANULARITY_TENSOR)
    {
      for (gsize i = 0; i < count; i++)
        hist[CLAMP (q->codes[first + i], qmin, qmax) - qmin]++;
    }
  else
    {
      first = s->scope_row * q->cols + s->scope_col;
      for (gsize i = 0; i < s->scope_cols; i++)
        hist[CLAMP (q->codes[first + i], qmin, qmax) - qmin]++;
    }

  s->levels = g_new (double, qmax - qmin + 1);
  s->level_counts = g_new (guint64, qmax - qmin + 1);
  for (gint32 c = qmin; c <= qmax; c++)
    {
      /* A 1-bit code 0 is only a weight that was 0 already. */
      if (q->bits == 1 && c == 0 && hist[c - qmin] == 0)
        continue;
      /* What the quantizer stores back: (q − zp) · s in float32. */
      s->levels[n] = (float) (c - zp) * scale;
      s->level_counts[n] = hist[c - qmin];
      n++;
    }
  s->n_levels = n;
  return TRUE;
}

/* A palette (or any other quantizer that keeps no codes): the distinct
 * values the kept weights took, per tensor or in one unit. */
static gboolean
distinct_levels (LatheWeightSummary *s,
                 const float        *after,
                 const guint8       *pruned,
                 gboolean            per_row,
                 gssize              scale_index,
                 GError            **error)
{
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  gsize first = 0, count = s->rows * s->cols;

  s->n_scopes = per_row ? s->rows : 1;
  if (per_row)
    {
      if (scale_index >= 0 && (gsize) scale_index >= s->rows)
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "layer '%s': codebook %" G_GSSIZE_FORMAT " does not exist (it has %" G_GSIZE_FORMAT ")",
                       s->layer, scale_index, s->rows);
          return FALSE;
        }
      if (scale_index < 0)
        {
          double widest = -1;
          scale_index = 0;
          for (gsize r = 0; r < s->rows; r++)
            {
              double lo = INFINITY, hi = -INFINITY;
              for (gsize k = 0; k < s->cols; k++)
                if (!pruned[r * s->cols + k])
                  {
                    lo = MIN (lo, after[r * s->cols + k]);
                    hi = MAX (hi, after[r * s->cols + k]);
                  }
              if (hi - lo > widest)
                widest = hi - lo, scale_index = (gssize) r;
            }
        }
      s->scale_index = scale_index;
      s->scope_row = (gsize) scale_index;
      s->scope_col = 0;
      s->scope_cols = s->cols;
      first = s->scope_row * s->cols;
      count = s->cols;
    }

  for (gsize i = first; i < first + count; i++)
    if (!pruned[i])
      {
        double v = after[i];
        g_array_append_val (values, v);
      }
  qsort (values->data, values->len, sizeof (double), compare_double);

  s->levels = g_new (double, MAX (values->len, 1));
  s->level_counts = g_new0 (guint64, MAX (values->len, 1));
  for (guint i = 0; i < values->len; i++)
    {
      double v = g_array_index (values, double, i);
      if (s->n_levels == 0 || s->levels[s->n_levels - 1] != v)
        s->levels[s->n_levels++] = v;
      s->level_counts[s->n_levels - 1]++;
    }
  return TRUE;
}

LatheWeightSummary *
lathe_weight_summary_new (LatheGraph              *source,
                          GPtrArray               *layers,
                          const LathePlan         *plan,
                          const LatheApplyOptions *options,
                          const LatheApplied      *applied,
                          const char              *layer,
                          guint                    n_bins,
                          gssize                   scale_index,
                          GError                 **error)
{
  g_autoptr(LatheWeightSummary) s = NULL;
  const LatheLayerResult *r = NULL;
  const LatheLayer *L;
  g_autofree float *before = NULL;
  g_autofree float *after = NULL;
  g_autofree float *pruned_only = NULL;
  g_autofree guint8 *pruned = NULL;
  gsize n;
  double lo = INFINITY, hi = -INFINITY;
  int index;

  g_return_val_if_fail (source != NULL && layers != NULL && plan != NULL && applied != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  index = lathe_layers_index (layers, layer);
  if (index < 0)
    {
      g_autoptr(GString) names = g_string_new (NULL);
      for (guint i = 0; i < layers->len; i++)
        g_string_append_printf (names, "%s%s", i ? ", " : "",
                                ((LatheLayer *) g_ptr_array_index (layers, i))->name);
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "the model has no layer '%s' (its layers: %s)", layer, names->str);
      return NULL;
    }
  if (n_bins == 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "layer '%s': a histogram needs at least one bin", layer);
      return NULL;
    }
  L = g_ptr_array_index (layers, index);
  for (guint i = 0; i < applied->results->len && r == NULL; i++)
    {
      const LatheLayerResult *ri = g_ptr_array_index (applied->results, i);
      if (g_str_equal (ri->name, layer))
        r = ri;
    }
  if (r == NULL)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "layer '%s': the applied plan has no result for it", layer);
      return NULL;
    }

  s = g_new0 (LatheWeightSummary, 1);
  s->layer = g_strdup (layer);
  s->rows = r->rows;
  s->cols = r->cols;
  s->bits = r->settings.skip ? 32 : r->settings.bits;
  s->skipped = r->settings.skip;
  s->granularity = r->settings.granularity;
  s->affine = r->quantized != NULL && r->quantized->affine;
  s->pattern = r->settings.pattern;
  s->sparsity = r->sparsity;
  s->scale_index = -1;
  s->scope_cols = r->cols;
  s->n_scopes = 1;
  s->clip_lo = s->clip_hi = NAN;
  s->threshold = NAN;
  n = r->rows * r->cols;

  if (!(after = extract (applied->graph, L, r->rows, r->cols, error)))
    return NULL;
  if (!r->bn_folded && r->rows == L->rows && r->cols == L->cols)
    before = extract (source, L, r->rows, r->cols, error);
  else if ((r->rows != L->rows || r->cols != L->cols) && plan->activation_importance &&
           (options == NULL || options->importance != LATHE_IMPORTANCE_ACTIVATION))
    {
      /* Applied again with L2 importance, width would keep other units. */
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "layer '%s': width ranked units by activation; the weights it started from need "
                   "the calibration options the plan was applied with", layer);
      return NULL;
    }
  else
    before = reference_weights (source, layers, plan, options, L, r->rows, r->cols, TRUE, error);
  if (before == NULL)
    return NULL;

  /* Pruned: nonzero before, zero after pruning alone. */
  pruned = g_new0 (guint8, MAX (n, 1));
  if (r->sparsity > 0 && !s->skipped)
    {
      const float *p = after;
      if (s->bits != 32)
        {
          if (!(pruned_only = reference_weights (source, layers, plan, options, L, r->rows, r->cols, FALSE, error)))
            return NULL;
          p = pruned_only;
        }
      for (gsize i = 0; i < n; i++)
        if (before[i] != 0.0f && p[i] == 0.0f)
          {
            pruned[i] = 1;
            s->n_pruned++;
            s->threshold = isnan (s->threshold) ? fabs (before[i]) : MAX (s->threshold, fabs (before[i]));
          }
    }

  /* Histogram of where compression started. */
  for (gsize i = 0; i < n; i++)
    {
      lo = MIN (lo, before[i]);
      hi = MAX (hi, before[i]);
    }
  if (n == 0)
    lo = hi = 0;
  if (!(hi > lo))
    {
      double pad = fabs (lo) > 0 ? fabs (lo) * 0.5 : 1.0;
      lo -= pad;
      hi += pad;
    }
  s->n_bins = n_bins;
  s->lo = lo;
  s->hi = hi;
  s->counts = g_new0 (guint64, n_bins);
  for (gsize i = 0; i < n; i++)
    {
      gssize b = (gssize) floor ((before[i] - lo) / (hi - lo) * n_bins);
      b = CLAMP (b, 0, (gssize) n_bins - 1);
      s->counts[b]++;
    }
  for (guint b = 0; b < n_bins; b++)
    s->max_count = MAX (s->max_count, s->counts[b]);

  /* Levels. */
  if (!s->skipped && s->bits < 16)
    {
      gboolean ok;
      if (r->quantized != NULL)
        ok = uniform_levels (s, r->quantized, scale_index, error);
      else
        {
          s->palette = TRUE;
          ok = distinct_levels (s, after, pruned, s->granularity == LATHE_GRANULARITY_CHANNEL,
                                scale_index, error);
        }
      if (!ok)
        return NULL;
      if (s->n_levels > 0)
        {
          s->clip_lo = s->levels[0];
          s->clip_hi = s->levels[s->n_levels - 1];
        }
    }

  return g_steal_pointer (&s);
}
