/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-chart-style-private.h"
#include "lathe-size-chart.h"

struct _LatheSizeChart {
  GtkWidget  parent_instance;

  GArray    *bars;          /* LatheSizeBar, names owned */
  LatheChartHover hover;    /* hits: a LatheChartRect per row */
  char      *description;
};

G_DEFINE_FINAL_TYPE (LatheSizeChart, lathe_size_chart, GTK_TYPE_WIDGET)

static void
bar_clear (gpointer data)
{
  LatheSizeBar *bar = data;
  g_clear_pointer (&bar->name, g_free);
}

static void
paint (GtkWidget               *widget,
       cairo_t                 *cr,
       int                      width,
       int                      height,
       const LatheChartPalette *palette,
       gboolean                 live)
{
  LatheSizeChart *self = LATHE_SIZE_CHART (widget);

  lathe_chart_draw_size_bars (cr, width, height, palette, (const LatheSizeBar *) self->bars->data,
                              self->bars->len, live ? self->hover.hover : -1, NULL,
                              live ? self->hover.hits : NULL);
}

static void
lathe_size_chart_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  _lathe_chart_snapshot (widget, snapshot, paint);
}

static void
lathe_size_chart_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  LatheSizeChart *self = LATHE_SIZE_CHART (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = 300, *natural = 520;
  else
    *minimum = *natural = lathe_chart_size_bars_height (self->bars->len);
}

static void
update_description (LatheSizeChart *self)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint64 before = 0, after = 0;
  guint n = self->bars->len;

  g_string_append_printf (out, ngettext ("%u layer", "%u layers", n), n);
  for (guint i = 0; i < n; i++)
    {
      const LatheSizeBar *bar = &g_array_index (self->bars, LatheSizeBar, i);
      g_autofree char *change = lathe_format_size_change (bar->original, bar->compressed);
      /* translators: a layer's name and its size change */
      g_string_append_printf (out, _("; %s: %s"), bar->name, change);
      before += bar->original;
      after += bar->compressed;
    }
  if (n > 0)
    {
      g_autofree char *change = lathe_format_size_change (before, after);
      g_autofree char *ratio = lathe_format_size_ratio (before, after);
      g_string_append (out, "; ");
      /* translators: the layers' sizes added up, then how many times smaller */
      g_string_append_printf (out, _("total: %s (%s)"), change, ratio);
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
  LatheSizeChart *self = LATHE_SIZE_CHART (widget);
  int i = _lathe_chart_hit (self->hover.hits, x, y);
  const LatheSizeBar *bar;
  g_autofree char *change = NULL, *ratio = NULL, *text = NULL;

  if (i < 0 || (guint) i >= self->bars->len)
    return FALSE;
  bar = &g_array_index (self->bars, LatheSizeBar, i);
  change = lathe_format_size_change (bar->original, bar->compressed);
  ratio = lathe_format_size_ratio (bar->original, bar->compressed);
  /* translators: a layer's name, its size change, and how many times smaller */
  text = g_strdup_printf (_("%s: %s, %s"), bar->name, change, ratio);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
lathe_size_chart_finalize (GObject *object)
{
  LatheSizeChart *self = LATHE_SIZE_CHART (object);

  g_clear_pointer (&self->bars, g_array_unref);
  _lathe_chart_hover_clear (&self->hover);
  g_clear_pointer (&self->description, g_free);
  G_OBJECT_CLASS (lathe_size_chart_parent_class)->finalize (object);
}

static void
lathe_size_chart_class_init (LatheSizeChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lathe_size_chart_finalize;
  widget_class->snapshot = lathe_size_chart_snapshot;
  widget_class->measure = lathe_size_chart_measure;
  gtk_widget_class_set_css_name (widget_class, "sizechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lathe_size_chart_init (LatheSizeChart *self)
{
  self->bars = g_array_new (FALSE, TRUE, sizeof (LatheSizeBar));
  g_array_set_clear_func (self->bars, bar_clear);
  _lathe_chart_init (GTK_WIDGET (self), &self->hover, NULL, G_CALLBACK (query_tooltip));

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Size of each layer, original and compressed"), -1);
  update_description (self);
}

LatheSizeChart *
lathe_size_chart_new (void)
{
  return g_object_new (LATHE_TYPE_SIZE_CHART, NULL);
}

void
lathe_size_chart_set_bars (LatheSizeChart     *self,
                           const LatheSizeBar *bars,
                           guint               n_bars)
{
  g_return_if_fail (LATHE_IS_SIZE_CHART (self));
  g_return_if_fail (bars != NULL || n_bars == 0);

  g_array_set_size (self->bars, 0);
  for (guint i = 0; i < n_bars; i++)
    {
      LatheSizeBar bar = { g_strdup (bars[i].name), bars[i].original, bars[i].compressed };
      g_array_append_val (self->bars, bar);
    }
  _lathe_chart_hover_reset (&self->hover);
  update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
lathe_size_chart_set_applied (LatheSizeChart     *self,
                              const LatheApplied *applied)
{
  g_autoptr(GArray) bars = g_array_new (FALSE, FALSE, sizeof (LatheSizeBar));

  g_return_if_fail (LATHE_IS_SIZE_CHART (self));

  for (guint i = 0; applied != NULL && i < applied->results->len; i++)
    {
      const LatheLayerResult *r = g_ptr_array_index (applied->results, i);
      LatheSizeBar bar = { r->name, r->original_bytes, r->packed_bytes };
      g_array_append_val (bars, bar);
    }
  lathe_size_chart_set_bars (self, (const LatheSizeBar *) bars->data, bars->len);
}

guint
lathe_size_chart_get_n_bars (LatheSizeChart *self)
{
  g_return_val_if_fail (LATHE_IS_SIZE_CHART (self), 0);
  return self->bars->len;
}

const char *
lathe_size_chart_get_description (LatheSizeChart *self)
{
  g_return_val_if_fail (LATHE_IS_SIZE_CHART (self), NULL);
  return self->description;
}

gboolean
lathe_size_chart_save (LatheSizeChart    *self,
                       GFile             *file,
                       LatheChartFormat   format,
                       GError           **error)
{
  g_return_val_if_fail (LATHE_IS_SIZE_CHART (self), FALSE);
  return _lathe_chart_save (GTK_WIDGET (self), file, format, 640,
                            lathe_chart_size_bars_height (self->bars->len), paint, error);
}
