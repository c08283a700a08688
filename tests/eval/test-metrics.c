/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-eval"

#include <math.h>

#include <glib.h>

#include "eval/lathe-metrics.h"

#define WILSON_TOL 1e-4
#define Z95 1.959964

static void
test_top1_ties (void)
{
  const float logits[] = {
    1.0f, 3.0f, 3.0f, 0.0f,        /* tie between 1 and 2: the lower index */
    5.0f, 5.0f, 5.0f, 5.0f,        /* all equal: 0 */
    -1.0f, -2.0f, -0.5f, -3.0f,    /* negatives: 2 */
    NAN, 1.0f, 2.0f, 2.0f,         /* a NaN never wins: 2 */
    1.0f, NAN, 3.0f, NAN,          /* 2 */
    NAN, NAN, NAN, NAN,            /* nothing but NaN: 0 */
    -INFINITY, -INFINITY, -1e30f, -INFINITY,  /* 2 */
  };
  const gint32 expected[] = { 1, 0, 2, 2, 2, 0, 2 };
  const gint32 labels[] = { 1, 1, 2, 2, 2, 3, 2 };
  gint32 pred[G_N_ELEMENTS (expected)];
  g_autoptr(LatheMetrics) m = lathe_metrics_new (4);

  lathe_metrics_add_batch (m, logits, G_N_ELEMENTS (expected), 4, labels, NULL, pred);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpint (pred[i], ==, expected[i]);

  g_assert_cmpuint (m->total, ==, 7);
  g_assert_cmpuint (m->correct, ==, 5);     /* rows 0, 2, 3, 4, 6 */
  g_assert_cmpfloat_with_epsilon (lathe_metrics_accuracy (m), 5.0 / 7.0, 1e-12);
  g_assert_cmpuint (m->fidelity_total, ==, 0);
}

static void
test_top5 (void)
{
  const float ramp[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  const float ties[8] = { 5, 5, 5, 5, 5, 5, 1, 0 };
  const float mid[8] = { 9, 8, 7, 6, 5, 5, 5, 1 };
  const struct {
    const float *row;
    gint32       label;
    gboolean     top5;
  } cases[] = {
    { ramp, 7, TRUE },
    { ramp, 3, TRUE },     /* 4, 5, 6, 7 ahead: four */
    { ramp, 2, FALSE },    /* five ahead */
    { ties, 0, TRUE },     /* six-way tie for first: nobody strictly ahead */
    { ties, 5, TRUE },
    { ties, 6, FALSE },    /* six ahead */
    { mid, 6, TRUE },      /* 9, 8, 7, 6 ahead; ties with 5 do not count */
    { mid, 4, TRUE },
    { mid, 7, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LatheMetrics) m = lathe_metrics_new (8);

      lathe_metrics_add_batch (m, cases[i].row, 1, 8, &cases[i].label, NULL, NULL);
      g_assert_cmpuint (m->total, ==, 1);
      g_assert_cmpuint (m->top5_correct, ==, cases[i].top5 ? 1 : 0);
    }
}

static void
test_top5_few_outputs (void)
{
  /* With at most five outputs every label the model knows is in the top 5. */
  const float logits[3 * 3] = { 3, 2, 1,  1, 2, 3,  0, 0, 0 };
  const gint32 labels[3] = { 2, 0, 1 };
  g_autoptr(LatheMetrics) m = lathe_metrics_new (3);

  lathe_metrics_add_batch (m, logits, 3, 3, labels, NULL, NULL);
  g_assert_cmpuint (m->top5_correct, ==, 3);
  g_assert_cmpuint (m->correct, ==, 0);
  g_assert_cmpfloat (lathe_metrics_top5 (m), ==, 1.0);
}

static void
test_confusion (void)
{
  /* 3 classes; predictions 0, 1, 1, 2, 0, 2 */
  const float logits[6 * 3] = {
    9, 0, 0,
    0, 9, 0,
    0, 9, 0,
    0, 0, 9,
    9, 0, 0,
    0, 0, 9,
  };
  const gint32 labels[6] = { 0, 1, 0, 2, 2, 2 };
  g_autoptr(LatheMetrics) m = lathe_metrics_new (3);
  guint64 sum = 0;

  lathe_metrics_add_batch (m, logits, 6, 3, labels, NULL, NULL);

  g_assert_cmpuint (lathe_metrics_get_confusion (m, 0, 0), ==, 1);
  g_assert_cmpuint (lathe_metrics_get_confusion (m, 0, 1), ==, 1);
  g_assert_cmpuint (lathe_metrics_get_confusion (m, 1, 1), ==, 1);
  g_assert_cmpuint (lathe_metrics_get_confusion (m, 2, 2), ==, 2);
  g_assert_cmpuint (lathe_metrics_get_confusion (m, 2, 0), ==, 1);
  for (guint k = 0; k < 9; k++)
    sum += m->confusion[k];
  g_assert_cmpuint (sum, ==, 6);
  /* row label, column prediction */
  g_assert_cmpuint (m->confusion[0 * 3 + 1], ==, 1);
  g_assert_cmpuint (m->confusion[1 * 3 + 0], ==, 0);

  g_assert_cmpuint (m->correct, ==, 4);
  g_assert_cmpuint (m->class_total[0], ==, 2);
  g_assert_cmpuint (m->class_correct[0], ==, 1);
  g_assert_cmpuint (m->class_total[2], ==, 3);
  g_assert_cmpuint (m->class_correct[2], ==, 2);
  g_assert_cmpfloat_with_epsilon (lathe_metrics_class_accuracy (m, 0), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (lathe_metrics_class_accuracy (m, 1), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (lathe_metrics_class_accuracy (m, 2), 2.0 / 3.0, 1e-12);
}

static void
test_fidelity (void)
{
  const float logits[4 * 2] = { 1, 0,  0, 1,  0, 1,  1, 1 };   /* 0, 1, 1, 0 */
  const gint32 reference[4] = { 0, 1, 0, 1 };
  const gint32 labels[4] = { 1, 1, 1, 1 };
  gint32 pred[4];
  g_autoptr(LatheMetrics) m = lathe_metrics_new (2);

  /* Without labels only fidelity is counted. */
  lathe_metrics_add_batch (m, logits, 4, 2, NULL, reference, pred);
  g_assert_cmpuint (m->fidelity_total, ==, 4);
  g_assert_cmpuint (m->fidelity_agree, ==, 2);
  g_assert_cmpfloat (lathe_metrics_fidelity (m), ==, 0.5);
  g_assert_cmpuint (m->total, ==, 0);
  g_assert_cmpfloat (lathe_metrics_accuracy (m), ==, 0.0);
  g_assert_cmpint (pred[3], ==, 0);

  /* A model agrees with itself. */
  lathe_metrics_add_batch (m, logits, 4, 2, labels, pred, NULL);
  g_assert_cmpuint (m->fidelity_total, ==, 8);
  g_assert_cmpuint (m->fidelity_agree, ==, 6);
  g_assert_cmpuint (m->total, ==, 4);
  g_assert_cmpuint (m->correct, ==, 2);
}

static void
test_label_beyond_outputs (void)
{
  /* The data set has 5 classes, the model only 3 outputs. */
  const float logits[2 * 3] = { 0, 0, 1,  1, 0, 0 };
  const gint32 labels[2] = { 4, 0 };
  g_autoptr(LatheMetrics) m = lathe_metrics_new (5);

  lathe_metrics_add_batch (m, logits, 2, 3, labels, NULL, NULL);
  g_assert_cmpuint (m->total, ==, 2);
  g_assert_cmpuint (m->correct, ==, 1);
  g_assert_cmpuint (m->top5_correct, ==, 1);   /* label 4 is never in the top 5 */
  g_assert_cmpuint (lathe_metrics_get_confusion (m, 4, 2), ==, 1);
  g_assert_cmpuint (m->class_total[4], ==, 1);
  g_assert_cmpfloat (lathe_metrics_class_accuracy (m, 4), ==, 0.0);
  g_assert_cmpfloat (lathe_metrics_class_accuracy (m, 3), ==, 0.0);  /* no samples */
}

static void
test_merge (void)
{
  float logits[10 * 4];
  gint32 labels[10], reference[10];
  g_autoptr(LatheMetrics) whole = lathe_metrics_new (4);
  g_autoptr(LatheMetrics) a = lathe_metrics_new (4);
  g_autoptr(LatheMetrics) b = lathe_metrics_new (4);

  for (guint i = 0; i < G_N_ELEMENTS (logits); i++)
    logits[i] = (float) ((i * 7919) % 13);
  for (guint i = 0; i < 10; i++)
    {
      labels[i] = (gint32) (i % 4);
      reference[i] = (gint32) ((i * 3) % 4);
    }

  lathe_metrics_add_batch (whole, logits, 10, 4, labels, reference, NULL);
  lathe_metrics_add_batch (a, logits, 6, 4, labels, reference, NULL);
  lathe_metrics_add_batch (b, logits + 6 * 4, 4, 4, labels + 6, reference + 6, NULL);
  lathe_metrics_merge (a, b);

  g_assert_cmpuint (a->total, ==, whole->total);
  g_assert_cmpuint (a->correct, ==, whole->correct);
  g_assert_cmpuint (a->top5_correct, ==, whole->top5_correct);
  g_assert_cmpuint (a->fidelity_agree, ==, whole->fidelity_agree);
  g_assert_cmpuint (a->fidelity_total, ==, whole->fidelity_total);
  g_assert_cmpmem (a->class_correct, 4 * sizeof (guint64), whole->class_correct, 4 * sizeof (guint64));
  g_assert_cmpmem (a->class_total, 4 * sizeof (guint64), whole->class_total, 4 * sizeof (guint64));
  g_assert_cmpmem (a->confusion, 16 * sizeof (guint64), whole->confusion, 16 * sizeof (guint64));

  lathe_metrics_reset (a);
  g_assert_cmpuint (a->total, ==, 0);
  g_assert_cmpuint (a->confusion[5], ==, 0);
  g_assert_cmpfloat (lathe_metrics_accuracy (a), ==, 0.0);
  g_assert_cmpfloat (lathe_metrics_top5 (a), ==, 0.0);
  g_assert_cmpfloat (lathe_metrics_fidelity (a), ==, 0.0);
}

static void
test_wilson (void)
{
  const struct {
    guint64 s, n;
    double  lo, hi;
  } cases[] = {
    { 80, 100, 0.7112, 0.8666 },
    { 50, 100, 0.4038, 0.5962 },
    { 0, 10, 0.0, 0.2775 },
    { 10, 10, 0.7225, 1.0 },
    { 1, 1, 0.2065, 1.0 },
    { 8812, 10000, 0.8747, 0.8874 },
    { 0, 0, 0.0, 1.0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double lo = -1, hi = -1;

      lathe_wilson_interval (cases[i].s, cases[i].n, Z95, &lo, &hi);
      g_assert_cmpfloat_with_epsilon (lo, cases[i].lo, WILSON_TOL);
      g_assert_cmpfloat_with_epsilon (hi, cases[i].hi, WILSON_TOL);
      g_assert_cmpfloat (lo, >=, 0.0);
      g_assert_cmpfloat (hi, <=, 1.0);
    }
}

static void
test_bad_label (void)
{
  const float logits[2 * 3] = { 1, 0, 0,  0, 1, 0 };
  const gint32 labels[2] = { 0, 3 };
  g_autoptr(LatheMetrics) m = lathe_metrics_new (3);

  /* A bad label is a programmer error; the batch is refused as a whole. */
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*labels[i]*");
  lathe_metrics_add_batch (m, logits, 2, 3, labels, NULL, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (m->total, ==, 0);
  g_assert_cmpuint (m->confusion[0], ==, 0);
}

static void
test_bad_label_trap (void)
{
  if (g_test_subprocess ())
    {
      const float logits[3] = { 1, 0, 0 };
      const gint32 label = -1;
      g_autoptr(LatheMetrics) m = lathe_metrics_new (3);

      lathe_metrics_add_batch (m, logits, 1, 3, &label, NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*lathe_metrics_add_batch*");
}

static void
test_too_many_outputs_trap (void)
{
  if (g_test_subprocess ())
    {
      const float logits[4] = { 1, 0, 0, 0 };
      g_autoptr(LatheMetrics) m = lathe_metrics_new (3);

      lathe_metrics_add_batch (m, logits, 1, 4, NULL, NULL, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*n_outputs*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/eval/metrics/top1-ties", test_top1_ties);
  g_test_add_func ("/lathe/eval/metrics/top5", test_top5);
  g_test_add_func ("/lathe/eval/metrics/top5-few-outputs", test_top5_few_outputs);
  g_test_add_func ("/lathe/eval/metrics/confusion", test_confusion);
  g_test_add_func ("/lathe/eval/metrics/fidelity", test_fidelity);
  g_test_add_func ("/lathe/eval/metrics/label-beyond-outputs", test_label_beyond_outputs);
  g_test_add_func ("/lathe/eval/metrics/merge", test_merge);
  g_test_add_func ("/lathe/eval/metrics/wilson", test_wilson);
  g_test_add_func ("/lathe/eval/metrics/bad-label", test_bad_label);
  g_test_add_func ("/lathe/eval/metrics/bad-label-trap", test_bad_label_trap);
  g_test_add_func ("/lathe/eval/metrics/too-many-outputs", test_too_many_outputs_trap);

  return g_test_run ();
}
