/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>
#include <math.h>

#include "lathe-app-format.h"
#include "lathe-chart-style-private.h"
#include "lathe-training-chart.h"
#include "lathe-training-draw.h"

#define SAVE_WIDTH  640
#define SAVE_HEIGHT 360

struct _LatheTrainingChart {
  GtkWidget  parent_instance;

  guint      epochs;
  GArray    *epoch_loss;      /* double, one per finished epoch */
  GArray    *epoch_accuracy;  /* double, NAN where not measured */
  GArray    *step_x;          /* double, epochs elapsed */
  GArray    *step_loss;       /* double */
  double     untrained_accuracy;
  char      *description;
};

G_DEFINE_FINAL_TYPE (LatheTrainingChart, lathe_training_chart, GTK_TYPE_WIDGET)

static void
draw (GtkWidget               *widget,
      cairo_t                 *cr,
      int                      width,
      int                      height,
      const LatheChartPalette *palette,
      gboolean                 live)
{
  LatheTrainingChart *self = LATHE_TRAINING_CHART (widget);
  LatheTrainingCurve curve = {
    .epochs = self->epochs,
    .epoch_loss = (const double *) self->epoch_loss->data,
    .epoch_accuracy = (const double *) self->epoch_accuracy->data,
    .n_done = self->epoch_loss->len,
    .untrained_accuracy = self->untrained_accuracy,
    .step_x = (const double *) self->step_x->data,
    .step_loss = (const double *) self->step_loss->data,
    .n_steps = self->step_x->len,
  };

  lathe_chart_draw_training (cr, width, height, palette, &curve, NULL, NULL);
}

static void
lathe_training_chart_snapshot (GtkWidget   *widget,
                               GtkSnapshot *snapshot)
{
  _lathe_chart_snapshot (widget, snapshot, draw);
}

static void
lathe_training_chart_measure (GtkWidget      *widget,
                              GtkOrientation  orientation,
                              int             for_size,
                              int            *minimum,
                              int            *natural,
                              int            *minimum_baseline,
                              int            *natural_baseline)
{
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = 240, *natural = 480;
  else
    *minimum = 200, *natural = 280;
}

static void
update_description (LatheTrainingChart *self)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint done = self->epoch_loss->len;

  if (self->epochs == 0 && done == 0 && self->step_x->len == 0 && !isfinite (self->untrained_accuracy))
    g_string_append (out, _("No training yet"));
  else
    /* translators: how far training is, e.g. "2 of 3 epochs" */
    g_string_append_printf (out, ngettext ("%u of %u epoch", "%u of %u epochs", MAX (self->epochs, done)),
                            done, MAX (self->epochs, done));
  if (isfinite (self->untrained_accuracy))
    {
      g_autofree char *a = lathe_format_accuracy (self->untrained_accuracy);
      /* translators: the accuracy before training */
      g_string_append_printf (out, _("; untrained accuracy %s"), a);
    }
  for (guint i = 0; i < done; i++)
    {
      double acc = g_array_index (self->epoch_accuracy, double, i);
      double loss = g_array_index (self->epoch_loss, double, i);

      if (isfinite (acc))
        {
          g_autofree char *a = lathe_format_accuracy (acc);
          /* translators: an epoch's number, its mean loss and the accuracy after it */
          g_string_append_printf (out, _("; epoch %u: loss %.4f, accuracy %s"), i + 1, loss, a);
        }
      else
        /* translators: an epoch's number and its mean loss */
        g_string_append_printf (out, _("; epoch %u: loss %.4f"), i + 1, loss);
    }
  if (self->step_x->len > 0)
    {
      double x = g_array_index (self->step_x, double, self->step_x->len - 1);
      double loss = g_array_index (self->step_loss, double, self->step_loss->len - 1);

      if (x > done + 1e-9)
        /* translators: the running mean loss of the epoch under way */
        g_string_append_printf (out, _("; epoch %u so far: loss %.4f"), done + 1, loss);
    }
  _lathe_chart_set_description (GTK_WIDGET (self), &self->description, g_steal_pointer (&out));
}

static void
changed (LatheTrainingChart *self)
{
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
lathe_training_chart_finalize (GObject *object)
{
  LatheTrainingChart *self = LATHE_TRAINING_CHART (object);

  g_clear_pointer (&self->epoch_loss, g_array_unref);
  g_clear_pointer (&self->epoch_accuracy, g_array_unref);
  g_clear_pointer (&self->step_x, g_array_unref);
  g_clear_pointer (&self->step_loss, g_array_unref);
  g_clear_pointer (&self->description, g_free);
  G_OBJECT_CLASS (lathe_training_chart_parent_class)->finalize (object);
}

static void
lathe_training_chart_class_init (LatheTrainingChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lathe_training_chart_finalize;
  widget_class->snapshot = lathe_training_chart_snapshot;
  widget_class->measure = lathe_training_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "trainingchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lathe_training_chart_init (LatheTrainingChart *self)
{
  self->epoch_loss = g_array_new (FALSE, FALSE, sizeof (double));
  self->epoch_accuracy = g_array_new (FALSE, FALSE, sizeof (double));
  self->step_x = g_array_new (FALSE, FALSE, sizeof (double));
  self->step_loss = g_array_new (FALSE, FALSE, sizeof (double));
  self->untrained_accuracy = NAN;
  _lathe_chart_style_watch (GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Training loss and accuracy per epoch"), -1);
  update_description (self);
}

LatheTrainingChart *
lathe_training_chart_new (void)
{
  return g_object_new (LATHE_TYPE_TRAINING_CHART, NULL);
}

void
lathe_training_chart_reset (LatheTrainingChart *self,
                            guint               epochs)
{
  g_return_if_fail (LATHE_IS_TRAINING_CHART (self));

  self->epochs = epochs;
  g_array_set_size (self->epoch_loss, 0);
  g_array_set_size (self->epoch_accuracy, 0);
  g_array_set_size (self->step_x, 0);
  g_array_set_size (self->step_loss, 0);
  self->untrained_accuracy = NAN;
  changed (self);
}

void
lathe_training_chart_add_step (LatheTrainingChart       *self,
                               const LatheTrainProgress *p)
{
  double x;

  g_return_if_fail (LATHE_IS_TRAINING_CHART (self));
  g_return_if_fail (p != NULL && p->epoch >= 1 && p->steps_per_epoch >= 1);

  self->epochs = MAX (self->epochs, p->epochs);
  x = (p->epoch - 1) + (double) p->step / p->steps_per_epoch;
  /* coalesced steps arrive in order; an epoch's end repeats its last step */
  if (self->step_x->len == 0 || x > g_array_index (self->step_x, double, self->step_x->len - 1))
    {
      g_array_append_val (self->step_x, x);
      g_array_append_val (self->step_loss, p->loss);
    }
  if (p->epoch_end)
    {
      double nan = NAN;
      while (self->epoch_loss->len < p->epoch)
        {
          g_array_append_val (self->epoch_loss, nan);
          g_array_append_val (self->epoch_accuracy, nan);
        }
      g_array_index (self->epoch_loss, double, p->epoch - 1) = p->loss;
      g_array_index (self->epoch_accuracy, double, p->epoch - 1) = p->accuracy;
    }
  changed (self);
}

void
lathe_training_chart_set_result (LatheTrainingChart *self,
                                 GArray             *epoch_loss,
                                 GArray             *epoch_accuracy,
                                 double              untrained_accuracy)
{
  guint n;

  g_return_if_fail (LATHE_IS_TRAINING_CHART (self));

  n = epoch_loss ? epoch_loss->len : 0;
  g_array_set_size (self->epoch_loss, 0);
  g_array_set_size (self->epoch_accuracy, 0);
  for (guint i = 0; i < n; i++)
    {
      double acc = epoch_accuracy && i < epoch_accuracy->len ? g_array_index (epoch_accuracy, double, i) : NAN;
      g_array_append_val (self->epoch_loss, g_array_index (epoch_loss, double, i));
      g_array_append_val (self->epoch_accuracy, acc);
    }
  self->epochs = MAX (self->epochs, n);
  self->untrained_accuracy = untrained_accuracy;
  changed (self);
}

guint
lathe_training_chart_get_n_epochs_done (LatheTrainingChart *self)
{
  g_return_val_if_fail (LATHE_IS_TRAINING_CHART (self), 0);
  return self->epoch_loss->len;
}

const char *
lathe_training_chart_get_description (LatheTrainingChart *self)
{
  g_return_val_if_fail (LATHE_IS_TRAINING_CHART (self), NULL);
  return self->description;
}

gboolean
lathe_training_chart_save (LatheTrainingChart  *self,
                           GFile               *file,
                           LatheChartFormat     format,
                           GError             **error)
{
  g_return_val_if_fail (LATHE_IS_TRAINING_CHART (self), FALSE);
  return _lathe_chart_save (GTK_WIDGET (self), file, format, SAVE_WIDTH, SAVE_HEIGHT, draw, error);
}
