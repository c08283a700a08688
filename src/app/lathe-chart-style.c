/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <adwaita.h>

#include "lathe-chart-style-private.h"

void
_lathe_chart_style_init (GtkWidget         *widget,
                         LatheChartPalette *palette)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  const PangoFontDescription *font;

  lathe_chart_palette_init (palette, adw_style_manager_get_dark (style),
                            adw_style_manager_get_high_contrast (style));
  /* Labels in the widget's own font, as the rest of the window. */
  font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  if (font != NULL)
    {
      PangoFontDescription *small = pango_font_description_copy (font);
      int size = pango_font_description_get_size (small);

      /* A chart's labels are captions: smaller than the text around it, as
       * GTK's .caption is. Cairo lays them out at 96 dpi, as GTK does. */
      if (size > 0)
        pango_font_description_set_size (small, size * 4 / 5);
      palette->font = pango_font_description_to_string (small);
      pango_font_description_free (small);
    }
}

static void
style_changed (GtkWidget *widget)
{
  gtk_widget_queue_draw (widget);
}

void
_lathe_chart_style_watch (GtkWidget *widget)
{
  AdwStyleManager *style = adw_style_manager_get_default ();

  g_signal_connect_object (style, "notify::dark", G_CALLBACK (style_changed), widget, G_CONNECT_SWAPPED);
  g_signal_connect_object (style, "notify::high-contrast", G_CALLBACK (style_changed), widget, G_CONNECT_SWAPPED);
}

typedef struct {
  GtkWidget           *widget;
  LatheChartPaintFunc  paint;
  gboolean             live;
} Painting;

static void
paint_cb (cairo_t  *cr,
          int       width,
          int       height,
          gpointer  user_data)
{
  const Painting *p = user_data;
  g_auto(LatheChartPalette) palette = { 0 };

  _lathe_chart_style_init (p->widget, &palette);
  p->paint (p->widget, cr, width, height, &palette, p->live);
}

void
_lathe_chart_snapshot (GtkWidget           *widget,
                       GtkSnapshot         *snapshot,
                       LatheChartPaintFunc  paint)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  paint_cb (cr, width, height, &(Painting) { widget, paint, TRUE });
  cairo_destroy (cr);
}

gboolean
_lathe_chart_save (GtkWidget           *widget,
                   GFile               *file,
                   LatheChartFormat     format,
                   int                  width,
                   int                  height,
                   LatheChartPaintFunc  paint,
                   GError             **error)
{
  if (gtk_widget_get_width (widget) > 0 && gtk_widget_get_height (widget) > 0)
    {
      width = gtk_widget_get_width (widget);
      height = gtk_widget_get_height (widget);
    }
  return lathe_chart_save (file, format, width, height, paint_cb, &(Painting) { widget, paint, FALSE }, error);
}

static void
hover_set (GtkEventController *controller,
           LatheChartHover    *hover,
           int                 index)
{
  if (index != hover->hover)
    {
      hover->hover = index;
      gtk_widget_queue_draw (gtk_event_controller_get_widget (controller));
    }
}

static void
motion (GtkEventControllerMotion *controller,
        double                    x,
        double                    y,
        LatheChartHover          *hover)
{
  hover_set (GTK_EVENT_CONTROLLER (controller), hover, hover->hit (hover->hits, x, y));
}

static void
leave (GtkEventControllerMotion *controller,
       LatheChartHover          *hover)
{
  hover_set (GTK_EVENT_CONTROLLER (controller), hover, -1);
}

void
_lathe_chart_init (GtkWidget         *widget,
                   LatheChartHover   *hover,
                   LatheChartHitFunc  hit,
                   GCallback          query_tooltip)
{
  GtkEventController *motion_controller = gtk_event_controller_motion_new ();

  hover->hits = g_array_new (FALSE, FALSE, sizeof (LatheChartRect));
  hover->hover = -1;
  hover->hit = hit != NULL ? hit : _lathe_chart_hit;
  gtk_widget_set_has_tooltip (widget, TRUE);
  g_signal_connect (widget, "query-tooltip", query_tooltip, NULL);
  /* `hover` lives inside the widget, which outlives its controllers. */
  g_signal_connect (motion_controller, "motion", G_CALLBACK (motion), hover);
  g_signal_connect (motion_controller, "leave", G_CALLBACK (leave), hover);
  gtk_widget_add_controller (widget, motion_controller);
  _lathe_chart_style_watch (widget);
}

void
_lathe_chart_hover_reset (LatheChartHover *hover)
{
  hover->hover = -1;
  g_array_set_size (hover->hits, 0);
}

void
_lathe_chart_hover_clear (LatheChartHover *hover)
{
  g_clear_pointer (&hover->hits, g_array_unref);
}

void
_lathe_chart_set_description (GtkWidget  *widget,
                              char      **description,
                              GString    *out)
{
  g_free (*description);
  *description = g_string_free (out, FALSE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, *description, -1);
}

int
_lathe_chart_hit (GArray *hits,
                  double  x,
                  double  y)
{
  for (guint i = 0; i < hits->len; i++)
    {
      const LatheChartRect *r = &g_array_index (hits, LatheChartRect, i);
      if (x >= r->x && x < r->x + r->width && y >= r->y && y < r->y + r->height)
        return (int) i;
    }
  return -1;
}
