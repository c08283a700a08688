/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-i18n"

/* The German translation, in process: with LC_ALL=C.UTF-8 LANGUAGE=de and
 * the app's gettext setup, the empty window, the formatted figures and the
 * layer table's status column (phrased by the engine) read in German. The .mo comes from the build tree's po/ (no install). Runs
 * under Xvfb like test-window. */

#include <glib/gi18n.h>
#include <inttypes.h>

#include <adwaita.h>

#include "lathe-app-format.h"
#include "lathe-application.h"
#include "lathe-window-private.h"
#include "plugin/lathe-plugin-registry.h"

#include "lathe-test-util.h"
#include "app-test-util.h"

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

/* The GtkLabel below `root` that reads `text`. */
static GtkWidget *
find_label (GtkWidget  *root,
            const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (root)), text) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_label (child, text);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The engine says what a plan did to each layer; the table shows it in
 * the user's language, while the engine's own status (files, the CLI)
 * stays English. */
static void
test_layer_status (void)
{
  LatheWindow *window = window_new ();
  GtkWidget *table = GTK_WIDGET (_lathe_window_get_layer_table (window));
  LatheLayerItem *conv1;
  LatheLayerItem *fc1;
  LatheSessionResult *result;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL));
  g_assert_true (wait_until (window, model_shown));
  g_assert_null (_lathe_window_get_error (window));
  conv1 = find_item (window, "conv1.weight");
  fc1 = find_item (window, "fc1.weight");
  g_assert_nonnull (conv1);
  g_assert_nonnull (fc1);

  /* every layer at 4 bits, half of fc1's weights pruned */
  gtk_adjustment_set_value (_lathe_window_get_bits_adjustment (window), lathe_position_for_bits (4));
  lathe_layer_item_set_sparsity (fc1, 0.5);
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));
  drain ();

  g_test_message ("conv1: %s; fc1: %s", lathe_layer_item_get_status (conv1), lathe_layer_item_get_status (fc1));
  g_assert_cmpstr (lathe_layer_item_get_status (conv1), ==,
                   "4-Bit gleichmäßig pro Kanal; BatchNormalization eingerechnet");
  g_assert_cmpstr (lathe_layer_item_get_status (fc1), ==,
                   "4-Bit gleichmäßig pro Kanal; 50.0 % nach Betrag entfernt");
  /* what the table shows */
  g_assert_nonnull (find_label (table, lathe_layer_item_get_status (conv1)));
  /* a <PRIu64> phrase of the engine, from the same catalogue */
  g_assert_cmpstr (g_dgettext ("lathe", "; width %" PRIu64 "/%" PRIu64 " units"), ==,
                   "; Breite %" PRIu64 "/%" PRIu64 " Einheiten");

  /* the engine's own words are unchanged */
  result = _lathe_window_get_result (window);
  g_assert_nonnull (result);
  for (guint i = 0; i < result->applied->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (result->applied->results, i);
      if (g_str_equal (r->name, "fc1.weight"))
        g_assert_cmpstr (r->status, ==, "4-bit uniform per channel; 50.0 % magnitude-pruned");
    }

  window_free (window);
}

/* Width cannot change the MLP's classifier: the engine's reason reads
 * German in the width slider's tooltip and, once a width below 100 % is
 * measured, in the layer's status, while the engine's own words (files,
 * the CLI) stay English. */
static void
test_width_reason (void)
{
  const char *english = "the final classifier's output width is fixed";
  const char *german = "die Ausgabebreite des letzten Klassifikators ist fest";
  LatheWindow *window = window_new ();
  GtkWidget *table = GTK_WIDGET (_lathe_window_get_layer_table (window));
  g_autofree char *path = lathe_test_sample ("fashion-mlp.onnx");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *slider = g_strdup_printf (_("Width for %s"), "fc3.weight");
  g_autofree char *status = g_strdup_printf ("float32; Breite nicht angewandt: %s", german);
  g_autofree char *english_status = g_strdup_printf ("float32; width not applied: %s", english);
  LatheLayerItem *fc3;
  LatheSessionResult *result;
  GtkWidget *scale;
  gboolean seen = FALSE;

  lathe_window_open (window, file);
  g_assert_true (wait_until (window, model_shown));
  g_assert_null (_lathe_window_get_error (window));
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));
  fc3 = find_item (window, "fc3.weight");
  g_assert_nonnull (fc3);
  g_assert_cmpstr (lathe_layer_item_get_width_reason (fc3), ==, german);

  /* the insensitive slider says why */
  drain ();
  scale = find_scale (table, slider);
  g_assert_nonnull (scale);
  g_assert_false (gtk_widget_is_sensitive (scale));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (gtk_widget_get_parent (scale)), ==, german);

  /* every layer at half width: fc1 and fc2 shrink, fc3 says why it does not */
  gtk_adjustment_set_value (_lathe_window_get_width_adjustment (window), 50);
  g_assert_true (wait_until (window, measured));
  g_assert_null (_lathe_window_get_error (window));
  drain ();
  g_test_message ("fc3: %s", lathe_layer_item_get_status (fc3));
  g_assert_cmpstr (lathe_layer_item_get_status (fc3), ==, status);
  g_assert_nonnull (find_label (table, status));

  /* the engine's own words are unchanged */
  result = _lathe_window_get_result (window);
  g_assert_nonnull (result);
  for (guint i = 0; i < result->applied->results->len; i++)
    {
      LatheLayerResult *r = g_ptr_array_index (result->applied->results, i);
      if (!g_str_equal (r->name, "fc3.weight"))
        continue;
      g_assert_cmpstr (r->width_note, ==, english);
      g_assert_cmpstr (r->width_note_local, ==, german);
      g_assert_cmpstr (r->status, ==, english_status);
      seen = TRUE;
    }
  g_assert_true (seen);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (window));
  save_png (GTK_WIDGET (window), "lathe-window-de.png");

  window_free (window);
}

int
main (int   argc,
      char *argv[])
{
  /* what main() does, before GTK starts */
  lathe_application_init_i18n ();
  app_test_init (&argc, &argv);

  g_test_add_func ("/lathe/app/i18n/catalog", test_catalog);
  g_test_add_func ("/lathe/app/i18n/plugin-description", test_plugin_description);
  g_test_add_func ("/lathe/app/i18n/empty-window", test_empty_window);
  g_test_add_func ("/lathe/app/i18n/layer-status", test_layer_status);
  g_test_add_func ("/lathe/app/i18n/width-reason", test_width_reason);
  return g_test_run ();
}
