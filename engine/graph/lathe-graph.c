/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-graph"

#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-graph.h"
#include "graph/lathe-op.h"

static void
lathe_value_free (gpointer data)
{
  LatheValue *value = data;

  g_free (value->name);
  g_free (value->dim_param0);
  g_clear_pointer (&value->initializer, lathe_tensor_unref);
  g_free (value);
}

static void
lathe_attr_clear (LatheAttr *attr)
{
  g_free (attr->name);
  g_free (attr->s);
  g_clear_pointer (&attr->t, lathe_tensor_unref);
  g_free (attr->floats);
  g_free (attr->ints);
  g_strfreev (attr->strings);
}

void
lathe_node_free (LatheNode *node)
{
  if (node == NULL)
    return;
  if (node->params_free != NULL && node->params != NULL)
    node->params_free (node->params);
  for (guint i = 0; i < node->n_attrs; i++)
    lathe_attr_clear (&node->attrs[i]);
  g_free (node->attrs);
  g_free (node->inputs);
  g_free (node->outputs);
  g_free (node->name);
  g_free (node->op_type);
  g_free (node->domain);
  g_free (node);
}

LatheGraph *
lathe_graph_new (void)
{
  LatheGraph *self = g_new0 (LatheGraph, 1);

  self->values = g_ptr_array_new_with_free_func (lathe_value_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_node_free);
  self->inputs = g_array_new (FALSE, FALSE, sizeof (guint));
  self->outputs = g_array_new (FALSE, FALSE, sizeof (guint));
  self->metadata_keys = g_ptr_array_new_with_free_func (g_free);
  self->metadata_values = g_ptr_array_new_with_free_func (g_free);
  return self;
}

void
lathe_graph_free (LatheGraph *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->nodes);
  g_hash_table_unref (self->by_name);
  g_ptr_array_unref (self->values);
  g_array_unref (self->inputs);
  g_array_unref (self->outputs);
  g_ptr_array_unref (self->metadata_keys);
  g_ptr_array_unref (self->metadata_values);
  g_free (self->producer_name);
  g_free (self->producer_version);
  g_free (self->name);
  g_free (self->doc_string);
  g_free (self);
}

LatheValue *
lathe_graph_add_value (LatheGraph     *self,
                       const char     *name,
                       LatheValueKind  kind)
{
  LatheValue *value = g_new0 (LatheValue, 1);

  value->name = g_strdup (name);
  value->id = self->values->len;
  value->kind = kind;
  value->producer = -1;
  value->ndim = -1;
  g_ptr_array_add (self->values, value);
  g_hash_table_insert (self->by_name, value->name, value);
  return value;
}

LatheValue *
lathe_graph_lookup (LatheGraph *self,
                    const char *name)
{
  return g_hash_table_lookup (self->by_name, name);
}

const char *
lathe_graph_get_metadata (LatheGraph *self,
                          const char *key)
{
  for (guint i = 0; i < self->metadata_keys->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->metadata_keys, i), key) == 0)
      return g_ptr_array_index (self->metadata_values, i);
  return NULL;
}

void
lathe_graph_set_metadata (LatheGraph *self,
                          const char *key,
                          const char *value)
{
  for (guint i = 0; i < self->metadata_keys->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->metadata_keys, i), key) == 0)
      {
        g_free (self->metadata_values->pdata[i]);
        self->metadata_values->pdata[i] = g_strdup (value);
        return;
      }
  g_ptr_array_add (self->metadata_keys, g_strdup (key));
  g_ptr_array_add (self->metadata_values, g_strdup (value));
}

/* Kahn's algorithm, stable: among ready nodes the one earliest in the file
 * goes first, so an already sorted file keeps its order. */
gboolean
lathe_graph_sort (LatheGraph  *self,
                  GError     **error)
{
  guint n_nodes = self->nodes->len;
  g_autofree guint *pending = g_new0 (guint, n_nodes);
  g_autofree int *producer = g_new (int, self->values->len);
  g_autoptr(GPtrArray) consumers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new_full (n_nodes, NULL);
  g_autoptr(GArray) ready = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint v = 0; v < self->values->len; v++)
    producer[v] = -1;
  for (guint i = 0; i < n_nodes; i++)
    {
      LatheNode *node = lathe_graph_node (self, i);
      for (guint o = 0; o < node->n_outputs; o++)
        if (node->outputs[o] >= 0)
          producer[node->outputs[o]] = (int) i;
    }

  for (guint i = 0; i < n_nodes; i++)
    g_ptr_array_add (consumers, g_array_new (FALSE, FALSE, sizeof (guint)));

  for (guint i = 0; i < n_nodes; i++)
    {
      LatheNode *node = lathe_graph_node (self, i);

      for (guint k = 0; k < node->n_inputs; k++)
        {
          int v = node->inputs[k];
          LatheValue *value;

          if (v < 0)
            continue;
          value = lathe_graph_value (self, (guint) v);
          if (value->kind != LATHE_VALUE_NODE_OUTPUT)
            continue;
          if (producer[v] < 0)
            {
              lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                    "input '%s' is produced by no node, initializer or graph input",
                                    value->name);
              return FALSE;
            }
          pending[i]++;
          g_array_append_val (g_ptr_array_index (consumers, producer[v]), i);
        }
    }

  for (guint i = 0; i < n_nodes; i++)
    if (pending[i] == 0)
      g_array_append_val (ready, i);

  while (ready->len > 0)
    {
      /* take the smallest index for a stable order */
      guint best = 0;
      guint i;
      GArray *cons;

      for (guint r = 1; r < ready->len; r++)
        if (g_array_index (ready, guint, r) < g_array_index (ready, guint, best))
          best = r;
      i = g_array_index (ready, guint, best);
      g_array_remove_index_fast (ready, best);
      g_ptr_array_add (sorted, lathe_graph_node (self, i));

      cons = g_ptr_array_index (consumers, i);
      for (guint c = 0; c < cons->len; c++)
        {
          guint j = g_array_index (cons, guint, c);
          if (--pending[j] == 0)
            g_array_append_val (ready, j);
        }
    }

  if (sorted->len != n_nodes)
    {
      for (guint i = 0; i < n_nodes; i++)
        if (pending[i] > 0)
          {
            lathe_node_set_error (error, lathe_graph_node (self, i),
                                  LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                  "the graph has a cycle through this node");
            return FALSE;
          }
    }

  /* Re-seat the nodes in sorted order without freeing them. */
  g_ptr_array_set_free_func (self->nodes, NULL);
  g_ptr_array_set_size (self->nodes, 0);
  for (guint i = 0; i < n_nodes; i++)
    {
      LatheNode *node = g_ptr_array_index (sorted, i);
      node->index = i;
      g_ptr_array_add (self->nodes, node);
      for (guint o = 0; o < node->n_outputs; o++)
        if (node->outputs[o] >= 0)
          lathe_graph_value (self, (guint) node->outputs[o])->producer = (int) i;
    }
  g_ptr_array_set_free_func (self->nodes, (GDestroyNotify) lathe_node_free);
  return TRUE;
}

const LatheAttr *
lathe_node_get_attr (const LatheNode *node,
                     const char      *name)
{
  for (guint i = 0; i < node->n_attrs; i++)
    if (strcmp (node->attrs[i].name, name) == 0)
      return &node->attrs[i];
  return NULL;
}

gint64
lathe_node_get_int (const LatheNode *node,
                    const char      *name,
                    gint64           fallback)
{
  const LatheAttr *a = lathe_node_get_attr (node, name);
  return a != NULL && a->type == LATHE_ATTR_INT ? a->i : fallback;
}

float
lathe_node_get_float (const LatheNode *node,
                      const char      *name,
                      float            fallback)
{
  const LatheAttr *a = lathe_node_get_attr (node, name);
  return a != NULL && a->type == LATHE_ATTR_FLOAT ? a->f : fallback;
}

const char *
lathe_node_get_string (const LatheNode *node,
                       const char      *name,
                       const char      *fallback)
{
  const LatheAttr *a = lathe_node_get_attr (node, name);
  return a != NULL && a->type == LATHE_ATTR_STRING ? a->s : fallback;
}

const gint64 *
lathe_node_get_ints (const LatheNode *node,
                     const char      *name,
                     gsize           *n_out)
{
  const LatheAttr *a = lathe_node_get_attr (node, name);

  if (a == NULL || a->type != LATHE_ATTR_INTS)
    {
      *n_out = 0;
      return NULL;
    }
  *n_out = a->n_ints;
  return a->ints;
}

void
lathe_node_set_error (GError          **error,
                      const LatheNode  *node,
                      GQuark            domain,
                      int               code,
                      const char       *format,
                      ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  if (error == NULL)
    return;
  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, domain, code, "node '%s' (%s): %s",
               node->name, node->op_type, msg);
}

void
lathe_node_unsupported_attr (GError          **error,
                             const LatheNode  *node,
                             const char       *format,
                             ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  if (error == NULL)
    return;
  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE,
               "node '%s' (%s): unsupported attribute value: %s",
               node->name, node->op_type, msg);
}

void
lathe_node_unsupported_type (GError          **error,
                             const LatheNode  *node,
                             LatheDType        dtype)
{
  g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE,
               "node '%s' (%s): unsupported data type %s",
               node->name, node->op_type, lathe_dtype_name (dtype));
}

static void
attr_copy (LatheAttr       *dst,
           const LatheAttr *src)
{
  *dst = *src;
  dst->name = g_strdup (src->name);
  dst->s = g_strdup (src->s);
  dst->t = src->t ? lathe_tensor_ref (src->t) : NULL;
  dst->floats = g_memdup2 (src->floats, src->n_floats * sizeof (float));
  dst->ints = g_memdup2 (src->ints, src->n_ints * sizeof (gint64));
  dst->strings = g_strdupv (src->strings);
}

LatheGraph *
lathe_graph_copy (LatheGraph  *self,
                  GError     **error)
{
  g_autoptr(LatheGraph) copy = lathe_graph_new ();

  copy->opset = self->opset;
  copy->ir_version = self->ir_version;
  copy->producer_name = g_strdup (self->producer_name);
  copy->producer_version = g_strdup (self->producer_version);
  copy->name = g_strdup (self->name);
  copy->doc_string = g_strdup (self->doc_string);
  for (guint i = 0; i < self->metadata_keys->len; i++)
    lathe_graph_set_metadata (copy, g_ptr_array_index (self->metadata_keys, i),
                              g_ptr_array_index (self->metadata_values, i));

  for (guint v = 0; v < self->values->len; v++)
    {
      LatheValue *src = lathe_graph_value (self, v);
      LatheValue *dst = lathe_graph_add_value (copy, src->name, src->kind);

      dst->producer = src->producer;
      dst->initializer = src->initializer ? lathe_tensor_ref (src->initializer) : NULL;
      dst->dtype = src->dtype;
      dst->ndim = src->ndim;
      memcpy (dst->dims, src->dims, sizeof dst->dims);
      dst->dim_param0 = g_strdup (src->dim_param0);
    }
  g_array_append_vals (copy->inputs, self->inputs->data, self->inputs->len);
  g_array_append_vals (copy->outputs, self->outputs->data, self->outputs->len);

  for (guint k = 0; k < self->nodes->len; k++)
    {
      LatheNode *src = lathe_graph_node (self, k);
      LatheNode *dst = g_new0 (LatheNode, 1);

      dst->name = g_strdup (src->name);
      dst->op_type = g_strdup (src->op_type);
      dst->domain = g_strdup (src->domain);
      dst->index = src->index;
      dst->op = src->op;
      dst->since = src->since;
      dst->n_inputs = src->n_inputs;
      dst->inputs = g_memdup2 (src->inputs, (src->n_inputs + 1) * sizeof (int));
      dst->n_outputs = src->n_outputs;
      dst->outputs = g_memdup2 (src->outputs, (src->n_outputs + 1) * sizeof (int));
      dst->n_attrs = src->n_attrs;
      dst->attrs = g_new0 (LatheAttr, src->n_attrs + 1);
      for (guint a = 0; a < src->n_attrs; a++)
        attr_copy (&dst->attrs[a], &src->attrs[a]);
      g_ptr_array_add (copy->nodes, dst);
      if (dst->op->setup != NULL && !dst->op->setup (dst, error))
        return NULL;
    }
  return g_steal_pointer (&copy);
}

void
lathe_graph_set_initializer (LatheGraph  *self,
                             guint        value_id,
                             LatheTensor *tensor)
{
  LatheValue *value = lathe_graph_value (self, value_id);

  g_return_if_fail (value->kind == LATHE_VALUE_INITIALIZER);
  lathe_tensor_ref (tensor);
  g_clear_pointer (&value->initializer, lathe_tensor_unref);
  value->initializer = tensor;
  value->dtype = tensor->dtype;
  value->ndim = (int) tensor->ndim;
  memset (value->dims, 0, sizeof value->dims);
  memcpy (value->dims, tensor->dims, tensor->ndim * sizeof (gint64));
}
