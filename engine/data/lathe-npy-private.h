/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined (LATHE_ENGINE_COMPILATION)
#error "lathe-npy-private.h is internal to the engine"
#endif

#include "core/lathe-tensor.h"
#include "data/lathe-data-io-private.h"
#include "data/lathe-npy.h"

G_BEGIN_DECLS

typedef struct {
  LatheDType dtype;
  gboolean   swap;                  /* file byte order is not the host's */
  guint      ndim;
  gint64     dims[LATHE_MAX_DIMS];
  gsize      n;                     /* elements */
  gsize      nbytes;                /* bytes of array data */
  char       descr[8];              /* as written in the file, for messages */
} LatheNpyHeader;

/* Reads and validates the preamble and header dictionary, leaving the
 * reader at the first byte of array data. */
gboolean _lathe_npy_read_header (LatheDataReader       *reader,
                                 LatheNpyHeader        *header,
                                 GCancellable          *cancellable,
                                 GError               **error);

/* Reads header->nbytes into dst (in host byte order) and checks that
 * nothing follows. */
gboolean _lathe_npy_read_data   (LatheDataReader       *reader,
                                 const LatheNpyHeader  *header,
                                 gpointer               dst,
                                 GCancellable          *cancellable,
                                 GError               **error);

G_END_DECLS
