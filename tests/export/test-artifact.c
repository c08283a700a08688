/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-export"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

#include "export/lathe-artifact.h"

/* Each test works in a fresh directory that holds nothing else, so
 * "nothing left behind" is "the directory lists exactly what we expect". */
typedef struct {
  char *root;
} Fixture;

static void
remove_all (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);
        struct stat st;

        if (lstat (child, &st) == 0 && S_ISDIR (st.st_mode))
          {
            g_chmod (child, 0755);
            remove_all (child);
          }
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->root = g_dir_make_tmp ("lathe-artifact-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  remove_all (f->root);
  g_free (f->root);
}

static char *
path_in (Fixture    *f,
         const char *first,
         ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *p;
  va_list args;

  g_ptr_array_add (parts, f->root);
  va_start (args, first);
  for (p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static mode_t
current_umask (void)
{
  mode_t mask = umask (0);

  umask (mask);
  return mask;
}

/* Sorted names in a directory, joined by spaces. */
static char *
listing (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_listing (const char *path,
                const char *expected)
{
  g_autofree char *got = listing (path);

  g_assert_cmpstr (got, ==, expected);
}

static void
assert_file (const char *path,
             const char *expected)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected);
}

static void
put_file (const char *path,
          const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* An artifact of three files, one in a subfolder. */
typedef struct {
  const char *names[4];
  GBytes     *contents[3];
} Artifact;

static void
artifact_init (Artifact   *a,
               const char *tag)
{
  a->names[0] = "model.onnx";
  a->names[1] = "pipeline.json";
  a->names[2] = "weights/conv1.bin";
  a->names[3] = NULL;
  a->contents[0] = g_bytes_new_take (g_strdup_printf ("model %s", tag), strlen (tag) + 6);
  a->contents[1] = g_bytes_new_take (g_strdup_printf ("{\"run\": \"%s\"}", tag), strlen (tag) + 11);
  a->contents[2] = g_bytes_new_static ("", 0);
}

static void
artifact_clear (Artifact *a)
{
  for (guint i = 0; i < 3; i++)
    g_bytes_unref (a->contents[i]);
}

static void
test_fresh (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *model = path_in (f, "out", "model.onnx", NULL);
  g_autofree char *json = path_in (f, "out", "pipeline.json", NULL);
  g_autofree char *weights = path_in (f, "out", "weights", NULL);
  g_autofree char *out_slash = g_strconcat (out, "/", NULL);
  g_autoptr(GError) error = NULL;
  Artifact a;
  struct stat st;

  artifact_init (&a, "one");
  g_assert_true (lathe_artifact_write (out_slash, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_no_error (error);
  assert_listing (f->root, "out");
  assert_listing (out, "model.onnx pipeline.json weights");
  assert_listing (weights, "conv1.bin");
  assert_file (model, "model one");
  assert_file (json, "{\"run\": \"one\"}");
  /* an ordinary directory, not mkdtemp's 0700 */
  g_assert_cmpint (stat (out, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0777 & ~current_umask ());
  artifact_clear (&a);
}

static void
test_refuse_existing (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *model = path_in (f, "out", "model.onnx", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  Artifact a;

  g_assert_cmpint (g_mkdir (out, 0755), ==, 0);
  put_file (model, "old");
  artifact_init (&a, "new");
  g_assert_false (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  expected = g_strdup_printf ("%s exists; use --force to replace it", out);
  g_assert_cmpstr (error->message, ==, expected);
  assert_listing (f->root, "out");
  assert_listing (out, "model.onnx");
  assert_file (model, "old");
  g_clear_error (&error);

  /* a file in the way is refused the same way without --force */
  g_assert_false (lathe_artifact_write (model, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  artifact_clear (&a);
}

static void
test_force_replace (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *model = path_in (f, "out", "model.onnx", NULL);
  g_autofree char *weights = path_in (f, "out", "weights", NULL);
  g_autofree char *small = path_in (f, "small", NULL);
  g_autofree char *empty = path_in (f, "empty", NULL);
  g_autoptr(GError) error = NULL;
  Artifact old, new;

  artifact_init (&old, "old");
  artifact_init (&new, "new");
  g_assert_true (lathe_artifact_write (out, FALSE, NULL, old.names, old.contents, 3, &error));
  g_assert_no_error (error);

  g_assert_true (lathe_artifact_write (out, TRUE, NULL, new.names, new.contents, 3, &error));
  g_assert_no_error (error);
  assert_listing (f->root, "out");
  assert_listing (out, "model.onnx pipeline.json weights");
  assert_listing (weights, "conv1.bin");
  assert_file (model, "model new");

  /* an artifact that would not write all of the old one's files does not
   * replace it: it cannot tell them from a stranger's */
  g_assert_false (lathe_artifact_write (out, TRUE, NULL, new.names, new.contents, 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_EMPTY);
  g_clear_error (&error);
  assert_listing (f->root, "out");
  assert_listing (out, "model.onnx pipeline.json weights");

  /* one that writes a superset of the old files replaces them */
  g_assert_true (lathe_artifact_write (small, FALSE, NULL, old.names, old.contents, 1, &error));
  g_assert_no_error (error);
  g_assert_true (lathe_artifact_write (small, TRUE, NULL, new.names, new.contents, 3, &error));
  g_assert_no_error (error);
  assert_listing (small, "model.onnx pipeline.json weights");

  /* and an empty directory is replaced too */
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_true (lathe_artifact_write (empty, TRUE, NULL, new.names, new.contents, 3, &error));
  g_assert_no_error (error);
  assert_listing (empty, "model.onnx pipeline.json weights");
  assert_listing (f->root, "empty out small");
  artifact_clear (&old);
  artifact_clear (&new);
}

/* --force never deletes what it did not write: a stranger's file, or a
 * non-directory, stops it before anything changes. */
static void
test_force_refuses_foreign (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *notes = path_in (f, "out", "weights", "notes.txt", NULL);
  g_autofree char *file = path_in (f, "file", NULL);
  g_autofree char *link = path_in (f, "link", NULL);
  g_autoptr(GError) error = NULL;
  Artifact a;

  artifact_init (&a, "x");
  g_assert_true (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_no_error (error);
  put_file (notes, "mine");

  g_assert_false (lathe_artifact_write (out, TRUE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_EMPTY);
  g_assert_nonnull (strstr (error->message, out));
  g_assert_nonnull (strstr (error->message, "weights/notes.txt"));
  assert_listing (f->root, "out");
  assert_file (notes, "mine");
  g_clear_error (&error);

  put_file (file, "not a directory");
  g_assert_false (lathe_artifact_write (file, TRUE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_assert_true (g_str_has_prefix (error->message, file));
  assert_file (file, "not a directory");
  g_clear_error (&error);

  /* a symlink to a directory is not replaced either */
  g_assert_cmpint (symlink (out, link), ==, 0);
  g_assert_false (lathe_artifact_write (link, TRUE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  assert_listing (f->root, "file link out");
  artifact_clear (&a);
}

static void
test_protected (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *model = path_in (f, "out", "model.onnx", NULL);
  g_autofree char *via_link = path_in (f, "alias", NULL);
  g_autofree char *alias_model = path_in (f, "alias", "model.onnx", NULL);
  g_autoptr(GError) error = NULL;
  Artifact a;

  artifact_init (&a, "x");
  g_assert_true (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_no_error (error);
  put_file (model, "the source model");

  /* the source model lives in the output directory */
  {
    const char * const protected[] = { "/nonexistent/data", model, NULL };

    g_assert_false (lathe_artifact_write (out, TRUE, protected, a.names, a.contents, 3, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (error->message, out));
    g_assert_nonnull (strstr (error->message, model));
    assert_file (model, "the source model");
    assert_listing (f->root, "out");
    g_clear_error (&error);
  }

  /* the same file under another name (a symlinked folder) */
  g_assert_cmpint (symlink (out, via_link), ==, 0);
  {
    const char * const protected[] = { alias_model, NULL };

    g_assert_false (lathe_artifact_write (out, TRUE, protected, a.names, a.contents, 3, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    assert_file (model, "the source model");
    g_clear_error (&error);
  }

  /* the output directory is itself an input (a data folder) */
  {
    const char * const protected[] = { out, NULL };

    g_assert_false (lathe_artifact_write (out, TRUE, protected, a.names, a.contents, 3, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    assert_file (model, "the source model");
    g_clear_error (&error);
  }

  /* inputs elsewhere do not get in the way */
  {
    g_autofree char *elsewhere = path_in (f, "source.onnx", NULL);
    g_autofree char *out2 = path_in (f, "out2", NULL);
    const char * const protected[] = { elsewhere, NULL };

    put_file (elsewhere, "src");
    g_assert_true (lathe_artifact_write (out2, FALSE, protected, a.names, a.contents, 3, &error));
    g_assert_no_error (error);
    g_assert_true (lathe_artifact_write (out2, TRUE, protected, a.names, a.contents, 3, &error));
    g_assert_no_error (error);
    assert_file (elsewhere, "src");
    assert_listing (f->root, "alias out out2 source.onnx");
  }
  artifact_clear (&a);
}

static void
test_unwritable_parent (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *locked = path_in (f, "locked", NULL);
  g_autofree char *out = path_in (f, "locked", "out", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  Artifact a;

  if (geteuid () == 0)
    {
      g_test_skip ("root ignores directory permissions");
      return;
    }
  g_assert_cmpint (g_mkdir (locked, 0555), ==, 0);
  artifact_init (&a, "x");
  g_assert_false (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  expected = g_strdup_printf ("Cannot create a directory in %s: %s", locked, g_strerror (EACCES));
  g_assert_cmpstr (error->message, ==, expected);
  assert_listing (locked, "");
  artifact_clear (&a);
}

/* Works as root too: the parent is a regular file, or missing. */
static void
test_parent_not_directory (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *file = path_in (f, "file", NULL);
  g_autofree char *out = path_in (f, "file", "out", NULL);
  g_autofree char *deeper = path_in (f, "file", "sub", "out", NULL);
  g_autofree char *missing = path_in (f, "missing", "out", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  Artifact a;

  put_file (file, "x");
  artifact_init (&a, "x");
  g_assert_false (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  expected = g_strdup_printf ("Cannot write into %s: %s", file, g_strerror (ENOTDIR));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_false (lathe_artifact_write (deeper, TRUE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
  g_clear_error (&error);

  g_assert_false (lathe_artifact_write (missing, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing"));
  assert_listing (f->root, "file");
  assert_file (file, "x");
  artifact_clear (&a);
}

/* A write that fails halfway (a name too long for the file system) leaves
 * no temporary directory, and with --force the old artifact intact. */
static void
test_failure_cleans_up (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  g_autofree char *model = path_in (f, "out", "model.onnx", NULL);
  g_autofree char *long_name = g_strnfill (300, 'x');
  const char *names[] = { "model.onnx", "weights/a.bin", long_name, NULL };
  g_autoptr(GBytes) data_bytes = g_bytes_new_static ("data", 4);
  GBytes *contents[] = { data_bytes, data_bytes, data_bytes };
  g_autoptr(GError) error = NULL;
  Artifact a;

  g_assert_false (lathe_artifact_write (out, FALSE, NULL, names, contents, 3, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
  g_assert_nonnull (strstr (error->message, out));
  assert_listing (f->root, "");
  g_clear_error (&error);

  artifact_init (&a, "old");
  g_assert_true (lathe_artifact_write (out, FALSE, NULL, a.names, a.contents, 3, &error));
  g_assert_no_error (error);
  names[2] = "pipeline.json";
  names[0] = long_name;       /* fails on the first file this time */
  g_assert_false (lathe_artifact_write (out, TRUE, NULL, names, contents, 3, &error));
  g_assert_nonnull (error);
  assert_listing (f->root, "out");
  assert_listing (out, "model.onnx pipeline.json weights");
  assert_file (model, "model old");
  artifact_clear (&a);
}

static void
test_bad_names (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *out = path_in (f, "out", NULL);
  const char *bad[] = { "", "/etc/passwd", "../escape", "a/../../b", "a//b", "./a", "a/", NULL };
  g_autoptr(GBytes) bytes = g_bytes_new_static ("x", 1);
  GBytes *contents[] = { bytes, bytes };

  for (guint i = 0; bad[i] != NULL; i++)
    {
      const char *names[] = { "ok.txt", bad[i], NULL };
      g_autoptr(GError) error = NULL;

      g_assert_false (lathe_artifact_write (out, FALSE, NULL, names, contents, 2, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
  {
    const char *twice[] = { "a.txt", "a.txt", NULL };
    const char *both[] = { "a", "a/b", NULL };
    g_autoptr(GError) error = NULL;

    g_assert_false (lathe_artifact_write (out, FALSE, NULL, twice, contents, 2, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (lathe_artifact_write (out, FALSE, NULL, both, contents, 2, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (lathe_artifact_write (".", TRUE, NULL, twice, contents, 1, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (lathe_artifact_write ("/", TRUE, NULL, twice, contents, 1, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
  assert_listing (f->root, "");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/lathe/engine/export/artifact/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("fresh", test_fresh);
  ADD ("refuse-existing", test_refuse_existing);
  ADD ("force-replace", test_force_replace);
  ADD ("force-refuses-foreign", test_force_refuses_foreign);
  ADD ("protected", test_protected);
  ADD ("unwritable-parent", test_unwritable_parent);
  ADD ("parent-not-directory", test_parent_not_directory);
  ADD ("failure-cleans-up", test_failure_cleans_up);
  ADD ("bad-names", test_bad_names);
#undef ADD

  return g_test_run ();
}
