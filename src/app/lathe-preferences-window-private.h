/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-preferences-window.h"

G_BEGIN_DECLS

/* For tests: the controls and the settings they are bound to (NULL when
 * the schema is not found). */
GtkSpinButton *_lathe_preferences_window_get_subset_spin      (LathePreferencesWindow *self);
GtkSpinButton *_lathe_preferences_window_get_cache_spin       (LathePreferencesWindow *self);
AdwComboRow   *_lathe_preferences_window_get_granularity_row  (LathePreferencesWindow *self);
GSettings     *_lathe_preferences_window_get_settings         (LathePreferencesWindow *self);
GtkSwitch     *_lathe_preferences_window_get_auto_distil_switch (LathePreferencesWindow *self);

G_END_DECLS
