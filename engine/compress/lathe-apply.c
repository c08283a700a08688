/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <math.h>
#include <string.h>

#include "compress/lathe-apply.h"
#include "compress/lathe-prune.h"
#include "compress/lathe-quant.h"
#include "compress/lathe-size.h"
#include "core/lathe-error.h"
#include "graph/lathe-op.h"

#define PALETTE_ITERATIONS_DEFAULT 20

static const int group_sizes[] = LATHE_GROUP_SIZES;

static void
layer_result_free (LatheLayerResult *r)
{
  g_free (r->name);
  lathe_layer_settings_clear (&r->settings);
  g_free (r->status);
  g_clear_pointer (&r->quantized, lathe_quantized_free);
  g_free (r);
}

void
lathe_applied_free (LatheApplied *applied)
{
  if (applied == NULL)
    return;
  g_clear_pointer (&applied->graph, lathe_graph_free);
  g_clear_pointer (&applied->results, g_ptr_array_unref);
  g_free (applied);
}

guint64
lathe_graph_stored_bytes (LatheGraph *graph)
{
  guint64 total = 0;

  for (guint v = 0; v < graph->values->len; v++)
    {
      LatheValue *value = lathe_graph_value (graph, v);
      if (value->kind == LATHE_VALUE_INITIALIZER)
        total += lathe_tensor_nbytes (value->initializer);
    }
  return total;
}

static gboolean
fail (GError    **error,
      const char *layer,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError    **error,
      const char *layer,
      const char *format,
      ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
               "layer '%s': %s", layer, msg);
  return FALSE;
}

static int
plan_int_param (const LathePlan *plan,
                const char      *key,
                int              fallback)
{
  const char *v = g_hash_table_lookup (plan->params, key);
  return v ? (int) g_ascii_strtoll (v, NULL, 10) : fallback;
}

gboolean
lathe_plan_validate (const LathePlan  *plan,
                     GPtrArray        *layers,
                     GError          **error)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (lathe_layers_index (layers, key) < 0)
      {
        g_autoptr(GString) names = g_string_new (NULL);
        for (guint i = 0; i < layers->len; i++)
          g_string_append_printf (names, "%s%s", i ? ", " : "",
                                  ((LatheLayer *) g_ptr_array_index (layers, i))->name);
        g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                     "the model has no layer '%s' (its layers: %s)", (char *) key, names->str);
        return FALSE;
      }

  g_hash_table_iter_init (&iter, plan->params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (g_str_equal (key, "palette.iterations"))
        {
          guint64 n;
          if (!g_ascii_string_to_unsigned (value, 10, 1, 1000, &n, NULL))
            {
              g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                           "palette.iterations=%s: expected a whole number from 1 to 1000", (char *) value);
              return FALSE;
            }
        }
      else if (g_str_equal (key, "channel.norm"))
        {
          if (!g_str_equal (value, "l1") && !g_str_equal (value, "l2"))
            {
              g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                           "channel.norm=%s: expected l1 or l2", (char *) value);
              return FALSE;
            }
        }
      else
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "unknown method parameter '%s' (known: palette.iterations, channel.norm)",
                       (char *) key);
          return FALSE;
        }
    }

  for (guint i = 0; i < layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      LatheLayerSettings *over = g_hash_table_lookup (plan->layers, layer->name);
      g_auto(LatheLayerSettings) s = { 0 };
      gboolean palette;

      lathe_plan_resolve (plan, layer->name, &s);
      if (s.skip)
        continue;
      palette = g_strcmp0 (s.quantizer, "palette") == 0;
      if (!palette && g_strcmp0 (s.quantizer, "uniform") != 0)
        return fail (error, layer->name, "unknown quantizer '%s' (expected uniform or palette)", s.quantizer);
      if (!(s.bits == 32 || s.bits == 16 || (s.bits >= 1 && s.bits <= 8)))
        return fail (error, layer->name, "%d bits: expected 1 to 8, 16 or 32", s.bits);
      if (s.bits < 16)
        {
          if (palette && s.granularity == LATHE_GRANULARITY_GROUP)
            return fail (error, layer->name, "the palette quantizer has one codebook per tensor or per channel, not per group");
          if (palette && s.affine)
            return fail (error, layer->name, "affine does not apply to the palette quantizer");
          if (palette && s.scale == LATHE_SCALE_MSE)
            return fail (error, layer->name, "scale=mse does not apply to the palette quantizer");
          if (!palette && s.bits == 1 && s.affine)
            return fail (error, layer->name, "1-bit weights are sign × scale; affine does not apply");
          if (s.granularity == LATHE_GRANULARITY_GROUP)
            {
              gboolean ok = FALSE;
              for (guint g = 0; g < G_N_ELEMENTS (group_sizes); g++)
                ok |= s.group_size == group_sizes[g];
              if (!ok)
                return fail (error, layer->name, "group size %d: expected 16, 32, 64, 128 or 256", s.group_size);
            }
        }
      if (!(s.sparsity >= 0.0 && s.sparsity <= 0.99))
        return fail (error, layer->name, "sparsity %g: expected 0 to 0.99", s.sparsity);
      if (s.pattern == LATHE_PATTERN_NM)
        {
          double implied = 1.0 - (double) s.nm_n / s.nm_m;
          if (s.nm_n < 1 || s.nm_n >= s.nm_m || s.nm_m > 16)
            return fail (error, layer->name, "%d:%d is not an N:M pattern (1 ≤ N < M ≤ 16)", s.nm_n, s.nm_m);
          if (s.sparsity != 0.0 && fabs (s.sparsity - implied) > 1e-9)
            return fail (error, layer->name, "sparsity %g contradicts the %d:%d pattern, whose sparsity is %g",
                         s.sparsity, s.nm_n, s.nm_m, implied);
          if (layer->cols % (gsize) s.nm_m != 0)
            return fail (error, layer->name, "the input axis has %" G_GSIZE_FORMAT " elements, not a multiple of M = %d",
                         layer->cols, s.nm_m);
        }
      if (!(s.width >= 0.05 && s.width <= 1.0))
        return fail (error, layer->name, "width %g: expected 0.05 to 1", s.width);
      if (s.width < 1.0 && layer->width_reason != NULL && over != NULL && (over->set & LATHE_FIELD_WIDTH))
        return fail (error, layer->name, "width cannot apply: %s", layer->width_reason);
    }
  return TRUE;
}

/* Gathers `n_idx` blocks of `block` consecutive indices along `axis`. */
static LatheTensor *
gather_axis (const LatheTensor *t,
             guint              axis,
             const gsize       *idx,
             gsize              n_idx,
             gsize              block)
{
  gint64 dims[LATHE_MAX_DIMS];
  gsize outer = 1, inner = 1, esize = lathe_dtype_size (t->dtype);
  gsize old_len = (gsize) t->dims[axis];
  LatheTensor *out;
  const guint8 *src = t->data;
  guint8 *dst;

  memcpy (dims, t->dims, sizeof dims);
  dims[axis] = (gint64) (n_idx * block);
  for (guint d = 0; d < axis; d++)
    outer *= (gsize) t->dims[d];
  for (guint d = axis + 1; d < t->ndim; d++)
    inner *= (gsize) t->dims[d];
  out = lathe_tensor_new (t->dtype, t->ndim, dims);
  dst = out->data;
  for (gsize o = 0; o < outer; o++)
    for (gsize i = 0; i < n_idx; i++)
      {
        gsize chunk = block * inner * esize;
        memcpy (dst, src + (o * old_len + idx[i] * block) * inner * esize, chunk);
        dst += chunk;
      }
  return out;
}

/* The weight as a [units, input] matrix, and back. */
static float *
view_extract (const LatheTensor *w,
              const LatheLayer  *layer,
              gsize              rows,
              gsize              cols)
{
  float *v = g_new (float, rows * cols);

  if (layer->out_axis == 0)
    memcpy (v, w->data, rows * cols * sizeof (float));
  else
    for (gsize k = 0; k < cols; k++)
      for (gsize n = 0; n < rows; n++)
        v[n * cols + k] = lathe_tensor_f32 (w)[k * rows + n];
  return v;
}

static void
view_store (LatheTensor      *w,
            const LatheLayer *layer,
            const float      *v,
            gsize             rows,
            gsize             cols)
{
  if (layer->out_axis == 0)
    memcpy (w->data, v, rows * cols * sizeof (float));
  else
    for (gsize k = 0; k < cols; k++)
      for (gsize n = 0; n < rows; n++)
        lathe_tensor_f32 (w)[k * rows + n] = v[n * cols + k];
}

static LatheTensor *
current (LatheGraph *g,
         int         value)
{
  return lathe_graph_value (g, (guint) value)->initializer;
}

static void
replace (LatheGraph  *g,
         int          value,
         LatheTensor *t)
{
  lathe_graph_set_initializer (g, (guint) value, t);
  lathe_tensor_unref (t);
}

/* Folds BN (y = a·x + b with a = γ/√(var+ε), b = β − mean·a) into the
 * layer's weight and bias, and reroutes the layer's output past the BN. */
static void
fold_bn (LatheGraph *g,
         LatheLayer *layer,
         GArray     *dead_nodes)
{
  LatheNode *node = lathe_graph_node (g, layer->node);
  LatheNode *bn = lathe_graph_node (g, (guint) layer->bn_node);
  const float *gamma = current (g, bn->inputs[1])->data;
  const float *beta = current (g, bn->inputs[2])->data;
  const float *mean = current (g, bn->inputs[3])->data;
  const float *var = current (g, bn->inputs[4])->data;
  double eps = lathe_node_get_float (bn, "epsilon", 1e-5f);
  LatheTensor *w = current (g, layer->weight_id);
  LatheTensor *w2 = lathe_tensor_dup (w);
  gsize rows = layer->rows, cols = layer->cols;
  g_autofree float *v = view_extract (w, layer, rows, cols);
  LatheTensor *bias;
  gint64 bdims[1] = { (gint64) rows };

  if (layer->bias_id >= 0)
    bias = lathe_tensor_dup (current (g, layer->bias_id));
  else
    bias = lathe_tensor_new (LATHE_DTYPE_FLOAT, 1, bdims);

  for (gsize o = 0; o < rows; o++)
    {
      double a = gamma[o] / sqrt ((double) var[o] + eps);
      for (gsize c = 0; c < cols; c++)
        v[o * cols + c] = (float) (v[o * cols + c] * a);
      lathe_tensor_f32 (bias)[o] = (float) ((lathe_tensor_f32 (bias)[o] - mean[o]) * a + beta[o]);
    }
  view_store (w2, layer, v, rows, cols);
  replace (g, (int) layer->weight_id, w2);

  if (layer->bias_id >= 0)
    replace (g, layer->bias_id, bias);
  else
    {
      g_autofree char *name = g_strdup_printf ("%s.folded_bias", layer->name);
      LatheValue *value = lathe_graph_add_value (g, name, LATHE_VALUE_INITIALIZER);
      value->initializer = bias;
      value->dtype = LATHE_DTYPE_FLOAT;
      value->ndim = 1;
      value->dims[0] = (gint64) rows;
      node->inputs = g_renew (int, node->inputs, 4);
      node->inputs[2] = (int) value->id;
      node->n_inputs = 3;
      layer->bias_id = (int) value->id;
    }

  /* The layer now writes what the BN wrote. */
  node->outputs[0] = bn->outputs[0];
  g_array_append_val (dead_nodes, layer->bn_node);
}

static gsize *
select_units (const float *v,
              gsize        rows,
              gsize        cols,
              gsize        keep)
{
  g_autofree double *norm = g_new (double, rows);
  g_autofree gsize *order = g_new (gsize, rows);
  gsize *kept = g_new (gsize, keep);

  for (gsize r = 0; r < rows; r++)
    {
      double s = 0;
      for (gsize c = 0; c < cols; c++)
        s += (double) v[r * cols + c] * v[r * cols + c];
      norm[r] = sqrt (s);
      order[r] = r;
    }
  /* Largest norms first; equal norms keep the lower index. Selection is
   * O(rows·keep), and rows are at most a few thousand. */
  for (gsize i = 0; i < keep; i++)
    {
      gsize best = i;
      for (gsize j = i + 1; j < rows; j++)
        if (norm[order[j]] > norm[order[best]] ||
            (norm[order[j]] == norm[order[best]] && order[j] < order[best]))
          best = j;
      gsize t = order[i];
      order[i] = order[best];
      order[best] = t;
    }
  memcpy (kept, order, keep * sizeof (gsize));
  /* Keep the survivors in their original order. */
  for (gsize i = 1; i < keep; i++)
    for (gsize j = i; j > 0 && kept[j - 1] > kept[j]; j--)
      {
        gsize t = kept[j];
        kept[j] = kept[j - 1];
        kept[j - 1] = t;
      }
  return kept;
}

static void
shrink_width (LatheGraph *g,
              LatheLayer *layers,
              LatheLayer *layer,
              gsize      *rows_now,
              gsize      *cols_now,
              guint       self_index,
              gsize       keep,
              GArray     *dead_nodes)
{
  LatheTensor *w = current (g, layer->weight_id);
  g_autofree float *v = view_extract (w, layer, rows_now[self_index], cols_now[self_index]);
  g_autofree gsize *kept = select_units (v, rows_now[self_index], cols_now[self_index], keep);

  replace (g, (int) layer->weight_id, gather_axis (w, (guint) layer->out_axis, kept, keep, 1));
  if (layer->bias_id >= 0)
    replace (g, layer->bias_id, gather_axis (current (g, layer->bias_id), 0, kept, keep, 1));

  for (guint b = 0; b < layer->bn_between->len; b++)
    {
      guint bn_index = g_array_index (layer->bn_between, guint, b);
      LatheNode *bn;
      gboolean dead = FALSE;

      for (guint d = 0; d < dead_nodes->len; d++)
        dead |= g_array_index (dead_nodes, int, d) == (int) bn_index;
      if (dead)
        continue;   /* folded into the layer already */
      bn = lathe_graph_node (g, bn_index);
      for (guint i = 1; i < 5; i++)
        replace (g, bn->inputs[i], gather_axis (current (g, bn->inputs[i]), 0, kept, keep, 1));
    }

  if (layer->follower >= 0)
    {
      LatheLayer *f = &layers[layer->follower];
      LatheTensor *fw = current (g, f->weight_id);
      guint in_axis = f->out_axis == 0 ? 1 : 0;
      gsize block = layer->follow_kind == LATHE_FOLLOW_FLATTENED ? layer->follow_spatial : 1;

      replace (g, (int) f->weight_id, gather_axis (fw, in_axis, kept, keep, block));
      cols_now[layer->follower] = cols_now[layer->follower] / rows_now[self_index] * keep;
    }
  rows_now[self_index] = keep;
}

static char *
describe (const LatheLayerSettings *s,
          const LatheLayer         *layer,
          gboolean                  folded,
          gsize                     rows_before,
          gsize                     rows,
          double                    sparsity,
          const char               *width_note)
{
  GString *out = g_string_new (NULL);

  if (s->bits == 32)
    g_string_append (out, "float32");
  else if (s->bits == 16)
    g_string_append (out, "float16");
  else if (g_strcmp0 (s->quantizer, "palette") == 0)
    g_string_append_printf (out, "%d-bit palette per %s", s->bits,
                            s->granularity == LATHE_GRANULARITY_TENSOR ? "tensor" : "channel");
  else
    {
      g_string_append_printf (out, "%d-bit uniform ", s->bits);
      if (s->granularity == LATHE_GRANULARITY_GROUP)
        g_string_append_printf (out, "per group of %d", s->group_size);
      else
        g_string_append_printf (out, "per %s", s->granularity == LATHE_GRANULARITY_TENSOR ? "tensor" : "channel");
      if (s->affine)
        g_string_append (out, ", affine");
      if (s->scale == LATHE_SCALE_MSE)
        g_string_append (out, ", MSE scale");
    }
  if (sparsity > 0)
    {
      if (s->pattern == LATHE_PATTERN_NM)
        g_string_append_printf (out, "; %d:%d sparse", s->nm_n, s->nm_m);
      else
        g_string_append_printf (out, "; %.1f %% %s-pruned", 100 * sparsity,
                                s->pattern == LATHE_PATTERN_CHANNEL ? "channel" : "magnitude");
    }
  if (rows != rows_before)
    g_string_append_printf (out, "; width %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " units", rows, rows_before);
  if (width_note != NULL)
    g_string_append_printf (out, "; width not applied: %s", width_note);
  if (folded)
    g_string_append (out, "; BatchNormalization folded in");
  return g_string_free (out, FALSE);
}

LatheApplied *
lathe_apply_plan (LatheGraph       *base,
                  GPtrArray        *layers,
                  const LathePlan  *plan,
                  GError          **error)
{
  g_autoptr(LatheApplied) applied = g_new0 (LatheApplied, 1);
  g_autoptr(GArray) dead_nodes = g_array_new (FALSE, FALSE, sizeof (int));
  guint n = layers->len;
  g_autofree gsize *rows = g_new (gsize, MAX (n, 1));
  g_autofree gsize *cols = g_new (gsize, MAX (n, 1));
  g_autofree LatheLayerSettings *settings = g_new0 (LatheLayerSettings, MAX (n, 1));
  g_autofree float **views = g_new0 (float *, MAX (n, 1));
  g_autofree float **before = g_new0 (float *, MAX (n, 1));
  g_autofree guint8 **keep = g_new0 (guint8 *, MAX (n, 1));
  g_autofree gboolean *folded = g_new0 (gboolean, MAX (n, 1));
  g_autofree gsize *rows_before = g_new (gsize, MAX (n, 1));
  g_autofree double *sparsity = g_new0 (double, MAX (n, 1));
  g_autofree const char **width_note = g_new0 (const char *, MAX (n, 1));
  int palette_iterations = plan_int_param (plan, "palette.iterations", PALETTE_ITERATIONS_DEFAULT);
  LatheNorm channel_norm = g_strcmp0 (g_hash_table_lookup (plan->params, "channel.norm"), "l1") == 0
                           ? LATHE_NORM_L1 : LATHE_NORM_L2;
  gboolean ok = FALSE;

  g_autofree LatheLayer *L = NULL;

  if (!lathe_plan_validate (plan, layers, error))
    return NULL;

  /* Shallow copies: folding may give a layer a new bias value in the
   * effective graph, which the source's layer list must not see. */
  L = g_new0 (LatheLayer, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    L[i] = *(LatheLayer *) g_ptr_array_index (layers, i);

  applied->graph = lathe_graph_copy (base, error);
  if (applied->graph == NULL)
    return NULL;
  applied->results = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_result_free);
  applied->baseline_bytes = lathe_graph_stored_bytes (base);

  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      lathe_plan_resolve (plan, layer->name, &settings[i]);
      rows[i] = rows_before[i] = layer->rows;
      cols[i] = layer->cols;
    }

  /* 1. Fold BatchNormalization into the layer before it. */
  for (guint i = 0; i < n; i++)
    {
      if (plan->fold_bn && L[i].bn_node >= 0 && !settings[i].skip)
        {
          fold_bn (applied->graph, &L[i], dead_nodes);
          folded[i] = TRUE;
        }
    }

  /* 2. Width, in graph order, so a follower's input shrinks before its own
   *    units are ranked. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      gsize keep_units;

      if (settings[i].skip || settings[i].width >= 1.0)
        continue;
      if (layer->width_reason != NULL)
        {
          width_note[i] = layer->width_reason;
          continue;
        }
      keep_units = (gsize) ceil (settings[i].width * (double) rows[i] - 1e-9);
      keep_units = CLAMP (keep_units, 1, rows[i]);
      if (keep_units < rows[i])
        shrink_width (applied->graph, L, layer, rows, cols, i, keep_units, dead_nodes);
    }

  /* 3. Prune. Magnitude ranks weights in the tensor's own flat order (ties
   *    go to the lower flat index); N:M and channel work on units. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      LatheTensor *w = current (applied->graph, layer->weight_id);

      views[i] = view_extract (w, layer, rows[i], cols[i]);
      before[i] = g_memdup2 (views[i], rows[i] * cols[i] * sizeof (float));
      keep[i] = g_malloc (rows[i] * cols[i]);
      memset (keep[i], 1, rows[i] * cols[i]);
    }

  {
    g_autofree float **flat = g_new0 (float *, MAX (n, 1));
    g_autofree guint8 **flat_keep = g_new0 (guint8 *, MAX (n, 1));
    g_autofree gsize *sizes = g_new0 (gsize, MAX (n, 1));
    g_autofree guint *which = g_new0 (guint, MAX (n, 1));
    guint m = 0;

    for (guint i = 0; i < n; i++)
      {
        LatheTensor *w = current (applied->graph, L[i].weight_id);
        if (settings[i].skip || settings[i].pattern != LATHE_PATTERN_UNSTRUCTURED ||
            (plan->global_sparsity ? plan->defaults.sparsity : settings[i].sparsity) <= 0)
          continue;
        flat[m] = g_memdup2 (w->data, lathe_tensor_nbytes (w));
        flat_keep[m] = g_malloc (w->n);
        sizes[m] = w->n;
        which[m] = i;
        if (!plan->global_sparsity)
          lathe_prune_magnitude (flat[m], w->n, settings[i].sparsity, flat_keep[m]);
        m++;
      }
    if (plan->global_sparsity && m > 0)
      lathe_prune_magnitude_global (flat, sizes, m, plan->defaults.sparsity, flat_keep);

    for (guint j = 0; j < m; j++)
      {
        guint i = which[j];
        LatheTensor tmp = *current (applied->graph, L[i].weight_id);
        gsize zeros = 0;

        tmp.data = flat[j];
        g_free (views[i]);
        views[i] = view_extract (&tmp, &L[i], rows[i], cols[i]);
        for (gsize e = 0; e < sizes[j]; e++)
          zeros += flat_keep[j][e] == 0;
        if (L[i].out_axis == 0)
          memcpy (keep[i], flat_keep[j], sizes[j]);
        else
          for (gsize k = 0; k < cols[i]; k++)
            for (gsize r = 0; r < rows[i]; r++)
              keep[i][r * cols[i] + k] = flat_keep[j][k * rows[i] + r];
        sparsity[i] = (double) zeros / MAX (sizes[j], 1);
        g_free (flat[j]);
        g_free (flat_keep[j]);
      }
  }

  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      LatheLayerSettings *s = &settings[i];
      LatheWeightView view = { views[i], rows[i], cols[i], layer->spatial };

      if (s->skip)
        continue;
      if (s->pattern == LATHE_PATTERN_NM)
        {
          if (!lathe_prune_nm (&view, s->nm_n, s->nm_m, keep[i], error))
            {
              g_prefix_error (error, "layer '%s': ", layer->name);
              goto out;
            }
          sparsity[i] = 1.0 - (double) s->nm_n / s->nm_m;
        }
      else if (s->pattern == LATHE_PATTERN_CHANNEL && s->sparsity > 0)
        {
          g_autofree guint8 *row_keep = g_malloc (rows[i]);
          gsize dropped = 0;
          lathe_prune_channel (&view, s->sparsity, channel_norm, row_keep);
          for (gsize r = 0; r < rows[i]; r++)
            {
              memset (keep[i] + r * cols[i], row_keep[r], cols[i]);
              dropped += row_keep[r] == 0;
            }
          sparsity[i] = (double) dropped / rows[i];
        }
    }

  /* 4. Quantize, write back, measure. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      LatheLayerSettings *s = &settings[i];
      LatheLayerResult *r = g_new0 (LatheLayerResult, 1);
      LatheWeightView view = { views[i], rows[i], cols[i], layer->spatial };
      LatheSizeSpec spec = { 0 };
      LatheTensor *w = current (applied->graph, layer->weight_id);
      LathePalette *palette = NULL;
      double sig = 0, err = 0;

      r->name = g_strdup (layer->name);
      lathe_layer_settings_copy (&r->settings, s);
      r->bn_folded = folded[i];
      r->rows_before = rows_before[i];
      r->rows = rows[i];
      r->cols = cols[i];
      r->params = rows[i] * cols[i];
      r->original_bytes = (guint64) layer->rows * layer->cols * 4;
      r->sparsity = sparsity[i];
      g_ptr_array_add (applied->results, r);

      if (s->skip)
        {
          r->status = g_strdup ("skipped: stays float32");
          r->packed_bytes = lathe_tensor_nbytes (w);
          r->sqnr_db = INFINITY;
          continue;
        }

      if (s->bits == 16)
        {
          lathe_quant_fp16 (&view);
          r->fp16 = TRUE;
        }
      else if (s->bits < 16 && g_strcmp0 (s->quantizer, "palette") == 0)
        {
          if (!lathe_quant_palette (&view, s->bits, s->granularity == LATHE_GRANULARITY_CHANNEL,
                                    palette_iterations, keep[i], &palette, error))
            {
              g_prefix_error (error, "layer '%s': ", layer->name);
              goto out;
            }
        }
      else if (s->bits < 16)
        {
          if (!lathe_quant_uniform (&view, s->bits, s->granularity, s->group_size, s->affine, s->scale,
                                    keep[i], &r->quantized, error))
            {
              g_prefix_error (error, "layer '%s': ", layer->name);
              goto out;
            }
        }

      {
        LatheTensor *w2 = lathe_tensor_dup (w);
        view_store (w2, layer, views[i], rows[i], cols[i]);
        replace (applied->graph, (int) layer->weight_id, w2);
      }

      for (gsize e = 0; e < rows[i] * cols[i]; e++)
        {
          double d = (double) before[i][e] - views[i][e];
          sig += (double) before[i][e] * before[i][e];
          err += d * d;
        }
      r->sqnr_db = err > 0 ? 10.0 * log10 (sig / err) : INFINITY;

      /* The packed layout stores a weight unit by unit (view order), so the
       * sparse index is measured in that order. */
      spec.n = rows[i] * cols[i];
      spec.rows = rows[i];
      spec.cols = cols[i];
      spec.value_bits = s->bits;
      spec.kind = s->bits >= 16 ? LATHE_SIZE_DENSE
                : palette != NULL ? LATHE_SIZE_PALETTE : LATHE_SIZE_UNIFORM;
      spec.n_scales = r->quantized ? r->quantized->n_scales : 0;
      spec.affine = s->affine && r->quantized != NULL;
      spec.n_codebooks = palette ? palette->n_codebooks : 0;
      spec.pattern = s->pattern;
      spec.keep = keep[i];
      spec.nm_n = s->nm_n;
      spec.nm_m = s->nm_m;
      spec.kept_rows = rows[i];
      if (s->pattern == LATHE_PATTERN_CHANNEL && sparsity[i] > 0)
        {
          /* Zeroed units store nothing: no codes, no scales, no codebook. */
          spec.kept_rows = 0;
          for (gsize rr = 0; rr < rows[i]; rr++)
            spec.kept_rows += keep[i][rr * cols[i]] != 0 || cols[i] == 0;
          if (r->quantized != NULL && r->quantized->scales_per_row > 0)
            spec.n_scales = spec.kept_rows * r->quantized->scales_per_row;
          if (palette != NULL && palette->n_codebooks == rows[i])
            spec.n_codebooks = spec.kept_rows;
        }
      spec.pruned = sparsity[i] > 0;   /* dense: no index */
      r->packed_bytes = lathe_size_tensor (&spec, NULL);
      g_clear_pointer (&palette, lathe_palette_free);

      r->status = describe (s, layer, folded[i], rows_before[i], rows[i], sparsity[i], width_note[i]);
    }

  /* Drop the folded BatchNormalization nodes and renumber. */
  if (dead_nodes->len > 0)
    {
      g_autoptr(GPtrArray) kept_nodes = g_ptr_array_new ();
      GPtrArray *nodes = applied->graph->nodes;

      for (guint k = 0; k < nodes->len; k++)
        {
          gboolean dead = FALSE;
          for (guint d = 0; d < dead_nodes->len; d++)
            dead |= g_array_index (dead_nodes, int, d) == (int) k;
          if (dead)
            lathe_node_free (g_ptr_array_index (nodes, k));
          else
            g_ptr_array_add (kept_nodes, g_ptr_array_index (nodes, k));
        }
      g_ptr_array_set_free_func (nodes, NULL);
      g_ptr_array_set_size (nodes, 0);
      for (guint k = 0; k < kept_nodes->len; k++)
        g_ptr_array_add (nodes, g_ptr_array_index (kept_nodes, k));
      g_ptr_array_set_free_func (nodes, (GDestroyNotify) lathe_node_free);
      if (!lathe_graph_sort (applied->graph, error))
        goto out;
    }

  /* Packed size: each layer's weight as computed, every other stored
   * tensor that some node still reads as it is. */
  {
    LatheGraph *g = applied->graph;
    g_autofree gboolean *used = g_new0 (gboolean, g->values->len);
    g_autofree gboolean *is_layer = g_new0 (gboolean, g->values->len);

    for (guint k = 0; k < g->nodes->len; k++)
      {
        LatheNode *node = lathe_graph_node (g, k);
        for (guint in = 0; in < node->n_inputs; in++)
          if (node->inputs[in] >= 0)
            used[node->inputs[in]] = TRUE;
      }
    for (guint i = 0; i < n; i++)
      {
        LatheLayer *layer = &L[i];
        LatheLayerResult *r = g_ptr_array_index (applied->results, i);
        is_layer[layer->weight_id] = TRUE;
        applied->packed_bytes += r->packed_bytes;
      }
    for (guint v = 0; v < g->values->len; v++)
      {
        LatheValue *value = lathe_graph_value (g, v);
        if (value->kind == LATHE_VALUE_INITIALIZER && used[v] && !is_layer[v])
          applied->packed_bytes += lathe_tensor_nbytes (value->initializer);
      }
  }
  ok = TRUE;

out:
  for (guint i = 0; i < n; i++)
    {
      g_free (views[i]);
      g_free (before[i]);
      g_free (keep[i]);
      lathe_layer_settings_clear (&settings[i]);
    }
  return ok ? g_steal_pointer (&applied) : NULL;
}
