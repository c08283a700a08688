/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "core/lathe-error.h"
#include "data/lathe-dataset.h"
#include "eval/lathe-evaluator.h"
#include "lathe-a11y.h"
#include "lathe-data-dialog-private.h"

#define BUILTIN_SPEC "fashion-mnist:test"

typedef enum {
  FILE_IMAGES,
  FILE_LABELS,
  N_FILES
} FileKind;

struct _LatheDataDialog {
  AdwWindow        parent_instance;

  GtkCheckButton  *builtin_check;
  GtkCheckButton  *files_check;
  AdwPreferencesGroup *files_group;
  AdwActionRow    *file_row[N_FILES];
  GtkButton       *choose_button[N_FILES];
  AdwEntryRow     *mean_row;
  AdwEntryRow     *std_row;
  AdwPreferencesGroup *norm_group;
  GtkLabel        *norm_error_label;
  GtkWidget       *error_bar;
  GtkLabel        *error_label;
  GtkSpinner      *spinner;

  LatheModel      *model;
  guint            n_channels;
  char            *path[N_FILES];
  GCancellable    *loading;
  GtkNativeDialog *chooser;
  FileKind         choosing;
};

G_DEFINE_FINAL_TYPE (LatheDataDialog, lathe_data_dialog, ADW_TYPE_WINDOW)

enum {
  SIGNAL_DATA_CHOSEN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---------------------------------------------------------------------- */
/* Normalisation                                                           */

/* "0.286" or "0.485, 0.456, 0.406" */
static char *
format_values (const float *v,
               guint        n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (buf, sizeof buf, "%.6g", v[i]);
      g_string_append_printf (s, "%s%s", i ? ", " : "", buf);
    }
  return g_string_free (s, FALSE);
}

/* Parses comma-separated numbers for the field `field` (its label as the
 * person reads it): one value, or one per input channel; std > 0. */
static GArray *
parse_values (LatheDataDialog  *self,
              const char       *field,
              const char       *text,
              gboolean          positive,
              GError          **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (float));
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  if (*stripped == '\0')
    {
      /* translators: %s is a field's name, "Mean" */
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC, _("%s: enter a number"), field);
      return NULL;
    }
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *s = g_strstrip (parts[i]);
      char *end = NULL;
      double v = g_ascii_strtod (s, &end);

      if (*s == '\0' || end == NULL || *end != '\0' || !isfinite (v))
        {
          /* translators: a field's name, then what was typed in it */
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       _("%s: “%s” is not a number (write numbers with a point, separated by commas)"),
                       field, s);
          return NULL;
        }
      if (positive && !(v > 0))
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       _("%s: %s is not above 0, so it cannot divide the pixels"), field, s);
          return NULL;
        }
      g_array_append_vals (values, &(float) { (float) v }, 1);
    }
  if (values->len != 1 && values->len != self->n_channels)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                   ngettext ("%s: %u values given; the model’s input has %u channel, so give 1",
                                "%s: %u values given; the model’s input has %u channels, so give 1 or %u",
                                self->n_channels),
                   field, values->len, self->n_channels, self->n_channels);
      return NULL;
    }
  return g_steal_pointer (&values);
}

static void
set_norm_error (LatheDataDialog *self,
                AdwEntryRow     *row,
                const char      *message)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->mean_row), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->std_row), "error");
  if (row != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (row), "error");
  gtk_label_set_label (self->norm_error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->norm_error_label), message != NULL);
}

/* Both fields, or FALSE with the first problem shown under them. */
static gboolean
read_normalization (LatheDataDialog  *self,
                    GArray          **mean,
                    GArray          **std)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) m = NULL, s = NULL;

  if (!(m = parse_values (self, _("Mean"), gtk_editable_get_text (GTK_EDITABLE (self->mean_row)), FALSE, &error)))
    {
      set_norm_error (self, self->mean_row, error->message);
      return FALSE;
    }
  if (!(s = parse_values (self, _("Standard deviation"), gtk_editable_get_text (GTK_EDITABLE (self->std_row)),
                          TRUE, &error)))
    {
      set_norm_error (self, self->std_row, error->message);
      return FALSE;
    }
  if (m->len != s->len)
    {
      g_autofree char *message =
        g_strdup_printf (_("Standard deviation: %u values given for %u means; give as many"), s->len, m->len);
      set_norm_error (self, self->std_row, message);
      return FALSE;
    }
  set_norm_error (self, NULL, NULL);
  *mean = g_steal_pointer (&m);
  *std = g_steal_pointer (&s);
  return TRUE;
}

static void
norm_changed_cb (LatheDataDialog *self)
{
  /* an error disappears as soon as the text is fixed */
  if (gtk_widget_get_visible (GTK_WIDGET (self->norm_error_label)))
    {
      g_autoptr(GArray) m = NULL, s = NULL;
      read_normalization (self, &m, &s);
    }
}

/* ---------------------------------------------------------------------- */
/* Files                                                                   */

static gboolean
is_npy (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  return g_str_has_suffix (lower, ".npy");
}

static void
update_file_row (LatheDataDialog *self,
                 FileKind         kind)
{
  AdwActionRow *row = self->file_row[kind];

  if (self->path[kind] != NULL)
    {
      g_autofree char *base = g_path_get_basename (self->path[kind]);
      g_autofree char *dir = g_path_get_dirname (self->path[kind]);
      /* translators: a file's name, then the folder it is in */
      g_autofree char *subtitle = g_strdup_printf (_("%s in %s"), base, dir);
      adw_action_row_set_subtitle (row, subtitle);
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), self->path[kind]);
    }
  else
    {
      adw_action_row_set_subtitle (row, _("None chosen"));
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), NULL);
    }
}

static void
update_sensitivity (LatheDataDialog *self)
{
  gboolean files = gtk_check_button_get_active (self->files_check);
  gboolean busy = self->loading != NULL;
  gboolean ready = !files || (self->path[FILE_IMAGES] != NULL && self->path[FILE_LABELS] != NULL);

  gtk_widget_set_sensitive (GTK_WIDGET (self->files_group), files && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "data.use", ready && !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "data.choose", files && !busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
}

static void
set_error (LatheDataDialog *self,
           const char      *message)
{
  gtk_label_set_label (self->error_label, message ? message : "");
  gtk_widget_set_visible (self->error_bar, message != NULL);
}

static void
set_path (LatheDataDialog *self,
          FileKind         kind,
          const char      *path)
{
  g_free (self->path[kind]);
  self->path[kind] = g_strdup (path);
  update_file_row (self, kind);
  set_error (self, NULL);
  update_sensitivity (self);
}

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     LatheDataDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        set_path (self, self->choosing, path);
    }
  g_clear_object (&self->chooser);
}

static void
add_filter (GtkFileChooser *chooser,
            const char     *name,
            const char * const *patterns)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  for (guint i = 0; patterns[i] != NULL; i++)
    gtk_file_filter_add_pattern (filter, patterns[i]);
  gtk_file_chooser_add_filter (chooser, filter);
}

static void
choose_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LatheDataDialog *self = LATHE_DATA_DIALOG (widget);
  static const char * const data_patterns[] = { "*.npy", "*-ubyte", "*-ubyte.gz", "*.idx*", "*.gz", NULL };
  static const char * const all_patterns[] = { "*", NULL };
  FileKind kind = g_str_equal (g_variant_get_string (parameter, NULL), "labels") ? FILE_LABELS : FILE_IMAGES;
  GtkFileChooserNative *chooser;

  if (self->chooser != NULL)
    return;
  chooser = gtk_file_chooser_native_new (kind == FILE_IMAGES ? _("Choose the Images") : _("Choose the Labels"),
                                         GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Choose"), _("_Cancel"));
  add_filter (GTK_FILE_CHOOSER (chooser), _("IDX and NumPy files"), data_patterns);
  add_filter (GTK_FILE_CHOOSER (chooser), _("All files"), all_patterns);
  /* the labels usually sit beside the images */
  if (self->path[FILE_IMAGES] != NULL || self->path[FILE_LABELS] != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self->path[FILE_IMAGES] ? self->path[FILE_IMAGES]
                                                                          : self->path[FILE_LABELS]);
      g_autoptr(GFile) folder = g_file_new_for_path (dir);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  self->choosing = kind;
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

char *
_lathe_data_dialog_build_spec (LatheDataDialog  *self,
                               GError          **error)
{
  gboolean npy;

  if (!gtk_check_button_get_active (self->files_check))
    return g_strdup (BUILTIN_SPEC);

  for (FileKind k = 0; k < N_FILES; k++)
    {
      if (self->path[k] == NULL)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       k == FILE_IMAGES ? _("Choose the images file") : _("Choose the labels file"));
          return NULL;
        }
      /* a data spec separates its two files with a comma */
      if (strchr (self->path[k], ',') != NULL)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       _("%s: a file name with a comma cannot be used; rename or move the file"),
                       self->path[k]);
          return NULL;
        }
    }
  npy = is_npy (self->path[FILE_IMAGES]);
  if (is_npy (self->path[FILE_LABELS]) != npy)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                   npy ? _("%s: the images are a NumPy file, so the labels must be one too (.npy)")
                       : _("%s: the images are an IDX file, so the labels must be one too, not .npy"),
                   self->path[FILE_LABELS]);
      return NULL;
    }
  return g_strdup_printf ("%s:%s,%s", npy ? "npy" : "idx", self->path[FILE_IMAGES], self->path[FILE_LABELS]);
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */

typedef struct {
  char       *spec;
  LatheModel *model;
  guint       n_norm;
  GArray     *mean, *std;
} Load;

static void
load_free (gpointer data)
{
  Load *load = data;

  g_free (load->spec);
  g_clear_object (&load->model);
  g_clear_pointer (&load->mean, g_array_unref);
  g_clear_pointer (&load->std, g_array_unref);
  g_free (load);
}

/* In a worker: the dataset, with labels, fitting the model's input. */
static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      data,
             GCancellable *cancellable)
{
  Load *load = data;
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  guint n_channels;

  if (!(dataset = lathe_dataset_new_from_spec (load->spec, cancellable, &error)))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!lathe_dataset_has_labels (dataset))
    {
      g_task_return_new_error (task, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
                               _("%s: no labels, and accuracy needs them"), lathe_dataset_get_spec (dataset));
      return;
    }
  if (!lathe_eval_check_data (lathe_model_get_graph (load->model), dataset, load->n_norm, &n_channels, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&dataset), g_object_unref);
}

static void
load_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LatheDataDialog *self = LATHE_DATA_DIALOG (source);
  Load *load = g_task_get_task_data (G_TASK (result));
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  dataset = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* closed meanwhile */
  g_clear_object (&self->loading);
  update_sensitivity (self);
  if (dataset == NULL)
    {
      set_error (self, error->message);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_DATA_CHOSEN], 0, dataset, load->mean, load->std);
  gtk_window_close (GTK_WINDOW (self));
}

static void
use_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  LatheDataDialog *self = LATHE_DATA_DIALOG (widget);
  g_autoptr(GArray) mean = NULL, std = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *spec = NULL;
  g_autoptr(GTask) task = NULL;
  Load *load;

  if (self->loading != NULL)
    return;
  set_error (self, NULL);
  if (!read_normalization (self, &mean, &std))
    return;
  if (!(spec = _lathe_data_dialog_build_spec (self, &error)))
    {
      set_error (self, error->message);
      return;
    }

  load = g_new0 (Load, 1);
  load->spec = g_steal_pointer (&spec);
  load->model = g_object_ref (self->model);
  load->n_norm = mean->len;
  load->mean = g_steal_pointer (&mean);
  load->std = g_steal_pointer (&std);
  self->loading = g_cancellable_new ();
  task = g_task_new (self, self->loading, load_done_cb, NULL);
  g_task_set_source_tag (task, use_action);
  g_task_set_task_data (task, load, load_free);
  g_task_run_in_thread (task, load_thread);
  update_sensitivity (self);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

/* ---------------------------------------------------------------------- */
/* The object                                                              */

static void
source_toggled_cb (LatheDataDialog *self)
{
  set_error (self, NULL);
  update_sensitivity (self);
}

static void
lathe_data_dialog_dispose (GObject *object)
{
  LatheDataDialog *self = LATHE_DATA_DIALOG (object);

  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  if (self->chooser != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (self->chooser);
      g_clear_object (&self->chooser);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_DATA_DIALOG);
  g_clear_object (&self->model);
  for (FileKind k = 0; k < N_FILES; k++)
    g_clear_pointer (&self->path[k], g_free);
  G_OBJECT_CLASS (lathe_data_dialog_parent_class)->dispose (object);
}

static void
lathe_data_dialog_class_init (LatheDataDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_data_dialog_dispose;

  signals[SIGNAL_DATA_CHOSEN] =
    g_signal_new ("data-chosen", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, LATHE_TYPE_DATASET, G_TYPE_ARRAY, G_TYPE_ARRAY);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-data-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, builtin_check);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, files_check);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, files_group);
  gtk_widget_class_bind_template_child_full (widget_class, "images_row", FALSE,
                                             G_STRUCT_OFFSET (LatheDataDialog, file_row[FILE_IMAGES]));
  gtk_widget_class_bind_template_child_full (widget_class, "labels_row", FALSE,
                                             G_STRUCT_OFFSET (LatheDataDialog, file_row[FILE_LABELS]));
  gtk_widget_class_bind_template_child_full (widget_class, "images_button", FALSE,
                                             G_STRUCT_OFFSET (LatheDataDialog, choose_button[FILE_IMAGES]));
  gtk_widget_class_bind_template_child_full (widget_class, "labels_button", FALSE,
                                             G_STRUCT_OFFSET (LatheDataDialog, choose_button[FILE_LABELS]));
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, mean_row);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, std_row);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, norm_group);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, norm_error_label);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, error_bar);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, LatheDataDialog, spinner);
  gtk_widget_class_bind_template_callback (widget_class, source_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, norm_changed_cb);

  gtk_widget_class_install_action (widget_class, "data.use", NULL, use_action);
  gtk_widget_class_install_action (widget_class, "data.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "data.choose", "s", choose_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "data.cancel", NULL);
}

static void
lathe_data_dialog_init (LatheDataDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* named once: not "_Use Use" in GTK 4.8 */
  lathe_a11y_name_button (self->choose_button[FILE_IMAGES], _("Choose the images file"));
  lathe_a11y_name_button (self->choose_button[FILE_LABELS], _("Choose the labels file"));
  lathe_a11y_name_buttons_by_label (GTK_WIDGET (self));
  self->n_channels = 1;
  for (FileKind k = 0; k < N_FILES; k++)
    update_file_row (self, k);
  update_sensitivity (self);
}

GtkWidget *
lathe_data_dialog_new (GtkWindow  *parent,
                       LatheModel *model)
{
  LatheDataDialog *self;
  LatheGraph *graph;
  g_autoptr(GArray) mean = NULL, std = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (LATHE_IS_MODEL (model), NULL);

  self = g_object_new (LATHE_TYPE_DATA_DIALOG, "transient-for", parent, "modal", TRUE, NULL);
  self->model = g_object_ref (model);
  graph = lathe_model_get_graph (model);
  /* as lathe_eval_check_data() counts them: NCHW models per channel */
  if (graph->inputs->len == 1)
    {
      LatheValue *input = lathe_graph_value (graph, g_array_index (graph->inputs, guint, 0));
      if (input->ndim >= 3 && input->dims[1] > 0)
        self->n_channels = (guint) input->dims[1];
    }

  if (lathe_model_get_normalization (model, &mean, &std, &error) && mean->len == std->len)
    lathe_data_dialog_set_normalization (self, (float *) mean->data, (float *) std->data, mean->len);
  else
    {
      float zero = 0.f, one = 1.f;
      lathe_data_dialog_set_normalization (self, &zero, &one, 1);
    }
  description = g_strdup_printf (ngettext ("For 8-bit images: (pixel / 255 − mean) / std. The model’s input has %u channel. "
                                   "Float data is used as it is.",
                                   "For 8-bit images: (pixel / 255 − mean) / std, one value for all %u channels or "
                                   "one per channel. Float data is used as it is.",
                                   self->n_channels),
                                 self->n_channels);
  adw_preferences_group_set_description (self->norm_group, description);
  return GTK_WIDGET (self);
}

void
lathe_data_dialog_set_spec (LatheDataDialog *self,
                            const char      *spec)
{
  g_return_if_fail (LATHE_IS_DATA_DIALOG (self));

  if (spec == NULL || g_str_equal (spec, "fashion-mnist") || g_str_equal (spec, "fashion-mnist:test"))
    gtk_check_button_set_active (self->builtin_check, TRUE);
  else if (g_str_has_prefix (spec, "idx:") || g_str_has_prefix (spec, "npy:"))
    {
      g_auto(GStrv) parts = g_strsplit (spec + 4, ",", 2);
      if (parts[0] != NULL && parts[1] != NULL)
        _lathe_data_dialog_set_files (self, parts[0], parts[1]);
    }
}

void
lathe_data_dialog_set_normalization (LatheDataDialog *self,
                                     const float     *mean,
                                     const float     *std,
                                     guint            n)
{
  g_autofree char *m = NULL, *s = NULL;

  g_return_if_fail (LATHE_IS_DATA_DIALOG (self));
  g_return_if_fail (n > 0 && mean != NULL && std != NULL);

  m = format_values (mean, n);
  s = format_values (std, n);
  gtk_editable_set_text (GTK_EDITABLE (self->mean_row), m);
  gtk_editable_set_text (GTK_EDITABLE (self->std_row), s);
  set_norm_error (self, NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* For tests                                                               */

void
_lathe_data_dialog_set_files (LatheDataDialog *self,
                              const char      *images,
                              const char      *labels)
{
  gtk_check_button_set_active (self->files_check, TRUE);
  set_path (self, FILE_IMAGES, images);
  set_path (self, FILE_LABELS, labels);
}

GtkEditable *
_lathe_data_dialog_get_mean_entry (LatheDataDialog *self)
{
  return GTK_EDITABLE (self->mean_row);
}

GtkEditable *
_lathe_data_dialog_get_std_entry (LatheDataDialog *self)
{
  return GTK_EDITABLE (self->std_row);
}

const char *
_lathe_data_dialog_get_norm_error (LatheDataDialog *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->norm_error_label))
         ? gtk_label_get_label (self->norm_error_label) : NULL;
}

const char *
_lathe_data_dialog_get_error (LatheDataDialog *self)
{
  return gtk_widget_get_visible (self->error_bar) ? gtk_label_get_label (self->error_label) : NULL;
}

gboolean
_lathe_data_dialog_get_busy (LatheDataDialog *self)
{
  return self->loading != NULL;
}
