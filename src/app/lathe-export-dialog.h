/* SPDX-License-Identifier: MIT */
#pragma once

#include <adwaita.h>

#include "compress/lathe-plan.h"
#include "session/lathe-session.h"

G_BEGIN_DECLS

#define LATHE_TYPE_EXPORT_DIALOG (lathe_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (LatheExportDialog, lathe_export_dialog, LATHE, EXPORT_DIALOG, AdwWindow)

/* Writes the artifact folder for the session's model and `plan` (copied):
 * pipeline.json, model.<ext> from the chosen exporter plugin and report.md,
 * through lathe_artifact_write() as `lathe-cli apply` does, measured on the
 * session's whole evaluation set. `model` is the model file the session
 * was opened from, `data_spec` the data it measures (for the pipeline and
 * the lathe-cli command). Modal, transient for `parent`.
 *
 * Signals, both on the main thread:
 *
 *   "add-files" (GFile *dir): the artifact folder is written and complete;
 *     handlers may write more files into it synchronously (chart SVGs).
 *     Files found there afterwards that the export did not write are
 *     listed in report.md under "Added files". Emitted before "exported".
 *   "exported" (GFile *dir): the export succeeded; the dialog shows the
 *     `lathe-cli apply …` (for a trained student `lathe-cli distill …`)
 *     command that reproduces it. */
LatheExportDialog *lathe_export_dialog_new        (GtkWindow        *parent,
                                                   LatheSession     *session,
                                                   const LathePlan  *plan,
                                                   GFile            *model,
                                                   const char       *data_spec);
/* Exports `trained` — a student lathe_session_train() made for the
 * dialog's plan (trained TRUE) — instead of the untrained plan, as
 * `lathe-cli distill` writes it: the trained weights through the chosen
 * exporter, pipeline.json with its "training" section, the training
 * report, and its figures on the whole evaluation set; the command shown
 * is then the `lathe-cli distill …` that trains it again. The form says
 * that the trained student is exported. NULL: the plan, untrained (the
 * default). Not while an export runs. */
void               lathe_export_dialog_set_trained (LatheExportDialog  *self,
                                                    LatheSessionResult *trained);
/* The artifact folder chosen (or NULL). */
GFile             *lathe_export_dialog_get_folder (LatheExportDialog *self);
void               lathe_export_dialog_set_folder (LatheExportDialog *self,
                                                   GFile             *dir);
/* What the Export button does, for `dir`: sets the folder, then either
 * starts the export in a worker thread, asks before replacing an existing
 * non-empty folder (an AdwMessageDialog), or shows why it cannot. Returns
 * at once; the outcome is the "exported" signal or an error in the dialog. */
void               lathe_export_dialog_export_to  (LatheExportDialog *self,
                                                   GFile             *dir);

G_END_DECLS
