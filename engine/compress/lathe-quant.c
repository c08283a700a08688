/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-compress"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/lathe-error.h"
#include "compress/lathe-quant.h"

/* Uniform and palette quantizers. The fast paths work on one contiguous
 * span at a time (the whole tensor, a row, or a group inside a row — rows
 * are contiguous, so every scale covers one span); the _ref twins at the
 * end of each section say the same thing element by element. */

/* Adding and subtracting 1.5 · 2^23 rounds |x| < 2^22 to an integer, half
 * to even, under the default rounding mode: rint() that the compiler can
 * vectorise without SSE4.1. Every argument here is bounded by a few times
 * 2^8. Needs float arithmetic without excess precision (SSE, NEON). */
#define RNE_MAGIC 12582912.0f

static inline float
rne_fast (float x)
{
  return (x + RNE_MAGIC) - RNE_MAGIC;
}

/* The MSE search's clipping factors: α_i = 1 − i/100, i = 0…50. */
#define N_ALPHAS 51

static inline float
mse_alpha (int i)
{
  return (float) ((100 - i) / 100.0);
}

/* Partial sums run in LANES independent float accumulators (the compiler
 * turns them into vector registers; a single accumulator would pin the
 * loop to scalar code) and are flushed into a double every ERR_BLOCK
 * elements so a whole-tensor sum keeps its precision. */
#define LANES     8
#define ERR_BLOCK 256

static const int group_sizes[] = LATHE_GROUP_SIZES;

/* ------------------------------------------------------------------------
 * Arguments and layout, shared by the fast path and its twin */

static gboolean
check_uniform_args (const LatheWeightView  *view,
                    int                     bits,
                    LatheGranularity        granularity,
                    int                     group_channels,
                    gboolean                affine,
                    gsize                  *group_len,
                    GError                **error)
{
  *group_len = 0;
  if (bits < 1 || bits > 8)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "uniform quantization takes 1 to 8 bits, not %d "
                   "(16 and 32 bits are float16 and float32)", bits);
      return FALSE;
    }
  if (affine && bits == 1)
    {
      g_set_error_literal (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                           "affine quantization needs at least 2 bits; "
                           "1 bit is symmetric (sign · mean|w|)");
      return FALSE;
    }
  if (granularity == LATHE_GRANULARITY_GROUP)
    {
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (group_sizes); i++)
        known |= group_channels == group_sizes[i];
      if (!known)
        {
          g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                       "group size must be 16, 32, 64, 128 or 256 input channels, not %d",
                       group_channels);
          return FALSE;
        }
      *group_len = (gsize) group_channels * MAX (view->spatial, 1);
    }
  return TRUE;
}

/* Span length for one scale: spans follow each other in memory, in the
 * order the scales are stored. */
static gsize
uniform_span_len (const LatheWeightView *view,
                  LatheGranularity       granularity,
                  gsize                  group_len)
{
  switch (granularity)
    {
    case LATHE_GRANULARITY_TENSOR:
      return view->rows * view->cols;
    case LATHE_GRANULARITY_CHANNEL:
      return view->cols;
    case LATHE_GRANULARITY_GROUP:
      return MIN (group_len, view->cols);
    default:
      g_assert_not_reached ();
    }
}

/* Scale and zero point for one clipping factor. For α = 1 this is the
 * max-abs (min/max) scale exactly, since 1·x = x. */
static void
uniform_params (gboolean  affine,
                int       bits,
                float     alpha,
                float     maxabs,
                float     lo,
                float     hi,
                float    *s,
                gint32   *zp)
{
  if (!affine)
    {
      float qmax = (float) ((1 << (bits - 1)) - 1);

      *s = alpha * maxabs / qmax;
      *zp = 0;
    }
  else
    {
      int levels = (1 << bits) - 1;
      float a = alpha * lo, b = alpha * hi;

      *s = (b - a) / (float) levels;
      *zp = *s > 0.0f ? CLAMP ((gint32) nearbyintf (-a / *s), 0, levels) : 0;
    }
}

/* ------------------------------------------------------------------------
 * Uniform, fast path */

typedef struct {
  int               bits;
  gboolean          affine;
  LatheScaleMethod  method;
  float            *packed;     /* kept weights of the current span (keep != NULL) */
} UniformJob;

static void
span_range (const float *restrict w,
            gsize                 n,
            float                *maxabs,
            float                *lo,
            float                *hi)
{
  float lmin[LANES] = { 0 }, lmax[LANES] = { 0 };
  float mn = 0.0f, mx = 0.0f;   /* 0 belongs to every range */
  gsize i = 0;

  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++)
      {
        float x = w[i + l];
        lmin[l] = x < lmin[l] ? x : lmin[l];
        lmax[l] = x > lmax[l] ? x : lmax[l];
      }
  for (; i < n; i++)
    {
      mn = w[i] < mn ? w[i] : mn;
      mx = w[i] > mx ? w[i] : mx;
    }
  for (int l = 0; l < LANES; l++)
    {
      mn = lmin[l] < mn ? lmin[l] : mn;
      mx = lmax[l] > mx ? lmax[l] : mx;
    }
  *lo = mn;
  *hi = mx;
  *maxabs = MAX (-mn, mx);
}

static double
sum_sq (const float *restrict w,
        gsize                 n)
{
  double total = 0.0;

  for (gsize b = 0; b < n; b += ERR_BLOCK)
    {
      gsize end = MIN (n, b + ERR_BLOCK), i = b;
      float lane[LANES] = { 0 }, part = 0.0f;

      for (; i + LANES <= end; i += LANES)
        for (int l = 0; l < LANES; l++)
          lane[l] += w[i + l] * w[i + l];
      for (; i < end; i++)
        part += w[i] * w[i];
      for (int l = 0; l < LANES; l++)
        part += lane[l];
      total += part;
    }
  return total;
}

/* Squared error of quantizing w with (s, zp): symmetric when qlo = −qmax
 * and zp = 0, affine when qlo = 0. s > 0. */
static double
span_sq_err (const float *restrict w,
             gsize                 n,
             float                 s,
             float                 zp,
             float                 qlo,
             float                 qhi)
{
  double total = 0.0;

  for (gsize b = 0; b < n; b += ERR_BLOCK)
    {
      gsize end = MIN (n, b + ERR_BLOCK), i = b;
      float lane[LANES] = { 0 }, part = 0.0f;

      for (; i + LANES <= end; i += LANES)
        for (int l = 0; l < LANES; l++)
          {
            float q = rne_fast (w[i + l] / s) + zp;
            float e;

            q = q < qlo ? qlo : q;
            q = q > qhi ? qhi : q;
            e = w[i + l] - (q - zp) * s;
            lane[l] += e * e;
          }
      for (; i < end; i++)
        {
          float q = rne_fast (w[i] / s) + zp;
          float e;

          q = q < qlo ? qlo : q;
          q = q > qhi ? qhi : q;
          e = w[i] - (q - zp) * s;
          part += e * e;
        }
      for (int l = 0; l < LANES; l++)
        part += lane[l];
      total += part;
    }
  return total;
}

/* Pruned positions are selected away with bit masks: GCC 12 does not
 * if-convert a float select on a byte condition, and a branch would keep
 * the loop scalar. */
static inline guint32
keep_mask (guint8 k)
{
  return -(guint32) (k != 0);
}

static inline float
and_float (float   v,
           guint32 mk)
{
  guint32 b;

  memcpy (&b, &v, sizeof b);
  b &= mk;
  memcpy (&v, &b, sizeof b);
  return v;
}

/* Writes w′ and codes for a span once (s, zp) is chosen. */
static void
span_apply (float        *restrict w,
            const guint8 *restrict keep,
            gint32       *restrict codes,
            gsize                  n,
            float                  s,
            gint32                 zp,
            float                  qlo,
            float                  qhi)
{
  float zpf = (float) zp;

  if (!(s > 0.0f))
    {
      /* All kept weights are 0 (or the scale underflowed): nothing to
       * divide by, everything dequantizes to 0. */
      for (gsize i = 0; i < n; i++)
        {
          w[i] = 0.0f;
          codes[i] = zp;
        }
      return;
    }
  if (keep != NULL)
    for (gsize i = 0; i < n; i++)
      {
        float q = rne_fast (w[i] / s) + zpf;

        guint32 mk = keep_mask (keep[i]);

        q = q < qlo ? qlo : q;
        q = q > qhi ? qhi : q;
        w[i] = and_float ((q - zpf) * s, mk);
        codes[i] = ((gint32) q & (gint32) mk) | (zp & (gint32) ~mk);
      }
  else
    for (gsize i = 0; i < n; i++)
      {
        float q = rne_fast (w[i] / s) + zpf;

        q = q < qlo ? qlo : q;
        q = q > qhi ? qhi : q;
        w[i] = (q - zpf) * s;
        codes[i] = (gint32) q;
      }
}

/* 1 bit: sign(w) · mean|w|. The sum is sequential in double, like the
 * twin's: it is one pass, and an exact match is worth more here. */
static float
span_binary (float        *restrict w,
             const guint8 *restrict keep,
             gint32       *restrict codes,
             gsize                  n)
{
  double sum = 0.0;
  gsize count = 0;
  float s;

  for (gsize i = 0; i < n; i++)
    if (keep == NULL || keep[i])
      {
        sum += fabsf (w[i]);
        count++;
      }
  s = count > 0 ? (float) (sum / (double) count) : 0.0f;
  if (keep != NULL)
    for (gsize i = 0; i < n; i++)
      {
        gint32 c = ((w[i] > 0.0f) - (w[i] < 0.0f)) & (gint32) keep_mask (keep[i]);

        codes[i] = c;
        w[i] = (float) c * s;
      }
  else
    for (gsize i = 0; i < n; i++)
      {
        gint32 c = (w[i] > 0.0f) - (w[i] < 0.0f);

        codes[i] = c;
        w[i] = (float) c * s;
      }
  return s;
}

static void
uniform_span (const UniformJob *job,
              float            *w,
              const guint8     *keep,
              gint32           *codes,
              gsize             n,
              float            *scale_out,
              gint32           *zp_out)
{
  const float *src = w;
  gsize m = n;
  float maxabs, lo, hi, s, qlo, qhi;
  gint32 zp;

  if (job->bits == 1)
    {
      *scale_out = span_binary (w, keep, codes, n);
      *zp_out = 0;
      return;
    }

  if (keep != NULL)
    {
      /* Scales see only kept weights: pack them once, then every
       * candidate below runs over a dense array. */
      m = 0;
      for (gsize i = 0; i < n; i++)
        if (keep[i])
          job->packed[m++] = w[i];
      src = job->packed;
    }

  span_range (src, m, &maxabs, &lo, &hi);
  if (job->affine)
    {
      qlo = 0.0f;
      qhi = (float) ((1 << job->bits) - 1);
    }
  else
    {
      qhi = (float) ((1 << (job->bits - 1)) - 1);
      qlo = -qhi;
    }

  uniform_params (job->affine, job->bits, 1.0f, maxabs, lo, hi, &s, &zp);
  if (job->method == LATHE_SCALE_MSE && s > 0.0f)
    {
      double best = G_MAXDOUBLE;
      float best_s = s;
      gint32 best_zp = zp;

      for (int i = 0; i < N_ALPHAS; i++)
        {
          float cs;
          gint32 czp;
          double err;

          uniform_params (job->affine, job->bits, mse_alpha (i), maxabs, lo, hi, &cs, &czp);
          err = cs > 0.0f ? span_sq_err (src, m, cs, (float) czp, qlo, qhi) : sum_sq (src, m);
          if (err < best)       /* strict: ties keep the larger α */
            {
              best = err;
              best_s = cs;
              best_zp = czp;
            }
        }
      s = best_s;
      zp = best_zp;
    }
  if (!(s > 0.0f))
    {
      s = 0.0f;
      zp = 0;
    }

  span_apply (w, keep, codes, n, s, zp, qlo, qhi);
  *scale_out = s;
  *zp_out = zp;
}

gboolean
lathe_quant_uniform (LatheWeightView   *view,
                     int                bits,
                     LatheGranularity   granularity,
                     int                group_channels,
                     gboolean           affine,
                     LatheScaleMethod   scale,
                     const guint8      *keep,
                     LatheQuantized   **out,
                     GError           **error)
{
  g_autoptr(LatheQuantized) q = NULL;
  UniformJob job = { bits, affine, scale, NULL };
  gsize group_len, span, n, n_spans;

  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (view->data != NULL || view->rows * view->cols == 0, FALSE);
  g_return_val_if_fail (granularity <= LATHE_GRANULARITY_GROUP, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out != NULL)
    *out = NULL;
  if (!check_uniform_args (view, bits, granularity, group_channels, affine, &group_len, error))
    return FALSE;

  /* The result struct doubles as the scratch for codes and scales when
   * the caller does not want it. */
  q = lathe_quantized_new (bits, affine, granularity, group_len, view->rows, view->cols);
  n = view->rows * view->cols;
  span = uniform_span_len (view, granularity, group_len);
  if (keep != NULL && bits > 1)
    job.packed = lathe_aligned_alloc (MAX (span, 1) * sizeof (float));

  n_spans = 0;
  if (granularity == LATHE_GRANULARITY_TENSOR)
    {
      gint32 zp;

      uniform_span (&job, view->data, keep, q->codes, n, &q->scales[0], &zp);
      if (affine)
        q->zero_points[0] = zp;
    }
  else
    for (gsize r = 0; r < view->rows; r++)
      for (gsize c = 0; c < view->cols; c += span, n_spans++)
        {
          gsize off = r * view->cols + c;
          gint32 zp;

          uniform_span (&job, view->data + off, keep ? keep + off : NULL, q->codes + off,
                        MIN (span, view->cols - c), &q->scales[n_spans], &zp);
          if (affine)
            q->zero_points[n_spans] = zp;
        }
  g_assert (granularity == LATHE_GRANULARITY_TENSOR || n_spans == q->n_scales);

  lathe_aligned_free (job.packed);
  if (out != NULL)
    *out = g_steal_pointer (&q);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Uniform, reference */

/* One weight through the quantizer: the spec's formula with libm rounding
 * and integer clamps. */
static float
ref_fake_quant (float   w,
                float   s,
                gint32  zp,
                gint32  qlo,
                gint32  qhi,
                gint32 *code)
{
  gint32 q;

  if (s == 0.0f)
    {
      *code = zp;
      return 0.0f;
    }
  q = CLAMP ((gint32) nearbyintf (w / s) + zp, qlo, qhi);
  *code = q;
  return (float) (q - zp) * s;
}

static void
ref_uniform_span (int               bits,
                  gboolean          affine,
                  LatheScaleMethod  method,
                  float            *w,
                  const guint8     *keep,
                  gint32           *codes,
                  gsize             n,
                  float            *scale_out,
                  gint32           *zp_out)
{
  float maxabs = 0.0f, lo = 0.0f, hi = 0.0f, s;
  gint32 zp, qlo, qhi;

  if (bits == 1)
    {
      double sum = 0.0;
      gsize count = 0;

      for (gsize i = 0; i < n; i++)
        if (keep == NULL || keep[i])
          {
            sum += fabsf (w[i]);
            count++;
          }
      s = count > 0 ? (float) (sum / (double) count) : 0.0f;
      for (gsize i = 0; i < n; i++)
        {
          gint32 c = 0;

          if (keep == NULL || keep[i])
            c = w[i] > 0.0f ? 1 : w[i] < 0.0f ? -1 : 0;
          codes[i] = c;
          w[i] = (float) c * s;
        }
      *scale_out = s;
      *zp_out = 0;
      return;
    }

  for (gsize i = 0; i < n; i++)
    if (keep == NULL || keep[i])
      {
        maxabs = MAX (maxabs, fabsf (w[i]));
        lo = MIN (lo, w[i]);
        hi = MAX (hi, w[i]);
      }
  qhi = affine ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
  qlo = affine ? 0 : -qhi;

  uniform_params (affine, bits, 1.0f, maxabs, lo, hi, &s, &zp);
  if (method == LATHE_SCALE_MSE && s > 0.0f)
    {
      double best = G_MAXDOUBLE;
      float best_s = s;
      gint32 best_zp = zp;

      for (int a = 0; a < N_ALPHAS; a++)
        {
          float cs;
          gint32 czp, code;
          double err = 0.0;

          uniform_params (affine, bits, mse_alpha (a), maxabs, lo, hi, &cs, &czp);
          for (gsize i = 0; i < n; i++)
            if (keep == NULL || keep[i])
              {
                float e = w[i] - ref_fake_quant (w[i], cs, czp, qlo, qhi, &code);
                err += (double) e * e;
              }
          if (err < best)
            {
              best = err;
              best_s = cs;
              best_zp = czp;
            }
        }
      s = best_s;
      zp = best_zp;
    }
  if (!(s > 0.0f))
    {
      s = 0.0f;
      zp = 0;
    }

  for (gsize i = 0; i < n; i++)
    {
      if (keep == NULL || keep[i])
        w[i] = ref_fake_quant (w[i], s, zp, qlo, qhi, &codes[i]);
      else
        {
          w[i] = 0.0f;
          codes[i] = zp;
        }
    }
  *scale_out = s;
  *zp_out = zp;
}

gboolean
lathe_quant_uniform_ref (LatheWeightView   *view,
                         int                bits,
                         LatheGranularity   granularity,
                         int                group_channels,
                         gboolean           affine,
                         LatheScaleMethod   scale,
                         const guint8      *keep,
                         LatheQuantized   **out,
                         GError           **error)
{
  g_autoptr(LatheQuantized) q = NULL;
  gsize group_len, span, per_row;

  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (granularity <= LATHE_GRANULARITY_GROUP, FALSE);

  if (out != NULL)
    *out = NULL;
  if (!check_uniform_args (view, bits, granularity, group_channels, affine, &group_len, error))
    return FALSE;
  q = lathe_quantized_new (bits, affine, granularity, group_len, view->rows, view->cols);

  if (granularity == LATHE_GRANULARITY_TENSOR)
    {
      gint32 zp;

      ref_uniform_span (bits, affine, scale, view->data, keep, q->codes,
                        view->rows * view->cols, &q->scales[0], &zp);
      if (affine)
        q->zero_points[0] = zp;
    }
  else
    {
      span = granularity == LATHE_GRANULARITY_CHANNEL ? view->cols : group_len;
      per_row = q->scales_per_row;
      for (gsize r = 0; r < view->rows; r++)
        for (gsize g = 0; g < per_row; g++)
          {
            gsize c0 = g * span, len = MIN (span, view->cols - c0);
            gsize off = r * view->cols + c0, si = r * per_row + g;
            gint32 zp;

            ref_uniform_span (bits, affine, scale, view->data + off,
                              keep ? keep + off : NULL, q->codes + off, len,
                              &q->scales[si], &zp);
            if (affine)
              q->zero_points[si] = zp;
          }
    }

  if (out != NULL)
    *out = g_steal_pointer (&q);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * float16 */

void
lathe_quant_fp16 (LatheWeightView *view)
{
  gsize n;

  g_return_if_fail (view != NULL);

  n = view->rows * view->cols;
  for (gsize i = 0; i < n; i++)
    view->data[i] = lathe_half_to_float (lathe_float_to_half (view->data[i]));
}

/* ------------------------------------------------------------------------
 * Palette, shared */

static gboolean
check_palette_args (int      bits,
                    int      iterations,
                    GError **error)
{
  if (bits < 1 || bits > 8)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "palette quantization takes 1 to 8 bits, not %d", bits);
      return FALSE;
    }
  if (iterations < 0)
    {
      g_set_error (error, LATHE_COMPRESS_ERROR, LATHE_COMPRESS_ERROR_INVALID,
                   "palette iterations must be 0 or more, not %d", iterations);
      return FALSE;
    }
  return TRUE;
}

static inline float
palette_init (float lo,
              float hi,
              int   j,
              int   k)
{
  return (float) ((double) lo + ((double) hi - (double) lo) * j / (k - 1));
}

static inline gboolean
same_bits (float a,
           float b)
{
  return memcmp (&a, &b, sizeof (float)) == 0;
}

/* ------------------------------------------------------------------------
 * Palette, fast path
 *
 * The span's kept weights are sorted once. Centroids are kept as a sorted
 * table of distinct values, each with the lowest index that holds it; a
 * weight's nearest centroid is then a neighbour of its position in that
 * table, found by a pointer that only moves forward along the sorted
 * weights. An iteration costs O(m + K) instead of O(m · K). */

typedef struct {
  float  v;
  int    idx;
} Centroid;

/* Position of a weight in the table for the final, unsorted pass: the
 * range [lo, hi] is cut into buckets, and start[b] counts the table values
 * whose bucket is below b — all of them ≤ any w in bucket b, because the
 * bucket of x is monotone in x. A short forward scan finishes the count.
 * This replaced a binary search whose dependent loads dominated. */
#define BUCKETS_PER_CENTROID 8

typedef struct {
  float  lo, inv;
  gsize  n;
  int   *start;             /* [n + 1] */
} Buckets;

static inline gsize
bucket_of (const Buckets *bk,
           float          x)
{
  float f;

  if (!(bk->inv > 0.0f) || x <= bk->lo)
    return 0;
  f = (x - bk->lo) * bk->inv;
  return f >= (float) (bk->n - 1) ? bk->n - 1 : (gsize) f;
}

static void
buckets_build (Buckets        *bk,
               float           lo,
               float           hi,
               const Centroid *t,
               int             nu)
{
  float range = hi - lo;
  int j = 0;

  bk->lo = lo;
  bk->inv = range > 0.0f && isfinite (range) ? (float) bk->n / range : 0.0f;
  if (!isfinite (bk->inv))
    bk->inv = 0.0f;
  for (gsize b = 0; b <= bk->n; b++)
    {
      while (j < nu && bucket_of (bk, t[j].v) < b)
        j++;
      bk->start[b] = j;
    }
}

/* Number of table values ≤ w. */
static inline int
palette_position (const Buckets  *bk,
                  const Centroid *t,
                  int             nu,
                  float           w)
{
  int p = bk->start[bucket_of (bk, w)];

  while (p < nu && t[p].v <= w)
    p++;
  return p;
}

typedef struct {
  int       k;
  int       iterations;
  float    *sorted;     /* span's kept weights */
  guint32  *keys;       /* radix sort: two key buffers and the digit counts */
  guint32  *keys_tmp;
  gsize    *radix_counts;
  Buckets   buckets;
  double   *sums;       /* [k] */
  gsize    *counts;     /* [k] */
  Centroid *table;      /* [k], sorted by (v, idx) then deduplicated */
} PaletteJob;

static int
cmp_float (const void *a,
           const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

/* Floats as unsigned keys in the same order: negatives have all bits
 * flipped, the others only the sign bit. */
static inline guint32
float_key (float f)
{
  guint32 u;

  memcpy (&u, &f, sizeof u);
  return u & 0x80000000u ? ~u : u | 0x80000000u;
}

static inline float
key_float (guint32 k)
{
  guint32 u = k & 0x80000000u ? k & 0x7fffffffu : ~k;
  float f;

  memcpy (&f, &u, sizeof f);
  return f;
}

#define RADIX_BITS   11
#define RADIX_SIZE   (1 << RADIX_BITS)
#define RADIX_PASSES 3          /* 3 × 11 ≥ 32 bits */
#define RADIX_MIN    1024       /* below this qsort is cheaper than the histograms */

/* LSD radix sort of m floats: O(m); qsort was most of a large palette's
 * time. keys and tmp hold m entries, counts RADIX_PASSES × RADIX_SIZE. */
static void
sort_floats (float   *restrict v,
             guint32 *restrict keys,
             guint32 *restrict tmp,
             gsize   *restrict counts,
             gsize             m)
{
  guint32 *src = keys, *dst = tmp, *swap;

  if (m < RADIX_MIN)
    {
      qsort (v, m, sizeof (float), cmp_float);
      return;
    }
  memset (counts, 0, RADIX_PASSES * RADIX_SIZE * sizeof (gsize));
  for (gsize i = 0; i < m; i++)
    {
      guint32 k = float_key (v[i]);

      keys[i] = k;
      for (int p = 0; p < RADIX_PASSES; p++)
        counts[p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
    }
  for (int p = 0; p < RADIX_PASSES; p++)
    {
      gsize *c = counts + p * RADIX_SIZE, total = 0;

      for (int d = 0; d < RADIX_SIZE; d++)
        {
          gsize here = c[d];

          c[d] = total;
          total += here;
        }
      for (gsize i = 0; i < m; i++)
        dst[c[(src[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++] = src[i];
      swap = src;
      src = dst;
      dst = swap;
    }
  for (gsize i = 0; i < m; i++)
    v[i] = key_float (src[i]);
}

/* Insertion sort: centroids stay in order under Lloyd iterations in 1-D,
 * so this is one pass in practice. */
static int
palette_table (Centroid    *table,
               const float *c,
               int          k)
{
  int nu = 0;

  for (int j = 0; j < k; j++)
    {
      int p = j;

      while (p > 0 && table[p - 1].v > c[j])
        {
          table[p] = table[p - 1];
          p--;
        }
      table[p].v = c[j];
      table[p].idx = j;
    }
  /* Equal values: keep the first, which has the lowest index (the sort is
   * stable and indices were inserted in increasing order). */
  for (int j = 0; j < k; j++)
    if (nu == 0 || table[j].v != table[nu - 1].v)
      table[nu++] = table[j];
  return nu;
}

/* Nearest centroid index for w, where p = number of table values ≤ w.
 * |w − c| in float is monotone in c on each side of w, so the best value
 * on a side is the neighbour; a run of values whose rounded distance ties
 * with it is walked so that ties go to the lowest index, as in the twin's
 * exhaustive search. */
static inline int
palette_nearest (float           w,
                 const Centroid *t,
                 int             nu,
                 int             p)
{
  int lo_idx = G_MAXINT, hi_idx = G_MAXINT;
  float dlo = INFINITY, dhi = INFINITY;

  if (p > 0)
    {
      dlo = w - t[p - 1].v;
      lo_idx = t[p - 1].idx;
      for (int q = p - 2; q >= 0 && w - t[q].v == dlo; q--)
        lo_idx = MIN (lo_idx, t[q].idx);
    }
  if (p < nu)
    {
      dhi = t[p].v - w;
      hi_idx = t[p].idx;
      for (int q = p + 1; q < nu && t[q].v - w == dhi; q++)
        hi_idx = MIN (hi_idx, t[q].idx);
    }
  if (dlo < dhi)
    return lo_idx;
  if (dhi < dlo)
    return hi_idx;
  return MIN (lo_idx, hi_idx);
}

static void
palette_span (PaletteJob       *job,
              float            *restrict w,
              const guint8     *restrict keep,
              gsize             n,
              float            *restrict c,
              guint16          *restrict indices)
{
  int k = job->k, nu;
  float *v = job->sorted;
  gsize m = 0;

  for (gsize i = 0; i < n; i++)
    if (keep == NULL || keep[i])
      v[m++] = w[i];
  if (m == 0)
    {
      memset (c, 0, k * sizeof (float));
      for (gsize i = 0; i < n; i++)
        {
          w[i] = 0.0f;
          indices[i] = 0;
        }
      return;
    }
  sort_floats (v, job->keys, job->keys_tmp, job->radix_counts, m);

  for (int j = 0; j < k; j++)
    c[j] = palette_init (v[0], v[m - 1], j, k);

  for (int it = 0; it < job->iterations; it++)
    {
      gboolean changed = FALSE;
      int p = 0;

      nu = palette_table (job->table, c, k);
      memset (job->sums, 0, k * sizeof (double));
      memset (job->counts, 0, k * sizeof (gsize));
      for (gsize i = 0; i < m; i++)
        {
          int j;

          while (p < nu && job->table[p].v <= v[i])
            p++;
          j = palette_nearest (v[i], job->table, nu, p);
          job->sums[j] += v[i];
          job->counts[j]++;
        }
      for (int j = 0; j < k; j++)
        if (job->counts[j] > 0)
          {
            float nc = (float) (job->sums[j] / (double) job->counts[j]);

            changed |= !same_bits (nc, c[j]);
            c[j] = nc;
          }
      /* Same centroids, same assignment: the remaining iterations would
       * repeat this one exactly. */
      if (!changed)
        break;
    }

  nu = palette_table (job->table, c, k);
  buckets_build (&job->buckets, v[0], v[m - 1], job->table, nu);
  for (gsize i = 0; i < n; i++)
    {
      if (keep == NULL || keep[i])
        {
          int j = palette_nearest (w[i], job->table, nu,
                                   palette_position (&job->buckets, job->table, nu, w[i]));

          w[i] = c[j];
          indices[i] = (guint16) j;
        }
      else
        {
          w[i] = 0.0f;
          indices[i] = 0;
        }
    }
}

gboolean
lathe_quant_palette (LatheWeightView   *view,
                     int                bits,
                     gboolean           per_channel,
                     int                iterations,
                     const guint8      *keep,
                     LathePalette     **out,
                     GError           **error)
{
  g_autoptr(LathePalette) pal = NULL;
  PaletteJob job = { 0 };
  gsize span, n_spans;

  g_return_val_if_fail (view != NULL, FALSE);
  g_return_val_if_fail (view->data != NULL || view->rows * view->cols == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out != NULL)
    *out = NULL;
  if (!check_palette_args (bits, iterations, error))
    return FALSE;

  n_spans = per_channel ? view->rows : 1;
  span = per_channel ? view->cols : view->rows * view->cols;
  pal = lathe_palette_new (bits, view->rows, view->cols, n_spans);

  job.k = 1 << bits;
  job.iterations = iterations;
  job.sorted = lathe_aligned_alloc (MAX (span, 1) * sizeof (float));
  job.keys = lathe_aligned_alloc (MAX (span, 1) * sizeof (guint32));
  job.keys_tmp = lathe_aligned_alloc (MAX (span, 1) * sizeof (guint32));
  job.radix_counts = g_new (gsize, RADIX_PASSES * RADIX_SIZE);
  job.buckets.n = (gsize) BUCKETS_PER_CENTROID * job.k;
  job.buckets.start = g_new (int, job.buckets.n + 1);
  job.sums = g_new (double, job.k);
  job.counts = g_new (gsize, job.k);
  job.table = g_new (Centroid, job.k);

  for (gsize r = 0; r < n_spans; r++)
    {
      gsize off = r * span;

      palette_span (&job, view->data + off, keep ? keep + off : NULL, span,
                    pal->codebooks + r * job.k, pal->indices + off);
    }

  lathe_aligned_free (job.sorted);
  lathe_aligned_free (job.keys);
  lathe_aligned_free (job.keys_tmp);
  g_free (job.radix_counts);
  g_free (job.buckets.start);
  g_free (job.sums);
  g_free (job.counts);
  g_free (job.table);
  if (out != NULL)
    *out = g_steal_pointer (&pal);
  return TRUE;
}

/* ------------------------------------------------------------------------
 * Palette, reference: exhaustive nearest-centroid search, sums in flat
 * order, every iteration run. */

static int
ref_nearest (float        w,
             const float *c,
             int          k)
{
  int best = 0;

  for (int j = 1; j < k; j++)
    if (fabsf (w - c[j]) < fabsf (w - c[best]))
      best = j;
  return best;
}

static void
ref_palette_span (int           k,
                  int           iterations,
                  float        *w,
                  const guint8 *keep,
                  gsize         n,
                  float        *c,
                  guint16      *indices)
{
  g_autofree double *sums = g_new (double, k);
  g_autofree gsize *counts = g_new (gsize, k);
  float lo = INFINITY, hi = -INFINITY;

  for (gsize i = 0; i < n; i++)
    if (keep == NULL || keep[i])
      {
        lo = MIN (lo, w[i]);
        hi = MAX (hi, w[i]);
      }
  if (lo > hi)                  /* nothing kept */
    lo = hi = 0.0f;
  for (int j = 0; j < k; j++)
    c[j] = palette_init (lo, hi, j, k);

  for (int it = 0; it < iterations; it++)
    {
      memset (sums, 0, k * sizeof (double));
      memset (counts, 0, k * sizeof (gsize));
      for (gsize i = 0; i < n; i++)
        if (keep == NULL || keep[i])
          {
            int j = ref_nearest (w[i], c, k);

            sums[j] += w[i];
            counts[j]++;
          }
      for (int j = 0; j < k; j++)
        if (counts[j] > 0)
          c[j] = (float) (sums[j] / (double) counts[j]);
    }

  for (gsize i = 0; i < n; i++)
    {
      if (keep == NULL || keep[i])
        {
          int j = ref_nearest (w[i], c, k);

          w[i] = c[j];
          indices[i] = (guint16) j;
        }
      else
        {
          w[i] = 0.0f;
          indices[i] = 0;
        }
    }
}

gboolean
lathe_quant_palette_ref (LatheWeightView   *view,
                         int                bits,
                         gboolean           per_channel,
                         int                iterations,
                         const guint8      *keep,
                         LathePalette     **out,
                         GError           **error)
{
  g_autoptr(LathePalette) pal = NULL;
  gsize span, n_spans;
  int k;

  g_return_val_if_fail (view != NULL, FALSE);

  if (out != NULL)
    *out = NULL;
  if (!check_palette_args (bits, iterations, error))
    return FALSE;

  k = 1 << bits;
  n_spans = per_channel ? view->rows : 1;
  span = per_channel ? view->cols : view->rows * view->cols;
  pal = lathe_palette_new (bits, view->rows, view->cols, n_spans);
  for (gsize r = 0; r < n_spans; r++)
    ref_palette_span (k, iterations, view->data + r * span, keep ? keep + r * span : NULL,
                      span, pal->codebooks + r * k, pal->indices + r * span);

  if (out != NULL)
    *out = g_steal_pointer (&pal);
  return TRUE;
}
