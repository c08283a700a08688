/* SPDX-License-Identifier: MIT */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LATHE_TYPE_PREFERENCES_WINDOW (lathe_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (LathePreferencesWindow, lathe_preferences_window, LATHE, PREFERENCES_WINDOW, AdwPreferencesWindow)

/* The app's preferences (schema io.github.lathe.Lathe), each control bound
 * to its key with g_settings_bind(): a change is saved at once. Modal,
 * transient for `parent` (nullable). */
LathePreferencesWindow *lathe_preferences_window_new (GtkWindow *parent);

G_END_DECLS
