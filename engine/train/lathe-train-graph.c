/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-train"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "kernels/lathe-conv.h"
#include "lathe-train-graph.h"
#include "lathe-train-kernels.h"

typedef enum {
  OP_GEMM, OP_MATMUL, OP_CONV,
  OP_RELU, OP_LEAKY_RELU, OP_CLIP, OP_SIGMOID, OP_TANH, OP_ERF,
  OP_MAXPOOL, OP_AVGPOOL, OP_GLOBAL_AVGPOOL, OP_BATCHNORM,
  OP_ALIAS, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_CONCAT, OP_SOFTMAX, OP_LOG_SOFTMAX,
} OpKind;

static const struct { const char *op_type; OpKind kind; } op_kinds[] = {
  { "Gemm", OP_GEMM }, { "MatMul", OP_MATMUL }, { "Conv", OP_CONV },
  { "Relu", OP_RELU }, { "LeakyRelu", OP_LEAKY_RELU }, { "Clip", OP_CLIP },
  { "Sigmoid", OP_SIGMOID }, { "Tanh", OP_TANH }, { "Erf", OP_ERF },
  { "MaxPool", OP_MAXPOOL }, { "AveragePool", OP_AVGPOOL },
  { "GlobalAveragePool", OP_GLOBAL_AVGPOOL }, { "BatchNormalization", OP_BATCHNORM },
  { "Flatten", OP_ALIAS }, { "Reshape", OP_ALIAS }, { "Squeeze", OP_ALIAS },
  { "Unsqueeze", OP_ALIAS }, { "Identity", OP_ALIAS }, { "Dropout", OP_ALIAS },
  { "Add", OP_ADD }, { "Sub", OP_SUB }, { "Mul", OP_MUL }, { "Div", OP_DIV },
  { "Concat", OP_CONCAT }, { "Softmax", OP_SOFTMAX }, { "LogSoftmax", OP_LOG_SOFTMAX },
};

typedef struct {
  float    *data;
  float    *grad;
  guint     ndim;
  gint64    dims[LATHE_MAX_DIMS];
  gsize     n;
  gboolean  known;        /* the plan has it */
  gboolean  konst;
  gboolean  float_data;
  gboolean  needs_grad;
  gboolean  owns_data;
  gboolean  owns_grad;
} TVal;

typedef struct {
  LatheNode      *node;
  OpKind          kind;
  float           alpha, beta;     /* Gemm; LeakyRelu alpha; Clip min/max; BN epsilon */
  gboolean        trans_a, trans_b;
  LatheConvShape  cs;
  gpointer        fwd_ws, bwd_ws;
  gint64         *indices;         /* MaxPool argmax */
  gboolean        count_include_pad;
  gsize           outer, len, inner;
  gsize           mm_batch, mm_m, mm_k, mm_n;
} TNode;

struct _LatheTrainGraph {
  LatheGraph   *graph;
  guint         batch;
  TVal         *vals;
  guint         n_vals;
  GArray       *nodes;          /* TNode, live nodes in order */
  GPtrArray    *params;         /* LatheTrainParam* */
  guint         input_id;
  guint         logits_id;
  gsize         classes;
  float        *logits_grad;
};

static void
param_free (gpointer p)
{
  LatheTrainParam *param = p;
  if (param->forward != param->data)
    lathe_aligned_free (param->forward);
  lathe_aligned_free (param->data);
  lathe_aligned_free (param->grad);
  g_free (param->mask);
  g_free (param);
}

void
lathe_train_graph_free (LatheTrainGraph *self)
{
  if (self == NULL)
    return;
  for (guint v = 0; v < self->n_vals; v++)
    {
      if (self->vals[v].owns_data)
        lathe_aligned_free (self->vals[v].data);
      if (self->vals[v].owns_grad)
        lathe_aligned_free (self->vals[v].grad);
    }
  if (self->nodes)
    for (guint i = 0; i < self->nodes->len; i++)
      {
        TNode *t = &g_array_index (self->nodes, TNode, i);
        lathe_aligned_free (t->fwd_ws);
        lathe_aligned_free (t->bwd_ws);
        g_free (t->indices);
      }
  g_clear_pointer (&self->nodes, g_array_unref);
  g_clear_pointer (&self->params, g_ptr_array_unref);
  lathe_aligned_free (self->logits_grad);
  g_free (self->vals);
  g_free (self);
}

static gboolean
is_param_input (const LatheNode *node,
                guint            i)
{
  const char *op = node->op_type;
  if (g_str_equal (op, "Gemm") || g_str_equal (op, "Conv"))
    return i == 1 || i == 2;
  if (g_str_equal (op, "MatMul"))
    return i == 1;
  if (g_str_equal (op, "BatchNormalization"))
    return i == 1 || i == 2;
  return FALSE;
}

/* The bias of a MatMul (or Conv/Gemm) written as a separate Add. */
static gboolean
is_bias_add (LatheGraph      *graph,
             const LatheNode *node,
             guint            i)
{
  int other, producer;
  const char *op;

  if (!g_str_equal (node->op_type, "Add") || node->n_inputs != 2 || i > 1)
    return FALSE;
  other = node->inputs[1 - i];
  if (other < 0 || (producer = lathe_graph_value (graph, other)->producer) < 0)
    return FALSE;
  op = lathe_graph_node (graph, (guint) producer)->op_type;
  return g_str_equal (op, "MatMul") || g_str_equal (op, "Gemm") || g_str_equal (op, "Conv");
}

static TVal *
in_val (LatheTrainGraph *self, const TNode *t, guint i)
{
  if (i >= t->node->n_inputs || t->node->inputs[i] < 0)
    return NULL;
  return &self->vals[t->node->inputs[i]];
}

static TVal *
out_val (LatheTrainGraph *self, const TNode *t)
{
  return &self->vals[t->node->outputs[0]];
}

static gsize
prod (const gint64 *dims, guint from, guint to)
{
  gsize p = 1;
  for (guint d = from; d < to; d++)
    p *= (gsize) dims[d];
  return p;
}

static gboolean
unsupported (const LatheNode *node, GError **error, const char *what)
{
  lathe_node_set_error (error, node, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                        "training does not support %s", what);
  return FALSE;
}

/* Op-specific checks and geometry, once per graph. */
static gboolean
setup_node (LatheTrainGraph *self,
            TNode           *t,
            GError         **error)
{
  LatheNode *node = t->node;
  TVal *x = in_val (self, t, 0), *y = out_val (self, t);

  for (guint i = 0; i < node->n_inputs; i++)
    {
      TVal *v = in_val (self, t, i);
      gboolean shape_input = (t->kind == OP_ALIAS && i > 0) || (t->kind == OP_CLIP && i > 0);
      if (v != NULL && !v->float_data && !shape_input)
        return unsupported (node, error, "inputs that are not float32");
      if (v != NULL && shape_input && !v->konst)
        return unsupported (node, error, "a computed shape or bound");
    }
  for (guint o = 1; o < node->n_outputs; o++)
    if (node->outputs[o] >= 0)
      return unsupported (node, error, "a second output");

  switch (t->kind)
    {
    case OP_GEMM:
      {
        TVal *b = in_val (self, t, 1);
        t->alpha = lathe_node_get_float (node, "alpha", 1.f);
        t->beta = lathe_node_get_float (node, "beta", 1.f);
        t->trans_a = lathe_node_get_int (node, "transA", 0) != 0;
        t->trans_b = lathe_node_get_int (node, "transB", 0) != 0;
        t->mm_m = (gsize) y->dims[0];
        t->mm_n = (gsize) y->dims[1];
        t->mm_k = (gsize) (t->trans_b ? b->dims[1] : b->dims[0]);
        break;
      }
    case OP_MATMUL:
      {
        TVal *b = in_val (self, t, 1);
        if (x->ndim < 2 || b->ndim < 2)
          return unsupported (node, error, "MatMul of vectors");
        t->mm_k = (gsize) x->dims[x->ndim - 1];
        t->mm_n = (gsize) b->dims[b->ndim - 1];
        if (b->ndim == 2)
          {
            t->mm_batch = 1;
            t->mm_m = x->n / t->mm_k;
          }
        else if (b->ndim == x->ndim && memcmp (b->dims, x->dims, (x->ndim - 2) * sizeof (gint64)) == 0)
          {
            t->mm_batch = prod (x->dims, 0, x->ndim - 2);
            t->mm_m = (gsize) x->dims[x->ndim - 2];
          }
        else
          return unsupported (node, error, "a broadcast batched MatMul");
        break;
      }
    case OP_CONV:
      {
        LatheWindowAttrs win;
        TVal *w = in_val (self, t, 1);
        gint64 group = lathe_node_get_int (node, "group", 1);

        if (x->ndim < 3 || w->ndim != x->ndim || x->ndim - 2 > LATHE_CONV_MAX_SPATIAL)
          return unsupported (node, error, "this convolution rank");
        if (!_lathe_window_attrs_parse (node, TRUE, &win, error))
          return FALSE;
        lathe_conv_shape_init (&t->cs);
        t->cs.batch = x->dims[0];
        t->cs.channels_in = x->dims[1];
        t->cs.channels_out = w->dims[0];
        t->cs.group = group;
        if (!_lathe_window_shape (node, &win, x->ndim - 2, x->dims + 2, w->dims + 2, &t->cs, error))
          return FALSE;
        if (lathe_conv_workspace_size (&t->cs) > 0)
          t->fwd_ws = lathe_aligned_alloc (lathe_conv_workspace_size (&t->cs));
        if (lathe_train_conv_backward_workspace (&t->cs) > 0)
          t->bwd_ws = lathe_aligned_alloc (lathe_train_conv_backward_workspace (&t->cs));
        break;
      }
    case OP_MAXPOOL:
    case OP_AVGPOOL:
      {
        LatheWindowAttrs win;
        gboolean is_max = t->kind == OP_MAXPOOL;
        if (x->ndim < 3 || x->ndim - 2 > LATHE_CONV_MAX_SPATIAL)
          return unsupported (node, error, "this pooling rank");
        if (!_lathe_window_attrs_parse (node, is_max ? node->since >= 10 : node->since >= 19, &win, error))
          return FALSE;
        if (node->since >= 10)
          win.ceil_mode = lathe_node_get_int (node, "ceil_mode", 0) != 0;
        t->count_include_pad = !is_max && node->since >= 7 &&
                               lathe_node_get_int (node, "count_include_pad", 0) != 0;
        lathe_conv_shape_init (&t->cs);
        t->cs.batch = x->dims[0];
        t->cs.channels_in = t->cs.channels_out = x->dims[1];
        if (!_lathe_window_shape (node, &win, x->ndim - 2, x->dims + 2, win.kernel, &t->cs, error))
          return FALSE;
        if (is_max)
          t->indices = g_new (gint64, y->n);
        break;
      }
    case OP_GLOBAL_AVGPOOL:
      t->outer = prod (x->dims, 0, 2);
      t->len = prod (x->dims, 2, x->ndim);
      break;
    case OP_BATCHNORM:
      if (node->since >= 14 && lathe_node_get_int (node, "training_mode", 0) != 0)
        return unsupported (node, error, "BatchNormalization in training mode (statistics stay frozen)");
      for (guint i = 3; i < 5; i++)
        if (!in_val (self, t, i)->konst)
          return unsupported (node, error, "computed BatchNormalization statistics");
      t->alpha = lathe_node_get_float (node, "epsilon", 1e-5f);
      t->outer = (gsize) x->dims[0];
      t->len = (gsize) x->dims[1];
      t->inner = prod (x->dims, 2, x->ndim);
      break;
    case OP_LEAKY_RELU:
      t->alpha = lathe_node_get_float (node, "alpha", 0.01f);
      break;
    case OP_CLIP:
      t->alpha = -FLT_MAX;
      t->beta = FLT_MAX;
      if (node->since < 11)
        {
          t->alpha = lathe_node_get_float (node, "min", -FLT_MAX);
          t->beta = lathe_node_get_float (node, "max", FLT_MAX);
        }
      else
        {
          TVal *lo = in_val (self, t, 1), *hi = in_val (self, t, 2);
          if ((lo && (!lo->float_data || lo->n != 1)) || (hi && (!hi->float_data || hi->n != 1)))
            return unsupported (node, error, "Clip bounds that are not float scalars");
          if (lo)
            t->alpha = lo->data[0];
          if (hi)
            t->beta = hi->data[0];
        }
      break;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
    case OP_CONCAT:
      {
        gint64 axis = lathe_node_get_int (node, "axis", t->kind == OP_CONCAT ? 0 : (node->since >= 13 ? -1 : 1));
        guint a;
        if (!lathe_normalize_axis (node, axis, y->ndim, &a, error))
          return FALSE;
        t->outer = prod (y->dims, 0, a);
        if (t->kind != OP_CONCAT && node->since < 13)
          {
            /* before opset 13 the input is coerced to 2-d at `axis` */
            t->len = prod (y->dims, a, y->ndim);
            t->inner = 1;
          }
        else
          {
            t->len = (gsize) y->dims[a];
            t->inner = prod (y->dims, a + 1, y->ndim);
          }
        break;
      }
    default:
      break;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Broadcasting binary ops                                                 */

/* Strides of `v` read at the output's positions (0 along broadcast axes). */
static void
broadcast_strides (const TVal *v, const TVal *y, gsize *strides)
{
  gsize s = 1;
  for (int d = (int) y->ndim - 1; d >= 0; d--)
    {
      int vd = d - ((int) y->ndim - (int) v->ndim);
      if (vd < 0 || v->dims[vd] == 1)
        strides[d] = 0;
      else
        {
          strides[d] = s;
          s *= (gsize) v->dims[vd];
        }
    }
}

static void
binary_run (OpKind kind, TVal *a, TVal *b, TVal *y, gboolean backward)
{
  gsize sa[LATHE_MAX_DIMS] = { 0 }, sb[LATHE_MAX_DIMS] = { 0 };
  gsize idx[LATHE_MAX_DIMS] = { 0 };
  gsize ia = 0, ib = 0;

  broadcast_strides (a, y, sa);
  broadcast_strides (b, y, sb);
  for (gsize o = 0; o < y->n; o++)
    {
      float av = a->data[ia], bv = b->data[ib];
      if (!backward)
        {
          switch (kind)
            {
            case OP_ADD: y->data[o] = av + bv; break;
            case OP_SUB: y->data[o] = av - bv; break;
            case OP_MUL: y->data[o] = av * bv; break;
            default:     y->data[o] = av / bv; break;
            }
        }
      else
        {
          float g = y->grad[o];
          float ga, gb;
          switch (kind)
            {
            case OP_ADD: ga = g; gb = g; break;
            case OP_SUB: ga = g; gb = -g; break;
            case OP_MUL: ga = g * bv; gb = g * av; break;
            default:     ga = g / bv; gb = -g * av / (bv * bv); break;
            }
          if (a->needs_grad)
            a->grad[ia] += ga;
          if (b->needs_grad)
            b->grad[ib] += gb;
        }
      /* advance the multi-index */
      for (int d = (int) y->ndim - 1; d >= 0; d--)
        {
          idx[d]++;
          ia += sa[d];
          ib += sb[d];
          if (idx[d] < (gsize) y->dims[d])
            break;
          ia -= sa[d] * idx[d];
          ib -= sb[d] * idx[d];
          idx[d] = 0;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Construction                                                            */

LatheTrainGraph *
lathe_train_graph_new (LatheGraph  *graph,
                       guint        batch,
                       gboolean     input_grad,
                       GError     **error)
{
  g_autoptr(LatheTrainGraph) self = g_new0 (LatheTrainGraph, 1);
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(LatheTensor) meta = lathe_tensor_new_borrowed (LATHE_DTYPE_FLOAT, 0, NULL, NULL);
  gboolean any_param_grad = FALSE;
  TVal *logits;
  int producer;

  g_return_val_if_fail (graph != NULL, NULL);
  g_return_val_if_fail (batch > 0, NULL);

  self->graph = graph;
  self->batch = batch;
  self->n_vals = graph->values->len;
  self->vals = g_new0 (TVal, self->n_vals);
  self->nodes = g_array_new (FALSE, TRUE, sizeof (TNode));
  self->params = g_ptr_array_new_with_free_func (param_free);

  if (graph->inputs->len != 1 || graph->outputs->len < 1)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                   "training needs a model with one input (this one has %u)", graph->inputs->len);
      return NULL;
    }
  self->input_id = g_array_index (graph->inputs, guint, 0);

  /* Shapes and constants from the executor's plan for this batch. */
  exec = lathe_executor_new (graph);
  if (!lathe_graph_input_shape_for_batch (graph, 0, batch, meta, error) ||
      !lathe_executor_prepare (exec, 1, &meta, error))
    return NULL;
  if (meta->dtype != LATHE_DTYPE_FLOAT)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                   "training needs a float32 model input");
      return NULL;
    }
  for (guint v = 0; v < self->n_vals; v++)
    {
      LatheTensor *t = lathe_executor_get_value (exec, v);
      TVal *tv = &self->vals[v];
      if (t == NULL)
        continue;
      tv->known = TRUE;
      tv->ndim = t->ndim;
      memcpy (tv->dims, t->dims, sizeof t->dims);
      tv->n = t->n;
      tv->float_data = t->dtype == LATHE_DTYPE_FLOAT;
      tv->konst = v != self->input_id && t->data != NULL;
      if (tv->konst && tv->float_data)
        {
          tv->data = lathe_aligned_alloc (MAX (t->n, 1) * sizeof (float));
          memcpy (tv->data, t->data, t->n * sizeof (float));
          tv->owns_data = TRUE;
        }
    }

  /* Parameters: float initializers read directly by the trainable ops. */
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      LatheNode *node = lathe_graph_node (graph, i);
      for (guint k = 0; k < node->n_inputs; k++)
        {
          int id = node->inputs[k];
          LatheValue *value;
          TVal *tv;
          LatheTrainParam *p;

          if (id < 0 || !(is_param_input (node, k) || is_bias_add (graph, node, k)))
            continue;
          value = lathe_graph_value (graph, id);
          tv = &self->vals[id];
          if (value->kind != LATHE_VALUE_INITIALIZER || !tv->float_data || !tv->konst)
            continue;
          if (lathe_train_graph_find_param (self, value->name) != NULL)
            continue;
          p = g_new0 (LatheTrainParam, 1);
          p->name = value->name;
          p->value_id = (guint) id;
          p->ndim = tv->ndim;
          memcpy (p->dims, tv->dims, sizeof p->dims);
          p->n = tv->n;
          p->data = tv->data;                 /* the value's copy becomes the master */
          p->forward = p->data;
          p->grad = lathe_aligned_alloc0 (MAX (p->n, 1) * sizeof (float));
          tv->owns_data = FALSE;
          tv->konst = FALSE;
          tv->needs_grad = TRUE;
          tv->grad = p->grad;
          g_ptr_array_add (self->params, p);
        }
    }

  /* The input */
  {
    TVal *in = &self->vals[self->input_id];
    in->data = lathe_aligned_alloc0 (MAX (in->n, 1) * sizeof (float));
    in->owns_data = TRUE;
    in->needs_grad = input_grad;
    if (input_grad)
      {
        in->grad = lathe_aligned_alloc0 (MAX (in->n, 1) * sizeof (float));
        in->owns_grad = TRUE;
      }
  }

  /* Live nodes: those reading something that is not constant. */
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      LatheNode *node = lathe_graph_node (graph, i);
      gboolean live = FALSE, grad = FALSE;
      TNode t = { 0 };
      TVal *y;
      guint k;

      for (k = 0; k < node->n_inputs; k++)
        if (node->inputs[k] >= 0 && self->vals[node->inputs[k]].known && !self->vals[node->inputs[k]].konst)
          {
            live = TRUE;
            grad |= self->vals[node->inputs[k]].needs_grad;
          }
      if (!live)
        continue;
      t.node = node;
      for (k = 0; k < G_N_ELEMENTS (op_kinds); k++)
        if (g_str_equal (node->op_type, op_kinds[k].op_type) && *node->domain == '\0')
          break;
      if (k == G_N_ELEMENTS (op_kinds))
        {
          lathe_node_set_error (error, node, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                                "training has no backward pass for %s", node->op_type);
          return NULL;
        }
      t.kind = op_kinds[k].kind;
      y = &self->vals[node->outputs[0]];
      if (!y->float_data)
        return unsupported (node, error, "outputs that are not float32"), NULL;
      /* the plan may have given it arena memory, copied above as if constant */
      if (y->owns_data)
        lathe_aligned_free (y->data);
      y->data = NULL;
      y->owns_data = FALSE;
      y->konst = FALSE;
      y->needs_grad = grad;
      if (t.kind == OP_ALIAS)
        {
          /* Reshape and friends: the same bytes, and the same gradient */
          TVal *x = &self->vals[node->inputs[0]];
          y->data = x->data;
          y->grad = x->grad;
        }
      else
        {
          y->data = lathe_aligned_alloc0 (MAX (y->n, 1) * sizeof (float));
          y->owns_data = TRUE;
          if (grad)
            {
              y->grad = lathe_aligned_alloc0 (MAX (y->n, 1) * sizeof (float));
              y->owns_grad = TRUE;
            }
        }
      if (!setup_node (self, &t, error))
        {
          g_free (t.indices);
          lathe_aligned_free (t.fwd_ws);
          lathe_aligned_free (t.bwd_ws);
          return NULL;
        }
      g_array_append_val (self->nodes, t);
    }

  /* The logits: the first output, or what its Softmax reads. */
  self->logits_id = g_array_index (graph->outputs, guint, 0);
  producer = lathe_graph_value (graph, self->logits_id)->producer;
  if (producer >= 0)
    {
      LatheNode *p = lathe_graph_node (graph, (guint) producer);
      if (g_str_equal (p->op_type, "Softmax") || g_str_equal (p->op_type, "LogSoftmax"))
        {
          TVal *y = &self->vals[self->logits_id];
          gint64 axis = lathe_node_get_int (p, "axis", p->since >= 13 ? -1 : 1);
          if (axis == -1 || axis == (gint64) y->ndim - 1)
            self->logits_id = (guint) p->inputs[0];
        }
    }
  logits = &self->vals[self->logits_id];
  if (logits->ndim != 2 || logits->dims[0] != batch)
    {
      g_autofree char *s = lathe_shape_to_string (logits->ndim, logits->dims);
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                   "training needs [batch, classes] logits, but output '%s' is %s",
                   lathe_graph_value (graph, self->logits_id)->name, s);
      return NULL;
    }
  any_param_grad = self->params->len > 0;
  if (!logits->needs_grad || !any_param_grad)
    {
      g_set_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED,
                   "the model has no trainable weights (Gemm, MatMul, Conv or BatchNormalization initializers) before its output");
      return NULL;
    }
  self->classes = (gsize) logits->dims[1];
  self->logits_grad = lathe_aligned_alloc0 (logits->n * sizeof (float));
  return g_steal_pointer (&self);
}

/* ---------------------------------------------------------------------- */
/* Forward                                                                 */

static void
forward_node (LatheTrainGraph *self,
              TNode           *t)
{
  TVal *x = in_val (self, t, 0), *y = out_val (self, t);
  const float *xd = x->data;
  float *yd = y->data;

  switch (t->kind)
    {
    case OP_GEMM:
      {
        TVal *b = in_val (self, t, 1), *c = in_val (self, t, 2);
        lathe_train_gemm (t->trans_a, t->trans_b, t->mm_m, t->mm_n, t->mm_k, t->alpha,
                          xd, b->data, 0.f, yd);
        if (c != NULL && t->beta != 0.f)
          {
            /* C broadcasts to [M, N]: a scalar, [N], [1, N], [M, 1] or [M, N] */
            gboolean per_row = c->ndim == 2 && c->dims[0] > 1;
            gboolean per_col = c->ndim >= 1 && c->dims[c->ndim - 1] > 1;
            for (gsize i = 0; i < t->mm_m; i++)
              for (gsize j = 0; j < t->mm_n; j++)
                yd[i * t->mm_n + j] += t->beta * c->data[(per_row ? i : 0) * (per_col ? t->mm_n : 1) + (per_col ? j : 0)];
          }
        break;
      }
    case OP_MATMUL:
      {
        TVal *b = in_val (self, t, 1);
        gsize bstride = b->ndim == 2 ? 0 : t->mm_k * t->mm_n;
        for (gsize i = 0; i < t->mm_batch; i++)
          lathe_train_gemm (FALSE, FALSE, t->mm_m, t->mm_n, t->mm_k, 1.f,
                            xd + i * t->mm_m * t->mm_k, b->data + i * bstride, 0.f,
                            yd + i * t->mm_m * t->mm_n);
        break;
      }
    case OP_CONV:
      {
        TVal *w = in_val (self, t, 1), *b = in_val (self, t, 2);
        lathe_conv_f32 (&t->cs, xd, w->data, b ? b->data : NULL, yd, t->fwd_ws);
        break;
      }
    case OP_RELU:
      /* NaN passes through, so a broken input shows in the loss */
      for (gsize i = 0; i < y->n; i++)
        yd[i] = xd[i] < 0.f ? 0.f : xd[i];
      break;
    case OP_LEAKY_RELU:
      for (gsize i = 0; i < y->n; i++)
        yd[i] = xd[i] >= 0.f ? xd[i] : t->alpha * xd[i];
      break;
    case OP_CLIP:
      for (gsize i = 0; i < y->n; i++)
        yd[i] = MIN (MAX (xd[i], t->alpha), t->beta);
      break;
    case OP_SIGMOID:
      for (gsize i = 0; i < y->n; i++)
        yd[i] = 1.f / (1.f + expf (-xd[i]));
      break;
    case OP_TANH:
      for (gsize i = 0; i < y->n; i++)
        yd[i] = tanhf (xd[i]);
      break;
    case OP_ERF:
      for (gsize i = 0; i < y->n; i++)
        yd[i] = erff (xd[i]);
      break;
    case OP_MAXPOOL:
      lathe_maxpool_f32 (&t->cs, xd, yd, t->indices, FALSE);
      break;
    case OP_AVGPOOL:
      lathe_avgpool_f32 (&t->cs, xd, yd, t->count_include_pad);
      break;
    case OP_GLOBAL_AVGPOOL:
      lathe_global_avgpool_f32 ((gint64) t->outer, (gint64) t->len, xd, yd);
      break;
    case OP_BATCHNORM:
      {
        const float *scale = in_val (self, t, 1)->data, *bias = in_val (self, t, 2)->data;
        const float *mean = in_val (self, t, 3)->data, *var = in_val (self, t, 4)->data;
        for (gsize n = 0; n < t->outer; n++)
          for (gsize c = 0; c < t->len; c++)
            {
              const float *xp = xd + (n * t->len + c) * t->inner;
              float *yp = yd + (n * t->len + c) * t->inner;
              float sd = sqrtf (var[c] + t->alpha);
              for (gsize k = 0; k < t->inner; k++)
                yp[k] = (xp[k] - mean[c]) / sd * scale[c] + bias[c];
            }
        break;
      }
    case OP_ALIAS:
      break;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
      binary_run (t->kind, x, in_val (self, t, 1), y, FALSE);
      break;
    case OP_CONCAT:
      {
        gsize off = 0;
        for (guint i = 0; i < t->node->n_inputs; i++)
          {
            TVal *v = in_val (self, t, i);
            gsize block = v->n / MAX (t->outer, 1);
            for (gsize o = 0; o < t->outer; o++)
              memcpy (yd + o * t->len * t->inner + off, v->data + o * block, block * sizeof (float));
            off += block;
          }
        break;
      }
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
      for (gsize o = 0; o < t->outer; o++)
        for (gsize in = 0; in < t->inner; in++)
          {
            const float *xp = xd + o * t->len * t->inner + in;
            float *yp = yd + o * t->len * t->inner + in;
            float m = -INFINITY, s = 0.f;
            for (gsize k = 0; k < t->len; k++)
              m = MAX (m, xp[k * t->inner]);
            for (gsize k = 0; k < t->len; k++)
              s += expf (xp[k * t->inner] - m);
            for (gsize k = 0; k < t->len; k++)
              yp[k * t->inner] = t->kind == OP_SOFTMAX ? expf (xp[k * t->inner] - m) / s
                                                       : xp[k * t->inner] - m - logf (s);
          }
      break;
    }
}

gboolean
lathe_train_graph_forward (LatheTrainGraph  *self,
                           GError          **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  for (guint i = 0; i < self->nodes->len; i++)
    forward_node (self, &g_array_index (self->nodes, TNode, i));
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Backward                                                                */

static void
backward_node (LatheTrainGraph *self,
               TNode           *t)
{
  TVal *x = in_val (self, t, 0), *y = out_val (self, t);
  const float *dy = y->grad;
  float *dx = x->needs_grad ? x->grad : NULL;

  switch (t->kind)
    {
    case OP_GEMM:
      {
        TVal *b = in_val (self, t, 1), *c = in_val (self, t, 2);
        gsize M = t->mm_m, N = t->mm_n, K = t->mm_k;
        if (dx)
          {
            if (!t->trans_a)
              lathe_train_gemm (FALSE, !t->trans_b, M, K, N, t->alpha, dy, b->data, 1.f, dx);
            else
              lathe_train_gemm (t->trans_b, TRUE, K, M, N, t->alpha, b->data, dy, 1.f, dx);
          }
        if (b->needs_grad)
          {
            if (!t->trans_b)
              lathe_train_gemm (!t->trans_a, FALSE, K, N, M, t->alpha, x->data, dy, 1.f, b->grad);
            else
              lathe_train_gemm (TRUE, t->trans_a, N, K, M, t->alpha, dy, x->data, 1.f, b->grad);
          }
        if (c != NULL && c->needs_grad)
          {
            gboolean per_row = c->ndim == 2 && c->dims[0] > 1;
            gboolean per_col = c->ndim >= 1 && c->dims[c->ndim - 1] > 1;
            for (gsize i = 0; i < M; i++)
              for (gsize j = 0; j < N; j++)
                c->grad[(per_row ? i : 0) * (per_col ? N : 1) + (per_col ? j : 0)] += t->beta * dy[i * N + j];
          }
        break;
      }
    case OP_MATMUL:
      {
        TVal *b = in_val (self, t, 1);
        gsize bstride = b->ndim == 2 ? 0 : t->mm_k * t->mm_n;
        for (gsize i = 0; i < t->mm_batch; i++)
          {
            const float *dyi = dy + i * t->mm_m * t->mm_n;
            if (dx)
              lathe_train_gemm (FALSE, TRUE, t->mm_m, t->mm_k, t->mm_n, 1.f, dyi,
                                b->data + i * bstride, 1.f, dx + i * t->mm_m * t->mm_k);
            if (b->needs_grad)
              lathe_train_gemm (TRUE, FALSE, t->mm_k, t->mm_n, t->mm_m, 1.f,
                                x->data + i * t->mm_m * t->mm_k, dyi, 1.f, b->grad + i * bstride);
          }
        break;
      }
    case OP_CONV:
      {
        TVal *w = in_val (self, t, 1), *b = in_val (self, t, 2);
        lathe_train_conv_backward (&t->cs, x->data, w->data, dy, dx,
                                   w->needs_grad ? w->grad : NULL,
                                   b && b->needs_grad ? b->grad : NULL, t->bwd_ws);
        break;
      }
    case OP_RELU:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += x->data[i] > 0.f ? dy[i] : 0.f;
      break;
    case OP_LEAKY_RELU:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += x->data[i] >= 0.f ? dy[i] : t->alpha * dy[i];
      break;
    case OP_CLIP:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += x->data[i] >= t->alpha && x->data[i] <= t->beta ? dy[i] : 0.f;
      break;
    case OP_SIGMOID:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += dy[i] * y->data[i] * (1.f - y->data[i]);
      break;
    case OP_TANH:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += dy[i] * (1.f - y->data[i] * y->data[i]);
      break;
    case OP_ERF:
      if (dx)
        for (gsize i = 0; i < y->n; i++)
          dx[i] += dy[i] * (float) M_2_SQRTPI * expf (-x->data[i] * x->data[i]);
      break;
    case OP_MAXPOOL:
      if (dx)
        for (gsize o = 0; o < y->n; o++)
          if (t->indices[o] >= 0)
            dx[t->indices[o]] += dy[o];
      break;
    case OP_AVGPOOL:
      if (dx)
        lathe_train_avgpool_backward (&t->cs, dy, dx, t->count_include_pad);
      break;
    case OP_GLOBAL_AVGPOOL:
      if (dx)
        for (gsize p = 0; p < t->outer; p++)
          {
            float g = dy[p] / (float) t->len;
            for (gsize k = 0; k < t->len; k++)
              dx[p * t->len + k] += g;
          }
      break;
    case OP_BATCHNORM:
      {
        TVal *sv = in_val (self, t, 1), *bv = in_val (self, t, 2);
        const float *mean = in_val (self, t, 3)->data, *var = in_val (self, t, 4)->data;
        for (gsize c = 0; c < t->len; c++)
          {
            float inv = 1.f / sqrtf (var[c] + t->alpha);
            float gs = 0.f, gb = 0.f;
            for (gsize n = 0; n < t->outer; n++)
              {
                const float *xp = x->data + (n * t->len + c) * t->inner;
                const float *dyp = dy + (n * t->len + c) * t->inner;
                for (gsize k = 0; k < t->inner; k++)
                  {
                    gs += dyp[k] * (xp[k] - mean[c]);
                    gb += dyp[k];
                  }
                if (dx)
                  {
                    float f = sv->data[c] * inv;
                    float *dxp = dx + (n * t->len + c) * t->inner;
                    for (gsize k = 0; k < t->inner; k++)
                      dxp[k] += dyp[k] * f;
                  }
              }
            if (sv->needs_grad)
              sv->grad[c] += gs * inv;
            if (bv->needs_grad)
              bv->grad[c] += gb;
          }
        break;
      }
    case OP_ALIAS:
      break;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
      binary_run (t->kind, x, in_val (self, t, 1), y, TRUE);
      break;
    case OP_CONCAT:
      {
        gsize off = 0;
        for (guint i = 0; i < t->node->n_inputs; i++)
          {
            TVal *v = in_val (self, t, i);
            gsize block = v->n / MAX (t->outer, 1);
            if (v->needs_grad)
              for (gsize o = 0; o < t->outer; o++)
                for (gsize k = 0; k < block; k++)
                  v->grad[o * block + k] += dy[o * t->len * t->inner + off + k];
            off += block;
          }
        break;
      }
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
      if (dx)
        for (gsize o = 0; o < t->outer; o++)
          for (gsize in = 0; in < t->inner; in++)
            {
              gsize base = o * t->len * t->inner + in;
              float s = 0.f;
              for (gsize k = 0; k < t->len; k++)
                s += t->kind == OP_SOFTMAX ? dy[base + k * t->inner] * y->data[base + k * t->inner]
                                           : dy[base + k * t->inner];
              for (gsize k = 0; k < t->len; k++)
                {
                  gsize j = base + k * t->inner;
                  dx[j] += t->kind == OP_SOFTMAX ? y->data[j] * (dy[j] - s)
                                                 : dy[j] - expf (y->data[j]) * s;
                }
            }
      break;
    }
}

gboolean
lathe_train_graph_backward (LatheTrainGraph  *self,
                            GError          **error)
{
  TVal *logits;

  g_return_val_if_fail (self != NULL, FALSE);
  for (guint v = 0; v < self->n_vals; v++)
    if (self->vals[v].owns_grad)
      memset (self->vals[v].grad, 0, self->vals[v].n * sizeof (float));
  for (guint i = 0; i < self->params->len; i++)
    {
      LatheTrainParam *p = g_ptr_array_index (self->params, i);
      memset (p->grad, 0, p->n * sizeof (float));
    }
  logits = &self->vals[self->logits_id];
  memcpy (logits->grad, self->logits_grad, logits->n * sizeof (float));
  for (guint i = self->nodes->len; i-- > 0;)
    {
      TNode *t = &g_array_index (self->nodes, TNode, i);
      if (out_val (self, t)->needs_grad)
        backward_node (self, t);
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                               */

guint
lathe_train_graph_get_batch (LatheTrainGraph *self)
{
  return self->batch;
}

float *
lathe_train_graph_get_input (LatheTrainGraph *self,
                             gsize           *n_out)
{
  if (n_out)
    *n_out = self->vals[self->input_id].n;
  return self->vals[self->input_id].data;
}

float *
lathe_train_graph_get_input_grad (LatheTrainGraph *self)
{
  return self->vals[self->input_id].grad;
}

gsize
lathe_train_graph_get_sample_size (LatheTrainGraph *self)
{
  return self->vals[self->input_id].n / self->batch;
}

float *
lathe_train_graph_get_logits (LatheTrainGraph *self,
                              gsize           *classes)
{
  if (classes)
    *classes = self->classes;
  return self->vals[self->logits_id].data;
}

float *
lathe_train_graph_get_logits_grad (LatheTrainGraph *self)
{
  return self->logits_grad;
}

guint
lathe_train_graph_get_n_params (LatheTrainGraph *self)
{
  return self->params->len;
}

LatheTrainParam *
lathe_train_graph_get_param (LatheTrainGraph *self,
                             guint            i)
{
  g_return_val_if_fail (i < self->params->len, NULL);
  return g_ptr_array_index (self->params, i);
}

LatheTrainParam *
lathe_train_graph_find_param (LatheTrainGraph *self,
                              const char      *name)
{
  for (guint i = 0; i < self->params->len; i++)
    {
      LatheTrainParam *p = g_ptr_array_index (self->params, i);
      if (g_str_equal (p->name, name))
        return p;
    }
  return NULL;
}

float *
lathe_train_graph_detach_forward (LatheTrainGraph *self,
                                  LatheTrainParam *param)
{
  g_return_val_if_fail (param != NULL, NULL);
  if (param->forward == param->data)
    {
      param->forward = lathe_aligned_alloc (MAX (param->n, 1) * sizeof (float));
      memcpy (param->forward, param->data, param->n * sizeof (float));
      self->vals[param->value_id].data = param->forward;
    }
  return param->forward;
}

LatheGraph *
lathe_train_graph_export (LatheTrainGraph  *self,
                          gboolean          master,
                          GError          **error)
{
  g_autoptr(LatheGraph) copy = lathe_graph_copy (self->graph, error);

  if (copy == NULL)
    return NULL;
  for (guint i = 0; i < self->params->len; i++)
    {
      LatheTrainParam *p = g_ptr_array_index (self->params, i);
      g_autoptr(LatheTensor) t = lathe_tensor_new (LATHE_DTYPE_FLOAT, p->ndim, p->dims);
      memcpy (t->data, master ? p->data : p->forward, p->n * sizeof (float));
      lathe_graph_set_initializer (copy, p->value_id, t);
    }
  return g_steal_pointer (&copy);
}
