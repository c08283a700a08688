/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Pruners (engine/compress/lathe-prune.c): each fast path against its
 * _ref twin on random weights full of ties, then cases worked out by hand,
 * then what must be refused. */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "compress/lathe-prune.h"

/* Pruning is a selection, not arithmetic: fast and ref must agree on every
 * mask bit and every weight, so there is no tolerance. Layer sparsities are
 * ratios of counts, exact in double. */
#define PRUNE_EXACT TRUE

static const double sparsities[] = { 0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0 };

static float *
random_weights (gsize n,
                int   kind)
{
  float *w = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    switch (kind)
      {
      case 0:
        w[i] = (float) g_test_rand_double_range (-1.0, 1.0);
        break;
      case 1:   /* few distinct magnitudes, both signs, ±0: ties everywhere */
        w[i] = (float) (g_test_rand_int_range (-3, 4) * 0.5);
        if (w[i] == 0.0f && g_test_rand_bit ())
          w[i] = -0.0f;
        break;
      default:  /* wide exponent range: every digit of the radix select matters */
        w[i] = (float) (g_test_rand_double_range (-1.0, 1.0) *
                        pow (2.0, g_test_rand_int_range (-60, 60)));
        break;
      }
  return w;
}

static void
assert_same (const float  *a,
             const float  *b,
             const guint8 *ka,
             const guint8 *kb,
             gsize         n,
             const char   *what)
{
  g_assert_true (PRUNE_EXACT);
  for (gsize i = 0; i < n; i++)
    if (a[i] != b[i] || ka[i] != kb[i])
      g_error ("%s: element %" G_GSIZE_FORMAT ": fast %g keep %d, ref %g keep %d",
               what, i, a[i], ka[i], b[i], kb[i]);
}

/* ------------------------------------------------------------------------
 * Magnitude */

static void
test_magnitude_fast_vs_ref (void)
{
  const gsize sizes[] = { 0, 1, 7, 1000, 65537 };

  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int kind = 0; kind < 3; kind++)
      for (guint s = 0; s < G_N_ELEMENTS (sparsities); s++)
        {
          gsize n = sizes[si];
          g_autofree float *a = random_weights (n, kind);
          g_autofree float *b = g_memdup2 (a, MAX (n, 1) * sizeof (float));
          g_autofree guint8 *ka = g_new (guint8, MAX (n, 1));
          g_autofree guint8 *kb = g_new (guint8, MAX (n, 1));
          gsize zeros = 0;

          lathe_prune_magnitude (a, n, sparsities[s], ka);
          lathe_prune_magnitude_ref (b, n, sparsities[s], kb);
          assert_same (a, b, ka, kb, n, "magnitude");
          for (gsize i = 0; i < n; i++)
            zeros += ka[i] == 0;
          g_assert_cmpuint (zeros, ==, lathe_prune_count (sparsities[s], n));
        }
}

static void
test_magnitude_global_fast_vs_ref (void)
{
  for (int kind = 0; kind < 3; kind++)
    for (guint s = 0; s < G_N_ELEMENTS (sparsities); s++)
      {
        const gsize n[] = { 300, 0, 1, 5000 };
        float *a[4], *b[4];
        guint8 *ka[4], *kb[4];
        double sa[4], sb[4];

        for (guint l = 0; l < 4; l++)
          {
            a[l] = random_weights (n[l], kind);
            b[l] = g_memdup2 (a[l], MAX (n[l], 1) * sizeof (float));
            ka[l] = g_new (guint8, MAX (n[l], 1));
            kb[l] = g_new (guint8, MAX (n[l], 1));
          }
        lathe_prune_magnitude_global (a, n, 4, sparsities[s], ka);
        lathe_prune_magnitude_global_ref (b, n, 4, sparsities[s], kb);
        lathe_prune_layer_sparsity (ka, n, 4, sa);
        lathe_prune_layer_sparsity (kb, n, 4, sb);
        for (guint l = 0; l < 4; l++)
          {
            assert_same (a[l], b[l], ka[l], kb[l], n[l], "global");
            g_assert_cmpfloat (sa[l], ==, sb[l]);
            g_free (a[l]);
            g_free (b[l]);
            g_free (ka[l]);
            g_free (kb[l]);
          }
      }
}

/* k = round(s · n), half to even. */
static void
test_count_rounding (void)
{
  g_assert_cmpuint (lathe_prune_count (0.5, 5), ==, 2);     /* 2.5 → 2 */
  g_assert_cmpuint (lathe_prune_count (0.5, 7), ==, 4);     /* 3.5 → 4 */
  g_assert_cmpuint (lathe_prune_count (0.25, 10), ==, 2);   /* 2.5 → 2 */
  g_assert_cmpuint (lathe_prune_count (0.9, 10), ==, 9);
  g_assert_cmpuint (lathe_prune_count (0.0, 10), ==, 0);
  g_assert_cmpuint (lathe_prune_count (1.0, 10), ==, 10);
  g_assert_cmpuint (lathe_prune_count (0.99, 0), ==, 0);
}

/* {0.5, −0.1, 0.3, −0.3, 0.2}: s = 0.5 → k = round(2.5) = 2 → −0.1 and
 * 0.2 go. s = 0.6 → k = 3: then 0.3 and −0.3 tie, the lower index (2)
 * goes first. */
static void
test_magnitude_by_hand (void)
{
  float w[] = { 0.5f, -0.1f, 0.3f, -0.3f, 0.2f };
  float w2[] = { 0.5f, -0.1f, 0.3f, -0.3f, 0.2f };
  const float want[] = { 0.5f, 0.0f, 0.3f, -0.3f, 0.0f };
  const float want2[] = { 0.5f, 0.0f, 0.0f, -0.3f, 0.0f };
  const guint8 keep_want[] = { 1, 0, 1, 1, 0 };
  const guint8 keep2_want[] = { 1, 0, 0, 1, 0 };
  guint8 keep[5], keep2[5];

  lathe_prune_magnitude (w, 5, 0.5, keep);
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (keep, 5, keep_want, 5);
  lathe_prune_magnitude (w2, 5, 0.6, keep2);
  g_assert_cmpmem (w2, sizeof w2, want2, sizeof want2);
  g_assert_cmpmem (keep2, 5, keep2_want, 5);
}

/* Layers {2, 3} and {2, 0.5, 4}: s = 0.4 of 5 → k = 2: 0.5 first, then
 * the tie at 2 goes to layer 0. Layer 0 ends at 1/2 sparse, layer 1 at 1/3. */
static void
test_magnitude_global_by_hand (void)
{
  float l0[] = { 2.0f, 3.0f };
  float l1[] = { 2.0f, 0.5f, 4.0f };
  float *w[] = { l0, l1 };
  const gsize n[] = { 2, 3 };
  guint8 k0[2], k1[3];
  guint8 *keep[] = { k0, k1 };
  double sp[2];

  lathe_prune_magnitude_global (w, n, 2, 0.4, keep);
  g_assert_cmpfloat (l0[0], ==, 0.0f);
  g_assert_cmpfloat (l0[1], ==, 3.0f);
  g_assert_cmpfloat (l1[0], ==, 2.0f);
  g_assert_cmpfloat (l1[1], ==, 0.0f);
  g_assert_cmpint (k0[0], ==, 0);
  g_assert_cmpint (k0[1], ==, 1);
  g_assert_cmpint (k1[0], ==, 1);
  g_assert_cmpint (k1[1], ==, 0);
  g_assert_cmpint (k1[2], ==, 1);
  lathe_prune_layer_sparsity (keep, n, 2, sp);
  g_assert_cmpfloat (sp[0], ==, 0.5);
  g_assert_cmpfloat (sp[1], ==, 1.0 / 3.0);
}

/* ------------------------------------------------------------------------
 * N:M */

static void
test_nm_fast_vs_ref (void)
{
  const int pairs[][2] = { { 2, 4 }, { 4, 8 }, { 1, 2 }, { 1, 16 }, { 3, 16 }, { 15, 16 }, { 2, 3 } };

  for (guint p = 0; p < G_N_ELEMENTS (pairs); p++)
    for (int kind = 0; kind < 3; kind++)
      {
        int nn = pairs[p][0], m = pairs[p][1];
        gsize rows = 9, cols = (gsize) m * 12, total = rows * cols;
        g_autofree float *a = random_weights (total, kind);
        g_autofree float *b = g_memdup2 (a, total * sizeof (float));
        g_autofree guint8 *ka = g_new (guint8, total);
        g_autofree guint8 *kb = g_new (guint8, total);
        LatheWeightView va = { a, rows, cols, 1 }, vb = { b, rows, cols, 1 };

        g_assert_true (lathe_prune_nm (&va, nn, m, ka, NULL));
        g_assert_true (lathe_prune_nm_ref (&vb, nn, m, kb, NULL));
        assert_same (a, b, ka, kb, total, "nm");
        for (gsize g = 0; g < total; g += m)
          {
            int kept = 0;

            for (int i = 0; i < m; i++)
              kept += ka[g + i];
            g_assert_cmpint (kept, ==, nn);
          }
      }
}

/* 2:4 on one row of two groups. {1, −3, 2, 2}: −3 stays, then 2 and 2
 * tie — the lower index (2) stays. {0, 0, 0, 0}: the first two stay. */
static void
test_nm_by_hand (void)
{
  float w[] = { 1.0f, -3.0f, 2.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f };
  const float want[] = { 0.0f, -3.0f, 2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f };
  const guint8 keep_want[] = { 0, 1, 1, 0, 1, 1, 0, 0 };
  guint8 keep[8];
  LatheWeightView v = { w, 1, 8, 1 };

  g_assert_true (lathe_prune_nm (&v, 2, 4, keep, NULL));
  g_assert_cmpmem (w, sizeof w, want, sizeof want);
  g_assert_cmpmem (keep, 8, keep_want, 8);
}

static void
test_nm_errors (void)
{
  float w[300];
  float copy[300];
  LatheWeightView v = { w, 2, 150, 1 };
  const int bad[][2] = { { 4, 4 }, { 0, 4 }, { 2, 17 }, { 5, 4 }, { -1, 2 } };
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 300; i++)
    w[i] = (float) i;
  memcpy (copy, w, sizeof w);

  g_assert_false (lathe_prune_nm (&v, 2, 4, NULL, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "the input axis has 150 elements, not a multiple of M = 4");
  g_assert_cmpmem (w, sizeof w, copy, sizeof copy);
  g_clear_error (&error);
  g_assert_false (lathe_prune_nm_ref (&v, 2, 4, NULL, &error));
  g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (lathe_prune_nm (&v, bad[i][0], bad[i][1], NULL, &error));
      g_assert_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID);
      g_clear_error (&error);
    }
  g_assert_cmpmem (w, sizeof w, copy, sizeof copy);
}

/* ------------------------------------------------------------------------
 * Channels */

static void
test_channel_fast_vs_ref (void)
{
  for (int kind = 0; kind < 3; kind++)
    for (int norm = LATHE_NORM_L1; norm <= LATHE_NORM_L2; norm++)
      for (guint s = 0; s < G_N_ELEMENTS (sparsities); s++)
        {
          gsize rows = 37, cols = 20, total = rows * cols;
          g_autofree float *a = random_weights (total, kind);
          g_autofree float *b = NULL;
          g_autofree guint8 *ka = g_new (guint8, rows);
          g_autofree guint8 *kb = g_new (guint8, rows);
          LatheWeightView va = { a, rows, cols, 1 }, vb;
          gsize pruned = 0;

          /* duplicate rows: equal norms */
          memcpy (a + 5 * cols, a + 2 * cols, cols * sizeof (float));
          memcpy (a + 30 * cols, a + 2 * cols, cols * sizeof (float));
          b = g_memdup2 (a, total * sizeof (float));
          vb = (LatheWeightView) { b, rows, cols, 1 };
          lathe_prune_channel (&va, sparsities[s], norm, ka);
          lathe_prune_channel_ref (&vb, sparsities[s], norm, kb);
          g_assert_cmpmem (a, total * sizeof (float), b, total * sizeof (float));
          g_assert_cmpmem (ka, rows, kb, rows);
          for (gsize r = 0; r < rows; r++)
            pruned += ka[r] == 0;
          g_assert_cmpuint (pruned, ==, lathe_prune_count (sparsities[s], rows));
        }
}

/* L1 norms {3, 1, 2, 1}: s = 0.5 → k = 2 → rows 1 and 3; s = 0.25 → k = 1
 * → row 1 (the tie with row 3 prunes the lower index). Rows {3, 0} and
 * {2, 2}: L1 3 < 4 prunes the first, L2² 9 > 8 prunes the second. */
static void
test_channel_by_hand (void)
{
  float w[] = { 3, 0,  1, 0,  1, 1,  0, -1 };
  float w2[] = { 3, 0,  1, 0,  1, 1,  0, -1 };
  float ab[] = { 3, 0,  2, 2 };
  float ab2[] = { 3, 0,  2, 2 };
  LatheWeightView v = { w, 4, 2, 1 }, v2 = { w2, 4, 2, 1 };
  LatheWeightView vab = { ab, 2, 2, 1 }, vab2 = { ab2, 2, 2, 1 };
  guint8 keep[4], keep2[4], kab[2], kab2[2];
  const guint8 keep_want[] = { 1, 0, 1, 0 };
  const guint8 keep2_want[] = { 1, 0, 1, 1 };

  lathe_prune_channel (&v, 0.5, LATHE_NORM_L1, keep);
  g_assert_cmpmem (keep, 4, keep_want, 4);
  g_assert_cmpfloat (w[2], ==, 0.0f);
  g_assert_cmpfloat (w[7], ==, 0.0f);
  g_assert_cmpfloat (w[4], ==, 1.0f);
  lathe_prune_channel (&v2, 0.25, LATHE_NORM_L1, keep2);
  g_assert_cmpmem (keep2, 4, keep2_want, 4);

  lathe_prune_channel (&vab, 0.5, LATHE_NORM_L1, kab);
  g_assert_cmpint (kab[0], ==, 0);
  g_assert_cmpint (kab[1], ==, 1);
  lathe_prune_channel (&vab2, 0.5, LATHE_NORM_L2, kab2);
  g_assert_cmpint (kab2[0], ==, 1);
  g_assert_cmpint (kab2[1], ==, 0);
  g_assert_cmpfloat (ab2[2], ==, 0.0f);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/compress/prune/count-rounding", test_count_rounding);
  g_test_add_func ("/lathe/engine/compress/prune/magnitude/fast-vs-ref", test_magnitude_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/prune/magnitude/by-hand", test_magnitude_by_hand);
  g_test_add_func ("/lathe/engine/compress/prune/magnitude/global-fast-vs-ref", test_magnitude_global_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/prune/magnitude/global-by-hand", test_magnitude_global_by_hand);
  g_test_add_func ("/lathe/engine/compress/prune/nm/fast-vs-ref", test_nm_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/prune/nm/by-hand", test_nm_by_hand);
  g_test_add_func ("/lathe/engine/compress/prune/nm/errors", test_nm_errors);
  g_test_add_func ("/lathe/engine/compress/prune/channel/fast-vs-ref", test_channel_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/prune/channel/by-hand", test_channel_by_hand);

  return g_test_run ();
}
