/* SPDX-License-Identifier: MIT */
#pragma once

#if !defined (LATHE_ENGINE_COMPILATION)
#error "lathe-data-io-private.h is internal to the engine"
#endif

#include <gio/gio.h>

G_BEGIN_DECLS

/* Sequential reading of a data file, raw or gzip-compressed (detected by
 * the 1f 8b magic, never by the name). Parsers read exactly what their
 * header announces, so a gzip bomb is only decompressed as far as the
 * header claims, and a claim larger than the file could possibly hold is
 * refused before anything is allocated (see _lathe_data_reader_check_size).
 *
 * When a GChecksum is given it receives the file's bytes exactly as
 * stored on disk (the compressed bytes for gzip). The digest is complete
 * once _lathe_data_reader_expect_end() has succeeded. */
typedef struct _LatheDataReader LatheDataReader;

LatheDataReader *_lathe_data_reader_open        (GFile            *file,
                                                 const char       *role,
                                                 GChecksum        *checksum,
                                                 GCancellable     *cancellable,
                                                 GError          **error);
void             _lathe_data_reader_free        (LatheDataReader  *reader);

/* "images file /path/x.gz": the role given at open and the file's name,
 * ready to start a message. */
const char      *_lathe_data_reader_get_label   (LatheDataReader  *reader);
/* The file's name alone. */
const char      *_lathe_data_reader_get_name    (LatheDataReader  *reader);
gboolean         _lathe_data_reader_is_gzip     (LatheDataReader  *reader);

/* Reads exactly n_bytes; a short read is LATHE_DATA_ERROR_FORMAT saying
 * that the file is truncated and what (`what`) was being read. */
gboolean         _lathe_data_reader_read        (LatheDataReader  *reader,
                                                 gpointer          buffer,
                                                 gsize             n_bytes,
                                                 const char       *what,
                                                 GCancellable     *cancellable,
                                                 GError          **error);

/* Fails with a truncation error when n_bytes more cannot possibly be in
 * the file: exact for raw files, bounded by deflate's maximum ratio for
 * gzip. Call before allocating a buffer of a size read from a header. */
gboolean         _lathe_data_reader_check_size  (LatheDataReader  *reader,
                                                 guint64           n_bytes,
                                                 const char       *what,
                                                 GError          **error);

/* Fails when anything follows the data the header described. */
gboolean         _lathe_data_reader_expect_end  (LatheDataReader  *reader,
                                                 const char       *described,
                                                 GCancellable     *cancellable,
                                                 GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheDataReader, _lathe_data_reader_free)

G_END_DECLS
