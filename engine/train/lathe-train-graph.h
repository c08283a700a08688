/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

/* A LatheGraph made trainable at one batch size: forward with every
 * activation kept, and backward. Shapes and constants come from the
 * executor's plan for that batch; the ops have their own forward here
 * (matching the executor's) so that the backward reads exactly what the
 * forward saw.
 *
 * Parameters are the float initializers read directly as a Gemm's B or C,
 * a MatMul's B, a Conv's weight or bias, an Add's operand beside the
 * output of one of those (a bias added separately), or a
 * BatchNormalization's scale or shift (its mean and variance stay frozen). Everything else is a
 * constant. Ops with a backward: Gemm, MatMul, Conv (any group; depthwise
 * directly), Relu, LeakyRelu, Clip, Sigmoid, Tanh, Erf, MaxPool,
 * AveragePool, GlobalAveragePool, BatchNormalization, Flatten, Reshape,
 * Squeeze, Unsqueeze, Identity, Dropout (inference), Add, Sub, Mul, Div
 * (broadcasting), Concat, Softmax and LogSoftmax. GELU exported as its
 * Erf formula trains through Erf, Mul, Div and Add. Any other op on the
 * path from the input to the output is a LATHE_TRAIN_ERROR_UNSUPPORTED
 * naming the node. */

typedef struct {
  const char *name;       /* the initializer's name */
  guint       value_id;
  guint       ndim;
  gint64      dims[LATHE_MAX_DIMS];
  gsize       n;
  float      *data;       /* master weights: what the optimiser updates */
  float      *grad;
  float      *forward;    /* what the forward reads: `data`, or a fake-quantized copy */
  guint8     *mask;       /* NULL, or n flags: 0 = held at exactly 0 */
} LatheTrainParam;

typedef struct _LatheTrainGraph LatheTrainGraph;

/* input_grad: also compute the gradient of the graph input (tests). */
LatheTrainGraph *lathe_train_graph_new         (LatheGraph      *graph,
                                                guint            batch,
                                                gboolean         input_grad,
                                                GError         **error);
void             lathe_train_graph_free        (LatheTrainGraph *self);

guint            lathe_train_graph_get_batch   (LatheTrainGraph *self);
/* The first graph input, [batch, …], to be filled before forward(). */
float           *lathe_train_graph_get_input   (LatheTrainGraph *self,
                                                gsize           *n_out);
float           *lathe_train_graph_get_input_grad (LatheTrainGraph *self);
/* Elements per sample of the first input. */
gsize            lathe_train_graph_get_sample_size (LatheTrainGraph *self);
/* The logits the loss reads: the first output, or the input of a
 * Softmax/LogSoftmax that produces it. [batch, classes]. */
float           *lathe_train_graph_get_logits  (LatheTrainGraph *self,
                                                gsize           *classes);
/* dL/dlogits, written by the caller before backward(). */
float           *lathe_train_graph_get_logits_grad (LatheTrainGraph *self);

guint            lathe_train_graph_get_n_params (LatheTrainGraph *self);
LatheTrainParam *lathe_train_graph_get_param   (LatheTrainGraph *self,
                                                guint            i);
LatheTrainParam *lathe_train_graph_find_param  (LatheTrainGraph *self,
                                                const char      *name);

/* Gives a parameter its own `forward` buffer (a copy of its weights) that
 * the forward and backward passes read from then on: for fake
 * quantization, the optimiser keeps updating `data`. */
float           *lathe_train_graph_detach_forward (LatheTrainGraph *self,
                                                   LatheTrainParam *param);

gboolean         lathe_train_graph_forward     (LatheTrainGraph *self,
                                                GError         **error);
/* Zeroes every gradient, then back-propagates dL/dlogits. */
gboolean         lathe_train_graph_backward    (LatheTrainGraph *self,
                                                GError         **error);

/* A copy of the source graph with the parameters' `forward` weights as
 * its initializers (fake-quantized when QAT is on, masked zeros exact). */
LatheGraph      *lathe_train_graph_export      (LatheTrainGraph *self,
                                                gboolean         master,
                                                GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheTrainGraph, lathe_train_graph_free)

G_END_DECLS
