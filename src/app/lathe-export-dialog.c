/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "eval/lathe-metrics.h"
#include "export/lathe-artifact-build.h"
#include "export/lathe-export.h"
#include "onnx/lathe-onnx-writer.h"
#include "pipeline/lathe-pipeline.h"
#include "pipeline/lathe-plan-argv.h"
#include "plugin/lathe-plugin-registry.h"
#include "lathe-a11y.h"
#include "lathe-export-dialog-private.h"

#define PIPELINE_FILE "pipeline.json"
#define REPORT_FILE   "report.md"

struct _LatheExportDialog {
  AdwWindow          parent_instance;

  /* template */
  GtkButton         *cancel_button;
  GtkButton         *export_button;
  GtkSpinner        *spinner;
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  GtkStack          *stack;
  AdwActionRow      *folder_row;
  GtkButton         *choose_button;
  AdwComboRow       *exporter_row;
  AdwPreferencesGroup *params_group;
  AdwActionRow      *model_row;
  AdwActionRow      *data_row;
  AdwPreferencesGroup *student_group;
  AdwActionRow      *student_row;
  AdwStatusPage     *done_status;
  AdwPreferencesGroup *command_group;
  GtkButton         *copy_button;
  GtkLabel          *command_label;

  LatheSession      *session;
  LathePlan         *plan;
  GFile             *model;
  char              *data_spec;
  GFile             *folder;
  LatheSessionResult *trained;         /* the trained student to export, or NULL: the plan */

  GtkStringList     *exporter_names;
  GObject           *exporter;         /* the chosen exporter, its properties set by the form */
  GPtrArray         *param_rows;       /* rows of the form, removed on a change of exporter */

  GtkNativeDialog   *chooser;
  AdwMessageDialog  *confirm;
  GCancellable      *cancellable;
  gboolean           busy;
  char              *command;
};

G_DEFINE_FINAL_TYPE (LatheExportDialog, lathe_export_dialog, ADW_TYPE_WINDOW)

enum {
  SIGNAL_ADD_FILES,
  SIGNAL_EXPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---------------------------------------------------------------------- */
/* State                                                                    */

static char *
display_path (GFile *file)
{
  g_autofree char *path = g_file_get_path (file);

  return path ? g_filename_display_name (path) : g_file_get_uri (file);
}

static void
update_actions (LatheExportDialog *self)
{
  gboolean form = g_str_equal (gtk_stack_get_visible_child_name (self->stack), "form");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.export",
                                 form && !self->busy && self->folder != NULL && self->exporter != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.choose-folder", form && !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "export.copy-command", self->command != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->exporter_row), !self->busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->params_group), !self->busy);
}

static void
set_busy (LatheExportDialog *self,
          gboolean           busy)
{
  self->busy = busy;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_button_set_label (self->export_button, busy ? _("Exporting…") : _("_Export"));
  update_actions (self);
}

static void
show_error (LatheExportDialog *self,
            const char        *message)
{
  gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

static void
hide_error (LatheExportDialog *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  gtk_label_set_text (self->error_label, "");
}

void
lathe_export_dialog_set_folder (LatheExportDialog *self,
                                GFile             *dir)
{
  g_return_if_fail (LATHE_IS_EXPORT_DIALOG (self));
  g_return_if_fail (dir == NULL || G_IS_FILE (dir));

  g_set_object (&self->folder, dir);
  if (dir != NULL)
    {
      g_autofree char *text = display_path (dir);
      adw_action_row_set_subtitle (self->folder_row, text);
    }
  else
    adw_action_row_set_subtitle (self->folder_row, _("None chosen"));
  update_actions (self);
}

GFile *
lathe_export_dialog_get_folder (LatheExportDialog *self)
{
  g_return_val_if_fail (LATHE_IS_EXPORT_DIALOG (self), NULL);
  return self->folder;
}

/* ---------------------------------------------------------------------- */
/* The exporter and its settings                                            */

static gboolean
enum_to_index (GBinding     *binding,
               const GValue *from,
               GValue       *to,
               gpointer      user_data)
{
  GEnumClass *klass = user_data;
  int value = g_value_get_enum (from);

  for (guint i = 0; i < klass->n_values; i++)
    if (klass->values[i].value == value)
      {
        g_value_set_uint (to, i);
        return TRUE;
      }
  return FALSE;
}

static gboolean
index_to_enum (GBinding     *binding,
               const GValue *from,
               GValue       *to,
               gpointer      user_data)
{
  GEnumClass *klass = user_data;
  guint i = g_value_get_uint (from);

  if (i >= klass->n_values)
    return FALSE;
  g_value_set_enum (to, klass->values[i].value);
  return TRUE;
}

/* A NULL string property shows as an empty entry (GtkEntry refuses NULL). */
static gboolean
string_to_text (GBinding     *binding,
                const GValue *from,
                GValue       *to,
                gpointer      user_data)
{
  const char *s = g_value_get_string (from);

  g_value_set_string (to, s ? s : "");
  return TRUE;
}

/* One row per GObject property of the exporter, bound to it. */
GtkWidget *
_lathe_export_dialog_param_row_new (GObject    *method,
                                    GParamSpec *pspec)
{
  /* Plugins mark their nicks and blurbs N_() in the "lathe" domain. */
  const char *nick = g_param_spec_get_nick (pspec);
  const char *blurb = g_param_spec_get_blurb (pspec);
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
  GtkWidget *widget = NULL;
  const char *property = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 nick && *nick ? g_dgettext (GETTEXT_PACKAGE, nick) : g_param_spec_get_name (pspec));
  if (blurb != NULL && *blurb != '\0')
    adw_action_row_set_subtitle (row, g_dgettext (GETTEXT_PACKAGE, blurb));

  if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    {
      widget = gtk_switch_new ();
      property = "active";
    }
  else if (G_IS_PARAM_SPEC_ENUM (pspec))
    {
      GEnumClass *klass = g_type_class_ref (type);
      g_autoptr(GtkStringList) nicks = gtk_string_list_new (NULL);

      for (guint i = 0; i < klass->n_values; i++)
        gtk_string_list_append (nicks, klass->values[i].value_nick);
      widget = gtk_drop_down_new (G_LIST_MODEL (g_steal_pointer (&nicks)), NULL);
      g_object_bind_property_full (method, g_param_spec_get_name (pspec), widget, "selected",
                                   G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                   enum_to_index, index_to_enum, klass, g_type_class_unref);
    }
  else if (G_IS_PARAM_SPEC_STRING (pspec))
    {
      widget = gtk_entry_new ();
      g_object_bind_property_full (method, g_param_spec_get_name (pspec), widget, "text",
                                   G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                   string_to_text, NULL, NULL, NULL);
    }
  else
    {
      double lo = 0, hi = 0;
      guint digits = 0;

      if (G_IS_PARAM_SPEC_INT (pspec))
        lo = G_PARAM_SPEC_INT (pspec)->minimum, hi = G_PARAM_SPEC_INT (pspec)->maximum;
      else if (G_IS_PARAM_SPEC_UINT (pspec))
        lo = G_PARAM_SPEC_UINT (pspec)->minimum, hi = G_PARAM_SPEC_UINT (pspec)->maximum;
      else if (G_IS_PARAM_SPEC_INT64 (pspec))
        lo = (double) G_PARAM_SPEC_INT64 (pspec)->minimum, hi = (double) G_PARAM_SPEC_INT64 (pspec)->maximum;
      else if (G_IS_PARAM_SPEC_DOUBLE (pspec))
        lo = G_PARAM_SPEC_DOUBLE (pspec)->minimum, hi = G_PARAM_SPEC_DOUBLE (pspec)->maximum, digits = 3;
      else if (G_IS_PARAM_SPEC_FLOAT (pspec))
        lo = G_PARAM_SPEC_FLOAT (pspec)->minimum, hi = G_PARAM_SPEC_FLOAT (pspec)->maximum, digits = 3;
      else
        {
          /* A type no widget edits: shown, at its value, not editable. */
          g_auto(GValue) value = G_VALUE_INIT;
          g_auto(GValue) text = G_VALUE_INIT;

          g_value_init (&value, type);
          g_object_get_property (method, g_param_spec_get_name (pspec), &value);
          g_value_init (&text, G_TYPE_STRING);
          widget = gtk_label_new (g_value_transform (&value, &text) ? g_value_get_string (&text) : "");
        }
      if (widget == NULL)
        {
          widget = gtk_spin_button_new_with_range (lo, hi, digits ? pow (10, -(double) digits) : 1);
          gtk_spin_button_set_digits (GTK_SPIN_BUTTON (widget), digits);
          property = "value";
        }
    }

  if (property != NULL)
    g_object_bind_property (method, g_param_spec_get_name (pspec), widget, property,
                            G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_widget_set_valign (widget, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), -1);
  adw_action_row_add_suffix (row, widget);
  if (!GTK_IS_LABEL (widget))
    adw_action_row_set_activatable_widget (row, widget);
  return GTK_WIDGET (row);
}

static void
exporter_selected_cb (LatheExportDialog *self)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  guint selected = adw_combo_row_get_selected (self->exporter_row);
  const char *name;
  const LathePluginInfo *info;
  g_autofree GParamSpec **params = NULL;
  guint n_params = 0;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; self->param_rows && i < self->param_rows->len; i++)
    adw_preferences_group_remove (self->params_group, g_ptr_array_index (self->param_rows, i));
  g_ptr_array_set_size (self->param_rows, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->params_group), FALSE);
  g_clear_object (&self->exporter);

  if (selected == GTK_INVALID_LIST_POSITION)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->exporter_row), _("No exporter plugin is installed"));
      update_actions (self);
      return;
    }
  name = gtk_string_list_get_string (self->exporter_names, selected);
  info = lathe_plugin_registry_lookup (registry, name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->exporter_row),
                               info && info->description && *info->description ? info->description : "");
  if (!(self->exporter = lathe_plugin_registry_create (registry, LATHE_PLUGIN_KIND_EXPORTER, name, &error)))
    {
      show_error (self, error->message);
      update_actions (self);
      return;
    }

  params = lathe_plugin_info_list_params (info, &n_params);
  for (guint i = 0; i < n_params; i++)
    {
      GtkWidget *row = _lathe_export_dialog_param_row_new (self->exporter, params[i]);
      adw_preferences_group_add (self->params_group, row);
      g_ptr_array_add (self->param_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->params_group), n_params > 0);
  update_actions (self);
}

/* ---------------------------------------------------------------------- */
/* The export, off the main thread                                           */

typedef struct {
  LatheSession  *session;
  LathePlan     *plan;
  LatheExporter *exporter;
  char          *exporter_name;
  char          *data_spec;    /* for the lathe-cli command */
  char          *model_path;
  char          *outdir;
  gboolean       force;
  char          *model_file;   /* "model.onnx" */
  LatheSessionResult *trained; /* the student to export, or NULL: the plan */
  GBytes        *report;       /* out: for the "Added files" section */
  GArray        *mean, *std;   /* out: float, the session's normalisation when not the model's */
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->session);
  g_clear_pointer (&job->plan, lathe_plan_free);
  g_clear_object (&job->exporter);
  g_free (job->exporter_name);
  g_free (job->data_spec);
  g_free (job->model_path);
  g_free (job->outdir);
  g_free (job->model_file);
  g_clear_pointer (&job->trained, lathe_session_result_unref);
  g_clear_pointer (&job->report, g_bytes_unref);
  g_clear_pointer (&job->mean, g_array_unref);
  g_clear_pointer (&job->std, g_array_unref);
  g_free (job);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Job *job = task_data;
  LatheModel *model = lathe_session_get_model (job->session);
  LatheDataset *data = lathe_session_get_dataset (job->session);
  GPtrArray *layers = lathe_session_get_layers (job->session);
  LatheSessionResult *t = job->trained;
  g_autoptr(JsonNode) training = NULL;
  g_autoptr(LatheSessionResult) baseline = NULL;
  g_autoptr(LatheSessionResult) r = NULL;
  g_autoptr(GHashTable) weights = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GBytes) model_bytes = NULL;
  g_autoptr(LathePipeline) p = NULL;
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  g_autofree char *pipeline_text = NULL;
  g_autofree char *report = NULL;
  g_autoptr(GError) error = NULL;
  int opset = 0;

  /* The whole evaluation set, as lathe-cli apply measures it; a trained
   * student was measured on it when its training ended, as lathe-cli
   * distill measures it. */
  if (!(baseline = lathe_session_get_baseline (job->session, cancellable, &error)))
    goto fail;
  if (t != NULL)
    {
      r = lathe_session_result_ref (t);
      /* the student's own layers: width changed their shapes */
      layers = t->layers;
      /* as lathe-cli distill records it */
      training = lathe_artifact_training_section (job->outdir, &t->train_options, t->train_spec, t->train_sha256);
    }
  else if (!(r = lathe_session_evaluate (job->session, job->plan, LATHE_STAGE_FULL, cancellable, &error)))
    goto fail;

  /* How each compressed weight is stored, as lathe-cli apply decides it. */
  weights = lathe_export_weights_new (r->applied, layers);
  if (!(model_bytes = lathe_exporter_export (job->exporter, r->applied->graph, weights, notes, &opset, &error)))
    goto fail;

  /* The normalisation the model declares, else none — what lathe-cli
   * reads from the same model. */
  if (!lathe_model_get_normalization (model, &mean, &std, &error))
    {
      if (error != NULL)
        goto fail;
      float zero = 0.f, one = 1.f;
      mean = g_array_new (FALSE, FALSE, sizeof (float));
      std = g_array_new (FALSE, FALSE, sizeof (float));
      g_array_append_val (mean, zero);
      g_array_append_val (std, one);
    }
  /* The session measures (and trains) with its own, which the evaluation
   * data dialog may have set: when it differs, the artifact records it
   * and the command passes it (--mean, --std). */
  {
    const float *sm, *ss;
    guint n = lathe_session_get_normalization (job->session, &sm, &ss);
    gboolean same = mean->len == 1 || mean->len == n;

    for (guint c = 0; same && c < n; c++)
      {
        guint k = mean->len > 1 ? c : 0;
        same = g_array_index (mean, float, k) == sm[c] && g_array_index (std, float, k) == ss[c];
      }
    if (!same)
      {
        g_array_set_size (mean, 0);
        g_array_set_size (std, 0);
        g_array_append_vals (mean, sm, n);
        g_array_append_vals (std, ss, n);
        job->mean = g_array_ref (mean);
        job->std = g_array_ref (std);
      }
  }

  {
    /* built as lathe-cli apply builds it, so `lathe-cli check` accepts it */
    LatheArtifactSource as = {
      job->outdir, job->model_path, lathe_model_get_sha256 (model), data,
      mean, std, job->plan, training,
    };
    LatheArtifactMeasure am = {
      r->applied, layers, model_bytes, job->model_file, opset, notes,
      r->accuracy, baseline->accuracy, r->fidelity, baseline->baseline_bytes, r->n_samples,
    };
    const char *protected_paths[] = { job->model_path, NULL };

    p = lathe_artifact_pipeline_new (&as, &am);
    pipeline_text = lathe_pipeline_to_json (p);
    if (t != NULL)
      {
        /* what the session kept of training, as lathe_distill() gave it */
        LatheTrainResult tr = {
          .applied = t->applied, .layers = t->layers,
          .epochs = t->epoch_loss ? t->epoch_loss->len : 0, .steps = t->train_steps,
          .seconds = t->train_seconds, .samples_per_second = t->train_samples_per_second,
          .epoch_loss = t->epoch_loss, .epoch_accuracy = t->epoch_accuracy,
          .untrained_accuracy = t->untrained_accuracy,
        };
        report = lathe_artifact_training_report (&as, &am, t->train_spec, &t->train_options, &tr, job->exporter_name);
      }
    else
      report = lathe_artifact_report (&as, &am, job->exporter_name);

    if (g_cancellable_set_error_if_cancelled (cancellable, &error) ||
        !lathe_artifact_build_write (job->outdir, job->force, protected_paths, pipeline_text, &am, report, &error))
      goto fail;
    job->report = g_bytes_new (report, strlen (report));
  }
  g_task_return_boolean (task, TRUE);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
}

/* Lists in report.md the files the "add-files" handlers wrote. */
static gboolean
list_added_files (LatheExportDialog *self,
                  Job               *job,
                  GError           **error)
{
  g_autoptr(GFile) dir = g_file_new_for_path (job->outdir);
  g_autoptr(GFile) report_file = g_file_get_child (dir, REPORT_FILE);
  g_autoptr(GFileEnumerator) e = NULL;
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) report = NULL;
  GFileInfo *info;

  if (!(e = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NONE, NULL, error)))
    return FALSE;
  while ((info = g_file_enumerator_next_file (e, NULL, error)) != NULL)
    {
      const char *name = g_file_info_get_name (info);
      if (!g_str_equal (name, PIPELINE_FILE) && !g_str_equal (name, REPORT_FILE) &&
          !g_str_equal (name, job->model_file))
        g_ptr_array_add (added, g_strdup (name));
      g_object_unref (info);
    }
  if (error != NULL && *error != NULL)
    return FALSE;
  if (added->len == 0)
    return TRUE;

  g_ptr_array_sort (added, (GCompareFunc) g_strcmp0);
  report = g_string_new_len (g_bytes_get_data (job->report, NULL), g_bytes_get_size (job->report));
  g_string_append (report, "\n## Added files\n\n");
  for (guint i = 0; i < added->len; i++)
    g_string_append_printf (report, "- `%s`\n", (char *) g_ptr_array_index (added, i));
  return g_file_replace_contents (report_file, report->str, report->len, NULL, FALSE,
                                  G_FILE_CREATE_NONE, NULL, NULL, error);
}

/* Shortest text that reads back to the same float, as lathe-cli parses it. */
static char *
format_float (float v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (int precision = 1; precision < 9; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, v);
      if ((float) g_ascii_strtod (buf, NULL) == v)
        return g_strdup (buf);
    }
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.9g", v));
}

static char *
format_floats (GArray *values)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < values->len; i++)
    {
      g_autofree char *v = format_float (g_array_index (values, float, i));
      g_string_append_printf (s, "%s%s", i ? "," : "", v);
    }
  return g_string_free (s, FALSE);
}

/* argv with --mean and --std after the model: the session's normalisation
 * is not the model's, which lathe-cli would read otherwise. */
static char **
with_normalization (char   **argv,
                    GArray  *mean,
                    GArray  *std)
{
  GPtrArray *words = g_ptr_array_new ();

  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_ptr_array_add (words, argv[i]);
      if (i == 2)
        {
          g_ptr_array_add (words, g_strdup ("--mean"));
          g_ptr_array_add (words, format_floats (mean));
          g_ptr_array_add (words, g_strdup ("--std"));
          g_ptr_array_add (words, format_floats (std));
        }
    }
  g_ptr_array_add (words, NULL);
  g_free (argv);      /* the words moved */
  return (char **) g_ptr_array_free (words, FALSE);
}

static void
show_command (LatheExportDialog *self,
              Job               *job)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->command, g_free);
  if (!g_str_equal (job->exporter_name, "onnx"))
    {
      gtk_label_set_text (self->command_label,
                          _("lathe-cli writes ONNX only; it has no flag for this exporter."));
    }
  else if (job->trained != NULL &&
           !(argv = lathe_train_to_cli_args (job->plan, &job->trained->train_options, job->trained->train_spec,
                                             "lathe-cli", job->model_path, job->data_spec, job->outdir, &error)))
    {
      g_autofree char *text = g_strdup_printf (_("This training has no lathe-cli form: %s"), error->message);
      gtk_label_set_text (self->command_label, text);
    }
  else if (job->trained == NULL &&
           !(argv = lathe_plan_to_cli_args (job->plan, "lathe-cli", job->model_path, job->data_spec,
                                            job->outdir, &error)))
    {
      g_autofree char *text = g_strdup_printf (_("This plan has no lathe-cli form: %s"), error->message);
      gtk_label_set_text (self->command_label, text);
    }
  else
    {
      if (job->mean != NULL)
        argv = with_normalization (argv, job->mean, job->std);
      self->command = lathe_cli_args_to_shell ((const char * const *) argv);
      gtk_label_set_text (self->command_label, self->command);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->copy_button), self->command != NULL);
  if (job->trained != NULL)
    adw_preferences_group_set_description (self->command_group,
      _("Trains the same student from the same model and data and writes the same model file. Training is "
        "repeatable bit for bit on the same computer with the same number of BLAS threads; on another "
        "computer the weights, and so the figures, may differ slightly. The timings in report.md always differ."));
}

static void
export_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (object);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GFile) dir = g_file_new_for_path (job->outdir);
  g_autofree char *where = display_path (dir);
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->cancellable);
  self->busy = FALSE;
  /* Closed while exporting: the export was cancelled, nothing to show. */
  if (self->stack == NULL)
    return;
  set_busy (self, FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          /* The writer's messages name the path; the others get it here. */
          g_autofree char *text = strstr (error->message, job->outdir) != NULL
                                  ? g_strdup_printf (_("Could not export: %s"), error->message)
                                  : g_strdup_printf (_("Could not export to “%s”: %s"), where, error->message);
          show_error (self, text);
        }
      return;
    }

  /* The artifact is complete: the app may add its charts. */
  g_signal_emit (self, signals[SIGNAL_ADD_FILES], 0, dir);
  if (!list_added_files (self, job, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Exported to “%s”, but could not list the added files in %s: %s"),
                                               where, REPORT_FILE, error->message);
      show_error (self, text);
    }

  show_command (self, job);
  {
    g_autofree char *description = job->trained != NULL
                                   ? g_strdup_printf (_("The trained student’s artifact is in %s"), where)
                                   : g_strdup_printf (_("The artifact is in %s"), where);
    adw_status_page_set_description (self->done_status, description);
  }
  gtk_stack_set_visible_child_name (self->stack, "done");
  /* named "Close" by its label (lathe_a11y_name_buttons_by_label) */
  gtk_button_set_label (self->cancel_button, _("_Close"));
  gtk_widget_set_visible (GTK_WIDGET (self->export_button), FALSE);
  update_actions (self);
  g_signal_emit (self, signals[SIGNAL_EXPORTED], 0, dir);
}

static void
start_export (LatheExportDialog *self,
              gboolean           force)
{
  g_autoptr(GTask) task = NULL;
  Job *job;
  const char *ext;

  g_return_if_fail (self->exporter != NULL && self->folder != NULL);

  hide_error (self);
  job = g_new0 (Job, 1);
  job->session = g_object_ref (self->session);
  job->plan = lathe_plan_copy (self->plan);
  job->exporter = LATHE_EXPORTER (g_object_ref (self->exporter));
  job->exporter_name = g_strdup (gtk_string_list_get_string (self->exporter_names,
                                                             adw_combo_row_get_selected (self->exporter_row)));
  job->data_spec = g_strdup (self->data_spec);
  job->model_path = g_file_get_path (self->model);
  job->outdir = g_file_get_path (self->folder);
  job->force = force;
  ext = lathe_exporter_get_extension (job->exporter);
  job->model_file = g_strdup_printf ("model.%s", ext && *ext ? ext : "bin");
  if (self->trained != NULL)
    job->trained = lathe_session_result_ref (self->trained);

  self->cancellable = g_cancellable_new ();
  set_busy (self, TRUE);
  task = g_task_new (self, self->cancellable, export_done_cb, NULL);
  g_task_set_source_tag (task, start_export);
  g_task_set_task_data (task, job, job_free);
  g_task_run_in_thread (task, export_thread);
}

static void
confirm_response_cb (AdwMessageDialog  *dialog,
                     const char        *response,
                     LatheExportDialog *self)
{
  self->confirm = NULL;
  if (g_str_equal (response, "replace"))
    start_export (self, TRUE);
}

void
lathe_export_dialog_export_to (LatheExportDialog *self,
                               GFile             *dir)
{
  g_autofree char *where = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  GFileType type;

  g_return_if_fail (LATHE_IS_EXPORT_DIALOG (self));
  g_return_if_fail (G_IS_FILE (dir));

  if (self->busy || self->confirm != NULL)
    return;
  lathe_export_dialog_set_folder (self, dir);
  hide_error (self);
  where = display_path (dir);
  if (self->exporter == NULL)
    {
      show_error (self, _("No exporter plugin is available"));
      return;
    }
  if ((path = g_file_get_path (dir)) == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("“%s” is not a local folder; Lathe exports to local folders only"), where);
      show_error (self, text);
      return;
    }

  type = g_file_query_file_type (dir, G_FILE_QUERY_INFO_NONE, NULL);
  if (type == G_FILE_TYPE_UNKNOWN)
    {
      /* A new folder: the writer creates it, or says why it cannot. */
      start_export (self, FALSE);
      return;
    }
  if (type != G_FILE_TYPE_DIRECTORY)
    {
      g_autofree char *text = g_strdup_printf (_("“%s” is a file, not a folder; choose a name for a new folder"), where);
      show_error (self, text);
      return;
    }

  /* An existing folder: empty ones are used, others only when the person
   * says so, and even then the writer replaces only a previous export. */
  {
    g_autoptr(GFileEnumerator) e = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                              G_FILE_QUERY_INFO_NONE, NULL, &error);
    g_autoptr(GFileInfo) first = NULL;
    g_autofree char *basename = NULL;
    g_autofree char *heading = NULL;

    if (e == NULL || (!(first = g_file_enumerator_next_file (e, NULL, &error)) && error != NULL))
      {
        g_autofree char *text = g_strdup_printf (_("Could not read the folder “%s”: %s"), where, error->message);
        show_error (self, text);
        return;
      }
    if (first == NULL)
      {
        start_export (self, TRUE);
        return;
      }

    basename = g_file_get_basename (dir);
    heading = g_strdup_printf (_("Replace “%s”?"), basename);
    self->confirm = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading,
      _("The folder is not empty. Lathe replaces it only when it holds nothing but the files of an "
        "earlier export (pipeline.json, the model file and report.md); otherwise the export is refused "
        "and the folder stays as it is.")));
    adw_message_dialog_add_responses (self->confirm,
                                      "cancel", _("_Cancel"),
                                      "replace", _("_Replace"),
                                      NULL);
    adw_message_dialog_set_response_appearance (self->confirm, "replace", ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_default_response (self->confirm, "cancel");
    adw_message_dialog_set_close_response (self->confirm, "cancel");
    gtk_window_set_destroy_with_parent (GTK_WINDOW (self->confirm), TRUE);
    g_signal_connect_object (self->confirm, "response", G_CALLBACK (confirm_response_cb), self, 0);
    gtk_window_present (GTK_WINDOW (self->confirm));
  }
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                  */

static void
chooser_response_cb (GtkNativeDialog   *chooser,
                     int                response,
                     LatheExportDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      if (file != NULL)
        lathe_export_dialog_set_folder (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
choose_folder_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (widget);
  g_autoptr(GFile) parent = NULL;
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;

  if (self->chooser != NULL)
    return;
  /* Save-style: the person names the new folder, as in any save dialog. */
  chooser = gtk_file_chooser_native_new (_("Choose a Name for the Artifact Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (self->folder != NULL)
    {
      parent = g_file_get_parent (self->folder);
      name = g_file_get_basename (self->folder);
    }
  else
    {
      g_autofree char *model_name = g_file_get_basename (self->model);
      char *dot = strrchr (model_name, '.');
      if (dot != NULL)
        *dot = '\0';
      parent = g_file_new_for_path (g_get_home_dir ());
      /* translators: the suggested artifact folder name; %s is the model's name */
      name = g_strdup_printf (_("%s-compressed"), model_name);
    }
  if (parent != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), parent, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  g_signal_connect_object (chooser, "response", G_CALLBACK (chooser_response_cb), self, 0);
  gtk_native_dialog_show (self->chooser);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (widget);

  if (self->folder != NULL)
    lathe_export_dialog_export_to (self, self->folder);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (widget);

  /* While exporting, Cancel stops the export; otherwise it closes. */
  if (self->busy && self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  else
    gtk_window_close (GTK_WINDOW (self));
}

static void
copy_command_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (widget);

  if (self->command != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->command);
}

/* ---------------------------------------------------------------------- */
/* The object                                                               */

static gboolean
lathe_export_dialog_close_request (GtkWindow *window)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (window);

  /* The worker finishes on its own (the task keeps the dialog alive);
   * it stops between batches. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  return GTK_WINDOW_CLASS (lathe_export_dialog_parent_class)->close_request (window);
}

static void
lathe_export_dialog_dispose (GObject *object)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_EXPORT_DIALOG);
  G_OBJECT_CLASS (lathe_export_dialog_parent_class)->dispose (object);
}

static void
lathe_export_dialog_finalize (GObject *object)
{
  LatheExportDialog *self = LATHE_EXPORT_DIALOG (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->plan, lathe_plan_free);
  g_clear_object (&self->model);
  g_free (self->data_spec);
  g_clear_object (&self->folder);
  g_clear_pointer (&self->trained, lathe_session_result_unref);
  g_clear_object (&self->exporter_names);
  g_clear_object (&self->exporter);
  g_clear_pointer (&self->param_rows, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_free (self->command);
  G_OBJECT_CLASS (lathe_export_dialog_parent_class)->finalize (object);
}

static void
lathe_export_dialog_class_init (LatheExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = lathe_export_dialog_dispose;
  object_class->finalize = lathe_export_dialog_finalize;
  window_class->close_request = lathe_export_dialog_close_request;

  /* The artifact folder is written and complete; handlers may add files
   * to it (synchronously). Emitted before "exported". */
  signals[SIGNAL_ADD_FILES] =
    g_signal_new ("add-files", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_FILE);
  /* The export succeeded. */
  signals[SIGNAL_EXPORTED] =
    g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_FILE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, export_button);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, folder_row);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, choose_button);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, exporter_row);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, params_group);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, model_row);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, data_row);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, student_group);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, student_row);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, done_status);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, command_group);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, copy_button);
  gtk_widget_class_bind_template_child (widget_class, LatheExportDialog, command_label);

  gtk_widget_class_install_action (widget_class, "export.choose-folder", NULL, choose_folder_action);
  gtk_widget_class_install_action (widget_class, "export.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "export.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "export.copy-command", NULL, copy_command_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "export.cancel", NULL);
}

static void
lathe_export_dialog_init (LatheExportDialog *self)
{
  LathePluginRegistry *registry = lathe_plugin_registry_get_default ();
  g_auto(GStrv) names = lathe_plugin_registry_list_names (registry, LATHE_PLUGIN_KIND_EXPORTER);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->param_rows = g_ptr_array_new ();

  /* Named once (GTK 4.8 would read "_Export Export"): Cancel and Export
   * by their labels, the others as their labels do not say it all. */
  lathe_a11y_name_button (self->choose_button, _("Choose the artifact folder"));
  lathe_a11y_name_buttons_by_label (GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->copy_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Copy the lathe-cli command"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->spinner), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Exporting"), -1);
  /* the combo row is labelled by its title already: no label of its own */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->command_label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("lathe-cli command"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->error_label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Export error"), -1);

  self->exporter_names = gtk_string_list_new ((const char * const *) names);
  adw_combo_row_set_model (self->exporter_row, G_LIST_MODEL (self->exporter_names));
  g_signal_connect_object (self->exporter_row, "notify::selected", G_CALLBACK (exporter_selected_cb),
                           self, G_CONNECT_SWAPPED);
  /* "onnx" first when there is one: lathe-cli reproduces it. */
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], "onnx"))
      adw_combo_row_set_selected (self->exporter_row, i);
  exporter_selected_cb (self);
  update_actions (self);
}

LatheExportDialog *
lathe_export_dialog_new (GtkWindow       *parent,
                         LatheSession    *session,
                         const LathePlan *plan,
                         GFile           *model,
                         const char      *data_spec)
{
  LatheExportDialog *self;
  g_autofree char *model_text = NULL;
  g_autofree char *data_text = NULL;
  LatheDataset *data;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (LATHE_IS_SESSION (session), NULL);
  g_return_val_if_fail (plan != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (model), NULL);

  self = g_object_new (LATHE_TYPE_EXPORT_DIALOG,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
  if (parent != NULL && GTK_IS_APPLICATION_WINDOW (parent))
    gtk_window_set_application (GTK_WINDOW (self), gtk_window_get_application (parent));
  self->session = g_object_ref (session);
  self->plan = lathe_plan_copy (plan);
  self->model = g_object_ref (model);
  data = lathe_session_get_dataset (session);
  self->data_spec = g_strdup (data_spec ? data_spec : lathe_dataset_get_spec (data));

  model_text = display_path (model);
  adw_action_row_set_subtitle (self->model_row, model_text);
  data_text = g_strdup_printf (ngettext ("%s, all %u sample", "%s, all %u samples",
                                         lathe_dataset_get_n_samples (data)),
                               self->data_spec, lathe_dataset_get_n_samples (data));
  adw_action_row_set_subtitle (self->data_row, data_text);
  return self;
}

/* What the student row says: how it was trained, and that the untrained
 * plan is not what is exported. */
static char *
describe_trained (LatheSessionResult *t)
{
  guint epochs = t->epoch_loss ? t->epoch_loss->len : t->train_options.epochs;

  switch (t->train_options.mode)
    {
    case LATHE_TRAIN_FINETUNE:
      /* translators: %u is a number of epochs, %s the training data, for example fashion-mnist:train */
      return g_strdup_printf (ngettext ("Fine-tuned for %u epoch on %s, with the pruned weights held at zero; "
                                        "not the untrained plan",
                                        "Fine-tuned for %u epochs on %s, with the pruned weights held at zero; "
                                        "not the untrained plan", epochs), epochs, t->train_spec);
    case LATHE_TRAIN_QAT:
      /* translators: %u is a number of epochs, %s the training data, for example fashion-mnist:train */
      return g_strdup_printf (ngettext ("Fine-tuned through the quantized weights for %u epoch on %s; "
                                        "not the untrained plan",
                                        "Fine-tuned through the quantized weights for %u epochs on %s; "
                                        "not the untrained plan", epochs), epochs, t->train_spec);
    case LATHE_TRAIN_DISTILL:
    default:
      /* translators: %u is a number of epochs, %s the training data, for example fashion-mnist:train */
      return g_strdup_printf (ngettext ("Distilled from the original for %u epoch on %s; not the untrained plan",
                                        "Distilled from the original for %u epochs on %s; not the untrained plan",
                                        epochs), epochs, t->train_spec);
    }
}

void
lathe_export_dialog_set_trained (LatheExportDialog  *self,
                                 LatheSessionResult *trained)
{
  g_return_if_fail (LATHE_IS_EXPORT_DIALOG (self));
  g_return_if_fail (trained == NULL || (trained->trained && trained->layers != NULL && trained->train_spec != NULL));
  g_return_if_fail (!self->busy);

  g_clear_pointer (&self->trained, lathe_session_result_unref);
  if (trained != NULL)
    {
      g_autofree char *text = describe_trained (trained);

      self->trained = lathe_session_result_ref (trained);
      adw_action_row_set_subtitle (self->student_row, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->student_group), trained != NULL);
}

/* ---------------------------------------------------------------------- */
/* For tests                                                                */

const char *
_lathe_export_dialog_get_error (LatheExportDialog *self)
{
  const char *text = gtk_label_get_text (self->error_label);

  return gtk_revealer_get_reveal_child (self->error_revealer) && *text ? text : NULL;
}

const char *
_lathe_export_dialog_get_command (LatheExportDialog *self)
{
  return self->command;
}

gboolean
_lathe_export_dialog_get_busy (LatheExportDialog *self)
{
  return self->busy;
}

GtkFileChooser *
_lathe_export_dialog_get_chooser (LatheExportDialog *self)
{
  return self->chooser ? GTK_FILE_CHOOSER (self->chooser) : NULL;
}

AdwMessageDialog *
_lathe_export_dialog_get_confirm_dialog (LatheExportDialog *self)
{
  return self->confirm;
}

const char *
_lathe_export_dialog_get_student_text (LatheExportDialog *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->student_group))
         ? adw_action_row_get_subtitle (self->student_row) : NULL;
}

const char *
_lathe_export_dialog_get_page (LatheExportDialog *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}
