/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "core/lathe-tensor.h"

G_BEGIN_DECLS

/* NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, little
 * endian. Element types: float32 ('<f4'), uint8 ('|u1'), int8 ('|i1'),
 * int32 ('<i4') and int64 ('<i8'). Errors are in LATHE_DATA_ERROR and name
 * the file. */

/* Writes an NPY 1.0 file laid out byte for byte as numpy.save() does. The
 * file is written to a temporary name in the same folder and renamed, so a
 * reader never sees half a file. */
gboolean     lathe_npy_write (const char     *path,
                              LatheDType      dtype,
                              guint           ndim,
                              const gint64   *dims,
                              gconstpointer   data,
                              GError        **error);

/* Reads the whole array (a gzip-compressed .npy is accepted as well). */
LatheTensor *lathe_npy_read  (const char     *path,
                              GError        **error);

G_END_DECLS
