/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Element types use ONNX's TensorProto.DataType numbers, so loading and
 * export never translate. Numbers newer than Debian's onnx.proto (1.12)
 * are defined here by hand. */
typedef enum {
  LATHE_DTYPE_UNDEFINED = 0,
  LATHE_DTYPE_FLOAT     = 1,
  LATHE_DTYPE_UINT8     = 2,
  LATHE_DTYPE_INT8      = 3,
  LATHE_DTYPE_UINT16    = 4,
  LATHE_DTYPE_INT16     = 5,
  LATHE_DTYPE_INT32     = 6,
  LATHE_DTYPE_INT64     = 7,
  LATHE_DTYPE_STRING    = 8,
  LATHE_DTYPE_BOOL      = 9,
  LATHE_DTYPE_FLOAT16   = 10,
  LATHE_DTYPE_DOUBLE    = 11,
  LATHE_DTYPE_UINT32    = 12,
  LATHE_DTYPE_UINT64    = 13,
  LATHE_DTYPE_COMPLEX64 = 14,
  LATHE_DTYPE_COMPLEX128 = 15,
  LATHE_DTYPE_BFLOAT16  = 16,
  LATHE_DTYPE_FLOAT8E4M3FN = 17,
  LATHE_DTYPE_FLOAT8E4M3FNUZ = 18,
  LATHE_DTYPE_FLOAT8E5M2 = 19,
  LATHE_DTYPE_FLOAT8E5M2FNUZ = 20,
  LATHE_DTYPE_UINT4     = 21,
  LATHE_DTYPE_INT4      = 22,
  LATHE_DTYPE_COUNT
} LatheDType;

typedef struct {
  const char *name;      /* ONNX spelling: "float", "int64"… */
  guint       size;      /* bytes per element; 0 for sub-byte and strings */
  gboolean    storable;  /* LatheTensor can hold it */
} LatheDTypeTraits;

const LatheDTypeTraits *lathe_dtype_traits (LatheDType dtype);
const char             *lathe_dtype_name   (LatheDType dtype);
gsize                   lathe_dtype_size   (LatheDType dtype);

#define LATHE_MAX_DIMS 8

/* A plain, ref-counted n-d array (ggml style). Data is 64-byte aligned and
 * either owned or borrowed from an arena that outlives the tensor. */
typedef struct _LatheTensor LatheTensor;
struct _LatheTensor {
  LatheDType dtype;
  guint      ndim;
  gint64     dims[LATHE_MAX_DIMS];
  gsize      n;          /* number of elements */
  gpointer   data;
  /*< private >*/
  gint       ref_count;
  gboolean   owns_data;
};

#define LATHE_TYPE_TENSOR (lathe_tensor_get_type ())
GType        lathe_tensor_get_type     (void) G_GNUC_CONST;

LatheTensor *lathe_tensor_new          (LatheDType     dtype,
                                        guint          ndim,
                                        const gint64  *dims);
LatheTensor *lathe_tensor_new_checked  (LatheDType     dtype,
                                        guint          ndim,
                                        const gint64  *dims,
                                        GError       **error);
LatheTensor *lathe_tensor_new_borrowed (LatheDType     dtype,
                                        guint          ndim,
                                        const gint64  *dims,
                                        gpointer       data);
/* Takes `data`, which must come from lathe_aligned_alloc(). */
LatheTensor *lathe_tensor_new_take     (LatheDType     dtype,
                                        guint          ndim,
                                        const gint64  *dims,
                                        gpointer       data);
LatheTensor *lathe_tensor_new_scalar_float (float v);
LatheTensor *lathe_tensor_dup          (const LatheTensor *self);
LatheTensor *lathe_tensor_ref          (LatheTensor   *self);
void         lathe_tensor_unref        (LatheTensor   *self);
gsize        lathe_tensor_nbytes       (const LatheTensor *self);
gboolean     lathe_tensor_same_shape   (const LatheTensor *a,
                                        const LatheTensor *b);
char        *lathe_shape_to_string     (guint ndim,
                                        const gint64 *dims);

static inline float *
lathe_tensor_f32 (const LatheTensor *t)
{
  return (float *) t->data;
}

static inline gint64 *
lathe_tensor_i64 (const LatheTensor *t)
{
  return (gint64 *) t->data;
}

/* Element count of a shape with overflow and sign checks: FALSE when a
 * dimension is negative or the product exceeds G_MAXINT64 / 16. */
gboolean     lathe_shape_numel         (guint          ndim,
                                        const gint64  *dims,
                                        gsize         *n_out);

gpointer     lathe_aligned_alloc       (gsize          size);
gpointer     lathe_aligned_alloc0      (gsize          size);
void         lathe_aligned_free        (gpointer       mem);

float        lathe_half_to_float       (guint16        h);
guint16      lathe_float_to_half       (float          f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheTensor, lathe_tensor_unref)

G_END_DECLS
