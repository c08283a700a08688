/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-preferences"

/* The preferences window writes its GSettings keys as the controls change
 * and follows the keys when they change elsewhere (GSETTINGS_BACKEND=memory,
 * the schema compiled in the build tree); app.preferences and its
 * accelerator open it; the shortcuts window lists every shortcut with an
 * accelerator GTK can parse. Runs under Xvfb with GDK_DEBUG=gl-disable,
 * GSK_RENDERER=cairo and GTK_A11Y=test. */

#include <adwaita.h>

#include "lathe-application.h"
#include "lathe-preferences-window-private.h"
#include "lathe-settings.h"
#include "lathe-window.h"
#include "app-test-display.h"

static void
test_schema_found (void)
{
  g_autoptr(GSettings) settings = lathe_settings_new ();

  /* the test environment points GSETTINGS_SCHEMA_DIR at the build tree */
  g_assert_nonnull (g_getenv ("GSETTINGS_SCHEMA_DIR"));
  g_assert_nonnull (settings);
  g_assert_cmpuint (g_settings_get_uint (settings, "subset-size"), ==, 1000);
}

static void
test_bindings (void)
{
  LathePreferencesWindow *window = g_object_ref (lathe_preferences_window_new (NULL));
  g_autoptr(GSettings) other = lathe_settings_new ();
  GSettings *settings;
  GtkSpinButton *subset, *cache;
  AdwComboRow *granularity;
  GtkSwitch *auto_distil;

  gtk_window_present (GTK_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  settings = _lathe_preferences_window_get_settings (window);
  subset = _lathe_preferences_window_get_subset_spin (window);
  cache = _lathe_preferences_window_get_cache_spin (window);
  granularity = _lathe_preferences_window_get_granularity_row (window);
  auto_distil = _lathe_preferences_window_get_auto_distil_switch (window);
  g_assert_nonnull (settings);

  /* the controls start at the keys' values */
  g_assert_cmpfloat (gtk_spin_button_get_value (subset), ==, g_settings_get_uint (settings, "subset-size"));
  g_assert_cmpfloat (gtk_spin_button_get_value (cache), ==, g_settings_get_uint (settings, "cache-budget-mib"));
  g_assert_cmpuint (adw_combo_row_get_selected (granularity), ==, 1);   /* "channel" */
  g_assert_false (gtk_switch_get_active (auto_distil));                 /* off by default */

  /* control → key, seen through another GSettings of the same schema */
  gtk_spin_button_set_value (subset, 2500);
  drain ();
  g_assert_cmpuint (g_settings_get_uint (other, "subset-size"), ==, 2500);
  /* a step, as the + button does */
  gtk_spin_button_spin (cache, GTK_SPIN_STEP_FORWARD, 0);
  drain ();
  g_assert_cmpuint (g_settings_get_uint (other, "cache-budget-mib"), ==, 1024 + 64);
  adw_combo_row_set_selected (granularity, 4);
  drain ();
  g_assert_cmpstr (g_settings_get_string (other, "default-granularity"), ==, "group:64");
  gtk_switch_set_active (auto_distil, TRUE);
  drain ();
  g_assert_true (g_settings_get_boolean (other, "auto-distil"));

  /* key → control */
  g_settings_set_uint (other, "subset-size", 300);
  g_settings_set_string (other, "default-granularity", "tensor");
  g_settings_set_boolean (other, "auto-distil", FALSE);
  drain ();
  g_assert_false (gtk_switch_get_active (auto_distil));
  g_assert_cmpfloat (gtk_spin_button_get_value (subset), ==, 300);
  g_assert_cmpuint (adw_combo_row_get_selected (granularity), ==, 0);

  /* the range is the schema's: a spin button cannot leave it */
  gtk_spin_button_set_value (subset, 50);
  drain ();
  g_assert_cmpuint (g_settings_get_uint (other, "subset-size"), ==, 100);

  /* every control has an accessible name */
  gtk_test_accessible_assert_relation (GTK_ACCESSIBLE (subset), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                       gtk_widget_get_ancestor (GTK_WIDGET (subset), ADW_TYPE_ACTION_ROW), NULL);
  gtk_test_accessible_assert_relation (GTK_ACCESSIBLE (cache), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                       gtk_widget_get_ancestor (GTK_WIDGET (cache), ADW_TYPE_ACTION_ROW), NULL);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (granularity), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Default Granularity");
  gtk_test_accessible_assert_relation (GTK_ACCESSIBLE (auto_distil), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                       gtk_widget_get_ancestor (GTK_WIDGET (auto_distil), ADW_TYPE_ACTION_ROW), NULL);

  g_settings_reset (other, "subset-size");
  g_settings_reset (other, "cache-budget-mib");
  g_settings_reset (other, "default-granularity");
  g_settings_reset (other, "auto-distil");
  drain ();
  gtk_window_set_default_size (GTK_WINDOW (window), 560, 520);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  save_png (GTK_WIDGET (window), "preferences-window.png");

  gtk_window_destroy (GTK_WINDOW (window));
  drain ();
  g_assert_finalize_object (window);
}

static void
collect_shortcuts (GtkWidget  *widget,
                   GHashTable *found)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    {
      g_autofree char *accelerator = NULL;
      g_autofree char *title = NULL;
      g_object_get (widget, "accelerator", &accelerator, "title", &title, NULL);
      g_hash_table_insert (found, g_steal_pointer (&accelerator), g_steal_pointer (&title));
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    collect_shortcuts (child, found);
}

static void
test_shortcuts_window (void)
{
  static const char * const expected[] = {
    "<Control>o", "<Control><Shift>o", "<Control>s", "<Control>e", "<Control>z", "<Control><Shift>z",
    "<Control>r", "<Control>p", "<Control>comma", "<Control>question", "<Control>w", "<Control>q",
  };
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/io/github/lathe/Lathe/gtk/help-overlay.ui");
  GtkWidget *overlay = GTK_WIDGET (gtk_builder_get_object (builder, "help_overlay"));
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (overlay));
  collect_shortcuts (overlay, found);
  g_assert_cmpuint (g_hash_table_size (found), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      guint key = 0;
      GdkModifierType mods = 0;

      g_test_message ("%s: %s", expected[i], (char *) g_hash_table_lookup (found, expected[i]));
      g_assert_true (g_hash_table_contains (found, expected[i]));
      g_assert_true (gtk_accelerator_parse (expected[i], &key, &mods));
      g_assert_cmpuint (key, !=, 0);
    }
  gtk_window_present (GTK_WINDOW (overlay));
  gtk_test_widget_wait_for_draw (overlay);
  save_png (overlay, "shortcuts-window.png");
  gtk_window_destroy (GTK_WINDOW (overlay));
}

static void
test_application (void)
{
  g_autoptr(LatheApplication) app = lathe_application_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) accels = NULL;
  LatheWindow *window;
  GtkWindow *preferences = NULL;
  GList *windows;

  /* no session bus in the test: the app runs as a non-unique one */
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.preferences");
  g_assert_cmpuint (g_strv_length (accels), ==, 1);
  g_assert_cmpstr (accels[0], ==, "<Control>comma");

  /* GtkApplication found help-overlay.ui under the resource base path */
  window = lathe_window_new (GTK_APPLICATION (app));
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  gtk_window_present (GTK_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  drain ();
  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  for (GList *l = windows; l; l = l->next)
    if (LATHE_IS_PREFERENCES_WINDOW (l->data))
      preferences = l->data;
  if (preferences == NULL)
    {
      /* it is a toplevel even when not added to the application */
      GListModel *toplevels = gtk_window_get_toplevels ();
      for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
        {
          g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
          if (LATHE_IS_PREFERENCES_WINDOW (w))
            preferences = GTK_WINDOW (w);
        }
    }
  g_assert_nonnull (preferences);
  g_assert_true (gtk_window_get_transient_for (preferences) == GTK_WINDOW (window));
  g_assert_true (gtk_window_get_modal (preferences));

  gtk_window_destroy (preferences);
  gtk_window_destroy (GTK_WINDOW (window));
  drain ();
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  /* screenshots show the end state of a page change, not a crossfade */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/lathe/app/preferences/schema", test_schema_found);
  g_test_add_func ("/lathe/app/preferences/bindings", test_bindings);
  g_test_add_func ("/lathe/app/preferences/shortcuts-window", test_shortcuts_window);
  g_test_add_func ("/lathe/app/preferences/application", test_application);
  return g_test_run ();
}
