/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "compress/lathe-apply.h"
#include "data/lathe-dataset.h"
#include "pipeline/lathe-pipeline.h"
#include "train/lathe-train.h"

G_BEGIN_DECLS

/* The contents of an artifact folder — pipeline.json, the model file and
 * report.md — built from a measured plan. lathe-cli apply, lathe-cli
 * distill and the app's export dialog all write artifacts through these,
 * so `lathe-cli check` accepts each of them alike. */

/* `to` as seen from the folder `from_dir`, through ".." where needed: an
 * artifact records paths relative to itself, so it can move together
 * with the model. */
char          *lathe_artifact_relative_path (const char *from_dir,
                                             const char *to);

/* Where an artifact comes from. Everything is borrowed. */
typedef struct {
  const char      *outdir;       /* the artifact folder: paths are recorded relative to it */
  const char      *model_path;   /* the source model, as given */
  const char      *model_sha256;
  LatheDataset    *data;         /* the evaluation set (spec, sha256) */
  const GArray    *mean;         /* float: the normalisation measured with */
  const GArray    *std;
  const LathePlan *plan;
  JsonNode        *training;     /* nullable: the pipeline's "training" section, copied */
} LatheArtifactSource;

/* What measuring the plan gave. Everything is borrowed. */
typedef struct {
  const LatheApplied *applied;       /* the compressed (or trained) model */
  GPtrArray          *layers;        /* the layers `applied` was made from; nullable for the training report */
  GBytes             *model_bytes;   /* the exported model file */
  const char         *model_file;    /* its name in the artifact, "model.onnx" */
  int                 opset;         /* 0: the exporter did not say */
  GPtrArray          *notes;         /* char*: the exporter's decisions */
  double              accuracy;
  double              baseline_accuracy;
  double              fidelity;
  guint64             baseline_bytes; /* the original's stored bytes */
  guint               n_samples;      /* evaluated samples */
} LatheArtifactMeasure;

/* pipeline.json's contents: model, data, plan, results and (when the
 * source has one) training. Free with lathe_pipeline_free(). */
LathePipeline *lathe_artifact_pipeline_new  (const LatheArtifactSource  *source,
                                             const LatheArtifactMeasure *measure);

/* report.md of a compressed model. With `exporter` (nullable) the report
 * names the plugin exporter that wrote the model file and speaks of that
 * file generically; without, the file is ONNX as lathe-cli writes it. */
char          *lathe_artifact_report        (const LatheArtifactSource  *source,
                                             const LatheArtifactMeasure *measure,
                                             const char                 *exporter);

/* report.md of a trained student: `train_spec` is the training data, `o`
 * the options it was trained with, `result` what training gave; with
 * `exporter` (nullable) it names the plugin exporter that wrote the model
 * file, as lathe_artifact_report() does. */
char          *lathe_artifact_training_report (const LatheArtifactSource  *source,
                                               const LatheArtifactMeasure *measure,
                                               const char                 *train_spec,
                                               const LatheTrainOptions    *o,
                                               const LatheTrainResult     *result,
                                               const char                 *exporter);

/* The pipeline's "training" section (lathe_train_options_to_json()) for a
 * student trained with `o` on `train_spec`, whose sha256 is
 * `train_sha256`: the files of a file spec are recorded relative to
 * `outdir`, like the model, so the artifact can move with its data; the
 * built-in "fashion-mnist…" specs stay as they are. */
JsonNode      *lathe_artifact_training_section (const char              *outdir,
                                                const LatheTrainOptions *o,
                                                const char              *train_spec,
                                                const char              *train_sha256);

/* Writes pipeline.json, measure->model_file and report.md into `outdir`
 * atomically, as lathe_artifact_write() does (`force`, `protected_paths`
 * and the errors are its). */
gboolean       lathe_artifact_build_write   (const char                 *outdir,
                                             gboolean                    force,
                                             const char * const         *protected_paths,
                                             const char                 *pipeline_json,
                                             const LatheArtifactMeasure *measure,
                                             const char                 *report,
                                             GError                    **error);

G_END_DECLS
