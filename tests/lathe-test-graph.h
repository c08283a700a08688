/* SPDX-License-Identifier: MIT */
#pragma once

/* Building small LatheGraphs by hand in tests: an input, nodes wired by
 * value name, attributes, then set up and sorted like a loaded model. */

#include <string.h>

#include <glib.h>

#include "graph/lathe-graph.h"
#include "graph/lathe-op.h"

/* The value called `name`, made a node output when it is new. */
G_GNUC_UNUSED static LatheValue *
value (LatheGraph *g,
       const char *name)
{
  LatheValue *v = lathe_graph_lookup (g, name);
  return v != NULL ? v : lathe_graph_add_value (g, name, LATHE_VALUE_NODE_OUTPUT);
}

/* A graph whose one float input `input` has a symbolic batch; ndim < 0
 * declares no shape. */
G_GNUC_UNUSED static LatheGraph *
graph_new (const char   *input,
           int           ndim,
           const gint64 *dims)
{
  LatheGraph *g = lathe_graph_new ();
  LatheValue *v;

  g->opset = 13;
  g->ir_version = 7;
  g->name = g_strdup ("test");
  v = lathe_graph_add_value (g, input, LATHE_VALUE_INPUT);
  v->dtype = LATHE_DTYPE_FLOAT;
  v->ndim = ndim;
  if (ndim > 0)
    {
      memcpy (v->dims, dims, (gsize) ndim * sizeof (gint64));
      v->dims[0] = -1;
      v->dim_param0 = g_strdup ("N");
    }
  g_array_append_val (g->inputs, v->id);
  return g;
}

/* `inputs` and `outputs` are comma-separated value names. */
G_GNUC_UNUSED static LatheNode *
node (LatheGraph *g,
      const char *op,
      const char *name,
      const char *inputs,
      const char *outputs)
{
  g_auto(GStrv) ins = g_strsplit (inputs, ",", -1);
  g_auto(GStrv) outs = g_strsplit (outputs, ",", -1);
  LatheNode *nd = g_new0 (LatheNode, 1);

  nd->name = g_strdup (name);
  nd->op_type = g_strdup (op);
  nd->domain = g_strdup ("");
  nd->index = g->nodes->len;
  nd->n_inputs = g_strv_length (ins);
  nd->inputs = g_new (int, nd->n_inputs + 1);
  for (guint i = 0; i < nd->n_inputs; i++)
    nd->inputs[i] = (int) value (g, ins[i])->id;
  nd->n_outputs = g_strv_length (outs);
  nd->outputs = g_new (int, nd->n_outputs + 1);
  for (guint i = 0; i < nd->n_outputs; i++)
    nd->outputs[i] = (int) value (g, outs[i])->id;
  nd->attrs = g_new0 (LatheAttr, 1);
  g_ptr_array_add (g->nodes, nd);
  return nd;
}

G_GNUC_UNUSED static LatheAttr *
attr (LatheNode  *nd,
      const char *name)
{
  LatheAttr *a;

  nd->attrs = g_renew (LatheAttr, nd->attrs, nd->n_attrs + 2);
  a = &nd->attrs[nd->n_attrs++];
  memset (a, 0, 2 * sizeof *a);
  a->name = g_strdup (name);
  return a;
}

G_GNUC_UNUSED static void
attr_int (LatheNode  *nd,
          const char *name,
          gint64      v)
{
  LatheAttr *a = attr (nd, name);
  a->type = LATHE_ATTR_INT;
  a->i = v;
}

G_GNUC_UNUSED static void
attr_ints (LatheNode    *nd,
           const char   *name,
           gsize         n,
           const gint64 *v)
{
  LatheAttr *a = attr (nd, name);
  a->type = LATHE_ATTR_INTS;
  a->ints = g_memdup2 (v, n * sizeof (gint64));
  a->n_ints = n;
}

/* Sets every node up, declares the output and sorts. */
G_GNUC_UNUSED static LatheGraph *
graph_finish (LatheGraph *g,
              const char *output)
{
  g_autoptr(GError) error = NULL;

  for (guint k = 0; k < g->nodes->len; k++)
    {
      LatheNode *nd = lathe_graph_node (g, k);
      nd->op = lathe_op_lookup (nd->op_type, g->opset, &nd->since);
      g_assert_nonnull (nd->op);
      if (nd->op->setup != NULL)
        g_assert_true (nd->op->setup (nd, &error));
      g_assert_no_error (error);
    }
  g_array_append_val (g->outputs, lathe_graph_lookup (g, output)->id);
  g_assert_true (lathe_graph_sort (g, &error));
  g_assert_no_error (error);
  return g;
}
