/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module without lathe_plugin_query. The registry must list
 * it as unusable and never call what it does export. */

#include "plugin/lathe-plugin-registry.h"

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  g_error ("broken-noquery: lathe_plugin_register must not be called without lathe_plugin_query");
  return FALSE;
}
