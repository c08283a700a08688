/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-data"

#include "data/lathe-class-names.h"

const char * const lathe_fashion_mnist_class_names[LATHE_FASHION_MNIST_N_CLASSES] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

char **
lathe_class_names_for_dataset (LatheDataset *data,
                               guint         n_classes)
{
  const char *spec;

  g_return_val_if_fail (LATHE_IS_DATASET (data), NULL);

  spec = lathe_dataset_get_spec (data);
  if (n_classes == LATHE_FASHION_MNIST_N_CLASSES && spec != NULL &&
      (g_str_equal (spec, "fashion-mnist") || g_str_has_prefix (spec, "fashion-mnist:")))
    {
      char **names = g_new0 (char *, n_classes + 1);
      for (guint c = 0; c < n_classes; c++)
        names[c] = g_strdup (lathe_fashion_mnist_class_names[c]);
      return names;
    }
  return NULL;
}
