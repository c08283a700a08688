/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"
#define _GNU_SOURCE   /* dladdr */

#include "plugin/lathe-plugin-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_DLADDR
#include <dlfcn.h>
#endif

#include <gio/gio.h>

#include "plugin/lathe-plugin-embedded-private.h"
#include "plugin/lathe-plugin-module.h"
#include "plugin/lathe-plugin-registry.h"

#define GROUP "Plugin"

G_DEFINE_QUARK (lathe-plugin-error-quark, lathe_plugin_error)

static const char * const kind_names[] = {
  [LATHE_PLUGIN_KIND_QUANTIZER] = "quantizer",
  [LATHE_PLUGIN_KIND_PRUNER]    = "pruner",
  [LATHE_PLUGIN_KIND_EXPORTER]  = "exporter",
};
G_STATIC_ASSERT (G_N_ELEMENTS (kind_names) == LATHE_PLUGIN_N_KINDS);

const char *
lathe_plugin_kind_to_string (LathePluginKind kind)
{
  if (kind < 0 || kind >= LATHE_PLUGIN_N_KINDS)
    return "unknown";
  return kind_names[kind];
}

gboolean
lathe_plugin_kind_from_string (const char      *text,
                               LathePluginKind *kind)
{
  g_return_val_if_fail (kind != NULL, FALSE);

  for (int k = 0; k < LATHE_PLUGIN_N_KINDS; k++)
    if (g_strcmp0 (text, kind_names[k]) == 0)
      {
        *kind = (LathePluginKind) k;
        return TRUE;
      }
  *kind = LATHE_PLUGIN_KIND_UNKNOWN;
  return FALSE;
}

GType
lathe_plugin_kind_interface (LathePluginKind kind)
{
  switch (kind)
    {
    case LATHE_PLUGIN_KIND_QUANTIZER: return LATHE_TYPE_QUANTIZER;
    case LATHE_PLUGIN_KIND_PRUNER:    return LATHE_TYPE_PRUNER;
    case LATHE_PLUGIN_KIND_EXPORTER:  return LATHE_TYPE_EXPORTER;
    case LATHE_PLUGIN_KIND_UNKNOWN:
    default:                          return G_TYPE_INVALID;
    }
}

typedef struct {
  LathePluginInfo     info;      /* first: an Entry* is handed out as its info */
  LathePluginModule  *module;    /* kept for the process once it may own types */
  gpointer            klass;     /* a reference on the implementation's class */
} Entry;

struct _LathePluginRegistry
{
  GObject     parent_instance;

  GPtrArray  *entries;           /* Entry*, in load order */
  GHashTable *by_name;           /* name → the first Entry* of that name */
  GStrv       search_path;
  Entry      *loading;           /* whose register function is running */
};

G_DEFINE_FINAL_TYPE (LathePluginRegistry, lathe_plugin_registry, G_TYPE_OBJECT)

static void
entry_free (Entry *e)
{
  g_free (e->info.name);
  g_free (e->info.description);
  g_free (e->info.module);
  g_free (e->info.keyfile);
  g_free (e->info.reason);
  if (e->klass != NULL)
    g_type_class_unref (e->klass);
  /* GTypeModule must never be finalized once it registered types. */
  if (e->module != NULL && !lathe_plugin_module_get_registered (e->module))
    g_object_unref (e->module);
  g_free (e);
}

static void
unusable (Entry      *e,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static void
unusable (Entry      *e,
          const char *format,
          ...)
{
  va_list args;

  /* The first reason is the one that explains the others. */
  if (e->info.status == LATHE_PLUGIN_STATUS_UNUSABLE)
    return;
  e->info.status = LATHE_PLUGIN_STATUS_UNUSABLE;
  va_start (args, format);
  e->info.reason = g_strdup_vprintf (format, args);
  va_end (args);
}

static Entry *
entry_new (const char *keyfile,
           const char *fallback_name)
{
  Entry *e = g_new0 (Entry, 1);

  e->info.name = g_strdup (fallback_name);
  e->info.description = g_strdup ("");
  e->info.kind = LATHE_PLUGIN_KIND_UNKNOWN;
  e->info.keyfile = g_strdup (keyfile);
  e->info.abi = -1;
  e->info.status = LATHE_PLUGIN_STATUS_OK;
  e->info.type = G_TYPE_INVALID;
  return e;
}

static void
add_entry (LathePluginRegistry *self,
           Entry               *e)
{
  if (e->info.status != LATHE_PLUGIN_STATUS_OK)
    e->info.type = G_TYPE_INVALID;
  g_ptr_array_add (self->entries, e);
  if (!g_hash_table_contains (self->by_name, e->info.name))
    g_hash_table_insert (self->by_name, e->info.name, e);
  g_debug ("plugin %s (%s) from %s: %s%s%s", e->info.name, lathe_plugin_kind_to_string (e->info.kind),
           e->info.keyfile, e->info.status == LATHE_PLUGIN_STATUS_OK ? "OK" : "unusable",
           e->info.reason ? ": " : "", e->info.reason ? e->info.reason : "");
}

/* Name, Description, Kind and ABI, then the name's uniqueness. FALSE (and
 * the entry unusable) when the plugin must not be loaded. */
static gboolean
read_keyfile (LathePluginRegistry *self,
              Entry               *e,
              GKeyFile            *kf)
{
  const char *file = e->info.keyfile;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *abi_text = NULL;
  char *description;
  Entry *first;
  gint64 abi;

  name = g_key_file_get_string (kf, GROUP, "Name", &error);
  if (name == NULL || *g_strstrip (name) == '\0')
    {
      unusable (e, "%s: %s", file, error ? error->message : "Name is empty");
      return FALSE;
    }
  g_free (e->info.name);
  e->info.name = g_steal_pointer (&name);

  description = g_key_file_get_locale_string (kf, GROUP, "Description", NULL, NULL);
  if (description != NULL)
    {
      g_free (e->info.description);
      e->info.description = description;
    }

  kind = g_key_file_get_string (kf, GROUP, "Kind", NULL);
  if (!lathe_plugin_kind_from_string (kind ? g_strstrip (kind) : NULL, &e->info.kind))
    {
      if (kind == NULL)
        unusable (e, "%s: no Kind key (quantizer, pruner or exporter)", file);
      else
        unusable (e, "%s: Kind=%s: expected quantizer, pruner or exporter", file, kind);
      return FALSE;
    }

  /* The ABI before anything is opened: a module built for another ABI
   * may not even load, let alone behave. */
  abi_text = g_key_file_get_string (kf, GROUP, "ABI", NULL);
  if (abi_text == NULL)
    {
      unusable (e, "%s: no ABI key (this Lathe needs ABI=%d)", file, LATHE_PLUGIN_ABI);
      return FALSE;
    }
  if (!g_ascii_string_to_signed (g_strstrip (abi_text), 10, 0, G_MAXINT, &abi, NULL))
    {
      unusable (e, "%s: ABI=%s: expected a whole number (this Lathe needs %d)", file, abi_text, LATHE_PLUGIN_ABI);
      return FALSE;
    }
  e->info.abi = (int) abi;
  if (abi != LATHE_PLUGIN_ABI)
    {
      unusable (e, "ABI %d, this Lathe needs %d", e->info.abi, LATHE_PLUGIN_ABI);
      return FALSE;
    }

  first = g_hash_table_lookup (self->by_name, e->info.name);
  if (first != NULL)
    {
      unusable (e, "duplicate: a plugin named '%s' was found first (%s)", e->info.name,
                first->info.module ? first->info.module : first->info.keyfile);
      return FALSE;
    }
  return TRUE;
}

/* Opens (or, when embedded, just registers) the module and checks what it
 * registered against the keyfile. Takes `module`. */
static void
load_module (LathePluginRegistry *self,
             Entry               *e,
             LathePluginModule   *module)
{
  gboolean ok;

  e->module = module;
  self->loading = e;
  ok = g_type_module_use (G_TYPE_MODULE (module));
  self->loading = NULL;

  if (!ok)
    {
      const GError *error = lathe_plugin_module_get_error (module);
      unusable (e, "%s", error ? error->message : "the module failed to load");
    }
  else if (e->info.type == G_TYPE_INVALID)
    unusable (e, "'%s' registered no method (lathe_plugin_registry_add_method was not called)", e->info.name);
  else
    {
      GType iface = lathe_plugin_kind_interface (e->info.kind);

      if (!g_type_is_a (e->info.type, iface))
        unusable (e, "%s does not implement %s (Kind=%s)", g_type_name (e->info.type),
                  g_type_name (iface), lathe_plugin_kind_to_string (e->info.kind));
      else if (G_TYPE_IS_ABSTRACT (e->info.type) || !G_TYPE_IS_INSTANTIATABLE (e->info.type))
        unusable (e, "%s cannot be instantiated", g_type_name (e->info.type));
    }

  if (e->info.status == LATHE_PLUGIN_STATUS_OK)
    e->klass = g_type_class_ref (e->info.type);
  else
    {
      e->info.type = G_TYPE_INVALID;
      if (!lathe_plugin_module_get_registered (module))
        g_clear_object (&e->module);
    }
}

static void
load_embedded (LathePluginRegistry *self)
{
  for (const LatheEmbeddedPlugin *p = lathe_embedded_plugins; p->name != NULL; p++)
    {
      g_autofree char *resource = g_strdup_printf ("/org/lathe/plugins/%s/%s.plugin", p->name, p->name);
      g_autofree char *uri = g_strconcat ("resource://", resource, NULL);
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      Entry *e = entry_new (uri, p->name);

      g_free (e->info.module);
      e->info.module = g_strdup ("built-in");
      bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
      if (bytes == NULL || !g_key_file_load_from_bytes (kf, bytes, G_KEY_FILE_NONE, &error))
        unusable (e, "%s: %s", uri, error->message);
      else if (read_keyfile (self, e, kf))
        {
          if (!g_key_file_get_boolean (kf, GROUP, "Embedded", NULL))
            unusable (e, "%s: a built-in plugin's keyfile must say Embedded=true", uri);
          else if (g_strcmp0 (e->info.name, p->name) != 0)
            unusable (e, "%s: Name=%s, but the engine built it in as '%s'", uri, e->info.name, p->name);
          else
            load_module (self, e, lathe_plugin_module_new (p->name, NULL, p->register_types, self));
        }
      add_entry (self, e);
    }
}

/* Module=name → libname.so beside the keyfile; a file name or a path is
 * taken relative to the keyfile's folder. */
static char *
module_path (const char *keyfile,
             const char *module)
{
  g_autofree char *dir = g_path_get_dirname (keyfile);

  if (g_path_is_absolute (module))
    return g_strdup (module);
  if (strchr (module, G_DIR_SEPARATOR) != NULL || g_str_has_suffix (module, "." G_MODULE_SUFFIX))
    return g_build_filename (dir, module, NULL);
  return g_module_build_path (dir, module);
}

static void
load_file (LathePluginRegistry *self,
           const char          *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *module = NULL;
  Entry *e;

  base[strlen (base) - strlen (".plugin")] = '\0';
  e = entry_new (path, base);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    {
      unusable (e, "%s: %s", path, error->message);
      add_entry (self, e);
      return;
    }

  /* Named even when the plugin is refused before it would be opened. */
  module = g_key_file_get_string (kf, GROUP, "Module", NULL);
  if (module != NULL && *g_strstrip (module) != '\0')
    e->info.module = module_path (path, module);

  if (read_keyfile (self, e, kf))
    {
      if (g_key_file_get_boolean (kf, GROUP, "Embedded", NULL))
        unusable (e, "%s: Embedded=true, but this Lathe has no built-in plugin '%s'", path, e->info.name);
      else if (e->info.module == NULL)
        unusable (e, "%s: no Module key", path);
      else if (!g_file_test (e->info.module, G_FILE_TEST_IS_REGULAR))
        unusable (e, "the module %s does not exist", e->info.module);
      else
        load_module (self, e, lathe_plugin_module_new (e->info.name, e->info.module, NULL, self));
    }
  add_entry (self, e);
}

/* *.plugin in `dir` and in its immediate subdirectories. */
static void
collect_keyfiles (const char *dir,
                  GPtrArray  *out,
                  int         depth)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_str_has_suffix (name, ".plugin") && strlen (name) > strlen (".plugin") &&
          g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&path));
      else if (depth > 0 && g_file_test (path, G_FILE_TEST_IS_DIR))
        collect_keyfiles (path, out, depth - 1);
    }
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Whether this engine library is the one in the build tree (then the build
 * tree's plugins are the ones built with it). */
static gboolean
engine_in_build_tree (void)
{
#ifdef HAVE_DLADDR
  Dl_info dl;
  g_autofree char *dir = NULL;
  char *here, *build;
  gboolean same;

  if (dladdr ((void *) lathe_plugin_registry_get_default, &dl) == 0 || dl.dli_fname == NULL)
    return FALSE;
  dir = g_path_get_dirname (dl.dli_fname);
  here = realpath (dir, NULL);
  build = realpath (LATHE_BUILD_ENGINE_DIR, NULL);
  same = here != NULL && build != NULL && strcmp (here, build) == 0;
  free (here);
  free (build);
  return same;
#else
  return FALSE;
#endif
}

static GStrv
compute_search_path (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("LATHE_PLUGIN_PATH");

  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_ptr_array_add (candidates, g_strdup (parts[i]));
    }
  if (engine_in_build_tree ())
    g_ptr_array_add (candidates, g_strdup (LATHE_BUILD_PLUGIN_DIR));
  g_ptr_array_add (candidates, g_strdup (LATHE_PLUGIN_DIR));

  /* The same folder twice would list every plugin in it as its own
   * duplicate. */
  for (guint i = 0; i < candidates->len; i++)
    {
      const char *dir = g_ptr_array_index (candidates, i);
      char *real = realpath (dir, NULL);
      char *key = real ? g_strdup (real) : g_canonicalize_filename (dir, NULL);

      free (real);
      if (g_hash_table_add (seen, key))
        g_strv_builder_add (builder, dir);
    }
  return g_strv_builder_end (builder);
}

static void
lathe_plugin_registry_finalize (GObject *object)
{
  LathePluginRegistry *self = LATHE_PLUGIN_REGISTRY (object);

  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->search_path, g_strfreev);

  G_OBJECT_CLASS (lathe_plugin_registry_parent_class)->finalize (object);
}

static void
lathe_plugin_registry_class_init (LathePluginRegistryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lathe_plugin_registry_finalize;
}

static void
lathe_plugin_registry_init (LathePluginRegistry *self)
{
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
}

static LathePluginRegistry *
lathe_plugin_registry_load (void)
{
  LathePluginRegistry *self = g_object_new (LATHE_TYPE_PLUGIN_REGISTRY, NULL);

  /* The extension points exist before any plugin implements them. */
  g_type_ensure (LATHE_TYPE_QUANTIZER);
  g_type_ensure (LATHE_TYPE_PRUNER);
  g_type_ensure (LATHE_TYPE_EXPORTER);

  load_embedded (self);
  self->search_path = compute_search_path ();
  for (guint d = 0; self->search_path[d] != NULL; d++)
    {
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

      collect_keyfiles (self->search_path[d], files, 1);
      g_ptr_array_sort (files, compare_paths);
      for (guint f = 0; f < files->len; f++)
        load_file (self, g_ptr_array_index (files, f));
    }
  return self;
}

LathePluginRegistry *
lathe_plugin_registry_get_default (void)
{
  static LathePluginRegistry *instance;

  if (g_once_init_enter (&instance))
    g_once_init_leave (&instance, lathe_plugin_registry_load ());
  return instance;
}

GPtrArray *
lathe_plugin_registry_list (LathePluginRegistry *self)
{
  GPtrArray *out;

  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);

  out = g_ptr_array_sized_new (self->entries->len);
  for (guint i = 0; i < self->entries->len; i++)
    g_ptr_array_add (out, &((Entry *) g_ptr_array_index (self->entries, i))->info);
  return out;
}

const char * const *
lathe_plugin_registry_get_search_path (LathePluginRegistry *self)
{
  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);

  return (const char * const *) self->search_path;
}

const LathePluginInfo *
lathe_plugin_registry_lookup (LathePluginRegistry *self,
                              const char          *name)
{
  Entry *e;

  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  e = g_hash_table_lookup (self->by_name, name);
  return e ? &e->info : NULL;
}

const LathePluginInfo *
lathe_plugin_registry_lookup_type (LathePluginRegistry *self,
                                   GType                type)
{
  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = g_ptr_array_index (self->entries, i);
      if (e->info.status == LATHE_PLUGIN_STATUS_OK && g_type_is_a (type, e->info.type))
        return &e->info;
    }
  return NULL;
}

char **
lathe_plugin_registry_list_names (LathePluginRegistry *self,
                                  LathePluginKind      kind)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *e = g_ptr_array_index (self->entries, i);
      if (e->info.status == LATHE_PLUGIN_STATUS_OK && e->info.kind == kind)
        g_strv_builder_add (builder, e->info.name);
    }
  return g_strv_builder_end (builder);
}

GObject *
lathe_plugin_registry_create (LathePluginRegistry  *self,
                              LathePluginKind       kind,
                              const char           *name,
                              GError              **error)
{
  const LathePluginInfo *info;

  g_return_val_if_fail (LATHE_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (kind >= 0 && kind < LATHE_PLUGIN_N_KINDS, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  info = lathe_plugin_registry_lookup (self, name);
  if (info != NULL && info->status != LATHE_PLUGIN_STATUS_OK &&
      (info->kind == kind || info->kind == LATHE_PLUGIN_KIND_UNKNOWN))
    {
      g_set_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_UNUSABLE,
                   "the %s plugin '%s' is unusable: %s", lathe_plugin_kind_to_string (kind), name, info->reason);
      return NULL;
    }
  if (info == NULL || info->kind != kind)
    {
      g_auto(GStrv) names = lathe_plugin_registry_list_names (self, kind);
      g_autofree char *list = g_strjoinv (", ", names);

      g_set_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_NOT_FOUND,
                   "no %s plugin named '%s'%s%s (available: %s)", lathe_plugin_kind_to_string (kind), name,
                   info ? ": it is a " : "", info ? lathe_plugin_kind_to_string (info->kind) : "",
                   names[0] ? list : "none");
      return NULL;
    }
  return g_object_new (info->type, NULL);
}

LatheQuantizer *
lathe_plugin_registry_get_quantizer (LathePluginRegistry  *self,
                                     const char           *name,
                                     GError              **error)
{
  return (LatheQuantizer *) lathe_plugin_registry_create (self, LATHE_PLUGIN_KIND_QUANTIZER, name, error);
}

LathePruner *
lathe_plugin_registry_get_pruner (LathePluginRegistry  *self,
                                  const char           *name,
                                  GError              **error)
{
  return (LathePruner *) lathe_plugin_registry_create (self, LATHE_PLUGIN_KIND_PRUNER, name, error);
}

LatheExporter *
lathe_plugin_registry_get_exporter (LathePluginRegistry  *self,
                                    const char           *name,
                                    GError              **error)
{
  return (LatheExporter *) lathe_plugin_registry_create (self, LATHE_PLUGIN_KIND_EXPORTER, name, error);
}

void
lathe_plugin_registry_add_method (LathePluginRegistry *self,
                                  const char          *name,
                                  GType                type)
{
  Entry *e;

  g_return_if_fail (LATHE_IS_PLUGIN_REGISTRY (self));
  g_return_if_fail (name != NULL);
  /* Only from inside a register function. */
  g_return_if_fail (self->loading != NULL);

  e = self->loading;
  if (g_strcmp0 (name, e->info.name) != 0)
    unusable (e, "the module registered a method named '%s', its keyfile names '%s'", name, e->info.name);
  else if (type == G_TYPE_INVALID)
    unusable (e, "'%s' could not register its type (is its type name taken by another plugin?)", name);
  else if (e->info.type != G_TYPE_INVALID)
    unusable (e, "'%s' registered two methods (%s and %s)", name, g_type_name (e->info.type), g_type_name (type));
  else
    e->info.type = type;
}

GParamSpec **
lathe_plugin_info_list_params (const LathePluginInfo *info,
                               guint                 *n_params)
{
  GObjectClass *klass;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (n_params != NULL, NULL);

  *n_params = 0;
  if (info->status != LATHE_PLUGIN_STATUS_OK)
    return NULL;
  klass = g_type_class_peek (info->type);
  g_return_val_if_fail (klass != NULL, NULL);
  return g_object_class_list_properties (klass, n_params);
}

/* Parameters. */

const char *
lathe_plugin_param_type_name (GParamSpec *pspec)
{
  g_return_val_if_fail (G_IS_PARAM_SPEC (pspec), NULL);

  switch (G_TYPE_FUNDAMENTAL (pspec->value_type))
    {
    case G_TYPE_INT:     return "int";
    case G_TYPE_UINT:    return "uint";
    case G_TYPE_LONG:    return "long";
    case G_TYPE_ULONG:   return "ulong";
    case G_TYPE_INT64:   return "int64";
    case G_TYPE_UINT64:  return "uint64";
    case G_TYPE_FLOAT:   return "float";
    case G_TYPE_DOUBLE:  return "double";
    case G_TYPE_BOOLEAN: return "boolean";
    case G_TYPE_ENUM:    return "enum";
    case G_TYPE_STRING:  return "string";
    default:             return g_type_name (pspec->value_type);
    }
}

/* Integer specs as [min, max] in the widest types. */
static gboolean
int_range (GParamSpec *pspec,
           gint64     *smin,
           gint64     *smax,
           guint64    *umax,
           gboolean   *is_unsigned)
{
  *is_unsigned = FALSE;
  *umax = 0;
  if (G_IS_PARAM_SPEC_INT (pspec))
    *smin = G_PARAM_SPEC_INT (pspec)->minimum, *smax = G_PARAM_SPEC_INT (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_LONG (pspec))
    *smin = G_PARAM_SPEC_LONG (pspec)->minimum, *smax = G_PARAM_SPEC_LONG (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_INT64 (pspec))
    *smin = G_PARAM_SPEC_INT64 (pspec)->minimum, *smax = G_PARAM_SPEC_INT64 (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_UINT (pspec))
    *is_unsigned = TRUE, *smin = G_PARAM_SPEC_UINT (pspec)->minimum, *umax = G_PARAM_SPEC_UINT (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_ULONG (pspec))
    *is_unsigned = TRUE, *smin = (gint64) G_PARAM_SPEC_ULONG (pspec)->minimum, *umax = G_PARAM_SPEC_ULONG (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_UINT64 (pspec))
    *is_unsigned = TRUE, *smin = (gint64) G_PARAM_SPEC_UINT64 (pspec)->minimum, *umax = G_PARAM_SPEC_UINT64 (pspec)->maximum;
  else
    return FALSE;
  return TRUE;
}

static gboolean
float_range (GParamSpec *pspec,
             double     *min,
             double     *max)
{
  if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    *min = G_PARAM_SPEC_DOUBLE (pspec)->minimum, *max = G_PARAM_SPEC_DOUBLE (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_FLOAT (pspec))
    *min = G_PARAM_SPEC_FLOAT (pspec)->minimum, *max = G_PARAM_SPEC_FLOAT (pspec)->maximum;
  else
    return FALSE;
  return TRUE;
}

static char *
enum_nicks (GParamSpec *pspec,
            const char *separator)
{
  GEnumClass *klass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    g_string_append_printf (out, "%s%s", i ? separator : "", klass->values[i].value_nick);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
lathe_plugin_param_format_range (GParamSpec *pspec)
{
  gint64 smin, smax;
  guint64 umax;
  gboolean is_unsigned;
  double dmin, dmax;

  g_return_val_if_fail (G_IS_PARAM_SPEC (pspec), NULL);

  if (int_range (pspec, &smin, &smax, &umax, &is_unsigned))
    return is_unsigned ? g_strdup_printf ("%" G_GINT64_FORMAT " … %" G_GUINT64_FORMAT, smin, umax)
                       : g_strdup_printf ("%" G_GINT64_FORMAT " … %" G_GINT64_FORMAT, smin, smax);
  if (float_range (pspec, &dmin, &dmax))
    return g_strdup_printf ("%g … %g", dmin, dmax);
  if (G_IS_PARAM_SPEC_ENUM (pspec))
    return enum_nicks (pspec, " | ");
  if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    return g_strdup ("true | false");
  if (G_IS_PARAM_SPEC_STRING (pspec))
    return g_strdup ("text");
  return g_strdup (g_type_name (pspec->value_type));
}

char *
lathe_plugin_param_format_default (GParamSpec *pspec)
{
  const GValue *value;

  g_return_val_if_fail (G_IS_PARAM_SPEC (pspec), NULL);

  value = g_param_spec_get_default_value (pspec);
  switch (G_TYPE_FUNDAMENTAL (pspec->value_type))
    {
    case G_TYPE_INT:     return g_strdup_printf ("%d", g_value_get_int (value));
    case G_TYPE_UINT:    return g_strdup_printf ("%u", g_value_get_uint (value));
    case G_TYPE_LONG:    return g_strdup_printf ("%ld", g_value_get_long (value));
    case G_TYPE_ULONG:   return g_strdup_printf ("%lu", g_value_get_ulong (value));
    case G_TYPE_INT64:   return g_strdup_printf ("%" G_GINT64_FORMAT, g_value_get_int64 (value));
    case G_TYPE_UINT64:  return g_strdup_printf ("%" G_GUINT64_FORMAT, g_value_get_uint64 (value));
    case G_TYPE_FLOAT:   return g_strdup_printf ("%g", (double) g_value_get_float (value));
    case G_TYPE_DOUBLE:  return g_strdup_printf ("%g", g_value_get_double (value));
    case G_TYPE_BOOLEAN: return g_strdup (g_value_get_boolean (value) ? "true" : "false");
    case G_TYPE_STRING:  return g_strdup (g_value_get_string (value) ? g_value_get_string (value) : "");
    case G_TYPE_ENUM:
      {
        GEnumValue *v = g_enum_get_value (G_PARAM_SPEC_ENUM (pspec)->enum_class, g_value_get_enum (value));
        return g_strdup (v ? v->value_nick : "?");
      }
    default:
      return g_strdup_value_contents (value);
    }
}

static gboolean
parse_bool (const char *text,
            gboolean   *out)
{
  static const char * const yes[] = { "true", "yes", "on", "1" };
  static const char * const no[] = { "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (text, yes[i]) == 0)
        return *out = TRUE, TRUE;
      if (g_ascii_strcasecmp (text, no[i]) == 0)
        return *out = FALSE, TRUE;
    }
  return FALSE;
}

static gboolean
param_error (GError     **error,
             const char  *method,
             const char  *param,
             const char  *value,
             const char  *format,
             ...) G_GNUC_PRINTF (5, 6);

static gboolean
param_error (GError     **error,
             const char  *method,
             const char  *param,
             const char  *value,
             const char  *format,
             ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_PARAM, "%s.%s=%s: %s", method, param, value, msg);
  return FALSE;
}

gboolean
lathe_plugin_registry_set_param (GObject     *method,
                                 const char  *param,
                                 const char  *value,
                                 GError     **error)
{
  const LathePluginInfo *info;
  const char *name;
  GParamSpec *pspec;
  g_auto(GValue) gvalue = G_VALUE_INIT;
  gint64 smin, smax;
  guint64 umax;
  gboolean is_unsigned;
  double dmin, dmax;

  g_return_val_if_fail (G_IS_OBJECT (method), FALSE);
  g_return_val_if_fail (param != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  info = lathe_plugin_registry_lookup_type (lathe_plugin_registry_get_default (), G_OBJECT_TYPE (method));
  name = info ? info->name : G_OBJECT_TYPE_NAME (method);

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (method), param);
  if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE) || (pspec->flags & G_PARAM_CONSTRUCT_ONLY))
    {
      guint n = 0;
      g_autofree GParamSpec **specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (method), &n);
      g_autoptr(GString) names = g_string_new (NULL);

      for (guint i = 0; i < n; i++)
        g_string_append_printf (names, "%s%s", i ? ", " : "", specs[i]->name);
      g_set_error (error, LATHE_PLUGIN_ERROR, LATHE_PLUGIN_ERROR_PARAM,
                   "%s has no parameter '%s' (%s%s)", name, param,
                   n ? "its parameters: " : "it has none", names->str);
      return FALSE;
    }

  g_value_init (&gvalue, pspec->value_type);
  if (int_range (pspec, &smin, &smax, &umax, &is_unsigned))
    {
      if (is_unsigned)
        {
          guint64 u;
          if (!g_ascii_string_to_unsigned (value, 10, (guint64) smin, umax, &u, NULL))
            return param_error (error, name, pspec->name, value,
                                "expected a whole number from %" G_GINT64_FORMAT " to %" G_GUINT64_FORMAT,
                                smin, umax);
          if (G_VALUE_HOLDS_UINT (&gvalue))
            g_value_set_uint (&gvalue, (guint) u);
          else if (G_VALUE_HOLDS_ULONG (&gvalue))
            g_value_set_ulong (&gvalue, (gulong) u);
          else
            g_value_set_uint64 (&gvalue, u);
        }
      else
        {
          gint64 s;
          if (!g_ascii_string_to_signed (value, 10, smin, smax, &s, NULL))
            return param_error (error, name, pspec->name, value,
                                "expected a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                                smin, smax);
          if (G_VALUE_HOLDS_INT (&gvalue))
            g_value_set_int (&gvalue, (int) s);
          else if (G_VALUE_HOLDS_LONG (&gvalue))
            g_value_set_long (&gvalue, (glong) s);
          else
            g_value_set_int64 (&gvalue, s);
        }
    }
  else if (float_range (pspec, &dmin, &dmax))
    {
      char *end = NULL;
      double d = g_ascii_strtod (value, &end);

      if (*value == '\0' || end == NULL || *end != '\0' || !isfinite (d) || d < dmin || d > dmax)
        return param_error (error, name, pspec->name, value, "expected a number from %g to %g", dmin, dmax);
      if (G_VALUE_HOLDS_FLOAT (&gvalue))
        g_value_set_float (&gvalue, (float) d);
      else
        g_value_set_double (&gvalue, d);
    }
  else if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    {
      gboolean b;
      if (!parse_bool (value, &b))
        return param_error (error, name, pspec->name, value, "expected true or false");
      g_value_set_boolean (&gvalue, b);
    }
  else if (G_IS_PARAM_SPEC_ENUM (pspec))
    {
      GEnumClass *klass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
      GEnumValue *v = g_enum_get_value_by_nick (klass, value);

      if (v == NULL)
        {
          g_autofree char *nicks = enum_nicks (pspec, ", ");
          return param_error (error, name, pspec->name, value, "expected one of %s", nicks);
        }
      g_value_set_enum (&gvalue, v->value);
    }
  else if (G_IS_PARAM_SPEC_STRING (pspec))
    g_value_set_string (&gvalue, value);
  else
    return param_error (error, name, pspec->name, value, "a %s parameter cannot be set from text",
                        g_type_name (pspec->value_type));

  g_object_set_property (method, pspec->name, &gvalue);
  return TRUE;
}
