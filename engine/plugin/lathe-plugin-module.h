/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined (LATHE_ENGINE_COMPILATION)
#error "lathe-plugin-module.h is internal to the engine"
#endif

#include <glib-object.h>

#include "plugin/lathe-plugin.h"

G_BEGIN_DECLS

/* The GTypeModule behind one plugin, so its types can be dynamic
 * (G_DEFINE_DYNAMIC_TYPE). A loadable plugin's load() opens the GModule,
 * checks lathe_plugin_query and its ABI and calls lathe_plugin_register; an
 * embedded plugin's load() calls its register function directly. The
 * registry uses a module once and never unuses it, so a module that may
 * have registered types is never closed or finalized (GTypeModule forbids
 * both). */

#define LATHE_TYPE_PLUGIN_MODULE (lathe_plugin_module_get_type ())
G_DECLARE_FINAL_TYPE (LathePluginModule, lathe_plugin_module, LATHE, PLUGIN_MODULE, GTypeModule)

/* `path` for a loadable module; `embedded` for a built-in one. */
LathePluginModule *lathe_plugin_module_new          (const char              *name,
                                                     const char              *path,
                                                     LathePluginRegisterFunc  embedded,
                                                     LathePluginRegistry     *registry);
/* Why the last load() failed (LATHE_PLUGIN_ERROR), or NULL. */
const GError      *lathe_plugin_module_get_error    (LathePluginModule       *self);
/* Whether the register function ran: the module may then own types and
 * must stay referenced for the life of the process. */
gboolean           lathe_plugin_module_get_registered (LathePluginModule     *self);

G_END_DECLS
