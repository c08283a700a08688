/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <locale.h>

#include <glib/gi18n.h>

#include "lathe-application.h"
#include "lathe-preferences-window.h"
#include "lathe-debug-timings.h"
#include "lathe-window.h"

struct _LatheApplication {
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (LatheApplication, lathe_application, ADW_TYPE_APPLICATION)

/* The window to open something in: the active one while it shows no model,
 * else a new one. */
static LatheWindow *
window_for_opening (LatheApplication *self)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (LATHE_IS_WINDOW (active) && lathe_window_get_file (LATHE_WINDOW (active)) == NULL)
    return LATHE_WINDOW (active);
  return lathe_window_new (GTK_APPLICATION (self));
}

static void
lathe_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (lathe_window_new (GTK_APPLICATION (app)));
  gtk_window_present (window);
}

static void
lathe_application_open (GApplication  *app,
                        GFile        **files,
                        int            n_files,
                        const char    *hint)
{
  LatheApplication *self = LATHE_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      LatheWindow *window = window_for_opening (self);

      lathe_window_open (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

/* Runs in the primary instance, with a remote instance's arguments too. */
static int
lathe_application_command_line (GApplication            *app,
                                GApplicationCommandLine *command_line)
{
  LatheApplication *self = LATHE_APPLICATION (app);
  GVariantDict *options = g_application_command_line_get_options_dict (command_line);
  g_autofree const char **paths = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean sample = FALSE;

  g_variant_dict_lookup (options, "sample", "b", &sample);
  g_variant_dict_lookup (options, G_OPTION_REMAINING, "^a&ay", &paths);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    g_ptr_array_add (files, g_application_command_line_create_file_for_arg (command_line, paths[i]));

  if (sample)
    {
      LatheWindow *window = window_for_opening (self);

      gtk_widget_activate_action (GTK_WIDGET (window), "win.open-sample", NULL);
      gtk_window_present (GTK_WINDOW (window));
    }
  if (files->len > 0)
    g_application_open (app, (GFile **) files->pdata, (int) files->len, "");
  else if (!sample)
    g_application_activate (app);
  return EXIT_SUCCESS;
}

static int
lathe_application_handle_local_options (GApplication *app,
                                        GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("lathe %s\n", LATHE_VERSION);
      return EXIT_SUCCESS;
    }
  return -1;
}

static void
lathe_application_startup (GApplication *app)
{
  static const char *open_accels[] = { "<Control>o", NULL };
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (lathe_application_parent_class)->startup (app);

  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.open", open_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "window.close", close_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", preferences_accels);
  /* LATHE_DEBUG_TIMINGS=1: first-frame times for the benchmarks */
  _lathe_debug_timings_watch (GTK_APPLICATION (app));
}

static void
open_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  LatheApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (lathe_window_new (GTK_APPLICATION (self)));
  gtk_window_present (window);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open", NULL);
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  LatheApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gdk_display_get_default ());
  const char *developers[] = { _("The Lathe contributors"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-name", _("Lathe"),
                        /* until the app's own icon is installed */
                        "application-icon", gtk_icon_theme_has_icon (theme, LATHE_APPLICATION_ID)
                                            ? LATHE_APPLICATION_ID : "applications-science-symbolic",
                        "version", LATHE_VERSION,
                        "comments", _("See what compressing a model costs: change each layer’s bits, "
                                      "sparsity and width and watch the measured accuracy and the exact size."),
                        "developer-name", _("The Lathe contributors"),
                        "developers", developers,
                        "website", LATHE_HOMEPAGE,
                        "issue-url", LATHE_HOMEPAGE "/issues",
                        "license-type", GTK_LICENSE_MIT_X11,
                        "copyright", _("© The Lathe contributors"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  LatheApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_window_present (GTK_WINDOW (lathe_preferences_window_new (parent)));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { .name = "open", .activate = open_activated },
  { .name = "about", .activate = about_activated },
  { .name = "preferences", .activate = preferences_activated },
  { .name = "quit", .activate = quit_activated },
};

static void
lathe_application_class_init (LatheApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->startup = lathe_application_startup;
  app_class->activate = lathe_application_activate;
  app_class->open = lathe_application_open;
  app_class->command_line = lathe_application_command_line;
  app_class->handle_local_options = lathe_application_handle_local_options;
}

static void
lathe_application_init (LatheApplication *self)
{
  static const GOptionEntry entries[] = {
    { "sample", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Open the bundled sample model"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Show the version"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, NULL, NULL, N_("[MODEL.onnx…]") },
    { NULL }
  };

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[MODEL.onnx…]"));
}

void
lathe_application_init_i18n (void)
{
  const char *localedir = LOCALEDIR;

#ifdef LATHE_BUILD_LOCALEDIR
  if (g_file_test (LATHE_BUILD_LOCALEDIR, G_FILE_TEST_IS_DIR))
    localedir = LATHE_BUILD_LOCALEDIR;
#endif

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}

LatheApplication *
lathe_application_new (void)
{
  return g_object_new (LATHE_TYPE_APPLICATION,
                       "application-id", LATHE_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_HANDLES_COMMAND_LINE,
                       "resource-base-path", "/io/github/lathe/Lathe",
                       NULL);
}
