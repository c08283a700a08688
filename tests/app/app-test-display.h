/* SPDX-License-Identifier: MIT */
#pragma once

/* What the GUI tests and the app benchmark share that needs a display but
 * not a LatheWindow: running the main loop until something holds, finding
 * a slider by its accessible name, and rendering a widget to PNG. */

#include <adwaita.h>

#ifndef WAIT_SECONDS
#define WAIT_SECONDS 120
#endif

/* Wakes g_main_context_iteration() up now and then, so a wait looks at the
 * clock and its condition even when nothing else happens. */
G_GNUC_UNUSED static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs what is pending without blocking. */
G_GNUC_UNUSED static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

/* Finalizes `object`, which the test holds the last reference of — after
 * worker threads have let go: a GTask run in a thread drops its source
 * object a moment after its callback ran on the main context. */
G_GNUC_UNUSED static void
finalize_when_released (gpointer object)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (G_OBJECT (object)->ref_count > 1 && g_get_monotonic_time () < end)
    {
      g_usleep (1000);
      drain ();
    }
  g_assert_finalize_object (object);
}

/* Iterates the main context until `done (data)` holds or WAIT_SECONDS have
 * passed; returns whether it holds. */
G_GNUC_UNUSED static gboolean
wait_for (gboolean (*done) (gpointer data),
          gpointer   data)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  guint wake = g_timeout_add (20, wake_cb, NULL);
  gboolean ok;

  while (!(ok = done (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  return ok;
}

/* The GtkScale below `root` whose accessible name is `name` (the AT
 * context's properties, whichever backend). */
G_GNUC_UNUSED static GtkWidget *
find_scale (GtkWidget  *root,
            const char *name)
{
  if (GTK_IS_SCALE (root))
    {
      g_autofree char *mismatch =
        gtk_test_accessible_check_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL, name);
      if (mismatch == NULL)
        return root;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_scale (child, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* Renders `widget` as it is on screen into `name` in the build directory. */
G_GNUC_UNUSED static void
save_png (GtkWidget  *widget,
          const char *name)
{
  GdkPaintable *paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_BUILT, name, NULL);

  g_test_message ("%s: %d×%d, mapped %d", name, width, height, gtk_widget_get_mapped (widget));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("rendered to %s", path);
  g_object_unref (paintable);
}

/* gtk_test_init() and libadwaita, with animations off (screenshots show
 * the end state of a change, not a crossfade) and the app's style sheet,
 * which LatheApplication would load. */
G_GNUC_UNUSED static void
app_test_init (int    *argc,
               char ***argv)
{
  g_autoptr(GtkCssProvider) css = NULL;

  gtk_test_init (argc, argv, NULL);
  adw_init ();
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/io/github/lathe/Lathe/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}
