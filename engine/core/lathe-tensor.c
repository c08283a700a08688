/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-core"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lathe-error.h"
#include "lathe-tensor.h"

static const LatheDTypeTraits dtype_traits[] = {
  [LATHE_DTYPE_UNDEFINED]  = { "undefined", 0, FALSE },
  [LATHE_DTYPE_FLOAT]      = { "float",     4, TRUE },
  [LATHE_DTYPE_UINT8]      = { "uint8",     1, TRUE },
  [LATHE_DTYPE_INT8]       = { "int8",      1, TRUE },
  [LATHE_DTYPE_UINT16]     = { "uint16",    2, TRUE },
  [LATHE_DTYPE_INT16]      = { "int16",     2, TRUE },
  [LATHE_DTYPE_INT32]      = { "int32",     4, TRUE },
  [LATHE_DTYPE_INT64]      = { "int64",     8, TRUE },
  [LATHE_DTYPE_STRING]     = { "string",    0, FALSE },
  [LATHE_DTYPE_BOOL]       = { "bool",      1, TRUE },
  [LATHE_DTYPE_FLOAT16]    = { "float16",   2, TRUE },
  [LATHE_DTYPE_DOUBLE]     = { "double",    8, TRUE },
  [LATHE_DTYPE_UINT32]     = { "uint32",    4, TRUE },
  [LATHE_DTYPE_UINT64]     = { "uint64",    8, TRUE },
  [LATHE_DTYPE_COMPLEX64]  = { "complex64", 8, FALSE },
  [LATHE_DTYPE_COMPLEX128] = { "complex128", 16, FALSE },
  [LATHE_DTYPE_BFLOAT16]   = { "bfloat16",  2, FALSE },
  [LATHE_DTYPE_FLOAT8E4M3FN]   = { "float8e4m3fn", 1, FALSE },
  [LATHE_DTYPE_FLOAT8E4M3FNUZ] = { "float8e4m3fnuz", 1, FALSE },
  [LATHE_DTYPE_FLOAT8E5M2]     = { "float8e5m2", 1, FALSE },
  [LATHE_DTYPE_FLOAT8E5M2FNUZ] = { "float8e5m2fnuz", 1, FALSE },
  [LATHE_DTYPE_UINT4]      = { "uint4",     0, FALSE },
  [LATHE_DTYPE_INT4]       = { "int4",      0, FALSE },
};
G_STATIC_ASSERT (G_N_ELEMENTS (dtype_traits) == LATHE_DTYPE_COUNT);

static const LatheDTypeTraits unknown_traits = { "unknown", 0, FALSE };

const LatheDTypeTraits *
lathe_dtype_traits (LatheDType dtype)
{
  if ((guint) dtype >= LATHE_DTYPE_COUNT)
    return &unknown_traits;
  return &dtype_traits[dtype];
}

const char *
lathe_dtype_name (LatheDType dtype)
{
  return lathe_dtype_traits (dtype)->name;
}

gsize
lathe_dtype_size (LatheDType dtype)
{
  return lathe_dtype_traits (dtype)->size;
}

G_DEFINE_BOXED_TYPE (LatheTensor, lathe_tensor, lathe_tensor_ref, lathe_tensor_unref)

/* Big buffers (weights, activation arenas) are aligned to 2 MiB and asked
 * for transparent huge pages: first-touch page faults dominate loading a
 * 100 MB model on a VM otherwise, and fewer TLB misses help the kernels. */
#define HUGE_THRESHOLD (4u << 20)
#define HUGE_ALIGN     (2u << 20)

gpointer
lathe_aligned_alloc (gsize size)
{
  gpointer mem = NULL;
  gsize rounded = (MAX (size, 1) + 63) & ~(gsize) 63;
  gsize align = rounded >= HUGE_THRESHOLD ? HUGE_ALIGN : 64;

  if (posix_memalign (&mem, align, rounded) != 0)
    g_error ("out of memory allocating %" G_GSIZE_FORMAT " bytes", rounded);
#ifdef MADV_HUGEPAGE
  if (align == HUGE_ALIGN)
    madvise (mem, rounded, MADV_HUGEPAGE);
#endif
  return mem;
}

gpointer
lathe_aligned_alloc0 (gsize size)
{
  gsize rounded = (MAX (size, 1) + 63) & ~(gsize) 63;
  gpointer mem = lathe_aligned_alloc (size);

  memset (mem, 0, rounded);
  return mem;
}

void
lathe_aligned_free (gpointer mem)
{
  free (mem);
}

gboolean
lathe_shape_numel (guint         ndim,
                   const gint64 *dims,
                   gsize        *n_out)
{
  guint64 n = 1;

  for (guint i = 0; i < ndim; i++)
    {
      if (dims[i] < 0)
        return FALSE;
      if (dims[i] != 0 && n > (guint64) (G_MAXINT64 / 16) / (guint64) dims[i])
        return FALSE;
      n *= (guint64) dims[i];
    }
  *n_out = (gsize) n;
  return TRUE;
}

static LatheTensor *
tensor_alloc_header (LatheDType    dtype,
                     guint         ndim,
                     const gint64 *dims)
{
  LatheTensor *self = g_new0 (LatheTensor, 1);

  g_assert (ndim <= LATHE_MAX_DIMS);
  self->ref_count = 1;
  self->dtype = dtype;
  self->ndim = ndim;
  if (ndim > 0)
    memcpy (self->dims, dims, ndim * sizeof (gint64));
  return self;
}

LatheTensor *
lathe_tensor_new_checked (LatheDType     dtype,
                          guint          ndim,
                          const gint64  *dims,
                          GError       **error)
{
  LatheTensor *self;
  gsize n;
  gsize esize = lathe_dtype_size (dtype);

  if (!lathe_dtype_traits (dtype)->storable)
    {
      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                   "element type %s cannot be stored", lathe_dtype_name (dtype));
      return NULL;
    }
  if (ndim > LATHE_MAX_DIMS)
    {
      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_SHAPE,
                   "%u dimensions, at most %u are supported", ndim, LATHE_MAX_DIMS);
      return NULL;
    }
  if (!lathe_shape_numel (ndim, dims, &n) || n > G_MAXSIZE / 16 / esize)
    {
      g_autofree char *s = lathe_shape_to_string (ndim, dims);
      g_set_error (error, LATHE_GRAPH_ERROR, LATHE_GRAPH_ERROR_OVERFLOW,
                   "shape %s is negative or too large", s);
      return NULL;
    }

  self = tensor_alloc_header (dtype, ndim, dims);
  self->n = n;
  self->data = lathe_aligned_alloc0 (n * esize);
  self->owns_data = TRUE;
  return self;
}

LatheTensor *
lathe_tensor_new (LatheDType    dtype,
                  guint         ndim,
                  const gint64 *dims)
{
  g_autoptr(GError) error = NULL;
  LatheTensor *self = lathe_tensor_new_checked (dtype, ndim, dims, &error);

  if (self == NULL)
    g_critical ("lathe_tensor_new: %s", error->message);
  return self;
}

LatheTensor *
lathe_tensor_new_borrowed (LatheDType    dtype,
                           guint         ndim,
                           const gint64 *dims,
                           gpointer      data)
{
  LatheTensor *self = tensor_alloc_header (dtype, ndim, dims);
  gboolean ok = lathe_shape_numel (ndim, dims, &self->n);

  g_assert (ok);
  self->data = data;
  self->owns_data = FALSE;
  return self;
}

LatheTensor *
lathe_tensor_new_take (LatheDType    dtype,
                       guint         ndim,
                       const gint64 *dims,
                       gpointer      data)
{
  LatheTensor *self = lathe_tensor_new_borrowed (dtype, ndim, dims, data);

  self->owns_data = TRUE;
  return self;
}

LatheTensor *
lathe_tensor_new_scalar_float (float v)
{
  LatheTensor *self = lathe_tensor_new (LATHE_DTYPE_FLOAT, 0, NULL);

  lathe_tensor_f32 (self)[0] = v;
  return self;
}

LatheTensor *
lathe_tensor_dup (const LatheTensor *self)
{
  LatheTensor *copy = lathe_tensor_new (self->dtype, self->ndim, self->dims);

  memcpy (copy->data, self->data, lathe_tensor_nbytes (self));
  return copy;
}

LatheTensor *
lathe_tensor_ref (LatheTensor *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
lathe_tensor_unref (LatheTensor *self)
{
  g_return_if_fail (self != NULL);
  if (g_atomic_int_dec_and_test (&self->ref_count))
    {
      if (self->owns_data)
        lathe_aligned_free (self->data);
      g_free (self);
    }
}

gsize
lathe_tensor_nbytes (const LatheTensor *self)
{
  return self->n * lathe_dtype_size (self->dtype);
}

gboolean
lathe_tensor_same_shape (const LatheTensor *a,
                         const LatheTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (guint i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return TRUE;
}

char *
lathe_shape_to_string (guint         ndim,
                       const gint64 *dims)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

float
lathe_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  guint32 bits;
  float f;

  if (exp == 0)
    {
      if (mant == 0)
        bits = sign;
      else
        {
          /* subnormal: normalise */
          exp = 127 - 15 + 1;
          while ((mant & 0x400) == 0)
            {
              mant <<= 1;
              exp--;
            }
          mant &= 0x3ff;
          bits = sign | (exp << 23) | (mant << 13);
        }
    }
  else if (exp == 0x1f)
    bits = sign | 0x7f800000 | (mant << 13);
  else
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);

  memcpy (&f, &bits, 4);
  return f;
}

guint16
lathe_float_to_half (float f)
{
  guint32 x;
  guint32 sign, mant;
  gint32 exp;

  memcpy (&x, &f, 4);
  sign = (x >> 16) & 0x8000;
  exp = (gint32) ((x >> 23) & 0xff);
  mant = x & 0x7fffff;

  if (exp == 0xff)
    return (guint16) (sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));

  exp = exp - 127 + 15;
  if (exp >= 0x1f)
    return (guint16) (sign | 0x7c00);
  if (exp <= 0)
    {
      guint32 shift, half_bits, rem, halfway;

      if (exp < -10)
        return (guint16) sign;
      mant |= 0x800000;
      shift = (guint32) (14 - exp);
      half_bits = mant >> shift;
      rem = mant & ((1u << shift) - 1);
      halfway = 1u << (shift - 1);
      /* round half to even */
      if (rem > halfway || (rem == halfway && (half_bits & 1)))
        half_bits++;
      return (guint16) (sign | half_bits);
    }
  else
    {
      guint32 half = sign | ((guint32) exp << 10) | (mant >> 13);
      guint32 rem = mant & 0x1fff;

      if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
        half++;   /* may carry into the exponent, which is correct */
      return (guint16) half;
    }
}
