/* SPDX-License-Identifier: MIT */
#pragma once

#include <adwaita.h>

#include "data/lathe-dataset.h"
#include "onnx/lathe-model.h"

G_BEGIN_DECLS

#define LATHE_TYPE_DATA_DIALOG (lathe_data_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LatheDataDialog, lathe_data_dialog, LATHE, DATA_DIALOG, AdwWindow)

/* Chooses the evaluation data: Fashion-MNIST's test split (built in) or
 * images and labels as IDX (raw or gzip) or NumPy files, with the mean and
 * std that normalise 8-bit images (prefilled from the model's metadata,
 * editable and checked: numbers, one or one per channel, std > 0). "Use"
 * loads the data off the main thread and checks that it fits the model;
 * errors name the file. On success it emits "data-chosen" and closes.
 *
 * Signal "data-chosen" (LatheDataset *data, GArray *mean, GArray *std):
 * the loaded dataset (lathe_dataset_get_spec() gives its spec, as the CLI's
 * --data takes it) and the float values to normalise with. */
GtkWidget *lathe_data_dialog_new               (GtkWindow       *parent,
                                                LatheModel      *model);
/* Preselects a choice: "fashion-mnist[:test]", "idx:IMAGES,LABELS" or
 * "npy:INPUTS,LABELS" (others are ignored). */
void       lathe_data_dialog_set_spec          (LatheDataDialog *self,
                                                const char      *spec);
/* Overrides the prefilled normalisation (n values each). */
void       lathe_data_dialog_set_normalization (LatheDataDialog *self,
                                                const float     *mean,
                                                const float     *std,
                                                guint            n);

G_END_DECLS
