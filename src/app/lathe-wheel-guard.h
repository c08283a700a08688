/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A mouse wheel over `range` scrolls the scrolled window around it, as in
 * GNOME Settings' lists of sliders, so that scrolling a list never changes
 * a value the pointer happens to cross. Once the range has keyboard focus
 * (the user clicked it or tabbed to it) the wheel moves it as usual. */
void lathe_wheel_guard_attach (GtkWidget *range);

G_END_DECLS
