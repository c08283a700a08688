/* SPDX-License-Identifier: MIT */
#pragma once

#include "lathe-export-dialog.h"

G_BEGIN_DECLS

/* For tests: what the dialog shows. */
/* The error shown, or NULL. */
const char       *_lathe_export_dialog_get_error          (LatheExportDialog *self);
/* The lathe-cli command shown after a successful export, or NULL. */
const char       *_lathe_export_dialog_get_command        (LatheExportDialog *self);
gboolean          _lathe_export_dialog_get_busy           (LatheExportDialog *self);
/* The replace-folder question while it is open, else NULL. */
AdwMessageDialog *_lathe_export_dialog_get_confirm_dialog (LatheExportDialog *self);
/* The folder chooser while it is open, else NULL. */
GtkFileChooser   *_lathe_export_dialog_get_chooser        (LatheExportDialog *self);
/* What the student row says when a trained student is exported, else NULL. */
const char       *_lathe_export_dialog_get_student_text   (LatheExportDialog *self);
/* "form" or "done" */
const char       *_lathe_export_dialog_get_page           (LatheExportDialog *self);

/* The form row for one exporter parameter, its control bound both ways
 * to the property `pspec` of `method`. */
GtkWidget        *_lathe_export_dialog_param_row_new      (GObject           *method,
                                                           GParamSpec        *pspec);

G_END_DECLS
