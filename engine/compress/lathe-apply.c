/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lathe-config.h"       /* GETTEXT_PACKAGE, for the status's translations */
#include <glib/gi18n-lib.h>

#include "compress/lathe-apply.h"
#include "compress/lathe-apply-private.h"
#include "compress/lathe-prune.h"
#include "compress/lathe-quant.h"
#include "compress/lathe-size.h"
#include "core/lathe-error.h"
#include "eval/lathe-evaluator.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "plugin/lathe-plugin-registry.h"
#include "plugin/lathe-pruner.h"
#include "plugin/lathe-quantizer.h"



static void
layer_result_free (LatheLayerResult *r)
{
  g_free (r->name);
  lathe_layer_settings_clear (&r->settings);
  g_free (r->status);
  g_free (r->width_note);
  g_free (r->width_note_local);
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

/* The plan's methods, made once per apply through the plugin registry with
 * the plan's "method.param" values set. */
static GObject *
method_for (GHashTable       *methods,
            LathePluginKind   kind,
            const char       *name,
            const LathePlan  *plan,
            GError          **error)
{
  GObject *method = g_hash_table_lookup (methods, name);
  GHashTableIter iter;
  gpointer key, value;
  gsize len = strlen (name);

  if (method != NULL)
    return method;
  method = lathe_plugin_registry_create (lathe_plugin_registry_get_default (), kind, name, error);
  if (method == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, plan->params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (strncmp (key, name, len) == 0 && ((const char *) key)[len] == '.' &&
        !lathe_plugin_registry_set_param (method, (const char *) key + len + 1, value, error))
      {
        g_object_unref (method);
        return NULL;
      }
  g_hash_table_insert (methods, g_strdup (name), method);
  return method;
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

  /* "method.param" values are checked by the method itself. */
  g_hash_table_iter_init (&iter, plan->params);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *dot = strchr (key, '.');
      g_autofree char *method = dot ? g_strndup (key, dot - (const char *) key) : NULL;
      g_autoptr(GObject) instance = NULL;
      const LathePluginInfo *info;
      g_autoptr(GError) local_error = NULL;

      if (dot == NULL || dot[1] == '\0')
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "method parameter '%s': expected METHOD.PARAM", (char *) key);
          return FALSE;
        }
      info = lathe_plugin_registry_lookup (lathe_plugin_registry_get_default (), method);
      if (info == NULL ||
          !(instance = lathe_plugin_registry_create (lathe_plugin_registry_get_default (), info->kind,
                                                     method, &local_error)) ||
          !lathe_plugin_registry_set_param (instance, dot + 1, value, &local_error))
        {
          if (local_error != NULL)
            g_set_error_literal (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                                 local_error->message);
          else
            g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                         "%s: no plugin called '%s' (see lathe-cli plugins)", (char *) key, method);
          return FALSE;
        }
    }

  for (guint i = 0; i < layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      LatheLayerSettings *over = g_hash_table_lookup (plan->layers, layer->name);
      g_auto(LatheLayerSettings) s = { 0 };

      lathe_plan_resolve (plan, layer->name, &s);
      if (s.skip)
        continue;
      if (!(s.bits == 32 || s.bits == 16 || (s.bits >= 1 && s.bits <= 8)))
        return fail (error, layer->name, "%d bits: expected 1 to 8, 16 or 32", s.bits);
      if (s.bits < 32)
        {
          /* The quantizer is a plugin; it refuses settings that do not
           * apply to it. */
          g_autoptr(LatheQuantizer) q = NULL;
          g_autoptr(GError) local_error = NULL;
          if (!(q = lathe_plugin_registry_get_quantizer (lathe_plugin_registry_get_default (),
                                                         s.quantizer, &local_error)) ||
              !lathe_quantizer_supports (q, &s, &local_error))
            return fail (error, layer->name, "%s", local_error->message);
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
      if (over != NULL && (over->set & LATHE_FIELD_WIDTH) && layer->group_leader >= 0 &&
          layer->group_leader != (int) i && !layer->depthwise)
        {
          LatheLayer *leader = g_ptr_array_index (layers, layer->group_leader);
          g_auto(LatheLayerSettings) ls = { 0 };

          lathe_plan_resolve (plan, leader->name, &ls);
          if (ls.width != s.width)
            return fail (error, layer->name, "width %g cannot be set here: the layer is in the width group "
                         "of '%s', whose width (%g) applies to every member; set it on '%s'",
                         s.width, leader->name, ls.width, leader->name);
        }
      else if (s.width < 1.0 && layer->width_reason != NULL && over != NULL && (over->set & LATHE_FIELD_WIDTH))
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
float *
_lathe_view_extract (const LatheTensor *w,
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
  g_autofree float *v = _lathe_view_extract (w, layer, rows, cols);
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

/* The `keep` units with the largest scores, in their original order; equal
 * scores keep the lower index. Selection is O(rows·keep), and rows are at
 * most a few thousand. */
static gsize *
select_units (const double *score,
              gsize         rows,
              gsize         keep)
{
  g_autofree gsize *order = g_new (gsize, rows);
  gsize *kept = g_new (gsize, MAX (keep, 1));

  for (gsize r = 0; r < rows; r++)
    order[r] = r;
  for (gsize i = 0; i < keep; i++)
    {
      gsize best = i;
      for (gsize j = i + 1; j < rows; j++)
        if (score[order[j]] > score[order[best]] ||
            (score[order[j]] == score[order[best]] && order[j] < order[best]))
          best = j;
      gsize t = order[i];
      order[i] = order[best];
      order[best] = t;
    }
  memcpy (kept, order, keep * sizeof (gsize));
  for (gsize i = 1; i < keep; i++)
    for (gsize j = i; j > 0 && kept[j - 1] > kept[j]; j--)
      {
        gsize t = kept[j];
        kept[j] = kept[j - 1];
        kept[j - 1] = t;
      }
  return kept;
}

static gboolean
is_dead (GArray *dead_nodes,
         int     node)
{
  for (guint d = 0; d < dead_nodes->len; d++)
    if (g_array_index (dead_nodes, int, d) == node)
      return TRUE;
  return FALSE;
}

/* Sets a depthwise Conv's `group` to its new channel count. */
static gboolean
set_conv_group (LatheNode  *node,
                gint64      group,
                GError    **error)
{
  for (guint a = 0; a < node->n_attrs; a++)
    if (g_str_equal (node->attrs[a].name, "group"))
      node->attrs[a].i = group;
  if (node->params_free != NULL)
    node->params_free (node->params);
  node->params = NULL;
  node->params_free = NULL;
  return node->op->setup == NULL || node->op->setup (node, error);
}

/* What width did, per layer, for the results and the cache signatures. */
typedef struct {
  gsize  **kept;      /* per tie class (indexed by its first layer): kept units, or NULL */
  gsize   *n_kept;
  gsize  **out_pos;   /* per layer: kept positions on its output axis, or NULL */
  gsize   *n_out;
  gsize  **in_pos;    /* per layer: kept positions on its input axis, or NULL */
  gsize   *n_in;
  double  *width;     /* per layer: the width that applied to its units */
} WidthState;

static void
width_state_init (WidthState *ws,
                  guint       n)
{
  ws->kept = g_new0 (gsize *, MAX (n, 1));
  ws->n_kept = g_new0 (gsize, MAX (n, 1));
  ws->out_pos = g_new0 (gsize *, MAX (n, 1));
  ws->n_out = g_new0 (gsize, MAX (n, 1));
  ws->in_pos = g_new0 (gsize *, MAX (n, 1));
  ws->n_in = g_new0 (gsize, MAX (n, 1));
  ws->width = g_new0 (double, MAX (n, 1));
}

static void
width_state_clear (WidthState *ws,
                   guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      g_free (ws->kept[i]);
      g_free (ws->out_pos[i]);
      g_free (ws->in_pos[i]);
    }
  g_free (ws->kept);
  g_free (ws->n_kept);
  g_free (ws->out_pos);
  g_free (ws->n_out);
  g_free (ws->in_pos);
  g_free (ws->n_in);
  g_free (ws->width);
}

/* Shrinks one width group to `width`: ranks each tie class, then removes
 * the dropped units from every member, tied depthwise layer, BN, constant
 * and reader. */
static gboolean
shrink_group (LatheGraph        *g,
              LatheLayer        *L,
              guint              n,
              guint              leader,
              double             width,
              LatheImportance    importance,
              double * const    *act,
              gsize             *rows_now,
              gsize             *cols_now,
              GArray            *dead_nodes,
              WidthState        *ws,
              GError           **error)
{
  GArray *members = L[leader].group_members;
  gboolean changed = FALSE;

  /* 1. Rank every tie class on its members' summed importance. */
  for (guint m = 0; m < members->len; m++)
    {
      int t = g_array_index (members, int, m);
      gsize units = L[t].rows, keep;
      g_autofree double *score = NULL;

      if (L[t].tie != t)
        continue;
      keep = (gsize) ceil (width * (double) units - 1e-9);
      keep = CLAMP (keep, 1, units);
      if (keep >= units)
        continue;
      score = g_new0 (double, units);
      for (guint q = 0; q < members->len; q++)
        {
          int i = g_array_index (members, int, q);
          if (L[i].tie != t)
            continue;
          if (importance == LATHE_IMPORTANCE_ACTIVATION)
            for (gsize u = 0; u < units; u++)
              score[u] += act[i][u];
          else
            {
              g_autofree float *v = _lathe_view_extract (current (g, L[i].weight_id), &L[i], rows_now[i], cols_now[i]);
              for (gsize u = 0; u < units; u++)
                {
                  double s = 0;
                  for (gsize c = 0; c < cols_now[i]; c++)
                    s += (double) v[u * cols_now[i] + c] * v[u * cols_now[i] + c];
                  score[u] += sqrt (s);
                }
            }
        }
      ws->kept[t] = select_units (score, units, keep);
      ws->n_kept[t] = keep;
      changed = TRUE;
    }
  if (!changed)
    return TRUE;

  /* 2. Each layer's units: members and tied depthwise layers. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      gsize *pos, np;

      if (layer->group_leader != (int) leader || layer->unit_layout == NULL)
        continue;
      pos = lathe_width_layout_positions (layer->unit_layout, ws->kept, ws->n_kept, &np);
      if (np == rows_now[i])
        {
          g_free (pos);
          continue;
        }
      replace (g, (int) layer->weight_id,
               gather_axis (current (g, layer->weight_id), (guint) layer->out_axis, pos, np, 1));
      if (layer->bias_id >= 0)
        replace (g, layer->bias_id, gather_axis (current (g, layer->bias_id), 0, pos, np, 1));
      if (layer->depthwise && !set_conv_group (lathe_graph_node (g, layer->node), (gint64) np, error))
        {
          g_free (pos);
          return FALSE;
        }
      rows_now[i] = np;
      ws->out_pos[i] = pos;
      ws->n_out[i] = np;
    }

  /* 3. Readers' input columns. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      gsize *pos, np, total = 0;

      if (layer->input_group != (int) leader)
        continue;
      pos = lathe_width_layout_positions (layer->input_layout, ws->kept, ws->n_kept, &np);
      for (guint s = 0; s < layer->input_layout->len; s++)
        total += g_array_index (layer->input_layout, LatheWidthSlice, s).units;
      if (np == total)
        {
          g_free (pos);
          continue;
        }
      replace (g, (int) layer->weight_id,
               gather_axis (current (g, layer->weight_id), layer->out_axis == 0 ? 1 : 0,
                            pos, np, layer->input_block));
      cols_now[i] = cols_now[i] / total * np;
      ws->in_pos[i] = pos;
      ws->n_in[i] = np;
    }

  /* 4. BatchNormalization parameters and per-channel constants. */
  for (guint e = 0; L[leader].group_edits != NULL && e < L[leader].group_edits->len; e++)
    {
      LatheWidthEdit *edit = &g_array_index (L[leader].group_edits, LatheWidthEdit, e);
      g_autofree gsize *pos = NULL;
      gsize np;

      if (edit->node >= 0 && is_dead (dead_nodes, edit->node))
        continue;   /* folded into its layer already */
      pos = lathe_width_layout_positions (edit->layout, ws->kept, ws->n_kept, &np);
      replace (g, (int) edit->value, gather_axis (current (g, (int) edit->value), edit->axis, pos, np, 1));
    }
  return TRUE;
}

/* Mean |activation| per unit at each group member's output (after its
 * BatchNormalization), over the first samples of the calibration data,
 * run through the source model. act[i] is NULL for other layers. */
static gboolean
measure_activations (LatheGraph              *base,
                     GPtrArray               *layers,
                     const LatheApplyOptions *options,
                     double                 **act,
                     GError                 **error)
{
  LatheDataset *data = options->calibration;
  guint n = layers->len, n_channels = 1, total, batch = 64;
  guint samples = options->calibration_samples ? options->calibration_samples
                                               : LATHE_CALIBRATION_SAMPLES_DEFAULT;
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(GArray) keep = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree guint *value_of = g_new0 (guint, MAX (n, 1));
  g_autofree guint64 *count = g_new0 (guint64, MAX (n, 1));
  g_autofree float *mean = NULL;
  g_autofree float *std = NULL;

  if (!lathe_eval_check_data (base, data, options->n_norm, &n_channels, error))
    return FALSE;
  total = MIN (samples, lathe_dataset_get_n_samples (data));
  if (total == 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "calibration data '%s' has no samples", lathe_dataset_get_spec (data));
      return FALSE;
    }
  mean = g_new (float, n_channels);
  std = g_new (float, n_channels);
  for (guint c = 0; c < n_channels; c++)
    {
      guint k = options->n_norm > 1 ? c : 0;
      mean[c] = options->mean && options->n_norm ? options->mean[k] : 0.f;
      std[c] = options->std && options->n_norm ? options->std[k] : 1.f;
    }

  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      LatheNode *node = lathe_graph_node (base, layer->node);
      if (layer->group_leader < 0 || layer->depthwise)
        continue;
      value_of[i] = layer->bn_node >= 0 ? (guint) lathe_graph_node (base, (guint) layer->bn_node)->outputs[0]
                                        : (guint) node->outputs[0];
      act[i] = g_new0 (double, layer->rows);
      g_array_append_val (keep, value_of[i]);
    }
  if (keep->len == 0)
    return TRUE;

  exec = lathe_executor_new (base);
  lathe_executor_set_keep (exec, (guint *) keep->data, keep->len);
  for (guint start = 0; start < total; start += batch)
    {
      guint nb = MIN (batch, total - start);
      g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);

      if (!lathe_graph_input_shape_for_batch (base, 0, nb, meta, error) ||
          !lathe_executor_prepare (exec, 1, &meta, error))
        return FALSE;
      lathe_dataset_fill_batch (data, start, nb, n_channels, mean, std,
                                lathe_executor_get_input (exec, 0)->data);
      if (!lathe_executor_execute (exec, error))
        return FALSE;
      for (guint i = 0; i < n; i++)
        {
          LatheLayer *layer = g_ptr_array_index (layers, i);
          LatheTensor *y;
          guint axis;
          gsize outer = 1, inner = 1;
          const float *p;

          if (act[i] == NULL)
            continue;
          y = lathe_executor_get_value (exec, value_of[i]);
          axis = g_str_equal (layer->op_type, "MatMul") ? y->ndim - 1 : 1;
          if (y->dtype != LATHE_DTYPE_FLOAT || y->ndim <= axis || (gsize) y->dims[axis] != layer->rows)
            {
              g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_UNSUPPORTED,
                           "layer '%s': its output does not hold its %" G_GSIZE_FORMAT " units on axis %u",
                           layer->name, layer->rows, axis);
              return FALSE;
            }
          for (guint d = 0; d < axis; d++)
            outer *= (gsize) y->dims[d];
          for (guint d = axis + 1; d < y->ndim; d++)
            inner *= (gsize) y->dims[d];
          p = lathe_tensor_f32 (y);
          for (gsize o = 0; o < outer; o++)
            for (gsize u = 0; u < layer->rows; u++)
              {
                double s = 0;
                for (gsize k = 0; k < inner; k++)
                  s += fabs ((double) *p++);
                act[i][u] += s;
              }
          count[i] += (guint64) outer * inner;
        }
    }
  for (guint i = 0; i < n; i++)
    if (act[i] != NULL)
      for (gsize u = 0; u < ((LatheLayer *) g_ptr_array_index (layers, i))->rows; u++)
        act[i][u] /= (double) MAX (count[i], 1);
  return TRUE;
}

/* The apply cache. */

typedef struct {
  char             *key;
  LatheTensor      *sources[6];   /* held so the addresses in the key stay theirs */
  LatheTensor      *weight;
  LatheTensor      *bias;
  LatheLayerResult *result;
  gboolean          touched;
} CacheEntry;

struct _LatheApplyCache {
  GHashTable   *entries;          /* layer name → CacheEntry */
  guint         recomputed;
  /* ACTIVATION importance */
  LatheDataset *act_data;
  char         *act_key;
  GPtrArray    *act_sources;      /* LatheTensor*: the layers' source weights */
  GPtrArray    *act;              /* double[] per layer, or NULL */
};

static LatheLayerResult *
layer_result_copy (const LatheLayerResult *r)
{
  LatheLayerResult *c = g_new0 (LatheLayerResult, 1);

  *c = *r;
  c->name = g_strdup (r->name);
  memset (&c->settings, 0, sizeof c->settings);
  lathe_layer_settings_copy (&c->settings, &r->settings);
  c->status = g_strdup (r->status);
  c->width_note = g_strdup (r->width_note);
  c->width_note_local = g_strdup (r->width_note_local);
  c->quantized = NULL;
  if (r->quantized != NULL)
    {
      const LatheQuantized *q = r->quantized;
      c->quantized = lathe_quantized_new (q->bits, q->affine, q->granularity, q->group_len, q->rows, q->cols);
      g_assert (c->quantized->n_scales == q->n_scales);
      memcpy (c->quantized->scales, q->scales, q->n_scales * sizeof (float));
      if (q->zero_points != NULL)
        memcpy (c->quantized->zero_points, q->zero_points, q->n_scales * sizeof (gint32));
      memcpy (c->quantized->codes, q->codes, q->rows * q->cols * sizeof (gint32));
    }
  return c;
}

static void
cache_entry_free (CacheEntry *e)
{
  g_free (e->key);
  for (guint s = 0; s < G_N_ELEMENTS (e->sources); s++)
    g_clear_pointer (&e->sources[s], lathe_tensor_unref);
  g_clear_pointer (&e->weight, lathe_tensor_unref);
  g_clear_pointer (&e->bias, lathe_tensor_unref);
  g_clear_pointer (&e->result, layer_result_free);
  g_free (e);
}

LatheApplyCache *
lathe_apply_cache_new (void)
{
  LatheApplyCache *cache = g_new0 (LatheApplyCache, 1);

  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cache_entry_free);
  return cache;
}

static void
cache_clear_activations (LatheApplyCache *cache)
{
  g_clear_object (&cache->act_data);
  g_clear_pointer (&cache->act_key, g_free);
  g_clear_pointer (&cache->act_sources, g_ptr_array_unref);
  g_clear_pointer (&cache->act, g_ptr_array_unref);
}

void
lathe_apply_cache_free (LatheApplyCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->entries);
  cache_clear_activations (cache);
  g_free (cache);
}

guint
lathe_apply_cache_get_recomputed (LatheApplyCache *cache)
{
  g_return_val_if_fail (cache != NULL, 0);
  return cache->recomputed;
}

static char *
activation_key (const LatheApplyOptions *options)
{
  GString *k = g_string_new (lathe_dataset_get_sha256 (options->calibration));

  g_string_append_printf (k, "/%u/%u", options->calibration_samples, options->n_norm);
  for (guint c = 0; c < options->n_norm; c++)
    g_string_append_printf (k, "/%a/%a", options->mean ? options->mean[c] : 0.0,
                            options->std ? options->std[c] : 1.0);
  return g_string_free (k, FALSE);
}

/* Activation statistics from the cache when they were measured on the
 * same layers and data, else measured (and kept in the cache). The
 * returned array is borrowed from the cache, or owned by *owned. */
static double **
get_activations (LatheGraph              *base,
                 GPtrArray               *layers,
                 const LatheApplyOptions *options,
                 LatheApplyCache         *cache,
                 GPtrArray              **owned,
                 GError                 **error)
{
  g_autofree char *key = activation_key (options);
  g_autoptr(GPtrArray) act = g_ptr_array_new_with_free_func (g_free);
  guint n = layers->len;

  if (cache != NULL && cache->act != NULL && cache->act_data == options->calibration &&
      g_str_equal (cache->act_key, key) && cache->act_sources->len == n)
    {
      gboolean same = TRUE;
      for (guint i = 0; same && i < n; i++)
        same = g_ptr_array_index (cache->act_sources, i) ==
               lathe_graph_value (base, ((LatheLayer *) g_ptr_array_index (layers, i))->weight_id)->initializer;
      if (same)
        return (double **) cache->act->pdata;
    }

  g_ptr_array_set_size (act, MAX (n, 1));
  if (!measure_activations (base, layers, options, (double **) act->pdata, error))
    return NULL;
  if (cache == NULL)
    {
      *owned = g_steal_pointer (&act);
      return (double **) (*owned)->pdata;
    }
  cache_clear_activations (cache);
  cache->act_data = g_object_ref (options->calibration);
  cache->act_key = g_steal_pointer (&key);
  cache->act_sources = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_tensor_unref);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (cache->act_sources,
                     lathe_tensor_ref (lathe_graph_value (base, ((LatheLayer *) g_ptr_array_index (layers, i))->weight_id)->initializer));
  cache->act = g_steal_pointer (&act);
  return (double **) cache->act->pdata;
}

static void
hash_int (GChecksum *cs,
          gint64     v)
{
  g_checksum_update (cs, (const guchar *) &v, sizeof v);
}

static void
hash_double (GChecksum *cs,
             double     v)
{
  g_checksum_update (cs, (const guchar *) &v, sizeof v);
}

static void
hash_positions (GChecksum   *cs,
                const gsize *pos,
                gsize        n)
{
  hash_int (cs, pos != NULL ? (gint64) n : -1);
  if (pos != NULL)
    g_checksum_update (cs, (const guchar *) pos, n * sizeof (gsize));
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* A message of describe(): its English msgid for files and the CLI, or its
 * translation in the app's "lathe" catalogue. */
static const char *
status_text (gboolean    translated,
             const char *msgid) G_GNUC_FORMAT (2);

static const char *
status_text (gboolean    translated,
             const char *msgid)
{
  return translated ? g_dgettext (GETTEXT_PACKAGE, msgid) : msgid;
}

char *
lathe_layer_result_describe (const LatheLayerResult *r,
                             gboolean                translated)
{
  const LatheLayerSettings *s;
  GString *out;

  g_return_val_if_fail (r != NULL, NULL);

  s = &r->settings;
  if (s->skip)
    /* translators: a layer's status in the layer table: the plan leaves it alone */
    return g_strdup (status_text (translated, N_("skipped: stays float32")));

  /* Whole phrases, not words glued together, so each can be translated. */
  out = g_string_new (NULL);
  if (s->bits == 32)
    /* translators: a layer status: weights kept as 32-bit floats (usually left as is) */
    g_string_append (out, status_text (translated, N_("float32")));
  else if (s->bits == 16)
    /* translators: a layer status: weights stored as 16-bit floats (usually left as is) */
    g_string_append (out, status_text (translated, N_("float16")));
  else if (g_strcmp0 (s->quantizer, "palette") == 0)
    g_string_append_printf (out, s->granularity == LATHE_GRANULARITY_TENSOR
                                 /* translators: layer status; %d is a bit width, a palette (codebook) for the whole weight */
                                 ? status_text (translated, N_("%d-bit palette per tensor"))
                                 /* translators: layer status; %d is a bit width, a palette (codebook) per output unit */
                                 : status_text (translated, N_("%d-bit palette per channel")),
                            s->bits);
  else
    {
      if (s->granularity == LATHE_GRANULARITY_GROUP)
        /* translators: layer status; a bit width, then how many weights share one scale */
        g_string_append_printf (out, status_text (translated, N_("%d-bit uniform per group of %d")),
                                s->bits, s->group_size);
      else if (s->granularity == LATHE_GRANULARITY_TENSOR)
        /* translators: layer status; %d is a bit width, one scale for the whole weight */
        g_string_append_printf (out, status_text (translated, N_("%d-bit uniform per tensor")), s->bits);
      else
        /* translators: layer status; %d is a bit width, one scale per output unit */
        g_string_append_printf (out, status_text (translated, N_("%d-bit uniform per channel")), s->bits);
      if (s->affine)
        /* translators: appended to a layer status: the quantizer has a zero point */
        g_string_append (out, status_text (translated, N_(", affine")));
      if (s->scale == LATHE_SCALE_MSE)
        /* translators: appended to a layer status: scales chosen to minimise the squared error */
        g_string_append (out, status_text (translated, N_(", MSE scale")));
    }
  if (r->sparsity > 0)
    {
      if (s->pattern == LATHE_PATTERN_NM)
        /* translators: appended to a layer status: N of every M weights kept, e.g. "; 2:4 sparse" */
        g_string_append_printf (out, status_text (translated, N_("; %d:%d sparse")), s->nm_n, s->nm_m);
      else if (s->pattern == LATHE_PATTERN_CHANNEL)
        /* translators: appended to a layer status: the share of weights removed with whole units */
        g_string_append_printf (out, status_text (translated, N_("; %.1f %% channel-pruned")), 100 * r->sparsity);
      else
        /* translators: appended to a layer status: the share of weights removed by magnitude */
        g_string_append_printf (out, status_text (translated, N_("; %.1f %% magnitude-pruned")), 100 * r->sparsity);
    }
  if (r->rows != r->rows_before)
    /* translators: appended to a layer status: output units kept of those the layer had */
    g_string_append_printf (out, status_text (translated, N_("; width %" PRIu64 "/%" PRIu64 " units")),
                            (guint64) r->rows, (guint64) r->rows_before);
  if (r->width_note != NULL)
    /* translators: appended to a layer status; %s says why (a width reason, translated on its own) */
    g_string_append_printf (out, status_text (translated, N_("; width not applied: %s")),
                            translated && r->width_note_local != NULL ? r->width_note_local : r->width_note);
  if (r->bn_folded)
    /* translators: appended to a layer status: the BatchNormalization after it was merged into its weights */
    g_string_append (out, status_text (translated, N_("; BatchNormalization folded in")));
  return g_string_free (out, FALSE);
}

/* The signature of everything that decides layer i's effective weight,
 * bias and result, except other layers (see the global part below). */
static char *
layer_signature (LatheGraph               *base,
                 const LatheLayer         *source,
                 const LatheLayerSettings *s,
                 double                    width,
                 gboolean                  folded,
                 const char               *width_note,
                 const WidthState         *ws,
                 guint                     i,
                 gsize                     input_block,
                 const LathePlan          *plan,
                 LatheTensor             **sources)
{
  g_autoptr(GChecksum) cs = g_checksum_new (G_CHECKSUM_SHA256);
  guint n_keys = 0;
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array (plan->params, &n_keys);
  guint ns = 0;

  sources[ns++] = lathe_graph_value (base, source->weight_id)->initializer;
  if (source->bias_id >= 0)
    sources[ns++] = lathe_graph_value (base, (guint) source->bias_id)->initializer;
  if (folded)
    {
      LatheNode *bn = lathe_graph_node (base, (guint) source->bn_node);
      for (guint k = 1; k < 5; k++)
        sources[ns++] = lathe_graph_value (base, (guint) bn->inputs[k])->initializer;
    }
  for (guint k = 0; k < ns; k++)
    hash_int (cs, (gint64) GPOINTER_TO_SIZE (sources[k]));

  g_checksum_update (cs, (const guchar *) source->name, -1);
  hash_int (cs, s->bits);
  g_checksum_update (cs, (const guchar *) (s->quantizer ? s->quantizer : ""), -1);
  hash_int (cs, s->granularity);
  hash_int (cs, s->group_size);
  hash_int (cs, s->affine);
  hash_int (cs, s->scale);
  hash_double (cs, s->sparsity);
  hash_int (cs, s->pattern);
  hash_int (cs, s->nm_n);
  hash_int (cs, s->nm_m);
  hash_double (cs, width);
  hash_int (cs, s->skip);
  hash_int (cs, folded);
  hash_int (cs, width_note != NULL);
  hash_positions (cs, ws->out_pos[i], ws->n_out[i]);
  hash_positions (cs, ws->in_pos[i], ws->n_in[i]);
  hash_int (cs, (gint64) input_block);

  qsort (keys, n_keys, sizeof (gpointer), compare_strings);
  for (guint k = 0; k < n_keys; k++)
    {
      const char *key = keys[k];
      g_checksum_update (cs, (const guchar *) key, (gssize) strlen (key) + 1);
      g_checksum_update (cs, (const guchar *) g_hash_table_lookup (plan->params, key), -1);
      hash_int (cs, 0);
    }
  return g_strdup (g_checksum_get_string (cs));
}

LatheApplied *
lathe_apply_plan (LatheGraph       *base,
                  GPtrArray        *layers,
                  const LathePlan  *plan,
                  GError          **error)
{
  return lathe_apply_plan_full (base, layers, plan, NULL, NULL, error);
}

LatheApplied *
lathe_apply_plan_full (LatheGraph               *base,
                       GPtrArray                *layers,
                       const LathePlan          *plan,
                       const LatheApplyOptions  *options,
                       LatheApplyCache          *cache,
                       GError                  **error)
{
  static const LatheApplyOptions no_options = { 0 };
  g_autoptr(LatheApplied) applied = NULL;
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
  g_autofree const char **width_note_local = g_new0 (const char *, MAX (n, 1));
  g_autofree char **keys = g_new0 (char *, MAX (n, 1));
  g_autofree CacheEntry **hit = g_new0 (CacheEntry *, MAX (n, 1));
  g_autofree LatheTensor ***sources = g_new0 (LatheTensor **, MAX (n, 1));
  g_autoptr(GPtrArray) owned_act = NULL;
  double **act = NULL;
  WidthState ws;
  g_autoptr(GHashTable) methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  gboolean ok = FALSE;

  g_autofree LatheLayer *L = NULL;

  g_return_val_if_fail (base != NULL && layers != NULL && plan != NULL, NULL);

  if (options == NULL)
    options = &no_options;
  if (!lathe_plan_validate (plan, layers, error))
    return NULL;
  if (options->importance == LATHE_IMPORTANCE_ACTIVATION)
    {
      if (options->calibration == NULL)
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "activation importance needs calibration data from the training split");
          return NULL;
        }
      if (options->evaluation_sha256 != NULL &&
          g_ascii_strcasecmp (lathe_dataset_get_sha256 (options->calibration), options->evaluation_sha256) == 0)
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "calibration data '%s' is the evaluation set (sha256 %s); importance must be "
                       "measured on the training split, never on the data that scores the result",
                       lathe_dataset_get_spec (options->calibration), options->evaluation_sha256);
          return NULL;
        }
    }

  /* Shallow copies: folding may give a layer a new bias value in the
   * effective graph, which the source's layer list must not see. */
  L = g_new0 (LatheLayer, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    L[i] = *(LatheLayer *) g_ptr_array_index (layers, i);

  applied = g_new0 (LatheApplied, 1);
  applied->graph = lathe_graph_copy (base, error);
  if (applied->graph == NULL)
    return NULL;
  applied->results = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_result_free);
  applied->baseline_bytes = lathe_graph_stored_bytes (base);
  width_state_init (&ws, n);

  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      lathe_plan_resolve (plan, layer->name, &settings[i]);
      rows[i] = rows_before[i] = layer->rows;
      cols[i] = layer->cols;
    }
  /* A group's width is its leader's. */
  for (guint i = 0; i < n; i++)
    ws.width[i] = L[i].group_leader >= 0 ? settings[L[i].group_leader].width : settings[i].width;

  /* 1. Fold BatchNormalization into the layer before it. */
  for (guint i = 0; i < n; i++)
    {
      if (plan->fold_bn && L[i].bn_node >= 0 && !settings[i].skip)
        {
          fold_bn (applied->graph, &L[i], dead_nodes);
          folded[i] = TRUE;
        }
    }

  /* 2. Width, group by group in the order of their leaders, so in a chain
   *    a layer's input shrinks before its own units are ranked. */
  for (guint i = 0; i < n; i++)
    if (L[i].group_leader < 0 && L[i].width_reason != NULL && !settings[i].skip && settings[i].width < 1.0)
      {
        width_note[i] = L[i].width_reason;
        width_note_local[i] = L[i].width_reason_local;
      }
  for (guint g = 0; g < n; g++)
    {
      if (L[g].group_leader != (int) g || L[g].group_members == NULL ||
          settings[g].skip || settings[g].width >= 1.0)
        continue;
      if (options->importance == LATHE_IMPORTANCE_ACTIVATION && act == NULL &&
          !(act = get_activations (base, layers, options, cache, &owned_act, error)))
        goto out;
      if (!shrink_group (applied->graph, L, n, g, settings[g].width, options->importance, act,
                         rows, cols, dead_nodes, &ws, error))
        goto out;
    }

  /* Signatures: a layer whose signature is in the cache is done. */
  for (guint i = 0; i < n; i++)
    {
      sources[i] = g_new0 (LatheTensor *, 6);
      keys[i] = layer_signature (base, g_ptr_array_index (layers, i), &settings[i], ws.width[i], folded[i],
                                 width_note[i], &ws, i, L[i].input_block, plan, sources[i]);
    }
  if (plan->global_sparsity)
    {
      /* One magnitude ranking spans every layer. */
      g_autoptr(GChecksum) all = g_checksum_new (G_CHECKSUM_SHA256);
      hash_double (all, plan->defaults.sparsity);
      for (guint i = 0; i < n; i++)
        g_checksum_update (all, (const guchar *) keys[i], -1);
      for (guint i = 0; i < n; i++)
        {
          char *k = g_strconcat (keys[i], "+", g_checksum_get_string (all), NULL);
          g_free (keys[i]);
          keys[i] = k;
        }
    }
  if (cache != NULL)
    {
      cache->recomputed = 0;
      for (guint i = 0; i < n; i++)
        {
          CacheEntry *e = g_hash_table_lookup (cache->entries, L[i].name);
          if (e != NULL && g_str_equal (e->key, keys[i]))
            hit[i] = e;
          else
            cache->recomputed++;
        }
    }

  /* 3. Prune. Magnitude ranks weights in the tensor's own flat order (ties
   *    go to the lower flat index); N:M and channel work on units. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      LatheTensor *w = current (applied->graph, layer->weight_id);

      if (hit[i] != NULL)
        continue;
      views[i] = _lathe_view_extract (w, layer, rows[i], cols[i]);
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
    gboolean any_miss = FALSE;

    for (guint i = 0; i < n; i++)
      {
        LatheTensor *w = current (applied->graph, L[i].weight_id);
        if (settings[i].skip || settings[i].pattern != LATHE_PATTERN_UNSTRUCTURED ||
            (plan->global_sparsity ? plan->defaults.sparsity : settings[i].sparsity) <= 0)
          continue;
        /* A global ranking needs every layer's weights, even cached ones. */
        if (hit[i] != NULL && !plan->global_sparsity)
          continue;
        any_miss |= hit[i] == NULL;
        flat[m] = g_memdup2 (w->data, lathe_tensor_nbytes (w));
        flat_keep[m] = g_malloc (w->n);
        sizes[m] = w->n;
        which[m] = i;
        if (!plan->global_sparsity)
          {
            /* Per layer: the "magnitude" pruner plugin, which ranks the
             * tensor's own flat order. One ranking across layers is not a
             * per-layer method, so the global case calls the kernel. */
            LathePruner *pruner = LATHE_PRUNER (method_for (methods, LATHE_PLUGIN_KIND_PRUNER, "magnitude", plan, error));
            LatheWeightView flat_view = { flat[m], 1, w->n, 1 };
            sizes[m] = w->n;
            which[m] = i;
            m++;
            if (pruner == NULL ||
                !lathe_pruner_prune (pruner, &flat_view, flat[m - 1], w->n, &settings[i], flat_keep[m - 1], error))
              {
                g_prefix_error (error, "layer '%s': ", L[i].name);
                for (guint j = 0; j < m; j++)
                  {
                    g_free (flat[j]);
                    g_free (flat_keep[j]);
                  }
                goto out;
              }
            continue;
          }
        m++;
      }
    if (plan->global_sparsity && m > 0 && any_miss)
      lathe_prune_magnitude_global (flat, sizes, m, plan->defaults.sparsity, flat_keep);

    for (guint j = 0; j < m; j++)
      {
        guint i = which[j];
        LatheTensor tmp = *current (applied->graph, L[i].weight_id);
        gsize zeros = 0;

        if (hit[i] != NULL)
          {
            g_free (flat[j]);
            g_free (flat_keep[j]);
            continue;
          }
        tmp.data = flat[j];
        g_free (views[i]);
        views[i] = _lathe_view_extract (&tmp, &L[i], rows[i], cols[i]);
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

      if (s->skip || hit[i] != NULL)
        continue;
      if (s->pattern == LATHE_PATTERN_NM || (s->pattern == LATHE_PATTERN_CHANNEL && s->sparsity > 0))
        {
          /* Structured pruners are plugins working on units (view order). */
          LathePruner *pruner = LATHE_PRUNER (method_for (methods, LATHE_PLUGIN_KIND_PRUNER,
                                                          lathe_pattern_pruner (s->pattern), plan, error));
          gsize dropped = 0;

          if (pruner == NULL ||
              !lathe_pruner_prune (pruner, &view, NULL, rows[i] * cols[i], s, keep[i], error))
            {
              g_prefix_error (error, "layer '%s': ", layer->name);
              goto out;
            }
          if (s->pattern == LATHE_PATTERN_NM)
            sparsity[i] = 1.0 - (double) s->nm_n / s->nm_m;
          else
            {
              for (gsize r = 0; r < rows[i]; r++)
                dropped += cols[i] > 0 && keep[i][r * cols[i]] == 0;
              sparsity[i] = (double) dropped / rows[i];
            }
        }
    }

  /* 4. Quantize, write back, measure. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = &L[i];
      LatheLayerSettings *s = &settings[i];
      LatheLayerResult *r;
      LatheWeightView view = { views[i], rows[i], cols[i], layer->spatial };
      LatheSizeSpec spec = { 0 };
      LatheTensor *w = current (applied->graph, layer->weight_id);
      gboolean palette_used = FALSE;
      double sig = 0, err = 0;

      if (hit[i] != NULL)
        {
          /* Exactly what the same signature computed before. */
          replace (applied->graph, (int) layer->weight_id, lathe_tensor_ref (hit[i]->weight));
          if (hit[i]->bias != NULL && layer->bias_id >= 0)
            replace (applied->graph, layer->bias_id, lathe_tensor_ref (hit[i]->bias));
          g_ptr_array_add (applied->results, layer_result_copy (hit[i]->result));
          hit[i]->touched = TRUE;
          continue;
        }

      r = g_new0 (LatheLayerResult, 1);
      r->name = g_strdup (layer->name);
      lathe_layer_settings_copy (&r->settings, s);
      r->settings.width = ws.width[i];
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
          r->status = lathe_layer_result_describe (r, FALSE);
          r->packed_bytes = lathe_tensor_nbytes (w);
          r->sqnr_db = INFINITY;
          goto store;
        }

      if (s->bits < 32)
        {
          /* Quantizers are plugins, named by the plan ("uniform",
           * "palette"); 16 bits is float16 in both. */
          LatheQuantizer *quantizer = LATHE_QUANTIZER (method_for (methods, LATHE_PLUGIN_KIND_QUANTIZER,
                                                                   s->quantizer, plan, error));
          gboolean uniform = g_strcmp0 (s->quantizer, "uniform") == 0;

          if (quantizer == NULL ||
              !lathe_quantizer_quantize (quantizer, &view, s, keep[i],
                                         uniform && s->bits < 16 ? &r->quantized : NULL, error))
            {
              g_prefix_error (error, "layer '%s': ", layer->name);
              goto out;
            }
          r->fp16 = s->bits == 16;
          palette_used = !uniform && s->bits < 16;
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
                : palette_used ? LATHE_SIZE_PALETTE : LATHE_SIZE_UNIFORM;
      spec.n_scales = r->quantized ? r->quantized->n_scales : 0;
      spec.affine = s->affine && r->quantized != NULL;
      /* one codebook per tensor, or per unit */
      spec.n_codebooks = !palette_used ? 0 : s->granularity == LATHE_GRANULARITY_CHANNEL ? rows[i] : 1;
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
          if (palette_used && s->granularity == LATHE_GRANULARITY_CHANNEL)
            spec.n_codebooks = spec.kept_rows;
        }
      spec.pruned = sparsity[i] > 0;   /* dense: no index */
      r->packed_bytes = lathe_size_tensor (&spec, NULL);

      r->width_note = g_strdup (width_note[i]);
      r->width_note_local = g_strdup (width_note_local[i]);
      r->status = lathe_layer_result_describe (r, FALSE);

    store:
      if (cache != NULL)
        {
          CacheEntry *e = g_new0 (CacheEntry, 1);
          e->key = g_strdup (keys[i]);
          for (guint k = 0; k < G_N_ELEMENTS (e->sources) && sources[i][k] != NULL; k++)
            e->sources[k] = lathe_tensor_ref (sources[i][k]);
          e->weight = lathe_tensor_ref (current (applied->graph, layer->weight_id));
          e->bias = layer->bias_id >= 0 ? lathe_tensor_ref (current (applied->graph, layer->bias_id)) : NULL;
          e->result = layer_result_copy (r);
          e->touched = TRUE;
          g_hash_table_replace (cache->entries, g_strdup (layer->name), e);
        }
    }

  /* Drop the folded BatchNormalization nodes and renumber. */
  if (dead_nodes->len > 0)
    {
      g_autoptr(GPtrArray) kept_nodes = g_ptr_array_new ();
      GPtrArray *nodes = applied->graph->nodes;

      for (guint k = 0; k < nodes->len; k++)
        {
          if (is_dead (dead_nodes, (int) k))
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

  /* Entries of layers this plan did not have go. */
  if (cache != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, cache->entries);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          CacheEntry *e = value;
          if (!e->touched)
            g_hash_table_iter_remove (&iter);
          else
            e->touched = FALSE;
        }
    }
  ok = TRUE;

out:
  for (guint i = 0; i < n; i++)
    {
      g_free (views[i]);
      g_free (before[i]);
      g_free (keep[i]);
      g_free (keys[i]);
      g_free (sources[i]);
      lathe_layer_settings_clear (&settings[i]);
    }
  width_state_clear (&ws, n);
  return ok ? g_steal_pointer (&applied) : NULL;
}
