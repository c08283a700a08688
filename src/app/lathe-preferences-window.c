/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <glib/gi18n.h>

#include "lathe-preferences-window-private.h"
#include "lathe-settings.h"

/* The choices of default-granularity, in the combo row's order. */
static const char * const granularities[] = {
  "tensor", "channel", "group:16", "group:32", "group:64", "group:128", "group:256",
};

struct _LathePreferencesWindow {
  AdwPreferencesWindow  parent_instance;

  /* template */
  AdwActionRow         *subset_row;
  GtkSpinButton        *subset_spin;
  AdwActionRow         *cache_row;
  GtkSpinButton        *cache_spin;
  AdwComboRow          *granularity_row;
  AdwActionRow         *auto_distil_row;
  GtkSwitch            *auto_distil_switch;

  GSettings            *settings;
};

G_DEFINE_FINAL_TYPE (LathePreferencesWindow, lathe_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static gboolean
granularity_get_mapping (GValue   *value,
                         GVariant *variant,
                         gpointer  user_data)
{
  const char *s = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (granularities); i++)
    if (g_str_equal (s, granularities[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
granularity_set_mapping (const GValue       *value,
                         const GVariantType *expected_type,
                         gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return i < G_N_ELEMENTS (granularities) ? g_variant_new_string (granularities[i]) : NULL;
}

static void
lathe_preferences_window_dispose (GObject *object)
{
  LathePreferencesWindow *self = LATHE_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), LATHE_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (lathe_preferences_window_parent_class)->dispose (object);
}

static void
lathe_preferences_window_class_init (LathePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lathe_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/lathe/Lathe/lathe-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, subset_row);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, subset_spin);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, cache_row);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, cache_spin);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, granularity_row);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, auto_distil_row);
  gtk_widget_class_bind_template_child (widget_class, LathePreferencesWindow, auto_distil_switch);
}

static void
lathe_preferences_window_init (LathePreferencesWindow *self)
{
  G_STATIC_ASSERT (G_N_ELEMENTS (granularities) == 7);

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->granularity_row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Default Granularity"), -1);

  self->settings = lathe_settings_new ();
  if (self->settings == NULL)
    {
      /* Nothing to bind to: shown, not editable. */
      gtk_widget_set_sensitive (GTK_WIDGET (self->subset_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->cache_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->granularity_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->auto_distil_row), FALSE);
      return;
    }
  g_settings_bind (self->settings, "subset-size", gtk_spin_button_get_adjustment (self->subset_spin), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "cache-budget-mib", gtk_spin_button_get_adjustment (self->cache_spin), "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "default-granularity", self->granularity_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, granularity_get_mapping, granularity_set_mapping,
                                NULL, NULL);
  g_settings_bind (self->settings, "auto-distil", self->auto_distil_switch, "active", G_SETTINGS_BIND_DEFAULT);
}

LathePreferencesWindow *
lathe_preferences_window_new (GtkWindow *parent)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  return g_object_new (LATHE_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
}

GtkSpinButton *
_lathe_preferences_window_get_subset_spin (LathePreferencesWindow *self)
{
  return self->subset_spin;
}

GtkSpinButton *
_lathe_preferences_window_get_cache_spin (LathePreferencesWindow *self)
{
  return self->cache_spin;
}

AdwComboRow *
_lathe_preferences_window_get_granularity_row (LathePreferencesWindow *self)
{
  return self->granularity_row;
}

GSettings *
_lathe_preferences_window_get_settings (LathePreferencesWindow *self)
{
  return self->settings;
}

GtkSwitch *
_lathe_preferences_window_get_auto_distil_switch (LathePreferencesWindow *self)
{
  return self->auto_distil_switch;
}
