/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module that passes the ABI checks and then fails in
 * lathe_plugin_register. */

#include "plugin/lathe-plugin-registry.h"

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = { .abi = LATHE_PLUGIN_ABI, .name = "broken-register" };
  return &info;
}

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  return FALSE;
}
