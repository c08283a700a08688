/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-onnx"

#include <math.h>

#include <glib/gstdio.h>

#include "core/lathe-error.h"
#include "onnx/lathe-model.h"
#include "onnx/lathe-onnx.h"

struct _LatheModel {
  GObject      parent_instance;
  char        *path;
  LatheGraph  *graph;
  goffset      file_size;
  double       load_seconds;
  char        *sha256;
  GMutex       lock;
};

G_DEFINE_FINAL_TYPE (LatheModel, lathe_model, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
lathe_model_finalize (GObject *object)
{
  LatheModel *self = LATHE_MODEL (object);

  g_clear_pointer (&self->graph, lathe_graph_free);
  g_free (self->path);
  g_free (self->sha256);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (lathe_model_parent_class)->finalize (object);
}

static void
lathe_model_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  LatheModel *self = LATHE_MODEL (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_model_class_init (LatheModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lathe_model_finalize;
  object_class->get_property = lathe_model_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lathe_model_init (LatheModel *self)
{
  g_mutex_init (&self->lock);
}

LatheModel *
lathe_model_new_from_file (const char    *path,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(LatheModel) self = NULL;
  gint64 start = g_get_monotonic_time ();
  GStatBuf st;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  self = g_object_new (LATHE_TYPE_MODEL, NULL);
  self->path = g_strdup (path);
  if (g_stat (path, &st) == 0)
    self->file_size = st.st_size;
  self->graph = lathe_onnx_load_file (path, error);
  if (self->graph == NULL)
    return NULL;
  self->load_seconds = (g_get_monotonic_time () - start) / 1e6;
  return g_steal_pointer (&self);
}

LatheGraph *
lathe_model_get_graph (LatheModel *self)
{
  g_return_val_if_fail (LATHE_IS_MODEL (self), NULL);
  return self->graph;
}

const char *
lathe_model_get_path (LatheModel *self)
{
  g_return_val_if_fail (LATHE_IS_MODEL (self), NULL);
  return self->path;
}

goffset
lathe_model_get_file_size (LatheModel *self)
{
  g_return_val_if_fail (LATHE_IS_MODEL (self), 0);
  return self->file_size;
}

double
lathe_model_get_load_seconds (LatheModel *self)
{
  g_return_val_if_fail (LATHE_IS_MODEL (self), 0);
  return self->load_seconds;
}

const char *
lathe_model_get_sha256 (LatheModel *self)
{
  g_return_val_if_fail (LATHE_IS_MODEL (self), NULL);

  g_mutex_lock (&self->lock);
  if (self->sha256 == NULL)
    {
      g_autoptr(GMappedFile) mapped = g_mapped_file_new (self->path, FALSE, NULL);
      if (mapped != NULL)
        self->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                    (const guchar *) g_mapped_file_get_contents (mapped),
                                                    g_mapped_file_get_length (mapped));
    }
  g_mutex_unlock (&self->lock);
  return self->sha256;
}

GArray *
lathe_parse_float_list (const char  *text,
                        const char  *what,
                        GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (float));

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *end = NULL;
      char *s = g_strstrip (parts[i]);
      double v = g_ascii_strtod (s, &end);

      if (*s == '\0' || end == NULL || *end != '\0' || !isfinite (v))
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                       "%s: '%s' is not a number (expected comma-separated numbers such as 0.286 or 0.485,0.456,0.406)",
                       what, s);
          return NULL;
        }
      g_array_append_vals (values, &(float) { (float) v }, 1);
    }
  if (values->len == 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                   "%s: empty list of numbers", what);
      return NULL;
    }
  return g_steal_pointer (&values);
}

gboolean
lathe_model_get_normalization (LatheModel  *self,
                               GArray     **mean,
                               GArray     **std,
                               GError     **error)
{
  const char *m = lathe_graph_get_metadata (self->graph, "lathe.mean");
  const char *s = lathe_graph_get_metadata (self->graph, "lathe.std");
  g_autofree char *what_m = NULL;
  g_autofree char *what_s = NULL;
  g_autoptr(GArray) am = NULL;
  g_autoptr(GArray) as = NULL;

  if (m == NULL || s == NULL)
    return FALSE;
  what_m = g_strdup_printf ("%s: metadata lathe.mean", self->path);
  what_s = g_strdup_printf ("%s: metadata lathe.std", self->path);
  if (!(am = lathe_parse_float_list (m, what_m, error)) ||
      !(as = lathe_parse_float_list (s, what_s, error)))
    return FALSE;
  for (guint i = 0; i < as->len; i++)
    if (g_array_index (as, float, i) == 0.f)
      {
        g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
                     "%s: a standard deviation of 0 cannot normalise", what_s);
        return FALSE;
      }
  *mean = g_steal_pointer (&am);
  *std = g_steal_pointer (&as);
  return TRUE;
}

char **
lathe_model_dup_labels (LatheModel *self)
{
  const char *l = lathe_graph_get_metadata (self->graph, "lathe.labels");

  if (l == NULL || *l == '\0')
    return NULL;
  return g_strsplit (l, ",", -1);
}

void
lathe_model_count_parameters (LatheModel *self,
                              guint64    *n_params,
                              guint64    *n_bytes)
{
  guint64 p = 0, b = 0;

  for (guint v = 0; v < self->graph->values->len; v++)
    {
      LatheValue *value = lathe_graph_value (self->graph, v);
      if (value->kind == LATHE_VALUE_INITIALIZER)
        {
          p += value->initializer->n;
          b += lathe_tensor_nbytes (value->initializer);
        }
    }
  *n_params = p;
  *n_bytes = b;
}
