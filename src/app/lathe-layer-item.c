/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include <math.h>

#include <glib/gi18n.h>

#include "lathe-app-format.h"
#include "lathe-layer-item.h"

struct _LatheLayerItem {
  GObject  parent_instance;

  char    *name;
  char    *op_type;
  char    *width_reason;
  int      bits;
  double   sparsity;
  double   width;
  char    *shape;
  char    *stored;
  char    *stored_detail;
  double   stored_fraction;
  char    *params;
  char    *status;
  char    *sqnr;
};

G_DEFINE_FINAL_TYPE (LatheLayerItem, lathe_layer_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_OP_TYPE,
  PROP_WIDTH_REASON,
  PROP_BITS,
  PROP_SPARSITY,
  PROP_WIDTH,
  PROP_SHAPE,
  PROP_STORED,
  PROP_STORED_DETAIL,
  PROP_STORED_FRACTION,
  PROP_PARAMS,
  PROP_STATUS,
  PROP_SQNR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
lathe_layer_item_finalize (GObject *object)
{
  LatheLayerItem *self = LATHE_LAYER_ITEM (object);

  g_free (self->name);
  g_free (self->op_type);
  g_free (self->width_reason);
  g_free (self->shape);
  g_free (self->stored);
  g_free (self->stored_detail);
  g_free (self->params);
  g_free (self->status);
  g_free (self->sqnr);
  G_OBJECT_CLASS (lathe_layer_item_parent_class)->finalize (object);
}

static void
lathe_layer_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  LatheLayerItem *self = LATHE_LAYER_ITEM (object);

  switch (prop_id)
    {
    case PROP_NAME:          g_value_set_string (value, self->name); break;
    case PROP_OP_TYPE:       g_value_set_string (value, self->op_type); break;
    case PROP_WIDTH_REASON:  g_value_set_string (value, self->width_reason); break;
    case PROP_BITS:          g_value_set_int (value, self->bits); break;
    case PROP_SPARSITY:      g_value_set_double (value, self->sparsity); break;
    case PROP_WIDTH:         g_value_set_double (value, self->width); break;
    case PROP_SHAPE:         g_value_set_string (value, self->shape); break;
    case PROP_STORED:        g_value_set_string (value, self->stored); break;
    case PROP_STORED_DETAIL: g_value_set_string (value, self->stored_detail); break;
    case PROP_STORED_FRACTION: g_value_set_double (value, self->stored_fraction); break;
    case PROP_PARAMS:        g_value_set_string (value, self->params); break;
    case PROP_STATUS:        g_value_set_string (value, self->status); break;
    case PROP_SQNR:          g_value_set_string (value, self->sqnr); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_layer_item_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  LatheLayerItem *self = LATHE_LAYER_ITEM (object);

  switch (prop_id)
    {
    case PROP_BITS:     lathe_layer_item_set_bits (self, g_value_get_int (value)); break;
    case PROP_SPARSITY: lathe_layer_item_set_sparsity (self, g_value_get_double (value)); break;
    case PROP_WIDTH:    lathe_layer_item_set_width (self, g_value_get_double (value)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_layer_item_class_init (LatheLayerItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = lathe_layer_item_finalize;
  object_class->get_property = lathe_layer_item_get_property;
  object_class->set_property = lathe_layer_item_set_property;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_OP_TYPE] = g_param_spec_string ("op-type", NULL, NULL, NULL, ro);
  properties[PROP_WIDTH_REASON] = g_param_spec_string ("width-reason", NULL, NULL, NULL, ro);
  properties[PROP_BITS] = g_param_spec_int ("bits", NULL, NULL, 1, 32, 32, rw);
  properties[PROP_SPARSITY] = g_param_spec_double ("sparsity", NULL, NULL, 0.0, 0.99, 0.0, rw);
  properties[PROP_WIDTH] = g_param_spec_double ("width", NULL, NULL, 0.05, 1.0, 1.0, rw);
  properties[PROP_SHAPE] = g_param_spec_string ("shape", NULL, NULL, NULL, ro);
  properties[PROP_STORED] = g_param_spec_string ("stored", NULL, NULL, NULL, ro);
  properties[PROP_STORED_DETAIL] = g_param_spec_string ("stored-detail", NULL, NULL, NULL, ro);
  properties[PROP_STORED_FRACTION] = g_param_spec_double ("stored-fraction", NULL, NULL, 0, G_MAXDOUBLE, 1, ro);
  properties[PROP_PARAMS] = g_param_spec_string ("params", NULL, NULL, NULL, ro);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, ro);
  properties[PROP_SQNR] = g_param_spec_string ("sqnr", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lathe_layer_item_init (LatheLayerItem *self)
{
  self->bits = 32;
  self->width = 1.0;
}

static void
set_string (LatheLayerItem *self,
            char          **field,
            char           *value,   /* taken */
            guint           prop)
{
  if (g_strcmp0 (*field, value) == 0)
    {
      g_free (value);
      return;
    }
  g_free (*field);
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

LatheLayerItem *
lathe_layer_item_new (const LatheLayer *layer)
{
  LatheLayerItem *self;
  g_autofree char *long_size = NULL;
  guint64 bytes;

  g_return_val_if_fail (layer != NULL, NULL);

  self = g_object_new (LATHE_TYPE_LAYER_ITEM, NULL);
  self->name = g_strdup (layer->name);
  self->op_type = g_strdup (layer->op_type);
  /* the tooltip reads the user's language; the engine's English is for files */
  self->width_reason = g_strdup (layer->width_reason_local != NULL ? layer->width_reason_local
                                                                  : layer->width_reason);
  self->shape = lathe_format_shape (layer->rows, layer->rows, layer->cols);
  bytes = (guint64) layer->rows * layer->cols * sizeof (float);
  self->stored = g_format_size (bytes);
  long_size = g_format_size_full (bytes, G_FORMAT_SIZE_LONG_FORMAT);
  /* translators: a layer's stored size before any compression */
  self->stored_detail = g_strdup_printf (_("%s as float32"), long_size);
  self->stored_fraction = 1.0;
  self->params = lathe_format_count ((guint64) layer->rows * layer->cols);
  self->status = g_strdup (_("Measuring…"));
  self->sqnr = g_strdup ("");
  return self;
}

const char *
lathe_layer_item_get_name (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->name;
}

const char *
lathe_layer_item_get_op_type (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->op_type;
}

const char *
lathe_layer_item_get_width_reason (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->width_reason;
}

int
lathe_layer_item_get_bits (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), 32);
  return self->bits;
}

void
lathe_layer_item_set_bits (LatheLayerItem *self,
                           int             bits)
{
  g_return_if_fail (LATHE_IS_LAYER_ITEM (self));
  g_return_if_fail ((bits >= 1 && bits <= 8) || bits == 16 || bits == 32);

  if (self->bits == bits)
    return;
  self->bits = bits;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BITS]);
}

double
lathe_layer_item_get_sparsity (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), 0.0);
  return self->sparsity;
}

void
lathe_layer_item_set_sparsity (LatheLayerItem *self,
                               double          sparsity)
{
  g_return_if_fail (LATHE_IS_LAYER_ITEM (self));

  sparsity = CLAMP (sparsity, 0.0, 0.99);
  if (self->sparsity == sparsity)
    return;
  self->sparsity = sparsity;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPARSITY]);
}

double
lathe_layer_item_get_width (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), 1.0);
  return self->width;
}

void
lathe_layer_item_set_width (LatheLayerItem *self,
                            double          width)
{
  g_return_if_fail (LATHE_IS_LAYER_ITEM (self));

  /* A layer whose width is fixed keeps all its units. */
  width = self->width_reason != NULL ? 1.0 : CLAMP (width, 0.05, 1.0);
  if (self->width == width)
    return;
  self->width = width;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WIDTH]);
}

const char *
lathe_layer_item_get_shape (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->shape;
}

const char *
lathe_layer_item_get_stored (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->stored;
}

const char *
lathe_layer_item_get_stored_detail (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->stored_detail;
}

const char *
lathe_layer_item_get_status (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->status;
}

const char *
lathe_layer_item_get_sqnr (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->sqnr;
}

void
lathe_layer_item_set_result (LatheLayerItem         *self,
                             const LatheLayerResult *result)
{
  g_autofree char *packed = NULL;
  g_autofree char *original = NULL;
  char *sqnr;

  g_return_if_fail (LATHE_IS_LAYER_ITEM (self));
  g_return_if_fail (result != NULL);

  g_object_freeze_notify (G_OBJECT (self));

  set_string (self, &self->shape, lathe_format_shape (result->rows, result->rows_before, result->cols),
              PROP_SHAPE);
  set_string (self, &self->stored, g_format_size (result->packed_bytes), PROP_STORED);
  packed = g_format_size_full (result->packed_bytes, G_FORMAT_SIZE_LONG_FORMAT);
  original = g_format_size_full (result->original_bytes, G_FORMAT_SIZE_LONG_FORMAT);
  /* translators: stored size of one layer, then its float32 size */
  set_string (self, &self->stored_detail, g_strdup_printf (_("%s packed, %s as float32"), packed, original),
              PROP_STORED_DETAIL);

  set_string (self, &self->params, lathe_format_count (result->params), PROP_PARAMS);
  if (result->original_bytes > 0 &&
      self->stored_fraction != (double) result->packed_bytes / result->original_bytes)
    {
      self->stored_fraction = (double) result->packed_bytes / result->original_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORED_FRACTION]);
    }
  /* the engine's English status is for files; the table reads the user's language */
  set_string (self, &self->status, lathe_layer_result_describe (result, TRUE), PROP_STATUS);
  if (isfinite (result->sqnr_db))
    /* translators: a signal-to-noise ratio in decibels */
    sqnr = g_strdup_printf (_("%.1f dB"), result->sqnr_db);
  else
    /* translators: the weights are exactly the original ones */
    sqnr = g_strdup (_("Exact"));
  set_string (self, &self->sqnr, sqnr, PROP_SQNR);

  g_object_thaw_notify (G_OBJECT (self));
}

/* Packed bytes over the layer's float32 bytes: 1 before any compression. */
double
lathe_layer_item_get_stored_fraction (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), 1.0);
  return self->stored_fraction;
}

/* Weights after width, as a grouped number. */
const char *
lathe_layer_item_get_params (LatheLayerItem *self)
{
  g_return_val_if_fail (LATHE_IS_LAYER_ITEM (self), NULL);
  return self->params;
}
