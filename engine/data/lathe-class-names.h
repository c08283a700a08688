/* SPDX-License-Identifier: MIT */
#pragma once

#include "data/lathe-dataset.h"

G_BEGIN_DECLS

/* Fashion-MNIST's classes in label order, as its authors name them. */
#define LATHE_FASHION_MNIST_N_CLASSES 10
extern const char * const lathe_fashion_mnist_class_names[LATHE_FASHION_MNIST_N_CLASSES];

/* The class names of a dataset the engine knows, when it has `n_classes`
 * classes: Fashion-MNIST's for the built-in fashion-mnist specs. Returns a
 * new NULL-terminated array, or NULL when the dataset does not say (a
 * model's lathe.labels, lathe_model_dup_labels(), may). */
char **lathe_class_names_for_dataset (LatheDataset *data,
                                      guint         n_classes);

G_END_DECLS
