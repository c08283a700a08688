/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <stdarg.h>
#include <string.h>

#include "lathe-config.h"       /* GETTEXT_PACKAGE, for the reasons' translations */
#include <glib/gi18n-lib.h>

#include "compress/lathe-layers.h"
#include "core/lathe-error.h"
#include "eval/lathe-executor.h"

static void
width_edit_clear (gpointer data)
{
  LatheWidthEdit *e = data;
  g_clear_pointer (&e->layout, g_array_unref);
}

void
lathe_layer_free (LatheLayer *layer)
{
  if (layer == NULL)
    return;
  g_free (layer->name);
  g_free (layer->width_reason);
  g_free (layer->width_reason_local);
  g_clear_pointer (&layer->group_members, g_array_unref);
  g_clear_pointer (&layer->group_edits, g_array_unref);
  g_clear_pointer (&layer->unit_layout, g_array_unref);
  g_clear_pointer (&layer->input_layout, g_array_unref);
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

gsize *
lathe_width_layout_positions (GArray        *layout,
                              gsize * const *kept,
                              const gsize   *n_kept,
                              gsize         *n_out)
{
  gsize n = 0, at = 0;
  gsize *pos;

  for (guint s = 0; s < layout->len; s++)
    {
      const LatheWidthSlice *sl = &g_array_index (layout, LatheWidthSlice, s);
      n += kept[sl->tie] != NULL ? n_kept[sl->tie] : sl->units;
    }
  pos = g_new (gsize, MAX (n, 1));
  for (guint s = 0; s < layout->len; s++)
    {
      const LatheWidthSlice *sl = &g_array_index (layout, LatheWidthSlice, s);
      if (kept[sl->tie] != NULL)
        for (gsize j = 0; j < n_kept[sl->tie]; j++)
          pos[at++] = sl->offset + kept[sl->tie][j];
      else
        for (gsize j = 0; j < sl->units; j++)
          pos[at++] = sl->offset + j;
    }
  *n_out = n;
  return pos;
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

static gboolean
is_pool (const char *op)
{
  return g_str_equal (op, "MaxPool") || g_str_equal (op, "AveragePool") ||
         g_str_equal (op, "GlobalAveragePool");
}

/* Ops that keep every channel where it was. */
static gboolean
is_channelwise (const char *op)
{
  static const char * const ops[] = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Erf", "Sqrt", "Dropout", "Identity",
  };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    if (g_str_equal (op, ops[i]))
      return TRUE;
  return is_pool (op);
}

static gboolean
is_binary_elementwise (const char *op)
{
  return g_str_equal (op, "Add") || g_str_equal (op, "Sub") ||
         g_str_equal (op, "Mul") || g_str_equal (op, "Div");
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

/* The width trace. Every value that carries layers' units on one axis gets a
 * Layout: the units' *spaces* (a space is the layer that made them) in
 * order along that axis. Spaces are joined in two union-finds, both rooted
 * at the lowest layer index: tie classes (same kept indices) and width
 * groups (one width setting). A group is *fixed*, with a reason, as soon as
 * its units meet something width cannot follow. */

typedef struct {
  int   space;
  gsize len;
} Seg;

/* Why width cannot change some units, twice: in English (width_reason:
 * files, the CLI, tests) and in the user's language (width_reason_local:
 * the app), built at the same moment from the same pieces. Node and op
 * names stay as the model spells them. */
typedef struct {
  char *en;
  char *local;
} Reason;

static void
reason_free (Reason *r)
{
  if (r == NULL)
    return;
  g_free (r->en);
  g_free (r->local);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reason, reason_free)

static Reason *
reason_dup (const Reason *r)
{
  Reason *c = g_new (Reason, 1);

  c->en = g_strdup (r->en);
  c->local = g_strdup (r->local);
  return c;
}

/* Formats the N_() msgid `msgid` as is and through the "lathe" catalogue,
 * from the same arguments. */
static Reason *
reason_new (const char *msgid,
            ...) G_GNUC_PRINTF (1, 2);

static Reason *
reason_new (const char *msgid,
            ...)
{
  Reason *r = g_new (Reason, 1);
  va_list ap, aq;

  va_start (ap, msgid);
  va_copy (aq, ap);
  r->en = g_strdup_vprintf (msgid, ap);
  r->local = g_strdup_vprintf (_(msgid), aq);
  va_end (aq);
  va_end (ap);
  return r;
}

/* Formats a msgid with "%s node '%s'" and then a nested reason (what the
 * units meet) in each language, the nested one in the same language. */
static Reason *
reason_nested (const char   *msgid,
               const char   *op,
               const char   *node,
               const Reason *tail)
{
  Reason *r = g_new (Reason, 1);

  r->en = g_strdup_printf (msgid, op, node, tail->en);
  r->local = g_strdup_printf (_(msgid), op, node, tail->local);
  return r;
}

/* Gives `layer` its reason, in both languages. */
static void
layer_set_reason (LatheLayer   *layer,
                  const Reason *r)
{
  g_free (layer->width_reason);
  g_free (layer->width_reason_local);
  layer->width_reason = g_strdup (r->en);
  layer->width_reason_local = g_strdup (r->local);
}

typedef struct {
  GArray *segs;      /* Seg */
  guint   axis;      /* the channel axis */
  gsize   block;     /* consecutive elements per channel after Flatten, else 1 */
} Layout;

typedef struct {
  int     node;
  guint   value;
  guint   axis;
  Layout *layout;
} PendingEdit;

typedef struct {
  LatheGraph    *graph;
  GPtrArray     *layers;
  GPtrArray     *uses;
  LatheExecutor *shapes;       /* shapes at batch 1, or NULL */
  int           *layer_of;     /* node → layer index or -1 */
  int           *tie_parent;   /* per layer */
  int           *grp_parent;   /* per layer */
  Reason       **grp_reason;   /* on group roots */
  guint         *grp_seq;      /* when the reason was given */
  guint          seq;
  gboolean      *is_space;     /* the layer starts a space */
  Layout       **lay;          /* per value, borrowed from pool */
  Layout       **input_of;     /* per layer: the layout its input axis reads */
  Layout       **dw_of;        /* per layer: a depthwise layer's units */
  GPtrArray     *pool;         /* Layout* */
  GArray        *edits;        /* PendingEdit */
  GPtrArray     *output_layouts;
} Trace;

static void
layout_free (Layout *l)
{
  g_array_unref (l->segs);
  g_free (l);
}

static Layout *
layout_new (Trace *t,
            guint  axis,
            gsize  block)
{
  Layout *l = g_new0 (Layout, 1);

  l->segs = g_array_new (FALSE, FALSE, sizeof (Seg));
  l->axis = axis;
  l->block = block;
  g_ptr_array_add (t->pool, l);
  return l;
}

static gsize
layout_units (const Layout *l)
{
  gsize n = 0;
  for (guint s = 0; s < l->segs->len; s++)
    n += g_array_index (l->segs, Seg, s).len;
  return n;
}

static int
uf_find (int *parent,
         int  i)
{
  while (parent[i] != i)
    {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
  return i;
}

static void
grp_union (Trace *t,
           int    a,
           int    b)
{
  int ra = uf_find (t->grp_parent, a), rb = uf_find (t->grp_parent, b);
  int lo = MIN (ra, rb), hi = MAX (ra, rb);

  if (ra == rb)
    return;
  t->grp_parent[hi] = lo;
  if (t->grp_reason[hi] != NULL && (t->grp_reason[lo] == NULL || t->grp_seq[hi] < t->grp_seq[lo]))
    {
      reason_free (t->grp_reason[lo]);
      t->grp_reason[lo] = g_steal_pointer (&t->grp_reason[hi]);
      t->grp_seq[lo] = t->grp_seq[hi];
    }
  g_clear_pointer (&t->grp_reason[hi], reason_free);
}

static void
tie_union (Trace *t,
           int    a,
           int    b)
{
  int ra = uf_find (t->tie_parent, a), rb = uf_find (t->tie_parent, b);

  if (ra != rb)
    t->tie_parent[MAX (ra, rb)] = MIN (ra, rb);
  grp_union (t, a, b);
}

/* Fixes the width of every group with units in `l`; takes `reason`. */
static void
fix (Trace  *t,
     Layout *l,
     Reason *reason)
{
  for (guint s = 0; s < l->segs->len; s++)
    {
      int g = uf_find (t->grp_parent, g_array_index (l->segs, Seg, s).space);
      if (t->grp_reason[g] == NULL)
        {
          t->grp_reason[g] = reason_dup (reason);
          t->grp_seq[g] = t->seq++;
        }
    }
  reason_free (reason);
}

static Reason *
not_followed (LatheNode *node)
{
  /* translators: why a layer has no width setting; the first %s is an ONNX
     op (Softmax, Reshape…), the second a node's name, both left as they are */
  return reason_new (N_("its units pass through %s node '%s', which width does not follow"),
                     node->op_type, node->name);
}

/* Every input of `node` that carries units: width stops here. */
static void
fix_inputs (Trace     *t,
            LatheNode *node)
{
  for (guint i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && t->lay[node->inputs[i]] != NULL)
      fix (t, t->lay[node->inputs[i]], not_followed (node));
}

static LatheTensor *
shape_of (Trace *t,
          int    value)
{
  return t->shapes != NULL && value >= 0 ? lathe_executor_get_value (t->shapes, (guint) value) : NULL;
}

/* What a value without units comes from, for messages. */
static Reason *
origin_of (Trace *t,
           int    value)
{
  for (;;)
    {
      LatheValue *v = lathe_graph_value (t->graph, (guint) value);
      LatheNode *p;

      if (v->kind == LATHE_VALUE_INPUT)
        /* translators: completes "its channels are tied by %s node '%s' to %s"
           and "… concatenated … with %s"; %s is the name of the model's input */
        return reason_new (N_("the graph input '%s'"), v->name);
      if (v->kind == LATHE_VALUE_INITIALIZER || v->producer < 0)
        {
          /* a bare name: nothing to translate */
          Reason *r = g_new (Reason, 1);
          r->en = g_strdup_printf ("'%s'", v->name);
          r->local = g_strdup (r->en);
          return r;
        }
      p = lathe_graph_node (t->graph, (guint) v->producer);
      if ((is_channelwise (p->op_type) || g_str_equal (p->op_type, "BatchNormalization")) &&
          p->n_inputs > 0 && p->inputs[0] >= 0)
        {
          value = p->inputs[0];
          continue;
        }
      /* translators: completes "its channels are tied by %s node '%s' to %s"
         and "… concatenated … with %s"; an ONNX op, then a node's name */
      return reason_new (N_("the output of %s node '%s', which width does not follow"),
                         p->op_type, p->name);
    }
}

static gboolean
same_segments (const Layout *a,
               const Layout *b)
{
  if (a->segs->len != b->segs->len || a->axis != b->axis || a->block != b->block)
    return FALSE;
  for (guint s = 0; s < a->segs->len; s++)
    if (g_array_index (a->segs, Seg, s).len != g_array_index (b->segs, Seg, s).len)
      return FALSE;
  return TRUE;
}

static void
add_edit (Trace  *t,
          int     node,
          guint   value,
          guint   axis,
          Layout *layout)
{
  PendingEdit e = { node, value, axis, layout };
  g_array_append_val (t->edits, e);
}

static gboolean
used_once (Trace *t,
           int    value)
{
  return ((GArray *) g_ptr_array_index (t->uses, value))->len == 1 &&
         !is_graph_output (t->graph, (guint) value);
}

/* Does a Reshape split the channel axis into several axes (heads)? */
static gboolean
splits_into_heads (const LatheTensor *in,
                   guint              axis,
                   const LatheTensor *out)
{
  gint64 before = 1, prod = 1, c = in->dims[axis];
  guint j = 0;

  for (guint d = 0; d < axis; d++)
    before *= in->dims[d];
  /* the output axes that hold what came before the channel axis */
  while (j < out->ndim && prod < before)
    prod *= out->dims[j++];
  if (prod != before)
    return FALSE;
  while (j < out->ndim && out->dims[j] == 1)
    j++;
  if (j >= out->ndim || out->dims[j] <= 1 || out->dims[j] >= c)
    return FALSE;
  prod = 1;
  for (guint k = j; k < out->ndim && prod < c; k++)
    prod *= out->dims[k];
  return prod == c;
}

static void
trace_layer (Trace     *t,
             int        li,
             LatheNode *node)
{
  LatheLayer *layer = g_ptr_array_index (t->layers, li);
  LatheTensor *w = lathe_graph_value (t->graph, layer->weight_id)->initializer;
  Layout *x = node->inputs[0] >= 0 ? t->lay[node->inputs[0]] : NULL;
  gboolean conv = g_str_equal (node->op_type, "Conv");
  int out = node->outputs[0];
  Layout *own;

  for (guint i = 1; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && t->lay[node->inputs[i]] != NULL)
      fix (t, t->lay[node->inputs[i]], not_followed (node));

  if (conv && layer->group != 1)
    {
      gboolean depthwise = w->dims[1] == 1 && w->dims[0] == layer->group;
      if (depthwise && x != NULL && x->axis == 1 && x->block == 1 && layout_units (x) == (gsize) layer->group)
        {
          layer->depthwise = TRUE;
          t->dw_of[li] = x;
          if (out >= 0)
            t->lay[out] = x;
          return;
        }
      if (x != NULL)
        /* translators: why a layer has no width setting; %s is a node's name */
        fix (t, x, reason_new (N_("its units pass through grouped Conv node '%s', which width does not follow"),
                               node->name));
      {
        /* translators: why a layer has no width setting of its own */
        g_autoptr(Reason) r = reason_new (N_("its convolution is grouped, so its channels are tied to its input"));
        layer_set_reason (layer, r);
      }
      return;
    }

  if (x != NULL)
    {
      LatheTensor *xs = shape_of (t, node->inputs[0]);
      gboolean ok;
      if (conv)
        ok = x->axis == 1 && x->block == 1;
      else if (g_str_equal (node->op_type, "Gemm"))
        ok = x->axis == 1 && lathe_node_get_int (node, "transA", 0) == 0;
      else   /* MatMul: its input axis is the last one */
        ok = xs != NULL ? x->axis + 1 == xs->ndim : (x->block > 1 && x->axis == 1);
      if (ok)
        t->input_of[li] = x;
      else
        fix (t, x, not_followed (node));
    }

  t->is_space[li] = TRUE;
  if (out < 0)
    return;
  if (conv || g_str_equal (node->op_type, "Gemm"))
    own = layout_new (t, 1, 1);
  else
    {
      LatheTensor *ys = shape_of (t, out);
      if (ys == NULL || ys->ndim < 1)
        {
          Layout tmp = { g_array_new (FALSE, FALSE, sizeof (Seg)), 0, 1 };
          Seg seg = { li, layer->rows };
          g_array_append_val (tmp.segs, seg);
          /* translators: why a layer has no width setting */
          fix (t, &tmp, reason_new (N_("the shape of its output is unknown")));
          g_array_unref (tmp.segs);
          return;
        }
      own = layout_new (t, ys->ndim - 1, 1);
    }
  {
    Seg seg = { li, layer->rows };
    g_array_append_val (own->segs, seg);
  }
  t->lay[out] = own;
}

static void
trace_node (Trace *t,
            guint  k)
{
  LatheGraph *graph = t->graph;
  LatheNode *node = lathe_graph_node (graph, k);
  const char *op = node->op_type;
  Layout *x = node->n_inputs > 0 && node->inputs[0] >= 0 ? t->lay[node->inputs[0]] : NULL;
  gboolean any = FALSE, others = FALSE;
  int out = node->n_outputs > 0 ? node->outputs[0] : -1;

  if (t->layer_of[k] >= 0)
    {
      trace_layer (t, t->layer_of[k], node);
      return;
    }
  for (guint i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && t->lay[node->inputs[i]] != NULL)
      {
        any = TRUE;
        others |= i > 0;
      }
  if (!any)
    return;

  if (g_str_equal (op, "BatchNormalization") && x != NULL && !others && is_foldable_bn (graph, node) &&
      x->axis == 1 && x->block == 1)
    {
      gboolean ok = TRUE;
      for (guint i = 1; i < 5; i++)
        ok &= lathe_graph_value (graph, (guint) node->inputs[i])->initializer->n == layout_units (x) &&
              used_once (t, node->inputs[i]);
      if (ok)
        {
          for (guint i = 1; i < 5; i++)
            add_edit (t, (int) k, (guint) node->inputs[i], 0, x);
          t->lay[out] = x;
          return;
        }
    }
  else if (is_channelwise (op) && x != NULL && !others && out >= 0 &&
           !(is_pool (op) && (x->axis != 1 || x->block != 1 ||
                              (node->n_outputs > 1 && node->outputs[1] >= 0))))
    {
      t->lay[out] = x;
      return;
    }
  else if (is_binary_elementwise (op) && node->n_inputs == 2 && out >= 0)
    {
      Layout *a = t->lay[node->inputs[0]], *b = t->lay[node->inputs[1]];
      if (a != NULL && b != NULL)
        {
          if (same_segments (a, b))
            {
              for (guint s = 0; s < a->segs->len; s++)
                tie_union (t, g_array_index (a->segs, Seg, s).space, g_array_index (b->segs, Seg, s).space);
              t->lay[out] = a;
            }
          else
            {
              /* translators: why a layer has no width setting; an ONNX op (Add, Mul…),
                 then a node's name */
              Reason *why = reason_new (N_("its channels meet other channels at %s node '%s' in a way width "
                                           "does not follow"), op, node->name);
              fix (t, a, reason_dup (why));
              fix (t, b, why);
            }
          return;
        }
      else
        {
          Layout *l = a != NULL ? a : b;
          int other = node->inputs[a != NULL ? 1 : 0];
          if (is_initializer (graph, other))
            {
              LatheTensor *c = lathe_graph_value (graph, (guint) other)->initializer;
              LatheTensor *ys = shape_of (t, out);
              if (c->n == 1)
                {
                  t->lay[out] = l;
                  return;
                }
              if (ys != NULL && c->ndim <= ys->ndim && l->block == 1 && used_once (t, other))
                {
                  int pos = (int) l->axis - (int) (ys->ndim - c->ndim);
                  gboolean ok = pos >= 0 && c->dims[pos] == (gint64) layout_units (l);
                  for (guint d = 0; ok && d < c->ndim; d++)
                    ok = (int) d == pos || c->dims[d] == 1;
                  if (ok)
                    {
                      add_edit (t, -1, (guint) other, (guint) pos, l);
                      t->lay[out] = l;
                      return;
                    }
                }
              /* translators: why a layer has no width setting; an ONNX op (Add, Mul…),
                 then a node's name; the node combines the units with a constant */
              fix (t, l, reason_new (N_("its units pass through %s node '%s' with a constant, which width does not follow"),
                                     op, node->name));
              return;
            }
          {
            g_autoptr(Reason) from = origin_of (t, other);
            /* translators: why a layer has no width setting; an ONNX op (Add, Mul…), a
               node's name, then what the channels are tied to ("the graph input 'x'") */
            fix (t, l, reason_nested (N_("its channels are tied by %s node '%s' to %s"), op, node->name, from));
          }
          return;
        }
    }
  else if (g_str_equal (op, "Concat") && out >= 0)
    {
      gint64 axis = lathe_node_get_int (node, "axis", 0);
      LatheTensor *ys = shape_of (t, out);
      int missing = -1;
      gboolean ok = TRUE;

      if (axis < 0 && ys != NULL)
        axis += ys->ndim;
      for (guint i = 0; i < node->n_inputs; i++)
        {
          Layout *l = node->inputs[i] >= 0 ? t->lay[node->inputs[i]] : NULL;
          if (l == NULL)
            {
              if (missing < 0)
                missing = node->inputs[i];
              ok = FALSE;
            }
          else if ((gint64) l->axis != axis || l->block != 1)
            ok = FALSE;
        }
      if (ok)
        {
          Layout *cat = layout_new (t, (guint) axis, 1);
          int first = -1;
          for (guint i = 0; i < node->n_inputs; i++)
            {
              Layout *l = t->lay[node->inputs[i]];
              g_array_append_vals (cat->segs, l->segs->data, l->segs->len);
              for (guint s = 0; s < l->segs->len; s++)
                {
                  int sp = g_array_index (l->segs, Seg, s).space;
                  if (first < 0)
                    first = sp;
                  grp_union (t, first, sp);
                }
            }
          t->lay[out] = cat;
          return;
        }
      if (missing >= 0)
        {
          g_autoptr(Reason) from = origin_of (t, missing);
          /* translators: why a layer has no width setting; an ONNX op (Concat), a
             node's name, then what else is concatenated ("the graph input 'x'") */
          g_autoptr(Reason) why = reason_nested (N_("its channels are concatenated by %s node '%s' with %s"),
                                                 op, node->name, from);
          for (guint i = 0; i < node->n_inputs; i++)
            if (node->inputs[i] >= 0 && t->lay[node->inputs[i]] != NULL)
              fix (t, t->lay[node->inputs[i]], reason_dup (why));
          return;
        }
    }
  else if (g_str_equal (op, "Flatten") && x != NULL && !others && out >= 0 &&
           x->axis == 1 && x->block == 1)
    {
      LatheTensor *xs = shape_of (t, node->inputs[0]);
      gint64 axis = lathe_node_get_int (node, "axis", 1);
      Layout *flat;
      gsize sp = 1;

      if (xs == NULL)
        {
          /* translators: why a layer has no width setting; Flatten is an ONNX op */
          fix (t, x, reason_new (N_("the shape before the Flatten is unknown")));
          return;
        }
      if (axis < 0)
        axis += xs->ndim;
      if (axis == 1)
        {
          for (guint d = 2; d < xs->ndim; d++)
            sp *= (gsize) xs->dims[d];
          flat = layout_new (t, 1, sp);
          g_array_append_vals (flat->segs, x->segs->data, x->segs->len);
          t->lay[out] = flat;
          return;
        }
    }
  else if (g_str_equal (op, "Reshape") && x != NULL && out >= 0)
    {
      LatheTensor *xs = shape_of (t, node->inputs[0]), *ys = shape_of (t, out);
      if (xs != NULL && ys != NULL && x->block == 1 && splits_into_heads (xs, x->axis, ys))
        {
          /* translators: why a layer has no width setting; Reshape is an ONNX op */
          fix (t, x, reason_new (N_("a Reshape splits its units into attention heads")));
          return;
        }
    }
  fix_inputs (t, node);
}

static GArray *
resolve_layout (Trace  *t,
                Layout *l)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (LatheWidthSlice));
  gsize offset = 0;

  for (guint s = 0; s < l->segs->len; s++)
    {
      const Seg *seg = &g_array_index (l->segs, Seg, s);
      LatheWidthSlice sl = { uf_find (t->tie_parent, seg->space), offset, seg->len };
      g_array_append_val (out, sl);
      offset += seg->len;
    }
  return out;
}

/* The group of a layout's units, or -1 when its width is fixed. */
static int
open_group (Trace  *t,
            Layout *l)
{
  int g;

  if (l == NULL || l->segs->len == 0)
    return -1;
  g = uf_find (t->grp_parent, g_array_index (l->segs, Seg, 0).space);
  return t->grp_reason[g] == NULL ? g : -1;
}

static void
trace_width (LatheGraph    *graph,
             GPtrArray     *layers,
             GPtrArray     *uses,
             LatheExecutor *shapes)
{
  guint n = layers->len;
  Trace t = { 0 };

  t.graph = graph;
  t.layers = layers;
  t.uses = uses;
  t.shapes = shapes;
  t.layer_of = g_new (int, MAX (graph->nodes->len, 1));
  t.tie_parent = g_new (int, MAX (n, 1));
  t.grp_parent = g_new (int, MAX (n, 1));
  t.grp_reason = g_new0 (Reason *, MAX (n, 1));
  t.grp_seq = g_new0 (guint, MAX (n, 1));
  t.is_space = g_new0 (gboolean, MAX (n, 1));
  t.lay = g_new0 (Layout *, MAX (graph->values->len, 1));
  t.input_of = g_new0 (Layout *, MAX (n, 1));
  t.dw_of = g_new0 (Layout *, MAX (n, 1));
  t.pool = g_ptr_array_new_with_free_func ((GDestroyNotify) layout_free);
  t.edits = g_array_new (FALSE, FALSE, sizeof (PendingEdit));

  for (guint k = 0; k < graph->nodes->len; k++)
    t.layer_of[k] = -1;
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      t.layer_of[layer->node] = (int) i;
      t.tie_parent[i] = t.grp_parent[i] = (int) i;
      layer->group_leader = -1;
      layer->tie = -1;
      layer->input_group = -1;
      layer->input_block = 1;
      layer->follower = -1;
    }

  for (guint k = 0; k < graph->nodes->len; k++)
    trace_node (&t, k);

  for (guint o = 0; o < graph->outputs->len; o++)
    {
      Layout *l = t.lay[g_array_index (graph->outputs, guint, o)];
      if (l == NULL)
        continue;
      /* translators: why a layer has no width setting: its units are the model's outputs */
      fix (&t, l, reason_new (N_("the final classifier's output width is fixed")));
      for (guint s = 0; s < l->segs->len; s++)
        {
          int tie = uf_find (t.tie_parent, g_array_index (l->segs, Seg, s).space);
          for (guint i = 0; i < n; i++)
            if (t.is_space[i] && uf_find (t.tie_parent, (int) i) == tie)
              ((LatheLayer *) g_ptr_array_index (layers, i))->is_output = TRUE;
        }
    }

  /* Members and leaders. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      int g;

      if (layer->depthwise)
        {
          /* translators: why a layer has no width setting of its own */
          g_autoptr(Reason) r = reason_new (N_("tied to the layer that feeds it (depthwise)"));
          layer_set_reason (layer, r);
          g = open_group (&t, t.dw_of[i]);
          if (g >= 0)
            {
              layer->group_leader = g;
              layer->unit_layout = resolve_layout (&t, t.dw_of[i]);
            }
          continue;
        }
      if (!t.is_space[i])
        continue;
      g = uf_find (t.grp_parent, (int) i);
      if (t.grp_reason[g] != NULL)
        {
          layer_set_reason (layer, t.grp_reason[g]);
          continue;
        }
      layer->group_leader = g;
      layer->tie = uf_find (t.tie_parent, (int) i);
      {
        LatheWidthSlice sl = { layer->tie, 0, layer->rows };
        layer->unit_layout = g_array_new (FALSE, FALSE, sizeof (LatheWidthSlice));
        g_array_append_val (layer->unit_layout, sl);
      }
      if (g == (int) i)
        layer->group_members = g_array_new (FALSE, FALSE, sizeof (int));
      else
        {
          /* translators: why a layer has no width setting of its own; %s is the
             name of the layer whose width setting it follows */
          g_autoptr(Reason) r = reason_new (N_("in the width group of %s"),
                                            ((LatheLayer *) g_ptr_array_index (layers, g))->name);
          layer_set_reason (layer, r);
        }
      g_array_append_val (((LatheLayer *) g_ptr_array_index (layers, g))->group_members, i);
    }

  /* What else shrinks with each group. */
  for (guint i = 0; i < n; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      int g = open_group (&t, t.input_of[i]);
      if (g < 0)
        continue;
      layer->input_group = g;
      layer->input_layout = resolve_layout (&t, t.input_of[i]);
      layer->input_block = t.input_of[i]->block;
    }
  for (guint e = 0; e < t.edits->len; e++)
    {
      PendingEdit *pe = &g_array_index (t.edits, PendingEdit, e);
      int g = open_group (&t, pe->layout);
      LatheLayer *leader;
      LatheWidthEdit edit;

      if (g < 0)
        continue;
      leader = g_ptr_array_index (layers, g);
      if (leader->group_edits == NULL)
        {
          leader->group_edits = g_array_new (FALSE, FALSE, sizeof (LatheWidthEdit));
          g_array_set_clear_func (leader->group_edits, width_edit_clear);
        }
      edit.node = pe->node;
      edit.value = pe->value;
      edit.axis = pe->axis;
      edit.layout = resolve_layout (&t, pe->layout);
      g_array_append_val (leader->group_edits, edit);
    }

  /* The first reader of each layer's units. */
  for (guint j = 0; j < n; j++)
    {
      LatheLayer *reader = g_ptr_array_index (layers, j);
      if (reader->input_layout == NULL)
        continue;
      for (guint s = 0; s < reader->input_layout->len; s++)
        {
          int tie = g_array_index (reader->input_layout, LatheWidthSlice, s).tie;
          for (guint i = 0; i < n; i++)
            {
              LatheLayer *layer = g_ptr_array_index (layers, i);
              if (layer->tie != tie || layer->follower >= 0)
                continue;
              layer->follower = (int) j;
              layer->follow_spatial = reader->input_block;
              layer->follow_kind = g_str_equal (reader->op_type, "Conv") ? LATHE_FOLLOW_CONV
                                 : reader->input_block > 1 ? LATHE_FOLLOW_FLATTENED : LATHE_FOLLOW_GEMM;
            }
        }
    }

  for (guint i = 0; i < n; i++)
    reason_free (t.grp_reason[i]);
  g_free (t.layer_of);
  g_free (t.tie_parent);
  g_free (t.grp_parent);
  g_free (t.grp_reason);
  g_free (t.grp_seq);
  g_free (t.is_space);
  g_free (t.lay);
  g_free (t.input_of);
  g_free (t.dw_of);
  g_ptr_array_unref (t.pool);
  g_array_unref (t.edits);
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

      /* BatchNormalization right after, on this output alone. Folding
       * scales each output channel, so grouped and depthwise Convs fold
       * too. */
      {
        GArray *u = g_ptr_array_index (uses, node->outputs[0]);
        /* Gemm folds only where its bias (C) is per unit with beta 1, or absent. */
        gboolean gemm_ok = gemm && lathe_node_get_float (node, "beta", 1.f) == 1.f &&
                           (layer->bias_id >= 0 || node->n_inputs < 3);
        if (u->len == 1 && !is_graph_output (graph, (guint) node->outputs[0]) && (conv || gemm_ok))
          {
            Use use = g_array_index (u, Use, 0);
            LatheNode *bn = lathe_graph_node (graph, use.node);
            gboolean ok = use.input == 0 && is_foldable_bn (graph, bn);
            for (guint i = 1; ok && i < 5; i++)
              ok = lathe_graph_value (graph, (guint) bn->inputs[i])->initializer->n == layer->rows;
            if (ok)
              layer->bn_node = (int) use.node;
          }
      }
      g_ptr_array_add (layers, layer);
    }

  if (graph->inputs->len == 1 &&
      lathe_graph_input_shape_for_batch (graph, 0, 1, meta, NULL) &&
      lathe_executor_prepare (exec, 1, &meta, NULL))
    have_shapes = TRUE;

  trace_width (graph, layers, uses, have_shapes ? exec : NULL);

  return g_steal_pointer (&layers);
}
