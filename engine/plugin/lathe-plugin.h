/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>
#include <gmodule.h>

G_BEGIN_DECLS

/* The plugin contract.
 *
 * A plugin is a folder under plugins/ with a keyfile `<name>.plugin`:
 *
 *   [Plugin]
 *   Name=magnitude-block
 *   Description=Zeroes whole blocks of consecutive input-axis weights
 *   Kind=pruner                 # quantizer | pruner | exporter
 *   Module=magnitude-block      # libmagnitude-block.so beside the keyfile,
 *                               # or a file name / path relative to it
 *   ABI=1                       # LATHE_PLUGIN_ABI it was built against
 *
 * and either
 *
 * - a loadable module (a GModule) exporting the two entry points below, or
 * - `Embedded=true`: its sources are compiled into the engine library, its
 *   keyfile into the engine's resources, and plugins/meson.build names its
 *   register function (lbp_<name>_register, same signature as
 *   lathe_plugin_register); it is registered when the registry starts,
 *   without GModule.
 *
 * The registry reads the keyfile and checks ABI before it opens the module
 * (a mismatch is never opened), then opens it, checks that
 * lathe_plugin_query exists and that the first field of what it returns is
 * LATHE_PLUGIN_ABI again, and only then calls lathe_plugin_register. The
 * register function registers the plugin's types with
 * G_DEFINE_DYNAMIC_TYPE on `module` (embedded plugins too: the code is the
 * same either way) and names the implementation with
 * lathe_plugin_registry_add_method(). Anything wrong — keyfile, ABI,
 * module, symbol, duplicate name, a type that does not implement the
 * extension point — leaves the plugin listed as unusable with the reason. */

/* Bumped whenever an extension point's vtable, LathePluginModuleInfo or a
 * type that crosses the boundary (LatheWeightView, LatheLayerSettings,
 * LatheQuantized, LatheGraph) changes incompatibly. */
#define LATHE_PLUGIN_ABI 1

#define LATHE_PLUGIN_QUERY_SYMBOL    "lathe_plugin_query"
#define LATHE_PLUGIN_REGISTER_SYMBOL "lathe_plugin_register"

typedef struct _LathePluginRegistry LathePluginRegistry;

typedef enum {
  LATHE_PLUGIN_KIND_UNKNOWN = -1,    /* a keyfile that does not say, or says something else */
  LATHE_PLUGIN_KIND_QUANTIZER,
  LATHE_PLUGIN_KIND_PRUNER,
  LATHE_PLUGIN_KIND_EXPORTER,
} LathePluginKind;

#define LATHE_PLUGIN_N_KINDS (LATHE_PLUGIN_KIND_EXPORTER + 1)

/* What lathe_plugin_query returns (GIMP's GimpModuleInfo in spirit). `abi`
 * is the first field and stays first in every future ABI, so a host can
 * always read it, whatever else changed. */
typedef struct {
  guint32     abi;           /* LATHE_PLUGIN_ABI at build time */
  const char *name;          /* must match the keyfile's Name */
} LathePluginModuleInfo;

typedef const LathePluginModuleInfo *(*LathePluginQueryFunc)    (void);
typedef gboolean                     (*LathePluginRegisterFunc) (GTypeModule         *module,
                                                                 LathePluginRegistry *registry);

/* The entry points a loadable module defines (and exports). */
G_MODULE_EXPORT const LathePluginModuleInfo *lathe_plugin_query    (void);
G_MODULE_EXPORT gboolean                     lathe_plugin_register (GTypeModule         *module,
                                                                    LathePluginRegistry *registry);

/* "quantizer", "pruner", "exporter" ("unknown"). */
const char *lathe_plugin_kind_to_string   (LathePluginKind  kind);
gboolean    lathe_plugin_kind_from_string (const char      *text,
                                           LathePluginKind *kind);
/* The extension point's GType for a kind (LATHE_TYPE_QUANTIZER …);
 * G_TYPE_INVALID for LATHE_PLUGIN_KIND_UNKNOWN. */
GType       lathe_plugin_kind_interface   (LathePluginKind  kind);

#define LATHE_PLUGIN_ERROR (lathe_plugin_error_quark ())
typedef enum {
  LATHE_PLUGIN_ERROR_NOT_FOUND,      /* no plugin of that name and kind */
  LATHE_PLUGIN_ERROR_UNUSABLE,       /* listed, but could not be loaded */
  LATHE_PLUGIN_ERROR_PARAM,          /* unknown parameter or a value out of its range */
  LATHE_PLUGIN_ERROR_KEYFILE,        /* a .plugin file that cannot be read or lacks a key */
  LATHE_PLUGIN_ERROR_ABI,            /* built for another LATHE_PLUGIN_ABI */
  LATHE_PLUGIN_ERROR_MODULE,         /* the module cannot be opened, lacks a symbol, fails to register */
  LATHE_PLUGIN_ERROR_DUPLICATE,      /* a plugin of the same name came first */
} LathePluginError;

GQuark lathe_plugin_error_quark (void);

G_END_DECLS
