/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module that needs an engine function this Lathe does not
 * have (as a module built against a newer engine would). The registry opens
 * modules with immediate binding, so this fails at open time with the
 * symbol's name instead of crashing at the first call. */

#include "plugin/lathe-plugin-registry.h"

extern void lathe_engine_function_from_the_future (void);

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = { .abi = LATHE_PLUGIN_ABI, .name = "broken-undefined" };
  return &info;
}

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  lathe_engine_function_from_the_future ();
  return TRUE;
}
