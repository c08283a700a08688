/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module whose keyfile says ABI=1 but whose code was built
 * for ABI 2. The registry must read the ABI from lathe_plugin_query, refuse
 * it, and never call lathe_plugin_register. */

#include "plugin/lathe-plugin-registry.h"

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = { .abi = LATHE_PLUGIN_ABI + 1, .name = "broken-abi" };
  return &info;
}

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  g_error ("broken-abi: lathe_plugin_register must not be called after an ABI mismatch");
  return FALSE;
}
