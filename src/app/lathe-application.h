/* SPDX-License-Identifier: MIT */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define LATHE_APPLICATION_ID "io.github.lathe.Lathe"

#define LATHE_TYPE_APPLICATION (lathe_application_get_type ())
G_DECLARE_FINAL_TYPE (LatheApplication, lathe_application, LATHE, APPLICATION, AdwApplication)

/* `lathe [MODEL.onnx…]` opens each model in a window; `lathe --sample`
 * opens the bundled sample. App actions: app.open, app.about, app.quit. */
LatheApplication *lathe_application_new (void);

/* setlocale, then binds the "lathe" text domain: to the build tree's
 * po/ while it exists (the app runs uninstalled), else to LOCALEDIR.
 * main() and the in-process GUI tests call it first. */
void lathe_application_init_i18n (void);

G_END_DECLS
