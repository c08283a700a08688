/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* GTK 4.8 names a widget by joining its accessible label with the names of
 * the widgets it is labelled by (later GTKs take labelled-by alone). A
 * button with a mnemonic has both: the raw label GtkButton sets as its
 * accessible label and the child label showing it, so a screen reader
 * says "_Open Open"; a button given a name of its own says "Cancel
 * Training Cancel". These keep one of the two, now and whenever the
 * button's label changes. */

/* Every button with a mnemonic below `root` is named by the text it shows,
 * except those named with lathe_a11y_name_button(). Name buttons that way,
 * not with an accessible label in the .ui, which this would drop. */
void lathe_a11y_name_buttons_by_label (GtkWidget  *root);

/* `button` is named `name` alone ("Cancel Training" for a "_Cancel"). */
void lathe_a11y_name_button           (GtkButton  *button,
                                       const char *name);

G_END_DECLS
