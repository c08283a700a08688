/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-plugin"

/* N_() only: the nick and blurb are in the "lathe" catalog for a GUI that
 * shows them translated (g_dgettext); the CLI prints them as they are. */
#include <glib/gi18n.h>
#include <string.h>

#include "compress/lathe-prune.h"
#include "core/lathe-error.h"
#include "lbp-channel-pruner.h"

struct _LbpChannelPruner
{
  GObject   parent_instance;

  LatheNorm norm;
};

enum {
  PROP_0,
  PROP_NORM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void pruner_iface_init (LathePrunerInterface *iface);

G_DEFINE_DYNAMIC_TYPE_EXTENDED (LbpChannelPruner, lbp_channel_pruner, G_TYPE_OBJECT, G_TYPE_FLAG_FINAL,
                                G_IMPLEMENT_INTERFACE_DYNAMIC (LATHE_TYPE_PRUNER, pruner_iface_init))

static GType lbp_channel_norm_type;

static const GEnumValue norm_values[] = {
  { LATHE_NORM_L1, "LATHE_NORM_L1", "l1" },
  { LATHE_NORM_L2, "LATHE_NORM_L2", "l2" },
  { 0, NULL, NULL }
};

GType
lbp_channel_norm_get_type (void)
{
  return lbp_channel_norm_type;
}

static gboolean
lbp_channel_pruner_supports (LathePruner               *pruner,
                             const LatheLayerSettings  *s,
                             GError                   **error)
{
  if (!(s->sparsity >= 0.0 && s->sparsity <= 1.0))
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "channel: sparsity %g: expected 0 to 1", s->sparsity);
      return FALSE;
    }
  return TRUE;
}

static gboolean
lbp_channel_pruner_prune (LathePruner               *pruner,
                          LatheWeightView           *view,
                          float                     *flat,
                          gsize                      n,
                          const LatheLayerSettings  *s,
                          guint8                    *keep,
                          GError                   **error)
{
  LbpChannelPruner *self = LBP_CHANNEL_PRUNER (pruner);
  g_autofree guint8 *row_keep = NULL;

  if (keep == NULL)
    {
      lathe_prune_channel (view, s->sparsity, self->norm, NULL);
      return TRUE;
    }
  row_keep = g_malloc (MAX (view->rows, 1));
  lathe_prune_channel (view, s->sparsity, self->norm, row_keep);
  for (gsize r = 0; r < view->rows; r++)
    memset (keep + r * view->cols, row_keep[r], view->cols);
  return TRUE;
}

static void
pruner_iface_init (LathePrunerInterface *iface)
{
  iface->supports = lbp_channel_pruner_supports;
  iface->prune = lbp_channel_pruner_prune;
}

static void
lbp_channel_pruner_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  LbpChannelPruner *self = LBP_CHANNEL_PRUNER (object);

  switch (prop_id)
    {
    case PROP_NORM:
      g_value_set_enum (value, self->norm);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_channel_pruner_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  LbpChannelPruner *self = LBP_CHANNEL_PRUNER (object);

  switch (prop_id)
    {
    case PROP_NORM:
      if (self->norm != (LatheNorm) g_value_get_enum (value))
        {
          self->norm = g_value_get_enum (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lbp_channel_pruner_class_init (LbpChannelPrunerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = lbp_channel_pruner_get_property;
  object_class->set_property = lbp_channel_pruner_set_property;

  properties[PROP_NORM] =
    g_param_spec_enum ("norm", N_("Norm"),
                       N_("The norm output units are ranked by"),
                       LBP_TYPE_CHANNEL_NORM, LATHE_NORM_L2,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lbp_channel_pruner_class_finalize (LbpChannelPrunerClass *klass)
{
}

static void
lbp_channel_pruner_init (LbpChannelPruner *self)
{
  self->norm = LATHE_NORM_L2;
}

gboolean
lbp_channel_register (GTypeModule         *module,
                      LathePluginRegistry *registry)
{
  lbp_channel_norm_type = g_type_module_register_enum (module, "LbpChannelNorm", norm_values);
  lbp_channel_pruner_register_type (module);
  lathe_plugin_registry_add_method (registry, "channel", LBP_TYPE_CHANNEL_PRUNER);
  return lbp_channel_norm_type != G_TYPE_INVALID;
}
