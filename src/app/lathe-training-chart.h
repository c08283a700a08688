/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "train/lathe-train.h"
#include "lathe-chart-draw.h"

G_BEGIN_DECLS

#define LATHE_TYPE_TRAINING_CHART (lathe_training_chart_get_type ())
G_DECLARE_FINAL_TYPE (LatheTrainingChart, lathe_training_chart, LATHE, TRAINING_CHART, GtkWidget)

/* The curve of a training run (see lathe_chart_draw_training()): loss per
 * epoch with the in-epoch loss as it streams, and accuracy per epoch
 * against the untrained figure. The accessible description reads the
 * figures out. */
LatheTrainingChart *lathe_training_chart_new             (void);
/* Forgets the run and expects `epochs` epochs. */
void                lathe_training_chart_reset           (LatheTrainingChart       *self,
                                                          guint                     epochs);
/* One "train-progress": a step adds to the streaming loss, an epoch's end
 * (epoch_end) records the epoch's mean loss and accuracy. */
void                lathe_training_chart_add_step        (LatheTrainingChart       *self,
                                                          const LatheTrainProgress *progress);
/* The finished run's curve (double arrays, copied; NULL for none) and the
 * untrained accuracy (NAN when unknown): replaces the epoch figures, keeps
 * the streamed steps. */
void                lathe_training_chart_set_result      (LatheTrainingChart       *self,
                                                          GArray                   *epoch_loss,
                                                          GArray                   *epoch_accuracy,
                                                          double                    untrained_accuracy);
guint               lathe_training_chart_get_n_epochs_done (LatheTrainingChart     *self);
const char         *lathe_training_chart_get_description (LatheTrainingChart       *self);
gboolean            lathe_training_chart_save            (LatheTrainingChart       *self,
                                                          GFile                    *file,
                                                          LatheChartFormat          format,
                                                          GError                  **error);

G_END_DECLS
