/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "core/lathe-tensor.h"

G_BEGIN_DECLS

/* An evaluation set held in memory: N samples of one element type (uint8
 * or float32), each of the same shape, with optional class labels. A
 * dataset is immutable once made, so workers can read it from any thread.
 *
 * Specs, as the CLI and pipeline files spell them:
 *   fashion-mnist, fashion-mnist:test   the t10k files of Fashion-MNIST
 *   fashion-mnist:train                 the train files
 *   idx:IMAGES[,LABELS]                 IDX files, raw or gzip-compressed
 *   npy:INPUTS[,LABELS]                 NumPy .npy files
 * Fashion-MNIST is read from $LATHE_FASHION_MNIST_DIR when set, else from
 * the directory configured at build time (Debian's dataset-fashion-mnist). */

/* Labels are class indices; a dense confusion matrix over more classes
 * than this would not fit a laptop's memory. */
#define LATHE_DATASET_MAX_CLASSES 16384

#define LATHE_TYPE_DATASET (lathe_dataset_get_type ())
G_DECLARE_FINAL_TYPE (LatheDataset, lathe_dataset, LATHE, DATASET, GObject)

LatheDataset  *lathe_dataset_new_from_spec    (const char    *spec,
                                               GCancellable  *cancellable,
                                               GError       **error);
LatheDataset  *lathe_dataset_new_idx          (GFile         *images,
                                               GFile         *labels,
                                               GCancellable  *cancellable,
                                               GError       **error);
LatheDataset  *lathe_dataset_new_npy          (GFile         *inputs,
                                               GFile         *labels,
                                               GCancellable  *cancellable,
                                               GError       **error);
/* Takes ownership of data (allocated with lathe_aligned_alloc0(), n ×
 * sample size elements of dtype LATHE_DTYPE_UINT8 or LATHE_DTYPE_FLOAT) and
 * of labels (g_malloc()ed, n values ≥ 0, or NULL). The digest covers the
 * data bytes, then the label bytes. */
LatheDataset  *lathe_dataset_new_take         (LatheDType     dtype,
                                               guint          n,
                                               guint          sample_ndim,
                                               const gint64  *sample_dims,
                                               gpointer       data,
                                               gint32        *labels,
                                               const char    *spec);

guint          lathe_dataset_get_n_samples    (LatheDataset  *self);
LatheDType     lathe_dataset_get_dtype        (LatheDataset  *self);
guint          lathe_dataset_get_sample_ndim  (LatheDataset  *self);
const gint64  *lathe_dataset_get_sample_dims  (LatheDataset  *self);
/* Elements per sample. */
gsize          lathe_dataset_get_sample_size  (LatheDataset  *self);
gboolean       lathe_dataset_has_labels       (LatheDataset  *self);
const gint32  *lathe_dataset_get_labels       (LatheDataset  *self);
/* Largest label + 1; 0 without labels. */
guint          lathe_dataset_get_n_classes    (LatheDataset  *self);
const char    *lathe_dataset_get_spec         (LatheDataset  *self);
/* Lower-case hex SHA-256 over the files' bytes as stored on disk (images
 * then labels; compressed bytes for gzip). */
const char    *lathe_dataset_get_sha256       (LatheDataset  *self);
gconstpointer  lathe_dataset_get_data         (LatheDataset  *self);

/* Writes samples [start, start + count) as float32 to dst (count × sample
 * size floats). uint8 data is normalised per channel, each sample seen as
 * [n_channels, sample_size / n_channels]:
 *     dst = ((float) p / 255.0f - mean[c]) / std[c]
 * evaluated in float32 in exactly that order (mean NULL means 0, std NULL
 * means 1). float data is copied unchanged and mean and std are ignored. */
void           lathe_dataset_fill_batch       (LatheDataset  *self,
                                               guint          start,
                                               guint          count,
                                               guint          n_channels,
                                               const float   *mean,
                                               const float   *std,
                                               float         *dst);

G_END_DECLS
