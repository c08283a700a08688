/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Quantizers (engine/compress/lathe-quant.c): each fast path against its
 * scalar _ref twin over random weights, shapes, bit widths and masks, then
 * cases worked out by hand, then what must be refused. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "compress/lathe-quant.h"

/* Max-abs scales: the fast path does the same float operations as the
 * twin (its rint is exact for the bounded arguments), so weights, codes
 * and scales must be bit-identical. */
#define MAXABS_EXACT         TRUE
/* MSE scales: the fast path sums errors in float lanes flushed to double,
 * the twin sequentially in double; the minimum each finds may differ by
 * rounding in the sum only. */
#define MSE_RTOL             1e-5
#define MSE_ATOL             1e-12
/* Palette: cluster sums run in sorted order (fast) or flat order (twin),
 * in double, then round to float — the centroids agree unless a sum
 * lands within 1e-16 of a float rounding boundary, and an assignment can
 * then move at most the weights on that boundary. */
#define PALETTE_CENTROID_RTOL 1e-6
#define PALETTE_MAX_MOVED     1e-3     /* fraction of weights */
/* Hand-computed values that are not exact binary fractions. */
#define HAND_RTOL            1e-6

typedef struct {
  gsize rows, cols, spatial;
} Shape;

static const Shape shapes[] = {
  { 1, 1, 1 },
  { 7, 50, 1 },         /* Gemm: groups of 16/32 leave a short last group */
  { 6, 150, 3 },        /* Conv 50 channels × 3: groups of 48/96 elements */
  { 3, 256, 1 },
  { 2, 2000, 9 },       /* long rows: several ERR_BLOCKs per span */
};

static float *
random_weights (gsize n,
                int   kind)
{
  float *w = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    switch (kind)
      {
      case 0:   /* roughly Gaussian with outliers, like trained weights */
        w[i] = (float) ((g_test_rand_double () + g_test_rand_double () +
                         g_test_rand_double () - 1.5) * 0.2);
        if (g_test_rand_int_range (0, 50) == 0)
          w[i] *= 8.0f;
        break;
      case 1:   /* all positive (affine ranges widened to 0) */
        w[i] = (float) g_test_rand_double_range (0.5, 2.0);
        break;
      default:  /* few distinct values: ties everywhere */
        w[i] = (float) (g_test_rand_int_range (-4, 5) * 0.25);
        break;
      }
  return w;
}

static guint8 *
random_keep (gsize  n,
             double density)
{
  guint8 *keep = g_new (guint8, n);

  for (gsize i = 0; i < n; i++)
    keep[i] = g_test_rand_double () < density;
  return keep;
}

static void
assert_floats_identical (const float *a,
                         const float *b,
                         gsize        n,
                         const char  *what)
{
  for (gsize i = 0; i < n; i++)
    if (memcmp (&a[i], &b[i], sizeof (float)) != 0)
      g_error ("%s: element %" G_GSIZE_FORMAT ": fast %.9g, ref %.9g", what, i, a[i], b[i]);
}

static void
assert_close (double      got,
              double      want,
              double      rtol,
              const char *what)
{
  if (!(fabs (got - want) <= rtol * fabs (want)))
    g_error ("%s: got %.9g, want %.9g (rtol %g)", what, got, want, rtol);
}

/* ------------------------------------------------------------------------
 * Uniform: fast vs _ref */

static double
span_err (const float  *orig,
          const float  *quant,
          const guint8 *keep,
          gsize         off,
          gsize         len)
{
  double e = 0.0;

  for (gsize i = off; i < off + len; i++)
    if (keep == NULL || keep[i])
      e += ((double) orig[i] - quant[i]) * ((double) orig[i] - quant[i]);
  return e;
}

static void
compare_uniform (const Shape      *shape,
                 int               bits,
                 LatheGranularity  gran,
                 int               g,
                 gboolean          affine,
                 LatheScaleMethod  method,
                 int               kind,
                 gboolean          masked)
{
  gsize n = shape->rows * shape->cols;
  g_autofree float *orig = random_weights (n, kind);
  g_autofree float *a = g_memdup2 (orig, n * sizeof (float));
  g_autofree float *b = g_memdup2 (orig, n * sizeof (float));
  g_autofree guint8 *keep = masked ? random_keep (n, 0.6) : NULL;
  g_autoptr(LatheQuantized) qa = NULL;
  g_autoptr(LatheQuantized) qb = NULL;
  LatheWeightView va = { a, shape->rows, shape->cols, shape->spatial };
  LatheWeightView vb = { b, shape->rows, shape->cols, shape->spatial };
  g_autoptr(GError) error = NULL;
  g_autofree char *what = g_strdup_printf ("%" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT
                                           " bits %d gran %d G %d affine %d mse %d kind %d mask %d",
                                           shape->rows, shape->cols, bits, gran, g,
                                           affine, method, kind, masked);
  gsize span;

  g_assert_true (lathe_quant_uniform (&va, bits, gran, g, affine, method, keep, &qa, &error));
  g_assert_no_error (error);
  g_assert_true (lathe_quant_uniform_ref (&vb, bits, gran, g, affine, method, keep, &qb, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (qa->n_scales, ==, qb->n_scales);
  g_assert_cmpuint (qa->scales_per_row, ==, qb->scales_per_row);

  /* pruned stay exactly +0.0 */
  for (gsize i = 0; keep && i < n; i++)
    if (!keep[i])
      g_assert_cmpuint (*(guint32 *) &a[i], ==, 0);

  if (method == LATHE_SCALE_MAXABS || bits == 1)
    {
      g_assert_true (MAXABS_EXACT);
      assert_floats_identical (a, b, n, what);
      assert_floats_identical (qa->scales, qb->scales, qa->n_scales, what);
      g_assert_cmpmem (qa->codes, n * sizeof (gint32), qb->codes, n * sizeof (gint32));
      if (affine)
        g_assert_cmpmem (qa->zero_points, qa->n_scales * sizeof (gint32),
                         qb->zero_points, qa->n_scales * sizeof (gint32));
      return;
    }

  /* MSE: each span's error is the minimum both searched for. */
  span = gran == LATHE_GRANULARITY_TENSOR ? n
       : gran == LATHE_GRANULARITY_CHANNEL ? shape->cols
       : MIN ((gsize) g * shape->spatial, shape->cols);
  for (gsize r = 0; r < (gran == LATHE_GRANULARITY_TENSOR ? 1 : shape->rows); r++)
    for (gsize c = 0; c < (gran == LATHE_GRANULARITY_TENSOR ? 1 : shape->cols); c += span)
      {
        gsize off = r * shape->cols + c;
        gsize len = gran == LATHE_GRANULARITY_TENSOR ? n : MIN (span, shape->cols - c);
        double ea = span_err (orig, a, keep, off, len);
        double eb = span_err (orig, b, keep, off, len);

        if (!(fabs (ea - eb) <= MSE_ATOL + MSE_RTOL * eb))
          g_error ("%s: span at %" G_GSIZE_FORMAT ": error fast %.12g, ref %.12g",
                   what, off, ea, eb);
      }
  /* and where the chosen scale agrees, so does everything else */
  for (gsize si = 0; si < qa->n_scales; si++)
    if (qa->scales[si] == qb->scales[si] &&
        gran != LATHE_GRANULARITY_TENSOR)
      {
        gsize r = si / qa->scales_per_row, gi = si % qa->scales_per_row;
        gsize off = r * shape->cols + gi * span;
        gsize len = MIN (span, shape->cols - gi * span);

        assert_floats_identical (a + off, b + off, len, what);
        g_assert_cmpmem (qa->codes + off, len * sizeof (gint32), qb->codes + off, len * sizeof (gint32));
      }
}

static void
test_uniform_fast_vs_ref (gconstpointer data)
{
  LatheScaleMethod method = GPOINTER_TO_INT (data);
  const struct { LatheGranularity gran; int g; } grans[] = {
    { LATHE_GRANULARITY_TENSOR, 0 },
    { LATHE_GRANULARITY_CHANNEL, 0 },
    { LATHE_GRANULARITY_GROUP, 16 },
    { LATHE_GRANULARITY_GROUP, 32 },
    { LATHE_GRANULARITY_GROUP, 256 },
  };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int bits = 1; bits <= 8; bits++)
      for (guint gi = 0; gi < G_N_ELEMENTS (grans); gi++)
        for (int affine = 0; affine <= (bits > 1); affine++)
          for (int kind = 0; kind < 3; kind++)
            for (int masked = 0; masked <= 1; masked++)
              {
                /* the MSE twin is slow on the long shape; fewer combinations */
                if (method == LATHE_SCALE_MSE && s == G_N_ELEMENTS (shapes) - 1 && kind != 0)
                  continue;
                compare_uniform (&shapes[s], bits, grans[gi].gran, grans[gi].g,
                                 affine, method, kind, masked);
              }
}

/* ------------------------------------------------------------------------
 * Uniform: worked by hand */

/* 4-bit symmetric, per tensor: max|w| = 7, qmax = 7, s = 1; halves round
 * to even: 2.5 → 2, 0.5 → 0, 1.5 → 2, −2.5 → −2. */
static void
test_uniform_symmetric_half_even (void)
{
  float w[] = { 2.5f, -7.0f, 0.5f, 1.5f, -2.5f, 3.0f };
  const float want[] = { 2.0f, -7.0f, 0.0f, 2.0f, -2.0f, 3.0f };
  const gint32 codes[] = { 2, -7, 0, 2, -2, 3 };
  LatheWeightView v = { w, 1, 6, 1 };
  g_autoptr(LatheQuantized) q = NULL;

  g_assert_true (lathe_quant_uniform (&v, 4, LATHE_GRANULARITY_TENSOR, 0, FALSE,
                                      LATHE_SCALE_MAXABS, NULL, &q, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (q->codes, sizeof codes, codes, sizeof codes);
  g_assert_cmpuint (q->n_scales, ==, 1);
  g_assert_cmpuint (q->scales_per_row, ==, 0);
  g_assert_cmpfloat (q->scales[0], ==, 1.0f);
  g_assert_null (q->zero_points);
}

/* 2-bit affine: range [−1, 2], s = 3/3 = 1, zp = rne(1/1) = 1;
 * q = clamp(rne(w) + 1, 0, 3): −1 → 0, 0 → 1, 2 → 3, 0.5 → rne(0.5) = 0 → 1.
 * Second row: all positive, the range widens to [0, 3]: s = 1, zp = 0.
 * Third row: range [−0.5, 2.5], s = 1, zp = rne(0.5) = 0 (even), so −0.5
 * → rne(−0.5) = 0 → w′ 0. */
static void
test_uniform_affine_by_hand (void)
{
  float w[] = { -1.0f, 0.0f, 2.0f, 0.5f,
                 1.0f, 3.0f, 2.0f, 1.0f,
                -0.5f, 2.5f, 1.0f, 0.0f };
  const float want[] = { -1.0f, 0.0f, 2.0f, 0.0f,
                          1.0f, 3.0f, 2.0f, 1.0f,
                          0.0f, 2.0f, 1.0f, 0.0f };
  const gint32 codes[] = { 0, 1, 3, 1,
                           1, 3, 2, 1,
                           0, 2, 1, 0 };
  const gint32 zps[] = { 1, 0, 0 };
  LatheWeightView v = { w, 3, 4, 1 };
  g_autoptr(LatheQuantized) q = NULL;

  g_assert_true (lathe_quant_uniform (&v, 2, LATHE_GRANULARITY_CHANNEL, 0, TRUE,
                                      LATHE_SCALE_MAXABS, NULL, &q, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (q->codes, sizeof codes, codes, sizeof codes);
  g_assert_cmpmem (q->zero_points, sizeof zps, zps, sizeof zps);
  for (int r = 0; r < 3; r++)
    g_assert_cmpfloat (q->scales[r], ==, 1.0f);
}

/* A row of zeros: scale 0, codes 0, no NaN; the next row is unaffected
 * (8-bit: 127 / 127 = 1). */
static void
test_uniform_zero_group (void)
{
  for (int affine = 0; affine <= 1; affine++)
    {
      float w[] = { 0.0f, 0.0f, 0.0f, 0.0f,
                    127.0f, -1.0f, 0.0f, 3.0f };
      LatheWeightView v = { w, 2, 4, 1 };
      g_autoptr(LatheQuantized) q = NULL;

      g_assert_true (lathe_quant_uniform (&v, 8, LATHE_GRANULARITY_CHANNEL, 0, affine,
                                          LATHE_SCALE_MSE, NULL, &q, NULL));
      g_assert_cmpfloat (q->scales[0], ==, 0.0f);
      for (int i = 0; i < 4; i++)
        {
          g_assert_cmpint (q->codes[i], ==, 0);
          g_assert_cmpuint (*(guint32 *) &w[i], ==, 0);
        }
      if (affine)
        g_assert_cmpint (q->zero_points[0], ==, 0);
      else
        {
          g_assert_cmpfloat (q->scales[1], ==, 1.0f);
          g_assert_cmpfloat (w[4], ==, 127.0f);
          g_assert_cmpfloat (w[5], ==, -1.0f);
        }
    }
}

/* Groups of G channels: for Gemm (spatial 1), cols 20 with G = 16 is a
 * group of 16 and a short one of 4; for Conv (spatial 2), cols 40 with
 * G = 16 is 32 + 8 elements. 8-bit, qmax 127: each group's scale is its
 * own max|w| / 127. */
static void
test_uniform_groups (void)
{
  float w[40];
  g_autoptr(LatheQuantized) q = NULL;
  LatheWeightView gemm = { w, 1, 20, 1 };
  LatheWeightView conv = { w, 1, 40, 2 };

  for (int i = 0; i < 20; i++)
    w[i] = i < 16 ? 0.5f * (i - 4) : -254.0f * (i - 15);   /* max 5.5, then max 1016 */
  g_assert_true (lathe_quant_uniform (&gemm, 8, LATHE_GRANULARITY_GROUP, 16, FALSE,
                                      LATHE_SCALE_MAXABS, NULL, &q, NULL));
  g_assert_cmpuint (q->group_len, ==, 16);
  g_assert_cmpuint (q->scales_per_row, ==, 2);
  g_assert_cmpuint (q->n_scales, ==, 2);
  g_assert_cmpfloat (q->scales[0], ==, 5.5f / 127.0f);
  g_assert_cmpfloat (q->scales[1], ==, 1016.0f / 127.0f);   /* = 8 */
  g_assert_cmpfloat (w[19], ==, -1016.0f);
  g_assert_cmpfloat (w[16], ==, -256.0f);                   /* −254 / 8 = −31.75 → −32 */
  g_clear_pointer (&q, lathe_quantized_free);

  for (int i = 0; i < 40; i++)
    w[i] = i < 32 ? 1.0f : 2.0f;
  g_assert_true (lathe_quant_uniform (&conv, 3, LATHE_GRANULARITY_GROUP, 16, FALSE,
                                      LATHE_SCALE_MAXABS, NULL, &q, NULL));
  g_assert_cmpuint (q->group_len, ==, 32);
  g_assert_cmpuint (q->scales_per_row, ==, 2);
  g_assert_cmpfloat (q->scales[0], ==, 1.0f / 3.0f);
  g_assert_cmpfloat (q->scales[1], ==, 2.0f / 3.0f);
  g_assert_cmpint (q->codes[0], ==, 3);
  g_assert_cmpint (q->codes[39], ==, 3);
}

/* 1 bit: w′ = sign(w) · mean|w|. {0.5, −1.5, 0, 2}: mean 4/4 = 1. With
 * the third weight pruned (and holding junk), mean over the kept three is
 * 4/3 and the junk becomes 0. */
static void
test_uniform_binary (void)
{
  float w[] = { 0.5f, -1.5f, 0.0f, 2.0f };
  float w2[] = { 0.5f, -1.5f, 5.0f, 2.0f };
  const guint8 keep[] = { 1, 1, 0, 1 };
  const gint32 codes[] = { 1, -1, 0, 1 };
  const float want[] = { 1.0f, -1.0f, 0.0f, 1.0f };
  LatheWeightView v = { w, 1, 4, 1 };
  LatheWeightView v2 = { w2, 1, 4, 1 };
  g_autoptr(LatheQuantized) q = NULL;
  g_autoptr(LatheQuantized) q2 = NULL;

  g_assert_true (lathe_quant_uniform (&v, 1, LATHE_GRANULARITY_TENSOR, 0, FALSE,
                                      LATHE_SCALE_MSE, NULL, &q, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (q->codes, sizeof codes, codes, sizeof codes);
  g_assert_cmpfloat (q->scales[0], ==, 1.0f);

  g_assert_true (lathe_quant_uniform (&v2, 1, LATHE_GRANULARITY_CHANNEL, 0, FALSE,
                                      LATHE_SCALE_MAXABS, keep, &q2, NULL));
  g_assert_cmpmem (q2->codes, sizeof codes, codes, sizeof codes);
  g_assert_cmpfloat (q2->scales[0], ==, (float) (4.0 / 3.0));
  g_assert_cmpfloat (w2[0], ==, (float) (4.0 / 3.0));
  g_assert_cmpfloat (w2[1], ==, -(float) (4.0 / 3.0));
  g_assert_cmpuint (*(guint32 *) &w2[2], ==, 0);
}

/* A pruned weight does not set the scale: 8-bit, kept max|w| = 1, so
 * s = 1/127 although the pruned slot holds 100. */
static void
test_uniform_mask (void)
{
  float w[] = { 0.5f, -1.0f, 100.0f };
  const guint8 keep[] = { 1, 1, 0 };
  LatheWeightView v = { w, 1, 3, 1 };
  g_autoptr(LatheQuantized) q = NULL;

  g_assert_true (lathe_quant_uniform (&v, 8, LATHE_GRANULARITY_TENSOR, 0, TRUE,
                                      LATHE_SCALE_MAXABS, keep, &q, NULL));
  /* affine: range [−1, 0.5], s = 1.5/255, zp = rne(170) = 170 */
  g_assert_cmpfloat (q->scales[0], ==, 1.5f / 255.0f);
  g_assert_cmpint (q->zero_points[0], ==, 170);
  g_assert_cmpint (q->codes[2], ==, 170);
  g_assert_cmpint (q->codes[1], ==, 0);
  g_assert_cmpfloat (w[2], ==, 0.0f);
  assert_close (w[1], -1.0, HAND_RTOL, "affine min");
}

/* MSE clipping. 3-bit symmetric (qmax 3) on a hundred 1s and one 4:
 * max-abs gives s = 4/3, every 1 → code 1 → 1.333, error 100 · (1/3)² =
 * 11.1. With s = α·4/3 (1s still round to code 1, the 4 clips to 3) the
 * error is 100 (1 − s)² + (4 − 3s)², minimal at s = 224/218 ≈ 1.0275, i.e.
 * α ≈ 0.7706. On the grid: α = 0.76 → 0.9394, 0.77 → 0.9175,
 * 0.78 → 0.9344, so α = 0.77, s = 1.026667. */
static void
test_uniform_mse_by_hand (void)
{
  float w[101];
  LatheWeightView v = { w, 1, 101, 1 };
  g_autoptr(LatheQuantized) q = NULL;
  double err = 0.0;

  for (int i = 0; i < 100; i++)
    w[i] = 1.0f;
  w[100] = 4.0f;
  g_assert_true (lathe_quant_uniform (&v, 3, LATHE_GRANULARITY_TENSOR, 0, FALSE,
                                      LATHE_SCALE_MSE, NULL, &q, NULL));
  assert_close (q->scales[0], 0.77 * 4.0 / 3.0, HAND_RTOL, "mse scale");
  g_assert_cmpint (q->codes[0], ==, 1);
  g_assert_cmpint (q->codes[100], ==, 3);
  for (int i = 0; i < 100; i++)
    err += (1.0 - w[i]) * (1.0 - w[i]);
  err += (4.0 - w[100]) * (4.0 - w[100]);
  assert_close (err, 0.9175, 1e-3, "mse error");
}

/* When clipping does not help, MSE keeps α = 1 (ties → larger α): the
 * 4-bit weights {−7…7} are exactly representable with s = 1. */
static void
test_uniform_mse_keeps_maxabs (void)
{
  float w[15];
  LatheWeightView v = { w, 1, 15, 1 };
  g_autoptr(LatheQuantized) q = NULL;

  for (int i = 0; i < 15; i++)
    w[i] = (float) (i - 7);
  g_assert_true (lathe_quant_uniform (&v, 4, LATHE_GRANULARITY_TENSOR, 0, FALSE,
                                      LATHE_SCALE_MSE, NULL, &q, NULL));
  g_assert_cmpfloat (q->scales[0], ==, 1.0f);
  for (int i = 0; i < 15; i++)
    g_assert_cmpfloat (w[i], ==, (float) (i - 7));
}

static void
test_uniform_errors (void)
{
  float w[64] = { 0 };
  LatheWeightView v = { w, 2, 32, 1 };
  const struct { int bits; LatheGranularity gran; int g; gboolean affine; } bad[] = {
    { 0, LATHE_GRANULARITY_TENSOR, 0, FALSE },
    { 9, LATHE_GRANULARITY_TENSOR, 0, FALSE },
    { 16, LATHE_GRANULARITY_CHANNEL, 0, FALSE },
    { 32, LATHE_GRANULARITY_CHANNEL, 0, FALSE },
    { 1, LATHE_GRANULARITY_CHANNEL, 0, TRUE },
    { 4, LATHE_GRANULARITY_GROUP, 48, FALSE },
    { 4, LATHE_GRANULARITY_GROUP, 0, FALSE },
    { 4, LATHE_GRANULARITY_GROUP, -16, TRUE },
    { 4, LATHE_GRANULARITY_GROUP, 512, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error_ref = NULL;
      LatheQuantized *q = GINT_TO_POINTER (1);

      g_assert_false (lathe_quant_uniform (&v, bad[i].bits, bad[i].gran, bad[i].g, bad[i].affine,
                                           LATHE_SCALE_MAXABS, NULL, &q, &error));
      g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
      g_assert_null (q);
      g_assert_false (lathe_quant_uniform_ref (&v, bad[i].bits, bad[i].gran, bad[i].g, bad[i].affine,
                                               LATHE_SCALE_MAXABS, NULL, NULL, &error_ref));
      g_assert_error (error_ref, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
    }
}

/* ------------------------------------------------------------------------
 * float16 */

static void
test_fp16 (void)
{
  /* 0.1 → 0.0999755859375 (nearest half); 2049 is halfway between 2048
   * and 2050 (spacing 2) → even mantissa 2048; 2051 → 2052; 1e-8 is below
   * half the smallest subnormal (2^−25) → 0; 65504 is the largest half. */
  float w[] = { 1.0f, 0.1f, 2049.0f, 2051.0f, 1e-8f, 65504.0f, -0.0f, 0.0f };
  const float want[] = { 1.0f, 0.0999755859375f, 2048.0f, 2052.0f, 0.0f, 65504.0f, -0.0f, 0.0f };
  LatheWeightView v = { w, 2, 4, 1 };

  lathe_quant_fp16 (&v);
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
}

/* ------------------------------------------------------------------------
 * Palette: fast vs _ref */

static void
compare_palette (const Shape *shape,
                 int          bits,
                 gboolean     per_channel,
                 int          kind,
                 gboolean     masked,
                 int          iterations)
{
  gsize n = shape->rows * shape->cols, moved = 0;
  g_autofree float *a = NULL;
  g_autofree float *b = NULL;
  g_autofree guint8 *keep = masked ? random_keep (n, 0.5) : NULL;
  g_autoptr(LathePalette) pa = NULL;
  g_autoptr(LathePalette) pb = NULL;
  LatheWeightView va, vb;
  gsize k = (gsize) 1 << bits;

  if (kind < 3)
    a = random_weights (n, kind);
  else
    {
      /* two adjacent floats: the linear codebook is full of duplicates */
      a = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        a[i] = g_test_rand_bit () ? 1.0f : nextafterf (1.0f, 2.0f);
    }
  b = g_memdup2 (a, n * sizeof (float));
  va = (LatheWeightView) { a, shape->rows, shape->cols, shape->spatial };
  vb = (LatheWeightView) { b, shape->rows, shape->cols, shape->spatial };

  g_assert_true (lathe_quant_palette (&va, bits, per_channel, iterations, keep, &pa, NULL));
  g_assert_true (lathe_quant_palette_ref (&vb, bits, per_channel, iterations, keep, &pb, NULL));
  g_assert_cmpuint (pa->n_codebooks, ==, per_channel ? shape->rows : 1);
  g_assert_cmpuint (pa->n_codebooks, ==, pb->n_codebooks);

  for (gsize i = 0; i < pa->n_codebooks * k; i++)
    assert_close (pa->codebooks[i], pb->codebooks[i], PALETTE_CENTROID_RTOL, "centroid");
  for (gsize i = 0; i < n; i++)
    {
      gsize cb = per_channel ? i / shape->cols : 0;

      /* the weight is its centroid, in both */
      g_assert_cmpfloat (a[i], ==, keep && !keep[i] ? 0.0f : pa->codebooks[cb * k + pa->indices[i]]);
      moved += pa->indices[i] != pb->indices[i];
    }
  if (moved > PALETTE_MAX_MOVED * n)
    g_error ("palette %" G_GSIZE_FORMAT "x%" G_GSIZE_FORMAT " bits %d: %" G_GSIZE_FORMAT
             " of %" G_GSIZE_FORMAT " indices differ", shape->rows, shape->cols, bits, moved, n);
}

static void
test_palette_fast_vs_ref (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (shapes) - 1; s++)
    for (int bits = 1; bits <= 8; bits++)
      for (int per_channel = 0; per_channel <= 1; per_channel++)
        for (int kind = 0; kind < 4; kind++)
          for (int masked = 0; masked <= 1; masked++)
            {
              compare_palette (&shapes[s], bits, per_channel, kind, masked, LATHE_PALETTE_ITERATIONS);
              compare_palette (&shapes[s], bits, per_channel, kind, masked, 0);
            }
  compare_palette (&shapes[G_N_ELEMENTS (shapes) - 1], 4, TRUE, 0, TRUE, LATHE_PALETTE_ITERATIONS);
}

/* ------------------------------------------------------------------------
 * Palette: worked by hand */

/* 1 bit on {0, 1, 2, 10, 11, 12}: centroids start at {0, 12}; 0, 1, 2 go
 * to 0 and 10, 11, 12 to 12; the means {1, 11} are stable. */
static void
test_palette_two_clusters (void)
{
  float w[] = { 0, 1, 2, 10, 11, 12 };
  const float want[] = { 1, 1, 1, 11, 11, 11 };
  const guint16 idx[] = { 0, 0, 0, 1, 1, 1 };
  LatheWeightView v = { w, 1, 6, 1 };
  g_autoptr(LathePalette) p = NULL;

  g_assert_true (lathe_quant_palette (&v, 1, FALSE, LATHE_PALETTE_ITERATIONS, NULL, &p, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (p->indices, sizeof idx, idx, sizeof idx);
  g_assert_cmpfloat (p->codebooks[0], ==, 1.0f);
  g_assert_cmpfloat (p->codebooks[1], ==, 11.0f);
}

/* Ties go to the lower index: {0, 6, 12} with centroids {0, 12} sends 6
 * to centroid 0. With no iteration that is the answer; after one, centroid
 * 0 is mean(0, 6) = 3 and the final assignment is {3, 3, 12}. */
static void
test_palette_ties (void)
{
  float w[] = { 0, 6, 12 };
  float w1[] = { 0, 6, 12 };
  const float want0[] = { 0, 0, 12 };
  const float want1[] = { 3, 3, 12 };
  LatheWeightView v = { w, 1, 3, 1 };
  LatheWeightView v1 = { w1, 1, 3, 1 };

  g_assert_true (lathe_quant_palette (&v, 1, FALSE, 0, NULL, NULL, NULL));
  g_assert_cmpmem (w, sizeof w, want0, sizeof want0);
  g_assert_true (lathe_quant_palette (&v1, 1, FALSE, 1, NULL, NULL, NULL));
  g_assert_cmpmem (w1, sizeof w1, want1, sizeof want1);
}

/* Empty clusters keep their centroid: 2 bits on {0, 0.5, 9.5, 10} start at
 * {0, 10/3, 20/3, 10}; nothing is near the middle two, which stay, while
 * the ends move to 0.25 and 9.75. */
static void
test_palette_empty_cluster (void)
{
  float w[] = { 0.0f, 0.5f, 9.5f, 10.0f };
  LatheWeightView v = { w, 1, 4, 1 };
  g_autoptr(LathePalette) p = NULL;

  g_assert_true (lathe_quant_palette (&v, 2, FALSE, LATHE_PALETTE_ITERATIONS, NULL, &p, NULL));
  g_assert_cmpfloat (p->codebooks[0], ==, 0.25f);
  g_assert_cmpfloat (p->codebooks[1], ==, (float) (10.0 / 3.0));
  g_assert_cmpfloat (p->codebooks[2], ==, (float) (20.0 / 3.0));
  g_assert_cmpfloat (p->codebooks[3], ==, 9.75f);
  g_assert_cmpfloat (w[1], ==, 0.25f);
  g_assert_cmpfloat (w[2], ==, 9.75f);
}

/* Pruned weights are neither clustered nor part of [min, max]; they come
 * out 0 with index 0. Per channel, each row has its own codebook; a row
 * with nothing kept has an all-zero one. */
static void
test_palette_mask_per_channel (void)
{
  float w[] = { -50.0f, 1.0f, 3.0f,
                 10.0f, 20.0f, 99.0f,
                  7.0f, 8.0f, 9.0f };
  const guint8 keep[] = { 0, 1, 1,
                          1, 1, 0,
                          0, 0, 0 };
  const float want[] = { 0, 1, 3,  10, 20, 0,  0, 0, 0 };
  LatheWeightView v = { w, 3, 3, 1 };
  g_autoptr(LathePalette) p = NULL;

  g_assert_true (lathe_quant_palette (&v, 1, TRUE, LATHE_PALETTE_ITERATIONS, keep, &p, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpuint (p->n_codebooks, ==, 3);
  g_assert_cmpfloat (p->codebooks[0], ==, 1.0f);
  g_assert_cmpfloat (p->codebooks[1], ==, 3.0f);
  g_assert_cmpfloat (p->codebooks[2], ==, 10.0f);
  g_assert_cmpfloat (p->codebooks[3], ==, 20.0f);
  g_assert_cmpfloat (p->codebooks[4], ==, 0.0f);
  g_assert_cmpfloat (p->codebooks[5], ==, 0.0f);
  g_assert_cmpuint (p->indices[0], ==, 0);
  g_assert_cmpuint (p->indices[2], ==, 1);
  g_assert_cmpuint (p->indices[5], ==, 0);
}

static void
test_palette_errors (void)
{
  float w[4] = { 0 };
  LatheWeightView v = { w, 1, 4, 1 };
  const int bad[][2] = { { 0, 20 }, { 9, 20 }, { 16, 20 }, { 4, -1 } };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error_ref = NULL;

      g_assert_false (lathe_quant_palette (&v, bad[i][0], FALSE, bad[i][1], NULL, NULL, &error));
      g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
      g_assert_false (lathe_quant_palette_ref (&v, bad[i][0], FALSE, bad[i][1], NULL, NULL, &error_ref));
      g_assert_error (error_ref, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/lathe/engine/compress/quant/uniform/maxabs-fast-vs-ref",
                        GINT_TO_POINTER (LATHE_SCALE_MAXABS), test_uniform_fast_vs_ref);
  g_test_add_data_func ("/lathe/engine/compress/quant/uniform/mse-fast-vs-ref",
                        GINT_TO_POINTER (LATHE_SCALE_MSE), test_uniform_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/symmetric-half-even", test_uniform_symmetric_half_even);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/affine-by-hand", test_uniform_affine_by_hand);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/zero-group", test_uniform_zero_group);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/groups", test_uniform_groups);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/binary", test_uniform_binary);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/mask", test_uniform_mask);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/mse-by-hand", test_uniform_mse_by_hand);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/mse-keeps-maxabs", test_uniform_mse_keeps_maxabs);
  g_test_add_func ("/lathe/engine/compress/quant/uniform/errors", test_uniform_errors);
  g_test_add_func ("/lathe/engine/compress/quant/fp16", test_fp16);
  g_test_add_func ("/lathe/engine/compress/quant/palette/fast-vs-ref", test_palette_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/quant/palette/two-clusters", test_palette_two_clusters);
  g_test_add_func ("/lathe/engine/compress/quant/palette/ties", test_palette_ties);
  g_test_add_func ("/lathe/engine/compress/quant/palette/empty-cluster", test_palette_empty_cluster);
  g_test_add_func ("/lathe/engine/compress/quant/palette/mask-per-channel", test_palette_mask_per_channel);
  g_test_add_func ("/lathe/engine/compress/quant/palette/errors", test_palette_errors);

  return g_test_run ();
}
