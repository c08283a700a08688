/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-eval"

#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"

#define ARENA_ALIGN 64

typedef struct {
  char          *key;          /* input shapes signature */
  guint          n_values;
  LatheTensor  **values;       /* per value id; NULL when never produced */
  gboolean      *is_const;
  GArray        *steps;        /* guint node indices run per batch */
  gpointer       arena;
  gsize          arena_size;
  gpointer       workspace;
  gsize          workspace_size;
} LathePlan;

struct _LatheExecutor {
  LatheGraph  *graph;
  GHashTable  *plans;          /* key → LathePlan* */
  LathePlan   *current;
  gint64      *profile;        /* µs per node, NULL unless profiling */
  GArray      *keep;           /* guint value ids kept alive to the end */
};

static void
lathe_plan_free (gpointer data)
{
  LathePlan *plan = data;

  for (guint i = 0; i < plan->n_values; i++)
    g_clear_pointer (&plan->values[i], lathe_tensor_unref);
  g_free (plan->values);
  g_free (plan->is_const);
  g_array_unref (plan->steps);
  lathe_aligned_free (plan->arena);
  lathe_aligned_free (plan->workspace);
  g_free (plan->key);
  g_free (plan);
}

LatheExecutor *
lathe_executor_new (LatheGraph *graph)
{
  LatheExecutor *self = g_new0 (LatheExecutor, 1);

  self->graph = graph;
  self->plans = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, lathe_plan_free);
  return self;
}

void
lathe_executor_free (LatheExecutor *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->plans);
  g_free (self->profile);
  g_clear_pointer (&self->keep, g_array_unref);
  g_free (self);
}

void
lathe_executor_invalidate (LatheExecutor *self)
{
  self->current = NULL;
  g_hash_table_remove_all (self->plans);
}

#define MAX_SHAPE_INPUT 64

/* A small integer input given with its data (a shape, axes, starts…) is
 * folded like a constant: the plan depends on its values, as it would on
 * an initializer's, so they become part of the plan's key. */
static gboolean
is_shape_input (const LatheTensor *t)
{
  return t->data != NULL && t->n <= MAX_SHAPE_INPUT &&
         (t->dtype == LATHE_DTYPE_INT64 || t->dtype == LATHE_DTYPE_INT32);
}

static char *
shapes_key (guint          n_inputs,
            LatheTensor  **inputs)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n_inputs; i++)
    {
      g_autofree char *dims = lathe_shape_to_string (inputs[i]->ndim, inputs[i]->dims);
      g_string_append_printf (s, "%d%s", inputs[i]->dtype, dims);
      if (is_shape_input (inputs[i]))
        for (gsize k = 0; k < inputs[i]->n; k++)
          g_string_append_printf (s, ",%" G_GINT64_FORMAT,
                                  inputs[i]->dtype == LATHE_DTYPE_INT64
                                  ? ((const gint64 *) inputs[i]->data)[k]
                                  : (gint64) ((const gint32 *) inputs[i]->data)[k]);
      g_string_append_c (s, ';');
    }
  return g_string_free (s, FALSE);
}

static LatheTensor *
meta_tensor (void)
{
  return lathe_tensor_new_borrowed (LATHE_DTYPE_UNDEFINED, 0, NULL, NULL);
}

static gboolean
check_input (LatheValue   *value,
             LatheTensor  *given,
             GError      **error)
{
  gboolean ok = TRUE;

  if (value->dtype != LATHE_DTYPE_UNDEFINED && given->dtype != value->dtype)
    ok = FALSE;
  if (value->ndim >= 0)
    {
      if ((guint) value->ndim != given->ndim)
        ok = FALSE;
      else
        for (guint d = 0; d < given->ndim; d++)
          if (value->dims[d] >= 0 && value->dims[d] != given->dims[d])
            ok = FALSE;
    }

  if (!ok)
    {
      g_autofree char *want = NULL;
      g_autofree char *got = lathe_shape_to_string (given->ndim, given->dims);

      if (value->ndim >= 0)
        {
          GString *s = g_string_new ("[");
          for (int d = 0; d < value->ndim; d++)
            {
              if (d > 0)
                g_string_append_c (s, ',');
              if (value->dims[d] >= 0)
                g_string_append_printf (s, "%" G_GINT64_FORMAT, value->dims[d]);
              else
                g_string_append (s, value->dim_param0 && d == 0 ? value->dim_param0 : "?");
            }
          g_string_append_c (s, ']');
          want = g_string_free (s, FALSE);
        }
      else
        want = g_strdup ("any shape");

      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT,
                   "model input '%s' expects %s %s, got %s %s",
                   value->name, lathe_dtype_name (value->dtype), want,
                   lathe_dtype_name (given->dtype), got);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  gsize offset;
  gsize size;
} Block;

/* First fit into the gaps between live blocks (kept sorted by offset). */
static gsize
arena_alloc (GArray *live,
             gsize   size,
             gsize  *arena_size)
{
  gsize offset = 0;
  guint pos = 0;
  Block b;

  size = (MAX (size, 1) + ARENA_ALIGN - 1) & ~(gsize) (ARENA_ALIGN - 1);
  for (pos = 0; pos < live->len; pos++)
    {
      Block *cur = &g_array_index (live, Block, pos);
      if (cur->offset >= offset + size)
        break;
      offset = MAX (offset, cur->offset + cur->size);
    }
  b.offset = offset;
  b.size = size;
  g_array_insert_val (live, pos, b);
  *arena_size = MAX (*arena_size, offset + size);
  return offset;
}

static void
arena_release (GArray *live,
               gsize   offset)
{
  for (guint i = 0; i < live->len; i++)
    if (g_array_index (live, Block, i).offset == offset)
      {
        g_array_remove_index (live, i);
        return;
      }
  g_assert_not_reached ();
}

static LathePlan *
build_plan (LatheExecutor  *self,
            guint           n_inputs,
            LatheTensor   **inputs,
            GError        **error)
{
  LatheGraph *graph = self->graph;
  LathePlan *plan = g_new0 (LathePlan, 1);
  guint n_values = graph->values->len;
  g_autofree int *root = NULL;          /* buffer-owning value of each value */
  g_autofree int *last_use = NULL;      /* step index of the last reader of a root */
  g_autofree int *first_def = NULL;     /* step index where a root is written; -1 for inputs */
  g_autofree gsize *offset = NULL;
  g_autoptr(GArray) live = NULL;
  int n_steps;

  plan->n_values = n_values;
  plan->values = g_new0 (LatheTensor *, n_values);
  plan->is_const = g_new0 (gboolean, n_values);
  plan->steps = g_array_new (FALSE, FALSE, sizeof (guint));
  root = g_new (int, n_values);
  for (guint v = 0; v < n_values; v++)
    root[v] = (int) v;

  if (n_inputs != graph->inputs->len)
    {
      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT,
                   "the model takes %u inputs, %u given", graph->inputs->len, n_inputs);
      goto fail;
    }

  for (guint v = 0; v < n_values; v++)
    {
      LatheValue *value = lathe_graph_value (graph, v);
      if (value->kind == LATHE_VALUE_INITIALIZER)
        {
          plan->values[v] = lathe_tensor_ref (value->initializer);
          plan->is_const[v] = TRUE;
        }
    }

  for (guint i = 0; i < n_inputs; i++)
    {
      guint v = g_array_index (graph->inputs, guint, i);
      LatheValue *value = lathe_graph_value (graph, v);
      LatheTensor *t;

      if (!check_input (value, inputs[i], error))
        goto fail;
      if (is_shape_input (inputs[i]))
        {
          plan->values[v] = lathe_tensor_dup (inputs[i]);
          plan->is_const[v] = TRUE;
          continue;
        }
      t = meta_tensor ();
      lathe_tensor_set_meta (t, inputs[i]->dtype, inputs[i]->ndim, inputs[i]->dims);
      if (!lathe_shape_numel (t->ndim, t->dims, &t->n))
        {
          lathe_tensor_unref (t);
          g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_OVERFLOW,
                       "input '%s' has a negative or overflowing shape", value->name);
          goto fail;
        }
      plan->values[v] = t;
    }

  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      const LatheOpDef *op = node->op;
      LatheTensor *ins[node->n_inputs + 1];
      LatheTensor *outs[node->n_outputs + 1];
      gboolean all_const = TRUE;
      gsize workspace = 0;

      for (guint i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          ins[i] = v >= 0 ? plan->values[v] : NULL;
          if (v >= 0 && ins[i] == NULL)
            {
              lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                    "input '%s' has no value",
                                    lathe_graph_value (graph, (guint) v)->name);
              goto fail;
            }
          if (v >= 0 && !plan->is_const[v])
            {
              all_const = FALSE;
              if (op->const_inputs & (1u << i))
                {
                  lathe_node_unsupported_attr (error, node,
                                               "input %u ('%s') must be a constant, not computed at run time",
                                               i, lathe_graph_value (graph, (guint) v)->name);
                  goto fail;
                }
            }
        }

      for (guint o = 0; o < node->n_outputs; o++)
        outs[o] = meta_tensor ();

      if (!op->infer (node, ins, outs, &workspace, error))
        {
          for (guint o = 0; o < node->n_outputs; o++)
            lathe_tensor_unref (outs[o]);
          goto fail;
        }

      for (guint o = 0; o < node->n_outputs; o++)
        {
          LatheTensor *t = outs[o];
          gsize esize = lathe_dtype_size (t->dtype);

          if (node->outputs[o] < 0)
            continue;   /* omitted optional output: nothing to store */
          if (!lathe_dtype_traits (t->dtype)->storable ||
              !lathe_shape_numel (t->ndim, t->dims, &t->n) ||
              (esize > 0 && t->n > G_MAXSIZE / 16 / esize))
            {
              g_autofree char *s = lathe_shape_to_string (t->ndim, t->dims);
              lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_OVERFLOW,
                                    "output %u has an invalid shape %s", o, s);
              for (guint j = 0; j < node->n_outputs; j++)
                lathe_tensor_unref (outs[j]);
              goto fail;
            }
        }

      if (all_const || (op->flags & LATHE_OP_FLAG_SHAPE_ONLY))
        {
          /* Fold now: the result is the same for every batch. */
          g_autofree gpointer ws = workspace > 0 ? lathe_aligned_alloc0 (workspace) : NULL;
          gboolean ok;

          for (guint o = 0; o < node->n_outputs; o++)
            {
              if (node->outputs[o] < 0)
                continue;
              outs[o]->data = lathe_aligned_alloc0 (lathe_tensor_nbytes (outs[o]));
              outs[o]->owns_data = TRUE;
            }
          {
            LatheTensor *run_outs[node->n_outputs + 1];
            for (guint o = 0; o < node->n_outputs; o++)
              run_outs[o] = node->outputs[o] >= 0 ? outs[o] : NULL;
            ok = op->run (node, ins, run_outs, ws, error);
          }
          if (ws != NULL)
            lathe_aligned_free (g_steal_pointer (&ws));
          for (guint o = 0; o < node->n_outputs; o++)
            {
              int v = node->outputs[o];
              if (ok && v >= 0)
                {
                  plan->values[v] = outs[o];
                  plan->is_const[v] = TRUE;
                }
              else
                lathe_tensor_unref (outs[o]);
            }
          if (!ok)
            goto fail;
          continue;
        }

      for (guint o = 0; o < node->n_outputs; o++)
        {
          int v = node->outputs[o];
          if (v >= 0)
            plan->values[v] = outs[o];
          else
            lathe_tensor_unref (outs[o]);   /* omitted optional output */
        }

      if ((op->flags & LATHE_OP_FLAG_ALIAS) && node->outputs[0] >= 0 && node->inputs[0] >= 0 &&
          !plan->is_const[node->inputs[0]] &&
          lathe_tensor_nbytes (plan->values[node->outputs[0]]) == lathe_tensor_nbytes (ins[0]))
        {
          root[node->outputs[0]] = root[node->inputs[0]];
          /* an alias whose other outputs are unused needs no step */
          if (node->n_outputs == 1 || node->outputs[1] < 0)
            continue;
        }

      plan->workspace_size = MAX (plan->workspace_size, workspace);
      g_array_append_val (plan->steps, k);
    }

  for (guint i = 0; i < graph->outputs->len; i++)
    {
      guint v = g_array_index (graph->outputs, guint, i);
      if (plan->values[v] == NULL)
        {
          g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                       "model output '%s' is never computed",
                       lathe_graph_value (graph, v)->name);
          goto fail;
        }
    }

  /* Liveness over the steps, per buffer root. */
  n_steps = (int) plan->steps->len;
  last_use = g_new (int, n_values);
  first_def = g_new (int, n_values);
  offset = g_new0 (gsize, n_values);
  for (guint v = 0; v < n_values; v++)
    {
      last_use[v] = -2;
      first_def[v] = G_MAXINT;
    }
  for (guint i = 0; i < graph->inputs->len; i++)
    first_def[g_array_index (graph->inputs, guint, i)] = -1;
  for (int s = 0; s < n_steps; s++)
    {
      LatheNode *node = lathe_graph_node (graph, g_array_index (plan->steps, guint, s));
      for (guint i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0 && !plan->is_const[node->inputs[i]])
          last_use[root[node->inputs[i]]] = MAX (last_use[root[node->inputs[i]]], s);
      for (guint o = 0; o < node->n_outputs; o++)
        if (node->outputs[o] >= 0)
          {
            int r = root[node->outputs[o]];
            first_def[r] = MIN (first_def[r], s);
            last_use[r] = MAX (last_use[r], s);
          }
    }
  for (guint i = 0; i < graph->outputs->len; i++)
    {
      guint v = g_array_index (graph->outputs, guint, i);
      if (!plan->is_const[v])
        last_use[root[v]] = G_MAXINT;
    }
  for (guint i = 0; self->keep != NULL && i < self->keep->len; i++)
    {
      guint v = g_array_index (self->keep, guint, i);
      if (v < n_values && plan->values[v] != NULL && !plan->is_const[v])
        last_use[root[v]] = G_MAXINT;
    }
  for (guint i = 0; i < graph->inputs->len; i++)
    {
      guint v = g_array_index (graph->inputs, guint, i);
      last_use[v] = MAX (last_use[v], -1);
    }

  live = g_array_new (FALSE, FALSE, sizeof (Block));
  for (int s = -1; s < n_steps; s++)
    {
      /* allocate the roots first written at step s */
      for (guint v = 0; v < n_values; v++)
        if (root[v] == (int) v && first_def[v] == s && !plan->is_const[v] && plan->values[v] != NULL)
          offset[v] = arena_alloc (live, lathe_tensor_nbytes (plan->values[v]), &plan->arena_size);
      /* free the roots whose last reader is step s */
      for (guint v = 0; v < n_values; v++)
        if (root[v] == (int) v && first_def[v] <= s && last_use[v] == s &&
            !plan->is_const[v] && plan->values[v] != NULL)
          arena_release (live, offset[v]);
    }

  plan->arena = lathe_aligned_alloc0 (plan->arena_size);
  for (guint v = 0; v < n_values; v++)
    if (!plan->is_const[v] && plan->values[v] != NULL)
      plan->values[v]->data = (char *) plan->arena + offset[root[v]];
  if (plan->workspace_size > 0)
    plan->workspace = lathe_aligned_alloc0 (plan->workspace_size);

  plan->key = shapes_key (n_inputs, inputs);
  return plan;

fail:
  lathe_plan_free (plan);
  return NULL;
}

gboolean
lathe_executor_prepare (LatheExecutor  *self,
                        guint           n_inputs,
                        LatheTensor   **inputs,
                        GError        **error)
{
  g_autofree char *key = shapes_key (n_inputs, inputs);
  LathePlan *plan = g_hash_table_lookup (self->plans, key);

  if (plan == NULL)
    {
      plan = build_plan (self, n_inputs, inputs, error);
      if (plan == NULL)
        return FALSE;
      g_hash_table_insert (self->plans, plan->key, plan);
    }
  self->current = plan;
  return TRUE;
}

LatheTensor *
lathe_executor_get_input (LatheExecutor *self,
                          guint          i)
{
  g_return_val_if_fail (self->current != NULL, NULL);
  g_return_val_if_fail (i < self->graph->inputs->len, NULL);
  return self->current->values[g_array_index (self->graph->inputs, guint, i)];
}

gboolean
lathe_executor_execute (LatheExecutor  *self,
                        GError        **error)
{
  LathePlan *plan = self->current;
  LatheGraph *graph = self->graph;

  g_return_val_if_fail (plan != NULL, FALSE);

  for (guint s = 0; s < plan->steps->len; s++)
    {
      LatheNode *node = lathe_graph_node (graph, g_array_index (plan->steps, guint, s));
      LatheTensor *ins[node->n_inputs + 1];
      LatheTensor *outs[node->n_outputs + 1];

      for (guint i = 0; i < node->n_inputs; i++)
        ins[i] = node->inputs[i] >= 0 ? plan->values[node->inputs[i]] : NULL;
      for (guint o = 0; o < node->n_outputs; o++)
        outs[o] = node->outputs[o] >= 0 ? plan->values[node->outputs[o]] : NULL;
      if (self->profile != NULL)
        {
          gint64 t0 = g_get_monotonic_time ();
          if (!node->op->run (node, ins, outs, plan->workspace, error))
            return FALSE;
          self->profile[node->index] += g_get_monotonic_time () - t0;
        }
      else if (!node->op->run (node, ins, outs, plan->workspace, error))
        return FALSE;
    }
  return TRUE;
}

void
lathe_executor_set_keep (LatheExecutor *self,
                         const guint   *value_ids,
                         guint          n)
{
  g_clear_pointer (&self->keep, g_array_unref);
  if (n > 0)
    {
      self->keep = g_array_new (FALSE, FALSE, sizeof (guint));
      g_array_append_vals (self->keep, value_ids, n);
    }
  lathe_executor_invalidate (self);
}

gboolean
lathe_executor_execute_from (LatheExecutor  *self,
                             guint           value_id,
                             GError        **error)
{
  LathePlan *plan = self->current;
  LatheGraph *graph = self->graph;
  LatheValue *value;
  guint first = 0;

  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (value_id < plan->n_values, FALSE);

  /* Every step after the value's producer is downstream of it: the caller
   * promises the value is the only one live across this point. */
  value = lathe_graph_value (graph, value_id);
  if (value->producer >= 0)
    while (first < plan->steps->len &&
           g_array_index (plan->steps, guint, first) <= (guint) value->producer)
      first++;

  for (guint s = first; s < plan->steps->len; s++)
    {
      LatheNode *node = lathe_graph_node (graph, g_array_index (plan->steps, guint, s));
      LatheTensor *ins[node->n_inputs + 1];
      LatheTensor *outs[node->n_outputs + 1];

      for (guint i = 0; i < node->n_inputs; i++)
        ins[i] = node->inputs[i] >= 0 ? plan->values[node->inputs[i]] : NULL;
      for (guint o = 0; o < node->n_outputs; o++)
        outs[o] = node->outputs[o] >= 0 ? plan->values[node->outputs[o]] : NULL;
      if (!node->op->run (node, ins, outs, plan->workspace, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
lathe_executor_run (LatheExecutor  *self,
                    guint           n_inputs,
                    LatheTensor   **inputs,
                    GError        **error)
{
  if (!lathe_executor_prepare (self, n_inputs, inputs, error))
    return FALSE;
  for (guint i = 0; i < n_inputs; i++)
    {
      LatheTensor *dst = lathe_executor_get_input (self, i);
      if (dst->data != inputs[i]->data && !is_shape_input (inputs[i]))
        memcpy (dst->data, inputs[i]->data, lathe_tensor_nbytes (inputs[i]));
    }
  return lathe_executor_execute (self, error);
}

guint
lathe_executor_get_n_outputs (LatheExecutor *self)
{
  return self->graph->outputs->len;
}

LatheTensor *
lathe_executor_get_output (LatheExecutor *self,
                           guint          i)
{
  g_return_val_if_fail (self->current != NULL, NULL);
  g_return_val_if_fail (i < self->graph->outputs->len, NULL);
  return self->current->values[g_array_index (self->graph->outputs, guint, i)];
}

LatheTensor *
lathe_executor_get_value (LatheExecutor *self,
                          guint          value_id)
{
  g_return_val_if_fail (self->current != NULL, NULL);
  g_return_val_if_fail (value_id < self->current->n_values, NULL);
  return self->current->values[value_id];
}

gboolean
lathe_executor_is_constant (LatheExecutor *self,
                            guint          value_id)
{
  g_return_val_if_fail (self->current != NULL, FALSE);
  g_return_val_if_fail (value_id < self->current->n_values, FALSE);
  return self->current->is_const[value_id];
}

void
lathe_executor_set_profiling (LatheExecutor *self,
                              gboolean       enabled)
{
  g_clear_pointer (&self->profile, g_free);
  if (enabled)
    self->profile = g_new0 (gint64, MAX (self->graph->nodes->len, 1));
}

const gint64 *
lathe_executor_get_profile (LatheExecutor *self,
                            guint         *n_nodes)
{
  *n_nodes = self->profile ? self->graph->nodes->len : 0;
  return self->profile;
}

gsize
lathe_executor_get_arena_size (LatheExecutor *self)
{
  return self->current != NULL ? self->current->arena_size : 0;
}

gboolean
lathe_graph_input_shape_for_batch (LatheGraph   *graph,
                                   guint         i,
                                   gint64        batch,
                                   LatheTensor  *meta,
                                   GError      **error)
{
  LatheValue *value;
  gint64 dims[LATHE_MAX_DIMS];

  g_return_val_if_fail (i < graph->inputs->len, FALSE);
  value = lathe_graph_value (graph, g_array_index (graph->inputs, guint, i));
  if (value->ndim < 1)
    {
      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT,
                   "model input '%s' has no declared shape", value->name);
      return FALSE;
    }
  for (int d = 0; d < value->ndim; d++)
    {
      dims[d] = d == 0 ? batch : value->dims[d];
      if (dims[d] < 0)
        {
          g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_INPUT,
                       "model input '%s' has a symbolic dimension %d besides the batch",
                       value->name, d);
          return FALSE;
        }
    }
  lathe_tensor_set_meta (meta, value->dtype == LATHE_DTYPE_UNDEFINED ? LATHE_DTYPE_FLOAT : value->dtype,
                         (guint) value->ndim, dims);
  return TRUE;
}
