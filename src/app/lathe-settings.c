/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include "lathe-settings.h"

GSettings *
lathe_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, LATHE_SETTINGS_SCHEMA, TRUE);
#ifdef LATHE_BUILD_SCHEMADIR
  if (schema == NULL && g_file_test (LATHE_BUILD_SCHEMADIR "/gschemas.compiled", G_FILE_TEST_EXISTS))
    {
      g_autoptr(GSettingsSchemaSource) build = NULL;
      g_autoptr(GError) error = NULL;

      if ((build = g_settings_schema_source_new_from_directory (LATHE_BUILD_SCHEMADIR, source, FALSE, &error)))
        schema = g_settings_schema_source_lookup (build, LATHE_SETTINGS_SCHEMA, FALSE);
      else
        g_warning ("%s: %s", LATHE_BUILD_SCHEMADIR, error->message);
    }
#endif
  if (schema == NULL)
    {
      g_warning ("The settings schema %s is not installed; preferences are not kept", LATHE_SETTINGS_SCHEMA);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}
