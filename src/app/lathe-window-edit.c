/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-layer-item.h"
#include "lathe-window-private.h"

/* A step is recorded once the sliders have rested this long with no
 * button held: a drag, or a key held down, becomes one step. */
#define COMMIT_DELAY_MS 300

/* Points with no figures yet (plans superseded before a result) are
 * dropped; of the measured ones, the oldest go beyond this. */
#define MAX_MEASURED 400

void
lathe_measured_free (LatheMeasured *m)
{
  g_clear_pointer (&m->plan, lathe_plan_free);
  g_free (m);
}

static LatheGranularity
parse_granularity (const char *text,
                   int        *group_size)
{
  *group_size = 0;
  if (g_strcmp0 (text, "tensor") == 0)
    return LATHE_GRANULARITY_TENSOR;
  if (text != NULL && g_str_has_prefix (text, "group:"))
    {
      *group_size = (int) g_ascii_strtoll (text + 6, NULL, 10);
      return LATHE_GRANULARITY_GROUP;
    }
  return LATHE_GRANULARITY_CHANNEL;
}

/* The uncompressed plan, with the preferred granularity for when bits move. */
LathePlan *
_lathe_window_default_plan (LatheWindow *self)
{
  LathePlan *plan = lathe_plan_new ();

  if (self->settings != NULL)
    {
      g_autofree char *g = g_settings_get_string (self->settings, "default-granularity");
      plan->defaults.granularity = parse_granularity (g, &plan->defaults.group_size);
    }
  return plan;
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                    */

void
_lathe_window_update_actions (LatheWindow *self)
{
  gboolean open = self->session != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", open && lathe_history_can_undo (self->history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", open && lathe_history_can_redo (self->history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reset", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.preset", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-pipeline", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-chart", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.pin", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.unpin", open && lathe_compare_pane_get_has_pinned (self->compare_pane));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.choose-data", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.train", open);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-training", open && self->training_job != 0);
}

static void
commit_now (LatheWindow *self)
{
  g_autoptr(LathePlan) plan = NULL;

  g_clear_handle_id (&self->commit_source, g_source_remove);
  if (self->session == NULL)
    return;
  plan = _lathe_window_build_plan (self);
  if (lathe_history_commit (self->history, plan))
    g_debug ("undo step %u recorded", lathe_history_get_n_undo (self->history));
}

static gboolean
commit_cb (gpointer user_data)
{
  LatheWindow *self = user_data;

  self->commit_source = 0;
  /* The release will schedule the step. */
  if (!self->pointer_down)
    commit_now (self);
  return G_SOURCE_REMOVE;
}

void
_lathe_window_plan_changed (LatheWindow *self)
{
  if (self->restoring || self->session == NULL)
    return;
  g_clear_handle_id (&self->commit_source, g_source_remove);
  self->commit_source = g_timeout_add (COMMIT_DELAY_MS, commit_cb, self);
}

/* Before moving through the history, the change in progress becomes a step. */
static void
flush_commit (LatheWindow *self)
{
  if (self->commit_source != 0)
    commit_now (self);
}

static gboolean
pointer_event_cb (GtkEventControllerLegacy *controller,
                  GdkEvent                 *event,
                  LatheWindow              *self)
{
  GdkEventType type = gdk_event_get_event_type (event);

  if (type == GDK_BUTTON_PRESS || type == GDK_TOUCH_BEGIN)
    self->pointer_down = TRUE;
  else if (type == GDK_BUTTON_RELEASE || type == GDK_TOUCH_END || type == GDK_TOUCH_CANCEL)
    {
      self->pointer_down = FALSE;
      if (self->commit_source != 0)
        {
          g_clear_handle_id (&self->commit_source, g_source_remove);
          /* After the slider has taken the release's value. */
          self->commit_source = g_idle_add (commit_cb, self);
        }
    }
  return GDK_EVENT_PROPAGATE;
}

void
_lathe_window_restore_plan (LatheWindow     *self,
                            const LathePlan *plan)
{
  guint n;

  g_return_if_fail (plan != NULL);

  self->restoring = TRUE;
  g_clear_pointer (&self->base_plan, lathe_plan_free);
  self->base_plan = lathe_plan_copy (plan);

  /* The global sliders set every layer; the layers' own values follow. */
  gtk_adjustment_set_value (self->global_bits_adjustment, lathe_position_for_bits (plan->defaults.bits));
  gtk_adjustment_set_value (self->global_sparsity_adjustment, round (plan->defaults.sparsity * 100));
  gtk_adjustment_set_value (self->global_width_adjustment, round (plan->defaults.width * 100));
  n = self->layers ? g_list_model_get_n_items (G_LIST_MODEL (self->layers)) : 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (G_LIST_MODEL (self->layers), i);
      g_auto(LatheLayerSettings) s = { 0 };

      lathe_plan_resolve (plan, lathe_layer_item_get_name (item), &s);
      lathe_layer_item_set_bits (item, s.bits);
      lathe_layer_item_set_sparsity (item, s.sparsity);
      if (lathe_layer_item_get_width_reason (item) == NULL)
        lathe_layer_item_set_width (item, s.width);
    }
  self->restoring = FALSE;
  _lathe_window_queue_plan (self);
}

void
_lathe_window_edit_start (LatheWindow     *self,
                          const LathePlan *plan)
{
  g_clear_handle_id (&self->commit_source, g_source_remove);
  _lathe_window_restore_plan (self, plan);
  {
    /* What the sliders can show of it, so the first step compares alike. */
    g_autoptr(LathePlan) shown = _lathe_window_build_plan (self);
    lathe_history_reset (self->history, shown);
  }
  _lathe_window_update_actions (self);
}

/* Shows a plan the user chose as a whole (a preset, reset, a chart point)
 * and records it as one step. */
void
_lathe_window_jump_to (LatheWindow     *self,
                       const LathePlan *plan)
{
  flush_commit (self);
  _lathe_window_restore_plan (self, plan);
  commit_now (self);
}

/* ---------------------------------------------------------------------- */
/* Measured points                                                          */

LatheMeasured *
_lathe_window_find_measured (LatheWindow *self,
                             guint64      generation)
{
  for (guint i = 0; i < self->measured->len; i++)
    {
      LatheMeasured *m = g_ptr_array_index (self->measured, i);
      if (m->generation == generation)
        return m;
    }
  return NULL;
}

void
_lathe_window_plan_sent (LatheWindow     *self,
                         const LathePlan *plan,
                         guint64          generation)
{
  LatheMeasured *m = NULL;

  for (guint i = self->measured->len; i-- > 0;)
    {
      LatheMeasured *e = g_ptr_array_index (self->measured, i);

      if (isnan (e->accuracy))
        g_ptr_array_remove_index (self->measured, i);
      else if (m == NULL && lathe_plan_equal (e->plan, plan))
        m = e;
    }
  if (m == NULL)
    {
      m = g_new0 (LatheMeasured, 1);
      m->id = self->next_measured_id++;
      m->plan = lathe_plan_copy (plan);
      m->accuracy = m->lo = m->hi = NAN;
      g_ptr_array_add (self->measured, m);
      if (self->measured->len > MAX_MEASURED)
        g_ptr_array_remove_index (self->measured, 0);
    }
  m->generation = generation;
}

void
_lathe_window_record_result (LatheWindow        *self,
                             LatheSessionResult *result)
{
  LatheMeasured *m = _lathe_window_find_measured (self, result->generation);

  _lathe_window_charts_any_result (self, result);
  if (m == NULL || (m->full && result->stage != LATHE_STAGE_FULL))
    return;
  m->packed_bytes = result->packed_bytes;
  m->accuracy = result->accuracy;
  m->lo = result->lo;
  m->hi = result->hi;
  m->full = result->stage == LATHE_STAGE_FULL;
  _lathe_window_charts_point (self, m);
}

/* ---------------------------------------------------------------------- */
/* Actions                                                                  */

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  const LathePlan *plan;

  flush_commit (self);
  if ((plan = lathe_history_undo (self->history)))
    _lathe_window_restore_plan (self, plan);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  const LathePlan *plan;

  flush_commit (self);
  if ((plan = lathe_history_redo (self->history)))
    _lathe_window_restore_plan (self, plan);
}

static void
reset_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  g_autoptr(LathePlan) plan = _lathe_window_default_plan (self);

  _lathe_window_jump_to (self, plan);
}

/* Starting points, each from the uncompressed plan. */
static void
preset_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autoptr(LathePlan) plan = _lathe_window_default_plan (self);

  if (g_str_equal (name, "int8"))
    plan->defaults.bits = 8;
  else if (g_str_equal (name, "int4-channel"))
    {
      plan->defaults.bits = 4;
      plan->defaults.granularity = LATHE_GRANULARITY_CHANNEL;
      plan->defaults.group_size = 0;
    }
  else if (g_str_equal (name, "sparse50"))
    plan->defaults.sparsity = 0.5;
  else if (g_str_equal (name, "half-width"))
    plan->defaults.width = 0.5;
  else
    {
      g_warning ("Unknown preset “%s”", name);
      return;
    }
  _lathe_window_jump_to (self, plan);
}

static void
history_notify_cb (LatheWindow *self)
{
  _lathe_window_update_actions (self);
}

void
_lathe_window_edit_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.reset", NULL, reset_action);
  gtk_widget_class_install_action (widget_class, "win.preset", "s", preset_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.reset", NULL);
}

void
_lathe_window_edit_init (LatheWindow *self)
{
  GtkEventController *controller = gtk_event_controller_legacy_new ();

  self->history = lathe_history_new ();
  g_signal_connect_object (self->history, "notify::can-undo", G_CALLBACK (history_notify_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->history, "notify::can-redo", G_CALLBACK (history_notify_cb), self, G_CONNECT_SWAPPED);

  /* Whether a button is held anywhere in the window: a drag in progress. */
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect (controller, "event", G_CALLBACK (pointer_event_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  _lathe_window_update_actions (self);
}

void
_lathe_window_edit_dispose (LatheWindow *self)
{
  g_clear_handle_id (&self->commit_source, g_source_remove);
  g_clear_object (&self->history);
  g_clear_pointer (&self->base_plan, lathe_plan_free);
}
