/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

#include "plugin/lathe-exporter.h"
#include "plugin/lathe-plugin.h"
#include "plugin/lathe-pruner.h"
#include "plugin/lathe-quantizer.h"

G_BEGIN_DECLS

/* The compression methods this process can use.
 *
 * The default registry is created on first use and lives for the process.
 * It registers the embedded plugins, then reads every `*.plugin` keyfile
 * in each directory below — and in each of its immediate subdirectories,
 * as libpeas does — in this order:
 *
 *   1. each directory of $LATHE_PLUGIN_PATH (colon-separated), in order;
 *   2. the build tree's plugins, when the engine library itself runs from
 *      the build tree (found from the library's own location, so no
 *      variable is needed to run uninstalled);
 *   3. the installed directory, <libdir>/lathe/plugins.
 *
 * Within a directory, keyfiles load in path order. The first plugin of a
 * name wins; a later one is listed as unusable ("duplicate"). Nothing a
 * plugin directory holds is fatal: every keyfile found is listed, usable or
 * not, with the reason. */

typedef enum {
  LATHE_PLUGIN_STATUS_OK,
  LATHE_PLUGIN_STATUS_UNUSABLE,
} LathePluginStatus;

typedef struct {
  char              *name;          /* the keyfile's Name (its file name when it has none) */
  char              *description;   /* may be empty */
  LathePluginKind    kind;          /* LATHE_PLUGIN_KIND_UNKNOWN if the keyfile does not say */
  char              *module;        /* the module's path, or "built-in" */
  char              *keyfile;       /* the .plugin file (resource:///… for built-ins) */
  int                abi;           /* the keyfile's ABI, -1 if it has none */
  LathePluginStatus  status;
  char              *reason;        /* why it is unusable; NULL when OK */
  GType              type;          /* the implementation; G_TYPE_INVALID when unusable */
} LathePluginInfo;

#define LATHE_TYPE_PLUGIN_REGISTRY (lathe_plugin_registry_get_type ())
G_DECLARE_FINAL_TYPE (LathePluginRegistry, lathe_plugin_registry, LATHE, PLUGIN_REGISTRY, GObject)

/* Transfer none; thread-safe first call. */
LathePluginRegistry   *lathe_plugin_registry_get_default     (void);

/* Every plugin found, in load order: const LathePluginInfo*, owned by the
 * registry (transfer container). */
GPtrArray             *lathe_plugin_registry_list            (LathePluginRegistry  *self);
/* The directories searched, in order (owned by the registry). */
const char * const    *lathe_plugin_registry_get_search_path (LathePluginRegistry  *self);
/* The plugin of that name (the first found, usable or not), or NULL. */
const LathePluginInfo *lathe_plugin_registry_lookup          (LathePluginRegistry  *self,
                                                              const char           *name);
/* The usable plugin implemented by `type` (or a subtype), or NULL. */
const LathePluginInfo *lathe_plugin_registry_lookup_type     (LathePluginRegistry  *self,
                                                              GType                 type);
/* Names of the usable plugins of a kind, in load order (g_strfreev). */
char                 **lathe_plugin_registry_list_names      (LathePluginRegistry  *self,
                                                              LathePluginKind       kind);

/* A new instance of the named method, with its parameters at their
 * defaults. NULL with LATHE_PLUGIN_ERROR_NOT_FOUND (naming what is
 * available) or LATHE_PLUGIN_ERROR_UNUSABLE (with the reason). */
GObject               *lathe_plugin_registry_create          (LathePluginRegistry  *self,
                                                              LathePluginKind       kind,
                                                              const char           *name,
                                                              GError              **error);
LatheQuantizer        *lathe_plugin_registry_get_quantizer   (LathePluginRegistry  *self,
                                                              const char           *name,
                                                              GError              **error);
LathePruner           *lathe_plugin_registry_get_pruner      (LathePluginRegistry  *self,
                                                              const char           *name,
                                                              GError              **error);
LatheExporter         *lathe_plugin_registry_get_exporter    (LathePluginRegistry  *self,
                                                              const char           *name,
                                                              GError              **error);

/* For register functions only (lathe_plugin_register and the embedded
 * ones): `type`, registered on the plugin's GTypeModule, implements the
 * plugin being loaded, whose keyfile Name is `name`. */
void                   lathe_plugin_registry_add_method      (LathePluginRegistry  *self,
                                                              const char           *name,
                                                              GType                 type);

/* Parameters are the method's GObject properties. */

/* The parameters of a usable plugin (g_free the array, not the specs; the
 * registry keeps the class alive). NULL and 0 for an unusable one. */
GParamSpec           **lathe_plugin_info_list_params         (const LathePluginInfo *info,
                                                              guint                *n_params);

/* Parses `value` for the property `param` of `method` and sets it: numbers
 * against the GParamSpec's range, booleans as true/false/yes/no/on/off/1/0,
 * enums by nick. Errors are LATHE_PLUGIN_ERROR_PARAM and read
 * "palette.iterations=5000: expected a whole number from 0 to 1000". */
gboolean               lathe_plugin_registry_set_param       (GObject              *method,
                                                              const char           *param,
                                                              const char           *value,
                                                              GError              **error);

/* How a parameter reads to a user: its type ("int", "double", "boolean",
 * "enum", "string" …), its range ("0 … 1000", "l1 | l2") and its default
 * ("20", "l2"). */
const char            *lathe_plugin_param_type_name          (GParamSpec           *pspec);
char                  *lathe_plugin_param_format_range       (GParamSpec           *pspec);
char                  *lathe_plugin_param_format_default     (GParamSpec           *pspec);

G_END_DECLS
