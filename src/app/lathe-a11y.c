/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include "lathe-a11y.h"

/* On a button this file looks after: its own name, or "" for its label. */
#define BUTTON_NAME "lathe-a11y-name"

static void
apply_name (GtkButton *button)
{
  const char *name = g_object_get_data (G_OBJECT (button), BUTTON_NAME);

  if (name != NULL && *name != '\0')
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
      gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
    }
  else if (gtk_button_get_use_underline (button) && gtk_button_get_label (button) != NULL)
    /* the child label (labelled-by) names it, without the underscore */
    gtk_accessible_reset_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL);
}

/* GtkButton sets its accessible label and relation again before it
 * notifies a new label. */
static void
button_label_changed_cb (GtkButton  *button,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  apply_name (button);
}

static void
look_after (GtkButton  *button,
            const char *name)
{
  if (g_object_get_data (G_OBJECT (button), BUTTON_NAME) == NULL)
    {
      g_signal_connect (button, "notify::label", G_CALLBACK (button_label_changed_cb), NULL);
      g_signal_connect (button, "notify::use-underline", G_CALLBACK (button_label_changed_cb), NULL);
    }
  g_object_set_data_full (G_OBJECT (button), BUTTON_NAME, g_strdup (name), g_free);
  apply_name (button);
}

void
lathe_a11y_name_buttons_by_label (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root) && g_object_get_data (G_OBJECT (root), BUTTON_NAME) == NULL)
    look_after (GTK_BUTTON (root), "");
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL; child = gtk_widget_get_next_sibling (child))
    lathe_a11y_name_buttons_by_label (child);
}

void
lathe_a11y_name_button (GtkButton  *button,
                        const char *name)
{
  g_return_if_fail (GTK_IS_BUTTON (button));
  g_return_if_fail (name != NULL && *name != '\0');

  look_after (button, name);
}
