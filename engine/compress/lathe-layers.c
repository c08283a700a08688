/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <string.h>

#include "compress/lathe-layers.h"
#include "core/lathe-error.h"
#include "eval/lathe-executor.h"

void
lathe_layer_free (LatheLayer *layer)
{
  if (layer == NULL)
    return;
  g_free (layer->name);
  g_free (layer->width_reason);
  g_clear_pointer (&layer->bn_between, g_array_unref);
  g_free (layer);
}

int
lathe_layers_index (GPtrArray  *layers,
                    const char *name)
{
  for (guint i = 0; i < layers->len; i++)
    if (g_strcmp0 (((LatheLayer *) g_ptr_array_index (layers, i))->name, name) == 0)
      return (int) i;
  return -1;
}

typedef struct {
  guint node;
  guint input;
} Use;

/* value id → GArray of Use */
static GPtrArray *
build_uses (LatheGraph *graph)
{
  GPtrArray *uses = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  for (guint v = 0; v < graph->values->len; v++)
    g_ptr_array_add (uses, g_array_new (FALSE, FALSE, sizeof (Use)));
  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      for (guint i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0)
          {
            Use u = { k, i };
            g_array_append_val (g_ptr_array_index (uses, node->inputs[i]), u);
          }
    }
  return uses;
}

static gboolean
is_graph_output (LatheGraph *graph,
                 guint       value)
{
  for (guint i = 0; i < graph->outputs->len; i++)
    if (g_array_index (graph->outputs, guint, i) == value)
      return TRUE;
  return FALSE;
}

static gboolean
is_initializer (LatheGraph *graph,
                int         value)
{
  return value >= 0 && lathe_graph_value (graph, (guint) value)->kind == LATHE_VALUE_INITIALIZER;
}

/* Ops that keep every channel where it was. */
static gboolean
is_channelwise (const char *op)
{
  static const char * const ops[] = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Erf", "Sqrt", "Dropout", "Identity",
    "MaxPool", "AveragePool", "GlobalAveragePool",
  };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    if (g_str_equal (op, ops[i]))
      return TRUE;
  return FALSE;
}

static int
layer_at_node (GPtrArray *layers,
               guint      node)
{
  for (guint i = 0; i < layers->len; i++)
    if (((LatheLayer *) g_ptr_array_index (layers, i))->node == node)
      return (int) i;
  return -1;
}

/* A BatchNormalization in inference form with constant parameters. */
static gboolean
is_foldable_bn (LatheGraph *graph,
                LatheNode  *bn)
{
  if (!g_str_equal (bn->op_type, "BatchNormalization") || bn->n_inputs != 5 || bn->n_outputs != 1)
    return FALSE;
  for (guint i = 1; i < 5; i++)
    if (!is_initializer (graph, bn->inputs[i]))
      return FALSE;
  if (bn->since < 9 && lathe_node_get_int (bn, "spatial", 1) != 1)
    return FALSE;
  return TRUE;
}

static void
trace_width (LatheGraph  *graph,
             GPtrArray   *layers,
             GPtrArray   *uses,
             LatheLayer  *layer,
             LatheExecutor *shapes)
{
  LatheNode *node = lathe_graph_node (graph, layer->node);
  int cur = node->outputs[0];
  gboolean flattened = FALSE;

  layer->bn_between = g_array_new (FALSE, FALSE, sizeof (guint));
  layer->follower = -1;

  if (layer->group != 1)
    {
      layer->width_reason = g_strdup ("its convolution is grouped, so its channels are tied to its input");
      return;
    }

  for (;;)
    {
      GArray *u = g_ptr_array_index (uses, cur);
      LatheNode *next;
      Use use;

      if (is_graph_output (graph, (guint) cur))
        {
          layer->is_output = TRUE;
          layer->width_reason = g_strdup ("the final classifier's output width is fixed");
          return;
        }
      if (u->len != 1)
        {
          for (guint i = 0; i < u->len; i++)
            {
              LatheNode *c = lathe_graph_node (graph, g_array_index (u, Use, i).node);
              if (g_str_equal (c->op_type, "Add") || g_str_equal (c->op_type, "Concat"))
                {
                  layer->width_reason = g_strdup_printf ("its channels are tied to other layers by %s node '%s' "
                                                         "(width groups are not supported yet)",
                                                         c->op_type, c->name);
                  return;
                }
            }
          layer->width_reason = g_strdup_printf ("its output feeds %u nodes", u->len);
          return;
        }
      use = g_array_index (u, Use, 0);
      next = lathe_graph_node (graph, use.node);

      if (use.input == 0 && g_str_equal (next->op_type, "BatchNormalization") && is_foldable_bn (graph, next))
        {
          if (flattened)
            break;
          g_array_append_val (layer->bn_between, use.node);
          cur = next->outputs[0];
          continue;
        }
      if (use.input == 0 && is_channelwise (next->op_type) && !flattened)
        {
          cur = next->outputs[0];
          continue;
        }
      if (use.input == 0 && g_str_equal (next->op_type, "Flatten") && !flattened &&
          lathe_node_get_int (next, "axis", 1) == 1)
        {
          LatheTensor *t = shapes ? lathe_executor_get_value (shapes, (guint) cur) : NULL;
          gsize sp = 1;
          if (t == NULL || t->ndim < 2)
            {
              layer->width_reason = g_strdup ("the shape before the Flatten is unknown");
              return;
            }
          for (guint d = 2; d < t->ndim; d++)
            sp *= (gsize) t->dims[d];
          layer->follow_spatial = sp;
          flattened = TRUE;
          cur = next->outputs[0];
          continue;
        }
      if (use.input == 0)
        {
          int f = layer_at_node (layers, use.node);
          if (f >= 0)
            {
              LatheLayer *fl = g_ptr_array_index (layers, f);
              if (g_str_equal (next->op_type, "Conv") && !flattened)
                {
                  if (fl->group != 1)
                    break;
                  layer->follower = f;
                  layer->follow_kind = LATHE_FOLLOW_CONV;
                  return;
                }
              if ((g_str_equal (next->op_type, "Gemm") && lathe_node_get_int (next, "transA", 0) == 0) ||
                  g_str_equal (next->op_type, "MatMul"))
                {
                  LatheTensor *t = shapes ? lathe_executor_get_value (shapes, (guint) cur) : NULL;
                  if (!flattened && (t == NULL || t->ndim != 2))
                    break;   /* a MatMul over a sequence: units are not its input axis alone */
                  layer->follower = f;
                  layer->follow_kind = flattened ? LATHE_FOLLOW_FLATTENED : LATHE_FOLLOW_GEMM;
                  if (!flattened)
                    layer->follow_spatial = 1;
                  return;
                }
            }
        }
      layer->width_reason = g_strdup_printf ("its units pass through %s node '%s', which width does not follow",
                                             next->op_type, next->name);
      return;
    }
  layer->width_reason = g_strdup ("its units do not reach a layer width can shrink");
}

GPtrArray *
lathe_find_layers (LatheGraph  *graph,
                   GError     **error)
{
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_layer_free);
  g_autoptr(GPtrArray) uses = build_uses (graph);
  g_autoptr(LatheExecutor) exec = lathe_executor_new (graph);
  g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
  gboolean have_shapes = FALSE;

  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      LatheLayer *layer;
      LatheTensor *w;
      gboolean conv = g_str_equal (node->op_type, "Conv");
      gboolean gemm = g_str_equal (node->op_type, "Gemm");
      gboolean matmul = g_str_equal (node->op_type, "MatMul");

      if (!(conv || gemm || matmul) || node->n_inputs < 2 || !is_initializer (graph, node->inputs[1]))
        continue;
      w = lathe_graph_value (graph, (guint) node->inputs[1])->initializer;
      if (w->dtype != LATHE_DTYPE_FLOAT || (conv && w->ndim < 3) || (!conv && w->ndim != 2))
        continue;
      /* A weight shared by several nodes is not one layer's to change. */
      if (((GArray *) g_ptr_array_index (uses, node->inputs[1]))->len != 1)
        continue;

      layer = g_new0 (LatheLayer, 1);
      layer->name = g_strdup (lathe_graph_value (graph, (guint) node->inputs[1])->name);
      layer->weight_id = (guint) node->inputs[1];
      layer->node = k;
      layer->op_type = node->op_type;
      layer->bias_id = -1;
      layer->bn_node = -1;
      layer->follower = -1;
      layer->group = conv ? lathe_node_get_int (node, "group", 1) : 1;
      if (conv)
        {
          layer->out_axis = 0;
          layer->rows = (gsize) w->dims[0];
          layer->spatial = 1;
          for (guint d = 2; d < w->ndim; d++)
            layer->spatial *= (gsize) w->dims[d];
          layer->cols = (gsize) w->dims[1] * layer->spatial;
          if (node->n_inputs > 2 && is_initializer (graph, node->inputs[2]))
            layer->bias_id = node->inputs[2];
        }
      else
        {
          gboolean trans_b = gemm && lathe_node_get_int (node, "transB", 0) != 0;
          layer->out_axis = trans_b ? 0 : 1;
          layer->rows = (gsize) w->dims[layer->out_axis];
          layer->cols = (gsize) w->dims[1 - layer->out_axis];
          layer->spatial = 1;
          if (gemm && node->n_inputs > 2 && is_initializer (graph, node->inputs[2]))
            {
              LatheTensor *c = lathe_graph_value (graph, (guint) node->inputs[2])->initializer;
              /* only a per-unit bias shrinks with the units */
              if (c->n == layer->rows && lathe_node_get_float (node, "beta", 1.f) == 1.f)
                layer->bias_id = node->inputs[2];
            }
        }

      /* BatchNormalization right after, on this output alone. */
      {
        GArray *u = g_ptr_array_index (uses, node->outputs[0]);
        /* Gemm folds only where its bias (C) is per unit with beta 1, or absent. */
        gboolean gemm_ok = gemm && lathe_node_get_float (node, "beta", 1.f) == 1.f &&
                           (layer->bias_id >= 0 || node->n_inputs < 3);
        if (u->len == 1 && !is_graph_output (graph, (guint) node->outputs[0]) && layer->group == 1 &&
            (conv || gemm_ok))
          {
            Use use = g_array_index (u, Use, 0);
            LatheNode *bn = lathe_graph_node (graph, use.node);
            if (use.input == 0 && is_foldable_bn (graph, bn) &&
                lathe_graph_value (graph, (guint) bn->inputs[1])->initializer->n == layer->rows)
              layer->bn_node = (int) use.node;
          }
      }
      g_ptr_array_add (layers, layer);
    }

  if (graph->inputs->len == 1 &&
      lathe_graph_input_shape_for_batch (graph, 0, 1, meta, NULL) &&
      lathe_executor_prepare (exec, 1, &meta, NULL))
    have_shapes = TRUE;

  for (guint i = 0; i < layers->len; i++)
    trace_width (graph, layers, uses, g_ptr_array_index (layers, i), have_shapes ? exec : NULL);

  return g_steal_pointer (&layers);
}
