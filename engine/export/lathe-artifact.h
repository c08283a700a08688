/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Writes an artifact directory atomically: every file goes into a fresh
 * ".<base>.tmp-XXXXXX" directory beside `outdir`, which is then renamed
 * into place, so `outdir` is either absent/old or complete — never half
 * written. On failure nothing new remains.
 *
 * `names` are relative paths inside the artifact ("model.onnx",
 * "weights/conv1.bin"); `contents[i]` is the content of `names[i]`.
 *
 * If `outdir` exists it is an error unless `force`; with `force` it must
 * be a directory holding only files this artifact writes (one of `names`)
 * and the folders on their way, and none of `protected_paths` (the run's
 * inputs: the source model, the data, the pipeline file; NULL-terminated,
 * may be NULL). The old directory is renamed aside, the new one renamed
 * in, and the old one deleted.
 *
 * Errors are G_IO_ERROR with messages that name the path:
 * EXISTS (outdir exists, no force), NOT_DIRECTORY (outdir or its parent
 * is not a directory), NOT_EMPTY (outdir holds a file this artifact does
 * not write), INVALID_ARGUMENT (outdir holds or is a protected path, a bad
 * name), or the code of the failing system call. */
gboolean lathe_artifact_write (const char          *outdir,
                               gboolean             force,
                               const char * const  *protected_paths,
                               const char * const  *names,
                               GBytes * const      *contents,
                               guint                n_files,
                               GError             **error);

G_END_DECLS
