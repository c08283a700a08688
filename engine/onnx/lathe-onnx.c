/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-onnx"

#include <stdlib.h>
#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-onnx.h"
#include "onnx.pb-c.h"

/* protobuf-c allocates through us, 64-byte aligned, so a tensor's
 * raw_data buffer can be taken over instead of copied a second time. */
static void *
pb_alloc (void   *allocator_data,
          size_t  size)
{
  return lathe_aligned_alloc (size);
}

static void
pb_free (void *allocator_data,
         void *pointer)
{
  lathe_aligned_free (pointer);
}

static ProtobufCAllocator pb_allocator = { pb_alloc, pb_free, NULL };

/* Bounded, so a hostile file cannot make us walk for ever. */
#define MAX_NODES        (1u << 22)

typedef struct {
  gboolean    steal_raw;     /* raw_data buffers come from pb_allocator */
  const char *what;          /* file name for messages */
  const char *base_dir;      /* for external data; NULL forbids it */
  GHashTable *external;      /* location → GMappedFile*, mapped once */
} LoadContext;

static gboolean
tensor_fail (GError     **error,
             int          code,
             const char  *what,
             const char  *tname,
             const char  *format,
             ...) G_GNUC_PRINTF (5, 6);

static gboolean
tensor_fail (GError     **error,
             int          code,
             const char  *what,
             const char  *tname,
             const char  *format,
             ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATHE_ONNX_ERROR, code, "%s: tensor '%s': %s",
               what, tname && *tname ? tname : "(unnamed)", msg);
  return FALSE;
}

/* Resolves an external-data location inside base_dir; refuses absolute
 * paths and anything that climbs out of the model's folder. */
static GMappedFile *
open_external (LoadContext  *ctx,
               const char   *tname,
               const char   *location,
               GError      **error)
{
  g_autofree char *path = NULL;
  g_autofree char *canon_base = NULL;
  g_autofree char *canon = NULL;
  g_autoptr(GError) local_error = NULL;
  GMappedFile *mapped;

  if (ctx->base_dir == NULL)
    {
      tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                   "external data is not allowed here");
      return NULL;
    }
  if (ctx->external != NULL && (mapped = g_hash_table_lookup (ctx->external, location)))
    return mapped;

  canon_base = g_canonicalize_filename (ctx->base_dir, NULL);
  if (g_path_is_absolute (location))
    {
      tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                   "external data location '%s' is absolute; it must be relative to the model's folder",
                   location);
      return NULL;
    }
  path = g_build_filename (canon_base, location, NULL);
  canon = g_canonicalize_filename (path, NULL);
  if (!g_str_has_prefix (canon, canon_base) ||
      (canon[strlen (canon_base)] != G_DIR_SEPARATOR && strcmp (canon_base, "/") != 0))
    {
      tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                   "external data location '%s' escapes the model's folder", location);
      return NULL;
    }
  /* Symlinks could still point outside; resolve them too. */
  {
    g_autofree char *real = realpath (canon, NULL);
    g_autofree char *real_base = realpath (canon_base, NULL);
    if (real != NULL && real_base != NULL &&
        (!g_str_has_prefix (real, real_base) || real[strlen (real_base)] != G_DIR_SEPARATOR))
      {
        tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                     "external data location '%s' resolves outside the model's folder", location);
        return NULL;
      }
  }

  mapped = g_mapped_file_new (canon, FALSE, &local_error);
  if (mapped == NULL)
    {
      tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                   "cannot read external data '%s': %s", location, local_error->message);
      return NULL;
    }
  if (ctx->external == NULL)
    ctx->external = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_mapped_file_unref);
  g_hash_table_insert (ctx->external, g_strdup (location), mapped);
  return mapped;
}

static LatheTensor *
tensor_from_proto (LoadContext        *ctx,
                   Onnx__TensorProto  *tp,
                   GError            **error)
{
  const char *tname = tp->name;
  LatheDType dtype = tp->has_data_type ? (LatheDType) tp->data_type : LATHE_DTYPE_UNDEFINED;
  gint64 dims[LATHE_MAX_DIMS];
  g_autoptr(LatheTensor) t = NULL;
  gsize esize, nbytes;
  const guint8 *raw = NULL;
  gsize raw_len = 0;
  gboolean external = tp->has_data_location &&
                      tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  /* INT4 / UINT4 (opset 21, IR version 10) are stored two per byte, the
   * first element in the low nibble, an odd count padded with a zero high
   * nibble — in raw_data, or one packed byte per int32_data entry. No
   * LatheTensor holds nibbles: they are unpacked here into INT8 (sign-
   * extended) / UINT8 tensors of the same shape, which DequantizeLinear
   * reads. Graph inputs and outputs of these types stay unsupported. */
  gboolean nibbles = dtype == LATHE_DTYPE_INT4 || dtype == LATHE_DTYPE_UINT4;

  if (nibbles)
    dtype = dtype == LATHE_DTYPE_INT4 ? LATHE_DTYPE_INT8 : LATHE_DTYPE_UINT8;

  if (!lathe_dtype_traits (dtype)->storable)
    {
      tensor_fail (error, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE, ctx->what, tname,
                   "unsupported data type %s (%d)", lathe_dtype_name (dtype), (int) dtype);
      return NULL;
    }
  if (tp->segment != NULL)
    {
      tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                   "segmented tensors are not supported");
      return NULL;
    }
  if (tp->n_dims > LATHE_MAX_DIMS)
    {
      tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                   "%zu dimensions, at most %d are supported", tp->n_dims, LATHE_MAX_DIMS);
      return NULL;
    }
  for (gsize i = 0; i < tp->n_dims; i++)
    {
      if (tp->dims[i] < 0)
        {
          tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                       "dimension %zu is negative (%" G_GINT64_FORMAT ")", i, (gint64) tp->dims[i]);
          return NULL;
        }
      dims[i] = tp->dims[i];
    }

  {
    gsize n;
    esize = lathe_dtype_size (dtype);
    if (!lathe_shape_numel ((guint) tp->n_dims, dims, &n) || n > G_MAXSIZE / 16 / esize)
      {
        g_autofree char *shape = lathe_shape_to_string ((guint) tp->n_dims, dims);
        tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                     "shape %s is too large", shape);
        return NULL;
      }
    nbytes = nibbles ? (n + 1) / 2 : n * esize;
    /* The data is allocated only once we know it is not taken over. */
    t = lathe_tensor_new_borrowed (dtype, (guint) tp->n_dims, dims, NULL);
  }

  if (external)
    {
      const char *location = NULL;
      guint64 offset = 0, length = G_MAXUINT64;
      GMappedFile *mapped;
      gsize file_len;

      for (gsize i = 0; i < tp->n_external_data; i++)
        {
          const char *k = tp->external_data[i]->key;
          const char *v = tp->external_data[i]->value;
          if (g_strcmp0 (k, "location") == 0)
            location = v;
          else if (g_strcmp0 (k, "offset") == 0 && !g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, &offset, NULL))
            {
              tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname, "bad external offset '%s'", v);
              return NULL;
            }
          else if (g_strcmp0 (k, "length") == 0 && !g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, &length, NULL))
            {
              tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname, "bad external length '%s'", v);
              return NULL;
            }
        }
      if (location == NULL || *location == '\0')
        {
          tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                       "external data without a location");
          return NULL;
        }
      mapped = open_external (ctx, tname, location, error);
      if (mapped == NULL)
        return NULL;
      file_len = g_mapped_file_get_length (mapped);
      if (length == G_MAXUINT64)
        length = nbytes;
      if (length != nbytes || offset > file_len || length > file_len - offset)
        {
          tensor_fail (error, LATHE_ONNX_ERROR_EXTERNAL_DATA, ctx->what, tname,
                       "external data '%s' holds %" G_GSIZE_FORMAT " bytes at offset %" G_GUINT64_FORMAT
                       "; the tensor needs %" G_GSIZE_FORMAT,
                       location, file_len, offset, nbytes);
          return NULL;
        }
      raw = (const guint8 *) g_mapped_file_get_contents (mapped) + offset;
      raw_len = (gsize) length;
    }
  else if (tp->has_raw_data)
    {
      raw = tp->raw_data.data;
      raw_len = tp->raw_data.len;
    }

  if (raw != NULL)
    {
      if (raw_len != nbytes)
        {
          tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                       "raw data has %" G_GSIZE_FORMAT " bytes, shape and type need %" G_GSIZE_FORMAT,
                       raw_len, nbytes);
          return NULL;
        }
      if (nibbles)
        {
          t->data = lathe_aligned_alloc (t->n);
          t->owns_data = TRUE;
          for (gsize i = 0; i < t->n; i++)
            {
              guint8 v = (raw[i / 2] >> (4 * (i % 2))) & 0x0F;
              ((guint8 *) t->data)[i] = dtype == LATHE_DTYPE_INT8 && v >= 8 ? (guint8) (v | 0xF0) : v;
            }
          return g_steal_pointer (&t);
        }
      /* ONNX stores little-endian, as does every machine we run on. */
      G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
      if (!external && nbytes > 0 && ctx->steal_raw)
        {
          /* Take protobuf-c's buffer (allocated by pb_alloc) as is. */
          LatheTensor *taken = lathe_tensor_new_take (t->dtype, t->ndim, t->dims, tp->raw_data.data);
          tp->raw_data.data = NULL;
          tp->raw_data.len = 0;
          tp->has_raw_data = FALSE;
          return taken;
        }
      t->data = lathe_aligned_alloc (nbytes);
      t->owns_data = TRUE;
      if (nbytes > 0)
        memcpy (t->data, raw, nbytes);
      return g_steal_pointer (&t);
    }

  t->data = lathe_aligned_alloc0 (t->n * esize);
  t->owns_data = TRUE;

  if (nibbles)
    {
      if (tp->n_int32_data != nbytes)
        {
          tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,
                       "int32_data has %zu values, %" G_GSIZE_FORMAT " 4-bit elements pack into %"
                       G_GSIZE_FORMAT, tp->n_int32_data, t->n, nbytes);
          return NULL;
        }
      for (gsize i = 0; i < t->n; i++)
        {
          guint8 v = ((guint32) tp->int32_data[i / 2] >> (4 * (i % 2))) & 0x0F;
          ((guint8 *) t->data)[i] = dtype == LATHE_DTYPE_INT8 && v >= 8 ? (guint8) (v | 0xF0) : v;
        }
      return g_steal_pointer (&t);
    }

#define TYPED(field, n_field, ctype)                                              \
  G_STMT_START {                                                                   \
    if (tp->n_field != t->n)                                                        \
      {                                                                             \
        tensor_fail (error, LATHE_ONNX_ERROR_INVALID, ctx->what, tname,             \
                     "%s has %zu values, the shape needs %" G_GSIZE_FORMAT,         \
                     #field, tp->n_field, t->n);                                    \
        return NULL;                                                                \
      }                                                                             \
    for (gsize i = 0; i < t->n; i++)                                                \
      ((ctype *) t->data)[i] = (ctype) tp->field[i];                                \
  } G_STMT_END

  switch (dtype)
    {
    case LATHE_DTYPE_FLOAT:   TYPED (float_data, n_float_data, float); break;
    case LATHE_DTYPE_INT32:   TYPED (int32_data, n_int32_data, gint32); break;
    case LATHE_DTYPE_INT16:   TYPED (int32_data, n_int32_data, gint16); break;
    case LATHE_DTYPE_INT8:    TYPED (int32_data, n_int32_data, gint8); break;
    case LATHE_DTYPE_UINT16:  TYPED (int32_data, n_int32_data, guint16); break;
    case LATHE_DTYPE_UINT8:   TYPED (int32_data, n_int32_data, guint8); break;
    case LATHE_DTYPE_BOOL:    TYPED (int32_data, n_int32_data, guint8); break;
    case LATHE_DTYPE_FLOAT16: TYPED (int32_data, n_int32_data, guint16); break;
    case LATHE_DTYPE_INT64:   TYPED (int64_data, n_int64_data, gint64); break;
    case LATHE_DTYPE_DOUBLE:  TYPED (double_data, n_double_data, double); break;
    case LATHE_DTYPE_UINT32:  TYPED (uint64_data, n_uint64_data, guint32); break;
    case LATHE_DTYPE_UINT64:  TYPED (uint64_data, n_uint64_data, guint64); break;
    default:
      tensor_fail (error, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE, ctx->what, tname,
                   "unsupported data type %s", lathe_dtype_name (dtype));
      return NULL;
    }
#undef TYPED

  if (dtype == LATHE_DTYPE_BOOL)
    for (gsize i = 0; i < t->n; i++)
      ((guint8 *) t->data)[i] = ((guint8 *) t->data)[i] != 0;

  return g_steal_pointer (&t);
}

static gboolean
read_value_info (LoadContext          *ctx,
                 Onnx__ValueInfoProto *vi,
                 LatheValue           *value,
                 GError              **error)
{
  Onnx__TypeProto__Tensor *tt;

  if (vi->type == NULL)
    return TRUE;
  if (vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    {
      const char *kind;
      switch (vi->type->value_case)
        {
        case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: kind = "sequence"; break;
        case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: kind = "map"; break;
        case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: kind = "optional"; break;
        case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: kind = "sparse_tensor"; break;
        default: kind = "unknown"; break;
        }
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE,
                   "%s: value '%s' has unsupported data type %s (only tensors are supported)",
                   ctx->what, value->name, kind);
      return FALSE;
    }
  tt = vi->type->tensor_type;
  if (tt == NULL)
    return TRUE;
  if (tt->has_elem_type)
    value->dtype = (LatheDType) tt->elem_type;
  if (tt->shape != NULL)
    {
      if (tt->shape->n_dim > LATHE_MAX_DIMS)
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: value '%s' has %zu dimensions, at most %d are supported",
                       ctx->what, value->name, tt->shape->n_dim, LATHE_MAX_DIMS);
          return FALSE;
        }
      value->ndim = (int) tt->shape->n_dim;
      for (gsize d = 0; d < tt->shape->n_dim; d++)
        {
          Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
          value->dims[d] = -1;
          if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            {
              if (dim->dim_value < 0)
                {
                  g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                               "%s: value '%s' has a negative dimension %" G_GINT64_FORMAT,
                               ctx->what, value->name, (gint64) dim->dim_value);
                  return FALSE;
                }
              value->dims[d] = dim->dim_value;
            }
          else if (d == 0 && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            {
              g_free (value->dim_param0);
              value->dim_param0 = g_strdup (dim->dim_param);
            }
        }
    }
  return TRUE;
}

static gboolean
read_attribute (LoadContext           *ctx,
                LatheNode             *node,
                Onnx__AttributeProto  *ap,
                LatheAttr             *attr,
                GError               **error)
{
  LatheAttrType type = ap->has_type ? (LatheAttrType) ap->type : LATHE_ATTR_UNDEFINED;

  attr->name = g_strdup (ap->name ? ap->name : "");

  if (ap->ref_attr_name != NULL && *ap->ref_attr_name)
    {
      lathe_node_unsupported_attr (error, node, "attribute '%s' refers to a function attribute",
                                   attr->name);
      return FALSE;
    }

  /* IR version 1 files carry no type; infer it from the field that is set. */
  if (type == LATHE_ATTR_UNDEFINED)
    {
      if (ap->has_f) type = LATHE_ATTR_FLOAT;
      else if (ap->has_i) type = LATHE_ATTR_INT;
      else if (ap->has_s) type = LATHE_ATTR_STRING;
      else if (ap->t) type = LATHE_ATTR_TENSOR;
      else if (ap->g) type = LATHE_ATTR_GRAPH;
      else if (ap->n_floats) type = LATHE_ATTR_FLOATS;
      else if (ap->n_ints) type = LATHE_ATTR_INTS;
      else if (ap->n_strings) type = LATHE_ATTR_STRINGS;
      else if (ap->n_tensors) type = LATHE_ATTR_TENSORS;
    }
  attr->type = type;

  switch (type)
    {
    case LATHE_ATTR_FLOAT:
      attr->f = ap->f;
      break;
    case LATHE_ATTR_INT:
      attr->i = ap->i;
      break;
    case LATHE_ATTR_STRING:
      attr->s = g_strndup ((const char *) ap->s.data, ap->s.len);
      break;
    case LATHE_ATTR_TENSOR:
      if (ap->t == NULL)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                "tensor attribute '%s' has no tensor", attr->name);
          return FALSE;
        }
      attr->t = tensor_from_proto (ctx, ap->t, error);
      if (attr->t == NULL)
        return FALSE;
      break;
    case LATHE_ATTR_FLOATS:
      attr->floats = g_memdup2 (ap->floats, ap->n_floats * sizeof (float));
      attr->n_floats = ap->n_floats;
      break;
    case LATHE_ATTR_INTS:
      attr->ints = g_memdup2 (ap->ints, ap->n_ints * sizeof (gint64));
      attr->n_ints = ap->n_ints;
      break;
    case LATHE_ATTR_STRINGS:
      attr->strings = g_new0 (char *, ap->n_strings + 1);
      for (gsize i = 0; i < ap->n_strings; i++)
        attr->strings[i] = g_strndup ((const char *) ap->strings[i].data, ap->strings[i].len);
      attr->n_strings = ap->n_strings;
      break;
    case LATHE_ATTR_UNDEFINED:
      /* An empty repeated attribute (ints: []) carries no type in old files. */
      attr->type = LATHE_ATTR_INTS;
      break;
    default:
      /* Graph, sparse and type attributes belong to control flow and
       * training ops we do not run; keep the name so setup() can refuse. */
      break;
    }
  return TRUE;
}

static gint64
opset_for_domain (Onnx__ModelProto *mp,
                  const char       *domain,
                  gboolean         *found)
{
  *found = FALSE;
  for (gsize i = 0; i < mp->n_opset_import; i++)
    {
      const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
      if (g_strcmp0 (d, domain) == 0 ||
          ((*domain == '\0' || g_strcmp0 (domain, "ai.onnx") == 0) &&
           (*d == '\0' || g_strcmp0 (d, "ai.onnx") == 0)))
        {
          *found = TRUE;
          return mp->opset_import[i]->version;
        }
    }
  return 0;
}

static LatheGraph *
graph_from_model (LoadContext       *ctx,
                  Onnx__ModelProto  *mp,
                  GError           **error)
{
  Onnx__GraphProto *gp = mp->graph;
  g_autoptr(LatheGraph) graph = lathe_graph_new ();
  gboolean has_opset;

  if (gp == NULL)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                   "%s: the model has no graph", ctx->what);
      return NULL;
    }
  if (gp->n_node > MAX_NODES)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                   "%s: %zu nodes is more than the %u supported", ctx->what, gp->n_node, MAX_NODES);
      return NULL;
    }

  graph->ir_version = mp->has_ir_version ? mp->ir_version : 0;
  graph->opset = opset_for_domain (mp, "", &has_opset);
  /* IR version 1 models had no opset_import: they mean opset 1. */
  if (!has_opset)
    graph->opset = 1;
  graph->producer_name = g_strdup (mp->producer_name);
  graph->producer_version = g_strdup (mp->producer_version);
  graph->name = g_strdup (gp->name);
  graph->doc_string = g_strdup (mp->doc_string);
  for (gsize i = 0; i < mp->n_metadata_props; i++)
    lathe_graph_set_metadata (graph, mp->metadata_props[i]->key ? mp->metadata_props[i]->key : "",
                              mp->metadata_props[i]->value ? mp->metadata_props[i]->value : "");

  if (gp->n_sparse_initializer > 0)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE,
                   "%s: sparse initializers are not supported", ctx->what);
      return NULL;
    }

  for (gsize i = 0; i < gp->n_initializer; i++)
    {
      Onnx__TensorProto *tp = gp->initializer[i];
      LatheValue *value;
      LatheTensor *t;

      if (tp->name == NULL || *tp->name == '\0')
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: initializer %zu has no name", ctx->what, i);
          return NULL;
        }
      if (lathe_graph_lookup (graph, tp->name) != NULL)
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: initializer '%s' is defined twice", ctx->what, tp->name);
          return NULL;
        }
      t = tensor_from_proto (ctx, tp, error);
      if (t == NULL)
        return NULL;
      value = lathe_graph_add_value (graph, tp->name, LATHE_VALUE_INITIALIZER);
      value->initializer = t;
      value->dtype = t->dtype;
      value->ndim = (int) t->ndim;
      memcpy (value->dims, t->dims, sizeof value->dims);
    }

  for (gsize i = 0; i < gp->n_input; i++)
    {
      Onnx__ValueInfoProto *vi = gp->input[i];
      LatheValue *value;

      if (vi->name == NULL || *vi->name == '\0')
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: graph input %zu has no name", ctx->what, i);
          return NULL;
        }
      /* Before IR version 4 initializers were listed as inputs too. */
      value = lathe_graph_lookup (graph, vi->name);
      if (value != NULL && value->kind == LATHE_VALUE_INITIALIZER)
        continue;
      if (value != NULL)
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: graph input '%s' is listed twice", ctx->what, vi->name);
          return NULL;
        }
      value = lathe_graph_add_value (graph, vi->name, LATHE_VALUE_INPUT);
      if (!read_value_info (ctx, vi, value, error))
        return NULL;
      if (value->dtype != LATHE_DTYPE_UNDEFINED && !lathe_dtype_traits (value->dtype)->storable)
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE,
                       "%s: graph input '%s' has unsupported data type %s",
                       ctx->what, value->name, lathe_dtype_name (value->dtype));
          return NULL;
        }
      g_array_append_val (graph->inputs, value->id);
    }

  /* Declare every node output first so inputs can refer forward. */
  for (gsize k = 0; k < gp->n_node; k++)
    {
      Onnx__NodeProto *np = gp->node[k];
      for (gsize o = 0; o < np->n_output; o++)
        {
          const char *oname = np->output[o];
          if (oname == NULL || *oname == '\0')
            continue;
          if (lathe_graph_lookup (graph, oname) != NULL)
            {
              g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                           "%s: value '%s' is produced twice (node %zu, %s)",
                           ctx->what, oname, k, np->op_type ? np->op_type : "?");
              return NULL;
            }
          lathe_graph_add_value (graph, oname, LATHE_VALUE_NODE_OUTPUT);
        }
    }

  for (gsize k = 0; k < gp->n_node; k++)
    {
      Onnx__NodeProto *np = gp->node[k];
      LatheNode *node = g_new0 (LatheNode, 1);
      const char *domain = np->domain ? np->domain : "";
      gint64 opset;
      gboolean found;

      node->index = (guint) k;
      node->op_type = g_strdup (np->op_type ? np->op_type : "");
      node->domain = g_strdup (domain);
      node->name = (np->name && *np->name) ? g_strdup (np->name)
                                           : g_strdup_printf ("%s#%zu", node->op_type, k);
      g_ptr_array_add (graph->nodes, node);

      node->n_inputs = (guint) np->n_input;
      node->inputs = g_new (int, np->n_input + 1);
      for (gsize i = 0; i < np->n_input; i++)
        {
          const char *iname = np->input[i];
          LatheValue *value;

          if (iname == NULL || *iname == '\0')
            {
              node->inputs[i] = -1;
              continue;
            }
          value = lathe_graph_lookup (graph, iname);
          if (value == NULL)
            {
              lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                    "input '%s' is produced by no node, initializer or graph input",
                                    iname);
              return NULL;
            }
          node->inputs[i] = (int) value->id;
        }
      /* Trailing omitted inputs are the same as absent ones. */
      while (node->n_inputs > 0 && node->inputs[node->n_inputs - 1] < 0)
        node->n_inputs--;

      node->n_outputs = (guint) np->n_output;
      node->outputs = g_new (int, np->n_output + 1);
      for (gsize o = 0; o < np->n_output; o++)
        {
          const char *oname = np->output[o];
          node->outputs[o] = (oname && *oname) ? (int) lathe_graph_lookup (graph, oname)->id : -1;
        }
      while (node->n_outputs > 1 && node->outputs[node->n_outputs - 1] < 0)
        node->n_outputs--;

      node->n_attrs = (guint) np->n_attribute;
      node->attrs = g_new0 (LatheAttr, np->n_attribute + 1);
      for (gsize a = 0; a < np->n_attribute; a++)
        if (!read_attribute (ctx, node, np->attribute[a], &node->attrs[a], error))
          return NULL;

      if (*domain != '\0' && g_strcmp0 (domain, "ai.onnx") != 0)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                                "unsupported op %s from domain '%s'", node->op_type, domain);
          return NULL;
        }
      opset = opset_for_domain (mp, domain, &found);
      if (!found)
        opset = graph->opset;

      node->op = lathe_op_lookup (node->op_type, opset, &node->since);
      if (node->op == NULL)
        {
          if (lathe_op_lookup (node->op_type, G_MAXINT, NULL) != NULL)
            lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                                  "unsupported op %s: it does not exist at opset %" G_GINT64_FORMAT,
                                  node->op_type, opset);
          else
            lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                                  "unsupported op %s", node->op_type);
          return NULL;
        }
      if (node->n_inputs < node->op->min_inputs || node->n_inputs > node->op->max_inputs)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                "%u inputs given, the op takes %u to %u",
                                node->n_inputs, node->op->min_inputs, node->op->max_inputs);
          return NULL;
        }
      for (guint i = 0; i < node->op->min_inputs; i++)
        if (node->inputs[i] < 0)
          {
            lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                  "required input %u is missing", i);
            return NULL;
          }
      if (node->n_outputs < node->op->min_outputs || node->n_outputs > node->op->max_outputs)
        {
          lathe_node_unsupported_attr (error, node, "%u outputs requested, the op gives %u to %u",
                                       node->n_outputs, node->op->min_outputs, node->op->max_outputs);
          return NULL;
        }
      if (node->op->setup != NULL && !node->op->setup (node, error))
        return NULL;
    }

  for (gsize i = 0; i < gp->n_output; i++)
    {
      Onnx__ValueInfoProto *vi = gp->output[i];
      LatheValue *value = vi->name ? lathe_graph_lookup (graph, vi->name) : NULL;
      LatheDType dtype;
      int ndim;

      if (value == NULL)
        {
          g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                       "%s: graph output '%s' is produced by nothing", ctx->what,
                       vi->name ? vi->name : "");
          return NULL;
        }
      /* Keep an initializer's own type; outputs only add information. */
      dtype = value->dtype;
      ndim = value->ndim;
      if (value->kind != LATHE_VALUE_INITIALIZER && !read_value_info (ctx, vi, value, error))
        return NULL;
      if (value->kind == LATHE_VALUE_INITIALIZER)
        {
          value->dtype = dtype;
          value->ndim = ndim;
        }
      g_array_append_val (graph->outputs, value->id);
    }

  if (!lathe_graph_sort (graph, error))
    {
      g_prefix_error (error, "%s: ", ctx->what);
      return NULL;
    }

  return g_steal_pointer (&graph);
}

LatheGraph *
lathe_onnx_parse_model (const guint8  *data,
                        gsize          len,
                        const char    *what,
                        const char    *base_dir,
                        GError       **error)
{
  Onnx__ModelProto *mp;
  LatheGraph *graph;
  LoadContext ctx = { TRUE, what, base_dir, NULL };

  mp = onnx__model_proto__unpack (&pb_allocator, len, data);
  if (mp == NULL)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_PARSE,
                   "%s: not a valid ONNX model (the protobuf data is truncated or corrupt)", what);
      return NULL;
    }
  if (mp->graph == NULL && mp->n_opset_import == 0)
    {
      onnx__model_proto__free_unpacked (mp, NULL);
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_PARSE,
                   "%s: not an ONNX model (no graph and no opset)", what);
      return NULL;
    }
  graph = graph_from_model (&ctx, mp, error);
  onnx__model_proto__free_unpacked (mp, &pb_allocator);
  g_clear_pointer (&ctx.external, g_hash_table_unref);
  return graph;
}

LatheGraph *
lathe_onnx_load_file (const char  *path,
                      GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_IO,
                   "cannot read model: %s", local_error->message);
      return NULL;
    }
  dir = g_path_get_dirname (path);
  return lathe_onnx_parse_model ((const guint8 *) g_mapped_file_get_contents (mapped),
                                 g_mapped_file_get_length (mapped), path, dir, error);
}

LatheTensor *
lathe_onnx_load_tensor_file (const char  *path,
                             char       **name_out,
                             GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  Onnx__TensorProto *tp;
  LatheTensor *t;
  LoadContext ctx = { FALSE, path, NULL, NULL };
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  tp = onnx__tensor_proto__unpack (NULL, len, (const guint8 *) contents);
  if (tp == NULL)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_PARSE,
                   "%s: not a valid TensorProto", path);
      return NULL;
    }
  t = tensor_from_proto (&ctx, tp, error);
  if (t != NULL && name_out != NULL)
    *name_out = g_strdup (tp->name);
  onnx__tensor_proto__free_unpacked (tp, NULL);
  return t;
}
