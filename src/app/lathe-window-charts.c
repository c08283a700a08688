/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "compress/lathe-weight-summary.h"
#include "lathe-layer-item.h"
#include "lathe-window-private.h"

/* ---------------------------------------------------------------------- */
/* The size–accuracy plane                                                  */

void
_lathe_window_charts_point (LatheWindow   *self,
                            LatheMeasured *m)
{
  int index = (int) lathe_plane_chart_add_point (self->plane_chart, m->id, m->packed_bytes,
                                                 m->accuracy, m->lo, m->hi, m->full);

  if (m->generation == self->generation)
    lathe_plane_chart_set_current (self->plane_chart, index);
}

static void
point_activated_cb (LathePlaneChart *chart,
                    guint            index,
                    LatheWindow     *self)
{
  const LathePlanePoint *point = lathe_plane_chart_get_point (chart, index);

  if (point == NULL)
    return;
  for (guint i = 0; i < self->measured->len; i++)
    {
      LatheMeasured *m = g_ptr_array_index (self->measured, i);

      if (m->id == point->plan_id)
        {
          g_autoptr(LathePlan) plan = lathe_plan_copy (m->plan);
          _lathe_window_jump_to (self, plan);
          return;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* The selected layer's weights, summarised off the main thread             */

typedef struct {
  LatheModel         *model;
  GPtrArray          *layers;
  LathePlan          *plan;
  LatheSessionResult *result;   /* holds the applied model */
  char               *layer;
} SummaryJob;

static void
summary_job_free (gpointer data)
{
  SummaryJob *job = data;

  g_clear_object (&job->model);
  g_clear_pointer (&job->layers, g_ptr_array_unref);
  g_clear_pointer (&job->plan, lathe_plan_free);
  g_clear_pointer (&job->result, lathe_session_result_unref);
  g_free (job->layer);
  g_free (job);
}

static void
summary_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SummaryJob *job = task_data;
  GError *error = NULL;
  LatheWeightSummary *summary;

  summary = lathe_weight_summary_new (lathe_model_get_graph (job->model), job->layers, job->plan, NULL,
                                      job->result->applied, job->layer,
                                      LATHE_WEIGHT_SUMMARY_BINS_DEFAULT, -1, &error);
  if (summary == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, summary, (GDestroyNotify) lathe_weight_summary_free);
}

/* The task holds the window only weakly: closing the window does not wait
 * for a summary being computed. */
static void
summary_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr(LatheWindow) self = g_weak_ref_get (weak);
  g_autoptr(GError) error = NULL;
  LatheWeightSummary *summary = g_task_propagate_pointer (G_TASK (result), &error);

  g_weak_ref_clear (weak);
  g_free (weak);
  if (self == NULL || g_task_get_cancellable (G_TASK (result)) != self->summary_cancellable ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_pointer (&summary, lathe_weight_summary_free);
      return;
    }
  if (summary == NULL)
    {
      /* Say why in the chart's title rather than keep another plan's weights. */
      g_autofree char *title = g_strdup_printf (_("No weight histogram: %s"), error->message);
      lathe_histogram_chart_set_summary (self->histogram_chart, NULL);
      gtk_label_set_label (self->histogram_title, title);
      return;
    }
  lathe_histogram_chart_set_summary (self->histogram_chart, summary);
}

static void
update_histogram (LatheWindow *self)
{
  LatheLayerItem *item = lathe_layer_table_get_selected_item (self->layer_table);
  LatheMeasured *m;
  g_autoptr(GTask) task = NULL;
  g_autofree char *title = NULL;
  SummaryJob *job;
  GWeakRef *weak;

  if (self->summary_cancellable != NULL)
    g_cancellable_cancel (self->summary_cancellable);
  g_clear_object (&self->summary_cancellable);

  if (item == NULL || self->session == NULL || self->result == NULL || self->result->applied == NULL ||
      !(m = _lathe_window_find_measured (self, self->result->generation)))
    return;

  /* translators: the weight histogram's title; %s is a layer name */
  title = g_strdup_printf (_("Weights of %s"), lathe_layer_item_get_name (item));
  gtk_label_set_label (self->histogram_title, title);

  job = g_new0 (SummaryJob, 1);
  job->model = g_object_ref (lathe_session_get_model (self->session));
  job->layers = g_ptr_array_ref (lathe_session_get_layers (self->session));
  job->plan = lathe_plan_copy (m->plan);
  job->result = lathe_session_result_ref (self->result);
  job->layer = g_strdup (lathe_layer_item_get_name (item));

  self->summary_cancellable = g_cancellable_new ();
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  task = g_task_new (NULL, self->summary_cancellable, summary_done_cb, weak);
  g_task_set_source_tag (task, update_histogram);
  g_task_set_task_data (task, job, summary_job_free);
  g_task_run_in_thread (task, summary_thread);
}

static void
selected_layer_cb (LatheWindow *self)
{
  update_histogram (self);
}

/* ---------------------------------------------------------------------- */

void
_lathe_window_charts_result (LatheWindow        *self,
                             LatheSessionResult *result)
{
  LatheMeasured *m = _lathe_window_find_measured (self, result->generation);

  if (m != NULL)
    {
      lathe_plane_chart_set_current (self->plane_chart, lathe_plane_chart_find_plan (self->plane_chart, m->id));
      lathe_compare_pane_set_current (self->compare_pane, m->plan, result);
    }
  lathe_size_chart_set_applied (self->size_chart, result->applied);
  /* the subset's figure already has the applied weights; the full set's
   * has the same ones */
  if (result->stage == LATHE_STAGE_SUBSET || lathe_histogram_chart_get_summary (self->histogram_chart) == NULL)
    update_histogram (self);
}

/* The pinned plan's full-set figure may come after the pin. */
void
_lathe_window_charts_any_result (LatheWindow        *self,
                                 LatheSessionResult *result)
{
  LatheMeasured *m;

  if (self->pinned_generation == 0 || result->generation != self->pinned_generation ||
      !(m = _lathe_window_find_measured (self, result->generation)))
    return;
  lathe_compare_pane_set_pinned (self->compare_pane, m->plan, result);
}

static void
pin_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  LatheMeasured *m;

  if (self->result == NULL || !(m = _lathe_window_find_measured (self, self->result->generation)))
    return;
  /* The figures on show: a trained student's when it is one. */
  self->pinned_generation = self->shown_trained ? 0 : self->result->generation;
  lathe_compare_pane_set_pinned (self->compare_pane, m->plan,
                                 self->shown_trained ? self->shown_trained : self->result);
  gtk_widget_action_set_enabled (widget, "win.unpin", TRUE);
}

static void
unpin_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);

  self->pinned_generation = 0;
  lathe_compare_pane_set_pinned (self->compare_pane, NULL, NULL);
  gtk_widget_action_set_enabled (widget, "win.unpin", FALSE);
}

void
_lathe_window_charts_clear (LatheWindow *self)
{
  self->pinned_generation = 0;
  if (self->summary_cancellable != NULL)
    g_cancellable_cancel (self->summary_cancellable);
  g_clear_object (&self->summary_cancellable);
  if (self->plane_chart == NULL)
    return;
  lathe_plane_chart_clear (self->plane_chart);
  lathe_histogram_chart_set_summary (self->histogram_chart, NULL);
  lathe_size_chart_set_applied (self->size_chart, NULL);
}

/* ---------------------------------------------------------------------- */
/* Saving                                                                   */

static gboolean
save_chart (LatheWindow       *self,
            const char        *which,
            GFile             *file,
            LatheChartFormat   format,
            GError           **error)
{
  if (g_str_equal (which, "plane"))
    return lathe_plane_chart_save (self->plane_chart, file, format, error);
  if (g_str_equal (which, "histogram"))
    return lathe_histogram_chart_save (self->histogram_chart, file, format, error);
  return lathe_size_chart_save (self->size_chart, file, format, error);
}

gboolean
_lathe_window_save_charts_svg (LatheWindow  *self,
                               GFile        *dir,
                               GError      **error)
{
  static const struct { const char *which, *name; } charts[] = {
    { "plane", "size-accuracy.svg" },
    { "histogram", "weights.svg" },
    { "sizes", "layer-sizes.svg" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (charts); i++)
    {
      g_autoptr(GFile) file = g_file_get_child (dir, charts[i].name);
      if (!save_chart (self, charts[i].which, file, LATHE_CHART_FORMAT_SVG, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  LatheWindow *self;
  char        *which;
} SaveRequest;

static void
save_response_cb (GtkNativeDialog *chooser,
                  int              response,
                  SaveRequest     *request)
{
  LatheWindow *self = request->self;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *basename = file ? g_file_get_basename (file) : NULL;
      g_autoptr(GError) error = NULL;
      LatheChartFormat format = basename && g_str_has_suffix (basename, ".svg")
                                ? LATHE_CHART_FORMAT_SVG : LATHE_CHART_FORMAT_PNG;

      if (file != NULL && !save_chart (self, request->which, file, format, &error))
        _lathe_window_show_error (self, _("Could not save the chart"), error->message);
      else if (file != NULL)
        {
          g_autofree char *name = g_filename_display_name (basename);
          /* translators: %s is a file name */
          g_autofree char *text = g_strdup_printf (_("Saved %s"), name);
          _lathe_window_toast (self, text);
        }
    }
  g_object_unref (chooser);
  g_object_unref (request->self);
  g_free (request->which);
  g_free (request);
}

/* "plane.png", "histogram.svg", …: a save dialog for that chart. */
static void
save_chart_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  const char *target = g_variant_get_string (parameter, NULL);
  const char *dot = strrchr (target, '.');
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;
  SaveRequest *request;
  const char *stem;

  if (dot == NULL)
    return;
  request = g_new0 (SaveRequest, 1);
  request->self = g_object_ref (self);
  request->which = g_strndup (target, dot - target);
  stem = g_str_equal (request->which, "plane") ? "size-accuracy"
       : g_str_equal (request->which, "histogram") ? "weights" : "layer-sizes";
  name = g_strconcat (stem, dot, NULL);

  if (g_str_equal (dot, ".svg"))
    {
      gtk_file_filter_set_name (filter, _("SVG Images"));
      gtk_file_filter_add_mime_type (filter, "image/svg+xml");
      gtk_file_filter_add_pattern (filter, "*.svg");
    }
  else
    {
      gtk_file_filter_set_name (filter, _("PNG Images"));
      gtk_file_filter_add_mime_type (filter, "image/png");
      gtk_file_filter_add_pattern (filter, "*.png");
    }
  chooser = gtk_file_chooser_native_new (_("Save Chart"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", G_CALLBACK (save_response_cb), request);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
_lathe_window_charts_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.save-chart", "s", save_chart_action);
  gtk_widget_class_install_action (widget_class, "win.pin", NULL, pin_action);
  gtk_widget_class_install_action (widget_class, "win.unpin", NULL, unpin_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, GDK_CONTROL_MASK, "win.pin", NULL);
}

void
_lathe_window_charts_init (LatheWindow *self)
{
  g_signal_connect_object (self->plane_chart, "point-activated", G_CALLBACK (point_activated_cb), self, 0);
  g_signal_connect_object (self->layer_table, "notify::selected-item", G_CALLBACK (selected_layer_cb),
                           self, G_CONNECT_SWAPPED);
}

void
_lathe_window_charts_dispose (LatheWindow *self)
{
  if (self->summary_cancellable != NULL)
    g_cancellable_cancel (self->summary_cancellable);
  g_clear_object (&self->summary_cancellable);
}
