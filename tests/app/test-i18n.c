/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-i18n"

/* The German translation, in process: with LC_ALL=C.UTF-8 LANGUAGE=de and
 * the app's gettext setup, the empty window and the formatted figures read
 * in German. The .mo comes from the build tree's po/ (no install). Runs
 * under Xvfb like test-window. */

#include <glib/gi18n.h>
#include <inttypes.h>

#include <adwaita.h>

#include "lathe-app-format.h"
#include "lathe-application.h"
#include "lathe-window-private.h"
#include "plugin/lathe-plugin-registry.h"

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

/* The first widget under `root` of `type` for which `match` holds. */
static GtkWidget *
find_widget (GtkWidget *root,
             GType      type,
             gboolean (*match) (GtkWidget *widget))
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && match (root))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, type, match);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_open_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "win.open") == 0 &&
         gtk_button_get_label (GTK_BUTTON (widget)) != NULL;
}

static gboolean
is_sample_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "win.open-sample") == 0 &&
         gtk_button_get_label (GTK_BUTTON (widget)) != NULL;
}

static gboolean
is_export_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "win.export") == 0 &&
         gtk_button_get_label (GTK_BUTTON (widget)) != NULL;
}

static gboolean
is_training_heading (GtkWidget *widget)
{
  return gtk_widget_has_css_class (widget, "heading") &&
         g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), "Schüler trainieren") == 0;
}

static gboolean
any (GtkWidget *widget)
{
  return TRUE;
}

static void
test_catalog (void)
{
  g_autofree char *same = lathe_format_size_ratio (1000, 1000);
  g_autofree char *ratio = lathe_format_size_ratio (247176, 32600);

  g_assert_cmpstr (_("Open Model"), ==, "Modell öffnen");
  g_assert_cmpstr (ngettext ("%d bit", "%d bits", 4), ==, "%d Bit");
  g_assert_cmpstr (same, ==, "Gleiche Größe");
  g_assert_cmpstr (ratio, ==, "7.58× kleiner");
  /* A <PRIu64> msgid: gettext expands it at run time on both sides. */
  g_assert_cmpstr (ngettext ("%" PRIu64 " weight pruned", "%" PRIu64 " weights pruned", 3), ==,
                   "%" PRIu64 " Gewichte entfernt");
}

/* A plugin's Description[de] from its keyfile, through the registry. */
static void
test_plugin_description (void)
{
  const LathePluginInfo *info = lathe_plugin_registry_lookup (lathe_plugin_registry_get_default (), "onnx");

  g_assert_nonnull (info);
  g_assert_true (g_str_has_prefix (info->description, "ONNX-Modell: "));
}

static void
test_empty_window (void)
{
  LatheWindow *window = g_object_ref (lathe_window_new (NULL));
  GtkWidget *status;
  GtkWidget *open_button;
  GtkWidget *sample_button;
  GtkWidget *export_button;

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  gtk_window_present (GTK_WINDOW (window));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));

  g_assert_cmpstr (_lathe_window_get_page (window), ==, "empty");

  status = find_widget (GTK_WIDGET (window), ADW_TYPE_STATUS_PAGE, any);
  g_assert_nonnull (status);
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (status)), ==, "Modell komprimieren");

  open_button = find_widget (status, GTK_TYPE_BUTTON, is_open_button);
  g_assert_nonnull (open_button);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (open_button)), ==, "_Modell öffnen…");

  sample_button = find_widget (status, GTK_TYPE_BUTTON, is_sample_button);
  g_assert_nonnull (sample_button);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (sample_button)), ==, "_Beispielmodell ausprobieren");

  /* Newer parts of the window, built with it though not shown yet. */
  g_assert_nonnull (find_widget (GTK_WIDGET (window), GTK_TYPE_LABEL, is_training_heading));
  export_button = find_widget (GTK_WIDGET (window), GTK_TYPE_BUTTON, is_export_button);
  g_assert_nonnull (export_button);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (export_button)), ==, "E_xportieren…");

  gtk_window_destroy (GTK_WINDOW (window));
  drain ();
  g_assert_finalize_object (window);
}

int
main (int   argc,
      char *argv[])
{
  /* what main() does, before GTK starts */
  lathe_application_init_i18n ();
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/lathe/app/i18n/catalog", test_catalog);
  g_test_add_func ("/lathe/app/i18n/plugin-description", test_plugin_description);
  g_test_add_func ("/lathe/app/i18n/empty-window", test_empty_window);
  return g_test_run ();
}
