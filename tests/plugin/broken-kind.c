/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Test fixture: a module whose keyfile says Kind=quantizer but whose type
 * implements no extension point (a plain GObject, registered dynamically
 * as a real plugin would). */

#include "plugin/lathe-plugin-registry.h"

#define BROKEN_TYPE_NOT_A_QUANTIZER (broken_not_a_quantizer_get_type ())
G_DECLARE_FINAL_TYPE (BrokenNotAQuantizer, broken_not_a_quantizer, BROKEN, NOT_A_QUANTIZER, GObject)

struct _BrokenNotAQuantizer
{
  GObject parent_instance;
};

G_DEFINE_DYNAMIC_TYPE_EXTENDED (BrokenNotAQuantizer, broken_not_a_quantizer, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL, {})

static void broken_not_a_quantizer_class_init (BrokenNotAQuantizerClass *klass) {}
static void broken_not_a_quantizer_class_finalize (BrokenNotAQuantizerClass *klass) {}
static void broken_not_a_quantizer_init (BrokenNotAQuantizer *self) {}

G_MODULE_EXPORT const LathePluginModuleInfo *
lathe_plugin_query (void)
{
  static const LathePluginModuleInfo info = { .abi = LATHE_PLUGIN_ABI, .name = "broken-kind" };
  return &info;
}

G_MODULE_EXPORT gboolean
lathe_plugin_register (GTypeModule         *module,
                       LathePluginRegistry *registry)
{
  broken_not_a_quantizer_register_type (module);
  lathe_plugin_registry_add_method (registry, "broken-kind", BROKEN_TYPE_NOT_A_QUANTIZER);
  return TRUE;
}
