/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-onnx"

#include <stdlib.h>
#include <string.h>

#include "core/lathe-error.h"
#include "onnx/lathe-onnx-writer.h"
#include "onnx.pb-c.h"

/* What each form of DequantizeLinear needs (ONNX operator changelog:
 * DequantizeLinear-10 per-tensor, -13 adds `axis`, -21 adds `block_size`
 * and the int4/uint4 input types, which need IR version 10). */
#define OPSET_PER_TENSOR   10
#define OPSET_PER_AXIS     13
#define OPSET_BLOCKED      21
#define OPSET_INT4         21
#define OPSET_UPGRADE_FROM 13
#define OPSET_CAST_INT_TO   6    /* Cast-1 took `to` as a string */
#define IR_VERSION_MIN      4    /* below 4, initializers must be graph inputs too */

/* The lowest IR version for an ai.onnx opset (onnx.helper.VERSION_TABLE). */
static gint64
ir_version_for_opset (gint64 opset)
{
  static const struct { gint64 opset, ir; } table[] = {
    { 9, 4 }, { 10, 5 }, { 11, 6 }, { 12, 7 }, { 15, 8 }, { 19, 9 }, { 21, 10 }, { 23, 11 },
  };
  gint64 ir = 3;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (opset >= table[i].opset)
      ir = table[i].ir;
  return ir;
}

/* ------------------------------------------------------------------------
 * Opset upgrade (13…20 → 21). Every op the engine runs, and what changed in
 * its form between opset 13 and 21 (the ONNX version converter's adapters
 * for these steps are all "compatible" except the two below). */

typedef enum {
  UPGRADE_SAME,          /* unchanged, or only new types / attributes whose default keeps the old meaning */
  UPGRADE_AXES_INPUT,    /* the `axes` attribute became an optional int64 input */
  UPGRADE_Y_ONLY,        /* BatchNormalization-14: outputs 2…5 now mean training mode */
} UpgradeRule;

static const struct {
  const char  *op_type;
  UpgradeRule  rule;
  int          changed_in;    /* the rule applies to models older than this opset */
} upgrade_rules[] = {
  { "Add", UPGRADE_SAME, 0 },  { "Sub", UPGRADE_SAME, 0 },  { "Mul", UPGRADE_SAME, 0 },
  { "Div", UPGRADE_SAME, 0 },  { "Pow", UPGRADE_SAME, 0 },  { "Sqrt", UPGRADE_SAME, 0 },
  { "Erf", UPGRADE_SAME, 0 },  { "Relu", UPGRADE_SAME, 0 }, { "LeakyRelu", UPGRADE_SAME, 0 },
  { "Sigmoid", UPGRADE_SAME, 0 }, { "Tanh", UPGRADE_SAME, 0 }, { "Clip", UPGRADE_SAME, 0 },
  { "Gemm", UPGRADE_SAME, 0 }, { "MatMul", UPGRADE_SAME, 0 }, { "Conv", UPGRADE_SAME, 0 },
  { "LayerNormalization", UPGRADE_SAME, 0 },
  { "Softmax", UPGRADE_SAME, 0 }, { "LogSoftmax", UPGRADE_SAME, 0 },
  { "Pad", UPGRADE_SAME, 0 },            /* 18: optional axes input, 19: wrap mode */
  { "MaxPool", UPGRADE_SAME, 0 }, { "AveragePool", UPGRADE_SAME, 0 },   /* 19: dilations, default 1 */
  { "GlobalAveragePool", UPGRADE_SAME, 0 },
  { "Reshape", UPGRADE_SAME, 0 },        /* 14: allowzero, default 0 */
  { "Flatten", UPGRADE_SAME, 0 }, { "Squeeze", UPGRADE_SAME, 0 }, { "Unsqueeze", UPGRADE_SAME, 0 },
  { "Identity", UPGRADE_SAME, 0 }, { "Dropout", UPGRADE_SAME, 0 },
  { "Shape", UPGRADE_SAME, 0 },          /* 15: start/end, defaults keep the whole shape */
  { "Transpose", UPGRADE_SAME, 0 }, { "Concat", UPGRADE_SAME, 0 }, { "Gather", UPGRADE_SAME, 0 },
  { "Slice", UPGRADE_SAME, 0 }, { "Constant", UPGRADE_SAME, 0 }, { "ConstantOfShape", UPGRADE_SAME, 0 },
  { "Cast", UPGRADE_SAME, 0 },           /* 19: saturate, only for float8 */
  { "DequantizeLinear", UPGRADE_SAME, 0 },
  { "ReduceMean", UPGRADE_AXES_INPUT, 18 },
  { "BatchNormalization", UPGRADE_Y_ONLY, 14 },
};

/* ------------------------------------------------------------------------
 * Writer state. Every protobuf-c struct and array is allocated here and
 * freed at the end; tensor data of the graph is referenced, not copied. */

typedef enum {
  STORE_PLAIN,           /* as it is in the graph */
  STORE_DEQUANTIZED,     /* quantized, but written as the dequantized float32 values */
  STORE_QUANTIZED,       /* integer initializer + DequantizeLinear */
  STORE_FP16,            /* FLOAT16 initializer + Cast */
} Store;

typedef enum {
  LAYOUT_TENSOR,
  LAYOUT_AXIS,
  LAYOUT_BLOCKED,
} Layout;

typedef struct {
  const LatheExportWeight *spec;
  Store                    store;
  Layout                   layout;
  LatheDType               qtype;     /* INT8, UINT8, INT4 or UINT4 */
  gint64                   axis;      /* DequantizeLinear axis (axis and blocked layouts) */
  gint64                   block;     /* block_size (blocked) */
  gsize                    spatial;   /* elements per input channel (blocked, out_axis 0) */
} WeightPlan;

typedef struct {
  LatheGraph  *graph;
  GHashTable  *weights;       /* from the options, may be NULL */
  WeightPlan  *plans;         /* per value id; spec NULL when not listed */
  gint64       src_opset;
  gint64       opset;
  gint64       ir_version;
  gboolean     upgrade;
  GPtrArray   *notes;         /* char*, handed to the caller on success */
  GPtrArray   *mem;           /* everything below is allocated here */
  GHashTable  *names;         /* every value name in use */
  GPtrArray   *front;         /* Onnx__NodeProto*: Cast / DequantizeLinear, before the graph's nodes */
  GPtrArray   *nodes;         /* Onnx__NodeProto* */
  GPtrArray   *inits;         /* Onnx__TensorProto* */
  GPtrArray   *extra_inits;   /* Onnx__TensorProto* made by the upgrade */
} Writer;

static gpointer
w_alloc (Writer *w,
         gsize   size)
{
  gpointer p = g_malloc0 (MAX (size, 1));

  g_ptr_array_add (w->mem, p);
  return p;
}

static gpointer
w_memdup (Writer        *w,
          gconstpointer  data,
          gsize          size)
{
  gpointer p = w_alloc (w, size);

  if (size > 0)
    memcpy (p, data, size);
  return p;
}

static char *
w_strdup (Writer     *w,
          const char *s)
{
  return s != NULL ? w_memdup (w, s, strlen (s) + 1) : NULL;
}

static char *
w_printf (Writer     *w,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static char *
w_printf (Writer     *w,
          const char *format,
          ...)
{
  va_list args;
  char *s;

  va_start (args, format);
  s = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (w->mem, s);
  return s;
}

static void
add_note (Writer     *w,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static void
add_note (Writer     *w,
          const char *format,
          ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (w->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

/* A name no value of the graph nor anything written so far uses: `base`,
 * else base_1, base_2… */
static const char *
unique_name (Writer     *w,
             const char *base)
{
  char *name = w_strdup (w, base);

  for (guint i = 1; g_hash_table_contains (w->names, name); i++)
    name = w_printf (w, "%s_%u", base, i);
  g_hash_table_add (w->names, name);
  return name;
}

#define W_NEW(w, Type, INIT)                                                   \
  ({ Type *p_ = w_alloc ((w), sizeof (Type)); Type init_ = INIT; *p_ = init_; p_; })

static Onnx__TensorProto *
tensor_proto (Writer        *w,
              const char    *name,
              LatheDType     dtype,
              guint          ndim,
              const gint64  *dims,
              gconstpointer  data,
              gsize          nbytes)
{
  Onnx__TensorProto *tp = W_NEW (w, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);

  tp->name = (char *) name;
  tp->has_data_type = TRUE;
  tp->data_type = (int32_t) dtype;
  tp->n_dims = ndim;
  tp->dims = w_memdup (w, dims, ndim * sizeof (int64_t));
  /* ONNX raw_data is little-endian, as is every machine we run on. */
  G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  tp->has_raw_data = TRUE;
  tp->raw_data.len = nbytes;
  tp->raw_data.data = (uint8_t *) data;
  return tp;
}

static Onnx__TensorProto *
tensor_proto_from_tensor (Writer            *w,
                          const char        *name,
                          const LatheTensor *t)
{
  return tensor_proto (w, name, t->dtype, t->ndim, t->dims, t->data, lathe_tensor_nbytes (t));
}

static Onnx__AttributeProto *
attr_int (Writer     *w,
          const char *name,
          gint64      value)
{
  Onnx__AttributeProto *ap = W_NEW (w, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);

  ap->name = (char *) name;
  ap->has_type = TRUE;
  ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  ap->has_i = TRUE;
  ap->i = value;
  return ap;
}

static Onnx__NodeProto *
node_proto (Writer      *w,
            const char  *name,
            const char  *op_type,
            guint        n_inputs,
            const char **inputs,
            const char  *output,
            guint        n_attrs,
            Onnx__AttributeProto **attrs)
{
  Onnx__NodeProto *np = W_NEW (w, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);

  np->name = (char *) name;
  np->op_type = (char *) op_type;
  np->n_input = n_inputs;
  np->input = w_memdup (w, inputs, n_inputs * sizeof (char *));
  np->n_output = 1;
  np->output = w_alloc (w, sizeof (char *));
  np->output[0] = (char *) output;
  np->n_attribute = n_attrs;
  np->attribute = n_attrs ? w_memdup (w, attrs, n_attrs * sizeof (Onnx__AttributeProto *)) : NULL;
  return np;
}

/* ------------------------------------------------------------------------
 * Planning: what each listed weight becomes at the opset written. */

static gboolean
weight_fail (GError     **error,
             int          code,
             const char  *name,
             const char  *format,
             ...) G_GNUC_PRINTF (4, 5);

static gboolean
weight_fail (GError     **error,
             int          code,
             const char  *name,
             const char  *format,
             ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATHE_ONNX_ERROR, code, "initializer '%s': %s", name, msg);
  return FALSE;
}

/* A group layout with one group per row is per-channel. */
static LatheGranularity
effective_granularity (const LatheQuantized *q)
{
  if (q->granularity == LATHE_GRANULARITY_GROUP && q->scales_per_row == 1)
    return LATHE_GRANULARITY_CHANNEL;
  return q->granularity;
}

static const char *
granularity_name (LatheGranularity g)
{
  switch (g)
    {
    case LATHE_GRANULARITY_TENSOR: return "per-tensor";
    case LATHE_GRANULARITY_CHANNEL: return "per-channel";
    case LATHE_GRANULARITY_GROUP: return "grouped";
    default: return "?";
    }
}

/* Checks that a weight's export description fits its tensor. */
static gboolean
check_weight (const LatheValue        *value,
              const LatheExportWeight *spec,
              GError                 **error)
{
  const LatheTensor *t = value->initializer;
  const LatheQuantized *q = spec->quantized;
  gsize expect_scales;

  if (q == NULL && !spec->fp16)
    return TRUE;
  if (q != NULL && spec->fp16)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "both quantized codes and fp16 are given; choose one");
  if (t->dtype != LATHE_DTYPE_FLOAT)
    return weight_fail (error, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE, value->name,
                        "only float32 weights can be compressed, this one is %s",
                        lathe_dtype_name (t->dtype));
  if (q == NULL)
    return TRUE;

  if (spec->out_axis != 0 && spec->out_axis != 1)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "out_axis %d, expected 0 or 1", spec->out_axis);
  if (spec->out_axis == 1 && t->ndim != 2)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "out_axis 1 needs a 2-D [K, N] weight, this one has %u dimensions", t->ndim);
  if (t->ndim < 1)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "a scalar weight cannot be quantized per output unit");
  if (q->rows != (gsize) t->dims[spec->out_axis] || q->rows * q->cols != t->n)
    {
      g_autofree char *shape = lathe_shape_to_string (t->ndim, t->dims);
      return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                          "the codes are %" G_GSIZE_FORMAT " × %" G_GSIZE_FORMAT
                          " but the tensor is %s with out_axis %d",
                          q->rows, q->cols, shape, spec->out_axis);
    }
  if (q->bits < 1 || q->bits > 8)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "%d-bit codes, expected 1 to 8 bits", q->bits);
  switch (q->granularity)
    {
    case LATHE_GRANULARITY_TENSOR:
      expect_scales = 1;
      break;
    case LATHE_GRANULARITY_CHANNEL:
      expect_scales = q->rows;
      if (q->scales_per_row != 1)
        return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                            "per-channel codes with %" G_GSIZE_FORMAT " scales per row",
                            q->scales_per_row);
      break;
    case LATHE_GRANULARITY_GROUP:
      if (q->group_len == 0 || q->scales_per_row != (q->cols + q->group_len - 1) / q->group_len)
        return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                            "groups of %" G_GSIZE_FORMAT " over rows of %" G_GSIZE_FORMAT
                            " with %" G_GSIZE_FORMAT " scales per row",
                            q->group_len, q->cols, q->scales_per_row);
      expect_scales = q->rows * q->scales_per_row;
      break;
    default:
      return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                          "unknown granularity %d", (int) q->granularity);
    }
  if (q->n_scales != expect_scales)
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "%" G_GSIZE_FORMAT " scales, the %s layout needs %" G_GSIZE_FORMAT,
                        q->n_scales, granularity_name (q->granularity), expect_scales);
  if (q->scales == NULL || q->codes == NULL || (q->affine && q->zero_points == NULL))
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "the quantized codes lack %s",
                        q->codes == NULL ? "codes" : q->scales == NULL ? "scales" : "zero points");
  return TRUE;
}

static gsize
inner_size (const LatheTensor *t)
{
  gsize spatial = 1;

  for (guint d = 2; d < t->ndim; d++)
    spatial *= (gsize) t->dims[d];
  return spatial;
}

/* Blocked DequantizeLinear repeats a scale over whole input channels (out_axis
 * 0: axis 1, the kernel positions included) or over inputs (out_axis 1). */
static gboolean
groups_expressible (const LatheTensor       *t,
                    const LatheExportWeight *spec)
{
  gsize spatial = inner_size (t);

  if (spec->out_axis == 1)
    return TRUE;
  return t->ndim >= 2 && spatial > 0 && spec->quantized->group_len % spatial == 0;
}

/* Whether the weight would be written as INT4/UINT4 at opset 21 (a group
 * layout blocked DequantizeLinear cannot express is written as floats). */
static gboolean
wants_int4 (const LatheTensor       *t,
            const LatheExportWeight *spec)
{
  return spec->quantized != NULL && spec->quantized->bits <= 4 &&
         (effective_granularity (spec->quantized) != LATHE_GRANULARITY_GROUP ||
          groups_expressible (t, spec));
}

static gboolean
wants_blocked (const LatheTensor       *t,
               const LatheExportWeight *spec)
{
  return spec->quantized != NULL &&
         effective_granularity (spec->quantized) == LATHE_GRANULARITY_GROUP &&
         groups_expressible (t, spec);
}

static void
plan_weight (Writer     *w,
             LatheValue *value,
             WeightPlan *plan)
{
  const LatheExportWeight *spec = plan->spec;
  const LatheQuantized *q = spec->quantized;
  const LatheTensor *t = value->initializer;
  LatheGranularity g;
  gint64 needed;
  const char *kind;

  if (q == NULL)
    {
      if (!spec->fp16)
        return;
      if (w->opset < OPSET_CAST_INT_TO)
        {
          add_note (w, "%s: float16 storage needs Cast with an integer 'to' (opset %d), "
                    "the model is at opset %" G_GINT64_FORMAT ": stored as float32.",
                    value->name, OPSET_CAST_INT_TO, w->opset);
          return;
        }
      plan->store = STORE_FP16;
      add_note (w, "%s: stored as float16 with a Cast to float32.", value->name);
      return;
    }

  g = effective_granularity (q);
  kind = q->affine ? "affine" : "symmetric";
  needed = g == LATHE_GRANULARITY_TENSOR ? OPSET_PER_TENSOR
         : g == LATHE_GRANULARITY_CHANNEL ? OPSET_PER_AXIS : OPSET_BLOCKED;
  plan->store = STORE_DEQUANTIZED;

  if (g == LATHE_GRANULARITY_GROUP)
    {
      if (!groups_expressible (t, spec))
        {
          add_note (w, "%s: groups of %" G_GSIZE_FORMAT " elements do not cover whole input "
                    "channels of %" G_GSIZE_FORMAT " elements, which blocked DequantizeLinear "
                    "needs: stored as the dequantized float32 values.",
                    value->name, q->group_len, inner_size (t));
          return;
        }
      plan->spatial = inner_size (t);
    }
  if (w->opset < needed)
    {
      add_note (w, "%s: %s quantization needs opset %" G_GINT64_FORMAT " (DequantizeLinear%s), "
                "the model is at opset %" G_GINT64_FORMAT "%s: stored as the dequantized "
                "float32 values.",
                value->name, granularity_name (g), needed,
                g == LATHE_GRANULARITY_TENSOR ? "" :
                g == LATHE_GRANULARITY_CHANNEL ? " with axis" : " with block_size",
                w->opset,
                needed > OPSET_UPGRADE_FROM && w->src_opset < OPSET_UPGRADE_FROM
                  ? " and only models at opset 13 or newer are upgraded" : "");
      return;
    }

  plan->store = STORE_QUANTIZED;
  if (q->bits <= 4 && w->opset >= OPSET_INT4)
    plan->qtype = q->affine ? LATHE_DTYPE_UINT4 : LATHE_DTYPE_INT4;
  else
    plan->qtype = q->affine ? LATHE_DTYPE_UINT8 : LATHE_DTYPE_INT8;

  switch (g)
    {
    case LATHE_GRANULARITY_TENSOR:
      plan->layout = LAYOUT_TENSOR;
      add_note (w, "%s: %d-bit %s per-tensor codes stored as %s with DequantizeLinear.",
                value->name, q->bits, kind, lathe_dtype_name (plan->qtype));
      break;
    case LATHE_GRANULARITY_CHANNEL:
      plan->layout = LAYOUT_AXIS;
      plan->axis = spec->out_axis;
      add_note (w, "%s: %d-bit %s per-channel codes stored as %s with DequantizeLinear "
                "(axis %" G_GINT64_FORMAT ")%s.",
                value->name, q->bits, kind, lathe_dtype_name (plan->qtype), plan->axis,
                q->granularity == LATHE_GRANULARITY_GROUP ? ", one group per row" : "");
      break;
    case LATHE_GRANULARITY_GROUP:
      plan->layout = LAYOUT_BLOCKED;
      if (spec->out_axis == 0)
        {
          gsize n_written = q->rows * q->scales_per_row * plan->spatial;

          plan->axis = 1;
          plan->block = (gint64) (q->group_len / plan->spatial);
          add_note (w, "%s: %d-bit %s codes in groups of %" G_GINT64_FORMAT " input %s "
                    "stored as %s with blocked DequantizeLinear (axis 1, block_size %"
                    G_GINT64_FORMAT ").",
                    value->name, q->bits, kind, plan->block,
                    plan->spatial > 1 ? "channels" : "elements",
                    lathe_dtype_name (plan->qtype), plan->block);
          if (plan->spatial > 1)
            {
              gint64 sdims[LATHE_MAX_DIMS];
              g_autofree char *shape = NULL;
              gsize zp_bytes = !q->affine ? 0
                             : plan->qtype == LATHE_DTYPE_UINT4 ? (n_written + 1) / 2 - (q->n_scales + 1) / 2
                             : n_written - q->n_scales;
              gsize extra = (n_written - q->n_scales) * sizeof (float) + zp_bytes;

              memcpy (sdims, t->dims, t->ndim * sizeof (gint64));
              sdims[1] = (gint64) q->scales_per_row;
              shape = lathe_shape_to_string (t->ndim, sdims);
              add_note (w, "%s: blocked scales have the weight's rank, so each group's "
                        "scale%s repeated over the %" G_GSIZE_FORMAT " kernel positions: "
                        "%" G_GSIZE_FORMAT " scales of shape %s instead of %" G_GSIZE_FORMAT
                        " (+%" G_GSIZE_FORMAT " bytes).",
                        value->name, q->affine ? " and zero point are" : " is",
                        plan->spatial, n_written, shape, q->n_scales, extra);
            }
        }
      else
        {
          plan->axis = 0;
          plan->block = (gint64) q->group_len;
          add_note (w, "%s: %d-bit %s codes in groups of %" G_GINT64_FORMAT " input elements stored as "
                    "%s with blocked DequantizeLinear (axis 0, block_size %" G_GINT64_FORMAT ").",
                    value->name, q->bits, kind, plan->block, lathe_dtype_name (plan->qtype),
                    plan->block);
        }
      break;
    default:
      g_assert_not_reached ();
    }

  if (q->bits <= 4 && plan->qtype != LATHE_DTYPE_INT4 && plan->qtype != LATHE_DTYPE_UINT4)
    add_note (w, "%s: %d-bit codes stored in %s containers: INT4/UINT4 need opset %d and "
              "only models at opset %d or newer are upgraded (this one is at opset %"
              G_GINT64_FORMAT ").",
              value->name, q->bits, lathe_dtype_name (plan->qtype), OPSET_INT4,
              OPSET_UPGRADE_FROM, w->src_opset);
}

/* Refuses a node the upgrade to opset 21 cannot carry. */
static gboolean
check_upgrade (Writer     *w,
               LatheNode  *node,
               GError    **error)
{
  if (node->domain != NULL && *node->domain != '\0' && g_strcmp0 (node->domain, "ai.onnx") != 0)
    {
      lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                            "cannot upgrade an op of domain '%s' from opset %" G_GINT64_FORMAT
                            " to %d", node->domain, w->src_opset, OPSET_INT4);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (upgrade_rules); i++)
    if (g_str_equal (upgrade_rules[i].op_type, node->op_type))
      {
        if (upgrade_rules[i].rule == UPGRADE_Y_ONLY && w->src_opset < upgrade_rules[i].changed_in)
          for (guint o = 1; o < node->n_outputs; o++)
            if (node->outputs[o] >= 0)
              {
                lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                                      "cannot upgrade from opset %" G_GINT64_FORMAT " to %d: "
                                      "from opset %d the outputs after Y exist only in training mode",
                                      w->src_opset, OPSET_INT4, upgrade_rules[i].changed_in);
                return FALSE;
              }
        if (upgrade_rules[i].rule == UPGRADE_AXES_INPUT && w->src_opset < upgrade_rules[i].changed_in &&
            node->n_inputs > 1)
          {
            lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                                  "has %u inputs before opset %d, where axes is an attribute",
                                  node->n_inputs, upgrade_rules[i].changed_in);
            return FALSE;
          }
        return TRUE;
      }
  lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_OP,
                        "cannot upgrade op %s from opset %" G_GINT64_FORMAT " to %d "
                        "(needed for INT4 codes and blocked scales)",
                        node->op_type, w->src_opset, OPSET_INT4);
  return FALSE;
}

static UpgradeRule
upgrade_rule (Writer          *w,
              const LatheNode *node)
{
  if (!w->upgrade)
    return UPGRADE_SAME;
  for (guint i = 0; i < G_N_ELEMENTS (upgrade_rules); i++)
    if (g_str_equal (upgrade_rules[i].op_type, node->op_type))
      return w->src_opset < upgrade_rules[i].changed_in ? upgrade_rules[i].rule : UPGRADE_SAME;
  g_assert_not_reached ();
  return UPGRADE_SAME;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
plan_model (Writer     *w,
            GError    **error)
{
  LatheGraph *graph = w->graph;
  gboolean want_int4 = FALSE, want_blocked = FALSE;

  w->plans = g_new0 (WeightPlan, graph->values->len);

  if (w->weights != NULL)
    {
      /* Sorted so that the first bad name reported does not depend on
       * the hash table's order. */
      guint n = 0;
      g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (w->weights, &n);

      qsort (keys, n, sizeof (char *), compare_strings);
      for (guint i = 0; i < n; i++)
        {
          LatheValue *value = lathe_graph_lookup (graph, keys[i]);
          const LatheExportWeight *spec = g_hash_table_lookup (w->weights, keys[i]);

          if (value == NULL || value->kind != LATHE_VALUE_INITIALIZER || value->initializer == NULL)
            return weight_fail (error, LATHE_ONNX_ERROR_INVALID, keys[i],
                                "no initializer of the graph has this name");
          if (spec == NULL)
            return weight_fail (error, LATHE_ONNX_ERROR_INVALID, keys[i],
                                "the export description is NULL");
          if (!check_weight (value, spec, error))
            return FALSE;
          w->plans[value->id].spec = spec;
          want_int4 |= wants_int4 (value->initializer, spec);
          want_blocked |= wants_blocked (value->initializer, spec);
        }
    }

  w->src_opset = graph->opset;
  w->opset = graph->opset;
  if ((want_int4 || want_blocked) && w->src_opset >= OPSET_UPGRADE_FROM && w->src_opset < OPSET_INT4)
    {
      g_autoptr(GString) rewritten = g_string_new (NULL);

      w->upgrade = TRUE;
      w->opset = OPSET_INT4;
      for (guint i = 0; i < graph->nodes->len; i++)
        if (!check_upgrade (w, lathe_graph_node (graph, i), error))
          return FALSE;
      for (guint i = 0; i < graph->nodes->len; i++)
        {
          LatheNode *node = lathe_graph_node (graph, i);
          if (upgrade_rule (w, node) == UPGRADE_AXES_INPUT)
            g_string_append_printf (rewritten, "%s%s '%s'", rewritten->len ? ", " : "",
                                    node->op_type, node->name);
        }
      add_note (w, "Opset raised from %" G_GINT64_FORMAT " to %d for %s; %s%s.",
                w->src_opset, OPSET_INT4,
                want_int4 && want_blocked ? "INT4 codes and blocked scales"
                : want_int4 ? "INT4 codes" : "blocked scales",
                rewritten->len ? "the axes attribute became an input of " : "no node needed rewriting",
                rewritten->str);
    }

  w->ir_version = MAX (MAX (graph->ir_version, ir_version_for_opset (w->opset)), IR_VERSION_MIN);
  if (w->ir_version != graph->ir_version)
    add_note (w, "IR version %" G_GINT64_FORMAT " written as %" G_GINT64_FORMAT
              " (the lowest for opset %" G_GINT64_FORMAT "%s).",
              graph->ir_version, w->ir_version, w->opset,
              w->ir_version == IR_VERSION_MIN ? " without initializers listed as inputs" : "");

  for (guint v = 0; v < graph->values->len; v++)
    if (w->plans[v].spec != NULL)
      plan_weight (w, lathe_graph_value (graph, v), &w->plans[v]);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Initializers */

/* Position in the tensor's flat order of view row r, column c. */
static inline gsize
view_to_tensor (const LatheQuantized *q,
                int                   out_axis,
                gsize                 r,
                gsize                 c)
{
  return out_axis == 0 ? r * q->cols + c : c * q->rows + r;
}

static inline gsize
scale_index (const LatheQuantized *q,
             gsize                 r,
             gsize                 c)
{
  switch (q->granularity)
    {
    case LATHE_GRANULARITY_TENSOR: return 0;
    case LATHE_GRANULARITY_CHANNEL: return r;
    default: return r * q->scales_per_row + c / q->group_len;
    }
}

static void
write_dequantized (Writer                  *w,
                   LatheValue              *value,
                   const LatheExportWeight *spec)
{
  const LatheQuantized *q = spec->quantized;
  const LatheTensor *t = value->initializer;
  float *data = w_alloc (w, t->n * sizeof (float));

  for (gsize r = 0; r < q->rows; r++)
    for (gsize c = 0; c < q->cols; c++)
      {
        gsize s = scale_index (q, r, c);
        gint32 z = q->affine ? q->zero_points[s] : 0;
        data[view_to_tensor (q, spec->out_axis, r, c)] = (float) (q->codes[r * q->cols + c] - z) * q->scales[s];
      }
  g_ptr_array_add (w->inits, tensor_proto (w, value->name, LATHE_DTYPE_FLOAT, t->ndim, t->dims,
                                           data, t->n * sizeof (float)));
}

static void
write_fp16 (Writer     *w,
            LatheValue *value)
{
  const LatheTensor *t = value->initializer;
  guint16 *half = w_alloc (w, t->n * sizeof (guint16));
  const char *name = unique_name (w, w_printf (w, "%s.fp16", value->name));
  const char *inputs[1] = { name };
  Onnx__AttributeProto *to = attr_int (w, "to", LATHE_DTYPE_FLOAT);

  for (gsize i = 0; i < t->n; i++)
    half[i] = lathe_float_to_half (lathe_tensor_f32 (t)[i]);
  g_ptr_array_add (w->inits, tensor_proto (w, name, LATHE_DTYPE_FLOAT16, t->ndim, t->dims,
                                           half, t->n * sizeof (guint16)));
  g_ptr_array_add (w->front, node_proto (w, unique_name (w, w_printf (w, "%s.cast", value->name)),
                                         "Cast", 1, inputs, value->name, 1, &to));
}

/* Integer values (in tensor order) to the container's bytes; FALSE with
 * the index of the first value out of range. */
static gboolean
pack_integers (Writer        *w,
               const gint32  *values,
               gsize          n,
               LatheDType     qtype,
               gpointer      *data_out,
               gsize         *nbytes_out,
               gsize         *bad_index)
{
  gint32 lo, hi;
  guint8 *out;

  switch (qtype)
    {
    case LATHE_DTYPE_INT4:  lo = -8;   hi = 7;   break;
    case LATHE_DTYPE_UINT4: lo = 0;    hi = 15;  break;
    case LATHE_DTYPE_INT8:  lo = -128; hi = 127; break;
    case LATHE_DTYPE_UINT8: lo = 0;    hi = 255; break;
    default: g_assert_not_reached ();
    }
  for (gsize i = 0; i < n; i++)
    if (values[i] < lo || values[i] > hi)
      {
        *bad_index = i;
        return FALSE;
      }

  if (qtype == LATHE_DTYPE_INT4 || qtype == LATHE_DTYPE_UINT4)
    {
      /* Two per byte, the first element in the low nibble (ONNX IR, 4 bit
       * integer types); an odd count leaves the last high nibble 0. */
      *nbytes_out = (n + 1) / 2;
      out = w_alloc (w, *nbytes_out);
      for (gsize i = 0; i < n; i++)
        out[i / 2] |= (guint8) ((values[i] & 0x0F) << (4 * (i % 2)));
    }
  else
    {
      *nbytes_out = n;
      out = w_alloc (w, n);
      for (gsize i = 0; i < n; i++)
        out[i] = (guint8) values[i];
    }
  *data_out = out;
  return TRUE;
}

static gboolean
write_quantized (Writer           *w,
                 LatheValue       *value,
                 const WeightPlan *plan,
                 GError          **error)
{
  const LatheExportWeight *spec = plan->spec;
  const LatheQuantized *q = spec->quantized;
  const LatheTensor *t = value->initializer;
  g_autofree gint32 *codes = g_new (gint32, MAX (t->n, 1));
  g_autofree gint32 *zps = NULL;
  float *scales;
  gint64 sdims[LATHE_MAX_DIMS];
  guint sndim;
  gsize ns, bad, nbytes;
  gpointer data;
  const char *qname, *sname, *zname = NULL;
  const char *inputs[3];
  Onnx__AttributeProto *attrs[2];
  guint n_attrs = 0;

  for (gsize r = 0; r < q->rows; r++)
    for (gsize c = 0; c < q->cols; c++)
      codes[view_to_tensor (q, spec->out_axis, r, c)] = q->codes[r * q->cols + c];

  /* Scales (and zero points) in the layout DequantizeLinear reads. */
  switch (plan->layout)
    {
    case LAYOUT_TENSOR:
      sndim = 0;
      ns = 1;
      break;
    case LAYOUT_AXIS:
      sndim = 1;
      sdims[0] = (gint64) q->rows;
      ns = q->rows;
      break;
    case LAYOUT_BLOCKED:
      sndim = t->ndim;
      memcpy (sdims, t->dims, t->ndim * sizeof (gint64));
      sdims[plan->axis] = (gint64) q->scales_per_row;
      ns = q->n_scales * (spec->out_axis == 0 ? plan->spatial : 1);
      break;
    default:
      g_assert_not_reached ();
    }
  scales = w_alloc (w, ns * sizeof (float));
  if (q->affine)
    zps = g_new (gint32, ns);
  for (gsize i = 0; i < ns; i++)
    {
      gsize src;

      if (plan->layout == LAYOUT_TENSOR)
        src = 0;
      else if (plan->layout == LAYOUT_AXIS)
        src = i * q->scales_per_row;
      else if (spec->out_axis == 0)
        src = i / plan->spatial;                     /* [rows, S, spatial…] → rows × S */
      else
        {
          gsize j = i / q->rows, n = i % q->rows;     /* [S, N] → view row n, group j */
          src = n * q->scales_per_row + j;
        }
      scales[i] = q->scales[src];
      if (zps != NULL)
        zps[i] = q->zero_points[src];
    }

  qname = unique_name (w, w_printf (w, "%s.q", value->name));
  if (!pack_integers (w, codes, t->n, plan->qtype, &data, &nbytes, &bad))
    return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                        "code %d at element %" G_GSIZE_FORMAT " does not fit %s",
                        codes[bad], bad, lathe_dtype_name (plan->qtype));
  g_ptr_array_add (w->inits, tensor_proto (w, qname, plan->qtype, t->ndim, t->dims, data, nbytes));

  sname = unique_name (w, w_printf (w, "%s.scale", value->name));
  g_ptr_array_add (w->inits, tensor_proto (w, sname, LATHE_DTYPE_FLOAT, sndim, sdims,
                                           scales, ns * sizeof (float)));
  if (zps != NULL)
    {
      zname = unique_name (w, w_printf (w, "%s.zero_point", value->name));
      if (!pack_integers (w, zps, ns, plan->qtype, &data, &nbytes, &bad))
        return weight_fail (error, LATHE_ONNX_ERROR_INVALID, value->name,
                            "zero point %d does not fit %s", zps[bad], lathe_dtype_name (plan->qtype));
      g_ptr_array_add (w->inits, tensor_proto (w, zname, plan->qtype, sndim, sdims, data, nbytes));
    }

  inputs[0] = qname;
  inputs[1] = sname;
  inputs[2] = zname;
  if (plan->layout != LAYOUT_TENSOR)
    attrs[n_attrs++] = attr_int (w, "axis", plan->axis);
  if (plan->layout == LAYOUT_BLOCKED)
    attrs[n_attrs++] = attr_int (w, "block_size", plan->block);
  g_ptr_array_add (w->front,
                   node_proto (w, unique_name (w, w_printf (w, "%s.dequantize", value->name)),
                               "DequantizeLinear", zname ? 3 : 2, inputs, value->name,
                               n_attrs, attrs));
  return TRUE;
}

static gboolean
write_initializers (Writer  *w,
                    GError **error)
{
  LatheGraph *graph = w->graph;
  g_autofree gboolean *used = g_new0 (gboolean, MAX (graph->values->len, 1));

  /* An initializer nothing reads any more (a folded BatchNormalization's
   * parameters) is not written. */
  for (guint k = 0; k < graph->nodes->len; k++)
    {
      LatheNode *node = lathe_graph_node (graph, k);
      for (guint i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0)
          used[node->inputs[i]] = TRUE;
    }
  for (guint i = 0; i < graph->outputs->len; i++)
    used[g_array_index (graph->outputs, guint, i)] = TRUE;

  for (guint v = 0; v < graph->values->len; v++)
    {
      LatheValue *value = lathe_graph_value (graph, v);
      const WeightPlan *plan = &w->plans[v];

      if (value->kind != LATHE_VALUE_INITIALIZER || value->initializer == NULL || !used[v])
        continue;
      if (!lathe_dtype_traits (value->initializer->dtype)->storable)
        return weight_fail (error, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE, value->name,
                            "cannot write data type %s", lathe_dtype_name (value->initializer->dtype));
      switch (plan->spec != NULL ? plan->store : STORE_PLAIN)
        {
        case STORE_PLAIN:
          g_ptr_array_add (w->inits, tensor_proto_from_tensor (w, value->name, value->initializer));
          break;
        case STORE_DEQUANTIZED:
          write_dequantized (w, value, plan->spec);
          break;
        case STORE_FP16:
          write_fp16 (w, value);
          break;
        case STORE_QUANTIZED:
          if (!write_quantized (w, value, plan, error))
            return FALSE;
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Nodes */

static Onnx__AttributeProto *
attr_proto (Writer          *w,
            const LatheNode *node,
            const LatheAttr *a,
            GError         **error)
{
  Onnx__AttributeProto *ap = W_NEW (w, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);

  ap->name = a->name;
  ap->has_type = TRUE;
  ap->type = (Onnx__AttributeProto__AttributeType) a->type;
  switch (a->type)
    {
    case LATHE_ATTR_FLOAT:
      ap->has_f = TRUE;
      ap->f = a->f;
      break;
    case LATHE_ATTR_INT:
      ap->has_i = TRUE;
      ap->i = a->i;
      break;
    case LATHE_ATTR_STRING:
      ap->has_s = TRUE;
      ap->s.data = (uint8_t *) (a->s != NULL ? a->s : "");
      ap->s.len = a->s != NULL ? strlen (a->s) : 0;
      break;
    case LATHE_ATTR_TENSOR:
      if (a->t == NULL || !lathe_dtype_traits (a->t->dtype)->storable)
        {
          lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE,
                                "tensor attribute '%s' holds no tensor the writer can store", a->name);
          return NULL;
        }
      ap->t = tensor_proto_from_tensor (w, NULL, a->t);
      break;
    case LATHE_ATTR_FLOATS:
      ap->n_floats = a->n_floats;
      ap->floats = a->floats;
      break;
    case LATHE_ATTR_INTS:
      ap->n_ints = a->n_ints;
      ap->ints = (int64_t *) a->ints;
      break;
    case LATHE_ATTR_STRINGS:
      ap->n_strings = a->n_strings;
      ap->strings = w_alloc (w, a->n_strings * sizeof (ProtobufCBinaryData));
      for (gsize i = 0; i < a->n_strings; i++)
        {
          ap->strings[i].data = (uint8_t *) a->strings[i];
          ap->strings[i].len = strlen (a->strings[i]);
        }
      break;
    default:
      lathe_node_set_error (error, node, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE,
                            "attribute '%s' of type %d is not kept by the IR and cannot be written",
                            a->name, (int) a->type);
      return NULL;
    }
  return ap;
}

static const char *
value_name (Writer *w,
            int     id)
{
  return id >= 0 ? lathe_graph_value (w->graph, (guint) id)->name : "";
}

static gboolean
write_node (Writer     *w,
            LatheNode  *node,
            GError    **error)
{
  Onnx__NodeProto *np = W_NEW (w, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
  UpgradeRule rule = upgrade_rule (w, node);
  const LatheAttr *axes = NULL;

  np->name = node->name;
  np->op_type = node->op_type;
  if (node->domain != NULL && *node->domain != '\0')
    np->domain = node->domain;

  np->n_input = node->n_inputs;
  np->input = w_alloc (w, (node->n_inputs + 1) * sizeof (char *));
  for (guint i = 0; i < node->n_inputs; i++)
    np->input[i] = (char *) value_name (w, node->inputs[i]);
  np->n_output = node->n_outputs;
  np->output = w_alloc (w, (node->n_outputs + 1) * sizeof (char *));
  for (guint o = 0; o < node->n_outputs; o++)
    np->output[o] = (char *) value_name (w, node->outputs[o]);

  np->attribute = w_alloc (w, (node->n_attrs + 1) * sizeof (Onnx__AttributeProto *));
  for (guint a = 0; a < node->n_attrs; a++)
    {
      const LatheAttr *attr = &node->attrs[a];

      if (rule == UPGRADE_AXES_INPUT && g_str_equal (attr->name, "axes"))
        {
          axes = attr;
          continue;
        }
      if (!(np->attribute[np->n_attribute++] = attr_proto (w, node, attr, error)))
        return FALSE;
    }

  if (rule == UPGRADE_AXES_INPUT && axes != NULL && axes->n_ints > 0)
    {
      /* ReduceMean-18: axes is input 1; without it every axis is reduced,
       * as without the attribute before (noop_with_empty_axes = 0). */
      const char *name = unique_name (w, w_printf (w, "%s.axes", node->name));
      gint64 dim = (gint64) axes->n_ints;

      g_ptr_array_add (w->extra_inits,
                       tensor_proto (w, name, LATHE_DTYPE_INT64, 1, &dim, axes->ints,
                                     axes->n_ints * sizeof (gint64)));
      np->n_input = 2;
      np->input[1] = (char *) name;
    }
  g_ptr_array_add (w->nodes, np);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Graph inputs and outputs */

static Onnx__ValueInfoProto *
value_info (Writer           *w,
            const LatheValue *value)
{
  Onnx__ValueInfoProto *vi = W_NEW (w, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
  Onnx__TypeProto *type;
  Onnx__TypeProto__Tensor *tt;
  LatheDType dtype = value->dtype;
  int ndim = value->ndim;
  const gint64 *dims = value->dims;

  vi->name = value->name;
  if (value->initializer != NULL)
    {
      /* an initializer listed as an output: its own, current shape */
      dtype = value->initializer->dtype;
      ndim = (int) value->initializer->ndim;
      dims = value->initializer->dims;
    }
  if (dtype == LATHE_DTYPE_UNDEFINED && ndim < 0)
    return vi;

  type = W_NEW (w, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
  tt = W_NEW (w, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  vi->type = type;
  if (dtype != LATHE_DTYPE_UNDEFINED)
    {
      tt->has_elem_type = TRUE;
      tt->elem_type = (int32_t) dtype;
    }
  if (ndim >= 0)
    {
      tt->shape = W_NEW (w, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
      tt->shape->n_dim = (size_t) ndim;
      tt->shape->dim = w_alloc (w, (ndim + 1) * sizeof (Onnx__TensorShapeProto__Dimension *));
      for (int d = 0; d < ndim; d++)
        {
          Onnx__TensorShapeProto__Dimension *dim =
            W_NEW (w, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);

          if (dims[d] >= 0)
            {
              dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
              dim->dim_value = dims[d];
            }
          else if (d == 0)
            {
              dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
              dim->dim_param = value->dim_param0 != NULL && *value->dim_param0
                               ? value->dim_param0 : (char *) "batch";
            }
          /* other unknown dims stay unset */
          tt->shape->dim[d] = dim;
        }
    }
  return vi;
}

/* ------------------------------------------------------------------------ */

static void
writer_clear (Writer *w)
{
  g_clear_pointer (&w->plans, g_free);
  g_clear_pointer (&w->notes, g_ptr_array_unref);
  g_clear_pointer (&w->names, g_hash_table_unref);
  g_clear_pointer (&w->front, g_ptr_array_unref);
  g_clear_pointer (&w->nodes, g_ptr_array_unref);
  g_clear_pointer (&w->inits, g_ptr_array_unref);
  g_clear_pointer (&w->extra_inits, g_ptr_array_unref);
  g_clear_pointer (&w->mem, g_ptr_array_unref);
}

static GBytes *
pack_model (Writer  *w,
            GError **error)
{
  LatheGraph *graph = w->graph;
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *opsets[1] = { &opset };
  g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr(GPtrArray) inits = g_ptr_array_new ();
  gsize size;
  guint8 *buf;

  opset.domain = (char *) "";
  opset.has_version = TRUE;
  opset.version = w->opset;

  model.has_ir_version = TRUE;
  model.ir_version = w->ir_version;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.producer_name = (char *) "lathe";
  model.producer_version = (char *) LATHE_VERSION;
  model.doc_string = graph->doc_string != NULL && *graph->doc_string ? graph->doc_string : NULL;
  model.graph = &gp;

  model.n_metadata_props = graph->metadata_keys->len;
  model.metadata_props = w_alloc (w, (graph->metadata_keys->len + 1) * sizeof (Onnx__StringStringEntryProto *));
  for (guint i = 0; i < graph->metadata_keys->len; i++)
    {
      Onnx__StringStringEntryProto *e = W_NEW (w, Onnx__StringStringEntryProto,
                                               ONNX__STRING_STRING_ENTRY_PROTO__INIT);
      e->key = g_ptr_array_index (graph->metadata_keys, i);
      e->value = g_ptr_array_index (graph->metadata_values, i);
      model.metadata_props[i] = e;
    }

  gp.name = graph->name != NULL && *graph->name ? graph->name : (char *) "lathe";
  g_ptr_array_extend (nodes, w->front, NULL, NULL);
  g_ptr_array_extend (nodes, w->nodes, NULL, NULL);
  gp.n_node = nodes->len;
  gp.node = (Onnx__NodeProto **) nodes->pdata;
  g_ptr_array_extend (inits, w->inits, NULL, NULL);
  g_ptr_array_extend (inits, w->extra_inits, NULL, NULL);
  gp.n_initializer = inits->len;
  gp.initializer = (Onnx__TensorProto **) inits->pdata;

  gp.n_input = graph->inputs->len;
  gp.input = w_alloc (w, (graph->inputs->len + 1) * sizeof (Onnx__ValueInfoProto *));
  for (guint i = 0; i < graph->inputs->len; i++)
    gp.input[i] = value_info (w, lathe_graph_value (graph, g_array_index (graph->inputs, guint, i)));
  gp.n_output = graph->outputs->len;
  gp.output = w_alloc (w, (graph->outputs->len + 1) * sizeof (Onnx__ValueInfoProto *));
  for (guint i = 0; i < graph->outputs->len; i++)
    gp.output[i] = value_info (w, lathe_graph_value (graph, g_array_index (graph->outputs, guint, i)));

  size = onnx__model_proto__get_packed_size (&model);
  if (size > G_MAXINT32)
    {
      g_set_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID,
                   "the model would take %" G_GSIZE_FORMAT " bytes; a protobuf holds at most 2 GiB "
                   "and the writer does not produce external data", size);
      return NULL;
    }
  buf = g_malloc (MAX (size, 1));
  onnx__model_proto__pack (&model, buf);
  return g_bytes_new_take (buf, size);
}

GBytes *
lathe_onnx_serialize (LatheGraph          *graph,
                      LatheExportOptions  *options,
                      GError             **error)
{
  Writer w = { 0 };
  GBytes *bytes = NULL;

  g_return_val_if_fail (graph != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  w.graph = graph;
  w.weights = options != NULL ? options->weights : NULL;
  w.notes = g_ptr_array_new_with_free_func (g_free);
  w.mem = g_ptr_array_new_with_free_func (g_free);
  w.names = g_hash_table_new (g_str_hash, g_str_equal);
  w.front = g_ptr_array_new ();
  w.nodes = g_ptr_array_new ();
  w.inits = g_ptr_array_new ();
  w.extra_inits = g_ptr_array_new ();
  for (guint v = 0; v < graph->values->len; v++)
    g_hash_table_add (w.names, lathe_graph_value (graph, v)->name);

  if (!plan_model (&w, error) || !write_initializers (&w, error))
    goto out;
  for (guint i = 0; i < graph->nodes->len; i++)
    if (!write_node (&w, lathe_graph_node (graph, i), error))
      goto out;
  bytes = pack_model (&w, error);
  if (bytes != NULL && options != NULL)
    {
      options->out_opset = (int) w.opset;
      if (options->notes != NULL)
        for (guint i = 0; i < w.notes->len; i++)
          g_ptr_array_add (options->notes, g_strdup (g_ptr_array_index (w.notes, i)));
    }

out:
  writer_clear (&w);
  return bytes;
}
