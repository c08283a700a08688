/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-data"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "lathe-config.h"

#include "core/lathe-error.h"
#include "data/lathe-dataset.h"
#include "data/lathe-npy.h"

/* Every file these tests read is written by the tests themselves into a
 * fresh temporary folder, except the optional Fashion-MNIST files and the
 * committed NPY fixtures under $G_TEST_SRCDIR/fixtures (skipped when
 * absent). */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("lathe-data-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->dir);
}

/* ------------------------------------------------------------ helpers --- */

static char *
write_file (Fixture    *f,
            const char *name,
            const void *data,
            gsize       len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static char *
write_array (Fixture    *f,
             const char *name,
             GByteArray *bytes)
{
  return write_file (f, name, bytes->data, bytes->len);
}

static GBytes *
gzip_bytes (const void *data,
            gsize       len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));

  g_output_stream_write_all (out, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);   /* closes mem as well */
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static GBytes *
gunzip_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, &error);
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) conv = NULL;
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();

  g_assert_no_error (error);
  conv = g_converter_input_stream_new (G_INPUT_STREAM (in), G_CONVERTER (z));
  g_output_stream_splice (mem, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

static GByteArray *
idx_bytes (guint8          type,
           guint           ndim,
           const guint32  *dims,
           const void     *data,
           gsize           len)
{
  GByteArray *a = g_byte_array_new ();
  guint8 magic[4] = { 0, 0, type, (guint8) ndim };

  g_byte_array_append (a, magic, 4);
  for (guint i = 0; i < ndim; i++)
    {
      guint32 be = GUINT32_TO_BE (dims[i]);
      g_byte_array_append (a, (const guint8 *) &be, 4);
    }
  if (len > 0)
    g_byte_array_append (a, data, (guint) len);
  return a;
}

/* An NPY file with a hand-written header dictionary, padded as numpy pads. */
static GByteArray *
npy_bytes (guint        major,
           const char  *dict,
           const void  *data,
           gsize        len)
{
  GByteArray *a = g_byte_array_new ();
  g_autoptr(GString) header = g_string_new (dict);
  gsize prefix = major == 1 ? 10 : 12;
  guint8 preamble[8] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (guint8) major, 0 };

  while ((prefix + header->len + 1) % 64 != 0)
    g_string_append_c (header, ' ');
  g_string_append_c (header, '\n');

  g_byte_array_append (a, preamble, 8);
  if (major == 1)
    {
      guint16 le = GUINT16_TO_LE ((guint16) header->len);
      g_byte_array_append (a, (const guint8 *) &le, 2);
    }
  else
    {
      guint32 le = GUINT32_TO_LE ((guint32) header->len);
      g_byte_array_append (a, (const guint8 *) &le, 4);
    }
  g_byte_array_append (a, (const guint8 *) header->str, (guint) header->len);
  if (len > 0)
    g_byte_array_append (a, data, (guint) len);
  return a;
}

static char *
sha256_of_files (const char *first,
                 const char *second)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *paths[] = { first, second };

  for (guint i = 0; i < G_N_ELEMENTS (paths) && paths[i] != NULL; i++)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;

      g_assert_true (g_file_get_contents (paths[i], &contents, &len, NULL));
      g_checksum_update (checksum, (const guchar *) contents, (gssize) len);
    }
  return g_strdup (g_checksum_get_string (checksum));
}

static LatheDataset *
load_idx (const char  *images,
          const char  *labels,
          GError     **error)
{
  g_autoptr(GFile) fi = g_file_new_for_path (images);
  g_autoptr(GFile) fl = labels != NULL ? g_file_new_for_path (labels) : NULL;

  return lathe_dataset_new_idx (fi, fl, NULL, error);
}

static LatheDataset *
load_npy (const char  *inputs,
          const char  *labels,
          GError     **error)
{
  g_autoptr(GFile) fi = g_file_new_for_path (inputs);
  g_autoptr(GFile) fl = labels != NULL ? g_file_new_for_path (labels) : NULL;

  return lathe_dataset_new_npy (fi, fl, NULL, error);
}

static gboolean
message_has (const char *message,
             const char *fragment)
{
  return fragment == NULL || strstr (message, fragment) != NULL;
}

/* The error has the expected domain and code and its message names the
 * file (and, when given, says something specific). */
#define assert_data_error(error, code, path, fragment)                        \
  G_STMT_START {                                                              \
    g_assert_error ((error), LATHE_DATA_ERROR, (code));                       \
    g_test_message ("%s", (error)->message);                                  \
    g_assert_true (message_has ((error)->message, (path)));                   \
    g_assert_true (message_has ((error)->message, (fragment)));               \
  } G_STMT_END

static const guint8 images_u8[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 250, 251, 254, 255 };
static const guint32 images_dims[3] = { 3, 2, 2 };
static const guint8 labels_u8[3] = { 2, 0, 1 };
static const guint32 labels_dims[1] = { 3 };

static void
assert_small_dataset (LatheDataset *ds)
{
  const gint64 *dims = lathe_dataset_get_sample_dims (ds);
  const gint32 *labels = lathe_dataset_get_labels (ds);

  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 3);
  g_assert_cmpint (lathe_dataset_get_dtype (ds), ==, LATHE_DTYPE_UINT8);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (ds), ==, 2);
  g_assert_cmpint (dims[0], ==, 2);
  g_assert_cmpint (dims[1], ==, 2);
  g_assert_cmpuint (lathe_dataset_get_sample_size (ds), ==, 4);
  g_assert_cmpmem (lathe_dataset_get_data (ds), 12, images_u8, 12);
  g_assert_true (lathe_dataset_has_labels (ds));
  g_assert_nonnull (labels);
  g_assert_cmpint (labels[0], ==, 2);
  g_assert_cmpint (labels[1], ==, 0);
  g_assert_cmpint (labels[2], ==, 1);
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 3);
}

/* ---------------------------------------------------------------- IDX --- */

static void
test_idx_raw (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x08, 1, labels_dims, labels_u8, 3);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl);
  g_autofree char *sha = sha256_of_files (img_path, lbl_path);
  g_autofree char *spec = g_strdup_printf ("idx:%s,%s", img_path, lbl_path);
  g_autoptr(LatheDataset) ds = load_idx (img_path, lbl_path, &error);
  g_autofree char *prop_spec = NULL;
  guint prop_n = 0;

  g_assert_no_error (error);
  assert_small_dataset (ds);
  g_assert_cmpstr (lathe_dataset_get_sha256 (ds), ==, sha);
  g_assert_cmpstr (lathe_dataset_get_spec (ds), ==, spec);

  g_object_get (ds, "spec", &prop_spec, "n-samples", &prop_n, NULL);
  g_assert_cmpstr (prop_spec, ==, spec);
  g_assert_cmpuint (prop_n, ==, 3);
}

static void
test_idx_gzip (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x08, 1, labels_dims, labels_u8, 3);
  g_autoptr(GBytes) img_gz = gzip_bytes (img->data, img->len);
  g_autoptr(GBytes) lbl_gz = gzip_bytes (lbl->data, lbl->len);
  /* Detection goes by the 1f 8b magic: the names say nothing. */
  g_autofree char *img_path = write_file (f, "images.bin",
                                          g_bytes_get_data (img_gz, NULL),
                                          g_bytes_get_size (img_gz));
  g_autofree char *lbl_path = write_file (f, "labels.bin",
                                          g_bytes_get_data (lbl_gz, NULL),
                                          g_bytes_get_size (lbl_gz));
  g_autofree char *sha = sha256_of_files (img_path, lbl_path);
  g_autoptr(LatheDataset) ds = load_idx (img_path, lbl_path, &error);

  g_assert_no_error (error);
  assert_small_dataset (ds);
  /* The digest covers the compressed bytes as stored. */
  g_assert_cmpstr (lathe_dataset_get_sha256 (ds), ==, sha);
}

static void
test_idx_float (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[6] = { 0.0f, -1.5f, 3.25f, 1e-20f, -0.0f, 65504.0f };
  guint32 be[6];
  const guint32 dims[2] = { 2, 3 };
  g_autoptr(GByteArray) img = NULL;
  g_autofree char *path = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  for (guint i = 0; i < 6; i++)
    {
      guint32 bits;
      memcpy (&bits, &values[i], 4);
      be[i] = GUINT32_TO_BE (bits);
    }
  img = idx_bytes (0x0D, 2, dims, be, sizeof be);
  path = write_array (f, "floats.idx", img);
  ds = load_idx (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (lathe_dataset_get_dtype (ds), ==, LATHE_DTYPE_FLOAT);
  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 2);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (ds), ==, 1);
  g_assert_cmpuint (lathe_dataset_get_sample_size (ds), ==, 3);
  g_assert_cmpmem (lathe_dataset_get_data (ds), sizeof values, values, sizeof values);
  g_assert_false (lathe_dataset_has_labels (ds));
  g_assert_null (lathe_dataset_get_labels (ds));
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 0);
}

static void
test_idx_ranks (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint8 bytes[2 * 3 * 2 * 2];
  const guint32 dims4[4] = { 2, 3, 2, 2 };
  const guint32 dims1[1] = { 5 };
  g_autoptr(GByteArray) a4 = NULL;
  g_autoptr(GByteArray) a1 = NULL;
  g_autofree char *p4 = NULL;
  g_autofree char *p1 = NULL;
  g_autoptr(LatheDataset) d4 = NULL;
  g_autoptr(LatheDataset) d1 = NULL;

  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (guint8) (i * 7);
  a4 = idx_bytes (0x08, 4, dims4, bytes, sizeof bytes);
  a1 = idx_bytes (0x08, 1, dims1, bytes, 5);
  p4 = write_array (f, "rank4.idx", a4);
  p1 = write_array (f, "rank1.idx", a1);

  d4 = load_idx (p4, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_dataset_get_n_samples (d4), ==, 2);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (d4), ==, 3);
  g_assert_cmpint (lathe_dataset_get_sample_dims (d4)[0], ==, 3);
  g_assert_cmpuint (lathe_dataset_get_sample_size (d4), ==, 12);
  g_assert_cmpmem (lathe_dataset_get_data (d4), sizeof bytes, bytes, sizeof bytes);

  /* One dimension: every sample is a scalar. */
  d1 = load_idx (p1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_dataset_get_n_samples (d1), ==, 5);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (d1), ==, 0);
  g_assert_cmpuint (lathe_dataset_get_sample_size (d1), ==, 1);
}

static void
test_idx_int32_labels (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint32 labels_be[3] = { GUINT32_TO_BE (7), GUINT32_TO_BE (0), GUINT32_TO_BE (3) };
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x0C, 1, labels_dims, labels_be, sizeof labels_be);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl);
  g_autoptr(LatheDataset) ds = load_idx (img_path, lbl_path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (lathe_dataset_get_labels (ds)[0], ==, 7);
  g_assert_cmpint (lathe_dataset_get_labels (ds)[2], ==, 3);
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 8);
}

static void
test_idx_bad_magic (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint8 junk[16] = "PK\x03\x04not an idx";
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autofree char *junk_path = write_file (f, "junk.idx", junk, sizeof junk);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *short_path = write_file (f, "short.idx", "\0\0", 2);
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_idx (junk_path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, junk_path, "0x00000803");
  g_clear_error (&error);

  /* A labels file that is not IDX names the labels file. */
  ds = load_idx (img_path, junk_path, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, junk_path, "0x00000801");
  g_assert_nonnull (strstr (error->message, "labels file"));
  g_clear_error (&error);

  /* Too short for a magic number at all. */
  ds = load_idx (short_path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, short_path, "truncated");
}

static void
test_idx_unsupported (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint16 shorts[2] = { 1, 2 };
  const guint32 dims[1] = { 2 };
  const guint32 dims5[5] = { 1, 1, 1, 1, 1 };
  g_autoptr(GByteArray) a = idx_bytes (0x0B, 1, dims, shorts, sizeof shorts);
  g_autoptr(GByteArray) b = idx_bytes (0x08, 5, dims5, "x", 1);
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl2d = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autofree char *pa = write_array (f, "shorts.idx", a);
  g_autofree char *pb = write_array (f, "rank5.idx", b);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl2d);
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_idx (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, pa, "short");
  g_clear_error (&error);

  ds = load_idx (pb, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, pb, "5 dimensions");
  g_clear_error (&error);

  /* Labels must be one-dimensional. */
  ds = load_idx (img_path, lbl_path, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, lbl_path, "3 dimensions");
}

static void
test_idx_truncated (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GBytes) short_gz = gzip_bytes (img->data, img->len - 1);
  g_autoptr(GBytes) full_gz = gzip_bytes (img->data, img->len);
  g_autofree char *short_data = write_file (f, "short-data.idx", img->data, img->len - 1);
  g_autofree char *short_dims = write_file (f, "short-dims.idx", img->data, 9);
  g_autofree char *short_gz_path = write_file (f, "short-data.idx.gz",
                                               g_bytes_get_data (short_gz, NULL),
                                               g_bytes_get_size (short_gz));
  /* The compressed stream itself cut short. */
  g_autofree char *cut_gz_path = write_file (f, "cut.idx.gz",
                                             g_bytes_get_data (full_gz, NULL),
                                             g_bytes_get_size (full_gz) - 10);
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_idx (short_data, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, short_data, "truncated");
  g_clear_error (&error);

  ds = load_idx (short_dims, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, short_dims, "truncated");
  g_clear_error (&error);

  ds = load_idx (short_gz_path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, short_gz_path, "truncated");
  g_clear_error (&error);

  ds = load_idx (cut_gz_path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, cut_gz_path, NULL);
}

static void
test_idx_trailing (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autofree char *path = NULL;
  g_autofree char *gz_path = NULL;
  g_autoptr(GBytes) gz = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  g_byte_array_append (img, (const guint8 *) "extra", 5);
  path = write_array (f, "long.idx", img);
  gz = gzip_bytes (img->data, img->len);
  gz_path = write_file (f, "long.idx.gz", g_bytes_get_data (gz, NULL), g_bytes_get_size (gz));

  ds = load_idx (path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, path, "[3,2,2]");
  g_clear_error (&error);

  ds = load_idx (gz_path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, gz_path, "more data");
}

static void
test_idx_overflow (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint32 huge[4] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
  /* 2^36 bytes: no overflow, but far more than the file holds. The
   * loader must say so before trying to allocate it. */
  const guint32 big[3] = { 65536, 65536, 16 };
  g_autoptr(GByteArray) a = idx_bytes (0x08, 4, huge, "abc", 3);
  g_autoptr(GByteArray) b = idx_bytes (0x0D, 3, big, "abcd", 4);
  g_autoptr(GBytes) b_gz = gzip_bytes (b->data, b->len);
  g_autofree char *pa = write_array (f, "overflow.idx", a);
  g_autofree char *pb = write_array (f, "big.idx", b);
  g_autofree char *pb_gz = write_file (f, "big.idx.gz", g_bytes_get_data (b_gz, NULL),
                                       g_bytes_get_size (b_gz));
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_idx (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa, "overflow");
  g_clear_error (&error);

  ds = load_idx (pb, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pb, "truncated");
  g_clear_error (&error);

  ds = load_idx (pb_gz, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pb_gz, "truncated");
}

static void
test_idx_empty (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint32 none[3] = { 0, 28, 28 };
  const guint32 flat[3] = { 4, 0, 28 };
  g_autoptr(GByteArray) a = idx_bytes (0x08, 3, none, NULL, 0);
  g_autoptr(GByteArray) b = idx_bytes (0x08, 3, flat, NULL, 0);
  g_autofree char *pa = write_array (f, "none.idx", a);
  g_autofree char *pb = write_array (f, "flat.idx", b);
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_idx (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa, "no images");
  g_clear_error (&error);

  ds = load_idx (pb, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pb, "empty");
}

static void
test_idx_labels_mismatch (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint32 two[1] = { 2 };
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x08, 1, two, labels_u8, 2);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl);
  g_autofree char *expected = g_strdup_printf ("labels file %s has 2 labels, "
                                               "images file %s has 3 images",
                                               lbl_path, img_path);
  g_autoptr(LatheDataset) ds = load_idx (img_path, lbl_path, &error);

  g_assert_null (ds);
  g_assert_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_idx_negative_label (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint32 labels_be[3] = { GUINT32_TO_BE (1), GUINT32_TO_BE ((guint32) -4),
                                 GUINT32_TO_BE (0) };
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x0C, 1, labels_dims, labels_be, sizeof labels_be);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl);
  g_autoptr(LatheDataset) ds = load_idx (img_path, lbl_path, &error);

  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, lbl_path, "label 1 is -4");
}

static void
test_idx_corrupt_gzip (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GBytes) gz = gzip_bytes (img->data, img->len);
  g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (gz, NULL), g_bytes_get_size (gz));
  g_autofree char *path = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  /* Keep the 10-byte gzip header, garble the deflate stream. */
  for (gsize i = 10; i < g_bytes_get_size (gz); i++)
    bad[i] ^= 0xA5;
  path = write_file (f, "corrupt.idx.gz", bad, g_bytes_get_size (gz));
  ds = load_idx (path, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, path, NULL);
}

static void
test_idx_missing (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->dir, "nowhere.idx", NULL);
  g_autoptr(LatheDataset) ds = load_idx (path, NULL, &error);

  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_IO, path, NULL);
}

static void
test_idx_cancelled (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autofree char *path = write_array (f, "images.idx", img);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(LatheDataset) ds = NULL;

  g_cancellable_cancel (cancellable);
  ds = lathe_dataset_new_idx (file, NULL, cancellable, &error);
  g_assert_null (ds);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---------------------------------------------------------------- NPY --- */

static void
test_npy_float32 (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[2 * 3] = { 1.0f, -2.0f, 0.5f, 3.0f, 1e30f, -0.25f };
  const gint64 dims[2] = { 2, 3 };
  const guint8 labels[2] = { 4, 1 };
  const gint64 label_dims[1] = { 2 };
  g_autofree char *in_path = g_build_filename (f->dir, "inputs.npy", NULL);
  g_autofree char *lbl_path = g_build_filename (f->dir, "labels.npy", NULL);
  g_autofree char *sha = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  g_assert_true (lathe_npy_write (in_path, LATHE_DTYPE_FLOAT, 2, dims, values, &error));
  g_assert_no_error (error);
  g_assert_true (lathe_npy_write (lbl_path, LATHE_DTYPE_UINT8, 1, label_dims, labels, &error));
  g_assert_no_error (error);
  sha = sha256_of_files (in_path, lbl_path);

  ds = load_npy (in_path, lbl_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lathe_dataset_get_dtype (ds), ==, LATHE_DTYPE_FLOAT);
  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 2);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (ds), ==, 1);
  g_assert_cmpint (lathe_dataset_get_sample_dims (ds)[0], ==, 3);
  g_assert_cmpmem (lathe_dataset_get_data (ds), sizeof values, values, sizeof values);
  g_assert_cmpint (lathe_dataset_get_labels (ds)[0], ==, 4);
  g_assert_cmpint (lathe_dataset_get_labels (ds)[1], ==, 1);
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 5);
  g_assert_cmpstr (lathe_dataset_get_sha256 (ds), ==, sha);
}

static void
test_npy_uint8 (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint8 pixels[3 * 1 * 2 * 2];
  g_autoptr(GByteArray) a = NULL;
  g_autofree char *path = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (255 - i);
  /* Hand-written header with numpy's spelling '<u1' and no trailing comma. */
  a = npy_bytes (1, "{'descr': '<u1', 'fortran_order': False, 'shape': (3, 1, 2, 2)}",
                 pixels, sizeof pixels);
  path = write_array (f, "pixels.npy", a);
  ds = load_npy (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (lathe_dataset_get_dtype (ds), ==, LATHE_DTYPE_UINT8);
  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 3);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (ds), ==, 3);
  g_assert_cmpuint (lathe_dataset_get_sample_size (ds), ==, 4);
  g_assert_cmpmem (lathe_dataset_get_data (ds), sizeof pixels, pixels, sizeof pixels);
  g_assert_false (lathe_dataset_has_labels (ds));
}

static void
test_npy_versions (Fixture       *f,
                   gconstpointer  data)
{
  const float values[4] = { 1, 2, 3, 4 };
  const char *dict = "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (4L,), }";

  for (guint major = 1; major <= 3; major++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) a = npy_bytes (major, dict, values, sizeof values);
      g_autofree char *name = g_strdup_printf ("v%u.npy", major);
      g_autofree char *path = write_array (f, name, a);
      g_autoptr(LatheTensor) t = lathe_npy_read (path, &error);
      g_autoptr(LatheDataset) ds = load_npy (path, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (t);
      g_assert_cmpuint (t->ndim, ==, 1);
      g_assert_cmpint (t->dims[0], ==, 4);
      g_assert_cmpmem (t->data, sizeof values, values, sizeof values);
      g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 4);
    }
}

static void
test_npy_labels (Fixture       *f,
                 gconstpointer  data)
{
  const float inputs[3] = { 0, 1, 2 };
  const guint8 l_u8[3] = { 0, 9, 3 };
  const gint8 l_i8[3] = { 0, 9, 3 };
  const gint32 l_i32[3] = { 0, 9, 3 };
  const gint64 l_i64[3] = { 0, 9, 3 };
  const struct {
    const char *dict;
    const void *data;
    gsize       len;
  } cases[] = {
    { "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", l_u8, sizeof l_u8 },
    { "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }", l_i8, sizeof l_i8 },
    { "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", l_i32, sizeof l_i32 },
    { "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", l_i64, sizeof l_i64 },
    { "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }", l_i64, sizeof l_i64 },
  };
  g_autoptr(GByteArray) in = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (3,), }", inputs, sizeof inputs);
  g_autofree char *in_path = write_array (f, "inputs.npy", in);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) a = npy_bytes (1, cases[i].dict, cases[i].data, cases[i].len);
      g_autofree char *name = g_strdup_printf ("labels%u.npy", i);
      g_autofree char *path = write_array (f, name, a);
      g_autoptr(LatheDataset) ds = load_npy (in_path, path, &error);
      const gint32 *labels;

      g_assert_no_error (error);
      labels = lathe_dataset_get_labels (ds);
      g_assert_cmpint (labels[0], ==, 0);
      g_assert_cmpint (labels[1], ==, 9);
      g_assert_cmpint (labels[2], ==, 3);
      g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 10);
    }
}

static void
test_npy_label_errors (Fixture       *f,
                       gconstpointer  data)
{
  const float inputs[3] = { 0, 1, 2 };
  const gint8 negative[3] = { 0, -1, 3 };
  const gint64 too_big[3] = { 0, G_GINT64_CONSTANT (1) << 40, 3 };
  const float floats[3] = { 0, 1, 2 };
  const gint32 two[2] = { 0, 1 };
  const gint32 wide[6] = { 0 };
  const struct {
    const char *dict;
    const void *data;
    gsize       len;
    gint        code;
    const char *fragment;
  } cases[] = {
    { "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }",
      negative, sizeof negative, LATHE_DATA_ERROR_FORMAT, "label 1 is -1" },
    { "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
      too_big, sizeof too_big, LATHE_DATA_ERROR_UNSUPPORTED, "label 1" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
      floats, sizeof floats, LATHE_DATA_ERROR_UNSUPPORTED, "integers" },
    { "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
      two, sizeof two, LATHE_DATA_ERROR_MISMATCH, "has 2 labels" },
    { "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }",
      wide, sizeof wide, LATHE_DATA_ERROR_FORMAT, "(N,)" },
  };
  g_autoptr(GByteArray) in = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (3,), }", inputs, sizeof inputs);
  g_autofree char *in_path = write_array (f, "inputs.npy", in);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) a = npy_bytes (1, cases[i].dict, cases[i].data, cases[i].len);
      g_autofree char *name = g_strdup_printf ("labels%u.npy", i);
      g_autofree char *path = write_array (f, name, a);
      g_autoptr(LatheDataset) ds = load_npy (in_path, path, &error);

      g_assert_null (ds);
      assert_data_error (error, cases[i].code, path, cases[i].fragment);
    }
}

static void
test_npy_fortran (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[4] = { 1, 2, 3, 4 };
  g_autoptr(GByteArray) a = npy_bytes (1, "{'descr': '<f4', 'fortran_order': True, "
                                       "'shape': (2, 2), }", values, sizeof values);
  g_autoptr(GByteArray) b = npy_bytes (1, "{'descr': '<f4', 'fortran_order': True, "
                                       "'shape': (4,), }", values, sizeof values);
  g_autofree char *pa = write_array (f, "fortran.npy", a);
  g_autofree char *pb = write_array (f, "fortran1d.npy", b);
  g_autoptr(LatheDataset) ds = load_npy (pa, NULL, &error);
  g_autoptr(LatheTensor) t = NULL;

  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, pa, "Fortran");
  g_clear_error (&error);

  /* One dimension is the same bytes in either order. */
  t = lathe_npy_read (pb, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (t->data, sizeof values, values, sizeof values);
}

static void
test_npy_bad_magic (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[2] = { 1, 2 };
  g_autoptr(GByteArray) a = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (2,), }", values, sizeof values);
  g_autoptr(GByteArray) v4 = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (2,), }", values, sizeof values);
  g_autofree char *pa = NULL;
  g_autofree char *pv = NULL;
  g_autofree char *tiny = write_file (f, "tiny.npy", "\x93NUM", 4);
  g_autoptr(LatheDataset) ds = NULL;
  g_autoptr(LatheTensor) t = NULL;

  a->data[1] = 'n';
  pa = write_array (f, "magic.npy", a);
  v4->data[6] = 4;
  pv = write_array (f, "v4.npy", v4);

  ds = load_npy (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa, "NUMPY");
  g_clear_error (&error);

  t = lathe_npy_read (pa, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa, "NUMPY");
  g_clear_error (&error);

  t = lathe_npy_read (pv, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, pv, "4.0");
  g_clear_error (&error);

  t = lathe_npy_read (tiny, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, tiny, "truncated");
}

static void
test_npy_malformed (Fixture       *f,
                    gconstpointer  data)
{
  const char *headers[] = {
    "",
    "not a dict",
    "{'descr': '<f4', 'fortran_order': False}",
    "{'fortran_order': False, 'shape': (2,)}",
    "{'descr': '<f4', 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
    "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
    "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2 2)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk",
    "{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}",
    "{'descr': 'f4\\x00', 'fortran_order': False, 'shape': (2,)}",
    "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}",
    "{'descr': '||4', 'fortran_order': False, 'shape': (2,)}",
    "{'descr': '|f4', 'fortran_order': False, 'shape': (2,)}",
  };
  const float values[2] = { 1, 2 };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) a = npy_bytes (1, headers[i], values, sizeof values);
      g_autofree char *name = g_strdup_printf ("malformed%u.npy", i);
      g_autofree char *path = write_array (f, name, a);
      g_autoptr(LatheTensor) t = lathe_npy_read (path, &error);

      g_test_message ("header: %s", headers[i]);
      g_assert_null (t);
      /* '||4' is an unknown type rather than a malformed header. */
      if (error->code == LATHE_DATA_ERROR_UNSUPPORTED)
        g_assert_cmpuint (i, ==, 22);
      else
        assert_data_error (error, LATHE_DATA_ERROR_FORMAT, path, NULL);
    }
}

static void
test_npy_header_beyond_file (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const guint8 v1[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xFF, 0xFF, '{', '}' };
  const guint8 v2[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xFF, 0xFF, 0xFF, 0x7F, '{' };
  g_autofree char *p1 = write_file (f, "hdr1.npy", v1, sizeof v1);
  g_autofree char *p2 = write_file (f, "hdr2.npy", v2, sizeof v2);
  g_autoptr(LatheTensor) t = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  t = lathe_npy_read (p1, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, p1, "truncated");
  g_clear_error (&error);

  ds = load_npy (p2, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, p2, "header");
}

static void
test_npy_truncated (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[4] = { 1, 2, 3, 4 };
  g_autoptr(GByteArray) a = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (10,), }", values, sizeof values);
  g_autoptr(GByteArray) b = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (3,), }", values, sizeof values);
  g_autoptr(GByteArray) huge = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                          "'shape': (1000000000, 1000), }", values,
                                          sizeof values);
  g_autoptr(GBytes) a_gz = gzip_bytes (a->data, a->len);
  g_autofree char *pa = write_array (f, "short.npy", a);
  g_autofree char *pb = write_array (f, "long.npy", b);
  g_autofree char *ph = write_array (f, "huge.npy", huge);
  g_autofree char *pa_gz = write_file (f, "short.npy.gz", g_bytes_get_data (a_gz, NULL),
                                       g_bytes_get_size (a_gz));
  g_autoptr(LatheTensor) t = NULL;
  g_autoptr(LatheDataset) ds = NULL;

  ds = load_npy (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa, "truncated");
  g_clear_error (&error);

  t = lathe_npy_read (pa_gz, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pa_gz, "truncated");
  g_clear_error (&error);

  /* Refused from the file size, before allocating 4 TB. */
  t = lathe_npy_read (ph, &error);
  g_assert_null (t);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, ph, "truncated");
  g_clear_error (&error);

  ds = load_npy (pb, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pb, "more data");
}

static void
test_npy_unsupported (Fixture       *f,
                      gconstpointer  data)
{
  const guint8 zeros[64] = { 0 };
  const struct {
    const char *dict;
    const char *fragment;
  } cases[] = {
    { "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", "big-endian" },
    { "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", "big-endian" },
    { "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", "'<f8'" },
    { "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", "'<u2'" },
    { "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "'|b1'" },
    { "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "'<c8'" },
    { "{'descr': '<U10', 'fortran_order': False, 'shape': (2,), }", "'<U10'" },
    { "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }",
      "dimensions" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GByteArray) a = npy_bytes (1, cases[i].dict, zeros, 16);
      g_autofree char *name = g_strdup_printf ("unsupported%u.npy", i);
      g_autofree char *path = write_array (f, name, a);
      g_autoptr(LatheTensor) t = lathe_npy_read (path, &error);

      g_assert_null (t);
      assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, path, cases[i].fragment);
    }
}

static void
test_npy_inputs_dtype (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const gint32 values[2] = { 1, 2 };
  const float scalar = 1.0f;
  g_autoptr(GByteArray) a = npy_bytes (1, "{'descr': '<i4', 'fortran_order': False, "
                                       "'shape': (2,), }", values, sizeof values);
  g_autoptr(GByteArray) b = npy_bytes (1, "{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (), }", &scalar, sizeof scalar);
  g_autofree char *pa = write_array (f, "ints.npy", a);
  g_autofree char *pb = write_array (f, "scalar.npy", b);
  g_autoptr(LatheDataset) ds = NULL;
  g_autoptr(LatheTensor) t = NULL;

  ds = load_npy (pa, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, pa, "int32");
  g_clear_error (&error);

  ds = load_npy (pb, NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, pb, "first axis");
  g_clear_error (&error);

  /* As a plain array a scalar is fine. */
  t = lathe_npy_read (pb, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->ndim, ==, 0);
  g_assert_cmpfloat (lathe_tensor_f32 (t)[0], ==, 1.0f);
}

static void
test_npy_roundtrip (Fixture       *f,
                    gconstpointer  data)
{
  const float f32[6] = { 1.5f, -2.0f, 0.0f, 1e-30f, 3.0f, -7.0f };
  const guint8 u8[6] = { 0, 1, 127, 128, 254, 255 };
  const gint8 i8[6] = { -128, -1, 0, 1, 2, 127 };
  const gint32 i32[6] = { G_MININT32, -1, 0, 1, 2, G_MAXINT32 };
  const gint64 i64[6] = { G_MININT64, -1, 0, 1, 2, G_MAXINT64 };
  const gint64 dims[3] = { 1, 2, 3 };
  const struct {
    LatheDType  dtype;
    const void *data;
    gsize       size;
  } cases[] = {
    { LATHE_DTYPE_FLOAT, f32, sizeof f32 },
    { LATHE_DTYPE_UINT8, u8, sizeof u8 },
    { LATHE_DTYPE_INT8, i8, sizeof i8 },
    { LATHE_DTYPE_INT32, i32, sizeof i32 },
    { LATHE_DTYPE_INT64, i64, sizeof i64 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (guint ndim = 0; ndim <= 3; ndim++)
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *name = g_strdup_printf ("rt-%u-%u.npy", i, ndim);
        g_autofree char *path = g_build_filename (f->dir, name, NULL);
        /* rank 0 holds one element, ranks 1 to 3 all six */
        const gint64 *shape = ndim == 1 ? (const gint64[]) { 6 } :
                              ndim == 2 ? (const gint64[]) { 2, 3 } : dims;
        gsize n = ndim == 0 ? 1 : 6;
        g_autoptr(LatheTensor) t = NULL;
        g_autofree char *contents = NULL;
        gsize len = 0;

        g_assert_true (lathe_npy_write (path, cases[i].dtype, ndim, shape, cases[i].data, &error));
        g_assert_no_error (error);
        t = lathe_npy_read (path, &error);
        g_assert_no_error (error);
        g_assert_cmpint (t->dtype, ==, cases[i].dtype);
        g_assert_cmpuint (t->ndim, ==, ndim);
        for (guint d = 0; d < ndim; d++)
          g_assert_cmpint (t->dims[d], ==, shape[d]);
        g_assert_cmpmem (t->data, lathe_tensor_nbytes (t),
                         cases[i].data, n * lathe_dtype_size (cases[i].dtype));

        /* numpy aligns the data on 64 bytes and ends the header with '\n'. */
        g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
        g_assert_cmpuint ((len - n * lathe_dtype_size (cases[i].dtype)) % 64, ==, 0);
        g_assert_cmpint (contents[len - n * lathe_dtype_size (cases[i].dtype) - 1], ==, '\n');
      }
}

static void
test_npy_numpy_layout (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const float values[6] = { 0 };
  const gint64 dims[2] = { 2, 3 };
  g_autofree char *path = g_build_filename (f->dir, "layout.npy", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  gsize len = 0;

  /* What numpy.save (np.zeros((2, 3), np.float32)) writes: sorted keys,
   * 21 - len("2") spaces of room for the growth axis, padding to 128. */
  g_string_append_len (expected, "\x93NUMPY\x01\x00v\x00", 10);
  g_string_append (expected, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  g_string_append_printf (expected, "%*s", 20 + 38, "");
  g_string_append_c (expected, '\n');
  g_assert_cmpuint (expected->len, ==, 128);

  g_assert_true (lathe_npy_write (path, LATHE_DTYPE_FLOAT, 2, dims, values, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, 128 + sizeof values);
  g_assert_cmpmem (contents, 128, expected->str, 128);
}

static void
test_npy_numpy_fixture (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *fixture = g_test_build_filename (G_TEST_DIST, "fixtures",
                                                    "fashion-labels100.npy", NULL);
  g_autofree char *path = g_build_filename (f->dir, "labels100.npy", NULL);
  g_autofree char *theirs = NULL;
  g_autofree char *ours = NULL;
  gsize theirs_len = 0, ours_len = 0;
  g_autoptr(LatheTensor) t = NULL;

  if (!g_file_test (fixture, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("tests/fixtures/fashion-labels100.npy not found");
      return;
    }

  /* A file written by numpy.save reads and writes back byte for byte. */
  t = lathe_npy_read (fixture, &error);
  g_assert_no_error (error);
  g_assert_cmpint (t->dtype, ==, LATHE_DTYPE_UINT8);
  g_assert_cmpuint (t->ndim, ==, 1);
  g_assert_cmpint (t->dims[0], ==, 100);
  g_assert_true (lathe_npy_write (path, t->dtype, t->ndim, t->dims, t->data, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (fixture, &theirs, &theirs_len, NULL));
  g_assert_true (g_file_get_contents (path, &ours, &ours_len, NULL));
  g_assert_cmpmem (ours, ours_len, theirs, theirs_len);
}

static void
test_npy_write_errors (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const double values[2] = { 1, 2 };
  const gint64 dims[1] = { 2 };
  g_autofree char *path = g_build_filename (f->dir, "double.npy", NULL);
  g_autofree char *nowhere = g_build_filename (f->dir, "no", "such", "dir.npy", NULL);

  g_assert_false (lathe_npy_write (path, LATHE_DTYPE_DOUBLE, 1, dims, values, &error));
  assert_data_error (error, LATHE_DATA_ERROR_UNSUPPORTED, path, "double");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_false (lathe_npy_write (nowhere, LATHE_DTYPE_FLOAT, 1, dims, values, &error));
  assert_data_error (error, LATHE_DATA_ERROR_IO, nowhere, NULL);
}

/* --------------------------------------------------------------- specs --- */

static void
test_spec_forms (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) img = idx_bytes (0x08, 3, images_dims, images_u8, 12);
  g_autoptr(GByteArray) lbl = idx_bytes (0x08, 1, labels_dims, labels_u8, 3);
  g_autofree char *img_path = write_array (f, "images.idx", img);
  g_autofree char *lbl_path = write_array (f, "labels.idx", lbl);
  g_autofree char *npy_path = g_build_filename (f->dir, "inputs.npy", NULL);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *abs_spec = g_strdup_printf ("idx:%s,%s", img_path, lbl_path);
  const gint64 npy_dims[3] = { 3, 2, 2 };
  g_autoptr(LatheDataset) ds = NULL;

  g_assert_true (lathe_npy_write (npy_path, LATHE_DTYPE_UINT8, 3, npy_dims, images_u8, &error));
  g_assert_no_error (error);

  ds = lathe_dataset_new_from_spec (abs_spec, NULL, &error);
  g_assert_no_error (error);
  assert_small_dataset (ds);
  g_assert_cmpstr (lathe_dataset_get_spec (ds), ==, abs_spec);
  g_clear_object (&ds);

  /* Relative paths resolve against the current folder. */
  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  ds = lathe_dataset_new_from_spec ("idx:images.idx,labels.idx", NULL, &error);
  g_assert_no_error (error);
  assert_small_dataset (ds);
  g_assert_cmpstr (lathe_dataset_get_spec (ds), ==, "idx:images.idx,labels.idx");
  g_clear_object (&ds);

  ds = lathe_dataset_new_from_spec ("npy:inputs.npy,labels.idx", NULL, &error);
  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_FORMAT, "labels.idx", "NUMPY");
  g_clear_error (&error);

  ds = lathe_dataset_new_from_spec ("npy:inputs.npy", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, 3);
  g_assert_cmpmem (lathe_dataset_get_data (ds), 12, images_u8, 12);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
}

static void
test_spec_bad (void)
{
  const char *specs[] = {
    "", "mnist", "fashion-mnist:val", "fashion-mnist:", "FASHION-MNIST", "IDX:a",
    "idx:", "idx:,labels", "idx:a,b,c", "npy:a,", "npy:", "idx", "/tmp/x.npy",
  };

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(LatheDataset) ds = lathe_dataset_new_from_spec (specs[i], NULL, &error);
      g_autofree char *quoted = g_strdup_printf ("“%s”", specs[i]);

      g_assert_null (ds);
      assert_data_error (error, LATHE_DATA_ERROR_SPEC, quoted, "idx:IMAGES[,LABELS]");
      g_assert_nonnull (strstr (error->message, "npy:INPUTS[,LABELS]"));
      g_assert_nonnull (strstr (error->message, "fashion-mnist:train"));
    }
}

static void
test_spec_fashion_missing (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("LATHE_FASHION_MNIST_DIR"));
  g_autoptr(LatheDataset) ds = NULL;

  /* The environment variable wins over the configured folder. */
  g_setenv ("LATHE_FASHION_MNIST_DIR", f->dir, TRUE);
  ds = lathe_dataset_new_from_spec ("fashion-mnist:train", NULL, &error);
  if (saved != NULL)
    g_setenv ("LATHE_FASHION_MNIST_DIR", saved, TRUE);
  else
    g_unsetenv ("LATHE_FASHION_MNIST_DIR");

  g_assert_null (ds);
  assert_data_error (error, LATHE_DATA_ERROR_IO, f->dir, "dataset-fashion-mnist");
  g_assert_nonnull (strstr (error->message, "train-images-idx3-ubyte"));
}

/* ------------------------------------------------------- Fashion-MNIST --- */

static const char *
fashion_dir (void)
{
  const char *dir = g_getenv ("LATHE_FASHION_MNIST_DIR");
  return dir != NULL && *dir != '\0' ? dir : LATHE_FASHION_MNIST_DIR;
}

static gboolean
fashion_present (const char *split)
{
  g_autofree char *name = g_strdup_printf ("%s-labels-idx1-ubyte.gz", split);
  g_autofree char *path = g_build_filename (fashion_dir (), name, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_test_skip ("Fashion-MNIST not installed (Debian: dataset-fashion-mnist)");
  return FALSE;
}

static void
test_fashion_mnist (gconstpointer data)
{
  const char *split = data;
  gboolean is_test = g_str_equal (split, "t10k");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheDataset) ds = NULL;
  g_autofree char *labels_name = NULL;
  g_autofree char *images_name = NULL;
  g_autofree char *labels_path = NULL;
  g_autofree char *images_path = NULL;
  g_autofree char *sha = NULL;
  g_autoptr(GBytes) raw_labels = NULL;
  const guint8 *raw;
  gsize raw_len;
  guint n = is_test ? 10000 : 60000;

  if (!fashion_present (split))
    return;

  ds = lathe_dataset_new_from_spec (is_test ? "fashion-mnist:test" : "fashion-mnist:train",
                                    NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_dataset_get_n_samples (ds), ==, n);
  g_assert_cmpint (lathe_dataset_get_dtype (ds), ==, LATHE_DTYPE_UINT8);
  g_assert_cmpuint (lathe_dataset_get_sample_ndim (ds), ==, 2);
  g_assert_cmpint (lathe_dataset_get_sample_dims (ds)[0], ==, 28);
  g_assert_cmpint (lathe_dataset_get_sample_dims (ds)[1], ==, 28);
  g_assert_cmpuint (lathe_dataset_get_sample_size (ds), ==, 784);
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 10);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (lathe_dataset_get_labels (ds)[i], >=, 0);
      g_assert_cmpint (lathe_dataset_get_labels (ds)[i], <=, 9);
    }

  /* Read the labels independently of the loader. */
  labels_name = g_strdup_printf ("%s-labels-idx1-ubyte.gz", split);
  images_name = g_strdup_printf ("%s-images-idx3-ubyte.gz", split);
  labels_path = g_build_filename (fashion_dir (), labels_name, NULL);
  images_path = g_build_filename (fashion_dir (), images_name, NULL);
  raw_labels = gunzip_file (labels_path);
  raw = g_bytes_get_data (raw_labels, &raw_len);
  g_assert_cmpuint (raw_len, ==, 8 + n);
  if (is_test)
    g_assert_cmpint (raw[8], ==, 9);   /* the first test image is an ankle boot */
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (lathe_dataset_get_labels (ds)[i], ==, raw[8 + i]);

  sha = sha256_of_files (images_path, labels_path);
  g_assert_cmpstr (lathe_dataset_get_sha256 (ds), ==, sha);
}

/* The committed fixture was preprocessed by numpy in float32 with the same
 * expression; fill_batch must agree bit for bit. */
static void
test_fashion_fixture (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *inputs = g_test_build_filename (G_TEST_DIST, "fixtures",
                                                   "fashion-input100.npy", NULL);
  g_autofree char *labels = g_test_build_filename (G_TEST_DIST, "fixtures",
                                                   "fashion-labels100.npy", NULL);
  g_autoptr(LatheDataset) ds = NULL;
  g_autoptr(LatheDataset) fixture = NULL;
  g_autofree float *batch = NULL;
  const float mean = 0.2860f, std = 0.3530f;

  if (!fashion_present ("t10k"))
    return;
  if (!g_file_test (inputs, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("tests/fixtures/fashion-input100.npy not found");
      return;
    }

  ds = lathe_dataset_new_from_spec ("fashion-mnist", NULL, &error);
  g_assert_no_error (error);
  fixture = load_npy (inputs, labels, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lathe_dataset_get_n_samples (fixture), ==, 100);
  g_assert_cmpuint (lathe_dataset_get_sample_size (fixture), ==, 784);

  batch = g_new (float, 100 * 784);
  lathe_dataset_fill_batch (ds, 0, 100, 1, &mean, &std, batch);
  g_assert_cmpmem (batch, 100 * 784 * sizeof (float),
                   lathe_dataset_get_data (fixture), 100 * 784 * sizeof (float));
  g_assert_cmpmem (lathe_dataset_get_labels (ds), 100 * sizeof (gint32),
                   lathe_dataset_get_labels (fixture), 100 * sizeof (gint32));
}

/* ------------------------------------------------------- preprocessing --- */

static float
reference_pixel (guint8 p,
                 float  mean,
                 float  std)
{
  return ((float) p / 255.0f - mean) / std;
}

static void
check_fill_u8 (guint n_channels,
               guint plane)
{
  const guint n = 7;
  gsize sample = (gsize) n_channels * plane;
  guint8 *pixels = lathe_aligned_alloc0 (n * sample);
  g_autofree float *mean = g_new (float, n_channels);
  g_autofree float *std = g_new (float, n_channels);
  g_autofree float *got = g_new (float, n * sample);
  g_autofree float *want = g_new (float, n * sample);
  const gint64 dims[2] = { n_channels, plane };
  g_autoptr(LatheDataset) ds = NULL;

  /* Spread over the byte values, different in every channel. */
  for (gsize i = 0; i < n * sample; i++)
    pixels[i] = (guint8) (i * 37 + i / 256);
  for (guint c = 0; c < n_channels; c++)
    {
      mean[c] = 0.1f + 0.137f * (float) c;
      std[c] = 0.2f + 0.05f * (float) c;
    }
  ds = lathe_dataset_new_take (LATHE_DTYPE_UINT8, n, 2, dims, pixels, NULL, "memory:test");
  g_assert_nonnull (ds);

  for (guint start = 0; start < n; start += 3)
    {
      guint count = MIN (3, n - start);

      for (guint i = 0; i < count; i++)
        for (guint c = 0; c < n_channels; c++)
          for (guint j = 0; j < plane; j++)
            {
              gsize k = (gsize) i * sample + (gsize) c * plane + j;
              want[k] = reference_pixel (pixels[(gsize) start * sample + k], mean[c], std[c]);
            }
      lathe_dataset_fill_batch (ds, start, count, n_channels, mean, std, got);
      g_assert_cmpmem (got, count * sample * sizeof (float), want, count * sample * sizeof (float));
    }

  /* Without mean and std: p / 255. */
  lathe_dataset_fill_batch (ds, 1, 1, n_channels, NULL, NULL, got);
  for (gsize j = 0; j < sample; j++)
    g_assert_cmpfloat (got[j], ==, (float) pixels[sample + j] / 255.0f);
}

static void
test_fill_batch_u8 (void)
{
  check_fill_u8 (1, 784);
  check_fill_u8 (3, 64);    /* RGB */
  check_fill_u8 (5, 40);    /* more channels than the stack table holds */
}

static void
test_fill_batch_float (void)
{
  const gint64 dims[1] = { 3 };
  float *values = lathe_aligned_alloc0 (4 * 3 * sizeof (float));
  gint32 *labels = g_new (gint32, 4);
  g_autoptr(LatheDataset) ds = NULL;
  float got[6];
  const float mean = 100.0f, std = 1000.0f;

  for (guint i = 0; i < 12; i++)
    values[i] = (float) i * 0.5f - 2.0f;
  for (guint i = 0; i < 4; i++)
    labels[i] = (gint32) (i % 2) * 6;
  ds = lathe_dataset_new_take (LATHE_DTYPE_FLOAT, 4, 1, dims, values, labels, NULL);
  g_assert_cmpuint (lathe_dataset_get_n_classes (ds), ==, 7);
  g_assert_cmpstr (lathe_dataset_get_spec (ds), ==, "memory");
  g_assert_cmpuint (strlen (lathe_dataset_get_sha256 (ds)), ==, 64);

  /* float samples are already preprocessed: mean and std do not apply. */
  lathe_dataset_fill_batch (ds, 2, 2, 1, &mean, &std, got);
  g_assert_cmpmem (got, sizeof got, values + 6, sizeof got);
  lathe_dataset_fill_batch (ds, 4, 0, 1, NULL, NULL, got);
}

static void
test_fill_batch_range (void)
{
  if (g_test_subprocess ())
    {
      const gint64 dims[1] = { 4 };
      g_autoptr(LatheDataset) ds =
        lathe_dataset_new_take (LATHE_DTYPE_UINT8, 2, 1, dims, lathe_aligned_alloc0 (8),
                                NULL, NULL);
      float out[16];

      lathe_dataset_fill_batch (ds, 1, 2, 1, NULL, NULL, out);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*lathe_dataset_fill_batch*");
}

static void
test_new_take_sha (void)
{
  const gint64 dims[2] = { 2, 2 };
  guint8 *pixels = lathe_aligned_alloc0 (12);
  gint32 *labels = g_new (gint32, 3);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(LatheDataset) ds = NULL;

  memcpy (pixels, images_u8, 12);
  for (guint i = 0; i < 3; i++)
    labels[i] = labels_u8[i];
  g_checksum_update (checksum, images_u8, 12);
  g_checksum_update (checksum, (const guchar *) labels, 3 * sizeof (gint32));

  ds = lathe_dataset_new_take (LATHE_DTYPE_UINT8, 3, 2, dims, pixels, labels, "memory:small");
  assert_small_dataset (ds);
  g_assert_cmpstr (lathe_dataset_get_spec (ds), ==, "memory:small");
  g_assert_cmpstr (lathe_dataset_get_sha256 (ds), ==, g_checksum_get_string (checksum));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/lathe/data/idx/raw", test_idx_raw);
  ADD ("/lathe/data/idx/gzip", test_idx_gzip);
  ADD ("/lathe/data/idx/float", test_idx_float);
  ADD ("/lathe/data/idx/ranks", test_idx_ranks);
  ADD ("/lathe/data/idx/int32-labels", test_idx_int32_labels);
  ADD ("/lathe/data/idx/bad-magic", test_idx_bad_magic);
  ADD ("/lathe/data/idx/unsupported", test_idx_unsupported);
  ADD ("/lathe/data/idx/truncated", test_idx_truncated);
  ADD ("/lathe/data/idx/trailing", test_idx_trailing);
  ADD ("/lathe/data/idx/overflow", test_idx_overflow);
  ADD ("/lathe/data/idx/empty", test_idx_empty);
  ADD ("/lathe/data/idx/labels-mismatch", test_idx_labels_mismatch);
  ADD ("/lathe/data/idx/negative-label", test_idx_negative_label);
  ADD ("/lathe/data/idx/corrupt-gzip", test_idx_corrupt_gzip);
  ADD ("/lathe/data/idx/missing", test_idx_missing);
  ADD ("/lathe/data/idx/cancelled", test_idx_cancelled);

  ADD ("/lathe/data/npy/float32", test_npy_float32);
  ADD ("/lathe/data/npy/uint8", test_npy_uint8);
  ADD ("/lathe/data/npy/versions", test_npy_versions);
  ADD ("/lathe/data/npy/labels", test_npy_labels);
  ADD ("/lathe/data/npy/label-errors", test_npy_label_errors);
  ADD ("/lathe/data/npy/fortran", test_npy_fortran);
  ADD ("/lathe/data/npy/bad-magic", test_npy_bad_magic);
  ADD ("/lathe/data/npy/malformed", test_npy_malformed);
  ADD ("/lathe/data/npy/header-beyond-file", test_npy_header_beyond_file);
  ADD ("/lathe/data/npy/truncated", test_npy_truncated);
  ADD ("/lathe/data/npy/unsupported", test_npy_unsupported);
  ADD ("/lathe/data/npy/inputs-dtype", test_npy_inputs_dtype);
  ADD ("/lathe/data/npy/roundtrip", test_npy_roundtrip);
  ADD ("/lathe/data/npy/numpy-layout", test_npy_numpy_layout);
  ADD ("/lathe/data/npy/numpy-fixture", test_npy_numpy_fixture);
  ADD ("/lathe/data/npy/write-errors", test_npy_write_errors);

  ADD ("/lathe/data/spec/forms", test_spec_forms);
  g_test_add_func ("/lathe/data/spec/bad", test_spec_bad);
  ADD ("/lathe/data/spec/fashion-mnist-missing", test_spec_fashion_missing);

  g_test_add_data_func ("/lathe/data/fashion-mnist/test", "t10k", test_fashion_mnist);
  g_test_add_data_func ("/lathe/data/fashion-mnist/train", "train", test_fashion_mnist);
  g_test_add_func ("/lathe/data/fashion-mnist/fixture", test_fashion_fixture);

  g_test_add_func ("/lathe/data/fill-batch/uint8", test_fill_batch_u8);
  g_test_add_func ("/lathe/data/fill-batch/float", test_fill_batch_float);
  g_test_add_func ("/lathe/data/fill-batch/range", test_fill_batch_range);
  g_test_add_func ("/lathe/data/new-take", test_new_take_sha);

#undef ADD

  return g_test_run ();
}
