/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading chart renders back: pixels of an image surface, colours as the
 * palette paints them, and the renders written out for a person to look at
 * under LATHE_TEST_CHART_DIR. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "lathe-chart-draw.h"

typedef struct { int r, g, b; } Pixel;

G_GNUC_UNUSED static Pixel
pixel (cairo_surface_t *surface,
       int              x,
       int              y)
{
  const guint8 *data;
  guint32 v;

  cairo_surface_flush (surface);
  g_assert_cmpint (x, >=, 0);
  g_assert_cmpint (y, >=, 0);
  g_assert_cmpint (x, <, cairo_image_surface_get_width (surface));
  g_assert_cmpint (y, <, cairo_image_surface_get_height (surface));
  data = cairo_image_surface_get_data (surface);
  v = *(const guint32 *) (data + y * cairo_image_surface_get_stride (surface) + x * 4);
  return (Pixel) { (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
}

/* A colour painted over the palette's background. */
G_GNUC_UNUSED static Pixel
over (const LatheChartColor *c,
      const LatheChartColor *bg)
{
  return (Pixel) {
    (int) lround (255 * (c->red * c->alpha + bg->red * (1 - c->alpha))),
    (int) lround (255 * (c->green * c->alpha + bg->green * (1 - c->alpha))),
    (int) lround (255 * (c->blue * c->alpha + bg->blue * (1 - c->alpha))),
  };
}

G_GNUC_UNUSED static gboolean
near (Pixel a,
      Pixel b,
      int   tol)
{
  return abs (a.r - b.r) <= tol && abs (a.g - b.g) <= tol && abs (a.b - b.b) <= tol;
}

G_GNUC_UNUSED static double
luminance (Pixel p)
{
  return (0.2126 * p.r + 0.7152 * p.g + 0.0722 * p.b) / 255.0;
}

G_GNUC_UNUSED static void
maybe_write (cairo_surface_t *surface,
             const char      *name)
{
  const char *dir = g_getenv ("LATHE_TEST_CHART_DIR");
  g_autofree char *path = NULL;

  if (dir == NULL || name == NULL)
    return;
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, name, NULL);
  g_assert_cmpint (cairo_surface_write_to_png (surface, path), ==, CAIRO_STATUS_SUCCESS);
}

/* A chart saved as PNG or SVG: the file holds that format, whole. */
G_GNUC_UNUSED static void
assert_saved (GFile            *file,
              LatheChartFormat  format)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_load_contents (file, NULL, &data, &len, NULL, &error));
  g_assert_no_error (error);
  if (format == LATHE_CHART_FORMAT_PNG)
    {
      g_assert_cmpuint (len, >, 8);
      g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
    }
  else
    {
      g_assert_true (g_str_has_prefix (data, "<?xml"));
      g_assert_nonnull (strstr (data, "<svg"));
      g_assert_nonnull (strstr (data, "</svg>"));
    }
}
