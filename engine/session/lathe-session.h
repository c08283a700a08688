/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>

#include "compress/lathe-apply.h"
#include "data/lathe-dataset.h"
#include "onnx/lathe-model.h"
#include "train/lathe-train.h"

G_BEGIN_DECLS

typedef enum {
  LATHE_STAGE_SUBSET,   /* the fixed class-stratified subset: an early figure */
  LATHE_STAGE_FULL,     /* the whole evaluation set */
} LatheStage;

/* One measured plan at one stage. Immutable once made; ref-counted so it
 * can travel from the worker to the main context. */
typedef struct {
  /*< private >*/
  gint          ref_count;
  /*< public >*/
  guint64       generation;     /* the plan change it answers */
  LatheStage    stage;
  guint         n_samples;
  guint64       correct;
  double        accuracy;
  double        lo, hi;         /* 95 % Wilson interval of the accuracy */
  double        top5;
  double        fidelity;       /* top-1 agreement with the source model */
  guint         n_classes;
  double       *class_accuracy; /* n_classes */
  guint64      *confusion;      /* n_classes × n_classes, row = label */
  guint64       packed_bytes;
  guint64       baseline_bytes;
  double        seconds;        /* apply + evaluation wall time */
  gboolean      from_cache;     /* re-ran only downstream of a cached activation */
  LatheApplied *applied;        /* the effective model and per-layer results */
  /* Per sample, of the effective model (lathe_graph_count_macs): dense
   * multiply-accumulates, which width shrinks, and those with a non-zero
   * weight, which pruning shrinks too. */
  guint64       macs;
  guint64       macs_nonzero;
  /* Evaluation wall time of this stage over its samples: apply excluded,
   * but preparing the executor, gathering a subset's samples and copying
   * activations into the cache included; when from_cache, only the layers
   * after the cached cut ran. A session figure, not a kernel benchmark. */
  double        seconds_per_sample;
  /* Bytes of the model as exported to ONNX (lathe_export_onnx()), on the
   * full-set stage; 0 on the subset or when the model cannot be written. */
  guint64       onnx_bytes;
  /* A trained student (lathe_session_train()): the plan applied to the
   * weights training produced. Its curve has one entry per epoch: mean
   * training loss and accuracy on the training's evaluation subset; both
   * NULL when untrained. untrained_accuracy is the student before training
   * on that subset (NAN when untrained or unknown). */
  gboolean      trained;
  GArray       *epoch_loss;      /* double */
  GArray       *epoch_accuracy;  /* double */
  double        untrained_accuracy;
  /* Trained only (zero and NULL otherwise): what writing and reproducing
   * the student takes (lathe_artifact_training_report(), lathe-cli
   * distill). The options it was trained with — their datasets and
   * normalisation unset, eval_samples as used —, the training data as
   * resolved (spec and sha256), the student's layers (applied->results
   * align with them, as LatheTrainResult.layers) and the training loop's
   * own figures. */
  LatheTrainOptions train_options;
  char         *train_spec;
  char         *train_sha256;
  GPtrArray    *layers;
  guint64       train_steps;
  double        train_seconds;
  double        train_samples_per_second;
} LatheSessionResult;

#define LATHE_TYPE_SESSION_RESULT (lathe_session_result_get_type ())
GType               lathe_session_result_get_type (void) G_GNUC_CONST;
LatheSessionResult *lathe_session_result_ref      (LatheSessionResult *r);
void                lathe_session_result_unref    (LatheSessionResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheSessionResult, lathe_session_result_unref)

#define LATHE_SESSION_SUBSET_DEFAULT 1000
#define LATHE_SESSION_CACHE_DEFAULT  ((gsize) 1 << 30)

#define LATHE_TYPE_SESSION (lathe_session_get_type ())
G_DECLARE_FINAL_TYPE (LatheSession, lathe_session, LATHE, SESSION, GObject)

/* A model, its evaluation data and a plan. lathe_session_set_plan() queues
 * an evaluation on the session's worker: first the subset, then the full
 * set; a newer plan supersedes an older one (a running evaluation stops
 * between batches). Results arrive as "result" signals on the main context
 * the session was made in. */
LatheSession       *lathe_session_new             (LatheModel      *model,
                                                   LatheDataset    *data,
                                                   const float     *mean,
                                                   const float     *std,
                                                   guint            n_norm,
                                                   GError         **error);
LatheModel         *lathe_session_get_model       (LatheSession    *self);
LatheDataset       *lathe_session_get_dataset     (LatheSession    *self);
GPtrArray          *lathe_session_get_layers      (LatheSession    *self);
/* The input normalisation the session measures and trains with, one
 * value per input channel (borrowed); returns the number of channels. */
guint               lathe_session_get_normalization (LatheSession  *self,
                                                     const float  **mean,
                                                     const float  **std);
void                lathe_session_set_subset_size (LatheSession    *self,
                                                   guint            n);
void                lathe_session_set_cache_budget (LatheSession   *self,
                                                   gsize            bytes);
gsize               lathe_session_get_cache_bytes (LatheSession    *self);
/* The source model's results on the full set (computed on first need). */
LatheSessionResult *lathe_session_get_baseline    (LatheSession    *self,
                                                   GCancellable    *cancellable,
                                                   GError         **error);
/* Queues an evaluation of a copy of `plan`; returns its generation. A plan
 * that fails validation is reported through "failed". */
guint64             lathe_session_set_plan        (LatheSession    *self,
                                                   const LathePlan *plan);
/* Synchronous form for the CLI and tests: evaluates on the calling thread
 * (using and filling the same activation cache). */
LatheSessionResult *lathe_session_evaluate        (LatheSession    *self,
                                                   const LathePlan *plan,
                                                   LatheStage       stage,
                                                   GCancellable    *cancellable,
                                                   GError         **error);
/* Turns the activation cache off or on (for tests: results must match). */
void                lathe_session_set_use_cache   (LatheSession    *self,
                                                   gboolean         use);
/* Blocks until the worker has nothing queued (tests, shutdown). */
void                lathe_session_wait_idle       (LatheSession    *self);

/* Training (ARCHITECTURE.md §2.6) on the session's own training worker,
 * beside the evaluation worker (sliders stay live; they share the CPU).
 *
 * lathe_session_train() copies the plan and options and returns a job id
 * (from 1); a newer job cancels the running one. `options` NULL means
 * lathe_train_options_init() defaults. Its datasets may be NULL: the
 * training split then comes from `train_spec` (NULL → "fashion-mnist:train",
 * loaded once per spec), the per-epoch accuracy from the session's
 * evaluation set (its first options->eval_samples samples); mean and std
 * NULL take the session's normalisation.
 *
 * Signals, on the main context the session was made in:
 *   "train-progress" (guint64 job, gpointer const LatheTrainProgress *):
 *     coalesced, the newest step wins, every epoch end is delivered;
 *     only for the newest job.
 *   "train-done" (guint64 job, LatheSessionResult *result): the trained
 *     student measured on the full evaluation set (stage FULL, trained
 *     TRUE, generation 0).
 *   "train-failed" (guint64 job, const char *message)
 *   "train-cancelled" (guint64 job): superseded or cancelled; such a job
 *     gets neither "train-done" nor "train-failed".
 * Exactly one of the last three arrives for every job.
 *
 * Trained students are kept (at most LATHE_SESSION_TRAINED_MAX, the oldest
 * dropped first) under the resolved plan, the options and the data. */
#define LATHE_SESSION_TRAINED_MAX 16

guint64             lathe_session_train           (LatheSession            *self,
                                                   const LathePlan         *plan,
                                                   const LatheTrainOptions *options,
                                                   const char              *train_spec);
/* Cancels the running or queued training job, if any ("train-cancelled"). */
void                lathe_session_cancel_training (LatheSession            *self);
/* The cached full-set result of a student trained with this plan, options
 * and train_spec (as given to lathe_session_train()), or NULL. */
LatheSessionResult *lathe_session_lookup_trained  (LatheSession            *self,
                                                   const LathePlan         *plan,
                                                   const LatheTrainOptions *options,
                                                   const char              *train_spec);
/* Synchronous form for the CLI and tests: trains on the calling thread
 * (progress on this thread after every step), measures the student on the
 * full set and caches it. Errors: as lathe_distill(), G_IO_ERROR_CANCELLED. */
LatheSessionResult *lathe_session_train_sync      (LatheSession            *self,
                                                   const LathePlan         *plan,
                                                   const LatheTrainOptions *options,
                                                   const char              *train_spec,
                                                   LatheTrainProgressFunc   progress,
                                                   gpointer                 progress_data,
                                                   GCancellable            *cancellable,
                                                   GError                 **error);
/* Blocks until the training worker has nothing queued (tests, shutdown). */
void                lathe_session_wait_training   (LatheSession            *self);

G_END_DECLS
