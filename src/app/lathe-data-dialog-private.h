/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-data-dialog.h"

G_BEGIN_DECLS

/* For tests: what the file chooser would set, and what a person reads. */
void        _lathe_data_dialog_set_files      (LatheDataDialog *self,
                                               const char      *images,
                                               const char      *labels);
GtkEditable *_lathe_data_dialog_get_mean_entry (LatheDataDialog *self);
GtkEditable *_lathe_data_dialog_get_std_entry  (LatheDataDialog *self);
/* The inline error under the normalisation, or NULL when hidden. */
const char *_lathe_data_dialog_get_norm_error (LatheDataDialog *self);
/* The loading error, or NULL when hidden. */
const char *_lathe_data_dialog_get_error      (LatheDataDialog *self);
/* A dataset is being loaded. */
gboolean    _lathe_data_dialog_get_busy       (LatheDataDialog *self);
/* The spec "Use" would load now, or NULL with the reason in *error. */
char       *_lathe_data_dialog_build_spec     (LatheDataDialog *self,
                                               GError         **error);

G_END_DECLS
