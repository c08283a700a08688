/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-data"

#include <string.h>

#include "core/lathe-error.h"
#include "data/lathe-data-io-private.h"

/* Deflate cannot expand more than about 1032:1; anything a header claims
 * beyond this bound over the compressed size is certainly not there. */
#define GZIP_MAX_RATIO 1040
#define GZIP_MAX_SLACK 4096

struct _LatheDataReader {
  GInputStream *stream;      /* the file itself, or the decompressor */
  GChecksum    *checksum;    /* borrowed; fed here only for raw files */
  char         *name;
  char         *label;       /* "<role> <name>" */
  gboolean      gzip;
  gboolean      size_known;
  guint64       stored_size; /* on-disk size (compressed size for gzip) */
  guint64       offset;      /* decoded bytes handed out so far */
  guint8        pending[2];  /* magic bytes read to sniff the format */
  gsize         n_pending;
};

static gboolean
propagate_stream_error (LatheDataReader  *reader,
                        GError           *local,
                        GError          **error)
{
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, local);
  else if (reader->gzip &&
           (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ||
            g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)))
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s: the gzip data is corrupt or truncated (%s)",
                   reader->label, local->message);
      g_error_free (local);
    }
  else
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_IO,
                   "Cannot read %s: %s", reader->label, local->message);
      g_error_free (local);
    }
  return FALSE;
}

void
_lathe_data_reader_free (LatheDataReader *reader)
{
  if (reader == NULL)
    return;
  g_clear_object (&reader->stream);
  g_free (reader->name);
  g_free (reader->label);
  g_free (reader);
}

LatheDataReader *
_lathe_data_reader_open (GFile         *file,
                         const char    *role,
                         GChecksum     *checksum,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(LatheDataReader) reader = g_new0 (LatheDataReader, 1);
  g_autoptr(GFileInputStream) fstream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  GError *local = NULL;
  gsize got = 0;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (role != NULL, NULL);

  reader->checksum = checksum;
  reader->name = g_file_get_parse_name (file);
  reader->label = g_strdup_printf ("%s %s", role, reader->name);

  fstream = g_file_read (file, cancellable, &local);
  if (fstream == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, local);
      else
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_IO,
                       "Cannot open %s: %s", reader->label, local->message);
          g_error_free (local);
        }
      return NULL;
    }

  /* The size bounds what a header may claim; a pipe has none. */
  info = g_file_input_stream_query_info (fstream,
                                         G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                                         G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                         cancellable, NULL);
  if (info != NULL &&
      g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR &&
      g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE))
    {
      reader->size_known = TRUE;
      reader->stored_size = (guint64) g_file_info_get_size (info);
    }

  reader->stream = G_INPUT_STREAM (g_object_ref (fstream));
  if (!g_input_stream_read_all (reader->stream, reader->pending, 2, &got,
                                cancellable, &local))
    {
      propagate_stream_error (reader, local, error);
      return NULL;
    }
  reader->n_pending = got;

  if (got == 2 && reader->pending[0] == 0x1f && reader->pending[1] == 0x8b)
    {
      /* The digest must cover the compressed bytes, which the decompressor
       * would swallow: load them (the smaller form) and hash them first. */
      g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
      g_autoptr(GBytes) compressed = NULL;
      g_autoptr(GInputStream) base = NULL;
      g_autoptr(GZlibDecompressor) gunzip = NULL;

      if (!g_output_stream_write_all (mem, reader->pending, 2, NULL, cancellable, &local) ||
          g_output_stream_splice (mem, reader->stream,
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                  cancellable, &local) < 0)
        {
          propagate_stream_error (reader, local, error);
          return NULL;
        }
      compressed = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
      if (checksum != NULL)
        g_checksum_update (checksum,
                           g_bytes_get_data (compressed, NULL),
                           (gssize) g_bytes_get_size (compressed));

      reader->gzip = TRUE;
      reader->size_known = TRUE;
      reader->stored_size = g_bytes_get_size (compressed);
      reader->n_pending = 0;
      g_clear_object (&reader->stream);

      base = g_memory_input_stream_new_from_bytes (compressed);
      gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      reader->stream = g_converter_input_stream_new (base, G_CONVERTER (gunzip));
    }
  else if (checksum != NULL && got > 0)
    {
      /* Raw: the sniffed bytes are the first of the file; later bytes are
       * hashed as they are read, so the digest stays in file order. */
      g_checksum_update (checksum, reader->pending, (gssize) got);
    }

  return g_steal_pointer (&reader);
}

const char *
_lathe_data_reader_get_label (LatheDataReader *reader)
{
  return reader->label;
}

const char *
_lathe_data_reader_get_name (LatheDataReader *reader)
{
  return reader->name;
}

gboolean
_lathe_data_reader_is_gzip (LatheDataReader *reader)
{
  return reader->gzip;
}

static gboolean
reader_read_some (LatheDataReader  *reader,
                  guint8           *buffer,
                  gsize             n_bytes,
                  gsize            *got_out,
                  GCancellable     *cancellable,
                  GError          **error)
{
  gsize done = 0;

  if (reader->n_pending > 0 && n_bytes > 0)
    {
      gsize k = MIN (n_bytes, reader->n_pending);

      memcpy (buffer, reader->pending, k);
      memmove (reader->pending, reader->pending + k, reader->n_pending - k);
      reader->n_pending -= k;
      done = k;
    }

  if (done < n_bytes)
    {
      GError *local = NULL;
      gsize got = 0;

      if (!g_input_stream_read_all (reader->stream, buffer + done, n_bytes - done,
                                    &got, cancellable, &local))
        return propagate_stream_error (reader, local, error);
      if (!reader->gzip && reader->checksum != NULL && got > 0)
        g_checksum_update (reader->checksum, buffer + done, (gssize) got);
      done += got;
    }

  reader->offset += done;
  *got_out = done;
  return TRUE;
}

gboolean
_lathe_data_reader_read (LatheDataReader  *reader,
                         gpointer          buffer,
                         gsize             n_bytes,
                         const char       *what,
                         GCancellable     *cancellable,
                         GError          **error)
{
  guint64 start = reader->offset;
  gsize got = 0;

  if (!reader_read_some (reader, buffer, n_bytes, &got, cancellable, error))
    return FALSE;
  if (got < n_bytes)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s is truncated: reading %s at byte %" G_GUINT64_FORMAT "%s "
                   "needed %" G_GSIZE_FORMAT " bytes, the file ends after %" G_GSIZE_FORMAT,
                   reader->label, what, start,
                   reader->gzip ? " of the decompressed data" : "",
                   n_bytes, got);
      return FALSE;
    }
  return TRUE;
}

gboolean
_lathe_data_reader_check_size (LatheDataReader  *reader,
                               guint64           n_bytes,
                               const char       *what,
                               GError          **error)
{
  if (!reader->size_known)
    return TRUE;

  if (reader->gzip)
    {
      guint64 bound = G_MAXUINT64;

      if (reader->stored_size < (G_MAXUINT64 - GZIP_MAX_SLACK) / GZIP_MAX_RATIO)
        bound = reader->stored_size * GZIP_MAX_RATIO + GZIP_MAX_SLACK;
      if (reader->offset > bound || n_bytes > bound - reader->offset)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                       "%s is truncated: %s needs %" G_GUINT64_FORMAT " bytes, more "
                       "than its %" G_GUINT64_FORMAT " compressed bytes can hold",
                       reader->label, what, n_bytes, reader->stored_size);
          return FALSE;
        }
    }
  else
    {
      guint64 remaining = reader->stored_size > reader->offset
                          ? reader->stored_size - reader->offset : 0;

      if (n_bytes > remaining)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                       "%s is truncated: %s needs %" G_GUINT64_FORMAT " bytes, "
                       "only %" G_GUINT64_FORMAT " remain after byte %" G_GUINT64_FORMAT,
                       reader->label, what, n_bytes, remaining, reader->offset);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
_lathe_data_reader_expect_end (LatheDataReader  *reader,
                               const char       *described,
                               GCancellable     *cancellable,
                               GError          **error)
{
  guint8 extra;
  gsize got = 0;

  if (!reader_read_some (reader, &extra, 1, &got, cancellable, error))
    return FALSE;
  if (got != 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s holds more data than %s describes (%" G_GUINT64_FORMAT
                   " bytes expected%s)",
                   reader->label, described, reader->offset - 1,
                   reader->gzip ? " after decompression" : "");
      return FALSE;
    }
  return TRUE;
}
