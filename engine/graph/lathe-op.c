/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-graph"

#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-op.h"
#include "kernels/lathe-ops-private.h"

static const LatheOpDef * const * const op_groups[] = {
  _lathe_ops_math,
  _lathe_ops_gemm,
  _lathe_ops_norm,
  _lathe_ops_shape,
  _lathe_ops_conv,
  _lathe_ops_quant,
};

static GHashTable *
op_table (void)
{
  static GHashTable *table;

  if (g_once_init_enter (&table))
    {
      GHashTable *t = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint g = 0; g < G_N_ELEMENTS (op_groups); g++)
        for (const LatheOpDef * const *def = op_groups[g]; *def != NULL; def++)
          {
            g_assert (!g_hash_table_contains (t, (*def)->op_type));
            g_assert ((*def)->versions != NULL && (*def)->versions[0] > 0);
            g_hash_table_insert (t, (gpointer) (*def)->op_type, (gpointer) *def);
          }
      g_once_init_leave (&table, t);
    }
  return table;
}

const LatheOpDef *
lathe_op_lookup (const char *op_type,
                 gint64      opset,
                 int        *since)
{
  const LatheOpDef *def = g_hash_table_lookup (op_table (), op_type);
  int best = 0;

  if (def == NULL)
    return NULL;
  for (const int *v = def->versions; *v != 0; v++)
    if (*v <= opset)
      best = *v;
  if (best == 0)
    return NULL;   /* the op did not exist yet at this opset */
  if (since != NULL)
    *since = best;
  return def;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

const char **
lathe_op_list_supported (void)
{
  static const char **list;

  if (g_once_init_enter (&list))
    {
      GHashTable *t = op_table ();
      guint n = g_hash_table_size (t);
      const char **l = (const char **) g_hash_table_get_keys_as_array (t, &n);

      qsort (l, n, sizeof (char *), compare_strings);
      g_once_init_leave (&list, l);
    }
  return list;
}

void
lathe_tensor_set_meta (LatheTensor  *t,
                       LatheDType    dtype,
                       guint         ndim,
                       const gint64 *dims)
{
  g_assert (ndim <= LATHE_MAX_DIMS);
  t->dtype = dtype;
  t->ndim = ndim;
  if (ndim > 0 && dims != t->dims)
    memmove (t->dims, dims, ndim * sizeof (gint64));
  if (!lathe_shape_numel (ndim, dims, &t->n))
    t->n = 0;
}

gboolean
lathe_broadcast_shape (const LatheNode  *node,
                       guint             n,
                       LatheTensor     **inputs,
                       LatheTensor      *out,
                       GError          **error)
{
  gint64 dims[LATHE_MAX_DIMS];
  guint rank = 0;

  for (guint i = 0; i < n; i++)
    if (inputs[i] != NULL)
      rank = MAX (rank, inputs[i]->ndim);

  for (guint d = 0; d < rank; d++)
    {
      gint64 dim = 1;

      for (guint i = 0; i < n; i++)
        {
          LatheTensor *t = inputs[i];
          gint64 di;

          if (t == NULL)
            continue;
          /* align from the right (numpy rules) */
          if (d + t->ndim < rank)
            continue;
          di = t->dims[d + t->ndim - rank];
          if (di == dim || di == 1)
            continue;
          if (dim == 1)
            dim = di;
          else
            {
              g_autofree char *a = lathe_shape_to_string (inputs[0]->ndim, inputs[0]->dims);
              g_autofree char *b = lathe_shape_to_string (t->ndim, t->dims);
              lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                                    "shapes %s and %s do not broadcast", a, b);
              return FALSE;
            }
        }
      dims[d] = dim;
    }

  lathe_tensor_set_meta (out, out->dtype, rank, dims);
  return TRUE;
}

gboolean
lathe_normalize_axis (const LatheNode *node,
                      gint64           axis,
                      guint            rank,
                      guint           *out,
                      GError         **error)
{
  gint64 a = axis < 0 ? axis + (gint64) rank : axis;

  if (a < 0 || a >= (gint64) MAX (rank, 1))
    {
      lathe_node_set_error (error, node, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                            "axis %" G_GINT64_FORMAT " is out of range for rank %u",
                            axis, rank);
      return FALSE;
    }
  *out = (guint) a;
  return TRUE;
}

gint64 *
lathe_tensor_to_int64_array (const LatheTensor *t,
                             gsize             *n_out)
{
  gint64 *out = g_new (gint64, MAX (t->n, 1));

  g_assert (t->data != NULL);
  if (t->dtype == LATHE_DTYPE_INT64)
    memcpy (out, t->data, t->n * sizeof (gint64));
  else if (t->dtype == LATHE_DTYPE_INT32)
    for (gsize i = 0; i < t->n; i++)
      out[i] = ((const gint32 *) t->data)[i];
  else
    g_assert_not_reached ();   /* callers check the dtype in infer() */
  *n_out = t->n;
  return out;
}
