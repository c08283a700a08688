/* SPDX-License-Identifier: MIT */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "lathe-chart-draw.h"

G_BEGIN_DECLS

/* A training run as the chart reads it: the finished epochs' mean loss
 * and accuracy, and the loss as it streams within the epochs (x in epochs
 * elapsed: step s of steps in epoch e is e − 1 + s / steps). */
typedef struct {
  guint         epochs;              /* planned: the x axis spans 0 … epochs */
  const double *epoch_loss;          /* n_done: mean training loss per epoch */
  const double *epoch_accuracy;      /* n_done, 0 … 1, NAN where not measured */
  guint         n_done;
  double        untrained_accuracy;  /* 0 … 1 at x = 0, or NAN */
  const double *step_x;              /* n_steps */
  const double *step_loss;           /* n_steps: the epoch's mean loss so far */
  guint         n_steps;
} LatheTrainingCurve;

/* Two plots stacked on one epoch axis: the loss above (the epoch means as
 * a line with dots in palette->front, the streaming in-epoch loss as a thin
 * line in palette->point) and the accuracy in % below (palette->current,
 * from the untrained figure at epoch 0, which also runs across as a dashed
 * rule). Without any figure, an empty frame with a note. `loss_plot` and
 * `accuracy_plot` (nullable) receive the plot areas. */
void lathe_chart_draw_training (cairo_t                  *cr,
                                int                       width,
                                int                       height,
                                const LatheChartPalette  *palette,
                                const LatheTrainingCurve *curve,
                                LatheChartRect           *loss_plot,
                                LatheChartRect           *accuracy_plot);

/* The x at epoch position `x` (0 … epochs) within a plot, as the drawing
 * places it; for hover and pixel tests. */
double lathe_chart_training_x (const LatheChartRect *plot,
                               guint                 epochs,
                               double                x);

G_END_DECLS
