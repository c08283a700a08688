/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <glib/gi18n.h>

#include "compress/lathe-plan.h"
#include "lathe-app-format.h"
#include "lathe-settings.h"
#include "lathe-layer-item.h"
#include "lathe-window-private.h"
#include "lathe-wheel-guard.h"
#include "lathe-a11y.h"

/* The bundled sample and the data every model is measured on for now. */
#define SAMPLE_MODEL "fashion-cnn.onnx"
#define EVAL_DATA    "fashion-mnist"

/* The shortest time between two plans sent to the session. */
#define PLAN_INTERVAL_MS 80

G_DEFINE_FINAL_TYPE (LatheWindow, lathe_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_FILE,
  PROP_EVALUATING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---------------------------------------------------------------------- */
/* Messages                                                                 */

void
_lathe_window_show_error (LatheWindow *self,
                          const char  *title,
                          const char  *detail)
{
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>\n%s", title, detail);

  gtk_label_set_markup (self->error_label, markup);
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

void
_lathe_window_toast (LatheWindow *self,
                     const char  *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

static void
hide_error (LatheWindow *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
}

static char *
file_display_name (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  return g_filename_display_name (basename ? basename : "?");
}

/* ---------------------------------------------------------------------- */
/* Plans                                                                    */

static void
set_evaluating (LatheWindow *self,
                gboolean     evaluating)
{
  if (self->evaluating == evaluating)
    return;
  self->evaluating = evaluating;
  lathe_scoreboard_set_evaluating (self->scoreboard, evaluating);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVALUATING]);
}

static int
global_bits (LatheWindow *self)
{
  return lathe_bits_for_position (gtk_adjustment_get_value (self->global_bits_adjustment));
}

static double
global_sparsity (LatheWindow *self)
{
  return round (gtk_adjustment_get_value (self->global_sparsity_adjustment)) / 100.0;
}

static double
global_width (LatheWindow *self)
{
  return round (gtk_adjustment_get_value (self->global_width_adjustment)) / 100.0;
}

/* The global sliders are the plan's defaults; a layer whose slider differs
 * carries an override for that field only. Everything the sliders do not
 * show (granularity, methods, a pipeline file's parameters) comes from the
 * base plan. */
LathePlan *
_lathe_window_build_plan (LatheWindow *self)
{
  LathePlan *plan = self->base_plan ? lathe_plan_copy (self->base_plan) : lathe_plan_new ();
  guint n = self->layers ? g_list_model_get_n_items (G_LIST_MODEL (self->layers)) : 0;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LatheLayerSettings *o = value;
      o->set &= ~(LATHE_FIELD_BITS | LATHE_FIELD_SPARSITY | LATHE_FIELD_WIDTH);
    }

  plan->defaults.bits = global_bits (self);
  plan->defaults.sparsity = global_sparsity (self);
  plan->defaults.width = global_width (self);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      const char *name = lathe_layer_item_get_name (item);
      int bits = lathe_layer_item_get_bits (item);
      double sparsity = lathe_layer_item_get_sparsity (item);
      double width = lathe_layer_item_get_width (item);
      LatheLayerSettings *s;

      if (bits != plan->defaults.bits)
        {
          s = lathe_plan_layer (plan, name);
          s->bits = bits;
          s->set |= LATHE_FIELD_BITS;
        }
      if (fabs (sparsity - plan->defaults.sparsity) > 1e-9)
        {
          s = lathe_plan_layer (plan, name);
          s->sparsity = sparsity;
          s->set |= LATHE_FIELD_SPARSITY;
        }
      /* A fixed-width layer ignores the default width; an override would
       * be an error. */
      if (lathe_layer_item_get_width_reason (item) == NULL &&
          fabs (width - plan->defaults.width) > 1e-9)
        {
          s = lathe_plan_layer (plan, name);
          s->width = width;
          s->set |= LATHE_FIELD_WIDTH;
        }
    }

  /* Entries left with nothing to say would only clutter a pipeline file. */
  g_hash_table_iter_init (&iter, plan->layers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((LatheLayerSettings *) value)->set == 0)
      g_hash_table_iter_remove (&iter);
  return plan;
}

static gboolean
send_plan_cb (gpointer user_data)
{
  LatheWindow *self = user_data;
  g_autoptr(LathePlan) plan = NULL;

  self->plan_source = 0;
  if (self->session == NULL)
    {
      set_evaluating (self, FALSE);
      return G_SOURCE_REMOVE;
    }
  plan = _lathe_window_build_plan (self);
  self->last_sent_us = g_get_monotonic_time ();
  self->generation = lathe_session_set_plan (self->session, plan);
  _lathe_window_plan_sent (self, plan, self->generation);
  return G_SOURCE_REMOVE;
}

/* Many slider changes in one main-loop turn (a global slider sets every
 * layer) become one plan. */
void
_lathe_window_queue_plan (LatheWindow *self)
{
  gint64 wait_us;

  if (self->session == NULL)
    return;
  set_evaluating (self, TRUE);
  if (self->plan_source != 0)
    return;
  /* While a slider is dragged, a plan per frame would cancel every
   * evaluation before it has a figure: send one at most every
   * PLAN_INTERVAL_MS, so the subset's figure keeps up with the drag. */
  wait_us = self->last_sent_us + PLAN_INTERVAL_MS * 1000 - g_get_monotonic_time ();
  if (wait_us > 0)
    self->plan_source = g_timeout_add (wait_us / 1000 + 1, send_plan_cb, self);
  else
    self->plan_source = g_idle_add (send_plan_cb, self);
}

static void
item_notify_cb (LatheWindow *self,
                GParamSpec  *pspec)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "bits") || g_str_equal (name, "sparsity") || g_str_equal (name, "width"))
    {
      _lathe_window_queue_plan (self);
      _lathe_window_plan_changed (self);
    }
}

/* The global sliders' values, beside their titles and for screen readers. */
static void
show_global_values (LatheWindow *self)
{
  int bits = global_bits (self);
  /* translators: a bits slider's value */
  g_autofree char *b = g_strdup_printf (ngettext ("%d bit", "%d bits", bits), bits);
  /* translators: a slider's value in percent */
  g_autofree char *s = g_strdup_printf (_("%.0f %%"), 100.0 * global_sparsity (self));
  g_autofree char *w = g_strdup_printf (_("%.0f %%"), 100.0 * global_width (self));

  gtk_label_set_label (self->global_bits_value, b);
  gtk_label_set_label (self->global_sparsity_value, s);
  gtk_label_set_label (self->global_width_value, w);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_bits_scale),
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, b, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_sparsity_scale),
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, s, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_width_scale),
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, w, -1);
  /* GTK 4.8's AT-SPI bridge does not export the value text (see the layer table) */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_bits_scale),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, b, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_sparsity_scale),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, s, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->global_width_scale),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, w, -1);
}

static void
global_bits_changed_cb (LatheWindow *self)
{
  int bits = global_bits (self);
  guint n = self->layers ? g_list_model_get_n_items (G_LIST_MODEL (self->layers)) : 0;

  show_global_values (self);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      lathe_layer_item_set_bits (item, bits);
    }
  _lathe_window_queue_plan (self);
  _lathe_window_plan_changed (self);
}

static void
global_sparsity_changed_cb (LatheWindow *self)
{
  double sparsity = global_sparsity (self);
  guint n = self->layers ? g_list_model_get_n_items (G_LIST_MODEL (self->layers)) : 0;

  show_global_values (self);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      lathe_layer_item_set_sparsity (item, sparsity);
    }
  _lathe_window_queue_plan (self);
  _lathe_window_plan_changed (self);
}

static void
global_width_changed_cb (LatheWindow *self)
{
  double width = global_width (self);
  guint n = self->layers ? g_list_model_get_n_items (G_LIST_MODEL (self->layers)) : 0;

  show_global_values (self);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      lathe_layer_item_set_width (item, width);
    }
  _lathe_window_queue_plan (self);
  _lathe_window_plan_changed (self);
}

/* ---------------------------------------------------------------------- */
/* Results                                                                  */

static void
session_result_cb (LatheSession       *session,
                   LatheSessionResult *result,
                   LatheWindow        *self)
{
  guint n;

  g_debug ("plan %" G_GUINT64_FORMAT " %s: accuracy %.4f, %" G_GUINT64_FORMAT " bytes, %.3f s%s%s",
           result->generation, result->stage == LATHE_STAGE_FULL ? "full set" : "subset",
           result->accuracy, result->packed_bytes, result->seconds,
           result->from_cache ? " (from the activation cache)" : "",
           result->generation != self->generation ? "; superseded" : "");

  /* A superseded plan's figures are still a measurement worth a point. */
  _lathe_window_record_result (self, result);

  /* Figures for a plan the user has already changed would only flicker. */
  if (result->generation != self->generation)
    return;

  g_clear_pointer (&self->result, lathe_session_result_unref);
  self->result = lathe_session_result_ref (result);
  lathe_scoreboard_set_result (self->scoreboard, result);
  _lathe_window_charts_result (self, result);
  _lathe_window_train_result (self, result);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
  if (result->applied != NULL)
    for (guint i = 0; i < result->applied->results->len && i < n; i++)
      {
        LatheLayerResult *r = g_ptr_array_index (result->applied->results, i);
        g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);

        if (g_strcmp0 (r->name, lathe_layer_item_get_name (item)) == 0)
          lathe_layer_item_set_result (item, r);
      }

  if (result->stage == LATHE_STAGE_FULL && self->plan_source == 0)
    set_evaluating (self, FALSE);
}

static void
session_failed_cb (LatheSession *session,
                   guint64       generation,
                   const char   *message,
                   LatheWindow  *self)
{
  if (generation != self->generation)
    return;
  if (self->plan_source == 0)
    set_evaluating (self, FALSE);
  _lathe_window_show_error (self, _("Could not measure these settings"), message);
}

/* ---------------------------------------------------------------------- */
/* Loading                                                                  */

typedef struct {
  GFile              *file;
  LatheSession       *session;
  LatheSessionResult *baseline;
  LatheSessionResult *subset_baseline;
  gboolean            default_norm;
  char               *data_spec;
  GArray             *mean, *std;     /* given, or the model's; NULL: none */
  LathePlan          *plan;           /* to show once loaded, or NULL */
  char               *plan_origin;    /* where it came from, for errors */
  guint               subset_size;    /* 0: the session's default */
  gsize               cache_bytes;    /* 0: the session's default */
} Load;

static void
load_free (gpointer data)
{
  Load *load = data;

  g_clear_object (&load->file);
  g_clear_object (&load->session);
  g_clear_pointer (&load->baseline, lathe_session_result_unref);
  g_clear_pointer (&load->subset_baseline, lathe_session_result_unref);
  g_free (load->data_spec);
  g_clear_pointer (&load->mean, g_array_unref);
  g_clear_pointer (&load->std, g_array_unref);
  g_clear_pointer (&load->plan, lathe_plan_free);
  g_free (load->plan_origin);
  g_free (load);
}

/* Model, data, session and the source model's accuracy: all the slow part,
 * in a worker thread. The session is made here with no thread-default main
 * context, so its results arrive on the global default one: the GUI's. */
static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Load *load = task_data;
  g_autofree char *path = g_file_get_path (load->file);
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) data = NULL;
  g_autoptr(LathePlan) identity = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Only local files can be opened"));
      return;
    }
  if (!(model = lathe_model_new_from_file (path, cancellable, &error)))
    goto fail;
  if (load->mean != NULL)
    ;  /* the user's, checked when entered */
  else if (!lathe_model_get_normalization (model, &load->mean, &load->std, &error))
    {
      if (error != NULL)
        goto fail;
      load->default_norm = TRUE;
    }
  else if (load->mean->len != load->std->len)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The model’s lathe.mean has %u values but lathe.std has %u"),
                   load->mean->len, load->std->len);
      goto fail;
    }
  if (!(data = lathe_dataset_new_from_spec (load->data_spec, cancellable, &error)) ||
      !(load->session = lathe_session_new (model, data,
                                           load->mean ? (const float *) (gpointer) load->mean->data : NULL,
                                           load->std ? (const float *) (gpointer) load->std->data : NULL,
                                           load->mean ? load->mean->len : 0, &error)))
    goto fail;
  /* A plan for another model is refused before anything is shown. */
  if (load->plan != NULL &&
      !lathe_plan_validate (load->plan, lathe_session_get_layers (load->session), &error))
    {
      if (load->plan_origin != NULL)
        g_prefix_error (&error, "%s: ", load->plan_origin);
      goto fail;
    }
  if (load->subset_size > 0)
    lathe_session_set_subset_size (load->session, load->subset_size);
  if (load->cache_bytes > 0)
    lathe_session_set_cache_budget (load->session, load->cache_bytes);
  if (!(load->baseline = lathe_session_get_baseline (load->session, cancellable, &error)))
    goto fail;

  /* The source model on the subset, so that an early figure is compared
   * with the same samples: a plan that changes nothing, BN included. */
  identity = lathe_plan_new ();
  identity->fold_bn = FALSE;
  if (!(load->subset_baseline = lathe_session_evaluate (load->session, identity, LATHE_STAGE_SUBSET,
                                                        cancellable, &error)))
    goto fail;

  g_task_return_boolean (task, TRUE);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
}

/* Takes `load` (with file and data_spec set). */
static void
load_async (LatheWindow         *self,
            Load                *load,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, load_async);
  g_task_set_task_data (task, load, load_free);
  g_task_run_in_thread (task, load_thread);
}

static Load *
load_finish (LatheWindow   *self,
             GAsyncResult  *result,
             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == load_async, NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return g_task_get_task_data (G_TASK (result));
}

static void
close_session (LatheWindow *self)
{
  _lathe_window_train_dispose (self);
  g_clear_handle_id (&self->plan_source, g_source_remove);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  if (self->layers != NULL)
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->layers));
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
          g_signal_handlers_disconnect_by_data (item, self);
        }
    }
  g_clear_object (&self->session);
  g_clear_pointer (&self->baseline, lathe_session_result_unref);
  g_clear_pointer (&self->result, lathe_session_result_unref);
  g_clear_object (&self->layers);
  g_clear_object (&self->file);
  g_clear_pointer (&self->data_spec, g_free);
  g_clear_pointer (&self->mean, g_array_unref);
  g_clear_pointer (&self->std, g_array_unref);
  g_ptr_array_set_size (self->measured, 0);
  _lathe_window_charts_clear (self);
  if (self->history != NULL)
    _lathe_window_update_actions (self);
  self->generation = 0;
  set_evaluating (self, FALSE);
}

static void
install_model (LatheWindow *self,
               Load        *load)
{
  GPtrArray *layers;
  g_autofree char *name = file_display_name (load->file);

  close_session (self);
  self->file = g_object_ref (load->file);
  self->session = g_steal_pointer (&load->session);
  self->baseline = g_steal_pointer (&load->baseline);
  self->data_spec = g_strdup (load->data_spec);
  self->mean = load->mean ? g_array_ref (load->mean) : NULL;
  self->std = load->std ? g_array_ref (load->std) : NULL;
  g_signal_connect_object (self->session, "result", G_CALLBACK (session_result_cb), self, 0);
  g_signal_connect_object (self->session, "failed", G_CALLBACK (session_failed_cb), self, 0);
  _lathe_window_train_start (self);

  self->layers = g_list_store_new (LATHE_TYPE_LAYER_ITEM);
  layers = lathe_session_get_layers (self->session);
  for (guint i = 0; i < layers->len; i++)
    {
      g_autoptr(LatheLayerItem) item = lathe_layer_item_new (g_ptr_array_index (layers, i));
      g_signal_connect_object (item, "notify", G_CALLBACK (item_notify_cb), self, G_CONNECT_SWAPPED);
      g_list_store_append (self->layers, item);
    }
  lathe_layer_table_set_model (self->layer_table, G_LIST_MODEL (self->layers));
  lathe_compare_pane_set_session (self->compare_pane, self->session);
  lathe_compare_pane_set_pinned (self->compare_pane, NULL, NULL);

  /* A new model starts uncompressed, or with the pipeline file's plan. */
  lathe_scoreboard_set_baseline (self->scoreboard, self->baseline, load->subset_baseline);
  if (load->plan != NULL)
    _lathe_window_edit_start (self, load->plan);
  else
    {
      g_autoptr(LathePlan) plan = _lathe_window_default_plan (self);
      _lathe_window_edit_start (self, plan);
    }
  _lathe_window_note_recent (self, self->file);

  adw_window_title_set_subtitle (self->window_title, name);
  gtk_stack_set_visible_child_name (self->stack, "model");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);

  if (load->default_norm)
    {
      g_autofree char *text = g_strdup_printf (_("%s names no input normalisation; using mean 0 and std 1"), name);
      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
    }
}

static void
load_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  LatheWindow *self = LATHE_WINDOW (object);
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  g_autoptr(GError) error = NULL;
  Load *load;

  /* A newer load took over. */
  if (cancellable != self->load_cancellable)
    return;
  g_clear_object (&self->load_cancellable);
  gtk_spinner_stop (self->loading_spinner);

  if (!(load = load_finish (self, result, &error)))
    {
      GFile *file = ((Load *) g_task_get_task_data (G_TASK (result)))->file;
      g_autofree char *name = file_display_name (file);
      g_autofree char *title = g_strdup_printf (_("Could not open “%s”"), name);

      gtk_stack_set_visible_child_name (self->stack, self->session ? "model" : "empty");
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _lathe_window_show_error (self, title, error->message);
      return;
    }
  install_model (self, load);
}

void
lathe_window_open (LatheWindow *self,
                   GFile       *file)
{
  g_return_if_fail (LATHE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  _lathe_window_open_full (self, file, NULL, NULL, NULL, NULL, NULL);
}

void
_lathe_window_open_full (LatheWindow     *self,
                         GFile           *file,
                         const char      *data_spec,
                         GArray          *mean,
                         GArray          *std,
                         const LathePlan *plan,
                         const char      *plan_origin)
{
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;
  Load *load;

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  hide_error (self);
  name = file_display_name (file);
  load = g_new0 (Load, 1);
  load->file = g_object_ref (file);
  load->data_spec = g_strdup (data_spec ? data_spec : EVAL_DATA);
  load->mean = mean ? g_array_ref (mean) : NULL;
  load->std = std ? g_array_ref (std) : NULL;
  load->plan = plan ? lathe_plan_copy (plan) : NULL;
  load->plan_origin = g_strdup (plan_origin);
  if (self->settings != NULL)
    {
      load->subset_size = g_settings_get_uint (self->settings, "subset-size");
      load->cache_bytes = (gsize) g_settings_get_uint (self->settings, "cache-budget-mib") << 20;
    }

  if (data_spec == NULL || g_str_equal (data_spec, EVAL_DATA))
    /* translators: %s is a file name */
    text = g_strdup_printf (_("Opening %s and measuring its accuracy on Fashion-MNIST…"), name);
  else
    /* translators: the first %s is a file name, the second names the evaluation data */
    text = g_strdup_printf (_("Opening %s and measuring its accuracy on %s…"), name, data_spec);
  gtk_label_set_label (self->loading_label, text);
  gtk_spinner_start (self->loading_spinner);
  gtk_stack_set_visible_child_name (self->stack, "loading");

  load_async (self, load, self->load_cancellable, load_done_cb, NULL);
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                  */

static void
open_response_cb (GtkNativeDialog *chooser,
                  int              response,
                  LatheWindow     *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      if (file != NULL)
        lathe_window_open (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  g_autoptr(GtkFileFilter) onnx = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  if (self->chooser != NULL)
    {
      gtk_native_dialog_show (self->chooser);
      return;
    }

  gtk_file_filter_set_name (onnx, _("ONNX Models"));
  gtk_file_filter_add_pattern (onnx, "*.onnx");
  gtk_file_filter_add_pattern (onnx, "*.ONNX");
  gtk_file_filter_set_name (all, _("All Files"));
  gtk_file_filter_add_pattern (all, "*");

  chooser = gtk_file_chooser_native_new (_("Open Model"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), onnx);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (chooser), onnx);
  g_signal_connect_object (chooser, "response", G_CALLBACK (open_response_cb), self, 0);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

/* The sample: $LATHE_SAMPLES_DIR, the installed copy, then the source
 * tree (running from a build directory). */
static GFile *
find_sample (GError **error)
{
  const char *dirs[] = { g_getenv ("LATHE_SAMPLES_DIR"), LATHE_SAMPLES_DIR, LATHE_SOURCE_SAMPLES_DIR };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = NULL;

      if (dirs[i] == NULL)
        continue;
      path = g_build_filename (dirs[i], SAMPLE_MODEL, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_file_new_for_path (path);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("%s is in neither %s nor %s; reinstall Lathe or set LATHE_SAMPLES_DIR"),
               SAMPLE_MODEL, LATHE_SAMPLES_DIR, LATHE_SOURCE_SAMPLES_DIR);
  return NULL;
}

static void
open_sample_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = find_sample (&error);

  if (file == NULL)
    {
      _lathe_window_show_error (self, _("Could not find the sample model"), error->message);
      return;
    }
  lathe_window_open (self, file);
}

static void
dismiss_error_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  hide_error (LATHE_WINDOW (widget));
}

/* ---------------------------------------------------------------------- */

static void
lathe_window_dispose (GObject *object)
{
  LatheWindow *self = LATHE_WINDOW (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->layer_table != NULL)
    lathe_layer_table_set_model (self->layer_table, NULL);
  close_session (self);
  _lathe_window_edit_dispose (self);
  _lathe_window_charts_dispose (self);
  g_clear_pointer (&self->measured, g_ptr_array_unref);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_WINDOW);
  G_OBJECT_CLASS (lathe_window_parent_class)->dispose (object);
}

static void
lathe_window_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  LatheWindow *self = LATHE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_FILE:       g_value_set_object (value, self->file); break;
    case PROP_EVALUATING: g_value_set_boolean (value, self->evaluating); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_window_class_init (LatheWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_window_dispose;
  object_class->get_property = lathe_window_get_property;

  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVALUATING] =
    g_param_spec_boolean ("evaluating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (LATHE_TYPE_SCOREBOARD);
  g_type_ensure (LATHE_TYPE_LAYER_TABLE);
  g_type_ensure (LATHE_TYPE_PLANE_CHART);
  g_type_ensure (LATHE_TYPE_COMPARE_PANE);
  g_type_ensure (LATHE_TYPE_TRAINING_CHART);
  g_type_ensure (LATHE_TYPE_HISTOGRAM_CHART);
  g_type_ensure (LATHE_TYPE_SIZE_CHART);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, scoreboard);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_bits_scale);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_sparsity_scale);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_width_scale);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, cancel_training_button);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_bits_value);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_sparsity_value);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_width_value);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_bits_adjustment);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_sparsity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, global_width_adjustment);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, layer_table);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, recent_box);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, compare_pane);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, plane_chart);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, training_chart);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, training_revealer);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, training_status_label);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, training_progress);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, histogram_chart);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, size_chart);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, histogram_title);
  gtk_widget_class_bind_template_child (widget_class, LatheWindow, recent_list);
  gtk_widget_class_bind_template_callback (widget_class, global_bits_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, global_sparsity_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, global_width_changed_cb);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.open-sample", NULL, open_sample_action);
  gtk_widget_class_install_action (widget_class, "win.dismiss-error", NULL, dismiss_error_action);

  _lathe_window_edit_class_init (widget_class);
  _lathe_window_files_class_init (widget_class);
  _lathe_window_charts_class_init (widget_class);
  _lathe_window_train_class_init (widget_class);
}

/* Preferences take effect on the open model at once. */
static void
settings_changed_cb (LatheWindow *self,
                     const char  *key)
{
  if (self->session == NULL)
    return;
  if (g_str_equal (key, "subset-size"))
    {
      lathe_session_set_subset_size (self->session, g_settings_get_uint (self->settings, key));
      _lathe_window_queue_plan (self);
    }
  else if (g_str_equal (key, "cache-budget-mib"))
    lathe_session_set_cache_budget (self->session, (gsize) g_settings_get_uint (self->settings, key) << 20);
}

static void
lathe_window_init (LatheWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* named once: not "_Open Open" in GTK 4.8 */
  lathe_a11y_name_button (self->cancel_training_button, _("Cancel Training"));
  lathe_a11y_name_buttons_by_label (GTK_WIDGET (self));
  /* the model page scrolls: the wheel over an unfocused slider scrolls it */
  lathe_wheel_guard_attach (GTK_WIDGET (self->global_bits_scale));
  lathe_wheel_guard_attach (GTK_WIDGET (self->global_sparsity_scale));
  lathe_wheel_guard_attach (GTK_WIDGET (self->global_width_scale));

  self->measured = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_measured_free);
  self->settings = lathe_settings_new ();
  if (self->settings != NULL)
    g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed_cb), self, G_CONNECT_SWAPPED);
  _lathe_window_edit_init (self);
  _lathe_window_files_init (self);
  _lathe_window_charts_init (self);

  show_global_values (self);
}

LatheWindow *
lathe_window_new (GtkApplication *application)
{
  return g_object_new (LATHE_TYPE_WINDOW, "application", application, NULL);
}

GFile *
lathe_window_get_file (LatheWindow *self)
{
  g_return_val_if_fail (LATHE_IS_WINDOW (self), NULL);
  return self->file;
}

gboolean
lathe_window_get_evaluating (LatheWindow *self)
{
  g_return_val_if_fail (LATHE_IS_WINDOW (self), FALSE);
  return self->evaluating;
}

LatheScoreboard *
_lathe_window_get_scoreboard (LatheWindow *self)
{
  return self->scoreboard;
}

LatheLayerTable *
_lathe_window_get_layer_table (LatheWindow *self)
{
  return self->layer_table;
}

GtkAdjustment *
_lathe_window_get_bits_adjustment (LatheWindow *self)
{
  return self->global_bits_adjustment;
}

GtkAdjustment *
_lathe_window_get_sparsity_adjustment (LatheWindow *self)
{
  return self->global_sparsity_adjustment;
}

GtkAdjustment *
_lathe_window_get_width_adjustment (LatheWindow *self)
{
  return self->global_width_adjustment;
}

const char *
_lathe_window_get_page (LatheWindow *self)
{
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
_lathe_window_get_error (LatheWindow *self)
{
  return gtk_revealer_get_reveal_child (self->error_revealer) ? gtk_label_get_text (self->error_label) : NULL;
}

LatheSessionResult *
_lathe_window_get_baseline (LatheWindow *self)
{
  return self->baseline;
}

LatheSessionResult *
_lathe_window_get_result (LatheWindow *self)
{
  return self->result;
}

guint64
_lathe_window_get_generation (LatheWindow *self)
{
  return self->generation;
}

LatheHistory *
_lathe_window_get_history (LatheWindow *self)
{
  return self->history;
}

GPtrArray *
_lathe_window_get_measured (LatheWindow *self)
{
  return self->measured;
}

LathePlaneChart *
_lathe_window_get_plane_chart (LatheWindow *self)
{
  return self->plane_chart;
}

LatheHistogramChart *
_lathe_window_get_histogram_chart (LatheWindow *self)
{
  return self->histogram_chart;
}

LatheSizeChart *
_lathe_window_get_size_chart (LatheWindow *self)
{
  return self->size_chart;
}

LatheComparePane *
_lathe_window_get_compare_pane (LatheWindow *self)
{
  return self->compare_pane;
}

LatheTrainingChart *
_lathe_window_get_training_chart (LatheWindow *self)
{
  return self->training_chart;
}

const char *
_lathe_window_get_training_status (LatheWindow *self)
{
  return gtk_label_get_text (self->training_status_label);
}
