/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-scoreboard-private.h"

struct _LatheScoreboard {
  GtkWidget           parent_instance;

  GtkLabel           *size_label;
  GtkLabel           *size_detail_label;
  GtkLabel           *accuracy_label;
  GtkLabel           *accuracy_delta_label;
  GtkLabel           *accuracy_note_label;
  GtkLabel           *fidelity_label;
  GtkLabel           *compute_label;
  GtkLabel           *student_label;
  GtkLabel           *fidelity_detail_label;
  GtkLabel           *compute_detail_label;
  double              last_time;   /* seconds per sample of the last whole-model run */
  GtkSpinner         *spinner;

  LatheSessionResult *baseline;
  LatheSessionResult *subset_baseline;
};

G_DEFINE_FINAL_TYPE (LatheScoreboard, lathe_scoreboard, GTK_TYPE_WIDGET)

static void
lathe_scoreboard_dispose (GObject *object)
{
  LatheScoreboard *self = LATHE_SCOREBOARD (object);
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_SCOREBOARD);
  /* the cards hold no field of ours, so the template leaves them */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_pointer (&self->baseline, lathe_session_result_unref);
  g_clear_pointer (&self->subset_baseline, lathe_session_result_unref);
  G_OBJECT_CLASS (lathe_scoreboard_parent_class)->dispose (object);
}

static void
lathe_scoreboard_class_init (LatheScoreboardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_scoreboard_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-scoreboard.ui");
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, size_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, size_detail_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, accuracy_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, accuracy_delta_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, accuracy_note_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, fidelity_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, compute_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, student_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, fidelity_detail_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, compute_detail_label);
  gtk_widget_class_bind_template_child (widget_class, LatheScoreboard, spinner);
  gtk_widget_class_set_css_name (widget_class, "scoreboard");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
lathe_scoreboard_init (LatheScoreboard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  lathe_scoreboard_set_evaluating (self, FALSE);
}

GtkWidget *
lathe_scoreboard_new (void)
{
  return g_object_new (LATHE_TYPE_SCOREBOARD, NULL);
}

void
_lathe_delta_style (GtkWidget *label,
                    double     delta)
{
  gtk_widget_remove_css_class (label, "lathe-delta-down");
  gtk_widget_remove_css_class (label, "lathe-delta-up");
  if (delta <= -0.00005)
    gtk_widget_add_css_class (label, "lathe-delta-down");
  else if (delta >= 0.00005)
    gtk_widget_add_css_class (label, "lathe-delta-up");
}

/* The exact byte counts for screen readers (and the end-to-end tests):
 * the label shows them rounded. */
static void
describe_size (LatheScoreboard *self,
               guint64          packed,
               guint64          original)
{
  g_autofree char *p = g_strdup_printf ("%" G_GUINT64_FORMAT, packed);
  g_autofree char *o = g_strdup_printf ("%" G_GUINT64_FORMAT, original);
  /* translators: accessible description of the size figure; both are byte counts */
  g_autofree char *text = g_strdup_printf (_("%s bytes, of %s bytes originally"), p, o);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->size_label),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

/* Multiply-accumulates of the effective model and the time per sample
 * measured on this CPU — from an evaluation that ran the whole model; one
 * that re-ran only the layers after a cached activation keeps the last
 * whole-model figure, and says so. */
static void
show_compute (LatheScoreboard    *self,
              LatheSessionResult *r,
              guint64             original_macs)
{
  g_autofree char *macs = lathe_format_macs (r->macs);
  g_autofree char *before = lathe_format_macs (original_macs);
  g_autofree char *nonzero = lathe_format_macs (r->macs_nonzero);
  g_autofree char *title = NULL;
  g_autofree char *time = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *tip = NULL;

  if (!r->from_cache && r->seconds_per_sample > 0)
    self->last_time = r->seconds_per_sample;
  /* translators: multiply-accumulates per sample */
  title = g_strdup_printf (_("%s MACs"), macs);
  time = lathe_format_time_per_sample (self->last_time);
  if (r->macs == original_macs && r->from_cache)
    /* translators: %s is a time such as "82 µs" */
    detail = g_strdup_printf (_("%s per sample at the last full run"), time);
  else if (r->macs == original_macs)
    /* translators: %s is a time such as "82 µs" */
    detail = g_strdup_printf (_("%s per sample, measured here"), time);
  else if (r->from_cache)
    /* translators: the original's multiply-accumulates, then a time such as "82 µs" */
    detail = g_strdup_printf (_("of %s · %s per sample at the last full run"), before, time);
  else
    /* translators: the original's multiply-accumulates, then a time such as "82 µs" */
    detail = g_strdup_printf (_("of %s · %s per sample, measured here"), before, time);
  /* translators: %s multiply-accumulates have a non-zero weight */
  tip = g_strdup_printf (_("Multiply-accumulates per sample of the model as compressed (dense: pruned weights still count); %s of them have a non-zero weight. The time is this session’s evaluation on this computer, batch by batch."),
                         nonzero);
  gtk_label_set_label (self->compute_label, title);
  gtk_label_set_label (self->compute_detail_label, detail);
  gtk_widget_set_tooltip_text (gtk_widget_get_parent (GTK_WIDGET (self->compute_label)), tip);
}

void
lathe_scoreboard_set_baseline (LatheScoreboard    *self,
                               LatheSessionResult *baseline,
                               LatheSessionResult *subset_baseline)
{
  g_autofree char *size = NULL;
  g_autofree char *accuracy = NULL;
  g_autofree char *note = NULL;
  g_autofree char *fidelity = NULL;

  g_return_if_fail (LATHE_IS_SCOREBOARD (self));
  g_return_if_fail (baseline != NULL);

  g_clear_pointer (&self->baseline, lathe_session_result_unref);
  g_clear_pointer (&self->subset_baseline, lathe_session_result_unref);
  self->baseline = lathe_session_result_ref (baseline);
  if (subset_baseline != NULL)
    self->subset_baseline = lathe_session_result_ref (subset_baseline);

  size = g_format_size (baseline->baseline_bytes);
  accuracy = lathe_format_accuracy (baseline->accuracy);
  /* translators: the accuracy was measured on this many samples */
  note = g_strdup_printf (_("The original, %'u samples"), baseline->n_samples);
  fidelity = lathe_format_accuracy (1.0);
  self->last_time = baseline->seconds_per_sample;
  show_compute (self, baseline, baseline->macs);

  gtk_label_set_label (self->size_label, size);
  gtk_label_set_label (self->size_detail_label, _("As stored in the file"));
  describe_size (self, baseline->baseline_bytes, baseline->baseline_bytes);
  gtk_label_set_label (self->accuracy_label, accuracy);
  gtk_label_set_label (self->accuracy_delta_label, "");
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_delta_label), FALSE);
  gtk_label_set_label (self->accuracy_note_label, note);
  gtk_label_set_label (self->fidelity_label, fidelity);
  _lathe_delta_style (GTK_WIDGET (self->accuracy_delta_label), 0.0);
}

void
lathe_scoreboard_set_result (LatheScoreboard    *self,
                             LatheSessionResult *result)
{
  g_autofree char *size = NULL;
  g_autofree char *ratio = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *accuracy = NULL;
  g_autofree char *delta = NULL;
  g_autofree char *note = NULL;
  g_autofree char *fidelity = NULL;
  double base_accuracy;

  g_return_if_fail (LATHE_IS_SCOREBOARD (self));
  g_return_if_fail (result != NULL);

  /* Both figures on the same samples: an early figure from the subset is
   * compared with the source model on that subset. */
  if (result->stage == LATHE_STAGE_SUBSET && self->subset_baseline != NULL)
    base_accuracy = self->subset_baseline->accuracy;
  else
    base_accuracy = self->baseline ? self->baseline->accuracy : result->accuracy;

  size = lathe_format_size_change (result->baseline_bytes, result->packed_bytes);
  ratio = lathe_format_size_ratio (result->baseline_bytes, result->packed_bytes);
  before = lathe_format_accuracy (base_accuracy);
  after = lathe_format_accuracy (result->accuracy);
  /* translators: accuracy of the original → accuracy after compression */
  accuracy = g_strdup_printf (_("%s → %s"), before, after);
  delta = lathe_format_points (result->accuracy - base_accuracy);
  if (result->stage == LATHE_STAGE_SUBSET)
    /* translators: half the width of the 95 % confidence interval, in
     * percentage points, while only a subset of the samples was measured */
    note = g_strdup_printf (_("± %.1f points, subset of %'u"),
                            50.0 * (result->hi - result->lo), result->n_samples);
  else
    /* translators: the accuracy was measured on every one of this many samples */
    note = g_strdup_printf (_("All %'u samples"), result->n_samples);
  fidelity = lathe_format_accuracy (result->fidelity);

  gtk_label_set_label (self->size_label, size);
  if (result->onnx_bytes > 0)
    {
      g_autofree char *file = g_format_size (result->onnx_bytes);
      /* translators: the size ratio, then the exported ONNX file's size */
      g_autofree char *detail = g_strdup_printf (_("%s · ONNX file %s"), ratio, file);
      gtk_label_set_label (self->size_detail_label, detail);
    }
  else
    gtk_label_set_label (self->size_detail_label, ratio);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->size_detail_label),
                               _("The size is Lathe’s packed layout, every stored byte counted; the ONNX file is what an export writes, which cannot hold every packing (there is no 3-bit type)."));
  show_compute (self, result, self->baseline ? self->baseline->macs : result->macs);
  describe_size (self, result->packed_bytes, result->baseline_bytes);
  gtk_label_set_label (self->accuracy_label, accuracy);
  gtk_label_set_label (self->accuracy_delta_label, delta);
  gtk_widget_set_visible (GTK_WIDGET (self->accuracy_delta_label), TRUE);
  gtk_label_set_label (self->accuracy_note_label, note);
  gtk_label_set_label (self->fidelity_label, fidelity);
  _lathe_delta_style (GTK_WIDGET (self->accuracy_delta_label), result->accuracy - base_accuracy);
}

void
lathe_scoreboard_set_student (LatheScoreboard   *self,
                              LatheStudentState  state,
                              guint              epochs)
{
  g_autofree char *text = NULL;
  GtkWidget *label;

  g_return_if_fail (LATHE_IS_SCOREBOARD (self));

  label = GTK_WIDGET (self->student_label);
  gtk_widget_remove_css_class (label, "lathe-trained");
  gtk_widget_remove_css_class (label, "lathe-untrained");
  switch (state)
    {
    case LATHE_STUDENT_UNTRAINED:
      text = g_strdup (_("Untrained student: the teacher’s kept units as they are"));
      gtk_widget_add_css_class (label, "lathe-untrained");
      break;
    case LATHE_STUDENT_TRAINING:
      text = g_strdup (_("Untrained student; training…"));
      gtk_widget_add_css_class (label, "lathe-untrained");
      break;
    case LATHE_STUDENT_TRAINED:
      /* translators: the figures come from a student trained for this many epochs */
      text = g_strdup_printf (ngettext ("Trained student, %u epoch", "Trained student, %u epochs", epochs), epochs);
      gtk_widget_add_css_class (label, "lathe-trained");
      break;
    case LATHE_STUDENT_NONE:
    default:
      break;
    }
  gtk_label_set_label (self->student_label, text ? text : "");
  gtk_widget_set_visible (label, text != NULL);
  if (text != NULL)
    {
      /* translators: the fidelity figure's caption, then whether it is a trained student */
      g_autofree char *detail = g_strdup (state == LATHE_STUDENT_TRAINED
                                          ? _("agree with the original · trained student")
                                          : _("agree with the original · untrained student"));
      gtk_label_set_label (self->fidelity_detail_label, detail);
    }
  else
    gtk_label_set_label (self->fidelity_detail_label, _("of answers agree with the original"));
}

/* The label that says whether a student is trained ("" when none). */
const char *
_lathe_scoreboard_get_student_text (LatheScoreboard *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->student_label)) ? gtk_label_get_text (self->student_label) : "";
}

void
lathe_scoreboard_set_evaluating (LatheScoreboard *self,
                                 gboolean         evaluating)
{
  g_return_if_fail (LATHE_IS_SCOREBOARD (self));

  gtk_spinner_set_spinning (self->spinner, evaluating);
  gtk_widget_set_opacity (GTK_WIDGET (self->spinner), evaluating ? 1.0 : 0.0);
}

GtkLabel *
_lathe_scoreboard_get_size_label (LatheScoreboard *self)
{
  return self->size_label;
}

GtkLabel *
_lathe_scoreboard_get_size_detail_label (LatheScoreboard *self)
{
  return self->size_detail_label;
}

GtkLabel *
_lathe_scoreboard_get_accuracy_label (LatheScoreboard *self)
{
  return self->accuracy_label;
}

GtkLabel *
_lathe_scoreboard_get_accuracy_delta_label (LatheScoreboard *self)
{
  return self->accuracy_delta_label;
}

GtkLabel *
_lathe_scoreboard_get_accuracy_note_label (LatheScoreboard *self)
{
  return self->accuracy_note_label;
}

GtkLabel *
_lathe_scoreboard_get_fidelity_label (LatheScoreboard *self)
{
  return self->fidelity_label;
}

GtkSpinner *
_lathe_scoreboard_get_spinner (LatheScoreboard *self)
{
  return self->spinner;
}
