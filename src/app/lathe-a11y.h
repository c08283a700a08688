/* SPDX-License-Identifier: MIT */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* GTK 4.8 names a widget by joining its accessible label with the names of
 * the widgets it is labelled by, and a button with a mnemonic has both: the
 * raw label GtkButton sets as its accessible label and the child label
 * (labelled-by) showing it, so a screen reader says "_Open Open". Later
 * GTKs prefer labelled-by alone. This drops the accessible label of every
 * such button below `root`, now and whenever its label changes, so each is
 * named once by the text it shows. Call it before setting deliberate
 * accessible labels on buttons below `root`. */
void lathe_a11y_name_buttons_by_label (GtkWidget *root);

G_END_DECLS
