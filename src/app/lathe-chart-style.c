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

void
_lathe_chart_snapshot (GtkWidget          *widget,
                       GtkSnapshot        *snapshot,
                       LatheChartDrawFunc  draw)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (cr, width, height, widget);
  cairo_destroy (cr);
}

gboolean
_lathe_chart_save (GtkWidget          *widget,
                   GFile              *file,
                   LatheChartFormat    format,
                   int                 width,
                   int                 height,
                   LatheChartDrawFunc  draw,
                   GError            **error)
{
  if (gtk_widget_get_width (widget) > 0 && gtk_widget_get_height (widget) > 0)
    {
      width = gtk_widget_get_width (widget);
      height = gtk_widget_get_height (widget);
    }
  return lathe_chart_save (file, format, width, height, draw, widget, error);
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
