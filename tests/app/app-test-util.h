/* SPDX-License-Identifier: MIT */
#pragma once

/* What the in-process window tests share: waiting for the worker while the
 * main loop runs, finding widgets as a person would (by accessible name),
 * and rendering a widget to PNG. */

#include <string.h>

#include <adwaita.h>

#include "lathe-layer-item.h"
#include "lathe-layer-table-private.h"
#include "lathe-window-private.h"

#define WAIT_SECONDS 120

typedef gboolean (*Condition) (LatheWindow *window);

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until `done` holds or the time is up. */
static gboolean
wait_until (LatheWindow *window,
            Condition    done)
{
  gint64 end = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  guint wake = g_timeout_add (20, wake_cb, NULL);
  gboolean ok;

  while (!(ok = done (window)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  return ok;
}

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

G_GNUC_UNUSED static gboolean
model_shown (LatheWindow *window)
{
  return g_strcmp0 (_lathe_window_get_page (window), "model") == 0 ||
         _lathe_window_get_error (window) != NULL;
}

G_GNUC_UNUSED static gboolean
measured (LatheWindow *window)
{
  LatheSessionResult *r = _lathe_window_get_result (window);

  return _lathe_window_get_error (window) != NULL ||
         (!lathe_window_get_evaluating (window) && r != NULL && r->stage == LATHE_STAGE_FULL &&
          r->generation == _lathe_window_get_generation (window));
}

G_GNUC_UNUSED static gboolean
error_shown (LatheWindow *window)
{
  return _lathe_window_get_error (window) != NULL &&
         g_strcmp0 (_lathe_window_get_page (window), "loading") != 0;
}

static LatheWindow *
window_new (void)
{
  LatheWindow *window = g_object_ref (lathe_window_new (NULL));

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  gtk_window_present (GTK_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  return window;
}

static void
window_free (LatheWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  drain ();
  g_assert_finalize_object (window);
}

G_GNUC_UNUSED static const char *
label_text (GtkLabel *label)
{
  return gtk_label_get_text (label);
}

/* The GtkScale in the layer table whose accessible name is `name`. */
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

G_GNUC_UNUSED static LatheLayerItem *
find_item (LatheWindow *window,
           const char  *name)
{
  GListModel *layers = lathe_layer_table_get_model (_lathe_window_get_layer_table (window));

  for (guint i = 0; layers != NULL && i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(LatheLayerItem) item = g_list_model_get_item (layers, i);
      if (g_str_equal (lathe_layer_item_get_name (item), name))
        return item;   /* the list keeps it alive */
    }
  return NULL;
}

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

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("window rendered to %s", path);
  g_object_unref (paintable);
}

