/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LATHE_SETTINGS_SCHEMA "io.github.lathe.Lathe"

/* The app's settings (schema io.github.lathe.Lathe), from the installed
 * schemas or, when the app runs from the build tree, from the schema
 * compiled there. NULL (with a warning) when neither has it, so that an
 * uninstalled app without the schema still runs. */
GSettings *lathe_settings_new (void);

G_END_DECLS
