/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* The training engine's numerics: the fast kernels against their scalar
 * `_ref` twins, every op's backward pass against central finite
 * differences of its forward pass (on small graphs built here), and the
 * training graph's forward against the executor on the sample models. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "eval/lathe-executor.h"
#include "graph/lathe-op.h"
#include "onnx/lathe-model.h"
#include "train/lathe-train-graph.h"
#include "train/lathe-train-kernels.h"
#include "../lathe-test-util.h"

/* sgemm sums in another order than the double reference. */
#define GEMM_RTOL 1e-5
#define GEMM_ATOL 1e-5
/* im2col + sgemm versus the direct double loops. */
#define CONV_GRAD_ATOL 1e-4
/* The float loss against the double reference. */
#define LOSS_ATOL 1e-5
#define LOSS_GRAD_ATOL 1e-6
/* Central differences of a float32 forward with step FD_EPS: truncation
 * O(eps²) plus float rounding of the loss O(ulp · |L| / eps). */
#define FD_EPS 1e-2
#define FD_RTOL 2e-2
#define FD_ATOL 2e-3
/* The training forward against the executor's kernels. */
#define FORWARD_ATOL 1e-4

static float
frand (GRand *r, float lo, float hi)
{
  return (float) g_rand_double_range (r, lo, hi);
}

static void
fill_random (GRand *r, float *v, gsize n, float lo, float hi)
{
  for (gsize i = 0; i < n; i++)
    v[i] = frand (r, lo, hi);
}

static void
assert_close (const float *a, const float *b, gsize n, double atol, double rtol, const char *what)
{
  for (gsize i = 0; i < n; i++)
    if (!(fabs ((double) a[i] - b[i]) <= atol + rtol * fabs ((double) b[i])))
      g_error ("%s: element %" G_GSIZE_FORMAT ": %.8g vs %.8g", what, i, a[i], b[i]);
}

/* ---------------------------------------------------------------------- */
/* Kernels                                                                 */

static void
test_gemm (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (1);
  const gsize m = 7, n = 9, k = 13;
  float a[13 * 9], b[13 * 9], c1[7 * 9], c2[7 * 9];

  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int beta = 0; beta < 2; beta++)
        {
          fill_random (r, a, m * k, -1, 1);
          fill_random (r, b, k * n, -1, 1);
          fill_random (r, c1, m * n, -1, 1);
          memcpy (c2, c1, sizeof c1);
          lathe_train_gemm (ta, tb, m, n, k, 0.7f, a, b, (float) beta, c1);
          lathe_train_gemm_ref (ta, tb, m, n, k, 0.7f, a, b, (float) beta, c2);
          assert_close (c1, c2, m * n, GEMM_ATOL, GEMM_RTOL, "gemm");
        }
}

static void
check_conv_backward (gint64 batch, gint64 cin, gint64 cout, gint64 group, gint64 h, gint64 w,
                     gint64 k, gint64 stride, gint64 pad, gint64 dilation)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (2);
  LatheConvShape s;
  gsize nx, nw, ny;
  g_autofree float *x = NULL, *wt = NULL, *dy = NULL;
  g_autofree float *dx1 = NULL, *dx2 = NULL, *dw1 = NULL, *dw2 = NULL, *db1 = NULL, *db2 = NULL;
  gpointer ws;

  lathe_conv_shape_init (&s);
  s.batch = batch;
  s.channels_in = cin;
  s.channels_out = cout;
  s.group = group;
  s.in[1] = h;
  s.in[2] = w;
  s.kernel[1] = s.kernel[2] = k;
  s.stride[1] = s.stride[2] = stride;
  s.pad_begin[1] = s.pad_begin[2] = s.pad_end[1] = s.pad_end[2] = pad;
  s.dilation[1] = s.dilation[2] = dilation;
  g_assert_true (lathe_conv_shape_compute_out (&s, FALSE));
  nx = (gsize) (batch * cin * h * w);
  nw = (gsize) (cout * (cin / group) * k * k);
  ny = (gsize) (batch * cout * lathe_conv_shape_out_size (&s));
  x = g_new (float, nx); wt = g_new (float, nw); dy = g_new (float, ny);
  dx1 = g_new0 (float, nx); dx2 = g_new0 (float, nx);
  dw1 = g_new0 (float, nw); dw2 = g_new0 (float, nw);
  db1 = g_new0 (float, cout); db2 = g_new0 (float, cout);
  fill_random (r, x, nx, -1, 1);
  fill_random (r, wt, nw, -1, 1);
  fill_random (r, dy, ny, -1, 1);
  ws = lathe_aligned_alloc (MAX (lathe_train_conv_backward_workspace (&s), 1));
  lathe_train_conv_backward (&s, x, wt, dy, dx1, dw1, db1, ws);
  lathe_train_conv_backward_ref (&s, x, wt, dy, dx2, dw2, db2);
  lathe_aligned_free (ws);
  assert_close (dx1, dx2, nx, CONV_GRAD_ATOL, 0, "conv dx");
  assert_close (dw1, dw2, nw, CONV_GRAD_ATOL, 0, "conv dw");
  assert_close (db1, db2, (gsize) cout, CONV_GRAD_ATOL, 0, "conv db");
}

static void
test_conv_backward (void)
{
  check_conv_backward (2, 3, 4, 1, 7, 6, 3, 1, 1, 1);
  check_conv_backward (2, 2, 5, 1, 9, 9, 3, 2, 0, 2);
  check_conv_backward (3, 4, 6, 2, 6, 6, 3, 1, 1, 1);     /* grouped */
  check_conv_backward (2, 3, 3, 3, 8, 7, 3, 2, 1, 1);     /* depthwise */
  check_conv_backward (2, 3, 6, 3, 5, 5, 3, 1, 2, 2);     /* depthwise, multiplier 2 */
  check_conv_backward (2, 4, 5, 1, 4, 4, 1, 1, 0, 1);     /* pointwise */
}

static void
test_loss (void)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (3);
  const gsize b = 5, c = 7;
  float z[35], t[35], dz1[35], dz2[35], dzn[35];
  gint32 labels[5];
  const double alphas[] = { 0, 0.3, 1 };
  const double temps[] = { 1, 4 };

  for (guint ai = 0; ai < G_N_ELEMENTS (alphas); ai++)
    for (guint ti = 0; ti < G_N_ELEMENTS (temps); ti++)
      {
        double l1, l2;
        fill_random (r, z, b * c, -3, 3);
        fill_random (r, t, b * c, -3, 3);
        for (gsize i = 0; i < b; i++)
          labels[i] = g_rand_int_range (r, 0, (gint32) c);
        l1 = lathe_train_loss (b, c, z, t, labels, temps[ti], alphas[ai], dz1);
        l2 = lathe_train_loss_ref (b, c, z, t, labels, temps[ti], alphas[ai], dz2);
        g_assert_cmpfloat_with_epsilon (l1, l2, LOSS_ATOL * MAX (1, fabs (l2)));
        assert_close (dz1, dz2, b * c, LOSS_GRAD_ATOL, 1e-4, "loss grad");
        /* the reference gradient against differences of the reference loss */
        for (gsize i = 0; i < b * c; i++)
          {
            const float h = 1e-2f;
            float save = z[i], scratch[35];
            double lp, lm;
            z[i] = save + h;
            lp = lathe_train_loss_ref (b, c, z, t, labels, temps[ti], alphas[ai], scratch);
            z[i] = save - h;
            lm = lathe_train_loss_ref (b, c, z, t, labels, temps[ti], alphas[ai], scratch);
            z[i] = save;
            dzn[i] = (float) ((lp - lm) / (2.0 * h));
          }
        assert_close (dz2, dzn, b * c, 1e-4, 1e-3, "loss finite differences");
      }
  /* a teacher that agrees with the student costs no KL */
  memcpy (t, z, sizeof z);
  g_assert_cmpfloat (fabs (lathe_train_loss (b, c, z, t, NULL, 2.0, 1.0, dz1)), <, 1e-6);
}

static void
test_rng (void)
{
  LatheRng a, b;
  guint32 items[100];
  guint seen[100] = { 0 };

  lathe_rng_init (&a, 42);
  lathe_rng_init (&b, 42);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpuint (lathe_rng_next (&a), ==, lathe_rng_next (&b));
  lathe_rng_init (&b, 43);
  g_assert_cmpuint (lathe_rng_next (&a), !=, lathe_rng_next (&b));
  for (guint i = 0; i < 100; i++)
    items[i] = i;
  lathe_rng_shuffle (&a, items, 100);
  for (guint i = 0; i < 100; i++)
    seen[items[i]]++;
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (seen[i], ==, 1);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpuint (lathe_rng_below (&a, 7), <, 7);
}

/* ---------------------------------------------------------------------- */
/* Small graphs                                                            */

typedef struct {
  LatheGraph *g;
  GRand      *rand;
} Builder;

static void
builder_init (Builder *b, guint ndim, const gint64 *dims)
{
  LatheValue *v;
  guint id;

  b->g = lathe_graph_new ();
  b->g->opset = 13;
  b->rand = g_rand_new_with_seed (7);
  v = lathe_graph_add_value (b->g, "x", LATHE_VALUE_INPUT);
  v->dtype = LATHE_DTYPE_FLOAT;
  v->ndim = (int) ndim;
  memcpy (v->dims, dims, ndim * sizeof (gint64));
  v->dims[0] = -1;
  id = v->id;
  g_array_append_val (b->g->inputs, id);
}

static void
builder_clear (Builder *b)
{
  g_clear_pointer (&b->g, lathe_graph_free);
  g_clear_pointer (&b->rand, g_rand_free);
}

static int
init (Builder *b, const char *name, guint ndim, const gint64 *dims, float lo, float hi)
{
  LatheValue *v = lathe_graph_add_value (b->g, name, LATHE_VALUE_INITIALIZER);
  g_autoptr(LatheTensor) t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);

  fill_random (b->rand, lathe_tensor_f32 (t), t->n, lo, hi);
  v->initializer = g_steal_pointer (&t);
  v->dtype = LATHE_DTYPE_FLOAT;
  v->ndim = (int) ndim;
  memcpy (v->dims, dims, ndim * sizeof (gint64));
  return (int) v->id;
}

static int
init_i64 (Builder *b, const char *name, guint n, const gint64 *values)
{
  LatheValue *v = lathe_graph_add_value (b->g, name, LATHE_VALUE_INITIALIZER);
  gint64 dims[1] = { n };
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_INT64, 1, dims);

  memcpy (t->data, values, n * sizeof (gint64));
  v->initializer = t;
  v->dtype = LATHE_DTYPE_INT64;
  v->ndim = 1;
  v->dims[0] = n;
  return (int) v->id;
}

static LatheNode *
node (Builder *b, const char *op_type, const int *inputs, guint n_inputs)
{
  LatheNode *n = g_new0 (LatheNode, 1);
  LatheValue *out;

  n->index = b->g->nodes->len;
  n->name = g_strdup_printf ("%s#%u", op_type, n->index);
  n->op_type = g_strdup (op_type);
  n->domain = g_strdup ("");
  n->op = lathe_op_lookup (op_type, b->g->opset, &n->since);
  g_assert_nonnull (n->op);
  n->n_inputs = n_inputs;
  /* one spare entry, as the loader allocates them */
  n->inputs = g_new0 (int, n_inputs + 1);
  memcpy (n->inputs, inputs, n_inputs * sizeof (int));
  out = lathe_graph_add_value (b->g, n->name, LATHE_VALUE_NODE_OUTPUT);
  out->producer = (int) n->index;
  n->n_outputs = 1;
  n->outputs = g_new0 (int, 2);
  n->outputs[0] = (int) out->id;
  g_ptr_array_add (b->g->nodes, n);
  return n;
}

static LatheAttr *
attr (LatheNode *n, const char *name, LatheAttrType type)
{
  LatheAttr *a;
  n->attrs = g_renew (LatheAttr, n->attrs, n->n_attrs + 1);
  a = &n->attrs[n->n_attrs++];
  memset (a, 0, sizeof *a);
  a->name = g_strdup (name);
  a->type = type;
  return a;
}

static void
attr_i (LatheNode *n, const char *name, gint64 v)
{
  attr (n, name, LATHE_ATTR_INT)->i = v;
}

static void
attr_f (LatheNode *n, const char *name, float v)
{
  attr (n, name, LATHE_ATTR_FLOAT)->f = v;
}

static void
attr_ints (LatheNode *n, const char *name, const gint64 *v, gsize count)
{
  LatheAttr *a = attr (n, name, LATHE_ATTR_INTS);
  a->ints = g_memdup2 (v, count * sizeof (gint64));
  a->n_ints = count;
}

/* Runs setup once every attribute is in place; returns the output id. */
static int
done (LatheNode *n)
{
  g_autoptr(GError) error = NULL;
  if (n->op->setup != NULL)
    g_assert_true (n->op->setup (n, &error));
  g_assert_no_error (error);
  return n->outputs[0];
}

static int
gemm (Builder *b, int x, gint64 in, gint64 out, gboolean trans_b)
{
  char name[32];
  gint64 wd[2] = { trans_b ? out : in, trans_b ? in : out }, bd[1] = { out };
  int w, bias;
  LatheNode *n;

  g_snprintf (name, sizeof name, "w%u", b->g->values->len);
  w = init (b, name, 2, wd, -0.6f, 0.6f);
  g_snprintf (name, sizeof name, "b%u", b->g->values->len);
  bias = init (b, name, 1, bd, -0.3f, 0.3f);
  n = node (b, "Gemm", (int[]) { x, w, bias }, 3);
  if (trans_b)
    attr_i (n, "transB", 1);
  return done (n);
}

static int
flatten (Builder *b, int x)
{
  return done (node (b, "Flatten", (int[]) { x }, 1));
}

static int
conv (Builder *b, int x, gint64 cin, gint64 cout, gint64 group, gint64 k, gint64 stride, gint64 pad)
{
  char name[32];
  gint64 wd[4] = { cout, cin / group, k, k }, bd[1] = { cout };
  gint64 pads[4] = { pad, pad, pad, pad }, strides[2] = { stride, stride };
  int w, bias;
  LatheNode *n;

  g_snprintf (name, sizeof name, "cw%u", b->g->values->len);
  w = init (b, name, 4, wd, -0.5f, 0.5f);
  g_snprintf (name, sizeof name, "cb%u", b->g->values->len);
  bias = init (b, name, 1, bd, -0.2f, 0.2f);
  n = node (b, "Conv", (int[]) { x, w, bias }, 3);
  attr_i (n, "group", group);
  attr_ints (n, "pads", pads, 4);
  attr_ints (n, "strides", strides, 2);
  return done (n);
}

static void
finish (Builder *b, int out)
{
  guint id = (guint) out;
  g_array_append_val (b->g->outputs, id);
}

/* dL/dθ with L = Σ logits · R, for the input and every parameter, against
 * central differences. */
static void
check_gradients (LatheGraph *graph, guint batch, const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTrainGraph) tg = lathe_train_graph_new (graph, batch, TRUE, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (11);
  g_autofree float *R = NULL;
  gsize n_in, classes;
  float *x, *logits;
  guint n_checked = 0;

  g_assert_no_error (error);
  x = lathe_train_graph_get_input (tg, &n_in);
  fill_random (r, x, n_in, -1, 1);
  logits = lathe_train_graph_get_logits (tg, &classes);
  R = g_new (float, batch * classes);
  fill_random (r, R, batch * classes, -1, 1);

  g_assert_true (lathe_train_graph_forward (tg, &error));
  memcpy (lathe_train_graph_get_logits_grad (tg), R, batch * classes * sizeof (float));
  g_assert_true (lathe_train_graph_backward (tg, &error));

  for (guint p = 0; p <= lathe_train_graph_get_n_params (tg); p++)
    {
      /* p == n_params: the input */
      gboolean is_input = p == lathe_train_graph_get_n_params (tg);
      LatheTrainParam *param = is_input ? NULL : lathe_train_graph_get_param (tg, p);
      float *data = is_input ? x : param->data;
      const float *grad = is_input ? lathe_train_graph_get_input_grad (tg) : param->grad;
      gsize n = is_input ? n_in : param->n;
      g_autofree float *analytic = g_memdup2 (grad, n * sizeof (float));

      for (gsize i = 0; i < n; i++)
        {
          float save = data[i];
          double lp = 0, lm = 0, num;

          data[i] = save + (float) FD_EPS;
          lathe_train_graph_forward (tg, NULL);
          for (gsize k = 0; k < batch * classes; k++)
            lp += (double) logits[k] * R[k];
          data[i] = save - (float) FD_EPS;
          lathe_train_graph_forward (tg, NULL);
          for (gsize k = 0; k < batch * classes; k++)
            lm += (double) logits[k] * R[k];
          data[i] = save;
          num = (lp - lm) / (2 * FD_EPS);
          if (!(fabs (num - analytic[i]) <= FD_ATOL + FD_RTOL * fabs (num)))
            g_error ("%s: d/d %s[%" G_GSIZE_FORMAT "]: backward %.6g, finite differences %.6g",
                     what, is_input ? "input" : param->name, i, analytic[i], num);
          n_checked++;
        }
    }
  g_assert_cmpuint (n_checked, >, 0);
}

static void
test_grad_gemm (void)
{
  Builder b;
  gint64 d[2] = { 3, 5 };
  int y;

  builder_init (&b, 2, d);
  y = gemm (&b, 0, 5, 4, TRUE);
  y = done (node (&b, "Relu", (int[]) { y }, 1));
  y = gemm (&b, y, 4, 3, FALSE);
  finish (&b, y);
  check_gradients (b.g, 3, "Gemm");
  builder_clear (&b);
}

static void
test_grad_gemm_attrs (void)
{
  Builder b;
  gint64 d[2] = { 3, 5 }, wd[2] = { 5, 4 }, cd[2] = { 1, 4 };
  LatheNode *n;
  int w, c, y;

  builder_init (&b, 2, d);
  w = init (&b, "w", 2, wd, -1, 1);
  c = init (&b, "c", 2, cd, -1, 1);
  n = node (&b, "Gemm", (int[]) { 0, w, c }, 3);
  attr_f (n, "alpha", 0.7f);
  attr_f (n, "beta", 1.3f);
  y = done (n);
  finish (&b, y);
  check_gradients (b.g, 3, "Gemm alpha beta");
  builder_clear (&b);
}

static void
test_grad_matmul (void)
{
  Builder b;
  gint64 d[3] = { 2, 3, 5 }, wd[2] = { 5, 4 };
  int w, y;

  builder_init (&b, 3, d);
  w = init (&b, "w", 2, wd, -1, 1);
  y = done (node (&b, "MatMul", (int[]) { 0, w }, 2));
  y = flatten (&b, y);
  finish (&b, y);
  check_gradients (b.g, 2, "MatMul");
  builder_clear (&b);
}

static void
test_grad_conv (void)
{
  const struct { gint64 cin, cout, group, k, stride, pad; const char *what; } cases[] = {
    { 2, 3, 1, 3, 1, 1, "Conv" },
    { 2, 4, 1, 3, 2, 0, "Conv stride 2" },
    { 4, 4, 2, 3, 1, 1, "Conv grouped" },
    { 3, 3, 3, 3, 1, 1, "Conv depthwise" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Builder b;
      gint64 d[4] = { 2, cases[i].cin, 5, 5 };
      int y;

      builder_init (&b, 4, d);
      y = conv (&b, 0, cases[i].cin, cases[i].cout, cases[i].group, cases[i].k, cases[i].stride, cases[i].pad);
      y = flatten (&b, y);
      finish (&b, y);
      check_gradients (b.g, 2, cases[i].what);
      builder_clear (&b);
    }
}

static void
test_grad_activations (void)
{
  const char *ops[] = { "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Clip", "Softmax", "LogSoftmax", "Identity" };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      Builder b;
      gint64 d[2] = { 3, 6 };
      LatheNode *n;
      int y;

      builder_init (&b, 2, d);
      y = gemm (&b, 0, 6, 5, TRUE);
      if (g_str_equal (ops[i], "Clip"))
        {
          gint64 sd[1] = { 1 };
          int lo = init (&b, "lo", 0, sd, -0.3f, -0.3f), hi = init (&b, "hi", 0, sd, 0.4f, 0.4f);
          n = node (&b, "Clip", (int[]) { y, lo, hi }, 3);
        }
      else
        n = node (&b, ops[i], (int[]) { y }, 1);
      if (g_str_equal (ops[i], "LeakyRelu"))
        attr_f (n, "alpha", 0.2f);
      y = done (n);
      y = gemm (&b, y, 5, 4, TRUE);
      finish (&b, y);
      check_gradients (b.g, 3, ops[i]);
      builder_clear (&b);
    }
}

static void
test_grad_pools (void)
{
  const char *ops[] = { "MaxPool", "AveragePool", "AveragePool+pad", "GlobalAveragePool" };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      Builder b;
      gint64 d[4] = { 2, 2, 6, 6 }, k[2] = { 2, 2 }, k3[2] = { 3, 3 }, pads[4] = { 1, 1, 1, 1 }, s2[2] = { 2, 2 };
      LatheNode *n;
      int y;

      builder_init (&b, 4, d);
      y = conv (&b, 0, 2, 3, 1, 3, 1, 1);
      if (g_str_equal (ops[i], "GlobalAveragePool"))
        n = node (&b, "GlobalAveragePool", (int[]) { y }, 1);
      else
        {
          n = node (&b, g_str_equal (ops[i], "MaxPool") ? "MaxPool" : "AveragePool", (int[]) { y }, 1);
          if (g_str_equal (ops[i], "AveragePool+pad"))
            {
              attr_ints (n, "kernel_shape", k3, 2);
              attr_ints (n, "pads", pads, 4);
              attr_ints (n, "strides", s2, 2);
              attr_i (n, "count_include_pad", 1);
            }
          else
            {
              attr_ints (n, "kernel_shape", k, 2);
              attr_ints (n, "strides", s2, 2);
            }
        }
      y = done (n);
      y = flatten (&b, y);
      finish (&b, y);
      check_gradients (b.g, 2, ops[i]);
      builder_clear (&b);
    }
}

static void
test_grad_batchnorm (void)
{
  Builder b;
  gint64 d[4] = { 2, 2, 4, 4 }, cd[1] = { 3 };
  int y, s, sh, m, v;

  builder_init (&b, 4, d);
  y = conv (&b, 0, 2, 3, 1, 3, 1, 1);
  s = init (&b, "bn.scale", 1, cd, 0.5f, 1.5f);
  sh = init (&b, "bn.shift", 1, cd, -0.5f, 0.5f);
  m = init (&b, "bn.mean", 1, cd, -0.2f, 0.2f);
  v = init (&b, "bn.var", 1, cd, 0.5f, 2.0f);
  y = done (node (&b, "BatchNormalization", (int[]) { y, s, sh, m, v }, 5));
  y = flatten (&b, y);
  finish (&b, y);
  check_gradients (b.g, 2, "BatchNormalization");
  builder_clear (&b);
}

static void
test_grad_binary (void)
{
  const char *ops[] = { "Add", "Sub", "Mul", "Div" };
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      Builder b;
      gint64 d[2] = { 3, 5 }, cd[2] = { 1, 4 };
      int y1, y2, y, c;

      builder_init (&b, 2, d);
      y1 = gemm (&b, 0, 5, 4, TRUE);
      y2 = gemm (&b, 0, 5, 4, TRUE);
      if (g_str_equal (ops[i], "Div"))
        {
          /* a divisor kept away from 0: 1.5 + sigmoid(…) */
          c = init (&b, "c", 2, cd, 1.5f, 1.5f);
          y2 = done (node (&b, "Sigmoid", (int[]) { y2 }, 1));
          y2 = done (node (&b, "Add", (int[]) { y2, c }, 2));
        }
      y = done (node (&b, ops[i], (int[]) { y1, y2 }, 2));
      /* and a broadcast constant operand */
      c = init (&b, "k", 2, cd, 0.5f, 2.0f);
      y = done (node (&b, ops[i], (int[]) { y, c }, 2));
      finish (&b, y);
      check_gradients (b.g, 3, ops[i]);
      builder_clear (&b);
    }
}

static void
test_grad_concat_reshape (void)
{
  Builder b;
  gint64 d[2] = { 3, 5 }, shape[3] = { 0, 2, 4 }, flat[2] = { 0, 8 };
  LatheNode *n;
  int y1, y2, y, s;

  builder_init (&b, 2, d);
  y1 = gemm (&b, 0, 5, 3, TRUE);
  y2 = gemm (&b, 0, 5, 5, TRUE);
  n = node (&b, "Concat", (int[]) { y1, y2 }, 2);
  attr_i (n, "axis", 1);
  y = done (n);
  s = init_i64 (&b, "shape", 3, shape);
  y = done (node (&b, "Reshape", (int[]) { y, s }, 2));
  y = done (node (&b, "Softmax", (int[]) { y }, 1));          /* axis -1: over 4 */
  s = init_i64 (&b, "flat", 2, flat);
  y = done (node (&b, "Reshape", (int[]) { y, s }, 2));
  y = gemm (&b, y, 8, 3, TRUE);
  finish (&b, y);
  check_gradients (b.g, 3, "Concat, Reshape, Softmax");
  builder_clear (&b);
}

static void
test_grad_gelu (void)
{
  /* GELU as exported from PyTorch: x · 0.5 · (1 + erf(x / √2)) */
  Builder b;
  gint64 d[2] = { 3, 5 }, sd[1] = { 1 };
  int y, x, sq, one, half, e;

  builder_init (&b, 2, d);
  x = gemm (&b, 0, 5, 4, TRUE);
  sq = init (&b, "sqrt2", 0, sd, (float) G_SQRT2, (float) G_SQRT2);
  one = init (&b, "one", 0, sd, 1, 1);
  half = init (&b, "half", 0, sd, 0.5f, 0.5f);
  e = done (node (&b, "Div", (int[]) { x, sq }, 2));
  e = done (node (&b, "Erf", (int[]) { e }, 1));
  e = done (node (&b, "Add", (int[]) { e, one }, 2));
  y = done (node (&b, "Mul", (int[]) { x, e }, 2));
  y = done (node (&b, "Mul", (int[]) { y, half }, 2));
  y = gemm (&b, y, 4, 3, TRUE);
  finish (&b, y);
  check_gradients (b.g, 3, "GELU");
  builder_clear (&b);
}

static void
test_unsupported (void)
{
  Builder b;
  gint64 d[2] = { 3, 5 };
  g_autoptr(GError) error = NULL;
  LatheTrainGraph *tg;
  int y;

  builder_init (&b, 2, d);
  y = gemm (&b, 0, 5, 4, TRUE);
  y = done (node (&b, "Sqrt", (int[]) { y }, 1));
  finish (&b, y);
  tg = lathe_train_graph_new (b.g, 2, FALSE, &error);
  g_assert_null (tg);
  g_assert_error (error, LATHE_TRAIN_ERROR, LATHE_TRAIN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Sqrt"));
  builder_clear (&b);
}

/* ---------------------------------------------------------------------- */
/* Sample models                                                           */

static void
test_forward_matches_executor (gconstpointer data)
{
  g_autofree char *path = lathe_test_sample ((const char *) data);
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_autoptr(LatheTrainGraph) tg = NULL;
  g_autoptr(LatheExecutor) exec = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  g_autoptr(LatheTensor) in = NULL;
  LatheGraph *graph;
  gint64 dims[4] = { 16, 1, 28, 28 };
  gsize n, classes;
  float *x;

  g_assert_no_error (error);
  graph = lathe_model_get_graph (model);
  tg = lathe_train_graph_new (graph, 16, FALSE, &error);
  g_assert_no_error (error);
  x = lathe_train_graph_get_input (tg, &n);
  fill_random (r, x, n, -1, 2);
  g_assert_true (lathe_train_graph_forward (tg, &error));
  in = lathe_tensor_new (LATHE_DTYPE_FLOAT, 4, dims);
  memcpy (in->data, x, n * sizeof (float));
  exec = lathe_executor_new (graph);
  g_assert_true (lathe_executor_run (exec, 1, &in, &error));
  g_assert_no_error (error);
  assert_close (lathe_train_graph_get_logits (tg, &classes),
                lathe_tensor_f32 (lathe_executor_get_output (exec, 0)),
                16 * 10, FORWARD_ATOL, 1e-4, "forward vs executor");
  g_assert_cmpuint (classes, ==, 10);
  /* every weight of Conv, BN and Gemm is a parameter */
  g_assert_cmpuint (lathe_train_graph_get_n_params (tg), ==,
                    g_str_has_prefix ((const char *) data, "fashion-cnn") ? 14 : 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/engine/train/kernels/gemm", test_gemm);
  g_test_add_func ("/lathe/engine/train/kernels/conv-backward", test_conv_backward);
  g_test_add_func ("/lathe/engine/train/kernels/loss", test_loss);
  g_test_add_func ("/lathe/engine/train/kernels/rng", test_rng);
  g_test_add_func ("/lathe/engine/train/grad/gemm", test_grad_gemm);
  g_test_add_func ("/lathe/engine/train/grad/gemm-alpha-beta", test_grad_gemm_attrs);
  g_test_add_func ("/lathe/engine/train/grad/matmul", test_grad_matmul);
  g_test_add_func ("/lathe/engine/train/grad/conv", test_grad_conv);
  g_test_add_func ("/lathe/engine/train/grad/activations", test_grad_activations);
  g_test_add_func ("/lathe/engine/train/grad/pools", test_grad_pools);
  g_test_add_func ("/lathe/engine/train/grad/batchnorm", test_grad_batchnorm);
  g_test_add_func ("/lathe/engine/train/grad/binary", test_grad_binary);
  g_test_add_func ("/lathe/engine/train/grad/concat-reshape-softmax", test_grad_concat_reshape);
  g_test_add_func ("/lathe/engine/train/grad/gelu", test_grad_gelu);
  g_test_add_func ("/lathe/engine/train/grad/unsupported", test_unsupported);
  g_test_add_data_func ("/lathe/engine/train/forward/mlp", "fashion-mlp.onnx", test_forward_matches_executor);
  g_test_add_data_func ("/lathe/engine/train/forward/cnn", "fashion-cnn.onnx", test_forward_matches_executor);
  return g_test_run ();
}
