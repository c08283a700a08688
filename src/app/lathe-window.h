/* SPDX-License-Identifier: MIT */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LATHE_TYPE_WINDOW (lathe_window_get_type ())
G_DECLARE_FINAL_TYPE (LatheWindow, lathe_window, LATHE, WINDOW, AdwApplicationWindow)

/* The explorer: an empty state that offers to open a model or the sample;
 * with a model open, the scoreboard, the global sliders and the layer
 * table. Actions: win.open (a file chooser), win.open-sample,
 * win.dismiss-error. */
LatheWindow *lathe_window_new            (GtkApplication *application);
/* Loads the model, Fashion-MNIST and the baseline off the main thread;
 * the model replaces the open one when it has loaded. */
void         lathe_window_open           (LatheWindow    *self,
                                          GFile          *file);
/* The open model's file, or NULL. */
GFile       *lathe_window_get_file       (LatheWindow    *self);
/* TRUE while a plan's figures are still to come. */
gboolean     lathe_window_get_evaluating (LatheWindow    *self);

G_END_DECLS
