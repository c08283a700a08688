/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-cli"

#include <string.h>

#include "lathe-cli.h"
#include "plugin/lathe-plugin-registry.h"

/* lathe-cli plugins [--json]: every plugin the registry found, usable or
 * not, with where it came from and its parameters. Unusable plugins are
 * listed with their reason; listing them is not a failure. */

static const char *
status_name (const LathePluginInfo *info)
{
  return info->status == LATHE_PLUGIN_STATUS_OK ? "OK" : "UNUSABLE";
}

static void
print_text (GPtrArray           *plugins,
            LathePluginRegistry *registry)
{
  const char * const *path = lathe_plugin_registry_get_search_path (registry);

  for (guint i = 0; i < plugins->len; i++)
    {
      const LathePluginInfo *info = g_ptr_array_index (plugins, i);
      guint n_params = 0;
      g_autofree GParamSpec **params = lathe_plugin_info_list_params (info, &n_params);
      int width = 0;

      if (i > 0)
        g_print ("\n");
      g_print ("%s (%s): %s%s%s\n", info->name, lathe_plugin_kind_to_string (info->kind), status_name (info),
               info->reason ? " — " : "", info->reason ? info->reason : "");
      if (info->description[0] != '\0')
        g_print ("  %s\n", info->description);
      if (info->module != NULL)
        g_print ("  module: %s\n", info->module);
      if (g_strcmp0 (info->module, "built-in") != 0)
        g_print ("  keyfile: %s\n", info->keyfile);
      if (info->status != LATHE_PLUGIN_STATUS_OK)
        continue;
      if (n_params == 0)
        {
          g_print ("  parameters: none\n");
          continue;
        }

      g_print ("  parameters:\n");
      for (guint p = 0; p < n_params; p++)
        width = MAX (width, (int) strlen (params[p]->name));
      for (guint p = 0; p < n_params; p++)
        {
          g_autofree char *range = lathe_plugin_param_format_range (params[p]);
          g_autofree char *def = lathe_plugin_param_format_default (params[p]);
          const char *blurb = g_param_spec_get_blurb (params[p]);

          g_print ("    %-*s  %s, %s, default %s\n", width, params[p]->name,
                   lathe_plugin_param_type_name (params[p]), range, def);
          if (blurb != NULL && blurb[0] != '\0')
            g_print ("    %-*s  %s\n", width, "", blurb);
        }
    }

  g_print ("\nSearch path ($LATHE_PLUGIN_PATH, the build tree when run from it, the installed plugins):\n");
  for (guint d = 0; path[d] != NULL; d++)
    g_print ("  %s%s\n", path[d], g_file_test (path[d], G_FILE_TEST_IS_DIR) ? "" : " (does not exist)");
}

/* A parameter's default, range and values as JSON values of its type. */
static void
add_param_json (JsonBuilder *b,
                GParamSpec  *pspec)
{
  const GValue *def = g_param_spec_get_default_value (pspec);
  const char *blurb = g_param_spec_get_blurb (pspec);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, pspec->name);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, lathe_plugin_param_type_name (pspec));
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, blurb ? blurb : "");

  if (G_IS_PARAM_SPEC_INT (pspec))
    {
      json_builder_set_member_name (b, "minimum");
      json_builder_add_int_value (b, G_PARAM_SPEC_INT (pspec)->minimum);
      json_builder_set_member_name (b, "maximum");
      json_builder_add_int_value (b, G_PARAM_SPEC_INT (pspec)->maximum);
      json_builder_set_member_name (b, "default");
      json_builder_add_int_value (b, g_value_get_int (def));
    }
  else if (G_IS_PARAM_SPEC_UINT (pspec))
    {
      json_builder_set_member_name (b, "minimum");
      json_builder_add_int_value (b, G_PARAM_SPEC_UINT (pspec)->minimum);
      json_builder_set_member_name (b, "maximum");
      json_builder_add_int_value (b, G_PARAM_SPEC_UINT (pspec)->maximum);
      json_builder_set_member_name (b, "default");
      json_builder_add_int_value (b, g_value_get_uint (def));
    }
  else if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    {
      json_builder_set_member_name (b, "minimum");
      json_builder_add_double_value (b, G_PARAM_SPEC_DOUBLE (pspec)->minimum);
      json_builder_set_member_name (b, "maximum");
      json_builder_add_double_value (b, G_PARAM_SPEC_DOUBLE (pspec)->maximum);
      json_builder_set_member_name (b, "default");
      json_builder_add_double_value (b, g_value_get_double (def));
    }
  else if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    {
      json_builder_set_member_name (b, "default");
      json_builder_add_boolean_value (b, g_value_get_boolean (def));
    }
  else if (G_IS_PARAM_SPEC_ENUM (pspec))
    {
      GEnumClass *klass = G_PARAM_SPEC_ENUM (pspec)->enum_class;
      GEnumValue *v = g_enum_get_value (klass, g_value_get_enum (def));

      json_builder_set_member_name (b, "values");
      json_builder_begin_array (b);
      for (guint i = 0; i < klass->n_values; i++)
        json_builder_add_string_value (b, klass->values[i].value_nick);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "default");
      json_builder_add_string_value (b, v ? v->value_nick : NULL);
    }
  else
    {
      /* Anything else as the text --set would take. */
      g_autofree char *range = lathe_plugin_param_format_range (pspec);
      g_autofree char *text = lathe_plugin_param_format_default (pspec);

      json_builder_set_member_name (b, "range");
      json_builder_add_string_value (b, range);
      json_builder_set_member_name (b, "default");
      json_builder_add_string_value (b, text);
    }
  json_builder_end_object (b);
}

static void
print_json (GPtrArray *plugins)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; i < plugins->len; i++)
    {
      const LathePluginInfo *info = g_ptr_array_index (plugins, i);
      guint n_params = 0;
      g_autofree GParamSpec **params = lathe_plugin_info_list_params (info, &n_params);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, info->name);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, lathe_plugin_kind_to_string (info->kind));
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, status_name (info));
      json_builder_set_member_name (b, "reason");
      if (info->reason != NULL)
        json_builder_add_string_value (b, info->reason);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, info->description);
      json_builder_set_member_name (b, "module");
      if (info->module != NULL)
        json_builder_add_string_value (b, info->module);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "keyfile");
      json_builder_add_string_value (b, info->keyfile);
      json_builder_set_member_name (b, "abi");
      if (info->abi >= 0)
        json_builder_add_int_value (b, info->abi);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "parameters");
      json_builder_begin_array (b);
      for (guint p = 0; p < n_params; p++)
        add_param_json (b, params[p]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  lathe_cli_print_json (b);
}

int
lathe_cli_plugins (int    argc,
                   char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array, one object per plugin", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GPtrArray) plugins = NULL;
  LathePluginRegistry *registry;
  int status;

  g_option_context_set_summary (context,
    "List the compression plugins (quantizers, pruners, exporters): each one's\n"
    "status, where it came from and its parameters. Plugins load from\n"
    "$LATHE_PLUGIN_PATH (colon-separated), then the build tree when run from it,\n"
    "then the installed plugin directory. An unusable plugin is listed with the\n"
    "reason and does not make the command fail.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!lathe_cli_parse (context, &argc, &argv, &status))
    return status;
  if (argc > 1)
    return lathe_cli_usage_error (context, "unexpected argument '%s'", argv[1]);

  registry = lathe_plugin_registry_get_default ();
  plugins = lathe_plugin_registry_list (registry);
  if (json)
    print_json (plugins);
  else
    print_text (plugins, registry);
  return LATHE_EXIT_OK;
}
