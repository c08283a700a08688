/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "graph/lathe-graph.h"

G_BEGIN_DECLS

#define LATHE_TYPE_MODEL (lathe_model_get_type ())
G_DECLARE_FINAL_TYPE (LatheModel, lathe_model, LATHE, MODEL, GObject)

/* A loaded model: the IR plus where it came from. Immutable once loaded,
 * so workers may share it. */
LatheModel  *lathe_model_new_from_file     (const char    *path,
                                            GCancellable  *cancellable,
                                            GError       **error);
LatheGraph  *lathe_model_get_graph         (LatheModel    *self);
const char  *lathe_model_get_path          (LatheModel    *self);
goffset      lathe_model_get_file_size     (LatheModel    *self);
double       lathe_model_get_load_seconds  (LatheModel    *self);
/* Hex sha256 of the file as read; computed on first use. */
const char  *lathe_model_get_sha256        (LatheModel    *self);
/* Per-channel normalisation from metadata_props lathe.mean / lathe.std.
 * Returns FALSE without an error when the model has none, FALSE with an
 * error when the values are malformed. */
gboolean     lathe_model_get_normalization (LatheModel    *self,
                                            GArray       **mean,
                                            GArray       **std,
                                            GError       **error);
/* Class names from lathe.labels, or NULL. */
char       **lathe_model_dup_labels        (LatheModel    *self);
/* Parameters held by initializers, and their stored bytes. */
void         lathe_model_count_parameters  (LatheModel    *self,
                                            guint64       *n_params,
                                            guint64       *n_bytes);

/* Parses "0.1,0.2" into floats; the JSON-path-like `what` names the
 * source in the error. */
GArray      *lathe_parse_float_list        (const char    *text,
                                            const char    *what,
                                            GError       **error);

G_END_DECLS
