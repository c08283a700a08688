/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-a11y"

/* Buttons named once (lathe-a11y.c): GTK 4.8 joins a button's accessible
 * label and its labelled-by child, so a mnemonic button read "_Open Open".
 * Checked here on the accessible attributes (GTK_A11Y=test); the names a
 * screen reader gets over AT-SPI are checked by
 * tests/e2e/test_accessible_names.py. */

#include "lathe-a11y.h"

#include "app-test-util.h"

static gboolean
has_label (GtkWidget *w)
{
  return gtk_test_accessible_has_property (GTK_ACCESSIBLE (w), GTK_ACCESSIBLE_PROPERTY_LABEL);
}

static gboolean
has_labelled_by (GtkWidget *w)
{
  return gtk_test_accessible_has_relation (GTK_ACCESSIBLE (w), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
}

static void
test_by_label (void)
{
  GtkWidget *box = g_object_ref_sink (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  GtkWidget *mnemonic = gtk_button_new_with_mnemonic ("_Open");
  GtkWidget *plain = gtk_button_new_with_label ("Cancel");
  GtkWidget *icon = gtk_button_new_from_icon_name ("edit-copy-symbolic");

  gtk_box_append (GTK_BOX (box), mnemonic);
  gtk_box_append (GTK_BOX (box), plain);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "Copy", -1);
  /* what GTK 4.8 does: both, so the name is "_Open Open" */
  g_assert_true (has_label (mnemonic) && has_labelled_by (mnemonic));

  lathe_a11y_name_buttons_by_label (box);
  /* the child label alone names it */
  g_assert_false (has_label (mnemonic));
  g_assert_true (has_labelled_by (mnemonic));
  /* GtkButton sets the raw label again with a new label: dropped again */
  gtk_button_set_label (GTK_BUTTON (mnemonic), "_Close");
  g_assert_false (has_label (mnemonic));
  g_assert_true (has_labelled_by (mnemonic));
  /* no mnemonic: its label alone, untouched */
  gtk_test_accessible_assert_property (plain, GTK_ACCESSIBLE_PROPERTY_LABEL, "Cancel");
  g_assert_false (has_labelled_by (plain));
  gtk_test_accessible_assert_property (icon, GTK_ACCESSIBLE_PROPERTY_LABEL, "Copy");
  g_object_unref (box);
}

static void
test_named (void)
{
  GtkWidget *box = g_object_ref_sink (gtk_box_new (GTK_ORIENTATION_VERTICAL, 0));
  GtkWidget *button = gtk_button_new_with_mnemonic ("_Cancel");

  gtk_box_append (GTK_BOX (box), button);
  lathe_a11y_name_button (GTK_BUTTON (button), "Cancel Training");
  /* a walk afterwards leaves it its name */
  lathe_a11y_name_buttons_by_label (box);
  gtk_test_accessible_assert_property (button, GTK_ACCESSIBLE_PROPERTY_LABEL, "Cancel Training");
  g_assert_false (has_labelled_by (button));
  gtk_button_set_label (GTK_BUTTON (button), "_Stop");
  gtk_test_accessible_assert_property (button, GTK_ACCESSIBLE_PROPERTY_LABEL, "Cancel Training");
  g_assert_false (has_labelled_by (button));
  g_object_unref (box);
}

/* Every mnemonic button of the window is named once. */
static void
assert_named_once (GtkWidget *root,
                   guint     *n_mnemonic)
{
  if (GTK_IS_BUTTON (root) && gtk_button_get_use_underline (GTK_BUTTON (root)) &&
      gtk_button_get_label (GTK_BUTTON (root)) != NULL)
    {
      if (has_label (root) && has_labelled_by (root))
        g_error ("button %s is named twice", gtk_button_get_label (GTK_BUTTON (root)));
      (*n_mnemonic)++;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    assert_named_once (child, n_mnemonic);
}

static void
test_window (void)
{
  LatheWindow *window = window_new ();
  guint n_mnemonic = 0;

  assert_named_once (GTK_WIDGET (window), &n_mnemonic);
  g_assert_cmpuint (n_mnemonic, >=, 7);
  gtk_test_accessible_assert_property (window->cancel_training_button, GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Cancel Training");
  g_assert_false (has_labelled_by (GTK_WIDGET (window->cancel_training_button)));
  window_free (window);
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);

  g_test_add_func ("/lathe/app/a11y/by-label", test_by_label);
  g_test_add_func ("/lathe/app/a11y/named", test_named);
  g_test_add_func ("/lathe/app/a11y/window", test_window);
  return g_test_run ();
}
