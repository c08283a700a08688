/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

#include "session/lathe-session.h"

G_BEGIN_DECLS

#define LATHE_TYPE_COMPARE_PANE (lathe_compare_pane_get_type ())
G_DECLARE_FINAL_TYPE (LatheComparePane, lathe_compare_pane, LATHE, COMPARE_PANE, GtkWidget)

/* A pinned plan beside the current one: size, accuracy and
 * multiply-accumulates of both and their change, the layers whose settings
 * differ, each class's accuracy, and the change of the confusion matrix as
 * a heatmap. Says so when figures come from the subset. Shows an empty
 * state until a plan is pinned. */
GtkWidget *lathe_compare_pane_new             (void);
/* The plan (copied; NULL: the source model's settings) and its measured
 * result (NULL unpins). */
void       lathe_compare_pane_set_pinned      (LatheComparePane   *self,
                                               const LathePlan    *plan,
                                               LatheSessionResult *result);
void       lathe_compare_pane_set_current     (LatheComparePane   *self,
                                               const LathePlan    *plan,
                                               LatheSessionResult *result);
gboolean   lathe_compare_pane_get_has_pinned  (LatheComparePane   *self);
/* The model's layers (LatheLayer*), in order, to compare settings over;
 * without them the layers the results report are used. */
void       lathe_compare_pane_set_layers      (LatheComparePane   *self,
                                               GPtrArray          *layers);
/* Class names in label order (NULL-terminated; NULL: "Class k"). */
void       lathe_compare_pane_set_class_names (LatheComparePane   *self,
                                               const char * const *names);
/* Layers and class names from a session: the dataset's class names when
 * the engine knows them (Fashion-MNIST), else the model's lathe.labels
 * when they count as many classes, else none. */
void       lathe_compare_pane_set_session     (LatheComparePane   *self,
                                               LatheSession       *session);

G_END_DECLS
