/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* LatheWeightSummary on the sample models: the levels are the values the
 * effective weights took, the pruning threshold is where magnitude pruning
 * cut, float32 has no levels, and bad requests are errors. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/lathe-weight-summary.h"
#include "core/lathe-error.h"
#include "onnx/lathe-model.h"
#include "../lathe-test-util.h"

/* Levels are recomputed as (q − zp)·s in float32, as the quantizer stores
 * them; they should match bit for bit, this allows for a last-ulp slip. */
#define LEVEL_RTOL 1e-6
/* The threshold against the median |w|: the k-th and the (k+1)-th order
 * statistic of ~235 000 weights lie this close. */
#define MEDIAN_RTOL 1e-3

typedef struct {
  LatheModel *model;
  GPtrArray  *layers;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = lathe_test_sample ((const char *) data);
  g_autoptr(GError) error = NULL;

  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->layers = lathe_find_layers (lathe_model_get_graph (f->model), &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->model);
  g_clear_pointer (&f->layers, g_ptr_array_unref);
}

static LatheApplied *
apply (Fixture         *f,
       const LathePlan *plan)
{
  g_autoptr(GError) error = NULL;
  LatheApplied *a = lathe_apply_plan (lathe_model_get_graph (f->model), f->layers, plan, &error);

  g_assert_no_error (error);
  g_assert_nonnull (a);
  return a;
}

static LatheWeightSummary *
summarise (Fixture            *f,
           const LathePlan    *plan,
           const LatheApplied *a,
           const char         *layer,
           gssize              scale_index)
{
  g_autoptr(GError) error = NULL;
  LatheWeightSummary *s = lathe_weight_summary_new (lathe_model_get_graph (f->model), f->layers, plan, NULL,
                                                    a, layer, LATHE_WEIGHT_SUMMARY_BINS_DEFAULT, scale_index,
                                                    &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

/* lathe_weight_summary_new() refuses: the error, for the caller to check
 * what it names. */
static GError *
refused (Fixture            *f,
         const LathePlan    *plan,
         const LatheApplied *a,
         const char         *layer,
         guint               n_bins,
         gssize              scale_index)
{
  GError *error = NULL;
  LatheWeightSummary *s = lathe_weight_summary_new (lathe_model_get_graph (f->model), f->layers, plan, NULL,
                                                    a, layer, n_bins, scale_index, &error);

  g_assert_null (s);
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  return error;
}

static const LatheTensor *
weight_of (Fixture            *f,
           const LatheApplied *a,
           const char         *layer)
{
  const LatheLayer *L = g_ptr_array_index (f->layers, lathe_layers_index (f->layers, layer));
  return lathe_graph_value (a->graph, L->weight_id)->initializer;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Sorted distinct values of `n` floats starting at `data`. */
static GArray *
distinct (const float *data,
          gsize        n)
{
  g_autofree double *v = g_new (double, n);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double));

  for (gsize i = 0; i < n; i++)
    v[i] = data[i];
  qsort (v, n, sizeof (double), compare_double);
  for (gsize i = 0; i < n; i++)
    if (i == 0 || v[i] != v[i - 1])
      g_array_append_val (out, v[i]);
  return out;
}

/* How many weights the histogram counts. */
static guint64
binned (const LatheWeightSummary *s)
{
  guint64 total = 0;

  for (guint b = 0; b < s->n_bins; b++)
    total += s->counts[b];
  return total;
}

static void
assert_levels_are (const LatheWeightSummary *s,
                   GArray                   *values)
{
  guint used = 0;

  for (guint i = 0; i < s->n_levels; i++)
    if (s->level_counts[i] > 0)
      {
        double want;
        g_assert_cmpuint (used, <, values->len);
        want = g_array_index (values, double, used);
        g_assert_cmpfloat_with_epsilon (s->levels[i], want, LEVEL_RTOL * MAX (fabs (want), 1e-12));
        used++;
      }
  g_assert_cmpuint (used, ==, values->len);
}

static void
test_uniform_tensor_3bit (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;
  g_autoptr(GArray) values = NULL;
  const LatheTensor *w;
  guint64 total = 0;

  plan->defaults.bits = 3;
  plan->defaults.granularity = LATHE_GRANULARITY_TENSOR;
  a = apply (f, plan);
  s = summarise (f, plan, a, "fc1.weight", -1);
  w = weight_of (f, a, "fc1.weight");
  values = distinct (lathe_tensor_f32 (w), w->n);

  g_assert_cmpint (s->bits, ==, 3);
  g_assert_false (s->palette);
  g_assert_cmpint (s->scale_index, ==, -1);
  g_assert_cmpuint (s->n_levels, <=, 8);
  g_assert_cmpuint (s->n_levels, ==, values->len);   /* real weights use every level */
  assert_levels_are (s, values);
  g_assert_cmpfloat (s->clip_lo, ==, g_array_index (values, double, 0));
  g_assert_cmpfloat (s->clip_hi, ==, g_array_index (values, double, values->len - 1));
  for (guint i = 0; i < s->n_levels; i++)
    total += s->level_counts[i];
  g_assert_cmpuint (total, ==, w->n);
  /* the histogram counts every weight once */
  g_assert_cmpuint (binned (s), ==, w->n);
  g_assert_true (isnan (s->threshold));
  g_assert_cmpuint (s->n_pruned, ==, 0);
}

static void
test_uniform_tensor_2bit_fewer (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;

  plan->defaults.bits = 2;
  plan->defaults.granularity = LATHE_GRANULARITY_TENSOR;
  a = apply (f, plan);
  s = summarise (f, plan, a, "fc2.weight", -1);
  g_assert_cmpuint (s->n_levels, ==, 3);   /* symmetric: −1, 0, +1 */
  g_assert_cmpfloat (s->clip_lo, ==, -s->clip_hi);
}

static void
test_channel_levels (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;
  g_autoptr(LatheWeightSummary) s0 = NULL;
  g_autoptr(GError) error = NULL;
  const LatheTensor *w;
  g_autoptr(GArray) row_values = NULL;
  double width = 0;

  plan->defaults.bits = 4;
  plan->defaults.granularity = LATHE_GRANULARITY_CHANNEL;
  a = apply (f, plan);
  s = summarise (f, plan, a, "fc2.weight", -1);
  w = weight_of (f, a, "fc2.weight");   /* Gemm transB=1: rows are units */

  g_assert_cmpuint (s->n_scopes, ==, 100);
  g_assert_cmpint (s->scale_index, >=, 0);
  g_assert_cmpuint (s->scope_row, ==, (gsize) s->scale_index);
  g_assert_cmpuint (s->scope_cols, ==, 300);
  g_assert_cmpuint (s->n_levels, ==, 15);
  row_values = distinct (lathe_tensor_f32 (w) + s->scope_row * 300, 300);
  assert_levels_are (s, row_values);

  /* the default is the unit with the widest range */
  for (gsize r = 0; r < 100; r++)
    {
      g_autoptr(GArray) v = distinct (lathe_tensor_f32 (w) + r * 300, 300);
      width = MAX (width, g_array_index (v, double, v->len - 1) - g_array_index (v, double, 0));
    }
  g_assert_cmpfloat (s->clip_hi - s->clip_lo, >=, width * (1 - LEVEL_RTOL));

  s0 = summarise (f, plan, a, "fc2.weight", 0);
  g_assert_cmpuint (s0->scope_row, ==, 0);
  g_assert_cmpfloat (s0->clip_hi - s0->clip_lo, <=, s->clip_hi - s->clip_lo);

  error = refused (f, plan, a, "fc2.weight", 16, 100);
  g_assert_nonnull (strstr (error->message, "fc2.weight"));
}

static void
test_group_levels (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;

  plan->defaults.bits = 4;
  plan->defaults.granularity = LATHE_GRANULARITY_GROUP;
  plan->defaults.group_size = 64;
  a = apply (f, plan);
  s = summarise (f, plan, a, "fc2.weight", 5);
  /* 300 columns in groups of 64: 5 per unit, the last one 44 long */
  g_assert_cmpuint (s->n_scopes, ==, 500);
  g_assert_cmpuint (s->scope_row, ==, 1);
  g_assert_cmpuint (s->scope_col, ==, 0);
  g_assert_cmpuint (s->scope_cols, ==, 64);
  g_clear_pointer (&s, lathe_weight_summary_free);
  s = summarise (f, plan, a, "fc2.weight", 4);
  g_assert_cmpuint (s->scope_col, ==, 256);
  g_assert_cmpuint (s->scope_cols, ==, 44);
}

static double
median_abs (const float *data,
            gsize        n)
{
  g_autofree double *v = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    v[i] = fabs (data[i]);
  qsort (v, n, sizeof (double), compare_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void
test_threshold_median (Fixture       *f,
                       gconstpointer  data)
{
  static const int bits[] = { 32, 4, 2 };
  const LatheTensor *src = weight_of (f, &(LatheApplied) { .graph = lathe_model_get_graph (f->model) }, "fc1.weight");
  double median = median_abs (lathe_tensor_f32 (src), src->n);

  for (guint i = 0; i < G_N_ELEMENTS (bits); i++)
    {
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(LatheApplied) a = NULL;
      g_autoptr(LatheWeightSummary) s = NULL;

      plan->defaults.bits = bits[i];
      plan->defaults.sparsity = 0.5;
      a = apply (f, plan);
      s = summarise (f, plan, a, "fc1.weight", -1);
      /* quantization rounds more weights to zero at 2 bits; the
       * threshold is still where pruning cut */
      g_assert_cmpfloat_with_epsilon (s->threshold, median, MEDIAN_RTOL * median);
      g_assert_cmpuint (s->n_pruned, ==, src->n / 2);
      g_assert_cmpfloat (s->sparsity, ==, 0.5);
      if (bits[i] == 32)
        g_assert_cmpuint (s->n_levels, ==, 0);
    }
}

static void
test_more_sparsity_higher_threshold (Fixture       *f,
                                     gconstpointer  data)
{
  double last = 0;

  for (double sp = 0.25; sp < 0.9; sp += 0.25)
    {
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(LatheApplied) a = NULL;
      g_autoptr(LatheWeightSummary) s = NULL;

      plan->defaults.bits = 4;
      plan->defaults.sparsity = sp;
      a = apply (f, plan);
      s = summarise (f, plan, a, "fc2.weight", -1);
      g_assert_cmpfloat (s->threshold, >, last);
      last = s->threshold;
    }
}

static void
test_float (Fixture       *f,
            gconstpointer  data)
{
  static const int bits[] = { 32, 16 };

  for (guint i = 0; i < G_N_ELEMENTS (bits); i++)
    {
      g_autoptr(LathePlan) plan = lathe_plan_new ();
      g_autoptr(LatheApplied) a = NULL;
      g_autoptr(LatheWeightSummary) s = NULL;

      plan->defaults.bits = bits[i];
      a = apply (f, plan);
      s = summarise (f, plan, a, "fc3.weight", -1);
      g_assert_cmpint (s->bits, ==, bits[i]);
      g_assert_cmpuint (s->n_levels, ==, 0);
      g_assert_true (isnan (s->clip_lo) && isnan (s->clip_hi));
      g_assert_true (isnan (s->threshold));
      g_assert_cmpuint (s->max_count, >, 0);
    }
}

static void
test_palette (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;
  g_autoptr(GArray) values = NULL;
  const LatheTensor *w;

  plan->defaults.bits = 3;
  g_free (plan->defaults.quantizer);
  plan->defaults.quantizer = g_strdup ("palette");
  plan->defaults.granularity = LATHE_GRANULARITY_TENSOR;
  a = apply (f, plan);
  s = summarise (f, plan, a, "fc2.weight", -1);
  w = weight_of (f, a, "fc2.weight");
  values = distinct (lathe_tensor_f32 (w), w->n);
  g_assert_true (s->palette);
  g_assert_cmpuint (s->n_levels, <=, 8);
  g_assert_cmpuint (s->n_levels, ==, values->len);
  assert_levels_are (s, values);
}

/* The CNN folds BatchNormalization by default: the histogram is of the
 * folded weights, and pruning is measured there. */
static void
test_folded (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(LatheWeightSummary) s = NULL;
  g_autoptr(GArray) values = NULL;
  const LatheLayerResult *r = NULL;
  const LatheTensor *w;

  plan->defaults.bits = 3;
  plan->defaults.granularity = LATHE_GRANULARITY_TENSOR;
  plan->defaults.sparsity = 0.3;
  g_assert_true (plan->fold_bn);
  a = apply (f, plan);
  for (guint i = 0; i < a->results->len; i++)
    if (g_str_equal (((LatheLayerResult *) g_ptr_array_index (a->results, i))->name, "conv2.weight"))
      r = g_ptr_array_index (a->results, i);
  g_assert_nonnull (r);
  g_assert_true (r->bn_folded);

  s = summarise (f, plan, a, "conv2.weight", -1);
  w = weight_of (f, a, "conv2.weight");
  g_assert_cmpuint (binned (s), ==, w->n);
  /* pruning's own count: 30 % of 2400 */
  g_assert_cmpuint (s->n_pruned, ==, (guint64) llround (r->sparsity * w->n));
  g_assert_cmpfloat (s->threshold, >, 0);
  g_assert_cmpfloat (s->threshold, <, MAX (fabs (s->lo), fabs (s->hi)));
  /* every nonzero effective value is a level */
  values = distinct (lathe_tensor_f32 (w), w->n);
  for (guint i = 0; i < values->len; i++)
    {
      gboolean found = FALSE;
      for (guint l = 0; l < s->n_levels; l++)
        found |= fabs (s->levels[l] - g_array_index (values, double, i)) <= LEVEL_RTOL * fabs (s->levels[l]);
      g_assert_true (found);
    }
}

/* Width keeps half of fc1's units, and fc2 loses the matching inputs:
 * both summaries describe the narrowed weights. */
static void
test_narrowed (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  static const char *names[] = { "fc1.weight", "fc2.weight" };

  plan->defaults.bits = 4;
  plan->defaults.sparsity = 0.3;
  lathe_plan_layer (plan, "fc1.weight")->width = 0.5;
  lathe_plan_layer (plan, "fc1.weight")->set |= LATHE_FIELD_WIDTH;
  a = apply (f, plan);

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    {
      g_autoptr(LatheWeightSummary) s = summarise (f, plan, a, names[k], -1);
      const LatheLayerResult *r = g_ptr_array_index (a->results, lathe_layers_index (f->layers, names[k]));

      g_assert_cmpstr (r->name, ==, names[k]);
      g_assert_cmpuint (s->rows, ==, r->rows);
      g_assert_cmpuint (s->cols, ==, r->cols);
      g_assert_cmpuint (binned (s), ==, (guint64) r->rows * r->cols);
      g_assert_cmpuint (s->n_pruned, ==, (guint64) llround (r->sparsity * r->rows * r->cols));
      g_assert_cmpfloat (s->threshold, >, 0);
    }
  g_assert_cmpuint (((LatheLayerResult *) g_ptr_array_index (a->results, 0))->rows, ==, 150);
  g_assert_cmpuint (((LatheLayerResult *) g_ptr_array_index (a->results, 1))->cols, ==, 150);

  /* a plan that ranked units by activation cannot be re-applied without
   * its calibration options */
  {
    g_autoptr(GError) error = NULL;

    plan->activation_importance = TRUE;
    error = refused (f, plan, a, "fc2.weight", 16, -1);
    g_assert_nonnull (strstr (error->message, "fc2.weight"));
  }
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(LathePlan) plan = lathe_plan_new ();
  g_autoptr(LatheApplied) a = NULL;
  g_autoptr(GError) error = NULL;

  a = apply (f, plan);
  error = refused (f, plan, a, "fc9.weight", 16, -1);
  g_assert_nonnull (strstr (error->message, "fc9.weight"));
  g_assert_nonnull (strstr (error->message, "fc1.weight"));   /* names the ones there are */
  g_clear_error (&error);

  error = refused (f, plan, a, "fc1.weight", 0, -1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, model) \
  g_test_add ("/lathe/engine/weight-summary/" path, Fixture, model, fixture_set_up, func, fixture_tear_down)
  ADD ("uniform-tensor-3bit", test_uniform_tensor_3bit, "fashion-mlp.onnx");
  ADD ("uniform-tensor-2bit", test_uniform_tensor_2bit_fewer, "fashion-mlp.onnx");
  ADD ("channel-levels", test_channel_levels, "fashion-mlp.onnx");
  ADD ("group-levels", test_group_levels, "fashion-mlp.onnx");
  ADD ("threshold-median", test_threshold_median, "fashion-mlp.onnx");
  ADD ("threshold-grows", test_more_sparsity_higher_threshold, "fashion-mlp.onnx");
  ADD ("float", test_float, "fashion-mlp.onnx");
  ADD ("palette", test_palette, "fashion-mlp.onnx");
  ADD ("folded", test_folded, "fashion-cnn.onnx");
  ADD ("narrowed", test_narrowed, "fashion-mlp.onnx");
  ADD ("errors", test_errors, "fashion-mlp.onnx");
#undef ADD

  return g_test_run ();
}
