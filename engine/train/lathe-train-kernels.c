/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-train"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/lathe-tensor.h"
#include "lathe-train-kernels.h"

/* ---------------------------------------------------------------------- */
/* GEMM                                                                    */

void
lathe_train_gemm (gboolean     trans_a,
                  gboolean     trans_b,
                  gsize        m,
                  gsize        n,
                  gsize        k,
                  float        alpha,
                  const float *a,
                  const float *b,
                  float        beta,
                  float       *c)
{
  if (m == 0 || n == 0)
    return;
  if (k == 0)
    {
      for (gsize i = 0; i < m * n; i++)
        c[i] = beta == 0.f ? 0.f : beta * c[i];
      return;
    }
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
               (blasint) m, (blasint) n, (blasint) k, alpha,
               a, (blasint) (trans_a ? m : k), b, (blasint) (trans_b ? k : n),
               beta, c, (blasint) n);
}

void
lathe_train_gemm_ref (gboolean     trans_a,
                      gboolean     trans_b,
                      gsize        m,
                      gsize        n,
                      gsize        k,
                      float        alpha,
                      const float *a,
                      const float *b,
                      float        beta,
                      float       *c)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double sum = 0.0;
        for (gsize p = 0; p < k; p++)
          {
            double av = trans_a ? a[p * m + i] : a[i * k + p];
            double bv = trans_b ? b[j * k + p] : b[p * n + j];
            sum += av * bv;
          }
        c[i * n + j] = (float) (alpha * sum + (beta == 0.f ? 0.0 : (double) beta * c[i * n + j]));
      }
}

/* ---------------------------------------------------------------------- */
/* Convolution                                                             */

static gsize
kernel_rows (const LatheConvShape *s)
{
  return (gsize) (s->channels_in / s->group * lathe_conv_shape_kernel_size (s));
}

gsize
lathe_train_conv_backward_workspace (const LatheConvShape *s)
{
  if (lathe_conv_is_depthwise (s))
    return 0;
  return 2 * kernel_rows (s) * (gsize) lathe_conv_shape_out_size (s) * sizeof (float);
}

/* Depthwise: each output channel reads one input channel, so the loops
 * are short and direct beats im2col. */
static void
conv_backward_depthwise (const LatheConvShape *s,
                         const float          *x,
                         const float          *w,
                         const float          *dy,
                         float                *dx,
                         float                *dw)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  const gint64 out_size = lathe_conv_shape_out_size (s);
  const gint64 ks = lathe_conv_shape_kernel_size (s);
  const gint64 mult = s->channels_out / s->channels_in;

  for (gint64 nb = 0; nb < s->batch; nb++)
    for (gint64 m = 0; m < s->channels_out; m++)
      {
        const gint64 c = m / mult;
        const float *xp = x + (nb * s->channels_in + c) * in_size;
        const float *dyp = dy + (nb * s->channels_out + m) * out_size;
        float *dxp = dx ? dx + (nb * s->channels_in + c) * in_size : NULL;
        const float *wm = w + m * ks;
        float *dwm = dw ? dw + m * ks : NULL;

        for (gint64 a = 0; a < s->kernel[0]; a++)
          for (gint64 b = 0; b < s->kernel[1]; b++)
            for (gint64 e = 0; e < s->kernel[2]; e++)
              {
                const gint64 kidx = (a * s->kernel[1] + b) * s->kernel[2] + e;
                const float wv = wm[kidx];
                float acc = 0.f;

                for (gint64 od = 0; od < s->out[0]; od++)
                  {
                    gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                    if (id < 0 || id >= s->in[0])
                      continue;
                    for (gint64 oh = 0; oh < s->out[1]; oh++)
                      {
                        gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                        const float *dyr;
                        if (ih < 0 || ih >= s->in[1])
                          continue;
                        dyr = dyp + (od * s->out[1] + oh) * s->out[2];
                        for (gint64 ow = 0; ow < s->out[2]; ow++)
                          {
                            gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                            gint64 xi;
                            if (iw < 0 || iw >= s->in[2])
                              continue;
                            xi = (id * s->in[1] + ih) * s->in[2] + iw;
                            acc += dyr[ow] * xp[xi];
                            if (dxp)
                              dxp[xi] += dyr[ow] * wv;
                          }
                      }
                  }
                if (dwm)
                  dwm[kidx] += acc;
              }
      }
}

void
lathe_train_conv_backward (const LatheConvShape *s,
                           const float          *x,
                           const float          *w,
                           const float          *dy,
                           float                *dx,
                           float                *dw,
                           float                *db,
                           gpointer              workspace)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  const gint64 out_size = lathe_conv_shape_out_size (s);
  const gint64 cin_g = s->channels_in / s->group;
  const gint64 cout_g = s->channels_out / s->group;
  const gsize kr = kernel_rows (s);
  float *col = workspace;
  float *dcol = col ? col + kr * (gsize) out_size : NULL;

  if (db != NULL)
    for (gint64 nb = 0; nb < s->batch; nb++)
      for (gint64 m = 0; m < s->channels_out; m++)
        {
          const float *dyp = dy + (nb * s->channels_out + m) * out_size;
          float sum = 0.f;
          for (gint64 i = 0; i < out_size; i++)
            sum += dyp[i];
          db[m] += sum;
        }

  if (lathe_conv_is_depthwise (s))
    {
      conv_backward_depthwise (s, x, w, dy, dx, dw);
      return;
    }

  for (gint64 nb = 0; nb < s->batch; nb++)
    for (gint64 g = 0; g < s->group; g++)
      {
        const float *xg = x + (nb * s->channels_in + g * cin_g) * in_size;
        const float *dyg = dy + (nb * s->channels_out + g * cout_g) * out_size;
        const float *wg = w + (gsize) (g * cout_g) * kr;

        if (dw != NULL)
          {
            lathe_im2col_f32 (s, cin_g, xg, col);
            /* dW_g[cout_g, kr] += dY_g[cout_g, P] · col[kr, P]ᵀ */
            lathe_train_gemm (FALSE, TRUE, (gsize) cout_g, kr, (gsize) out_size, 1.f,
                              dyg, col, 1.f, dw + (gsize) (g * cout_g) * kr);
          }
        if (dx != NULL)
          {
            /* dcol[kr, P] = W_gᵀ · dY_g, scattered back by col2im */
            lathe_train_gemm (TRUE, FALSE, kr, (gsize) out_size, (gsize) cout_g, 1.f,
                              wg, dyg, 0.f, dcol);
            lathe_col2im_f32 (s, cin_g, dcol, dx + (nb * s->channels_in + g * cin_g) * in_size);
          }
      }
}

void
lathe_train_conv_backward_ref (const LatheConvShape *s,
                               const float          *x,
                               const float          *w,
                               const float          *dy,
                               float                *dx,
                               float                *dw,
                               float                *db)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  const gint64 out_size = lathe_conv_shape_out_size (s);
  const gint64 ks = lathe_conv_shape_kernel_size (s);
  const gint64 cin_g = s->channels_in / s->group;
  const gint64 cout_g = s->channels_out / s->group;
  const gsize n_x = (gsize) (s->batch * s->channels_in * in_size);
  const gsize n_w = (gsize) (s->channels_out * cin_g * ks);
  g_autofree double *gx = g_new0 (double, n_x);
  g_autofree double *gw = g_new0 (double, n_w);
  g_autofree double *gb = g_new0 (double, s->channels_out);

  for (gint64 nb = 0; nb < s->batch; nb++)
    for (gint64 m = 0; m < s->channels_out; m++)
      {
        const gint64 g = m / cout_g;
        for (gint64 od = 0; od < s->out[0]; od++)
          for (gint64 oh = 0; oh < s->out[1]; oh++)
            for (gint64 ow = 0; ow < s->out[2]; ow++)
              {
                double d = dy[(nb * s->channels_out + m) * out_size + (od * s->out[1] + oh) * s->out[2] + ow];
                gb[m] += d;
                for (gint64 cl = 0; cl < cin_g; cl++)
                  for (gint64 a = 0; a < s->kernel[0]; a++)
                    for (gint64 b = 0; b < s->kernel[1]; b++)
                      for (gint64 e = 0; e < s->kernel[2]; e++)
                        {
                          gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                          gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                          gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                          gsize xi, wi;
                          if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] || iw < 0 || iw >= s->in[2])
                            continue;
                          xi = (gsize) ((nb * s->channels_in + g * cin_g + cl) * in_size +
                                        (id * s->in[1] + ih) * s->in[2] + iw);
                          wi = (gsize) ((m * cin_g + cl) * ks + (a * s->kernel[1] + b) * s->kernel[2] + e);
                          gw[wi] += d * x[xi];
                          gx[xi] += d * w[wi];
                        }
              }
      }
  if (dx)
    for (gsize i = 0; i < n_x; i++)
      dx[i] += (float) gx[i];
  if (dw)
    for (gsize i = 0; i < n_w; i++)
      dw[i] += (float) gw[i];
  if (db)
    for (gint64 m = 0; m < s->channels_out; m++)
      db[m] += (float) gb[m];
}

void
lathe_train_avgpool_backward (const LatheConvShape *s,
                              const float          *dy,
                              float                *dx,
                              gboolean              count_include_pad)
{
  const gint64 in_size = lathe_conv_shape_in_size (s);
  gsize o = 0;

  /* The same window walk and divisor as lathe_avgpool_f32_ref. */
  for (gint64 p = 0; p < s->batch * s->channels_in; p++)
    for (gint64 od = 0; od < s->out[0]; od++)
      for (gint64 oh = 0; oh < s->out[1]; oh++)
        for (gint64 ow = 0; ow < s->out[2]; ow++, o++)
          {
            gint64 count = 0;
            float share = 0.f;

            for (int pass = 0; pass < 2; pass++)
              {
                if (pass == 1)
                  {
                    if (count == 0)
                      break;
                    share = dy[o] / (float) count;
                  }
                for (gint64 a = 0; a < s->kernel[0]; a++)
                  for (gint64 b = 0; b < s->kernel[1]; b++)
                    for (gint64 e = 0; e < s->kernel[2]; e++)
                      {
                        gint64 id = od * s->stride[0] - s->pad_begin[0] + a * s->dilation[0];
                        gint64 ih = oh * s->stride[1] - s->pad_begin[1] + b * s->dilation[1];
                        gint64 iw = ow * s->stride[2] - s->pad_begin[2] + e * s->dilation[2];
                        gboolean inside = id >= 0 && id < s->in[0] && ih >= 0 && ih < s->in[1] &&
                                          iw >= 0 && iw < s->in[2];
                        gboolean in_pads = id < s->in[0] + s->pad_end[0] &&
                                           ih < s->in[1] + s->pad_end[1] &&
                                           iw < s->in[2] + s->pad_end[2];
                        if (pass == 0)
                          count += inside || (count_include_pad && in_pads);
                        else if (inside)
                          dx[p * in_size + (id * s->in[1] + ih) * s->in[2] + iw] += share;
                      }
              }
          }
}

/* ---------------------------------------------------------------------- */
/* Loss                                                                    */

double
lathe_train_loss (gsize          batch,
                  gsize          classes,
                  const float   *z,
                  const float   *teacher,
                  const gint32  *labels,
                  double         temperature,
                  double         alpha,
                  float         *dz)
{
  const float inv_t = (float) (1.0 / temperature);
  const float kd = (float) (alpha * temperature / (double) batch);
  const float ce = (float) ((1.0 - alpha) / (double) batch);
  g_autofree float *ps = g_new (float, 3 * classes);
  float *pt = ps + classes, *p1 = pt + classes;
  double total = 0.0;

  for (gsize i = 0; i < batch; i++)
    {
      const float *zi = z + i * classes;
      float *dzi = dz + i * classes;
      float zmax = zi[0];

      for (gsize c = 1; c < classes; c++)
        zmax = MAX (zmax, zi[c]);
      for (gsize c = 0; c < classes; c++)
        dzi[c] = 0.f;

      if (alpha > 0)
        {
          const float *ti = teacher + i * classes;
          float tmax = ti[0], ss = 0.f, st = 0.f, kl = 0.f, lss, lst;

          for (gsize c = 1; c < classes; c++)
            tmax = MAX (tmax, ti[c]);
          for (gsize c = 0; c < classes; c++)
            {
              ps[c] = expf ((zi[c] - zmax) * inv_t);
              pt[c] = expf ((ti[c] - tmax) * inv_t);
              ss += ps[c];
              st += pt[c];
            }
          lss = logf (ss);
          lst = logf (st);
          for (gsize c = 0; c < classes; c++)
            {
              /* log p = (z − max)/T − log Σ */
              float lps = (zi[c] - zmax) * inv_t - lss;
              float lpt = (ti[c] - tmax) * inv_t - lst;
              float q = pt[c] / st;
              if (q > 0.f)
                kl += q * (lpt - lps);
              dzi[c] += kd * (ps[c] / ss - q);
            }
          total += alpha * temperature * temperature * kl;
        }
      if (alpha < 1)
        {
          float s = 0.f;
          gint32 y = labels[i];
          for (gsize c = 0; c < classes; c++)
            s += (p1[c] = expf (zi[c] - zmax));
          for (gsize c = 0; c < classes; c++)
            dzi[c] += ce * (p1[c] / s - (c == (gsize) y ? 1.f : 0.f));
          total += (1.0 - alpha) * (double) (logf (s) - (zi[y] - zmax));
        }
    }
  return total / (double) batch;
}

double
lathe_train_loss_ref (gsize          batch,
                      gsize          classes,
                      const float   *z,
                      const float   *teacher,
                      const gint32  *labels,
                      double         temperature,
                      double         alpha,
                      float         *dz)
{
  g_autofree double *ls = g_new (double, 2 * classes);
  double *lt = ls + classes;
  double total = 0.0;

  for (gsize i = 0; i < batch; i++)
    {
      for (gsize c = 0; c < classes; c++)
        dz[i * classes + c] = 0.f;
      /* log-softmax in double by the log-sum-exp definition */
      if (alpha > 0)
        {
          double ms = -INFINITY, mt = -INFINITY, ss = 0, st = 0;
          for (gsize c = 0; c < classes; c++)
            {
              ms = MAX (ms, z[i * classes + c] / temperature);
              mt = MAX (mt, teacher[i * classes + c] / temperature);
            }
          for (gsize c = 0; c < classes; c++)
            {
              ss += exp (z[i * classes + c] / temperature - ms);
              st += exp (teacher[i * classes + c] / temperature - mt);
            }
          for (gsize c = 0; c < classes; c++)
            {
              ls[c] = z[i * classes + c] / temperature - ms - log (ss);
              lt[c] = teacher[i * classes + c] / temperature - mt - log (st);
            }
          for (gsize c = 0; c < classes; c++)
            {
              total += alpha * temperature * temperature * exp (lt[c]) * (lt[c] - ls[c]);
              dz[i * classes + c] += (float) (alpha * temperature * (exp (ls[c]) - exp (lt[c])) / batch);
            }
        }
      if (alpha < 1)
        {
          double m = -INFINITY, s = 0;
          for (gsize c = 0; c < classes; c++)
            m = MAX (m, (double) z[i * classes + c]);
          for (gsize c = 0; c < classes; c++)
            s += exp (z[i * classes + c] - m);
          for (gsize c = 0; c < classes; c++)
            {
              double p = exp (z[i * classes + c] - m) / s;
              dz[i * classes + c] += (float) ((1 - alpha) * (p - (c == (gsize) labels[i])) / batch);
            }
          total += (1 - alpha) * (log (s) + m - z[i * classes + labels[i]]);
        }
    }
  return total / batch;
}

/* ---------------------------------------------------------------------- */
/* Generator                                                               */

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void
lathe_rng_init (LatheRng *rng,
                guint64   seed)
{
  guint64 x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
lathe_rng_next (LatheRng *rng)
{
  guint64 *s = rng->s;
  const guint64 result = rotl (s[1] * 5, 7) * 9;
  const guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

guint64
lathe_rng_below (LatheRng *rng,
                 guint64   bound)
{
  /* Rejection keeps every value equally likely. */
  guint64 limit = G_MAXUINT64 - G_MAXUINT64 % bound;
  guint64 r;

  g_return_val_if_fail (bound > 0, 0);
  do
    r = lathe_rng_next (rng);
  while (r >= limit);
  return r % bound;
}

void
lathe_rng_shuffle (LatheRng *rng,
                   guint32  *items,
                   gsize     n)
{
  for (gsize i = n; i > 1; i--)
    {
      gsize j = (gsize) lathe_rng_below (rng, i);
      guint32 t = items[i - 1];
      items[i - 1] = items[j];
      items[j] = t;
    }
}
