/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>
/* PRIu64, not G_GUINT64_FORMAT, inside _(): xgettext and gettext know the
 * <inttypes.h> macros, a G_GUINT64_FORMAT cuts the msgid short. */
#include <inttypes.h>
#include <math.h>

#include "lathe-chart-style-private.h"
#include "lathe-histogram-chart.h"

struct _LatheHistogramChart {
  GtkWidget           parent_instance;

  LatheWeightSummary *summary;
  LatheChartHover     hover;      /* hits: a LatheChartRect per bin */
  char               *description;
};

G_DEFINE_FINAL_TYPE (LatheHistogramChart, lathe_histogram_chart, GTK_TYPE_WIDGET)

static void
paint (GtkWidget               *widget,
       cairo_t                 *cr,
       int                      width,
       int                      height,
       const LatheChartPalette *palette,
       gboolean                 live)
{
  LatheHistogramChart *self = LATHE_HISTOGRAM_CHART (widget);

  lathe_chart_draw_histogram (cr, width, height, palette, self->summary,
                              live ? self->hover.hover : -1, NULL, live ? self->hover.hits : NULL);
}

static void
lathe_histogram_chart_snapshot (GtkWidget   *widget,
                                GtkSnapshot *snapshot)
{
  _lathe_chart_snapshot (widget, snapshot, paint);
}

static void
lathe_histogram_chart_measure (GtkWidget      *widget,
                               GtkOrientation  orientation,
                               int             for_size,
                               int            *minimum,
                               int            *natural,
                               int            *minimum_baseline,
                               int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 260 : 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 520 : 260;
}

static void
update_description (LatheHistogramChart *self)
{
  const LatheWeightSummary *s = self->summary;
  g_autoptr(GString) out = g_string_new (NULL);

  if (s == NULL)
    g_string_append (out, _("No layer selected"));
  else
    {
      guint64 n = (guint64) s->rows * s->cols;
      g_autofree char *legend = lathe_chart_histogram_legend (s);

      /* translators: a layer's name, its number of weights, their smallest and largest value */
      g_string_append_printf (out, _("Layer %s: %" PRIu64 " weights from %.3g to %.3g"),
                              s->layer, n, s->lo, s->hi);
      g_string_append (out, "; ");
      g_string_append (out, legend);
      if (s->n_levels > 0)
        {
          g_string_append (out, "; ");
          g_string_append_printf (out, _("clipping range %.3g to %.3g"), s->clip_lo, s->clip_hi);
          g_string_append (out, "; ");
          g_string_append (out, _("levels:"));
          for (guint l = 0; l < s->n_levels && l < 16; l++)
            g_string_append_printf (out, "%s%.3g", l ? ", " : " ", s->levels[l]);
          if (s->n_levels > 16)
            g_string_append (out, ", …");
        }
      if (s->n_pruned > 0)
        {
          g_string_append (out, "; ");
          g_string_append_printf (out, ngettext ("%" PRIu64 " weight pruned",
                                                 "%" PRIu64 " weights pruned", s->n_pruned),
                                  s->n_pruned);
        }
    }
  _lathe_chart_set_description (GTK_WIDGET (self), &self->description, g_steal_pointer (&out));
}

static gboolean
query_tooltip (GtkWidget  *widget,
               int         x,
               int         y,
               gboolean    keyboard,
               GtkTooltip *tooltip,
               gpointer    data)
{
  LatheHistogramChart *self = LATHE_HISTOGRAM_CHART (widget);
  const LatheWeightSummary *s = self->summary;
  int b = _lathe_chart_hit (self->hover.hits, x, y);
  g_autofree char *text = NULL;
  double w0, w1;

  if (s == NULL || b < 0 || (guint) b >= s->n_bins)
    return FALSE;
  w0 = s->lo + (s->hi - s->lo) * b / s->n_bins;
  w1 = s->lo + (s->hi - s->lo) * (b + 1) / s->n_bins;
  /* translators: a histogram bar: its range of weight values and how many weights fall in it */
  text = g_strdup_printf (ngettext ("%.4g to %.4g: %" PRIu64 " weight",
                                    "%.4g to %.4g: %" PRIu64 " weights", s->counts[b]),
                          w0, w1, s->counts[b]);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
lathe_histogram_chart_finalize (GObject *object)
{
  LatheHistogramChart *self = LATHE_HISTOGRAM_CHART (object);

  g_clear_pointer (&self->summary, lathe_weight_summary_free);
  _lathe_chart_hover_clear (&self->hover);
  g_clear_pointer (&self->description, g_free);
  G_OBJECT_CLASS (lathe_histogram_chart_parent_class)->finalize (object);
}

static void
lathe_histogram_chart_class_init (LatheHistogramChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lathe_histogram_chart_finalize;
  widget_class->snapshot = lathe_histogram_chart_snapshot;
  widget_class->measure = lathe_histogram_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "histogramchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lathe_histogram_chart_init (LatheHistogramChart *self)
{
  _lathe_chart_init (GTK_WIDGET (self), &self->hover, NULL, G_CALLBACK (query_tooltip));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Weights of the selected layer"), -1);
  update_description (self);
}

LatheHistogramChart *
lathe_histogram_chart_new (void)
{
  return g_object_new (LATHE_TYPE_HISTOGRAM_CHART, NULL);
}

void
lathe_histogram_chart_set_summary (LatheHistogramChart *self,
                                   LatheWeightSummary  *summary)
{
  g_return_if_fail (LATHE_IS_HISTOGRAM_CHART (self));

  if (self->summary != summary)
    g_clear_pointer (&self->summary, lathe_weight_summary_free);
  self->summary = summary;
  _lathe_chart_hover_reset (&self->hover);
  update_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const LatheWeightSummary *
lathe_histogram_chart_get_summary (LatheHistogramChart *self)
{
  g_return_val_if_fail (LATHE_IS_HISTOGRAM_CHART (self), NULL);
  return self->summary;
}

const char *
lathe_histogram_chart_get_description (LatheHistogramChart *self)
{
  g_return_val_if_fail (LATHE_IS_HISTOGRAM_CHART (self), NULL);
  return self->description;
}

gboolean
lathe_histogram_chart_save (LatheHistogramChart  *self,
                            GFile                *file,
                            LatheChartFormat      format,
                            GError              **error)
{
  g_return_val_if_fail (LATHE_IS_HISTOGRAM_CHART (self), FALSE);
  return _lathe_chart_save (GTK_WIDGET (self), file, format, 640, 320, paint, error);
}
