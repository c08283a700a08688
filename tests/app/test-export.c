/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "test-export"

/* The export dialog in process, on a session of the sample CNN: it writes
 * an artifact folder that the real `lathe-cli check` accepts, with the
 * files an "add-files" handler wrote listed in report.md; it asks before
 * touching an existing folder and never replaces a person's files; bad
 * destinations are errors that name them and write nothing; and the
 * lathe-cli command it shows writes the very same model.onnx. Runs under
 * Xvfb with GDK_DEBUG=gl-disable, GSK_RENDERER=cairo and GTK_A11Y=test. */

#include <string.h>
#include <unistd.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "lathe-export-dialog-private.h"
#include "../lathe-test-util.h"

#define WAIT_SECONDS  120
#define DATASET_FILE  "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define CHART_NAME    "accuracy-chart.svg"

#include "app-test-display.h"

/* Until the dialog has an answer: done, an error, or a question. */
static gboolean
settled (gpointer data)
{
  LatheExportDialog *dialog = data;

  return !_lathe_export_dialog_get_busy (dialog) &&
         (g_str_equal (_lathe_export_dialog_get_page (dialog), "done") ||
          _lathe_export_dialog_get_error (dialog) != NULL ||
          _lathe_export_dialog_get_confirm_dialog (dialog) != NULL);
}

static gboolean
idle_dialog (gpointer data)
{
  return !_lathe_export_dialog_get_busy (data);
}

static void
wait_settled (LatheExportDialog *dialog)
{
  wait_for (settled, dialog);
  drain ();
  g_assert_true (settled (dialog));
}

/* Everything a folder holds, as "name\n" lines sorted; "" when it does
 * not exist. */
static char *
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) s = g_string_new (NULL);
  const char *name;

  if (dir == NULL)
    return g_strdup ("");
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s\n", (char *) g_ptr_array_index (names, i));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---------------------------------------------------------------------- */

typedef struct {
  LatheSession      *session;
  LathePlan         *plan;
  GFile             *model;
  GtkWindow         *parent;
  LatheExportDialog *dialog;
  char              *tmp;
  GPtrArray         *events;     /* "add-files" / "exported", in order */
} Fixture;

static void
add_files_cb (LatheExportDialog *dialog,
              GFile             *dir,
              Fixture           *f)
{
  g_autoptr(GFile) chart = g_file_get_child (dir, CHART_NAME);
  const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>\n";
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (f->events, g_strdup ("add-files"));
  /* the artifact is complete when the hook runs */
  {
    g_autofree char *dir_path = g_file_get_path (dir);
    g_autofree char *pipeline = g_build_filename (dir_path, "pipeline.json", NULL);
    g_assert_true (g_file_test (pipeline, G_FILE_TEST_IS_REGULAR));
  }
  g_assert_true (g_file_replace_contents (chart, svg, strlen (svg), NULL, FALSE, G_FILE_CREATE_NONE,
                                          NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
exported_cb (LatheExportDialog *dialog,
             GFile             *dir,
             Fixture           *f)
{
  g_ptr_array_add (f->events, g_strdup ("exported"));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *model_path = lathe_test_sample ("fashion-cnn.onnx");
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheDataset) dataset = NULL;
  g_autoptr(GArray) mean = NULL;
  g_autoptr(GArray) std = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (DATASET_FILE, G_FILE_TEST_EXISTS))
    return;

  model = lathe_model_new_from_file (model_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (lathe_model_get_normalization (model, &mean, &std, &error));
  dataset = lathe_dataset_new_from_spec ("fashion-mnist", NULL, &error);
  g_assert_no_error (error);
  f->session = lathe_session_new (model, dataset, (const float *) (gpointer) mean->data,
                                  (const float *) (gpointer) std->data, mean->len, &error);
  g_assert_no_error (error);
  f->plan = lathe_plan_new ();
  f->plan->defaults.bits = 4;
  f->model = g_file_new_for_path (model_path);
  f->tmp = g_dir_make_tmp ("lathe-export-XXXXXX", &error);
  g_assert_no_error (error);
  f->events = g_ptr_array_new_with_free_func (g_free);

  f->parent = GTK_WINDOW (adw_window_new ());
  gtk_window_set_default_size (f->parent, 900, 700);
  gtk_window_present (f->parent);
  f->dialog = g_object_ref (lathe_export_dialog_new (f->parent, f->session, f->plan, f->model, "fashion-mnist"));
  g_signal_connect (f->dialog, "add-files", G_CALLBACK (add_files_cb), f);
  g_signal_connect (f->dialog, "exported", G_CALLBACK (exported_cb), f);
  gtk_window_present (GTK_WINDOW (f->dialog));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (f->dialog));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->dialog == NULL)
    return;
  gtk_window_destroy (GTK_WINDOW (f->dialog));
  drain ();
  finalize_when_released (f->dialog);
  gtk_window_destroy (f->parent);
  drain ();
  lathe_test_remove_tree (f->tmp);
  g_free (f->tmp);
  g_ptr_array_unref (f->events);
  g_object_unref (f->model);
  lathe_plan_free (f->plan);
  lathe_session_wait_idle (f->session);
  /* an export closed mid-way holds the session until its worker notices */
  finalize_when_released (f->session);
}

#define SKIP_WITHOUT_DATA(f) \
  if ((f)->dialog == NULL) { g_test_skip ("dataset-fashion-mnist is not installed"); return; }

static void
test_form (Fixture       *f,
           gconstpointer  data)
{
  SKIP_WITHOUT_DATA (f);

  /* nothing chosen: Export is off; the onnx exporter is chosen */
  g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "form");
  g_assert_null (lathe_export_dialog_get_folder (f->dialog));
  gtk_widget_activate_action (GTK_WIDGET (f->dialog), "export.export", NULL);
  drain ();
  g_assert_false (_lathe_export_dialog_get_busy (f->dialog));
  g_assert_null (_lathe_export_dialog_get_confirm_dialog (f->dialog));
  g_assert_null (_lathe_export_dialog_get_error (f->dialog));
  save_png (GTK_WIDGET (f->dialog), "export-dialog-form.png");
}

static void
test_artifact (Fixture       *f,
               gconstpointer  data)
{
  const char *cli = g_getenv ("LATHE_CLI");
  g_autofree char *outdir = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *pipeline = NULL;
  g_autofree char *onnx = NULL;
  g_autofree char *report = NULL;
  g_autofree char *chart = NULL;
  g_autofree char *report_text = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *sha_app = NULL, *sha_cli = NULL;
  g_autoptr(GFile) dir = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  SKIP_WITHOUT_DATA (f);
  g_assert_nonnull (cli);

  /* a space and a quote in the name: the command must quote them */
  outdir = g_build_filename (f->tmp, "it's exported", NULL);
  dir = g_file_new_for_path (outdir);
  lathe_export_dialog_export_to (f->dialog, dir);
  g_assert_true (_lathe_export_dialog_get_busy (f->dialog));
  wait_settled (f->dialog);
  g_assert_cmpstr (_lathe_export_dialog_get_error (f->dialog), ==, NULL);
  g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "done");

  /* the hook ran on the complete artifact, before "exported" */
  g_assert_cmpuint (f->events->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->events, 0), ==, "add-files");
  g_assert_cmpstr (g_ptr_array_index (f->events, 1), ==, "exported");

  pipeline = g_build_filename (outdir, "pipeline.json", NULL);
  onnx = g_build_filename (outdir, "model.onnx", NULL);
  report = g_build_filename (outdir, "report.md", NULL);
  chart = g_build_filename (outdir, CHART_NAME, NULL);
  g_assert_true (g_file_test (pipeline, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (onnx, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (chart, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (report, &report_text, NULL, &error));
  g_assert_nonnull (strstr (report_text, "## Added files"));
  g_assert_nonnull (strstr (report_text, "- `" CHART_NAME "`"));
  g_assert_nonnull (strstr (report_text, "fc1.weight"));
  save_png (GTK_WIDGET (f->dialog), "export-dialog-done.png");

  /* the real lathe-cli accepts it */
  {
    const char *check[] = { cli, "check", pipeline, NULL };
    status = lathe_test_spawn (check, &out, &err);
    if (status != 0)
      g_error ("lathe-cli check %s: exit %d\n%s%s", pipeline, status, out, err);
    g_assert_nonnull (strstr (out, "model.onnx sha256 matches"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }

  /* the copy button puts the command on the clipboard */
  g_assert_nonnull (_lathe_export_dialog_get_command (f->dialog));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->dialog), "export.copy-command", NULL));
  {
    GdkContentProvider *content = gdk_clipboard_get_content (gtk_widget_get_clipboard (GTK_WIDGET (f->dialog)));
    g_auto(GValue) value = G_VALUE_INIT;
    g_assert_nonnull (content);
    g_value_init (&value, G_TYPE_STRING);
    g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
    g_assert_cmpstr (g_value_get_string (&value), ==, _lathe_export_dialog_get_command (f->dialog));
  }

  /* the command shown, run as a person would (the artifact moved aside so
   * that -o names a new folder), writes the same model.onnx */
  sha_app = lathe_test_file_sha256 (onnx);
  moved = g_strconcat (outdir, ".app", NULL);
  g_assert_cmpint (g_rename (outdir, moved), ==, 0);
  g_test_message ("%s", _lathe_export_dialog_get_command (f->dialog));
  g_assert_true (g_shell_parse_argv (_lathe_export_dialog_get_command (f->dialog), NULL, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (argv[0], ==, "lathe-cli");
  g_assert_cmpstr (argv[1], ==, "apply");
  g_free (argv[0]);
  argv[0] = g_strdup (cli);
  status = lathe_test_spawn ((const char * const *) argv, &out, &err);
  if (status != 0)
    g_error ("%s: exit %d\n%s", _lathe_export_dialog_get_command (f->dialog), status, err);
  sha_cli = lathe_test_file_sha256 (onnx);
  g_assert_cmpstr (sha_cli, ==, sha_app);
  /* and the pipelines agree on the results too */
  {
    g_autofree char *a = NULL, *b = NULL;
    g_autofree char *moved_pipeline = g_build_filename (moved, "pipeline.json", NULL);
    g_assert_true (g_file_get_contents (pipeline, &a, NULL, NULL));
    g_assert_true (g_file_get_contents (moved_pipeline, &b, NULL, NULL));
    g_assert_cmpstr (strstr (a, "\"results\""), ==, strstr (b, "\"results\""));
  }
}

static void
test_existing_folder (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *outdir = NULL;
  g_autofree char *notes = NULL;
  g_autofree char *before = NULL, *after = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *pipeline = NULL;
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GFile) empty_dir = NULL;
  g_autoptr(GError) error = NULL;
  AdwMessageDialog *confirm;

  SKIP_WITHOUT_DATA (f);

  /* a folder holding a person's file */
  outdir = g_build_filename (f->tmp, "mine", NULL);
  g_assert_cmpint (g_mkdir (outdir, 0755), ==, 0);
  notes = g_build_filename (outdir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "keep me\n", -1, &error));
  before = list_dir (outdir);
  dir = g_file_new_for_path (outdir);

  /* asks first, and Cancel leaves it alone */
  lathe_export_dialog_export_to (f->dialog, dir);
  confirm = _lathe_export_dialog_get_confirm_dialog (f->dialog);
  g_assert_nonnull (confirm);
  g_assert_false (_lathe_export_dialog_get_busy (f->dialog));
  g_assert_cmpint (adw_message_dialog_get_response_appearance (confirm, "replace"), ==, ADW_RESPONSE_DESTRUCTIVE);
  g_assert_cmpstr (adw_message_dialog_get_default_response (confirm), ==, "cancel");
  gtk_test_widget_wait_for_draw (GTK_WIDGET (confirm));
  save_png (GTK_WIDGET (confirm), "export-dialog-confirm.png");
  adw_message_dialog_response (confirm, "cancel");
  drain ();
  g_assert_null (_lathe_export_dialog_get_confirm_dialog (f->dialog));
  g_assert_false (_lathe_export_dialog_get_busy (f->dialog));
  after = list_dir (outdir);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (f->events->len, ==, 0);

  /* Replace: still refused, since the folder holds a file no export
   * wrote; the error names it, and nothing changed */
  lathe_export_dialog_export_to (f->dialog, dir);
  confirm = _lathe_export_dialog_get_confirm_dialog (f->dialog);
  g_assert_nonnull (confirm);
  adw_message_dialog_response (confirm, "replace");
  wait_settled (f->dialog);
  g_assert_nonnull (_lathe_export_dialog_get_error (f->dialog));
  g_test_message ("%s", _lathe_export_dialog_get_error (f->dialog));
  g_assert_nonnull (strstr (_lathe_export_dialog_get_error (f->dialog), "notes.txt"));
  g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "form");
  g_clear_pointer (&after, g_free);
  after = list_dir (outdir);
  g_assert_cmpstr (after, ==, before);
  {
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (notes, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "keep me\n");
  }
  g_assert_cmpuint (f->events->len, ==, 0);

  /* an existing empty folder is used without a question */
  empty = g_build_filename (f->tmp, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  empty_dir = g_file_new_for_path (empty);
  lathe_export_dialog_export_to (f->dialog, empty_dir);
  g_assert_null (_lathe_export_dialog_get_confirm_dialog (f->dialog));
  wait_settled (f->dialog);
  g_assert_null (_lathe_export_dialog_get_error (f->dialog));
  pipeline = g_build_filename (empty, "pipeline.json", NULL);
  g_assert_true (g_file_test (pipeline, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (f->events->len, ==, 2);
}

static void
test_replace_previous (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *outdir = NULL;
  g_autofree char *chart = NULL;
  g_autoptr(GFile) dir = NULL;
  g_autoptr(LatheExportDialog) second = NULL;

  SKIP_WITHOUT_DATA (f);

  outdir = g_build_filename (f->tmp, "previous", NULL);
  dir = g_file_new_for_path (outdir);
  lathe_export_dialog_export_to (f->dialog, dir);
  wait_settled (f->dialog);
  g_assert_null (_lathe_export_dialog_get_error (f->dialog));

  /* the chart the hook added is not an export's file: drop it, and a new
   * dialog (no hook) replaces the earlier export after the question */
  chart = g_build_filename (outdir, CHART_NAME, NULL);
  g_assert_cmpint (g_unlink (chart), ==, 0);
  f->plan->defaults.bits = 8;
  second = g_object_ref (lathe_export_dialog_new (f->parent, f->session, f->plan, f->model, "fashion-mnist"));
  gtk_window_present (GTK_WINDOW (second));
  lathe_export_dialog_export_to (second, dir);
  g_assert_nonnull (_lathe_export_dialog_get_confirm_dialog (second));
  adw_message_dialog_response (_lathe_export_dialog_get_confirm_dialog (second), "replace");
  wait_settled (second);
  g_assert_null (_lathe_export_dialog_get_error (second));
  g_assert_cmpstr (_lathe_export_dialog_get_page (second), ==, "done");
  g_assert_nonnull (strstr (_lathe_export_dialog_get_command (second), "--bits 8"));
  gtk_window_destroy (GTK_WINDOW (second));
  drain ();
}

static void
assert_refused (Fixture    *f,
                const char *path,
                const char *named)
{
  g_autoptr(GFile) dir = g_file_new_for_path (path);
  g_autofree char *before = list_dir (f->tmp);
  g_autofree char *after = NULL;
  const char *message;

  lathe_export_dialog_export_to (f->dialog, dir);
  g_assert_null (_lathe_export_dialog_get_confirm_dialog (f->dialog));
  wait_settled (f->dialog);
  message = _lathe_export_dialog_get_error (f->dialog);
  g_assert_nonnull (message);
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, named));
  g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "form");
  g_assert_cmpuint (f->events->len, ==, 0);
  after = list_dir (f->tmp);
  g_assert_cmpstr (after, ==, before);
}

static void
test_bad_destination (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *missing = NULL;
  g_autofree char *file = NULL;
  g_autofree char *ro = NULL;
  g_autofree char *in_ro = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  SKIP_WITHOUT_DATA (f);

  /* inside a folder that does not exist */
  missing = g_build_filename (f->tmp, "no-such-folder", "artifact", NULL);
  assert_refused (f, missing, missing);

  /* a file, not a folder: it stays as it was */
  file = g_build_filename (f->tmp, "model-notes.txt", NULL);
  g_assert_true (g_file_set_contents (file, "not a folder\n", -1, &error));
  assert_refused (f, file, "model-notes.txt");
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "not a folder\n");

  /* inside a read-only folder (root writes anywhere: not testable then) */
  if (geteuid () != 0)
    {
      ro = g_build_filename (f->tmp, "read-only", NULL);
      g_assert_cmpint (g_mkdir (ro, 0555), ==, 0);
      in_ro = g_build_filename (ro, "artifact", NULL);
      assert_refused (f, in_ro, "read-only");
      g_chmod (ro, 0755);
    }
  else
    g_test_message ("running as root: the read-only parent case is not checked");

  /* the dialog recovers: a good folder after the errors exports */
  {
    g_autofree char *good = g_build_filename (f->tmp, "good", NULL);
    g_autoptr(GFile) dir = g_file_new_for_path (good);
    lathe_export_dialog_export_to (f->dialog, dir);
    wait_settled (f->dialog);
    g_assert_null (_lathe_export_dialog_get_error (f->dialog));
    g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "done");
  }
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *outdir = NULL;
  g_autoptr(GFile) dir = NULL;
  g_autofree char *before = NULL, *after = NULL;

  SKIP_WITHOUT_DATA (f);

  outdir = g_build_filename (f->tmp, "cancelled", NULL);
  dir = g_file_new_for_path (outdir);
  before = list_dir (f->tmp);
  /* a plan the session has not measured yet, cancelled at once */
  lathe_export_dialog_export_to (f->dialog, dir);
  g_assert_true (_lathe_export_dialog_get_busy (f->dialog));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->dialog), "export.cancel", NULL));
  wait_for (idle_dialog, f->dialog);
  g_assert_false (_lathe_export_dialog_get_busy (f->dialog));
  g_assert_null (_lathe_export_dialog_get_error (f->dialog));
  g_assert_cmpstr (_lathe_export_dialog_get_page (f->dialog), ==, "form");
  g_assert_cmpuint (f->events->len, ==, 0);
  after = list_dir (f->tmp);
  g_assert_cmpstr (after, ==, before);
  /* the dialog stays open after a cancelled export */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (f->dialog)));
}

/* ---------------------------------------------------------------------- */
/* The exporter settings form, on an object with one property of each kind */

#define TEST_TYPE_PARAMS (test_params_get_type ())
G_DECLARE_FINAL_TYPE (TestParams, test_params, TEST, PARAMS, GObject)

struct _TestParams {
  GObject   parent_instance;
  int       level;
  double    ratio;
  gboolean  fast;
  char     *label;
  GtkAlign  align;
};

enum { P_0, P_LEVEL, P_RATIO, P_FAST, P_LABEL, P_ALIGN, N_P };
static GParamSpec *test_params_props[N_P];

G_DEFINE_FINAL_TYPE (TestParams, test_params, G_TYPE_OBJECT)

static void
test_params_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  TestParams *self = TEST_PARAMS (object);
  switch (id)
    {
    case P_LEVEL: g_value_set_int (value, self->level); break;
    case P_RATIO: g_value_set_double (value, self->ratio); break;
    case P_FAST: g_value_set_boolean (value, self->fast); break;
    case P_LABEL: g_value_set_string (value, self->label); break;
    case P_ALIGN: g_value_set_enum (value, self->align); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
test_params_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  TestParams *self = TEST_PARAMS (object);
  switch (id)
    {
    case P_LEVEL: self->level = g_value_get_int (value); break;
    case P_RATIO: self->ratio = g_value_get_double (value); break;
    case P_FAST: self->fast = g_value_get_boolean (value); break;
    case P_LABEL: g_free (self->label); self->label = g_value_dup_string (value); break;
    case P_ALIGN: self->align = g_value_get_enum (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec); return;
    }
  g_object_notify_by_pspec (object, pspec);
}

static void
test_params_finalize (GObject *object)
{
  g_free (TEST_PARAMS (object)->label);
  G_OBJECT_CLASS (test_params_parent_class)->finalize (object);
}

static void
test_params_class_init (TestParamsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_params_get_property;
  object_class->set_property = test_params_set_property;
  object_class->finalize = test_params_finalize;
  test_params_props[P_LEVEL] = g_param_spec_int ("level", "Level", "Compression level", 0, 9, 3,
                                                 G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);
  test_params_props[P_RATIO] = g_param_spec_double ("ratio", "Ratio", NULL, 0, 1, 0.5,
                                                    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);
  test_params_props[P_FAST] = g_param_spec_boolean ("fast", "Fast", NULL, FALSE,
                                                    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);
  test_params_props[P_LABEL] = g_param_spec_string ("label", "Label", NULL, NULL,
                                                    G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);
  test_params_props[P_ALIGN] = g_param_spec_enum ("align", "Align", NULL, GTK_TYPE_ALIGN, GTK_ALIGN_FILL,
                                                  G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_P, test_params_props);
}

static void
test_params_init (TestParams *self)
{
  self->level = 3;
  self->ratio = 0.5;
}

static GtkWidget *
find_type (GtkWidget *root,
           GType      type)
{
  if (g_type_is_a (G_OBJECT_TYPE (root), type))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_type (child, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_param_form (void)
{
  g_autoptr(TestParams) params = g_object_new (TEST_TYPE_PARAMS, NULL);
  GtkWidget *row, *w;

  /* int: a spin button over the property's range, both ways */
  row = g_object_ref_sink (_lathe_export_dialog_param_row_new (G_OBJECT (params), test_params_props[P_LEVEL]));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "Level");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, "Compression level");
  w = find_type (row, GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (w);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (w)), ==, 3);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), 7);
  g_assert_cmpint (params->level, ==, 7);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), 42);     /* clamped to the range */
  g_assert_cmpint (params->level, ==, 9);
  g_object_set (params, "level", 1, NULL);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (w)), ==, 1);
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (w), GTK_ACCESSIBLE_PROPERTY_LABEL, "Level");
  g_object_unref (row);

  /* double */
  row = g_object_ref_sink (_lathe_export_dialog_param_row_new (G_OBJECT (params), test_params_props[P_RATIO]));
  w = find_type (row, GTK_TYPE_SPIN_BUTTON);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), 0.25);
  g_assert_cmpfloat (params->ratio, ==, 0.25);
  g_object_unref (row);

  /* boolean: a switch */
  row = g_object_ref_sink (_lathe_export_dialog_param_row_new (G_OBJECT (params), test_params_props[P_FAST]));
  w = find_type (row, GTK_TYPE_SWITCH);
  g_assert_nonnull (w);
  gtk_switch_set_active (GTK_SWITCH (w), TRUE);
  g_assert_true (params->fast);
  g_object_unref (row);

  /* string: an entry */
  row = g_object_ref_sink (_lathe_export_dialog_param_row_new (G_OBJECT (params), test_params_props[P_LABEL]));
  w = find_type (row, GTK_TYPE_ENTRY);
  g_assert_nonnull (w);
  gtk_editable_set_text (GTK_EDITABLE (w), "int4");
  g_assert_cmpstr (params->label, ==, "int4");
  g_object_unref (row);

  /* enum: a drop-down of the nicks */
  row = g_object_ref_sink (_lathe_export_dialog_param_row_new (G_OBJECT (params), test_params_props[P_ALIGN]));
  w = find_type (row, GTK_TYPE_DROP_DOWN);
  g_assert_nonnull (w);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (w)), ==, 0);     /* fill */
  g_object_set (params, "align", GTK_ALIGN_CENTER, NULL);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (w)), ==, 3);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (w), 1);
  g_assert_cmpint (params->align, ==, GTK_ALIGN_START);
  g_object_unref (row);
}

/* Every control a person can reach has an accessible name: its own label,
 * an accessible label or a labelled-by relation. */
static void
assert_named (GtkWidget *widget)
{
  /* the parts of composite widgets name themselves */
  if (GTK_IS_SPIN_BUTTON (widget) || ADW_IS_COMBO_ROW (widget) || GTK_IS_DROP_DOWN (widget))
    {
      g_autofree char *mismatch = NULL;
      if (!gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL) &&
          !gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY))
        g_error ("%s has no accessible name", G_OBJECT_TYPE_NAME (widget));
      return;
    }
  if (GTK_IS_BUTTON (widget) || GTK_IS_SWITCH (widget) || GTK_IS_ENTRY (widget) || GTK_IS_SPINNER (widget))
    {
      if (!gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL) &&
          !gtk_test_accessible_has_relation (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_RELATION_LABELLED_BY) &&
          !(GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL))
        g_error ("a %s (%s) has no accessible name", G_OBJECT_TYPE_NAME (widget),
                 gtk_widget_get_tooltip_text (widget) ? gtk_widget_get_tooltip_text (widget) : "no tooltip");
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    assert_named (child);
}

static void
test_accessible_names (Fixture       *f,
                       gconstpointer  data)
{
  SKIP_WITHOUT_DATA (f);
  assert_named (GTK_WIDGET (f->dialog));
}

static void
test_chooser (Fixture       *f,
              gconstpointer  data)
{
  GtkFileChooser *chooser;
  g_autofree char *name = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GFile) folder = NULL;

  SKIP_WITHOUT_DATA (f);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->dialog), "export.choose-folder", NULL));
  drain ();
  chooser = _lathe_export_dialog_get_chooser (f->dialog);
  g_assert_nonnull (chooser);
  /* save-style: the person types the new folder's name */
  g_assert_cmpint (gtk_file_chooser_get_action (chooser), ==, GTK_FILE_CHOOSER_ACTION_SAVE);
  name = gtk_file_chooser_get_current_name (chooser);
  g_assert_cmpstr (name, ==, "fashion-cnn-compressed");

  folder = g_file_new_for_path (f->tmp);
  g_assert_true (gtk_file_chooser_set_current_folder (chooser, folder, NULL));
  gtk_file_chooser_set_current_name (chooser, "new artifact");
  /* the chooser changes folder asynchronously */
  {
    gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    g_autoptr(GFile) current = NULL;
    while (g_get_monotonic_time () < end)
      {
        g_clear_object (&current);
        current = gtk_file_chooser_get_current_folder (chooser);
        if (current != NULL && g_file_equal (current, folder))
          break;
        g_main_context_iteration (NULL, FALSE);
      }
    drain ();
  }
  gtk_native_dialog_hide (GTK_NATIVE_DIALOG (chooser));
  g_signal_emit_by_name (chooser, "response", GTK_RESPONSE_ACCEPT);
  drain ();
  g_assert_null (_lathe_export_dialog_get_chooser (f->dialog));
  g_assert_nonnull (lathe_export_dialog_get_folder (f->dialog));
  want = g_build_filename (f->tmp, "new artifact", NULL);
  got = g_file_get_path (lathe_export_dialog_get_folder (f->dialog));
  g_assert_cmpstr (got, ==, want);
  /* choosing writes nothing; Export does */
  g_assert_false (g_file_test (want, G_FILE_TEST_EXISTS));
  g_assert_false (_lathe_export_dialog_get_busy (f->dialog));
}

static void
test_close_while_exporting (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *outdir = NULL;
  g_autoptr(GFile) dir = NULL;
  g_autoptr(LatheExportDialog) dialog = NULL;
  g_autofree char *before = NULL, *after = NULL;

  SKIP_WITHOUT_DATA (f);

  outdir = g_build_filename (f->tmp, "closed", NULL);
  dir = g_file_new_for_path (outdir);
  before = list_dir (f->tmp);
  dialog = g_object_ref (lathe_export_dialog_new (f->parent, f->session, f->plan, f->model, "fashion-mnist"));
  g_signal_connect (dialog, "exported", G_CALLBACK (exported_cb), f);
  gtk_window_present (GTK_WINDOW (dialog));
  lathe_export_dialog_export_to (dialog, dir);
  g_assert_true (_lathe_export_dialog_get_busy (dialog));
  gtk_window_close (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_for (idle_dialog, dialog);
  drain ();
  g_assert_false (_lathe_export_dialog_get_busy (dialog));
  g_assert_cmpuint (f->events->len, ==, 0);
  after = list_dir (f->tmp);
  g_assert_cmpstr (after, ==, before);
}

/* The window measures with the normalisation the evaluation data dialog
 * set, not the model's: the artifact records that one, so lathe-cli check
 * measures what the window measured, and the command passes it. */
static void
test_own_normalization (Fixture       *f,
                        gconstpointer  data)
{
  const char *cli = g_getenv ("LATHE_CLI");
  const float mean = 0.5f, std = 0.25f;
  g_autofree char *model_path = NULL;
  g_autofree char *outdir = NULL, *moved = NULL, *pipeline = NULL, *onnx = NULL;
  g_autofree char *pipeline_text = NULL, *moved_text = NULL, *moved_pipeline = NULL;
  g_autofree char *out = NULL, *err = NULL, *sha_app = NULL, *sha_cli = NULL;
  g_autoptr(LatheModel) model = NULL;
  g_autoptr(LatheSession) session = NULL;
  g_autoptr(LatheExportDialog) dialog = NULL;
  g_autoptr(GFile) dir = NULL;
  g_autoptr(LatheSessionResult) r = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  SKIP_WITHOUT_DATA (f);
  g_assert_nonnull (cli);

  model_path = g_file_get_path (f->model);
  model = lathe_model_new_from_file (model_path, NULL, &error);
  g_assert_no_error (error);
  session = lathe_session_new (model, lathe_session_get_dataset (f->session), &mean, &std, 1, &error);
  g_assert_no_error (error);
  dialog = g_object_ref (lathe_export_dialog_new (f->parent, session, f->plan, f->model, "fashion-mnist"));
  gtk_window_present (GTK_WINDOW (dialog));
  outdir = g_build_filename (f->tmp, "own-normalization", NULL);
  dir = g_file_new_for_path (outdir);
  lathe_export_dialog_export_to (dialog, dir);
  wait_settled (dialog);
  g_assert_cmpstr (_lathe_export_dialog_get_error (dialog), ==, NULL);

  pipeline = g_build_filename (outdir, "pipeline.json", NULL);
  onnx = g_build_filename (outdir, "model.onnx", NULL);
  g_assert_true (g_file_get_contents (pipeline, &pipeline_text, NULL, NULL));
  g_assert_nonnull (strstr (pipeline_text, "\"mean\": [0.5]"));
  g_assert_nonnull (strstr (pipeline_text, "\"std\": [0.25]"));
  /* the accuracy recorded is the session's, with its normalisation */
  r = lathe_session_evaluate (session, f->plan, LATHE_STAGE_FULL, NULL, &error);
  g_assert_no_error (error);
  {
    g_autofree char *acc = g_strdup_printf ("\"accuracy\": %.4f", r->accuracy);
    g_assert_nonnull (strstr (pipeline_text, acc));
  }
  {
    const char *check[] = { cli, "check", pipeline, NULL };
    status = lathe_test_spawn (check, &out, &err);
    if (status != 0)
      g_error ("lathe-cli check %s: exit %d\n%s%s", pipeline, status, out, err);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }

  g_test_message ("%s", _lathe_export_dialog_get_command (dialog));
  g_assert_nonnull (strstr (_lathe_export_dialog_get_command (dialog), " --mean 0.5 --std 0.25 "));
  sha_app = lathe_test_file_sha256 (onnx);
  moved = g_strconcat (outdir, ".app", NULL);
  g_assert_cmpint (g_rename (outdir, moved), ==, 0);
  g_assert_true (g_shell_parse_argv (_lathe_export_dialog_get_command (dialog), NULL, &argv, &error));
  g_assert_no_error (error);
  g_free (argv[0]);
  argv[0] = g_strdup (cli);
  status = lathe_test_spawn ((const char * const *) argv, &out, &err);
  if (status != 0)
    g_error ("%s: exit %d\n%s", _lathe_export_dialog_get_command (dialog), status, err);
  sha_cli = lathe_test_file_sha256 (onnx);
  g_assert_cmpstr (sha_cli, ==, sha_app);
  g_clear_pointer (&pipeline_text, g_free);
  g_assert_true (g_file_get_contents (pipeline, &pipeline_text, NULL, NULL));
  moved_pipeline = g_build_filename (moved, "pipeline.json", NULL);
  g_assert_true (g_file_get_contents (moved_pipeline, &moved_text, NULL, NULL));
  g_assert_cmpstr (strstr (pipeline_text, "\"data\""), ==, strstr (moved_text, "\"data\""));

  gtk_window_destroy (GTK_WINDOW (dialog));
  drain ();
  lathe_session_wait_idle (session);
}

int
main (int   argc,
      char *argv[])
{
  app_test_init (&argc, &argv);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/lathe/app/export/form", test_form);
  ADD ("/lathe/app/export/artifact", test_artifact);
  ADD ("/lathe/app/export/existing-folder", test_existing_folder);
  ADD ("/lathe/app/export/replace-previous", test_replace_previous);
  ADD ("/lathe/app/export/bad-destination", test_bad_destination);
  ADD ("/lathe/app/export/cancel", test_cancel);
  ADD ("/lathe/app/export/accessible-names", test_accessible_names);
  ADD ("/lathe/app/export/chooser", test_chooser);
  ADD ("/lathe/app/export/close-while-exporting", test_close_while_exporting);
  ADD ("/lathe/app/export/own-normalization", test_own_normalization);
  g_test_add_func ("/lathe/app/export/param-form", test_param_form);
#undef ADD
  return g_test_run ();
}
