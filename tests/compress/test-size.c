/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Packed sizes (engine/compress/lathe-size.c): the sparse index against
 * its position-by-position _ref twin, then tensors worked out by hand —
 * the arithmetic is in the comments, with the layout table of
 * lathe-size.h. */

#include <string.h>

#include "compress/lathe-size.h"

/* Sizes are integer counts: fast and ref agree exactly. */
#define SIZE_EXACT TRUE

static void
test_sparse_index_fast_vs_ref (void)
{
  const gsize sizes[] = { 0, 1, 8, 33, 1000, 70000 };
  const double densities[] = { 0.0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.999, 1.0 };
  const int value_bits[] = { 32, 16, 8, 4, 3, 1 };

  g_assert_true (SIZE_EXACT);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint di = 0; di < G_N_ELEMENTS (densities); di++)
      for (guint vi = 0; vi < G_N_ELEMENTS (value_bits); vi++)
        for (int clustered = 0; clustered <= 1; clustered++)
          {
            gsize n = sizes[si], sa = 0, sb = 0;
            g_autofree guint8 *keep = g_new (guint8, MAX (n, 1));
            int ka = -2, kb = -2;
            guint64 a, b;

            for (gsize i = 0; i < n; i++)
              keep[i] = g_test_rand_double () < densities[di];
            if (clustered && n > 10)
              /* long runs of zeros: fillers for small k */
              memset (keep + n / 10, 0, n / 2);
            a = lathe_size_sparse_index (keep, n, value_bits[vi], &sa, &ka);
            b = lathe_size_sparse_index_ref (keep, n, value_bits[vi], &sb, &kb);
            if (a != b || sa != sb || ka != kb)
              g_error ("n %" G_GSIZE_FORMAT " density %g bits %d: fast %" G_GUINT64_FORMAT
                       " bytes, %" G_GSIZE_FORMAT " stored, k %d; ref %" G_GUINT64_FORMAT
                       " bytes, %" G_GSIZE_FORMAT " stored, k %d",
                       n, densities[di], value_bits[vi], a, sa, ka, b, sb, kb);
          }
}

/* n = 1000, 8-bit codes. Kept: 0, 2, 4, …, 98 (50 entries, gaps 0 then 1
 * × 49) and 999 (gap 999 − 98 − 1 = 900): nnz 51.
 * fillers(k) = ⌊900 / 2^k⌋ (gaps of 1 need none):
 *   k:        1    2    3    4    5    6    7    8    9   10   11
 *   fillers 450  225  112   56   28   14    7    3    1    0    0
 *   entries 501  276  163  107   79   65   58   54   52   51   51
 *   index    63   69   62   54   50   49   51   54   59   64   71   ⌈entries·k/8⌉
 *   values  501  276  163  107   79   65   58   54   52   51   51   ⌈entries·8/8⌉
 *   total   564  345  225  161  129  114  109  108  111  115  122
 * Best k = 8: 54 entries (3 fillers), index 54 bytes, total 108.
 * Bitmask: ⌈1000/8⌉ = 125 + 51 = 176. Relative wins. */
static void
test_sparse_index_fillers (void)
{
  guint8 keep[1000] = { 0 };
  LatheSizeSpec spec = { 0 };
  LatheSizeBreakdown b;
  gsize stored;
  int k;

  for (int p = 0; p <= 98; p += 2)
    keep[p] = 1;
  keep[999] = 1;
  g_assert_cmpuint (lathe_size_sparse_index (keep, 1000, 8, &stored, &k), ==, 54);
  g_assert_cmpint (k, ==, 8);
  g_assert_cmpuint (stored, ==, 54);

  /* as an 8-bit per-tensor symmetric tensor: codes ⌈54·8/8⌉ = 54, one
   * scale 4, index 54 → 112 */
  spec.n = 1000;
  spec.value_bits = 8;
  spec.kind = LATHE_SIZE_UNIFORM;
  spec.n_scales = 1;
  spec.pruned = TRUE;
  spec.pattern = LATHE_PATTERN_UNSTRUCTURED;
  spec.keep = keep;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 112);
  g_assert_cmpuint (b.codes, ==, 54);
  g_assert_cmpuint (b.scales, ==, 4);
  g_assert_cmpuint (b.zero_points, ==, 0);
  g_assert_cmpuint (b.index, ==, 54);
  g_assert_cmpuint (b.values, ==, 0);
  g_assert_cmpuint (b.n_stored, ==, 54);
  g_assert_cmpstr (b.index_kind, ==, "relative k=8");
}

/* Ties between k go to the smaller k. n = 64, 8-bit values, kept 0 and 63
 * (gap 62):
 *   k:        1    2    3    4    5    6    7    8    9
 *   fillers  31   15    7    3    1    0    0    0    0
 *   entries  33   17    9    5    3    2    2    2    2
 *   index     5    5    4    3    2    2    2    2    3
 *   total    38   22   13    8    5    4    4    4    5
 * k = 6, 7 and 8 all total 4: k = 6. Bitmask: 8 + 2 = 10.
 * Ties between the bitmask and the best k go to the bitmask: n = 8,
 * float32, all kept but position 3: bitmask 1 + 7·4 = 29; k = 1: the
 * gap of 1 needs no filler, 7 entries, ⌈7/8⌉ = 1 + 28 = 29. */
static void
test_sparse_index_ties (void)
{
  guint8 keep[64] = { 0 };
  const guint8 keep8[8] = { 1, 1, 1, 0, 1, 1, 1, 1 };
  gsize stored;
  int k;

  keep[0] = keep[63] = 1;
  g_assert_cmpuint (lathe_size_sparse_index (keep, 64, 8, &stored, &k), ==, 2);
  g_assert_cmpint (k, ==, 6);
  g_assert_cmpuint (stored, ==, 2);

  g_assert_cmpuint (lathe_size_sparse_index (keep8, 8, 32, &stored, &k), ==, 1);
  g_assert_cmpint (k, ==, 0);
  g_assert_cmpuint (stored, ==, 7);
}

/* Nothing pruned: no index. float32 10 × 10: 4 · 100 = 400; float16 200.
 * 4-bit per-channel symmetric: codes ⌈100·4/8⌉ = 50, scales 10 · 4 = 40
 * → 90; affine adds zero points ⌈10·4/8⌉ = 5 → 95. 3-bit codes round up:
 * ⌈100·3/8⌉ = ⌈37.5⌉ = 38. */
static void
test_dense (void)
{
  guint8 all[100];
  LatheSizeSpec spec = { .n = 100, .rows = 10, .cols = 10, .value_bits = 32,
                         .kind = LATHE_SIZE_DENSE };
  LatheSizeBreakdown b;
  gsize stored;
  int k;

  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 400);
  g_assert_cmpuint (b.values, ==, 400);
  g_assert_cmpuint (b.index, ==, 0);
  g_assert_cmpstr (b.index_kind, ==, "none");

  /* sparsity 0 with the unstructured pattern: an all-ones mask */
  memset (all, 1, sizeof all);
  spec.pruned = TRUE;
  spec.pattern = LATHE_PATTERN_UNSTRUCTURED;
  spec.keep = all;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 400);
  g_assert_cmpstr (b.index_kind, ==, "none");
  g_assert_cmpuint (b.n_stored, ==, 100);
  g_assert_cmpuint (lathe_size_sparse_index (all, 100, 32, &stored, &k), ==, 0);
  g_assert_cmpint (k, ==, -1);
  g_assert_cmpuint (stored, ==, 100);
  spec.pruned = FALSE;

  spec.value_bits = 16;
  g_assert_cmpuint (lathe_size_tensor (&spec, NULL), ==, 200);

  spec.kind = LATHE_SIZE_UNIFORM;
  spec.value_bits = 4;
  spec.n_scales = 10;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 90);
  g_assert_cmpuint (b.codes, ==, 50);
  g_assert_cmpuint (b.scales, ==, 40);
  spec.affine = TRUE;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 95);
  g_assert_cmpuint (b.zero_points, ==, 5);
  spec.affine = FALSE;
  spec.value_bits = 3;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 38 + 40);
  g_assert_cmpuint (b.codes, ==, 38);
}

/* 2:4 on 8 × 16: 128 weights, 32 groups, 64 kept. Index: 64 indices of
 * ⌈log2 4⌉ = 2 bits = 128 bits = 16 bytes. float32: 64 · 4 = 256 + 16 =
 * 272. 4-bit per-channel: codes ⌈64·4/8⌉ = 32, scales 8 · 4 = 32, index 16
 * → 80. 4:8 needs 3 bits: 64 · 3 = 192 bits = 24 bytes. */
static void
test_nm (void)
{
  LatheSizeSpec spec = { .n = 128, .rows = 8, .cols = 16, .value_bits = 32,
                         .kind = LATHE_SIZE_DENSE, .pruned = TRUE,
                         .pattern = LATHE_PATTERN_NM, .nm_n = 2, .nm_m = 4 };
  LatheSizeBreakdown b;

  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 272);
  g_assert_cmpuint (b.n_stored, ==, 64);
  g_assert_cmpuint (b.index, ==, 16);
  g_assert_cmpuint (b.values, ==, 256);
  g_assert_cmpstr (b.index_kind, ==, "nm");

  spec.kind = LATHE_SIZE_UNIFORM;
  spec.value_bits = 4;
  spec.n_scales = 8;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 80);
  g_assert_cmpuint (b.codes, ==, 32);

  spec.nm_n = 4;
  spec.nm_m = 8;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 32 + 32 + 24);
  g_assert_cmpuint (b.index, ==, 24);
}

/* Channels on 10 rows × 9, 7 kept: bitmask ⌈10/8⌉ = 2. float32: 7 · 9 · 4
 * = 252 + 2 = 254. 8-bit per-channel, scales for kept rows only (the
 * caller passes 7): codes 63, scales 28, index 2 → 93; affine adds 7 zero
 * points of 8 bits → 100. All 10 kept: no index, 360. */
static void
test_channel (void)
{
  LatheSizeSpec spec = { .n = 90, .rows = 10, .cols = 9, .value_bits = 32,
                         .kind = LATHE_SIZE_DENSE, .pruned = TRUE,
                         .pattern = LATHE_PATTERN_CHANNEL, .kept_rows = 7 };
  LatheSizeBreakdown b;

  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 254);
  g_assert_cmpuint (b.index, ==, 2);
  g_assert_cmpuint (b.n_stored, ==, 63);
  g_assert_cmpstr (b.index_kind, ==, "channel");

  spec.kind = LATHE_SIZE_UNIFORM;
  spec.value_bits = 8;
  spec.n_scales = 7;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 93);
  g_assert_cmpuint (b.codes, ==, 63);
  g_assert_cmpuint (b.scales, ==, 28);
  spec.affine = TRUE;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 100);

  spec.kind = LATHE_SIZE_DENSE;
  spec.value_bits = 32;
  spec.affine = FALSE;
  spec.kept_rows = 10;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 360);
  g_assert_cmpstr (b.index_kind, ==, "none");
}

/* Palette 2-bit per channel on 4 × 8: codes ⌈32·2/8⌉ = 8, four codebooks
 * of 2² float32 = 4 · 4 · 4 = 64 → 72. 4-bit per tensor, same mask-free
 * tensor: codes 16 + 16 · 4 = 64 → 80. */
static void
test_palette (void)
{
  LatheSizeSpec spec = { .n = 32, .rows = 4, .cols = 8, .value_bits = 2,
                         .kind = LATHE_SIZE_PALETTE, .n_codebooks = 4 };
  LatheSizeBreakdown b;

  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 72);
  g_assert_cmpuint (b.codes, ==, 8);
  g_assert_cmpuint (b.codebooks, ==, 64);
  spec.value_bits = 4;
  spec.n_codebooks = 1;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 80);
}

/* A sparse float32 tensor stores values the same way as codes: n = 16,
 * kept {0, 15} (gap 14), float32:
 *   k = 3: 1 filler, 3 entries, index ⌈9/8⌉ = 2, values 12 → 14
 *   k = 4: 0 fillers, 2 entries, index 1, values 8 → 9 (best)
 * bitmask 2 + 8 = 10 → relative k = 4, total 9. */
static void
test_sparse_float (void)
{
  guint8 keep[16] = { 0 };
  LatheSizeSpec spec = { .n = 16, .rows = 1, .cols = 16, .value_bits = 32,
                         .kind = LATHE_SIZE_DENSE, .pruned = TRUE,
                         .pattern = LATHE_PATTERN_UNSTRUCTURED, .keep = keep };
  LatheSizeBreakdown b;

  keep[0] = keep[15] = 1;
  g_assert_cmpuint (lathe_size_tensor (&spec, &b), ==, 9);
  g_assert_cmpuint (b.values, ==, 8);
  g_assert_cmpuint (b.index, ==, 1);
  g_assert_cmpstr (b.index_kind, ==, "relative k=4");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/compress/size/sparse-index/fast-vs-ref", test_sparse_index_fast_vs_ref);
  g_test_add_func ("/lathe/engine/compress/size/sparse-index/fillers", test_sparse_index_fillers);
  g_test_add_func ("/lathe/engine/compress/size/sparse-index/ties", test_sparse_index_ties);
  g_test_add_func ("/lathe/engine/compress/size/dense", test_dense);
  g_test_add_func ("/lathe/engine/compress/size/nm", test_nm);
  g_test_add_func ("/lathe/engine/compress/size/channel", test_channel);
  g_test_add_func ("/lathe/engine/compress/size/palette", test_palette);
  g_test_add_func ("/lathe/engine/compress/size/sparse-float", test_sparse_float);

  return g_test_run ();
}
