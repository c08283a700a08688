/* SPDX-License-Identifier: MIT */
#pragma once

/* What the in-process window tests share: waiting for the worker while the
 * main loop runs and finding layers by name; what needs no LatheWindow
 * (draining, scales by accessible name, PNGs) is in app-test-display.h. */

#include <string.h>

#include <adwaita.h>

#include "app-test-display.h"
#include "lathe-layer-item.h"
#include "lathe-layer-table-private.h"
#include "lathe-window-private.h"

typedef gboolean (*Condition) (LatheWindow *window);

typedef struct {
  LatheWindow *window;
  Condition    done;
} WindowWait;

static gboolean
window_wait_done (gpointer data)
{
  WindowWait *w = data;
  return w->done (w->window);
}

/* Iterates the main context until `done` holds or the time is up. */
G_GNUC_UNUSED static gboolean
wait_until (LatheWindow *window,
            Condition    done)
{
  return wait_for (window_wait_done, &(WindowWait) { window, done });
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
  finalize_when_released (window);
}

G_GNUC_UNUSED static const char *
label_text (GtkLabel *label)
{
  return gtk_label_get_text (label);
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
