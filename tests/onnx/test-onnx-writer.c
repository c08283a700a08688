/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Writing ONNX (engine/onnx/lathe-onnx-writer.c) and reading back what it
 * writes: plain round trips of the samples, every quantized layout against
 * the fake-quantized graph it stands for, the opset upgrade, the fallbacks,
 * INT4 unpacking in the loader and the DequantizeLinear kernels. */

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "compress/lathe-compress-types.h"
#include "core/lathe-error.h"
#include "data/lathe-npy.h"
#include "eval/lathe-executor.h"
#include "onnx/lathe-onnx.h"
#include "onnx/lathe-onnx-writer.h"
#include "onnx.pb-c.h"
#include "../lathe-test-util.h"

/* The exported model computes (q − zp) · s exactly as fake quantization
 * does; only summation order could differ, and it does not here. */
#define EXPORT_ATOL 1e-5

/* Kernels from engine/kernels/lathe-ops-quant.c (no header for internals). */
void _lathe_quant_dequantize_f32     (float *y, gconstpointer x, LatheDType dtype,
                                      const float *scale, gconstpointer zero_point,
                                      gsize outer, gsize len, gsize inner, gsize block);
void _lathe_quant_dequantize_f32_ref (float *y, gconstpointer x, LatheDType dtype,
                                      const float *scale, gconstpointer zero_point,
                                      gsize outer, gsize len, gsize inner, gsize block);

/* ------------------------------------------------------------------------
 * Helpers */

static LatheGraph *
load_sample (const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s.onnx", name);
  g_autofree char *path = lathe_test_sample (file);
  g_autoptr(GError) error = NULL;
  LatheGraph *graph = lathe_onnx_load_file (path, &error);

  g_assert_no_error (error);
  return graph;
}

static LatheTensor *
sample_input (void)
{
  g_autofree char *path = lathe_test_fixture ("fashion-input100.npy");
  g_autoptr(GError) error = NULL;
  LatheTensor *t = lathe_npy_read (path, &error);

  g_assert_no_error (error);
  return t;
}

static LatheGraph *
parse_bytes (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  LatheGraph *graph = lathe_onnx_parse_model (data, len, "exported.onnx", NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (graph);
  return graph;
}

static Onnx__ModelProto *
unpack_bytes (GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  Onnx__ModelProto *mp = onnx__model_proto__unpack (NULL, len, data);

  g_assert_nonnull (mp);
  return mp;
}

static Onnx__TensorProto *
find_initializer (Onnx__ModelProto *mp,
                  const char       *name)
{
  for (gsize i = 0; i < mp->graph->n_initializer; i++)
    if (g_strcmp0 (mp->graph->initializer[i]->name, name) == 0)
      return mp->graph->initializer[i];
  return NULL;
}

static Onnx__NodeProto *
find_node (Onnx__ModelProto *mp,
           const char       *name)
{
  for (gsize i = 0; i < mp->graph->n_node; i++)
    if (g_strcmp0 (mp->graph->node[i]->name, name) == 0)
      return mp->graph->node[i];
  return NULL;
}

static Onnx__AttributeProto *
find_attr (Onnx__NodeProto *np,
           const char      *name)
{
  for (gsize i = 0; i < np->n_attribute; i++)
    if (g_strcmp0 (np->attribute[i]->name, name) == 0)
      return np->attribute[i];
  return NULL;
}

/* Runs the graph on `n_inputs` inputs; returns its outputs (owned). */
static GPtrArray *
run_graph (LatheGraph   *graph,
           LatheTensor  *input)
{
  g_autoptr(LatheExecutor) exec = lathe_executor_new (graph);
  g_autoptr(GError) error = NULL;
  GPtrArray *outs = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_tensor_unref);

  g_assert_true (lathe_executor_run (exec, 1, &input, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < lathe_executor_get_n_outputs (exec); i++)
    g_ptr_array_add (outs, lathe_tensor_dup (lathe_executor_get_output (exec, i)));
  return outs;
}

static double
max_abs_diff (GPtrArray *a,
              GPtrArray *b)
{
  double max = 0;

  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      LatheTensor *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      g_assert_true (lathe_tensor_same_shape (x, y));
      g_assert_cmpint (x->dtype, ==, LATHE_DTYPE_FLOAT);
      for (gsize k = 0; k < x->n; k++)
        max = MAX (max, fabs ((double) lathe_tensor_f32 (x)[k] - lathe_tensor_f32 (y)[k]));
    }
  return max;
}

static GBytes *
serialize_ok (LatheGraph         *graph,
              LatheExportOptions *options)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = lathe_onnx_serialize (graph, options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  return bytes;
}

static gboolean
notes_contain (GPtrArray  *notes,
               const char *needle)
{
  for (guint i = 0; i < notes->len; i++)
    if (strstr (g_ptr_array_index (notes, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
print_notes (GPtrArray *notes)
{
  for (guint i = 0; i < notes->len; i++)
    g_test_message ("note: %s", (const char *) g_ptr_array_index (notes, i));
}

/* ------------------------------------------------------------------------
 * A hand-made quantizer: max-abs scales, round half to even, the tensor
 * replaced by its fake-quantized values (what the exported model must
 * compute). View order: row = output unit, out_axis 1 means [K, N]. */

static inline gsize
view_index (const LatheTensor *t,
            int                out_axis,
            gsize              rows,
            gsize              cols,
            gsize              r,
            gsize              c)
{
  return out_axis == 0 ? r * cols + c : c * rows + r;
}

static LatheQuantized *
fake_quantize (LatheTensor      *t,
               int               out_axis,
               int               bits,
               gboolean          affine,
               LatheGranularity  granularity,
               gsize             group_channels)
{
  gsize rows = (gsize) t->dims[out_axis], cols = t->n / rows;
  gsize spatial = 1, group_len;
  LatheQuantized *q;
  float *w = lathe_tensor_f32 (t);

  for (guint d = 2; out_axis == 0 && d < t->ndim; d++)
    spatial *= (gsize) t->dims[d];
  group_len = group_channels * spatial;
  q = lathe_quantized_new (bits, affine, granularity, group_len, rows, cols);

  for (gsize r = 0; r < rows; r++)
    for (gsize c = 0; c < cols; c++)
      {
        gsize s = granularity == LATHE_GRANULARITY_TENSOR ? 0
                : granularity == LATHE_GRANULARITY_CHANNEL ? r
                : r * q->scales_per_row + c / group_len;
        gboolean first = (granularity == LATHE_GRANULARITY_TENSOR && r == 0 && c == 0) ||
                         (granularity == LATHE_GRANULARITY_CHANNEL && c == 0) ||
                         (granularity == LATHE_GRANULARITY_GROUP && c % group_len == 0);

        if (!first)
          continue;
        {
          /* one scale: walk its elements */
          gsize r0 = granularity == LATHE_GRANULARITY_TENSOR ? 0 : r;
          gsize r1 = granularity == LATHE_GRANULARITY_TENSOR ? rows : r + 1;
          gsize c0 = granularity == LATHE_GRANULARITY_GROUP ? c : 0;
          gsize c1 = granularity == LATHE_GRANULARITY_GROUP ? MIN (c + group_len, cols) : cols;
          double lo = 0, hi = 0, sum_abs = 0;
          gsize count = 0;
          float scale;
          gint32 zp = 0, qmin, qmax;

          for (gsize i = r0; i < r1; i++)
            for (gsize j = c0; j < c1; j++)
              {
                float v = w[view_index (t, out_axis, rows, cols, i, j)];
                lo = MIN (lo, v);
                hi = MAX (hi, v);
                sum_abs += fabs (v);
                count++;
              }
          if (bits == 1)
            {
              scale = (float) (sum_abs / count);
              qmin = -1;
              qmax = 1;
            }
          else if (affine)
            {
              qmin = 0;
              qmax = (1 << bits) - 1;
              scale = hi > lo ? (float) ((hi - lo) / qmax) : 1.f;
              zp = (gint32) CLAMP (nearbyint (-lo / scale), 0, qmax);
            }
          else
            {
              qmax = (1 << (bits - 1)) - 1;
              qmin = -qmax;
              scale = MAX (fabs (lo), fabs (hi)) > 0 ? (float) (MAX (fabs (lo), fabs (hi)) / qmax) : 1.f;
            }
          q->scales[s] = scale;
          if (affine)
            q->zero_points[s] = zp;
          for (gsize i = r0; i < r1; i++)
            for (gsize j = c0; j < c1; j++)
              {
                gsize k = view_index (t, out_axis, rows, cols, i, j);
                gint32 code;

                if (bits == 1)
                  code = w[k] > 0 ? 1 : w[k] < 0 ? -1 : 0;
                else
                  code = (gint32) CLAMP (nearbyint (w[k] / scale) + zp, qmin, qmax);
                q->codes[i * cols + j] = code;
                w[k] = (float) (code - zp) * scale;
              }
        }
      }
  return q;
}

typedef struct {
  LatheGraph          *graph;          /* fake-quantized */
  GHashTable          *weights;
  GPtrArray           *notes;
  GPtrArray           *quantized;      /* LatheQuantized*, owned */
  LatheExportOptions   options;
} Export;

static Export *
export_new (LatheGraph *graph)
{
  Export *e = g_new0 (Export, 1);

  e->graph = graph;
  e->weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  e->notes = g_ptr_array_new_with_free_func (g_free);
  e->quantized = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_quantized_free);
  e->options.weights = e->weights;
  e->options.notes = e->notes;
  return e;
}

static void
export_free (Export *e)
{
  lathe_graph_free (e->graph);
  g_hash_table_unref (e->weights);
  g_ptr_array_unref (e->notes);
  g_ptr_array_unref (e->quantized);
  g_free (e);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Export, export_free)

static LatheQuantized *
export_quantize (Export           *e,
                 const char       *name,
                 int               out_axis,
                 int               bits,
                 gboolean          affine,
                 LatheGranularity  granularity,
                 gsize             group_channels)
{
  LatheValue *v = lathe_graph_lookup (e->graph, name);
  LatheExportWeight *ew = g_new0 (LatheExportWeight, 1);

  g_assert_nonnull (v);
  ew->quantized = fake_quantize (v->initializer, out_axis, bits, affine, granularity, group_channels);
  ew->out_axis = out_axis;
  g_ptr_array_add (e->quantized, ew->quantized);
  g_hash_table_insert (e->weights, g_strdup (name), ew);
  return ew->quantized;
}

static void
export_fp16 (Export     *e,
             const char *name)
{
  LatheValue *v = lathe_graph_lookup (e->graph, name);
  LatheExportWeight *ew = g_new0 (LatheExportWeight, 1);

  g_assert_nonnull (v);
  for (gsize i = 0; i < v->initializer->n; i++)
    lathe_tensor_f32 (v->initializer)[i] =
      lathe_half_to_float (lathe_float_to_half (lathe_tensor_f32 (v->initializer)[i]));
  ew->fp16 = TRUE;
  g_hash_table_insert (e->weights, g_strdup (name), ew);
}

/* Serializes twice (same bytes), reloads, compares with the fake-quantized
 * graph on `input`; returns the bytes. */
static GBytes *
export_check (Export      *e,
              LatheTensor *input)
{
  g_autoptr(GBytes) again = NULL;
  g_autoptr(LatheGraph) reloaded = NULL;
  g_autoptr(GPtrArray) want = NULL;
  g_autoptr(GPtrArray) got = NULL;
  GBytes *bytes;
  double diff;

  bytes = serialize_ok (e->graph, &e->options);
  print_notes (e->notes);
  g_ptr_array_set_size (e->notes, 0);
  again = serialize_ok (e->graph, &e->options);
  g_assert_true (g_bytes_equal (bytes, again));

  reloaded = parse_bytes (bytes);
  want = run_graph (e->graph, input);
  got = run_graph (reloaded, input);
  diff = max_abs_diff (want, got);
  g_test_message ("max |exported − fake-quantized| = %.3g (%" G_GSIZE_FORMAT " bytes)",
                  diff, g_bytes_get_size (bytes));
  g_assert_cmpfloat (diff, <=, EXPORT_ATOL);
  return bytes;
}

/* ------------------------------------------------------------------------
 * A small model built here: x [N, 8] → MatMul W1 [8, 6] → Relu → Gemm W2
 * [6, 4] (transB 0) + B2 → y; ReduceMean(y, axes [1]) + Constant 0.5 → m.
 * With `extra_attrs` Relu carries attributes of every kind the IR keeps
 * (Relu ignores them; ONNX's checker would not accept them). */

typedef struct {
  GPtrArray *mem;
} Mem;

static gpointer
mem_dup (Mem *m, gconstpointer p, gsize size)
{
  gpointer d = g_memdup2 (p, size);
  g_ptr_array_add (m->mem, d);
  return d;
}

#define MEM_NEW(m, Type, INIT) \
  ({ Type init_ = INIT; (Type *) mem_dup ((m), &init_, sizeof (Type)); })

static Onnx__TensorProto *
small_tensor (Mem *m, const char *name, gsize ndim, const int64_t *dims, const float *data, gsize n)
{
  Onnx__TensorProto *tp = MEM_NEW (m, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);

  tp->name = (char *) name;
  tp->has_data_type = TRUE;
  tp->data_type = LATHE_DTYPE_FLOAT;
  tp->n_dims = ndim;
  tp->dims = mem_dup (m, dims, ndim * sizeof (int64_t));
  tp->n_float_data = n;
  tp->float_data = mem_dup (m, data, n * sizeof (float));
  return tp;
}

static Onnx__AttributeProto *
small_attr (Mem *m, const char *name, Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *ap = MEM_NEW (m, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);

  ap->name = (char *) name;
  ap->has_type = TRUE;
  ap->type = type;
  return ap;
}

static Onnx__NodeProto *
small_node (Mem *m, const char *op, const char *name, const char *in0, const char *in1,
            const char *in2, const char *out, gsize n_attrs, Onnx__AttributeProto **attrs)
{
  Onnx__NodeProto *np = MEM_NEW (m, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
  const char *ins[3] = { in0, in1, in2 };

  np->op_type = (char *) op;
  np->name = (char *) name;
  np->n_input = in2 ? 3 : in1 ? 2 : 1;
  np->input = mem_dup (m, ins, sizeof ins);
  np->n_output = 1;
  np->output = mem_dup (m, &out, sizeof (char *));
  np->n_attribute = n_attrs;
  np->attribute = mem_dup (m, attrs, MAX (n_attrs, 1) * sizeof (Onnx__AttributeProto *));
  return np;
}

static Onnx__ValueInfoProto *
small_io (Mem *m, const char *name, const char *param, int64_t d1)
{
  Onnx__ValueInfoProto *vi = MEM_NEW (m, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
  Onnx__TypeProto *type = MEM_NEW (m, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
  Onnx__TypeProto__Tensor *tt = MEM_NEW (m, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
  Onnx__TensorShapeProto *shape = MEM_NEW (m, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
  Onnx__TensorShapeProto__Dimension *d[2];

  d[0] = MEM_NEW (m, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
  d[1] = MEM_NEW (m, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
  d[0]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  d[0]->dim_param = (char *) param;
  d[1]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d[1]->dim_value = d1;
  shape->n_dim = 2;
  shape->dim = mem_dup (m, d, sizeof d);
  tt->has_elem_type = TRUE;
  tt->elem_type = LATHE_DTYPE_FLOAT;
  tt->shape = shape;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  vi->name = (char *) name;
  vi->type = type;
  return vi;
}

static LatheGraph *
small_graph (int      opset,
             gboolean extra_attrs)
{
  Mem m = { g_ptr_array_new_with_free_func (g_free) };
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *ops[1] = { &op };
  Onnx__TensorProto *inits[3];
  Onnx__NodeProto *nodes[6];
  Onnx__ValueInfoProto *ins[1], *outs[2];
  Onnx__AttributeProto *relu_attrs[4], *gemm_attrs[2], *rm_attrs[2], *const_attrs[1];
  static const int64_t w1_dims[] = { 8, 6 }, w2_dims[] = { 6, 4 }, b2_dims[] = { 4 }, c_dims[] = { 1 };
  static const float half = 0.5f;
  static const float floats[] = { 1.5f, -2.25f };
  static const int64_t axes[] = { 1 };
  static const char *strings[] = { "a", "bc" };
  ProtobufCBinaryData bins[2];
  float w1[48], w2[24], b2[4];
  GRand *rand = g_rand_new_with_seed (11);
  g_autoptr(GError) error = NULL;
  guint8 *buf;
  gsize len;
  LatheGraph *g;

  for (guint i = 0; i < G_N_ELEMENTS (w1); i++)
    w1[i] = (float) g_rand_double_range (rand, -1, 1);
  for (guint i = 0; i < G_N_ELEMENTS (w2); i++)
    w2[i] = (float) g_rand_double_range (rand, -0.7, 1.3);
  for (guint i = 0; i < G_N_ELEMENTS (b2); i++)
    b2[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
  g_rand_free (rand);

  inits[0] = small_tensor (&m, "W1", 2, w1_dims, w1, 48);
  inits[1] = small_tensor (&m, "W2", 2, w2_dims, w2, 24);
  inits[2] = small_tensor (&m, "B2", 1, b2_dims, b2, 4);

  relu_attrs[0] = small_attr (&m, "note", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  relu_attrs[0]->has_s = TRUE;
  relu_attrs[0]->s.data = (uint8_t *) "hello";
  relu_attrs[0]->s.len = 5;
  relu_attrs[1] = small_attr (&m, "weights", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  relu_attrs[1]->n_floats = 2;
  relu_attrs[1]->floats = (float *) floats;
  relu_attrs[2] = small_attr (&m, "tags", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  bins[0].data = (uint8_t *) strings[0];
  bins[0].len = 1;
  bins[1].data = (uint8_t *) strings[1];
  bins[1].len = 2;
  relu_attrs[2]->n_strings = 2;
  relu_attrs[2]->strings = bins;
  relu_attrs[3] = small_attr (&m, "gain", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  relu_attrs[3]->has_f = TRUE;
  relu_attrs[3]->f = 0.25f;

  gemm_attrs[0] = small_attr (&m, "transB", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  gemm_attrs[0]->has_i = TRUE;
  gemm_attrs[1] = small_attr (&m, "beta", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  gemm_attrs[1]->has_f = TRUE;
  gemm_attrs[1]->f = 1.0f;
  rm_attrs[0] = small_attr (&m, "axes", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  rm_attrs[0]->n_ints = 1;
  rm_attrs[0]->ints = (int64_t *) axes;
  rm_attrs[1] = small_attr (&m, "keepdims", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  rm_attrs[1]->has_i = TRUE;
  rm_attrs[1]->i = 1;
  const_attrs[0] = small_attr (&m, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  const_attrs[0]->t = small_tensor (&m, NULL, 1, c_dims, &half, 1);

  nodes[0] = small_node (&m, "MatMul", "mm", "x", "W1", NULL, "h", 0, NULL);
  nodes[1] = small_node (&m, "Relu", "relu", "h", NULL, NULL, "r", extra_attrs ? 4 : 0, relu_attrs);
  nodes[2] = small_node (&m, "Gemm", "gemm", "r", "W2", "B2", "y", 2, gemm_attrs);
  nodes[3] = small_node (&m, "ReduceMean", "rm", "y", NULL, NULL, "mean", 2, rm_attrs);
  nodes[4] = small_node (&m, "Constant", "half", NULL, NULL, NULL, "c", 1, const_attrs);
  nodes[4]->n_input = 0;
  nodes[5] = small_node (&m, "Add", "add", "mean", "c", NULL, "m", 0, NULL);

  ins[0] = small_io (&m, "x", "N", 8);
  outs[0] = small_io (&m, "y", "N", 4);
  outs[1] = small_io (&m, "m", "N", 1);

  op.domain = (char *) "";
  op.has_version = TRUE;
  op.version = opset;
  model.has_ir_version = TRUE;
  model.ir_version = opset >= 13 ? 7 : 6;
  model.n_opset_import = 1;
  model.opset_import = ops;
  model.producer_name = (char *) "test";
  model.graph = &graph;
  graph.name = (char *) "small";
  graph.n_node = G_N_ELEMENTS (nodes);
  graph.node = nodes;
  graph.n_initializer = G_N_ELEMENTS (inits);
  graph.initializer = inits;
  graph.n_input = 1;
  graph.input = ins;
  graph.n_output = 2;
  graph.output = outs;

  len = onnx__model_proto__get_packed_size (&model);
  buf = g_malloc (len);
  onnx__model_proto__pack (&model, buf);
  g = lathe_onnx_parse_model (buf, len, "small.onnx", NULL, &error);
  g_assert_no_error (error);
  g_free (buf);
  g_ptr_array_unref (m.mem);
  return g;
}

static LatheTensor *
small_input (void)
{
  static const gint64 dims[] = { 5, 8 };
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, dims);
  GRand *rand = g_rand_new_with_seed (3);

  for (gsize i = 0; i < t->n; i++)
    lathe_tensor_f32 (t)[i] = (float) g_rand_double_range (rand, -2, 2);
  g_rand_free (rand);
  return t;
}

/* ------------------------------------------------------------------------
 * Round trips */

static void
test_round_trip (gconstpointer data)
{
  const char *name = data;
  g_autoptr(LatheGraph) graph = load_sample (name);
  g_autoptr(LatheGraph) reloaded = NULL;
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GBytes) from_reloaded = NULL;
  g_autoptr(GPtrArray) want = NULL;
  g_autoptr(GPtrArray) got = NULL;
  LatheExportOptions options = { 0 };
  LatheValue *in;

  bytes = serialize_ok (graph, &options);
  g_assert_cmpint (options.out_opset, ==, 13);
  again = serialize_ok (graph, NULL);
  g_assert_true (g_bytes_equal (bytes, again));

  reloaded = parse_bytes (bytes);
  g_assert_cmpint (reloaded->opset, ==, 13);
  g_assert_cmpint (reloaded->ir_version, ==, graph->ir_version);
  g_assert_cmpstr (reloaded->producer_name, ==, "lathe");
  g_assert_cmpstr (reloaded->doc_string, ==, graph->doc_string);
  g_assert_cmpuint (reloaded->metadata_keys->len, ==, 3);
  g_assert_cmpstr (lathe_graph_get_metadata (reloaded, "lathe.mean"), ==, "0.2860");
  g_assert_cmpstr (lathe_graph_get_metadata (reloaded, "lathe.labels"), ==,
                   lathe_graph_get_metadata (graph, "lathe.labels"));
  g_assert_cmpuint (reloaded->nodes->len, ==, graph->nodes->len);
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      LatheNode *a = lathe_graph_node (graph, i), *b = lathe_graph_node (reloaded, i);
      g_assert_cmpstr (a->name, ==, b->name);
      g_assert_cmpstr (a->op_type, ==, b->op_type);
      g_assert_cmpuint (a->n_attrs, ==, b->n_attrs);
    }
  in = lathe_graph_value (reloaded, g_array_index (reloaded->inputs, guint, 0));
  g_assert_cmpstr (in->name, ==, "input");
  g_assert_cmpstr (in->dim_param0, ==, "batch");
  g_assert_cmpint (in->ndim, ==, 4);
  g_assert_cmpint (in->dims[2], ==, 28);

  want = run_graph (graph, input);
  got = run_graph (reloaded, input);
  for (guint i = 0; i < want->len; i++)
    {
      LatheTensor *a = g_ptr_array_index (want, i), *b = g_ptr_array_index (got, i);
      g_assert_true (lathe_tensor_same_shape (a, b));
      g_assert_cmpmem (a->data, lathe_tensor_nbytes (a), b->data, lathe_tensor_nbytes (b));
    }

  /* what the writer writes it writes again unchanged */
  from_reloaded = serialize_ok (reloaded, NULL);
  g_assert_true (g_bytes_equal (bytes, from_reloaded));
}

static void
test_attributes (void)
{
  g_autoptr(LatheGraph) graph = small_graph (13, TRUE);
  g_autoptr(GBytes) bytes = serialize_ok (graph, NULL);
  Onnx__ModelProto *mp = unpack_bytes (bytes);
  Onnx__NodeProto *relu = find_node (mp, "relu");
  Onnx__NodeProto *cst = find_node (mp, "half");
  Onnx__AttributeProto *a;

  g_assert_cmpstr (mp->graph->name, ==, "small");
  g_assert_cmpstr (mp->graph->input[0]->type->tensor_type->shape->dim[0]->dim_param, ==, "N");
  g_assert_cmpint (mp->graph->output[1]->type->tensor_type->shape->dim[1]->dim_value, ==, 1);
  g_assert_nonnull (relu);
  a = find_attr (relu, "note");
  g_assert_cmpint (a->type, ==, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  g_assert_cmpmem (a->s.data, a->s.len, "hello", 5);
  a = find_attr (relu, "weights");
  g_assert_cmpuint (a->n_floats, ==, 2);
  g_assert_cmpfloat (a->floats[1], ==, -2.25f);
  a = find_attr (relu, "tags");
  g_assert_cmpuint (a->n_strings, ==, 2);
  g_assert_cmpmem (a->strings[1].data, a->strings[1].len, "bc", 2);
  a = find_attr (relu, "gain");
  g_assert_cmpfloat (a->f, ==, 0.25f);
  a = find_attr (find_node (mp, "rm"), "axes");
  g_assert_cmpuint (a->n_ints, ==, 1);
  a = find_attr (cst, "value");
  g_assert_nonnull (a->t);
  g_assert_cmpint (a->t->data_type, ==, LATHE_DTYPE_FLOAT);
  g_assert_cmpuint (a->t->raw_data.len, ==, 4);
  g_assert_cmpuint (find_initializer (mp, "W1")->n_dims, ==, 2);
  g_assert_cmpuint (find_initializer (mp, "W1")->raw_data.len, ==, 48 * 4);
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* After a width change the initializers' shapes are what is written. */
static void
test_changed_shapes (void)
{
  g_autoptr(LatheGraph) graph = small_graph (13, FALSE);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(LatheGraph) reloaded = NULL;
  g_autoptr(LatheTensor) input = small_input ();
  g_autoptr(GPtrArray) want = NULL;
  g_autoptr(GPtrArray) got = NULL;
  static const gint64 w1_dims[] = { 8, 3 }, w2_dims[] = { 3, 4 };
  LatheValue *w1 = lathe_graph_lookup (graph, "W1"), *w2 = lathe_graph_lookup (graph, "W2");
  LatheTensor *nw1 = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, w1_dims);
  LatheTensor *nw2 = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, w2_dims);

  /* keep hidden units 0, 2, 4 */
  for (gsize k = 0; k < 8; k++)
    for (gsize j = 0; j < 3; j++)
      lathe_tensor_f32 (nw1)[k * 3 + j] = lathe_tensor_f32 (w1->initializer)[k * 6 + 2 * j];
  for (gsize j = 0; j < 3; j++)
    for (gsize n = 0; n < 4; n++)
      lathe_tensor_f32 (nw2)[j * 4 + n] = lathe_tensor_f32 (w2->initializer)[2 * j * 4 + n];
  lathe_tensor_unref (w1->initializer);
  w1->initializer = nw1;
  lathe_tensor_unref (w2->initializer);
  w2->initializer = nw2;

  bytes = serialize_ok (graph, NULL);
  reloaded = parse_bytes (bytes);
  g_assert_cmpint (lathe_graph_lookup (reloaded, "W1")->initializer->dims[1], ==, 3);
  want = run_graph (graph, input);
  got = run_graph (reloaded, input);
  g_assert_cmpfloat (max_abs_diff (want, got), ==, 0);
}

/* ------------------------------------------------------------------------
 * Quantized exports */

static void
test_per_tensor (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-mlp"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *dq;

  export_quantize (e, "fc1.weight", 0, 8, FALSE, LATHE_GRANULARITY_TENSOR, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 13);
  mp = unpack_bytes (bytes);
  dq = find_node (mp, "fc1.weight.dequantize");
  g_assert_nonnull (dq);
  g_assert_cmpstr (dq->op_type, ==, "DequantizeLinear");
  g_assert_cmpuint (dq->n_input, ==, 2);
  g_assert_cmpstr (dq->output[0], ==, "fc1.weight");
  g_assert_null (find_attr (dq, "axis"));
  g_assert_cmpint (find_initializer (mp, "fc1.weight.q")->data_type, ==, LATHE_DTYPE_INT8);
  g_assert_cmpuint (find_initializer (mp, "fc1.weight.q")->raw_data.len, ==, 300 * 784);
  g_assert_cmpuint (find_initializer (mp, "fc1.weight.scale")->n_dims, ==, 0);
  g_assert_null (find_initializer (mp, "fc1.weight"));
  g_assert_null (find_initializer (mp, "fc1.weight.zero_point"));
  g_assert_cmpint (mp->opset_import[0]->version, ==, 13);
  g_assert_cmpint (mp->ir_version, ==, 7);
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* 8 bits per channel stays at the model's opset 13. */
static void
test_per_channel_8bit (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-mlp"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *dq;

  export_quantize (e, "fc1.weight", 0, 8, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  export_quantize (e, "fc2.weight", 0, 8, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  export_quantize (e, "fc3.weight", 0, 6, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 13);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (mp->opset_import[0]->version, ==, 13);
  dq = find_node (mp, "fc2.weight.dequantize");
  g_assert_cmpint (find_attr (dq, "axis")->i, ==, 0);
  g_assert_null (find_attr (dq, "block_size"));
  g_assert_cmpuint (find_initializer (mp, "fc2.weight.scale")->n_dims, ==, 1);
  g_assert_cmpint (find_initializer (mp, "fc2.weight.scale")->dims[0], ==, 100);
  g_assert_cmpint (find_initializer (mp, "fc3.weight.q")->data_type, ==, LATHE_DTYPE_INT8);
  /* the DequantizeLinear nodes come first, in initializer order */
  g_assert_cmpstr (mp->graph->node[0]->name, ==, "fc1.weight.dequantize");
  g_assert_cmpstr (mp->graph->node[2]->name, ==, "fc3.weight.dequantize");
  onnx__model_proto__free_unpacked (mp, NULL);
}

static void
test_affine (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-cnn"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;

  export_quantize (e, "conv1.weight", 0, 8, TRUE, LATHE_GRANULARITY_CHANNEL, 0);
  export_quantize (e, "fc1.weight", 0, 8, TRUE, LATHE_GRANULARITY_TENSOR, 0);
  export_quantize (e, "fc2.weight", 0, 7, TRUE, LATHE_GRANULARITY_CHANNEL, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 13);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (find_initializer (mp, "conv1.weight.q")->data_type, ==, LATHE_DTYPE_UINT8);
  g_assert_cmpint (find_initializer (mp, "conv1.weight.zero_point")->data_type, ==, LATHE_DTYPE_UINT8);
  g_assert_cmpint (find_initializer (mp, "conv1.weight.zero_point")->dims[0], ==, 6);
  g_assert_cmpuint (find_node (mp, "conv1.weight.dequantize")->n_input, ==, 3);
  g_assert_cmpuint (find_initializer (mp, "fc1.weight.zero_point")->n_dims, ==, 0);
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* Groups on a Gemm weight [N, K]: blocked along axis 1 at opset 21. */
static void
test_groups_gemm (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-mlp"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *dq;
  Onnx__TensorProto *scale;

  export_quantize (e, "fc1.weight", 0, 8, FALSE, LATHE_GRANULARITY_GROUP, 16);
  export_quantize (e, "fc2.weight", 0, 8, TRUE, LATHE_GRANULARITY_GROUP, 32);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 21);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (mp->ir_version, ==, 10);
  dq = find_node (mp, "fc1.weight.dequantize");
  g_assert_cmpint (find_attr (dq, "axis")->i, ==, 1);
  g_assert_cmpint (find_attr (dq, "block_size")->i, ==, 16);
  scale = find_initializer (mp, "fc1.weight.scale");
  g_assert_cmpuint (scale->n_dims, ==, 2);
  g_assert_cmpint (scale->dims[0], ==, 300);
  g_assert_cmpint (scale->dims[1], ==, 49);
  /* 300 inputs in groups of 32: the last group holds 12 */
  scale = find_initializer (mp, "fc2.weight.zero_point");
  g_assert_cmpint (scale->dims[1], ==, 10);
  g_assert_cmpint (scale->data_type, ==, LATHE_DTYPE_UINT8);
  g_assert_true (notes_contain (e->notes, "Opset raised from 13 to 21 for blocked scales"));
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* Groups on a Conv weight [Cout, Cin, kh, kw]: a group is G input channels
 * × kh × kw, blocked along axis 1, the scales repeated over the kernel. */
static void
test_groups_conv (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-cnn"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *dq;
  Onnx__TensorProto *scale, *q;
  LatheQuantized *q2;

  q2 = export_quantize (e, "conv2.weight", 0, 4, FALSE, LATHE_GRANULARITY_GROUP, 4);
  g_assert_cmpuint (q2->group_len, ==, 100);
  g_assert_cmpuint (q2->scales_per_row, ==, 2);     /* channels 0–3 and 4–5 */
  export_quantize (e, "conv1.weight", 0, 8, TRUE, LATHE_GRANULARITY_GROUP, 16);   /* Cin 1: per-channel */
  export_quantize (e, "fc1.weight", 0, 4, TRUE, LATHE_GRANULARITY_GROUP, 16);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 21);
  mp = unpack_bytes (bytes);
  dq = find_node (mp, "conv2.weight.dequantize");
  g_assert_cmpint (find_attr (dq, "axis")->i, ==, 1);
  g_assert_cmpint (find_attr (dq, "block_size")->i, ==, 4);
  scale = find_initializer (mp, "conv2.weight.scale");
  g_assert_cmpuint (scale->n_dims, ==, 4);
  g_assert_cmpint (scale->dims[0], ==, 16);
  g_assert_cmpint (scale->dims[1], ==, 2);
  g_assert_cmpint (scale->dims[2], ==, 5);
  g_assert_cmpint (scale->dims[3], ==, 5);
  q = find_initializer (mp, "conv2.weight.q");
  g_assert_cmpint (q->data_type, ==, LATHE_DTYPE_INT4);
  g_assert_cmpuint (q->raw_data.len, ==, 16 * 6 * 25 / 2);
  g_assert_true (notes_contain (e->notes, "conv2.weight: blocked scales have the weight's rank"));
  g_assert_true (notes_contain (e->notes, "800 scales of shape [16,2,5,5] instead of 32 (+3072 bytes)"));
  /* one group per row is per-channel */
  dq = find_node (mp, "conv1.weight.dequantize");
  g_assert_null (find_attr (dq, "block_size"));
  g_assert_cmpint (find_initializer (mp, "fc1.weight.q")->data_type, ==, LATHE_DTYPE_UINT4);
  g_assert_cmpint (find_initializer (mp, "fc1.weight.zero_point")->data_type, ==, LATHE_DTYPE_UINT4);
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* 4 bits at opset 13 with a ReduceMean: upgraded to opset 21, INT4 and
 * UINT4 codes, ReduceMean's axes turned into an input. */
static void
test_int4_upgrade (void)
{
  g_autoptr(Export) e = export_new (small_graph (13, FALSE));
  g_autoptr(LatheTensor) input = small_input ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(LatheGraph) reloaded = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *rm, *dq;
  Onnx__TensorProto *q, *axes;
  LatheQuantized *q1;

  q1 = export_quantize (e, "W1", 1, 4, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  export_quantize (e, "W2", 1, 4, TRUE, LATHE_GRANULARITY_GROUP, 4);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 21);

  mp = unpack_bytes (bytes);
  g_assert_cmpint (mp->opset_import[0]->version, ==, 21);
  g_assert_cmpint (mp->ir_version, ==, 10);
  rm = find_node (mp, "rm");
  g_assert_cmpuint (rm->n_input, ==, 2);
  g_assert_null (find_attr (rm, "axes"));
  g_assert_cmpint (find_attr (rm, "keepdims")->i, ==, 1);
  axes = find_initializer (mp, rm->input[1]);
  g_assert_nonnull (axes);
  g_assert_cmpint (axes->data_type, ==, LATHE_DTYPE_INT64);
  g_assert_cmpint (((const gint64 *) axes->raw_data.data)[0], ==, 1);

  /* W1 [8, 6] per output column: INT4, axis 1, no zero point */
  q = find_initializer (mp, "W1.q");
  g_assert_cmpint (q->data_type, ==, LATHE_DTYPE_INT4);
  g_assert_cmpint (q->dims[0], ==, 8);
  g_assert_cmpuint (q->raw_data.len, ==, 24);
  /* low nibble first: tensor element 0 is view row 0 col 0, element 1 is row 1 col 0 */
  g_assert_cmpint ((gint8) (q->raw_data.data[0] << 4) >> 4, ==, q1->codes[0]);
  g_assert_cmpint ((gint8) q->raw_data.data[0] >> 4, ==, q1->codes[1 * 8 + 0]);
  dq = find_node (mp, "W1.dequantize");
  g_assert_cmpint (find_attr (dq, "axis")->i, ==, 1);
  g_assert_cmpuint (dq->n_input, ==, 2);
  /* W2 [6, 4] in groups of 4 inputs: UINT4, blocked along axis 0, scales [2, 4] */
  q = find_initializer (mp, "W2.q");
  g_assert_cmpint (q->data_type, ==, LATHE_DTYPE_UINT4);
  dq = find_node (mp, "W2.dequantize");
  g_assert_cmpint (find_attr (dq, "axis")->i, ==, 0);
  g_assert_cmpint (find_attr (dq, "block_size")->i, ==, 4);
  g_assert_cmpint (find_initializer (mp, "W2.scale")->dims[0], ==, 2);
  g_assert_cmpint (find_initializer (mp, "W2.scale")->dims[1], ==, 4);
  g_assert_cmpint (find_initializer (mp, "W2.zero_point")->data_type, ==, LATHE_DTYPE_UINT4);
  onnx__model_proto__free_unpacked (mp, NULL);

  g_assert_true (notes_contain (e->notes, "Opset raised from 13 to 21 for INT4 codes and blocked scales"));
  g_assert_true (notes_contain (e->notes, "ReduceMean 'rm'"));
  g_assert_true (notes_contain (e->notes, "IR version 7 written as 10"));

  /* the reloaded model holds the codes unpacked, and writes them again */
  reloaded = parse_bytes (bytes);
  g_assert_cmpint (lathe_graph_lookup (reloaded, "W1.q")->initializer->dtype, ==, LATHE_DTYPE_INT8);
  g_assert_cmpint (((gint8 *) lathe_graph_lookup (reloaded, "W1.q")->initializer->data)[0], ==, q1->codes[0]);

  /* blocked scales of the wrong shape: DequantizeLinear names itself */
  {
    static const gint64 bad_dims[] = { 3, 4 };
    LatheValue *scale = lathe_graph_lookup (reloaded, "W2.scale");
    LatheValue *zp = lathe_graph_lookup (reloaded, "W2.zero_point");
    g_autoptr(LatheExecutor) exec = NULL;
    g_autoptr(GError) error = NULL;

    lathe_tensor_unref (scale->initializer);
    scale->initializer = lathe_tensor_new (LATHE_DTYPE_FLOAT, 2, bad_dims);
    memset (scale->initializer->data, 0, lathe_tensor_nbytes (scale->initializer));
    lathe_tensor_unref (zp->initializer);
    zp->initializer = lathe_tensor_new (LATHE_DTYPE_UINT8, 2, bad_dims);
    memset (zp->initializer->data, 0, lathe_tensor_nbytes (zp->initializer));
    exec = lathe_executor_new (reloaded);
    g_assert_false (lathe_executor_run (exec, 1, &input, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "W2.dequantize"));
    g_assert_nonnull (strstr (error->message, "block_size 4"));
    g_test_message ("%s", error->message);
  }
}

/* 1-bit codes (±1, 0 for zero) with scale mean|w|, in INT4 containers. */
static void
test_1bit (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-mlp"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;

  export_quantize (e, "fc2.weight", 0, 1, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 21);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (find_initializer (mp, "fc2.weight.q")->data_type, ==, LATHE_DTYPE_INT4);
  for (gsize i = 0; i < 100 * 300 / 2; i++)
    {
      guint8 b = find_initializer (mp, "fc2.weight.q")->raw_data.data[i];
      g_assert_true ((b & 0xF) == 0x1 || (b & 0xF) == 0xF || (b & 0xF) == 0);
    }
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* At opset 11 per-channel scales cannot be written (DequantizeLinear has
 * no axis before 13) and 4 bits go into INT8 containers. */
static void
test_fallback_opset11 (void)
{
  g_autoptr(Export) e = export_new (small_graph (11, FALSE));
  g_autoptr(LatheTensor) input = small_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__TensorProto *w1;

  export_quantize (e, "W1", 1, 8, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  export_quantize (e, "W2", 1, 4, FALSE, LATHE_GRANULARITY_TENSOR, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 11);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (mp->opset_import[0]->version, ==, 11);
  g_assert_cmpint (mp->ir_version, ==, 6);
  w1 = find_initializer (mp, "W1");
  g_assert_nonnull (w1);
  g_assert_cmpint (w1->data_type, ==, LATHE_DTYPE_FLOAT);
  g_assert_null (find_node (mp, "W1.dequantize"));
  g_assert_cmpint (find_initializer (mp, "W2.q")->data_type, ==, LATHE_DTYPE_INT8);
  g_assert_null (find_attr (find_node (mp, "W2.dequantize"), "axis"));
  g_assert_nonnull (find_attr (find_node (mp, "rm"), "axes"));
  g_assert_true (notes_contain (e->notes, "W1: per-channel quantization needs opset 13"));
  g_assert_true (notes_contain (e->notes, "W2: 4-bit codes stored in int8 containers"));
  onnx__model_proto__free_unpacked (mp, NULL);
}

static void
test_fallback_groups (void)
{
  g_autoptr(Export) e = export_new (small_graph (11, FALSE));
  g_autoptr(LatheTensor) input = small_input ();
  g_autoptr(GBytes) bytes = NULL;

  export_quantize (e, "W2", 1, 8, TRUE, LATHE_GRANULARITY_GROUP, 4);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 11);
  g_assert_true (notes_contain (e->notes, "W2: grouped quantization needs opset 21"));
}

static void
test_fp16 (void)
{
  g_autoptr(Export) e = export_new (load_sample ("fashion-cnn"));
  g_autoptr(LatheTensor) input = sample_input ();
  g_autoptr(GBytes) bytes = NULL;
  Onnx__ModelProto *mp;
  Onnx__NodeProto *cast;

  export_fp16 (e, "conv2.weight");
  export_fp16 (e, "fc1.weight");
  export_quantize (e, "fc2.weight", 0, 8, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  bytes = export_check (e, input);
  g_assert_cmpint (e->options.out_opset, ==, 13);
  mp = unpack_bytes (bytes);
  g_assert_cmpint (find_initializer (mp, "fc1.weight.fp16")->data_type, ==, LATHE_DTYPE_FLOAT16);
  g_assert_cmpuint (find_initializer (mp, "fc1.weight.fp16")->raw_data.len, ==, 120 * 400 * 2);
  cast = find_node (mp, "fc1.weight.cast");
  g_assert_cmpstr (cast->op_type, ==, "Cast");
  g_assert_cmpint (find_attr (cast, "to")->i, ==, LATHE_DTYPE_FLOAT);
  g_assert_cmpstr (cast->output[0], ==, "fc1.weight");
  onnx__model_proto__free_unpacked (mp, NULL);
}

/* ------------------------------------------------------------------------
 * What the writer refuses */

static void
test_errors (void)
{
  g_autoptr(Export) e = export_new (small_graph (13, FALSE));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  LatheExportWeight *ew;
  LatheQuantized *q;

  /* not an initializer */
  ew = g_new0 (LatheExportWeight, 1);
  ew->fp16 = TRUE;
  g_hash_table_insert (e->weights, g_strdup ("h"), ew);
  bytes = lathe_onnx_serialize (e->graph, &e->options, &error);
  g_assert_null (bytes);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'h'"));
  g_clear_error (&error);
  g_hash_table_remove (e->weights, "h");

  /* codes of the wrong shape for the out_axis */
  q = export_quantize (e, "W1", 1, 8, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  ((LatheExportWeight *) g_hash_table_lookup (e->weights, "W1"))->out_axis = 0;
  bytes = lathe_onnx_serialize (e->graph, &e->options, &error);
  g_assert_null (bytes);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "initializer 'W1'"));
  g_clear_error (&error);
  ((LatheExportWeight *) g_hash_table_lookup (e->weights, "W1"))->out_axis = 1;

  /* a code its container cannot hold */
  q->codes[5] = 300;
  bytes = lathe_onnx_serialize (e->graph, &e->options, &error);
  g_assert_null (bytes);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "does not fit int8"));
  g_clear_error (&error);
  q->codes[5] = 0;
  g_assert_cmpuint (e->notes->len, ==, 0);

  /* an op the upgrade to opset 21 does not know */
  export_quantize (e, "W2", 1, 4, FALSE, LATHE_GRANULARITY_CHANNEL, 0);
  for (guint i = 0; i < e->graph->nodes->len; i++)
    {
      LatheNode *node = lathe_graph_node (e->graph, i);
      if (g_str_equal (node->op_type, "Add"))
        {
          g_free (node->op_type);
          node->op_type = g_strdup ("Mystery");
        }
    }
  bytes = lathe_onnx_serialize (e->graph, &e->options, &error);
  g_assert_null (bytes);
  g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP);
  g_assert_nonnull (strstr (error->message, "'add'"));
  g_assert_nonnull (strstr (error->message, "Mystery"));
  g_test_message ("%s", error->message);
}

/* ------------------------------------------------------------------------
 * The loader's INT4 / UINT4 unpacking and DequantizeLinear on its own */

static LatheGraph *
dq_model (LatheDType  dtype,
          gboolean    raw,
          gsize       n,
          const int32_t *packed)
{
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *ops[1] = { &op };
  Onnx__TensorProto x = ONNX__TENSOR_PROTO__INIT, s = ONNX__TENSOR_PROTO__INIT;
  Onnx__TensorProto *inits[2] = { &x, &s };
  Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
  Onnx__NodeProto *nodes[1] = { &node };
  Onnx__ValueInfoProto out = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__ValueInfoProto *outs[1] = { &out };
  char *ins[2] = { "x", "s" }, *outn[1] = { "y" };
  int64_t dims[1] = { (int64_t) n };
  float scale = 0.5f;
  guint8 bytes[16];
  g_autoptr(GError) error = NULL;
  LatheGraph *g;
  guint8 *buf;
  gsize len;

  for (gsize i = 0; i < (n + 1) / 2; i++)
    bytes[i] = (guint8) packed[i];
  x.name = "x";
  x.has_data_type = TRUE;
  x.data_type = dtype;
  x.n_dims = 1;
  x.dims = dims;
  if (raw)
    {
      x.has_raw_data = TRUE;
      x.raw_data.data = bytes;
      x.raw_data.len = (n + 1) / 2;
    }
  else
    {
      x.n_int32_data = (n + 1) / 2;
      x.int32_data = (int32_t *) packed;
    }
  s.name = "s";
  s.has_data_type = TRUE;
  s.data_type = LATHE_DTYPE_FLOAT;
  s.n_float_data = 1;
  s.float_data = &scale;
  node.op_type = "DequantizeLinear";
  node.n_input = 2;
  node.input = ins;
  node.n_output = 1;
  node.output = outn;
  out.name = "y";
  op.has_version = TRUE;
  op.version = 21;
  model.has_ir_version = TRUE;
  model.ir_version = 10;
  model.n_opset_import = 1;
  model.opset_import = ops;
  model.graph = &graph;
  graph.n_node = 1;
  graph.node = nodes;
  graph.n_initializer = 2;
  graph.initializer = inits;
  graph.n_output = 1;
  graph.output = outs;

  len = onnx__model_proto__get_packed_size (&model);
  buf = g_malloc (len);
  onnx__model_proto__pack (&model, buf);
  g = lathe_onnx_parse_model (buf, len, "int4.onnx", NULL, &error);
  g_free (buf);
  g_assert_no_error (error);
  return g;
}

static void
test_int4_loader (void)
{
  /* 5 elements: 1, -2, 7, -8, 3 (int4) / 1, 14, 7, 8, 3 (uint4) */
  static const int32_t packed[3] = { 0xE1, 0x87, 0x03 };
  static const gint8 want_s[5] = { 1, -2, 7, -8, 3 };
  static const guint8 want_u[5] = { 1, 14, 7, 8, 3 };

  for (int raw = 0; raw < 2; raw++)
    for (int sign = 0; sign < 2; sign++)
      {
        g_autoptr(LatheGraph) g = dq_model (sign ? LATHE_DTYPE_INT4 : LATHE_DTYPE_UINT4, raw, 5, packed);
        g_autoptr(LatheExecutor) exec = lathe_executor_new (g);
        g_autoptr(GError) error = NULL;
        LatheTensor *x = lathe_graph_lookup (g, "x")->initializer;
        LatheTensor *y;

        g_assert_cmpint (x->dtype, ==, sign ? LATHE_DTYPE_INT8 : LATHE_DTYPE_UINT8);
        g_assert_cmpuint (x->n, ==, 5);
        g_assert_cmpmem (x->data, 5, sign ? (gconstpointer) want_s : (gconstpointer) want_u, 5);
        g_assert_true (lathe_executor_run (exec, 0, NULL, &error));
        g_assert_no_error (error);
        y = lathe_executor_get_output (exec, 0);
        for (gsize i = 0; i < 5; i++)
          g_assert_cmpfloat (lathe_tensor_f32 (y)[i], ==, 0.5f * (sign ? want_s[i] : want_u[i]));
      }

  /* packed data of the wrong length names the tensor */
  {
    static const int32_t short_data[2] = { 0x21, 0x43 };
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[1] = { 5 };
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    LatheTensor *t;
    guint8 *buf;
    gsize len;
    int fd;

    tp.name = "nibbles";
    tp.has_data_type = TRUE;
    tp.data_type = LATHE_DTYPE_INT4;
    tp.n_dims = 1;
    tp.dims = dims;
    tp.n_int32_data = 2;
    tp.int32_data = (int32_t *) short_data;
    len = onnx__tensor_proto__get_packed_size (&tp);
    buf = g_malloc (len);
    onnx__tensor_proto__pack (&tp, buf);
    fd = g_file_open_tmp ("lathe-int4-XXXXXX.pb", &path, NULL);
    g_assert_cmpint (fd, >=, 0);
    close (fd);
    g_assert_true (g_file_set_contents (path, (const char *) buf, len, NULL));
    g_free (buf);
    t = lathe_onnx_load_tensor_file (path, NULL, &error);
    g_assert_null (t);
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "nibbles"));
    g_unlink (path);
  }
}

static void
test_dequantize_kernel (void)
{
  static const struct { gsize outer, len, inner, block; } shapes[] = {
    { 1, 1, 1000, 0 },       /* per-tensor */
    { 1, 7, 33, 0 },         /* per-axis, axis 0 */
    { 5, 9, 4, 0 },          /* per-axis in the middle */
    { 6, 10, 1, 4 },         /* blocked along the last axis, a short last block */
    { 3, 12, 25, 3 },        /* blocked along a middle axis (Conv [Cout, Cin, kh·kw]) */
    { 1, 17, 8, 17 },        /* one block */
  };
  static const LatheDType types[] = { LATHE_DTYPE_INT8, LATHE_DTYPE_UINT8, LATHE_DTYPE_INT32 };
  GRand *rand = g_rand_new_with_seed (5);

  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    for (guint ti = 0; ti < G_N_ELEMENTS (types); ti++)
      for (int with_zp = 0; with_zp < 2; with_zp++)
        {
          gsize outer = shapes[si].outer, len = shapes[si].len, inner = shapes[si].inner;
          gsize block = shapes[si].block;
          gsize n = outer * len * inner;
          gsize ns = block ? outer * ((len + block - 1) / block) * inner : len;
          gsize esize = lathe_dtype_size (types[ti]);
          g_autofree guint8 *x = g_malloc (n * esize);
          g_autofree guint8 *zp = g_malloc (ns * esize);
          g_autofree float *scale = g_new (float, ns);
          g_autofree float *fast = g_new (float, n);
          g_autofree float *ref = g_new (float, n);

          for (gsize i = 0; i < n * esize; i++)
            x[i] = (guint8) g_rand_int (rand);
          for (gsize i = 0; i < ns * esize; i++)
            zp[i] = (guint8) g_rand_int (rand);
          for (gsize i = 0; i < ns; i++)
            scale[i] = (float) g_rand_double_range (rand, 1e-4, 0.1);
          _lathe_quant_dequantize_f32 (fast, x, types[ti], scale, with_zp ? zp : NULL,
                                       outer, len, inner, block);
          _lathe_quant_dequantize_f32_ref (ref, x, types[ti], scale, with_zp ? zp : NULL,
                                           outer, len, inner, block);
          /* exact: the 8-bit products are exact in double, int32 uses double in both */
          g_assert_cmpmem (fast, n * sizeof (float), ref, n * sizeof (float));
        }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/lathe/onnx/writer/round-trip/mlp", "fashion-mlp", test_round_trip);
  g_test_add_data_func ("/lathe/onnx/writer/round-trip/cnn", "fashion-cnn", test_round_trip);
  g_test_add_func ("/lathe/onnx/writer/attributes", test_attributes);
  g_test_add_func ("/lathe/onnx/writer/changed-shapes", test_changed_shapes);
  g_test_add_func ("/lathe/onnx/writer/quantized/per-tensor", test_per_tensor);
  g_test_add_func ("/lathe/onnx/writer/quantized/per-channel-8bit-opset13", test_per_channel_8bit);
  g_test_add_func ("/lathe/onnx/writer/quantized/affine", test_affine);
  g_test_add_func ("/lathe/onnx/writer/quantized/groups-gemm", test_groups_gemm);
  g_test_add_func ("/lathe/onnx/writer/quantized/groups-conv", test_groups_conv);
  g_test_add_func ("/lathe/onnx/writer/quantized/int4-upgrade", test_int4_upgrade);
  g_test_add_func ("/lathe/onnx/writer/quantized/1bit", test_1bit);
  g_test_add_func ("/lathe/onnx/writer/quantized/fallback-opset11", test_fallback_opset11);
  g_test_add_func ("/lathe/onnx/writer/quantized/fallback-groups", test_fallback_groups);
  g_test_add_func ("/lathe/onnx/writer/fp16", test_fp16);
  g_test_add_func ("/lathe/onnx/writer/errors", test_errors);
  g_test_add_func ("/lathe/onnx/int4/loader", test_int4_loader);
  g_test_add_func ("/lathe/engine/kernels/dequantize-linear", test_dequantize_kernel);

  return g_test_run ();
}
