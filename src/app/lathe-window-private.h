/* SPDX-License-Identifier: MIT */
#pragma once

#include "compress/lathe-plan.h"
#include "lathe-compare-pane.h"
#include "lathe-histogram-chart.h"
#include "lathe-history.h"
#include "lathe-plane-chart.h"
#include "lathe-size-chart.h"
#include "lathe-training-chart.h"
#include "lathe-layer-table.h"
#include "lathe-scoreboard.h"
#include "lathe-window.h"
#include "session/lathe-session.h"

G_BEGIN_DECLS

/* The window spans lathe-window.c (loading, results), -edit.c (plans,
 * undo, presets) and -files.c (pipeline files, drag and drop, recent
 * files); they share its struct here. */
struct _LatheWindow {
  AdwApplicationWindow  parent_instance;

  /* template */
  AdwWindowTitle       *window_title;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_label;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  GtkSpinner           *loading_spinner;
  GtkLabel             *loading_label;
  LatheScoreboard      *scoreboard;
  GtkScale             *global_bits_scale;
  GtkScale             *global_sparsity_scale;
  GtkScale             *global_width_scale;
  GtkLabel             *global_bits_value;
  GtkLabel             *global_sparsity_value;
  GtkLabel             *global_width_value;
  GtkAdjustment        *global_bits_adjustment;
  GtkAdjustment        *global_sparsity_adjustment;
  GtkAdjustment        *global_width_adjustment;
  LatheLayerTable      *layer_table;
  LatheComparePane     *compare_pane;
  LathePlaneChart      *plane_chart;
  LatheTrainingChart   *training_chart;
  GtkRevealer          *training_revealer;
  GtkLabel             *training_status_label;
  GtkProgressBar       *training_progress;
  LatheHistogramChart  *histogram_chart;
  LatheSizeChart       *size_chart;
  GtkLabel             *histogram_title;
  GtkWidget            *recent_box;
  GtkListBox           *recent_list;
  GtkButton            *cancel_training_button;

  GCancellable         *load_cancellable;
  GtkNativeDialog      *chooser;

  /* the open model */
  GFile                *file;
  LatheSession         *session;
  LatheSessionResult   *baseline;
  LatheSessionResult   *result;
  GListStore           *layers;      /* LatheLayerItem */
  guint                 plan_source;
  gint64                last_sent_us;
  guint64               generation;
  gboolean              evaluating;

  /* the data it is measured on */
  char                 *data_spec;
  GArray               *mean, *std;  /* of float; NULL: the model's own */

  /* editing (lathe-window-edit.c) */
  LathePlan            *base_plan;   /* what the sliders do not show: granularity, methods… */
  LatheHistory         *history;
  guint                 commit_source;
  gboolean              pointer_down;
  gboolean              restoring;
  GPtrArray            *measured;    /* LatheMeasured*: every plan measured on this model */
  guint                 next_measured_id;

  /* charts (lathe-window-charts.c) */
  GCancellable         *summary_cancellable;
  guint64               pinned_generation;   /* 0: nothing pinned */

  /* training (lathe-window-train.c) */
  guint64               training_job;        /* 0: none running */
  LathePlan            *training_plan;
  guint                 train_limit;
  LatheSessionResult   *shown_trained;       /* the trained figures on show, or NULL */

  GSettings            *settings;
};

/* A plan measured on the open model: a point on the size–accuracy plane. */
typedef struct {
  guint      id;            /* the plane chart's plan id */
  LathePlan *plan;
  guint64    generation;
  guint64    packed_bytes;
  double     accuracy, lo, hi;
  gboolean   full;          /* the whole evaluation set, not the subset */
  gboolean   trained;       /* a trained student's figures */
} LatheMeasured;

void        lathe_measured_free            (LatheMeasured *m);

void        _lathe_window_show_error       (LatheWindow     *self,
                                            const char      *title,
                                            const char      *detail);
void        _lathe_window_toast            (LatheWindow     *self,
                                            const char      *text);
LathePlan  *_lathe_window_build_plan       (LatheWindow     *self);
void        _lathe_window_queue_plan       (LatheWindow     *self);
/* Opens a model, then shows `plan` (NULL: the uncompressed model);
 * `data_spec` NULL: Fashion-MNIST; mean/std NULL: the model's own. */
void        _lathe_window_open_full        (LatheWindow     *self,
                                            GFile           *file,
                                            const char      *data_spec,
                                            GArray          *mean,
                                            GArray          *std,
                                            const LathePlan *plan,
                                            const char      *plan_origin);

/* lathe-window-edit.c */
void        _lathe_window_edit_class_init  (GtkWidgetClass  *widget_class);
void        _lathe_window_edit_init        (LatheWindow     *self);
void        _lathe_window_edit_dispose     (LatheWindow     *self);
/* Enables what needs an open model, undo and redo as the history allows. */
void        _lathe_window_update_actions   (LatheWindow     *self);
/* A model was installed: `plan` becomes the only step. */
void        _lathe_window_edit_start       (LatheWindow     *self,
                                            const LathePlan *plan);
/* A slider moved: commit a step when the interaction ends. */
void        _lathe_window_plan_changed     (LatheWindow     *self);
/* Shows `plan` in the sliders (and measures it). */
void        _lathe_window_restore_plan     (LatheWindow     *self,
                                            const LathePlan *plan);
void        _lathe_window_plan_sent        (LatheWindow     *self,
                                            const LathePlan *plan,
                                            guint64          generation);
void        _lathe_window_record_result    (LatheWindow     *self,
                                            LatheSessionResult *result);
LathePlan  *_lathe_window_default_plan     (LatheWindow     *self);

/* Shows a plan chosen as a whole (a preset, reset, a chart's point) and
 * records it as one step. */
void        _lathe_window_jump_to          (LatheWindow     *self,
                                            const LathePlan *plan);
LatheMeasured *_lathe_window_find_measured (LatheWindow     *self,
                                            guint64          generation);

/* lathe-window-charts.c */
void        _lathe_window_charts_class_init (GtkWidgetClass *widget_class);
void        _lathe_window_charts_init      (LatheWindow     *self);
void        _lathe_window_charts_dispose   (LatheWindow     *self);
void        _lathe_window_charts_clear     (LatheWindow     *self);
/* A measured point got figures. */
void        _lathe_window_charts_point     (LatheWindow     *self,
                                            LatheMeasured   *m);
/* The current plan's figures. */
void        _lathe_window_charts_result    (LatheWindow     *self,
                                            LatheSessionResult *result);
/* Any result, the current plan's or not. */
void        _lathe_window_charts_any_result (LatheWindow    *self,
                                            LatheSessionResult *result);
/* size-accuracy.svg, weights.svg and layer-sizes.svg into `dir`. */
gboolean    _lathe_window_save_charts_svg  (LatheWindow     *self,
                                            GFile           *dir,
                                            GError         **error);

/* lathe-window-train.c */
void        _lathe_window_train_class_init (GtkWidgetClass  *widget_class);
void        _lathe_window_train_start      (LatheWindow     *self);
void        _lathe_window_train_dispose    (LatheWindow     *self);
void        _lathe_window_train_result     (LatheWindow     *self,
                                            LatheSessionResult *result);
/* The trained student on show, if it is the one of `plan`, else NULL
 * (borrowed): what the export dialog exports instead of the plan. */
LatheSessionResult *_lathe_window_get_trained_for (LatheWindow     *self,
                                                   const LathePlan *plan);

/* lathe-window-files.c */
void        _lathe_window_files_class_init (GtkWidgetClass  *widget_class);
void        _lathe_window_files_init       (LatheWindow     *self);
void        _lathe_window_note_recent      (LatheWindow     *self,
                                            GFile           *file);
/* Reads a pipeline file and opens its model with its data and plan. */
gboolean    _lathe_window_open_pipeline    (LatheWindow     *self,
                                            GFile           *file,
                                            GError         **error);
gboolean    _lathe_window_save_pipeline    (LatheWindow     *self,
                                            GFile           *file,
                                            GError         **error);


/* For tests: what the window holds and shows. */
LathePlaneChart    *_lathe_window_get_plane_chart        (LatheWindow *self);
LatheComparePane   *_lathe_window_get_compare_pane       (LatheWindow *self);
LatheTrainingChart *_lathe_window_get_training_chart     (LatheWindow *self);
/* The status line of the training card. */
const char         *_lathe_window_get_training_status    (LatheWindow *self);
void                _lathe_window_set_train_limit        (LatheWindow *self,
                                                          guint        n);
LatheHistogramChart *_lathe_window_get_histogram_chart   (LatheWindow *self);
LatheSizeChart     *_lathe_window_get_size_chart         (LatheWindow *self);
LatheHistory       *_lathe_window_get_history            (LatheWindow *self);
GPtrArray          *_lathe_window_get_measured           (LatheWindow *self);
LatheScoreboard    *_lathe_window_get_scoreboard         (LatheWindow *self);
LatheLayerTable    *_lathe_window_get_layer_table        (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_bits_adjustment     (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_sparsity_adjustment (LatheWindow *self);
GtkAdjustment      *_lathe_window_get_width_adjustment    (LatheWindow *self);
/* "empty", "loading" or "model" */
const char         *_lathe_window_get_page               (LatheWindow *self);
/* The error bar's text while it is shown, else NULL. */
const char         *_lathe_window_get_error              (LatheWindow *self);
LatheSessionResult *_lathe_window_get_baseline           (LatheWindow *self);
/* The latest figures shown for the current plan, or NULL. */
LatheSessionResult *_lathe_window_get_result             (LatheWindow *self);
/* The generation of the plan sent last (0: none yet). */
guint64             _lathe_window_get_generation         (LatheWindow *self);

G_END_DECLS
