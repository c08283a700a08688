/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-window-private.h"

/* Training the current plan's student on the session's training worker:
 * progress and the curve while it runs, the trained figures when it ends,
 * the cached student whenever its plan comes back. */

static const struct {
  const char     *name;
  LatheTrainMode  mode;
} modes[] = {
  { "distill", LATHE_TRAIN_DISTILL },
  { "finetune", LATHE_TRAIN_FINETUNE },
  { "qat", LATHE_TRAIN_QAT },
};

static void
options_for (LatheWindow       *self,
             LatheTrainMode     mode,
             LatheTrainOptions *options)
{
  lathe_train_options_init (options);
  options->mode = mode;
  options->train_limit = self->train_limit;
}

/* For tests: train on the first `n` training samples (0: all). */
void
_lathe_window_set_train_limit (LatheWindow *self,
                               guint        n)
{
  self->train_limit = n;
}

typedef gboolean (*LayerTest) (const LatheLayerSettings *s);

static gboolean
narrows (const LatheLayerSettings *s)
{
  return s->width < 1.0;
}

static gboolean
prunes (const LatheLayerSettings *s)
{
  return s->sparsity > 0.0 || s->pattern != LATHE_PATTERN_UNSTRUCTURED;
}

static gboolean
quantizes (const LatheLayerSettings *s)
{
  return s->bits <= 16;
}

/* Whether any layer the plan does not skip passes `test`. */
static gboolean
plan_has (LatheWindow     *self,
          const LathePlan *plan,
          LayerTest        test)
{
  GPtrArray *layers = self->session ? lathe_session_get_layers (self->session) : NULL;

  for (guint i = 0; layers != NULL && i < layers->len; i++)
    {
      LatheLayer *layer = g_ptr_array_index (layers, i);
      g_auto(LatheLayerSettings) s = { 0 };

      lathe_plan_resolve (plan, layer->name, &s);
      if (!s.skip && test (&s))
        return TRUE;
    }
  return FALSE;
}

/* Whether any layer is narrower than in the teacher. */
static gboolean
plan_has_student (LatheWindow     *self,
                  const LathePlan *plan)
{
  return plan_has (self, plan, narrows);
}

static void
set_status (LatheWindow *self,
            const char  *text)
{
  gtk_label_set_label (self->training_status_label, text);
}

static void
set_running (LatheWindow *self,
             gboolean     running)
{
  gtk_widget_set_visible (GTK_WIDGET (self->training_progress), running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-training", running);
}

/* The trained figures for this plan, if a student was trained for it. */
static LatheSessionResult *
lookup_trained (LatheWindow     *self,
                const LathePlan *plan)
{
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      LatheTrainOptions options;
      LatheSessionResult *r;

      options_for (self, modes[i].mode, &options);
      if ((r = lathe_session_lookup_trained (self->session, plan, &options, NULL)))
        return r;
    }
  return NULL;
}

LatheSessionResult *
_lathe_window_get_trained_for (LatheWindow     *self,
                               const LathePlan *plan)
{
  g_autoptr(LatheSessionResult) found = NULL;

  if (self->session == NULL || self->shown_trained == NULL)
    return NULL;
  /* Its own options find it again only under the same plan; the window
   * always trains on the default training data (train_spec NULL). */
  found = lathe_session_lookup_trained (self->session, plan, &self->shown_trained->train_options, NULL);
  return found == self->shown_trained ? self->shown_trained : NULL;
}

static void
show_trained (LatheWindow        *self,
              LatheSessionResult *trained)
{
  LatheMeasured *m = self->result ? _lathe_window_find_measured (self, self->result->generation) : NULL;

  g_clear_pointer (&self->shown_trained, lathe_session_result_unref);
  self->shown_trained = lathe_session_result_ref (trained);
  if (m != NULL)
    lathe_compare_pane_set_current (self->compare_pane, m->plan, trained);
  lathe_scoreboard_set_result (self->scoreboard, trained);
  lathe_scoreboard_set_student (self->scoreboard, LATHE_STUDENT_TRAINED,
                                trained->epoch_loss ? trained->epoch_loss->len : 0);
}

/* Called with every figure for the current plan. */
void
_lathe_window_train_result (LatheWindow        *self,
                            LatheSessionResult *result)
{
  g_autoptr(LatheSessionResult) trained = NULL;
  LatheMeasured *m = _lathe_window_find_measured (self, result->generation);
  gboolean student;

  g_clear_pointer (&self->shown_trained, lathe_session_result_unref);
  if (m == NULL)
    return;
  student = plan_has_student (self, m->plan);

  /* Going back to a trained plan shows its trained figures at once. */
  if ((trained = lookup_trained (self, m->plan)))
    {
      if (result->stage == LATHE_STAGE_FULL)
        show_trained (self, trained);
      else
        lathe_scoreboard_set_student (self->scoreboard, LATHE_STUDENT_UNTRAINED, 0);
      return;
    }
  if (self->training_job != 0 && self->training_plan != NULL && lathe_plan_equal (self->training_plan, m->plan))
    lathe_scoreboard_set_student (self->scoreboard, LATHE_STUDENT_TRAINING, 0);
  else
    lathe_scoreboard_set_student (self->scoreboard, student ? LATHE_STUDENT_UNTRAINED : LATHE_STUDENT_NONE, 0);

  /* The preference: a student's full figure starts its distillation. */
  if (student && result->stage == LATHE_STAGE_FULL && self->settings != NULL &&
      g_settings_get_boolean (self->settings, "auto-distil") &&
      !(self->training_job != 0 && lathe_plan_equal (self->training_plan, m->plan)))
    gtk_widget_activate_action (GTK_WIDGET (self), "win.train", "s", "distill");
}

static void
progress_cb (LatheSession             *session,
             guint64                   job,
             const LatheTrainProgress *p,
             LatheWindow              *self)
{
  g_autofree char *text = NULL;
  double total;

  if (job != self->training_job)
    return;
  lathe_training_chart_add_step (self->training_chart, p);
  total = (double) p->epochs * MAX (p->steps_per_epoch, 1);
  gtk_progress_bar_set_fraction (self->training_progress, CLAMP (p->global_step / total, 0.0, 1.0));
  if (p->epoch_end)
    {
      g_autofree char *acc = lathe_format_accuracy (p->accuracy);
      /* translators: epoch k of n ended with this loss and this accuracy on the evaluation subset */
      text = g_strdup_printf (_("Epoch %u of %u: loss %.4f, accuracy %s"), p->epoch + 1, p->epochs, p->loss, acc);
    }
  else
    /* translators: training is in epoch k of n, with this loss */
    text = g_strdup_printf (_("Epoch %u of %u, loss %.4f…"), p->epoch + 1, p->epochs, p->loss);
  set_status (self, text);
}

static void
done_cb (LatheSession       *session,
         guint64             job,
         LatheSessionResult *result,
         LatheWindow        *self)
{
  g_autofree char *after = NULL;
  g_autofree char *text = NULL;
  LatheMeasured *m;
  int index;

  if (job != self->training_job)
    return;
  self->training_job = 0;
  set_running (self, FALSE);
  lathe_training_chart_set_result (self->training_chart, result->epoch_loss, result->epoch_accuracy,
                                   result->untrained_accuracy);
  after = lathe_format_accuracy (result->accuracy);
  /* translators: a student trained for n epochs has this accuracy on the whole evaluation set */
  text = g_strdup_printf (ngettext ("Trained for %u epoch: %s on all %'u samples",
                                    "Trained for %u epochs: %s on all %'u samples",
                                    result->epoch_loss ? result->epoch_loss->len : 0),
                          result->epoch_loss ? result->epoch_loss->len : 0, after, result->n_samples);
  set_status (self, text);

  /* A point of its own on the plane; the scoreboard if the plan is still the one shown. */
  m = g_new0 (LatheMeasured, 1);
  m->id = self->next_measured_id++;
  m->plan = lathe_plan_copy (self->training_plan);
  m->generation = 0;
  m->packed_bytes = result->packed_bytes;
  m->accuracy = result->accuracy;
  m->lo = result->lo;
  m->hi = result->hi;
  m->full = TRUE;
  m->trained = TRUE;
  g_ptr_array_add (self->measured, m);
  index = (int) lathe_plane_chart_add_point (self->plane_chart, m->id, m->packed_bytes, m->accuracy,
                                             m->lo, m->hi, TRUE);
  lathe_plane_chart_set_trained (self->plane_chart, index, TRUE);
  if (self->result != NULL)
    {
      LatheMeasured *current = _lathe_window_find_measured (self, self->result->generation);
      if (current != NULL && lathe_plan_equal (current->plan, self->training_plan))
        {
          show_trained (self, result);
          lathe_plane_chart_set_current (self->plane_chart, index);
        }
    }
}

static void
failed_cb (LatheSession *session,
           guint64       job,
           const char   *message,
           LatheWindow  *self)
{
  if (job != self->training_job)
    return;
  self->training_job = 0;
  set_running (self, FALSE);
  set_status (self, _("Training stopped; the figures are the untrained student’s."));
  _lathe_window_show_error (self, _("Could not train the student"), message);
  lathe_scoreboard_set_student (self->scoreboard,
                                self->training_plan && plan_has_student (self, self->training_plan)
                                ? LATHE_STUDENT_UNTRAINED : LATHE_STUDENT_NONE, 0);
}

static void
cancelled_cb (LatheSession *session,
              guint64       job,
              LatheWindow  *self)
{
  if (job != self->training_job)
    return;
  self->training_job = 0;
  set_running (self, FALSE);
  set_status (self, _("Training cancelled; the figures are the untrained student’s."));
  lathe_scoreboard_set_student (self->scoreboard,
                                self->training_plan && plan_has_student (self, self->training_plan)
                                ? LATHE_STUDENT_UNTRAINED : LATHE_STUDENT_NONE, 0);
}

static void
train_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autoptr(LatheSessionResult) cached = NULL;
  LatheTrainOptions options;
  guint i;

  if (self->session == NULL)
    return;
  for (i = 0; i < G_N_ELEMENTS (modes) && !g_str_equal (modes[i].name, name); i++)
    ;
  if (i == G_N_ELEMENTS (modes))
    return;
  options_for (self, modes[i].mode, &options);

  g_clear_pointer (&self->training_plan, lathe_plan_free);
  self->training_plan = _lathe_window_build_plan (self);

  /* What each kind of training needs, as lathe-cli distill asks. */
  if (modes[i].mode == LATHE_TRAIN_DISTILL && !plan_has (self, self->training_plan, narrows))
    {
      _lathe_window_show_error (self, _("There is no student to distil"),
                                /* xgettext:no-c-format */
                                _("Distillation trains a narrower model: set Width below 100 % for some layer first."));
      return;
    }
  if (modes[i].mode == LATHE_TRAIN_FINETUNE && !plan_has (self, self->training_plan, prunes))
    {
      _lathe_window_show_error (self, _("There is nothing pruned to fine-tune"),
                                /* xgettext:no-c-format */
                                _("Fine-tuning keeps the pruned weights at zero and trains the rest: set Sparsity above 0 % for some layer first."));
      return;
    }
  if (modes[i].mode == LATHE_TRAIN_QAT && !plan_has (self, self->training_plan, quantizes))
    {
      _lathe_window_show_error (self, _("There is nothing quantized to train through"),
                                _("Quantization-aware fine-tuning trains through the quantized weights: set Bits below 32 for some layer first."));
      return;
    }

  if ((cached = lathe_session_lookup_trained (self->session, self->training_plan, &options, NULL)))
    {
      /* Trained before: nothing to wait for. */
      lathe_training_chart_set_result (self->training_chart, cached->epoch_loss, cached->epoch_accuracy,
                                       cached->untrained_accuracy);
      gtk_revealer_set_reveal_child (self->training_revealer, TRUE);
      show_trained (self, cached);
      set_status (self, _("Trained before with these settings: the figures are the trained student’s."));
      return;
    }

  self->training_job = lathe_session_train (self->session, self->training_plan, &options, NULL);
  lathe_training_chart_reset (self->training_chart, options.epochs);
  gtk_progress_bar_set_fraction (self->training_progress, 0.0);
  gtk_revealer_set_reveal_child (self->training_revealer, TRUE);
  set_running (self, TRUE);
  set_status (self, modes[i].mode == LATHE_TRAIN_DISTILL ? _("Distilling: starting from the teacher’s kept units…")
                  : modes[i].mode == LATHE_TRAIN_FINETUNE ? _("Fine-tuning with the pruned weights held at zero…")
                  : _("Fine-tuning through the quantized weights…"));
  lathe_scoreboard_set_student (self->scoreboard, LATHE_STUDENT_TRAINING, 0);
}

static void
cancel_training_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  LatheWindow *self = LATHE_WINDOW (widget);

  if (self->session != NULL && self->training_job != 0)
    lathe_session_cancel_training (self->session);
}

/* A model was installed. */
void
_lathe_window_train_start (LatheWindow *self)
{
  self->training_job = 0;
  g_clear_pointer (&self->training_plan, lathe_plan_free);
  set_running (self, FALSE);
  gtk_revealer_set_reveal_child (self->training_revealer, FALSE);
  set_status (self, _("Narrow layers with Width, then distil: the student learns from the original’s answers and wins back accuracy."));
  g_signal_connect_object (self->session, "train-progress", G_CALLBACK (progress_cb), self, 0);
  g_signal_connect_object (self->session, "train-done", G_CALLBACK (done_cb), self, 0);
  g_signal_connect_object (self->session, "train-failed", G_CALLBACK (failed_cb), self, 0);
  g_signal_connect_object (self->session, "train-cancelled", G_CALLBACK (cancelled_cb), self, 0);
}

void
_lathe_window_train_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.train", "s", train_action);
  gtk_widget_class_install_action (widget_class, "win.cancel-training", NULL, cancel_training_action);
}

void
_lathe_window_train_dispose (LatheWindow *self)
{
  if (self->session != NULL && self->training_job != 0)
    lathe_session_cancel_training (self->session);
  self->training_job = 0;
  g_clear_pointer (&self->training_plan, lathe_plan_free);
  g_clear_pointer (&self->shown_trained, lathe_session_result_unref);
}
