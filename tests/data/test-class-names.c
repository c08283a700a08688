/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-test"

/* Class names the engine knows for a dataset: Fashion-MNIST's for its
 * built-in specs (the same as the sample models' lathe.labels), none for
 * other data or another class count. */

#include "data/lathe-class-names.h"
#include "onnx/lathe-model.h"
#include "../lathe-test-util.h"

static LatheDataset *
dataset_with (const char *spec,
              guint       n_classes)
{
  gint64 dims[1] = { 4 };
  guint n = n_classes;
  guint8 *data = lathe_aligned_alloc0 ((gsize) n * 4);
  gint32 *labels = g_new (gint32, n);

  for (guint i = 0; i < n; i++)
    labels[i] = (gint32) i;
  return lathe_dataset_new_take (LATHE_DTYPE_UINT8, n, 1, dims, data, labels, spec);
}

static void
test_fashion (void)
{
  g_autoptr(LatheDataset) test = dataset_with ("fashion-mnist:test", 10);
  g_autoptr(LatheDataset) plain = dataset_with ("fashion-mnist", 10);
  g_auto(GStrv) a = lathe_class_names_for_dataset (test, 10);
  g_auto(GStrv) b = lathe_class_names_for_dataset (plain, 10);
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;
  g_autoptr(LatheModel) model = lathe_model_new_from_file (path, NULL, &error);
  g_auto(GStrv) from_model = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_cmpuint (g_strv_length (a), ==, 10);
  g_assert_cmpstr (a[0], ==, "T-shirt/top");
  g_assert_cmpstr (a[6], ==, "Shirt");
  g_assert_cmpstr (a[9], ==, "Ankle boot");
  g_assert_true (g_strv_equal ((const char * const *) a, (const char * const *) b));
  /* the sample models were trained with the same names */
  from_model = lathe_model_dup_labels (model);
  g_assert_true (g_strv_equal ((const char * const *) a, (const char * const *) from_model));
}

static void
test_unknown (void)
{
  g_autoptr(LatheDataset) npy = dataset_with ("npy:inputs.npy,labels.npy", 10);
  g_autoptr(LatheDataset) fewer = dataset_with ("fashion-mnist:test", 3);
  g_auto(GStrv) a = lathe_class_names_for_dataset (npy, 10);
  g_auto(GStrv) b = lathe_class_names_for_dataset (fewer, 3);

  g_assert_null (a);
  g_assert_null (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lathe/data/class-names/fashion-mnist", test_fashion);
  g_test_add_func ("/lathe/data/class-names/unknown", test_unknown);
  return g_test_run ();
}
