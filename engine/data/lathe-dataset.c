/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-data"

#include <string.h>

#include "lathe-config.h"

#include "core/lathe-error.h"
#include "data/lathe-data-io-private.h"
#include "data/lathe-dataset.h"
#include "data/lathe-npy-private.h"

#define IDX_MAX_DIMS 4

struct _LatheDataset {
  GObject     parent_instance;

  LatheDType  dtype;
  guint       n_samples;
  guint       sample_ndim;
  gint64      sample_dims[LATHE_MAX_DIMS];
  gsize       sample_size;
  gpointer    data;          /* lathe_aligned_alloc0(), n_samples × sample_size */
  gint32     *labels;        /* n_samples, or NULL */
  guint       n_classes;
  char       *spec;
  char       *sha256;
};

G_DEFINE_FINAL_TYPE (LatheDataset, lathe_dataset, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SPEC,
  PROP_SHA256,
  PROP_N_SAMPLES,
  PROP_N_CLASSES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char spec_forms[] =
  "fashion-mnist, fashion-mnist:test, fashion-mnist:train, "
  "idx:IMAGES[,LABELS] or npy:INPUTS[,LABELS]";

static void
lathe_dataset_finalize (GObject *object)
{
  LatheDataset *self = LATHE_DATASET (object);

  g_clear_pointer (&self->data, lathe_aligned_free);
  g_clear_pointer (&self->labels, g_free);
  g_clear_pointer (&self->spec, g_free);
  g_clear_pointer (&self->sha256, g_free);

  G_OBJECT_CLASS (lathe_dataset_parent_class)->finalize (object);
}

static void
lathe_dataset_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  LatheDataset *self = LATHE_DATASET (object);

  switch (prop_id)
    {
    case PROP_SPEC:
      g_value_set_string (value, self->spec);
      break;
    case PROP_SHA256:
      g_value_set_string (value, self->sha256);
      break;
    case PROP_N_SAMPLES:
      g_value_set_uint (value, self->n_samples);
      break;
    case PROP_N_CLASSES:
      g_value_set_uint (value, self->n_classes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_dataset_class_init (LatheDatasetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lathe_dataset_finalize;
  object_class->get_property = lathe_dataset_get_property;

  properties[PROP_SPEC] =
    g_param_spec_string ("spec", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHA256] =
    g_param_spec_string ("sha256", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_SAMPLES] =
    g_param_spec_uint ("n-samples", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_CLASSES] =
    g_param_spec_uint ("n-classes", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lathe_dataset_init (LatheDataset *self)
{
}

/* ------------------------------------------------------------ helpers --- */

/* Labels are class indices: negative values are an error, and so are
 * values beyond LATHE_DATASET_MAX_CLASSES (a hostile file must not make the
 * metrics allocate a confusion matrix of 2^31 squared). */
static gboolean
check_labels (const char    *label_of_file,
              const gint32  *labels,
              gsize          n,
              guint         *n_classes_out,
              GError       **error)
{
  gint32 max = -1;

  for (gsize i = 0; i < n; i++)
    {
      if (labels[i] < 0)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                       "%s: label %" G_GSIZE_FORMAT " is %d; labels must be class "
                       "indices 0, 1, 2…", label_of_file, i, labels[i]);
          return FALSE;
        }
      if (labels[i] >= LATHE_DATASET_MAX_CLASSES)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                       "%s: label %" G_GSIZE_FORMAT " is %d; Lathe supports at most "
                       "%d classes", label_of_file, i, labels[i],
                       LATHE_DATASET_MAX_CLASSES);
          return FALSE;
        }
      max = MAX (max, labels[i]);
    }
  *n_classes_out = (guint) (max + 1);
  return TRUE;
}

static gboolean
labels_count_matches (LatheDataReader  *labels,
                      guint64           n_labels,
                      const char       *samples_label,
                      guint64           n_samples,
                      const char       *samples_noun,
                      GError          **error)
{
  if (n_labels == n_samples)
    return TRUE;
  g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_MISMATCH,
               "%s has %" G_GUINT64_FORMAT " labels, %s has %" G_GUINT64_FORMAT " %s",
               _lathe_data_reader_get_label (labels), n_labels,
               samples_label, n_samples, samples_noun);
  return FALSE;
}

static char *
spec_for_files (const char *kind,
                GFile      *inputs,
                GFile      *labels)
{
  g_autofree char *a = g_file_get_parse_name (inputs);
  g_autofree char *b = labels != NULL ? g_file_get_parse_name (labels) : NULL;

  return b != NULL ? g_strdup_printf ("%s:%s,%s", kind, a, b)
                   : g_strdup_printf ("%s:%s", kind, a);
}

/* Fills the sample shape from the file's shape minus its first axis. */
static gboolean
set_samples (LatheDataset     *self,
             LatheDataReader  *reader,
             const char       *noun,
             guint             ndim,
             const gint64     *dims,
             GError          **error)
{
  if (dims[0] == 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s holds no %s", _lathe_data_reader_get_label (reader), noun);
      return FALSE;
    }
  if ((guint64) dims[0] > G_MAXUINT)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds %" G_GINT64_FORMAT " %s; at most %u are supported",
                   _lathe_data_reader_get_label (reader), dims[0], noun, G_MAXUINT);
      return FALSE;
    }
  for (guint i = 1; i < ndim; i++)
    if (dims[i] == 0)
      {
        g_autofree char *shape = lathe_shape_to_string (ndim, dims);
        g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                     "%s has shape %s: its %s are empty",
                     _lathe_data_reader_get_label (reader), shape, noun);
        return FALSE;
      }

  self->n_samples = (guint) dims[0];
  self->sample_ndim = ndim - 1;
  self->sample_size = 1;
  for (guint i = 1; i < ndim; i++)
    {
      self->sample_dims[i - 1] = dims[i];
      self->sample_size *= (gsize) dims[i];  /* the caller checked the product */
    }
  return TRUE;
}

/* ---------------------------------------------------------------- IDX --- */

typedef struct {
  guint8  type;
  guint   ndim;
  gint64  dims[IDX_MAX_DIMS];
  gsize   n;
  gsize   esize;
  gsize   nbytes;
} IdxHeader;

static const char *
idx_type_name (guint8 type)
{
  switch (type)
    {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default:   return NULL;
    }
}

/* IDX: two zero bytes, a type code, the rank, then big-endian uint32
 * dimensions and big-endian data (http://yann.lecun.com/exdb/mnist/). */
static gboolean
idx_read_header (LatheDataReader  *reader,
                 gboolean          is_labels,
                 IdxHeader        *h,
                 GCancellable     *cancellable,
                 GError          **error)
{
  const char *label = _lathe_data_reader_get_label (reader);
  guint8 magic[4];
  guint8 raw_dims[4 * IDX_MAX_DIMS];
  guint32 magic_value;

  memset (h, 0, sizeof *h);
  if (!_lathe_data_reader_read (reader, magic, 4, "the IDX magic number", cancellable, error))
    return FALSE;
  magic_value = (guint32) magic[0] << 24 | (guint32) magic[1] << 16 |
                (guint32) magic[2] << 8 | magic[3];

  if (magic[0] != 0 || magic[1] != 0 || idx_type_name (magic[2]) == NULL || magic[3] == 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s is not an IDX file: magic number 0x%08x, expected 0x%08x",
                   label, magic_value, is_labels ? 0x801u : 0x803u);
      return FALSE;
    }
  h->type = magic[2];
  h->ndim = magic[3];

  if (is_labels)
    {
      if (h->type != 0x08 && h->type != 0x0C)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                       "%s holds IDX %s values; labels must be unsigned bytes "
                       "(magic 0x00000801) or ints (0x00000c01)",
                       label, idx_type_name (h->type));
          return FALSE;
        }
      if (h->ndim != 1)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                       "%s has %u dimensions; a labels file has 1 (magic 0x00000801)",
                       label, h->ndim);
          return FALSE;
        }
    }
  else
    {
      if (h->type != 0x08 && h->type != 0x0D)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                       "%s holds IDX %s values; Lathe reads unsigned bytes (type "
                       "0x08) and floats (0x0d)", label, idx_type_name (h->type));
          return FALSE;
        }
      if (h->ndim > IDX_MAX_DIMS)
        {
          g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                       "%s has %u dimensions; Lathe reads IDX files of 1 to %u",
                       label, h->ndim, IDX_MAX_DIMS);
          return FALSE;
        }
    }

  if (!_lathe_data_reader_read (reader, raw_dims, 4 * h->ndim, "the IDX dimensions",
                                cancellable, error))
    return FALSE;
  for (guint i = 0; i < h->ndim; i++)
    {
      const guint8 *b = raw_dims + 4 * i;
      h->dims[i] = (gint64) ((guint32) b[0] << 24 | (guint32) b[1] << 16 |
                             (guint32) b[2] << 8 | b[3]);
    }

  h->esize = h->type == 0x08 ? 1 : 4;
  if (!lathe_shape_numel (h->ndim, h->dims, &h->n) || h->n > G_MAXSIZE / 16 / h->esize)
    {
      g_autofree char *shape = lathe_shape_to_string (h->ndim, h->dims);
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s has dimensions %s, whose product overflows", label, shape);
      return FALSE;
    }
  h->nbytes = h->n * h->esize;
  return TRUE;
}

static char *
idx_described (const IdxHeader *h)
{
  g_autofree char *shape = lathe_shape_to_string (h->ndim, h->dims);
  return g_strdup_printf ("its header %s", shape);
}

static gboolean
idx_read_images (LatheDataset     *self,
                 LatheDataReader  *reader,
                 GCancellable     *cancellable,
                 GError          **error)
{
  IdxHeader h;
  g_autofree char *described = NULL;

  if (!idx_read_header (reader, FALSE, &h, cancellable, error) ||
      !set_samples (self, reader, "images", h.ndim, h.dims, error) ||
      !_lathe_data_reader_check_size (reader, h.nbytes, "the image data", error))
    return FALSE;

  self->dtype = h.type == 0x08 ? LATHE_DTYPE_UINT8 : LATHE_DTYPE_FLOAT;
  self->data = lathe_aligned_alloc0 (h.nbytes);
  if (!_lathe_data_reader_read (reader, self->data, h.nbytes, "the image data",
                                cancellable, error))
    return FALSE;

  if (self->dtype == LATHE_DTYPE_FLOAT)
    {
      guint32 *p = self->data;

      /* IEEE 754 single precision, big-endian in the file. */
      for (gsize i = 0; i < h.n; i++)
        p[i] = GUINT32_FROM_BE (p[i]);
    }

  described = idx_described (&h);
  return _lathe_data_reader_expect_end (reader, described, cancellable, error);
}

static gboolean
idx_read_labels (LatheDataset     *self,
                 LatheDataReader  *reader,
                 const char       *images_label,
                 GCancellable     *cancellable,
                 GError          **error)
{
  IdxHeader h;
  g_autofree char *described = NULL;

  if (!idx_read_header (reader, TRUE, &h, cancellable, error) ||
      !labels_count_matches (reader, (guint64) h.dims[0], images_label,
                             self->n_samples, "images", error) ||
      !_lathe_data_reader_check_size (reader, h.nbytes, "the labels", error))
    return FALSE;

  self->labels = g_new (gint32, MAX (h.n, 1));
  if (h.type == 0x08)
    {
      g_autofree guint8 *bytes = g_malloc (MAX (h.n, 1));

      if (!_lathe_data_reader_read (reader, bytes, h.n, "the labels", cancellable, error))
        return FALSE;
      for (gsize i = 0; i < h.n; i++)
        self->labels[i] = bytes[i];
    }
  else
    {
      if (!_lathe_data_reader_read (reader, self->labels, h.nbytes, "the labels",
                                    cancellable, error))
        return FALSE;
      for (gsize i = 0; i < h.n; i++)
        self->labels[i] = (gint32) GUINT32_FROM_BE ((guint32) self->labels[i]);
    }

  described = idx_described (&h);
  return _lathe_data_reader_expect_end (reader, described, cancellable, error) &&
         check_labels (_lathe_data_reader_get_label (reader), self->labels, h.n,
                       &self->n_classes, error);
}

LatheDataset *
lathe_dataset_new_idx (GFile         *images,
                       GFile         *labels,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(LatheDataset) self = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(LatheDataReader) images_reader = NULL;

  g_return_val_if_fail (G_IS_FILE (images), NULL);
  g_return_val_if_fail (labels == NULL || G_IS_FILE (labels), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (LATHE_TYPE_DATASET, NULL);
  checksum = g_checksum_new (G_CHECKSUM_SHA256);

  images_reader = _lathe_data_reader_open (images, "images file", checksum,
                                           cancellable, error);
  if (images_reader == NULL ||
      !idx_read_images (self, images_reader, cancellable, error))
    return NULL;

  if (labels != NULL)
    {
      g_autoptr(LatheDataReader) labels_reader =
        _lathe_data_reader_open (labels, "labels file", checksum, cancellable, error);

      if (labels_reader == NULL ||
          !idx_read_labels (self, labels_reader,
                            _lathe_data_reader_get_label (images_reader),
                            cancellable, error))
        return NULL;
    }

  self->spec = spec_for_files ("idx", images, labels);
  self->sha256 = g_strdup (g_checksum_get_string (checksum));
  return g_steal_pointer (&self);
}

/* ---------------------------------------------------------------- NPY --- */

static gboolean
npy_read_inputs (LatheDataset     *self,
                 LatheDataReader  *reader,
                 GCancellable     *cancellable,
                 GError          **error)
{
  LatheNpyHeader h;

  if (!_lathe_npy_read_header (reader, &h, cancellable, error))
    return FALSE;
  if (h.dtype != LATHE_DTYPE_FLOAT && h.dtype != LATHE_DTYPE_UINT8)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds %s ('%s') data; inputs must be float32 ('<f4') or "
                   "uint8 ('|u1')", _lathe_data_reader_get_label (reader),
                   lathe_dtype_name (h.dtype), h.descr);
      return FALSE;
    }
  if (h.ndim == 0)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s holds a single value; inputs need a first axis that counts "
                   "the samples", _lathe_data_reader_get_label (reader));
      return FALSE;
    }
  if (!set_samples (self, reader, "samples", h.ndim, h.dims, error))
    return FALSE;

  self->dtype = h.dtype;
  self->data = lathe_aligned_alloc0 (h.nbytes);
  return _lathe_npy_read_data (reader, &h, self->data, cancellable, error);
}

static gboolean
npy_read_labels (LatheDataset     *self,
                 LatheDataReader  *reader,
                 const char       *inputs_label,
                 GCancellable     *cancellable,
                 GError          **error)
{
  const char *label = _lathe_data_reader_get_label (reader);
  LatheNpyHeader h;
  g_autofree gpointer raw = NULL;

  if (!_lathe_npy_read_header (reader, &h, cancellable, error))
    return FALSE;
  if (h.dtype == LATHE_DTYPE_FLOAT)
    {
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_UNSUPPORTED,
                   "%s holds float32 ('%s') values; labels must be integers "
                   "('|u1', '|i1', '<i4' or '<i8')", label, h.descr);
      return FALSE;
    }
  /* (N,) as saved from a label vector; (N, 1) as saved from a column. */
  if (h.ndim != 1 && !(h.ndim == 2 && h.dims[1] == 1))
    {
      g_autofree char *shape = lathe_shape_to_string (h.ndim, h.dims);
      g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_FORMAT,
                   "%s has shape %s; labels must have shape (N,) or (N, 1)",
                   label, shape);
      return FALSE;
    }
  if (!labels_count_matches (reader, (guint64) h.dims[0], inputs_label,
                             self->n_samples, "samples", error))
    return FALSE;

  self->labels = g_new (gint32, MAX (h.n, 1));
  if (h.dtype == LATHE_DTYPE_INT32)
    return _lathe_npy_read_data (reader, &h, self->labels, cancellable, error) &&
           check_labels (label, self->labels, h.n, &self->n_classes, error);

  raw = g_malloc (MAX (h.nbytes, 1));
  if (!_lathe_npy_read_data (reader, &h, raw, cancellable, error))
    return FALSE;

  for (gsize i = 0; i < h.n; i++)
    {
      gint64 v;

      switch ((int) h.dtype)
        {
        case LATHE_DTYPE_UINT8: v = ((const guint8 *) raw)[i]; break;
        case LATHE_DTYPE_INT8:  v = ((const gint8 *) raw)[i]; break;
        case LATHE_DTYPE_INT64: v = ((const gint64 *) raw)[i]; break;
        default: g_assert_not_reached ();
        }
      /* Out-of-range int64 values become -1 or the maximum, which
       * check_labels then rejects with the offending index. */
      if (v < 0)
        self->labels[i] = (gint32) MAX (v, -1);
      else
        self->labels[i] = (gint32) MIN (v, (gint64) G_MAXINT32);
    }
  return check_labels (label, self->labels, h.n, &self->n_classes, error);
}

LatheDataset *
lathe_dataset_new_npy (GFile         *inputs,
                       GFile         *labels,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(LatheDataset) self = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(LatheDataReader) inputs_reader = NULL;

  g_return_val_if_fail (G_IS_FILE (inputs), NULL);
  g_return_val_if_fail (labels == NULL || G_IS_FILE (labels), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (LATHE_TYPE_DATASET, NULL);
  checksum = g_checksum_new (G_CHECKSUM_SHA256);

  inputs_reader = _lathe_data_reader_open (inputs, "inputs file", checksum,
                                           cancellable, error);
  if (inputs_reader == NULL ||
      !npy_read_inputs (self, inputs_reader, cancellable, error))
    return NULL;

  if (labels != NULL)
    {
      g_autoptr(LatheDataReader) labels_reader =
        _lathe_data_reader_open (labels, "labels file", checksum, cancellable, error);

      if (labels_reader == NULL ||
          !npy_read_labels (self, labels_reader,
                            _lathe_data_reader_get_label (inputs_reader),
                            cancellable, error))
        return NULL;
    }

  self->spec = spec_for_files ("npy", inputs, labels);
  self->sha256 = g_strdup (g_checksum_get_string (checksum));
  return g_steal_pointer (&self);
}

/* --------------------------------------------------------------- spec --- */

static gboolean
spec_error (GError     **error,
            const char  *spec,
            const char  *reason)
{
  g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC,
               "Cannot use data spec “%s”: %s; expected %s",
               spec, reason, spec_forms);
  return FALSE;
}

/* Debian ships the files gzip-compressed; accept them uncompressed too. */
static GFile *
fashion_mnist_file (const char  *dir,
                    const char  *split,
                    const char  *kind,
                    GError     **error)
{
  g_autofree char *base = g_strdup_printf ("%s-%s-idx%d-ubyte", split, kind,
                                           g_str_equal (kind, "images") ? 3 : 1);
  g_autofree char *gz_name = g_strconcat (base, ".gz", NULL);
  g_autofree char *gz_path = g_build_filename (dir, gz_name, NULL);
  g_autofree char *raw_path = g_build_filename (dir, base, NULL);

  if (g_file_test (gz_path, G_FILE_TEST_IS_REGULAR))
    return g_file_new_for_path (gz_path);
  if (g_file_test (raw_path, G_FILE_TEST_IS_REGULAR))
    return g_file_new_for_path (raw_path);

  g_set_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_IO,
               "Fashion-MNIST %s file %s not found; install Debian's "
               "dataset-fashion-mnist package (apt install dataset-fashion-mnist) "
               "or set LATHE_FASHION_MNIST_DIR to a folder holding the files",
               kind, gz_path);
  return NULL;
}

static LatheDataset *
new_fashion_mnist (const char    *split,
                   GCancellable  *cancellable,
                   GError       **error)
{
  const char *dir = g_getenv ("LATHE_FASHION_MNIST_DIR");
  g_autoptr(GFile) images = NULL;
  g_autoptr(GFile) labels = NULL;

  if (dir == NULL || *dir == '\0')
    dir = LATHE_FASHION_MNIST_DIR;

  images = fashion_mnist_file (dir, split, "images", error);
  if (images == NULL)
    return NULL;
  labels = fashion_mnist_file (dir, split, "labels", error);
  if (labels == NULL)
    return NULL;
  return lathe_dataset_new_idx (images, labels, cancellable, error);
}

LatheDataset *
lathe_dataset_new_from_spec (const char    *spec,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_autoptr(LatheDataset) self = NULL;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_str_equal (spec, "fashion-mnist") || g_str_equal (spec, "fashion-mnist:test"))
    self = new_fashion_mnist ("t10k", cancellable, error);
  else if (g_str_equal (spec, "fashion-mnist:train"))
    self = new_fashion_mnist ("train", cancellable, error);
  else if (g_str_has_prefix (spec, "idx:") || g_str_has_prefix (spec, "npy:"))
    {
      gboolean is_idx = g_str_has_prefix (spec, "idx:");
      g_auto(GStrv) parts = g_strsplit (spec + 4, ",", -1);
      guint n_parts = g_strv_length (parts);
      g_autoptr(GFile) inputs = NULL;
      g_autoptr(GFile) labels = NULL;

      if (n_parts == 0 || *parts[0] == '\0')
        {
          spec_error (error, spec, is_idx ? "it names no images file"
                                          : "it names no inputs file");
          return NULL;
        }
      if (n_parts > 2)
        {
          spec_error (error, spec, "it names more than two files");
          return NULL;
        }
      if (n_parts == 2 && *parts[1] == '\0')
        {
          spec_error (error, spec, "the labels file after ',' is empty");
          return NULL;
        }

      /* Plain paths, relative ones resolved against the current folder. */
      inputs = g_file_new_for_path (parts[0]);
      if (n_parts == 2)
        labels = g_file_new_for_path (parts[1]);
      self = is_idx ? lathe_dataset_new_idx (inputs, labels, cancellable, error)
                    : lathe_dataset_new_npy (inputs, labels, cancellable, error);
    }
  else
    {
      spec_error (error, spec, "unknown form");
      return NULL;
    }

  if (self == NULL)
    return NULL;
  /* Keep the spec as the user wrote it: it is what a pipeline replays. */
  g_free (self->spec);
  self->spec = g_strdup (spec);
  return g_steal_pointer (&self);
}

LatheDataset *
lathe_dataset_new_take (LatheDType     dtype,
                        guint          n,
                        guint          sample_ndim,
                        const gint64  *sample_dims,
                        gpointer       data,
                        gint32        *labels,
                        const char    *spec)
{
  g_autoptr(GChecksum) checksum = NULL;
  g_autoptr(GError) local = NULL;
  gint64 all_dims[LATHE_MAX_DIMS];
  LatheDataset *self;
  gsize n_elements;
  guint n_classes = 0;

  g_return_val_if_fail (dtype == LATHE_DTYPE_UINT8 || dtype == LATHE_DTYPE_FLOAT, NULL);
  g_return_val_if_fail (sample_ndim < LATHE_MAX_DIMS, NULL);
  g_return_val_if_fail (sample_ndim == 0 || sample_dims != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);

  all_dims[0] = n;
  if (sample_ndim > 0)
    memcpy (all_dims + 1, sample_dims, sample_ndim * sizeof (gint64));
  if (!lathe_shape_numel (sample_ndim + 1, all_dims, &n_elements))
    {
      g_autofree char *shape = lathe_shape_to_string (sample_ndim + 1, all_dims);
      g_critical ("%s: shape %s is negative or too large", G_STRFUNC, shape);
      return NULL;
    }
  if (labels != NULL && !check_labels ("labels", labels, n, &n_classes, &local))
    {
      g_critical ("%s: %s", G_STRFUNC, local->message);
      return NULL;
    }

  self = g_object_new (LATHE_TYPE_DATASET, NULL);
  self->dtype = dtype;
  self->n_samples = n;
  self->sample_ndim = sample_ndim;
  self->sample_size = 1;
  for (guint i = 0; i < sample_ndim; i++)
    {
      self->sample_dims[i] = sample_dims[i];
      self->sample_size *= (gsize) sample_dims[i];
    }
  self->data = data;
  self->labels = labels;
  self->n_classes = n_classes;
  self->spec = g_strdup (spec != NULL ? spec : "memory");

  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, data, (gssize) (n_elements * lathe_dtype_size (dtype)));
  if (labels != NULL)
    g_checksum_update (checksum, (const guchar *) labels, (gssize) (n * sizeof (gint32)));
  self->sha256 = g_strdup (g_checksum_get_string (checksum));
  return self;
}

/* ------------------------------------------------------------ getters --- */

guint
lathe_dataset_get_n_samples (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), 0);
  return self->n_samples;
}

LatheDType
lathe_dataset_get_dtype (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), LATHE_DTYPE_UNDEFINED);
  return self->dtype;
}

guint
lathe_dataset_get_sample_ndim (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), 0);
  return self->sample_ndim;
}

const gint64 *
lathe_dataset_get_sample_dims (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), NULL);
  return self->sample_dims;
}

gsize
lathe_dataset_get_sample_size (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), 0);
  return self->sample_size;
}

gboolean
lathe_dataset_has_labels (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), FALSE);
  return self->labels != NULL;
}

const gint32 *
lathe_dataset_get_labels (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), NULL);
  return self->labels;
}

guint
lathe_dataset_get_n_classes (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), 0);
  return self->n_classes;
}

const char *
lathe_dataset_get_spec (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), NULL);
  return self->spec;
}

const char *
lathe_dataset_get_sha256 (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), NULL);
  return self->sha256;
}

gconstpointer
lathe_dataset_get_data (LatheDataset *self)
{
  g_return_val_if_fail (LATHE_IS_DATASET (self), NULL);
  return self->data;
}

/* ------------------------------------------------------- preprocessing --- */

void
lathe_dataset_fill_batch (LatheDataset *self,
                          guint         start,
                          guint         count,
                          guint         n_channels,
                          const float  *mean,
                          const float  *std,
                          float        *dst)
{
  float stack_lut[4 * 256];
  g_autofree float *heap_lut = NULL;
  float *lut;
  const guint8 *src;
  gsize plane;

  g_return_if_fail (LATHE_IS_DATASET (self));
  g_return_if_fail (start <= self->n_samples && count <= self->n_samples - start);
  g_return_if_fail (n_channels > 0 && self->sample_size % n_channels == 0);
  g_return_if_fail (dst != NULL || count == 0);

  if (count == 0)
    return;

  if (self->dtype == LATHE_DTYPE_FLOAT)
    {
      memcpy (dst, (const float *) self->data + (gsize) start * self->sample_size,
              (gsize) count * self->sample_size * sizeof (float));
      return;
    }

  g_assert (self->dtype == LATHE_DTYPE_UINT8);

  /* A byte has 256 values: tabulating the exact expression per channel
   * gives the same floats as evaluating it, without a division per pixel. */
  if (n_channels <= 4)
    lut = stack_lut;
  else
    lut = heap_lut = g_new (float, (gsize) n_channels * 256);
  for (guint c = 0; c < n_channels; c++)
    {
      float m = mean != NULL ? mean[c] : 0.0f;
      float s = std != NULL ? std[c] : 1.0f;
      float *row = lut + (gsize) c * 256;

      for (guint p = 0; p < 256; p++)
        row[p] = ((float) p / 255.0f - m) / s;
    }

  plane = self->sample_size / n_channels;
  src = (const guint8 *) self->data + (gsize) start * self->sample_size;
  for (guint i = 0; i < count; i++)
    for (guint c = 0; c < n_channels; c++)
      {
        const float *row = lut + (gsize) c * 256;

        for (gsize j = 0; j < plane; j++)
          *dst++ = row[*src++];
      }
}
