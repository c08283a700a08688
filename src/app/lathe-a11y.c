/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include "lathe-a11y.h"

static void
button_label_changed_cb (GtkButton  *button,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  /* GtkButton has just set the raw label again; the child label keeps
   * naming the button (without the underscore) */
  if (gtk_button_get_use_underline (button) && gtk_button_get_label (button) != NULL)
    gtk_accessible_reset_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL);
}

void
lathe_a11y_name_buttons_by_label (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root) && !g_object_get_data (G_OBJECT (root), "lathe-a11y-named"))
    {
      g_object_set_data (G_OBJECT (root), "lathe-a11y-named", GINT_TO_POINTER (TRUE));
      g_signal_connect (root, "notify::label", G_CALLBACK (button_label_changed_cb), NULL);
      g_signal_connect (root, "notify::use-underline", G_CALLBACK (button_label_changed_cb), NULL);
      button_label_changed_cb (GTK_BUTTON (root), NULL, NULL);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    lathe_a11y_name_buttons_by_label (child);
}
