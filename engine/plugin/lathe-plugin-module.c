/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

#include <gmodule.h>

#include "plugin/lathe-plugin-module.h"

struct _LathePluginModule
{
  GTypeModule              parent_instance;

  char                    *name;
  char                    *path;          /* NULL when embedded */
  LathePluginRegisterFunc  embedded;
  LathePluginRegistry     *registry;      /* unowned: the registry outlives its modules' loading */
  GModule                 *gmodule;
  GError                  *error;
  gboolean                 registered;
};

G_DEFINE_FINAL_TYPE (LathePluginModule, lathe_plugin_module, G_TYPE_TYPE_MODULE)

static gboolean
fail (LathePluginModule *self,
      const char        *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (LathePluginModule *self,
      const char        *format,
      ...)
{
  va_list args;

  g_clear_error (&self->error);
  va_start (args, format);
  self->error = g_error_new_valist (LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_MODULE, format, args);
  va_end (args);
  /* Close only what cannot own types yet. */
  if (!self->registered)
    g_clear_pointer (&self->gmodule, g_module_close);
  return FALSE;
}

static gboolean
lathe_plugin_module_load (GTypeModule *type_module)
{
  LathePluginModule *self = LATHE_PLUGIN_MODULE (type_module);
  LathePluginRegisterFunc register_types = self->embedded;

  g_clear_error (&self->error);

  if (register_types == NULL)
    {
      LathePluginQueryFunc query = NULL;
      gpointer register_symbol = NULL;
      const LathePluginModuleInfo *info;

      /* Bound now, not lazily: a module that needs a symbol this engine
       * lacks fails here, with the symbol's name, instead of crashing at
       * its first call. */
      self->gmodule = g_module_open (self->path, G_MODULE_BIND_LOCAL);
      if (self->gmodule == NULL)
        return fail (self, "cannot open %s: %s", self->path, g_module_error ());

      if (!g_module_symbol (self->gmodule, LATHE_PLUGIN_QUERY_SYMBOL, (gpointer *) &query) || query == NULL)
        return fail (self, "%s has no %s(): not a Lathe plugin module", self->path, LATHE_PLUGIN_QUERY_SYMBOL);

      /* The ABI again, from the code itself: the keyfile may lie. */
      info = query ();
      if (info == NULL)
        return fail (self, "%s() in %s returned NULL", LATHE_PLUGIN_QUERY_SYMBOL, self->path);
      if (info->abi != LATHE_PLUGIN_ABI)
        return fail (self, "the module %s was built for ABI %u, this Lathe needs %d",
                     self->path, info->abi, LATHE_PLUGIN_ABI);
      if (info->name == NULL || g_strcmp0 (info->name, self->name) != 0)
        return fail (self, "the module %s calls itself '%s', its keyfile '%s'",
                     self->path, info->name ? info->name : "(null)", self->name);

      if (!g_module_symbol (self->gmodule, LATHE_PLUGIN_REGISTER_SYMBOL, &register_symbol) ||
          register_symbol == NULL)
        return fail (self, "%s has no %s()", self->path, LATHE_PLUGIN_REGISTER_SYMBOL);
      register_types = (LathePluginRegisterFunc) register_symbol;
    }

  /* From here the module may register types: it must never be closed. */
  self->registered = TRUE;
  if (self->gmodule != NULL)
    g_module_make_resident (self->gmodule);
  if (!register_types (type_module, self->registry))
    return fail (self, "%s() of '%s' failed",
                 self->path ? LATHE_PLUGIN_REGISTER_SYMBOL : "the register function", self->name);
  return TRUE;
}

static void
lathe_plugin_module_unload (GTypeModule *type_module)
{
  /* Resident: the registry never unuses a module, and a module whose
   * types exist must stay mapped. */
}

static void
lathe_plugin_module_finalize (GObject *object)
{
  LathePluginModule *self = LATHE_PLUGIN_MODULE (object);

  g_free (self->name);
  g_free (self->path);
  g_clear_error (&self->error);
  if (!self->registered)
    g_clear_pointer (&self->gmodule, g_module_close);

  G_OBJECT_CLASS (lathe_plugin_module_parent_class)->finalize (object);
}

static void
lathe_plugin_module_class_init (LathePluginModuleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GTypeModuleClass *module_class = G_TYPE_MODULE_CLASS (klass);

  object_class->finalize = lathe_plugin_module_finalize;
  module_class->load = lathe_plugin_module_load;
  module_class->unload = lathe_plugin_module_unload;
}

static void
lathe_plugin_module_init (LathePluginModule *self)
{
}

LathePluginModule *
lathe_plugin_module_new (const char              *name,
                         const char              *path,
                         LathePluginRegisterFunc  embedded,
                         LathePluginRegistry     *registry)
{
  LathePluginModule *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail ((path == NULL) != (embedded == NULL), NULL);

  self = g_object_new (LATHE_TYPE_PLUGIN_MODULE, NULL);
  self->name = g_strdup (name);
  self->path = g_strdup (path);
  self->embedded = embedded;
  self->registry = registry;
  g_type_module_set_name (G_TYPE_MODULE (self), name);
  return self;
}

const GError *
lathe_plugin_module_get_error (LathePluginModule *self)
{
  g_return_val_if_fail (LATHE_IS_PLUGIN_MODULE (self), NULL);

  return self->error;
}

gboolean
lathe_plugin_module_get_registered (LathePluginModule *self)
{
  g_return_val_if_fail (LATHE_IS_PLUGIN_MODULE (self), FALSE);

  return self->registered;
}
