/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "core/lathe-tensor.h"

G_BEGIN_DECLS

/* The model IR: plain structs, owned by LatheGraph. Values are named
 * tensors (graph inputs, initializers, node outputs) addressed by id; nodes
 * are kept in topological order. */

typedef struct _LatheOpDef LatheOpDef;

/* ONNX AttributeProto.AttributeType numbers. */
typedef enum {
  LATHE_ATTR_UNDEFINED = 0,
  LATHE_ATTR_FLOAT     = 1,
  LATHE_ATTR_INT       = 2,
  LATHE_ATTR_STRING    = 3,
  LATHE_ATTR_TENSOR    = 4,
  LATHE_ATTR_GRAPH     = 5,
  LATHE_ATTR_FLOATS    = 6,
  LATHE_ATTR_INTS      = 7,
  LATHE_ATTR_STRINGS   = 8,
  LATHE_ATTR_TENSORS   = 9,
  LATHE_ATTR_GRAPHS    = 10,
  LATHE_ATTR_SPARSE_TENSOR = 11,
  LATHE_ATTR_SPARSE_TENSORS = 12,
  LATHE_ATTR_TYPE_PROTO = 13,
  LATHE_ATTR_TYPE_PROTOS = 14,
} LatheAttrType;

typedef struct {
  char          *name;
  LatheAttrType  type;
  float          f;
  gint64         i;
  char          *s;          /* NUL-terminated copy of the bytes */
  LatheTensor   *t;
  float         *floats;
  gsize          n_floats;
  gint64        *ints;
  gsize          n_ints;
  char         **strings;    /* NULL-terminated */
  gsize          n_strings;
} LatheAttr;

typedef struct _LatheNode {
  char              *name;       /* never NULL: "<op_type>#<index>" when unnamed */
  char              *op_type;
  char              *domain;
  guint              index;
  const LatheOpDef  *op;
  int                since;      /* since-version of the definition it resolved to */
  guint              n_inputs;
  int               *inputs;     /* value ids; -1 for an omitted optional input */
  guint              n_outputs;
  int               *outputs;    /* value ids; -1 for an omitted optional output */
  guint              n_attrs;
  LatheAttr         *attrs;
  gpointer           params;     /* parsed attributes, owned (op->setup) */
  GDestroyNotify     params_free;
} LatheNode;

typedef enum {
  LATHE_VALUE_INPUT,
  LATHE_VALUE_INITIALIZER,
  LATHE_VALUE_NODE_OUTPUT,
} LatheValueKind;

typedef struct {
  char           *name;
  guint           id;
  LatheValueKind  kind;
  int             producer;      /* node index or -1 */
  LatheTensor    *initializer;   /* for LATHE_VALUE_INITIALIZER */
  /* Declared type from the graph's inputs/outputs/value_info; ndim -1 when
   * unknown, a dim of -1 when symbolic (dim_param) or unknown. */
  LatheDType      dtype;
  int             ndim;
  gint64          dims[LATHE_MAX_DIMS];
  char           *dim_param0;    /* symbolic name of dim 0 ("batch"), or NULL */
} LatheValue;

typedef struct _LatheGraph {
  GPtrArray   *values;      /* LatheValue*, id == index */
  GHashTable  *by_name;     /* name → LatheValue* (borrowed) */
  GPtrArray   *nodes;       /* LatheNode*, topological order */
  GArray      *inputs;      /* guint value ids of real inputs (not initializers) */
  GArray      *outputs;     /* guint value ids */
  gint64       opset;       /* ai.onnx opset */
  gint64       ir_version;
  char        *producer_name;
  char        *producer_version;
  char        *name;
  char        *doc_string;
  GPtrArray   *metadata_keys;    /* char*, in file order */
  GPtrArray   *metadata_values;  /* char*, in file order */
} LatheGraph;

LatheGraph  *lathe_graph_new              (void);
void         lathe_graph_free             (LatheGraph   *self);
/* A deep copy of the structure that shares the initializer tensors (they
 * are immutable; replace, never modify, a copy's initializer). Nodes are
 * set up again from their attributes. */
LatheGraph  *lathe_graph_copy             (LatheGraph   *self,
                                           GError      **error);
/* Replaces an initializer's tensor (taking a reference) and its declared
 * shape. */
void         lathe_graph_set_initializer  (LatheGraph   *self,
                                           guint         value_id,
                                           LatheTensor  *tensor);
LatheValue  *lathe_graph_add_value        (LatheGraph   *self,
                                           const char   *name,
                                           LatheValueKind kind);
LatheValue  *lathe_graph_lookup           (LatheGraph   *self,
                                           const char   *name);
static inline LatheValue *
lathe_graph_value (LatheGraph *self, guint id)
{
  return (LatheValue *) g_ptr_array_index (self->values, id);
}
static inline LatheNode *
lathe_graph_node (LatheGraph *self, guint index)
{
  return (LatheNode *) g_ptr_array_index (self->nodes, index);
}
const char  *lathe_graph_get_metadata     (LatheGraph   *self,
                                           const char   *key);
void         lathe_graph_set_metadata     (LatheGraph   *self,
                                           const char   *key,
                                           const char   *value);
/* Sorts nodes topologically; fails on a cycle or a name used before it is
 * produced anywhere. */
gboolean     lathe_graph_sort             (LatheGraph   *self,
                                           GError      **error);

void         lathe_node_free              (LatheNode    *node);
const LatheAttr *lathe_node_get_attr      (const LatheNode *node,
                                           const char   *name);
gint64       lathe_node_get_int           (const LatheNode *node,
                                           const char   *name,
                                           gint64        fallback);
float        lathe_node_get_float         (const LatheNode *node,
                                           const char   *name,
                                           float         fallback);
const char  *lathe_node_get_string        (const LatheNode *node,
                                           const char   *name,
                                           const char   *fallback);
/* Returns the INTS attribute or NULL (n_out 0) when absent. */
const gint64 *lathe_node_get_ints         (const LatheNode *node,
                                           const char   *name,
                                           gsize        *n_out);

/* Error helpers: messages read "node 'conv1' (Conv): …". */
void         lathe_node_set_error         (GError      **error,
                                           const LatheNode *node,
                                           GQuark        domain,
                                           int           code,
                                           const char   *format,
                                           ...) G_GNUC_PRINTF (5, 6);
/* "unsupported attribute value: auto_pad=VALID" style errors. */
void         lathe_node_unsupported_attr  (GError      **error,
                                           const LatheNode *node,
                                           const char   *format,
                                           ...) G_GNUC_PRINTF (3, 4);
void         lathe_node_unsupported_type  (GError      **error,
                                           const LatheNode *node,
                                           LatheDType    dtype);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheGraph, lathe_graph_free)

G_END_DECLS
