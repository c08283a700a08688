/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-export"
#define _GNU_SOURCE   /* renameat2 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "export/lathe-artifact.h"

typedef struct {
  dev_t dev;
  ino_t ino;
} FileId;

typedef struct {
  GHashTable *files;       /* names of the new artifact (set) */
  GHashTable *dirs;        /* folders on the way to them (set) */
  GArray     *protected;   /* FileId of each existing protected path */
  char      **protected_names;
} Layout;

static void
layout_clear (Layout *l)
{
  g_clear_pointer (&l->files, g_hash_table_unref);
  g_clear_pointer (&l->dirs, g_hash_table_unref);
  g_clear_pointer (&l->protected, g_array_unref);
  g_clear_pointer (&l->protected_names, g_strfreev);
}

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *format,
                 const char  *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               format, display, g_strerror (saved_errno));
  return FALSE;
}

/* A relative path without empty, "." or ".." parts. */
static gboolean
valid_name (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (name == NULL || *name == '\0' || name[0] == '/')
    return FALSE;
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
      return FALSE;
  return TRUE;
}

static gboolean
layout_init (Layout             *l,
             const char * const *names,
             guint               n_files,
             const char * const *protected_paths,
             GError            **error)
{
  l->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  l->dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  l->protected = g_array_new (FALSE, FALSE, sizeof (FileId));
  l->protected_names = g_new0 (char *, 1);

  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *dir = NULL;

      if (!valid_name (names[i]))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” is not a relative file name inside the artifact",
                       names[i] ? names[i] : "(null)");
          return FALSE;
        }
      if (g_hash_table_contains (l->files, names[i]))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” appears twice in the artifact", names[i]);
          return FALSE;
        }
      g_hash_table_add (l->files, g_strdup (names[i]));
      dir = g_path_get_dirname (names[i]);
      while (strcmp (dir, ".") != 0)
        {
          char *up = g_path_get_dirname (dir);

          g_hash_table_add (l->dirs, g_steal_pointer (&dir));
          dir = up;
        }
    }
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, l->files);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (g_hash_table_contains (l->dirs, key))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "“%s” is both a file and a folder in the artifact", (const char *) key);
          return FALSE;
        }
  }

  if (protected_paths != NULL)
    {
      g_strfreev (l->protected_names);
      l->protected_names = g_new0 (char *, g_strv_length ((char **) protected_paths) + 1);
      for (guint i = 0; protected_paths[i] != NULL; i++)
        {
          struct stat st;
          FileId id;

          if (stat (protected_paths[i], &st) != 0)
            continue;   /* what does not exist cannot be harmed */
          id.dev = st.st_dev;
          id.ino = st.st_ino;
          l->protected_names[l->protected->len] = g_strdup (protected_paths[i]);
          g_array_append_val (l->protected, id);
        }
    }
  return TRUE;
}

static const char *
protected_match (const Layout      *l,
                 const struct stat *st)
{
  for (guint i = 0; i < l->protected->len; i++)
    {
      const FileId *id = &g_array_index (l->protected, FileId, i);

      if (id->dev == st->st_dev && id->ino == st->st_ino)
        return l->protected_names[i];
    }
  return NULL;
}

/* Walks the existing outdir (never following symlinks): nothing in it may
 * be a protected path, and everything must be something this artifact
 * writes. A protected path wins over a stray file in the message. */
static gboolean
scan_old (const Layout  *l,
          const char    *outdir,
          const char    *path,
          const char    *rel,
          char         **stray,
          GError       **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *entry;

  dir = g_dir_open (path, 0, &local_error);
  if (dir == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code),
                   "Cannot read %s: %s", outdir, local_error->message);
      return FALSE;
    }
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);
      g_autofree char *child_rel = rel ? g_build_filename (rel, entry, NULL) : g_strdup (entry);
      const char *hit;
      struct stat st;

      if (lstat (child, &st) != 0)
        return set_errno_error (error, errno, "Cannot read %s: %s", child);
      if ((hit = protected_match (l, &st)) != NULL)
        {
          g_autofree char *d_out = g_filename_display_name (outdir);
          g_autofree char *d_hit = g_filename_display_name (hit);

          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s contains %s, an input of this run; not replacing it "
                       "(choose another output directory)", d_out, d_hit);
          return FALSE;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (*stray == NULL && !g_hash_table_contains (l->dirs, child_rel))
            *stray = g_strdup (child_rel);
          if (!scan_old (l, outdir, child, child_rel, stray, error))
            return FALSE;
        }
      else if (*stray == NULL &&
               (!(S_ISREG (st.st_mode) || S_ISLNK (st.st_mode)) ||
                !g_hash_table_contains (l->files, child_rel)))
        *stray = g_strdup (child_rel);
    }
  return TRUE;
}

/* Everything under `path`: for the temporary directory, which is ours. */
static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);
        struct stat st;

        if (lstat (child, &st) == 0 && S_ISDIR (st.st_mode))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

/* The old artifact, renamed aside: only what this artifact writes, so a
 * file that appeared since the scan survives (and keeps the folder). */
static gboolean
remove_old (const Layout *l,
            const char   *path,
            const char   *rel)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;
  gboolean ok = TRUE;

  if (dir == NULL)
    return FALSE;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);
      g_autofree char *child_rel = rel ? g_build_filename (rel, entry, NULL) : g_strdup (entry);
      struct stat st;

      if (lstat (child, &st) != 0)
        ok = FALSE;
      else if (S_ISDIR (st.st_mode) && g_hash_table_contains (l->dirs, child_rel))
        ok &= remove_old (l, child, child_rel);
      else if ((S_ISREG (st.st_mode) || S_ISLNK (st.st_mode)) &&
               g_hash_table_contains (l->files, child_rel) &&
               protected_match (l, &st) == NULL)
        ok &= g_unlink (child) == 0;
      else
        ok = FALSE;
    }
  return g_rmdir (path) == 0 && ok;
}

static void
sync_dir (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

/* rename() that fails instead of replacing an (empty) directory. */
static int
rename_noreplace (const char *from,
                  const char *to)
{
  struct stat st;

  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* a file system without RENAME_NOREPLACE: check, then rename */
  if (lstat (to, &st) == 0)
    {
      errno = EEXIST;
      return -1;
    }
  return rename (from, to);
}

/* A new file, synced to disk; errno is set on failure. */
static gboolean
write_file (const char *path,
            const char *data,
            gsize       size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  int saved_errno;

  if (fd < 0)
    return FALSE;
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      data += n;
      size -= (gsize) n;
    }
  if (fsync (fd) != 0)
    goto fail;
  return close (fd) == 0;

fail:
  saved_errno = errno;
  close (fd);
  errno = saved_errno;
  return FALSE;
}

static gboolean
write_files (const char          *tmpdir,
             const char          *outdir,
             const Layout        *l,
             const char * const  *names,
             GBytes * const      *contents,
             guint                n_files,
             GError             **error)
{
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_build_filename (tmpdir, names[i], NULL);
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *final = g_build_filename (outdir, names[i], NULL);
      gsize size = 0;
      const char *data = contents[i] ? g_bytes_get_data (contents[i], &size) : NULL;

      if (g_mkdir_with_parents (dir, 0777) != 0 || !write_file (path, data, size))
        return set_errno_error (error, errno, "Cannot write %s: %s", final);
    }

  g_hash_table_iter_init (&iter, l->dirs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *path = g_build_filename (tmpdir, key, NULL);
      sync_dir (path);
    }
  sync_dir (tmpdir);
  return TRUE;
}

gboolean
lathe_artifact_write (const char          *outdir,
                      gboolean             force,
                      const char * const  *protected_paths,
                      const char * const  *names,
                      GBytes * const      *contents,
                      guint                n_files,
                      GError             **error)
{
  Layout layout = { NULL };
  g_autofree char *out = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *aside = NULL;
  gboolean exists = FALSE;
  gboolean ok = FALSE;
  struct stat st;
  gsize len;

  g_return_val_if_fail (outdir != NULL && *outdir != '\0', FALSE);
  g_return_val_if_fail (n_files == 0 || (names != NULL && contents != NULL), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* "out/" is "out" */
  out = g_strdup (outdir);
  len = strlen (out);
  while (len > 1 && out[len - 1] == '/')
    out[--len] = '\0';
  base = g_path_get_basename (out);
  parent = g_path_get_dirname (out);
  if (strcmp (base, "/") == 0 || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    {
      g_autofree char *display = g_filename_display_name (outdir);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s cannot be an output directory (name a new folder)", display);
      return FALSE;
    }

  if (!layout_init (&layout, names, n_files, protected_paths, error))
    goto out;

  if (stat (parent, &st) != 0)
    {
      set_errno_error (error, errno, "Cannot write into %s: %s", parent);
      goto out;
    }
  if (!S_ISDIR (st.st_mode))
    {
      set_errno_error (error, ENOTDIR, "Cannot write into %s: %s", parent);
      goto out;
    }

  if (lstat (out, &st) == 0)
    {
      g_autofree char *display = g_filename_display_name (out);
      g_autofree char *stray = NULL;

      exists = TRUE;
      if (!force)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "%s exists; use --force to replace it", display);
          goto out;
        }
      if (protected_match (&layout, &st) != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s is an input of this run; not replacing it "
                       "(choose another output directory)", display);
          goto out;
        }
      if (!S_ISDIR (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                       "%s exists and is not a directory; not replacing it", display);
          goto out;
        }
      if (!scan_old (&layout, out, out, NULL, &stray, error))
        goto out;
      if (stray != NULL)
        {
          g_autofree char *d_stray = g_filename_display_name (stray);

          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_EMPTY,
                       "%s contains %s, which this export does not write; not replacing it "
                       "(remove it or choose another output directory)", display, d_stray);
          goto out;
        }
    }
  else if (errno != ENOENT)
    {
      set_errno_error (error, errno, "Cannot use %s: %s", out);
      goto out;
    }

  {
    g_autofree char *tmpl_name = g_strdup_printf (".%s.tmp-XXXXXX", base);

    tmpdir = g_build_filename (parent, tmpl_name, NULL);
    if (g_mkdtemp_full (tmpdir, 0777) == NULL)
      {
        set_errno_error (error, errno, "Cannot create a directory in %s: %s", parent);
        g_clear_pointer (&tmpdir, g_free);
        goto out;
      }
  }

  if (!write_files (tmpdir, out, &layout, names, contents, n_files, error))
    goto out;

  if (!exists)
    {
      if (rename_noreplace (tmpdir, out) != 0)
        {
          if (errno == EEXIST || errno == ENOTEMPTY)
            {
              g_autofree char *display = g_filename_display_name (out);

              g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           "%s exists; use --force to replace it", display);
            }
          else
            set_errno_error (error, errno, "Cannot create %s: %s", out);
          goto out;
        }
    }
  else
    {
      g_autofree char *tmpl_name = g_strdup_printf (".%s.old-XXXXXX", base);

      aside = g_build_filename (parent, tmpl_name, NULL);
      if (g_mkdtemp_full (aside, 0700) == NULL)
        {
          set_errno_error (error, errno, "Cannot create a directory in %s: %s", parent);
          g_clear_pointer (&aside, g_free);
          goto out;
        }
      /* onto the empty placeholder, which rename() replaces */
      if (rename (out, aside) != 0)
        {
          set_errno_error (error, errno, "Cannot move %s aside: %s", out);
          g_rmdir (aside);
          goto out;
        }
      if (rename_noreplace (tmpdir, out) != 0)
        {
          int saved_errno = errno;

          if (rename (aside, out) != 0)
            g_warning ("Could not put %s back from %s: %s", out, aside, g_strerror (errno));
          set_errno_error (error, saved_errno, "Cannot replace %s: %s", out);
          goto out;
        }
      if (!remove_old (&layout, aside, NULL))
        g_warning ("The previous %s is left at %s: it holds files this export does not write",
                   out, aside);
    }

  g_clear_pointer (&tmpdir, g_free);   /* it is `out` now */
  sync_dir (parent);
  ok = TRUE;

out:
  if (tmpdir != NULL)
    remove_tree (tmpdir);
  layout_clear (&layout);
  return ok;
}
