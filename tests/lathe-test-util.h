/* SPDX-License-Identifier: MIT */
#pragma once

#include <glib.h>

#include "lathe-config.h"

/* Paths into the source tree that work under `meson test` and when a test
 * binary is run by hand. */
static inline char *
lathe_test_source_path (const char *first, ...)
{
  const char *root = g_getenv ("LATHE_SOURCE_DIR");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *p;
  va_list args;
  char *path;

  g_ptr_array_add (parts, (gpointer) (root ? root : LATHE_SOURCE_DIR));
  va_start (args, first);
  for (p = first; p != NULL; p = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((char **) parts->pdata);
  return path;
}

#define lathe_test_sample(name)  lathe_test_source_path ("data", "samples", name, NULL)
#define lathe_test_fixture(name) lathe_test_source_path ("tests", "fixtures", name, NULL)

#include <glib/gstdio.h>

/* Removes a file or a folder and everything below it (symbolic links are
 * removed, not followed); a missing path is no error. */
static inline void
lathe_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          lathe_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* Iterates the default main context until `cond` holds. A signal that
 * never comes fails the test here, naming what it waited for, instead of
 * hanging until meson's timeout kills it without a word. */
#define LATHE_TEST_WAIT_SECONDS 150

static inline gboolean
lathe_test_wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

#define lathe_test_iterate_until(cond)                                          \
  G_STMT_START {                                                                \
    gint64 _end = g_get_monotonic_time () + LATHE_TEST_WAIT_SECONDS * G_USEC_PER_SEC; \
    guint _wake = g_timeout_add (50, lathe_test_wake, NULL);                    \
    while (!(cond))                                                             \
      {                                                                         \
        if (g_get_monotonic_time () > _end)                                     \
          g_error ("%s:%d: waited %d s for %s", __FILE__, __LINE__,             \
                   LATHE_TEST_WAIT_SECONDS, #cond);                             \
        g_main_context_iteration (NULL, TRUE);                                  \
      }                                                                         \
    g_source_remove (_wake);                                                    \
  } G_STMT_END

#include <gio/gio.h>

/* The sha256 of a file's contents, hex. */
static inline char *
lathe_test_file_sha256 (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) contents, len);
}

/* Runs argv to its end; returns its exit status, its output in `out` and
 * `err` (both nullable). */
static inline int
lathe_test_spawn (const char * const *argv,
                  char              **out,
                  char              **err)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (proc);
}
