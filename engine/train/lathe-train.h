/* SPDX-License-Identifier: MIT */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "compress/lathe-apply.h"
#include "data/lathe-dataset.h"
#include "graph/lathe-graph.h"
#include "train/lathe-train-graph.h"

G_BEGIN_DECLS

/* Training a compressed student (ARCHITECTURE.md §2.6).
 *
 * The student is the plan applied to the teacher *without* its
 * quantization: width keeps the teacher's most important units, pruning
 * zeroes weights. It trains on the loss
 *     alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T))
 *   + (1 − alpha) · CE(student, labels)
 * with the teacher (the original model) run on every batch. Pruned weights
 * stay exactly zero (masks are fixed). In QAT mode the forward pass reads
 * the weights quantized as the plan says (uniform quantizer, bits ≤ 8, or
 * float16) and the gradient passes straight through to the float weights.
 * Finally the plan's pruning and quantization are applied to the trained
 * weights, so the result is an effective model like lathe_apply_plan()'s.
 *
 * Mini-batches are drawn without replacement in an order shuffled by a
 * seeded generator (the last incomplete batch of an epoch is dropped);
 * with the same seed, data, machine and BLAS thread count the weights come
 * out the same bit for bit. */

typedef enum {
  LATHE_TRAIN_DISTILL,        /* a width plan: the student learns from the teacher */
  LATHE_TRAIN_FINETUNE,       /* after pruning: masks fixed */
  LATHE_TRAIN_QAT,            /* quantization-aware: fake quantization, straight-through */
} LatheTrainMode;

typedef enum {
  LATHE_OPTIMIZER_SGD,        /* with momentum */
  LATHE_OPTIMIZER_ADAM,
} LatheOptimizerKind;

typedef enum {
  LATHE_SCHEDULE_CONSTANT,
  LATHE_SCHEDULE_COSINE,      /* lr · ½(1 + cos(π · step / steps)) */
} LatheSchedule;

const char *lathe_train_mode_to_string      (LatheTrainMode      mode);
gboolean    lathe_train_mode_from_string    (const char         *text,
                                             LatheTrainMode     *mode);
const char *lathe_optimizer_to_string       (LatheOptimizerKind  kind);
gboolean    lathe_optimizer_from_string     (const char         *text,
                                             LatheOptimizerKind *kind);
const char *lathe_schedule_to_string        (LatheSchedule       schedule);
gboolean    lathe_schedule_from_string      (const char         *text,
                                             LatheSchedule      *schedule);

#define LATHE_TRAIN_EPOCHS_DEFAULT       3
#define LATHE_TRAIN_BATCH_DEFAULT        128
#define LATHE_TRAIN_LR_DEFAULT           1e-3
#define LATHE_TRAIN_TEMPERATURE_DEFAULT  4.0
#define LATHE_TRAIN_ALPHA_DEFAULT        0.5
#define LATHE_TRAIN_MOMENTUM_DEFAULT     0.9
#define LATHE_TRAIN_EVAL_SAMPLES_DEFAULT 2000

typedef struct {
  LatheTrainMode      mode;
  guint               epochs;
  guint               batch;
  double              lr;
  double              momentum;        /* SGD */
  double              weight_decay;
  double              temperature;
  double              alpha;           /* share of the distillation term, 0…1 */
  LatheOptimizerKind  optimizer;
  LatheSchedule       schedule;
  guint64             seed;
  LatheDataset       *train;           /* the training split (borrowed) */
  guint               train_limit;     /* first N training samples; 0 → all */
  const float        *mean, *std;      /* input normalisation of uint8 data */
  guint               n_norm;
  LatheDataset       *evaluation;      /* per-epoch accuracy (borrowed), or NULL */
  guint               eval_samples;    /* its first N samples; 0 → all */
} LatheTrainOptions;

/* Defaults: distil, 3 epochs, batch 128, Adam at 1e-3 with a cosine
 * schedule, T = 4, alpha = 0.5, seed 0, no data. */
void lathe_train_options_init (LatheTrainOptions *options);

/* The pipeline file's "training" object for these options (keys in the
 * documented order), naming the training data by spec and digest. */
JsonNode *lathe_train_options_to_json   (const LatheTrainOptions *options,
                                         const char              *data_spec,
                                         const char              *data_sha256);
/* Reads a "training" object as lathe_pipeline_parse() validated it:
 * lathe_train_options_init() defaults for missing keys; the data spec and
 * digest are returned (NULL when absent); datasets are left unset. */
void      lathe_train_options_from_json (JsonNode                *training,
                                         LatheTrainOptions       *options,
                                         char                   **data_spec,
                                         char                   **data_sha256);

typedef struct {
  guint    epoch;            /* 1-based */
  guint    epochs;
  guint    step;             /* 1-based within the epoch */
  guint    steps_per_epoch;
  guint64  global_step;      /* 1-based */
  double   loss;             /* mean loss of the epoch so far */
  double   lr;
  gboolean epoch_end;        /* the epoch is complete; accuracy set */
  double   accuracy;         /* on the evaluation subset at epoch_end, else NAN */
} LatheTrainProgress;

typedef void (*LatheTrainProgressFunc) (const LatheTrainProgress *progress,
                                        gpointer                  user_data);

typedef struct {
  LatheApplied *applied;     /* the trained, compressed effective model */
  GPtrArray    *layers;      /* the student's layers, aligned with applied->results */
  guint         epochs;
  guint64       steps;
  double        seconds;     /* wall time of the training loop */
  double        samples_per_second;
  GArray       *epoch_loss;      /* double, mean training loss per epoch */
  GArray       *epoch_accuracy;  /* double, per epoch on the evaluation subset (NAN without one) */
  double        untrained_accuracy; /* the student before training on that subset, or NAN */
} LatheTrainResult;

void lathe_train_result_free (LatheTrainResult *result);

/* Trains the student the plan makes from `teacher` (layers from
 * lathe_find_layers (teacher)). apply_options as for
 * lathe_apply_plan_full() (nullable). Progress is called on this thread
 * after every step. Errors: LATHE_TRAIN_ERROR (no training split, no
 * labels while alpha < 1, a layer left with no weight, a NaN loss: the
 * message names the step), LATHE_COMPRESS_ERROR (the plan),
 * G_IO_ERROR_CANCELLED. */
LatheTrainResult *lathe_distill (LatheGraph               *teacher,
                                 GPtrArray                *layers,
                                 const LathePlan          *plan,
                                 const LatheApplyOptions  *apply_options,
                                 const LatheTrainOptions  *options,
                                 LatheTrainProgressFunc    progress,
                                 gpointer                  progress_data,
                                 GCancellable             *cancellable,
                                 GError                  **error);

/* lathe_distill() that, when the loss diverges, also hands back the
 * student as of the last good step (nullable `partial`: set only with a
 * LATHE_TRAIN_ERROR_DIVERGED error; its `steps` is the last good step). */
LatheTrainResult *lathe_distill_full (LatheGraph               *teacher,
                                      GPtrArray                *layers,
                                      const LathePlan          *plan,
                                      const LatheApplyOptions  *apply_options,
                                      const LatheTrainOptions  *options,
                                      LatheTrainProgressFunc    progress,
                                      gpointer                  progress_data,
                                      GCancellable             *cancellable,
                                      LatheTrainResult        **partial,
                                      GError                  **error);

/* The same on a worker thread. The teacher graph and layers must stay
 * alive and unchanged until the callback; the plan, options and apply
 * options are copied (datasets referenced). Progress reaches `progress`
 * on the calling thread's main context, coalesced (the newest wins, and an
 * epoch's end is never dropped). */
void              lathe_distill_async  (LatheGraph               *teacher,
                                        GPtrArray                *layers,
                                        const LathePlan          *plan,
                                        const LatheApplyOptions  *apply_options,
                                        const LatheTrainOptions  *options,
                                        LatheTrainProgressFunc    progress,
                                        gpointer                  progress_data,
                                        GDestroyNotify            progress_destroy,
                                        GCancellable             *cancellable,
                                        GAsyncReadyCallback       callback,
                                        gpointer                  user_data);
LatheTrainResult *lathe_distill_finish (GAsyncResult             *result,
                                        GError                  **error);

/* ---------------------------------------------------------------------- */
/* The parts, for tests and other loops.                                   */

typedef struct _LatheOptimizer LatheOptimizer;

LatheOptimizer *lathe_optimizer_new  (LatheOptimizerKind  kind,
                                      double              momentum,
                                      double              weight_decay);
void            lathe_optimizer_free (LatheOptimizer     *self);
/* One update of every parameter from its grad at learning rate lr
 * (PyTorch's SGD and Adam, betas 0.9/0.999, eps 1e-8). Masked positions
 * get no update and stay exactly 0. */
void            lathe_optimizer_step (LatheOptimizer     *self,
                                      LatheTrainParam   **params,
                                      guint               n_params,
                                      double              lr);
/* The learning rate of step `step` (0-based) of `steps`. */
double          lathe_schedule_lr    (LatheSchedule       schedule,
                                      double              lr,
                                      guint64             step,
                                      guint64             steps);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheTrainResult, lathe_train_result_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatheOptimizer, lathe_optimizer_free)

G_END_DECLS
