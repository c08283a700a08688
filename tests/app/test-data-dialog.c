/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-data-dialog"

/* LatheDataDialog in process: the normalisation prefilled from the sample
 * model and checked field by field; Fashion-MNIST built in and Debian's
 * IDX files load off the main thread and are handed over through
 * "data-chosen"; a truncated and a garbage file give errors naming them.
 * Runs under Xvfb like test-window. */

#include <string.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "core/lathe-error.h"
#include "lathe-data-dialog-private.h"
#include "../lathe-test-util.h"

#define WAIT_SECONDS 60
#include "app-test-display.h"

typedef struct {
  GtkWindow       *parent;
  LatheModel      *model;
  LatheDataDialog *dialog;
  LatheDataset    *chosen;
  GArray          *mean, *std;
  guint            n_chosen;
  char            *tmp;
} Fixture;

static void
chosen_cb (LatheDataDialog *dialog,
           LatheDataset    *data,
           GArray          *mean,
           GArray          *std,
           Fixture         *f)
{
  g_set_object (&f->chosen, data);
  g_clear_pointer (&f->mean, g_array_unref);
  g_clear_pointer (&f->std, g_array_unref);
  f->mean = g_array_ref (mean);
  f->std = g_array_ref (std);
  f->n_chosen++;
}

/* Until the load has answered: with the data, or with an error. */
static gboolean
answered (gpointer data)
{
  Fixture *f = data;
  return f->dialog == NULL || !_lathe_data_dialog_get_busy (f->dialog);
}

static gboolean
closed_if_chosen (gpointer data)
{
  Fixture *f = data;
  return f->n_chosen == 0 || f->dialog == NULL;
}

static void
wait_loaded (Fixture *f)
{
  wait_for (answered, f);
  /* on success the dialog closes: let it go */
  wait_for (closed_if_chosen, f);
  drain ();
  g_assert_true (f->dialog == NULL || !_lathe_data_dialog_get_busy (f->dialog));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(GError) error = NULL;

  f->model = lathe_model_new_from_file (path, NULL, &error);
  g_assert_no_error (error);
  f->parent = GTK_WINDOW (gtk_window_new ());
  g_object_ref_sink (f->parent);
  gtk_window_present (f->parent);
  f->dialog = LATHE_DATA_DIALOG (lathe_data_dialog_new (f->parent, f->model));
  /* the dialog goes away by itself on success */
  g_object_add_weak_pointer (G_OBJECT (f->dialog), (gpointer *) &f->dialog);
  g_signal_connect (f->dialog, "data-chosen", G_CALLBACK (chosen_cb), f);
  gtk_window_present (GTK_WINDOW (f->dialog));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->dialog));
  f->tmp = g_dir_make_tmp ("lathe-data-dialog-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (f->dialog));
  drain ();
  g_assert_null (f->dialog);
  gtk_window_destroy (f->parent);
  drain ();
  finalize_when_released (f->parent);
  g_clear_object (&f->chosen);
  g_clear_pointer (&f->mean, g_array_unref);
  g_clear_pointer (&f->std, g_array_unref);
  g_clear_object (&f->model);
  lathe_test_remove_tree (f->tmp);
  g_free (f->tmp);
}

static char *
fashion_file (const char *name)
{
  const char *dir = g_getenv ("LATHE_FASHION_MNIST_DIR");

  return g_build_filename (dir && *dir ? dir : LATHE_FASHION_MNIST_DIR, name, NULL);
}

#define REQUIRE_FASHION() \
  { g_autofree char *probe = fashion_file ("t10k-labels-idx1-ubyte.gz"); \
    if (!g_file_test (probe, G_FILE_TEST_IS_REGULAR)) { g_test_skip ("dataset-fashion-mnist is not installed"); return; } }

static void
use (Fixture *f)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->dialog), "data.use", NULL));
}

/* ---------------------------------------------------------------------- */

static void
test_prefilled (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (gtk_editable_get_text (_lathe_data_dialog_get_mean_entry (f->dialog)), ==, "0.286");
  g_assert_cmpstr (gtk_editable_get_text (_lathe_data_dialog_get_std_entry (f->dialog)), ==, "0.353");
  g_assert_null (_lathe_data_dialog_get_norm_error (f->dialog));
  g_assert_null (_lathe_data_dialog_get_error (f->dialog));
  save_png (GTK_WIDGET (f->dialog), "data-dialog.png");
}

static void
test_builtin (Fixture *f, gconstpointer data)
{
  REQUIRE_FASHION ();
  gtk_editable_set_text (_lathe_data_dialog_get_mean_entry (f->dialog), "0.3");
  use (f);
  g_assert_true (f->dialog == NULL || _lathe_data_dialog_get_busy (f->dialog));
  wait_loaded (f);
  g_assert_cmpuint (f->n_chosen, ==, 1);
  g_assert_cmpstr (lathe_dataset_get_spec (f->chosen), ==, "fashion-mnist:test");
  g_assert_cmpuint (lathe_dataset_get_n_samples (f->chosen), ==, 10000);
  g_assert_cmpuint (f->mean->len, ==, 1);
  g_assert_cmpfloat (g_array_index (f->mean, float, 0), ==, 0.3f);
  g_assert_cmpfloat (g_array_index (f->std, float, 0), ==, 0.353f);
  g_assert_null (f->dialog);   /* closed */
}

static void
test_idx_files (Fixture *f, gconstpointer data)
{
  g_autofree char *images = fashion_file ("t10k-images-idx3-ubyte.gz");
  g_autofree char *labels = fashion_file ("t10k-labels-idx1-ubyte.gz");
  g_autofree char *spec = g_strdup_printf ("idx:%s,%s", images, labels);

  REQUIRE_FASHION ();
  _lathe_data_dialog_set_files (f->dialog, images, labels);
  drain ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->dialog));
  save_png (GTK_WIDGET (f->dialog), "data-dialog-files.png");
  use (f);
  wait_loaded (f);
  g_assert_cmpuint (f->n_chosen, ==, 1);
  g_assert_cmpstr (lathe_dataset_get_spec (f->chosen), ==, spec);
  g_assert_cmpuint (lathe_dataset_get_n_samples (f->chosen), ==, 10000);
  g_assert_true (lathe_dataset_has_labels (f->chosen));
  g_assert_null (f->dialog);
}

/* An IDX images file whose header promises more than it holds. */
static void
test_truncated (Fixture *f, gconstpointer data)
{
  g_autofree char *labels = fashion_file ("t10k-labels-idx1-ubyte.gz");
  g_autofree char *images = g_build_filename (f->tmp, "short-images-idx3-ubyte", NULL);
  g_autoptr(GError) error = NULL;
  /* magic 0x00000803, 10000 × 28 × 28, then 100 bytes instead of 7.8 MB */
  guint8 bytes[16 + 100] = { 0, 0, 8, 3,  0, 0, 0x27, 0x10,  0, 0, 0, 28,  0, 0, 0, 28 };
  const char *message;

  REQUIRE_FASHION ();
  g_assert_true (g_file_set_contents (images, (const char *) bytes, sizeof bytes, &error));
  g_assert_no_error (error);
  _lathe_data_dialog_set_files (f->dialog, images, labels);
  use (f);
  wait_loaded (f);
  g_assert_cmpuint (f->n_chosen, ==, 0);
  g_assert_nonnull (f->dialog);
  message = _lathe_data_dialog_get_error (f->dialog);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, images));
  g_assert_nonnull (strstr (message, "truncated"));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->dialog));
  save_png (GTK_WIDGET (f->dialog), "data-dialog-error.png");

  /* another file clears the error */
  _lathe_data_dialog_set_files (f->dialog, images, labels);
  g_assert_null (_lathe_data_dialog_get_error (f->dialog));
}

/* Random bytes where the labels should be. */
static void
test_garbage (Fixture *f, gconstpointer data)
{
  g_autofree char *images = fashion_file ("t10k-images-idx3-ubyte.gz");
  g_autofree char *labels = g_build_filename (f->tmp, "garbage-labels.idx", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint8 bytes[300];
  const char *message;

  REQUIRE_FASHION ();
  for (guint i = 0; i < sizeof bytes; i++)
    bytes[i] = (guint8) g_rand_int_range (rand, 0, 256);
  bytes[0] = 0x5a;   /* not an IDX magic (those start with two zero bytes) */
  g_assert_true (g_file_set_contents (labels, (const char *) bytes, sizeof bytes, &error));
  _lathe_data_dialog_set_files (f->dialog, images, labels);
  use (f);
  wait_loaded (f);
  g_assert_cmpuint (f->n_chosen, ==, 0);
  message = _lathe_data_dialog_get_error (f->dialog);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, labels));
}

/* A missing file, and files in two formats, are named before loading. */
static void
test_missing_and_mixed (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (f->tmp, "nowhere-images-idx3-ubyte", NULL);
  g_autofree char *npy = g_build_filename (f->tmp, "labels.npy", NULL);
  g_autofree char *comma = g_build_filename (f->tmp, "a,b-images", NULL);
  g_autofree char *spec = NULL;
  g_autoptr(GError) error = NULL;
  const char *message;

  _lathe_data_dialog_set_files (f->dialog, missing, npy);
  spec = _lathe_data_dialog_build_spec (f->dialog, &error);
  g_assert_null (spec);
  g_assert_error (error, LATHE_DATA_ERROR, LATHE_DATA_ERROR_SPEC);
  g_assert_nonnull (strstr (error->message, npy));
  g_clear_error (&error);
  use (f);
  g_assert_false (_lathe_data_dialog_get_busy (f->dialog));
  g_assert_nonnull (strstr (_lathe_data_dialog_get_error (f->dialog), npy));

  _lathe_data_dialog_set_files (f->dialog, comma, missing);
  spec = _lathe_data_dialog_build_spec (f->dialog, &error);
  g_assert_null (spec);
  g_assert_nonnull (strstr (error->message, comma));
  g_clear_error (&error);

  _lathe_data_dialog_set_files (f->dialog, missing, missing);
  use (f);
  wait_loaded (f);
  message = _lathe_data_dialog_get_error (f->dialog);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, missing));
  g_assert_cmpuint (f->n_chosen, ==, 0);
}

typedef struct {
  const char *mean, *std;
  const char *field;       /* named in the error */
  const char *also;        /* and this */
} BadNorm;

static void
test_bad_normalization (Fixture *f, gconstpointer data)
{
  static const BadNorm cases[] = {
    { "abc", "0.353", "Mean", "abc" },
    { "0.286", "0", "Standard deviation", "0" },
    { "0.286", "-0.5", "Standard deviation", "-0.5" },
    { "0.1, 0.2", "0.353", "Mean", "1 channel" },
    { "0.286", "0.3,,0.3", "Standard deviation", "not a number" },
    { "", "0.353", "Mean", "enter a number" },
    { "0.286", "nan", "Standard deviation", "nan" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *message;

      gtk_editable_set_text (_lathe_data_dialog_get_mean_entry (f->dialog), cases[i].mean);
      gtk_editable_set_text (_lathe_data_dialog_get_std_entry (f->dialog), cases[i].std);
      use (f);
      /* refused at once: nothing loads */
      g_assert_false (_lathe_data_dialog_get_busy (f->dialog));
      message = _lathe_data_dialog_get_norm_error (f->dialog);
      g_test_message ("%s / %s: %s", cases[i].mean, cases[i].std, message);
      g_assert_nonnull (message);
      g_assert_true (g_str_has_prefix (message, cases[i].field));
      g_assert_nonnull (strstr (message, cases[i].also));
      if (i == 0)
        {
          gtk_test_widget_wait_for_draw (GTK_WIDGET (f->dialog));
          save_png (GTK_WIDGET (f->dialog), "data-dialog-bad-mean.png");
        }
    }
  g_assert_cmpuint (f->n_chosen, ==, 0);

  /* fixing the text takes the error away */
  gtk_editable_set_text (_lathe_data_dialog_get_mean_entry (f->dialog), "0.286");
  gtk_editable_set_text (_lathe_data_dialog_get_std_entry (f->dialog), "0.353");
  g_assert_null (_lathe_data_dialog_get_norm_error (f->dialog));
}

/* Choosing opens a file chooser (GTK's own dialog without a portal). */
static void
test_chooser (Fixture *f, gconstpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint before = g_list_model_get_n_items (toplevels);
  gboolean found = FALSE;

  _lathe_data_dialog_set_files (f->dialog, "/nonexistent/a-images-idx3-ubyte", "/nonexistent/a-labels");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->dialog), "data.choose", "s", "images"));
  drain ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
      if (g_strcmp0 (gtk_window_get_title (w), "Choose the Images") == 0)
        found = TRUE;
    }
  g_assert_cmpuint (g_list_model_get_n_items (toplevels), >, before);
  g_assert_true (found);
  /* closing the dialog takes the chooser with it (tear-down) */
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/lathe/app/data-dialog/prefilled", test_prefilled);
  ADD ("/lathe/app/data-dialog/builtin", test_builtin);
  ADD ("/lathe/app/data-dialog/idx-files", test_idx_files);
  ADD ("/lathe/app/data-dialog/truncated", test_truncated);
  ADD ("/lathe/app/data-dialog/garbage", test_garbage);
  ADD ("/lathe/app/data-dialog/missing-and-mixed", test_missing_and_mixed);
  ADD ("/lathe/app/data-dialog/bad-normalization", test_bad_normalization);
  ADD ("/lathe/app/data-dialog/chooser", test_chooser);
  return g_test_run ();
}
