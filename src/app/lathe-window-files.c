/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "onnx/lathe-model.h"
#include "pipeline/lathe-pipeline.h"
#include "lathe-data-dialog.h"
#include "lathe-export-dialog.h"
#include "lathe-window-private.h"

/* How many recent models the empty state offers. */
#define MAX_RECENT 5

#define RECENT_APP "Lathe"

/* ---------------------------------------------------------------------- */
/* Pipeline files                                                           */

static char *
display_name (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  return g_filename_display_name (basename ? basename : "?");
}

gboolean
_lathe_window_open_pipeline (LatheWindow  *self,
                             GFile        *file,
                             GError      **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *model_path = NULL;
  g_autoptr(LathePipeline) pipeline = NULL;
  g_autoptr(GFile) model = NULL;
  g_autofree char *name = NULL;

  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("Only local files can be opened"));
      return FALSE;
    }
  if (!(pipeline = lathe_pipeline_load (path, error)))
    return FALSE;
  model_path = lathe_pipeline_resolve_path (pipeline, path, pipeline->model_path);
  if (!g_file_test (model_path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *name = display_name (file);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   /* translators: the first %s is a pipeline file, the second a model file */
                   _("%s: its model %s does not exist ($.model.path)"), name, model_path);
      return FALSE;
    }
  model = g_file_new_for_path (model_path);
  name = display_name (file);
  _lathe_window_open_full (self, model, pipeline->data_spec,
                           pipeline->data_spec && pipeline->mean->len > 0 ? pipeline->mean : NULL,
                           pipeline->data_spec && pipeline->std->len > 0 ? pipeline->std : NULL,
                           pipeline->plan, name);
  return TRUE;
}

static GArray *
copy_floats (GArray *a)
{
  GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (float), a ? a->len : 0);

  if (a != NULL)
    g_array_append_vals (copy, a->data, a->len);
  return copy;
}

gboolean
_lathe_window_save_pipeline (LatheWindow  *self,
                             GFile        *file,
                             GError      **error)
{
  g_autoptr(LathePipeline) pipeline = lathe_pipeline_new ();
  g_autoptr(GFile) dir = g_file_get_parent (file);
  g_autofree char *path = g_file_get_path (file);
  LatheModel *model;

  if (self->session == NULL || path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("There is no model to save a pipeline for"));
      return FALSE;
    }
  model = lathe_session_get_model (self->session);

  /* Relative to the pipeline file when the model sits below its folder, so
   * the two can move together. */
  pipeline->model_path = dir ? g_file_get_relative_path (dir, self->file) : NULL;
  if (pipeline->model_path == NULL)
    pipeline->model_path = g_file_get_path (self->file);
  pipeline->model_sha256 = g_strdup (lathe_model_get_sha256 (model));
  pipeline->data_spec = g_strdup (self->data_spec);
  g_clear_pointer (&pipeline->mean, g_array_unref);
  g_clear_pointer (&pipeline->std, g_array_unref);
  pipeline->mean = copy_floats (self->mean);
  pipeline->std = copy_floats (self->std);
  pipeline->data_sha256 = g_strdup (lathe_dataset_get_sha256 (lathe_session_get_dataset (self->session)));
  lathe_plan_free (pipeline->plan);
  pipeline->plan = _lathe_window_build_plan (self);
  pipeline->seed = pipeline->plan->seed;
  return lathe_pipeline_save (pipeline, path, error);
}

static void
open_pipeline_response_cb (GtkNativeDialog *chooser,
                           int              response,
                           LatheWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autoptr(GError) error = NULL;

      if (file != NULL && !_lathe_window_open_pipeline (self, file, &error))
        {
          g_autofree char *name = display_name (file);
          g_autofree char *title = g_strdup_printf (_("Could not open “%s”"), name);
          _lathe_window_show_error (self, title, error->message);
        }
    }
  g_object_unref (chooser);
}

static void
add_json_filters (GtkFileChooser *chooser)
{
  g_autoptr(GtkFileFilter) json = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

  gtk_file_filter_set_name (json, _("Pipeline Files"));
  gtk_file_filter_add_pattern (json, "*.json");
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (chooser, json);
  gtk_file_chooser_add_filter (chooser, all);
  gtk_file_chooser_set_filter (chooser, json);
}

static void
open_pipeline_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Open Pipeline"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  add_json_filters (GTK_FILE_CHOOSER (chooser));
  g_signal_connect_object (chooser, "response", G_CALLBACK (open_pipeline_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
save_pipeline_response_cb (GtkNativeDialog *chooser,
                           int              response,
                           LatheWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autoptr(GError) error = NULL;

      if (file == NULL)
        ;
      else if (!_lathe_window_save_pipeline (self, file, &error))
        _lathe_window_show_error (self, _("Could not save the pipeline"), error->message);
      else
        {
          g_autofree char *name = display_name (file);
          /* translators: %s is a file name */
          g_autofree char *text = g_strdup_printf (_("Saved %s"), name);
          _lathe_window_toast (self, text);
        }
    }
  g_object_unref (chooser);
}

static void
save_pipeline_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *basename = NULL;
  g_autofree char *name = NULL;
  char *dot;

  if (self->file == NULL)
    return;
  basename = g_file_get_basename (self->file);
  if ((dot = strrchr (basename, '.')))
    *dot = '\0';
  name = g_strconcat (basename, ".pipeline.json", NULL);

  chooser = gtk_file_chooser_native_new (_("Save Pipeline"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  add_json_filters (GTK_FILE_CHOOSER (chooser));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect_object (chooser, "response", G_CALLBACK (save_pipeline_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---------------------------------------------------------------------- */
/* Drag and drop                                                            */

static gboolean
is_pipeline (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  return basename != NULL && g_str_has_suffix (basename, ".json");
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         LatheWindow   *self)
{
  GSList *files;
  GFile *file;
  g_autoptr(GError) error = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  file = files->data;
  if (!is_pipeline (file))
    {
      lathe_window_open (self, file);
      return TRUE;
    }
  if (!_lathe_window_open_pipeline (self, file, &error))
    {
      g_autofree char *name = display_name (file);
      g_autofree char *title = g_strdup_printf (_("Could not open “%s”"), name);
      _lathe_window_show_error (self, title, error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Recent files                                                             */

void
_lathe_window_note_recent (LatheWindow *self,
                           GFile       *file)
{
  g_autofree char *uri = g_file_get_uri (file);
  GtkRecentData data = {
    .display_name = NULL,
    .description = NULL,
    .mime_type = (char *) "application/octet-stream",
    .app_name = (char *) RECENT_APP,
    .app_exec = (char *) "lathe %u",
    .groups = NULL,
    .is_private = FALSE,
  };

  gtk_recent_manager_add_full (gtk_recent_manager_get_default (), uri, &data);
}

static int
newest_first (gconstpointer a,
              gconstpointer b)
{
  GtkRecentInfo *ia = *(GtkRecentInfo **) a;
  GtkRecentInfo *ib = *(GtkRecentInfo **) b;
  g_autoptr(GDateTime) ta = g_date_time_ref (gtk_recent_info_get_modified (ia));
  g_autoptr(GDateTime) tb = g_date_time_ref (gtk_recent_info_get_modified (ib));

  return g_date_time_compare (tb, ta);
}

static void
recent_row_activated_cb (GtkListBox    *box,
                         GtkListBoxRow *row,
                         LatheWindow   *self)
{
  const char *uri = g_object_get_data (G_OBJECT (row), "uri");
  g_autoptr(GFile) file = g_file_new_for_uri (uri);

  lathe_window_open (self, file);
}

static void
fill_recent (LatheWindow *self)
{
  GtkRecentManager *manager = gtk_recent_manager_get_default ();
  GList *items = gtk_recent_manager_get_items (manager);
  g_autoptr(GPtrArray) ours = g_ptr_array_new_with_free_func ((GDestroyNotify) gtk_recent_info_unref);
  GtkWidget *child;

  for (GList *l = items; l != NULL; l = l->next)
    {
      GtkRecentInfo *info = l->data;

      if (gtk_recent_info_has_application (info, RECENT_APP) &&
          gtk_recent_info_is_local (info) && gtk_recent_info_exists (info))
        g_ptr_array_add (ours, gtk_recent_info_ref (info));
    }
  g_list_free_full (items, (GDestroyNotify) gtk_recent_info_unref);
  g_ptr_array_sort (ours, newest_first);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))))
    gtk_list_box_remove (self->recent_list, child);

  for (guint i = 0; i < ours->len && i < MAX_RECENT; i++)
    {
      GtkRecentInfo *info = g_ptr_array_index (ours, i);
      g_autoptr(GFile) file = g_file_new_for_uri (gtk_recent_info_get_uri (info));
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autofree char *folder = parent ? g_file_get_parse_name (parent) : g_strdup ("");
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *arrow = gtk_image_new_from_icon_name ("go-next-symbolic");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), gtk_recent_info_get_display_name (info));
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), folder);
      gtk_accessible_update_property (GTK_ACCESSIBLE (arrow), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), arrow);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "uri", g_strdup (gtk_recent_info_get_uri (info)), g_free);
      gtk_list_box_append (self->recent_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->recent_box), ours->len > 0);
}

/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* Export                                                                   */

static void
export_add_files_cb (LatheExportDialog *dialog,
                     GFile             *dir,
                     LatheWindow       *self)
{
  g_autoptr(GError) error = NULL;

  /* The charts as they stand, beside the artifact's report; the artifact
   * itself is complete either way. */
  if (!_lathe_window_save_charts_svg (self, dir, &error))
    _lathe_window_show_error (self, _("The charts were not added to the export"), error->message);
}

static void
export_done_cb (LatheExportDialog *dialog,
                GFile             *dir,
                LatheWindow       *self)
{
  g_autofree char *name = display_name (dir);
  g_autofree char *uri = g_file_get_uri (dir);
  /* translators: %s is a folder name */
  g_autofree char *text = g_strdup_printf (_("Exported to %s"), name);
  AdwToast *toast = adw_toast_new (text);

  adw_toast_set_button_label (toast, _("Open Folder"));
  adw_toast_set_action_name (toast, "win.open-folder");
  adw_toast_set_action_target_value (toast, g_variant_new_string (uri));
  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  g_autoptr(LathePlan) plan = NULL;
  LatheExportDialog *dialog;

  if (self->session == NULL)
    return;
  plan = _lathe_window_build_plan (self);
  dialog = lathe_export_dialog_new (GTK_WINDOW (self), self->session, plan, self->file, self->data_spec);
  /* A trained student on show is what the person exports. */
  lathe_export_dialog_set_trained (dialog, _lathe_window_get_trained_for (self, plan));
  g_signal_connect_object (dialog, "add-files", G_CALLBACK (export_add_files_cb), self, 0);
  g_signal_connect_object (dialog, "exported", G_CALLBACK (export_done_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  /* GtkFileLauncher is GTK 4.10; gtk_show_uri is what 4.8 has. */
  gtk_show_uri (GTK_WINDOW (widget), g_variant_get_string (parameter, NULL), GDK_CURRENT_TIME);
}

/* ---------------------------------------------------------------------- */
/* Evaluation data                                                          */

static void
data_chosen_cb (GtkWidget    *dialog,
                LatheDataset *data,
                GArray       *mean,
                GArray       *std,
                LatheWindow  *self)
{
  g_autoptr(LathePlan) plan = NULL;
  g_autoptr(GFile) file = NULL;

  if (self->file == NULL)
    return;
  /* The same model and plan, measured on the chosen data from scratch. */
  plan = _lathe_window_build_plan (self);
  file = g_object_ref (self->file);
  _lathe_window_open_full (self, file, lathe_dataset_get_spec (data), mean, std, plan, NULL);
}

static void
choose_data_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  GtkWidget *dialog;

  if (self->session == NULL)
    return;
  dialog = lathe_data_dialog_new (GTK_WINDOW (self), lathe_session_get_model (self->session));
  if (self->data_spec != NULL)
    lathe_data_dialog_set_spec (LATHE_DATA_DIALOG (dialog), self->data_spec);
  if (self->mean != NULL && self->std != NULL && self->mean->len == self->std->len && self->mean->len > 0)
    lathe_data_dialog_set_normalization (LATHE_DATA_DIALOG (dialog), (const float *) (gpointer) self->mean->data,
                                         (const float *) (gpointer) self->std->data, self->mean->len);
  g_signal_connect_object (dialog, "data-chosen", G_CALLBACK (data_chosen_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---------------------------------------------------------------------- */

void
_lathe_window_files_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open-pipeline", NULL, open_pipeline_action);
  gtk_widget_class_install_action (widget_class, "win.save-pipeline", NULL, save_pipeline_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.open-pipeline", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_O, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.open-pipeline", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save-pipeline", NULL);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.choose-data", NULL, choose_data_action);
  gtk_widget_class_install_action (widget_class, "win.open-folder", "s", open_folder_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export", NULL);
}

void
_lathe_window_files_init (LatheWindow *self)
{
  GtkDropTarget *target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);

  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  g_signal_connect_object (self->recent_list, "row-activated", G_CALLBACK (recent_row_activated_cb), self, 0);
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed", G_CALLBACK (fill_recent), self, G_CONNECT_SWAPPED);
  fill_recent (self);
}
