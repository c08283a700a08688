/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

/* The module's two entry points (engine/plugin/lathe-plugin.h): the host
 * calls lathe_plugin_query first and reads the ABI from the first field,
 * then lathe_plugin_register, which registers the dynamic type and names
 * it as the implementation of this plugin. */

#include "lbp-magnitude-block-pruner.h"

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = {
    .abi = LATHE_PLUGIN_ABI,
    .name = "magnitude-block",
  };
  return &info;
}

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  lbp_magnitude_block_pruner_register (module);
  lathe_plugin_registry_add_method (registry, "magnitude-block", LBP_TYPE_MAGNITUDE_BLOCK_PRUNER);
  return TRUE;
}
