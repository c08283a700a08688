/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Convolution, pooling and padding (engine/kernels/lathe-ops-conv.c,
 * -pool.c, -pad.c): each fast kernel against its scalar _ref twin over
 * many geometries, then Conv, MaxPool, AveragePool, GlobalAveragePool and
 * Pad through their LatheOpDefs the way the executor drives them,
 * including the attribute forms of old opsets and what must be refused.
 * (Timings live in the engine benchmark, tests/bench.) */

#include <math.h>
#include <string.h>

#include "core/lathe-error.h"
#include "graph/lathe-op.h"
#include "kernels/lathe-conv.h"

/* fast vs _ref: GEMM and the direct kernel sum in float, in another
 * order than the double accumulation of the _ref loops */
#define CONV_RTOL    1e-5
#define CONV_ATOL    1e-5
#define POOL_RTOL    1e-6
#define POOL_ATOL    1e-6
/* op results vs hand-computed values */
#define OP_ATOL      1e-5

static void
assert_close (const float *got,
              const float *want,
              gsize        n,
              double       rtol,
              double       atol,
              const char  *what)
{
  for (gsize i = 0; i < n; i++)
    {
      double g = got[i], w = want[i];
      if (isinf (w) && g == w)
        continue;
      if (!(fabs (g - w) <= atol + rtol * fabs (w)))
        g_error ("%s: element %" G_GSIZE_FORMAT ": got %.9g, want %.9g (rtol %g, atol %g)",
                 what, i, g, w, rtol, atol);
    }
}

static void
fill_random (float *x,
             gsize  n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_test_rand_double_range (-1.0, 1.0);
}

/* One geometry: spatial rank, sizes, window. Unused leading axes keep the
 * neutral values from lathe_conv_shape_init. */
typedef struct {
  const char *name;
  guint  n_spatial;
  gint64 batch, c_in, c_out, group;
  gint64 in[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
  gboolean ceil_mode;
} Geometry;

static const Geometry conv_cases[] = {
  { "2d-plain",       2, 2, 3, 4, 1, { 7, 5 }, { 3, 2 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-pad",         2, 2, 3, 4, 1, { 6, 6 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "2d-asym-pad",    2, 1, 2, 3, 1, { 7, 5 }, { 3, 3 }, { 2, 2 }, { 1, 1 }, { 1, 0 }, { 1, 0 } },
  { "2d-big-pad",     2, 1, 2, 3, 1, { 4, 5 }, { 3, 3 }, { 1, 2 }, { 1, 1 }, { 3, 4 }, { 2, 5 } },
  { "2d-stride",      2, 2, 3, 4, 1, { 9, 8 }, { 3, 3 }, { 2, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "2d-dilated",     2, 2, 3, 2, 1, { 8, 8 }, { 3, 3 }, { 2, 2 }, { 2, 2 }, { 1, 1 }, { 1, 1 } },
  { "2d-groups",      2, 2, 4, 6, 2, { 6, 5 }, { 3, 2 }, { 1, 1 }, { 1, 1 }, { 0, 1 }, { 1, 0 } },
  { "2d-pointwise",   2, 3, 8, 5, 1, { 6, 7 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-1x1-strided", 2, 2, 4, 3, 1, { 7, 7 }, { 1, 1 }, { 2, 2 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-1x1-groups",  2, 2, 6, 4, 2, { 5, 5 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-lenet1",      2, 3, 1, 6, 1, { 28, 28 }, { 5, 5 }, { 1, 1 }, { 1, 1 }, { 2, 2 }, { 2, 2 } },
  { "2d-lenet2",      2, 2, 6, 16, 1, { 14, 14 }, { 5, 5 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "depthwise",      2, 2, 4, 4, 4, { 6, 6 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "depthwise-x2",   2, 2, 4, 8, 4, { 6, 7 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 0, 2 }, { 1, 0 } },
  { "depthwise-s2",   2, 1, 5, 5, 5, { 9, 20 }, { 3, 3 }, { 2, 2 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "depthwise-dil",  2, 1, 3, 6, 3, { 9, 9 }, { 3, 3 }, { 1, 2 }, { 2, 3 }, { 2, 2 }, { 2, 2 } },
  { "depthwise-wide", 2, 1, 2, 2, 2, { 5, 40 }, { 3, 5 }, { 1, 1 }, { 1, 1 }, { 1, 2 }, { 1, 2 } },
  { "1d",             1, 2, 4, 5, 1, { 10 }, { 3 }, { 1 }, { 1 }, { 1 }, { 1 } },
  { "1d-dilated",     1, 2, 4, 5, 1, { 10 }, { 3 }, { 2 }, { 2 }, { 0 }, { 2 } },
  { "1d-depthwise",   1, 2, 4, 4, 4, { 12 }, { 5 }, { 1 }, { 1 }, { 2 }, { 2 } },
  { "3d",             3, 2, 3, 4, 1, { 3, 4, 5 }, { 2, 3, 4 }, { 1, 1, 1 }, { 1, 1, 1 }, { 0, 1, 1 }, { 1, 0, 2 } },
  { "3d-strided",     3, 1, 3, 4, 1, { 5, 5, 5 }, { 2, 2, 2 }, { 2, 2, 2 }, { 2, 1, 2 }, { 1, 1, 1 }, { 1, 1, 1 } },
  { "3d-groups",      3, 2, 4, 6, 2, { 4, 5, 4 }, { 3, 3, 3 }, { 1, 1, 1 }, { 1, 1, 1 }, { 0, 0, 0 }, { 0, 0, 0 } },
  { "3d-depthwise",   3, 1, 3, 6, 3, { 4, 5, 6 }, { 3, 3, 3 }, { 1, 2, 1 }, { 1, 1, 1 }, { 1, 1, 1 }, { 1, 1, 1 } },
  /* wider than the kernels' per-tap range tables */
  { "1d-dw-long",     1, 1, 2, 2, 2, { 40 }, { 19 }, { 2 }, { 1 }, { 9 }, { 9 } },
  { "1d-long",        1, 2, 3, 2, 1, { 40 }, { 19 }, { 1 }, { 2 }, { 20 }, { 20 } },
  /* direct kernel: channels that leave part of a tile block, odd and
   * one-row planes, uneven pads, dilation, groups, the tap limit */
  { "direct-odd",     2, 3, 3, 13, 1, { 11, 9 }, { 3, 5 }, { 1, 1 }, { 1, 1 }, { 1, 2 }, { 0, 1 } },
  { "direct-groups",  2, 2, 6, 15, 3, { 9, 10 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "direct-dilated", 2, 2, 4, 7, 1, { 12, 13 }, { 3, 3 }, { 1, 1 }, { 2, 3 }, { 2, 0 }, { 1, 3 } },
  { "direct-row",     2, 2, 2, 9, 1, { 1, 37 }, { 1, 4 }, { 1, 1 }, { 1, 1 }, { 0, 2 }, { 0, 1 } },
  { "direct-wide",    2, 1, 5, 20, 1, { 6, 70 }, { 2, 3 }, { 1, 1 }, { 1, 1 }, { 0, 1 }, { 1, 1 } },
  { "direct-max-k",   2, 1, 28, 8, 1, { 7, 8 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "direct-over-k",  2, 1, 29, 8, 1, { 7, 8 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "direct-3d-pad",  3, 2, 2, 6, 1, { 3, 6, 12 }, { 2, 3, 3 }, { 1, 1, 1 }, { 1, 1, 1 }, { 1, 1, 0 }, { 0, 1, 2 } },
  /* direct kernel with the batch on the vector lanes: small planes, a
   * last group of images that leaves lanes empty, rows narrower than some
   * tiles and not a multiple of others */
  { "lanes-lenet2",   2, 37, 6, 16, 1, { 14, 14 }, { 5, 5 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "lanes-pad-odd",  2, 35, 8, 10, 1, { 9, 11 }, { 3, 5 }, { 1, 1 }, { 1, 1 }, { 1, 2 }, { 0, 2 } },
  { "lanes-groups",   2, 18, 12, 12, 2, { 8, 9 }, { 3, 3 }, { 1, 1 }, { 2, 2 }, { 2, 1 }, { 2, 1 } },
  { "lanes-3d",       3, 33, 6, 8, 1, { 3, 5, 6 }, { 2, 3, 3 }, { 1, 1, 1 }, { 1, 1, 1 }, { 1, 0, 1 }, { 0, 1, 1 } },
  { "lanes-1d",       1, 20, 3, 8, 1, { 9 }, { 5 }, { 1 }, { 1 }, { 2 }, { 2 } },
  { "lanes-narrow",   2, 40, 16, 8, 1, { 6, 4 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "lanes-wide-k",   2, 47, 12, 8, 1, { 7, 9 }, { 4, 4 }, { 1, 1 }, { 1, 1 }, { 1, 2 }, { 2, 1 } },
};

static void
geometry_to_shape (const Geometry *g,
                   LatheConvShape *s)
{
  guint off = LATHE_CONV_MAX_SPATIAL - g->n_spatial;

  lathe_conv_shape_init (s);
  s->batch = g->batch;
  s->channels_in = g->c_in;
  s->channels_out = g->c_out;
  s->group = g->group;
  for (guint i = 0; i < g->n_spatial; i++)
    {
      s->in[off + i] = g->in[i];
      s->kernel[off + i] = g->kernel[i];
      s->stride[off + i] = g->stride[i];
      s->dilation[off + i] = g->dilation[i];
      s->pad_begin[off + i] = g->pad_begin[i];
      s->pad_end[off + i] = g->pad_end[i];
    }
  g_assert_true (lathe_conv_shape_compute_out (s, g->ceil_mode));
}

/* ------------------------------------------------------------------------
 * fast vs _ref */

static void
test_im2col_vs_ref (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (conv_cases); k++)
    {
      LatheConvShape s;
      gint64 channels, rows, n_col, n_in;

      geometry_to_shape (&conv_cases[k], &s);
      channels = s.channels_in / s.group;
      rows = channels * lathe_conv_shape_kernel_size (&s);
      n_col = rows * lathe_conv_shape_out_size (&s);
      n_in = channels * lathe_conv_shape_in_size (&s);

      {
        g_autofree float *x = g_new (float, n_in);
        g_autofree float *fast = g_new (float, n_col);
        g_autofree float *ref = g_new (float, n_col);
        g_autofree float *back = g_new0 (float, n_in);
        g_autofree float *back_ref = g_new0 (float, n_in);

        fill_random (x, n_in);
        /* poison: every entry must be written */
        memset (fast, 0xff, n_col * sizeof (float));
        lathe_im2col_f32 (&s, channels, x, fast);
        lathe_im2col_f32_ref (&s, channels, x, ref);
        if (memcmp (fast, ref, n_col * sizeof (float)) != 0)
          g_error ("im2col %s differs from the reference", conv_cases[k].name);

        lathe_col2im_f32 (&s, channels, ref, back);
        lathe_col2im_f32_ref (&s, channels, ref, back_ref);
        assert_close (back, back_ref, n_in, CONV_RTOL, CONV_ATOL, conv_cases[k].name);
      }
    }
}

static void
run_conv_case (const Geometry *g,
               gboolean        with_bias)
{
  LatheConvShape s;
  gint64 n_x, n_w, n_y;
  gsize ws_size;

  geometry_to_shape (g, &s);
  n_x = s.batch * s.channels_in * lathe_conv_shape_in_size (&s);
  n_w = s.channels_out * (s.channels_in / s.group) * lathe_conv_shape_kernel_size (&s);
  n_y = s.batch * s.channels_out * lathe_conv_shape_out_size (&s);
  ws_size = lathe_conv_workspace_size (&s);

  {
    g_autofree float *x = g_new (float, n_x);
    g_autofree float *w = g_new (float, n_w);
    g_autofree float *b = g_new (float, s.channels_out);
    g_autofree float *fast = g_new (float, n_y);
    g_autofree float *ref = g_new (float, n_y);
    gpointer ws = ws_size > 0 ? lathe_aligned_alloc0 (ws_size) : NULL;
    g_autofree char *what = g_strdup_printf ("conv %s%s", g->name, with_bias ? "" : " (no bias)");

    fill_random (x, n_x);
    fill_random (w, n_w);
    fill_random (b, s.channels_out);
    memset (fast, 0xff, n_y * sizeof (float));
    lathe_conv_f32 (&s, x, w, with_bias ? b : NULL, fast, ws);
    lathe_conv_f32_ref (&s, x, w, with_bias ? b : NULL, ref);
    assert_close (fast, ref, n_y, CONV_RTOL, CONV_ATOL, what);

    if (lathe_conv_is_depthwise (&s))
      {
        g_assert_cmpuint (ws_size, ==, 0);
        lathe_conv_depthwise_f32_ref (&s, x, w, with_bias ? b : NULL, fast);
        assert_close (fast, ref, n_y, CONV_RTOL, CONV_ATOL, what);
      }
    if (lathe_conv_is_pointwise (&s))
      g_assert_cmpuint (ws_size, ==, 0);
    lathe_aligned_free (ws);

    /* The direct kernel with every instruction set this CPU runs, not
     * only the one lathe_conv_f32 picked. Poisoned scratch: the pads it
     * reads must be its own zeros. */
    for (LatheConvSimd simd = LATHE_CONV_SIMD_AVX2; simd <= lathe_conv_simd_detect (); simd++)
      {
        gsize direct_size = lathe_conv_direct_workspace_size (&s, simd);

        if (!lathe_conv_is_direct (&s, simd))
          {
            g_assert_cmpuint (direct_size, ==, 0);
            continue;
          }
        ws = lathe_aligned_alloc (direct_size);
        memset (ws, 0xff, direct_size);
        memset (fast, 0xff, n_y * sizeof (float));
        lathe_conv_direct_f32 (&s, simd, x, w, with_bias ? b : NULL, fast, ws);
        assert_close (fast, ref, n_y, CONV_RTOL, CONV_ATOL, what);
        lathe_aligned_free (ws);
      }
  }
}

static void
test_conv_vs_ref (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (conv_cases); k++)
    {
      run_conv_case (&conv_cases[k], TRUE);
      run_conv_case (&conv_cases[k], FALSE);
    }
}

static void
test_depthwise_dispatch (void)
{
  LatheConvShape s;

  geometry_to_shape (&conv_cases[13], &s);   /* depthwise-x2 */
  g_assert_true (lathe_conv_is_depthwise (&s));
  geometry_to_shape (&conv_cases[6], &s);    /* 2d-groups */
  g_assert_false (lathe_conv_is_depthwise (&s));
  geometry_to_shape (&conv_cases[10], &s);   /* lenet1: C_in = group = 1 is a plain conv */
  g_assert_false (lathe_conv_is_depthwise (&s));
  g_assert_false (lathe_conv_is_pointwise (&s));
  geometry_to_shape (&conv_cases[7], &s);    /* pointwise */
  g_assert_true (lathe_conv_is_pointwise (&s));
  geometry_to_shape (&conv_cases[8], &s);    /* 1x1 strided needs im2col */
  g_assert_false (lathe_conv_is_pointwise (&s));
}

static const Geometry *
find_conv_case (const char *name)
{
  for (guint k = 0; k < G_N_ELEMENTS (conv_cases); k++)
    if (g_str_equal (conv_cases[k].name, name))
      return &conv_cases[k];
  g_assert_not_reached ();
}

static void
test_direct_dispatch (void)
{
  const char *direct[] = { "2d-lenet1", "2d-lenet2", "2d-pad", "1d", "direct-odd",
                           "direct-groups", "direct-dilated", "direct-row", "direct-wide",
                           "direct-max-k", "direct-3d-pad" };
  const char *not_direct[] = { "2d-stride", "2d-1x1-strided", "2d-pointwise", "depthwise",
                               "direct-over-k" };
  LatheConvSimd best = lathe_conv_simd_detect ();
  LatheConvShape s;

  for (guint i = 0; i < G_N_ELEMENTS (direct); i++)
    {
      geometry_to_shape (find_conv_case (direct[i]), &s);
      g_assert_false (lathe_conv_is_direct (&s, LATHE_CONV_SIMD_NONE));
      /* up to what the CPU runs; off x86-64 there are no tiles */
      for (LatheConvSimd simd = LATHE_CONV_SIMD_AVX2; simd <= best; simd++)
        {
          g_assert_true (lathe_conv_is_direct (&s, simd));
          g_assert_cmpuint (lathe_conv_direct_workspace_size (&s, simd), >, 0);
        }
      /* lathe_conv_f32 takes it where the CPU allows, with its scratch */
      if (best != LATHE_CONV_SIMD_NONE)
        g_assert_cmpuint (lathe_conv_workspace_size (&s), ==,
                          lathe_conv_direct_workspace_size (&s, best));
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_direct); i++)
    for (LatheConvSimd simd = LATHE_CONV_SIMD_NONE; simd <= LATHE_CONV_SIMD_AVX512; simd++)
      {
        geometry_to_shape (find_conv_case (not_direct[i]), &s);
        g_assert_false (lathe_conv_is_direct (&s, simd));
      }

  /* Batches that fill the vector lanes go on them where padding columns
   * would waste much of the flat layout; one image never does. LeNet at
   * the benchmark's batch: flat for the 28-wide first layer (the
   * interleaving would cost more than it saves), lanes for the second. */
  {
    const char *lanes[] = { "lanes-lenet2", "lanes-pad-odd", "lanes-groups", "lanes-3d",
                            "lanes-1d", "lanes-narrow", "lanes-wide-k" };

    for (guint i = 0; i < G_N_ELEMENTS (lanes); i++)
      {
        geometry_to_shape (find_conv_case (lanes[i]), &s);
        if (best >= LATHE_CONV_SIMD_AVX2)
          g_assert_cmpint (lathe_conv_direct_lanes (&s, LATHE_CONV_SIMD_AVX2), ==, 8);
      }
    geometry_to_shape (find_conv_case ("lanes-lenet2"), &s);
    if (best >= LATHE_CONV_SIMD_AVX512)
      g_assert_cmpint (lathe_conv_direct_lanes (&s, LATHE_CONV_SIMD_AVX512), ==, 16);
    s.batch = 1;
    for (LatheConvSimd simd = LATHE_CONV_SIMD_AVX2; simd <= best; simd++)
      g_assert_cmpint (lathe_conv_direct_lanes (&s, simd), ==, 1);
    s.batch = 1000;
    for (LatheConvSimd simd = LATHE_CONV_SIMD_AVX2; simd <= best; simd++)
      g_assert_cmpint (lathe_conv_direct_lanes (&s, simd), >, 1);
    geometry_to_shape (find_conv_case ("2d-lenet1"), &s);
    s.batch = 1000;
    for (LatheConvSimd simd = LATHE_CONV_SIMD_AVX2; simd <= best; simd++)
      g_assert_cmpint (lathe_conv_direct_lanes (&s, simd), ==, 1);
  }

  /* One output channel would waste most of every tile block. */
  geometry_to_shape (find_conv_case ("2d-lenet2"), &s);
  s.channels_out = 1;
  g_assert_false (lathe_conv_is_direct (&s, LATHE_CONV_SIMD_AVX512));
  /* A 5x5 window over a 5-wide row keeps 1 position in 5. */
  s.channels_out = 16;
  s.in[1] = s.in[2] = 5;
  g_assert_true (lathe_conv_shape_compute_out (&s, FALSE));
  g_assert_false (lathe_conv_is_direct (&s, LATHE_CONV_SIMD_AVX512));
}

static const Geometry pool_cases[] = {
  { "2d-2x2",         2, 2, 3, 3, 1, { 8, 8 }, { 2, 2 }, { 2, 2 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-2x2-odd",     2, 1, 2, 2, 1, { 7, 9 }, { 2, 2 }, { 2, 2 }, { 1, 1 }, { 0, 0 }, { 0, 0 } },
  { "2d-2x2-ceil",    2, 1, 2, 2, 1, { 7, 9 }, { 2, 2 }, { 2, 2 }, { 1, 1 }, { 0, 0 }, { 0, 0 }, TRUE },
  { "2d-3x3-s2",      2, 1, 2, 2, 1, { 9, 12 }, { 3, 3 }, { 2, 2 }, { 1, 1 }, { 1, 1 }, { 1, 1 } },
  { "3d-1x2x2",       3, 1, 2, 2, 1, { 3, 6, 4 }, { 1, 2, 2 }, { 1, 2, 2 }, { 1, 1, 1 }, { 0, 0, 0 }, { 0, 0, 0 } },
  { "2d-pads",        2, 1, 2, 2, 1, { 7, 6 }, { 3, 3 }, { 1, 1 }, { 1, 1 }, { 2, 1 }, { 2, 2 } },
  { "2d-ceil",        2, 1, 2, 2, 1, { 4, 5 }, { 3, 3 }, { 2, 2 }, { 1, 1 }, { 0, 0 }, { 0, 0 }, TRUE },
  { "2d-ceil-pads",   2, 1, 2, 2, 1, { 6, 7 }, { 3, 2 }, { 2, 3 }, { 1, 1 }, { 1, 1 }, { 1, 0 }, TRUE },
  { "2d-dilated",     2, 1, 2, 2, 1, { 9, 9 }, { 2, 3 }, { 1, 2 }, { 2, 3 }, { 1, 0 }, { 1, 2 } },
  { "2d-dil-ceil",    2, 1, 1, 1, 1, { 10, 11 }, { 3, 2 }, { 3, 2 }, { 2, 3 }, { 2, 1 }, { 1, 1 }, TRUE },
  { "1d",             1, 2, 3, 3, 1, { 20 }, { 4 }, { 3 }, { 1 }, { 1 }, { 2 } },
  { "1d-dilated",     1, 1, 1, 1, 1, { 300 }, { 20 }, { 10 }, { 10 }, { 10 }, { 10 } },
  { "3d",             3, 1, 2, 2, 1, { 5, 5, 5 }, { 2, 2, 2 }, { 2, 2, 2 }, { 1, 1, 1 }, { 1, 1, 1 }, { 1, 1, 1 } },
  { "3d-ceil",        3, 1, 2, 2, 1, { 5, 6, 7 }, { 3, 2, 3 }, { 2, 2, 2 }, { 1, 2, 1 }, { 0, 1, 1 }, { 1, 0, 1 }, TRUE },
};

static void
test_maxpool_vs_ref (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (pool_cases); k++)
    for (int order = 0; order < 2; order++)
      {
        LatheConvShape s;
        gint64 n_x, n_y;

        geometry_to_shape (&pool_cases[k], &s);
        n_x = s.batch * s.channels_in * lathe_conv_shape_in_size (&s);
        n_y = s.batch * s.channels_in * lathe_conv_shape_out_size (&s);
        {
          g_autofree float *x = g_new (float, n_x);
          g_autofree float *fast = g_new (float, n_y);
          g_autofree float *ref = g_new (float, n_y);
          g_autofree gint64 *fi = g_new (gint64, n_y);
          g_autofree gint64 *ri = g_new (gint64, n_y);
          g_autofree guint8 *x8 = g_new (guint8, n_x);
          g_autofree guint8 *y8 = g_new (guint8, n_y);
          g_autofree gint8 *xs8 = g_new (gint8, n_x);
          g_autofree gint8 *ys8 = g_new (gint8, n_y);
          g_autofree gint64 *i8 = g_new (gint64, n_y);

          fill_random (x, n_x);
          /* ties must resolve to the first position like the reference */
          for (gint64 i = 0; i < n_x; i += 7)
            x[i] = 0.5f;
          lathe_maxpool_f32 (&s, x, fast, fi, order == 1);
          lathe_maxpool_f32_ref (&s, x, ref, ri, order == 1);
          assert_close (fast, ref, n_y, 0.0, 0.0, pool_cases[k].name);
          g_assert_cmpmem (fi, n_y * sizeof (gint64), ri, n_y * sizeof (gint64));
          /* without Indices the row-wise kernel runs */
          memset (fast, 0, n_y * sizeof (float));
          lathe_maxpool_f32 (&s, x, fast, NULL, FALSE);
          assert_close (fast, ref, n_y, 0.0, 0.0, pool_cases[k].name);
          for (gint64 i = 0; i < n_y; i++)
            g_assert_cmpint (fi[i], >=, 0);

          /* integer kernels: values that convert exactly give the same picks */
          for (gint64 i = 0; i < n_x; i++)
            {
              x8[i] = (guint8) g_test_rand_int_range (0, 256);
              xs8[i] = (gint8) ((int) x8[i] - 128);
              x[i] = (float) x8[i];
            }
          lathe_maxpool_f32_ref (&s, x, ref, ri, order == 1);
          lathe_maxpool_u8 (&s, x8, y8, fi, order == 1);
          lathe_maxpool_i8 (&s, xs8, ys8, i8, order == 1);
          for (gint64 i = 0; i < n_y; i++)
            {
              g_assert_cmpint (y8[i], ==, (int) ref[i]);
              g_assert_cmpint (ys8[i], ==, (int) ref[i] - 128);
            }
          g_assert_cmpmem (fi, n_y * sizeof (gint64), ri, n_y * sizeof (gint64));
          g_assert_cmpmem (i8, n_y * sizeof (gint64), ri, n_y * sizeof (gint64));
          lathe_maxpool_u8 (&s, x8, y8, NULL, FALSE);
          lathe_maxpool_i8 (&s, xs8, ys8, NULL, FALSE);
          for (gint64 i = 0; i < n_y; i++)
            {
              g_assert_cmpint (y8[i], ==, (int) ref[i]);
              g_assert_cmpint (ys8[i], ==, (int) ref[i] - 128);
            }
        }
      }
}

static void
test_avgpool_vs_ref (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (pool_cases); k++)
    for (int include = 0; include < 2; include++)
      {
        LatheConvShape s;
        gint64 n_x, n_y;

        geometry_to_shape (&pool_cases[k], &s);
        n_x = s.batch * s.channels_in * lathe_conv_shape_in_size (&s);
        n_y = s.batch * s.channels_in * lathe_conv_shape_out_size (&s);
        {
          g_autofree float *x = g_new (float, n_x);
          g_autofree float *fast = g_new (float, n_y);
          g_autofree float *ref = g_new (float, n_y);

          fill_random (x, n_x);
          lathe_avgpool_f32 (&s, x, fast, include);
          lathe_avgpool_f32_ref (&s, x, ref, include);
          assert_close (fast, ref, n_y, POOL_RTOL, POOL_ATOL, pool_cases[k].name);
        }
      }
}

static void
test_pool_ceil_shape (void)
{
  LatheConvShape s;

  /* 4 wide, k 3, stride 2: ceil gives 2 windows, floor 1 */
  lathe_conv_shape_init (&s);
  s.in[2] = 4;
  s.kernel[2] = 3;
  s.stride[2] = 2;
  g_assert_true (lathe_conv_shape_compute_out (&s, TRUE));
  g_assert_cmpint (s.out[2], ==, 2);
  g_assert_true (lathe_conv_shape_compute_out (&s, FALSE));
  g_assert_cmpint (s.out[2], ==, 1);
  /* a window that would start in the end padding is dropped:
   * in 5, pad 1 + 1, k 2, stride 3 → ceil((7 - 2) / 3) + 1 = 3, but the
   * third window starts at 6 - 1 = 5, past the input */
  s.in[2] = 5;
  s.kernel[2] = 2;
  s.stride[2] = 3;
  s.pad_begin[2] = s.pad_end[2] = 1;
  g_assert_true (lathe_conv_shape_compute_out (&s, TRUE));
  g_assert_cmpint (s.out[2], ==, 2);
  /* a window larger than the padded input does not fit */
  s.kernel[2] = 8;
  g_assert_false (lathe_conv_shape_compute_out (&s, FALSE));
}

static void
test_pad_vs_ref (void)
{
  static const gint64 dims3[] = { 2, 3, 4 };
  static const gint64 pads3[][6] = {
    { 0, 1, 2, 0, 2, 1 },
    { 1, 0, 0, 1, 1, 7 },
    { 0, -1, 1, 1, 0, -2 },
    { 1, 2, -1, 0, -1, 3 },
    { 0, 0, 0, 0, 0, 0 },
    { 3, 5, 9, 2, 4, 6 },     /* wider than the axes: reflect and wrap repeat */
  };
  const LathePadMode modes[] = { LATHE_PAD_CONSTANT, LATHE_PAD_REFLECT, LATHE_PAD_EDGE, LATHE_PAD_WRAP };
  const gsize esizes[] = { 1, 2, 4, 8 };

  for (guint p = 0; p < G_N_ELEMENTS (pads3); p++)
    for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
      for (guint e = 0; e < G_N_ELEMENTS (esizes); e++)
        for (guint ndim = 1; ndim <= 3; ndim++)
          {
            /* the last `ndim` axes of dims3 with their pads */
            const gint64 *dims = dims3 + (3 - ndim);
            gint64 pads[6], out_dims[3];
            gsize n_in = 1, n_out = 1, esize = esizes[e];
            guint64 value = G_GUINT64_CONSTANT (0xa5a5a5a5a5a5a5a5);
            gboolean empty = FALSE;

            for (guint d = 0; d < ndim; d++)
              {
                pads[d] = pads3[p][3 - ndim + d];
                pads[d + ndim] = pads3[p][6 - ndim + d];
                out_dims[d] = dims[d] + pads[d] + pads[d + ndim];
                if (dims[d] - MAX (0, -pads[d]) - MAX (0, -pads[d + ndim]) <= 0)
                  empty = TRUE;
                n_in *= (gsize) dims[d];
                n_out *= (gsize) out_dims[d];
              }
            if (empty && modes[m] != LATHE_PAD_CONSTANT)
              continue;
            {
              g_autofree guint8 *x = g_new (guint8, n_in * esize);
              g_autofree guint8 *fast = g_new (guint8, n_out * esize);
              g_autofree guint8 *ref = g_new (guint8, n_out * esize);
              gpointer ws = lathe_aligned_alloc0 (MAX (lathe_pad_workspace_size (ndim, out_dims), 1));

              for (gsize i = 0; i < n_in * esize; i++)
                x[i] = (guint8) (i * 7 + 3);
              memset (fast, 0, n_out * esize);
              lathe_pad (ndim, dims, pads, modes[m], esize, &value, x, fast, ws);
              lathe_pad_ref (ndim, dims, pads, modes[m], esize, &value, x, ref);
              if (memcmp (fast, ref, n_out * esize) != 0)
                g_error ("pad case %u mode %u esize %" G_GSIZE_FORMAT " rank %u differs", p, m, esize, ndim);
              lathe_aligned_free (ws);
            }
          }
}

static void
test_pad_modes_numpy (void)
{
  /* numpy.pad([1, 2, 3], (5, 4), mode) */
  static const gint64 dims[] = { 3 };
  static const gint64 pads[] = { 5, 4 };
  static const gint32 x[] = { 1, 2, 3 };
  static const gint32 reflect[] = { 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3 };
  static const gint32 wrap[] = { 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 };
  static const gint32 edge[] = { 1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3 };
  static const gint32 constant[] = { 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 9 };
  gint32 y[12], value = 9;
  gint64 ws[12];

  lathe_pad (1, dims, pads, LATHE_PAD_REFLECT, 4, &value, x, y, ws);
  g_assert_cmpmem (y, sizeof y, reflect, sizeof reflect);
  lathe_pad (1, dims, pads, LATHE_PAD_WRAP, 4, &value, x, y, ws);
  g_assert_cmpmem (y, sizeof y, wrap, sizeof wrap);
  lathe_pad (1, dims, pads, LATHE_PAD_EDGE, 4, &value, x, y, ws);
  g_assert_cmpmem (y, sizeof y, edge, sizeof edge);
  lathe_pad (1, dims, pads, LATHE_PAD_CONSTANT, 4, &value, x, y, ws);
  g_assert_cmpmem (y, sizeof y, constant, sizeof constant);

  /* a single element reflects onto itself */
  g_assert_cmpint (lathe_pad_source_index (0, 1, 2, 3, LATHE_PAD_REFLECT), ==, 0);
  g_assert_cmpint (lathe_pad_source_index (5, 1, 2, 3, LATHE_PAD_REFLECT), ==, 0);
  /* negative pads crop, then edge repeats the cropped border */
  g_assert_cmpint (lathe_pad_source_index (0, 5, -2, 1, LATHE_PAD_EDGE), ==, 2);
  g_assert_cmpint (lathe_pad_source_index (3, 5, -2, 1, LATHE_PAD_EDGE), ==, 4);
  g_assert_cmpint (lathe_pad_source_index (3, 5, -2, 1, LATHE_PAD_CONSTANT), ==, -1);
}

/* ------------------------------------------------------------------------
 * Through the operator interface */

static LatheNode *
make_node (const char *op_type,
           gint64      opset,
           guint       n_inputs,
           guint       n_outputs)
{
  LatheNode *node = g_new0 (LatheNode, 1);

  node->name = g_strdup_printf ("%s_under_test", op_type);
  node->op_type = g_strdup (op_type);
  node->domain = g_strdup ("");
  node->op = lathe_op_lookup (op_type, opset, &node->since);
  g_assert_nonnull (node->op);
  node->n_inputs = n_inputs;
  node->inputs = g_new (int, MAX (n_inputs, 1));
  for (guint i = 0; i < n_inputs; i++)
    node->inputs[i] = (int) i;
  node->n_outputs = n_outputs;
  node->outputs = g_new (int, MAX (n_outputs, 1));
  for (guint o = 0; o < n_outputs; o++)
    node->outputs[o] = (int) (n_inputs + o);
  return node;
}

static LatheAttr *
add_attr (LatheNode     *node,
          const char    *name,
          LatheAttrType  type)
{
  LatheAttr *a;

  node->attrs = g_renew (LatheAttr, node->attrs, node->n_attrs + 1);
  a = &node->attrs[node->n_attrs++];
  memset (a, 0, sizeof *a);
  a->name = g_strdup (name);
  a->type = type;
  return a;
}

static void
add_ints (LatheNode    *node,
          const char   *name,
          gsize         n,
          const gint64 *v)
{
  LatheAttr *a = add_attr (node, name, LATHE_ATTR_INTS);

  a->ints = g_memdup2 (v, n * sizeof (gint64));
  a->n_ints = n;
}

static void
add_int (LatheNode  *node,
         const char *name,
         gint64      v)
{
  add_attr (node, name, LATHE_ATTR_INT)->i = v;
}

static void
add_float (LatheNode  *node,
           const char *name,
           float       v)
{
  add_attr (node, name, LATHE_ATTR_FLOAT)->f = v;
}

static void
add_string (LatheNode  *node,
            const char *name,
            const char *v)
{
  add_attr (node, name, LATHE_ATTR_STRING)->s = g_strdup (v);
}

static LatheTensor *
tensor_f32 (guint         ndim,
            const gint64 *dims,
            const float  *values)
{
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_FLOAT, ndim, dims);

  if (values != NULL)
    memcpy (t->data, values, t->n * sizeof (float));
  return t;
}

static LatheTensor *
tensor_i64 (guint         ndim,
            const gint64 *dims,
            const gint64 *values)
{
  LatheTensor *t = lathe_tensor_new (LATHE_DTYPE_INT64, ndim, dims);

  memcpy (t->data, values, t->n * sizeof (gint64));
  return t;
}

/* setup + infer + run like the executor (with an omitted input as NULL);
 * outputs[] receives new tensors. Returns FALSE with error set on the
 * first failing stage. */
static gboolean
run_node (LatheNode     *node,
          LatheTensor  **inputs,
          LatheTensor  **outputs,
          GError       **error)
{
  LatheTensor *metas[4] = { NULL, };
  gsize ws_size = 0;
  gpointer ws;
  gboolean ok;

  g_assert_cmpuint (node->n_outputs, <=, G_N_ELEMENTS (metas));
  if (node->op->setup != NULL && !node->op->setup (node, error))
    return FALSE;
  for (guint o = 0; o < node->n_outputs; o++)
    metas[o] = lathe_tensor_new_borrowed (LATHE_DTYPE_UNDEFINED, 0, NULL, NULL);
  ok = node->op->infer (node, inputs, metas, &ws_size, error);
  for (guint o = 0; o < node->n_outputs; o++)
    {
      if (ok)
        outputs[o] = lathe_tensor_new (metas[o]->dtype, metas[o]->ndim, metas[o]->dims);
      lathe_tensor_unref (metas[o]);
    }
  if (!ok)
    return FALSE;
  ws = ws_size > 0 ? lathe_aligned_alloc0 (ws_size) : NULL;
  ok = node->op->run (node, inputs, outputs, ws, error);
  lathe_aligned_free (ws);
  return ok;
}

static void
assert_shape (const LatheTensor *t,
              guint              ndim,
              const gint64      *dims)
{
  g_assert_cmpuint (t->ndim, ==, ndim);
  g_assert_cmpmem (t->dims, ndim * sizeof (gint64), dims, ndim * sizeof (gint64));
}

static void
test_op_conv_autopad (void)
{
  /* ONNX's test_conv_with_autopad_same: 5x5 ramp, 3x3 ones, SAME_LOWER,
   * stride 2 */
  static const gint64 xd[] = { 1, 1, 5, 5 }, wd[] = { 1, 1, 3, 3 }, yd[] = { 1, 1, 3, 3 };
  static const float want[] = { 12, 27, 24, 63, 108, 81, 72, 117, 84 };
  static const gint64 strides[] = { 2, 2 }, kernel[] = { 3, 3 };
  static const char * const auto_pads[] = { "SAME_LOWER", "SAME_UPPER", "VALID" };
  float xv[25], wv[9];

  for (int i = 0; i < 25; i++)
    xv[i] = (float) i;
  for (int i = 0; i < 9; i++)
    wv[i] = 1.f;

  for (guint k = 0; k < G_N_ELEMENTS (auto_pads); k++)
    for (int opset = 1; opset <= 22; opset += 10)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(LatheTensor) x = tensor_f32 (4, xd, xv);
        g_autoptr(LatheTensor) w = tensor_f32 (4, wd, wv);
        g_autoptr(LatheTensor) y = NULL;
        LatheTensor *ins[3] = { x, w, NULL };
        LatheNode *node = make_node ("Conv", opset, 2, 1);

        add_string (node, "auto_pad", auto_pads[k]);
        add_ints (node, "strides", 2, strides);
        add_ints (node, "kernel_shape", 2, kernel);
        g_assert_true (run_node (node, ins, &y, &error));
        g_assert_no_error (error);
        if (k == 0)
          {
            assert_shape (y, 4, yd);
            assert_close (y->data, want, 9, 0.0, OP_ATOL, "SAME_LOWER");
          }
        else if (k == 1)
          {
            /* the total pad (2) is even: SAME_UPPER pads like SAME_LOWER */
            assert_shape (y, 4, yd);
            assert_close (y->data, want, 9, 0.0, OP_ATOL, "SAME_UPPER");
          }
        else
          {
            static const gint64 vd[] = { 1, 1, 2, 2 };
            static const float valid[] = { 54, 72, 144, 162 };
            assert_shape (y, 4, vd);
            assert_close (y->data, valid, 4, 0.0, OP_ATOL, "VALID");
          }
        lathe_node_free (node);
      }
}

static void
test_op_conv_same_odd (void)
{
  /* 1-d, width 4, kernel 2: one pad, at the end for SAME_UPPER and at the
   * beginning for SAME_LOWER */
  static const gint64 xd[] = { 1, 1, 4 }, wd[] = { 1, 1, 2 };
  static const float xv[] = { 1, 2, 3, 4 }, wv[] = { 1, 10 };
  static const float upper[] = { 21, 32, 43, 4 }, lower[] = { 10, 21, 32, 43 };

  for (int k = 0; k < 2; k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (3, xd, xv);
      g_autoptr(LatheTensor) w = tensor_f32 (3, wd, wv);
      g_autoptr(LatheTensor) y = NULL;
      LatheTensor *ins[2] = { x, w };
      LatheNode *node = make_node ("Conv", 11, 2, 1);

      add_string (node, "auto_pad", k == 0 ? "SAME_UPPER" : "SAME_LOWER");
      g_assert_true (run_node (node, ins, &y, &error));
      g_assert_cmpint (y->dims[2], ==, 4);
      assert_close (y->data, k == 0 ? upper : lower, 4, 0.0, OP_ATOL, "SAME odd");
      lathe_node_free (node);
    }
}

static void
test_op_conv_bias_groups (void)
{
  /* group 2, bias, 1-d: compare the op with the reference kernel */
  static const gint64 xd[] = { 2, 4, 9 }, wd[] = { 6, 2, 3 }, bd[] = { 6 };
  static const gint64 pads[] = { 1, 2 }, dil[] = { 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTensor) x = tensor_f32 (3, xd, NULL);
  g_autoptr(LatheTensor) w = tensor_f32 (3, wd, NULL);
  g_autoptr(LatheTensor) b = tensor_f32 (1, bd, NULL);
  g_autoptr(LatheTensor) y = NULL;
  LatheTensor *ins[3] = { x, w, b };
  LatheNode *node = make_node ("Conv", 11, 3, 1);
  LatheConvShape s;
  g_autofree float *ref = NULL;
  static const gint64 yd[] = { 2, 6, 8 };   /* 9 + 3 pads - 5 (dilated kernel) + 1 */

  fill_random (x->data, x->n);
  fill_random (w->data, w->n);
  fill_random (b->data, b->n);
  add_int (node, "group", 2);
  add_ints (node, "pads", 2, pads);
  add_ints (node, "dilations", 1, dil);
  g_assert_true (run_node (node, ins, &y, &error));
  assert_shape (y, 3, yd);

  lathe_conv_shape_init (&s);
  s.batch = 2;
  s.channels_in = 4;
  s.channels_out = 6;
  s.group = 2;
  s.in[2] = 9;
  s.kernel[2] = 3;
  s.dilation[2] = 2;
  s.pad_begin[2] = 1;
  s.pad_end[2] = 2;
  g_assert_true (lathe_conv_shape_compute_out (&s, FALSE));
  ref = g_new (float, y->n);
  lathe_conv_f32_ref (&s, x->data, w->data, b->data, ref);
  assert_close (y->data, ref, y->n, CONV_RTOL, CONV_ATOL, "conv op");
  lathe_node_free (node);
}

static void
test_op_conv_errors (void)
{
  static const gint64 xd[] = { 1, 4, 5, 5 }, wd[] = { 2, 3, 3, 3 }, wd_ok[] = { 2, 4, 3, 3 };
  static const gint64 wrong_kernel[] = { 2, 2 };

  /* channels do not fit the weights */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (4, xd, NULL);
    g_autoptr(LatheTensor) w = tensor_f32 (4, wd, NULL);
    LatheTensor *ins[2] = { x, w }, *outs[1] = { NULL };
    LatheNode *node = make_node ("Conv", 11, 2, 1);

    g_assert_false (run_node (node, ins, outs, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "Conv_under_test"));
    lathe_node_free (node);
  }
  /* kernel_shape disagrees with the weights */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (4, xd, NULL);
    g_autoptr(LatheTensor) w = tensor_f32 (4, wd_ok, NULL);
    LatheTensor *ins[2] = { x, w }, *outs[1] = { NULL };
    LatheNode *node = make_node ("Conv", 11, 2, 1);

    add_ints (node, "kernel_shape", 2, wrong_kernel);
    g_assert_false (run_node (node, ins, outs, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
  /* an unknown auto_pad */
  {
    g_autoptr(GError) error = NULL;
    LatheNode *node = make_node ("Conv", 11, 2, 1);

    add_string (node, "auto_pad", "SAME_SIDEWAYS");
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    lathe_node_free (node);
  }
  /* double is not computed */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = lathe_tensor_new (LATHE_DTYPE_DOUBLE, 4, xd);
    g_autoptr(LatheTensor) w = lathe_tensor_new (LATHE_DTYPE_DOUBLE, 4, wd_ok);
    LatheTensor *ins[2] = { x, w }, *outs[1] = { NULL };
    LatheNode *node = make_node ("Conv", 11, 2, 1);

    g_assert_false (run_node (node, ins, outs, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    lathe_node_free (node);
  }
}

static void
test_op_maxpool_indices (void)
{
  /* ONNX's test_maxpool_with_argmax_2d_precomputed_strides, and the same
   * in row-major order */
  static const gint64 xd[] = { 1, 1, 5, 5 }, yd[] = { 1, 1, 2, 2 };
  static const gint64 kernel[] = { 2, 2 }, strides[] = { 2, 2 };
  static const float want[] = { 7, 9, 17, 19 };
  static const gint64 want_col[] = { 6, 16, 8, 18 }, want_row[] = { 6, 8, 16, 18 };
  float xv[25];

  for (int i = 0; i < 25; i++)
    xv[i] = (float) (i + 1);
  for (int order = 0; order < 2; order++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (4, xd, xv);
      LatheTensor *ins[1] = { x }, *outs[2] = { NULL, NULL };
      LatheNode *node = make_node ("MaxPool", 12, 1, 2);

      add_ints (node, "kernel_shape", 2, kernel);
      add_ints (node, "strides", 2, strides);
      add_int (node, "storage_order", order);
      g_assert_true (run_node (node, ins, outs, &error));
      g_assert_no_error (error);
      assert_shape (outs[0], 4, yd);
      assert_shape (outs[1], 4, yd);
      g_assert_cmpint (outs[1]->dtype, ==, LATHE_DTYPE_INT64);
      assert_close (outs[0]->data, want, 4, 0.0, 0.0, "maxpool");
      g_assert_cmpmem (outs[1]->data, 4 * sizeof (gint64),
                       order ? want_col : want_row, 4 * sizeof (gint64));
      lathe_tensor_unref (outs[0]);
      lathe_tensor_unref (outs[1]);
      lathe_node_free (node);
    }
}

static void
test_op_pool_versions (void)
{
  /* AveragePool: ceil_mode is read from opset 10 on, count_include_pad from
   * 7 on; earlier opsets ignore them (they did not exist). */
  static const gint64 xd[] = { 1, 1, 4, 4 };
  static const gint64 kernel[] = { 3, 3 }, strides[] = { 2, 2 }, pads[] = { 1, 1, 1, 1 };
  float xv[16];

  for (int i = 0; i < 16; i++)
    xv[i] = (float) (i + 1);

  {
    /* ONNX's test_averagepool_2d_ceil */
    static const gint64 yd[] = { 1, 1, 2, 2 };
    static const float want[] = { 6, 7.5f, 12, 13.5f };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (4, xd, xv);
    g_autoptr(LatheTensor) y = NULL;
    LatheNode *node = make_node ("AveragePool", 11, 1, 1);

    add_ints (node, "kernel_shape", 2, kernel);
    add_ints (node, "strides", 2, strides);
    add_int (node, "ceil_mode", 1);
    g_assert_true (run_node (node, &x, &y, &error));
    assert_shape (y, 4, yd);
    assert_close (y->data, want, 4, 0.0, OP_ATOL, "averagepool ceil");
    lathe_node_free (node);
  }
  {
    /* opset 7: ceil_mode is not an attribute yet → floor: one window */
    static const gint64 yd[] = { 1, 1, 1, 1 };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (4, xd, xv);
    g_autoptr(LatheTensor) y = NULL;
    LatheNode *node = make_node ("AveragePool", 7, 1, 1);

    add_ints (node, "kernel_shape", 2, kernel);
    add_ints (node, "strides", 2, strides);
    add_int (node, "ceil_mode", 1);
    g_assert_true (run_node (node, &x, &y, &error));
    assert_shape (y, 4, yd);
    lathe_node_free (node);
  }
  for (int include = 0; include < 2; include++)
    {
      /* corner window with pads 1: (1 + 2 + 5 + 6) over 4 or 9 */
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (4, xd, xv);
      g_autoptr(LatheTensor) y = NULL;
      LatheNode *node = make_node ("AveragePool", 19, 1, 1);

      add_ints (node, "kernel_shape", 2, kernel);
      add_ints (node, "strides", 2, strides);
      add_ints (node, "pads", 4, pads);
      add_int (node, "count_include_pad", include);
      g_assert_true (run_node (node, &x, &y, &error));
      g_assert_cmpfloat_with_epsilon (((float *) y->data)[0], include ? 14.f / 9.f : 14.f / 4.f, 1e-6);
      lathe_node_free (node);
    }
  {
    /* MaxPool needs kernel_shape */
    g_autoptr(GError) error = NULL;
    LatheNode *node = make_node ("MaxPool", 12, 1, 1);

    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_INVALID);
    lathe_node_free (node);
  }
  {
    /* int32 is not pooled */
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = lathe_tensor_new (LATHE_DTYPE_INT32, 4, xd);
    LatheTensor *outs[1] = { NULL };
    LatheNode *node = make_node ("MaxPool", 12, 1, 1);

    add_ints (node, "kernel_shape", 2, kernel);
    g_assert_false (run_node (node, &x, outs, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_TYPE);
    lathe_node_free (node);
  }
}

static void
test_op_global_avgpool (void)
{
  static const gint64 xd[] = { 2, 3, 2, 2, 2 }, yd[] = { 2, 3, 1, 1, 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheTensor) x = tensor_f32 (5, xd, NULL);
  g_autoptr(LatheTensor) y = NULL;
  LatheNode *node = make_node ("GlobalAveragePool", 1, 1, 1);
  float want[6];

  for (gsize i = 0; i < x->n; i++)
    ((float *) x->data)[i] = (float) i;
  for (int p = 0; p < 6; p++)
    want[p] = (float) (p * 8) + 3.5f;
  g_assert_true (run_node (node, &x, &y, &error));
  assert_shape (y, 5, yd);
  assert_close (y->data, want, 6, 0.0, OP_ATOL, "global average");
  lathe_node_free (node);
}

/* [2, 3] ramp padded on axis 1 by (1, 2) and axis 0 by (0, 1) */
static void
check_pad_result (const LatheTensor *y,
                  float              value)
{
  static const gint64 yd[] = { 3, 6 };
  const float v = value;
  const float want[] = { v, 0, 1, 2, v, v,
                         v, 3, 4, 5, v, v,
                         v, v, v, v, v, v };

  assert_shape (y, 2, yd);
  assert_close (y->data, want, 18, 0.0, 0.0, "pad");
}

static void
test_op_pad_versions (void)
{
  static const gint64 xd[] = { 2, 3 };
  static const gint64 pads[] = { 0, 1, 1, 2 };
  static const float xv[] = { 0, 1, 2, 3, 4, 5 };

  /* Pad-1: `paddings` attribute, Pad-2: `pads` attribute; both with value */
  for (int opset = 1; opset <= 2; opset++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
      g_autoptr(LatheTensor) y = NULL;
      LatheNode *node = make_node ("Pad", opset, 1, 1);

      add_ints (node, opset == 1 ? "paddings" : "pads", 4, pads);
      add_float (node, "value", 1.5f);
      g_assert_true (run_node (node, &x, &y, &error));
      g_assert_no_error (error);
      check_pad_result (y, 1.5f);
      lathe_node_free (node);
    }
  /* Pad-11/13: pads and constant_value inputs; constant_value omitted → 0 */
  for (int with_value = 0; with_value < 2; with_value++)
    {
      static const gint64 pd[] = { 4 };
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
      g_autoptr(LatheTensor) p = tensor_i64 (1, pd, pads);
      g_autoptr(LatheTensor) v = lathe_tensor_new_scalar_float (-2.f);
      g_autoptr(LatheTensor) y = NULL;
      LatheTensor *ins[3] = { x, p, with_value ? v : NULL };
      LatheNode *node = make_node ("Pad", 13, 3, 1);

      if (!with_value)
        node->inputs[2] = -1;
      g_assert_true (run_node (node, ins, &y, &error));
      g_assert_no_error (error);
      check_pad_result (y, with_value ? -2.f : 0.f);
      lathe_node_free (node);
    }
  /* Pad-18: axes input, negative axis */
  {
    static const gint64 pd[] = { 2 }, ad[] = { 1 };
    static const gint64 axis_pads[] = { 1, 2 }, axes[] = { -1 };
    static const gint64 yd[] = { 2, 6 };
    static const float want[] = { 0, 0, 1, 2, 0, 0, 0, 3, 4, 5, 0, 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
    g_autoptr(LatheTensor) p = tensor_i64 (1, pd, axis_pads);
    g_autoptr(LatheTensor) a = tensor_i64 (1, ad, axes);
    g_autoptr(LatheTensor) y = NULL;
    LatheTensor *ins[4] = { x, p, NULL, a };
    LatheNode *node = make_node ("Pad", 18, 4, 1);

    node->inputs[2] = -1;
    g_assert_true (run_node (node, ins, &y, &error));
    g_assert_no_error (error);
    assert_shape (y, 2, yd);
    assert_close (y->data, want, 12, 0.0, 0.0, "pad axes");
    lathe_node_free (node);
  }
  /* wrap arrived at Pad-19; earlier it is refused */
  for (int opset = 18; opset <= 19; opset++)
    {
      static const gint64 pd[] = { 4 }, wrap_pads[] = { 0, 1, 0, 2 }, yd[] = { 2, 6 };
      static const float want[] = { 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 3, 4 };
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
      g_autoptr(LatheTensor) p = tensor_i64 (1, pd, wrap_pads);
      g_autoptr(LatheTensor) y = NULL;
      LatheTensor *ins[2] = { x, p };
      LatheNode *node = make_node ("Pad", opset, 2, 1);

      add_string (node, "mode", "wrap");
      if (opset == 18)
        {
          g_assert_false (node->op->setup (node, &error));
          g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
        }
      else
        {
          g_assert_true (run_node (node, ins, &y, &error));
          assert_shape (y, 2, yd);
          assert_close (y->data, want, 12, 0.0, 0.0, "pad wrap");
        }
      lathe_node_free (node);
    }
  /* int64 data, reflect at the beginning of an axis cropped at its end:
   * the reflection works on the cropped extent, as in onnxruntime */
  {
    static const gint64 xd5[] = { 1, 5 }, pd[] = { 4 }, rpads[] = { 0, 2, 0, -1 }, yd[] = { 1, 6 };
    static const gint64 xi[] = { 10, 11, 12, 13, 14 };
    static const gint64 want[] = { 12, 11, 10, 11, 12, 13 };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_i64 (2, xd5, xi);
    g_autoptr(LatheTensor) p = tensor_i64 (1, pd, rpads);
    g_autoptr(LatheTensor) y = NULL;
    LatheTensor *ins[2] = { x, p };
    LatheNode *node = make_node ("Pad", 13, 2, 1);

    add_string (node, "mode", "reflect");
    g_assert_true (run_node (node, ins, &y, &error));
    g_assert_no_error (error);
    assert_shape (y, 2, yd);
    g_assert_cmpmem (y->data, sizeof want, want, sizeof want);
    lathe_node_free (node);
  }
  /* errors: wrong pads count, an unknown mode, edge on an emptied axis */
  {
    static const gint64 pd[] = { 3 }, bad[] = { 1, 1, 1 };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
    g_autoptr(LatheTensor) p = tensor_i64 (1, pd, bad);
    LatheTensor *ins[2] = { x, p }, *outs[1] = { NULL };
    LatheNode *node = make_node ("Pad", 13, 2, 1);

    g_assert_false (run_node (node, ins, outs, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
  {
    g_autoptr(GError) error = NULL;
    LatheNode *node = make_node ("Pad", 13, 2, 1);

    add_string (node, "mode", "symmetric");
    g_assert_false (node->op->setup (node, &error));
    g_assert_error (error, LATHE_ONNX_ERROR, LATHE_ONNX_ERROR_UNSUPPORTED_ATTRIBUTE);
    lathe_node_free (node);
  }
  {
    static const gint64 pd[] = { 4 }, crop[] = { 0, -3, 0, 1 };
    g_autoptr(GError) error = NULL;
    g_autoptr(LatheTensor) x = tensor_f32 (2, xd, xv);
    g_autoptr(LatheTensor) p = tensor_i64 (1, pd, crop);
    LatheTensor *ins[2] = { x, p }, *outs[1] = { NULL };
    LatheNode *node = make_node ("Pad", 13, 2, 1);

    add_string (node, "mode", "edge");
    g_assert_false (run_node (node, ins, outs, &error));
    g_assert_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE);
    lathe_node_free (node);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lathe/engine/conv/im2col-vs-ref", test_im2col_vs_ref);
  g_test_add_func ("/lathe/engine/conv/conv-vs-ref", test_conv_vs_ref);
  g_test_add_func ("/lathe/engine/conv/dispatch", test_depthwise_dispatch);
  g_test_add_func ("/lathe/engine/conv/direct-dispatch", test_direct_dispatch);
  g_test_add_func ("/lathe/engine/pool/maxpool-vs-ref", test_maxpool_vs_ref);
  g_test_add_func ("/lathe/engine/pool/avgpool-vs-ref", test_avgpool_vs_ref);
  g_test_add_func ("/lathe/engine/pool/ceil-shape", test_pool_ceil_shape);
  g_test_add_func ("/lathe/engine/pad/pad-vs-ref", test_pad_vs_ref);
  g_test_add_func ("/lathe/engine/pad/modes-numpy", test_pad_modes_numpy);
  g_test_add_func ("/lathe/engine/conv/op-autopad", test_op_conv_autopad);
  g_test_add_func ("/lathe/engine/conv/op-same-odd", test_op_conv_same_odd);
  g_test_add_func ("/lathe/engine/conv/op-bias-groups", test_op_conv_bias_groups);
  g_test_add_func ("/lathe/engine/conv/op-errors", test_op_conv_errors);
  g_test_add_func ("/lathe/engine/pool/op-maxpool-indices", test_op_maxpool_indices);
  g_test_add_func ("/lathe/engine/pool/op-versions", test_op_pool_versions);
  g_test_add_func ("/lathe/engine/pool/op-global-average", test_op_global_avgpool);
  g_test_add_func ("/lathe/engine/pad/op-versions", test_op_pad_versions);

  return g_test_run ();
}
